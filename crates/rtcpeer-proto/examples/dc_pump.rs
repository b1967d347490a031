//! A deterministic in-process benchmark of the connection's per-datagram path: two
//! rtcpeer-proto connections wired back to back through in-memory queues (no sockets, no
//! threads), a fake clock advanced by the loop, and seeded randomness for ICE, SCTP and the
//! signaling. After connecting, the offerer pushes 20,000 data-channel messages of 1 KiB and
//! then 200 of 64 KiB to the answerer.
//!
//! What it measures: the whole core per datagram — [`Connection::handle_input`] (RFC 7983
//! classification, DTLS decryption, SCTP, the data channels) and
//! [`Connection::poll_output`] (the transmit scheduler, SCTP packets sealed into DTLS
//! records, the event queues, the timers) — with nothing else in the loop but moving
//! buffers. Because the clock is fake and the random sources are seeded, the work done is
//! the same on every run (up to the certificates' key generation and DTLS's own handshake
//! randomness), so instruction counts under `valgrind --tool=callgrind` can be compared
//! across commits; wall-clock figures are printed too, for orientation only.
//!
//! Run it with `cargo run --release -p rtcpeer-proto --example dc_pump`; an optional
//! argument scales the message counts (`dc_pump 0.1` sends a tenth).

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use rtcpeer_proto::connection::{
    Connection, CoreEvent, DataChannelEvent, DataChannelId, Event, Input, IoRequest, Output,
};
use rtcpeer_proto::{
    Certificate, CertificateParams, Configuration, CoreSettings, DataChannelInit, IceAgentConfig,
    IceCandidateInit, OfferOptions, Payload, PeerConnectionState, SeededRandom,
};

/// Any error of the run.
type BoxError = Box<dyn StdError + Send + Sync>;

/// The two phases: (message count, message size).
const PHASES: [(usize, usize); 2] = [(20_000, 1024), (200, 64 * 1024)];

/// The offerer keeps at most this many bytes buffered in its channel (it sends again once
/// the buffer drained below it, as an application waiting for `bufferedamountlow` would).
const HIGH_WATER: u64 = 1 << 20;

/// Fake time that passes per round in which datagrams moved (one "flight" of the link).
const ROUND_TIME: Duration = Duration::from_micros(500);

/// The run fails if the transfer is not done by this much fake time.
const FAKE_DEADLINE: Duration = Duration::from_secs(600);

/// One connection and what the loop knows about it.
struct Peer {
    conn: Connection,
    addr: SocketAddr,
    /// The buffer `poll_output` appends a datagram to.
    tx: Vec<u8>,
    /// When to give the connection `Input::Timeout` next.
    timeout: Option<Instant>,
    /// `IoRequest::Start` came: report the address once the requests are answered.
    report_address: bool,
    /// Datagrams handed to the connection, and taken from it.
    received: u64,
    sent: u64,
    state: Option<PeerConnectionState>,
    /// The channel, once created (offerer) or announced (answerer), and whether it is open.
    channel: Option<DataChannelId>,
    open: bool,
    /// Local candidates to trickle to the other side.
    candidates: Vec<IceCandidateInit>,
    /// Messages (and their bytes) that arrived on the channel.
    messages: u64,
    bytes: u64,
}

impl Peer {
    fn new(addr: SocketAddr, seed: u64) -> Result<Peer, BoxError> {
        // A fixed time: the certificate's validity does not depend on when the run happens.
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let certificate = Certificate::generate(CertificateParams::default(), at)?;
        let mut conn = Connection::new(
            Configuration::default(),
            CoreSettings::default(),
            certificate,
            Box::new(SeededRandom::new(seed)),
        );
        conn.configure_ice(
            IceAgentConfig::default(),
            Box::new(SeededRandom::new(seed ^ 0x5eed)),
        );
        Ok(Peer {
            conn,
            addr,
            tx: Vec::with_capacity(2048),
            timeout: None,
            report_address: false,
            received: 0,
            sent: 0,
            state: None,
            channel: None,
            open: false,
            candidates: Vec::new(),
            messages: 0,
            bytes: 0,
        })
    }

    /// Hands the datagrams queued for this peer to the connection, then `BatchEnd`.
    fn receive(
        &mut self,
        now: Instant,
        link: &mut VecDeque<(SocketAddr, Vec<u8>)>,
    ) -> Result<usize, BoxError> {
        let n = link.len();
        for (remote, data) in link.drain(..) {
            let input = Input::Datagram {
                local: self.addr,
                remote,
                data: &data,
            };
            self.conn.handle_input(now, input)?;
        }
        if n > 0 {
            self.received += n as u64;
            self.conn.handle_input(now, Input::BatchEnd)?;
        }
        Ok(n)
    }

    /// Runs the timers if the deadline has come.
    fn tick(&mut self, now: Instant) -> Result<(), BoxError> {
        if self.timeout.is_some_and(|t| t <= now) {
            self.timeout = None;
            self.conn.handle_input(now, Input::Timeout)?;
        }
        Ok(())
    }

    /// Drains the output: datagrams go onto the link to the other peer, requests are
    /// answered, events are kept; returns how many datagrams left.
    fn flush(
        &mut self,
        now: Instant,
        link: &mut VecDeque<(SocketAddr, Vec<u8>)>,
    ) -> Result<usize, BoxError> {
        let mut n = 0;
        loop {
            self.tx.clear();
            match self.conn.poll_output(&mut self.tx) {
                Output::Transmit(t) => {
                    let d = &self.tx[self.tx.len() - t.len..];
                    link.push_back((self.addr, d.to_vec()));
                    n += 1;
                }
                Output::Event(e) => self.on_event(now, e)?,
                Output::Timeout(t) => {
                    if std::mem::take(&mut self.report_address) {
                        self.conn
                            .handle_input(now, Input::LocalAddress(self.addr))?;
                        continue;
                    }
                    self.timeout = t;
                    self.sent += n as u64;
                    return Ok(n);
                }
            }
        }
    }

    fn on_event(&mut self, now: Instant, e: Event) -> Result<(), BoxError> {
        match e {
            Event::Connection(c) => match *c {
                CoreEvent::IceCandidate(Some(c)) => self.candidates.push(c.to_json()),
                CoreEvent::ConnectionStateChange(s) => self.state = Some(s),
                CoreEvent::DataChannel(id) => self.channel = Some(id),
                _ => {}
            },
            Event::Channel(_, DataChannelEvent::Open) => self.open = true,
            Event::Channel(_, DataChannelEvent::Message(p)) => {
                self.messages += 1;
                self.bytes += match &p {
                    Payload::Text(s) => s.len(),
                    Payload::Binary(b) => b.len(),
                } as u64;
            }
            Event::Channel(..) | Event::Transceiver(..) | Event::Media(..) => {}
            Event::Io(r) => match r {
                IoRequest::Start => {
                    let input = Input::IoReady {
                        fresh_sockets_on_restart: false,
                    };
                    self.conn.handle_input(now, input)?;
                    self.report_address = true;
                }
                IoRequest::ResolveStunHosts(names) => {
                    for n in &names {
                        let input = Input::StunHostResolved {
                            url: &n.url,
                            addr: None,
                        };
                        self.conn.handle_input(now, input)?;
                    }
                }
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
                IoRequest::ResolveMdns(name) => {
                    let input = Input::MdnsResolved {
                        name: &name,
                        ip: None,
                    };
                    self.conn.handle_input(now, input)?;
                }
                IoRequest::SocketUnused(_)
                | IoRequest::LocalCredentials { .. }
                | IoRequest::TransportCredentials(_)
                | IoRequest::PublishMdnsName { .. }
                | IoRequest::ChannelForgotten(_) => {}
            },
        }
        Ok(())
    }
}

/// The two peers, the links between them and the fake clock.
struct Pump {
    a: Peer,
    b: Peer,
    /// Datagrams in flight to `a` and to `b`.
    to_a: VecDeque<(SocketAddr, Vec<u8>)>,
    to_b: VecDeque<(SocketAddr, Vec<u8>)>,
    start: Instant,
    now: Instant,
}

impl Pump {
    /// One round: each side takes what arrived, runs its due timers and sends; candidates
    /// trickle across. Then the fake clock moves on: by [`ROUND_TIME`] if anything moved,
    /// else to the earliest deadline.
    fn round(&mut self) -> Result<(), BoxError> {
        let now = self.now;
        let mut moved = self.a.receive(now, &mut self.to_a)?;
        moved += self.b.receive(now, &mut self.to_b)?;
        self.a.tick(now)?;
        self.b.tick(now)?;
        moved += self.a.flush(now, &mut self.to_b)?;
        moved += self.b.flush(now, &mut self.to_a)?;
        for c in std::mem::take(&mut self.a.candidates) {
            self.b.conn.add_ice_candidate(&c)?;
            moved += 1;
        }
        for c in std::mem::take(&mut self.b.candidates) {
            self.a.conn.add_ice_candidate(&c)?;
            moved += 1;
        }
        if moved > 0 {
            self.now += ROUND_TIME;
        } else {
            let next = [self.a.timeout, self.b.timeout].into_iter().flatten().min();
            self.now = next.map_or(self.now + ROUND_TIME, |t| t.max(self.now + ROUND_TIME));
        }
        if self.now - self.start > FAKE_DEADLINE {
            return Err("not done within the fake deadline".into());
        }
        Ok(())
    }
}

fn main() -> Result<(), BoxError> {
    let scale: f64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1.0,
    };
    let start = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:5001".parse()?;
    let b_addr: SocketAddr = "127.0.0.1:5002".parse()?;
    let mut p = Pump {
        a: Peer::new(a_addr, 1)?,
        b: Peer::new(b_addr, 2)?,
        to_a: VecDeque::new(),
        to_b: VecDeque::new(),
        start,
        now: start,
    };

    // Signaling in process; candidates trickle in `round`.
    let key =
        p.a.conn
            .create_data_channel("pump", &DataChannelInit::default(), true)?;
    p.a.channel = Some(key);
    let offer = p.a.conn.create_offer(&OfferOptions::default())?;
    p.a.conn.set_local_description(Some(offer.clone()))?;
    p.b.conn.set_remote_description(offer)?;
    let answer = p.b.conn.create_answer()?;
    p.b.conn.set_local_description(Some(answer.clone()))?;
    p.a.conn.set_remote_description(answer)?;

    while !(p.a.open && p.b.open) {
        p.round()?;
        for s in [p.a.state, p.b.state] {
            if s == Some(PeerConnectionState::Failed) {
                return Err("connection failed".into());
            }
        }
    }
    let connected_wall = start.elapsed();
    let connected_fake = p.now - p.start;
    let base = (p.a.received + p.a.sent, p.b.received + p.b.sent);

    let pump_wall = Instant::now();
    let pump_fake = p.now;
    let mut total_messages = 0u64;
    let mut total_bytes = 0u64;
    for (count, size) in PHASES {
        let count = ((count as f64) * scale).ceil() as u64;
        let payload = vec![0xa5u8; size];
        let (want_messages, want_bytes) = (p.b.messages + count, p.b.bytes + count * size as u64);
        let mut left = count;
        while p.b.messages < want_messages {
            while left > 0 && p.a.conn.data_channel_buffered_amount(key) < HIGH_WATER {
                let msg = Payload::Binary(payload.clone());
                p.a.conn.data_channel_send(key, msg, p.now)?;
                left -= 1;
            }
            p.round()?;
        }
        if p.b.bytes != want_bytes {
            return Err(format!("{} bytes arrived, {want_bytes} expected", p.b.bytes).into());
        }
        total_messages += count;
        total_bytes += count * size as u64;
    }
    let wall = pump_wall.elapsed();
    let fake = p.now - pump_fake;

    let datagrams = (
        p.a.received + p.a.sent - base.0,
        p.b.received + p.b.sent - base.1,
    );
    println!(
        "connected after {connected_fake:?} fake time ({connected_wall:?} wall, certificates included)"
    );
    println!(
        "{total_messages} messages, {total_bytes} bytes: {:.0} messages/s, {:.1} MB/s wall \
         ({wall:?}); {fake:?} fake time",
        total_messages as f64 / wall.as_secs_f64(),
        total_bytes as f64 / wall.as_secs_f64() / 1e6,
    );
    println!(
        "datagrams handled (in + out) during the transfer: sender {}, receiver {}",
        datagrams.0, datagrams.1
    );
    Ok(())
}
