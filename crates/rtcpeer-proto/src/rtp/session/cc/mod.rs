//! Send-side congestion control (issue 10): the bandwidth estimate of Google Congestion
//! Control (draft-ietf-rmcat-gcc-02) from transport-wide feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01), capped by the remote's REMB
//! (draft-alvestrand-rmcat-remb-03), and the pacer's budget ([`pacer`]).
//!
//! Per packet sent, [`SendSideBwe::on_sent`] writes one slot of a fixed ring (transport
//! sequence number → send time and size: O(1), no allocation after the first packet). A
//! feedback message is matched against the ring: its received packets (O(bytes of the
//! message), runs of lost packets skipped at once) go through the delay-based estimator
//! ([`delay`], [`rate::Aimd`]) and the count of newly reported packets feeds the loss-based
//! one ([`rate::LossBased`]). Reports of unknown, stale or already acknowledged packets are
//! counted and ignored. The estimate is min(delay-based, loss-based, REMB) within the
//! configured bounds. Time is always a parameter.

pub mod delay;
pub mod pacer;
pub mod rate;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::rtcp::TransportCc;
use delay::{BandwidthUsage, InterGroup, OveruseDetector, PacketTiming, Trendline};
use rate::{Aimd, LossBased};

/// Packets remembered for matching feedback: 4096 (about 400 ms at 10 000 packets/s).
pub const RING: usize = 4096;
/// Newly reported packets needed before the loss controller runs.
const LOSS_MIN_PACKETS: u64 = 20;
/// The received-rate window (libwebrtc's acknowledged-bitrate window, about 500 ms).
const RATE_WINDOW_US: i64 = 500_000;
/// Per-feedback entries of the received-rate window (16 × a 50 ms feedback interval, the
/// shortest browsers use, still covers the 500 ms window).
const RATE_ENTRIES: usize = 16;
/// The estimate is reported to the application when it moved by this fraction…
const REPORT_CHANGE: f64 = 0.05;
/// …and no more often than this.
const REPORT_INTERVAL: Duration = Duration::from_millis(200);

/// Bounds and start of the estimate, bit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BweConfig {
    /// The estimate never goes below this (libwebrtc: 30 kbit/s).
    pub min_bps: u64,
    /// The estimate before any feedback.
    pub start_bps: u64,
    /// The estimate never goes above this.
    pub max_bps: u64,
}

impl Default for BweConfig {
    fn default() -> Self {
        BweConfig { min_bps: 30_000, start_bps: 1_000_000, max_bps: 50_000_000 }
    }
}

/// Drops and oddities the estimator saw in the remote's feedback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BweCounters {
    /// Feedback messages read.
    pub feedback: u64,
    /// Reported packets we never sent or no longer remember.
    pub unknown: u64,
    /// Packets reported received a second time.
    pub duplicates: u64,
    /// Times the delay-based detector signalled over-use.
    pub overuse: u64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The extended sequence number's low 32 bits (`u32::MAX`, with `size` 0: empty).
    ext: u32,
    size: u16,
    acked: bool,
    send_us: i64,
}

const EMPTY: Slot = Slot { ext: u32::MAX, size: 0, acked: false, send_us: 0 };

/// One feedback's share of the received-rate window.
#[derive(Debug, Clone, Copy, Default)]
struct RateEntry {
    first_arrival: i64,
    last_arrival: i64,
    bytes: u64,
    /// Bytes of the packet that arrived at `first_arrival` (not part of the rate when it
    /// starts the window: the span counts from its arrival).
    first_size: u64,
}

/// The send-side bandwidth estimator of one transport.
#[derive(Debug, Clone)]
pub struct SendSideBwe {
    config: BweConfig,
    epoch: Option<Instant>,
    ring: Box<[Slot]>,
    /// The extended sequence number of the last packet sent.
    last_sent: Option<u64>,
    /// The highest extended sequence number any feedback covered (loss accounting).
    reported: Option<u64>,
    /// The previous feedback's reference time and its unwrapped value in µs.
    remote_ref: Option<(u32, i64)>,
    inter: InterGroup,
    trend: Trendline,
    detector: OveruseDetector,
    aimd: Aimd,
    loss: LossBased,
    lost_acc: u64,
    total_acc: u64,
    rates: [RateEntry; RATE_ENTRIES],
    rates_head: usize,
    remb: Option<u64>,
    rtt_us: i64,
    estimate: Option<u64>,
    last_report: Option<(Instant, u64)>,
    counters: BweCounters,
}

impl SendSideBwe {
    /// An estimator with `config`'s bounds; the ring is allocated at the first packet.
    pub fn new(config: BweConfig) -> Self {
        let config = BweConfig {
            min_bps: config.min_bps.max(1),
            start_bps: config.start_bps.clamp(config.min_bps.max(1), config.max_bps.max(config.min_bps.max(1))),
            max_bps: config.max_bps.max(config.min_bps.max(1)),
        };
        SendSideBwe {
            config,
            epoch: None,
            ring: Box::new([]),
            last_sent: None,
            reported: None,
            remote_ref: None,
            inter: InterGroup::default(),
            trend: Trendline::default(),
            detector: OveruseDetector::default(),
            aimd: Aimd::new(config.start_bps),
            loss: LossBased::new(config.start_bps),
            lost_acc: 0,
            total_acc: 0,
            rates: [RateEntry::default(); RATE_ENTRIES],
            rates_head: 0,
            remb: None,
            rtt_us: 200_000,
            estimate: None,
            last_report: None,
            counters: BweCounters::default(),
        }
    }

    /// The configured bounds.
    pub fn config(&self) -> BweConfig {
        self.config
    }

    /// The estimate in bit/s, once feedback (transport-wide or REMB) produced one
    /// (`availableOutgoingBitrate`, webrtc-stats §7.13).
    pub fn estimate(&self) -> Option<u64> {
        self.estimate
    }

    /// The rate to send at: the estimate, or the start rate before any feedback.
    pub fn target(&self) -> u64 {
        self.estimate.unwrap_or(self.config.start_bps)
    }

    /// What the feedback looked like.
    pub fn counters(&self) -> BweCounters {
        self.counters
    }

    /// The delay-based controller's state (for tests and logs).
    pub fn delay_based(&self) -> u64 {
        self.aimd.rate()
    }

    /// The loss-based controller's rate.
    pub fn loss_based(&self) -> u64 {
        self.loss.rate()
    }

    /// The latest round-trip time (from RTCP reports), used by the AIMD response time.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt_us = rtt.as_micros().min(10_000_000) as i64;
        self.aimd.set_rtt_us(self.rtt_us);
    }

    fn micros(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_micros().min(i64::MAX as u128) as i64
    }

    /// A packet with transport-wide sequence number `seq` and `size` bytes left at `now`.
    pub fn on_sent(&mut self, now: Instant, seq: u16, size: usize) {
        if self.ring.is_empty() {
            self.ring = vec![EMPTY; RING].into_boxed_slice();
        }
        let ext = match self.last_sent {
            None => u64::from(seq) + (1 << 16),
            Some(last) => last + u64::from(seq.wrapping_sub(last as u16)),
        };
        self.last_sent = Some(ext);
        let send_us = self.micros(now);
        if let Some(slot) = self.ring.get_mut(ext as usize % RING) {
            *slot = Slot { ext: ext as u32, size: size.min(usize::from(u16::MAX)) as u16, acked: false, send_us };
        }
    }

    /// The extended sequence number of `seq` at or before the last packet sent.
    fn extend(&self, seq: u16) -> Option<u64> {
        let last = self.last_sent?;
        last.checked_sub(u64::from((last as u16).wrapping_sub(seq)))
    }

    /// A REMB from the remote (draft-alvestrand-rmcat-remb-03 §2): the estimate never
    /// exceeds it from now on.
    pub fn on_remb(&mut self, now: Instant, bps: u64) {
        self.remb = Some(bps);
        let _ = self.micros(now);
        self.combine();
    }

    /// A transport-wide feedback message arrived at `now` (draft-holmer §3.1): updates the
    /// estimate. Work is O(bytes of the message) however many packets it claims.
    pub fn on_feedback(&mut self, now: Instant, fb: &TransportCc<'_>) {
        let now_us = self.micros(now);
        self.counters.feedback += 1;
        let (Some(last), Some(base)) = (self.last_sent, self.extend(fb.base_seq)) else {
            return;
        };
        // The remote's reference time, unwrapped across feedbacks (24 bits of 64 ms).
        let ref_us = match self.remote_ref {
            None => 0,
            Some((prev, us)) => us.saturating_add(fb.reference_time_delta_us(prev)),
        };
        self.remote_ref = Some((fb.reference_time, ref_us));
        let ref_wire = fb.reference_time_us();
        let oldest = (last + 1).saturating_sub(RING as u64);
        let new_from = self.reported.map_or(base, |r| base.max(r + 1)).max(oldest);
        let mut received_new = 0u64;
        let mut bytes = 0u64;
        let mut first_arrival = i64::MAX;
        let mut first_size = 0u64;
        let mut last_arrival = i64::MIN;
        let mut overuse = false;
        let mut seen_any = false;
        for (seq, arrival) in fb.received() {
            let ext = base + u64::from(seq.wrapping_sub(fb.base_seq));
            if ext > last || ext < oldest {
                self.counters.unknown += 1;
                continue;
            }
            let Some(slot) = self.ring.get_mut(ext as usize % RING) else {
                self.counters.unknown += 1;
                continue;
            };
            if slot.ext != ext as u32 || slot.size == 0 {
                self.counters.unknown += 1;
                continue;
            }
            if slot.acked {
                self.counters.duplicates += 1;
                continue;
            }
            slot.acked = true;
            if ext >= new_from {
                received_new += 1;
            }
            let arrival_us = ref_us.saturating_add(arrival.saturating_sub(ref_wire));
            bytes += u64::from(slot.size);
            if arrival_us < first_arrival {
                first_arrival = arrival_us;
                first_size = u64::from(slot.size);
            }
            last_arrival = last_arrival.max(arrival_us);
            seen_any = true;
            let timing = PacketTiming { send_us: slot.send_us, arrival_us, size: u32::from(slot.size) };
            if let Some(d) = self.inter.add(timing)
                && let Some(m) = self.trend.add(&d)
                && self.detector.detect(m, d.send_delta_us, now_us) == BandwidthUsage::Overusing
            {
                overuse = true;
            }
        }
        // Loss: packets this message is the first to cover (a message repeating older
        // ranges counts nothing twice).
        let end = (base + u64::from(fb.status_count)).min(last + 1);
        if end > new_from {
            let total = end - new_from;
            self.total_acc += total;
            self.lost_acc += total.saturating_sub(received_new);
            self.reported = Some(end - 1);
        }
        if seen_any {
            self.rates[self.rates_head] = RateEntry { first_arrival, last_arrival, bytes, first_size };
            self.rates_head = (self.rates_head + 1) % RATE_ENTRIES;
        }
        let received = self.received_rate(last_arrival);
        let usage = if overuse {
            self.counters.overuse += 1;
            BandwidthUsage::Overusing
        } else {
            self.detector.state()
        };
        if seen_any {
            self.aimd.update(usage, received, now_us);
        }
        if self.total_acc >= LOSS_MIN_PACKETS {
            self.loss.update(self.lost_acc, self.total_acc, now_us, self.rtt_us);
            self.lost_acc = 0;
            self.total_acc = 0;
        }
        if seen_any || self.estimate.is_some() {
            self.combine();
        }
    }

    /// The rate at which the remote received over the last ~500 ms of arrivals, bit/s.
    fn received_rate(&self, newest: i64) -> Option<f64> {
        if newest == i64::MIN {
            return None;
        }
        let mut bytes = 0u64;
        let mut first = i64::MAX;
        let mut first_size = 0;
        for e in self.rates.iter().filter(|e| e.bytes > 0) {
            if e.last_arrival <= newest && newest.saturating_sub(e.last_arrival) < RATE_WINDOW_US {
                bytes += e.bytes;
                if e.first_arrival < first {
                    first = e.first_arrival;
                    first_size = e.first_size;
                }
            }
        }
        let bytes = bytes.saturating_sub(first_size);
        let span = newest.saturating_sub(first);
        // Less than 100 ms of arrivals says little about a rate.
        (span >= 100_000).then(|| bytes as f64 * 8e6 / span as f64)
    }

    /// estimate = min(delay-based, loss-based, REMB) within the bounds.
    fn combine(&mut self) {
        let (lo, hi) = (self.config.min_bps, self.config.max_bps);
        let delay = self.aimd.rate().clamp(lo, hi);
        self.aimd.set_rate(delay);
        // The loss-based rate is capped by the delay-based one (as libwebrtc does), so
        // losses cut from where the sender actually is.
        let loss = self.loss.rate().clamp(lo, delay);
        self.loss.set_rate(loss);
        let mut e = delay.min(loss);
        if let Some(r) = self.remb {
            e = e.min(r);
        }
        self.estimate = Some(e.clamp(lo, hi));
    }

    /// The estimate to hand to the application's encoders at `now`: `Some` when it moved by
    /// more than 5 % since the last one handed out, at most every 200 ms (and the first).
    pub fn poll_target(&mut self, now: Instant) -> Option<u64> {
        let e = self.estimate?;
        if let Some((t, last)) = self.last_report {
            let moved = (e as f64 - last as f64).abs() > REPORT_CHANGE * last as f64;
            if !moved || now.saturating_duration_since(t) < REPORT_INTERVAL {
                return None;
            }
        }
        self.last_report = Some((now, e));
        Some(e)
    }
}
