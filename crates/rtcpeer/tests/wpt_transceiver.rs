//! W3C web-platform-tests behaviours for negotiationneeded (WPT-164..172), close()
//! (WPT-208..215), createDataChannel (WPT-227..245), addTrack/removeTrack (WPT-262..272),
//! addTransceiver / RTCRtpTransceiver (WPT-273..301) and codec preferences (WPT-302..306),
//! through the public API. Items are numbered as in `wpt-checklist.md`.
//!
//! Out of scope or not applicable here:
//! - WPT-166 "not before the next macrotask": Rust has no task queue of its own; the events
//!   of an operation are delivered when it completes. The ordering part (negotiationneeded
//!   after signalingstatechange to "stable", never while not stable) is tested.
//! - WPT-208 `sctp.state` "closed" after close is tested at the signaling level only (the
//!   transport object exists once a data section was negotiated); no association runs. [net]
//! - WPT-211 DTLS/ICE transport states after close: [net], no transports yet.
//! - WPT-212 remote data channels' error/close events on close: [net] (SCTP).
//! - WPT-215 bufferedAmount after close: [net]; the signaling `DataChannel` has no send path.
//! - WPT-227 createDataChannel without a label: [js] arity; the Rust signature requires one.
//! - WPT-228 `bufferedAmount`, `bufferedAmountLowThreshold`: not part of the signaling-level
//!   `DataChannel` yet (they need the SCTP send path) [net]; the other defaults are tested.
//! - WPT-229 `binaryType`: [js] (Blob vs ArrayBuffer is a JS representation choice); the
//!   Rust `DataChannel` has no such attribute.
//! - WPT-233/234 -1, -100, 65536, 100000, ±Infinity, NaN → TypeError: [js] WebIDL
//!   `[EnforceRange] unsigned short`; `DataChannelInit` uses `u16`, so such values cannot be
//!   expressed. The in-range values (0..=65535) are tested.
//! - WPT-240: the channel pair opening is [net]; the signaling part (tracks then a data
//!   channel, balanced and max-bundle) is tested.
//! - WPT-244: reuse of an id after the `close` events on both ends: [net].
//! - WPT-245: not tested: it needs all 32767 ids of one parity in use (the WPT test is
//!   disabled for runtime too); the id allocator's "none left" path is not covered here.
//! - WPT-272: remote stream `removetrack` and track `mute` need RTP flowing: [net][media].
//! - WPT-283 first part (a sendrecv transceiver without track connects): [net].
//! - WPT-286 `sender.setParameters` and `sender.dtmf.insertDTMF` on a stopped transceiver:
//!   not in the API yet (RtpSender has no parameters/DTMF); replaceTrack, the direction
//!   setter and a second stop() are tested.
//! - WPT-298: DTLS transport state of bundled transceivers: [net].
//! - WPT-304 "codec only in RTCRtpSender.getCapabilities": rtcpeer sends and receives the
//!   same codec set, so no such codec exists (asserted by `wpt_304_sender_and_receiver_capabilities_agree`).

mod common;

use common::signaling::{drain, exchange};

use rtcpeer::{BundlePolicy, Configuration, EventStream};
use rtcpeer::{
    DataChannelInit, DataChannelState, ErrorKind, MediaKind, MediaStream, MediaStreamTrack,
    MediaStreamTrackState, PeerConnection, PeerConnectionEvent, RtpCodecCapability, RtpReceiver,
    RtpSender, RtpTransceiverDirection as Dir, SctpTransportState, SessionDescription,
    SignalingState, TrackOrKind, TransceiverInit,
};

// ----- helpers -----

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("default configuration is valid")
}

fn audio() -> MediaStreamTrack {
    MediaStreamTrack::new(MediaKind::Audio, "a")
}

fn video() -> MediaStreamTrack {
    MediaStreamTrack::new(MediaKind::Video, "v")
}

fn init(direction: Dir) -> TransceiverInit {
    TransceiverInit {
        direction,
        streams: Vec::new(),
    }
}

fn nn_count(events: &[PeerConnectionEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PeerConnectionEvent::NegotiationNeeded))
        .count()
}

fn track_events(events: &[PeerConnectionEvent]) -> Vec<rtcpeer::TrackEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::Track(t) => Some((**t).clone()),
            _ => None,
        })
        .collect()
}

/// A compact trace: "ss:<state>" for signalingstatechange, "nn", "track" (ICE events, which
/// arrive from the network driver at their own pace, are left out).
fn trace(events: &[PeerConnectionEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::SignalingStateChange(s) => Some(format!("ss:{s}")),
            PeerConnectionEvent::NegotiationNeeded => Some("nn".to_string()),
            PeerConnectionEvent::Track(_) => Some("track".to_string()),
            _ => None,
        })
        .collect()
}

/// The `m=` lines of a description.
fn m_lines(d: &SessionDescription) -> Vec<String> {
    d.sdp
        .lines()
        .filter(|l| l.starts_with("m="))
        .map(str::to_string)
        .collect()
}

/// The encoding names of the `a=rtpmap` lines of the first m-section, in order.
fn rtpmap_names(d: &SessionDescription) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_first = false;
    for l in d.sdp.lines() {
        if l.starts_with("m=") {
            if in_first {
                break;
            }
            in_first = true;
        } else if in_first && let Some(rest) = l.strip_prefix("a=rtpmap:") {
            let name = rest
                .split_once(' ')
                .and_then(|(_, enc)| enc.split('/').next())
                .unwrap_or("")
                .to_string();
            out.push(name);
        }
    }
    out
}

/// The payload types on the first `m=` line.
fn first_mline_payloads(d: &SessionDescription) -> Vec<String> {
    let m = m_lines(d).into_iter().next().expect("an m-line");
    m.split(' ').skip(3).map(str::to_string).collect()
}

fn codecs(kind: &str) -> Vec<RtpCodecCapability> {
    RtpReceiver::get_capabilities(kind)
        .expect("audio/video capabilities exist")
        .codecs
}

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

// ===== 17. close() =====

#[tokio::test]
async fn wpt_208_sctp_transport_closed_after_close() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.create_data_channel("x", None).unwrap();
    exchange(&pc1, &pc2).await;
    let sctp = pc1.sctp().expect("a data section was negotiated");
    assert_ne!(sctp.state(), SctpTransportState::Closed);
    pc1.close();
    assert_eq!(sctp.state(), SctpTransportState::Closed);
}

#[tokio::test]
async fn wpt_210_close_sets_every_current_direction_to_stopped() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_transceiver(MediaKind::Video, init(Dir::RecvOnly))
        .unwrap();
    exchange(&pc1, &pc2).await;
    // One transceiver never negotiated.
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts.len(), 3);
    pc1.close();
    for t in &ts {
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
        assert_eq!(t.direction(), Dir::Stopped);
    }
    assert_eq!(pc1.signaling_state(), SignalingState::Closed);
}

#[tokio::test]
async fn wpt_214_after_close_methods_throw_invalid_state() {
    let pc1 = pc();
    let other = pc();
    let track = audio();
    let sender = pc1.add_track(&track, &[]).unwrap();
    let t = pc1.get_transceivers()[0].clone();
    let foreign = other.add_track(&audio(), &[]).unwrap();
    let mut ev = pc1.events();
    pc1.close();
    let e = pc1.create_data_channel("x", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1.add_track(&audio(), &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1.remove_track(&sender).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // The closed check precedes the "sender from another pc" check (WPT-267).
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = sender.replace_track(Some(audio())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = sender.replace_track(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // WPT-288: stop() on a closed pc throws InvalidStateError.
    let e = t.stop().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // close() fires nothing, and the event stream ends.
    assert!(drain(&mut ev).is_empty());
    assert!(ev.recv().await.is_none());
    assert_eq!(sender.track(), Some(track));
}

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

// ===== 21. addTrack / removeTrack =====

#[tokio::test]
async fn wpt_262_add_track_on_closed_pc_and_twice() {
    let pc = pc();
    let track = audio();
    pc.add_track(&track, &[]).unwrap();
    let e = pc.add_track(&track, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess);
    assert_eq!(pc.get_transceivers().len(), 1);
    pc.close();
    let e = pc.add_track(&audio(), &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
}

#[tokio::test]
async fn wpt_263_add_track_creates_one_transceiver() {
    let pc = pc();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender.track(), Some(track.clone()));
    let ts = pc.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].sender(), sender);
    assert_eq!(pc.get_senders(), vec![sender]);
    assert_eq!(ts[0].receiver().track().kind(), MediaKind::Audio);
    assert_eq!(pc.get_receivers(), vec![ts[0].receiver()]);

    let s1 = MediaStream::new();
    let s2 = MediaStream::new();
    let t1 = video();
    let sender = pc.add_track(&t1, &[&s1]).unwrap();
    assert_eq!(sender.track(), Some(t1));
    let t2 = audio();
    let sender = pc.add_track(&t2, &[&s1, &s2]).unwrap();
    assert_eq!(sender.track(), Some(t2));
    assert_eq!(pc.get_senders().len(), 3);
}

#[tokio::test]
async fn wpt_264_add_track_reuses_unused_transceiver() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(sender.track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(pc.get_senders().len(), 1);
    // Not reused for another kind.
    pc.add_track(&video(), &[]).unwrap();
    assert_eq!(pc.get_senders().len(), 2);
}

#[tokio::test]
async fn wpt_267_remove_track_with_foreign_sender_throws_invalid_access() {
    let pc1 = pc();
    let pc2 = pc();
    let foreign = pc2.add_track(&audio(), &[]).unwrap();
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess);
    // On a closed pc the answer is InvalidStateError even for a foreign sender.
    pc1.close();
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(foreign.track().is_some());
}

#[tokio::test]
async fn wpt_268_remove_track_before_negotiation() {
    let pc = pc();
    let sender = pc.add_track(&audio(), &[]).unwrap();
    let t = pc.get_transceivers()[0].clone();
    assert_eq!(t.direction(), Dir::SendRecv);
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(pc.get_senders().len(), 1, "the sender stays");
}

#[tokio::test]
async fn wpt_269_remove_track_after_negotiation_sendrecv_and_sendonly() {
    // currentDirection sendrecv: pc2 also sends.
    let pc1 = pc();
    let pc2 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.add_track(&audio(), &[]).unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let t = pc1.get_transceivers()[0].clone();
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    pc1.remove_track(&sender).unwrap();
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));

    // currentDirection sendonly: pc2 has no track.
    let pc1 = pc();
    let pc2 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    let t = pc1.get_transceivers()[0].clone();
    t.set_direction(Dir::SendOnly).unwrap();
    exchange(&pc1, &pc2).await;
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    pc1.remove_track(&sender).unwrap();
    assert_eq!(t.direction(), Dir::Inactive);
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
}

#[tokio::test]
async fn wpt_269_remove_track_with_recvonly_or_inactive_direction_keeps_it() {
    for dir in [Dir::RecvOnly, Dir::Inactive] {
        let pc1 = pc();
        let pc2 = pc();
        let sender = pc1.add_track(&audio(), &[]).unwrap();
        let t = pc1.get_transceivers()[0].clone();
        t.set_direction(dir).unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        pc2.add_track(&audio(), &[]).unwrap();
        let answer = pc2.create_answer(None).await.unwrap();
        pc2.set_local_description(Some(answer.clone()))
            .await
            .unwrap();
        pc1.set_remote_description(answer).await.unwrap();
        assert_eq!(t.current_direction(), Some(dir));
        pc1.remove_track(&sender).unwrap();
        assert_eq!(sender.track(), None);
        assert_eq!(t.direction(), dir);
        assert_eq!(t.current_direction(), Some(dir));
    }
}

#[tokio::test]
async fn wpt_270_remove_track_noops() {
    // Stopped transceiver: no-op, track unchanged.
    let pc = pc();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    pc.get_transceivers()[0].stop().unwrap();
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), Some(track));
    // Track already replaced with null: no error, stays null.
    let pc = self::pc();
    let sender = pc.add_track(&audio(), &[]).unwrap();
    sender.replace_track(None).await.unwrap();
    let mut ev = pc.events();
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert_eq!(pc.get_transceivers()[0].direction(), Dir::SendRecv);
    assert!(drain(&mut ev).is_empty());
}

// ===== 22. addTransceiver and RTCRtpTransceiver =====

#[tokio::test]
async fn wpt_273_add_transceiver_with_invalid_kind_throws_type_error() {
    let pc = pc();
    for bad in ["invalid", "foo", "Audio", ""] {
        let e = TrackOrKind::try_from(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type, "{bad}");
    }
    assert!(pc.get_transceivers().is_empty());
    let ok = TrackOrKind::try_from("video").unwrap();
    let t = pc.add_transceiver(ok, TransceiverInit::default()).unwrap();
    assert_eq!(t.kind(), MediaKind::Video);
}

#[tokio::test]
async fn wpt_274_add_transceiver_initial_state() {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let pc = pc();
        let t = pc
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::SendRecv);
        assert_eq!(t.current_direction(), None);
        assert_eq!(t.sender().track(), None);
        let rt = t.receiver().track();
        assert_eq!(rt.kind(), kind);
        assert_eq!(rt.ready_state(), MediaStreamTrackState::Live);
        assert!(rt.muted());
        // webrtc-pc §5.3: the receiver's track is labelled "remote " + kind.
        assert_eq!(rt.label(), format!("remote {kind}"));
        assert_eq!(pc.get_transceivers(), vec![t.clone()]);
        assert_eq!(pc.get_senders(), vec![t.sender()]);
        assert_eq!(pc.get_receivers(), vec![t.receiver()]);
    }
}

#[tokio::test]
async fn wpt_274_add_transceiver_direction_is_reflected() {
    let pc = pc();
    for dir in [Dir::SendOnly, Dir::RecvOnly, Dir::Inactive] {
        let t = pc.add_transceiver(MediaKind::Audio, init(dir)).unwrap();
        assert_eq!(t.direction(), dir);
    }
    let e = "invalid".parse::<Dir>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    let e = pc
        .add_transceiver(MediaKind::Audio, init(Dir::Stopped))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert_eq!(pc.get_transceivers().len(), 3);
}

#[tokio::test]
async fn wpt_275_add_transceiver_with_track() {
    let pc = pc();
    let track = video();
    let t1 = pc
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    assert_eq!(t1.sender().track(), Some(track.clone()));
    let rt = t1.receiver().track();
    assert_eq!(rt.kind(), MediaKind::Video);
    assert_eq!(rt.ready_state(), MediaStreamTrackState::Live);
    assert!(rt.muted());
    let t2 = pc
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    assert_ne!(t1, t2);
    assert_ne!(t1.sender(), t2.sender());
    assert_eq!(t2.sender().track(), Some(track));
    assert_eq!(pc.get_senders().len(), 2);
}

#[tokio::test]
async fn wpt_278_direction_setter() {
    let pc1 = pc();
    let pc2 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let mut ev = pc1.events();
    t.set_direction(Dir::RecvOnly).unwrap();
    assert!(drain(&mut ev).is_empty(), "same value is a no-op");
    exchange(&pc1, &pc2).await;
    assert_eq!(t.current_direction(), Some(Dir::Inactive));
    drain(&mut ev);
    t.set_direction(Dir::SendRecv).unwrap();
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), Some(Dir::Inactive));
    assert_eq!(trace(&drain(&mut ev)), ["nn"]);
    t.set_direction(Dir::SendRecv).unwrap();
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_280_srd_offer_creates_recvonly_transceiver_and_track_event() {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    let t = &ts[0];
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.sender().track(), None);
    assert_eq!(t.current_direction(), None);
    assert!(t.mid().is_some_and(|m| !m.is_empty()));
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    assert_eq!(&tracks[0].transceiver, t);
    assert_eq!(tracks[0].receiver, t.receiver());
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

#[tokio::test]
async fn wpt_280_srd_offer_not_sending_fires_no_track_event() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(track_events(&drain(&mut ev)).is_empty());
}

#[tokio::test]
async fn wpt_281_add_transceiver_is_not_paired_with_remote_offer() {
    for variant in 0..3 {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let local = match variant {
            0 => pc2
                .add_transceiver(MediaKind::Audio, TransceiverInit::default())
                .unwrap(),
            1 => pc2
                .add_transceiver(audio(), TransceiverInit::default())
                .unwrap(),
            _ => {
                let t = pc2
                    .add_transceiver(MediaKind::Audio, TransceiverInit::default())
                    .unwrap();
                t.sender().replace_track(Some(audio())).await.unwrap();
                t
            }
        };
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        let mut ev = pc2.events();
        pc2.set_remote_description(offer).await.unwrap();
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 2, "variant {variant}");
        assert_eq!(local.mid(), None, "variant {variant}");
        let tracks = track_events(&drain(&mut ev));
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].transceiver, ts[1]);
        assert_eq!(tracks[0].receiver, ts[1].receiver());
        assert!(tracks[0].streams.is_empty());
    }
}

#[tokio::test]
async fn wpt_282_add_track_is_paired_with_remote_offer() {
    for variant in 0..3 {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let track = audio();
        let sender = match variant {
            0 => pc2.add_track(&track, &[]).unwrap(),
            1 => {
                pc2.add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
                    .unwrap();
                pc2.add_track(&track, &[]).unwrap()
            }
            _ => pc2.add_track(&track, &[]).unwrap(),
        };
        if variant == 2 {
            sender.replace_track(None).await.unwrap();
        }
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        let ts = pc2.get_transceivers();
        assert_eq!(ts.len(), 1, "variant {variant}");
        assert!(ts[0].mid().is_some(), "variant {variant}");
        assert_eq!(ts[0].sender(), sender);
        let want = if variant == 2 { None } else { Some(track) };
        assert_eq!(sender.track(), want, "variant {variant}");
    }
}

#[tokio::test]
async fn wpt_283_transceiver_streams_without_track_reach_remote() {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_transceiver(
        MediaKind::Audio,
        TransceiverInit {
            direction: Dir::SendRecv,
            streams: vec![stream.clone()],
        },
    )
    .unwrap();
    let mut ev = pc2.events();
    exchange(&pc1, &pc2).await;
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

/// pc1 and pc2 with one negotiated sendrecv audio transceiver each.
async fn sendrecv_pair() -> (PeerConnection, PeerConnection) {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.add_track(&audio(), &[]).unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    (pc1, pc2)
}

#[tokio::test]
async fn wpt_285_stop_is_immediate_but_keeps_objects_until_negotiated() {
    let (pc1, _pc2) = sendrecv_pair().await;
    let t = pc1.get_transceivers()[0].clone();
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    let receiver_track = t.receiver().track();
    assert_eq!(receiver_track.ready_state(), MediaStreamTrackState::Live);
    t.stop().unwrap();
    assert_eq!(t.direction(), Dir::Stopped);
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    assert_eq!(receiver_track.ready_state(), MediaStreamTrackState::Ended);
    assert_eq!(pc1.get_senders(), vec![t.sender()]);
    assert_eq!(pc1.get_receivers(), vec![t.receiver()]);
}

#[tokio::test]
async fn wpt_286_stopped_transceiver_rejects_changes() {
    let pc = pc();
    let t = pc
        .add_transceiver(audio(), TransceiverInit::default())
        .unwrap();
    t.stop().unwrap();
    let e = t.sender().replace_track(Some(audio())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = t.set_direction(Dir::SendRecv).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    t.stop().expect("a second stop() does not throw");
    assert_eq!(t.direction(), Dir::Stopped);
}

#[tokio::test]
async fn wpt_287_remote_side_of_stopped_section_is_removed() {
    let (pc1, pc2) = sendrecv_pair().await;
    let t1 = pc1.get_transceivers()[0].clone();
    let t2 = pc2.get_transceivers()[0].clone();
    t1.stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t2.current_direction(), Some(Dir::Stopped));
    assert_eq!(
        t2.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    assert!(pc2.get_senders().is_empty());
    assert!(pc2.get_receivers().is_empty());
    assert_eq!(
        pc1.get_transceivers().len(),
        1,
        "offerer waits for the answer"
    );
    pc1.set_remote_description(answer).await.unwrap();
    assert!(pc1.get_transceivers().is_empty());
    assert!(pc1.get_senders().is_empty());
    assert!(pc1.get_receivers().is_empty());
    assert_eq!(t1.current_direction(), Some(Dir::Stopped));
}

#[tokio::test]
async fn wpt_288_stop_on_closed_pc_throws_invalid_state() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    t.stop().unwrap();
    pc.close();
    // The closed check comes before the stopped check.
    let e = t.stop().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
}

#[tokio::test]
async fn wpt_290_answerer_stops_after_srd_offer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers()[0].clone();
    pc2.add_track(&audio(), &[]).unwrap();
    let mut ev2 = pc2.events();
    t2.stop().unwrap();
    assert_eq!(t2.current_direction(), None);
    let answer = pc2.create_answer(None).await.unwrap();
    let m = m_lines(&answer);
    assert_eq!(m.len(), 1);
    assert!(!m[0].starts_with("m=audio 0 "), "kept: {}", m[0]);
    assert!(answer.sdp.contains("a=inactive"), "{}", answer.sdp);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    assert_eq!(trace(&drain(&mut ev2)), ["ss:stable", "nn"]);
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
}

#[tokio::test]
async fn wpt_293_answerer_stop_then_follow_up_offer_removes_both() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers()[0].clone();
    t2.stop().unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let mid = t1.mid();
    assert!(mid.is_some());
    assert_eq!(t2.mid(), mid);
    assert_eq!(t1.direction(), Dir::SendRecv);
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t1.current_direction(), Some(Dir::Inactive));
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    // The stopping side offers.
    exchange(&pc2, &pc1).await;
    for (t, pc) in [(&t1, &pc1), (&t2, &pc2)] {
        assert!(pc.get_transceivers().is_empty());
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
    }
}

#[tokio::test]
async fn wpt_296_offer_after_negotiated_stop() {
    // Stopped locally.
    let (pc1, pc2) = sendrecv_pair().await;
    pc1.get_transceivers()[0].stop().unwrap();
    exchange(&pc1, &pc2).await;
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
    // Stopped remotely: pc2 creates and sets an offer.
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveLocalOffer);
}

fn rejected_audio(d: &SessionDescription) -> usize {
    m_lines(d)
        .iter()
        .filter(|m| m.starts_with("m=audio 0 "))
        .count()
}

#[tokio::test]
async fn wpt_300_no_premature_reuse_of_stopped_section() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.get_transceivers()[0].stop().unwrap();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let audio_lines = m_lines(&offer)
        .iter()
        .filter(|m| m.starts_with("m=audio"))
        .count();
    assert_eq!(audio_lines, 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(pc1.get_transceivers().len(), 1);
    // pc2 now has a recvonly transceiver from the second section; a new pc2 track takes it
    // rather than a new m-section.
    let pc2_before = pc2.get_transceivers().len();
    pc2.add_track(&audio(), &[]).unwrap();
    assert_eq!(pc2.get_transceivers().len(), pc2_before);
    // A further track on pc1 recycles the rejected slot.
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 0, "{}", offer.sdp);
    assert_eq!(m_lines(&offer).len(), 2, "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_301_rollback_then_remote_offer_of_other_kind() {
    let pc1 = pc();
    let pc2 = pc();
    let audio_t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    pc1.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(audio_t.mid(), None);
    pc2.add_track(&video(), &[]).unwrap();
    exchange(&pc2, &pc1).await;
    assert_eq!(audio_t.mid(), None);
    let video_t = pc1
        .get_transceivers()
        .into_iter()
        .find(|t| t.kind() == MediaKind::Video)
        .expect("SRD created a video transceiver");
    assert_eq!(video_t.direction(), Dir::RecvOnly);
    assert_eq!(video_t.current_direction(), Some(Dir::RecvOnly));
    assert_eq!(
        pc2.get_transceivers()[0].current_direction(),
        Some(Dir::SendOnly)
    );
}

// ===== 23. setCodecPreferences / capabilities =====

#[tokio::test]
async fn wpt_302_receiver_capabilities_are_accepted() {
    let pc = pc();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let t = pc
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        let caps = codecs(kind.as_str());
        t.set_codec_preferences(&caps).unwrap();
        let mut rev = caps.clone();
        rev.reverse();
        t.set_codec_preferences(&rev).unwrap();
        t.set_codec_preferences(&[]).unwrap();
    }
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    for name in ["video/VP8", "video/H264"] {
        let one: Vec<_> = codecs("video")
            .into_iter()
            .filter(|c| c.mime_type == name)
            .take(1)
            .collect();
        assert_eq!(one.len(), 1);
        t.set_codec_preferences(&one).unwrap();
    }
}

#[tokio::test]
async fn wpt_302_empty_preferences_reset_to_defaults() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let default_offer = pc.create_offer(None).await.unwrap();
    let defaults = rtpmap_names(&default_offer);
    let pcmu: Vec<_> = codecs("audio")
        .into_iter()
        .filter(|c| c.mime_type == "audio/PCMU")
        .collect();
    t.set_codec_preferences(&pcmu).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(rtpmap_names(&offer), ["PCMU"]);
    t.set_codec_preferences(&[]).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(rtpmap_names(&offer), defaults);
}

#[tokio::test]
async fn wpt_303_codecs_of_wrong_kind_throw_invalid_modification() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let e = t.set_codec_preferences(&codecs("video")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let e = t.set_codec_preferences(&codecs("audio")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
}

#[tokio::test]
async fn wpt_304_unknown_or_modified_codecs_throw_invalid_modification() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let bogus = |mime: &str| RtpCodecCapability {
        mime_type: mime.into(),
        clock_rate: 8000,
        channels: Some(1),
        sdp_fmtp_line: None,
    };
    for mime in ["data", "audio/piepiper"] {
        let e = t.set_codec_preferences(&[bogus(mime)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{mime} alone");
        let mut list = codecs("audio");
        list.push(bogus(mime));
        let e = t.set_codec_preferences(&list).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{mime} appended");
    }
    let base = codecs("audio")
        .into_iter()
        .find(|c| c.mime_type == "audio/opus")
        .expect("opus");
    let mut m = base.clone();
    m.clock_rate += 1;
    let mut c = base.clone();
    c.channels = Some(1);
    let mut f = base.clone();
    f.sdp_fmtp_line = Some("modified".into());
    for (what, codec) in [("clockRate", m), ("channels", c), ("sdpFmtpLine", f)] {
        let e = t.set_codec_preferences(&[codec]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{what}");
    }
    t.set_codec_preferences(&[base]).unwrap();
}

#[tokio::test]
async fn wpt_304_sender_and_receiver_capabilities_agree() {
    for kind in ["audio", "video"] {
        let s = RtpSender::get_capabilities(kind).unwrap();
        let r = RtpReceiver::get_capabilities(kind).unwrap();
        assert_eq!(s.codecs, r.codecs, "{kind}");
    }
}

#[tokio::test]
async fn wpt_305_preferred_order_is_reflected_in_offer() {
    // Video: H264 first, then VP8 first.
    for first in ["video/H264", "video/VP8"] {
        let pc = pc();
        let t = pc
            .add_transceiver(MediaKind::Video, TransceiverInit::default())
            .unwrap();
        let mut list = codecs("video");
        let i = list.iter().position(|c| c.mime_type == first).unwrap();
        let c = list.remove(i);
        list.insert(0, c);
        t.set_codec_preferences(&list).unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        let names = rtpmap_names(&offer);
        assert_eq!(
            format!("video/{}", names[0]),
            first,
            "first rtpmap: {names:?}"
        );
        // The first payload on the m-line is the first rtpmap's payload type.
        let pt = first_mline_payloads(&offer)[0].clone();
        assert!(
            offer
                .sdp
                .contains(&format!("a=rtpmap:{pt} {}/", &first[6..])),
            "{}",
            offer.sdp
        );
    }
    // Audio: PCMU first, then PCMA first.
    for first in ["audio/PCMU", "audio/PCMA"] {
        let pc = pc();
        let t = pc
            .add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let mut list = codecs("audio");
        let i = list.iter().position(|c| c.mime_type == first).unwrap();
        let c = list.remove(i);
        list.insert(0, c);
        t.set_codec_preferences(&list).unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        let names = rtpmap_names(&offer);
        assert_eq!(format!("audio/{}", names[0]), first, "{names:?}");
        let pt = first_mline_payloads(&offer)[0].clone();
        assert!(
            offer
                .sdp
                .contains(&format!("a=rtpmap:{pt} {}/", &first[6..])),
            "{}",
            offer.sdp
        );
    }
}

#[tokio::test]
async fn wpt_306_sender_get_capabilities() {
    for kind in ["audio", "video"] {
        let caps = RtpSender::get_capabilities(kind).expect("a dictionary");
        assert!(!caps.codecs.is_empty());
        assert!(!caps.header_extensions.is_empty());
        let prefix = format!("{kind}/");
        assert!(caps.codecs.iter().all(|c| c.mime_type.starts_with(&prefix)));
    }
    assert!(RtpSender::get_capabilities("dummy").is_none());
    assert!(RtpReceiver::get_capabilities("dummy").is_none());
}

// ----- stop() at each stage of an exchange (WPT-172, WPT-285, WPT-296) -----

/// Where in the exchange `stop()` is called.
#[derive(Debug, Clone, Copy)]
enum StopAt {
    OffererAfterCreateOffer,
    OffererAfterSetLocalOffer,
    AnswererAfterCreateAnswer,
    AnswererAfterSetLocalAnswer,
}

/// As RTCRtpTransceiver.https.html's checkStopAfter*: both sides send audio, one side stops
/// its transceiver at `at`. The current exchange still completes as negotiated (track event
/// for the offerer, currentDirection "sendrecv" on the stopping side), negotiationneeded
/// fires on the stopping side, and an exchange started by the stopping side removes the
/// transceiver on both sides. An exchange started by the other side only makes it inactive.
async fn stop_during_exchange(at: StopAt) {
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    pc2.add_track(&audio(), &[&stream]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    let offer = pc1.create_offer(None).await.unwrap();
    if let StopAt::OffererAfterCreateOffer = at {
        t1.stop().unwrap();
    }
    pc2.set_remote_description(offer.clone()).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    if let StopAt::OffererAfterSetLocalOffer = at {
        t1.stop().unwrap();
    }
    let t2 = pc2.get_transceivers()[0].clone();
    let answer = pc2.create_answer(None).await.unwrap();
    if let StopAt::AnswererAfterCreateAnswer = at {
        t2.stop().unwrap();
    }
    drain(&mut ev1);
    pc1.set_remote_description(answer.clone()).await.unwrap();
    let srd_events = drain(&mut ev1);
    let tracks = track_events(&srd_events);
    assert_eq!(tracks.len(), 1, "{at:?}: the answer still sends");
    assert_eq!(tracks[0].track, t1.receiver().track());
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()], "{at:?}");
    drain(&mut ev2);
    pc2.set_local_description(Some(answer)).await.unwrap();
    if let StopAt::AnswererAfterSetLocalAnswer = at {
        t2.stop().unwrap();
    }
    let offerer_stopped = matches!(
        at,
        StopAt::OffererAfterCreateOffer | StopAt::OffererAfterSetLocalOffer
    );
    let (stopper, stopper_pc, other_pc) = if offerer_stopped {
        (&t1, &pc1, &pc2)
    } else {
        (&t2, &pc2, &pc1)
    };
    assert_eq!(stopper.direction(), Dir::Stopped, "{at:?}");
    assert_eq!(stopper.current_direction(), Some(Dir::SendRecv), "{at:?}");
    assert!(stopper.mid().is_some(), "{at:?}: still associated");
    assert_eq!(stopper_pc.get_transceivers().len(), 1, "{at:?}");
    // The offerer learns it after SRD(answer); the answerer after SLD(answer) or stop().
    let events = if offerer_stopped {
        srd_events
    } else {
        drain(&mut ev2)
    };
    assert_eq!(
        nn_count(&events),
        1,
        "{at:?}: negotiationneeded on the stopping side: {:?}",
        trace(&events)
    );
    if !offerer_stopped {
        // pc1 starts the next exchange: pc2 may only answer inactive.
        exchange(&pc1, &pc2).await;
        assert_eq!(t1.direction(), Dir::SendRecv, "{at:?}");
        assert_eq!(t1.current_direction(), Some(Dir::Inactive), "{at:?}");
        assert_eq!(t2.direction(), Dir::Stopped, "{at:?}");
        assert_eq!(t2.current_direction(), Some(Dir::Inactive), "{at:?}");
        assert_eq!(pc2.get_transceivers().len(), 1, "{at:?}");
        // Still stopping: back in stable, pc2 asks again.
        let again = drain(&mut ev2);
        assert_eq!(nn_count(&again), 1, "{at:?}: {:?}", trace(&again));
    }
    exchange(stopper_pc, other_pc).await;
    for (pc, t) in [(&pc1, &t1), (&pc2, &t2)] {
        assert!(
            pc.get_transceivers().is_empty(),
            "{at:?}: {:?} {:?} {:?}",
            t.mid(),
            t.direction(),
            t.current_direction()
        );
        assert_eq!(t.mid(), None, "{at:?}");
        assert_eq!(t.direction(), Dir::Stopped, "{at:?}");
        assert_eq!(t.current_direction(), Some(Dir::Stopped), "{at:?}");
    }
    // Nothing left to negotiate on either side.
    let rest1 = drain(&mut ev1);
    assert_eq!(nn_count(&rest1), 0, "{at:?}: {:?}", trace(&rest1));
    let rest2 = drain(&mut ev2);
    assert_eq!(nn_count(&rest2), 0, "{at:?}: {:?}", trace(&rest2));
}

#[tokio::test]
async fn wpt_172_stop_after_create_offer() {
    stop_during_exchange(StopAt::OffererAfterCreateOffer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_set_local_offer() {
    stop_during_exchange(StopAt::OffererAfterSetLocalOffer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_create_answer() {
    stop_during_exchange(StopAt::AnswererAfterCreateAnswer).await;
}

#[tokio::test]
async fn wpt_172_stop_after_set_local_answer() {
    stop_during_exchange(StopAt::AnswererAfterSetLocalAnswer).await;
}

#[tokio::test]
async fn wpt_285_stop_is_not_rolled_back() {
    let pc = pc();
    let track = audio();
    pc.add_track(&track, &[]).unwrap();
    let t = pc.get_transceivers()[0].clone();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    // Rollback does not undo direction or track changes made meanwhile.
    t.set_direction(Dir::SendOnly).unwrap();
    let track2 = audio();
    t.sender()
        .replace_track(Some(track2.clone()))
        .await
        .unwrap();
    pc.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(t.direction(), Dir::SendOnly);
    assert_eq!(t.sender().track(), Some(track2));
    assert_eq!(t.mid(), None);
    assert_eq!(t.current_direction(), None);
    // Nor stop().
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    t.stop().unwrap();
    pc.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    assert_eq!(t.direction(), Dir::Stopped);
    assert_eq!(
        t.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
}

#[tokio::test]
async fn wpt_280_track_event_track_is_the_receivers_and_in_its_streams() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&audio(), &[&s]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev = pc2.events();
    // SRD(offer) before the offerer applied it, as WPT does.
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let e = &tracks[0];
    assert_eq!(e.track, e.receiver.track());
    assert_eq!(e.receiver, e.transceiver.receiver());
    for stream in &e.streams {
        assert!(stream.get_tracks().contains(&e.track));
    }
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

#[tokio::test]
async fn wpt_214_after_close_setters_throw_and_objects_remain() {
    let pc1 = pc();
    let t = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let dc = pc1.create_data_channel("x", None).unwrap();
    pc1.close();
    assert_eq!(pc1.get_transceivers(), vec![t.clone()]);
    let e = t.set_direction(Dir::SendOnly).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    let e = t.sender().set_streams(&[&MediaStream::new()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert_eq!(dc.ready_state(), DataChannelState::Closed);
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
async fn wpt_270_remove_track_after_remote_rollback_is_a_noop() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let sender = pc2.get_senders()[0].clone();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_senders().is_empty());
    let mut ev = pc2.events();
    pc2.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_264_add_track_reuses_unused_sendrecv_transceiver() {
    // The current spec has no direction criterion: a never-used sendrecv sender is reused.
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(sender.track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(pc.get_senders().len(), 1);
    // An inactive one becomes sendonly.
    let t2 = pc
        .add_transceiver(MediaKind::Video, init(Dir::Inactive))
        .unwrap();
    let s2 = pc.add_track(&video(), &[]).unwrap();
    assert_eq!(s2, t2.sender());
    assert_eq!(t2.direction(), Dir::SendOnly);
    // A stopped one is not reused.
    let t3 = pc
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    t3.stop().unwrap();
    let s3 = pc.add_track(&audio(), &[]).unwrap();
    assert_ne!(s3, t3.sender());
    assert_eq!(t3.sender().track(), None);
}

#[tokio::test]
async fn wpt_264_add_track_does_not_reuse_sender_that_has_sent() {
    let caller = pc();
    let callee = pc();
    let track = audio();
    let t = caller
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    exchange(&caller, &callee).await;
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    t.sender().replace_track(None).await.unwrap();
    let sender = caller.add_track(&track, &[]).unwrap();
    assert_ne!(sender, t.sender());
    assert_eq!(caller.get_senders().len(), 2);
    assert_eq!(t.sender().track(), None);
}

#[tokio::test]
async fn wpt_302_sender_and_receiver_codecs_combined_are_accepted() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let mut both = RtpSender::get_capabilities("audio").unwrap().codecs;
    both.extend(RtpReceiver::get_capabilities("audio").unwrap().codecs);
    t.set_codec_preferences(&both).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    let pts = first_mline_payloads(&offer);
    let mut unique = pts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pts.len(), "no payload type twice: {pts:?}");
    // A video codec with a channel count is not a capability either.
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let mut vp8 = codecs("video")
        .into_iter()
        .find(|c| c.mime_type == "video/VP8")
        .unwrap();
    vp8.channels = Some(3);
    let e = t.set_codec_preferences(&[vp8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
}

/// 24 channels, every other one negotiated with id `i` (as RTCPeerConnection-close.html).
fn make_channels(pc: &PeerConnection) -> Vec<rtcpeer::DataChannel> {
    (0..24u16)
        .map(|i| {
            let init = (i % 2 == 0).then(|| DataChannelInit {
                negotiated: true,
                id: Some(i),
                ..Default::default()
            });
            let dc = pc
                .create_data_channel(&format!("test-channel-{i}"), init)
                .unwrap();
            assert_ne!(dc.ready_state(), DataChannelState::Closed);
            dc
        })
        .collect()
}

#[tokio::test]
async fn wpt_208_close_closes_every_channel_synchronously() {
    // Before negotiation.
    let pc1 = pc();
    let channels = make_channels(&pc1);
    pc1.close();
    assert!(
        channels
            .iter()
            .all(|d| d.ready_state() == DataChannelState::Closed)
    );
    // After negotiation, on both sides, and the SCTP transports close too.
    let pc1 = pc();
    let pc2 = pc();
    let channels = make_channels(&pc1);
    exchange(&pc1, &pc2).await;
    let late = pc2.create_data_channel("late", None).unwrap();
    assert!(channels.iter().all(|d| d.id().is_some()));
    let (s1, s2) = (pc1.sctp().unwrap(), pc2.sctp().unwrap());
    pc1.close();
    pc2.close();
    assert!(
        channels
            .iter()
            .all(|d| d.ready_state() == DataChannelState::Closed)
    );
    assert_eq!(late.ready_state(), DataChannelState::Closed);
    assert_eq!(s1.state(), SctpTransportState::Closed);
    assert_eq!(s2.state(), SctpTransportState::Closed);
    // close() is idempotent and keeps the descriptions.
    pc1.close();
    assert_eq!(pc1.signaling_state(), SignalingState::Closed);
    assert!(pc1.current_local_description().is_some());
    assert!(pc1.current_remote_description().is_some());
}

#[tokio::test]
async fn wpt_296_transceiver_stopped_before_first_offer_gets_no_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    let a = pc1
        .add_transceiver(MediaKind::Audio, init(Dir::SendOnly))
        .unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    a.stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert!(!offer.sdp.contains("m=audio"), "{}", offer.sdp);
    assert!(offer.sdp.contains("m=video"), "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let mut ev = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    // The never-associated stopped transceiver is gone; nothing is left to negotiate.
    assert_eq!(pc1.get_transceivers().len(), 1);
    assert_eq!(a.mid(), None);
    assert_eq!(a.current_direction(), Some(Dir::Stopped));
    assert_eq!(nn_count(&drain(&mut ev)), 0);
}

#[tokio::test]
async fn wpt_296_added_and_stopped_during_renegotiation_gets_no_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    for t in pc1.get_transceivers() {
        t.stop().unwrap();
    }
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    assert!(!offer.sdp.contains("m=video"), "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_296_stopped_sendonly_or_inactive_offers_inactive() {
    for dir in [Dir::SendOnly, Dir::Inactive] {
        let pc1 = pc();
        let pc2 = pc();
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        exchange(&pc1, &pc2).await;
        let t = pc1.get_transceivers()[0].clone();
        t.set_direction(dir).unwrap();
        t.stop().unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        assert!(offer.sdp.contains("a=inactive"), "{dir:?}: {}", offer.sdp);
        assert_eq!(rejected_audio(&offer), 1, "{dir:?}: {}", offer.sdp);
    }
}

#[tokio::test]
async fn wpt_296_offer_after_remote_stop_negotiated() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc1, &pc2).await;
    let (t1, t2) = (
        pc1.get_transceivers()[0].clone(),
        pc2.get_transceivers()[0].clone(),
    );
    t2.stop().unwrap();
    exchange(&pc2, &pc1).await;
    assert!(pc1.get_transceivers().is_empty());
    assert!(pc2.get_transceivers().is_empty());
    assert_eq!(t1.direction(), Dir::Stopped);
    assert_eq!(t2.direction(), Dir::Stopped);
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
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
async fn wpt_287_removal_fires_no_negotiationneeded() {
    let (pc1, pc2) = sendrecv_pair().await;
    pc1.get_transceivers()[0].stop().unwrap();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    exchange(&pc1, &pc2).await;
    assert_eq!(
        trace(&drain(&mut ev1)),
        ["ss:have-local-offer", "ss:stable"]
    );
    assert_eq!(
        trace(&drain(&mut ev2)),
        ["ss:have-remote-offer", "ss:stable"]
    );
}

#[tokio::test]
async fn wpt_287_stopped_transceiver_senders_and_receivers_are_not_collected() {
    // getSenders()/getReceivers() run CollectSenders/CollectReceivers, which skip
    // transceivers whose [[Stopped]] is true; getTransceivers() still lists them until the
    // negotiation completes.
    let track = audio();
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let sender2 = pc2.add_track(&track, &[]).unwrap();
    exchange_answer(&pc1, &pc2).await;
    pc1.get_transceivers()[0].stop().unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let t2 = pc2.get_transceivers();
    assert_eq!(t2.len(), 1, "still in the set");
    assert_eq!(t2[0].current_direction(), Some(Dir::Stopped));
    assert!(pc2.get_senders().is_empty());
    assert!(pc2.get_receivers().is_empty());
    // The stopped sender's track no longer counts as "already sent" (CollectSenders).
    assert_eq!(sender2.track(), Some(track.clone()));
    let again = pc2.add_track(&track, &[]).unwrap();
    assert_ne!(again, sender2);
    assert_eq!(pc2.get_senders(), vec![again]);
}

/// pc2 answers pc1's applied offer (the second half of an exchange).
async fn exchange_answer(pc1: &PeerConnection, pc2: &PeerConnection) {
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
}

#[tokio::test]
async fn wpt_210_after_close_senders_and_receivers_are_not_collected() {
    let pc1 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    pc1.close();
    assert_eq!(pc1.get_transceivers().len(), 2);
    assert!(pc1.get_senders().is_empty());
    assert!(pc1.get_receivers().is_empty());
    assert!(sender.track().is_some());
}

#[tokio::test]
async fn wpt_286_direction_setter_error_order() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    // "stopped" is not a settable direction.
    let e = t.set_direction(Dir::Stopped).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert_eq!(t.direction(), Dir::SendRecv);
    // On a stopping transceiver the [[Stopping]] check comes first.
    t.stop().unwrap();
    for dir in [Dir::Stopped, Dir::SendRecv, Dir::Inactive] {
        let e = t.set_direction(dir).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState, "{dir:?}");
    }
}

#[tokio::test]
async fn wpt_301_remote_rollback_removes_transceiver_created_by_srd() {
    // As RTCRtpTransceiver.https.html checkRemoteRollback.
    let pc1 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let pc2 = pc();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let removed = pc2.get_transceivers()[0].clone();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    assert_eq!(removed.mid(), None);
    assert_eq!(removed.current_direction(), Some(Dir::Stopped));
    assert_eq!(
        removed.receiver().track().ready_state(),
        MediaStreamTrackState::Ended
    );
    // The same offer again does the same thing.
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let t = pc2.get_transceivers()[0].clone();
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.current_direction(), None);
    let mid0 = t.mid();
    assert!(mid0.is_some());
    // replaceTrack and the direction setter do not keep it alive.
    let track2 = audio();
    t.sender()
        .replace_track(Some(track2.clone()))
        .await
        .unwrap();
    t.set_direction(Dir::SendRecv).unwrap();
    assert_eq!(t.mid(), mid0);
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_transceivers().is_empty());
    // A third time; now addTrack touches it, so rollback keeps it (without a mid).
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let t = pc2.get_transceivers()[0].clone();
    assert_eq!(t.mid(), mid0);
    let s2 = MediaStream::new();
    let sender = pc2.add_track(&track2, &[&s2]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(t.direction(), Dir::SendRecv);
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts, vec![t.clone()]);
    assert_eq!(t.mid(), None);
    assert_eq!(t.sender().track(), Some(track2));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), None);
    // After all this, the real exchange still fires exactly one track event.
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].transceiver, t);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    let mut ev1 = pc1.events();
    exchange_answer(&pc1, &pc2).await;
    assert_eq!(track_events(&drain(&mut ev1)).len(), 1);
}

fn max_compat() -> PeerConnection {
    PeerConnection::new(Configuration {
        bundle_policy: BundlePolicy::MaxCompat,
        ..Default::default()
    })
    .unwrap()
}

/// Implicit SLD on `a`, SRD of its local description on `b`.
async fn sld_srd(a: &PeerConnection, b: &PeerConnection) {
    a.set_local_description(None).await.unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .await
        .unwrap();
}

fn m_count(d: &SessionDescription) -> usize {
    m_lines(d).len()
}

#[tokio::test]
async fn wpt_293_and_300_m_section_reuse_sequence() {
    // As RTCRtpTransceiver.https.html checkMsectionReuse (max-compat).
    let pc1 = max_compat();
    let pc2 = max_compat();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    let t1 = pc1.get_transceivers()[0].clone();
    sld_srd(&pc1, &pc2).await;
    // The answerer stops: the section only goes inactive in this exchange.
    let t2 = pc2.get_transceivers()[0].clone();
    let stopped_mid0 = t2.mid();
    t2.stop().unwrap();
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_ne!(t2.current_direction(), Some(Dir::Stopped));
    sld_srd(&pc2, &pc1).await;
    assert_eq!(t1.mid(), stopped_mid0);
    assert_eq!(t1.direction(), Dir::SendRecv);
    assert_eq!(t1.current_direction(), Some(Dir::Inactive));
    assert_eq!(t2.mid(), stopped_mid0);
    assert_eq!(t2.direction(), Dir::Stopped);
    assert_eq!(t2.current_direction(), Some(Dir::Inactive));
    // Follow-up exchange pc2 -> pc1 removes both.
    sld_srd(&pc2, &pc1).await;
    sld_srd(&pc1, &pc2).await;
    for t in [&t1, &t2] {
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
    }
    assert!(pc1.get_transceivers().is_empty() && pc2.get_transceivers().is_empty());

    // The rejected m-section is reused on both ends, with a new mid.
    let (track2, stream2) = (audio(), MediaStream::new());
    pc1.add_track(&track2, &[&stream2]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 1, "{}", offer.sdp);
    assert_eq!(pc1.get_senders()[0].track(), Some(track2.clone()));
    assert_ne!(pc1.get_transceivers()[0].mid(), stopped_mid0);
    pc2.add_track(&track, &[&stream]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 1, "{}", offer.sdp);
    assert_ne!(pc2.get_transceivers()[0].mid(), stopped_mid0);
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(offer).await.unwrap();
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(answer).await.unwrap();
    let ts1 = pc1.get_transceivers();
    assert_eq!(ts1.len(), 1);
    assert_eq!(ts1[0].sender().track(), Some(track2));
    assert_eq!(ts1[0].current_direction(), Some(Dir::SendRecv));
    let mid0 = ts1[0].mid();
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].sender().track(), Some(track.clone()));
    assert_eq!(ts2[0].current_direction(), Some(Dir::SendRecv));
    assert_eq!(ts2[0].mid(), mid0);

    // Stop + addTrack: no premature reuse (one rejected section plus a new one).
    let stopped_mid1 = mid0;
    ts1[0].stop().unwrap();
    let (track3, stream3) = (audio(), MediaStream::new());
    pc1.add_track(&track3, &[&stream3]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc2.get_transceivers()[1].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream3.id()]);
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].sender().track(), None);
    assert_eq!(ts2[0].current_direction(), Some(Dir::RecvOnly));
    let mid1 = ts2[0].mid();
    assert_ne!(mid1, stopped_mid1);

    // A new track on pc2 takes the recvonly transceiver rather than the rejected section.
    pc2.add_track(&track3, &[&stream3]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 1);
    assert_eq!(ts2[0].mid(), mid1);
    assert_eq!(ts2[0].sender().track(), Some(track3));
    assert_eq!(ts2[0].current_direction(), Some(Dir::RecvOnly));
    assert_eq!(ts2[0].direction(), Dir::SendRecv);
    // Another track reuses the rejected section, with a fresh mid.
    let track4 = audio();
    pc2.add_track(&track4, &[&MediaStream::new()]).unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let ts2 = pc2.get_transceivers();
    assert_eq!(ts2.len(), 2);
    assert_eq!(ts2[0].mid(), mid1);
    assert_eq!(ts2[1].sender().track(), Some(track4));
    let mid4 = ts2[1].mid();
    assert!(mid4.is_some());
    assert_ne!(mid4, mid1);
    assert_ne!(mid4, stopped_mid0);
    assert_ne!(mid4, stopped_mid1);
    assert_eq!(m_count(&offer), 2, "{}", offer.sdp);
    assert_eq!(rejected_audio(&offer), 0, "{}", offer.sdp);
}

#[tokio::test]
async fn wpt_300_stop_after_create_offer_with_reused_m_section() {
    let pc1 = pc();
    let pc2 = pc();
    let s = MediaStream::new();
    pc1.add_track(&audio(), &[&s]).unwrap();
    pc1.add_track(&video(), &[&s]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.get_transceivers()[1].stop().unwrap();
    exchange(&pc1, &pc2).await;
    // The video section is negotiated rejected; a new transceiver recycles it in the
    // offer, then stops before the offer is applied.
    let t = pc1
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    t.stop().unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    exchange_answer(&pc1, &pc2).await;
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_293_answerer_stops_one_of_two_then_both_sides_offer() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    exchange(&pc1, &pc2).await;
    pc2.get_transceivers()[0].stop().unwrap();
    exchange(&pc1, &pc2).await;
    assert_eq!(
        pc2.get_transceivers().len(),
        2,
        "pc1's offer cannot finish the stop"
    );
    exchange(&pc2, &pc1).await;
    assert_eq!(pc1.get_transceivers().len(), 1);
    assert_eq!(pc2.get_transceivers().len(), 1);
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(rejected_audio(&offer), 1, "{}", offer.sdp);
    assert_eq!(m_count(&offer), 2);
}

/// `currentDirection` of every transceiver of `pc`.
fn current_dirs(pc: &PeerConnection) -> Vec<Option<Dir>> {
    pc.get_transceivers()
        .iter()
        .map(|t| t.current_direction())
        .collect()
}

#[tokio::test]
async fn wpt_269_remove_and_readd_track() {
    // As RTCRtpTransceiver.https.html checkRemoveAndReadd.
    let pc1 = pc();
    let pc2 = pc();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.remove_track(&pc1.get_senders()[0]).unwrap();
    pc1.add_track(&track, &[&stream]).unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts.len(), 2, "the used sender is not reused");
    assert_eq!(ts[0].sender().track(), None);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert_eq!(ts[1].sender().track(), Some(track.clone()));
    assert_eq!(ts[1].direction(), Dir::SendRecv);
    exchange(&pc1, &pc2).await;
    assert_eq!(
        current_dirs(&pc2),
        [Some(Dir::Inactive), Some(Dir::RecvOnly)]
    );
    pc1.remove_track(&pc1.get_senders()[1]).unwrap();
    pc1.add_track(&track, &[&stream]).unwrap();
    let dirs: Vec<(Option<MediaStreamTrack>, Dir)> = pc1
        .get_transceivers()
        .iter()
        .map(|t| (t.sender().track(), t.direction()))
        .collect();
    assert_eq!(
        dirs,
        [
            (None, Dir::RecvOnly),
            (None, Dir::RecvOnly),
            (Some(track.clone()), Dir::SendRecv)
        ]
    );
    // pc1 answers; pc2 adds a transceiver for the re-added track to attach to.
    pc2.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc2, &pc1).await;
    assert_eq!(
        current_dirs(&pc2),
        [
            Some(Dir::Inactive),
            Some(Dir::Inactive),
            Some(Dir::SendRecv)
        ]
    );
}

#[tokio::test]
async fn wpt_270_add_remove_on_existing_transceiver_then_associated() {
    let pc = pc();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let (track, stream) = (audio(), MediaStream::new());
    let sender = pc.add_track(&track, &[&stream]).unwrap();
    pc.remove_track(&sender).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    let sender = pc.add_track(&track, &[&stream]).unwrap();
    assert_eq!(pc.get_senders().len(), 1, "still reusable: it never sent");
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
}

#[tokio::test]
async fn wpt_278_current_direction_through_renegotiations() {
    // As RTCRtpTransceiver.https.html checkCurrentDirection.
    let pc1 = pc();
    let pc2 = pc();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    pc2.add_track(&track, &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(current_dirs(&pc1), [None]);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [None]);
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(track_events(&drain(&mut ev2)).len(), 1);
    assert_eq!(current_dirs(&pc2), [None]);
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(current_dirs(&pc2), [None]);
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(track_events(&drain(&mut ev1)).len(), 1);
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);

    // pc2 goes sendonly.
    pc2.get_transceivers()[0]
        .set_direction(Dir::SendOnly)
        .unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc1.set_remote_description(offer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [Some(Dir::RecvOnly)]);
    drain(&mut ev2);
    pc2.set_remote_description(answer).await.unwrap();
    assert!(track_events(&drain(&mut ev2)).is_empty());
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendOnly)]);

    // And back to sendrecv: pc2 receives again, so a new track event fires there.
    pc2.get_transceivers()[0]
        .set_direction(Dir::SendRecv)
        .unwrap();
    let offer = pc2.create_offer(None).await.unwrap();
    pc2.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendOnly)]);
    pc1.set_remote_description(offer).await.unwrap();
    assert!(track_events(&drain(&mut ev1)).is_empty());
    assert_eq!(current_dirs(&pc1), [Some(Dir::RecvOnly)]);
    let answer = pc1.create_answer(None).await.unwrap();
    pc1.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    assert_eq!(current_dirs(&pc1), [Some(Dir::SendRecv)]);
    drain(&mut ev2);
    pc2.set_remote_description(answer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc2.get_transceivers()[0].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    assert_eq!(current_dirs(&pc2), [Some(Dir::SendRecv)]);
    pc2.close();
    assert_eq!(current_dirs(&pc2), [Some(Dir::Stopped)]);
}

#[tokio::test]
async fn wpt_283_sendrecv_without_send_track_fires_track_events_both_ways() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let stream = MediaStream::new();
    pc2.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].streams.is_empty());
    pc1.set_local_description(Some(offer)).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let mut ev1 = pc1.events();
    pc1.set_remote_description(answer).await.unwrap();
    let tracks = track_events(&drain(&mut ev1));
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        tracks[0].track,
        pc1.get_transceivers()[0].receiver().track()
    );
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
}

#[tokio::test]
async fn wpt_269_remove_track_negotiation_updates_remote_streams() {
    // As RTCRtpTransceiver.https.html checkRemoveTrackNegotiation, observing the remote
    // stream's membership (the removetrack/addtrack events themselves need media events).
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    pc1.add_track(&video(), &[&stream]).unwrap();
    pc1.get_transceivers()[1]
        .set_direction(Dir::SendOnly)
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 2);
    for t in &tracks {
        let ids: Vec<&str> = t.streams.iter().map(|s| s.id()).collect();
        assert_eq!(ids, [stream.id()]);
    }
    let receive_stream = tracks[0].streams[0].clone();
    assert_eq!(receive_stream.get_tracks().len(), 2);
    // Rollback takes both tracks out of the stream.
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(receive_stream.get_tracks().is_empty());
    // The next offer puts the new receivers' tracks in (the same stream object).
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].streams[0], receive_stream);
    let in_stream = receive_stream.get_tracks();
    assert_eq!(in_stream.len(), 2);
    assert!(tracks.iter().all(|t| in_stream.contains(&t.track)));
    pc1.set_local_description(Some(offer)).await.unwrap();
    exchange_answer(&pc1, &pc2).await;

    pc1.remove_track(&pc1.get_senders()[0]).unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts[0].sender().track(), None);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(ts[1].sender().track().is_some());
    assert_eq!(ts[1].direction(), Dir::SendOnly);
    pc1.remove_track(&pc1.get_senders()[1]).unwrap();
    assert_eq!(ts[1].sender().track(), None);
    assert_eq!(ts[1].direction(), Dir::Inactive);
    // pc1 offers: pc2's SRD takes both tracks out of the stream; rollback puts them back.
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert!(receive_stream.get_tracks().is_empty());
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(receive_stream.get_tracks().len(), 2);
    // pc2 offers; pc1's answer (not sending) takes them out at pc2's SRD(answer).
    exchange(&pc2, &pc1).await;
    assert!(receive_stream.get_tracks().is_empty());
    assert_eq!(
        current_dirs(&pc2),
        [Some(Dir::Inactive), Some(Dir::Inactive)]
    );
}

#[tokio::test]
async fn wpt_280_offer_without_mid_still_creates_a_transceiver_with_a_mid() {
    // As RTCRtpTransceiver.https.html checkNoMidOffer.
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let munged = SessionDescription::offer(offer.sdp.replacen("a=mid:", "a=unknownattr:", 1));
    pc2.set_remote_description(munged).await.unwrap();
    let ts = pc2.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(ts[0].mid().is_some_and(|m| !m.is_empty()));
    exchange_answer(&pc1, &pc2).await;
}

#[tokio::test]
async fn wpt_280_answer_without_mid_or_group_is_accepted() {
    // As RTCRtpTransceiver.https.html checkNoMidAnswer.
    let pc1 = pc();
    let pc2 = pc();
    let track = audio();
    pc1.add_track(&track, &[&MediaStream::new()]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let sdp = answer.sdp.replacen("a=mid:", "a=unknownattr:", 1).replacen(
        "a=group:",
        "a=unknownattr:",
        1,
    );
    pc1.set_remote_description(SessionDescription::answer(sdp))
        .await
        .unwrap();
    let t = &pc1.get_transceivers()[0];
    assert!(t.mid().is_some());
    assert_eq!(t.sender().track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    let reoffer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(reoffer)).await.unwrap();
}

#[tokio::test]
async fn wpt_280_msid_without_track_id_is_accepted() {
    // As RTCRtpTransceiver.https.html checkMsidNoTrackId.
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    let sdp: String = offer
        .sdp
        .split("\r\n")
        .map(|l| {
            if l.starts_with("a=msid:") {
                l.split(' ').next().unwrap_or(l).to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(sdp.contains(&format!("a=msid:{}\r\n", stream.id())));
    let mut ev = pc2.events();
    pc2.set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap();
    let tracks = track_events(&drain(&mut ev));
    assert_eq!(tracks.len(), 1);
    let ids: Vec<&str> = tracks[0].streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids, [stream.id()]);
    let answer = pc2.create_answer(None).await.unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
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
async fn wpt_304_only_resiliency_or_comfort_noise_codecs_throw_invalid_modification() {
    let pc = pc();
    let by_subtype = |kind: &str, names: &[&str]| -> Vec<RtpCodecCapability> {
        codecs(kind)
            .into_iter()
            .filter(|c| {
                let sub = c.mime_type.split('/').nth(1).unwrap_or("");
                names.iter().any(|n| n.eq_ignore_ascii_case(sub))
            })
            .collect()
    };
    let a = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    for names in [&["red"][..], &["CN"], &["red", "CN"]] {
        let list = by_subtype("audio", names);
        assert!(!list.is_empty(), "{names:?}");
        let e = a.set_codec_preferences(&list).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{names:?}");
    }
    let v = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let list = by_subtype("video", &["rtx", "red", "ulpfec"]);
    assert_eq!(list.len(), 3);
    let e = v.set_codec_preferences(&list).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
    // With one media codec added, the same lists are fine.
    let mut list = by_subtype("audio", &["red", "CN", "PCMU"]);
    a.set_codec_preferences(&list).unwrap();
    list.retain(|c| c.mime_type != "audio/PCMU");
    assert!(a.set_codec_preferences(&list).is_err());
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
