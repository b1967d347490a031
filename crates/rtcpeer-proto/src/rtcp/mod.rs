//! RTCP wire format: compound packets (RFC 3550 §6.1) and reduced-size RTCP (RFC 5506) as an
//! iterator of borrowed, validated views ([`RtcpPacket`]): SR, RR, SDES, BYE, APP (RFC 3550
//! §6.4–6.7), generic NACK and PLI (RFC 4585 §6.2.1, §6.3.1), FIR (RFC 5104 §4.3.1), REMB
//! (draft-alvestrand-rmcat-remb), transport-wide congestion-control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), XR RRTR/DLRR (RFC 3611 §4.4,
//! §4.5); writers for each, the NACK and TWCC feedback builders, and NTP time helpers.
//!
//! This is the codec layer only: no session state. Parsing never allocates; every length and
//! count is checked against the bytes present (a hostile count cannot make a walk longer
//! than the packet). Writers append to a caller-owned `Vec<u8>` and fill the length fields.

mod feedback;
mod ntp;
mod report;
mod sdes;
mod twcc;
mod xr;

#[cfg(test)]
mod tests;

use std::fmt;

pub use feedback::{
    Fir, FirEntry, Nack, NackPair, NackPairs, Pli, Remb, nack_pairs, write_fir, write_nack,
    write_pli, write_remb,
};
pub use ntp::{
    NTP_UNIX_OFFSET_SECS, compact_ntp, compact_to_duration, duration_to_compact, ntp_from_unix,
    ntp_to_unix, round_trip_time,
};
pub use report::{
    ReceiverReport, ReportBlock, ReportBlocks, SenderInfo, SenderReport, write_receiver_report,
    write_sender_report,
};
pub use sdes::{
    App, Bye, Sdes, SdesChunk, SdesItem, SdesWriter, write_app, write_bye, write_sdes_cname,
};
pub use twcc::{
    TWCC_DELTA_US, TWCC_REFERENCE_US, TransportCc, TwccArrival, TwccStatus,
    write_twcc_feedback,
};
pub use xr::{DlrrItem, Xr, XrBlock, XrWriter};

/// RTCP packet type of a sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// RTCP packet type of a receiver report (RFC 3550 §6.4.2).
pub const PT_RR: u8 = 201;
/// RTCP packet type of source description (RFC 3550 §6.5).
pub const PT_SDES: u8 = 202;
/// RTCP packet type of goodbye (RFC 3550 §6.6).
pub const PT_BYE: u8 = 203;
/// RTCP packet type of application-defined packets (RFC 3550 §6.7).
pub const PT_APP: u8 = 204;
/// Transport-layer feedback (RFC 4585 §6.2).
pub const PT_RTPFB: u8 = 205;
/// Payload-specific feedback (RFC 4585 §6.3).
pub const PT_PSFB: u8 = 206;
/// Extended reports (RFC 3611 §2).
pub const PT_XR: u8 = 207;

/// Most report blocks, SDES chunks or BYE sources in one packet: the count field is 5 bits
/// (RFC 3550 §6.4.1).
pub const MAX_COUNT: usize = 31;

/// Why RTCP could not be parsed or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpError {
    /// Fewer bytes than a header, length field or count announces (RFC 3550 §6.4.1).
    Truncated,
    /// The version field is not 2 (RFC 3550 §6.4.1).
    BadVersion(u8),
    /// The padding count is 0 or larger than the packet body (RFC 3550 §6.4.1).
    BadPadding,
    /// A packet whose content breaks its format; the text names what.
    Malformed(&'static str),
    /// More items than the packet's count field can say (31), or a field value out of range.
    TooMany,
    /// A packet longer than its 16-bit length field can say, or a text item over 255 bytes.
    TooLong,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpError::Truncated => f.write_str("truncated RTCP packet"),
            RtcpError::BadVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            RtcpError::BadPadding => f.write_str("bad RTCP padding length"),
            RtcpError::Malformed(what) => write!(f, "malformed RTCP: {what}"),
            RtcpError::TooMany => f.write_str("too many items for one RTCP packet"),
            RtcpError::TooLong => f.write_str("RTCP packet or item too long"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// A packet of a type (or feedback format) this codec does not decode, kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unknown<'a> {
    /// The packet type (PT).
    pub packet_type: u8,
    /// The 5-bit count / format field.
    pub count: u8,
    /// The bytes after the 4-byte header, without padding.
    pub body: &'a [u8],
}

/// One packet of a compound (or reduced-size) RTCP datagram, a borrowed view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report (RFC 3550 §6.4.1).
    SenderReport(SenderReport<'a>),
    /// Receiver report (RFC 3550 §6.4.2).
    ReceiverReport(ReceiverReport<'a>),
    /// Source description (RFC 3550 §6.5).
    Sdes(Sdes<'a>),
    /// Goodbye (RFC 3550 §6.6).
    Bye(Bye<'a>),
    /// Application-defined (RFC 3550 §6.7).
    App(App<'a>),
    /// Generic NACK (RFC 4585 §6.2.1).
    Nack(Nack<'a>),
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli(Pli),
    /// Full intra request (RFC 5104 §4.3.1).
    Fir(Fir<'a>),
    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb §2.2).
    Remb(Remb<'a>),
    /// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
    TransportCc(TransportCc<'a>),
    /// Extended report (RFC 3611).
    Xr(Xr<'a>),
    /// Any other packet type or feedback format.
    Unknown(Unknown<'a>),
}

/// Reads a big-endian u16 at `at`, `None` past the end.
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian u32 at `at`, `None` past the end.
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a big-endian u64 at `at`, `None` past the end.
pub(crate) fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some((u64::from(be32(b, at)?) << 32) | u64::from(be32(b, at + 4)?))
}

/// Starts a packet: header with `count` (5 bits) and `pt`, length filled by [`finish`].
pub(crate) fn begin(out: &mut Vec<u8>, count: u8, pt: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count & 0x1F), pt, 0, 0]);
    start
}

/// Ends the packet started at `start`: pads to 32 bits with RTCP padding (P bit, last byte
/// the count, RFC 3550 §6.4.1) when the body is not aligned, and fills the length field.
/// On error the packet is removed from `out`.
pub(crate) fn finish(out: &mut Vec<u8>, start: usize) -> Result<(), RtcpError> {
    let rem = (out.len() - start) % 4;
    if rem != 0 {
        let pad = 4 - rem;
        out.resize(out.len() + pad - 1, 0);
        out.push(pad as u8);
        out[start] |= 0x20;
    }
    let words = (out.len() - start) / 4 - 1;
    let Ok(words) = u16::try_from(words) else {
        out.truncate(start);
        return Err(RtcpError::TooLong);
    };
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

fn u32s(b: &[u8]) -> impl ExactSizeIterator<Item = u32> + Clone + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
}

impl<'a> RtcpPacket<'a> {
    /// Parses the first RTCP packet of `data`; returns it and its length on the wire
    /// (padding included). Checks the version, the length field against `data`, the padding,
    /// and the packet's own layout.
    pub fn parse(data: &'a [u8]) -> Result<(RtcpPacket<'a>, usize), RtcpError> {
        let b0 = *data.first().ok_or(RtcpError::Truncated)?;
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let pt = *data.get(1).ok_or(RtcpError::Truncated)?;
        let words = be16(data, 2).ok_or(RtcpError::Truncated)?;
        let total = (usize::from(words) + 1) * 4;
        let packet = data.get(..total).ok_or(RtcpError::Truncated)?;
        let mut body = &packet[4..];
        if b0 & 0x20 != 0 {
            let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding)?);
            if pad == 0 || pad > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - pad];
        }
        let count = b0 & 0x1F;
        let p = match pt {
            PT_SR => RtcpPacket::SenderReport(SenderReport::parse(count, body)?),
            PT_RR => RtcpPacket::ReceiverReport(ReceiverReport::parse(count, body)?),
            PT_SDES => RtcpPacket::Sdes(Sdes::parse(count, body)?),
            PT_BYE => RtcpPacket::Bye(Bye::parse(count, body)?),
            PT_APP => RtcpPacket::App(App::parse(count, body)?),
            PT_RTPFB if count == 1 => RtcpPacket::Nack(Nack::parse(body)?),
            PT_RTPFB if count == 15 => RtcpPacket::TransportCc(TransportCc::parse(body)?),
            PT_PSFB if count == 1 => RtcpPacket::Pli(Pli::parse(body)?),
            PT_PSFB if count == 4 => RtcpPacket::Fir(Fir::parse(body)?),
            PT_PSFB if count == 15 && body.get(8..12) == Some(b"REMB") => {
                RtcpPacket::Remb(Remb::parse(body)?)
            }
            PT_XR => RtcpPacket::Xr(Xr::parse(body)?),
            _ => {
                if matches!(pt, PT_RTPFB | PT_PSFB) && body.len() < 8 {
                    return Err(RtcpError::Truncated);
                }
                RtcpPacket::Unknown(Unknown {
                    packet_type: pt,
                    count,
                    body,
                })
            }
        };
        Ok((p, total))
    }

    /// Appends this packet to `out` (a compound is its packets one after another). What
    /// parses writes back to bytes that parse to an equal value.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        match self {
            RtcpPacket::SenderReport(p) => p.write_to(out),
            RtcpPacket::ReceiverReport(p) => p.write_to(out),
            RtcpPacket::Sdes(p) => p.write_to(out),
            RtcpPacket::Bye(p) => p.write_to(out),
            RtcpPacket::App(p) => p.write_to(out),
            RtcpPacket::Nack(p) => p.write_to(out),
            RtcpPacket::Pli(p) => {
                write_pli(out, p.sender_ssrc, p.media_ssrc);
                Ok(())
            }
            RtcpPacket::Fir(p) => p.write_to(out),
            RtcpPacket::Remb(p) => p.write_to(out),
            RtcpPacket::TransportCc(p) => p.write_to(out),
            RtcpPacket::Xr(p) => p.write_to(out),
            RtcpPacket::Unknown(u) => {
                let start = begin(out, u.count, u.packet_type);
                out.extend_from_slice(u.body);
                finish(out, start)
            }
        }
    }
}

/// The packets of one RTCP datagram, compound (RFC 3550 §6.1) or reduced-size (RFC 5506 §3):
/// the first malformed packet yields one error and ends the walk. Any packet may come
/// first (reduced-size RTCP).
#[derive(Debug, Clone)]
pub struct RtcpPackets<'a> {
    rest: &'a [u8],
}

impl<'a> RtcpPackets<'a> {
    /// The walk over `datagram`.
    pub fn new(datagram: &'a [u8]) -> RtcpPackets<'a> {
        RtcpPackets { rest: datagram }
    }
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match RtcpPacket::parse(self.rest) {
            Ok((p, len)) => {
                self.rest = &self.rest[len..];
                Some(Ok(p))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The packets of an RTCP datagram; see [`RtcpPackets`].
pub fn parse_compound(datagram: &[u8]) -> RtcpPackets<'_> {
    RtcpPackets::new(datagram)
}
