//! `rtcpMuxPolicy` "negotiate" against aiortc (Python, PyPI). aiortc only does rtcp-mux: it
//! always writes `a=rtcp-mux` and refuses a description whose audio or video section lacks
//! it ("RTCP mux is not enabled", `RTCPeerConnection` description checks in aiortc's
//! `rtcpeerconnection.py`), so RTCP on a component of its own cannot be tested against it.
//! What can: rtcpeer's "negotiate" offer, with its RTCP (component 2) candidates, is
//! answered with rtcp-mux, component 2 is dropped, and media and RTCP flow on one component.

mod common;

use std::time::Duration;

use common::aiortc::Aiortc;
use common::media::reflect;
use common::net::{wait_connected, wait_gathered};
use rtcpeer::{
    Configuration, MediaKind, PeerConnection, RtcpMuxPolicy, RtpTransceiverDirection, SdpType,
    SessionDescription, TransceiverInit,
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

async fn negotiate_offer() -> (PeerConnection, SessionDescription) {
    let pc = PeerConnection::new(Configuration {
        rtcp_mux_policy: RtcpMuxPolicy::Negotiate,
        ..Configuration::default()
    })
    .unwrap();
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
    let rtcp_candidates = offer
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter(|l| l.split(' ').nth(1) == Some("2"))
        .count();
    assert!(rtcp_candidates > 0, "{}", offer.sdp);
    (pc, offer)
}

#[tokio::test]
async fn negotiate_offer_to_aiortc_drops_component_two_and_media_flows() {
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    let (pc, offer) = negotiate_offer().await;
    let answer = py
        .must("answer_with_media", json!({"sdp": offer.sdp}))
        .await;
    let answer =
        SessionDescription::new(SdpType::Answer, answer["sdp"].as_str().unwrap().to_string());
    assert!(answer.sdp.contains("a=rtcp-mux"));
    pc.set_remote_description(answer).await.unwrap();
    assert!(
        pc.rtcp_component_stats().is_none(),
        "rtcp-mux accepted: component 2 dropped"
    );
    wait_connected(&pc).await;
    tokio::time::timeout(LIMIT, async {
        loop {
            let c = pc.media_counters();
            if c.rtp_received > 100 && c.rtcp_received > 0 && c.rtcp_sent > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("media and RTCP both ways: {:?}", pc.media_counters()));
    assert_eq!(pc.media_counters().srtp_rejected, 0);
    pc.close();
}

/// aiortc refuses the offer once the signaling strips rtcp-mux (it has no RTCP component):
/// the reason non-mux is tested between two rtcpeers (`tests/rtcp_mux_negotiate.rs`).
#[tokio::test]
async fn aiortc_refuses_a_non_mux_offer() {
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    let (pc, offer) = negotiate_offer().await;
    let stripped: String = offer
        .sdp
        .split("\r\n")
        .filter(|l| *l != "a=rtcp-mux")
        .collect::<Vec<_>>()
        .join("\r\n");
    let err = py
        .call("answer_with_media", json!({"sdp": stripped}))
        .await
        .expect_err("aiortc has no non-mux RTCP");
    assert!(format!("{err:?}").contains("RTCP mux"), "{err:?}");
    pc.close();
}
