//! Audit of rollback and parameterless setLocalDescription (issue 13 item 4): each test is
//! named after the rule it checks (webrtc-pc §4.4.1.x, RFC 9429 §x).

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{audio, init, pc, video};
use rtcpeer::{
    MediaKind, PeerConnection, PeerConnectionEvent, RtpTransceiverDirection as Dir, SdpType,
    SessionDescription, SignalingState,
};

fn ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("ufrag")
        .to_owned()
}

fn origin(sdp: &str) -> String {
    sdp.lines()
        .find(|l| l.starts_with("o="))
        .unwrap()
        .to_owned()
}

/// The description without candidate lines (the driver adds them to the local description
/// as they are gathered).
fn without_candidates(sdp: &str) -> String {
    sdp.split("\r\n")
        .filter(|l| !l.starts_with("a=candidate:") && *l != "a=end-of-candidates")
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn nn(events: &[PeerConnectionEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PeerConnectionEvent::NegotiationNeeded))
        .count()
}

async fn connected_pair() -> (PeerConnection, PeerConnection) {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    exchange(&pc1, &pc2).await;
    (pc1, pc2)
}

/// webrtc-pc §4.4.1.5 ("answer" steps) and §4.4.1.7 restartIce(): only an answer empties
/// `[[LocalIceCredentialsToReplace]]`, so a restart offer that is rolled back leaves the
/// restart pending: negotiation is needed again and the next offer restarts.
#[tokio::test]
async fn webrtc_pc_4_4_1_7_pending_restart_ice_survives_a_rollback() {
    let (pc1, pc2) = connected_pair().await;
    let old = ufrag(&pc1.local_description().unwrap().sdp);
    let mut ev = pc1.events();
    pc1.restart_ice();
    let offer = pc1.create_offer(None).await.unwrap();
    let restarted = ufrag(&offer.sdp);
    assert_ne!(restarted, old);
    pc1.set_local_description(Some(offer)).await.unwrap();
    drain(&mut ev);
    pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")))
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    tokio::task::yield_now().await;
    assert_eq!(nn(&drain(&mut ev)), 1, "negotiationneeded fires again");
    let offer = pc1.create_offer(None).await.unwrap();
    assert_ne!(ufrag(&offer.sdp), old, "the restart is still pending");

    // Completed by the answer: later offers keep the new credentials.
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let fresh = ufrag(&offer.sdp);
    pc2.set_remote_description(offer).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    let again = pc1.create_offer(None).await.unwrap();
    assert_eq!(ufrag(&again.sdp), fresh, "the restart is done");
    pc1.close();
    pc2.close();
}

/// RFC 9429 §5.2.3.1: an offer created again in have-local-offer while a restart is under
/// way keeps the pending offer's new credentials (no second restart).
#[tokio::test]
async fn rfc9429_5_2_3_1_reoffer_during_a_restart_keeps_its_credentials() {
    let (pc1, pc2) = connected_pair().await;
    pc1.restart_ice();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let again = pc1.create_offer(None).await.unwrap();
    assert_eq!(ufrag(&again.sdp), ufrag(&offer.sdp));
    pc1.close();
    pc2.close();
}

/// webrtc-pc §4.4.1.6: parameterless setLocalDescription() applies `[[LastCreatedOffer]]`
/// byte for byte (same o= line: no new session version) while it still represents the
/// system state; `{type: "offer", sdp: ""}` is the same.
#[tokio::test]
async fn webrtc_pc_4_4_1_6_parameterless_sld_applies_the_last_created_offer_exactly() {
    for explicit_empty in [false, true] {
        let pc1 = pc();
        pc1.add_transceiver(MediaKind::Audio, init(Dir::SendRecv))
            .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        let arg = explicit_empty.then(|| SessionDescription::new(SdpType::Offer, ""));
        pc1.set_local_description(arg).await.unwrap();
        let local = pc1.pending_local_description().unwrap();
        assert_eq!(origin(&local.sdp), origin(&offer.sdp));
        assert_eq!(
            without_candidates(&local.sdp),
            without_candidates(&offer.sdp)
        );
        pc1.close();
    }
}

/// webrtc-pc §4.4.1.6: a last created offer that no longer represents the system state (a
/// transceiver was added since) is not used: a new offer is created and applied.
#[tokio::test]
async fn webrtc_pc_4_4_1_6_parameterless_sld_replaces_a_stale_offer() {
    let pc1 = pc();
    pc1.add_transceiver(MediaKind::Audio, init(Dir::SendRecv))
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.add_transceiver(MediaKind::Video, init(Dir::SendRecv))
        .unwrap();
    pc1.set_local_description(None).await.unwrap();
    let local = pc1.pending_local_description().unwrap();
    assert_ne!(origin(&local.sdp), origin(&offer.sdp));
    assert_eq!(local.sdp.matches("\r\nm=").count(), 2);
    pc1.close();
}

/// webrtc-pc §4.4.1.6 for the answer: parameterless SLD applies `[[LastCreatedAnswer]]`
/// exactly.
#[tokio::test]
async fn webrtc_pc_4_4_1_6_parameterless_sld_applies_the_last_created_answer_exactly() {
    let (pc1, pc2) = (pc(), pc());
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    let local = pc2.current_local_description().unwrap();
    assert_eq!(origin(&local.sdp), origin(&answer.sdp));
    assert_eq!(
        without_candidates(&local.sdp),
        without_candidates(&answer.sdp)
    );
    pc1.close();
    pc2.close();
}

/// webrtc-pc §4.4.1.5 (rollback) / RFC 9429 §4.1.8.2: rolling back a local offer un-associates
/// the transceivers it associated (mid back to null) but keeps them, keeps every
/// transceiver's direction (the application's) and restores `currentDirection` and mids of
/// the last stable state.
#[tokio::test]
async fn webrtc_pc_4_4_1_5_local_rollback_restores_mids_and_current_direction() {
    let (pc1, pc2) = (pc(), pc());
    let t = pc1
        .add_transceiver(MediaKind::Audio, init(Dir::SendRecv))
        .unwrap();
    exchange(&pc1, &pc2).await;
    let mid = t.mid();
    assert!(mid.is_some());
    // pc2 has nothing to send: its answer is recvonly, ours sendonly.
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));

    t.set_direction(Dir::Inactive).unwrap();
    let v = pc1
        .add_transceiver(MediaKind::Video, init(Dir::RecvOnly))
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert!(v.mid().is_some());
    pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")))
        .await
        .unwrap();
    assert_eq!(pc1.get_transceivers().len(), 2);
    assert_eq!(v.mid(), None);
    assert_eq!(v.current_direction(), None);
    assert_eq!(v.direction(), Dir::RecvOnly);
    assert_eq!(t.mid(), mid);
    assert_eq!(t.direction(), Dir::Inactive);
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    pc1.close();
    pc2.close();
}

/// webrtc-pc §4.4.1.5 (rollback): rolling back a remote offer removes the transceivers it
/// created, unless addTrack attached a track to one (then it stays, unassociated); existing
/// transceivers keep their mid, direction and currentDirection.
#[tokio::test]
async fn webrtc_pc_4_4_1_5_remote_rollback_removes_created_transceivers_unless_add_track() {
    let (pc1, pc2) = (pc(), pc());
    pc1.add_track(&audio(), &[]).unwrap();
    exchange(&pc1, &pc2).await;
    let existing = pc2.get_transceivers();
    assert_eq!(existing.len(), 1);
    let (mid, cur) = (existing[0].mid(), existing[0].current_direction());
    assert_eq!(cur, Some(Dir::RecvOnly));

    for attach in [false, true] {
        let vt = pc1
            .add_transceiver(MediaKind::Video, init(Dir::SendRecv))
            .unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        assert_eq!(pc2.get_transceivers().len(), 2);
        let created = pc2.get_transceivers()[1].clone();
        if attach {
            let track = video();
            let sender = pc2.add_track(&track, &[]).unwrap();
            assert_eq!(
                sender,
                created.sender(),
                "addTrack reuses the created transceiver"
            );
        }
        pc2.set_remote_description(SessionDescription::new(SdpType::Rollback, ""))
            .await
            .unwrap();
        let now = pc2.get_transceivers();
        assert_eq!(now.len(), if attach { 2 } else { 1 }, "attach={attach}");
        if attach {
            assert_eq!(now[1].mid(), None);
            assert_eq!(now[1].current_direction(), None);
        }
        assert_eq!(now[0].mid(), mid);
        assert_eq!(now[0].current_direction(), cur);
        assert_eq!(now[0].direction(), Dir::RecvOnly);
        // pc1 drops its offer too, and its video transceiver for the next round.
        pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")))
            .await
            .unwrap();
        vt.stop().unwrap();
    }
    pc1.close();
    pc2.close();
}

/// webrtc-pc §4.4.1.5 (rollback) and §4.4.3: rolling back the first offer discards what it
/// created: no SCTP transport, and with no transport left `iceGatheringState` is "new" again
/// (RFC 9429 §4.1.8.2: back to the last stable state, which had none).
#[tokio::test]
async fn webrtc_pc_4_4_1_5_rollback_of_the_first_offer_discards_sctp_and_gathering() {
    let pc1 = pc();
    pc1.create_data_channel("x", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    assert!(pc1.sctp().is_some());
    pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")))
        .await
        .unwrap();
    assert!(pc1.sctp().is_none());
    assert_eq!(pc1.ice_gathering_state(), rtcpeer::IceGatheringState::New);
    assert!(pc1.local_description().is_none());
    pc1.close();
}
