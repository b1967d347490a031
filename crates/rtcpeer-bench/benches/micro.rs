//! Micro-benchmarks of rtcpeer's hot paths (issue 5): STUN parse/write, the SCTP receive
//! path, a DTLS record, SDP parsing of real Chromium offers, and SRTP protect/unprotect of a
//! 1000-byte RTP packet (issue 10).
//!
//! `cargo bench -p rtcpeer-bench` (Criterion: warm-up, many samples, outlier detection and
//! comparison with the previous run, which a home-made loop would not give).
//!
//! SCTP: the chunk codec (`sctp::chunk`) is private to the association, so the SCTP numbers
//! are through its public entry points: CRC32c of a full packet, and one 1 KiB message from
//! `send` through packetisation, checksum, parse and chunk handling at the receiver to
//! delivery (and the SACK back).

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rtcpeer_proto::cert::{Certificate, CertificateParams};
use rtcpeer_proto::dtls::{
    DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole, DtlsSettings, RemoteFingerprints,
};
use rtcpeer_proto::sctp::{Association, Config, Event, SendOptions, crc32c};
use rtcpeer_proto::sdp::Sdp;
use rtcpeer_proto::srtp::{SrtpContext, SrtpMasterKey, SrtpProfile};
use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method, TransactionId};

const KEY: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

/// An ICE connectivity check as an agent sends it (RFC 8445 §7.1.1).
fn binding_request(buf: &mut Vec<u8>) {
    let mut w = MessageWriter::new(buf, Class::Request, Method::BINDING, TransactionId([7; 12]));
    w.username("evtj:h6vY").unwrap();
    w.priority(1_853_824_767).unwrap();
    w.ice_controlling(0x1234_5678_9abc_def0).unwrap();
    w.use_candidate().unwrap();
    w.message_integrity(KEY).unwrap();
    w.fingerprint().unwrap();
}

fn stun(c: &mut Criterion) {
    let mut buf = Vec::with_capacity(256);
    binding_request(&mut buf);
    let msg = buf.clone();
    let mut g = c.benchmark_group("stun");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse binding request + read attributes", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&msg)).unwrap();
            black_box((
                m.username().unwrap(),
                m.priority().unwrap(),
                m.ice_controlling().unwrap(),
                m.use_candidate().unwrap(),
            ))
        })
    });
    g.bench_function("parse + verify integrity and fingerprint", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&msg)).unwrap();
            assert!(m.verify_fingerprint() && m.verify_message_integrity(KEY));
        })
    });
    g.bench_function("write binding request (integrity, fingerprint)", |b| {
        b.iter(|| {
            binding_request(&mut buf);
            black_box(buf.len())
        })
    });
    g.finish();
}

fn sctp_pair() -> (Association, Association, Instant) {
    let now = Instant::now();
    let mut a = Association::new(Config::default(), now, 1);
    let mut b = Association::new(Config::default(), now, 2);
    a.connect(now);
    let mut buf = Vec::new();
    for _ in 0..8 {
        while a.poll_transmit(now, &mut buf) {
            b.handle_packet(&buf, now);
        }
        while b.poll_transmit(now, &mut buf) {
            a.handle_packet(&buf, now);
        }
    }
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b, now)
}

fn sctp(c: &mut Criterion) {
    let mut g = c.benchmark_group("sctp");
    let packet = vec![0xa5u8; 1191];
    g.throughput(Throughput::Bytes(packet.len() as u64));
    g.bench_function("crc32c of a 1191-byte packet", |b| {
        b.iter(|| crc32c(black_box(&packet)))
    });
    let (mut a, mut s, now) = sctp_pair();
    let mut buf = Vec::with_capacity(2048);
    let msg = vec![0x5au8; 1024];
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("1 KiB message: send, packet, parse, deliver, SACK", |b| {
        b.iter(|| {
            a.send(0, 53, msg.clone(), SendOptions::default(), now)
                .unwrap();
            while a.poll_transmit(now, &mut buf) {
                s.handle_packet(&buf, now);
            }
            let mut got = 0;
            while let Some(e) = s.poll_event() {
                if let Event::Message(m) = e {
                    got += m.data.len();
                }
            }
            // The receiver acknowledges every second packet (RFC 9260 §6.2); take what it has
            // so the sender's window never closes.
            while s.poll_transmit(now, &mut buf) {
                a.handle_packet(&buf, now);
            }
            while a.poll_event().is_some() {}
            assert_eq!(got, 1024);
        })
    });
    g.finish();
}

fn dtls_pair() -> (DtlsConnection, DtlsConnection) {
    let now = Instant::now();
    let config = DtlsConfig::new(&DtlsSettings::default()).unwrap();
    let ca = Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap();
    let cb = Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap();
    let fa = RemoteFingerprints::new(&ca.get_fingerprints()).unwrap();
    let fb = RemoteFingerprints::new(&cb.get_fingerprints()).unwrap();
    let mut a = DtlsConnection::new(ca, &config).unwrap();
    let mut b = DtlsConnection::new(cb, &config).unwrap();
    a.start(now, DtlsRole::Client, fb).unwrap();
    b.start(now, DtlsRole::Server, fa).unwrap();
    let (mut ca_done, mut cb_done) = (false, false);
    for _ in 0..64 {
        while let Some(d) = a.poll_transmit() {
            b.handle_record(now, &d);
        }
        while let Some(d) = b.poll_transmit() {
            a.handle_record(now, &d);
        }
        while let Some(e) = a.poll_event() {
            ca_done |= matches!(e, DtlsEvent::Connected(_));
        }
        while let Some(e) = b.poll_event() {
            cb_done |= matches!(e, DtlsEvent::Connected(_));
        }
        if ca_done && cb_done {
            return (a, b);
        }
    }
    panic!("DTLS handshake in memory did not complete");
}

fn dtls(c: &mut Criterion) {
    let (mut a, mut b) = dtls_pair();
    let now = Instant::now();
    let mut g = c.benchmark_group("dtls");
    for size in [1191usize, 16 * 1024] {
        let data = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(
            format!("record of {size} bytes: encrypt + decrypt"),
            |bench| {
                bench.iter(|| {
                    a.send_application_data(&data).unwrap();
                    let mut got = 0;
                    while let Some(d) = a.poll_transmit() {
                        b.handle_record(now, &d);
                    }
                    while let Some(e) = b.poll_event() {
                        if let DtlsEvent::ApplicationData(d) = e {
                            got += d.len();
                        }
                    }
                    assert_eq!(got, size);
                })
            },
        );
    }
    g.finish();
}

fn sdp(c: &mut Criterion) {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rtcpeer/tests/fixtures/sdp/"
    );
    let mut g = c.benchmark_group("sdp");
    for name in [
        "chromium-datachannel-offer.sdp",
        "chromium-audio-video-data-offer.sdp",
    ] {
        let text = std::fs::read_to_string(format!("{dir}{name}")).expect("SDP fixture");
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("parse {name}"), |b| {
            b.iter(|| Sdp::parse(black_box(&text)).unwrap())
        });
        let parsed = Sdp::parse(&text).unwrap();
        g.bench_function(format!("write {name}"), |b| {
            b.iter(|| black_box(&parsed).to_string())
        });
    }
    g.finish();
}

/// A 1000-byte RTP packet (12-byte header, 988 bytes of payload) with sequence number `seq`.
fn rtp_packet(buf: &mut Vec<u8>, seq: u16) {
    buf.clear();
    buf.extend_from_slice(&[0x80, 96]);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    buf.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    buf.resize(1000, 0xa5);
}

fn srtp(c: &mut Criterion) {
    let mut g = c.benchmark_group("srtp");
    g.throughput(Throughput::Elements(1));
    for profile in [SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80] {
        let key = SrtpMasterKey {
            key: vec![7; profile.master_key_len()],
            salt: vec![9; profile.master_salt_len()],
        };
        let mut tx = SrtpContext::new(profile, &key).unwrap();
        let mut rx = SrtpContext::new(profile, &key).unwrap();
        // Room for the tag, so protecting never reallocates.
        let mut buf = Vec::with_capacity(1100);
        let mut seq = 0u16;
        g.bench_function(format!("protect 1000-byte RTP ({profile})"), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                rtp_packet(&mut buf, seq);
                tx.protect_rtp(black_box(&mut buf)).unwrap();
                black_box(buf.len())
            })
        });
        // A sender of its own: the one above wrapped the sequence number many times (its
        // rollover counter moved on), and a receiver that never saw those packets would
        // guess index 0 + seq for the next one and fail authentication (RFC 3711 §3.3.1).
        let mut tx = SrtpContext::new(profile, &key).unwrap();
        let mut seq = 0u16;
        g.bench_function(format!("unprotect 1000-byte SRTP ({profile})"), |b| {
            b.iter_batched_ref(
                || {
                    seq = seq.wrapping_add(1);
                    let mut p = Vec::with_capacity(1100);
                    rtp_packet(&mut p, seq);
                    tx.protect_rtp(&mut p).unwrap();
                    p
                },
                |p| assert_eq!(rx.unprotect_rtp(black_box(p)).unwrap(), 1000),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, stun, sctp, dtls, sdp, srtp);
criterion_main!(benches);
