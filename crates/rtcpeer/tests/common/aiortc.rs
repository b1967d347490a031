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

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long `launch` waits for the script's ready line (importing aiortc takes a second).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `call` waits for one reply.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of the script's last stderr lines are kept for error messages.
const LOG_LINES: usize = 200;

/// `PyError::name` for failures of the script itself (it died, sent garbage, ...).
pub const SCRIPT_ERROR: &str = "ScriptError";
/// `PyError::name` when no reply came within the timeout.
pub const SCRIPT_TIMEOUT: &str = "ScriptTimeout";

/// An exception raised by a command in the script (its class name and message), or, with
/// the names [`SCRIPT_ERROR`] / [`SCRIPT_TIMEOUT`], a failure to get any reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyError {
    /// The Python exception's class name, e.g. `InvalidStateError`.
    pub name: String,
    /// `str(exception)`.
    pub message: String,
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for PyError {}

/// One aiortc peer process. Dropping it kills the process; [`Aiortc::close`] ends it cleanly.
pub struct Aiortc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    version: String,
    log: Arc<Mutex<VecDeque<String>>>,
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

fn tail(log: &Mutex<VecDeque<String>>) -> String {
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    if log.is_empty() {
        return "(the script wrote nothing to stderr)".to_owned();
    }
    log.iter().cloned().collect::<Vec<_>>().join("\n")
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
        let mut child = Command::new(&python)
            .arg("-u")
            .arg(&script)
            .current_dir(&interop)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;

        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let stderr_task = child.stderr.take().map(|stderr| {
            let log = Arc::clone(&log);
            let echo = std::env::var_os("RTCPEER_AIORTC_LOG").is_some();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if echo {
                        eprintln!("[aiortc] {line}");
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == LOG_LINES {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        });
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("script spawned without piped stdin/stdout".to_owned());
        };
        let mut peer = Aiortc {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
            next_id: 1,
            version: String::new(),
            log,
        };
        let ready = tokio::time::timeout(LAUNCH_TIMEOUT, peer.stdout.next_line()).await;
        let failure = match ready {
            Ok(Ok(Some(line))) => match serde_json::from_str::<Value>(&line) {
                Ok(v) if v["ready"] == json!(true) => {
                    peer.version = v["aiortc"].as_str().unwrap_or("unknown").to_owned();
                    return Ok(peer);
                }
                _ => format!("unexpected first line from the script: {line:?}"),
            },
            Ok(Ok(None)) => "the script exited before it was ready".to_owned(),
            Ok(Err(e)) => format!("reading the script's stdout failed: {e}"),
            Err(_) => format!("the script was not ready within {LAUNCH_TIMEOUT:?}"),
        };
        let _ = peer.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), peer.child.wait()).await;
        if let Some(task) = stderr_task {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        let stderr = tail(&peer.log);
        let hint = if stderr.contains("ModuleNotFoundError") {
            format!("\n{}", missing_setup("aiortc is not installed in the venv"))
        } else {
            String::new()
        };
        Err(format!(
            "aiortc launch failed: {failure}{hint}\n--- script stderr ---\n{stderr}"
        ))
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
                tail(&self.log)
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
        let id = self.next_id;
        self.next_id += 1;
        let mut line = json!({ "id": id, "cmd": cmd, "args": args }).to_string();
        line.push('\n');
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.script_error("the script's stdin is closed"));
        };
        if let Err(e) = stdin.write_all(line.as_bytes()).await {
            return Err(self.script_error(&format!("writing to the script failed: {e}")));
        }
        if let Err(e) = stdin.flush().await {
            return Err(self.script_error(&format!("writing to the script failed: {e}")));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reply = match tokio::time::timeout_at(deadline, self.stdout.next_line()).await {
                Err(_) => {
                    return Err(PyError {
                        name: SCRIPT_TIMEOUT.to_owned(),
                        message: format!("no reply within {timeout:?} to {cmd}"),
                    });
                }
                Ok(Err(e)) => {
                    return Err(self.script_error(&format!("reading from the script failed: {e}")));
                }
                Ok(Ok(None)) => return Err(self.script_error("the script exited")),
                Ok(Ok(Some(reply))) => reply,
            };
            let Ok(v) = serde_json::from_str::<Value>(&reply) else {
                return Err(self.script_error(&format!("malformed reply line: {reply:?}")));
            };
            match v["id"].as_u64() {
                // A late reply to an earlier request that timed out.
                Some(got) if got < id => continue,
                Some(got) if got == id => {}
                _ => return Err(self.script_error(&format!("reply with unexpected id: {reply}"))),
            }
            if let Some(err) = v.get("error") {
                return Err(PyError {
                    name: err["name"].as_str().unwrap_or("Exception").to_owned(),
                    message: err["message"].as_str().unwrap_or("").to_owned(),
                });
            }
            return Ok(v.get("ok").cloned().unwrap_or(Value::Null));
        }
    }

    fn script_error(&self, what: &str) -> PyError {
        PyError {
            name: SCRIPT_ERROR.to_owned(),
            message: format!("{what}\n--- script stderr ---\n{}", tail(&self.log)),
        }
    }

    /// Closes stdin so the script closes its connection and exits; kills it after 10 s.
    pub async fn close(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("script exited with {status}\n{}", tail(&self.log))),
            Ok(Err(e)) => Err(format!("waiting for the script failed: {e}")),
            Err(_) => {
                let _ = self.child.start_kill();
                Err("script did not exit within 10 s of closing stdin; killed".to_owned())
            }
        }
    }
}

impl Drop for Aiortc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
