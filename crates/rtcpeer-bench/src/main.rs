//! Benchmarks rtcpeer against webrtc-rs and str0m, side by side, in one run (issue 5).
//!
//! `cargo run --release -p rtcpeer-bench -- all` runs every scenario for every stack, prints
//! a table of medians, spreads and rtcpeer's ratio to each competitor, and writes JSON.
//! See `--help` and the README's "Performance" section.

mod measure;
mod media;
mod media_rtcpeer;
mod media_str0m;
mod media_webrtc;
mod pair;
mod sctp_mem;
mod stack_rtcpeer;
mod stack_str0m;
mod stack_webrtc;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use measure::{Summary, rss_kib};
use pair::{Hold, Report, Work};

/// The stacks compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Stack {
    Rtcpeer,
    Str0m,
    Webrtc,
}

impl Stack {
    const ALL: [Stack; 3] = [Stack::Rtcpeer, Stack::Str0m, Stack::Webrtc];

    fn name(self) -> &'static str {
        match self {
            Stack::Rtcpeer => "rtcpeer",
            Stack::Str0m => "str0m",
            Stack::Webrtc => "webrtc",
        }
    }

    /// Name and version as shown in the table.
    fn label(self) -> &'static str {
        match self {
            Stack::Rtcpeer => "rtcpeer",
            Stack::Str0m => "str0m 0.25",
            Stack::Webrtc => "webrtc-rs 0.21",
        }
    }

    fn parse(s: &str) -> Option<Stack> {
        Stack::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "webrtc-rs" && *k == Stack::Webrtc))
    }

    async fn run_pair(self, work: Work, hold: Option<Hold>) -> Result<Report, String> {
        match self {
            Stack::Rtcpeer => stack_rtcpeer::run_pair(work, hold).await,
            Stack::Str0m => stack_str0m::run_pair(work, hold).await,
            Stack::Webrtc => stack_webrtc::run_pair(work, hold).await,
        }
    }
}

/// Command-line options.
#[derive(Debug, Clone)]
struct Opts {
    scenario: String,
    quick: bool,
    stacks: Vec<Stack>,
    out: PathBuf,
    runs: Option<usize>,
    pairs: Option<usize>,
    media_secs: Option<f64>,
    media_rate: Option<u64>,
    media_tick_ms: Option<f64>,
}

const USAGE: &str = "\
usage: rtcpeer-bench [all|setup|throughput|many|sctp|media] [options]

  --quick             fewer iterations and smaller transfers (for iterating)
  --stacks LIST       comma-separated subset of rtcpeer,str0m,webrtc (default: all three)
  --runs N            runs per throughput/sctp measurement (default 5, quick 2)
  --pairs N           connection pairs in `many` (default 200, quick 20)
  --media-secs S      seconds of sending per `media` run, paced and unpaced (default 10, quick 2)
  --media-rate N      packets/s of the paced `media` run (default 10000)
  --media-tick-ms T   pacing grid of the paced run: what is due goes out every T ms (default 1)
                      (`media` runs once per stack and mode unless --runs is given)
  --out PATH          JSON results file (default: <target dir>/bench-results.json)

environment: RTCPEER_BENCH_WORKERS=N  Tokio worker threads of every scenario (default 2)
";

fn default_out() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("bench-results.json")
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        scenario: "all".into(),
        quick: false,
        stacks: Stack::ALL.to_vec(),
        out: default_out(),
        runs: None,
        pairs: None,
        media_secs: None,
        media_rate: None,
        media_tick_ms: None,
    };
    let mut it = args.iter();
    let mut scenario = None;
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--stacks" => {
                o.stacks = value("--stacks")?
                    .split(',')
                    .map(|s| Stack::parse(s.trim()).ok_or(format!("unknown stack {s:?}")))
                    .collect::<Result<_, _>>()?;
                o.stacks.sort();
                o.stacks.dedup();
            }
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--runs" => {
                o.runs = Some(
                    value("--runs")?
                        .parse()
                        .map_err(|e| format!("--runs: {e}"))?,
                )
            }
            "--pairs" => {
                o.pairs = Some(
                    value("--pairs")?
                        .parse()
                        .map_err(|e| format!("--pairs: {e}"))?,
                )
            }
            "--media-secs" => {
                let v: f64 = value("--media-secs")?
                    .parse()
                    .map_err(|e| format!("--media-secs: {e}"))?;
                if !(v > 0.0 && v <= 3600.0) {
                    return Err("--media-secs: between 0 and 3600".into());
                }
                o.media_secs = Some(v);
            }
            "--media-rate" => {
                let v: u64 = value("--media-rate")?
                    .parse()
                    .map_err(|e| format!("--media-rate: {e}"))?;
                if v == 0 {
                    return Err("--media-rate: at least 1".into());
                }
                o.media_rate = Some(v);
            }
            "--media-tick-ms" => {
                let v: f64 = value("--media-tick-ms")?
                    .parse()
                    .map_err(|e| format!("--media-tick-ms: {e}"))?;
                if !(v > 0.0 && v <= 1000.0) {
                    return Err("--media-tick-ms: between 0 and 1000".into());
                }
                o.media_tick_ms = Some(v);
            }
            "-h" | "--help" => return Err(String::new()),
            s if !s.starts_with('-') && scenario.is_none() => scenario = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s:?}")),
        }
    }
    o.scenario = scenario.unwrap_or_else(|| "all".into());
    if !["all", "setup", "throughput", "many", "sctp", "media"].contains(&o.scenario.as_str()) {
        return Err(format!("unknown scenario {:?}", o.scenario));
    }
    Ok(o)
}

/// One cell of the table: a summary, or why there is none.
type Cell = Result<Summary, String>;

/// One metric across the stacks.
struct Row {
    scenario: &'static str,
    metric: String,
    unit: &'static str,
    higher_is_better: bool,
    /// Show median / p90 instead of median (min–max).
    p90: bool,
    target: Option<&'static str>,
    cells: BTreeMap<Stack, Cell>,
    /// Extra facts for the JSON (e.g. backstop counts).
    extra: Value,
}

impl Row {
    fn new(
        scenario: &'static str,
        metric: impl Into<String>,
        unit: &'static str,
        higher: bool,
    ) -> Row {
        Row {
            scenario,
            metric: metric.into(),
            unit,
            higher_is_better: higher,
            p90: false,
            target: None,
            cells: BTreeMap::new(),
            extra: json!({}),
        }
    }

    /// rtcpeer's advantage over `other` (>1: rtcpeer better), from the medians.
    fn advantage(&self, other: Stack) -> Option<f64> {
        let r = self.cells.get(&Stack::Rtcpeer)?.as_ref().ok()?.median;
        let c = self.cells.get(&other)?.as_ref().ok()?.median;
        if r <= 0.0 || c <= 0.0 {
            return None;
        }
        Some(if self.higher_is_better { r / c } else { c / r })
    }

    fn json(&self) -> Value {
        let cells: serde_json::Map<String, Value> = self
            .cells
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Ok(s) => s.json(),
                    Err(e) => json!({ "error": e }),
                };
                (k.name().to_string(), v)
            })
            .collect();
        let ratios: serde_json::Map<String, Value> = [Stack::Str0m, Stack::Webrtc]
            .into_iter()
            .filter_map(|k| self.advantage(k).map(|a| (k.name().to_string(), json!(a))))
            .collect();
        json!({
            "scenario": self.scenario,
            "metric": self.metric,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "target": self.target,
            "stacks": cells,
            "rtcpeer_advantage": ratios,
            "extra": self.extra,
        })
    }
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_cell(row: &Row, c: Option<&Cell>) -> String {
    match c {
        None => "—".into(),
        Some(Err(e)) if e.starts_with("pending") => "pending".into(),
        Some(Err(_)) => "failed".into(),
        Some(Ok(s)) if s.n == 1 => fmt_num(s.median),
        Some(Ok(s)) if row.p90 => format!("{} / {}", fmt_num(s.median), fmt_num(s.p90)),
        Some(Ok(s)) => format!(
            "{} ({}–{})",
            fmt_num(s.median),
            fmt_num(s.min),
            fmt_num(s.max)
        ),
    }
}

fn print_table(rows: &[Row], stacks: &[Stack]) -> String {
    let mut header = vec!["scenario / metric".to_string()];
    header.extend(stacks.iter().map(|s| s.label().to_string()));
    let competitors: Vec<Stack> = stacks
        .iter()
        .copied()
        .filter(|s| *s != Stack::Rtcpeer)
        .collect();
    let show_ratio = stacks.contains(&Stack::Rtcpeer);
    if show_ratio {
        header.extend(
            competitors
                .iter()
                .map(|s| format!("rtcpeer vs {}", s.label())),
        );
    }
    header.push("target".into());
    let mut lines = vec![header];
    for r in rows {
        let mut l = vec![format!("{}: {} [{}]", r.scenario, r.metric, r.unit)];
        l.extend(stacks.iter().map(|s| fmt_cell(r, r.cells.get(s))));
        if show_ratio {
            l.extend(competitors.iter().map(|s| match r.advantage(*s) {
                Some(a) => format!("{a:.2}×"),
                None => "—".into(),
            }));
        }
        l.push(r.target.unwrap_or("").to_string());
        lines.push(l);
    }
    // Markdown table, columns padded.
    let cols = lines[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        out.push('|');
        for (i, cell) in l.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            let _ = write!(out, " {cell}{} |", " ".repeat(pad));
        }
        out.push('\n');
        if n == 0 {
            out.push('|');
            for w in &widths {
                let _ = write!(out, "{}|", "-".repeat(w + 2));
            }
            out.push('\n');
        }
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    // Two workers: the machine this was written for has two cores; every stack gets the same.
    // RTCPEER_BENCH_WORKERS overrides it (e.g. 1, to see what wake-ups across threads cost).
    let workers = std::env::var("RTCPEER_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------
// setup

fn scenario_setup(o: &Opts, rt: &tokio::runtime::Runtime) -> Vec<Row> {
    let iterations = if o.quick { 5 } else { 20 };
    let mut row = Row::new("setup", "create → channel open on both sides", "ms", false);
    row.p90 = true;
    row.target = Some("≤ 2 ms");
    for &s in &o.stacks {
        eprintln!("setup: {} ({iterations} iterations + 1 warm-up)", s.name());
        let cell = rt.block_on(async {
            s.run_pair(Work::Open, None).await?; // warm-up (lazy statics, first sockets)
            let mut v = Vec::new();
            for _ in 0..iterations {
                let r = s.run_pair(Work::Open, None).await?;
                v.push(r.setup.as_secs_f64() * 1e3);
            }
            Summary::of(&v).ok_or("no samples".to_string())
        });
        if let Err(e) = &cell {
            eprintln!("  {}: {e}", s.name());
        }
        row.cells.insert(s, cell);
    }
    vec![row]
}

// ---------------------------------------------------------------------------------------
// throughput

fn scenario_throughput(o: &Opts, rt: &tokio::runtime::Runtime) -> Vec<Row> {
    let runs = o.runs.unwrap_or(if o.quick { 2 } else { 5 });
    let big: u64 = if o.quick { 16 << 20 } else { 256 << 20 };
    let small_msgs: u64 = if o.quick { 8192 } else { 65536 };
    let mut rows = Vec::new();
    let variants: [(u64, usize, usize, &str); 3] = [
        (big, 64 * 1024, 1 << 20, "64 KiB msgs, ≤ 1 MiB buffered"),
        (
            big,
            64 * 1024,
            128 * 1024,
            "64 KiB msgs, ≤ 128 KiB buffered",
        ),
        (
            small_msgs * 1024,
            1024,
            1 << 20,
            "1 KiB msgs, ≤ 1 MiB buffered",
        ),
    ];
    for (total, msg, max_buffered, name) in variants {
        let work = Work::Transfer {
            total,
            msg,
            max_buffered,
        };
        let small = msg < 4096;
        let (mut rate, mut cost) = if small {
            (
                Row::new("throughput", format!("{name}: messages/s"), "msg/s", true),
                Row::new(
                    "throughput",
                    format!("{name}: CPU per message"),
                    "µs",
                    false,
                ),
            )
        } else {
            (
                Row::new("throughput", format!("{name}: receiver rate"), "MB/s", true),
                Row::new("throughput", format!("{name}: CPU per MB"), "ms", false),
            )
        };
        rate.target = Some(if small { "≥ 200k" } else { "≥ 500" });
        let mut extra = serde_json::Map::new();
        for &s in &o.stacks {
            eprintln!(
                "throughput: {} {name}, {} MiB × {runs}",
                s.name(),
                total >> 20
            );
            let res: Result<Vec<(Report, u64)>, String> = rt.block_on(async {
                let mut v = Vec::new();
                for _ in 0..runs {
                    let drops = measure::udp_rcvbuf_errors();
                    let r = s.run_pair(work, None).await?;
                    v.push((r, measure::udp_rcvbuf_errors().saturating_sub(drops)));
                }
                Ok(v)
            });
            match res {
                Ok(reports) => {
                    let mut rates = Vec::new();
                    let mut costs = Vec::new();
                    let mut backstops = 0;
                    let drops: Vec<u64> = reports.iter().map(|(_, d)| *d).collect();
                    for (r, _) in &reports {
                        let (Some(a), Some(b)) = (r.start, r.end) else {
                            continue;
                        };
                        let wall = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
                        let cpu = b.cpu.saturating_sub(a.cpu).as_secs_f64();
                        backstops += r.backstops;
                        if small {
                            rates.push(r.msgs as f64 / wall);
                            costs.push(cpu * 1e6 / r.msgs.max(1) as f64);
                        } else {
                            let mb = r.bytes as f64 / 1e6;
                            rates.push(mb / wall);
                            costs.push(cpu * 1e3 / mb);
                        }
                    }
                    extra.insert(
                        s.name().into(),
                        json!({ "backstop_wakeups": backstops, "udp_rcvbuf_drops_per_run": drops }),
                    );
                    rate.cells
                        .insert(s, Summary::of(&rates).ok_or("no runs".into()));
                    cost.cells
                        .insert(s, Summary::of(&costs).ok_or("no runs".into()));
                }
                Err(e) => {
                    eprintln!("  {}: {e}", s.name());
                    rate.cells.insert(s, Err(e.clone()));
                    cost.cells.insert(s, Err(e));
                }
            }
        }
        rate.extra = Value::Object(extra);
        rows.push(rate);
        rows.push(cost);
    }
    rows
}

// ---------------------------------------------------------------------------------------
// many (one child process per stack so that peak RSS belongs to one stack)

fn scenario_many(o: &Opts) -> Vec<Row> {
    let pairs = o.pairs.unwrap_or(if o.quick { 20 } else { 200 });
    let mut setup = Row::new(
        "many",
        format!("{pairs} pairs: total setup + ping-pong"),
        "ms",
        false,
    );
    let mut mem = Row::new("many", "peak RSS per connection", "KB", false);
    mem.target = Some("≤ 30 KB");
    let mut extra = serde_json::Map::new();
    let exe = std::env::current_exe().expect("current exe");
    for &s in &o.stacks {
        eprintln!("many: {} ({pairs} pairs, child process)", s.name());
        let out = Command::new(&exe)
            .args(["many-child", s.name(), &pairs.to_string()])
            .output();
        let parsed: Result<Value, String> = match out {
            Err(e) => Err(format!("spawn: {e}")),
            Ok(out) => {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let line = stdout
                    .lines()
                    .rev()
                    .find(|l| l.starts_with('{'))
                    .unwrap_or("");
                serde_json::from_str::<Value>(line).map_err(|_| {
                    format!(
                        "child exited with {}: {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )
                })
            }
        };
        let parsed = parsed.and_then(|v| match v.get("error").and_then(Value::as_str) {
            Some(e) => Err(e.to_string()),
            None => Ok(v),
        });
        match parsed {
            Ok(v) => {
                let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
                setup
                    .cells
                    .insert(s, Summary::of(&[f("total_ms")]).ok_or("none".into()));
                mem.cells.insert(
                    s,
                    Summary::of(&[f("peak_kb_per_connection")]).ok_or("none".into()),
                );
                extra.insert(s.name().into(), v);
            }
            Err(e) => {
                eprintln!("  {}: {e}", s.name());
                setup.cells.insert(s, Err(e.clone()));
                mem.cells.insert(s, Err(e));
            }
        }
    }
    mem.extra = Value::Object(extra);
    vec![setup, mem]
}

/// Child side of `many`: prints one JSON line.
fn many_child(stack: Stack, pairs: usize) -> Value {
    let rt = runtime();
    rt.block_on(async move {
        // Warm-up pair: lazily initialised statics (crypto tables, runtime pools) are not
        // per-connection memory.
        if let Err(e) = stack.run_pair(Work::PingPong, None).await {
            return json!({ "error": format!("warm-up: {e}") });
        }
        let (rss0, hwm0) = rss_kib();
        let (report_tx, mut report_rx) = mpsc::unbounded_channel();
        let (release_tx, release_rx) = watch::channel(false);
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..pairs {
            let hold = Hold {
                report: report_tx.clone(),
                release: release_rx.clone(),
            };
            tasks.push(tokio::spawn(stack.run_pair(Work::PingPong, Some(hold))));
        }
        drop(report_tx);
        let mut done = 0;
        while done < pairs {
            match tokio::time::timeout(pair::PAIR_DEADLINE, report_rx.recv()).await {
                Ok(Some(_)) => done += 1,
                _ => break,
            }
        }
        let total = t0.elapsed();
        let (rss1, hwm1) = rss_kib();
        let _ = release_tx.send(true);
        let mut errors = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(e.to_string()),
                Ok(Ok(_)) => {}
            }
        }
        if done < pairs {
            return json!({
                "error": format!("{done}/{pairs} pairs finished; first error: {}",
                    errors.first().map(String::as_str).unwrap_or("timeout"))
            });
        }
        let conns = (2 * pairs) as f64;
        let kb = |kib: u64| kib as f64 * 1.024;
        json!({
            "pairs": pairs,
            "connections": 2 * pairs,
            "total_ms": total.as_secs_f64() * 1e3,
            "rss_before_kib": rss0,
            "hwm_before_kib": hwm0,
            "rss_after_kib": rss1,
            "hwm_after_kib": hwm1,
            "peak_kb_per_connection": kb(hwm1.saturating_sub(rss0)) / conns,
            "steady_kb_per_connection": kb(rss1.saturating_sub(rss0)) / conns,
        })
    })
}

// ---------------------------------------------------------------------------------------
// sctp

fn scenario_sctp(o: &Opts) -> Vec<Row> {
    let runs = o.runs.unwrap_or(if o.quick { 2 } else { 5 });
    let (fast, lossy): (u64, u64) = if o.quick {
        (32 << 20, 8 << 20)
    } else {
        (256 << 20, 64 << 20)
    };
    let msg = 64 * 1024;
    let mut rows = Vec::new();
    let mut cpu_row = Row::new(
        "sctp",
        "in memory, 0 delay, 64 KiB msgs: MB per CPU-second",
        "MB/s",
        true,
    );
    cpu_row.target = Some("≥ 1000");
    if o.stacks.contains(&Stack::Rtcpeer) {
        eprintln!("sctp: 0 delay, {} MiB × {runs}", fast >> 20);
        let v: Vec<f64> = (0..runs)
            .map(|i| {
                sctp_mem::transfer(fast, msg, Duration::ZERO, 0.0, i as u64 + 1).mb_per_cpu_s()
            })
            .collect();
        cpu_row
            .cells
            .insert(Stack::Rtcpeer, Summary::of(&v).ok_or("no runs".into()));
    }
    rows.push(cpu_row);
    for loss in [0.0, 0.01] {
        let mut row = Row::new(
            "sctp",
            format!("10 ms RTT, {}% loss: goodput (virtual time)", loss * 100.0),
            "MB/s",
            true,
        );
        if o.stacks.contains(&Stack::Rtcpeer) {
            eprintln!(
                "sctp: 10 ms RTT, {}% loss, {} MiB × {runs}",
                loss * 100.0,
                lossy >> 20
            );
            let mut facts = Vec::new();
            let v: Vec<f64> = (0..runs)
                .map(|i| {
                    let r = sctp_mem::transfer(
                        lossy,
                        msg,
                        Duration::from_millis(10),
                        loss,
                        i as u64 + 1,
                    );
                    facts.push(json!({
                        "retransmissions": r.retransmissions,
                        "t3_expiries": r.t3_expiries,
                        "final_cwnd": r.final_cwnd,
                        "virtual_ms": r.virtual_time.as_secs_f64() * 1e3,
                    }));
                    r.goodput()
                })
                .collect();
            row.cells
                .insert(Stack::Rtcpeer, Summary::of(&v).ok_or("no runs".into()));
            row.extra = json!({ "rtcpeer": facts });
        }
        rows.push(row);
    }
    rows
}

// ---------------------------------------------------------------------------------------

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "kernel": kernel.trim(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("many-child") {
        let stack = args.get(1).and_then(|s| Stack::parse(s));
        let pairs = args.get(2).and_then(|p| p.parse().ok());
        let v = match (stack, pairs) {
            (Some(s), Some(p)) => many_child(s, p),
            _ => json!({ "error": "usage: many-child STACK PAIRS" }),
        };
        println!("{v}");
        return;
    }
    if args.first().map(String::as_str) == Some("media-child") {
        println!("{}", media::child(&args[1..]));
        return;
    }
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}\n");
            }
            eprint!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let started = Instant::now();
    let rt = runtime();
    let all = o.scenario == "all";
    let mut rows = Vec::new();
    if all || o.scenario == "setup" {
        rows.extend(scenario_setup(&o, &rt));
    }
    if all || o.scenario == "throughput" {
        rows.extend(scenario_throughput(&o, &rt));
    }
    drop(rt);
    if all || o.scenario == "many" {
        rows.extend(scenario_many(&o));
    }
    if all || o.scenario == "sctp" {
        rows.extend(scenario_sctp(&o));
    }
    if all || o.scenario == "media" {
        rows.extend(media::scenario(&o));
    }
    let table = print_table(&rows, &o.stacks);
    println!("{table}");
    println!(
        "cells: median (min–max) over runs; setup: median / p90. ratio columns: rtcpeer's \
         advantage from the medians (>1: rtcpeer better, for both rates and costs)."
    );
    let errors: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.cells.iter().filter_map(move |(s, c)| {
                c.as_ref()
                    .err()
                    .map(|e| format!("{} / {}: {}", r.metric, s.name(), e))
            })
        })
        .collect();
    for e in &errors {
        println!("note: {e}");
    }
    let doc = json!({
        "scenario": o.scenario,
        "quick": o.quick,
        "stacks": o.stacks.iter().map(|s| s.label()).collect::<Vec<_>>(),
        "machine": machine(),
        "wall_seconds": started.elapsed().as_secs_f64(),
        "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
        "table_markdown": table,
    });
    if let Some(dir) = o.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(
        &o.out,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    ) {
        Ok(()) => println!("results written to {}", o.out.display()),
        Err(e) => eprintln!("error: writing {}: {e}", o.out.display()),
    }
}
