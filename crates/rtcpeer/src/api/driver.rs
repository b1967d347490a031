//! The runtime driver: one Tokio task per connection that owns its UDP sockets and its
//! timer, feeds the sans-IO core datagrams and time, and sends what the core produces.
//!
//! The task starts lazily, on the first API call after which the core has an ICE agent
//! (the first setLocalDescription with m-lines), so `PeerConnection::new` stays synchronous
//! and cheap. It holds only a `Weak` of the connection, never across an `.await`, and stops
//! when `close()` is called or the connection is dropped (both signal it through
//! [`DriverShared`]). API calls that change the core wake it through a `Notify`, so output
//! caused by a state change leaves at once instead of at the next timer tick.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::{Notify, watch};

use crate::ice::{MAX_LOCAL_INTERFACES, Transmit};

use super::Inner;

/// Receive buffer per connection: longer datagrams are truncated (and then dropped as
/// malformed). WebRTC keeps datagrams under the path MTU (~1200–1500 bytes).
pub(crate) const RECV_BUFFER: usize = 2048;
/// Datagrams read in one wake-up before the output they caused is flushed.
const RECV_BATCH: usize = 32;

/// What the API side and the driver task share: the wake-up and the stop signal.
#[derive(Debug)]
pub(crate) struct DriverShared {
    notify: Notify,
    stop: AtomicBool,
    started: AtomicBool,
    /// `true` once the task ended and its sockets are closed (or it never started and
    /// never will).
    finished: watch::Sender<bool>,
}

impl Default for DriverShared {
    fn default() -> Self {
        DriverShared {
            notify: Notify::new(),
            stop: AtomicBool::new(false),
            started: AtomicBool::new(false),
            finished: watch::Sender::new(false),
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
    /// Called after every API call that may have changed the core: wakes the driver, or
    /// starts it when the core first needs one. Without a Tokio runtime nothing starts (ICE
    /// then never runs; logged).
    pub(crate) fn wake_driver(self: &Arc<Self>) {
        let d = &self.driver;
        if d.started.load(Ordering::Acquire) {
            d.wake();
            return;
        }
        if d.stop.load(Ordering::Acquire) || !self.core().needs_driver() {
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
            self.ice_interfaces.clone(),
        ));
    }
}

enum Wake {
    Notified,
    Timer,
    Datagram(io::Result<(usize, SocketAddr, SocketAddr)>),
}

fn poll_recv_any(
    cx: &mut Context<'_>,
    sockets: &[(UdpSocket, SocketAddr)],
    buf: &mut [u8],
) -> Poll<io::Result<(usize, SocketAddr, SocketAddr)>> {
    for (s, local) in sockets {
        let mut rb = ReadBuf::new(buf);
        match s.poll_recv_from(cx, &mut rb) {
            Poll::Ready(Ok(from)) => return Poll::Ready(Ok((rb.filled().len(), *local, from))),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
    }
    Poll::Pending
}

fn try_recv_any(
    sockets: &[(UdpSocket, SocketAddr)],
    buf: &mut [u8],
) -> Option<(usize, SocketAddr, SocketAddr)> {
    sockets
        .iter()
        .find_map(|(s, local)| s.try_recv_from(buf).ok().map(|(n, from)| (n, *local, from)))
}

async fn bind(interfaces: Vec<IpAddr>) -> Vec<(UdpSocket, SocketAddr)> {
    let mut sockets = Vec::new();
    for ip in interfaces.into_iter().take(MAX_LOCAL_INTERFACES) {
        if ip.is_unspecified() || ip.is_multicast() {
            tracing::warn!("ICE interface {ip} skipped: give concrete unicast addresses");
            continue;
        }
        match UdpSocket::bind(SocketAddr::new(ip, 0)).await {
            Ok(s) => match s.local_addr() {
                Ok(a) => sockets.push((s, a)),
                Err(e) => tracing::warn!("socket on {ip} has no local address: {e}"),
            },
            Err(e) => tracing::warn!("cannot bind a UDP socket on {ip}: {e}"),
        }
    }
    sockets
}

async fn run(weak: Weak<Inner>, shared: Arc<DriverShared>, interfaces: Vec<IpAddr>) {
    // Declared first, dropped last: "finished" is reported after the sockets are closed.
    let _finished = FinishedGuard(shared.clone());
    let sockets = bind(interfaces).await;
    {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        {
            let mut core = inner.core();
            for (_, a) in &sockets {
                if let Err(e) = core.add_local_address(*a) {
                    tracing::warn!("local address {a} not used: {e}");
                }
            }
        }
        inner.dispatch();
    }
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut out: Vec<Transmit> = Vec::new();
    loop {
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        // One round: timers, then everything the core wants sent, with the lock held only
        // for the core calls; events go out after it is released.
        let timeout = {
            let Some(inner) = weak.upgrade() else {
                break;
            };
            let timeout = {
                let mut core = inner.core();
                if core.is_closed() {
                    break;
                }
                let now = Instant::now();
                core.handle_timeout(now);
                while let Some(t) = core.poll_transmit(now) {
                    out.push(t);
                }
                core.poll_timeout()
            };
            inner.dispatch();
            timeout
        };
        for t in out.drain(..) {
            let Some((s, _)) = sockets.iter().find(|(_, a)| *a == t.local) else {
                continue;
            };
            if let Err(e) = s.send_to(&t.data, t.remote).await {
                tracing::debug!("send to {} failed: {e}", t.remote);
            }
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
            r = std::future::poll_fn(|cx| poll_recv_any(cx, &sockets, &mut buf)) => Wake::Datagram(r),
        };
        match wake {
            Wake::Notified | Wake::Timer => {}
            Wake::Datagram(Err(e)) => tracing::debug!("receive failed: {e}"),
            Wake::Datagram(Ok((n, local, remote))) => {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let mut core = inner.core();
                let data = buf.get(..n).unwrap_or_default();
                core.handle_datagram(Instant::now(), local, remote, data);
                for _ in 0..RECV_BATCH {
                    let Some((n, local, remote)) = try_recv_any(&sockets, &mut buf) else {
                        break;
                    };
                    let data = buf.get(..n).unwrap_or_default();
                    core.handle_datagram(Instant::now(), local, remote, data);
                }
            }
        }
    }
}
