//! The pacer's budget (draft-ietf-rmcat-gcc-02 §4: packets leave at the pacing rate, a
//! multiple of the target, not in frame-sized bursts): a byte budget that fills at the
//! pacing rate, holds at most one 5 ms interval's worth, and is spent per packet sent. The
//! queue of packets it releases belongs to the RTP session; this is only the clock-free
//! arithmetic of when the next one may leave.

use std::time::{Duration, Instant};

/// The interval whose worth of bytes the budget may hold (libwebrtc's 5 ms).
pub const INTERVAL: Duration = Duration::from_millis(5);
/// Pacing rate = this × the target (libwebrtc's pacing factor).
pub const PACING_FACTOR: f64 = 2.5;
/// Packets sent around the pacer (audio, forwarded RTP, retransmissions) may put it at most
/// this far in debt, so they cannot starve paced video for long.
const MAX_DEBT: Duration = Duration::from_millis(100);

/// A byte budget filling at the pacing rate.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate_bps: u64,
    budget: i64,
    last: Option<Instant>,
}

impl Pacer {
    /// A pacer at `rate_bps`.
    pub fn new(rate_bps: u64) -> Self {
        Pacer { rate_bps: rate_bps.max(1), budget: 0, last: None }
    }

    /// The pacing rate, bit/s.
    pub fn rate(&self) -> u64 {
        self.rate_bps
    }

    /// Changes the pacing rate (from `now` on; the budget so far is kept).
    pub fn set_rate(&mut self, now: Instant, rate_bps: u64) {
        self.refill(now);
        self.rate_bps = rate_bps.max(1);
    }

    fn bytes_in(&self, d: Duration) -> i64 {
        (u128::from(self.rate_bps) * d.as_micros() / 8_000_000).min(i64::MAX as u128) as i64
    }

    fn refill(&mut self, now: Instant) {
        let Some(last) = self.last else {
            self.last = Some(now);
            self.budget = self.bytes_in(INTERVAL);
            return;
        };
        if now <= last {
            return;
        }
        let add = self.bytes_in(now - last);
        self.budget = self.budget.saturating_add(add).min(self.bytes_in(INTERVAL));
        self.last = Some(now);
    }

    /// Whether a packet may leave at `now` (the budget is positive).
    pub fn can_send(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.budget > 0
    }

    /// `bytes` left at `now` (paced or not): the budget pays for them.
    pub fn spend(&mut self, now: Instant, bytes: usize) {
        self.refill(now);
        let floor = -self.bytes_in(MAX_DEBT).max(1500);
        self.budget = self.budget.saturating_sub(bytes as i64).max(floor);
    }

    /// When the budget is positive again (the time of the last refill when it is already).
    pub fn next_send(&self) -> Option<Instant> {
        let last = self.last?;
        if self.budget > 0 {
            return Some(last);
        }
        let need = (-self.budget + 1) as u128;
        let us = need * 8_000_000 / u128::from(self.rate_bps) + 1;
        Some(last + Duration::from_micros(us.min(u128::from(u32::MAX)) as u64))
    }
}
