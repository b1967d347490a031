//! Drives one aiortc `RTCPeerConnection` from Rust tests through `tests/interop/aiortc_peer.py`.
//!
//! The script runs with the interpreter of `tests/interop/.venv`, the virtualenv `scripts/test`
//! creates with the pinned `tests/interop/requirements.txt`. It answers JSON-lines requests
//! (`{"id":N,"cmd":"answer","args":{"sdp":..}}`); the commands are listed in the script's
//! docstring.
//!
//! Unlike Chromium, aiortc runs in the test process's own network namespace: the script
//! restricts aiortc's candidate gathering to 127.0.0.1 and uses no STUN server (and refuses
//! to hand out a description with any other candidate), so it only talks over loopback, and
//! rtcpeer (which gathers on 127.0.0.1 by default) can reach it. `scripts/test` still runs
//! it inside the suite's loopback-only namespace.
//!
//! ```ignore
//! mod common;
//! use common::aiortc::Aiortc;
//!
//! let mut py = Aiortc::launch_or_panic().await;
//! py.call("create_pc", json!({})).await.unwrap();
//! let answer = py.call("answer", json!({ "sdp": offer.sdp })).await.unwrap();
//! let ev = py.call("next_event", json!({})).await.unwrap(); // {"type":"datachannel",...}
//! ```

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::process::Command;

use super::jsonl::{JsonLines, Names, RemoteError};

/// How long `launch` waits for the script's ready line (importing aiortc takes a second).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `call` waits for one reply.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `PyError::name` for failures of the script itself (it died, sent garbage, ...).
pub const SCRIPT_ERROR: &str = "ScriptError";
/// `PyError::name` when no reply came within the timeout.
pub const SCRIPT_TIMEOUT: &str = "ScriptTimeout";

/// An exception raised by a command in the script (its class name and message), or, with
/// the names [`SCRIPT_ERROR`] / [`SCRIPT_TIMEOUT`], a failure to get any reply.
pub type PyError = RemoteError;

const NAMES: Names = Names {
    who: "script",
    error: SCRIPT_ERROR,
    timeout: SCRIPT_TIMEOUT,
    unnamed: "Exception",
    echo_env: "RTCPEER_AIORTC_LOG",
    prefix: "[aiortc]",
};

/// One aiortc peer process. Dropping it kills the process; [`Aiortc::close`] ends it cleanly.
pub struct Aiortc {
    proc: JsonLines,
    version: String,
}

/// The repository's `tests/interop` directory.
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

fn missing_setup(what: &str) -> String {
    format!(
        "aiortc interop tests cannot run: {what}. Run `scripts/test` from the repository \
         root: it creates tests/interop/.venv with the aiortc pinned in \
         tests/interop/requirements.txt, then runs the whole suite in a loopback-only network \
         namespace."
    )
}

impl Aiortc {
    /// [`Aiortc::launch`], panicking with the readable launch error (for tests).
    pub async fn launch_or_panic() -> Aiortc {
        match Aiortc::launch().await {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts the script and waits for its ready line. Fails, never skips, when the venv or
    /// aiortc is missing.
    pub async fn launch() -> Result<Aiortc, String> {
        let interop = interop_dir();
        let python = interop.join(".venv/bin/python");
        let script = interop.join("aiortc_peer.py");
        if !python.exists() {
            return Err(missing_setup(&format!(
                "{} does not exist",
                python.display()
            )));
        }
        if !script.exists() {
            return Err(format!("{} does not exist", script.display()));
        }
        let child = Command::new(&python)
            .arg("-u")
            .arg(&script)
            .current_dir(&interop)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        match JsonLines::start(child, NAMES, LAUNCH_TIMEOUT).await {
            Ok((proc, ready)) => Ok(Aiortc {
                proc,
                version: ready["aiortc"].as_str().unwrap_or("unknown").to_owned(),
            }),
            Err(e) => {
                let hint = if e.contains("ModuleNotFoundError") {
                    format!("\n{}", missing_setup("aiortc is not installed in the venv"))
                } else {
                    String::new()
                };
                Err(format!("aiortc launch failed: {e}{hint}"))
            }
        }
    }

    /// The aiortc version the script imported, e.g. `1.16.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs one command (`args` is a JSON object of its arguments) and returns its result.
    pub async fn call(&mut self, cmd: &str, args: Value) -> Result<Value, PyError> {
        self.call_with_timeout(cmd, args, CALL_TIMEOUT).await
    }

    /// Like [`Aiortc::call`], panicking with the error and the script's stderr (for tests).
    pub async fn must(&mut self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args.clone()).await {
            Ok(v) => v,
            Err(e) => panic!(
                "aiortc {cmd} {args} failed: {e}\n--- script stderr ---\n{}",
                self.proc.tail()
            ),
        }
    }

    /// Like [`Aiortc::call`] with a caller-chosen reply timeout.
    pub async fn call_with_timeout(
        &mut self,
        cmd: &str,
        args: Value,
        timeout: Duration,
    ) -> Result<Value, PyError> {
        let mut request = Map::new();
        request.insert("cmd".into(), json!(cmd));
        request.insert("args".into(), args);
        self.proc.request(request, cmd, timeout).await
    }

    /// Closes stdin so the script closes its connection and exits; kills it after 10 s.
    pub async fn close(mut self) -> Result<(), String> {
        self.proc.close().await
    }
}
