//! The rate controllers of Google Congestion Control: the delay-based AIMD controller
//! (draft-ietf-rmcat-gcc-02 §5.5) driven by the over-use signal, and the loss-based
//! controller (§6). Rates are in bit/s.

use super::delay::BandwidthUsage;

/// Decrease factor on over-use: the new rate is β × the received rate (§5.5).
pub const BETA: f64 = 0.85;
/// Multiplicative increase per second far from convergence (§5.5: η = 1.08).
const ETA: f64 = 1.08;
/// The smallest increase per update, bit/s.
const MIN_INCREASE_BPS: f64 = 1000.0;
/// Smoothing of the average rate at the last decreases (convergence tracking, §5.5).
const MAX_AVG_ALPHA: f64 = 0.05;
/// Added to the round-trip time for the response time of the additive increase (§5.5).
const RESPONSE_EXTRA_US: i64 = 100_000;
/// Loss fractions below which the loss-based rate grows, above which it falls (§6).
pub const LOSS_LOW: f64 = 0.02;
/// See [`LOSS_LOW`].
pub const LOSS_HIGH: f64 = 0.10;
/// Loss-based decreases at most once per this + RTT (libwebrtc's 300 ms).
const LOSS_DECREASE_INTERVAL_US: i64 = 300_000;

/// The AIMD controller's state (§5.5, figure 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateState {
    /// Keep the rate (queues draining).
    Hold,
    /// Grow the rate.
    Increase,
    /// Cut the rate.
    Decrease,
}

/// The delay-based rate controller A_hat (§5.5).
#[derive(Debug, Clone)]
pub struct Aimd {
    rate: f64,
    state: RateState,
    /// Average received rate at decreases (kbit/s) and its normalised variance: the
    /// rate is near convergence when the received rate is within 3σ of it.
    avg_max_kbps: Option<f64>,
    var_max: f64,
    last_update_us: Option<i64>,
    rtt_us: i64,
}

impl Aimd {
    /// A controller starting at `start` bit/s.
    pub fn new(start: u64) -> Self {
        Aimd {
            rate: start as f64,
            state: RateState::Hold,
            avg_max_kbps: None,
            var_max: 0.4,
            last_update_us: None,
            rtt_us: 200_000,
        }
    }

    /// The current rate, bit/s.
    pub fn rate(&self) -> u64 {
        self.rate as u64
    }

    /// The controller's state.
    pub fn state(&self) -> RateState {
        self.state
    }

    /// Whether the rate is near the convergence point (additive increase).
    pub fn near_max(&self) -> bool {
        self.avg_max_kbps.is_some()
    }

    /// The round-trip time for the additive increase's response time.
    pub fn set_rtt_us(&mut self, rtt_us: i64) {
        self.rtt_us = rtt_us.clamp(1_000, 10_000_000);
    }

    /// Sets the rate (e.g. clamped by the caller).
    pub fn set_rate(&mut self, bps: u64) {
        self.rate = bps as f64;
    }

    /// One update at `now_us` with the detector's signal and the received rate (bit/s,
    /// measured from the feedback), §5.5. Returns the new rate.
    pub fn update(&mut self, usage: BandwidthUsage, received: Option<f64>, now_us: i64) -> u64 {
        let dt_us = self.last_update_us.map_or(0, |t| now_us.saturating_sub(t).clamp(0, 1_000_000));
        self.last_update_us = Some(now_us);
        self.state = match (usage, self.state) {
            (BandwidthUsage::Overusing, _) => RateState::Decrease,
            (BandwidthUsage::Underusing, _) => RateState::Hold,
            (BandwidthUsage::Normal, RateState::Hold | RateState::Decrease) => RateState::Increase,
            (BandwidthUsage::Normal, RateState::Increase) => RateState::Increase,
        };
        match self.state {
            RateState::Hold => {}
            RateState::Increase => {
                if let (Some(r), Some(avg)) = (received, self.avg_max_kbps)
                    && r / 1000.0 > avg + 3.0 * self.sigma_kbps()
                {
                    // Well above the old convergence point: the path changed, search again.
                    self.avg_max_kbps = None;
                }
                let inc = if self.near_max() {
                    self.additive(dt_us)
                } else {
                    self.rate * (ETA.powf(dt_us as f64 / 1e6) - 1.0)
                };
                let increased = self.rate + inc.max(if dt_us > 0 { MIN_INCREASE_BPS } else { 0.0 });
                // Never more than 1.5 × what arrives (+10 kbit/s): an application-limited
                // sender must not grow an estimate it never tested.
                match received {
                    Some(r) => {
                        let limit = 1.5 * r + 10_000.0;
                        if self.rate < limit {
                            self.rate = increased.min(limit);
                        }
                    }
                    None => self.rate = increased,
                }
            }
            RateState::Decrease => {
                let r = received.unwrap_or(self.rate);
                let decreased = (BETA * r).min(self.rate);
                let r_kbps = r / 1000.0;
                if let Some(avg) = self.avg_max_kbps
                    && r_kbps < avg - 3.0 * self.sigma_kbps()
                {
                    self.avg_max_kbps = None;
                }
                self.note_max(r_kbps);
                self.rate = decreased;
                // One cut per over-use: hold until the detector says normal again.
                self.state = RateState::Hold;
            }
        }
        self.rate()
    }

    fn sigma_kbps(&self) -> f64 {
        (self.var_max * self.avg_max_kbps.unwrap_or(0.0)).max(0.0).sqrt()
    }

    fn note_max(&mut self, kbps: f64) {
        let avg = match self.avg_max_kbps {
            None => kbps,
            Some(a) => (1.0 - MAX_AVG_ALPHA) * a + MAX_AVG_ALPHA * kbps,
        };
        let norm = avg.max(1.0);
        self.var_max = ((1.0 - MAX_AVG_ALPHA) * self.var_max
            + MAX_AVG_ALPHA * (avg - kbps) * (avg - kbps) / norm)
            .clamp(0.4, 2.5);
        self.avg_max_kbps = Some(avg);
    }

    /// About one packet more per response time (§5.5), for 30 frames/s of ≤ 1200-byte
    /// packets.
    fn additive(&self, dt_us: i64) -> f64 {
        let response_us = (self.rtt_us + RESPONSE_EXTRA_US) as f64;
        let bits_per_frame = self.rate / 30.0;
        let packets_per_frame = (bits_per_frame / (1200.0 * 8.0)).ceil().max(1.0);
        let packet_bits = bits_per_frame / packets_per_frame;
        let per_second = (packet_bits * 1e6 / response_us).max(4000.0);
        per_second * dt_us as f64 / 1e6
    }
}

/// The loss-based controller A_s (§6).
#[derive(Debug, Clone)]
pub struct LossBased {
    rate: f64,
    last_decrease_us: Option<i64>,
}

impl LossBased {
    /// A controller starting at `start` bit/s.
    pub fn new(start: u64) -> Self {
        LossBased { rate: start as f64, last_decrease_us: None }
    }

    /// The current rate, bit/s.
    pub fn rate(&self) -> u64 {
        self.rate as u64
    }

    /// Sets the rate (the caller caps it by the delay-based one, as libwebrtc does).
    pub fn set_rate(&mut self, bps: u64) {
        self.rate = bps as f64;
    }

    /// A loss report of `lost` of `total` packets at `now_us`: > 10 % cuts by half the loss
    /// fraction (at most once per 300 ms + RTT), < 2 % grows by 5 % (§6).
    pub fn update(&mut self, lost: u64, total: u64, now_us: i64, rtt_us: i64) -> u64 {
        if total == 0 {
            return self.rate();
        }
        let p = (lost.min(total) as f64) / total as f64;
        if p > LOSS_HIGH {
            let due = self
                .last_decrease_us
                .is_none_or(|t| now_us.saturating_sub(t) >= LOSS_DECREASE_INTERVAL_US + rtt_us.clamp(0, 10_000_000));
            if due {
                self.rate *= 1.0 - 0.5 * p;
                self.last_decrease_us = Some(now_us);
            }
        } else if p < LOSS_LOW {
            self.rate *= 1.05;
        }
        self.rate()
    }
}
