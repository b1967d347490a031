//! `rtcpMuxPolicy` "negotiate" against headless Chromium, which only supports rtcp-mux
//! (its policy is "require"): rtcpeer's offer gathers RTCP candidates (component 2) and
//! offers `a=rtcp-mux` (RFC 9429 §4.1.1); Chromium accepts rtcp-mux in its answer, so
//! component 2 is dropped and RTP and RTCP share one component (RFC 5761). As answerer to
//! Chromium's offer (with rtcp-mux) rtcpeer never gathers component 2. Media flows and
//! Chromium measures a round-trip time from our reports either way.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_rtcp_mux'`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::media::reflect;
use common::net::{wait_connected, wait_gathered};
use rtcpeer::{
    Configuration, MediaKind, PeerConnection, RtcpMuxPolicy, RtpTransceiverDirection,
    SessionDescription, TransceiverInit,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// The page side: the fake camera and microphone, and the figures that show media and
/// RTCP in both directions.
const PAGE: &str = r#"
window.H = {
  async setup() {
    window.local = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: 320, height: 240, frameRate: 30}});
    window.pc = new RTCPeerConnection({iceServers: []});
  },
  addTracks() {
    for (const t of local.getTracks()) pc.addTrack(t, local);
  },
  async attachToOffered() {
    for (const tr of pc.getTransceivers()) {
      const track = local.getTracks().find(t => t.kind === tr.receiver.track.kind);
      tr.direction = 'sendrecv';
      await tr.sender.replaceTrack(track);
    }
  },
  async sld() {
    await pc.setLocalDescription();
    await new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
    return pc.localDescription;
  },
  async figures() {
    const out = {received: 0};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp') out.received += s.packetsReceived || 0;
      if (s.type === 'remote-inbound-rtp' && s.kind === 'video') out.rtt = s.roundTripTime;
    }
    return out;
  },
};
"#;

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

fn negotiate_pc() -> PeerConnection {
    PeerConnection::new(Configuration {
        rtcp_mux_policy: RtcpMuxPolicy::Negotiate,
        ..Configuration::default()
    })
    .unwrap()
}

fn rtcp_candidates(sdp: &str) -> usize {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter(|l| l.split(' ').nth(1) == Some("2"))
        .count()
}

async fn launch() -> Chromium {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: run inside `unshare --net`."
    );
    chrome.eval(PAGE).await.expect("page helpers");
    chrome
        .eval("await H.setup(); return null")
        .await
        .expect("getUserMedia");
    chrome
}

/// Chromium received the reflected media and has an RTT from our RTCP; so do we.
async fn check_media_and_rtcp(chrome: &mut Chromium, pc: &PeerConnection) {
    let figures = chrome
        .wait_until(
            "const f = await H.figures(); return f.received > 100 && f.rtt != null && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium receives media and our reports: {e}"));
    let c = pc.media_counters();
    eprintln!("Chromium: {figures}\nrtcpeer: {c:?}");
    assert!(
        c.rtp_received > 100 && c.rtcp_received > 0 && c.rtcp_sent > 0,
        "{c:?}"
    );
    assert_eq!(c.srtp_rejected, 0, "{c:?}");
}

#[tokio::test]
async fn negotiate_offer_to_chromium_drops_component_two_when_it_answers_with_rtcp_mux() {
    let mut chrome = launch().await;
    let pc = negotiate_pc();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        pc.add_transceiver(
            kind,
            TransceiverInit {
                direction: RtpTransceiverDirection::SendRecv,
                ..TransceiverInit::default()
            },
        )
        .unwrap();
    }
    reflect(&pc);
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let offer = pc.local_description().unwrap();
    assert!(rtcp_candidates(&offer.sdp) > 0, "{}", offer.sdp);
    assert!(offer.sdp.contains("a=rtcp-mux\r\n"));
    let before = pc
        .rtcp_component_stats()
        .expect("component 2 while the answer is due");
    assert!(
        !before.in_use && !before.local_addresses.is_empty(),
        "{before:?}"
    );
    let answer = chrome
        .eval(&format!(
            "await pc.setRemoteDescription({});
             await H.attachToOffered();
             return await H.sld();",
            js_literal(&offer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\noffer:\n{}", offer.sdp));
    let answer = desc(&answer);
    assert!(answer.sdp.contains("a=rtcp-mux"), "{}", answer.sdp);
    pc.set_remote_description(answer).await.unwrap();
    assert!(
        pc.rtcp_component_stats().is_none(),
        "rtcp-mux accepted: component 2 dropped"
    );
    wait_connected(&pc).await;
    check_media_and_rtcp(&mut chrome, &pc).await;
    pc.close();
}

#[tokio::test]
async fn negotiate_answer_to_chromiums_offer_uses_one_component() {
    let mut chrome = launch().await;
    chrome.eval("H.addTracks(); return null").await.unwrap();
    let offer = chrome.eval("return await H.sld();").await.expect("offer");
    let pc = negotiate_pc();
    pc.set_remote_description(desc(&offer)).await.unwrap();
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    reflect(&pc);
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    assert!(answer.sdp.contains("a=rtcp-mux"));
    assert_eq!(rtcp_candidates(&answer.sdp), 0, "{}", answer.sdp);
    assert!(pc.rtcp_component_stats().is_none());
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium accepts the answer: {e}\n{}", answer.sdp));
    wait_connected(&pc).await;
    check_media_and_rtcp(&mut chrome, &pc).await;
    pc.close();
}
