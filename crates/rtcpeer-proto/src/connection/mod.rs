//! The sans-IO core of one peer connection (formerly `jsep`, still reachable under that name):
//! [`Connection`] (also named [`Core`]) composes the [`Negotiator`] (signaling, RFC 9429:
//! descriptions, transceivers, rollback; `impl Negotiator` here and in `negotiator/`) and the
//! `Session` (ICE, DTLS, SCTP, data channels; `impl Session` blocks in `session/`), which
//! do not reach into each other. Each applied description yields a `Negotiated` value that
//! the session applies; gathered candidates go from the session into the negotiator's
//! local descriptions through the connection (`flush_events`); the two halves' events move
//! into the connection's queue in firing order. The session's operations are forwarded in
//! `session_api.rs`, the W3C candidate views are built in `ice_view.rs`.
//!
//! [`Core`] is one owned value per connection, `&mut self` everywhere; it never does I/O and
//! takes its randomness from a [`RandomSource`]. Its observable results are return values
//! and [`Event`]s drained with [`Core::poll_output`] (or [`Core::poll_event`]).

use std::collections::{HashMap, HashSet, VecDeque};

mod ice_view;
mod session_api;
pub use session_api::MAX_JITTER_BUFFER_TARGET;

use crate::cert::Certificate;
use crate::codecs::{MediaKind, RtpCodecCapability};
use crate::config::Configuration;
use crate::error::{Error, Result};
use crate::negotiator::candidate;
use crate::negotiator::negotiated::ice_credentials;
use crate::sdp::Sdp;
use crate::session::Session;
use crate::util::{ICE_CHARS, RandomSource};

pub use crate::negotiator::candidate::{
    IceCandidate, IceCandidateInit, IceCandidateType, IceComponent, IceProtocol,
    IceTcpCandidateType, SignalingLimits,
};
pub use crate::negotiator::transceiver::{
    TrackRef, TransceiverEvent, TransceiverId, TransceiverInfo,
};
pub use crate::negotiator::types;
pub use crate::negotiator::types::{
    AnswerOptions, OfferOptions, RtpTransceiverDirection, SdpType, SessionDescription,
    SignalingState,
};
mod io;

pub use crate::session::channels::{
    BinaryType, DataChannelId, DataChannelInfo, DataChannelInit, DataChannelState, Priority,
    SctpTransportState,
};
pub use crate::session::data::DataChannelEvent;
pub use crate::session::demux::Class;
pub use crate::session::demux::DemuxCounters;
pub use crate::session::ice::{
    IceCandidateError, IceCandidatePair, IceParameters, IceRole, IceTransportId, IceTransportState,
    PeerConnectionState, StunHostName, TurnStreamServer,
};
pub use crate::session::media::{
    MediaCounters, MediaEvent, OutgoingRtp, ReceiveMode, ReceivedFrame, ReceivedRtp, RtpSource,
};
pub use crate::session::scheduler::Transmit as SessionTransmit;
pub use crate::session::timers::{IceTimer, SctpTimer, TimerName};
pub use io::{Event, Input, IoRequest, Output};

pub(crate) use crate::negotiator::transceiver::Transceiver;

/// The DTLS role of this side once negotiated (RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// DTLS client: sends the ClientHello; uses even SCTP stream ids (RFC 8832 §6).
    Client,
    /// DTLS server: uses odd SCTP stream ids.
    Server,
}

/// ICE username fragment and password (RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    /// `a=ice-ufrag`.
    pub ufrag: String,
    /// `a=ice-pwd`.
    pub pwd: String,
}

/// An event of the connection as the W3C fires them (webrtc-pc §4.4.1 and the transports'
/// events), handed out as [`Event::Connection`]. Changes to transceivers are not among them:
/// they come as [`Event::Transceiver`] and are never dropped, whereas these are bounded by
/// 4096 events (`MAX_EVENTS`) (a loss is reported with [`CoreEvent::EventsDropped`]).
// Events are few and short-lived; boxing the candidate would only complicate matching.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CoreEvent {
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `track`: a remote track started arriving on a transceiver's receiver.
    Track {
        /// The transceiver whose receiver's track the event is about.
        transceiver: TransceiverId,
        /// The ids of the remote streams the track belongs to.
        stream_ids: Vec<String>,
    },
    /// `icecandidate`: a local candidate, the per-transport end marker (empty candidate
    /// text), or `None` once gathering is complete (webrtc-pc §4.8.2, WPT-176).
    IceCandidate(Option<IceCandidate>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(crate::ice::IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(crate::ice::IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `icecandidateerror`.
    IceCandidateError(IceCandidateError),
    /// The ICE transport's `selectedcandidatepairchange`.
    SelectedCandidatePairChange(Box<IceCandidatePair>),
    /// The ICE transport's `statechange` (fired just before `iceconnectionstatechange`).
    IceTransportStateChange(IceTransportId, crate::ice::IceConnectionState),
    /// The ICE transport's `gatheringstatechange` (just before `icegatheringstatechange`).
    IceTransportGatheringStateChange(IceTransportId, crate::ice::IceGatheringState),
    /// `datachannel`: the peer opened this channel (RFC 8832); its `open` event follows on
    /// the channel.
    DataChannel(DataChannelId),
    /// The DTLS transport's `statechange` (webrtc-pc §5.5).
    DtlsStateChange(crate::dtls::DtlsTransportState),
    /// The `statechange` of the DTLS transport under ICE transport `id`, a transport beyond
    /// the primary one (an unbundled m-section, RFC 8843 §7; webrtc-pc §5.5).
    TransportDtlsStateChange(IceTransportId, crate::dtls::DtlsTransportState),
    /// The DTLS transport's `error` (an `RTCError` with "dtls-failure" or
    /// "fingerprint-failure"), just before its `statechange` to "failed" (webrtc-pc §5.5.1).
    DtlsError(Error),
    /// The `error` of the DTLS transport under ICE transport `id`, a transport beyond the
    /// primary one, just before its `statechange` to "failed" (webrtc-pc §5.5.1).
    TransportDtlsError(IceTransportId, Error),
    /// The `selectedcandidatepairchange` of ICE transport `id`, a transport beyond the
    /// primary one (webrtc-pc §5.6.1), with the pair as its candidates were signalled.
    TransportSelectedCandidatePairChange(IceTransportId, Box<IceCandidatePair>),
    /// The SCTP transport's `statechange` (webrtc-pc §6.1.1).
    SctpStateChange(SctpTransportState),
    /// Not a W3C event: this many events were dropped here because the queue was full
    /// (nobody drained it); the events before this one were delivered, these are lost.
    EventsDropped(u64),
}

/// A description as applied: its type, parsed form, and the text given back to the application.
///
/// The text is the one applied until `sdp` changes (candidates written into it); then it is
/// rendered from `sdp` when first read and kept until the next change, so adding a
/// candidate costs no re-serialisation of the whole description (issue 12, hole 3).
#[derive(Debug, Clone)]
pub(crate) struct Desc {
    pub typ: SdpType,
    pub sdp: Sdp,
    /// The text given back: the applied text, or `sdp` rendered at the first read after a change.
    text: std::cell::OnceCell<String>,
    /// Whether `text` holds the applied text (not a rendering of `sdp`).
    applied_text: bool,
    /// Bookkeeping of `addIceCandidate` on a remote description, built at its first call.
    pub trickle: Option<Box<candidate::TrickleIndex>>,
}

impl Desc {
    /// A description applied with `text`.
    pub(crate) fn new(typ: SdpType, sdp: Sdp, text: String) -> Self {
        Desc {
            typ,
            sdp,
            text: std::cell::OnceCell::from(text),
            applied_text: true,
            trickle: None,
        }
    }

    /// The text given back to the application (rendered from `sdp` if it changed).
    pub(crate) fn text(&self) -> &str {
        self.text.get_or_init(|| match &self.trickle {
            Some(t) => t.render(&self.sdp),
            None => self.sdp.to_string(),
        })
    }

    /// The candidates of m-section `i`: those it was applied with, then those
    /// `addIceCandidate` added.
    pub(crate) fn candidates_of(&self, i: usize) -> impl Iterator<Item = &crate::sdp::Candidate> {
        let added = self.trickle.as_ref().map_or(&[][..], |t| t.added(i));
        self.sdp
            .media
            .get(i)
            .into_iter()
            .flat_map(|m| m.candidates())
            .chain(added)
    }

    /// Whether m-section `i` has end-of-candidates (applied, or by `addIceCandidate`).
    pub(crate) fn end_of_candidates_in(&self, i: usize) -> bool {
        self.sdp
            .media
            .get(i)
            .is_some_and(|m| m.has(&crate::sdp::Attribute::EndOfCandidates))
            || self.trickle.as_ref().is_some_and(|t| t.added_eoc(i))
    }

    /// `sdp` changed: the text is rendered again at its next read.
    pub(crate) fn sdp_changed(&mut self) {
        self.text = std::cell::OnceCell::new();
        self.applied_text = false;
    }

    /// Whether the text given back is still the applied one (no rendering of `sdp` yet).
    pub(crate) fn has_applied_text(&self) -> bool {
        self.applied_text
    }

    fn to_w3c(&self) -> SessionDescription {
        SessionDescription::new(self.typ, self.text().to_string())
    }
}

/// Who owns an m-line slot of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotOwner {
    Transceiver(TransceiverId),
    Data,
    /// Rejected and no longer associated with anything: may be recycled (RFC 9429 §5.2.2).
    Vacant,
}

/// One m-line position of the session (RFC 9429 §5.2.2: positions never move).
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub mid: Option<String>,
    pub owner: SlotOwner,
    /// `audio`, `video`, `application`, …
    pub kind: String,
    /// The `m=` proto and formats, kept to write a rejected section.
    pub proto: String,
    pub formats: Vec<String>,
}

/// The last offer createOffer produced, with the m-line plan needed to apply it.
#[derive(Debug, Clone)]
pub(crate) struct OfferPlan {
    pub text: String,
    pub slots: Vec<Slot>,
    /// The options it was created with (a parameterless setLocalDescription checks that an
    /// offer created now with them would still be the same, webrtc-pc §4.4.1.6).
    pub options: OfferOptions,
}

/// Per-transceiver state saved when leaving "stable", restored by rollback.
#[derive(Debug, Clone)]
pub(crate) struct SavedTransceiver {
    pub(crate) mid: Option<String>,
    pub(crate) current_direction: Option<RtpTransceiverDirection>,
    pub(crate) mline: Option<usize>,
    pub(crate) fired_recv: bool,
    pub(crate) remote_stream_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) transceivers: HashMap<TransceiverId, SavedTransceiver>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) sctp: Option<SctpInfo>,
}

/// The SCTP transport as signaling knows it: a data section was negotiated (RFC 8841).
#[derive(Debug, Clone)]
pub(crate) struct SctpInfo {
    /// `maxMessageSize` (webrtc-pc §6.1.1.3), once the remote description is known.
    pub max_message_size: f64,
}

/// Settings of the core that are not part of the W3C `RTCConfiguration`.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// SCTP port written in `a=sctp-port` (RFC 8841 §5).
    pub sctp_port: u16,
    /// Largest message this side accepts, written in `a=max-message-size` (RFC 8841 §6).
    pub max_message_size: u64,
    /// DTLS handshake timers and limits (retransmission backoff, RFC 6347 §4.2.4.1).
    pub dtls: crate::dtls::DtlsSettings,
    /// For tests of loss recovery: received RTP packets dropped per thousand, at random,
    /// before decryption, as a lossy network would (NACK and RTX then repair them). 0, the
    /// default, drops nothing.
    pub simulated_rtp_loss_per_mille: u16,
    /// Bounds of the send-side bandwidth estimate in bit/s (draft-ietf-rmcat-gcc-02):
    /// it never goes below `min` nor above `max`, and starts at `start` until feedback
    /// (defaults 30 kbit/s, 1 Mbit/s, 50 Mbit/s). Video frames are paced at 2.5 × it.
    pub outgoing_bitrate_min_bps: u64,
    /// See [`CoreSettings::outgoing_bitrate_min_bps`].
    pub outgoing_bitrate_start_bps: u64,
    /// See [`CoreSettings::outgoing_bitrate_min_bps`].
    pub outgoing_bitrate_max_bps: u64,
}

impl CoreSettings {
    /// The bandwidth estimator's bounds from these settings.
    pub(crate) fn bwe_config(&self) -> crate::rtp::session::cc::BweConfig {
        crate::rtp::session::cc::BweConfig {
            min_bps: self.outgoing_bitrate_min_bps,
            start_bps: self.outgoing_bitrate_start_bps,
            max_bps: self.outgoing_bitrate_max_bps,
        }
    }
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            sctp_port: 5000,
            max_message_size: 262_144,
            dtls: crate::dtls::DtlsSettings::default(),
            simulated_rtp_loss_per_mille: 0,
            outgoing_bitrate_min_bps: 30_000,
            outgoing_bitrate_start_bps: 1_000_000,
            outgoing_bitrate_max_bps: 50_000_000,
        }
    }
}

/// The signaling half of a connection (RFC 9429, webrtc-pc §4.4.1): descriptions,
/// transceivers, m-line slots, rollback and the operations' state rules. Each applied
/// description yields a `Negotiated` value (`negotiator/negotiated.rs`) for the transports.
pub struct Negotiator {
    pub(crate) config: Configuration,
    pub(crate) settings: CoreSettings,
    /// Bounds on what a remote can make the core store (`addIceCandidate`, SRD).
    pub(crate) signaling: SignalingLimits,
    pub(crate) certificate: Certificate,
    pub(crate) rng: Box<dyn RandomSource>,
    pub(crate) signaling_state: SignalingState,
    pub(crate) current_local: Option<Desc>,
    pub(crate) pending_local: Option<Desc>,
    pub(crate) current_remote: Option<Desc>,
    pub(crate) pending_remote: Option<Desc>,
    pub(crate) last_offer: Option<OfferPlan>,
    pub(crate) last_answer: Option<String>,
    /// The transceiver set; one that leaves it (stopped and negotiated, or rolled back) is
    /// forgotten at once ([`TransceiverEvent::Removed`]).
    pub(crate) transceivers: Vec<Transceiver>,
    next_transceiver: u64,
    pub(crate) slots: Vec<Slot>,
    pub(crate) snapshot: Option<Snapshot>,
    /// Every mid used in this session so far that reads as a number (canonical decimal) is
    /// below this floor; new mids are numbers from it up, so none is reused (RFC 9429
    /// §5.2.2) while the connection keeps O(1) state however many mids the remote uses.
    /// Other mids can never equal a mid we allocate and need no memory.
    pub(crate) mid_floor: u128,
    /// `[[LocalIceCredentialsToReplace]]` (by ufrag).
    pub(crate) ice_to_replace: HashSet<String>,
    /// Fresh credentials generated for the next ICE generation, kept until applied.
    pub(crate) fresh_creds: Option<IceCredentials>,
    /// Credentials made for the unbundled transports of an answer, by mid and the remote
    /// ufrag they answer, so that every answer to the same offer has the same ones (at
    /// most one per transport of the last answer).
    pub(crate) transport_creds: Vec<(String, String, IceCredentials)>,
    pub(crate) dtls_role: Option<DtlsRole>,
    /// An applied answer fixed the DTLS role: data-channel stream ids are due (RFC 8832 §6).
    pub(crate) stream_ids_due: bool,
    pub(crate) session_id: u64,
    pub(crate) session_version: u64,
    pub(crate) cname: String,
    pub(crate) negotiation_needed: bool,
    pub(crate) nn_on_empty_chain: bool,
    /// A data channel was created: the session wants an m=application section.
    pub(crate) data_requested: bool,
    pub(crate) sctp: Option<SctpInfo>,
    /// The negotiator's events (its connection events and transceiver changes), moved into
    /// the connection's queue (in order) before any later event of the connection.
    outbox: Vec<Event>,
    /// Events dropped because `outbox` was full (at most [`MAX_EVENTS`]).
    outbox_dropped: u64,
    /// The `a=identity` value written at session level in our offers and answers
    /// (webrtc-identity §6 "Creating an Offer/Answer"), once the IdP produced one.
    pub(crate) local_identity: Option<String>,
}

/// The sans-IO core of one peer connection: the [`Negotiator`] (signaling; its methods are
/// reached through `Deref`) and the `Session` (ICE, DTLS, SCTP, the data channels; its
/// operations are forwarded in `session_api.rs`), with one event queue.
pub struct Connection {
    /// The signaling half.
    pub(crate) negotiator: Negotiator,
    /// The session half (transports, data channels).
    pub(crate) session: Session,
    /// The connection's events and the transceiver changes, in firing order (channel events
    /// wait in the session's channel table, driver requests in `io`).
    events: VecDeque<Event>,
    /// Events dropped since the last `EventsDropped` was queued (the queue was full).
    events_unreported: u64,
    /// Events dropped in all (diagnostics).
    events_dropped_total: u64,
    /// Driver requests not yet polled, and what the driver was told (`io.rs`).
    pub(crate) io: io::IoOutbox,
}

/// Today's name of [`Connection`].
pub type Core = Connection;

impl std::ops::Deref for Connection {
    type Target = Negotiator;
    fn deref(&self) -> &Negotiator {
        &self.negotiator
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Negotiator {
        &mut self.negotiator
    }
}

/// Bound on queued core events. The API layer drains after every call and every network
/// round, and what one round can queue is bounded (e.g. `datachannel` events by
/// `DataChannelLimits::max_open`), so it is not reached in practice; if it is, newer events
/// are dropped and counted, and a [`CoreEvent::EventsDropped`] takes their place: loss is
/// never silent.
pub(crate) const MAX_EVENTS: usize = 4096;

impl Connection {
    /// Creates the core from a validated configuration and a certificate.
    pub fn new(
        config: Configuration,
        settings: CoreSettings,
        certificate: Certificate,
        rng: Box<dyn RandomSource>,
    ) -> Self {
        let session_settings = settings.clone();
        let session_certificate = certificate.clone();
        let session_config = config.clone();
        let mut negotiator = Negotiator::new(config, settings, certificate, rng);
        // The session's own random source, seeded once from the negotiator's.
        let session_rng = Box::new(crate::util::SeededRandom::new(negotiator.rng.next_u64()));
        let session = Session::new(
            &session_config,
            session_settings,
            session_certificate,
            session_rng,
        );
        Connection {
            negotiator,
            session,
            events: VecDeque::new(),
            events_unreported: 0,
            events_dropped_total: 0,
            io: io::IoOutbox::default(),
        }
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// The next connection-level event ([`Event::Connection`] or [`Event::Transceiver`]), in
    /// W3C firing order; [`Core::poll_event`] gives these and the data channels' events.
    pub(crate) fn poll_connection_event(&mut self) -> Option<Event> {
        self.flush_events();
        match self.events.pop_front() {
            Some(e) => Some(e),
            // The loss happened after everything that was queued.
            None if self.events_unreported > 0 => Some(Event::Connection(Box::new(
                CoreEvent::EventsDropped(std::mem::take(&mut self.events_unreported)),
            ))),
            None => None,
        }
    }

    /// The next [`Event::Connection`]'s event, for tests of connections without transceivers
    /// (a transceiver change here is a test failure).
    #[cfg(test)]
    pub(crate) fn poll_core_event(&mut self) -> Option<CoreEvent> {
        self.poll_connection_event().map(|e| match e {
            Event::Connection(e) => *e,
            other => panic!("not a connection event: {other:?}"),
        })
    }

    /// Events the core dropped because its queue was full (see [`CoreEvent::EventsDropped`]).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped_total
    }

    /// Queues an event of the connection (the W3C views), after every event the negotiator
    /// queued before.
    pub(crate) fn emit(&mut self, e: CoreEvent) {
        self.flush_negotiator_events();
        self.push_event(Event::Connection(Box::new(e)));
    }

    /// Moves the negotiator's events, then the session's output, into the queue, in order
    /// (the session's output is moved after each of its calls, so whatever the negotiator
    /// queued before is older). The session's gathered candidates go into the local
    /// descriptions here, and its candidates and pairs become the W3C views as signalled.
    ///
    /// Called after every forwarded session call, so per datagram: the common case (both
    /// outboxes empty) is two inlined checks and no call.
    #[inline]
    pub(crate) fn flush_events(&mut self) {
        if self.negotiator.has_events() || self.session.has_output() {
            self.move_events();
        }
    }

    /// [`Connection::flush_events`] when something is queued.
    #[inline(never)]
    fn move_events(&mut self) {
        self.flush_negotiator_events();
        if !self.session.has_output() {
            return;
        }
        use crate::session::SessionOut;
        let (outs, lost) = self.session.take_outbox();
        for out in outs {
            match out {
                SessionOut::Event(e) => self.push_event(Event::Connection(Box::new(e))),
                SessionOut::LocalCandidate {
                    ufrag,
                    candidate,
                    announce,
                } => {
                    let init = self
                        .negotiator
                        .add_local_candidate(&ufrag, candidate.as_ref());
                    if announce {
                        self.emit_candidate(Some(init));
                    }
                }
                SessionOut::Announce(text) => {
                    let init = self.local_init(text);
                    self.emit_candidate(Some(init));
                }
                SessionOut::SelectedPair { local, remote } => {
                    if let Some(pair) = self.signalled_pair(&local, &remote) {
                        self.session.ice.selected = Some(pair.clone());
                        self.emit(CoreEvent::SelectedCandidatePairChange(Box::new(pair)));
                    }
                }
                SessionOut::TransportCandidate {
                    mid,
                    ufrag,
                    candidate,
                } => {
                    let init =
                        self.negotiator
                            .add_local_candidate_in(&mid, &ufrag, candidate.as_ref());
                    self.emit_candidate(Some(init));
                }
                SessionOut::TransportSelectedPair(id) => {
                    if let Some(Some(pair)) = self.extra_selected_pair(id) {
                        self.emit(CoreEvent::TransportSelectedCandidatePairChange(
                            id,
                            Box::new(pair),
                        ));
                    }
                }
                SessionOut::RefreshSelectedRemote => self.refresh_selected_remote(),
                SessionOut::MediaArrived(id) => self.negotiator.unmute_receiver(id),
            }
        }
        self.events_unreported += lost;
        self.events_dropped_total += lost;
    }

    /// `icecandidate` with `init` (`None`: gathering complete); an init that does not parse
    /// as a candidate fires nothing.
    fn emit_candidate(&mut self, init: Option<IceCandidateInit>) {
        let c = match init {
            Some(init) => match IceCandidate::new(init) {
                Ok(c) => match self.session.relay_origin(&c) {
                    // Relayed candidates name their TURN server (webrtc-pc §4.8.1).
                    Some((protocol, url)) => {
                        Some(c.with_origin(Some(protocol.as_str().into()), Some(url)))
                    }
                    None => Some(c),
                },
                Err(_) => return,
            },
            None => None,
        };
        self.emit(CoreEvent::IceCandidate(c));
    }

    /// Moves the negotiator's events into the queue, in order.
    #[inline]
    fn flush_negotiator_events(&mut self) {
        if self.negotiator.has_events() {
            self.move_negotiator_events();
        }
    }

    /// [`Connection::flush_negotiator_events`] when something is queued.
    #[inline(never)]
    fn move_negotiator_events(&mut self) {
        for e in std::mem::take(&mut self.negotiator.outbox) {
            self.push_event(e);
        }
        let lost = std::mem::take(&mut self.negotiator.outbox_dropped);
        self.events_unreported += lost;
        self.events_dropped_total += lost;
    }

    /// Queues `e`: a transceiver change always, a connection event if the queue has room.
    fn push_event(&mut self, e: Event) {
        if let Event::Transceiver(..) = e {
            // State the API's track registry mirrors: never dropped. Bounded per operation
            // by the transceivers one description can touch (remote ones by the SDP's
            // m-section cap), and the API drains after every operation.
            self.events.push_back(e);
            return;
        }
        // Room for the event, and for the marker of earlier losses before it.
        let need = if self.events_unreported > 0 { 2 } else { 1 };
        if self.events.len() + need > MAX_EVENTS {
            self.events_unreported += 1;
            self.events_dropped_total += 1;
            tracing::warn!("core event queue full ({MAX_EVENTS}); event dropped: {e:?}");
            if let Event::Connection(c) = &e
                && let CoreEvent::DataChannel(key) = **c
            {
                // No handle of this channel will ever exist: forget it once it is closed.
                self.session.release_data_channel(key);
            }
            return;
        }
        if self.events_unreported > 0 {
            let n = std::mem::take(&mut self.events_unreported);
            self.events
                .push_back(Event::Connection(Box::new(CoreEvent::EventsDropped(n))));
        }
        self.events.push_back(e);
    }

    /// `setLocalDescription(description)`; `None` is the parameterless form that creates the
    /// offer or answer itself (webrtc-pc §4.4.1.6): the negotiator applies it, then the
    /// session applies what it means for the transports.
    pub fn set_local_description(&mut self, desc: Option<SessionDescription>) -> Result<()> {
        let negotiated = self.negotiator.set_local_description(desc)?;
        self.apply_negotiated(&negotiated);
        Ok(())
    }

    /// `setRemoteDescription(description)` (webrtc-pc §4.4.1.6, RFC 9429 §5.10).
    pub fn set_remote_description(&mut self, desc: SessionDescription) -> Result<()> {
        if !self.is_closed()
            && desc.sdp_type == SdpType::Offer
            && self.signaling_state == SignalingState::HaveLocalOffer
        {
            // Glare: a remote offer in have-local-offer rolls the local offer back first.
            let negotiated = self.negotiator.rollback()?;
            self.apply_negotiated(&negotiated);
        }
        let negotiated = self.negotiator.set_remote_description(desc)?;
        self.apply_negotiated(&negotiated);
        Ok(())
    }

    /// `addIceCandidate` (webrtc-pc §4.4.1.6, RFC 8840 §4): recorded in the remote
    /// description by the negotiator, handed to the ICE agent when it concerns it.
    pub fn add_ice_candidate(&mut self, c: &IceCandidateInit) -> Result<()> {
        if let Some(rc) = self.negotiator.add_ice_candidate(c)? {
            self.flush_events();
            self.session.ice_remote_candidate(rc);
            self.flush_events();
        }
        Ok(())
    }

    /// The session applies an applied description (or a rollback): data-channel stream
    /// ids once the DTLS role is fixed, then ICE, then DTLS and SCTP.
    fn apply_negotiated(&mut self, negotiated: &crate::negotiator::negotiated::Negotiated) {
        use crate::negotiator::negotiated::Cause;
        // The negotiator's events of the operation come first.
        self.flush_events();
        self.session.apply_roles(negotiated);
        if std::mem::take(&mut self.negotiator.stream_ids_due) {
            self.session.assign_stream_ids();
        }
        match negotiated.cause {
            Cause::LocalApplied(_) => self.session.ice_local_description_applied(negotiated),
            Cause::RemoteApplied(_) => self.session.ice_remote_description_applied(negotiated),
            Cause::RolledBack => self.session.ice_rolled_back(negotiated),
        }
        self.session.transports_applied(negotiated);
        self.session.rtcp_applied(negotiated);
        self.session.data_negotiated(negotiated);
        self.session.apply_media(negotiated);
        self.flush_events();
    }
}

impl Negotiator {
    /// The negotiator of a new connection.
    fn new(
        config: Configuration,
        settings: CoreSettings,
        certificate: Certificate,
        mut rng: Box<dyn RandomSource>,
    ) -> Self {
        // RFC 9429 §5.2.1: sess-id is a 64-bit number with the top bit clear; WPT-128 wants < 2^62.
        let session_id = rng.next_u64() & ((1 << 62) - 1);
        let cname = rng.string(ICE_CHARS, 16);
        Negotiator {
            config,
            settings,
            signaling: SignalingLimits::default(),
            certificate,
            rng,
            signaling_state: SignalingState::Stable,
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            last_offer: None,
            last_answer: None,
            transceivers: Vec::new(),
            next_transceiver: 0,
            slots: Vec::new(),
            snapshot: None,
            mid_floor: 0,
            ice_to_replace: HashSet::new(),
            fresh_creds: None,
            transport_creds: Vec::new(),
            dtls_role: None,
            stream_ids_due: false,
            session_id,
            session_version: 1,
            cname,
            negotiation_needed: false,
            nn_on_empty_chain: false,
            data_requested: false,
            sctp: None,
            outbox: Vec::new(),
            outbox_dropped: 0,
            local_identity: None,
        }
    }

    // (close is below, in `impl Connection`)

    /// Whether events wait in the outbox (or were dropped from it) for the connection.
    #[inline]
    fn has_events(&self) -> bool {
        !self.outbox.is_empty() || self.outbox_dropped > 0
    }

    /// Queues a negotiator event (moved into the connection's queue in order).
    pub(crate) fn emit(&mut self, e: CoreEvent) {
        self.emit_boxed(Box::new(e));
    }

    /// [`Negotiator::emit`] of an event already boxed as [`Event::Connection`] holds it.
    fn emit_boxed(&mut self, e: Box<CoreEvent>) {
        if self.outbox.len() >= MAX_EVENTS {
            self.outbox_dropped += 1;
            tracing::warn!("negotiator event queue full ({MAX_EVENTS}); event dropped: {e:?}");
            return;
        }
        self.outbox.push(Event::Connection(e));
    }

    // ----- state getters -----

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling_state
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.signaling_state == SignalingState::Closed
    }

    /// `localDescription`: the pending one if any, else the current one.
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .map(Desc::to_w3c)
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.current_local.as_ref().map(Desc::to_w3c)
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.pending_local.as_ref().map(Desc::to_w3c)
    }

    /// `remoteDescription`: the pending one if any, else the current one.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
            .map(Desc::to_w3c)
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.current_remote.as_ref().map(Desc::to_w3c)
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.pending_remote.as_ref().map(Desc::to_w3c)
    }

    /// The configuration in effect.
    pub fn configuration(&self) -> &Configuration {
        &self.config
    }

    /// The DTLS certificate of this connection.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The negotiated DTLS role, once an answer fixed it.
    pub fn dtls_role(&self) -> Option<DtlsRole> {
        self.dtls_role
    }

    /// Replaces the configuration after `Configuration::check_update` accepted it.
    pub fn set_configuration(&mut self, config: Configuration) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        config.validate()?;
        self.config
            .check_update(&config, self.local_description_set())?;
        self.config = config;
        Ok(())
    }

    /// `canTrickleIceCandidates`: `None` without a remote description, else whether it
    /// carries `a=ice-options:trickle` (RFC 8840 §4.1.3).
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        use crate::sdp::Attribute as A;
        let d = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        let trickle = |attrs: &[A]| {
            attrs
                .iter()
                .any(|a| matches!(a, A::IceOptions(o) if o.iter().any(|x| x == "trickle")))
        };
        Some(trickle(&d.sdp.attributes) || d.sdp.media.iter().any(|m| trickle(&m.attributes)))
    }

    fn local_description_set(&self) -> bool {
        self.current_local.is_some() || self.pending_local.is_some()
    }

    pub(crate) fn set_signaling_state(&mut self, s: SignalingState) {
        if self.signaling_state != s {
            self.signaling_state = s;
            self.emit(CoreEvent::SignalingStateChange(s));
        }
    }

    // ----- transceivers -----

    /// The transceivers in creation order (`getTransceivers()`).
    pub fn transceiver_ids(&self) -> Vec<TransceiverId> {
        self.transceivers.iter().map(|t| t.id).collect()
    }

    pub(crate) fn transceiver(&self, id: TransceiverId) -> Option<&Transceiver> {
        self.transceivers.iter().find(|t| t.id == id)
    }

    /// A read-only view of a transceiver of the set; `None` once it was removed (webrtc-pc
    /// §4.4.1.5) and forgotten (see [`TransceiverInfo::forgotten`]).
    pub fn transceiver_info(&self, id: TransceiverId) -> Option<TransceiverInfo<'_>> {
        self.transceiver(id).map(TransceiverInfo::live)
    }

    /// Queues transceiver changes ([`Event::Transceiver`]: never dropped).
    pub(crate) fn emit_transceiver(&mut self, id: TransceiverId, evs: Vec<TransceiverEvent>) {
        self.outbox
            .extend(evs.into_iter().map(|e| Event::Transceiver(id, e)));
    }

    /// Queues events collected while transceivers were borrowed: transceiver changes are
    /// never dropped, connection events go through the bounded queue.
    pub(crate) fn emit_all(&mut self, evs: Vec<Event>) {
        for e in evs {
            match e {
                Event::Connection(e) => self.emit_boxed(e),
                e => self.outbox.push(e),
            }
        }
    }

    /// How many transceivers the connection holds (`getTransceivers()`: removed ones are
    /// forgotten at once).
    pub fn transceiver_count(&self) -> usize {
        self.transceivers.len()
    }

    pub(crate) fn transceiver_mut(&mut self, id: TransceiverId) -> Option<&mut Transceiver> {
        self.transceivers.iter_mut().find(|t| t.id == id)
    }

    fn index_of(&self, id: TransceiverId) -> Option<usize> {
        self.transceivers.iter().position(|t| t.id == id)
    }

    /// Whether the transceiver is still in the connection's set.
    pub fn has_transceiver(&self, id: TransceiverId) -> bool {
        self.index_of(id).is_some()
    }

    pub(crate) fn new_transceiver(
        &mut self,
        kind: MediaKind,
        direction: RtpTransceiverDirection,
        track: Option<TrackRef>,
        stream_ids: Vec<String>,
    ) -> TransceiverId {
        let id = TransceiverId(self.next_transceiver);
        self.next_transceiver += 1;
        let receiver_track_id = self.rng.uuid();
        let sender_msid_track = self.rng.uuid();
        let ssrc = self.rng.next_u32() | 1;
        let rtx_ssrc = self.rng.next_u32() | 1;
        self.transceivers.push(Transceiver {
            id,
            kind,
            mid: None,
            direction,
            current_direction: None,
            stopping: false,
            stopped: false,
            addtrack_attached: false,
            created_by_remote: false,
            has_sent: false,
            sender: track,
            sender_stream_ids: dedup(stream_ids),
            sender_msid_track,
            ssrc,
            rtx_ssrc,
            // webrtc-pc §5.3 "create an RTCRtpReceiver": the track starts muted.
            receiver_track_id: receiver_track_id.clone(),
            receiver_muted: true,
            receiver_ended: false,
            remote_stream_ids: Vec::new(),
            fired_recv: false,
            codec_preferences: Vec::new(),
            remote_codecs: Vec::new(),
            remote_extensions: Vec::new(),
            mline: None,
            parameters: Default::default(),
            jitter_buffer_target: None,
        });
        self.emit_transceiver(
            id,
            vec![TransceiverEvent::Added {
                kind,
                receiver_track_id,
            }],
        );
        id
    }

    /// `addTransceiver(kind or track, init)` (webrtc-pc §4.4.1.10 / §5.1).
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        track: Option<TrackRef>,
        direction: RtpTransceiverDirection,
        stream_ids: Vec<String>,
        chain_empty: bool,
    ) -> Result<TransceiverId> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if direction == RtpTransceiverDirection::Stopped {
            return Err(Error::type_error(
                "'stopped' is not a valid initial direction",
            ));
        }
        if let Some(t) = &track {
            if t.kind != kind {
                return Err(Error::type_error("the track's kind does not match"));
            }
        }
        let id = self.new_transceiver(kind, direction, track, stream_ids);
        self.update_negotiation_needed(chain_empty);
        Ok(id)
    }

    /// `addTrack(track, ...streams)` (webrtc-pc §5.1): reuses a suitable transceiver or makes one.
    pub fn add_track(
        &mut self,
        track: TrackRef,
        stream_ids: Vec<String>,
        chain_empty: bool,
    ) -> Result<TransceiverId> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        // CollectSenders (webrtc-pc §5.1) skips [[Stopped]] transceivers.
        if self
            .transceivers
            .iter()
            .any(|t| !t.stopped && t.sender.as_ref().is_some_and(|s| s.serial == track.serial))
        {
            return Err(Error::invalid_access("the track is already being sent"));
        }
        let kind = track.kind;
        // Reuse a transceiver whose sender never sent, has no track, same kind, not stopping.
        let reuse = self
            .transceivers
            .iter()
            .position(|t| t.kind == kind && t.sender.is_none() && !t.has_sent && t.is_active());
        let id = match reuse {
            Some(i) => {
                let t = &mut self.transceivers[i];
                t.sender = Some(track);
                t.sender_stream_ids = dedup(stream_ids);
                t.addtrack_attached = true;
                t.direction = match t.direction {
                    RtpTransceiverDirection::RecvOnly => RtpTransceiverDirection::SendRecv,
                    RtpTransceiverDirection::Inactive => RtpTransceiverDirection::SendOnly,
                    d => d,
                };
                t.id
            }
            None => {
                let id = self.new_transceiver(
                    kind,
                    RtpTransceiverDirection::SendRecv,
                    Some(track),
                    stream_ids,
                );
                if let Some(t) = self.transceiver_mut(id) {
                    t.addtrack_attached = true;
                }
                id
            }
        };
        self.update_negotiation_needed(chain_empty);
        Ok(id)
    }

    /// `removeTrack(sender)` (webrtc-pc §5.1) for the sender of transceiver `id`.
    pub fn remove_track(&mut self, id: TransceiverId, chain_empty: bool) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let Some(t) = self.transceiver_mut(id) else {
            // A sender whose transceiver was removed is not in the set: nothing to do.
            return Ok(());
        };
        if t.stopping || t.stopped || t.sender.is_none() {
            return Ok(());
        }
        t.sender = None;
        t.direction = match t.direction {
            RtpTransceiverDirection::SendRecv => RtpTransceiverDirection::RecvOnly,
            RtpTransceiverDirection::SendOnly => RtpTransceiverDirection::Inactive,
            d => d,
        };
        self.update_negotiation_needed(chain_empty);
        Ok(())
    }

    /// `replaceTrack(track)` (webrtc-pc §5.2): sender's track without renegotiation.
    pub fn replace_track(&mut self, id: TransceiverId, track: Option<TrackRef>) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let t = self
            .transceiver_mut(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        if t.stopping || t.stopped {
            return Err(Error::invalid_state("the transceiver is stopped"));
        }
        if let Some(tr) = &track {
            if tr.kind != t.kind {
                return Err(Error::type_error(
                    "the track's kind does not match the sender",
                ));
            }
        }
        t.sender = track;
        Ok(())
    }

    /// `sender.setStreams(...streams)` (webrtc-pc §5.2).
    pub fn set_streams(
        &mut self,
        id: TransceiverId,
        stream_ids: Vec<String>,
        chain_empty: bool,
    ) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let t = self
            .transceiver_mut(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        if t.stopping || t.stopped {
            return Err(Error::invalid_state("the transceiver is stopped"));
        }
        t.sender_stream_ids = dedup(stream_ids);
        self.update_negotiation_needed(chain_empty);
        Ok(())
    }

    /// The `direction` setter (webrtc-pc §5.4).
    pub fn set_direction(
        &mut self,
        id: TransceiverId,
        direction: RtpTransceiverDirection,
        chain_empty: bool,
    ) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let t = self
            .transceiver_mut(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        // Spec order: [[Stopping]] → InvalidStateError, then "stopped" → TypeError.
        if t.stopping || t.stopped {
            return Err(Error::invalid_state("the transceiver is stopped"));
        }
        if t.direction == direction {
            return Ok(());
        }
        if direction == RtpTransceiverDirection::Stopped {
            return Err(Error::type_error("use stop() to stop a transceiver"));
        }
        t.direction = direction;
        self.update_negotiation_needed(chain_empty);
        Ok(())
    }

    /// `transceiver.stop()` (webrtc-pc §5.4): stopping until negotiated, direction "stopped".
    pub fn stop_transceiver(&mut self, id: TransceiverId, chain_empty: bool) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let Some(t) = self.transceiver_mut(id) else {
            return Ok(());
        };
        if t.stopping || t.stopped {
            return Ok(());
        }
        t.stopping = true;
        t.direction = RtpTransceiverDirection::Stopped;
        let mut evs = Vec::new();
        t.end_receiver(&mut evs);
        self.emit_transceiver(id, evs);
        self.update_negotiation_needed(chain_empty);
        Ok(())
    }

    /// `setCodecPreferences(codecs)` (webrtc-pc §5.4).
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: Vec<RtpCodecCapability>,
    ) -> Result<()> {
        let kind = self
            .transceiver(id)
            .map(|t| t.kind)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        crate::codecs::validate_codec_preferences(kind, &codecs)?;
        if let Some(t) = self.transceiver_mut(id) {
            t.codec_preferences = codecs;
        }
        Ok(())
    }

    /// `restartIce()` (webrtc-pc §4.4.1.7).
    pub fn restart_ice(&mut self, chain_empty: bool) {
        if self.is_closed() {
            return;
        }
        self.ice_to_replace.clear();
        for d in [&self.current_local, &self.pending_local]
            .into_iter()
            .flatten()
        {
            if let Some(c) = ice_credentials(&d.sdp) {
                self.ice_to_replace.insert(c.ufrag);
            }
        }
        self.update_negotiation_needed(chain_empty);
    }

    // ----- helpers shared by the submodules -----

    pub(crate) fn new_credentials(&mut self) -> IceCredentials {
        IceCredentials {
            ufrag: self.rng.string(ICE_CHARS, 8),
            pwd: self.rng.string(ICE_CHARS, 24),
        }
    }

    /// Credentials of the newest applied local description.
    pub(crate) fn local_credentials(&self) -> Option<IceCredentials> {
        self.pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .and_then(|d| ice_credentials(&d.sdp))
    }

    /// Fresh credentials for a new ICE generation, stable until a description uses them.
    pub(crate) fn fresh_credentials(&mut self) -> IceCredentials {
        if let Some(c) = &self.fresh_creds {
            return c.clone();
        }
        let c = self.new_credentials();
        self.fresh_creds = Some(c.clone());
        c
    }

    /// A new mid: the smallest number at or above `mid_floor` (above every numeric mid used in
    /// this session, RFC 9429 §5.2.2) not in `taken` nor held by a transceiver or m-line.
    /// Only if a remote used mid 2^128-1 (no number is left), "x" and a number, checked
    /// against the mids in use only.
    pub(crate) fn allocate_mid(&self, taken: &HashSet<String>) -> String {
        let in_use = |m: &str| {
            taken.contains(m)
                || self
                    .transceivers
                    .iter()
                    .any(|t| t.mid.as_deref() == Some(m))
                || self.slots.iter().any(|s| s.mid.as_deref() == Some(m))
        };
        let numbers = (self.mid_floor..u128::MAX).map(|n| n.to_string());
        let fallback = (0u64..).map(|n| format!("x{n}"));
        numbers
            .chain(fallback)
            .find(|m| !in_use(m))
            .unwrap_or_default()
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

impl Connection {
    /// `close()` (webrtc-pc §4.4.1.9): no events fire; everything stops. The session
    /// closes first (its DTLS close_notify and SCTP ABORT are left to send), then the
    /// negotiator.
    pub fn close(&mut self) {
        if self.is_closed() {
            return;
        }
        self.session.close();
        self.negotiator.close();
        self.events.clear();
        self.events_unreported = 0;
    }

    /// `createDataChannel(label, init)` (webrtc-pc §6.1): the session records the channel
    /// (with a stream id if the DTLS role is known, RFC 8832 §6), then the negotiator asks
    /// for a data section (the first channel makes negotiation needed).
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: &DataChannelInit,
        chain_empty: bool,
    ) -> Result<DataChannelId> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let key = self
            .session
            .create_data_channel(label, init, self.negotiator.dtls_role)?;
        self.flush_events();
        self.negotiator.request_data_section(chain_empty);
        Ok(key)
    }

    /// `setConfiguration(configuration)` (webrtc-pc §4.4.1.8): the negotiator checks and
    /// keeps it; the session takes its ICE part.
    pub fn set_configuration(&mut self, config: Configuration) -> Result<()> {
        self.negotiator.set_configuration(config)?;
        self.session.set_ice_config(&self.negotiator.config);
        Ok(())
    }
}

impl Negotiator {
    /// `close()`: signaling state "closed", every transceiver stopped; no events fire.
    fn close(&mut self) {
        self.signaling_state = SignalingState::Closed;
        for t in &mut self.transceivers {
            t.stopping = true;
            t.stopped = true;
            t.direction = RtpTransceiverDirection::Stopped;
            t.current_direction = Some(RtpTransceiverDirection::Stopped);
            // No event: close() fires none; the API ends its receiver tracks itself.
            t.receiver_ended = true;
        }
        self.outbox.clear();
        self.outbox_dropped = 0;
    }

    /// A data channel was created: the session wants an m=application section; the first
    /// one makes negotiation needed (webrtc-pc §6.1 createDataChannel).
    fn request_data_section(&mut self, chain_empty: bool) {
        let first = !self.data_requested;
        self.data_requested = true;
        if first {
            self.update_negotiation_needed(chain_empty);
        }
    }
}
