//! Tests of the payload formats: spec and captured examples per codec, then property loops
//! (random frames and maximum payload sizes → packetize → reorder/drop → depacketize).

use std::time::{Duration, Instant};

use super::*;
use crate::codecs::{MediaKind, default_codecs};
use crate::util::{RandomSource, SeededRandom};

struct Rng(SeededRandom);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(SeededRandom::new(seed))
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.u64() % (hi - lo + 1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.u64() as u8
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.u64() % 100 < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.0.fill(&mut v);
        v
    }
}

/// All payloads of a frame with their marker bits.
fn packetize_all(p: &mut Packetizer, frame: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, PayloadError> {
    let max = p.max_payload();
    let mut out = Vec::new();
    let mut buf = vec![0u8; max];
    let mut payloads = p.packetize(frame)?;
    while let Some(info) = payloads.next_into(&mut buf)? {
        assert!(info.len <= max, "payload {} over the maximum {max}", info.len);
        out.push((buf[..info.len].to_vec(), info.marker));
        assert!(out.len() < 1_000_000);
    }
    Ok(out)
}

/// Frames out of a depacketizer fed `payloads` in order (seq, ts, marker, payload).
fn depacketize_all(
    format: PayloadFormat,
    payloads: &[(u64, u32, bool, Vec<u8>)],
) -> Vec<(Vec<u8>, u32, bool)> {
    let mut d = Depacketizer::new(format, DepacketizerConfig::default());
    let mut frames = Vec::new();
    for (seq, ts, m, p) in payloads {
        if let Some(f) = d.push(*seq, *ts, *m, p).frame {
            frames.push((f.data.to_vec(), f.timestamp, f.keyframe));
        }
    }
    frames
}

fn codec(name: &str) -> RtpCodecParameters {
    default_codecs(MediaKind::Audio)
        .into_iter()
        .chain(default_codecs(MediaKind::Video))
        .find(|c| c.mime_type == name)
        .expect("codec in the defaults")
}

#[test]
fn formats_come_from_negotiated_codecs() {
    assert_eq!(
        PayloadFormat::from_codec(&codec("audio/opus")),
        Some(PayloadFormat::Opus)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("audio/G722")),
        Some(PayloadFormat::G722)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("audio/PCMU")),
        Some(PayloadFormat::Pcmu)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("audio/PCMA")),
        Some(PayloadFormat::Pcma)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("video/VP8")),
        Some(PayloadFormat::Vp8)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("video/VP9")),
        Some(PayloadFormat::Vp9)
    );
    assert_eq!(
        PayloadFormat::from_codec(&codec("video/AV1")),
        Some(PayloadFormat::Av1)
    );
    for name in ["video/rtx", "video/red", "video/ulpfec", "audio/CN", "audio/telephone-event"] {
        assert_eq!(PayloadFormat::from_codec(&codec(name)), None, "{name}");
    }
    // H.264: packetization-mode from the fmtp line (RFC 6184 §8.1), 0 when absent.
    let h264: Vec<_> = default_codecs(MediaKind::Video)
        .into_iter()
        .filter(|c| c.mime_type == "video/H264")
        .collect();
    for c in &h264 {
        let mode1 = c
            .sdp_fmtp_line
            .as_deref()
            .unwrap()
            .contains("packetization-mode=1");
        assert_eq!(
            PayloadFormat::from_codec(c),
            Some(PayloadFormat::H264 {
                non_interleaved: mode1
            })
        );
    }
    let mut c = h264[0].clone();
    c.sdp_fmtp_line = None;
    assert_eq!(
        PayloadFormat::from_codec(&c),
        Some(PayloadFormat::H264 {
            non_interleaved: false
        })
    );
    c.sdp_fmtp_line = Some("packetization-mode=2".into());
    assert_eq!(PayloadFormat::from_codec(&c), None);
}

#[test]
fn clock_rates_and_audio_durations() {
    // RFC 3551 §4.5.2: G.722's RTP clock is 8000 Hz although it samples at 16 kHz.
    assert_eq!(PayloadFormat::G722.clock_rate(), 8000);
    assert_eq!(PayloadFormat::Opus.clock_rate(), 48000);
    assert_eq!(PayloadFormat::Vp8.clock_rate(), 90000);
    // 20 ms of G.722 is 160 octets (64 kbit/s) and 160 ticks; 20 ms of PCMU is 160 samples.
    assert_eq!(PayloadFormat::G722.audio_duration_ticks(&[0; 160]), Some(160));
    assert_eq!(PayloadFormat::Pcmu.audio_duration_ticks(&[0; 160]), Some(160));
    // RFC 6716 §3.1: TOC config 15 = hybrid FB 20 ms (0x78, what Chromium's Opus sends),
    // config 31 = CELT FB 20 ms; code 1 = two frames; code 3 with M = 3 three frames;
    // config 0 = SILK NB 10 ms; config 16 = CELT NB 2.5 ms.
    let opus = PayloadFormat::Opus;
    assert_eq!(opus.audio_duration_ticks(&[0x78, 1, 2]), Some(960));
    assert_eq!(opus.audio_duration_ticks(&[0xf8]), Some(960));
    assert_eq!(opus.audio_duration_ticks(&[0xf9]), Some(1920));
    assert_eq!(opus.audio_duration_ticks(&[0xfb, 0x03]), Some(2880));
    assert_eq!(opus.audio_duration_ticks(&[0x00]), Some(480));
    assert_eq!(opus.audio_duration_ticks(&[0x80]), Some(120));
    // Code 3 without its frame count byte, with M = 0, or over 120 ms: malformed.
    assert_eq!(opus.audio_duration_ticks(&[0xfb]), None);
    assert_eq!(opus.audio_duration_ticks(&[0xfb, 0x00]), None);
    assert_eq!(opus.audio_duration_ticks(&[0xfb, 0x07]), None);
    assert_eq!(opus.audio_duration_ticks(&[]), None);
    assert_eq!(PayloadFormat::Vp8.audio_duration_ticks(&[1]), None);
}

#[test]
fn audio_is_one_frame_per_payload() {
    for format in [
        PayloadFormat::Opus,
        PayloadFormat::Pcmu,
        PayloadFormat::Pcma,
        PayloadFormat::G722,
    ] {
        let mut p = Packetizer::new(format, 200).unwrap();
        let frame = [0x78u8; 160];
        let payloads = packetize_all(&mut p, &frame).unwrap();
        assert_eq!(payloads, vec![(frame.to_vec(), false)]);
        assert_eq!(
            p.packetize(&[0x78; 201]).unwrap_err(),
            PayloadError::TooLarge
        );
        assert_eq!(p.packetize(&[]).unwrap_err(), PayloadError::Empty);
        if format == PayloadFormat::Opus {
            // Code 3 without its frame count (RFC 6716 §3.2.5).
            assert_eq!(p.packetize(&[0xfb]).unwrap_err(), PayloadError::InvalidFrame);
        }
        let mut buf = [0u8; 100];
        assert_eq!(
            p.packetize(&frame).unwrap().next_into(&mut buf).unwrap_err(),
            PayloadError::BufferTooSmall
        );
        let mut d = Depacketizer::new(format, DepacketizerConfig::default());
        let f = d.push(7, 960, false, &frame).frame.unwrap();
        assert_eq!((f.data, f.timestamp, f.keyframe), (&frame[..], 960, true));
        // A lost packet is reported, the next frame still comes.
        let out = d.push(9, 2880, false, &frame);
        assert_eq!(out.lost_packets, 1);
        assert!(!out.dropped_frame);
        assert!(out.frame.is_some());
        assert_eq!(d.push(10, 0, false, &[]).error, Some(PayloadError::Empty));
    }
    let mut d = Depacketizer::new(PayloadFormat::Opus, DepacketizerConfig::default());
    assert_eq!(
        d.push(1, 0, false, &[0xfb]).error,
        Some(PayloadError::Malformed)
    );
}

// ---------------------------------------------------------------------------------------
// VP8 (RFC 7741)

/// A VP8 keyframe header (RFC 6386 §9.1): frame tag with P = 0, show_frame, first partition
/// size; start code 9d 01 2a; 640 × 480.
const VP8_KEY_START: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

#[test]
fn vp8_descriptor_examples() {
    // RFC 7741 §4.2: X with I, M = 1: a 15-bit PictureID.
    let d = vp8::parse_descriptor(&[0x90, 0x80, 0x81, 0x23, 0x10]).unwrap();
    assert_eq!(d.picture_id, Some(0x0123));
    assert!(d.start_of_partition);
    assert_eq!((d.partition_id, d.len), (0, 4));
    // 7-bit PictureID, TL0PICIDX, TID = 2 with Y, KEYIDX = 5.
    let d = vp8::parse_descriptor(&[0xa3, 0xf0, 0x2a, 0x07, 0xa5, 0xff]).unwrap();
    assert!(d.non_reference && !d.start_of_partition);
    assert_eq!(d.partition_id, 3);
    assert_eq!(d.picture_id, Some(0x2a));
    assert_eq!(d.tl0_pic_idx, Some(7));
    assert_eq!(d.temporal_id, Some(2));
    assert!(d.layer_sync);
    assert_eq!(d.key_idx, Some(5));
    assert_eq!(d.len, 5);
    // Without X, the descriptor is one byte.
    assert_eq!(vp8::parse_descriptor(&[0x10, 0x00]).unwrap().len, 1);
    // Truncated descriptors (pion/rtp codecs/vp8_packet_test.go vectors).
    assert_eq!(
        vp8::parse_descriptor(&[0x80]).unwrap_err(),
        PayloadError::Truncated
    );
    assert_eq!(
        vp8::parse_descriptor(&[0x80, 0x80, 0x81]).unwrap_err(),
        PayloadError::Truncated
    );
    // A descriptor with no VP8 data after it.
    assert_eq!(
        vp8::parse(&[0x80, 0x80, 0x81, 0x00]).unwrap_err(),
        PayloadError::Truncated
    );
}

#[test]
fn vp8_packetizer_writes_chromium_descriptors() {
    let mut p = Packetizer::new(PayloadFormat::Vp8, 8).unwrap();
    p.set_picture_id(0x1234);
    let mut frame = VP8_KEY_START.to_vec();
    frame.push(0xaa);
    let payloads = packetize_all(&mut p, &frame).unwrap();
    // X=1 S=1 PID=0 | I=1 | M=1 PictureID 0x1234, then 4 bytes of frame per packet.
    assert_eq!(
        payloads,
        vec![
            (vec![0x90, 0x80, 0x92, 0x34, 0x10, 0x02, 0x00, 0x9d], false),
            (vec![0x80, 0x80, 0x92, 0x34, 0x01, 0x2a, 0x80, 0x02], false),
            (vec![0x80, 0x80, 0x92, 0x34, 0xe0, 0x01, 0xaa], true),
        ]
    );
    // The next frame has the next PictureID, and 0x7fff wraps to 0.
    let payloads = packetize_all(&mut p, &[0x11]).unwrap();
    assert_eq!(payloads, vec![(vec![0x90, 0x80, 0x92, 0x35, 0x11], true)]);
    p.set_picture_id(0x7fff);
    packetize_all(&mut p, &[0x11]).unwrap();
    let payloads = packetize_all(&mut p, &[0x11]).unwrap();
    assert_eq!(payloads[0].0[2..4], [0x80, 0x00]);
    assert_eq!(
        Packetizer::new(PayloadFormat::Vp8, 4).unwrap_err(),
        PayloadError::MaxPayloadTooSmall
    );
}

#[test]
fn vp8_keyframe_from_the_p_bit_of_the_first_partition() {
    let seqd = |i: u64, ts, m, p: &[u8]| (i, ts, m, p.to_vec());
    // A keyframe in two packets, then a delta frame (P = 1) in one.
    let mut key1 = vec![0x90, 0x80, 0x80, 0x01];
    key1.extend_from_slice(&VP8_KEY_START[..5]);
    let mut key2 = vec![0x80, 0x80, 0x80, 0x01];
    key2.extend_from_slice(&VP8_KEY_START[5..]);
    let delta = vec![0x90, 0x80, 0x80, 0x02, 0x31, 0x02, 0x00];
    let frames = depacketize_all(
        PayloadFormat::Vp8,
        &[
            seqd(1, 100, false, &key1),
            seqd(2, 100, true, &key2),
            seqd(3, 200, true, &delta),
        ],
    );
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0], (VP8_KEY_START.to_vec(), 100, true));
    assert_eq!(frames[1], (vec![0x31, 0x02, 0x00], 200, false));
    // A start of a later partition (S = 1, PID = 1) does not begin a frame.
    let mut d = Depacketizer::new(PayloadFormat::Vp8, DepacketizerConfig::default());
    let out = d.push(1, 0, true, &[0x11, 0x00]);
    assert!(out.frame.is_none());
    assert_eq!(d.counters().skipped_payloads, 1);
}

// ---------------------------------------------------------------------------------------
// VP9 (RFC 9628)

/// The start of a keyframe Chromium sent (pion/rtp codecs/vp9/header_test.go, "chrome
/// webrtc"): profile 0, 8-bit 4:2:0, 1920 × 804.
const VP9_CHROME_KEY: [u8; 20] = [
    0x82, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32, 0x34, 0x30, 0x38, 0x24, 0x1c, 0x19, 0x40,
    0x18, 0x03, 0x40, 0x5f, 0xb4,
];

#[test]
fn vp9_frame_header() {
    let h = vp9::read_frame_header(&VP9_CHROME_KEY).unwrap();
    assert!(h.keyframe);
    assert_eq!(h.size, Some((1920, 804)));
    // pion's "vp9 sample": color space 2, 3840 × 2160.
    let sample = [
        0x82, 0x49, 0x83, 0x42, 0x40, 0xef, 0xf0, 0x86, 0xf4, 0x04, 0x21, 0xa0,
    ];
    assert_eq!(
        vp9::read_frame_header(&sample).unwrap().size,
        Some((3840, 2160))
    );
    // show_existing_frame (profile 1) and an inter frame (frame_type 1) are not keyframes.
    assert!(!vp9::read_frame_header(&[0b1010_1010, 0]).unwrap().keyframe);
    assert!(!vp9::read_frame_header(&[0x86, 0]).unwrap().keyframe);
    // Not a frame marker.
    assert!(vp9::read_frame_header(&[0x00]).is_none());
}

#[test]
fn vp9_descriptor_examples() {
    // Vectors of pion/rtp codecs/vp9_packet_test.go.
    // Non-flexible with L: TID 1, SID 1, D, TL0PICIDX 1.
    let d = vp9::parse_descriptor(&[0xa0, 0x02, 0x23, 0x01, 0xaa]).unwrap();
    assert_eq!(d.picture_id, Some(2));
    let l = d.layer.unwrap();
    assert_eq!((l.temporal_id, l.spatial_id, l.inter_layer), (1, 1, true));
    assert!(!l.switching_up);
    assert_eq!(d.tl0_pic_idx, Some(1));
    assert_eq!(d.len, 4);
    // Flexible mode with L: no TL0PICIDX.
    let d = vp9::parse_descriptor(&[0xb0, 0x02, 0x23, 0x01, 0xaa]).unwrap();
    assert!(d.flexible);
    assert_eq!((d.tl0_pic_idx, d.len), (None, 3));
    // Flexible, P: two P_DIFFs (N set on the first).
    let d = vp9::parse_descriptor(&[0xd0, 0x02, 0x03, 0x04, 0xaa]).unwrap();
    assert_eq!((d.ref_count, d.len), (2, 4));
    // More than three P_DIFFs.
    assert_eq!(
        vp9::parse_descriptor(&[0xd0, 0x02, 0x03, 0x05, 0x07, 0x09, 0x10, 0xaa]).unwrap_err(),
        PayloadError::Malformed
    );
    for short in [&[0xd0, 0x02, 0x03][..], &[0xd0, 0x02], &[0xd0], &[0xa0, 0x02, 0x23]] {
        assert_eq!(
            vp9::parse_descriptor(short).unwrap_err(),
            PayloadError::Truncated
        );
    }
    // Scalability structure (RFC 9628 §4.2.1): N_S = 1 (two layers), Y, G with one group
    // of two references.
    let d = vp9::parse_descriptor(&[
        0x0a, 0x38, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 0x01, 0x18, 0x01, 0x02,
        0xaa,
    ])
    .unwrap();
    assert!(d.begin);
    assert_eq!((d.ss_layers, d.len), (Some(2), 14));
    assert_eq!(
        vp9::parse_descriptor(&[0x0a, 0x10]).unwrap_err(),
        PayloadError::Truncated
    );
}

#[test]
fn vp9_packetizer_sends_the_scalability_structure_on_keyframes() {
    let mut p = Packetizer::new(PayloadFormat::Vp9, 20).unwrap();
    p.set_picture_id(0x0102);
    let payloads = packetize_all(&mut p, &VP9_CHROME_KEY).unwrap();
    // I, B, V; PictureID; SS: N_S = 0, Y, 1920 × 804; 12 bytes of frame.
    let mut first = vec![0x8a, 0x81, 0x02, 0x10, 0x07, 0x80, 0x03, 0x24];
    first.extend_from_slice(&VP9_CHROME_KEY[..12]);
    assert_eq!(payloads[0], (first, false));
    let mut second = vec![0x84, 0x81, 0x02];
    second.extend_from_slice(&VP9_CHROME_KEY[12..]);
    assert_eq!(payloads[1], (second, true));
    // An inter frame: P, B and E in one packet, no SS.
    let payloads = packetize_all(&mut p, &[0x86, 0x00, 0x11]).unwrap();
    assert_eq!(
        payloads,
        vec![(vec![0xcc, 0x81, 0x03, 0x86, 0x00, 0x11], true)]
    );
    let frames = depacketize_all(
        PayloadFormat::Vp9,
        &[(5, 9, true, payloads[0].0.clone())],
    );
    assert_eq!(frames, vec![(vec![0x86, 0x00, 0x11], 9, false)]);
}

#[test]
fn vp9_layer_frames_end_at_e() {
    // Two spatial layers of one picture (same timestamp): SID 0 keyframe, SID 1 with D.
    let l0 = vec![0xac, 0x81, 0x00, 0x00, 0x00, 0x82, 0x01];
    let l1 = vec![0xac, 0x81, 0x00, 0x03, 0x00, 0x82, 0x02];
    let frames = depacketize_all(
        PayloadFormat::Vp9,
        &[(1, 50, false, l0), (2, 50, true, l1)],
    );
    assert_eq!(
        frames,
        vec![(vec![0x82, 0x01], 50, true), (vec![0x82, 0x02], 50, false)]
    );
}

// ---------------------------------------------------------------------------------------
// H.264 (RFC 6184)

/// A STAP-A with an SPS and a PPS (pion/rtp codecs/h264_packet_test.go, a capture): NRI 3,
/// sizes 15 and 5.
const H264_STAP_A: [u8; 25] = [
    0x78, 0x00, 0x0f, 0x67, 0x42, 0xc0, 0x1f, 0x1a, 0x32, 0x35, 0x01, 0x40, 0x7a, 0x40, 0x3c,
    0x22, 0x11, 0xa8, 0x00, 0x05, 0x68, 0x1a, 0x34, 0xe3, 0xc8,
];

fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(&[0, 0, 0, 1]);
        v.extend_from_slice(n);
    }
    v
}

#[test]
fn h264_stap_a_capture_to_annex_b() {
    let sps = &H264_STAP_A[3..18];
    let pps = &H264_STAP_A[20..25];
    let idr: &[u8] = &[0x65, 0x88, 0x84, 0x21];
    // SPS + PPS in a STAP-A, then an IDR slice alone with the marker.
    let frames = depacketize_all(
        PayloadFormat::H264 {
            non_interleaved: true,
        },
        &[
            (10, 3000, false, H264_STAP_A.to_vec()),
            (11, 3000, true, idr.to_vec()),
        ],
    );
    assert_eq!(frames, vec![(annex_b(&[sps, pps, idr]), 3000, true)]);
    // The packetizer puts all three in one STAP-A when they fit (RFC 6184 §5.7.1: NRI is
    // the largest of the units'), and the SPS + PPS alone when the IDR does not fit.
    let au = annex_b(&[sps, pps, idr]);
    let mut p = Packetizer::new(
        PayloadFormat::H264 {
            non_interleaved: true,
        },
        100,
    )
    .unwrap();
    let payloads = packetize_all(&mut p, &au).unwrap();
    let mut stap = H264_STAP_A.to_vec();
    stap.extend_from_slice(&[0x00, 0x04]);
    stap.extend_from_slice(idr);
    assert_eq!(payloads, vec![(stap, true)]);
    let mut p = Packetizer::new(
        PayloadFormat::H264 {
            non_interleaved: true,
        },
        26,
    )
    .unwrap();
    let payloads = packetize_all(&mut p, &au).unwrap();
    assert_eq!(
        payloads,
        vec![(H264_STAP_A.to_vec(), false), (idr.to_vec(), true)]
    );
}

#[test]
fn h264_fu_a() {
    // A 9-byte IDR NAL (NRI 3) in FU-A fragments of at most 5 bytes (RFC 6184 §5.8): the
    // NAL header is carried in the FU indicator (F, NRI) and FU header (type).
    let nal = [0x65, 0x88, 2, 3, 4, 5, 6, 7, 8];
    let mut p = Packetizer::new(
        PayloadFormat::H264 {
            non_interleaved: true,
        },
        5,
    )
    .unwrap();
    let payloads = packetize_all(&mut p, &annex_b(&[&nal])).unwrap();
    assert_eq!(
        payloads,
        vec![
            (vec![0x7c, 0x85, 0x88, 2, 3], false),
            (vec![0x7c, 0x05, 4, 5, 6], false),
            (vec![0x7c, 0x45, 7, 8], true),
        ]
    );
    let fmt = PayloadFormat::H264 {
        non_interleaved: true,
    };
    let with_seq: Vec<_> = payloads
        .iter()
        .enumerate()
        .map(|(i, (p, m))| (i as u64, 0, *m, p.clone()))
        .collect();
    assert_eq!(
        depacketize_all(fmt, &with_seq),
        vec![(annex_b(&[&nal]), 0, true)]
    );
    // Mode 0 cannot fragment.
    let mut p = Packetizer::new(
        PayloadFormat::H264 {
            non_interleaved: false,
        },
        5,
    )
    .unwrap();
    assert_eq!(
        p.packetize(&annex_b(&[&nal])).unwrap_err(),
        PayloadError::TooLarge
    );
    // Mode 0 never aggregates.
    let mut p = Packetizer::new(
        PayloadFormat::H264 {
            non_interleaved: false,
        },
        100,
    )
    .unwrap();
    let payloads = packetize_all(&mut p, &annex_b(&[&[0x67, 1], &[0x68, 2]])).unwrap();
    assert_eq!(
        payloads,
        vec![(vec![0x67, 1], false), (vec![0x68, 2], true)]
    );
}

#[test]
fn h264_bad_payloads() {
    let fmt = PayloadFormat::H264 {
        non_interleaved: true,
    };
    let cases: &[(&[u8], PayloadError)] = &[
        // STAP-A with a unit longer than the payload, or of size 0, or no unit at all.
        (&[0x78, 0x00, 0x09, 0x67], PayloadError::Truncated),
        (&[0x78, 0x00, 0x00], PayloadError::Malformed),
        (&[0x78], PayloadError::Truncated),
        // FU-A with S and E, or no FU header.
        (&[0x7c, 0xc5, 1], PayloadError::Malformed),
        (&[0x7c], PayloadError::Truncated),
        // STAP-B, MTAP16, MTAP24, FU-B (mode 2); reserved types 0, 30, 31.
        (&[0x19, 0, 0], PayloadError::Unsupported),
        (&[0x1a, 0, 0], PayloadError::Unsupported),
        (&[0x1b, 0, 0], PayloadError::Unsupported),
        (&[0x1d, 0, 0], PayloadError::Unsupported),
        (&[0x00, 1], PayloadError::Malformed),
        (&[0x1e, 1], PayloadError::Malformed),
        (&[0x1f, 1], PayloadError::Malformed),
    ];
    for (payload, err) in cases {
        let mut d = Depacketizer::new(fmt, DepacketizerConfig::default());
        d.push(1, 0, true, &[0x09, 0x10]); // an AUD frame: synced
        let out = d.push(2, 1, true, payload);
        assert_eq!(out.error, Some(*err), "{payload:02x?}");
        assert!(out.frame.is_none());
    }
    // A middle FU-A without its start, and an access unit that ends inside an FU-A.
    let mut d = Depacketizer::new(fmt, DepacketizerConfig::default());
    d.push(1, 0, true, &[0x09, 0x10]);
    assert_eq!(
        d.push(2, 1, false, &[0x67, 1]).error,
        None,
        "an SPS begins the unit"
    );
    assert_eq!(
        d.push(3, 1, true, &[0x7c, 0x05, 1]).error,
        Some(PayloadError::Malformed)
    );
    let out = d.push(4, 2, false, &[0x7c, 0x85, 0x80]);
    assert_eq!(out.error, None);
    let out = d.push(5, 2, true, &[0x7c, 0x05, 2]);
    assert_eq!(out.error, Some(PayloadError::Malformed));
    assert_eq!(d.counters().frames, 1);
    // Packetizer: no start code, or garbage before it.
    let mut p = Packetizer::new(fmt, 100).unwrap();
    assert_eq!(
        p.packetize(&[0x65, 1, 2]).unwrap_err(),
        PayloadError::InvalidFrame
    );
    assert_eq!(
        p.packetize(&[7, 0, 0, 1, 0x65]).unwrap_err(),
        PayloadError::InvalidFrame
    );
    assert_eq!(
        p.packetize(&[0, 0, 1, 0, 0, 1]).unwrap_err(),
        PayloadError::InvalidFrame
    );
    // NAL unit types that RTP uses for STAP-A/FU-A (RFC 6184 §5.2), or type 0.
    for t in [0u8, 24, 28, 31] {
        assert_eq!(
            p.packetize(&[0, 0, 1, 0x41, 0x80, 0, 0, 1, 0x60 | t, 1])
                .unwrap_err(),
            PayloadError::InvalidFrame
        );
    }
}

#[test]
fn h264_frame_start_after_loss() {
    let fmt = PayloadFormat::H264 {
        non_interleaved: true,
    };
    let mut d = Depacketizer::new(fmt, DepacketizerConfig::default());
    // A slice with first_mb_in_slice = 0 begins an access unit (H.264 §7.3.3).
    assert!(d.push(1, 0, false, &[0x41, 0x9a, 1]).frame.is_none());
    assert!(d.has_partial_frame());
    // Packet 2 lost: the partial unit is dropped and the loss reported.
    let out = d.push(3, 0, true, &[0x41, 0x20, 2]);
    assert!(out.dropped_frame);
    assert_eq!(out.lost_packets, 1);
    assert!(out.frame.is_none());
    // A PPS cannot tell whether it begins a unit, but after the marker it does.
    let f = d.push(4, 90, false, &[0x68, 0xce]);
    assert!(f.frame.is_none() && f.error.is_none());
    let f = d.push(5, 90, true, &[0x65, 0x88]).frame.unwrap();
    assert_eq!(f.data, annex_b(&[&[0x68, 0xce], &[0x65, 0x88]]));
    assert!(f.keyframe);
    assert_eq!((f.first_seq, f.last_seq), (4, 5));
    // A new timestamp while a unit is open: the open one is incomplete.
    d.push(6, 180, false, &[0x41, 0x9a, 1]);
    let out = d.push(7, 270, true, &[0x41, 0x9a, 2]);
    assert!(out.dropped_frame);
    assert_eq!(out.frame.unwrap().data, annex_b(&[&[0x41, 0x9a, 2]]));
    // An old or repeated sequence number is ignored.
    assert!(d.push(7, 270, true, &[0x41, 0x9a, 2]).frame.is_none());
    assert_eq!(d.counters().old_payloads, 1);
    assert_eq!(d.counters().dropped_frames, 2);
}

// ---------------------------------------------------------------------------------------
// AV1 (AOMedia RTP payload format)

/// Frames out of an AV1 depacketizer that first saw the end of an earlier unit: without
/// N, a receiver cannot tell that the first payload it sees begins a unit.
fn av1_after_sync(payload: Vec<u8>) -> Vec<(Vec<u8>, u32, bool)> {
    let sync = vec![0x00, 0x01, 0x30];
    let mut d = Depacketizer::new(PayloadFormat::Av1, DepacketizerConfig::default());
    assert!(d.push(0, 99, true, &sync).frame.is_none());
    assert_eq!(d.counters().skipped_payloads, 1);
    let frame = d.push(1, 0, true, &payload).frame;
    frame.map(|f| (f.data.to_vec(), f.timestamp, f.keyframe)).into_iter().collect()
}

#[test]
fn av1_aggregation_header_examples() {
    // pion/rtp codecs/av1_depacketizer_test.go: W = 0, one element of one byte, an OBU_FRAME
    // header without size → written with a size field of 0.
    let frames = av1_after_sync(vec![0x00, 0x01, 0x30]);
    assert_eq!(frames, vec![(vec![0x32, 0x00], 0, false)]);
    // N = 1: a new coded video sequence, a keyframe.
    let frames = av1_after_sync(vec![0x08, 0x01, 0x30]);
    assert_eq!(frames, vec![(vec![0x32, 0x00], 0, true)]);
    // W = 1: the only element has no length; an OBU with a size field keeps its payload.
    let frames = av1_after_sync(vec![0x10, 0x22, 0x03, 1, 2, 3]);
    assert_eq!(frames, vec![(vec![0x22, 0x03, 1, 2, 3], 0, false)]);
    // A size field that disagrees with the element: the element's length wins.
    let frames = av1_after_sync(vec![0x00, 0x05, 0x22, 0x04, 1, 2, 3]);
    assert_eq!(frames, vec![(vec![0x22, 0x03, 1, 2, 3], 0, false)]);
    // A temporal delimiter and a tile list are dropped (AV1 RTP §5); an extension header
    // is kept.
    let frames = av1_after_sync(vec![0x30, 0x01, 0x10, 0x01, 0x40, 0x2c, 0x28, 0x09]);
    assert_eq!(frames, vec![(vec![0x2e, 0x28, 0x01, 0x09], 0, false)]);
}

#[test]
fn av1_fragments_with_and_without_size_fields() {
    // An OBU_FRAME of 5 payload bytes sent with its size field, split after 3 bytes
    // (W = 1, Y; then Z, W = 1): the size field is rewritten from the element.
    let frames = av1_after_sync_all(vec![vec![0x50, 0x32, 0x05, 0x10], vec![0x90, 1, 2, 3, 4]]);
    assert_eq!(frames, vec![(vec![0x32, 0x05, 0x10, 1, 2, 3, 4], 0, false)]);
    // The same OBU without a size field, in three fragments, after a sequence header:
    // a size field is added, and the unit is a keyframe (frame_type KEY_FRAME) even
    // without N.
    let frames = av1_after_sync_all(vec![
        vec![0x60, 0x02, 0x08, 0xa1, 0x30],
        vec![0xd0, 0x10, 1],
        vec![0x90, 2, 3, 4],
    ]);
    assert_eq!(
        frames,
        vec![(
            vec![0x0a, 0x01, 0xa1, 0x32, 0x05, 0x10, 1, 2, 3, 4],
            0,
            true
        )]
    );
    // A temporal delimiter sent in fragments is dropped too.
    let frames = av1_after_sync_all(vec![vec![0x50, 0x10], vec![0xa0, 0x01, 0x00, 0x30]]);
    assert_eq!(frames, vec![(vec![0x32, 0x00], 0, false)]);
}

/// Like [`av1_after_sync`], for a unit in several payloads (the marker on the last).
fn av1_after_sync_all(payloads: Vec<Vec<u8>>) -> Vec<(Vec<u8>, u32, bool)> {
    let mut d = Depacketizer::new(PayloadFormat::Av1, DepacketizerConfig::default());
    d.push(0, 99, true, &[0x00, 0x01, 0x30]);
    let n = payloads.len();
    let mut out = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let pushed = d.push(1 + i as u64, 0, i + 1 == n, p);
        assert_eq!(pushed.error, None);
        if let Some(f) = pushed.frame {
            out.push((f.data.to_vec(), f.timestamp, f.keyframe));
        }
    }
    out
}

/// A sequence header and a key OBU_FRAME, both with size fields, from GStreamer's rtpav1
/// tests (tests/check/elements/rtpav1.c), which also give their RTP payloads.
const AV1_GST_SEQ_HDR: [u8; 13] = [
    0x0a, 0x0b, 0x00, 0x00, 0x00, 0x03, 0x37, 0xff, 0xfc, 0x0f, 0xff, 0x98, 0x04,
];
const AV1_GST_FRAME: [u8; 32] = [
    0x32, 0x1e, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0xe4, 0xef, 0xbc, 0xf2, 0x51, 0xd8, 0x9f,
    0x75, 0x6a, 0xd0, 0xde, 0x30, 0xae, 0x3e, 0x50, 0xc9, 0xf0, 0xce, 0x0a, 0xd2, 0x04, 0x66,
    0x81, 0xf0,
];

#[test]
fn av1_gstreamer_payloads() {
    let mut unit = AV1_GST_SEQ_HDR.to_vec();
    unit.extend_from_slice(&AV1_GST_FRAME);
    // GStreamer's separate packets: the temporal delimiter (N, W = 1), the sequence header
    // (N, W = 1), the frame (W = 1, marker); OBUs sent with their size fields.
    let td = vec![0x18, 0x12, 0x00];
    let mut seq_hdr = vec![0x18];
    seq_hdr.extend_from_slice(&AV1_GST_SEQ_HDR);
    let mut frame = vec![0x10];
    frame.extend_from_slice(&AV1_GST_FRAME);
    let mut d = Depacketizer::new(PayloadFormat::Av1, DepacketizerConfig::default());
    assert_eq!(d.push(0x3642, 10, false, &td).frame, None);
    assert_eq!(d.push(0x3643, 10, false, &seq_hdr).frame, None);
    let f = d.push(0x3644, 10, true, &frame).frame.unwrap();
    assert_eq!((f.data, f.keyframe), (&unit[..], true));
    assert_eq!(d.counters().dropped_frames, 0);
    // GStreamer's aggregated temporal unit: N, W = 2, the sequence header with a length.
    let mut agg = vec![0x28, 0x0d];
    agg.extend_from_slice(&AV1_GST_SEQ_HDR);
    agg.extend_from_slice(&AV1_GST_FRAME);
    let frames = depacketize_all(PayloadFormat::Av1, &[(7, 20, true, agg)]);
    assert_eq!(frames, vec![(unit.clone(), 20, true)]);
    // rtcpeer sends the same unit without size fields (AV1 RTP §5: SHOULD), in one
    // payload with W = 2, and N since it starts a coded video sequence.
    let mut tu = vec![0x12, 0x00];
    tu.extend_from_slice(&unit);
    let mut p = Packetizer::new(PayloadFormat::Av1, 1200).unwrap();
    let payloads = packetize_all(&mut p, &tu).unwrap();
    let mut want = vec![0x28, 0x0c, 0x08];
    want.extend_from_slice(&AV1_GST_SEQ_HDR[2..]);
    want.push(0x30);
    want.extend_from_slice(&AV1_GST_FRAME[2..]);
    assert_eq!(payloads, vec![(want, true)]);
}

#[test]
fn av1_bad_payloads() {
    let cases: &[(&[u8], PayloadError)] = &[
        // pion's invalid packets: a length past the end, a bad LEB128, an extension flag
        // without the extension byte.
        (&[0x00, 0x05, 0x30], PayloadError::Truncated),
        (&[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], PayloadError::Malformed),
        (&[0x00, 0x01, 0x04], PayloadError::Truncated),
        // An empty element, the forbidden bit, nothing after the aggregation header.
        (&[0x00, 0x00], PayloadError::Malformed),
        (&[0x00, 0x01, 0xb0], PayloadError::Malformed),
        (&[0x00], PayloadError::Truncated),
    ];
    for (payload, err) in cases {
        let mut d = Depacketizer::new(PayloadFormat::Av1, DepacketizerConfig::default());
        d.push(1, 0, true, &[0x00, 0x01, 0x30]);
        let out = d.push(2, 1, true, payload);
        assert_eq!(out.error, Some(*err), "{payload:02x?}");
    }
    // Y = 1 on the last packet of the unit: its last OBU is incomplete.
    let mut d = Depacketizer::new(PayloadFormat::Av1, DepacketizerConfig::default());
    d.push(1, 0, true, &[0x00, 0x01, 0x30]);
    let out = d.push(2, 1, true, &[0x40, 0x02, 0x30, 0x01]);
    assert_eq!(out.error, Some(PayloadError::Malformed));
    assert!(out.frame.is_none());
}

#[test]
fn av1_packetizer_fragments_and_sets_n() {
    // TD, sequence header (3 bytes), a key FRAME (first payload byte 0x10: show_existing 0,
    // frame_type 0) of 6 bytes.
    let tu = [
        0x12, 0x00, 0x0a, 0x03, 0xa1, 0xb2, 0xc3, 0x32, 0x06, 0x10, 1, 2, 3, 4, 5,
    ];
    let mut p = Packetizer::new(PayloadFormat::Av1, 7).unwrap();
    let payloads = packetize_all(&mut p, &tu).unwrap();
    assert_eq!(
        payloads,
        vec![
            // N, W = 2: the sequence header with its length, then 1 byte of the frame's
            // element (its header, size field removed) as the last element; Y.
            (vec![0x68, 0x04, 0x08, 0xa1, 0xb2, 0xc3, 0x30], false),
            // Z, W = 1: the next 6 bytes; Y.
            (vec![0x90, 0x10, 1, 2, 3, 4, 5], true),
        ]
    );
    let with_seq: Vec<_> = payloads
        .iter()
        .enumerate()
        .map(|(i, (p, m))| (i as u64, 0, *m, p.clone()))
        .collect();
    let frames = depacketize_all(PayloadFormat::Av1, &with_seq);
    assert_eq!(frames, vec![(tu[2..].to_vec(), 0, true)]);
    // An empty FRAME_HEADER is not a keyframe (the byte after it is not its payload):
    // no N (found by the fuzz target).
    let tu = [0x0a, 0x01, 0xa1, 0x1a, 0x00, 0x10];
    let payloads = packetize_all(&mut p, &tu).unwrap();
    assert_eq!(payloads[0].0[0] & 0x08, 0);
    // Only a temporal delimiter: nothing to send.
    assert_eq!(
        p.packetize(&[0x12, 0x00]).unwrap_err(),
        PayloadError::Empty
    );
    // An OBU size past the end of the unit.
    assert_eq!(
        p.packetize(&[0x32, 0x09, 1]).unwrap_err(),
        PayloadError::InvalidFrame
    );
}

// ---------------------------------------------------------------------------------------
// Reorder buffer

fn pop_all(r: &mut ReorderBuffer, now: Instant) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    while let Some(p) = r.pop(now) {
        assert_eq!(p.payload, &p.seq.to_be_bytes()[..]);
        v.push((p.seq, p.lost_before));
    }
    v
}

fn put(r: &mut ReorderBuffer, now: Instant, seq: u64) -> ReorderInsert {
    r.insert(now, seq, seq as u32, false, &seq.to_be_bytes())
}

#[test]
fn reorder_releases_in_order() {
    let t0 = Instant::now();
    let mut r = ReorderBuffer::new(ReorderConfig::default());
    assert_eq!(put(&mut r, t0, 100), ReorderInsert::Stored);
    assert_eq!(put(&mut r, t0, 102), ReorderInsert::Stored);
    assert_eq!(put(&mut r, t0, 103), ReorderInsert::Stored);
    assert_eq!(pop_all(&mut r, t0), vec![(100, 0)]);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    assert_eq!(put(&mut r, t0, 101), ReorderInsert::Stored);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(pop_all(&mut r, t0), vec![(101, 0), (102, 0), (103, 0)]);
    assert_eq!(put(&mut r, t0, 101), ReorderInsert::Late);
    assert_eq!(put(&mut r, t0, 105), ReorderInsert::Stored);
    assert_eq!(put(&mut r, t0, 105), ReorderInsert::Duplicate);
    let c = r.counters();
    assert_eq!((c.released, c.late, c.duplicates), (4, 1, 1));
    assert!(!r.is_empty() && r.len() == 1);
}

#[test]
fn reorder_gives_up_a_hole_after_a_wait() {
    let t0 = Instant::now();
    let mut r = ReorderBuffer::new(ReorderConfig::default());
    put(&mut r, t0, 1);
    put(&mut r, t0 + Duration::from_millis(10), 3);
    put(&mut r, t0 + Duration::from_millis(20), 4);
    assert_eq!(pop_all(&mut r, t0 + Duration::from_millis(20)), vec![(1, 0)]);
    // The wait runs from the arrival of 3, the first packet behind the hole.
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(110)));
    assert!(r.pop(t0 + Duration::from_millis(109)).is_none());
    assert_eq!(
        pop_all(&mut r, t0 + Duration::from_millis(110)),
        vec![(3, 1), (4, 0)]
    );
    let c = r.counters();
    assert_eq!((c.holes_skipped, c.lost), (1, 1));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn reorder_gives_up_a_hole_after_a_count_and_when_full() {
    let t0 = Instant::now();
    let mut r = ReorderBuffer::new(ReorderConfig {
        max_hole_packets: 3,
        ..ReorderConfig::default()
    });
    put(&mut r, t0, 0);
    put(&mut r, t0, 5);
    put(&mut r, t0, 6);
    assert_eq!(pop_all(&mut r, t0), vec![(0, 0)]);
    put(&mut r, t0, 7);
    assert_eq!(pop_all(&mut r, t0), vec![(5, 4), (6, 0), (7, 0)]);
    // Bytes: 3 payloads of 8 bytes fit in 24; the fourth is dropped and the hole given up.
    let mut r = ReorderBuffer::new(ReorderConfig {
        max_bytes: 24,
        ..ReorderConfig::default()
    });
    put(&mut r, t0, 10);
    assert_eq!(pop_all(&mut r, t0), vec![(10, 0)]);
    for s in 12..15 {
        assert_eq!(put(&mut r, t0, s), ReorderInsert::Stored);
    }
    assert_eq!(put(&mut r, t0, 15), ReorderInsert::Full);
    assert_eq!(pop_all(&mut r, t0), vec![(12, 1), (13, 0), (14, 0)]);
    assert_eq!(r.counters().dropped, 1);
    // A payload over max_payload.
    assert_eq!(
        r.insert(t0, 16, 0, false, &[0; 1501]),
        ReorderInsert::TooLarge
    );
    // Beyond the window while packets wait: dropped, and the hole given up.
    let mut r = ReorderBuffer::new(ReorderConfig {
        max_packets: 4,
        ..ReorderConfig::default()
    });
    put(&mut r, t0, 0);
    put(&mut r, t0, 2);
    assert_eq!(pop_all(&mut r, t0), vec![(0, 0)]);
    assert_eq!(put(&mut r, t0, 5), ReorderInsert::Full);
    assert_eq!(pop_all(&mut r, t0), vec![(2, 1)]);
    // Beyond the window with nothing waiting: the window moves there.
    assert_eq!(put(&mut r, t0, 1000), ReorderInsert::Stored);
    assert_eq!(pop_all(&mut r, t0), vec![(1000, 997)]);
}

// ---------------------------------------------------------------------------------------
// Property loops: random frames → packetize → reorder (and maybe drop one) → depacketize.

/// A random frame valid for the format, and what the depacketizer must give back for it.
fn random_frame(
    rng: &mut Rng,
    format: PayloadFormat,
    max: usize,
    budget: usize,
    first: bool,
) -> (Vec<u8>, Vec<u8>, bool) {
    match format {
        f if f.is_audio() => {
            let n = rng.range(1, max.min(400));
            let mut v = rng.bytes(n);
            if f == PayloadFormat::Opus {
                v[0] &= 0xfc; // code 0: one frame
            }
            (v.clone(), v, true)
        }
        PayloadFormat::Vp8 => {
            let v = if rng.chance(30) {
                let mut v = VP8_KEY_START.to_vec();
                v.extend({ let n = rng.range(0, budget); rng.bytes(n) });
                v
            } else {
                let mut v = { let n = rng.range(1, budget); rng.bytes(n) };
                v[0] |= 1;
                v
            };
            let key = v[0] & 1 == 0;
            (v.clone(), v, key)
        }
        PayloadFormat::Vp9 => {
            let mut v = if rng.chance(30) {
                VP9_CHROME_KEY.to_vec()
            } else {
                vec![0x86]
            };
            v.extend({ let n = rng.range(0, budget); rng.bytes(n) });
            let key = vp9::read_frame_header(&v).is_some_and(|h| h.keyframe);
            (v.clone(), v, key)
        }
        PayloadFormat::H264 { non_interleaved } => {
            let mut frame = Vec::new();
            let mut key = false;
            let count = rng.range(1, 6);
            let mut slices = 0;
            for i in 0..count {
                let types = [1u8, 5, 6, 7, 8, 9];
                let mut t = types[rng.range(0, types.len() - 1)];
                if i == 0 && first {
                    t = 7; // a stream starts with an SPS
                } else if i == 0 && rng.chance(50) {
                    t = 9;
                }
                key |= t == 5;
                let cap = if non_interleaved { budget / 2 } else { max - 2 };
                let n = rng.range(0, cap.min(budget / 2));
                frame.extend_from_slice(&[0, 0, 0, 1]);
                frame.push((rng.byte() & 0x60) | t);
                let slice = t == 1 || t == 5;
                let mut prev = 1u8;
                for j in 0..n {
                    let mut b = rng.byte();
                    if j == 0 && slice {
                        // first_mb_in_slice is 0 on the first slice only (H.264 §7.3.3).
                        b = if slices == 0 { b | 0x80 } else { b & 0x7f };
                    }
                    if prev == 0 && b <= 3 {
                        b |= 0x80;
                    }
                    frame.push(b);
                    prev = b;
                }
                slices += usize::from(slice && n > 0);
                if prev == 0 {
                    frame.push(0x80);
                }
            }
            (frame.clone(), frame, key)
        }
        _ => {
            // AV1: maybe a temporal delimiter, maybe a sequence header, then OBUs with size
            // fields (some with extension headers).
            let mut tu = Vec::new();
            let mut expected = Vec::new();
            if rng.chance(50) {
                tu.extend_from_slice(&[0x12, 0x00]);
            }
            let seq_header = first || rng.chance(30);
            let mut key = None;
            let count = rng.range(2, 5);
            for i in 0..count {
                let t = if i == 0 && seq_header {
                    1
                } else if i == 1 && first {
                    6
                } else {
                    [3u8, 4, 5, 6, 15][rng.range(0, 4)]
                };
                let ext = rng.chance(20);
                let n = rng.range(usize::from(first), budget / 2);
                let mut payload = rng.bytes(n);
                if i == 1 && first {
                    payload[0] = 0x10; // a shown KEY_FRAME
                }
                if (t == 3 || t == 6) && key.is_none() {
                    key = Some(payload.first().is_some_and(|b| b & 0xe0 == 0));
                }
                let mut obu = vec![(t << 3) | 0x02 | if ext { 0x04 } else { 0 }];
                if ext {
                    obu.push(rng.byte() & 0xf8);
                }
                let mut size = [0u8; 8];
                let sl = av1::write_leb128(n, &mut size).unwrap();
                obu.extend_from_slice(&size[..sl]);
                obu.extend_from_slice(&payload);
                tu.extend_from_slice(&obu);
                expected.extend_from_slice(&obu);
            }
            (tu, expected, seq_header && key == Some(true))
        }
    }
}

fn min_payload(format: PayloadFormat) -> usize {
    match format {
        PayloadFormat::Vp8 => vp8::DESCRIPTOR_LEN + 1,
        PayloadFormat::Vp9 => vp9::MAX_DESCRIPTOR_LEN + 1,
        PayloadFormat::H264 { .. } => 3,
        PayloadFormat::Av1 => 3,
        _ => 1,
    }
}

const ALL_FORMATS: [PayloadFormat; 9] = [
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

/// One run: `frames` random frames sent through packetizer, a shuffle within `window`
/// packets, maybe one drop, the reorder buffer and the depacketizer.
fn roundtrip_run(rng: &mut Rng, format: PayloadFormat, drop_one: bool) {
    let small = rng.chance(30);
    let max = if small {
        rng.range(min_payload(format), 40)
    } else {
        rng.range(min_payload(format), 1400)
    };
    let mut p = Packetizer::new(format, max).unwrap();
    p.set_picture_id(rng.range(0, 0x7fff) as u16);
    let base_seq = rng.range(0, 1 << 20) as u64;
    let mut packets: Vec<(u64, u32, bool, Vec<u8>, usize)> = Vec::new();
    let mut expected = Vec::new();
    let nframes = rng.range(1, 8);
    let budget = if small { 400 } else { 3000 };
    for f in 0..nframes {
        let (frame, want, key) = random_frame(rng, format, max, budget, f == 0);
        let ts = 3000 * f as u32;
        let payloads = packetize_all(&mut p, &frame).unwrap();
        assert!(!payloads.is_empty());
        if !format.is_audio() {
            // The marker is on the last payload only.
            for (i, (_, m)) in payloads.iter().enumerate() {
                assert_eq!(*m, i + 1 == payloads.len(), "{format:?}");
            }
        }
        for (pl, m) in payloads {
            let seq = base_seq + packets.len() as u64;
            packets.push((seq, ts, m, pl, f));
        }
        expected.push((want, ts, key));
    }
    // Drop one packet (not the first, which starts the reorder buffer's sequence).
    let mut lost_frame = None;
    if drop_one && packets.len() > 1 {
        let i = rng.range(1, packets.len() - 1);
        lost_frame = Some(packets.remove(i).4);
    }
    // Shuffle within a window of 8: each packet moves less than 8 places (not the first).
    let mut keyed: Vec<_> = packets
        .into_iter()
        .enumerate()
        .map(|(i, p)| (if i == 0 { 0 } else { i + rng.range(0, 7) }, p))
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let packets: Vec<_> = keyed.into_iter().map(|(_, p)| p).collect();
    let t0 = Instant::now();
    // Holes are given up at the end only, so no packet of this run comes late.
    let mut r = ReorderBuffer::new(ReorderConfig {
        max_packets: 4096,
        max_bytes: 1 << 24,
        max_hole_packets: 4096,
        max_hole_wait: Duration::from_secs(10),
        ..ReorderConfig::default()
    });
    let mut d = Depacketizer::new(format, DepacketizerConfig::default());
    let mut got = Vec::new();
    let mut dropped = 0;
    let mut lost = 0;
    let mut feed = |r: &mut ReorderBuffer, now| {
        while let Some(pkt) = r.pop(now) {
            let out = d.push(pkt.seq, pkt.timestamp, pkt.marker, pkt.payload);
            assert_eq!(out.error, None, "{format:?}");
            lost += out.lost_packets;
            dropped += usize::from(out.dropped_frame);
            if let Some(f) = out.frame {
                got.push((f.data.to_vec(), f.timestamp, f.keyframe));
            }
        }
    };
    for (k, (seq, ts, m, pl, _)) in packets.iter().enumerate() {
        let now = t0 + Duration::from_millis(k as u64);
        assert_eq!(r.insert(now, *seq, *ts, *m, pl), ReorderInsert::Stored);
        feed(&mut r, now);
    }
    feed(&mut r, t0 + Duration::from_secs(20));
    assert!(r.is_empty());
    match lost_frame {
        None => {
            assert_eq!(got, expected, "{format:?} max {max}");
            assert_eq!((lost, dropped), (0, 0));
        }
        Some(lf) => {
            // Every frame except the lost one (and, for formats that cannot always tell a
            // frame start, the one after it) comes back, in order, exactly.
            let mut want: Vec<_> = expected
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != lf)
                .map(|(i, f)| (i, f.clone()))
                .collect();
            let lenient = matches!(format, PayloadFormat::H264 { .. } | PayloadFormat::Av1);
            if lenient && got.len() < want.len() {
                want.retain(|(i, _)| *i != lf + 1);
            }
            let want: Vec<_> = want.into_iter().map(|(_, f)| f).collect();
            // With the last packet of the last frame lost, nothing follows to tell.
            let last_lost = lf + 1 == nframes;
            assert_eq!(got, want, "{format:?} max {max} lost frame {lf}");
            if !last_lost {
                assert_eq!(lost, 1, "{format:?}");
            }
            assert!(lost <= 1);
        }
    }
}

#[test]
fn roundtrip_random_frames_every_format() {
    let mut rng = Rng::new(0x5eed_0001);
    for format in ALL_FORMATS {
        for _ in 0..300 {
            roundtrip_run(&mut rng, format, false);
        }
    }
}

#[test]
fn roundtrip_random_frames_with_one_loss() {
    let mut rng = Rng::new(0x5eed_0002);
    for format in ALL_FORMATS {
        for _ in 0..300 {
            roundtrip_run(&mut rng, format, true);
        }
    }
}

#[test]
fn garbage_and_truncated_payloads_never_panic() {
    let mut rng = Rng::new(0x5eed_0003);
    for format in ALL_FORMATS {
        let cap = 3000;
        let mut d = Depacketizer::new(
            format,
            DepacketizerConfig {
                max_frame_bytes: cap,
            },
        );
        // Valid payloads cut short, and random bytes.
        let mut p = Packetizer::new(format, rng.range(min_payload(format), 300)).unwrap();
        let mut seq = 0u64;
        for _ in 0..3000 {
            let payload = if rng.chance(50) {
                let (frame, _, _) = random_frame(&mut rng, format, p.max_payload(), 600, false);
                let pls = packetize_all(&mut p, &frame).unwrap();
                let mut pl = pls[rng.range(0, pls.len() - 1)].0.clone();
                pl.truncate(rng.range(0, pl.len()));
                pl
            } else {
                let n = rng.range(0, 40);
                rng.bytes(n)
            };
            seq += rng.range(1, 2) as u64;
            let out = d.push(seq, rng.range(0, 3) as u32, rng.chance(30), &payload);
            if let Some(f) = out.frame {
                assert!(f.data.len() <= cap);
                assert!(!f.data.is_empty());
            }
        }
    }
}

#[test]
fn frame_cap_drops_big_frames() {
    let mut d = Depacketizer::new(
        PayloadFormat::Vp8,
        DepacketizerConfig {
            max_frame_bytes: 10,
        },
    );
    assert!(d.push(1, 0, false, &[0x10, 1, 2, 3, 4, 5, 6]).error.is_none());
    let out = d.push(2, 0, true, &[0x00, 7, 8, 9, 10, 11]);
    assert_eq!(out.error, Some(PayloadError::FrameTooLarge));
    assert!(out.dropped_frame && out.frame.is_none());
    // The next frame, within the cap, comes through.
    assert_eq!(d.push(3, 1, true, &[0x10, 1]).frame.unwrap().data, &[1]);
    let mut d = Depacketizer::new(
        PayloadFormat::Opus,
        DepacketizerConfig {
            max_frame_bytes: 2,
        },
    );
    assert_eq!(
        d.push(1, 0, false, &[0x78, 0, 0]).error,
        Some(PayloadError::FrameTooLarge)
    );
}
