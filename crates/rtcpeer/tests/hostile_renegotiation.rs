//! A remote that adds a new m-section and rejects it in the next offer, again and again
//! (RFC 9429 §5.10, webrtc-pc §4.4.1.5): each round leaves a stopped, removed transceiver.
//! The connection keeps only the most recent ones, and handles to forgotten transceivers
//! read the final state of a removed transceiver without panicking.

mod common;

use common::signaling::exchange;

use rtcpeer::{
    Configuration, ErrorKind, MediaKind, MediaStreamTrackState, PeerConnection,
    RtpTransceiverDirection as Dir, TransceiverInit,
};

const ROUNDS: usize = 2_000;
/// The cap on removed transceivers kept (`REMOVED_TRANSCEIVERS_KEPT`) plus the live ones.
const BOUND: usize = 64 + 1;

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("default configuration is valid")
}

#[tokio::test]
async fn remote_adds_and_rejects_m_sections_without_end() {
    let local = pc();
    let remote = pc();
    let mut early = Vec::new();
    let mut max_count = 0;
    for round in 0..ROUNDS {
        let kind = if round % 2 == 0 {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        // The remote adds a new m-section (new mid): we create a transceiver for it.
        let rt = remote
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        exchange(&remote, &local).await;
        let ours = local.get_transceivers();
        assert_eq!(ours.len(), 1, "round {round}");
        let t = ours[0].clone();
        assert_eq!(t.kind(), kind);
        assert!(t.mid().is_some());
        if round < 3 {
            early.push((t.clone(), t.receiver(), t.sender(), kind));
        }
        // Then it rejects it (port 0): our transceiver is stopped and removed.
        rt.stop().unwrap();
        exchange(&remote, &local).await;
        assert!(local.get_transceivers().is_empty(), "round {round}");
        assert_eq!(t.direction(), Dir::Stopped);
        max_count = max_count.max(local.transceiver_count());
        assert!(
            local.transceiver_count() <= BOUND,
            "round {round}: {} transceivers kept",
            local.transceiver_count()
        );
        assert!(remote.transceiver_count() <= BOUND, "round {round}");
    }
    assert!(max_count <= BOUND, "{max_count}");
    for (t, r, s, kind) in early {
        assert_eq!(t.kind(), kind);
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
        assert_eq!(s.track(), None);
        let track = r.track();
        assert_eq!(track.kind(), kind);
        assert_eq!(track.ready_state(), MediaStreamTrackState::Ended);
        assert_eq!(t.receiver().track(), track);
        assert!(t.ice_transport().is_none());
        // Setters act as on a stopped transceiver (webrtc-pc §5.4, §5.2).
        let e = t.set_direction(Dir::SendRecv).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        t.stop().unwrap();
        let e = s.replace_track(None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        let e = s.set_streams(&[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        // setCodecPreferences has no stopped check (webrtc-pc §5.4): it only validates.
        t.set_codec_preferences(&[]).unwrap();
        local.remove_track(&s).unwrap();
    }
}
