//! The DTLS transport core (W3C webrtc-pc §5.5 `RTCDtlsTransport`): a sans-IO adapter over the
//! `dimpl` DTLS 1.2 engine that adds what WebRTC needs on top of a bare handshake:
//!
//! - roles from `a=setup` (RFC 8842 §5): `active` is the DTLS client, `passive` the server;
//! - mutual certificate authentication checked against the remote `a=fingerprint` values
//!   (RFC 8122 §5, RFC 8827 §6.5). A mismatch fails the transport before any application data
//!   is delivered or our Finished is sent, and a fatal `bad_certificate` alert tells the peer;
//! - DTLS-SRTP (RFC 5764): `use_srtp` is offered, and the SRTP master keys are exported with the
//!   "EXTRACTOR-dtls_srtp" label and kept for the media layer;
//! - records that arrive before [`DtlsConnection::start`] (a peer's ClientHello racing our remote
//!   description) are kept and replayed at start, not dropped;
//! - unauthenticated input cannot end the handshake (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2):
//!   records that cannot be valid, and every plaintext alert, are dropped and counted before
//!   dimpl sees them: a plaintext handshake record must hold whole, consistent fragments of
//!   messages the peer's role sends at those numbers, a ChangeCipherSpec must come after our
//!   flight that it answers (one is given to dimpl), and an encrypted record that fails
//!   authentication changes nothing; a handshake message dimpl rejects is remembered and
//!   fails the transport only if the handshake then stalls for
//!   [`DtlsSettings::unauthenticated_failure_grace`]
//!   (a server that has not answered yet simply starts over). A fingerprint mismatch, an
//!   authenticated (encrypted) fatal alert and the handshake deadline still fail it at once;
//! - retransmission starts at 50 ms and doubles up to a 10 s cap, as browsers do
//!   ([`DtlsSettings::flight_start_rto`], [`DtlsSettings::flight_max_rto`]).
//!
//! Sans-IO: datagrams go in through [`DtlsConnection::handle_record`] and come out of
//! [`DtlsConnection::poll_transmit`]; time is always an argument; retransmissions happen when the
//! caller's clock reaches [`DtlsConnection::poll_timeout`] and it calls
//! [`DtlsConnection::handle_timeout`]. Output produced by a call is ready as soon as the call
//! returns.
//!
//! Bounds (all documented on the constants): datagrams buffered before start
//! ([`MAX_PRESTART_DATAGRAMS`], [`MAX_PRESTART_BYTES`]), datagrams waiting in
//! [`DtlsConnection::poll_transmit`] ([`MAX_TRANSMIT_QUEUE`]), received application data waiting
//! in [`DtlsConnection::poll_event`] ([`MAX_EVENT_QUEUE`], [`MAX_PENDING_APPLICATION_BYTES`]).
//!
//! Certificates: dimpl signs with ECDSA P-256 or P-384 only (no RSA), so an RSA
//! [`Certificate`] is refused by [`DtlsConnection::new`], and a peer with an RSA certificate
//! cannot connect (INTEROP.md: e.g. GStreamer 1.22).
//!
//! Randomness: key exchange and signatures always use the operating system's secure random
//! source (inside dimpl). Handshake randoms, retransmission jitter and AEAD explicit nonces come
//! from [`DtlsSettings::rng_seed`] when one is set (tests), from the OS otherwise.

mod fingerprint;
mod srtp;

#[cfg(test)]
mod openssl_interop;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cert::Certificate;
use crate::enums::w3c_enum;
use crate::error::{Error, ErrorDetail, Result};
use crate::sdp::Setup;

pub use fingerprint::{FingerprintAlgorithm, MAX_FINGERPRINTS, RemoteFingerprints};
pub use srtp::{SrtpKeyingMaterial, SrtpMasterKey, SrtpProfile};

/// Most datagrams kept between creation and [`DtlsConnection::start`]; later ones are dropped
/// (counted in [`DtlsStats::dropped_datagrams`]). A whole client flight fits easily.
pub const MAX_PRESTART_DATAGRAMS: usize = 16;

/// Most bytes kept between creation and [`DtlsConnection::start`].
pub const MAX_PRESTART_BYTES: usize = 32 * 1024;

/// Most datagrams waiting to be taken by [`DtlsConnection::poll_transmit`]. When full,
/// [`DtlsConnection::send_application_data`] refuses data, and handshake datagrams beyond it are
/// dropped (retransmission recovers them).
pub const MAX_TRANSMIT_QUEUE: usize = 256;

/// Most events waiting in [`DtlsConnection::poll_event`]. Received application data beyond this
/// (or beyond [`MAX_PENDING_APPLICATION_BYTES`]) is dropped and counted; state events are
/// always kept (there are at most two of them).
pub const MAX_EVENT_QUEUE: usize = 1024;

/// Most received application-data bytes waiting in [`DtlsConnection::poll_event`].
pub const MAX_PENDING_APPLICATION_BYTES: usize = 1024 * 1024;

/// Largest application data payload of one record: 2^14 bytes (RFC 6347 §4.1 via RFC 5246
/// §6.2.1 `TLSPlaintext.length`).
pub const MAX_APPLICATION_DATA: usize = 16 * 1024;

/// Largest datagram accepted by [`DtlsConnection::handle_record`] (a UDP payload).
pub const MAX_DATAGRAM: usize = 65_535;

/// Emptied buffers kept for reuse (see [`DtlsConnection::recycle`]).
const MAX_SPARE_BUFFERS: usize = 32;

/// Largest single output dimpl may ask for (a record or the peer certificate); beyond it the
/// connection fails instead of allocating more.
const MAX_OUTPUT_BUFFER: usize = 128 * 1024;

/// Timers further away than this are dimpl's "idle" placeholder, reported as no timer.
const IDLE_TIMER: Duration = Duration::from_secs(30 * 24 * 3600);

/// The handshake deadline given to the engine: beyond [`IDLE_TIMER`], so never reached and
/// reported as no timer; [`DtlsSettings::handshake_timeout`] is enforced by the adapter.
const ENGINE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2 * 30 * 24 * 3600);

/// Largest handshake message (`Handshake.length`, RFC 6347 §4.2.2) accepted from the peer: a
/// WebRTC certificate chain is a few kilobytes; a bigger message is dropped unread.
const MAX_HANDSHAKE_MESSAGE: u32 = 64 * 1024;

/// DTLS handshake fragment header: msg_type, length, message_seq, fragment_offset,
/// fragment_length (RFC 6347 §4.2.2).
const HANDSHAKE_HEADER_LEN: usize = 12;

/// Most handshake fragments in one record that the engine reads (dimpl keeps 8 per record and
/// leaves the rest unread).
const MAX_FRAGMENTS_PER_RECORD: usize = 8;

/// Largest record body (`DTLSCiphertext.length`, RFC 6347 §4.1 via RFC 5246 §6.2.3: at most
/// 2^14 + 2048).
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;

/// TLS alert description `bad_certificate` (RFC 5246 §7.2.2), sent on a fingerprint mismatch.
pub const ALERT_BAD_CERTIFICATE: u8 = 42;

/// Whether a datagram is DTLS by its first byte, 20..=63 (RFC 7983 §7).
pub fn is_dtls(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20..=63))
}

w3c_enum! {
    /// `RTCDtlsTransportState` (webrtc-pc §5.5.2).
    pub enum DtlsTransportState {
        /// Created; the handshake has not started.
        New = "new",
        /// The handshake is in progress.
        Connecting = "connecting",
        /// Handshake done and the remote certificate matches a signalled fingerprint.
        Connected = "connected",
        /// Closed by `close_notify` (sent or received) or by `DtlsConnection::close`.
        Closed = "closed",
        /// Failed: handshake error, fatal alert, timeout or fingerprint mismatch.
        Failed = "failed",
    }
}

w3c_enum! {
    /// `RTCDtlsRole` (webrtc-pc §8.6 `dtlsRole` stat, without "unknown"): which side of the
    /// handshake this endpoint is (RFC 8842 §5).
    pub enum DtlsRole {
        /// DTLS client: sends the ClientHello (`a=setup:active`).
        Client = "client",
        /// DTLS server: waits for the ClientHello (`a=setup:passive`).
        Server = "server",
    }
}

impl DtlsRole {
    /// The role given by our own resolved `a=setup` value (RFC 8842 §5): `active` is the client,
    /// `passive` the server; `actpass` and `holdconn` are not roles.
    pub fn from_local_setup(setup: Setup) -> Option<DtlsRole> {
        match setup {
            Setup::Active => Some(DtlsRole::Client),
            Setup::Passive => Some(DtlsRole::Server),
            Setup::ActPass | Setup::HoldConn => None,
        }
    }
}

/// Non-standard DTLS knobs (they live with the other `SettingEngine`-style settings, DESIGN.md;
/// reachable as `Settings::core.dtls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsSettings {
    /// Largest datagram the handshake produces (dimpl fragments flights to fit). Default 1150.
    pub mtu: usize,
    /// First retransmission timeout of a flight, doubled each retry with ±25% jitter up to
    /// [`flight_max_rto`](Self::flight_max_rto). Default 50 ms, as browsers use: Firefox's NSS
    /// starts at 50 ms (`DTLS_RETRANSMIT_INITIAL_MS`), Chromium sets 2×ICE RTT clamped to
    /// 50 ms–3 s. RFC 6347 §4.2.4.1 recommends 1 s but lets profiles choose; RFC 9147 §5.8.1
    /// recommends 100 ms. A lost first flight then costs 50 ms instead of 1 s.
    pub flight_start_rto: Duration,
    /// Cap of the doubled retransmission timeout (RFC 6347 §4.2.4.1 asks for at least 60 s;
    /// browsers keep retrying sooner: NSS caps at 10 s). Default 10 s.
    pub flight_max_rto: Duration,
    /// Retransmissions per flight before the handshake fails. Default 12 (BoringSSL's
    /// `DTLS1_MAX_TIMEOUTS`); with the defaults the 40 s deadline comes first.
    pub flight_retries: usize,
    /// Deadline for the whole handshake, from our first handshake datagram. Default 40 s.
    pub handshake_timeout: Duration,
    /// How long the handshake goes on after unauthenticated bad news (a plaintext fatal alert,
    /// a handshake message the engine rejected) without moving on (our next flight, or
    /// connected): such input may be spoofed (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2), so it fails
    /// the transport only if the handshake then stalls this long. Default 5 s.
    pub unauthenticated_failure_grace: Duration,
    /// Whether our server answers the first ClientHello with a HelloVerifyRequest cookie
    /// (RFC 6347 §4.2.1). Default false: ICE consent already proves the peer's address, and the
    /// cookie costs a round trip.
    pub server_cookie: bool,
    /// Seed for dimpl's non-cryptographic randomness (handshake randoms, jitter, explicit
    /// nonces), for reproducible tests only. Default `None` (OS randomness).
    pub rng_seed: Option<u64>,
}

impl Default for DtlsSettings {
    fn default() -> Self {
        DtlsSettings {
            mtu: 1150,
            flight_start_rto: Duration::from_millis(50),
            flight_max_rto: Duration::from_secs(10),
            flight_retries: 12,
            handshake_timeout: Duration::from_secs(40),
            unauthenticated_failure_grace: Duration::from_secs(5),
            server_cookie: false,
            rng_seed: None,
        }
    }
}

/// The adapter's own timers (the engine's deadline is replaced by ours, see
/// [`DtlsConnection::handle_timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    max_rto: Duration,
    handshake_timeout: Duration,
    grace: Duration,
}

/// A validated DTLS configuration, built once from [`DtlsSettings`] and shared (cheap clone) by
/// every [`DtlsConnection`]; building it runs dimpl's crypto provider self-check.
#[derive(Clone)]
pub struct DtlsConfig {
    inner: Arc<dimpl::Config>,
    timing: Timing,
}

impl fmt::Debug for DtlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsConfig")
            .field("mtu", &self.inner.mtu())
            .field("flight_start_rto", &self.inner.flight_start_rto())
            .field("flight_max_rto", &self.timing.max_rto)
            .field("flight_retries", &self.inner.flight_retries())
            .field("handshake_timeout", &self.timing.handshake_timeout)
            .finish()
    }
}

impl DtlsConfig {
    /// Validates `settings` and builds the engine configuration: DTLS 1.2, client certificates
    /// required (WebRTC authenticates both ends, RFC 8827 §6.5), all of dimpl's ECDHE-ECDSA AEAD
    /// suites. Invalid settings (zero timeouts, MTU below 64) give an `OperationError`.
    pub fn new(settings: &DtlsSettings) -> Result<DtlsConfig> {
        let timers = [
            settings.handshake_timeout,
            settings.flight_start_rto,
            settings.flight_max_rto,
            settings.unauthenticated_failure_grace,
        ];
        if timers.iter().any(|t| *t > IDLE_TIMER || t.is_zero()) {
            return Err(Error::operation(
                "DTLS timeouts must be above zero and under 30 days",
            ));
        }
        // The engine's own deadline would run on the engine's clock, which the RTO cap moves
        // ahead (see `DtlsConnection::handle_timeout`): the adapter keeps the real deadline
        // and gives the engine one it never reaches.
        let mut builder = dimpl::Config::builder()
            .mtu(settings.mtu)
            .flight_start_rto(settings.flight_start_rto)
            .flight_retries(settings.flight_retries)
            .handshake_timeout(ENGINE_HANDSHAKE_TIMEOUT)
            .use_server_cookie(settings.server_cookie)
            .require_client_certificate(true);
        if let Some(seed) = settings.rng_seed {
            builder = builder.dangerously_set_rng_seed(seed);
        }
        let inner = builder
            .build()
            .map_err(|e| Error::operation(format!("invalid DTLS settings: {e}")))?;
        Ok(DtlsConfig {
            inner: Arc::new(inner),
            timing: Timing {
                max_rto: settings.flight_max_rto,
                handshake_timeout: settings.handshake_timeout,
                grace: settings.unauthenticated_failure_grace,
            },
        })
    }
}

/// Why a [`DtlsConnection`] failed (the W3C `RTCError` of the failed transport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsFailure {
    /// The remote certificate matches none of the signalled fingerprints (RFC 8122 §5); we sent
    /// a fatal `bad_certificate` alert.
    FingerprintMismatch,
    /// The handshake finished without the peer presenting a certificate.
    NoRemoteCertificate,
    /// The peer sent a fatal alert (its description code, RFC 5246 §7.2): an encrypted one
    /// fails at once; a plaintext one, which anyone could have sent, only when the handshake
    /// then stalls (see [`DtlsSettings::unauthenticated_failure_grace`]).
    AlertReceived(u8),
    /// The handshake did not complete within the retransmission budget or the deadline.
    Timeout,
    /// Any other handshake or protocol error reported by the engine (during the handshake:
    /// once it then stalled, as for a plaintext alert).
    Protocol(String),
}

impl DtlsFailure {
    /// The W3C `RTCError` for this failure: detail `fingerprint-failure` for a mismatch,
    /// `dtls-failure` otherwise (webrtc-pc §11.1).
    pub fn to_error(&self) -> Error {
        match self {
            DtlsFailure::FingerprintMismatch => Error::rtc(
                ErrorDetail::FingerprintFailure,
                "remote DTLS certificate does not match the signalled fingerprint",
            ),
            other => Error::rtc(ErrorDetail::DtlsFailure, other.to_string()),
        }
    }

    /// `RTCError.receivedAlert`: the alert description the peer sent, if any.
    pub fn received_alert(&self) -> Option<u8> {
        match self {
            DtlsFailure::AlertReceived(d) => Some(*d),
            _ => None,
        }
    }

    /// `RTCError.sentAlert`: the alert description we sent, if any.
    pub fn sent_alert(&self) -> Option<u8> {
        match self {
            DtlsFailure::FingerprintMismatch => Some(ALERT_BAD_CERTIFICATE),
            _ => None,
        }
    }
}

impl fmt::Display for DtlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtlsFailure::FingerprintMismatch => {
                f.write_str("remote certificate does not match the fingerprint")
            }
            DtlsFailure::NoRemoteCertificate => f.write_str("peer presented no certificate"),
            DtlsFailure::AlertReceived(d) => write!(f, "peer sent fatal alert {d}"),
            DtlsFailure::Timeout => f.write_str("DTLS handshake timed out"),
            DtlsFailure::Protocol(m) => write!(f, "DTLS error: {m}"),
        }
    }
}

/// What the connection learned when the handshake completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsConnected {
    /// The DTLS-SRTP keys, when the peer agreed to `use_srtp` (browsers always do).
    pub srtp: Option<SrtpKeyingMaterial>,
    /// The peer's (verified) leaf certificate, DER.
    pub remote_certificate: Vec<u8>,
}

/// Something the owner of a [`DtlsConnection`] must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// Handshake complete and remote certificate verified; state is now `connected`.
    Connected(DtlsConnected),
    /// Decrypted application data (one record; SCTP packets, RFC 8261).
    ApplicationData(Vec<u8>),
    /// The transport failed; state is now `failed`. No event follows.
    Failed(DtlsFailure),
    /// The peer sent `close_notify` (we answered it); state is now `closed`. No event follows.
    Closed,
}

/// Counters for debugging and stats (webrtc-stats `RTCTransportStats` packet counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Datagrams handed out by [`DtlsConnection::poll_transmit`].
    pub datagrams_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// DTLS datagrams given to the engine (including ones it then discarded as invalid).
    pub datagrams_received: u64,
    /// Bytes in those datagrams.
    pub bytes_received: u64,
    /// Datagrams dropped by this adapter: not DTLS by RFC 7983, too large, after close/failure,
    /// or beyond the pre-start buffer.
    pub dropped_datagrams: u64,
    /// Received application-data records dropped because [`DtlsConnection::poll_event`] was
    /// not drained ([`MAX_EVENT_QUEUE`], [`MAX_PENDING_APPLICATION_BYTES`]).
    pub dropped_application_data: u64,
    /// Outgoing datagrams dropped because [`DtlsConnection::poll_transmit`] was not drained.
    pub dropped_transmits: u64,
    /// Records dropped before the engine as invalid (RFC 6347 §4.1.2.7): unknown content type,
    /// version or epoch, oversized, plaintext application data, a plaintext handshake record
    /// that is not whole fragments of a message the peer sends at that number (RFC 6347
    /// §4.2.2), or a ChangeCipherSpec before our flight it answers, or after the one given
    /// to the engine.
    pub dropped_records: u64,
    /// Plaintext (epoch 0) alerts dropped unread: nothing authenticates them, so one spoofed
    /// datagram must not end the handshake (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2).
    pub unauthenticated_alerts: u64,
    /// Datagrams the engine rejected during the handshake without failing the transport (see
    /// [`DtlsSettings::unauthenticated_failure_grace`]), or refused because its receive queue
    /// was full.
    pub rejected_datagrams: u64,
}

/// One DTLS association of a WebRTC transport (the state machine behind `RTCDtlsTransport`).
/// See the module documentation for the call pattern and bounds.
pub struct DtlsConnection {
    config: Arc<dimpl::Config>,
    certificate: Certificate,
    state: DtlsTransportState,
    role: Option<DtlsRole>,
    fingerprints: Option<RemoteFingerprints>,
    dtls: Option<dimpl::Dtls>,
    /// Datagrams received before `start`, replayed in order at `start`.
    prestart: VecDeque<Vec<u8>>,
    prestart_bytes: usize,
    transmits: VecDeque<Vec<u8>>,
    /// Emptied buffers of sent datagrams and consumed application data, reused for the
    /// next ones (at most [`MAX_SPARE_BUFFERS`]).
    spare: Vec<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    pending_app_bytes: usize,
    app_events: usize,
    last_now: Option<Instant>,
    remote_certificate: Option<Vec<u8>>,
    certificate_verified: bool,
    /// Position in `events` where the Connected event goes once the drain that saw dimpl's
    /// `Connected` has also collected the keying material.
    connected_at: Option<usize>,
    srtp: Option<SrtpKeyingMaterial>,
    /// Next unused epoch-0 sequence number of our records (for our own fatal alert).
    epoch0_next_seq: u64,
    /// Whether we have sent any record in epoch 1 (then a plaintext alert is no longer valid).
    sent_encrypted: bool,
    /// Highest `message_seq` of our plaintext handshake messages sent so far: a higher one
    /// (or our first encrypted record) means the handshake moved on.
    sent_message_seq: Option<u16>,
    /// Handshake message types (RFC 5246 §7.4, bit = type) we have sent in plaintext: which
    /// messages of the peer can come next depends on them (see [`peer_may_send`]).
    sent_types: u32,
    /// Whether we sent a second ClientHello (`message_seq` 1: the server asked for a cookie).
    sent_second_hello: bool,
    /// Whether a ChangeCipherSpec of the peer was given to the engine: one is all a handshake
    /// uses, and each extra one would wait in the engine's small receive queue.
    ccs_given: bool,
    /// The cipher suite of the first ServerHello given to the engine (client) or sent by it
    /// (server); the handshake's Finished messages authenticate it.
    cipher_suite: Option<u16>,
    timing: Timing,
    /// How far the engine's clock runs ahead of the caller's: the RTO cap fires the engine's
    /// flight timer early by moving its clock forward (dimpl has no cap of its own).
    skew: Duration,
    /// The engine's next timer (engine clock), and when (caller clock) we first saw it.
    engine_timer: Option<(Instant, Instant)>,
    /// Our handshake deadline (caller clock), armed with our first handshake datagram.
    deadline: Option<Instant>,
    /// Unauthenticated bad news during the handshake, and when it fails the transport unless
    /// the handshake moves on (see [`DtlsSettings::unauthenticated_failure_grace`]).
    suspicion: Option<(DtlsFailure, Option<Instant>)>,
    /// Reused buffer for the screened records of a datagram.
    screened: Vec<u8>,
    out_buf: Vec<u8>,
    stats: DtlsStats,
}

impl fmt::Debug for DtlsConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsConnection")
            .field("state", &self.state)
            .field("role", &self.role)
            .field("srtp", &self.srtp.as_ref().map(|k| k.profile))
            .field("stats", &self.stats)
            .finish()
    }
}

/// One engine output, copied out of dimpl's borrowed buffer.
enum Step {
    Packet(Vec<u8>),
    /// A datagram of this many bytes was written straight into the caller's buffer.
    Direct(usize),
    /// The datagram does not fit the room given in the caller's buffer.
    DirectTooSmall,
    Grow(usize),
    Timeout(Instant),
    Connected,
    PeerCert(Vec<u8>),
    Keying(Option<SrtpProfile>, Vec<u8>),
    AppData(Vec<u8>),
    CloseNotify,
    Other,
}

impl DtlsConnection {
    /// Creates a connection in state `new` with our certificate. Records may arrive before
    /// [`start`](Self::start); they are buffered. An RSA certificate (or any key dimpl cannot
    /// sign with) gives `NotSupportedError`.
    pub fn new(certificate: Certificate, config: &DtlsConfig) -> Result<DtlsConnection> {
        // dimpl panics on an unusable key when the engine is created; check it here instead.
        config
            .inner
            .crypto_provider()
            .key_provider
            .load_private_key(certificate.private_key_der())
            .map_err(|e| {
                Error::not_supported(format!(
                    "DTLS needs an ECDSA P-256 or P-384 certificate: {e}"
                ))
            })?;
        Ok(DtlsConnection {
            config: config.inner.clone(),
            certificate,
            state: DtlsTransportState::New,
            role: None,
            fingerprints: None,
            dtls: None,
            prestart: VecDeque::new(),
            prestart_bytes: 0,
            transmits: VecDeque::new(),
            spare: Vec::new(),
            events: VecDeque::new(),
            pending_app_bytes: 0,
            app_events: 0,
            last_now: None,
            remote_certificate: None,
            certificate_verified: false,
            connected_at: None,
            srtp: None,
            epoch0_next_seq: 0,
            sent_encrypted: false,
            sent_message_seq: None,
            sent_types: 0,
            sent_second_hello: false,
            ccs_given: false,
            cipher_suite: None,
            timing: config.timing,
            skew: Duration::ZERO,
            engine_timer: None,
            deadline: None,
            suspicion: None,
            screened: Vec::new(),
            out_buf: vec![0; 2048],
            stats: DtlsStats::default(),
        })
    }

    /// Starts the handshake in `role` (from `a=setup`, see [`DtlsRole::from_local_setup`]),
    /// expecting the peer's certificate to match `remote_fingerprints`. A client sends its
    /// ClientHello now; buffered records are then processed in arrival order. Calling it twice,
    /// or after [`close`](Self::close), gives `InvalidStateError`.
    pub fn start(
        &mut self,
        now: Instant,
        role: DtlsRole,
        remote_fingerprints: RemoteFingerprints,
    ) -> Result<()> {
        if self.state != DtlsTransportState::New {
            return Err(Error::invalid_state(format!(
                "DTLS transport cannot start in state {}",
                self.state
            )));
        }
        let now = self.clock(now);
        let now = self.engine_now(now);
        self.role = Some(role);
        self.fingerprints = Some(remote_fingerprints);
        self.dtls = Some(self.new_engine(role, now));
        self.state = DtlsTransportState::Connecting;
        // The first handle_timeout makes a client emit its ClientHello.
        self.engine_call(|d| d.handle_timeout(now));
        let buffered = std::mem::take(&mut self.prestart);
        self.prestart_bytes = 0;
        for datagram in buffered {
            if !self.is_running() {
                break;
            }
            self.feed(&datagram);
        }
        Ok(())
    }

    /// A fresh engine in `role` at engine time `now`.
    fn new_engine(&self, role: DtlsRole, now: Instant) -> dimpl::Dtls {
        let cert = dimpl::DtlsCertificate {
            certificate: self.certificate.der().to_vec(),
            private_key: self.certificate.private_key_der().to_vec(),
        };
        let mut dtls = dimpl::Dtls::new_12(self.config.clone(), cert, now);
        if role == DtlsRole::Client {
            dtls.set_active(true);
        }
        dtls
    }

    /// Handles one received UDP datagram that RFC 7983 demultiplexing classified as DTLS (first
    /// byte 20..=63; others are dropped here too). Before [`start`](Self::start) it is buffered.
    /// Malformed, replayed or undecryptable records are dropped by the engine without effect.
    pub fn handle_record(&mut self, now: Instant, datagram: &[u8]) {
        if !is_dtls(datagram) || datagram.len() > MAX_DATAGRAM {
            self.stats.dropped_datagrams += 1;
            return;
        }
        match self.state {
            DtlsTransportState::New => {
                // Only what may be valid is kept (plaintext alerts and junk records are
                // dropped here already), within the pre-start caps.
                let mut kept = std::mem::take(&mut self.screened);
                kept.clear();
                self.screen(datagram, &mut kept);
                if kept.is_empty()
                    || self.prestart.len() >= MAX_PRESTART_DATAGRAMS
                    || self.prestart_bytes + kept.len() > MAX_PRESTART_BYTES
                {
                    self.stats.dropped_datagrams += 1;
                } else {
                    self.prestart_bytes += kept.len();
                    self.prestart.push_back(kept.clone());
                }
                self.screened = kept;
            }
            DtlsTransportState::Connecting | DtlsTransportState::Connected => {
                let now = self.clock(now);
                let now = self.engine_now(now);
                // dimpl wants its logical clock refreshed before each packet.
                self.engine_call(|d| d.handle_timeout(now));
                if self.is_running() {
                    self.feed(datagram);
                }
            }
            DtlsTransportState::Closed | DtlsTransportState::Failed => {
                self.stats.dropped_datagrams += 1;
            }
        }
    }

    /// Advances time: retransmits a flight whose timer expired, or fails the handshake when
    /// the retransmission budget or deadline is spent, or when the peer stayed silent for
    /// [`DtlsSettings::unauthenticated_failure_grace`] after unauthenticated bad news.
    ///
    /// Retransmission runs on the caller's clock with exponential backoff (RFC 6347 §4.2.4.1):
    /// dimpl doubles its timer without a cap, so when a flight's timer would come later than
    /// [`DtlsSettings::flight_max_rto`] after it was armed, the adapter fires it at the cap by
    /// moving the engine's (private, monotonic) clock forward to the engine's timer. Only the
    /// flight timer is then due; the handshake deadline is the adapter's, on the caller's clock.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.is_running() {
            return;
        }
        let now = self.clock(now);
        if self.state == DtlsTransportState::Connecting {
            if self.deadline.is_some_and(|d| now >= d) {
                let reason = self.timeout_failure();
                self.fail(reason);
                return;
            }
            if let Some((reason, Some(at))) = &self.suspicion
                && now >= *at
            {
                let reason = reason.clone();
                self.fail(reason);
                return;
            }
            if let Some(due) = self.engine_timer_due()
                && now >= due
                && let Some(engine_at) = self.engine_timer.map(|(t, _)| t)
            {
                let engine_now = self.engine_now(now);
                if engine_at > engine_now {
                    self.skew += engine_at - engine_now;
                }
            }
        }
        let now = self.engine_now(now);
        self.engine_call(|d| d.handle_timeout(now));
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.is_running() {
            return None;
        }
        let mut next = self.engine_timer_due();
        if self.state == DtlsTransportState::Connecting {
            let grace = self.suspicion.as_ref().and_then(|(_, at)| *at);
            for t in [self.deadline, grace].into_iter().flatten() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// When the engine's timer is due on the caller's clock: its own time, or during the
    /// handshake at most [`DtlsSettings::flight_max_rto`] after it was armed. `None` for
    /// dimpl's idle placeholder.
    fn engine_timer_due(&self) -> Option<Instant> {
        let ((t, armed), now) = (self.engine_timer?, self.last_now?);
        let t = t.checked_sub(self.skew).unwrap_or(now);
        if t.saturating_duration_since(now) >= IDLE_TIMER {
            return None;
        }
        if self.state == DtlsTransportState::Connecting {
            Some(
                armed
                    .checked_add(self.timing.max_rto)
                    .map_or(t, |cap| t.min(cap)),
            )
        } else {
            Some(t)
        }
    }

    /// The engine's clock for the caller's `now` (see [`handle_timeout`](Self::handle_timeout)).
    fn engine_now(&self, now: Instant) -> Instant {
        now.checked_add(self.skew).unwrap_or(now)
    }

    /// Why a handshake that ran out of time failed: the unauthenticated bad news seen on the
    /// way if any (a real peer that rejected us says so in plaintext, then goes silent), else
    /// a timeout.
    fn timeout_failure(&self) -> DtlsFailure {
        self.suspicion
            .as_ref()
            .map_or(DtlsFailure::Timeout, |(f, _)| f.clone())
    }

    /// Notes unauthenticated bad news during the handshake (see
    /// [`DtlsSettings::unauthenticated_failure_grace`]): it fails the transport unless the
    /// handshake moves on (we send our next flight, or connect) within the grace time.
    fn suspect(&mut self, reason: DtlsFailure) {
        if self.state != DtlsTransportState::Connecting {
            return;
        }
        let at = self.last_now.and_then(|n| n.checked_add(self.timing.grace));
        match &mut self.suspicion {
            Some((r, armed)) => {
                *r = reason;
                if armed.is_none() {
                    *armed = at;
                }
            }
            None => self.suspicion = Some((reason, at)),
        }
    }

    /// The next datagram to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let d = self.transmits.pop_front()?;
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += d.len() as u64;
        Some(d)
    }

    /// Like [`poll_transmit`](Self::poll_transmit), appending the datagram to `out`
    /// (the caller's send buffer) and keeping the emptied buffer for reuse; returns its
    /// length.
    pub fn poll_transmit_into(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        let d = self.poll_transmit()?;
        out.extend_from_slice(&d);
        let n = d.len();
        self.recycle(d);
        Some(n)
    }

    /// Gives back a buffer this connection handed out (a datagram or the bytes of
    /// [`DtlsEvent::ApplicationData`]) once its contents were used, so the next one needs
    /// no allocation. Optional.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS && buf.capacity() <= 2 * MAX_APPLICATION_DATA {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The next event (connected, application data, failed, closed).
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        let e = self.events.pop_front()?;
        if let DtlsEvent::ApplicationData(d) = &e {
            self.pending_app_bytes -= d.len();
            self.app_events -= 1;
        }
        Some(e)
    }

    /// Application data can be sent now (state `connected`) and `len` fits one record.
    fn check_sendable(&self, len: usize) -> Result<()> {
        if self.state != DtlsTransportState::Connected {
            return Err(Error::invalid_state(format!(
                "DTLS transport is {}, not connected",
                self.state
            )));
        }
        if len > MAX_APPLICATION_DATA {
            return Err(Error::range(format!(
                "{len} bytes exceed the DTLS record limit of {MAX_APPLICATION_DATA}"
            )));
        }
        Ok(())
    }

    /// Encrypts `data` into one application-data record, ready at
    /// [`poll_transmit`](Self::poll_transmit). Only in state `connected` (else
    /// `InvalidStateError`); at most [`MAX_APPLICATION_DATA`] bytes (else `RangeError`); with a
    /// full transmit queue it gives `OperationError` (the data is not sent).
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<()> {
        self.check_sendable(data.len())?;
        if self.transmits.len() >= MAX_TRANSMIT_QUEUE {
            return Err(Error::operation("DTLS transmit queue is full"));
        }
        self.engine_call(|d| d.send_application_data(data).map(|_| ()));
        if self.state == DtlsTransportState::Failed {
            return Err(Error::rtc(
                ErrorDetail::DtlsFailure,
                "DTLS transport failed",
            ));
        }
        Ok(())
    }

    /// Like [`send_application_data`](Self::send_application_data), but when nothing else
    /// waits in [`poll_transmit`](Self::poll_transmit) the record's datagram is appended to
    /// `out` directly (no intermediate buffer) and its length returned; `Ok(0)` means it
    /// was queued for `poll_transmit` instead.
    pub fn send_application_data_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<usize> {
        if !self.transmits.is_empty() {
            self.send_application_data(data)?;
            return Ok(0);
        }
        self.check_sendable(data.len())?;
        let Some(dtls) = self.dtls.as_mut() else {
            return Err(Error::invalid_state("DTLS transport is not running"));
        };
        // Room for the record: header, explicit nonce and tag add at most 64 bytes.
        let room = data.len() + 64;
        let sent = match dtls.send_application_data(data) {
            Ok(_) => self.drain_to(Some((out, room))),
            Err(e) => {
                let sent = self.drain_to(Some((out, room)));
                if self.is_running() {
                    self.fail(failure_from(&e));
                }
                sent
            }
        };
        if self.state == DtlsTransportState::Failed {
            return Err(Error::rtc(
                ErrorDetail::DtlsFailure,
                "DTLS transport failed",
            ));
        }
        Ok(sent)
    }

    /// Closes the transport (webrtc-pc §5.5 "stop"): when connected a `close_notify` alert is
    /// queued for [`poll_transmit`](Self::poll_transmit); during the handshake it is abandoned.
    /// The state becomes `closed` (no event: the caller initiated it). Idempotent.
    pub fn close(&mut self) {
        match self.state {
            DtlsTransportState::New | DtlsTransportState::Connecting => {
                self.prestart.clear();
                self.prestart_bytes = 0;
                self.dtls = None;
                self.state = DtlsTransportState::Closed;
            }
            DtlsTransportState::Connected => {
                // Errors here only mean the alert could not be queued; we are closing anyway.
                if let Some(d) = self.dtls.as_mut() {
                    let _ = d.close();
                }
                self.drain();
                self.dtls = None;
                if self.state == DtlsTransportState::Connected {
                    self.state = DtlsTransportState::Closed;
                }
            }
            DtlsTransportState::Closed | DtlsTransportState::Failed => {}
        }
    }

    /// The W3C state (`RTCDtlsTransport.state`).
    pub fn state(&self) -> DtlsTransportState {
        self.state
    }

    /// Our role, once started.
    pub fn role(&self) -> Option<DtlsRole> {
        self.role
    }

    /// The DTLS-SRTP keys, once connected with `use_srtp`.
    pub fn srtp_keying_material(&self) -> Option<&SrtpKeyingMaterial> {
        self.srtp.as_ref()
    }

    /// The negotiated cipher suite (RFC 5246 §7.4.1.3 `ServerHello.cipher_suite`), once
    /// connected: the W3C `dtlsCipher` stat.
    pub fn cipher_suite(&self) -> Option<DtlsCipherSuite> {
        if self.state == DtlsTransportState::Connected {
            self.cipher_suite.map(DtlsCipherSuite)
        } else {
            None
        }
    }

    /// The peer's leaf certificate DER (`getRemoteCertificates()`), once connected.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        if self.certificate_verified {
            self.remote_certificate.as_deref()
        } else {
            None
        }
    }

    /// Our certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Packet and drop counters.
    pub fn stats(&self) -> DtlsStats {
        self.stats
    }

    fn is_running(&self) -> bool {
        matches!(
            self.state,
            DtlsTransportState::Connecting | DtlsTransportState::Connected
        ) && self.dtls.is_some()
    }

    /// Monotonic version of the caller's clock (dimpl wants non-decreasing instants).
    fn clock(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) if last > now => last,
            _ => now,
        };
        self.last_now = Some(now);
        now
    }

    /// Gives a datagram to the engine. Trailing bytes that do not form a complete record are
    /// cut off first, and each record goes in on its own: dimpl discards a whole datagram
    /// when any part of it fails to parse, after it has already consumed the sequence numbers
    /// of the good records before it (RFC 6347 §4.1.2.7 wants only the bad record discarded),
    /// so junk appended to a real record would otherwise lose that record. During the
    /// handshake it matters too: a ChangeCipherSpec with a forged Finished behind it in one
    /// datagram leaves the undecryptable Finished in dimpl's queue, failing every later
    /// attempt; alone, the forged record is refused and forgotten.
    ///
    /// Records are screened first ([`screen`](Self::screen)): what cannot be valid never
    /// reaches the engine, so an unauthenticated plaintext alert or a flood of junk cannot
    /// end the handshake or fill the engine's receive queue.
    fn feed(&mut self, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        let mut kept = std::mem::take(&mut self.screened);
        kept.clear();
        if !self.screen(datagram, &mut kept) {
            self.stats.dropped_datagrams += 1;
        }
        for record in RecordIter(&kept) {
            if !self.is_running() {
                break;
            }
            self.engine_packet(record);
        }
        self.screened = kept;
    }

    /// Copies the records of `datagram` that may be valid to `out` and counts the others
    /// (RFC 6347 §4.1.2.7: invalid records are silently discarded). Returns false when the
    /// datagram holds no complete record at all.
    ///
    /// Dropped here, before dimpl: records of a version other than DTLS 1.0/1.2, of an epoch
    /// other than 0 and 1 (no renegotiation), of an unknown content type, a ChangeCipherSpec
    /// outside epoch 0, application data in epoch 0, bodies over 2^14 + 2048 bytes, every
    /// plaintext (epoch 0) alert, and epoch-0 handshake and ChangeCipherSpec records that are
    /// not what the peer can send next ([`admit_handshake`](Self::admit_handshake),
    /// [`admit_change_cipher_spec`](Self::admit_change_cipher_spec)). dimpl treats an epoch-0
    /// fatal alert during the handshake as the end of the connection, keeps a spoofed
    /// fragment in place of the real one with the same number, queues records it cannot use
    /// yet until its small receive queue is full and then refuses the real ones, and fails
    /// the handshake on a record left unread at its end; all of these are reachable by anyone
    /// who can spoof the peer's address.
    fn screen(&mut self, datagram: &[u8], out: &mut Vec<u8>) -> bool {
        let mut any = false;
        for record in RecordIter(datagram) {
            any = true;
            let verdict = match classify(record) {
                Verdict::Keep => match (record[0], record[3..5] == [0, 0]) {
                    (22, true) => self.admit_handshake(&record[RECORD_HEADER_LEN..]),
                    (20, true) => self.admit_change_cipher_spec(),
                    _ => Verdict::Keep,
                },
                other => other,
            };
            match verdict {
                Verdict::Keep => {
                    if self.role == Some(DtlsRole::Client)
                        && self.cipher_suite.is_none()
                        && record[0] == 22
                    {
                        self.cipher_suite = server_hello_cipher(&record[RECORD_HEADER_LEN..]);
                    }
                    out.extend_from_slice(record)
                }
                Verdict::Invalid => self.stats.dropped_records += 1,
                Verdict::PlaintextAlert { fatal } => {
                    self.stats.unauthenticated_alerts += 1;
                    if let Some(description) = fatal {
                        self.suspect(DtlsFailure::AlertReceived(description));
                    }
                }
            }
        }
        any
    }

    /// Judges a well-formed plaintext handshake record (its fragments checked by
    /// [`classify`]) against the handshake so far (RFC 6347 §4.2.2): each fragment's message
    /// must be one the peer sends at that `message_seq` in its role, given the messages we
    /// sent ([`peer_may_send`]). Retransmissions of messages the engine already has pass
    /// (they tell it that our flight was lost). Before
    /// [`start`](Self::start) the role is unknown and only the fragment syntax is checked
    /// (the records are screened again when replayed).
    fn admit_handshake(&self, body: &[u8]) -> Verdict {
        let Some(role) = self.role else {
            return Verdict::Keep;
        };
        let verified = self.hello_verified();
        let fits = FragmentIter(body)
            .all(|f| f.is_ok_and(|f| peer_may_send(role, f.message_seq, f.msg_type, verified)));
        if fits {
            Verdict::Keep
        } else {
            Verdict::Invalid
        }
    }

    /// Whether a HelloVerifyRequest round was made (RFC 6347 §4.2.1): we sent a second
    /// ClientHello, or (as server) a HelloVerifyRequest. It moves the peer's later messages
    /// one number up.
    fn hello_verified(&self) -> bool {
        match self.role {
            Some(DtlsRole::Client) => self.sent_second_hello,
            Some(DtlsRole::Server) => self.sent_types & (1 << 3) != 0,
            None => false,
        }
    }

    /// Judges a plaintext ChangeCipherSpec (body checked by [`classify`]). The peer sends it
    /// after it has our last flight (RFC 6347 §4.2.4, RFC 5246 §7.1): a client's after our
    /// ServerHelloDone, a server's after our Finished; one earlier is dropped. Only one is
    /// given to the engine: it carries nothing (one byte of value 1, not authenticated), so a
    /// spoofed one serves as well as the real one, and extra ones would sit in the engine's
    /// receive queue until it is full.
    fn admit_change_cipher_spec(&mut self) -> Verdict {
        let due = match self.role {
            Some(DtlsRole::Client) => self.sent_encrypted,
            Some(DtlsRole::Server) => self.sent_types & (1 << 14) != 0,
            None => false,
        };
        if !due || self.ccs_given {
            return Verdict::Invalid;
        }
        self.ccs_given = true;
        Verdict::Keep
    }

    /// Gives one screened datagram (or record) to the engine. During the handshake an
    /// engine error on received input does not fail the transport at once: nothing in the
    /// handshake is authenticated before the peer's Finished, so the error may come from a
    /// spoofed message; it is remembered ([`suspect`](Self::suspect)) and fails the transport
    /// if the peer then goes silent, or at the deadline. An authenticated fatal alert (epoch
    /// 1, which dimpl decrypts before acting on it) fails it at once; so does any error once
    /// connected, except a full receive queue.
    fn engine_packet(&mut self, data: &[u8]) {
        let Some(dtls) = self.dtls.as_mut() else {
            return;
        };
        let result = dtls.handle_packet(data);
        // Output queued before an error (e.g. an alert) is still worth sending.
        self.drain();
        if !self.is_running() {
            return;
        }
        if result.is_err() && data.first() == Some(&20) {
            // The engine did not take this ChangeCipherSpec: the next one may go in.
            self.ccs_given = false;
        }
        match result {
            Ok(()) => {}
            Err(e) if is_soft_error(&e, self.state) => {
                self.stats.rejected_datagrams += 1;
                let encrypted = data.get(3..5).is_some_and(|e| e != [0, 0]);
                if self.role == Some(DtlsRole::Server) && self.sent_message_seq.is_none() {
                    // A server that has not answered anything yet loses nothing by starting
                    // over, and dimpl would otherwise keep the rejected ClientHello's place
                    // and drop the real one as a duplicate.
                    if let Some(now) = self.last_now {
                        let fresh = self.new_engine(DtlsRole::Server, self.engine_now(now));
                        self.dtls = Some(fresh);
                        self.engine_timer = None;
                        self.ccs_given = false;
                    }
                } else if encrypted && matches!(e, dimpl::Error::CryptoError(_)) {
                    // An epoch-1 record that fails authentication: dimpl refuses it before
                    // its replay window or state changes (during the handshake it reports
                    // what it silently drops once connected). RFC 6347 §4.1.2.7: discarded,
                    // and it says nothing about the handshake.
                } else if !matches!(e, dimpl::Error::ReceiveQueueFull) {
                    self.suspect(failure_from(&e));
                }
            }
            Err(e) => {
                let reason = match e {
                    dimpl::Error::Timeout(_) => self.timeout_failure(),
                    e => failure_from(&e),
                };
                self.fail(reason);
            }
        }
    }

    /// Runs one engine call, then collects everything it produced. Errors here (timers,
    /// sending) are fatal (dimpl's contract), so they fail the transport.
    fn engine_call(
        &mut self,
        f: impl FnOnce(&mut dimpl::Dtls) -> std::result::Result<(), dimpl::Error>,
    ) {
        let Some(dtls) = self.dtls.as_mut() else {
            return;
        };
        if let Err(e) = f(dtls) {
            // Output queued before the error (e.g. an alert) is still worth sending.
            self.drain();
            if self.is_running() {
                let reason = match e {
                    dimpl::Error::Timeout(_) => self.timeout_failure(),
                    e => failure_from(&e),
                };
                self.fail(reason);
            }
            return;
        }
        self.drain();
    }

    /// The engine's next output. With `direct` (a buffer and the room to use in it), a
    /// datagram is written at the end of that buffer instead of being copied out
    /// (`Step::Direct`).
    fn next_step(&mut self, direct: Option<(&mut Vec<u8>, usize)>) -> Option<Step> {
        let dtls = self.dtls.as_mut()?;
        let Some((out, room)) = direct else {
            let output = dtls.poll_output(&mut self.out_buf);
            return Some(step_of(output, &mut self.spare));
        };
        let start = out.len();
        out.resize(start + room, 0);
        let (step, written) = match dtls.poll_output(&mut out[start..]) {
            dimpl::Output::Packet(p) => {
                let n = p.len();
                (Step::Direct(n), n)
            }
            dimpl::Output::BufferTooSmall { .. } => (Step::DirectTooSmall, 0),
            other => (step_of(other, &mut self.spare), 0),
        };
        out.truncate(start + written);
        Some(step)
    }

    /// Takes the engine's output until it reports its next timer.
    fn drain(&mut self) {
        self.drain_to(None);
    }

    /// [`drain`](Self::drain), writing the first datagram at the end of `direct`'s buffer
    /// when given (the caller checked that no older datagram waits), in at most its room;
    /// returns its length (0: it was queued instead).
    fn drain_to(&mut self, mut direct: Option<(&mut Vec<u8>, usize)>) -> usize {
        let mut sent = 0;
        loop {
            let target = match direct.as_mut() {
                Some((out, room)) if sent == 0 => Some((&mut **out, *room)),
                _ => None,
            };
            let Some(step) = self.next_step(target) else {
                break;
            };
            match step {
                Step::Packet(p) => self.queue_transmit(p),
                // Too big for the room: it goes through the queue.
                Step::DirectTooSmall => direct = None,
                Step::Direct(n) => {
                    if let Some((out, _)) = direct.as_ref() {
                        let d = &out[out.len() - n..];
                        self.note_outgoing_records(d);
                    }
                    self.stats.datagrams_sent += 1;
                    self.stats.bytes_sent += n as u64;
                    sent = n;
                }
                Step::Grow(needed) => {
                    if needed > MAX_OUTPUT_BUFFER || needed <= self.out_buf.len() {
                        self.fail(DtlsFailure::Protocol(format!(
                            "engine output of {needed} bytes is too large"
                        )));
                        return sent;
                    }
                    self.out_buf.resize(needed, 0);
                }
                Step::Timeout(t) => {
                    // A new timer is armed now (caller clock), for the RTO cap.
                    self.engine_timer = match (self.engine_timer, self.last_now) {
                        (Some((old, armed)), _) if old == t => Some((old, armed)),
                        (_, Some(now)) => Some((t, now)),
                        (_, None) => None,
                    };
                    break;
                }
                Step::PeerCert(der) => {
                    let ok = self.fingerprints.as_ref().is_some_and(|f| f.matches(&der));
                    self.remote_certificate = Some(der);
                    if !ok {
                        // Nothing more of this engine reaches the wire or the application:
                        // not our Finished, not the peer's data.
                        self.send_fatal_alert(ALERT_BAD_CERTIFICATE);
                        self.fail(DtlsFailure::FingerprintMismatch);
                        return sent;
                    }
                    self.certificate_verified = true;
                }
                Step::Connected => {
                    if !self.certificate_verified {
                        self.fail(DtlsFailure::NoRemoteCertificate);
                        return sent;
                    }
                    self.connected_at = Some(self.events.len());
                }
                Step::Keying(profile, material) => {
                    let Some(profile) = profile else {
                        self.fail(DtlsFailure::Protocol("unknown SRTP profile".into()));
                        return sent;
                    };
                    match SrtpKeyingMaterial::from_exported(profile, &material) {
                        Ok(km) => self.srtp = Some(km),
                        Err(e) => {
                            self.fail(DtlsFailure::Protocol(e.message().to_owned()));
                            return sent;
                        }
                    }
                }
                Step::AppData(d) => self.queue_app_data(d),
                Step::CloseNotify => {
                    // dimpl has already queued its reciprocal close_notify (RFC 5246 §7.2.1);
                    // take it before dropping the engine.
                    self.finish_connected();
                    while let Some(Step::Packet(p)) = self.next_step(None) {
                        self.queue_transmit(p);
                    }
                    self.dtls = None;
                    self.state = DtlsTransportState::Closed;
                    self.events.push_back(DtlsEvent::Closed);
                    return sent;
                }
                Step::Other => {}
            }
        }
        self.finish_connected();
        sent
    }

    /// Emits the deferred Connected event (with the keying material dimpl reports after its
    /// `Connected`), ahead of any application data that came in the same drain.
    fn finish_connected(&mut self) {
        let Some(pos) = self.connected_at.take() else {
            return;
        };
        if self.state != DtlsTransportState::Connecting {
            return;
        }
        let Some(remote_certificate) = self.remote_certificate.clone() else {
            return;
        };
        self.state = DtlsTransportState::Connected;
        self.deadline = None;
        self.suspicion = None;
        let ev = DtlsEvent::Connected(DtlsConnected {
            srtp: self.srtp.clone(),
            remote_certificate,
        });
        let pos = pos.min(self.events.len());
        self.events.insert(pos, ev);
    }

    fn queue_transmit(&mut self, datagram: Vec<u8>) {
        self.note_outgoing_records(&datagram);
        if self.transmits.len() >= MAX_TRANSMIT_QUEUE {
            self.stats.dropped_transmits += 1;
            return;
        }
        self.transmits.push_back(datagram);
    }

    fn queue_app_data(&mut self, data: Vec<u8>) {
        if self.app_events >= MAX_EVENT_QUEUE
            || self.pending_app_bytes + data.len() > MAX_PENDING_APPLICATION_BYTES
        {
            self.stats.dropped_application_data += 1;
            return;
        }
        self.pending_app_bytes += data.len();
        self.app_events += 1;
        self.events.push_back(DtlsEvent::ApplicationData(data));
    }

    /// Tracks the epochs and epoch-0 sequence numbers of the records we send (RFC 6347 §4.1
    /// record header), so our own alert can follow them.
    fn note_outgoing_records(&mut self, datagram: &[u8]) {
        if self.state == DtlsTransportState::Connecting && self.deadline.is_none() {
            self.deadline = self
                .last_now
                .and_then(|n| n.checked_add(self.timing.handshake_timeout));
        }
        for rec in RecordIter(datagram) {
            let epoch = u16::from_be_bytes([rec[3], rec[4]]);
            let seq = rec[5..11]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let mut progress = false;
            if epoch == 0 {
                self.epoch0_next_seq = self.epoch0_next_seq.max(seq + 1);
                if rec[0] == 22 {
                    if self.role == Some(DtlsRole::Server) && self.cipher_suite.is_none() {
                        self.cipher_suite = server_hello_cipher(&rec[RECORD_HEADER_LEN..]);
                    }
                    for f in FragmentIter(&rec[RECORD_HEADER_LEN..]).map_while(|f| f.ok()) {
                        let m = f.message_seq;
                        progress |= self.sent_message_seq.is_none_or(|s| m > s);
                        self.sent_message_seq = Some(self.sent_message_seq.map_or(m, |s| s.max(m)));
                        if f.msg_type < 32 {
                            self.sent_types |= 1 << f.msg_type;
                        }
                        self.sent_second_hello |= f.msg_type == 1 && m == 1;
                    }
                }
            } else {
                progress = !self.sent_encrypted;
                self.sent_encrypted = true;
            }
            // A new flight of ours answers a real flight of the peer: bad news seen before it
            // was not the end of this handshake.
            if progress && let Some((_, at)) = self.suspicion.as_mut() {
                *at = None;
            }
        }
    }

    /// Queues a plaintext fatal alert (RFC 5246 §7.2) in epoch 0. Valid while we have not sent
    /// our ChangeCipherSpec, which holds whenever we reject the peer's certificate: dimpl
    /// reports the certificate before any of our later flight reaches the wire.
    fn send_fatal_alert(&mut self, description: u8) {
        if self.sent_encrypted || self.epoch0_next_seq >= 1 << 48 {
            return;
        }
        let seq = self.epoch0_next_seq.to_be_bytes();
        let mut rec = Vec::with_capacity(RECORD_HEADER_LEN + 2);
        rec.push(21); // ContentType alert
        rec.extend_from_slice(&[0xfe, 0xfd]); // DTLS 1.2
        rec.extend_from_slice(&[0, 0]); // epoch 0
        rec.extend_from_slice(&seq[2..8]); // 48-bit sequence number
        rec.extend_from_slice(&[0, 2]);
        rec.extend_from_slice(&[2, description]); // fatal
        self.queue_transmit(rec);
    }

    fn fail(&mut self, reason: DtlsFailure) {
        self.dtls = None;
        self.connected_at = None;
        if matches!(
            self.state,
            DtlsTransportState::Closed | DtlsTransportState::Failed
        ) {
            return;
        }
        self.state = DtlsTransportState::Failed;
        self.engine_timer = None;
        // Application data of a connection that failed verification never existed.
        if reason == DtlsFailure::FingerprintMismatch || !self.certificate_verified {
            self.events
                .retain(|e| !matches!(e, DtlsEvent::ApplicationData(_)));
            self.pending_app_bytes = 0;
            self.app_events = 0;
            self.srtp = None;
        }
        self.events.push_back(DtlsEvent::Failed(reason));
    }
}

/// DTLS record header length: type, version, epoch, sequence number, length (RFC 6347 §4.1).
const RECORD_HEADER_LEN: usize = 13;

/// The complete records of a datagram, each with its header (RFC 6347 §4.1); stops at the
/// first incomplete one. Every yielded slice is at least [`RECORD_HEADER_LEN`] long.
struct RecordIter<'a>(&'a [u8]);

impl<'a> Iterator for RecordIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let header = self.0.get(..RECORD_HEADER_LEN)?;
        let len = RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([header[11], header[12]]));
        let Some(record) = self.0.get(..len) else {
            self.0 = &[];
            return None;
        };
        self.0 = &self.0[len..];
        Some(record)
    }
}

/// Copies one engine output out of its borrowed buffer.
fn step_of(output: dimpl::Output<'_>, spare: &mut Vec<Vec<u8>>) -> Step {
    match output {
        dimpl::Output::Packet(p) => Step::Packet(buffer_of(spare, p)),
        dimpl::Output::BufferTooSmall { needed } => Step::Grow(needed),
        dimpl::Output::Timeout(t) => Step::Timeout(t),
        dimpl::Output::Connected => Step::Connected,
        dimpl::Output::PeerCert(der) => Step::PeerCert(der.to_vec()),
        dimpl::Output::KeyingMaterial(km, profile) => {
            Step::Keying(SrtpProfile::from_dimpl(profile), km.to_vec())
        }
        dimpl::Output::ApplicationData(d) => Step::AppData(buffer_of(spare, d)),
        dimpl::Output::CloseNotify => Step::CloseNotify,
        _ => Step::Other,
    }
}

/// A copy of `data` in a spare buffer when there is one.
fn buffer_of(spare: &mut Vec<Vec<u8>>, data: &[u8]) -> Vec<u8> {
    match spare.pop() {
        Some(mut b) => {
            b.extend_from_slice(data);
            b
        }
        None => data.to_vec(),
    }
}

/// What [`DtlsConnection::screen`] does with one record.
enum Verdict {
    Keep,
    Invalid,
    /// An epoch-0 alert, with its description when it is fatal (RFC 5246 §7.2).
    PlaintextAlert {
        fatal: Option<u8>,
    },
}

/// Judges one complete record (at least [`RECORD_HEADER_LEN`] bytes) by itself (RFC 6347
/// §4.1: type, version, epoch, length), a ChangeCipherSpec by its one-byte body (RFC 5246
/// §7.1) and a plaintext handshake record by the headers of its fragments ([`FragmentIter`]).
/// What the handshake so far allows is judged by [`DtlsConnection::screen`].
fn classify(record: &[u8]) -> Verdict {
    let (content_type, version, epoch) = (
        record[0],
        [record[1], record[2]],
        u16::from_be_bytes([record[3], record[4]]),
    );
    let body = &record[RECORD_HEADER_LEN..];
    // DTLS 1.2 is 0xfefd; DTLS 1.0 (0xfeff) is allowed in a ClientHello's record.
    if version != [0xfe, 0xfd] && version != [0xfe, 0xff] {
        return Verdict::Invalid;
    }
    if body.len() > MAX_RECORD_BODY {
        return Verdict::Invalid;
    }
    match (content_type, epoch) {
        // alert
        (21, 0) => Verdict::PlaintextAlert {
            fatal: match body {
                [2, description, ..] => Some(*description),
                _ => None,
            },
        },
        // change_cipher_spec is sent in the old epoch, 0, and is one byte of value 1.
        (20, 0) if body == [1] => Verdict::Keep,
        // handshake: whole fragments only, at most as many as the engine reads.
        (22, 0)
            if !body.is_empty()
                && FragmentIter(body)
                    .take(MAX_FRAGMENTS_PER_RECORD + 1)
                    .count()
                    <= MAX_FRAGMENTS_PER_RECORD
                && FragmentIter(body).all(|f| f.is_ok()) =>
        {
            Verdict::Keep
        }
        // Encrypted handshake (Finished), alerts and application data: the engine
        // authenticates them.
        (21..=23, 1) => Verdict::Keep,
        _ => Verdict::Invalid,
    }
}

/// The header of one handshake fragment (RFC 6347 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fragment {
    msg_type: u8,
    message_seq: u16,
}

/// The fragments of a plaintext handshake record's body (RFC 6347 §4.2.2). Each must be
/// whole and consistent: `fragment_offset + fragment_length <= length <=`
/// [`MAX_HANDSHAKE_MESSAGE`], its bytes present, and not empty unless the message is
/// (ServerHelloDone); the first one that is not yields `Err` and ends the iteration, as do
/// leftover bytes shorter than a header.
struct FragmentIter<'a>(&'a [u8]);

impl Iterator for FragmentIter<'_> {
    type Item = std::result::Result<Fragment, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let u24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]);
        let Some(h) = self.0.get(..HANDSHAKE_HEADER_LEN) else {
            self.0 = &[];
            return Some(Err(()));
        };
        let (length, offset, fragment_length) = (u24(&h[1..4]), u24(&h[6..9]), u24(&h[9..12]));
        let end = HANDSHAKE_HEADER_LEN + fragment_length as usize;
        let whole = offset + fragment_length <= length
            && length <= MAX_HANDSHAKE_MESSAGE
            && (fragment_length > 0 || length == 0)
            && end <= self.0.len();
        if !whole {
            self.0 = &[];
            return Some(Err(()));
        }
        let f = Fragment {
            msg_type: h[0],
            message_seq: u16::from_be_bytes([h[4], h[5]]),
        };
        self.0 = &self.0[end..];
        Some(Ok(f))
    }
}

/// The `cipher_suite` of a ServerHello (RFC 5246 §7.4.1.3: version, random, session id,
/// cipher suite) whose first fragment is in this plaintext handshake record body, if any.
fn server_hello_cipher(body: &[u8]) -> Option<u16> {
    let mut rest = body;
    while let Some(h) = rest.get(..HANDSHAKE_HEADER_LEN) {
        let fragment_length = u32::from_be_bytes([0, h[9], h[10], h[11]]) as usize;
        let fragment = rest.get(HANDSHAKE_HEADER_LEN..HANDSHAKE_HEADER_LEN + fragment_length)?;
        if h[0] == 2 && h[6..9] == [0, 0, 0] {
            let session_id_len = usize::from(*fragment.get(34)?);
            let at = 35 + session_id_len;
            let suite = fragment.get(at..at + 2)?;
            return Some(u16::from_be_bytes([suite[0], suite[1]]));
        }
        rest = &rest[HANDSHAKE_HEADER_LEN + fragment_length..];
    }
    None
}

/// A TLS cipher suite by its IANA "TLS Cipher Suites" registry value (RFC 5246 §A.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtlsCipherSuite(pub u16);

impl DtlsCipherSuite {
    /// The registry name (webrtc-stats `dtlsCipher`), e.g.
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`; `None` for a suite this table lacks.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0xC009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
            0xC00A => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            0xC013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            0xC014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            0xC02B => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            0xC02C => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            0xC02F => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            0xC030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            0xC0AC => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
            0xC0AE => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
            0xCCA8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            0xCCA9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            _ => return None,
        })
    }
}

/// Whether a peer in the other role sends a plaintext handshake message of `msg_type`
/// (RFC 5246 §7.4) with this `message_seq` in a full DTLS 1.2 handshake (RFC 6347 §4.2.2,
/// §4.2.1), `hello_verified` meaning a HelloVerifyRequest round was made. A server sends
/// HelloVerifyRequest (0, optional), ServerHello, Certificate, ServerKeyExchange (ECDHE
/// suites only are offered), CertificateRequest (optional), ServerHelloDone; a client
/// ClientHello (again after a HelloVerifyRequest), Certificate, ClientKeyExchange,
/// CertificateVerify. ClientHello to a client, hello_request (no renegotiation),
/// new_session_ticket (never asked for) and a plaintext Finished never fit.
fn peer_may_send(our_role: DtlsRole, message_seq: u16, msg_type: u8, hello_verified: bool) -> bool {
    let h = u16::from(hello_verified);
    match our_role {
        DtlsRole::Client => match message_seq {
            // HelloVerifyRequest (3), or ServerHello (2) straight away.
            0 => msg_type == 3 || (msg_type == 2 && h == 0),
            s if s == h => msg_type == 2,
            s if s == h + 1 => msg_type == 11,
            s if s == h + 2 => msg_type == 12,
            // CertificateRequest (13) or, without it, ServerHelloDone (14).
            s if s == h + 3 => msg_type == 13 || msg_type == 14,
            s if s == h + 4 => msg_type == 14,
            _ => false,
        },
        DtlsRole::Server => match message_seq {
            0 => msg_type == 1,
            1 if h == 1 => msg_type == 1,
            s if s == h + 1 => msg_type == 11,
            s if s == h + 2 => msg_type == 16,
            s if s == h + 3 => msg_type == 15,
            _ => false,
        },
    }
}

/// Whether an engine error on received input leaves the transport running (see
/// [`DtlsConnection::engine_packet`]).
fn is_soft_error(e: &dimpl::Error, state: DtlsTransportState) -> bool {
    match e {
        dimpl::Error::ReceiveQueueFull => true,
        dimpl::Error::Timeout(_) | dimpl::Error::ConnectionClosed => false,
        // Only raised for epoch-1 alerts once the peer's keys are in use: authenticated.
        dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { .. }) => false,
        _ => state == DtlsTransportState::Connecting,
    }
}

fn failure_from(e: &dimpl::Error) -> DtlsFailure {
    match e {
        dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { description }) => {
            DtlsFailure::AlertReceived(*description)
        }
        dimpl::Error::Timeout(_) => DtlsFailure::Timeout,
        other => DtlsFailure::Protocol(other.to_string()),
    }
}
