//! Media end to end between two `PeerConnection`s in one process over real UDP on
//! 127.0.0.1: RTP both ways through DTLS-SRTP (RFC 5764), key-frame requests (RFC 4585
//! PLI) and DTMF (RFC 4733, webrtc-pc §7) through the API's sender and receiver objects.

mod common;

use std::time::Duration;

use common::net::{pc, wait_gathered, within};
use rtcpeer::{
    MediaEvent, MediaKind, OutgoingRtp, PeerConnection, PeerConnectionEvent, PeerConnectionState,
    RtpTransceiver, RtpTransceiverDirection, TransceiverInit,
};

/// Offer/answer with both sides sending and receiving every transceiver.
async fn negotiate_sendrecv(pc1: &PeerConnection, pc2: &PeerConnection) {
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    for t in pc2.get_transceivers() {
        // Transceivers the offer stopped refuse a direction (InvalidStateError): skipped.
        if t.current_direction() != Some(RtpTransceiverDirection::Stopped)
            && t.receiver().transport().is_some()
        {
            t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
        }
    }
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    wait_gathered(pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
}

async fn connected(pc: &PeerConnection) {
    let mut ev = pc.events();
    within("connectionState connected", async {
        while pc.connection_state() != PeerConnectionState::Connected {
            match ev.recv().await {
                Some(PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Failed)) => {
                    panic!("connection failed")
                }
                Some(_) => {}
                None => panic!("events ended"),
            }
        }
    })
    .await;
}

fn of_kind(pc: &PeerConnection, kind: MediaKind) -> RtpTransceiver {
    pc.get_transceivers()
        .into_iter()
        .find(|t| t.kind() == kind)
        .expect("a transceiver of that kind")
}

async fn pair() -> (PeerConnection, PeerConnection) {
    let (pc1, pc2) = (pc(), pc());
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let init = TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            ..TransceiverInit::default()
        };
        pc1.add_transceiver(kind, init).unwrap();
    }
    negotiate_sendrecv(&pc1, &pc2).await;
    connected(&pc1).await;
    connected(&pc2).await;
    (pc1, pc2)
}

#[tokio::test]
async fn rtp_both_ways_through_the_sender_and_receiver_objects() {
    let (pc1, pc2) = pair().await;
    let (v1, v2) = (
        of_kind(&pc1, MediaKind::Video),
        of_kind(&pc2, MediaKind::Video),
    );
    let (a1, a2) = (
        of_kind(&pc1, MediaKind::Audio),
        of_kind(&pc2, MediaKind::Audio),
    );
    for i in 0..100u32 {
        let payload = i.to_be_bytes();
        let rtp = OutgoingRtp {
            payload_type: None,
            timestamp: i * 3000,
            marker: i % 10 == 9,
            payload: &payload,
        };
        assert!(v1.sender().send_rtp(&rtp).is_some(), "packet {i} sent");
        let back = OutgoingRtp {
            timestamp: i * 960,
            marker: false,
            ..rtp
        };
        assert!(a2.sender().send_rtp(&back).is_some());
    }
    let receiver = v2.receiver();
    let mut got = Vec::new();
    within("100 video packets", async {
        while got.len() < 100 {
            match receiver.recv().await {
                Some(MediaEvent::Rtp(r)) => got.push(r),
                Some(other) => panic!("unexpected {other:?}"),
                None => panic!("receiver ended"),
            }
        }
    })
    .await;
    let payloads: Vec<u32> = got
        .iter()
        .map(|r| u32::from_be_bytes(r.payload[..].try_into().unwrap()))
        .collect();
    assert_eq!(payloads, (0..100).collect::<Vec<u32>>(), "in order, intact");
    assert!(
        got.windows(2)
            .all(|w| w[1].sequence_number == w[0].sequence_number + 1)
    );
    assert_eq!(got.iter().filter(|r| r.marker).count(), 10);
    assert_eq!(got[3].timestamp, 9000);
    // getSynchronizationSources (webrtc-pc §5.3.4): the one SSRC, its last RTP timestamp.
    let sources = receiver.get_synchronization_sources();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].source, got[0].ssrc);
    assert_eq!(sources[0].rtp_timestamp, 99 * 3000);
    assert!(sources[0].audio_level.is_none());
    assert!(receiver.get_contributing_sources().is_empty());
    let audio = a1.receiver();
    let mut n = 0;
    within("100 audio packets back", async {
        while n < 100 {
            if let Some(MediaEvent::Rtp(_)) = audio.recv().await {
                n += 1;
            }
        }
    })
    .await;
    // close() ends the receiver's stream (after anything still queued).
    pc1.close();
    pc2.close();
    within("the end of the stream", async {
        while receiver.recv().await.is_some() {}
    })
    .await;
}

#[tokio::test]
async fn keyframe_requests_reach_the_remote_sender() {
    let (pc1, pc2) = pair().await;
    let (v1, v2) = (
        of_kind(&pc1, MediaKind::Video),
        of_kind(&pc2, MediaKind::Video),
    );
    // Nothing received yet: nobody to ask.
    assert!(!v2.receiver().request_keyframe());
    let rtp = OutgoingRtp {
        payload_type: None,
        timestamp: 0,
        marker: true,
        payload: b"frame",
    };
    v1.sender().send_rtp(&rtp).unwrap();
    within("the packet", v2.receiver().recv()).await.unwrap();
    assert!(v2.receiver().request_keyframe());
    let fb = within("the key-frame request", v1.sender().recv_feedback()).await;
    assert_eq!(fb, Some(MediaEvent::KeyframeRequest));
}

#[tokio::test]
async fn dtmf_tones_play_out_with_tonechange_and_reach_the_remote() {
    let (pc1, pc2) = pair().await;
    let (a1, a2) = (
        of_kind(&pc1, MediaKind::Audio),
        of_kind(&pc2, MediaKind::Audio),
    );
    assert!(of_kind(&pc1, MediaKind::Video).sender().dtmf().is_none());
    let dtmf = a1.sender().dtmf().expect("an audio sender has dtmf");
    assert!(dtmf.can_insert_dtmf());
    let err = dtmf
        .insert_dtmf("12z", Duration::from_millis(100), Duration::from_millis(70))
        .unwrap_err();
    assert_eq!(err.name(), "InvalidCharacterError");
    dtmf.insert_dtmf("1a", Duration::from_millis(100), Duration::from_millis(70))
        .unwrap();
    assert_eq!(dtmf.tone_buffer(), "A");
    let sender = a1.sender();
    let mut changes = Vec::new();
    within("tonechange events", async {
        while changes.last() != Some(&String::new()) {
            if let Some(MediaEvent::ToneChange(t)) = sender.recv_feedback().await {
                changes.push(t.tone);
            }
        }
    })
    .await;
    assert_eq!(changes, ["1", "A", ""]);
    let receiver = a2.receiver();
    let mut tones = Vec::new();
    within("telephone events at the remote", async {
        while tones.len() < 4 {
            if let Some(MediaEvent::Dtmf(t)) = receiver.recv().await {
                tones.push((t.tone, t.ended.is_some()));
            }
        }
    })
    .await;
    assert_eq!(
        tones,
        [
            (Some('1'), false),
            (Some('1'), true),
            (Some('A'), false),
            (Some('A'), true)
        ]
    );
}

#[tokio::test]
async fn wpt_345_wpt_286_insert_dtmf_throws_invalid_state_when_it_cannot_send() {
    let (pc1, pc2) = pair().await;
    let audio = of_kind(&pc1, MediaKind::Audio);
    let dtmf = audio.sender().dtmf().unwrap();
    let tone = Duration::from_millis(100);
    let gap = Duration::from_millis(70);
    dtmf.insert_dtmf("1", tone, gap).unwrap();
    // currentDirection "recvonly": renegotiate with our side receiving only.
    audio
        .set_direction(RtpTransceiverDirection::RecvOnly)
        .unwrap();
    negotiate_sendrecv(&pc1, &pc2).await;
    assert_eq!(
        audio.current_direction(),
        Some(RtpTransceiverDirection::RecvOnly)
    );
    assert!(!dtmf.can_insert_dtmf());
    let e = dtmf.insert_dtmf("2", tone, gap).unwrap_err();
    assert_eq!(e.name(), "InvalidStateError");
    // A stopped transceiver (WPT-286).
    audio
        .set_direction(RtpTransceiverDirection::SendRecv)
        .unwrap();
    audio.stop().unwrap();
    let e = dtmf.insert_dtmf("3", tone, gap).unwrap_err();
    assert_eq!(e.name(), "InvalidStateError");
    // After close() (WPT-345's removeTrack + close).
    let video = of_kind(&pc1, MediaKind::Video);
    pc1.close();
    assert!(video.sender().dtmf().is_none());
    let e = dtmf.insert_dtmf("4", tone, gap).unwrap_err();
    assert_eq!(e.name(), "InvalidStateError");
    pc2.close();
}

#[tokio::test]
async fn wpt_332_sender_and_remote_receiver_transports_reach_connected() {
    let (pc1, pc2) = pair().await;
    let sender = of_kind(&pc1, MediaKind::Audio).sender();
    let receiver = of_kind(&pc2, MediaKind::Audio).receiver();
    let (t1, t2) = (sender.transport().unwrap(), receiver.transport().unwrap());
    assert_eq!(t1.state(), rtcpeer::DtlsTransportState::Connected);
    assert_eq!(t2.state(), rtcpeer::DtlsTransportState::Connected);
    // Bundled: the same transport as the other m-section's (and the connection's).
    assert_eq!(
        Some(t1),
        of_kind(&pc1, MediaKind::Video).receiver().transport()
    );
}

#[tokio::test]
async fn wpt_111_rollback_resets_the_receivers_transport() {
    let (pc1, pc2) = (common::net::pc(), common::net::pc());
    // A transceiver addTrack attached to is kept by the rollback, without mid or transport.
    let track = rtcpeer::MediaStreamTrack::new(MediaKind::Audio, "mic");
    let sender = pc2.add_track(&track, &[]).unwrap();
    assert!(sender.transport().is_none(), "not associated yet");
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t = of_kind(&pc2, MediaKind::Audio);
    assert!(t.receiver().transport().is_some());
    pc2.set_remote_description(rtcpeer::SessionDescription::new(
        rtcpeer::SdpType::Rollback,
        String::new(),
    ))
    .await
    .unwrap();
    assert_eq!(t.mid(), None);
    assert!(t.receiver().transport().is_none());
    assert!(sender.transport().is_none());
}

#[tokio::test]
async fn wpt_85_rolled_back_reoffer_keeps_negotiated_transports_and_nulls_the_new_one() {
    let (pc1, pc2) = pair().await;
    let old = of_kind(&pc1, MediaKind::Audio);
    let added = pc1
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert!(added.sender().transport().is_some());
    pc1.set_local_description(Some(rtcpeer::SessionDescription::new(
        rtcpeer::SdpType::Rollback,
        String::new(),
    )))
    .await
    .unwrap();
    assert!(added.sender().transport().is_none());
    assert!(added.receiver().transport().is_none());
    let kept = old
        .sender()
        .transport()
        .expect("the negotiated transceiver keeps it");
    assert_eq!(kept.state(), rtcpeer::DtlsTransportState::Connected);
    // The connection then accepts a remote offer.
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(offer).await.unwrap();
}

#[tokio::test]
async fn readers_of_a_removed_transceiver_see_the_end() {
    let (pc1, pc2) = pair().await;
    let video = of_kind(&pc1, MediaKind::Video);
    let (receiver, sender) = (video.receiver(), video.sender());
    video.stop().unwrap();
    negotiate_sendrecv(&pc1, &pc2).await;
    // The stopped transceiver was negotiated away and forgotten: its readers end at once,
    // also when they start reading after the removal.
    within("the receiver's end", async {
        while receiver.recv().await.is_some() {}
    })
    .await;
    assert_eq!(
        within("the sender's end", sender.recv_feedback()).await,
        None
    );
    pc1.close();
    pc2.close();
}

/// `setParameters` with the only encoding inactive stops the sender (webrtc-pc §5.2.2
/// `active`): nothing is sent or received until it is active again, and the stream then
/// goes on where it was (the sequence numbers follow on, the media clock ran on).
#[tokio::test]
async fn an_inactive_encoding_sends_nothing_until_reactivated() {
    let (pc1, pc2) = pair().await;
    let sender = of_kind(&pc1, MediaKind::Video).sender();
    let receiver = of_kind(&pc2, MediaKind::Video).receiver();
    let set_active = |active: bool| {
        let sender = sender.clone();
        async move {
            let mut p = sender.get_parameters();
            p.encodings[0].active = active;
            sender.set_parameters(p).await.unwrap();
        }
    };
    let rtp = |i: u32, payload: &'static [u8]| OutgoingRtp {
        payload_type: None,
        timestamp: i * 3000,
        marker: true,
        payload,
    };
    let first = sender.send_rtp(&rtp(0, b"before")).expect("active: sent");
    set_active(false).await;
    assert_eq!(sender.send_rtp(&rtp(1, b"while inactive")), None);
    assert_eq!(
        sender
            .send_frame(&[0x10, 0, 0, 0x9d, 1, 0x2a], Duration::from_millis(33))
            .unwrap(),
        0,
        "an inactive sender packetizes nothing"
    );
    set_active(true).await;
    let after = sender
        .send_rtp(&rtp(2, b"after"))
        .expect("active again: sent");
    assert_eq!(
        after,
        first.wrapping_add(1),
        "no sequence number was used meanwhile"
    );
    let mut got = Vec::new();
    within("the two packets sent while active", async {
        while got.len() < 2 {
            if let Some(MediaEvent::Rtp(r)) = receiver.recv().await {
                got.push(r.payload.to_vec());
            }
        }
    })
    .await;
    assert_eq!(got, [b"before".to_vec(), b"after".to_vec()]);
    let c = pc1.media_counters();
    assert_eq!(c.rtp_sent, 2, "{c:?}");
}

/// A receiver's track starts muted and unmutes when its first RTP packet arrives (webrtc-pc
/// §5.3 "receiving media"); renegotiated not to receive it mutes, and media arriving after
/// it receives again unmutes it again; each change fires `unmute` / `mute` on the track
/// (mediacapture-main §4.3.1), and the remote side stopping the transceiver fires `ended`.
#[tokio::test]
async fn a_remote_track_unmutes_when_media_arrives() {
    let (pc1, pc2) = pair().await;
    let sender = of_kind(&pc1, MediaKind::Video).sender();
    let remote = of_kind(&pc2, MediaKind::Video);
    let track = remote.receiver().track();
    let mut track_events = track.events();
    assert!(track.muted(), "muted before any media");
    let rtp = |i: u32| OutgoingRtp {
        payload_type: None,
        timestamp: i * 3000,
        marker: true,
        payload: b"frame",
    };
    let receiver = remote.receiver();
    let unmuted = |track: rtcpeer::MediaStreamTrack| async move {
        within("the track unmutes", async {
            // Each packet that arrives lets the test look again.
            let mut i = 0;
            while track.muted() {
                receiver.recv().await;
                i += 1;
                assert!(i < 1000);
            }
        })
        .await
    };
    for i in 0..20 {
        assert!(sender.send_rtp(&rtp(i)).is_some());
    }
    unmuted(track.clone()).await;
    // pc1 stops sending: pc2's track mutes with the negotiation (currentDirection
    // "inactive" on pc2's side).
    of_kind(&pc1, MediaKind::Video)
        .set_direction(RtpTransceiverDirection::RecvOnly)
        .unwrap();
    negotiate_sendrecv(&pc1, &pc2).await;
    assert!(track.muted(), "muted by the negotiation");
    of_kind(&pc1, MediaKind::Video)
        .set_direction(RtpTransceiverDirection::SendRecv)
        .unwrap();
    negotiate_sendrecv(&pc1, &pc2).await;
    assert!(track.muted(), "still muted: no media yet");
    let receiver = remote.receiver();
    for i in 20..40 {
        sender.send_rtp(&rtp(i));
    }
    within("the track unmutes again", async {
        while track.muted() {
            receiver.recv().await;
        }
    })
    .await;
    use rtcpeer::MediaStreamTrackEvent as E;
    let seen: Vec<E> = std::iter::from_fn(|| track_events.try_recv()).collect();
    assert_eq!(seen, [E::Unmute, E::Mute, E::Unmute]);
    // pc1 stops the transceiver: once negotiated, pc2's track ends with an `ended` event
    // (the source ended; `stop()` by the application fires none).
    of_kind(&pc1, MediaKind::Video).stop().unwrap();
    negotiate_sendrecv(&pc1, &pc2).await;
    let ended = within("ended", track_events.recv()).await;
    assert_eq!(ended, Some(E::Ended));
    assert_eq!(track.ready_state().to_string(), "ended");
    let local = rtcpeer::MediaStreamTrack::new(MediaKind::Audio, "local");
    let mut local_events = local.events();
    local.stop();
    assert_eq!(local_events.try_recv(), None);
}
