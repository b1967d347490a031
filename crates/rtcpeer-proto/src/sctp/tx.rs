//! Send side: send queue, fragmentation, retransmission queue, congestion control and PR-SCTP
//! (RFC 9260 §6.1, §6.3, §7; RFC 3758 §3.5).
//!
//! Unacknowledged chunks live in a `VecDeque` indexed by `tsn - base` where `base` is the
//! first TSN above the peer's cumulative ack. A SACK touches only the chunks it newly acks
//! (gap blocks that merely repeat the previous SACK are skipped) and the holes below the
//! highest newly acked TSN, so the cost per chunk is O(1) amortised.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::chunk::{self, DATA_HEADER_LEN, FLAG_BEGIN, FLAG_END, FLAG_IMMEDIATE, FLAG_UNORDERED};
use super::rx::unwrap_tsn;
use super::{Event, SendError, SendOptions};

/// Bound on bytes kept for retransmission (sent, not cumulatively acked), beyond the peer's
/// window: protects against a peer advertising a huge window.
pub const MAX_OUTSTANDING: usize = 16 * 1024 * 1024;
/// Do not start a fragment smaller than this unless it ends the message.
const MIN_FRAGMENT: usize = 256;

/// Counts chunks looked at while processing SACKs, for the tests that bound it.
macro_rules! visit {
    ($s:ident, $n:expr) => {
        #[cfg(test)]
        {
            $s.visits += $n as u64;
        }
    };
}

struct OutMsg {
    stream: u16,
    ppid: u32,
    data: Arc<Vec<u8>>,
    sent: usize,
    ssn: u16,
    unordered: bool,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
    /// Counted in the stream's `buffered` (see `SendOptions::not_buffered`).
    counted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    InFlight,
    Acked,
    Rtx,
    Abandoned,
}

struct Sent {
    data: Arc<Vec<u8>>,
    off: u32,
    len: u32,
    stream: u16,
    ssn: u16,
    ppid: u32,
    flags: u8,
    state: St,
    nsent: u16,
    miss: u8,
    fast_rtx_done: bool,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
}

/// Per outgoing stream bookkeeping.
#[derive(Default)]
pub struct OutStream {
    next_ssn: u16,
    buffered: usize,
    low_threshold: usize,
    /// Application data was queued since the last `BufferedAmountLow`: the next decrease
    /// that leaves `buffered` at or below the threshold fires one, even if it never was
    /// above it (W3C: the event follows a completed send, WPT-252).
    armed: bool,
    queued_msgs: usize,
    /// A reset was requested: no new messages are accepted.
    pub resetting: bool,
}

/// Result of processing a SACK.
#[derive(Debug, Default)]
pub struct SackResult {
    /// The cumulative ack point moved.
    pub cum_advanced: bool,
    /// An RTT sample (Karn's algorithm: only chunks sent once).
    pub rtt: Option<std::time::Duration>,
    /// Chunks were marked for fast retransmission.
    pub fast_rtx: bool,
}

/// Send-side state.
pub struct Tx {
    queue: VecDeque<OutMsg>,
    queued_bytes: usize,
    /// Per-stream state, created on first use (bounded by the 65536 stream numbers).
    pub streams: HashMap<u16, OutStream>,
    out: VecDeque<Sent>,
    base: u64,
    /// Cumulative TSN acked by the peer (unwrapped).
    pub cum_ack: u64,
    /// Next TSN to assign (unwrapped).
    pub next_tsn: u64,
    flight: usize,
    outstanding: usize,
    rtx: VecDeque<u64>,
    /// Congestion window (RFC 9260 §7.2).
    pub cwnd: usize,
    ssthresh: usize,
    pba: usize,
    fast_recovery_exit: Option<u64>,
    /// Fast retransmissions to send ignoring cwnd (one packet, §7.2.4 step 4).
    fast_rtx_bypass: bool,
    peer_rwnd: usize,
    adv_peer_ack: u64,
    /// A FORWARD TSN must be sent (RFC 3758 §3.5 C3).
    pub fwd_tsn_pending: bool,
    /// The last FORWARD TSN built: (cumulative ack, advanced peer ack point, stream room,
    /// new cumulative TSN), with its stream entries in `fwd_entries`.
    fwd_built: Option<(u64, u64, usize, u64)>,
    fwd_entries: Vec<(u16, u16)>,
    /// The peer supports PR-SCTP: sent chunks may be abandoned (RFC 3758 §3.3).
    pub pr_sctp: bool,
    prev_gaps: Vec<(u64, u64)>,
    new_gaps: Vec<(u64, u64)>,
    /// TSNs above the cumulative ack already acked by gap blocks, as ranges start → end.
    gap_acked: BTreeMap<u64, u64>,
    /// TSNs up to `nack_scanned` that may take a miss indication (in flight, not yet fast
    /// retransmitted); may hold stale entries, dropped when met.
    nackable: BTreeSet<u64>,
    nack_scanned: u64,
    rtt_probe: Option<(u64, Instant)>,
    /// When DATA was last sent, for the idle cwnd decay of RFC 9260 §7.2.1.
    last_data_sent: Option<Instant>,
    /// Current RTO, set by the association (drives the idle decay).
    pub rto: std::time::Duration,
    mtu: usize,
    send_buffer: usize,
    max_message: usize,
    /// Number of retransmitted chunks, fast retransmit events and abandoned messages.
    pub retransmissions: u64,
    /// Fast retransmit events.
    pub fast_retransmits: u64,
    /// Abandoned messages.
    pub abandoned: u64,
    /// Chunks looked at while processing SACKs (tests bound it).
    #[cfg(test)]
    visits: u64,
}

impl Tx {
    /// Send side whose first TSN is `initial_tsn`.
    pub fn new(initial_tsn: u32, mtu: usize, send_buffer: usize, max_message: usize) -> Self {
        let first = (1u64 << 32) + initial_tsn as u64;
        Tx {
            queue: VecDeque::new(),
            queued_bytes: 0,
            streams: HashMap::new(),
            out: VecDeque::new(),
            base: first,
            cum_ack: first - 1,
            next_tsn: first,
            flight: 0,
            outstanding: 0,
            rtx: VecDeque::new(),
            cwnd: (4 * mtu).min((2 * mtu).max(4404)),
            ssthresh: usize::MAX,
            pba: 0,
            fast_recovery_exit: None,
            fast_rtx_bypass: false,
            peer_rwnd: 0,
            adv_peer_ack: first - 1,
            fwd_tsn_pending: false,
            fwd_built: None,
            fwd_entries: Vec::new(),
            pr_sctp: false,
            prev_gaps: Vec::new(),
            new_gaps: Vec::new(),
            gap_acked: BTreeMap::new(),
            nackable: BTreeSet::new(),
            nack_scanned: first - 1,
            rtt_probe: None,
            last_data_sent: None,
            rto: std::time::Duration::from_secs(1),
            mtu,
            send_buffer,
            max_message,
            retransmissions: 0,
            fast_retransmits: 0,
            abandoned: 0,
            #[cfg(test)]
            visits: 0,
        }
    }

    /// Sets the peer's initial window (from INIT / INIT ACK).
    pub fn set_peer_rwnd(&mut self, a_rwnd: u32) {
        self.peer_rwnd = a_rwnd as usize;
        self.ssthresh = (a_rwnd as usize).max(4 * self.mtu);
    }

    /// Queues a message (RFC 9260 §6.1); fragmentation happens when packets are built.
    pub fn enqueue(
        &mut self,
        stream: u16,
        ppid: u32,
        data: Vec<u8>,
        opts: SendOptions,
        now: Instant,
    ) -> Result<(), SendError> {
        if data.is_empty() {
            return Err(SendError::EmptyMessage);
        }
        if data.len() > self.max_message {
            return Err(SendError::MessageTooLarge);
        }
        if self.queued_bytes + data.len() > self.send_buffer {
            return Err(SendError::BufferFull);
        }
        let st = self.streams.entry(stream).or_default();
        if st.resetting {
            return Err(SendError::StreamResetting);
        }
        let counted = !opts.not_buffered;
        if counted {
            st.buffered += data.len();
            st.armed = true;
        }
        st.queued_msgs += 1;
        self.queued_bytes += data.len();
        self.queue.push_back(OutMsg {
            stream,
            ppid,
            data: Arc::new(data),
            sent: 0,
            ssn: 0,
            unordered: opts.unordered,
            max_rtx: opts.max_retransmits,
            expires: opts.lifetime.map(|l| now + l),
            counted,
        });
        Ok(())
    }

    /// Unsent bytes queued on `stream` (W3C `bufferedAmount`).
    pub fn buffered(&self, stream: u16) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.buffered)
    }

    /// Unsent bytes on all streams.
    pub fn total_buffered(&self) -> usize {
        self.queued_bytes
    }

    /// Sets the `BufferedAmountLow` threshold of a stream.
    pub fn set_low_threshold(&mut self, stream: u16, bytes: usize) {
        self.streams.entry(stream).or_default().low_threshold = bytes;
    }

    /// Whether `stream` still has messages waiting to be sent.
    pub fn stream_has_queued(&self, stream: u16) -> bool {
        self.streams.get(&stream).is_some_and(|s| s.queued_msgs > 0)
    }

    /// Resets the outgoing SSN of streams after a successful reset (RFC 6525 §5.2.7).
    pub fn finish_reset(&mut self, streams: &[u16]) {
        for s in streams {
            let st = self.streams.entry(*s).or_default();
            st.next_ssn = 0;
            st.resetting = false;
        }
    }

    /// Nothing queued and nothing unacknowledged (shutdown may proceed, RFC 9260 §9.2).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.out.is_empty()
    }

    /// Something is sent and not cumulatively acked (T3-rtx must run, §6.3.2).
    pub fn has_outstanding(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether DATA could be added to a packet now (for deciding to build one).
    pub fn wants_to_send(&self) -> bool {
        let rtx_ready = self.rtx.iter().any(|_| true);
        let new_ready = !self.queue.is_empty()
            && self.flight < self.cwnd
            && (self.flight == 0 || self.peer_rwnd > 0)
            && self.outstanding < MAX_OUTSTANDING;
        (rtx_ready && (self.fast_rtx_bypass || self.flight < self.cwnd)) || new_ready
    }

    /// Drops everything (association terminated).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.out.clear();
        self.rtx.clear();
        self.gap_acked.clear();
        self.nackable.clear();
        self.queued_bytes = 0;
        self.flight = 0;
        self.outstanding = 0;
        for s in self.streams.values_mut() {
            s.buffered = 0;
            s.armed = false;
            s.queued_msgs = 0;
        }
    }

    /// `n` unsent bytes of a message on `stream` left the queue (sent or abandoned);
    /// `counted` says whether they were part of the stream's `buffered`.
    fn buffered_sub(&mut self, stream: u16, n: usize, counted: bool, events: &mut VecDeque<Event>) {
        self.queued_bytes -= n;
        if !counted {
            return;
        }
        if let Some(st) = self.streams.get_mut(&stream) {
            let before = st.buffered;
            st.buffered -= n;
            if st.buffered <= st.low_threshold && (before > st.low_threshold || st.armed) {
                st.armed = false;
                events.push_back(Event::BufferedAmountLow { stream });
            }
        }
    }

    /// Appends retransmissions and new DATA chunks to `buf` while the packet has room and
    /// cwnd / the peer's window allow (RFC 9260 §6.1). Returns whether any DATA was added.
    pub fn fill(
        &mut self,
        buf: &mut Vec<u8>,
        limit: usize,
        now: Instant,
        events: &mut VecDeque<Event>,
    ) -> bool {
        let mut added = false;
        let mut last_flags_at = None;
        // After an idle period cwnd halves once per RTO, down to 4 MTU (§7.2.1).
        if let Some(last) = self.last_data_sent
            && self.flight == 0
            && !self.rto.is_zero()
        {
            let idle = now.saturating_duration_since(last);
            let periods = (idle.as_nanos() / self.rto.as_nanos()).min(32) as u32;
            for _ in 0..periods {
                self.cwnd = (self.cwnd / 2).max(4 * self.mtu);
            }
            if periods > 0 {
                self.last_data_sent = Some(now);
            }
        }
        // Retransmissions first (§6.1 C / §7.2.4).
        while let Some(&tsn) = self.rtx.front() {
            let Some(idx) = tsn.checked_sub(self.base).map(|i| i as usize) else {
                self.rtx.pop_front();
                continue;
            };
            let Some(c) = self.out.get(idx) else {
                self.rtx.pop_front();
                continue;
            };
            if c.state != St::Rtx {
                self.rtx.pop_front();
                continue;
            }
            let expired = c.expires.is_some_and(|e| now >= e);
            let exhausted = c.max_rtx.is_some_and(|m| c.nsent > m);
            if self.pr_sctp && (expired || exhausted) {
                self.rtx.pop_front();
                self.abandon(idx, events);
                continue;
            }
            if !self.fast_rtx_bypass && self.flight >= self.cwnd {
                break;
            }
            let need = DATA_HEADER_LEN + c.len as usize;
            // Fragments are sized to fit an empty packet, so an empty one always takes it.
            if buf.len() + need > limit && buf.len() > chunk::COMMON_HEADER_LEN {
                break;
            }
            self.rtx.pop_front();
            let c = &mut self.out[idx];
            last_flags_at = Some(buf.len() + 1);
            let payload = &c.data[c.off as usize..(c.off + c.len) as usize];
            chunk::write_data(buf, c.flags, tsn as u32, c.stream, c.ssn, c.ppid, payload);
            c.state = St::InFlight;
            c.nsent = c.nsent.saturating_add(1);
            c.miss = 0;
            self.flight += c.len as usize;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(c.len as usize);
            if !c.fast_rtx_done && tsn <= self.nack_scanned {
                self.nackable.insert(tsn);
            }
            self.retransmissions += 1;
            if self.rtt_probe.is_some_and(|(t, _)| t == tsn) {
                self.rtt_probe = None;
            }
            added = true;
        }
        self.fast_rtx_bypass = false;
        // New data.
        while let Some(m) = self.queue.front_mut() {
            if m.expires.is_some_and(|e| now >= e) && (m.sent == 0 || self.pr_sctp) {
                if m.sent == 0 {
                    // Never put on the wire: dropped without using a TSN.
                    let m = self.queue.pop_front().expect("front exists");
                    if let Some(st) = self.streams.get_mut(&m.stream) {
                        st.queued_msgs -= 1;
                    }
                    self.buffered_sub(m.stream, m.data.len(), m.counted, events);
                    self.abandoned += 1;
                } else if let Some(last) = self.out.len().checked_sub(1) {
                    self.abandon(last, events);
                } else {
                    // Sent part already acked and gone: drop the unsent rest.
                    self.drop_front_rest(events);
                }
                continue;
            }
            if self.flight >= self.cwnd || self.outstanding >= MAX_OUTSTANDING {
                break;
            }
            let remaining = m.data.len() - m.sent;
            let room = limit.saturating_sub(buf.len() + DATA_HEADER_LEN);
            let mut len = remaining.min(room);
            if len == 0
                || (len < remaining && len < MIN_FRAGMENT && buf.len() > chunk::COMMON_HEADER_LEN)
            {
                break;
            }
            if self.flight > 0 && self.peer_rwnd < len {
                if self.peer_rwnd < MIN_FRAGMENT.min(remaining) {
                    break;
                }
                len = self.peer_rwnd;
            }
            let (stream, counted) = (m.stream, m.counted);
            let st = self.streams.entry(stream).or_default();
            if m.sent == 0 && !m.unordered {
                m.ssn = st.next_ssn;
                st.next_ssn = st.next_ssn.wrapping_add(1);
            }
            let mut flags = if m.unordered { FLAG_UNORDERED } else { 0 };
            if m.sent == 0 {
                flags |= FLAG_BEGIN;
            }
            if m.sent + len == m.data.len() {
                flags |= FLAG_END;
            }
            let tsn = self.next_tsn;
            self.next_tsn += 1;
            last_flags_at = Some(buf.len() + 1);
            chunk::write_data(
                buf,
                flags,
                tsn as u32,
                stream,
                m.ssn,
                m.ppid,
                &m.data[m.sent..m.sent + len],
            );
            self.out.push_back(Sent {
                data: m.data.clone(),
                off: m.sent as u32,
                len: len as u32,
                stream,
                ssn: m.ssn,
                ppid: m.ppid,
                flags,
                state: St::InFlight,
                nsent: 1,
                miss: 0,
                fast_rtx_done: false,
                max_rtx: m.max_rtx,
                expires: m.expires,
            });
            m.sent += len;
            let done = flags & FLAG_END != 0;
            if done {
                self.queue.pop_front();
                if let Some(st) = self.streams.get_mut(&stream) {
                    st.queued_msgs -= 1;
                }
            }
            self.buffered_sub(stream, len, counted, events);
            self.flight += len;
            self.outstanding += len;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
            if self.rtt_probe.is_none() {
                self.rtt_probe = Some((tsn, now));
            }
            added = true;
        }
        if added {
            self.last_data_sent = Some(now);
        }
        // RFC 7053: ask for an immediate SACK when we have to wait after this packet.
        if let Some(at) = last_flags_at {
            let blocked = self.queue.is_empty() || self.flight >= self.cwnd || self.peer_rwnd == 0;
            if blocked && self.rtx.is_empty() {
                buf[at] |= FLAG_IMMEDIATE;
            }
        }
        added
    }

    fn drop_front_rest(&mut self, events: &mut VecDeque<Event>) {
        if let Some(m) = self.queue.pop_front() {
            if let Some(st) = self.streams.get_mut(&m.stream) {
                st.queued_msgs -= 1;
            }
            self.buffered_sub(m.stream, m.data.len() - m.sent, m.counted, events);
        }
    }

    /// Abandons the message that chunk `idx` belongs to (RFC 3758 §3.5 A3/A5): all its
    /// fragments, including a still unsent tail at the head of the send queue.
    fn abandon(&mut self, idx: usize, events: &mut VecDeque<Event>) {
        let mut start = idx;
        while start > 0 && self.out[start].flags & FLAG_BEGIN == 0 {
            start -= 1;
        }
        let mut end = idx;
        while self.out[end].flags & FLAG_END == 0 && end + 1 < self.out.len() {
            end += 1;
        }
        for c in self.out.range_mut(start..=end) {
            if c.state == St::InFlight {
                self.flight -= c.len as usize;
            }
            c.state = St::Abandoned;
        }
        if self.out[end].flags & FLAG_END == 0 {
            self.drop_front_rest(events);
        }
        self.abandoned += 1;
        self.advance_peer_ack_point();
    }

    fn advance_peer_ack_point(&mut self) {
        if self.adv_peer_ack < self.cum_ack {
            self.adv_peer_ack = self.cum_ack;
        }
        while let Some(c) = self.out.get((self.adv_peer_ack + 1 - self.base) as usize) {
            if c.state != St::Abandoned {
                break;
            }
            self.adv_peer_ack += 1;
        }
        if self.adv_peer_ack > self.cum_ack {
            self.fwd_tsn_pending = true;
        }
    }

    /// Writes a FORWARD TSN for the abandoned chunks (RFC 3758 §3.5 C4) if one is pending.
    /// The chunk is rebuilt only when the cumulative ack or the advanced peer ack point
    /// moved: a peer that keeps SACKing without acknowledging it costs O(streams) per SACK,
    /// not a walk of every abandoned chunk.
    pub fn write_forward_tsn(&mut self, buf: &mut Vec<u8>, limit: usize) -> bool {
        if !self.fwd_tsn_pending || self.adv_peer_ack <= self.cum_ack {
            self.fwd_tsn_pending = false;
            return false;
        }
        let max_streams = limit.saturating_sub(buf.len() + 8) / 4;
        let key = (self.cum_ack, self.adv_peer_ack, max_streams);
        if self.fwd_built.map(|b| (b.0, b.1, b.2)) != Some(key) {
            self.fwd_entries.clear();
            let mut index: HashMap<u16, usize> = HashMap::new();
            let mut new_cum = self.cum_ack;
            for t in self.cum_ack + 1..=self.adv_peer_ack {
                visit!(self, 1);
                let Some(c) = self.out.get((t - self.base) as usize) else {
                    break;
                };
                if c.flags & FLAG_UNORDERED == 0 {
                    if let Some(&i) = index.get(&c.stream) {
                        self.fwd_entries[i].1 = c.ssn;
                    } else if self.fwd_entries.len() < max_streams {
                        index.insert(c.stream, self.fwd_entries.len());
                        self.fwd_entries.push((c.stream, c.ssn));
                    } else {
                        break;
                    }
                }
                new_cum = t;
            }
            self.fwd_built = Some((key.0, key.1, key.2, new_cum));
        }
        let new_cum = self.fwd_built.map_or(self.cum_ack, |b| b.3);
        if new_cum == self.cum_ack {
            return false;
        }
        chunk::write_forward_tsn(buf, new_cum as u32, &self.fwd_entries);
        self.fwd_tsn_pending = false;
        true
    }

    /// Processes a SACK (RFC 9260 §6.2.1, §7.2) with gap blocks `gaps` (offsets).
    pub fn on_sack(
        &mut self,
        cum_wire: u32,
        a_rwnd: u32,
        gaps: impl Iterator<Item = (u16, u16)>,
        now: Instant,
    ) -> SackResult {
        let mut res = SackResult::default();
        let cum = unwrap_tsn(self.cum_ack, cum_wire);
        if cum < self.cum_ack || cum >= self.next_tsn {
            // Stale (§6.2.1 D i) or acking what was never sent: ignored.
            return res;
        }
        let was_full = self.flight + self.mtu > self.cwnd;
        let mut acked = 0usize;
        let mut htna: Option<u64> = None;
        while self.base <= cum {
            let Some(c) = self.out.pop_front() else { break };
            let tsn = self.base;
            self.base += 1;
            self.outstanding -= c.len as usize;
            match c.state {
                St::InFlight => {
                    self.flight -= c.len as usize;
                    acked += c.len as usize;
                    htna = Some(tsn);
                }
                St::Rtx => {
                    acked += c.len as usize;
                    htna = Some(tsn);
                }
                St::Acked | St::Abandoned => {}
            }
            if let Some((t, at)) = self.rtt_probe
                && t == tsn
            {
                if c.nsent == 1 {
                    res.rtt = Some(now.saturating_duration_since(at));
                }
                self.rtt_probe = None;
            }
        }
        res.cum_advanced = cum > self.cum_ack;
        self.cum_ack = cum;
        while let Some((&rs, &re)) = self.gap_acked.first_key_value() {
            if rs > cum {
                break;
            }
            self.gap_acked.pop_first();
            if re > cum {
                self.gap_acked.insert(cum + 1, re);
                break;
            }
        }
        while self.nackable.first().is_some_and(|&t| t <= cum) {
            self.nackable.pop_first();
        }
        if self.adv_peer_ack < cum {
            self.adv_peer_ack = cum;
        }
        // Gap ack blocks, skipping what the previous SACK already acked.
        self.new_gaps.clear();
        let last_sent = self.next_tsn - 1;
        for (s, e) in gaps {
            if s == 0 || e < s {
                continue;
            }
            let (s, e) = (cum + s as u64, (cum + e as u64).min(last_sent));
            if s > e || self.new_gaps.last().is_some_and(|l| l.1 >= s) {
                continue;
            }
            self.new_gaps.push((s, e));
        }
        // Only TSNs not already covered by an earlier gap ack are visited, so a peer that
        // repeats, shifts or alternates its blocks costs O(log n) per block, not per chunk.
        for bi in 0..self.new_gaps.len() {
            let (s, e) = self.new_gaps[bi];
            let (mut lo, mut hi, mut cursor) = (s, e, s);
            if let Some((&rs, &re)) = self.gap_acked.range(..s).next_back()
                && re + 1 >= s
            {
                self.gap_acked.remove(&rs);
                (lo, hi, cursor) = (rs, hi.max(re), s.max(re + 1));
            }
            while let Some((&rs, &re)) = self.gap_acked.range(s..=e + 1).next() {
                self.gap_acked.remove(&rs);
                if cursor < rs {
                    self.gap_ack_span(
                        cursor,
                        (rs - 1).min(e),
                        &mut acked,
                        &mut htna,
                        &mut res,
                        now,
                    );
                }
                cursor = cursor.max(re + 1);
                hi = hi.max(re);
            }
            if cursor <= e {
                self.gap_ack_span(cursor, e, &mut acked, &mut htna, &mut res, now);
            }
            self.gap_acked.insert(lo, hi);
        }
        std::mem::swap(&mut self.prev_gaps, &mut self.new_gaps);
        // Miss indications on the holes (HTNA, §7.2.4).
        let in_recovery = self.fast_recovery_exit.is_some();
        let limit = if in_recovery && res.cum_advanced {
            self.prev_gaps.last().map(|g| g.1)
        } else {
            htna
        };
        if let Some(limit) = limit {
            // Chunks up to `limit` that can still take a miss indication join the index
            // once; the holes are then walked through the index only.
            if limit > self.nack_scanned {
                let from = self.nack_scanned.max(self.cum_ack) + 1;
                for t in from..=limit {
                    visit!(self, 1);
                    if let Some(c) = self.out.get((t - self.base) as usize)
                        && c.state == St::InFlight
                        && !c.fast_rtx_done
                    {
                        self.nackable.insert(t);
                    }
                }
                self.nack_scanned = limit;
            }
            let mut hole_start = cum + 1;
            for gi in 0..self.prev_gaps.len() {
                let hole_end = (self.prev_gaps[gi].0 - 1).min(limit);
                let mut next = hole_start;
                while next <= hole_end {
                    let Some(&t) = self.nackable.range(next..=hole_end).next() else {
                        break;
                    };
                    visit!(self, 1);
                    next = t + 1;
                    let idx = (t - self.base) as usize;
                    match self.out.get_mut(idx) {
                        Some(c) if c.state == St::InFlight && !c.fast_rtx_done => {
                            c.miss += 1;
                            if c.miss >= 3 {
                                c.state = St::Rtx;
                                c.fast_rtx_done = true;
                                self.flight -= c.len as usize;
                                self.rtx.push_back(t);
                                res.fast_rtx = true;
                                self.nackable.remove(&t);
                            }
                        }
                        // Acked, abandoned or waiting for retransmission: no longer a
                        // candidate (it re-enters when retransmitted).
                        _ => {
                            self.nackable.remove(&t);
                        }
                    }
                }
                hole_start = self.prev_gaps[gi].1 + 1;
                if hole_start > limit {
                    break;
                }
            }
        }
        // Congestion control (§7.2.1, §7.2.2, §7.2.4).
        if res.fast_rtx {
            self.fast_retransmits += 1;
            self.fast_rtx_bypass = true;
            if self.fast_recovery_exit.is_none() {
                self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
                self.cwnd = self.ssthresh;
                self.pba = 0;
                self.fast_recovery_exit = Some(self.next_tsn - 1);
            }
        }
        if let Some(x) = self.fast_recovery_exit
            && cum >= x
        {
            self.fast_recovery_exit = None;
        }
        if res.cum_advanced && acked > 0 {
            if self.cwnd <= self.ssthresh {
                if was_full && self.fast_recovery_exit.is_none() {
                    self.cwnd += acked.min(self.mtu);
                }
            } else {
                self.pba += acked;
                if self.pba >= self.cwnd && was_full {
                    self.pba -= self.cwnd;
                    self.cwnd += self.mtu;
                }
            }
        }
        if self.flight == 0 {
            self.pba = 0;
        }
        self.peer_rwnd = (a_rwnd as usize).saturating_sub(self.flight);
        self.advance_peer_ack_point();
        res
    }

    /// Marks TSNs `s..=e` acked by a gap block (each TSN is visited here once).
    fn gap_ack_span(
        &mut self,
        s: u64,
        e: u64,
        acked: &mut usize,
        htna: &mut Option<u64>,
        res: &mut SackResult,
        now: Instant,
    ) {
        for t in s..=e {
            visit!(self, 1);
            let Some(c) = self.out.get_mut((t - self.base) as usize) else {
                break;
            };
            match c.state {
                St::InFlight => {
                    self.flight -= c.len as usize;
                    *acked += c.len as usize;
                    c.state = St::Acked;
                    *htna = Some(t);
                }
                St::Rtx => {
                    *acked += c.len as usize;
                    c.state = St::Acked;
                    *htna = Some(t);
                }
                St::Acked | St::Abandoned => {}
            }
            if let Some((pt, at)) = self.rtt_probe
                && pt == t
            {
                if c.nsent == 1 {
                    res.rtt = Some(now.saturating_duration_since(at));
                }
                self.rtt_probe = None;
            }
        }
    }

    /// T3-rtx expiry (RFC 9260 §6.3.3): collapse cwnd, mark everything in flight for
    /// retransmission, and resend FORWARD TSN if one is owed.
    pub fn on_t3(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.pba = 0;
        self.fast_recovery_exit = None;
        self.rtt_probe = None;
        // Everything in flight becomes a retransmission: nothing can take a miss now.
        self.nackable.clear();
        for (t, c) in (self.base..).zip(self.out.iter_mut()) {
            if c.state == St::InFlight {
                c.state = St::Rtx;
                self.flight -= c.len as usize;
                self.rtx.push_back(t);
            }
        }
        // Keep the retransmission queue in TSN order.
        let v = self.rtx.make_contiguous();
        v.sort_unstable();
        let mut w: Vec<u64> = Vec::with_capacity(v.len());
        for &t in v.iter() {
            if w.last() != Some(&t) {
                w.push(t);
            }
        }
        self.rtx = w.into();
        if self.adv_peer_ack > self.cum_ack {
            self.fwd_tsn_pending = true;
        }
    }

    /// Applies a cumulative ack from a SHUTDOWN chunk (RFC 9260 §9.2).
    pub fn on_shutdown_cum(&mut self, cum_wire: u32, now: Instant) -> SackResult {
        let rwnd = self.peer_rwnd + self.flight;
        self.on_sack(
            cum_wire,
            rwnd.min(u32::MAX as usize) as u32,
            std::iter::empty(),
            now,
        )
    }

    /// Bytes kept for retransmission (sent, not cumulatively acked).
    pub fn outstanding_bytes(&self) -> usize {
        self.outstanding
    }

    /// Last TSN assigned (for RE-CONFIG's "sender's last assigned TSN").
    pub fn last_assigned_tsn(&self) -> u32 {
        (self.next_tsn - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sctp::chunk::{ChunkIter, Data};

    fn sent_tsns(buf: &[u8]) -> Vec<u32> {
        ChunkIter::new(&buf[12..])
            .filter_map(|c| Data::parse(c.flags, c.value).map(|d| d.tsn))
            .collect()
    }

    #[test]
    fn sack_gap_blocks_miss_indications_and_fast_retransmit() {
        let now = Instant::now();
        let mut tx = Tx::new(100, 1191, 1 << 20, 1 << 20);
        tx.set_peer_rwnd(1 << 20);
        tx.cwnd = 1 << 20;
        let mut ev = VecDeque::new();
        for _ in 0..8 {
            tx.enqueue(0, 51, vec![0; 1000], SendOptions::default(), now)
                .unwrap();
        }
        let mut buf = vec![0; 12];
        let mut all = Vec::new();
        while tx.wants_to_send() {
            buf.truncate(12);
            assert!(tx.fill(&mut buf, 1191, now, &mut ev));
            all.extend(sent_tsns(&buf));
        }
        assert_eq!(all, (100..108).collect::<Vec<u32>>());
        assert_eq!(tx.flight, 8000);
        // 100 acked, 101 missing, 102-103 gap-acked: one miss indication for 101.
        let r = tx.on_sack(100, 1 << 20, [(2u16, 3u16)].into_iter(), now);
        assert!(r.cum_advanced && !r.fast_rtx);
        assert_eq!(tx.flight, 5000);
        assert_eq!(tx.out[0].miss, 1);
        // The same SACK again acks nothing new: no miss indication (HTNA rule, §7.2.4).
        tx.on_sack(100, 1 << 20, [(2u16, 3u16)].into_iter(), now);
        assert_eq!(tx.out[0].miss, 1);
        tx.on_sack(100, 1 << 20, [(2u16, 4u16)].into_iter(), now);
        assert_eq!(tx.out[0].miss, 2);
        let r = tx.on_sack(100, 1 << 20, [(2u16, 5u16)].into_iter(), now);
        assert!(r.fast_rtx);
        assert_eq!(tx.fast_retransmits, 1);
        // cwnd halved (bounded below by 4 MTU) and 101 is retransmitted first.
        assert_eq!(tx.cwnd, 1 << 19);
        buf.truncate(12);
        assert!(tx.fill(&mut buf, 1191, now, &mut ev));
        assert_eq!(sent_tsns(&buf), vec![101]);
        // A SACK with a stale cumulative ack is ignored; an ack beyond what was sent too.
        let before = tx.flight;
        tx.on_sack(99, 0, std::iter::empty(), now);
        tx.on_sack(200, 0, std::iter::empty(), now);
        assert_eq!(tx.flight, before);
        // Everything acked: nothing left.
        tx.on_sack(107, 1 << 20, std::iter::empty(), now);
        assert!(tx.is_idle());
        assert_eq!((tx.flight, tx.outstanding), (0, 0));
    }

    #[test]
    fn abandon_covers_whole_message_and_forward_tsn_lists_streams() {
        let now = Instant::now();
        let mut tx = Tx::new(0, 1191, 1 << 20, 1 << 20);
        tx.set_peer_rwnd(1 << 20);
        tx.pr_sctp = true;
        tx.cwnd = 1 << 20;
        let mut ev = VecDeque::new();
        let pr = SendOptions {
            max_retransmits: Some(0),
            ..Default::default()
        };
        tx.enqueue(7, 51, vec![1; 3000], pr, now).unwrap(); // TSN 0..2, SSN 0
        tx.enqueue(8, 51, vec![2; 100], SendOptions::default(), now)
            .unwrap(); // TSN 3
        let mut buf = vec![0; 12];
        while tx.wants_to_send() {
            buf.truncate(12);
            tx.fill(&mut buf, 1191, now, &mut ev);
        }
        tx.on_t3();
        buf.truncate(12);
        tx.fill(&mut buf, 1191, now, &mut ev);
        // The PR message is abandoned (not retransmitted); the reliable one is.
        assert_eq!(sent_tsns(&buf), vec![3]);
        assert_eq!(tx.abandoned, 1);
        let mut b = Vec::new();
        assert!(tx.write_forward_tsn(&mut b, 1191));
        let f = crate::sctp::chunk::ForwardTsn::parse(&b[4..]).unwrap();
        assert_eq!(f.new_cum_tsn, 2);
        assert_eq!(f.streams().collect::<Vec<_>>(), vec![(7, 0)]);
    }

    /// Sends `n` one-byte messages (one chunk each) and returns the first TSN.
    fn sent_small(tx: &mut Tx, n: usize, now: Instant) -> u32 {
        let mut ev = VecDeque::new();
        tx.set_peer_rwnd(1 << 30);
        tx.cwnd = 1 << 30;
        let mut buf = vec![0; 12];
        let first = tx.next_tsn as u32;
        let mut count = 0;
        while count < n {
            let k = (n - count).min(1000);
            for _ in 0..k {
                tx.enqueue(0, 51, vec![1], SendOptions::default(), now)
                    .unwrap();
            }
            while tx.wants_to_send() {
                buf.truncate(12);
                tx.fill(&mut buf, 1191, now, &mut ev);
            }
            count += k;
        }
        assert_eq!(tx.next_tsn as u32, first.wrapping_add(n as u32));
        first
    }

    /// A peer's SACKs each newly ack one chunk below one growing gap block, or alternate
    /// between blocks that differ only in their start: every SACK used to walk the whole
    /// block and every hole below it (O(n) per SACK). Work is now bounded per chunk.
    #[test]
    fn adversarial_sack_gap_blocks_cost_bounded_work() {
        const N: usize = 6000;
        let now = Instant::now();
        let mut tx = Tx::new(1000, 1191, 1 << 30, 1 << 20);
        let first = sent_small(&mut tx, N, now);
        let cum = first.wrapping_sub(1);
        // TSN first (offset 1) stays missing; the block grows downwards from the top.
        for k in 0..N as u16 - 2 {
            let top = N as u16;
            tx.on_sack(cum, 1 << 30, [(top - k, top)].into_iter(), now);
        }
        // Blocks whose start alternates: nothing new, each used to be walked in full.
        for i in 0..N {
            let s = 2 + (i % 2) as u16;
            tx.on_sack(cum, 1 << 30, [(s, N as u16)].into_iter(), now);
        }
        assert!(
            tx.visits <= 20 * N as u64,
            "{} visits for {N} chunks",
            tx.visits
        );
        // Still right: the missing TSN was fast-retransmitted and the rest is acked.
        assert_eq!(tx.fast_retransmits, 1);
        assert_eq!(tx.flight, 0);
        tx.on_sack(cum.wrapping_add(N as u32), 1 << 30, std::iter::empty(), now);
        assert!(tx.out.is_empty());
    }

    /// A peer that never acknowledges abandoned data gets a FORWARD TSN after each of its
    /// SACKs (RFC 3758 §3.5 C); writing it must not walk every abandoned chunk each time.
    #[test]
    fn repeated_forward_tsn_does_not_rewalk_abandoned_chunks() {
        const N: usize = 3000;
        let now = Instant::now();
        let mut tx = Tx::new(7, 1191, 1 << 30, 1 << 20);
        tx.set_peer_rwnd(1 << 30);
        tx.cwnd = 1 << 30;
        tx.pr_sctp = true;
        let mut ev = VecDeque::new();
        let pr = SendOptions {
            max_retransmits: Some(0),
            ..Default::default()
        };
        for i in 0..N {
            tx.enqueue((i % 3) as u16, 51, vec![1], pr, now).unwrap();
        }
        let mut buf = vec![0; 12];
        while tx.wants_to_send() {
            buf.truncate(12);
            tx.fill(&mut buf, 1191, now, &mut ev);
        }
        let cum = (tx.cum_ack) as u32;
        tx.on_t3();
        buf.truncate(12);
        tx.fill(&mut buf, 1191, now, &mut ev);
        assert_eq!(tx.abandoned, N as u64);
        let mut last = None;
        for _ in 0..1000 {
            tx.on_sack(cum, 1 << 30, std::iter::empty(), now);
            let mut b = Vec::new();
            assert!(tx.write_forward_tsn(&mut b, 1191));
            if let Some(l) = &last {
                assert_eq!(&b, l);
            }
            last = Some(b);
        }
        let b = last.unwrap();
        let f = crate::sctp::chunk::ForwardTsn::parse(&b[4..]).unwrap();
        assert_eq!(f.new_cum_tsn, cum.wrapping_add(N as u32));
        let mut streams: Vec<_> = f.streams().collect();
        streams.sort();
        assert_eq!(streams, vec![(0, 999), (1, 999), (2, 999)]);
        assert!(
            tx.visits <= 3 * N as u64,
            "{} visits for {N} chunks",
            tx.visits
        );
    }
}
