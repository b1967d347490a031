//! Hostile transport-wide feedback and REMB against the send-side bandwidth estimator
//! (rtcpeer_proto::rtp::session::cc, draft-ietf-rmcat-gcc-02) and the pacer budget: the
//! input is a script of sends, time steps, feedback built from fuzzer-chosen arrivals
//! (duplicates, unknown and stale sequence numbers, wild times, the 16-bit wrap) and raw
//! RTCP bytes. Never a panic; the estimate stays within its configured bounds; the ring
//! never grows; the pacer's next send time is never before its last refill.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::rtcp::{RtcpPacket, TwccArrival, parse_compound, write_twcc_feedback};
use rtcpeer_proto::rtp::session::cc::pacer::{PACING_FACTOR, Pacer};
use rtcpeer_proto::rtp::session::cc::{BweConfig, SendSideBwe};

const CONFIG: BweConfig = BweConfig { min_bps: 30_000, start_bps: 800_000, max_bps: 20_000_000 };

fn feed(bwe: &mut SendSideBwe, now: Instant, bytes: &[u8]) {
    for p in parse_compound(bytes).flatten() {
        match p {
            RtcpPacket::TransportCc(fb) => bwe.on_feedback(now, &fb),
            RtcpPacket::Remb(r) => bwe.on_remb(now, r.bitrate()),
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut bwe = SendSideBwe::new(CONFIG);
    let mut pacer = Pacer::new(CONFIG.start_bps);
    let mut seq: u16 = 0;
    let mut arrival_us: i64 = 0;
    let mut buf = Vec::new();
    let mut arrivals = Vec::new();
    let mut i = 0;
    while i + 4 <= data.len() {
        let (op, a, b, c) = (data[i], data[i + 1], data[i + 2], data[i + 3]);
        i += 4;
        match op % 4 {
            0 => {
                // Send 1..=64 packets; c jumps the sequence (gaps, the wrap).
                seq = seq.wrapping_add(u16::from(c) * 256 * u16::from(op >> 7));
                for _ in 0..=(a % 64) {
                    let size = 60 + usize::from(b) * 5;
                    bwe.on_sent(now, seq, size);
                    pacer.spend(now, size);
                    seq = seq.wrapping_add(1);
                }
            }
            1 => {
                now += Duration::from_micros(u64::from(a) * 1000 + u64::from(b) * 4);
                let _ = pacer.can_send(now);
            }
            2 => {
                // Feedback over `b` packets from `a` behind the last sent; `c`'s bits say
                // which arrived, the following byte (if any) steps the arrival time.
                arrivals.clear();
                let base = seq.wrapping_sub(u16::from(a));
                let step = data.get(i).copied().unwrap_or(0);
                for k in 0..u16::from(b) {
                    arrival_us += i64::from(step) * 100 - 2_000;
                    let got = (c >> (k % 8)) & 1 == 1 || op & 0x40 != 0;
                    arrivals.push(TwccArrival { seq: base.wrapping_add(k), arrival_us: got.then_some(arrival_us) });
                }
                buf.clear();
                if let Ok(n) = write_twcc_feedback(&mut buf, 1, 2, a, &arrivals, 1200) {
                    assert!(n <= arrivals.len());
                    feed(&mut bwe, now, &buf);
                }
            }
            _ => {
                // Raw RTCP bytes.
                let len = usize::from(a).min(data.len() - i);
                feed(&mut bwe, now, &data[i..i + len]);
                i += len;
            }
        }
        if let Some(e) = bwe.estimate() {
            assert!((CONFIG.min_bps..=CONFIG.max_bps).contains(&e), "{e}");
        }
        let target = bwe.target();
        assert!((CONFIG.min_bps..=CONFIG.max_bps).contains(&target));
        pacer.set_rate(now, (target as f64 * PACING_FACTOR) as u64);
        if let Some(t) = pacer.next_send() {
            assert!(t >= t0);
        }
        let _ = bwe.poll_target(now);
    }
    let c = bwe.counters();
    assert!(c.overuse <= c.feedback);
});
