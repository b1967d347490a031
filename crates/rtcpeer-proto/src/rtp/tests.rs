//! RTP codec tests: RFC 8285 layouts, packets captured in pion/rtp's tests, round trips over
//! random headers, truncation at every length.

use super::*;
use crate::codecs::RtpHeaderExtensionParameters;
use crate::util::{RandomSource, SeededRandom};

/// Bytes from hex text (whitespace ignored); also used by the RTCP tests.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A seeded generator for the codec tests (RTP and RTCP).
pub(crate) struct Rng(SeededRandom);
impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(SeededRandom::new(seed))
    }
    pub(crate) fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    pub(crate) fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.u64() % n
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.0.fill(&mut v);
        v
    }
    /// Random bytes, `unit` × (0..words) of them.
    pub(crate) fn some_bytes(&mut self, words: u64, unit: usize) -> Vec<u8> {
        let n = unit * self.below(words) as usize;
        self.bytes(n)
    }
}

// pion/rtp packet_test.go TestBasic: M=1, PT 96, seq 27023, X with profile 1 (not RFC 8285).
const PION_BASIC: &str = "90e0698fd9c293da1c6427820001 0001 ffffffff 9836be889e";

#[test]
fn parses_pion_basic_packet() {
    let raw = hex(PION_BASIC);
    let p = RtpPacket::parse(&raw).unwrap();
    assert!(p.marker);
    assert_eq!(p.payload_type, 96);
    assert_eq!(p.sequence_number, 27023);
    assert_eq!(p.timestamp, 3_653_407_706);
    assert_eq!(p.ssrc, 476_325_762);
    assert_eq!(p.csrc_count(), 0);
    let ext = p.extension.unwrap();
    assert_eq!(ext.profile, 1);
    assert_eq!(ext.data, &[0xFF; 4]);
    assert!(!ext.is_rfc8285());
    assert_eq!(p.extensions().count(), 0);
    assert_eq!(p.payload, &hex("9836be889e")[..]);
    assert_eq!(p.header_len, 20);
    // Re-written with the raw block, byte for byte.
    let mut out = Vec::new();
    header_of(&p).write_packet(&mut out, p.payload, Padding::None).unwrap();
    assert_eq!(out, raw);
}

fn header_of<'a>(p: &'a RtpPacket<'a>) -> RtpHeader<'a> {
    RtpHeader {
        marker: p.marker,
        payload_type: p.payload_type,
        sequence_number: p.sequence_number,
        timestamp: p.timestamp,
        ssrc: p.ssrc,
        csrcs: &[],
        extensions: match p.extension {
            Some(b) => HeaderExtensions::Block(b),
            None => HeaderExtensions::None,
        },
    }
}

#[test]
fn two_byte_extension_from_pion() {
    // pion/rtp TestRFC8285TwoByteExtension: id 5, 24 bytes of 0xAA, 2 bytes of padding.
    let raw = hex(
        "90e0698fd9c293da1c642782 10000007 0518 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0000 9836be889e",
    );
    let p = RtpPacket::parse(&raw).unwrap();
    let els: Vec<_> = p.extensions().collect::<Result<_, _>>().unwrap();
    assert_eq!(els.len(), 1);
    assert_eq!(els[0].id, 5);
    assert_eq!(els[0].data, &[0xAA; 24]);
    // Our writer picks the two-byte form (length > 16) and gives the same bytes.
    let mut out = Vec::new();
    let h = RtpHeader {
        extensions: HeaderExtensions::Elements(&els),
        ..header_of(&p)
    };
    h.write_packet(&mut out, p.payload, Padding::None).unwrap();
    assert_eq!(out, raw);
}

#[test]
fn two_byte_padding_between_elements_from_pion() {
    // pion/rtp TestRFC8285TwoByteMultipleExtensionsWithPadding (RFC 8285 §4.3 layout):
    // id 1 empty, id 2 one byte, a padding byte, id 3 four bytes.
    let raw = hex(
        "90e0698fd9c293da1c642782 10000003 0100 0201 bb 00 0304 cccccccc 9836be889e",
    );
    let p = RtpPacket::parse(&raw).unwrap();
    let els: Vec<_> = p.extensions().collect::<Result<_, _>>().unwrap();
    let ids: Vec<_> = els.iter().map(|e| (e.id, e.data.to_vec())).collect();
    assert_eq!(
        ids,
        vec![(1, vec![]), (2, vec![0xBB]), (3, vec![0xCC; 4])]
    );
    // Written again: padding moves to the end (pion's expected re-marshal).
    let mut out = Vec::new();
    RtpHeader {
        extensions: HeaderExtensions::Elements(&els),
        ..header_of(&p)
    }
    .write_packet(&mut out, p.payload, Padding::None)
    .unwrap();
    assert_eq!(
        out,
        hex("90e0698fd9c293da1c642782 10000003 0100 0201 bb 0304 cccccccc 00 9836be889e")
    );
}

#[test]
fn one_byte_form_rfc8285_layout() {
    // RFC 8285 §4.2 example layout: id 1 L=0 (1 byte), id 2 L=1 (2 bytes), padding, id 3 L=3.
    let block = hex("10 aa 21 bbbb 00 00 33 cccccccc");
    let els: Vec<_> = ExtensionIter::new(ONE_BYTE_PROFILE, &block)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(els.len(), 3);
    assert_eq!((els[0].id, els[0].data), (1, &[0xAA][..]));
    assert_eq!((els[1].id, els[1].data), (2, &[0xBB, 0xBB][..]));
    assert_eq!((els[2].id, els[2].data), (3, &[0xCC; 4][..]));
    // Written: one-byte form (ids ≤ 14, lengths 1..=16), no inner padding.
    let mut out = Vec::new();
    assert!(write_extension_block(&mut out, els.iter().copied()).unwrap());
    assert_eq!(out, hex("bede0003 10aa 21bbbb 33cccccccc 0000"));
}

#[test]
fn extension_walk_stops_at_id_15_and_rejects_overruns() {
    // id 15 ends the walk (RFC 8285 §4.2).
    let block = hex("10aa f0 21bbbb 00");
    let v: Vec<_> = ExtensionIter::new(ONE_BYTE_PROFILE, &block).collect();
    assert_eq!(v.len(), 1);
    // An element longer than the block: one error, then nothing.
    let block = hex("10aa 3f bbbb");
    let v: Vec<_> = ExtensionIter::new(ONE_BYTE_PROFILE, &block).collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1], Err(RtpError::BadExtension));
    // id 0 with a length is not padding.
    let b = hex("01aa0000");
    let v: Vec<_> = ExtensionIter::new(ONE_BYTE_PROFILE, &b).collect();
    assert_eq!(v, vec![Err(RtpError::BadExtension)]);
    // Two-byte: a lone id byte at the end.
    let b = hex("0101aa07");
    let v: Vec<_> = ExtensionIter::new(TWO_BYTE_PROFILE, &b).collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1], Err(RtpError::BadExtension));
    // Two-byte appbits are ignored (0x100X).
    let b = hex("0101aa00");
    let v: Vec<_> = ExtensionIter::new(0x100F, &b).collect();
    assert_eq!(v.len(), 1);
}

#[test]
fn writer_picks_the_form_and_rejects_what_no_form_carries() {
    let mut out = Vec::new();
    let big = [7u8; 17];
    // id 15 forces the two-byte form.
    write_extension_block(&mut out, [ExtensionElement { id: 15, data: &[1] }]).unwrap();
    assert_eq!(out, hex("10000001 0f0101 00"));
    out.clear();
    // Empty data forces the two-byte form.
    write_extension_block(&mut out, [ExtensionElement { id: 1, data: &[] }]).unwrap();
    assert_eq!(out, hex("10000001 0100 0000"));
    out.clear();
    write_extension_block(&mut out, [ExtensionElement { id: 2, data: &big }]).unwrap();
    assert_eq!(&out[..2], &[0x10, 0x00]);
    out.clear();
    assert_eq!(
        write_extension_block(&mut out, [ExtensionElement { id: 0, data: &[1] }]),
        Err(RtpError::ExtensionNotWritable)
    );
    let huge = [0u8; 256];
    assert_eq!(
        write_extension_block(&mut out, [ExtensionElement { id: 1, data: &huge }]),
        Err(RtpError::ExtensionNotWritable)
    );
    assert!(out.is_empty());
    assert_eq!(write_extension_block(&mut out, []), Ok(false));
}

fn full_map() -> ExtensionMap {
    use crate::codecs::extensions as u;
    let params: Vec<RtpHeaderExtensionParameters> = [
        (1, u::AUDIO_LEVEL),
        (2, u::ABS_SEND_TIME),
        (3, u::TRANSPORT_CC),
        (4, u::SDES_MID),
        (5, u::PLAYOUT_DELAY),
        (10, u::RTP_STREAM_ID),
        (11, u::REPAIRED_RTP_STREAM_ID),
        (13, u::VIDEO_ORIENTATION),
        (14, u::TOFFSET),
        (20, ABS_CAPTURE_TIME),
    ]
    .into_iter()
    .map(|(id, uri)| RtpHeaderExtensionParameters {
        uri: uri.to_string(),
        id,
        encrypted: false,
    })
    .collect();
    ExtensionMap::from_parameters(&params)
}

#[test]
fn extension_map_from_sdp_parameters() {
    let map = full_map();
    assert_eq!(map.kind(4), Some(ExtensionKind::Mid));
    assert_eq!(map.kind(14), Some(ExtensionKind::Unknown));
    assert_eq!(map.kind(6), None);
    assert_eq!(map.id(ExtensionKind::AbsCaptureTime), Some(20));
    assert_eq!(map.id(ExtensionKind::Unknown), None);
    for k in [
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportCc,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
    ] {
        assert_eq!(ExtensionKind::from_uri(k.uri().unwrap()), k);
        assert!(map.id(k).is_some(), "{k:?}");
    }
    // Encrypted entries are not mapped; re-mapping moves a kind.
    let enc = ExtensionMap::from_parameters(&[RtpHeaderExtensionParameters {
        uri: crate::codecs::extensions::SDES_MID.into(),
        id: 1,
        encrypted: true,
    }]);
    assert_eq!(enc.kind(1), None);
    let mut m = full_map();
    assert!(m.insert(7, ExtensionKind::Mid));
    assert_eq!(m.kind(4), None);
    assert_eq!(m.id(ExtensionKind::Mid), Some(7));
    assert!(m.insert(7, ExtensionKind::Unknown));
    assert_eq!(m.id(ExtensionKind::Mid), None);
    assert!(!m.insert(0, ExtensionKind::Mid));
}

#[test]
fn typed_values_round_trip_in_both_forms() {
    let map = full_map();
    let values = Extensions {
        mid: Some("0"),
        rid: Some("hi-res_1"),
        repaired_rid: Some("r"),
        abs_send_time: Some(0x12_3456),
        transport_cc: Some(0xBEEF),
        audio_level: Some(AudioLevel {
            voice: true,
            level: 42,
        }),
        video_orientation: Some(VideoOrientation {
            back_camera: true,
            flip: false,
            rotation: 3,
        }),
        playout_delay: Some(PlayoutDelay { min: 1, max: 4095 }),
        abs_capture_time: Some(AbsCaptureTime {
            timestamp: 0x0102_0304_0506_0708,
            clock_offset: Some(-5),
        }),
    };
    let h = RtpHeader {
        payload_type: 111,
        extensions: HeaderExtensions::Typed {
            map: &map,
            values: &values,
            extra: &[],
        },
        ..Default::default()
    };
    let mut out = Vec::new();
    h.write_packet(&mut out, b"x", Padding::None).unwrap();
    let p = RtpPacket::parse(&out).unwrap();
    // id 20 forces the two-byte form.
    assert_eq!(p.extension.unwrap().profile, TWO_BYTE_PROFILE);
    assert_eq!(Extensions::read(&p, &map).unwrap(), values);

    // Without abs-capture-time every id is ≤ 14: one-byte form.
    let short = Extensions {
        abs_capture_time: None,
        ..values
    };
    out.clear();
    RtpHeader {
        extensions: HeaderExtensions::Typed {
            map: &map,
            values: &short,
            extra: &[],
        },
        ..h
    }
    .write(&mut out)
    .unwrap();
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!(p.extension.unwrap().profile, ONE_BYTE_PROFILE);
    assert_eq!(Extensions::read(&p, &map).unwrap(), short);

    // Typed values plus an element with no typed value (a 33-byte dependency descriptor
    // under an unmapped id): written after them, in the two-byte form it needs.
    let dd = [0xC0u8; 33];
    let extra = [ExtensionElement { id: 12, data: &dd }];
    out.clear();
    RtpHeader {
        extensions: HeaderExtensions::Typed {
            map: &map,
            values: &short,
            extra: &extra,
        },
        ..h
    }
    .write(&mut out)
    .unwrap();
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!(p.extension.unwrap().profile, TWO_BYTE_PROFILE);
    assert_eq!(Extensions::read(&p, &map).unwrap(), short);
    let last = p.extensions().last().unwrap().unwrap();
    assert_eq!(last, extra[0]);
}

#[test]
fn typed_values_wire_layout() {
    // abs-send-time 3 bytes, transport-cc 2 bytes, audio level V|level, video orientation
    // 0000CFRR, playout delay 12+12 bits, mid as text.
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::AudioLevel);
    map.insert(2, ExtensionKind::AbsSendTime);
    map.insert(3, ExtensionKind::TransportCc);
    map.insert(4, ExtensionKind::Mid);
    map.insert(5, ExtensionKind::PlayoutDelay);
    map.insert(6, ExtensionKind::VideoOrientation);
    let block = hex("10 8a 22 abcdef 31 0102 40 31 52 001002 60 0d 0000");
    let x = Extensions::read_elements(ExtensionIter::new(ONE_BYTE_PROFILE, &block), &map).unwrap();
    assert_eq!(
        x.audio_level,
        Some(AudioLevel {
            voice: true,
            level: 10
        })
    );
    assert_eq!(x.abs_send_time, Some(0xABCDEF));
    assert_eq!(x.transport_cc, Some(0x0102));
    assert_eq!(x.mid, Some("1"));
    assert_eq!(x.playout_delay, Some(PlayoutDelay { min: 1, max: 2 }));
    assert_eq!(
        x.video_orientation,
        Some(VideoOrientation {
            back_camera: true,
            flip: true,
            rotation: 1
        })
    );
}

#[test]
fn invalid_typed_values_are_ignored() {
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::Mid);
    map.insert(2, ExtensionKind::RtpStreamId);
    map.insert(3, ExtensionKind::TransportCc);
    // mid with a space, rid with a dot, transport-cc of 3 bytes: all ignored.
    let block = hex("11 6120 21 612e 32 010203 00");
    let x = Extensions::read_elements(ExtensionIter::new(ONE_BYTE_PROFILE, &block), &map).unwrap();
    assert_eq!(x, Extensions::default());
    // A NUL-padded rid is read without its padding; the first mid wins.
    let block = hex("22 6100 00 10 61 10 62 0000");
    let x = Extensions::read_elements(ExtensionIter::new(ONE_BYTE_PROFILE, &block), &map).unwrap();
    assert_eq!(x.rid, Some("a"));
    assert_eq!(x.mid, Some("a"));
    // A malformed block is an error.
    let block = hex("1f61");
    assert_eq!(
        Extensions::read_elements(ExtensionIter::new(ONE_BYTE_PROFILE, &block), &map),
        Err(RtpError::BadExtension)
    );
    // Invalid values are refused on write.
    let bad = Extensions {
        mid: Some("a b"),
        ..Default::default()
    };
    let h = RtpHeader {
        extensions: HeaderExtensions::Typed {
            map: &map,
            values: &bad,
            extra: &[],
        },
        ..Default::default()
    };
    let mut out = vec![9];
    assert_eq!(h.write(&mut out), Err(RtpError::ExtensionNotWritable));
    assert_eq!(out, vec![9]);
    assert!(is_valid_rid("q_1-A"));
    assert!(!is_valid_rid(""));
    assert!(!is_valid_mid(&"a".repeat(256)));
}

#[test]
fn padding_and_csrcs() {
    let csrcs = [1, 2, 0xFFFF_FFFF];
    let h = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence_number: 7,
        timestamp: 9,
        ssrc: 0xABCD,
        csrcs: &csrcs,
        extensions: HeaderExtensions::None,
    };
    let mut out = Vec::new();
    h.write_packet(&mut out, &[1, 2, 3], Padding::Multiple(16)).unwrap();
    assert_eq!(out.len(), 32);
    assert_eq!(out[0], 0xA3);
    assert_eq!(*out.last().unwrap(), 32 - 12 - 12 - 3);
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
    assert_eq!(p.payload, &[1, 2, 3]);
    assert_eq!(usize::from(p.padding_len), 32 - 27);
    // Padding-only packet (pacer probe).
    out.clear();
    h.write_packet(&mut out, &[], Padding::Bytes(255)).unwrap();
    let p = RtpPacket::parse(&out).unwrap();
    assert!(p.payload.is_empty());
    assert_eq!(p.padding_len, 255);
    // Already a multiple: no padding, P clear.
    out.clear();
    h.write_packet(&mut out, &[0; 4], Padding::Multiple(4)).unwrap();
    assert_eq!(out[0] & 0x20, 0);
    // Bad padding counts.
    let mut bad = out.clone();
    bad[0] |= 0x20;
    *bad.last_mut().unwrap() = 0;
    assert_eq!(RtpPacket::parse(&bad), Err(RtpError::BadPadding));
    *bad.last_mut().unwrap() = 5;
    assert_eq!(RtpPacket::parse(&bad), Err(RtpError::BadPadding));
    // Limits.
    let many = [0u32; 16];
    assert_eq!(
        RtpHeader {
            csrcs: &many,
            ..h
        }
        .write(&mut out),
        Err(RtpError::TooManyCsrcs)
    );
    assert_eq!(
        RtpHeader {
            payload_type: 128,
            ..h
        }
        .write(&mut out),
        Err(RtpError::BadPayloadType)
    );
    assert_eq!(RtpPacket::parse(&hex("40000000 00000000 00000000")), Err(RtpError::BadVersion(1)));
}

#[test]
fn header_write_does_not_allocate_with_capacity() {
    let mut out = Vec::with_capacity(1500);
    let ptr = out.as_ptr();
    let map = full_map();
    let values = Extensions {
        mid: Some("0"),
        transport_cc: Some(1),
        ..Default::default()
    };
    RtpHeader {
        extensions: HeaderExtensions::Typed {
            map: &map,
            values: &values,
            extra: &[],
        },
        ..Default::default()
    }
    .write_packet(&mut out, &[0; 1000], Padding::Multiple(16))
    .unwrap();
    assert_eq!(out.as_ptr(), ptr);
}

#[test]
fn rtx_payload() {
    // RFC 4588 §4: OSN first, then the original payload.
    let mut out = Vec::new();
    write_rtx_payload(&mut out, 0x1234, b"abc");
    assert_eq!(out, b"\x12\x34abc");
    assert_eq!(read_rtx_payload(&out), Ok((0x1234, &b"abc"[..])));
    assert_eq!(read_rtx_payload(&out[..1]), Err(RtpError::ShortRtx));
    assert_eq!(read_rtx_payload(&out[..2]), Ok((0x1234, &b""[..])));
}

#[test]
fn seq_unwrapping() {
    let mut u = SeqUnwrapper::new();
    assert_eq!(u.last(), None);
    assert_eq!(u.unwrap(65534), 65534);
    assert_eq!(u.unwrap(65535), 65535);
    assert_eq!(u.unwrap(0), 65536);
    assert_eq!(u.unwrap(65535), 65535); // reordered, from before the wrap
    assert_eq!(u.unwrap(2), 65538);
    assert_eq!(u.peek(32769), 65536 + 32769);
    assert_eq!(u.peek(32770), 32770); // exactly half a cycle back counts as behind
    let mut u = SeqUnwrapper::new();
    u.unwrap(0);
    assert_eq!(u.unwrap(65535), -1);
    // Long monotone run: 10 wraps.
    let mut u = SeqUnwrapper::new();
    for i in 0..655_360i64 {
        assert_eq!(u.unwrap((i & 0xFFFF) as u16), i);
    }
}

#[test]
fn random_round_trips_and_truncation() {
    let mut rng = Rng::new(0x5eed_0001);
    let mut out = Vec::new();
    for _ in 0..2000 {
        let csrcs: Vec<u32> = (0..rng.below(16)).map(|_| rng.u64() as u32).collect();
        let n_ext = rng.below(5) as usize;
        let two_byte = rng.below(2) == 0;
        let datas: Vec<Vec<u8>> = (0..n_ext)
            .map(|_| {
                let len = if two_byte {
                    rng.below(40) as usize
                } else {
                    1 + rng.below(16) as usize
                };
                rng.bytes(len)
            })
            .collect();
        let els: Vec<ExtensionElement> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| ExtensionElement {
                id: if two_byte {
                    1 + rng.below(255) as u8
                } else {
                    1 + i as u8
                },
                data: d,
            })
            .collect();
        let plen = rng.below(200) as usize;
        let payload = rng.bytes(plen);
        let h = RtpHeader {
            marker: rng.below(2) == 0,
            payload_type: rng.below(128) as u8,
            sequence_number: rng.u64() as u16,
            timestamp: rng.u64() as u32,
            ssrc: rng.u64() as u32,
            csrcs: &csrcs,
            extensions: HeaderExtensions::Elements(&els),
        };
        let padding = match rng.below(3) {
            0 => Padding::None,
            1 => Padding::Bytes(rng.u64() as u8),
            _ => Padding::Multiple(rng.u64() as u8),
        };
        out.clear();
        h.write_packet(&mut out, &payload, padding).unwrap();
        let p = RtpPacket::parse(&out).unwrap();
        assert_eq!(p.marker, h.marker);
        assert_eq!(p.payload_type, h.payload_type);
        assert_eq!(p.sequence_number, h.sequence_number);
        assert_eq!(p.timestamp, h.timestamp);
        assert_eq!(p.ssrc, h.ssrc);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        assert_eq!(p.payload, &payload[..]);
        let got: Vec<_> = p.extensions().collect::<Result<_, _>>().unwrap();
        assert_eq!(got, els);
        // Re-written from the view, re-parsed: the same view.
        let mut again = Vec::new();
        let h2 = RtpHeader {
            csrcs: &csrcs,
            ..header_of(&p)
        };
        h2.write_packet(&mut again, p.payload, Padding::Bytes(p.padding_len))
            .unwrap();
        assert_eq!(RtpPacket::parse(&again), Ok(p));
        // Every truncation parses or errors, never panics; cutting into the header errors.
        for cut in 0..out.len() {
            let r = RtpPacket::parse(&out[..cut]);
            if cut < p.header_len {
                assert!(r.is_err());
            }
            if let Ok(q) = r {
                let _ = q.extensions().count();
            }
        }
    }
}

/// The fuzz target's properties (fuzz/fuzz_targets/rtp_parse.rs) over corrupted copies of
/// the seed packets: parse or error; what parses re-writes to the same view; typed values
/// read with a map of every kind re-write and re-read to the same values.
#[test]
fn corrupted_packets_keep_the_round_trip_properties() {
    let mut map = ExtensionMap::new();
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
        map.insert(if i == 8 { 200 } else { i as u8 + 1 }, k);
    }
    // The typed seed: mid "0", a bad rid, transport-cc, audio level, orientation, delay.
    let typed = hex("b06f0001 00000002 00000003 bede0005 1030 42abcdef 510102 608a 700d 82001002 000000 aabbcc 0002");
    let p = RtpPacket::parse(&typed).unwrap();
    let x = Extensions::read(&p, &map).unwrap();
    assert_eq!(x.mid, Some("0"));
    assert_eq!(x.rid, None);
    assert_eq!(x.transport_cc, Some(0x0102));
    assert_eq!(x.playout_delay, Some(PlayoutDelay { min: 1, max: 2 }));
    let seeds = [hex(PION_BASIC), typed];
    let mut rng = Rng::new(0xf022);
    let mut parsed = 0;
    for round in 0..20_000 {
        let mut d = seeds[round % 2].clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(d.len() as u64) as usize;
            d[i] = rng.u64() as u8;
        }
        let cut = d.len() - rng.below(4) as usize;
        let Ok(p) = RtpPacket::parse(&d[..cut]) else {
            continue;
        };
        parsed += 1;
        let csrcs: Vec<u32> = p.csrcs().collect();
        let h = RtpHeader {
            csrcs: &csrcs,
            ..header_of(&p)
        };
        let mut out = Vec::new();
        h.write_packet(&mut out, p.payload, Padding::Bytes(p.padding_len))
            .unwrap();
        assert_eq!(RtpPacket::parse(&out), Ok(p));
        if let Ok(x) = Extensions::read(&p, &map) {
            out.clear();
            RtpHeader {
                extensions: HeaderExtensions::Typed {
                    map: &map,
                    values: &x,
                    extra: &[],
                },
                ..h
            }
            .write_packet(&mut out, p.payload, Padding::None)
            .unwrap();
            let q = RtpPacket::parse(&out).unwrap();
            assert_eq!(Extensions::read(&q, &map), Ok(x));
        }
    }
    assert!(parsed > 1000, "{parsed}");
}

/// RTP headers captured from a Chrome video sender (PT 45, Chrome's extension ids), kept with
/// their Wireshark dissection in olivermichel/webrtc-analysis `test/include/data.h`
/// (`rtp_pkt1`, `rtp_pkt2`: one-byte form; `rtp_pkt3`: two-byte form, forced by the 33-byte
/// dependency descriptor under id 13).
#[test]
fn chrome_captures_one_and_two_byte_forms() {
    let mut map = ExtensionMap::new();
    map.insert(2, ExtensionKind::AbsSendTime);
    map.insert(3, ExtensionKind::VideoOrientation);
    map.insert(4, ExtensionKind::TransportCc);
    map.insert(5, ExtensionKind::PlayoutDelay);
    map.insert(9, ExtensionKind::Mid);
    map.insert(10, ExtensionKind::RtpStreamId);
    map.insert(11, ExtensionKind::RepairedRtpStreamId);
    map.insert(13, ExtensionKind::Unknown); // dependency descriptor

    let pkt1 = hex("902d1a5fd4090549f7b16e83bede0003 22f34350 41009b d2810045 00");
    let p = RtpPacket::parse(&pkt1).unwrap();
    assert_eq!((p.payload_type, p.sequence_number, p.timestamp), (45, 6751, 3_557_360_969));
    assert_eq!(p.ssrc, 0xf7b1_6e83);
    let ids: Vec<_> = p.extensions().map(|e| e.unwrap().id).collect();
    assert_eq!(ids, vec![2, 4, 13]);
    let x = Extensions::read(&p, &map).unwrap();
    assert_eq!(x.abs_send_time, Some(0xf3_4350));
    assert_eq!(x.transport_cc, Some(0x009b));

    let pkt2 = hex(
        "90ad19d4d405e797f7b16e83bede0008 22ea432b 410004 9030 3000 6002 7c0100030009000a002300000000 d2400001 00",
    );
    let p = RtpPacket::parse(&pkt2).unwrap();
    assert!(p.marker);
    let x = Extensions::read(&p, &map).unwrap();
    assert_eq!(x.mid, Some("0"));
    assert_eq!(x.transport_cc, Some(4));
    assert_eq!(
        x.video_orientation,
        Some(VideoOrientation {
            back_camera: false,
            flip: false,
            rotation: 0
        })
    );
    let video_timing = p.extensions().map(|e| e.unwrap()).find(|e| e.id == 7).unwrap();
    assert_eq!(video_timing.data.len(), 13);

    let pkt3 = hex(
        "902d61c5950a0fee8d3814e510000011 020303f7ae 04020002 090130 030100 060102 070d01000100070007000a00000000 0d21c000018003187aaaf130a0a014d1413823046008642222265009f0077013f00ef0",
    );
    let p = RtpPacket::parse(&pkt3).unwrap();
    assert_eq!(p.extension.unwrap().profile, TWO_BYTE_PROFILE);
    let els: Vec<_> = p.extensions().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        els.iter().map(|e| (e.id, e.data.len())).collect::<Vec<_>>(),
        vec![(2, 3), (4, 2), (9, 1), (3, 1), (6, 1), (7, 13), (13, 33)]
    );
    let x = Extensions::read(&p, &map).unwrap();
    assert_eq!((x.abs_send_time, x.transport_cc, x.mid), (Some(0x03_f7ae), Some(2), Some("0")));
    // Our writer also needs the two-byte form for these elements and gives Chrome's bytes.
    let mut out = Vec::new();
    RtpHeader {
        extensions: HeaderExtensions::Elements(&els),
        ..header_of(&p)
    }
    .write_packet(&mut out, &[], Padding::None)
    .unwrap();
    assert_eq!(out, pkt3);
}
