//! The runtime driver: one Tokio task per connection that owns its UDP sockets and its
//! timer, feeds the sans-IO core datagrams and time, and sends what the core produces.
//!
//! The task starts lazily, on the first API call after which the core has an ICE agent
//! (the first setLocalDescription with m-lines), so `PeerConnection::new` stays synchronous
//! and cheap; with `iceCandidatePoolSize` > 0 it starts at construction (or when
//! setConfiguration raises the pool size), so the sockets are bound and the STUN host names
//! resolved before the first setLocalDescription (RFC 9429 §3.5.4).
//!
//! At start it resolves the STUN servers given by host name (concurrently, bounded by
//! `IceSettings::stun_resolve_timeout`; names under the reserved `.invalid` TLD fail without
//! a query, RFC 6761 §6.4), then binds its sockets, and hands both to the core in one
//! gathering phase. It holds only a `Weak` of the connection, never across an `.await`, and
//! stops when `close()` is called or the connection is dropped (both signal it through
//! [`DriverShared`]). API calls that change the core wake it through a `Notify`, so output
//! caused by a state change leaves at once instead of at the next timer tick.
//!
//! Its local addresses come from `IceSettings` ([`HostGathering`]): the explicit
//! `interfaces` list when not empty, else the machine's interfaces enumerated (getifaddrs
//! through `if-addrs`) and filtered by the pure [`select_host_addresses`]; or, with a
//! [`UdpMux`], the mux's one shared socket instead of sockets of its own.
//!
//! TURN over TCP and TLS (`turn:...?transport=tcp`, `turns:`): at start, concurrently with
//! the STUN lookups, it also opens the connections to those servers (`turn_stream.rs`,
//! bounded by `IceSettings::turn_connect_timeout`) and reports them in the same gathering
//! phase; their messages travel as datagrams between the connection's local address and
//! the server, and a lost connection is reported to the core. Connections are opened once,
//! at start: a TCP/TLS server added later by `setConfiguration` is not connected.
//!
//! Remote `.local` candidates: with `IceSettings::mdns` the task also owns an mDNS socket
//! ([`MdnsSocket`], opened at the first name, on the IPv4 local addresses) and resolves the
//! names the core asks for; without it every such name is refused at once, so nothing sends
//! mDNS. With `IceSettings::hide_host_addresses` the same socket answers for our own hidden
//! host names and says goodbye to them when the task stops.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use rtcpeer_proto::InterfaceFilter;
use rtcpeer_proto::io::{MAX_LOCAL_INTERFACES, NetInterface, select_host_addresses};
use rtcpeer_proto::jsep::{Core, Event, Input, IoRequest, Output, StunHostName};

use super::Inner;
use super::datachannel::drain_pending;
use super::mdns_socket::MdnsSocket;
use super::mux::{MuxConn, MuxDatagram, UdpMux};
use super::tcp::{IceTcpSettings, TcpIo};
use super::turn_stream::{Connected, StreamInput, TurnStreams, connect_all};
use super::udp::{BatchSocket, TxBatch};

/// Receive buffer for the opt-in mDNS socket: an mDNS message is at most 9000 bytes
/// (RFC 6762 §17).
const MDNS_RECV_BUFFER: usize = 9000;

/// Where the network task gets its local addresses (from `IceSettings`).
#[derive(Debug, Clone)]
pub(crate) struct HostGathering {
    /// Explicit addresses, used as they are when not empty.
    pub(crate) interfaces: Vec<IpAddr>,
    /// Applied to the enumerated interfaces when `interfaces` is empty.
    pub(crate) filter: InterfaceFilter,
    /// A shared socket instead of sockets of the connection's own.
    pub(crate) mux: Option<UdpMux>,
    /// ICE-TCP listeners and limits (`api/tcp.rs`); not used with a mux.
    pub(crate) tcp: IceTcpSettings,
}

impl HostGathering {
    /// The addresses to bind sockets on (without a mux).
    fn addresses(&self) -> Vec<IpAddr> {
        if !self.interfaces.is_empty() {
            return self.interfaces.clone();
        }
        let list = match if_addrs::get_if_addrs() {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!("cannot enumerate the network interfaces: {e}");
                return Vec::new();
            }
        };
        let list: Vec<NetInterface> = list
            .into_iter()
            .map(|i| NetInterface {
                up: i.is_oper_up(),
                loopback: i.is_loopback(),
                addr: i.ip(),
                name: i.name,
            })
            .collect();
        select_host_addresses(&list, &self.filter)
    }
}

/// Datagrams read in one wake-up (one lock of the core) before the output they caused is
/// flushed.
const RECV_BUDGET: usize = 128;

/// What the API side and the driver task share: the wake-up and the stop signal.
#[derive(Debug)]
pub(crate) struct DriverShared {
    notify: Notify,
    stop: AtomicBool,
    /// The core asked for a driver (`IoRequest::Start`); it starts once a runtime is there.
    start_requested: AtomicBool,
    started: AtomicBool,
    /// `true` once the task ended and its sockets are closed (or it never started and
    /// never will).
    finished: watch::Sender<bool>,
    /// The local addresses of the bound sockets (at most `MAX_LOCAL_INTERFACES`).
    bound: watch::Sender<Vec<SocketAddr>>,
}

impl Default for DriverShared {
    fn default() -> Self {
        DriverShared {
            notify: Notify::new(),
            stop: AtomicBool::new(false),
            start_requested: AtomicBool::new(false),
            started: AtomicBool::new(false),
            finished: watch::Sender::new(false),
            bound: watch::Sender::new(Vec::new()),
        }
    }
}

/// A view of a connection's network task (its sockets and timers), for diagnostics and
/// tests: whether it runs, and a way to wait until it has stopped. Holds no reference to
/// the connection.
#[derive(Debug, Clone)]
pub struct NetworkTask {
    shared: Arc<DriverShared>,
}

impl NetworkTask {
    /// Whether the task was started and has not ended yet.
    pub fn is_running(&self) -> bool {
        self.shared.started.load(Ordering::Acquire) && !*self.shared.finished.borrow()
    }

    /// The local addresses of the task's UDP sockets once bound (empty before, and after
    /// the task ended): with `iceCandidatePoolSize` > 0 they exist before the first
    /// setLocalDescription (RFC 9429 §3.5.4).
    pub fn local_addresses(&self) -> Vec<SocketAddr> {
        self.shared.bound.borrow().clone()
    }

    /// Completes once the task has ended and closed its sockets (after `close()` or when
    /// the connection was dropped); at once if it never started and cannot start any more.
    pub async fn stopped(&self) {
        let mut rx = self.shared.finished.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }
}

/// Marks the task finished when dropped (every exit path of `run`).
struct FinishedGuard(Arc<DriverShared>);

impl Drop for FinishedGuard {
    fn drop(&mut self) {
        self.0.bound.send_replace(Vec::new());
        self.0.finished.send_replace(true);
    }
}

impl DriverShared {
    /// Makes the task run a round (the core changed).
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }

    /// Ends the task (close() or the connection was dropped).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.notify.notify_one();
        if !self.started.load(Ordering::Acquire) {
            self.finished.send_replace(true);
        }
    }
}

impl Inner {
    /// The connection's network task view.
    pub(crate) fn network_task(&self) -> NetworkTask {
        NetworkTask {
            shared: self.driver.clone(),
        }
    }
}

impl Inner {
    /// Called after every API call that may have changed the core (after its events were
    /// dispatched): wakes the driver, or starts it if the core asked for one before a
    /// runtime was there.
    pub(crate) fn wake_driver(self: &Arc<Self>) {
        let d = &self.driver;
        if d.started.load(Ordering::Acquire) {
            d.wake();
            return;
        }
        if d.start_requested.load(Ordering::Acquire) {
            self.start_driver();
        }
    }

    /// The core asked for a driver (`IoRequest::Start`: it has an ICE agent, or
    /// `iceCandidatePoolSize` > 0): starts the task. Without a Tokio runtime nothing starts
    /// (ICE then never runs; logged) until an API call made within one.
    pub(crate) fn start_driver(self: &Arc<Self>) {
        let d = &self.driver;
        d.start_requested.store(true, Ordering::Release);
        if d.stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no Tokio runtime: the connection's network driver cannot start");
            return;
        };
        if d.started.swap(true, Ordering::AcqRel) {
            d.wake();
            return;
        }
        handle.spawn(run(
            Arc::downgrade(self),
            self.driver.clone(),
            self.ice_host.clone(),
            self.stun_resolve_timeout,
            self.mdns,
            self.turn_tls.clone(),
            self.hide_host_addresses,
        ));
    }
}

enum Wake {
    Notified,
    /// An ICE-TCP socket has something (`api/tcp.rs`).
    Tcp,
    Timer,
    /// A socket is readable, or the mux queued a datagram (given here).
    Readable(io::Result<Option<MuxDatagram>>),
    Mdns(io::Result<(usize, SocketAddr)>),
    /// Bytes from a TURN-over-TCP/TLS connection, or its end.
    Stream(Option<StreamInput>),
}

/// The task's sockets: its own, or its registration with a shared [`UdpMux`].
enum Io {
    Sockets(Vec<BatchSocket>),
    Mux(MuxConn),
}

impl Io {
    fn local_addrs(&self) -> Vec<SocketAddr> {
        match self {
            Io::Sockets(s) => s.iter().map(BatchSocket::local_addr).collect(),
            Io::Mux(m) => vec![m.local_addr()],
        }
    }

    /// Ready when a socket may have datagrams (or with the mux's next datagram).
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<MuxDatagram>>> {
        match self {
            Io::Sockets(sockets) => {
                for s in sockets.iter() {
                    match s.poll_recv_ready(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(None)),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                Poll::Pending
            }
            Io::Mux(m) => m.poll_recv(cx).map(|d| Ok(Some(d))),
        }
    }

    /// Hands up to about `budget` received datagrams to `f(local, remote, data)` without
    /// waiting (batched receives: `recvmmsg`/GRO, or the mux's queue), `first` first.
    fn recv_batch(
        &mut self,
        first: Option<MuxDatagram>,
        budget: usize,
        mut f: impl FnMut(SocketAddr, SocketAddr, &[u8]),
    ) {
        match self {
            Io::Sockets(sockets) => {
                let mut count = 0;
                for s in sockets.iter() {
                    let local = s.local_addr();
                    while count < budget {
                        match s.try_recv(|remote, d| f(local, remote, d)) {
                            Ok(n) => count += n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                tracing::debug!("receive on {local} failed: {e}");
                                break;
                            }
                        }
                    }
                }
            }
            Io::Mux(m) => {
                let local = m.local_addr();
                let mut next = first;
                for _ in 0..budget {
                    let Some(d) = next.take().or_else(|| m.try_recv()) else {
                        break;
                    };
                    f(local, d.remote, &d.data);
                }
            }
        }
    }

    /// Sends a round's datagrams: runs to one destination leave together (GSO); those for a
    /// TURN connection go on its stream (one copy per run into its write queue).
    async fn send_batch(&self, batch: &TxBatch, streams: &TurnStreams) {
        for run in batch.runs(super::udp::MAX_GSO_SEGMENTS) {
            let bytes = batch.bytes(&run);
            if streams.is_stream(run.local, run.remote) {
                // The run's messages are whole and framed: they go on the stream as they lie.
                streams.send(run.local, run.remote, bytes);
                continue;
            }
            let r = match self {
                Io::Sockets(sockets) => {
                    let Some(s) = sockets.iter().find(|s| s.local_addr() == run.local) else {
                        continue;
                    };
                    s.send(run.remote, bytes, run.segment).await
                }
                Io::Mux(m) if m.local_addr() == run.local => {
                    m.send(run.remote, run.class, bytes, run.segment).await
                }
                Io::Mux(_) => continue,
            };
            if let Err(e) = r {
                tracing::debug!("send to {} failed: {e}", run.remote);
            }
        }
    }
}

async fn bind(interfaces: Vec<IpAddr>) -> Vec<BatchSocket> {
    let mut sockets = Vec::new();
    for ip in interfaces.into_iter().take(MAX_LOCAL_INTERFACES) {
        if ip.is_unspecified() || ip.is_multicast() {
            tracing::warn!("ICE interface {ip} skipped: give concrete unicast addresses");
            continue;
        }
        match BatchSocket::bind(SocketAddr::new(ip, 0)).await {
            Ok(s) => sockets.push(s),
            Err(e) => tracing::warn!("cannot bind a UDP socket on {ip}: {e}"),
        }
    }
    sockets
}

/// Whether `host` is under the reserved `.invalid` TLD: such names never resolve and no
/// query may be sent for them (RFC 6761 §6.4).
pub(crate) fn reserved_invalid(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "invalid" || h.ends_with(".invalid")
}

/// One name through the system resolver; prefers an address of a family we have a socket
/// for (a server of another family could not be reached).
async fn lookup(host: String, port: u16, families: (bool, bool)) -> Option<SocketAddr> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .take(16)
        .collect();
    let usable = |a: &SocketAddr| if a.is_ipv4() { families.0 } else { families.1 };
    addrs.iter().find(|a| usable(a)).or(addrs.first()).copied()
}

/// Resolves the STUN host names concurrently, all within `limit`; `None` for a name that
/// did not resolve in time.
async fn resolve(
    names: Vec<StunHostName>,
    limit: Duration,
    interfaces: &[IpAddr],
) -> Vec<(String, Option<SocketAddr>)> {
    let families = (
        interfaces.iter().any(IpAddr::is_ipv4),
        interfaces.iter().any(IpAddr::is_ipv6),
    );
    resolve_with(names, limit, move |host, port| lookup(host, port, families)).await
}

/// [`resolve`] with the lookup given (tests use a resolver that never answers).
async fn resolve_with<F, Fut>(
    names: Vec<StunHostName>,
    limit: Duration,
    lookup: F,
) -> Vec<(String, Option<SocketAddr>)>
where
    F: Fn(String, u16) -> Fut,
    Fut: std::future::Future<Output = Option<SocketAddr>> + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + limit;
    let lookups: Vec<_> = names
        .into_iter()
        .map(|n| {
            let task = (!reserved_invalid(&n.host)).then(|| tokio::spawn(lookup(n.host, n.port)));
            (n.url, task)
        })
        .collect();
    let mut out = Vec::with_capacity(lookups.len());
    for (url, task) in lookups {
        let addr = match task {
            None => None,
            Some(mut task) => match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(addr)) => addr,
                Ok(Err(_)) => None,
                Err(_) => {
                    task.abort();
                    None
                }
            },
        };
        if addr.is_none() {
            tracing::debug!("STUN server {url}: host name not resolved");
        }
        out.push((url, addr));
    }
    out
}

async fn run(
    weak: Weak<Inner>,
    shared: Arc<DriverShared>,
    host: HostGathering,
    resolve_timeout: Duration,
    mdns: bool,
    turn_tls: (Arc<Vec<String>>, Duration),
    hide_host_addresses: bool,
) {
    // Declared first, dropped last: "finished" is reported after the sockets are closed.
    let _finished = FinishedGuard(shared.clone());
    let mut out = TxBatch::default();
    // The core's requests not handled yet (the first ones wait for the sockets).
    let mut reqs: Vec<IoRequest> = Vec::new();
    match weak.upgrade() {
        Some(inner) => {
            let _in_order = inner.dispatching.lock().unwrap_or_else(|e| e.into_inner());
            let mut events = Vec::new();
            let _ = drain_output(&mut inner.core(), &mut out, &mut reqs, &mut events);
            inner.deliver(events);
        }
        None => return,
    }
    let mut names: Vec<StunHostName> = Vec::new();
    let mut turn_servers = Vec::new();
    reqs.retain_mut(|r| match r {
        IoRequest::ResolveStunHosts(n) => {
            names.append(n);
            false
        }
        IoRequest::ConnectTurnStreams(s) => {
            turn_servers.append(s);
            false
        }
        IoRequest::Start => false,
        _ => true,
    });
    let (interfaces, mux) = match &host.mux {
        Some(mux) => (vec![mux.local_addr().ip()], mux.register()),
        None => (host.addresses(), None),
    };
    let families = (
        interfaces.iter().any(IpAddr::is_ipv4),
        interfaces.iter().any(IpAddr::is_ipv6),
    );
    let (resolved, connected) = tokio::join!(
        resolve(names, resolve_timeout, &interfaces),
        connect_all(turn_servers, &turn_tls.0, turn_tls.1, families),
    );
    let mut streams = TurnStreams::default();
    let mut io = match (host.mux.is_some(), mux) {
        (false, _) => Io::Sockets(bind(interfaces).await),
        (true, Some(conn)) => Io::Mux(conn),
        (true, None) => {
            tracing::warn!("UDP mux full: the connection gathers no host candidate");
            Io::Sockets(Vec::new())
        }
    };
    let locals = io.local_addrs();
    shared.bound.send_replace(locals.clone());
    let tcp_settings = if host.mux.is_some() {
        IceTcpSettings {
            enabled: false,
            ..host.tcp.clone()
        }
    } else {
        host.tcp.clone()
    };
    let tcp_ips: Vec<IpAddr> = locals.iter().map(SocketAddr::ip).collect();
    let mut tcp = TcpIo::bind(tcp_settings, &tcp_ips, &locals).await;
    let mut mdns = (mdns || hide_host_addresses)
        .then(|| MdnsSocket::new(&locals.iter().map(|a| a.ip()).collect::<Vec<_>>(), mdns));
    let mut mdns_buf = vec![0u8; if mdns.is_some() { MDNS_RECV_BUFFER } else { 0 }];
    {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        {
            // Resolutions first, then the local addresses, without polling the agent in
            // between: one gathering phase.
            let mut core = inner.core();
            let now = Instant::now();
            // Own sockets can be bound at any time: each ICE restart gets fresh ones.
            let fresh_sockets_on_restart = matches!(io, Io::Sockets(_));
            let _ = core.handle_input(
                now,
                Input::IoReady {
                    fresh_sockets_on_restart,
                },
            );
            for (url, addr) in &resolved {
                let _ = core.handle_input(now, Input::StunHostResolved { url, addr: *addr });
            }
            for c in connected {
                match c {
                    Connected::Ok {
                        url,
                        local,
                        server,
                        stream,
                    } => {
                        streams.add(local, server, stream);
                        let input = Input::TurnStreamConnected {
                            url: &url,
                            local,
                            server,
                        };
                        let _ = core.handle_input(now, input);
                    }
                    Connected::Failed { url, error } => {
                        let input = Input::TurnStreamFailed {
                            url: &url,
                            error: &error,
                        };
                        let _ = core.handle_input(now, input);
                    }
                }
            }
            for a in &locals {
                if let Err(e) = core.handle_input(now, Input::LocalAddress(*a)) {
                    tracing::warn!("local address {a} not used: {e}");
                }
            }
            for a in tcp.listeners() {
                if let Err(e) = core.handle_input(now, Input::LocalTcpListener(a)) {
                    tracing::warn!("TCP listener {a} not used: {e}");
                }
            }
        }
        inner.dispatch();
    }
    let mut socket_request: Option<Vec<IpAddr>> = None;
    // The round's events, delivered once the core is unlocked.
    let mut events: Vec<Event> = Vec::new();
    loop {
        // `close()` stops the task after one more round, which sends the SCTP ABORT and
        // DTLS close_notify it produced.
        let stopping = shared.stop.load(Ordering::Acquire);
        // One round: timers, then everything the core wants sent, with the lock held only
        // for the core calls; events go out after it is released, under the dispatch lock
        // taken first (so an API thread's dispatch cannot deliver later events before them).
        let (timeout, closed) = {
            let Some(inner) = weak.upgrade() else {
                break;
            };
            let _in_order = inner.dispatching.lock().unwrap_or_else(|e| e.into_inner());
            let r = {
                let mut core = inner.core();
                let now = Instant::now();
                let closed = core.is_closed();
                // Channels whose last handle went: forgotten once closed (`ChannelForgotten`
                // follows their `close`), so channel churn does not grow memory.
                let released = inner
                    .channel_liveness
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take_released();
                for key in released {
                    let _ = core.handle_input(now, Input::ChannelReleased(key));
                }
                if !closed {
                    let _ = core.handle_input(now, Input::Timeout);
                    if let Some(m) = mdns.as_mut() {
                        m.exchange(now, |name, ip| {
                            let _ = core.handle_input(now, Input::MdnsResolved { name, ip });
                        });
                    }
                }
                // Datagrams and the core's requests until it has nothing more; handling a
                // request can give the core input (a refused mDNS name), so drain again.
                let timeout = loop {
                    for r in reqs.drain(..) {
                        handle_request(&r, &mut core, now, &mut io, mdns.as_mut(), &shared);
                        if let IoRequest::BindSockets(ips) = r {
                            socket_request = Some(ips);
                        }
                    }
                    let t = drain_output(&mut core, &mut out, &mut reqs, &mut events);
                    if reqs.is_empty() {
                        break t;
                    }
                };
                let mdns_timeout = mdns.as_ref().and_then(MdnsSocket::poll_timeout);
                let timeout = match (timeout, mdns_timeout) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                // Accepted ICE-TCP connections without an authenticated check by now close.
                let tcp_timeout = tcp.expire(now, |l, r| core.knows_path(l, r));
                let timeout = match (timeout, tcp_timeout) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                (timeout, closed)
            };
            inner.deliver(std::mem::take(&mut events));
            r
        };
        if !out.is_empty() {
            // ICE-TCP runs go to their connections; `io` skips them (no UDP socket or TURN
            // stream has their local address).
            tcp.send_batch(&out);
            io.send_batch(&out, &streams).await;
            out.clear();
        }
        if let (Some(ips), Io::Sockets(sockets)) = (socket_request.take(), &mut io) {
            // An ICE restart: one fresh socket per IP, reported as the new generation's.
            let fresh = bind(ips).await;
            let Some(inner) = weak.upgrade() else {
                break;
            };
            {
                let mut core = inner.core();
                let now = Instant::now();
                for s in &fresh {
                    if let Err(e) = core.handle_input(now, Input::LocalAddress(s.local_addr())) {
                        tracing::warn!("local address {} not used: {e}", s.local_addr());
                    }
                }
                let _ = core.handle_input(now, Input::LocalAddressesDone);
            }
            inner.dispatch();
            sockets.extend(fresh);
            shared.bound.send_replace(io.local_addrs());
            continue;
        }
        if let Some(m) = mdns.as_mut() {
            if stopping || closed {
                // Our names go with the connection (RFC 6762 §10.1).
                m.goodbye();
            }
            m.flush().await;
        }
        if stopping || closed {
            break;
        }
        // Channel events a full read queue could not take: wait for the reader
        // (back-pressure, see `datachannel.rs`).
        let stop = || shared.stop.load(Ordering::Acquire);
        match drain_pending(&weak, stop, &shared.notify).await {
            None => break,
            // It waited (and may have taken a wake-up meant for the loop): run a round now.
            Some(true) => continue,
            Some(false) => {}
        }
        let sleep = async {
            match timeout {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        let wake = tokio::select! {
            _ = shared.notify.notified() => Wake::Notified,
            _ = sleep => Wake::Timer,
            r = std::future::poll_fn(|cx| io.poll_recv(cx)) => Wake::Readable(r),
            () = std::future::poll_fn(|cx| tcp.poll(cx)) => Wake::Tcp,
            r = std::future::poll_fn(|cx| match mdns.as_ref() {
                Some(m) => m.poll_recv(cx, &mut mdns_buf),
                None => std::task::Poll::Pending,
            }) => Wake::Mdns(r),
            r = streams.recv() => Wake::Stream(r),
        };
        match wake {
            Wake::Notified | Wake::Timer => {}
            Wake::Tcp => {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let mut core = inner.core();
                let now = Instant::now();
                tcp.receive(|local, remote, data| {
                    let _ = core.handle_input(
                        now,
                        Input::Datagram {
                            local,
                            remote,
                            data,
                        },
                    );
                });
                for (local, remote) in tcp.take_failed() {
                    let _ = core.handle_input(now, Input::TcpConnectFailed { local, remote });
                }
                let _ = core.handle_input(now, Input::BatchEnd);
            }
            Wake::Readable(Err(e)) => tracing::debug!("receive failed: {e}"),
            Wake::Mdns(Err(e)) => tracing::debug!("mDNS receive failed: {e}"),
            // The channel never closes: `streams` keeps a sender.
            Wake::Stream(None) => {}
            Wake::Stream(Some(input)) => {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let mut core = inner.core();
                let now = Instant::now();
                let (local, server, error) = match input {
                    StreamInput::Data {
                        local,
                        server,
                        bytes,
                    } => {
                        let r = streams.deliver(local, server, &bytes, |local, remote, data| {
                            let _ = core.handle_input(
                                now,
                                Input::Datagram {
                                    local,
                                    remote,
                                    data,
                                },
                            );
                        });
                        match r {
                            Ok(()) => {
                                let _ = core.handle_input(now, Input::BatchEnd);
                                continue;
                            }
                            Err(e) => (local, server, e),
                        }
                    }
                    StreamInput::Closed {
                        local,
                        server,
                        error,
                    } => (local, server, error),
                };
                if streams.is_stream(local, server) {
                    tracing::debug!("TURN connection {local} -> {server} lost: {error}");
                }
                streams.remove(local, server);
                let input = Input::TurnStreamClosed {
                    local,
                    server,
                    error: &error,
                };
                let _ = core.handle_input(now, input);
            }
            Wake::Mdns(Ok((n, from))) => {
                if let Some(m) = mdns.as_mut() {
                    m.handle_datagram(Instant::now(), from, mdns_buf.get(..n).unwrap_or_default());
                    if m.has_answers() {
                        m.flush().await;
                    }
                }
            }
            Wake::Readable(Ok(first)) => {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let mut core = inner.core();
                let now = Instant::now();
                io.recv_batch(first, RECV_BUDGET, |local, remote, data| {
                    let _ = core.handle_input(
                        now,
                        Input::Datagram {
                            local,
                            remote,
                            data,
                        },
                    );
                });
                let _ = core.handle_input(now, Input::BatchEnd);
            }
        }
    }
}

/// Polls the core's output until its timeout: datagrams into `out`, the driver's requests
/// into `reqs`, events (and the requests `Inner::deliver` acts on) into `events`.
fn drain_output(
    core: &mut Core,
    out: &mut TxBatch,
    reqs: &mut Vec<IoRequest>,
    events: &mut Vec<Event>,
) -> Option<Instant> {
    loop {
        let mut other = None;
        let sent = out.push_transmit(|buf| match core.poll_output(buf) {
            Output::Transmit(t) => Some(t),
            o => {
                other = Some(o);
                None
            }
        });
        if sent {
            continue;
        }
        match other {
            Some(Output::Event(
                e @ Event::Io(IoRequest::ChannelForgotten(_) | IoRequest::Start),
            )) => events.push(e),
            Some(Output::Event(Event::Io(r))) => reqs.push(r),
            Some(Output::Event(e)) => events.push(e),
            Some(Output::Timeout(t)) => return t,
            Some(Output::Transmit(_)) | None => return None,
        }
    }
}

/// Acts on one request of the core (binding sockets is left to the caller: it awaits).
fn handle_request(
    r: &IoRequest,
    core: &mut Core,
    now: Instant,
    io: &mut Io,
    mdns: Option<&mut MdnsSocket>,
    shared: &DriverShared,
) {
    match r {
        // The driver runs; names are resolved once, at its start; `Inner::deliver` takes
        // care of forgotten channels.
        IoRequest::Start
        | IoRequest::ResolveStunHosts(_)
        | IoRequest::ConnectTurnStreams(_)
        | IoRequest::BindSockets(_)
        | IoRequest::ChannelForgotten(_) => {}
        IoRequest::SocketUnused(addr) => {
            if let Io::Sockets(sockets) = io {
                let before = sockets.len();
                sockets.retain(|s| s.local_addr() != *addr);
                if sockets.len() != before {
                    shared
                        .bound
                        .send_replace(sockets.iter().map(BatchSocket::local_addr).collect());
                }
            }
        }
        IoRequest::LocalCredentials { ufrag, pwd } => {
            if let Io::Mux(m) = io {
                m.set_credentials(ufrag, pwd);
            }
        }
        IoRequest::TransportCredentials(list) => {
            if let Io::Mux(m) = io {
                m.set_transport_credentials(list);
            }
        }
        IoRequest::PublishMdnsName { name, ip } => {
            if let Some(m) = mdns {
                m.publish(name, *ip);
            }
        }
        IoRequest::ResolveMdns(name) => {
            let queried = match mdns {
                // Refused at once when `IceSettings::mdns` is off.
                Some(m) => m.query(name, now),
                None => {
                    // Every name fails at once: the waiting candidates are dropped instead
                    // of holding the checklist open.
                    tracing::debug!("mDNS candidate {name} dropped: IceSettings::mdns is off");
                    false
                }
            };
            if !queried {
                let _ = core.handle_input(now, Input::MdnsResolved { name, ip: None });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_under_the_invalid_tld_are_recognised_without_a_query() {
        for h in ["invalid", "stun.invalid", "a.b.INVALID", "x.invalid."] {
            assert!(reserved_invalid(h), "{h}");
        }
        for h in [
            "localhost",
            "invalid.example",
            "notinvalid",
            "stun.example.org",
        ] {
            assert!(!reserved_invalid(h), "{h}");
        }
    }

    #[tokio::test]
    async fn resolution_of_an_invalid_name_fails_and_localhost_resolves() {
        let names = vec![
            StunHostName {
                url: "stun:a.invalid".into(),
                host: "a.invalid".into(),
                port: 3478,
            },
            StunHostName {
                url: "stun:localhost:9".into(),
                host: "localhost".into(),
                port: 9,
            },
        ];
        let v4 = [IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
        let r = resolve(names, Duration::from_secs(5), &v4).await;
        assert_eq!(r[0], ("stun:a.invalid".into(), None));
        let (url, addr) = &r[1];
        assert_eq!(url, "stun:localhost:9");
        let addr = addr.expect("localhost resolves");
        assert!(addr.ip().is_loopback() && addr.is_ipv4() && addr.port() == 9);
    }

    /// The bound holds: names whose resolver never answers fail together once the bound
    /// has passed (not one bound per name), and the run does not hang.
    #[tokio::test]
    async fn lookups_not_done_within_the_bound_fail() {
        let names: Vec<_> = ["a.example", "b.example"]
            .into_iter()
            .map(|h| StunHostName {
                url: format!("stun:{h}"),
                host: h.into(),
                port: 3478,
            })
            .collect();
        let start = std::time::Instant::now();
        let never = |_: String, _: u16| std::future::pending::<Option<SocketAddr>>();
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            resolve_with(names, Duration::from_millis(100), never),
        )
        .await
        .expect("bounded");
        assert_eq!(
            r,
            [
                ("stun:a.example".to_string(), None),
                ("stun:b.example".to_string(), None)
            ]
        );
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(1),
            "{took:?}"
        );
    }
}
