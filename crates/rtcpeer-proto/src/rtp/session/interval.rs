//! When to send the next regular RTCP report (RFC 3550 §6.2, §6.3.1): a base interval
//! randomised by a factor in [0.5, 1.5] each time, so that many sources do not synchronise;
//! the first report comes after half an interval. Like browsers, the base is fixed per
//! media kind (1 s for video, 5 s for audio) instead of RFC 3550's bandwidth share, which
//! WebRTC's feedback profile (RFC 4585 §3.4, AVPF) allows.

use std::time::{Duration, Instant};

use crate::util::RandomSource;

/// Report interval libwebrtc uses for video streams.
pub const VIDEO_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Report interval libwebrtc uses for audio streams.
pub const AUDIO_REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// The timer of regular reports (SR/RR with SDES) for one RTP session.
#[derive(Debug, Clone)]
pub struct ReportTimer {
    base: Duration,
    next: Option<Instant>,
}

impl ReportTimer {
    /// A timer with base interval `base`, not started.
    pub fn new(base: Duration) -> Self {
        ReportTimer { base, next: None }
    }

    fn randomised(&self, scale: u32, rng: &mut dyn RandomSource) -> Duration {
        // Factor in [0.5, 1.5): 0.5 + (r / 2^32).
        let r = u64::from(rng.next_u32());
        let nanos = self.base.as_nanos() as u64 / u64::from(scale);
        Duration::from_nanos(nanos / 2 + ((u128::from(nanos) * u128::from(r)) >> 32) as u64)
    }

    /// Starts the timer at `now` (the first report after half a randomised interval).
    pub fn start(&mut self, now: Instant, rng: &mut dyn RandomSource) {
        if self.next.is_none() {
            self.next = Some(now + self.randomised(2, rng));
        }
    }

    /// When the next report is due (`None` before `start`).
    pub fn due(&self) -> Option<Instant> {
        self.next
    }

    /// A report was sent at `now`: the next one is due a randomised interval later.
    pub fn sent(&mut self, now: Instant, rng: &mut dyn RandomSource) {
        self.next = Some(now + self.randomised(1, rng));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::SeededRandom;

    #[test]
    fn intervals_are_randomised_within_half_to_one_and_a_half() {
        let t0 = Instant::now();
        let mut rng = SeededRandom::new(3);
        let mut t = ReportTimer::new(VIDEO_REPORT_INTERVAL);
        assert_eq!(t.due(), None);
        t.start(t0, &mut rng);
        let first = t.due().unwrap() - t0;
        assert!(first >= Duration::from_millis(250) && first < Duration::from_millis(750));
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        let mut now = t0;
        for _ in 0..1000 {
            t.sent(now, &mut rng);
            let d = t.due().unwrap() - now;
            lo = lo.min(d);
            hi = hi.max(d);
            now += d;
        }
        assert!(lo >= Duration::from_millis(500) && hi < Duration::from_millis(1500));
        // Spread over the range, not stuck at one value.
        assert!(lo < Duration::from_millis(550) && hi > Duration::from_millis(1450), "{lo:?} {hi:?}");
        // start() again does not move a running timer.
        let due = t.due();
        t.start(now, &mut rng);
        assert_eq!(t.due(), due);
    }
}
