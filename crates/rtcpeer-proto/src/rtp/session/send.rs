//! Send statistics of one local RTP source and what comes back about it (RFC 3550 §6.4):
//! the sender report's NTP/RTP timestamp pair and counts, and the round-trip time from the
//! remote's report blocks (RFC 3550 §6.4.1 "LSR"/"DLSR").

use std::time::{Duration, Instant};

use super::receive::ReportBlockValues;
use crate::rtcp::{compact_ntp, ntp_from_unix, round_trip_time};

/// Wall-clock time as 64-bit NTP timestamps (RFC 3550 §4), anchored once: the core reads
/// no clock, so the driver gives one (`Instant`, NTP time) pair and later `Instant`s map
/// from it.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    anchor: Instant,
    ntp_at_anchor: u64,
}

impl NtpClock {
    /// A clock where `anchor` is `unix` since the Unix epoch (e.g. from `SystemTime`).
    pub fn new(anchor: Instant, unix: Duration) -> Self {
        NtpClock {
            anchor,
            ntp_at_anchor: ntp_from_unix(unix),
        }
    }

    /// The 64-bit NTP timestamp of `now` (times before the anchor read as the anchor).
    pub fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.anchor);
        // A duration as 32.32 fixed-point seconds (the NTP format without the epoch).
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        self.ntp_at_anchor
            .wrapping_add((d.as_secs() << 32).wrapping_add(frac))
    }

    /// The middle 32 bits of [`NtpClock::ntp`] (RFC 3550 §4 "compact" form, 1/65536 s).
    pub fn compact(&self, now: Instant) -> u32 {
        compact_ntp(self.ntp(now))
    }
}

/// The values of an RTCP sender report's sender info (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP timestamp of the report.
    pub ntp: u64,
    /// The RTP timestamp of the same instant, on the stream's clock.
    pub rtp_timestamp: u32,
    /// Packets sent since the stream started (wraps at 32 bits).
    pub packet_count: u32,
    /// Payload octets sent since the stream started (wraps at 32 bits).
    pub octet_count: u32,
}

/// Send-side statistics of one SSRC.
#[derive(Debug, Clone)]
pub struct SendStats {
    clock_rate: u32,
    packets: u64,
    payload_bytes: u64,
    /// The RTP timestamp of the last packet sent and when it was sent (maps now → RTP time).
    last: Option<(u32, Instant)>,
    rtt: Option<Duration>,
    /// Fraction lost and cumulative lost from the last report block about this source.
    remote_loss: Option<(u8, i32)>,
    remote_jitter: Option<u32>,
    /// Round-trip time sums and report counts (webrtc-stats `totalRoundTripTime`).
    rtt_totals: crate::stats::counters::RttTotals,
}

impl SendStats {
    /// Statistics for a stream whose RTP clock runs at `clock_rate` Hz (0 is read as 90 kHz).
    pub fn new(clock_rate: u32) -> Self {
        SendStats {
            clock_rate: if clock_rate == 0 { 90_000 } else { clock_rate },
            packets: 0,
            payload_bytes: 0,
            last: None,
            rtt: None,
            remote_loss: None,
            remote_jitter: None,
            rtt_totals: Default::default(),
        }
    }

    /// A packet with RTP timestamp `timestamp` and `payload_len` payload bytes left at `now`.
    pub fn on_sent(&mut self, now: Instant, timestamp: u32, payload_len: usize) {
        self.packets += 1;
        self.payload_bytes = self.payload_bytes.saturating_add(payload_len as u64);
        self.last = Some((timestamp, now));
    }

    /// Packets sent so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload bytes sent so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// The sender info of a report sent at `now`, or `None` before the first packet
    /// (RFC 3550 §6.4: a source that has not sent is not a sender).
    pub fn sender_info(&self, now: Instant, clock: &NtpClock) -> Option<SenderInfo> {
        self.last?;
        Some(SenderInfo {
            ntp: clock.ntp(now),
            rtp_timestamp: self.timestamp_at(now, self.clock_rate),
            packet_count: self.packets as u32,
            octet_count: self.payload_bytes as u32,
        })
    }

    /// The RTP timestamp of instant `at` on this stream's timeline: the last packet's,
    /// moved by the time between them at `clock_rate` Hz (0 before the first packet).
    pub fn timestamp_at(&self, at: Instant, clock_rate: u32) -> u32 {
        let Some((ts, sent)) = self.last else {
            return 0;
        };
        let ticks = |d: Duration| (d.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
        if at >= sent {
            ts.wrapping_add(ticks(at - sent))
        } else {
            ts.wrapping_sub(ticks(sent - at))
        }
    }

    /// A report block about this source arrived at `now` (RFC 3550 §6.4.1): keeps the
    /// remote's loss and jitter figures and, when it echoes one of our SRs, the round-trip
    /// time A − LSR − DLSR. A negative result (a bogus block) is ignored.
    pub fn on_report_block(
        &mut self,
        now: Instant,
        clock: &NtpClock,
        block: &ReportBlockValues,
    ) {
        self.remote_loss = Some((block.fraction_lost, block.cumulative_lost));
        self.remote_jitter = Some(block.jitter);
        self.rtt_totals.reports += 1;
        let Some(rtt) = round_trip_time(
            clock.compact(now),
            block.last_sr,
            block.delay_since_last_sr,
        ) else {
            return;
        };
        let rtt = Duration::from_nanos(u64::from(rtt) * 1_000_000_000 / 65_536);
        self.rtt = Some(rtt);
        self.rtt_totals.total += rtt;
        self.rtt_totals.measurements += 1;
    }

    /// The sum and count of the round-trip times measured, and the report blocks received.
    pub fn rtt_totals(&self) -> crate::stats::counters::RttTotals {
        self.rtt_totals
    }

    /// The last round-trip time measured from report blocks.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The remote's last fraction lost (1/256) and cumulative lost about this source.
    pub fn remote_loss(&self) -> Option<(u8, i32)> {
        self.remote_loss
    }

    /// The remote's last jitter figure about this source, in RTP units.
    pub fn remote_jitter(&self) -> Option<u32> {
        self.remote_jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_clock_maps_instants_from_the_anchor() {
        let t0 = Instant::now();
        // 2026-01-01T00:00:00Z.
        let unix = Duration::from_secs(1_767_225_600);
        let c = NtpClock::new(t0, unix);
        use crate::rtcp::NTP_UNIX_OFFSET_SECS;
        assert_eq!(c.ntp(t0) >> 32, 1_767_225_600 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(c.ntp(t0) as u32, 0);
        let half = c.ntp(t0 + Duration::from_millis(1500));
        assert_eq!(half >> 32, 1_767_225_601 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(half as u32, 1 << 31);
        assert_eq!(c.compact(t0 + Duration::from_millis(1500)), (half >> 16) as u32);
        assert_eq!(c.ntp(t0 - Duration::from_secs(1)), c.ntp(t0));
    }

    #[test]
    fn sender_info_extrapolates_the_rtp_timestamp() {
        let t0 = Instant::now();
        let c = NtpClock::new(t0, Duration::from_secs(1_000_000));
        let mut s = SendStats::new(90_000);
        assert_eq!(s.sender_info(t0, &c), None);
        s.on_sent(t0, 4_294_967_000, 1000);
        s.on_sent(t0, 4_294_967_000, 500);
        let info = s.sender_info(t0 + Duration::from_millis(100), &c).unwrap();
        // 100 ms at 90 kHz = 9000 ticks, across the 32-bit wrap.
        assert_eq!(info.rtp_timestamp, 4_294_967_000u32.wrapping_add(9000));
        assert_eq!((info.packet_count, info.octet_count), (2, 1500));
        assert_eq!(info.ntp, c.ntp(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn rtt_is_arrival_minus_lsr_minus_dlsr() {
        let t0 = Instant::now();
        let c = NtpClock::new(t0, Duration::from_secs(1_000_000));
        let mut s = SendStats::new(48_000);
        // We sent an SR at t0; the peer held it 250 ms, the block arrives at t0 + 330 ms.
        let lsr = c.compact(t0);
        let dlsr = 65_536 / 4;
        let block = |fraction_lost, cumulative_lost, jitter, last_sr, delay_since_last_sr| {
            ReportBlockValues {
                fraction_lost,
                cumulative_lost,
                extended_highest_seq: 0,
                jitter,
                last_sr,
                delay_since_last_sr,
            }
        };
        s.on_report_block(t0 + Duration::from_millis(330), &c, &block(12, 34, 56, lsr, dlsr));
        let rtt = s.rtt().unwrap();
        assert!(
            rtt.abs_diff(Duration::from_millis(80)) < Duration::from_micros(100),
            "{rtt:?}"
        );
        assert_eq!(s.remote_loss(), Some((12, 34)));
        assert_eq!(s.remote_jitter(), Some(56));
        // A block whose DLSR exceeds the elapsed time (bogus) leaves the RTT as it was.
        s.on_report_block(t0 + Duration::from_millis(400), &c, &block(0, 0, 0, lsr, 65_536));
        assert_eq!(s.rtt(), Some(rtt));
        // No SR echoed: no RTT change.
        s.on_report_block(t0 + Duration::from_secs(2), &c, &block(0, 0, 0, 0, 0));
        assert_eq!(s.rtt(), Some(rtt));
    }
}
