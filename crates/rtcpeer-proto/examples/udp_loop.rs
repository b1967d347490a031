//! Two rtcpeer-proto connections in one process, each on its own `std::net::UdpSocket`
//! bound on 127.0.0.1, driven by one hand-written loop: no async runtime, no threads.
//!
//! The offerer creates a data channel; the offer and answer are exchanged in process, and so
//! are the ICE candidates (trickled as the connections report them). Once the channel is
//! open the offerer sends a message, the answerer echoes it back, the offerer closes the
//! channel, and both connections are closed.
//!
//! The loop is the driver a sans-IO user writes: it owns the sockets and the clock
//! (`Instant::now()`), gives each connection its input with
//! [`Connection::handle_input`] (datagrams, `Timeout` when the deadline it asked for has
//! come, answers to its I/O requests), and drains [`Connection::poll_output`] after every
//! change (datagrams to send, I/O requests, the next deadline). The sockets are
//! non-blocking; when nothing arrived the loop sleeps until the earliest deadline, at most
//! 1 ms, so a datagram waits at most that long. A real driver would wait on the sockets
//! with `poll`/`epoll` (e.g. `mio`) until that deadline instead.
//!
//! Run it with `cargo run -p rtcpeer-proto --example udp_loop`.

use std::error::Error as StdError;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use rtcpeer_proto::connection::{
    Connection, CoreEvent, DataChannelEvent, DataChannelId, Event, Input, IoRequest, Output,
};
use rtcpeer_proto::{
    Certificate, CertificateParams, Configuration, CoreSettings, DataChannelInit, IceAgentConfig,
    IceCandidateInit, OfferOptions, OsRandom, Payload, PeerConnectionState,
};

/// Any error of the run (socket errors, the core's errors, a timeout).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The message the offerer sends and expects back.
pub const MESSAGE: &[u8] = b"hello over a hand-driven data channel";

/// The whole run fails if it is not done by then.
const DEADLINE: Duration = Duration::from_secs(20);

/// The longest the loop sleeps when nothing arrived (its reaction time to a datagram).
const MAX_IDLE: Duration = Duration::from_millis(1);

/// Datagrams read from one socket before the connection's output is flushed.
const RECV_BATCH: usize = 64;

/// What happened, for `main` to print and the test to check.
#[derive(Debug)]
pub struct Summary {
    /// The offerer's socket.
    pub offerer: SocketAddr,
    /// The answerer's socket.
    pub answerer: SocketAddr,
    /// When the offerer's connection state became "connected" (since the start).
    pub offerer_connected: Option<Duration>,
    /// When the answerer's connection state became "connected".
    pub answerer_connected: Option<Duration>,
    /// What the answerer received on the channel.
    pub received: Option<Vec<u8>>,
    /// What came back to the offerer.
    pub echoed: Option<Vec<u8>>,
    /// From the send of the message to the arrival of its echo.
    pub round_trip: Option<Duration>,
    /// The channel's `close` event fired on the offerer's side and on the answerer's.
    pub channel_closed: (bool, bool),
    /// After `close()` and the flush of what it left to send, neither connection needs a
    /// driver or asks for a timer any more: the driver can drop it.
    pub done_after_close: bool,
    /// Datagrams (sent, received) by the offerer and the answerer.
    pub datagrams: ((u64, u64), (u64, u64)),
    /// The whole run, certificates included.
    pub total: Duration,
    /// What happened, in order, with the time since the start.
    pub log: Vec<String>,
}

/// The run's log: what happened, with the time since the start.
struct Log {
    start: Instant,
    lines: Vec<String>,
}

impl Log {
    fn note(&mut self, what: String) {
        self.lines
            .push(format!("{:>9.3?}  {what}", self.start.elapsed()));
    }
}

/// One connection with its socket and what the loop knows about it.
struct Peer {
    name: &'static str,
    conn: Connection,
    socket: UdpSocket,
    addr: SocketAddr,
    /// The buffer `poll_output` appends a datagram to (reused: no allocation per datagram).
    tx: Vec<u8>,
    /// The receive buffer.
    rx: Vec<u8>,
    /// When to give the connection `Input::Timeout` next.
    timeout: Option<Instant>,
    /// `IoRequest::Start` came: report the socket once this batch of requests is answered
    /// (STUN host names are resolved before the local addresses are reported).
    report_address: bool,
    sent: u64,
    received: u64,
    connected: Option<Duration>,
    channel: Option<DataChannelId>,
    channel_closed: bool,
    message: Option<Vec<u8>>,
    /// Events `poll_output` gave since the loop last looked.
    happened: Vec<Happening>,
}

/// What the loop reacts to, read from the connection's events.
#[derive(Debug)]
enum Happening {
    /// A local candidate to trickle to the other side (empty text: end of candidates).
    Candidate(IceCandidateInit),
    /// `connectionstatechange`.
    State(PeerConnectionState),
    /// `datachannel`: the peer opened a channel.
    RemoteChannel(DataChannelId),
    /// The channel's `open`.
    Open(DataChannelId),
    /// The channel's `message`.
    Message(DataChannelId, Payload),
    /// The channel's `close`.
    Closed(DataChannelId),
}

/// Keeps what the loop reacts to from one of the connection's W3C events (every event
/// leaves through `poll_output`, tagged with the object it belongs to; the connection
/// orders them so that `datachannel` comes before the channel's `open`). This is the one
/// place that knows what the events look like.
fn happening(e: Event, out: &mut Vec<Happening>) {
    match e {
        Event::Connection(c) => match *c {
            CoreEvent::IceCandidate(Some(c)) => out.push(Happening::Candidate(c.to_json())),
            CoreEvent::ConnectionStateChange(s) => out.push(Happening::State(s)),
            CoreEvent::DataChannel(id) => out.push(Happening::RemoteChannel(id)),
            _ => {}
        },
        Event::Channel(id, e) => match e {
            DataChannelEvent::Open => out.push(Happening::Open(id)),
            DataChannelEvent::Message(p) => out.push(Happening::Message(id, p)),
            DataChannelEvent::Close => out.push(Happening::Closed(id)),
            _ => {}
        },
        // Requests to the driver are answered in `Peer::on_output_event`; transceiver
        // and media events concern media, which this example has none of.
        Event::Io(_) | Event::Transceiver(..) | Event::Media(..) => {}
    }
}

fn bytes(p: &Payload) -> &[u8] {
    match p {
        Payload::Text(s) => s.as_bytes(),
        Payload::Binary(b) => b,
    }
}

impl Peer {
    fn new(name: &'static str) -> Result<Peer, BoxError> {
        let certificate = Certificate::generate(CertificateParams::default(), SystemTime::now())?;
        // No STUN or TURN server: the host candidates on loopback are all it needs.
        let config = Configuration::default();
        config.validate()?;
        let mut conn = Connection::new(
            config,
            CoreSettings::default(),
            certificate,
            Box::new(OsRandom),
        );
        conn.configure_ice(IceAgentConfig::default(), Box::new(OsRandom));
        // Loopback only: the example never sends anywhere else.
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        Ok(Peer {
            name,
            conn,
            socket,
            addr,
            tx: Vec::with_capacity(2048),
            rx: vec![0; 65536],
            timeout: None,
            report_address: false,
            sent: 0,
            received: 0,
            connected: None,
            channel: None,
            channel_closed: false,
            message: None,
            happened: Vec::new(),
        })
    }

    /// Hands every datagram waiting on the socket to the connection, then `BatchEnd`.
    fn receive(&mut self) -> Result<usize, BoxError> {
        let mut n = 0;
        while n < RECV_BATCH {
            match self.socket.recv_from(&mut self.rx) {
                Ok((len, remote)) => {
                    let data = &self.rx[..len];
                    let input = Input::Datagram {
                        local: self.addr,
                        remote,
                        data,
                    };
                    self.conn.handle_input(Instant::now(), input)?;
                    n += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if n > 0 {
            self.received += n as u64;
            self.conn.handle_input(Instant::now(), Input::BatchEnd)?;
        }
        Ok(n)
    }

    /// Runs the connection's timers if its deadline has come.
    fn tick(&mut self, now: Instant) -> Result<(), BoxError> {
        if self.timeout.is_some_and(|t| t <= now) {
            self.timeout = None;
            self.conn.handle_input(now, Input::Timeout)?;
        }
        Ok(())
    }

    /// Drains the connection's output: sends its datagrams, answers its requests, and keeps
    /// the deadline it gives last.
    fn flush(&mut self, now: Instant) -> Result<(), BoxError> {
        loop {
            self.tx.clear();
            match self.conn.poll_output(&mut self.tx) {
                Output::Transmit(t) => {
                    // The datagram is the last `t.len` bytes of the buffer; `t.local` is our
                    // one socket.
                    let datagram = &self.tx[self.tx.len() - t.len..];
                    match self.socket.send_to(datagram, t.remote) {
                        Ok(_) => self.sent += 1,
                        // UDP may lose datagrams; the protocols retransmit.
                        Err(e) => eprintln!("{}: send to {} failed: {e}", self.name, t.remote),
                    }
                }
                Output::Event(e) => self.on_output_event(now, e)?,
                Output::Timeout(t) => {
                    if std::mem::take(&mut self.report_address) {
                        // Our one socket is the host candidate (RFC 8445 §5.1.1.1).
                        self.conn
                            .handle_input(now, Input::LocalAddress(self.addr))?;
                        continue;
                    }
                    self.timeout = t;
                    return Ok(());
                }
            }
        }
    }

    /// Answers what the connection asks of its driver.
    fn on_output_event(&mut self, now: Instant, e: Event) -> Result<(), BoxError> {
        let request = match e {
            Event::Io(request) => request,
            other => {
                happening(other, &mut self.happened);
                return Ok(());
            }
        };
        match request {
            IoRequest::Start => {
                // Our socket exists already and is all we have: no fresh ones on an ICE
                // restart.
                let input = Input::IoReady {
                    fresh_sockets_on_restart: false,
                };
                self.conn.handle_input(now, input)?;
                self.report_address = true;
            }
            // No STUN server is configured; were one given by name, this is where it
            // would be resolved (`std::net::ToSocketAddrs`).
            IoRequest::ResolveStunHosts(names) => {
                for n in &names {
                    let input = Input::StunHostResolved {
                        url: &n.url,
                        addr: None,
                    };
                    self.conn.handle_input(now, input)?;
                }
            }
            // No socket can be added: say that is all.
            // No TCP here: a TURN-over-TCP/TLS server is reported unreachable.
            IoRequest::ConnectTurnStreams(servers) => {
                for s in &servers {
                    let input = Input::TurnStreamFailed {
                        url: &s.url,
                        error: "this driver has no TCP",
                    };
                    self.conn.handle_input(now, input)?;
                }
            }
            IoRequest::BindSockets(_) => {
                self.conn.handle_input(now, Input::LocalAddressesDone)?;
            }
            // No mDNS here: the name does not resolve.
            IoRequest::ResolveMdns(name) => {
                let input = Input::MdnsResolved {
                    name: &name,
                    ip: None,
                };
                self.conn.handle_input(now, input)?;
            }
            // One socket, not shared: nothing to close, nothing to route by ufrag.
            IoRequest::SocketUnused(_)
            | IoRequest::LocalCredentials { .. }
            | IoRequest::TransportCredentials(_) => {}
            // Hiding host addresses is off here: no name is ever published.
            IoRequest::PublishMdnsName { .. } => {}
            // The connection forgot a closed channel we released: a driver that keeps
            // per-channel state (queues, handles) drops it here. The example keeps none.
            IoRequest::ChannelForgotten(_) => {}
        }
        Ok(())
    }
}

/// Runs the whole exchange; `Err` if anything fails or it is not done within 20 s.
pub fn run() -> Result<Summary, BoxError> {
    let start = Instant::now();
    let mut log = Log {
        start,
        lines: Vec::new(),
    };

    let mut offerer = Peer::new("offerer")?;
    let mut answerer = Peer::new("answerer")?;
    log.note(format!(
        "offerer on {}, answerer on {}",
        offerer.addr, answerer.addr
    ));

    // Signaling, in process. The descriptions carry no candidates: they trickle below.
    // `true`: no other W3C operation is pending (the operations chain is empty).
    let init = DataChannelInit::default();
    offerer.channel = Some(offerer.conn.create_data_channel("echo", &init, true)?);
    let offer = offerer.conn.create_offer(&OfferOptions::default())?;
    offerer.conn.set_local_description(Some(offer.clone()))?;
    answerer.conn.set_remote_description(offer)?;
    let answer = answerer.conn.create_answer()?;
    answerer.conn.set_local_description(Some(answer.clone()))?;
    offerer.conn.set_remote_description(answer)?;
    log.note("offer and answer applied".into());

    let mut sent_at = None;
    let mut round_trip = None;
    let mut events = Vec::new();
    loop {
        let now = Instant::now();
        if now - start > DEADLINE {
            return Err(format!("not done within {DEADLINE:?}; so far: {:#?}", log.lines).into());
        }
        let mut progress = false;
        for p in [&mut offerer, &mut answerer] {
            progress |= p.receive()? > 0;
            p.tick(now)?;
            p.flush(now)?;
        }

        // React to what happened on each side (the peers' roles differ only here).
        for offering in [true, false] {
            let (me, other) = if offering {
                (&mut offerer, &mut answerer)
            } else {
                (&mut answerer, &mut offerer)
            };
            events.append(&mut me.happened);
            progress |= !events.is_empty();
            for h in events.drain(..) {
                match h {
                    Happening::Candidate(c) => {
                        let text = if c.candidate.is_empty() {
                            "end of candidates".to_string()
                        } else {
                            c.candidate.clone()
                        };
                        log.note(format!("{}: candidate {text}", me.name));
                        other.conn.add_ice_candidate(&c)?;
                    }
                    Happening::State(s) => {
                        log.note(format!("{}: connection state {s:?}", me.name));
                        match s {
                            PeerConnectionState::Connected => {
                                me.connected = Some(start.elapsed());
                            }
                            PeerConnectionState::Failed => {
                                return Err(format!("{}: connection failed", me.name).into());
                            }
                            _ => {}
                        }
                    }
                    Happening::RemoteChannel(id) => {
                        log.note(format!("{}: the peer opened a channel", me.name));
                        me.channel = Some(id);
                    }
                    Happening::Open(id) => {
                        log.note(format!("{}: channel open", me.name));
                        if offering {
                            let payload = Payload::Binary(MESSAGE.to_vec());
                            me.conn.data_channel_send(id, payload, now)?;
                            sent_at = Some(Instant::now());
                            log.note(format!("{}: sent {} bytes", me.name, MESSAGE.len()));
                        }
                    }
                    Happening::Message(id, payload) => {
                        let data = bytes(&payload).to_vec();
                        log.note(format!("{}: received {} bytes", me.name, data.len()));
                        me.message = Some(data);
                        if offering {
                            round_trip = sent_at.map(|t| t.elapsed());
                            me.conn.close_data_channel(id, now);
                            log.note(format!("{}: closing the channel", me.name));
                        } else {
                            me.conn.data_channel_send(id, payload, now)?;
                            log.note(format!("{}: echoed it", me.name));
                        }
                    }
                    Happening::Closed(id) => {
                        if me.channel == Some(id) {
                            log.note(format!("{}: channel closed", me.name));
                            me.channel_closed = true;
                        }
                    }
                }
            }
            // What the reactions caused (the candidates given to `other` included) leaves now.
            me.flush(now)?;
            other.flush(now)?;
        }

        if offerer.channel_closed && answerer.channel_closed {
            break;
        }
        if !progress {
            // Nothing arrived and nothing happened: wait for the next deadline, briefly.
            let next = [offerer.timeout, answerer.timeout]
                .into_iter()
                .flatten()
                .min();
            let wait = next.map_or(MAX_IDLE, |t| t.saturating_duration_since(Instant::now()));
            std::thread::sleep(wait.min(MAX_IDLE));
        }
    }

    // `close()` fires no events; what it leaves to send (SCTP ABORT, DTLS close_notify)
    // goes out with the next flush.
    let now = Instant::now();
    for p in [&mut offerer, &mut answerer] {
        p.conn.close();
        p.flush(now)?;
    }
    let done_after_close = [&offerer, &answerer]
        .iter()
        .all(|p| p.timeout.is_none() && !p.conn.needs_driver());
    log.note("both connections closed".into());

    Ok(Summary {
        offerer: offerer.addr,
        answerer: answerer.addr,
        offerer_connected: offerer.connected,
        answerer_connected: answerer.connected,
        received: answerer.message,
        echoed: offerer.message,
        round_trip,
        channel_closed: (offerer.channel_closed, answerer.channel_closed),
        done_after_close,
        datagrams: (
            (offerer.sent, offerer.received),
            (answerer.sent, answerer.received),
        ),
        total: start.elapsed(),
        log: log.lines,
    })
}

fn main() -> Result<(), BoxError> {
    let s = run()?;
    for line in &s.log {
        println!("{line}");
    }
    let echoed = s.echoed.as_deref() == Some(MESSAGE);
    println!(
        "connected after {:?} (offerer) / {:?} (answerer); echo {} in {:?}; \
         datagrams sent/received: offerer {:?}, answerer {:?}; total {:?}",
        s.offerer_connected.unwrap_or_default(),
        s.answerer_connected.unwrap_or_default(),
        if echoed { "matched" } else { "DID NOT match" },
        s.round_trip.unwrap_or_default(),
        s.datagrams.0,
        s.datagrams.1,
        s.total,
    );
    if !echoed {
        return Err("the echo did not match the message".into());
    }
    Ok(())
}
