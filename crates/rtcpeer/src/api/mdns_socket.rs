//! The driver's mDNS socket: resolves the `.local` names of remote ICE candidates that the
//! core asks for (`IoRequest::ResolveMdns`) with the sans-IO [`MdnsQuerier`], and hands the
//! answers back (`Input::MdnsResolved`); and, with `IceSettings::hide_host_addresses`,
//! answers queries for our own hidden host names (`IoRequest::PublishMdnsName`) with the
//! sans-IO [`MdnsResponder`] (RFC 6762 §6), saying goodbye (TTL 0, §10.1) when the
//! connection ends. Only used when one of the two settings is on, and the socket is opened
//! at the first name, so a connection that never meets a `.local` name sends no mDNS.
//!
//! The responder needs port 5353 (queriers such as Chromium's and ours ask the group): in
//! the legacy fallback below it answers only legacy unicast queries that reach it.
//!
//! Transport choice. Chromium's responder (`services/network/mdns_responder.cc`) answers
//! every query by multicast to 224.0.0.251:5353 from its per-interface sockets; it never
//! answers by unicast, neither to the QU bit (RFC 6762 §5.4) nor to a legacy unicast query
//! from another port (RFC 6762 §6.7). So the only way to hear a browser is to listen on
//! port 5353 in the group: the socket binds 0.0.0.0:5353 with SO_REUSEADDR/SO_REUSEPORT
//! (sharing the port with a system responder or a browser on the same host, RFC 6762 §15.1),
//! joins 224.0.0.251 on every IPv4 local address of the connection and sends QM
//! queries (multicast answers; a unicast answer to port 5353 would reach only one of the
//! sockets sharing it) out of each of those interfaces, TTL 255 (RFC 6762 §11). Only if
//! port 5353 cannot be bound does it fall back to an ephemeral port and legacy unicast
//! queries, which RFC 6762 §6.7 responders (Avahi, Apple's mDNSResponder) answer by unicast
//! but Chromium does not. IPv4 only: the answer to an A query carries a name's AAAA record
//! too (RFC 6762 §6.2), so IPv6 candidates resolve as long as one IPv4 interface is used.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::task::{Context, Poll};
use std::time::Instant;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

use rtcpeer_proto::io::{
    MDNS_GROUP_V4, MDNS_PORT, MdnsEvent, MdnsQuerier, MdnsQuerierConfig, MdnsResponder,
    MdnsResponderConfig, ResponderTransmit,
};

/// An open mDNS socket with its querier.
struct Open {
    socket: UdpSocket,
    querier: MdnsQuerier,
    /// Answers for our hidden host names.
    responder: MdnsResponder,
    /// Interfaces (by address) that queries leave from.
    out_ifaces: Vec<Ipv4Addr>,
}

/// The mDNS side of one connection's driver (see the module documentation).
pub(crate) struct MdnsSocket {
    ifaces: Vec<Ipv4Addr>,
    /// `IceSettings::mdns`: remote names are resolved (else refused at once).
    resolve: bool,
    open: Option<Open>,
    /// Opening failed once: every later name fails at once.
    broken: bool,
    out: Vec<Vec<u8>>,
    /// The responder's messages not sent yet.
    answers: Vec<ResponderTransmit>,
}

/// Binds the shared mDNS port (or, failing that, an ephemeral one) and joins the group.
fn open_socket(ifaces: &[Ipv4Addr]) -> io::Result<(UdpSocket, bool, Vec<Ipv4Addr>)> {
    let bind = |port: u16| -> io::Result<Socket> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        #[cfg(all(
            unix,
            not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
        ))]
        s.set_reuse_port(true)?;
        s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)).into())?;
        Ok(s)
    };
    let (s, legacy) = match bind(MDNS_PORT) {
        Ok(s) => (s, false),
        Err(e) => {
            tracing::info!("mDNS port {MDNS_PORT} unavailable ({e}): legacy unicast queries");
            (bind(0)?, true)
        }
    };
    s.set_nonblocking(true)?;
    s.set_multicast_ttl_v4(255)?;
    s.set_multicast_loop_v4(true)?;
    let mut out_ifaces = Vec::new();
    for ip in ifaces {
        if legacy {
            out_ifaces.push(*ip);
            continue;
        }
        match s.join_multicast_v4(&MDNS_GROUP_V4, ip) {
            Ok(()) => out_ifaces.push(*ip),
            Err(e) => tracing::debug!("mDNS: cannot join {MDNS_GROUP_V4} on {ip}: {e}"),
        }
    }
    if out_ifaces.is_empty() {
        return Err(io::Error::other("no interface joined the mDNS group"));
    }
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(s))?;
    Ok((socket, legacy, out_ifaces))
}

impl MdnsSocket {
    /// Queries leave from the IPv4 addresses among the connection's local addresses;
    /// `resolve`: remote names are resolved (`IceSettings::mdns`).
    pub(crate) fn new(interfaces: &[IpAddr], resolve: bool) -> MdnsSocket {
        let ifaces = interfaces
            .iter()
            .filter_map(|ip| match ip {
                IpAddr::V4(v4) if !v4.is_unspecified() && !v4.is_multicast() => Some(*v4),
                _ => None,
            })
            .collect();
        MdnsSocket {
            ifaces,
            resolve,
            open: None,
            broken: false,
            out: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn ensure_open(&mut self) -> Option<&mut Open> {
        if self.open.is_none() && !self.broken {
            match open_socket(&self.ifaces) {
                Ok((socket, legacy, out_ifaces)) => {
                    let config = MdnsQuerierConfig {
                        legacy_unicast: legacy,
                        ..MdnsQuerierConfig::default()
                    };
                    self.open = Some(Open {
                        socket,
                        querier: MdnsQuerier::new(config),
                        responder: MdnsResponder::new(MdnsResponderConfig::default()),
                        out_ifaces,
                    });
                }
                Err(e) => {
                    tracing::warn!("mDNS socket not opened ({e}): .local candidates are dropped");
                    self.broken = true;
                }
            }
        }
        self.open.as_mut()
    }

    /// Starts resolving `name` (the core's [`IoRequest::ResolveMdns`]); false when it
    /// cannot be queried (no socket, too many names): the caller answers "not resolved".
    ///
    /// [`IoRequest::ResolveMdns`]: rtcpeer_proto::jsep::IoRequest::ResolveMdns
    pub(crate) fn query(&mut self, name: &str, now: Instant) -> bool {
        if !self.resolve {
            tracing::debug!("mDNS candidate {name} dropped: IceSettings::mdns is off");
            return false;
        }
        let Some(open) = self.ensure_open() else {
            return false;
        };
        if let Err(e) = open.querier.query(name, now) {
            tracing::debug!("mDNS name {name:?} not queried: {e}");
            return false;
        }
        if let Some(open) = self.open.as_mut() {
            while let Some(q) = open.querier.poll_transmit() {
                self.out.push(q);
            }
        }
        true
    }

    /// Answers mDNS queries for `name` with `ip` from now on (the core's
    /// `IoRequest::PublishMdnsName`).
    pub(crate) fn publish(&mut self, name: &str, ip: IpAddr) {
        let Some(open) = self.ensure_open() else {
            tracing::warn!("mDNS name {name} not published: no mDNS socket");
            return;
        };
        match open.responder.register(name, ip) {
            Ok(()) => tracing::debug!("mDNS: answering for {name} ({ip})"),
            Err(e) => tracing::warn!("mDNS name {name} not published: {e}"),
        }
    }

    /// The connection ends: forgets our names and queues their goodbye (RFC 6762 §10.1)
    /// for [`Self::flush`].
    pub(crate) fn goodbye(&mut self) {
        if let Some(open) = self.open.as_mut() {
            open.responder.unregister_all();
            while let Some(t) = open.responder.poll_transmit() {
                self.answers.push(t);
            }
        }
    }

    /// One round: runs the querier's timers and hands every answer and failure to
    /// `resolved` (the core's [`Input::MdnsResolved`]); queries to send are kept for
    /// [`Self::flush`].
    ///
    /// [`Input::MdnsResolved`]: rtcpeer_proto::jsep::Input::MdnsResolved
    pub(crate) fn exchange(
        &mut self,
        now: Instant,
        mut resolved: impl FnMut(&str, Option<IpAddr>),
    ) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.querier.handle_timeout(now);
        while let Some(ev) = open.querier.poll_event() {
            match ev {
                MdnsEvent::Resolved { name, ip } => {
                    tracing::debug!("mDNS: {name} is {ip}");
                    resolved(&name, Some(ip));
                }
                MdnsEvent::Failed { name } => {
                    tracing::debug!("mDNS: {name} did not resolve");
                    resolved(&name, None);
                }
            }
        }
        while let Some(q) = open.querier.poll_transmit() {
            self.out.push(q);
        }
    }

    /// When [`Self::exchange`] must run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.open.as_ref().and_then(|o| o.querier.poll_timeout())
    }

    /// Sends the queued queries and answers to the group, out of every joined interface
    /// (answers to legacy queries by unicast to the querier).
    pub(crate) async fn flush(&mut self) {
        let Some(open) = self.open.as_ref() else {
            self.out.clear();
            self.answers.clear();
            return;
        };
        let group = SocketAddr::V4(SocketAddrV4::new(MDNS_GROUP_V4, MDNS_PORT));
        let mut multicast = Vec::new();
        for a in self.answers.drain(..) {
            match a.unicast {
                Some(to) => {
                    if let Err(e) = open.socket.send_to(&a.data, to).await {
                        tracing::debug!("mDNS: answer to {to} not sent: {e}");
                    }
                }
                None => multicast.push(a.data),
            }
        }
        for q in self.out.drain(..).chain(multicast) {
            for iface in &open.out_ifaces {
                if let Err(e) = SockRef::from(&open.socket).set_multicast_if_v4(iface) {
                    tracing::debug!("mDNS: cannot send from {iface}: {e}");
                    continue;
                }
                if let Err(e) = open.socket.send_to(&q, group).await {
                    tracing::debug!("mDNS: query from {iface} not sent: {e}");
                }
            }
        }
    }

    /// Polls for a datagram (pending while no socket is open).
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let Some(open) = self.open.as_ref() else {
            return Poll::Pending;
        };
        let mut rb = ReadBuf::new(buf);
        match open.socket.poll_recv_from(cx, &mut rb) {
            Poll::Ready(Ok(from)) => Poll::Ready(Ok((rb.filled().len(), from))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Feeds a received datagram to the responder (queries, bounded work per packet) and
    /// to the querier (responses; only those from port 5353 count, RFC 6762 §11, §6.7).
    /// The answers reach the core at the next [`Self::exchange`]; the responder's go out
    /// at the next [`Self::flush`].
    pub(crate) fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if !open.responder.is_empty() {
            open.responder.handle_datagram(now, from, data);
            while let Some(t) = open.responder.poll_transmit() {
                // Bounded by the responder's answers per second.
                self.answers.push(t);
            }
        }
        if from.port() == MDNS_PORT {
            open.querier.handle_datagram(now, data);
        }
    }

    /// Whether answers wait for [`Self::flush`].
    pub(crate) fn has_answers(&self) -> bool {
        !self.answers.is_empty()
    }
}
