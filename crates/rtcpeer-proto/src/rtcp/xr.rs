//! Extended reports (RFC 3611): the packet, its report blocks, RRTR (§4.4) and DLRR (§4.5)
//! decoded, other blocks kept raw.

use super::{PT_XR, RtcpError, be16, be32, be64, begin, finish};

/// Block type of a receiver reference time report (RFC 3611 §4.4).
pub const XR_RRTR: u8 = 4;
/// Block type of a DLRR report (RFC 3611 §4.5).
pub const XR_DLRR: u8 = 5;

/// One DLRR sub-block (RFC 3611 §4.5): a receiver, the middle 32 bits of its last RRTR NTP
/// time, and the delay since then in 1/65536 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DlrrItem {
    /// The receiver the sub-block is about.
    pub ssrc: u32,
    /// LRR: compact NTP time of its last RRTR.
    pub last_rr: u32,
    /// DLRR: delay since that RRTR.
    pub delay: u32,
}

/// One XR report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrBlock<'a> {
    /// Receiver reference time (RFC 3611 §4.4): an NTP timestamp.
    Rrtr {
        /// The receiver's NTP time.
        ntp: u64,
    },
    /// DLRR (RFC 3611 §4.5): raw sub-blocks, see [`XrBlock::dlrr_items`].
    Dlrr(&'a [u8]),
    /// Any other block (or an RRTR/DLRR with a malformed length), kept raw.
    Other {
        /// Block type (BT).
        block_type: u8,
        /// Type-specific byte.
        type_specific: u8,
        /// Block contents (whole 32-bit words).
        data: &'a [u8],
    },
}

impl<'a> XrBlock<'a> {
    /// The sub-blocks of a DLRR block (empty for other blocks).
    pub fn dlrr_items(&self) -> impl ExactSizeIterator<Item = DlrrItem> + Clone + 'a {
        let raw: &'a [u8] = match *self {
            XrBlock::Dlrr(d) => d,
            _ => &[],
        };
        raw.chunks_exact(12).map(|c| {
            let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
            DlrrItem {
                ssrc: w(0),
                last_rr: w(4),
                delay: w(8),
            }
        })
    }
}

/// An extended report packet (RFC 3611 §2): sender SSRC and report blocks, validated.
/// Equal when the SSRC and the decoded blocks are (reserved bytes are not compared).
#[derive(Debug, Clone, Copy)]
pub struct Xr<'a> {
    /// SSRC of the packet sender.
    pub ssrc: u32,
    blocks: &'a [u8],
}

/// The first block of a run and what follows it: (type, type-specific, data, rest).
type SplitBlock<'a> = (u8, u8, &'a [u8], &'a [u8]);

/// Splits the first block off `b`.
fn split_block(b: &[u8]) -> Result<SplitBlock<'_>, RtcpError> {
    let words = usize::from(be16(b, 2).ok_or(RtcpError::Truncated)?);
    let end = 4 + 4 * words;
    let data = b.get(4..end).ok_or(RtcpError::Truncated)?;
    Ok((b[0], b[1], data, &b[end..]))
}

impl PartialEq for Xr<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.ssrc == o.ssrc && self.blocks().eq(o.blocks())
    }
}

impl Eq for Xr<'_> {}

impl<'a> Xr<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Xr<'a>, RtcpError> {
        let ssrc = be32(body, 0).ok_or(RtcpError::Truncated)?;
        let blocks = &body[4..];
        let mut rest = blocks;
        while !rest.is_empty() {
            rest = split_block(rest)?.3;
        }
        Ok(Xr { ssrc, blocks })
    }

    /// The report blocks, in order.
    pub fn blocks(&self) -> impl Iterator<Item = XrBlock<'a>> + Clone + 'a {
        let mut rest = self.blocks;
        std::iter::from_fn(move || {
            let (bt, ts, data, tail) = split_block(rest).ok()?;
            rest = tail;
            Some(match bt {
                XR_RRTR if data.len() == 8 => XrBlock::Rrtr {
                    ntp: be64(data, 0).unwrap_or(0),
                },
                XR_DLRR if data.len() % 12 == 0 => XrBlock::Dlrr(data),
                _ => XrBlock::Other {
                    block_type: bt,
                    type_specific: ts,
                    data,
                },
            })
        })
    }

    /// Appends this packet to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let mut w = XrWriter::new(out, self.ssrc);
        for b in self.blocks() {
            match b {
                XrBlock::Rrtr { ntp } => w.rrtr(ntp),
                XrBlock::Dlrr(_) => w.dlrr(b.dlrr_items())?,
                XrBlock::Other {
                    block_type,
                    type_specific,
                    data,
                } => w.other(block_type, type_specific, data)?,
            }
        }
        w.finish()
    }
}

/// Writes an XR packet block by block (RFC 3611 §2); [`XrWriter::finish`] fills the length.
#[derive(Debug)]
pub struct XrWriter<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
}

impl<'o> XrWriter<'o> {
    /// Starts an XR packet from `ssrc` at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>, ssrc: u32) -> XrWriter<'o> {
        let start = begin(out, 0, PT_XR);
        out.extend_from_slice(&ssrc.to_be_bytes());
        XrWriter { out, start }
    }

    /// Adds a receiver reference time block (RFC 3611 §4.4).
    pub fn rrtr(&mut self, ntp: u64) {
        self.out.extend_from_slice(&[XR_RRTR, 0, 0, 2]);
        self.out.extend_from_slice(&ntp.to_be_bytes());
    }

    /// Adds a DLRR block (RFC 3611 §4.5) with `items`.
    pub fn dlrr(&mut self, items: impl IntoIterator<Item = DlrrItem>) -> Result<(), RtcpError> {
        let at = self.out.len();
        self.out.extend_from_slice(&[XR_DLRR, 0, 0, 0]);
        for i in items {
            self.out.extend_from_slice(&i.ssrc.to_be_bytes());
            self.out.extend_from_slice(&i.last_rr.to_be_bytes());
            self.out.extend_from_slice(&i.delay.to_be_bytes());
        }
        self.set_len(at)
    }

    /// Adds a raw block; `data` must be whole 32-bit words.
    pub fn other(&mut self, block_type: u8, type_specific: u8, data: &[u8]) -> Result<(), RtcpError> {
        if data.len() % 4 != 0 {
            return Err(RtcpError::Malformed("XR block not a whole number of words"));
        }
        let at = self.out.len();
        self.out.extend_from_slice(&[block_type, type_specific, 0, 0]);
        self.out.extend_from_slice(data);
        self.set_len(at)
    }

    fn set_len(&mut self, at: usize) -> Result<(), RtcpError> {
        let Ok(words) = u16::try_from((self.out.len() - at - 4) / 4) else {
            self.out.truncate(at);
            return Err(RtcpError::TooLong);
        };
        self.out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
        Ok(())
    }

    /// Fills the packet's length field.
    pub fn finish(self) -> Result<(), RtcpError> {
        finish(self.out, self.start)
    }
}
