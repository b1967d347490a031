//! Send-side congestion control against headless Chromium (issue 10): rtcpeer sends VP8 to
//! Chromium, which answers with transport-wide CC feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01); rtcpeer's bandwidth estimate
//! (draft-ietf-rmcat-gcc-02) appears as `availableOutgoingBitrate` on the selected
//! candidate pair of `getStats` (webrtc-stats §7.13) and as `MediaEvent::TargetBitrate` on
//! the sender, and grows while the link (loopback) takes everything.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_bwe'`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::net::{wait_connected, wait_gathered};
use rtcpeer::media_file::IvfReader;
use rtcpeer::{
    Configuration, MediaEvent, MediaKind, PeerConnection, RtpTransceiverDirection,
    SessionDescription, TransceiverInit,
};

const VIDEO: &[u8] = include_bytes!("fixtures/media/testsrc-320x240.ivf");

const PAGE: &str = r#"
window.H = {
  setup() {
    window.pc = new RTCPeerConnection({iceServers: []});
    pc.ontrack = (e) => {
      const el = document.createElement('video');
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
  },
  gathered() {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  async decoded() {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') return s.framesDecoded || 0;
    }
    return 0;
  },
};
"#;

/// `availableOutgoingBitrate` of the selected candidate pair, if the report has one.
async fn available_outgoing_bitrate(pc: &PeerConnection) -> Option<f64> {
    let report = pc.get_stats(None).await.unwrap().to_json();
    let entries: Vec<&serde_json::Value> = report.as_array()?.iter().collect();
    let transport = entries.iter().find(|e| e["type"] == "transport")?;
    let selected = transport["selectedCandidatePairId"].as_str()?;
    let pair = entries.iter().find(|e| e["id"] == selected)?;
    let others = entries
        .iter()
        .filter(|e| e["type"] == "candidate-pair" && e["id"] != selected);
    for o in others {
        assert!(
            o.get("availableOutgoingBitrate").is_none(),
            "only the selected pair: {o}"
        );
    }
    pair.get("availableOutgoingBitrate")?.as_f64()
}

#[tokio::test]
async fn chromium_feedback_gives_rtcpeer_a_growing_available_outgoing_bitrate() {
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    chrome.eval("H.setup(); return null").await.unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let init = TransceiverInit {
        direction: RtpTransceiverDirection::SendOnly,
        ..TransceiverInit::default()
    };
    let sender = pc.add_transceiver(MediaKind::Video, init).unwrap().sender();
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let offer = pc.local_description().unwrap();
    assert!(offer.sdp.contains("transport-cc"), "{}", offer.sdp);
    let answer = chrome
        .eval(&format!(
            "await pc.setRemoteDescription({});
             await pc.setLocalDescription(); await H.gathered();
             return pc.localDescription;",
            js_literal(&offer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\n{}", offer.sdp));
    let answer: SessionDescription = serde_json::from_value(answer).unwrap();
    pc.set_remote_description(answer).await.unwrap();
    wait_connected(&pc).await;
    assert_eq!(
        available_outgoing_bitrate(&pc).await,
        None,
        "no estimate before feedback"
    );

    // The file's key frame (4.9 kB) every 20 ms: about 2 Mbit/s that Chromium can decode,
    // more than the estimator's 1 Mbit/s start, so the estimate has room to grow.
    let key = IvfReader::new(VIDEO)
        .expect("an IVF file")
        .next()
        .expect("a frame")
        .expect("a whole frame")
        .data
        .to_vec();
    let play = {
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                sender
                    .send_frame(&key, Duration::from_millis(20))
                    .expect("a VP8 frame");
            }
        })
    };
    let targets = {
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(e) = sender.recv_feedback().await {
                if let MediaEvent::TargetBitrate { bitrate_bps } = e {
                    seen.push(bitrate_bps);
                }
            }
            seen
        })
    };
    let mut trace = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        trace.push(available_outgoing_bitrate(&pc).await);
    }
    let decoded = chrome.eval("return await H.decoded()").await.unwrap();
    play.abort();
    let c = pc.media_counters();
    pc.close();
    let targets = tokio::time::timeout(Duration::from_secs(5), targets)
        .await
        .expect("the feedback queue ends on close")
        .unwrap();
    eprintln!(
        "availableOutgoingBitrate per second: {trace:?}\nTargetBitrate events: {targets:?}\nChromium decoded {decoded}, {c:?}"
    );
    assert!(
        c.twcc_feedback_received > 20,
        "Chromium sends transport-wide feedback: {c:?}"
    );
    assert!(
        decoded.as_u64().unwrap_or(0) > 100,
        "Chromium decodes: {decoded}"
    );
    let values: Vec<f64> = trace
        .iter()
        .map(|v| v.expect("an estimate every second"))
        .collect();
    assert!(values.iter().all(|&v| v >= 30_000.0), "{values:?}");
    // Loopback takes everything: the estimate grows (×1.08/s far from convergence).
    assert!(values[9] > values[0] * 1.2, "{values:?}");
    assert!(!targets.is_empty(), "the encoder is told the estimate");
}
