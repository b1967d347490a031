//! ICE agent tests: formulas, then two agents over a deterministic in-memory network (virtual
//! clock, per-datagram delay, drop rules, an optional endpoint-independent NAT in front of
//! agent A, and a fake STUN server).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::*;
use crate::stun::{Class, Message, MessageWriter, Method, TransactionId};
use crate::util::SeededRandom;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

const A_ADDR: &str = "10.0.0.1:5000";
const B_ADDR: &str = "10.0.1.2:6000";
const NAT_PUBLIC: &str = "203.0.113.7:40000";
const STUN_SERVER: &str = "198.51.100.200:3478";

// ---------------------------------------------------------------- formulas

#[test]
fn candidate_priority_matches_rfc8445_formula() {
    // RFC 8445 §5.1.2.1: 2^24*126 + 2^8*65535 + (256-1).
    assert_eq!(
        candidate_priority(CandidateKind::Host, 65535, 1),
        (126 << 24) + (65535 << 8) + 255
    );
    assert_eq!(candidate_priority(CandidateKind::Relay, 0, 1), 255);
    assert!(
        candidate_priority(CandidateKind::PeerReflexive, 100, 1)
            > candidate_priority(CandidateKind::ServerReflexive, 60000, 1)
    );
    // IPv6 ranks above IPv4, earlier interfaces above later ones, link-local last.
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let v4: IpAddr = "192.0.2.1".parse().unwrap();
    let ll: IpAddr = "fe80::1".parse().unwrap();
    assert!(local_preference(v6, 0) > local_preference(v4, 0));
    assert!(local_preference(v4, 0) > local_preference(v4, 1));
    assert!(local_preference(v4, 5) > local_preference(ll, 0));
}

#[test]
fn pair_priority_matches_rfc8445_formula() {
    // RFC 8445 §6.1.2.3 with G > D and G < D.
    let (g, d) = (2_130_706_431u32, 1_694_498_815u32);
    assert_eq!(
        pair_priority(g, d),
        (u64::from(d) << 32) + 2 * u64::from(g) + 1
    );
    assert_eq!(pair_priority(d, g), (u64::from(d) << 32) + 2 * u64::from(g));
    assert_ne!(pair_priority(g, d), pair_priority(d, g));
    // Out-of-range priorities from a hostile peer do not overflow.
    assert_eq!(pair_priority(u32::MAX, u32::MAX), u64::MAX);
}

#[test]
fn retransmission_schedule_is_rfc8489() {
    // RFC 8489 §6.2.1: with RTO 500 ms, Rc 7, Rm 16 the requests go at 0, 500, 1500, 3500,
    // 7500, 15500, 31500 ms and the transaction fails at 39500 ms.
    let t0 = Instant::now();
    let mut r = Retrans::new(t0, Duration::from_millis(500), 7, 16);
    let mut sends = vec![0u128];
    loop {
        let at = r.next;
        if !r.expire(at) {
            assert_eq!((at - t0).as_millis(), 39_500);
            break;
        }
        sends.push((at - t0).as_millis());
    }
    assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
}

#[test]
fn remote_candidate_conversion() {
    let c = Candidate::parse("candidate:1 1 UDP 2130706431 192.0.2.5 5000 typ host").unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&c),
        Ok((CandidateKind::Host, sa("192.0.2.5:5000"), None))
    );
    let tcp = Candidate::parse("candidate:1 1 tcp 1 192.0.2.5 9 typ host tcptype active").unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&tcp),
        Ok((CandidateKind::Host, sa("192.0.2.5:9"), Some(TcpType::Active)))
    );
    // Unknown or missing tcptype, other transports: not usable (RFC 6544 §4.5).
    for line in [
        "candidate:1 1 tcp 1 192.0.2.5 9 typ host",
        "candidate:1 1 tcp 1 192.0.2.5 9 typ host tcptype sideways",
        "candidate:1 1 sctp 1 192.0.2.5 9 typ host",
    ] {
        let c = Candidate::parse(line).unwrap();
        assert!(
            matches!(
                candidate::remote_from_sdp(&c),
                Err(RemoteCandidateIssue::Transport(_))
            ),
            "{line}"
        );
    }
    let passive =
        Candidate::parse("candidate:2 1 TCP 1518280447 192.0.2.5 50000 typ host tcptype PASSIVE")
            .unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&passive),
        Ok((CandidateKind::Host, sa("192.0.2.5:50000"), Some(TcpType::Passive)))
    );
    // Port 0 is refused except for active candidates, which are never connected to.
    let p0 = Candidate::parse("candidate:2 1 tcp 1 192.0.2.5 0 typ host tcptype passive").unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&p0),
        Err(RemoteCandidateIssue::Unusable)
    );
    let a0 = Candidate::parse("candidate:2 1 tcp 1 192.0.2.5 0 typ host tcptype active").unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&a0),
        Ok((CandidateKind::Host, sa("192.0.2.5:9"), Some(TcpType::Active)))
    );
    let rtcp = Candidate::parse("candidate:1 2 udp 1 192.0.2.5 5001 typ host").unwrap();
    assert_eq!(
        candidate::remote_from_sdp(&rtcp),
        Err(RemoteCandidateIssue::Component(2))
    );
    let mdns = Candidate::parse("candidate:1 1 udp 1 abc.local 5001 typ host").unwrap();
    assert!(matches!(
        candidate::remote_from_sdp(&mdns),
        Err(RemoteCandidateIssue::Hostname(_))
    ));
    // Local candidates print as browsers do and parse back.
    let ic = IceCandidate {
        kind: CandidateKind::ServerReflexive,
        addr: sa("203.0.113.7:40000"),
        base: sa("10.0.0.1:5000"),
        priority: 1_686_052_607,
        foundation: "2".into(),
        related: Some(sa("10.0.0.1:5000")),
        tcp_type: None,
    };
    let text = ic.to_sdp("abcd", 1).to_string();
    assert_eq!(
        text,
        "2 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.1 rport 5000 generation 1 ufrag abcd"
    );
    assert_eq!(Candidate::parse(&text).unwrap(), ic.to_sdp("abcd", 1));
}

// ---------------------------------------------------------------- the simulated network

type DropRule = Box<dyn Fn(Duration, SocketAddr, SocketAddr) -> bool>;
/// One-way delay of a datagram from `src` to `dst` (overrides `Sim::delay`).
type DelayRule = Box<dyn Fn(SocketAddr, SocketAddr) -> Duration>;

struct Node {
    agent: IceAgent,
    addrs: Vec<SocketAddr>,
    events: Vec<(Duration, IceEvent)>,
    /// Forward LocalCandidate events to the other agent (trickle signalling).
    signal: bool,
}

struct InFlight {
    at: Instant,
    seq: u64,
    src: SocketAddr,
    dst: SocketAddr,
    data: Vec<u8>,
}

/// One delivered or sent datagram: (time since start, from, to, bytes).
type Record = (Duration, SocketAddr, SocketAddr, Vec<u8>);

struct Sim {
    start: Instant,
    now: Instant,
    nodes: [Node; 2],
    inflight: Vec<InFlight>,
    seq: u64,
    delay: Duration,
    delay_rule: Option<DelayRule>,
    drop_rule: Option<DropRule>,
    /// Agent A's private address is mapped to NAT_PUBLIC for everything it sends.
    nat: bool,
    stun_server: Option<SocketAddr>,
    /// The fake STUN server answers with this error code instead of a mapping.
    stun_error: Option<u16>,
    /// A fake TURN server (`relay.rs` tests at the end of this file).
    turn: Option<FakeTurn>,
    /// Every datagram sent by an agent, in order.
    sent: Vec<Record>,
    /// Every datagram delivered to an agent, in order.
    delivered: Vec<Record>,
}

fn test_config() -> IceAgentConfig {
    IceAgentConfig::default()
}

impl Sim {
    fn new(seed: u64, config: IceAgentConfig) -> Sim {
        let start = Instant::now();
        let mk = |s: u64, addr: &str| Node {
            agent: IceAgent::new(config.clone(), SeededRandom::new(s)),
            addrs: vec![sa(addr)],
            events: Vec::new(),
            signal: true,
        };
        Sim {
            start,
            now: start,
            nodes: [mk(seed, A_ADDR), mk(seed.wrapping_add(1000), B_ADDR)],
            inflight: Vec::new(),
            seq: 0,
            delay: Duration::from_millis(10),
            delay_rule: None,
            drop_rule: None,
            nat: false,
            stun_server: None,
            stun_error: None,
            turn: None,
            sent: Vec::new(),
            delivered: Vec::new(),
        }
    }

    fn a(&mut self) -> &mut IceAgent {
        &mut self.nodes[0].agent
    }

    fn b(&mut self) -> &mut IceAgent {
        &mut self.nodes[1].agent
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Credentials for both, A controlling unless told otherwise, interfaces added.
    fn setup(&mut self, a_controlling: bool, exchange_creds: bool) {
        self.a()
            .set_local_credentials("ufragA", "passwordA-0123456789abcd");
        self.b()
            .set_local_credentials("ufragB", "passwordB-0123456789abcd");
        self.a().set_role(a_controlling);
        self.b().set_role(!a_controlling);
        if exchange_creds {
            self.a()
                .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
            self.b()
                .set_remote_credentials("ufragA", "passwordA-0123456789abcd");
        }
        for i in 0..2 {
            let addrs = self.nodes[i].addrs.clone();
            for a in addrs {
                self.nodes[i].agent.add_local_interface(a).unwrap();
            }
        }
        let now = self.now;
        self.a().handle_timeout(now);
        self.b().handle_timeout(now);
    }

    fn node_of(&self, dst: SocketAddr) -> Option<usize> {
        if self.nat && dst == sa(NAT_PUBLIC) {
            return Some(0);
        }
        (0..2).find(|&i| self.nodes[i].addrs.contains(&dst))
    }

    fn send(&mut self, src: SocketAddr, dst: SocketAddr, data: Vec<u8>) {
        let elapsed = self.elapsed();
        if let Some(rule) = &self.drop_rule
            && rule(elapsed, src, dst)
        {
            return;
        }
        // NAT: A's private source becomes the public mapping.
        let src = if self.nat && self.nodes[0].addrs.contains(&src) {
            sa(NAT_PUBLIC)
        } else {
            src
        };
        let delay = match &self.delay_rule {
            Some(rule) => rule(src, dst),
            None => self.delay,
        };
        self.seq += 1;
        self.inflight.push(InFlight {
            at: self.now + delay,
            seq: self.seq,
            src,
            dst,
            data,
        });
    }

    /// Drains transmits and events of both agents until nothing moves.
    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..2 {
                let now = self.now;
                while let Some(t) = self.nodes[i].agent.poll_transmit(now) {
                    assert!(
                        self.nodes[i].addrs.contains(&t.local),
                        "agent sent from a socket it does not own"
                    );
                    self.sent
                        .push((self.elapsed(), t.local, t.remote, t.data.clone()));
                    self.send(t.local, t.remote, t.data);
                    progressed = true;
                }
                while let Some(e) = self.nodes[i].agent.poll_event() {
                    if let IceEvent::LocalCandidate(c) = &e
                        && self.nodes[i].signal
                    {
                        let _ = self.nodes[1 - i].agent.add_remote_candidate(c.clone());
                    }
                    let t = self.elapsed();
                    self.nodes[i].events.push((t, e));
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn deliver(&mut self, p: InFlight) {
        if let Some(mut turn) = self.turn.take() {
            let out = turn.handle(p.src, p.dst, &p.data);
            let taken = turn.owns(p.dst);
            self.turn = Some(turn);
            for (src, dst, data) in out {
                self.seq += 1;
                self.inflight.push(InFlight {
                    at: self.now + self.delay,
                    seq: self.seq,
                    src,
                    dst,
                    data,
                });
            }
            if taken {
                return;
            }
        }
        if Some(p.dst) == self.stun_server {
            self.stun_server_answer(p.src, p.dst, &p.data);
            return;
        }
        let Some(i) = self.node_of(p.dst) else {
            return;
        };
        let dst = if i == 0 && self.nat {
            self.nodes[0].addrs[0]
        } else {
            p.dst
        };
        self.delivered
            .push((self.elapsed(), p.src, dst, p.data.clone()));
        let now = self.now;
        let (dst, src, data) = match self.nodes[i]
            .agent
            .handle_relay_input(now, dst, p.src, &p.data)
        {
            // ChannelData for an allocation already released: the session drops it.
            RelayInput::NotRelayed if crate::stun::is_channel_data(&p.data) => return,
            RelayInput::NotRelayed => (dst, p.src, &p.data[..]),
            RelayInput::Consumed => return,
            RelayInput::Data {
                local,
                remote,
                data,
            } => (local, remote, data),
        };
        let stun = self.nodes[i].agent.handle_packet(now, dst, src, data);
        assert!(stun, "only STUN travels in these tests");
    }

    fn stun_server_answer(&mut self, src: SocketAddr, server: SocketAddr, data: &[u8]) {
        let Ok(m) = Message::parse(data) else {
            return;
        };
        if m.class() != Class::Request || m.method() != Method::BINDING {
            return;
        }
        let mut out = Vec::new();
        if let Some(code) = self.stun_error {
            let mut w = MessageWriter::new(
                &mut out,
                Class::ErrorResponse,
                Method::BINDING,
                m.transaction_id(),
            );
            w.error_code(code, "Try Elsewhere").unwrap();
        } else {
            let mut w = MessageWriter::new(
                &mut out,
                Class::SuccessResponse,
                Method::BINDING,
                m.transaction_id(),
            );
            w.xor_mapped_address(src).unwrap();
            w.fingerprint().unwrap();
        }
        // Straight back through the network (and the NAT's inbound mapping).
        self.seq += 1;
        self.inflight.push(InFlight {
            at: self.now + self.delay,
            seq: self.seq,
            src: server,
            dst: src,
            data: out,
        });
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        let mut guard = 0u32;
        loop {
            guard += 1;
            assert!(guard < 2_000_000, "simulation does not make progress");
            self.flush();
            let mut next = end + Duration::from_nanos(1);
            for n in &self.nodes {
                if let Some(t) = n.agent.poll_timeout() {
                    next = next.min(t.max(self.now));
                }
            }
            for p in &self.inflight {
                next = next.min(p.at);
            }
            if next > end {
                self.now = end;
                break;
            }
            self.now = next;
            self.inflight.sort_by_key(|p| (p.at, p.seq));
            while self.inflight.first().is_some_and(|p| p.at <= self.now) {
                let p = self.inflight.remove(0);
                self.deliver(p);
            }
            for i in 0..2 {
                if self.nodes[i]
                    .agent
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
                {
                    let now = self.now;
                    self.nodes[i].agent.handle_timeout(now);
                }
            }
        }
    }

    fn states(&self, i: usize) -> Vec<(Duration, IceConnectionState)> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                IceEvent::StateChange(s) => Some((*t, *s)),
                _ => None,
            })
            .collect()
    }

    fn first_state_time(&self, i: usize, s: IceConnectionState) -> Option<Duration> {
        self.states(i)
            .into_iter()
            .find(|(_, x)| *x == s)
            .map(|(t, _)| t)
    }

    fn selected_changes(&self, i: usize) -> Vec<(Duration, SocketAddr, SocketAddr)> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                IceEvent::SelectedPairChanged(p) => Some((*t, p.local_addr, p.remote_addr)),
                _ => None,
            })
            .collect()
    }

    fn local_candidates_signalled(&self, i: usize) -> Vec<Candidate> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                IceEvent::LocalCandidate(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn assert_connected_to_each_other(&self) {
        let (a_addr, b_addr) = (self.nodes[0].addrs[0], self.nodes[1].addrs[0]);
        let a = self.nodes[0].agent.selected_pair().expect("A selected");
        let b = self.nodes[1].agent.selected_pair().expect("B selected");
        assert_eq!(a.0, a_addr);
        assert_eq!(b.0, b_addr);
        assert_eq!(b.1, if self.nat { sa(NAT_PUBLIC) } else { a_addr });
        assert_eq!(a.1, b_addr);
    }

    /// Transcript digest (FNV-1a over time, addresses and bytes of every sent datagram).
    fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: &[u8]| {
            for &x in b {
                h ^= u64::from(x);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (t, s, d, data) in &self.sent {
            eat(&t.as_nanos().to_le_bytes());
            eat(s.to_string().as_bytes());
            eat(d.to_string().as_bytes());
            eat(data);
        }
        h
    }
}

fn is_connected(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ---------------------------------------------------------------- connectivity

fn host_to_host(a_controlling: bool) {
    let mut sim = Sim::new(1, test_config());
    sim.setup(a_controlling, true);
    sim.run_for(secs(2));
    assert!(is_connected(sim.nodes[0].agent.state()));
    assert!(is_connected(sim.nodes[1].agent.state()));
    sim.assert_connected_to_each_other();
    // new → checking → connected, in that order, on both sides.
    for i in 0..2 {
        let st: Vec<_> = sim.states(i).into_iter().map(|(_, s)| s).collect();
        // WPT-190: exactly new → checking → connected (no flapping).
        assert_eq!(
            st,
            vec![IceConnectionState::Checking, IceConnectionState::Connected],
            "agent {i}"
        );
    }
    assert_eq!(sim.nodes[0].agent.is_controlling(), a_controlling);
    // One host candidate each, with RFC 8445 host priority and a ufrag.
    let ca = sim.local_candidates_signalled(0);
    assert_eq!(ca.len(), 1);
    assert_eq!(ca[0].typ, "host");
    assert_eq!(ca[0].priority >> 24, 126);
    assert_eq!(candidate::extension(&ca[0], "ufrag"), Some("ufragA"));
    // Round trips are measured: 2 × 10 ms one-way delay.
    assert_eq!(
        sim.nodes[0].agent.selected_rtt(),
        Some(Duration::from_millis(20))
    );
    assert_eq!(
        sim.nodes[0].agent.gathering_state(),
        IceGatheringState::Complete
    );
    // Connected quickly: a few RTTs on a 10 ms link.
    let t = sim
        .first_state_time(0, IceConnectionState::Connected)
        .unwrap();
    assert!(t < Duration::from_millis(200), "{t:?}");
}

#[test]
fn host_to_host_connects_a_controlling() {
    host_to_host(true);
}

#[test]
fn host_to_host_connects_b_controlling() {
    host_to_host(false);
}

#[test]
fn nominated_pair_is_the_same_on_both_sides_and_completes_after_end_of_candidates() {
    // WPT-190: the controlling side may add "completed"; the controlled side stays "connected".
    let mut sim = Sim::new(2, test_config());
    sim.setup(true, true);
    sim.run_for(secs(1));
    sim.a().end_of_remote_candidates();
    sim.b().end_of_remote_candidates();
    sim.run_for(secs(1));
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Completed);
    assert_eq!(sim.nodes[1].agent.state(), IceConnectionState::Connected);
    let history = |i: usize| -> Vec<IceConnectionState> {
        sim.states(i).into_iter().map(|(_, s)| s).collect()
    };
    use IceConnectionState::*;
    assert_eq!(history(0), vec![Checking, Connected, Completed]);
    assert_eq!(history(1), vec![Checking, Connected]);
    let pa = sim.nodes[0].agent.candidate_pairs();
    assert!(pa.iter().any(|p| p.nominated && p.remote == sa(B_ADDR)));
    let pb = sim.nodes[1].agent.candidate_pairs();
    assert!(pb.iter().any(|p| p.nominated && p.remote == sa(A_ADDR)));
}

#[test]
fn completed_is_always_reached_through_connected() {
    // End-of-candidates before any check: the last check and the nomination can finish in
    // one step, and the agent must still report "connected" before "completed".
    use IceConnectionState::*;
    for seed in 0..30 {
        for a_controlling in [true, false] {
            let mut sim = Sim::new(seed, test_config());
            sim.setup(a_controlling, true);
            sim.a().end_of_remote_candidates();
            sim.b().end_of_remote_candidates();
            sim.run_for(secs(2));
            for i in 0..2 {
                let h: Vec<_> = sim.states(i).into_iter().map(|(_, s)| s).collect();
                let controlling = (i == 0) == a_controlling;
                assert!(h.contains(&Connected), "seed {seed} node {i}: {h:?}");
                for (k, s) in h.iter().enumerate() {
                    if *s == Completed {
                        assert!(
                            controlling,
                            "seed {seed}: the controlled side completed: {h:?}"
                        );
                        assert_eq!(
                            h.get(k.wrapping_sub(1)),
                            Some(&Connected),
                            "seed {seed}: {h:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn trickled_candidates_connect_later() {
    let mut sim = Sim::new(3, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    sim.run_for(secs(1));
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::New);
    assert!(sim.sent.is_empty(), "nothing to check without candidates");
    // Trickle now.
    let ca = sim.local_candidates_signalled(0);
    let cb = sim.local_candidates_signalled(1);
    for c in cb {
        sim.a().add_remote_candidate(c).unwrap();
    }
    for c in ca {
        sim.b().add_remote_candidate(c).unwrap();
    }
    let t0 = sim.elapsed();
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
    let t = sim
        .first_state_time(0, IceConnectionState::Connected)
        .unwrap();
    assert!(t - t0 < Duration::from_millis(200));
}

#[test]
fn early_candidates_before_remote_credentials() {
    let mut sim = Sim::new(4, test_config());
    sim.setup(true, false);
    // Candidates were forwarded at once; credentials arrive 500 ms later.
    sim.run_for(Duration::from_millis(500));
    assert!(sim.sent.is_empty());
    assert!(sim.nodes[0].agent.candidate_pairs().is_empty());
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    sim.b()
        .set_remote_credentials("ufragA", "passwordA-0123456789abcd");
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
}

#[test]
fn candidate_with_foreign_ufrag_is_rejected() {
    let mut sim = Sim::new(5, test_config());
    sim.setup(true, true);
    let c = Candidate::parse("candidate:9 1 udp 1 192.0.2.9 9 typ host ufrag other").unwrap();
    let e = sim.a().add_remote_candidate(c).unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::Operation);
}

fn role_conflict(both_controlling: bool) {
    let mut sim = Sim::new(6, test_config());
    sim.setup(true, true);
    sim.a().set_role(both_controlling);
    sim.b().set_role(both_controlling);
    sim.a().set_tie_breaker(1000);
    sim.b().set_tie_breaker(5);
    sim.run_for(secs(3));
    sim.assert_connected_to_each_other();
    // The larger tie-breaker ends up controlling (RFC 8445 §7.3.1.1).
    assert!(sim.nodes[0].agent.is_controlling());
    assert!(!sim.nodes[1].agent.is_controlling());
    // A 487 went over the wire.
    let saw_487 = sim.delivered.iter().any(|(_, _, _, d)| {
        Message::parse(d)
            .ok()
            .and_then(|m| m.error_code().ok().flatten().map(|e| e.code))
            == Some(487)
    });
    assert!(saw_487);
}

#[test]
fn role_conflict_both_controlling_resolves() {
    role_conflict(true);
}

#[test]
fn role_conflict_both_controlled_resolves() {
    role_conflict(false);
}

// ---------------------------------------------------------------- consent freshness

fn is_binding_success(d: &[u8]) -> bool {
    Message::parse(d).is_ok_and(|m| m.class() == Class::SuccessResponse)
}

#[test]
fn consent_loss_goes_disconnected_then_failed_at_30s() {
    let mut sim = Sim::new(7, test_config());
    sim.setup(true, true);
    sim.run_for(secs(12));
    assert!(is_connected(sim.nodes[0].agent.state()));
    // Consent requests keep flowing every 4–6 s while nothing is lost.
    let cut = sim.elapsed();
    sim.drop_rule = Some(Box::new(move |t, _, _| t >= cut));
    sim.run_for(secs(40));
    // The last consent response A received before the cut.
    let last_ok = sim
        .delivered
        .iter()
        .filter(|(t, _, d, data)| *t <= cut && *d == sa(A_ADDR) && is_binding_success(data))
        .map(|(t, ..)| *t)
        .max()
        .unwrap();
    // The first request A sent after the cut that got no answer.
    let first_unanswered = sim
        .sent
        .iter()
        .find(|(t, s, ..)| *t >= cut && *s == sa(A_ADDR))
        .map(|(t, ..)| *t)
        .unwrap();
    let disc = sim
        .first_state_time(0, IceConnectionState::Disconnected)
        .expect("disconnected");
    assert_eq!(disc, first_unanswered + secs(5));
    let failed = sim
        .first_state_time(0, IceConnectionState::Failed)
        .expect("failed");
    assert_eq!(failed, last_ok + secs(30));
    assert_eq!(sim.nodes[0].agent.selected_pair(), None);
    // After failure, nothing more is sent on the pair.
    let after = sim
        .sent
        .iter()
        .filter(|(t, s, ..)| *t > failed && *s == sa(A_ADDR));
    assert_eq!(after.count(), 0);
}

#[test]
fn consent_recovers_when_traffic_resumes() {
    let mut sim = Sim::new(8, test_config());
    sim.setup(true, true);
    sim.run_for(secs(3));
    let cut = sim.elapsed();
    let heal = cut + secs(14);
    sim.drop_rule = Some(Box::new(move |t, _, _| t >= cut && t < heal));
    sim.run_for(secs(25));
    let disc = sim
        .first_state_time(0, IceConnectionState::Disconnected)
        .expect("disconnected");
    assert!(disc < heal);
    let back = sim
        .states(0)
        .into_iter()
        .find(|(t, s)| *t > disc && *s == IceConnectionState::Connected)
        .expect("connected again")
        .0;
    // Back within one consent interval (plus retransmission slack) of healing.
    assert!(
        back >= heal && back <= heal + secs(7),
        "{back:?} vs {heal:?}"
    );
    assert!(
        sim.first_state_time(0, IceConnectionState::Failed)
            .is_none()
    );
    assert!(is_connected(sim.nodes[0].agent.state()));
    assert!(is_connected(sim.nodes[1].agent.state()));
}

#[test]
fn consent_interval_is_randomized_between_4_and_6_seconds() {
    let mut sim = Sim::new(9, test_config());
    sim.setup(true, true);
    sim.run_for(secs(60));
    let connected = sim
        .first_state_time(0, IceConnectionState::Connected)
        .unwrap();
    // Requests A sends after connecting: consent checks (no loss, so no retransmissions).
    let times: Vec<Duration> = sim
        .sent
        .iter()
        .filter(|(t, s, _, d)| {
            *t > connected + Duration::from_millis(300)
                && *s == sa(A_ADDR)
                && Message::parse(d).is_ok_and(|m| m.class() == Class::Request)
        })
        .map(|(t, ..)| *t)
        .collect();
    assert!(times.len() >= 9, "{times:?}");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= secs(4) && *g <= secs(6)),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "not randomized: {gaps:?}"
    );
    // Stats counters on the selected pair: every request answered, consent counted.
    let pairs = sim.nodes[0].agent.candidate_pairs();
    let c = pairs[0].counters;
    assert_eq!(c.consent_requests_sent, times.len() as u64);
    assert_eq!(c.requests_sent, c.responses_received);
    assert!(c.requests_sent > c.consent_requests_sent);
    assert!(c.requests_received >= 10 && c.requests_received == c.responses_sent);
}

// ---------------------------------------------------------------- restart

#[test]
fn ice_restart_keeps_old_pair_until_new_one_is_selected() {
    let mut sim = Sim::new(10, test_config());
    sim.setup(true, true);
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    assert_eq!(sim.selected_changes(0).len(), 1);
    // Both restart (JSEP restarts both sides); candidates are held back for 15 s.
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.a().restart("ufragA2", "passwordA2-0123456789abc");
    sim.b().restart("ufragB2", "passwordB2-0123456789abc");
    sim.a()
        .set_remote_credentials("ufragB2", "passwordB2-0123456789abc");
    sim.b()
        .set_remote_credentials("ufragA2", "passwordA2-0123456789abc");
    let restart_at = sim.elapsed();
    sim.run_for(secs(15));
    // The old pair kept consent (answered with the old credentials): still connected.
    for i in 0..2 {
        assert!(is_connected(sim.nodes[i].agent.state()), "agent {i}");
        assert!(
            sim.states(i)
                .iter()
                .all(|(t, s)| *t < restart_at || is_connected(*s))
        );
    }
    sim.assert_connected_to_each_other();
    assert_eq!(sim.selected_changes(0).len(), 1);
    // Consent on the old pair used the old credentials, and was answered.
    let old_gen: Vec<_> = sim
        .sent
        .iter()
        .filter(|(t, s, ..)| *t >= restart_at && *s == sa(A_ADDR))
        .map(|(.., d)| Message::parse(d).unwrap())
        .filter(|m| m.class() == Class::Request)
        .map(|m| m.username().unwrap().unwrap().to_string())
        .collect();
    assert!(old_gen.len() >= 2, "{old_gen:?}");
    assert!(old_gen.iter().all(|u| u == "ufragB:ufragA"), "{old_gen:?}");
    // Generation 1 candidates were re-gathered with the new ufrag.
    let ca = sim.local_candidates_signalled(0);
    assert_eq!(ca.len(), 2);
    assert_eq!(candidate::extension(&ca[1], "ufrag"), Some("ufragA2"));
    assert_eq!(candidate::extension(&ca[1], "generation"), Some("1"));
    // Now trickle the new candidates: a new selection happens on both sides.
    let cb = sim.local_candidates_signalled(1);
    sim.a().add_remote_candidate(cb[1].clone()).unwrap();
    sim.b().add_remote_candidate(ca[1].clone()).unwrap();
    sim.run_for(secs(1));
    assert_eq!(sim.selected_changes(0).len(), 2);
    assert_eq!(sim.selected_changes(1).len(), 2);
    sim.assert_connected_to_each_other();
    // And consent continues with the new credentials.
    sim.run_for(secs(40));
    assert!(is_connected(sim.nodes[0].agent.state()));
    assert!(is_connected(sim.nodes[1].agent.state()));
    let last = sim.sent.last().unwrap();
    let m = Message::parse(&last.3).unwrap();
    if m.class() == Class::Request {
        let u = m.username().unwrap().unwrap();
        assert!(u == "ufragB2:ufragA2" || u == "ufragA2:ufragB2", "{u}");
    }
}

/// After a restart, the old generation's credentials are honoured on the old selected pair's
/// path only (consent, RFC 7675 / RFC 8445 §9); from any other path they are refused (401) and
/// teach nothing, so the peer cannot validate a pair the old generation never formed.
#[test]
fn old_generation_credentials_answer_only_on_the_old_selected_path() {
    let mut sim = Sim::new(31, test_config());
    sim.setup(true, true);
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.a().restart("ufragA2", "passwordA2-0123456789abc");
    sim.a()
        .set_remote_credentials("ufragB2", "passwordB2-0123456789abc");
    let now = sim.now;
    let old_creds_check = |tid: u8| {
        binding_request(tid, "ufragA:ufragB2", b"passwordA-0123456789abcd", |w| {
            w.ice_controlled(7).unwrap();
        })
    };
    let answer_to = |agent: &mut IceAgent, tid: u8| -> Option<(Class, Option<u16>)> {
        while let Some(t) = agent.poll_transmit(now) {
            let m = Message::parse(&t.data).unwrap();
            if m.transaction_id() == TransactionId([tid; 12]) {
                let code = m.error_code().unwrap().map(|e| e.code);
                return Some((m.class(), code));
            }
        }
        None
    };
    // From a new address (the peer's restart socket): refused, nothing learnt.
    let new_path = sa("10.0.1.2:6001");
    sim.a()
        .handle_packet(now, sa(A_ADDR), new_path, &old_creds_check(1));
    assert_eq!(
        answer_to(sim.a(), 1),
        Some((Class::ErrorResponse, Some(401)))
    );
    assert!(sim.a().remote_candidates().is_empty());
    assert!(!sim.a().knows_path(sa(A_ADDR), new_path));
    // On the old selected pair's path: answered (consent).
    sim.a()
        .handle_packet(now, sa(A_ADDR), sa(B_ADDR), &old_creds_check(2));
    assert_eq!(answer_to(sim.a(), 2), Some((Class::SuccessResponse, None)));
    assert!(sim.a().remote_candidates().is_empty());
}

/// A restart onto a fresh socket (what the driver does, as browsers do): gathering waits
/// for the socket, the old pair keeps consent meanwhile, the new generation's pair is on the
/// new socket, and the old socket is no longer in use once it is selected.
#[test]
fn restart_on_new_interfaces_moves_to_the_new_socket_and_frees_the_old_one() {
    let mut sim = Sim::new(32, test_config());
    sim.setup(true, true);
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    let a2 = sa("10.0.0.1:5002");
    sim.nodes[0].addrs.push(a2);
    sim.a()
        .restart_on_new_interfaces("ufragA2", "passwordA2-0123456789abc");
    sim.b().restart("ufragB2", "passwordB2-0123456789abc");
    sim.a()
        .set_remote_credentials("ufragB2", "passwordB2-0123456789abc");
    sim.b()
        .set_remote_credentials("ufragA2", "passwordA2-0123456789abc");
    let restart_at = sim.elapsed();
    sim.run_for(secs(6));
    // No socket yet: still gathering, and the old pair carries on (consent answered).
    assert_eq!(sim.a().gathering_state(), IceGatheringState::Gathering);
    assert!(sim.a().local_candidates().is_empty());
    assert!(sim.a().uses_local_address(sa(A_ADDR)));
    assert_eq!(sim.a().selected_pair(), Some((sa(A_ADDR), sa(B_ADDR))));
    let consent_after = sim
        .delivered
        .iter()
        .filter(|(t, s, d, m)| {
            *t > restart_at && *s == sa(B_ADDR) && *d == sa(A_ADDR) && is_binding_success(m)
        })
        .count();
    assert!(consent_after >= 1, "consent answered on the old pair");
    sim.a().add_local_interface(a2).unwrap();
    sim.a().interfaces_complete();
    sim.run_for(secs(2));
    assert_eq!(sim.a().gathering_state(), IceGatheringState::Complete);
    let la = sim.a().local_candidates();
    assert_eq!(la.len(), 1);
    assert_eq!(la[0].addr, a2);
    assert_eq!(sim.a().selected_pair(), Some((a2, sa(B_ADDR))));
    assert_eq!(sim.b().selected_pair(), Some((sa(B_ADDR), a2)));
    assert!(!sim.a().uses_local_address(sa(A_ADDR)));
    assert!(sim.a().uses_local_address(a2));
    for i in 0..2 {
        assert!(
            sim.states(i)
                .iter()
                .all(|(t, s)| *t < restart_at || is_connected(*s)),
            "agent {i} stayed connected"
        );
    }
}

// ---------------------------------------------------------------- reflexive candidates

#[test]
fn peer_reflexive_remote_when_the_remote_never_signals() {
    let mut sim = Sim::new(11, test_config());
    // A never signals its candidates to B.
    sim.nodes[0].signal = false;
    sim.setup(true, true);
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    // WPT-191: the side that never gets candidates still passes "checking" first.
    let st: Vec<_> = sim.states(1).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        st,
        vec![IceConnectionState::Checking, IceConnectionState::Connected]
    );
    let rb = sim.nodes[1].agent.remote_candidates();
    assert_eq!(rb.len(), 1);
    assert_eq!(rb[0].kind, CandidateKind::PeerReflexive);
    assert_eq!(rb[0].addr, sa(A_ADDR));
    // Its priority is the PRIORITY attribute A sent (type preference 110).
    assert_eq!(rb[0].priority >> 24, 110);
}

#[test]
fn nat_gives_peer_reflexive_candidates_on_both_sides() {
    let mut sim = Sim::new(12, test_config());
    sim.nat = true;
    sim.setup(true, true);
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    // B learnt A's public mapping from the request's source (RFC 8445 §7.3.1.3).
    let rb = sim.nodes[1].agent.remote_candidates();
    assert!(
        rb.iter()
            .any(|r| r.kind == CandidateKind::PeerReflexive && r.addr == sa(NAT_PUBLIC))
    );
    // A learnt a local prflx from XOR-MAPPED-ADDRESS (RFC 8445 §7.2.5.3.1), not signalled.
    let la = sim.nodes[0].agent.local_candidates();
    let prflx = la
        .iter()
        .find(|c| c.kind == CandidateKind::PeerReflexive)
        .expect("local prflx");
    assert_eq!(prflx.addr, sa(NAT_PUBLIC));
    assert_eq!(prflx.base, sa(A_ADDR));
    assert!(
        sim.local_candidates_signalled(0)
            .iter()
            .all(|c| c.typ == "host")
    );
}

#[test]
fn srflx_gathered_from_stun_server() {
    let mut sim = Sim::new(13, test_config());
    sim.nat = true;
    sim.stun_server = Some(sa(STUN_SERVER));
    sim.a()
        .set_local_credentials("ufragA", "passwordA-0123456789abcd");
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.run_for(secs(1));
    let c = sim.local_candidates_signalled(0);
    assert_eq!(c.len(), 2);
    let srflx = &c[1];
    assert_eq!(srflx.typ, "srflx");
    assert_eq!(
        format!("{}:{}", srflx.address, srflx.port),
        NAT_PUBLIC.to_string()
    );
    assert_eq!(srflx.related_address.as_deref(), Some("10.0.0.1"));
    assert_eq!(srflx.related_port, Some(5000));
    assert_eq!(srflx.priority >> 24, 100);
    assert_ne!(srflx.foundation, c[0].foundation);
    let ev: Vec<_> = sim.nodes[0].events.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(ev.last(), Some(&IceEvent::GatheringComplete));
    // Without a NAT the mapped address equals the base: redundant, not reported.
    let mut sim = Sim::new(13, test_config());
    sim.stun_server = Some(sa(STUN_SERVER));
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.run_for(secs(1));
    assert_eq!(sim.local_candidates_signalled(0).len(), 1);
    assert!(
        sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| *e == IceEvent::GatheringComplete)
    );
}

#[test]
fn unreachable_stun_server_reports_candidate_error_after_rfc_schedule() {
    let mut sim = Sim::new(14, test_config());
    // No fake server at this address: requests vanish.
    let server = sa("198.51.100.201:3478");
    assert_eq!(sim.a().gathering_state(), IceGatheringState::New);
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.a().add_stun_server(server).unwrap();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.run_for(secs(30));
    assert_eq!(sim.a().gathering_state(), IceGatheringState::Gathering);
    sim.run_for(secs(30));
    assert_eq!(sim.a().gathering_state(), IceGatheringState::Complete);
    let sends: Vec<u128> = sim
        .sent
        .iter()
        .filter(|(_, _, d, _)| *d == server)
        .map(|(t, ..)| t.as_millis())
        .collect();
    assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    let err = sim.nodes[0]
        .events
        .iter()
        .find(|(_, e)| matches!(e, IceEvent::CandidateError { .. }))
        .expect("candidate error");
    assert_eq!(err.0, Duration::from_millis(39_500));
    assert_eq!(
        err.1,
        IceEvent::CandidateError {
            address: sa(A_ADDR),
            server,
            error_code: 701,
            error_text: "STUN binding request timed out".into(),
        }
    );
    // Gathering completes after the error, not before.
    let complete = sim.nodes[0]
        .events
        .iter()
        .find(|(_, e)| *e == IceEvent::GatheringComplete)
        .unwrap()
        .0;
    assert_eq!(complete, err.0);
}

#[test]
fn relay_policy_emits_and_pairs_no_host_or_srflx() {
    let mut sim = Sim::new(15, test_config());
    sim.a().set_transport_policy(IceTransportPolicy::Relay);
    sim.b().set_transport_policy(IceTransportPolicy::Relay);
    sim.stun_server = Some(sa(STUN_SERVER));
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    sim.setup(true, true);
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    sim.a().add_remote_candidate(c).unwrap();
    sim.run_for(secs(5));
    assert!(sim.local_candidates_signalled(0).is_empty());
    assert!(sim.local_candidates_signalled(1).is_empty());
    assert!(sim.nodes[0].agent.candidate_pairs().is_empty());
    assert!(sim.sent.is_empty(), "nothing is sent under relay policy");
    assert!(
        sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| *e == IceEvent::GatheringComplete)
    );
    // Nothing to check: failed once the PAC timer ran out (RFC 8863).
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Failed);
}

#[test]
fn mdns_candidate_is_resolved_by_the_driver() {
    let mut sim = Sim::new(16, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    let c = Candidate::parse(
        "candidate:1 1 udp 2130706431 1f0c6a2b-1111-4222-8333-123456789abc.local 6000 typ host",
    )
    .unwrap();
    sim.a().add_remote_candidate(c).unwrap();
    sim.run_for(Duration::from_millis(100));
    let asked = sim.nodes[0].events.iter().find_map(|(_, e)| match e {
        IceEvent::ResolveMdns { name } => Some(name.clone()),
        _ => None,
    });
    let name = asked.expect("resolve event");
    assert!(sim.nodes[0].agent.candidate_pairs().is_empty());
    sim.a()
        .resolved_mdns(&name, IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)));
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
}

/// A name that does not resolve stops blocking the checklist: with every other pair failed
/// and end-of-candidates, the agent fails only once the driver reports the lookup failed.
#[test]
fn unresolved_mdns_candidate_is_dropped_and_the_checklist_can_fail() {
    let mut sim = Sim::new(18, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    let name = "3e4b5c6d-1111-4222-8333-123456789abc.local";
    for c in [
        "candidate:1 1 udp 2130706431 10.9.9.9 6000 typ host".to_string(),
        format!("candidate:2 1 udp 2130706431 {name} 6001 typ host"),
    ] {
        sim.a()
            .add_remote_candidate(Candidate::parse(&c).unwrap())
            .unwrap();
    }
    sim.a().end_of_remote_candidates();
    sim.run_for(secs(60));
    assert_eq!(sim.first_state_time(0, IceConnectionState::Failed), None);
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Checking);
    // Another name changes nothing; the pending one (any case) lets the agent fail.
    sim.a().unresolved_mdns("other.local");
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Checking);
    sim.a().unresolved_mdns(&name.to_uppercase());
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Failed);
    // A late answer finds nothing pending.
    sim.a()
        .resolved_mdns(name, IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)));
    assert_eq!(sim.nodes[0].agent.remote_candidates().len(), 1);
}

/// A browser that hides its address behind a name still reaches us first: we learn its
/// address as peer-reflexive from its checks; the resolved name then turns that candidate
/// into the signalled host candidate instead of adding a second one (RFC 8445 §7.3.1.3).
#[test]
fn mdns_answer_for_a_learnt_peer_reflexive_address_upgrades_it_to_host() {
    let mut sim = Sim::new(19, test_config());
    sim.nodes[0].signal = true;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    let name = "4f5a6b7c-1111-4222-8333-123456789abc.local";
    let c = format!("candidate:7 1 udp 2122260223 {name} 6000 typ host");
    sim.a()
        .add_remote_candidate(Candidate::parse(&c).unwrap())
        .unwrap();
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
    let before = sim.nodes[0].agent.remote_candidates();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].kind, CandidateKind::PeerReflexive);
    sim.a()
        .resolved_mdns(name, IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)));
    sim.run_for(secs(1));
    let after = sim.nodes[0].agent.remote_candidates();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].kind, CandidateKind::Host);
    assert_eq!(
        (after[0].addr, after[0].priority),
        (sa(B_ADDR), 2_122_260_223)
    );
    assert_eq!(sim.nodes[0].agent.candidate_pairs().len(), 1);
    sim.assert_connected_to_each_other();
}

#[test]
fn all_pairs_failing_after_end_of_candidates_is_failed() {
    let mut sim = Sim::new(17, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.9.9.9 6000 typ host").unwrap();
    sim.a().add_remote_candidate(c).unwrap();
    sim.a().end_of_remote_candidates();
    sim.run_for(secs(60));
    let failed = sim
        .first_state_time(0, IceConnectionState::Failed)
        .expect("failed");
    // The check's transaction times out on the RFC 8489 schedule with RTO 500 ms.
    assert_eq!(failed, Duration::from_millis(39_500));
    let checks = sim
        .sent
        .iter()
        .filter(|(_, _, d, _)| *d == sa("10.9.9.9:6000"))
        .count();
    assert_eq!(checks, 7);
}

// ---------------------------------------------------------------- nothing to check (RFC 8863)

/// The default PAC timer (RFC 8863 §4), as `IceAgentConfig::default()` sets it.
const PAC: Duration = Duration::from_secs(5);

/// Under relay policy without a relay candidate (no TURN client) nothing can ever be paired:
/// the agent fails when the PAC timer runs out, counted from the moment both credentials are
/// known, and sends nothing meanwhile. A remote candidate (filtered) changes nothing.
#[test]
fn relay_policy_without_relay_candidate_fails_after_the_pac_timer() {
    let mut sim = Sim::new(40, test_config());
    sim.a().set_transport_policy(IceTransportPolicy::Relay);
    sim.b().set_transport_policy(IceTransportPolicy::Relay);
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, false);
    // Gathering completes at once; the remote description arrives 2 s later.
    sim.run_for(secs(2));
    assert_eq!(
        sim.nodes[0].agent.gathering_state(),
        IceGatheringState::Complete
    );
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::New);
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    sim.a().add_remote_candidate(c).unwrap();
    sim.run_for(secs(10));
    assert_eq!(
        sim.states(0),
        vec![(secs(2) + PAC, IceConnectionState::Failed)]
    );
    assert!(sim.nodes[0].agent.candidate_pairs().is_empty());
    assert!(
        sim.sent.iter().all(|(_, s, ..)| *s != sa(A_ADDR)),
        "nothing is sent under relay policy"
    );
    // Failed once: no timer keeps firing.
    assert_eq!(sim.nodes[0].agent.poll_timeout(), None);
}

/// No remote candidate at all, with or without end-of-candidates from the peer: failed when
/// the PAC timer runs out (the peer's checks could still have taught a peer-reflexive
/// candidate until then, RFC 8863 §3).
#[test]
fn no_remote_candidates_fail_after_the_pac_timer() {
    for end_of_candidates in [true, false] {
        let mut sim = Sim::new(41, test_config());
        sim.nodes[0].signal = false;
        sim.nodes[1].signal = false;
        // B never learns A's credentials, so it sends no check A could learn from.
        sim.setup(true, false);
        sim.a()
            .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
        if end_of_candidates {
            sim.a().end_of_remote_candidates();
        }
        sim.run_for(PAC - Duration::from_millis(1));
        assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::New);
        sim.run_for(secs(10));
        assert_eq!(
            sim.states(0),
            vec![(PAC, IceConnectionState::Failed)],
            "end-of-candidates: {end_of_candidates}"
        );
    }
}

/// A remote candidate that arrives before the PAC timer runs out forms a pair and cancels
/// the failure: a reachable one connects, an unreachable one fails only when its check does.
#[test]
fn remote_candidate_before_the_pac_deadline_prevents_the_failure() {
    for reachable in [true, false] {
        let mut sim = Sim::new(42, test_config());
        sim.nodes[0].signal = false;
        sim.nodes[1].signal = false;
        sim.setup(true, true);
        sim.run_for(PAC - Duration::from_millis(10));
        let addr = if reachable { "10.0.1.2" } else { "10.9.9.9" };
        let c = Candidate::parse(&format!(
            "candidate:1 1 udp 2130706431 {addr} 6000 typ host"
        ))
        .unwrap();
        sim.a().add_remote_candidate(c).unwrap();
        sim.run_for(secs(60));
        let failed = sim.first_state_time(0, IceConnectionState::Failed);
        if reachable {
            assert_eq!(failed, None);
            assert!(is_connected(sim.nodes[0].agent.state()));
        } else {
            // The check times out on the RFC 8489 schedule (39.5 s), without end-of-candidates.
            assert_eq!(
                failed,
                Some(PAC - Duration::from_millis(10) + Duration::from_millis(39_500))
            );
        }
    }
}

/// Only unreachable candidates and no end-of-candidates: failed when the last check times out
/// (the PAC timer has long run out by then), where the agent used to stay "checking".
#[test]
fn only_unreachable_candidates_fail_without_end_of_candidates() {
    let mut sim = Sim::new(43, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    for i in 1..=3 {
        let c = Candidate::parse(&format!(
            "candidate:{i} 1 udp {} 10.9.9.{i} 6000 typ host",
            2_130_706_431 - i
        ))
        .unwrap();
        sim.a().add_remote_candidate(c).unwrap();
    }
    sim.run_for(secs(120));
    let states = sim.states(0);
    assert_eq!(states.len(), 2, "{states:?}");
    assert_eq!(states[0].1, IceConnectionState::Checking);
    assert_eq!(states[1].1, IceConnectionState::Failed);
    // The last of the three paced checks fails 39.5 s after it started.
    assert!(
        states[1].0 >= Duration::from_millis(39_500)
            && states[1].0 <= Duration::from_millis(39_500) + secs(1),
        "{states:?}"
    );
}

/// After "failed" with nothing to check, a late remote candidate still forms a pair and
/// connects (RFC 8838 §8: new candidates after failure; Chromium does the same), and an ICE
/// restart starts over with a fresh PAC timer.
#[test]
fn failed_with_nothing_to_check_recovers_by_candidate_or_restart() {
    let mut sim = Sim::new(44, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    sim.run_for(secs(10));
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Failed);
    assert_eq!(sim.nodes[1].agent.state(), IceConnectionState::Failed);
    let ca = sim.local_candidates_signalled(0);
    sim.b().add_remote_candidate(ca[0].clone()).unwrap();
    sim.run_for(secs(2));
    // B checks A; A learns B as peer-reflexive and both connect.
    sim.assert_connected_to_each_other();
    for i in 0..2 {
        let states: Vec<_> = sim.states(i).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states[0], IceConnectionState::Failed, "agent {i}");
        assert!(states.contains(&IceConnectionState::Checking), "agent {i}");
        assert!(is_connected(*states.last().unwrap()), "agent {i}");
    }

    // Restart: a new generation on both sides without candidates fails again after the
    // PAC timer, then the new candidates connect it.
    let mut sim = Sim::new(45, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(true, true);
    sim.run_for(secs(10));
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Failed);
    let restart_at = sim.elapsed();
    sim.a().restart("ufragA2", "passwordA2-0123456789abc");
    sim.b().restart("ufragB2", "passwordB2-0123456789abc");
    sim.a()
        .set_remote_credentials("ufragB2", "passwordB2-0123456789abc");
    sim.b()
        .set_remote_credentials("ufragA2", "passwordA2-0123456789abc");
    sim.run_for(secs(1));
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::New);
    sim.run_for(secs(10));
    assert_eq!(
        sim.states(0).last().copied(),
        Some((restart_at + PAC, IceConnectionState::Failed))
    );
    sim.nodes[0].signal = true;
    sim.nodes[1].signal = true;
    let ca = sim.local_candidates_signalled(0);
    let cb = sim.local_candidates_signalled(1);
    sim.a()
        .add_remote_candidate(cb.last().unwrap().clone())
        .unwrap();
    sim.b()
        .add_remote_candidate(ca.last().unwrap().clone())
        .unwrap();
    sim.run_for(secs(2));
    sim.assert_connected_to_each_other();
    assert!(is_connected(sim.nodes[0].agent.state()));
}

// ---------------------------------------------------------------- hostile input

fn request(tid: u8, username: Option<&str>, key: Option<&[u8]>, fingerprint: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = MessageWriter::new(
        &mut out,
        Class::Request,
        Method::BINDING,
        TransactionId([tid; 12]),
    );
    if let Some(u) = username {
        w.username(u).unwrap();
    }
    w.priority(1_845_501_695).unwrap();
    w.ice_controlling(42).unwrap();
    w.use_candidate().unwrap();
    if let Some(k) = key {
        w.message_integrity(k).unwrap();
    }
    if fingerprint {
        w.fingerprint().unwrap();
    }
    out
}

#[test]
fn hostile_stun_is_dropped_without_state_change() {
    let mut sim = Sim::new(18, test_config());
    sim.nodes[0].signal = false;
    sim.nodes[1].signal = false;
    sim.setup(false, true);
    sim.run_for(Duration::from_millis(100));
    let events_before = sim.nodes[0].events.len();
    let attacker = sa("10.66.66.66:666");
    let a = sa(A_ADDR);
    let now = sim.now;
    let good_key = b"passwordA-0123456789abcd".as_slice();
    let error_of = |agent: &mut IceAgent| -> Option<u16> {
        let t = agent.poll_transmit(now)?;
        Message::parse(&t.data)
            .ok()?
            .error_code()
            .ok()
            .flatten()
            .map(|e| e.code)
    };
    let agent = sim.a();
    // Wrong password.
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(1, Some("ufragA:ufragB"), Some(b"wrong"), true)
    ));
    assert_eq!(error_of(agent), Some(401));
    // Wrong username (not our ufrag).
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(2, Some("evil:ufragB"), Some(good_key), true)
    ));
    assert_eq!(error_of(agent), Some(401));
    // No MESSAGE-INTEGRITY, no USERNAME.
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(3, Some("ufragA:ufragB"), None, true)
    ));
    assert_eq!(error_of(agent), Some(400));
    assert!(agent.handle_packet(now, a, attacker, &request(4, None, Some(good_key), true)));
    assert_eq!(error_of(agent), Some(400));
    // USERNAME without the colon.
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(11, Some("ufragA"), Some(good_key), true)
    ));
    assert_eq!(error_of(agent), Some(400));
    // No FINGERPRINT: not ICE, silently dropped.
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(5, Some("ufragA:ufragB"), Some(good_key), false)
    ));
    assert_eq!(agent.poll_transmit(now), None);
    // Corrupted FINGERPRINT.
    let mut bad = request(6, Some("ufragA:ufragB"), Some(good_key), true);
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(agent.handle_packet(now, a, attacker, &bad));
    assert_eq!(agent.poll_transmit(now), None);
    // Garbage behind a STUN header, a truncated message, a response to nothing.
    let mut garbage = vec![0u8, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42];
    garbage.extend_from_slice(&[7; 12]);
    garbage.extend_from_slice(&[0xff; 8]);
    assert!(agent.handle_packet(now, a, attacker, &garbage));
    assert!(agent.handle_packet(now, a, attacker, &bad[..bad.len() - 3]));
    let mut resp = Vec::new();
    {
        let mut w = MessageWriter::new(
            &mut resp,
            Class::SuccessResponse,
            Method::BINDING,
            TransactionId([9; 12]),
        );
        w.xor_mapped_address(attacker).unwrap();
        w.message_integrity(b"passwordB-0123456789abcd").unwrap();
        w.fingerprint().unwrap();
    }
    assert!(agent.handle_packet(now, a, attacker, &resp));
    // Not STUN at all: handed back to the driver (DTLS / SRTP).
    assert!(!agent.handle_packet(now, a, attacker, &[22, 254, 253, 0, 0]));
    assert!(!agent.handle_packet(now, a, attacker, &[]));
    assert_eq!(agent.poll_transmit(now), None);
    assert!(agent.remote_candidates().is_empty());
    assert!(agent.candidate_pairs().is_empty());
    assert_eq!(agent.dropped_packets(), 10);
    sim.run_for(secs(2));
    assert_eq!(sim.nodes[0].events.len(), events_before);
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::New);
    assert!(sim.nodes[0].agent.selected_pair().is_none());
    // The same request with the right key is accepted (the test is not vacuous).
    let now = sim.now;
    let agent = sim.a();
    assert!(agent.handle_packet(
        now,
        a,
        attacker,
        &request(10, Some("ufragA:ufragB"), Some(good_key), true)
    ));
    let t = agent.poll_transmit(now).unwrap();
    assert!(is_binding_success(&t.data));
    assert_eq!(agent.remote_candidates().len(), 1);
}

/// A Binding request built attribute by attribute: `attrs` in order, then MESSAGE-INTEGRITY
/// with `key` and FINGERPRINT when asked.
fn raw_request(
    tid: u8,
    attrs: &[(u16, Vec<u8>)],
    key: Option<&[u8]>,
    fingerprint: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = MessageWriter::new(
        &mut out,
        Class::Request,
        Method::BINDING,
        TransactionId([tid; 12]),
    );
    for (t, v) in attrs {
        w.attribute(*t, v).unwrap();
    }
    if let Some(k) = key {
        w.message_integrity(k).unwrap();
    }
    if fingerprint {
        w.fingerprint().unwrap();
    }
    out
}

/// No reply to a hostile STUN datagram is larger than the datagram (amplification ratio
/// ≤ 1, RFC 8489 §9.1.3 error responses, RFC 8445 §7.3): unauthenticated 400/401 carry no
/// reason phrase and are not sent when even that would be larger than the request; the
/// authenticated 487/420/400 stay within the request's size. The expected replies show the
/// agent still answers what a real peer sends.
#[test]
fn no_reply_to_a_hostile_request_is_larger_than_the_request() {
    use crate::stun::AttrType as T;
    let now = Instant::now();
    let mut agent = hand_driven_agent(50, true);
    agent.handle_timeout(now);
    while agent.poll_transmit(now).is_some() {}
    let good = b"passwordA-0123456789abcd".as_slice();
    let user = |u: &str| (T::USERNAME, u.as_bytes().to_vec());
    let prio = (T::PRIORITY, 1_845_501_695u32.to_be_bytes().to_vec());
    let controlling = |tb: u64| (T::ICE_CONTROLLING, tb.to_be_bytes().to_vec());
    let huge_user = format!("{}:ufragB", "u".repeat(60_000));
    let many: Vec<(u16, Vec<u8>)> = (0..8000u16)
        .map(|i| (0x7000 + (i % 0x0fff), Vec::new()))
        .chain([user("ufragA:ufragB")])
        .collect();
    let mut unsolicited = Vec::new();
    {
        let mut w = MessageWriter::new(
            &mut unsolicited,
            Class::SuccessResponse,
            Method::BINDING,
            TransactionId([77; 12]),
        );
        w.xor_mapped_address(sa(A_ADDR)).unwrap();
        w.message_integrity(b"passwordB-0123456789abcd").unwrap();
        w.fingerprint().unwrap();
    }
    let mut indication = raw_request(0, &[], None, true);
    indication[..2].copy_from_slice(&0x0011u16.to_be_bytes());
    // (what, datagram, the error code expected back or None for silence)
    let tie = agent.tie_breaker();
    let cases: Vec<(&str, Vec<u8>, Option<u16>)> = vec![
        ("header only", raw_request(1, &[], None, false), None),
        (
            "smallest request: FINGERPRINT only",
            raw_request(2, &[], None, true),
            None,
        ),
        (
            "USERNAME without MESSAGE-INTEGRITY",
            raw_request(3, &[user("x")], None, true),
            Some(400),
        ),
        (
            "our USERNAME without MESSAGE-INTEGRITY",
            raw_request(4, &[user("ufragA:ufragB"), prio.clone()], None, true),
            Some(400),
        ),
        (
            "MESSAGE-INTEGRITY without USERNAME",
            raw_request(5, &[], Some(good), true),
            Some(400),
        ),
        (
            "USERNAME without a colon",
            raw_request(6, &[user("ufragA")], Some(good), true),
            Some(400),
        ),
        (
            "unknown ufrag",
            raw_request(7, &[user("a:b")], Some(good), true),
            Some(401),
        ),
        (
            "bad MESSAGE-INTEGRITY",
            raw_request(8, &[user("ufragA:ufragB"), prio.clone()], Some(b"x"), true),
            Some(401),
        ),
        (
            "no FINGERPRINT",
            raw_request(9, &[user("ufragA:ufragB"), prio.clone()], Some(good), false),
            None,
        ),
        (
            "role conflict with bad integrity",
            raw_request(
                10,
                &[user("ufragA:ufragB"), prio.clone(), controlling(u64::MAX)],
                Some(b"x"),
                true,
            ),
            Some(401),
        ),
        (
            "60 KB USERNAME",
            raw_request(11, &[user(&huge_user)], Some(good), true),
            Some(401),
        ),
        (
            "8000 unknown attributes and bad integrity",
            raw_request(12, &many, Some(b"x"), true),
            Some(401),
        ),
        ("unsolicited success response", unsolicited, None),
        ("Binding indication", indication, None),
        // Authenticated (the peer itself): the error still fits in the request.
        (
            "authenticated role conflict",
            raw_request(
                13,
                &[
                    user("ufragA:ufragB"),
                    prio.clone(),
                    controlling(tie.wrapping_sub(1)),
                ],
                Some(good),
                true,
            ),
            Some(487),
        ),
        (
            "authenticated, no PRIORITY",
            raw_request(14, &[user("ufragA:ufragB")], Some(good), true),
            Some(400),
        ),
        (
            "authenticated, smallest unknown attribute",
            raw_request(
                15,
                &[user("ufragA:ufragB"), (0x7777, Vec::new())],
                Some(good),
                true,
            ),
            None,
        ),
    ];
    let attacker = sa("198.51.100.66:4444");
    let (mut total_in, mut total_out) = (0usize, 0usize);
    for (what, data, expected) in &cases {
        assert!(
            agent.handle_packet(now, sa(A_ADDR), attacker, data),
            "{what}"
        );
        let out: Vec<Transmit> = std::iter::from_fn(|| agent.poll_transmit(now)).collect();
        let bytes_out: usize = out.iter().map(|t| t.data.len()).sum();
        assert!(
            bytes_out <= data.len(),
            "{what}: {bytes_out} bytes out for {} in",
            data.len()
        );
        let code = out.first().and_then(|t| {
            Message::parse(&t.data)
                .ok()?
                .error_code()
                .ok()
                .flatten()
                .map(|e| e.code)
        });
        assert_eq!(code, *expected, "{what}");
        assert!(out.len() <= 1, "{what}");
        total_in += data.len();
        total_out += bytes_out;
    }
    assert!(total_out <= total_in);
    // Nothing was learnt from any of them.
    assert!(agent.remote_candidates().is_empty());
    assert!(agent.candidate_pairs().is_empty());
    assert!(agent.suppressed_replies() >= 1);
}

/// Authenticated checks (the peer, or anyone holding its credentials) from 5000 distinct
/// source addresses: at most `max_peer_reflexive_candidates` (16) are learnt, each paired only
/// with the socket its check arrived on (RFC 8445 §7.3.1.3); the others are dropped unanswered.
/// So answers and checks go to at most 16 addresses, and a signalled candidate still finds
/// room afterwards.
#[test]
fn checks_from_thousands_of_sources_learn_a_bounded_number_of_candidates() {
    let mut now = Instant::now();
    let mut agent = hand_driven_agent(60, false);
    let second = sa("10.0.0.3:5000");
    agent.add_local_interface(second).unwrap();
    agent.handle_timeout(now);
    while agent.poll_event().is_some() {}
    let mut answers = 0usize;
    let mut checked = std::collections::HashSet::new();
    let mut sent = 0usize;
    let mut drain = |agent: &mut IceAgent, now: Instant, answers: &mut usize| {
        while let Some(t) = agent.poll_transmit(now) {
            sent += 1;
            let m = Message::parse(&t.data).unwrap();
            match m.class() {
                Class::SuccessResponse => *answers += 1,
                Class::Request => {
                    checked.insert(t.remote);
                }
                _ => {}
            }
        }
    };
    let sources = 5000u32;
    for i in 0..sources {
        let src = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a40_0000 + i)), 9000);
        let req = peer_check((i % 250) as u8, false, 7);
        assert!(agent.handle_packet(now, sa(A_ADDR), src, &req));
        drain(&mut agent, now, &mut answers);
    }
    let learnt = agent.remote_candidates();
    assert_eq!(learnt.len(), 16);
    assert!(
        learnt
            .iter()
            .all(|r| r.kind == CandidateKind::PeerReflexive)
    );
    let pairs = agent.candidate_pairs();
    assert_eq!(pairs.len(), 16);
    assert!(pairs.iter().all(|p| p.local == sa(A_ADDR)), "{pairs:?}");
    assert_eq!(answers, 16);
    // Let every check run to its end: retransmissions go to the same 16 addresses only.
    for _ in 0..200 {
        let Some(t) = agent.poll_timeout() else { break };
        now = now.max(t);
        agent.handle_timeout(now);
        drain(&mut agent, now, &mut answers);
    }
    assert!(checked.len() <= 16, "{}", checked.len());
    assert!(sent <= 16 + 16 * 7, "{sent} datagrams sent");
    assert!(agent.dropped_packets() >= u64::from(sources) - 16);
    // The signalled candidates were not crowded out.
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    agent.add_remote_candidate(c).unwrap();
    let to_signalled = agent
        .candidate_pairs()
        .into_iter()
        .filter(|p| p.remote == sa(B_ADDR))
        .count();
    assert_eq!(to_signalled, 2, "one pair per local socket");
}

/// A peer that flips the roles it claims on every check (ICE-CONTROLLED with a low
/// tie-breaker, then ICE-CONTROLLING with a high one, RFC 8445 §7.3.1.1) makes the agent
/// change role each time, but every check costs at most one answer and the checklist does not
/// grow: one pair, no queued work beyond it.
#[test]
fn role_conflict_storm_is_bounded_per_check() {
    let now = Instant::now();
    let mut agent = hand_driven_agent(61, false);
    agent.set_tie_breaker(1 << 63);
    agent.handle_timeout(now);
    while agent.poll_transmit(now).is_some() {}
    let peer = sa(B_ADDR);
    let n = 4000usize;
    let (mut out, mut roles) = (0usize, 0usize);
    let mut last = agent.is_controlling();
    for i in 0..n {
        let req = binding_request(
            (i % 250) as u8,
            "ufragA:ufragB",
            b"passwordA-0123456789abcd",
            |w| {
                if i % 2 == 0 {
                    w.ice_controlled(0).unwrap();
                } else {
                    w.ice_controlling(u64::MAX).unwrap();
                }
            },
        );
        assert!(agent.handle_packet(now, sa(A_ADDR), peer, &req));
        let sent: Vec<Transmit> = std::iter::from_fn(|| agent.poll_transmit(now)).collect();
        // The answer, plus at most the one triggered check of the single pair.
        assert!(sent.len() <= 2, "{} datagrams for check {i}", sent.len());
        out += sent.len();
        if agent.is_controlling() != last {
            roles += 1;
            last = agent.is_controlling();
        }
    }
    assert_eq!(roles, n, "the role flipped on every check");
    assert_eq!(agent.candidate_pairs().len(), 1);
    assert_eq!(agent.remote_candidates().len(), 1);
    assert!(out <= n + 2, "{out} datagrams for {n} checks");
}

/// Responses to transactions we never sent, even integrity-protected with the peer's
/// password (a replay) and even 487 role conflicts, change nothing and cost no reply: each is
/// one lookup among our few outstanding transactions, then counted and dropped.
#[test]
fn unsolicited_responses_change_nothing() {
    let now = Instant::now();
    let mut agent = hand_driven_agent(62, true);
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    agent.add_remote_candidate(c).unwrap();
    agent.handle_timeout(now);
    while agent.poll_transmit(now).is_some() {}
    let pairs_before = agent.candidate_pairs();
    let dropped_before = agent.dropped_packets();
    let n = 3000u32;
    for i in 0..n {
        let mut tid = [0u8; 12];
        tid[..4].copy_from_slice(&i.to_be_bytes());
        tid[11] = 0xee;
        let class = if i % 2 == 0 {
            Class::SuccessResponse
        } else {
            Class::ErrorResponse
        };
        let mut out = Vec::new();
        {
            let mut w = MessageWriter::new(&mut out, class, Method::BINDING, TransactionId(tid));
            if class == Class::ErrorResponse {
                w.error_code(487, "Role Conflict").unwrap();
            } else {
                w.xor_mapped_address(sa(A_ADDR)).unwrap();
            }
            if i % 3 != 0 {
                w.message_integrity(b"passwordB-0123456789abcd").unwrap();
            }
            w.fingerprint().unwrap();
        }
        assert!(agent.handle_packet(now, sa(A_ADDR), sa(B_ADDR), &out));
        assert_eq!(
            agent.poll_transmit(now),
            None,
            "response {i} caused a reply"
        );
    }
    assert_eq!(agent.dropped_packets(), dropped_before + u64::from(n));
    assert!(
        agent.is_controlling(),
        "no role change from an unsolicited 487"
    );
    assert_eq!(agent.candidate_pairs(), pairs_before);
    assert_eq!(agent.state(), IceConnectionState::Checking);
}

#[test]
fn unknown_comprehension_required_attribute_gets_420() {
    let mut sim = Sim::new(19, test_config());
    sim.setup(false, true);
    let mut out = Vec::new();
    {
        let mut w = MessageWriter::new(
            &mut out,
            Class::Request,
            Method::BINDING,
            TransactionId([3; 12]),
        );
        w.username("ufragA:ufragB").unwrap();
        w.priority(1).unwrap();
        w.attribute(0x7777, b"x").unwrap();
        w.message_integrity(b"passwordA-0123456789abcd").unwrap();
        w.fingerprint().unwrap();
    }
    let now = sim.now;
    let agent = sim.a();
    assert!(agent.handle_packet(now, sa(A_ADDR), sa("10.0.1.2:6000"), &out));
    let t = agent.poll_transmit(now).unwrap();
    let m = Message::parse(&t.data).unwrap();
    assert_eq!(m.error_code().unwrap().unwrap().code, 420);
    assert_eq!(
        m.unknown_attributes()
            .unwrap()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![0x7777]
    );
    assert!(m.verify_message_integrity(b"passwordA-0123456789abcd"));
}

#[test]
fn close_stops_everything() {
    let mut sim = Sim::new(20, test_config());
    sim.setup(true, true);
    sim.run_for(secs(2));
    let events_before = sim.nodes[0].events.len();
    sim.a().close();
    // WPT-183: "closed" synchronously, without a state change event.
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Closed);
    assert_eq!(sim.a().poll_event(), None);
    let sent_before = sim
        .sent
        .iter()
        .filter(|(_, s, ..)| *s == sa(A_ADDR))
        .count();
    sim.run_for(secs(10));
    let sent_after = sim
        .sent
        .iter()
        .filter(|(_, s, ..)| *s == sa(A_ADDR))
        .count();
    assert_eq!(sent_before, sent_after);
    assert_eq!(sim.nodes[0].agent.poll_timeout(), None);
    assert_eq!(sim.nodes[0].events.len(), events_before);
    assert!(sim.a().add_local_interface(sa("10.0.0.3:1")).is_err());
}

// ---------------------------------------------------------------- determinism and bounds

fn scenario(seed: u64) -> (u64, usize) {
    let mut sim = Sim::new(seed, test_config());
    sim.nat = true;
    sim.stun_server = Some(sa(STUN_SERVER));
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    sim.setup(true, true);
    sim.run_for(secs(20));
    sim.assert_connected_to_each_other();
    (sim.digest(), sim.sent.len())
}

#[test]
fn same_seed_same_transcript() {
    let a = scenario(77);
    let b = scenario(77);
    assert_eq!(a, b);
    let c = scenario(78);
    assert_ne!(a.0, c.0, "a different seed changes transaction ids");
}

#[test]
fn remote_candidates_and_pairs_are_bounded() {
    let cfg = IceAgentConfig {
        max_remote_candidates: 10,
        max_pairs: 5,
        ..test_config()
    };
    let mut agent = IceAgent::new(cfg, SeededRandom::new(1));
    agent.set_local_credentials("u", "p");
    agent.set_remote_credentials("r", "q");
    agent.add_local_interface(sa(A_ADDR)).unwrap();
    let mut errors = 0;
    for i in 0..50u32 {
        let c = Candidate::parse(&format!(
            "candidate:{i} 1 udp {} 10.1.0.{} 7000 typ host",
            1000 + i,
            i + 1
        ))
        .unwrap();
        if agent.add_remote_candidate(c).is_err() {
            errors += 1;
        }
    }
    assert_eq!(agent.remote_candidates().len(), 10);
    assert_eq!(errors, 40);
    let pairs = agent.candidate_pairs();
    assert_eq!(pairs.len(), 5);
    // The highest-priority pairs were kept (RFC 8445 §6.1.2.5).
    let mut kept: Vec<u8> = pairs
        .iter()
        .map(|p| match p.remote.ip() {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(_) => 0,
        })
        .collect();
    kept.sort_unstable();
    assert_eq!(kept, vec![6, 7, 8, 9, 10]);
    let mut many = 0;
    for i in 0..40u16 {
        if agent
            .add_local_interface(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)),
                1000 + i,
            ))
            .is_ok()
        {
            many += 1;
        }
    }
    assert_eq!(many, MAX_LOCAL_INTERFACES - 1);
}

// ---------------------------------------------------------------- wire format and nomination

#[test]
fn connectivity_check_carries_the_rfc8445_attributes() {
    let mut sim = Sim::new(21, test_config());
    sim.setup(true, true);
    sim.run_for(Duration::from_millis(5));
    let (_, src, dst, data) = sim
        .sent
        .iter()
        .find(|(_, s, ..)| *s == sa(A_ADDR))
        .cloned()
        .expect("A sent a check");
    assert_eq!((src, dst), (sa(A_ADDR), sa(B_ADDR)));
    let m = Message::parse(&data).unwrap();
    assert_eq!((m.class(), m.method()), (Class::Request, Method::BINDING));
    // USERNAME is "remote:local" (RFC 8445 §7.2.2).
    assert_eq!(m.username().unwrap(), Some("ufragB:ufragA"));
    // PRIORITY has the peer-reflexive type preference (RFC 8445 §7.1.1).
    assert_eq!(m.priority().unwrap().unwrap() >> 24, 110);
    assert_eq!(
        m.ice_controlling().unwrap(),
        Some(sim.nodes[0].agent.tie_breaker())
    );
    assert_eq!(m.ice_controlled().unwrap(), None);
    // First check: no nomination yet (regular nomination, RFC 8445 §8.1.1).
    assert!(!m.use_candidate().unwrap());
    // Integrity with the peer's password, then FINGERPRINT (RFC 8445 §7.2.2).
    assert!(m.verify_message_integrity(b"passwordB-0123456789abcd"));
    assert!(!m.verify_message_integrity(b"passwordA-0123456789abcd"));
    assert!(m.verify_fingerprint());
    sim.run_for(secs(1));
    // The answer is integrity-protected with B's password and maps A's address.
    let (_, _, _, resp) = sim
        .delivered
        .iter()
        .find(|(_, _, d, data)| *d == sa(A_ADDR) && is_binding_success(data))
        .cloned()
        .unwrap();
    let r = Message::parse(&resp).unwrap();
    assert!(r.verify_message_integrity(b"passwordB-0123456789abcd"));
    assert_eq!(r.xor_mapped_address().unwrap(), Some(sa(A_ADDR)));
    // Then A nominated with USE-CANDIDATE on the succeeded pair, once.
    let nominations = sim
        .sent
        .iter()
        .filter(|(_, s, _, d)| {
            *s == sa(A_ADDR) && Message::parse(d).is_ok_and(|m| m.use_candidate() == Ok(true))
        })
        .count();
    assert_eq!(nominations, 1);
    // B never sends USE-CANDIDATE (it is controlled).
    assert!(sim.sent.iter().all(|(_, s, _, d)| *s != sa(B_ADDR)
        || Message::parse(d).is_ok_and(|m| m.use_candidate() == Ok(false))));
}

/// An agent at A_ADDR facing a hand-driven peer: credentials of both sides, the given role.
fn hand_driven_agent(seed: u64, controlling: bool) -> IceAgent {
    let mut agent = IceAgent::new(test_config(), SeededRandom::new(seed));
    agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
    agent.set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    agent.set_role(controlling);
    agent.add_local_interface(sa(A_ADDR)).unwrap();
    agent
}

/// A Binding request from a hand-driven peer: `username`, PRIORITY, the role attributes
/// `role` writes, MESSAGE-INTEGRITY with `key`, FINGERPRINT.
fn binding_request(
    tid: u8,
    username: &str,
    key: &[u8],
    role: impl FnOnce(&mut MessageWriter<'_>),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = MessageWriter::new(
        &mut out,
        Class::Request,
        Method::BINDING,
        TransactionId([tid; 12]),
    );
    w.username(username).unwrap();
    w.priority(1_845_501_695).unwrap();
    role(&mut w);
    w.message_integrity(key).unwrap();
    w.fingerprint().unwrap();
    out
}

/// A hand-driven peer at `peer` that nominates aggressively: USE-CANDIDATE on its first check.
fn peer_check(tid: u8, use_candidate: bool, tie_breaker: u64) -> Vec<u8> {
    binding_request(tid, "ufragA:ufragB", b"passwordA-0123456789abcd", |w| {
        w.ice_controlling(tie_breaker).unwrap();
        if use_candidate {
            w.use_candidate().unwrap();
        }
    })
}

#[test]
fn aggressive_nomination_from_the_peer_is_accepted() {
    let mut agent = hand_driven_agent(22, false);
    agent.set_tie_breaker(1);
    let t0 = Instant::now();
    agent.handle_timeout(t0);
    let peer = sa(B_ADDR);
    // The peer's very first check nominates (aggressive nomination).
    assert!(agent.handle_packet(t0, sa(A_ADDR), peer, &peer_check(1, true, 99)));
    let resp = agent.poll_transmit(t0).unwrap();
    assert!(is_binding_success(&resp.data));
    // Our triggered check goes out at once (RFC 8445 §7.3.1.4).
    let check = agent.poll_transmit(t0).expect("triggered check");
    assert_eq!((check.local, check.remote), (sa(A_ADDR), peer));
    let m = Message::parse(&check.data).unwrap();
    assert_eq!(m.ice_controlled().unwrap(), Some(1));
    assert!(agent.selected_pair().is_none(), "not valid yet");
    // The peer answers; the pair becomes valid and, being nominated, selected.
    let mut out = Vec::new();
    {
        let mut w = MessageWriter::new(
            &mut out,
            Class::SuccessResponse,
            Method::BINDING,
            m.transaction_id(),
        );
        w.xor_mapped_address(sa(A_ADDR)).unwrap();
        w.message_integrity(b"passwordB-0123456789abcd").unwrap();
        w.fingerprint().unwrap();
    }
    let t1 = t0 + Duration::from_millis(20);
    assert!(agent.handle_packet(t1, sa(A_ADDR), peer, &out));
    assert_eq!(agent.selected_pair(), Some((sa(A_ADDR), peer)));
    assert_eq!(agent.state(), IceConnectionState::Connected);
    let events: Vec<_> = std::iter::from_fn(|| agent.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IceEvent::SelectedPairChanged(p) if p.remote_addr == peer))
    );
    // The remote was learnt as peer-reflexive (it never signalled).
    assert_eq!(
        agent.remote_candidates()[0].kind,
        CandidateKind::PeerReflexive
    );
}

#[test]
fn response_from_another_address_fails_the_pair() {
    let mut agent = hand_driven_agent(23, true);
    let c = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    agent.add_remote_candidate(c).unwrap();
    let t0 = Instant::now();
    agent.handle_timeout(t0);
    let check = agent.poll_transmit(t0).unwrap();
    let m = Message::parse(&check.data).unwrap();
    let mut out = Vec::new();
    {
        let mut w = MessageWriter::new(
            &mut out,
            Class::SuccessResponse,
            Method::BINDING,
            m.transaction_id(),
        );
        w.xor_mapped_address(sa(A_ADDR)).unwrap();
        w.message_integrity(b"passwordB-0123456789abcd").unwrap();
        w.fingerprint().unwrap();
    }
    // Non-symmetric: the answer comes from another port (RFC 8445 §7.2.5.2.1).
    assert!(agent.handle_packet(t0, sa(A_ADDR), sa("10.0.1.2:6001"), &out));
    assert_eq!(agent.candidate_pairs()[0].state, CandidatePairState::Failed);
    assert!(agent.selected_pair().is_none());
}

#[test]
fn selected_pair_switches_to_a_higher_priority_nominated_pair() {
    let cfg = IceAgentConfig {
        renomination: true,
        ..test_config()
    };
    let mut sim = Sim::new(24, cfg);
    // A has two interfaces; the first (higher local preference) is unreachable for 1 s.
    let a2 = sa("10.0.0.3:5002");
    sim.nodes[0].addrs.push(a2);
    let a1 = sa(A_ADDR);
    sim.drop_rule = Some(Box::new(move |t, s, d| {
        t < Duration::from_millis(1000) && (s == a1 || d == a1)
    }));
    sim.setup(true, true);
    sim.run_for(Duration::from_millis(900));
    assert_eq!(sim.nodes[0].agent.selected_pair(), Some((a2, sa(B_ADDR))));
    assert_eq!(sim.nodes[1].agent.selected_pair(), Some((sa(B_ADDR), a2)));
    sim.run_for(secs(3));
    // The retransmitted check on the better pair succeeded and was nominated.
    sim.assert_connected_to_each_other();
    let changes = sim.selected_changes(0);
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].1, a2);
    assert_eq!(changes[1].1, a1);
    assert_eq!(sim.selected_changes(1).len(), 2);
    assert!(is_connected(sim.nodes[0].agent.state()));
}

#[test]
fn ipv6_host_to_host() {
    let mut sim = Sim::new(25, test_config());
    sim.nodes[0].addrs = vec![sa("[2001:db8::1]:5000")];
    sim.nodes[1].addrs = vec![sa("[2001:db8::2]:6000")];
    sim.setup(true, true);
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
    let c = &sim.local_candidates_signalled(0)[0];
    assert_eq!(c.address, "2001:db8::1");
    // IPv6 outranks IPv4 in local preference (RFC 8421).
    assert!(c.priority > candidate_priority(CandidateKind::Host, 0x8000, 1));
}

#[test]
fn mutated_checks_never_panic_or_change_state() {
    // Bit flips and truncations of a valid check, from an unknown source: either rejected
    // (integrity / fingerprint / parse) or, if a flip only hit padding, accepted as valid.
    let mut rng = SeededRandom::new(26);
    let base = peer_check(7, true, 5);
    for round in 0..3000u32 {
        let mut agent = IceAgent::new(test_config(), SeededRandom::new(u64::from(round)));
        agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
        agent.add_local_interface(sa(A_ADDR)).unwrap();
        let t0 = Instant::now();
        let mut d = base.clone();
        let flips = 1 + rng.next_u32() % 4;
        for _ in 0..flips {
            let i = (rng.next_u32() as usize) % d.len();
            d[i] ^= 1 << (rng.next_u32() % 8);
        }
        if rng.next_u32() % 4 == 0 {
            let keep = (rng.next_u32() as usize) % d.len();
            d.truncate(keep);
        }
        agent.handle_packet(t0, sa(A_ADDR), sa("10.7.7.7:7"), &d);
        let accepted = !agent.remote_candidates().is_empty();
        if accepted {
            let m = Message::parse(&d).unwrap();
            assert!(m.verify_message_integrity(b"passwordA-0123456789abcd"));
        }
        while let Some(t) = agent.poll_transmit(t0) {
            assert!(Message::parse(&t.data).is_ok());
        }
        agent.handle_timeout(t0 + secs(1));
    }
}

#[test]
fn agent_is_send() {
    fn is_send<T: Send>() {}
    is_send::<IceAgent>();
}

#[test]
fn stun_server_error_response_reports_candidate_error() {
    let mut sim = Sim::new(27, test_config());
    sim.nat = true;
    sim.stun_server = Some(sa(STUN_SERVER));
    sim.stun_error = Some(300);
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.run_for(secs(2));
    let errors: Vec<_> = sim.nodes[0]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, IceEvent::CandidateError { .. }))
        .cloned()
        .collect();
    assert_eq!(
        errors,
        vec![(
            Duration::from_millis(20),
            IceEvent::CandidateError {
                address: sa(A_ADDR),
                server: sa(STUN_SERVER),
                error_code: 300,
                error_text: "Try Elsewhere".into(),
            }
        )]
    );
    // One request only: an error answer ends the transaction.
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.local_candidates_signalled(0).len(), 1);
}

#[test]
fn srflx_candidate_connects_through_the_nat() {
    let mut sim = Sim::new(28, test_config());
    sim.nat = true;
    sim.stun_server = Some(sa(STUN_SERVER));
    // A's private address is not reachable from outside the NAT.
    sim.drop_rule = Some(Box::new(|_, _, d| d == sa(A_ADDR)));
    sim.a().add_stun_server(sa(STUN_SERVER)).unwrap();
    sim.setup(true, true);
    sim.run_for(secs(3));
    sim.assert_connected_to_each_other();
    // B reached A through the signalled srflx candidate, not a learnt prflx one.
    let rb = sim.nodes[1].agent.remote_candidates();
    let via = rb.iter().find(|r| r.addr == sa(NAT_PUBLIC)).unwrap();
    assert_eq!(via.kind, CandidateKind::ServerReflexive);
    let pairs = sim.nodes[1].agent.candidate_pairs();
    let host_pair = pairs.iter().find(|p| p.remote == sa(A_ADDR)).unwrap();
    assert_ne!(host_pair.state, CandidatePairState::Succeeded);
}

#[test]
fn extreme_configuration_and_priorities_do_not_panic() {
    let cfg = IceAgentConfig {
        ta: Duration::ZERO,
        check_rto_min: Duration::MAX,
        stun_rto: Duration::MAX,
        consent_interval: Duration::MAX,
        consent_rto: Duration::MAX,
        disconnected_timeout: Duration::MAX,
        consent_timeout: Duration::MAX,
        check_max_transmissions: 0,
        stun_max_transmissions: 0,
        stun_last_wait: u32::MAX,
        ..IceAgentConfig::default()
    };
    let mut sim = Sim::new(29, cfg);
    sim.setup(true, true);
    let c = Candidate::parse("candidate:1 1 udp 4294967295 10.0.1.9 6000 typ host").unwrap();
    sim.a().add_remote_candidate(c).unwrap();
    sim.run_for(secs(5));
    sim.assert_connected_to_each_other();
}

#[test]
fn checks_arriving_before_remote_credentials_are_answered() {
    let mut sim = Sim::new(30, test_config());
    // B knows everything about A; A learns B's credentials only after 1 s and never gets
    // B's candidates (the answer is late, RFC 8445 §7.3 "early checks").
    sim.nodes[1].signal = false;
    sim.a()
        .set_local_credentials("ufragA", "passwordA-0123456789abcd");
    sim.b()
        .set_local_credentials("ufragB", "passwordB-0123456789abcd");
    sim.a().set_role(true);
    sim.b().set_role(false);
    sim.b()
        .set_remote_credentials("ufragA", "passwordA-0123456789abcd");
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.b().add_local_interface(sa(B_ADDR)).unwrap();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.b().handle_timeout(now);
    sim.run_for(secs(1));
    // A answered B's checks (B's pair is valid) but could not check back yet.
    assert!(
        sim.nodes[1]
            .agent
            .candidate_pairs()
            .iter()
            .any(|p| p.state == CandidatePairState::Succeeded)
    );
    assert!(sim.sent.iter().all(|(_, s, _, d)| *s != sa(A_ADDR)
        || Message::parse(d).is_ok_and(|m| m.class() != Class::Request)));
    assert_eq!(sim.nodes[0].agent.remote_candidates().len(), 1);
    assert_eq!(sim.nodes[0].agent.selected_pair(), None);
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    sim.run_for(secs(1));
    sim.assert_connected_to_each_other();
}

#[test]
fn controlled_agent_with_valid_but_unnominated_pairs_is_not_failed() {
    // B is controlled and its checks succeed, but A (controlling) never nominates because it
    // never learns B's credentials: B stays "checking", not "failed".
    let mut sim = Sim::new(31, test_config());
    sim.nodes[1].signal = false;
    sim.a()
        .set_local_credentials("ufragA", "passwordA-0123456789abcd");
    sim.b()
        .set_local_credentials("ufragB", "passwordB-0123456789abcd");
    sim.a().set_role(true);
    sim.b().set_role(false);
    sim.b()
        .set_remote_credentials("ufragA", "passwordA-0123456789abcd");
    sim.a().add_local_interface(sa(A_ADDR)).unwrap();
    sim.b().add_local_interface(sa(B_ADDR)).unwrap();
    sim.b().end_of_remote_candidates();
    let now = sim.now;
    sim.a().handle_timeout(now);
    sim.b().handle_timeout(now);
    sim.run_for(secs(60));
    assert_eq!(sim.nodes[1].agent.state(), IceConnectionState::Checking);
    assert!(
        sim.nodes[1]
            .agent
            .candidate_pairs()
            .iter()
            .all(|p| p.state == CandidatePairState::Succeeded && !p.nominated)
    );
}

fn two_interface_sim(seed: u64, cfg: IceAgentConfig, blocked_for: Duration) -> Sim {
    let mut sim = Sim::new(seed, cfg);
    let a1 = sa(A_ADDR);
    sim.nodes[0].addrs.push(sa("10.0.0.3:5002"));
    sim.drop_rule = Some(Box::new(move |t, s, d| {
        t < blocked_for && (s == a1 || d == a1)
    }));
    sim.setup(true, true);
    sim
}

fn nominations_sent_by_a(sim: &Sim) -> usize {
    sim.sent
        .iter()
        .filter(|(_, s, _, d)| {
            sim.nodes[0].addrs.contains(s)
                && Message::parse(d).is_ok_and(|m| m.use_candidate() == Ok(true))
        })
        .count()
}

#[test]
fn controlling_agent_nominates_once_by_default() {
    // The better pair is blocked past the nomination timeout: the other one is nominated at
    // first-valid + 100 ms and stays selected when the better one succeeds later
    // (RFC 8445 §8.1.1: one nomination).
    let mut sim = two_interface_sim(32, test_config(), Duration::from_millis(1000));
    sim.run_for(secs(5));
    let a2 = sa("10.0.0.3:5002");
    assert_eq!(sim.nodes[0].agent.selected_pair(), Some((a2, sa(B_ADDR))));
    assert_eq!(sim.selected_changes(0).len(), 1);
    assert_eq!(sim.selected_changes(1).len(), 1);
    assert_eq!(nominations_sent_by_a(&sim), 1);
    let t = sim.selected_changes(0)[0].0;
    assert!(
        t >= Duration::from_millis(100) && t < Duration::from_millis(300),
        "{t:?}"
    );
    // The better pair did become valid, it just was not nominated.
    let better = sim.nodes[0]
        .agent
        .candidate_pairs()
        .into_iter()
        .find(|p| p.local == sa(A_ADDR))
        .unwrap();
    assert_eq!(better.state, CandidatePairState::Succeeded);
    assert!(!better.nominated);
}

#[test]
fn controlling_agent_waits_for_a_better_pair_within_the_nomination_timeout() {
    // The better pair's first check is lost; its retransmission (500 ms) succeeds before the
    // 1 s nomination timeout, so it is the one nominated.
    let cfg = IceAgentConfig {
        nomination_timeout: secs(1),
        ..test_config()
    };
    let mut sim = two_interface_sim(33, cfg, Duration::from_millis(200));
    sim.run_for(secs(5));
    sim.assert_connected_to_each_other();
    assert_eq!(sim.selected_changes(0).len(), 1);
    assert_eq!(sim.selected_changes(1).len(), 1);
    assert_eq!(nominations_sent_by_a(&sim), 1);
}

#[test]
fn transport_policy_change_applies_from_the_next_restart() {
    let mut agent = IceAgent::new(test_config(), SeededRandom::new(34));
    agent.set_local_credentials("u1", "p1-0123456789abcdefghij");
    agent.add_local_interface(sa(A_ADDR)).unwrap();
    let first: Vec<_> = std::iter::from_fn(|| agent.poll_event()).collect();
    assert!(matches!(first[0], IceEvent::LocalCandidate(_)));
    agent.set_transport_policy(IceTransportPolicy::Relay);
    agent.restart("u2", "p2-0123456789abcdefghij");
    let second: Vec<_> = std::iter::from_fn(|| agent.poll_event()).collect();
    assert_eq!(second, vec![IceEvent::GatheringComplete]);
}

#[test]
fn close_during_gathering_leaves_gathering_state() {
    // WPT-211: close() during gathering leaves the gathering state at "gathering".
    let mut agent = IceAgent::new(test_config(), SeededRandom::new(35));
    agent.add_local_interface(sa(A_ADDR)).unwrap();
    agent.add_stun_server(sa("198.51.100.201:3478")).unwrap();
    let t0 = Instant::now();
    agent.handle_timeout(t0);
    assert_eq!(agent.gathering_state(), IceGatheringState::Gathering);
    agent.close();
    agent.handle_timeout(t0 + secs(60));
    assert_eq!(agent.gathering_state(), IceGatheringState::Gathering);
    assert_eq!(agent.poll_event(), None);
    assert_eq!(agent.poll_transmit(t0 + secs(60)), None);
}

#[test]
fn dual_stack_pairs_by_family_and_prefers_ipv6() {
    let mut sim = Sim::new(36, test_config());
    sim.nodes[0].addrs = vec![sa(A_ADDR), sa("[2001:db8::1]:5000")];
    sim.nodes[1].addrs = vec![sa(B_ADDR), sa("[2001:db8::2]:6000")];
    sim.setup(true, true);
    sim.run_for(secs(3));
    // Only same-family pairs (RFC 8445 §6.1.2.2).
    let pairs = sim.nodes[0].agent.candidate_pairs();
    assert_eq!(pairs.len(), 2);
    assert!(
        pairs
            .iter()
            .all(|p| p.local.is_ipv4() == p.remote.is_ipv4())
    );
    // The IPv6 pair has the higher priority and is the one selected on both sides.
    assert_eq!(
        sim.nodes[0].agent.selected_pair(),
        Some((sa("[2001:db8::1]:5000"), sa("[2001:db8::2]:6000")))
    );
    assert_eq!(
        sim.nodes[1].agent.selected_pair(),
        Some((sa("[2001:db8::2]:6000"), sa("[2001:db8::1]:5000")))
    );
    assert_eq!(sim.selected_changes(0).len(), 1);
}

#[test]
fn new_checks_are_paced_by_ta() {
    // 3 × 3 interfaces (distinct IPs, so distinct foundations): 9 pairs, checks at least Ta
    // apart (RFC 8445 §6.1.4.2, §14.2).
    let mut sim = Sim::new(37, test_config());
    sim.nodes[0].addrs = vec![
        sa("10.0.0.1:5000"),
        sa("10.0.0.3:5000"),
        sa("10.0.0.5:5000"),
    ];
    sim.nodes[1].addrs = vec![
        sa("10.0.1.2:6000"),
        sa("10.0.1.4:6000"),
        sa("10.0.1.6:6000"),
    ];
    // Checks only go one way so none of A's checks is a triggered one.
    sim.drop_rule = Some(Box::new(|_, s, _| {
        s.ip().to_string().starts_with("10.0.1.")
    }));
    sim.setup(true, true);
    sim.run_for(Duration::from_millis(450));
    let requests: Vec<Duration> = sim
        .sent
        .iter()
        .filter(|(_, s, _, d)| {
            sim.nodes[0].addrs.contains(s)
                && Message::parse(d).is_ok_and(|m| m.class() == Class::Request)
        })
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(requests.len(), 9, "{requests:?}");
    for w in requests.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(50), "{requests:?}");
    }
    // Highest priority first: A's first check uses its first interface and B's first one.
    let (_, s, d, _) = sim
        .sent
        .iter()
        .find(|(_, s, ..)| sim.nodes[0].addrs.contains(s))
        .unwrap();
    assert_eq!((*s, *d), (sa("10.0.0.1:5000"), sa("10.0.1.2:6000")));
}

// ---------------------------------------------------------------- setup latency

/// Hands each agent the other's credentials and (when `candidates`) its signalled
/// candidates, as a description with candidates in it would.
fn exchange_now(sim: &mut Sim, a_candidates: bool, b_candidates: bool) {
    let ca = sim.local_candidates_signalled(0);
    let cb = sim.local_candidates_signalled(1);
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    sim.b()
        .set_remote_credentials("ufragA", "passwordA-0123456789abcd");
    if a_candidates {
        for c in cb {
            sim.a().add_remote_candidate(c).unwrap();
        }
    }
    if b_candidates {
        for c in ca {
            sim.b().add_remote_candidate(c).unwrap();
        }
    }
}

fn use_candidate_requests(sim: &Sim, node: usize) -> Vec<(Duration, SocketAddr, SocketAddr)> {
    sim.sent
        .iter()
        .filter(|(_, s, _, d)| {
            sim.nodes[node].addrs.contains(s)
                && Message::parse(d)
                    .is_ok_and(|m| m.class() == Class::Request && m.use_candidate() == Ok(true))
        })
        .map(|(t, s, d, _)| (*t, *s, *d))
        .collect()
}

#[test]
fn zero_delay_link_connects_within_two_ms_once_both_have_remote_candidates() {
    // No Ta wait anywhere on the way: the first check leaves when the pair forms, the
    // answering side's triggered check and the nomination leave at once. Three cases: both
    // know the other's candidates; only the controlled side does (the controlling one learns
    // a peer-reflexive candidate from the first check, as when the answerer's candidates
    // trickle late); only the controlling side does.
    use IceConnectionState::*;
    for a_controlling in [true, false] {
        for (a_cands, b_cands) in [(true, true), (false, true), (true, false)] {
            let mut sim = Sim::new(40, test_config());
            sim.delay = Duration::ZERO;
            sim.nodes[0].signal = false;
            sim.nodes[1].signal = false;
            sim.setup(a_controlling, false);
            // Gathered, nothing to check yet; the descriptions arrive 5 ms later.
            sim.run_for(Duration::from_millis(5));
            assert!(sim.sent.is_empty());
            let t1 = sim.elapsed();
            exchange_now(&mut sim, a_cands, b_cands);
            sim.run_for(Duration::from_millis(20));
            let case = format!("A controlling {a_controlling}, candidates {a_cands}/{b_cands}");
            for i in 0..2 {
                let t = sim
                    .first_state_time(i, Connected)
                    .unwrap_or_else(|| panic!("{case}: node {i} never connected"));
                assert!(
                    t - t1 <= Duration::from_millis(2),
                    "{case}: node {i} connected {:?} after the exchange",
                    t - t1
                );
                let h: Vec<_> = sim.states(i).into_iter().map(|(_, s)| s).collect();
                assert_eq!(h, vec![Checking, Connected], "{case}: node {i}");
            }
            let controlling = usize::from(!a_controlling);
            assert_eq!(use_candidate_requests(&sim, controlling).len(), 1, "{case}");
            assert!(
                use_candidate_requests(&sim, 1 - controlling).is_empty(),
                "{case}"
            );
            sim.assert_connected_to_each_other();
        }
    }
}

#[test]
fn one_ms_link_connects_in_two_round_trips() {
    // Check, answer, nomination, answer: the controlled side is connected when the
    // nomination arrives (3 one-way delays), the controlling one when it is answered (4).
    let mut sim = Sim::new(41, test_config());
    sim.delay = Duration::from_millis(1);
    sim.setup(true, true);
    sim.run_for(Duration::from_millis(50));
    let a = sim
        .first_state_time(0, IceConnectionState::Connected)
        .unwrap();
    let b = sim
        .first_state_time(1, IceConnectionState::Connected)
        .unwrap();
    assert!(b <= Duration::from_millis(3), "{b:?}");
    assert!(a <= Duration::from_millis(4), "{a:?}");
    assert_eq!(use_candidate_requests(&sim, 0).len(), 1);
}

#[test]
fn lower_priority_success_is_not_nominated_while_a_better_check_can_still_succeed() {
    // A has two interfaces; its first (higher-priority) one is 40 ms away from B, the second
    // 0 ms. The second pair succeeds first (at 50 ms, its paced check), while the better
    // pair's check is still in flight: A waits (the bounded wait would end at 150 ms), the
    // better pair succeeds at 80 ms and is the one nominated, once.
    let mut sim = Sim::new(42, test_config());
    let (a1, a2) = (sa(A_ADDR), sa("10.0.0.3:5002"));
    sim.nodes[0].addrs.push(a2);
    sim.delay_rule = Some(Box::new(move |s, d| {
        if s == a1 || d == a1 {
            Duration::from_millis(40)
        } else {
            Duration::ZERO
        }
    }));
    sim.setup(true, true);
    sim.run_for(Duration::from_millis(60));
    let pairs = sim.nodes[0].agent.candidate_pairs();
    let pair = |local: SocketAddr| pairs.iter().find(|p| p.local == local).unwrap();
    assert_eq!(pair(a2).state, CandidatePairState::Succeeded);
    assert!(pair(a1).priority > pair(a2).priority);
    assert_eq!(pair(a1).state, CandidatePairState::InProgress);
    assert!(
        use_candidate_requests(&sim, 0).is_empty(),
        "nominated too early"
    );
    assert_eq!(sim.nodes[0].agent.state(), IceConnectionState::Checking);
    sim.run_for(secs(2));
    let noms = use_candidate_requests(&sim, 0);
    assert_eq!(noms.len(), 1, "{noms:?}");
    assert_eq!((noms[0].1, noms[0].2), (a1, sa(B_ADDR)));
    assert_eq!(noms[0].0, Duration::from_millis(80));
    assert_eq!(sim.nodes[0].agent.selected_pair(), Some((a1, sa(B_ADDR))));
    assert_eq!(sim.nodes[1].agent.selected_pair(), Some((sa(B_ADDR), a1)));
    assert_eq!(sim.selected_changes(0).len(), 1);
    assert_eq!(sim.selected_changes(1).len(), 1);
}

#[test]
fn srflx_remote_waits_the_bounded_time_for_a_host_candidate() {
    // The only remote candidate A knows is B's server-reflexive one (B's host candidate may
    // still trickle in): its pair succeeds at once but is nominated only after the bounded
    // wait. With end-of-candidates signalled nothing better can come, so no wait.
    for eoc in [false, true] {
        let mut sim = Sim::new(43, test_config());
        sim.delay = Duration::ZERO;
        sim.nodes[0].signal = false;
        sim.nodes[1].signal = false;
        sim.setup(true, true);
        let srflx = Candidate::parse(&format!(
            "candidate:7 1 udp 1686052607 {} {} typ srflx raddr 0.0.0.0 rport 0",
            sa(B_ADDR).ip(),
            sa(B_ADDR).port()
        ))
        .unwrap();
        sim.a().add_remote_candidate(srflx).unwrap();
        if eoc {
            sim.a().end_of_remote_candidates();
        }
        sim.run_for(secs(1));
        let noms = use_candidate_requests(&sim, 0);
        assert_eq!(noms.len(), 1, "eoc {eoc}: {noms:?}");
        let expected = if eoc {
            Duration::ZERO
        } else {
            test_config().nomination_timeout
        };
        assert_eq!(noms[0].0, expected, "eoc {eoc}");
        sim.assert_connected_to_each_other();
    }
}

#[test]
fn a_lost_first_check_is_replaced_by_a_triggered_check_at_once() {
    // RFC 8445 §7.3.1.4: the peer's request on a pair whose own check is unanswered cancels
    // that check and triggers a new one, so losing one datagram costs no 500 ms RTO. Either
    // side's first check is lost.
    for lose in [0usize, 1] {
        let mut sim = Sim::new(44, test_config());
        let from = sim.nodes[lose].addrs[0];
        let lost = std::cell::Cell::new(false);
        sim.drop_rule = Some(Box::new(move |_, s, _| {
            if s == from && !lost.get() {
                lost.set(true);
                return true;
            }
            false
        }));
        sim.setup(true, true);
        sim.run_for(secs(2));
        for i in 0..2 {
            let t = sim
                .first_state_time(i, IceConnectionState::Connected)
                .unwrap();
            assert!(
                t <= Duration::from_millis(50),
                "lose {lose}: node {i} at {t:?}"
            );
        }
        sim.assert_connected_to_each_other();
        // The cancelled check was not retransmitted: every request A and B sent in the
        // first 400 ms went out before 50 ms.
        assert!(
            sim.sent
                .iter()
                .all(|(t, _, _, d)| *t < Duration::from_millis(50)
                    || *t > Duration::from_millis(400)
                    || Message::parse(d).is_ok_and(|m| m.class() != Class::Request)),
            "lose {lose}"
        );
    }
}

/// A success response to request `req`, as the peer (ufragB's password) sends it.
fn peer_answer(req: &[u8], mapped: SocketAddr) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut out = Vec::new();
    let mut w = MessageWriter::new(
        &mut out,
        Class::SuccessResponse,
        Method::BINDING,
        m.transaction_id(),
    );
    w.xor_mapped_address(mapped).unwrap();
    w.message_integrity(b"passwordB-0123456789abcd").unwrap();
    w.fingerprint().unwrap();
    out
}

#[test]
fn selected_prflx_pair_keeps_its_rank_once_the_peer_signals_it() {
    // Controlled agent, aggressive peer. The pair to P1 is selected while P1 is a learnt
    // prflx candidate; then P1 is signalled as a host candidate, which raises that pair above
    // the pair to P2. A later nomination of P2 must not switch to it: the selected pair is
    // compared with its current priority, not the one it had when selected.
    let mut agent = hand_driven_agent(45, false);
    agent.set_tie_breaker(1);
    let (p1, p2) = (sa("10.0.1.2:6000"), sa("10.0.1.4:6000"));
    let c2 = Candidate::parse("candidate:2 1 udp 2000000000 10.0.1.4 6000 typ host").unwrap();
    agent.add_remote_candidate(c2).unwrap();
    let t0 = Instant::now();
    agent.handle_timeout(t0);
    // Our ordinary check to P2 goes unanswered for now.
    let first = agent.poll_transmit(t0).expect("check to P2");
    assert_eq!(first.remote, p2);
    while agent.poll_transmit(t0).is_some() {}
    // P1 checks us with USE-CANDIDATE; our triggered check is answered: P1 selected.
    assert!(agent.handle_packet(t0, sa(A_ADDR), p1, &peer_check(1, true, 99)));
    let mut sent = Vec::new();
    while let Some(t) = agent.poll_transmit(t0) {
        sent.push(t);
    }
    let check = sent
        .iter()
        .find(|t| Message::parse(&t.data).is_ok_and(|m| m.class() == Class::Request))
        .expect("triggered check to P1");
    assert_eq!(check.remote, p1);
    assert!(agent.handle_packet(t0, sa(A_ADDR), p1, &peer_answer(&check.data, sa(A_ADDR))));
    assert_eq!(agent.selected_pair(), Some((sa(A_ADDR), p1)));
    // P1 is signalled as host: its pair now ranks above P2's.
    let c1 = Candidate::parse("candidate:1 1 udp 2130706431 10.0.1.2 6000 typ host").unwrap();
    agent.add_remote_candidate(c1).unwrap();
    let pairs = agent.candidate_pairs();
    let prio = |r: SocketAddr| pairs.iter().find(|p| p.remote == r).unwrap().priority;
    assert!(prio(p1) > prio(p2));
    // P2 nominates too; its pair becomes valid and nominated, but does not take over.
    let t1 = t0 + Duration::from_millis(10);
    assert!(agent.handle_packet(t1, sa(A_ADDR), p2, &peer_check(2, true, 99)));
    let mut answered = false;
    while let Some(t) = agent.poll_transmit(t1) {
        if t.remote == p2 && Message::parse(&t.data).is_ok_and(|m| m.class() == Class::Request) {
            assert!(agent.handle_packet(t1, sa(A_ADDR), p2, &peer_answer(&t.data, sa(A_ADDR))));
            answered = true;
        }
    }
    assert!(answered, "a check to P2 was sent");
    let pairs = agent.candidate_pairs();
    let to_p2 = pairs.iter().find(|p| p.remote == p2).unwrap();
    assert!(to_p2.nominated && to_p2.state == CandidatePairState::Succeeded);
    assert_eq!(agent.selected_pair(), Some((sa(A_ADDR), p1)));
    let changes = std::iter::from_fn(|| agent.poll_event())
        .filter(|e| matches!(e, IceEvent::SelectedPairChanged(_)))
        .count();
    assert_eq!(changes, 1);
}

/// Per-datagram time of an agent with `n` remote candidates, all unreachable, after 41 s of
/// checks; `same_foundation` gives them one foundation (so all but one pair wait Frozen and
/// the pacing decision must find an unfreezable pair among them on every datagram).
fn per_datagram_cost(n: u32, same_foundation: bool) -> Duration {
    let cfg = IceAgentConfig {
        max_remote_candidates: n as usize,
        max_pairs: n as usize,
        ..test_config()
    };
    let mut agent = IceAgent::new(cfg, SeededRandom::new(71));
    agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
    agent.set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    agent.set_role(true);
    agent.add_local_interface(sa(A_ADDR)).unwrap();
    for i in 0..n {
        let foundation = if same_foundation { 7 } else { i };
        let c = Candidate::parse(&format!(
            "candidate:{foundation} 1 udp {} 10.9.{}.{} 6000 typ host",
            1000 + i,
            i / 200,
            1 + i % 200
        ))
        .unwrap();
        agent.add_remote_candidate(c).unwrap();
    }
    let start = Instant::now();
    let mut now = start;
    agent.handle_timeout(now);
    while agent.poll_transmit(now).is_some() {}
    while let Some(t) = agent.poll_timeout() {
        if t > start + secs(41) {
            break;
        }
        now = now.max(t);
        agent.handle_timeout(now);
        while agent.poll_transmit(now).is_some() {}
    }
    let junk = raw_request(1, &[], None, true);
    let rounds = 300;
    (0..5)
        .map(|_| {
            let t0 = std::time::Instant::now();
            for _ in 0..rounds {
                agent.handle_packet(now, sa(A_ADDR), sa("10.66.0.1:1"), &junk);
                while agent.poll_transmit(now).is_some() {}
                std::hint::black_box(agent.poll_timeout());
            }
            t0.elapsed() / rounds
        })
        .min()
        .unwrap()
}

/// What a datagram costs does not grow quadratically with the pairs a peer made us keep
/// Frozen (RFC 8445 §6.1.4.2 unfreezing runs on every pacing decision): with 400 candidates
/// of one foundation it stays within a small factor of 400 candidates of distinct
/// foundations (it was ~100× before the busy foundations were sorted once per decision).
#[test]
fn frozen_pairs_do_not_make_each_datagram_quadratic() {
    let frozen = per_datagram_cost(400, true);
    let distinct = per_datagram_cost(400, false);
    assert!(
        frozen < distinct * 12,
        "{frozen:?} per datagram with 399 Frozen pairs vs {distinct:?} without"
    );
}

// ---------------------------------------------------------------- TURN relays (relay.rs)

const TURN_SERVER: &str = "198.51.100.50:3478";
const TURN_USER: &str = "test";
const TURN_PASS: &str = "secret";
const TURN_REALM: &str = "rtcpeer.test";

struct Alloc {
    client: SocketAddr,
    relayed: SocketAddr,
    perms: Vec<IpAddr>,
    channels: Vec<(u16, SocketAddr)>,
}

/// A small TURN server (RFC 8656): long-term credentials, permissions, channels, Send/Data
/// indications and ChannelData, one allocation per client 5-tuple.
struct FakeTurn {
    server: SocketAddr,
    allocs: Vec<Alloc>,
    /// Requests and relayed datagrams seen, by method (or "channel-data"/"send").
    log: Vec<String>,
}

impl FakeTurn {
    fn new() -> FakeTurn {
        FakeTurn {
            server: sa(TURN_SERVER),
            allocs: Vec::new(),
            log: Vec::new(),
        }
    }

    fn owns(&self, dst: SocketAddr) -> bool {
        dst == self.server || self.allocs.iter().any(|a| a.relayed == dst)
    }

    fn key() -> [u8; 16] {
        crate::stun::long_term_key(TURN_USER, TURN_REALM, TURN_PASS)
    }

    /// Datagrams to send for one received: (src, dst, bytes).
    fn handle(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
    ) -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
        if let Some(ai) = self.allocs.iter().position(|a| a.relayed == dst) {
            // From a peer to a relayed address (RFC 8656 §11.3, §12.6).
            let a = &self.allocs[ai];
            if !a.perms.contains(&src.ip()) {
                return vec![];
            }
            let mut out = Vec::new();
            match a.channels.iter().find(|(_, p)| *p == src) {
                Some(&(n, _)) => crate::stun::write_channel_data(&mut out, n, data, false).unwrap(),
                None => {
                    let mut w = MessageWriter::new(
                        &mut out,
                        Class::Indication,
                        Method::DATA,
                        TransactionId([3; 12]),
                    );
                    w.xor_peer_address(src).unwrap();
                    w.data(data).unwrap();
                }
            }
            return vec![(self.server, a.client, out)];
        }
        if dst != self.server {
            return vec![];
        }
        let ai = self.allocs.iter().position(|a| a.client == src);
        if crate::stun::is_channel_data(data) {
            let cd = crate::stun::ChannelData::parse(data).unwrap();
            let a = &self.allocs[ai.expect("ChannelData without allocation")];
            let &(_, peer) = a.channels.iter().find(|(n, _)| *n == cd.number).unwrap();
            self.log.push("channel-data".into());
            return vec![(a.relayed, peer, cd.data.to_vec())];
        }
        let m = Message::parse(data).expect("the client sends STUN");
        if m.class() == Class::Indication && m.method() == Method::SEND {
            let a = &self.allocs[ai.expect("Send without allocation")];
            let peer = m.xor_peer_address().unwrap().unwrap();
            self.log.push("send".into());
            if !a.perms.contains(&peer.ip()) {
                return vec![];
            }
            return vec![(a.relayed, peer, m.data().unwrap().to_vec())];
        }
        assert_eq!(m.class(), Class::Request);
        self.log.push(format!("{:?}", m.method()));
        if m.method() == Method::BINDING {
            // coturn is a STUN server too (RFC 8489 §8).
            let mut out = Vec::new();
            let mut w = MessageWriter::new(
                &mut out,
                Class::SuccessResponse,
                Method::BINDING,
                m.transaction_id(),
            );
            w.xor_mapped_address(sa(NAT_PUBLIC)).unwrap();
            w.fingerprint().unwrap();
            return vec![(self.server, src, out)];
        }
        let mut out = Vec::new();
        let tid = m.transaction_id();
        if m.username() != Ok(Some(TURN_USER)) || !m.verify_message_integrity(&Self::key()) {
            let mut w = MessageWriter::new(&mut out, Class::ErrorResponse, m.method(), tid);
            w.error_code(401, "Unauthorized").unwrap();
            w.realm(TURN_REALM).unwrap();
            w.nonce("nonce").unwrap();
            return vec![(self.server, src, out)];
        }
        let mut w = MessageWriter::new(&mut out, Class::SuccessResponse, m.method(), tid);
        match m.method() {
            Method::ALLOCATE => {
                let relayed = SocketAddr::new(
                    "192.0.2.77".parse().unwrap(),
                    50000 + self.allocs.len() as u16,
                );
                if ai.is_none() {
                    self.allocs.push(Alloc {
                        client: src,
                        relayed,
                        perms: vec![],
                        channels: vec![],
                    });
                }
                w.xor_relayed_address(relayed).unwrap();
                w.xor_mapped_address(src).unwrap();
                w.lifetime(600).unwrap();
            }
            Method::REFRESH => {
                w.lifetime(m.lifetime().unwrap().unwrap_or(600)).unwrap();
            }
            Method::CREATE_PERMISSION => {
                let a = &mut self.allocs[ai.unwrap()];
                a.perms.push(m.xor_peer_address().unwrap().unwrap().ip());
            }
            Method::CHANNEL_BIND => {
                let a = &mut self.allocs[ai.unwrap()];
                let peer = m.xor_peer_address().unwrap().unwrap();
                a.perms.push(peer.ip());
                a.channels.push((m.channel_number().unwrap().unwrap(), peer));
            }
            other => panic!("unexpected TURN request {other:?}"),
        }
        w.message_integrity(&Self::key()).unwrap();
        w.fingerprint().unwrap();
        vec![(self.server, src, out)]
    }
}

fn relay_sim(a_relay_only: bool, b_relay_only: bool, pass: &str) -> Sim {
    let mut sim = Sim::new(31, test_config());
    sim.turn = Some(FakeTurn::new());
    for (i, relay_only) in [(0, a_relay_only), (1, b_relay_only)] {
        if relay_only {
            sim.nodes[i]
                .agent
                .set_transport_policy(IceTransportPolicy::Relay);
        }
    }
    // A always has the TURN server; B only when it is relay-only.
    sim.a()
        .add_turn_server(sa(TURN_SERVER), TURN_USER, pass, "turn:turn.test")
        .unwrap();
    if b_relay_only {
        sim.b()
            .add_turn_server(sa(TURN_SERVER), TURN_USER, pass, "turn:turn.test")
            .unwrap();
    }
    sim.setup(true, true);
    sim
}

#[test]
fn relay_policy_gathers_only_a_relayed_candidate_and_connects_through_turn() {
    let mut sim = relay_sim(true, false, TURN_PASS);
    sim.run_for(secs(5));
    let cands = sim.local_candidates_signalled(0);
    assert_eq!(cands.len(), 1, "only the relayed candidate: {cands:?}");
    let c = &cands[0];
    assert_eq!(c.typ, "relay");
    assert_eq!((c.address.as_str(), c.port), ("192.0.2.77", 50000));
    // raddr/rport: the mapped address (RFC 8839 §5.1); type preference 0 (RFC 8445 §5.1.2.2).
    assert_eq!(c.related_address.as_deref(), Some("10.0.0.1"));
    assert_eq!(c.related_port, Some(5000));
    assert_eq!(c.priority >> 24, 0);
    assert!(sim
        .nodes[0]
        .events
        .iter()
        .any(|(_, e)| *e == IceEvent::GatheringComplete));
    assert_eq!(sim.a().relay_url(sa("192.0.2.77:50000")), Some("turn:turn.test"));

    let a = sim.a().selected_pair().expect("A selected a pair");
    let b = sim.b().selected_pair().expect("B selected a pair");
    assert_eq!(a, (sa("192.0.2.77:50000"), sa(B_ADDR)));
    assert_eq!(b, (sa(B_ADDR), sa("192.0.2.77:50000")));
    // A never sent to B directly: everything went to the TURN server from its host socket.
    assert!(sim.sent.iter().filter(|r| r.1 == sa(A_ADDR)).all(|r| r.2 == sa(TURN_SERVER)));
    let log = &sim.turn.as_ref().unwrap().log;
    assert_eq!(log[0], "Method(3)", "Allocate first: {log:?}");
    assert!(log.iter().any(|l| l == "Method(8)"), "CreatePermission: {log:?}");
    assert!(log.iter().any(|l| l == "send"), "Send indications before a channel: {log:?}");
    assert!(log.iter().any(|l| l == "Method(9)"), "ChannelBind for the selected pair: {log:?}");
    // Consent keeps flowing, now as ChannelData (RFC 8656 §12).
    sim.run_for(secs(10));
    assert!(sim.turn.as_ref().unwrap().log.iter().any(|l| l == "channel-data"));
    assert!(is_connected(sim.a().state()));
    assert!(sim.a().uses_local_address(sa(A_ADDR)));
}

#[test]
fn relay_to_relay_connects_when_both_sides_are_relay_only() {
    let mut sim = relay_sim(true, true, TURN_PASS);
    sim.run_for(secs(5));
    let a = sim.a().selected_pair().expect("A selected a pair");
    let b = sim.b().selected_pair().expect("B selected a pair");
    assert_eq!(a.0, b.1);
    assert_eq!(b.0, a.1);
    assert!(sim.a().is_relayed_address(a.0));
    assert!(sim.b().is_relayed_address(b.0));
    assert!(sim.sent.iter().all(|r| r.2 == sa(TURN_SERVER)));
}

#[test]
fn relay_and_host_pairs_coexist_under_policy_all() {
    let mut sim = relay_sim(false, false, TURN_PASS);
    sim.run_for(secs(5));
    let kinds: Vec<String> = sim.local_candidates_signalled(0).iter().map(|c| c.typ.clone()).collect();
    assert!(kinds.contains(&"host".to_string()) && kinds.contains(&"relay".to_string()), "{kinds:?}");
    // Host beats relay (type preference 126 vs 0).
    assert_eq!(sim.a().selected_pair(), Some((sa(A_ADDR), sa(B_ADDR))));
}

#[test]
fn wrong_turn_credentials_give_a_401_candidate_error_and_gathering_completes() {
    let mut sim = relay_sim(true, false, "wrong");
    sim.run_for(secs(5));
    let errors: Vec<&IceEvent> = sim.nodes[0]
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, IceEvent::CandidateError { .. }))
        .collect();
    assert_eq!(
        errors,
        vec![&IceEvent::CandidateError {
            address: sa(A_ADDR),
            server: sa(TURN_SERVER),
            error_code: 401,
            error_text: "Unauthorized".into()
        }]
    );
    assert!(sim.local_candidates_signalled(0).is_empty());
    assert!(sim
        .nodes[0]
        .events
        .iter()
        .any(|(_, e)| *e == IceEvent::GatheringComplete));
    assert!(sim.a().selected_pair().is_none());
}

#[test]
fn closing_the_agent_deallocates() {
    let mut sim = relay_sim(true, false, TURN_PASS);
    sim.run_for(secs(2));
    sim.a().close();
    let t = sim.a().poll_closed_transmit().expect("a Refresh with LIFETIME 0");
    assert_eq!((t.local, t.remote), (sa(A_ADDR), sa(TURN_SERVER)));
    let m = Message::parse(&t.data).unwrap();
    assert_eq!((m.method(), m.lifetime()), (Method::REFRESH, Ok(Some(0))));
    assert!(sim.a().poll_closed_transmit().is_none());
}

#[test]
fn ice_restart_keeps_the_allocation_and_signals_the_relayed_candidate_again() {
    let mut sim = relay_sim(true, false, TURN_PASS);
    sim.run_for(secs(3));
    let allocates = |sim: &Sim| {
        let log = &sim.turn.as_ref().unwrap().log;
        log.iter().filter(|l| *l == "Method(3)").count()
    };
    // One Allocate without and one with credentials.
    assert_eq!(allocates(&sim), 2);
    let before = sim.local_candidates_signalled(0).len();
    let b_host = sim.local_candidates_signalled(1)[0].clone();
    sim.a().restart("ufragA2", "passwordA2-0123456789abcd");
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    sim.b()
        .set_remote_credentials("ufragA2", "passwordA2-0123456789abcd");
    sim.a().add_remote_candidate(b_host).unwrap();
    sim.run_for(secs(5));
    let after = sim.local_candidates_signalled(0);
    assert_eq!(after.len(), before + 1, "{after:?}");
    let again = after.last().unwrap();
    assert_eq!(again.typ, "relay");
    assert_eq!(
        crate::ice::candidate::extension(again, "ufrag"),
        Some("ufragA2")
    );
    assert_eq!(allocates(&sim), 2, "the allocation is kept across the restart");
    assert_eq!(sim.a().generation(), 1);
    let (local, remote) = sim.a().selected_pair().expect("selected after the restart");
    assert_eq!((local, remote), (sa("192.0.2.77:50000"), sa(B_ADDR)));
    assert!(
        sim.a()
            .candidate_pairs()
            .iter()
            .any(|p| p.local == local && p.state == CandidatePairState::Succeeded)
    );
}

#[test]
fn one_server_for_stun_and_turn_gives_srflx_and_relay_candidates() {
    let mut sim = Sim::new(33, test_config());
    sim.turn = Some(FakeTurn::new());
    sim.a().add_stun_server(sa(TURN_SERVER)).unwrap();
    sim.a()
        .add_turn_server(sa(TURN_SERVER), TURN_USER, TURN_PASS, "turn:turn.test")
        .unwrap();
    sim.setup(true, true);
    sim.run_for(secs(1));
    let kinds: Vec<String> = sim
        .local_candidates_signalled(0)
        .iter()
        .map(|c| c.typ.clone())
        .collect();
    assert_eq!(kinds, ["host", "srflx", "relay"], "the Binding answer reached the agent");
    assert!(
        !sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| matches!(e, IceEvent::CandidateError { .. }))
    );
    assert!(
        sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| *e == IceEvent::GatheringComplete)
    );
}

#[test]
fn restart_on_fresh_sockets_allocates_anew_and_releases_the_old_allocation_once_replaced() {
    let mut sim = relay_sim(true, false, TURN_PASS);
    sim.run_for(secs(3));
    let old_relay = sim.a().selected_pair().expect("selected").0;
    assert_eq!(old_relay, sa("192.0.2.77:50000"));
    let fresh = sa("10.0.0.1:5001");
    sim.nodes[0].addrs.push(fresh);
    let b_host = sim.local_candidates_signalled(1)[0].clone();
    sim.a()
        .restart_on_new_interfaces("ufragA2", "passwordA2-0123456789abcd");
    sim.a().add_local_interface(fresh).unwrap();
    sim.a().interfaces_complete();
    sim.a()
        .set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    sim.b()
        .set_remote_credentials("ufragA2", "passwordA2-0123456789abcd");
    sim.a().add_remote_candidate(b_host).unwrap();
    // The old allocation still carries the selected pair during the restart.
    assert!(sim.a().uses_local_address(sa(A_ADDR)));
    sim.run_for(secs(5));
    let new_relay = sim.a().selected_pair().expect("selected after the restart").0;
    assert_eq!(new_relay, sa("192.0.2.77:50001"), "a new allocation from the fresh socket");
    // The new generation signalled only the new relayed candidate.
    let last = sim.local_candidates_signalled(0).last().unwrap().clone();
    assert_eq!((last.address.as_str(), last.port), ("192.0.2.77", 50001));
    // The old one was released (Refresh LIFETIME 0 from the old socket) and its socket let go.
    let dealloc = sim.sent.iter().any(|(_, from, to, d)| {
        *from == sa(A_ADDR)
            && *to == sa(TURN_SERVER)
            && Message::parse(d)
                .is_ok_and(|m| m.method() == Method::REFRESH && m.lifetime() == Ok(Some(0)))
    });
    assert!(dealloc, "no deallocation of the old allocation");
    assert!(!sim.a().uses_local_address(sa(A_ADDR)));
    assert!(!sim.a().is_relayed_address(old_relay));
}

// ------------------------------------------- TURN over a stream (relay.rs, RFC 8656 §3.1)

/// The local address of A's (simulated) TCP/TLS connection to the TURN server.
const STREAM_LOCAL: &str = "10.0.0.1:41000";

fn stream_relay_sim() -> Sim {
    let mut sim = Sim::new(31, test_config());
    sim.turn = Some(FakeTurn::new());
    sim.nodes[0]
        .agent
        .set_transport_policy(IceTransportPolicy::Relay);
    sim.nodes[0].addrs.push(sa(STREAM_LOCAL));
    sim.a()
        .add_turn_stream(
            sa(STREAM_LOCAL),
            sa(TURN_SERVER),
            TURN_USER,
            TURN_PASS,
            "turns:turn.test?transport=tcp",
            RelayProtocol::Tls,
        )
        .unwrap();
    sim.setup(true, true);
    sim
}

#[test]
fn an_allocation_over_a_stream_connects_with_padded_channel_data() {
    let mut sim = stream_relay_sim();
    sim.run_for(secs(5));
    let cands = sim.local_candidates_signalled(0);
    assert_eq!(cands.len(), 1, "{cands:?}");
    assert_eq!(cands[0].typ, "relay");
    let relayed = sa("192.0.2.77:50000");
    assert_eq!(sim.a().relay_protocol(relayed), Some(RelayProtocol::Tls));
    assert_eq!(sim.a().relay_url(relayed), Some("turns:turn.test?transport=tcp"));
    assert_eq!(
        sim.a().selected_pair().expect("A selected a pair"),
        (relayed, sa(B_ADDR))
    );
    // Everything A sent went over the connection: from its local address to the server.
    let from_a: Vec<&Record> = sim
        .sent
        .iter()
        .filter(|r| r.1 == sa(STREAM_LOCAL) || r.1 == sa(A_ADDR))
        .collect();
    assert!(!from_a.is_empty());
    assert!(
        from_a
            .iter()
            .all(|r| r.1 == sa(STREAM_LOCAL) && r.2 == sa(TURN_SERVER))
    );
    // Consent as ChannelData, padded to 4 bytes on a stream (RFC 8656 §12.5).
    sim.run_for(secs(10));
    let channel_data: Vec<&Record> = sim
        .sent
        .iter()
        .filter(|r| r.1 == sa(STREAM_LOCAL) && crate::stun::is_channel_data(&r.3))
        .collect();
    assert!(!channel_data.is_empty());
    for r in channel_data {
        assert_eq!(r.3.len() % 4, 0, "unpadded ChannelData on a stream");
        let cd = crate::stun::ChannelData::parse(&r.3).unwrap();
        assert_eq!(cd.padded_len(), r.3.len());
    }
    // A stream is reliable: no request was sent twice (RFC 8489 §6.2.2).
    let log = &sim.turn.as_ref().unwrap().log;
    assert_eq!(log.iter().filter(|l| *l == "Method(3)").count(), 2, "{log:?}");
    assert!(is_connected(sim.a().state()));
}

#[test]
fn a_stream_request_is_not_retransmitted_and_times_out_after_ti() {
    let mut sim = stream_relay_sim();
    // The server never answers.
    sim.drop_rule = Some(Box::new(|_, _, d| d == sa(TURN_SERVER)));
    sim.run_for(secs(30));
    let sent = sim
        .sent
        .iter()
        .filter(|r| r.1 == sa(STREAM_LOCAL))
        .count();
    assert_eq!(sent, 1, "one Allocate, not retransmitted");
    assert!(
        !sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| matches!(e, IceEvent::CandidateError { .. }))
    );
    // Ti = 39.5 s (RFC 8489 §6.2.2), within the rounding of the RTO multiple.
    sim.run_for(secs(15));
    let errors: Vec<&IceEvent> = sim.nodes[0]
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, IceEvent::CandidateError { .. }))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(
        errors[0],
        IceEvent::CandidateError { error_code: 701, address, .. } if *address == sa(STREAM_LOCAL)
    ));
}

#[test]
fn losing_the_stream_fails_the_allocation_and_its_paths_at_once() {
    let mut sim = stream_relay_sim();
    sim.run_for(secs(5));
    let relayed = sa("192.0.2.77:50000");
    assert!(is_connected(sim.a().state()));
    // A stream for another server, or a UDP-style base: nothing happens.
    sim.a()
        .turn_stream_lost(sa(A_ADDR), sa(TURN_SERVER), 701, "not a stream");
    sim.flush();
    assert!(sim.a().is_relayed_address(relayed));
    sim.a()
        .turn_stream_lost(sa(STREAM_LOCAL), sa(TURN_SERVER), 701, "connection reset");
    sim.flush();
    let errors: Vec<&IceEvent> = sim.nodes[0]
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, IceEvent::CandidateError { .. }))
        .collect();
    assert_eq!(
        errors,
        vec![&IceEvent::CandidateError {
            address: sa(STREAM_LOCAL),
            server: sa(TURN_SERVER),
            error_code: 701,
            error_text: "connection reset".into()
        }]
    );
    assert!(!sim.a().is_relayed_address(relayed));
    assert!(
        sim.a()
            .candidate_pairs()
            .iter()
            .filter(|p| p.local == relayed)
            .all(|p| p.state == CandidatePairState::Failed)
    );
    // Without waiting for consent (30 s): the only path is gone.
    assert_eq!(sim.a().state(), IceConnectionState::Failed);
    assert!(sim.nodes[0].events.iter().any(|(_, e)| *e == IceEvent::StateChange(IceConnectionState::Failed)));
    // Reported once.
    sim.a()
        .turn_stream_lost(sa(STREAM_LOCAL), sa(TURN_SERVER), 701, "again");
    sim.flush();
    let n = sim.nodes[0]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, IceEvent::CandidateError { .. }))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn a_stream_allocation_is_refused_once_closed_or_beyond_the_cap() {
    let mut agent = IceAgent::new(test_config(), SeededRandom::new(5));
    for i in 0..MAX_RELAYS {
        let local = SocketAddr::new("10.0.0.1".parse().unwrap(), 40000 + i as u16);
        agent
            .add_turn_stream(local, sa(TURN_SERVER), "u", "p", "turn:x?transport=tcp", RelayProtocol::Tcp)
            .unwrap();
        // Idempotent.
        agent
            .add_turn_stream(local, sa(TURN_SERVER), "u", "p", "turn:x?transport=tcp", RelayProtocol::Tcp)
            .unwrap();
    }
    assert!(
        agent
            .add_turn_stream(sa("10.0.0.1:1"), sa(TURN_SERVER), "u", "p", "turn:x", RelayProtocol::Tcp)
            .is_err()
    );
    agent.close();
    assert!(
        agent
            .add_turn_stream(sa("10.0.0.1:2"), sa(TURN_SERVER), "u", "p", "turn:x", RelayProtocol::Tcp)
            .is_err()
    );
    assert_eq!(RelayProtocol::Udp.as_str(), "udp");
    assert_eq!(RelayProtocol::Tcp.as_str(), "tcp");
    assert_eq!(RelayProtocol::Tls.as_str(), "tls");
}
