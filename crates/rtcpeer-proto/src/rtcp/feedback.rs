//! Feedback messages: generic NACK (RFC 4585 §6.2.1), PLI (RFC 4585 §6.3.1), FIR (RFC 5104
//! §4.3.1) and REMB (draft-alvestrand-rmcat-remb-03 §2.2).

use super::{PT_PSFB, PT_RTPFB, RtcpError, be32, begin, finish, u32s};

/// Reads the common feedback header fields (RFC 4585 §6.1): sender and media SSRC, then FCI.
pub(crate) fn fb_header(body: &[u8]) -> Result<(u32, u32, &[u8]), RtcpError> {
    let sender = be32(body, 0).ok_or(RtcpError::Truncated)?;
    let media = be32(body, 4).ok_or(RtcpError::Truncated)?;
    Ok((sender, media, &body[8..]))
}

pub(crate) fn fb_begin(out: &mut Vec<u8>, fmt: u8, pt: u8, sender: u32, media: u32) -> usize {
    let start = begin(out, fmt, pt);
    out.extend_from_slice(&sender.to_be_bytes());
    out.extend_from_slice(&media.to_be_bytes());
    start
}

/// One generic NACK entry (RFC 4585 §6.2.1): a lost packet id and a bitmask of the 16
/// following packets also lost (bit i set: PID + i + 1 lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NackPair {
    /// Packet ID: the sequence number of a lost packet.
    pub pid: u16,
    /// Bitmask of following lost packets (BLP).
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, in order.
    pub fn lost(self) -> impl Iterator<Item = u16> + Clone {
        std::iter::once(self.pid).chain(
            (0..16u16)
                .filter(move |i| self.blp & (1 << i) != 0)
                .map(move |i| self.pid.wrapping_add(i + 1)),
        )
    }
}

/// A generic NACK (RFC 4585 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack<'a> {
    /// SSRC of the packet sender (the one asking).
    pub sender_ssrc: u32,
    /// SSRC of the media source whose packets are lost.
    pub media_ssrc: u32,
    fci: &'a [u8],
}

impl<'a> Nack<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Nack<'a>, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = fb_header(body)?;
        if fci.len() % 4 != 0 {
            return Err(RtcpError::Malformed("NACK FCI not a whole number of entries"));
        }
        Ok(Nack {
            sender_ssrc,
            media_ssrc,
            fci,
        })
    }

    /// The PID/BLP entries.
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = NackPair> + Clone + 'a {
        u32s(self.fci).map(|w| NackPair {
            pid: (w >> 16) as u16,
            blp: w as u16,
        })
    }

    /// Every sequence number reported lost, entry by entry (at most 17 per 4 bytes).
    pub fn lost(&self) -> impl Iterator<Item = u16> + Clone + 'a {
        self.pairs().flat_map(NackPair::lost)
    }

    /// Appends this NACK to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_nack(out, self.sender_ssrc, self.media_ssrc, self.pairs())
    }
}

/// Appends a generic NACK (RFC 4585 §6.2.1) with `pairs` as its FCI entries.
pub fn write_nack(
    out: &mut Vec<u8>,
    sender_ssrc: u32,
    media_ssrc: u32,
    pairs: impl IntoIterator<Item = NackPair>,
) -> Result<(), RtcpError> {
    let start = fb_begin(out, 1, PT_RTPFB, sender_ssrc, media_ssrc);
    for p in pairs {
        out.extend_from_slice(&p.pid.to_be_bytes());
        out.extend_from_slice(&p.blp.to_be_bytes());
    }
    finish(out, start)
}

/// Compresses lost sequence numbers into NACK entries, see [`nack_pairs`].
#[derive(Debug, Clone)]
pub struct NackPairs<'a> {
    lost: &'a [u16],
}

impl Iterator for NackPairs<'_> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        let (&pid, mut rest) = self.lost.split_first()?;
        let mut blp = 0u16;
        while let Some((&s, tail)) = rest.split_first() {
            let d = s.wrapping_sub(pid);
            if d == 0 {
                // A repeated number: already covered.
                rest = tail;
                continue;
            }
            if d > 16 {
                break;
            }
            blp |= 1 << (d - 1);
            rest = tail;
        }
        self.lost = rest;
        Some(NackPair { pid, blp })
    }
}

/// The NACK entries for `lost`, sequence numbers in sending order (ascending, wrapping at
/// 65535 → 0): each entry takes the first number left and every later one within the next
/// 16 (RFC 4585 §6.2.1). O(1) per number, no allocation.
pub fn nack_pairs(lost: &[u16]) -> NackPairs<'_> {
    NackPairs { lost }
}

/// A picture loss indication (RFC 4585 §6.3.1): no FCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pli {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source that should send a key frame.
    pub media_ssrc: u32,
}

impl Pli {
    pub(crate) fn parse(body: &[u8]) -> Result<Pli, RtcpError> {
        let (sender_ssrc, media_ssrc, _) = fb_header(body)?;
        Ok(Pli {
            sender_ssrc,
            media_ssrc,
        })
    }
}

/// Appends a PLI (RFC 4585 §6.3.1).
pub fn write_pli(out: &mut Vec<u8>, sender_ssrc: u32, media_ssrc: u32) {
    let start = fb_begin(out, 1, PT_PSFB, sender_ssrc, media_ssrc);
    // 12 bytes: always fits.
    let _ = finish(out, start);
}

/// One FIR entry (RFC 5104 §4.3.1.1): the source asked for a decoder refresh and the
/// request's command sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirEntry {
    /// The media sender asked for a key frame.
    pub ssrc: u32,
    /// Command sequence number, incremented per new request.
    pub seq_nr: u8,
}

/// A full intra request (RFC 5104 §4.3.1). Equal when the SSRCs and entries are (the
/// reserved bytes are not compared).
#[derive(Debug, Clone, Copy)]
pub struct Fir<'a> {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// Media source SSRC (unused by FIR, 0 when written by RFC 5104 rules).
    pub media_ssrc: u32,
    fci: &'a [u8],
}

impl PartialEq for Fir<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.sender_ssrc == o.sender_ssrc
            && self.media_ssrc == o.media_ssrc
            && self.entries().eq(o.entries())
    }
}

impl Eq for Fir<'_> {}

impl<'a> Fir<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Fir<'a>, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = fb_header(body)?;
        if fci.len() % 8 != 0 {
            return Err(RtcpError::Malformed("FIR FCI not a whole number of entries"));
        }
        Ok(Fir {
            sender_ssrc,
            media_ssrc,
            fci,
        })
    }

    /// The FIR entries.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = FirEntry> + Clone + 'a {
        self.fci.chunks_exact(8).map(|c| FirEntry {
            ssrc: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            seq_nr: c[4],
        })
    }

    /// Appends this FIR to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_fir(out, self.sender_ssrc, self.media_ssrc, self.entries())
    }
}

/// Appends a FIR (RFC 5104 §4.3.1) with `entries`; `media_ssrc` should be 0 (§4.3.1.2).
pub fn write_fir(
    out: &mut Vec<u8>,
    sender_ssrc: u32,
    media_ssrc: u32,
    entries: impl IntoIterator<Item = FirEntry>,
) -> Result<(), RtcpError> {
    let start = fb_begin(out, 4, PT_PSFB, sender_ssrc, media_ssrc);
    for e in entries {
        out.extend_from_slice(&e.ssrc.to_be_bytes());
        out.extend_from_slice(&[e.seq_nr, 0, 0, 0]);
    }
    finish(out, start)
}

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 §2.2): an
/// application-layer feedback message (PSFB FMT 15) whose FCI starts with "REMB".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remb<'a> {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// Media source SSRC (always 0 by the draft).
    pub media_ssrc: u32,
    /// BR Exp, 6 bits.
    pub exponent: u8,
    /// BR Mantissa, 18 bits.
    pub mantissa: u32,
    ssrcs: &'a [u8],
}

impl<'a> Remb<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Remb<'a>, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = fb_header(body)?;
        let w = be32(fci, 4).ok_or(RtcpError::Truncated)?;
        let n = (w >> 24) as usize;
        let ssrcs = fci.get(8..8 + 4 * n).ok_or(RtcpError::Truncated)?;
        Ok(Remb {
            sender_ssrc,
            media_ssrc,
            exponent: ((w >> 18) & 0x3F) as u8,
            mantissa: w & 0x3_FFFF,
            ssrcs,
        })
    }

    /// The estimate in bits per second, mantissa × 2^exponent (saturating at `u64::MAX`).
    pub fn bitrate(&self) -> u64 {
        let m = u64::from(self.mantissa);
        if m == 0 {
            return 0;
        }
        if u32::from(self.exponent) > m.leading_zeros() {
            u64::MAX
        } else {
            m << self.exponent
        }
    }

    /// The (exponent, mantissa) for `bps`: the smallest exponent whose mantissa fits 18 bits,
    /// rounding down.
    pub fn encode_bitrate(bps: u64) -> (u8, u32) {
        let bits = 64 - bps.leading_zeros();
        let exp = bits.saturating_sub(18);
        (exp as u8, (bps >> exp) as u32)
    }

    /// The SSRCs the estimate applies to.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + Clone + 'a {
        u32s(self.ssrcs)
    }

    /// Appends this REMB to `out`, with its exponent and mantissa as they are.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_remb_fields(
            out,
            self.sender_ssrc,
            self.media_ssrc,
            self.exponent,
            self.mantissa,
            self.ssrcs(),
        )
    }
}

fn write_remb_fields(
    out: &mut Vec<u8>,
    sender_ssrc: u32,
    media_ssrc: u32,
    exponent: u8,
    mantissa: u32,
    ssrcs: impl IntoIterator<Item = u32>,
) -> Result<(), RtcpError> {
    if exponent > 63 || mantissa > 0x3_FFFF {
        return Err(RtcpError::TooMany);
    }
    let start = fb_begin(out, 15, PT_PSFB, sender_ssrc, media_ssrc);
    out.extend_from_slice(b"REMB");
    let count_at = out.len();
    let w = (u32::from(exponent) << 18) | mantissa;
    out.extend_from_slice(&w.to_be_bytes());
    let mut n = 0u32;
    for s in ssrcs {
        if n == 255 {
            out.truncate(start);
            return Err(RtcpError::TooMany);
        }
        out.extend_from_slice(&s.to_be_bytes());
        n += 1;
    }
    out[count_at] = n as u8;
    finish(out, start)
}

/// Appends a REMB (draft-alvestrand-rmcat-remb-03 §2.2) announcing `bitrate_bps` (rounded
/// down to what 18 bits of mantissa carry) for up to 255 `ssrcs`.
pub fn write_remb(
    out: &mut Vec<u8>,
    sender_ssrc: u32,
    bitrate_bps: u64,
    ssrcs: impl IntoIterator<Item = u32>,
) -> Result<(), RtcpError> {
    let (exp, mantissa) = Remb::encode_bitrate(bitrate_bps);
    write_remb_fields(out, sender_ssrc, 0, exp, mantissa, ssrcs)
}
