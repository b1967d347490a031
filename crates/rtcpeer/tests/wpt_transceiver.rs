//! W3C web-platform-tests behaviours for `addTransceiver` and `RTCRtpTransceiver`
//! (checklist group 22, WPT-273..301), and `stop()` at each stage of an exchange (WPT-172,
//! WPT-285, WPT-296), through the public API. Items are numbered as in `wpt-checklist.md`.
//!
//! Out of scope or not applicable here:
//! - WPT-283 first part (a sendrecv transceiver without track connects): [net].
//! - WPT-286 `sender.setParameters` and `sender.dtmf.insertDTMF` on a stopped transceiver
//!   are tested in `wpt_rtp_parameters.rs` and `media_e2e.rs`; replaceTrack, the direction
//!   setter and a second stop() here.
//! - WPT-298: DTLS transport state of bundled transceivers: [net].

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{
    audio, current_dirs, exchange_answer, init, m_lines, nn_count, pc, trace, track_events, video,
};

use rtcpeer::{BundlePolicy, Configuration};
use rtcpeer::{
    ErrorKind, MediaKind, MediaStream, MediaStreamTrackState, PeerConnection,
    RtpTransceiverDirection as Dir, SessionDescription, SignalingState, TrackOrKind,
    TransceiverInit,
};

// ===== 22. addTransceiver and RTCRtpTransceiver =====

#[tokio::test]
async fn wpt_273_add_transceiver_with_invalid_kind_throws_type_error() {
    let pc = pc();
    for bad in ["invalid", "foo", "Audio", ""] {
        let e = TrackOrKind::try_from(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type, "{bad}");
    }
    assert!(pc.get_transceivers().is_empty());
    let ok = TrackOrKind::try_from("video").unwrap();
    let t = pc.add_transceiver(ok, TransceiverInit::default()).unwrap();
    assert_eq!(t.kind(), MediaKind::Video);
}

#[tokio::test]
async fn wpt_274_add_transceiver_initial_state() {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let pc = pc();
        let t = pc
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::SendRecv);
        assert_eq!(t.current_direction(), None);
        assert_eq!(t.sender().track(), None);
        let rt = t.receiver().track();
        assert_eq!(rt.kind(), kind);
        assert_eq!(rt.ready_state(), MediaStreamTrackState::Live);
        assert!(rt.muted());
        // webrtc-pc §5.3: the receiver's track is labelled "remote " + kind.
        assert_eq!(rt.label(), format!("remote {kind}"));
        assert_eq!(pc.get_transceivers(), vec![t.clone()]);
        assert_eq!(pc.get_senders(), vec![t.sender()]);
        assert_eq!(pc.get_receivers(), vec![t.receiver()]);
    }
}

#[tokio::test]
async fn wpt_274_add_transceiver_direction_is_reflected() {
    let pc = pc();
    for dir in [Dir::SendOnly, Dir::RecvOnly, Dir::Inactive] {
        let t = pc.add_transceiver(MediaKind::Audio, init(dir)).unwrap();
        assert_eq!(t.direction(), dir);
    }
    let e = "invalid".parse::<Dir>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    let e = pc
        .add_transceiver(MediaKind::Audio, init(Dir::Stopped))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert_eq!(pc.get_transceivers().len(), 3);
}

#[tokio::test]
async fn wpt_275_add_transceiver_with_track() {
    let pc = pc();
    let track = video();
    let t1 = pc
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    assert_eq!(t1.sender().track(), Some(track.clone()));
    let rt = t1.receiver().track();
    assert_eq!(rt.kind(), MediaKind::Video);
    assert_eq!(rt.ready_state(), MediaStreamTrackState::Live);
    assert!(rt.muted());
    let t2 = pc
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    assert_ne!(t1, t2);
    assert_ne!(t1.sender(), t2.sender());
    assert_eq!(t2.sender().track(), Some(track));
    assert_eq!(pc.get_senders().len(), 2);
}

#[tokio::test]
async fn wpt_278_direction_setter() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let mut ev = pc1.events();
    t.set_direction(Dir::RecvOnly).unwrap();
    assert!(drain(&mut ev).is_empty(), "same value is a no-op");
    exchange(&pc1, &pc2).await;
    assert_eq!(t.current_direction(), Some(Dir::Inactive));
    drain(&mut ev);
    t.set_direction(Dir::SendRecv).unwrap();
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), Some(Dir::Inactive));
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
    t.set_direction(Dir::SendRecv).unwrap();
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_280_srd_offer_creates_recvonly_transceiver_and_track_event() {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    let t = &ts[0];
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.sender().track(), None);
    assert_eq!(t.current_direction(), None);
    assert!(t.mid().is_some_and(|m| !m.is_empty()));
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    assert_eq!(&tracks[0].transceiver, t);
    assert_eq!(tracks[0].receiver, t.receiver());
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

#[tokio::test]
async fn wpt_280_srd_offer_not_sending_fires_no_track_event() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(track_events(&drain(&mut ev)).is_empty());
}

#[tokio::test]
async fn wpt_281_add_transceiver_is_not_paired_with_remote_offer() {
    for variant in 0..3 {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let local = match variant {
            0 => pc2
                .add_transceiver(MediaKind::Audio, TransceiverInit::default())
                .unwrap(),
            1 => pc2
                .add_transceiver(audio(), TransceiverInit::default())
                .unwrap(),
            _ => {
                let t = pc2
                    .add_transceiver(MediaKind::Audio, TransceiverInit::default())
                    .unwrap();
                t.sender().replace_track(Some(audio())).await.unwrap();
                t
            }
        };
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        let mut ev = pc2.events();
        pc2.set_remote_description(offer).await.unwrap();
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 2, "variant {variant}");
        assert_eq!(local.mid(), None, "variant {variant}");
        let tracks = track_events(&drain(&mut ev));
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].transceiver, ts[1]);
        assert_eq!(tracks[0].receiver, ts[1].receiver());
        assert!(tracks[0].streams.is_empty());
    }
}

#[tokio::test]
async fn wpt_282_add_track_is_paired_with_remote_offer() {
    for variant in 0..3 {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let track = audio();
        let sender = match variant {
            0 => pc2.add_track(&track, &[]).unwrap(),
            1 => {
                pc2.add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
                    .unwrap();
                pc2.add_track(&track, &[]).unwrap()
            }
            _ => pc2.add_track(&track, &[]).unwrap(),
        };
        if variant == 2 {
            sender.replace_track(None).await.unwrap();
        }
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 1, "variant {variant}");
        assert!(ts[0].mid().is_some(), "variant {variant}");
        assert_eq!(ts[0].sender(), sender);
        let want = if variant == 2 { None } else { Some(track) };
        assert_eq!(sender.track(), want, "variant {variant}");
    }
}

#[tokio::test]
async fn wpt_283_transceiver_streams_without_track_reach_remote() {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_transceiver(
        MediaKind::Audio,
        TransceiverInit {
            direction: Dir::SendRecv,
            streams: vec![stream.clone()],
            ..TransceiverInit::default()
        },
    )
    .unwrap();
    let mut ev = pc2.events();
    exchange(&pc1, &pc2).await;
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

/// pc1 and pc2 with one negotiated sendrecv audio transceiver each.
async fn sendrecv_pair() -> (PeerConnection, PeerConnection) {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.add_track(&audio(), &[]).unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    (pc1, pc2)
}

#[tokio::test]
async fn wpt_285_stop_is_immediate_but_keeps_objects_until_negotiated() {
    let (pc1, _pc2) = sendrecv_pair().await;
    let t = pc1.get_transceivers()[0].clone();
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    let receiver_track = t.receiver().track();
    assert_eq!(receiver_track.ready_state(), MediaStreamTrackState::Live);
    t.stop().unwrap();
    assert_eq!(t.direction(), Dir::Stopped);
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    assert_eq!(receiver_track.ready_state(), MediaStreamTrackState::Ended);
    assert_eq!(pc1.get_senders(), vec![t.sender()]);
    assert_eq!(pc1.get_receivers(), vec![t.receiver()]);
}

#[tokio::test]
async fn wpt_286_stopped_transceiver_rejects_changes() {
    let pc = pc();
    let t = pc
        .add_transceiver(audio(), TransceiverInit::default())
        .unwrap();
    t.stop().unwrap();
    let e = t.sender().replace_track(Some(audio())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = t.set_direction(Dir::SendRecv).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    t.stop().expect("a second stop() does not throw");
    assert_eq!(t.direction(), Dir::Stopped);
}

#[tokio::test]
async fn wpt_287_remote_side_of_stopped_section_is_removed() {
    let (pc1, pc2) = sendrecv_pair().await;
    let t1 = pc1.get_transceivers()[0].clone();
    let t2 = pc2.get_transceivers()[0].clone();
    t1.stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t2.current_direction(), Some(Dir::Stopped));
    assert_eq!(
        t2.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    assert!(pc2.get_senders().is_empty());
    assert!(pc2.get_receivers().is_empty());
    assert_eq!(
        pc1.get_transceivers().len(),
        1,
        "offerer waits for the answer"
    );
    pc1.set_remote_description(answer).await.unwrap();
    assert!(pc1.get_transceivers().is_empty());
    assert!(pc1.get_senders().is_empty());
    assert!(pc1.get_receivers().is_empty());
    assert_eq!(t1.current_direction(), Some(Dir::Stopped));
}

#[tokio::test]
async fn wpt_288_stop_on_closed_pc_throws_invalid_state() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    t.stop().unwrap();
    pc.close();
    // The closed check comes before the stopped check.
    let e = t.stop().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
}

#[tokio::test]
async fn wpt_290_answerer_stops_after_srd_offer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers()[0].clone();
    pc2.add_track(&audio(), &[]).unwrap();
    let mut ev2 = pc2.events();
    t2.stop().unwrap();
    assert_eq!(t2.current_direction(), None);
    let answer = pc2.create_answer(None).await.unwrap();
    let m = m_lines(&answer);
    assert_eq!(m.len(), 1);
    assert!(!m[0].starts_with("m=audio 0 "), "kept: {}", m[0]);
    assert!(answer.sdp.contains("a=inactive"), "{}", answer.sdp);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    assert_eq!(trace(&drain(&mut ev2)), ["ss:stable", "nn"]);
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
}

#[tokio::test]
async fn wpt_293_answerer_stop_then_follow_up_offer_removes_both() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers()[0].clone();
    t2.stop().unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let mid = t1.mid();
    assert!(mid.is_some());
    assert_eq!(t2.mid(), mid);
    assert_eq!(t1.direction(), Dir::SendRecv);
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t1.current_direction(), Some(Dir::Inactive));
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    // The stopping side offers.
    exchange(&pc2, &pc1).await;
    for (t, pc) in [(&t1, &pc1), (&t2, &pc2)] {
        assert!(pc.get_transceivers().is_empty());
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
    }
}

#[tokio::test]
async fn wpt_296_offer_after_negotiated_stop() {
    // Stopped locally.
    let (pc1, pc2) = sendrecv_pair().await;
    pc1.get_transceivers()[0].stop().unwrap();
    exchange(&pc1, &pc2).await;
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
    // Stopped remotely: pc2 creates and sets an offer.
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveLocalOffer);
}

fn rejected_audio(d: &SessionDescription) -> usize {
    m_lines(d)
        .iter()
        .filter(|m| m.starts_with("m=audio 0 "))
        .count()
}

#[tokio::test]
async fn wpt_300_no_premature_reuse_of_stopped_section() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.get_transceivers()[0].stop().unwrap();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let audio_lines = m_lines(&offer)
        .iter()
        .filter(|m| m.starts_with("m=audio"))
        .count();
    assert_eq!(audio_lines, 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(pc1.get_transceivers().len(), 1);
    // pc2 now has a recvonly transceiver from the second section; a new pc2 track takes it
    // rather than a new m-section.
    let pc2_before = pc2.get_transceivers().len();
    pc2.add_track(&audio(), &[]).unwrap();
    assert_eq!(pc2.get_transceivers().len(), pc2_before);
    // A further track on pc1 recycles the rejected slot.
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 0, "{}", offer.sdp);
    assert_eq!(m_lines(&offer).len(), 2, "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_301_rollback_then_remote_offer_of_other_kind() {
    let pc1 = pc();
    let pc2 = pc();
    let audio_t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    pc1.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(audio_t.mid(), None);
    pc2.add_track(&video(), &[]).unwrap();
    exchange(&pc2, &pc1).await;
    assert_eq!(audio_t.mid(), None);
    let video_t = pc1
        .get_transceivers()
        .into_iter()
        .find(|t| t.kind() == MediaKind::Video)
        .expect("SRD created a video transceiver");
    assert_eq!(video_t.direction(), Dir::RecvOnly);
    assert_eq!(video_t.current_direction(), Some(Dir::RecvOnly));
    assert_eq!(
        pc2.get_transceivers()[0].current_direction(),
        Some(Dir::SendOnly)
    );
}

// ----- stop() at each stage of an exchange (WPT-172, WPT-285, WPT-296) -----

/// Where in the exchange `stop()` is called.
#[derive(Debug, Clone, Copy)]
enum StopAt {
    OffererAfterCreateOffer,
    OffererAfterSetLocalOffer,
    AnswererAfterCreateAnswer,
    AnswererAfterSetLocalAnswer,
}

/// As RTCRtpTransceiver.https.html's checkStopAfter*: both sides send audio, one side stops
/// its transceiver at `at`. The current exchange still completes as negotiated (track event
/// for the offerer, currentDirection "sendrecv" on the stopping side), negotiationneeded
/// fires on the stopping side, and an exchange started by the stopping side removes the
/// transceiver on both sides. An exchange started by the other side only makes it inactive.
async fn stop_during_exchange(at: StopAt) {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    pc2.add_track(&audio(), &[&stream]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    let offer = pc1.create_offer(None).await.unwrap();
    if let StopAt::OffererAfterCreateOffer = at {
        t1.stop().unwrap();
    }
    pc2.set_remote_description(offer.clone()).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    if let StopAt::OffererAfterSetLocalOffer = at {
        t1.stop().unwrap();
    }
    let t2 = pc2.get_transceivers()[0].clone();
    let answer = pc2.create_answer(None).await.unwrap();
    if let StopAt::AnswererAfterCreateAnswer = at {
        t2.stop().unwrap();
    }
    drain(&mut ev1);
    pc1.set_remote_description(answer.clone()).await.unwrap();
    let srd_events = drain(&mut ev1);
    let tracks = track_events(&srd_events);
    assert_eq!(tracks.len(), 1, "{at:?}: the answer still sends");
    assert_eq!(tracks[0].track, t1.receiver().track());
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()], "{at:?}");
    drain(&mut ev2);
    pc2.set_local_description(Some(answer)).await.unwrap();
    if let StopAt::AnswererAfterSetLocalAnswer = at {
        t2.stop().unwrap();
    }
    let offerer_stopped = matches!(
        at,
        StopAt::OffererAfterCreateOffer | StopAt::OffererAfterSetLocalOffer
    );
    let (stopper, stopper_pc, other_pc) = if offerer_stopped {
        (&t1, &pc1, &pc2)
    } else {
        (&t2, &pc2, &pc1)
    };
    assert_eq!(stopper.direction(), Dir::Stopped, "{at:?}");
    assert_eq!(stopper.current_direction(), Some(Dir::SendRecv), "{at:?}");
    assert!(stopper.mid().is_some(), "{at:?}: still associated");
    assert_eq!(stopper_pc.get_transceivers().len(), 1, "{at:?}");
    // The offerer learns it after SRD(answer); the answerer after SLD(answer) or stop().
    let events = if offerer_stopped {
        srd_events
    } else {
        drain(&mut ev2)
    };
    assert_eq!(
        nn_count(&events),
        1,
        "{at:?}: negotiationneeded on the stopping side: {:?}",
        trace(&events)
    );
    if !offerer_stopped {
        // pc1 starts the next exchange: pc2 may only answer inactive.
        exchange(&pc1, &pc2).await;
        assert_eq!(t1.direction(), Dir::SendRecv, "{at:?}");
        assert_eq!(t1.current_direction(), Some(Dir::Inactive), "{at:?}");
        assert_eq!(t2.direction(), Dir::Stopped, "{at:?}");
        assert_eq!(t2.current_direction(), Some(Dir::Inactive), "{at:?}");
        assert_eq!(pc2.get_transceivers().len(), 1, "{at:?}");
        // Still stopping: back in stable, pc2 asks again.
        let again = drain(&mut ev2);
        assert_eq!(nn_count(&again), 1, "{at:?}: {:?}", trace(&again));
    }
    exchange(stopper_pc, other_pc).await;
    for (pc, t) in [(&pc1, &t1), (&pc2, &t2)] {
        assert!(
            pc.get_transceivers().is_empty(),
            "{at:?}: {:?} {:?} {:?}",
            t.mid(),
            t.direction(),
            t.current_direction()
        );
        assert_eq!(t.mid(), None, "{at:?}");
        assert_eq!(t.direction(), Dir::Stopped, "{at:?}");
        assert_eq!(t.current_direction(), Some(Dir::Stopped), "{at:?}");
    }
    // Nothing left to negotiate on either side.
    let rest1 = drain(&mut ev1);
    assert_eq!(nn_count(&rest1), 0, "{at:?}: {:?}", trace(&rest1));
    let rest2 = drain(&mut ev2);
    assert_eq!(nn_count(&rest2), 0, "{at:?}: {:?}", trace(&rest2));
}

#[tokio::test]
async fn wpt_172_stop_after_create_offer() {
    stop_during_exchange(StopAt::OffererAfterCreateOffer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_set_local_offer() {
    stop_during_exchange(StopAt::OffererAfterSetLocalOffer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_create_answer() {
    stop_during_exchange(StopAt::AnswererAfterCreateAnswer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_set_local_answer() {
    stop_during_exchange(StopAt::AnswererAfterSetLocalAnswer).await;
}

#[tokio::test]
async fn wpt_285_stop_is_not_rolled_back() {
    let pc = pc();
    let track = audio();
    pc.add_track(&track, &[]).unwrap();
    let t = pc.get_transceivers()[0].clone();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    // Rollback does not undo direction or track changes made meanwhile.
    t.set_direction(Dir::SendOnly).unwrap();
    let track2 = audio();
    t.sender()
        .replace_track(Some(track2.clone()))
        .await
        .unwrap();
    pc.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(t.direction(), Dir::SendOnly);
    assert_eq!(t.sender().track(), Some(track2));
    assert_eq!(t.mid(), None);
    assert_eq!(t.current_direction(), None);
    // Nor stop().
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    t.stop().unwrap();
    pc.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(t.direction(), Dir::Stopped);
    assert_eq!(
        t.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
}

#[tokio::test]
async fn wpt_280_track_event_track_is_the_receivers_and_in_its_streams() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&audio(), &[&s]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev = pc2.events();
    // SRD(offer) before the offerer applied it, as WPT does.
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let e = &tracks[0];
    assert_eq!(e.track, e.receiver.track());
    assert_eq!(e.receiver, e.transceiver.receiver());
    for stream in &e.streams {
        assert!(stream.get_tracks().contains(&e.track));
    }
}

#[tokio::test]
async fn wpt_296_transceiver_stopped_before_first_offer_gets_no_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    let a = pc1
        .add_transceiver(MediaKind::Audio, init(Dir::SendOnly))
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    a.stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert!(!offer.sdp.contains("m=audio"), "{}", offer.sdp);
    assert!(offer.sdp.contains("m=video"), "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let mut ev = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    // The never-associated stopped transceiver is gone; nothing is left to negotiate.
    assert_eq!(pc1.get_transceivers().len(), 1);
    assert_eq!(a.mid(), None);
    assert_eq!(a.current_direction(), Some(Dir::Stopped));
    assert_eq!(nn_count(&drain(&mut ev)), 0);
}

#[tokio::test]
async fn wpt_296_added_and_stopped_during_renegotiation_gets_no_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    for t in pc1.get_transceivers() {
        t.stop().unwrap();
    }
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    assert!(!offer.sdp.contains("m=video"), "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_296_stopped_sendonly_or_inactive_offers_inactive() {
    for dir in [Dir::SendOnly, Dir::Inactive] {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        exchange(&pc1, &pc2).await;
        let t = pc1.get_transceivers()[0].clone();
        t.set_direction(dir).unwrap();
        t.stop().unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        assert!(offer.sdp.contains("a=inactive"), "{dir:?}: {}", offer.sdp);
        assert_eq!(rejected_audio(&offer), 1, "{dir:?}: {}", offer.sdp);
    }
}

#[tokio::test]
async fn wpt_296_offer_after_remote_stop_negotiated() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    let (t1, t2) = (
        pc1.get_transceivers()[0].clone(),
        pc2.get_transceivers()[0].clone(),
    );
    t2.stop().unwrap();
    exchange(&pc2, &pc1).await;
    assert!(pc1.get_transceivers().is_empty());
    assert!(pc2.get_transceivers().is_empty());
    assert_eq!(t1.direction(), Dir::Stopped);
    assert_eq!(t2.direction(), Dir::Stopped);
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
}

#[tokio::test]
async fn wpt_287_removal_fires_no_negotiationneeded() {
    let (pc1, pc2) = sendrecv_pair().await;
    pc1.get_transceivers()[0].stop().unwrap();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    exchange(&pc1, &pc2).await;
    assert_eq!(
        trace(&drain(&mut ev1)),
        ["ss:have-local-offer", "ss:stable"]
    );
    assert_eq!(
        trace(&drain(&mut ev2)),
        ["ss:have-remote-offer", "ss:stable"]
    );
}

#[tokio::test]
async fn wpt_287_stopped_transceiver_senders_and_receivers_are_not_collected() {
    // getSenders()/getReceivers() run CollectSenders/CollectReceivers, which skip
    // transceivers whose [[Stopped]] is true; getTransceivers() still lists them until the
    // negotiation completes.
    let track = audio();
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let sender2 = pc2.add_track(&track, &[]).unwrap();
    exchange_answer(&pc1, &pc2).await;
    pc1.get_transceivers()[0].stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers();
    assert_eq!(t2.len(), 1, "still in the set");
    assert_eq!(t2[0].current_direction(), Some(Dir::Stopped));
    assert!(pc2.get_senders().is_empty());
    assert!(pc2.get_receivers().is_empty());
    // The stopped sender's track no longer counts as "already sent" (CollectSenders).
    assert_eq!(sender2.track(), Some(track.clone()));
    let again = pc2.add_track(&track, &[]).unwrap();
    assert_ne!(again, sender2);
    assert_eq!(pc2.get_senders(), vec![again]);
}

#[tokio::test]
async fn wpt_286_direction_setter_error_order() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    // "stopped" is not a settable direction.
    let e = t.set_direction(Dir::Stopped).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert_eq!(t.direction(), Dir::SendRecv);
    // On a stopping transceiver the [[Stopping]] check comes first.
    t.stop().unwrap();
    for dir in [Dir::Stopped, Dir::SendRecv, Dir::Inactive] {
        let e = t.set_direction(dir).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState, "{dir:?}");
    }
}

#[tokio::test]
async fn wpt_301_remote_rollback_removes_transceiver_created_by_srd() {
    // As RTCRtpTransceiver.https.html checkRemoteRollback.
    let pc1 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let pc2 = pc();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let removed = pc2.get_transceivers()[0].clone();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    assert_eq!(removed.mid(), None);
    assert_eq!(removed.current_direction(), Some(Dir::Stopped));
    assert_eq!(
        removed.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
    // The same offer again does the same thing.
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let t = pc2.get_transceivers()[0].clone();
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.current_direction(), None);
    let mid0 = t.mid();
    assert!(mid0.is_some());
    // replaceTrack and the direction setter do not keep it alive.
    let track2 = audio();
    t.sender()
        .replace_track(Some(track2.clone()))
        .await
        .unwrap();
    t.set_direction(Dir::SendRecv).unwrap();
    assert_eq!(t.mid(), mid0);
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    // A third time; now addTrack touches it, so rollback keeps it (without a mid).
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let t = pc2.get_transceivers()[0].clone();
    assert_eq!(t.mid(), mid0);
    let s2 = MediaStream::new();
    let sender = pc2.add_track(&track2, &[&s2]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(t.direction(), Dir::SendRecv);
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts, vec![t.clone()]);
    assert_eq!(t.mid(), None);
    assert_eq!(t.sender().track(), Some(track2));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), None);
    // After all this, the real exchange still fires exactly one track event.
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].transceiver, t);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    let mut ev1 = pc1.events();
    exchange_answer(&pc1, &pc2).await;
    assert_eq!(track_events(&drain(&mut ev1)).len(), 1);
}

fn max_compat() -> PeerConnection {
    PeerConnection::new(Configuration {
        bundle_policy: BundlePolicy::MaxCompat,
        ..Default::default()
    })
    .unwrap()
}

/// Implicit SLD on `a`, SRD of its local description on `b`.
async fn sld_srd(a: &PeerConnection, b: &PeerConnection) {
    a.set_local_description(None).await.unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .await
        .unwrap();
}

fn m_count(d: &SessionDescription) -> usize {
    m_lines(d).len()
}

#[tokio::test]
async fn wpt_293_and_300_m_section_reuse_sequence() {
    // As RTCRtpTransceiver.https.html checkMsectionReuse (max-compat).
    let pc1 = max_compat();
    let pc2 = max_compat();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    sld_srd(&pc1, &pc2).await;
    // The answerer stops: the section only goes inactive in this exchange.
    let t2 = pc2.get_transceivers()[0].clone();
    let stopped_mid0 = t2.mid();
    t2.stop().unwrap();
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_ne!(t2.current_direction(), Some(Dir::Stopped));
    sld_srd(&pc2, &pc1).await;
    assert_eq!(t1.mid(), stopped_mid0);
    assert_eq!(t1.direction(), Dir::SendRecv);
    assert_eq!(t1.current_direction(), Some(Dir::Inactive));
    assert_eq!(t2.mid(), stopped_mid0);
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    // Follow-up exchange pc2 -> pc1 removes both.
    sld_srd(&pc2, &pc1).await;
    sld_srd(&pc1, &pc2).await;
    for t in [&t1, &t2] {
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
    }
    assert!(pc1.get_transceivers().is_empty() && pc2.get_transceivers().is_empty());

    // The rejected m-section is reused on both ends, with a new mid.
    let (track2, stream2) = (audio(), MediaStream::new());
    pc1.add_track(&track2, &[&stream2]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 1, "{}", offer.sdp);
    assert_eq!(pc1.get_senders()[0].track(), Some(track2.clone()));
    assert_ne!(pc1.get_transceivers()[0].mid(), stopped_mid0);
    pc2.add_track(&track, &[&stream]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 1, "{}", offer.sdp);
    assert_ne!(pc2.get_transceivers()[0].mid(), stopped_mid0);
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(offer).await.unwrap();
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(answer).await.unwrap();
    let ts1 = pc1.get_transceivers();
    assert_eq!(ts1.len(), 1);
    assert_eq!(ts1[0].sender().track(), Some(track2));
    assert_eq!(ts1[0].current_direction(), Some(Dir::SendRecv));
    let mid0 = ts1[0].mid();
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].sender().track(), Some(track.clone()));
    assert_eq!(ts2[0].current_direction(), Some(Dir::SendRecv));
    assert_eq!(ts2[0].mid(), mid0);

    // Stop + addTrack: no premature reuse (one rejected section plus a new one).
    let stopped_mid1 = mid0;
    ts1[0].stop().unwrap();
    let (track3, stream3) = (audio(), MediaStream::new());
    pc1.add_track(&track3, &[&stream3]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc2.get_transceivers()[1].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream3.id()]);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].sender().track(), None);
    assert_eq!(ts2[0].current_direction(), Some(Dir::RecvOnly));
    let mid1 = ts2[0].mid();
    assert_ne!(mid1, stopped_mid1);

    // A new track on pc2 takes the recvonly transceiver rather than the rejected section.
    pc2.add_track(&track3, &[&stream3]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].mid(), mid1);
    assert_eq!(ts2[0].sender().track(), Some(track3));
    assert_eq!(ts2[0].current_direction(), Some(Dir::RecvOnly));
    assert_eq!(ts2[0].direction(), Dir::SendRecv);
    // Another track reuses the rejected section, with a fresh mid.
    let track4 = audio();
    pc2.add_track(&track4, &[&MediaStream::new()]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 2);
    assert_eq!(ts2[0].mid(), mid1);
    assert_eq!(ts2[1].sender().track(), Some(track4));
    let mid4 = ts2[1].mid();
    assert!(mid4.is_some());
    assert_ne!(mid4, mid1);
    assert_ne!(mid4, stopped_mid0);
    assert_ne!(mid4, stopped_mid1);
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 0, "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_300_stop_after_create_offer_with_reused_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&audio(), &[&s]).unwrap();
    pc1.add_track(&video(), &[&s]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.get_transceivers()[1].stop().unwrap();
    exchange(&pc1, &pc2).await;
    // The video section is negotiated rejected; a new transceiver recycles it in the
    // offer, then stops before the offer is applied.
    let t = pc1
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    t.stop().unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    exchange_answer(&pc1, &pc2).await;
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_293_answerer_stops_one_of_two_then_both_sides_offer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    exchange(&pc1, &pc2).await;
    pc2.get_transceivers()[0].stop().unwrap();
    exchange(&pc1, &pc2).await;
    assert_eq!(
        pc2.get_transceivers().len(),
        2,
        "pc1's offer cannot finish the stop"
    );
    exchange(&pc2, &pc1).await;
    assert_eq!(pc1.get_transceivers().len(), 1);
    assert_eq!(pc2.get_transceivers().len(), 1);
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    assert_eq!(m_count(&offer), 2);
}

#[tokio::test]
async fn wpt_278_current_direction_through_renegotiations() {
    // As RTCRtpTransceiver.https.html checkCurrentDirection.
    let pc1 = pc();
    let pc2 = pc();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    pc2.add_track(&track, &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(current_dirs(&pc1), [None]);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [None]);
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(track_events(&drain(&mut ev2)).len(), 1);
    assert_eq!(current_dirs(&pc2), [None]);
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(current_dirs(&pc2), [None]);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(track_events(&drain(&mut ev1)).len(), 1);
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);

    // pc2 goes sendonly.
    pc2.get_transceivers()[0]
        .set_direction(Dir::SendOnly)
        .unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc1.set_remote_description(offer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [Some(Dir::RecvOnly)]);
    drain(&mut ev2);
    pc2.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev2)).is_empty());
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendOnly)]);

    // And back to sendrecv: pc2 receives again, so a new track event fires there.
    pc2.get_transceivers()[0]
        .set_direction(Dir::SendRecv)
        .unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendOnly)]);
    pc1.set_remote_description(offer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    assert_eq!(current_dirs(&pc1), [Some(Dir::RecvOnly)]);
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);
    drain(&mut ev2);
    pc2.set_remote_description(answer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc2.get_transceivers()[0].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc2.close();
    assert_eq!(current_dirs(&pc2), [Some(Dir::Stopped)]);
}

#[tokio::test]
async fn wpt_283_sendrecv_without_send_track_fires_track_events_both_ways() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let stream = MediaStream::new();
    pc2.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].streams.is_empty());
    pc1.set_local_description(Some(offer)).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    let tracks = track_events(&drain(&mut ev1));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc1.get_transceivers()[0].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

#[tokio::test]
async fn wpt_280_offer_without_mid_still_creates_a_transceiver_with_a_mid() {
    // As RTCRtpTransceiver.https.html checkNoMidOffer.
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let munged = SessionDescription::offer(offer.sdp.replacen("a=mid:", "a=unknownattr:", 1));
    pc2.set_remote_description(munged).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(ts[0].mid().is_some_and(|m| !m.is_empty()));
    exchange_answer(&pc1, &pc2).await;
}

#[tokio::test]
async fn wpt_280_answer_without_mid_or_group_is_accepted() {
    // As RTCRtpTransceiver.https.html checkNoMidAnswer.
    let pc1 = pc();
    let pc2 = pc();
    let track = audio();
    pc1.add_track(&track, &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let sdp = answer.sdp.replacen("a=mid:", "a=unknownattr:", 1).replacen(
        "a=group:",
        "a=unknownattr:",
        1,
    );
    pc1.set_remote_description(SessionDescription::answer(sdp))
        .await
        .unwrap();
    let t = &pc1.get_transceivers()[0];
    assert!(t.mid().is_some());
    assert_eq!(t.sender().track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    let reoffer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(reoffer)).await.unwrap();
}

#[tokio::test]
async fn wpt_280_msid_without_track_id_is_accepted() {
    // As RTCRtpTransceiver.https.html checkMsidNoTrackId.
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let sdp: String = offer
        .sdp
        .split("\r\n")
        .map(|l| {
            if l.starts_with("a=msid:") {
                l.split(' ').next().unwrap_or(l).to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(sdp.contains(&format!("a=msid:{}\r\n", stream.id())));
    let mut ev = pc2.events();
    pc2.set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
}
