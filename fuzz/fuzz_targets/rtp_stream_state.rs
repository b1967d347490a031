//! Hostile RTP streams against the receive-side state of the RTP session: arbitrary
//! sequence numbers, timestamps, SSRCs, MIDs, transport-wide sequence numbers and
//! telephone-event payloads drive the receive statistics, the NACK tracker, the SSRC
//! router, the TWCC recorder and the DTMF receiver. Never a panic, and every table stays
//! within its limit.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::dtmf::DtmfReceiver;
use rtcpeer_proto::rtp::session::nack::{NACK_WINDOW, NackConfig, NackTracker};
use rtcpeer_proto::rtp::session::receive::{Arrival, ReceiveStats};
use rtcpeer_proto::rtp::session::routing::{MAX_LEARNED_SSRCS, SsrcRouter};
use rtcpeer_proto::rtp::session::twcc::{MAX_PENDING_ARRIVALS, TwccRecorder};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut stats = ReceiveStats::new(90_000);
    let mut nack = NackTracker::new(NackConfig::default());
    let mut router = SsrcRouter::new(Duration::from_secs(5));
    router.set_sections([
        (0u8, "a", &[7u32][..], &[96u8, 97][..]),
        (1, "v", &[][..], &[98, 97][..]),
    ]);
    let mut twcc = TwccRecorder::new(Duration::from_millis(100));
    let mut dtmf = DtmfReceiver::new();
    let mut out = Vec::new();
    let mut now = t0;
    // Each record: 12 bytes.
    for rec in data.chunks_exact(12) {
        now += Duration::from_micros(u64::from(rec[0]) * 97);
        let seq = u16::from_be_bytes([rec[1], rec[2]]);
        let ts = u32::from_be_bytes([rec[3], rec[4], rec[5], rec[6]]);
        let ssrc = u32::from(rec[7] & 0x3f) << 8 | u32::from(rec[8]);
        let mid = match rec[9] & 3 {
            0 => None,
            1 => Some("a"),
            2 => Some("v"),
            _ => Some("x"),
        };
        let pt = 95 + ((rec[9] >> 2) & 3);
        let _ = router.route(now, ssrc, pt, mid, None);
        assert!(router.learned_len() <= MAX_LEARNED_SSRCS);
        if let Arrival::Accepted(ext) = stats.on_packet(now, seq, ts, usize::from(rec[10])) {
            nack.on_packet(now, ext);
        }
        twcc.on_packet(now, seq ^ u16::from(rec[11]));
        let _ = dtmf.on_packet(ts, &rec[8..12]);
        if rec[11] & 7 == 0 {
            out.clear();
            nack.poll(
                now,
                Some(Duration::from_millis(u64::from(rec[10]))),
                &mut out,
            );
            assert!(out.len() < NACK_WINDOW as usize);
            let _ = stats.report(now);
            let mut fb = Vec::new();
            if twcc.poll_feedback(now, 1000, &mut fb).is_some() {
                assert!(fb.len() <= MAX_PENDING_ARRIVALS);
                assert!(fb.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
    }
});
