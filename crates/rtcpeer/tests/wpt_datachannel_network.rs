//! WPT-derived network behaviours of data channels, the SCTP transport and the DTLS
//! transport (`../shared/conformance/wpt-checklist.md` groups 14, 17, 19, 20, 26, 27): two
//! rtcpeer `PeerConnection`s in one process, connected over UDP on 127.0.0.1.
//!
//! The tests run on Tokio's current-thread runtime: between two `.await`s no driver runs, so
//! `bufferedAmount` right after `send` is what `send` queued (as in a browser task).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::net::{
    forward_candidates, negotiate, next, next_data_channel, next_not_low, pc, within,
};
use common::signaling::{drain, exchange};
use rtcpeer::{
    BinaryType, BundlePolicy, CertificateParams, Configuration, DataChannel, DataChannelEvent,
    DataChannelEvents, DataChannelInit, DataChannelState, DtlsTransportState, ErrorDetail,
    ErrorKind, EventStream, IceConnectionState, MediaKind, MediaStream, MediaStreamTrack, Payload,
    PeerConnection, PeerConnectionEvent, PeerConnectionState, Priority, SctpTransportState,
    TransceiverInit,
};

fn text(s: &str) -> DataChannelEvent {
    DataChannelEvent::Message(Payload::Text(s.into()))
}

fn binary(b: &[u8]) -> DataChannelEvent {
    DataChannelEvent::Message(Payload::Binary(b.to_vec()))
}

/// A connected pair with one open channel created by pc1 (in-band, or negotiated on both
/// sides when `init.negotiated`): both `open` events were taken.
struct Pair {
    pc1: PeerConnection,
    pc2: PeerConnection,
    dc1: DataChannel,
    dc2: DataChannel,
    ev1: DataChannelEvents,
    ev2: DataChannelEvents,
}

async fn open_pair(init: Option<DataChannelInit>) -> Pair {
    let (pc1, pc2) = (pc(), pc());
    let negotiated = init.as_ref().is_some_and(|i| i.negotiated);
    let dc1 = pc1.create_data_channel("test", init.clone()).unwrap();
    let mut ev1 = dc1.events();
    let mut pev2 = pc2.events();
    let local2 = negotiated.then(|| pc2.create_data_channel("test", init).unwrap());
    negotiate(&pc1, &pc2).await;
    let dc2 = match local2 {
        Some(dc2) => dc2,
        None => {
            let dc2 = next_data_channel(&mut pev2).await;
            assert_eq!(dc2.ready_state(), DataChannelState::Open);
            dc2
        }
    };
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev1).await, DataChannelEvent::Open);
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);
    Pair {
        pc1,
        pc2,
        dc1,
        dc2,
        ev1,
        ev2,
    }
}

/// The variants WPT runs its data-channel tests in: in-band, and negotiated with id 0.
fn variants() -> [Option<DataChannelInit>; 2] {
    [
        None,
        Some(DataChannelInit {
            negotiated: true,
            id: Some(0),
            ..Default::default()
        }),
    ]
}

/// Connection events until `stop` says so (the stream must not end first).
async fn events_until(
    ev: &mut EventStream,
    mut stop: impl FnMut(&PeerConnectionEvent) -> bool,
) -> Vec<PeerConnectionEvent> {
    within("connection events", async {
        let mut seen = Vec::new();
        loop {
            let e = ev.recv().await.expect("connection events continue");
            let done = stop(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    })
    .await
}

fn connection_states(events: &[PeerConnectionEvent]) -> Vec<PeerConnectionState> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::ConnectionStateChange(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn dtls_states(events: &[PeerConnectionEvent]) -> Vec<DtlsTransportState> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::DtlsTransportStateChange(_, s) => Some(*s),
            _ => None,
        })
        .collect()
}

/// Reads a channel's events up to and including `close`, skipping `bufferedamountlow`.
async fn events_to_close(ev: &mut DataChannelEvents) -> Vec<DataChannelEvent> {
    let mut seen = Vec::new();
    loop {
        let e = next_not_low(ev).await;
        let done = e == DataChannelEvent::Close;
        seen.push(e);
        if done {
            return seen;
        }
    }
}

// ===== 14. connection state =====

/// WPT-187 (and WPT-332/333 for the data channel's DTLS transport): with trickled
/// candidates, `connectionstatechange` reports exactly "connecting" then "connected"; at
/// "connected" the SCTP transport's DTLS transport is connected and its ICE transport is
/// connected or completed; the DTLS transport's `statechange` events are "connecting",
/// "connected" on both ends, and its remote certificates appear only then.
#[tokio::test]
async fn wpt_187_connection_states_are_connecting_then_connected() {
    // Certificates given in the configuration, so each side's can be compared with what
    // the peer received.
    let with_cert = || async {
        let cert = PeerConnection::generate_certificate(CertificateParams::default())
            .await
            .unwrap();
        let config = Configuration {
            certificates: vec![cert],
            ..Default::default()
        };
        PeerConnection::new(config).unwrap()
    };
    let (pc1, pc2) = (with_cert().await, with_cert().await);
    let dc1 = pc1.create_data_channel("x", None).unwrap();
    let mut dce1 = dc1.events();
    let (mut ev1, mut ev2) = (pc1.events(), pc2.events());
    exchange(&pc1, &pc2).await;
    // WPT-333: no remote certificate before "connected".
    for pc in [&pc1, &pc2] {
        let sctp = pc.sctp().expect("sctp after the exchange");
        assert!(sctp.transport().get_remote_certificates().is_empty());
        assert_eq!(sctp.state(), SctpTransportState::Connecting);
    }
    let trickle = forward_candidates(&pc1, &pc2);
    for (pc, ev, peer) in [(&pc1, &mut ev1, &pc2), (&pc2, &mut ev2, &pc1)] {
        let seen = events_until(ev, |e| {
            matches!(
                e,
                PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Connected)
            )
        })
        .await;
        let sctp = pc.sctp().unwrap();
        let dtls = sctp.transport();
        assert_eq!(dtls.state(), DtlsTransportState::Connected);
        let ice = dtls.ice_transport().unwrap().state();
        assert!(
            matches!(
                ice,
                IceConnectionState::Connected | IceConnectionState::Completed
            ),
            "{ice}"
        );
        assert_eq!(
            connection_states(&seen),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ]
        );
        // WPT-332 (data channel case): the DTLS transport went connecting → connected and
        // the events carry the SCTP transport's DTLS transport.
        assert_eq!(
            dtls_states(&seen),
            [
                DtlsTransportState::Connecting,
                DtlsTransportState::Connected
            ]
        );
        assert!(seen.iter().all(|e| match e {
            PeerConnectionEvent::DtlsTransportStateChange(t, _) => *t == dtls,
            _ => true,
        }));
        // WPT-333: the peer's DER certificate once connected.
        let certs = dtls.get_remote_certificates();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0], peer.get_configuration().certificates[0].der());
    }
    // Data flows, and no further connection state change happened meanwhile.
    assert_eq!(next(&mut dce1).await, DataChannelEvent::Open);
    dc1.send_text("ping").unwrap();
    let dc2 = next_data_channel(&mut ev2).await;
    let mut dce2 = dc2.events();
    assert_eq!(next(&mut dce2).await, DataChannelEvent::Open);
    assert_eq!(next(&mut dce2).await, text("ping"));
    assert!(connection_states(&drain(&mut ev1)).is_empty());
    assert!(connection_states(&drain(&mut ev2)).is_empty());
    trickle.abort();
}

/// WPT-188 with max-bundle: a data channel added to an already connected (bundled) session
/// uses the connected transport, so connectionState stays "connected" (no new
/// "connecting"), and the channel opens.
#[tokio::test]
async fn wpt_188_data_channel_added_to_connected_bundle_keeps_connected() {
    let config = || Configuration {
        bundle_policy: BundlePolicy::MaxBundle,
        ..Default::default()
    };
    let pc1 = PeerConnection::new(config()).unwrap();
    let pc2 = PeerConnection::new(config()).unwrap();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let (mut ev1, mut ev2) = (pc1.events(), pc2.events());
    negotiate(&pc1, &pc2).await;
    for ev in [&mut ev1, &mut ev2] {
        let seen = events_until(ev, |e| {
            matches!(
                e,
                PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Connected)
            )
        })
        .await;
        assert_eq!(
            connection_states(&seen),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ]
        );
    }
    let dc1 = pc1.create_data_channel("late", None).unwrap();
    let mut dce1 = dc1.events();
    exchange(&pc1, &pc2).await;
    let dc2 = next_data_channel(&mut ev2).await;
    assert_eq!(next(&mut dce1).await, DataChannelEvent::Open);
    assert_eq!(dc2.label(), "late");
    assert_eq!(pc1.sctp().unwrap().state(), SctpTransportState::Connected);
    for (pc, ev) in [(&pc1, &mut ev1), (&pc2, &mut ev2)] {
        assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
        assert!(connection_states(&drain(ev)).is_empty());
    }
}

// ===== 17. close() =====

/// WPT-208: after `close()` of a connected pc its SCTP transport is "closed" at once; the
/// peer's SCTP transport closes too (it gets the ABORT), with a `statechange`.
/// `maxChannels` is set once the association is connected and kept afterwards.
#[tokio::test]
async fn wpt_208_sctp_closed_after_close_of_a_connected_pc() {
    let p = open_pair(None).await;
    let (s1, s2) = (p.pc1.sctp().unwrap(), p.pc2.sctp().unwrap());
    assert_eq!(s1.state(), SctpTransportState::Connected);
    assert_eq!(s1.max_channels(), Some(65535));
    assert_eq!(s2.max_channels(), Some(65535));
    let mut ev2 = p.pc2.events();
    p.pc1.close();
    assert_eq!(s1.state(), SctpTransportState::Closed);
    assert_eq!(s1.max_channels(), Some(65535));
    events_until(&mut ev2, |e| {
        matches!(
            e,
            PeerConnectionEvent::SctpTransportStateChange(_, SctpTransportState::Closed)
        )
    })
    .await;
    assert_eq!(s2.state(), SctpTransportState::Closed);
    assert_eq!(s2.max_channels(), Some(65535));
    assert_eq!(p.dc1.ready_state(), DataChannelState::Closed);
}

/// WPT-211: `close()` makes the local DTLS transport "closed" synchronously without a
/// `statechange`; the peer's DTLS transport then reaches "closed" (close_notify), with a
/// `statechange`. The ICE transport is "closed" at once too and stays the same object.
#[tokio::test]
async fn wpt_211_close_sets_dtls_closed_locally_without_event_and_remotely() {
    let p = open_pair(None).await;
    let (mut ev1, mut ev2) = (p.pc1.events(), p.pc2.events());
    let dtls1 = p.pc1.sctp().unwrap().transport();
    let dtls2 = p.pc2.sctp().unwrap().transport();
    let ice1 = dtls1.ice_transport().unwrap();
    assert_eq!(dtls1.state(), DtlsTransportState::Connected);
    p.pc1.close();
    assert_eq!(dtls1.state(), DtlsTransportState::Closed);
    assert_eq!(ice1.state(), IceConnectionState::Closed);
    assert_eq!(dtls1.ice_transport().unwrap(), ice1);
    // Nothing fires on the closed side: its stream just ends.
    let rest = within("the closed pc's stream to end", async {
        let mut rest = Vec::new();
        while let Some(e) = ev1.recv().await {
            rest.push(e);
        }
        rest
    })
    .await;
    assert!(rest.is_empty(), "{rest:?}");
    let seen = events_until(&mut ev2, |e| {
        matches!(
            e,
            PeerConnectionEvent::DtlsTransportStateChange(_, DtlsTransportState::Closed)
        )
    })
    .await;
    assert_eq!(dtls_states(&seen), [DtlsTransportState::Closed]);
    assert_eq!(dtls2.state(), DtlsTransportState::Closed);
    p.pc2.close();
}

/// WPT-212: closing a pc makes each of the peer's channels fire `error` (an RTCError:
/// OperationError, "sctp-failure", cause code none or 12) then `close`, for 10 channels at
/// once; the closed side fires nothing.
#[tokio::test]
async fn wpt_212_pc_close_fires_error_then_close_on_every_remote_channel() {
    let (pc1, pc2) = (pc(), pc());
    let local: Vec<_> = (0..10)
        .map(|i| pc1.create_data_channel(&format!("c{i}"), None).unwrap())
        .collect();
    let mut local_ev: Vec<_> = local.iter().map(DataChannel::events).collect();
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    let mut remote = Vec::new();
    for _ in 0..10 {
        let dc = next_data_channel(&mut pev2).await;
        let mut ev = dc.events();
        assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
        remote.push((dc, ev));
    }
    for ev in &mut local_ev {
        assert_eq!(next(ev).await, DataChannelEvent::Open);
    }
    pc1.close();
    for (dc, ev) in &mut remote {
        let seen = events_to_close(ev).await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        let DataChannelEvent::Error(e) = &seen[0] else {
            panic!("error first: {seen:?}");
        };
        assert_eq!(e.kind(), ErrorKind::Operation);
        assert_eq!(e.name(), "OperationError");
        match e.detail() {
            // rtcpeer's close() aborts with "User-Initiated Abort" (RFC 9260 §3.3.10.12),
            // which the peer reports as sctpCauseCode.
            Some(ErrorDetail::SctpFailure { cause_code }) => assert_eq!(cause_code, Some(12)),
            other => panic!("sctp-failure expected, got {other:?}"),
        }
        assert_eq!(dc.ready_state(), DataChannelState::Closed);
        assert!(next_opt(ev).await.is_none(), "the stream ends after close");
    }
    for (dc, ev) in local.iter().zip(&mut local_ev) {
        assert_eq!(dc.ready_state(), DataChannelState::Closed);
        assert!(next_opt(ev).await.is_none(), "no event on the closed side");
    }
    pc2.close();
}

async fn next_opt(ev: &mut DataChannelEvents) -> Option<DataChannelEvent> {
    within("the end of a channel's events", ev.recv()).await
}

/// WPT-215 (and WPT-250's closing cases): a `bufferedAmount` > 0 is kept by `dc.close()`
/// and by `pc.close()`.
#[tokio::test]
async fn wpt_215_buffered_amount_is_kept_after_close() {
    for init in variants() {
        let p = open_pair(init.clone()).await;
        p.dc1.send(b"hello").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 5);
        p.pc1.close();
        assert_eq!(p.dc1.buffered_amount(), 5);
        assert_eq!(p.dc1.ready_state(), DataChannelState::Closed);
        p.pc2.close();

        let p = open_pair(init).await;
        p.dc1.send(b"hello").unwrap();
        p.dc1.close();
        assert_eq!(p.dc1.buffered_amount(), 5);
        p.pc1.close();
        assert_eq!(p.dc1.buffered_amount(), 5);
        p.pc2.close();
    }
}

// ===== 19. ids =====

/// WPT-237 over the network: in-band channels created before and after the connection get
/// distinct ids below 65535 (equal labels too), the peer sees the same ids, and a
/// negotiated channel keeps its id (42) on both ends.
#[tokio::test]
async fn wpt_237_ids_are_distinct_and_the_same_on_both_ends() {
    let (pc1, pc2) = (pc(), pc());
    let before: Vec<_> = (0..3)
        .map(|_| pc1.create_data_channel("same", None).unwrap())
        .collect();
    let neg = DataChannelInit {
        negotiated: true,
        id: Some(42),
        ..Default::default()
    };
    let n1 = pc1.create_data_channel("neg", Some(neg.clone())).unwrap();
    let n2 = pc2.create_data_channel("neg", Some(neg)).unwrap();
    let (mut ne1, mut ne2) = (n1.events(), n2.events());
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    assert_eq!(next(&mut ne1).await, DataChannelEvent::Open);
    assert_eq!(next(&mut ne2).await, DataChannelEvent::Open);
    assert_eq!((n1.id(), n2.id()), (Some(42), Some(42)));
    let after = pc1.create_data_channel("same", None).unwrap();
    assert!(after.id().is_some(), "an id at once once the role is known");
    let mut local: Vec<u16> = before
        .iter()
        .chain([&after])
        .map(|d| d.id().unwrap())
        .collect();
    let mut remote = Vec::new();
    for _ in 0..4 {
        let dc = next_data_channel(&mut pev2).await;
        assert_eq!(dc.label(), "same");
        remote.push(dc.id().unwrap());
    }
    assert!(local.iter().all(|&id| id < 65535 && id != 42));
    local.sort_unstable();
    remote.sort_unstable();
    assert_eq!(local.iter().collect::<HashSet<_>>().len(), 4);
    assert_eq!(local, remote);
    pc1.close();
    pc2.close();
}

/// WPT-243 over the network: as DTLS server (the offerer, answered with a=setup:active),
/// 10 channels created before the connection get odd ids, even-id negotiated channels keep
/// theirs, and later in-band channels keep getting new odd ids; all open with the same ids
/// on the peer.
#[tokio::test]
async fn wpt_243_dtls_server_channels_get_odd_ids_and_open() {
    let (pc1, pc2) = (pc(), pc());
    let early: Vec<_> = (0..10)
        .map(|i| pc1.create_data_channel(&format!("e{i}"), None).unwrap())
        .collect();
    let negotiated: Vec<_> = [2u16, 4]
        .iter()
        .map(|&id| {
            let init = DataChannelInit {
                negotiated: true,
                id: Some(id),
                ..Default::default()
            };
            (
                pc1.create_data_channel("n", Some(init.clone())).unwrap(),
                pc2.create_data_channel("n", Some(init)).unwrap(),
            )
        })
        .collect();
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    let late: Vec<_> = (0..5)
        .map(|i| pc1.create_data_channel(&format!("l{i}"), None).unwrap())
        .collect();
    let ids: Vec<u16> = early.iter().chain(&late).map(|d| d.id().unwrap()).collect();
    assert!(ids.iter().all(|id| id % 2 == 1), "{ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 15);
    let mut remote = std::collections::HashMap::new();
    for _ in 0..15 {
        let dc = next_data_channel(&mut pev2).await;
        remote.insert(dc.label(), dc.id().unwrap());
    }
    for d in early.iter().chain(&late) {
        assert_eq!(remote[&d.label()], d.id().unwrap());
    }
    for (a, b) in &negotiated {
        let (mut ea, mut eb) = (a.events(), b.events());
        assert_eq!(next(&mut ea).await, DataChannelEvent::Open);
        assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
        assert_eq!(a.id(), b.id());
        a.send_text("n").unwrap();
        assert_eq!(next_not_low(&mut eb).await, text("n"));
    }
    pc1.close();
    pc2.close();
}

/// WPT-244: once a channel's `close` fired on both ends, its id can be reused by a new
/// negotiated channel on both sides, which opens and carries messages both ways.
#[tokio::test]
async fn wpt_244_id_reused_by_negotiated_channel_after_close() {
    let mut p = open_pair(None).await;
    let id = p.dc1.id().unwrap();
    p.dc1.close();
    assert_eq!(next_not_low(&mut p.ev1).await, DataChannelEvent::Close);
    assert_eq!(next_not_low(&mut p.ev2).await, DataChannelEvent::Closing);
    assert_eq!(next_not_low(&mut p.ev2).await, DataChannelEvent::Close);
    let init = DataChannelInit {
        negotiated: true,
        id: Some(id),
        ..Default::default()
    };
    let a = p
        .pc1
        .create_data_channel("again", Some(init.clone()))
        .unwrap();
    let b = p.pc2.create_data_channel("again", Some(init)).unwrap();
    let (mut ea, mut eb) = (a.events(), b.events());
    assert_eq!(next(&mut ea).await, DataChannelEvent::Open);
    assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
    a.send_text("to b").unwrap();
    assert_eq!(next_not_low(&mut eb).await, text("to b"));
    b.send(&[7, 7]).unwrap();
    assert_eq!(next_not_low(&mut ea).await, binary(&[7, 7]));
    p.pc1.close();
    p.pc2.close();
}

/// WPT-245: a channel that gets no id when the DTLS role is set fires `error`
/// (OperationError, "data-channel-failure") and then `close`, and is "closed".
#[tokio::test]
async fn wpt_245_channel_without_id_fires_error_then_close() {
    // Stream ids, not the open-channel cap (1024 by default), must run out here.
    let uncapped = rtcpeer::Settings {
        data_channels: rtcpeer::DataChannelLimits {
            max_open: 65535,
            ..Default::default()
        },
        ..Default::default()
    };
    let pc1 = PeerConnection::with_settings(Configuration::default(), uncapped).unwrap();
    let pc2 = pc();
    // pc1 is the DTLS server (odd ids, 32767 of them): one channel too many.
    let channels: Vec<_> = (0..32768)
        .map(|_| pc1.create_data_channel("c", None).unwrap())
        .collect();
    let last = channels.last().unwrap();
    let mut ev = last.events();
    exchange(&pc1, &pc2).await;
    assert_eq!(last.id(), None);
    assert_eq!(last.ready_state(), DataChannelState::Closed);
    let DataChannelEvent::Error(e) = next(&mut ev).await else {
        panic!("error first");
    };
    assert_eq!(e.name(), "OperationError");
    assert_eq!(e.detail(), Some(ErrorDetail::DataChannelFailure));
    assert_eq!(next(&mut ev).await, DataChannelEvent::Close);
    assert!(next_opt(&mut ev).await.is_none());
    // No id left: createDataChannel throws.
    let err = pc1.create_data_channel("more", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Operation);
    pc1.close();
    pc2.close();
}

/// WPT-240 (network part): with tracks added before the data channel, the channel pair
/// opens, with balanced and with max-bundle.
#[tokio::test]
async fn wpt_240_tracks_then_data_channel_open_with_and_without_max_bundle() {
    for policy in [BundlePolicy::Balanced, BundlePolicy::MaxBundle] {
        let config = || Configuration {
            bundle_policy: policy,
            ..Default::default()
        };
        let pc1 = PeerConnection::new(config()).unwrap();
        let pc2 = PeerConnection::new(config()).unwrap();
        let stream = MediaStream::new();
        for kind in [MediaKind::Audio, MediaKind::Video] {
            pc1.add_track(&MediaStreamTrack::new(kind, "t"), &[&stream])
                .unwrap();
        }
        let dc1 = pc1.create_data_channel("after tracks", None).unwrap();
        let mut ev1 = dc1.events();
        let mut pev2 = pc2.events();
        negotiate(&pc1, &pc2).await;
        let dc2 = next_data_channel(&mut pev2).await;
        let mut ev2 = dc2.events();
        assert_eq!(next(&mut ev1).await, DataChannelEvent::Open, "{policy}");
        assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);
        dc2.send_text("ok").unwrap();
        assert_eq!(next_not_low(&mut ev1).await, text("ok"));
        pc1.close();
        pc2.close();
    }
}

// ===== 20. RTCDataChannel behaviour =====

/// WPT-247: strings arrive as strings (ASCII, Unicode, empty), binary as the same bytes
/// (also empty), whatever the receiver's binaryType; both directions, in-band and
/// negotiated.
#[tokio::test]
async fn wpt_247_strings_and_binary_arrive_as_sent() {
    for init in variants() {
        let mut p = open_pair(init).await;
        let sent = [
            text("hello"),
            text("世界你好"),
            text(""),
            binary(&[0x68, 0x65, 0x6c, 0x6c, 0x6f]),
            binary(&[]),
            binary(&(0..=255).collect::<Vec<u8>>()),
        ];
        for (dc, ev, binary_type) in [
            (&p.dc1, &mut p.ev2, BinaryType::ArrayBuffer),
            (&p.dc2, &mut p.ev1, BinaryType::Blob),
        ] {
            // binaryType is the receiver's; set it on both ends, it changes nothing.
            p.dc1.set_binary_type(binary_type);
            p.dc2.set_binary_type(binary_type);
            for m in &sent {
                let DataChannelEvent::Message(payload) = m else {
                    unreachable!()
                };
                match payload {
                    Payload::Text(s) => dc.send_text(s).unwrap(),
                    Payload::Binary(b) => dc.send(b).unwrap(),
                }
            }
            for m in &sent {
                assert_eq!(&next_not_low(ev).await, m);
            }
        }
        p.pc1.close();
        p.pc2.close();
    }
}

/// WPT-248: messages of mixed types arrive in send order with their types.
#[tokio::test]
async fn wpt_248_mixed_types_arrive_in_order() {
    let mut p = open_pair(None).await;
    let mut expect = Vec::new();
    for i in 0..30u8 {
        match i % 3 {
            0 => {
                p.dc1.send(&[i; 3]).unwrap();
                expect.push(binary(&[i; 3]));
            }
            1 => {
                p.dc1.send_text(&format!("s{i}")).unwrap();
                expect.push(text(&format!("s{i}")));
            }
            _ => {
                p.dc1.send_owned(vec![i; 1000]).unwrap();
                expect.push(binary(&[i; 1000]));
            }
        }
    }
    for m in expect {
        assert_eq!(next_not_low(&mut p.ev2).await, m);
    }
    p.pc1.close();
    p.pc2.close();
}

/// WPT-250: bufferedAmount is 0 on both ends after opening; `send` raises it by the UTF-8
/// length of a string (12 for "世界你好") or the size of binary data, successive sends add
/// up, it is back to 0 once the peer got the messages; empty messages leave it at 0.
#[tokio::test]
async fn wpt_250_buffered_amount_accounting() {
    for init in variants() {
        let mut p = open_pair(init).await;
        assert_eq!(p.dc1.buffered_amount(), 0);
        assert_eq!(p.dc2.buffered_amount(), 0);
        p.dc1.send_text("世界你好").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 12);
        assert_eq!(p.dc1.buffered_amount(), 12, "stable without sending more");
        assert_eq!(next_not_low(&mut p.ev2).await, text("世界你好"));
        assert_eq!(p.dc1.buffered_amount(), 0);

        p.dc1.send(b"hello").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 5);
        p.dc1.send_text("世界你好").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 17);
        p.dc1.send_owned(b"hello".to_vec()).unwrap();
        assert_eq!(p.dc1.buffered_amount(), 22);
        for _ in 0..3 {
            next_not_low(&mut p.ev2).await;
        }
        assert_eq!(p.dc1.buffered_amount(), 0);

        p.dc1.send_text("").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 0);
        p.dc1.send(&[]).unwrap();
        assert_eq!(p.dc1.buffered_amount(), 0);
        assert_eq!(next_not_low(&mut p.ev2).await, text(""));
        assert_eq!(next_not_low(&mut p.ev2).await, binary(&[]));
        p.pc1.close();
        p.pc2.close();
    }
}

/// Sends `ack` from `from` and reads `ev` up to it, returning what came before.
async fn events_before_ack(
    from: &DataChannel,
    ev: &mut DataChannelEvents,
) -> Vec<DataChannelEvent> {
    from.send_text("ack").unwrap();
    let mut seen = Vec::new();
    loop {
        let e = next(ev).await;
        if e == text("ack") {
            return seen;
        }
        seen.push(e);
    }
}

/// WPT-252 (default threshold 0): `bufferedamountlow` fires after a send completed, with
/// bufferedAmount 0; once for several consecutive sends; again for each later send.
#[tokio::test]
async fn wpt_252_buffered_amount_low_fires_after_sends() {
    for init in variants() {
        let mut p = open_pair(init).await;
        assert_eq!(p.dc1.buffered_amount_low_threshold(), 0);
        // One send.
        p.dc1.send_text("hello").unwrap();
        assert_eq!(next(&mut p.ev1).await, DataChannelEvent::BufferedAmountLow);
        assert_eq!(p.dc1.buffered_amount(), 0);
        assert_eq!(next(&mut p.ev2).await, text("hello"));
        // Two consecutive sends: one event.
        p.dc1.send_text("hello").unwrap();
        p.dc1.send_text("hello").unwrap();
        assert_eq!(p.dc1.buffered_amount(), 10);
        assert_eq!(next(&mut p.ev1).await, DataChannelEvent::BufferedAmountLow);
        assert_eq!(next(&mut p.ev2).await, text("hello"));
        assert_eq!(next(&mut p.ev2).await, text("hello"));
        // The peer's reply comes after any event the two sends could have caused.
        let between = events_before_ack(&p.dc2, &mut p.ev1).await;
        assert!(between.is_empty(), "{between:?}");
        // A later send fires again.
        p.dc1.send_text("again").unwrap();
        assert_eq!(next(&mut p.ev1).await, DataChannelEvent::BufferedAmountLow);
        assert_eq!(next_not_low(&mut p.ev2).await, text("again"));
        p.pc1.close();
        p.pc2.close();
    }
}

/// WPT-252 (custom thresholds): with thresholds len/2, len and 2·len, for 4-byte and
/// 65536-byte messages sent once or 10 times, `bufferedamountlow` fires with bufferedAmount
/// at or below the threshold; it never fires on a channel that did not send.
#[tokio::test]
async fn wpt_252_buffered_amount_low_thresholds_and_other_channels() {
    let mut p = open_pair(None).await;
    let mut pev2 = p.pc2.events();
    let quiet = p.pc1.create_data_channel("quiet", None).unwrap();
    let mut quiet_ev = quiet.events();
    assert_eq!(next(&mut quiet_ev).await, DataChannelEvent::Open);
    assert_eq!(next_data_channel(&mut pev2).await.label(), "quiet");
    for len in [4usize, 65536] {
        for threshold in [len / 2, len, 2 * len] {
            for sends in [1, 10] {
                let dc = p.pc1.create_data_channel("t", None).unwrap();
                dc.set_buffered_amount_low_threshold(threshold as u64);
                assert_eq!(dc.buffered_amount_low_threshold(), threshold as u64);
                let mut ev = dc.events();
                assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
                let remote = next_data_channel(&mut pev2).await;
                let mut rev = remote.events();
                assert_eq!(next(&mut rev).await, DataChannelEvent::Open);
                let msg = vec![0xde; len];
                for _ in 0..sends {
                    dc.send(&msg).unwrap();
                }
                assert_eq!(next(&mut ev).await, DataChannelEvent::BufferedAmountLow);
                assert!(
                    dc.buffered_amount() <= threshold as u64,
                    "{len} × {sends}, threshold {threshold}"
                );
                for _ in 0..sends {
                    assert_eq!(next(&mut rev).await, binary(&msg));
                }
                dc.close();
            }
        }
    }
    // The quiet channel got nothing (a round trip on another channel first, so that pc1
    // has handled everything the sends caused).
    let before = events_before_ack(&p.dc2, &mut p.ev1).await;
    assert!(before.is_empty(), "{before:?}");
    assert!(
        quiet_ev.try_recv().is_none(),
        "nothing on the quiet channel"
    );
    p.pc1.close();
    p.pc2.close();
}

/// WPT-254: `dc.close()` on one side: the peer fires `closing` (readyState "closing") then
/// `close` (readyState "closed"); the closing side fires only `close`; no `error`. Both
/// with event streams and with handlers, from either side.
#[tokio::test]
async fn wpt_254_close_fires_closing_then_close_on_the_peer_only() {
    for closer_is_pc1 in [true, false] {
        let mut p = open_pair(None).await;
        let (closer, peer, closer_ev, peer_ev) = if closer_is_pc1 {
            (&p.dc1, &p.dc2, &mut p.ev1, &mut p.ev2)
        } else {
            (&p.dc2, &p.dc1, &mut p.ev2, &mut p.ev1)
        };
        closer.close();
        assert_eq!(closer.ready_state(), DataChannelState::Closing);
        assert_eq!(next_not_low(peer_ev).await, DataChannelEvent::Closing);
        assert_eq!(peer.ready_state(), DataChannelState::Closing);
        assert_eq!(next_not_low(peer_ev).await, DataChannelEvent::Close);
        assert_eq!(peer.ready_state(), DataChannelState::Closed);
        assert_eq!(next_not_low(closer_ev).await, DataChannelEvent::Close);
        assert_eq!(closer.ready_state(), DataChannelState::Closed);
        assert!(next_opt(peer_ev).await.is_none());
        assert!(next_opt(closer_ev).await.is_none());
        p.pc1.close();
        p.pc2.close();
    }

    // With handlers: each records the event and the readyState it saw.
    let p = open_pair(None).await;
    drop((p.ev1, p.ev2));
    type Log = Vec<(&'static str, &'static str, DataChannelState)>;
    let log: Arc<Mutex<Log>> = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (side, dc) in [("closer", &p.dc1), ("peer", &p.dc2)] {
        let (l, d) = (log.clone(), dc.clone());
        dc.on_closing(move || l.lock().unwrap().push((side, "closing", d.ready_state())));
        let (l, d, tx) = (log.clone(), dc.clone(), tx.clone());
        dc.on_close(move || {
            l.lock().unwrap().push((side, "close", d.ready_state()));
            let _ = tx.send(());
        });
        let l = log.clone();
        dc.on_error(move |_| {
            l.lock()
                .unwrap()
                .push((side, "error", DataChannelState::Closed))
        });
    }
    p.dc1.close();
    for _ in 0..2 {
        within("close handlers", rx.recv()).await.unwrap();
    }
    let mut log = log.lock().unwrap().clone();
    log.sort_by_key(|(side, _, _)| *side);
    assert_eq!(
        log,
        [
            ("closer", "close", DataChannelState::Closed),
            ("peer", "closing", DataChannelState::Closing),
            ("peer", "close", DataChannelState::Closed),
        ]
    );
    p.pc1.close();
    p.pc2.close();
}

/// WPT-256: data queued with `send` right before `close()` (a few MB of binary and of
/// string messages) is delivered completely, in order, before the peer's `close`; `send`
/// throws OperationError while the send buffer is full.
#[tokio::test]
async fn wpt_256_data_queued_before_close_arrives_before_remote_close() {
    for strings in [false, true] {
        let mut p = open_pair(None).await;
        const N: usize = 64;
        const SIZE: usize = 65536;
        let message = |i: usize| -> Payload {
            if strings {
                Payload::Text(char::from(b'a' + (i % 26) as u8).to_string().repeat(SIZE))
            } else {
                Payload::Binary(vec![i as u8; SIZE])
            }
        };
        p.dc1.set_buffered_amount_low_threshold(1_000_000);
        let mut sent = 0;
        let mut full = false;
        while sent < N {
            let r = match message(sent) {
                Payload::Text(s) => p.dc1.send_text(&s),
                Payload::Binary(b) => p.dc1.send_owned(b),
            };
            match r {
                Ok(()) => sent += 1,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
                    full = true;
                    while next(&mut p.ev1).await != DataChannelEvent::BufferedAmountLow {}
                }
            }
        }
        assert!(full, "4 MiB do not fit the send buffer at once");
        let queued = p.dc1.buffered_amount();
        assert!(queued > 0);
        p.dc1.close();
        for i in 0..N {
            assert_eq!(
                next_not_low(&mut p.ev2).await,
                DataChannelEvent::Message(message(i)),
                "message {i}"
            );
        }
        assert_eq!(next_not_low(&mut p.ev2).await, DataChannelEvent::Closing);
        assert_eq!(next_not_low(&mut p.ev2).await, DataChannelEvent::Close);
        assert_eq!(next_not_low(&mut p.ev1).await, DataChannelEvent::Close);
        p.pc1.close();
        p.pc2.close();
    }
}

/// WPT-257: `datachannel` fires exactly once per in-band channel, with readyState already
/// "open" in the handler; data sent from inside the handler is delivered.
#[tokio::test]
async fn wpt_257_datachannel_fires_once_open_and_handler_can_send() {
    let (pc1, pc2) = (pc(), pc());
    let a = pc1.create_data_channel("a", None).unwrap();
    let b = pc1.create_data_channel("b", None).unwrap();
    let (mut ea, mut eb) = (a.events(), b.events());
    let seen: Arc<Mutex<Vec<(String, DataChannelState)>>> = Arc::default();
    let s = seen.clone();
    pc2.on_data_channel(move |dc| {
        s.lock().unwrap().push((dc.label(), dc.ready_state()));
        dc.send_text(&format!("hi from {}", dc.label())).unwrap();
    });
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    assert_eq!(next(&mut ea).await, DataChannelEvent::Open);
    assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
    assert_eq!(next_not_low(&mut ea).await, text("hi from a"));
    assert_eq!(next_not_low(&mut eb).await, text("hi from b"));
    // Exactly one event per channel on the stream, as for the handler.
    let remote = [
        next_data_channel(&mut pev2).await,
        next_data_channel(&mut pev2).await,
    ];
    let mut labels: Vec<_> = remote.iter().map(DataChannel::label).collect();
    labels.sort();
    assert_eq!(labels, ["a", "b"]);
    // A message over `a` after both: no further datachannel event came meanwhile.
    let remote_a = remote.iter().find(|d| d.label() == "a").unwrap();
    let mut ra = remote_a.events();
    assert_eq!(next(&mut ra).await, DataChannelEvent::Open);
    a.send_text("x").unwrap();
    assert_eq!(next_not_low(&mut ra).await, text("x"));
    assert!(
        !drain(&mut pev2)
            .iter()
            .any(|e| matches!(e, PeerConnectionEvent::DataChannel(_)))
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|(label, _)| label.clone());
    assert_eq!(
        seen,
        [
            ("a".to_string(), DataChannelState::Open),
            ("b".to_string(), DataChannelState::Open)
        ]
    );
    pc1.close();
    pc2.close();
}

/// WPT-258: `close()` in the `datachannel` handler (also after a `send`) means `open` is
/// never delivered on that channel, while data sent first still arrives; closing after
/// `open` was delivered does not take it back.
#[tokio::test]
async fn wpt_258_close_in_datachannel_handler_prevents_open() {
    for send_first in [false, true] {
        let (pc1, pc2) = (pc(), pc());
        let dc1 = pc1.create_data_channel("x", None).unwrap();
        let mut ev1 = dc1.events();
        let mut pev2 = pc2.events();
        negotiate(&pc1, &pc2).await;
        let dc2 = next_data_channel(&mut pev2).await;
        // "In the handler": nothing awaited between the event and close().
        if send_first {
            dc2.send_text("last words").unwrap();
        }
        dc2.close();
        let mut ev2 = dc2.events();
        assert_eq!(events_to_close(&mut ev2).await, [DataChannelEvent::Close]);
        assert!(next_opt(&mut ev2).await.is_none());
        let mut expect = vec![DataChannelEvent::Open];
        if send_first {
            expect.push(text("last words"));
        }
        expect.extend([DataChannelEvent::Closing, DataChannelEvent::Close]);
        assert_eq!(events_to_close(&mut ev1).await, expect);
        pc1.close();
        pc2.close();
    }

    // The same with an `ondatachannel` handler that closes.
    let (pc1, pc2) = (pc(), pc());
    let dc1 = pc1.create_data_channel("x", None).unwrap();
    let mut ev1 = dc1.events();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    pc2.on_data_channel(move |dc| {
        dc.send_text("bye").unwrap();
        dc.close();
        let _ = tx.send(dc);
    });
    negotiate(&pc1, &pc2).await;
    let dc2 = within("the handler", rx.recv()).await.unwrap();
    let mut ev2 = dc2.events();
    assert_eq!(events_to_close(&mut ev2).await, [DataChannelEvent::Close]);
    assert_eq!(
        events_to_close(&mut ev1).await,
        [
            DataChannelEvent::Open,
            text("bye"),
            DataChannelEvent::Closing,
            DataChannelEvent::Close
        ]
    );
    pc1.close();
    pc2.close();

    // The same on a multi-threaded runtime, where the handler may run while the driver
    // is between taking `open` from the core and queueing it.
    std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..10 {
                let (pc1, pc2) = (pc(), pc());
                let dc1 = pc1.create_data_channel("x", None).unwrap();
                let mut ev1 = dc1.events();
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                pc2.on_data_channel(move |dc| {
                    dc.close();
                    let _ = tx.send(dc);
                });
                negotiate(&pc1, &pc2).await;
                let dc2 = within("the handler", rx.recv()).await.unwrap();
                let mut ev2 = dc2.events();
                assert_eq!(events_to_close(&mut ev2).await, [DataChannelEvent::Close]);
                assert_eq!(
                    events_to_close(&mut ev1).await,
                    [
                        DataChannelEvent::Open,
                        DataChannelEvent::Closing,
                        DataChannelEvent::Close
                    ]
                );
                pc1.close();
                pc2.close();
            }
        });
    })
    .join()
    .unwrap();

    // Closing after `open` was delivered: it stays delivered, then `close` follows.
    let mut p = open_pair(None).await;
    p.dc2.close();
    assert_eq!(events_to_close(&mut p.ev2).await, [DataChannelEvent::Close]);
    p.pc1.close();
    p.pc2.close();
}

/// WPT-260: DCEP carries every parameter: ordered or not with maxRetransmits and
/// maxPacketLifeTime null, 0 and 65535, priority "high", empty label and protocol, and
/// 65535-byte labels/protocols (ASCII, and 21845 three-byte characters); the peer's channel
/// reflects them with the same id.
#[tokio::test]
async fn wpt_260_dcep_transmits_every_parameter() {
    let (pc1, pc2) = (pc(), pc());
    let mut cases: Vec<(String, DataChannelInit)> = Vec::new();
    for ordered in [true, false] {
        for value in [None, Some(0), Some(65535)] {
            cases.push((
                format!("rtx {ordered} {value:?}"),
                DataChannelInit {
                    ordered,
                    max_retransmits: value,
                    ..Default::default()
                },
            ));
            cases.push((
                format!("life {ordered} {value:?}"),
                DataChannelInit {
                    ordered,
                    max_packet_life_time: value,
                    ..Default::default()
                },
            ));
        }
    }
    cases.push((
        "high".into(),
        DataChannelInit {
            priority: Priority::High,
            ..Default::default()
        },
    ));
    cases.push((String::new(), DataChannelInit::default()));
    for long in ["a".repeat(65535), "世".repeat(21845)] {
        assert_eq!(long.len(), 65535);
        cases.push((
            long.clone(),
            DataChannelInit {
                protocol: long,
                ..Default::default()
            },
        ));
    }
    let local: Vec<_> = cases
        .iter()
        .map(|(label, init)| pc1.create_data_channel(label, Some(init.clone())).unwrap())
        .collect();
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    let mut remote = std::collections::HashMap::new();
    for _ in 0..cases.len() {
        let dc = next_data_channel(&mut pev2).await;
        remote.insert(dc.id().unwrap(), dc);
    }
    for (l, (label, init)) in local.iter().zip(&cases) {
        let r = &remote[&l.id().unwrap()];
        assert_eq!(&r.label(), label);
        assert_eq!(r.protocol(), init.protocol);
        assert_eq!(r.ordered(), init.ordered, "{label}");
        assert_eq!(r.max_retransmits(), init.max_retransmits, "{label}");
        assert_eq!(
            r.max_packet_life_time(),
            init.max_packet_life_time,
            "{label}"
        );
        assert_eq!(r.priority(), init.priority, "{label:.20}");
        assert!(!r.negotiated());
    }
    pc1.close();
    pc2.close();
}

// ===== 26. RTCSctpTransport =====

/// WPT-326: `sctp` exists on the offerer after SLD(offer) and on the answerer after
/// SRD(offer); after the answer (no candidates exchanged) both are "connecting".
#[tokio::test]
async fn wpt_326_sctp_exists_after_offer_and_is_connecting_after_answer() {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    assert!(pc1.sctp().is_none());
    let offer = pc1.create_offer(None).await.unwrap();
    assert!(pc1.sctp().is_none());
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert!(pc1.sctp().is_some());
    assert!(pc2.sctp().is_none());
    pc2.set_remote_description(offer).await.unwrap();
    assert!(pc2.sctp().is_some());
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    // Neither side knows a candidate of the other: nothing can connect.
    assert_eq!(pc1.sctp().unwrap().state(), SctpTransportState::Connecting);
    assert_eq!(pc2.sctp().unwrap().state(), SctpTransportState::Connecting);
    assert_eq!(pc1.sctp().unwrap().max_channels(), None);
    pc1.close();
    pc2.close();
}

/// WPT-329: after a normal offer/answer, `maxMessageSize` is positive and the same on both
/// ends; sending more than it throws TypeError.
#[tokio::test]
async fn wpt_329_max_message_size_is_positive_and_equal() {
    let p = open_pair(None).await;
    let (m1, m2) = (
        p.pc1.sctp().unwrap().max_message_size(),
        p.pc2.sctp().unwrap().max_message_size(),
    );
    assert!(m1 > 0.0);
    assert_eq!(m1, m2);
    let too_big = vec![0u8; m1 as usize + 1];
    assert_eq!(p.dc1.send(&too_big).unwrap_err().kind(), ErrorKind::Type);
    p.pc1.close();
    p.pc2.close();
}

/// WPT-331: with max-bundle, a data channel and an audio transceiver, the SCTP transport's
/// ICE transport is the audio sender's, on both ends.
#[tokio::test]
async fn wpt_331_sctp_ice_transport_is_the_audio_senders_with_max_bundle() {
    let config = || Configuration {
        bundle_policy: BundlePolicy::MaxBundle,
        ..Default::default()
    };
    let pc1 = PeerConnection::new(config()).unwrap();
    let pc2 = PeerConnection::new(config()).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    for pc in [&pc1, &pc2] {
        let audio = pc
            .get_transceivers()
            .into_iter()
            .find(|t| t.kind() == MediaKind::Audio)
            .unwrap();
        let ice = pc.sctp().unwrap().ice_transport().unwrap();
        assert_eq!(Some(ice.clone()), audio.ice_transport());
        assert_eq!(
            pc.sctp().unwrap().transport().ice_transport(),
            Some(ice),
            "sctp.transport.iceTransport"
        );
    }
    pc1.close();
    pc2.close();
}

// ===== beyond WPT: scale and partial reliability =====

/// 1000 channels on one connection (issue 4): opened from one side, each carries a message
/// both ways, all close on both ends.
#[tokio::test]
async fn thousand_channels_open_carry_messages_both_ways_and_close() {
    const N: usize = 1000;
    let (pc1, pc2) = (pc(), pc());
    let mut pev2 = pc2.events();
    let control = pc1.create_data_channel("control", None).unwrap();
    let mut cev = control.events();
    negotiate(&pc1, &pc2).await;
    assert_eq!(next(&mut cev).await, DataChannelEvent::Open);
    let control2 = next_data_channel(&mut pev2).await;
    let mut cev2 = control2.events();
    assert_eq!(next(&mut cev2).await, DataChannelEvent::Open);

    let local: Vec<_> = (0..N)
        .map(|i| pc1.create_data_channel(&format!("ch{i}"), None).unwrap())
        .collect();
    let mut local_ev: Vec<_> = local.iter().map(DataChannel::events).collect();
    let mut remote = std::collections::HashMap::new();
    for _ in 0..N {
        let dc = next_data_channel(&mut pev2).await;
        let ev = dc.events();
        remote.insert(dc.label(), (dc, ev));
    }
    assert_eq!(remote.len(), N);
    for (i, (dc, ev)) in local.iter().zip(&mut local_ev).enumerate() {
        assert_eq!(next(ev).await, DataChannelEvent::Open);
        dc.send_text(&format!("to pc2 on {i}")).unwrap();
    }
    for (i, l) in local.iter().enumerate() {
        let (dc, ev) = remote.get_mut(&format!("ch{i}")).unwrap();
        assert_eq!(dc.id(), l.id());
        assert_eq!(next(ev).await, DataChannelEvent::Open);
        assert_eq!(next_not_low(ev).await, text(&format!("to pc2 on {i}")));
        dc.send_text(&format!("to pc1 on {i}")).unwrap();
    }
    for (i, ev) in local_ev.iter_mut().enumerate() {
        assert_eq!(next_not_low(ev).await, text(&format!("to pc1 on {i}")));
    }
    for dc in &local {
        dc.close();
    }
    for ev in &mut local_ev {
        assert_eq!(events_to_close(ev).await, [DataChannelEvent::Close]);
    }
    for i in 0..N {
        let (dc, ev) = remote.get_mut(&format!("ch{i}")).unwrap();
        assert_eq!(
            events_to_close(ev).await,
            [DataChannelEvent::Closing, DataChannelEvent::Close]
        );
        assert_eq!(dc.ready_state(), DataChannelState::Closed);
    }
    assert!(
        local
            .iter()
            .all(|d| d.ready_state() == DataChannelState::Closed)
    );
    // The connection is still usable.
    control.send_text("still here").unwrap();
    assert_eq!(next_not_low(&mut cev2).await, text("still here"));
    pc1.close();
    pc2.close();
}

/// PR-SCTP over real UDP: an unordered channel with maxRetransmits 0 delivers everything
/// when nothing is lost, and a channel with maxPacketLifeTime too; the peer's channels
/// reflect ordered / maxRetransmits / maxPacketLifeTime from DCEP.
#[tokio::test]
async fn partial_reliability_channels_deliver_without_loss_and_are_reflected() {
    let (pc1, pc2) = (pc(), pc());
    let rtx0 = pc1
        .create_data_channel(
            "rtx0",
            Some(DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            }),
        )
        .unwrap();
    let life = pc1
        .create_data_channel(
            "life",
            Some(DataChannelInit {
                max_packet_life_time: Some(3000),
                protocol: "p".into(),
                ..Default::default()
            }),
        )
        .unwrap();
    let (mut e_rtx0, mut e_life) = (rtx0.events(), life.events());
    let mut pev2 = pc2.events();
    negotiate(&pc1, &pc2).await;
    let mut remote = std::collections::HashMap::new();
    for _ in 0..2 {
        let dc = next_data_channel(&mut pev2).await;
        remote.insert(dc.label(), dc);
    }
    let (r_rtx0, r_life) = (&remote["rtx0"], &remote["life"]);
    assert!(!r_rtx0.ordered());
    assert_eq!(r_rtx0.max_retransmits(), Some(0));
    assert_eq!(r_rtx0.max_packet_life_time(), None);
    assert!(r_life.ordered());
    assert_eq!(r_life.max_packet_life_time(), Some(3000));
    assert_eq!(r_life.max_retransmits(), None);
    assert_eq!(r_life.protocol(), "p");
    assert_eq!(next(&mut e_rtx0).await, DataChannelEvent::Open);
    assert_eq!(next(&mut e_life).await, DataChannelEvent::Open);
    let (mut er, mut el) = (r_rtx0.events(), r_life.events());
    assert_eq!(next(&mut er).await, DataChannelEvent::Open);
    assert_eq!(next(&mut el).await, DataChannelEvent::Open);
    const N: usize = 200;
    for i in 0..N {
        rtx0.send_owned(vec![(i % 251) as u8; 1 + i * 37 % 3000])
            .unwrap();
        life.send_text(&format!("m{i}")).unwrap();
    }
    let mut got = HashSet::new();
    for _ in 0..N {
        match next_not_low(&mut er).await {
            DataChannelEvent::Message(Payload::Binary(b)) => {
                let i = (0..N)
                    .find(|&i| b.len() == 1 + i * 37 % 3000 && b[0] == (i % 251) as u8)
                    .expect("a message that was sent");
                assert!(b.iter().all(|&x| x == b[0]));
                got.insert(i);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got.len(), N, "every message once");
    for i in 0..N {
        assert_eq!(next_not_low(&mut el).await, text(&format!("m{i}")));
    }
    pc1.close();
    pc2.close();
}
