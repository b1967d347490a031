//! Clocks, CPU time, memory and summary statistics shared by every scenario.

use std::time::{Duration, Instant};

/// User and system CPU time of the whole process, all threads (getrusage `RUSAGE_SELF`).
///
/// Both peers of a pair live in this process, so this is the cost of *both ends* together,
/// including the async runtime's worker threads — which is what the issue asks for. A
/// thread's own clock would miss the work done on other runtime workers. On loopback the
/// system part includes the kernel's UDP send and receive paths.
pub fn process_cpu_split() -> (Duration, Duration) {
    // SAFETY: getrusage only writes into the struct we pass; zeroed is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a live rusage, RUSAGE_SELF is always a valid target.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// CPU time of the calling thread only (for single-threaded, in-memory scenarios).
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a live timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A point in time with the process CPU time consumed up to it.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    /// Wall clock.
    pub at: Instant,
    /// Process CPU time (all threads).
    pub cpu: Duration,
    /// The user-mode part of `cpu`.
    pub user: Duration,
}

impl Mark {
    /// Now.
    pub fn now() -> Mark {
        let (user, system) = process_cpu_split();
        Mark {
            at: Instant::now(),
            cpu: user + system,
            user,
        }
    }
}

/// `VmRSS` and `VmHWM` (peak RSS) of this process in KiB, from /proc/self/status.
pub fn rss_kib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// UDP datagrams the kernel dropped because a socket's receive buffer was full
/// (`RcvbufErrors` in /proc/net/snmp, this network namespace): on loopback, the only loss.
pub fn udp_rcvbuf_errors() -> u64 {
    let s = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = s.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Median, p90, min and max of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Median (mean of the two middle samples for an even count).
    pub median: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub n: usize,
}

impl Summary {
    /// Summarises `v` (not empty).
    pub fn of(v: &[f64]) -> Option<Summary> {
        if v.is_empty() {
            return None;
        }
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
        Some(Summary {
            median,
            p90: s[rank - 1],
            min: s[0],
            max: s[n - 1],
            n,
        })
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "median": self.median, "p90": self.p90, "min": self.min, "max": self.max, "n": self.n
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.p90), (3.0, 1.0, 5.0, 5.0));
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Summary::of(&v).unwrap().p90, 18.0);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn cpu_clocks_advance_with_work() {
        let process_cpu = || {
            let (u, s) = process_cpu_split();
            u + s
        };
        let (p0, t0) = (process_cpu(), thread_cpu());
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu() > p0);
        assert!(thread_cpu() > t0);
        let (rss, hwm) = rss_kib();
        assert!(rss > 0 && hwm >= rss);
    }
}
