//! ICE agent input (rtcpeer_proto::ice): remote candidate lines (`candidate:` attribute text) and
//! datagrams from the network never panic the agent, never make it send from a socket it does
//! not own, every datagram it emits is well-formed STUN, and its queues stay bounded.
//!
//! Input: UTF-8 candidate lines up to the first NUL byte; after it, records separated by the
//! bytes 0xFF 0x00 0xFF. A record starting with 0xAA is turned into a correctly signed
//! connectivity check (so the fuzzer reaches role conflicts, peer-reflexive learning and
//! nomination), one starting with 0xBB into a signed answer to the agent's latest request, one
//! starting with 0xCC advances the clock; anything else is delivered as a raw datagram.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::ice::{IceAgent, IceAgentConfig, candidate};
use rtcpeer_proto::sdp::Candidate;
use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method, TransactionId};
use rtcpeer_proto::util::SeededRandom;

const LOCAL_PWD: &[u8] = b"passwordA-0123456789abcd";
const REMOTE_PWD: &[u8] = b"passwordB-0123456789abcd";

fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// A signed Binding request shaped by the fuzzer's bytes.
fn check(b: &[u8]) -> Vec<u8> {
    let mut tid = [0u8; 12];
    for (i, t) in tid.iter_mut().enumerate() {
        *t = byte(b, 1 + i);
    }
    let flags = byte(b, 13);
    let mut out = Vec::new();
    let mut w = MessageWriter::new(&mut out, Class::Request, Method::BINDING, TransactionId(tid));
    let _ = w.username(if flags & 1 == 0 { "ufragA:ufragB" } else { "ufragA:x" });
    let prio = u32::from_be_bytes([byte(b, 14), byte(b, 15), byte(b, 16), byte(b, 17)]);
    if flags & 2 == 0 {
        let _ = w.priority(prio);
    }
    let tb = u64::from(byte(b, 18));
    match (flags >> 2) & 3 {
        0 => {
            let _ = w.ice_controlling(tb);
        }
        1 => {
            let _ = w.ice_controlled(tb);
        }
        2 => {
            let _ = w.ice_controlling(tb);
            let _ = w.ice_controlled(tb);
        }
        _ => {}
    }
    if flags & 16 != 0 {
        let _ = w.use_candidate();
    }
    let _ = w.message_integrity(LOCAL_PWD);
    let _ = w.fingerprint();
    out
}

/// A signed answer to transaction `tid`: success with a mapped address, or an error.
fn answer(tid: TransactionId, b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let flags = byte(b, 1);
    let class = if flags & 1 == 0 {
        Class::SuccessResponse
    } else {
        Class::ErrorResponse
    };
    let mut w = MessageWriter::new(&mut out, class, Method::BINDING, tid);
    if class == Class::ErrorResponse {
        let code = if flags & 2 == 0 { 487 } else { 300 + u16::from(byte(b, 2)) };
        let _ = w.error_code(code.min(699), "x");
    } else {
        let ip = Ipv4Addr::new(203, 0, 113, byte(b, 2));
        let _ = w.xor_mapped_address(SocketAddr::new(IpAddr::V4(ip), 40000));
    }
    if flags & 4 == 0 {
        let _ = w.message_integrity(REMOTE_PWD);
    }
    let _ = w.fingerprint();
    out
}

fuzz_target!(|data: &[u8]| {
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let (text, packets) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let config = IceAgentConfig {
        max_remote_candidates: 8,
        max_pairs: 8,
        ..IceAgentConfig::default()
    };
    let mut agent = IceAgent::new(config, SeededRandom::new(1));
    agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
    agent.set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    agent.set_role(byte(data, 0) & 1 == 0);
    agent.add_local_interface(local).unwrap();
    agent.add_stun_server("198.51.100.1:3478".parse().unwrap()).unwrap();
    let mut now = Instant::now();
    agent.handle_timeout(now);
    if let Ok(text) = std::str::from_utf8(text) {
        for line in text.lines().take(32) {
            if let Ok(c) = Candidate::parse(line) {
                let _ = candidate::remote_from_sdp(&c);
                let _ = agent.add_remote_candidate(c);
            }
        }
    }
    let mut last_request: Option<(TransactionId, SocketAddr)> = None;
    let mut rest = packets;
    let mut count = 0;
    while !rest.is_empty() && count < 64 {
        count += 1;
        let end = rest
            .windows(3)
            .position(|w| w == [0xFF, 0x00, 0xFF])
            .unwrap_or(rest.len());
        let (rec, tail) = rest.split_at(end);
        rest = tail.get(3..).unwrap_or(&[]);
        let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, byte(rec, 19) % 4)), 6000);
        match rec.first() {
            Some(0xAA) => {
                agent.handle_packet(now, local, from, &check(rec));
            }
            Some(0xBB) => {
                if let Some((tid, to)) = last_request {
                    agent.handle_packet(now, local, to, &answer(tid, rec));
                }
            }
            Some(0xCC) => {
                now += Duration::from_millis(u64::from(byte(rec, 1)) * 100);
            }
            _ => {
                agent.handle_packet(now, local, from, rec);
            }
        }
        if agent.poll_timeout().is_some_and(|t| t <= now) {
            agent.handle_timeout(now);
        }
        let mut sent = 0;
        while let Some(t) = agent.poll_transmit(now) {
            sent += 1;
            assert!(sent <= 1024, "transmit queue unbounded");
            assert_eq!(t.local, local, "sent from a socket the agent does not own");
            let m = Message::parse(&t.data).expect("the agent emitted malformed STUN");
            if m.class() == Class::Request {
                last_request = Some((m.transaction_id(), t.remote));
            }
        }
        let mut events = 0;
        while agent.poll_event().is_some() {
            events += 1;
            assert!(events <= 1024, "event queue unbounded");
        }
        assert!(agent.remote_candidates().len() <= 8);
        assert!(agent.candidate_pairs().len() <= 8);
    }
});
