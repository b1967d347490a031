//! RTP wire format (RFC 3550 §5.1): a borrowed, validated packet view ([`RtpPacket`]), header
//! extensions in both RFC 8285 forms with typed values for the extensions WebRTC negotiates
//! ([`ExtensionMap`], [`Extensions`]), a header writer ([`RtpHeader`]), the RTX payload prefix
//! (RFC 4588 §4) and sequence-number unwrapping ([`SeqUnwrapper`]).
//!
//! The per-stream state of the RTP session built on it (statistics, NACK, routing, TWCC
//! feedback, report timing) is in [`session`].
//!
//! The codec layer keeps no session state. Parsing never allocates and never reads
//! outside the datagram; writing appends to a caller-owned `Vec<u8>` (no allocation when it
//! has the capacity).

mod ext;
mod header;
mod packet;
mod seq;
pub mod session;

#[cfg(test)]
pub(crate) mod tests;

pub use ext::{
    ABS_CAPTURE_TIME, AbsCaptureTime, AudioLevel, ExtensionElement, ExtensionIter,
    ExtensionKind, ExtensionMap, Extensions, PlayoutDelay, VideoOrientation,
    abs_send_time_from_ntp, is_valid_mid, is_valid_rid, write_extension_block,
};
pub use header::{HeaderExtensions, Padding, RtpHeader, write_rtx_payload};
pub use packet::{ExtensionBlock, RtpError, RtpPacket, read_rtx_payload};
pub use seq::SeqUnwrapper;

/// The RTP version this codec reads and writes (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Size of the fixed RTP header, without CSRCs or extensions (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;
/// Most CSRCs a header can list: the CC field is 4 bits (RFC 3550 §5.1).
pub const MAX_CSRCS: usize = 15;
/// The profile of the one-byte header-extension form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The profile of the two-byte header-extension form, `0x100` then 4 "appbits" (RFC 8285 §4.3).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
