//! Receive statistics of one remote RTP source (RFC 3550 §6.4.1, Appendix A.1, A.3, A.8):
//! extended highest sequence number, packets expected and lost, the fraction lost since the
//! last report, and the interarrival jitter — the content of an RTCP report block, and of
//! `RTCInboundRtpStreamStats` later (webrtc-stats §7.5).

use std::time::{Duration, Instant};

use crate::rtcp::{compact_ntp, duration_to_compact};

/// A sequence number this far ahead of the highest one is a jump, not loss (RFC 3550 A.1
/// `MAX_DROPOUT`).
pub const MAX_DROPOUT: u16 = 3000;
/// A sequence number this far behind the highest one is a late or duplicate packet; further
/// behind, it may be a restarted source (RFC 3550 A.1 `MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;

/// The values of one RTCP report block about a source (RFC 3550 §6.4.1), without its SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlockValues {
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (expected − received), clamped to 24-bit signed.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the upper 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (0: none).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s (0: none).
    pub delay_since_last_sr: u32,
}

/// What [`ReceiveStats::on_packet`] made of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// In order or reordered within the window: its extended sequence number.
    Accepted(u64),
    /// Far from the highest (a jump beyond [`MAX_DROPOUT`] or far behind it): not counted
    /// until a second packet confirms a restarted source (RFC 3550 A.1).
    Ignored,
}

/// Receive-side statistics of one SSRC (RFC 3550 Appendix A.1/A.3/A.8).
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    /// When the first packet arrived: arrival times in RTP units count from here.
    epoch: Option<Instant>,
    max_seq: u16,
    /// Sequence number wraps, shifted left by 16 (RFC 3550 A.1 `cycles`).
    cycles: u64,
    base_seq: u64,
    /// The sequence number after a jump, waiting for confirmation (RFC 3550 A.1 `bad_seq`).
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Relative transit time of the previous packet (RFC 3550 A.8), RTP units.
    transit: Option<i64>,
    /// Jitter estimate, scaled by 16 (RFC 3550 A.8's integer form).
    jitter_q4: u64,
    /// Bytes of payload received (headers not counted).
    payload_bytes: u64,
    /// Middle 32 bits of the last SR's NTP timestamp, and when that SR arrived.
    last_sr: Option<(u32, Instant)>,
}

impl ReceiveStats {
    /// Statistics for a source whose RTP clock runs at `clock_rate` Hz (from the codec;
    /// 0 is treated as 90 kHz rather than dividing by zero).
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: if clock_rate == 0 { 90_000 } else { clock_rate },
            epoch: None,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            payload_bytes: 0,
            last_sr: None,
        }
    }

    /// A packet arrived at `now` with sequence number `seq`, RTP timestamp `timestamp` and
    /// `payload_len` payload bytes: updates the counters and the jitter, and returns its
    /// extended sequence number (RFC 3550 A.1 `update_seq`, without the probation of new
    /// sources: a signalled or MID-routed source is valid from its first packet).
    pub fn on_packet(&mut self, now: Instant, seq: u16, timestamp: u32, payload_len: usize) -> Arrival {
        let extended = match self.epoch {
            None => {
                self.epoch = Some(now);
                self.restart(seq);
                u64::from(seq)
            }
            Some(_) => {
                let delta = seq.wrapping_sub(self.max_seq);
                if delta < MAX_DROPOUT {
                    // In order, possibly with a gap.
                    if seq < self.max_seq {
                        self.cycles += 1 << 16;
                    }
                    self.max_seq = seq;
                    self.cycles + u64::from(seq)
                } else if delta <= u16::MAX - MAX_MISORDER {
                    // A large jump: a restarted source if the next packet follows it.
                    if self.bad_seq == Some(seq) {
                        self.restart(seq);
                        self.bad_seq = None;
                        self.cycles + u64::from(seq)
                    } else {
                        self.bad_seq = Some(seq.wrapping_add(1));
                        return Arrival::Ignored;
                    }
                } else {
                    // Duplicate or reordered, within MAX_MISORDER behind the highest.
                    let behind = u64::from(self.max_seq.wrapping_sub(seq));
                    match (self.cycles + u64::from(self.max_seq)).checked_sub(behind) {
                        Some(e) if e >= self.base_seq => e,
                        _ => return Arrival::Ignored,
                    }
                }
            }
        };
        self.received += 1;
        self.payload_bytes = self.payload_bytes.saturating_add(payload_len as u64);
        self.update_jitter(now, timestamp);
        Arrival::Accepted(extended)
    }

    fn restart(&mut self, seq: u16) {
        self.max_seq = seq;
        self.cycles = 0;
        self.base_seq = u64::from(seq);
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.transit = None;
    }

    /// RFC 3550 A.8: J += (|D| − J) / 16, kept scaled by 16 in integers.
    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = self.epoch.unwrap_or(now);
        let elapsed = now.saturating_duration_since(epoch);
        let arrival = (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        // Both clocks wrap at 32 bits: their difference, read as signed, is the transit.
        let transit = i64::from(arrival.wrapping_sub(timestamp) as i32);
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs();
            // Scaled form of RFC 3550 A.8: jitter_q4 += |D| - ((jitter_q4 + 8) >> 4).
            self.jitter_q4 = (self.jitter_q4 + d).saturating_sub((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// A sender report from this source arrived at `now` with NTP timestamp `ntp`
    /// (64-bit, RFC 3550 §4): its middle 32 bits go into our next report's LSR.
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        self.last_sr = Some((compact_ntp(ntp), now));
    }

    /// Extended highest sequence number received (RFC 3550 A.1).
    pub fn extended_highest_seq(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// Packets expected so far (RFC 3550 A.3).
    pub fn expected(&self) -> u64 {
        match self.epoch {
            None => 0,
            Some(_) => self.extended_highest_seq() - self.base_seq + 1,
        }
    }

    /// Packets received so far (duplicates included, as RFC 3550 A.3 counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Payload bytes received so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Cumulative packets lost (may be negative with duplicates, RFC 3550 §6.4.1).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in RTP units (RFC 3550 A.8).
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Interarrival jitter as a duration (`RTCInboundRtpStreamStats.jitter`).
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// The report block for this source at `now`; starts a new interval for the fraction
    /// lost (RFC 3550 A.3). `None` before the first packet.
    pub fn report(&mut self, now: Instant) -> Option<ReportBlockValues> {
        self.epoch?;
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // lost_interval ≤ expected_interval, so this is at most 256; 256 means all lost.
            ((lost_interval as u64 * 256) / expected_interval).min(255) as u8
        };
        let cumulative_lost = self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32;
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            None => (0, 0),
            Some((lsr, at)) => (lsr, duration_to_compact(now.saturating_duration_since(at))),
        };
        Some(ReportBlockValues {
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: self.extended_highest_seq() as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn in_order_packets_count_without_loss() {
        let now = t0();
        let mut s = ReceiveStats::new(90_000);
        for i in 0..100u16 {
            let at = now + Duration::from_millis(u64::from(i) * 10);
            assert_eq!(
                s.on_packet(at, 1000 + i, 900 * u32::from(i), 100),
                Arrival::Accepted(1000 + u64::from(i))
            );
        }
        assert_eq!((s.expected(), s.received(), s.lost()), (100, 100, 0));
        assert_eq!(s.payload_bytes(), 10_000);
        // Perfectly paced: 10 ms of arrival = 900 ticks of timestamp, so no jitter.
        assert_eq!(s.jitter(), 0);
        let r = s.report(now + Duration::from_secs(1)).unwrap();
        assert_eq!((r.fraction_lost, r.cumulative_lost), (0, 0));
        assert_eq!(r.extended_highest_seq, 1099);
        assert_eq!((r.last_sr, r.delay_since_last_sr), (0, 0));
    }

    #[test]
    fn loss_gives_fraction_and_cumulative_per_interval() {
        let now = t0();
        let mut s = ReceiveStats::new(48_000);
        // 0..100 with every fourth packet missing: 25 % lost.
        for i in (0..100u16).filter(|i| i % 4 != 3) {
            s.on_packet(now, i, 0, 10);
        }
        let r = s.report(now).unwrap();
        // Highest received is 98 (99 is missing): 99 expected, 75 received, 24 lost.
        assert_eq!((s.expected(), s.received(), s.lost()), (99, 75, 24));
        assert_eq!(r.cumulative_lost, 24);
        assert_eq!(r.fraction_lost, (24 * 256 / 99) as u8);
        // Next interval: 100 packets, none lost.
        for i in 100..200u16 {
            s.on_packet(now, i, 0, 10);
        }
        // 99 turned out lost too: 101 expected in this interval, 100 received.
        let r2 = s.report(now).unwrap();
        assert_eq!(r2.fraction_lost, (256 / 101) as u8);
        assert_eq!(r2.cumulative_lost, 25);
        assert_eq!(r2.extended_highest_seq, 199);
    }

    #[test]
    fn wrap_extends_the_sequence_number() {
        let now = t0();
        let mut s = ReceiveStats::new(90_000);
        let mut seq = 65_530u16;
        let mut last = 0;
        for _ in 0..20 {
            match s.on_packet(now, seq, 0, 1) {
                Arrival::Accepted(e) => last = e,
                Arrival::Ignored => panic!("in order"),
            }
            seq = seq.wrapping_add(1);
        }
        assert_eq!(last, 65_536 + 13);
        assert_eq!(s.extended_highest_seq(), 65_536 + 13);
        assert_eq!(s.expected(), 20);
        // A packet from before the wrap, reordered, keeps its old cycle.
        assert_eq!(s.on_packet(now, 65_534, 0, 1), Arrival::Accepted(65_534));
        assert_eq!(s.received(), 21);
        assert_eq!(s.lost(), -1, "a duplicate counts negative loss (RFC 3550 §6.4.1)");
    }

    #[test]
    fn jump_is_ignored_until_confirmed_then_restarts() {
        let now = t0();
        let mut s = ReceiveStats::new(90_000);
        for i in 0..10u16 {
            s.on_packet(now, i, 0, 1);
        }
        assert_eq!(s.on_packet(now, 40_000, 0, 1), Arrival::Ignored);
        assert_eq!(s.received(), 10);
        // Confirmed by the next one: the source restarted (RFC 3550 A.1).
        assert_eq!(s.on_packet(now, 40_001, 0, 1), Arrival::Accepted(40_001));
        assert_eq!((s.expected(), s.received()), (1, 1));
        // Far behind the highest (more than MAX_MISORDER): ignored.
        assert_eq!(s.on_packet(now, 39_000, 0, 1), Arrival::Ignored);
        // Slightly behind but before the base of the restarted source: ignored too.
        assert_eq!(s.on_packet(now, 40_000, 0, 1), Arrival::Ignored);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let now = t0();
        let mut s = ReceiveStats::new(8000);
        // Packets every 20 ms (160 ticks), the odd ones arriving 5 ms (40 ticks) late.
        let mut expect_q4: u64 = 0;
        let mut prev: Option<i64> = None;
        for i in 0..50u32 {
            let late = if i % 2 == 1 { 5 } else { 0 };
            let at = now + Duration::from_millis(u64::from(i) * 20 + late);
            s.on_packet(at, i as u16, 160 * i, 1);
            let transit = (i64::from(i) * 160 + late as i64 * 8) - i64::from(160 * i);
            if let Some(p) = prev {
                let d = (transit - p).unsigned_abs();
                expect_q4 = (expect_q4 + d).saturating_sub((expect_q4 + 8) >> 4);
            }
            prev = Some(transit);
        }
        assert_eq!(s.jitter(), (expect_q4 >> 4) as u32);
        // |D| is 40 ticks each time: the estimate approaches 40.
        assert!((30..=40).contains(&s.jitter()), "jitter {}", s.jitter());
        assert_eq!(s.jitter_duration(), Duration::from_nanos(u64::from(s.jitter()) * 125_000));
    }

    #[test]
    fn lsr_and_dlsr_come_from_the_last_sender_report() {
        let now = t0();
        let mut s = ReceiveStats::new(90_000);
        s.on_packet(now, 1, 0, 1);
        let ntp: u64 = 0x1234_5678_9abc_def0;
        s.on_sender_report(now, ntp);
        let r = s.report(now + Duration::from_millis(500)).unwrap();
        assert_eq!(r.last_sr, 0x5678_9abc);
        assert_eq!(r.delay_since_last_sr, 32_768, "0.5 s in 1/65536 s");
    }

    #[test]
    fn cumulative_loss_is_clamped_to_24_bits() {
        let now = t0();
        let mut s = ReceiveStats::new(90_000);
        // Steps of 2999 (below MAX_DROPOUT) lose 2998 packets each time.
        let mut seq = 0u16;
        for _ in 0..4000 {
            s.on_packet(now, seq, 0, 1);
            seq = seq.wrapping_add(2999);
        }
        assert!(s.lost() > 0x7f_ffff);
        let r = s.report(now).unwrap();
        assert_eq!(r.cumulative_lost, 0x7f_ffff);
        assert_eq!(r.fraction_lost, 255);
    }

    #[test]
    fn no_report_before_the_first_packet() {
        let mut s = ReceiveStats::new(0);
        assert_eq!(s.report(t0()), None);
        assert_eq!(s.expected(), 0);
    }
}
