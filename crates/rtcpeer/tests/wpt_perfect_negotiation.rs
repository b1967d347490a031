//! WPT-derived integration tests for checklist group 16 (perfect negotiation, signaling
//! part, WPT-206): glare resolved by implicit rollback, with plain calls, with event
//! handlers and on a multi-thread runtime. See /work/shared/conformance/wpt-checklist.md.
//!
//! WPT-206 is fully covered at the signaling level (currentDirection needs no media flow).

mod common;

use common::wpt::remote::{pc, video, within};

use rtcpeer::*;
use std::time::Duration;

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
