//! A helper process spoken to in JSON lines, as the Chromium driver (`tests/interop/driver.mjs`)
//! and the aiortc peer (`tests/interop/aiortc_peer.py`) both are: a first line
//! `{"ready": true, ...}`, then one request per line carrying an `id`, answered by one line
//! `{"id": .., "ok": value}` or `{"id": .., "error": {"name", "message"}}`. The process's
//! stderr is kept (its last lines) for error messages.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How many of the process's last stderr lines are kept for error messages.
const LOG_LINES: usize = 200;

/// An error raised by a request in the process (its name and message), or, with the names in
/// [`Names::error`] / [`Names::timeout`], a failure to get any reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// The error's name, e.g. `InvalidStateError`.
    pub name: String,
    /// Its message.
    pub message: String,
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for RemoteError {}

/// How one kind of helper process is named in messages and errors.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    /// What the process is, in messages: "driver", "script".
    pub who: &'static str,
    /// [`RemoteError::name`] when the process itself failed (died, sent garbage, ...).
    pub error: &'static str,
    /// [`RemoteError::name`] when no reply came in time.
    pub timeout: &'static str,
    /// The name of a reported error that carries none.
    pub unnamed: &'static str,
    /// Environment variable that, when set, echoes the process's stderr with `prefix`.
    pub echo_env: &'static str,
    /// Prefix of echoed stderr lines.
    pub prefix: &'static str,
}

/// One running helper process.
pub struct JsonLines {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    log: Arc<Mutex<VecDeque<String>>>,
    names: Names,
}

impl JsonLines {
    /// Takes over a child spawned with piped stdin, stdout and stderr and waits for its ready
    /// line, which is returned. On failure the child is killed and the error tells why, with
    /// the end of its stderr.
    pub async fn start(
        mut child: Child,
        names: Names,
        launch_timeout: Duration,
    ) -> Result<(JsonLines, Value), String> {
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let stderr_task = child.stderr.take().map(|stderr| {
            let log = Arc::clone(&log);
            let echo = std::env::var_os(names.echo_env).is_some();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if echo {
                        eprintln!("{} {line}", names.prefix);
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
            return Err(format!("{} spawned without piped stdin/stdout", names.who));
        };
        let mut p = JsonLines {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
            next_id: 1,
            log,
            names,
        };
        let who = names.who;
        let ready = tokio::time::timeout(launch_timeout, p.stdout.next_line()).await;
        let failure = match ready {
            Ok(Ok(Some(line))) => match serde_json::from_str::<Value>(&line) {
                Ok(v) if v["ready"] == json!(true) => return Ok((p, v)),
                _ => format!("unexpected first line from the {who}: {line:?}"),
            },
            Ok(Ok(None)) => format!("the {who} exited before it was ready"),
            Ok(Err(e)) => format!("reading the {who}'s stdout failed: {e}"),
            Err(_) => format!("the {who} was not ready within {launch_timeout:?}"),
        };
        let _ = p.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), p.child.wait()).await;
        if let Some(task) = stderr_task {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        Err(format!("{failure}\n--- {who} stderr ---\n{}", p.tail()))
    }

    /// Sends `request` (its fields; the `id` is added) and waits up to `timeout` for its
    /// reply. `what` names the request in the timeout error. Late replies to earlier requests
    /// that timed out are skipped.
    pub async fn request(
        &mut self,
        mut request: Map<String, Value>,
        what: &str,
        timeout: Duration,
    ) -> Result<Value, RemoteError> {
        let id = self.next_id;
        self.next_id += 1;
        request.insert("id".into(), json!(id));
        let mut line = Value::Object(request).to_string();
        line.push('\n');
        let who = self.names.who;
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.failure(&format!("the {who}'s stdin is closed")));
        };
        let written = match stdin.write_all(line.as_bytes()).await {
            Ok(()) => stdin.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            return Err(self.failure(&format!("writing to the {who} failed: {e}")));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reply = match tokio::time::timeout_at(deadline, self.stdout.next_line()).await {
                Err(_) => {
                    return Err(RemoteError {
                        name: self.names.timeout.to_owned(),
                        message: format!("no reply within {timeout:?} to: {what}"),
                    });
                }
                Ok(Err(e)) => {
                    return Err(self.failure(&format!("reading from the {who} failed: {e}")));
                }
                Ok(Ok(None)) => return Err(self.failure(&format!("the {who} exited"))),
                Ok(Ok(Some(reply))) => reply,
            };
            let Ok(v) = serde_json::from_str::<Value>(&reply) else {
                return Err(self.failure(&format!("malformed reply line: {reply:?}")));
            };
            match v["id"].as_u64() {
                // A late reply to an earlier request that timed out.
                Some(got) if got < id => continue,
                Some(got) if got == id => {}
                _ => return Err(self.failure(&format!("reply with unexpected id: {reply}"))),
            }
            if let Some(err) = v.get("error") {
                return Err(RemoteError {
                    name: err["name"]
                        .as_str()
                        .unwrap_or(self.names.unnamed)
                        .to_owned(),
                    message: err["message"].as_str().unwrap_or("").to_owned(),
                });
            }
            return Ok(v.get("ok").cloned().unwrap_or(Value::Null));
        }
    }

    /// The process's last stderr lines.
    pub fn tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.is_empty() {
            return format!("(the {} wrote nothing to stderr)", self.names.who);
        }
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// A failure of the process itself, with the end of its stderr.
    fn failure(&self, what: &str) -> RemoteError {
        RemoteError {
            name: self.names.error.to_owned(),
            message: format!("{what}\n--- {} stderr ---\n{}", self.names.who, self.tail()),
        }
    }

    /// Closes stdin so the process finishes and exits; kills it after 10 s.
    pub async fn close(&mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let who = self.names.who;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("{who} exited with {status}\n{}", self.tail())),
            Ok(Err(e)) => Err(format!("waiting for the {who} failed: {e}")),
            Err(_) => {
                let _ = self.child.start_kill();
                Err(format!(
                    "{who} did not exit within 10 s of closing stdin; killed"
                ))
            }
        }
    }

    /// Kills the process now.
    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Drop for JsonLines {
    fn drop(&mut self) {
        self.kill();
    }
}
