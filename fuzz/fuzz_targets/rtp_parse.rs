//! Any bytes as an RTP packet (rtcpeer_proto::rtp): parse or error, never panic. What parses
//! writes back (header fields, CSRCs, the raw extension block, payload, padding) to bytes that
//! parse to the same view; well-formed RFC 8285 elements re-written by the block writer walk
//! to the same elements; typed extension values read with a map of every kind write back and
//! read to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::rtp::{
    ExtensionElement, ExtensionIter, ExtensionKind, ExtensionMap, Extensions, HeaderExtensions,
    Padding, RtpHeader, RtpPacket, read_rtx_payload, write_extension_block,
};

fn map() -> ExtensionMap {
    let mut m = ExtensionMap::new();
    let kinds = [
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportCc,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
    ];
    for (i, k) in kinds.into_iter().enumerate() {
        // Ids 1–8 (one-byte form) and 200 (forces the two-byte form).
        let id = if i == 8 { 200 } else { i as u8 + 1 };
        m.insert(id, k);
    }
    m
}

fuzz_target!(|data: &[u8]| {
    let _ = read_rtx_payload(data);
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    let mut csrcs = [0u32; 15];
    for (slot, c) in csrcs.iter_mut().zip(p.csrcs()) {
        *slot = c;
    }
    let h = RtpHeader {
        marker: p.marker,
        payload_type: p.payload_type,
        sequence_number: p.sequence_number,
        timestamp: p.timestamp,
        ssrc: p.ssrc,
        csrcs: &csrcs[..p.csrc_count()],
        extensions: match p.extension {
            Some(b) => HeaderExtensions::Block(b),
            None => HeaderExtensions::None,
        },
    };
    let mut out = Vec::new();
    h.write_packet(&mut out, p.payload, Padding::Bytes(p.padding_len))
        .expect("a parsed packet can be written");
    assert_eq!(RtpPacket::parse(&out), Ok(p));

    // The elements, when the block is well formed, survive the block writer.
    let elements: Result<Vec<ExtensionElement>, _> = p.extensions().collect();
    if let Ok(elements) = elements {
        let mut block = Vec::new();
        if write_extension_block(&mut block, elements.iter().copied())
            .expect("parsed elements are writable")
        {
            let profile = u16::from_be_bytes([block[0], block[1]]);
            let again: Vec<_> = ExtensionIter::new(profile, &block[4..])
                .collect::<Result<_, _>>()
                .expect("written block walks");
            assert_eq!(again, elements);
        }
    }

    let map = map();
    if let Ok(x) = Extensions::read(&p, &map) {
        let h2 = RtpHeader {
            extensions: HeaderExtensions::Typed {
                map: &map,
                values: &x,
                extra: &[],
            },
            ..h
        };
        out.clear();
        h2.write_packet(&mut out, p.payload, Padding::None)
            .expect("values that were read can be written");
        let q = RtpPacket::parse(&out).expect("written packet parses");
        assert_eq!(Extensions::read(&q, &map), Ok(x));
    }
});
