//! Handles for the objects a connection hands out: transceivers, senders, receivers,
//! data channels, the SCTP and ICE transports. Each holds the connection and an id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::track::{MediaStream, MediaStreamTrack};
use rtcpeer_proto::DtlsTransportState;
use rtcpeer_proto::IceGatheringState;
use rtcpeer_proto::Result;
use rtcpeer_proto::jsep::{
    IceCandidate, IceCandidatePair, IceComponent, IceParameters, IceRole, IceTransportId,
    IceTransportState, RtpTransceiverDirection, SctpTransportState, TransceiverId, TransceiverInfo,
};
use rtcpeer_proto::{
    MediaEvent, MediaKind, OutgoingRtp, ReceiveMode, RtpCapabilities, RtpCodecCapability,
    RtpSource, receiver_capabilities, sender_capabilities, validate_codec_preferences,
};

use super::Inner;
use super::chain::Operation;

mod parameters;
use super::tracks::TransceiverShared;

macro_rules! handle_basics {
    ($name:ident, $field:ident) => {
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.pc, &other.pc) && self.$field == other.$field
            }
        }
        impl Eq for $name {}
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("pc", &self.pc.id)
                    .field("id", &self.$field)
                    .finish()
            }
        }
    };
}
pub(crate) use handle_basics;

/// `RTCRtpTransceiver` (webrtc-pc §5.4).
#[derive(Clone)]
pub struct RtpTransceiver {
    pc: Arc<Inner>,
    id: TransceiverId,
    /// The kind and the track objects, kept so a handle still reads them once the
    /// connection has forgotten the removed transceiver.
    shared: Arc<TransceiverShared>,
}
handle_basics!(RtpTransceiver, id);

impl RtpTransceiver {
    /// A handle to a transceiver of the connection's set.
    pub(crate) fn new(pc: Arc<Inner>, id: TransceiverId) -> Option<Self> {
        let shared = {
            let core = pc.core();
            let info = core.transceiver_info(id)?;
            pc.tracks.get_or_add(id, &info)
        };
        Some(Self::with_shared(pc, id, shared))
    }

    /// A handle from the shared part the caller already has.
    pub(crate) fn with_shared(
        pc: Arc<Inner>,
        id: TransceiverId,
        shared: Arc<TransceiverShared>,
    ) -> Self {
        RtpTransceiver { pc, id, shared }
    }

    /// Reads the transceiver, or its final state once the connection forgot it: it was
    /// removed (webrtc-pc §4.4.1.5), so it reads as a stopped transceiver.
    fn read<T>(&self, f: impl FnOnce(TransceiverInfo<'_>) -> T) -> T {
        let core = self.pc.core();
        let info = core
            .transceiver_info(self.id)
            .unwrap_or(TransceiverInfo::forgotten(self.shared.kind));
        f(info)
    }

    /// The media kind.
    pub fn kind(&self) -> MediaKind {
        self.shared.kind
    }

    /// `mid`: set once a description associated it with an m-section. A removed transceiver
    /// (stopped and negotiated, or rolled back, webrtc-pc §4.4.1.5) is forgotten by the
    /// connection and reads mid `None`, direction and currentDirection "stopped"; its
    /// setters act as on a stopped transceiver.
    pub fn mid(&self) -> Option<String> {
        self.read(|t| t.mid().map(str::to_string))
    }

    /// `direction`: the preferred direction ("stopped" after `stop()`).
    pub fn direction(&self) -> RtpTransceiverDirection {
        self.read(|t| t.direction())
    }

    /// Sets `direction` (webrtc-pc §5.4); may fire `negotiationneeded`.
    pub fn set_direction(&self, direction: RtpTransceiverDirection) -> Result<()> {
        let id = self.id;
        self.pc
            .sync(|core, empty| core.set_direction(id, direction, empty))
    }

    /// `currentDirection`: the negotiated direction.
    pub fn current_direction(&self) -> Option<RtpTransceiverDirection> {
        self.read(|t| t.current_direction())
    }

    /// `stop()` (webrtc-pc §5.4).
    pub fn stop(&self) -> Result<()> {
        let id = self.id;
        self.pc.sync(|core, empty| core.stop_transceiver(id, empty))
    }

    /// `sender`.
    pub fn sender(&self) -> RtpSender {
        RtpSender::new(self.pc.clone(), self.id, self.shared.clone())
    }

    /// `receiver`.
    pub fn receiver(&self) -> RtpReceiver {
        RtpReceiver {
            pc: self.pc.clone(),
            id: self.id,
            track: self.shared.receiver.clone(),
        }
    }

    /// The ICE transport of `sender.transport.iceTransport` / `receiver.transport.iceTransport`
    /// (webrtc-pc §5.6): the connection's bundled transport once the transceiver is
    /// associated with an m-section (has a mid), else `None`.
    pub fn ice_transport(&self) -> Option<IceTransport> {
        let core = self.pc.core();
        let associated = core
            .transceiver_info(self.id)
            .is_some_and(|t| t.mid().is_some());
        let mid = core
            .transceiver_info(self.id)
            .and_then(|t| t.mid().map(str::to_string));
        let id = match mid {
            Some(mid) if associated => core.transport_of_mid(&mid)?,
            _ => core.ice_transport().filter(|_| associated)?,
        };
        drop(core);
        Some(IceTransport::new(self.pc.clone(), id))
    }

    /// `setCodecPreferences(codecs)` (webrtc-pc §5.4); an empty list restores the defaults.
    /// A transceiver the connection has forgotten (removed, see [`Self::mid`]) validates the
    /// list as a removed one does, and keeps nothing.
    pub fn set_codec_preferences(&self, codecs: &[RtpCodecCapability]) -> Result<()> {
        let mut core = self.pc.core();
        if core.transceiver_info(self.id).is_none() {
            return validate_codec_preferences(self.shared.kind, codecs);
        }
        core.set_codec_preferences(self.id, codecs.to_vec())
    }
}

/// `RTCRtpSender` (webrtc-pc §5.2).
#[derive(Clone)]
pub struct RtpSender {
    pc: Arc<Inner>,
    id: TransceiverId,
    /// The track objects of the transceiver (the sender's track lives there).
    shared: Arc<TransceiverShared>,
}
handle_basics!(RtpSender, id);

impl RtpSender {
    pub(crate) fn new(pc: Arc<Inner>, id: TransceiverId, shared: Arc<TransceiverShared>) -> Self {
        RtpSender { pc, id, shared }
    }

    pub(crate) fn belongs_to(&self, pc: &Arc<Inner>) -> bool {
        Arc::ptr_eq(&self.pc, pc)
    }

    pub(crate) fn transceiver_id(&self) -> TransceiverId {
        self.id
    }

    /// `track` (webrtc-pc §5.2 `[[SenderTrack]]`); a removed transceiver's sender keeps its
    /// last track.
    pub fn track(&self) -> Option<MediaStreamTrack> {
        self.shared.sender_track()
    }

    pub(crate) fn shared(&self) -> &TransceiverShared {
        &self.shared
    }

    /// `getStats()` (webrtc-pc §5.2): the sender's outbound-rtp stats and every object
    /// they reference (§8.5 "stats selection algorithm").
    pub async fn get_stats(&self) -> rtcpeer_proto::stats::StatsReport {
        super::stats::report(
            &self.pc,
            rtcpeer_proto::stats::StatsSelector::Sender(self.id),
        )
    }

    /// `replaceTrack(track)` (webrtc-pc §5.2), a chained operation.
    pub fn replace_track(&self, track: Option<MediaStreamTrack>) -> Operation<()> {
        let id = self.id;
        let shared = self.shared.clone();
        self.pc.enqueue(move |core| {
            core.replace_track(id, track.as_ref().map(MediaStreamTrack::track_ref))?;
            shared.set_sender_track(track);
            Ok(())
        })
    }

    /// `setStreams(...streams)` (webrtc-pc §5.2).
    pub fn set_streams(&self, streams: &[&MediaStream]) -> Result<()> {
        let id = self.id;
        let ids = streams.iter().map(|s| s.id().to_string()).collect();
        self.pc.sync(|core, empty| core.set_streams(id, ids, empty))
    }

    /// `RTCRtpSender.getCapabilities(kind)`: `None` for a kind other than audio/video.
    pub fn get_capabilities(kind: &str) -> Option<RtpCapabilities> {
        sender_capabilities(kind)
    }

    /// Sends one RTP packet of encoded media (RFC 3550 §5.1; rtcpeer writes the SSRC, the
    /// sequence number and the negotiated header extensions, keeps a copy for
    /// retransmission and encrypts it). Returns its sequence number, or `None` when it was
    /// not sent: not connected yet, the transceiver does not send, the payload type was not
    /// negotiated, or the send queue is full.
    pub fn send_rtp(&self, rtp: &OutgoingRtp<'_>) -> Option<u16> {
        let seq = self.pc.core().send_rtp(Instant::now(), self.id, rtp);
        if seq.is_some() {
            self.pc.wake_driver();
        }
        seq
    }

    /// Sends one encoded frame (an Opus packet, a VP8/VP9 frame, an H.264 access unit in
    /// Annex-B, an AV1 temporal unit) lasting `duration`: rtcpeer packetizes it by the first
    /// negotiated codec's payload format and timestamps it (each frame after the previous by
    /// its duration). Returns the packets sent. Video leaves through the pacer (at 2.5 × the
    /// bandwidth estimate); a video frame that does not fit its queue is not sent (0, counted
    /// in `MediaCounters::pacer_dropped_frames`). Follow
    /// [`MediaEvent::TargetBitrate`] from [`RtpSender::recv_feedback`] to keep it short.
    pub fn send_frame(&self, frame: &[u8], duration: Duration) -> Result<usize> {
        let r = self
            .pc
            .core()
            .send_frame(Instant::now(), self.id, frame, duration);
        self.pc.wake_driver();
        r
    }

    /// The next feedback for this sender: a key-frame request from the remote receiver
    /// ([`MediaEvent::KeyframeRequest`], RFC 4585 PLI / RFC 5104 FIR), a DTMF
    /// `tonechange` ([`MediaEvent::ToneChange`]) or a new bandwidth estimate for the encoder
    /// ([`MediaEvent::TargetBitrate`], draft-ietf-rmcat-gcc-02); `None` once the connection
    /// closed or the transceiver is gone.
    pub async fn recv_feedback(&self) -> Option<MediaEvent> {
        let (_, queue) = media_queues(&self.pc, self.id);
        queue.recv().await
    }

    /// `transport` (webrtc-pc §5.2 `[[SenderTransport]]`): the DTLS transport the sender's
    /// m-section uses once a description associated it (the BUNDLE transport), `None` before
    /// and after a rollback or removal took its mid away.
    pub fn transport(&self) -> Option<DtlsTransport> {
        transport_of(&self.pc, self.id)
    }

    /// `dtmf` (webrtc-pc §5.2): the DTMF sender of an audio sender, `None` for video.
    pub fn dtmf(&self) -> Option<DtmfSender> {
        (self.shared.kind == MediaKind::Audio).then(|| DtmfSender {
            pc: self.pc.clone(),
            id: self.id,
        })
    }
}

/// `RTCDTMFSender` (webrtc-pc §7): sends DTMF tones as RFC 4733 telephone events on its
/// audio sender. `tonechange` events come from [`RtpSender::recv_feedback`].
#[derive(Clone)]
pub struct DtmfSender {
    pc: Arc<Inner>,
    id: TransceiverId,
}
handle_basics!(DtmfSender, id);

impl DtmfSender {
    /// `insertDTMF(tones, duration, interToneGap)` (webrtc-pc §7.2): `InvalidStateError` on
    /// a stopped transceiver, a currentDirection of "recvonly" or "inactive", or without a
    /// negotiated telephone-event; `InvalidCharacterError` for a character outside
    /// `0-9A-D#*,` (case-insensitive). Durations are clamped to 40–6000 ms, gaps to ≥ 30 ms.
    pub fn insert_dtmf(
        &self,
        tones: &str,
        duration: Duration,
        inter_tone_gap: Duration,
    ) -> Result<()> {
        let r =
            self.pc
                .core()
                .insert_dtmf(Instant::now(), self.id, tones, duration, inter_tone_gap);
        self.pc.wake_driver();
        r
    }

    /// `toneBuffer`: the tones not played yet.
    pub fn tone_buffer(&self) -> String {
        self.pc
            .core()
            .tone_buffer(self.id)
            .unwrap_or_default()
            .to_string()
    }

    /// `canInsertDTMF` (webrtc-pc §7.2): the transceiver sends and telephone-event was
    /// negotiated.
    pub fn can_insert_dtmf(&self) -> bool {
        let core = self.pc.core();
        let sends = core.transceiver_info(self.id).is_some_and(|t| {
            matches!(
                t.current_direction(),
                Some(RtpTransceiverDirection::SendRecv | RtpTransceiverDirection::SendOnly)
            )
        });
        sends && core.tone_buffer(self.id).is_some()
    }
}

/// `RTCRtpReceiver` (webrtc-pc §5.3).
#[derive(Clone)]
pub struct RtpReceiver {
    pc: Arc<Inner>,
    id: TransceiverId,
    /// The receiver's track, the same object for the receiver's lifetime (webrtc-pc §5.3).
    track: MediaStreamTrack,
}
handle_basics!(RtpReceiver, id);

impl RtpReceiver {
    /// `track`: the remote track (muted until media arrives).
    pub fn track(&self) -> MediaStreamTrack {
        self.track.clone()
    }

    /// `getStats()` (webrtc-pc §5.3): the receiver's inbound-rtp stats and every object
    /// they reference (§8.5 "stats selection algorithm").
    pub async fn get_stats(&self) -> rtcpeer_proto::stats::StatsReport {
        super::stats::report(
            &self.pc,
            rtcpeer_proto::stats::StatsSelector::Receiver(self.id),
        )
    }

    /// `RTCRtpReceiver.getCapabilities(kind)`: `None` for a kind other than audio/video.
    pub fn get_capabilities(kind: &str) -> Option<RtpCapabilities> {
        receiver_capabilities(kind)
    }

    /// The next media received on this receiver: an RTP packet ([`MediaEvent::Rtp`],
    /// decrypted, routed, retransmissions already put back in place) or a telephone event
    /// ([`MediaEvent::Dtmf`]); `None` once the connection closed or the transceiver is gone.
    /// Media is real time: a reader that falls more than about a thousand packets behind
    /// loses the oldest.
    pub async fn recv(&self) -> Option<MediaEvent> {
        let (queue, _) = media_queues(&self.pc, self.id);
        queue.recv().await
    }

    /// `getSynchronizationSources()` (webrtc-pc §5.3.4): the SSRCs whose packets arrived in
    /// the last 10 seconds, the most recent first, with their last RTP timestamp, arrival
    /// time and audio level (RFC 6464).
    pub fn get_synchronization_sources(&self) -> Vec<RtpSource> {
        self.pc.core().rtp_sources(self.id, false, Instant::now())
    }

    /// `getContributingSources()` (webrtc-pc §5.3.4): the same for the CSRCs of the packets
    /// (mixers list them, RFC 3550 §5.1).
    pub fn get_contributing_sources(&self) -> Vec<RtpSource> {
        self.pc.core().rtp_sources(self.id, true, Instant::now())
    }

    /// `transport` (webrtc-pc §5.3 `[[ReceiverTransport]]`): as [`RtpSender::transport`].
    pub fn transport(&self) -> Option<DtlsTransport> {
        transport_of(&self.pc, self.id)
    }

    /// Whether [`RtpReceiver::recv`] gives whole frames ([`ReceiveMode::Frames`]: reordered,
    /// reassembled, a key-frame request sent when one is lost) or each RTP packet
    /// ([`ReceiveMode::Packets`], the default). False before the transceiver is negotiated.
    pub fn set_receive_mode(&self, mode: ReceiveMode) -> bool {
        self.pc.core().set_receive_mode(self.id, mode)
    }

    /// Tells rtcpeer what the application's audio device played from this receiver's track
    /// (call it each time the device pulls samples): it fills the receiver's "media-playout"
    /// stats (webrtc-stats §7.7). `InvalidAccessError` on a video receiver, `RangeError` for
    /// a zero sample rate.
    pub fn report_audio_playout(&self, playout: &rtcpeer_proto::stats::AudioPlayout) -> Result<()> {
        self.pc.core().report_audio_playout(self.id, playout)
    }

    /// Asks the remote sender for a key frame (a PLI, RFC 4585 §6.3.1), e.g. after a
    /// decoder error; false when nothing was received on this receiver yet.
    pub fn request_keyframe(&self) -> bool {
        let sent = self.pc.core().request_keyframe(self.id);
        if sent {
            self.pc.wake_driver();
        }
        sent
    }
}

/// The media queues a reader of transceiver `id` waits on, taken under the core's lock so
/// that a transceiver being removed either gets its queues closed by its `Removed` event or
/// is seen as gone (lock order: the core, then the media map).
fn media_queues(pc: &Arc<Inner>, id: TransceiverId) -> super::media::QueuePair {
    let core = pc.core();
    let known = !core.is_closed() && core.transceiver_info(id).is_some();
    pc.media.for_reader(id, known)
}

/// The DTLS transport of a transceiver associated with an m-section: its m-section's own
/// when the section is not bundled (RFC 8843 §7), else the connection's primary one.
fn transport_of(pc: &Arc<Inner>, id: TransceiverId) -> Option<DtlsTransport> {
    let core = pc.core();
    let mid = core
        .transceiver_info(id)
        .and_then(|t| t.mid().map(str::to_string))?;
    let extra = core
        .transport_of_mid(&mid)
        .filter(|t| core.is_extra_transport(*t));
    drop(core);
    Some(DtlsTransport {
        pc: pc.clone(),
        extra,
    })
}

/// `RTCSctpTransport` (webrtc-pc §6.1.1).
#[derive(Clone)]
pub struct SctpTransport {
    pc: Arc<Inner>,
}

impl std::fmt::Debug for SctpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SctpTransport")
            .field("pc", &self.pc.id)
            .finish()
    }
}

impl PartialEq for SctpTransport {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.pc, &other.pc)
    }
}

impl SctpTransport {
    pub(crate) fn new(pc: Arc<Inner>) -> Self {
        SctpTransport { pc }
    }

    /// `state`.
    pub fn state(&self) -> SctpTransportState {
        self.pc
            .core()
            .sctp_state()
            .unwrap_or(SctpTransportState::Closed)
    }

    /// `transport.iceTransport` (webrtc-pc §6.1.1): the connection's bundled ICE transport.
    pub fn ice_transport(&self) -> Option<IceTransport> {
        let id = self.pc.core().ice_transport()?;
        Some(IceTransport::new(self.pc.clone(), id))
    }

    /// `transport` (webrtc-pc §6.1.1): the DTLS transport the association runs over.
    pub fn transport(&self) -> DtlsTransport {
        DtlsTransport::new(self.pc.clone())
    }

    /// `maxChannels` (webrtc-pc §6.1.1): `None` until the association is connected, then
    /// the number of streams usable in each direction (kept after it closed).
    pub fn max_channels(&self) -> Option<u16> {
        self.pc.core().sctp_max_channels()
    }

    /// `maxMessageSize` (webrtc-pc §6.1.1.3): 0 until the remote description is known.
    pub fn max_message_size(&self) -> f64 {
        self.pc.core().sctp_max_message_size().unwrap_or(0.0)
    }
}

/// `RTCIceTransport` (webrtc-pc §5.6): an ICE agent of the connection (rtcp-mux). The
/// primary one is the same object for every bundled transceiver and the SCTP transport,
/// across ICE restarts and after `close()`; an unbundled m-section has one of its own
/// (RFC 8843 §7). Its events (`statechange`, `gatheringstatechange`,
/// `selectedcandidatepairchange`) arrive on the connection's event stream as
/// `PeerConnectionEvent::IceTransportStateChange`, `IceTransportGatheringStateChange` and
/// `SelectedCandidatePairChange` (`TransportSelectedCandidatePairChange` for a transport
/// beyond the primary one), each just before the connection-level event it causes.
#[derive(Clone)]
pub struct IceTransport {
    pc: Arc<Inner>,
    id: IceTransportId,
}
handle_basics!(IceTransport, id);

impl IceTransport {
    pub(crate) fn new(pc: Arc<Inner>, id: IceTransportId) -> Self {
        IceTransport { pc, id }
    }

    /// `role` (RFC 8445 §6.1.1): the initial offerer is controlling (until a role conflict
    /// says otherwise).
    pub fn role(&self) -> IceRole {
        self.pc.core().ice_transport_role(self.id)
    }

    /// `component`: always "rtp" (rtcp-mux, RFC 5761).
    pub fn component(&self) -> IceComponent {
        IceComponent::Rtp
    }

    /// `state` (webrtc-pc §5.6.4); "closed" at once after `close()`, with no event.
    pub fn state(&self) -> IceTransportState {
        self.pc.core().ice_transport_state(self.id)
    }

    /// `gatheringState` (webrtc-pc §5.6.2); `close()` leaves it as it was (WPT-211).
    pub fn gathering_state(&self) -> IceGatheringState {
        self.pc.core().ice_transport_gathering_state(self.id)
    }

    /// `getLocalCandidates()`: the local candidates signalled in this ICE generation.
    pub fn get_local_candidates(&self) -> Vec<IceCandidate> {
        self.pc.core().ice_local_candidates(self.id)
    }

    /// `getRemoteCandidates()`: the remote candidates signalled to us; peer-reflexive
    /// candidates learnt from checks are not exposed (webrtc-pc §5.6.2, WPT-342).
    pub fn get_remote_candidates(&self) -> Vec<IceCandidate> {
        self.pc.core().ice_remote_candidates(self.id)
    }

    /// `getSelectedCandidatePair()`: the pair ICE selected (RFC 8445 §8.1.1), if any.
    pub fn get_selected_candidate_pair(&self) -> Option<IceCandidatePair> {
        self.pc.core().ice_selected_candidate_pair(self.id)
    }

    /// `getLocalParameters()`: our ufrag/password of the current generation.
    pub fn get_local_parameters(&self) -> Option<IceParameters> {
        self.pc.core().ice_local_parameters(self.id)
    }

    /// `getRemoteParameters()`: the remote ufrag/password in use, once a remote
    /// description gave them.
    pub fn get_remote_parameters(&self) -> Option<IceParameters> {
        self.pc.core().ice_remote_parameters(self.id)
    }
}

/// `RTCDtlsTransport` (webrtc-pc §5.5): the connection's primary (bundled) DTLS transport,
/// or an unbundled m-section's own (RFC 8843 §7). Its `statechange` and `error` arrive on
/// the connection's event stream as `PeerConnectionEvent::DtlsTransportStateChange` and
/// `DtlsTransportError`, with this transport.
#[derive(Clone)]
pub struct DtlsTransport {
    pc: Arc<Inner>,
    /// The ICE transport under it when it is not the primary one (an unbundled m-section's).
    extra: Option<IceTransportId>,
}

impl std::fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("pc", &self.pc.id)
            .field("extra", &self.extra)
            .finish()
    }
}

impl PartialEq for DtlsTransport {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.pc, &other.pc) && self.extra == other.extra
    }
}

impl DtlsTransport {
    pub(crate) fn new(pc: Arc<Inner>) -> Self {
        DtlsTransport { pc, extra: None }
    }

    /// The DTLS transport over ICE transport `id`, a transport beyond the primary one.
    pub(crate) fn over(pc: Arc<Inner>, id: IceTransportId) -> Self {
        DtlsTransport {
            pc,
            extra: Some(id),
        }
    }

    /// `state` (webrtc-pc §5.5.1).
    pub fn state(&self) -> DtlsTransportState {
        match self.extra {
            Some(id) => self.pc.core().dtls_state_of(id),
            None => self.pc.core().dtls_state(),
        }
    }

    /// `iceTransport`: the ICE transport under it, once a local description created it.
    pub fn ice_transport(&self) -> Option<IceTransport> {
        if let Some(id) = self.extra {
            return Some(IceTransport::new(self.pc.clone(), id));
        }
        let id = self.pc.core().ice_transport()?;
        Some(IceTransport::new(self.pc.clone(), id))
    }

    /// `getRemoteCertificates()` (webrtc-pc §5.5.1): the peer's DER certificates once this
    /// transport is "connected", empty before (WPT-333).
    pub fn get_remote_certificates(&self) -> Vec<Vec<u8>> {
        match self.extra {
            Some(id) => self.pc.core().dtls_remote_certificates_of(id),
            None => self.pc.core().dtls_remote_certificates(),
        }
    }
}
