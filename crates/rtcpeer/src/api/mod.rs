//! The W3C API: [`PeerConnection`] and the objects it hands out. These are thin handles
//! (an `Arc` of the connection plus an id); the state lives in the sans-IO [`Core`].
//!
//! Locking: the core sits in one mutex that every call holds only for non-blocking core
//! work; events are delivered after the lock is released, and handlers run on their own
//! tasks, so no user code ever runs under a lock.

mod chain;
mod datachannel;
mod driver;
mod events;
mod identity;
mod legacy;
mod mdns_socket;
mod media;
mod mux;
mod objects;
mod stats;
mod tcp;
mod tracks;
mod turn_stream;
mod udp;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::track::{MediaStream, MediaStreamTrack};
use rtcpeer_proto::Configuration;
use rtcpeer_proto::DataChannelLimits;
use rtcpeer_proto::MediaKind;
use rtcpeer_proto::jsep::{
    AnswerOptions, Core, CoreSettings, DataChannelInit, Event, IceCandidateInit, OfferOptions,
    PeerConnectionState, RtpTransceiverDirection, SessionDescription, SignalingLimits,
    SignalingState,
};
use rtcpeer_proto::{Certificate, CertificateParams};
use rtcpeer_proto::{Error, Result};
use rtcpeer_proto::{IceAgentConfig, IceConnectionState, IceGatheringState, InterfaceFilter};
use rtcpeer_proto::{OsRandom, RandomSource, SeededRandom};

pub use chain::Operation;
pub use datachannel::{DataChannel, DataChannelEvents};
pub use driver::NetworkTask;
pub use events::{EVENT_QUEUE, EventStream, PeerConnectionEvent, TrackEvent};
pub use identity::{
    IDP_TIMEOUT, IdentityAssertion, IdentityAssertionResult, IdentityProvider,
    IdentityProviderDetails, IdentityProviderOptions, IdentityValidationResult, IdpFuture,
};
pub use mux::{MUX_QUEUE, UdpMux};
pub use objects::{
    DtlsTransport, DtmfSender, IceTransport, RtpReceiver, RtpSender, RtpTransceiver, SctpTransport,
};
pub use tcp::IceTcpSettings;

use chain::Chain;
use driver::DriverShared;
use events::Subscribers;

/// Non-standard knobs that are not part of the W3C `RTCConfiguration` (a "setting engine").
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Seed for the connection's random choices (ICE credentials, SSRCs, ids). `None` uses
    /// the operating system's CSPRNG; a seed makes a test reproducible (never use in production).
    pub seed: Option<u64>,
    /// SCTP port and max-message-size written in the SDP, and the DTLS handshake timers
    /// (`core.dtls`).
    pub core: CoreSettings,
    /// Where ICE gathers and the agent's timers.
    pub ice: IceSettings,
    /// Bounds on what a remote peer can make signaling store: remote description size,
    /// candidates per m-section, candidate length (RFC 8838 §4, webrtc-pc §4.4.1.7).
    pub signaling: SignalingLimits,
    /// Caps on data channels: open at once, and label/protocol bytes kept (RFC 8832 §6;
    /// a peer's opens beyond them are refused by resetting the stream).
    pub data_channels: DataChannelLimits,
}

/// ICE knobs outside `RTCConfiguration` (non-standard, like Pion's SettingEngine).
#[derive(Debug, Clone)]
pub struct IceSettings {
    /// Local IP addresses to gather host candidates on: one UDP socket each, on an ephemeral
    /// port (RFC 8445 §5.1.1.1); at most 16. Each must be a concrete unicast address. When
    /// not empty it is used as is; when empty, the machine's interfaces are enumerated and
    /// filtered by [`IceSettings::interface_filter`] (like libnice without local addresses).
    ///
    /// The default is loopback only (`127.0.0.1`), so nothing a default-configured connection
    /// does can leave the machine: two connections in one process connect, a remote peer
    /// cannot reach it. To reach other machines, gather on every usable interface with
    /// [`IceSettings::all_interfaces`] (or an empty list), or list the addresses. Loopback by
    /// default is deliberate: tests and demos never touch the machine's other addresses, and
    /// exposing them is the application's choice, not an accident of defaults.
    pub interfaces: Vec<IpAddr>,
    /// Which enumerated interfaces are used when `interfaces` is empty: by default every
    /// interface that is up, IPv4 and IPv6, without loopback; link-local addresses are
    /// never used (like Pion's `SetInterfaceFilter` / `SetIPFilter`).
    pub interface_filter: InterfaceFilter,
    /// One shared UDP socket instead of sockets of the connection's own (servers): its
    /// address is the only host candidate and `interfaces` is ignored (see [`UdpMux`]).
    pub udp_mux: Option<UdpMux>,
    /// Timers and limits of the ICE agent (pacing, retransmissions, consent; RFC 8445,
    /// RFC 7675); `iceTransportPolicy` is in the `Configuration`.
    pub agent: IceAgentConfig,
    /// Bound on resolving STUN server host names in the driver (default 5 s); a name not
    /// resolved in time gives `icecandidateerror` 701 (webrtc-pc §4.8.3).
    pub stun_resolve_timeout: Duration,
    /// Resolve remote candidates whose address is an mDNS `.local` name, as browsers send by
    /// default (draft-ietf-mmusic-mdns-ice-candidates §3.2; RFC 6762). Off by default: then
    /// no mDNS is sent and such candidates are dropped. On, the driver opens a multicast
    /// socket on port 5353 at the first such name (see `api/mdns_socket.rs`).
    pub mdns: bool,
    /// ICE-TCP (RFC 6544): TCP host candidates and their limits; off by default.
    pub tcp: IceTcpSettings,
    /// Extra trusted root certificates (PEM text, one or more certificates each) for
    /// `turns:` servers, on top of the platform's roots (e.g. a private CA). The TLS server
    /// name checked is the URL's host (RFC 8656 §3.1, RFC 6066 §3).
    pub turn_tls_roots: Vec<String>,
    /// Bound on opening a TURN-over-TCP/TLS connection (lookup, connect, TLS handshake;
    /// default 5 s); a connection not made in time gives `icecandidateerror` 701.
    pub turn_connect_timeout: Duration,
    /// Hide our own host addresses, as browsers do by default
    /// (draft-ietf-mmusic-mdns-ice-candidates §3.1): each local IP gets a random
    /// `<uuid v4>.local` name for the connection's life, the local description and
    /// `icecandidate` carry the name instead of the address (srflx and relay candidates
    /// `raddr 0.0.0.0 rport 0`), and the driver answers mDNS queries for the names on port
    /// 5353 (RFC 6762; see `api/mdns_socket.rs`). Connectivity checks use the real
    /// addresses. The peer must resolve mDNS names (browsers do; rtcpeer with
    /// [`IceSettings::mdns`]) and be on the same link, else only srflx/relay candidates
    /// connect. The mDNS socket works over IPv4: an IPv6 address's name is answered (AAAA)
    /// to queries that arrive over IPv4, so at least one IPv4 host address is needed. Off by
    /// default.
    pub hide_host_addresses: bool,
}

impl IceSettings {
    /// Gathers on every usable interface of the machine (up, not loopback, not link-local,
    /// IPv4 and IPv6): what a deployment that talks to other machines wants.
    pub fn all_interfaces() -> IceSettings {
        IceSettings {
            interfaces: Vec::new(),
            ..IceSettings::default()
        }
    }
}

impl Default for IceSettings {
    fn default() -> Self {
        IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            interface_filter: InterfaceFilter::default(),
            udp_mux: None,
            agent: IceAgentConfig::default(),
            stun_resolve_timeout: Duration::from_secs(5),
            mdns: false,
            tcp: IceTcpSettings::default(),
            turn_tls_roots: Vec::new(),
            turn_connect_timeout: Duration::from_secs(5),
            hide_host_addresses: false,
        }
    }
}

/// `RTCRtpTransceiverInit` (webrtc-pc §5.1).
#[derive(Debug, Clone)]
pub struct TransceiverInit {
    /// Initial direction (default sendrecv).
    pub direction: RtpTransceiverDirection,
    /// Streams the sender's track belongs to (`a=msid`).
    pub streams: Vec<MediaStream>,
    /// `sendEncodings`: the sender's encodings (webrtc-pc §5.1; empty: one active encoding),
    /// checked by [`rtcpeer_proto::validate_send_encodings`].
    pub send_encodings: Vec<rtcpeer_proto::RtpEncodingParameters>,
}

impl Default for TransceiverInit {
    fn default() -> Self {
        TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            streams: Vec::new(),
            send_encodings: Vec::new(),
        }
    }
}

/// What `addTransceiver` takes: a media kind or a track.
#[derive(Debug, Clone)]
pub enum TrackOrKind {
    /// A transceiver without a track, of this kind.
    Kind(MediaKind),
    /// A transceiver sending this track.
    Track(MediaStreamTrack),
}

impl From<MediaKind> for TrackOrKind {
    fn from(k: MediaKind) -> Self {
        TrackOrKind::Kind(k)
    }
}

impl From<MediaStreamTrack> for TrackOrKind {
    fn from(t: MediaStreamTrack) -> Self {
        TrackOrKind::Track(t)
    }
}

impl From<&MediaStreamTrack> for TrackOrKind {
    fn from(t: &MediaStreamTrack) -> Self {
        TrackOrKind::Track(t.clone())
    }
}

/// `addTransceiver("audio")` style: the string is a kind; anything else is a `TypeError`.
impl TryFrom<&str> for TrackOrKind {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        Ok(TrackOrKind::Kind(s.parse()?))
    }
}

pub(crate) struct Inner {
    pub(crate) id: u64,
    pub(crate) core: Mutex<Core>,
    pub(crate) chain: Mutex<Chain>,
    pub(crate) subscribers: Subscribers,
    /// Held while events are taken from the core and handed to subscribers, so that
    /// operations completing on several threads still deliver events in firing order.
    pub(crate) dispatching: Mutex<()>,
    /// Wake-up and stop signal of the network driver task (`driver.rs`).
    pub(crate) driver: Arc<DriverShared>,
    /// Where the driver gets its local addresses (explicit, enumerated, or a UDP mux).
    pub(crate) ice_host: driver::HostGathering,
    /// Bound on STUN host-name lookups in the driver.
    pub(crate) stun_resolve_timeout: Duration,
    /// Whether the driver resolves `.local` candidates (`IceSettings::mdns`).
    pub(crate) mdns: bool,
    /// `IceSettings::turn_tls_roots` and `turn_connect_timeout`.
    pub(crate) turn_tls: (Arc<Vec<String>>, Duration),
    /// Whether the driver answers for our hidden host names
    /// (`IceSettings::hide_host_addresses`).
    pub(crate) hide_host_addresses: bool,
    /// Each data channel's event queue (`datachannel.rs`).
    pub(crate) channel_queues: datachannel::ChannelQueues,
    /// Which channels still have handles (see `datachannel::Liveness`).
    pub(crate) channel_liveness: Mutex<datachannel::ChannelLiveness>,
    /// The transceivers' track and stream objects (`tracks.rs`).
    pub(crate) tracks: tracks::Tracks,
    /// Each transceiver's received media and sender feedback (`media.rs`).
    pub(crate) media: media::MediaQueues,
    /// Identity providers, the stored assertion and `peerIdentity` (`identity.rs`).
    pub(crate) identity: identity::IdentityState,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: the driver (which only holds a Weak) stops.
        self.driver.stop();
    }
}

impl Inner {
    pub(crate) fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a synchronous core call with the chain state, then delivers its events.
    pub(crate) fn sync<T>(self: &Arc<Self>, f: impl FnOnce(&mut Core, bool) -> T) -> T {
        // The chain stays locked (chain, then core: the order `run_through` uses) so it cannot
        // empty between the check and the call, which would lose a deferred negotiationneeded.
        let r = {
            let chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut self.core(), chain.is_empty())
        };
        self.dispatch();
        self.wake_driver();
        r
    }
}

/// The API objects are shared across tasks and threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<PeerConnection>();
    check::<RtpTransceiver>();
    check::<RtpSender>();
    check::<RtpReceiver>();
    check::<DataChannel>();
    check::<SctpTransport>();
    check::<IceTransport>();
    check::<Operation<SessionDescription>>();
    check::<PeerConnectionEvent>();
}

static NEXT_PC: AtomicU64 = AtomicU64::new(1);

/// `RTCPeerConnection` (webrtc-pc §4.4). Cheap to clone: clones are the same connection.
#[derive(Clone)]
pub struct PeerConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("id", &self.inner.id)
            .field("signaling_state", &self.signaling_state())
            .finish()
    }
}

impl PartialEq for PeerConnection {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl PeerConnection {
    /// `new RTCPeerConnection(configuration)` (webrtc-pc §4.4.1.1).
    pub fn new(config: Configuration) -> Result<Self> {
        Self::with_settings(config, Settings::default())
    }

    /// `new RTCPeerConnection(JSON configuration)`: the browser's dictionary as JSON, with
    /// WebIDL's conversion rules (e.g. `{"iceServers":[{"urls":"stun:example.org"}]}`).
    pub fn from_json(config: &serde_json::Value) -> Result<Self> {
        Self::new(Configuration::from_json(config)?)
    }

    /// Like [`PeerConnection::new`], with non-standard [`Settings`].
    pub fn with_settings(config: Configuration, settings: Settings) -> Result<Self> {
        config.validate()?;
        let now = SystemTime::now();
        config.check_certificates(now)?;
        let certificate = match Certificate::select_for_dtls(&config.certificates) {
            Some(c) => c.clone(),
            None => Certificate::generate(CertificateParams::default(), now)?,
        };
        let rng: Box<dyn RandomSource> = match settings.seed {
            Some(seed) => Box::new(SeededRandom::new(seed)),
            None => Box::new(OsRandom),
        };
        let ice_rng: Box<dyn RandomSource> = match settings.seed {
            // A different stream than the core's, still reproducible.
            Some(seed) => Box::new(SeededRandom::new(seed ^ 0x1CE0_1CE0_1CE0_1CE0)),
            None => Box::new(OsRandom),
        };
        let mut core = Core::new(config, settings.core, certificate, rng);
        core.configure_ice(settings.ice.agent, ice_rng);
        core.set_hide_host_addresses(settings.ice.hide_host_addresses);
        core.set_signaling_limits(settings.signaling);
        core.set_data_channel_limits(settings.data_channels);
        // Sender reports carry wall-clock time (RFC 3550 §6.4.1); the core reads no clock.
        let unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        core.set_wall_clock(std::time::Instant::now(), unix);
        let pc = PeerConnection {
            inner: Arc::new(Inner {
                id: NEXT_PC.fetch_add(1, Ordering::Relaxed),
                core: Mutex::new(core),
                chain: Mutex::new(Chain::default()),
                subscribers: Subscribers::default(),
                dispatching: Mutex::new(()),
                driver: Arc::new(DriverShared::default()),
                ice_host: driver::HostGathering {
                    interfaces: settings.ice.interfaces,
                    filter: settings.ice.interface_filter,
                    mux: settings.ice.udp_mux,
                    tcp: settings.ice.tcp,
                },
                stun_resolve_timeout: settings.ice.stun_resolve_timeout,
                mdns: settings.ice.mdns,
                turn_tls: (
                    Arc::new(settings.ice.turn_tls_roots),
                    settings.ice.turn_connect_timeout,
                ),
                hide_host_addresses: settings.ice.hide_host_addresses,
                channel_queues: Default::default(),
                channel_liveness: Default::default(),
                tracks: Default::default(),
                media: Default::default(),
                identity: Default::default(),
            }),
        };
        // iceCandidatePoolSize > 0: the core asks for a driver, gathering starts now
        // (webrtc-pc §4.4.1.1).
        pc.inner.dispatch();
        Ok(pc)
    }

    /// `RTCPeerConnection.generateCertificate(keygenAlgorithm)` (webrtc-pc §4.10.1).
    pub async fn generate_certificate(params: impl Into<CertificateParams>) -> Result<Certificate> {
        Certificate::generate(params, SystemTime::now())
    }

    // ----- chained operations -----

    /// `createOffer(options)` (webrtc-pc §4.4.1.3).
    pub fn create_offer(&self, options: Option<OfferOptions>) -> Operation<SessionDescription> {
        let options = options.unwrap_or_default();
        self.inner
            .enqueue_with_identity(move |core| core.create_offer(&options))
    }

    /// `createAnswer(options)` (webrtc-pc §4.4.1.4).
    pub fn create_answer(&self, _options: Option<AnswerOptions>) -> Operation<SessionDescription> {
        self.inner
            .enqueue_with_identity(|core| core.create_answer())
    }

    /// `setLocalDescription(description)`; `None` creates the offer or answer implicitly.
    pub fn set_local_description(&self, description: Option<SessionDescription>) -> Operation<()> {
        // The implicit offer/answer carries the identity assertion like an explicit one.
        let implicit = description.as_ref().is_none_or(|d| {
            d.sdp.is_empty() && d.sdp_type != rtcpeer_proto::jsep::SdpType::Rollback
        });
        if implicit {
            self.inner
                .enqueue_with_identity(move |core| core.set_local_description(description))
        } else {
            self.inner
                .enqueue(move |core| core.set_local_description(description))
        }
    }

    /// `setRemoteDescription(description)` (webrtc-pc §4.4.1.6).
    pub fn set_remote_description(&self, description: SessionDescription) -> Operation<()> {
        self.inner.enqueue_remote_description(description)
    }

    // ----- attributes -----

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.inner.core().signaling_state()
    }

    /// `localDescription`.
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.inner.core().local_description()
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.inner.core().current_local_description()
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.inner.core().pending_local_description()
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.inner.core().remote_description()
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.inner.core().current_remote_description()
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.inner.core().pending_remote_description()
    }

    /// `getConfiguration()`.
    pub fn get_configuration(&self) -> Configuration {
        self.inner.core().configuration().clone()
    }

    /// `setConfiguration(configuration)` (webrtc-pc §4.4.1.8): all or nothing.
    pub fn set_configuration(&self, config: Configuration) -> Result<()> {
        self.inner.core().set_configuration(config)?;
        // A pool size raised above 0 starts gathering (webrtc-pc §4.4.1.8 step 11): the core
        // asks for a driver.
        self.inner.dispatch();
        self.inner.wake_driver();
        Ok(())
    }

    /// How many data channels the connection keeps: every channel not yet closed, and closed
    /// ones the application still holds a handle to (the others are forgotten, so channel
    /// churn does not grow memory).
    pub fn data_channel_count(&self) -> usize {
        self.inner.core().data_channel_count()
    }

    /// The peer's channel opens this connection refused (non-standard): beyond
    /// [`Settings::data_channels`] or on a stream id of this side's parity (RFC 8832 §6).
    /// Each had its stream reset and fired no `datachannel` event.
    pub fn refused_data_channels(&self) -> u64 {
        self.inner.core().refused_data_channels()
    }

    /// Data channels open now (either side's, not yet closed) and the label and protocol
    /// bytes kept for this connection's channels: what [`Settings::data_channels`] bounds.
    pub fn data_channel_usage(&self) -> (usize, usize) {
        self.inner.core().data_channel_usage()
    }

    /// `sctp`: the SCTP transport once a description with a data section was applied.
    pub fn sctp(&self) -> Option<SctpTransport> {
        let exists = self.inner.core().sctp_state().is_some();
        exists.then(|| SctpTransport::new(self.inner.clone()))
    }

    // ----- media -----

    /// How many transceivers the connection's core holds: those of `getTransceivers()`
    /// (removed ones are forgotten at once; their handles keep what they read).
    #[doc(hidden)]
    pub fn transceiver_count(&self) -> usize {
        self.inner.core().transceiver_count()
    }

    /// `addTransceiver(trackOrKind, init)` (webrtc-pc §5.1).
    pub fn add_transceiver(
        &self,
        track_or_kind: impl Into<TrackOrKind>,
        init: TransceiverInit,
    ) -> Result<RtpTransceiver> {
        let (kind, track) = match track_or_kind.into() {
            TrackOrKind::Kind(k) => (k, None),
            TrackOrKind::Track(t) => (t.kind(), Some(t)),
        };
        let ids = init.streams.iter().map(|s| s.id().to_string()).collect();
        let tr = track.as_ref().map(MediaStreamTrack::track_ref);
        let encodings = rtcpeer_proto::validate_send_encodings(kind, init.send_encodings)?;
        let (id, shared) = self.inner.sync(|core, empty| {
            let id = core.add_transceiver(kind, tr, init.direction, ids, empty)?;
            core.init_send_encodings(id, encodings);
            let info = core
                .transceiver_info(id)
                .ok_or_else(|| Error::invalid_state("the new transceiver was removed at once"))?;
            // Under the core lock, so nobody sees the transceiver without its track.
            let shared = self.inner.tracks.get_or_add(id, &info);
            shared.set_sender_track(track);
            Ok::<_, Error>((id, shared))
        })?;
        Ok(RtpTransceiver::with_shared(self.inner.clone(), id, shared))
    }

    /// `addTrack(track, ...streams)` (webrtc-pc §5.1).
    pub fn add_track(
        &self,
        track: &MediaStreamTrack,
        streams: &[&MediaStream],
    ) -> Result<RtpSender> {
        let ids = streams.iter().map(|s| s.id().to_string()).collect();
        let (id, shared) = self.inner.sync(|core, empty| {
            let id = core.add_track(track.track_ref(), ids, empty)?;
            let info = core
                .transceiver_info(id)
                .ok_or_else(|| Error::invalid_state("the new transceiver was removed at once"))?;
            // Under the core lock, so nobody sees the transceiver without its track.
            let shared = self.inner.tracks.get_or_add(id, &info);
            shared.set_sender_track(Some(track.clone()));
            Ok::<_, Error>((id, shared))
        })?;
        Ok(RtpSender::new(self.inner.clone(), id, shared))
    }

    /// `removeTrack(sender)` (webrtc-pc §5.1).
    pub fn remove_track(&self, sender: &RtpSender) -> Result<()> {
        if self.inner.core().is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if !sender.belongs_to(&self.inner) {
            return Err(Error::invalid_access(
                "the sender was not created by this connection",
            ));
        }
        let id = sender.transceiver_id();
        self.inner.sync(|core, empty| {
            core.remove_track(id, empty)?;
            // A forgotten transceiver's sender keeps its last track, as a removed one does.
            if core
                .transceiver_info(id)
                .is_some_and(|t| t.sender_track().is_none())
            {
                sender.shared().set_sender_track(None);
            }
            Ok(())
        })
    }

    /// `getTransceivers()`.
    pub fn get_transceivers(&self) -> Vec<RtpTransceiver> {
        let ids = self.inner.core().transceiver_ids();
        ids.into_iter()
            .filter_map(|id| RtpTransceiver::new(self.inner.clone(), id))
            .collect()
    }

    /// `getSenders()`: CollectSenders (webrtc-pc §5.1) skips transceivers whose
    /// `[[Stopped]]` is true (remotely rejected, or after `close()`).
    pub fn get_senders(&self) -> Vec<RtpSender> {
        self.unstopped_transceivers()
            .iter()
            .map(RtpTransceiver::sender)
            .collect()
    }

    /// `getReceivers()`: CollectReceivers (webrtc-pc §5.1), as [`Self::get_senders`].
    pub fn get_receivers(&self) -> Vec<RtpReceiver> {
        self.unstopped_transceivers()
            .iter()
            .map(RtpTransceiver::receiver)
            .collect()
    }

    fn unstopped_transceivers(&self) -> Vec<RtpTransceiver> {
        let ids: Vec<_> = {
            let core = self.inner.core();
            core.transceiver_ids()
                .into_iter()
                .filter(|&id| core.transceiver_info(id).is_some_and(|t| !t.stopped()))
                .collect()
        };
        ids.into_iter()
            .filter_map(|id| RtpTransceiver::new(self.inner.clone(), id))
            .collect()
    }

    // ----- data -----

    /// `createDataChannel(label, init)` (webrtc-pc §6.1).
    pub fn create_data_channel(
        &self,
        label: &str,
        init: Option<DataChannelInit>,
    ) -> Result<DataChannel> {
        let init = init.unwrap_or_default();
        let key = self
            .inner
            .sync(|core, empty| core.create_data_channel(label, &init, empty))?;
        Ok(DataChannel::new(self.inner.clone(), key))
    }

    // ----- ICE -----

    /// `restartIce()` (webrtc-pc §4.4.1.7).
    pub fn restart_ice(&self) {
        self.inner.sync(|core, empty| core.restart_ice(empty))
    }

    /// `addIceCandidate(candidate)` (webrtc-pc §4.4.1.7), a chained operation. `None`, or a
    /// candidate with empty text, is an end-of-candidates indication.
    pub fn add_ice_candidate(&self, candidate: Option<IceCandidateInit>) -> Operation<()> {
        let c = candidate.unwrap_or_default();
        if !c.candidate.is_empty() && c.sdp_mid.is_none() && c.sdp_m_line_index.is_none() {
            let err = Error::type_error("a candidate needs sdpMid or sdpMLineIndex");
            return self.inner.enqueue(move |_| Err(err));
        }
        self.inner.enqueue(move |core| core.add_ice_candidate(&c))
    }

    /// `iceGatheringState` (webrtc-pc §4.4.3).
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.inner.core().ice_gathering_state()
    }

    /// `iceConnectionState` (webrtc-pc §4.4.3).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.inner.core().ice_connection_state()
    }

    /// `connectionState` (webrtc-pc §4.4.3). Until DTLS exists it follows ICE alone
    /// ("connected" once ICE is connected or completed).
    pub fn connection_state(&self) -> PeerConnectionState {
        self.inner.core().connection_state()
    }

    /// Not W3C: the RTP session's counters (packets in and out, SRTP rejections, packets
    /// no m-section claimed, NACKs, retransmissions, key-frame requests), until `getStats`
    /// reports them.
    pub fn media_counters(&self) -> rtcpeer_proto::MediaCounters {
        self.inner.core().media_counters()
    }

    /// Not W3C: RTCP's own ICE component while RTCP is not multiplexed with RTP
    /// (`rtcpMuxPolicy` "negotiate" and a peer without `a=rtcp-mux`, RFC 5761, RFC 8445 §4):
    /// its ICE and DTLS states, its sockets and RTCP counters; `None` while RTCP shares the
    /// RTP component.
    pub fn rtcp_component_stats(&self) -> Option<rtcpeer_proto::RtcpComponentStats> {
        self.inner.core().rtcp_component_stats()
    }

    /// The connection's network task (UDP sockets and timers; started by the first
    /// setLocalDescription): lets diagnostics and tests see it run and wait for it to stop.
    pub fn network_task(&self) -> NetworkTask {
        self.inner.network_task()
    }

    /// The connection's `RTCIceTransport` (webrtc-pc §5.6; one with BUNDLE), once a local
    /// description created the ICE agent; the same object across ICE restarts and `close()`.
    pub fn ice_transport(&self) -> Option<IceTransport> {
        let id = self.inner.core().ice_transport()?;
        Some(IceTransport::new(self.inner.clone(), id))
    }

    /// The selected candidate pair as (local socket, remote address), once ICE selected one
    /// (RFC 8445 §8.1.1).
    pub fn selected_candidate_pair(&self) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
        self.inner
            .core()
            .ice_agent()
            .and_then(|a| a.selected_pair())
    }

    /// `canTrickleIceCandidates`: `None` until a remote description is set, then whether it
    /// announced `a=ice-options:trickle` (RFC 8840 §4.1.3).
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        self.inner.core().can_trickle_ice_candidates()
    }

    // ----- lifecycle and events -----

    /// `close()` (webrtc-pc §4.4.1.9): synchronous, fires no events, stops everything;
    /// chained operations that run afterwards fail with `InvalidStateError`.
    pub fn close(&self) {
        {
            // Events queued before close() do not fire, but what they change on the track and
            // stream objects still applies; then every receiver's track ends (webrtc-pc
            // §4.4.1.9). The dispatch lock keeps those changes in order with a dispatcher's.
            let _in_order = self
                .inner
                .dispatching
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let pending: Vec<Event> = {
                let mut core = self.inner.core();
                let pending = std::iter::from_fn(|| core.poll_event()).collect();
                core.close();
                pending
            };
            for e in pending {
                if let Event::Transceiver(id, ev) = e {
                    self.inner.tracks.apply(id, ev);
                }
            }
            self.inner.tracks.close();
        }
        self.inner.subscribers.close();
        self.inner.channel_queues.close_all();
        self.inner.media.close_all();
        self.inner.driver.stop();
    }

    /// A new stream of this connection's events (`signalingstatechange`, `negotiationneeded`,
    /// `track`, …), from now on, in firing order. Each call gives an independent stream.
    pub fn events(&self) -> EventStream {
        self.inner.subscribers.subscribe()
    }

    /// `onnegotiationneeded`: runs `f` on a Tokio task for each `negotiationneeded`.
    /// Must be called inside a Tokio runtime; replaces the previous handler.
    pub fn on_negotiation_needed(&self, f: impl Fn() + Send + Sync + 'static) {
        self.inner
            .subscribers
            .set_handler("negotiationneeded", move |e| {
                if let PeerConnectionEvent::NegotiationNeeded = e {
                    f()
                }
            })
    }

    /// `onsignalingstatechange`: runs `f` with the new state (see [`Self::on_negotiation_needed`]).
    pub fn on_signaling_state_change(&self, f: impl Fn(SignalingState) + Send + Sync + 'static) {
        self.inner
            .subscribers
            .set_handler("signalingstatechange", move |e| {
                if let PeerConnectionEvent::SignalingStateChange(s) = e {
                    f(*s)
                }
            })
    }

    /// `onicecandidate`: runs `f` for each `icecandidate` event (see
    /// [`Self::on_negotiation_needed`]).
    pub fn on_ice_candidate(
        &self,
        f: impl Fn(Option<rtcpeer_proto::jsep::IceCandidate>) + Send + Sync + 'static,
    ) {
        self.inner
            .subscribers
            .set_handler("icecandidate", move |e| {
                if let PeerConnectionEvent::IceCandidate(c) = e {
                    f(c.as_deref().cloned())
                }
            })
    }

    /// `onicecandidateerror`: runs `f` for each `icecandidateerror` event (see
    /// [`Self::on_negotiation_needed`]).
    pub fn on_ice_candidate_error(
        &self,
        f: impl Fn(rtcpeer_proto::jsep::IceCandidateError) + Send + Sync + 'static,
    ) {
        self.inner
            .subscribers
            .set_handler("icecandidateerror", move |e| {
                if let PeerConnectionEvent::IceCandidateError(err) = e {
                    f((**err).clone())
                }
            })
    }

    /// `onicegatheringstatechange` (see [`Self::on_negotiation_needed`]).
    pub fn on_ice_gathering_state_change(
        &self,
        f: impl Fn(IceGatheringState) + Send + Sync + 'static,
    ) {
        self.inner
            .subscribers
            .set_handler("icegatheringstatechange", move |e| {
                if let PeerConnectionEvent::IceGatheringStateChange(s) = e {
                    f(*s)
                }
            })
    }

    /// `oniceconnectionstatechange` (see [`Self::on_negotiation_needed`]).
    pub fn on_ice_connection_state_change(
        &self,
        f: impl Fn(IceConnectionState) + Send + Sync + 'static,
    ) {
        self.inner
            .subscribers
            .set_handler("iceconnectionstatechange", move |e| {
                if let PeerConnectionEvent::IceConnectionStateChange(s) = e {
                    f(*s)
                }
            })
    }

    /// `onconnectionstatechange` (see [`Self::on_negotiation_needed`]).
    pub fn on_connection_state_change(
        &self,
        f: impl Fn(PeerConnectionState) + Send + Sync + 'static,
    ) {
        self.inner
            .subscribers
            .set_handler("connectionstatechange", move |e| {
                if let PeerConnectionEvent::ConnectionStateChange(s) = e {
                    f(*s)
                }
            })
    }

    /// `ontrack`: runs `f` for each `track` event (see [`Self::on_negotiation_needed`]).
    pub fn on_track(&self, f: impl Fn(TrackEvent) + Send + Sync + 'static) {
        self.inner.subscribers.set_handler("track", move |e| {
            if let PeerConnectionEvent::Track(t) = e {
                f((**t).clone())
            }
        })
    }

    /// `ondatachannel`: runs `f` on a Tokio task for each channel the peer opened
    /// (RFC 8832). Events of the channel are kept until read, so subscribing to them from
    /// `f` misses none.
    pub fn on_data_channel(&self, f: impl Fn(DataChannel) + Send + Sync + 'static) {
        self.inner.subscribers.set_handler("datachannel", move |e| {
            if let PeerConnectionEvent::DataChannel(dc) = e {
                f(dc.clone())
            }
        })
    }
}
