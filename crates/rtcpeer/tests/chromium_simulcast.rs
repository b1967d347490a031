//! Simulcast from headless Chromium to rtcpeer (the SFU case; RFC 8853, RFC 8851, RFC 8852):
//! Chromium sends its fake camera in three layers (`sendEncodings` with rids q/h/f);
//! rtcpeer's answer accepts them with `a=rid:<id> recv` and `a=simulcast:recv`, and receives
//! each layer as its own RTP stream (its own SSRC) tagged with its rid. Chromium's own
//! statistics show every layer it was allowed to send going out.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_simulcast'`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::net::wait_gathered;
use rtcpeer::{Configuration, MediaEvent, PeerConnection, PeerConnectionState, SessionDescription};
use serde_json::Value;

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

/// The page side: the fake camera at 1280x720 (large enough for Chromium to send three VP8
/// layers) on a send-only transceiver with three encodings.
const PAGE: &str = r#"
window.H = {
  async offer() {
    const stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: 1280, height: 720, frameRate: 30}});
    window.pc = new RTCPeerConnection({iceServers: []});
    pc.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly', sendEncodings: [
      {rid: 'q', scaleResolutionDownBy: 4}, {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]});
    await pc.setLocalDescription();
    await new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
    return pc.localDescription;
  },
  async sent() {
    const out = {};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out[s.rid || ''] = {packets: s.packetsSent || 0, ssrc: s.ssrc, width: s.frameWidth || 0};
      }
    }
    return out;
  },
};
"#;

#[tokio::test]
async fn chromium_sends_three_simulcast_layers_and_rtcpeer_receives_each_by_rid() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. \
         Run `scripts/test` (or the test inside `unshare --net`)."
    );
    chrome.eval(PAGE).await.expect("page helpers");
    let offer = chrome.eval("return await H.offer();").await.expect("offer");
    let offer: SessionDescription = serde_json::from_value(offer).unwrap();
    assert!(
        offer.sdp.contains("a=simulcast:send q;h;f"),
        "{}",
        offer.sdp
    );
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(offer.clone())
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{}", offer.sdp));
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    for line in [
        "a=rid:q recv",
        "a=rid:h recv",
        "a=rid:f recv",
        "a=simulcast:recv q;h;f",
    ] {
        assert!(answer.sdp.contains(line), "{line}\n{}", answer.sdp);
    }
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium accepts the answer: {e}\n{}", answer.sdp));
    let mut ev = pc.events();
    tokio::time::timeout(LIMIT, async {
        while pc.connection_state() != PeerConnectionState::Connected {
            ev.recv().await;
        }
    })
    .await
    .expect("connected");
    // Chromium says which layers it sends (it may leave a layer out while its bandwidth
    // estimate ramps up, so wait until at least two are going out).
    let sent = chrome
        .wait_until(
            "const s = await H.sent();
             return Object.values(s).filter(l => l.packets > 30).length >= 2 && s;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium sends simulcast: {e}"));
    let sending: HashMap<String, u64> = sent
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, l)| l["packets"].as_u64().unwrap_or(0) > 30)
        .map(|(rid, l)| (rid.clone(), l["ssrc"].as_u64().unwrap()))
        .collect();
    eprintln!("Chromium sends {sent}");
    // rtcpeer receives each of those layers, on the SSRC Chromium uses for it, tagged with
    // its rid.
    let receiver = pc.get_transceivers()[0].receiver();
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    tokio::time::timeout(LIMIT, async {
        while sending
            .keys()
            .any(|rid| seen.get(rid).is_none_or(|(_, n)| *n < 20))
        {
            match receiver.recv().await {
                Some(MediaEvent::Rtp(r)) => {
                    let rid = r
                        .rid
                        .as_deref()
                        .expect("every layer has its rid")
                        .to_string();
                    let e = seen.entry(rid).or_insert((r.ssrc, 0));
                    assert_eq!(e.0, r.ssrc, "one SSRC per rid");
                    e.1 += 1;
                }
                Some(_) => {}
                None => panic!("the receiver ended"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("every layer arrives: sent {sending:?}, seen {seen:?}"));
    for (rid, ssrc) in &sending {
        assert_eq!(u64::from(seen[rid].0), *ssrc, "layer {rid}");
    }
    let ssrcs: std::collections::HashSet<u32> = seen.values().map(|(s, _)| *s).collect();
    assert_eq!(ssrcs.len(), seen.len(), "distinct SSRCs: {seen:?}");
    let c = pc.media_counters();
    assert_eq!((c.srtp_rejected, c.malformed), (0, 0), "{c:?}");
    pc.close();
    let _: Value = chrome.eval("pc.close(); return null").await.unwrap();
}
