//! WPT-derived integration tests for checklist group 9 (signaling events, description
//! timing, operations chain, WPT-118..127). See /work/shared/conformance/wpt-checklist.md.
//!
//! Items not covered here, and why:
//! - WPT-121 (partly): `setParameters` and `getStats` do not exist yet, and `addIceCandidate`
//!   is not in these ordering tests (its chaining is WPT-97, `wpt_ice_candidates.rs`); the
//!   createOffer / createAnswer / SLD / SRD / replaceTrack ordering is tested.
//! - WPT-126 (partly): the trailing `addIceCandidate` is not in this test (see WPT-97); the two
//!   chained parameterless SLD() calls are tested.
//! - WPT-127 [net]: `icecandidate` events need ICE gathering: tested in `ice_connect.rs`.
//!
//! Tests named `wpt_9_*` cover behaviour of the same WPT files that the checklist does not
//! number (operations-chain call order).

mod common;

use common::signaling::{drain, exchange};
use common::wpt::remote::{audio, count_nn, pc, states, within};

use rtcpeer::*;

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

#[tokio::test]
async fn wpt_120_srd_state_and_transceivers_not_visible_until_it_runs() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(
        MediaKind::Audio,
        TransceiverInit {
            direction: RtpTransceiverDirection::RecvOnly,
            ..TransceiverInit::default()
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
