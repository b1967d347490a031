//! W3C web-platform-tests behaviours for `createDataChannel` (checklist group 19,
//! WPT-227..245): argument validation, defaults and id assignment, through the public API.
//! Items are numbered as in `wpt-checklist.md`. The network side of the group (channels
//! opening, ids on both ends, WPT-237/240/243/244/245) runs over loopback UDP in
//! `wpt_datachannel_network.rs`.
//!
//! Out of scope or not applicable here:
//! - WPT-227 createDataChannel without a label: [js] arity; the Rust signature requires one.
//! - WPT-228 `bufferedAmount`, `bufferedAmountLowThreshold`: their behaviour is tested in
//!   `wpt_datachannel_network.rs` (WPT-250, WPT-252); the other defaults are tested here.
//! - WPT-229 `binaryType`: [js] (Blob vs ArrayBuffer is a JS representation choice); the
//!   Rust `DataChannel` delivers messages as typed payloads.
//! - WPT-233/234 -1, -100, 65536, 100000, ±Infinity, NaN → TypeError: [js] WebIDL
//!   `[EnforceRange] unsigned short`; `DataChannelInit` uses `u16`, so such values cannot be
//!   expressed. The in-range values (0..=65535) are tested.
//! - WPT-240: the signaling part (tracks then a data channel, balanced and max-bundle) is
//!   tested here; the channel pair opening is in `wpt_datachannel_network.rs`.
//! - WPT-244: reuse of an id after the `close` events on both ends is in
//!   `wpt_datachannel_network.rs`.
//! - WPT-245: a channel left without an id (error, then close) is in
//!   `wpt_datachannel_network.rs`; exhausting all 32767 ids of one parity (the WPT test is
//!   disabled for runtime too) is not tested.

mod common;

use common::signaling::exchange;
use common::wpt::media::{audio, m_lines, pc, video};

use rtcpeer::{BundlePolicy, Configuration};
use rtcpeer::{
    DataChannelInit, DataChannelState, ErrorKind, MediaStream, PeerConnection, SessionDescription,
    SignalingState,
};

// ===== 19. createDataChannel =====

#[tokio::test]
async fn wpt_227_create_data_channel_on_closed_pc_throws_invalid_state() {
    let pc = pc();
    pc.close();
    let e = pc.create_data_channel("", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert_eq!(e.name(), "InvalidStateError");
}

#[tokio::test]
async fn wpt_228_data_channel_defaults() {
    let pc = pc();
    let dc = pc.create_data_channel("", None).unwrap();
    assert_eq!(dc.label(), "");
    assert!(dc.ordered());
    assert_eq!(dc.max_packet_life_time(), None);
    assert_eq!(dc.max_retransmits(), None);
    assert_eq!(dc.protocol(), "");
    assert!(!dc.negotiated());
    assert_eq!(dc.id(), None, "DTLS role unknown");
    assert_eq!(dc.ready_state(), DataChannelState::Connecting);
    assert_eq!(dc.ready_state().to_string(), "connecting");
    assert_eq!(dc.priority().to_string(), "low");
}

#[tokio::test]
async fn wpt_230_provided_options_are_reflected() {
    let pc = pc();
    let dc = pc
        .create_data_channel(
            "test",
            Some(DataChannelInit {
                ordered: false,
                ..Default::default()
            }),
        )
        .unwrap();
    assert!(!dc.ordered());
    assert_eq!(dc.label(), "test");
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                max_retransmits: Some(1),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.max_retransmits(), Some(1));
    assert_eq!(dc.max_packet_life_time(), None);
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                protocol: "custom".into(),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.protocol(), "custom");
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                negotiated: true,
                id: Some(3),
                ..Default::default()
            }),
        )
        .unwrap();
    assert!(dc.negotiated());
    assert_eq!(dc.id(), Some(3));
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                max_packet_life_time: Some(42),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.max_packet_life_time(), Some(42));
    assert_eq!(dc.max_retransmits(), None);
}

#[tokio::test]
async fn wpt_232_zero_reliability_values_and_both_set() {
    let pc = pc();
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                max_packet_life_time: Some(0),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.max_packet_life_time(), Some(0));
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                max_retransmits: Some(0),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.max_retransmits(), Some(0));
    for v in [0u16, 42] {
        let e = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    max_packet_life_time: Some(v),
                    max_retransmits: Some(v),
                    ..Default::default()
                }),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type, "both = {v}");
    }
    // Both absent is fine.
    let dc = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                max_packet_life_time: None,
                max_retransmits: None,
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.max_retransmits(), None);
}

#[tokio::test]
async fn wpt_233_reliability_values_in_range_are_reflected() {
    let pc = pc();
    for v in [0u16, 1, 3, 10, 1000, 65534, 65535] {
        let dc = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    max_retransmits: Some(v),
                    ..Default::default()
                }),
            )
            .unwrap();
        assert_eq!(dc.max_retransmits(), Some(v));
        let dc = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    max_packet_life_time: Some(v),
                    ..Default::default()
                }),
            )
            .unwrap();
        assert_eq!(dc.max_packet_life_time(), Some(v));
    }
}

#[tokio::test]
async fn wpt_234_id_without_negotiated_is_ignored() {
    let pc = pc();
    for id in [0u16, 1, 65534, 65535, 42] {
        let dc = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    negotiated: false,
                    id: Some(id),
                    ..Default::default()
                }),
            )
            .unwrap();
        assert_eq!(dc.id(), None, "id {id}");
        assert!(!dc.negotiated());
    }
}

#[tokio::test]
async fn wpt_234_negotiated_ids_are_reflected_and_65535_rejected() {
    let pc = pc();
    for id in [0u16, 1, 65534] {
        let dc = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    negotiated: true,
                    id: Some(id),
                    ..Default::default()
                }),
            )
            .unwrap();
        assert_eq!(dc.id(), Some(id));
    }
    let e = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                negotiated: true,
                id: Some(65535),
                ..Default::default()
            }),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
}

#[tokio::test]
async fn wpt_236_same_label_twice_and_negotiated_without_id() {
    let pc = pc();
    let a = pc.create_data_channel("same", None).unwrap();
    let b = pc.create_data_channel("same", None).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.label(), b.label());
    let e = pc
        .create_data_channel(
            "",
            Some(DataChannelInit {
                negotiated: true,
                id: None,
                ..Default::default()
            }),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
}

#[tokio::test]
async fn wpt_237_ids_assigned_once_dtls_role_known() {
    let pc1 = pc();
    let pc2 = pc();
    let a = pc1.create_data_channel("same", None).unwrap();
    let b = pc1.create_data_channel("same", None).unwrap();
    let n = pc1
        .create_data_channel(
            "",
            Some(DataChannelInit {
                negotiated: true,
                id: Some(42),
                ..Default::default()
            }),
        )
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(a.id(), None, "role still unknown in have-local-offer");
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let ia = a.id().expect("id after SRD(answer)");
    let ib = b.id().expect("id after SRD(answer)");
    assert!(ia < 65535 && ib < 65535);
    assert_ne!(ia, ib);
    assert_eq!(n.id(), Some(42));
    let c = pc1.create_data_channel("same", None).unwrap();
    let ic = c.id().expect("an id immediately");
    assert!(ic < 65535);
    assert!(ic != ia && ic != ib && ic != 42);
    // The answerer also knows its role: its channels get ids at once, distinct from pc1's parity.
    let d = pc2.create_data_channel("", None).unwrap();
    let id = d.id().expect("answerer knows its role");
    assert_ne!(id % 2, ia % 2, "the two sides use different parities");
}

#[tokio::test]
async fn wpt_238_reusing_an_id_throws_operation_error() {
    let pc1 = pc();
    let pc2 = pc();
    let neg = |id| {
        Some(DataChannelInit {
            negotiated: true,
            id: Some(id),
            ..Default::default()
        })
    };
    pc1.create_data_channel("", neg(42)).unwrap();
    let e = pc1.create_data_channel("", neg(42)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "before negotiation");
    let inband = pc1.create_data_channel("", None).unwrap();
    exchange(&pc1, &pc2).await;
    let e = pc1.create_data_channel("", neg(42)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "after negotiation");
    let assigned = inband.id().expect("assigned after negotiation");
    let e = pc1.create_data_channel("", neg(assigned)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "the DCEP-assigned id");
}

#[tokio::test]
async fn wpt_243_dtls_server_gets_odd_ids() {
    // pc2 answers with a=setup:active (Chromium's default), so the offerer pc1 is the DTLS
    // server and uses odd ids (RFC 8832 §6).
    let pc1 = pc();
    let pc2 = pc();
    let mut inband = Vec::new();
    for i in 0..10 {
        inband.push(pc1.create_data_channel(&format!("c{i}"), None).unwrap());
    }
    let mut negotiated = Vec::new();
    for id in [0u16, 2, 4] {
        negotiated.push(
            pc1.create_data_channel(
                "n",
                Some(DataChannelInit {
                    negotiated: true,
                    id: Some(id),
                    ..Default::default()
                }),
            )
            .unwrap(),
        );
    }
    exchange(&pc1, &pc2).await;
    let answer = pc1.remote_description().unwrap();
    assert!(answer.sdp.contains("a=setup:active"), "{}", answer.sdp);
    let mut ids: Vec<u16> = inband.iter().map(|d| d.id().unwrap()).collect();
    assert!(ids.iter().all(|i| i % 2 == 1), "{ids:?}");
    for (d, id) in negotiated.iter().zip([0u16, 2, 4]) {
        assert_eq!(d.id(), Some(id));
    }
    for _ in 0..5 {
        ids.push(pc1.create_data_channel("late", None).unwrap().id().unwrap());
    }
    assert!(ids.iter().all(|i| i % 2 == 1), "{ids:?}");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[tokio::test]
async fn wpt_227_label_and_protocol_longer_than_65535_bytes_throw_type_error() {
    let pc = pc();
    let neg = || DataChannelInit {
        negotiated: true,
        id: Some(42),
        ..Default::default()
    };
    for label in ["l".repeat(65536), "\u{b5}".repeat(32768)] {
        let e = pc.create_data_channel(&label, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        let e = pc.create_data_channel(&label, Some(neg())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
    }
    for protocol in ["p".repeat(65536), "\u{b6}".repeat(32768)] {
        let e = pc
            .create_data_channel(
                "",
                Some(DataChannelInit {
                    protocol: protocol.clone(),
                    ..Default::default()
                }),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        let e = pc
            .create_data_channel("", Some(DataChannelInit { protocol, ..neg() }))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
    }
    // The failed calls created nothing: id 42 is still free.
    let dc = pc.create_data_channel("", Some(neg())).unwrap();
    assert_eq!(dc.id(), Some(42));
    // Exactly 65535 bytes is fine.
    let label = "l".repeat(65535);
    let protocol = "p".repeat(65535);
    let dc = pc
        .create_data_channel(
            &label,
            Some(DataChannelInit {
                protocol: protocol.clone(),
                ..Default::default()
            }),
        )
        .unwrap();
    assert_eq!(dc.label(), label);
    assert_eq!(dc.protocol(), protocol);
}

#[tokio::test]
async fn wpt_237_channel_created_after_negotiation_is_connecting_with_id() {
    for negotiated in [false, true] {
        let pc1 = pc();
        let pc2 = pc();
        let init = negotiated.then(|| DataChannelInit {
            negotiated: true,
            id: Some(0),
            ..Default::default()
        });
        pc1.create_data_channel("", init).unwrap();
        exchange(&pc1, &pc2).await;
        let dc = pc1.create_data_channel("", None).unwrap();
        assert_eq!(dc.ready_state(), DataChannelState::Connecting);
        assert!(dc.id().is_some_and(|id| id != 0 || !negotiated));
    }
}

#[tokio::test]
async fn wpt_237_ids_assigned_when_answer_is_set_without_answerer_sld() {
    // As WPT: the answerer never applies its answer; pc1's SRD(answer) fixes the role.
    let pc1 = pc();
    let pc2 = pc();
    let dc = pc1.create_data_channel("channel", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert!(dc.id().is_some_and(|id| id < 65535));
}

#[tokio::test]
async fn wpt_240_tracks_then_data_channel_negotiate_with_max_bundle() {
    for policy in [BundlePolicy::Balanced, BundlePolicy::MaxBundle] {
        let pc1 = PeerConnection::new(Configuration {
            bundle_policy: policy,
            ..Default::default()
        })
        .unwrap();
        let pc2 = pc();
        let s = MediaStream::new();
        pc1.add_track(&audio(), &[&s]).unwrap();
        pc1.add_track(&video(), &[&s]).unwrap();
        let dc = pc1.create_data_channel("", None).unwrap();
        exchange(&pc1, &pc2).await;
        let answer = pc1.remote_description().unwrap();
        let m = m_lines(&answer);
        assert_eq!(m.len(), 3, "{policy:?}: {m:?}");
        assert!(m[2].starts_with("m=application "), "{m:?}");
        assert!(
            m.iter().all(|l| l.split(' ').nth(1) != Some("0")),
            "{policy:?}: {m:?}"
        );
        assert!(pc1.sctp().is_some() && pc2.sctp().is_some());
        assert!(dc.id().is_some());
    }
}

#[tokio::test]
async fn wpt_243_answerer_channels_get_even_ids_at_its_answer() {
    // pc2 answers a=setup:active: it is the DTLS client and uses even ids (RFC 8832 §6).
    let pc1 = pc();
    let pc2 = pc();
    pc1.create_data_channel("offerer", None).unwrap();
    let early = pc2.create_data_channel("answerer", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(early.id(), None, "role unknown until the answer is applied");
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let id = early.id().expect("assigned by SLD(answer)");
    assert_eq!(id % 2, 0, "{id}");
    let later = pc2.create_data_channel("", None).unwrap();
    let id2 = later.id().unwrap();
    assert_eq!(id2 % 2, 0);
    assert_ne!(id, id2);
}

#[tokio::test]
async fn wpt_243_passive_answerer_makes_offerer_the_client_with_even_ids() {
    let pc1 = pc();
    let pc2 = pc();
    let dcs: Vec<_> = (0..3)
        .map(|_| pc1.create_data_channel("", None).unwrap())
        .collect();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    assert!(answer.sdp.contains("a=setup:active"));
    let passive = answer.sdp.replace("a=setup:active", "a=setup:passive");
    pc1.set_remote_description(SessionDescription::answer(passive))
        .await
        .unwrap();
    let ids: Vec<u16> = dcs.iter().map(|d| d.id().unwrap()).collect();
    assert!(ids.iter().all(|i| i % 2 == 0), "{ids:?}");
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 3);
}

#[tokio::test]
async fn wpt_237_remote_pranswer_also_assigns_ids() {
    let pc1 = pc();
    let pc2 = pc();
    let dc = pc1.create_data_channel("", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(SessionDescription::pranswer(answer.sdp.clone()))
        .await
        .unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveRemotePranswer);
    let id = dc.id().expect("the pranswer fixed the DTLS role");
    assert_eq!(id % 2, 1, "offerer is the DTLS server");
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(dc.id(), Some(id), "the final answer keeps the id");
}
