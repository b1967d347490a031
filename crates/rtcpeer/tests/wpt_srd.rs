//! WPT-derived integration tests for checklist group 8 (setRemoteDescription: offer,
//! answer, pranswer, rollback, validation, WPT-92..116), with the rollback details of
//! RTCPeerConnection-setRemoteDescription-rollback.html. See
//! /work/shared/conformance/wpt-checklist.md.
//!
//! Items not covered here, and why:
//! - WPT-97: tested with the ICE candidate items (`wpt_ice_candidates.rs`).
//! - WPT-103 (partly): in JavaScript the pending promise never settles after `close()`; a Rust
//!   future must complete, so the equivalent tested is "fails with InvalidStateError, nothing
//!   is applied, no event fires, state is closed".
//! - WPT-105 [net]: needs ICE connectivity with inline candidates.
//! - WPT-111 (partly): `receiver.transport` is not exposed yet (no DTLS transport objects);
//!   the mid / currentDirection / track / count parts are tested.
//!
//! Tests named `wpt_8_*` cover behaviour of the same WPT files that the checklist does not
//! number (SRD(rollback) state rules and stream restoration from
//! RTCPeerConnection-setRemoteDescription-rollback.html).

mod common;

use common::signaling::{drain, exchange};
use common::wpt::remote::{audio, count_nn, edit, munge, parse, pc, states, video};

use rtcpeer::*;
use rtcpeer_proto::sdp::Sdp;

// ---------------------------------------------------------------------------------------------
// 8. setRemoteDescription
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wpt_92_srd_offer_in_stable_goes_have_remote_offer() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc2.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(pc2.remote_description(), Some(offer.clone()));
    assert_eq!(pc2.pending_remote_description(), Some(offer.clone()));
    assert_eq!(pc2.current_remote_description(), None);
    assert_eq!(states(&mut ev), ["have-remote-offer"]);
}

#[tokio::test]
async fn wpt_92_srd_same_offer_twice_fires_one_event() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc2.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(pc2.pending_remote_description(), Some(offer));
    assert_eq!(states(&mut ev), ["have-remote-offer"]);
}

#[tokio::test]
async fn wpt_92_srd_second_offer_replaces_pending_remote() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc2.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer1 = pc1.create_offer(None).await.unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer2 = pc1.create_offer(None).await.unwrap();
    assert_ne!(offer1.sdp, offer2.sdp);
    pc2.set_remote_description(offer1).await.unwrap();
    pc2.set_remote_description(offer2.clone()).await.unwrap();
    assert_eq!(pc2.remote_description(), Some(offer2.clone()));
    assert_eq!(pc2.pending_remote_description(), Some(offer2));
    assert_eq!(pc2.current_remote_description(), None);
    assert_eq!(states(&mut ev), ["have-remote-offer"]);
}

#[tokio::test]
async fn wpt_93_srd_invalid_sdp_rejects_rtc_error_sdp_syntax_error() {
    let pc = pc();
    let mut ev = pc.events();
    let err = pc
        .set_remote_description(SessionDescription::offer("Invalid SDP"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "OperationError");
    assert_eq!(err.detail().map(|d| d.as_str()), Some("sdp-syntax-error"));
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert_eq!(pc.remote_description(), None);
    assert!(states(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_98_srd_invalid_offer_in_have_local_offer_still_rolls_back() {
    let pc = pc();
    let mut ev = pc.events();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    let err = pc
        .set_remote_description(SessionDescription::offer("Invalid SDP"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "OperationError");
    assert_eq!(err.detail().map(|d| d.as_str()), Some("sdp-syntax-error"));
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert_eq!(pc.pending_local_description(), None);
    assert_eq!(pc.pending_remote_description(), None);
    assert_eq!(states(&mut ev), ["have-local-offer", "stable"]);
}

#[tokio::test]
async fn wpt_99_reapplying_same_remote_offer_keeps_one_transceiver() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    assert_eq!(pc2.get_transceivers().len(), 1);
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(pc2.get_transceivers().len(), 1);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.get_transceivers().len(), 1);
}

#[tokio::test]
async fn wpt_101_remote_offer_with_duplicate_msid_rejects_operation_error() {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::with_id("stream");
    let t1 = audio("a1");
    let t2 = audio("a2");
    pc1.add_track(&t1, &[&stream]).unwrap();
    pc1.add_track(&t2, &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    // Make the second m-section claim the first one's track.
    let bad = munge(&offer, |s| edit(s, t2.id(), t1.id()));
    let sdp = Sdp::parse(&bad.sdp).unwrap();
    assert_eq!(sdp.media.len(), 2);
    assert_ne!(sdp.media[0].mid(), sdp.media[1].mid());
    let err = pc2.set_remote_description(bad).await.unwrap_err();
    assert_eq!(err.name(), "OperationError");
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_102_srd_bogus_type_is_type_error() {
    let err = SessionDescription::from_json(r#"{"type":"bogus","sdp":"Invalid SDP"}"#).unwrap_err();
    assert_eq!(err.name(), "TypeError");
}

#[tokio::test]
async fn wpt_102_srd_answer_in_stable_checks_state_before_sdp() {
    let pc = pc();
    let err = pc
        .set_remote_description(SessionDescription::answer("invalid"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    let err = pc
        .set_remote_description(SessionDescription::pranswer("invalid"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
}

#[tokio::test]
async fn wpt_103_close_while_srd_offer_pending() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev = pc2.events();
    let op = pc2.set_remote_description(offer);
    pc2.close();
    assert_eq!(pc2.signaling_state(), SignalingState::Closed);
    // JS: never settles. Rust: completes with InvalidStateError and applies nothing.
    let err = op.await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(pc2.signaling_state(), SignalingState::Closed);
    assert_eq!(pc2.remote_description(), None);
    assert!(pc2.get_transceivers().is_empty());
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_103_close_while_srd_offer_with_implicit_rollback_pending() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc2.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    let local = pc2.local_description();
    let mut ev = pc2.events();
    let op = pc2.set_remote_description(offer);
    pc2.close();
    let err = op.await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(pc2.signaling_state(), SignalingState::Closed);
    assert_eq!(pc2.remote_description(), None);
    assert_eq!(pc2.local_description(), local);
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_104_second_remote_offer_after_round_is_pending() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer1 = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer1.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer1.clone()).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();

    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer2 = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer2.clone()).await.unwrap();
    assert_eq!(pc2.remote_description(), Some(offer2.clone()));
    assert_eq!(pc2.current_remote_description(), Some(offer1));
    assert_eq!(pc2.pending_remote_description(), Some(offer2));

    // The former offerer (pc1, now stable) becomes the answerer.
    let mut ev = pc1.events();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    let reoffer = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(reoffer.clone()).await.unwrap();
    assert_eq!(pc1.remote_description(), Some(reoffer.clone()));
    assert_eq!(pc1.pending_remote_description(), Some(reoffer));
    assert_eq!(pc1.current_remote_description(), Some(answer));
    assert_eq!(states(&mut ev), ["have-remote-offer"]);
}

#[tokio::test]
async fn wpt_106_srd_answer_in_have_local_offer_goes_stable() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc1.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(pc1.current_local_description(), Some(offer));
    assert_eq!(pc1.current_remote_description(), Some(answer));
    assert_eq!(pc1.pending_local_description(), None);
    assert_eq!(pc1.pending_remote_description(), None);
    assert_eq!(states(&mut ev), ["have-local-offer", "stable"]);
}

#[tokio::test]
async fn wpt_106_srd_answer_in_stable_or_have_remote_offer_is_invalid_state() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();

    let stable = pc();
    let err = stable
        .set_remote_description(answer.clone())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(stable.signaling_state(), SignalingState::Stable);

    // pc2 is in have-remote-offer.
    let err = pc2.set_remote_description(answer).await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
}

#[tokio::test]
async fn wpt_107_srd_pranswer_in_stable_is_invalid_state() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let pranswer = SessionDescription::pranswer(answer.sdp);
    let err = pc().set_remote_description(pranswer).await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
}

#[tokio::test]
async fn wpt_107_srd_pranswer_then_answer() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc1.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let pranswer = SessionDescription::pranswer(answer.sdp.clone());

    pc1.set_remote_description(pranswer.clone()).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemotePranswer);
    assert_eq!(pc1.local_description(), Some(offer.clone()));
    assert_eq!(pc1.pending_local_description(), Some(offer.clone()));
    assert_eq!(pc1.current_local_description(), None);
    assert_eq!(pc1.remote_description(), Some(pranswer.clone()));
    assert_eq!(pc1.pending_remote_description(), Some(pranswer.clone()));
    assert_eq!(pc1.current_remote_description(), None);

    // A repeated pranswer fires no event.
    pc1.set_remote_description(pranswer).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemotePranswer);

    pc1.set_remote_description(answer.clone()).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(pc1.current_local_description(), Some(offer));
    assert_eq!(pc1.current_remote_description(), Some(answer));
    assert_eq!(pc1.pending_local_description(), None);
    assert_eq!(pc1.pending_remote_description(), None);
    assert_eq!(
        states(&mut ev),
        ["have-local-offer", "have-remote-pranswer", "stable"]
    );
}

#[tokio::test]
async fn wpt_110_local_offer_survives_remote_offer_and_rollback() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    // The remote offer puts a video section first and an audio section second, so applying
    // it would associate the audio transceiver differently.
    pc2.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    pc2.add_track(&audio("a"), &[]).unwrap();
    let remote = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(remote).await.unwrap();
    pc1.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(t.mid(), None);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(pc1.local_description(), Some(offer.clone()));
    assert_eq!(t.mid().as_deref(), parse(&offer).media[0].mid());
}

#[tokio::test]
async fn wpt_111_srd_rollback_removes_transceivers_created_by_remote_offer() {
    for variant in ["plain", "replace_track", "set_direction"] {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 1, "{variant}");
        let t = ts[0].clone();
        assert!(t.mid().is_some());
        match variant {
            "replace_track" => t.sender().replace_track(Some(audio("r"))).await.unwrap(),
            "set_direction" => t.set_direction(RtpTransceiverDirection::SendRecv).unwrap(),
            _ => {}
        }
        pc2.set_remote_description(SessionDescription::rollback())
            .await
            .unwrap();
        assert_eq!(pc2.get_transceivers().len(), 0, "{variant}");
        assert_eq!(t.mid(), None, "{variant}");
        assert_eq!(
            t.current_direction(),
            Some(RtpTransceiverDirection::Stopped),
            "{variant}"
        );
        assert_eq!(
            t.receiver().track().ready_state(),
            MediaStreamTrackState::Ended,
            "{variant}"
        );
    }
}

#[tokio::test]
async fn wpt_111_srd_rollback_keeps_add_track_transceiver() {
    // addTrack after the SRD (attaches to the remote-created transceiver), addTrack before
    // it (the transceiver is reused), and addTrack followed by replaceTrack(null).
    for variant in ["after", "before", "after_replace_null"] {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        let track = audio("a");
        if variant == "before" {
            pc2.add_track(&track, &[]).unwrap();
        }
        pc2.set_remote_description(offer).await.unwrap();
        if variant != "before" {
            pc2.add_track(&track, &[]).unwrap();
        }
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 1, "{variant}");
        let t = ts[0].clone();
        assert_eq!(t.sender().track(), Some(track.clone()), "{variant}");
        assert!(t.mid().is_some(), "{variant}");
        if variant == "after_replace_null" {
            t.sender().replace_track(None).await.unwrap();
        }
        pc2.set_remote_description(SessionDescription::rollback())
            .await
            .unwrap();
        assert_eq!(pc2.get_transceivers(), vec![t.clone()], "{variant}");
        assert_eq!(t.mid(), None, "{variant}");
        assert_ne!(
            t.current_direction(),
            Some(RtpTransceiverDirection::Stopped),
            "{variant}"
        );
    }
}

#[tokio::test]
async fn wpt_114_remove_track_during_rollback_is_harmless() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let sender = pc2.add_track(&audio("a"), &[]).unwrap();
    // removeTrack while the rollback is enqueued but not yet run, and again after it ran.
    let rollback = pc2.set_remote_description(SessionDescription::rollback());
    pc2.remove_track(&sender).unwrap();
    rollback.await.unwrap();
    pc2.remove_track(&sender).unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    assert_eq!(sender.track(), None);
}

#[tokio::test]
async fn wpt_114_implicit_rollback_of_data_only_offer_keeps_channel_connecting() {
    let pc1 = pc();
    let pc2 = pc();
    let dc = pc1.create_data_channel("dc", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    pc2.create_data_channel("other", None).unwrap();
    let remote = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(remote.clone()))
        .await
        .unwrap();
    // Glare: the remote offer rolls pc1's data-only offer back.
    pc1.set_remote_description(remote).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemoteOffer);
    pc1.set_local_description(None).await.unwrap();
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(dc.ready_state(), DataChannelState::Connecting);
    // A re-offer from pc1.
    exchange(&pc1, &pc2).await;
    assert_eq!(dc.ready_state(), DataChannelState::Connecting);
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_116_implicit_rollback_with_equal_mids() {
    let pc1 = pc();
    let pc2 = pc();
    let init = || TransceiverInit {
        direction: RtpTransceiverDirection::SendOnly,
        ..TransceiverInit::default()
    };
    let t1 = pc1.add_transceiver(MediaKind::Video, init()).unwrap();
    let t2 = pc2.add_transceiver(MediaKind::Video, init()).unwrap();
    pc1.set_local_description(None).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    let first_mid = t1.mid();
    assert!(first_mid.is_some());
    assert_eq!(t1.mid(), t2.mid());
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[0], t1);
    assert_eq!(ts[0].mid(), None);
    assert_eq!(ts[1].mid(), t2.mid());
    // Answer, then re-offer: the first transceiver needs a fresh mid.
    pc1.set_local_description(None).await.unwrap();
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    let reoffer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(reoffer)).await.unwrap();
    assert!(t1.mid().is_some());
    assert_ne!(t1.mid(), first_mid);
}

// ---------------------------------------------------------------------------------------------
// 8 (rollback details from RTCPeerConnection-setRemoteDescription-rollback.html)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wpt_8_srd_rollback_in_have_remote_offer_reverts_to_stable() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.create_data_channel("dc", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    // The rollback's sdp is ignored, even when it is garbage.
    pc2.set_remote_description(SessionDescription::new(
        SdpType::Rollback,
        "!<Invalid SDP Content>;",
    ))
    .await
    .unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.remote_description(), None);
    assert_eq!(pc2.pending_remote_description(), None);
    assert_eq!(pc2.current_remote_description(), None);
    assert_eq!(states(&mut ev), ["have-remote-offer", "stable"]);
}

#[tokio::test]
async fn wpt_8_srd_rollback_from_stable_or_local_offer_is_invalid_state() {
    let pc = pc();
    let err = pc
        .set_remote_description(SessionDescription::rollback())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    // A local offer is rolled back with SLD(rollback), not SRD(rollback).
    pc.set_local_description(None).await.unwrap();
    let err = pc
        .set_remote_description(SessionDescription::rollback())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(pc.signaling_state(), SignalingState::HaveLocalOffer);
    assert!(pc.pending_local_description().is_some());
}

#[tokio::test]
async fn wpt_8_implicit_rollback_add_transceiver_defers_negotiationneeded() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc1.events();
    pc1.add_transceiver(audio("a"), TransceiverInit::default())
        .unwrap();
    pc2.add_transceiver(audio("b"), TransceiverInit::default())
        .unwrap();
    assert_eq!(count_nn(&drain(&mut ev)), 1);
    pc1.set_local_description(None).await.unwrap();
    let remote = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(remote).await.unwrap();
    let answer = pc1.create_answer(None).await.unwrap();
    let during = drain(&mut ev);
    assert_eq!(
        count_nn(&during),
        0,
        "no negotiationneeded while visiting stable"
    );
    pc1.set_local_description(Some(answer)).await.unwrap();
    let after = drain(&mut ev);
    let seq: Vec<String> = during
        .iter()
        .chain(&after)
        .filter_map(|e| match e {
            PeerConnectionEvent::SignalingStateChange(s) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        seq,
        ["have-local-offer", "stable", "have-remote-offer", "stable"]
    );
    assert_eq!(count_nn(&after), 1, "fires once settled in stable");
}

#[tokio::test]
async fn wpt_8_implicit_rollback_add_track_fires_no_negotiationneeded() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio("a"), &[]).unwrap();
    pc2.add_track(&audio("b"), &[]).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let mut ev = pc1.events();
    let remote = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(remote).await.unwrap();
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer)).await.unwrap();
    let events = drain(&mut ev);
    assert_eq!(count_nn(&events), 0, "{events:?}");
    assert_eq!(pc1.get_transceivers().len(), 1);
}

/// pc1 sends audio (addTrack with a stream), pc2 answers: a negotiated session.
async fn negotiated_audio() -> (PeerConnection, PeerConnection) {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio("a"), &[&MediaStream::new()]).unwrap();
    exchange(&pc1, &pc2).await;
    (pc1, pc2)
}

#[tokio::test]
async fn wpt_8_rollback_remote_offer_to_negotiated_stable_allows_local_offer() {
    let (pc1, pc2) = negotiated_audio().await;
    pc1.add_track(&video("v1"), &[]).unwrap();
    pc1.set_local_description(None).await.unwrap();
    pc2.add_track(&video("v2"), &[]).unwrap();
    let offer2 = pc2.create_offer(None).await.unwrap();
    pc2.set_remote_description(pc1.pending_local_description().unwrap())
        .await
        .unwrap();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(pc2.get_transceivers().len(), 2);
    pc2.set_local_description(Some(offer2)).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveLocalOffer);
}

#[tokio::test]
async fn wpt_8_rollback_local_offer_to_negotiated_stable_allows_remote_offer() {
    let (pc1, pc2) = negotiated_audio().await;
    let audio_mid = pc2.get_transceivers()[0].mid();
    assert!(audio_mid.is_some());
    pc2.add_track(&video("v2"), &[]).unwrap();
    pc2.set_local_description(None).await.unwrap();
    assert_eq!(pc2.get_transceivers().len(), 2);
    pc2.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 2);
    assert_eq!(
        ts[0].mid(),
        audio_mid,
        "the negotiated transceiver is untouched"
    );
    assert_eq!(ts[1].mid(), None);
    pc1.add_track(&video("v1"), &[]).unwrap();
    pc1.set_local_description(None).await.unwrap();
    pc2.set_remote_description(pc1.pending_local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
}

#[tokio::test]
async fn wpt_8_rollback_local_offer_keeps_direction_change() {
    let (pc1, pc2) = negotiated_audio().await;
    let t = pc2.get_transceivers()[0].clone();
    assert_eq!(t.direction(), RtpTransceiverDirection::RecvOnly);
    pc2.add_track(&audio("b"), &[]).unwrap();
    assert_eq!(t.direction(), RtpTransceiverDirection::SendRecv);
    pc2.set_local_description(None).await.unwrap();
    pc2.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(pc2.get_transceivers().len(), 1);
    assert_eq!(t.direction(), RtpTransceiverDirection::SendRecv);
    assert_eq!(
        t.current_direction(),
        Some(RtpTransceiverDirection::RecvOnly)
    );
    pc1.add_track(&video("v"), &[]).unwrap();
    pc1.set_local_description(None).await.unwrap();
    pc2.set_remote_description(pc1.pending_local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(pc2.get_transceivers().len(), 2);
}

#[tokio::test]
async fn wpt_8_remote_rollback_removes_tracks_from_remote_streams() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&audio("a"), &[&s]).unwrap();
    pc1.add_track(&video("v"), &[&s]).unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(pc1.create_offer(None).await.unwrap())
        .await
        .unwrap();
    let tracks: Vec<TrackEvent> = drain(&mut ev)
        .into_iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::Track(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tracks.len(), 2);
    let remote = tracks[0].streams[0].clone();
    assert_eq!(remote.id(), s.id());
    assert_eq!(remote.get_tracks().len(), 2);
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(
        remote.get_tracks().is_empty(),
        "rollback removed both tracks"
    );
}

#[tokio::test]
async fn wpt_8_rollback_of_remote_offer_with_stream_changes() {
    let pc1 = pc();
    let pc2 = pc();
    let s1 = MediaStream::new();
    let sender = pc1.add_track(&audio("a"), &[&s1]).unwrap();
    let mut ev = pc2.events();
    exchange(&pc1, &pc2).await;
    let streams = |ev: &mut EventStream| -> Vec<MediaStream> {
        drain(ev)
            .into_iter()
            .filter_map(|e| match e {
                PeerConnectionEvent::Track(t) => Some(t.streams[0].clone()),
                _ => None,
            })
            .collect()
    };
    let mut remote = streams(&mut ev);
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].get_tracks().len(), 1);
    let track = remote[0].get_tracks()[0].clone();

    let s2 = MediaStream::new();
    sender.set_streams(&[&s2]).unwrap();
    let offer2 = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer2).await.unwrap();
    remote.extend(streams(&mut ev));
    assert_eq!(remote.len(), 2);
    assert!(remote[0].get_tracks().is_empty());
    assert_eq!(remote[1].get_tracks(), vec![track.clone()]);

    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    remote.extend(streams(&mut ev));
    assert_eq!(
        remote.len(),
        3,
        "rollback fires track for the restored stream"
    );
    assert_eq!(remote[2].id(), remote[0].id());
    assert!(remote[1].get_tracks().is_empty());
    assert_eq!(remote[2].get_tracks(), vec![track]);
}

#[tokio::test]
async fn wpt_114_implicit_rollback_with_only_a_data_channel() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let channel = pc2.create_data_channel("dummy", None).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer)).await.unwrap();
    pc2.set_remote_description(pc1.create_offer(None).await.unwrap())
        .await
        .unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(channel.ready_state(), DataChannelState::Connecting);
    let sdp = parse(&pc2.local_description().unwrap());
    assert_eq!(
        sdp.media.iter().filter(|m| m.kind == "application").count(),
        1
    );
}

#[tokio::test]
async fn wpt_101_duplicated_section_with_new_mid_rejects_operation_error() {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    // Session part + the video section + the same section again under another mid.
    let at = offer.sdp.find("m=video").unwrap();
    let (session, section) = offer.sdp.split_at(at);
    let sdp = format!(
        "{session}{section}{}",
        edit(section, "a=mid:", "a=mid:unique")
    );
    let err = pc()
        .set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "OperationError");
}

#[tokio::test]
async fn wpt_98_srd_offer_in_have_local_offer_visits_stable() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.set_local_description(None).await.unwrap();
    let mut ev = pc1.events();
    let remote = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(remote).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(pc1.pending_local_description(), None);
    assert_eq!(
        pc1.pending_remote_description().map(|d| d.sdp_type),
        Some(SdpType::Offer)
    );
    assert_eq!(states(&mut ev), ["stable", "have-remote-offer"]);
}

#[tokio::test]
async fn wpt_8_remote_rollback_of_offer_that_stops_sending_readds_tracks() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    let a = pc1.add_track(&audio("a"), &[&s]).unwrap();
    let v = pc1.add_track(&video("v"), &[&s]).unwrap();
    pc1.get_transceivers()[1]
        .set_direction(RtpTransceiverDirection::SendOnly)
        .unwrap();
    let mut ev = pc2.events();
    exchange(&pc1, &pc2).await;
    let remote = drain(&mut ev)
        .into_iter()
        .find_map(|e| match e {
            PeerConnectionEvent::Track(t) => Some(t.streams[0].clone()),
            _ => None,
        })
        .expect("a track event with the stream");
    assert_eq!(remote.get_tracks().len(), 2);
    pc1.remove_track(&a).unwrap();
    pc1.remove_track(&v).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert!(remote.get_tracks().is_empty(), "both tracks removed");
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(
        remote.get_tracks().len(),
        2,
        "rollback added both tracks back"
    );
}

fn count_tracks(events: &[PeerConnectionEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PeerConnectionEvent::Track(_)))
        .count()
}

#[tokio::test]
async fn wpt_92_repeated_and_unchanged_offers_fire_no_extra_track_events() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio("a"), &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    assert_eq!(count_tracks(&drain(&mut ev)), 1);
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(count_tracks(&drain(&mut ev)), 0, "same offer again");
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    // An unchanged re-offer: no new track event.
    exchange(&pc1, &pc2).await;
    assert_eq!(count_tracks(&drain(&mut ev)), 0, "unchanged re-offer");
}

#[tokio::test]
async fn wpt_110_local_offer_survives_level_reassignment_and_rollback() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&video("v"), &[&s]).unwrap();
    // pc1 provisionally puts its video transceiver at level 0.
    let offer1 = pc1.create_offer(None).await.unwrap();
    let recvonly = || TransceiverInit {
        direction: RtpTransceiverDirection::RecvOnly,
        ..TransceiverInit::default()
    };
    pc2.add_transceiver(MediaKind::Audio, recvonly()).unwrap();
    pc2.add_transceiver(MediaKind::Video, recvonly()).unwrap();
    let offer2 = pc2.create_offer(None).await.unwrap();
    // Applying offer2 binds the (addTrack) video transceiver to level 1.
    pc1.set_remote_description(offer2.clone()).await.unwrap();
    let t = pc1.get_transceivers()[0].clone();
    assert_eq!(t.mid().as_deref(), parse(&offer2).media[1].mid());
    pc1.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(pc1.get_transceivers(), vec![t.clone()]);
    assert_eq!(t.mid(), None);
    pc1.set_local_description(Some(offer1.clone()))
        .await
        .unwrap();
    assert_eq!(t.mid().as_deref(), parse(&offer1).media[0].mid());
    // And the offer still negotiates.
    pc2.set_remote_description(offer1).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_102_json_descriptions_feed_srd() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let json = offer.to_json();
    assert!(
        json.starts_with(r#"{"type":"offer","sdp":"v=0\r\n"#),
        "{json}"
    );
    let parsed = SessionDescription::from_json(&json).unwrap();
    assert_eq!(parsed, offer);
    pc2.set_remote_description(parsed).await.unwrap();
    // `sdp` defaults to "" (RTCSessionDescriptionInit), enough for a rollback.
    let rollback = SessionDescription::from_json(r#"{"type":"rollback"}"#).unwrap();
    pc2.set_remote_description(rollback).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    // A missing `type` is a TypeError (a required dictionary member).
    let err = SessionDescription::from_json(r#"{"sdp":""}"#).unwrap_err();
    assert_eq!(err.name(), "TypeError");
}

#[tokio::test]
async fn wpt_106_invalid_answer_in_have_local_offer_changes_nothing() {
    let pc = pc();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    let mut ev = pc.events();
    for d in [
        SessionDescription::answer("invalid"),
        SessionDescription::pranswer("invalid"),
    ] {
        let err = pc.set_remote_description(d).await.unwrap_err();
        assert_eq!(err.name(), "OperationError");
        assert_eq!(err.detail().map(|d| d.as_str()), Some("sdp-syntax-error"));
        assert_eq!(pc.signaling_state(), SignalingState::HaveLocalOffer);
        assert!(pc.pending_local_description().is_some());
        assert_eq!(pc.remote_description(), None);
    }
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_107_remote_offer_or_rollback_in_have_remote_pranswer_is_invalid_state() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(SessionDescription::pranswer(answer.sdp))
        .await
        .unwrap();
    let other_offer = pc().create_offer(None).await.unwrap();
    let err = pc1.set_remote_description(other_offer).await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    let err = pc1
        .set_remote_description(SessionDescription::rollback())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemotePranswer);
}
