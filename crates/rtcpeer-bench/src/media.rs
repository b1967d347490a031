//! The `media` scenario (issue 10): one video track from peer A to peer B over UDP on
//! 127.0.0.1, VP8 negotiated, each stack's own RTP send path (RTP header, SRTP, its default
//! RTCP: reports, NACK/TWCC feedback) and per-packet receive path.
//!
//! The sender sends 1000-byte payloads of already-"encoded" synthetic video, 10 packets per
//! frame (the last one carries the marker bit, the RTP timestamp moves 3000 ticks of 90 kHz
//! per frame). Two modes:
//! - paced: `rate` packets/s (10 000 by default) for `secs` seconds, released on a 1 ms grid
//!   (`--media-tick-ms`: a coarser grid sends bigger bursts, fewer wake-ups);
//! - unpaced: as fast as the stack takes them for `secs` seconds (a stack that refuses a
//!   packet is retried, see each stack's file for how it says "full").
//!
//! Every stack runs the same protocol, so timings are taken at the same points:
//! 1. warm-up: the sender offers one warm-up packet every 5 ms until the receiver has seen
//!    one (this covers ICE, DTLS, SRTP keying and the receiver's track appearing);
//! 2. start: process CPU and wall clock sampled, then measured packets are sent (their first
//!    payload byte is [`MEASURED`]; the receiver counts only those);
//! 3. end: after the sender's last packet, once the receiver has them all or nothing more
//!    arrived for [`QUIET`], CPU and wall clock are sampled again.
//!
//! CPU is the whole process (both peers, the runtime, the bench's own loops), and each run is
//! a child process of its own, so nothing of another stack is charged.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::measure::{Mark, Summary, udp_rcvbuf_errors};
use crate::{Opts, Row, Stack};

/// RTP payload size of every packet.
pub const PAYLOAD: usize = 1000;
/// Packets per video frame (the last one carries the marker bit).
pub const PER_FRAME: u64 = 10;
/// RTP timestamp step per frame: 30 frames/s at the 90 kHz video clock.
pub const TS_PER_FRAME: u32 = 3000;
/// First payload byte of a measured packet.
pub const MEASURED: u8 = 1;
/// First payload byte of a warm-up packet.
pub const WARMUP: u8 = 0;
/// The receiver is done when nothing more arrived for this long after the last send.
pub const QUIET: Duration = Duration::from_millis(300);
/// Interval between warm-up packets.
pub const WARMUP_EVERY: Duration = Duration::from_millis(5);
/// How long connecting and the first packet may take.
pub const WARMUP_LIMIT: Duration = Duration::from_secs(30);
/// Default pacing grid of the paced mode.
pub const TICK: Duration = Duration::from_millis(1);

/// What one run does.
#[derive(Debug, Clone, Copy)]
pub struct MediaWork {
    /// Seconds of sending.
    pub secs: f64,
    /// Packets per second, or `None` for unpaced.
    pub rate: Option<u64>,
    /// Pacing grid: the packets due are released every `tick` (paced mode).
    pub tick: Duration,
}

impl MediaWork {
    /// Measured packets to send in paced mode.
    pub fn total(&self) -> Option<u64> {
        self.rate.map(|r| (r as f64 * self.secs).round() as u64)
    }

    /// Packets that should have been sent `elapsed` after the start (paced), capped at the
    /// total; `None` when unpaced.
    pub fn due(&self, elapsed: Duration) -> Option<u64> {
        let rate = self.rate?;
        let total = self.total()?;
        Some(((elapsed.as_nanos() * u128::from(rate) / 1_000_000_000) as u64).min(total))
    }

    /// Whether the sender is done after `sent` packets, `elapsed` after the start.
    pub fn done(&self, sent: u64, elapsed: Duration) -> bool {
        match self.total() {
            Some(total) => sent >= total || elapsed.as_secs_f64() >= self.secs + 1.0,
            None => elapsed.as_secs_f64() >= self.secs,
        }
    }
}

/// One packet's payload, marker and timestamp: packet `n` (counted from 0) of the run.
pub struct Packet {
    /// Whether it ends a frame.
    pub marker: bool,
    /// RTP timestamp.
    pub timestamp: u32,
}

impl Packet {
    /// Packet `n` of the measured run.
    pub fn nth(n: u64) -> Packet {
        Packet {
            marker: n % PER_FRAME == PER_FRAME - 1,
            timestamp: ((n / PER_FRAME) as u32).wrapping_mul(TS_PER_FRAME),
        }
    }
}

/// The payload of measured packets (`warm = false`) or warm-up packets.
pub fn payload(warm: bool) -> &'static [u8] {
    static MEASURED_BUF: [u8; PAYLOAD] = {
        let mut b = [0x5a; PAYLOAD];
        b[0] = MEASURED;
        b
    };
    static WARM_BUF: [u8; PAYLOAD] = {
        let mut b = [0x5a; PAYLOAD];
        b[0] = WARMUP;
        b
    };
    if warm { &WARM_BUF } else { &MEASURED_BUF }
}

/// What the receiver has seen, shared with the sender and the collector.
#[derive(Debug)]
pub struct Shared {
    base: Instant,
    received: AtomicU64,
    warm: AtomicU64,
    /// Nanoseconds after `base` of the last measured packet.
    last_rx: AtomicU64,
    /// Payload type of the first packet (0 before).
    payload_type: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            base: Instant::now(),
            received: AtomicU64::new(0),
            warm: AtomicU64::new(0),
            last_rx: AtomicU64::new(0),
            payload_type: AtomicU64::new(0),
        }
    }
}

impl Shared {
    /// The receiver got a packet with this payload and payload type.
    pub fn on_packet(&self, payload: &[u8], pt: u8) {
        if payload.first() == Some(&MEASURED) {
            self.received.fetch_add(1, Ordering::Relaxed);
            let ns = self.base.elapsed().as_nanos() as u64;
            self.last_rx.store(ns, Ordering::Relaxed);
        } else {
            if self.warm.load(Ordering::Relaxed) == 0 {
                self.payload_type.store(u64::from(pt), Ordering::Relaxed);
            }
            self.warm.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether a warm-up packet arrived.
    pub fn warmed(&self) -> bool {
        self.warm.load(Ordering::Relaxed) > 0
    }

    /// Measured packets received.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Waits until `sent` measured packets arrived or none arrived for [`QUIET`]; the end
    /// mark then.
    pub async fn settle(&self, sent: u64) -> Mark {
        let mut last = self.received();
        let mut since = Instant::now();
        loop {
            let n = self.received();
            if n >= sent {
                return Mark::now();
            }
            if n != last {
                last = n;
                since = Instant::now();
            } else if since.elapsed() >= QUIET {
                return Mark::now();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The outcome of a run that started at `start`, sent `sent` and ended at `end`.
    pub fn outcome(&self, start: Mark, sent: u64, sender_end: Instant, end: Mark) -> Outcome {
        let last = self.base + Duration::from_nanos(self.last_rx.load(Ordering::Relaxed));
        Outcome {
            sent,
            received: self.received(),
            start,
            end,
            send_secs: sender_end.duration_since(start.at).as_secs_f64(),
            receive_secs: last.saturating_duration_since(start.at).as_secs_f64(),
            payload_type: self.payload_type.load(Ordering::Relaxed) as u8,
            extra: json!({}),
        }
    }
}

/// Waits for the warm-up: calls `send_warm` every [`WARMUP_EVERY`] until the receiver saw a
/// warm-up packet (errors of `send_warm` before that are expected: not connected yet).
pub async fn warm_up<F, Fut>(shared: &Shared, mut send_warm: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t0 = Instant::now();
    while !shared.warmed() {
        if t0.elapsed() > WARMUP_LIMIT {
            return Err(format!("no packet arrived within {WARMUP_LIMIT:?}"));
        }
        send_warm().await;
        tokio::time::sleep(WARMUP_EVERY).await;
    }
    Ok(())
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Measured packets the stack accepted.
    pub sent: u64,
    /// Measured packets received.
    pub received: u64,
    /// Start of the measured run.
    pub start: Mark,
    /// End of the measured run.
    pub end: Mark,
    /// Seconds from start to the sender's last packet.
    pub send_secs: f64,
    /// Seconds from start to the last measured packet received.
    pub receive_secs: f64,
    /// Payload type of the packets received.
    pub payload_type: u8,
    /// Stack-specific facts (RTCP counters).
    pub extra: Value,
}

impl Outcome {
    /// As the child's JSON line.
    pub fn json(&self, udp_drops: u64) -> Value {
        let cpu = self.end.cpu.saturating_sub(self.start.cpu).as_secs_f64();
        let user = self.end.user.saturating_sub(self.start.user).as_secs_f64();
        let per = |s: f64| s * 1e6 / self.received.max(1) as f64;
        let wall = self.end.at.duration_since(self.start.at).as_secs_f64();
        json!({
            "sent": self.sent,
            "received": self.received,
            "loss_pct": if self.sent > 0 {
                100.0 * self.sent.saturating_sub(self.received) as f64 / self.sent as f64
            } else { 0.0 },
            "cpu_s": cpu,
            "wall_s": wall,
            "cores_busy": cpu / wall.max(1e-9),
            "cpu_us_per_packet": per(cpu),
            "user_us_per_packet": per(user),
            "system_us_per_packet": per(cpu - user),
            "send_secs": self.send_secs,
            "receive_secs": self.receive_secs,
            "received_per_s": self.received as f64 / self.receive_secs.max(1e-9),
            "payload_type": self.payload_type,
            "udp_rcvbuf_drops": udp_drops,
            "stack": self.extra,
        })
    }
}

/// Child side: runs one stack once and prints one JSON line.
pub fn child(args: &[String]) -> Value {
    let (Some(stack), Some(mode), Some(secs), Some(rate)) = (
        args.first().and_then(|s| Stack::parse(s)),
        args.get(1).map(String::as_str),
        args.get(2).and_then(|s| s.parse::<f64>().ok()),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return json!({ "error": "usage: media-child STACK paced|unpaced SECS RATE [TICK_MS]" });
    };
    let tick = args
        .get(4)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|t| *t > 0.0 && *t <= 1000.0)
        .map_or(TICK, |t| Duration::from_secs_f64(t / 1e3));
    let work = MediaWork {
        secs,
        rate: (mode == "paced").then_some(rate),
        tick,
    };
    let rt = crate::runtime();
    let drops = udp_rcvbuf_errors();
    // The run is a task on the runtime's workers, not the future `block_on` polls on this
    // thread: the sender's loop then runs on the same two workers for every stack (on the
    // main thread, each tick and each send would be a wake-up across threads, charged to
    // the stacks that are driven from the caller's task).
    let r = rt.block_on(async move {
        let run = tokio::spawn(async move {
            match stack {
                Stack::Rtcpeer => crate::media_rtcpeer::run(work).await,
                Stack::Str0m => crate::media_str0m::run(work).await,
                Stack::Webrtc => crate::media_webrtc::run(work).await,
            }
        });
        let limit = WARMUP_LIMIT + Duration::from_secs_f64(secs * 3.0 + 30.0);
        match tokio::time::timeout(limit, run).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(format!("run task: {e}")),
            Err(_) => Err(format!("no result within {limit:?}")),
        }
    });
    let drops = udp_rcvbuf_errors().saturating_sub(drops);
    // The runtime may hold tasks of a stack that does not stop them on close: not waited for.
    rt.shutdown_background();
    match r {
        Ok(o) => o.json(drops),
        Err(e) => json!({ "error": e }),
    }
}

/// Runs one child process; its JSON line.
fn run_child(
    stack: Stack,
    paced: bool,
    secs: f64,
    rate: u64,
    tick_ms: f64,
) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let mode = if paced { "paced" } else { "unpaced" };
    let out = Command::new(exe)
        .args([
            "media-child",
            stack.name(),
            mode,
            &secs.to_string(),
            &rate.to_string(),
            &tick_ms.to_string(),
        ])
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    let v: Value = serde_json::from_str(line).map_err(|_| {
        format!(
            "child exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => Err(e.to_string()),
        None => Ok(v),
    }
}

/// The `media` scenario: paced and unpaced runs of every stack, each in a child process.
pub fn scenario(o: &Opts) -> Vec<Row> {
    let runs = o.runs.unwrap_or(1);
    let secs = o.media_secs.unwrap_or(if o.quick { 2.0 } else { 10.0 });
    let rate = o.media_rate.unwrap_or(10_000);
    let tick_ms = o.media_tick_ms.unwrap_or(TICK.as_secs_f64() * 1e3);
    let label = format!("1000-byte VP8 RTP A→B, {rate} pkt/s (every {tick_ms} ms) for {secs} s");
    let mut cpu = Row::new(
        "media",
        format!("{label}: CPU per packet, both ends"),
        "µs",
        false,
    );
    cpu.target = Some("≤ 2 µs");
    let mut user = Row::new(
        "media",
        format!("{label}: of which user mode (the rest: kernel: UDP, wake-ups)"),
        "µs",
        false,
    );
    let mut loss = Row::new("media", format!("{label}: loss"), "%", false);
    let mut max = Row::new(
        "media",
        format!("unpaced for {secs} s: packets/s received"),
        "pkt/s",
        true,
    );
    let mut max_cpu = Row::new(
        "media",
        format!("unpaced for {secs} s: CPU per packet received, both ends"),
        "µs",
        false,
    );
    let mut per_core = Row::new(
        "media",
        format!("unpaced for {secs} s: packets/s per busy core"),
        "pkt/s",
        true,
    );
    let (mut paced_facts, mut unpaced_facts) = (serde_json::Map::new(), serde_json::Map::new());
    for &s in &o.stacks {
        for paced in [true, false] {
            let mode = if paced { "paced" } else { "unpaced" };
            let mut results = Vec::new();
            let mut error = None;
            for i in 0..runs {
                eprintln!(
                    "media: {} {mode}, {secs} s, run {}/{runs} (child process)",
                    s.name(),
                    i + 1
                );
                match run_child(s, paced, secs, rate, tick_ms) {
                    Ok(v) => {
                        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
                        eprintln!(
                            "  sent {} received {} loss {:.3}% cpu {:.3} s ({:.2} cores) \
                             {:.3} µs/pkt (user {:.3}, system {:.3}), {:.0} pkt/s received, \
                             pt {}, udp drops {}",
                            v["sent"],
                            v["received"],
                            f("loss_pct"),
                            f("cpu_s"),
                            f("cores_busy"),
                            f("cpu_us_per_packet"),
                            f("user_us_per_packet"),
                            f("system_us_per_packet"),
                            f("received_per_s"),
                            v["payload_type"],
                            v["udp_rcvbuf_drops"],
                        );
                        results.push(v);
                    }
                    Err(e) => {
                        eprintln!("  {}: {e}", s.name());
                        error = Some(e);
                        break;
                    }
                }
            }
            let col = |k: &str| -> Result<Summary, String> {
                if let Some(e) = &error {
                    return Err(e.clone());
                }
                let v: Vec<f64> = results.iter().filter_map(|r| r[k].as_f64()).collect();
                Summary::of(&v).ok_or("no runs".into())
            };
            if paced {
                cpu.cells.insert(s, col("cpu_us_per_packet"));
                user.cells.insert(s, col("user_us_per_packet"));
                loss.cells.insert(s, col("loss_pct"));
                paced_facts.insert(s.name().into(), Value::Array(results));
            } else {
                max.cells.insert(s, col("received_per_s"));
                max_cpu.cells.insert(s, col("cpu_us_per_packet"));
                let pc: Result<Summary, String> = error.clone().map_or_else(
                    || {
                        let v: Vec<f64> = results
                            .iter()
                            .filter_map(|r| {
                                Some(r["received_per_s"].as_f64()? / r["cores_busy"].as_f64()?)
                            })
                            .collect();
                        Summary::of(&v).ok_or("no runs".to_string())
                    },
                    Err,
                );
                per_core.cells.insert(s, pc);
                unpaced_facts.insert(s.name().into(), Value::Array(results));
            }
        }
    }
    cpu.extra = Value::Object(paced_facts);
    max.extra = Value::Object(unpaced_facts);
    vec![cpu, user, loss, max, max_cpu, per_core]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_and_frames() {
        let w = MediaWork {
            secs: 2.0,
            rate: Some(10_000),
            tick: TICK,
        };
        assert_eq!(w.total(), Some(20_000));
        assert_eq!(w.due(Duration::from_millis(1)), Some(10));
        assert_eq!(w.due(Duration::from_secs(5)), Some(20_000));
        assert!(!w.done(19_999, Duration::from_secs(2)));
        assert!(w.done(20_000, Duration::from_secs(2)));
        let u = MediaWork {
            secs: 2.0,
            rate: None,
            tick: TICK,
        };
        assert_eq!(u.due(Duration::from_secs(1)), None);
        assert!(u.done(0, Duration::from_secs(2)) && !u.done(0, Duration::from_secs(1)));
        assert!(!Packet::nth(8).marker && Packet::nth(9).marker);
        assert_eq!(Packet::nth(10).timestamp, 3000);
        assert_eq!(payload(false)[0], MEASURED);
        assert_eq!(payload(true)[0], WARMUP);
        assert_eq!(payload(true).len(), PAYLOAD);
    }

    #[test]
    fn shared_counts_measured_packets_only() {
        let s = Shared::default();
        s.on_packet(payload(true), 96);
        assert!(s.warmed());
        assert_eq!(s.received(), 0);
        s.on_packet(payload(false), 96);
        s.on_packet(payload(false), 96);
        assert_eq!(s.received(), 2);
        assert_eq!(s.payload_type.load(Ordering::Relaxed), 96);
    }
}
