//! The TURN stream deframer (rtcpeer_proto::turn::StreamDeframer, RFC 8656 §3.1, §12.5) on
//! a hostile byte stream cut into reads of hostile sizes. Never a panic; every push makes
//! progress once the complete frames are taken; the frames handed out, one after the other,
//! are exactly a prefix of the stream, and with the bytes still buffered (when the stream did
//! not break) the whole stream; each frame is a STUN message (20 + its length) or
//! ChannelData (4 + its length padded to 4); the buffer stays within its cap.
//!
//! Input: byte 0 picks the read room, byte 1 seeds the read sizes, the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::turn::{MAX_STREAM_FRAME, StreamDeframer};

fuzz_target!(|input: &[u8]| {
    let [room, seed, stream @ ..] = input else {
        return;
    };
    let room = 1 + usize::from(*room) * 37;
    let mut d = StreamDeframer::new(room);
    let mut out: Vec<u8> = Vec::new();
    let mut x = u32::from(*seed) | 1;
    let mut rest = stream;
    let mut broken = false;
    'outer: while !rest.is_empty() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let want = 1 + (x as usize % 3000).min(rest.len() - 1);
        let n = d.push(&rest[..want]);
        // Every complete frame was taken before: there is always room.
        assert!(n > 0);
        rest = &rest[n..];
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    let len = usize::from(u16::from_be_bytes([f[2], f[3]]));
                    match f[0] {
                        0..=3 => assert_eq!(f.len(), 20 + len),
                        0x40..=0x4F => assert_eq!(f.len(), 4 + len.div_ceil(4) * 4),
                        b => panic!("frame starting {b:#x}"),
                    }
                    out.extend_from_slice(f);
                }
                Ok(None) => break,
                Err(_) => {
                    broken = true;
                    break 'outer;
                }
            }
        }
        assert!(d.buffered() < MAX_STREAM_FRAME + room);
    }
    assert_eq!(&stream[..out.len()], &out[..]);
    if !broken {
        assert_eq!(out.len() + d.buffered(), stream.len());
    }
});
