//! mDNS / DNS message parser (rtcpeer_proto::mdns): any input gives a message or an error, never a
//! panic; a parsed message yields exactly the question and record counts of its header,
//! every name is at most 255 bytes and re-encodes to itself; and the querier fed the input
//! as a response stays within its bounds.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::mdns::message::{MAX_NAME_LEN, write_query};
use rtcpeer_proto::mdns::{MdnsQuerier, MdnsQuerierConfig, Message, Name};

fn check_name(n: &Name) {
    assert!(n.wire().len() <= MAX_NAME_LEN);
    let mut out = Vec::new();
    write_query(&mut out, 0, n, 1, false);
    let m = Message::parse(&out).expect("a written query parses");
    assert_eq!(m.questions().next().map(|q| q.name), Some(*n));
    let _ = n.to_string();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let h = m.header();
        let _ = (h.is_response(), h.opcode(), h.rcode());
        let mut questions = 0usize;
        for q in m.questions() {
            check_name(&q.name);
            questions += 1;
        }
        assert_eq!(questions, h.qdcount as usize);
        let mut records = 0usize;
        for r in m.records() {
            check_name(&r.name);
            let _ = r.address();
            records += 1;
        }
        assert_eq!(
            records,
            h.ancount as usize + h.nscount as usize + h.arcount as usize
        );
    }

    let now = Instant::now();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig {
        max_cache: 4,
        ..Default::default()
    });
    q.query("1f0c6a2b-1111-4222-8333-123456789abc.local", now)
        .expect("a valid name");
    let answered = q.handle_datagram(now, data);
    assert!(answered <= 1);
    q.handle_timeout(now + Duration::from_secs(11));
    while q.poll_transmit().is_some() {}
    assert_eq!(q.outstanding(), 0);
});
