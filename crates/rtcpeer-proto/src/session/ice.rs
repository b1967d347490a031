//! The connection's ICE transport inside the sans-IO core: one [`IceAgent`] for the whole
//! session (BUNDLE and rtcp-mux, RFC 8843 / RFC 8445 one component), configured from the
//! applied descriptions, and the W3C gathering / ICE connection / connection states and
//! events derived from it (webrtc-pc §4.4.1.5–6, §4.4.3, §5.6).
//!
//! The driver (the runtime task that owns the sockets) feeds the core through
//! [`Core::handle_input`] (`connection/io.rs`: datagrams, timeouts, local addresses, resolved
//! names) and drains [`Core::poll_output`] (datagrams, requests, the next timeout); these
//! call the session's `add_local_address`, `handle_datagram`, `handle_timeout`,
//! `poll_transmit_into` and `next_timer` here. Agent events are turned into
//! [`CoreEvent`]s only in those driver calls, never inside setLocalDescription, so local
//! candidates are always reported after the SLD operation that started gathering (WPT-127).
//!
//! Life cycle of the agent:
//! - created when the first local description with ICE credentials is applied; the initial
//!   offerer is controlling, the answerer controlled (RFC 8445 §6.1.1, RFC 9429 §5.2.1);
//! - remote credentials and candidates come from the remote description (its BUNDLE-tag
//!   m-section) and from `addIceCandidate`; a remote ICE restart offer is applied together
//!   with our answer (which carries new credentials too, RFC 9429 §5.4);
//! - new local credentials in an applied local description restart it (RFC 8445 §9); a
//!   changed `iceTransportPolicy` makes that restart use a fresh agent;
//! - rolling back the initial offer discards it (iceGatheringState goes back to "new",
//!   WPT-181); `close()` closes it without events (WPT-183).
//!
//! `connectionState` aggregates the ICE and DTLS transports (webrtc-pc §4.4.3, computed in
//! `data.rs`): "connecting" while ICE checks or DTLS is new/connecting, "connected" once both
//! are up, "failed" if either failed. Like Chromium, the controlled side never reports
//! "completed" (WPT-190).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::config::{Host, IceServerUrl, IceTransportPolicy, IceTransportProtocol, IceUrlScheme};
use crate::enums::w3c_enum;
use crate::error::Result;
#[cfg(test)]
use crate::ice::Transmit;
use crate::ice::{
    RelayInput, RelayProtocol,
    IceAgent, IceAgentConfig, IceConnectionState, IceEvent, IceGatheringState, MAX_LOCAL_CANDIDATES,
};
use crate::sdp::Candidate;
use crate::stun::CHANNEL_DATA_HEADER_LEN;
use crate::session::demux::{self, Class, DemuxCounters};
use crate::session::scheduler::{Scheduler, Source, Transmit as SessionTransmit};
use crate::session::timers::{self, TimerName};
use crate::util::{RandomSource, SeededRandom};

use crate::connection::{CoreEvent, IceCandidate, IceCredentials};
use crate::session::{Session, SessionOut};
#[cfg(doc)]
use crate::connection::Core;
use crate::negotiator::negotiated::{Negotiated, NegotiatedIce, RemoteCandidate};

w3c_enum! {
    /// `RTCPeerConnectionState` (webrtc-pc §4.4.3): the aggregate of the ICE (and, later,
    /// DTLS) transports.
    pub enum PeerConnectionState {
        /// No transport has started (or all are new/closed).
        New = "new",
        /// A transport is establishing (ICE checking).
        Connecting = "connecting",
        /// Every transport is connected (ICE connected or completed).
        Connected = "connected",
        /// A transport lost connectivity (ICE disconnected, RFC 7675 consent).
        Disconnected = "disconnected",
        /// A transport failed.
        Failed = "failed",
        /// `close()` was called.
        Closed = "closed",
    }
}

/// `RTCPeerConnectionIceErrorEvent` (webrtc-pc §4.8.3): a STUN server did not answer or
/// answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidateError {
    /// The local address the request was sent from.
    pub address: Option<String>,
    /// The local port the request was sent from.
    pub port: Option<u16>,
    /// The STUN server's URL as configured.
    pub url: String,
    /// The STUN error code, or 701 when the server could not be reached.
    pub error_code: u16,
    /// The reason phrase.
    pub error_text: String,
}

/// A TURN server of `iceServers` reached over TCP or TLS (`turn:...?transport=tcp`,
/// `turns:`, RFC 8656 §3.1, RFC 7065 §3.1): the driver opens the connection (the core does
/// no I/O) and reports it with `Input::TurnStreamConnected` or `Input::TurnStreamFailed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnStreamServer {
    /// The URL as configured (`RTCIceCandidate.url`, `icecandidateerror`'s url).
    pub url: String,
    /// The host: a name to resolve (and the TLS server name, RFC 6066 §3) or an IP literal.
    pub host: String,
    /// The port (default 3478, 5349 for `turns:`, RFC 7065 §3.1).
    pub port: u16,
    /// `turns:`: TLS over the TCP connection (RFC 8656 §3.1).
    pub tls: bool,
}

/// A TURN-over-TCP/TLS connection the driver opened, as the agents use it.
#[derive(Debug, Clone)]
struct TurnStream {
    url: String,
    local: SocketAddr,
    server: SocketAddr,
    protocol: RelayProtocol,
    username: String,
    password: String,
}

/// A STUN server of `iceServers` given by host name ([`IoRequest::ResolveStunHosts`]): the
/// driver resolves it (the core does no DNS) and reports the result with
/// [`Input::StunHostResolved`] (RFC 7064 §3.1).
///
/// [`IoRequest::ResolveStunHosts`]: crate::connection::IoRequest::ResolveStunHosts
/// [`Input::StunHostResolved`]: crate::connection::Input::StunHostResolved
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunHostName {
    /// The URL as configured (the key of the resolution, and `icecandidateerror`'s url).
    pub url: String,
    /// The host name to resolve.
    pub host: String,
    /// The server's port (3478 when the URL has none).
    pub port: u16,
}

/// `RTCIceCandidatePair` (webrtc-pc §5.6.6): the pair ICE selected to carry data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidatePair {
    /// The local candidate (its `usernameFragment` names the ICE generation).
    pub local: IceCandidate,
    /// The remote candidate.
    pub remote: IceCandidate,
}

w3c_enum! {
    /// `RTCIceRole` (webrtc-pc §5.6.3): the agent's role in connectivity checks
    /// (RFC 8445 §6.1.1).
    pub enum IceRole {
        /// The role is not determined yet.
        Unknown = "unknown",
        /// The controlling agent (nominates pairs).
        Controlling = "controlling",
        /// The controlled agent.
        Controlled = "controlled",
    }
}

/// `RTCIceTransportState` (webrtc-pc §5.6.4): with one bundled transport its values and
/// changes are exactly those of `RTCIceConnectionState`, so it is the same type.
pub type IceTransportState = IceConnectionState;

/// `RTCIceParameters` (webrtc-pc §5.6.7): one side's ICE credentials (RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceParameters {
    /// `usernameFragment` (`a=ice-ufrag`).
    pub username_fragment: String,
    /// `password` (`a=ice-pwd`).
    pub password: String,
}

impl From<&IceCredentials> for IceParameters {
    fn from(c: &IceCredentials) -> Self {
        IceParameters {
            username_fragment: c.ufrag.clone(),
            password: c.pwd.clone(),
        }
    }
}

/// Identifies the connection's `RTCIceTransport` object (webrtc-pc §5.6): one per agent
/// life, kept across ICE restarts (WPT-204) and `close()`; a rolled-back initial offer
/// discards it and the next description creates a new one.
pub type IceTransportId = u32;

/// A boxed random source usable where `impl RandomSource` is required.
struct BoxedRandom(Box<dyn RandomSource>);

impl RandomSource for BoxedRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill(buf)
    }
}

/// ICE bookkeeping of the core (see the module documentation).
pub(crate) struct IceState {
    agent: Option<IceAgent>,
    /// Knobs for the agent (the transport policy is taken from the configuration).
    config: IceAgentConfig,
    /// Randomness for the agent; taken when it is created.
    rng: Option<Box<dyn RandomSource>>,
    /// Policy the current agent was created with.
    policy: IceTransportPolicy,
    /// Local sockets the driver bound (bounded by the agent's interface limit).
    local_addrs: Vec<SocketAddr>,
    /// Listening TCP sockets for ICE-TCP (RFC 6544), kept across restarts (bounded likewise).
    tcp_listeners: Vec<SocketAddr>,
    pub(crate) local_creds: Option<IceCredentials>,
    pub(crate) remote_creds: Option<IceCredentials>,
    /// Candidates signalled in the current generation (bounded by `MAX_LOCAL_CANDIDATES`),
    /// written into later local descriptions of the same generation.
    pub(crate) gathered: Vec<Candidate>,
    gathering_done: bool,
    gathering: IceGatheringState,
    connection: IceConnectionState,
    pc_state: PeerConnectionState,
    /// STUN servers given to the agent, with the URL they came from (for icecandidateerror).
    stun_urls: Vec<(SocketAddr, String)>,
    /// Host-name STUN URLs the driver resolved (`None`: the name did not resolve); at most
    /// `MAX_STUN_SERVERS` entries.
    resolved: Vec<(String, Option<SocketAddr>)>,
    /// The current agent's lookup failures were reported as `icecandidateerror`.
    resolve_errors_reported: bool,
    /// TURN-over-TCP/TLS connections the driver opened (at most `MAX_RELAYS`).
    turn_streams: Vec<TurnStream>,
    /// Received datagrams per RFC 7983 class, and the ones dropped after classification.
    demux: DemuxCounters,
    /// Gathering after a rolled-back restart: record candidates, fire nothing.
    quiet_regather: bool,
    /// The `RTCIceTransport` of the current agent (see [`IceTransportId`]).
    transport: Option<IceTransportId>,
    /// The id the next transport gets.
    next_transport: IceTransportId,
    /// `getSelectedCandidatePair()`: the last pair selected, as signalled.
    pub(crate) selected: Option<IceCandidatePair>,
    /// Remote mDNS names the driver has to resolve ([`Core::poll_mdns_query`]), at most
    /// `MAX_PENDING_MDNS`.
    mdns_queries: std::collections::VecDeque<String>,
    /// Our host addresses' mDNS names when hiding them (`Some`: hiding is on,
    /// [`Core::set_hide_host_addresses`]; draft-ietf-mmusic-mdns-ice-candidates §3.1).
    pub(crate) hide: Option<crate::mdns::HostNames>,
    /// The driver binds fresh sockets for each ICE restart ([`Core::set_fresh_sockets_on_restart`]).
    fresh_sockets: bool,
    /// `iceGatheringState` over every transport (webrtc-pc §4.4.3; the primary's alone
    /// while there is one).
    pub(crate) agg_gathering: IceGatheringState,
    /// `iceConnectionState` over every transport.
    pub(crate) agg_connection: IceConnectionState,
    /// IPs the driver has to bind a new socket on ([`Core::poll_socket_request`]).
    socket_request: Option<Vec<IpAddr>>,
    /// Non-STUN traffic of the transport, in all and per path (webrtc-stats, `stats/`).
    pub(crate) traffic: crate::stats::counters::TransportTraffic,
}

impl Default for IceState {
    fn default() -> Self {
        IceState {
            agent: None,
            config: IceAgentConfig::default(),
            rng: None,
            policy: IceTransportPolicy::All,
            local_addrs: Vec::new(),
            tcp_listeners: Vec::new(),
            local_creds: None,
            remote_creds: None,
            gathered: Vec::new(),
            gathering_done: false,
            gathering: IceGatheringState::New,
            connection: IceConnectionState::New,
            pc_state: PeerConnectionState::New,
            stun_urls: Vec::new(),
            resolved: Vec::new(),
            resolve_errors_reported: false,
            turn_streams: Vec::new(),
            demux: DemuxCounters::default(),
            quiet_regather: false,
            transport: None,
            next_transport: 1,
            selected: None,
            mdns_queries: std::collections::VecDeque::new(),
            hide: None,
            fresh_sockets: false,
            socket_request: None,
            traffic: Default::default(),
            agg_gathering: IceGatheringState::New,
            agg_connection: IceConnectionState::New,
        }
    }
}

impl IceState {
    /// The configured URL of the STUN/TURN server at `server` (`icecandidateerror`'s
    /// `url`, webrtc-pc §4.8.3), else one made from the address.
    pub(crate) fn stun_url_of(&self, server: SocketAddr) -> String {
        self.stun_urls
            .iter()
            .find(|(a, _)| *a == server)
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| format!("stun:{server}"))
    }

    /// Takes over a further transport's agent as the primary one (keeping the primary's
    /// `RTCIceTransport` id): its credentials, sockets and states; the old agent closes.
    pub(crate) fn adopt(
        &mut self,
        agent: IceAgent,
        creds: IceCredentials,
        own_addrs: Vec<SocketAddr>,
        gathering: IceGatheringState,
        connection: IceConnectionState,
    ) {
        if let Some(mut old) = self.agent.replace(agent) {
            old.close();
        }
        self.local_creds = Some(creds);
        self.remote_creds = None;
        if !own_addrs.is_empty() {
            self.local_addrs = own_addrs;
        }
        self.gathered.clear();
        self.gathering_done = gathering == IceGatheringState::Complete;
        self.gathering = gathering;
        self.connection = connection;
        self.selected = None;
        self.quiet_regather = false;
    }

    /// The knobs every agent of the session is created with.
    pub(crate) fn agent_config(&self) -> IceAgentConfig {
        self.config.clone()
    }

    /// The local sockets the driver bound.
    pub(crate) fn local_addresses(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A new `RTCIceTransport` id.
    pub(crate) fn new_transport_id(&mut self) -> IceTransportId {
        let id = self.next_transport;
        self.next_transport = self.next_transport.wrapping_add(1);
        id
    }

    /// Queues a remote mDNS name for the driver (bounded, no duplicates).
    pub(crate) fn queue_mdns(&mut self, name: String) {
        let q = &mut self.mdns_queries;
        if q.len() < crate::ice::MAX_PENDING_MDNS && !q.iter().any(|n| n.eq_ignore_ascii_case(&name))
        {
            q.push_back(name);
        }
    }

    /// The primary transport's own gathering state.
    pub(crate) fn primary_gathering(&self) -> IceGatheringState {
        self.gathering
    }

    /// The primary transport's own ICE state.
    pub(crate) fn primary_connection(&self) -> IceConnectionState {
        self.connection
    }
}

/// A TURN server's username and credential (RFC 8656 §9.2 long-term credentials).
pub(crate) type TurnCredentials = (String, String);

impl Session {
    // ----- configuration by the runtime -----

    /// Sets the ICE agent's knobs and its random source (the API layer calls this once, right
    /// after construction). Without it the agent uses defaults and a generator seeded from
    /// the core's own randomness.
    pub fn configure_ice(&mut self, config: IceAgentConfig, rng: Box<dyn RandomSource>) {
        self.ice.config = config;
        self.ice.rng = Some(rng);
    }

    // ----- W3C getters -----

    /// `iceGatheringState` (webrtc-pc §4.4.3).
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.ice.agg_gathering
    }

    /// `iceConnectionState` (webrtc-pc §4.4.3).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.ice.agg_connection
    }

    /// `connectionState` (webrtc-pc §4.4.3), from the ICE and DTLS transports' states.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.ice.pc_state
    }

    /// The ICE agent, once a local description created it (selected pair, candidates, stats).
    pub fn ice_agent(&self) -> Option<&IceAgent> {
        self.ice.agent.as_ref()
    }

    // ----- RTCIceTransport (webrtc-pc §5.6) -----

    /// The connection's (bundled) ICE transport, once a local description created the agent.
    pub fn ice_transport(&self) -> Option<IceTransportId> {
        self.ice.transport
    }

    pub(crate) fn is_current_transport(&self, id: IceTransportId) -> bool {
        self.ice.transport == Some(id)
    }

    /// `role` of transport `id`; "unknown" for a transport that no longer exists.
    pub fn ice_transport_role(&self, id: IceTransportId) -> IceRole {
        if let Some(c) = self.extra_is_controlling(id) {
            return match c {
                true => IceRole::Controlling,
                false => IceRole::Controlled,
            };
        }
        match self.ice.agent.as_ref() {
            Some(a) if self.is_current_transport(id) => match a.is_controlling() {
                true => IceRole::Controlling,
                false => IceRole::Controlled,
            },
            _ => IceRole::Unknown,
        }
    }

    /// `state` of transport `id`: the ICE connection state; "closed" for a transport
    /// discarded by a rollback.
    pub fn ice_transport_state(&self, id: IceTransportId) -> IceTransportState {
        if let Some(s) = self.extra_ice_state(id) {
            return s;
        }
        match self.is_current_transport(id) {
            true => self.ice.connection,
            false => IceConnectionState::Closed,
        }
    }

    /// `gatheringState` of transport `id`; "new" for a transport discarded by a rollback.
    pub fn ice_transport_gathering_state(&self, id: IceTransportId) -> IceGatheringState {
        if let Some(s) = self.extra_gathering_state(id) {
            return s;
        }
        match self.is_current_transport(id) {
            true => self.ice.gathering,
            false => IceGatheringState::New,
        }
    }

    /// `getSelectedCandidatePair()`: the pair last selected, as the candidates were
    /// signalled (webrtc-pc §5.6.2).
    pub fn ice_selected_candidate_pair(&self, id: IceTransportId) -> Option<IceCandidatePair> {
        self.is_current_transport(id)
            .then(|| self.ice.selected.clone())
            .flatten()
    }

    /// `getLocalParameters()`: the local credentials of the current generation.
    pub fn ice_local_parameters(&self, id: IceTransportId) -> Option<IceParameters> {
        if let Some((local, _)) = self.extra_credentials(id) {
            return Some(IceParameters::from(local));
        }
        self.is_current_transport(id)
            .then(|| self.ice.local_creds.as_ref().map(IceParameters::from))
            .flatten()
    }

    /// The current generation's local credentials, borrowed (what [`Core::poll_output`]
    /// tells the driver when they change).
    pub(crate) fn ice_local_creds(&self) -> Option<&IceCredentials> {
        self.ice
            .transport
            .as_ref()
            .and(self.ice.local_creds.as_ref())
    }

    /// `getRemoteParameters()`: the remote credentials the agent uses.
    pub fn ice_remote_parameters(&self, id: IceTransportId) -> Option<IceParameters> {
        if let Some((_, remote)) = self.extra_credentials(id) {
            return remote.map(IceParameters::from);
        }
        self.is_current_transport(id)
            .then(|| self.ice.remote_creds.as_ref().map(IceParameters::from))
            .flatten()
    }

    /// Whether a runtime driver is needed: the connection has an ICE agent to drive, or
    /// `iceCandidatePoolSize` > 0 asks to bind sockets before the first local description
    /// (webrtc-pc §4.4.1.1, RFC 9429 §3.5.4).
    pub fn needs_driver(&self) -> bool {
        (self.ice.agent.is_some() || self.config.ice_candidate_pool_size > 0) && !self.is_closed()
    }

    /// The STUN and TURN (over UDP) servers of `iceServers` given by host name that the
    /// driver must resolve (at most `MAX_STUN_SERVERS`).
    pub(crate) fn stun_host_names(&self) -> Vec<StunHostName> {
        let mut names = Vec::new();
        for server in &self.config.ice_servers {
            let Ok(urls) = server.parse_urls() else {
                continue;
            };
            for (url, text) in urls.iter().zip(&server.urls) {
                if let Host::Domain(d) = &url.host
                    && (url.scheme == IceUrlScheme::Stun || is_turn_udp(url))
                    && names.len() < crate::ice::MAX_STUN_SERVERS
                {
                    names.push(StunHostName {
                        url: text.clone(),
                        host: d.clone(),
                        port: url.port,
                    });
                }
            }
        }
        names
    }

    /// The driver resolved the host-name STUN URL `url` (see [`Core::stun_host_names`]) to
    /// `addr`, or `None` when the name did not resolve in time: the agent uses the address
    /// (now or when it is created); a failure becomes an `icecandidateerror` (701) before
    /// gathering completes (webrtc-pc §4.8.3). Does not poll the agent, so the caller can
    /// add local addresses next in the same gathering phase.
    pub(crate) fn set_stun_host_resolution(&mut self, url: &str, addr: Option<SocketAddr>) {
        let full = self.ice.resolved.len() >= crate::ice::MAX_STUN_SERVERS;
        match self.ice.resolved.iter_mut().find(|(u, _)| u == url) {
            Some(entry) => entry.1 = addr,
            None if !full => self.ice.resolved.push((url.to_string(), addr)),
            None => return,
        }
        let turn = self.turn_credentials(url);
        if let (Some(addr), Some(agent)) = (addr, self.ice.agent.as_mut()) {
            let added = match &turn {
                Some((user, pass)) => agent.add_turn_server(addr, user, pass, url).is_ok(),
                None => agent.add_stun_server(addr).is_ok(),
            };
            if added && !self.ice.stun_urls.iter().any(|(a, _)| *a == addr) {
                self.ice.stun_urls.push((addr, url.to_string()));
            }
        }
    }

    /// `relayProtocol` and `url` of local candidate `c` when it is relayed (webrtc-pc §4.8.1):
    /// "udp", "tcp" or "tls" and the TURN URL as configured.
    pub(crate) fn relay_origin(
        &self,
        c: &crate::connection::IceCandidate,
    ) -> Option<(RelayProtocol, String)> {
        let agent = self.ice.agent.as_ref()?;
        let ip: IpAddr = c.address()?.parse().ok()?;
        let addr = SocketAddr::new(ip, c.port()?);
        Some((agent.relay_protocol(addr)?, agent.relay_url(addr)?.to_string()))
    }

    /// The TURN servers of `iceServers` reached over TCP or TLS (`turn:...?transport=tcp`,
    /// `turns:`, RFC 7065 §3.1) the driver must connect to, at most `MAX_RELAYS`.
    /// `turns:...?transport=udp` (DTLS) is not supported and not listed.
    pub(crate) fn turn_stream_servers(&self) -> Vec<TurnStreamServer> {
        let mut out = Vec::new();
        for server in &self.config.ice_servers {
            let Ok(urls) = server.parse_urls() else {
                continue;
            };
            for (url, text) in urls.iter().zip(&server.urls) {
                if url.scheme.is_turn()
                    && url.effective_transport() == IceTransportProtocol::Tcp
                    && out.len() < crate::ice::MAX_RELAYS
                {
                    let host = match &url.host {
                        Host::Ipv4(a) => a.to_string(),
                        Host::Ipv6(a) => a.to_string(),
                        Host::Domain(d) => d.clone(),
                    };
                    out.push(TurnStreamServer {
                        url: text.clone(),
                        host,
                        port: url.port,
                        tls: url.scheme.is_secure(),
                    });
                }
            }
        }
        out
    }

    /// The driver connected to TURN server `url` (from [`Core::turn_stream_servers`]) from
    /// `local` to `server`: an allocation is made over it, now or when the agent is created
    /// (RFC 8656 §3.1).
    pub(crate) fn turn_stream_connected(&mut self, url: &str, local: SocketAddr, server: SocketAddr) {
        let Some(t) = self.turn_stream_servers().into_iter().find(|t| t.url == url) else {
            return;
        };
        if self.ice.turn_streams.len() >= crate::ice::MAX_RELAYS
            || self.ice.turn_streams.iter().any(|s| s.local == local && s.server == server)
        {
            return;
        }
        let (username, password) = self
            .config
            .ice_servers
            .iter()
            .find(|s| s.urls.iter().any(|u| u == url))
            .map(|s| {
                (
                    s.username.clone().unwrap_or_default(),
                    s.credential.clone().unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        let stream = TurnStream {
            url: reported_stream_url(url),
            local,
            server,
            protocol: if t.tls {
                RelayProtocol::Tls
            } else {
                RelayProtocol::Tcp
            },
            username,
            password,
        };
        if let Some(agent) = self.ice.agent.as_mut() {
            add_stream(agent, &stream);
        }
        self.ice.turn_streams.push(stream);
    }

    /// The driver could not connect to TURN server `url` (TCP connect, TLS handshake or
    /// name lookup failed): `icecandidateerror` with 701 and no address (webrtc-pc §4.8.3).
    pub(crate) fn turn_stream_failed(&mut self, url: &str, text: &str) {
        self.emit(CoreEvent::IceCandidateError(IceCandidateError {
            address: None,
            port: None,
            url: reported_stream_url(url),
            error_code: 701,
            error_text: text.to_string(),
        }));
    }

    /// The driver's TURN connection from `local` to `server` closed or broke: the
    /// allocation and the paths through it fail, reported as `icecandidateerror` 701
    /// (RFC 8656 §3.1).
    pub(crate) fn turn_stream_closed(&mut self, local: SocketAddr, server: SocketAddr, text: &str) {
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.turn_stream_lost(local, server, 701, text);
        }
        self.pump_ice_events();
        self.ice
            .turn_streams
            .retain(|s| !(s.local == local && s.server == server));
    }

    /// The username and credential of TURN-over-UDP URL `url` of `iceServers`; `None` for a
    /// STUN URL (RFC 8656 §4, webrtc-pc §4.2.1).
    fn turn_credentials(&self, url: &str) -> Option<(String, String)> {
        self.config.ice_servers.iter().find_map(|server| {
            let urls = server.parse_urls().ok()?;
            let (parsed, _) = urls.iter().zip(&server.urls).find(|(_, t)| *t == url)?;
            is_turn_udp(parsed).then(|| {
                (
                    server.username.clone().unwrap_or_default(),
                    server.credential.clone().unwrap_or_default(),
                )
            })
        })
    }

    /// Datagrams received that the ICE agent did not take as STUN (RFC 7983 §7); derived
    /// from [`Core::demux_counters`].
    pub fn non_stun_datagrams(&self) -> u64 {
        self.ice.demux.non_stun()
    }

    /// Datagrams dropped by demultiplexing (RFC 7983 §7): DTLS from a path the agent does not
    /// know, STUN without an agent, RTP/RTCP (no media yet) and other first bytes.
    pub fn dropped_datagrams(&self) -> u64 {
        self.ice.demux.dropped()
    }

    /// Received datagrams counted per RFC 7983 class, and the drops after classification.
    pub fn demux_counters(&self) -> DemuxCounters {
        self.ice.demux
    }

    // ----- driver interface (sans-IO) -----

    /// The driver bound a UDP socket on `addr`: it becomes a host candidate (RFC 8445
    /// §5.1.1.1), now or when the agent is created. At most `MAX_LOCAL_INTERFACES` addresses.
    pub fn add_local_address(&mut self, addr: SocketAddr) -> Result<()> {
        if self.is_closed() {
            return Err(crate::error::Error::invalid_state(
                "the connection is closed",
            ));
        }
        if let Some(Some(id)) = self.binding {
            // A socket bound for a further transport alone, or for the RTCP component.
            if self.rtcp_binding(id) {
                self.rtcp_own_address(addr);
            } else {
                self.extra_own_address(id, addr);
            }
            return Ok(());
        }
        if !self.ice.local_addrs.contains(&addr) {
            if self.ice.local_addrs.len() >= crate::ice::MAX_LOCAL_INTERFACES {
                return Err(crate::error::Error::operation("too many local addresses"));
            }
            self.ice.local_addrs.push(addr);
        }
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.add_local_interface(addr)?;
        }
        self.pump_ice_events();
        self.rtcp_note_primary_address(addr);
        if !self.extra.is_empty() {
            self.extra_add_local_address(addr);
        }
        Ok(())
    }

    /// The driver listens for ICE-TCP connections on `addr` (RFC 6544 §5.1): passive and
    /// active TCP host candidates of the primary transport (further transports of an
    /// unbundled session gather UDP only).
    pub fn add_local_tcp(&mut self, addr: SocketAddr) -> Result<()> {
        if self.is_closed() {
            return Err(crate::error::Error::invalid_state(
                "the connection is closed",
            ));
        }
        if !self.ice.tcp_listeners.contains(&addr) {
            if self.ice.tcp_listeners.len() >= crate::ice::MAX_LOCAL_INTERFACES {
                return Err(crate::error::Error::operation("too many TCP listeners"));
            }
            self.ice.tcp_listeners.push(addr);
        }
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.add_local_tcp(addr)?;
        }
        self.pump_ice_events();
        Ok(())
    }

    /// The driver could not open the ICE-TCP connection from active base `local` to
    /// `remote` (RFC 6544 §7.1): that check fails at once.
    pub fn tcp_connection_failed(&mut self, local: SocketAddr, remote: SocketAddr) {
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.tcp_connection_failed(local, remote);
        }
        self.pump_ice_events();
    }

    /// A datagram arrived on local socket `local` from `remote`: classified once
    /// (`session/demux.rs`, RFC 7983 §7) and routed: STUN to the ICE agent,
    /// DTLS to the DTLS transport when it comes from a path the agent knows, the rest counted
    /// and dropped. Returns whether the agent took it as STUN.
    pub(crate) fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> bool {
        if self.is_closed() {
            return false;
        }
        self.timers.note(now);
        // On a socket of the RTCP component (RFC 5761 not negotiated).
        if self.rtcp.is_some() && self.rtcp_owns(local) {
            let class = demux::classify(data);
            self.ice.demux.count(class);
            return self.rtcp_handle_datagram(now, local, remote, class, data);
        }
        // From a TURN server on an allocation's socket: signalling stays in the agent, relayed
        // data continues as if received on the relayed address (RFC 8656 §11.6, §12.6).
        let (local, remote, data) = match self.ice.agent.as_mut() {
            Some(agent) => match agent.handle_relay_input(now, local, remote, data) {
                RelayInput::NotRelayed => (local, remote, data),
                RelayInput::Consumed => {
                    self.pump_ice_events();
                    return true;
                }
                RelayInput::Data {
                    local,
                    remote,
                    data,
                } => (local, remote, data),
            },
            None => (local, remote, data),
        };
        let class = demux::classify(data);
        self.ice.demux.count(class);
        // Several transports (unbundled m-sections): the datagram's own one.
        if !self.extra.is_empty()
            && let Some(i) = self.route_extra(class, local, remote, data)
        {
            return self.extra_handle_datagram(i, now, local, remote, class, data);
        }
        let stun = class == Class::Stun;
        let taken = match self.ice.agent.as_mut() {
            Some(agent) if stun => agent.handle_packet(now, local, remote, data),
            // Any input advances the agent's clock (its state is judged at the latest time).
            Some(agent) => {
                agent.note_time(now);
                false
            }
            None => {
                if stun {
                    let n = &mut self.ice.demux.stun_without_agent;
                    *n = n.saturating_add(1);
                }
                false
            }
        };
        self.pump_ice_events();
        if taken {
            return true;
        }
        self.data_note_time(now);
        if matches!(class, Class::Dtls | Class::Rtp | Class::Rtcp) {
            self.ice.traffic.on_received(now, (local, remote), data.len());
        }
        match class {
            Class::Dtls => {
                // Only from a candidate pair or the selected pair (RFC 8445 §7.3.1.4).
                if self
                    .ice
                    .agent
                    .as_ref()
                    .is_some_and(|a| a.knows_path(local, remote))
                {
                    self.data_handle_dtls(now, local, remote, data);
                } else {
                    let n = &mut self.ice.demux.dtls_unknown_path;
                    *n = n.saturating_add(1);
                }
            }
            // SRTP/SRTCP (RFC 3711) to the RTP session (`session/media.rs`).
            Class::Rtp | Class::Rtcp => self.media_handle_datagram(now, local, remote, class, data),
            // STUN that found no agent, ZRTP, TURN ChannelData, unassigned: counted, dropped.
            Class::Stun | Class::ZrtpOrTurnChannel | Class::Other => {}
        }
        false
    }

    /// The next datagram to send (in the scheduler's order, `session/scheduler.rs`: STUN
    /// first, then DTLS records, then DTLS records carrying SCTP); `None` when nothing is
    /// queued. After `close()` it still yields the SCTP ABORT and DTLS close_notify that
    /// `close()` produced.
    #[cfg(test)]
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let mut data = Vec::new();
        let t = self.poll_transmit_into(now, &mut data)?;
        let tcp = self.ice.agent.as_ref().and_then(|a| a.tcp_base_type(t.local));
        Some(Transmit {
            local: t.local,
            remote: t.remote,
            data,
            tcp,
        })
    }

    /// The next datagram for batching runtimes: appends the next datagram to `out`
    /// (DTLS records carrying SCTP are encrypted straight into it) and returns its path,
    /// class and length; `None` (and `out` unchanged) when nothing is queued.
    pub(crate) fn poll_transmit_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<SessionTransmit> {
        self.timers.note(now);
        let closed = self.is_closed();
        let start = out.len();
        // A relayed selected pair with a bound channel: 4 bytes are left free before the
        // payload, so its ChannelData framing is a header write, not a move (RFC 8656 §12.4).
        let reserved = match self.ice.agent.as_ref() {
            Some(a) if !closed => a
                .selected_pair()
                .filter(|&(l, r)| a.relay_channel_ready(l, r)),
            _ => None,
        };
        let next = Scheduler::next(closed, |source| {
            let room = reserved.is_some() && !matches!(source, Source::Final | Source::Ice);
            if room {
                out.extend_from_slice(&[0; CHANNEL_DATA_HEADER_LEN]);
            }
            let payload = if room {
                start + CHANNEL_DATA_HEADER_LEN
            } else {
                start
            };
            let polled = match source {
                Source::Final => return self.scheduler.poll_final(out),
                Source::Ice => {
                    let t = self.ice.agent.as_mut().and_then(|a| a.poll_transmit(now));
                    let Some(t) = t else {
                        // Nothing from the agent: its events are due before DTLS runs.
                        self.pump_ice_events();
                        return None;
                    };
                    out.extend_from_slice(&t.data);
                    Some(((t.local, t.remote), Class::Stun))
                }
                Source::Dtls => self.data_poll_dtls_into(out).map(|p| (p, Class::Dtls)),
                Source::Media => self.media_poll_into(out).map(|path| {
                    // SRTP or SRTCP: the second byte tells (RFC 5761 §4).
                    (path, demux::classify(&out[payload..]))
                }),
                Source::Sctp => self
                    .data_poll_sctp_into(now, out)
                    .map(|p| (p, Class::Dtls)),
            };
            let Some((path, class)) = polled else {
                out.truncate(start);
                return None;
            };
            // From a relayed address: framed for the TURN server (RFC 8656 §11, §12).
            let path = match self.ice.agent.as_mut() {
                Some(agent) if room && Some(path) == reserved => {
                    match agent.relay_fill_channel(path.0, path.1, out, start) {
                        Some(p) => p,
                        None => {
                            out.truncate(start);
                            return None;
                        }
                    }
                }
                Some(agent) => {
                    if room {
                        // Another path after all: give the room back.
                        out.drain(start..payload);
                    }
                    if class != Class::Stun && agent.is_relayed_address(path.0) {
                        match agent.relay_wrap(path.0, path.1, out, start) {
                            Some(p) => p,
                            None => {
                                out.truncate(start);
                                return None;
                            }
                        }
                    } else {
                        path
                    }
                }
                None => path,
            };
            Some(SessionTransmit {
                local: path.0,
                remote: path.1,
                class,
                len: out.len() - start,
            })
        });
        if let Some(t) = &next {
            if t.class != Class::Stun {
                self.ice.traffic.on_sent(now, (t.local, t.remote), t.len);
            }
            return next;
        }
        if !closed
            && self.rtcp.is_some()
            && let Some(t) = self.rtcp_poll_into(now, out)
        {
            return Some(t);
        }
        if closed || self.extra.is_empty() {
            return None;
        }
        self.extra_poll_into(now, out)
    }

    /// When the next timed input is due; `None` when nothing is scheduled.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(t, _)| t)
    }

    /// The connection's earliest timer and its name (for tracing why it will wake):
    /// deferred work, the ICE agent's, DTLS's or SCTP's; `None` when nothing is scheduled
    /// (always after `close()`).
    pub fn next_timer(&self) -> Option<(Instant, TimerName)> {
        if self.is_closed() {
            return None;
        }
        let ice = self
            .ice
            .agent
            .as_ref()
            .and_then(IceAgent::next_timer)
            .map(|(t, name)| (t, TimerName::Ice(name)));
        let primary = timers::earliest([
            self.timers.deferred(),
            ice,
            self.data_dtls_timer(),
            self.data_sctp_timer(),
            self.media.next_timer(),
            self.rtcp_next_timer(),
        ]);
        if self.extra.is_empty() {
            return primary;
        }
        timers::earliest([primary, self.extra_next_timer()])
    }

    /// The timer that was due the last time a timeout ([`Input::Timeout`]) found one due
    /// (timeouts given early, with nothing due, leave it): why the connection last woke.
    ///
    /// [`Input::Timeout`]: crate::connection::Input::Timeout
    pub fn last_timeout_reason(&self) -> Option<TimerName> {
        self.timers.last_reason()
    }

    /// Runs the timers due at `now` (ICE pacing, retransmissions and consent, RFC 8445 /
    /// RFC 7675; DTLS flights; SCTP retransmissions, RFC 9260) and work that set-description
    /// calls made possible (starting DTLS and SCTP, opening channels). Calling it early is
    /// harmless; the driver also calls it after every state change.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.timers.note(now);
        let reason = self.next_timer().filter(|(t, _)| *t <= now).map(|(_, n)| n);
        if let Some(r) = reason {
            tracing::trace!(reason = ?r, "timeout");
        }
        if reason.is_some() {
            self.timers.set_last_reason(reason);
        }
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.handle_timeout(now);
        }
        self.pump_ice_events();
        self.timers.deferred_done();
        self.data_handle_timeout(now);
        self.media.handle_timeout(now);
        self.rtcp_handle_timeout(now);
        if !self.extra.is_empty() {
            self.extra_handle_timeout(now);
        }
    }

    // ----- hooks called by the signaling code -----

    /// After a local description was applied: create, restart or keep the agent.
    pub(crate) fn ice_local_description_applied(&mut self, negotiated: &Negotiated) {
        // No m-lines, no ICE (WPT-53).
        let Some(ice) = negotiated.ice.as_ref() else {
            return;
        };
        let Some(creds) = ice.local.clone() else {
            return;
        };
        let is_offer = ice.local_is_offer;
        let policy = self.config.ice_transport_policy;
        match self.ice.agent.is_some() {
            false => {
                self.create_agent(is_offer, &creds);
                if !is_offer {
                    self.sync_remote(ice);
                }
            }
            true if self.ice.local_creds.as_ref() != Some(&creds) => {
                // ICE restart with the new generation's credentials (RFC 8445 §9).
                if policy != self.ice.policy {
                    let controlling = self.ice.agent.as_ref().is_some_and(|a| a.is_controlling());
                    if let Some(mut old) = self.ice.agent.take() {
                        old.close();
                    }
                    self.create_agent(controlling, &creds);
                } else {
                    self.restart_agent(&creds);
                }
                self.ice.local_creds = Some(creds);
                self.ice.remote_creds = None;
                self.ice.gathered.clear();
                self.ice.gathering_done = false;
                self.ice.quiet_regather = false;
                if !is_offer {
                    self.sync_remote(ice);
                }
                // The new generation gathers from now on (also while fresh sockets are being
                // bound): iceGatheringState reads "gathering" when SLD completes.
                self.pump_ice_events();
            }
            true => {
                if !is_offer {
                    self.sync_remote(ice);
                }
            }
        }
        self.replay_gathered();
    }

    /// After a remote description was applied: remote credentials and candidates.
    pub(crate) fn ice_remote_description_applied(&mut self, negotiated: &Negotiated) {
        if self.ice.agent.is_none() {
            // Read when our first local description creates the agent.
            return;
        }
        let Some(ice) = negotiated.ice.as_ref() else {
            return;
        };
        if ice.remote_is_offer
            && self.ice.remote_creds.is_some()
            && ice.remote != self.ice.remote_creds
        {
            // A remote ICE restart: applied with our answer, which restarts our side too.
            return;
        }
        self.sync_remote(ice);
    }

    /// After a rollback: the initial offer rolled back discards the agent (WPT-181); a
    /// rolled-back restart offer returns to the previous credentials.
    pub(crate) fn ice_rolled_back(&mut self, negotiated: &Negotiated) {
        let creds = negotiated.ice.as_ref().and_then(|i| i.local.clone());
        match creds {
            None => {
                let Some(mut agent) = self.ice.agent.take() else {
                    return;
                };
                agent.close();
                // The transport object goes with the agent (a new description makes a new one).
                self.ice.transport = None;
                self.ice.selected = None;
                self.ice.local_creds = None;
                self.ice.remote_creds = None;
                self.ice.gathered.clear();
                self.ice.gathering_done = false;
                if self.ice.gathering != IceGatheringState::New {
                    self.ice.gathering = IceGatheringState::New;
                    self.emit(CoreEvent::IceGatheringStateChange(IceGatheringState::New));
                    self.ice.agg_gathering = IceGatheringState::New;
                }
                self.set_ice_connection_state(IceConnectionState::New);
            }
            Some(c) if self.ice.local_creds.as_ref() != Some(&c) => {
                // Back to the previous credentials: the agent gathers its (unchanged) host
                // candidates again under them. Nothing new for the application: when
                // gathering had completed, no gathering event fires (WPT-181).
                self.restart_agent(&c);
                self.ice.quiet_regather = self.ice.gathering == IceGatheringState::Complete;
                self.ice.local_creds = Some(c);
                self.ice.remote_creds = None;
                self.ice.gathered.clear();
                self.ice.gathering_done = false;
                if let Some(ice) = negotiated.ice.as_ref() {
                    self.sync_remote(ice);
                }
            }
            Some(_) => {}
        }
    }

    /// `addIceCandidate` recorded a candidate (or end-of-candidates) in the remote
    /// description: hand it to the agent when it concerns the tag section of the agent's
    /// current remote generation (RFC 8840 §4, RFC 8843 §7.2).
    pub(crate) fn ice_remote_candidate(&mut self, rc: RemoteCandidate) {
        self.rtcp_remote_candidate(&rc);
        if !self.extra.is_empty() && self.extra_remote_candidate(&rc) {
            return;
        }
        let Some(agent) = self.ice.agent.as_mut() else {
            // Recorded in the description; read when the agent is created.
            return;
        };
        if rc.remote != self.ice.remote_creds {
            // A remote restart not applied yet: read from the description with our answer.
            return;
        }
        if !rc.for_tag {
            return;
        }
        let Some(c) = rc.candidate else {
            agent.end_of_remote_candidates();
            return;
        };
        if let Err(e) = agent.add_remote_candidate(c) {
            tracing::debug!("remote candidate not used: {e}");
        }
        self.push_out(SessionOut::RefreshSelectedRemote);
    }

    /// `close()`: states become "closed" at once, without events (WPT-183).
    pub(crate) fn ice_close(&mut self) {
        if let Some(agent) = self.ice.agent.as_mut() {
            // The last DTLS/SCTP datagrams of a relayed pair leave through the relay too.
            self.scheduler.map_final(|local, remote, d| {
                if agent.is_relayed_address(*local)
                    && let Some((l, r)) = agent.relay_wrap(*local, *remote, d, 0)
                {
                    (*local, *remote) = (l, r);
                }
            });
            agent.close();
            // What closing left to send: the TURN deallocations (RFC 8656 §7).
            while let Some(t) = agent.poll_closed_transmit() {
                self.scheduler.push_final(t.local, t.remote, t.data);
            }
        }
        self.ice.connection = IceConnectionState::Closed;
        self.ice.agg_connection = IceConnectionState::Closed;
        self.ice.pc_state = PeerConnectionState::Closed;
    }

    // ----- internals -----

    /// Restarts the agent under `creds`: on fresh sockets when the driver provides them
    /// (the current sockets' IPs are asked again), else on the same ones.
    fn restart_agent(&mut self, creds: &IceCredentials) {
        let Some(agent) = self.ice.agent.as_mut() else {
            return;
        };
        if self.ice.fresh_sockets && !self.ice.local_addrs.is_empty() {
            let mut ips: Vec<IpAddr> = Vec::new();
            for a in &self.ice.local_addrs {
                if !ips.contains(&a.ip()) {
                    ips.push(a.ip());
                }
            }
            agent.restart_on_new_interfaces(&creds.ufrag, &creds.pwd);
            self.ice.local_addrs.clear();
            self.ice.socket_request = Some(ips);
        } else {
            agent.restart(&creds.ufrag, &creds.pwd);
        }
    }

    /// The STUN and TURN (over UDP) servers of `iceServers` an agent uses, with their URLs
    /// and, for TURN, the username and credential: literal addresses, and host names the
    /// driver resolved.
    pub(crate) fn stun_server_addrs(&self) -> Vec<(SocketAddr, String, Option<TurnCredentials>)> {
        let mut out = Vec::new();
        for server in &self.config.ice_servers {
            let Ok(urls) = server.parse_urls() else {
                continue;
            };
            for (url, text) in urls.iter().zip(&server.urls) {
                // STUN, and TURN over UDP (TCP/TLS servers are the driver's connections,
                // `turn_stream_servers`).
                let turn = is_turn_udp(url);
                if url.scheme != IceUrlScheme::Stun && !turn {
                    continue;
                }
                let addr = match &url.host {
                    Host::Ipv4(a) => SocketAddr::new(IpAddr::V4(*a), url.port),
                    Host::Ipv6(a) => SocketAddr::new(IpAddr::V6(*a), url.port),
                    // Resolved by the driver (`set_stun_host_resolution`), now or later.
                    Host::Domain(_) => match self.ice.resolved.iter().find(|(u, _)| u == text) {
                        Some((_, Some(addr))) => *addr,
                        _ => continue,
                    },
                };
                let turn = turn.then(|| {
                    (
                        server.username.clone().unwrap_or_default(),
                        server.credential.clone().unwrap_or_default(),
                    )
                });
                out.push((addr, text.clone(), turn));
            }
        }
        out
    }

    fn create_agent(&mut self, controlling: bool, creds: &IceCredentials) {
        let config = self.ice.config.clone();
        let rng = match self.ice.rng.take() {
            Some(r) => r,
            None => Box::new(SeededRandom::new(self.rng.next_u64())),
        };
        let mut agent = IceAgent::new(config, BoxedRandom(rng));
        agent.set_transport_policy(self.config.ice_transport_policy);
        agent.set_local_credentials(&creds.ufrag, &creds.pwd);
        agent.set_role(controlling);
        for &addr in &self.ice.tcp_listeners {
            if let Err(e) = agent.add_local_tcp(addr) {
                tracing::warn!("TCP listener {addr} not used: {e}");
            }
        }
        for &addr in &self.ice.local_addrs {
            if let Err(e) = agent.add_local_interface(addr) {
                tracing::warn!("local address {addr} not used: {e}");
            }
        }
        self.ice.stun_urls.clear();
        for (addr, text, turn) in self.stun_server_addrs() {
            let added = match &turn {
                Some((user, pass)) => agent.add_turn_server(addr, user, pass, &text).is_ok(),
                None => agent.add_stun_server(addr).is_ok(),
            };
            if added {
                self.ice.stun_urls.push((addr, text));
            }
        }
        for s in &self.ice.turn_streams {
            add_stream(&mut agent, s);
        }
        self.ice.policy = self.config.ice_transport_policy;
        self.ice.local_creds = Some(creds.clone());
        self.ice.remote_creds = None;
        self.ice.gathered.clear();
        self.ice.gathering_done = false;
        self.ice.quiet_regather = false;
        self.ice.resolve_errors_reported = false;
        self.ice.agent = Some(agent);
        // A policy change re-creates the agent under the same transport object.
        if self.ice.transport.is_none() {
            self.ice.transport = Some(self.ice.next_transport);
            self.ice.next_transport = self.ice.next_transport.wrapping_add(1);
        }
    }

    /// Gives the agent the remote credentials and the candidates of the remote tag section
    /// (plus end-of-candidates when signalled).
    pub(super) fn sync_remote(&mut self, ice: &NegotiatedIce) {
        let Some(agent) = self.ice.agent.as_mut() else {
            return;
        };
        let Some(creds) = ice.remote.clone() else {
            return;
        };
        agent.set_remote_credentials(&creds.ufrag, &creds.pwd);
        self.ice.remote_creds = Some(creds);
        for c in &ice.remote_candidates {
            if let Err(e) = agent.add_remote_candidate(c.clone()) {
                tracing::debug!("remote candidate not used: {e}");
            }
        }
        if ice.remote_end_of_candidates {
            agent.end_of_remote_candidates();
        }
        self.push_out(SessionOut::RefreshSelectedRemote);
    }

    /// Writes the candidates gathered so far (and end-of-candidates) into the local
    /// descriptions of the current generation, through the negotiator.
    fn replay_gathered(&mut self) {
        let Some(ufrag) = self.ice.local_creds.as_ref().map(|c| c.ufrag.clone()) else {
            return;
        };
        let gathered = std::mem::take(&mut self.ice.gathered);
        for c in &gathered {
            self.push_out(SessionOut::LocalCandidate {
                ufrag: ufrag.clone(),
                candidate: Some(c.clone()),
                announce: false,
            });
        }
        self.ice.gathered = gathered;
        self.rtcp_replay(&ufrag);
        if self.ice.gathering_done {
            self.push_out(SessionOut::LocalCandidate {
                ufrag,
                candidate: None,
                announce: false,
            });
        }
    }

    fn enter_gathering(&mut self) {
        if self.ice.gathering != IceGatheringState::Gathering {
            self.set_gathering_state(IceGatheringState::Gathering);
        }
    }

    /// The transport's `gatheringstatechange`, then the connection's
    /// `icegatheringstatechange` (webrtc-pc §5.6.1).
    fn set_gathering_state(&mut self, s: IceGatheringState) {
        self.ice.gathering = s;
        if let Some(transport) = self.ice.transport {
            self.emit(CoreEvent::IceTransportGatheringStateChange(transport, s));
        }
        if self.extra.is_empty() {
            self.ice.agg_gathering = s;
            self.emit(CoreEvent::IceGatheringStateChange(s));
        } else {
            self.refresh_aggregates();
        }
    }

    fn set_ice_connection_state(&mut self, s: IceConnectionState) {
        if self.is_closed() || s == self.ice.connection {
            return;
        }
        self.ice.connection = s;
        // The transport's `statechange` first, then the connection's (webrtc-pc §5.6.1).
        if let Some(transport) = self.ice.transport {
            self.emit(CoreEvent::IceTransportStateChange(transport, s));
        }
        if self.extra.is_empty() {
            self.ice.agg_connection = s;
            self.emit(CoreEvent::IceConnectionStateChange(s));
        } else {
            self.refresh_aggregates();
        }
        self.update_connection_state();
    }

    /// Sets `connectionState` (computed in `session/data.rs` from ICE and DTLS), firing
    /// `connectionstatechange` on a change.
    pub(super) fn set_pc_state(&mut self, pc: PeerConnectionState) {
        if pc != self.ice.pc_state {
            self.ice.pc_state = pc;
            self.emit(CoreEvent::ConnectionStateChange(pc));
        }
    }

    /// STUN host names that did not resolve: one `icecandidateerror` each per agent, with
    /// errorCode 701 and no address/port, as no local socket was used to reach the server
    /// (webrtc-pc §4.8.3: the port is null when the address is).
    fn report_resolve_errors(&mut self) {
        if self.ice.resolve_errors_reported || self.ice.policy != IceTransportPolicy::All {
            return;
        }
        self.ice.resolve_errors_reported = true;
        let names = self.stun_host_names();
        let failed: Vec<String> = self
            .ice
            .resolved
            .iter()
            .filter(|(u, a)| a.is_none() && names.iter().any(|n| &n.url == u))
            .map(|(u, _)| u.clone())
            .collect();
        for url in failed {
            self.emit(CoreEvent::IceCandidateError(IceCandidateError {
                address: None,
                port: None,
                url,
                error_code: 701,
                error_text: "STUN host lookup failed".into(),
            }));
        }
    }

    // ----- mDNS names of remote candidates (draft-ietf-mmusic-mdns-ice-candidates §3.2) -----

    /// Next remote `.local` name the driver must resolve (the core does no I/O); answer with
    /// [`Core::mdns_resolved`]. Requests appear after the driver calls that pump the agent.
    pub(crate) fn poll_mdns_query(&mut self) -> Option<String> {
        self.ice.mdns_queries.pop_front()
    }

    // ----- our own host addresses behind mDNS names (draft-ietf-mmusic-mdns-ice-candidates §3.1) -----

    /// Turns hiding our host addresses on or off (before gathering; a name given out stays).
    pub(crate) fn set_hide_host_addresses(&mut self, on: bool) {
        match (on, self.ice.hide.is_some()) {
            (true, false) => self.ice.hide = Some(crate::mdns::HostNames::new()),
            (false, true) => self.ice.hide = None,
            _ => {}
        }
    }

    /// Next name (and its address) the driver must answer mDNS queries for.
    pub(crate) fn poll_hidden_name(&mut self) -> Option<(String, IpAddr)> {
        self.ice.hide.as_mut()?.poll_unpublished()
    }

    /// The form in which local candidate `c` is signalled (the local description,
    /// `icecandidate`): as is, or with its host address replaced by its mDNS name and its
    /// related address zeroed when hiding. `None`: it must not be signalled (no name left).
    pub(crate) fn signalled_candidate(&mut self, c: Candidate) -> Option<Candidate> {
        match self.ice.hide.as_mut() {
            None => Some(c),
            Some(h) => h.hide(&c, &mut *self.rng),
        }
    }

    /// Set by a driver that can bind sockets at any time: each ICE restart then gathers on
    /// fresh sockets ([`Core::poll_socket_request`]), as browsers do, instead of re-using the
    /// old ones (a peer like libwebrtc ties one ufrag to each 5-tuple and would keep checking
    /// the old address with the old ufrag).
    pub(crate) fn fresh_sockets(&self) -> bool {
        self.ice.fresh_sockets
    }

    pub(crate) fn set_fresh_sockets_on_restart(&mut self, on: bool) {
        self.ice.fresh_sockets = on;
    }

    /// The IPs on which the driver must bind one new UDP socket each (after an ICE restart):
    /// it reports each with [`Core::add_local_address`], then calls
    /// [`Core::local_addresses_complete`]. `None` when nothing is asked.
    pub(crate) fn poll_socket_request(&mut self) -> Option<Vec<IpAddr>> {
        if let Some(r) = self.ice.socket_request.take() {
            self.binding = Some(None);
            return Some(r);
        }
        self.next_extra_bind().or_else(|| self.next_rtcp_bind())
    }

    /// The sockets asked by [`Core::poll_socket_request`] were reported (or could not be
    /// bound): the new generation's gathering can complete.
    pub(crate) fn local_addresses_complete(&mut self) {
        if let Some(Some(id)) = self.binding.take() {
            if self.rtcp_binding(id) {
                self.rtcp_sockets_complete();
            } else {
                self.extra_sockets_complete(id);
            }
            return;
        }
        if let Some(agent) = self.ice.agent.as_mut() {
            agent.interfaces_complete();
        }
        self.pump_ice_events();
    }

    /// Whether the socket bound on `addr` is still needed: a socket of the current
    /// generation, or the local end of the selected pair. The driver closes the others.
    pub(crate) fn uses_local_address(&self, addr: SocketAddr) -> bool {
        self.extra_uses_local_address(addr)
            || self.rtcp_uses_local_address(addr)
            || self.ice.local_addrs.contains(&addr)
            || self
                .ice
                .agent
                .as_ref()
                .is_some_and(|a| a.uses_local_address(addr))
    }

    /// The driver's answer for `name`: its address (the waiting remote candidates become
    /// real ones and are paired), or `None` when it did not resolve or mDNS is off (they
    /// are dropped, so the checklist can complete or fail without them).
    pub(crate) fn mdns_resolved(&mut self, name: &str, ip: Option<IpAddr>) {
        if self.is_closed() {
            return;
        }
        if let Some(agent) = self.ice.agent.as_mut() {
            match ip {
                Some(ip) => agent.resolved_mdns(name, ip),
                None => agent.unresolved_mdns(name),
            }
        }
        self.pump_ice_events();
        self.rtcp_mdns_resolved(name, ip);
        self.extra_mdns_resolved(name, ip);
    }

    /// The primary transport finished gathering (both components, when RTCP has its own):
    /// end-of-candidates, the per-transport end marker, the state, then the null candidate.
    pub(super) fn primary_gathering_complete(&mut self) {
        if self.is_closed() {
            return;
        }
        self.report_resolve_errors();
        self.ice.gathering_done = true;
        self.replay_gathered();
        self.push_out(SessionOut::Announce(String::new()));
        self.set_gathering_state(IceGatheringState::Complete);
        // The null candidate once every transport has gathered (webrtc-pc §4.4.1.6
        // "gathering state ... complete").
        if self.ice.agg_gathering == IceGatheringState::Complete {
            self.emit(CoreEvent::IceCandidate(None));
        }
    }

    /// Turns the agent's events into W3C events (webrtc-pc §5.6 and WPT-176 order).
    fn pump_ice_events(&mut self) {
        if self.is_closed() {
            return;
        }
        let Some(agent) = self.ice.agent.as_mut() else {
            return;
        };
        let gathering = agent.gathering_state() == IceGatheringState::Gathering;
        let mut events = Vec::new();
        while let Some(e) = agent.poll_event() {
            events.push(e);
        }
        if gathering && !self.ice.quiet_regather {
            self.enter_gathering();
        }
        if events.is_empty() {
            // The common case on the data path: no copy of the ufrag per datagram.
            return;
        }
        let ufrag = self.ice.local_creds.as_ref().map(|c| c.ufrag.clone());
        for e in events {
            // What the application sees of our candidates (mDNS names when hiding).
            let e = match e {
                IceEvent::LocalCandidate(c) => match self.signalled_candidate(c) {
                    Some(c) => IceEvent::LocalCandidate(c),
                    None => continue,
                },
                e => e,
            };
            match e {
                // Left over from a generation that was replaced before it was reported.
                IceEvent::LocalCandidate(c)
                    if crate::ice::candidate::extension(&c, "ufrag") != ufrag.as_deref() => {}
                IceEvent::LocalCandidate(c) if self.ice.quiet_regather => {
                    if self.ice.gathered.len() < MAX_LOCAL_CANDIDATES {
                        if let Some(u) = ufrag.as_deref() {
                            self.push_out(SessionOut::LocalCandidate {
                                ufrag: u.to_string(),
                                candidate: Some(c.clone()),
                                announce: false,
                            });
                        }
                        self.ice.gathered.push(c);
                    }
                }
                IceEvent::GatheringComplete if self.ice.quiet_regather => {
                    self.ice.quiet_regather = false;
                    self.ice.gathering_done = true;
                    self.replay_gathered();
                }
                IceEvent::LocalCandidate(c) => {
                    self.enter_gathering();
                    let room = self.ice.gathered.len() < MAX_LOCAL_CANDIDATES;
                    let out = match ufrag.as_deref() {
                        // Written into localDescription, and the event's init (one method).
                        Some(u) if room => SessionOut::LocalCandidate {
                            ufrag: u.to_string(),
                            candidate: Some(c.clone()),
                            announce: true,
                        },
                        _ => SessionOut::Announce(format!("candidate:{c}")),
                    };
                    if room {
                        self.ice.gathered.push(c);
                    }
                    self.push_out(out);
                }
                IceEvent::GatheringComplete => {
                    self.enter_gathering();
                    // The RTCP component's candidates belong to this transport too: its
                    // completion waits for theirs (`session/rtcp_component.rs`).
                    if !self.rtcp_hold_completion() {
                        self.primary_gathering_complete();
                    }
                }
                IceEvent::StateChange(s) => self.set_ice_connection_state(s),
                IceEvent::SelectedPairChanged(p) => {
                    tracing::debug!("selected pair {} -> {}", p.local_addr, p.remote_addr);
                    self.ice.traffic.selected_pair_changes += 1;
                    // Shown as signalled by the connection (`connection/ice_view.rs`).
                    self.push_out(SessionOut::SelectedPair {
                        local: p.local,
                        remote: p.remote,
                    });
                }
                IceEvent::CandidateError {
                    address,
                    server,
                    error_code,
                    error_text,
                } => {
                    let url = self
                        .ice
                        .turn_streams
                        .iter()
                        .find(|s| s.local == address && s.server == server)
                        .map(|s| s.url.clone())
                        .unwrap_or_else(|| self.ice.stun_url_of(server));
                    self.emit(CoreEvent::IceCandidateError(IceCandidateError {
                        address: Some(address.ip().to_string()),
                        port: Some(address.port()),
                        url,
                        error_code,
                        error_text,
                    }));
                }
                IceEvent::ResolveMdns { name } => self.ice.queue_mdns(name),
            }
        }
    }
}

/// The `url` reported for a TURN-over-TCP/TLS server (`RTCIceCandidate.url`,
/// `icecandidateerror`'s url): as configured, except that a `turns:` URL without
/// `?transport=` names its transport, as browsers report it (`turns:host:5349` ->
/// `turns:host:5349?transport=tcp`, WPT RTCPeerConnection-onicecandidateerror).
fn reported_stream_url(url: &str) -> String {
    match url.parse::<IceServerUrl>() {
        Ok(u) if u.scheme.is_secure() && u.transport.is_none() => format!("{url}?transport=tcp"),
        _ => url.to_string(),
    }
}

/// Gives the agent the allocation over a driver's TURN connection.
fn add_stream(agent: &mut IceAgent, s: &TurnStream) {
    if let Err(e) = agent.add_turn_stream(
        s.local,
        s.server,
        &s.username,
        &s.password,
        &s.url,
        s.protocol,
    ) {
        tracing::debug!("TURN over {} to {} not used: {e}", s.protocol.as_str(), s.server);
    }
}

/// Whether `url` is a `turn:` URL over UDP (RFC 7065 §3.1); TCP and TLS are the driver's
/// connections ([`Core::turn_stream_servers`]).
fn is_turn_udp(url: &IceServerUrl) -> bool {
    url.scheme == IceUrlScheme::Turn && url.effective_transport() == IceTransportProtocol::Udp
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::Configuration;
    use crate::connection::{
        Core, CoreSettings, DataChannelInit, IceCandidateInit, IceCandidateType, OfferOptions,
        SdpType,
    };
    use crate::negotiator::negotiated::ice_credentials;
    use crate::sdp::{Attribute as A, Sdp};

    fn core(seed: u64) -> Core {
        core_with(Configuration::default(), seed)
    }

    /// A core with one data channel that applied its own offer (returned too).
    fn offerer(seed: u64) -> (Core, crate::connection::SessionDescription) {
        let mut a = core(seed);
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer.clone())).unwrap();
        (a, offer)
    }

    fn core_with(config: Configuration, seed: u64) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        let mut c = Core::new(
            config,
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(seed)),
        );
        c.configure_ice(
            IceAgentConfig::default(),
            Box::new(SeededRandom::new(seed ^ 0xabcd)),
        );
        c
    }

    fn drain(c: &mut Core) -> Vec<CoreEvent> {
        std::iter::from_fn(|| c.poll_core_event()).collect()
    }

    fn ice_trace(events: &[CoreEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) if c.candidate().is_empty() => Some("end".into()),
                CoreEvent::IceCandidate(Some(_)) => Some("cand".into()),
                CoreEvent::IceCandidate(None) => Some("null".into()),
                CoreEvent::IceGatheringStateChange(s) => Some(format!("g:{s}")),
                CoreEvent::IceConnectionStateChange(s) => Some(format!("ice:{s}")),
                CoreEvent::ConnectionStateChange(s) => Some(format!("pc:{s}")),
                _ => None,
            })
            .collect()
    }

    /// Delivers every queued datagram at once (zero latency) and advances the virtual clock
    /// to the next timer, until `done` or `limit` of virtual time passed.
    fn run(
        cores: &mut [(&mut Core, SocketAddr, Vec<CoreEvent>); 2],
        start: Instant,
        limit: Duration,
        done: impl Fn(&[(&mut Core, SocketAddr, Vec<CoreEvent>); 2]) -> bool,
    ) -> Instant {
        let mut now = start;
        loop {
            let mut moved = false;
            for i in 0..2 {
                cores[i].0.handle_timeout(now);
                while let Some(t) = cores[i].0.poll_transmit(now) {
                    moved = true;
                    let j = 1 - i;
                    assert_eq!(t.local, cores[i].1);
                    if t.remote == cores[j].1 {
                        cores[j].0.handle_datagram(now, t.remote, t.local, &t.data);
                    }
                }
            }
            for (c, _, log) in cores.iter_mut() {
                log.extend(drain(c));
            }
            if done(cores) || now >= start + limit {
                return now;
            }
            if moved {
                // Zero latency: what the deliveries caused goes out at the same instant.
                continue;
            }
            let next = cores
                .iter()
                .filter_map(|(c, _, _)| c.poll_timeout())
                .min()
                .unwrap_or(now + Duration::from_millis(10));
            now = next.max(now + Duration::from_millis(1));
        }
    }

    /// The driver's part of STUN host names and of the candidate pool, on a virtual clock:
    /// names resolved (or not) and the socket bound before SLD (pool size 1); the SLD's
    /// agent uses them; the failed name is reported (701, null address) before gathering
    /// completes, and nothing is reported inside the SLD (WPT-127).
    #[test]
    fn resolved_stun_names_and_pooled_addresses_are_used_by_the_first_agent() {
        let config = Configuration {
            ice_candidate_pool_size: 1,
            ice_servers: vec![crate::config::IceServer {
                urls: vec![
                    "stun:stun.example.org".into(),
                    "stun:gone.invalid:3479".into(),
                    "stun:10.0.0.8".into(),
                ],
                username: None,
                credential: None,
            }],
            ..Configuration::default()
        };
        let mut a = core_with(config, 7);
        assert!(a.needs_driver(), "pool size 1 wants the driver before SLD");
        assert!(!core(8).needs_driver(), "pool size 0 does not");
        let names = a.stun_host_names();
        let got: Vec<_> = names
            .iter()
            .map(|n| (n.url.as_str(), n.host.as_str(), n.port))
            .collect();
        assert_eq!(
            got,
            [
                ("stun:stun.example.org", "stun.example.org", 3478),
                ("stun:gone.invalid:3479", "gone.invalid", 3479)
            ]
        );
        let server: SocketAddr = "10.0.0.9:3478".parse().unwrap();
        let local: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        a.set_stun_host_resolution("stun:stun.example.org", Some(server));
        a.set_stun_host_resolution("stun:gone.invalid:3479", None);
        a.add_local_address(local).unwrap();
        assert!(drain(&mut a).is_empty(), "nothing before SLD");
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        let ev = drain(&mut a);
        assert!(ice_trace(&ev).is_empty(), "{:?}", ice_trace(&ev));
        // Both STUN servers (resolved name and IP literal) are asked from the pooled socket.
        let t0 = Instant::now();
        let mut now = t0;
        let mut asked = Vec::new();
        let mut events = Vec::new();
        while a.ice_gathering_state() != IceGatheringState::Complete
            && now < t0 + Duration::from_secs(120)
        {
            a.handle_timeout(now);
            while let Some(t) = a.poll_transmit(now) {
                assert_eq!(t.local, local);
                asked.push(t.remote);
            }
            events.extend(drain(&mut a));
            now = a
                .poll_timeout()
                .unwrap_or(now)
                .max(now + Duration::from_millis(1));
        }
        assert!(asked.contains(&server), "{asked:?}");
        assert!(
            asked.contains(&"10.0.0.8:3478".parse().unwrap()),
            "{asked:?}"
        );
        let errors: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidateError(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        let by_url = |u: &str| errors.iter().filter(|e| e.url == u).count();
        assert_eq!(by_url("stun:gone.invalid:3479"), 1, "{errors:?}");
        assert_eq!(by_url("stun:stun.example.org"), 1, "{errors:?}");
        assert_eq!(by_url("stun:10.0.0.8"), 1, "{errors:?}");
        let dns = errors
            .iter()
            .find(|e| e.url == "stun:gone.invalid:3479")
            .unwrap();
        assert_eq!(
            (dns.error_code, dns.address.as_deref(), dns.port),
            (701, None, None)
        );
        let silent = errors
            .iter()
            .find(|e| e.url == "stun:stun.example.org")
            .unwrap();
        assert_eq!(silent.address.as_deref(), Some("10.0.0.1"));
        let complete = events
            .iter()
            .position(|e| {
                matches!(
                    e,
                    CoreEvent::IceGatheringStateChange(IceGatheringState::Complete)
                )
            })
            .expect("gathering completes");
        let last_error = events
            .iter()
            .rposition(|e| matches!(e, CoreEvent::IceCandidateError(_)))
            .unwrap();
        assert!(last_error < complete);
        let sdp = &a.local_description().unwrap().sdp;
        assert!(sdp.contains(" 10.0.0.1 1000 typ host"), "{sdp}");
    }

    #[test]
    fn two_cores_connect_over_a_simulated_network_without_trickle() {
        let t0 = Instant::now();
        let (mut a, _offer) = offerer(1);
        let mut b = core(2);
        let (addr_a, addr_b) = addrs();
        // WPT-127 at the core level: nothing is gathered inside SLD; the driver's sockets are
        // what produce candidates.
        let ev = drain(&mut a);
        assert!(ice_trace(&ev).is_empty(), "{:?}", ice_trace(&ev));
        assert_eq!(a.ice_gathering_state(), IceGatheringState::New);
        assert!(a.needs_driver());
        assert_eq!(a.poll_transmit(t0), None);
        a.add_local_address(addr_a).unwrap();
        let ev = drain(&mut a);
        assert_eq!(
            ice_trace(&ev),
            vec!["g:gathering", "cand", "end", "g:complete", "null"]
        );
        let offer = a.local_description().unwrap();
        assert!(offer.sdp.contains("a=candidate:1 1 udp"), "{}", offer.sdp);
        assert!(
            offer.sdp.contains(" 10.0.0.1 1000 typ host"),
            "{}",
            offer.sdp
        );
        assert!(offer.sdp.contains("a=end-of-candidates"));

        b.set_remote_description(offer).unwrap();
        assert_eq!(b.ice_gathering_state(), IceGatheringState::New);
        assert!(!b.needs_driver(), "no agent before our own description");
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let end = run(&mut cores, t0, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        assert!(
            end - t0 < Duration::from_secs(1),
            "took {:?}: {:?} / {:?}",
            end - t0,
            ice_trace(&cores[0].2),
            ice_trace(&cores[1].2)
        );
        let trace_a = ice_trace(&cores[0].2);
        let trace_b = ice_trace(&cores[1].2);
        assert_eq!(
            trace_b,
            vec![
                "g:gathering",
                "cand",
                "end",
                "g:complete",
                "null",
                "ice:checking",
                "pc:connecting",
                "ice:connected",
                "pc:connected"
            ]
        );
        // connectionState waits for DTLS (webrtc-pc §4.4.3); the controlling side may report
        // ICE "completed" before DTLS is up.
        assert_eq!(
            trace_a[..3],
            ["ice:checking", "pc:connecting", "ice:connected"]
        );
        assert_eq!(trace_a.last().map(String::as_str), Some("pc:connected"));
        assert_eq!(a.dtls_state(), crate::dtls::DtlsTransportState::Connected);
        assert_eq!(b.dtls_state(), crate::dtls::DtlsTransportState::Connected);
        assert_eq!(
            a.ice_agent().unwrap().selected_pair(),
            Some((addr_a, addr_b))
        );
        assert_eq!(
            b.ice_agent().unwrap().selected_pair(),
            Some((addr_b, addr_a))
        );
        // DTLS went to the DTLS transport; RTP (no media yet) and DTLS from an address ICE
        // does not know are counted and dropped (RFC 7983).
        let non_stun = a.non_stun_datagrams();
        assert!(non_stun > 0);
        assert_eq!(a.dropped_datagrams(), 0);
        assert!(!a.handle_datagram(t0, addr_a, addr_b, &[0x80, 96, 0, 1]));
        let stranger: SocketAddr = "10.9.9.9:9".parse().unwrap();
        assert!(!a.handle_datagram(t0, addr_a, stranger, &[22, 254, 253, 0]));
        assert_eq!(a.non_stun_datagrams(), non_stun + 2);
        assert_eq!(a.dropped_datagrams(), 2);
        // close(): closed at once, no events; only the SCTP ABORT and the DTLS close_notify
        // are left to send, over the selected pair.
        a.close();
        assert_eq!(a.ice_connection_state(), IceConnectionState::Closed);
        assert_eq!(a.connection_state(), PeerConnectionState::Closed);
        assert!(drain(&mut a).is_empty());
        assert_eq!(a.poll_timeout(), None);
        let last: Vec<Transmit> = std::iter::from_fn(|| a.poll_transmit(t0)).collect();
        assert_eq!(last.len(), 2, "ABORT and close_notify");
        assert!(last.iter().all(|t| (t.local, t.remote) == (addr_a, addr_b)));
        assert!(last.iter().all(|t| crate::dtls::is_dtls(&t.data)));
        for t in &last {
            b.handle_datagram(t0, t.remote, t.local, &t.data);
        }
        assert_eq!(b.dtls_state(), crate::dtls::DtlsTransportState::Closed);
        assert_eq!(
            b.sctp_state(),
            Some(crate::connection::SctpTransportState::Closed)
        );
        assert!(!a.needs_driver());
    }

    /// The offerer learns the answerer's address as peer-reflexive from its check, and selects
    /// that pair before the answerer's candidate trickles in; once it does, the selected pair
    /// is the signalled host candidate, with a `selectedcandidatepairchange` carrying it.
    #[test]
    fn selected_prflx_remote_is_shown_as_signalled_once_it_trickles_in() {
        let t0 = Instant::now();
        let (mut a, _offer) = offerer(11);
        let mut b = core(12);
        let (addr_a, addr_b) = addrs();
        a.add_local_address(addr_a).unwrap();
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        // The answer goes out before b gathered: no candidates in it.
        let answer = b.local_description().unwrap();
        assert!(!answer.sdp.contains("a=candidate"));
        b.add_local_address(addr_b).unwrap();
        a.set_remote_description(answer).unwrap();
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let b_candidate = lb
            .iter()
            .find_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) if !c.candidate().is_empty() => Some(c.to_json()),
                _ => None,
            })
            .expect("b's host candidate");
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        run(&mut cores, t0, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        let changes = |log: &[CoreEvent]| {
            log.iter()
                .filter(|e| matches!(e, CoreEvent::SelectedCandidatePairChange(_)))
                .count()
        };
        assert_eq!(changes(&cores[0].2), 1);
        let ta = a.ice_transport().unwrap();
        let before = a.ice_selected_candidate_pair(ta).expect("selected pair");
        assert_eq!(before.remote.typ(), Some(IceCandidateType::Prflx));
        a.add_ice_candidate(&b_candidate).unwrap();
        let after = a.ice_selected_candidate_pair(ta).expect("selected pair");
        assert_eq!(after.remote.typ(), Some(IceCandidateType::Host));
        assert_eq!(after.remote.address(), Some("10.0.0.2"));
        assert_eq!(after.remote.port(), Some(2000));
        assert_eq!(after.local, before.local);
        let ev = drain(&mut a);
        let fired: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                CoreEvent::SelectedCandidatePairChange(p) => Some((**p).clone()),
                _ => None,
            })
            .collect();
        assert_eq!(fired, vec![after.clone()]);
        // Nothing more to refresh: a repeated candidate fires nothing.
        a.add_ice_candidate(&b_candidate).unwrap();
        assert_eq!(changes(&drain(&mut a)), 0);
        let tb = b.ice_transport().unwrap();
        let pb = b
            .ice_selected_candidate_pair(tb)
            .expect("b's selected pair");
        assert_eq!(
            pb.local.to_json().candidate,
            after.remote.to_json().candidate
        );
    }

    #[test]
    fn candidates_added_before_the_answerers_description_are_used() {
        let t0 = Instant::now();
        let (mut a, offer) = offerer(3);
        let mut b = core(4);
        let (addr_a, addr_b) = addrs();
        a.add_local_address(addr_a).unwrap();
        let cands: Vec<IceCandidateInit> = drain(&mut a)
            .into_iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) => Some(c.to_json()),
                _ => None,
            })
            .collect();
        // Trickled into B before B has a local description (the agent does not exist yet).
        b.set_remote_description(offer).unwrap();
        for c in &cands {
            b.add_ice_candidate(c).unwrap();
        }
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        let answer = b.local_description().unwrap();
        a.set_remote_description(answer).unwrap();
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let end = run(&mut cores, t0, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        assert!(end - t0 < Duration::from_secs(1), "took {:?}", end - t0);
        assert_eq!(b.connection_state(), PeerConnectionState::Connected);
        assert_eq!(a.connection_state(), PeerConnectionState::Connected);
    }

    /// A peer that hides its address behind an mDNS name (as browsers do): the core asks the
    /// driver to resolve it once, nothing connects before the answer (the peer does not know
    /// B either), and the answer turns it into a candidate that connects. A name that does
    /// not resolve is dropped.
    #[test]
    fn mdns_names_are_handed_to_the_driver_and_resolved_candidates_connect() {
        let t0 = Instant::now();
        let (mut a, offer) = offerer(11);
        let mut b = core(12);
        let (addr_a, addr_b) = addrs();
        let name = "0a1b2c3d-1111-4222-8333-123456789abc.local";
        a.add_local_address(addr_a).unwrap();
        let hidden: Vec<IceCandidateInit> = drain(&mut a)
            .into_iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) if !c.candidate().is_empty() => {
                    let mut init = c.to_json();
                    init.candidate = init.candidate.replace(" 10.0.0.1 ", &format!(" {name} "));
                    Some(init)
                }
                _ => None,
            })
            .collect();
        assert_eq!(hidden.len(), 1);
        b.set_remote_description(offer).unwrap();
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        b.add_ice_candidate(&hidden[0]).unwrap();
        b.add_ice_candidate(&IceCandidateInit {
            candidate: hidden[0].candidate.replace(name, "gone.local"),
            ..hidden[0].clone()
        })
        .unwrap();
        // A never learns B's candidates: only B's checks can introduce it.
        let mut answer = b.local_description().unwrap();
        answer.sdp = answer
            .sdp
            .lines()
            .filter(|l| !l.starts_with("a=candidate"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        a.set_remote_description(answer).unwrap();
        assert_eq!(b.poll_mdns_query(), None, "asked only from a driver call");
        b.handle_timeout(t0);
        let mut asked = Vec::new();
        while let Some(n) = b.poll_mdns_query() {
            asked.push(n);
        }
        assert_eq!(asked, [name, "gone.local"]);
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let connected = |c: &[(&mut Core, SocketAddr, Vec<CoreEvent>); 2]| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        };
        let now = run(&mut cores, t0, Duration::from_secs(3), connected);
        assert!(!connected(&cores), "connected without the name resolved");
        cores[1].0.mdns_resolved("gone.local", None);
        cores[1]
            .0
            .mdns_resolved(&name.to_uppercase(), Some(addr_a.ip()));
        let end = run(&mut cores, now, Duration::from_secs(5), connected);
        assert!(connected(&cores), "took {:?}", end - now);
        assert_eq!(
            b.ice_agent().unwrap().selected_pair(),
            Some((addr_b, addr_a))
        );
        assert_eq!(b.ice_agent().unwrap().remote_candidates().len(), 1);
        assert_eq!(b.poll_mdns_query(), None);
    }

    /// Both peers hide their host addresses (draft-ietf-mmusic-mdns-ice-candidates §3.1):
    /// every signalled candidate (events, local description) carries a `.local` name and no
    /// IP, the names go to the driver once each, and each side resolving the other's name
    /// (what the responder answers) connects them on the real addresses; the selected pair
    /// shows our candidate as signalled.
    #[test]
    fn hidden_host_addresses_are_signalled_as_names_and_connect_once_resolved() {
        let t0 = Instant::now();
        let (addr_a, addr_b) = addrs();
        // Off by default: addresses are signalled as they are and no name is made.
        let (mut plain, _) = offerer(30);
        plain.add_local_address(addr_a).unwrap();
        assert!(plain.local_description().unwrap().sdp.contains(" 10.0.0.1 1000 typ host"));
        assert!(plain.session.poll_hidden_name().is_none());
        let mut a = core(31);
        a.set_hide_host_addresses(true);
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.add_local_address(addr_a).unwrap();
        let mut b = core(32);
        b.set_hide_host_addresses(true);
        let names_of = |c: &mut Core| -> Vec<(String, IpAddr)> {
            std::iter::from_fn(|| c.session.poll_hidden_name()).collect()
        };
        let reg_a = names_of(&mut a);
        assert_eq!(reg_a.len(), 1);
        assert_eq!(reg_a[0].1, addr_a.ip());
        let events_a = drain(&mut a);
        let cands: Vec<String> = events_a
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) if !c.candidate().is_empty() => {
                    Some(c.candidate().to_string())
                }
                _ => None,
            })
            .collect();
        assert_eq!(cands.len(), 1);
        for c in &cands {
            assert!(c.contains(&format!(" {} 1000 typ host", reg_a[0].0)), "{c}");
            assert!(!c.contains("10.0.0.1"), "{c}");
        }
        let desc_a = a.local_description().unwrap().sdp;
        assert!(desc_a.contains(&reg_a[0].0));
        assert!(!desc_a.contains("10.0.0.1"), "{desc_a}");
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        let reg_b = names_of(&mut b);
        assert_eq!(reg_b.len(), 1);
        assert_ne!(reg_a[0].0, reg_b[0].0);
        let desc_b = b.local_description().unwrap().sdp;
        assert!(desc_b.contains(&reg_b[0].0) && !desc_b.contains("10.0.0.2"));
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        // What each side's responder knows: answer the other's queries from it.
        let registry: Vec<(String, IpAddr)> = reg_a.iter().chain(&reg_b).cloned().collect();
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let connected = |c: &[(&mut Core, SocketAddr, Vec<CoreEvent>); 2]| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        };
        let mut now = t0;
        let mut asked = 0;
        for _ in 0..50 {
            for (c, _, _) in cores.iter_mut() {
                c.handle_timeout(now);
                while let Some(n) = c.poll_mdns_query() {
                    asked += 1;
                    let ip = registry
                        .iter()
                        .find(|(r, _)| r.eq_ignore_ascii_case(&n))
                        .map(|(_, ip)| *ip);
                    assert!(ip.is_some(), "asked for an unknown name {n}");
                    c.mdns_resolved(&n, ip);
                }
            }
            now = run(&mut cores, now, Duration::from_millis(200), connected);
            if connected(&cores) {
                break;
            }
        }
        assert!(connected(&cores));
        assert_eq!(asked, 2, "each side resolved the other's one name");
        assert_eq!(
            a.ice_agent().unwrap().selected_pair(),
            Some((addr_a, addr_b))
        );
        // The selected pair shows our candidate as signalled: the name, not the address.
        let sel = a.session.ice.selected.clone().expect("a selected pair");
        assert_eq!(sel.local.address(), Some(reg_a[0].0.as_str()));
        // Nothing more to publish: one name per address for the connection's life.
        assert!(names_of(&mut a).is_empty() && names_of(&mut b).is_empty());
    }

    /// Connects `a` (offerer) and `b` over the simulated network; returns the time reached.
    fn connect(a: &mut Core, b: &mut Core, addr_a: SocketAddr, addr_b: SocketAddr) -> Instant {
        let t0 = Instant::now();
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.add_local_address(addr_a).unwrap();
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        let (la, lb) = (drain(a), drain(b));
        let mut cores = [(a, addr_a, la), (b, addr_b, lb)];
        let t = run(&mut cores, t0, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        assert!(t - t0 < Duration::from_secs(1));
        t
    }

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:2000".parse().unwrap(),
        )
    }

    /// A copy of section `m` that is not the transport: another mid, other ICE credentials
    /// and another fingerprint, no candidates.
    fn decoy_section(m: &crate::sdp::Media, mid: &str) -> crate::sdp::Media {
        let mut d = m.clone();
        d.attributes.retain(|a| {
            !matches!(
                a,
                A::Candidate(_) | A::EndOfCandidates | A::Mid(_) | A::IceUfrag(_) | A::IcePwd(_)
            )
        });
        for a in &mut d.attributes {
            if let A::Fingerprint { value, .. } = a {
                *value = value.replace(|c: char| c.is_ascii_hexdigit(), "a");
            }
        }
        d.attributes.push(A::Mid(mid.into()));
        d.attributes.push(A::IceUfrag("decoyufrag".into()));
        d.attributes
            .push(A::IcePwd("decoypassword0123456789ab".into()));
        d
    }

    /// Removes m-section `i` (and its mid from the BUNDLE groups) from a description, so the
    /// offerer reads an answer to what it offered.
    fn without_section(
        desc: &crate::connection::SessionDescription,
        i: usize,
    ) -> crate::connection::SessionDescription {
        let mut sdp = Sdp::parse(&desc.sdp).unwrap();
        let m = sdp.media.remove(i);
        let mid = m.mid().map(str::to_string);
        for a in &mut sdp.attributes {
            if let A::Group { mids, .. } = a {
                mids.retain(|x| Some(x) != mid.as_ref());
            }
        }
        crate::connection::SessionDescription::new(desc.sdp_type, sdp.to_string())
    }

    /// Runs offer/answer with `munge` applied to the offer `b` receives (the answerer's
    /// extra sections are removed again with `strip` before `a` reads the answer), then
    /// connects; returns both event logs.
    fn connect_munged(
        a: &mut Core,
        b: &mut Core,
        munge: impl Fn(&mut Sdp),
        strip: Option<usize>,
    ) -> (Vec<CoreEvent>, Vec<CoreEvent>) {
        let (addr_a, addr_b) = addrs();
        let t0 = Instant::now();
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.add_local_address(addr_a).unwrap();
        let offer = a.local_description().unwrap();
        let mut sdp = Sdp::parse(&offer.sdp).unwrap();
        munge(&mut sdp);
        b.set_remote_description(crate::connection::SessionDescription::new(
            SdpType::Offer,
            sdp.to_string(),
        ))
        .unwrap();
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        let answer = b.local_description().unwrap();
        let answer = match strip {
            Some(i) => without_section(&answer, i),
            None => answer,
        };
        a.set_remote_description(answer).unwrap();
        let (la, lb) = (drain(a), drain(b));
        let mut cores = [(a, addr_a, la), (b, addr_b, lb)];
        run(&mut cores, t0, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        let [(_, _, la), (_, _, lb)] = cores;
        (la, lb)
    }

    fn assert_connected_through_the_tag(a: &Core, b: &Core) {
        for c in [a, b] {
            // The primary transport (the tag's); a munged section outside BUNDLE that the
            // offerer never saw is a transport of its own that cannot connect.
            let t = c.ice_transport().unwrap();
            assert!(matches!(
                c.ice_transport_state(t),
                IceConnectionState::Connected | IceConnectionState::Completed
            ));
            assert_eq!(c.dtls_state(), crate::dtls::DtlsTransportState::Connected);
            if c.extra_transport_ids().is_empty() {
                assert_eq!(c.connection_state(), PeerConnectionState::Connected);
            }
        }
        let t = b.ice_transport().unwrap();
        let creds = a.session.ice.local_creds.clone().unwrap();
        assert_eq!(
            b.ice_remote_parameters(t),
            Some(IceParameters::from(&creds)),
            "the tag section's credentials, not the first section's"
        );
    }

    /// RFC 8843 §7.2: the BUNDLE tag is the first mid of the BUNDLE group, not the first
    /// m-section. A first section outside the group, with its own ICE credentials and
    /// fingerprint, is not the transport: ICE and DTLS use the tag's, and our candidates are
    /// written into (and named after) the tag section of our answer.
    #[test]
    fn bundle_tag_after_an_unbundled_first_section_carries_ice_and_dtls() {
        let (mut a, mut b) = (core(31), core(32));
        let (_, lb) = connect_munged(
            &mut a,
            &mut b,
            |sdp| {
                let decoy = decoy_section(&sdp.media[0], "u");
                sdp.media.insert(0, decoy);
            },
            Some(0),
        );
        assert_connected_through_the_tag(&a, &b);
        // The section outside the group is answered as a transport of its own (RFC 8843 §7).
        assert_eq!(b.extra_transport_ids().len(), 1);
        assert_ne!(b.transport_of_mid("u"), b.ice_transport());
        assert_eq!(b.transport_of_mid("0"), b.ice_transport());
        let answer = Sdp::parse(&b.local_description().unwrap().sdp).unwrap();
        assert_eq!(crate::negotiator::negotiated::tag_section(&answer), Some(1));
        assert!(answer.media[1].candidates().next().is_some());
        let inits: Vec<_> = lb
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceCandidate(Some(c)) => Some((c.sdp_mid(), c.sdp_m_line_index())),
                _ => None,
            })
            .collect();
        assert!(!inits.is_empty());
        // The BUNDLE transport's candidates are named after the tag section; the unbundled
        // section's own transport's after that section.
        let ours = answer.media[0].ice_ufrag().map(str::to_string);
        assert_ne!(ours.as_deref(), answer.media[1].ice_ufrag());
        assert!(answer.media[0].candidates().next().is_some());
        for (mid, index) in inits {
            assert!(
                (mid, index) == (Some("0"), Some(1)) || (mid, index) == (Some("u"), Some(0)),
                "named after the tag section: {mid:?} {index:?}"
            );
        }
    }

    /// Bundle-only sections (port 0, RFC 8843 §6) that are not the tag are not the
    /// transport, even when they carry ICE credentials and a fingerprint of their own.
    #[test]
    fn bundle_only_sections_before_the_tag_are_not_the_transport() {
        let (mut a, mut b) = (core(33), core(34));
        connect_munged(
            &mut a,
            &mut b,
            |sdp| {
                let mut decoy = decoy_section(&sdp.media[0], "b");
                decoy.port = 0;
                decoy.attributes.push(A::BundleOnly);
                sdp.media.insert(0, decoy);
                for a in &mut sdp.attributes {
                    if let A::Group { mids, .. } = a {
                        mids.push("b".into());
                    }
                }
            },
            Some(0),
        );
        assert_connected_through_the_tag(&a, &b);
    }

    /// RFC 8122 §5: a fingerprint given only at session level applies to every section.
    #[test]
    fn fingerprint_only_at_session_level_is_used() {
        let (mut a, mut b) = (core(35), core(36));
        connect_munged(
            &mut a,
            &mut b,
            |sdp| {
                let fps: Vec<A> = sdp.media[0]
                    .attributes
                    .iter()
                    .filter(|a| matches!(a, A::Fingerprint { .. }))
                    .cloned()
                    .collect();
                assert!(!fps.is_empty());
                sdp.media[0]
                    .attributes
                    .retain(|a| !matches!(a, A::Fingerprint { .. }));
                sdp.attributes.extend(fps);
            },
            None,
        );
        assert_connected_through_the_tag(&a, &b);
    }

    #[test]
    fn each_datagram_is_classified_and_counted_once() {
        // A STUN Binding indication (RFC 8489 §5): a keepalive, consumed by the agent.
        let mut indication = [0u8; 20];
        indication[1] = 0x11;
        indication[4..8].copy_from_slice(&crate::stun::MAGIC_COOKIE.to_be_bytes());
        indication[8..].copy_from_slice(&[7; 12]);

        // Before any agent: STUN is counted as STUN, dropped, and not taken.
        let mut lone = core(11);
        assert!(lone.ice_agent().is_none());
        let (addr_a, addr_b) = addrs();
        assert!(!lone.handle_datagram(Instant::now(), addr_a, addr_b, &indication));
        let c = lone.demux_counters();
        assert_eq!((c.stun, c.stun_without_agent), (1, 1));
        assert_eq!(
            (lone.non_stun_datagrams(), lone.dropped_datagrams()),
            (1, 1)
        );

        let (mut a, mut b) = (core(9), core(10));
        let t = connect(&mut a, &mut b, addr_a, addr_b);
        let before = a.demux_counters();
        let stranger: SocketAddr = "10.9.9.9:9".parse().unwrap();
        let inputs: [(&[u8], SocketAddr, bool); 9] = [
            (&indication, addr_b, true),
            (&[22, 254, 253, 0, 0], addr_b, false),
            (&[22, 254, 253, 0, 0], stranger, false),
            (&[0x80, 96, 0, 1], addr_b, false),
            (&[0x80, 200, 0, 6], addr_b, false),
            (&[16, 0, 0, 0], addr_b, false),
            (&[64, 0, 0, 0], addr_b, false),
            (&[0, 1, 0, 0], addr_b, false),
            (&[], addr_b, false),
        ];
        for (d, from, stun) in inputs {
            assert_eq!(a.handle_datagram(t, addr_a, from, d), stun, "{d:?}");
        }
        let after = a.demux_counters();
        let delta = DemuxCounters {
            stun: after.stun - before.stun,
            dtls: after.dtls - before.dtls,
            rtp: after.rtp - before.rtp,
            rtcp: after.rtcp - before.rtcp,
            zrtp_or_turn_channel: after.zrtp_or_turn_channel - before.zrtp_or_turn_channel,
            other: after.other - before.other,
            stun_without_agent: after.stun_without_agent - before.stun_without_agent,
            dtls_unknown_path: after.dtls_unknown_path - before.dtls_unknown_path,
        };
        assert_eq!(
            delta,
            DemuxCounters {
                stun: 1,
                dtls: 2,
                rtp: 1,
                rtcp: 1,
                zrtp_or_turn_channel: 2,
                other: 2,
                stun_without_agent: 0,
                dtls_unknown_path: 1,
            }
        );
        // The derived getters: 8 not STUN; the stranger's DTLS, RTP, RTCP, ZRTP, TURN and the
        // two others dropped (the bogus record from the known path went to DTLS).
        assert_eq!(a.non_stun_datagrams(), before.non_stun() + 8);
        assert_eq!(a.dropped_datagrams(), before.dropped() + 7);
        assert_eq!(a.connection_state(), PeerConnectionState::Connected);
    }

    #[test]
    fn wpt_181_rolled_back_restart_offer_keeps_the_connection_without_gathering_events() {
        let (mut a, mut b) = (core(5), core(6));
        let (addr_a, addr_b) = addrs();
        let t = connect(&mut a, &mut b, addr_a, addr_b);
        let old = ice_credentials(&a.current_local.as_ref().unwrap().sdp).unwrap();
        a.restart_ice(true);
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.handle_timeout(t);
        let trace = ice_trace(&drain(&mut a));
        assert_eq!(trace[..2], ["g:gathering", "cand"], "{trace:?}");
        assert_eq!(a.ice_gathering_state(), IceGatheringState::Complete);
        a.set_local_description(Some(crate::connection::SessionDescription::new(
            SdpType::Rollback,
            String::new(),
        )))
        .unwrap();
        a.handle_timeout(t);
        let after: Vec<String> = ice_trace(&drain(&mut a))
            .into_iter()
            .filter(|x| x.starts_with("g:") || x == "cand" || x == "end" || x == "null")
            .collect();
        assert!(after.is_empty(), "{after:?}");
        assert_eq!(a.ice_gathering_state(), IceGatheringState::Complete);
        let sdp = a.local_description().unwrap().sdp;
        assert!(sdp.contains(&format!("ufrag {}", old.ufrag)), "{sdp}");
        assert!(sdp.contains("a=end-of-candidates"), "{sdp}");
        // Both sides stay connected through consent checks (RFC 7675) for 20 s.
        let (la, lb) = (Vec::new(), Vec::new());
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        run(&mut cores, t, Duration::from_secs(20), |_| false);
        let pc_changes: Vec<String> = cores
            .iter()
            .flat_map(|(_, _, l)| ice_trace(l))
            .filter(|x| x.starts_with("pc:"))
            .collect();
        assert!(pc_changes.is_empty(), "{pc_changes:?}");
        assert_eq!(a.connection_state(), PeerConnectionState::Connected);
        assert_eq!(b.connection_state(), PeerConnectionState::Connected);
    }

    #[test]
    fn remote_restart_offer_is_applied_with_our_answer() {
        let (mut a, mut b) = (core(7), core(8));
        let (addr_a, addr_b) = addrs();
        let t = connect(&mut a, &mut b, addr_a, addr_b);
        let gen_a = a.ice_agent().unwrap().generation();
        // b (the first answerer, controlled) restarts ICE with an offer of its own.
        b.restart_ice(true);
        let offer = b.create_offer(&OfferOptions::default()).unwrap();
        b.set_local_description(Some(offer.clone())).unwrap();
        a.set_remote_description(offer).unwrap();
        assert_eq!(
            a.ice_agent().unwrap().generation(),
            gen_a,
            "waits for our answer"
        );
        a.set_local_description(None).unwrap();
        assert_eq!(a.ice_agent().unwrap().generation(), gen_a + 1);
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        let new_a = ice_credentials(&a.current_local.as_ref().unwrap().sdp).unwrap();
        let new_b = ice_credentials(&b.current_local.as_ref().unwrap().sdp).unwrap();
        // Candidates travel by trickle: hand each side's new candidates to the other.
        a.handle_timeout(t);
        b.handle_timeout(t);
        let trickle = |from: &mut Core, to: &mut Core| {
            for e in drain(from) {
                if let CoreEvent::IceCandidate(c) = e {
                    let init = c.map(|c| c.to_json()).unwrap_or_default();
                    to.add_ice_candidate(&init).unwrap();
                }
            }
        };
        trickle(&mut a, &mut b);
        trickle(&mut b, &mut a);
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let selected_new = |l: &[CoreEvent], ufrag: &str| {
            l.iter().any(|e| {
                matches!(e, CoreEvent::SelectedCandidatePairChange(p)
                    if p.local.username_fragment().as_deref() == Some(ufrag))
            })
        };
        run(&mut cores, t, Duration::from_secs(5), |c| {
            selected_new(&c[0].2, &new_a.ufrag) && selected_new(&c[1].2, &new_b.ufrag)
        });
        assert!(selected_new(&cores[0].2, &new_a.ufrag));
        assert!(selected_new(&cores[1].2, &new_b.ufrag));
        assert_eq!(a.connection_state(), PeerConnectionState::Connected);
        assert_eq!(b.connection_state(), PeerConnectionState::Connected);
        // The roles stay: a controlling, b controlled.
        assert!(a.ice_agent().unwrap().is_controlling());
        assert!(!b.ice_agent().unwrap().is_controlling());
    }

    /// Relay policy without a TURN server: nothing can be paired, so once gathering is done
    /// and the PAC timer (5 s, RFC 8863) ran out, the ICE transport, iceConnectionState and
    /// connectionState all become "failed", each with its event, in W3C order. Changing the
    /// policy and restarting ICE (webrtc-pc §4.4.1.6, RFC 8445 §9) then connects.
    #[test]
    fn relay_policy_without_turn_fails_and_restart_ice_recovers() {
        let relay = Configuration {
            ice_transport_policy: crate::config::IceTransportPolicy::Relay,
            ..Configuration::default()
        };
        let t0 = Instant::now();
        let mut a = core_with(relay, 31);
        let mut b = core(32);
        let (addr_a, addr_b) = addrs();
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.add_local_address(addr_a).unwrap();
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        b.add_local_address(addr_b).unwrap();
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        let transport = a.ice_transport().expect("transport");
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let end = run(&mut cores, t0, Duration::from_secs(20), |c| {
            c[0].0.connection_state() == PeerConnectionState::Failed
        });
        let elapsed = end - t0;
        assert!(
            elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(6),
            "failed after {elapsed:?}"
        );
        let log = &cores[0].2;
        let failed: Vec<String> = log
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceTransportStateChange(t, s) => {
                    assert_eq!(*t, transport);
                    Some(format!("t:{s}"))
                }
                CoreEvent::IceConnectionStateChange(s) => Some(format!("ice:{s}")),
                CoreEvent::ConnectionStateChange(s) => Some(format!("pc:{s}")),
                _ => None,
            })
            .collect();
        // "connecting" once DTLS starts after the answer (ICE still "new"), where it used to
        // stay forever.
        assert_eq!(
            failed,
            ["pc:connecting", "t:failed", "ice:failed", "pc:failed"]
        );
        assert_eq!(a.ice_connection_state(), IceConnectionState::Failed);
        assert_eq!(a.ice_transport_state(transport), IceConnectionState::Failed);
        assert_eq!(a.connection_state(), PeerConnectionState::Failed);
        assert_eq!(a.ice_gathering_state(), IceGatheringState::Complete);

        // Policy "all" and restartIce: a new offer/answer connects the same transport.
        a.set_configuration(Configuration::default()).unwrap();
        a.restart_ice(true);
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.handle_timeout(end);
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        let (la, lb) = (drain(&mut a), drain(&mut b));
        let mut cores = [(&mut a, addr_a, la), (&mut b, addr_b, lb)];
        let back = run(&mut cores, end, Duration::from_secs(5), |c| {
            c.iter()
                .all(|(c, _, _)| c.connection_state() == PeerConnectionState::Connected)
        });
        assert!(back - end < Duration::from_secs(1), "{:?}", back - end);
        assert_eq!(a.ice_transport(), Some(transport));
        assert!(matches!(
            a.ice_transport_state(transport),
            IceConnectionState::Connected | IceConnectionState::Completed
        ));
    }

    #[test]
    fn ice_transport_lives_with_the_agent_and_fires_before_the_pc_events() {
        let mut a = core(9);
        assert_eq!(a.ice_transport(), None);
        a.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        let first = a.ice_transport().expect("transport after SLD(offer)");
        assert_eq!(a.ice_transport_role(first), IceRole::Controlling);
        assert_eq!(a.ice_transport_state(first), IceConnectionState::New);
        // Rolling back the initial offer discards the transport; the next one is new.
        a.set_local_description(Some(crate::connection::SessionDescription::new(
            SdpType::Rollback,
            String::new(),
        )))
        .unwrap();
        assert_eq!(a.ice_transport(), None);
        assert_eq!(a.ice_transport_state(first), IceConnectionState::Closed);
        assert_eq!(a.ice_transport_role(first), IceRole::Unknown);
        drain(&mut a);
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        let second = a.ice_transport().expect("a new transport");
        assert_ne!(first, second);
        // Gathering: the transport's event right before the connection's.
        a.add_local_address("10.0.0.1:1000".parse().unwrap())
            .unwrap();
        let ev = drain(&mut a);
        let order: Vec<String> = ev
            .iter()
            .filter_map(|e| match e {
                CoreEvent::IceTransportGatheringStateChange(t, s) => {
                    assert_eq!(*t, second);
                    Some(format!("t:{s}"))
                }
                CoreEvent::IceGatheringStateChange(s) => Some(format!("pc:{s}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            order,
            ["t:gathering", "pc:gathering", "t:complete", "pc:complete"]
        );
        assert_eq!(a.ice_local_candidates(second).len(), 1);
        assert!(a.ice_local_candidates(first).is_empty());
        // close(): same transport, "closed", gathering state kept, no event.
        a.close();
        assert_eq!(a.ice_transport(), Some(second));
        assert_eq!(a.ice_transport_state(second), IceConnectionState::Closed);
        assert_eq!(
            a.ice_transport_gathering_state(second),
            IceGatheringState::Complete
        );
        assert!(drain(&mut a).is_empty());
    }

    #[test]
    fn turn_udp_host_names_are_resolved_by_the_driver_but_not_tcp_or_tls() {
        let config = Configuration {
            ice_servers: vec![crate::config::IceServer {
                urls: vec![
                    "turn:turn.example.org:3479".into(),
                    "turn:t2.example.org?transport=tcp".into(),
                    "turns:t3.example.org".into(),
                ],
                username: Some("u".into()),
                credential: Some("p".into()),
            }],
            ..Configuration::default()
        };
        let c = core_with(config, 1);
        let names = c.stun_host_names();
        let got: Vec<(&str, u16)> = names.iter().map(|n| (n.host.as_str(), n.port)).collect();
        assert_eq!(got, vec![("turn.example.org", 3479)]);
        assert_eq!(names[0].url, "turn:turn.example.org:3479");
    }
}
