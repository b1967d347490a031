//! rtcpeer ↔ aiortc (Python, PyPI) media over 127.0.0.1, both offer directions: aiortc sends
//! its synthetic audio and video (Opus or PCMU, VP8 or H.264 as negotiated), rtcpeer
//! reflects every RTP packet back through its own senders, and aiortc decodes what comes
//! back (its frame counts and the video width prove the reflected streams are whole).
//!
//! The aiortc side is `tests/interop/aiortc_peer.py`, driven through `common::aiortc`; these
//! tests fail (never skip) when `scripts/test` has not installed it.

mod common;

use std::time::Duration;

use common::aiortc::Aiortc;
use common::media::reflect;
use common::net::wait_gathered;
use rtcpeer::{
    Configuration, MediaKind, PeerConnection, PeerConnectionState, RtpTransceiverDirection,
    SdpType, SessionDescription, TransceiverInit,
};
use serde_json::{Value, json};

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

fn desc(v: &Value, typ: SdpType) -> SessionDescription {
    SessionDescription::new(typ, v["sdp"].as_str().expect("an sdp").to_string())
}

async fn wait_connected(pc: &PeerConnection) {
    let mut ev = pc.events();
    tokio::time::timeout(LIMIT, async {
        while pc.connection_state() != PeerConnectionState::Connected {
            ev.recv().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connectionState {:?}", pc.connection_state()));
}

/// Waits until aiortc decoded a second of reflected audio and video and RTCP went both ways.
///
/// aiortc sends its first report 0.5–1.5 s after its sender and receiver start (a random
/// interval), so RTCP from it may come after the first second of decoded media: the wait,
/// not an assertion straight after, is what covers that.
async fn check_reflection(py: &mut Aiortc, pc: &PeerConnection) {
    let counts = tokio::time::timeout(LIMIT, async {
        loop {
            let c = py.must("media_counts", json!({})).await;
            let ours = pc.media_counters();
            if c["video"].as_u64().unwrap_or(0) >= 30
                && c["audio"].as_u64().unwrap_or(0) >= 50
                && ours.rtcp_received > 0
                && ours.rtcp_sent > 0
            {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "aiortc decodes the reflection and RTCP goes both ways; rtcpeer: {:?}",
            pc.media_counters()
        )
    });
    let c = pc.media_counters();
    eprintln!("aiortc decoded {counts}; rtcpeer's counters {c:?}");
    // aiortc's VideoStreamTrack makes 640x480 frames.
    assert_eq!(counts["video_width"], 640, "{counts}");
    assert_eq!(
        (c.srtp_rejected, c.malformed, c.unroutable),
        (0, 0, 0),
        "{c:?}"
    );
}

#[tokio::test]
async fn aiortc_offers_audio_and_video_and_decodes_what_rtcpeer_reflects() {
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    py.must("add_media", json!({})).await;
    let offer = py.must("offer", json!({})).await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer, SdpType::Offer))
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{}", offer["sdp"]));
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    reflect(&pc);
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    py.must("accept_answer", json!({"sdp": answer.sdp})).await;
    wait_connected(&pc).await;
    check_reflection(&mut py, &pc).await;
    pc.close();
}

#[tokio::test]
async fn rtcpeer_offers_audio_and_video_and_aiortc_decodes_the_reflection() {
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
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
    let answer = py
        .must("answer_with_media", json!({"sdp": offer.sdp}))
        .await;
    pc.set_remote_description(desc(&answer, SdpType::Answer))
        .await
        .unwrap_or_else(|e| panic!("SRD(answer): {e}\n{}", answer["sdp"]));
    wait_connected(&pc).await;
    check_reflection(&mut py, &pc).await;
    pc.close();
}
