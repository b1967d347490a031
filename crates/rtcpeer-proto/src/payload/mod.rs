//! RTP payload formats: from an encoded frame to RTP payloads and back.
//!
//! Packetization and depacketization only (no encoding, no RTP header): the RTP header
//! fields this module needs — the extended sequence number, the timestamp and the marker
//! bit — are plain arguments. Formats: Opus (RFC 7587), PCMU/PCMA and G.722 (RFC 3551),
//! VP8 (RFC 7741), VP9 (RFC 9628), H.264 (RFC 6184, packetization-mode 0 and 1) and AV1
//! (AOMedia "RTP Payload Format for AV1", v1.0.0).
//!
//! - [`Packetizer`]: one encoded frame and a maximum payload size give the frame's payloads,
//!   written one at a time into a caller buffer ([`FramePayloads::next_into`]), the last one
//!   flagged for the marker bit. Nothing is allocated per packet.
//! - [`ReorderBuffer`]: a bounded reorder (jitter) buffer keyed by extended sequence number;
//!   it releases packets in order and gives up on a hole after a packet count or a wait.
//! - [`Depacketizer`]: fed in-order payloads, gives back complete frames (Annex-B for H.264,
//!   OBUs with size fields for AV1) and whether each is a keyframe; a lost packet drops the
//!   partial frame and says so, so the caller can send NACK or PLI.
//!
//! The format of a negotiated codec comes from [`PayloadFormat::from_codec`], which reads the
//! codec identity (encoding name, `packetization-mode`) of the SDP negotiation in
//! [`crate::codecs`].

mod av1;
mod h264;
mod reorder;
mod vp8;
mod vp9;

#[cfg(test)]
mod tests;

pub use reorder::{Released, ReorderBuffer, ReorderConfig, ReorderCounters, ReorderInsert};

use crate::codecs::RtpCodecParameters;

/// Default cap on the size of one assembled frame (4 MiB): a remote peer controls how many
/// packets a frame spans.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 4 << 20;

/// The largest frame cap a [`Depacketizer`] accepts (AV1 OBU sizes are rewritten as LEB128
/// of at most four bytes, so frames stay below 2^28 bytes).
pub const MAX_FRAME_BYTES_LIMIT: usize = (1 << 28) - 1;

/// Why a frame could not be packetized or a payload could not be depacketized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// The maximum payload size leaves no room for the format's payload descriptor.
    MaxPayloadTooSmall,
    /// The caller's buffer is shorter than the packetizer's maximum payload size.
    BufferTooSmall,
    /// The frame or payload is empty.
    Empty,
    /// A unit that cannot be fragmented (an audio frame, an H.264 NAL unit in
    /// packetization-mode 0) is larger than the maximum payload size.
    TooLarge,
    /// The frame's framing is invalid (no Annex-B start code, a bad OBU size).
    InvalidFrame,
    /// The payload ends inside a descriptor or an aggregated unit.
    Truncated,
    /// The payload contradicts its format (bad fragment sequence, reserved values).
    Malformed,
    /// A packetization the format allows but rtcpeer does not negotiate (H.264 STAP-B,
    /// MTAP, FU-B: packetization-mode 2, RFC 6184 §6.4).
    Unsupported,
    /// The assembled frame would exceed the depacketizer's frame cap.
    FrameTooLarge,
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PayloadError::MaxPayloadTooSmall => "maximum payload size too small for the format",
            PayloadError::BufferTooSmall => "buffer shorter than the maximum payload size",
            PayloadError::Empty => "empty frame or payload",
            PayloadError::TooLarge => "unit larger than the maximum payload size",
            PayloadError::InvalidFrame => "invalid frame framing",
            PayloadError::Truncated => "truncated payload",
            PayloadError::Malformed => "malformed payload",
            PayloadError::Unsupported => "unsupported packetization",
            PayloadError::FrameTooLarge => "frame larger than the frame cap",
        })
    }
}

impl std::error::Error for PayloadError {}

/// An RTP payload format: how frames of one negotiated codec map to RTP payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// Opus (RFC 7587): one Opus packet per RTP payload, 48 kHz clock.
    Opus,
    /// PCMU, G.711 µ-law (RFC 3551 §4.5.14): one octet per sample, 8 kHz clock.
    Pcmu,
    /// PCMA, G.711 A-law (RFC 3551 §4.5.14): one octet per sample, 8 kHz clock.
    Pcma,
    /// G.722 (RFC 3551 §4.5.2): 16 kHz audio, two samples per octet, but an 8000 Hz RTP
    /// clock, so one octet is one timestamp tick.
    G722,
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184) in packetization-mode 0 (single NAL unit only, `false`) or 1
    /// (non-interleaved: single NAL, STAP-A and FU-A, `true`).
    H264 {
        /// Packetization-mode 1 (RFC 6184 §6.3) rather than 0 (§6.2).
        non_interleaved: bool,
    },
    /// AV1 (AOMedia RTP payload format).
    Av1,
}

impl PayloadFormat {
    /// The payload format of a negotiated codec, from its encoding name and, for H.264, its
    /// `packetization-mode` (RFC 6184 §8.1; absent means 0). `None` for codecs that carry no
    /// frames of their own (RTX, RED, FEC, CN, telephone-event) or are unknown.
    pub fn from_codec(codec: &RtpCodecParameters) -> Option<Self> {
        let name = codec.encoding_name();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        Some(if is("opus") {
            PayloadFormat::Opus
        } else if is("PCMU") {
            PayloadFormat::Pcmu
        } else if is("PCMA") {
            PayloadFormat::Pcma
        } else if is("G722") {
            PayloadFormat::G722
        } else if is("VP8") {
            PayloadFormat::Vp8
        } else if is("VP9") {
            PayloadFormat::Vp9
        } else if is("AV1") {
            PayloadFormat::Av1
        } else if is("H264") {
            let mode = crate::codecs::parameters::fmtp_get(
                codec.sdp_fmtp_line.as_deref(),
                "packetization-mode",
            );
            match mode.unwrap_or("0") {
                "0" => PayloadFormat::H264 {
                    non_interleaved: false,
                },
                "1" => PayloadFormat::H264 {
                    non_interleaved: true,
                },
                _ => return None,
            }
        } else {
            return None;
        })
    }

    /// Whether this is an audio format: one frame per payload, never fragmented.
    pub fn is_audio(self) -> bool {
        matches!(
            self,
            PayloadFormat::Opus | PayloadFormat::Pcmu | PayloadFormat::Pcma | PayloadFormat::G722
        )
    }

    /// The RTP clock rate (RFC 7587 §4.1: 48000 for Opus; RFC 3551 §4.5.2: 8000 for G.722
    /// although it samples at 16 kHz; 90000 for video).
    pub fn clock_rate(self) -> u32 {
        match self {
            PayloadFormat::Opus => 48000,
            PayloadFormat::Pcmu | PayloadFormat::Pcma | PayloadFormat::G722 => 8000,
            _ => 90000,
        }
    }

    /// How many RTP timestamp ticks an audio frame lasts: its octet count for G.711 and
    /// G.722 (RFC 3551 §4.5.2, §4.5.14), the TOC's frame duration times the frame count for
    /// Opus (RFC 6716 §3.1–3.2). `None` for video or a malformed Opus packet.
    pub fn audio_duration_ticks(self, frame: &[u8]) -> Option<u32> {
        match self {
            PayloadFormat::Pcmu | PayloadFormat::Pcma | PayloadFormat::G722 => {
                u32::try_from(frame.len()).ok()
            }
            PayloadFormat::Opus => opus_duration_ticks(frame),
            _ => None,
        }
    }
}

/// Duration of an Opus packet in 48 kHz ticks (RFC 6716 §3.1 TOC byte, §3.2 frame count).
pub(crate) fn opus_duration_ticks(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let per_frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    // §3.2.5: at most 120 ms of audio in one packet, and at least one frame.
    let total = per_frame * count;
    (count > 0 && total <= 5760).then_some(total)
}

/// Cuts frames into RTP payloads for one payload format and maximum payload size; keeps the
/// state that runs across frames (the VP8/VP9 PictureID).
#[derive(Debug, Clone)]
pub struct Packetizer {
    format: PayloadFormat,
    max_payload: usize,
    picture_id: u16,
}

/// What [`FramePayloads::next_into`] wrote: the payload is `out[..len]`; `marker` says the
/// RTP marker bit goes on this packet (the last packet of a video frame, RFC 7741 §4.1,
/// RFC 6184 §5.1, RFC 9628 §4.1, AV1 RTP §4.1; audio frames leave it to the sender,
/// which sets it at the start of a talkspurt, RFC 3551 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadInfo {
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// Whether this payload's RTP packet carries the marker bit.
    pub marker: bool,
}

impl Packetizer {
    /// A packetizer writing payloads of at most `max_payload` bytes (the MTU minus IP, UDP,
    /// SRTP and RTP header overhead). Errors when the format's descriptor leaves no room.
    pub fn new(format: PayloadFormat, max_payload: usize) -> Result<Self, PayloadError> {
        let min = match format {
            PayloadFormat::Vp8 => vp8::DESCRIPTOR_LEN + 1,
            PayloadFormat::Vp9 => vp9::MAX_DESCRIPTOR_LEN + 1,
            PayloadFormat::H264 { .. } => h264::FU_HEADER_LEN + 1,
            PayloadFormat::Av1 => av1::MIN_PAYLOAD,
            _ => 1,
        };
        if max_payload < min {
            return Err(PayloadError::MaxPayloadTooSmall);
        }
        Ok(Packetizer {
            format,
            max_payload,
            picture_id: 0,
        })
    }

    /// The payload format.
    pub fn format(&self) -> PayloadFormat {
        self.format
    }

    /// The maximum payload size: every payload fits in a buffer of this many bytes.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Sets the PictureID of the next VP8/VP9 frame (15 bits; RFC 7741 §4.2 and RFC 9628
    /// §4.2 suggest a random start).
    pub fn set_picture_id(&mut self, picture_id: u16) {
        self.picture_id = picture_id & 0x7fff;
    }

    /// Starts packetizing one encoded frame: an Opus/G.711/G.722 frame, a VP8 or VP9 frame,
    /// an H.264 access unit in Annex-B byte-stream format (ITU-T H.264 Annex B), or an AV1
    /// temporal unit in low-overhead bitstream format (AV1 §5.2). The frame is checked here,
    /// so a frame that cannot be sent fails before its first payload.
    pub fn packetize<'a>(&'a mut self, frame: &'a [u8]) -> Result<FramePayloads<'a>, PayloadError> {
        if frame.is_empty() {
            return Err(PayloadError::Empty);
        }
        let max = self.max_payload;
        let state = match self.format {
            f if f.is_audio() => {
                if frame.len() > max {
                    return Err(PayloadError::TooLarge);
                }
                if f == PayloadFormat::Opus && opus_duration_ticks(frame).is_none() {
                    return Err(PayloadError::InvalidFrame);
                }
                State::Audio { done: false }
            }
            PayloadFormat::Vp8 => {
                let pid = self.picture_id;
                self.picture_id = (pid + 1) & 0x7fff;
                State::Vp8(vp8::Packetizer::new(frame, pid))
            }
            PayloadFormat::Vp9 => {
                let pid = self.picture_id;
                self.picture_id = (pid + 1) & 0x7fff;
                State::Vp9(vp9::Packetizer::new(frame, pid))
            }
            PayloadFormat::H264 { non_interleaved } => {
                State::H264(h264::Packetizer::new(frame, non_interleaved, max)?)
            }
            _ => State::Av1(av1::Packetizer::new(frame)?),
        };
        Ok(FramePayloads {
            frame,
            max,
            state,
        })
    }
}

/// The payloads of one frame, written one by one with [`next_into`](Self::next_into).
#[derive(Debug)]
pub struct FramePayloads<'a> {
    frame: &'a [u8],
    max: usize,
    state: State<'a>,
}

#[derive(Debug)]
enum State<'a> {
    Audio { done: bool },
    Vp8(vp8::Packetizer),
    Vp9(vp9::Packetizer),
    H264(h264::Packetizer<'a>),
    Av1(av1::Packetizer<'a>),
}

impl FramePayloads<'_> {
    /// Writes the next payload at the start of `out` (at least
    /// [`max_payload`](Packetizer::max_payload) bytes long) and says how long it is and
    /// whether it carries the marker; `Ok(None)` once the frame is done.
    pub fn next_into(&mut self, out: &mut [u8]) -> Result<Option<PayloadInfo>, PayloadError> {
        let Some(out) = out.get_mut(..self.max) else {
            return Err(PayloadError::BufferTooSmall);
        };
        Ok(match &mut self.state {
            State::Audio { done } => {
                if *done {
                    None
                } else {
                    *done = true;
                    let n = self.frame.len();
                    out.get_mut(..n)
                        .ok_or(PayloadError::TooLarge)?
                        .copy_from_slice(self.frame);
                    Some(PayloadInfo {
                        len: n,
                        marker: false,
                    })
                }
            }
            State::Vp8(p) => p.next(self.frame, out),
            State::Vp9(p) => p.next(self.frame, out),
            State::H264(p) => p.next(out)?,
            State::Av1(p) => p.next(out)?,
        })
    }
}

/// Caps and options of a [`Depacketizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepacketizerConfig {
    /// The largest frame assembled; a bigger one is dropped (default
    /// [`DEFAULT_MAX_FRAME_BYTES`], at most [`MAX_FRAME_BYTES_LIMIT`]).
    pub max_frame_bytes: usize,
}

impl Default for DepacketizerConfig {
    fn default() -> Self {
        DepacketizerConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// A complete frame given back by the [`Depacketizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The frame: Opus/G.711/G.722/VP8 bytes as encoded, one VP9 (layer) frame (from B to
    /// E: with spatial layers, each layer's frame comes separately, same timestamp), an
    /// H.264 access unit in Annex-B format (four-byte start codes), an AV1 temporal unit in
    /// low-overhead format (every OBU with `obu_has_size_field` = 1, no temporal delimiter
    /// or tile list).
    pub data: &'a [u8],
    /// The RTP timestamp of its packets.
    pub timestamp: u32,
    /// Whether a decoder can start here (audio frames always can).
    pub keyframe: bool,
    /// Extended sequence number of its first packet.
    pub first_seq: u64,
    /// Extended sequence number of its last packet.
    pub last_seq: u64,
}

/// The outcome of one [`Depacketizer::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed<'a> {
    /// The frame this payload completed.
    pub frame: Option<Frame<'a>>,
    /// A partial frame was dropped (a packet of it is lost, or this payload was bad): ask
    /// for a retransmission or a keyframe (RFC 4585 §6.2–6.3).
    pub dropped_frame: bool,
    /// Packets missing between the previous payload and this one.
    pub lost_packets: u64,
    /// Why this payload was discarded, if it was.
    pub error: Option<PayloadError>,
}

/// Counters of a [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepacketizerCounters {
    /// Frames given back.
    pub frames: u64,
    /// Partial frames dropped.
    pub dropped_frames: u64,
    /// Payloads discarded as malformed or over a cap.
    pub bad_payloads: u64,
    /// Payloads discarded because their frame's start is lost (waiting for a frame start).
    pub skipped_payloads: u64,
    /// Payloads at or before a sequence number already seen.
    pub old_payloads: u64,
}

/// Assembles frames from in-order payloads of one RTP stream (put a [`ReorderBuffer`] in
/// front of it). Never gives back a frame with a missing or bad packet: such a frame is
/// dropped and reported in [`Pushed::dropped_frame`].
///
/// A frame begins at a payload that says so (VP8 S=1 with PID 0, VP9 B, AV1 N) or at the
/// payload after a frame's end (marker, VP9 E) or after a change of timestamp without a
/// gap. After a gap, payloads are skipped until one of these. H.264 and AV1 payloads
/// without N cannot say they begin a frame, so after a loss the next frame of those formats
/// may be skipped too; the stream's first H.264 payload is trusted to begin a unit when its
/// first NAL unit is an AUD, an SPS or a slice with first_mb_in_slice = 0.
#[derive(Debug)]
pub struct Depacketizer {
    format: PayloadFormat,
    max_frame: usize,
    buf: Vec<u8>,
    keyframe: bool,
    in_frame: bool,
    /// The next contiguous payload begins a frame (the previous one ended one).
    synced: bool,
    last_seq: Option<u64>,
    frame_ts: u32,
    /// The timestamp of the last payload.
    last_ts: Option<u32>,
    first_seq: u64,
    codec: CodecState,
    counters: DepacketizerCounters,
}

/// Per-codec assembly state within one frame.
#[derive(Debug, Clone, Copy, Default)]
struct CodecState {
    h264: h264::Assembly,
    av1: av1::Assembly,
}

/// What a codec's payload parser says about one payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PayloadHead {
    /// `Some(true)`: this payload certainly begins a frame; `Some(false)`: it certainly
    /// does not; `None`: the format cannot tell.
    pub begins: Option<bool>,
    /// The frame ends with this payload even without the marker (VP9 E bit).
    pub ends: bool,
    /// Whether the frame this payload begins is a keyframe (read from a beginning payload).
    pub keyframe: bool,
    /// Where the codec data starts after the payload descriptor.
    pub body: usize,
}

/// The frame being assembled, with its cap.
pub(crate) struct FrameBuf<'a> {
    pub data: &'a mut Vec<u8>,
    pub max: usize,
    pub keyframe: &'a mut bool,
}

impl FrameBuf<'_> {
    /// Appends bytes, failing past the frame cap.
    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), PayloadError> {
        if self.data.len().saturating_add(bytes.len()) > self.max {
            return Err(PayloadError::FrameTooLarge);
        }
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    /// Whether `n` more bytes stay within the cap.
    pub fn room(&self, n: usize) -> Result<(), PayloadError> {
        if self.data.len().saturating_add(n) > self.max {
            return Err(PayloadError::FrameTooLarge);
        }
        Ok(())
    }
}

impl Depacketizer {
    /// A depacketizer for one stream of `format` with the given caps (a frame cap above
    /// [`MAX_FRAME_BYTES_LIMIT`] is lowered to it).
    pub fn new(format: PayloadFormat, config: DepacketizerConfig) -> Self {
        Depacketizer {
            format,
            max_frame: config.max_frame_bytes.min(MAX_FRAME_BYTES_LIMIT),
            buf: Vec::new(),
            keyframe: false,
            in_frame: false,
            synced: false,
            last_seq: None,
            frame_ts: 0,
            last_ts: None,
            first_seq: 0,
            codec: CodecState::default(),
            counters: DepacketizerCounters::default(),
        }
    }

    /// The payload format.
    pub fn format(&self) -> PayloadFormat {
        self.format
    }

    /// The counters so far.
    pub fn counters(&self) -> DepacketizerCounters {
        self.counters
    }

    /// Whether a partial frame is held.
    pub fn has_partial_frame(&self) -> bool {
        self.in_frame
    }

    fn drop_partial(&mut self) -> bool {
        self.synced = false;
        if self.in_frame {
            self.in_frame = false;
            self.buf.clear();
            self.counters.dropped_frames += 1;
            true
        } else {
            false
        }
    }

    /// Feeds one payload with its RTP extended sequence number, timestamp and marker bit, in
    /// sequence order (a payload at or before the last one is ignored and counted). A gap
    /// in sequence numbers is a loss: the partial frame is dropped. A frame is complete at
    /// the marker bit (or the VP9 E bit); a payload with a new timestamp while a frame is
    /// open ends that frame as incomplete.
    pub fn push(&mut self, seq: u64, timestamp: u32, marker: bool, payload: &[u8]) -> Pushed<'_> {
        let mut out = Pushed {
            frame: None,
            dropped_frame: false,
            lost_packets: 0,
            error: None,
        };
        let first_payload = self.last_seq.is_none();
        if let Some(last) = self.last_seq {
            if seq <= last {
                self.counters.old_payloads += 1;
                return out;
            }
            out.lost_packets = seq - last - 1;
        }
        self.last_seq = Some(seq);
        let new_timestamp = self.last_ts.replace(timestamp) != Some(timestamp);
        if out.lost_packets > 0 {
            out.dropped_frame |= self.drop_partial();
        } else if new_timestamp && !first_payload {
            // Contiguous with a payload of another timestamp: the first of its frame (the
            // previous frame, if still open, lost nothing but its marker).
            out.dropped_frame |= self.drop_partial();
            self.synced = true;
        }
        if self.format.is_audio() {
            return self.push_audio(seq, timestamp, payload, out);
        }
        // H.264 cannot tell a unit's start for sure (an SPS may come before the first
        // slice in an earlier packet): its guess is used for the stream's first payload
        // only; after that, the marker, a new timestamp or a gap end a unit.
        let precise_start = !matches!(self.format, PayloadFormat::H264 { .. });
        let head = match self.parse_head(payload) {
            Ok(h) if !precise_start && !first_payload => PayloadHead {
                begins: h.begins.filter(|b| !b),
                ..h
            },
            Ok(h) => h,
            Err(e) => {
                out.dropped_frame |= self.drop_partial();
                self.counters.bad_payloads += 1;
                out.error = Some(e);
                return out;
            }
        };
        // VP8 and VP9 mark exactly the first payload of a (layer) frame: another one means
        // the open frame lost its end. (AV1 senders set N on more than one payload of a
        // unit, GStreamer on the temporal delimiter's and the sequence header's.)
        let exact_start = matches!(self.format, PayloadFormat::Vp8 | PayloadFormat::Vp9);
        if self.in_frame && exact_start && head.begins == Some(true) {
            out.dropped_frame |= self.drop_partial();
        }
        if !self.in_frame {
            let starts =
                head.begins == Some(true) || (self.synced && head.begins != Some(false));
            if !starts {
                self.counters.skipped_payloads += 1;
                self.synced = marker || head.ends;
                return out;
            }
            self.in_frame = true;
            self.buf.clear();
            self.keyframe = head.keyframe;
            self.frame_ts = timestamp;
            self.first_seq = seq;
            self.codec = CodecState::default();
        }
        let body = payload.get(head.body..).unwrap_or_default();
        let mut fb = FrameBuf {
            data: &mut self.buf,
            max: self.max_frame,
            keyframe: &mut self.keyframe,
        };
        let appended = match self.format {
            PayloadFormat::H264 { non_interleaved } => {
                self.codec.h264.append(body, non_interleaved, &mut fb)
            }
            PayloadFormat::Av1 => self.codec.av1.append(payload, &mut fb),
            _ => fb.extend(body),
        };
        let end = marker || head.ends;
        let finished = appended.and_then(|()| {
            if !end {
                return Ok(());
            }
            match self.format {
                PayloadFormat::H264 { .. } => self.codec.h264.finish(),
                PayloadFormat::Av1 => self.codec.av1.finish(),
                _ => Ok(()),
            }
        });
        if let Err(e) = finished {
            out.dropped_frame |= self.drop_partial();
            self.counters.bad_payloads += 1;
            out.error = Some(e);
            // The marker still closes the broken frame: the next payload begins one.
            self.synced = end;
            return out;
        }
        if end {
            self.in_frame = false;
            self.synced = true;
            if self.buf.is_empty() {
                // Only dropped units (AV1 temporal delimiters): nothing to decode.
                return out;
            }
            self.counters.frames += 1;
            out.frame = Some(Frame {
                data: &self.buf,
                timestamp,
                keyframe: self.keyframe,
                first_seq: self.first_seq,
                last_seq: seq,
            });
        }
        out
    }

    fn push_audio<'s>(
        &'s mut self,
        seq: u64,
        timestamp: u32,
        payload: &[u8],
        mut out: Pushed<'s>,
    ) -> Pushed<'s> {
        if payload.is_empty() {
            self.counters.bad_payloads += 1;
            out.error = Some(PayloadError::Empty);
            return out;
        }
        if payload.len() > self.max_frame {
            self.counters.bad_payloads += 1;
            out.error = Some(PayloadError::FrameTooLarge);
            return out;
        }
        if self.format == PayloadFormat::Opus && opus_duration_ticks(payload).is_none() {
            self.counters.bad_payloads += 1;
            out.error = Some(PayloadError::Malformed);
            return out;
        }
        self.buf.clear();
        self.buf.extend_from_slice(payload);
        self.counters.frames += 1;
        out.frame = Some(Frame {
            data: &self.buf,
            timestamp,
            keyframe: true,
            first_seq: seq,
            last_seq: seq,
        });
        out
    }

    fn parse_head(&self, payload: &[u8]) -> Result<PayloadHead, PayloadError> {
        if payload.is_empty() {
            return Err(PayloadError::Empty);
        }
        match self.format {
            PayloadFormat::Vp8 => vp8::parse(payload),
            PayloadFormat::Vp9 => vp9::parse(payload),
            PayloadFormat::H264 { .. } => h264::parse(payload),
            _ => av1::parse(payload),
        }
    }
}

/// Reads the bytes of a payload one at a time, failing with `Truncated` at its end.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn u8(&mut self) -> Result<u8, PayloadError> {
        let b = *self.data.get(self.pos).ok_or(PayloadError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u16(&mut self) -> Result<u16, PayloadError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], PayloadError> {
        let end = self.pos.checked_add(n).ok_or(PayloadError::Truncated)?;
        let s = self.data.get(self.pos..end).ok_or(PayloadError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }
}
