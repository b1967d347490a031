//! ICE interop with headless Chromium over loopback (issue 3): rtcpeer and Chromium reach
//! ICE "connected" with each other in both offer directions, with candidates in the
//! descriptions (Chromium's side) and trickled into Chromium through addIceCandidate
//! (rtcpeer's side). ICE level only: DTLS is not implemented yet, so Chromium's
//! connectionState stays "connecting". Runs in the loopback-only namespace of `scripts/test`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use rtcpeer::{
    Configuration, EventStream, IceConnectionState, PeerConnection, PeerConnectionEvent,
    SessionDescription,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(10);

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

async fn launch() -> Chromium {
    let chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. Run `scripts/test`."
    );
    chrome
}

/// Waits for rtcpeer's ICE "connected" (or "completed"), forwarding its trickled candidates
/// to Chromium; returns rtcpeer's iceConnectionState history.
async fn rtcpeer_connects(chrome: &mut Chromium, ev: &mut EventStream) -> Vec<IceConnectionState> {
    let mut states = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        loop {
            match ev.recv().await.expect("event stream") {
                PeerConnectionEvent::IceCandidate(c) => {
                    let arg = match c {
                        Some(c) => js_literal(&c.to_json()),
                        None => "null".to_string(),
                    };
                    chrome
                        .eval(&format!("await pc.addIceCandidate({arg}); return null"))
                        .await
                        .expect("Chromium accepts rtcpeer's candidate");
                }
                PeerConnectionEvent::IceConnectionStateChange(s) => {
                    states.push(s);
                    assert_ne!(s, IceConnectionState::Failed, "{states:?}");
                    if matches!(
                        s,
                        IceConnectionState::Connected | IceConnectionState::Completed
                    ) {
                        return;
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("rtcpeer did not connect: {states:?}"));
    states
}

async fn chromium_connects(chrome: &mut Chromium) {
    let r = chrome
        .wait_until(
            "return ['connected', 'completed'].includes(pc.iceConnectionState)",
            DEADLINE,
        )
        .await;
    let state = chrome.eval("return pc.iceConnectionState").await;
    r.unwrap_or_else(|e| panic!("Chromium did not connect ({state:?}): {e:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_offers_and_both_reach_ice_connected() {
    let mut chrome = launch().await;
    chrome
        .eval(
            "window.pc = new RTCPeerConnection({iceServers: []});
             pc.createDataChannel('x');
             await pc.setLocalDescription();
             await new Promise(r => {
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
             });
             return null;",
        )
        .await
        .expect("Chromium offers");
    let offer = chrome.eval("return pc.localDescription").await.unwrap();
    assert!(offer["sdp"].as_str().unwrap().contains("a=candidate"));
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let mut ev = pc.events();
    pc.set_remote_description(desc(&offer)).await.unwrap();
    pc.set_local_description(None).await.unwrap();
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .expect("Chromium accepts the answer");
    let states = rtcpeer_connects(&mut chrome, &mut ev).await;
    assert_eq!(
        states,
        vec![IceConnectionState::Checking, IceConnectionState::Connected]
    );
    chromium_connects(&mut chrome).await;
    assert!(pc.selected_candidate_pair().is_some());
    pc.close();
    chrome.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtcpeer_offers_and_both_reach_ice_connected() {
    let mut chrome = launch().await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer.clone())).await.unwrap();
    chrome
        .eval(&format!(
            "window.pc = new RTCPeerConnection({{iceServers: []}});
             await pc.setRemoteDescription({});
             await pc.setLocalDescription();
             await new Promise(r => {{
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
             }});
             return null;",
            js_literal(&offer)
        ))
        .await
        .expect("Chromium answers");
    let answer = chrome.eval("return pc.localDescription").await.unwrap();
    pc.set_remote_description(desc(&answer)).await.unwrap();
    let states = rtcpeer_connects(&mut chrome, &mut ev).await;
    assert_eq!(states[0], IceConnectionState::Checking);
    chromium_connects(&mut chrome).await;
    assert!(pc.selected_candidate_pair().is_some());
    pc.close();
    chrome.close().await.unwrap();
}
