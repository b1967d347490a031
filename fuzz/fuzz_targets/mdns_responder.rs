//! mDNS responder (rtcpeer_proto::mdns::MdnsResponder, the answering side of hidden host
//! names, draft-ietf-mmusic-mdns-ice-candidates §3.1): any datagram, from the mDNS port or
//! another, gives no panic; it never answers more records than names are registered nor more
//! than the per-second cap over a burst; every message it queues parses, is a response
//! (QR, AA) and carries only registered names with their own addresses, TTL 120 multicast
//! or at most 10 by unicast, and nothing else; a non-query is never answered.
//! Seed inputs: queries for the registered names (A, AAAA, ANY, QU bit), a Chromium-style
//! response, a query for another name.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::mdns::{Message, MdnsResponder, MdnsResponderConfig, Name};

const V4_NAME: &str = "1f0c6a2b-1111-4222-8333-123456789abc.local";
const V6_NAME: &str = "2f0c6a2b-1111-4222-8333-123456789abc.local";
const CAP: u32 = 5;

fuzz_target!(|data: &[u8]| {
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7));
    let mut r = MdnsResponder::new(MdnsResponderConfig {
        max_answers_per_second: CAP,
        ..MdnsResponderConfig::default()
    });
    r.register(V4_NAME, v4).expect("a valid name");
    r.register(V6_NAME, v6).expect("a valid name");
    let ours = [
        (Name::from_dotted(V4_NAME).unwrap(), v4),
        (Name::from_dotted(V6_NAME).unwrap(), v6),
    ];
    let is_query = Message::parse(data).is_ok_and(|m| !m.header().is_response());
    let now = Instant::now();
    let mut answered = 0usize;
    // The same datagram many times within one second (a flood), from 5353 and from another
    // port (legacy unicast).
    for i in 0..20u16 {
        let from = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
            if i % 2 == 0 { 5353 } else { 40000 },
        );
        let n = r.handle_datagram(now, from, data);
        assert!(n <= ours.len());
        assert!(is_query || n == 0, "answered a non-query");
        answered += n;
        while let Some(t) = r.poll_transmit() {
            let m = Message::parse(&t.data).expect("our answer parses");
            let h = m.header();
            assert!(h.is_response() && h.flags & 0x0400 != 0);
            let mut records = 0;
            for rec in m.records() {
                records += 1;
                let ip = rec.address().expect("an A or AAAA record");
                assert!(ours.iter().any(|(n, a)| *n == rec.name && *a == ip));
                assert!(rec.cache_flush);
                match t.unicast {
                    None => assert_eq!(rec.ttl, 120),
                    Some(to) => {
                        assert_eq!(to, from);
                        assert!(rec.ttl <= 10);
                    }
                }
            }
            assert!(records >= 1 && records <= ours.len());
        }
    }
    assert!(answered <= CAP as usize, "{answered} answers in one second");
});
