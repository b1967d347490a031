//! STUN codec (RFC 8489) with the ICE (RFC 8445 §16.1) and TURN (RFC 8656) attributes, plus
//! TURN ChannelData framing (RFC 8656 §12.4). Sans-IO: bytes in, bytes out.
//!
//! Parsing ([`Message::parse`]) is a borrowed, allocation-free view over a datagram: the header
//! and the attribute TLV walk are validated once, then typed getters decode attributes on
//! demand. Writing ([`MessageWriter`]) clears and fills a caller-owned `Vec<u8>` that is reused
//! across messages. Transaction ids and all randomness come from the caller.
//!
//! Bounds: a STUN message is at most 20 + 65 532 bytes (the length field is 16 bits); the
//! parser never reads outside the datagram and the writer refuses to grow a message past
//! that limit.
//!
//! Not covered: OpaqueString/SASLprep (RFC 8265) of credentials (callers pass prepared
//! strings), PASSWORD-ALGORITHM(S)/USERHASH (RFC 8489 §14.4, §14.11, §14.12) and the TURN
//! attributes EVEN-PORT, RESERVATION-TOKEN, DONT-FRAGMENT, REQUESTED-ADDRESS-FAMILY and
//! CONNECTION-ID beyond raw access through [`Message::attribute`].

mod attr;
mod channel_data;
mod crc32;
mod md5;
mod message;
mod writer;

#[cfg(test)]
mod tests;

pub use attr::{AttrType, is_comprehension_required, is_known_attribute};
pub use channel_data::{CHANNEL_DATA_HEADER_LEN, ChannelData, write_channel_data};
pub use message::{Attributes, ErrorCode, Message, RawAttribute, UnknownAttributes};
pub use writer::MessageWriter;

use std::fmt;

/// The fixed magic cookie in bytes 4..8 of every RFC 5389/8489 message (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Size of the fixed STUN header in bytes (RFC 8489 §5).
pub const HEADER_LEN: usize = 20;

/// Largest possible STUN message: the header plus the largest 16-bit body length that is a
/// multiple of 4 (0xFFFC) (RFC 8489 §5).
pub const MAX_MESSAGE_LEN: usize = HEADER_LEN + 0xFFFC;

/// XOR mask applied to the CRC-32 in FINGERPRINT: "STUN" in ASCII (RFC 8489 §14.7).
pub const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// Default byte limit this codec applies when *writing* text attributes with an RFC cap
/// (REALM, NONCE, SOFTWARE, ERROR-CODE reason: 763 bytes, RFC 8489 §14).
pub const MAX_TEXT_LEN: usize = 763;

/// Byte limit for USERNAME when writing ("fewer than 509 bytes", RFC 8489 §14.3).
pub const MAX_USERNAME_LEN: usize = 508;

/// The message class, the two C bits of the message type (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request (C1C0 = 0b00): expects a response.
    Request,
    /// An indication (C1C0 = 0b01): no response.
    Indication,
    /// A success response (C1C0 = 0b10).
    SuccessResponse,
    /// An error response (C1C0 = 0b11), carries ERROR-CODE.
    ErrorResponse,
}

impl Class {
    /// The two class bits as a number 0..=3 (C1 C0, RFC 8489 §5).
    pub fn bits(self) -> u16 {
        match self {
            Class::Request => 0,
            Class::Indication => 1,
            Class::SuccessResponse => 2,
            Class::ErrorResponse => 3,
        }
    }

    /// The class for the bits 0..=3 (higher bits are ignored) (RFC 8489 §5).
    pub fn from_bits(bits: u16) -> Class {
        match bits & 0b11 {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }
}

/// A 12-bit STUN method (RFC 8489 §5, §18.2; TURN methods RFC 8656 §17, RFC 6062 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(u16);

impl Method {
    /// Binding (0x001, RFC 8489 §18.2).
    pub const BINDING: Method = Method(0x001);
    /// TURN Allocate (0x003, RFC 8656 §17).
    pub const ALLOCATE: Method = Method(0x003);
    /// TURN Refresh (0x004, RFC 8656 §17).
    pub const REFRESH: Method = Method(0x004);
    /// TURN Send (0x006, indication only, RFC 8656 §17).
    pub const SEND: Method = Method(0x006);
    /// TURN Data (0x007, indication only, RFC 8656 §17).
    pub const DATA: Method = Method(0x007);
    /// TURN CreatePermission (0x008, RFC 8656 §17).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// TURN ChannelBind (0x009, RFC 8656 §17).
    pub const CHANNEL_BIND: Method = Method(0x009);
    /// TURN-TCP Connect (0x00A, RFC 6062 §6.1).
    pub const CONNECT: Method = Method(0x00A);
    /// TURN-TCP ConnectionBind (0x00B, RFC 6062 §6.1).
    pub const CONNECTION_BIND: Method = Method(0x00B);
    /// TURN-TCP ConnectionAttempt (0x00C, RFC 6062 §6.1).
    pub const CONNECTION_ATTEMPT: Method = Method(0x00C);

    /// A method from its 12-bit number; `None` if it does not fit in 12 bits (RFC 8489 §5).
    pub fn new(value: u16) -> Option<Method> {
        (value <= 0x0FFF).then_some(Method(value))
    }

    /// The 12-bit method number (RFC 8489 §5).
    pub fn value(self) -> u16 {
        self.0
    }
}

/// Encode class and method into the 14-bit message type with interleaved class bits
/// (M11..M7 C1 M6..M4 C0 M3..M0, RFC 8489 §5).
pub fn message_type(class: Class, method: Method) -> u16 {
    let m = method.0;
    let c = class.bits();
    (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

/// Split a 14-bit message type into class and method (RFC 8489 §5); the top two bits are
/// ignored (the parser has already checked they are zero).
pub fn split_message_type(t: u16) -> (Class, Method) {
    let method = (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80);
    let class = ((t >> 4) & 1) | ((t >> 7) & 2);
    (Class::from_bits(class), Method(method))
}

/// The 96-bit transaction id (RFC 8489 §5); chosen by the caller (the ICE agent owns
/// randomness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// The id's 12 bytes as they appear on the wire (RFC 8489 §5).
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

/// Whether a datagram looks like STUN for RFC 7983 demultiplexing: first byte 0..=3 (top two
/// bits zero), at least a header long, and the magic cookie in place (RFC 7983 §7, RFC 8489 §5).
pub fn is_stun(buf: &[u8]) -> bool {
    match buf.get(..8) {
        Some(h) if buf.len() >= HEADER_LEN => {
            h[0] <= 3 && u32::from_be_bytes([h[4], h[5], h[6], h[7]]) == MAGIC_COOKIE
        }
        _ => false,
    }
}

/// Whether a datagram is TURN ChannelData by the RFC 7983 first-byte range 64..=127
/// (0x40..=0x7F, RFC 7983 §7, RFC 8656 §12); parse it with [`ChannelData::parse`].
pub fn is_channel_data(buf: &[u8]) -> bool {
    matches!(buf.first(), Some(0x40..=0x7F))
}

/// On a stream transport (TURN over TCP/TLS), the byte length of the STUN message or
/// ChannelData frame that starts `stream`, known once 4 bytes are buffered: 20 + length for
/// STUN, 4 + length padded to 4 for ChannelData (RFC 8489 §6.2.2, RFC 8656 §12.5). `None` if
/// fewer than 4 bytes are buffered or the first byte starts neither (the stream is broken).
pub fn stream_frame_len(stream: &[u8]) -> Option<usize> {
    let h = stream.get(..4)?;
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    match h[0] {
        0..=3 => Some(HEADER_LEN + len),
        0x40..=0x7F => Some(4 + len.div_ceil(4) * 4),
        _ => None,
    }
}

/// Why a STUN message, attribute or ChannelData frame was rejected (RFC 8489 §6.3, §14).
/// Malformed input is meant to be counted and dropped (or answered with 400 by the agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the 20-byte header (or 4-byte ChannelData header).
    TooShort,
    /// The first two bits of the message are not zero (RFC 8489 §5).
    NotStun,
    /// Bytes 4..8 are not the magic cookie 0x2112A442 (RFC 8489 §5).
    BadMagicCookie,
    /// The header's length is not a multiple of 4 (RFC 8489 §5).
    LengthNotAligned,
    /// The header's length does not match the datagram: 20 + `header` != `actual`.
    LengthMismatch {
        /// Body length announced by the header.
        header: u16,
        /// Bytes actually present after the header.
        actual: usize,
    },
    /// An attribute's (padded) value runs past the end of the message (RFC 8489 §14).
    AttributeOverrun,
    /// An attribute value has a length its type does not allow (RFC 8489 §14.x).
    BadAttributeLength {
        /// The attribute type.
        attr: u16,
        /// Its value length.
        len: usize,
    },
    /// An address attribute has a family other than 0x01 (IPv4) / 0x02 (IPv6) (RFC 8489 §14.1).
    BadAddressFamily(u8),
    /// A text attribute is not valid UTF-8 (RFC 8489 §14.3, §14.8, §14.9, §14.10, §14.14).
    InvalidUtf8,
    /// ERROR-CODE class outside 3..=6 or number above 99 (RFC 8489 §14.8).
    BadErrorCode,
    /// ChannelData channel number outside 0x4000..=0x4FFF (RFC 8656 §12).
    BadChannelNumber(u16),
    /// ChannelData length field larger than the bytes present (RFC 8656 §12.4).
    ChannelDataTruncated,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort => f.write_str("STUN: shorter than the header"),
            ParseError::NotStun => f.write_str("STUN: first two bits are not zero"),
            ParseError::BadMagicCookie => f.write_str("STUN: bad magic cookie"),
            ParseError::LengthNotAligned => f.write_str("STUN: length not a multiple of 4"),
            ParseError::LengthMismatch { header, actual } => write!(
                f,
                "STUN: header length {header} but {actual} bytes follow the header"
            ),
            ParseError::AttributeOverrun => f.write_str("STUN: attribute runs past the end"),
            ParseError::BadAttributeLength { attr, len } => {
                write!(f, "STUN: attribute 0x{attr:04x} has invalid length {len}")
            }
            ParseError::BadAddressFamily(fam) => write!(f, "STUN: bad address family {fam}"),
            ParseError::InvalidUtf8 => f.write_str("STUN: text attribute is not UTF-8"),
            ParseError::BadErrorCode => f.write_str("STUN: ERROR-CODE out of range"),
            ParseError::BadChannelNumber(n) => write!(f, "TURN: bad channel number 0x{n:04x}"),
            ParseError::ChannelDataTruncated => f.write_str("TURN: ChannelData truncated"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why [`MessageWriter`] refused to add an attribute (RFC 8489 §5, §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The message would exceed [`MAX_MESSAGE_LEN`] (16-bit length field).
    MessageTooLong,
    /// The value exceeds the limit of its attribute type (e.g. [`MAX_USERNAME_LEN`]).
    ValueTooLong,
    /// The value is outside its allowed range (error code, truncation length, channel number).
    InvalidValue,
    /// Attribute order violated: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow
    /// MESSAGE-INTEGRITY, only FINGERPRINT may follow MESSAGE-INTEGRITY-SHA256, nothing may
    /// follow FINGERPRINT (RFC 8489 §14.5–§14.7).
    AfterIntegrity,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteError::MessageTooLong => "STUN: message would exceed 65552 bytes",
            WriteError::ValueTooLong => "STUN: attribute value too long",
            WriteError::InvalidValue => "STUN: attribute value out of range",
            WriteError::AfterIntegrity => "STUN: attribute not allowed after integrity/fingerprint",
        })
    }
}

impl std::error::Error for WriteError {}

/// The long-term credential key MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
///
/// The inputs are used byte for byte: OpaqueString (RFC 8265) preparation of realm and password
/// is the caller's job (it is the identity for ASCII credentials). MD5 is our own
/// implementation (RFC 1321) because aws-lc-rs does not expose MD5.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = md5::Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finish()
}
