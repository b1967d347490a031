//! The receiver half of transport-wide congestion control
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): arrival times of the packets
//! that carried the transport-wide sequence number, reported back in feedback messages every
//! interval so the remote sender (a browser) can estimate the bandwidth and ramp up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Arrivals held between two feedback messages at most; more makes feedback due at once.
pub const MAX_PENDING_ARRIVALS: usize = 4096;

/// The header fields of one feedback message (draft §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackHeader {
    /// The first transport sequence number the message covers.
    pub base_seq: u16,
    /// Reference time in multiples of 64 ms (24 bits, wrapping).
    pub reference_time: u32,
    /// The reference time in µs after the recorder's epoch (what deltas count from).
    pub reference_us: u64,
    /// Feedback message count (wraps at 8 bits).
    pub feedback_count: u8,
}

/// Arrival times of one transport's packets, turned into feedback (draft §3.1).
#[derive(Debug, Clone)]
pub struct TwccRecorder {
    interval: Duration,
    epoch: Option<Instant>,
    /// The last extended sequence number seen (for unwrapping).
    last: Option<u64>,
    /// Extended sequence number → arrival, µs after `epoch`.
    pending: BTreeMap<u64, u64>,
    /// Everything below this was reported.
    next_base: Option<u64>,
    feedback_count: u8,
    last_feedback: Option<Instant>,
    late: u64,
}

impl TwccRecorder {
    /// A recorder sending feedback every `interval` (libwebrtc: 50–250 ms, 100 ms typical).
    pub fn new(interval: Duration) -> Self {
        TwccRecorder {
            interval,
            epoch: None,
            last: None,
            pending: BTreeMap::new(),
            next_base: None,
            feedback_count: 0,
            last_feedback: None,
            late: 0,
        }
    }

    fn unwrap(&mut self, seq: u16) -> u64 {
        let ext = match self.last {
            None => u64::from(seq) + (1 << 16),
            Some(last) => {
                let delta = seq.wrapping_sub(last as u16) as i16;
                last.saturating_add_signed(i64::from(delta))
            }
        };
        if self.last.is_none_or(|l| ext > l) {
            self.last = Some(ext);
        }
        ext
    }

    /// A packet with transport-wide sequence number `seq` arrived at `now`.
    pub fn on_packet(&mut self, now: Instant, seq: u16) {
        let epoch = *self.epoch.get_or_insert(now);
        let ext = self.unwrap(seq);
        if self.next_base.is_some_and(|b| ext < b) {
            // Already reported as lost; the sender has moved on.
            self.late += 1;
            return;
        }
        let us = now.saturating_duration_since(epoch).as_micros() as u64;
        if self.pending.len() >= MAX_PENDING_ARRIVALS && !self.pending.contains_key(&ext) {
            // Full: feedback is due now (see `poll_timeout`); this one waits for it.
            self.late += 1;
            return;
        }
        self.pending.entry(ext).or_insert(us);
    }

    /// When feedback is due: an interval after the last, at once when the table is full.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let first = self.epoch?;
        if self.pending.is_empty() {
            return None;
        }
        if self.pending.len() >= MAX_PENDING_ARRIVALS {
            return Some(self.last_feedback.unwrap_or(first));
        }
        Some(self.last_feedback.unwrap_or(first) + self.interval)
    }

    /// The feedback due at `now`, if any: its header, and the received packets it covers
    /// as (extended sequence number, arrival µs after the epoch), ascending, in `out`
    /// (those between them were not received). At most `max_packets` sequence numbers
    /// are covered per message; the rest stay for the next one.
    pub fn poll_feedback(
        &mut self,
        now: Instant,
        max_packets: usize,
        out: &mut Vec<(u64, u64)>,
    ) -> Option<FeedbackHeader> {
        if self.poll_timeout().is_none_or(|t| t > now) {
            return None;
        }
        let (&first_seq, &first_us) = self.pending.iter().next()?;
        // Start where the last message ended, so the packets in between are reported as
        // lost; after a jump too long for one message, start at the first arrival.
        let base = match self.next_base {
            Some(b) if first_seq - b <= max_packets as u64 / 2 => b,
            _ => first_seq,
        };
        let limit = base.saturating_add(max_packets.max(1) as u64);
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= limit {
                break;
            }
            let (seq, us) = entry.remove_entry();
            out.push((seq, us));
        }
        let last = out.last().map_or(base, |(s, _)| *s);
        self.next_base = Some(last + 1);
        self.last_feedback = Some(now);
        let count = self.feedback_count;
        self.feedback_count = count.wrapping_add(1);
        let reference_time = first_us / 64_000;
        Some(FeedbackHeader {
            base_seq: base as u16,
            reference_time: (reference_time & 0xff_ffff) as u32,
            reference_us: reference_time * 64_000,
            feedback_count: count,
        })
    }

    /// Packets that arrived too late for feedback or while the table was full.
    pub fn late(&self) -> u64 {
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn feedback_every_interval_covers_arrivals_in_order() {
        let t0 = Instant::now();
        let mut r = TwccRecorder::new(ms(100));
        assert_eq!(r.poll_timeout(), None);
        // 65534, 65535, 0 (wrap), 2: 1 missing; 3 arrives before 2 (reordered).
        for (i, s) in [65_534u16, 65_535, 0, 3, 2].into_iter().enumerate() {
            r.on_packet(t0 + ms(i as u64 * 10), s);
        }
        assert_eq!(r.poll_timeout(), Some(t0 + ms(100)));
        let mut out = Vec::new();
        assert!(r.poll_feedback(t0 + ms(99), 1000, &mut out).is_none());
        let h = r.poll_feedback(t0 + ms(100), 1000, &mut out).unwrap();
        assert_eq!(h.base_seq, 65_534);
        assert_eq!(h.feedback_count, 0);
        assert_eq!((h.reference_time, h.reference_us), (0, 0));
        let seqs: Vec<u16> = out.iter().map(|(s, _)| *s as u16).collect();
        assert_eq!(seqs, [65_534, 65_535, 0, 2, 3]);
        let arrivals: Vec<u64> = out.iter().map(|(_, us)| us / 1000).collect();
        assert_eq!(arrivals, [0, 10, 20, 40, 30]);
        assert_eq!(r.poll_timeout(), None, "nothing pending");
        // A packet older than what was reported is late; the next feedback starts after 3.
        r.on_packet(t0 + ms(150), 1);
        assert_eq!(r.late(), 1);
        r.on_packet(t0 + ms(3000), 5);
        out.clear();
        let h = r.poll_feedback(t0 + ms(3000), 1000, &mut out).unwrap();
        assert_eq!((h.base_seq, h.feedback_count), (4, 1), "4 is reported as lost");
        assert_eq!(out, [(131_077, 3_000_000)]);
        assert_eq!(h.reference_time, 3000 / 64);
        assert_eq!(h.reference_us, (3000 / 64) * 64_000);
    }

    #[test]
    fn a_full_table_makes_feedback_due_and_messages_are_split() {
        let t0 = Instant::now();
        let mut r = TwccRecorder::new(ms(100));
        for s in 0..(MAX_PENDING_ARRIVALS as u32 + 10) {
            r.on_packet(t0, s as u16);
        }
        assert_eq!(r.late(), 10);
        assert_eq!(r.poll_timeout(), Some(t0));
        let mut out = Vec::new();
        let h = r.poll_feedback(t0, 1000, &mut out).unwrap();
        assert_eq!((h.base_seq, out.len()), (0, 1000));
        out.clear();
        // The rest waits for the next interval.
        assert!(r.poll_feedback(t0 + ms(50), 1000, &mut out).is_none());
        let h = r.poll_feedback(t0 + ms(100), 5000, &mut out).unwrap();
        assert_eq!((h.base_seq, h.feedback_count), (1000, 1));
        assert_eq!(out.len(), MAX_PENDING_ARRIVALS - 1000);
    }
}
