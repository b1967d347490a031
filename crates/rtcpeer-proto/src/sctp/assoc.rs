//! The association state machine (RFC 9260 §4-§9, RFC 6525 §5, RFC 3758 §3.5-3.6).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;

use super::chunk::{self, *};
use super::rx::{DataOutcome, Rx, unwrap_tsn};
use super::tx::Tx;
use super::{Config, Event, ResetError, SendError, SendOptions, State, Stats};

/// Bound on queued control chunks (replies to INIT, heartbeats, errors): a flood of INITs
/// cannot grow memory.
const MAX_CTRL: usize = 16;
/// Bound on queued RE-CONFIG responses.
const MAX_RECONFIG_RESPONSES: usize = 8;
/// Streams per outgoing reset request (keeps the RE-CONFIG chunk within the MTU).
const MAX_RESET_STREAMS: usize = 256;
const COOKIE_BODY: usize = 36;
const COOKIE_LEN: usize = COOKIE_BODY + 32;

/// Small deterministic generator (SplitMix64) for tags, initial TSNs, nonces and the cookie
/// secret; the caller seeds it (from a CSPRNG in production, fixed in tests).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn nonzero_u32(&mut self) -> u32 {
        loop {
            let v = self.next() as u32;
            if v != 0 {
                return v;
            }
        }
    }
}

#[derive(Default)]
struct Timer {
    deadline: Option<Instant>,
    count: u32,
    rto: Duration,
}

/// Extensions the peer announced in INIT / INIT ACK.
#[derive(Clone, Copy, Default)]
struct PeerExt {
    fwd: bool,
    reconfig: bool,
    zero_checksum: bool,
}

struct Cookie {
    peer_tag: u32,
    peer_tsn: u32,
    peer_rwnd: u32,
    peer_os: u16,
    peer_mis: u16,
    ext: PeerExt,
}

struct PeerInit {
    tag: u32,
    tsn: u32,
    rwnd: u32,
    os: u16,
    mis: u16,
    ext: PeerExt,
}

struct ResetReq {
    seq: u32,
    last_tsn: u32,
    streams: Vec<u16>,
}

struct DeferredReset {
    seq: u32,
    last_tsn: u64,
    streams: Vec<u16>,
}

/// The timers of an SCTP `Association`, named for tracing (`Association::next_timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SctpTimer {
    /// T1-init / T1-cookie: INIT or COOKIE ECHO retransmission (RFC 9260 §5.1).
    T1,
    /// T2-shutdown: SHUTDOWN / SHUTDOWN ACK retransmission (RFC 9260 §9.2).
    T2,
    /// T3-rtx: DATA retransmission (RFC 9260 §6.3).
    T3Rtx,
    /// The delayed SACK (RFC 9260 §6.2, at most 200 ms).
    DelayedSack,
    /// The next HEARTBEAT on an idle path (RFC 9260 §8.3).
    Heartbeat,
    /// RE-CONFIG (stream reset) retransmission (RFC 6525 §5.1.1).
    Reconfig,
}

/// One SCTP association over a DTLS connection (RFC 8261), sans-IO.
///
/// All input goes through `&mut self` methods with the current time; output is pulled with
/// [`Association::poll_transmit`] and [`Association::poll_event`] right after each call.
pub struct Association {
    config: Config,
    state: State,
    terminated: bool,
    epoch: Instant,
    rng: SplitMix,
    key: hmac::Key,
    local_tag: u32,
    local_tsn: u32,
    peer_tag: u32,
    peer_tag_known: bool,
    peer_fwd_tsn: bool,
    peer_reconfig: bool,
    /// The peer accepts zero checksums (RFC 9653) and so do we.
    peer_zero_checksum: bool,
    out_streams: u16,
    /// Incoming streams: the peer's OS capped by our MIS (RFC 9260 §5.1.1).
    in_streams: u16,
    tx: Tx,
    rx: Option<Rx>,
    events: VecDeque<Event>,
    ctrl: VecDeque<(u32, Vec<u8>)>,
    init_chunk: Vec<u8>,
    cookie_echo: Vec<u8>,
    // Timers.
    t1: Timer,
    t2: Timer,
    t3: Option<Instant>,
    delayed_ack: Option<Instant>,
    hb_next: Option<Instant>,
    hb_outstanding: Option<u64>,
    reconfig_timer: Option<Instant>,
    // RTO (RFC 9260 §6.3.1).
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    error_count: u32,
    // SACK policy.
    sack_pending: bool,
    data_packets_since_sack: u32,
    last_advertised_rwnd: u32,
    gaps_scratch: Vec<(u16, u16)>,
    dups_scratch: Vec<u32>,
    // Shutdown.
    send_shutdown: bool,
    send_shutdown_ack: bool,
    // Stream reset (RFC 6525).
    next_req_seq: u32,
    reset_queue: BTreeSet<u16>,
    reset_req: Option<ResetReq>,
    send_reset_req: bool,
    reconfig_responses: Vec<(u32, u32)>,
    peer_next_req_seq: u32,
    last_peer_resp: Option<(u32, u32)>,
    deferred_reset: Option<DeferredReset>,
    stats: Stats,
}

impl Association {
    /// Creates an association in the CLOSED state; `rng_seed` must come from a CSPRNG in
    /// production (it seeds tags, initial TSNs and the cookie secret, RFC 9260 §5.1.3).
    pub fn new(config: Config, now: Instant, rng_seed: u64) -> Self {
        let mut rng = SplitMix(rng_seed);
        let mut secret = [0u8; 32];
        for c in secret.chunks_mut(8) {
            c.copy_from_slice(&rng.next().to_le_bytes());
        }
        let local_tag = rng.nonzero_u32();
        let local_tsn = rng.next() as u32;
        let mtu = config.mtu.clamp(256, 65_535);
        let config = Config { mtu, ..config };
        let tx = Tx::new(local_tsn, mtu, config.send_buffer, config.max_message_size);
        let rto = config.rto_initial;
        Association {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            state: State::Closed,
            terminated: false,
            epoch: now,
            rng,
            local_tag,
            local_tsn,
            peer_tag: 0,
            peer_tag_known: false,
            peer_fwd_tsn: false,
            peer_reconfig: false,
            peer_zero_checksum: false,
            out_streams: config.num_streams,
            in_streams: config.num_streams,
            tx,
            rx: None,
            events: VecDeque::new(),
            ctrl: VecDeque::new(),
            init_chunk: Vec::new(),
            cookie_echo: Vec::new(),
            t1: Timer::default(),
            t2: Timer::default(),
            t3: None,
            delayed_ack: None,
            hb_next: None,
            hb_outstanding: None,
            reconfig_timer: None,
            srtt: None,
            rttvar: Duration::ZERO,
            rto,
            error_count: 0,
            sack_pending: false,
            data_packets_since_sack: 0,
            last_advertised_rwnd: config.receive_window.min(u32::MAX as usize) as u32,
            gaps_scratch: Vec::new(),
            dups_scratch: Vec::new(),
            send_shutdown: false,
            send_shutdown_ack: false,
            next_req_seq: local_tsn,
            reset_queue: BTreeSet::new(),
            reset_req: None,
            send_reset_req: false,
            reconfig_responses: Vec::new(),
            peer_next_req_seq: 0,
            last_peer_resp: None,
            deferred_reset: None,
            stats: Stats::default(),
            config,
        }
    }

    /// Current state (RFC 9260 §4).
    pub fn state(&self) -> State {
        self.state
    }

    /// Memory held for the peer: (bytes kept for retransmission, out-of-order chunks stored).
    pub fn held_memory(&self) -> (usize, usize) {
        (
            self.tx.outstanding_bytes(),
            self.rx.as_ref().map_or(0, |r| r.stored_chunks()),
        )
    }

    /// Receive-window bytes held for the peer (RFC 9260 §6.2): stored out-of-order chunks,
    /// the message being reassembled and delivered messages not yet polled, each stored chunk
    /// and queued message charged 64 bytes of bookkeeping on top of its payload. Bounded by
    /// twice `Config::receive_window`.
    pub fn held_receive_bytes(&self) -> usize {
        self.rx.as_ref().map_or(0, |r| r.held_bytes())
    }

    /// Counters and congestion state.
    pub fn stats(&self) -> Stats {
        Stats {
            cwnd: self.tx.cwnd,
            rto: self.rto,
            ..self.stats
        }
    }

    /// Starts the handshake by sending INIT (RFC 9260 §5.1 A). The peer may connect too:
    /// simultaneous open is handled per §5.2.1.
    pub fn connect(&mut self, now: Instant) {
        if self.state != State::Closed || self.terminated {
            return;
        }
        let mut b = Vec::with_capacity(64);
        let s = Init {
            initiate_tag: self.local_tag,
            a_rwnd: self.config.receive_window.min(u32::MAX as usize) as u32,
            outbound_streams: self.config.num_streams,
            inbound_streams: self.config.num_streams,
            initial_tsn: self.local_tsn,
            params: &[],
        }
        .begin(&mut b, CT_INIT);
        write_extension_params(&mut b, self.config.zero_checksum);
        end_chunk(&mut b, s);
        self.init_chunk = b.clone();
        self.push_ctrl(0, b);
        self.state = State::CookieWait;
        self.t1 = Timer {
            deadline: Some(now + self.config.rto_initial),
            count: 0,
            rto: self.config.rto_initial,
        };
    }

    /// Queues a message on `stream` (RFC 9260 §6.1, PR-SCTP policies RFC 3758 §4).
    /// Fails with `BufferFull` when `Config::send_buffer` unsent bytes are queued.
    pub fn send(
        &mut self,
        stream: u16,
        ppid: u32,
        data: Vec<u8>,
        opts: SendOptions,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.terminated
            || !matches!(
                self.state,
                State::Closed | State::CookieWait | State::CookieEchoed | State::Established
            )
        {
            return Err(SendError::NotConnected);
        }
        if stream >= self.out_streams {
            return Err(SendError::InvalidStream);
        }
        self.tx.enqueue(stream, ppid, data, opts, now)
    }

    /// Unsent bytes queued on `stream` (W3C `RTCDataChannel.bufferedAmount`).
    pub fn buffered_amount(&self, stream: u16) -> usize {
        self.tx.buffered(stream)
    }

    /// Outgoing streams usable with this peer (our count capped by its MIS, RFC 9260 §5.1.1).
    pub fn outbound_streams(&self) -> u16 {
        self.out_streams
    }

    /// Incoming streams the peer may use (its OS capped by our MIS, RFC 9260 §5.1.1).
    pub fn inbound_streams(&self) -> u16 {
        self.in_streams
    }

    /// Unsent bytes on all streams (bounded by `Config::send_buffer`).
    pub fn total_buffered_amount(&self) -> usize {
        self.tx.total_buffered()
    }

    /// Sets the level at or below which `BufferedAmountLow { stream }` fires (W3C
    /// `bufferedAmountLowThreshold`).
    pub fn set_buffered_amount_low_threshold(&mut self, stream: u16, bytes: usize) {
        self.tx.set_low_threshold(stream, bytes);
    }

    /// Requests an outgoing SSN reset of `streams` (RFC 6525 §5.1.2), used to close data
    /// channels. Queued messages are sent first; then `OutgoingStreamsReset` is reported.
    pub fn reset_streams(&mut self, streams: &[u16], now: Instant) -> Result<(), ResetError> {
        if self.terminated || self.state != State::Established {
            return Err(ResetError::NotConnected);
        }
        if !self.peer_reconfig {
            return Err(ResetError::NotSupported);
        }
        for &s in streams {
            self.tx.streams.entry(s).or_default().resetting = true;
            self.reset_queue.insert(s);
        }
        self.try_start_reset(now);
        Ok(())
    }

    /// Starts a graceful shutdown (RFC 9260 §9.2): queued data is delivered first.
    pub fn shutdown(&mut self, now: Instant) {
        if self.terminated {
            return;
        }
        match self.state {
            State::Closed | State::CookieWait | State::CookieEchoed => {
                self.terminate(Event::Closed)
            }
            State::Established => {
                self.state = State::ShutdownPending;
                self.shutdown_progress(now);
            }
            _ => {}
        }
    }

    /// Aborts the association at once (RFC 9260 §9.1), sending ABORT if the peer is known.
    pub fn abort(&mut self, _now: Instant) {
        if self.terminated {
            return;
        }
        self.send_abort(EC_USER_ABORT, b"");
        self.terminate(Event::Aborted {
            reason: "aborted locally".into(),
            cause: Some(EC_USER_ABORT),
        });
    }

    /// Next event for the user, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.events.pop_front()?;
        if let (Event::Message(m), Some(rx)) = (&ev, self.rx.as_mut()) {
            rx.message_polled(m);
            // Window update (RFC 9260 §6.2): tell a blocked sender that space reopened.
            let w = self.config.receive_window;
            if (self.last_advertised_rwnd as usize) < w / 4 && rx.a_rwnd() as usize >= w / 2 {
                self.sack_pending = true;
            }
        }
        Some(ev)
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(t, _)| t)
    }

    /// The earliest running timer and its name (for tracing); on a tie the first in
    /// [`SctpTimer`]'s order wins.
    pub fn next_timer(&self) -> Option<(Instant, SctpTimer)> {
        [
            (self.t1.deadline, SctpTimer::T1),
            (self.t2.deadline, SctpTimer::T2),
            (self.t3, SctpTimer::T3Rtx),
            (self.delayed_ack, SctpTimer::DelayedSack),
            (self.hb_next, SctpTimer::Heartbeat),
            (self.reconfig_timer, SctpTimer::Reconfig),
        ]
        .into_iter()
        .filter_map(|(t, name)| Some((t?, name)))
        .min_by_key(|(t, _)| *t)
    }

    fn rto_backoff(&self, d: Duration) -> Duration {
        (d * 2).min(self.config.rto_max)
    }

    /// Runs expired timers (T1, T2, T3-rtx, delayed SACK, heartbeat, RE-CONFIG).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.terminated {
            return;
        }
        if self.t1.deadline.is_some_and(|d| now >= d) {
            self.t1.count += 1;
            if self.t1.count > self.config.max_init_retransmissions {
                self.terminate(Event::Aborted {
                    reason: "handshake timed out".into(),
                    cause: None,
                });
                return;
            }
            self.t1.rto = self.rto_backoff(self.t1.rto);
            self.t1.deadline = Some(now + self.t1.rto);
            match self.state {
                State::CookieWait => self.push_ctrl(0, self.init_chunk.clone()),
                State::CookieEchoed => self.push_ctrl(self.peer_tag, self.cookie_echo.clone()),
                _ => self.t1.deadline = None,
            }
        }
        if self.t3.is_some_and(|d| now >= d) {
            self.stats.t3_expiries += 1;
            tracing::trace!(rto = ?self.rto, errors = self.error_count, "sctp: T3-rtx expired");
            self.error_count += 1;
            if self.error_count > self.config.max_retransmissions {
                self.fail("too many retransmissions");
                return;
            }
            self.rto = self.rto_backoff(self.rto);
            self.tx.on_t3();
            self.t3 = self.tx.has_outstanding().then(|| now + self.rto);
        }
        if self.delayed_ack.is_some_and(|d| now >= d) {
            self.delayed_ack = None;
            self.sack_pending = true;
        }
        if self.t2.deadline.is_some_and(|d| now >= d) {
            self.t2.count += 1;
            if self.t2.count > self.config.max_retransmissions {
                self.fail("shutdown timed out");
                return;
            }
            self.t2.rto = self.rto_backoff(self.t2.rto);
            self.t2.deadline = Some(now + self.t2.rto);
            match self.state {
                State::ShutdownSent => self.send_shutdown = true,
                State::ShutdownAckSent => self.send_shutdown_ack = true,
                _ => self.t2.deadline = None,
            }
        }
        if self.hb_next.is_some_and(|d| now >= d) {
            if self.hb_outstanding.is_some() {
                self.error_count += 1;
                if self.error_count > self.config.max_retransmissions {
                    self.fail("peer unreachable (heartbeat)");
                    return;
                }
            }
            let nonce = self.rng.next();
            let mut info = [0u8; 16];
            info[..8].copy_from_slice(&nonce.to_be_bytes());
            info[8..].copy_from_slice(&self.micros(now).to_be_bytes());
            let mut b = Vec::with_capacity(24);
            let s = begin_chunk(&mut b, CT_HEARTBEAT, 0);
            write_param(&mut b, PT_HEARTBEAT_INFO, &info);
            end_chunk(&mut b, s);
            self.push_ctrl(self.peer_tag, b);
            self.hb_outstanding = Some(nonce);
            self.hb_next = Some(now + self.config.heartbeat_interval + self.rto);
        }
        if self.reconfig_timer.is_some_and(|d| now >= d) {
            self.reconfig_timer = None;
            if self.reset_req.is_some() {
                self.error_count += 1;
                if self.error_count > self.config.max_retransmissions {
                    self.fail("stream reset timed out");
                    return;
                }
                self.send_reset_req = true;
                self.reconfig_timer = Some(now + self.rto);
            }
        }
    }

    fn micros(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_micros() as u64
    }

    fn push_ctrl(&mut self, vtag: u32, chunk: Vec<u8>) {
        if self.ctrl.len() < MAX_CTRL {
            self.ctrl.push_back((vtag, chunk));
        }
    }

    fn header(&self, vtag: u32) -> CommonHeader {
        CommonHeader {
            src_port: self.config.local_port,
            dst_port: self.config.remote_port,
            vtag,
        }
    }

    fn data_state(&self) -> bool {
        !self.terminated
            && matches!(
                self.state,
                State::Established
                    | State::ShutdownPending
                    | State::ShutdownSent
                    | State::ShutdownReceived
                    | State::ShutdownAckSent
            )
    }

    /// Writes the next packet to send into `buf` (cleared first) and returns true, or returns
    /// false when there is nothing to send. Call until it returns false.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> bool {
        if self.reset_req.is_none() && !self.reset_queue.is_empty() {
            self.try_start_reset(now);
        }
        let mtu = self.config.mtu;
        if let Some(&(vtag, _)) = self.ctrl.front() {
            begin_packet(buf, self.header(vtag));
            while let Some((v, bytes)) = self.ctrl.front() {
                if *v != vtag || (buf.len() > COMMON_HEADER_LEN && buf.len() + bytes.len() > mtu) {
                    break;
                }
                buf.extend_from_slice(bytes);
                self.ctrl.pop_front();
            }
            if self.peer_tag_known && vtag == self.peer_tag && self.data_state() {
                self.append_chunks(buf, now);
            } else if self.state == State::CookieEchoed
                && buf.get(COMMON_HEADER_LEN) == Some(&CT_COOKIE_ECHO)
            {
                // DATA may ride with the COOKIE ECHO (RFC 9260 §5.1 D): first messages such as
                // a DCEP OPEN arrive one round trip earlier.
                self.tx.rto = self.rto;
                self.tx.rto = self.rto;
                self.tx.fill(buf, mtu, now, &mut self.events);
                if self.tx.has_outstanding() && self.t3.is_none() {
                    self.t3 = Some(now + self.rto);
                }
            }
            self.finish(buf);
            self.stats.packets_sent += 1;
            return true;
        }
        if !self.data_state() {
            return false;
        }
        begin_packet(buf, self.header(self.peer_tag));
        self.append_chunks(buf, now);
        if buf.len() == COMMON_HEADER_LEN {
            buf.clear();
            return false;
        }
        self.finish(buf);
        self.stats.packets_sent += 1;
        true
    }

    /// Sets the checksum: zero (RFC 9653 §5.2) once both sides agreed, except for packets
    /// that may reach a peer without association state (INIT, INIT ACK, COOKIE ECHO, ABORT,
    /// SHUTDOWN COMPLETE), which always carry a CRC32c.
    fn finish(&self, buf: &mut [u8]) {
        let first = buf.get(COMMON_HEADER_LEN).copied();
        let stateless = matches!(
            first,
            Some(CT_INIT | CT_INIT_ACK | CT_COOKIE_ECHO | CT_ABORT | CT_SHUTDOWN_COMPLETE)
        );
        if !(self.peer_zero_checksum && self.data_state() && !stateless) {
            finish_packet(buf);
        }
    }

    fn append_chunks(&mut self, buf: &mut Vec<u8>, now: Instant) {
        let mtu = self.config.mtu;
        let can_send_data = matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        );
        let want_sack = self.sack_pending
            || (self.delayed_ack.is_some() && can_send_data && self.tx.wants_to_send());
        if want_sack && let Some(rx) = self.rx.as_mut() {
            let max_blocks = mtu.saturating_sub(buf.len() + 16 + 4 * 32 + 64) / 4;
            rx.sack_fields(&mut self.gaps_scratch, &mut self.dups_scratch, max_blocks);
            let rwnd = rx.a_rwnd();
            chunk::write_sack(
                buf,
                rx.cum_wire(),
                rwnd,
                &self.gaps_scratch,
                &self.dups_scratch,
            );
            self.last_advertised_rwnd = rwnd;
            self.sack_pending = false;
            self.delayed_ack = None;
            self.data_packets_since_sack = 0;
            self.stats.sacks_sent += 1;
        }
        if self.send_shutdown
            && let Some(rx) = self.rx.as_ref()
        {
            write_chunk(buf, CT_SHUTDOWN, 0, &rx.cum_wire().to_be_bytes());
            self.send_shutdown = false;
        }
        if self.send_shutdown_ack {
            write_chunk(buf, CT_SHUTDOWN_ACK, 0, &[]);
            self.send_shutdown_ack = false;
        }
        if self.tx.fwd_tsn_pending {
            if self.peer_fwd_tsn {
                self.tx.write_forward_tsn(buf, mtu);
            } else {
                self.tx.fwd_tsn_pending = false;
            }
        }
        if !self.reconfig_responses.is_empty() || (self.send_reset_req && self.reset_req.is_some())
        {
            let s = begin_chunk(buf, CT_RECONFIG, 0);
            for (seq, result) in self.reconfig_responses.drain(..) {
                write_reconfig_response(buf, seq, result);
            }
            if self.send_reset_req
                && let Some(r) = &self.reset_req
            {
                let resp = self.peer_next_req_seq.wrapping_sub(1);
                write_outgoing_reset(buf, r.seq, resp, r.last_tsn, &r.streams);
                self.send_reset_req = false;
            }
            end_chunk(buf, s);
        }
        if can_send_data {
            self.tx.rto = self.rto;
            self.tx.fill(buf, mtu, now, &mut self.events);
            if self.tx.has_outstanding() && self.t3.is_none() {
                self.t3 = Some(now + self.rto);
            }
            if self.tx.fwd_tsn_pending && self.peer_fwd_tsn && buf.len() + 64 < mtu {
                self.tx.write_forward_tsn(buf, mtu);
            }
            self.shutdown_progress(now);
        }
    }

    /// The caller has handled every packet it had for now (the end of a receive batch): a
    /// SACK held back by the delayed-SACK policy goes out with the next transmit instead of
    /// waiting for the timer (RFC 9260 §6.2 allows SACKing earlier, never later). A peer
    /// whose flight ends on an odd packet would otherwise wait up to 200 ms per flight.
    pub fn flush_delayed_sack(&mut self) {
        if self.delayed_ack.take().is_some() {
            self.sack_pending = true;
        }
    }

    /// Handles one received SCTP packet (one DTLS record payload). Malformed or foreign
    /// packets are counted and dropped (RFC 9260 §8.5, §11.1).
    pub fn handle_packet(&mut self, packet: &[u8], now: Instant) {
        let Ok((h, chunks)) = parse_packet(packet, self.config.zero_checksum) else {
            self.stats.packets_dropped += 1;
            return;
        };
        if self.terminated {
            // Out of the blue after termination (§8.4 rule 5): a retransmitted SHUTDOWN ACK
            // whose SHUTDOWN COMPLETE was lost gets one, with the T bit and its own tag.
            let first = ChunkIter::new(chunks).next();
            if first.is_some_and(|c| c.typ == CT_SHUTDOWN_ACK) && h.vtag == self.local_tag {
                let mut b = Vec::with_capacity(4);
                write_chunk(&mut b, CT_SHUTDOWN_COMPLETE, FLAG_T, &[]);
                self.push_ctrl(h.vtag, b);
            }
            self.stats.packets_dropped += 1;
            return;
        }
        if h.dst_port != self.config.local_port || h.src_port != self.config.remote_port {
            self.stats.packets_dropped += 1;
            return;
        }
        let mut it = ChunkIter::new(chunks);
        let Some(first) = it.next() else {
            self.stats.packets_dropped += 1;
            return;
        };
        if first.typ == CT_INIT {
            // INIT must be alone and carry tag 0 (§8.5.1 A, §6.10).
            if h.vtag != 0 || it.next().is_some() || it.malformed {
                self.stats.packets_dropped += 1;
                return;
            }
            self.stats.packets_received += 1;
            self.handle_init(first.value, now);
            return;
        }
        let reflected =
            matches!(first.typ, CT_ABORT | CT_SHUTDOWN_COMPLETE) && first.flags & FLAG_T != 0;
        let tag_ok = if reflected {
            self.peer_tag_known && h.vtag == self.peer_tag
        } else {
            h.vtag == self.local_tag
        };
        if !tag_ok {
            self.stats.packets_dropped += 1;
            return;
        }
        self.stats.packets_received += 1;
        let mut got_data = false;
        let mut immediate = false;
        let mut it = ChunkIter::new(chunks);
        for c in &mut it {
            let keep_going = self.handle_chunk(c, now, &mut got_data, &mut immediate);
            if !keep_going || self.terminated {
                break;
            }
        }
        if self.terminated {
            return;
        }
        if got_data {
            self.data_packets_since_sack += 1;
            if immediate || self.data_packets_since_sack >= 2 || self.state == State::ShutdownSent {
                self.sack_pending = true;
                self.delayed_ack = None;
                if self.state == State::ShutdownSent {
                    self.send_shutdown = true;
                }
            } else if self.delayed_ack.is_none() {
                self.delayed_ack = Some(now + self.config.delayed_ack_timeout);
            }
            self.check_deferred_reset();
        }
    }

    /// Returns false when the rest of the packet must be skipped.
    fn handle_chunk(
        &mut self,
        c: RawChunk<'_>,
        now: Instant,
        got_data: &mut bool,
        immediate: &mut bool,
    ) -> bool {
        match c.typ {
            CT_DATA => {
                if !matches!(
                    self.state,
                    State::Established
                        | State::ShutdownPending
                        | State::ShutdownSent
                        | State::ShutdownReceived
                ) {
                    return true;
                }
                let (Some(d), Some(rx)) = (Data::parse(c.flags, c.value), self.rx.as_mut()) else {
                    return true;
                };
                if d.payload.is_empty() {
                    // §6.2: a DATA chunk without user data aborts the association.
                    self.send_abort(EC_NO_USER_DATA, &d.tsn.to_be_bytes());
                    self.terminate(Event::Aborted {
                        reason: "peer sent DATA without user data".into(),
                        cause: Some(EC_NO_USER_DATA),
                    });
                    return false;
                }
                *got_data = true;
                if d.flags & FLAG_IMMEDIATE != 0 {
                    *immediate = true;
                }
                match rx.on_data(&d, &mut self.events) {
                    DataOutcome::New {
                        in_order,
                        filled_gap,
                    } => {
                        if !in_order || filled_gap {
                            *immediate = true;
                        }
                    }
                    DataOutcome::Duplicate | DataOutcome::Dropped => *immediate = true,
                    DataOutcome::TooLarge => {
                        self.protocol_violation("message exceeds max message size");
                        return false;
                    }
                }
            }
            CT_INIT_ACK => self.handle_init_ack(c.value, now),
            CT_SACK => {
                if self.data_state()
                    && let Some(s) = Sack::parse(c.value)
                {
                    let res = self.tx.on_sack(s.cum_tsn, s.a_rwnd, s.gaps(), now);
                    self.after_ack(res, now);
                }
            }
            CT_HEARTBEAT => {
                if self.peer_tag_known {
                    let mut b = Vec::with_capacity(c.value.len() + 4);
                    write_chunk(&mut b, CT_HEARTBEAT_ACK, 0, c.value);
                    self.push_ctrl(self.peer_tag, b);
                }
            }
            CT_HEARTBEAT_ACK => {
                let p = ParamIter::new(c.value).next();
                if let Some(p) = p
                    && p.typ == PT_HEARTBEAT_INFO
                    && p.value.len() == 16
                {
                    let nonce = u64::from_be_bytes(p.value[..8].try_into().unwrap_or_default());
                    let sent = u64::from_be_bytes(p.value[8..].try_into().unwrap_or_default());
                    if self.hb_outstanding == Some(nonce) {
                        self.hb_outstanding = None;
                        self.error_count = 0;
                        let rtt = self.micros(now).saturating_sub(sent);
                        self.update_rto(Duration::from_micros(rtt));
                    }
                }
            }
            CT_ABORT => {
                let reason = describe_causes(c.value);
                let cause = ParamIter::new(c.value).next().map(|p| p.typ);
                self.terminate(Event::Aborted {
                    reason: format!("aborted by peer: {reason}"),
                    cause,
                });
                return false;
            }
            CT_SHUTDOWN => {
                if !self.data_state() || c.value.len() < 4 {
                    return true;
                }
                let cum = u32::from_be_bytes([c.value[0], c.value[1], c.value[2], c.value[3]]);
                let res = self.tx.on_shutdown_cum(cum, now);
                self.after_ack(res, now);
                match self.state {
                    State::Established | State::ShutdownPending => {
                        self.state = State::ShutdownReceived;
                        self.shutdown_progress(now);
                    }
                    State::ShutdownSent => {
                        // Simultaneous shutdown (§9.2).
                        self.state = State::ShutdownAckSent;
                        self.send_shutdown_ack = true;
                        self.t2.deadline = Some(now + self.t2.rto);
                    }
                    _ => {}
                }
            }
            CT_SHUTDOWN_ACK => {
                if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
                    let mut b = Vec::with_capacity(4);
                    write_chunk(&mut b, CT_SHUTDOWN_COMPLETE, 0, &[]);
                    self.push_ctrl(self.peer_tag, b);
                    self.terminate(Event::Closed);
                    return false;
                }
            }
            CT_SHUTDOWN_COMPLETE => {
                if self.state == State::ShutdownAckSent {
                    self.terminate(Event::Closed);
                    return false;
                }
            }
            CT_ERROR => {
                let stale = ParamIter::new(c.value).any(|p| p.typ == EC_STALE_COOKIE);
                if stale && self.state == State::CookieEchoed {
                    // §5.2.6: start over with a fresh INIT.
                    self.state = State::CookieWait;
                    self.peer_tag_known = false;
                    self.push_ctrl(0, self.init_chunk.clone());
                    self.t1.deadline = Some(now + self.t1.rto);
                }
            }
            CT_COOKIE_ECHO => self.handle_cookie_echo(c.value, now),
            CT_COOKIE_ACK => {
                if self.state == State::CookieEchoed {
                    self.set_established(now);
                }
            }
            CT_FORWARD_TSN => {
                if !self.data_state() {
                    return true;
                }
                let (Some(f), Some(rx)) = (ForwardTsn::parse(c.value), self.rx.as_mut()) else {
                    return true;
                };
                match rx.on_forward_tsn(f.new_cum_tsn, f.streams(), &mut self.events) {
                    Ok(_) => {
                        *got_data = true;
                        *immediate = true;
                    }
                    Err(()) => {
                        self.protocol_violation("message exceeds max message size");
                        return false;
                    }
                }
            }
            CT_RECONFIG => {
                if self.data_state() {
                    self.handle_reconfig(c.value, now);
                }
            }
            CT_INIT => {} // only valid alone; already handled
            typ => {
                // Unknown chunk: the upper two bits say what to do (§3.2).
                if typ & 0x40 != 0 && self.peer_tag_known {
                    let mut cause = Vec::with_capacity(c.value.len() + 4);
                    cause.extend_from_slice(&[typ, c.flags]);
                    cause.extend_from_slice(&((c.value.len() + 4) as u16).to_be_bytes());
                    let keep = c
                        .value
                        .len()
                        .min(self.config.mtu.saturating_sub(COMMON_HEADER_LEN + 16));
                    cause.extend_from_slice(&c.value[..keep]);
                    let mut b = Vec::with_capacity(cause.len() + 8);
                    let s = begin_chunk(&mut b, CT_ERROR, 0);
                    write_param(&mut b, EC_UNRECOGNIZED_CHUNK, &cause);
                    end_chunk(&mut b, s);
                    self.push_ctrl(self.peer_tag, b);
                }
                return typ & 0x80 != 0;
            }
        }
        true
    }

    fn after_ack(&mut self, res: super::tx::SackResult, now: Instant) {
        if let Some(rtt) = res.rtt {
            self.update_rto(rtt);
        }
        if res.cum_advanced {
            self.error_count = 0;
        }
        if !self.tx.has_outstanding() {
            self.t3 = None;
        } else if res.cum_advanced || self.t3.is_none() {
            self.t3 = Some(now + self.rto);
        }
        self.stats.retransmissions = self.tx.retransmissions;
        self.stats.fast_retransmits = self.tx.fast_retransmits;
        self.stats.abandoned_messages = self.tx.abandoned;
        self.shutdown_progress(now);
    }

    /// RTO computation (RFC 9260 §6.3.1, alpha 1/8, beta 1/4).
    fn update_rto(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let rto = self.srtt.unwrap_or_default() + 4 * self.rttvar;
        self.rto = rto.clamp(self.config.rto_min, self.config.rto_max);
    }

    fn shutdown_progress(&mut self, now: Instant) {
        match self.state {
            State::ShutdownPending if self.tx.is_idle() => {
                self.state = State::ShutdownSent;
                self.send_shutdown = true;
                self.t2 = Timer {
                    deadline: Some(now + self.rto),
                    count: 0,
                    rto: self.rto,
                };
            }
            State::ShutdownReceived if self.tx.is_idle() => {
                self.state = State::ShutdownAckSent;
                self.send_shutdown_ack = true;
                self.t2 = Timer {
                    deadline: Some(now + self.rto),
                    count: 0,
                    rto: self.rto,
                };
            }
            _ => {}
        }
    }

    fn send_abort(&mut self, cause: u16, info: &[u8]) {
        if !self.peer_tag_known {
            return;
        }
        let mut b = Vec::with_capacity(info.len() + 12);
        let s = begin_chunk(&mut b, CT_ABORT, 0);
        write_param(&mut b, cause, info);
        end_chunk(&mut b, s);
        self.ctrl.clear();
        self.push_ctrl(self.peer_tag, b);
    }

    fn protocol_violation(&mut self, what: &str) {
        self.send_abort(EC_PROTOCOL_VIOLATION, what.as_bytes());
        self.terminate(Event::Aborted {
            reason: format!("protocol violation: {what}"),
            cause: Some(EC_PROTOCOL_VIOLATION),
        });
    }

    fn fail(&mut self, what: &str) {
        self.send_abort(EC_PROTOCOL_VIOLATION, what.as_bytes());
        self.terminate(Event::Aborted {
            reason: what.into(),
            cause: None,
        });
    }

    fn terminate(&mut self, ev: Event) {
        tracing::debug!(from = ?self.state, event = ?ev, "sctp: association terminated");
        self.state = State::Closed;
        self.terminated = true;
        self.tx.clear();
        self.t1.deadline = None;
        self.t2.deadline = None;
        self.t3 = None;
        self.delayed_ack = None;
        self.hb_next = None;
        self.reconfig_timer = None;
        self.sack_pending = false;
        self.send_shutdown = false;
        self.send_shutdown_ack = false;
        self.reset_req = None;
        self.reset_queue.clear();
        self.reconfig_responses.clear();
        self.events.push_back(ev);
    }

    // ---- Handshake (RFC 9260 §5) ----

    fn handle_init(&mut self, v: &[u8], now: Instant) {
        let Some(init) = Init::parse(v) else { return };
        if init.initiate_tag == 0 || init.outbound_streams == 0 || init.inbound_streams == 0 {
            return;
        }
        if self.state == State::ShutdownAckSent {
            return;
        }
        let mut unrecognized = Vec::new();
        let ext = parse_init_params(init.params, &mut unrecognized);
        let cookie = self.make_cookie(
            &Cookie {
                peer_tag: init.initiate_tag,
                peer_tsn: init.initial_tsn,
                peer_rwnd: init.a_rwnd,
                peer_os: init.outbound_streams,
                peer_mis: init.inbound_streams,
                ext,
            },
            now,
        );
        let mut b = Vec::with_capacity(128 + unrecognized.len());
        let s = Init {
            initiate_tag: self.local_tag,
            a_rwnd: self.config.receive_window.min(u32::MAX as usize) as u32,
            outbound_streams: self.config.num_streams,
            inbound_streams: self.config.num_streams,
            initial_tsn: self.local_tsn,
            params: &[],
        }
        .begin(&mut b, CT_INIT_ACK);
        write_param(&mut b, PT_STATE_COOKIE, &cookie);
        write_extension_params(&mut b, self.config.zero_checksum);
        b.extend_from_slice(&unrecognized);
        end_chunk(&mut b, s);
        self.push_ctrl(init.initiate_tag, b);
    }

    fn make_cookie(&self, c: &Cookie, now: Instant) -> Vec<u8> {
        let mut b = Vec::with_capacity(COOKIE_LEN);
        b.extend_from_slice(&self.local_tag.to_be_bytes());
        b.extend_from_slice(&c.peer_tag.to_be_bytes());
        b.extend_from_slice(&self.local_tsn.to_be_bytes());
        b.extend_from_slice(&c.peer_tsn.to_be_bytes());
        b.extend_from_slice(&c.peer_rwnd.to_be_bytes());
        b.extend_from_slice(&c.peer_os.to_be_bytes());
        b.extend_from_slice(&c.peer_mis.to_be_bytes());
        b.extend_from_slice(&[
            c.ext.fwd as u8 | (c.ext.reconfig as u8) << 1 | (c.ext.zero_checksum as u8) << 2,
            0,
            0,
            0,
        ]);
        b.extend_from_slice(&self.micros(now).to_be_bytes());
        let tag = hmac::sign(&self.key, &b);
        b.extend_from_slice(tag.as_ref());
        b
    }

    /// Validates a state cookie (§5.1.5): MAC, our tag and TSN, lifetime.
    fn open_cookie(&mut self, v: &[u8], now: Instant) -> Option<Cookie> {
        if v.len() != COOKIE_LEN {
            return None;
        }
        let (body, tag) = v.split_at(COOKIE_BODY);
        hmac::verify(&self.key, body, tag).ok()?;
        let u32_at =
            |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        if u32_at(0) != self.local_tag || u32_at(8) != self.local_tsn {
            return None;
        }
        let created = u64::from_be_bytes(body[28..36].try_into().ok()?);
        let now_us = self.micros(now);
        if created > now_us {
            return None;
        }
        let age = now_us - created;
        let c = Cookie {
            peer_tag: u32_at(4),
            peer_tsn: u32_at(12),
            peer_rwnd: u32_at(16),
            peer_os: u16_at(20),
            peer_mis: u16_at(22),
            ext: PeerExt {
                fwd: body[24] & 1 != 0,
                reconfig: body[24] & 2 != 0,
                zero_checksum: body[24] & 4 != 0,
            },
        };
        if age > self.config.cookie_lifetime.as_micros() as u64 {
            let mut b = Vec::with_capacity(16);
            let s = begin_chunk(&mut b, CT_ERROR, 0);
            let stale =
                (age - self.config.cookie_lifetime.as_micros() as u64).min(u32::MAX as u64) as u32;
            write_param(&mut b, EC_STALE_COOKIE, &stale.to_be_bytes());
            end_chunk(&mut b, s);
            self.push_ctrl(c.peer_tag, b);
            return None;
        }
        Some(c)
    }

    fn handle_init_ack(&mut self, v: &[u8], now: Instant) {
        if self.state != State::CookieWait {
            return;
        }
        let Some(init) = Init::parse(v) else { return };
        if init.initiate_tag == 0 || init.outbound_streams == 0 || init.inbound_streams == 0 {
            return;
        }
        let mut unrecognized = Vec::new();
        let ext = parse_init_params(init.params, &mut unrecognized);
        let Some(cookie) = ParamIter::new(init.params).find(|p| p.typ == PT_STATE_COOKIE) else {
            return;
        };
        self.adopt_peer(PeerInit {
            tag: init.initiate_tag,
            tsn: init.initial_tsn,
            rwnd: init.a_rwnd,
            os: init.outbound_streams,
            mis: init.inbound_streams,
            ext,
        });
        let mut b = Vec::with_capacity(cookie.value.len() + 4);
        write_chunk(&mut b, CT_COOKIE_ECHO, 0, cookie.value);
        self.cookie_echo = b.clone();
        self.push_ctrl(self.peer_tag, b);
        if !unrecognized.is_empty() {
            // Unknown INIT ACK parameters asking for a report go in an ERROR bundled after the
            // COOKIE ECHO (RFC 9260 §3.2.1); the causes have the parameters' own layout.
            let mut e = Vec::with_capacity(unrecognized.len() + 4);
            write_chunk(&mut e, CT_ERROR, 0, &unrecognized);
            self.push_ctrl(self.peer_tag, e);
        }
        self.state = State::CookieEchoed;
        self.t1 = Timer {
            deadline: Some(now + self.config.rto_initial),
            count: 0,
            rto: self.config.rto_initial,
        };
    }

    fn adopt_peer(&mut self, p: PeerInit) {
        self.peer_tag = p.tag;
        self.peer_tag_known = true;
        self.peer_fwd_tsn = p.ext.fwd;
        self.peer_reconfig = p.ext.reconfig;
        self.peer_zero_checksum = p.ext.zero_checksum && self.config.zero_checksum;
        self.out_streams = self.config.num_streams.min(p.mis);
        self.in_streams = self.config.num_streams.min(p.os);
        self.rx = Some(Rx::new(
            p.tsn,
            self.config.receive_window,
            self.config.max_message_size,
        ));
        self.tx.set_peer_rwnd(p.rwnd);
        // Without FORWARD TSN support nothing sent may be abandoned (RFC 3758 §3.3).
        self.tx.pr_sctp = p.ext.fwd;
        self.peer_next_req_seq = p.tsn;
    }

    fn handle_cookie_echo(&mut self, v: &[u8], now: Instant) {
        let Some(c) = self.open_cookie(v, now) else {
            return;
        };
        match self.state {
            State::Closed | State::CookieWait | State::CookieEchoed => {
                // New association, or an INIT collision (§5.2.4 cases B and D).
                self.adopt_peer(PeerInit {
                    tag: c.peer_tag,
                    tsn: c.peer_tsn,
                    rwnd: c.peer_rwnd,
                    os: c.peer_os,
                    mis: c.peer_mis,
                    ext: c.ext,
                });
                self.push_cookie_ack();
                self.set_established(now);
            }
            _ => {
                // Established: a retransmitted COOKIE ECHO (case D) gets its COOKIE ACK again.
                // A peer restart (case A, new peer tag) is not supported and is ignored.
                if self.peer_tag_known && c.peer_tag == self.peer_tag {
                    self.push_cookie_ack();
                }
            }
        }
    }

    fn push_cookie_ack(&mut self) {
        let mut b = Vec::with_capacity(4);
        write_chunk(&mut b, CT_COOKIE_ACK, 0, &[]);
        self.push_ctrl(self.peer_tag, b);
    }

    fn set_established(&mut self, now: Instant) {
        tracing::debug!(
            local_tag = self.local_tag,
            peer_tag = self.peer_tag,
            "sctp: established"
        );
        self.state = State::Established;
        self.t1.deadline = None;
        self.init_chunk = Vec::new();
        self.cookie_echo = Vec::new();
        self.hb_next = Some(now + self.config.heartbeat_interval);
        self.events.push_back(Event::Connected);
    }

    // ---- Stream reset (RFC 6525) ----

    fn try_start_reset(&mut self, now: Instant) {
        if self.reset_req.is_some()
            || self.reset_queue.is_empty()
            || self.state != State::Established
        {
            return;
        }
        let ready: Vec<u16> = self
            .reset_queue
            .iter()
            .copied()
            .filter(|s| !self.tx.stream_has_queued(*s))
            .take(MAX_RESET_STREAMS)
            .collect();
        if ready.is_empty() {
            return;
        }
        for s in &ready {
            self.reset_queue.remove(s);
        }
        self.reset_req = Some(ResetReq {
            seq: self.next_req_seq,
            last_tsn: self.tx.last_assigned_tsn(),
            streams: ready,
        });
        self.send_reset_req = true;
        self.reconfig_timer = Some(now + self.rto);
    }

    fn respond(&mut self, seq: u32, result: u32) {
        if self.reconfig_responses.len() < MAX_RECONFIG_RESPONSES {
            self.reconfig_responses.push((seq, result));
        }
    }

    fn handle_reconfig(&mut self, v: &[u8], now: Instant) {
        for p in ParamIter::new(v) {
            let seq = p
                .value
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            match p.typ {
                PT_OUTGOING_RESET => {
                    let (Some(r), Some(rx)) = (OutgoingReset::parse(p.value), self.rx.as_ref())
                    else {
                        continue;
                    };
                    if r.req_seq == self.peer_next_req_seq {
                        let last = unwrap_tsn(rx.cum, r.last_tsn);
                        let streams: Vec<u16> = r.streams().take(65_536).collect();
                        if last <= rx.cum {
                            self.perform_peer_reset(r.req_seq, streams);
                            self.respond(r.req_seq, RR_SUCCESS_PERFORMED);
                        } else {
                            self.deferred_reset = Some(DeferredReset {
                                seq: r.req_seq,
                                last_tsn: last,
                                streams,
                            });
                            self.respond(r.req_seq, RR_IN_PROGRESS);
                        }
                    } else if let Some((s, res)) = self.last_peer_resp
                        && s == r.req_seq
                    {
                        self.respond(s, res);
                    } else {
                        self.respond(r.req_seq, RR_BAD_SEQ);
                    }
                }
                PT_RECONFIG_RESPONSE => {
                    let result = p
                        .value
                        .get(4..8)
                        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    if let (Some(seq), Some(result)) = (seq, result) {
                        self.on_reset_response(seq, result, now);
                    }
                }
                // Incoming SSN reset, SSN/TSN reset, add streams: not supported (denied).
                14 | 15 | 17 | 18 => {
                    if let Some(seq) = seq {
                        if seq == self.peer_next_req_seq {
                            self.peer_next_req_seq = seq.wrapping_add(1);
                            self.last_peer_resp = Some((seq, RR_DENIED));
                        }
                        self.respond(seq, RR_DENIED);
                    }
                }
                _ => {}
            }
        }
    }

    fn perform_peer_reset(&mut self, seq: u32, streams: Vec<u16>) {
        self.peer_next_req_seq = seq.wrapping_add(1);
        self.last_peer_resp = Some((seq, RR_SUCCESS_PERFORMED));
        self.deferred_reset = None;
        if let Some(rx) = self.rx.as_mut() {
            rx.reset_streams(&streams);
        }
        self.events
            .push_back(Event::IncomingStreamsReset { streams });
    }

    fn check_deferred_reset(&mut self) {
        let (Some(d), Some(rx)) = (self.deferred_reset.as_ref(), self.rx.as_ref()) else {
            return;
        };
        if rx.cum >= d.last_tsn
            && let Some(d) = self.deferred_reset.take()
        {
            self.perform_peer_reset(d.seq, d.streams);
            self.respond(d.seq, RR_SUCCESS_PERFORMED);
        }
    }

    fn on_reset_response(&mut self, seq: u32, result: u32, now: Instant) {
        if self.reset_req.as_ref().is_none_or(|r| r.seq != seq) {
            return;
        }
        match result {
            RR_SUCCESS_NOTHING | RR_SUCCESS_PERFORMED => {
                let Some(r) = self.reset_req.take() else {
                    return;
                };
                self.tx.finish_reset(&r.streams);
                self.next_req_seq = self.next_req_seq.wrapping_add(1);
                self.reconfig_timer = None;
                self.send_reset_req = false;
                self.error_count = 0;
                self.events
                    .push_back(Event::OutgoingStreamsReset { streams: r.streams });
                self.try_start_reset(now);
            }
            RR_IN_PROGRESS => {
                self.error_count = 0;
                self.reconfig_timer = Some(now + self.rto);
            }
            _ => {
                let Some(r) = self.reset_req.take() else {
                    return;
                };
                for s in &r.streams {
                    self.tx.streams.entry(*s).or_default().resetting = false;
                }
                self.next_req_seq = self.next_req_seq.wrapping_add(1);
                self.reconfig_timer = None;
                self.send_reset_req = false;
                self.events
                    .push_back(Event::StreamsResetFailed { streams: r.streams });
                self.try_start_reset(now);
            }
        }
    }
}

/// Writes Forward-TSN-Supported and Supported Extensions (RFC 3758 §3.1, RFC 5061 §4.2.7).
fn write_extension_params(b: &mut Vec<u8>, zero_checksum: bool) {
    write_param(b, PT_FORWARD_TSN_SUPPORTED, &[]);
    write_param(b, PT_SUPPORTED_EXTENSIONS, &[CT_FORWARD_TSN, CT_RECONFIG]);
    if zero_checksum {
        write_param(b, PT_ZERO_CHECKSUM, &EDMID_DTLS.to_be_bytes());
    }
}

/// Reads the INIT / INIT ACK parameters we care about; unknown ones whose type asks for a
/// report are appended to `unrecognized` as "Unrecognized Parameter" (§3.2.1), bounded.
fn parse_init_params(params: &[u8], unrecognized: &mut Vec<u8>) -> PeerExt {
    let mut ext = PeerExt::default();
    for p in ParamIter::new(params) {
        match p.typ {
            PT_FORWARD_TSN_SUPPORTED => ext.fwd = true,
            PT_SUPPORTED_EXTENSIONS => {
                ext.fwd |= p.value.contains(&CT_FORWARD_TSN);
                ext.reconfig |= p.value.contains(&CT_RECONFIG);
            }
            PT_ZERO_CHECKSUM => ext.zero_checksum = p.value == EDMID_DTLS.to_be_bytes(),
            // Known and ignored: addresses, cookie, preservative, host name, address types,
            // zero checksum, AUTH parameters, adaptation layer indication.
            5 | 6 | 7 | 9 | 11 | 12 | 0x8002..=0x8004 | 0xC006 => {}
            t => {
                if t & 0x4000 != 0 && unrecognized.len() + p.raw.len() <= 512 {
                    write_param(unrecognized, PT_UNRECOGNIZED_PARAM, p.raw);
                }
                if t & 0x8000 == 0 {
                    break;
                }
            }
        }
    }
    ext
}

fn describe_causes(v: &[u8]) -> String {
    let mut out = String::new();
    for p in ParamIter::new(v).take(4) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let name = match p.typ {
            EC_INVALID_STREAM => "invalid stream",
            EC_STALE_COOKIE => "stale cookie",
            EC_UNRECOGNIZED_CHUNK => "unrecognized chunk",
            EC_NO_USER_DATA => "no user data",
            EC_USER_ABORT => "user abort",
            EC_PROTOCOL_VIOLATION => "protocol violation",
            _ => "error",
        };
        out.push_str(name);
        if matches!(p.typ, EC_USER_ABORT | EC_PROTOCOL_VIOLATION) && !p.value.is_empty() {
            let text: String = String::from_utf8_lossy(&p.value[..p.value.len().min(128)]).into();
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    if out.is_empty() {
        "no cause".into()
    } else {
        out
    }
}
