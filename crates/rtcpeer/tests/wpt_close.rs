//! W3C web-platform-tests behaviours for `close()` (checklist group 17, WPT-208..215) at
//! the signaling level, through the public API. Items are numbered as in `wpt-checklist.md`.
//!
//! The network side of the group runs two connections over loopback UDP in
//! `wpt_datachannel_network.rs`: the SCTP transport of a connected pc becomes "closed"
//! (WPT-208), the DTLS/ICE transport states after close (WPT-211, also
//! `wpt_ice_transport.rs`), remote channels' error/close events (WPT-212) and
//! bufferedAmount after close (WPT-215).

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{audio, init, pc};

use rtcpeer::{
    DataChannelInit, DataChannelState, ErrorKind, MediaKind, MediaStream, PeerConnection,
    RtpTransceiverDirection as Dir, SctpTransportState, SignalingState, TransceiverInit,
};

// ===== 17. close() =====

#[tokio::test]
async fn wpt_208_sctp_transport_closed_after_close() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.create_data_channel("x", None).unwrap();
    exchange(&pc1, &pc2).await;
    let sctp = pc1.sctp().expect("a data section was negotiated");
    assert_ne!(sctp.state(), SctpTransportState::Closed);
    pc1.close();
    assert_eq!(sctp.state(), SctpTransportState::Closed);
}

#[tokio::test]
async fn wpt_210_close_sets_every_current_direction_to_stopped() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_transceiver(MediaKind::Video, init(Dir::RecvOnly))
        .unwrap();
    exchange(&pc1, &pc2).await;
    // One transceiver never negotiated.
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts.len(), 3);
    pc1.close();
    for t in &ts {
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
        assert_eq!(t.direction(), Dir::Stopped);
    }
    assert_eq!(pc1.signaling_state(), SignalingState::Closed);
}

#[tokio::test]
async fn wpt_214_after_close_methods_throw_invalid_state() {
    let pc1 = pc();
    let other = pc();
    let track = audio();
    let sender = pc1.add_track(&track, &[]).unwrap();
    let t = pc1.get_transceivers()[0].clone();
    let foreign = other.add_track(&audio(), &[]).unwrap();
    let mut ev = pc1.events();
    pc1.close();
    let e = pc1.create_data_channel("x", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1.add_track(&audio(), &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1.remove_track(&sender).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // The closed check precedes the "sender from another pc" check (WPT-267).
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = sender.replace_track(Some(audio())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = sender.replace_track(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // WPT-288: stop() on a closed pc throws InvalidStateError.
    let e = t.stop().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // close() fires nothing, and the event stream ends.
    assert!(drain(&mut ev).is_empty());
    assert!(ev.recv().await.is_none());
    assert_eq!(sender.track(), Some(track));
}

#[tokio::test]
async fn wpt_214_after_close_setters_throw_and_objects_remain() {
    let pc1 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let dc = pc1.create_data_channel("x", None).unwrap();
    pc1.close();
    assert_eq!(pc1.get_transceivers(), vec![t.clone()]);
    let e = t.set_direction(Dir::SendOnly).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = t.sender().set_streams(&[&MediaStream::new()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert_eq!(dc.ready_state(), DataChannelState::Closed);
}

/// 24 channels, every other one negotiated with id `i` (as RTCPeerConnection-close.html).
fn make_channels(pc: &PeerConnection) -> Vec<rtcpeer::DataChannel> {
    (0..24u16)
        .map(|i| {
            let init = (i % 2 == 0).then(|| DataChannelInit {
                negotiated: true,
                id: Some(i),
                ..Default::default()
            });
            let dc = pc
                .create_data_channel(&format!("test-channel-{i}"), init)
                .unwrap();
            assert_ne!(dc.ready_state(), DataChannelState::Closed);
            dc
        })
        .collect()
}

#[tokio::test]
async fn wpt_208_close_closes_every_channel_synchronously() {
    // Before negotiation.
    let pc1 = pc();
    let channels = make_channels(&pc1);
    pc1.close();
    assert!(
        channels
            .iter()
            .all(|d| d.ready_state() == DataChannelState::Closed)
    );
    // After negotiation, on both sides, and the SCTP transports close too.
    let pc1 = pc();
    let pc2 = pc();
    let channels = make_channels(&pc1);
    exchange(&pc1, &pc2).await;
    let late = pc2.create_data_channel("late", None).unwrap();
    assert!(channels.iter().all(|d| d.id().is_some()));
    let (s1, s2) = (pc1.sctp().unwrap(), pc2.sctp().unwrap());
    pc1.close();
    pc2.close();
    assert!(
        channels
            .iter()
            .all(|d| d.ready_state() == DataChannelState::Closed)
    );
    assert_eq!(late.ready_state(), DataChannelState::Closed);
    assert_eq!(s1.state(), SctpTransportState::Closed);
    assert_eq!(s2.state(), SctpTransportState::Closed);
    // close() is idempotent and keeps the descriptions.
    pc1.close();
    assert_eq!(pc1.signaling_state(), SignalingState::Closed);
    assert!(pc1.current_local_description().is_some());
    assert!(pc1.current_remote_description().is_some());
}

#[tokio::test]
async fn wpt_210_after_close_senders_and_receivers_are_not_collected() {
    let pc1 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    pc1.close();
    assert_eq!(pc1.get_transceivers().len(), 2);
    assert!(pc1.get_senders().is_empty());
    assert!(pc1.get_receivers().is_empty());
    assert!(sender.track().is_some());
}
