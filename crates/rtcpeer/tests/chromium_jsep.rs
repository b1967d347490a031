//! JSEP interop with headless Chromium (issue 2): Chromium's offers are accepted by rtcpeer
//! and rtcpeer's answers by Chromium, and the reverse, for data-only and audio+video+data
//! sessions, plus a renegotiation and an ICE restart in each direction.

mod common;

use common::chromium::{Chromium, js_literal};
use rtcpeer::{
    Configuration, MediaKind, MediaStream, MediaStreamTrack, PeerConnection, PeerConnectionEvent,
    RtpTransceiverDirection, SdpType, SessionDescription, SignalingState,
};
use serde_json::Value;

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

fn m_lines(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter(|l| l.starts_with("m="))
        .map(str::to_string)
        .collect()
}

/// Chromium makes an offer (after gathering, so candidates are in it), rtcpeer answers.
async fn chromium_offers(chrome: &mut Chromium, setup_js: &str) -> (PeerConnection, Value) {
    chrome
        .eval(&format!(
            "window.pc = new RTCPeerConnection({{iceServers: []}});
             window.tracks = [];
             pc.ontrack = e => tracks.push({{kind: e.track.kind, streams: e.streams.map(s => s.id), mid: e.transceiver.mid}});
             {setup_js}
             await pc.setLocalDescription();
             await new Promise(r => {{
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
               setTimeout(r, 5000);
             }});
             return null;"
        ))
        .await
        .expect("chromium creates an offer");
    let offer = chrome
        .eval("return pc.localDescription")
        .await
        .expect("offer");
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer))
        .await
        .expect("rtcpeer accepts Chromium's offer");
    pc.set_local_description(None)
        .await
        .expect("rtcpeer answers");
    let answer = pc.local_description().unwrap();
    assert_eq!(answer.sdp_type, SdpType::Answer);
    let r = chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return pc.signalingState",
            js_literal(&answer)
        ))
        .await;
    assert_eq!(
        r.expect("Chromium accepts rtcpeer's answer"),
        "stable",
        "answer:\n{}",
        answer.sdp
    );
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    (pc, offer)
}

/// rtcpeer makes an offer, Chromium answers.
async fn rtcpeer_offers(
    chrome: &mut Chromium,
    pc: &PeerConnection,
    chrome_setup_js: &str,
) -> Value {
    pc.set_local_description(None)
        .await
        .expect("rtcpeer offers");
    let offer = pc.local_description().unwrap();
    let answer = chrome
        .eval(&format!(
            "if (!window.pc) {{
               window.pc = new RTCPeerConnection({{iceServers: []}});
               window.tracks = [];
               pc.ontrack = e => tracks.push({{kind: e.track.kind, streams: e.streams.map(s => s.id), mid: e.transceiver.mid}});
             }}
             await pc.setRemoteDescription({});
             {chrome_setup_js}
             await pc.setLocalDescription();
             return pc.localDescription;",
            js_literal(&offer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium accepts rtcpeer's offer: {e}\noffer:\n{}", offer.sdp));
    pc.set_remote_description(desc(&answer))
        .await
        .unwrap_or_else(|e| panic!("rtcpeer accepts Chromium's answer: {e}\n{}", answer["sdp"]));
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    answer
}

#[tokio::test]
async fn chromium_data_only_offer_and_rtcpeer_answer() {
    let mut chrome = Chromium::launch_or_panic().await;
    let (pc, offer) = chromium_offers(&mut chrome, "pc.createDataChannel('x');").await;
    assert_eq!(m_lines(offer["sdp"].as_str().unwrap()).len(), 1);
    let answer = pc.current_local_description().unwrap();
    let m = m_lines(&answer.sdp);
    assert_eq!(
        m,
        vec!["m=application 9 UDP/DTLS/SCTP webrtc-datachannel".to_string()]
    );
    assert!(answer.sdp.contains("a=setup:active"), "{}", answer.sdp);
    let sctp = pc.sctp().expect("an SCTP transport after the exchange");
    assert!(sctp.max_message_size() > 0.0);
    // Chromium sees the answer's DTLS role and fingerprint.
    let role = chrome
        .eval("return pc.currentRemoteDescription.sdp.includes('a=fingerprint:sha-256 ')")
        .await
        .unwrap();
    assert_eq!(role, true);
    chrome.close().await.unwrap();
}

#[tokio::test]
async fn chromium_audio_video_data_offer_and_rtcpeer_answer() {
    let mut chrome = Chromium::launch_or_panic().await;
    let (pc, offer) = chromium_offers(
        &mut chrome,
        "const s = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
         window.streamId = s.id;
         s.getTracks().forEach(t => pc.addTrack(t, s));
         pc.createDataChannel('x');",
    )
    .await;
    let offer_m = m_lines(offer["sdp"].as_str().unwrap());
    assert_eq!(offer_m.len(), 3, "{offer_m:?}");
    let answer = pc.current_local_description().unwrap();
    let answer_m = m_lines(&answer.sdp);
    assert_eq!(answer_m.len(), 3);
    assert!(
        answer_m.iter().all(|l| l.split(' ').nth(1) != Some("0")),
        "nothing rejected: {answer_m:?}"
    );
    // rtcpeer got a track per Chromium track, with Chromium's stream id.
    let stream_id = chrome.eval("return streamId").await.unwrap();
    let ts = pc.get_transceivers();
    assert_eq!(ts.len(), 2);
    for t in &ts {
        assert_eq!(
            t.current_direction(),
            Some(RtpTransceiverDirection::RecvOnly)
        );
        assert_eq!(t.receiver().track().kind(), t.kind());
    }
    assert!(
        answer.sdp.contains("a=group:BUNDLE 0 1 2"),
        "{}",
        answer.sdp
    );
    // Chromium's transceivers are now sendonly (rtcpeer has nothing to send).
    let dirs = chrome
        .eval("return pc.getTransceivers().map(t => t.currentDirection)")
        .await
        .unwrap();
    assert_eq!(dirs, serde_json::json!(["sendonly", "sendonly"]));
    assert!(stream_id.is_string());
    chrome.close().await.unwrap();
}

#[tokio::test]
async fn rtcpeer_data_only_offer_and_chromium_answer() {
    let mut chrome = Chromium::launch_or_panic().await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let dc = pc.create_data_channel("chat", None).unwrap();
    let answer = rtcpeer_offers(&mut chrome, &pc, "").await;
    let answer_sdp = answer["sdp"].as_str().unwrap();
    assert_eq!(
        m_lines(answer_sdp),
        vec!["m=application 9 UDP/DTLS/SCTP webrtc-datachannel".to_string()]
    );
    // Chromium answered a=setup:active, so rtcpeer is the DTLS server: odd stream ids.
    assert!(answer_sdp.contains("a=setup:active"));
    assert_eq!(dc.id().map(|id| id % 2), Some(1));
    assert!(pc.sctp().unwrap().max_message_size() > 0.0);
    chrome.close().await.unwrap();
}

#[tokio::test]
async fn rtcpeer_audio_video_data_offer_chromium_answer_and_renegotiation() {
    let mut chrome = Chromium::launch_or_panic().await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let stream = MediaStream::new();
    pc.add_track(&MediaStreamTrack::new(MediaKind::Audio, "a"), &[&stream])
        .unwrap();
    pc.add_track(&MediaStreamTrack::new(MediaKind::Video, "v"), &[&stream])
        .unwrap();
    pc.create_data_channel("chat", None).unwrap();
    let mut events = pc.events();
    // Chromium answers with its own fake camera and microphone on the same transceivers.
    let answer = rtcpeer_offers(
        &mut chrome,
        &pc,
        "const s = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
         window.answerStream = s.id;
         const ts = pc.getTransceivers();
         for (const t of s.getTracks()) {
           const tr = ts.find(x => x.receiver.track.kind === t.kind);
           await tr.sender.replaceTrack(t);
           tr.sender.setStreams(s);
           tr.direction = 'sendrecv';
         }",
    )
    .await;
    assert_eq!(m_lines(answer["sdp"].as_str().unwrap()).len(), 3);
    let tracks = chrome.eval("return tracks").await.unwrap();
    let tracks = tracks.as_array().unwrap();
    assert_eq!(
        tracks.len(),
        2,
        "Chromium fired a track event per rtcpeer track: {tracks:?}"
    );
    for t in tracks {
        assert_eq!(t["streams"], serde_json::json!([stream.id()]));
    }
    for t in pc.get_transceivers() {
        assert_eq!(
            t.current_direction(),
            Some(RtpTransceiverDirection::SendRecv)
        );
    }
    let mut remote_tracks = 0;
    let answer_stream = chrome.eval("return answerStream").await.unwrap();
    while let Some(e) = events.try_recv() {
        if let PeerConnectionEvent::Track(t) = e {
            remote_tracks += 1;
            assert_eq!(t.streams.len(), 1);
            assert_eq!(Some(t.streams[0].id()), answer_stream.as_str());
        }
    }
    assert_eq!(remote_tracks, 2);

    // Renegotiation: one more transceiver, then an ICE restart, both offered by rtcpeer.
    pc.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    let ufrag_before = chrome
        .eval("return pc.currentLocalDescription.sdp.match(/a=ice-ufrag:(.*)/)[1]")
        .await
        .unwrap();
    let answer = rtcpeer_offers(&mut chrome, &pc, "").await;
    assert_eq!(m_lines(answer["sdp"].as_str().unwrap()).len(), 4);
    pc.restart_ice();
    let answer = rtcpeer_offers(&mut chrome, &pc, "").await;
    let ufrag_after = chrome
        .eval("return pc.currentLocalDescription.sdp.match(/a=ice-ufrag:(.*)/)[1]")
        .await
        .unwrap();
    assert_ne!(ufrag_before, ufrag_after, "Chromium restarted ICE too");
    assert_eq!(m_lines(answer["sdp"].as_str().unwrap()).len(), 4);
    chrome.close().await.unwrap();
}

#[tokio::test]
async fn chromium_renegotiates_and_restarts_ice_with_rtcpeer_answering() {
    let mut chrome = Chromium::launch_or_panic().await;
    let (pc, _) = chromium_offers(
        &mut chrome,
        "pc.addTransceiver('audio'); pc.createDataChannel('x');",
    )
    .await;
    let ufrag = |d: &SessionDescription| {
        d.sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_string()
    };
    let before = ufrag(&pc.current_local_description().unwrap());
    for (step, js) in [
        ("add video", "pc.addTransceiver('video');"),
        ("ICE restart", "pc.restartIce();"),
        ("stop audio", "pc.getTransceivers()[0].stop();"),
    ] {
        let offer = chrome
            .eval(&format!(
                "{js} await pc.setLocalDescription(); return pc.localDescription;"
            ))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        pc.set_remote_description(desc(&offer))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        pc.set_local_description(None)
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        let answer = pc.local_description().unwrap();
        chrome
            .eval(&format!(
                "await pc.setRemoteDescription({}); return null",
                js_literal(&answer)
            ))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{step}: Chromium rejects rtcpeer's answer: {e}\n{}",
                    answer.sdp
                )
            });
    }
    let after = ufrag(&pc.current_local_description().unwrap());
    assert_ne!(
        before, after,
        "rtcpeer answered the ICE restart with new credentials"
    );
    // The stopped audio m-section is rejected on both sides.
    let answer = pc.current_local_description().unwrap();
    assert!(
        m_lines(&answer.sdp)[0].starts_with("m=audio 0 "),
        "{}",
        answer.sdp
    );
    let n = chrome
        .eval("return pc.getTransceivers().length")
        .await
        .unwrap();
    assert_eq!(n, 1, "Chromium removed its stopped transceiver");
    assert_eq!(
        pc.get_transceivers().len(),
        1,
        "rtcpeer removed the rejected transceiver"
    );
    chrome.close().await.unwrap();
}

/// Chromium's trickled candidates (its `toJSON()` form, end-of-candidates included) are
/// accepted by rtcpeer's `add_ice_candidate` and show up in `remoteDescription.sdp`.
#[tokio::test]
async fn chromium_trickled_candidates_are_accepted_by_add_ice_candidate() {
    let mut chrome = Chromium::launch_or_panic().await;
    let offer = chrome
        .eval(
            "window.pc = new RTCPeerConnection({iceServers: []});
             window.cands = [];
             window.done = false;
             pc.onicecandidate = e => e.candidate ? cands.push(e.candidate.toJSON()) : (done = true);
             pc.addTransceiver('audio');
             pc.createDataChannel('x');
             await pc.setLocalDescription();
             return {type: 'offer', sdp: pc.localDescription.sdp};",
        )
        .await
        .unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer)).await.unwrap();
    chrome
        .wait_until("return done", std::time::Duration::from_secs(10))
        .await
        .expect("Chromium finishes gathering");
    let cands = chrome.eval("return cands").await.unwrap();
    let cands: Vec<rtcpeer::IceCandidateInit> = serde_json::from_value(cands).unwrap();
    assert!(!cands.is_empty(), "Chromium gathered loopback candidates");
    for c in &cands {
        pc.add_ice_candidate(Some(c.clone()))
            .await
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let parsed = rtcpeer::IceCandidate::new(c.clone()).unwrap();
        assert!(parsed.port().is_some() && parsed.typ().is_some(), "{c:?}");
    }
    pc.add_ice_candidate(None).await.unwrap();
    let remote = pc.remote_description().unwrap().sdp;
    for c in &cands {
        assert!(
            remote.contains(&format!("a={}", c.candidate)),
            "{} missing",
            c.candidate
        );
    }
    assert_eq!(remote.matches("a=end-of-candidates").count(), 2);
    chrome.close().await.unwrap();
}
