//! Sans-IO ICE agent (RFC 8445) with trickle (RFC 8838), consent freshness (RFC 7675) and
//! server-reflexive gathering (RFC 8489 Binding), one component (rtcp-mux + BUNDLE, RFC 8843).
//!
//! The agent is one owned value driven like `quinn-proto`: the driver reports which local
//! sockets it bound ([`IceAgent::add_local_interface`]), feeds received datagrams
//! ([`IceAgent::handle_packet`]) and timer expiries ([`IceAgent::handle_timeout`]), and drains
//! [`IceAgent::poll_transmit`], [`IceAgent::poll_event`] and [`IceAgent::poll_timeout`]. Time is
//! always an argument; randomness (transaction ids, tie-breaker, consent jitter) comes from the
//! [`RandomSource`] given at construction, so a seeded run is reproducible.
//!
//! The driver must call [`IceAgent::handle_timeout`] (or any `now`-taking method) once after
//! setting the agent up: until the agent has seen a time it cannot report an immediate timeout.
//! [`IceAgent::add_local_interface`] / [`IceAgent::add_stun_server`] calls made before the next
//! poll count as one gathering phase: `GatheringComplete` is reported when none of their work is
//! pending any more.
//!
//! Bounds (all documented on [`IceAgentConfig`] or as constants here): interfaces
//! ([`MAX_LOCAL_INTERFACES`]), STUN servers ([`MAX_STUN_SERVERS`]), local candidates
//! ([`MAX_LOCAL_CANDIDATES`]), remote candidates and pairs (config, default 100 each as RFC 8445
//! §6.1.2.5 recommends), peer-reflexive remote candidates learnt from checks (config, default
//! 16, one pair each), the triggered-check queue (each pair at most once, so at most the
//! pairs), unresolved mDNS names ([`MAX_PENDING_MDNS`]), queued transmits
//! ([`MAX_QUEUED_TRANSMITS`]) and events ([`MAX_QUEUED_EVENTS`]). No STUN error response is
//! larger than the request that caused it.
//!
//! Behaviour choices:
//! - Checks: the first one leaves as soon as a pair exists; ordinary checks and STUN server
//!   requests are then paced one per Ta (RFC 8445 §14.2); triggered checks and the nomination
//!   leave at once (they reuse a path that already carried the peer's request or a successful
//!   check, so they open no NAT binding, which is what Ta protects). A peer's request on a
//!   pair whose ordinary check is still unanswered cancels that check and triggers a new one
//!   (RFC 8445 §7.3.1.4), so one lost first check costs no retransmission timeout.
//! - Nomination is regular (RFC 8445 §8.1.1): the controlling agent sends a check with
//!   USE-CANDIDATE on the best valid pair as soon as it succeeds if nothing can beat it (no
//!   better pair still being checked, and its remote candidate is host or peer-reflexive or
//!   the peer signalled end-of-candidates), else at the latest
//!   [`IceAgentConfig::nomination_timeout`] after the first pair became valid; it nominates once
//!   per generation unless [`IceAgentConfig::renomination`] is on. Both sides switch the
//!   selected pair to a higher-priority nominated pair, so aggressive nomination from a peer
//!   (USE-CANDIDATE on every check) and renomination are accepted. Checks on other pairs
//!   continue after nomination (like Chromium).
//! - Pairs are frozen per foundation as RFC 8445 §6.1.2.6 / §6.1.4.2 describe.
//! - Consent (RFC 7675): a Binding request every 4–6 s on the selected pair, each with a new
//!   transaction id and retransmitted on the RFC 8489 schedule; "disconnected" when one has
//!   been unanswered for [`IceAgentConfig::disconnected_timeout`] (5 s), "failed" 30 s after
//!   the last answer (then nothing is sent on the pair any more), "connected" again as soon as
//!   an answer arrives before that.
//! - The valid pair of a successful check is the checked pair itself: a learnt local
//!   peer-reflexive candidate is recorded (RFC 8445 §7.2.5.3.1) but pairs keep the base as their
//!   local side, which is where packets leave from anyway.
//!
//! Relayed candidates come from TURN allocations over UDP (`relay.rs`, RFC 8656): the
//! agent frames what leaves a relayed address for the server and the session hands it what
//! the server relays ([`IceAgent::handle_relay_input`], [`IceAgent::relay_wrap`]).
//!
//! ICE-TCP (RFC 6544, `framing.rs` for RFC 4571): the driver reports a listening TCP socket
//! per host address ([`IceAgent::add_local_tcp`]); the agent signals a passive candidate on
//! it and an active one (port 9) on the same IP, pairs active with passive only (RFC 6544
//! §6.2), never checks from a passive candidate until the peer connected (its checks arrive
//! on the accepted connection and make a peer-reflexive candidate, RFC 6544 §7.2), and does
//! not retransmit STUN over TCP (RFC 8489 §6.2.2). [`Transmit::tcp`] tells the driver what
//! to do with a TCP transmit: connect first (active) or use the accepted connection
//! (passive). Simultaneous-open candidates are paired with remote ones but never gathered.
//!
//! Not implemented yet: TURN over TCP/TLS, ICE-lite peers' special cases, more than one
//! component.

pub mod candidate;
pub mod framing;
pub mod interfaces;
pub mod mux;
pub mod relay;

#[cfg(test)]
mod tcp_tests;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::config::IceTransportPolicy;
use crate::enums::w3c_enum;
use crate::error::{Error, Result};
use crate::sdp::Candidate;
use crate::stun::{Class, Message, MessageWriter, Method, TransactionId, is_stun};
use crate::util::RandomSource;

pub use candidate::{
    CandidateKind, IceCandidate, RemoteCandidateIssue, TcpType, candidate_priority,
    local_preference, pair_priority, tcp_candidate_priority,
};
pub use interfaces::{InterfaceFilter, NetInterface, select_host_addresses};
pub use mux::{MuxConnId, MuxCounters, MuxTable};
pub use relay::{MAX_RELAYS, MAX_TURN_SERVERS, RelayInput, RelayProtocol};

/// The port of active TCP candidates and of their bases (RFC 6544 §4.5: the discard port,
/// never connected to).
pub const TCP_ACTIVE_PORT: u16 = 9;
/// Most local interfaces (bound sockets) the agent accepts.
pub const MAX_LOCAL_INTERFACES: usize = 16;
/// Most STUN servers the agent gathers from.
pub const MAX_STUN_SERVERS: usize = 8;
/// Most local candidates (host + srflx + learnt prflx) per generation.
pub const MAX_LOCAL_CANDIDATES: usize = 64;
/// Most remote `.local` candidates waiting for mDNS resolution.
pub const MAX_PENDING_MDNS: usize = 32;
/// Most datagrams queued for [`IceAgent::poll_transmit`]; beyond this new ones are dropped
/// (they are all retransmitted STUN, so dropping is loss, not corruption).
pub const MAX_QUEUED_TRANSMITS: usize = 1024;
/// Most events queued for [`IceAgent::poll_event`]; beyond this new ones are dropped.
pub const MAX_QUEUED_EVENTS: usize = 1024;
/// Most consent transactions kept outstanding on the selected pair (RFC 7675 §5.1: every
/// consent check uses a new transaction id; late answers to the last few still count).
const MAX_CONSENT_TRANSACTIONS: usize = 4;

/// Timers and limits of the ICE agent: non-standard settings (`IceSettings::agent` in
/// rtcpeer); the W3C `iceTransportPolicy` comes from the configuration instead.
#[derive(Debug, Clone)]
pub struct IceAgentConfig {
    /// Pacing interval Ta between new STUN transactions, default 50 ms (RFC 8445 §14.2).
    pub ta: Duration,
    /// Minimum RTO of a connectivity check, default 500 ms (RFC 8445 §14.3).
    pub check_rto_min: Duration,
    /// Transmissions of a connectivity check before the pair fails (Rc, default 7, RFC 8489
    /// §6.2.1).
    pub check_max_transmissions: u32,
    /// Initial RTO of a Binding request to a STUN server, default 500 ms (RFC 8489 §6.2.1).
    pub stun_rto: Duration,
    /// Transmissions of a Binding request to a STUN server (Rc, default 7, RFC 8489 §6.2.1).
    pub stun_max_transmissions: u32,
    /// Wait after the last transmission, in RTOs (Rm, default 16, RFC 8489 §6.2.1); also used
    /// for connectivity checks.
    pub stun_last_wait: u32,
    /// Mean consent check interval, default 5 s, randomized to 0.8–1.2× (RFC 7675 §5.1).
    pub consent_interval: Duration,
    /// Initial RTO of a consent check, default 500 ms, doubling (RFC 7675 §5.1, RFC 8489).
    pub consent_rto: Duration,
    /// "disconnected" when a consent check has gone unanswered this long, default 5 s (like
    /// Chromium's 5 s unanswered-ping write timeout; RFC 7675 leaves it to the implementation).
    pub disconnected_timeout: Duration,
    /// Consent expires (state "failed") this long after the last consent response, default
    /// 30 s (RFC 7675 §5.1).
    pub consent_timeout: Duration,
    /// Controlling agent: how long to wait, after the first pair became valid, for better
    /// pairs (still being checked, or a host candidate still to trickle in) before
    /// nominating the best valid one, default 100 ms (RFC 8445 §8.1.1 leaves the stopping
    /// criterion to the implementation). A valid pair that nothing can beat any more is
    /// nominated at once, without this wait.
    pub nomination_timeout: Duration,
    /// Controlling agent: nominate again when a better pair becomes valid after a nomination
    /// (renomination as in draft-thatcher-ice-renomination; RFC 8445 §8.1.1 allows a single
    /// nomination, so off by default). Either way, a peer's later nomination of a
    /// higher-priority pair switches the selected pair.
    pub renomination: bool,
    /// Most remote candidates per generation (including learnt prflx), default 100.
    pub max_remote_candidates: usize,
    /// Most candidate pairs per generation, default 100 (RFC 8445 §6.1.2.5).
    pub max_pairs: usize,
    /// Most peer-reflexive remote candidates learnt from the peer's checks per generation
    /// (RFC 8445 §7.3.1.3; they count among `max_remote_candidates` too), default 16: one per
    /// socket or NAT mapping of the peer that reaches us, so more than a browser's host and
    /// server-reflexive candidates together. Each is paired only with the local candidate
    /// its check arrived on. A check from yet another source address is dropped unanswered,
    /// so authenticated checks from thousands of (spoofed) sources cannot crowd out the
    /// signalled candidates or make us check thousands of addresses.
    pub max_peer_reflexive_candidates: usize,
    /// The PAC timer (RFC 8863 §4, "Patiently Awaiting Connectivity"): the least time ICE
    /// runs, from the moment both sides' credentials are known, before an agent with nothing
    /// left to check becomes "failed". Nothing left to check means: local gathering is
    /// complete, no remote mDNS name is unresolved, no pair is selected, and the checklist is
    /// empty or every pair in it failed (relay policy without a relay candidate, remote
    /// candidates that are all filtered or unreachable, no remote candidate at all, with or
    /// without end-of-candidates). Default 5 s, Firefox's trickle grace period
    /// (`media.peerconnection.ice.trickle_grace_period`, also counted from the start of
    /// checks); RFC 8863 recommends the check transaction timeout (39.5 s) but leaves the
    /// value to the application, and a pair that is still being checked is never cut short
    /// by this timer. "failed" is not final: a remote candidate or a peer's check that forms a
    /// new pair afterwards takes the agent back to "checking" (like Chromium, RFC 8838 §8),
    /// and an ICE restart starts over.
    pub pac_timeout: Duration,
}

impl Default for IceAgentConfig {
    fn default() -> Self {
        IceAgentConfig {
            ta: Duration::from_millis(50),
            check_rto_min: Duration::from_millis(500),
            check_max_transmissions: 7,
            stun_rto: Duration::from_millis(500),
            stun_max_transmissions: 7,
            stun_last_wait: 16,
            consent_interval: Duration::from_secs(5),
            consent_rto: Duration::from_millis(500),
            disconnected_timeout: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            nomination_timeout: Duration::from_millis(100),
            renomination: false,
            max_remote_candidates: 100,
            max_pairs: 100,
            max_peer_reflexive_candidates: 16,
            pac_timeout: Duration::from_secs(5),
        }
    }
}

w3c_enum! {
    /// The aggregate connection state, as `RTCIceConnectionState` (webrtc-pc §5.6.4).
    pub enum IceConnectionState {
        /// Nothing checked yet.
        New = "new",
        /// Connectivity checks are running and no pair is selected yet.
        Checking = "checking",
        /// A nominated pair is selected and consent is fresh.
        Connected = "connected",
        /// Controlling agent only: connected, all checks done and the remote signalled
        /// end-of-candidates.
        Completed = "completed",
        /// Nothing is left to check (gathering complete, every pair failed or none could be
        /// formed) and the PAC timer ran out ([`IceAgentConfig::pac_timeout`], RFC 8863), or
        /// consent expired (RFC 7675).
        Failed = "failed",
        /// Consent checks on the selected pair go unanswered (RFC 7675).
        Disconnected = "disconnected",
        /// `IceAgent::close` was called.
        Closed = "closed",
    }
}

w3c_enum! {
    /// Gathering progress, as `RTCIceGatheringState` (webrtc-pc §5.6.3).
    pub enum IceGatheringState {
        /// Nothing gathered yet.
        New = "new",
        /// Candidates are being gathered.
        Gathering = "gathering",
        /// Gathering of this generation is done.
        Complete = "complete",
    }
}

w3c_enum! {
    /// State of a candidate pair in the checklist (RFC 8445 §6.1.2.6; webrtc-stats
    /// `RTCStatsIceCandidatePairState`).
    pub enum CandidatePairState {
        /// Waiting for a pair of the same foundation to succeed.
        Frozen = "frozen",
        /// Ready to be checked.
        Waiting = "waiting",
        /// A check is in flight.
        InProgress = "in-progress",
        /// The check succeeded: the pair is valid.
        Succeeded = "succeeded",
        /// The check failed.
        Failed = "failed",
    }
}

/// A datagram the driver must send from local socket `local` to `remote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket (a base address given to [`IceAgent::add_local_interface`]).
    pub local: SocketAddr,
    /// The destination.
    pub remote: SocketAddr,
    /// The datagram (a STUN message).
    pub data: Vec<u8>,
    /// `None`: a UDP datagram. Over TCP (RFC 6544), framed per RFC 4571 on the connection
    /// between `local` (a TCP base) and `remote`: `Some(Active)` opens that connection first
    /// if there is none; `Some(Passive)` uses the connection the peer opened and is dropped
    /// when there is none (RFC 6544 §7.1).
    pub tcp: Option<TcpType>,
}

/// The timers of the ICE agent, named for tracing (`IceAgent::next_timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceTimer {
    /// A triggered check or answer is queued (RFC 8445 §7.3.1.4): due at once.
    Triggered,
    /// The next paced transmission (Ta, RFC 8445 §14.2).
    Pacer,
    /// A STUN server binding request's retransmission (RFC 8489 §6.2.1).
    GatherRetransmit,
    /// The controlling side nominates its best pair (RFC 8445 §8.1.1).
    Nomination,
    /// Starting the Patiently Awaiting Connectivity timer, at once (RFC 8863 §4).
    PacStart,
    /// The PAC timer runs out with nothing left to check (RFC 8863 §4).
    Pac,
    /// A connectivity check's retransmission (RFC 8445 §14.3).
    CheckRetransmit,
    /// The next consent freshness check (RFC 7675 §5.1).
    Consent,
    /// A consent check's retransmission (RFC 7675 §5.1).
    ConsentRetransmit,
    /// Consent expires without an answer (RFC 7675 §5.1, 30 s).
    ConsentExpiry,
    /// Unanswered consent makes the connection "disconnected" (webrtc-pc §5.6).
    Disconnected,
    /// A TURN allocation's request, retransmission or refresh (RFC 8656, `ice/relay.rs`).
    Turn,
}

/// Something the driver or the W3C layer must learn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    /// A new local candidate to signal (`icecandidate`, RFC 8838 §4).
    LocalCandidate(Candidate),
    /// All local candidates of this generation have been reported (`icecandidate` with
    /// null, RFC 8838 §8.2).
    GatheringComplete,
    /// The aggregate state changed (`iceconnectionstatechange`).
    StateChange(IceConnectionState),
    /// The pair used for data changed (`selectedcandidatepairchange`, RFC 8445 §8.1.1).
    SelectedPairChanged(Box<SelectedPair>),
    /// A STUN server did not answer or answered with an error (`icecandidateerror`,
    /// webrtc-pc §4.8.2): 701 when it was unreachable.
    CandidateError {
        /// The local socket the request was sent from.
        address: SocketAddr,
        /// The STUN server.
        server: SocketAddr,
        /// The STUN error code, or 701 when no response arrived.
        error_code: u16,
        /// The reason phrase.
        error_text: String,
    },
    /// A remote candidate carries this mDNS name; answer with [`IceAgent::resolved_mdns`]
    /// (draft-ietf-mmusic-mdns-ice-candidates §3.2).
    ResolveMdns {
        /// The `.local` host name.
        name: String,
    },
}

/// The selected pair as reported by [`IceEvent::SelectedPairChanged`] (RFC 8445 §8.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPair {
    /// The local candidate of the pair (`RTCIceCandidatePair.local`).
    pub local: Candidate,
    /// The remote candidate of the pair (`RTCIceCandidatePair.remote`).
    pub remote: Candidate,
    /// The socket to send from (the local candidate's base).
    pub local_addr: SocketAddr,
    /// The address to send to.
    pub remote_addr: SocketAddr,
}

/// A snapshot of one candidate pair, for stats and tests (RFC 8445 §6.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePairInfo {
    /// The local candidate's base (the socket checks leave from).
    pub local: SocketAddr,
    /// The remote candidate's address.
    pub remote: SocketAddr,
    /// The pair priority (RFC 8445 §6.1.2.3).
    pub priority: u64,
    /// The checklist state.
    pub state: CandidatePairState,
    /// Whether the pair is nominated (RFC 8445 §8.1.1).
    pub nominated: bool,
    /// Last round-trip time measured by a check on this pair (unambiguous answers only).
    pub rtt: Option<Duration>,
    /// Check and consent counters (webrtc-stats `RTCIceCandidatePairStats`).
    pub counters: PairCounters,
}

/// Connectivity-check counters of a pair, as webrtc-stats names them; retransmissions are
/// not counted as new requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairCounters {
    /// `requestsSent`: checks and consent requests sent.
    pub requests_sent: u64,
    /// `responsesReceived`: authenticated success responses received.
    pub responses_received: u64,
    /// `requestsReceived`: authenticated checks received.
    pub requests_received: u64,
    /// `responsesSent`: success responses sent to them.
    pub responses_sent: u64,
    /// `consentRequestsSent`: consent freshness requests sent (RFC 7675).
    pub consent_requests_sent: u64,
    /// `totalRoundTripTime`: the sum of the round-trip times measured on the pair's check
    /// and consent responses (Karn's rule: retransmitted requests give no sample).
    pub total_round_trip_time: Duration,
}

#[derive(Debug, Clone)]
struct Creds {
    ufrag: String,
    pwd: String,
}

/// STUN retransmission schedule: transmission k (1-based) waits RTO·2^(k-1) for an answer,
/// the last one Rm·RTO (RFC 8489 §6.2.1).
#[derive(Debug, Clone)]
struct Retrans {
    /// When the first transmission left (for RTT samples, RFC 6298 §3 Karn's rule).
    first: Instant,
    rto: Duration,
    sent: u32,
    max: u32,
    rm: u32,
    next: Instant,
}

impl Retrans {
    fn new(now: Instant, rto: Duration, max: u32, rm: u32) -> Retrans {
        let mut r = Retrans {
            first: now,
            rto,
            sent: 1,
            max: max.max(1),
            rm,
            next: now,
        };
        r.next = now + r.wait();
        r
    }

    fn wait(&self) -> Duration {
        let w = if self.sent < self.max {
            let factor = 1u32 << (self.sent - 1).min(16);
            self.rto.saturating_mul(factor)
        } else {
            self.rto.saturating_mul(self.rm)
        };
        // Bounded so `Instant + wait` cannot overflow whatever the configuration.
        w.min(Duration::from_secs(86_400))
    }

    /// The round-trip time if the answer at `now` can only belong to the first
    /// transmission (Karn's rule, RFC 6298 §3).
    fn rtt_sample(&self, now: Instant) -> Option<Duration> {
        (self.sent == 1).then(|| now.saturating_duration_since(self.first))
    }

    /// At `next`: `true` to retransmit (and re-arm), `false` when the transaction failed.
    fn expire(&mut self, now: Instant) -> bool {
        if self.sent >= self.max {
            return false;
        }
        self.sent += 1;
        self.next = now + self.wait();
        true
    }
}

#[derive(Debug, Clone)]
struct LocalCand {
    cand: IceCandidate,
}

#[derive(Debug, Clone)]
struct Gather {
    base: SocketAddr,
    server: SocketAddr,
    tid: TransactionId,
    retrans: Retrans,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct CheckTx {
    tid: TransactionId,
    retrans: Retrans,
    data: Vec<u8>,
    /// The role claimed in the request (for 487 handling, RFC 8445 §7.2.5.1).
    controlling: bool,
    use_candidate: bool,
    /// The PRIORITY sent (priority of a learnt local prflx, RFC 8445 §7.2.5.3.1).
    priority: u32,
    /// Sent from the triggered-check queue (RFC 8445 §7.3.1.4).
    triggered: bool,
}

#[derive(Debug, Clone)]
struct Pair {
    local: usize,
    remote: usize,
    priority: u64,
    state: CandidatePairState,
    nominated: bool,
    /// Controlled: the peer nominated before our check succeeded (RFC 8445 §7.3.1.5).
    nominate_on_success: bool,
    /// Controlling: the next check carries USE-CANDIDATE (RFC 8445 §8.1.1).
    nominate: bool,
    tx: Option<CheckTx>,
    /// An ordinary check cancelled by a triggered one (RFC 8445 §7.3.1.4): no longer
    /// retransmitted, but its success response is still accepted while the pair is checked.
    cancelled: Option<CheckTx>,
    rtt: Option<Duration>,
    counters: PairCounters,
}

#[derive(Debug, Clone)]
struct ConsentTx {
    tid: TransactionId,
    retrans: Retrans,
    data: Vec<u8>,
}

/// The selected pair with the credentials of its generation: it keeps working (and keeps
/// consent) across an ICE restart until a new pair is selected (RFC 8445 §9).
#[derive(Debug, Clone)]
struct Selected {
    local: IceCandidate,
    remote: IceCandidate,
    priority: u64,
    generation: u32,
    local_creds: Creds,
    remote_creds: Creds,
    last_consent: Instant,
    next_consent: Instant,
    first_unanswered: Option<Instant>,
    consent: VecDeque<ConsentTx>,
    expired: bool,
    rtt: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gathering {
    Idle,
    Running,
    Done,
}

/// The sans-IO ICE agent (RFC 8445): one component, full (not lite) implementation.
pub struct IceAgent {
    config: IceAgentConfig,
    /// `iceTransportPolicy`: `relay` suppresses host and srflx candidates (webrtc-pc §4.2.2);
    /// set by the connection from its configuration ([`IceAgent::set_transport_policy`]).
    transport_policy: IceTransportPolicy,
    rng: Box<dyn RandomSource>,
    controlling: bool,
    tie_breaker: u64,
    /// The component this agent runs (RFC 8445 §4): 1 (RTP, or everything with rtcp-mux),
    /// or 2 (RTCP on its own, RFC 5761 not negotiated).
    component: u16,
    local: Option<Creds>,
    remote: Option<Creds>,
    generation: u32,
    interfaces: Vec<SocketAddr>,
    /// Listening TCP sockets (passive bases) reported by the driver (RFC 6544 §5.1).
    tcp_interfaces: Vec<SocketAddr>,
    stun_servers: Vec<SocketAddr>,
    /// TURN servers (at most [`MAX_TURN_SERVERS`]) and their allocations, one per host
    /// socket of the same family (at most [`MAX_RELAYS`]), `ice/relay.rs`.
    turn_servers: Vec<relay::TurnServer>,
    relays: Vec<relay::Relay>,
    locals: Vec<LocalCand>,
    /// Foundation keys (kind, base ip, server ip) → number (RFC 8445 §5.1.1.3).
    foundations: Vec<(CandidateKind, IpAddr, Option<IpAddr>)>,
    remotes: Vec<IceCandidate>,
    prflx_counter: u32,
    early: Vec<Candidate>,
    pending_mdns: Vec<Candidate>,
    remote_end_of_candidates: bool,
    pairs: Vec<Pair>,
    triggered: VecDeque<usize>,
    gather_queue: VecDeque<(SocketAddr, SocketAddr)>,
    gathers: Vec<Gather>,
    gathering: Gathering,
    next_pace: Option<Instant>,
    checks_started: bool,
    /// When the first pair of this generation became valid (nomination stopping criterion).
    first_valid_at: Option<Instant>,
    /// When ICE processing started for this generation (both credentials known): the start
    /// of the PAC timer (RFC 8863 §4).
    started_at: Option<Instant>,
    selected: Option<Selected>,
    state: IceConnectionState,
    closed: bool,
    /// A restart on new sockets waits for them ([`IceAgent::restart_on_new_interfaces`]):
    /// gathering cannot complete before [`IceAgent::interfaces_complete`].
    awaiting_interfaces: bool,
    last_now: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    /// STUN datagrams dropped as malformed, unauthenticated or unexpected.
    dropped: u64,
    /// Error responses not sent because they would have been larger than their request.
    suppressed_replies: u64,
}

impl std::fmt::Debug for IceAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceAgent")
            .field("controlling", &self.controlling)
            .field("generation", &self.generation)
            .field("state", &self.state)
            .field("locals", &self.locals.len())
            .field("remotes", &self.remotes.len())
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

impl IceAgent {
    /// A new agent in state "new", controlled, with a random tie-breaker (RFC 8445 §5.2).
    /// Durations in `config` are capped at one hour (larger values would only overflow
    /// timer arithmetic).
    pub fn new(mut config: IceAgentConfig, mut rng: impl RandomSource + 'static) -> IceAgent {
        let cap = |d: &mut Duration| *d = (*d).min(Duration::from_secs(3600));
        cap(&mut config.ta);
        cap(&mut config.check_rto_min);
        cap(&mut config.stun_rto);
        cap(&mut config.consent_interval);
        cap(&mut config.consent_rto);
        cap(&mut config.disconnected_timeout);
        cap(&mut config.consent_timeout);
        cap(&mut config.nomination_timeout);
        cap(&mut config.pac_timeout);
        config.stun_last_wait = config.stun_last_wait.min(64);
        let tie_breaker = rng.next_u64();
        IceAgent {
            config,
            transport_policy: IceTransportPolicy::All,
            rng: Box::new(rng),
            controlling: false,
            tie_breaker,
            component: 1,
            local: None,
            remote: None,
            generation: 0,
            interfaces: Vec::new(),
            tcp_interfaces: Vec::new(),
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            relays: Vec::new(),
            locals: Vec::new(),
            foundations: Vec::new(),
            remotes: Vec::new(),
            prflx_counter: 0,
            early: Vec::new(),
            pending_mdns: Vec::new(),
            remote_end_of_candidates: false,
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            gather_queue: VecDeque::new(),
            gathers: Vec::new(),
            gathering: Gathering::Idle,
            next_pace: None,
            checks_started: false,
            first_valid_at: None,
            started_at: None,
            selected: None,
            state: IceConnectionState::New,
            closed: false,
            awaiting_interfaces: false,
            last_now: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
            suppressed_replies: 0,
        }
    }

    // ------------------------------------------------------------------ configuration

    /// Sets our ufrag/pwd (RFC 8445 §5.3, RFC 8839 §5.4) for the current generation.
    pub fn set_local_credentials(&mut self, ufrag: &str, pwd: &str) {
        self.local = Some(Creds {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        });
    }

    /// Sets the peer's ufrag/pwd (RFC 8839 §5.4). New values for an already known peer mean
    /// the peer restarted ICE: its candidates and our checklist are dropped, the selected pair
    /// keeps working until a new one is selected (RFC 8445 §9).
    pub fn set_remote_credentials(&mut self, ufrag: &str, pwd: &str) {
        if let Some(r) = &self.remote {
            if r.ufrag == ufrag && r.pwd == pwd {
                return;
            }
            self.clear_remote_side();
        }
        self.remote = Some(Creds {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        });
        let early = std::mem::take(&mut self.early);
        for c in early {
            // Early candidates were validated when added; a ufrag mismatch drops them.
            let _ = self.add_remote_candidate(c);
        }
    }

    /// Sets the role: controlling (nominates, RFC 8445 §8.1) or controlled. Pair priorities
    /// are recomputed (RFC 8445 §6.1.2.3).
    pub fn set_role(&mut self, controlling: bool) {
        if self.controlling != controlling {
            self.controlling = controlling;
            self.recompute_priorities();
        }
    }

    /// Changes `iceTransportPolicy` (`setConfiguration`, webrtc-pc §4.4.1.6): it applies to
    /// candidates gathered and pairs formed from now on, i.e. fully after the next
    /// [`IceAgent::restart`].
    pub fn set_transport_policy(&mut self, policy: IceTransportPolicy) {
        self.transport_policy = policy;
    }

    /// Whether the agent is currently controlling (it can change on a role conflict,
    /// RFC 8445 §7.3.1.1).
    pub fn is_controlling(&self) -> bool {
        self.controlling
    }

    /// Makes this the agent of component `component` (RFC 8445 §4, §5.1.2.1): 2 for RTCP
    /// when RTP and RTCP are not multiplexed (RFC 5761), else 1. Its candidates carry the
    /// component id and its priorities `256 - component`; remote candidates of another
    /// component are not paired. Call before gathering; values outside 1..=256 are clamped.
    pub fn set_component(&mut self, component: u16) {
        self.component = component.clamp(1, 256);
    }

    /// The component this agent runs (1 unless [`IceAgent::set_component`] said otherwise).
    pub fn component(&self) -> u16 {
        self.component
    }

    /// The tie-breaker sent in ICE-CONTROLLING/ICE-CONTROLLED (RFC 8445 §7.1.3).
    pub fn tie_breaker(&self) -> u64 {
        self.tie_breaker
    }

    /// Replaces the random tie-breaker (tests of role conflicts, RFC 8445 §7.3.1.1).
    pub fn set_tie_breaker(&mut self, tie_breaker: u64) {
        self.tie_breaker = tie_breaker;
    }

    /// The current aggregate state.
    pub fn state(&self) -> IceConnectionState {
        self.state
    }

    /// The selected pair as (local socket, remote address), if any: where data goes.
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected
            .as_ref()
            .filter(|s| !s.expired)
            .map(|s| (s.local.base, s.remote.addr))
    }

    /// Whether `local`/`remote` is the selected pair or a candidate pair of the checklist
    /// (a signalled or peer-reflexive remote candidate): DTLS and SRTP are accepted only from
    /// such peers (RFC 8445 §7.3.1.4, RFC 7983); DTLS itself authenticates them.
    pub fn knows_path(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        if self.selected_pair() == Some((local, remote)) {
            return true;
        }
        self.pairs.iter().any(|p| {
            self.locals[p.local].cand.base == local && self.remotes[p.remote].addr == remote
        })
    }

    /// Whether a STUN response with transaction id `tid` answers one of this agent's
    /// requests (a gathering request, a check, a consent check): with several agents on
    /// one socket (RFC 8843 §7, unbundled transports), responses are routed by it.
    pub fn expects_response(&self, tid: &TransactionId) -> bool {
        self.gathers.iter().any(|g| &g.tid == tid)
            || self.pairs.iter().any(|p| {
                p.tx.as_ref().is_some_and(|t| &t.tid == tid)
                    || p.cancelled.as_ref().is_some_and(|t| &t.tid == tid)
            })
            || self
                .selected
                .as_ref()
                .is_some_and(|s| s.consent.iter().any(|c| &c.tid == tid))
    }

    /// Round-trip time last measured on the selected pair (checks, then consent), for
    /// `RTCIceCandidatePairStats.currentRoundTripTime`.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.selected.as_ref().and_then(|s| s.rtt)
    }

    /// Gathering progress (`iceGatheringState`).
    pub fn gathering_state(&self) -> IceGatheringState {
        match self.gathering {
            Gathering::Idle => IceGatheringState::New,
            Gathering::Running => IceGatheringState::Gathering,
            Gathering::Done => IceGatheringState::Complete,
        }
    }

    /// The ICE generation: 0, then +1 per [`IceAgent::restart`].
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// STUN datagrams dropped so far (malformed, unauthenticated, unexpected).
    pub fn dropped_packets(&self) -> u64 {
        self.dropped
    }

    /// Error responses not sent because they would have been larger than the request that
    /// caused them (no STUN reply amplifies, see the 400/401 rules of RFC 8489 §9.1.3).
    pub fn suppressed_replies(&self) -> u64 {
        self.suppressed_replies
    }

    /// The local candidates of this generation, including learnt peer-reflexive ones.
    pub fn local_candidates(&self) -> Vec<IceCandidate> {
        self.locals.iter().map(|l| l.cand.clone()).collect()
    }

    /// The remote candidates of this generation, including learnt peer-reflexive ones.
    pub fn remote_candidates(&self) -> Vec<IceCandidate> {
        self.remotes.clone()
    }

    /// The checklist (RFC 8445 §6.1.2).
    pub fn candidate_pairs(&self) -> Vec<CandidatePairInfo> {
        self.pairs
            .iter()
            .map(|p| CandidatePairInfo {
                local: self.locals[p.local].cand.base,
                remote: self.remotes[p.remote].addr,
                priority: p.priority,
                state: p.state,
                nominated: p.nominated,
                rtt: p.rtt,
                counters: p.counters,
            })
            .collect()
    }

    /// The checklist with the pairs' candidates, for `RTCIceCandidatePairStats`
    /// (webrtc-stats §7.13): local candidate, remote candidate and the pair's snapshot.
    pub fn pairs_for_stats(
        &self,
    ) -> impl Iterator<Item = (&IceCandidate, &IceCandidate, CandidatePairInfo)> + '_ {
        self.pairs.iter().filter_map(|p| {
            let local = &self.locals.get(p.local)?.cand;
            let remote = self.remotes.get(p.remote)?;
            let info = CandidatePairInfo {
                local: local.base,
                remote: remote.addr,
                priority: p.priority,
                state: p.state,
                nominated: p.nominated,
                rtt: p.rtt,
                counters: p.counters,
            };
            Some((local, remote, info))
        })
    }

    /// The selected pair as a [`IceEvent::SelectedPairChanged`] carries it (SDP candidates
    /// and path), while consent holds: for a transport that takes this agent over.
    pub fn selected_pair_event(&self) -> Option<SelectedPair> {
        let s = self.selected.as_ref().filter(|s| !s.expired)?;
        let ufrag = self.remote.as_ref()?.ufrag.clone();
        let mut remote = s.remote.to_sdp(&ufrag, self.generation);
        remote.component = self.component;
        Some(SelectedPair {
            local: self.local_sdp(&s.local),
            remote,
            local_addr: s.local.base,
            remote_addr: s.remote.addr,
        })
    }

    /// The selected pair's candidates (`RTCIceTransport.getSelectedCandidatePair()` as the
    /// agent holds them), while consent holds.
    pub fn selected_candidates(&self) -> Option<(&IceCandidate, &IceCandidate)> {
        self.selected
            .as_ref()
            .filter(|s| !s.expired)
            .map(|s| (&s.local, &s.remote))
    }

    // ------------------------------------------------------------------ gathering

    /// Reports a bound local UDP socket: it becomes a host candidate (RFC 8445 §5.1.1.1) and a
    /// base for srflx gathering; errors when [`MAX_LOCAL_INTERFACES`] are already known.
    pub fn add_local_interface(&mut self, addr: SocketAddr) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if self.interfaces.contains(&addr) {
            return Ok(());
        }
        if self.interfaces.len() >= MAX_LOCAL_INTERFACES {
            return Err(Error::operation("too many local interfaces"));
        }
        self.interfaces.push(addr);
        self.gathering = Gathering::Running;
        let index = self.interfaces.len() - 1;
        self.add_host(addr, index);
        for t in self.turn_servers.clone() {
            self.start_relay(addr, &t);
        }
        Ok(())
    }

    /// Reports a listening TCP socket (RFC 6544 §5.1): a passive host candidate on it and an
    /// active host candidate (port 9, RFC 6544 §4.5) on its IP. Its port must be used by no
    /// UDP socket of this agent (paths are told apart by their local address). Errors when
    /// [`MAX_LOCAL_INTERFACES`] listeners are already known.
    pub fn add_local_tcp(&mut self, listener: SocketAddr) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if self.tcp_interfaces.contains(&listener) {
            return Ok(());
        }
        if self.tcp_interfaces.len() >= MAX_LOCAL_INTERFACES {
            return Err(Error::operation("too many local TCP listeners"));
        }
        if self.interfaces.contains(&listener) || listener.port() == TCP_ACTIVE_PORT {
            return Err(Error::operation("a TCP listener on a UDP socket's address"));
        }
        self.tcp_interfaces.push(listener);
        self.gathering = Gathering::Running;
        self.add_tcp_hosts(listener, self.tcp_interfaces.len() - 1);
        Ok(())
    }

    /// The TCP type of a local base: `Passive` for a listener, `Active` for the port-9 base
    /// on a listener's IP, `None` for UDP sockets.
    pub fn tcp_base_type(&self, base: SocketAddr) -> Option<TcpType> {
        if self.tcp_interfaces.contains(&base) {
            Some(TcpType::Passive)
        } else if base.port() == TCP_ACTIVE_PORT
            && self.tcp_interfaces.iter().any(|t| t.ip() == base.ip())
        {
            Some(TcpType::Active)
        } else {
            None
        }
    }

    fn add_tcp_hosts(&mut self, listener: SocketAddr, index: usize) {
        if self.transport_policy == IceTransportPolicy::Relay {
            return;
        }
        let active = SocketAddr::new(listener.ip(), TCP_ACTIVE_PORT);
        for (addr, t) in [(listener, TcpType::Passive), (active, TcpType::Active)] {
            if self.locals.len() >= MAX_LOCAL_CANDIDATES {
                return;
            }
            // One foundation per type, IP and transport (RFC 8445 §5.1.1.3): the TCP ones
            // are told apart from UDP by a server-address slot no STUN server can use.
            let tag = IpAddr::from([0, 0, 0, if t == TcpType::Active { 1 } else { 2 }]);
            let foundation = self.foundation(CandidateKind::Host, addr.ip(), Some(tag));
            let cand = IceCandidate {
                kind: CandidateKind::Host,
                addr,
                base: addr,
                priority: tcp_candidate_priority(CandidateKind::Host, t, addr.ip(), index),
                foundation,
                related: None,
                tcp_type: Some(t),
            };
            self.locals.push(LocalCand { cand: cand.clone() });
            let sdp = self.local_sdp(&cand);
            self.push_event(IceEvent::LocalCandidate(sdp));
            let li = self.locals.len() - 1;
            for ri in 0..self.remotes.len() {
                self.try_pair(li, ri);
            }
        }
    }

    /// Adds a STUN server to gather a server-reflexive candidate from every host base of the
    /// same family (RFC 8445 §5.1.1.2); errors beyond [`MAX_STUN_SERVERS`].
    pub fn add_stun_server(&mut self, server: SocketAddr) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if self.stun_servers.contains(&server) {
            return Ok(());
        }
        if self.stun_servers.len() >= MAX_STUN_SERVERS {
            return Err(Error::operation("too many STUN servers"));
        }
        self.stun_servers.push(server);
        if self.transport_policy == IceTransportPolicy::Relay {
            return Ok(());
        }
        self.gathering = Gathering::Running;
        for &base in &self.interfaces {
            if base.is_ipv4() == server.is_ipv4() {
                self.gather_queue.push_back((base, server));
            }
        }
        Ok(())
    }

    fn add_host(&mut self, addr: SocketAddr, index: usize) {
        let pref = local_preference(addr.ip(), index);
        let foundation = self.foundation(CandidateKind::Host, addr.ip(), None);
        let cand = IceCandidate {
            kind: CandidateKind::Host,
            addr,
            base: addr,
            priority: candidate_priority(CandidateKind::Host, pref, self.component),
            foundation,
            related: None,
            tcp_type: None,
        };
        let signalled = self.transport_policy == IceTransportPolicy::All;
        if self.locals.len() >= MAX_LOCAL_CANDIDATES {
            return;
        }
        self.locals.push(LocalCand { cand: cand.clone() });
        if signalled {
            let sdp = self.local_sdp(&cand);
            self.push_event(IceEvent::LocalCandidate(sdp));
        }
        if self.transport_policy == IceTransportPolicy::All {
            for &server in &self.stun_servers {
                if server.is_ipv4() == addr.is_ipv4() {
                    self.gather_queue.push_back((addr, server));
                }
            }
            let li = self.locals.len() - 1;
            for ri in 0..self.remotes.len() {
                self.try_pair(li, ri);
            }
        }
    }

    fn foundation(&mut self, kind: CandidateKind, base: IpAddr, server: Option<IpAddr>) -> String {
        let key = (kind, base, server);
        let n = match self.foundations.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                // Foundations are bounded by the candidates that use them; reuse the table
                // only while it is small.
                if self.foundations.len() >= 4 * MAX_LOCAL_CANDIDATES {
                    self.foundations.clear();
                }
                self.foundations.push(key);
                self.foundations.len() - 1
            }
        };
        (n + 1).to_string()
    }

    fn local_sdp(&self, c: &IceCandidate) -> Candidate {
        let ufrag = self.local.as_ref().map(|c| c.ufrag.as_str()).unwrap_or("");
        let mut sdp = c.to_sdp(ufrag, self.generation);
        sdp.component = self.component;
        sdp
    }

    fn check_gathering_complete(&mut self) {
        if self.gathering == Gathering::Running
            && !self.awaiting_interfaces
            && self.gather_queue.is_empty()
            && self.gathers.is_empty()
            && !self.relays_gathering()
        {
            self.gathering = Gathering::Done;
            self.push_event(IceEvent::GatheringComplete);
        }
    }

    fn start_gather(&mut self, now: Instant, base: SocketAddr, server: SocketAddr) {
        let tid = self.new_tid();
        let mut data = Vec::with_capacity(28);
        {
            let mut w = MessageWriter::new(&mut data, Class::Request, Method::BINDING, tid);
            let _ = w.fingerprint();
        }
        self.push_transmit(base, server, data.clone());
        let retrans = Retrans::new(
            now,
            self.config.stun_rto,
            self.config.stun_max_transmissions,
            self.config.stun_last_wait,
        );
        self.gathers.push(Gather {
            base,
            server,
            tid,
            retrans,
            data,
        });
    }

    fn on_gather_response(&mut self, gi: usize, msg: &Message<'_>) {
        let g = self.gathers.swap_remove(gi);
        match msg.class() {
            Class::SuccessResponse => {
                let mapped = match msg.xor_mapped_address() {
                    Ok(Some(a)) => Some(a),
                    _ => msg.mapped_address().ok().flatten(),
                };
                let Some(mapped) = mapped else {
                    self.push_event(IceEvent::CandidateError {
                        address: g.base,
                        server: g.server,
                        error_code: 701,
                        error_text: "STUN response without a mapped address".into(),
                    });
                    return;
                };
                self.add_srflx(g.base, g.server, mapped);
            }
            _ => {
                let (code, text) = match msg.error_code() {
                    Ok(Some(e)) => (e.code, e.reason.to_string()),
                    _ => (701, "STUN error response without ERROR-CODE".to_string()),
                };
                self.push_event(IceEvent::CandidateError {
                    address: g.base,
                    server: g.server,
                    error_code: code,
                    error_text: text,
                });
            }
        }
    }

    fn add_srflx(&mut self, base: SocketAddr, server: SocketAddr, mapped: SocketAddr) {
        // Redundant when it equals its base or an existing candidate (RFC 8445 §5.1.3).
        if mapped == base || self.locals.iter().any(|l| l.cand.addr == mapped) {
            return;
        }
        if self.locals.len() >= MAX_LOCAL_CANDIDATES {
            return;
        }
        let Some(index) = self.interfaces.iter().position(|a| *a == base) else {
            return;
        };
        let pref = local_preference(base.ip(), index);
        let foundation =
            self.foundation(CandidateKind::ServerReflexive, base.ip(), Some(server.ip()));
        let cand = IceCandidate {
            kind: CandidateKind::ServerReflexive,
            addr: mapped,
            base,
            priority: candidate_priority(CandidateKind::ServerReflexive, pref, self.component),
            foundation,
            related: Some(base),
            tcp_type: None,
        };
        self.locals.push(LocalCand { cand: cand.clone() });
        let sdp = self.local_sdp(&cand);
        self.push_event(IceEvent::LocalCandidate(sdp));
    }

    // ------------------------------------------------------------------ remote candidates

    /// Adds a remote candidate (`addIceCandidate`, RFC 8838 §4). Candidates that this agent
    /// cannot use (component ≠ 1, TCP, unknown type, non-mDNS host names) are ignored; a
    /// `.local` name produces [`IceEvent::ResolveMdns`]. Errors: closed agent, a `ufrag` that
    /// does not match the remote credentials, or the candidate limit reached.
    pub fn add_remote_candidate(&mut self, c: Candidate) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if let (Some(u), Some(r)) = (candidate::extension(&c, "ufrag"), &self.remote)
            && u != r.ufrag
        {
            return Err(Error::operation(
                "the candidate's ufrag matches no remote description",
            ));
        }
        let (kind, addr, tcp) = match candidate::remote_from_sdp_for(&c, self.component) {
            Ok(v) => v,
            Err(RemoteCandidateIssue::Hostname(name)) => {
                if !name.to_ascii_lowercase().ends_with(".local") {
                    return Ok(());
                }
                if self.pending_mdns.len() >= MAX_PENDING_MDNS {
                    return Err(Error::operation("too many unresolved mDNS candidates"));
                }
                let first = !self.pending_mdns.iter().any(|p| p.address == name);
                self.pending_mdns.push(c);
                if first {
                    self.push_event(IceEvent::ResolveMdns { name });
                }
                return Ok(());
            }
            Err(issue) => {
                tracing::debug!("remote candidate {c} not used: {issue:?}");
                return Ok(());
            }
        };
        if self.remote.is_none() {
            if self.early.len() >= self.config.max_remote_candidates {
                return Err(Error::operation("too many remote candidates"));
            }
            self.early.push(c);
            return Ok(());
        }
        self.add_remote(kind, addr, tcp, c.priority, c.foundation.clone())
            .map(|_| ())
    }

    /// The remote signalled end-of-candidates (RFC 8838 §8.2): the controlling agent may
    /// nominate without waiting and report "completed". Failure does not wait for it: with
    /// nothing left to check the agent fails when the PAC timer runs out (RFC 8863 §4).
    pub fn end_of_remote_candidates(&mut self) {
        self.remote_end_of_candidates = true;
        self.refresh_state();
    }

    /// Completes the remote candidates carrying mDNS `name` with its resolved address.
    pub fn resolved_mdns(&mut self, name: &str, ip: IpAddr) {
        let mut matched = Vec::new();
        self.pending_mdns.retain(|c| {
            if c.address.eq_ignore_ascii_case(name) {
                matched.push(c.clone());
                false
            } else {
                true
            }
        });
        for mut c in matched {
            c.address = ip.to_string();
            let _ = self.add_remote_candidate(c);
        }
    }

    /// Drops the remote candidates carrying mDNS `name`: the name did not resolve (or mDNS
    /// is off), so they can never be paired (draft-ietf-mmusic-mdns-ice-candidates §3.2.2).
    /// Without them pending, the checklist may complete or fail (RFC 8445 §8.1.2).
    pub fn unresolved_mdns(&mut self, name: &str) {
        let before = self.pending_mdns.len();
        self.pending_mdns
            .retain(|c| !c.address.eq_ignore_ascii_case(name));
        if self.pending_mdns.len() != before {
            self.refresh_state();
        }
    }

    fn add_remote(
        &mut self,
        kind: CandidateKind,
        addr: SocketAddr,
        tcp: Option<TcpType>,
        priority: u32,
        foundation: String,
    ) -> Result<usize> {
        if let Some(ri) = self
            .remotes
            .iter()
            .position(|r| r.addr == addr && r.tcp_type == tcp)
        {
            // A signalled candidate replaces a learnt prflx one (RFC 8445 §7.3.1.3).
            let r = &mut self.remotes[ri];
            if r.kind == CandidateKind::PeerReflexive && kind != CandidateKind::PeerReflexive {
                r.kind = kind;
                r.priority = priority;
                r.foundation = foundation;
                self.recompute_priorities();
                // Signalled now: pair it with every local candidate, as any signalled one.
                for li in 0..self.locals.len() {
                    self.try_pair(li, ri);
                }
            }
            return Ok(ri);
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return Err(Error::operation("too many remote candidates"));
        }
        self.remotes.push(IceCandidate {
            kind,
            addr,
            base: addr,
            priority,
            foundation,
            related: None,
            tcp_type: tcp,
        });
        let ri = self.remotes.len() - 1;
        // A learnt peer-reflexive candidate is not paired here: its one pair is formed by the
        // triggered check on the path its request arrived on (RFC 8445 §7.3.1.3).
        if kind != CandidateKind::PeerReflexive {
            for li in 0..self.locals.len() {
                self.try_pair(li, ri);
            }
        }
        Ok(ri)
    }

    /// Whether one more peer-reflexive remote candidate may be learnt (RFC 8445 §7.3.1.3):
    /// [`IceAgentConfig::max_peer_reflexive_candidates`] learnt ones at most, and room among
    /// all remote candidates.
    fn can_learn_prflx(&self) -> bool {
        let learnt = self
            .remotes
            .iter()
            .filter(|r| r.kind == CandidateKind::PeerReflexive)
            .count();
        learnt < self.config.max_peer_reflexive_candidates
            && self.remotes.len() < self.config.max_remote_candidates
    }

    /// Forms the pair (local base li, remote ri) unless redundant or filtered (RFC 8445
    /// §6.1.2.2, §6.1.2.4, §6.1.2.5). Returns the pair index.
    fn try_pair(&mut self, li: usize, ri: usize) -> Option<usize> {
        let local = &self.locals[li].cand;
        let remote = &self.remotes[ri];
        // Srflx and prflx locals are replaced by their base, which is a host: only pair bases.
        let base_kind = matches!(local.kind, CandidateKind::Host | CandidateKind::Relay);
        if !base_kind || local.addr.is_ipv4() != remote.addr.is_ipv4() {
            return None;
        }
        if self.transport_policy == IceTransportPolicy::Relay
            && local.kind != CandidateKind::Relay
        {
            return None;
        }
        // UDP with UDP; TCP active with passive and S-O with S-O (RFC 6544 §6.2). A passive
        // local candidate checks nothing until the peer connects: its only pairs are with
        // the peer-reflexive candidates learnt from checks on accepted connections (RFC 6544
        // §6.2 removes the others from the checklist).
        match (local.tcp_type, remote.tcp_type) {
            (None, None) => {}
            (Some(TcpType::Passive), Some(_)) if remote.kind != CandidateKind::PeerReflexive => {
                return None;
            }
            (Some(l), Some(r)) if l.pairs_with(r) => {}
            _ => return None,
        }
        if let Some(pi) = self
            .pairs
            .iter()
            .position(|p| self.locals[p.local].cand.base == local.base && p.remote == ri)
        {
            return Some(pi);
        }
        let priority = self.compute_priority(li, ri);
        let foundation_busy = self.pairs.iter().any(|p| {
            matches!(
                p.state,
                CandidatePairState::Waiting | CandidatePairState::InProgress
            ) && self.same_foundation(p, li, ri)
        });
        let pair = Pair {
            local: li,
            remote: ri,
            priority,
            state: if foundation_busy {
                CandidatePairState::Frozen
            } else {
                CandidatePairState::Waiting
            },
            nominated: false,
            nominate_on_success: false,
            nominate: false,
            tx: None,
            cancelled: None,
            rtt: None,
            counters: PairCounters::default(),
        };
        if self.pairs.len() < self.config.max_pairs {
            self.pairs.push(pair);
            return Some(self.pairs.len() - 1);
        }
        // Full: replace the lowest-priority pair not yet checked if the new one is better
        // (RFC 8445 §6.1.2.5).
        let victim = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                matches!(
                    p.state,
                    CandidatePairState::Frozen | CandidatePairState::Waiting
                )
            })
            .min_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority));
        match victim {
            Some((vi, vp)) if vp < priority => {
                self.triggered.retain(|&t| t != vi);
                self.pairs[vi] = pair;
                Some(vi)
            }
            _ => None,
        }
    }

    fn same_foundation(&self, p: &Pair, li: usize, ri: usize) -> bool {
        self.locals[p.local].cand.foundation == self.locals[li].cand.foundation
            && self.remotes[p.remote].foundation == self.remotes[ri].foundation
    }

    fn compute_priority(&self, li: usize, ri: usize) -> u64 {
        let l = self.locals[li].cand.priority;
        let r = self.remotes[ri].priority;
        if self.controlling {
            pair_priority(l, r)
        } else {
            pair_priority(r, l)
        }
    }

    fn recompute_priorities(&mut self) {
        for i in 0..self.pairs.len() {
            let (li, ri) = (self.pairs[i].local, self.pairs[i].remote);
            self.pairs[i].priority = self.compute_priority(li, ri);
        }
        // The selected pair is compared with newly nominated ones by priority: keep it in step
        // (a learnt prflx remote that the peer signals later usually ranks higher now).
        let current = self
            .selected
            .as_ref()
            .filter(|s| s.generation == self.generation)
            .and_then(|s| self.pair_by_addrs(s.local.base, s.remote.addr));
        if let (Some(pi), Some(s)) = (current, self.selected.as_mut()) {
            s.priority = self.pairs[pi].priority;
        }
    }

    fn clear_remote_side(&mut self) {
        self.remotes.clear();
        self.pairs.clear();
        self.triggered.clear();
        self.early.clear();
        self.pending_mdns.clear();
        self.remote_end_of_candidates = false;
        self.checks_started = false;
        self.first_valid_at = None;
        self.started_at = None;
    }

    // ------------------------------------------------------------------ restart / close

    /// ICE restart with new local credentials (RFC 8445 §9): a new generation gathers again
    /// on the same sockets (host candidates are re-reported, srflx re-gathered), remote
    /// candidates wait for the peer's new credentials, and the selected pair keeps working
    /// until a new one is selected.
    pub fn restart(&mut self, ufrag: &str, pwd: &str) {
        if self.closed {
            return;
        }
        self.start_generation(ufrag, pwd);
        let interfaces = self.interfaces.clone();
        for (i, addr) in interfaces.into_iter().enumerate() {
            self.gathering = Gathering::Running;
            self.add_host(addr, i);
        }
        self.readd_tcp_hosts();
        self.readd_relay_candidates();
    }

    /// ICE restart onto fresh sockets, as browsers do: the new generation's host candidates
    /// are the sockets reported by [`IceAgent::add_local_interface`] from now on, until
    /// [`IceAgent::interfaces_complete`]. The old sockets keep only the selected pair (and its
    /// consent) until a new pair is selected. A peer such as libwebrtc ties one ufrag to each
    /// 5-tuple, so a new generation on the old address would never be checked.
    pub fn restart_on_new_interfaces(&mut self, ufrag: &str, pwd: &str) {
        if self.closed {
            return;
        }
        self.start_generation(ufrag, pwd);
        self.interfaces.clear();
        self.gathering = Gathering::Running;
        self.awaiting_interfaces = true;
        // The TCP listeners are kept across restarts (a new connection is a new 5-tuple).
        self.readd_tcp_hosts();
        self.readd_relay_candidates();
    }

    /// Gathering waits for sockets still being bound (reported with
    /// [`IceAgent::add_local_interface`]) until [`IceAgent::interfaces_complete`]: a
    /// further transport of an unbundled session that gets sockets of its own.
    pub fn await_interfaces(&mut self) {
        self.awaiting_interfaces = true;
    }

    /// The new sockets of a [`IceAgent::restart_on_new_interfaces`] were all reported:
    /// gathering may complete.
    pub fn interfaces_complete(&mut self) {
        self.awaiting_interfaces = false;
    }

    /// Whether `addr` is a socket this agent still uses: a host base of the current
    /// generation, or the local end of the selected pair (of any generation). The driver
    /// closes sockets for which this turns false.
    pub fn uses_local_address(&self, addr: SocketAddr) -> bool {
        self.interfaces.contains(&addr)
            || self
                .selected
                .as_ref()
                .is_some_and(|s| !s.expired && s.local.base == addr)
            || self.relay_uses_socket(addr)
    }

    fn readd_tcp_hosts(&mut self) {
        let listeners = self.tcp_interfaces.clone();
        for (i, addr) in listeners.into_iter().enumerate() {
            self.gathering = Gathering::Running;
            self.add_tcp_hosts(addr, i);
        }
    }

    fn start_generation(&mut self, ufrag: &str, pwd: &str) {
        self.generation = self.generation.wrapping_add(1);
        self.local = Some(Creds {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        });
        self.clear_remote_side();
        self.remote = None;
        self.locals.clear();
        self.gathers.clear();
        self.gather_queue.clear();
        self.gathering = Gathering::Idle;
        self.awaiting_interfaces = false;
    }

    /// Closes the agent: the state becomes "closed" synchronously and without a
    /// `StateChange` event (webrtc-pc §4.4.1.5 fires no statechange on close); queued
    /// datagrams and events are dropped, nothing is sent any more, later packets are ignored.
    /// The gathering state stays as it was (WPT-211).
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.state = IceConnectionState::Closed;
        self.events.clear();
        self.transmits.clear();
        self.pairs.clear();
        self.triggered.clear();
        self.gathers.clear();
        self.gather_queue.clear();
        self.selected = None;
        // The allocations are released (Refresh LIFETIME 0): the only datagrams left.
        if let Some(now) = self.last_now {
            self.close_relays(now);
        }
    }

    // ------------------------------------------------------------------ driver interface

    /// Next datagram to send. Also runs the pacer and the nomination decision, so a check made
    /// due by a call without a time (e.g. [`IceAgent::add_remote_candidate`],
    /// [`IceAgent::end_of_remote_candidates`]) leaves at once.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.last_now = Some(now);
        if self.relays_pending() && !self.closed {
            self.relay_timers(now);
        }
        if self.transmits.is_empty() && !self.closed {
            if self.controlling {
                self.maybe_nominate(now);
            }
            self.pace(now);
        }
        self.transmits.pop_front()
    }

    /// Next event for the driver / W3C layer.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        if !self.closed {
            self.check_gathering_complete();
        }
        self.events.pop_front()
    }

    /// When [`IceAgent::handle_timeout`] must be called next (may be in the past: call it at
    /// once); `None` when nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(t, _)| t)
    }

    /// The agent's earliest timer and its name (for tracing why the connection wakes); on a
    /// tie the first term below wins. `None` when nothing is scheduled.
    pub fn next_timer(&self) -> Option<(Instant, IceTimer)> {
        if self.closed {
            return None;
        }
        let mut t: Option<(Instant, IceTimer)> = None;
        let mut at = |x: Instant, name: IceTimer| {
            if t.is_none_or(|(y, _)| x < y) {
                t = Some((x, name));
            }
        };
        if self.has_triggered_work() {
            if let Some(n) = self.last_now {
                at(n, IceTimer::Triggered);
            }
        }
        if self.has_pacing_work() {
            match (self.next_pace, self.last_now) {
                (Some(p), _) => at(p, IceTimer::Pacer),
                (None, Some(n)) => at(n, IceTimer::Pacer),
                (None, None) => {}
            }
        }
        for g in &self.gathers {
            at(g.retrans.next, IceTimer::GatherRetransmit);
        }
        if let Some(t) = self.relay_timeout() {
            at(t, IceTimer::Turn);
        }
        if self.relays_pending()
            && let Some(n) = self.last_now
        {
            at(n, IceTimer::Turn);
        }
        if let Some(t) = self.nomination_deadline() {
            at(t, IceTimer::Nomination);
        }
        // Start the PAC timer at the first timed call once both credentials are known, then
        // wake when it runs out with nothing left to check (RFC 8863 §4).
        if self.can_check() && self.started_at.is_none() {
            if let Some(n) = self.last_now {
                at(n, IceTimer::PacStart);
            }
        }
        if self.state != IceConnectionState::Failed
            && let Some(t) = self.pac_deadline()
            && self.nothing_to_check()
        {
            at(t, IceTimer::Pac);
        }
        for p in &self.pairs {
            if let Some(tx) = &p.tx {
                at(tx.retrans.next, IceTimer::CheckRetransmit);
            }
        }
        if let Some(s) = &self.selected
            && !s.expired
        {
            at(s.next_consent, IceTimer::Consent);
            for c in &s.consent {
                at(c.retrans.next, IceTimer::ConsentRetransmit);
            }
            at(
                s.last_consent + self.config.consent_timeout,
                IceTimer::ConsentExpiry,
            );
            if let Some(f) = s.first_unanswered {
                let d = f + self.config.disconnected_timeout;
                if self.state != IceConnectionState::Disconnected {
                    at(d, IceTimer::Disconnected);
                }
            }
        }
        t
    }

    /// Runs timers due at `now`: retransmissions, transaction failures, pacing, consent.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        if self.closed {
            return;
        }
        self.start_pac_timer(now);
        // TURN allocations (RFC 8656), `ice/relay.rs`.
        self.relay_timers(now);
        // STUN server transactions (RFC 8489 §6.2.1).
        let mut i = 0;
        while i < self.gathers.len() {
            if self.gathers[i].retrans.next <= now {
                if self.gathers[i].retrans.expire(now) {
                    let g = &self.gathers[i];
                    let (b, s, d) = (g.base, g.server, g.data.clone());
                    self.push_transmit(b, s, d);
                } else {
                    let g = self.gathers.swap_remove(i);
                    self.push_event(IceEvent::CandidateError {
                        address: g.base,
                        server: g.server,
                        error_code: 701,
                        error_text: "STUN binding request timed out".into(),
                    });
                    continue;
                }
            }
            i += 1;
        }
        // Connectivity checks (RFC 8445 §14.3).
        for pi in 0..self.pairs.len() {
            let due = matches!(&self.pairs[pi].tx, Some(tx) if tx.retrans.next <= now);
            if !due {
                continue;
            }
            let local = self.locals[self.pairs[pi].local].cand.base;
            let remote = self.remotes[self.pairs[pi].remote].addr;
            let resend = match self.pairs[pi].tx.as_mut() {
                Some(tx) => tx.retrans.expire(now).then(|| tx.data.clone()),
                None => None,
            };
            match resend {
                // Over TCP the first transmission is the only one (RFC 8489 §6.2.2); the
                // schedule still bounds the transaction (39.5 s).
                Some(_) if self.tcp_base_type(local).is_some() => {}
                Some(d) => self.push_transmit(local, remote, d),
                None => {
                    let p = &mut self.pairs[pi];
                    p.tx = None;
                    p.cancelled = None;
                    p.nominate = false;
                    p.state = CandidatePairState::Failed;
                }
            }
        }
        self.consent_timers(now);
        self.pace(now);
        if self.controlling {
            self.maybe_nominate(now);
            self.pace(now);
        }
        self.refresh_state();
    }

    /// A datagram for another protocol (DTLS, RTP, ...) arrived at `now`: the agent's clock
    /// advances as for any input; nothing else happens.
    pub(crate) fn note_time(&mut self, now: Instant) {
        self.last_now = Some(now);
    }

    /// The driver could not open (or lost) the TCP connection from active base `local` to
    /// `remote`: the pair's check fails now instead of at the end of its 39.5 s transaction
    /// (RFC 6544 §7.1). Unknown paths are ignored.
    pub fn tcp_connection_failed(&mut self, local: SocketAddr, remote: SocketAddr) {
        if self.closed || self.tcp_base_type(local).is_none() {
            return;
        }
        let Some(pi) = self.pair_by_addrs(local, remote) else {
            return;
        };
        let p = &mut self.pairs[pi];
        if matches!(
            p.state,
            CandidatePairState::Waiting | CandidatePairState::InProgress
        ) {
            p.tx = None;
            p.cancelled = None;
            p.nominate = false;
            p.state = CandidatePairState::Failed;
            self.triggered.retain(|&t| t != pi);
            self.refresh_state();
        }
    }

    /// Feeds a received datagram. Returns `false` when it is not STUN (route it to DTLS/SRTP,
    /// RFC 7983); STUN is consumed (answered, or counted and dropped when malformed, hostile
    /// or unexpected).
    pub fn handle_packet(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> bool {
        self.last_now = Some(now);
        if !is_stun(data) {
            return false;
        }
        if self.closed {
            return true;
        }
        self.start_pac_timer(now);
        let Ok(msg) = Message::parse(data) else {
            self.dropped += 1;
            return true;
        };
        if msg.method() != Method::BINDING || (msg.has_fingerprint() && !msg.verify_fingerprint()) {
            self.dropped += 1;
            return true;
        }
        match msg.class() {
            Class::Request => self.handle_request(now, local, remote, &msg),
            Class::SuccessResponse | Class::ErrorResponse => {
                self.handle_response(now, local, remote, &msg)
            }
            // Binding indications are keepalives (RFC 8445 §11): nothing to do.
            Class::Indication => {}
        }
        self.pace(now);
        if self.controlling {
            self.maybe_nominate(now);
            self.pace(now);
        }
        self.refresh_state();
        true
    }

    // ------------------------------------------------------------------ pacing and checks

    /// Triggered checks (and nominations) waiting to be sent: they leave without waiting for
    /// Ta (see [`IceAgent::pace`]).
    fn has_triggered_work(&self) -> bool {
        !self.closed && self.can_check() && !self.triggered.is_empty()
    }

    /// Transactions that wait for the Ta pacer: STUN server requests and ordinary checks.
    fn has_pacing_work(&self) -> bool {
        if self.closed {
            return false;
        }
        if !self.gather_queue.is_empty() {
            return true;
        }
        if !self.can_check() {
            return false;
        }
        self.pairs
            .iter()
            .any(|p| p.state == CandidatePairState::Waiting)
            || self.unfreezable().is_some()
    }

    /// The best Frozen pair whose foundation has no Waiting/In-Progress pair
    /// (RFC 8445 §6.1.4.2). Runs on every pacing decision (so on every datagram and timer
    /// round), hence O(P log P) in the pairs, never O(P²): the busy foundations are sorted
    /// once, then each Frozen pair is a binary search.
    fn unfreezable(&self) -> Option<usize> {
        if !self
            .pairs
            .iter()
            .any(|p| p.state == CandidatePairState::Frozen)
        {
            return None;
        }
        let mut busy: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|q| {
                matches!(
                    q.state,
                    CandidatePairState::Waiting | CandidatePairState::InProgress
                )
            })
            .map(|q| self.pair_foundation(q.local, q.remote))
            .collect();
        busy.sort_unstable();
        busy.dedup();
        self.pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == CandidatePairState::Frozen)
            .filter(|(_, p)| {
                busy.binary_search(&self.pair_foundation(p.local, p.remote))
                    .is_err()
            })
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
    }

    /// The pair foundation: local and remote candidate foundations (RFC 8445 §6.1.2.6).
    fn pair_foundation(&self, li: usize, ri: usize) -> (&str, &str) {
        (
            self.locals[li].cand.foundation.as_str(),
            self.remotes[ri].foundation.as_str(),
        )
    }

    fn can_check(&self) -> bool {
        self.local.is_some() && self.remote.is_some()
    }

    /// Sends every queued triggered check at once, then starts at most one new ordinary
    /// transaction (STUN server request or ordinary check) per Ta (RFC 8445 §6.1.4.2, §14.2).
    ///
    /// Triggered checks are not held back by Ta. Pacing exists so that an agent does not
    /// open NAT bindings faster than middleboxes create them (RFC 8445 §14, RFC 5245
    /// Appendix B.1); a triggered check goes back over the 5-tuple on which the peer's request
    /// just arrived and was answered, and a nomination goes over a pair whose check already
    /// succeeded, so neither opens a binding. Their number is bounded by the peer's own
    /// (paced) requests: a pair is queued at most once, and only when not already being
    /// checked by a triggered check.
    fn pace(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.send_triggered(now);
        if self.next_pace.is_some_and(|t| t > now) {
            return;
        }
        if self.start_one(now) {
            self.next_pace = Some(now + self.config.ta);
        }
    }

    /// The triggered-check queue, in order (RFC 8445 §6.1.4.2).
    fn send_triggered(&mut self, now: Instant) {
        if !self.can_check() {
            return;
        }
        while let Some(pi) = self.triggered.pop_front() {
            if pi < self.pairs.len() && self.pairs[pi].state != CandidatePairState::Failed {
                self.send_check(now, pi, true);
            }
        }
    }

    fn start_one(&mut self, now: Instant) -> bool {
        // The first check of a checklist goes before pending STUN server requests, so that a
        // pair formed while srflx gathering runs is checked at once rather than a Ta later.
        let first_check = self.can_check()
            && !self.checks_started
            && self
                .pairs
                .iter()
                .any(|p| p.state == CandidatePairState::Waiting);
        if !first_check && let Some((base, server)) = self.gather_queue.pop_front() {
            self.start_gather(now, base, server);
            return true;
        }
        if !self.can_check() {
            return false;
        }
        // Highest-priority Waiting pair.
        let waiting = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == CandidatePairState::Waiting)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        if let Some(pi) = waiting {
            self.send_check(now, pi, false);
            return true;
        }
        // No Waiting pair: unfreeze the best Frozen pair whose foundation is idle
        // (RFC 8445 §6.1.4.2).
        if let Some(pi) = self.unfreezable() {
            self.send_check(now, pi, false);
            return true;
        }
        false
    }

    fn check_rto(&self) -> Duration {
        let active = self
            .pairs
            .iter()
            .filter(|p| {
                matches!(
                    p.state,
                    CandidatePairState::Waiting | CandidatePairState::InProgress
                )
            })
            .count();
        let n = u32::try_from(active).unwrap_or(u32::MAX);
        self.config
            .check_rto_min
            .max(self.config.ta.saturating_mul(n))
    }

    fn send_check(&mut self, now: Instant, pi: usize, triggered: bool) {
        let (Some(lc), Some(rc)) = (self.local.clone(), self.remote.clone()) else {
            return;
        };
        let rto = self.check_rto();
        let local = self.locals[self.pairs[pi].local].cand.clone();
        let remote = self.remotes[self.pairs[pi].remote].addr;
        let use_candidate = self.controlling && self.pairs[pi].nominate;
        let local_pref = ((local.priority >> 8) & 0xffff) as u16;
        let priority = match local.tcp_type {
            // Same local preference, the peer-reflexive TCP type preference (RFC 6544 §4.2).
            Some(_) => {
                (candidate::tcp_type_preference(CandidateKind::PeerReflexive) << 24)
                    + (u32::from(local_pref) << 8)
                    + (256 - u32::from(self.component))
            }
            None => candidate_priority(CandidateKind::PeerReflexive, local_pref, self.component),
        };
        let tid = self.new_tid();
        let mut data = Vec::with_capacity(128);
        {
            let mut w = MessageWriter::new(&mut data, Class::Request, Method::BINDING, tid);
            let username = format!("{}:{}", rc.ufrag, lc.ufrag);
            let _ = w.username(&username);
            let _ = w.priority(priority);
            if self.controlling {
                let _ = w.ice_controlling(self.tie_breaker);
            } else {
                let _ = w.ice_controlled(self.tie_breaker);
            }
            if use_candidate {
                let _ = w.use_candidate();
            }
            let _ = w.message_integrity(rc.pwd.as_bytes());
            let _ = w.fingerprint();
        }
        self.push_transmit(local.base, remote, data.clone());
        let retrans = Retrans::new(
            now,
            rto,
            self.config.check_max_transmissions,
            self.config.stun_last_wait,
        );
        let controlling = self.controlling;
        let p = &mut self.pairs[pi];
        p.counters.requests_sent += 1;
        // A nomination check on a valid pair keeps it valid (RFC 8445 §8.1.1).
        if p.state != CandidatePairState::Succeeded {
            p.state = CandidatePairState::InProgress;
        }
        p.tx = Some(CheckTx {
            tid,
            retrans,
            data,
            controlling,
            use_candidate,
            priority,
            triggered,
        });
        self.checks_started = true;
    }

    /// Controlling agent, regular nomination (RFC 8445 §8.1.1): nominate the best valid pair
    /// when it beats the selected one; a later better pair is nominated again.
    fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || !self.can_check() {
            return;
        }
        if self.pairs.iter().any(|p| p.nominate && p.tx.is_some()) {
            return; // one nomination in flight at a time
        }
        let selected_here = self
            .selected
            .as_ref()
            .is_some_and(|s| s.generation == self.generation && !s.expired);
        if selected_here && !self.config.renomination {
            return; // RFC 8445 §8.1.1: one nomination per component
        }
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == CandidatePairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority));
        let Some((bi, bp)) = best else {
            return;
        };
        let p = &self.pairs[bi];
        if p.nominated || p.nominate {
            return;
        }
        if !selected_here && !self.nomination_due(now, bi) {
            return;
        }
        let beats = match &self.selected {
            None => true,
            Some(s) => s.generation != self.generation || s.expired || bp > s.priority,
        };
        if beats {
            self.pairs[bi].nominate = true;
            self.triggered.push_back(bi);
        }
    }

    /// Whether the best valid pair `bi` may be nominated now (the stopping criterion of
    /// RFC 8445 §8.1.1, which the RFC leaves to the implementation):
    /// - at once when no better pair is still being checked and no better one can still
    ///   appear: either the checklist is final (the peer signalled end-of-candidates, no mDNS
    ///   name is unresolved and our gathering is done) or the pair's remote candidate is a host
    ///   or peer-reflexive one, i.e. a direct path to the peer's own address (a
    ///   server-reflexive or relayed remote may still be beaten by a host candidate that
    ///   trickles in later);
    /// - otherwise once [`IceAgentConfig::nomination_timeout`] has passed since the first pair
    ///   became valid, whatever is still pending.
    fn nomination_due(&self, now: Instant, bi: usize) -> bool {
        let best = self.pairs[bi].priority;
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best
                && matches!(
                    p.state,
                    CandidatePairState::Frozen
                        | CandidatePairState::Waiting
                        | CandidatePairState::InProgress
                )
        });
        let checklist_final = self.remote_end_of_candidates
            && self.pending_mdns.is_empty()
            && self.gathering != Gathering::Running;
        let direct = matches!(
            self.remotes[self.pairs[bi].remote].kind,
            CandidateKind::Host | CandidateKind::PeerReflexive
        );
        (!better_pending && (checklist_final || direct))
            || self
                .first_valid_at
                .is_some_and(|t| now >= t + self.config.nomination_timeout)
    }

    // ------------------------------------------------------------------ incoming requests

    /// Answers `msg` with an error response (RFC 8489 §6.3.1.1, §9.1.3), integrity-protected
    /// with `key` once the request was authenticated. Never an amplifier: the response to a
    /// request that did not pass the integrity check carries no reason phrase (RFC 8489 §14.8
    /// makes it diagnostic only), and no error response larger than its request is sent at
    /// all (it is dropped as a silent discard would be, RFC 8489 §6.3), so a spoofed source
    /// gets at most as many bytes as the attacker sent. A genuine ICE check (USERNAME,
    /// PRIORITY, ICE-CONTROLLING/-CONTROLLED, MESSAGE-INTEGRITY, FINGERPRINT: ≥ 80 bytes)
    /// always gets its 400/401 (36 bytes) or 487 (72 bytes).
    fn respond_error(
        &mut self,
        (local, remote): (SocketAddr, SocketAddr),
        msg: &Message<'_>,
        code: u16,
        reason: &str,
        key: Option<&[u8]>,
        unknown: &[u16],
    ) {
        let reason = if key.is_some() { reason } else { "" };
        let mut data = Vec::with_capacity(96);
        {
            let mut w = MessageWriter::new(
                &mut data,
                Class::ErrorResponse,
                Method::BINDING,
                msg.transaction_id(),
            );
            let _ = w.error_code(code, reason);
            if !unknown.is_empty() {
                let _ = w.unknown_attributes(unknown.iter().copied());
            }
            if let Some(k) = key {
                let _ = w.message_integrity(k);
            }
            let _ = w.fingerprint();
        }
        if data.len() > msg.as_bytes().len() {
            self.suppressed_replies += 1;
            return;
        }
        self.push_transmit(local, remote, data);
    }

    fn handle_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) {
        // ICE requests carry FINGERPRINT (RFC 8445 §7.2.2); without it this is not ICE.
        if !msg.has_fingerprint() {
            self.dropped += 1;
            return;
        }
        // Only answer on sockets we use: under relay policy host sockets stay silent. A socket
        // of an older generation still answers consent on the selected pair (checked below).
        let li = self.locals.iter().position(|l| {
            matches!(l.cand.kind, CandidateKind::Host | CandidateKind::Relay)
                && l.cand.base == local
        });
        let selected_base = self
            .selected
            .as_ref()
            .is_some_and(|s| s.local.base == local);
        if li.is_none() && !selected_base {
            self.dropped += 1;
            return;
        }
        // Relay policy: only relayed addresses answer (webrtc-pc §4.2.2).
        let kind = match li {
            Some(i) => self.locals[i].cand.kind,
            None => self
                .selected
                .as_ref()
                .map_or(CandidateKind::Host, |s| s.local.kind),
        };
        if !self.policy_allows(kind) {
            self.dropped += 1;
            return;
        }
        let username = match msg.username() {
            Ok(Some(u)) => u,
            _ => {
                self.dropped += 1;
                self.respond_error((local, remote), msg, 400, "Bad Request", None, &[]);
                return;
            }
        };
        if !msg.has_message_integrity() {
            self.dropped += 1;
            self.respond_error((local, remote), msg, 400, "Bad Request", None, &[]);
            return;
        }
        // USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 §7.2.2).
        let Some((ours, _theirs)) = username.split_once(':') else {
            self.dropped += 1;
            self.respond_error((local, remote), msg, 400, "Bad Request", None, &[]);
            return;
        };
        // Current generation, or the selected pair's older one (consent across a restart),
        // on that pair's own path only: the old generation forms no new pairs, and answering
        // its credentials from another path would let the peer validate a pair we do not
        // know (Chromium pairs its restart's new sockets with our old candidate and ufrag).
        let (pwd, current) = match (&self.local, &self.selected) {
            (Some(c), _) if c.ufrag == ours => (c.pwd.clone(), true),
            (_, Some(s))
                if s.local_creds.ufrag == ours
                    && s.local.base == local
                    && s.remote.addr == remote =>
            {
                (s.local_creds.pwd.clone(), false)
            }
            _ => {
                self.dropped += 1;
                self.respond_error((local, remote), msg, 401, "Unauthorized", None, &[]);
                return;
            }
        };
        if !msg.verify_message_integrity(pwd.as_bytes()) {
            self.dropped += 1;
            self.respond_error((local, remote), msg, 401, "Unauthorized", None, &[]);
            return;
        }
        let unknown: Vec<u16> = msg.unknown_comprehension_required().take(16).collect();
        if !unknown.is_empty() {
            self.respond_error(
                (local, remote),
                msg,
                420,
                "Unknown Attribute",
                Some(pwd.as_bytes()),
                &unknown,
            );
            return;
        }
        let (Ok(Some(priority)), Ok(use_candidate), Ok(peer_controlling), Ok(peer_controlled)) = (
            msg.priority(),
            msg.use_candidate(),
            msg.ice_controlling(),
            msg.ice_controlled(),
        ) else {
            self.respond_error(
                (local, remote),
                msg,
                400,
                "Bad Request",
                Some(pwd.as_bytes()),
                &[],
            );
            return;
        };
        if !current {
            // The previous generation's selected pair: answer consent, nothing else.
            self.respond_success(local, remote, msg, pwd.as_bytes());
            return;
        }
        // Current credentials on an old generation's socket: not a candidate of ours.
        let Some(li) = li else {
            self.dropped += 1;
            self.respond_error((local, remote), msg, 401, "Unauthorized", None, &[]);
            return;
        };
        // A new source address becomes a peer-reflexive remote candidate (RFC 8445
        // §7.3.1.3), at most `max_peer_reflexive_candidates` of them: beyond that the request
        // is dropped unanswered, so the peer's check fails on its side too instead of
        // validating a pair we do not keep.
        let local_tcp = self.tcp_base_type(local).is_some();
        let known = self
            .remotes
            .iter()
            .position(|r| r.addr == remote && r.tcp_type.is_some() == local_tcp);
        if known.is_none() && !self.can_learn_prflx() {
            self.dropped += 1;
            return;
        }
        // Role conflict (RFC 8445 §7.3.1.1).
        if self.controlling
            && let Some(theirs) = peer_controlling
        {
            if self.tie_breaker >= theirs {
                self.respond_error(
                    (local, remote),
                    msg,
                    487,
                    "Role Conflict",
                    Some(pwd.as_bytes()),
                    &[],
                );
                return;
            }
            self.set_role(false);
        } else if !self.controlling
            && let Some(theirs) = peer_controlled
        {
            if self.tie_breaker >= theirs {
                self.set_role(true);
            } else {
                self.respond_error(
                    (local, remote),
                    msg,
                    487,
                    "Role Conflict",
                    Some(pwd.as_bytes()),
                    &[],
                );
                return;
            }
        }
        // Peer-reflexive remote candidate from an unknown source (RFC 8445 §7.3.1.3): paired
        // only with the local candidate the request arrived on, through the triggered check.
        let ri = match known {
            Some(ri) => ri,
            None => {
                self.prflx_counter = self.prflx_counter.wrapping_add(1);
                let foundation = format!("prflx{}", self.prflx_counter);
                // Over TCP: the peer's side of the connection is the counterpart of ours
                // (an accepted connection comes from an active candidate, RFC 6544 §7.2).
                let tcp = self.locals[li].cand.tcp_type.map(|t| match t {
                    TcpType::Passive => TcpType::Active,
                    TcpType::Active => TcpType::Passive,
                    TcpType::SimultaneousOpen => TcpType::SimultaneousOpen,
                });
                match self.add_remote(
                    CandidateKind::PeerReflexive,
                    remote,
                    tcp,
                    priority,
                    foundation,
                ) {
                    Ok(ri) => ri,
                    Err(_) => {
                        self.dropped += 1;
                        return;
                    }
                }
            }
        };
        // No pair (the checklist is full of better pairs): no answer either, for the same
        // reason as above.
        let Some(pi) = self.try_pair(li, ri) else {
            self.dropped += 1;
            return;
        };
        self.respond_success(local, remote, msg, pwd.as_bytes());
        self.pairs[pi].counters.requests_received += 1;
        self.pairs[pi].counters.responses_sent += 1;
        // Triggered check (RFC 8445 §7.3.1.4).
        let p = &mut self.pairs[pi];
        match p.state {
            CandidatePairState::Succeeded => {}
            CandidatePairState::InProgress => {
                // Our ordinary check may have been lost (or sent before the peer could answer
                // it): the peer's request shows the path works now, so check again at once
                // instead of waiting for the retransmission timer. The cancelled check is
                // not retransmitted; its answer still counts. A triggered check in progress is
                // left alone, so repeated requests do not multiply checks.
                if p.tx.as_ref().is_some_and(|t| !t.triggered) {
                    p.cancelled = p.tx.take();
                    p.state = CandidatePairState::Waiting;
                    if !self.triggered.contains(&pi) {
                        self.triggered.push_back(pi);
                    }
                }
            }
            _ => {
                p.state = CandidatePairState::Waiting;
                if !self.triggered.contains(&pi) {
                    self.triggered.push_back(pi);
                }
            }
        }
        // Nomination by the controlling peer (RFC 8445 §7.3.1.5).
        if use_candidate && !self.controlling {
            if self.pairs[pi].state == CandidatePairState::Succeeded {
                self.pairs[pi].nominated = true;
                self.consider_select(now, pi);
            } else {
                self.pairs[pi].nominate_on_success = true;
            }
        }
    }

    fn respond_success(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
        key: &[u8],
    ) {
        let mut data = Vec::with_capacity(80);
        {
            let mut w = MessageWriter::new(
                &mut data,
                Class::SuccessResponse,
                Method::BINDING,
                msg.transaction_id(),
            );
            let _ = w.xor_mapped_address(remote);
            let _ = w.message_integrity(key);
            let _ = w.fingerprint();
        }
        self.push_transmit(local, remote, data);
    }

    // ------------------------------------------------------------------ responses

    fn handle_response(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id();
        if let Some(gi) = self.gathers.iter().position(|g| g.tid == tid) {
            if self.gathers[gi].server != remote || self.gathers[gi].base != local {
                self.dropped += 1;
                return;
            }
            self.on_gather_response(gi, msg);
            return;
        }
        if let Some(pi) = self.pairs.iter().position(|p| {
            p.tx.as_ref().is_some_and(|t| t.tid == tid)
                || p.cancelled.as_ref().is_some_and(|t| t.tid == tid)
        }) {
            self.on_check_response(now, pi, local, remote, msg);
            return;
        }
        if self
            .selected
            .as_ref()
            .is_some_and(|s| s.consent.iter().any(|c| c.tid == tid))
        {
            self.on_consent_response(now, local, remote, msg);
            return;
        }
        self.dropped += 1;
    }

    fn on_check_response(
        &mut self,
        now: Instant,
        pi: usize,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) {
        let Some(rc) = self.remote.clone() else {
            self.dropped += 1;
            return;
        };
        // Responses are authenticated with the peer's password (RFC 8445 §7.2.5.1); anything
        // else is dropped and the transaction keeps running.
        if !msg.has_fingerprint() || !msg.verify_message_integrity(rc.pwd.as_bytes()) {
            self.dropped += 1;
            return;
        }
        let tid = msg.transaction_id();
        let current = self.pairs[pi].tx.as_ref().is_some_and(|t| t.tid == tid);
        if !current && msg.class() == Class::ErrorResponse {
            // A cancelled check's error: the check that replaced it decides.
            self.pairs[pi].cancelled = None;
            return;
        }
        let tx = if current {
            self.pairs[pi].tx.take()
        } else {
            self.pairs[pi].cancelled.take()
        };
        let Some(tx) = tx else {
            return;
        };
        let superseded = self.pairs[pi].tx.as_ref().is_some_and(|t| !t.use_candidate);
        if !current && msg.class() == Class::SuccessResponse && superseded {
            // The cancelled check answered first: the pair is settled, so the check that
            // replaced it is not retransmitted any more (its answer still counts).
            self.pairs[pi].cancelled = self.pairs[pi].tx.take();
        }
        let base = self.locals[self.pairs[pi].local].cand.base;
        let dest = self.remotes[self.pairs[pi].remote].addr;
        if msg.class() == Class::SuccessResponse {
            self.pairs[pi].counters.responses_received += 1;
        }
        if msg.class() == Class::ErrorResponse {
            self.pairs[pi].cancelled = None;
            let code = msg.error_code().ok().flatten().map(|e| e.code);
            if code == Some(487) {
                // Role conflict (RFC 8445 §7.2.5.1): take the other role than we claimed.
                if self.controlling == tx.controlling {
                    self.set_role(!tx.controlling);
                }
                let p = &mut self.pairs[pi];
                p.state = CandidatePairState::Waiting;
                if !self.triggered.contains(&pi) {
                    self.triggered.push_back(pi);
                }
            } else {
                self.pairs[pi].state = CandidatePairState::Failed;
            }
            return;
        }
        // Non-symmetric addresses fail the check (RFC 8445 §7.2.5.2.1).
        if remote != dest || local != base {
            self.pairs[pi].state = CandidatePairState::Failed;
            return;
        }
        // Peer-reflexive local candidate from the mapped address (RFC 8445 §7.2.5.3.1).
        if let Ok(Some(mapped)) = msg.xor_mapped_address()
            && !self.locals.iter().any(|l| l.cand.addr == mapped)
            && self.locals.len() < MAX_LOCAL_CANDIDATES
        {
            let foundation = self.foundation(CandidateKind::PeerReflexive, base.ip(), None);
            self.locals.push(LocalCand {
                cand: IceCandidate {
                    kind: CandidateKind::PeerReflexive,
                    addr: mapped,
                    base,
                    priority: tx.priority,
                    foundation,
                    related: Some(base),
                    tcp_type: self.tcp_base_type(base),
                },
            });
        }
        // Success: the pair is valid; unfreeze its foundation (RFC 8445 §7.2.5.3.3).
        self.pairs[pi].state = CandidatePairState::Succeeded;
        self.first_valid_at.get_or_insert(now);
        if let Some(rtt) = tx.retrans.rtt_sample(now) {
            self.pairs[pi].rtt = Some(rtt);
            self.pairs[pi].counters.total_round_trip_time += rtt;
        }
        let (li, ri) = (self.pairs[pi].local, self.pairs[pi].remote);
        for qi in 0..self.pairs.len() {
            if self.pairs[qi].state == CandidatePairState::Frozen
                && self.same_foundation(&self.pairs[qi], li, ri)
            {
                self.pairs[qi].state = CandidatePairState::Waiting;
            }
        }
        let nominated = (tx.use_candidate && tx.controlling && self.controlling)
            || (!self.controlling && self.pairs[pi].nominate_on_success);
        if nominated {
            self.pairs[pi].nominated = true;
            self.pairs[pi].nominate = false;
            self.consider_select(now, pi);
        } else if tx.use_candidate {
            // The role changed while nominating: nominate again later if still controlling.
            self.pairs[pi].nominate = false;
        }
    }

    /// Selects nominated pair `pi` if there is no selected pair of this generation or it has a
    /// higher priority (RFC 8445 §8.1.1).
    fn consider_select(&mut self, now: Instant, pi: usize) {
        let (Some(lc), Some(rc)) = (self.local.clone(), self.remote.clone()) else {
            return;
        };
        let p = &self.pairs[pi];
        let better = match &self.selected {
            None => true,
            Some(s) => s.generation != self.generation || s.expired || p.priority > s.priority,
        };
        if !better {
            return;
        }
        let local = self.locals[p.local].cand.clone();
        let remote = self.remotes[p.remote].clone();
        let priority = p.priority;
        let rtt = p.rtt;
        let jitter = self.consent_delay();
        let local_sdp = self.local_sdp(&local);
        let remote_ufrag = rc.ufrag.clone();
        let mut remote_sdp = remote.to_sdp(&remote_ufrag, self.generation);
        remote_sdp.component = self.component;
        self.push_event(IceEvent::SelectedPairChanged(Box::new(SelectedPair {
            local: local_sdp,
            remote: remote_sdp,
            local_addr: local.base,
            remote_addr: remote.addr,
        })));
        self.selected = Some(Selected {
            local,
            remote,
            priority,
            generation: self.generation,
            local_creds: lc,
            remote_creds: rc,
            last_consent: now,
            next_consent: now + jitter,
            first_unanswered: None,
            consent: VecDeque::new(),
            expired: false,
            rtt,
        });
        if let Some(s) = &self.selected
            && s.local.kind == CandidateKind::Relay
        {
            let (l, r) = (s.local.base, s.remote.addr);
            self.relay_bind_channel(now, l, r);
        }
        if !self.relays.is_empty() {
            self.prune_relays(now);
        }
    }

    // ------------------------------------------------------------------ consent (RFC 7675)

    /// 0.8–1.2 × the consent interval (RFC 7675 §5.1).
    fn consent_delay(&mut self) -> Duration {
        let base = self.config.consent_interval;
        let lo = base.mul_f64(0.8);
        let span_ms = u64::try_from(base.mul_f64(0.4).as_millis()).unwrap_or(0);
        if span_ms == 0 {
            return lo;
        }
        lo + Duration::from_millis(self.rng.next_u64() % (span_ms + 1))
    }

    fn consent_timers(&mut self, now: Instant) {
        let Some(mut s) = self.selected.take() else {
            return;
        };
        if s.expired {
            self.selected = Some(s);
            return;
        }
        // Retransmissions of outstanding consent checks.
        let mut resend = Vec::new();
        s.consent.retain_mut(|c| {
            if c.retrans.next > now {
                return true;
            }
            if c.retrans.expire(now) {
                resend.push(c.data.clone());
                true
            } else {
                false
            }
        });
        // Not over TCP (RFC 8489 §6.2.2).
        if s.local.tcp_type.is_none() {
            for d in resend {
                self.push_transmit(s.local.base, s.remote.addr, d);
            }
        }
        if now >= s.next_consent {
            let tid = self.new_tid();
            let mut data = Vec::with_capacity(128);
            {
                let mut w = MessageWriter::new(&mut data, Class::Request, Method::BINDING, tid);
                let username = format!("{}:{}", s.remote_creds.ufrag, s.local_creds.ufrag);
                let _ = w.username(&username);
                let local_pref = ((s.local.priority >> 8) & 0xffff) as u16;
                let _ = w.priority(candidate_priority(
                    CandidateKind::PeerReflexive,
                    local_pref,
                    self.component,
                ));
                if self.controlling {
                    let _ = w.ice_controlling(self.tie_breaker);
                } else {
                    let _ = w.ice_controlled(self.tie_breaker);
                }
                let _ = w.message_integrity(s.remote_creds.pwd.as_bytes());
                let _ = w.fingerprint();
            }
            self.push_transmit(s.local.base, s.remote.addr, data.clone());
            if let Some(pi) = self.pair_by_addrs(s.local.base, s.remote.addr) {
                let c = &mut self.pairs[pi].counters;
                c.requests_sent += 1;
                c.consent_requests_sent += 1;
            }
            if s.consent.len() >= MAX_CONSENT_TRANSACTIONS {
                s.consent.pop_front();
            }
            s.consent.push_back(ConsentTx {
                tid,
                retrans: Retrans::new(
                    now,
                    self.config.consent_rto,
                    self.config.stun_max_transmissions,
                    self.config.stun_last_wait,
                ),
                data,
            });
            s.first_unanswered.get_or_insert(now);
            s.next_consent = now + self.consent_delay();
        }
        if now >= s.last_consent + self.config.consent_timeout {
            // Consent lost: stop sending on the pair (RFC 7675 §5.1).
            s.expired = true;
            s.consent.clear();
        }
        self.selected = Some(s);
    }

    fn on_consent_response(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) {
        let Some(s) = self.selected.as_mut() else {
            return;
        };
        if !msg.has_fingerprint()
            || !msg.verify_message_integrity(s.remote_creds.pwd.as_bytes())
            || local != s.local.base
            || remote != s.remote.addr
        {
            self.dropped += 1;
            return;
        }
        if msg.class() == Class::SuccessResponse && !s.expired {
            let (base, addr) = (s.local.base, s.remote.addr);
            if let Some(pi) = self.pair_by_addrs(base, addr) {
                self.pairs[pi].counters.responses_received += 1;
            }
            let Some(s) = self.selected.as_mut() else {
                return;
            };
            let tid = msg.transaction_id();
            let sample = s
                .consent
                .iter()
                .find(|c| c.tid == tid)
                .and_then(|c| c.retrans.rtt_sample(now));
            if let Some(rtt) = sample {
                s.rtt = Some(rtt);
            }
            s.last_consent = now;
            s.first_unanswered = None;
            s.consent.clear();
            if let Some(rtt) = sample
                && let Some(pi) = self.pair_by_addrs(base, addr)
            {
                self.pairs[pi].rtt = Some(rtt);
                self.pairs[pi].counters.total_round_trip_time += rtt;
            }
        }
    }

    // ------------------------------------------------------------------ state

    fn refresh_state(&mut self) {
        let new = self.compute_state();
        if new != self.state {
            // "completed" is always reached through "connected" (webrtc-pc §4.3.2), even when
            // the nomination and the last check finish in the same step.
            if new == IceConnectionState::Completed && self.state != IceConnectionState::Connected {
                self.push_event(IceEvent::StateChange(IceConnectionState::Connected));
            }
            self.state = new;
            self.push_event(IceEvent::StateChange(new));
        }
    }

    fn compute_state(&self) -> IceConnectionState {
        if self.closed {
            return IceConnectionState::Closed;
        }
        let pending = self.pairs.iter().any(|p| {
            matches!(
                p.state,
                CandidatePairState::Frozen
                    | CandidatePairState::Waiting
                    | CandidatePairState::InProgress
            )
        });
        if let Some(s) = &self.selected {
            if !(s.expired && s.generation != self.generation) {
                if s.expired {
                    return IceConnectionState::Failed;
                }
                let now = self.last_now.unwrap_or(s.last_consent);
                if s.first_unanswered
                    .is_some_and(|f| now >= f + self.config.disconnected_timeout)
                {
                    return IceConnectionState::Disconnected;
                }
                // "completed" is the controlling agent's (browsers' controlled side stays
                // "connected", WPT-190).
                let done = self.controlling
                    && s.generation == self.generation
                    && self.remote_end_of_candidates
                    && !pending
                    && self.pending_mdns.is_empty();
                return if done {
                    IceConnectionState::Completed
                } else {
                    IceConnectionState::Connected
                };
            }
        }
        // Nothing left to check and the PAC timer ran out (RFC 8863 §4; RFC 8445 §8.1.2 and
        // RFC 8838 §8 for the checklist): failed, with or without end-of-candidates.
        if self.nothing_to_check()
            && let (Some(deadline), Some(now)) = (self.pac_deadline(), self.last_now)
            && now >= deadline
        {
            return IceConnectionState::Failed;
        }
        if self.checks_started {
            IceConnectionState::Checking
        } else {
            IceConnectionState::New
        }
    }

    // ------------------------------------------------------------------ helpers

    /// Starts the PAC timer (RFC 8863 §4) once ICE processing can start: both sides'
    /// credentials are known (the timer runs even without any candidate).
    fn start_pac_timer(&mut self, now: Instant) {
        if self.started_at.is_none() && self.can_check() {
            self.started_at = Some(now);
        }
    }

    /// When the PAC timer of this generation runs out.
    fn pac_deadline(&self) -> Option<Instant> {
        self.started_at.map(|t| t + self.config.pac_timeout)
    }

    /// Whether this generation has nothing left that could give a selected pair: ICE has
    /// started, local gathering is complete, no mDNS name is pending, no pair is selected
    /// (nor an older generation's pair still in use, which keeps the state) and every pair
    /// (if any) failed. A new remote candidate or a peer's check that forms a pair makes this
    /// false again (RFC 8838 §8).
    fn nothing_to_check(&self) -> bool {
        self.can_check()
            && self.gathering == Gathering::Done
            && !self.awaiting_interfaces
            && self.pending_mdns.is_empty()
            && self
                .selected
                .as_ref()
                .is_none_or(|s| s.expired && s.generation != self.generation)
            && self
                .pairs
                .iter()
                .all(|p| p.state == CandidatePairState::Failed)
    }

    /// When a waiting controlling agent must nominate even though better pairs are pending.
    fn nomination_deadline(&self) -> Option<Instant> {
        let first = self.first_valid_at?;
        let waiting = self.controlling
            && self.can_check()
            && !self.pairs.iter().any(|p| p.nominate || p.nominated)
            && self
                .pairs
                .iter()
                .any(|p| p.state == CandidatePairState::Succeeded)
            && !self
                .selected
                .as_ref()
                .is_some_and(|s| s.generation == self.generation && !s.expired);
        waiting.then(|| first + self.config.nomination_timeout)
    }

    fn pair_by_addrs(&self, base: SocketAddr, remote: SocketAddr) -> Option<usize> {
        self.pairs.iter().position(|p| {
            self.locals[p.local].cand.base == base && self.remotes[p.remote].addr == remote
        })
    }

    fn new_tid(&mut self) -> TransactionId {
        let mut b = [0u8; 12];
        self.rng.fill(&mut b);
        TransactionId(b)
    }

    fn push_transmit(&mut self, mut local: SocketAddr, mut remote: SocketAddr, mut data: Vec<u8>) {
        // From a relayed address: framed for the TURN server (`ice/relay.rs`).
        if !self.relays.is_empty() && self.is_relayed_address(local) {
            match self.relay_wrap(local, remote, &mut data, 0) {
                Some((l, r)) => (local, remote) = (l, r),
                None => return,
            }
        }
        if self.transmits.len() < MAX_QUEUED_TRANSMITS {
            let tcp = self.tcp_base_type(local);
            self.transmits.push_back(Transmit {
                local,
                remote,
                data,
                tcp,
            });
        }
    }

    fn push_event(&mut self, e: IceEvent) {
        if self.events.len() < MAX_QUEUED_EVENTS {
            self.events.push_back(e);
        }
    }
}
