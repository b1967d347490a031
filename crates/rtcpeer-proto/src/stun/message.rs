//! The borrowed, validated view over a received STUN message (RFC 8489 §5, §6.3, §14).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aws_lc_rs::{constant_time, hmac};

use super::attr::{AttrType, is_comprehension_required, is_known_attribute};
use super::crc32::Crc32;
use super::{
    Class, FINGERPRINT_XOR, HEADER_LEN, MAGIC_COOKIE, Method, ParseError, TransactionId,
    split_message_type,
};

/// One attribute as it appears on the wire: type and unpadded value (RFC 8489 §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// The attribute type (see [`AttrType`]).
    pub typ: u16,
    /// The value bytes, without padding.
    pub value: &'a [u8],
    /// Offset of the attribute header from the start of the message.
    pub offset: usize,
}

/// Which attributes a receiver still honours while walking the message: everything before
/// MESSAGE-INTEGRITY; after it only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; after
/// MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; nothing after FINGERPRINT (RFC 8489 §14.5–§14.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    AfterIntegrity,
    AfterIntegritySha256,
    AfterFingerprint,
}

impl Stage {
    /// Whether an attribute of type `typ` is honoured in this stage, and the next stage.
    fn step(self, typ: u16) -> (bool, Stage) {
        match (self, typ) {
            (Stage::AfterFingerprint, _) => (false, Stage::AfterFingerprint),
            (_, AttrType::FINGERPRINT) => (true, Stage::AfterFingerprint),
            (Stage::Open | Stage::AfterIntegrity, AttrType::MESSAGE_INTEGRITY_SHA256) => {
                (true, Stage::AfterIntegritySha256)
            }
            (Stage::Open, AttrType::MESSAGE_INTEGRITY) => (true, Stage::AfterIntegrity),
            (Stage::Open, _) => (true, Stage::Open),
            (s, _) => (false, s),
        }
    }
}

/// A parsed STUN message borrowing the datagram (RFC 8489 §5). Construct with
/// [`Message::parse`]; nothing is copied or allocated.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
    /// Offset of the honoured MESSAGE-INTEGRITY attribute header, if any.
    integrity: Option<usize>,
    /// Offset of the honoured MESSAGE-INTEGRITY-SHA256 attribute header, if any.
    integrity_sha256: Option<usize>,
    /// Offset of the honoured FINGERPRINT attribute header, if any.
    fingerprint: Option<usize>,
}

impl<'a> Message<'a> {
    /// Validate a whole datagram as one STUN message: header (first two bits zero, magic
    /// cookie, length a multiple of 4 and equal to the bytes after the header) and the bounds
    /// of every attribute (RFC 8489 §5, §6.3, §14). Attribute values are decoded lazily.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let Some(header) = buf.get(..HEADER_LEN) else {
            return Err(ParseError::TooShort);
        };
        if header[0] & 0xC0 != 0 {
            return Err(ParseError::NotStun);
        }
        if u32::from_be_bytes([header[4], header[5], header[6], header[7]]) != MAGIC_COOKIE {
            return Err(ParseError::BadMagicCookie);
        }
        let len = u16::from_be_bytes([header[2], header[3]]);
        if len % 4 != 0 {
            return Err(ParseError::LengthNotAligned);
        }
        if buf.len() - HEADER_LEN != usize::from(len) {
            return Err(ParseError::LengthMismatch {
                header: len,
                actual: buf.len() - HEADER_LEN,
            });
        }
        let mut msg = Message {
            buf,
            integrity: None,
            integrity_sha256: None,
            fingerprint: None,
        };
        let mut stage = Stage::Open;
        let mut walker = Walker {
            buf,
            pos: HEADER_LEN,
        };
        while let Some(attr) = walker.next_attr()? {
            let (honoured, next) = stage.step(attr.typ);
            if honoured {
                match attr.typ {
                    AttrType::MESSAGE_INTEGRITY => msg.integrity = Some(attr.offset),
                    AttrType::MESSAGE_INTEGRITY_SHA256 => msg.integrity_sha256 = Some(attr.offset),
                    AttrType::FINGERPRINT => msg.fingerprint = Some(attr.offset),
                    _ => {}
                }
            }
            stage = next;
        }
        Ok(msg)
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The message class (RFC 8489 §5).
    pub fn class(&self) -> Class {
        self.split_type().0
    }

    /// The 12-bit method (RFC 8489 §5).
    pub fn method(&self) -> Method {
        self.split_type().1
    }

    fn split_type(&self) -> (Class, Method) {
        split_message_type(u16::from_be_bytes([self.buf[0], self.buf[1]]))
    }

    /// The transaction id (RFC 8489 §5).
    pub fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; 12];
        id.copy_from_slice(&self.buf[8..HEADER_LEN]);
        TransactionId(id)
    }

    /// The honoured attributes in wire order (RFC 8489 §14): everything before
    /// MESSAGE-INTEGRITY, then only MESSAGE-INTEGRITY-SHA256 / FINGERPRINT; attributes after
    /// FINGERPRINT (or other attributes after an integrity attribute) are skipped as the RFC
    /// requires receivers to ignore them.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            walker: Walker {
                buf: self.buf,
                pos: HEADER_LEN,
            },
            stage: Stage::Open,
        }
    }

    /// The first honoured attribute of type `typ` (RFC 8489 §14: only the first occurrence of
    /// a repeated attribute needs processing).
    pub fn attribute(&self, typ: u16) -> Option<RawAttribute<'a>> {
        self.attributes().find(|a| a.typ == typ)
    }

    /// All honoured attributes of type `typ`, e.g. several XOR-PEER-ADDRESS in a
    /// CreatePermission (RFC 8656 §9.1).
    pub fn attributes_of(
        &self,
        typ: u16,
    ) -> impl Iterator<Item = RawAttribute<'a>> + Clone + use<'a> {
        self.attributes().filter(move |a| a.typ == typ)
    }

    /// Comprehension-required attribute types (0x0000..=0x7FFF) this codec does not understand
    /// (see [`is_known_attribute`]); a request containing any must get a 420 listing them in
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1).
    pub fn unknown_comprehension_required(&self) -> impl Iterator<Item = u16> + Clone + use<'a> {
        self.attributes()
            .map(|a| a.typ)
            .filter(|&t| is_comprehension_required(t) && !is_known_attribute(t))
    }

    // ---- typed getters: Ok(None) when absent, Err when present but malformed ----

    fn value(&self, typ: u16) -> Option<&'a [u8]> {
        self.attribute(typ).map(|a| a.value)
    }

    fn fixed<const N: usize>(&self, typ: u16) -> Result<Option<[u8; N]>, ParseError> {
        match self.value(typ) {
            None => Ok(None),
            Some(v) => match <[u8; N]>::try_from(v) {
                Ok(a) => Ok(Some(a)),
                Err(_) => Err(ParseError::BadAttributeLength {
                    attr: typ,
                    len: v.len(),
                }),
            },
        }
    }

    fn text(&self, typ: u16) -> Result<Option<&'a str>, ParseError> {
        match self.value(typ) {
            None => Ok(None),
            Some(v) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|_| ParseError::InvalidUtf8),
        }
    }

    fn xor_address(&self, typ: u16) -> Result<Option<SocketAddr>, ParseError> {
        match self.value(typ) {
            None => Ok(None),
            Some(v) => decode_address(typ, v, Some(&self.buf[4..HEADER_LEN])).map(Some),
        }
    }

    /// XOR-MAPPED-ADDRESS, un-XORed with the cookie (and transaction id for IPv6)
    /// (RFC 8489 §14.2).
    pub fn xor_mapped_address(&self) -> Result<Option<SocketAddr>, ParseError> {
        self.xor_address(AttrType::XOR_MAPPED_ADDRESS)
    }

    /// MAPPED-ADDRESS, the plain (pre-RFC 5389) form (RFC 8489 §14.1).
    pub fn mapped_address(&self) -> Result<Option<SocketAddr>, ParseError> {
        match self.value(AttrType::MAPPED_ADDRESS) {
            None => Ok(None),
            Some(v) => decode_address(AttrType::MAPPED_ADDRESS, v, None).map(Some),
        }
    }

    /// XOR-RELAYED-ADDRESS of a TURN allocation (RFC 8656 §18.5).
    pub fn xor_relayed_address(&self) -> Result<Option<SocketAddr>, ParseError> {
        self.xor_address(AttrType::XOR_RELAYED_ADDRESS)
    }

    /// The first XOR-PEER-ADDRESS (RFC 8656 §18.3); see [`Message::xor_peer_addresses`].
    pub fn xor_peer_address(&self) -> Result<Option<SocketAddr>, ParseError> {
        self.xor_address(AttrType::XOR_PEER_ADDRESS)
    }

    /// Every XOR-PEER-ADDRESS, decoded (a CreatePermission may carry several, RFC 8656 §9.1).
    pub fn xor_peer_addresses(
        &self,
    ) -> impl Iterator<Item = Result<SocketAddr, ParseError>> + use<'a> {
        let mask = &self.buf[4..HEADER_LEN];
        self.attributes_of(AttrType::XOR_PEER_ADDRESS)
            .map(move |a| decode_address(a.typ, a.value, Some(mask)))
    }

    /// USERNAME as UTF-8 (RFC 8489 §14.3). Length is not limited on receipt.
    pub fn username(&self) -> Result<Option<&'a str>, ParseError> {
        self.text(AttrType::USERNAME)
    }

    /// SOFTWARE as UTF-8 (RFC 8489 §14.14).
    pub fn software(&self) -> Result<Option<&'a str>, ParseError> {
        self.text(AttrType::SOFTWARE)
    }

    /// REALM as UTF-8 (RFC 8489 §14.9).
    pub fn realm(&self) -> Result<Option<&'a str>, ParseError> {
        self.text(AttrType::REALM)
    }

    /// NONCE as UTF-8 (RFC 8489 §14.10).
    pub fn nonce(&self) -> Result<Option<&'a str>, ParseError> {
        self.text(AttrType::NONCE)
    }

    /// PRIORITY of the candidate the check would create (RFC 8445 §7.1.1, §16.1).
    pub fn priority(&self) -> Result<Option<u32>, ParseError> {
        Ok(self.fixed::<4>(AttrType::PRIORITY)?.map(u32::from_be_bytes))
    }

    /// Whether USE-CANDIDATE is present; it must be empty (RFC 8445 §7.1.2, §16.1).
    pub fn use_candidate(&self) -> Result<bool, ParseError> {
        Ok(self.fixed::<0>(AttrType::USE_CANDIDATE)?.is_some())
    }

    /// ICE-CONTROLLING tie-breaker (RFC 8445 §7.1.3, §16.1).
    pub fn ice_controlling(&self) -> Result<Option<u64>, ParseError> {
        Ok(self
            .fixed::<8>(AttrType::ICE_CONTROLLING)?
            .map(u64::from_be_bytes))
    }

    /// ICE-CONTROLLED tie-breaker (RFC 8445 §7.1.3, §16.1).
    pub fn ice_controlled(&self) -> Result<Option<u64>, ParseError> {
        Ok(self
            .fixed::<8>(AttrType::ICE_CONTROLLED)?
            .map(u64::from_be_bytes))
    }

    /// ERROR-CODE as code (class * 100 + number, 300..=699) and reason phrase (RFC 8489 §14.8).
    pub fn error_code(&self) -> Result<Option<ErrorCode<'a>>, ParseError> {
        let Some(v) = self.value(AttrType::ERROR_CODE) else {
            return Ok(None);
        };
        let Some((head, reason)) = v.split_first_chunk::<4>() else {
            return Err(ParseError::BadAttributeLength {
                attr: AttrType::ERROR_CODE,
                len: v.len(),
            });
        };
        let class = u16::from(head[2] & 0x07);
        let number = u16::from(head[3]);
        if !(3..=6).contains(&class) || number > 99 {
            return Err(ParseError::BadErrorCode);
        }
        let reason = std::str::from_utf8(reason).map_err(|_| ParseError::InvalidUtf8)?;
        Ok(Some(ErrorCode {
            code: class * 100 + number,
            reason,
        }))
    }

    /// UNKNOWN-ATTRIBUTES: the types the peer did not understand (RFC 8489 §14.13).
    pub fn unknown_attributes(&self) -> Result<Option<UnknownAttributes<'a>>, ParseError> {
        match self.value(AttrType::UNKNOWN_ATTRIBUTES) {
            None => Ok(None),
            Some(v) if v.len() % 2 == 0 => Ok(Some(UnknownAttributes { value: v })),
            Some(v) => Err(ParseError::BadAttributeLength {
                attr: AttrType::UNKNOWN_ATTRIBUTES,
                len: v.len(),
            }),
        }
    }

    /// LIFETIME of a TURN allocation in seconds (RFC 8656 §18.2).
    pub fn lifetime(&self) -> Result<Option<u32>, ParseError> {
        Ok(self.fixed::<4>(AttrType::LIFETIME)?.map(u32::from_be_bytes))
    }

    /// REQUESTED-TRANSPORT protocol number (17 = UDP, 6 = TCP) (RFC 8656 §18.8).
    pub fn requested_transport(&self) -> Result<Option<u8>, ParseError> {
        Ok(self
            .fixed::<4>(AttrType::REQUESTED_TRANSPORT)?
            .map(|v| v[0]))
    }

    /// DATA carried by a Send or Data indication (RFC 8656 §18.4).
    pub fn data(&self) -> Option<&'a [u8]> {
        self.value(AttrType::DATA)
    }

    /// CHANNEL-NUMBER (RFC 8656 §18.1): the 16-bit number; range checks are the TURN
    /// client's (0x4000..=0x4FFF, RFC 8656 §12).
    pub fn channel_number(&self) -> Result<Option<u16>, ParseError> {
        Ok(self
            .fixed::<4>(AttrType::CHANNEL_NUMBER)?
            .map(|v| u16::from_be_bytes([v[0], v[1]])))
    }

    /// Whether a MESSAGE-INTEGRITY attribute is honoured in this message (RFC 8489 §14.5).
    pub fn has_message_integrity(&self) -> bool {
        self.integrity.is_some()
    }

    /// Whether a MESSAGE-INTEGRITY-SHA256 attribute is honoured in this message (RFC 8489 §14.6).
    pub fn has_message_integrity_sha256(&self) -> bool {
        self.integrity_sha256.is_some()
    }

    /// Whether a FINGERPRINT attribute is honoured in this message (RFC 8489 §14.7).
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// Check the message's integrity with `key` (short-term: the password bytes; long-term:
    /// [`super::long_term_key`]). Uses MESSAGE-INTEGRITY-SHA256 when present, otherwise
    /// MESSAGE-INTEGRITY; `false` when neither is present (RFC 8489 §9.1.3, §9.2.4).
    /// Comparison is constant-time.
    pub fn verify_integrity(&self, key: &[u8]) -> bool {
        if self.integrity_sha256.is_some() {
            self.verify_message_integrity_sha256(key)
        } else {
            self.verify_message_integrity(key)
        }
    }

    /// Check MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the attribute, with the
    /// header length covering the attribute) in constant time (RFC 8489 §14.5).
    pub fn verify_message_integrity(&self, key: &[u8]) -> bool {
        let Some(off) = self.integrity else {
            return false;
        };
        let Some(tag) = self.buf.get(off + 4..off + 24) else {
            return false;
        };
        if self.attr_len_at(off) != 20 {
            return false;
        }
        let mac = hmac_prefix(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key, self.buf, off, 20);
        constant_time::verify_slices_are_equal(&mac.as_ref()[..20], tag).is_ok()
    }

    /// Check MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, possibly truncated to 16..=32 bytes in
    /// steps of 4) in constant time (RFC 8489 §14.6).
    pub fn verify_message_integrity_sha256(&self, key: &[u8]) -> bool {
        let Some(off) = self.integrity_sha256 else {
            return false;
        };
        let len = self.attr_len_at(off);
        if !(16..=32).contains(&len) || len % 4 != 0 {
            return false;
        }
        let Some(tag) = self.buf.get(off + 4..off + 4 + len) else {
            return false;
        };
        let mac = hmac_prefix(hmac::HMAC_SHA256, key, self.buf, off, len);
        constant_time::verify_slices_are_equal(&mac.as_ref()[..len], tag).is_ok()
    }

    /// Check FINGERPRINT: CRC-32 of the message up to the attribute (header length covering
    /// it) XOR 0x5354554E (RFC 8489 §14.7). `false` when absent.
    pub fn verify_fingerprint(&self) -> bool {
        let Some(off) = self.fingerprint else {
            return false;
        };
        if self.attr_len_at(off) != 4 {
            return false;
        }
        let Some(value) = self.buf.get(off + 4..off + 8) else {
            return false;
        };
        let got = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
        fingerprint_of_prefix(self.buf, off) == got
    }

    fn attr_len_at(&self, off: usize) -> usize {
        match self.buf.get(off + 2..off + 4) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => 0,
        }
    }
}

/// HMAC over `buf[..off]` as if the header length field ended the message right after an
/// attribute at `off` with a `value_len`-byte value (RFC 8489 §14.5, §14.6). `off` must be a
/// valid attribute offset (>= 20, within `buf`).
pub(crate) fn hmac_prefix(
    alg: hmac::Algorithm,
    key: &[u8],
    buf: &[u8],
    off: usize,
    value_len: usize,
) -> hmac::Tag {
    let key = hmac::Key::new(alg, key);
    let mut ctx = hmac::Context::with_key(&key);
    let adjusted = adjusted_length(off, value_len);
    ctx.update(&buf[..2]);
    ctx.update(&adjusted.to_be_bytes());
    ctx.update(&buf[4..off]);
    ctx.sign()
}

/// FINGERPRINT value for a message whose FINGERPRINT attribute starts at `off` (RFC 8489 §14.7).
pub(crate) fn fingerprint_of_prefix(buf: &[u8], off: usize) -> u32 {
    let mut crc = Crc32::new();
    crc.update(&buf[..2]);
    crc.update(&adjusted_length(off, 4).to_be_bytes());
    crc.update(&buf[4..off]);
    crc.finish() ^ FINGERPRINT_XOR
}

/// Header length value for a message ending with an attribute at `off` holding `value_len`
/// bytes (padded). Callers guarantee it fits 16 bits (it never exceeds the real length).
fn adjusted_length(off: usize, value_len: usize) -> u16 {
    let total = off + 4 + value_len.div_ceil(4) * 4 - HEADER_LEN;
    u16::try_from(total).unwrap_or(u16::MAX)
}

/// Decode (XOR-)MAPPED-ADDRESS-style values: reserved byte, family, port, address
/// (RFC 8489 §14.1, §14.2). `mask` is cookie + transaction id for the XOR variants.
fn decode_address(typ: u16, v: &[u8], mask: Option<&[u8]>) -> Result<SocketAddr, ParseError> {
    let bad_len = ParseError::BadAttributeLength {
        attr: typ,
        len: v.len(),
    };
    let Some((head, addr)) = v.split_first_chunk::<4>() else {
        return Err(bad_len);
    };
    let family = head[1];
    let mut port = u16::from_be_bytes([head[2], head[3]]);
    let mut xor = [0u8; 16];
    if let Some(m) = mask {
        xor.copy_from_slice(m);
        port ^= u16::from_be_bytes([xor[0], xor[1]]);
    }
    let ip = match family {
        0x01 => {
            let a: [u8; 4] = addr.try_into().map_err(|_| bad_len)?;
            let mut o = [0u8; 4];
            for i in 0..4 {
                o[i] = a[i] ^ xor[i];
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        0x02 => {
            let a: [u8; 16] = addr.try_into().map_err(|_| bad_len)?;
            let mut o = [0u8; 16];
            for i in 0..16 {
                o[i] = a[i] ^ xor[i];
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        f => return Err(ParseError::BadAddressFamily(f)),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Bounds-checked TLV walker over a message body (RFC 8489 §14).
#[derive(Debug, Clone)]
struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Walker<'a> {
    fn next_attr(&mut self) -> Result<Option<RawAttribute<'a>>, ParseError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let Some(h) = self.buf.get(self.pos..self.pos + 4) else {
            return Err(ParseError::AttributeOverrun);
        };
        let typ = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let start = self.pos + 4;
        let padded_end = start + len.div_ceil(4) * 4;
        let (Some(value), true) = (
            self.buf.get(start..start + len),
            padded_end <= self.buf.len(),
        ) else {
            return Err(ParseError::AttributeOverrun);
        };
        let offset = self.pos;
        self.pos = padded_end;
        Ok(Some(RawAttribute { typ, value, offset }))
    }
}

/// Iterator over a message's honoured attributes, see [`Message::attributes`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    walker: Walker<'a>,
    stage: Stage,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        loop {
            // The message was validated by `parse`, so the walk cannot fail; stop if it does.
            let attr = self.walker.next_attr().ok()??;
            let (honoured, next) = self.stage.step(attr.typ);
            self.stage = next;
            if honoured {
                return Some(attr);
            }
            if next == Stage::AfterFingerprint {
                return None;
            }
        }
    }
}

/// A decoded ERROR-CODE (RFC 8489 §14.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'a> {
    /// class * 100 + number, e.g. 401, 420, 487 (RFC 8489 §14.8, RFC 8445 §7.3.1.1).
    pub code: u16,
    /// The UTF-8 reason phrase.
    pub reason: &'a str,
}

/// The attribute types listed in UNKNOWN-ATTRIBUTES (RFC 8489 §14.13); iterate with
/// [`UnknownAttributes::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownAttributes<'a> {
    value: &'a [u8],
}

impl<'a> UnknownAttributes<'a> {
    /// The listed attribute types, in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + Clone + use<'a> {
        self.value
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// How many types are listed.
    pub fn len(&self) -> usize {
        self.value.len() / 2
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}
