//! The ICE agent (rtcpeer_proto::ice::IceAgent) driven by a hostile peer: raw datagrams, checks
//! signed with the right password from many source addresses, answers to the agent's own
//! checks, trickled candidates, end-of-candidates, restarts and time passing, in any order.
//! Never a panic; remote candidates, peer-reflexive ones and pairs stay within their caps; and
//! no reply to an unauthenticated datagram is larger than the datagram (RFC 8489 §9.1.3).
//!
//! The input is a list of operations: one opcode byte, then its arguments.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::ice::{CandidateKind, IceAgent, IceAgentConfig};
use rtcpeer_proto::sdp::Candidate;
use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method, TransactionId};
use rtcpeer_proto::util::SeededRandom;

const LOCAL: &str = "10.0.0.1:5000";
const OUR_PWD: &[u8] = b"passwordA-0123456789abcd";
const PEER_PWD: &[u8] = b"passwordB-0123456789abcd";

fn source(b: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, b / 16, b % 16 + 1)), 6000)
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fuzz_target!(|data: &[u8]| {
    let config = IceAgentConfig::default();
    let (max_remote, max_prflx, max_pairs) = (
        config.max_remote_candidates,
        config.max_peer_reflexive_candidates,
        config.max_pairs,
    );
    let mut agent = IceAgent::new(config, SeededRandom::new(1));
    agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
    agent.set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    let local: SocketAddr = LOCAL.parse().expect("address");
    agent.add_local_interface(local).expect("interface");
    let mut now = Instant::now();
    agent.handle_timeout(now);
    // Transaction ids of the checks the agent sent, to answer them.
    let mut sent: Vec<(TransactionId, SocketAddr)> = Vec::new();
    let mut input = Input(data);
    let mut generation = 0u32;
    while let Some(op) = input.byte() {
        let arg = input.byte().unwrap_or(0);
        let mut raw: Option<(Vec<u8>, SocketAddr)> = None;
        match op % 8 {
            0 => {
                now += Duration::from_millis(u64::from(arg) * 20);
                agent.handle_timeout(now);
            }
            1 => {
                // A check signed with our password from source `arg`.
                let flags = input.byte().unwrap_or(0);
                let tb = u64::from(input.byte().unwrap_or(0)) << 56;
                let mut out = Vec::new();
                let mut w = MessageWriter::new(
                    &mut out,
                    Class::Request,
                    Method::BINDING,
                    TransactionId([arg; 12]),
                );
                let _ = w.username("ufragA:ufragB");
                if flags & 1 != 0 {
                    let _ = w.priority(1_845_501_695);
                }
                if flags & 2 != 0 {
                    let _ = w.ice_controlling(tb);
                }
                if flags & 4 != 0 {
                    let _ = w.ice_controlled(tb);
                }
                if flags & 8 != 0 {
                    let _ = w.use_candidate();
                }
                let _ = w.message_integrity(OUR_PWD);
                let _ = w.fingerprint();
                agent.handle_packet(now, local, source(arg), &out);
            }
            2 => {
                // Any bytes from source `arg`: unauthenticated.
                let len = usize::from(input.byte().unwrap_or(0)) * 4;
                let bytes = input.bytes(len).to_vec();
                raw = Some((bytes, source(arg)));
            }
            3 => {
                // An answer, signed with the peer's password, to one of our checks.
                if let Some(&(tid, to)) = sent.get(usize::from(arg) % sent.len().max(1)) {
                    let kind = input.byte().unwrap_or(0);
                    let mut out = Vec::new();
                    let class = if kind % 3 == 0 {
                        Class::ErrorResponse
                    } else {
                        Class::SuccessResponse
                    };
                    let mut w = MessageWriter::new(&mut out, class, Method::BINDING, tid);
                    if class == Class::ErrorResponse {
                        let _ = w.error_code(if kind % 2 == 0 { 487 } else { 400 }, "");
                    } else {
                        let _ = w.xor_mapped_address(local);
                    }
                    let _ = w.message_integrity(PEER_PWD);
                    let _ = w.fingerprint();
                    let from = if kind & 0x80 != 0 { source(kind) } else { to };
                    agent.handle_packet(now, local, from, &out);
                }
            }
            4 => {
                let a = source(arg);
                let line = format!(
                    "candidate:{} 1 udp {} {} {} typ host",
                    arg % 5,
                    1000 + u32::from(arg),
                    a.ip(),
                    a.port()
                );
                if let Ok(c) = Candidate::parse(&line) {
                    let _ = agent.add_remote_candidate(c);
                }
            }
            5 => agent.end_of_remote_candidates(),
            6 => {
                generation += 1;
                agent.restart(&format!("ufragA{generation}"), "passwordA-0123456789abcd");
                agent.set_remote_credentials(
                    &format!("ufragB{generation}"),
                    "passwordB-0123456789abcd",
                );
            }
            _ => agent.set_role(arg % 2 == 0),
        }
        if let Some((bytes, from)) = &raw {
            agent.handle_packet(now, local, *from, bytes);
        }
        // Drain: note our checks; measure the replies to an unauthenticated datagram.
        let mut reply_bytes = 0usize;
        let raw_tid = raw
            .as_ref()
            .and_then(|(b, _)| Message::parse(b).ok())
            .filter(|m| m.class() == Class::Request)
            .map(|m| m.transaction_id());
        while let Some(t) = agent.poll_transmit(now) {
            let Ok(m) = Message::parse(&t.data) else {
                continue;
            };
            if m.class() == Class::Request {
                if sent.len() >= 64 {
                    sent.remove(0);
                }
                sent.push((m.transaction_id(), t.remote));
            } else if Some(m.transaction_id()) == raw_tid
                && raw.as_ref().is_some_and(|(_, from)| *from == t.remote)
            {
                reply_bytes += t.data.len();
            }
        }
        if let Some((bytes, _)) = &raw {
            assert!(
                reply_bytes <= bytes.len(),
                "{reply_bytes} bytes out for {}",
                bytes.len()
            );
        }
        while agent.poll_event().is_some() {}
        let remotes = agent.remote_candidates();
        assert!(remotes.len() <= max_remote);
        let prflx = remotes
            .iter()
            .filter(|r| r.kind == CandidateKind::PeerReflexive)
            .count();
        assert!(prflx <= max_prflx);
        assert!(agent.candidate_pairs().len() <= max_pairs);
    }
});
