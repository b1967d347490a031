//! The TURN client (rtcpeer_proto::turn::TurnClient) driven by a hostile server and peers:
//! after a scripted 401 and a granted allocation, the input is a list of operations — raw
//! datagrams from the server, answers (success or error, any code, any LIFETIME) to the
//! client's own requests, permissions, channel binds, wrapped payloads and time passing.
//! Never a panic; permissions, channels and transactions stay within their caps; a wrapped
//! payload parses back to the same payload for the same peer; relayed data is a view of the
//! datagram it came in.
//!
//! The input is a list of operations: one opcode byte, then its arguments.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::stun::{ChannelData, Class, Message, MessageWriter, long_term_key};
use rtcpeer_proto::turn::{MAX_CHANNELS, MAX_PERMISSIONS, TurnClient, TurnConfig, TurnInput};
use rtcpeer_proto::util::SeededRandom;

const USER: &str = "u";
const PASS: &str = "p";
const REALM: &str = "r";

fn peer(b: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, b / 16, b % 16)), 6000 + u16::from(b % 4))
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

fn answer(req: &[u8], ok: bool, code: u16, lifetime: u32, sign: bool) -> Vec<u8> {
    let m = Message::parse(req).expect("the client writes valid STUN");
    let class = if ok { Class::SuccessResponse } else { Class::ErrorResponse };
    let mut b = Vec::new();
    let mut w = MessageWriter::new(&mut b, class, m.method(), m.transaction_id());
    if ok {
        let _ = w.xor_relayed_address("10.0.0.9:40000".parse().unwrap());
        let _ = w.xor_mapped_address("10.0.0.8:30000".parse().unwrap());
        let _ = w.lifetime(lifetime);
    } else {
        let _ = w.error_code(300 + code % 300, "e");
        let _ = w.realm(REALM);
        let _ = w.nonce("n2");
    }
    if sign {
        let _ = w.message_integrity(&long_term_key(USER, REALM, PASS));
    }
    let _ = w.fingerprint();
    b
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let server: SocketAddr = "10.0.0.1:3478".parse().unwrap();
    let mut c = TurnClient::new(server, USER, PASS, TurnConfig::default(), Box::new(SeededRandom::new(3)));
    c.allocate(now);
    // Scripted start: 401 with realm and nonce, then the grant.
    let req = c.poll_transmit().expect("Allocate");
    let m = Message::parse(&req).unwrap();
    let mut b = Vec::new();
    let mut w = MessageWriter::new(&mut b, Class::ErrorResponse, m.method(), m.transaction_id());
    w.error_code(401, "Unauthorized").unwrap();
    w.realm(REALM).unwrap();
    w.nonce("n1").unwrap();
    c.handle_input(now, &b);
    let req = c.poll_transmit().expect("authenticated Allocate");
    c.handle_input(now, &answer(&req, true, 0, 600, true));
    assert!(c.relayed_address().is_some());

    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut input = Input(data);
    while let Some(op) = input.byte() {
        match op % 7 {
            0 => {
                let n = usize::from(input.byte().unwrap_or(0));
                let d = input.bytes(n).to_vec();
                if let TurnInput::Data { data: got, .. } = c.handle_input(now, &d) {
                    let range = d.as_ptr_range();
                    assert!(got.is_empty() || range.contains(&got.as_ptr()));
                }
            }
            1 => {
                let sel = usize::from(input.byte().unwrap_or(0));
                let a = input.byte().unwrap_or(0);
                let l = u32::from(input.byte().unwrap_or(0)) * 8;
                if !pending.is_empty() {
                    let req = pending.remove(sel % pending.len());
                    let d = answer(&req, a & 1 == 0, u16::from(a), l, a & 2 == 0);
                    let _ = c.handle_input(now, &d);
                }
            }
            2 => {
                let s = u64::from(input.byte().unwrap_or(0));
                now += Duration::from_millis(s * s * 20);
                c.handle_timeout(now);
            }
            3 => {
                let p = peer(input.byte().unwrap_or(0));
                let _ = c.create_permission(now, p.ip());
            }
            4 => {
                let p = peer(input.byte().unwrap_or(0));
                let _ = c.bind_channel(now, p);
            }
            5 => {
                let p = peer(input.byte().unwrap_or(0));
                let n = usize::from(input.byte().unwrap_or(0));
                let payload = input.bytes(n).to_vec();
                let mut buf = vec![0xAB; 3];
                buf.extend_from_slice(&payload);
                if c.wrap(p, &mut buf, 3).is_ok() {
                    assert_eq!(&buf[..3], &[0xAB; 3]);
                    let framed = &buf[3..];
                    match c.channel(p) {
                        Some(number) => {
                            let cd = ChannelData::parse(framed).expect("ChannelData");
                            assert_eq!((cd.number, cd.data), (number, &payload[..]));
                        }
                        None => {
                            let m = Message::parse(framed).expect("Send indication");
                            assert_eq!(m.xor_peer_address(), Ok(Some(p)));
                            assert_eq!(m.data(), Some(&payload[..]));
                        }
                    }
                }
            }
            _ => {
                let _ = c.poll_event();
            }
        }
        while let Some(t) = c.poll_transmit() {
            assert!(Message::parse(&t).is_ok(), "the client writes valid STUN");
            if pending.len() < 512 {
                pending.push(t);
            }
        }
        assert!(c.permission_count() <= MAX_PERMISSIONS);
        assert!(c.channel_count() <= MAX_CHANNELS);
        if let Some(t) = c.poll_timeout() {
            assert!(t >= t0);
        }
    }
});
