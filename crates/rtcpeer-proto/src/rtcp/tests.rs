//! RTCP codec tests: packets captured in pion/rtcp's tests (a compound from a packet dump,
//! Chrome's REMB, TWCC feedbacks, an XR with every RFC 3611 block), RFC examples, round trips
//! over random packets of every type, truncation at every length, hostile TWCC counts.

use super::*;
use crate::rtp::tests::{Rng, hex};

fn all(data: &[u8]) -> Vec<RtcpPacket<'_>> {
    parse_compound(data).collect::<Result<_, _>>().unwrap()
}

fn rewrite(packets: &[RtcpPacket<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        p.write_to(&mut out).unwrap();
    }
    out
}

/// pion/rtcp packet_test.go `realPacket` ("an RTCP packet from a packet dump"): RR, SDES
/// with a CNAME, BYE, PLI, RRR (RTPFB FMT 5, unknown to us) and APP.
const PION_COMPOUND: &str = "81c90007902f9e2ebc5e9a4000000000000046e10000011109f3643200024a7981ca000c902f9e2e01267b39633030656239322d316166622d396434392d613437642d3931663634656565363966357d0000000081cb0001902f9e2e81ce0002902f9e2e902f9e2e85cd0002902f9e2e902f9e2e80cc00034baae1ab4e414d4541424344";

#[test]
fn compound_from_a_packet_dump() {
    let raw = hex(PION_COMPOUND);
    let ps = all(&raw);
    assert_eq!(ps.len(), 6);
    let RtcpPacket::ReceiverReport(rr) = ps[0] else {
        panic!("{:?}", ps[0])
    };
    assert_eq!(rr.ssrc, 0x902f_9e2e);
    let b: Vec<_> = rr.reports.iter().collect();
    assert_eq!(
        b,
        vec![ReportBlock {
            ssrc: 0xbc5e_9a40,
            fraction_lost: 0,
            cumulative_lost: 0,
            highest_seq: 0x46e1,
            jitter: 273,
            last_sr: 0x09f3_6432,
            delay_since_last_sr: 150_137,
        }]
    );
    let RtcpPacket::Sdes(sdes) = ps[1] else {
        panic!()
    };
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].ssrc, 0x902f_9e2e);
    assert_eq!(
        chunks[0].cname(),
        Some(&b"{9c00eb92-1afb-9d49-a47d-91f64eee69f5}"[..])
    );
    let RtcpPacket::Bye(bye) = ps[2] else { panic!() };
    assert_eq!(bye.ssrcs().collect::<Vec<_>>(), vec![0x902f_9e2e]);
    assert_eq!(bye.reason, None);
    assert_eq!(
        ps[3],
        RtcpPacket::Pli(Pli {
            sender_ssrc: 0x902f_9e2e,
            media_ssrc: 0x902f_9e2e
        })
    );
    let RtcpPacket::Unknown(u) = ps[4] else {
        panic!()
    };
    assert_eq!((u.packet_type, u.count, u.body.len()), (PT_RTPFB, 5, 8));
    assert_eq!(
        ps[5],
        RtcpPacket::App(App {
            subtype: 0,
            ssrc: 0x4baa_e1ab,
            name: *b"NAME",
            data: b"ABCD"
        })
    );
    // Written again: the same bytes.
    assert_eq!(rewrite(&ps), raw);
}

#[test]
fn sender_report_from_pion() {
    // pion/rtcp sender_report_test.go "valid". Its length field says 7 words where the
    // packet has 12 (pion does not check it): that one we refuse, as the block is cut.
    let mut raw = hex(
        "81c80007 902f9e2e da8bd1fcdddda05a aaf4edd5 00000001 00000002 bc5e9a40 00000000 000046e1 00000111 09f36432 00024a79",
    );
    assert_eq!(RtcpPacket::parse(&raw).unwrap_err(), RtcpError::Truncated);
    raw[3] = 12;
    let ps = all(&raw);
    let RtcpPacket::SenderReport(sr) = ps[0] else {
        panic!()
    };
    assert_eq!(
        sr.info,
        SenderInfo {
            ssrc: 0x902f_9e2e,
            ntp_time: 0xda8b_d1fc_dddd_a05a,
            rtp_time: 0xaaf4_edd5,
            packet_count: 1,
            octet_count: 2
        }
    );
    assert_eq!(sr.reports.len(), 1);
    assert!(sr.extension.is_empty());
    assert_eq!(rewrite(&ps), raw);
}

#[test]
fn sr_sdes_compound_as_webrtc_sends_it() {
    // What a WebRTC sender's regular compound holds (RFC 3550 §6.1, RFC 8834 §4.2):
    // SR with one block, then SDES with the CNAME.
    let block = ReportBlock {
        ssrc: 7,
        fraction_lost: 3,
        cumulative_lost: -2,
        highest_seq: 0x0001_0005,
        jitter: 12,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 65536,
    };
    let info = SenderInfo {
        ssrc: 1,
        ntp_time: ntp_from_unix(std::time::Duration::from_millis(1_700_000_000_250)),
        rtp_time: 90_000,
        packet_count: 10,
        octet_count: 12_000,
    };
    let mut out = Vec::new();
    write_sender_report(&mut out, &info, [block], &[]).unwrap();
    write_sdes_cname(&mut out, 1, b"rtcpeer-cname").unwrap();
    let ps = all(&out);
    assert_eq!(ps.len(), 2);
    let RtcpPacket::SenderReport(sr) = ps[0] else {
        panic!()
    };
    assert_eq!(sr.info, info);
    assert_eq!(sr.reports.iter().next(), Some(block));
    let RtcpPacket::Sdes(s) = ps[1] else { panic!() };
    assert_eq!(s.chunks().next().unwrap().cname(), Some(&b"rtcpeer-cname"[..]));
    // 4 + 24 + 24 bytes SR, then SDES: 4 + 4 + 2 + 13 + END → 24.
    assert_eq!(out.len(), 52 + 24);
    assert_eq!(&out[..4], &[0x81, 200, 0, 12]);
}

#[test]
fn remb_sent_by_chrome() {
    // pion/rtcp receiver_estimated_maximum_bitrate_test.go: "Real data sent by Chrome while
    // watching a 6Mb/s stream": exponent 6, mantissa 139487 → 8 927 168 bit/s.
    let raw = hex("8fce0005 00000001 00000000 52454d42 011a20df 4874ed16");
    let ps = all(&raw);
    let RtcpPacket::Remb(r) = ps[0] else {
        panic!("{:?}", ps[0])
    };
    assert_eq!(r.sender_ssrc, 1);
    assert_eq!((r.exponent, r.mantissa), (6, 139_487));
    assert_eq!(r.bitrate(), 8_927_168);
    assert_eq!(r.ssrcs().collect::<Vec<_>>(), vec![1_215_622_422]);
    assert_eq!(rewrite(&ps), raw);
    let mut out = Vec::new();
    write_remb(&mut out, 1, 8_927_168, [1_215_622_422]).unwrap();
    assert_eq!(out, raw);
    // Rounding down to 18 bits of mantissa; saturation of absurd exponents.
    assert_eq!(Remb::encode_bitrate(8_927_167), (6, 139_486));
    assert_eq!(Remb::encode_bitrate(0), (0, 0));
    assert_eq!(Remb::encode_bitrate(u64::MAX), (46, 0x3_FFFF));
    let mut big = r;
    big.exponent = 63;
    assert_eq!(big.bitrate(), u64::MAX);
    // A PSFB FMT 15 that is not REMB stays unknown.
    let other = hex("8fce0003 00000001 00000000 41424344");
    assert!(matches!(all(&other)[0], RtcpPacket::Unknown(_)));
}

/// TWCC feedbacks from pion/rtcp transport_layer_cc_test.go (TestTransportLayerCC_Unmarshal).
const TWCC_EXAMPLE1: &str = "afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401";
const TWCC_EXAMPLE2: &str =
    "afcd0006 fa17fa17 193dd8bb 0174000e 45b15a40 d800f0ff d0000003";
const TWCC_EXAMPLE3: &str =
    "afcd0007 fa17fa17 193dd8bb 01740006 45b15a40 40022004 1ffe1f9a d000d000";
const TWCC_EXAMPLE4: &str =
    "afcd0007 fa17fa17 193dd8bb 00040007 1063 6e01 2007 4c24 2410 0c0c 1000 0003";
const TWCC_EXAMPLE5: &str = "afcd0006 fa17fa17 193dd8bb 0001000e 10636d00 ba00100c 0c100003";
const TWCC_EXAMPLE6: &str =
    "afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa 7b010901";

fn twcc(raw: &[u8]) -> TransportCc<'_> {
    match all(raw)[0] {
        RtcpPacket::TransportCc(t) => t,
        p => panic!("{p:?}"),
    }
}

#[test]
fn twcc_feedbacks_from_pion() {
    let raw = hex(TWCC_EXAMPLE1);
    let t = twcc(&raw);
    assert_eq!(
        (t.sender_ssrc, t.media_ssrc, t.base_seq, t.status_count),
        (4_195_875_351, 1_124_282_272, 153, 1)
    );
    assert_eq!((t.reference_time, t.fb_count), (4_057_090, 23));
    // One received packet, small delta 0x94 = 148 ticks = 37 000 µs.
    assert_eq!(
        t.packets().collect::<Vec<_>>(),
        vec![TwccStatus {
            seq: 153,
            delta: Some(148)
        }]
    );
    assert_eq!(
        t.received().collect::<Vec<_>>(),
        vec![(153, 4_057_090 * 64_000 + 37_000)]
    );

    // Reference times compare across the 24-bit wrap.
    assert_eq!(t.reference_time_delta_us(4_057_089), 64_000);
    let mut w = t;
    w.reference_time = 1;
    assert_eq!(w.reference_time_delta_us(0xFF_FFFF), 2 * 64_000);
    assert_eq!(t.reference_time_delta_us(4_057_091), -64_000);

    // Example 3: two large deltas then four small (run-length chunks). It sets the P bit
    // but its last byte is a delta of 0, not a padding count: refused (as libwebrtc's
    // common-header parser refuses a zero padding size); read with the P bit cleared.
    let mut raw = hex(TWCC_EXAMPLE3);
    assert_eq!(RtcpPacket::parse(&raw).unwrap_err(), RtcpError::BadPadding);
    raw[0] &= !0x20;
    let t = twcc(&raw);
    let deltas: Vec<_> = t.packets().map(|p| p.delta.unwrap() as i64 * 250).collect();
    assert_eq!(deltas, vec![2_047_500, 2_022_500, 52_000, 0, 52_000, 0]);

    // Example 4: a run of 7 small deltas; our writer makes the same bytes.
    let raw = hex(TWCC_EXAMPLE4);
    let t = twcc(&raw);
    let deltas: Vec<_> = t.packets().map(|p| p.delta.unwrap() as i64 * 250).collect();
    assert_eq!(deltas, vec![19_000, 9_000, 9_000, 4_000, 3_000, 3_000, 4_000]);
    assert_eq!(rewrite(&[RtcpPacket::TransportCc(t)]), raw);

    // Example 5: a 1-bit status vector: 3 received, 1 lost, 1 received, 9 lost. Its padding
    // count says 3 where 2 bytes pad it (the third would be the last delta): refused as
    // truncated; read with the count corrected.
    let mut raw = hex(TWCC_EXAMPLE5);
    assert_eq!(RtcpPacket::parse(&raw).unwrap_err(), RtcpError::Truncated);
    *raw.last_mut().unwrap() = 2;
    let t = twcc(&raw);
    let got: Vec<_> = t.packets().map(|p| p.delta.is_some()).collect();
    let mut want = vec![true, true, true, false, true];
    want.resize(14, false);
    assert_eq!(got, want);
    assert_eq!(t.received().count(), 4);
    assert_eq!(rewrite(&[RtcpPacket::TransportCc(t)]), raw);

    // Example 6: a 2-bit vector with a large delta, then a run of 48 lost of which only 2
    // are within the status count.
    let raw = hex(TWCC_EXAMPLE6);
    let t = twcc(&raw);
    assert_eq!((t.base_seq, t.status_count, t.fb_count), (34108, 9, 179));
    let got: Vec<_> = t.packets().map(|p| p.delta.map(|d| d as i64 * 250)).collect();
    assert_eq!(
        got,
        vec![
            Some(38_750),
            Some(42_500),
            Some(26_500),
            Some(42_500),
            Some(30_750),
            None,
            Some(66_250),
            None,
            None
        ]
    );
    // Re-encoded (different chunks: a run of 2, not of 48), the same feedback.
    let again = rewrite(&[RtcpPacket::TransportCc(t)]);
    assert_eq!(twcc(&again), t);

    // Example 2 carries the reserved symbol 11 within its status count: refused, as
    // libwebrtc refuses it.
    let raw = hex(TWCC_EXAMPLE2);
    assert_eq!(
        RtcpPacket::parse(&raw).unwrap_err(),
        RtcpError::Malformed("TWCC reserved status symbol")
    );
}

/// A TWCC feedback captured from Chrome (sender SSRC 1, Chrome's receive-only feedback
/// SSRC), kept with its Wireshark dissection in olivermichel/webrtc-analysis
/// `test/include/data.h` (`twcc_pkt1`): 9 packets in one run-length chunk, P-bit padding.
#[test]
fn twcc_captured_from_chrome() {
    let raw = hex("afcd0007 00000001 dd586eb6 00010009 5e911000 2009 1c0c2c3800040008 18 01");
    let t = twcc(&raw);
    assert_eq!((t.sender_ssrc, t.media_ssrc), (1, 0xdd58_6eb6));
    assert_eq!((t.base_seq, t.status_count, t.reference_time, t.fb_count), (1, 9, 6_197_520, 0));
    let ms: Vec<_> = t.packets().map(|p| p.delta.unwrap() as f64 / 4.0).collect();
    assert_eq!(ms, vec![7.0, 3.0, 11.0, 14.0, 0.0, 1.0, 0.0, 2.0, 6.0]);
    let last = t.received().last().unwrap();
    assert_eq!(last, (9, 6_197_520 * 64_000 + 44_000));
    // Our writer produces Chrome's bytes, padding included.
    assert_eq!(rewrite(&[RtcpPacket::TransportCc(t)]), raw);
    // And the builder, from the same arrival times, too.
    let mut at = 6_197_520i64 * 64_000;
    let arrivals: Vec<_> = t
        .packets()
        .map(|p| {
            at += i64::from(p.delta.unwrap()) * 250;
            TwccArrival {
                seq: p.seq,
                arrival_us: Some(at),
            }
        })
        .collect();
    let mut out = Vec::new();
    assert_eq!(
        write_twcc_feedback(&mut out, 1, 0xdd58_6eb6, 0, &arrivals, 1200),
        Ok(9)
    );
    assert_eq!(out, raw);
}

/// The chunk examples of draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.3 and
/// §3.1.4, each in a feedback of its own.
#[test]
fn twcc_draft_chunk_examples() {
    // §3.1.3 example 1: run of 221 not received.
    let raw = hex("8fcd0005 00000001 00000002 000a00dd 00000000 00dd0000");
    let t = twcc(&raw);
    assert_eq!(t.packets().count(), 221);
    assert_eq!(t.received().count(), 0);
    // §3.1.4 example 1: 1-bit vector 0x9F1C: lost, 5 received, 3 lost, 3 received, 2 lost.
    let raw = hex("8fcd0007 00000001 00000002 0000000e 00000000 9f1c 0102030405060708 0000");
    let t = twcc(&raw);
    let got: String = t
        .packets()
        .map(|p| if p.delta.is_some() { 'R' } else { '.' })
        .collect();
    assert_eq!(got, ".RRRRR...RRR..");
    assert_eq!(
        t.packets().filter_map(|p| p.delta).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6, 7, 8]
    );
    // §3.1.3 example 2 (0x6018) and §3.1.4 example 2 (0xCD50) use the symbol 11 as
    // "received without delta"; the same draft lists 11 as reserved and libwebrtc refuses
    // it, so do we.
    for chunk in ["6018", "cd50"] {
        let raw = hex(&format!("8fcd0005 00000001 00000002 00000018 00000000 {chunk}0000"));
        assert_eq!(
            RtcpPacket::parse(&raw).unwrap_err(),
            RtcpError::Malformed("TWCC reserved status symbol")
        );
    }
}

#[test]
fn twcc_hostile_counts_are_bounded_by_the_bytes() {
    // Status count 65535 and no chunk at all.
    let raw = hex("8fcd0004 00000001 00000002 0000ffff 00000000");
    assert_eq!(RtcpPacket::parse(&raw).unwrap_err(), RtcpError::Truncated);
    // 65535 small deltas announced by 8 run-length chunks, none present.
    let raw = hex("8fcd0008 00000001 00000002 0000ffff 00000000 3fff3fff3fff3fff3fff3fff3fff3fff");
    assert_eq!(RtcpPacket::parse(&raw).unwrap_err(), RtcpError::Truncated);
    // 65535 lost packets in 9 run-length chunks: valid; received() skips the runs.
    let raw = hex(
        "8fcd0009 00000001 00000002 0000ffff 00000000 1fff1fff1fff1fff1fff1fff1fff1fff 00070000",
    );
    let t = twcc(&raw);
    assert_eq!(t.received().count(), 0);
    assert_eq!(t.packets().count(), 65535);
    assert!(t.packets().all(|p| p.delta.is_none()));
    // Run-length chunks of length 0 consume bytes, not statuses.
    let raw = hex("8fcd0006 00000001 00000002 00000001 00000000 00000000 20010500");
    let t = twcc(&raw);
    assert_eq!(t.packets().count(), 1);
}

#[test]
fn twcc_builder_round_trips_arrivals_and_splits() {
    let mut rng = Rng::new(0x7cc);
    for round in 0..300 {
        let n = 1 + rng.below(400) as usize;
        let mut seq = rng.u64() as u16;
        let mut t = rng.below(1 << 36) as i64; // below the 24-bit reference time wrap
        let mut packets = Vec::new();
        for _ in 0..n {
            seq = seq.wrapping_add(1 + if rng.below(10) == 0 { rng.below(30) as u16 } else { 0 });
            t += match rng.below(20) {
                0 => -(rng.below(5000) as i64), // reordered arrival: negative delta
                1 => rng.below(10_000_000) as i64, // a long gap: may not fit 16 bits
                _ => rng.below(2000) as i64,
            };
            let lost = rng.below(8) == 0;
            packets.push(TwccArrival {
                seq,
                arrival_us: (!lost).then_some(t),
            });
        }
        let max_len = if round % 2 == 0 { 1200 } else { 60 + rng.below(200) as usize };
        let mut rest = &packets[..];
        let mut fb = 0u8;
        let mut out = Vec::new();
        while !rest.is_empty() {
            out.clear();
            let used = write_twcc_feedback(&mut out, 1, 2, fb, rest, max_len).unwrap();
            assert!(used > 0 && out.len() <= max_len, "{used} {}", out.len());
            let t = twcc(&out);
            assert_eq!(t.fb_count, fb);
            assert_eq!(t.base_seq, rest[0].seq);
            // Every entry covered is reported: received ones with their arrival time at
            // 250 µs resolution, relative to the same origin.
            let received: Vec<_> = t.received().collect();
            let want: Vec<_> = rest[..used]
                .iter()
                .filter_map(|p| p.arrival_us.map(|a| (p.seq, a.div_euclid(250) * 250)))
                .collect();
            assert_eq!(received, want);
            let lost = t.packets().filter(|p| p.delta.is_none()).count();
            let span = usize::from(t.status_count);
            assert_eq!(lost + received.len(), span);
            // Our own writer's packets re-write to the same bytes.
            assert_eq!(rewrite(&[RtcpPacket::TransportCc(t)]), out);
            rest = &rest[used..];
            fb = fb.wrapping_add(1);
        }
    }
    // Too small for anything.
    let mut out = Vec::new();
    let p = [TwccArrival {
        seq: 1,
        arrival_us: Some(5),
    }];
    assert_eq!(
        write_twcc_feedback(&mut out, 1, 2, 0, &p, 20),
        Err(RtcpError::TooLong)
    );
    assert_eq!(write_twcc_feedback(&mut out, 1, 2, 0, &[], 1200), Ok(0));
    assert!(out.is_empty());
}

#[test]
fn twcc_chunk_choice() {
    // 20 received small: one run-length chunk. 14 alternating received/lost small: one
    // 1-bit vector. 7 with a large delta among them: one 2-bit vector.
    let mk = |deltas: &[Option<i64>]| {
        let mut t = 1_000_000i64;
        let ps: Vec<_> = deltas
            .iter()
            .enumerate()
            .map(|(i, d)| TwccArrival {
                seq: i as u16,
                arrival_us: d.map(|d| {
                    t += d;
                    t
                }),
            })
            .collect();
        let mut out = Vec::new();
        write_twcc_feedback(&mut out, 1, 2, 0, &ps, 1200).unwrap();
        out
    };
    let out = mk(&[Some(1000); 20]);
    assert_eq!(&out[20..22], &[0x20, 20]);
    let alt: Vec<_> = (0..14).map(|i| (i % 2 == 0).then_some(1000)).collect();
    let out = mk(&alt);
    assert_eq!(&out[20..22], &[0xAA, 0xAA]);
    let mut v = vec![Some(1000); 7];
    v[3] = Some(100_000);
    let out = mk(&v);
    assert_eq!(out[20] & 0xC0, 0xC0);
    assert_eq!(u16::from_be_bytes([out[2], out[3]]), 7); // 28 + 2 + 8 bytes → 40 / 4 - 1
}

#[test]
fn nack_builder_and_lost_numbers() {
    let lost = [5u16, 6, 8, 21, 22, 40, 65534, 65535, 0, 3, 3];
    let pairs: Vec<_> = nack_pairs(&lost).collect();
    assert_eq!(
        pairs,
        vec![
            NackPair {
                pid: 5,
                blp: 0b1000_0000_0000_0101
            },
            NackPair { pid: 22, blp: 0 },
            NackPair { pid: 40, blp: 0 },
            NackPair {
                pid: 65534,
                blp: 0b1_0011
            },
        ]
    );
    let mut out = Vec::new();
    write_nack(&mut out, 1, 2, nack_pairs(&lost)).unwrap();
    let RtcpPacket::Nack(n) = all(&out)[0] else {
        panic!()
    };
    assert_eq!((n.sender_ssrc, n.media_ssrc), (1, 2));
    let mut want: Vec<u16> = lost.to_vec();
    want.dedup();
    assert_eq!(n.lost().collect::<Vec<_>>(), want);
    // RFC 4585 §6.2.1 layout: PID then BLP, 12 + 4 * 4 bytes.
    assert_eq!(&out[..4], &[0x81, 205, 0, 6]);
    assert_eq!(&out[12..16], &[0, 5, 0x80, 0x05]);
    // FCI not a multiple of 4: malformed.
    let bad = hex("81cd0003 00000001 00000002 0005");
    assert!(RtcpPacket::parse(&bad).is_err());
}

#[test]
fn xr_from_pion_with_every_block_type() {
    // pion/rtcp extended_report_test.go encodedPacket: loss RLE, duplicate RLE, receipt
    // times, RRTR, DLRR (3 sub-blocks), statistics summary, VoIP metrics.
    let raw = hex("80cf003301020304010c0004123456890005000c400600068765000002060004123456890005000c41233fffffff000003030007987654323c483cd911111111222222223333333344444444555555550400000201020304050607080500000988888888123456789999999909090909123456789999999911223344123456789999999906e80009fedcba9812345678111111112222222233333333444444445555555566666666010203040700000889abcdef05060708111122223333444411223344556677889900112233445566");
    let ps = all(&raw);
    let RtcpPacket::Xr(xr) = ps[0] else { panic!() };
    assert_eq!(xr.ssrc, 0x0102_0304);
    let blocks: Vec<_> = xr.blocks().collect();
    assert_eq!(blocks.len(), 7);
    assert_eq!(
        blocks[3],
        XrBlock::Rrtr {
            ntp: 0x0102_0304_0506_0708
        }
    );
    let dlrr: Vec<_> = blocks[4].dlrr_items().collect();
    assert_eq!(dlrr.len(), 3);
    assert_eq!(
        dlrr[1],
        DlrrItem {
            ssrc: 0x0909_0909,
            last_rr: 0x1234_5678,
            delay: 0x9999_9999
        }
    );
    assert!(matches!(
        blocks[0],
        XrBlock::Other {
            block_type: 1,
            type_specific: 0x0c,
            ..
        }
    ));
    assert_eq!(rewrite(&ps), raw);
    // A block running past the packet.
    let bad = hex("80cf0002 01020304 04000003");
    assert_eq!(RtcpPacket::parse(&bad).unwrap_err(), RtcpError::Truncated);
}

#[test]
fn fir_bye_app_and_padding() {
    let mut out = Vec::new();
    write_fir(
        &mut out,
        1,
        0,
        [
            FirEntry { ssrc: 9, seq_nr: 3 },
            FirEntry {
                ssrc: 10,
                seq_nr: 255,
            },
        ],
    )
    .unwrap();
    // RFC 5104 §4.3.1.1: SSRC, seq nr, 24 reserved bits.
    assert_eq!(&out[12..20], &[0, 0, 0, 9, 3, 0, 0, 0]);
    write_bye(&mut out, [5, 6], Some(b"bye!!")).unwrap();
    write_app(&mut out, 3, 7, *b"test", b"12345").unwrap();
    let ps = all(&out);
    let RtcpPacket::Fir(f) = ps[0] else { panic!() };
    assert_eq!(f.entries().map(|e| (e.ssrc, e.seq_nr)).collect::<Vec<_>>(), vec![(9, 3), (10, 255)]);
    let RtcpPacket::Bye(b) = ps[1] else { panic!() };
    assert_eq!(b.reason, Some(&b"bye!!"[..]));
    assert_eq!(b.ssrcs().collect::<Vec<_>>(), vec![5, 6]);
    // APP data of 5 bytes: RTCP padding (P bit, 3 bytes) makes it whole words.
    let RtcpPacket::App(a) = ps[2] else { panic!() };
    assert_eq!((a.subtype, a.ssrc, &a.name, a.data), (3, 7, b"test", &b"12345"[..]));
    let app_at = out.len() - 20;
    assert_eq!(out[app_at] & 0x20, 0x20);
    assert_eq!(*out.last().unwrap(), 3);
    // Bad padding counts.
    let mut bad = out[app_at..].to_vec();
    *bad.last_mut().unwrap() = 0;
    assert_eq!(RtcpPacket::parse(&bad).unwrap_err(), RtcpError::BadPadding);
    *bad.last_mut().unwrap() = 17;
    assert_eq!(RtcpPacket::parse(&bad).unwrap_err(), RtcpError::BadPadding);
    // Limits on writing.
    assert_eq!(write_bye(&mut out, 0..32, None), Err(RtcpError::TooMany));
    assert_eq!(
        write_bye(&mut out, [1], Some(&[b'a'; 256])),
        Err(RtcpError::TooLong)
    );
    let n = out.len();
    assert_eq!(
        write_receiver_report(&mut out, 1, std::iter::repeat_n(ReportBlock::default(), 32), &[]),
        Err(RtcpError::TooMany)
    );
    assert_eq!(out.len(), n);
    assert_eq!(RtcpPacket::parse(&hex("40c90000")).unwrap_err(), RtcpError::BadVersion(1));
}

#[test]
fn ntp_helpers_follow_rfc_3550() {
    // RFC 3550 §6.4.1 figure: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000
    // → RTT 0x0006:2000 (6.125 s).
    let rtt = round_trip_time(0xb710_8000, 0xb705_2000, 0x0005_4000).unwrap();
    assert_eq!(rtt, 0x0006_2000);
    assert_eq!(compact_to_duration(rtt), std::time::Duration::from_millis(6125));
    assert_eq!(round_trip_time(5, 0, 0), None);
    assert_eq!(round_trip_time(0x0001_0000, 0x0001_0000, 1), None);
    assert_eq!(duration_to_compact(std::time::Duration::from_millis(5250)), 0x0005_4000);
    // The Unix epoch is NTP second 2 208 988 800 (RFC 868); half a second is 0x8000_0000.
    let e = ntp_from_unix(std::time::Duration::from_millis(500));
    assert_eq!(e, (NTP_UNIX_OFFSET_SECS << 32) | 0x8000_0000);
    assert_eq!(compact_ntp(e), ((NTP_UNIX_OFFSET_SECS as u32 & 0xFFFF) << 16) | 0x8000);
    assert_eq!(ntp_to_unix(e), Some(std::time::Duration::from_millis(500)));
    assert_eq!(ntp_to_unix(5), None);
}

/// A random packet of every kind, written with the public writers.
fn random_packet(rng: &mut Rng, out: &mut Vec<u8>) {
    fn blocks(rng: &mut Rng) -> Vec<ReportBlock> {
        (0..rng.below(32) as usize)
            .map(|_| ReportBlock {
                ssrc: rng.u32(),
                fraction_lost: rng.u64() as u8,
                cumulative_lost: (rng.below(1 << 24) as i32) - (1 << 23),
                highest_seq: rng.u32(),
                jitter: rng.u32(),
                last_sr: rng.u32(),
                delay_since_last_sr: rng.u32(),
            })
            .collect::<Vec<_>>()
    }
    match rng.below(12) {
        0 => {
            let b = blocks(rng);
            let info = SenderInfo {
                ssrc: rng.u32(),
                ntp_time: rng.u64(),
                rtp_time: rng.u32(),
                packet_count: rng.u32(),
                octet_count: rng.u32(),
            };
            let ext = rng.some_bytes(9, 1);
            write_sender_report(out, &info, b, &ext).unwrap();
        }
        1 => {
            let b = blocks(rng);
            let ssrc = rng.u32();
            write_receiver_report(out, ssrc, b, &[]).unwrap();
        }
        2 => {
            let texts: Vec<Vec<u8>> = (0..rng.below(5))
                .map(|_| {
                    let n = rng.below(256) as usize;
                    rng.bytes(n)
                })
                .collect();
            let kinds: Vec<u8> = texts.iter().map(|_| 1 + rng.below(255) as u8).collect();
            let chunks = rng.below(4);
            let mut w = SdesWriter::new(out);
            for c in 0..chunks {
                let items = texts.iter().zip(&kinds).map(|(t, &k)| SdesItem { kind: k, value: t });
                w.chunk(c as u32, items).unwrap();
            }
            w.finish().unwrap();
        }
        3 => {
            let n = rng.below(32) as u32;
            let reason = rng.some_bytes(40, 1);
            let with = rng.below(2) == 0;
            write_bye(out, 0..n, with.then_some(&reason[..])).unwrap();
        }
        4 => {
            let d = rng.some_bytes(30, 1);
            write_app(out, rng.below(32) as u8, rng.u32(), *b"abcd", &d).unwrap();
        }
        5 => {
            let mut lost: Vec<u16> = (0..rng.below(60)).map(|_| rng.u64() as u16).collect();
            lost.sort_unstable();
            write_nack(out, rng.u32(), rng.u32(), nack_pairs(&lost)).unwrap();
        }
        6 => write_pli(out, rng.u32(), rng.u32()),
        7 => {
            let e: Vec<_> = (0..rng.below(5))
                .map(|_| FirEntry {
                    ssrc: rng.u32(),
                    seq_nr: rng.u64() as u8,
                })
                .collect();
            write_fir(out, rng.u32(), 0, e).unwrap();
        }
        8 => {
            let s: Vec<u32> = (0..rng.below(5)).map(|_| rng.u32()).collect();
            let bps = rng.u64() >> rng.below(64);
            write_remb(out, rng.u32(), bps, s).unwrap();
        }
        9 => {
            let n = 1 + rng.below(100) as usize;
            let mut seq = rng.u64() as u16;
            let mut t = rng.below(1 << 30) as i64;
            let ps: Vec<_> = (0..n)
                .map(|_| {
                    seq = seq.wrapping_add(1 + rng.below(3) as u16);
                    t += rng.below(100_000) as i64 - 20_000;
                    TwccArrival {
                        seq,
                        arrival_us: (rng.below(4) != 0).then_some(t),
                    }
                })
                .collect();
            write_twcc_feedback(out, rng.u32(), rng.u32(), rng.u64() as u8, &ps, 1200).unwrap();
        }
        10 => {
            let mut w = XrWriter::new(out, rng.u32());
            for _ in 0..rng.below(4) {
                match rng.below(3) {
                    0 => w.rrtr(rng.u64()),
                    1 => {
                        let items: Vec<_> = (0..rng.below(4))
                            .map(|_| DlrrItem {
                                ssrc: rng.u32(),
                                last_rr: rng.u32(),
                                delay: rng.u32(),
                            })
                            .collect();
                        w.dlrr(items).unwrap();
                    }
                    _ => {
                        let d = rng.some_bytes(4, 4);
                        w.other(6 + rng.below(10) as u8, rng.u64() as u8, &d).unwrap();
                    }
                }
            }
            w.finish().unwrap();
        }
        _ => {
            // An unknown packet type (RTCP range 192–223 minus the ones we decode).
            let pt = [192u8, 195, 208, 210][rng.below(4) as usize];
            let start = out.len();
            out.extend_from_slice(&[0x80 | rng.below(32) as u8, pt, 0, 0]);
            let body = rng.some_bytes(5, 4);
            out.extend_from_slice(&body);
            let words = ((out.len() - start) / 4 - 1) as u16;
            out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
        }
    }
}

#[test]
fn random_compounds_round_trip_and_truncate_safely() {
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..1500 {
        let mut raw = Vec::new();
        for _ in 0..1 + rng.below(4) {
            random_packet(&mut rng, &mut raw);
        }
        let ps = all(&raw);
        // parse(write(x)) == x for every packet, and write is stable.
        let again = rewrite(&ps);
        let ps2 = all(&again);
        assert_eq!(ps, ps2);
        assert_eq!(rewrite(&ps2), again);
        // Every truncation: errors or fewer packets, never a panic.
        for cut in 0..raw.len() {
            let r: Vec<_> = parse_compound(&raw[..cut]).collect();
            let ok = r.iter().filter(|x| x.is_ok()).count();
            assert!(ok < ps.len() || cut == raw.len());
            for p in r.into_iter().flatten() {
                touch(&p);
            }
        }
        // Random corruption: never a panic.
        let mut bad = raw.clone();
        for _ in 0..4 {
            let i = rng.below(bad.len() as u64) as usize;
            bad[i] = rng.u64() as u8;
        }
        for p in parse_compound(&bad).flatten() {
            touch(&p);
            let mut o = Vec::new();
            if p.write_to(&mut o).is_ok() {
                assert_eq!(all(&o), vec![p]);
            }
        }
    }
}

/// Reads every lazily decoded part of a packet.
fn touch(p: &RtcpPacket<'_>) {
    match p {
        RtcpPacket::SenderReport(s) => assert_eq!(s.reports.iter().count(), s.reports.len()),
        RtcpPacket::ReceiverReport(r) => assert_eq!(r.reports.iter().count(), r.reports.len()),
        RtcpPacket::Sdes(s) => {
            assert_eq!(s.chunks().count(), s.len());
            for c in s.chunks() {
                let _ = c.items().count();
            }
        }
        RtcpPacket::Bye(b) => {
            let _ = b.ssrcs().count();
        }
        RtcpPacket::Nack(n) => {
            let _ = n.lost().count();
        }
        RtcpPacket::Fir(f) => {
            let _ = f.entries().count();
        }
        RtcpPacket::Remb(r) => {
            let _ = (r.bitrate(), r.ssrcs().count());
        }
        RtcpPacket::TransportCc(t) => {
            assert_eq!(t.packets().count(), usize::from(t.status_count));
            let _ = t.received().count();
        }
        RtcpPacket::Xr(x) => {
            for b in x.blocks() {
                let _ = b.dlrr_items().count();
            }
        }
        RtcpPacket::Pli(_) | RtcpPacket::App(_) | RtcpPacket::Unknown(_) => {}
    }
}
