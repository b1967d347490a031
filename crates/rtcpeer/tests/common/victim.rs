//! The victim side of the adversarial tests (`tests/hostile_peer.rs`).
//!
//! [`Victim`] runs ordinary `PeerConnection`s on one dedicated thread with a current-thread
//! tokio runtime, so every cycle the victim spends is that thread's CPU time
//! ([`Victim::cpu_time`]). It hosts the connection the attacker talks to and the server end
//! of a legitimate connection whose client ([`LegitClient`]) lives on another thread and
//! measures echo latency while the attack runs ([`LegitClient::start_probe`]): a victim
//! that spends minutes on one attack packet, or holds a lock for that long, shows up there.
//!
//! The application on the victim echoes every message received on a channel whose label
//! starts with `echo`, and drops its handles to every other channel at once (as a server
//! that does not want them would).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, Payload, PeerConnection, PeerConnectionEvent,
    PeerConnectionState, SessionDescription,
};

use super::budget;
use super::net::wait_gathered;

/// A thread running a current-thread tokio runtime until dropped; work is handed to it with
/// [`RuntimeThread::run`].
pub struct RuntimeThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RuntimeThread {
    /// Starts the thread.
    pub fn start(name: &str) -> RuntimeThread {
        let (htx, hrx) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                htx.send(rt.handle().clone()).unwrap();
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
            })
            .unwrap();
        RuntimeThread {
            handle: hrx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs `f` on the thread's runtime and waits (blocking the caller) for its result.
    pub fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        self.run_within(Duration::from_secs(600), f)
            .expect("the runtime thread finished the task")
    }

    /// Like [`RuntimeThread::run`], but gives up (`None`) when the thread has not finished
    /// `f` within `limit`, e.g. because it is still busy with an attack.
    pub fn run_within<T: Send + 'static>(
        &self,
        limit: Duration,
        f: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv_timeout(limit).ok()
    }

    /// Spawns `f` on the thread's runtime without waiting.
    pub fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(f);
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // A victim stuck in an attack must not hang the test binary: detach after a while.
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Panics on the victim's thread so far (any test of the binary).
static VICTIM_PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts panics on threads named `victim` (tokio catches a task's panic, so without this a
/// panicking driver would only show as a connection that stops working), then reports them
/// as usual.
fn count_victim_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("victim") {
                VICTIM_PANICS.fetch_add(1, Ordering::Relaxed);
            }
            previous(info);
        }));
    });
}

/// Panics seen on victim threads since the binary started.
pub fn victim_panics() -> u64 {
    VICTIM_PANICS.load(Ordering::Relaxed)
}

/// What the victim application saw on the attacked connection.
#[derive(Debug, Default)]
pub struct VictimLog {
    /// `datachannel` events (channels the peer opened).
    pub channels: AtomicU64,
    /// The stream ids of those channels.
    pub channel_ids: Mutex<Vec<u16>>,
    /// Every `connectionstatechange`, in order.
    pub states: Mutex<Vec<PeerConnectionState>>,
}

/// The victim: the attacked connection and the server end of the legitimate one, on one
/// thread. See the module documentation.
pub struct Victim {
    /// The thread all of the victim's connections run on.
    pub rt: RuntimeThread,
    /// The connection the attacker talks to.
    pub pc: PeerConnection,
    /// What the application saw on `pc`.
    pub log: Arc<VictimLog>,
    legit: PeerConnection,
}

impl Victim {
    /// Starts the victim thread with its two connections (not negotiated yet).
    pub fn start() -> Victim {
        count_victim_panics();
        let rt = RuntimeThread::start("victim");
        let log = Arc::new(VictimLog::default());
        let l = log.clone();
        let (pc, legit) = rt.run(async move {
            let pc = PeerConnection::new(Configuration::default()).expect("victim pc");
            let legit = PeerConnection::new(Configuration::default()).expect("legit pc");
            serve_echo(&pc, Some(l));
            serve_echo(&legit, None);
            (pc, legit)
        });
        Victim { rt, pc, log, legit }
    }

    /// CPU time the victim thread has used so far (read on that thread, so it waits until
    /// the thread is free to answer).
    pub fn cpu_time(&self) -> Duration {
        self.rt.run(async { budget::thread_cpu_time() })
    }

    /// Starts a heap measurement on the victim thread; returns what it holds now.
    pub fn heap_start(&self) -> isize {
        self.rt.run(async {
            budget::reset_thread_peak();
            budget::thread_live_bytes()
        })
    }

    /// What the victim thread holds now and the most it held since [`Victim::heap_start`].
    pub fn heap_now_and_peak(&self) -> (isize, isize) {
        self.rt
            .run(async { (budget::thread_live_bytes(), budget::thread_peak_bytes()) })
    }

    /// [`Victim::cpu_time`], or `None` if the victim thread is still busy after `limit`.
    pub fn cpu_time_within(&self, limit: Duration) -> Option<Duration> {
        self.rt
            .run_within(limit, async { budget::thread_cpu_time() })
    }

    /// Applies a remote offer to the attacked connection and returns its answer (with every
    /// candidate: gathering completes first).
    pub fn answer(&self, offer: SessionDescription) -> String {
        answer_on(&self.rt, &self.pc, offer)
    }

    /// Makes the attacked connection the offerer: it creates a channel of its own
    /// (`victim-own`), and its offer (with every candidate) is returned.
    pub fn offer(&self) -> String {
        let pc = self.pc.clone();
        self.rt.run(async move {
            pc.create_data_channel("victim-own", None).expect("channel");
            pc.set_local_description(None).await.expect("victim SLD");
            wait_gathered(&pc).await;
            pc.local_description().expect("offer").sdp
        })
    }

    /// Applies the attacker's answer to the attacked connection.
    pub fn accept(&self, answer: SessionDescription) {
        let pc = self.pc.clone();
        self.rt.run(async move {
            pc.set_remote_description(answer)
                .await
                .expect("victim SRD(answer)")
        })
    }

    /// The attacked connection's state.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.pc.connection_state()
    }
}

/// SRD(offer), SLD(answer), wait for gathering, on `rt`; returns the answer's SDP.
fn answer_on(rt: &RuntimeThread, pc: &PeerConnection, offer: SessionDescription) -> String {
    let pc = pc.clone();
    rt.run(async move {
        pc.set_remote_description(offer).await.expect("victim SRD");
        pc.set_local_description(None).await.expect("victim SLD");
        wait_gathered(&pc).await;
        pc.local_description().expect("answer").sdp
    })
}

/// The victim application: echo on `echo*` channels, drop the others, log what happened.
fn serve_echo(pc: &PeerConnection, log: Option<Arc<VictimLog>>) {
    let mut ev = pc.events();
    tokio::spawn(async move {
        while let Some(e) = ev.recv().await {
            match e {
                PeerConnectionEvent::DataChannel(dc) => {
                    if let Some(l) = &log {
                        l.channels.fetch_add(1, Ordering::Relaxed);
                        if let Some(id) = dc.id() {
                            l.channel_ids.lock().unwrap().push(id);
                        }
                    }
                    if dc.label().starts_with("echo") {
                        tokio::spawn(echo(dc));
                    }
                }
                PeerConnectionEvent::ConnectionStateChange(s) => {
                    if let Some(l) = &log {
                        l.states.lock().unwrap().push(s);
                    }
                }
                _ => {}
            }
        }
    });
}

async fn echo(dc: DataChannel) {
    let mut ev = dc.events();
    while let Some(e) = ev.recv().await {
        if let DataChannelEvent::Message(p) = e {
            let _ = match p {
                Payload::Text(t) => dc.send_text(&t),
                Payload::Binary(b) => dc.send_owned(b),
            };
        }
    }
}

/// The client end of the legitimate connection, on its own thread.
pub struct LegitClient {
    rt: RuntimeThread,
    dc: DataChannel,
    _pc: PeerConnection,
}

/// Echo round trips of the legitimate connection during an attack.
#[derive(Debug, Clone)]
pub struct EchoStats {
    /// Round trips measured.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile (the largest but one only with more than 100 samples).
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// A running echo probe; [`Probe::finish`] stops it and returns the figures.
pub struct Probe {
    stop: Arc<AtomicBool>,
    rx: mpsc::Receiver<Vec<Duration>>,
}

/// Longest wait for one echo before it counts as this long and the probe moves on.
const ECHO_GIVE_UP: Duration = Duration::from_secs(30);

impl Probe {
    /// Stops the probe (once it has its minimum of round trips) and returns the statistics.
    pub fn finish(self) -> EchoStats {
        self.stop.store(true, Ordering::Relaxed);
        let mut rtts = self
            .rx
            .recv_timeout(Duration::from_secs(600))
            .expect("the probe ends");
        rtts.sort();
        let n = rtts.len();
        assert!(n > 0, "no echo measured");
        let at = |q: f64| rtts[(((n as f64) * q).ceil() as usize).clamp(1, n) - 1];
        EchoStats {
            count: n,
            p50: at(0.5),
            p99: at(0.99),
            max: rtts[n - 1],
        }
    }
}

impl LegitClient {
    /// Connects a client on its own thread to the victim's legitimate connection (the client
    /// offers a channel `echo-legit`) and waits until the channel is open.
    pub fn connect(victim: &Victim) -> LegitClient {
        let rt = RuntimeThread::start("legit-client");
        let (pc, dc, offer) = rt.run(async {
            let pc = PeerConnection::new(Configuration::default()).expect("client pc");
            let dc = pc.create_data_channel("echo-legit", None).expect("channel");
            pc.set_local_description(None).await.expect("client SLD");
            wait_gathered(&pc).await;
            let offer = pc.local_description().expect("offer");
            (pc, dc, offer)
        });
        let answer = answer_on(&victim.rt, &victim.legit, offer);
        let (p, d) = (pc.clone(), dc.clone());
        rt.run(async move {
            p.set_remote_description(SessionDescription::new(rtcpeer::SdpType::Answer, answer))
                .await
                .expect("client SRD");
            let mut ev = d.events();
            super::net::within("the legitimate channel to open", async {
                while d.ready_state() != rtcpeer::DataChannelState::Open {
                    ev.recv().await;
                }
            })
            .await;
        });
        LegitClient { rt, dc, _pc: pc }
    }

    /// Starts sending small messages one after the other (10 ms apart) and timing their
    /// echoes, until [`Probe::finish`] (at least `min` samples are always taken).
    pub fn start_probe(&self, min: usize) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (dc, s) = (self.dc.clone(), stop.clone());
        self.rt.spawn(async move {
            let mut ev = dc.events();
            let mut rtts = Vec::new();
            let mut i = 0u64;
            while rtts.len() < min || !s.load(Ordering::Relaxed) {
                let text = format!("probe {i}");
                i += 1;
                let t0 = Instant::now();
                if dc.send_text(&text).is_err() {
                    // The legitimate connection died (e.g. its consent expired while the
                    // victim was stuck): that is the worst latency there is.
                    rtts.push(ECHO_GIVE_UP);
                    break;
                }
                let got = tokio::time::timeout(ECHO_GIVE_UP, async {
                    while let Some(e) = ev.recv().await {
                        if matches!(&e, DataChannelEvent::Message(Payload::Text(t)) if *t == text) {
                            return true;
                        }
                    }
                    false
                })
                .await;
                rtts.push(match got {
                    Ok(true) => t0.elapsed(),
                    _ => ECHO_GIVE_UP,
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = tx.send(rtts);
        });
        Probe { stop, rx }
    }
}
