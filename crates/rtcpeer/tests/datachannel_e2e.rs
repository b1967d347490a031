//! Data channels end to end between two `PeerConnection`s in one process over real UDP on
//! 127.0.0.1: ICE, DTLS, SCTP and DCEP through the runtime driver.

mod common;

use common::net::{
    LIMIT, forward_candidates, negotiate, next, next_data_channel, next_not_low, pc, wait_gathered,
    within,
};
use common::signaling::exchange;
use rtcpeer::{
    DataChannel, DataChannelEvent, DataChannelInit, DataChannelState, DtlsTransportState, Payload,
    PeerConnection, PeerConnectionEvent, PeerConnectionState, SctpTransportState,
};

/// The remote side's `datachannel` event.
async fn incoming(pc: &PeerConnection) -> DataChannel {
    next_data_channel(&mut pc.events()).await
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

/// Replaces the certificate fingerprint in a description by another valid-looking one.
fn tamper_fingerprint(d: &rtcpeer::SessionDescription) -> rtcpeer::SessionDescription {
    let sdp: String = d
        .sdp
        .split("\r\n")
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(v) => {
                let flipped: String = v
                    .chars()
                    .map(|c| {
                        if c == '0' {
                            '1'
                        } else if c.is_ascii_hexdigit() {
                            '0'
                        } else {
                            c
                        }
                    })
                    .collect();
                format!("a=fingerprint:sha-256 {flipped}")
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    rtcpeer::SessionDescription::new(d.sdp_type, sdp)
}

/// RFC 8122 §5 / webrtc-pc §5.5.1: the peer's certificate must match the signalled
/// fingerprint; a mismatch fails DTLS with `error` ("fingerprint-failure") then
/// `statechange` "failed", and connectionState becomes "failed". No channel opens.
#[tokio::test]
async fn wrong_remote_fingerprint_fails_dtls_and_the_connection() {
    let (pc1, pc2) = (pc(), pc());
    let dc1 = pc1.create_data_channel("x", None).unwrap();
    let mut events = pc1.events();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(&pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(&pc2).await;
    let answer = tamper_fingerprint(&pc2.local_description().unwrap());
    assert_ne!(answer.sdp, pc2.local_description().unwrap().sdp);
    pc1.set_remote_description(answer).await.unwrap();

    let mut seen = Vec::new();
    tokio::time::timeout(LIMIT, async {
        loop {
            match events.recv().await.expect("open") {
                PeerConnectionEvent::DtlsTransportError(_, e) => {
                    assert_eq!(e.name(), "OperationError");
                    assert_eq!(e.detail().map(|d| d.as_str()), Some("fingerprint-failure"));
                    seen.push("error".to_string());
                }
                PeerConnectionEvent::DtlsTransportStateChange(_, s) => {
                    seen.push(format!("dtls:{s}"))
                }
                PeerConnectionEvent::ConnectionStateChange(s) => {
                    seen.push(format!("pc:{s}"));
                    if s == PeerConnectionState::Failed {
                        break;
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the connection fails");
    // ICE "checking" and the DTLS start race for "connecting"; the failure order is fixed.
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(
        seen[..2].contains(&"dtls:connecting".to_string()),
        "{seen:?}"
    );
    assert!(seen[..2].contains(&"pc:connecting".to_string()), "{seen:?}");
    assert_eq!(seen[2..], ["error", "dtls:failed", "pc:failed"]);
    let sctp = pc1.sctp().unwrap();
    assert_eq!(sctp.transport().state(), DtlsTransportState::Failed);
    assert!(sctp.transport().get_remote_certificates().is_empty());
    assert_eq!(sctp.state(), SctpTransportState::Closed);
    // The channel that could never open errors and closes.
    let mut ev = dc1.events();
    assert!(
        matches!(next(&mut ev).await, DataChannelEvent::Error(e) if e.name() == "OperationError")
    );
    assert_eq!(next(&mut ev).await, DataChannelEvent::Close);
    assert_eq!(dc1.ready_state(), DataChannelState::Closed);
}

/// A peer sending on a channel the application never reads cannot make us buffer without
/// bound: beyond 16 MiB those messages are dropped, and other channels keep working.
#[tokio::test]
async fn unread_channel_is_bounded_and_does_not_stall_the_connection() {
    let (pc1, pc2) = (pc(), pc());
    let flood = pc1.create_data_channel("flood", None).unwrap();
    let chat = pc1.create_data_channel("chat", None).unwrap();
    let (mut flood_ev, mut chat_ev) = (flood.events(), chat.events());
    let mut pc2_events = pc2.events();
    negotiate(&pc1, &pc2).await;
    assert_eq!(next(&mut flood_ev).await, DataChannelEvent::Open);
    assert_eq!(next(&mut chat_ev).await, DataChannelEvent::Open);
    let a = next_data_channel(&mut pc2_events).await;
    let b = next_data_channel(&mut pc2_events).await;
    let (flood2, chat2) = if a.label() == "flood" { (a, b) } else { (b, a) };
    let mut chat2_ev = chat2.events();
    assert_eq!(next(&mut chat2_ev).await, DataChannelEvent::Open);

    // 24 MiB on the unread channel, with back-pressure on the sending side only.
    flood.set_buffered_amount_low_threshold(256 * 1024);
    let chunk = vec![7u8; 256 * 1024];
    for _ in 0..96 {
        while flood.buffered_amount() > 1024 * 1024 {
            assert_eq!(
                next(&mut flood_ev).await,
                DataChannelEvent::BufferedAmountLow
            );
        }
        flood.send(&chunk).unwrap();
    }
    // Everything left the sender; a message sent after it on another stream still
    // arrives, so the receiver kept reading its socket (it did not wait on the unread
    // channel).
    flood.set_buffered_amount_low_threshold(0);
    while flood.buffered_amount() > 0 {
        assert_eq!(
            next(&mut flood_ev).await,
            DataChannelEvent::BufferedAmountLow
        );
    }
    chat.send_text("still here").unwrap();
    assert_eq!(
        next_not_low(&mut chat2_ev).await,
        DataChannelEvent::Message(Payload::Text("still here".into()))
    );
    // A late reader of the flooded channel finds at most 16 MiB of it.
    let mut flood2_ev = flood2.events();
    let mut kept = 0usize;
    while let Some(e) = flood2_ev.try_recv() {
        if let DataChannelEvent::Message(Payload::Binary(m)) = e {
            kept += m.len();
        }
    }
    assert!(kept > 0 && kept <= 16 * 1024 * 1024, "kept {kept} bytes");
}

/// A reader that does not keep up slows the sender down instead of losing messages: the
/// reader holds its stream without reading until 5 MiB were sent (its queue holds 4 MiB),
/// then reads all 24 MiB, every message in order.
#[tokio::test]
async fn slow_reader_back_pressures_the_sender_without_loss() {
    let (pc1, pc2) = (pc(), pc());
    let dc1 = pc1.create_data_channel("bulk", None).unwrap();
    let mut ev1 = dc1.events();
    negotiate(&pc1, &pc2).await;
    let dc2 = incoming(&pc2).await;
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev1).await, DataChannelEvent::Open);
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);

    const N: usize = 96;
    const HELD_UNTIL: usize = 20;
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0usize);
    let sender = tokio::spawn(async move {
        dc1.set_buffered_amount_low_threshold(512 * 1024);
        let mut sent = 0;
        while sent < N {
            if dc1.buffered_amount() > 1024 * 1024 {
                next_not_low_or_low(&mut ev1).await;
                continue;
            }
            dc1.send(&vec![sent as u8; 256 * 1024]).unwrap();
            sent += 1;
            progress_tx.send_replace(sent);
        }
        (dc1, ev1)
    });
    within(
        "10 MiB sent to a reader that does not read yet",
        progress.wait_for(|&n| n >= HELD_UNTIL),
    )
    .await
    .unwrap();
    for i in 0..N {
        match next_not_low(&mut ev2).await {
            DataChannelEvent::Message(Payload::Binary(m)) => {
                assert_eq!(m.len(), 256 * 1024);
                assert!(m.iter().all(|&b| b == i as u8), "message {i} in order");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    sender.await.unwrap();
}

/// The next event, `bufferedamountlow` included (waits for room in the send buffer).
async fn next_not_low_or_low(ev: &mut rtcpeer::DataChannelEvents) -> DataChannelEvent {
    next(ev).await
}

/// Channel churn with large labels (a hostile peer's pattern) does not grow the connection:
/// closed channels without handles are forgotten on both sides, while a channel whose
/// handle the application keeps stays readable after it closed.
#[tokio::test]
async fn closed_channels_without_handles_are_forgotten_under_churn() {
    let (pc1, pc2) = (pc(), pc());
    let kept = pc1.create_data_channel("kept", None).unwrap();
    let mut kept_ev = kept.events();
    negotiate(&pc1, &pc2).await;
    assert_eq!(next(&mut kept_ev).await, DataChannelEvent::Open);
    // pc2 has no `datachannel` subscriber: its handles are dropped at once.
    let label = "x".repeat(32 * 1024);
    for i in 0..200 {
        let dc = pc1
            .create_data_channel(&format!("{label}{i}"), None)
            .unwrap();
        let mut ev = dc.events();
        assert_eq!(next_not_low(&mut ev).await, DataChannelEvent::Open);
        dc.close();
        loop {
            if next_not_low(&mut ev).await == DataChannelEvent::Close {
                break;
            }
        }
    }
    kept.close();
    loop {
        if next_not_low(&mut kept_ev).await == DataChannelEvent::Close {
            break;
        }
    }
    // The driver forgets released channels in its next rounds.
    within("closed channels to be forgotten", async {
        while pc1.data_channel_count() > 1 || pc2.data_channel_count() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(pc1.data_channel_count(), 1, "only the channel still held");
    assert_eq!(kept.label(), "kept");
    assert_eq!(kept.ready_state(), DataChannelState::Closed);
    drop(kept_ev);
    drop(kept);
    within("the last closed channel to be forgotten", async {
        while pc1.data_channel_count() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}
