//! `rtcpeer demo --stats-page` in headless Chromium (issue 14): while the demo runs (a data
//! channel transfer beside audio and video, then media alone), the page draws both peers and
//! its graphs update: the numbers the page computed are read back from `window.rtcpeerStats`,
//! and a screenshot of the page is saved (under target/, or at `$RTCPEER_STATS_PAGE_PNG`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

// rtcpeer's own test helpers (the Chromium driver), shared rather than copied; chromium.rs
// finds jsonl.rs as its sibling (`super::jsonl`).
#[allow(dead_code)]
#[path = "../../rtcpeer/tests/common/jsonl.rs"]
mod jsonl;

#[allow(dead_code)]
#[path = "../../rtcpeer/tests/common/chromium.rs"]
mod chromium;

use chromium::{Chromium, LaunchOptions};

/// Starts the demo with the page on any free port; returns it, its URL and its stdout so far.
async fn start_demo() -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_rtcpeer"))
        .args(["demo", "--stats-page", "--mib", "48", "--seconds", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("rtcpeer runs");
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let log = seen.clone();
    // Drains stdout for the whole run (a full pipe would stall the demo).
    tokio::spawn(async move {
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(at) = line.find("stats page: http://") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line[at + "stats page: ".len()..].trim().to_string());
                }
            }
            log.lock().unwrap().push(line);
        }
    });
    let url = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .unwrap_or_else(|_| panic!("no stats page URL printed: {:?}", seen.lock().unwrap()))
        .expect("the URL line");
    (demo, url, seen)
}

fn screenshot_path() -> PathBuf {
    match std::env::var_os("RTCPEER_STATS_PAGE_PNG") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stats-page.png"),
    }
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_page_draws_the_running_demo() {
    let (mut demo, url, stdout) = start_demo().await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Chromium only loads a page from this process's 127.0.0.1: no WebRTC in this browser, so
    // it may share the test's network namespace whatever it is.
    let mut chrome = Chromium::launch_with_or_panic(LaunchOptions {
        in_current_netns: true,
        ..LaunchOptions::default()
    })
    .await;
    chrome.set_viewport(1280, 900).await.unwrap();
    chrome.goto(&url).await.unwrap();

    // Both panels, with the connection up and media flowing (the demo's video is 30 frames/s).
    let first = chrome
        .wait_until(
            "const s = window.rtcpeerStats, a = s.connections.alice, b = s.connections.bob;
             if (!a || !b || s.samples < 4) return null;
             if (!(a.latest.frames['video sent'] > 0 && b.latest.frames['video received'] > 0)) return null;
             return s;",
            Duration::from_secs(90),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}; demo stdout: {:?}", stdout.lock().unwrap()));
    let (alice, bob) = (&first["connections"]["alice"], &first["connections"]["bob"]);
    for (name, c) in [("alice", alice), ("bob", bob)] {
        for (state, want) in [
            ("signaling", "stable"),
            ("connection", "connected"),
            ("iceGathering", "complete"),
            ("dtls", "connected"),
        ] {
            assert_eq!(c["states"][state], want, "{name} {state}: {c}");
        }
        let ice = c["states"]["iceConnection"].as_str().unwrap();
        assert!(ice == "connected" || ice == "completed", "{name}: {ice}");
        let pair = &c["pair"];
        for end in ["local", "remote"] {
            let text = pair[end].as_str().unwrap_or_default();
            assert!(
                text.starts_with("127.0.0.1:") && text.ends_with("host udp"),
                "{name}: {pair}"
            );
        }
        // The page computed rates from two samples at least: packets both ways (media one
        // way, RTCP and SCTP acknowledgements the other).
        assert!(num(c, &["latest", "packets", "sent"]) > 0.0, "{name}: {c}");
        assert!(
            num(c, &["latest", "packets", "received"]) > 0.0,
            "{name}: {c}"
        );
        assert!(
            c["latest"]["buffered"]["\"bulk\""].is_number(),
            "{name}: {c}"
        );
    }
    // Media goes from alice to bob: about 1 Mbit/s of video plus audio.
    assert!(num(alice, &["latest", "bitrate", "sent"]) > 0.1, "{alice}");
    assert!(num(bob, &["latest", "bitrate", "received"]) > 0.1, "{bob}");
    assert!(
        num(alice, &["latest", "bitrate", "media sent"]) > 0.1,
        "{alice}"
    );
    assert!(
        num(bob, &["latest", "frames", "video received"]) > 5.0,
        "{bob}"
    );

    // The graphs keep updating: more samples, more points drawn in every chart.
    let before = first["samples"].as_u64().unwrap();
    let later = chrome
        .wait_until(
            &format!(
                "const s = window.rtcpeerStats; return s.samples >= {} ? s : null;",
                before + 3
            ),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    for name in ["alice", "bob"] {
        for chart in ["bitrate", "packets", "rtt", "loss", "buffered", "frames"] {
            let (p0, p1) = (
                num(&first["connections"][name], &["points", chart]),
                num(&later["connections"][name], &["points", chart]),
            );
            assert!(p1 >= p0 + 3.0, "{name} {chart}: {p0} then {p1} points");
        }
    }
    assert!(num(&later, &["time"]) > num(&first, &["time"]));
    let canvases = chrome
        .eval("return document.querySelectorAll('.panel .plot canvas').length")
        .await
        .unwrap();
    assert_eq!(canvases, 12, "six graphs per connection");

    // A few more seconds of history for a readable picture, then the screenshot.
    chrome
        .wait_until(
            &format!("return window.rtcpeerStats.samples >= {}", before + 8),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let png = screenshot_path();
    if let Some(dir) = png.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    chrome.screenshot(&png).await.unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG at {}",
        png.display()
    );
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
    eprintln!("stats page screenshot: {}", png.display());

    assert!(
        demo.try_wait().unwrap().is_none(),
        "the demo still runs: {:?}",
        stdout.lock().unwrap()
    );
    chrome.close().await.unwrap();
    demo.kill().await.unwrap();
}

/// `rtcpeer offer --stats-page` and `rtcpeer answer --stats-port N` print the page's URL on
/// stderr with their other status lines, before any signaling, and serve the page there.
#[test]
fn offer_and_answer_print_the_url_and_serve_the_page() {
    use std::io::{BufRead, Read, Write};
    let free_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fixed = free_port.to_string();
    for args in [
        vec!["offer", "--stats-page"],
        vec!["answer", "--stats-port", fixed.as_str()],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rtcpeer"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rtcpeer runs");
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let url = loop {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "{args:?}: no URL");
            if let Some(url) = line.trim().strip_prefix("rtcpeer: stats page: ") {
                break url.to_string();
            }
        };
        let addr = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("{args:?}: {url}"));
        if args[1] == "--stats-port" {
            assert_eq!(addr, fixed, "the port asked for");
        }
        let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{addr}")).unwrap();
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).unwrap();
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("<title>rtcpeer stats</title>"), "{page}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // A bad port is refused with a clear error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtcpeer"))
        .args(["demo", "--stats-port", "70000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--stats-port needs a port number"), "{err}");
}
