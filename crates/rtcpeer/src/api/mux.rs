//! [`UdpMux`]: one UDP socket shared by many connections (a server's single ICE port).
//!
//! The mux owns the socket and one receive task. Each connection that uses it (through
//! `IceSettings::udp_mux`) registers when its network task starts and gets a bounded queue;
//! the receive task routes every datagram with the sans-IO [`MuxTable`] (STUN Binding
//! requests by the local ufrag in USERNAME, STUN responses by the transaction id of a request
//! the connection sent, everything else by the remote address learnt from an authenticated
//! request) and queues it for its connection, whose task hands it to
//! the core unchanged. Connections send on the shared socket directly. A connection's routes
//! are removed when its network task ends (close, drop) and its old ufrag when it restarts
//! ICE. The receive task ends when the last handle (user's or connection's) is dropped.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use rtcpeer_proto::MuxCounters;
use rtcpeer_proto::io::{MuxConnId, MuxTable};
use rtcpeer_proto::jsep::Class;

use super::udp::BatchSocket;

/// Datagrams queued per connection before the receive task drops (and counts) more: the
/// connection's task drains its queue in every round, so this only fills when it stalls.
pub const MUX_QUEUE: usize = 256;

/// One received datagram for one connection.
pub(crate) struct MuxDatagram {
    pub(crate) remote: SocketAddr,
    pub(crate) data: Vec<u8>,
}

struct MuxState {
    table: MuxTable,
    queues: HashMap<MuxConnId, mpsc::Sender<MuxDatagram>>,
}

struct MuxShared {
    socket: Arc<BatchSocket>,
    local: SocketAddr,
    state: Mutex<MuxState>,
    /// Datagrams dropped because their connection's queue was full.
    queue_full: AtomicU64,
    /// Dropped with the last handle: ends the receive task.
    _stop: oneshot::Sender<()>,
}

impl MuxShared {
    fn state(&self) -> MutexGuard<'_, MuxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Routes one datagram (the caller holds the state lock for a whole receive batch).
    fn deliver(&self, st: &mut MuxState, remote: SocketAddr, data: &[u8]) {
        let Some(id) = st.table.route(remote, data) else {
            return;
        };
        let Some(queue) = st.queues.get(&id) else {
            return;
        };
        let d = MuxDatagram {
            remote,
            data: data.to_vec(),
        };
        match queue.try_send(d) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queue_full.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                st.queues.remove(&id);
                st.table.remove(id);
            }
        }
    }
}

/// A UDP socket shared by many connections: set the same `UdpMux` in the
/// `IceSettings::udp_mux` of every connection that should use it; its address is then
/// their only host candidate (RFC 8445 §5.1.1.1 allows one base for many agents as long as
/// checks are told apart, which the USERNAME does). Cheap to clone: clones are the same
/// socket.
///
/// Limits: a remote transport address belongs to one connection at a time (two
/// connections cannot have the same peer address); at most
/// [`rtcpeer_proto::io::MAX_MUX_CONNECTIONS`] connections.
#[derive(Clone)]
pub struct UdpMux {
    shared: Arc<MuxShared>,
}

impl fmt::Debug for UdpMux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpMux")
            .field("local", &self.shared.local)
            .finish()
    }
}

impl UdpMux {
    /// Binds the shared socket on `addr` (a concrete unicast address; port 0 picks one) and
    /// starts its receive task on the current Tokio runtime.
    pub async fn bind(addr: SocketAddr) -> io::Result<UdpMux> {
        if addr.ip().is_unspecified() || addr.ip().is_multicast() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a UDP mux needs a concrete unicast address (it is the host candidate)",
            ));
        }
        let socket = Arc::new(BatchSocket::bind(addr).await?);
        let local = socket.local_addr();
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(MuxShared {
            socket: socket.clone(),
            local,
            state: Mutex::new(MuxState {
                table: MuxTable::new(),
                queues: HashMap::new(),
            }),
            queue_full: AtomicU64::new(0),
            _stop: stop_tx,
        });
        tokio::spawn(receive(socket, Arc::downgrade(&shared), stop_rx));
        Ok(UdpMux { shared })
    }

    /// The socket's address: every connection's host candidate.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// Registered connections, ufrags, learnt addresses and transactions, and datagrams dropped because
    /// no connection claimed them.
    pub fn counters(&self) -> MuxCounters {
        self.shared.state().table.counters()
    }

    /// Whether a connection currently routes STUN requests by this local ufrag (after an
    /// ICE restart only the new one does).
    pub fn routes_ufrag(&self, ufrag: &str) -> bool {
        self.shared
            .state()
            .table
            .connection_of_ufrag(ufrag)
            .is_some()
    }

    /// Datagrams dropped because their connection's queue ([`MUX_QUEUE`]) was full.
    pub fn queue_full_drops(&self) -> u64 {
        self.shared.queue_full.load(Ordering::Relaxed)
    }

    /// Registers a connection; `None` when the mux is full.
    pub(crate) fn register(&self) -> Option<MuxConn> {
        let (tx, rx) = mpsc::channel(MUX_QUEUE);
        let mut st = self.shared.state();
        let id = st.table.add()?;
        st.queues.insert(id, tx);
        drop(st);
        Some(MuxConn {
            id,
            rx,
            rx_closed: false,
            shared: self.shared.clone(),
            ufrag: None,
        })
    }
}

async fn receive(socket: Arc<BatchSocket>, weak: Weak<MuxShared>, mut stop: oneshot::Receiver<()>) {
    loop {
        let r = tokio::select! {
            _ = &mut stop => break,
            r = socket.readable() => r,
        };
        if let Err(e) = r {
            tracing::debug!("mux receive failed: {e}");
            continue;
        }
        let Some(shared) = weak.upgrade() else {
            break;
        };
        let mut st = shared.state();
        // One batch (recvmmsg/GRO) under one lock of the routing table.
        match socket.try_recv(|remote, data| shared.deliver(&mut st, remote, data)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => tracing::debug!("mux receive failed: {e}"),
        }
    }
}

/// One connection's registration with a [`UdpMux`]; dropping it removes every route to
/// the connection.
pub(crate) struct MuxConn {
    id: MuxConnId,
    rx: mpsc::Receiver<MuxDatagram>,
    rx_closed: bool,
    shared: Arc<MuxShared>,
    ufrag: Option<String>,
}

impl MuxConn {
    /// The shared socket's address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// The connection's current local credentials (a new ufrag after an ICE restart
    /// replaces the old one in the routing table).
    pub(crate) fn set_credentials(&mut self, ufrag: &str, pwd: &str) {
        if self.ufrag.as_deref() == Some(ufrag) {
            return;
        }
        self.ufrag = Some(ufrag.to_string());
        if let Err(e) = self
            .shared
            .state()
            .table
            .set_credentials(self.id, ufrag, pwd)
        {
            tracing::warn!("UDP mux: ufrag {ufrag} not routed: {e}");
        }
    }

    /// The local credentials of the connection's further transports (unbundled m-sections,
    /// RFC 8843 §7): STUN to each of their ufrags routes here too.
    pub(crate) fn set_transport_credentials(
        &mut self,
        list: &[rtcpeer_proto::jsep::IceCredentials],
    ) {
        let pairs: Vec<(String, String)> = list
            .iter()
            .map(|c| (c.ufrag.clone(), c.pwd.clone()))
            .collect();
        if let Err(e) = self
            .shared
            .state()
            .table
            .set_transport_credentials(self.id, &pairs)
        {
            tracing::warn!("UDP mux: a transport's ufrag is not routed: {e}");
        }
    }

    /// Waits for the next datagram routed to this connection (pending forever once the mux
    /// dropped the queue).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<MuxDatagram> {
        if self.rx_closed {
            return Poll::Pending;
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(d)) => Poll::Ready(d),
            Poll::Ready(None) => {
                self.rx_closed = true;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// A datagram already queued, if any.
    pub(crate) fn try_recv(&mut self) -> Option<MuxDatagram> {
        self.rx.try_recv().ok()
    }

    /// Sends a run of datagrams of one class (each `segment` bytes, the last maybe shorter)
    /// on the shared socket, noting STUN requests' transactions for their responses (the
    /// core said which datagrams are STUN: nothing is parsed again here).
    pub(crate) async fn send(
        &self,
        remote: SocketAddr,
        class: Class,
        contents: &[u8],
        segment: usize,
    ) -> io::Result<()> {
        if class == Class::Stun {
            let mut st = self.shared.state();
            for d in contents.chunks(segment.max(1)) {
                st.table.note_sent(self.id, d);
            }
        }
        self.shared.socket.send(remote, contents, segment).await
    }
}

impl Drop for MuxConn {
    fn drop(&mut self) {
        let mut st = self.shared.state();
        st.queues.remove(&self.id);
        st.table.remove(self.id);
    }
}
