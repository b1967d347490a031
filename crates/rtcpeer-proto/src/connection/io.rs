//! The connection's I/O surface, str0m- and quinn-proto-style: one input method
//! ([`Core::handle_input`]: datagrams, timeouts, what the driver bound or resolved) and one
//! output method ([`Core::poll_output`]: a datagram to send, a request to the driver, or when
//! to call again). The core still does no I/O: requests ask the driver to bind, resolve or
//! close sockets (RFC 8445 §5.1.1 gathering, §9 restarts; RFC 8489 §8 STUN servers by name;
//! draft-ietf-mmusic-mdns-ice-candidates §3.2).
//!
//! Every event comes out of [`Core::poll_output`] as an [`Event`] that says which object it
//! belongs to: the connection, a data channel, a transceiver, or the driver (an
//! [`IoRequest`]). [`Core::poll_event`] gives the same events without the driver's
//! requests, for callers that only deliver events (the API after a W3C call).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::error::Result;
use crate::session::scheduler::Transmit;

use super::{
    Core, CoreEvent, DataChannelEvent, DataChannelId, IceCredentials, StunHostName,
    TransceiverEvent, TransceiverId, TurnStreamServer,
};

/// Bound on queued driver requests; each kind is bounded at its source (mDNS names by
/// `MAX_PENDING_MDNS`, sockets by the interface limit), so this is only a backstop.
const MAX_IO_REQUESTS: usize = 1024;

/// Something the driver hands to the core ([`Core::handle_input`]).
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A datagram arrived on local socket `local` from `remote` (RFC 7983 demultiplexing
    /// follows).
    Datagram {
        /// The local socket it arrived on.
        local: SocketAddr,
        /// Where it came from.
        remote: SocketAddr,
        /// Its bytes.
        data: &'a [u8],
    },
    /// Time passed: run the timers due at `now`.
    Timeout,
    /// The driver handed every datagram it had for now (delayed SACKs go out with the next
    /// transmit, RFC 9260 §6.2).
    BatchEnd,
    /// How the driver binds sockets: `fresh_sockets_on_restart` when it can bind new ones
    /// for each ICE restart (own sockets, not a shared mux).
    IoReady {
        /// Each ICE restart gathers on freshly bound sockets.
        fresh_sockets_on_restart: bool,
    },
    /// The driver bound a UDP socket on this address: a host candidate (RFC 8445 §5.1.1.1).
    LocalAddress(SocketAddr),
    /// Every socket asked by [`IoRequest::BindSockets`] was reported (or failed).
    LocalAddressesDone,
    /// The driver listens for ICE-TCP connections on this address (RFC 6544 §5.1): a
    /// passive and an active TCP host candidate. Its port is used by no UDP socket of the
    /// connection. Packets of a TCP connection are then fed as [`Input::Datagram`]s, one per
    /// RFC 4571 frame, with `local` the connection's base (the listener for accepted
    /// connections, the IP with port 9 for the ones the driver opened) and `remote` the
    /// peer's address; transmits from such a base go over that connection, framed
    /// (`ice::framing`), opened first when the base is active.
    LocalTcpListener(SocketAddr),
    /// The ICE-TCP connection the driver opened for a transmit from active base `local` to
    /// `remote` failed to connect: that connectivity check fails at once (RFC 6544 §7.1).
    TcpConnectFailed {
        /// The active base (the IP with port 9).
        local: SocketAddr,
        /// The peer's passive candidate.
        remote: SocketAddr,
    },
    /// A STUN server's host name (from [`IoRequest::ResolveStunHosts`]) resolved, or not.
    StunHostResolved {
        /// The URL as configured.
        url: &'a str,
        /// Its address; `None` when it did not resolve in time.
        addr: Option<SocketAddr>,
    },
    /// The driver connected (TCP, and TLS for `turns:`) to a TURN server of
    /// [`IoRequest::ConnectTurnStreams`]: the messages read from the stream (cut with
    /// `turn::StreamDeframer`) come as [`Input::Datagram`]s from `server` to `local`, the
    /// transmits from `local` to `server` go on the stream (RFC 8656 §3.1).
    TurnStreamConnected {
        /// The URL as configured.
        url: &'a str,
        /// The connection's local address.
        local: SocketAddr,
        /// The server's address.
        server: SocketAddr,
    },
    /// The connection to a TURN server of [`IoRequest::ConnectTurnStreams`] could not be
    /// made (lookup, TCP connect or TLS handshake failed): `icecandidateerror` 701.
    TurnStreamFailed {
        /// The URL as configured.
        url: &'a str,
        /// What failed, for `errorText`.
        error: &'a str,
    },
    /// A connected TURN stream closed or broke (EOF, I/O error, unframeable bytes): its
    /// allocation and the ICE paths through it fail (RFC 8656 §3.1).
    TurnStreamClosed {
        /// The connection's local address.
        local: SocketAddr,
        /// The server's address.
        server: SocketAddr,
        /// Why, for `errorText`.
        error: &'a str,
    },
    /// A remote candidate's mDNS name (from [`IoRequest::ResolveMdns`]) resolved, or not.
    MdnsResolved {
        /// The `.local` name.
        name: &'a str,
        /// Its address; `None` when it did not resolve or mDNS is off.
        ip: Option<IpAddr>,
    },
    /// The application dropped the channel's last handle: once it is closed (and its
    /// `close` was handed out), the core forgets it and says so with
    /// [`IoRequest::ChannelForgotten`].
    ChannelReleased(DataChannelId),
}

/// What the driver must do for the core (the core does no I/O).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoRequest {
    /// The connection needs a driver from now on: it has an ICE agent, or
    /// `iceCandidatePoolSize` > 0 (webrtc-pc §4.4.1.1). Comes once, before the others.
    Start,
    /// Resolve these host-name STUN servers and answer with [`Input::StunHostResolved`]
    /// before reporting local addresses (RFC 8489 §8).
    ResolveStunHosts(Vec<StunHostName>),
    /// Connect to these TURN servers over TCP/TLS (RFC 8656 §3.1) and answer each with
    /// [`Input::TurnStreamConnected`] or [`Input::TurnStreamFailed`] before reporting local
    /// addresses (so the allocations are part of the first gathering phase).
    ConnectTurnStreams(Vec<TurnStreamServer>),
    /// Bind one new UDP socket on each IP (an ICE restart, RFC 8445 §9), report each with
    /// [`Input::LocalAddress`], then [`Input::LocalAddressesDone`].
    BindSockets(Vec<IpAddr>),
    /// The socket on this address is no longer used (an old generation's, once the
    /// selected pair left it): the driver may close it.
    SocketUnused(SocketAddr),
    /// Resolve this remote `.local` name and answer with [`Input::MdnsResolved`].
    ResolveMdns(String),
    /// Answer mDNS queries for `name` with `ip` until the connection closes: one of our host
    /// addresses hidden behind a random name ([`Core::set_hide_host_addresses`],
    /// draft-ietf-mmusic-mdns-ice-candidates §3.1.1, RFC 6762 §6).
    PublishMdnsName {
        /// The `<uuid>.local` name signalled in our candidates.
        name: String,
        /// The local address it stands for.
        ip: IpAddr,
    },
    /// The local ICE credentials of the current generation changed (a shared socket routes
    /// STUN by ufrag, RFC 8445 §7.3).
    LocalCredentials {
        /// `ice-ufrag`.
        ufrag: String,
        /// `ice-pwd`.
        pwd: String,
    },
    /// The local ICE credentials of the transports beyond the first changed (an answer to
    /// an offer that does not bundle has one transport per m-section, RFC 8843 §7): a
    /// shared socket routes STUN by each of these ufrags too. Empty: none any more.
    TransportCredentials(Vec<IceCredentials>),
    /// The core forgot this channel (released with [`Input::ChannelReleased`], closed, its
    /// `close` handed out before this): what the caller keeps for it may go too.
    ChannelForgotten(DataChannelId),
}

/// An event of [`Core::poll_output`] / [`Core::poll_event`], tagged with the object it
/// belongs to, in firing order (a round's connection events before its channel events, so
/// `datachannel` comes before the channel's `open`, webrtc-pc §6.2).
#[derive(Debug, Clone)]
pub enum Event {
    /// An event of the connection (webrtc-pc §4.4.1 and the transports' events); boxed so
    /// that [`Output`] stays small. Bounded: a loss is reported with
    /// [`CoreEvent::EventsDropped`].
    Connection(Box<CoreEvent>),
    /// An event of one data channel (webrtc-pc §6.2).
    Channel(DataChannelId, DataChannelEvent),
    /// A change to a transceiver's receiver track, remote streams or place in the set, for
    /// the API to apply to its objects (webrtc-pc §4.4.1.5). Never dropped: at most a few
    /// per transceiver per operation, in firing order with the connection's events.
    Transceiver(TransceiverId, TransceiverEvent),
    /// Media of a transceiver: a received RTP packet, a telephone event, a DTMF
    /// `tonechange` (bounded: packets the application does not read in time are dropped).
    Media(TransceiverId, super::MediaEvent),
    /// A request to the driver.
    Io(IoRequest),
}

/// What [`Core::poll_output`] gives, in this order: datagrams, then events, then when to
/// call [`Core::handle_input`] with [`Input::Timeout`] next.
#[derive(Debug, Clone)]
pub enum Output {
    /// A datagram was appended to the caller's buffer: send it.
    Transmit(Transmit),
    /// Something happened the caller must act on.
    Event(Event),
    /// Nothing more for now; call again at this time (`None`: no timer runs).
    Timeout(Option<Instant>),
}

/// The driver-request side of the core: what was reported to the driver, so each change is
/// told once.
#[derive(Debug, Default)]
pub(crate) struct IoOutbox {
    queue: VecDeque<IoRequest>,
    /// [`IoRequest::Start`] was queued.
    started: bool,
    /// Sockets the driver reported and has not been told to close.
    sockets: Vec<SocketAddr>,
    /// The last credentials told.
    creds: Option<IceCredentials>,
    /// The last credentials of further transports told.
    transport_creds: Vec<IceCredentials>,
    /// Channels forgotten and not yet told (at most the channels the table held).
    forgotten: VecDeque<DataChannelId>,
}

impl IoOutbox {
    fn push(&mut self, r: IoRequest) {
        if self.queue.len() < MAX_IO_REQUESTS {
            self.queue.push_back(r);
        } else {
            tracing::warn!("driver request dropped (queue full): {r:?}");
        }
    }
}

impl Core {
    /// The one input method: a datagram, a timeout, or what the driver bound or resolved
    /// (see [`Input`]). `now` is the time (the core reads no clock). Only
    /// [`Input::LocalAddress`] can fail (closed, or too many local addresses).
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<()> {
        self.session.timers.note(now);
        match input {
            Input::Datagram {
                local,
                remote,
                data,
            } => {
                self.handle_datagram(now, local, remote, data);
            }
            Input::Timeout => self.handle_timeout(now),
            Input::BatchEnd => self.input_drained(),
            Input::IoReady {
                fresh_sockets_on_restart,
            } => self.set_fresh_sockets_on_restart(fresh_sockets_on_restart),
            Input::LocalAddress(addr) => {
                // Tracked even when refused, so the driver is told to close it.
                if !self.io.sockets.contains(&addr)
                    && self.io.sockets.len() < crate::ice::MAX_LOCAL_INTERFACES * 4
                {
                    self.io.sockets.push(addr);
                }
                self.add_local_address(addr)?;
            }
            Input::LocalAddressesDone => self.local_addresses_complete(),
            Input::LocalTcpListener(addr) => self.add_local_tcp(addr)?,
            Input::TcpConnectFailed { local, remote } => self.tcp_connection_failed(local, remote),
            Input::StunHostResolved { url, addr } => self.set_stun_host_resolution(url, addr),
            Input::TurnStreamConnected { url, local, server } => {
                self.turn_stream_connected(url, local, server)
            }
            Input::TurnStreamFailed { url, error } => self.turn_stream_failed(url, error),
            Input::TurnStreamClosed {
                local,
                server,
                error,
            } => self.turn_stream_closed(local, server, error),
            Input::MdnsResolved { name, ip } => self.mdns_resolved(name, ip),
            Input::ChannelReleased(key) => self.release_data_channel(key),
        }
        Ok(())
    }

    /// The next event without the driver's requests, in firing order: the connection's
    /// (and transceivers') events first, then the data channels'; and
    /// [`IoRequest::Start`] once, when the connection first needs a driver (the one request
    /// a caller without a driver must act on: start one).
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.poll_connection_event() {
            return Some(e);
        }
        if let Some((key, e)) = self.poll_data_channel_event() {
            return Some(Event::Channel(key, e));
        }
        if let Some((id, e)) = self.session.poll_media_event() {
            return Some(Event::Media(id, e));
        }
        if !self.io.started && !self.is_closed() && self.needs_driver() {
            self.io.started = true;
            let names = self.stun_host_names();
            if !names.is_empty() {
                self.io.push(IoRequest::ResolveStunHosts(names));
            }
            let streams = self.turn_stream_servers();
            if !streams.is_empty() {
                self.io.push(IoRequest::ConnectTurnStreams(streams));
            }
            return Some(Event::Io(IoRequest::Start));
        }
        None
    }

    /// The one output method: appends the next datagram to `buf` ([`Output::Transmit`],
    /// nothing is allocated per datagram), else the next event ([`Core::poll_event`]), else
    /// the next driver request, else when to call again. Datagrams are stamped with the
    /// latest time an input gave.
    pub fn poll_output(&mut self, buf: &mut Vec<u8>) -> Output {
        if let Some(now) = self.session.timers.last_now()
            && let Some(t) = self.poll_transmit_into(now, buf)
        {
            return Output::Transmit(t);
        }
        if let Some(e) = self.poll_event() {
            return Output::Event(e);
        }
        // Every channel event was handed out: closed, released channels may go now (their
        // `close` is before this), each told once.
        if self.io.forgotten.is_empty() {
            let gone = self.prune_data_channels();
            self.io.forgotten.extend(gone);
        }
        if let Some(key) = self.io.forgotten.pop_front() {
            return Output::Event(Event::Io(IoRequest::ChannelForgotten(key)));
        }
        self.refresh_io_requests();
        if let Some(r) = self.io.queue.pop_front() {
            return Output::Event(Event::Io(r));
        }
        Output::Timeout(self.poll_timeout())
    }

    /// Queues the driver requests that state changes made due since the last poll.
    fn refresh_io_requests(&mut self) {
        // `Start` (and the names to resolve) came from `poll_event`.
        if self.is_closed() || !self.io.started {
            return;
        }
        if let Some(ips) = self.poll_socket_request() {
            self.io.push(IoRequest::BindSockets(ips));
        }
        while let Some(name) = self.poll_mdns_query() {
            self.io.push(IoRequest::ResolveMdns(name));
        }
        while let Some((name, ip)) = self.session.poll_hidden_name() {
            self.io.push(IoRequest::PublishMdnsName { name, ip });
        }
        // An old generation's sockets go once nothing uses them any more.
        let mut i = 0;
        while i < self.io.sockets.len() {
            let a = self.io.sockets[i];
            if self.uses_local_address(a) {
                i += 1;
            } else {
                self.io.sockets.swap_remove(i);
                self.io.push(IoRequest::SocketUnused(a));
            }
        }
        // Compared borrowed: nothing is allocated unless they changed.
        if let Some(c) = self.ice_local_creds()
            && self.io.creds.as_ref() != Some(c)
        {
            let c = c.clone();
            self.io.push(IoRequest::LocalCredentials {
                ufrag: c.ufrag.clone(),
                pwd: c.pwd.clone(),
            });
            self.io.creds = Some(c);
        }
        if self
            .session
            .extra_credentials_differ(&self.io.transport_creds)
        {
            let list = self.session.extra_local_credentials();
            self.io.push(IoRequest::TransportCredentials(list.clone()));
            self.io.transport_creds = list;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::{Configuration, IceServer};
    use crate::connection::{CoreSettings, DataChannelInit, OfferOptions};
    use crate::ice::IceAgentConfig;
    use crate::util::SeededRandom;

    fn core(config: Configuration, seed: u64) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        let mut c = Core::new(
            config,
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(seed)),
        );
        c.configure_ice(
            IceAgentConfig::default(),
            Box::new(SeededRandom::new(seed ^ 0xabcd)),
        );
        c
    }

    /// Every output until `Timeout`: (datagrams, requests, timeout).
    fn drain(c: &mut Core) -> (usize, Vec<IoRequest>, Option<Instant>) {
        let mut buf = Vec::new();
        let (mut n, mut reqs) = (0, Vec::new());
        loop {
            match c.poll_output(&mut buf) {
                Output::Transmit(t) => {
                    n += 1;
                    assert_eq!(t.len, buf.len());
                    buf.clear();
                }
                Output::Event(Event::Io(r)) => reqs.push(r),
                Output::Event(_) => {}
                Output::Timeout(t) => return (n, reqs, t),
            }
        }
    }

    /// TURN over TCP/TLS (RFC 8656 §3.1, RFC 7065 §3.1): the driver is asked to connect to
    /// the `?transport=tcp` and `turns:` servers only (not `turns:...?transport=udp`, DTLS,
    /// nor UDP ones), before any local address; a failed connection is an
    /// `icecandidateerror` 701 without address, its `turns:` url naming the transport.
    #[test]
    fn turn_tcp_and_tls_servers_are_connected_by_the_driver() {
        let config = Configuration {
            ice_servers: vec![IceServer {
                urls: vec![
                    "turn:192.0.2.1".into(),
                    "turn:t.example.org:3479?transport=tcp".into(),
                    "turns:t.example.org".into(),
                    "turns:[2001:db8::1]:5350?transport=udp".into(),
                ],
                username: Some("u".into()),
                credential: Some("p".into()),
            }],
            ..Configuration::default()
        };
        let mut c = core(config, 3);
        c.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = c.create_offer(&OfferOptions::default()).unwrap();
        c.set_local_description(Some(offer)).unwrap();
        let (_, reqs, _) = drain(&mut c);
        let streams: Vec<&IoRequest> = reqs
            .iter()
            .filter(|r| matches!(r, IoRequest::ConnectTurnStreams(_)))
            .collect();
        assert_eq!(
            streams,
            [&IoRequest::ConnectTurnStreams(vec![
                TurnStreamServer {
                    url: "turn:t.example.org:3479?transport=tcp".into(),
                    host: "t.example.org".into(),
                    port: 3479,
                    tls: false,
                },
                TurnStreamServer {
                    url: "turns:t.example.org".into(),
                    host: "t.example.org".into(),
                    port: 5349,
                    tls: true,
                },
            ])]
        );
        let now = Instant::now();
        let failed = Input::TurnStreamFailed {
            url: "turns:t.example.org",
            error: "TLS handshake failed",
        };
        c.handle_input(now, failed).unwrap();
        let mut buf = Vec::new();
        let mut errors = Vec::new();
        loop {
            match c.poll_output(&mut buf) {
                Output::Event(Event::Connection(e)) => {
                    if let CoreEvent::IceCandidateError(e) = *e {
                        errors.push(e);
                    }
                }
                Output::Timeout(_) => break,
                _ => buf.clear(),
            }
        }
        assert_eq!(
            errors,
            [crate::connection::IceCandidateError {
                address: None,
                port: None,
                url: "turns:t.example.org?transport=tcp".into(),
                error_code: 701,
                error_text: "TLS handshake failed".into(),
            }]
        );
        // A connection for a URL that is not configured, or closing an unknown one, is
        // ignored.
        let local: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = "192.0.2.9:3478".parse().unwrap();
        let bogus = Input::TurnStreamConnected {
            url: "turn:other.example.org?transport=tcp",
            local,
            server,
        };
        c.handle_input(now, bogus).unwrap();
        let closed = Input::TurnStreamClosed {
            local,
            server,
            error: "reset",
        };
        c.handle_input(now, closed).unwrap();
    }

    #[test]
    fn requests_come_once_when_due_start_first_then_credentials() {
        let config = Configuration {
            ice_servers: vec![IceServer {
                urls: vec!["stun:stun.example.org".into()],
                ..IceServer::default()
            }],
            ..Configuration::default()
        };
        let mut c = core(config, 1);
        let t0 = Instant::now();
        c.handle_input(t0, Input::Timeout).unwrap();
        // No agent, no pool: nothing for a driver.
        assert_eq!(drain(&mut c), (0, vec![], None));
        c.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = c.create_offer(&OfferOptions::default()).unwrap();
        c.set_local_description(Some(offer)).unwrap();
        let (n, reqs, timeout) = drain(&mut c);
        assert_eq!(n, 0);
        let p = c.ice_local_parameters(c.ice_transport().unwrap()).unwrap();
        assert_eq!(
            reqs,
            [
                IoRequest::Start,
                IoRequest::ResolveStunHosts(vec![StunHostName {
                    url: "stun:stun.example.org".into(),
                    host: "stun.example.org".into(),
                    port: 3478,
                }]),
                IoRequest::LocalCredentials {
                    ufrag: p.username_fragment,
                    pwd: p.password,
                },
            ]
        );
        // The set-description's work is due at once (the deferred timer).
        assert_eq!(timeout, Some(t0));
        // Told once.
        assert!(drain(&mut c).1.is_empty());
        // The driver answers; the agent gathers on the socket and checks start later.
        let local: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        c.handle_input(
            t0,
            Input::StunHostResolved {
                url: "stun:stun.example.org",
                addr: None,
            },
        )
        .unwrap();
        c.handle_input(t0, Input::LocalAddress(local)).unwrap();
        c.handle_input(t0, Input::Timeout).unwrap();
        let reqs = drain(&mut c).1;
        assert!(reqs.is_empty(), "{reqs:?}");
    }

    #[test]
    fn an_ice_restart_asks_for_fresh_sockets_and_new_credentials() {
        let mut c = core(Configuration::default(), 2);
        let t0 = Instant::now();
        c.handle_input(
            t0,
            Input::IoReady {
                fresh_sockets_on_restart: true,
            },
        )
        .unwrap();
        c.create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        let offer = c.create_offer(&OfferOptions::default()).unwrap();
        c.set_local_description(Some(offer)).unwrap();
        let old: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        c.handle_input(t0, Input::LocalAddress(old)).unwrap();
        let first = drain(&mut c).1;
        assert!(first.contains(&IoRequest::Start));
        c.set_local_description(None).ok();
        let offer = c
            .create_offer(&OfferOptions {
                ice_restart: true,
                ..OfferOptions::default()
            })
            .unwrap();
        c.set_local_description(Some(offer)).unwrap();
        let reqs = drain(&mut c).1;
        assert!(
            reqs.iter()
                .any(|r| matches!(r, IoRequest::BindSockets(ips) if ips == &[old.ip()])),
            "{reqs:?}"
        );
        assert!(
            reqs.iter()
                .any(|r| matches!(r, IoRequest::LocalCredentials { .. })),
            "{reqs:?}"
        );
        // No pair was selected on the old socket: the old generation's socket is no longer
        // used (a selected pair would keep it until the pair moves, RFC 8445 §9).
        assert!(reqs.contains(&IoRequest::SocketUnused(old)), "{reqs:?}");
        let new: SocketAddr = "10.0.0.1:1001".parse().unwrap();
        c.handle_input(t0, Input::LocalAddress(new)).unwrap();
        c.handle_input(t0, Input::LocalAddressesDone).unwrap();
        let reqs = drain(&mut c).1;
        assert!(reqs.is_empty(), "the new socket is used: {reqs:?}");
    }

    /// Every output until `Timeout`, events only.
    fn events(c: &mut Core) -> Vec<Event> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match c.poll_output(&mut buf) {
                Output::Transmit(_) => buf.clear(),
                Output::Event(e) => out.push(e),
                Output::Timeout(_) => return out,
            }
        }
    }

    #[test]
    fn a_released_channel_is_forgotten_after_its_close_was_handed_out() {
        let mut c = core(Configuration::default(), 3);
        let t0 = Instant::now();
        let key = c
            .create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        c.handle_input(t0, Input::ChannelReleased(key)).unwrap();
        let evs = events(&mut c);
        // Connection events first (negotiationneeded), no channel event, nothing forgotten:
        // the channel is not closed.
        assert!(
            matches!(&evs[..], [Event::Connection(e)] if matches!(**e, CoreEvent::NegotiationNeeded)),
            "{evs:?}"
        );
        c.close_data_channel(key, t0);
        let evs = events(&mut c);
        let close = evs
            .iter()
            .position(|e| matches!(e, Event::Channel(k, DataChannelEvent::Close) if *k == key))
            .expect("close");
        let forgotten = evs
            .iter()
            .position(|e| matches!(e, Event::Io(IoRequest::ChannelForgotten(k)) if *k == key))
            .expect("forgotten");
        assert!(close < forgotten, "{evs:?}");
        assert_eq!(c.data_channel_count(), 0);
        // Told once.
        assert!(events(&mut c).is_empty());
    }

    #[test]
    fn a_channel_with_a_handle_is_kept_after_close() {
        let mut c = core(Configuration::default(), 4);
        let t0 = Instant::now();
        let key = c
            .create_data_channel("x", &DataChannelInit::default(), true)
            .unwrap();
        c.close_data_channel(key, t0);
        let evs = events(&mut c);
        assert!(
            !evs.iter()
                .any(|e| matches!(e, Event::Io(IoRequest::ChannelForgotten(_)))),
            "{evs:?}"
        );
        assert_eq!(c.data_channel_count(), 1);
        c.handle_input(t0, Input::ChannelReleased(key)).unwrap();
        let evs = events(&mut c);
        assert!(
            matches!(&evs[..], [Event::Io(IoRequest::ChannelForgotten(k))] if *k == key),
            "{evs:?}"
        );
    }

    /// A full queue drops (and counts) connection events, never a transceiver change: the
    /// API's track registry mirrors those (webrtc-pc §4.4.1.5). They keep their place in
    /// the firing order.
    #[test]
    fn a_full_queue_drops_connection_events_but_never_transceiver_changes() {
        use crate::codecs::MediaKind;
        use crate::connection::{RtpTransceiverDirection, SignalingState};
        let mut c = core(Configuration::default(), 6);
        let n = crate::connection::MAX_EVENTS + 10;
        for _ in 0..n {
            c.emit(CoreEvent::SignalingStateChange(SignalingState::Stable));
        }
        // Queued behind the full queue: its `Added` must arrive, its `negotiationneeded`
        // is dropped (and counted).
        let id = c
            .add_transceiver(
                MediaKind::Audio,
                None,
                RtpTransceiverDirection::SendRecv,
                vec![],
                true,
            )
            .unwrap();
        let evs: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        let added = evs
            .iter()
            .position(|e| {
                matches!(e, Event::Transceiver(t, TransceiverEvent::Added { kind: MediaKind::Audio, .. }) if *t == id)
            })
            .expect("the transceiver change is delivered");
        let states = |evs: &[Event]| {
            evs.iter()
                .filter(|e| matches!(e, Event::Connection(c) if matches!(**c, CoreEvent::SignalingStateChange(_))))
                .count()
        };
        // Every connection event queued before it comes before it.
        assert_eq!(states(&evs[..added]), states(&evs));
        let dropped: u64 = evs
            .iter()
            .map(|e| match e {
                Event::Connection(c) => match **c {
                    CoreEvent::EventsDropped(k) => k,
                    _ => 0,
                },
                _ => 0,
            })
            .sum();
        assert_eq!(states(&evs) as u64 + dropped, n as u64 + 1, "{dropped}");
        assert!(!evs.iter().any(
            |e| matches!(e, Event::Connection(c) if matches!(**c, CoreEvent::NegotiationNeeded))
        ));
        assert_eq!(c.events_dropped(), dropped);
    }

    #[test]
    fn poll_event_asks_for_a_driver_once_when_the_pool_is_set() {
        let mut c = core(Configuration::default(), 5);
        assert!(c.poll_event().is_none());
        c.set_configuration(Configuration {
            ice_candidate_pool_size: 1,
            ..Configuration::default()
        })
        .unwrap();
        assert!(matches!(c.poll_event(), Some(Event::Io(IoRequest::Start))));
        assert!(c.poll_event().is_none());
        // The driver does not get it again.
        let mut buf = Vec::new();
        assert!(matches!(c.poll_output(&mut buf), Output::Timeout(_)));
    }
}
