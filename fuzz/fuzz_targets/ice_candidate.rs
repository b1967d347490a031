//! ICE agent input (rtcpeer::ice): remote candidate lines (`candidate:` attribute text) and
//! datagrams from the network never panic the agent, never make it send from a socket it does
//! not own, and every datagram it emits is a well-formed STUN message.
//!
//! Input: UTF-8 candidate lines up to the first NUL byte; after it, datagrams separated by
//! the byte sequence 0xFF 0x00 0xFF.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer::ice::{IceAgent, IceAgentConfig, candidate};
use rtcpeer::sdp::Candidate;
use rtcpeer::stun::Message;
use rtcpeer::util::SeededRandom;

fuzz_target!(|data: &[u8]| {
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let peer: SocketAddr = "10.0.0.2:6000".parse().unwrap();
    let (text, packets) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut agent = IceAgent::new(IceAgentConfig::default(), SeededRandom::new(1));
    agent.set_local_credentials("ufragA", "passwordA-0123456789abcd");
    agent.set_remote_credentials("ufragB", "passwordB-0123456789abcd");
    agent.add_local_interface(local).unwrap();
    let mut now = Instant::now();
    agent.handle_timeout(now);
    if let Ok(text) = std::str::from_utf8(text) {
        for line in text.lines().take(64) {
            if let Ok(c) = Candidate::parse(line) {
                // The conversion either yields an address or a reason; both are fine.
                let _ = candidate::remote_from_sdp(&c);
                let _ = agent.add_remote_candidate(c);
            }
        }
    }
    let mut rest = packets;
    let mut count = 0;
    while !rest.is_empty() && count < 64 {
        count += 1;
        let end = rest
            .windows(3)
            .position(|w| w == [0xFF, 0x00, 0xFF])
            .unwrap_or(rest.len());
        let (pkt, tail) = rest.split_at(end);
        rest = tail.get(3..).unwrap_or(&[]);
        let _ = agent.handle_packet(now, local, peer, pkt);
        now += Duration::from_millis(7);
        agent.handle_timeout(now);
        while let Some(t) = agent.poll_transmit(now) {
            assert_eq!(t.local, local, "sent from a socket the agent does not own");
            assert!(Message::parse(&t.data).is_ok(), "the agent emitted malformed STUN");
        }
        while agent.poll_event().is_some() {}
    }
    let _ = agent.poll_timeout();
});
