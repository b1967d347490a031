//! The delay-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §5): packets
//! grouped into send bursts (§5.2), the inter-group delay variation smoothed by a trendline
//! filter (the least-squares slope of the accumulated delay over a window, as libwebrtc
//! replaced the §5.3 Kalman filter with), and the over-use detector with its adaptive
//! threshold (§5.4). Fixed-size state: a remote's feedback cannot make it grow.

/// Packets sent less than this after a group's first packet belong to the group (§5.2).
pub const BURST_US: i64 = 5_000;
/// Samples in the trendline's regression window.
pub const WINDOW: usize = 20;
/// Exponential smoothing of the accumulated delay before the regression.
const SMOOTHING: f64 = 0.9;
/// Gain applied to the slope before it is compared with the threshold.
const THRESHOLD_GAIN: f64 = 4.0;
/// The regression is weighted by at most this many deltas seen (libwebrtc's cap of 60).
const MAX_DELTAS: f64 = 60.0;
/// Adaptive threshold (§5.4): initial value, gains up and down, limits, in ms.
const THRESHOLD_INIT: f64 = 12.5;
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
const THRESHOLD_MIN: f64 = 6.0;
const THRESHOLD_MAX: f64 = 600.0;
/// Samples further than this above the threshold do not move it (§5.4: spikes).
const MAX_ADAPT_OFFSET: f64 = 15.0;
/// Over-use must last this long before it is signalled (§5.4, `overuse_time_th`).
const OVERUSE_TIME_US: i64 = 10_000;

/// The signal of the over-use detector (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandwidthUsage {
    /// Queues are steady.
    Normal,
    /// Queues grow: the rate must come down.
    Overusing,
    /// Queues drain: hold the rate so they empty.
    Underusing,
}

/// One packet as the feedback reported it: send and arrival time (µs, each on its own clock)
/// and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketTiming {
    /// Send time on our clock, µs.
    pub send_us: i64,
    /// Arrival time on the remote's clock, µs.
    pub arrival_us: i64,
    /// Size in bytes.
    pub size: u32,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send: i64,
    last_send: i64,
    last_arrival: i64,
}

/// Groups packets into 5 ms send bursts and yields the delay variation between groups
/// (§5.2: d(i) = t(i) − t(i−1) − (T(i) − T(i−1)), here with each group's last packet).
#[derive(Debug, Clone, Default)]
pub struct InterGroup {
    current: Option<Group>,
    previous: Option<Group>,
}

/// The delay variation between two complete groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupDelta {
    /// Arrival time of the newer group's last packet (remote clock, µs).
    pub arrival_us: i64,
    /// Send-time delta of the groups, µs.
    pub send_delta_us: i64,
    /// Arrival-time delta minus send-time delta, µs.
    pub delay_delta_us: i64,
}

impl InterGroup {
    /// A packet in send order; a delta once it starts a new group and two complete groups
    /// exist. Packets sent before the current group (reordered reports) are ignored.
    pub fn add(&mut self, p: PacketTiming) -> Option<GroupDelta> {
        let Some(cur) = self.current.as_mut() else {
            self.current = Some(Group { first_send: p.send_us, last_send: p.send_us, last_arrival: p.arrival_us });
            return None;
        };
        if p.send_us < cur.first_send {
            return None;
        }
        if p.send_us.saturating_sub(cur.first_send) <= BURST_US {
            cur.last_send = cur.last_send.max(p.send_us);
            cur.last_arrival = cur.last_arrival.max(p.arrival_us);
            return None;
        }
        let done = *cur;
        let delta = self.previous.map(|prev| {
            // Arrival times come from the remote: saturating, whatever it claims.
            let send_delta = done.last_send.saturating_sub(prev.last_send);
            let arrival_delta = done.last_arrival.saturating_sub(prev.last_arrival);
            GroupDelta {
                arrival_us: done.last_arrival,
                send_delta_us: send_delta,
                delay_delta_us: arrival_delta.saturating_sub(send_delta),
            }
        });
        self.previous = Some(done);
        self.current = Some(Group { first_send: p.send_us, last_send: p.send_us, last_arrival: p.arrival_us });
        delta
    }
}

/// The trendline filter: least-squares slope of the smoothed accumulated delay against
/// arrival time over the last [`WINDOW`] groups.
#[derive(Debug, Clone)]
pub struct Trendline {
    window: [(f64, f64); WINDOW],
    len: usize,
    head: usize,
    first_arrival: Option<i64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    deltas: f64,
}

impl Default for Trendline {
    fn default() -> Self {
        Trendline {
            window: [(0.0, 0.0); WINDOW],
            len: 0,
            head: 0,
            first_arrival: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            deltas: 0.0,
        }
    }
}

impl Trendline {
    /// Adds one group delta; the modified trend (slope × min(deltas, 60) × gain, in ms as
    /// §5.4's m(i)) once the window is full.
    pub fn add(&mut self, d: &GroupDelta) -> Option<f64> {
        let first = *self.first_arrival.get_or_insert(d.arrival_us);
        self.deltas = (self.deltas + 1.0).min(MAX_DELTAS);
        // Clamp what one (possibly forged) delta can add: ±1 s.
        self.accumulated_ms += (d.delay_delta_us.clamp(-1_000_000, 1_000_000) as f64) / 1000.0;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let x = (d.arrival_us.saturating_sub(first)) as f64 / 1000.0;
        self.window[self.head] = (x, self.smoothed_ms);
        self.head = (self.head + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        if self.len < WINDOW {
            return None;
        }
        let slope = slope(&self.window)?;
        Some(slope * self.deltas * THRESHOLD_GAIN)
    }
}

/// Least-squares slope of `points`, `None` when x does not vary.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), p| {
        (a + (p.0 - mx) * (p.1 - my), b + (p.0 - mx) * (p.0 - mx))
    });
    (den > 0.0 && num.is_finite()).then(|| num / den)
}

/// The over-use detector with its adaptive threshold γ (§5.4).
#[derive(Debug, Clone)]
pub struct OveruseDetector {
    threshold: f64,
    last_update_us: Option<i64>,
    overuse_us: Option<i64>,
    overuse_count: u32,
    prev_trend: f64,
    state: BandwidthUsage,
}

impl Default for OveruseDetector {
    fn default() -> Self {
        OveruseDetector {
            threshold: THRESHOLD_INIT,
            last_update_us: None,
            overuse_us: None,
            overuse_count: 0,
            prev_trend: 0.0,
            state: BandwidthUsage::Normal,
        }
    }
}

impl OveruseDetector {
    /// The current threshold γ, ms.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The current signal.
    pub fn state(&self) -> BandwidthUsage {
        self.state
    }

    /// Compares the modified trend `m` at `now_us` (our clock) with γ and adapts γ.
    pub fn detect(&mut self, m: f64, send_delta_us: i64, now_us: i64) -> BandwidthUsage {
        if m > self.threshold {
            // Time over the threshold, counted in send time: half a group for the first.
            let send_delta = send_delta_us.clamp(0, 1_000_000);
            let t = match self.overuse_us {
                None => send_delta / 2,
                Some(t) => t.saturating_add(send_delta),
            };
            self.overuse_us = Some(t);
            self.overuse_count = self.overuse_count.saturating_add(1);
            if t > OVERUSE_TIME_US && self.overuse_count > 1 && m >= self.prev_trend {
                self.overuse_us = Some(0);
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if m < -self.threshold {
            self.overuse_us = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.overuse_us = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.prev_trend = m;
        self.adapt(m, now_us);
        self.state
    }

    /// γ(i) = γ(i−1) + Δt · k(i) · (|m(i)| − γ(i−1)), k up or down (§5.4), clamped.
    fn adapt(&mut self, m: f64, now_us: i64) {
        let last = *self.last_update_us.get_or_insert(now_us);
        let abs = m.abs();
        if abs > self.threshold + MAX_ADAPT_OFFSET {
            self.last_update_us = Some(now_us);
            return;
        }
        let k = if abs < self.threshold { K_DOWN } else { K_UP };
        let dt_ms = (now_us.saturating_sub(last) as f64 / 1000.0).clamp(0.0, 100.0);
        self.threshold = (self.threshold + k * (abs - self.threshold) * dt_ms).clamp(THRESHOLD_MIN, THRESHOLD_MAX);
        self.last_update_us = Some(now_us);
    }
}
