//! The RTP header writer (RFC 3550 §5.1) and the RTX payload prefix writer (RFC 4588 §4).

use super::{
    ExtensionBlock, ExtensionElement, ExtensionMap, Extensions, FIXED_HEADER_LEN, MAX_CSRCS,
    RtpError, write_extension_block,
};

/// The header extensions an [`RtpHeader`] carries.
#[derive(Debug, Clone, Copy, Default)]
pub enum HeaderExtensions<'a> {
    /// No extension block (X bit clear).
    #[default]
    None,
    /// These elements, in the form they need (RFC 8285 §4).
    Elements(&'a [ExtensionElement<'a>]),
    /// The typed values that `map` has ids for, then `extra` elements (extensions this codec
    /// has no typed value for, e.g. a dependency descriptor), in the form they all need.
    Typed {
        /// The negotiated ids.
        map: &'a ExtensionMap,
        /// The values.
        values: &'a Extensions<'a>,
        /// Further elements, written after the typed ones.
        extra: &'a [ExtensionElement<'a>],
    },
    /// A raw block written as is (forwarding); its data must be whole 32-bit words.
    Block(ExtensionBlock<'a>),
}

/// Padding at the end of a packet (RFC 3550 §5.1: P bit, last byte is the count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding.
    #[default]
    None,
    /// Exactly this many bytes (1–255; 0 means none), e.g. a pacer's padding-only packet.
    Bytes(u8),
    /// As few bytes as make the whole packet a multiple of this (0 and 1 mean none).
    Multiple(u8),
}

/// The fields of an RTP header to write (RFC 3550 §5.1). Version 2; the P and X bits and
/// the CC field follow from the padding, extensions and CSRCs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RtpHeader<'a> {
    /// The marker bit (M).
    pub marker: bool,
    /// The payload type, 0–127.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// Contributing sources, at most 15.
    pub csrcs: &'a [u32],
    /// The header-extension block.
    pub extensions: HeaderExtensions<'a>,
}

impl RtpHeader<'_> {
    /// Appends the header (fixed part, CSRCs, extension block) to `out`, P bit clear. Returns
    /// the header length. On error `out` is left as it was.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<usize, RtpError> {
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyCsrcs);
        }
        if self.payload_type > 127 {
            return Err(RtpError::BadPayloadType);
        }
        let start = out.len();
        out.push(0x80 | self.csrcs.len() as u8);
        out.push((u8::from(self.marker) << 7) | self.payload_type);
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in self.csrcs {
            out.extend_from_slice(&c.to_be_bytes());
        }
        let written = match self.extensions {
            HeaderExtensions::None => Ok(false),
            HeaderExtensions::Elements(e) => write_extension_block(out, e.iter().copied()),
            HeaderExtensions::Typed { map, values, extra } => match values.encode(map) {
                Ok(enc) => write_extension_block(out, enc.elements().chain(extra.iter().copied())),
                Err(e) => Err(e),
            },
            HeaderExtensions::Block(b) => write_raw_block(out, b),
        };
        match written {
            Ok(true) => out[start] |= 0x10,
            Ok(false) => {}
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
        debug_assert!(out.len() - start >= FIXED_HEADER_LEN);
        Ok(out.len() - start)
    }

    /// Appends a whole packet: the header, `payload`, then `padding` with the P bit set when
    /// any padding is written (RFC 3550 §5.1). On error `out` is left as it was.
    pub fn write_packet(
        &self,
        out: &mut Vec<u8>,
        payload: &[u8],
        padding: Padding,
    ) -> Result<(), RtpError> {
        let start = out.len();
        self.write(out)?;
        out.extend_from_slice(payload);
        let len = out.len() - start;
        let pad = match padding {
            Padding::None => 0,
            Padding::Bytes(n) => n,
            Padding::Multiple(m) if m > 1 => {
                let m = usize::from(m);
                // (m - len % m) % m < m ≤ 255.
                ((m - len % m) % m) as u8
            }
            Padding::Multiple(_) => 0,
        };
        if pad > 0 {
            out.resize(out.len() + usize::from(pad) - 1, 0);
            out.push(pad);
            out[start] |= 0x20;
        }
        Ok(())
    }
}

fn write_raw_block(out: &mut Vec<u8>, b: ExtensionBlock<'_>) -> Result<bool, RtpError> {
    if b.data.len() % 4 != 0 {
        return Err(RtpError::BadExtension);
    }
    let words = u16::try_from(b.data.len() / 4).map_err(|_| RtpError::ExtensionTooLong)?;
    out.extend_from_slice(&b.profile.to_be_bytes());
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(b.data);
    Ok(true)
}

/// Appends an RTX payload (RFC 4588 §4): the original sequence number, then the original
/// payload. The RTX packet's own header is written before it with [`RtpHeader`].
pub fn write_rtx_payload(out: &mut Vec<u8>, original_seq: u16, original_payload: &[u8]) {
    out.extend_from_slice(&original_seq.to_be_bytes());
    out.extend_from_slice(original_payload);
}
