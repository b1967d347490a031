//! Sans-IO TURN client (RFC 8656) for one allocation over UDP, TCP or TLS: Allocate with the long-term
//! credential mechanism (RFC 8489 §9.2), Refresh, CreatePermission, ChannelBind, Send and Data
//! indications and ChannelData framing (RFC 8656 §12).
//!
//! One [`TurnClient`] talks to one server from one local socket (the 5-tuple of the
//! allocation, RFC 8656 §2). The driver (here: the ICE agent) feeds it what that socket
//! received from the server ([`TurnClient::handle_input`]), its timer expiries
//! ([`TurnClient::handle_timeout`]) and drains [`TurnClient::poll_transmit`] (datagrams for
//! the server) and [`TurnClient::poll_event`]. Time is always an argument; transaction ids
//! come from the [`RandomSource`] given at construction.
//!
//! Behaviour:
//! - Allocate is sent without credentials; a 401 with REALM and NONCE makes the client retry
//!   once with USERNAME/REALM/NONCE/MESSAGE-INTEGRITY (RFC 8489 §9.2.3); a second 401 fails
//!   the allocation with 401 (wrong credentials). A 438 (stale nonce) on any request makes
//!   it retry with the new NONCE, at most [`MAX_STALE_NONCE_RETRIES`] times in a row.
//! - Success responses to authenticated requests must carry a valid MESSAGE-INTEGRITY, else
//!   they are dropped (RFC 8489 §9.2.5).
//! - Refresh leaves [`REFRESH_MARGIN`] before the granted LIFETIME ends (half the lifetime
//!   when it is shorter than two margins, RFC 8656 §8); permissions (5 min, RFC 8656 §9) are
//!   refreshed every [`PERMISSION_REFRESH`], channels (10 min, RFC 8656 §12) every
//!   [`CHANNEL_REFRESH`]. [`TurnClient::close`] sends Refresh with LIFETIME 0 (RFC 8656 §7).
//! - Requests are retransmitted on the RFC 8489 §6.2.1 schedule ([`TurnConfig`]); an
//!   unanswered Allocate fails with 701 (webrtc-pc §4.8.2's code for an unreachable server).
//! - Data from a peer arrives as a Data indication (only from an IP address with a
//!   permission) or as ChannelData on a bound channel; both are returned as borrowed views of
//!   the datagram ([`TurnInput::Data`]), never copied.
//!
//! Bounds: permissions ([`MAX_PERMISSIONS`]), channels ([`MAX_CHANNELS`], numbers never
//! reused within an allocation), queued transmits ([`MAX_QUEUED_TRANSMITS`]) and events
//! ([`MAX_QUEUED_EVENTS`]); at most one transaction per permission, per channel, plus one for
//! the allocation, so the transaction table is bounded by these too.
//!
//! Over TCP or TLS (RFC 8656 §3.1) the client is the same: messages are whole STUN or
//! ChannelData messages either way; [`TurnConfig::stream`] pads ChannelData to 4 bytes
//! (§12.5), the caller cuts the byte stream with [`StreamDeframer`], sets one transmission
//! per request (RFC 8489 §6.2.2) and reports a lost connection with
//! [`TurnClient::transport_lost`]. The relayed transport itself is always UDP.
//!
//! Not covered: TURN over DTLS (`turns:...?transport=udp`), EVEN-PORT/RESERVATION-TOKEN, DONT-FRAGMENT,
//! IPv6 relays requested from an IPv4 server (REQUESTED-ADDRESS-FAMILY), PASSWORD-ALGORITHMS,
//! ALTERNATE-SERVER (300 is reported as a failure).

mod stream;
#[cfg(test)]
mod tests;

pub use stream::{DEFAULT_READ_ROOM, DeframeError, MAX_STREAM_FRAME, StreamDeframer};

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::stun::{
    CHANNEL_DATA_HEADER_LEN, ChannelData, Class, Message, MessageWriter, Method, TransactionId,
    is_channel_data, is_stun, long_term_key,
};
use crate::util::RandomSource;

/// Most peer IP addresses with a permission per allocation.
pub const MAX_PERMISSIONS: usize = 64;
/// Most channels bound per allocation.
pub const MAX_CHANNELS: usize = 64;
/// Most datagrams queued for [`TurnClient::poll_transmit`]; beyond this new ones are dropped
/// (requests are retransmitted, so this is loss, not corruption).
pub const MAX_QUEUED_TRANSMITS: usize = 256;
/// Most events queued for [`TurnClient::poll_event`]; beyond this new ones are dropped.
pub const MAX_QUEUED_EVENTS: usize = 256;
/// Consecutive 438 (Stale Nonce) answers a request is retried after (RFC 8489 §9.2.5).
pub const MAX_STALE_NONCE_RETRIES: u32 = 3;
/// The allocation is refreshed this long before its lifetime ends (RFC 8656 §8: "about one
/// minute").
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Permissions last 300 s (RFC 8656 §9); they are refreshed after 240 s.
pub const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// Channel bindings last 600 s (RFC 8656 §12); they are refreshed after 540 s.
pub const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// First channel number (RFC 8656 §12).
pub const FIRST_CHANNEL: u16 = 0x4000;
/// Last channel number (RFC 8656 §12).
pub const LAST_CHANNEL: u16 = 0x4FFF;
/// REQUESTED-TRANSPORT value for UDP (the IANA protocol number 17, RFC 8656 §18.8).
pub const TRANSPORT_UDP: u8 = 17;
/// Error code reported when the server did not answer (webrtc-pc §4.8.2 uses 701 for an
/// unreachable server).
pub const CODE_UNREACHABLE: u16 = 701;
/// Longest lifetime the client schedules with: a server granting more is refreshed as if it
/// had granted one hour (keeps timer arithmetic bounded).
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Retransmission settings of TURN requests (RFC 8489 §6.2.1).
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// Initial RTO, default 500 ms (RFC 8489 §6.2.1).
    pub rto: Duration,
    /// Transmissions before a request fails (Rc, default 7, RFC 8489 §6.2.1).
    pub max_transmissions: u32,
    /// Wait after the last transmission, in RTOs (Rm, default 16, RFC 8489 §6.2.1).
    pub last_wait: u32,
    /// Over a stream (TCP/TLS) ChannelData is padded to 4 bytes (RFC 8656 §12.5); over UDP
    /// it is not (default `false`).
    pub stream: bool,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            rto: Duration::from_millis(500),
            max_transmissions: 7,
            last_wait: 16,
            stream: false,
        }
    }
}

/// Where the allocation stands (RFC 8656 §6, §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnState {
    /// Created; [`TurnClient::allocate`] not called yet.
    Idle,
    /// Allocate sent, no final answer yet.
    Allocating,
    /// The server granted an allocation.
    Allocated {
        /// The relayed transport address (XOR-RELAYED-ADDRESS, RFC 8656 §18.5).
        relayed: SocketAddr,
        /// Our address as the server saw it (XOR-MAPPED-ADDRESS, RFC 8489 §14.2).
        mapped: Option<SocketAddr>,
    },
    /// The allocation failed or was lost (the code of the last [`TurnEvent::Failed`]).
    Failed(u16),
    /// [`TurnClient::close`] was called.
    Closed,
}

/// What the client reports (RFC 8656 §6–§12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The allocation was granted (RFC 8656 §6.3).
    Allocated {
        /// The relayed transport address (XOR-RELAYED-ADDRESS).
        relayed: SocketAddr,
        /// Our server-reflexive address (XOR-MAPPED-ADDRESS), if the server sent it.
        mapped: Option<SocketAddr>,
        /// The granted lifetime (LIFETIME, RFC 8656 §18.2).
        lifetime: Duration,
    },
    /// The allocation failed (Allocate error or timeout) or was lost (a Refresh failed,
    /// e.g. 437 Allocation Mismatch): nothing is relayed any more (RFC 8656 §6.4, §7.3).
    Failed {
        /// The server's error code (401, 437, 441, 486, 508, ...) or 701 when it did not
        /// answer.
        code: u16,
        /// The server's reason phrase, or ours.
        text: String,
    },
    /// A CreatePermission failed (RFC 8656 §9.2); data to that IP address is not relayed.
    PermissionFailed {
        /// The peer's IP address.
        peer: IpAddr,
        /// Error code or 701.
        code: u16,
        /// Reason phrase.
        text: String,
    },
    /// A ChannelBind failed (RFC 8656 §12.2); data to the peer keeps using Send indications.
    ChannelBindFailed {
        /// The peer's transport address.
        peer: SocketAddr,
        /// Error code or 701.
        code: u16,
        /// Reason phrase.
        text: String,
    },
}

/// What a datagram from the server turned out to be ([`TurnClient::handle_input`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnInput<'a> {
    /// A response the client consumed (or a STUN message it dropped as unexpected).
    Consumed,
    /// Application data relayed from `peer` (a Data indication, RFC 8656 §11.6, or
    /// ChannelData, RFC 8656 §12.6), borrowed from the datagram.
    Data {
        /// The peer's transport address.
        peer: SocketAddr,
        /// The payload.
        data: &'a [u8],
    },
    /// Neither STUN nor ChannelData, malformed, or data from a peer without permission or
    /// on an unknown channel: dropped (counted in [`TurnClient::dropped`]).
    Dropped,
    /// Well-formed STUN that is not for this client: a response to a transaction it did not
    /// start, a request, an indication other than Data. The server may also be the STUN
    /// server of a Binding request sent from the same socket (RFC 8489 §8), so the caller
    /// routes it on.
    NotOurs,
}

/// Why [`TurnClient`] refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnError {
    /// No allocation (not granted yet, failed, or closed).
    NotAllocated,
    /// [`MAX_PERMISSIONS`] or [`MAX_CHANNELS`] reached, or the channel numbers of this
    /// allocation are used up.
    Full,
    /// The peer's address family differs from the relayed address's (RFC 8656 §9.1).
    WrongFamily,
    /// The payload does not fit a TURN message (65 535 bytes of ChannelData, RFC 8656 §12.4).
    TooLong,
}

impl fmt::Display for TurnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TurnError::NotAllocated => "TURN: no allocation",
            TurnError::Full => "TURN: too many permissions or channels",
            TurnError::WrongFamily => "TURN: peer address family differs from the relay's",
            TurnError::TooLong => "TURN: payload too long",
        })
    }
}

impl std::error::Error for TurnError {}

/// STUN retransmission schedule: transmission k waits RTO·2^(k-1), the last one Rm·RTO
/// (RFC 8489 §6.2.1).
#[derive(Debug, Clone)]
struct Retrans {
    rto: Duration,
    sent: u32,
    max: u32,
    rm: u32,
    next: Instant,
}

impl Retrans {
    fn new(now: Instant, c: &TurnConfig) -> Retrans {
        let mut r = Retrans {
            rto: c.rto.min(Duration::from_secs(60)),
            sent: 1,
            max: c.max_transmissions.clamp(1, 32),
            rm: c.last_wait.min(64),
            next: now,
        };
        r.next = now + r.wait();
        r
    }

    fn wait(&self) -> Duration {
        if self.sent < self.max {
            self.rto.saturating_mul(1 << (self.sent - 1).min(16))
        } else {
            self.rto.saturating_mul(self.rm)
        }
        .min(Duration::from_secs(86_400))
    }

    /// `true` to retransmit now (and re-arm), `false` when the transaction failed.
    fn expire(&mut self, now: Instant) -> bool {
        if self.sent >= self.max {
            return false;
        }
        self.sent += 1;
        self.next = now + self.wait();
        true
    }
}

/// What a transaction asks for; rebuilt with the current NONCE on a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Allocate,
    /// Refresh with LIFETIME 0 when `delete`.
    Refresh {
        delete: bool,
    },
    CreatePermission(IpAddr),
    ChannelBind {
        number: u16,
        peer: SocketAddr,
    },
}

#[derive(Debug, Clone)]
struct Transaction {
    tid: TransactionId,
    request: Request,
    authenticated: bool,
    stale_retries: u32,
    retrans: Retrans,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Permission {
    ip: IpAddr,
    /// Installed on the server (a success response arrived).
    installed: bool,
    /// When to send the next CreatePermission (refresh).
    refresh_at: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Channel {
    number: u16,
    peer: SocketAddr,
    bound: bool,
    refresh_at: Option<Instant>,
}

/// A TURN client for one allocation (RFC 8656), over UDP or a stream. See the module
/// documentation.
pub struct TurnClient {
    config: TurnConfig,
    server: SocketAddr,
    username: String,
    password: String,
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<[u8; 16]>,
    state: TurnState,
    /// When the Refresh of the allocation is due.
    refresh_at: Option<Instant>,
    transactions: Vec<Transaction>,
    permissions: Vec<Permission>,
    channels: Vec<Channel>,
    next_channel: u16,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<TurnEvent>,
    rng: Box<dyn RandomSource>,
    dropped: u64,
}

impl fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnClient")
            .field("server", &self.server)
            .field("state", &self.state)
            .field("permissions", &self.permissions.len())
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    /// A client for `server` with the long-term credentials `username`/`password` (the
    /// `RTCIceServer`'s `username`/`credential`, used byte for byte: RFC 8489 §9.2.2).
    pub fn new(
        server: SocketAddr,
        username: &str,
        password: &str,
        config: TurnConfig,
        rng: Box<dyn RandomSource>,
    ) -> TurnClient {
        TurnClient {
            config,
            server,
            username: username.to_string(),
            password: password.to_string(),
            realm: None,
            nonce: None,
            key: None,
            state: TurnState::Idle,
            refresh_at: None,
            transactions: Vec::new(),
            permissions: Vec::new(),
            channels: Vec::new(),
            next_channel: FIRST_CHANNEL,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            dropped: 0,
        }
    }

    /// The server's transport address (where [`TurnClient::poll_transmit`] datagrams go).
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The allocation's state.
    pub fn state(&self) -> &TurnState {
        &self.state
    }

    /// The relayed transport address once allocated (RFC 8656 §6.3).
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        match self.state {
            TurnState::Allocated { relayed, .. } => Some(relayed),
            _ => None,
        }
    }

    /// Datagrams from the server dropped so far (malformed, unauthenticated, unexpected).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Permissions held or being installed (at most [`MAX_PERMISSIONS`], RFC 8656 §9).
    pub fn permission_count(&self) -> usize {
        self.permissions.len()
    }

    /// Channels bound or being bound (at most [`MAX_CHANNELS`], RFC 8656 §12).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The connection to the server (TCP or TLS, RFC 8656 §3.1) closed or broke: the
    /// allocation is gone with its 5-tuple; reported as [`TurnEvent::Failed`] with `code`
    /// (the caller's, e.g. 701) unless already failed or closed.
    pub fn transport_lost(&mut self, code: u16, text: &str) {
        if matches!(self.state, TurnState::Failed(_) | TurnState::Closed) {
            return;
        }
        self.transmits.clear();
        self.fail(code, text);
    }

    /// Pads ChannelData to 4 bytes, as a stream transport requires (RFC 8656 §12.5).
    pub fn set_stream_framing(&mut self, stream: bool) {
        self.config.stream = stream;
    }

    /// Sends the Allocate request (REQUESTED-TRANSPORT UDP, RFC 8656 §6.1). Only from
    /// [`TurnState::Idle`]; later calls do nothing.
    pub fn allocate(&mut self, now: Instant) {
        if self.state != TurnState::Idle {
            return;
        }
        self.state = TurnState::Allocating;
        self.start(now, Request::Allocate, 0);
    }

    /// Installs (and from then on refreshes) a permission for `peer` (RFC 8656 §9.1): the
    /// server relays data from that IP address only with one. Idempotent.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), TurnError> {
        let relayed = self.relayed_address().ok_or(TurnError::NotAllocated)?;
        if relayed.is_ipv4() != peer.is_ipv4() {
            return Err(TurnError::WrongFamily);
        }
        if self.permissions.iter().any(|p| p.ip == peer) {
            return Ok(());
        }
        if self.permissions.len() >= MAX_PERMISSIONS {
            return Err(TurnError::Full);
        }
        self.permissions.push(Permission {
            ip: peer,
            installed: false,
            refresh_at: None,
        });
        self.start(now, Request::CreatePermission(peer), 0);
        Ok(())
    }

    /// Binds a channel to `peer` (RFC 8656 §12.2), which also installs a permission for its
    /// IP address; once bound, [`TurnClient::wrap`] uses ChannelData for it and the binding
    /// is refreshed. Idempotent; returns the channel number.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<u16, TurnError> {
        let relayed = self.relayed_address().ok_or(TurnError::NotAllocated)?;
        if relayed.is_ipv4() != peer.is_ipv4() {
            return Err(TurnError::WrongFamily);
        }
        if let Some(c) = self.channels.iter().find(|c| c.peer == peer) {
            return Ok(c.number);
        }
        if self.channels.len() >= MAX_CHANNELS || self.next_channel > LAST_CHANNEL {
            return Err(TurnError::Full);
        }
        // The permission entry follows the channel (a ChannelBind refreshes it too).
        if !self.permissions.iter().any(|p| p.ip == peer.ip()) {
            if self.permissions.len() >= MAX_PERMISSIONS {
                return Err(TurnError::Full);
            }
            self.permissions.push(Permission {
                ip: peer.ip(),
                installed: false,
                refresh_at: None,
            });
            self.start(now, Request::CreatePermission(peer.ip()), 0);
        }
        let number = self.next_channel;
        self.next_channel += 1;
        self.channels.push(Channel {
            number,
            peer,
            bound: false,
            refresh_at: None,
        });
        self.start(now, Request::ChannelBind { number, peer }, 0);
        Ok(number)
    }

    /// Whether a permission for `peer` is installed on the server (RFC 8656 §9).
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.permissions.iter().any(|p| p.ip == peer && p.installed)
    }

    /// The channel bound to `peer`, if the server confirmed it (RFC 8656 §12.2).
    pub fn channel(&self, peer: SocketAddr) -> Option<u16> {
        self.channels
            .iter()
            .find(|c| c.peer == peer && c.bound)
            .map(|c| c.number)
    }

    /// Bytes [`TurnClient::wrap`] puts before a payload to `peer`: 4 with a bound channel
    /// (RFC 8656 §12.4), else a Send indication's header, XOR-PEER-ADDRESS and DATA header
    /// (RFC 8656 §11.1).
    pub fn header_len(&self, peer: SocketAddr) -> usize {
        if self.channel(peer).is_some() {
            CHANNEL_DATA_HEADER_LEN
        } else {
            let addr = if peer.is_ipv4() { 8 } else { 20 };
            20 + 4 + addr + 4
        }
    }

    /// Frames the payload `buf[start..]` for `peer` in place: a ChannelData header when a
    /// channel is bound (RFC 8656 §12.4; padded to 4 bytes on a stream, §12.5), else a Send
    /// indication (RFC 8656 §11.1). The header is inserted before the payload (one move of the
    /// payload within `buf`, no allocation once `buf` has the capacity); `buf[..start]` is
    /// left alone, so datagrams can be batched in one buffer. The result goes to
    /// [`TurnClient::server`].
    pub fn wrap(&mut self, peer: SocketAddr, buf: &mut Vec<u8>, start: usize) -> Result<(), TurnError> {
        let relayed = self.relayed_address().ok_or(TurnError::NotAllocated)?;
        if relayed.is_ipv4() != peer.is_ipv4() {
            return Err(TurnError::WrongFamily);
        }
        let start = start.min(buf.len());
        let len = buf.len() - start;
        let len16 = u16::try_from(len).map_err(|_| TurnError::TooLong)?;
        let pad = (4 - len % 4) % 4;
        if let Some(number) = self.channel(peer) {
            let mut h = [0u8; CHANNEL_DATA_HEADER_LEN];
            h[..2].copy_from_slice(&number.to_be_bytes());
            h[2..].copy_from_slice(&len16.to_be_bytes());
            buf.splice(start..start, h);
            if self.config.stream {
                buf.extend_from_slice(&[0u8; 3][..pad]);
            }
            return Ok(());
        }
        // Send indication: header, XOR-PEER-ADDRESS, DATA (RFC 8656 §11.1).
        let addr_len = if peer.is_ipv4() { 8 } else { 20 };
        let body = 4 + addr_len + 4 + len + pad;
        let body16 = u16::try_from(body).map_err(|_| TurnError::TooLong)?;
        let tid = self.new_tid();
        let mut h = Vec::with_capacity(48);
        {
            let mut w = MessageWriter::new(&mut h, Class::Indication, Method::SEND, tid);
            let _ = w.xor_peer_address(peer);
        }
        h[2..4].copy_from_slice(&body16.to_be_bytes());
        h.extend_from_slice(&crate::stun::AttrType::DATA.to_be_bytes());
        h.extend_from_slice(&len16.to_be_bytes());
        buf.splice(start..start, h);
        buf.extend_from_slice(&[0u8; 3][..pad]);
        Ok(())
    }

    /// Frames a payload for `peer`'s bound channel when its 4-byte header room is already
    /// there: `buf[start..start + 4]` is overwritten with the ChannelData header and the
    /// payload `buf[start + 4..]` stays where it is (a header write, no move; padded to 4
    /// bytes on a stream, RFC 8656 §12.4, §12.5). `Err` (nothing changed) without a bound
    /// channel or with a payload above 65 535 bytes.
    pub fn fill_channel_header(
        &self,
        peer: SocketAddr,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), TurnError> {
        let number = self.channel(peer).ok_or(TurnError::NotAllocated)?;
        let payload = start
            .checked_add(CHANNEL_DATA_HEADER_LEN)
            .filter(|p| *p <= buf.len())
            .ok_or(TurnError::TooLong)?;
        let len = buf.len() - payload;
        let len16 = u16::try_from(len).map_err(|_| TurnError::TooLong)?;
        buf[start..start + 2].copy_from_slice(&number.to_be_bytes());
        buf[start + 2..payload].copy_from_slice(&len16.to_be_bytes());
        if self.config.stream {
            let pad = (4 - len % 4) % 4;
            buf.extend_from_slice(&[0u8; 3][..pad]);
        }
        Ok(())
    }

    /// Feeds a datagram that arrived from [`TurnClient::server`] on the allocation's socket.
    /// Responses are matched to their transaction by id; Data indications and ChannelData
    /// become [`TurnInput::Data`] (RFC 8656 §11.6, §12.6).
    pub fn handle_input<'a>(&mut self, now: Instant, data: &'a [u8]) -> TurnInput<'a> {
        if is_channel_data(data) {
            return self.on_channel_data(data);
        }
        if !is_stun(data) {
            self.dropped += 1;
            return TurnInput::Dropped;
        }
        let Ok(msg) = Message::parse(data) else {
            self.dropped += 1;
            return TurnInput::Dropped;
        };
        if msg.has_fingerprint() && !msg.verify_fingerprint() {
            self.dropped += 1;
            return TurnInput::Dropped;
        }
        match msg.class() {
            Class::Indication if msg.method() == Method::DATA => self.on_data_indication(&msg),
            Class::SuccessResponse | Class::ErrorResponse => {
                if self.on_response(now, &msg) {
                    TurnInput::Consumed
                } else {
                    TurnInput::NotOurs
                }
            }
            _ => TurnInput::NotOurs,
        }
    }

    /// When [`TurnClient::handle_timeout`] must run next; `None` when nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| {
            if t.is_none_or(|y| x < y) {
                t = Some(x);
            }
        };
        for tx in &self.transactions {
            at(tx.retrans.next);
        }
        if let Some(r) = self.refresh_at {
            at(r);
        }
        for p in &self.permissions {
            if let Some(r) = p.refresh_at {
                at(r);
            }
        }
        for c in &self.channels {
            if let Some(r) = c.refresh_at {
                at(r);
            }
        }
        t
    }

    /// Runs what is due at `now`: retransmissions and their failures (RFC 8489 §6.2.1), the
    /// allocation's Refresh (RFC 8656 §7), permission and channel refreshes (§9, §12).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.transactions.len() {
            let tx = &mut self.transactions[i];
            if tx.retrans.next <= now {
                if tx.retrans.expire(now) {
                    let d = tx.data.clone();
                    self.push_transmit(d);
                } else {
                    let tx = self.transactions.swap_remove(i);
                    self.on_failure(now, tx.request, CODE_UNREACHABLE, "TURN server did not answer");
                    continue;
                }
            }
            i += 1;
        }
        if !matches!(self.state, TurnState::Allocated { .. }) {
            return;
        }
        if self.refresh_at.is_some_and(|r| r <= now) {
            self.refresh_at = None;
            self.start(now, Request::Refresh { delete: false }, 0);
        }
        for pi in 0..self.permissions.len() {
            if self.permissions[pi].refresh_at.is_some_and(|r| r <= now) {
                self.permissions[pi].refresh_at = None;
                let ip = self.permissions[pi].ip;
                self.start(now, Request::CreatePermission(ip), 0);
            }
        }
        for ci in 0..self.channels.len() {
            if self.channels[ci].refresh_at.is_some_and(|r| r <= now) {
                self.channels[ci].refresh_at = None;
                let (number, peer) = (self.channels[ci].number, self.channels[ci].peer);
                self.start(now, Request::ChannelBind { number, peer }, 0);
            }
        }
    }

    /// Next datagram for the server.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// Releases the allocation: a Refresh with LIFETIME 0 (RFC 8656 §7.1) when one exists,
    /// sent once (queued for [`TurnClient::poll_transmit`]); everything else stops.
    pub fn close(&mut self, now: Instant) {
        let allocated = matches!(self.state, TurnState::Allocated { .. });
        self.transactions.clear();
        self.permissions.clear();
        self.channels.clear();
        self.refresh_at = None;
        self.events.clear();
        if allocated {
            self.start(now, Request::Refresh { delete: true }, 0);
            // Sent once: nobody waits for the answer.
            self.transactions.clear();
        }
        self.state = TurnState::Closed;
    }

    // ------------------------------------------------------------------ internals

    fn new_tid(&mut self) -> TransactionId {
        let mut t = [0u8; 12];
        self.rng.fill(&mut t);
        TransactionId(t)
    }

    fn push_transmit(&mut self, d: Vec<u8>) {
        if self.transmits.len() < MAX_QUEUED_TRANSMITS {
            self.transmits.push_back(d);
        }
    }

    fn push_event(&mut self, e: TurnEvent) {
        if self.events.len() < MAX_QUEUED_EVENTS {
            self.events.push_back(e);
        }
    }

    /// Writes `request` with the current credentials and starts its transaction.
    fn start(&mut self, now: Instant, request: Request, stale_retries: u32) {
        let tid = self.new_tid();
        let mut data = Vec::with_capacity(128);
        let authenticated = self.write_request(&mut data, tid, request);
        self.push_transmit(data.clone());
        self.transactions.push(Transaction {
            tid,
            request,
            authenticated,
            stale_retries,
            retrans: Retrans::new(now, &self.config),
            data,
        });
    }

    /// Writes a request; returns whether it carries MESSAGE-INTEGRITY (RFC 8489 §9.2.4).
    fn write_request(&self, buf: &mut Vec<u8>, tid: TransactionId, request: Request) -> bool {
        let method = match request {
            Request::Allocate => Method::ALLOCATE,
            Request::Refresh { .. } => Method::REFRESH,
            Request::CreatePermission(_) => Method::CREATE_PERMISSION,
            Request::ChannelBind { .. } => Method::CHANNEL_BIND,
        };
        let mut w = MessageWriter::new(buf, Class::Request, method, tid);
        // Writes can only fail past 64 KiB; every value here is small or was capped.
        match request {
            Request::Allocate => {
                let _ = w.requested_transport(TRANSPORT_UDP);
            }
            Request::Refresh { delete } => {
                if delete {
                    let _ = w.lifetime(0);
                }
            }
            Request::CreatePermission(ip) => {
                let _ = w.xor_peer_address(SocketAddr::new(ip, 0));
            }
            Request::ChannelBind { number, peer } => {
                let _ = w.channel_number(number);
                let _ = w.xor_peer_address(peer);
            }
        }
        let (Some(realm), Some(nonce), Some(key)) = (&self.realm, &self.nonce, &self.key) else {
            return false;
        };
        let _ = w.username(&self.username);
        let _ = w.realm(realm);
        let _ = w.nonce(nonce);
        let _ = w.message_integrity(key);
        let _ = w.fingerprint();
        true
    }

    /// Handles a response; `false` when its transaction is not one of ours.
    fn on_response(&mut self, now: Instant, msg: &Message<'_>) -> bool {
        let tid = msg.transaction_id();
        let Some(ti) = self.transactions.iter().position(|t| t.tid == tid) else {
            return false;
        };
        let method = match self.transactions[ti].request {
            Request::Allocate => Method::ALLOCATE,
            Request::Refresh { .. } => Method::REFRESH,
            Request::CreatePermission(_) => Method::CREATE_PERMISSION,
            Request::ChannelBind { .. } => Method::CHANNEL_BIND,
        };
        if msg.method() != method {
            self.dropped += 1;
            return true;
        }
        if msg.class() == Class::SuccessResponse {
            // RFC 8489 §9.2.5: an authenticated request's answer must prove the key.
            if self.transactions[ti].authenticated
                && !self.key.is_some_and(|k| msg.verify_integrity(&k))
            {
                self.dropped += 1;
                return true;
            }
            let tx = self.transactions.swap_remove(ti);
            self.on_success(now, tx.request, msg);
            return true;
        }
        let (code, text) = match msg.error_code() {
            Ok(Some(e)) => (e.code, e.reason.to_string()),
            _ => (400, "error response without ERROR-CODE".to_string()),
        };
        let tx = self.transactions.swap_remove(ti);
        match code {
            // RFC 8489 §9.2.5: the first 401 teaches realm and nonce; a 401 to a request that
            // already carried credentials means they are wrong.
            401 if !tx.authenticated && self.learn_realm_nonce(msg) => {
                self.start(now, tx.request, tx.stale_retries);
            }
            438 if tx.stale_retries < MAX_STALE_NONCE_RETRIES && self.learn_nonce(msg) => {
                self.start(now, tx.request, tx.stale_retries + 1);
            }
            _ => self.on_failure(now, tx.request, code, &text),
        }
        true
    }

    /// Takes REALM and NONCE of a 401 and derives the long-term key (RFC 8489 §9.2.2).
    fn learn_realm_nonce(&mut self, msg: &Message<'_>) -> bool {
        let (Ok(Some(realm)), Ok(Some(nonce))) = (msg.realm(), msg.nonce()) else {
            return false;
        };
        self.key = Some(long_term_key(&self.username, realm, &self.password));
        self.realm = Some(realm.to_string());
        self.nonce = Some(nonce.to_string());
        true
    }

    /// Takes the new NONCE of a 438 (RFC 8489 §9.2.5); a REALM in it replaces ours.
    fn learn_nonce(&mut self, msg: &Message<'_>) -> bool {
        let Ok(Some(nonce)) = msg.nonce() else {
            return false;
        };
        if let Ok(Some(realm)) = msg.realm()
            && self.realm.as_deref() != Some(realm)
        {
            self.key = Some(long_term_key(&self.username, realm, &self.password));
            self.realm = Some(realm.to_string());
        }
        if self.key.is_none() {
            return false;
        }
        self.nonce = Some(nonce.to_string());
        true
    }

    fn lifetime_of(msg: &Message<'_>) -> Duration {
        // LIFETIME is mandatory in Allocate and Refresh responses (RFC 8656 §6.3, §7.3); the
        // default 600 s stands in when a server leaves it out.
        let s = msg.lifetime().ok().flatten().unwrap_or(600);
        Duration::from_secs(u64::from(s)).min(MAX_LIFETIME)
    }

    fn schedule_refresh(&mut self, now: Instant, lifetime: Duration) {
        let wait = if lifetime >= REFRESH_MARGIN * 2 {
            lifetime - REFRESH_MARGIN
        } else {
            (lifetime / 2).max(Duration::from_secs(1))
        };
        self.refresh_at = Some(now + wait);
    }

    fn on_success(&mut self, now: Instant, request: Request, msg: &Message<'_>) {
        match request {
            Request::Allocate => {
                let Ok(Some(relayed)) = msg.xor_relayed_address() else {
                    self.fail(CODE_UNREACHABLE, "Allocate response without XOR-RELAYED-ADDRESS");
                    return;
                };
                let mapped = msg.xor_mapped_address().ok().flatten();
                let lifetime = Self::lifetime_of(msg);
                self.state = TurnState::Allocated { relayed, mapped };
                self.schedule_refresh(now, lifetime);
                self.push_event(TurnEvent::Allocated {
                    relayed,
                    mapped,
                    lifetime,
                });
            }
            Request::Refresh { delete: false } => {
                if matches!(self.state, TurnState::Allocated { .. }) {
                    let lifetime = Self::lifetime_of(msg);
                    if lifetime.is_zero() {
                        self.fail(437, "the server ended the allocation");
                    } else {
                        self.schedule_refresh(now, lifetime);
                    }
                }
            }
            Request::Refresh { delete: true } => {}
            Request::CreatePermission(ip) => {
                if let Some(p) = self.permissions.iter_mut().find(|p| p.ip == ip) {
                    p.installed = true;
                    p.refresh_at = Some(now + PERMISSION_REFRESH);
                }
            }
            Request::ChannelBind { number, peer } => {
                if let Some(c) = self
                    .channels
                    .iter_mut()
                    .find(|c| c.number == number && c.peer == peer)
                {
                    c.bound = true;
                    c.refresh_at = Some(now + CHANNEL_REFRESH);
                }
                // A ChannelBind installs or refreshes the permission too (RFC 8656 §12.2).
                if let Some(p) = self.permissions.iter_mut().find(|p| p.ip == peer.ip()) {
                    p.installed = true;
                }
            }
        }
    }

    fn on_failure(&mut self, _now: Instant, request: Request, code: u16, text: &str) {
        match request {
            Request::Allocate => self.fail(code, text),
            // RFC 8656 §7.3: a failed Refresh means the allocation is gone (437) or will be.
            Request::Refresh { delete: false } => {
                if matches!(self.state, TurnState::Allocated { .. }) {
                    self.fail(code, text);
                }
            }
            Request::Refresh { delete: true } => {}
            Request::CreatePermission(ip) => {
                self.permissions.retain(|p| p.ip != ip);
                self.push_event(TurnEvent::PermissionFailed {
                    peer: ip,
                    code,
                    text: text.to_string(),
                });
            }
            Request::ChannelBind { number, peer } => {
                // The number is not reused; data keeps flowing through Send indications.
                self.channels.retain(|c| c.number != number);
                self.push_event(TurnEvent::ChannelBindFailed {
                    peer,
                    code,
                    text: text.to_string(),
                });
            }
        }
    }

    /// The allocation failed or was lost: everything stops.
    fn fail(&mut self, code: u16, text: &str) {
        self.state = TurnState::Failed(code);
        self.transactions.clear();
        self.permissions.clear();
        self.channels.clear();
        self.refresh_at = None;
        self.push_event(TurnEvent::Failed {
            code,
            text: text.to_string(),
        });
    }

    fn on_data_indication<'a>(&mut self, msg: &Message<'a>) -> TurnInput<'a> {
        // Data indications are not authenticated (RFC 8656 §11.6): accept them only from a
        // peer we installed a permission for, on an existing allocation.
        let peer = match msg.xor_peer_address() {
            Ok(Some(p)) => p,
            _ => {
                self.dropped += 1;
                return TurnInput::Dropped;
            }
        };
        let Some(data) = msg.data() else {
            self.dropped += 1;
            return TurnInput::Dropped;
        };
        if self.relayed_address().is_none() || !self.permissions.iter().any(|p| p.ip == peer.ip())
        {
            self.dropped += 1;
            return TurnInput::Dropped;
        }
        TurnInput::Data { peer, data }
    }

    fn on_channel_data<'a>(&mut self, data: &'a [u8]) -> TurnInput<'a> {
        let Ok(cd) = ChannelData::parse(data) else {
            self.dropped += 1;
            return TurnInput::Dropped;
        };
        // Only bound channels (RFC 8656 §12.6); a binding still in flight may already carry
        // data from the server's side, so pending ones count too.
        match self.channels.iter().find(|c| c.number == cd.number) {
            Some(c) if self.relayed_address().is_some() => TurnInput::Data {
                peer: c.peer,
                data: cd.data,
            },
            _ => {
                self.dropped += 1;
                TurnInput::Dropped
            }
        }
    }
}
