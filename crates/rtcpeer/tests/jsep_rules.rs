//! JSEP rules beyond the WPT checklist (RFC 9429): m-line positions in subsequent offers.

use rtcpeer::{Configuration, ErrorKind, MediaKind, PeerConnection};

async fn negotiate(offerer: &PeerConnection, answerer: &PeerConnection) {
    offerer.set_local_description(None).await.unwrap();
    answerer
        .set_remote_description(offerer.local_description().unwrap())
        .await
        .unwrap();
    answerer.set_local_description(None).await.unwrap();
    offerer
        .set_remote_description(answerer.local_description().unwrap())
        .await
        .unwrap();
}

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).unwrap()
}

/// RFC 9429 §5.8: an offer from an unrelated session (video where audio was negotiated at
/// mid 0) is rejected, as Chromium does, and nothing is applied.
#[tokio::test]
async fn subsequent_offer_changing_an_m_line_kind_is_rejected() {
    let (a, b) = (pc(), pc());
    a.add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    a.create_data_channel("x", None).unwrap();
    negotiate(&a, &b).await;

    let stranger = pc();
    stranger
        .add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    stranger.create_data_channel("y", None).unwrap();
    stranger.set_local_description(None).await.unwrap();
    let err = b
        .set_remote_description(stranger.local_description().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAccess, "{err}");
    assert_eq!(b.signaling_state().to_string(), "stable");
    assert_eq!(b.get_transceivers()[0].kind(), MediaKind::Audio);
}

/// RFC 9429 §5.2.2: m-lines are never removed from subsequent offers.
#[tokio::test]
async fn subsequent_offer_with_fewer_m_lines_is_rejected() {
    let (a, b) = (pc(), pc());
    a.add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    a.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    negotiate(&a, &b).await;

    let stranger = pc();
    stranger
        .add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    stranger.set_local_description(None).await.unwrap();
    let err = b
        .set_remote_description(stranger.local_description().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAccess, "{err}");
}

/// A rejected (vacant) m-line may be recycled for another kind in a later offer.
#[tokio::test]
async fn a_vacant_m_line_is_recycled_for_another_kind() {
    let (a, b) = (pc(), pc());
    let audio = a
        .add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    negotiate(&a, &b).await;
    audio.stop().unwrap();
    negotiate(&a, &b).await;
    assert!(a.get_transceivers().is_empty());
    assert!(b.get_transceivers().is_empty());

    a.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    negotiate(&a, &b).await;
    let offer = a.current_local_description().unwrap();
    let m: Vec<&str> = offer.sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m.len(),
        1,
        "the video section took the audio section's place: {m:?}"
    );
    assert!(m[0].starts_with("m=video 9 "), "{m:?}");
    let t = &b.get_transceivers()[0];
    assert_eq!(t.kind(), MediaKind::Video);
    assert_ne!(
        t.mid().as_deref(),
        Some("0"),
        "a recycled m-line gets a new mid"
    );
}
