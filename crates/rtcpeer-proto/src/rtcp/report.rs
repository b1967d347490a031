//! Sender and receiver reports with their report blocks (RFC 3550 §6.4).

use super::{MAX_COUNT, PT_RR, PT_SR, RtcpError, be32, be64, begin, finish};

const BLOCK_LEN: usize = 24;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about (SSRC_n).
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost, signed 24 bits (clamped to that range on write,
    /// RFC 3550 §A.3).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | highest).
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units (RFC 3550 §6.4.1, §A.8).
    pub jitter: u32,
    /// LSR: middle 32 bits of the last SR's NTP timestamp, 0 if none.
    pub last_sr: u32,
    /// DLSR: delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn parse(b: &[u8]) -> ReportBlock {
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let lost = w(4) & 0x00FF_FFFF;
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: w(0),
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: w(8),
            jitter: w(12),
            last_sr: w(16),
            delay_since_last_sr: w(20),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        out.extend_from_slice(&((u32::from(self.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&self.highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// The report blocks of an SR or RR, a borrowed run of 24-byte blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl<'a> ReportBlocks<'a> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.0.len() / BLOCK_LEN
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The blocks, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ReportBlock> + Clone + 'a {
        self.0.chunks_exact(BLOCK_LEN).map(ReportBlock::parse)
    }
}

/// The sender-info section of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// NTP timestamp of the report (RFC 3550 §4).
    pub ntp_time: u64,
    /// The RTP timestamp of the same instant.
    pub rtp_time: u32,
    /// Packets sent since the stream started.
    pub packet_count: u32,
    /// Payload octets sent since the stream started.
    pub octet_count: u32,
}

/// A sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// The sender info.
    pub info: SenderInfo,
    /// The reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension after the blocks (kept raw).
    pub extension: &'a [u8],
}

/// A receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// The reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension after the blocks (kept raw).
    pub extension: &'a [u8],
}

fn blocks(count: u8, b: &[u8]) -> Result<(ReportBlocks<'_>, &[u8]), RtcpError> {
    let n = usize::from(count) * BLOCK_LEN;
    let blocks = b.get(..n).ok_or(RtcpError::Truncated)?;
    Ok((ReportBlocks(blocks), &b[n..]))
}

impl<'a> SenderReport<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<SenderReport<'a>, RtcpError> {
        let info = SenderInfo {
            ssrc: be32(body, 0).ok_or(RtcpError::Truncated)?,
            ntp_time: be64(body, 4).ok_or(RtcpError::Truncated)?,
            rtp_time: be32(body, 12).ok_or(RtcpError::Truncated)?,
            packet_count: be32(body, 16).ok_or(RtcpError::Truncated)?,
            octet_count: be32(body, 20).ok_or(RtcpError::Truncated)?,
        };
        let (reports, extension) = blocks(count, &body[24..])?;
        Ok(SenderReport {
            info,
            reports,
            extension,
        })
    }

    /// Appends this report to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_sender_report(out, &self.info, self.reports.iter(), self.extension)
    }
}

impl<'a> ReceiverReport<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<ReceiverReport<'a>, RtcpError> {
        let ssrc = be32(body, 0).ok_or(RtcpError::Truncated)?;
        let (reports, extension) = blocks(count, &body[4..])?;
        Ok(ReceiverReport {
            ssrc,
            reports,
            extension,
        })
    }

    /// Appends this report to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_receiver_report(out, self.ssrc, self.reports.iter(), self.extension)
    }
}

fn write_blocks(
    out: &mut Vec<u8>,
    start: usize,
    reports: impl IntoIterator<Item = ReportBlock>,
) -> Result<(), RtcpError> {
    let mut n = 0u8;
    for r in reports {
        if usize::from(n) == MAX_COUNT {
            out.truncate(start);
            return Err(RtcpError::TooMany);
        }
        r.write(out);
        n += 1;
    }
    out[start] |= n;
    Ok(())
}

/// Appends a sender report (RFC 3550 §6.4.1) with up to 31 report blocks and an optional
/// profile-specific extension. On error `out` is left as it was.
pub fn write_sender_report(
    out: &mut Vec<u8>,
    info: &SenderInfo,
    reports: impl IntoIterator<Item = ReportBlock>,
    extension: &[u8],
) -> Result<(), RtcpError> {
    let start = begin(out, 0, PT_SR);
    out.extend_from_slice(&info.ssrc.to_be_bytes());
    out.extend_from_slice(&info.ntp_time.to_be_bytes());
    out.extend_from_slice(&info.rtp_time.to_be_bytes());
    out.extend_from_slice(&info.packet_count.to_be_bytes());
    out.extend_from_slice(&info.octet_count.to_be_bytes());
    write_blocks(out, start, reports)?;
    out.extend_from_slice(extension);
    finish(out, start)
}

/// Appends a receiver report (RFC 3550 §6.4.2) with up to 31 report blocks and an optional
/// profile-specific extension. On error `out` is left as it was.
pub fn write_receiver_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    reports: impl IntoIterator<Item = ReportBlock>,
    extension: &[u8],
) -> Result<(), RtcpError> {
    let start = begin(out, 0, PT_RR);
    out.extend_from_slice(&ssrc.to_be_bytes());
    write_blocks(out, start, reports)?;
    out.extend_from_slice(extension);
    finish(out, start)
}
