//! `rtcpeer answer` fed hostile stdin (issue 12): what the other side pastes or pipes in may
//! be anything. Blank input is skipped in O(1) per byte, a huge line is refused once it
//! passes the size limit without being held (the child's peak RSS and the bytes it read
//! before refusing are measured), garbage JSON is refused at once with a clear error.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A Chromium data-channel offer, as the browser's JSON.
fn offer_json() -> String {
    let sdp = include_str!("../../rtcpeer/tests/fixtures/sdp/chromium-datachannel-offer.sdp");
    serde_json::json!({"type": "offer", "sdp": sdp}).to_string()
}

fn spawn_answer() -> Child {
    Command::new(env!("CARGO_BIN_EXE_rtcpeer"))
        .arg("answer")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rtcpeer runs")
}

/// Field `name` of `/proc/<pid>/status` in kB, while the process lives.
fn status_kb(pid: u32, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) of a live process, from `/proc/<pid>/stat` (USER_HZ = 100).
fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Waits up to `limit` for `child` to exit; its status and stderr, or `None` (killed).
fn exit_within(child: &mut Child, limit: Duration) -> Option<(bool, String)> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .as_mut()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return Some((status.success(), err));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

/// 250 KB of blank lines before the offer: skipped without re-reading (the old reader
/// re-scanned everything it had read at every line: 65 s of CPU), then answered.
#[test]
fn blank_lines_before_the_offer_cost_nothing() {
    let mut child = spawn_answer();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    std::thread::spawn(move || {
        let _ = stdin.write_all(&vec![b'\n'; 250_000]);
        let _ = stdin.write_all(format!("{}\n", offer_json()).as_bytes());
        // Kept open: the answerer would chat on stdin.
        std::thread::sleep(Duration::from_secs(60));
        drop(stdin);
    });
    let answer = rx.recv_timeout(Duration::from_secs(20));
    let cpu = cpu_of(pid);
    child.kill().unwrap();
    child.wait().unwrap();
    let cpu = cpu.expect("the answerer was alive");
    eprintln!("250 KB of blank lines then an offer: answered, child CPU {cpu:?}");
    let answer = answer.unwrap_or_else(|_| panic!("no answer within 20 s (child CPU {cpu:?})"));
    assert!(answer.starts_with("{\"type\":\"answer\""), "{answer}");
    assert!(cpu < Duration::from_secs(3), "child CPU {cpu:?}");
}

/// A 200 MB line: refused once it passes the description limit, having read (and held)
/// only about that much; the child's peak RSS stays near its baseline.
#[test]
fn a_200_mb_line_is_refused_without_being_held() {
    let mut child = spawn_answer();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut written = 0usize;
        let chunk = vec![b'a'; 64 * 1024];
        if stdin.write_all(b"{\"type\":\"offer\",\"sdp\":\"").is_err() {
            return written;
        }
        while written < 200 << 20 {
            match stdin.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        written
    });
    let mut peak_kb = 0;
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
        if let Some(kb) = status_kb(pid, "VmHWM:") {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Still running after 60 s: a failure, reported below.
    let _ = child.kill();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .as_mut()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let written = writer.join().unwrap();
    eprintln!(
        "200 MB line: child read {written} bytes before refusing, peak RSS {peak_kb} kB, {:?}",
        start.elapsed()
    );
    assert!(!status.success());
    assert!(err.contains("longer than"), "{err}");
    // The limit (2 MiB + 1 KiB) plus the pipe's and the reader's buffers.
    assert!(written < 4 << 20, "{written} bytes read before refusing");
    assert!(peak_kb < 48 * 1024, "peak RSS {peak_kb} kB");
}

/// Garbage JSON: refused at once with a clear error, without waiting for more input (the old
/// reader waited up to 120 s for the rest of a "JSON" that never came).
#[test]
fn garbage_json_is_refused_at_once() {
    let deep = "{\"a\":".repeat(100_000) + "\n";
    let cases: [(&str, &str); 4] = [
        ("hello world\n", "must start with"),
        ("[1, 2, 3]\n", "must start with"),
        (&deep, "deeper"),
        ("{\"type\":\"offer\",\"sdp\":5}\n", "invalid type"),
    ];
    for (input, expect) in cases {
        let mut child = spawn_answer();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        // stdin stays open: the child must decide without seeing its end.
        let start = Instant::now();
        let r = exit_within(&mut child, Duration::from_secs(10));
        drop(stdin);
        let what = &input[..input.len().min(24)];
        let (ok, err) = r.unwrap_or_else(|| panic!("no verdict on {what:?} within 10 s"));
        eprintln!("{what:?}: refused in {:?}", start.elapsed());
        assert!(!ok);
        assert!(err.contains(expect), "{what:?}: {err}");
    }
}
