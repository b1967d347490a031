//! `rtcpMuxPolicy` "negotiate" end to end between two `PeerConnection`s over real UDP on
//! 127.0.0.1 (RFC 9429 §4.1.1, RFC 5761, RFC 8445 §4 components, RFC 5764 §4.1): with
//! rtcp-mux stripped from the offer by the signaling, RTP flows on component 1 and RTCP
//! (sender and receiver reports, so a round-trip time) on component 2's own sockets; with
//! rtcp-mux kept, component 2 is dropped; "require" refuses the non-mux offer (WPT-34).

mod common;

use std::time::Duration;

use common::net::{wait_connected, wait_gathered, within};
use rtcpeer::{
    Configuration, ErrorKind, MediaKind, OutgoingRtp, PeerConnection, RtcpMuxPolicy,
    RtpTransceiverDirection, SessionDescription, TransceiverInit,
};

fn pc(policy: RtcpMuxPolicy) -> PeerConnection {
    PeerConnection::new(Configuration {
        rtcp_mux_policy: policy,
        ..Configuration::default()
    })
    .expect("pc")
}

fn strip_rtcp_mux(d: &SessionDescription) -> SessionDescription {
    let sdp = d
        .sdp
        .split("\r\n")
        .filter(|l| *l != "a=rtcp-mux" && *l != "a=rtcp-mux-only")
        .collect::<Vec<_>>()
        .join("\r\n");
    SessionDescription::new(d.sdp_type, sdp)
}

/// Lines `a=candidate:<foundation> <component> ...` of component `c`.
fn candidates(sdp: &str, c: u16) -> usize {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter(|l| l.split(' ').nth(1) == Some(&c.to_string()))
        .count()
}

/// An offer with audio and video from `pc1`, gathered.
async fn offer(pc1: &PeerConnection) -> SessionDescription {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let init = TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            ..TransceiverInit::default()
        };
        pc1.add_transceiver(kind, init).unwrap();
    }
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(pc1).await;
    pc1.local_description().unwrap()
}

/// `pc2` answers `offer` sending both ways; `pc1` applies the answer (returned).
async fn answer(pc1: &PeerConnection, pc2: &PeerConnection, offer: SessionDescription) -> String {
    pc2.set_remote_description(offer).await.unwrap();
    for t in pc2.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    wait_gathered(pc2).await;
    let answer = pc2.local_description().unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();
    answer.sdp
}

/// Three seconds of audio and video both ways, every 20 ms.
async fn media(pcs: [&PeerConnection; 2]) {
    for i in 0..150u32 {
        for pc in pcs {
            for t in pc.get_transceivers() {
                let rtp = OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 1800,
                    marker: true,
                    payload: b"media",
                };
                t.sender().send_rtp(&rtp);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn negotiate_without_rtcp_mux_flows_rtcp_on_component_two() {
    let (pc1, pc2) = (pc(RtcpMuxPolicy::Negotiate), pc(RtcpMuxPolicy::Negotiate));
    let offer = offer(&pc1).await;
    // RFC 9429 §4.1.1: RTP and RTCP candidates, and still a=rtcp-mux.
    assert!(offer.sdp.contains("a=rtcp-mux\r\n"), "{}", offer.sdp);
    assert!(
        candidates(&offer.sdp, 1) > 0 && candidates(&offer.sdp, 2) > 0,
        "{}",
        offer.sdp
    );
    let answer = answer(&pc1, &pc2, strip_rtcp_mux(&offer)).await;
    assert!(!answer.contains("a=rtcp-mux"), "RFC 5761 §5.1.1: {answer}");
    assert!(candidates(&answer, 2) > 0, "{answer}");
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;
    media([&pc1, &pc2]).await;
    within("RTCP on component 2 and an RTT on both sides", async {
        loop {
            let done = [&pc1, &pc2].iter().all(|pc| {
                let s = pc.rtcp_component_stats();
                let m = pc.media_counters();
                s.is_some_and(|s| s.rtcp_received > 0) && m.round_trip_time.is_some()
            });
            if done {
                break;
            }
            media([&pc1, &pc2]).await;
        }
    })
    .await;
    for (pc, peer) in [(&pc1, &pc2), (&pc2, &pc1)] {
        let s = pc.rtcp_component_stats().unwrap();
        let p = peer.rtcp_component_stats().unwrap();
        assert!(s.in_use, "{s:?}");
        assert_eq!(s.dtls_state, rtcpeer::DtlsTransportState::Connected);
        // The selected pair joins the two RTCP sockets, not the RTP ones.
        let (local, remote) = s.selected_pair.unwrap();
        assert!(s.local_addresses.contains(&local), "{s:?}");
        assert!(p.local_addresses.contains(&remote), "{p:?}");
        let m = pc.media_counters();
        assert!(m.rtp_received > 100, "{m:?}");
        // Every RTCP packet the RTP session read arrived on component 2.
        assert!(s.rtcp_received > 0 && s.rtcp_sent > 0, "{s:?}");
        assert!(m.rtcp_received >= s.rtcp_received, "{m:?} {s:?}");
        assert_eq!(s.dropped, 0, "no RTP on the RTCP component: {s:?}");
        assert_eq!(m.srtp_rejected, 0, "{m:?}");
    }
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn negotiate_with_rtcp_mux_kept_uses_one_component() {
    let (pc1, pc2) = (pc(RtcpMuxPolicy::Negotiate), pc(RtcpMuxPolicy::Negotiate));
    let offer = offer(&pc1).await;
    assert!(candidates(&offer.sdp, 2) > 0);
    assert!(pc1.rtcp_component_stats().is_some());
    let answer = answer(&pc1, &pc2, offer).await;
    assert!(answer.contains("a=rtcp-mux"));
    assert_eq!(candidates(&answer, 2), 0, "{answer}");
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;
    within("RTCP (an RTT) on the one component", async {
        while ![&pc1, &pc2]
            .iter()
            .all(|pc| pc.media_counters().round_trip_time.is_some())
        {
            media([&pc1, &pc2]).await;
        }
    })
    .await;
    for pc in [&pc1, &pc2] {
        assert!(pc.rtcp_component_stats().is_none(), "component 2 dropped");
        assert!(pc.media_counters().rtcp_received > 0);
    }
    pc1.close();
    pc2.close();
}

/// WPT-34 against a real "negotiate" offerer whose offer lost a=rtcp-mux.
#[tokio::test]
async fn wpt_34_require_rejects_the_non_mux_offer_of_a_negotiate_peer() {
    let (pc1, pc2) = (pc(RtcpMuxPolicy::Negotiate), pc(RtcpMuxPolicy::Require));
    let offer = offer(&pc1).await;
    let err = pc2
        .set_remote_description(strip_rtcp_mux(&offer))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAccess);
    // "require" itself never gathers component 2.
    let pc3 = pc(RtcpMuxPolicy::Require);
    let own = self::offer(&pc3).await;
    assert_eq!(candidates(&own.sdp, 2), 0, "{}", own.sdp);
    assert!(pc3.rtcp_component_stats().is_none());
    for pc in [pc1, pc2, pc3] {
        pc.close();
    }
}
