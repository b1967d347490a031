//! Feeds arbitrary packets to an established SCTP association (and to a fresh one).
//! The checksum is fixed up for most inputs so the chunk parsers are reached.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::sctp::{Association, Config, SendOptions, crc32c};

fn fix_crc(p: &mut [u8]) {
    if p.len() >= 12 {
        p[8..12].fill(0);
        let c = crc32c(p);
        p[8..12].copy_from_slice(&c.to_le_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut a = Association::new(Config::default(), now, 1);
    let mut b = Association::new(Config::default(), now, 2);
    a.connect(now);
    let mut buf = Vec::new();
    // Handshake in memory (zero delay).
    for _ in 0..8 {
        while a.poll_transmit(now, &mut buf) {
            b.handle_packet(&buf, now);
        }
        while b.poll_transmit(now, &mut buf) {
            a.handle_packet(&buf, now);
        }
    }
    let _ = a.send(0, 51, vec![1; 3000], SendOptions::default(), now);
    while a.poll_transmit(now, &mut buf) {
        b.handle_packet(&buf, now);
    }
    // The peer's verification tag is in B's own packets to A; reuse A's tag for the input.
    let mut tag = [0u8; 4];
    if b.poll_transmit(now, &mut buf) && buf.len() >= 8 {
        tag.copy_from_slice(&buf[4..8]);
        a.handle_packet(&buf, now);
    }
    let mut fresh = Association::new(Config::default(), now, 3);
    for (i, pkt) in data.split(|&x| x == 0xA5).enumerate().take(64) {
        let mut p = pkt.to_vec();
        if i % 4 != 3 && p.len() >= 12 {
            p[0..4].copy_from_slice(&[0x13, 0x88, 0x13, 0x88]);
            if i % 2 == 0 {
                p[4..8].copy_from_slice(&tag);
            }
            fix_crc(&mut p);
        }
        let t = now + Duration::from_millis(i as u64 * 50);
        a.handle_packet(&p, t);
        fresh.handle_packet(&p, t);
        a.handle_timeout(t);
        for s in [&mut a, &mut fresh] {
            while s.poll_transmit(t, &mut buf) {}
            while s.poll_event().is_some() {}
        }
    }
});
