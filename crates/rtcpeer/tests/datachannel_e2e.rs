//! Data channels end to end between two `PeerConnection`s in one process over real UDP on
//! 127.0.0.1: ICE, DTLS, SCTP and DCEP through the runtime driver.

mod common;

use std::time::Duration;

use common::signaling::exchange;
use rtcpeer::datachannel::Payload;
use rtcpeer::dtls::DtlsTransportState;
use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelInit, DataChannelState,
    PeerConnection, PeerConnectionEvent, PeerConnectionState, SctpTransportState,
};

/// Every wait in these tests ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(20);

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("pc")
}

/// Waits for the remote side's `datachannel` event.
async fn incoming(pc: &PeerConnection) -> DataChannel {
    let mut ev = pc.events();
    tokio::time::timeout(LIMIT, async {
        loop {
            match ev.recv().await {
                Some(PeerConnectionEvent::DataChannel(dc)) => return dc,
                Some(_) => {}
                None => panic!("connection closed"),
            }
        }
    })
    .await
    .expect("datachannel event")
}

async fn next(ev: &mut rtcpeer::DataChannelEvents) -> DataChannelEvent {
    tokio::time::timeout(LIMIT, ev.recv())
        .await
        .expect("a data channel event in time")
        .expect("stream open")
}

/// The next event other than `bufferedamountlow` (which fires after every send burst with
/// the default threshold 0, WPT-252).
async fn next_not_low(ev: &mut rtcpeer::DataChannelEvents) -> DataChannelEvent {
    loop {
        let e = next(ev).await;
        if e != DataChannelEvent::BufferedAmountLow {
            return e;
        }
    }
}

/// Offer/answer without trickle: each description is sent once gathering completed, with
/// its candidates.
async fn negotiate(pc1: &PeerConnection, pc2: &PeerConnection) {
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    wait_gathered(pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
}

async fn wait_gathered(pc: &PeerConnection) {
    let mut ev = pc.events();
    if pc.ice_gathering_state() == rtcpeer::IceGatheringState::Complete {
        return;
    }
    tokio::time::timeout(LIMIT, async {
        while pc.ice_gathering_state() != rtcpeer::IceGatheringState::Complete {
            ev.recv().await;
        }
    })
    .await
    .expect("gathering completes");
}

#[tokio::test]
async fn text_and_binary_messages_both_ways_then_close_from_the_answerer() {
    let (pc1, pc2) = (pc(), pc());
    let dc1 = pc1.create_data_channel("chat", None).unwrap();
    let mut ev1 = dc1.events();
    negotiate(&pc1, &pc2).await;
    let dc2 = incoming(&pc2).await;
    assert_eq!(dc2.label(), "chat");
    assert_eq!(dc2.ready_state(), DataChannelState::Open);
    assert_eq!(dc1.id(), dc2.id());
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev1).await, DataChannelEvent::Open);
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);

    dc1.send_text("hello").unwrap();
    dc1.send(&[1, 2, 3]).unwrap();
    dc1.send_text("").unwrap();
    dc1.send(&[]).unwrap();
    assert_eq!(
        next(&mut ev2).await,
        DataChannelEvent::Message(Payload::Text("hello".into()))
    );
    assert_eq!(
        next(&mut ev2).await,
        DataChannelEvent::Message(Payload::Binary(vec![1, 2, 3]))
    );
    assert_eq!(
        next(&mut ev2).await,
        DataChannelEvent::Message(Payload::Text(String::new()))
    );
    assert_eq!(
        next(&mut ev2).await,
        DataChannelEvent::Message(Payload::Binary(Vec::new()))
    );
    dc2.send_text("世界你好").unwrap();
    assert_eq!(
        next_not_low(&mut ev1).await,
        DataChannelEvent::Message(Payload::Text("世界你好".into()))
    );

    assert_eq!(pc1.connection_state(), PeerConnectionState::Connected);
    assert_eq!(pc2.connection_state(), PeerConnectionState::Connected);
    let sctp = pc1.sctp().unwrap();
    assert_eq!(sctp.state(), SctpTransportState::Connected);
    assert_eq!(sctp.transport().state(), DtlsTransportState::Connected);
    assert_eq!(sctp.transport().get_remote_certificates().len(), 1);

    dc2.close();
    assert_eq!(dc2.ready_state(), DataChannelState::Closing);
    assert_eq!(next_not_low(&mut ev1).await, DataChannelEvent::Closing);
    assert_eq!(next_not_low(&mut ev1).await, DataChannelEvent::Close);
    assert_eq!(next_not_low(&mut ev2).await, DataChannelEvent::Close);
    assert_eq!(dc1.ready_state(), DataChannelState::Closed);
    assert_eq!(dc2.ready_state(), DataChannelState::Closed);
    assert!(ev1.recv().await.is_none(), "the stream ends after close");
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn four_mib_with_back_pressure_arrives_intact_and_in_order() {
    let (pc1, pc2) = (pc(), pc());
    let dc1 = pc1.create_data_channel("bulk", None).unwrap();
    let mut ev1 = dc1.events();
    negotiate(&pc1, &pc2).await;
    let dc2 = incoming(&pc2).await;
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev1).await, DataChannelEvent::Open);
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);
    dc1.set_buffered_amount_low_threshold(256 * 1024);
    const N: usize = 64;
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        while sent < N {
            if dc1.buffered_amount() > 1024 * 1024 {
                loop {
                    if next(&mut ev1).await == DataChannelEvent::BufferedAmountLow {
                        break;
                    }
                }
                continue;
            }
            let msg = vec![sent as u8; 65536];
            match dc1.send(&msg) {
                Ok(()) => sent += 1,
                Err(e) => panic!("send {sent}: {e}"),
            }
        }
        (dc1, ev1)
    });
    for i in 0..N {
        match next(&mut ev2).await {
            DataChannelEvent::Message(Payload::Binary(d)) => {
                assert_eq!(d.len(), 65536);
                assert!(d.iter().all(|&b| b == i as u8), "message {i} intact");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let (_dc1, _ev1) = sender.await.unwrap();
}

#[tokio::test]
async fn negotiated_channel_opens_on_both_sides_with_its_id() {
    let (pc1, pc2) = (pc(), pc());
    let init = DataChannelInit {
        negotiated: true,
        id: Some(7),
        ..Default::default()
    };
    let a = pc1.create_data_channel("n", Some(init.clone())).unwrap();
    let b = pc2.create_data_channel("n", Some(init)).unwrap();
    let (mut ea, mut eb) = (a.events(), b.events());
    exchange(&pc1, &pc2).await;
    // Trickle: forward candidates both ways.
    let t = forward_candidates(&pc1, &pc2);
    assert_eq!(next(&mut ea).await, DataChannelEvent::Open);
    assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
    a.send_text("ping").unwrap();
    assert_eq!(
        next(&mut eb).await,
        DataChannelEvent::Message(Payload::Text("ping".into()))
    );
    assert_eq!((a.id(), b.id()), (Some(7), Some(7)));
    t.abort();
}

/// Forwards `icecandidate` events both ways until aborted.
fn forward_candidates(pc1: &PeerConnection, pc2: &PeerConnection) -> tokio::task::JoinHandle<()> {
    let (mut e1, mut e2) = (pc1.events(), pc2.events());
    let (p1, p2) = (pc1.clone(), pc2.clone());
    let (c1, c2) = (p1.clone(), p2.clone());
    tokio::spawn(async move {
        // Candidates gathered before the streams existed are in the descriptions.
        for c in pending_candidates(&c1) {
            let _ = c2.add_ice_candidate(Some(c)).await;
        }
        for c in pending_candidates(&c2) {
            let _ = c1.add_ice_candidate(Some(c)).await;
        }
        loop {
            tokio::select! {
                Some(e) = e1.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e {
                        let _ = p2.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                Some(e) = e2.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e {
                        let _ = p1.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                else => break,
            }
        }
    })
}

/// Candidates already written into a connection's local description.
fn pending_candidates(pc: &PeerConnection) -> Vec<rtcpeer::IceCandidateInit> {
    let Some(d) = pc.local_description() else {
        return Vec::new();
    };
    d.sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(|l| rtcpeer::IceCandidateInit {
            candidate: l.to_string(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        })
        .collect()
}
