//! `getStats()` between two `PeerConnection`s over real UDP on 127.0.0.1, named after the
//! WPT checklist items of section 18 (RTCPeerConnection-getStats.https.html,
//! RTCStats-helper.js, RTCPeerConnection-getStats-timestamp.https.html,
//! protocol/crypto-suite.https.html) and items 121 and 133.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use common::net::{
    negotiate, next_data_channel, next_not_low, pc, wait_connected, wait_gathered, within,
};
use rtcpeer::{
    AudioPlayout, DataChannel, DataChannelEvent, ErrorKind, MediaKind, MediaStreamTrack,
    OutgoingRtp, PeerConnection, RtpSender, Stats, StatsReport,
};
use serde_json::Value;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn json(r: &StatsReport, id: &str) -> Value {
    r.get(id)
        .unwrap_or_else(|| panic!("{id} not in the report"))
        .to_json()
}

fn types(r: &StatsReport) -> BTreeSet<&'static str> {
    r.iter().map(Stats::type_name).collect()
}

/// A connected pair: pc1 sends an audio and a video track and has a data channel "chat";
/// pc2 answers sending media back. Returns the connections, pc1's senders and both channels.
struct Pair {
    pc1: PeerConnection,
    pc2: PeerConnection,
    audio: RtpSender,
    video: RtpSender,
    tracks: (MediaStreamTrack, MediaStreamTrack),
    dc1: DataChannel,
    dc2: DataChannel,
}

async fn pair() -> Pair {
    let (pc1, pc2) = (pc(), pc());
    let tracks = (
        MediaStreamTrack::new(MediaKind::Audio, "mic"),
        MediaStreamTrack::new(MediaKind::Video, "camera"),
    );
    let audio = pc1.add_track(&tracks.0, &[]).unwrap();
    let video = pc1.add_track(&tracks.1, &[]).unwrap();
    let dc1 = pc1.create_data_channel("chat", None).unwrap();
    let mut ev2 = pc2.events();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(&pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    for t in pc2.get_transceivers() {
        t.set_direction(rtcpeer::RtpTransceiverDirection::SendRecv)
            .unwrap();
    }
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    wait_gathered(&pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;
    let dc2 = next_data_channel(&mut ev2).await;
    Pair {
        pc1,
        pc2,
        audio,
        video,
        tracks,
        dc1,
        dc2,
    }
}

/// Sends `n` packets on every sender of both connections.
fn send_media(p: &Pair, n: u32) {
    for pc in [&p.pc1, &p.pc2] {
        for s in pc.get_senders() {
            for i in 0..n {
                let rtp = OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 960,
                    marker: true,
                    payload: b"media payload",
                };
                let _ = s.send_rtp(&rtp);
            }
        }
    }
}

/// Polls pc1's report (sending media meanwhile) until it has every type of `want`.
async fn report_with(p: &Pair, want: &[&str]) -> StatsReport {
    within("every stats type", async {
        loop {
            send_media(p, 5);
            let r = p.pc1.get_stats(None).await.unwrap();
            if want.iter().all(|t| types(&r).contains(t)) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

const ALL_TYPES: &[&str] = &[
    "codec",
    "inbound-rtp",
    "outbound-rtp",
    "remote-inbound-rtp",
    "remote-outbound-rtp",
    "media-source",
    "peer-connection",
    "data-channel",
    "transport",
    "candidate-pair",
    "local-candidate",
    "remote-candidate",
    "certificate",
];

#[tokio::test]
async fn wpt_217_keys_equal_ids_and_every_entry_has_timestamp_type_and_id() {
    let p = pair().await;
    let r = report_with(&p, &["outbound-rtp"]).await;
    let map = serde_json::to_value(&r).unwrap();
    for (key, entry) in map.as_object().unwrap() {
        assert_eq!(entry["id"].as_str(), Some(key.as_str()));
        assert!(entry["timestamp"].is_number(), "{entry}");
        assert!(entry["type"].is_string(), "{entry}");
    }
}

#[tokio::test]
async fn wpt_219_a_connected_audio_sender_reports_peer_connection_and_outbound_rtp() {
    let (pc1, pc2) = (pc(), pc());
    let track = MediaStreamTrack::new(MediaKind::Audio, "mic");
    let sender = pc1.add_track(&track, &[]).unwrap();
    negotiate(&pc1, &pc2).await;
    wait_connected(&pc1).await;
    let r = pc1.get_stats(None).await.unwrap();
    let t = types(&r);
    assert!(
        t.contains("peer-connection") && t.contains("outbound-rtp"),
        "{t:?}"
    );
    let out = r.of_type("outbound-rtp").next().unwrap().to_json();
    assert_eq!(out["kind"], "audio");
    // The sender's own report has it too.
    assert_eq!(sender.get_stats().await.of_type("outbound-rtp").count(), 1);
}

#[tokio::test]
async fn wpt_221_audio_video_and_a_data_channel_report_every_type() {
    let p = pair().await;
    let r = report_with(&p, ALL_TYPES).await;
    let dc = r.of_type("data-channel").next().unwrap().to_json();
    assert_eq!(
        dc["dataChannelIdentifier"].as_u64(),
        p.dc1.id().map(u64::from)
    );
    assert_eq!(dc["label"], "chat");
    // The media sources name pc1's tracks.
    let sources: BTreeSet<String> = r
        .of_type("media-source")
        .map(|s| s.to_json()["trackIdentifier"].as_str().unwrap().to_string())
        .collect();
    let ids: BTreeSet<String> = [p.tracks.0.id(), p.tracks.1.id()]
        .map(str::to_string)
        .into();
    assert_eq!(sources, ids);
}

#[tokio::test]
async fn wpt_222_references_resolve_to_objects_of_the_right_type() {
    let p = pair().await;
    let r = report_with(&p, ALL_TYPES).await;
    let expect = |member: &str, type_name: &str| {
        let mut seen = 0;
        for s in &r {
            if let Some(id) = s.to_json()[member].as_str() {
                assert_eq!(
                    r.get(id).map(Stats::type_name),
                    Some(type_name),
                    "{member} of {}",
                    s.id()
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "no {member}");
    };
    expect("transportId", "transport");
    expect("codecId", "codec");
    expect("localCandidateId", "local-candidate");
    expect("remoteCandidateId", "remote-candidate");
    expect("selectedCandidatePairId", "candidate-pair");
    expect("localCertificateId", "certificate");
    expect("mediaSourceId", "media-source");
    for s in r.of_type("inbound-rtp") {
        if let Some(id) = s.to_json()["remoteId"].as_str() {
            assert_eq!(r.get(id).map(Stats::type_name), Some("remote-outbound-rtp"));
        }
    }
    for s in r.of_type("remote-inbound-rtp") {
        let id = s.to_json()["localId"].as_str().unwrap().to_string();
        assert_eq!(r.get(&id).map(Stats::type_name), Some("outbound-rtp"));
    }
}

#[tokio::test]
async fn wpt_225_timestamps_follow_the_wall_clock() {
    let p = pair().await;
    let before = now_ms();
    let r1 = p.pc1.get_stats(None).await.unwrap();
    let after = now_ms();
    let t1 = json(&r1, "P")["timestamp"].as_f64().unwrap();
    assert!(
        (before..=after).contains(&t1),
        "{before} <= {t1} <= {after}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r2 = p.pc1.get_stats(None).await.unwrap();
    let end = now_ms();
    let t2 = json(&r2, "P")["timestamp"].as_f64().unwrap();
    assert!(t2 - t1 >= 500.0 && t2 - t1 <= end - before, "{t1} -> {t2}");
    // The same holds for remote-inbound-rtp once it appears.
    let r = report_with(&p, &["remote-inbound-rtp"]).await;
    let ri = r.of_type("remote-inbound-rtp").next().unwrap();
    assert!(ri.timestamp() >= t2 && ri.timestamp() <= now_ms());
}

#[tokio::test]
async fn wpt_226_transport_reports_the_tls_version_and_srtp_cipher() {
    let p = pair().await;
    for pc in [&p.pc1, &p.pc2] {
        let r = pc.get_stats(None).await.unwrap();
        let t = r.of_type("transport").next().unwrap().to_json();
        assert_eq!(t["tlsVersion"], "FEFD", "{t}");
        let srtp = t["srtpCipher"].as_str().unwrap();
        assert!(
            [
                "SRTP_AES128_CM_HMAC_SHA1_80",
                "SRTP_AEAD_AES_128_GCM",
                "SRTP_AEAD_AES_256_GCM"
            ]
            .contains(&srtp),
            "{srtp}"
        );
        assert_eq!(t["dtlsState"], "connected");
    }
    // Data only: no SRTP profile is needed, the DTLS version is still reported.
    let (a, b) = (pc(), pc());
    a.create_data_channel("x", None).unwrap();
    negotiate(&a, &b).await;
    wait_connected(&a).await;
    let r = a.get_stats(None).await.unwrap();
    assert_eq!(
        r.of_type("transport").next().unwrap().to_json()["tlsVersion"],
        "FEFD"
    );
}

#[tokio::test]
async fn wpt_133_dtls_role_is_unknown_until_an_answer_fixes_it() {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    let r = pc1.get_stats(None).await.unwrap();
    let t = r.of_type("transport").next().unwrap().to_json();
    assert_eq!(t["dtlsRole"], "unknown", "offerer after SLD(offer): {t}");
    wait_gathered(&pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    // The remote offer said actpass: the answerer is the DTLS client (RFC 8842 §5).
    let r = pc2.get_stats(None).await.unwrap();
    assert_eq!(
        r.of_type("transport").next().unwrap().to_json()["dtlsRole"],
        "client"
    );
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    let r = pc1.get_stats(None).await.unwrap();
    assert_eq!(
        r.of_type("transport").next().unwrap().to_json()["dtlsRole"],
        "server"
    );
}

#[tokio::test]
async fn wpt_121_get_stats_does_not_wait_for_the_operations_chain() {
    let (pc1, _pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    // An operation enqueued and not yet run (its future is not polled): getStats still
    // settles, at once.
    let pending = pc1.create_offer(None);
    let r = within("getStats", pc1.get_stats(None)).await.unwrap();
    assert!(r.contains("P"));
    drop(pending);
}

#[tokio::test]
async fn sender_receiver_and_track_selectors_keep_their_streams_and_references() {
    let p = pair().await;
    report_with(&p, &["inbound-rtp", "remote-inbound-rtp"]).await;
    let sr = p.video.get_stats().await;
    let out: Vec<Value> = sr.of_type("outbound-rtp").map(Stats::to_json).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["kind"], "video");
    assert!(!types(&sr).contains("inbound-rtp") && !types(&sr).contains("data-channel"));
    for s in &sr {
        for id in s.references() {
            assert!(sr.contains(id), "{id} of {} not selected", s.id());
        }
    }
    // The track selects the same streams as its sender.
    let by_track = p.pc1.get_stats(Some(&p.tracks.1)).await.unwrap();
    assert_eq!(
        by_track.ids().collect::<Vec<_>>(),
        sr.ids().collect::<Vec<_>>()
    );
    let receiver = p
        .pc1
        .get_receivers()
        .into_iter()
        .find(|r| r.track().kind() == MediaKind::Audio)
        .unwrap();
    let rr = receiver.get_stats().await;
    let inb: Vec<Value> = rr.of_type("inbound-rtp").map(Stats::to_json).collect();
    assert_eq!(inb.len(), 1);
    assert_eq!(inb[0]["kind"], "audio");
    assert_eq!(
        inb[0]["trackIdentifier"].as_str(),
        Some(receiver.track().id())
    );
    assert!(!types(&rr).contains("outbound-rtp"));
    let by_track = p.pc1.get_stats(Some(&receiver.track())).await.unwrap();
    assert_eq!(by_track.of_type("inbound-rtp").count(), 1);
    // A track of no sender or receiver: InvalidAccessError (webrtc-pc §8.2).
    let stranger = MediaStreamTrack::new(MediaKind::Audio, "other");
    let err = p.pc1.get_stats(Some(&stranger)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAccess);
    let _ = &p.audio;
}

#[tokio::test]
async fn data_channel_and_pair_counters_match_the_traffic() {
    let p = pair().await;
    let (mut e1, mut e2) = (p.dc1.events(), p.dc2.events());
    while p.dc1.ready_state().to_string() != "open" {
        next_not_low(&mut e1).await;
    }
    for i in 0..10 {
        p.dc1.send_text(&format!("ping {i}")).unwrap();
    }
    let mut got = 0;
    while got < 10 {
        match next_not_low(&mut e2).await {
            DataChannelEvent::Message(_) => got += 1,
            DataChannelEvent::Open => {}
            other => panic!("{other:?}"),
        }
    }
    p.dc2.send(&[0u8; 1000]).unwrap();
    loop {
        match next_not_low(&mut e1).await {
            DataChannelEvent::Message(_) => break,
            DataChannelEvent::Open => {}
            other => panic!("{other:?}"),
        }
    }
    let (r1, r2) = (
        p.pc1.get_stats(None).await.unwrap(),
        p.pc2.get_stats(None).await.unwrap(),
    );
    let (d1, d2) = (
        r1.of_type("data-channel").next().unwrap().to_json(),
        r2.of_type("data-channel").next().unwrap().to_json(),
    );
    assert_eq!(
        (d1["messagesSent"].as_u64(), d1["bytesSent"].as_u64()),
        (Some(10), Some(60))
    );
    assert_eq!(
        (
            d2["messagesReceived"].as_u64(),
            d2["bytesReceived"].as_u64()
        ),
        (Some(10), Some(60))
    );
    assert_eq!(
        (
            d1["messagesReceived"].as_u64(),
            d1["bytesReceived"].as_u64()
        ),
        (Some(1), Some(1000))
    );
    assert_eq!(d1["state"], "open");
    // Everything went over the selected pair; its RTT comes from STUN.
    let t = r1.of_type("transport").next().unwrap().to_json();
    let pair = json(&r1, t["selectedCandidatePairId"].as_str().unwrap());
    assert_eq!(pair["state"], "succeeded");
    assert_eq!(pair["nominated"], true);
    assert!(pair["bytesSent"].as_u64().unwrap() > 1000);
    assert!(pair["currentRoundTripTime"].as_f64().unwrap() < 1.0);
    assert!(pair["responsesReceived"].as_u64().unwrap() >= 1);
    let local = json(&r1, pair["localCandidateId"].as_str().unwrap());
    assert_eq!(local["type"], "local-candidate");
    assert!(local["address"].is_string() && local["port"].is_u64());
}

/// "media-playout" (webrtc-stats §7.7) appears once the application reports what its audio
/// device played from a receiver (`RtpReceiver::report_audio_playout`), with the totals of
/// those reports, and the receiver's inbound-rtp names it as `playoutId`; the receiver's
/// selector keeps it. Video receivers and zero sample rates are refused.
#[tokio::test]
async fn media_playout_follows_the_applications_audio_playout_reports() {
    let p = pair().await;
    let before = report_with(&p, &["inbound-rtp"]).await;
    assert!(!types(&before).contains("media-playout"));
    let receiver_of = |kind| {
        p.pc1
            .get_receivers()
            .into_iter()
            .find(|r| r.track().kind() == kind)
            .unwrap()
    };
    let audio = receiver_of(MediaKind::Audio);
    let ten_ms = |synthesized| AudioPlayout {
        samples: 480,
        sample_rate: 48_000,
        synthesized,
        delay: Duration::from_millis(40),
    };
    // 3 real chunks, 2 synthesized (one event), 1 real, 1 synthesized (a second event).
    for synthesized in [false, false, false, true, true, false, true] {
        audio.report_audio_playout(&ten_ms(synthesized)).unwrap();
    }
    let r = audio.get_stats().await;
    let playout: Vec<Value> = r.of_type("media-playout").map(Stats::to_json).collect();
    assert_eq!(playout.len(), 1, "{r:#?}");
    let m = &playout[0];
    assert_eq!(m["kind"], "audio");
    assert_eq!(m["totalSamplesCount"], 7 * 480);
    assert!((m["totalSamplesDuration"].as_f64().unwrap() - 0.07).abs() < 1e-9);
    assert!((m["synthesizedSamplesDuration"].as_f64().unwrap() - 0.03).abs() < 1e-9);
    assert_eq!(m["synthesizedSamplesEvents"], 2);
    // The mean playout delay is totalPlayoutDelay / totalSamplesCount.
    let mean = m["totalPlayoutDelay"].as_f64().unwrap() / (7.0 * 480.0);
    assert!((mean - 0.04).abs() < 1e-9, "{mean}");
    let inbound = r.of_type("inbound-rtp").next().unwrap().to_json();
    assert_eq!(inbound["playoutId"], m["id"]);
    let all = p.pc1.get_stats(None).await.unwrap();
    assert!(all.contains(m["id"].as_str().unwrap()));

    let video = receiver_of(MediaKind::Video);
    let e = video.report_audio_playout(&ten_ms(false)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess);
    let zero = AudioPlayout {
        sample_rate: 0,
        ..ten_ms(false)
    };
    assert_eq!(
        audio.report_audio_playout(&zero).unwrap_err().kind(),
        ErrorKind::Range
    );
}
