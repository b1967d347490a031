//! The borrowed RTP packet view (RFC 3550 §5.1) and the RTX payload prefix (RFC 4588 §4).

use std::fmt;

use super::{ExtensionIter, FIXED_HEADER_LEN, ONE_BYTE_PROFILE, RTP_VERSION};

/// Why an RTP packet could not be parsed or written (RFC 3550 §5.1, RFC 8285).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Fewer bytes than the header (fixed part, CSRCs, extension) announces.
    Truncated,
    /// The version field is not 2 (RFC 3550 §5.1).
    BadVersion(u8),
    /// The padding count is 0 or larger than the payload area (RFC 3550 §5.1).
    BadPadding,
    /// A header-extension element runs past its block, or has a reserved id where an
    /// element must be (RFC 8285 §4.2, §4.3).
    BadExtension,
    /// An extension id or length that the chosen form cannot carry (RFC 8285 §4).
    ExtensionNotWritable,
    /// More than 15 CSRCs (RFC 3550 §5.1: the CC field is 4 bits).
    TooManyCsrcs,
    /// A header-extension block longer than its 16-bit length field allows (RFC 3550 §5.3.1).
    ExtensionTooLong,
    /// An RTX payload shorter than its 2-byte original sequence number (RFC 4588 §4).
    ShortRtx,
    /// A payload type above 127 (the PT field is 7 bits, RFC 3550 §5.1).
    BadPayloadType,
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::Truncated => f.write_str("truncated RTP packet"),
            RtpError::BadVersion(v) => write!(f, "RTP version {v}, expected 2"),
            RtpError::BadPadding => f.write_str("bad RTP padding length"),
            RtpError::BadExtension => f.write_str("malformed RTP header extension"),
            RtpError::ExtensionNotWritable => {
                f.write_str("header extension id or length not writable in any form")
            }
            RtpError::TooManyCsrcs => f.write_str("more than 15 CSRCs"),
            RtpError::ExtensionTooLong => f.write_str("header extension block too long"),
            RtpError::ShortRtx => f.write_str("RTX payload without original sequence number"),
            RtpError::BadPayloadType => f.write_str("payload type above 127"),
        }
    }
}

impl std::error::Error for RtpError {}

/// The raw header-extension block of a packet: its 16-bit profile and its data, a whole
/// number of 32-bit words (RFC 3550 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionBlock<'a> {
    /// "defined by profile": 0xBEDE (one-byte), 0x100X (two-byte) or something else.
    pub profile: u16,
    /// The extension data after the 4-byte block header.
    pub data: &'a [u8],
}

impl<'a> ExtensionBlock<'a> {
    /// The RFC 8285 elements of the block. A block of another profile yields nothing.
    pub fn elements(&self) -> ExtensionIter<'a> {
        ExtensionIter::new(self.profile, self.data)
    }

    /// Whether this is an RFC 8285 block (one-byte or two-byte form).
    pub fn is_rfc8285(&self) -> bool {
        self.profile == ONE_BYTE_PROFILE || self.profile & 0xFFF0 == super::TWO_BYTE_PROFILE
    }
}

/// A validated, borrowed view of one RTP packet (RFC 3550 §5.1). Every field was checked
/// against the datagram by [`RtpPacket::parse`]; nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The marker bit (M).
    pub marker: bool,
    /// The payload type (PT), 7 bits.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    csrcs: &'a [u8],
    /// The header-extension block, if the X bit was set.
    pub extension: Option<ExtensionBlock<'a>>,
    /// The payload, without the padding.
    pub payload: &'a [u8],
    /// Number of padding bytes at the end (including the count byte); 0 if the P bit was clear.
    pub padding_len: u8,
    /// Length of the header: fixed part, CSRCs and extension block.
    pub header_len: usize,
}

/// Reads a big-endian u16 at `at` (the caller checked the bounds).
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian u32 at `at`.
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> RtpPacket<'a> {
    /// Parses and validates `data` as one RTP packet (RFC 3550 §5.1): version 2, CSRCs and the
    /// extension block within the datagram, and a padding count (last byte, P bit) between 1
    /// and the bytes after the header. Header-extension elements are checked when read.
    pub fn parse(data: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let b0 = *data.first().ok_or(RtpError::Truncated)?;
        if data.len() < FIXED_HEADER_LEN {
            return Err(RtpError::Truncated);
        }
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let cc = usize::from(b0 & 0x0F);
        let b1 = data[1];
        let sequence_number = be16(data, 2).ok_or(RtpError::Truncated)?;
        let timestamp = be32(data, 4).ok_or(RtpError::Truncated)?;
        let ssrc = be32(data, 8).ok_or(RtpError::Truncated)?;
        let csrc_end = FIXED_HEADER_LEN + 4 * cc;
        let csrcs = data
            .get(FIXED_HEADER_LEN..csrc_end)
            .ok_or(RtpError::Truncated)?;
        let mut header_len = csrc_end;
        let extension = if has_extension {
            let profile = be16(data, header_len).ok_or(RtpError::Truncated)?;
            let words = usize::from(be16(data, header_len + 2).ok_or(RtpError::Truncated)?);
            let start = header_len + 4;
            let end = start + 4 * words;
            let ext = data.get(start..end).ok_or(RtpError::Truncated)?;
            header_len = end;
            Some(ExtensionBlock { profile, data: ext })
        } else {
            None
        };
        let rest = data.get(header_len..).ok_or(RtpError::Truncated)?;
        let padding_len = if has_padding {
            let n = *rest.last().ok_or(RtpError::BadPadding)?;
            if n == 0 || usize::from(n) > rest.len() {
                return Err(RtpError::BadPadding);
            }
            n
        } else {
            0
        };
        let payload = &rest[..rest.len() - usize::from(padding_len)];
        Ok(RtpPacket {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7F,
            sequence_number,
            timestamp,
            ssrc,
            csrcs,
            extension,
            payload,
            padding_len,
            header_len,
        })
    }

    /// Number of CSRCs (0–15).
    pub fn csrc_count(&self) -> usize {
        self.csrcs.len() / 4
    }

    /// The contributing sources, in header order (RFC 3550 §5.1).
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + Clone + 'a {
        self.csrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The RFC 8285 header-extension elements (empty without an extension block or for
    /// another profile).
    pub fn extensions(&self) -> ExtensionIter<'a> {
        match self.extension {
            Some(b) => b.elements(),
            None => ExtensionIter::new(0, &[]),
        }
    }
}

/// Splits an RTX payload (RFC 4588 §4) into the original sequence number (OSN, first two
/// bytes) and the original payload.
pub fn read_rtx_payload(payload: &[u8]) -> Result<(u16, &[u8]), RtpError> {
    let osn = be16(payload, 0).ok_or(RtpError::ShortRtx)?;
    Ok((osn, &payload[2..]))
}
