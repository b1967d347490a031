//! What `getStats()` costs (issue 14): `PeerConnection::get_stats` and
//! `RtpSender::get_stats` on a connected pair over loopback UDP with one data channel and
//! two media tracks (audio and video, both sending and receiving, RTCP reports exchanged),
//! and the report's JSON. The connection's lock is held for the core's part of the call
//! only (reading the counters into the report), so this is also the longest a `get_stats`
//! can delay the data path.
//!
//! `cargo bench -p rtcpeer-bench --bench stats`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rtcpeer::{
    Configuration, IceGatheringState, MediaKind, MediaStreamTrack, OutgoingRtp, PeerConnection,
    PeerConnectionEvent, PeerConnectionState, RtpTransceiverDirection,
};

async fn gathered(pc: &PeerConnection) {
    let mut ev = pc.events();
    while pc.ice_gathering_state() != IceGatheringState::Complete {
        ev.recv().await.expect("events");
    }
}

async fn connected(pc: &PeerConnection) {
    let mut ev = pc.events();
    while pc.connection_state() != PeerConnectionState::Connected {
        match ev.recv().await {
            Some(PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Failed))
            | None => {
                panic!("connection failed")
            }
            Some(_) => {}
        }
    }
}

/// A connected pair with a data channel and an audio and a video track each way, after
/// two seconds of media (so every stats type is in the report).
async fn pair() -> (PeerConnection, PeerConnection) {
    let (a, b) = (
        PeerConnection::new(Configuration::default()).unwrap(),
        PeerConnection::new(Configuration::default()).unwrap(),
    );
    a.add_track(&MediaStreamTrack::new(MediaKind::Audio, "mic"), &[])
        .unwrap();
    a.add_track(&MediaStreamTrack::new(MediaKind::Video, "camera"), &[])
        .unwrap();
    let dc = a.create_data_channel("bench", None).unwrap();
    let offer = a.create_offer(None).await.unwrap();
    a.set_local_description(Some(offer)).await.unwrap();
    gathered(&a).await;
    b.set_remote_description(a.local_description().unwrap())
        .await
        .unwrap();
    for t in b.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    b.set_local_description(None).await.unwrap();
    gathered(&b).await;
    a.set_remote_description(b.local_description().unwrap())
        .await
        .unwrap();
    connected(&a).await;
    connected(&b).await;
    for i in 0..100u32 {
        for pc in [&a, &b] {
            for s in pc.get_senders() {
                let _ = s.send_rtp(&OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 960,
                    marker: true,
                    payload: &[0u8; 200],
                });
            }
        }
        let _ = dc.send_text("stats bench");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (a, b)
}

fn get_stats(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (a, _b) = rt.block_on(pair());
    let report = rt.block_on(a.get_stats(None)).unwrap();
    let types: std::collections::BTreeSet<&str> = report.iter().map(|s| s.type_name()).collect();
    eprintln!("{} entries, types {types:?}", report.len());
    let video = a
        .get_senders()
        .into_iter()
        .find(|s| s.track().is_some_and(|t| t.kind() == MediaKind::Video))
        .unwrap();
    let mut g = c.benchmark_group("stats");
    g.bench_function(
        "PeerConnection::get_stats (1 data channel, 2 tracks)",
        |b| b.iter(|| black_box(rt.block_on(a.get_stats(None)).unwrap())),
    );
    g.bench_function("RtpSender::get_stats (video)", |b| {
        b.iter(|| black_box(rt.block_on(video.get_stats())))
    });
    g.bench_function("report to JSON", |b| b.iter(|| black_box(report.to_json())));
    g.finish();
}

criterion_group!(benches, get_stats);
criterion_main!(benches);
