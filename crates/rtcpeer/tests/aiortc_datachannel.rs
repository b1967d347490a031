//! rtcpeer ↔ aiortc (Python, PyPI; pinned in tests/interop/requirements.txt) data channels over
//! 127.0.0.1, in both offer directions: channel setup, text and binary messages both ways, a
//! 4 MiB transfer each way with back-pressure and a SHA-256 check, closing a channel from
//! either side, closing either connection, DCEP options, a negotiated channel, and the
//! max-message-size limit.
//!
//! aiortc cannot trickle: each side sends its description once gathering has completed.
//! The aiortc side is `tests/interop/aiortc_peer.py`, driven through `common::aiortc`; these
//! tests fail (never skip) when `scripts/test` has not installed it.

mod common;

use std::time::Duration;

use aws_lc_rs::digest::{Context, SHA256};
use common::aiortc::Aiortc;
use common::net::{next, next_data_channel, next_not_low, wait_gathered};
use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, DataChannelInit,
    DataChannelState, DtlsTransportState, ErrorDetail, Payload, PeerConnection,
    PeerConnectionEvent, PeerConnectionState, SctpTransportState, SdpType, SessionDescription,
};
use serde_json::{Value, json};

/// Every wait in these tests ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

/// Who creates the offer (and, here, the first data channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offerer {
    Rtcpeer,
    Aiortc,
}

/// A connected rtcpeer ↔ aiortc pair with one open channel ("chat" unless told otherwise).
struct Pair {
    pc: PeerConnection,
    py: Aiortc,
    dc: DataChannel,
    ev: DataChannelEvents,
    /// The aiortc script's handle of the same channel.
    ch: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    let mut c = Context::new(&SHA256);
    c.update(data);
    hex(c.finish().as_ref())
}

/// The next `datachannel` event of the rtcpeer connection.
async fn incoming(pc: &PeerConnection) -> DataChannel {
    next_data_channel(&mut pc.events()).await
}

/// The next connection-level event of the aiortc peer that is not a state change.
async fn py_pc_event(py: &mut Aiortc) -> Value {
    loop {
        let ev = py.must("next_event", json!({})).await;
        if ev["type"] != "connectionstatechange" {
            return ev;
        }
    }
}

/// The next event of the aiortc channel `ch`.
async fn py_event(py: &mut Aiortc, ch: u64) -> Value {
    py.must("next_event", json!({ "channel": ch })).await
}

/// Offer/answer without trickle between rtcpeer (`pc`) and aiortc (`py`, with a connection
/// already created), `offerer` first.
async fn negotiate(pc: &PeerConnection, py: &mut Aiortc, offerer: Offerer) {
    match offerer {
        Offerer::Rtcpeer => {
            let offer = pc.create_offer(None).await.expect("createOffer");
            pc.set_local_description(Some(offer)).await.expect("SLD");
            wait_gathered(pc).await;
            let offer = pc.local_description().expect("local offer");
            let answer = py.must("answer", json!({ "sdp": offer.sdp })).await;
            assert_eq!(answer["type"], "answer");
            let sdp = answer["sdp"].as_str().expect("answer sdp");
            pc.set_remote_description(SessionDescription::new(SdpType::Answer, sdp))
                .await
                .expect("SRD(answer from aiortc)");
        }
        Offerer::Aiortc => {
            let offer = py.must("offer", json!({})).await;
            let sdp = offer["sdp"].as_str().expect("offer sdp");
            pc.set_remote_description(SessionDescription::new(SdpType::Offer, sdp))
                .await
                .expect("SRD(offer from aiortc)");
            let answer = pc.create_answer(None).await.expect("createAnswer");
            pc.set_local_description(Some(answer)).await.expect("SLD");
            wait_gathered(pc).await;
            let answer = pc.local_description().expect("local answer");
            py.must("accept_answer", json!({ "sdp": answer.sdp })).await;
        }
    }
}

/// Connects a fresh rtcpeer connection and a fresh aiortc peer; the offerer creates the
/// in-band channel `label` with `init` (rtcpeer names: ordered, maxRetransmits, protocol),
/// the other side receives it (WPT-257: already open in the `datachannel` event).
async fn connect_with(offerer: Offerer, label: &str, init: DataChannelInit) -> Pair {
    let pc = PeerConnection::new(Configuration::default()).expect("pc");
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    let mut pc_events = pc.events();
    let (dc, ch) = match offerer {
        Offerer::Rtcpeer => {
            let dc = pc.create_data_channel(label, Some(init)).expect("dc");
            negotiate(&pc, &mut py, offerer).await;
            let ev = py_pc_event(&mut py).await;
            assert_eq!(ev["type"], "datachannel", "{ev}");
            assert_eq!(ev["label"], label, "{ev}");
            assert_eq!(ev["readyState"], "open", "WPT-257: {ev}");
            assert_eq!(
                ev["id"].as_u64(),
                dc.id().map(u64::from),
                "WPT-260 ids: {ev}"
            );
            (dc, ev["channel"].as_u64().expect("handle"))
        }
        Offerer::Aiortc => {
            let ch = py.must("create_dc", aiortc_args(label, &init)).await["channel"]
                .as_u64()
                .expect("handle");
            negotiate(&pc, &mut py, offerer).await;
            let dc = tokio::time::timeout(LIMIT, async {
                loop {
                    match pc_events.recv().await {
                        Some(PeerConnectionEvent::DataChannel(dc)) => return dc,
                        Some(_) => {}
                        None => panic!("connection closed"),
                    }
                }
            })
            .await
            .expect("datachannel event from aiortc's channel");
            assert_eq!(dc.label(), label);
            assert_eq!(dc.ready_state(), DataChannelState::Open, "WPT-257");
            let info = py.must("dc_info", json!({ "channel": ch })).await;
            assert_eq!(info["id"].as_u64(), dc.id().map(u64::from), "WPT-260 ids");
            (dc, ch)
        }
    };
    let mut ev = dc.events();
    assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
    if offerer == Offerer::Aiortc {
        assert_eq!(py_event(&mut py, ch).await, json!({"type": "open"}));
    }
    assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
    Pair { pc, py, dc, ev, ch }
}

async fn connect(offerer: Offerer) -> Pair {
    connect_with(offerer, "chat", DataChannelInit::default()).await
}

/// WPT-247/248 against aiortc: strings (ASCII, Unicode, empty) and binary (bytes, empty)
/// arrive with their types and in order, both ways; ids and DTLS state agree (WPT-333).
async fn messages_both_ways(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        mut ev,
        ch,
    } = connect(offerer).await;

    let sctp = pc.sctp().expect("sctp");
    assert_eq!(sctp.state(), SctpTransportState::Connected);
    assert_eq!(sctp.transport().state(), DtlsTransportState::Connected);
    assert_eq!(
        sctp.transport().get_remote_certificates().len(),
        1,
        "WPT-333"
    );
    assert!(sctp.max_message_size() >= 65536.0, "WPT-329");
    let state = py.must("state", json!({})).await;
    assert_eq!(state["connectionState"], "connected", "{state}");

    // rtcpeer → aiortc
    dc.send_text("hello").unwrap();
    dc.send(&[1, 2, 3]).unwrap();
    dc.send_text("世界你好").unwrap();
    dc.send_text("").unwrap();
    dc.send(&[]).unwrap();
    dc.send(&[0xff; 1000]).unwrap();
    let expected = [
        json!({"type": "message", "text": "hello"}),
        json!({"type": "message", "hex": "010203"}),
        json!({"type": "message", "text": "世界你好"}),
        json!({"type": "message", "text": ""}),
        json!({"type": "message", "hex": ""}),
        json!({"type": "message", "hex": hex(&[0xff; 1000])}),
    ];
    for want in expected {
        assert_eq!(py_event(&mut py, ch).await, want);
    }

    // aiortc → rtcpeer
    for msg in [
        json!({"text": "hello"}),
        json!({"hex": "000102"}),
        json!({"text": "世界你好"}),
        json!({"text": ""}),
        json!({"hex": ""}),
    ] {
        let mut args = msg.clone();
        args["channel"] = json!(ch);
        py.must("send", args).await;
    }
    let expected = [
        Payload::Text("hello".into()),
        Payload::Binary(vec![0, 1, 2]),
        Payload::Text("世界你好".into()),
        Payload::Text(String::new()),
        Payload::Binary(Vec::new()),
    ];
    for want in expected {
        assert_eq!(next_not_low(&mut ev).await, DataChannelEvent::Message(want));
    }

    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_247_248_messages_both_ways_rtcpeer_offers() {
    messages_both_ways(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_247_248_messages_both_ways_aiortc_offers() {
    messages_both_ways(Offerer::Aiortc).await;
}

/// Deterministic pseudo-random bytes (xorshift64*), so a transfer is not a repeated pattern.
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Size of each bulk transfer.
const BULK: usize = 4 * 1024 * 1024;
/// Message size of bulk transfers (below aiortc's and rtcpeer's max-message-size: every
/// message is fragmented and reassembled by SCTP).
const CHUNK: usize = 64 * 1024;
/// Message size of aiortc's bulk sends: 256 KiB, the max-message-size both sides advertise.
/// (aiortc hands a message to its SCTP only after the previous one was sent, on a SACK; the
/// last fragment of an odd-sized message then waits for rtcpeer's 200 ms delayed SACK, so
/// fewer, larger messages keep this transfer short.)
const PY_CHUNK: usize = 256 * 1024;
/// The sender stops queueing above this `bufferedAmount` and waits for `bufferedamountlow`.
const HIGH_WATER: u64 = 1024 * 1024;

/// Sends `data` as `CHUNK`-sized binary messages, waiting for `bufferedamountlow` whenever
/// more than `HIGH_WATER` bytes are queued; returns the largest `bufferedAmount` seen.
async fn send_with_back_pressure(dc: &DataChannel, ev: &mut DataChannelEvents, data: &[u8]) -> u64 {
    dc.set_buffered_amount_low_threshold(HIGH_WATER / 4);
    let mut max_seen = 0;
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        while dc.buffered_amount() > HIGH_WATER {
            match next(ev).await {
                DataChannelEvent::BufferedAmountLow => {}
                other => panic!("while waiting for bufferedamountlow: {other:?}"),
            }
        }
        dc.send(chunk)
            .unwrap_or_else(|e| panic!("send of message {i}: {e}"));
        max_seen = max_seen.max(dc.buffered_amount());
    }
    max_seen
}

/// 4 MiB rtcpeer → aiortc, then 4 MiB aiortc → rtcpeer, both with back-pressure on the
/// sender; the receiver's SHA-256 equals the sender's.
async fn bulk_each_way(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        mut ev,
        ch,
    } = connect(offerer).await;

    // rtcpeer → aiortc
    py.must("digest", json!({ "channel": ch })).await;
    let data = pseudo_random(BULK, 0x5eed);
    let want = sha256_hex(&data);
    let sender = tokio::spawn(async move {
        let max = send_with_back_pressure(&dc, &mut ev, &data).await;
        (dc, ev, max)
    });
    let got = py
        .call_with_timeout(
            "wait_digest",
            json!({ "channel": ch, "bytes": BULK }),
            Duration::from_secs(120),
        )
        .await
        .expect("aiortc receives the transfer");
    let (dc, mut ev, max_buffered) = sender.await.expect("sender task");
    assert_eq!(got["bytes"].as_u64(), Some(BULK as u64), "{got}");
    assert_eq!(got["count"].as_u64(), Some((BULK / CHUNK) as u64), "{got}");
    assert_eq!(got["sha256"].as_str(), Some(want.as_str()), "{got}");
    assert!(
        max_buffered <= HIGH_WATER + CHUNK as u64,
        "bufferedAmount stayed bounded: {max_buffered}"
    );

    // aiortc → rtcpeer: receive concurrently (rtcpeer's channel queue is bounded, so an
    // unread channel holds the sender back).
    let receiver = tokio::spawn(async move {
        let mut digest = Context::new(&SHA256);
        let (mut bytes, mut count) = (0, 0);
        while bytes < BULK {
            match next_not_low(&mut ev).await {
                DataChannelEvent::Message(Payload::Binary(m)) => {
                    assert_eq!(m.len(), PY_CHUNK, "message {count} keeps its size");
                    digest.update(&m);
                    bytes += m.len();
                    count += 1;
                }
                other => panic!("unexpected {other:?} after {bytes} bytes"),
            }
        }
        (hex(digest.finish().as_ref()), count, ev)
    });
    let sent = py
        .call_with_timeout(
            "send_bulk",
            json!({ "channel": ch, "total": BULK, "chunk": PY_CHUNK, "high": HIGH_WATER }),
            Duration::from_secs(120),
        )
        .await
        .expect("aiortc sends the transfer");
    let (got, count, _ev) = tokio::time::timeout(Duration::from_secs(120), receiver)
        .await
        .expect("rtcpeer receives the transfer in time")
        .expect("receiver task");
    assert_eq!(sent["bytes"].as_u64(), Some(BULK as u64), "{sent}");
    assert_eq!(count, BULK / PY_CHUNK);
    assert_eq!(sent["sha256"].as_str(), Some(got.as_str()), "{sent}");
    assert!(
        sent["max_buffered"].as_u64().expect("max_buffered") <= HIGH_WATER + PY_CHUNK as u64,
        "aiortc's bufferedAmount stayed bounded: {sent}"
    );

    drop(dc);
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn bulk_4_mib_each_way_with_back_pressure_rtcpeer_offers() {
    bulk_each_way(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn bulk_4_mib_each_way_with_back_pressure_aiortc_offers() {
    bulk_each_way(Offerer::Aiortc).await;
}

/// WPT-254 and WPT-256 against aiortc. A second channel "b" is opened from the offerer's
/// side. rtcpeer closes "chat" right after queueing 1 MiB: aiortc receives all of it before
/// `close`, and rtcpeer (the closing side) fires `close` but no `closing`. aiortc closes
/// "b": rtcpeer fires `closing` then `close`.
async fn close_from_either_side(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        mut ev,
        ch,
    } = connect(offerer).await;

    // A second channel, opened by the same side.
    let (b, bch) = match offerer {
        Offerer::Rtcpeer => {
            let b = pc.create_data_channel("b", None).expect("dc b");
            let ev = py_pc_event(&mut py).await;
            assert_eq!(ev["label"], "b", "{ev}");
            (b, ev["channel"].as_u64().expect("handle"))
        }
        Offerer::Aiortc => {
            let bch = py.must("create_dc", json!({ "label": "b" })).await["channel"]
                .as_u64()
                .expect("handle");
            let b = incoming(&pc).await;
            assert_eq!(b.label(), "b");
            assert_eq!(py_event(&mut py, bch).await, json!({"type": "open"}));
            (b, bch)
        }
    };
    let mut b_ev = b.events();
    assert_eq!(next(&mut b_ev).await, DataChannelEvent::Open);
    assert_ne!(b.id(), dc.id());

    // rtcpeer closes "chat" with 1 MiB still queued (WPT-256).
    py.must("digest", json!({ "channel": ch })).await;
    const QUEUED: usize = 1024 * 1024;
    let data = pseudo_random(QUEUED, 7);
    for chunk in data.chunks(CHUNK) {
        dc.send(chunk).expect("send below the send-buffer limit");
    }
    dc.close();
    assert_eq!(dc.ready_state(), DataChannelState::Closing);
    let got = py
        .call_with_timeout(
            "wait_digest",
            json!({ "channel": ch, "bytes": QUEUED }),
            Duration::from_secs(60),
        )
        .await
        .expect("aiortc receives the queued data");
    assert_eq!(
        got["bytes"].as_u64(),
        Some(QUEUED as u64),
        "all queued data before close: {got}"
    );
    assert_eq!(
        got["sha256"].as_str(),
        Some(sha256_hex(&data).as_str()),
        "{got}"
    );
    assert_eq!(py_event(&mut py, ch).await, json!({"type": "close"}));
    assert_eq!(
        next_not_low(&mut ev).await,
        DataChannelEvent::Close,
        "no closing on the closing side"
    );
    assert_eq!(dc.ready_state(), DataChannelState::Closed);
    assert!(ev.recv().await.is_none(), "the stream ends after close");

    // aiortc closes "b": rtcpeer sees closing, then close (WPT-254).
    py.must("close_dc", json!({ "channel": bch })).await;
    assert_eq!(next_not_low(&mut b_ev).await, DataChannelEvent::Closing);
    assert_eq!(next_not_low(&mut b_ev).await, DataChannelEvent::Close);
    assert_eq!(b.ready_state(), DataChannelState::Closed);
    assert_eq!(py_event(&mut py, bch).await, json!({"type": "close"}));

    // The connection stays up.
    assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
    let state = py.must("state", json!({})).await;
    assert_eq!(state["connectionState"], "connected", "{state}");
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_254_256_close_from_either_side_rtcpeer_offers() {
    close_from_either_side(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_254_256_close_from_either_side_aiortc_offers() {
    close_from_either_side(Offerer::Aiortc).await;
}

/// WPT-212 against aiortc: aiortc's `pc.close()` (an SCTP ABORT, then a DTLS close_notify)
/// makes rtcpeer's channel fire `error` (sctp-failure) then `close`, and rtcpeer's SCTP and
/// DTLS transports close. (rtcpeer's `connectionState` stays "connected" meanwhile, as the
/// W3C aggregation says for ICE connected + DTLS closed, until ICE consent expires.)
async fn aiortc_closes_connection(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        mut ev,
        ch: _,
    } = connect(offerer).await;
    let mut pc_ev = pc.events();
    py.must("close_pc", json!({})).await;
    match next_not_low(&mut ev).await {
        DataChannelEvent::Error(e) => assert!(
            matches!(e.detail(), Some(ErrorDetail::SctpFailure { .. })),
            "sctp-failure: {e:?}"
        ),
        other => panic!("expected error then close, got {other:?}"),
    }
    assert_eq!(next_not_low(&mut ev).await, DataChannelEvent::Close);
    assert_eq!(dc.ready_state(), DataChannelState::Closed);
    let sctp = pc.sctp().expect("sctp");
    assert_eq!(sctp.state(), SctpTransportState::Closed);
    // aiortc's close_notify follows its ABORT (WPT-211: the remote DTLS transport closes).
    tokio::time::timeout(LIMIT, async {
        while sctp.transport().state() != DtlsTransportState::Closed {
            pc_ev.recv().await.expect("connection open");
        }
    })
    .await
    .expect("DTLS transport closed after aiortc's close_notify");
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_212_aiortc_closes_connection_rtcpeer_offers() {
    aiortc_closes_connection(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_212_aiortc_closes_connection_aiortc_offers() {
    aiortc_closes_connection(Offerer::Aiortc).await;
}

/// WPT-208/212 the other way: rtcpeer's `pc.close()` closes aiortc's channel and, once
/// the DTLS close_notify arrived, aiortc's connection; rtcpeer's own SCTP is "closed" at once.
async fn rtcpeer_closes_connection(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        ev: _ev,
        ch,
    } = connect(offerer).await;
    pc.close();
    assert_eq!(pc.sctp().expect("sctp").state(), SctpTransportState::Closed);
    assert_eq!(dc.ready_state(), DataChannelState::Closed);
    assert_eq!(py_event(&mut py, ch).await, json!({"type": "close"}));
    let info = py.must("dc_info", json!({ "channel": ch })).await;
    assert_eq!(info["readyState"], "closed", "{info}");
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_212_rtcpeer_closes_connection_rtcpeer_offers() {
    rtcpeer_closes_connection(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_212_rtcpeer_closes_connection_aiortc_offers() {
    rtcpeer_closes_connection(Offerer::Aiortc).await;
}

/// Channel options that DCEP carries (WPT-260), as (label, options): unordered with
/// maxRetransmits 0, maxPacketLifeTime 65535, maxRetransmits 65535, an empty label with a
/// protocol.
fn dcep_cases() -> Vec<(String, DataChannelInit)> {
    vec![
        (
            "unordered-rexmit-0".into(),
            DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            },
        ),
        (
            "lifetime-65535".into(),
            DataChannelInit {
                max_packet_life_time: Some(65535),
                ..Default::default()
            },
        ),
        (
            "rexmit-65535".into(),
            DataChannelInit {
                max_retransmits: Some(65535),
                ..Default::default()
            },
        ),
        (
            String::new(),
            DataChannelInit {
                protocol: "chat.v2".into(),
                ..Default::default()
            },
        ),
    ]
}

fn aiortc_args(label: &str, init: &DataChannelInit) -> Value {
    let mut args = json!({ "label": label, "ordered": init.ordered, "protocol": init.protocol });
    if let Some(r) = init.max_retransmits {
        args["maxRetransmits"] = json!(r);
    }
    if let Some(t) = init.max_packet_life_time {
        args["maxPacketLifeTime"] = json!(t);
    }
    args
}

/// WPT-260 against aiortc: label, protocol, ordered, maxRetransmits, maxPacketLifeTime and
/// the id reach the other side through DCEP, in both directions; each channel carries a
/// message both ways (loopback loses nothing, so even maxRetransmits 0 delivers).
async fn dcep_parameters(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc: _dc,
        ..
    } = connect(offerer).await;
    for (label, init) in dcep_cases() {
        let (dc, ch) = match offerer {
            Offerer::Rtcpeer => {
                let dc = pc
                    .create_data_channel(&label, Some(init.clone()))
                    .expect("dc");
                let ev = py_pc_event(&mut py).await;
                (dc, ev["channel"].as_u64().expect("handle"))
            }
            Offerer::Aiortc => {
                let ch = py.must("create_dc", aiortc_args(&label, &init)).await["channel"]
                    .as_u64()
                    .expect("handle");
                let dc = incoming(&pc).await;
                assert_eq!(py_event(&mut py, ch).await, json!({"type": "open"}));
                (dc, ch)
            }
        };
        let info = py.must("dc_info", json!({ "channel": ch })).await;
        assert_eq!(dc.label(), label);
        assert_eq!(info["label"], label.as_str(), "{info}");
        assert_eq!(dc.protocol(), init.protocol);
        assert_eq!(info["protocol"], init.protocol.as_str(), "{info}");
        assert_eq!(dc.ordered(), init.ordered);
        assert_eq!(info["ordered"], init.ordered, "{info}");
        assert_eq!(dc.max_retransmits(), init.max_retransmits);
        assert_eq!(
            info["maxRetransmits"].as_u64(),
            init.max_retransmits.map(u64::from),
            "{info}"
        );
        assert_eq!(dc.max_packet_life_time(), init.max_packet_life_time);
        assert_eq!(
            info["maxPacketLifeTime"].as_u64(),
            init.max_packet_life_time.map(u64::from),
            "{info}"
        );
        assert_eq!(info["id"].as_u64(), dc.id().map(u64::from), "{info}");
        assert_eq!(info["readyState"], "open", "{info}");

        let mut ev = dc.events();
        assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
        dc.send_text("to aiortc").unwrap();
        assert_eq!(
            py_event(&mut py, ch).await,
            json!({"type": "message", "text": "to aiortc"})
        );
        py.must("send", json!({ "channel": ch, "hex": "2a" })).await;
        assert_eq!(
            next_not_low(&mut ev).await,
            DataChannelEvent::Message(Payload::Binary(vec![42]))
        );
    }
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_260_dcep_parameters_cross_over_rtcpeer_offers() {
    dcep_parameters(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_260_dcep_parameters_cross_over_aiortc_offers() {
    dcep_parameters(Offerer::Aiortc).await;
}

/// A `negotiated: true` channel with an app-chosen id (WPT-230/237) opens on both sides
/// without DCEP and carries messages both ways.
async fn negotiated_channel(offerer: Offerer) {
    let pc = PeerConnection::new(Configuration::default()).expect("pc");
    let mut py = Aiortc::launch_or_panic().await;
    py.must("create_pc", json!({})).await;
    let init = DataChannelInit {
        negotiated: true,
        id: Some(5),
        ..Default::default()
    };
    let dc = pc.create_data_channel("neg", Some(init)).expect("dc");
    let ch = py
        .must(
            "create_dc",
            json!({ "label": "neg", "negotiated": true, "id": 5 }),
        )
        .await["channel"]
        .as_u64()
        .expect("handle");
    let mut ev = dc.events();
    negotiate(&pc, &mut py, offerer).await;
    assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
    assert_eq!(py_event(&mut py, ch).await, json!({"type": "open"}));
    assert_eq!(dc.id(), Some(5));
    dc.send_text("n1").unwrap();
    assert_eq!(
        py_event(&mut py, ch).await,
        json!({"type": "message", "text": "n1"})
    );
    py.must("send", json!({ "channel": ch, "text": "n2" }))
        .await;
    assert_eq!(
        next_not_low(&mut ev).await,
        DataChannelEvent::Message(Payload::Text("n2".into()))
    );
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_237_negotiated_channel_rtcpeer_offers() {
    negotiated_channel(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_237_negotiated_channel_aiortc_offers() {
    negotiated_channel(Offerer::Aiortc).await;
}

/// Both sides advertise `a=max-message-size:262144`; WPT-329: rtcpeer's `maxMessageSize`
/// is that value and aiortc applies the same limit to its sends. A message of exactly that
/// size crosses both ways intact; one byte more is a `TypeError` in rtcpeer's `send`.
async fn max_message_size(offerer: Offerer) {
    let Pair {
        pc,
        mut py,
        dc,
        mut ev,
        ch,
    } = connect(offerer).await;
    let max = pc.sctp().expect("sctp").max_message_size();
    assert_eq!(max, 262_144.0);
    let state = py.must("state", json!({})).await;
    assert_eq!(state["remoteMaxMessageSize"].as_f64(), Some(max), "{state}");

    let err = dc
        .send(&vec![0u8; max as usize + 1])
        .expect_err("above maxMessageSize");
    assert_eq!(err.kind(), rtcpeer::ErrorKind::Type, "{err}");

    py.must("digest", json!({ "channel": ch })).await;
    let big = pseudo_random(max as usize, 99);
    dc.send(&big).expect("a message of exactly maxMessageSize");
    let got = py
        .must("wait_digest", json!({ "channel": ch, "bytes": big.len() }))
        .await;
    assert_eq!(got["count"], 1, "{got}");
    assert_eq!(
        got["sha256"].as_str(),
        Some(sha256_hex(&big).as_str()),
        "{got}"
    );

    let sent = py
        .must(
            "send_bulk",
            json!({ "channel": ch, "total": max as u64, "chunk": max as u64, "high": 0 }),
        )
        .await;
    match next_not_low(&mut ev).await {
        DataChannelEvent::Message(Payload::Binary(m)) => {
            assert_eq!(m.len(), max as usize);
            assert_eq!(sent["sha256"].as_str(), Some(sha256_hex(&m).as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    pc.close();
    py.close().await.expect("aiortc exits cleanly");
}

#[tokio::test]
async fn wpt_329_max_message_size_both_ways_rtcpeer_offers() {
    max_message_size(Offerer::Rtcpeer).await;
}

#[tokio::test]
async fn wpt_329_max_message_size_both_ways_aiortc_offers() {
    max_message_size(Offerer::Aiortc).await;
}
