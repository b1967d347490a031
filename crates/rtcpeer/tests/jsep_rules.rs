//! JSEP rules beyond the WPT checklist (RFC 9429): m-line positions in subsequent offers.

mod common;

use common::signaling::exchange_implicit;

use rtcpeer::{Configuration, ErrorKind, MediaKind, PeerConnection};

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
    exchange_implicit(&a, &b).await;

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
    exchange_implicit(&a, &b).await;

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
    exchange_implicit(&a, &b).await;
    audio.stop().unwrap();
    exchange_implicit(&a, &b).await;
    assert!(a.get_transceivers().is_empty());
    assert!(b.get_transceivers().is_empty());

    a.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    exchange_implicit(&a, &b).await;
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

/// WPT-245: when no stream id of this side's parity is left, createDataChannel throws
/// OperationError; channels that cannot get an id when the DTLS role is set are closed.
#[tokio::test]
async fn wpt_245_stream_ids_run_out() {
    use rtcpeer::DataChannelState;
    // pc1 offers, pc2 answers a=setup:active: pc1 is the DTLS server and uses odd ids.
    // Stream ids, not the open-channel cap (1024 by default), must run out here.
    let uncapped = rtcpeer::Settings {
        data_channels: rtcpeer::DataChannelLimits {
            max_open: 65535,
            ..Default::default()
        },
        ..Default::default()
    };
    let pc1 = PeerConnection::with_settings(Configuration::default(), uncapped).unwrap();
    let pc2 = pc();
    // 32767 odd ids exist (1..=65533); one channel more than that before negotiation.
    let channels: Vec<_> = (0..32768)
        .map(|_| pc1.create_data_channel("c", None).unwrap())
        .collect();
    exchange_implicit(&pc1, &pc2).await;
    let ids: Vec<_> = channels.iter().map(|c| c.id()).collect();
    assert!(ids[..32767].iter().all(|id| id.is_some_and(|i| i % 2 == 1)));
    assert_eq!(ids[32767], None);
    assert_eq!(channels[32767].ready_state(), DataChannelState::Closed);
    assert_eq!(channels[0].ready_state(), DataChannelState::Connecting);
    let e = pc1.create_data_channel("more", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
    // Closing one frees its id for the next channel.
    channels[10].close();
    let again = pc1.create_data_channel("again", None).unwrap();
    assert_eq!(again.id(), ids[10]);
}
