//! W3C web-platform-tests behaviours for `negotiationneeded` (checklist group 12,
//! WPT-164..172), through the public API. Items are numbered as in `wpt-checklist.md`.
//! The stop() tests at each stage of an exchange (WPT-172) are in `wpt_transceiver.rs`.
//!
//! Out of scope or not applicable here:
//! - WPT-166 "not before the next macrotask": Rust has no task queue of its own; the events
//!   of an operation are delivered when it completes. The ordering part (negotiationneeded
//!   after signalingstatechange to "stable", never while not stable) is tested.

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{audio, init, nn_count, pc, trace};

use rtcpeer::EventStream;
use rtcpeer::{
    MediaKind, MediaStream, PeerConnection, PeerConnectionEvent, RtpSender,
    RtpTransceiverDirection as Dir, SessionDescription, SignalingState, TransceiverInit,
};

// ===== 12. negotiationneeded =====

#[tokio::test]
async fn wpt_164_first_data_channel_fires_negotiationneeded_second_does_not() {
    let pc = pc();
    let mut ev = pc.events();
    pc.create_data_channel("a", None).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
    pc.create_data_channel("b", None).unwrap();
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_164_add_transceiver_fires_negotiationneeded_once_for_two_calls() {
    let pc = pc();
    let mut ev = pc.events();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

#[tokio::test]
async fn wpt_164_data_channel_plus_transceiver_fire_once() {
    let pc = pc();
    let mut ev = pc.events();
    pc.create_data_channel("a", None).unwrap();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    assert_eq!(nn_count(&drain(&mut ev)), 1);
}

#[tokio::test]
async fn wpt_166_change_in_have_local_offer_fires_after_stable() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc1.events();
    // A change while in have-local-offer: no event yet.
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    assert!(drain(&mut ev).is_empty());
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["ss:stable", "nn"]);
}

#[tokio::test]
async fn wpt_166_change_in_have_remote_offer_fires_after_answer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let before = drain(&mut ev);
    assert_eq!(trace(&before), ["ss:have-remote-offer", "track"]);
    pc2.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    assert!(drain(&mut ev).is_empty());
    let answer = pc2.create_answer(None).await.unwrap();
    assert!(drain(&mut ev).is_empty());
    pc2.set_local_description(Some(answer)).await.unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["ss:stable", "nn"]);
}

#[tokio::test]
async fn wpt_167_add_track_fires_negotiationneeded() {
    let pc = pc();
    let mut ev = pc.events();
    pc.add_track(&audio(), &[]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

#[tokio::test]
async fn wpt_169_direction_change_after_negotiation_fires() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    let mut ev = pc1.events();
    t.set_direction(Dir::RecvOnly).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

/// pc1 sends `track` with `streams` and negotiates with pc2; returns pc1's sender.
async fn negotiated_sender(
    pc1: &PeerConnection,
    pc2: &PeerConnection,
    streams: &[&MediaStream],
) -> RtpSender {
    let sender = pc1.add_track(&audio(), streams).unwrap();
    exchange(pc1, pc2).await;
    sender
}

#[tokio::test]
async fn wpt_170_set_streams_with_different_streams_fires() {
    let s1 = MediaStream::new();
    let s2 = MediaStream::new();
    // A different stream.
    let (pc1, pc2) = (pc(), pc());
    let sender = negotiated_sender(&pc1, &pc2, &[&s1]).await;
    let mut ev = pc1.events();
    sender.set_streams(&[&s2]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"], "different stream");
    // An added stream.
    let (pc1, pc2) = (pc(), pc());
    let sender = negotiated_sender(&pc1, &pc2, &[&s1]).await;
    let mut ev = pc1.events();
    sender.set_streams(&[&s1, &s2]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"], "added stream");
    // A removed stream.
    let (pc1, pc2) = (pc(), pc());
    let sender = negotiated_sender(&pc1, &pc2, &[&s1, &s2]).await;
    let mut ev = pc1.events();
    sender.set_streams(&[&s1]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"], "removed stream");
    // No streams.
    let (pc1, pc2) = (pc(), pc());
    let sender = negotiated_sender(&pc1, &pc2, &[&s1]).await;
    let mut ev = pc1.events();
    sender.set_streams(&[]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"], "no streams");
}

#[tokio::test]
async fn wpt_170_set_streams_with_same_set_does_not_fire() {
    let s1 = MediaStream::new();
    let s2 = MediaStream::new();
    let (pc1, pc2) = (pc(), pc());
    let sender = negotiated_sender(&pc1, &pc2, &[&s1, &s2]).await;
    let mut ev = pc1.events();
    sender.set_streams(&[&s1, &s2]).unwrap();
    sender.set_streams(&[&s2, &s1]).unwrap();
    sender.set_streams(&[&s1, &s2, &s1]).unwrap();
    assert!(drain(&mut ev).is_empty());
    assert!(!pc1.get_transceivers().is_empty());
}

#[tokio::test]
async fn wpt_171_negotiating_on_every_event_gives_two_events() {
    let pc1 = pc();
    let pc2 = pc();
    let mut ev = pc1.events();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    assert_eq!(nn_count(&drain(&mut ev)), 1);
    exchange(&pc1, &pc2).await;
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(nn_count(&drain(&mut ev)), 0);
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    assert_eq!(nn_count(&drain(&mut ev)), 1);
    exchange(&pc1, &pc2).await;
    assert_eq!(nn_count(&drain(&mut ev)), 0);
}

#[tokio::test]
async fn wpt_172_stopping_negotiated_transceiver_fires_on_offerer() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    let mut ev = pc1.events();
    t.stop().unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

#[tokio::test]
async fn wpt_172_answerer_stop_after_srd_fires_after_its_answer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let mut ev = pc2.events();
    pc2.get_transceivers()[0].stop().unwrap();
    assert!(drain(&mut ev).is_empty(), "not stable yet");
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["ss:stable", "nn"]);
}

#[tokio::test]
async fn wpt_164_data_channel_after_negotiated_data_section_does_not_fire() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.create_data_channel("a", None).unwrap();
    exchange(&pc1, &pc2).await;
    let mut ev = pc1.events();
    pc1.create_data_channel("b", None).unwrap();
    let mut ev2 = pc2.events();
    pc2.create_data_channel("c", None).unwrap();
    assert!(drain(&mut ev).is_empty());
    assert!(drain(&mut ev2).is_empty());
}

/// Waits (bounded) for a signalingstatechange to "stable".
async fn wait_stable(ev: &mut EventStream) {
    let wait = async {
        while let Some(e) = ev.recv().await {
            if let PeerConnectionEvent::SignalingStateChange(SignalingState::Stable) = e {
                return;
            }
        }
        panic!("event stream ended before stable");
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), wait)
        .await
        .expect("reached stable in time");
}

#[tokio::test]
async fn wpt_171_handler_that_negotiates_sees_two_events() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pc1 = pc();
    let pc2 = pc();
    let count = Arc::new(AtomicUsize::new(0));
    {
        let (a, b, count) = (pc1.clone(), pc2.clone(), count.clone());
        pc1.on_negotiation_needed(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let (a, b) = (a.clone(), b.clone());
            tokio::spawn(async move { exchange(&a, &b).await });
        });
    }
    let mut ev = pc1.events();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    wait_stable(&mut ev).await;
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    wait_stable(&mut ev).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(pc1.get_transceivers().len(), 2);
    assert!(pc1.get_transceivers().iter().all(|t| t.mid().is_some()));
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn wpt_169_remove_track_on_callee_while_answer_is_pending_fires_after_stable() {
    let caller = pc();
    caller
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let offer = caller.create_offer(None).await.unwrap();
    let callee = pc();
    let sender = callee.add_track(&audio(), &[]).unwrap();
    let mut ev = callee.events();
    callee.set_remote_description(offer).await.unwrap();
    let answer = callee.create_answer(None).await.unwrap();
    // The answer is applied on the chain; removeTrack runs before it completes.
    let sld = callee.set_local_description(Some(answer));
    callee.remove_track(&sender).unwrap();
    assert_eq!(nn_count(&drain(&mut ev)), 0, "not while the chain is busy");
    sld.await.unwrap();
    assert_eq!(callee.signaling_state(), SignalingState::Stable);
    let events = drain(&mut ev);
    assert_eq!(nn_count(&events), 1, "{:?}", trace(&events));
    assert_eq!(trace(&events).last().map(String::as_str), Some("nn"));
}

#[tokio::test]
async fn wpt_169_remove_track_on_caller_fires() {
    let pc1 = pc();
    let pc2 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    exchange(&pc1, &pc2).await;
    let mut ev = pc1.events();
    pc1.remove_track(&sender).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

#[tokio::test]
async fn wpt_170_set_streams_on_trackless_transceiver() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let s1 = MediaStream::new();
    t.sender().set_streams(&[&s1]).unwrap();
    exchange(&pc1, &pc2).await;
    let local = pc1.local_description().unwrap();
    assert!(
        local.sdp.contains(&format!("a=msid:{} ", s1.id())),
        "{}",
        local.sdp
    );
    let mut ev = pc1.events();
    t.sender().set_streams(&[&s1]).unwrap();
    t.sender().set_streams(&[&s1, &s1]).unwrap();
    assert!(drain(&mut ev).is_empty());
    t.sender().set_streams(&[]).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}

#[tokio::test]
async fn wpt_164_data_channel_after_rollback_still_needs_negotiation() {
    let pc = pc();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    let mut ev = pc.events();
    pc.create_data_channel("", None).unwrap();
    assert!(drain(&mut ev).is_empty(), "not in have-local-offer");
    pc.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["ss:stable", "nn"]);
    let offer = pc.create_offer(None).await.unwrap();
    assert!(offer.sdp.contains("m=application"), "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_164_negotiationneeded_waits_for_the_operations_chain() {
    let pc = pc();
    let mut ev = pc.events();
    let op = pc.create_offer(None);
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    pc.create_data_channel("", None).unwrap();
    assert!(drain(&mut ev).is_empty(), "the chain is not empty");
    let offer = op.await.unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
    // rtcpeer runs a chained operation when it is first awaited (api/chain.rs), so this
    // offer already reflects the calls made before the await.
    assert!(offer.sdp.contains("m=audio") && offer.sdp.contains("m=application"));
}

#[tokio::test]
async fn wpt_169_direction_change_undone_clears_the_flag() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    let mut ev = pc1.events();
    t.set_direction(Dir::RecvOnly).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
    // Back to the negotiated direction: nothing to negotiate, the flag is cleared...
    t.set_direction(Dir::SendRecv).unwrap();
    assert!(drain(&mut ev).is_empty());
    // ...so the next change fires again.
    t.set_direction(Dir::Inactive).unwrap();
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
}
