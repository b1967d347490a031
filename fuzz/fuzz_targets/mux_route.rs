//! UDP mux routing table (rtcpeer_proto::ice::MuxTable): any datagram from any address routes to a
//! registered connection or is dropped, never a panic; the tables stay within their bounds.
//! The input is split into datagrams (received, or sent by a connection); the first byte
//! of each picks the source address.

#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::ice::MuxTable;
use rtcpeer_proto::ice::mux::{MAX_MUX_ADDRESSES, MAX_MUX_TRANSACTIONS};

fuzz_target!(|data: &[u8]| {
    let mut t = MuxTable::new();
    let ids: Vec<_> = (0..3).map(|_| t.add().expect("room")).collect();
    for (i, id) in ids.iter().enumerate() {
        t.set_credentials(*id, &format!("uf{i}"), &format!("pw{i}"))
            .expect("fresh ufrags");
    }
    // Records separated by 0xFF; the first byte of each picks the source port.
    for record in data.split(|b| *b == 0xFF).filter(|r| !r.is_empty()) {
        let port = 1000 + u16::from(record[0] % 32);
        let remote = SocketAddr::from(([127, 0, 0, 1], port));
        if record[0] == 0xFD {
            // As if connection 0 had sent it: a STUN request's id then routes its response.
            t.note_sent(ids[0], &record[1..]);
        } else if let Some(id) = t.route(remote, &record[1..]) {
            assert!(ids.contains(&id));
        }
        if record[0] == 0xFE {
            t.remove(ids[1]);
        }
    }
    let c = t.counters();
    assert!(c.addresses <= ids.len() * MAX_MUX_ADDRESSES);
    assert!(c.ufrags <= ids.len());
    assert!(c.transactions <= ids.len() * MAX_MUX_TRANSACTIONS);
});
