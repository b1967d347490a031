//! CPU time of this process, for the figures the demo prints (Linux: the sum of every
//! thread's time on CPU from `/proc/self/task/*/schedstat`, in nanoseconds; elsewhere none).

use std::time::Duration;

/// A CPU-time stopwatch.
pub struct CpuClock {
    start: Option<Duration>,
}

impl CpuClock {
    /// Starts measuring.
    pub fn start() -> Self {
        CpuClock { start: now() }
    }

    /// CPU time used by all threads since [`CpuClock::start`], when the platform tells.
    pub fn elapsed(&self) -> Option<Duration> {
        Some(now()?.saturating_sub(self.start?))
    }
}

fn now() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
