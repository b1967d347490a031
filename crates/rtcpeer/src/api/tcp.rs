//! ICE-TCP sockets of the runtime (RFC 6544): one listening socket per host address (the
//! passive candidates), the connections the core's active transmits open, and the ones peers
//! open to us, each carrying RFC 4571 frames (`rtcpeer_proto::io::framing`).
//!
//! The core decides; this module only moves bytes. A transmit whose local address is a
//! listener goes out on the connection accepted there from that remote (dropped when there
//! is none); one from an active base (the listener's IP, port 9) goes out on the connection
//! from that IP to that remote, which is opened first when there is none. Every frame read
//! is fed to the core as a datagram with the same (base, remote) addresses.
//!
//! Bounds, all in [`IceTcpSettings`]: connections (accepted and opened together; further
//! accepted ones are closed at once), bytes queued for writing per connection (further
//! frames are dropped, as a full UDP socket would), frame size (a peer announcing a larger
//! frame is disconnected with an error in the log), and the time an accepted connection may
//! stay without an authenticated ICE check (then it is closed, RFC 6544 §7.2 pairs it only
//! once a valid check arrives). Receive state is the [`Deframer`]'s fixed buffer.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rtcpeer_proto::io::framing::{Deframer, MAX_FRAME_LEN, frame_header};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::udp::TxBatch;

/// ICE-TCP knobs (RFC 6544), part of `IceSettings`.
#[derive(Debug, Clone)]
pub struct IceTcpSettings {
    /// Gather TCP host candidates: a listening socket per host address (passive candidate)
    /// and an active candidate (port 9) on the same IP. Off by default (like Firefox's
    /// `media.peerconnection.ice.tcp` off by default in some builds): UDP alone is what
    /// most deployments need, and a listener is one more open port. Not with a `UdpMux`.
    pub enabled: bool,
    /// Most TCP connections at once, accepted and opened together (default 16): a peer can
    /// make us accept connections, so this bounds sockets and buffers.
    pub max_connections: usize,
    /// Most bytes queued for writing on one connection (default 1 MiB); frames beyond it are
    /// dropped, like datagrams a full UDP socket refuses.
    pub max_buffered_bytes: usize,
    /// Largest RFC 4571 frame accepted from a peer (default 65 535, RFC 4571's limit); a
    /// larger one closes the connection. Also the connection's receive buffer size.
    pub max_frame: usize,
    /// An accepted connection that has not carried an authenticated ICE check this long
    /// after it was accepted is closed (default 5 s).
    pub unauthenticated_timeout: Duration,
}

impl Default for IceTcpSettings {
    fn default() -> Self {
        IceTcpSettings {
            enabled: false,
            max_connections: 16,
            max_buffered_bytes: 1024 * 1024,
            max_frame: MAX_FRAME_LEN,
            unauthenticated_timeout: Duration::from_secs(5),
        }
    }
}

/// The port of active candidates' bases (RFC 6544 §4.5).
const ACTIVE_PORT: u16 = 9;
/// Attempts to bind a listener on a port no UDP socket of the connection uses.
const BIND_ATTEMPTS: usize = 8;

type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

enum State {
    Connecting(Connecting),
    Open(TcpStream),
    Closed,
}

struct Conn {
    /// The core's local address of the path: the listener, or the IP with port 9.
    base: SocketAddr,
    remote: SocketAddr,
    state: State,
    deframer: Deframer,
    out: Vec<u8>,
    out_pos: usize,
    /// Accepted and not yet authenticated: closed at this time.
    auth_deadline: Option<Instant>,
    readable: bool,
}

/// The ICE-TCP sockets of one connection's driver (see the module documentation).
pub(crate) struct TcpIo {
    settings: IceTcpSettings,
    listeners: Vec<(TcpListener, SocketAddr)>,
    conns: Vec<Conn>,
    /// Frames dropped because a connection's write queue was full or it had no connection.
    pub(crate) dropped: u64,
    /// Connections we opened that failed to connect, to report to the core (bounded by
    /// `max_connections`: each entry was a connection).
    failed: Vec<(SocketAddr, SocketAddr)>,
}

impl TcpIo {
    /// Listens on each IP (an ephemeral port that none of `udp` uses); returns the module
    /// and the listeners' addresses to report to the core.
    pub(crate) async fn bind(
        settings: IceTcpSettings,
        ips: &[IpAddr],
        udp: &[SocketAddr],
    ) -> TcpIo {
        let mut listeners = Vec::new();
        if settings.enabled {
            for &ip in ips {
                for _ in 0..BIND_ATTEMPTS {
                    match TcpListener::bind(SocketAddr::new(ip, 0)).await {
                        Ok(l) => match l.local_addr() {
                            // Paths are told apart by their local address: not a UDP port.
                            Ok(a) if udp.contains(&a) || a.port() == ACTIVE_PORT => continue,
                            Ok(a) => {
                                listeners.push((l, a));
                                break;
                            }
                            Err(e) => {
                                tracing::warn!("TCP listener on {ip}: {e}");
                                break;
                            }
                        },
                        Err(e) => {
                            tracing::warn!("cannot listen on TCP on {ip}: {e}");
                            break;
                        }
                    }
                }
            }
        }
        TcpIo {
            settings,
            listeners,
            conns: Vec::new(),
            dropped: 0,
            failed: Vec::new(),
        }
    }

    /// The listeners' addresses (the passive candidates' bases).
    pub(crate) fn listeners(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|(_, a)| *a).collect()
    }

    /// Whether `local` is a TCP base of this module (a listener or an active base).
    pub(crate) fn is_tcp_base(&self, local: SocketAddr) -> bool {
        self.listeners
            .iter()
            .any(|(_, a)| *a == local || (local.port() == ACTIVE_PORT && a.ip() == local.ip()))
    }

    /// Open connections (for tests).
    #[cfg(test)]
    pub(crate) fn connections(&self) -> usize {
        self.conns.len()
    }

    fn new_conn(&self, base: SocketAddr, remote: SocketAddr, state: State) -> Conn {
        Conn {
            base,
            remote,
            state,
            deframer: Deframer::new(self.settings.max_frame, 0),
            out: Vec::new(),
            out_pos: 0,
            auth_deadline: None,
            readable: true,
        }
    }

    /// Ready when something happened: a connection accepted or established, a socket
    /// readable, or writable while bytes wait. Accepting happens here.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut progressed = false;
        let mut accepted = Vec::new();
        for (l, addr) in &self.listeners {
            while let Poll::Ready(r) = l.poll_accept(cx) {
                match r {
                    Ok((s, peer)) => accepted.push((*addr, s, peer)),
                    Err(e) => {
                        tracing::debug!("TCP accept on {addr} failed: {e}");
                        break;
                    }
                }
            }
        }
        for (base, s, peer) in accepted {
            progressed = true;
            if self.conns.len() >= self.settings.max_connections {
                tracing::debug!("ICE-TCP connection from {peer} refused: connection limit");
                continue;
            }
            let _ = s.set_nodelay(true);
            let mut c = self.new_conn(base, peer, State::Open(s));
            c.auth_deadline = Some(Instant::now() + self.settings.unauthenticated_timeout);
            self.conns.push(c);
        }
        for c in &mut self.conns {
            match &mut c.state {
                State::Connecting(f) => {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        progressed = true;
                        match r {
                            Ok(s) => {
                                let _ = s.set_nodelay(true);
                                c.state = State::Open(s);
                                c.readable = true;
                            }
                            Err(e) => {
                                tracing::debug!("ICE-TCP connect to {} failed: {e}", c.remote);
                                c.state = State::Closed;
                                self.failed.push((c.base, c.remote));
                            }
                        }
                    }
                }
                State::Open(s) => {
                    if s.poll_read_ready(cx).is_ready() {
                        c.readable = true;
                        progressed = true;
                    }
                    if c.out_pos < c.out.len() && s.poll_write_ready(cx).is_ready() {
                        progressed = true;
                    }
                }
                State::Closed => progressed = true,
            }
        }
        if progressed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Reads what the sockets have, without waiting, and hands each frame to
    /// `f(base, remote, frame)`; writes what waits; drops closed connections.
    pub(crate) fn receive(&mut self, mut f: impl FnMut(SocketAddr, SocketAddr, &[u8])) {
        for c in &mut self.conns {
            let State::Open(s) = &c.state else {
                continue;
            };
            if !c.readable {
                continue;
            }
            let mut closed = false;
            // Bounded: one buffer's worth per call, so one busy peer cannot starve others.
            for _ in 0..4 {
                let spare = c.deframer.spare();
                if spare.is_empty() {
                    break;
                }
                match s.try_read(spare) {
                    Ok(0) => {
                        closed = true;
                    }
                    Ok(n) => c.deframer.commit(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        c.readable = false;
                    }
                    Err(e) => {
                        tracing::debug!("ICE-TCP read from {} failed: {e}", c.remote);
                        closed = true;
                    }
                }
                loop {
                    match c.deframer.next_frame() {
                        Ok(Some(frame)) => f(c.base, c.remote, frame),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!("ICE-TCP connection from {} closed: {e}", c.remote);
                            closed = true;
                            break;
                        }
                    }
                }
                if closed || !c.readable {
                    break;
                }
            }
            if closed {
                c.state = State::Closed;
            }
        }
        self.flush();
    }

    /// The (active base, remote) of connections that failed to connect since the last call.
    pub(crate) fn take_failed(&mut self) -> Vec<(SocketAddr, SocketAddr)> {
        std::mem::take(&mut self.failed)
    }

    /// Accepted connections past their deadline without an authenticated check are closed;
    /// `known(base, remote)` says whether ICE paired the path (which it does only after an
    /// authenticated check). Returns the next deadline.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        known: impl Fn(SocketAddr, SocketAddr) -> bool,
    ) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for c in &mut self.conns {
            let Some(d) = c.auth_deadline else {
                continue;
            };
            if known(c.base, c.remote) {
                c.auth_deadline = None;
            } else if d <= now {
                tracing::debug!(
                    "ICE-TCP connection from {} closed: no valid check",
                    c.remote
                );
                c.state = State::Closed;
            } else {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        self.conns.retain(|c| !matches!(c.state, State::Closed));
        next
    }

    /// Queues the TCP runs of a round's batch (the others are UDP's) and writes what it
    /// can without waiting.
    pub(crate) fn send_batch(&mut self, batch: &TxBatch) {
        if self.listeners.is_empty() {
            return;
        }
        for run in batch.runs(super::udp::MAX_GSO_SEGMENTS) {
            if !self.is_tcp_base(run.local) {
                continue;
            }
            let bytes = batch.bytes(&run);
            let segment = run.segment.clamp(1, bytes.len().max(1));
            for d in bytes.chunks(segment) {
                self.send(run.local, run.remote, d);
            }
        }
        self.flush();
    }

    /// Queues one packet, framed, for the connection (base, remote).
    fn send(&mut self, base: SocketAddr, remote: SocketAddr, data: &[u8]) {
        let Ok(header) = frame_header(data.len()) else {
            self.dropped += 1;
            return;
        };
        let found = self.conns.iter().position(|c| {
            c.base == base && c.remote == remote && !matches!(c.state, State::Closed)
        });
        let ci = match found {
            Some(ci) => ci,
            None if base.port() == ACTIVE_PORT => {
                if self.conns.len() >= self.settings.max_connections {
                    tracing::debug!("ICE-TCP connect to {remote} skipped: connection limit");
                    self.dropped += 1;
                    return;
                }
                let connecting = connect(base.ip(), remote);
                let c = self.new_conn(base, remote, State::Connecting(connecting));
                self.conns.push(c);
                self.conns.len() - 1
            }
            None => {
                // Passive: only the peer opens the connection (RFC 6544 §7.1).
                self.dropped += 1;
                return;
            }
        };
        let c = &mut self.conns[ci];
        let queued = c.out.len() - c.out_pos;
        if queued + header.len() + data.len() > self.settings.max_buffered_bytes {
            self.dropped += 1;
            return;
        }
        c.out.extend_from_slice(&header);
        c.out.extend_from_slice(data);
    }

    /// Writes queued bytes without waiting.
    fn flush(&mut self) {
        for c in &mut self.conns {
            let State::Open(s) = &c.state else {
                continue;
            };
            while c.out_pos < c.out.len() {
                match s.try_write(&c.out[c.out_pos..]) {
                    Ok(n) => c.out_pos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::debug!("ICE-TCP write to {} failed: {e}", c.remote);
                        c.state = State::Closed;
                        break;
                    }
                }
            }
            if c.out_pos == c.out.len() {
                c.out.clear();
                c.out_pos = 0;
            } else if c.out_pos > c.out.len() / 2 {
                c.out.drain(..c.out_pos);
                c.out_pos = 0;
            }
        }
    }
}

/// Opens a connection from `ip` (an ephemeral port) to `remote`.
fn connect(ip: IpAddr, remote: SocketAddr) -> Connecting {
    Box::pin(async move {
        let socket = if ip.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(ip, 0))?;
        socket.connect(remote).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_cross_a_connection_and_oversize_frames_close_it() {
        let settings = IceTcpSettings {
            enabled: true,
            max_frame: 1000,
            ..IceTcpSettings::default()
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let mut a = TcpIo::bind(settings.clone(), &[lo], &[]).await;
        let mut b = TcpIo::bind(settings, &[lo], &[]).await;
        let b_listen = b.listeners()[0];
        let a_active = SocketAddr::new(lo, ACTIVE_PORT);
        assert!(a.is_tcp_base(a_active) && a.is_tcp_base(a.listeners()[0]));
        assert!(!a.is_tcp_base(SocketAddr::new(lo, 5000)));
        // Passive without a connection: dropped.
        b.send(b_listen, SocketAddr::new(lo, 1234), b"x");
        assert_eq!(b.dropped, 1);
        for i in 0..50u8 {
            a.send(a_active, b_listen, &vec![i; usize::from(i) * 10]);
        }
        let mut got: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while got.len() < 50 {
            tokio::select! {
                _ = std::future::poll_fn(|cx| a.poll(cx)) => { a.receive(|_, _, _| {}); }
                _ = std::future::poll_fn(|cx| b.poll(cx)) => {
                    b.receive(|base, remote, f| {
                        assert_eq!(base, b_listen);
                        got.push((remote, f.to_vec()));
                    });
                }
                _ = tokio::time::sleep_until(deadline) => panic!("frames not delivered: {}", got.len()),
            }
        }
        for (i, (_, f)) in got.iter().enumerate() {
            assert_eq!(f, &vec![i as u8; i * 10]);
        }
        // The answer goes back on the accepted connection.
        let a_seen = got[0].0;
        b.send(b_listen, a_seen, b"pong");
        b.flush();
        let mut back = Vec::new();
        while back.is_empty() {
            tokio::select! {
                _ = std::future::poll_fn(|cx| a.poll(cx)) => {
                    a.receive(|base, remote, f| {
                        assert_eq!((base, remote), (a_active, b_listen));
                        back.push(f.to_vec());
                    });
                }
                _ = tokio::time::sleep_until(deadline) => panic!("answer not delivered"),
            }
        }
        assert_eq!(back, vec![b"pong".to_vec()]);
        // Unauthenticated: closed once the deadline passed.
        assert_eq!(b.connections(), 1);
        assert!(b.expire(Instant::now(), |_, _| false).is_some());
        assert_eq!(
            b.expire(Instant::now() + Duration::from_secs(6), |_, _| false),
            None
        );
        assert_eq!(b.connections(), 0);
    }

    #[tokio::test]
    async fn a_refused_connect_is_reported_for_the_core() {
        let settings = IceTcpSettings {
            enabled: true,
            ..IceTcpSettings::default()
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let mut a = TcpIo::bind(settings, &[lo], &[]).await;
        // A port nothing listens on: a listener bound and closed again.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let base = SocketAddr::new(lo, ACTIVE_PORT);
        a.send(base, closed, b"check");
        assert_eq!(a.connections(), 1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            tokio::select! {
                _ = std::future::poll_fn(|cx| a.poll(cx)) => {}
                _ = tokio::time::sleep_until(deadline) => panic!("connect not refused"),
            }
            a.receive(|_, _, _| {});
            let failed = a.take_failed();
            if !failed.is_empty() {
                assert_eq!(failed, vec![(base, closed)]);
                break;
            }
        }
        a.expire(Instant::now(), |_, _| false);
        assert_eq!(a.connections(), 0);
    }

    #[tokio::test]
    async fn an_oversize_frame_closes_the_connection_and_the_limit_refuses_more() {
        let settings = IceTcpSettings {
            enabled: true,
            max_frame: 100,
            max_connections: 1,
            ..IceTcpSettings::default()
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let mut b = TcpIo::bind(settings, &[lo], &[]).await;
        let listen = b.listeners()[0];
        use tokio::io::AsyncWriteExt;
        let mut s1 = TcpStream::connect(listen).await.unwrap();
        let mut s2 = TcpStream::connect(listen).await.unwrap();
        s1.write_all(&[0, 3, 1, 2, 3, 0x01, 0x00]).await.unwrap();
        let mut frames = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            tokio::select! {
                _ = std::future::poll_fn(|cx| b.poll(cx)) => {}
                _ = tokio::time::sleep_until(deadline) => panic!("no progress"),
            }
            b.receive(|_, _, f| {
                assert_eq!(f, [1, 2, 3]);
                frames += 1;
            });
            b.expire(Instant::now(), |_, _| true);
            if frames == 1 && b.connections() == 0 {
                break;
            }
        }
        // The second connection was refused (limit 1): the peer sees it closed.
        let mut buf = [0u8; 1];
        use tokio::io::AsyncReadExt;
        let n = tokio::time::timeout(Duration::from_secs(5), s2.read(&mut buf))
            .await
            .expect("closed")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
}
