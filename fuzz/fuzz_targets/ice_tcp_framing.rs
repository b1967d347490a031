//! RFC 4571 deframer of ICE-TCP (rtcpeer_proto::ice::framing): any byte stream, cut into
//! reads of any sizes, gives exactly the frames a direct reading of the stream gives (same
//! payloads, same order), never a frame above the limit, an `Oversize` error exactly where
//! the stream announces one (and from then on), a buffer that never grows, and no panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::ice::framing::{Deframer, FramingError, write_frame};

/// The frames of `stream` read directly: payloads, then the error at the end if any.
fn reference(stream: &[u8], max: usize) -> (Vec<&[u8]>, Option<FramingError>) {
    let mut out = Vec::new();
    let mut rest = stream;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if len > max {
            return (out, Some(FramingError::Oversize { len, max }));
        }
        if rest.len() < 2 + len {
            break;
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let [max_sel, buf_sel, seed, stream @ ..] = data else {
        return;
    };
    let max = usize::from(*max_sel) * 8;
    let buffer = usize::from(*buf_sel) * 16;
    let mut d = Deframer::new(max, buffer);
    let size = d.spare().len();
    let (expected, expected_err) = reference(stream, max);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut err = None;
    let mut rest = stream;
    let mut x = u32::from(*seed) | 1;
    while !rest.is_empty() && err.is_none() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let want = 1 + (x as usize) % 300;
        let spare = d.spare();
        assert!(spare.len() <= size, "the buffer grew");
        let n = want.min(spare.len()).min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        d.commit(n);
        rest = &rest[n..];
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    assert!(f.len() <= max);
                    got.push(f.to_vec());
                }
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    assert_eq!(d.next_frame(), Err(e), "an error stays");
                    assert!(d.spare().is_empty());
                    break;
                }
            }
        }
        if n == 0 && err.is_none() {
            // No room although no complete frame waits: impossible with a buffer that
            // holds one maximal frame.
            panic!("deframer stalled");
        }
    }
    assert_eq!(err, expected_err);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(&g[..], *e);
    }
    // Framing what came out gives back the consumed prefix of the stream.
    let mut again = Vec::new();
    for g in &got {
        write_frame(&mut again, g).expect("a frame fits");
    }
    assert_eq!(&stream[..again.len()], &again[..]);
});
