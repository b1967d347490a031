//! WPT-derived tests for group 15 (restartIce), the signaling part: which offers carry new
//! ICE credentials and when `negotiationneeded` fires. Each exchange runs both with explicit
//! createOffer/createAnswer and with parameterless setLocalDescription (WPT-203).
//! Not here: WPT-204 (the same RTCIceTransport object across restarts) is in
//! `wpt_ice_transport.rs`.

mod common;

use common::signaling::{exchange, exchange_implicit};

use rtcpeer::{
    Configuration, EventStream, MediaKind, OfferOptions, PeerConnection, PeerConnectionEvent,
    SessionDescription,
};

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).unwrap()
}

fn ufrag(d: &SessionDescription) -> String {
    d.sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_string()
}

/// How many `negotiationneeded` events are queued now.
fn nn(ev: &mut EventStream) -> usize {
    let mut n = 0;
    while let Some(e) = ev.try_recv() {
        n += usize::from(matches!(e, PeerConnectionEvent::NegotiationNeeded));
    }
    n
}

/// pc1 offers, pc2 answers; `implicit` uses parameterless SLD (WPT-203).
async fn negotiate(pc1: &PeerConnection, pc2: &PeerConnection, implicit: bool) {
    if implicit {
        exchange_implicit(pc1, pc2).await
    } else {
        exchange(pc1, pc2).await
    }
}

fn ufrags(pc1: &PeerConnection, pc2: &PeerConnection) -> (String, String) {
    (
        ufrag(&pc1.current_local_description().unwrap()),
        ufrag(&pc2.current_local_description().unwrap()),
    )
}

#[tokio::test]
async fn wpt_192_restart_ice_on_closed_or_unnegotiated_pc_fires_nothing() {
    let pc1 = pc();
    let mut ev = pc1.events();
    pc1.close();
    pc1.restart_ice();
    assert_eq!(pc1.signaling_state().to_string(), "closed");

    for implicit in [false, true] {
        let (pc1, pc2) = (pc(), pc());
        let mut ev = pc1.events();
        pc1.restart_ice();
        assert_eq!(nn(&mut ev), 0, "nothing to negotiate yet");
        pc1.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        assert_eq!(
            nn(&mut ev),
            1,
            "exactly one negotiationneeded for the transceiver"
        );
        // During the initial negotiation, restartIce has nothing to replace.
        pc1.restart_ice();
        negotiate(&pc1, &pc2, implicit).await;
        assert_eq!(
            nn(&mut ev),
            0,
            "no negotiationneeded after the initial exchange"
        );
    }
    assert!(ev.try_recv().is_none());
}

#[tokio::test]
async fn wpt_193_restart_ice_after_negotiation_fires_negotiationneeded() {
    for implicit in [false, true] {
        let (pc1, pc2) = (pc(), pc());
        pc1.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        negotiate(&pc1, &pc2, implicit).await;
        let mut ev = pc1.events();
        pc1.restart_ice();
        assert_eq!(nn(&mut ev), 1);
    }
}

#[tokio::test]
async fn wpt_194_ufrags_change_only_after_restart_ice() {
    for implicit in [false, true] {
        let (pc1, pc2) = (pc(), pc());
        pc1.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        negotiate(&pc1, &pc2, implicit).await;
        let first = ufrags(&pc1, &pc2);
        negotiate(&pc1, &pc2, implicit).await;
        assert_eq!(
            ufrags(&pc1, &pc2),
            first,
            "a plain re-offer keeps both ufrags"
        );

        let mut ev = pc1.events();
        pc1.restart_ice();
        negotiate(&pc1, &pc2, implicit).await;
        let second = ufrags(&pc1, &pc2);
        assert_ne!(second.0, first.0, "the offerer restarted");
        assert_ne!(second.1, first.1, "the answerer restarted too");
        negotiate(&pc1, &pc2, implicit).await;
        assert_eq!(
            ufrags(&pc1, &pc2),
            second,
            "later exchanges keep the new ufrags"
        );
        assert_eq!(nn(&mut ev), 1, "only restartIce's own negotiationneeded");
    }
}

#[tokio::test]
async fn wpt_196_restart_ice_in_have_local_offer_applies_to_the_next_offer() {
    for implicit in [false, true] {
        // Re-offer in flight.
        let (pc1, pc2) = (pc(), pc());
        pc1.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        negotiate(&pc1, &pc2, implicit).await;
        let before = ufrags(&pc1, &pc2);
        let mut ev = pc1.events();
        pc1.set_local_description(None).await.unwrap();
        pc1.restart_ice();
        assert_eq!(nn(&mut ev), 0, "not while the offer is in flight");
        pc2.set_remote_description(pc1.local_description().unwrap())
            .await
            .unwrap();
        pc2.set_local_description(None).await.unwrap();
        pc1.set_remote_description(pc2.local_description().unwrap())
            .await
            .unwrap();
        assert_eq!(
            ufrags(&pc1, &pc2),
            before,
            "the in-flight exchange keeps the old ufrags"
        );
        assert_eq!(
            nn(&mut ev),
            1,
            "negotiationneeded after returning to stable"
        );
        negotiate(&pc1, &pc2, implicit).await;
        let after = ufrags(&pc1, &pc2);
        assert!(
            after.0 != before.0 && after.1 != before.1,
            "the next exchange restarts ICE"
        );

        // In the initial have-local-offer.
        let (pc1, pc2) = (pc(), pc());
        pc1.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        let mut ev = pc1.events();
        nn(&mut ev);
        pc1.set_local_description(None).await.unwrap();
        pc1.restart_ice();
        pc2.set_remote_description(pc1.local_description().unwrap())
            .await
            .unwrap();
        pc2.set_local_description(None).await.unwrap();
        pc1.set_remote_description(pc2.local_description().unwrap())
            .await
            .unwrap();
        let initial = ufrags(&pc1, &pc2);
        assert_eq!(nn(&mut ev), 1);
        negotiate(&pc1, &pc2, implicit).await;
        let restarted = ufrags(&pc1, &pc2);
        assert!(restarted.0 != initial.0 && restarted.1 != initial.1);
    }
}

#[tokio::test]
async fn wpt_200_restart_ice_trumps_ice_restart_false() {
    let (pc1, pc2) = (pc(), pc());
    pc1.add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    negotiate(&pc1, &pc2, false).await;
    let before = ufrag(&pc1.current_local_description().unwrap());
    pc1.restart_ice();
    let offer = pc1
        .create_offer(Some(OfferOptions {
            ice_restart: false,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_ne!(ufrag(&offer), before);
    // And createOffer({iceRestart: true}) restarts without restartIce.
    let (pc1, pc2) = (pc(), pc());
    pc1.add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    negotiate(&pc1, &pc2, false).await;
    let before = ufrag(&pc1.current_local_description().unwrap());
    let offer = pc1
        .create_offer(Some(OfferOptions {
            ice_restart: true,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_ne!(ufrag(&offer), before);
}
