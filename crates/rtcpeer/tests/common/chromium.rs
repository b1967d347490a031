//! Drives a real headless Chromium from Rust tests through `tests/interop/driver.mjs`.
//!
//! The driver (Node + playwright-core) opens one blank page served from 127.0.0.1 and runs
//! JavaScript function bodies in it on request; see the protocol in driver.mjs. Chromium
//! always runs in a loopback-only network namespace: the test process's own if it already is
//! in one (as under `scripts/test`), otherwise a fresh one made with `unshare --net`. In the
//! latter case Chromium's 127.0.0.1 is not the test's, so a test that connects a Rust peer to
//! Chromium only works under `scripts/test` (check [`Chromium::has_own_netns`]).
//!
//! Replies are read as whole lines without a size bound: the driver is trusted test
//! infrastructure; keep returned values small (summaries, not megabytes of payload).
//!
//! ```ignore
//! mod common;
//! use common::chromium::{Chromium, js_literal};
//!
//! #[tokio::test]
//! async fn chromium_answers_our_offer() {
//!     let mut chrome = Chromium::launch_or_panic().await;
//!     chrome.eval("window.pc = new RTCPeerConnection({iceServers: []});
//!                  window.events = []; pc.onconnectionstatechange = () => events.push(pc.connectionState);")
//!         .await.unwrap();
//!     let offer = /* serde value {"type":"offer","sdp":..} from the Rust peer */;
//!     chrome.eval(&format!("await pc.setRemoteDescription({})", js_literal(&offer))).await.unwrap();
//!     let answer = chrome.eval("await pc.setLocalDescription(); return pc.localDescription").await.unwrap();
//!     chrome.wait_until("return pc.connectionState === 'connected'", Duration::from_secs(10)).await.unwrap();
//! }
//! ```
//!
//! Keep page state on `window`; let the page collect events into arrays that later evals read
//! (or `wait_until` polls), so an eval never has to wait for the Rust side.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::process::Command;

use super::jsonl::{JsonLines, Names, RemoteError};

/// The Chromium binary the driver launches (Debian package `chromium`).
pub const CHROMIUM_BIN: &str = "/usr/bin/chromium";
/// How long `launch` waits for the driver's ready line (the box is shared and slow).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `eval` waits for one reply.
pub const EVAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Prefix of the per-launch temporary directories (TMPDIR of the driver: Chromium's profile).
const TMP_PREFIX: &str = "rtcpeer-chromium-";

/// `JsError::name` for failures of the driver itself (it died, sent garbage, ...).
pub const DRIVER_ERROR: &str = "DriverError";
/// `JsError::name` when no reply came within the eval timeout.
pub const DRIVER_TIMEOUT: &str = "DriverTimeout";

/// An error thrown (or a rejection) in the page, e.g. `InvalidStateError`; or, with the names
/// [`DRIVER_ERROR`] / [`DRIVER_TIMEOUT`], a failure to get any reply.
pub type JsError = RemoteError;

const NAMES: Names = Names {
    who: "driver",
    error: DRIVER_ERROR,
    timeout: DRIVER_TIMEOUT,
    unnamed: "Error",
    echo_env: "RTCPEER_CHROMIUM_LOG",
    prefix: "[chromium]",
};

/// One headless Chromium with one open page, driven over the driver's JSON-lines protocol.
/// Dropping it kills the driver (and so the browser); [`Chromium::close`] shuts down cleanly.
pub struct Chromium {
    proc: JsonLines,
    version: String,
    tmp_dir: PathBuf,
    launch_time: Duration,
    own_netns: bool,
}

/// The repository root (two levels above this crate's manifest).
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// True if this process's network namespace has no interface but `lo`. Reads
/// `/proc/self/net/dev`, which follows the process's namespace (`/sys/class/net` shows the
/// namespace sysfs was mounted in, i.e. the host's under a plain `unshare --net`).
pub fn in_loopback_only_netns() -> bool {
    let Ok(dev) = std::fs::read_to_string("/proc/self/net/dev") else {
        return false;
    };
    // Two header lines, then "  <name>: <counters>" per interface.
    let mut names = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim);
    names.all(|n| n == "lo")
}

/// Removes temporary directories left by test processes that no longer run (a `Chromium`
/// dropped without `close` may leave its profile behind).
fn sweep_stale_tmp_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn missing_setup(what: &str) -> String {
    format!(
        "Chromium interop tests cannot run: {what}. Run `scripts/test` from the repository \
         root: it installs Chromium (apt) and the Node dependencies (npm ci in tests/interop), \
         then runs the whole suite in a loopback-only network namespace."
    )
}

/// Renders `value` as a JavaScript literal (JSON is valid JS), to splice Rust data such as a
/// session description into an eval body: `format!("f({})", js_literal(&desc))`.
pub fn js_literal<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| panic!("value not serialisable to JSON: {e}"))
}

/// How to launch Chromium; the default is what [`Chromium::launch`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct LaunchOptions {
    /// Keep Chromium's default host-candidate privacy (no media permission, mDNS hiding on):
    /// host candidates are `<uuid>.local` names. Needs a namespace with a non-loopback
    /// interface and a default route (see driver.mjs).
    pub default_privacy: bool,
    /// Run in the test process's namespace even though it is not loopback-only: the caller
    /// made that namespace itself (see `common/netns.rs`).
    pub in_current_netns: bool,
    /// Start Chromium with `--ignore-certificate-errors`: its TURN-over-TLS (`turns:`)
    /// connections check the server certificate against the system roots like HTTPS does
    /// (a test CA fails with icecandidateerror 701), and this switch is what lets it accept
    /// coturn's test certificate.
    pub ignore_certificate_errors: bool,
}

impl Chromium {
    /// [`Chromium::launch_with`], panicking with the readable launch error (for tests).
    pub async fn launch_with_or_panic(opts: LaunchOptions) -> Chromium {
        match Chromium::launch_with(opts).await {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Chromium::launch`], panicking with the readable launch error (for tests).
    pub async fn launch_or_panic() -> Chromium {
        match Chromium::launch().await {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts the driver (and Chromium), and waits until its page is loaded.
    /// Fails, never skips, when Chromium or the Node dependencies are missing.
    pub async fn launch() -> Result<Chromium, String> {
        Chromium::launch_with(LaunchOptions::default()).await
    }

    /// [`Chromium::launch`] with options.
    pub async fn launch_with(opts: LaunchOptions) -> Result<Chromium, String> {
        let started = Instant::now();
        let root = repo_root();
        let interop = root.join("tests/interop");
        let driver = interop.join("driver.mjs");
        if !Path::new(CHROMIUM_BIN).exists() {
            return Err(missing_setup(&format!("{CHROMIUM_BIN} does not exist")));
        }
        if !interop
            .join("node_modules/playwright-core/package.json")
            .exists()
        {
            return Err(missing_setup(&format!(
                "{} has no node_modules/playwright-core",
                interop.display()
            )));
        }
        if !driver.exists() {
            return Err(format!("{} does not exist", driver.display()));
        }

        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = std::env::temp_dir();
        sweep_stale_tmp_dirs(&tmp);
        let tmp_dir = tmp.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&tmp_dir)
            .map_err(|e| format!("cannot create {}: {e}", tmp_dir.display()))?;

        let own_netns = !opts.in_current_netns && !in_loopback_only_netns();
        let mut cmd = if own_netns {
            // `$0` is the driver path: no shell quoting needed.
            let mut c = Command::new("unshare");
            c.args(["--net", "sh", "-c", "ip link set lo up && exec node \"$0\""])
                .arg(&driver);
            c
        } else {
            let mut c = Command::new("node");
            c.arg(&driver);
            c
        };
        if opts.default_privacy {
            cmd.env("RTCPEER_CHROMIUM_DEFAULT_PRIVACY", "1");
        }
        if opts.ignore_certificate_errors {
            cmd.env("RTCPEER_CHROMIUM_IGNORE_CERT_ERRORS", "1");
        }
        cmd.current_dir(&interop)
            .env("TMPDIR", &tmp_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp_dir);
                let prog = if own_netns { "unshare" } else { "node" };
                return Err(format!("cannot start the Chromium driver ({prog}): {e}"));
            }
        };
        match JsonLines::start(child, NAMES, LAUNCH_TIMEOUT).await {
            Ok((proc, ready)) => Ok(Chromium {
                proc,
                version: ready["version"].as_str().unwrap_or("unknown").to_owned(),
                tmp_dir,
                launch_time: started.elapsed(),
                own_netns,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp_dir);
                Err(format!("Chromium launch failed: {e}"))
            }
        }
    }

    /// The Chromium version string, e.g. `156.0.8078.79`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Wall time `launch` took (driver start, browser start, page load).
    pub fn launch_time(&self) -> Duration {
        self.launch_time
    }

    /// True if Chromium runs in a namespace of its own rather than the test process's, so its
    /// 127.0.0.1 is not the test's: Rust↔Chromium traffic then needs `scripts/test`.
    pub fn has_own_netns(&self) -> bool {
        self.own_netns
    }

    /// Runs `js` as the body of an async function in the page and returns its JSON-serialised
    /// result (`undefined` → null); a throw or rejection comes back as a [`JsError`].
    pub async fn eval(&mut self, js: &str) -> Result<Value, JsError> {
        self.eval_with_timeout(js, EVAL_TIMEOUT).await
    }

    /// Like [`Chromium::eval`] with a caller-chosen reply timeout.
    pub async fn eval_with_timeout(
        &mut self,
        js: &str,
        timeout: Duration,
    ) -> Result<Value, JsError> {
        let mut request = Map::new();
        request.insert("eval".into(), json!(js));
        self.proc.request(request, js, timeout).await
    }

    /// Loads `url` (a page served on 127.0.0.1) in place of the blank page; later evals run in
    /// it. Chromium must see the server's 127.0.0.1 (see [`LaunchOptions::in_current_netns`]).
    pub async fn goto(&mut self, url: &str) -> Result<Value, JsError> {
        let mut request = Map::new();
        request.insert("goto".into(), json!(url));
        self.proc.request(request, url, EVAL_TIMEOUT).await
    }

    /// Sets the page's viewport, in CSS pixels (screenshots are this wide).
    pub async fn set_viewport(&mut self, width: u32, height: u32) -> Result<Value, JsError> {
        let mut request = Map::new();
        request.insert("viewport".into(), json!({"width": width, "height": height}));
        self.proc.request(request, "viewport", EVAL_TIMEOUT).await
    }

    /// Saves a PNG of the whole page (not only the viewport) at `path`.
    pub async fn screenshot(&mut self, path: &Path) -> Result<Value, JsError> {
        let mut request = Map::new();
        request.insert("screenshot".into(), json!(path.to_string_lossy()));
        self.proc.request(request, "screenshot", EVAL_TIMEOUT).await
    }

    /// Evaluates `js` every 20 ms until it returns something other than null or false, and
    /// returns that; a throw ends the wait with its error, running out of time with
    /// [`DRIVER_TIMEOUT`].
    pub async fn wait_until(&mut self, js: &str, timeout: Duration) -> Result<Value, JsError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self
                .eval_with_timeout(js, left.max(Duration::from_millis(100)))
                .await?;
            if !(v.is_null() || v == Value::Bool(false)) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(JsError {
                    name: DRIVER_TIMEOUT.to_owned(),
                    message: format!("still null/false after {timeout:?}: {js}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes stdin so the driver closes the browser and exits; kills it after 10 s.
    pub async fn close(mut self) -> Result<(), String> {
        let result = self.proc.close().await;
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
        result
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Kill now (kill_on_drop would too); the profile directory is removed here if the
        // browser is already gone, else by the sweep of a later launch.
        self.proc.kill();
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
    }
}
