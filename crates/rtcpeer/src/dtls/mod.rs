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
//!   description) are kept and replayed at start, not dropped.
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
        /// Closed by `close_notify` (sent or received) or by [`DtlsConnection::close`].
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

/// Non-standard DTLS knobs (they live with the other `SettingEngine`-style settings, DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsSettings {
    /// Largest datagram the handshake produces (dimpl fragments flights to fit). Default 1150.
    pub mtu: usize,
    /// First retransmission timeout of a flight, doubled each retry with ±25% jitter
    /// (RFC 6347 §4.2.4.1 recommends 1 s). Default 1 s.
    pub flight_start_rto: Duration,
    /// Retransmissions per flight before the handshake fails. Default 4.
    pub flight_retries: usize,
    /// Deadline for the whole handshake. Default 40 s.
    pub handshake_timeout: Duration,
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
            flight_start_rto: Duration::from_secs(1),
            flight_retries: 4,
            handshake_timeout: Duration::from_secs(40),
            server_cookie: false,
            rng_seed: None,
        }
    }
}

/// A validated DTLS configuration, built once from [`DtlsSettings`] and shared (cheap clone) by
/// every [`DtlsConnection`]; building it runs dimpl's crypto provider self-check.
#[derive(Clone)]
pub struct DtlsConfig {
    inner: Arc<dimpl::Config>,
}

impl fmt::Debug for DtlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsConfig")
            .field("mtu", &self.inner.mtu())
            .field("flight_start_rto", &self.inner.flight_start_rto())
            .field("flight_retries", &self.inner.flight_retries())
            .field("handshake_timeout", &self.inner.handshake_timeout())
            .finish()
    }
}

impl DtlsConfig {
    /// Validates `settings` and builds the engine configuration: DTLS 1.2, client certificates
    /// required (WebRTC authenticates both ends, RFC 8827 §6.5), all of dimpl's ECDHE-ECDSA AEAD
    /// suites. Invalid settings (zero timeouts, MTU below 64) give an `OperationError`.
    pub fn new(settings: &DtlsSettings) -> Result<DtlsConfig> {
        if settings.handshake_timeout > IDLE_TIMER || settings.flight_start_rto > IDLE_TIMER {
            return Err(Error::operation("DTLS timeouts must be under 30 days"));
        }
        let mut builder = dimpl::Config::builder()
            .mtu(settings.mtu)
            .flight_start_rto(settings.flight_start_rto)
            .flight_retries(settings.flight_retries)
            .handshake_timeout(settings.handshake_timeout)
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
    /// The peer sent a fatal alert (its description code, RFC 5246 §7.2).
    AlertReceived(u8),
    /// The handshake did not complete within the retransmission budget or the deadline.
    Timeout,
    /// Any other handshake or protocol error reported by the engine.
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
    timeout: Option<Instant>,
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
            timeout: None,
            remote_certificate: None,
            certificate_verified: false,
            connected_at: None,
            srtp: None,
            epoch0_next_seq: 0,
            sent_encrypted: false,
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
        let cert = dimpl::DtlsCertificate {
            certificate: self.certificate.der().to_vec(),
            private_key: self.certificate.private_key_der().to_vec(),
        };
        let mut dtls = dimpl::Dtls::new_12(self.config.clone(), cert, now);
        if role == DtlsRole::Client {
            dtls.set_active(true);
        }
        self.role = Some(role);
        self.fingerprints = Some(remote_fingerprints);
        self.dtls = Some(dtls);
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
                if self.prestart.len() >= MAX_PRESTART_DATAGRAMS
                    || self.prestart_bytes + datagram.len() > MAX_PRESTART_BYTES
                {
                    self.stats.dropped_datagrams += 1;
                } else {
                    self.prestart_bytes += datagram.len();
                    self.prestart.push_back(datagram.to_vec());
                }
            }
            DtlsTransportState::Connecting | DtlsTransportState::Connected => {
                let now = self.clock(now);
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
    /// the retransmission budget or deadline is spent.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_running() {
            let now = self.clock(now);
            self.engine_call(|d| d.handle_timeout(now));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.is_running() {
            return None;
        }
        let (t, now) = (self.timeout?, self.last_now?);
        (t.saturating_duration_since(now) < IDLE_TIMER).then_some(t)
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
    /// cut off first, and once connected each record goes in on its own: dimpl discards a
    /// whole datagram when any part of it fails to parse, after it has already consumed the
    /// sequence numbers of the good records before it (RFC 6347 §4.1.2.7 wants only the bad
    /// record discarded), so junk appended to a real record would otherwise lose that record.
    fn feed(&mut self, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        let mut records = RecordIter(datagram).peekable();
        if records.peek().is_none() {
            self.stats.dropped_datagrams += 1;
            return;
        }
        if self.state == DtlsTransportState::Connected {
            for record in records {
                if !self.is_running() {
                    break;
                }
                self.engine_call(|d| d.handle_packet(record));
            }
        } else {
            let complete: usize = records.map(<[u8]>::len).sum();
            let prefix = datagram.get(..complete).unwrap_or(datagram);
            self.engine_call(|d| d.handle_packet(prefix));
        }
    }

    /// Runs one engine call, then collects everything it produced. Every engine error is
    /// fatal (dimpl's contract), so it fails the transport.
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
                self.fail(failure_from(&e));
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
                    self.timeout = Some(t);
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
        for rec in RecordIter(datagram) {
            let epoch = u16::from_be_bytes([rec[3], rec[4]]);
            let seq = rec[5..11]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            if epoch == 0 {
                self.epoch0_next_seq = self.epoch0_next_seq.max(seq + 1);
            } else {
                self.sent_encrypted = true;
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
        self.timeout = None;
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

fn failure_from(e: &dimpl::Error) -> DtlsFailure {
    match e {
        dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { description }) => {
            DtlsFailure::AlertReceived(*description)
        }
        dimpl::Error::Timeout(_) => DtlsFailure::Timeout,
        other => DtlsFailure::Protocol(other.to_string()),
    }
}
