//! WPT-derived integration tests for checklist groups 8 (setRemoteDescription), 9 (signaling
//! events, description timing, operations chain), 10 (SDP content rules) and 16 (perfect
//! negotiation, signaling part). See /work/shared/conformance/wpt-checklist.md.
//!
//! Items not covered here, and why:
//! - WPT-97: needs `addIceCandidate`, which the API does not have yet (ICE comes later).
//! - WPT-103 (partly): in JavaScript the pending promise never settles after `close()`; a Rust
//!   future must complete, so the equivalent tested is "fails with InvalidStateError, nothing
//!   is applied, no event fires, state is closed".
//! - WPT-105 [net]: needs ICE connectivity with inline candidates.
//! - WPT-111 (partly): `receiver.transport` is not exposed yet (no DTLS transport objects);
//!   the mid / currentDirection / track / count parts are tested.
//! - WPT-121 (partly): `addIceCandidate`, `setParameters` and `getStats` do not exist yet; the
//!   createOffer / createAnswer / SLD / SRD / replaceTrack ordering is tested.
//! - WPT-126 (partly): the trailing `addIceCandidate` does not exist yet; the two chained
//!   parameterless SLD() calls are tested.
//! - WPT-127 [net]: `icecandidate` events need ICE gathering.
//! - WPT-133 (partly): `getStats` (transport `dtlsRole`) is not implemented yet; the
//!   negotiated role is checked through the data-channel id parity it decides instead.
//! - WPT-138 [net]: needs RTCDtlsTransport / RTCIceTransport objects and connectivity.
//! - WPT-206: fully covered at the signaling level (currentDirection needs no media flow).
//!
//! Tests named `wpt_8_*` / `wpt_9_*` cover behaviour of the same WPT files that the checklist
//! does not number (SRD(rollback) state rules and stream restoration from
//! RTCPeerConnection-setRemoteDescription-rollback.html; operations-chain call order).
//! WPT-139's max-bundle case follows the newer spec: the rejected transceiver is stopped
//! and then removed from `getTransceivers()` (the older WPT checks a `stopped` attribute).

mod common;

use common::signaling::{drain, exchange};

use std::time::Duration;

use rtcpeer::sdp::{Attribute, Sdp, Setup};
use rtcpeer::*;

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("default configuration is valid")
}

fn audio(label: &str) -> MediaStreamTrack {
    MediaStreamTrack::new(MediaKind::Audio, label)
}

fn video(label: &str) -> MediaStreamTrack {
    MediaStreamTrack::new(MediaKind::Video, label)
}

/// The signalingstatechange sequence queued on the stream so far (other events dropped).
fn states(ev: &mut EventStream) -> Vec<String> {
    drain(ev)
        .into_iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::SignalingStateChange(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

fn count_nn(events: &[PeerConnectionEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PeerConnectionEvent::NegotiationNeeded))
        .count()
}

fn parse(desc: &SessionDescription) -> Sdp {
    Sdp::parse(&desc.sdp).expect("generated SDP parses")
}

/// `text` with every occurrence of `from` replaced, asserting it occurred.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "SDP lacks {from:?}");
    text.replace(from, to)
}

/// A description of the same type with the SDP rewritten by `f`.
fn munge(d: &SessionDescription, f: impl FnOnce(&str) -> String) -> SessionDescription {
    SessionDescription::new(d.sdp_type, f(&d.sdp))
}

/// Bounds a whole test body so a chain deadlock fails instead of hanging.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("no deadlock: the operations completed in time")
}

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
        streams: Vec::new(),
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
// 9. Signaling events, description timing, operations chain
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wpt_118_negotiation_drives_signaling_state() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc1.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    // pc2 re-offers: pc1 becomes answerer.
    pc2.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc1.set_remote_description(offer).await.unwrap();
    assert_eq!(
        states(&mut ev),
        ["have-local-offer", "stable", "have-remote-offer"]
    );
}

#[tokio::test]
async fn wpt_120_descriptions_null_until_operation_completes() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();

    let sld = pc1.set_local_description(Some(offer.clone()));
    assert_eq!(pc1.pending_local_description(), None);
    assert_eq!(pc1.local_description(), None);
    sld.await.unwrap();
    assert_eq!(pc1.pending_local_description(), Some(offer.clone()));

    let srd = pc2.set_remote_description(offer.clone());
    assert_eq!(pc2.pending_remote_description(), None);
    srd.await.unwrap();
    assert_eq!(pc2.pending_remote_description(), Some(offer));

    let answer = pc2.create_answer(None).await.unwrap();
    let sld = pc2.set_local_description(Some(answer.clone()));
    assert_eq!(pc2.current_local_description(), None);
    assert_eq!(pc2.current_remote_description(), None);
    sld.await.unwrap();
    assert_eq!(pc2.current_local_description(), Some(answer.clone()));
    assert!(pc2.current_remote_description().is_some());

    let srd = pc1.set_remote_description(answer.clone());
    assert_eq!(pc1.current_remote_description(), None);
    assert_eq!(pc1.current_local_description(), None);
    srd.await.unwrap();
    assert_eq!(pc1.current_remote_description(), Some(answer));
    assert!(pc1.current_local_description().is_some());
}

#[tokio::test]
async fn wpt_121_later_chained_operation_cannot_settle_first() {
    within(async {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        // SRD then createAnswer, awaited in reverse order: createAnswer only succeeds if the
        // SRD ran before it.
        let srd = pc2.set_remote_description(offer);
        let ans = pc2.create_answer(None);
        assert_eq!(pc2.signaling_state(), SignalingState::Stable);
        let answer = ans.await.expect("createAnswer ran after the SRD");
        assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
        srd.await.unwrap();
        // SLD(answer) then replaceTrack, awaited last-first: the SLD ran before.
        let sld = pc2.set_local_description(Some(answer));
        let sender = pc2.get_senders()[0].clone();
        let rt = sender.replace_track(Some(audio("r")));
        assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
        rt.await.unwrap();
        assert_eq!(pc2.signaling_state(), SignalingState::Stable);
        sld.await.unwrap();
        // A createAnswer enqueued after that SLD runs in "stable" and fails.
        let offer_b = pc2.create_offer(None);
        let ans_late = pc2.create_answer(None);
        assert_eq!(ans_late.await.unwrap_err().name(), "InvalidStateError");
        offer_b.await.unwrap();
        // createOffer enqueued before an SLD(offer) is what the SLD applies.
        let offer_op = pc1.create_offer(None);
        let sld_op = pc1.set_local_description(Some(SessionDescription::new(SdpType::Offer, "")));
        sld_op.await.unwrap();
        let created = offer_op.await.unwrap();
        assert_eq!(pc1.local_description(), Some(created));
    })
    .await
}

#[tokio::test]
async fn wpt_121_failed_operation_does_not_block_chain() {
    let pc = pc();
    let bad = pc.create_answer(None);
    let good = pc.create_offer(None);
    good.await.unwrap();
    assert_eq!(bad.await.unwrap_err().name(), "InvalidStateError");
}

#[tokio::test]
async fn wpt_123_negotiationneeded_waits_for_empty_chain() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    // Burst: SRD and SLD enqueued, then a transceiver is added while they are pending.
    let srd = pc2.set_remote_description(offer);
    let sld = pc2.set_local_description(None);
    pc2.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    assert_eq!(count_nn(&drain(&mut ev)), 0, "not while the chain is busy");
    srd.await.unwrap();
    let mid = drain(&mut ev);
    assert_eq!(count_nn(&mid), 0, "not during the burst");
    sld.await.unwrap();
    let after = drain(&mut ev);
    assert_eq!(count_nn(&after), 1, "once the chain is empty and stable");
    assert!(matches!(
        after.last(),
        Some(PeerConnectionEvent::NegotiationNeeded)
    ));
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_123_negotiationneeded_does_not_occupy_chain() {
    let pc = pc();
    let mut ev = pc.events();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    assert_eq!(count_nn(&drain(&mut ev)), 1);
    // The chain is empty: an invalid createAnswer fails straight away.
    let err = pc.create_answer(None).await.unwrap_err();
    assert_eq!(err.name(), "InvalidStateError");
}

#[tokio::test]
async fn wpt_124_sld_from_negotiationneeded_then_srd_earlier_offer() {
    within(async {
        let pc = pc();
        let offer = pc.create_offer(None).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<()>>(1);
        let handler_pc = pc.clone();
        pc.on_negotiation_needed(move || {
            let pc = handler_pc.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let r = pc.set_local_description(None).await;
                let _ = tx.send(r).await;
            });
        });
        pc.add_transceiver(MediaKind::Video, TransceiverInit::default())
            .unwrap();
        rx.recv().await.expect("handler ran").unwrap();
        assert_eq!(pc.signaling_state(), SignalingState::HaveLocalOffer);
        pc.set_remote_description(offer).await.unwrap();
        assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);
    })
    .await
}

#[tokio::test]
async fn wpt_125_pack_chain_with_implicit_offer_and_answer() {
    within(async {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
            .unwrap();
        let (a, b) = tokio::join!(
            pc1.create_offer(None),
            pc1.set_local_description(Some(SessionDescription::new(SdpType::Offer, "")))
        );
        a.unwrap();
        b.unwrap();
        let (a, b, c) = tokio::join!(
            pc2.set_remote_description(pc1.local_description().unwrap()),
            pc2.create_answer(None),
            pc2.set_local_description(Some(SessionDescription::new(SdpType::Answer, "")))
        );
        a.unwrap();
        b.unwrap();
        c.unwrap();
        pc1.set_remote_description(pc2.local_description().unwrap())
            .await
            .unwrap();
        assert_eq!(pc1.signaling_state(), SignalingState::Stable);
        assert_eq!(pc2.signaling_state(), SignalingState::Stable);
        assert!(pc1.get_transceivers()[0].current_direction().is_some());
    })
    .await
}

#[tokio::test]
async fn wpt_125_negotiate_with_dropped_operations_only() {
    // Like JavaScript promises nobody awaits, dropped operations still run, in call order.
    let pc1 = pc();
    let pc2 = pc();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    drop(pc1.create_offer(None));
    drop(pc1.set_local_description(Some(SessionDescription::new(SdpType::Offer, ""))));
    assert_eq!(states(&mut ev1), ["have-local-offer"]);
    drop(pc2.set_remote_description(pc1.local_description().unwrap()));
    drop(pc2.create_answer(None));
    drop(pc2.set_local_description(Some(SessionDescription::new(SdpType::Answer, ""))));
    assert_eq!(states(&mut ev2), ["have-remote-offer", "stable"]);
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_126_two_chained_implicit_slds_resolve_in_order() {
    within(async {
        let pc = pc();
        let mut ev = pc.events();
        pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        drain(&mut ev);
        let first = pc.set_local_description(None);
        let second = pc.set_local_description(None);
        // Awaiting the second runs the first before it.
        second.await.unwrap();
        assert_eq!(pc.signaling_state(), SignalingState::HaveLocalOffer);
        assert_eq!(states(&mut ev), ["have-local-offer"]);
        first.await.unwrap();
        assert!(drain(&mut ev).is_empty());
    })
    .await
}

#[tokio::test]
async fn wpt_9_chain_operations_enqueued_at_call_time() {
    // The operation is bound to the state at call time, in call order: an SRD(rollback)
    // enqueued before an SLD runs first even though the SLD is awaited first.
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let rollback = pc2.set_remote_description(SessionDescription::rollback());
    let sld = pc2.set_local_description(None);
    sld.await.unwrap();
    // The rollback ran first, so the implicit SLD created an offer, not an answer.
    assert_eq!(pc2.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(pc2.local_description().unwrap().sdp_type, SdpType::Offer);
    rollback.await.unwrap();
}

#[tokio::test]
async fn wpt_9_chain_many_out_of_order_awaits_complete() {
    within(async {
        let pc = pc();
        pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let mut ops = Vec::new();
        for _ in 0..20 {
            ops.push(pc.create_offer(None));
        }
        // Await from the back; every one succeeds.
        while let Some(op) = ops.pop() {
            op.await.unwrap();
        }
        // Concurrent awaits from several tasks.
        let mut handles = Vec::new();
        for _ in 0..8 {
            let op = pc.create_offer(None);
            handles.push(tokio::spawn(op));
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// 10. SDP content rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wpt_128_offer_starts_with_v_o_s() {
    let pc = pc();
    let offer = pc
        .create_offer(Some(OfferOptions {
            offer_to_receive_video: Some(true),
            ..OfferOptions::default()
        }))
        .await
        .unwrap();
    let lines: Vec<&str> = offer.sdp.split("\r\n").collect();
    assert_eq!(lines[0], "v=0");
    let o: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(o.len(), 6, "{}", lines[1]);
    assert_eq!(o[0], "o=-");
    let sess_id: u64 = o[1].parse().unwrap();
    assert!(sess_id < (1u64 << 62));
    let _version: u64 = o[2].parse().unwrap();
    assert_eq!(&o[3..], ["IN", "IP4", "127.0.0.1"]);
    assert_eq!(lines[2], "s=-");
    let sdp = parse(&offer);
    assert_eq!(sdp.origin.session_id, sess_id);
    assert_eq!(sdp.origin.username, "-");
    assert_eq!(sdp.session_name, "-");
    assert_eq!(sdp.media.len(), 1);
    assert_eq!(sdp.media[0].kind, "video");
    assert_eq!(
        sdp.media[0].direction().map(|d| d.to_string()).as_deref(),
        Some("recvonly")
    );
}

#[tokio::test]
async fn wpt_129_m_sections_in_creation_order_then_data() {
    let pc = pc();
    pc.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc.add_transceiver(video("v0"), TransceiverInit::default())
        .unwrap();
    // addTrack pairs with the first (never-sent, trackless) video transceiver (WPT-266).
    let s = pc.add_track(&video("v"), &[]).unwrap();
    assert_eq!(s, pc.get_transceivers()[0].sender());
    pc.create_data_channel("dc", None).unwrap();
    let sdp = parse(&pc.create_offer(None).await.unwrap());
    let kinds: Vec<&str> = sdp.media.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["video", "audio", "video", "application"]);
    pc.set_local_description(None).await.unwrap();
    let mids: Vec<Option<String>> = pc.get_transceivers().iter().map(|t| t.mid()).collect();
    let sdp_mids: Vec<Option<String>> = sdp.media[..3]
        .iter()
        .map(|m| m.mid().map(str::to_string))
        .collect();
    assert_eq!(mids, sdp_mids);
}

#[tokio::test]
async fn wpt_130_data_offer_has_one_application_section_with_max_message_size() {
    let pc = pc();
    pc.create_data_channel("a", None).unwrap();
    pc.create_data_channel("b", None).unwrap();
    let sdp = parse(&pc.create_offer(None).await.unwrap());
    let apps: Vec<_> = sdp
        .media
        .iter()
        .filter(|m| m.kind == "application")
        .collect();
    assert_eq!(apps.len(), 1);
    let mms = apps[0].find_attr(|a| match a {
        Attribute::MaxMessageSize(n) => Some(*n),
        _ => None,
    });
    assert!(mms.is_some_and(|n| n > 0));
}

fn msid_lines(sdp: &Sdp, index: usize) -> Vec<(String, Option<String>)> {
    sdp.media[index]
        .attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::Msid { stream, track } => Some((stream.clone(), track.clone())),
            _ => None,
        })
        .collect()
}

fn is_token(s: &str) -> bool {
    // RFC 4566 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| {
            matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
        })
}

#[tokio::test]
async fn wpt_131_no_track_no_msid() {
    let pc = pc();
    pc.create_data_channel("dc", None).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert!(!offer.sdp.contains("a=msid:"));
}

#[tokio::test]
async fn wpt_131_add_track_without_stream_has_dash_msid() {
    let pc = pc();
    pc.add_track(&audio("a"), &[]).unwrap();
    pc.add_transceiver(audio("b"), TransceiverInit::default())
        .unwrap();
    let sdp = parse(&pc.create_offer(None).await.unwrap());
    for i in 0..2 {
        let lines = msid_lines(&sdp, i);
        assert_eq!(lines.len(), 1, "m-section {i}: {lines:?}");
        assert_eq!(lines[0].0, "-");
    }
}

#[tokio::test]
async fn wpt_131_msid_per_stream() {
    let pc = pc();
    let s1 = MediaStream::new();
    let s2 = MediaStream::new();
    // One stream.
    pc.add_track(&audio("a"), &[&s1]).unwrap();
    // Two distinct streams.
    pc.add_track(&audio("b"), &[&s1, &s2]).unwrap();
    // The same stream twice.
    pc.add_track(&audio("c"), &[&s1, &s1]).unwrap();
    // addTransceiver streams, two distinct and the same twice.
    pc.add_transceiver(
        audio("d"),
        TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            streams: vec![s1.clone(), s2.clone()],
        },
    )
    .unwrap();
    pc.add_transceiver(
        audio("e"),
        TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            streams: vec![s2.clone(), s2.clone()],
        },
    )
    .unwrap();
    // setStreams.
    let f = pc.add_track(&audio("f"), &[]).unwrap();
    f.set_streams(&[&s2, &s1]).unwrap();
    let g = pc.add_track(&audio("g"), &[]).unwrap();
    g.set_streams(&[&s1, &s1]).unwrap();

    let sdp = parse(&pc.create_offer(None).await.unwrap());
    let expect: [&[&str]; 7] = [
        &[s1.id()],
        &[s1.id(), s2.id()],
        &[s1.id()],
        &[s1.id(), s2.id()],
        &[s2.id()],
        &[s2.id(), s1.id()],
        &[s1.id()],
    ];
    for (i, want) in expect.iter().enumerate() {
        let lines = msid_lines(&sdp, i);
        let mut got: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
        let mut want = want.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "m-section {i}");
        for (s, t) in &lines {
            assert!(is_token(s), "stream id {s:?}");
            if let Some(t) = t {
                assert!(is_token(t), "track id {t:?}");
            }
        }
    }
}

/// An offer from a real pc with its `a=setup` rewritten.
async fn offer_with_setup(setup: &str) -> SessionDescription {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    munge(&offer, |s| {
        edit(s, "a=setup:actpass", &format!("a=setup:{setup}"))
    })
}

#[tokio::test]
async fn wpt_132_answer_setup_role() {
    for (offered, answered) in [
        ("actpass", Setup::Active),
        ("active", Setup::Passive),
        ("passive", Setup::Active),
    ] {
        let pc2 = pc();
        pc2.set_remote_description(offer_with_setup(offered).await)
            .await
            .unwrap();
        let answer = pc2.create_answer(None).await.unwrap();
        let sdp = parse(&answer);
        for m in &sdp.media {
            assert_eq!(m.setup(), Some(answered), "offer setup {offered}");
        }
        pc2.set_local_description(Some(answer)).await.unwrap();
        assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    }
}

#[tokio::test]
async fn wpt_137_incompatible_answer_direction_rejects_invalid_access() {
    // The answerer has no track: it answers a recvonly offer "inactive" and a sendonly
    // offer "recvonly"; the munged answers claim "recvonly" and "sendrecv".
    for (offer_dir, expected, answer_dir) in [
        (RtpTransceiverDirection::RecvOnly, "inactive", "recvonly"),
        (RtpTransceiverDirection::SendOnly, "recvonly", "sendrecv"),
    ] {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(
            MediaKind::Audio,
            TransceiverInit {
                direction: offer_dir,
                streams: Vec::new(),
            },
        )
        .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        let answer = pc2.create_answer(None).await.unwrap();
        let current = parse(&answer).media[0].direction().unwrap().to_string();
        assert_eq!(current, expected);
        let bad = munge(&answer, |s| {
            edit(s, &format!("a={current}"), &format!("a={answer_dir}"))
        });
        let err = pc1.set_remote_description(bad).await.unwrap_err();
        assert_eq!(err.name(), "InvalidAccessError", "{offer_dir}/{answer_dir}");
        assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
    }
}

/// Removes every line starting with one of `prefixes`.
fn strip_lines(sdp: &str, prefixes: &[&str]) -> String {
    sdp.split("\r\n")
        .filter(|l| !prefixes.iter().any(|p| l.starts_with(p)))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test]
async fn wpt_139_max_bundle_answerer_without_bundle_in_offer() {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let no_bundle = munge(&offer, |s| strip_lines(s, &["a=group:BUNDLE"]));
    let pc2 = PeerConnection::new(Configuration {
        bundle_policy: BundlePolicy::MaxBundle,
        ..Configuration::default()
    })
    .unwrap();
    pc2.set_remote_description(no_bundle).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let sdp = parse(&answer);
    assert_ne!(sdp.media[0].port, 0, "first m-line negotiated");
    assert_eq!(sdp.media[1].port, 0, "second m-line rejected");
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1, "the stopped transceiver is removed");
    assert!(ts[0].current_direction() != Some(RtpTransceiverDirection::Stopped));
}

#[tokio::test]
async fn wpt_139_bundle_only_section_without_transport_attributes() {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    // Rewrite the second section as bundle-only: port 0, a=bundle-only, no ICE/DTLS lines.
    let mut out = Vec::new();
    let mut section = 0;
    for line in offer.sdp.split("\r\n") {
        if line.starts_with("m=") {
            section += 1;
        }
        if section == 2 {
            if line.starts_with("m=video 9 ") {
                out.push(line.replacen("m=video 9 ", "m=video 0 ", 1));
                out.push("a=bundle-only".to_string());
                continue;
            }
            if [
                "a=ice-ufrag",
                "a=ice-pwd",
                "a=fingerprint",
                "a=setup",
                "a=ice-options",
            ]
            .iter()
            .any(|p| line.starts_with(p))
            {
                continue;
            }
        }
        out.push(line.to_string());
    }
    let desc = SessionDescription::offer(out.join("\r\n"));
    assert_eq!(Sdp::parse(&desc.sdp).unwrap().media[1].port, 0);
    let pc2 = pc();
    pc2.set_remote_description(desc).await.unwrap();
    assert_eq!(pc2.get_transceivers().len(), 2);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

const OFFER_140: &str = "v=0\n\
o=- 0 3 IN IP4 127.0.0.1\n\
s=-\n\
t=0 0\n\
a=fingerprint:sha-256 A7:24:72:CA:6E:02:55:39:BA:66:DF:6E:CC:4C:D8:B0:1A:BF:1A:56:65:7D:F4:03:AD:7E:77:43:2A:29:EC:93\n\
a=ice-ufrag:ETEn\n\
a=ice-pwd:OtSK0WpNtpUjkY4+86js7Z/l\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\n\
c=IN IP4 0.0.0.0\n\
a=rtcp-mux\n\
a=sendonly\n\
a=mid:1\n\
a=rtpmap:111 opus/48000/2\n\
a=setup:actpass\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\n\
c=IN IP4 0.0.0.0\n\
a=rtcp-mux\n\
a=recvonly\n\
a=mid:2\n\
a=rtpmap:111 opus/48000/2\n\
a=setup:actpass\n";

#[tokio::test]
async fn wpt_140_sendrecv_transceiver_matches_recvonly_section() {
    let pc = pc();
    pc.add_track(&audio("a"), &[]).unwrap();
    let t = pc.get_transceivers()[0].clone();
    assert_eq!(t.direction(), RtpTransceiverDirection::SendRecv);
    pc.set_remote_description(SessionDescription::offer(OFFER_140))
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    assert_eq!(t.mid().as_deref(), Some("2"));
}

#[tokio::test]
async fn wpt_141_remote_offer_without_mid() {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let stripped = munge(&offer, |s| {
        strip_lines(s, &["a=mid:", "a=group:", "a=extmap:4 "])
    });
    let pc2 = pc();
    pc2.set_remote_description(stripped).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 2);
    let m0 = ts[0].mid().expect("a mid is assigned");
    let m1 = ts[1].mid().expect("a mid is assigned");
    assert_ne!(m0, m1);
    pc2.set_local_description(None).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_141_answer_without_mid_and_group_is_accepted() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(audio("a"), TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    // The answerer has no track: it answers recvonly.
    let answer = pc2.create_answer(None).await.unwrap();
    let stripped = munge(&answer, |s| {
        strip_lines(s, &["a=mid:", "a=group:", "a=extmap:4 "])
    });
    assert!(!stripped.sdp.contains("a=mid:"));
    pc1.set_remote_description(stripped).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(
        t.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
    // A re-offer can be set.
    let reoffer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(reoffer)).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
}

#[tokio::test]
async fn wpt_142_remote_msid_with_stream_id_only() {
    let pc1 = pc();
    let s = MediaStream::with_id("streamonly");
    let track = audio("a");
    pc1.add_track(&track, &[&s]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let msid = format!("a=msid:streamonly {}", track.id());
    let only_stream = munge(&offer, |t| {
        let t = edit(t, &msid, "a=msid:streamonly");
        strip_lines(&t, &["a=ssrc:"])
    });
    let pc2 = pc();
    let mut ev = pc2.events();
    pc2.set_remote_description(only_stream).await.unwrap();
    let tracks: Vec<TrackEvent> = drain(&mut ev)
        .into_iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::Track(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].streams.len(), 1);
    assert_eq!(tracks[0].streams[0].id(), "streamonly");
}

// ---------------------------------------------------------------------------------------------
// 16. Perfect negotiation (signaling part)
// ---------------------------------------------------------------------------------------------

/// One side of the perfect negotiation pattern: the polite side accepts a colliding remote
/// offer (implicit rollback), the impolite side ignores it.
async fn on_remote(pc: &PeerConnection, polite: bool, desc: SessionDescription) -> bool {
    let collision =
        desc.sdp_type == SdpType::Offer && pc.signaling_state() != SignalingState::Stable;
    if collision && !polite {
        return false;
    }
    let is_offer = desc.sdp_type == SdpType::Offer;
    pc.set_remote_description(desc).await.unwrap();
    if is_offer {
        pc.set_local_description(None).await.unwrap();
    }
    true
}

async fn glare(polite_adds_first: bool) {
    let polite = pc();
    let impolite = pc();
    let (first, second) = if polite_adds_first {
        (&polite, &impolite)
    } else {
        (&impolite, &polite)
    };
    let ta = first
        .add_transceiver(video("a"), TransceiverInit::default())
        .unwrap();
    let tb = second
        .add_transceiver(video("b"), TransceiverInit::default())
        .unwrap();
    // Both negotiationneeded handlers run SLD() at once.
    polite.set_local_description(None).await.unwrap();
    impolite.set_local_description(None).await.unwrap();
    let polite_offer = polite.local_description().unwrap();
    let impolite_offer = impolite.local_description().unwrap();
    // Offers cross: the impolite side ignores the polite offer; the polite side rolls back.
    assert!(!on_remote(&impolite, false, polite_offer).await);
    assert_eq!(impolite.signaling_state(), SignalingState::HaveLocalOffer);
    assert!(on_remote(&polite, true, impolite_offer).await);
    assert_eq!(polite.signaling_state(), SignalingState::Stable);
    assert!(on_remote(&impolite, false, polite.local_description().unwrap()).await);
    assert_eq!(impolite.signaling_state(), SignalingState::Stable);
    // The polite side's own change is still pending: it renegotiates.
    polite.set_local_description(None).await.unwrap();
    assert!(on_remote(&impolite, false, polite.local_description().unwrap()).await);
    assert!(on_remote(&polite, true, impolite.local_description().unwrap()).await);
    for p in [&polite, &impolite] {
        assert_eq!(p.signaling_state(), SignalingState::Stable);
        assert_eq!(p.get_transceivers().len(), 2);
    }
    assert_eq!(
        ta.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
    assert_eq!(
        tb.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
}

#[tokio::test]
async fn wpt_206_glare_resolved_by_implicit_rollback() {
    within(glare(true)).await;
}

#[tokio::test]
async fn wpt_206_glare_resolved_by_implicit_rollback_roles_reversed() {
    within(glare(false)).await;
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
async fn wpt_120_srd_state_and_transceivers_not_visible_until_it_runs() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(
        MediaKind::Audio,
        TransceiverInit {
            direction: RtpTransceiverDirection::RecvOnly,
            streams: Vec::new(),
        },
    )
    .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev = pc2.events();
    let srd = pc2.set_remote_description(offer);
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.pending_remote_description(), None);
    assert_eq!(pc2.current_remote_description(), None);
    assert!(pc2.get_transceivers().is_empty());
    assert!(drain(&mut ev).is_empty());
    srd.await.unwrap();
    assert_eq!(pc2.get_transceivers().len(), 2);
    assert_eq!(pc2.remote_description(), pc2.pending_remote_description());
    // signalingstatechange comes first; the track event (video is sendrecv) after it.
    let events = drain(&mut ev);
    assert!(matches!(
        events.first(),
        Some(PeerConnectionEvent::SignalingStateChange(
            SignalingState::HaveRemoteOffer
        ))
    ));
    assert!(matches!(events.get(1), Some(PeerConnectionEvent::Track(_))));
}

const FP: &str = "a=fingerprint:sha-256 A7:24:72:CA:6E:02:55:39:BA:66:DF:6E:CC:4C:D8:B0:1A:BF:1A:56:65:7D:F4:03:AD:7E:77:43:2A:29:EC:93";

#[tokio::test]
async fn wpt_139_max_bundle_with_hand_written_offer_without_bundle() {
    let sdp = format!(
        "v=0\no=- 0 3 IN IP4 127.0.0.1\ns=-\nt=0 0\n{FP}\na=ice-ufrag:ETEn\n\
         a=ice-pwd:OtSK0WpNtpUjkY4+86js7Z/l\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\na=rtcp-mux\na=sendonly\n\
         a=mid:audio\na=rtpmap:111 opus/48000/2\na=setup:actpass\n\
         m=video 9 UDP/TLS/RTP/SAVPF 100\nc=IN IP4 0.0.0.0\na=rtcp-mux\na=sendonly\n\
         a=mid:video\na=rtpmap:100 VP8/90000\na=fmtp:100 max-fr=30;max-fs=3600\n\
         a=setup:actpass\n"
    );
    let pc = PeerConnection::new(Configuration {
        bundle_policy: BundlePolicy::MaxBundle,
        ..Configuration::default()
    })
    .unwrap();
    pc.set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap();
    let ts = pc.get_transceivers();
    assert_eq!(ts.len(), 2);
    pc.set_local_description(None).await.unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert_ne!(ts[0].direction(), RtpTransceiverDirection::Stopped);
    assert_eq!(ts[0].mid().as_deref(), Some("audio"));
    // The second is stopped (newer spec: and then removed from the set, WPT-285..293).
    assert_eq!(ts[1].direction(), RtpTransceiverDirection::Stopped);
    assert_eq!(
        ts[1].current_direction(),
        Some(RtpTransceiverDirection::Stopped)
    );
    assert!(!pc.get_transceivers().contains(&ts[1]));
    let answer = parse(&pc.local_description().unwrap());
    assert_eq!(answer.media[1].port, 0);
}

#[tokio::test]
async fn wpt_139_hand_written_bundle_only_offer_is_accepted() {
    let sdp = format!(
        "v=0\no=- 0 3 IN IP4 127.0.0.1\ns=-\nt=0 0\na=group:BUNDLE audio video\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\n{FP}\na=ice-ufrag:ETEn\n\
         a=ice-pwd:OtSK0WpNtpUjkY4+86js7Z/l\na=rtcp-mux\na=sendonly\na=mid:audio\n\
         a=rtpmap:111 opus/48000/2\na=setup:actpass\n\
         m=video 0 UDP/TLS/RTP/SAVPF 100\nc=IN IP4 0.0.0.0\na=bundle-only\na=sendonly\n\
         a=rtcp-mux\na=mid:video\na=rtpmap:100 VP8/90000\na=fmtp:100 max-fr=30;max-fs=3600\n"
    );
    let pc = pc();
    pc.set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap();
    let ts = pc.get_transceivers();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[1].mid().as_deref(), Some("video"));
    // Answering keeps the bundled section's transceiver.
    pc.set_local_description(None).await.unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert_ne!(
        ts[1].current_direction(),
        Some(RtpTransceiverDirection::Stopped)
    );
    assert_eq!(pc.get_transceivers().len(), 2);
}

/// JSEP (RFC 9429) example 7.1's offer: two sections with their own ufrags, BUNDLE and LS.
const JSEP_EXAMPLE_OFFER: &str = "v=0\n\
o=- 4962303333179871722 1 IN IP4 0.0.0.0\n\
s=-\n\
t=0 0\n\
a=ice-options:trickle\n\
a=group:BUNDLE a1 v1\n\
a=group:LS a1 v1\n\
m=audio 10100 UDP/TLS/RTP/SAVPF 96 0 8 97 98\n\
c=IN IP4 203.0.113.100\n\
a=mid:a1\n\
a=sendrecv\n\
a=rtpmap:96 opus/48000/2\n\
a=rtpmap:0 PCMU/8000\n\
a=rtpmap:8 PCMA/8000\n\
a=rtpmap:97 telephone-event/8000\n\
a=rtpmap:98 telephone-event/48000\n\
a=maxptime:120\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\n\
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n\
a=msid:47017fee-b6c1-4162-929c-a25110252400 f83006c5-a0ff-4e0a-9ed9-d3e6747be7d9\n\
a=ice-ufrag:ETEn\n\
a=ice-pwd:OtSK0WpNtpUjkY4+86js7ZQl\n\
a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\n\
a=setup:actpass\n\
a=dtls-id:1\n\
a=rtcp:10101 IN IP4 203.0.113.100\n\
a=rtcp-mux\n\
a=rtcp-rsize\n\
m=video 10102 UDP/TLS/RTP/SAVPF 100 101\n\
c=IN IP4 203.0.113.100\n\
a=mid:v1\n\
a=sendrecv\n\
a=rtpmap:100 VP8/90000\n\
a=rtpmap:101 rtx/90000\n\
a=fmtp:101 apt=100\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\n\
a=rtcp-fb:100 ccm fir\n\
a=rtcp-fb:100 nack\n\
a=rtcp-fb:100 nack pli\n\
a=msid:47017fee-b6c1-4162-929c-a25110252400 f30bdb4a-5db8-49b5-bcdc-e0c9a23172e0\n\
a=ice-ufrag:BGKk\n\
a=ice-pwd:mqyWsAjvtKwTGnvhPztQ9mIf\n\
a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\n\
a=setup:actpass\n\
a=dtls-id:1\n\
a=rtcp:10103 IN IP4 203.0.113.100\n\
a=rtcp-mux\n\
a=rtcp-rsize\n";

#[tokio::test]
async fn wpt_132_answer_setup_for_jsep_example_offer() {
    for (offered, answered) in [
        ("actpass", Setup::Active),
        ("active", Setup::Passive),
        ("passive", Setup::Active),
    ] {
        let sdp = JSEP_EXAMPLE_OFFER.replace("a=setup:actpass", &format!("a=setup:{offered}"));
        let pc = pc();
        pc.set_remote_description(SessionDescription::offer(sdp))
            .await
            .unwrap();
        let answer = pc.create_answer(None).await.unwrap();
        let first = parse(&answer).media.iter().find_map(|m| m.setup());
        assert_eq!(first, Some(answered), "offer setup {offered}");
        pc.set_local_description(Some(answer)).await.unwrap();
        assert_eq!(pc.signaling_state(), SignalingState::Stable);
    }
}

#[tokio::test]
async fn wpt_133_dtls_role_seen_through_data_channel_id_parity() {
    // No getStats yet: the negotiated DTLS role shows in the SCTP stream ids a channel gets
    // (RFC 8832 §6: the DTLS client uses even ids, the server odd ones).
    for (offered, client) in [("actpass", true), ("active", false), ("passive", true)] {
        let pc1 = pc();
        pc1.create_data_channel("x", None).unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        let offer = munge(&offer, |s| {
            edit(s, "a=setup:actpass", &format!("a=setup:{offered}"))
        });
        let pc2 = pc();
        let dc = pc2.create_data_channel("y", None).unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        assert_eq!(dc.id(), None, "role unknown before the answer");
        pc2.set_local_description(None).await.unwrap();
        let id = dc.id().expect("an id once the role is negotiated");
        assert_eq!(id % 2 == 0, client, "offer setup {offered}: id {id}");
    }
    // Offerer after SLD(offer) only: role unknown, no id yet.
    let pc = pc();
    let dc = pc.create_data_channel("wpt", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    assert_eq!(dc.id(), None);
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

/// One peer of the W3C perfect negotiation example, driven by a real `negotiationneeded`
/// handler and a signaling channel (tasks, so the two sides interleave freely), on a
/// current-thread runtime, exactly like the JavaScript: parameterless SLD(), then send
/// `local_description()`.
fn perfect_peer_handlers(
    pc: PeerConnection,
    polite: bool,
    to_other: tokio::sync::mpsc::UnboundedSender<SessionDescription>,
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<SessionDescription>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let making_offer = Arc::new(AtomicBool::new(false));
    {
        let pc = pc.clone();
        let tx = to_other.clone();
        let making_offer = making_offer.clone();
        pc.clone().on_negotiation_needed(move || {
            let pc = pc.clone();
            let tx = tx.clone();
            let making_offer = making_offer.clone();
            tokio::spawn(async move {
                making_offer.store(true, Ordering::SeqCst);
                if pc.set_local_description(None).await.is_ok() {
                    if let Some(d) = pc.local_description() {
                        let _ = tx.send(d);
                    }
                }
                making_offer.store(false, Ordering::SeqCst);
            });
        });
    }
    tokio::spawn(async move {
        while let Some(desc) = inbox.recv().await {
            let collision = desc.sdp_type == SdpType::Offer
                && (making_offer.load(Ordering::SeqCst)
                    || pc.signaling_state() != SignalingState::Stable);
            if collision && !polite {
                continue;
            }
            let is_offer = desc.sdp_type == SdpType::Offer;
            if pc.set_remote_description(desc).await.is_err() {
                continue;
            }
            if is_offer && pc.set_local_description(None).await.is_ok() {
                if let Some(d) = pc.local_description() {
                    let _ = to_other.send(d);
                }
            }
        }
    });
}

/// The same peer as one task that serialises `negotiationneeded` (from `events()`) with
/// incoming descriptions: the race-free shape on a multi-threaded runtime, where a handler
/// task could otherwise send its re-offer before the answer another task is about to send.
fn perfect_peer_actor(
    pc: PeerConnection,
    polite: bool,
    to_other: tokio::sync::mpsc::UnboundedSender<SessionDescription>,
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<SessionDescription>,
) {
    let mut events = pc.events();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Some(PeerConnectionEvent::NegotiationNeeded) => {
                        if pc.set_local_description(None).await.is_ok() {
                            if let Some(d) = pc.local_description() {
                                let _ = to_other.send(d);
                            }
                        }
                    }
                    Some(_) => {}
                    None => break,
                },
                m = inbox.recv() => {
                    let Some(desc) = m else { break };
                    let collision = desc.sdp_type == SdpType::Offer
                        && pc.signaling_state() != SignalingState::Stable;
                    if collision && !polite {
                        continue;
                    }
                    let is_offer = desc.sdp_type == SdpType::Offer;
                    if pc.set_remote_description(desc).await.is_err() {
                        continue;
                    }
                    if is_offer && pc.set_local_description(None).await.is_ok() {
                        if let Some(d) = pc.local_description() {
                            let _ = to_other.send(d);
                        }
                    }
                }
            }
        }
    });
}

async fn perfect_negotiation_glare(polite_first: bool, actor: bool) {
    let polite = pc();
    let impolite = pc();
    let (to_impolite, impolite_inbox) = tokio::sync::mpsc::unbounded_channel();
    let (to_polite, polite_inbox) = tokio::sync::mpsc::unbounded_channel();
    if actor {
        perfect_peer_actor(polite.clone(), true, to_impolite, polite_inbox);
        perfect_peer_actor(impolite.clone(), false, to_polite, impolite_inbox);
    } else {
        perfect_peer_handlers(polite.clone(), true, to_impolite, polite_inbox);
        perfect_peer_handlers(impolite.clone(), false, to_polite, impolite_inbox);
    }
    let (a, b) = if polite_first {
        (&polite, &impolite)
    } else {
        (&impolite, &polite)
    };
    // Both add a transceiver at the same time.
    let ta = a
        .add_transceiver(video("a"), TransceiverInit::default())
        .unwrap();
    let tb = b
        .add_transceiver(video("b"), TransceiverInit::default())
        .unwrap();
    loop {
        let done = [&polite, &impolite].iter().all(|p| {
            p.signaling_state() == SignalingState::Stable && p.get_transceivers().len() == 2
        }) && ta.current_direction() == Some(RtpTransceiverDirection::SendOnly)
            && tb.current_direction() == Some(RtpTransceiverDirection::SendOnly);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn wpt_206_perfect_negotiation_glare_with_handlers() {
    within(perfect_negotiation_glare(true, false)).await;
}

#[tokio::test]
async fn wpt_206_perfect_negotiation_glare_with_handlers_roles_reversed() {
    within(perfect_negotiation_glare(false, false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_206_perfect_negotiation_glare_multi_thread() {
    within(perfect_negotiation_glare(true, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_206_perfect_negotiation_glare_multi_thread_roles_reversed() {
    within(perfect_negotiation_glare(false, true)).await;
}

#[tokio::test]
async fn wpt_120_empty_offer_descriptions_surface_when_operation_completes() {
    let pc = pc();
    let offer = pc.create_offer(None).await.unwrap();
    let sld = pc.set_local_description(Some(offer.clone()));
    assert_eq!(pc.pending_local_description(), None);
    sld.await.unwrap();
    assert_eq!(pc.pending_local_description(), Some(offer.clone()));

    let other = self::pc();
    let srd = other.set_remote_description(offer);
    assert_eq!(other.pending_remote_description(), None);
    srd.await.unwrap();
    assert!(other.pending_remote_description().is_some());
}

#[tokio::test]
async fn wpt_141_no_mid_offer_round_trip() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio("a"), &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    // Only the first a=mid: and a=group: are renamed, as in the WPT.
    let munged = munge(&offer, |s| {
        s.replacen("a=mid:", "a=unknownattr:", 1)
            .replacen("a=group:", "a=unknownattr:", 1)
    });
    pc2.set_remote_description(munged).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert!(ts[0].mid().is_some_and(|m| !m.is_empty()));
    assert_eq!(ts[0].direction(), RtpTransceiverDirection::RecvOnly);
    assert_eq!(ts[0].current_direction(), None);
    assert_eq!(ts[0].sender().track(), None);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_141_no_mid_answer_keeps_mid_and_direction() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio("a"), &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t = pc1.get_transceivers()[0].clone();
    let last_mid = t.mid();
    assert!(last_mid.is_some());
    let answer = pc2.create_answer(None).await.unwrap();
    let munged = munge(&answer, |s| {
        s.replacen("a=mid:", "a=unknownattr:", 1)
            .replacen("a=group:", "a=unknownattr:", 1)
    });
    pc1.set_remote_description(munged).await.unwrap();
    assert_eq!(
        t.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
    assert_eq!(t.direction(), RtpTransceiverDirection::SendRecv);
    assert_eq!(t.mid(), last_mid);
    let reoffer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(reoffer)).await.unwrap();
    assert_eq!(
        t.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
    assert_eq!(t.mid(), last_mid);
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
        streams: Vec::new(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wpt_118_events_keep_firing_order_under_concurrent_operations() {
    // 4 tasks x 250 rounds: at most 2000 state changes plus 1000 negotiationneeded events,
    // below the 4096-event bound of a subscriber that does not read meanwhile.
    let (n_tasks, iters) = (4, 250);
    // Four tasks on four threads drive operations on one connection; every state change must
    // still arrive in firing order (a state change never repeats the previous state).
    let pc = pc();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let mut ev = pc.events();
    let mut tasks = Vec::new();
    for _ in 0..n_tasks {
        let pc = pc.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..iters {
                let _ = pc.set_local_description(None).await;
                let _ = pc
                    .set_local_description(Some(SessionDescription::rollback()))
                    .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seq = states(&mut ev);

    assert!(seq.len() >= 2);
    for (i, w) in seq.windows(2).enumerate() {
        assert_ne!(
            w[0],
            w[1],
            "event {i} of {} repeats the previous state: out of order",
            seq.len()
        );
    }
    let last = seq.last().cloned();
    assert_eq!(
        last,
        Some(pc.signaling_state().to_string()),
        "the last event is the final state ({} events, tail {:?})",
        seq.len(),
        &seq[seq.len().saturating_sub(4)..]
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_123_negotiationneeded_not_lost_when_chain_empties_concurrently() {
    // A change made while another thread empties the chain must still fire
    // negotiationneeded once the chain is empty.
    for round in 0..1000 {
        let pc = pc();
        let mut ev = pc.events();
        let busy = {
            let pc = pc.clone();
            tokio::spawn(async move {
                let ops: Vec<_> = (0..round % 7 + 1).map(|_| pc.create_offer(None)).collect();
                for op in ops {
                    let _ = op.await;
                }
            })
        };
        let adder = {
            let pc = pc.clone();
            tokio::spawn(async move {
                pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
                    .unwrap();
            })
        };
        busy.await.unwrap();
        adder.await.unwrap();
        assert_eq!(count_nn(&drain(&mut ev)), 1, "round {round}");
    }
}
