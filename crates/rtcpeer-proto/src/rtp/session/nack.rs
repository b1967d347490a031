//! Retransmission by negative acknowledgement (RFC 4585 §6.2.1 generic NACK, RFC 4588 RTX):
//! [`NackTracker`] finds the holes in what a remote source sent and says which sequence
//! numbers to request and when; [`SendHistory`] keeps what we sent, so a NACK from the peer
//! can be answered with a retransmission. Both are fixed-size rings: a peer that skips
//! sequence numbers or sends NACK storms cannot make them grow, and each packet or request
//! costs a bounded amount of work.

use std::time::{Duration, Instant};

/// Sequence numbers a [`NackTracker`] watches behind the newest one (a power of two).
pub const NACK_WINDOW: u64 = 1024;

/// Limits of a [`NackTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackConfig {
    /// Requests per missing packet before giving up on it (libwebrtc uses 10).
    pub max_retries: u8,
    /// The shortest time between two requests for one packet (also used while no RTT is
    /// known yet is the RTT estimate, see [`NackTracker::poll`]).
    pub min_interval: Duration,
    /// A gap of more sequence numbers than this cannot be repaired by retransmission:
    /// the tracker asks for a keyframe instead (at most [`NACK_WINDOW`]).
    pub max_gap: u64,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            max_retries: 10,
            min_interval: Duration::from_millis(10),
            max_gap: NACK_WINDOW / 2,
        }
    }
}

const WORDS: usize = (NACK_WINDOW / 64) as usize;

/// Loss tracking of one received source, for generic NACKs (RFC 4585 §6.2.1).
#[derive(Debug, Clone)]
pub struct NackTracker {
    config: NackConfig,
    /// The newest extended sequence number seen.
    newest: Option<u64>,
    /// The first sequence number of the stream (or after a keyframe reset): nothing older
    /// is missing.
    base: u64,
    /// Received bits of the sequence numbers (newest − WINDOW, newest], by seq % WINDOW.
    received: [u64; WORDS],
    /// Requests sent per slot.
    retries: Box<[u8; NACK_WINDOW as usize]>,
    /// When the slot was last requested, in ms after `epoch` (0: never).
    last_request_ms: Box<[u32; NACK_WINDOW as usize]>,
    epoch: Option<Instant>,
    keyframe_needed: bool,
    requested: u64,
    given_up: u64,
}

impl NackTracker {
    /// A tracker with `config` (`max_gap` is capped at [`NACK_WINDOW`]).
    pub fn new(mut config: NackConfig) -> Self {
        config.max_gap = config.max_gap.min(NACK_WINDOW);
        NackTracker {
            config,
            newest: None,
            base: 0,
            received: [0; WORDS],
            retries: Box::new([0; NACK_WINDOW as usize]),
            last_request_ms: Box::new([0; NACK_WINDOW as usize]),
            epoch: None,
            keyframe_needed: false,
            requested: 0,
            given_up: 0,
        }
    }

    fn slot(seq: u64) -> usize {
        (seq % NACK_WINDOW) as usize
    }

    fn set_received(&mut self, seq: u64, on: bool) {
        let s = Self::slot(seq);
        let bit = 1u64 << (s % 64);
        if on {
            self.received[s / 64] |= bit;
        } else {
            self.received[s / 64] &= !bit;
        }
    }

    fn is_received(&self, seq: u64) -> bool {
        let s = Self::slot(seq);
        self.received[s / 64] & (1u64 << (s % 64)) != 0
    }

    /// A packet with extended sequence number `seq` arrived (original or retransmitted).
    /// Sequence numbers skipped since the newest become missing; a gap larger than
    /// `max_gap` forgets the window and asks for a keyframe instead.
    pub fn on_packet(&mut self, now: Instant, seq: u64) {
        self.epoch.get_or_insert(now);
        let Some(newest) = self.newest else {
            self.newest = Some(seq);
            self.base = seq;
            self.set_received(seq, true);
            return;
        };
        if seq <= newest {
            // Late, retransmitted or duplicate: fills its hole if still in the window.
            if newest - seq < NACK_WINDOW {
                self.set_received(seq, true);
            }
            return;
        }
        let advance = seq - newest;
        if advance > self.config.max_gap {
            self.received = [0; WORDS];
            self.base = seq;
            self.keyframe_needed = true;
        } else {
            // Each slot that enters the window starts as missing with no requests; at most
            // `max_gap` ≤ NACK_WINDOW slots, so the work per packet is bounded.
            for s in newest + 1..seq {
                self.set_received(s, false);
                let i = Self::slot(s);
                self.retries[i] = 0;
                self.last_request_ms[i] = 0;
            }
        }
        self.newest = Some(seq);
        self.set_received(seq, true);
    }

    /// The sequence numbers to request now (appended to `out`, oldest first): missing ones
    /// never requested, or last requested at least `rtt` ago (`min_interval` at least).
    /// A packet requested `max_retries` times is given up.
    pub fn poll(&mut self, now: Instant, rtt: Option<Duration>, out: &mut Vec<u64>) {
        let (Some(newest), Some(epoch)) = (self.newest, self.epoch) else {
            return;
        };
        let interval = rtt.unwrap_or(Duration::from_millis(100)).max(self.config.min_interval);
        // Milliseconds after the epoch, from 1 (0 means "never requested").
        let now_ms = u32::try_from(now.saturating_duration_since(epoch).as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        let interval_ms = u32::try_from(interval.as_millis()).unwrap_or(u32::MAX);
        let oldest = newest.saturating_sub(NACK_WINDOW - 1).max(self.base);
        for seq in oldest..newest {
            if self.is_received(seq) {
                continue;
            }
            let i = Self::slot(seq);
            if self.retries[i] >= self.config.max_retries {
                continue;
            }
            let last = self.last_request_ms[i];
            if last != 0 && now_ms.saturating_sub(last) < interval_ms {
                continue;
            }
            self.retries[i] += 1;
            self.last_request_ms[i] = now_ms;
            self.requested += 1;
            if self.retries[i] == self.config.max_retries {
                self.given_up += 1;
            }
            out.push(seq);
        }
    }

    /// Whether a keyframe must be requested (PLI, RFC 4585 §6.3.1) since the last call.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_needed)
    }

    /// Sequence numbers requested so far (each retry counts).
    pub fn requested(&self) -> u64 {
        self.requested
    }

    /// Packets requested `max_retries` times (their last request was the final one).
    pub fn given_up(&self) -> u64 {
        self.given_up
    }
}

/// Limits of a [`SendHistory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Packets kept (the ring's size).
    pub packets: usize,
    /// Packets older than this are not retransmitted.
    pub max_age: Duration,
    /// Retransmission budget in bytes per second (a token bucket), so that NACK storms
    /// cannot multiply our send rate.
    pub bytes_per_second: u64,
    /// The bucket's depth in bytes.
    pub burst_bytes: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            packets: 512,
            max_age: Duration::from_secs(1),
            bytes_per_second: 1_000_000,
            burst_bytes: 100_000,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Slot {
    seq: u16,
    valid: bool,
    sent_at: Option<Instant>,
    resent_at: Option<Instant>,
    data: Vec<u8>,
}

/// What we sent on one stream, for answering NACKs (RFC 4585 §6.2.1, RFC 4588 §4).
#[derive(Debug, Clone)]
pub struct SendHistory {
    config: HistoryConfig,
    slots: Vec<Slot>,
    tokens: u64,
    refilled_at: Option<Instant>,
    resent: u64,
    refused: u64,
}

impl SendHistory {
    /// An empty history with `config` (at least one slot).
    pub fn new(config: HistoryConfig) -> Self {
        let n = config.packets.max(1);
        SendHistory {
            config,
            slots: vec![Slot::default(); n],
            tokens: config.burst_bytes,
            refilled_at: None,
            resent: 0,
            refused: 0,
        }
    }

    /// Keeps a copy of the packet with sequence number `seq` sent at `now` (the slot's
    /// buffer is reused: no allocation once every slot has held a packet of this size).
    pub fn store(&mut self, now: Instant, seq: u16, packet: &[u8]) {
        let n = self.slots.len();
        let slot = &mut self.slots[usize::from(seq) % n];
        slot.seq = seq;
        slot.valid = true;
        slot.sent_at = Some(now);
        slot.resent_at = None;
        slot.data.clear();
        slot.data.extend_from_slice(packet);
    }

    fn refill(&mut self, now: Instant) {
        let Some(at) = self.refilled_at else {
            self.refilled_at = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(at);
        let add = (elapsed.as_micros() * u128::from(self.config.bytes_per_second) / 1_000_000) as u64;
        if add > 0 {
            self.tokens = (self.tokens + add).min(self.config.burst_bytes);
            self.refilled_at = Some(now);
        }
    }

    /// The packet to retransmit for a NACK of `seq` at `now`, if we still have it, it is
    /// younger than `max_age`, it was not resent within `rtt`, and the budget allows it.
    pub fn resend(&mut self, now: Instant, seq: u16, rtt: Option<Duration>) -> Option<&[u8]> {
        self.refill(now);
        let n = self.slots.len();
        let min_gap = rtt.unwrap_or(Duration::ZERO).max(Duration::from_millis(5));
        let slot = &self.slots[usize::from(seq) % n];
        let fresh = slot
            .sent_at
            .is_some_and(|t| now.saturating_duration_since(t) <= self.config.max_age);
        let not_just_resent = slot
            .resent_at
            .is_none_or(|t| now.saturating_duration_since(t) >= min_gap);
        let len = slot.data.len() as u64;
        if !(slot.valid && slot.seq == seq && fresh && not_just_resent) || len > self.tokens {
            self.refused += 1;
            return None;
        }
        self.tokens -= len;
        self.resent += 1;
        let slot = &mut self.slots[usize::from(seq) % n];
        slot.resent_at = Some(now);
        Some(&slot.data)
    }

    /// Packets retransmitted so far.
    pub fn resent(&self) -> u64 {
        self.resent
    }

    /// NACKed packets not retransmitted (unknown, too old, just resent, over budget).
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn holes_are_requested_then_retried_each_rtt_until_given_up() {
        let t0 = Instant::now();
        let mut n = NackTracker::new(NackConfig::default());
        let mut out = Vec::new();
        for s in [100, 101, 104, 105] {
            n.on_packet(t0, s);
        }
        n.poll(t0, Some(ms(50)), &mut out);
        assert_eq!(out, [102, 103]);
        // Not again before an RTT has passed.
        out.clear();
        n.poll(t0 + ms(20), Some(ms(50)), &mut out);
        assert!(out.is_empty());
        // 103 arrives (retransmitted); 102 is asked again after the RTT.
        n.on_packet(t0 + ms(30), 103);
        n.poll(t0 + ms(60), Some(ms(50)), &mut out);
        assert_eq!(out, [102]);
        // Up to max_retries in total.
        // So far: 102 twice, 103 once.
        let mut total = 3;
        for i in 2..30u64 {
            out.clear();
            n.poll(t0 + ms(60 * i), Some(ms(50)), &mut out);
            total += out.len();
        }
        assert_eq!(total, 1 + 10, "103 once, 102 ten times");
        assert_eq!(n.given_up(), 1);
        assert_eq!(n.requested(), 11);
        assert!(!n.take_keyframe_request());
    }

    #[test]
    fn a_gap_beyond_max_gap_asks_for_a_keyframe_instead() {
        let t0 = Instant::now();
        let mut n = NackTracker::new(NackConfig::default());
        n.on_packet(t0, 10);
        n.on_packet(t0, 10 + 513);
        let mut out = Vec::new();
        n.poll(t0, None, &mut out);
        assert!(out.is_empty(), "nothing requested: {out:?}");
        assert!(n.take_keyframe_request());
        assert!(!n.take_keyframe_request(), "taken once");
        // A gap within the limit is requested.
        n.on_packet(t0, 523 + 3);
        n.poll(t0, None, &mut out);
        assert_eq!(out, [524, 525]);
    }

    #[test]
    fn holes_leave_the_window_after_nack_window_sequence_numbers() {
        let t0 = Instant::now();
        let mut n = NackTracker::new(NackConfig {
            max_retries: 1,
            ..NackConfig::default()
        });
        n.on_packet(t0, 0);
        n.on_packet(t0, 2);
        // Advance in steps within max_gap, receiving everything else.
        for s in 3..=(2 + NACK_WINDOW) {
            n.on_packet(t0, s);
        }
        let mut out = Vec::new();
        n.poll(t0, None, &mut out);
        assert!(out.is_empty(), "1 is out of the window: {out:?}");
    }

    #[test]
    fn hostile_sequence_numbers_cost_bounded_work_and_memory() {
        let t0 = Instant::now();
        let mut n = NackTracker::new(NackConfig::default());
        let mut rng = crate::util::SeededRandom::new(5);
        use crate::util::RandomSource;
        let mut seq = 0u64;
        let mut out = Vec::new();
        for i in 0..20_000u64 {
            seq += u64::from(rng.next_u32() % 600);
            n.on_packet(t0 + ms(i), seq);
            if i % 10 == 0 {
                out.clear();
                n.poll(t0 + ms(i), Some(ms(20)), &mut out);
                assert!(out.len() < NACK_WINDOW as usize);
                assert!(out.iter().all(|&s| s < seq && seq - s < NACK_WINDOW));
            }
        }
    }

    #[test]
    fn history_resends_once_per_rtt_within_age_and_budget() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(HistoryConfig {
            packets: 4,
            max_age: ms(1000),
            bytes_per_second: 10_000,
            burst_bytes: 3000,
        });
        for s in 0..6u16 {
            h.store(t0, 65_534u16.wrapping_add(s), &[s as u8; 1000]);
        }
        // 65534 and 65535 were overwritten by 2 and 3 (ring of 4).
        assert!(h.resend(t0, 65_534, None).is_none());
        assert_eq!(h.resend(t0, 2, Some(ms(40))), Some(&[4u8; 1000][..]));
        // Again within the RTT: refused.
        assert!(h.resend(t0 + ms(10), 2, Some(ms(40))).is_none());
        assert_eq!(h.resend(t0 + ms(10), 3, Some(ms(40))).map(|p| p[0]), Some(5));
        assert_eq!(h.resend(t0 + ms(10), 0, Some(ms(40))).map(|p| p[0]), Some(2));
        // The bucket (3000 bytes) is empty now: the next one waits for the refill.
        assert!(h.resend(t0 + ms(10), 1, Some(ms(40))).is_none());
        assert!(h.resend(t0 + ms(110), 1, Some(ms(40))).is_some(), "100 ms refill 1000 B");
        // Too old.
        assert!(h.resend(t0 + ms(1500), 2, Some(ms(40))).is_none());
        assert_eq!((h.resent(), h.refused()), (4, 4));
    }

    #[test]
    fn nack_storm_is_bounded_by_the_budget() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(HistoryConfig::default());
        for s in 0..512u16 {
            h.store(t0, s, &[0u8; 1200]);
        }
        let mut bytes = 0u64;
        // Every packet NACKed every millisecond for one second.
        for t in 0..1000u64 {
            for s in 0..512u16 {
                if let Some(p) = h.resend(t0 + ms(t), s, Some(ms(1))) {
                    bytes += p.len() as u64;
                }
            }
        }
        let c = HistoryConfig::default();
        assert!(bytes <= c.burst_bytes + c.bytes_per_second, "{bytes}");
    }
}
