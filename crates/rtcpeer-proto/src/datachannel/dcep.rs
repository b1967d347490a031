//! The Data Channel Establishment Protocol wire format (RFC 8832 §5) and the payload
//! protocol identifiers of WebRTC data channels (RFC 8831 §8).

use std::fmt;

/// PPID of DCEP messages (RFC 8832 §8.1).
pub const PPID_DCEP: u32 = 50;
/// PPID of a non-empty UTF-8 string message (RFC 8831 §8).
pub const PPID_STRING: u32 = 51;
/// Deprecated PPID of a partial binary message (RFC 8831 §8); read as binary.
pub const PPID_BINARY_PARTIAL: u32 = 52;
/// PPID of a non-empty binary message.
pub const PPID_BINARY: u32 = 53;
/// Deprecated PPID of a partial string message; read as a string.
pub const PPID_STRING_PARTIAL: u32 = 54;
/// PPID of an empty string message (sent as one zero byte, RFC 8831 §6.6).
pub const PPID_STRING_EMPTY: u32 = 56;
/// PPID of an empty binary message (sent as one zero byte).
pub const PPID_BINARY_EMPTY: u32 = 57;

const MSG_ACK: u8 = 0x02;
const MSG_OPEN: u8 = 0x03;
const OPEN_HEADER_LEN: usize = 12;

/// How a channel retransmits (RFC 8832 §5.1 channel types, RFC 3758 policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// Retransmit until delivered.
    Reliable,
    /// Give up after this many retransmissions (`maxRetransmits`).
    MaxRetransmits(u32),
    /// Give up after this many milliseconds (`maxPacketLifeTime`).
    MaxLifetimeMs(u32),
}

/// DATA_CHANNEL_OPEN (RFC 8832 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// In-order delivery (channel type without the 0x80 bit).
    pub ordered: bool,
    /// The retransmission policy.
    pub reliability: Reliability,
    /// Priority (RFC 8831 §6.4: 128 very-low, 256 low, 512 medium, 1024 high).
    pub priority: u16,
    /// The channel label.
    pub label: String,
    /// The subprotocol.
    pub protocol: String,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(Open),
    /// DATA_CHANNEL_ACK (RFC 8832 §5.2).
    Ack,
}

/// Why a DCEP message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepError {
    /// Empty message.
    Empty,
    /// An unknown message type.
    UnknownMessageType(u8),
    /// An unknown channel type.
    UnknownChannelType(u8),
    /// Shorter than its header or its declared label/protocol lengths.
    Truncated,
    /// Label or protocol is not UTF-8 (RFC 8832 §5.1).
    InvalidUtf8,
    /// Label or protocol longer than 65535 bytes.
    TooLong,
}

impl fmt::Display for DcepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DcepError::Empty => f.write_str("empty DCEP message"),
            DcepError::UnknownMessageType(t) => write!(f, "unknown DCEP message type {t:#04x}"),
            DcepError::UnknownChannelType(t) => write!(f, "unknown DCEP channel type {t:#04x}"),
            DcepError::Truncated => f.write_str("truncated DCEP message"),
            DcepError::InvalidUtf8 => f.write_str("DCEP label or protocol is not UTF-8"),
            DcepError::TooLong => f.write_str("DCEP label or protocol longer than 65535 bytes"),
        }
    }
}

impl std::error::Error for DcepError {}

impl DcepMessage {
    /// Parses a message carried with PPID 50.
    pub fn parse(buf: &[u8]) -> Result<DcepMessage, DcepError> {
        Ok(match DcepView::parse(buf)? {
            DcepView::Ack => DcepMessage::Ack,
            DcepView::Open(o) => DcepMessage::Open(Open {
                ordered: o.ordered,
                reliability: o.reliability,
                priority: o.priority,
                label: o.label.to_string(),
                protocol: o.protocol.to_string(),
            }),
        })
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), DcepError> {
        match self {
            DcepMessage::Ack => {
                out.push(MSG_ACK);
                Ok(())
            }
            DcepMessage::Open(o) => OpenView {
                ordered: o.ordered,
                reliability: o.reliability,
                priority: o.priority,
                label: &o.label,
                protocol: &o.protocol,
            }
            .write(out),
        }
    }
}

/// A DCEP message borrowed from its buffer: label and protocol are not copied, so a
/// message that is going to be refused costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcepView<'a> {
    /// DATA_CHANNEL_OPEN.
    Open(OpenView<'a>),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl<'a> DcepView<'a> {
    /// Parses a message carried with PPID 50 (RFC 8832 §5).
    pub fn parse(buf: &'a [u8]) -> Result<DcepView<'a>, DcepError> {
        match *buf.first().ok_or(DcepError::Empty)? {
            MSG_ACK => Ok(DcepView::Ack),
            MSG_OPEN => OpenView::parse(buf).map(DcepView::Open),
            t => Err(DcepError::UnknownMessageType(t)),
        }
    }
}

/// DATA_CHANNEL_OPEN (RFC 8832 §5.1) with borrowed label and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenView<'a> {
    /// In-order delivery (channel type without the 0x80 bit).
    pub ordered: bool,
    /// The retransmission policy.
    pub reliability: Reliability,
    /// Priority (RFC 8831 §6.4).
    pub priority: u16,
    /// The channel label.
    pub label: &'a str,
    /// The subprotocol.
    pub protocol: &'a str,
}

impl<'a> OpenView<'a> {
    fn parse(buf: &'a [u8]) -> Result<OpenView<'a>, DcepError> {
        if buf.len() < OPEN_HEADER_LEN {
            return Err(DcepError::Truncated);
        }
        let channel_type = buf[1];
        let priority = u16::from_be_bytes([buf[2], buf[3]]);
        let param = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let label_len = usize::from(u16::from_be_bytes([buf[8], buf[9]]));
        let protocol_len = usize::from(u16::from_be_bytes([buf[10], buf[11]]));
        let reliability = match channel_type & 0x7f {
            0x00 => Reliability::Reliable,
            0x01 => Reliability::MaxRetransmits(param),
            0x02 => Reliability::MaxLifetimeMs(param),
            _ => return Err(DcepError::UnknownChannelType(channel_type)),
        };
        let rest = &buf[OPEN_HEADER_LEN..];
        if rest.len() < label_len + protocol_len {
            return Err(DcepError::Truncated);
        }
        let label = std::str::from_utf8(&rest[..label_len]).map_err(|_| DcepError::InvalidUtf8)?;
        let protocol = std::str::from_utf8(&rest[label_len..label_len + protocol_len])
            .map_err(|_| DcepError::InvalidUtf8)?;
        Ok(OpenView {
            ordered: channel_type & 0x80 == 0,
            reliability,
            priority,
            label,
            protocol,
        })
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), DcepError> {
        let label_len = u16::try_from(self.label.len()).map_err(|_| DcepError::TooLong)?;
        let protocol_len = u16::try_from(self.protocol.len()).map_err(|_| DcepError::TooLong)?;
        let (kind, param) = match self.reliability {
            Reliability::Reliable => (0x00, 0),
            Reliability::MaxRetransmits(n) => (0x01, n),
            Reliability::MaxLifetimeMs(ms) => (0x02, ms),
        };
        out.reserve(OPEN_HEADER_LEN + self.label.len() + self.protocol.len());
        out.push(MSG_OPEN);
        out.push(if self.ordered { kind } else { kind | 0x80 });
        out.extend_from_slice(&self.priority.to_be_bytes());
        out.extend_from_slice(&param.to_be_bytes());
        out.extend_from_slice(&label_len.to_be_bytes());
        out.extend_from_slice(&protocol_len.to_be_bytes());
        out.extend_from_slice(self.label.as_bytes());
        out.extend_from_slice(self.protocol.as_bytes());
        Ok(())
    }
}
