//! WPT-derived behaviour of createOffer and createAnswer (checklist groups 5–6 of
//! shared/conformance/wpt-checklist.md, WPT-48..59), through the public API only.
//!
//! Not covered here, with the reason:
//! - WPT-53 (part): "no iceGatheringState change" is tested with ICE (`ice_connect.rs`,
//!   `wpt_53_offer_without_m_lines_gathers_nothing`); the offer without m-lines and its SLD are
//!   tested here.
//! - WPT-54 (part) [net]: the gathering-state sequence after an ICE restart needs ICE; the
//!   new ICE credentials of the restart offer are tested.
//! - WPT-50, WPT-57 [timing]: "settled before the next task" is tested as "the operation is
//!   `Ready` at its first poll".

mod common;

use common::signaling::exchange;
use common::wpt::local::{audio, count, name, pc, states};

use rtcpeer::{
    MediaKind, MediaStreamTrack, OfferOptions, RtpTransceiverDirection, SdpType, SignalingState,
    TransceiverInit,
};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Polls a future once with a no-op waker.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

// ===== 5. createOffer =====

#[tokio::test]
async fn wpt_48_create_offer_resolves_to_an_offer_dictionary() {
    let pc = pc();
    let mut ev = pc.events();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(offer.sdp_type, SdpType::Offer);
    assert!(offer.sdp.starts_with("v=0\r\n"));
    // The plain dictionary form, exactly {type, sdp}.
    let v: Value = serde_json::from_str(&offer.to_json()).unwrap();
    assert_eq!(v, json!({"type": "offer", "sdp": offer.sdp}));
    // createOffer changes no state.
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert!(pc.local_description().is_none());
    assert!(states(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_50_create_offer_in_have_remote_offer_rejects_at_once() {
    let remote = pc();
    remote.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = remote.create_offer(None).await.unwrap();
    let pc = pc();
    pc.set_remote_description(offer).await.unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);
    // With an empty chain, the rejection is settled at the first poll.
    let mut op = pc.create_offer(None);
    match poll_once(&mut op) {
        Poll::Ready(r) => assert_eq!(name(&r), "InvalidStateError"),
        Poll::Pending => panic!("createOffer did not settle at once"),
    }
    assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);
}

#[tokio::test]
async fn wpt_51_transceiver_added_after_create_offer_call_is_in_the_offer() {
    let pc = pc();
    let op = pc.create_offer(None);
    pc.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = op.await.unwrap();
    assert_eq!(count(&offer.sdp, "m=audio"), 1);
    assert_eq!(count(&offer.sdp, "m="), 1);
}

#[tokio::test]
async fn wpt_53_offer_with_nothing_to_negotiate_has_no_media() {
    let pc = pc();
    let mut ev = pc.events();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(count(&offer.sdp, "m="), 0);
    pc.set_local_description(Some(offer.clone())).await.unwrap();
    assert_eq!(pc.pending_local_description(), Some(offer.clone()));
    assert_eq!(states(&mut ev), ["have-local-offer"]);
    // The other side can answer it, and the exchange completes.
    let pc2 = self::pc();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(count(&answer.sdp, "m="), 0);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc.set_remote_description(answer).await.unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
}

fn ice(sdp: &str) -> Vec<(String, String)> {
    let ufrags = sdp.lines().filter_map(|l| l.strip_prefix("a=ice-ufrag:"));
    let pwds = sdp.lines().filter_map(|l| l.strip_prefix("a=ice-pwd:"));
    ufrags
        .zip(pwds)
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect()
}

#[tokio::test]
async fn wpt_54_ice_restart_offer_has_new_credentials() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, audio()).unwrap();
    exchange(&pc1, &pc2).await;
    let old = ice(&pc1.current_local_description().unwrap().sdp);
    assert_eq!(old.len(), 1);
    // Without iceRestart the credentials are kept.
    let same = pc1.create_offer(None).await.unwrap();
    assert_eq!(ice(&same.sdp), old);
    let restart = pc1
        .create_offer(Some(OfferOptions {
            ice_restart: true,
            ..Default::default()
        }))
        .await
        .unwrap();
    let new = ice(&restart.sdp);
    assert_eq!(new.len(), 1);
    assert_ne!(new[0].0, old[0].0, "new ufrag");
    assert_ne!(new[0].1, old[0].1, "new pwd");
    pc1.set_local_description(Some(restart)).await.unwrap();
    assert_eq!(ice(&pc1.local_description().unwrap().sdp), new);
}

#[tokio::test]
async fn wpt_55_legacy_offer_to_receive_false_creates_nothing() {
    let pc = pc();
    let opts = OfferOptions {
        offer_to_receive_audio: Some(false),
        offer_to_receive_video: Some(false),
        ..Default::default()
    };
    let offer = pc.create_offer(Some(opts)).await.unwrap();
    assert!(pc.get_transceivers().is_empty());
    assert_eq!(count(&offer.sdp, "m="), 0);
}

#[tokio::test]
async fn wpt_55_legacy_offer_to_receive_true_creates_one_recvonly_transceiver() {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let pc = pc();
        let opts = OfferOptions {
            offer_to_receive_audio: Some(kind == MediaKind::Audio),
            offer_to_receive_video: Some(kind == MediaKind::Video),
            ..Default::default()
        };
        let offer = pc.create_offer(Some(opts.clone())).await.unwrap();
        let ts = pc.get_transceivers();
        assert_eq!(ts.len(), 1, "{kind}");
        assert_eq!(ts[0].kind(), kind);
        assert_eq!(ts[0].direction(), RtpTransceiverDirection::RecvOnly);
        assert_eq!(count(&offer.sdp, &format!("m={kind}")), 1);
        assert_eq!(count(&offer.sdp, "a=recvonly"), 1);
        // Again: no second transceiver.
        pc.create_offer(Some(opts)).await.unwrap();
        assert_eq!(pc.get_transceivers().len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn wpt_55_legacy_offer_to_receive_both_creates_two_transceivers() {
    let pc = pc();
    let opts = OfferOptions {
        offer_to_receive_audio: Some(true),
        offer_to_receive_video: Some(true),
        ..Default::default()
    };
    let offer = pc.create_offer(Some(opts)).await.unwrap();
    let kinds: Vec<_> = pc.get_transceivers().iter().map(|t| t.kind()).collect();
    assert_eq!(kinds, [MediaKind::Audio, MediaKind::Video]);
    assert!(
        pc.get_transceivers()
            .iter()
            .all(|t| t.direction() == RtpTransceiverDirection::RecvOnly)
    );
    assert_eq!(count(&offer.sdp, "a=recvonly"), 2);
}

#[tokio::test]
async fn wpt_55_legacy_offer_to_receive_adjusts_existing_transceivers() {
    // Existing receiving transceivers satisfy `true`; `false` turns receiving off.
    let pc = pc();
    let track = MediaStreamTrack::new(MediaKind::Audio, "a");
    let sender = pc.add_track(&track, &[]).unwrap();
    let recv = pc
        .add_transceiver(
            MediaKind::Audio,
            TransceiverInit {
                direction: RtpTransceiverDirection::RecvOnly,
                ..Default::default()
            },
        )
        .unwrap();
    let yes = OfferOptions {
        offer_to_receive_audio: Some(true),
        ..Default::default()
    };
    pc.create_offer(Some(yes.clone())).await.unwrap();
    assert_eq!(pc.get_transceivers().len(), 2);
    let no = OfferOptions {
        offer_to_receive_audio: Some(false),
        ..Default::default()
    };
    let offer = pc.create_offer(Some(no)).await.unwrap();
    let send = pc.get_transceivers().remove(0);
    assert_eq!(send.sender(), sender);
    assert_eq!(send.direction(), RtpTransceiverDirection::SendOnly);
    assert_eq!(recv.direction(), RtpTransceiverDirection::Inactive);
    assert_eq!(count(&offer.sdp, "a=sendonly"), 1);
    assert_eq!(count(&offer.sdp, "a=inactive"), 1);
    // `true` again: the sendonly transceiver becomes sendrecv rather than a new one appearing.
    pc.create_offer(Some(yes)).await.unwrap();
    assert_eq!(pc.get_transceivers().len(), 2);
    assert_eq!(send.direction(), RtpTransceiverDirection::SendRecv);
}

// ===== 6. createAnswer =====

#[tokio::test]
async fn wpt_57_create_answer_without_remote_description_rejects_at_once() {
    let pc = pc();
    let mut op = pc.create_answer(None);
    match poll_once(&mut op) {
        Poll::Ready(r) => assert_eq!(name(&r), "InvalidStateError"),
        Poll::Pending => panic!("createAnswer did not settle at once"),
    }
    // Also after a local offer (a remote offer is what is needed).
    pc.set_local_description(None).await.unwrap();
    assert_eq!(name(&pc.create_answer(None).await), "InvalidStateError");
}

#[tokio::test]
async fn wpt_58_create_answer_after_remote_offer_and_after_close() {
    let remote = pc();
    remote.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = remote.create_offer(None).await.unwrap();
    let pc = pc();
    pc.set_remote_description(offer.clone()).await.unwrap();
    let answer = pc.create_answer(None).await.unwrap();
    assert_eq!(answer.sdp_type, SdpType::Answer);
    let v: Value = serde_json::from_str(&answer.to_json()).unwrap();
    assert_eq!(v, json!({"type": "answer", "sdp": answer.sdp}));
    assert_eq!(count(&answer.sdp, "m=audio"), 1);
    assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);

    let closed = self::pc();
    closed.set_remote_description(offer).await.unwrap();
    closed.close();
    assert_eq!(name(&closed.create_answer(None).await), "InvalidStateError");
}

#[tokio::test]
async fn wpt_59_create_answer_does_not_change_current_direction() {
    let pc1 = pc();
    let pc2 = pc();
    let t1 = pc1.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(t1.current_direction(), None);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(t1.current_direction(), None);
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers().remove(0);
    assert_eq!(t2.current_direction(), None);
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(t2.current_direction(), None);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(
        t2.current_direction(),
        Some(RtpTransceiverDirection::RecvOnly)
    );
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(
        t1.current_direction(),
        Some(RtpTransceiverDirection::SendOnly)
    );
}
