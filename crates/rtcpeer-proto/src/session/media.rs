//! The RTP session's place in the session (RFC 3550, RFC 8843 §9.2, RFC 4585): one
//! [`MediaSection`] per negotiated transceiver m-section, kept in step with every applied
//! description (`Negotiated.media`), with its payload types, its send stream (SSRC, RTX
//! SSRC, sequence numbers, statistics, the retransmission history, DTMF) and the remote
//! streams it receives (statistics, loss tracking for NACK, DTMF), plus the transport-wide
//! parts: the SSRC router, the TWCC recorder and the report timer. Everything a remote peer
//! can make grow is capped (streams per section, learned SSRCs, queued packets and events).
//!
//! Packets in: an SRTP datagram (RFC 7983 class RTP) from a path ICE knows is decrypted
//! once the DTLS-SRTP keys exist (RFC 5764 §4.2), parsed, routed to its m-section by
//! MID / SSRC / payload type, counted (statistics, loss for NACK, TWCC arrival) and handed
//! out as a [`MediaEvent::Rtp`]; telephone events become [`MediaEvent::Dtmf`]. Packets out:
//! [`Session::media_send_rtp`] writes our header (SSRC, sequence number, the negotiated
//! MID and transport-wide sequence extensions), keeps a copy for retransmission, encrypts
//! it and queues it for the scheduler.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::codecs::{MediaKind, RtpCodecParameters, RtpHeaderExtensionParameters};
use crate::connection::TransceiverId;
use crate::dtmf::{DtmfReceiver, DtmfSender};
use crate::negotiator::negotiated::NegotiatedMedia;
use crate::negotiator::types::RtpTransceiverDirection;
use crate::rtcp::{
    RtcpPacket, SenderInfo as RtcpSenderInfo, TwccArrival, nack_pairs, parse_compound,
    write_nack, write_pli, write_receiver_report, write_sdes_cname, write_sender_report,
    write_twcc_feedback,
};
use crate::rtp::session::interval::{AUDIO_REPORT_INTERVAL, ReportTimer, VIDEO_REPORT_INTERVAL};
use crate::rtp::session::send::NtpClock;
use crate::session::timers::{MediaTimer, TimerName};
use crate::util::{RandomSource, SeededRandom};
use crate::rtp::session::nack::{HistoryConfig, NackConfig, NackTracker, SendHistory};
use crate::rtp::session::receive::ReceiveStats;
use crate::rtp::session::routing::SsrcRouter;
use crate::rtp::session::send::SendStats;
use crate::rtp::session::cc::pacer::{PACING_FACTOR, Pacer};
use crate::rtp::session::cc::{BweConfig, SendSideBwe};
use crate::rtp::session::twcc::TwccRecorder;
use crate::rtp::{
    ExtensionKind, ExtensionMap, Extensions, HeaderExtensions, RtpHeader, RtpPacket,
    read_rtx_payload,
};
use crate::session::Session;
use crate::session::demux::Class;
use crate::stats::counters::{InboundCounters, OutboundCounters, RemoteSenderReport};
use crate::dtls::SrtpKeyingMaterial;
use crate::payload::{
    Depacketizer, DepacketizerConfig, Packetizer, PayloadFormat, ReorderBuffer, ReorderConfig,
};
use crate::srtp::SrtpContext;

/// Remote streams one m-section receives at most: three simulcast layers and their RTX
/// streams, with room for an SSRC change.
pub(crate) const MAX_RECEIVE_STREAMS: usize = 8;
/// Learned SSRCs silent this long may be replaced in the router.
const SSRC_IDLE: Duration = Duration::from_secs(30);
/// How often TWCC feedback is sent (libwebrtc's default interval).
const TWCC_INTERVAL: Duration = Duration::from_millis(100);
/// Encrypted packets waiting for the scheduler at most (a full socket buffer drops too).
pub(crate) const MAX_QUEUED_PACKETS: usize = 1024;
/// Media events waiting for the application at most; beyond, received packets are dropped
/// and counted (the application is not reading).
pub(crate) const MAX_MEDIA_EVENTS: usize = 4096;
/// Largest datagram the RTP path reads or writes (above any path MTU).
const MAX_PACKET: usize = 1500;
/// Largest RTP payload `send_frame` makes: room for the RTP header with extensions, the
/// SRTP tag, and IPv6/UDP/TURN headers under a 1280-byte path MTU's worth of margin.
const MAX_RTP_PAYLOAD: usize = 1100;
/// How often lost packets are looked at for NACKs while some are missing.
const NACK_INTERVAL: Duration = Duration::from_millis(20);
/// Largest RTCP feedback packet we write (fits any path with SRTCP's overhead).
const MAX_FEEDBACK_LEN: usize = 1200;
/// Packets the pacer holds at most; a frame that does not fit is not sent (counted in
/// [`MediaCounters::pacer_dropped_frames`]).
pub(crate) const MAX_PACED_PACKETS: usize = 1024;
/// The pacer speeds up beyond 2.5 × the estimate so that what it holds leaves within this
/// (libwebrtc's 2 s queue limit).
const MAX_PACER_QUEUE_TIME: Duration = Duration::from_secs(2);
/// Shortest time between two key-frame requests a receiver sends after lost frames.
const PLI_INTERVAL: Duration = Duration::from_millis(500);
/// Sequence numbers one NACK packet asks for at most (the rest wait for the next round).
const MAX_NACKED_PER_ROUND: usize = 256;

/// A received RTP packet, decrypted and routed (RFC 3550 §5.1, RFC 8843 §9.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRtp {
    /// The stream's SSRC (for a retransmission, the repaired stream's).
    pub ssrc: u32,
    /// The payload type (for a retransmission, the repaired payload type).
    pub payload_type: u8,
    /// The extended sequence number (RFC 3550 A.1; for a retransmission, the original's).
    pub sequence_number: u64,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The marker bit.
    pub marker: bool,
    /// Whether it came as an RTX retransmission (RFC 4588).
    pub retransmission: bool,
    /// The RTP stream id of the stream (RFC 8852), for a simulcast layer: which of the
    /// remote's encodings it is.
    pub rid: Option<Arc<str>>,
    /// When it arrived.
    pub arrival: Instant,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A frame assembled from received RTP packets (in [`ReceiveMode::Frames`]): the payload
/// format's frame as its encoder made it (RFC 7741 VP8, RFC 6184 H.264 in Annex-B, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// The stream's SSRC.
    pub ssrc: u32,
    /// The payload type of its packets.
    pub payload_type: u8,
    /// The RTP timestamp of its packets.
    pub timestamp: u32,
    /// Whether a decoder can start at this frame.
    pub keyframe: bool,
    /// The RTP stream id of the stream (RFC 8852), for a simulcast layer.
    pub rid: Option<Arc<str>>,
    /// The frame.
    pub data: Vec<u8>,
}

/// `RTCRtpSynchronizationSource` / `RTCRtpContributingSource` (webrtc-pc §5.3.4): a source
/// whose packets the receiver got in the last 10 seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtpSource {
    /// The SSRC (synchronization source) or CSRC (contributing source).
    pub source: u32,
    /// When its most recent packet arrived.
    pub timestamp: Instant,
    /// That packet's RTP timestamp.
    pub rtp_timestamp: u32,
    /// Its audio level, 0.0–1.0 linear (RFC 6464 `ssrc-audio-level` of a synchronization
    /// source: 10^(-level/20)); `None` without the extension.
    pub audio_level: Option<f64>,
}

/// How long a source stays in `getSynchronizationSources()` after its last packet.
const SOURCE_LIFETIME: Duration = Duration::from_secs(10);
/// Sources kept per receiver at most (an SSRC per simulcast layer and up to 15 CSRCs per
/// packet): a peer cycling through CSRCs replaces the oldest.
const MAX_SOURCES: usize = 32;

/// The recent synchronization and contributing sources of one receiver (webrtc-pc §5.3.4).
#[derive(Debug, Default)]
pub(crate) struct Sources {
    /// (is a contributing source, the source); the oldest first.
    entries: VecDeque<(bool, RtpSource)>,
}

impl Sources {
    fn note(&mut self, contributing: bool, s: RtpSource) {
        if let Some(i) = self
            .entries
            .iter()
            .position(|(c, e)| *c == contributing && e.source == s.source)
        {
            self.entries.remove(i);
        } else if self.entries.len() >= MAX_SOURCES {
            self.entries.pop_front();
        }
        self.entries.push_back((contributing, s));
    }

    /// The sources of one kind seen since `now` − 10 s, the most recent first.
    pub(crate) fn recent(&self, contributing: bool, now: Instant) -> Vec<RtpSource> {
        self.entries
            .iter()
            .rev()
            .filter(|(c, s)| {
                *c == contributing && now.saturating_duration_since(s.timestamp) < SOURCE_LIFETIME
            })
            .map(|(_, s)| *s)
            .collect()
    }
}

/// How a receiver hands out its media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReceiveMode {
    /// Each RTP packet as it arrives ([`MediaEvent::Rtp`]): forwarding, SFUs.
    #[default]
    Packets,
    /// Whole frames, reordered and reassembled by the payload format ([`MediaEvent::Frame`]):
    /// decoding, recording. Payload types without a known format still come as packets.
    Frames,
}

/// Something the RTP session reports about one transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// An RTP packet for the receiver's track.
    Rtp(ReceivedRtp),
    /// A whole frame for the receiver's track ([`ReceiveMode::Frames`]).
    Frame(ReceivedFrame),
    /// A telephone event started or ended on the receiver's stream (RFC 4733).
    Dtmf(crate::dtmf::ReceivedTone),
    /// The sender's DTMF playout moved on (`tonechange`, webrtc-pc §7.3).
    ToneChange(crate::dtmf::ToneChange),
    /// The remote asked the sender for a key frame (PLI, RFC 4585 §6.3.1, or FIR,
    /// RFC 5104 §4.3.1): the application's encoder should make one.
    KeyframeRequest,
    /// The transport's send-side bandwidth estimate changed by more than 5 % (at most every
    /// 200 ms; draft-ietf-rmcat-gcc-02 §4): the bit rate the application's encoders should
    /// share among the senders of this transport. Given to every sending transceiver.
    TargetBitrate {
        /// The estimate, bit/s.
        bitrate_bps: u64,
    },
}

/// What to send as one RTP packet (the session writes the header's SSRC and sequence number
/// and the negotiated extensions).
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRtp<'a> {
    /// The payload type; `None`: the first negotiated media payload type.
    pub payload_type: Option<u8>,
    /// The RTP timestamp (media clock).
    pub timestamp: u32,
    /// The marker bit (end of a video frame, RFC 3551 / payload formats).
    pub marker: bool,
    /// The payload.
    pub payload: &'a [u8],
}

/// The SRTP contexts of the transport, from the DTLS-SRTP keys (RFC 5764 §4.2).
struct SrtpPair {
    local: SrtpContext,
    remote: SrtpContext,
}

/// Both directions' contexts from DTLS-SRTP keys (`client`: we write with the client key,
/// RFC 5764 §4.2).
fn srtp_pair((km, client): &(SrtpKeyingMaterial, bool)) -> Option<SrtpPair> {
    let role = if *client {
        crate::dtls::DtlsRole::Client
    } else {
        crate::dtls::DtlsRole::Server
    };
    let config = crate::srtp::SrtpConfig::default();
    let made = SrtpContext::outbound(km, role, config)
        .and_then(|local| Ok((local, SrtpContext::inbound(km, role, config)?)));
    match made {
        Ok((local, remote)) => Some(SrtpPair { local, remote }),
        Err(e) => {
            tracing::warn!("SRTP contexts not created: {e}");
            None
        }
    }
}

impl std::fmt::Debug for SrtpPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpPair")
            .field("profile", &self.local.profile())
            .finish()
    }
}

/// The payload types of an m-section, by role (RFC 3551, RFC 4588 §8.6, RFC 4733 §7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PayloadTypes {
    /// Media payload types with their clock rates, in SDP order (the first is sent).
    pub(crate) media: Vec<(u8, u32)>,
    /// RTX payload types and the media payload type each repairs (`apt`).
    pub(crate) rtx: Vec<(u8, u8)>,
    /// The telephone-event payload type we send, with its clock rate (the audio codec's
    /// clock when negotiated, RFC 4733 §2.1).
    pub(crate) telephone_event: Option<(u8, u32)>,
    /// Every negotiated telephone-event payload type (the remote may send any of them).
    pub(crate) telephone_events: Vec<(u8, u32)>,
    /// Redundancy (RFC 2198 `red`) payload types with their clock rates: unwrapped on
    /// receive, never sent.
    pub(crate) red: Vec<(u8, u32)>,
    /// Forward error correction (RFC 5109 `ulpfec`, `flexfec`) payload types: their packets
    /// count in the statistics and are dropped (losses are repaired by NACK and RTX).
    pub(crate) fec: Vec<(u8, u32)>,
}

impl PayloadTypes {
    fn from_codecs(codecs: &[RtpCodecParameters]) -> Self {
        let mut t = PayloadTypes::default();
        for c in codecs {
            let mime = c.mime_type.to_ascii_lowercase();
            if mime.ends_with("/rtx") {
                let apt = c.sdp_fmtp_line.as_deref().and_then(|f| {
                    f.split(';').find_map(|p| {
                        let (k, v) = p.trim().split_once('=')?;
                        (k.trim() == "apt").then(|| v.trim().parse::<u8>().ok()).flatten()
                    })
                });
                if let Some(apt) = apt {
                    t.rtx.push((c.payload_type, apt));
                }
            } else if mime == "audio/telephone-event" {
                t.telephone_event.get_or_insert((c.payload_type, c.clock_rate));
                t.telephone_events.push((c.payload_type, c.clock_rate));
            } else if mime.ends_with("/red") {
                t.red.push((c.payload_type, c.clock_rate));
            } else if mime.ends_with("/ulpfec") || mime.contains("/flexfec") {
                t.fec.push((c.payload_type, c.clock_rate));
            } else if mime != "audio/cn" {
                t.media.push((c.payload_type, c.clock_rate));
            }
        }
        // RFC 4733 §2.1: events share the audio stream's timestamps, so the event clock
        // should be the audio codec's (telephone-event/48000 beside Opus).
        if let Some(&(_, clock)) = t.media.first()
            && let Some(te) = codecs
                .iter()
                .find(|c| c.mime_type.eq_ignore_ascii_case("audio/telephone-event") && c.clock_rate == clock)
        {
            t.telephone_event = Some((te.payload_type, te.clock_rate));
        }
        t
    }

    /// The RTX payload type repairing media payload type `pt` (RFC 4588 §8.6 `apt`).
    pub(crate) fn rtx_for(&self, pt: u8) -> Option<u8> {
        self.rtx.iter().find(|(_, apt)| *apt == pt).map(|(r, _)| *r)
    }

    /// The clock rate of a media, redundancy, FEC or RTX payload type (RTX runs on the
    /// clock of the payload type it repairs).
    pub(crate) fn clock_rate(&self, pt: u8) -> Option<u32> {
        let media = |pt: u8| {
            self.media
                .iter()
                .chain(&self.red)
                .chain(&self.fec)
                .find(|(p, _)| *p == pt)
                .map(|(_, c)| *c)
        };
        media(pt).or_else(|| {
            let apt = self.rtx.iter().find(|(p, _)| *p == pt)?.1;
            media(apt)
        })
    }

    /// Whether `pt` is an RTX payload type.
    pub(crate) fn is_rtx(&self, pt: u8) -> bool {
        self.rtx.iter().any(|(p, _)| *p == pt)
    }

    /// Every payload type of the section (for the router's unique-payload-type rule).
    fn all(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.media.iter().map(|(p, _)| *p).collect();
        v.extend(self.rtx.iter().map(|(p, _)| *p));
        v.extend(self.telephone_events.iter().map(|(p, _)| *p));
        v.extend(self.red.iter().chain(&self.fec).map(|(p, _)| *p));
        v
    }

    fn is_red(&self, pt: u8) -> bool {
        self.red.iter().any(|(p, _)| *p == pt)
    }

    fn is_fec(&self, pt: u8) -> bool {
        self.fec.iter().any(|(p, _)| *p == pt)
    }
}

/// The primary block of an RFC 2198 redundancy payload: its payload type and data (the
/// last block; the redundant ones before it are skipped), or `None` when malformed.
fn red_primary(payload: &[u8]) -> Option<(u8, &[u8])> {
    let mut at = 0;
    let mut redundant = 0usize;
    loop {
        let b = *payload.get(at)?;
        if b & 0x80 == 0 {
            // The last header: one byte, the primary block's payload type (§3).
            let data = payload.get(at + 1 + redundant..)?;
            return Some((b & 0x7f, data));
        }
        // F set: PT(7) timestamp offset(14) block length(10) (§3).
        let h = payload.get(at..at + 4)?;
        redundant += (usize::from(h[2] & 0x03) << 8) | usize::from(h[3]);
        at += 4;
    }
}

impl PayloadTypes {
}

/// RTCP feedback the m-section negotiated (RFC 4585 §4.2, `a=rtcp-fb`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Feedback {
    /// Generic NACK.
    pub(crate) nack: bool,
    /// Picture loss indication (`nack pli`).
    pub(crate) pli: bool,
    /// Full intra request (`ccm fir`).
    pub(crate) fir: bool,
    /// Transport-wide congestion control feedback.
    pub(crate) transport_cc: bool,
}

impl Feedback {
    fn from_codecs(codecs: &[RtpCodecParameters]) -> Self {
        let mut f = Feedback::default();
        for fb in codecs.iter().flat_map(|c| &c.rtcp_feedback) {
            match (fb.fb_type.as_str(), fb.parameter.as_deref()) {
                ("nack", None) => f.nack = true,
                ("nack", Some("pli")) => f.pli = true,
                ("ccm", Some("fir")) => f.fir = true,
                ("transport-cc", None) => f.transport_cc = true,
                _ => {}
            }
        }
        f
    }
}

/// Our outgoing stream of an m-section (RFC 3550 §8: one SSRC, plus the RTX SSRC of
/// RFC 4588 §5).
#[derive(Debug)]
pub(crate) struct SendStream {
    pub(crate) ssrc: u32,
    pub(crate) rtx_ssrc: u32,
    /// The next RTP sequence number of the media stream and of the RTX stream.
    pub(crate) seq: u16,
    pub(crate) rtx_seq: u16,
    pub(crate) stats: SendStats,
    /// The stream's counters for `RTCOutboundRtpStreamStats` (`stats/`).
    pub(crate) counters: OutboundCounters,
    /// What was sent, for NACKs; only while NACK is negotiated.
    pub(crate) history: Option<SendHistory>,
    /// `RTCDTMFSender`, for audio with telephone-event.
    pub(crate) dtmf: Option<DtmfSender>,
    /// The packetizer of the sent payload type, made on the first frame.
    packetizer: Option<(u8, Packetizer)>,
    /// The RTP timestamp of the next frame sent with `send_frame`.
    frame_timestamp: u32,
}

/// A remote stream an m-section receives.
#[derive(Debug)]
pub(crate) struct ReceiveStream {
    pub(crate) ssrc: u32,
    /// Its RID (simulcast layer), when named.
    pub(crate) rid: Option<Arc<str>>,
    pub(crate) stats: ReceiveStats,
    /// The stream's counters for `RTCInboundRtpStreamStats` (`stats/`).
    pub(crate) counters: InboundCounters,
    /// Loss tracking for NACKs (video with NACK negotiated).
    pub(crate) nack: Option<NackTracker>,
    pub(crate) dtmf: DtmfReceiver,
    /// Reordering and reassembly in [`ReceiveMode::Frames`], for one payload type.
    frames: Option<FrameAssembler>,
    /// When we last asked this stream's sender for a key frame after a lost frame.
    last_pli: Option<Instant>,
}

/// The reorder buffer and depacketizer of one received stream.
#[derive(Debug)]
struct FrameAssembler {
    payload_type: u8,
    reorder: ReorderBuffer,
    depack: Depacketizer,
}

impl FrameAssembler {
    /// Releases what is in order (or given up on) at `now` into frames.
    fn drain(
        &mut self,
        now: Instant,
        ssrc: u32,
        rid: Option<&Arc<str>>,
        out: &mut Vec<ReceivedFrame>,
    ) -> bool {
        let mut dropped = false;
        while let Some(r) = self.reorder.pop(now) {
            let pushed = self.depack.push(r.seq, r.timestamp, r.marker, r.payload);
            dropped |= pushed.dropped_frame;
            if let Some(f) = pushed.frame {
                out.push(ReceivedFrame {
                    ssrc,
                    payload_type: self.payload_type,
                    timestamp: f.timestamp,
                    keyframe: f.keyframe,
                    rid: rid.cloned(),
                    data: f.data.to_vec(),
                });
            }
        }
        dropped
    }
}

/// One negotiated transceiver m-section in the RTP session.
#[derive(Debug)]
pub(crate) struct MediaSection {
    pub(crate) mid: String,
    pub(crate) transceiver: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) direction: Option<RtpTransceiverDirection>,
    pub(crate) payload_types: PayloadTypes,
    pub(crate) feedback: Feedback,
    pub(crate) header_extensions: Vec<RtpHeaderExtensionParameters>,
    pub(crate) cname: String,
    /// The negotiated codecs (payload formats for frames).
    pub(crate) codecs: Vec<RtpCodecParameters>,
    /// How the receiver hands out media.
    pub(crate) mode: ReceiveMode,
    /// The receiver's recent synchronization and contributing sources.
    pub(crate) sources: Sources,
    /// Our SSRC for this m-section (also when it only receives: RTCP needs one).
    pub(crate) local_ssrc: u32,
    /// Whether the sender has an active encoding (webrtc-pc §5.2.2): RTP handed to an
    /// inactive sender is not sent.
    pub(crate) send_active: bool,
    /// How long a hole in a received stream is waited for in frames mode
    /// (`jitterBufferTarget`, else [`ReorderConfig`]'s default).
    pub(crate) hole_wait: Duration,
    /// Media arrived since the section was last negotiated not to receive (the receiver's
    /// track is unmuted, or about to be).
    pub(crate) receiving: bool,
    pub(crate) send: Option<SendStream>,
    pub(crate) receive: Vec<ReceiveStream>,
}

impl MediaSection {
    /// Applies `jitterBufferTarget` (`None`: the default wait) to the section and to the
    /// reorder buffers of its streams.
    pub(crate) fn set_hole_wait(&mut self, target: Option<Duration>) {
        let wait = target.unwrap_or(ReorderConfig::default().max_hole_wait);
        if wait == self.hole_wait {
            return;
        }
        self.hole_wait = wait;
        for r in &mut self.receive {
            if let Some(f) = r.frames.as_mut() {
                f.reorder.set_max_hole_wait(wait);
            }
        }
    }

    /// The receive stream of `ssrc`, created if the section has room (`None`: full).
    pub(crate) fn receive_stream(&mut self, ssrc: u32, rid: Option<&str>, clock_rate: u32) -> Option<&mut ReceiveStream> {
        if let Some(i) = self.receive.iter().position(|r| r.ssrc == ssrc) {
            return self.receive.get_mut(i);
        }
        if self.receive.len() >= MAX_RECEIVE_STREAMS {
            return None;
        }
        let nack = (self.feedback.nack && self.kind == MediaKind::Video)
            .then(|| NackTracker::new(NackConfig::default()));
        self.receive.push(ReceiveStream {
            ssrc,
            rid: rid.map(Arc::from),
            stats: ReceiveStats::new(clock_rate),
            counters: InboundCounters::default(),
            nack,
            dtmf: DtmfReceiver::new(),
            frames: None,
            last_pli: None,
        });
        self.receive.last_mut()
    }
}

/// Counters of the RTP session's traffic and drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCounters {
    /// RTP packets received, decrypted and routed.
    pub rtp_received: u64,
    /// RTP packets sent (queued for the wire).
    pub rtp_sent: u64,
    /// Packets that failed SRTP authentication or replay checks, or came before the keys.
    pub srtp_rejected: u64,
    /// Decrypted packets that were not valid RTP.
    pub malformed: u64,
    /// RTP packets no m-section claimed (RFC 8843 §9.2), with a payload type the section
    /// does not have, or beyond the section's stream limit.
    pub unroutable: u64,
    /// Packets or events dropped because a queue was full.
    pub queue_full: u64,
    /// RTCP packets received and read (compound parts counted one by one).
    pub rtcp_received: u64,
    /// RTCP datagrams sent.
    pub rtcp_sent: u64,
    /// Generic NACKs received, and packets retransmitted for them (RFC 4588).
    pub nacks_received: u64,
    /// Packets retransmitted for NACKs.
    pub retransmitted: u64,
    /// Generic NACK packets sent for our own losses.
    pub nacks_sent: u64,
    /// Key-frame requests received (PLI, FIR) and sent (PLI).
    pub keyframe_requests_received: u64,
    /// Key-frame requests (PLI) sent.
    pub keyframe_requests_sent: u64,
    /// Transport-wide CC feedback packets sent.
    pub twcc_feedback_sent: u64,
    /// Transport-wide CC feedback packets received and given to the bandwidth estimator.
    pub twcc_feedback_received: u64,
    /// Frames not sent because the pacer's queue was full ([`MAX_PACED_PACKETS`]).
    pub pacer_dropped_frames: u64,
    /// The send-side bandwidth estimate in bit/s (draft-ietf-rmcat-gcc-02), once feedback
    /// gave one (`availableOutgoingBitrate`, webrtc-stats §7.13).
    pub available_outgoing_bitrate: Option<u64>,
    /// The latest round-trip time measured from the remote's reports about one of our
    /// senders (RFC 3550 §6.4.1), if any.
    pub round_trip_time: Option<Duration>,
}

/// The RTP session of a connection: its m-sections and the transport-wide state.
#[derive(Debug)]
pub(crate) struct MediaState {
    pub(crate) sections: Vec<MediaSection>,
    pub(crate) router: SsrcRouter<TransceiverId>,
    pub(crate) twcc: TwccRecorder,
    pub(crate) report: ReportTimer,
    pub(crate) counters: MediaCounters,
    /// The header-extension ids of the transport (RFC 8843 §9.1: one id per URI across the
    /// bundled m-sections).
    ext_map: ExtensionMap,
    /// The DTLS-SRTP keys and whether we are the DTLS client, once DTLS connected.
    keys: Option<(SrtpKeyingMaterial, bool)>,
    /// The SRTP contexts, made from `keys` on first use by a media section (a data-only
    /// connection never pays for them).
    srtp: Option<SrtpPair>,
    /// RTCP has a component (and a DTLS association) of its own, RFC 5761 not negotiated:
    /// SRTCP uses that association's keys (`rtcp_keys`, RFC 5764 §4.1), not `keys`.
    rtcp_separate: bool,
    /// The RTCP component's DTLS-SRTP keys and whether we are its DTLS client.
    rtcp_keys: Option<(SrtpKeyingMaterial, bool)>,
    /// The SRTCP contexts made from `rtcp_keys` (only while `rtcp_separate`).
    srtcp: Option<SrtpPair>,
    /// The next transport-wide sequence number we send.
    twcc_seq: u16,
    /// Encrypted packets for the scheduler, with recycled buffers.
    queue: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    /// Scratch buffer for decrypting a received packet.
    rx: Vec<u8>,
    events: VecDeque<(TransceiverId, MediaEvent)>,
    /// Sections whose first media since they were negotiated to receive just arrived
    /// (taken by the session after each packet).
    pub(crate) arrived: Vec<TransceiverId>,
    /// Wall-clock time for sender reports (`None` until the driver gives it).
    ntp: Option<NtpClock>,
    /// Randomises the report interval (RFC 3550 §6.3.1).
    rng: SeededRandom,
    /// When missing packets are next looked at for NACKs.
    nack_due: Option<Instant>,
    /// The TWCC feedback count (wraps at 8 bits).
    twcc_fb_count: u8,
    /// Scratch for NACKed sequence numbers and TWCC arrivals.
    nack_scratch: Vec<u64>,
    twcc_scratch: Vec<(u64, u64)>,
    /// The send-side bandwidth estimate (draft-ietf-rmcat-gcc-02).
    pub(crate) bwe: SendSideBwe,
    /// The pacer's budget, and the video packets it holds (encrypted, with their
    /// transport-wide sequence number), with their total size.
    pacer: Pacer,
    paced: VecDeque<(Vec<u8>, Option<u16>)>,
    paced_bytes: usize,
}

impl Default for MediaState {
    fn default() -> Self {
        MediaState::new(BweConfig::default())
    }
}

impl MediaState {
    /// An RTP session whose bandwidth estimate keeps within `bwe`'s bounds.
    pub(crate) fn new(bwe: BweConfig) -> Self {
        let bwe = SendSideBwe::new(bwe);
        MediaState {
            sections: Vec::new(),
            router: SsrcRouter::new(SSRC_IDLE),
            twcc: TwccRecorder::new(TWCC_INTERVAL),
            report: ReportTimer::new(AUDIO_REPORT_INTERVAL),
            counters: MediaCounters::default(),
            ext_map: ExtensionMap::new(),
            keys: None,
            srtp: None,
            rtcp_separate: false,
            rtcp_keys: None,
            srtcp: None,
            twcc_seq: 0,
            queue: VecDeque::new(),
            spare: Vec::new(),
            rx: Vec::new(),
            events: VecDeque::new(),
            arrived: Vec::new(),
            ntp: None,
            rng: SeededRandom::new(0x5eed),
            nack_due: None,
            twcc_fb_count: 0,
            nack_scratch: Vec::new(),
            twcc_scratch: Vec::new(),
            pacer: Pacer::new((bwe.config().start_bps as f64 * PACING_FACTOR) as u64),
            bwe,
            paced: VecDeque::new(),
            paced_bytes: 0,
        }
    }
}

impl MediaState {
    /// Brings the sections in step with an applied description: new m-sections are added,
    /// changed ones updated (their streams and sequence numbers kept), m-sections no longer
    /// negotiated (rejected, stopped, rolled back) removed; the router learns the new
    /// payload types and signalled SSRCs (RFC 8843 §9.2).
    pub(crate) fn apply(&mut self, media: &[NegotiatedMedia]) {
        let live: Vec<&NegotiatedMedia> = media.iter().filter(|m| !m.codecs.is_empty()).collect();
        self.sections
            .retain(|s| live.iter().any(|m| m.mid == s.mid && m.transceiver == s.transceiver));
        for m in &live {
            let payload_types = PayloadTypes::from_codecs(&m.codecs);
            let feedback = Feedback::from_codecs(&m.codecs);
            let i = match self.sections.iter().position(|s| s.mid == m.mid) {
                Some(i) => i,
                None => {
                    self.sections.push(MediaSection {
                        mid: m.mid.clone(),
                        transceiver: m.transceiver,
                        kind: m.kind,
                        direction: m.direction,
                        payload_types: PayloadTypes::default(),
                        feedback,
                        header_extensions: Vec::new(),
                        cname: m.cname.clone(),
                        codecs: Vec::new(),
                        mode: ReceiveMode::Packets,
                        sources: Sources::default(),
                        local_ssrc: m.local_ssrcs.0,
                        send_active: m.send_active,
                        hole_wait: ReorderConfig::default().max_hole_wait,
                        receiving: false,
                        send: None,
                        receive: Vec::new(),
                    });
                    self.sections.len() - 1
                }
            };
            let s = &mut self.sections[i];
            s.direction = m.direction;
            s.send_active = m.send_active;
            s.set_hole_wait(m.jitter_buffer_target);
            if !m.direction.is_some_and(RtpTransceiverDirection::receives) {
                // The negotiator muted the track: the next media unmutes it again.
                s.receiving = false;
            }
            s.feedback = feedback;
            s.header_extensions = m.header_extensions.clone();
            s.cname = m.cname.clone();
            s.codecs = m.codecs.clone();
            let sends = m.direction.is_some_and(RtpTransceiverDirection::sends);
            if sends && s.send.is_none() {
                let clock = payload_types.media.first().map_or(90_000, |(_, c)| *c);
                // RFC 3550 §5.1: the initial sequence number is random; the SSRC's low bits
                // serve, as the SSRCs themselves are random.
                s.send = Some(SendStream {
                    ssrc: m.local_ssrcs.0,
                    rtx_ssrc: m.local_ssrcs.1,
                    seq: (m.local_ssrcs.0 >> 3) as u16 & 0x7fff,
                    rtx_seq: (m.local_ssrcs.1 >> 3) as u16 & 0x7fff,
                    stats: SendStats::new(clock),
                    counters: OutboundCounters::default(),
                    history: None,
                    dtmf: None,
                    packetizer: None,
                    frame_timestamp: m.local_ssrcs.0.rotate_left(13),
                });
            }
            if let Some(send) = s.send.as_mut() {
                send.history = match (feedback.nack, send.history.take()) {
                    (false, _) => None,
                    (true, Some(h)) => Some(h),
                    (true, None) => Some(SendHistory::new(HistoryConfig::default())),
                };
                send.dtmf = match (payload_types.telephone_event, send.dtmf.take()) {
                    (None, _) => None,
                    (Some((_, clock)), Some(mut d)) => {
                        d.set_clock_rate(clock);
                        Some(d)
                    }
                    (Some((_, clock)), None) => Some(DtmfSender::new(clock)),
                };
            }
            s.payload_types = payload_types;
        }
        let pts: Vec<Vec<u8>> = self.sections.iter().map(|s| s.payload_types.all()).collect();
        let signalled: Vec<&[u32]> = self
            .sections
            .iter()
            .map(|s| {
                live.iter()
                    .find(|m| m.mid == s.mid)
                    .map_or(&[][..], |m| m.remote_ssrcs.as_slice())
            })
            .collect();
        self.router.set_sections(
            self.sections
                .iter()
                .zip(&pts)
                .zip(&signalled)
                .map(|((s, p), ssrcs)| (s.transceiver, s.mid.as_str(), *ssrcs, p.as_slice())),
        );
        self.ext_map = ExtensionMap::new();
        for s in &self.sections {
            for e in &s.header_extensions {
                if let Ok(id) = u8::try_from(e.id) {
                    // The first m-section's id wins when a peer breaks RFC 8843 §9.1.
                    if self.ext_map.kind(id).is_none()
                        && self.ext_map.id(ExtensionKind::from_uri(&e.uri)).is_none()
                    {
                        self.ext_map.insert(id, ExtensionKind::from_uri(&e.uri));
                    }
                }
            }
        }
        let video = self.sections.iter().any(|s| s.kind == MediaKind::Video);
        let base = if video { VIDEO_REPORT_INTERVAL } else { AUDIO_REPORT_INTERVAL };
        if self.report.due().is_none() {
            self.report = ReportTimer::new(base);
        }
    }

    /// Whether transceiver `id` has a section in this RTP session.
    pub(crate) fn has_section(&self, id: TransceiverId) -> bool {
        self.sections.iter().any(|s| s.transceiver == id)
    }

    /// The section of a transceiver.
    #[cfg(test)]
    pub(crate) fn section_mut(&mut self, id: TransceiverId) -> Option<&mut MediaSection> {
        self.sections.iter_mut().find(|s| s.transceiver == id)
    }
}

impl MediaState {
    /// The DTLS handshake exported the SRTP keys (RFC 5764 §4.2): contexts for both
    /// directions, by our DTLS role (`client`: we write with the client key).
    pub(crate) fn keys_ready(&mut self, km: &SrtpKeyingMaterial, client: bool) {
        self.keys = Some((km.clone(), client));
        self.srtp = None;
    }

    /// The SRTP contexts, made on first use once the keys exist and the session has a
    /// media section; `None` before.
    fn contexts(&mut self) -> Option<&mut SrtpPair> {
        if self.srtp.is_none() && !self.sections.is_empty() {
            self.srtp = srtp_pair(self.keys.as_ref()?);
        }
        self.srtp.as_mut()
    }

    /// Whether RTCP has a component of its own (RFC 5761 not negotiated): its SRTCP keys
    /// then come from that component's DTLS association (RFC 5764 §4.1). Turning it off
    /// forgets those keys (RTCP is multiplexed on the RTP component again).
    pub(crate) fn set_rtcp_separate(&mut self, on: bool) {
        if self.rtcp_separate != on {
            self.rtcp_separate = on;
            self.rtcp_keys = None;
            self.srtcp = None;
        }
    }

    /// The RTCP component's DTLS handshake exported its keys (RFC 5764 §4.1, §4.2): SRTCP
    /// uses them from now on.
    pub(crate) fn rtcp_keys_ready(&mut self, km: &SrtpKeyingMaterial, client: bool) {
        self.rtcp_keys = Some((km.clone(), client));
        self.srtcp = None;
    }

    /// The SRTCP contexts: the RTP component's (rtcp-mux), else the RTCP component's.
    fn rtcp_contexts(&mut self) -> Option<&mut SrtpPair> {
        if !self.rtcp_separate {
            return self.contexts();
        }
        if self.srtcp.is_none() && !self.sections.is_empty() {
            self.srtcp = srtp_pair(self.rtcp_keys.as_ref()?);
        }
        self.srtcp.as_mut()
    }

    /// Whether media can flow (the SRTP keys exist).
    #[cfg(test)]
    pub(crate) fn ready(&self) -> bool {
        self.keys.is_some()
    }

    fn push_event(&mut self, id: TransceiverId, e: MediaEvent) {
        if self.events.len() >= MAX_MEDIA_EVENTS {
            self.counters.queue_full += 1;
            return;
        }
        self.events.push_back((id, e));
    }

    /// The next media event, in arrival order.
    pub(crate) fn poll_event(&mut self) -> Option<(TransceiverId, MediaEvent)> {
        self.events.pop_front()
    }

    /// Decrypts an SRTP (`rtcp` false) or SRTCP packet into the scratch buffer and hands
    /// the plaintext to `then`; a packet that fails (no keys yet, too long, authentication,
    /// replay) is counted and dropped (RFC 3711 §3.3, §3.4).
    fn decrypt(
        &mut self,
        data: &[u8],
        rtcp: bool,
        then: impl FnOnce(&mut MediaState, &[u8]),
    ) {
        let missing = match rtcp {
            false => self.contexts().is_none(),
            true => self.rtcp_contexts().is_none(),
        };
        if missing {
            self.counters.srtp_rejected += 1;
            return;
        }
        let srtp = match rtcp && self.rtcp_separate {
            false => self.srtp.as_mut(),
            true => self.srtcp.as_mut(),
        };
        let Some(srtp) = srtp else {
            return;
        };
        if data.len() > MAX_PACKET * 4 {
            self.counters.malformed += 1;
            return;
        }
        let mut rx = std::mem::take(&mut self.rx);
        rx.clear();
        rx.extend_from_slice(data);
        let plain = match rtcp {
            false => srtp.remote.unprotect_rtp(&mut rx),
            true => srtp.remote.unprotect_rtcp(&mut rx),
        };
        match plain {
            Ok(n) => {
                rx.truncate(n);
                then(self, &rx);
            }
            Err(e) => {
                tracing::trace!(rtcp, "SRTP packet rejected: {e}");
                self.counters.srtp_rejected += 1;
            }
        }
        self.rx = rx;
    }

    /// An SRTP packet (RFC 3711 §3.1) arrived at `now`.
    pub(crate) fn handle_rtp(&mut self, now: Instant, data: &[u8]) {
        self.decrypt(data, false, |m, plain| m.handle_plain_rtp(now, plain));
    }

    fn handle_plain_rtp(&mut self, now: Instant, plain: &[u8]) {
        let Ok(p) = RtpPacket::parse(plain) else {
            self.counters.malformed += 1;
            return;
        };
        let ext = Extensions::read(&p, &self.ext_map).unwrap_or_default();
        let rid = ext.rid.or(ext.repaired_rid);
        let Ok(route) = self.router.route(now, p.ssrc, p.payload_type, ext.mid, rid) else {
            self.counters.unroutable += 1;
            return;
        };
        if let Some(seq) = ext.transport_cc {
            self.twcc.on_packet(now, seq);
        }
        let Some(section) = self.sections.iter_mut().find(|s| s.transceiver == route.section)
        else {
            self.counters.unroutable += 1;
            return;
        };
        let id = section.transceiver;
        if section
            .payload_types
            .telephone_events
            .iter()
            .any(|(pt, _)| *pt == p.payload_type)
        {
            let tone = section
                .receive_stream(p.ssrc, rid, 8000)
                .and_then(|r| r.dtmf.on_packet(p.timestamp, p.payload));
            if let Some(t) = tone {
                self.push_event(id, MediaEvent::Dtmf(t));
            }
            return;
        }
        let Some(clock) = section.payload_types.clock_rate(p.payload_type) else {
            self.counters.unroutable += 1;
            return;
        };
        // RFC 4588: an RTX packet repairs the section's stream of the same RID (or its
        // only media stream); its payload starts with the original sequence number.
        let (ssrc, pt, seq, payload, rtx) = if section.payload_types.is_rtx(p.payload_type) {
            if p.payload.is_empty() {
                // Padding only: the sender probes bandwidth on the RTX stream.
                return;
            }
            let Ok((osn, original)) = read_rtx_payload(p.payload) else {
                self.counters.malformed += 1;
                return;
            };
            let apt = section
                .payload_types
                .rtx
                .iter()
                .find(|(r, _)| *r == p.payload_type)
                .map(|(_, a)| *a)
                .unwrap_or(p.payload_type);
            let repaired = section
                .receive
                .iter()
                .find(|r| r.ssrc != p.ssrc && (rid.is_none() || r.rid.as_deref() == rid))
                .map(|r| r.ssrc);
            let Some(media_ssrc) = repaired else {
                self.counters.unroutable += 1;
                return;
            };
            (media_ssrc, apt, osn, original, true)
        } else {
            (p.ssrc, p.payload_type, p.sequence_number, p.payload, false)
        };
        // RFC 2198: media inside a redundancy wrapper is delivered as its primary block;
        // FEC and padding-only packets take a sequence number (counted, not delivered).
        let inner = if section.payload_types.is_red(pt) {
            match red_primary(payload) {
                Some((inner_pt, data)) if !section.payload_types.is_fec(inner_pt) => {
                    Some((inner_pt, data))
                }
                Some(_) => None,
                None => {
                    self.counters.malformed += 1;
                    return;
                }
            }
        } else if section.payload_types.is_fec(pt) || payload.is_empty() {
            None
        } else {
            Some((pt, payload))
        };
        let Some(stream) = section.receive_stream(ssrc, rid, clock) else {
            self.counters.unroutable += 1;
            return;
        };
        let stream_rid = stream.rid.clone();
        let arrival = stream.stats.on_packet(now, seq, p.timestamp, payload.len());
        let crate::rtp::session::receive::Arrival::Accepted(ext_seq) = arrival else {
            return;
        };
        let c = &mut stream.counters;
        c.header_bytes = c
            .header_bytes
            .saturating_add(plain.len().saturating_sub(p.payload.len()) as u64);
        c.last_packet = Some(now);
        if rtx {
            c.retransmitted_packets += 1;
            c.retransmitted_bytes = c.retransmitted_bytes.saturating_add(payload.len() as u64);
        }
        match inner {
            Some((inner_pt, _)) => c.payload_type = Some(inner_pt),
            // FEC (alone or inside RED) is counted and not used (RFC 5109).
            None if !payload.is_empty() => c.fec_packets += 1,
            None => {}
        }
        let tracked = match stream.nack.as_mut() {
            Some(n) => {
                n.on_packet(now, ext_seq);
                true
            }
            None => false,
        };
        if tracked && self.nack_due.is_none() {
            // The NACK round runs soon (a field of its own: `section` is still borrowed).
            self.nack_due = Some(now);
        }
        let Some((pt, payload)) = inner else {
            return;
        };
        self.counters.rtp_received += 1;
        if !section.receiving {
            section.receiving = true;
            self.arrived.push(id);
        }
        let level = ext
            .audio_level
            .map(|a| 10f64.powf(-f64::from(a.level) / 20.0));
        section.sources.note(
            false,
            RtpSource {
                source: ssrc,
                timestamp: now,
                rtp_timestamp: p.timestamp,
                audio_level: level,
            },
        );
        for csrc in p.csrcs() {
            section.sources.note(
                true,
                RtpSource {
                    source: csrc,
                    timestamp: now,
                    rtp_timestamp: p.timestamp,
                    audio_level: None,
                },
            );
        }
        if section.mode == ReceiveMode::Frames {
            let format = section
                .codecs
                .iter()
                .find(|c| c.payload_type == pt)
                .and_then(PayloadFormat::from_codec);
            if let Some(format) = format {
                let kind = section.kind;
                let hole_wait = section.hole_wait;
                let Some(stream) = section.receive.iter_mut().find(|r| r.ssrc == ssrc) else {
                    return;
                };
                if stream.frames.as_ref().is_none_or(|f| f.payload_type != pt) {
                    stream.frames = Some(FrameAssembler {
                        payload_type: pt,
                        reorder: ReorderBuffer::new(ReorderConfig {
                            max_hole_wait: hole_wait,
                            ..ReorderConfig::default()
                        }),
                        depack: Depacketizer::new(format, DepacketizerConfig::default()),
                    });
                }
                let Some(fa) = stream.frames.as_mut() else {
                    return;
                };
                fa.reorder.insert(now, ext_seq, p.timestamp, p.marker, payload);
                let mut frames = Vec::new();
                let dropped = fa.drain(now, ssrc, stream.rid.as_ref(), &mut frames);
                stream.counters.frames_received += frames.len() as u64;
                let pli = dropped
                    && kind == MediaKind::Video
                    && stream
                        .last_pli
                        .is_none_or(|t| now.saturating_duration_since(t) >= PLI_INTERVAL);
                if pli {
                    stream.last_pli = Some(now);
                }
                for f in frames {
                    self.push_event(id, MediaEvent::Frame(f));
                }
                if pli {
                    self.request_keyframe(id);
                }
                return;
            }
        }
        self.push_event(
            id,
            MediaEvent::Rtp(ReceivedRtp {
                ssrc,
                payload_type: pt,
                sequence_number: ext_seq,
                timestamp: p.timestamp,
                marker: p.marker,
                retransmission: rtx,
                rid: stream_rid,
                arrival: now,
                payload: payload.to_vec(),
            }),
        );
    }

    /// Writes, keeps and encrypts one packet of transceiver `id`'s sender (see
    /// [`OutgoingRtp`]); returns its sequence number, or `None` when it was not sent (no
    /// keys yet, the transceiver does not send, unknown payload type, queue full).
    ///
    /// These packets are not paced: an application giving whole RTP packets (forwarding,
    /// SFUs) already has their timing from the original sender, and holding them would add
    /// delay it cannot see. They are recorded for the bandwidth estimate and spend the
    /// pacer's budget, so paced frames and forwarded packets share the estimate.
    pub(crate) fn send_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rtp: &OutgoingRtp<'_>,
    ) -> Option<u16> {
        self.write_rtp(now, id, rtp, false)
    }

    /// [`MediaState::send_rtp`], through the pacer when `paced`.
    fn write_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rtp: &OutgoingRtp<'_>,
        paced: bool,
    ) -> Option<u16> {
        let full = if paced {
            self.paced.len() >= MAX_PACED_PACKETS
        } else {
            self.queue.len() >= MAX_QUEUED_PACKETS
        };
        if self.contexts().is_none() || full {
            self.counters.queue_full += u64::from(self.srtp.is_some());
            return None;
        }
        let twcc_id = self.ext_map.id(ExtensionKind::TransportCc);
        let section = self.sections.iter_mut().find(|s| s.transceiver == id)?;
        if !section.send_active || !section.direction.is_some_and(RtpTransceiverDirection::sends) {
            return None;
        }
        let pt = match rtp.payload_type {
            Some(pt) => pt,
            None => section.payload_types.media.first()?.0,
        };
        let media = section.payload_types.media.iter().any(|(p, _)| *p == pt);
        let known =
            media || section.payload_types.telephone_events.iter().any(|(p, _)| *p == pt);
        if !known {
            return None;
        }
        let send = section.send.as_mut()?;
        let seq = send.seq;
        send.seq = seq.wrapping_add(1);
        let twcc_seq = twcc_id.map(|_| {
            let s = self.twcc_seq;
            self.twcc_seq = s.wrapping_add(1);
            s
        });
        let values = Extensions {
            mid: Some(section.mid.as_str()),
            transport_cc: twcc_seq,
            ..Extensions::default()
        };
        let header = RtpHeader {
            marker: rtp.marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: rtp.timestamp,
            ssrc: send.ssrc,
            csrcs: &[],
            extensions: HeaderExtensions::Typed {
                map: &self.ext_map,
                values: &values,
                extra: &[],
            },
        };
        let mut buf = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(MAX_PACKET));
        buf.clear();
        if header
            .write_packet(&mut buf, rtp.payload, crate::rtp::Padding::None)
            .is_err()
        {
            self.spare.push(buf);
            return None;
        }
        send.stats.on_sent(now, rtp.timestamp, rtp.payload.len());
        let header_len = buf.len().saturating_sub(rtp.payload.len()) as u64;
        send.counters.header_bytes = send.counters.header_bytes.saturating_add(header_len);
        if media {
            // The stream's codec (telephone events are not its codec).
            send.counters.payload_type = Some(pt);
        }
        if let Some(h) = send.history.as_mut() {
            h.store(now, seq, &buf);
        }
        let srtp = self.srtp.as_mut()?;
        if let Err(e) = srtp.local.protect_rtp(&mut buf) {
            tracing::debug!("SRTP protect failed: {e}");
            self.spare.push(buf);
            return None;
        }
        let len = buf.len();
        if paced {
            self.paced_bytes += len;
            self.paced.push_back((buf, twcc_seq));
        } else {
            if let Some(s) = twcc_seq {
                self.bwe.on_sent(now, s, len);
            }
            self.pacer.spend(now, len);
            self.queue.push_back(buf);
        }
        self.counters.rtp_sent += 1;
        Some(seq)
    }

    /// The pacing rate: 2.5 × the estimate (the start rate before feedback), faster when
    /// the queue would otherwise take more than 2 s to leave.
    fn pacing_rate(&self) -> u64 {
        let target = (self.bwe.target() as f64 * PACING_FACTOR) as u64;
        let drain = (self.paced_bytes as u64 * 8).saturating_mul(1000)
            / MAX_PACER_QUEUE_TIME.as_millis().max(1) as u64;
        target.max(drain)
    }

    /// Moves the paced packets whose turn came at `now` to the send queue; each is recorded
    /// for the bandwidth estimate as it leaves.
    fn release(&mut self, now: Instant) {
        if self.paced.is_empty() {
            return;
        }
        let rate = self.pacing_rate();
        self.pacer.set_rate(now, rate);
        while self.pacer.can_send(now) {
            let Some((buf, twcc_seq)) = self.paced.pop_front() else {
                break;
            };
            let len = buf.len();
            self.paced_bytes = self.paced_bytes.saturating_sub(len);
            self.pacer.spend(now, len);
            if let Some(s) = twcc_seq {
                self.bwe.on_sent(now, s, len);
            }
            self.queue.push_back(buf);
        }
    }

    /// Packets the pacer holds.
    #[cfg(test)]
    pub(crate) fn paced_len(&self) -> usize {
        self.paced.len()
    }

    /// Whether packets wait for the scheduler.
    #[inline]
    pub(crate) fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Appends the next queued packet to `out`; its length, or `None` when none waits.
    pub(crate) fn poll_transmit_into(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        let p = self.queue.pop_front()?;
        out.extend_from_slice(&p);
        let n = p.len();
        if self.spare.len() < 64 {
            self.spare.push(p);
        }
        Some(n)
    }
}

impl MediaState {
    /// The driver's wall clock: `now` is `unix` since the Unix epoch (sender reports carry
    /// NTP time, RFC 3550 §6.4.1; without it only receiver reports are sent).
    pub(crate) fn set_wall_clock(&mut self, now: Instant, unix: Duration) {
        self.ntp = Some(NtpClock::new(now, unix));
    }

    /// Encrypts an RTCP compound (RFC 3711 §3.4) and queues it.
    fn queue_rtcp(&mut self, mut buf: Vec<u8>) {
        if self.rtcp_contexts().is_none() {
            return;
        }
        let srtp = match self.rtcp_separate {
            false => self.srtp.as_mut(),
            true => self.srtcp.as_mut(),
        };
        let Some(srtp) = srtp else {
            return;
        };
        if self.queue.len() >= MAX_QUEUED_PACKETS {
            self.counters.queue_full += 1;
            return;
        }
        match srtp.local.protect_rtcp(&mut buf) {
            Ok(()) => {
                self.queue.push_back(buf);
                self.counters.rtcp_sent += 1;
            }
            Err(e) => tracing::debug!("SRTCP protect failed: {e}"),
        }
    }

    fn buffer(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(MAX_PACKET));
        b.clear();
        b
    }

    /// An SRTCP packet (RFC 3711 §3.4) arrived at `now`: reports, feedback, goodbyes.
    pub(crate) fn handle_rtcp(&mut self, now: Instant, data: &[u8]) {
        self.decrypt(data, true, |m, plain| {
            for p in parse_compound(plain) {
                match p {
                    Ok(p) => {
                        m.counters.rtcp_received += 1;
                        m.handle_rtcp_packet(now, p);
                    }
                    Err(_) => {
                        m.counters.malformed += 1;
                        break;
                    }
                }
            }
        });
    }

    fn handle_rtcp_packet(&mut self, now: Instant, p: RtcpPacket<'_>) {
        match p {
            RtcpPacket::SenderReport(sr) => {
                for s in &mut self.sections {
                    if let Some(r) = s.receive.iter_mut().find(|r| r.ssrc == sr.info.ssrc) {
                        r.stats.on_sender_report(now, sr.info.ntp_time);
                        let reports = r.counters.remote_sr.map_or(0, |x| x.reports);
                        r.counters.remote_sr = Some(RemoteSenderReport {
                            packets: sr.info.packet_count,
                            octets: sr.info.octet_count,
                            ntp: sr.info.ntp_time,
                            reports: reports.saturating_add(1),
                        });
                    }
                }
                self.on_report_blocks(now, sr.reports.iter());
            }
            RtcpPacket::ReceiverReport(rr) => self.on_report_blocks(now, rr.reports.iter()),
            RtcpPacket::Nack(nack) => {
                self.counters.nacks_received += 1;
                if let Some(c) = self.outbound_counters_mut(nack.media_ssrc) {
                    c.nack_count += 1;
                }
                // At most one NACK packet's worth of sequence numbers per packet (17 per
                // entry, entries bounded by the datagram), each resent at most once per RTT.
                for seq in nack.lost() {
                    self.retransmit(now, nack.media_ssrc, seq);
                }
            }
            RtcpPacket::Pli(pli) => {
                if let Some(c) = self.outbound_counters_mut(pli.media_ssrc) {
                    c.pli_count += 1;
                }
                self.keyframe_requested(pli.media_ssrc)
            }
            RtcpPacket::Fir(fir) => {
                for e in fir.entries() {
                    if let Some(c) = self.outbound_counters_mut(e.ssrc) {
                        c.fir_count += 1;
                    }
                    self.keyframe_requested(e.ssrc);
                }
            }
            RtcpPacket::Bye(bye) => {
                for ssrc in bye.ssrcs() {
                    self.router.forget(ssrc);
                    for srtp in [self.srtp.as_mut(), self.srtcp.as_mut()].into_iter().flatten() {
                        srtp.remote.remove_stream(ssrc);
                    }
                }
            }
            RtcpPacket::TransportCc(fb) => {
                self.counters.twcc_feedback_received += 1;
                if let Some(rtt) =
                    self.sections.iter().find_map(|s| s.send.as_ref()?.stats.rtt())
                {
                    self.bwe.set_rtt(rtt);
                }
                self.bwe.on_feedback(now, &fb);
                self.estimate_changed(now);
            }
            // REMB (draft-alvestrand-rmcat-remb-03 §2.2) caps the estimate of the transport
            // whichever of its SSRCs it lists: browsers send one for all their streams.
            RtcpPacket::Remb(remb) => {
                self.bwe.on_remb(now, remb.bitrate());
                self.estimate_changed(now);
            }
            // SDES, APP and XR carry nothing we use.
            RtcpPacket::Sdes(_)
            | RtcpPacket::App(_)
            | RtcpPacket::Xr(_)
            | RtcpPacket::Unknown(_) => {}
        }
    }

    /// Tells every sending transceiver the new estimate when it moved enough (see
    /// [`MediaEvent::TargetBitrate`]).
    fn estimate_changed(&mut self, now: Instant) {
        let Some(bitrate_bps) = self.bwe.poll_target(now) else {
            return;
        };
        let ids: Vec<TransceiverId> = self
            .sections
            .iter()
            .filter(|s| s.send.is_some() && s.direction.is_some_and(RtpTransceiverDirection::sends))
            .map(|s| s.transceiver)
            .collect();
        for id in ids {
            self.push_event(id, MediaEvent::TargetBitrate { bitrate_bps });
        }
    }

    fn on_report_blocks(
        &mut self,
        now: Instant,
        blocks: impl Iterator<Item = crate::rtcp::ReportBlock>,
    ) {
        let Some(clock) = self.ntp else {
            return;
        };
        for b in blocks {
            let Some(send) = self
                .sections
                .iter_mut()
                .filter_map(|s| s.send.as_mut())
                .find(|s| s.ssrc == b.ssrc)
            else {
                continue;
            };
            send.stats.on_report_block(
                now,
                &clock,
                &crate::rtp::session::receive::ReportBlockValues {
                    fraction_lost: b.fraction_lost,
                    cumulative_lost: b.cumulative_lost,
                    extended_highest_seq: b.highest_seq,
                    jitter: b.jitter,
                    last_sr: b.last_sr,
                    delay_since_last_sr: b.delay_since_last_sr,
                },
            );
        }
    }

    /// The stats counters of our send stream `ssrc`.
    fn outbound_counters_mut(&mut self, ssrc: u32) -> Option<&mut OutboundCounters> {
        self.sections
            .iter_mut()
            .filter_map(|s| s.send.as_mut())
            .find(|t| t.ssrc == ssrc)
            .map(|t| &mut t.counters)
    }

    fn keyframe_requested(&mut self, media_ssrc: u32) {
        let Some(s) = self
            .sections
            .iter()
            .find(|s| s.send.as_ref().is_some_and(|t| t.ssrc == media_ssrc))
        else {
            return;
        };
        let id = s.transceiver;
        self.counters.keyframe_requests_received += 1;
        self.push_event(id, MediaEvent::KeyframeRequest);
    }

    /// Answers a NACK for `seq` of our stream `media_ssrc`: the kept packet again, on the
    /// RTX stream when RTX was negotiated (RFC 4588 §4), else as it was.
    fn retransmit(&mut self, now: Instant, media_ssrc: u32, seq: u16) {
        if self.contexts().is_none() || self.queue.len() >= MAX_QUEUED_PACKETS {
            return;
        }
        let mut orig = self.buffer();
        let Some(section) = self
            .sections
            .iter_mut()
            .find(|s| s.send.as_ref().is_some_and(|t| t.ssrc == media_ssrc))
        else {
            self.spare.push(orig);
            return;
        };
        let Some(send) = section.send.as_mut() else {
            self.spare.push(orig);
            return;
        };
        let rtt = send.stats.rtt();
        match send.history.as_mut().and_then(|h| h.resend(now, seq, rtt)) {
            Some(p) => orig.extend_from_slice(p),
            None => {
                self.spare.push(orig);
                return;
            }
        }
        let Ok(p) = RtpPacket::parse(&orig) else {
            self.spare.push(orig);
            return;
        };
        let payload_len = p.payload.len() as u64;
        let mut out = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(MAX_PACKET));
        out.clear();
        match section.payload_types.rtx_for(p.payload_type) {
            Some(rtx_pt) => {
                let rtx_seq = send.rtx_seq;
                send.rtx_seq = rtx_seq.wrapping_add(1);
                let values = Extensions {
                    mid: Some(section.mid.as_str()),
                    ..Extensions::default()
                };
                let header = RtpHeader {
                    marker: p.marker,
                    payload_type: rtx_pt,
                    sequence_number: rtx_seq,
                    timestamp: p.timestamp,
                    ssrc: send.rtx_ssrc,
                    csrcs: &[],
                    extensions: HeaderExtensions::Typed {
                        map: &self.ext_map,
                        values: &values,
                        extra: &[],
                    },
                };
                if header.write(&mut out).is_err() {
                    self.spare.push(orig);
                    self.spare.push(out);
                    return;
                }
                crate::rtp::write_rtx_payload(&mut out, p.sequence_number, p.payload);
            }
            None => out.extend_from_slice(&orig),
        }
        self.spare.push(orig);
        let Some(srtp) = self.srtp.as_mut() else {
            return;
        };
        match srtp.local.protect_rtp(&mut out) {
            Ok(()) => {
                self.queue.push_back(out);
                self.counters.retransmitted += 1;
                send.counters.retransmitted_packets += 1;
                send.counters.retransmitted_bytes += payload_len;
            }
            Err(e) => {
                tracing::debug!("SRTP protect of a retransmission failed: {e}");
                self.spare.push(out);
            }
        }
    }

    /// The RTP session's next timer: the report, NACK rounds while packets are missing,
    /// TWCC feedback, DTMF playout.
    pub(crate) fn next_timer(&self) -> Option<(Instant, TimerName)> {
        // Nothing runs before the keys exist.
        self.keys.as_ref()?;
        let dtmf = self
            .sections
            .iter()
            .filter_map(|s| s.send.as_ref()?.dtmf.as_ref()?.poll_timeout())
            .min();
        crate::session::timers::earliest([
            self.report.due().map(|t| (t, TimerName::Media(MediaTimer::Report))),
            self.nack_due.map(|t| (t, TimerName::Media(MediaTimer::Nack))),
            self.twcc.poll_timeout().map(|t| (t, TimerName::Media(MediaTimer::Twcc))),
            dtmf.map(|t| (t, TimerName::Media(MediaTimer::Dtmf))),
            if self.paced.is_empty() { None } else { self.pacer.next_send() }
                .map(|t| (t, TimerName::Media(MediaTimer::Pace))),
            self.sections
                .iter()
                .flat_map(|s| &s.receive)
                .filter_map(|r| r.frames.as_ref()?.reorder.poll_timeout())
                .min()
                .map(|t| (t, TimerName::Media(MediaTimer::Reorder))),
        ])
    }

    /// Runs what is due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.keys.is_none() {
            return;
        }
        if self.report.due().is_none() && !self.sections.is_empty() {
            self.report.start(now, &mut self.rng);
        }
        if self.report.due().is_some_and(|t| t <= now) {
            self.send_report(now);
            self.report.sent(now, &mut self.rng);
        }
        if self.nack_due.is_some_and(|t| t <= now) {
            self.send_nacks(now);
        }
        if self.twcc.poll_timeout().is_some_and(|t| t <= now) {
            self.send_twcc(now);
        }
        self.run_dtmf(now);
        self.drain_frames(now);
        self.release(now);
    }

    /// Frames whose missing packets were given up on (the reorder buffer's hole limits).
    fn drain_frames(&mut self, now: Instant) {
        let mut out = Vec::new();
        let mut pli = Vec::new();
        for s in &mut self.sections {
            for r in &mut s.receive {
                let Some(fa) = r.frames.as_mut() else {
                    continue;
                };
                if fa.reorder.poll_timeout().is_none_or(|t| t > now) {
                    continue;
                }
                let mut frames = Vec::new();
                let dropped = fa.drain(now, r.ssrc, r.rid.as_ref(), &mut frames);
                r.counters.frames_received += frames.len() as u64;
                if dropped
                    && s.kind == MediaKind::Video
                    && r.last_pli.is_none_or(|t| now.saturating_duration_since(t) >= PLI_INTERVAL)
                {
                    r.last_pli = Some(now);
                    pli.push(s.transceiver);
                }
                out.extend(frames.into_iter().map(|f| (s.transceiver, f)));
            }
        }
        for (id, f) in out {
            self.push_event(id, MediaEvent::Frame(f));
        }
        for id in pli {
            self.request_keyframe(id);
        }
    }

    /// Receiver `id` hands out frames or packets (see [`ReceiveMode`]).
    /// Receiver `id`'s `jitterBufferTarget` changed (webrtc-pc §5.3).
    pub(crate) fn set_jitter_buffer_target(&mut self, id: TransceiverId, target: Option<Duration>) {
        for s in self.sections.iter_mut().filter(|s| s.transceiver == id) {
            s.set_hole_wait(target);
        }
    }

    pub(crate) fn set_receive_mode(&mut self, id: TransceiverId, mode: ReceiveMode) -> bool {
        let Some(s) = self.sections.iter_mut().find(|s| s.transceiver == id) else {
            return false;
        };
        s.mode = mode;
        if mode == ReceiveMode::Packets {
            for r in &mut s.receive {
                r.frames = None;
            }
        }
        true
    }

    /// Turns transceiver `id`'s sending on or off (`setParameters` with every encoding
    /// inactive, webrtc-pc §5.2.2 `active`).
    pub(crate) fn set_send_active(&mut self, id: TransceiverId, active: bool) {
        for s in self.sections.iter_mut().filter(|s| s.transceiver == id) {
            s.send_active = active;
        }
    }

    /// Packetizes one encoded frame of `duration` (RFC 7741, RFC 6184, ... by the first
    /// negotiated codec of the sender) and sends its packets; the frame's RTP timestamp
    /// advances by the duration on the codec's clock (also while the sender is inactive,
    /// when nothing is sent). Returns the packets sent. Video packets leave through the
    /// pacer (at 2.5 × the bandwidth estimate, draft-ietf-rmcat-gcc-02 §4), audio at once;
    /// a video frame that does not fit the pacer's queue is not sent (0).
    pub(crate) fn send_frame(
        &mut self,
        now: Instant,
        id: TransceiverId,
        frame: &[u8],
        duration: Duration,
    ) -> crate::Result<usize> {
        if self.keys.is_none() {
            return Err(crate::Error::invalid_state("the transport is not connected yet"));
        }
        let section = self
            .sections
            .iter_mut()
            .find(|s| s.transceiver == id)
            .ok_or_else(|| crate::Error::invalid_state("the transceiver is not negotiated"))?;
        let codec = section
            .codecs
            .iter()
            .find(|c| PayloadFormat::from_codec(c).is_some())
            .cloned()
            .ok_or_else(|| crate::Error::not_supported("no negotiated codec rtcpeer can packetize"))?;
        let active = section.send_active;
        // Video leaves through the pacer; audio frames are small and late audio is worse
        // than a burst (libwebrtc sends audio ahead of paced video too).
        let paced = section.kind == MediaKind::Video;
        let send = section
            .send
            .as_mut()
            .ok_or_else(|| crate::Error::invalid_state("the transceiver does not send"))?;
        if send.packetizer.as_ref().is_none_or(|(pt, _)| *pt != codec.payload_type) {
            let format = PayloadFormat::from_codec(&codec)
                .ok_or_else(|| crate::Error::not_supported("codec without a payload format"))?;
            let p = Packetizer::new(format, MAX_RTP_PAYLOAD)
                .map_err(|e| crate::Error::operation(e.to_string()))?;
            send.packetizer = Some((codec.payload_type, p));
        }
        let timestamp = send.frame_timestamp;
        let ticks = duration.as_nanos() * u128::from(codec.clock_rate) / 1_000_000_000;
        send.frame_timestamp = timestamp.wrapping_add(ticks as u32);
        if !active {
            // The media clock runs on, so the stream resumes in time when re-activated.
            return Ok(0);
        }
        let Some((pt, packetizer)) = send.packetizer.as_mut() else {
            return Ok(0);
        };
        let pt = *pt;
        let mut payloads = packetizer
            .packetize(frame)
            .map_err(|e| crate::Error::type_error(format!("frame not sent: {e}")))?;
        let mut buf = [0u8; MAX_RTP_PAYLOAD];
        let mut pending: Vec<(Vec<u8>, bool)> = Vec::new();
        while let Some(info) = payloads
            .next_into(&mut buf)
            .map_err(|e| crate::Error::type_error(format!("frame not sent: {e}")))?
        {
            pending.push((buf[..info.len].to_vec(), info.marker));
        }
        if paced && self.paced.len() + pending.len() > MAX_PACED_PACKETS {
            // A frame is sent whole or not at all: half a frame only wastes the link.
            self.counters.pacer_dropped_frames += 1;
            return Ok(0);
        }
        let mut sent = 0;
        for (payload, marker) in &pending {
            let rtp = OutgoingRtp {
                payload_type: Some(pt),
                timestamp,
                marker: *marker,
                payload,
            };
            if self.write_rtp(now, id, &rtp, paced).is_some() {
                sent += 1;
            }
        }
        self.release(now);
        if sent > 0
            && let Some(c) = self
                .sections
                .iter_mut()
                .find(|s| s.transceiver == id)
                .and_then(|s| s.send.as_mut())
        {
            c.counters.frames_sent += 1;
        }
        Ok(sent)
    }

    /// Our SSRC for RTCP: the first sender's, else the first section's (RFC 3550 §6.4.2:
    /// a receiver reports under its own SSRC).
    fn reporting_ssrc(&self) -> Option<u32> {
        self.sections
            .iter()
            .find_map(|s| s.send.as_ref().map(|t| t.ssrc))
            .or_else(|| self.sections.first().map(|s| s.local_ssrc))
    }

    /// A regular compound (RFC 3550 §6.1): an SR for each of our senders (the first one with
    /// the report blocks, at most 31), else an RR, then SDES with our CNAME (RFC 3550 §6.5.1).
    fn send_report(&mut self, now: Instant) {
        let Some(ssrc) = self.reporting_ssrc() else {
            return;
        };
        let mut blocks = Vec::new();
        for s in &mut self.sections {
            for r in &mut s.receive {
                if blocks.len() >= crate::rtcp::MAX_COUNT {
                    break;
                }
                if let Some(v) = r.stats.report(now) {
                    blocks.push(crate::rtcp::ReportBlock {
                        ssrc: r.ssrc,
                        fraction_lost: v.fraction_lost,
                        cumulative_lost: v.cumulative_lost,
                        highest_seq: v.extended_highest_seq,
                        jitter: v.jitter,
                        last_sr: v.last_sr,
                        delay_since_last_sr: v.delay_since_last_sr,
                    });
                }
            }
        }
        let cname = self.sections.first().map(|s| s.cname.clone()).unwrap_or_default();
        let mut buf = self.buffer();
        let mut first = true;
        if let Some(clock) = self.ntp {
            for s in &self.sections {
                let Some(send) = s.send.as_ref() else {
                    continue;
                };
                let Some(info) = send.stats.sender_info(now, &clock) else {
                    continue;
                };
                let info = RtcpSenderInfo {
                    ssrc: send.ssrc,
                    ntp_time: info.ntp,
                    rtp_time: info.rtp_timestamp,
                    packet_count: info.packet_count,
                    octet_count: info.octet_count,
                };
                let b = if first { std::mem::take(&mut blocks) } else { Vec::new() };
                first = false;
                if write_sender_report(&mut buf, &info, b, &[]).is_err() {
                    return;
                }
            }
        }
        if first && write_receiver_report(&mut buf, ssrc, blocks, &[]).is_err() {
            return;
        }
        if write_sdes_cname(&mut buf, ssrc, cname.as_bytes()).is_err() {
            return;
        }
        self.queue_rtcp(buf);
    }

    /// NACKs (RFC 4585 §6.2.1) for the packets missing now, and a PLI for streams whose
    /// loss is beyond repair; looks again in [`NACK_INTERVAL`] while anything is missing.
    fn send_nacks(&mut self, now: Instant) {
        self.nack_due = None;
        let Some(sender) = self.reporting_ssrc() else {
            return;
        };
        let mut packets: Vec<Vec<u8>> = Vec::new();
        let mut lost16: Vec<u16> = Vec::new();
        let mut any = false;
        for s in &mut self.sections {
            let rtt = s.send.as_ref().and_then(|t| t.stats.rtt());
            for r in &mut s.receive {
                let Some(n) = r.nack.as_mut() else {
                    continue;
                };
                self.nack_scratch.clear();
                n.poll(now, rtt, &mut self.nack_scratch);
                self.nack_scratch.truncate(MAX_NACKED_PER_ROUND);
                let keyframe = n.take_keyframe_request();
                if !self.nack_scratch.is_empty() {
                    any = true;
                    lost16.clear();
                    lost16.extend(self.nack_scratch.iter().map(|&x| x as u16));
                    let mut b = Vec::with_capacity(256);
                    if write_nack(&mut b, sender, r.ssrc, nack_pairs(&lost16)).is_ok() {
                        packets.push(b);
                        self.counters.nacks_sent += 1;
                        r.counters.nack_count += 1;
                    }
                }
                if keyframe {
                    let mut b = Vec::with_capacity(16);
                    write_pli(&mut b, sender, r.ssrc);
                    packets.push(b);
                    self.counters.keyframe_requests_sent += 1;
                    r.counters.pli_count += 1;
                }
                any |= n.requested() > n.given_up();
            }
        }
        for p in packets {
            self.queue_rtcp(p);
        }
        if any {
            self.nack_due = Some(now + NACK_INTERVAL);
        }
    }

    /// Transport-wide CC feedback for the packets that arrived since the last one.
    fn send_twcc(&mut self, now: Instant) {
        let Some(sender) = self.reporting_ssrc() else {
            return;
        };
        self.twcc_scratch.clear();
        let Some(header) = self.twcc.poll_feedback(now, 1000, &mut self.twcc_scratch) else {
            return;
        };
        let mut arrivals: Vec<TwccArrival> = Vec::with_capacity(self.twcc_scratch.len() + 1);
        if let Some(&(first, _)) = self.twcc_scratch.first()
            && first as u16 != header.base_seq
        {
            // Lost packets before the first arrival start the feedback (they are reported
            // as not received).
            arrivals.push(TwccArrival {
                seq: header.base_seq,
                arrival_us: None,
            });
        }
        arrivals.extend(self.twcc_scratch.iter().map(|&(seq, us)| TwccArrival {
            seq: seq as u16,
            arrival_us: i64::try_from(us).ok(),
        }));
        let media = self
            .sections
            .iter()
            .find_map(|s| s.receive.first().map(|r| r.ssrc))
            .unwrap_or(0);
        let mut buf = self.buffer();
        let mut start = 0;
        while start < arrivals.len() {
            let count = self.twcc_fb_count;
            match write_twcc_feedback(&mut buf, sender, media, count, &arrivals[start..], MAX_FEEDBACK_LEN) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    start += n;
                    self.twcc_fb_count = count.wrapping_add(1);
                    self.counters.twcc_feedback_sent += 1;
                    let next = self.buffer();
                    self.queue_rtcp(std::mem::replace(&mut buf, next));
                }
            }
        }
        self.spare.push(buf);
    }

    /// Moves every sender's DTMF playout on: `tonechange` events and RFC 4733 packets on the
    /// telephone-event payload type, timestamped on the audio stream's clock.
    fn run_dtmf(&mut self, now: Instant) {
        let mut packets: Vec<(TransceiverId, u8, crate::dtmf::DtmfPacket, u32)> = Vec::new();
        let mut events = Vec::new();
        for s in &mut self.sections {
            let Some((te_pt, te_clock)) = s.payload_types.telephone_event else {
                continue;
            };
            let Some(send) = s.send.as_mut() else {
                continue;
            };
            let Some(d) = send.dtmf.as_mut() else {
                continue;
            };
            if d.poll_timeout().is_some_and(|t| t <= now) {
                d.handle_timeout(now);
            }
            while let Some(p) = d.poll_packet(now) {
                // The tone's timestamp on the stream's timeline (RFC 4733 §2.5.1.1).
                let ts = send.stats.timestamp_at(p.tone_start, te_clock);
                packets.push((s.transceiver, te_pt, p, ts.wrapping_add(p.timestamp_offset)));
            }
            while let Some(e) = d.poll_event() {
                events.push((s.transceiver, MediaEvent::ToneChange(e)));
            }
        }
        for (id, pt, p, ts) in packets {
            self.send_rtp(
                now,
                id,
                &OutgoingRtp {
                    payload_type: Some(pt),
                    timestamp: ts,
                    marker: p.marker,
                    payload: &p.payload,
                },
            );
        }
        for (id, e) in events {
            self.push_event(id, e);
        }
    }

    /// `insertDTMF` on transceiver `id`'s sender (webrtc-pc §7.2).
    pub(crate) fn insert_dtmf(
        &mut self,
        now: Instant,
        id: TransceiverId,
        tones: &str,
        duration: Duration,
        gap: Duration,
        can_insert: bool,
    ) -> crate::Result<()> {
        let d = self
            .sections
            .iter_mut()
            .find(|s| s.transceiver == id)
            .and_then(|s| s.send.as_mut())
            .and_then(|t| t.dtmf.as_mut())
            .ok_or_else(|| {
                crate::Error::invalid_state("the sender has no negotiated telephone-event")
            })?;
        d.insert_dtmf(now, tones, duration, gap, can_insert)?;
        let events: Vec<crate::dtmf::ToneChange> = std::iter::from_fn(|| d.poll_event()).collect();
        for e in events {
            self.push_event(id, MediaEvent::ToneChange(e));
        }
        Ok(())
    }

    /// Asks the senders of transceiver `id`'s received streams for a key frame (PLI,
    /// RFC 4585 §6.3.1); false when it receives nothing yet.
    pub(crate) fn request_keyframe(&mut self, id: TransceiverId) -> bool {
        let Some(sender) = self.reporting_ssrc() else {
            return false;
        };
        let Some(s) = self.sections.iter().find(|s| s.transceiver == id) else {
            return false;
        };
        let ssrcs: Vec<u32> = s.receive.iter().map(|r| r.ssrc).collect();
        for &ssrc in &ssrcs {
            let mut b = self.buffer();
            write_pli(&mut b, sender, ssrc);
            self.queue_rtcp(b);
            self.counters.keyframe_requests_sent += 1;
        }
        if let Some(s) = self.sections.iter_mut().find(|s| s.transceiver == id) {
            for r in &mut s.receive {
                r.counters.pli_count += 1;
            }
        }
        !ssrcs.is_empty()
    }

    /// `getSynchronizationSources()` (`contributing` false) or `getContributingSources()`
    /// of transceiver `id`'s receiver at `now` (webrtc-pc §5.3.4).
    pub(crate) fn sources(&self, id: TransceiverId, contributing: bool, now: Instant) -> Vec<RtpSource> {
        self.sections
            .iter()
            .find(|s| s.transceiver == id)
            .map(|s| s.sources.recent(contributing, now))
            .unwrap_or_default()
    }

    /// `toneBuffer` of transceiver `id`'s DTMF sender.
    pub(crate) fn tone_buffer(&self, id: TransceiverId) -> Option<&str> {
        self.sections
            .iter()
            .find(|s| s.transceiver == id)?
            .send
            .as_ref()?
            .dtmf
            .as_ref()
            .map(|d| d.tone_buffer())
    }
}

impl Session {
    /// An RTP or RTCP datagram (RFC 7983 §7) arrived: to the RTP session when it comes from
    /// a path the ICE agent knows (RFC 8445 §7.3.1.4), else counted and dropped.
    pub(super) fn media_handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        class: Class,
        data: &[u8],
    ) {
        if !self.ice_agent().is_some_and(|a| a.knows_path(local, remote)) {
            return;
        }
        match class {
            Class::Rtp => {
                let loss = u32::from(self.settings.simulated_rtp_loss_per_mille);
                if loss > 0 && self.media.rng.next_u32() % 1000 < loss {
                    return;
                }
                self.media.handle_rtp(now, data);
                if !self.media.arrived.is_empty() {
                    for id in std::mem::take(&mut self.media.arrived) {
                        self.push_out(super::SessionOut::MediaArrived(id));
                    }
                }
            }
            _ => self.media.handle_rtcp(now, data),
        }
    }

    /// Sends one RTP packet on transceiver `id`'s sender (see [`OutgoingRtp`]): its sequence
    /// number, or `None` when it was not sent.
    pub fn media_send_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rtp: &OutgoingRtp<'_>,
    ) -> Option<u16> {
        if self.is_closed() {
            return None;
        }
        self.media_for(id).send_rtp(now, id, rtp)
    }

    /// The next queued media packet appended to `out`, with its path.
    pub(super) fn media_poll_into(&mut self, out: &mut Vec<u8>) -> Option<(SocketAddr, SocketAddr)> {
        if !self.media.has_queued() {
            // The common case of a data-only poll: nothing to look up.
            return None;
        }
        let path = self.ice_agent().and_then(|a| a.selected_pair())?;
        loop {
            let start = out.len();
            self.media.poll_transmit_into(out)?;
            // Without rtcp-mux, SRTCP leaves on the RTCP component (RFC 5761 §4, RFC 8445
            // §4); before that component has a pair it is dropped.
            if self.rtcp_separate() && super::demux::classify(&out[start..]) == Class::Rtcp {
                match self.rtcp_path() {
                    Some(p) => return Some(p),
                    None => {
                        out.truncate(start);
                        continue;
                    }
                }
            }
            return Some(path);
        }
    }

    /// Counters of the RTP session, with the latest round-trip time.
    pub fn media_counters(&self) -> MediaCounters {
        let mut c = self.media.counters;
        c.available_outgoing_bitrate = self.media.bwe.estimate();
        c.round_trip_time = self
            .media
            .sections
            .iter()
            .find_map(|s| s.send.as_ref()?.stats.rtt());
        // Every transport's RTP session (unbundled m-sections, `session/transports.rs`).
        for e in &self.extra {
            let x = e.media.counters;
            c.rtp_received = c.rtp_received.saturating_add(x.rtp_received);
            c.rtp_sent = c.rtp_sent.saturating_add(x.rtp_sent);
            c.srtp_rejected = c.srtp_rejected.saturating_add(x.srtp_rejected);
            c.malformed = c.malformed.saturating_add(x.malformed);
            c.unroutable = c.unroutable.saturating_add(x.unroutable);
            c.queue_full = c.queue_full.saturating_add(x.queue_full);
            c.rtcp_received = c.rtcp_received.saturating_add(x.rtcp_received);
            c.rtcp_sent = c.rtcp_sent.saturating_add(x.rtcp_sent);
            c.nacks_received = c.nacks_received.saturating_add(x.nacks_received);
            c.retransmitted = c.retransmitted.saturating_add(x.retransmitted);
            c.nacks_sent = c.nacks_sent.saturating_add(x.nacks_sent);
            c.keyframe_requests_received = c.keyframe_requests_received.saturating_add(x.keyframe_requests_received);
            c.keyframe_requests_sent = c.keyframe_requests_sent.saturating_add(x.keyframe_requests_sent);
            c.twcc_feedback_sent = c.twcc_feedback_sent.saturating_add(x.twcc_feedback_sent);
            c.twcc_feedback_received =
                c.twcc_feedback_received.saturating_add(x.twcc_feedback_received);
            c.pacer_dropped_frames = c.pacer_dropped_frames.saturating_add(x.pacer_dropped_frames);
            if c.round_trip_time.is_none() {
                c.round_trip_time = e
                    .media
                    .sections
                    .iter()
                    .find_map(|s| s.send.as_ref()?.stats.rtt());
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::codecs::RtcpFeedback;

    fn codec(pt: u8, mime: &str, clock: u32, fmtp: Option<&str>, fb: &[(&str, Option<&str>)]) -> RtpCodecParameters {
        RtpCodecParameters {
            payload_type: pt,
            mime_type: mime.into(),
            clock_rate: clock,
            channels: None,
            sdp_fmtp_line: fmtp.map(str::to_string),
            rtcp_feedback: fb
                .iter()
                .map(|(t, p)| RtcpFeedback {
                    fb_type: t.to_string(),
                    parameter: p.map(str::to_string),
                })
                .collect(),
        }
    }

    fn video(mid: &str, id: u64, dir: RtpTransceiverDirection) -> NegotiatedMedia {
        NegotiatedMedia {
            mid: mid.into(),
            transceiver: TransceiverId(id),
            kind: MediaKind::Video,
            direction: Some(dir),
            codecs: vec![
                codec(96, "video/VP8", 90_000, None, &[("nack", None), ("nack", Some("pli")), ("transport-cc", None)]),
                codec(97, "video/rtx", 90_000, Some("apt=96"), &[]),
            ],
            header_extensions: Vec::new(),
            local_ssrcs: (0x1234_5678, 0x9abc_def0),
            remote_ssrcs: vec![4242],
            rids: Vec::new(),
            cname: "c".into(),
            rtcp_reduced_size: false,
            send_active: true,
            jitter_buffer_target: None,
        }
    }

    fn audio(mid: &str, id: u64) -> NegotiatedMedia {
        NegotiatedMedia {
            mid: mid.into(),
            transceiver: TransceiverId(id),
            kind: MediaKind::Audio,
            direction: Some(RtpTransceiverDirection::SendRecv),
            codecs: vec![
                codec(111, "audio/opus", 48_000, Some("minptime=10;useinbandfec=1"), &[("transport-cc", None)]),
                codec(126, "audio/telephone-event", 8000, None, &[]),
            ],
            header_extensions: Vec::new(),
            local_ssrcs: (11, 12),
            remote_ssrcs: Vec::new(),
            rids: Vec::new(),
            cname: "c".into(),
            rtcp_reduced_size: false,
            send_active: true,
            jitter_buffer_target: None,
        }
    }

    #[test]
    fn sections_follow_the_negotiation_and_keep_their_streams() {
        let mut m = MediaState::default();
        m.apply(&[video("0", 1, RtpTransceiverDirection::RecvOnly), audio("1", 2)]);
        assert_eq!(m.sections.len(), 2);
        let v = &m.sections[0];
        assert_eq!(v.payload_types.media, [(96, 90_000)]);
        assert_eq!(v.payload_types.rtx, [(97, 96)]);
        assert_eq!(v.payload_types.clock_rate(97), Some(90_000));
        assert!(v.payload_types.is_rtx(97) && !v.payload_types.is_rtx(96));
        assert!(v.feedback.nack && v.feedback.pli && v.feedback.transport_cc && !v.feedback.fir);
        assert!(v.send.is_none(), "recvonly sends nothing");
        let a = &m.sections[1];
        assert_eq!(a.payload_types.telephone_event, Some((126, 8000)));
        let send = a.send.as_ref().unwrap();
        assert_eq!((send.ssrc, send.rtx_ssrc), (11, 12));
        assert!(send.dtmf.is_some() && send.history.is_none());
        // Routing: the signalled SSRC and the unique payload types.
        let t = Instant::now();
        assert_eq!(m.router.route(t, 4242, 1, None, None).unwrap().section, TransceiverId(1));
        assert_eq!(m.router.route(t, 7, 111, None, None).unwrap().section, TransceiverId(2));
        // Renegotiated: video now sends; the audio's stream (and its sequence) is kept.
        m.sections[1].send.as_mut().unwrap().seq = 999;
        m.apply(&[video("0", 1, RtpTransceiverDirection::SendRecv), audio("1", 2)]);
        let v = &m.sections[0];
        let vs = v.send.as_ref().unwrap();
        assert!(vs.history.is_some(), "NACK negotiated: a retransmission history");
        assert_eq!(m.sections[1].send.as_ref().unwrap().seq, 999);
        // The video section goes (rejected or stopped: no codecs); its SSRCs unroute.
        let mut gone = video("0", 1, RtpTransceiverDirection::SendRecv);
        gone.codecs.clear();
        m.apply(&[gone, audio("1", 2)]);
        assert_eq!(m.sections.len(), 1);
        assert_eq!(m.router.section_of(4242), None);
        assert!(m.section_mut(TransceiverId(2)).is_some());
    }

    #[test]
    fn red_payloads_give_their_primary_block() {
        // One-byte header only (what Chromium sends around VP8): PT 96, then the data.
        assert_eq!(super::red_primary(&[96, 1, 2, 3]), Some((96, &[1u8, 2, 3][..])));
        // One redundant block of 2 bytes (F, PT 111, offset 960, length 2), then primary.
        let red = [0x80 | 111, 0x0f, 0x00, 0x02, 111, 9, 9, 7, 7, 7];
        assert_eq!(super::red_primary(&red), Some((111, &[7u8, 7, 7][..])));
        // Truncated headers, or a redundant length beyond the payload: malformed.
        assert_eq!(super::red_primary(&[]), None);
        assert_eq!(super::red_primary(&[0x80 | 111, 0, 0]), None);
        assert_eq!(super::red_primary(&[0x80 | 111, 0, 0x03, 0xff, 111, 1]), None);
        // Only headers, the primary empty.
        assert_eq!(super::red_primary(&[96]), Some((96, &[][..])));
        let types = PayloadTypes::from_codecs(&[
            codec(96, "video/VP8", 90_000, None, &[]),
            codec(118, "video/red", 90_000, None, &[]),
            codec(119, "video/rtx", 90_000, Some("apt=118"), &[]),
            codec(120, "video/ulpfec", 90_000, None, &[]),
        ]);
        assert_eq!(types.media, [(96, 90_000)]);
        assert!(types.is_red(118) && types.is_fec(120) && types.is_rtx(119));
        assert_eq!(types.clock_rate(119), Some(90_000), "RTX of RED runs on its clock");
        assert_eq!(types.clock_rate(120), Some(90_000));
        // Chromium offers telephone-event at 48 kHz and 8 kHz beside Opus, and sends the
        // 8 kHz one: both are received, the Opus-clock one is sent (RFC 4733 §2.1).
        let audio = PayloadTypes::from_codecs(&[
            codec(111, "audio/opus", 48_000, None, &[]),
            codec(126, "audio/telephone-event", 8000, None, &[]),
            codec(110, "audio/telephone-event", 48_000, None, &[]),
        ]);
        assert_eq!(audio.telephone_event, Some((110, 48_000)));
        assert_eq!(audio.telephone_events, [(126, 8000), (110, 48_000)]);
        assert!(audio.all().contains(&126) && audio.all().contains(&110));
    }

    #[test]
    fn receive_streams_per_section_are_capped() {
        let mut m = MediaState::default();
        m.apply(&[video("0", 1, RtpTransceiverDirection::RecvOnly)]);
        let s = &mut m.sections[0];
        for ssrc in 0..MAX_RECEIVE_STREAMS as u32 {
            assert!(s.receive_stream(ssrc, Some("h"), 90_000).is_some());
        }
        assert!(s.receive_stream(100, None, 90_000).is_none());
        let r = s.receive_stream(3, None, 90_000).unwrap();
        assert_eq!(r.rid.as_deref(), Some("h"));
        assert!(r.nack.is_some(), "video with NACK tracks loss");
    }
    /// Two connections with an audio and a video transceiver each, connected over a virtual
    /// network (sans-IO: no sockets, a virtual clock), exchanging RTP.
    mod wire {
        use std::collections::VecDeque;
        use std::net::SocketAddr;
        use std::time::{Duration, Instant, SystemTime};

        use crate::cert::{Certificate, CertificateParams};
        use crate::codecs::MediaKind;
        use crate::config::Configuration;
        use crate::connection::{
            Core, CoreSettings, Event, MediaEvent, OfferOptions, PeerConnectionState,
            TransceiverId,
        };
        use crate::ice::IceAgentConfig;
        use crate::negotiator::types::RtpTransceiverDirection;
        use crate::session::demux::{Class, classify};
        use crate::util::SeededRandom;

        const LATENCY: Duration = Duration::from_millis(5);

        fn core(seed: u64) -> Core {
            let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
                .expect("certificate");
            let mut c = Core::new(
                Configuration::default(),
                CoreSettings::default(),
                cert,
                Box::new(SeededRandom::new(seed)),
            );
            c.configure_ice(IceAgentConfig::default(), Box::new(SeededRandom::new(seed ^ 0x55)));
            c
        }

        pub(super) struct Net {
            pub(super) cores: [Core; 2],
            addrs: [SocketAddr; 2],
            pub(super) now: Instant,
            in_flight: VecDeque<(Instant, usize, SocketAddr, SocketAddr, Vec<u8>)>,
            /// Media events per core.
            pub(super) media: [Vec<(TransceiverId, MediaEvent)>; 2],
            /// The transceivers of each core: (audio, video).
            pub(super) transceivers: [(TransceiverId, TransceiverId); 2],
            /// A bottleneck on the path from core 0 to core 1, when set.
            pub(super) link: Option<Link>,
        }

        /// A bottleneck link: a drop-tail queue drained at `rate_bps`.
        pub(super) struct Link {
            pub(super) rate_bps: u64,
            /// Packets that would wait longer than this are dropped.
            pub(super) max_queue: Duration,
            free_at: Option<Instant>,
            pub(super) dropped: u64,
            /// The longest queueing delay since the last reset.
            pub(super) max_delay: Duration,
        }

        impl Link {
            pub(super) fn new(rate_bps: u64, max_queue: Duration) -> Link {
                Link { rate_bps, max_queue, free_at: None, dropped: 0, max_delay: Duration::ZERO }
            }

            /// When a packet of `len` bytes sent at `now` leaves the queue, `None`: dropped.
            fn pass(&mut self, now: Instant, len: usize) -> Option<Instant> {
                let start = self.free_at.map_or(now, |t| t.max(now));
                let wait = start - now;
                if wait > self.max_queue {
                    self.dropped += 1;
                    return None;
                }
                self.max_delay = self.max_delay.max(wait);
                let done = start + Duration::from_micros(len as u64 * 8_000_000 / self.rate_bps);
                self.free_at = Some(done);
                Some(done)
            }
        }

        impl Net {
            pub(super) fn new(seed: u64) -> Net {
                let t0 = Instant::now();
                let (mut a, mut b) = (core(seed), core(seed + 1));
                let addrs: [SocketAddr; 2] =
                    ["10.0.0.1:1000".parse().unwrap(), "10.0.0.2:2000".parse().unwrap()];
                a.handle_timeout(t0);
                b.handle_timeout(t0);
                let dir = RtpTransceiverDirection::SendRecv;
                let audio = a.add_transceiver(MediaKind::Audio, None, dir, Vec::new(), true).unwrap();
                let video = a.add_transceiver(MediaKind::Video, None, dir, Vec::new(), true).unwrap();
                let offer = a.create_offer(&OfferOptions::default()).unwrap();
                a.set_local_description(Some(offer)).unwrap();
                a.add_local_address(addrs[0]).unwrap();
                b.set_remote_description(a.local_description().unwrap()).unwrap();
                let ids = b.transceiver_ids();
                for &id in &ids {
                    b.set_direction(id, dir, true).unwrap();
                }
                b.set_local_description(None).unwrap();
                b.add_local_address(addrs[1]).unwrap();
                a.set_remote_description(b.local_description().unwrap()).unwrap();
                let kinds: Vec<MediaKind> =
                    ids.iter().map(|&id| b.transceiver_info(id).unwrap().kind()).collect();
                let b_audio = ids[kinds.iter().position(|k| *k == MediaKind::Audio).unwrap()];
                let b_video = ids[kinds.iter().position(|k| *k == MediaKind::Video).unwrap()];
                Net {
                    cores: [a, b],
                    addrs,
                    now: t0,
                    in_flight: VecDeque::new(),
                    media: [Vec::new(), Vec::new()],
                    transceivers: [(audio, video), (b_audio, b_video)],
                    link: None,
                }
            }

            /// Runs until `done` or `limit` of virtual time; `drop(from, class, bytes)` loses
            /// a datagram.
            pub(super) fn run(
                &mut self,
                limit: Duration,
                mut drop: impl FnMut(usize, Class, &[u8]) -> bool,
                done: impl Fn(&Net) -> bool,
            ) {
                let end = self.now + limit;
                let mut buf = Vec::new();
                loop {
                    let mut moved = false;
                    for i in 0..2 {
                        if let Some((t, _)) = self.cores[i].next_timer()
                            && t <= self.now
                        {
                            self.cores[i].handle_timeout(self.now);
                            moved = true;
                        }
                        loop {
                            buf.clear();
                            let Some(t) = self.cores[i].poll_transmit_into(self.now, &mut buf)
                            else {
                                break;
                            };
                            moved = true;
                            assert_eq!(t.class, classify(&buf));
                            if drop(i, t.class, &buf) || t.remote != self.addrs[1 - i] {
                                continue;
                            }
                            let sent = match self.link.as_mut().filter(|_| i == 0) {
                                Some(link) => match link.pass(self.now, buf.len()) {
                                    Some(t) => t,
                                    None => continue,
                                },
                                None => self.now,
                            };
                            // Kept in arrival order (the link delays one direction only).
                            let at = sent + LATENCY;
                            let pos = self.in_flight.partition_point(|d| d.0 <= at);
                            self.in_flight.insert(pos, (at, 1 - i, t.local, t.remote, buf.clone()));
                        }
                        while let Some(e) = self.cores[i].poll_event() {
                            if let Event::Media(id, m) = e {
                                self.media[i].push((id, m));
                            }
                        }
                    }
                    if done(self) || self.now >= end {
                        return;
                    }
                    if moved {
                        continue;
                    }
                    let next = self
                        .cores
                        .iter()
                        .filter_map(|c| c.next_timer().map(|(t, _)| t))
                        .chain(self.in_flight.front().map(|d| d.0))
                        .min()
                        .expect("a timer is always running");
                    // Never past `end`: callers step time (e.g. one frame interval).
                    self.now = next.max(self.now).min(end);
                    while let Some((at, to, from, dest, data)) = self.in_flight.front()
                        && *at <= self.now
                    {
                        self.cores[*to].handle_datagram(self.now, *dest, *from, data);
                        self.in_flight.pop_front();
                    }
                }
            }

            pub(super) fn connect(&mut self) {
                self.run(Duration::from_secs(10), |_, _, _| false, |n| {
                    n.cores
                        .iter()
                        .all(|c| c.connection_state() == PeerConnectionState::Connected)
                        && n.cores.iter().all(|c| c.session.media.ready())
                });
                for c in &self.cores {
                    assert_eq!(c.connection_state(), PeerConnectionState::Connected);
                }
            }
        }
    }

    #[test]
    fn rtp_flows_both_ways_encrypted_and_routed_to_its_transceiver() {
        let mut n = wire::Net::new(21);
        // Before DTLS-SRTP: nothing can be sent.
        let (a_audio, a_video) = n.transceivers[0];
        let pkt = |ts: u32, payload: &'static [u8]| OutgoingRtp {
            payload_type: None,
            timestamp: ts,
            marker: true,
            payload,
        };
        assert_eq!(n.cores[0].send_rtp(n.now, a_video, &pkt(0, b"early")), None);
        n.connect();
        let (b_audio, b_video) = n.transceivers[1];
        // 50 video packets one way, 20 audio packets the other way.
        let mut plaintext_seen = false;
        for i in 0..50u32 {
            let seq = n.cores[0].send_rtp(n.now, a_video, &pkt(i * 3000, b"video frame"));
            assert!(seq.is_some());
        }
        for i in 0..20u32 {
            let payload: &'static [u8] = b"opus";
            assert!(n.cores[1].send_rtp(n.now, b_audio, &pkt(i * 960, payload)).is_some());
        }
        n.run(
            Duration::from_secs(1),
            |_, class, bytes| {
                if class == Class::Rtp {
                    plaintext_seen |= bytes.windows(11).any(|w| w == b"video frame");
                }
                false
            },
            |n| n.media[1].len() >= 50 && n.media[0].len() >= 20,
        );
        assert!(!plaintext_seen, "SRTP encrypts the payload on the wire");
        let video: Vec<&super::ReceivedRtp> = n.media[1]
            .iter()
            .filter_map(|(id, e)| match e {
                MediaEvent::Rtp(r) if *id == b_video => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(video.len(), 50);
        assert!(video.iter().all(|r| r.payload == b"video frame" && r.marker && !r.retransmission));
        assert!(video.windows(2).all(|w| w[1].sequence_number == w[0].sequence_number + 1));
        assert_eq!(video[7].timestamp, 7 * 3000);
        let audio = n.media[0]
            .iter()
            .filter(|(id, e)| *id == a_audio && matches!(e, MediaEvent::Rtp(r) if r.payload == b"opus"))
            .count();
        assert_eq!(audio, 20);
        let (ca, cb) = (n.cores[0].media_counters(), n.cores[1].media_counters());
        assert_eq!((ca.rtp_sent, cb.rtp_received), (50, 50));
        assert_eq!((cb.rtp_sent, ca.rtp_received), (20, 20));
        assert_eq!(ca.srtp_rejected + cb.srtp_rejected + ca.unroutable + cb.unroutable, 0);
        // The receiver's statistics saw every packet, no loss.
        let s = n.cores[1].session.media.section_mut(b_video).unwrap();
        assert_eq!(s.receive.len(), 1);
        assert_eq!((s.receive[0].stats.received(), s.receive[0].stats.lost()), (50, 0));
        // A replayed packet is refused by SRTP.
        let _ = (b_audio, a_video);
    }

    #[test]
    fn replayed_and_tampered_srtp_is_dropped_and_counted() {
        let mut n = wire::Net::new(22);
        n.connect();
        let (_, a_video) = n.transceivers[0];
        let mut captured: Vec<Vec<u8>> = Vec::new();
        n.cores[0].send_rtp(n.now, a_video, &OutgoingRtp {
            payload_type: None,
            timestamp: 1,
            marker: false,
            payload: b"once",
        });
        n.run(
            Duration::from_millis(100),
            |from, class, bytes| {
                if from == 0 && class == Class::Rtp {
                    captured.push(bytes.to_vec());
                }
                false
            },
            |n| !n.media[1].is_empty(),
        );
        assert_eq!(n.media[1].len(), 1);
        let wire = captured.pop().unwrap();
        let (a, b) = ("10.0.0.1:1000".parse().unwrap(), "10.0.0.2:2000".parse().unwrap());
        // The same datagram again (replay), and with a flipped payload bit.
        n.cores[1].handle_datagram(n.now, b, a, &wire);
        let mut bad = wire.clone();
        let last = bad.len() - 12;
        bad[last] ^= 1;
        n.cores[1].handle_datagram(n.now, b, a, &bad);
        assert_eq!(n.cores[1].media_counters().srtp_rejected, 2);
        assert!(n.cores[1].poll_event().is_none());
        // From an address ICE does not know: not even decrypted.
        n.cores[1].handle_datagram(n.now, b, "10.9.9.9:9".parse().unwrap(), &wire);
        assert_eq!(n.cores[1].media_counters().srtp_rejected, 2);
    }

    fn video_ssrc(n: &wire::Net, core: usize) -> u32 {
        let (_, v) = n.transceivers[core];
        let s = n.cores[core].session.media.sections.iter().find(|s| s.transceiver == v).unwrap();
        s.send.as_ref().unwrap().ssrc
    }

    fn rtp_ssrc_seq(bytes: &[u8]) -> (u32, u16) {
        // The RTP header stays in the clear under SRTP (RFC 3711 §3.1).
        let p = RtpPacket::parse(bytes).unwrap();
        (p.ssrc, p.sequence_number)
    }

    #[test]
    fn nack_and_rtx_recover_lost_video_packets() {
        let mut n = wire::Net::new(31);
        n.connect();
        let unix = Duration::from_secs(1_800_000_000);
        for c in &mut n.cores {
            c.set_wall_clock(n.now, unix);
        }
        let (_, a_video) = n.transceivers[0];
        let media_ssrc = video_ssrc(&n, 0);
        let mut dropped = 0;
        for i in 0..200u32 {
            let seq = n.cores[0]
                .send_rtp(n.now, a_video, &OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 3000,
                    marker: true,
                    payload: &i.to_be_bytes(),
                })
                .unwrap();
            let lose = seq % 10 == 3;
            n.run(
                Duration::from_millis(10),
                |from, class, bytes| {
                    let hit = from == 0 && class == Class::Rtp && lose
                        && rtp_ssrc_seq(bytes) == (media_ssrc, seq);
                    dropped += usize::from(hit);
                    hit
                },
                |_| false,
            );
        }
        n.run(Duration::from_millis(500), |_, _, _| false, |_| false);
        assert_eq!(dropped, 20);
        let (_, b_video) = n.transceivers[1];
        let mut got: Vec<(u64, bool, Vec<u8>)> = n.media[1]
            .iter()
            .filter_map(|(id, e)| match e {
                MediaEvent::Rtp(r) if *id == b_video => {
                    Some((r.sequence_number, r.retransmission, r.payload.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(got.iter().filter(|g| g.1).count(), 20, "each loss came back as RTX");
        got.sort();
        got.dedup_by_key(|g| g.0);
        assert_eq!(got.len(), 200, "every packet arrived, 20 of them retransmitted");
        // The payloads are the originals, in order of the original sequence numbers.
        let payloads: Vec<u32> = got.iter().map(|g| u32::from_be_bytes(g.2[..4].try_into().unwrap())).collect();
        assert_eq!(payloads, (0..200).collect::<Vec<u32>>());
        let (ca, cb) = (n.cores[0].media_counters(), n.cores[1].media_counters());
        assert!(cb.nacks_sent > 0 && ca.nacks_received > 0);
        assert_eq!(ca.retransmitted, 20);
        let s = n.cores[1].session.media.sections.iter().find(|s| s.transceiver == b_video).unwrap();
        let stream = s.receive.iter().find(|r| r.ssrc == media_ssrc).unwrap();
        assert_eq!(stream.stats.lost(), 0);
        // Transport-wide feedback went back to the sender.
        assert!(cb.twcc_feedback_sent > 0, "{cb:?}");
        assert!(ca.rtcp_received > 0);
    }

    #[test]
    fn reports_measure_rtt_and_keyframe_requests_reach_the_sender() {
        let mut n = wire::Net::new(32);
        n.connect();
        let unix = Duration::from_secs(1_800_000_000);
        for c in &mut n.cores {
            c.set_wall_clock(n.now, unix);
        }
        let (_, a_video) = n.transceivers[0];
        let (_, b_video) = n.transceivers[1];
        for i in 0..300u32 {
            for (k, v) in [(0, a_video), (1, b_video)] {
                n.cores[k].send_rtp(n.now, v, &OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 1500,
                    marker: false,
                    payload: b"x",
                });
            }
            n.run(Duration::from_millis(20), |_, _, _| false, |_| false);
        }
        // Six seconds of media with 1 s report intervals: RTT = twice the 5 ms latency.
        let s = n.cores[0].session.media.sections.iter().find(|s| s.transceiver == a_video).unwrap();
        let rtt = s.send.as_ref().unwrap().stats.rtt().expect("an RTT from the reports");
        assert!(rtt.abs_diff(Duration::from_millis(10)) < Duration::from_millis(2), "{rtt:?}");
        // The receiver asks for a key frame: the sender's application hears of it.
        assert!(n.cores[1].request_keyframe(b_video));
        n.run(Duration::from_millis(50), |_, _, _| false, |_| false);
        let asks = n.media[0]
            .iter()
            .filter(|(id, e)| *id == a_video && *e == MediaEvent::KeyframeRequest)
            .count();
        assert_eq!(asks, 1);
        assert_eq!(n.cores[0].media_counters().keyframe_requests_received, 1);
    }

    #[test]
    fn dtmf_tones_play_out_and_reach_the_remote() {
        let mut n = wire::Net::new(33);
        n.connect();
        let (a_audio, _) = n.transceivers[0];
        let (b_audio, _) = n.transceivers[1];
        n.cores[0].send_rtp(n.now, a_audio, &OutgoingRtp {
            payload_type: None,
            timestamp: 0,
            marker: false,
            payload: b"opus",
        });
        n.cores[0]
            .insert_dtmf(n.now, a_audio, "1#", Duration::from_millis(100), Duration::from_millis(70))
            .unwrap();
        assert_eq!(n.cores[0].tone_buffer(a_audio), Some("#"));
        let e = n.cores[0]
            .insert_dtmf(n.now, a_audio, "x", Duration::from_millis(100), Duration::from_millis(70))
            .unwrap_err();
        assert_eq!(e.name(), "InvalidCharacterError");
        n.run(Duration::from_secs(1), |_, _, _| false, |_| false);
        let changes: Vec<String> = n.media[0]
            .iter()
            .filter_map(|(id, e)| match e {
                MediaEvent::ToneChange(t) if *id == a_audio => Some(t.tone.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(changes, ["1", "#", ""]);
        let tones: Vec<(Option<char>, bool)> = n.media[1]
            .iter()
            .filter_map(|(id, e)| match e {
                MediaEvent::Dtmf(t) if *id == b_audio => Some((t.tone, t.ended.is_some())),
                _ => None,
            })
            .collect();
        assert_eq!(tones, [(Some('1'), false), (Some('1'), true), (Some('#'), false), (Some('#'), true)]);
    }

    #[test]
    fn frames_are_packetized_sent_and_reassembled_through_loss() {
        let mut n = wire::Net::new(34);
        n.connect();
        let unix = Duration::from_secs(1_800_000_000);
        for c in &mut n.cores {
            c.set_wall_clock(n.now, unix);
        }
        let (_, a_video) = n.transceivers[0];
        let (_, b_video) = n.transceivers[1];
        assert!(n.cores[1].set_receive_mode(b_video, super::ReceiveMode::Frames));
        let media_ssrc = video_ssrc(&n, 0);
        let mut rng = crate::util::SeededRandom::new(9);
        use crate::util::RandomSource;
        let mut sent = Vec::new();
        let mut dropped = 0;
        for i in 0..60usize {
            let len = 1 + (rng.next_u32() % 6000) as usize;
            let mut frame = vec![0u8; len];
            rng.fill(&mut frame);
            // A VP8 key frame's first byte has the P bit clear (RFC 6386 §9.1).
            frame[0] = if i == 0 { frame[0] & !1 } else { frame[0] | 1 };
            let packets = n.cores[0]
                .send_frame(n.now, a_video, &frame, Duration::from_millis(33))
                .unwrap();
            assert!(packets >= len.div_ceil(super::MAX_RTP_PAYLOAD), "{packets} for {len}");
            sent.push(frame);
            n.run(
                Duration::from_millis(33),
                |from, class, bytes| {
                    // Every 7th packet of the media stream is lost once; NACK and RTX repair.
                    let hit = from == 0
                        && class == Class::Rtp
                        && rtp_ssrc_seq(bytes).0 == media_ssrc
                        && rtp_ssrc_seq(bytes).1 % 7 == 3;
                    dropped += usize::from(hit);
                    hit
                },
                |_| false,
            );
        }
        n.run(Duration::from_millis(500), |_, _, _| false, |_| false);
        assert!(dropped > 10);
        let frames: Vec<&super::ReceivedFrame> = n.media[1]
            .iter()
            .filter_map(|(id, e)| match e {
                MediaEvent::Frame(f) if *id == b_video => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(frames.len(), 60, "every frame, despite {dropped} lost packets");
        for (f, s) in frames.iter().zip(&sent) {
            assert_eq!(&f.data, s);
        }
        assert!(frames[0].keyframe && !frames[1].keyframe);
        // 33 ms at 90 kHz between frames.
        assert_eq!(frames[1].timestamp.wrapping_sub(frames[0].timestamp), 2970);
        assert!(!n.media[1].iter().any(|(_, e)| matches!(e, MediaEvent::Rtp(_))));
    }

    #[test]
    fn jitter_buffer_target_sets_how_long_frames_mode_waits_for_a_lost_packet() {
        let mut n = wire::Net::new(36);
        n.connect();
        let (_, a_video) = n.transceivers[0];
        let (_, b_video) = n.transceivers[1];
        assert!(n.cores[1].set_receive_mode(b_video, super::ReceiveMode::Frames));
        n.cores[1].set_jitter_buffer_target(b_video, Some(Duration::from_secs(1))).unwrap();
        let media_ssrc = video_ssrc(&n, 0);
        let frames = |n: &wire::Net| {
            n.media[1]
                .iter()
                .filter(|(id, e)| *id == b_video && matches!(e, MediaEvent::Frame(_)))
                .count()
        };
        for i in 0..3u8 {
            // Frame 0 is a key frame (P bit clear, RFC 6386 §9.1).
            let frame = vec![if i == 0 { 0x10 } else { 0x11 }; 200];
            n.cores[0].send_frame(n.now, a_video, &frame, Duration::from_millis(33)).unwrap();
            // Frame 1 is lost for good: its packet and every retransmission.
            n.run(
                Duration::from_millis(33),
                move |from, class, bytes| {
                    from == 0
                        && class == Class::Rtp
                        && (i == 1 || rtp_ssrc_seq(bytes).0 != media_ssrc)
                },
                |_| false,
            );
        }
        // With a 1 s target, frame 2 still waits behind the hole 300 ms later...
        n.run(Duration::from_millis(300), |from, class, bytes| {
            from == 0 && class == Class::Rtp && rtp_ssrc_seq(bytes).0 != media_ssrc
        }, |_| false);
        assert_eq!(frames(&n), 1);
        // ...and with the default (100 ms) it is given up on and frame 2 comes out.
        n.cores[1].set_jitter_buffer_target(b_video, None).unwrap();
        n.run(Duration::from_millis(150), |_, _, _| false, |_| false);
        assert_eq!(frames(&n), 2);
        assert!(n.cores[1].set_jitter_buffer_target(b_video, Some(Duration::from_secs(5))).is_err());
    }

    #[test]
    fn a_peer_inventing_ssrcs_and_garbage_cannot_grow_the_receivers_tables() {
        let mut n = wire::Net::new(35);
        n.connect();
        let (b_audio, b_video) = n.transceivers[1];
        let (a, b) = ("10.0.0.1:1000".parse().unwrap(), "10.0.0.2:2000".parse().unwrap());
        // The peer holds the keys: it authenticates packets for 5000 SSRCs of its choosing,
        // with a payload type only the video section has.
        let video_pt = n.cores[1].session.media.sections.iter().find(|s| s.transceiver == b_video)
            .unwrap().payload_types.media[0].0;
        // The peer's real stream is under way before the flood (authenticated packets only
        // ever compete with the peer's own streams: only it holds the keys).
        let (_, a_video) = n.transceivers[0];
        let legit = |i: u32| OutgoingRtp {
            payload_type: None,
            timestamp: i,
            marker: true,
            payload: b"still here",
        };
        n.cores[0].send_rtp(n.now, a_video, &legit(0));
        n.run(Duration::from_millis(100), |_, _, _| false, |n| !n.media[1].is_empty());
        let km = n.cores[0].srtp_keying_material().unwrap().clone();
        let role = match n.cores[0].session.dtls_role {
            Some(crate::connection::DtlsRole::Client) => crate::dtls::DtlsRole::Client,
            _ => crate::dtls::DtlsRole::Server,
        };
        let config = crate::srtp::SrtpConfig {
            max_streams: 10_000,
            ..Default::default()
        };
        let mut attacker = crate::srtp::SrtpContext::outbound(&km, role, config).unwrap();
        let mut buf = Vec::new();
        for ssrc in 0..5000u32 {
            buf.clear();
            RtpHeader {
                payload_type: video_pt,
                sequence_number: ssrc as u16,
                timestamp: ssrc,
                ssrc: 0x1000_0000 + ssrc,
                ..RtpHeader::default()
            }
            .write_packet(&mut buf, b"x", crate::rtp::Padding::None)
            .unwrap();
            attacker.protect_rtp(&mut buf).unwrap();
            n.cores[1].handle_datagram(n.now, b, a, &buf);
        }
        // And 5000 datagrams of garbage that look like RTP and RTCP.
        let mut rng = crate::util::SeededRandom::new(3);
        use crate::util::RandomSource;
        for i in 0..5000usize {
            let mut junk = vec![0u8; 12 + i % 300];
            rng.fill(&mut junk);
            junk[0] = 0x80 | (junk[0] & 0x3f);
            junk[1] = if i % 2 == 0 { 96 } else { 200 };
            n.cores[1].handle_datagram(n.now, b, a, &junk);
        }
        let m = &n.cores[1].session.media;
        let streams: usize = m.sections.iter().map(|s| s.receive.len()).sum();
        assert!(streams <= 2 * super::MAX_RECEIVE_STREAMS, "{streams}");
        assert!(m.router.learned_len() <= crate::rtp::session::routing::MAX_LEARNED_SSRCS);
        let srtp = m.srtp.as_ref().unwrap();
        assert!(srtp.remote.stream_count() <= crate::srtp::MAX_SRTP_STREAMS);
        let c = n.cores[1].media_counters();
        // Every garbage datagram fails authentication, and SSRCs beyond SRTP's stream cap
        // are refused before any state is made for them.
        // (One stream, the peer's real one, was known before.)
        let over_cap = 5000 - (crate::srtp::MAX_SRTP_STREAMS as u64 - 1);
        assert_eq!(c.srtp_rejected, 5000 + over_cap, "{c:?}");
        assert!(c.unroutable + c.queue_full > 0, "{c:?}");
        // The events handed out stay bounded too, and the connection still works.
        let mut events = 0;
        while n.cores[1].poll_event().is_some() {
            events += 1;
        }
        assert!(events <= super::MAX_MEDIA_EVENTS + 64, "{events}");
        let _ = b_audio;
        n.media[1].clear();
        n.cores[0].send_rtp(n.now, a_video, &legit(1));
        n.run(Duration::from_millis(100), |_, _, _| false, |n| !n.media[1].is_empty());
        assert!(matches!(&n.media[1][0].1, MediaEvent::Rtp(r) if r.payload == b"still here"));
    }

    #[test]
    fn sources_are_the_recent_ones_most_recent_first_and_capped() {
        let t0 = Instant::now();
        let mut s = super::Sources::default();
        let src = |source, at: Duration, ts| super::RtpSource {
            source,
            timestamp: t0 + at,
            rtp_timestamp: ts,
            audio_level: None,
        };
        s.note(false, src(1, Duration::ZERO, 100));
        s.note(true, src(7, Duration::ZERO, 100));
        s.note(false, src(2, Duration::from_secs(1), 200));
        s.note(false, src(1, Duration::from_secs(2), 300));
        let sync = s.recent(false, t0 + Duration::from_secs(3));
        assert_eq!(sync.iter().map(|x| (x.source, x.rtp_timestamp)).collect::<Vec<_>>(), [(1, 300), (2, 200)]);
        assert_eq!(s.recent(true, t0 + Duration::from_secs(3)).len(), 1);
        // Ten seconds after its last packet a source is gone (webrtc-pc §5.3.4).
        let later = s.recent(false, t0 + Duration::from_secs(11));
        assert_eq!(later.iter().map(|x| x.source).collect::<Vec<_>>(), [1]);
        assert!(s.recent(true, t0 + Duration::from_secs(11)).is_empty());
        // A peer cycling through CSRCs replaces the oldest entries.
        for c in 0..1000u32 {
            s.note(true, src(c, Duration::from_secs(5), c));
        }
        assert!(s.entries.len() <= super::MAX_SOURCES);
        assert_eq!(s.recent(true, t0 + Duration::from_secs(6))[0].source, 999);
    }


    /// Runs a video sender that wants 5 Mbit/s through a bottleneck for `secs` seconds of
    /// simulated time; the application encodes at min(5 Mbit/s, the latest
    /// [`MediaEvent::TargetBitrate`]). Returns the estimate at each second.
    fn run_through_bottleneck(n: &mut wire::Net, secs: u64, target: &mut u64, next_frame: &mut usize) -> Vec<u64> {
        use crate::util::RandomSource;
        let (_, a_video) = n.transceivers[0];
        let mut rng = crate::util::SeededRandom::new(*next_frame as u64 + 5);
        let mut trace = Vec::new();
        const FPS: u64 = 30;
        for f in 0..secs * FPS {
            let bytes = (*target).min(5_000_000) / 8 / FPS;
            let mut frame = vec![0u8; bytes.max(1) as usize];
            rng.fill(&mut frame);
            // A VP8 key frame first (P bit clear, RFC 6386 §9.1), then delta frames.
            frame[0] = if *next_frame == 0 { frame[0] & !1 } else { frame[0] | 1 };
            *next_frame += 1;
            n.cores[0].send_frame(n.now, a_video, &frame, Duration::from_millis(1000 / FPS)).unwrap();
            n.run(Duration::from_millis(1000 / FPS), |_, _, _| false, |_| false);
            for (id, e) in n.media[0].drain(..) {
                if let (true, MediaEvent::TargetBitrate { bitrate_bps }) = (id == a_video, e) {
                    *target = bitrate_bps;
                }
            }
            n.media[1].clear();
            if (f + 1) % FPS == 0 {
                trace.push(n.cores[0].media_counters().available_outgoing_bitrate.unwrap_or(0));
            }
        }
        trace
    }

    #[test]
    fn the_estimate_converges_to_a_bottleneck_and_follows_it_down() {
        let mut n = wire::Net::new(41);
        n.connect();
        let unix = Duration::from_secs(1_800_000_000);
        for c in &mut n.cores {
            c.set_wall_clock(n.now, unix);
        }
        assert_eq!(n.cores[0].media_counters().available_outgoing_bitrate, None, "no feedback yet");
        n.link = Some(wire::Link::new(1_500_000, Duration::from_millis(500)));
        let (mut target, mut frames) = (5_000_000u64, 0usize);
        let high = run_through_bottleneck(&mut n, 30, &mut target, &mut frames);
        // The application followed the `TargetBitrate` events down from its 5 Mbit/s.
        assert!((1_000_000..=1_700_000).contains(&target), "{target}");
        let link = n.link.as_mut().unwrap();
        let (dropped_high, delay_high) = (link.dropped, link.max_delay);
        // From here the queueing delay must stay bounded once the estimate followed.
        link.rate_bps = 750_000;
        link.max_delay = Duration::ZERO;
        let low_start = run_through_bottleneck(&mut n, 10, &mut target, &mut frames);
        n.link.as_mut().unwrap().max_delay = Duration::ZERO;
        let low = run_through_bottleneck(&mut n, 20, &mut target, &mut frames);
        let c = n.cores[0].media_counters();
        eprintln!(
            "1.5 Mbit/s: {high:?}\n0.75 Mbit/s: {low_start:?} {low:?}\nlink drops {dropped_high} → {}, max queue {delay_high:?} → {:?}, {c:?} {:?}",
            n.link.as_ref().unwrap().dropped,
            n.link.as_ref().unwrap().max_delay,
            n.cores[0].session.media.bwe.counters(),
        );
        assert!(c.twcc_feedback_received > 100, "{c:?}");
        // Converged to 70–110 % of 1.5 Mbit/s within 15 s and stays there.
        for (s, &e) in high.iter().enumerate().skip(15) {
            assert!((1_050_000..=1_650_000).contains(&e), "{s} s at 1.5 Mbit/s: {high:?}");
        }
        // After the drop to 750 kbit/s: within 70–110 % after 10 s, with the queueing delay
        // bounded by then.
        for (s, &e) in low.iter().enumerate() {
            assert!((525_000..=825_000).contains(&e), "{} s at 750 kbit/s: {low:?}", s + 10);
        }
        assert!(n.link.as_ref().unwrap().max_delay < Duration::from_millis(400), "{:?}", n.link.as_ref().unwrap().max_delay);
        assert!(n.cores[0].session.media.paced_len() < 100);
        // Frames kept arriving at the receiver throughout.
        assert!(n.cores[1].media_counters().rtp_received > 5_000);
    }

    #[test]
    fn video_frames_leave_paced_and_a_full_pacer_refuses_whole_frames() {
        let mut n = wire::Net::new(43);
        n.connect();
        let (a_audio, a_video) = n.transceivers[0];
        let frame = vec![1u8; 30_000];
        let packets = n.cores[0].send_frame(n.now, a_video, &frame, Duration::from_millis(33)).unwrap();
        assert!(packets >= 28, "{packets}");
        // Before any feedback the pacer runs at 2.5 × the 1 Mbit/s start: one 5 ms budget
        // (1562 bytes) leaves at once, the rest waits.
        let held = n.cores[0].session.media.paced_len();
        assert!(held + 2 >= packets && held < packets, "{held} of {packets}");
        let (due, name) = n.cores[0].session.media.next_timer().unwrap();
        assert_eq!(name, TimerName::Media(MediaTimer::Pace));
        assert!(due > n.now && due <= n.now + Duration::from_millis(5), "{:?}", due - n.now);
        // Audio is not held behind it.
        let sent = n.cores[0].media_counters().rtp_sent;
        n.cores[0].send_frame(n.now, a_audio, &[0xF8, 1, 2, 3], Duration::from_millis(20)).unwrap();
        assert_eq!(n.cores[0].media_counters().rtp_sent, sent + 1);
        assert_eq!(n.cores[0].session.media.paced_len(), held);
        // 30 kB at 2.5 Mbit/s: about 96 ms; half of it is still held at 40 ms.
        n.run(Duration::from_millis(40), |_, _, _| false, |_| false);
        let mid = n.cores[0].session.media.paced_len();
        assert!(mid > 5 && mid < held, "{mid}");
        n.run(Duration::from_millis(80), |_, _, _| false, |_| false);
        assert_eq!(n.cores[0].session.media.paced_len(), 0);
        // A flood of frames at one instant: the queue fills to its limit and the frames that
        // would not fit whole are refused and counted.
        let mut refused = 0;
        for _ in 0..50 {
            if n.cores[0].send_frame(n.now, a_video, &frame, Duration::from_millis(33)).unwrap() == 0 {
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert!(n.cores[0].session.media.paced_len() <= super::MAX_PACED_PACKETS);
        assert_eq!(n.cores[0].media_counters().pacer_dropped_frames, refused);
    }

    #[test]
    fn the_settings_bound_the_estimate_and_set_the_first_pacing_rate() {
        use crate::connection::CoreSettings;
        assert_eq!(CoreSettings::default().bwe_config(), BweConfig::default());
        let settings = CoreSettings {
            outgoing_bitrate_min_bps: 100_000,
            outgoing_bitrate_start_bps: 200_000,
            outgoing_bitrate_max_bps: 400_000,
            ..CoreSettings::default()
        };
        let mut m = MediaState::new(settings.bwe_config());
        assert_eq!(m.pacing_rate(), 500_000, "2.5 × the start");
        let t0 = Instant::now();
        m.bwe.on_remb(t0, 10_000_000);
        assert_eq!(m.bwe.estimate(), Some(200_000), "REMB above: the start holds");
        m.bwe.on_remb(t0, 1_000);
        assert_eq!(m.bwe.estimate(), Some(100_000), "never below the minimum");
        // A start outside the bounds is brought inside them.
        let odd = CoreSettings { outgoing_bitrate_start_bps: 10, ..settings };
        assert_eq!(MediaState::new(odd.bwe_config()).bwe.target(), 100_000);
    }
}
