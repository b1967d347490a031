//! Any bytes as an IVF file and as an Ogg Opus file (rtcpeer_proto::media_file): read or
//! error, never panic. The IVF frames that read write back, with the header, to a file that
//! reads to the same header and frames; every Ogg Opus packet read is at most
//! `MAX_OPUS_PACKET` bytes and lasts 2.5–120 ms (RFC 6716 §3.1–3.2).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::media_file::{
    IvfReader, MAX_OPUS_PACKET, OggOpusReader, write_ivf_frame, write_ivf_header,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = IvfReader::new(data) {
        let header = *r.header();
        let frames: Vec<_> = r.take_while(Result::is_ok).map(Result::unwrap).collect();
        let mut out = Vec::new();
        write_ivf_header(&mut out, &header);
        for f in &frames {
            write_ivf_frame(&mut out, f.pts, f.data).unwrap();
        }
        let again = IvfReader::new(&out).unwrap();
        assert_eq!(*again.header(), header);
        let back: Vec<_> = again.map(Result::unwrap).collect();
        assert_eq!(back, frames);
    }
    if let Ok(r) = OggOpusReader::new(data) {
        for p in r.take(10_000) {
            let Ok(p) = p else { break };
            assert!(p.data.len() <= MAX_OPUS_PACKET);
            assert!(p.duration >= Duration::from_micros(2500));
            assert!(p.duration <= Duration::from_millis(120));
        }
    }
});
