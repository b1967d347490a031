//! `--stats-page`: a small local web page that draws each connection's states, selected
//! candidate pair and graphs over time, like Chromium's `webrtc-internals` (issue 14).
//!
//! The server listens on 127.0.0.1 only. Once a second a sampler task calls
//! [`PeerConnection::get_stats`] on every watched connection (one call each: a copy of
//! counters under the core's lock, so the data path is not disturbed) and pushes one JSON
//! sample to every open page over a WebSocket:
//!
//! ```json
//! {"time": 1765150000000.0, "connections": [{
//!   "name": "alice",
//!   "states": {"signaling": "stable", "iceConnection": "connected", "iceGathering": "complete",
//!              "connection": "connected", "dtls": "connected"},
//!   "channels": [{"label": "bulk", "id": 1, "state": "open", "bufferedAmount": 1048576}],
//!   "stats": [ ...the getStats() report entries, as the browser's JSON... ]}]}
//! ```
//!
//! The report is sent raw (minus `certificate` entries, which the page does not use and which
//! are large); the page computes rates from the counters and their timestamps, as
//! `webrtc-internals` does. `channels` carries `bufferedAmount`, which `RTCDataChannelStats`
//! lacks. The last [`HISTORY`] samples are kept, so a page opened late still draws what
//! happened before. The WebSocket answers only the page's own `Origin` (other sites open in
//! the same browser could otherwise read the stats).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rtcpeer::{DataChannel, Error, PeerConnection, Result};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Samples kept for pages that open late (3 minutes at one per second); the page draws the
/// same window.
pub const HISTORY: usize = 180;
/// Time between two samples of a connection.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Samples a slow page may fall behind before it skips some (a broadcast lag).
const BACKLOG: usize = 16;

const INDEX_HTML: &str = include_str!("../assets/stats/index.html");
const STATS_JS: &str = include_str!("../assets/stats/stats.js");
const STATS_CSS: &str = include_str!("../assets/stats/stats.css");
const UPLOT_JS: &str = include_str!("../assets/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/vendor/uplot/uPlot.min.css");

/// One connection the page shows, with the data channels whose buffered amount it graphs.
struct Watched {
    name: String,
    pc: PeerConnection,
    channels: Vec<DataChannel>,
}

/// What the server, the sampler and the WebSocket handlers share.
struct Hub {
    watched: Mutex<Vec<Watched>>,
    /// The last samples, as sent; the lock also orders "push + broadcast" against
    /// "subscribe + copy" so a new page neither misses nor repeats a sample.
    history: Mutex<VecDeque<Arc<str>>>,
    samples: broadcast::Sender<Arc<str>>,
    /// The `Origin`s a browser may open the WebSocket from: the page's own.
    origins: [String; 2],
}

/// A running stats page: its server and sampler stop when this is dropped.
pub struct StatsPage {
    url: String,
    hub: Arc<Hub>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StatsPage {
    /// Serves the page on `127.0.0.1:port` (0: any free port) and starts sampling, once per
    /// `interval`, the connections given later to [`StatsPage::watch`].
    pub async fn start(port: u16, interval: Duration) -> Result<StatsPage> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| {
                Error::operation(format!("stats page: cannot listen on port {port}: {e}"))
            })?;
        let addr: SocketAddr = listener
            .local_addr()
            .map_err(|e| Error::operation(format!("stats page: {e}")))?;
        let hub = Arc::new(Hub {
            watched: Mutex::new(Vec::new()),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            samples: broadcast::channel(BACKLOG).0,
            origins: [
                format!("http://127.0.0.1:{}", addr.port()),
                format!("http://localhost:{}", addr.port()),
            ],
        });
        let app = router(hub.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("rtcpeer: stats page server stopped: {e}");
            }
        });
        let sampler = tokio::spawn(sample_loop(hub.clone(), interval));
        Ok(StatsPage {
            url: format!("http://{addr}/"),
            hub,
            tasks: vec![server, sampler],
        })
    }

    /// The page's address, `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Shows `pc` on the page under `name` (one panel per connection, in call order).
    pub fn watch(&self, name: &str, pc: &PeerConnection) {
        lock(&self.hub.watched).push(Watched {
            name: name.to_string(),
            pc: pc.clone(),
            channels: Vec::new(),
        });
    }

    /// Graphs the buffered amount of `dc` in the panel of connection `name`.
    pub fn watch_channel(&self, name: &str, dc: &DataChannel) {
        if let Some(w) = lock(&self.hub.watched).iter_mut().find(|w| w.name == name) {
            w.channels.push(dc.clone());
        }
    }
}

impl Drop for StatsPage {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Locks a mutex that no holder can leave poisoned (no code under these locks panics).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn router(hub: Arc<Hub>) -> Router {
    let asset = |body: &'static str, mime: &'static str| {
        get(move || async move {
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
        })
    };
    Router::new()
        .route("/", asset(INDEX_HTML, "text/html; charset=utf-8"))
        .route(
            "/stats.js",
            asset(STATS_JS, "text/javascript; charset=utf-8"),
        )
        .route("/stats.css", asset(STATS_CSS, "text/css; charset=utf-8"))
        .route(
            "/vendor/uPlot.iife.min.js",
            asset(UPLOT_JS, "text/javascript; charset=utf-8"),
        )
        .route(
            "/vendor/uPlot.min.css",
            asset(UPLOT_CSS, "text/css; charset=utf-8"),
        )
        .route("/ws", get(websocket))
        .with_state(hub)
}

/// Opens the sample stream. A browser sends the `Origin` of the page that opens a WebSocket
/// (RFC 6455 §4.1, §10.2) and WebSockets are not bound by the same-origin policy: any other
/// site open in the browser could read the stats (addresses, ICE usernames), so only the
/// page's own origin is served. A request without `Origin` comes from no browser page.
async fn websocket(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    State(hub): State<Arc<Hub>>,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !hub
            .origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
        {
            return (StatusCode::FORBIDDEN, "the stats page's own origin only\n").into_response();
        }
    }
    ws.on_upgrade(move |socket| feed(socket, hub))
        .into_response()
}

/// Sends the history, then every new sample, until the page goes away.
async fn feed(mut socket: WebSocket, hub: Arc<Hub>) {
    let (mut rx, past) = {
        let history = lock(&hub.history);
        (
            hub.samples.subscribe(),
            history.iter().cloned().collect::<Vec<_>>(),
        )
    };
    for s in past {
        if socket.send(Message::Text(s.as_ref().into())).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            s = rx.recv() => match s {
                Ok(s) => {
                    if socket.send(Message::Text(s.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                // A page too slow to keep up skips samples; its graphs show a gap.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            m = socket.recv() => match m {
                // The page sends nothing; whatever it sends is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn sample_loop(hub: Arc<Hub>, interval: Duration) {
    // The first sample one interval after the start, when the connections are watched.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sample: Arc<str> = sample(&hub).await.to_string().into();
        let mut history = lock(&hub.history);
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(sample.clone());
        // No page open is not an error.
        let _ = hub.samples.send(sample);
    }
}

/// One sample of every watched connection (see the module documentation for its shape).
async fn sample(hub: &Hub) -> Value {
    let watched: Vec<(String, PeerConnection, Vec<DataChannel>)> = lock(&hub.watched)
        .iter()
        .map(|w| (w.name.clone(), w.pc.clone(), w.channels.clone()))
        .collect();
    let mut connections = Vec::with_capacity(watched.len());
    for (name, pc, channels) in watched {
        connections.push(connection_sample(&name, &pc, &channels).await);
    }
    let time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    json!({ "time": time, "connections": connections })
}

async fn connection_sample(name: &str, pc: &PeerConnection, channels: &[DataChannel]) -> Value {
    let stats: Vec<Value> = match pc.get_stats(None).await {
        Ok(report) => report
            .iter()
            .filter(|s| s.type_name() != "certificate")
            .map(|s| s.to_json())
            .collect(),
        Err(_) => Vec::new(),
    };
    // The DTLS state of the transport the selected pair belongs to (the first transport
    // before one is selected): RTCDtlsTransportState, as the transport stats carry it.
    let dtls = stats
        .iter()
        .filter(|s| s["type"] == "transport")
        .max_by_key(|s| s.get("selectedCandidatePairId").is_some())
        .and_then(|s| s["dtlsState"].as_str())
        .unwrap_or("new")
        .to_string();
    let channels: Vec<Value> = channels
        .iter()
        .map(|dc| {
            json!({
                "label": dc.label(),
                "id": dc.id(),
                "state": dc.ready_state().as_str(),
                "bufferedAmount": dc.buffered_amount(),
            })
        })
        .collect();
    json!({
        "name": name,
        "states": {
            "signaling": pc.signaling_state().as_str(),
            "iceConnection": pc.ice_connection_state().as_str(),
            "iceGathering": pc.ice_gathering_state().as_str(),
            "connection": pc.connection_state().as_str(),
            "dtls": dtls,
        },
        "channels": channels,
        "stats": stats,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use rtcpeer::Configuration;

    use super::*;

    /// `GET path` over HTTP/1.1 on a fresh blocking connection: (status line, headers, body).
    fn http_get(url: &str, path: &str) -> (String, String, Vec<u8>) {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
        (
            status.to_string(),
            headers.to_lowercase(),
            raw[split + 4..].to_vec(),
        )
    }

    /// The server's routes serve the page and every asset it links, with their types, and
    /// nothing else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn routes_serve_the_page_and_its_assets() {
        let page = StatsPage::start(0, INTERVAL).await.unwrap();
        assert!(
            page.url().starts_with("http://127.0.0.1:"),
            "{}",
            page.url()
        );
        let url = page.url().to_string();
        let checks = tokio::task::spawn_blocking(move || {
            let cases = [
                ("/", "text/html", INDEX_HTML),
                ("/stats.js", "text/javascript", STATS_JS),
                ("/stats.css", "text/css", STATS_CSS),
                ("/vendor/uPlot.iife.min.js", "text/javascript", UPLOT_JS),
                ("/vendor/uPlot.min.css", "text/css", UPLOT_CSS),
            ];
            for (path, mime, body) in cases {
                let (status, headers, got) = http_get(&url, path);
                assert!(status.contains(" 200 "), "{path}: {status}");
                assert!(
                    headers.contains(&format!("content-type: {mime}")),
                    "{path}: {headers}"
                );
                assert_eq!(got, body.as_bytes(), "{path}");
            }
            // The page links exactly these assets (no CDN: it must work offline).
            for link in [
                "stats.js",
                "stats.css",
                "vendor/uPlot.iife.min.js",
                "vendor/uPlot.min.css",
            ] {
                assert!(INDEX_HTML.contains(&format!("\"{link}\"")), "{link}");
            }
            assert!(!INDEX_HTML.contains("://"), "no external URL in the page");
            let (status, _, _) = http_get(&url, "/nothing-here");
            assert!(status.contains(" 404 "), "{status}");
        });
        checks.await.unwrap();
    }

    /// Reads one WebSocket frame sent by the server (unmasked, RFC 6455 §5.2): (opcode, payload).
    fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        s.read_exact(&mut head).unwrap();
        assert_eq!(
            head[1] & 0x80,
            0,
            "server frames are not masked (RFC 6455 §5.1)"
        );
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                s.read_exact(&mut b).unwrap();
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                s.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        assert!(len < 16 << 20, "frame of {len} bytes");
        let mut payload = vec![0u8; len as usize];
        s.read_exact(&mut payload).unwrap();
        assert_eq!(head[0] & 0x80, 0x80, "one frame per sample (FIN set)");
        (head[0] & 0x0f, payload)
    }

    /// Sends a WebSocket opening handshake by hand (RFC 6455 §4.1), with `origin` if given;
    /// returns the stream and the response head (lowercase).
    fn ws_handshake(url: &str, origin: Option<&str>) -> (TcpStream, String) {
        let addr = url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        write!(
            s,
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        (s, String::from_utf8(head).unwrap().to_lowercase())
    }

    /// Opens the WebSocket (no `Origin`, as a non-browser client) and returns the stream
    /// after the 101.
    fn ws_connect(url: &str) -> TcpStream {
        let (s, head) = ws_handshake(url, None);
        assert!(head.starts_with("http/1.1 101"), "{head}");
        // The accept value of RFC 6455 §1.3's example key.
        assert!(
            head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{head}"
        );
        s
    }

    /// A WebSocket client receives, once a second, a JSON sample with the connection's name,
    /// its five states, its channels with `bufferedAmount`, and its getStats() entries; a
    /// client that connects later first receives the kept history.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn websocket_pushes_samples_with_states_channels_and_stats() {
        let page = StatsPage::start(0, Duration::from_millis(200))
            .await
            .unwrap();
        let pc = PeerConnection::new(Configuration::default()).unwrap();
        let dc = pc.create_data_channel("chat", None).unwrap();
        page.watch("solo", &pc);
        page.watch_channel("solo", &dc);
        let url = page.url().to_string();
        let samples = tokio::task::spawn_blocking(move || {
            let mut s = ws_connect(&url);
            let mut out = Vec::new();
            while out.len() < 2 {
                let (op, payload) = read_frame(&mut s);
                assert_eq!(op, 1, "samples are text frames");
                out.push(serde_json::from_slice::<Value>(&payload).unwrap());
            }
            out
        })
        .await
        .unwrap();
        for v in &samples {
            assert!(v["time"].as_f64().unwrap() > 1.6e12, "{v}");
            let c = &v["connections"][0];
            assert_eq!(c["name"], "solo");
            assert_eq!(c["states"]["signaling"], "stable");
            assert_eq!(c["states"]["iceConnection"], "new");
            assert_eq!(c["states"]["iceGathering"], "new");
            assert_eq!(c["states"]["connection"], "new");
            assert_eq!(c["states"]["dtls"], "new");
            assert_eq!(c["channels"][0]["label"], "chat");
            assert_eq!(c["channels"][0]["state"], "connecting");
            assert_eq!(c["channels"][0]["bufferedAmount"], 0);
            let stats = c["stats"].as_array().unwrap();
            assert!(
                stats.iter().any(|s| s["type"] == "peer-connection"),
                "{stats:?}"
            );
            assert!(stats.iter().all(|s| s["type"] != "certificate"));
        }
        assert!(samples[1]["time"].as_f64() > samples[0]["time"].as_f64());

        // A page opened later gets the history first: at least the two samples above.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let kept = lock(&page.hub.history).len();
        assert!(kept >= 2, "{kept}");
        let url = page.url().to_string();
        let first = tokio::task::spawn_blocking(move || {
            let mut s = ws_connect(&url);
            serde_json::from_slice::<Value>(&read_frame(&mut s).1).unwrap()
        })
        .await
        .unwrap();
        assert!(first["time"].as_f64() <= samples[0]["time"].as_f64());
        pc.close();
    }

    /// A browser page of another origin cannot open the sample stream; the page's own origin
    /// (as 127.0.0.1 or localhost) can.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn websocket_refuses_other_origins() {
        let page = StatsPage::start(0, INTERVAL).await.unwrap();
        let url = page.url().to_string();
        let port: u16 = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        tokio::task::spawn_blocking(move || {
            for evil in [
                "http://evil.example".to_string(),
                format!("http://evil.example:{port}"),
                format!("http://127.0.0.1:{}", port ^ 1),
                format!("https://127.0.0.1:{port}"),
                "null".to_string(),
            ] {
                let (_, head) = ws_handshake(&url, Some(&evil));
                assert!(head.starts_with("http/1.1 403"), "{evil}: {head}");
            }
            for own in [
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ] {
                let (_, head) = ws_handshake(&url, Some(&own));
                assert!(head.starts_with("http/1.1 101"), "{own}: {head}");
            }
        })
        .await
        .unwrap();
    }

    /// The history keeps the last [`HISTORY`] samples and no more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_is_bounded() {
        let page = StatsPage::start(0, Duration::from_millis(1)).await.unwrap();
        let mut rx = page.hub.samples.subscribe();
        let mut produced = 0;
        while produced < HISTORY + 20 {
            produced += match rx.recv().await {
                Ok(_) => 1,
                Err(broadcast::error::RecvError::Lagged(n)) => n as usize,
                Err(e) => panic!("{e}"),
            };
        }
        assert_eq!(lock(&page.hub.history).len(), HISTORY);
    }
}
