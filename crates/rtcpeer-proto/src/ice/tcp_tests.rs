//! ICE-TCP tests (RFC 6544): priorities, pairing rules, candidate lines, and two agents
//! connecting over an in-memory model of TCP connections (in order, no loss: what an
//! active transmit opens, a passive one can only answer on).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::*;
use crate::util::SeededRandom;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

const A_LISTEN: &str = "10.0.0.1:7000";
const B_LISTEN: &str = "10.0.1.2:8000";
const A_UDP: &str = "10.0.0.1:5000";

#[test]
fn tcp_priorities_follow_rfc6544_section_4_2() {
    let v4: IpAddr = "192.0.2.1".parse().unwrap();
    // Direction preferences: host 6 active, 4 passive, 2 S-O; NAT-assisted 6 S-O, 4 active,
    // 2 passive.
    let host = CandidateKind::Host;
    let srflx = CandidateKind::ServerReflexive;
    assert_eq!(TcpType::Active.direction_preference(host), 6);
    assert_eq!(TcpType::Passive.direction_preference(host), 4);
    assert_eq!(TcpType::SimultaneousOpen.direction_preference(host), 2);
    assert_eq!(TcpType::SimultaneousOpen.direction_preference(srflx), 6);
    assert_eq!(TcpType::Active.direction_preference(srflx), 4);
    assert_eq!(TcpType::Passive.direction_preference(srflx), 2);
    // local pref = 2^13·direction-pref + other-pref; first IPv4 interface: other-pref 0x1000.
    assert_eq!(
        candidate::tcp_local_preference(host, TcpType::Active, v4, 0),
        (6 << 13) | 0x1000
    );
    let active = tcp_candidate_priority(host, TcpType::Active, v4, 0);
    assert_eq!(active, (90 << 24) + (((6 << 13) | 0x1000) << 8) + 255);
    let passive = tcp_candidate_priority(host, TcpType::Passive, v4, 0);
    let udp_host = candidate_priority(host, local_preference(v4, 0), 1);
    let udp_srflx = candidate_priority(srflx, local_preference(v4, 0), 1);
    // UDP above TCP, active above passive for host candidates.
    assert!(udp_host > active && udp_srflx > active);
    assert!(active > passive);
    // Later interfaces rank lower within the same direction preference.
    assert!(passive > tcp_candidate_priority(host, TcpType::Passive, v4, 3));
    // Every TCP priority fits the 31 bits RFC 8445 §5.1.2 allows.
    for kind in [host, srflx, CandidateKind::PeerReflexive, CandidateKind::Relay] {
        for t in [TcpType::Active, TcpType::Passive, TcpType::SimultaneousOpen] {
            for ip in ["192.0.2.1", "2001:db8::1", "fe80::1"] {
                let p = tcp_candidate_priority(kind, t, ip.parse().unwrap(), 15);
                assert!(p < 1 << 31, "{kind:?} {t:?} {ip}");
            }
        }
    }
}

#[test]
fn only_active_with_passive_and_so_with_so_pair_rfc6544_section_6_2() {
    use TcpType::*;
    let all = [Active, Passive, SimultaneousOpen];
    let mut ok = Vec::new();
    for l in all {
        for r in all {
            if l.pairs_with(r) {
                ok.push((l, r));
            }
        }
    }
    assert_eq!(
        ok,
        vec![
            (Active, Passive),
            (Passive, Active),
            (SimultaneousOpen, SimultaneousOpen)
        ]
    );
    for t in all {
        assert_eq!(TcpType::from_token(t.as_str()), Some(t));
        assert_eq!(TcpType::from_token(&t.as_str().to_uppercase()), Some(t));
    }
    assert_eq!(TcpType::from_token("sideways"), None);
}

fn agent(seed: u64, controlling: bool, ufrag: &str) -> IceAgent {
    let mut a = IceAgent::new(IceAgentConfig::default(), SeededRandom::new(seed));
    a.set_local_credentials(ufrag, &format!("password-{ufrag}-0123456789abcdef"));
    a.set_role(controlling);
    a
}

fn candidates(a: &mut IceAgent) -> Vec<Candidate> {
    let mut out = Vec::new();
    while let Some(e) = a.poll_event() {
        if let IceEvent::LocalCandidate(c) = e {
            out.push(c);
        }
    }
    out
}

#[test]
fn a_listener_gives_a_passive_and_an_active_candidate_that_parse_back() {
    let t0 = Instant::now();
    let mut a = agent(1, true, "ufragA");
    a.add_local_interface(sa(A_UDP)).unwrap();
    a.add_local_tcp(sa(A_LISTEN)).unwrap();
    a.handle_timeout(t0);
    let cands = candidates(&mut a);
    assert_eq!(cands.len(), 3);
    let lines: Vec<String> = cands.iter().map(|c| c.to_string()).collect();
    let passive = &cands[1];
    assert_eq!(passive.protocol, "tcp");
    assert_eq!(passive.port, 7000);
    assert_eq!(passive.tcp_type.as_deref(), Some("passive"));
    let active = &cands[2];
    assert_eq!(active.port, 9);
    assert_eq!(active.tcp_type.as_deref(), Some("active"));
    assert!(
        lines[2].contains(" tcp ") && lines[2].contains(" 9 typ host tcptype active"),
        "{}",
        lines[2]
    );
    // Distinct foundations for UDP, passive and active (RFC 8445 §5.1.1.3).
    assert_ne!(cands[0].foundation, passive.foundation);
    assert_ne!(passive.foundation, active.foundation);
    // UDP ranks first, then active, then passive.
    assert!(cands[0].priority > active.priority && active.priority > passive.priority);
    for (c, line) in cands.iter().zip(&lines) {
        assert_eq!(&Candidate::parse(line).unwrap(), c, "{line}");
    }
    assert_eq!(a.tcp_base_type(sa(A_LISTEN)), Some(TcpType::Passive));
    assert_eq!(a.tcp_base_type(sa("10.0.0.1:9")), Some(TcpType::Active));
    assert_eq!(a.tcp_base_type(sa(A_UDP)), None);
    // A listener on a UDP socket's address or on port 9 is refused.
    assert!(a.add_local_tcp(sa(A_UDP)).is_err());
    assert!(a.add_local_tcp(sa("10.0.0.1:9")).is_err());
}

#[test]
fn udp_and_tcp_candidates_never_pair_with_each_other() {
    let t0 = Instant::now();
    let mut a = agent(2, true, "ufragA");
    a.set_remote_credentials("ufragB", "password-ufragB-0123456789abcdef");
    a.add_local_interface(sa(A_UDP)).unwrap();
    a.add_local_tcp(sa(A_LISTEN)).unwrap();
    a.handle_timeout(t0);
    for line in [
        "candidate:1 1 udp 2122260223 10.0.1.2 6000 typ host",
        "candidate:2 1 tcp 1518280447 10.0.1.2 8000 typ host tcptype passive",
        "candidate:3 1 tcp 1518214911 10.0.1.2 9 typ host tcptype active",
        "candidate:4 1 tcp 1518214911 10.0.1.2 8100 typ host tcptype so",
        "candidate:5 1 tcp 1518214911 10.0.1.2 8200 typ host",
    ] {
        a.add_remote_candidate(Candidate::parse(line).unwrap())
            .unwrap();
    }
    let mut pairs: Vec<(SocketAddr, SocketAddr)> = a
        .candidate_pairs()
        .into_iter()
        .map(|p| (p.local, p.remote))
        .collect();
    pairs.sort();
    // UDP↔UDP and our active ↔ their passive; nothing from our passive candidate (it waits
    // for the peer to connect), nothing with S-O (we gather none) or a tcptype-less line.
    assert_eq!(
        pairs,
        vec![
            (sa("10.0.0.1:9"), sa(B_LISTEN)),
            (sa(A_UDP), sa("10.0.1.2:6000")),
        ]
    );
}

/// One TCP connection of the model: opened by `active` (its base and its ephemeral
/// address), accepted on `passive`.
struct Conn {
    active_base: SocketAddr,
    active_addr: SocketAddr,
    passive: SocketAddr,
}

struct Net {
    now: Instant,
    agents: [IceAgent; 2],
    conns: Vec<Conn>,
    /// (to agent, local base, remote, data)
    queue: VecDeque<(usize, SocketAddr, SocketAddr, Vec<u8>)>,
    sent: [usize; 2],
    passive_without_connection: usize,
}

impl Net {
    fn owner(&self, ip: IpAddr) -> usize {
        usize::from(ip != sa(A_LISTEN).ip())
    }

    fn transmit(&mut self, from: usize, t: Transmit) {
        self.sent[from] += 1;
        match t.tcp {
            Some(TcpType::Active) => {
                let existing = self
                    .conns
                    .iter()
                    .position(|c| c.active_base == t.local && c.passive == t.remote);
                let ci = existing.unwrap_or_else(|| {
                    let port = 50_000 + self.conns.len() as u16;
                    self.conns.push(Conn {
                        active_base: t.local,
                        active_addr: SocketAddr::new(t.local.ip(), port),
                        passive: t.remote,
                    });
                    self.conns.len() - 1
                });
                let c = &self.conns[ci];
                let to = self.owner(c.passive.ip());
                self.queue
                    .push_back((to, c.passive, c.active_addr, t.data));
            }
            Some(TcpType::Passive) => {
                let Some(c) = self
                    .conns
                    .iter()
                    .find(|c| c.passive == t.local && c.active_addr == t.remote)
                else {
                    self.passive_without_connection += 1;
                    return;
                };
                let to = self.owner(c.active_base.ip());
                self.queue
                    .push_back((to, c.active_base, c.passive, t.data));
            }
            other => panic!("unexpected transmit {other:?} over a TCP-only network"),
        }
    }

    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            for i in 0..2 {
                let now = self.now;
                while let Some(t) = self.agents[i].poll_transmit(now) {
                    self.transmit(i, t);
                }
                let cands = candidates(&mut self.agents[i]);
                for c in cands {
                    self.agents[1 - i].add_remote_candidate(c).unwrap();
                }
            }
            if let Some((to, local, remote, data)) = self.queue.pop_front() {
                let now = self.now;
                assert!(self.agents[to].handle_packet(now, local, remote, &data));
                continue;
            }
            let next = self
                .agents
                .iter()
                .filter_map(IceAgent::poll_timeout)
                .min()
                .unwrap_or(end)
                .clamp(self.now + Duration::from_millis(1), end);
            self.now = next;
            for a in &mut self.agents {
                a.handle_timeout(next);
            }
        }
    }
}

fn tcp_pair(seed: u64) -> Net {
    let now = Instant::now();
    let mut a = agent(seed, true, "ufragA");
    let mut b = agent(seed + 1, false, "ufragB");
    a.set_remote_credentials("ufragB", "password-ufragB-0123456789abcdef");
    b.set_remote_credentials("ufragA", "password-ufragA-0123456789abcdef");
    a.add_local_tcp(sa(A_LISTEN)).unwrap();
    b.add_local_tcp(sa(B_LISTEN)).unwrap();
    a.handle_timeout(now);
    b.handle_timeout(now);
    Net {
        now,
        agents: [a, b],
        conns: Vec::new(),
        queue: VecDeque::new(),
        sent: [0, 0],
        passive_without_connection: 0,
    }
}

#[test]
fn two_agents_connect_over_tcp_only() {
    let mut net = tcp_pair(10);
    net.run(Duration::from_secs(2));
    for i in 0..2 {
        assert!(
            matches!(
                net.agents[i].state(),
                IceConnectionState::Connected | IceConnectionState::Completed
            ),
            "agent {i}: {:?}",
            net.agents[i].state()
        );
    }
    // Both sides use the same connection: one end is an active base (port 9), the other the
    // listener the connection was accepted on, and the active side's address the peer saw.
    let (al, ar) = net.agents[0].selected_pair().unwrap();
    let (bl, br) = net.agents[1].selected_pair().unwrap();
    let c = net
        .conns
        .iter()
        .find(|c| (c.active_base == al && c.passive == ar) || (c.active_base == bl && c.passive == br))
        .expect("the selected pair is a connection");
    if c.active_base == al {
        assert_eq!((bl, br), (c.passive, c.active_addr));
    } else {
        assert_eq!((al, ar), (c.passive, c.active_addr));
    }
    let (lc, rc) = net.agents[0].selected_candidates().unwrap();
    assert!(lc.is_tcp() && rc.is_tcp());
    assert!(lc.tcp_type.unwrap().pairs_with(rc.tcp_type.unwrap()));
    // At most one connection per direction (active base → listener).
    assert!(net.conns.len() <= 2, "{} connections", net.conns.len());
    assert_eq!(net.passive_without_connection, 0);
}

#[test]
fn stun_over_tcp_is_not_retransmitted() {
    // A peer whose listener never answers: every check to it is sent once (RFC 8489 §6.2.2)
    // and the pair fails at the end of the transaction (39.5 s).
    let t0 = Instant::now();
    let mut a = agent(20, true, "ufragA");
    a.set_remote_credentials("ufragB", "password-ufragB-0123456789abcdef");
    a.add_local_tcp(sa(A_LISTEN)).unwrap();
    a.handle_timeout(t0);
    a.add_remote_candidate(
        Candidate::parse("candidate:2 1 tcp 1518280447 10.0.1.2 8000 typ host tcptype passive")
            .unwrap(),
    )
    .unwrap();
    let mut now = t0;
    let mut checks = 0;
    while now < t0 + Duration::from_secs(45) {
        while let Some(t) = a.poll_transmit(now) {
            assert_eq!(t.tcp, Some(TcpType::Active));
            assert_eq!((t.local, t.remote), (sa("10.0.0.1:9"), sa(B_LISTEN)));
            checks += 1;
        }
        now = a
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(1))
            .max(now + Duration::from_millis(1));
        a.handle_timeout(now);
    }
    assert_eq!(checks, 1);
    let pairs = a.candidate_pairs();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].state, CandidatePairState::Failed);
}

#[test]
fn a_failed_connect_fails_the_check_at_once() {
    let t0 = Instant::now();
    let mut a = agent(30, true, "ufragA");
    a.set_remote_credentials("ufragB", "password-ufragB-0123456789abcdef");
    a.add_local_tcp(sa(A_LISTEN)).unwrap();
    a.handle_timeout(t0);
    a.add_remote_candidate(
        Candidate::parse("candidate:2 1 tcp 1518280447 10.0.1.2 8000 typ host tcptype passive")
            .unwrap(),
    )
    .unwrap();
    let t = a.poll_transmit(t0).expect("the check");
    assert_eq!(t.tcp, Some(TcpType::Active));
    // Unknown paths and UDP bases are ignored.
    a.tcp_connection_failed(sa("10.0.0.1:9"), sa("10.0.1.2:8001"));
    a.tcp_connection_failed(sa(A_UDP), sa(B_LISTEN));
    assert_eq!(a.candidate_pairs()[0].state, CandidatePairState::InProgress);
    a.tcp_connection_failed(t.local, t.remote);
    assert_eq!(a.candidate_pairs()[0].state, CandidatePairState::Failed);
    // With gathering complete and nothing left to check, the PAC timer decides (5 s), not
    // the 39.5 s transaction.
    let mut now = t0;
    while now < t0 + Duration::from_secs(6) {
        while a.poll_transmit(now).is_some() {}
        while a.poll_event().is_some() {}
        now = a
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(1))
            .max(now + Duration::from_millis(1));
        a.handle_timeout(now);
    }
    assert_eq!(a.state(), IceConnectionState::Failed);
}
