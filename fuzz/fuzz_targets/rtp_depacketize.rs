//! RTP payloads of one codec through the reorder buffer and the depacketizer: nothing
//! panics, the buffer stays within its caps and releases in order, and every frame given
//! back is non-empty and within the frame cap. Then the rest of the input as one frame:
//! packetize → depacketize gives it back exactly (audio, VP8, VP9) or gives a frame that
//! goes through again unchanged (H.264 Annex-B, AV1 OBUs).
//!
//! Input: byte 0 picks the format (low nibble) and the maximum payload size for the second
//! part (high nibble); then records `[flags, len, payload...]` where flags bits 0–2 move the
//! sequence number by −2..=+5, bit 3 is the marker, bits 4–5 advance the timestamp, bit 6
//! advances the clock by 40 ms; a record with bit 7 set ends the packet list.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::payload::{
    Depacketizer, DepacketizerConfig, PayloadFormat, Packetizer, ReorderBuffer, ReorderConfig,
};

const FORMATS: [PayloadFormat; 9] = [
    PayloadFormat::Opus,
    PayloadFormat::Pcmu,
    PayloadFormat::Pcma,
    PayloadFormat::G722,
    PayloadFormat::Vp8,
    PayloadFormat::Vp9,
    PayloadFormat::H264 {
        non_interleaved: true,
    },
    PayloadFormat::H264 {
        non_interleaved: false,
    },
    PayloadFormat::Av1,
];

const MAX_FRAME: usize = 16 << 10;
const MAX_PACKETS: usize = 16;

/// Packetizes `frame` and depacketizes it with a fresh depacketizer; the frame it gives.
fn through(format: PayloadFormat, max: usize, frame: &[u8]) -> Option<Vec<u8>> {
    let mut p = Packetizer::new(format, max).ok()?;
    let mut d = Depacketizer::new(
        format,
        DepacketizerConfig {
            max_frame_bytes: 1 << 20,
        },
    );
    let mut payloads = p.packetize(frame).ok()?;
    let mut buf = vec![0u8; max];
    let mut seq = 1000u64;
    let mut out = None;
    while let Some(info) = payloads.next_into(&mut buf).expect("a checked frame packetizes") {
        assert!(info.len <= max);
        let pushed = d.push(seq, 77, info.marker, &buf[..info.len]);
        assert_eq!(pushed.error, None, "our own payloads parse");
        if let Some(f) = pushed.frame {
            out = Some(f.data.to_vec());
        }
        seq += 1;
        assert!(seq < 1000 + 10 * frame.len() as u64 + 10);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(sel & 0x0f) % FORMATS.len()];
    let config = ReorderConfig {
        max_packets: MAX_PACKETS,
        max_bytes: 4096,
        max_payload: 1200,
        max_hole_packets: 8,
        max_hole_wait: Duration::from_millis(100),
    };
    let mut r = ReorderBuffer::new(config);
    let mut d = Depacketizer::new(
        format,
        DepacketizerConfig {
            max_frame_bytes: MAX_FRAME,
        },
    );
    let t0 = Instant::now();
    let mut now = t0;
    let mut seq: u64 = 1 << 20;
    let mut ts: u32 = 0;
    let mut last_released = None;
    while let [flags, len, tail @ ..] = rest {
        if flags & 0x80 != 0 {
            rest = tail;
            break;
        }
        let n = usize::from(*len).min(tail.len());
        let (payload, after) = tail.split_at(n);
        rest = after;
        seq = (seq + u64::from(flags & 0x07)).saturating_sub(2);
        ts = ts.wrapping_add(u32::from((flags >> 4) & 0x03) * 3000);
        if flags & 0x40 != 0 {
            now += Duration::from_millis(40);
        }
        r.insert(now, seq, ts, flags & 0x08 != 0, payload);
        assert!(r.len() <= MAX_PACKETS);
        while let Some(p) = r.pop(now) {
            assert!(last_released.is_none_or(|l| p.seq > l), "released in order");
            last_released = Some(p.seq);
            assert!(p.payload.len() <= 1200);
            let out = d.push(p.seq, p.timestamp, p.marker, p.payload);
            if let Some(f) = out.frame {
                assert!(!f.data.is_empty() && f.data.len() <= MAX_FRAME);
                assert!(f.first_seq <= f.last_seq);
            }
        }
        if let Some(t) = r.poll_timeout() {
            assert!(t >= t0);
        }
    }

    // The rest as one frame.
    let max = 10 + usize::from(sel >> 4) * 80;
    if let Some(f1) = through(format, max, rest) {
        match format {
            PayloadFormat::H264 { .. } | PayloadFormat::Av1 => {
                assert_eq!(through(format, max, &f1).as_deref(), Some(&f1[..]));
            }
            _ => assert_eq!(f1, rest),
        }
    }
});
