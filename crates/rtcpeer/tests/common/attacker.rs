//! A hostile WebRTC peer for the adversarial tests (`tests/hostile_peer.rs`).
//!
//! The attacker does everything a real peer does to get in — ICE over a real UDP socket on
//! 127.0.0.1 (rtcpeer's own [`IceAgent`]), DTLS with its own certificate (rtcpeer's own
//! [`DtlsConnection`]) — and then speaks SCTP by hand: it answers the victim's INIT itself
//! (RFC 9260 §5.1), keeps just enough state to write valid packets (verification tags, its
//! next TSN, per-stream SSNs, the victim's cumulative TSN) and can therefore put any chunk,
//! in any order, into the connection. It also writes DCEP (rtcpeer's own codec), STUN
//! (rtcpeer's own writer) and raw DTLS records, and sends arbitrary datagrams from the
//! peer's address (it owns that socket) or from other sockets.
//!
//! Everything runs synchronously on the calling thread (a blocking socket with read
//! timeouts), so the attacker's CPU time never lands on the victim's thread. Call
//! [`Attacker::pump`] between bursts: it answers the victim's consent checks, heartbeats and
//! DATA (with SACKs) so the victim keeps the connection up.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use rtcpeer::{DtlsFingerprint, SdpType, SessionDescription};
use rtcpeer_proto::cert::{Certificate, CertificateParams};
use rtcpeer_proto::datachannel::{DcepMessage, Open, PPID_DCEP, Reliability};
use rtcpeer_proto::dtls::{
    DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole, DtlsSettings, RemoteFingerprints,
};
use rtcpeer_proto::ice::{IceAgent, IceAgentConfig, IceConnectionState, IceEvent};
use rtcpeer_proto::sdp::Candidate;
use rtcpeer_proto::stun::{Class, MessageWriter, Method, TransactionId};
use rtcpeer_proto::util::{RandomSource, SeededRandom};

// SCTP chunk and parameter types (RFC 9260 §3.2, RFC 3758 §3.2, RFC 6525 §3-4). The
// attacker writes them itself: rtcpeer's codec is internal, and an attacker must be free to
// write what that codec would refuse.
/// DATA chunk type.
pub const CT_DATA: u8 = 0;
/// INIT chunk type.
pub const CT_INIT: u8 = 1;
/// INIT ACK chunk type.
pub const CT_INIT_ACK: u8 = 2;
/// SACK chunk type.
pub const CT_SACK: u8 = 3;
/// HEARTBEAT chunk type.
pub const CT_HEARTBEAT: u8 = 4;
/// HEARTBEAT ACK chunk type.
pub const CT_HEARTBEAT_ACK: u8 = 5;
/// ABORT chunk type.
pub const CT_ABORT: u8 = 6;
/// COOKIE ECHO chunk type.
pub const CT_COOKIE_ECHO: u8 = 10;
/// COOKIE ACK chunk type.
pub const CT_COOKIE_ACK: u8 = 11;
/// RE-CONFIG chunk type (RFC 6525).
pub const CT_RECONFIG: u8 = 130;
/// FORWARD TSN chunk type (RFC 3758).
pub const CT_FORWARD_TSN: u8 = 192;
/// DATA flag: last fragment.
pub const FLAG_END: u8 = 0x01;
/// DATA flag: first fragment.
pub const FLAG_BEGIN: u8 = 0x02;
/// DATA flag: unordered.
pub const FLAG_UNORDERED: u8 = 0x04;
const PT_STATE_COOKIE: u16 = 7;
const PT_OUTGOING_RESET: u16 = 13;
const PT_RECONFIG_RESPONSE: u16 = 16;
const PT_SUPPORTED_EXTENSIONS: u16 = 0x8008;
const PT_FORWARD_TSN_SUPPORTED: u16 = 0xC000;
/// PPID of a string message (RFC 8831 §8).
pub const PPID_STRING: u32 = 51;

/// SCTP port on both sides (`a=sctp-port`, RFC 8841).
const SCTP_PORT: u16 = 5000;
/// Every wait for the victim ends long before this unless something is broken.
const WAIT: Duration = Duration::from_secs(20);

/// Bytes and datagrams seen on the attacker's main socket (the peer address the victim
/// knows), for amplification figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wire {
    /// Datagrams sent from the main socket.
    pub sent_datagrams: u64,
    /// Bytes sent from the main socket.
    pub sent_bytes: u64,
    /// Datagrams received on the main socket.
    pub received_datagrams: u64,
    /// Bytes received on the main socket.
    pub received_bytes: u64,
}

/// One message the victim sent on a stream (reassembled from its DATA fragments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The SCTP stream (the data channel id).
    pub stream: u16,
    /// The payload protocol identifier (RFC 8831 §8).
    pub ppid: u32,
    /// The message.
    pub data: Vec<u8>,
}

/// The attacker's hand-kept SCTP association state (RFC 9260 §5): only what it takes to
/// write packets the victim accepts and to keep the victim's sender happy.
#[derive(Debug, Default)]
struct RawSctp {
    /// The tag the victim puts in its packets (our Initiate Tag).
    my_tag: u32,
    /// The tag we put in ours (the victim's Initiate Tag); 0 until its INIT arrived.
    peer_tag: u32,
    /// TSN of our next DATA chunk.
    next_tsn: u32,
    /// Next SSN per outgoing stream (ordered messages).
    ssn: HashMap<u16, u16>,
    /// Highest TSN received in sequence from the victim.
    peer_cum: u32,
    /// COOKIE ECHO seen: the association is up.
    established: bool,
    /// The victim sent ABORT.
    aborted: bool,
    /// Fragments of the message being received, per stream.
    partial: HashMap<u16, Vec<u8>>,
    /// Streams the victim reset (its outgoing streams, RFC 6525 §5.1.2).
    reset_streams: Vec<u16>,
    /// The victim's cumulative TSN ack of our DATA, from its last SACK.
    acked: Option<u32>,
    /// Our next RE-CONFIG request sequence number.
    reconfig_seq: u32,
    /// SACK chunks received.
    sacks: u64,
}

/// What the victim's description told the attacker (RFC 8839, RFC 8122, RFC 8842).
#[derive(Debug, Clone)]
pub struct RemoteParams {
    /// `a=ice-ufrag`.
    pub ufrag: String,
    /// `a=ice-pwd`.
    pub pwd: String,
    /// `a=fingerprint` values.
    pub fingerprints: Vec<DtlsFingerprint>,
    /// `a=setup` value.
    pub setup: String,
    /// `a=candidate` lines, parsed.
    pub candidates: Vec<Candidate>,
}

impl RemoteParams {
    /// Reads the ICE, DTLS and candidate attributes of a victim's SDP text.
    pub fn from_sdp(sdp: &str) -> RemoteParams {
        let attr = |name: &str| {
            sdp.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("victim SDP has no {name}"))
                .trim()
                .to_string()
        };
        let fingerprints = sdp
            .lines()
            .filter_map(|l| l.strip_prefix("a=fingerprint:"))
            .map(|f| {
                let (algorithm, value) = f.trim().split_once(' ').expect("fingerprint value");
                DtlsFingerprint {
                    algorithm: algorithm.to_ascii_lowercase(),
                    value: value.to_ascii_lowercase(),
                }
            })
            .collect();
        let candidates = sdp
            .lines()
            .filter_map(|l| l.strip_prefix("a="))
            .filter(|l| l.starts_with("candidate:"))
            .map(|l| Candidate::parse(l.trim()).expect("victim candidate parses"))
            .collect();
        RemoteParams {
            ufrag: attr("a=ice-ufrag:"),
            pwd: attr("a=ice-pwd:"),
            fingerprints,
            setup: attr("a=setup:"),
            candidates,
        }
    }
}

/// The hostile peer. See the module documentation.
pub struct Attacker {
    sock: UdpSocket,
    local: SocketAddr,
    ufrag: String,
    pwd: String,
    cert: Certificate,
    ice: IceAgent,
    dtls: DtlsConnection,
    dtls_role: Option<DtlsRole>,
    remote_fingerprints: Vec<DtlsFingerprint>,
    /// The victim's address on the selected pair (where every attack datagram goes).
    victim: Option<SocketAddr>,
    dtls_connected: bool,
    victim_creds: Option<(String, String)>,
    dtls_in: u64,
    sctp: RawSctp,
    rng: SeededRandom,
    received: Vec<Received>,
    /// Transaction ids and sizes of the STUN probes sent with [`Attacker::send_stun_probe`].
    probe_ids: Vec<([u8; 12], usize)>,
    /// (request bytes, reply bytes) of every victim reply to one of our probes.
    probe_replies: Vec<(usize, usize)>,
    /// Datagrams the victim sent that we could not classify (neither STUN nor DTLS).
    pub odd_datagrams: u64,
    /// Traffic on the main socket.
    pub wire: Wire,
}

impl Attacker {
    /// A new attacker on an ephemeral port of 127.0.0.1, ICE controlling (it will offer).
    pub fn new(seed: u64) -> Attacker {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind attacker socket");
        let local = sock.local_addr().unwrap();
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("attacker certificate");
        let dtls_config = DtlsConfig::new(&DtlsSettings::default()).unwrap();
        let dtls = DtlsConnection::new(cert.clone(), &dtls_config).unwrap();
        // The attacker never gives up on the victim: a victim busy for minutes (the point of
        // some attacks) must not end the attack from our side.
        let config = IceAgentConfig {
            disconnected_timeout: Duration::from_secs(3600),
            consent_timeout: Duration::from_secs(3600),
            ..IceAgentConfig::default()
        };
        let mut ice = IceAgent::new(config, SeededRandom::new(seed));
        let (ufrag, pwd) = (
            format!("atk{seed}"),
            format!("attackerpassword{seed:08}xyz"),
        );
        ice.set_local_credentials(&ufrag, &pwd);
        ice.set_role(true);
        ice.add_local_interface(local).unwrap();
        Attacker {
            sock,
            local,
            ufrag,
            pwd,
            cert,
            ice,
            dtls,
            dtls_role: None,
            remote_fingerprints: Vec::new(),
            victim: None,
            dtls_connected: false,
            victim_creds: None,
            dtls_in: 0,
            sctp: RawSctp {
                my_tag: 0x5eed_0000 | (seed as u32 & 0xffff),
                next_tsn: 1000,
                reconfig_seq: 1000,
                ..RawSctp::default()
            },
            rng: SeededRandom::new(seed ^ 0xa77a_c4e5),
            received: Vec::new(),
            probe_ids: Vec::new(),
            probe_replies: Vec::new(),
            odd_datagrams: 0,
            wire: Wire::default(),
        }
    }

    /// The attacker's main socket address (its ICE host candidate).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The victim's address on the selected ICE pair.
    pub fn victim_addr(&self) -> SocketAddr {
        self.victim.expect("ICE connected")
    }

    /// Random bytes from the attacker's seeded generator (reproducible attacks).
    pub fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        self.rng.fill(&mut b);
        b
    }

    /// A random u64 from the attacker's seeded generator.
    pub fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A data-channel offer written by hand (RFC 9429 §5.2.1, RFC 8841): one
    /// `m=application` section with our ICE credentials, certificate fingerprint,
    /// `a=setup:actpass`, SCTP port 5000 and our host candidate.
    pub fn offer(&self) -> SessionDescription {
        let fp = &self.cert.get_fingerprints()[0];
        let sdp = format!(
            "v=0\r\n\
             o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
             s=-\r\n\
             t=0 0\r\n\
             a=group:BUNDLE 0\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
             c=IN IP4 0.0.0.0\r\n\
             a=ice-ufrag:{ufrag}\r\n\
             a=ice-pwd:{pwd}\r\n\
             a=ice-options:trickle\r\n\
             a=fingerprint:{alg} {fp}\r\n\
             a=setup:actpass\r\n\
             a=mid:0\r\n\
             a=sctp-port:{SCTP_PORT}\r\n\
             a=max-message-size:262144\r\n\
             a=candidate:1 1 udp 2130706431 {ip} {port} typ host\r\n\
             a=end-of-candidates\r\n",
            ufrag = self.ufrag,
            pwd = self.pwd,
            alg = fp.algorithm,
            fp = fp.value.to_ascii_uppercase(),
            ip = self.local.ip(),
            port = self.local.port(),
        );
        SessionDescription::new(SdpType::Offer, sdp)
    }

    /// Takes a victim's offer and writes our answer by hand: ICE controlled (RFC 8445
    /// §6.1.1, the answerer), `a=setup:active` so we are the DTLS client and the victim the
    /// server (RFC 8842 §5.3), even stream ids for our channels (RFC 8832 §6).
    pub fn answer(&mut self, offer: &str) -> SessionDescription {
        let p = RemoteParams::from_sdp(offer);
        assert_eq!(
            p.setup, "actpass",
            "an offer says a=setup:actpass (RFC 8842 §5.2)"
        );
        self.ice.set_role(false);
        self.take_remote(p);
        self.dtls_role = Some(DtlsRole::Client);
        let sdp = self
            .offer()
            .sdp
            .replace("a=setup:actpass", "a=setup:active");
        SessionDescription::new(SdpType::Answer, sdp)
    }

    /// Takes the victim's answer: ICE credentials and candidates, fingerprints, and our
    /// DTLS role from its `a=setup` (RFC 8842 §5: the answerer's `active` makes us the server).
    pub fn apply_answer(&mut self, answer: &str) {
        let p = RemoteParams::from_sdp(answer);
        self.dtls_role = Some(match p.setup.as_str() {
            "active" => DtlsRole::Server,
            "passive" => DtlsRole::Client,
            other => panic!("an answer cannot say a=setup:{other}"),
        });
        self.take_remote(p);
    }

    /// ICE credentials, candidates and fingerprints of the victim's description.
    fn take_remote(&mut self, p: RemoteParams) {
        self.ice.set_remote_credentials(&p.ufrag, &p.pwd);
        self.victim_creds = Some((p.ufrag.clone(), p.pwd.clone()));
        for c in p.candidates {
            self.ice.add_remote_candidate(c).expect("victim candidate");
        }
        self.ice.end_of_remote_candidates();
        self.remote_fingerprints = p.fingerprints;
        self.ice.handle_timeout(Instant::now());
    }

    /// Runs ICE until a pair is selected (the victim can now be reached and reaches us).
    pub fn connect_ice(&mut self) {
        self.pump_until("ICE selects a pair", |a| a.victim.is_some());
    }

    /// Starts DTLS in the role the answer gave us, without waiting for it to complete.
    pub fn start_dtls(&mut self) {
        let fps = RemoteFingerprints::new(&self.remote_fingerprints).unwrap();
        let role = self.dtls_role.expect("answer applied");
        self.dtls.start(Instant::now(), role, fps).unwrap();
        self.flush();
    }

    /// Waits until the DTLS handshake completed.
    pub fn wait_dtls(&mut self) {
        self.pump_until("DTLS connected", |a| a.dtls_connected);
    }

    /// Waits for the victim's INIT and completes the association on our side (INIT ACK,
    /// COOKIE ECHO, COOKIE ACK; RFC 9260 §5.1, the victim initiating).
    pub fn wait_sctp(&mut self) {
        self.pump_until("SCTP established", |a| a.sctp.established);
    }

    /// ICE, DTLS and SCTP, one after the other.
    pub fn connect(&mut self) {
        self.connect_ice();
        self.start_dtls();
        self.wait_dtls();
        self.wait_sctp();
    }

    /// DTLS datagrams received from the victim so far.
    pub fn dtls_datagrams_received(&self) -> u64 {
        self.dtls_in
    }

    /// Whether the DTLS handshake completed.
    pub fn dtls_connected(&self) -> bool {
        self.dtls_connected
    }

    /// Whether the victim aborted the association.
    pub fn sctp_aborted(&self) -> bool {
        self.sctp.aborted
    }

    /// The SCTP streams the victim has reset so far (RFC 6525 outgoing resets).
    pub fn reset_streams(&self) -> &[u16] {
        &self.sctp.reset_streams
    }

    /// The victim's cumulative TSN ack of our DATA from its last SACK.
    pub fn acked_tsn(&self) -> Option<u32> {
        self.sctp.acked
    }

    /// The TSN the next DATA chunk written with [`Attacker::data_chunk`] will use; attacks
    /// that pick TSNs themselves take them from here and then call [`Attacker::skip_tsns`].
    pub fn next_tsn(&self) -> u32 {
        self.sctp.next_tsn
    }

    /// Advances our TSN counter past TSNs an attack used by hand.
    pub fn skip_tsns(&mut self, n: u32) {
        self.sctp.next_tsn = self.sctp.next_tsn.wrapping_add(n);
    }

    /// Moves our next TSN past the victim's cumulative ack when an attack (FORWARD TSN)
    /// pushed that point beyond what we sent, so our next DATA is new to the victim.
    pub fn resync_tsn(&mut self) {
        if let Some(acked) = self.sctp.acked
            && (acked.wrapping_sub(self.sctp.next_tsn) as i32) >= 0
        {
            self.sctp.next_tsn = acked.wrapping_add(1);
        }
    }

    /// Pumps until the victim acknowledged every DATA chunk we sent (flow control for bulk
    /// attacks: the victim drops what exceeds its window, and we never retransmit).
    pub fn wait_acked(&mut self) {
        let last = self.sctp.next_tsn.wrapping_sub(1);
        self.pump_until("the victim to acknowledge our DATA", |a| {
            a.sctp
                .acked
                .is_some_and(|c| (c.wrapping_sub(last) as i32) >= 0)
        });
    }

    /// SACK chunks received from the victim so far.
    pub fn sacks_received(&self) -> u64 {
        self.sctp.sacks
    }

    /// Pumps until `done` holds or `max` passed; returns whether it held (for pacing, where
    /// not getting there is no failure by itself).
    pub fn pump_until_or(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&Attacker) -> bool,
    ) -> bool {
        let deadline = Instant::now() + max;
        while !done(self) {
            if Instant::now() >= deadline {
                return false;
            }
            self.step(Instant::now() + Duration::from_millis(20));
        }
        true
    }

    /// The highest TSN received in sequence from the victim (what our SACKs acknowledge).
    pub fn victim_cum_tsn(&self) -> u32 {
        self.sctp.peer_cum
    }

    /// The next RE-CONFIG request sequence number (RFC 6525 §5.1.1: starts at our initial
    /// TSN), taken.
    pub fn next_reconfig_seq(&mut self) -> u32 {
        let s = self.sctp.reconfig_seq;
        self.sctp.reconfig_seq = s.wrapping_add(1);
        s
    }

    /// Messages the victim sent that were not read yet.
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.received)
    }

    // ------------------------------------------------------------------ the event loop

    /// Handles traffic and timers for `d`.
    pub fn pump(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.step(until);
        }
    }

    /// Handles whatever already arrived, without waiting.
    pub fn pump_now(&mut self) {
        self.sock.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            self.on_datagram(from, &buf[..n]);
        }
        self.sock.set_nonblocking(false).unwrap();
        self.timers();
    }

    /// Pumps until `done` holds, failing the test after [`WAIT`].
    pub fn pump_until(&mut self, what: &str, mut done: impl FnMut(&mut Attacker) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "attacker: timed out waiting for {what}"
            );
            self.step(Instant::now() + Duration::from_millis(50));
        }
    }

    /// One round: wait for a datagram until the next timer (at most `until`), handle it,
    /// fire timers, send what is due.
    fn step(&mut self, until: Instant) {
        let next = [
            self.ice.poll_timeout(),
            self.dtls.poll_timeout(),
            Some(until),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        let wait = next
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 65536];
        if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            self.on_datagram(from, &buf[..n]);
        }
        self.timers();
    }

    fn timers(&mut self) {
        let now = Instant::now();
        self.ice.handle_timeout(now);
        self.dtls.handle_timeout(now);
        self.flush();
    }

    fn on_datagram(&mut self, from: SocketAddr, d: &[u8]) {
        self.wire.received_datagrams += 1;
        self.wire.received_bytes += d.len() as u64;
        let now = Instant::now();
        if self.note_probe_reply(d) {
            return;
        }
        if !self.ice.handle_packet(now, self.local, from, d) {
            if rtcpeer_proto::dtls::is_dtls(d) {
                self.dtls_in += 1;
                self.dtls.handle_record(now, d);
            } else {
                self.odd_datagrams += 1;
            }
        }
        self.flush();
    }

    /// Drains every engine: ICE transmits and events, DTLS events (SCTP packets go to the
    /// hand-kept association) and DTLS datagrams.
    fn flush(&mut self) {
        let now = Instant::now();
        while let Some(t) = self.ice.poll_transmit(now) {
            self.send_raw_to(t.remote, &t.data);
        }
        while let Some(e) = self.ice.poll_event() {
            if let IceEvent::SelectedPairChanged(p) = e {
                self.victim = Some(p.remote_addr);
            } else if let IceEvent::StateChange(IceConnectionState::Failed) = e {
                panic!("attacker: ICE failed");
            }
        }
        while let Some(e) = self.dtls.poll_event() {
            match e {
                DtlsEvent::Connected(_) => self.dtls_connected = true,
                DtlsEvent::ApplicationData(p) => self.on_sctp(&p),
                DtlsEvent::Failed(f) => panic!("attacker: DTLS failed: {f:?}"),
                DtlsEvent::Closed => {}
            }
        }
        let to = self
            .victim
            .or_else(|| self.ice.selected_pair().map(|p| p.1));
        while let Some(d) = self.dtls.poll_transmit() {
            if let Some(to) = to {
                self.send_raw_to(to, &d);
            }
        }
    }

    // ------------------------------------------------------------------ raw sending

    /// Sends `d` from the attacker's main socket (the peer address the victim knows) to `to`.
    pub fn send_raw_to(&mut self, to: SocketAddr, d: &[u8]) {
        self.wire.sent_datagrams += 1;
        self.wire.sent_bytes += d.len() as u64;
        // Loopback buffers may be full in a flood: a lost datagram is part of the game.
        let _ = self.sock.send_to(d, to);
    }

    /// Sends `d` from the peer's address to the victim's selected address.
    pub fn send_raw(&mut self, d: &[u8]) {
        let to = self.victim_addr();
        self.send_raw_to(to, d);
    }

    /// Encrypts `packet` into one DTLS application-data record and sends it (the way every
    /// SCTP packet travels, RFC 8261).
    pub fn send_dtls_app_data(&mut self, packet: &[u8]) {
        self.dtls
            .send_application_data(packet)
            .expect("DTLS accepts the record");
        let to = self.victim_addr();
        while let Some(d) = self.dtls.poll_transmit() {
            self.send_raw_to(to, &d);
        }
    }

    // ------------------------------------------------------------------ STUN

    /// Sends a STUN message built by `build` from socket `from` (the main socket when
    /// `None`) to the victim; returns its size. Its transaction id is remembered, so replies
    /// to it are counted by [`Attacker::probe_reply_bytes`] instead of reaching our agent.
    pub fn send_stun_probe(
        &mut self,
        from: Option<&UdpSocket>,
        class: Class,
        method: Method,
        build: impl FnOnce(&mut MessageWriter<'_>),
    ) -> usize {
        let mut id = [0u8; 12];
        self.rng.fill(&mut id);
        id[0] = 0xa7;
        let mut out = Vec::new();
        {
            let mut w = MessageWriter::new(&mut out, class, method, TransactionId(id));
            build(&mut w);
        }
        if self.probe_ids.len() >= 4096 {
            self.probe_ids.remove(0);
        }
        self.probe_ids.push((id, out.len()));
        let to = self.victim_addr();
        match from {
            Some(s) => {
                let _ = s.send_to(&out, to);
            }
            None => self.send_raw_to(to, &out),
        }
        out.len()
    }

    /// Records `d` if it is a STUN message answering one of our probes.
    fn note_probe_reply(&mut self, d: &[u8]) -> bool {
        if d.len() < 20 || d[0] >= 4 {
            return false;
        }
        match self.probe_ids.iter().find(|(id, _)| d[8..20] == id[..]) {
            Some(&(_, req)) => {
                self.probe_replies.push((req, d.len()));
                true
            }
            None => false,
        }
    }

    /// Reads what arrived on `sock` (another socket the probes were sent from) and records
    /// the victim's replies to our probes.
    pub fn collect_probe_replies(&mut self, sock: &UdpSocket) {
        sock.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            self.note_probe_reply(&buf[..n]);
        }
        sock.set_nonblocking(false).unwrap();
    }

    /// (request bytes, reply bytes) of every victim reply to our probes so far.
    pub fn probe_replies(&self) -> &[(usize, usize)] {
        &self.probe_replies
    }

    /// The victim's ICE credentials (from its answer): ufrag, password.
    pub fn victim_credentials(&self) -> (String, String) {
        self.victim_creds.clone().expect("answer applied")
    }

    /// Our ICE credentials (ufrag, password) and the victim's, for probes that must look
    /// authentic.
    pub fn ice_credentials(&self) -> (String, String) {
        (self.ufrag.clone(), self.pwd.clone())
    }

    // ------------------------------------------------------------------ SCTP by hand

    /// Wraps `chunks` in an SCTP common header for the victim (its verification tag, CRC32c;
    /// RFC 9260 §3.1, §6.8) and sends it over DTLS.
    pub fn send_chunks(&mut self, chunks: &[u8]) {
        let packet = self.packet(self.sctp.peer_tag, chunks);
        self.send_dtls_app_data(&packet);
    }

    /// An SCTP packet with verification tag `vtag` around `chunks`, with a valid CRC32c.
    pub fn packet(&self, vtag: u32, chunks: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(12 + chunks.len());
        p.extend_from_slice(&SCTP_PORT.to_be_bytes());
        p.extend_from_slice(&SCTP_PORT.to_be_bytes());
        p.extend_from_slice(&vtag.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(chunks);
        let crc = rtcpeer_proto::sctp::crc32c(&p);
        p[8..12].copy_from_slice(&crc.to_le_bytes());
        p
    }

    /// The victim's verification tag (what our packets must carry).
    pub fn peer_tag(&self) -> u32 {
        self.sctp.peer_tag
    }

    /// Appends one chunk (type, flags, value, padded to 4 bytes; RFC 9260 §3.2) to `out`.
    pub fn chunk(out: &mut Vec<u8>, typ: u8, flags: u8, value: &[u8]) {
        out.push(typ);
        out.push(flags);
        out.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    /// Appends a DATA chunk with an explicit TSN/SSN (RFC 9260 §3.3.1).
    #[allow(clippy::too_many_arguments)]
    pub fn data_chunk_at(
        out: &mut Vec<u8>,
        flags: u8,
        tsn: u32,
        stream: u16,
        ssn: u16,
        ppid: u32,
        payload: &[u8],
    ) {
        let mut v = Vec::with_capacity(12 + payload.len());
        v.extend_from_slice(&tsn.to_be_bytes());
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(&ssn.to_be_bytes());
        v.extend_from_slice(&ppid.to_be_bytes());
        v.extend_from_slice(payload);
        Attacker::chunk(out, CT_DATA, flags, &v);
    }

    /// Appends one whole, ordered message as a single DATA chunk with the next TSN and the
    /// stream's next SSN.
    pub fn data_chunk(&mut self, out: &mut Vec<u8>, stream: u16, ppid: u32, payload: &[u8]) {
        let tsn = self.sctp.next_tsn;
        self.sctp.next_tsn = tsn.wrapping_add(1);
        let ssn = self.next_ssn(stream);
        Attacker::data_chunk_at(out, FLAG_BEGIN | FLAG_END, tsn, stream, ssn, ppid, payload);
    }

    /// Takes the next SSN of `stream`.
    pub fn next_ssn(&mut self, stream: u16) -> u16 {
        let s = self.sctp.ssn.entry(stream).or_insert(0);
        let v = *s;
        *s = s.wrapping_add(1);
        v
    }

    /// Sends one message on `stream` (one DATA chunk, one packet).
    pub fn send_message(&mut self, stream: u16, ppid: u32, payload: &[u8]) {
        let mut c = Vec::with_capacity(payload.len() + 20);
        self.data_chunk(&mut c, stream, ppid, payload);
        self.send_chunks(&c);
    }

    /// A DATA_CHANNEL_OPEN (RFC 8832 §5.1) written with rtcpeer's DCEP codec.
    pub fn dcep_open(label: &str, protocol: &str) -> Vec<u8> {
        let mut b = Vec::new();
        DcepMessage::Open(Open {
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            label: label.to_string(),
            protocol: protocol.to_string(),
        })
        .write(&mut b)
        .expect("DCEP OPEN fits");
        b
    }

    /// Opens an in-band channel on `stream` (DCEP OPEN) and waits for the victim's ACK.
    pub fn open_channel(&mut self, stream: u16, label: &str) {
        let open = Attacker::dcep_open(label, "");
        self.send_message(stream, PPID_DCEP, &open);
        self.pump_until("DCEP ACK", |a| {
            let i = a
                .received
                .iter()
                .position(|m| m.stream == stream && m.ppid == PPID_DCEP);
            i.map(|i| a.received.remove(i)).is_some()
        });
    }

    /// Sends `text` on `stream` and waits for the victim to send the same text back on it
    /// (the victim application echoes): proof that the association still works end to end.
    /// The message is sent unordered, so attacks that played with the stream's SSNs (FORWARD
    /// TSN, resets) cannot hold it back. Returns the round-trip time.
    pub fn echo(&mut self, stream: u16, text: &str) -> Duration {
        let t0 = Instant::now();
        self.resync_tsn();
        let tsn = self.sctp.next_tsn;
        self.sctp.next_tsn = tsn.wrapping_add(1);
        let mut c = Vec::new();
        Attacker::data_chunk_at(
            &mut c,
            FLAG_BEGIN | FLAG_END | FLAG_UNORDERED,
            tsn,
            stream,
            0,
            PPID_STRING,
            text.as_bytes(),
        );
        self.send_chunks(&c);
        self.pump_until("the victim's echo", |a| {
            let i = a
                .received
                .iter()
                .position(|m| m.stream == stream && m.data == text.as_bytes());
            i.map(|i| a.received.remove(i)).is_some()
        });
        t0.elapsed()
    }

    /// Handles one SCTP packet from the victim: answers its INIT, COOKIE ECHO, HEARTBEAT and
    /// stream resets, SACKs its DATA and keeps its messages.
    fn on_sctp(&mut self, p: &[u8]) {
        if p.len() < 12 {
            return;
        }
        let mut replies = Vec::new();
        let mut sack = false;
        let mut rest = &p[12..];
        while rest.len() >= 4 {
            let (typ, flags) = (rest[0], rest[1]);
            let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
            if len < 4 || len > rest.len() {
                break;
            }
            let v = &rest[4..len];
            match typ {
                CT_INIT if v.len() >= 16 => {
                    let s = &mut self.sctp;
                    s.peer_tag = be32(v, 0);
                    s.peer_cum = be32(v, 12).wrapping_sub(1);
                    let mut ack = Vec::new();
                    ack.extend_from_slice(&s.my_tag.to_be_bytes());
                    ack.extend_from_slice(&(4u32 << 20).to_be_bytes()); // a_rwnd 4 MiB
                    ack.extend_from_slice(&u16::MAX.to_be_bytes());
                    ack.extend_from_slice(&u16::MAX.to_be_bytes());
                    ack.extend_from_slice(&s.next_tsn.to_be_bytes());
                    param(&mut ack, PT_STATE_COOKIE, b"attacker-cookie!");
                    param(&mut ack, PT_FORWARD_TSN_SUPPORTED, &[]);
                    param(
                        &mut ack,
                        PT_SUPPORTED_EXTENSIONS,
                        &[CT_FORWARD_TSN, CT_RECONFIG],
                    );
                    Attacker::chunk(&mut replies, CT_INIT_ACK, 0, &ack);
                }
                CT_COOKIE_ECHO => {
                    self.sctp.established = true;
                    Attacker::chunk(&mut replies, CT_COOKIE_ACK, 0, &[]);
                }
                CT_HEARTBEAT => Attacker::chunk(&mut replies, CT_HEARTBEAT_ACK, 0, v),
                CT_ABORT => self.sctp.aborted = true,
                CT_SACK if v.len() >= 4 => {
                    self.sctp.sacks += 1;
                    let c = be32(v, 0);
                    // Keep the highest (serial arithmetic): SACKs may arrive reordered.
                    if self
                        .sctp
                        .acked
                        .is_none_or(|a| (c.wrapping_sub(a) as i32) > 0)
                    {
                        self.sctp.acked = Some(c);
                    }
                }
                CT_DATA if v.len() >= 12 => {
                    sack = true;
                    let tsn = be32(v, 0);
                    // Loopback keeps order: take what continues the sequence, ignore the rest
                    // (the victim retransmits what we did not acknowledge).
                    if tsn == self.sctp.peer_cum.wrapping_add(1) {
                        self.sctp.peer_cum = tsn;
                        let stream = u16::from_be_bytes([v[4], v[5]]);
                        let ppid = be32(v, 8);
                        let buf = self.sctp.partial.entry(stream).or_default();
                        if flags & FLAG_BEGIN != 0 {
                            buf.clear();
                        }
                        buf.extend_from_slice(&v[12..]);
                        if flags & FLAG_END != 0 {
                            let data = self.sctp.partial.remove(&stream).unwrap_or_default();
                            if ppid == PPID_DCEP
                                && matches!(DcepMessage::parse(&data), Ok(DcepMessage::Open(_)))
                            {
                                // The victim opened a channel: acknowledge (RFC 8832 §5.2).
                                let mut ack = Vec::new();
                                DcepMessage::Ack.write(&mut ack).unwrap();
                                self.data_chunk(&mut replies, stream, PPID_DCEP, &ack);
                            }
                            self.received.push(Received { stream, ppid, data });
                        }
                    }
                }
                CT_RECONFIG => {
                    let mut params = v;
                    while params.len() >= 8 {
                        let pt = u16::from_be_bytes([params[0], params[1]]);
                        let pl = u16::from_be_bytes([params[2], params[3]]) as usize;
                        if pl < 4 || pl > params.len() {
                            break;
                        }
                        if pt == PT_OUTGOING_RESET && pl >= 16 {
                            let req = be32(params, 4);
                            self.sctp.reset_streams.extend(
                                params[16..pl]
                                    .chunks_exact(2)
                                    .map(|s| u16::from_be_bytes([s[0], s[1]])),
                            );
                            let mut r = Vec::new();
                            r.extend_from_slice(&req.to_be_bytes());
                            r.extend_from_slice(&1u32.to_be_bytes()); // success, performed
                            let mut c = Vec::new();
                            param(&mut c, PT_RECONFIG_RESPONSE, &r);
                            Attacker::chunk(&mut replies, CT_RECONFIG, 0, &c);
                        }
                        params = &params[(pl + 3) & !3..];
                        if params.len() < 4 {
                            break;
                        }
                    }
                }
                _ => {}
            }
            rest = &rest[((len + 3) & !3).min(rest.len())..];
        }
        if sack {
            let mut v = Vec::new();
            v.extend_from_slice(&self.sctp.peer_cum.to_be_bytes());
            v.extend_from_slice(&(4u32 << 20).to_be_bytes());
            v.extend_from_slice(&[0; 4]); // no gap blocks, no duplicates
            Attacker::chunk(&mut replies, CT_SACK, 0, &v);
        }
        if !replies.is_empty() && self.sctp.peer_tag != 0 && self.victim.is_some() {
            let packet = self.packet(self.sctp.peer_tag, &replies);
            if self.dtls.send_application_data(&packet).is_ok() {
                let to = self.victim_addr();
                while let Some(d) = self.dtls.poll_transmit() {
                    self.send_raw_to(to, &d);
                }
            }
        }
    }
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Appends a TLV parameter (RFC 9260 §3.2.1), padded.
pub fn param(out: &mut Vec<u8>, typ: u16, value: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// A DTLS record header and body written by hand (RFC 6347 §4.1): content type, version
/// DTLS 1.2, epoch, 48-bit sequence number, length, fragment.
pub fn dtls_record(content_type: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(13 + body.len());
    r.push(content_type);
    r.extend_from_slice(&[0xfe, 0xfd]);
    r.extend_from_slice(&epoch.to_be_bytes());
    r.extend_from_slice(&seq.to_be_bytes()[2..]);
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}
