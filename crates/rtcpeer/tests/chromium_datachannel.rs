//! Data channels between rtcpeer and headless Chromium (issue 4 item 4), in both offer
//! directions: ICE, DTLS, SCTP and DCEP against Chromium's stack (usrsctp / dcSCTP).
//!
//! One Chromium (one page) serves every test of this file: launching it is most of the cost
//! of a test, so it is started once, on a runtime shared by the tests, and the tests take
//! turns on it (a mutex). Each test starts by closing whatever the previous one left in the
//! page. Page-side helpers live in `window.H` (see [`PAGE_HELPERS`]); channel events are
//! collected into arrays on the channel objects that the Rust side reads or polls.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_datachannel'`.

mod common;

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use rtcpeer::datachannel::Payload;
use rtcpeer::dtls::DtlsTransportState;
use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, DataChannelInit,
    DataChannelState, ErrorDetail, ErrorKind, EventStream, IceGatheringState, PeerConnection,
    PeerConnectionEvent, PeerConnectionState, SctpTransportState, SessionDescription,
};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard, OnceCell};

/// Every wait in these tests ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(20);
/// Upper bound for one whole test (the bulk transfers included).
const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Helpers installed in the page once per launch. `H.watch(dc)` records a channel's events
/// (`dc.log`, with the readyState at the time) and messages (`dc.msgs`); `H.sink(dc)` and
/// `H.pump(dc, ..)` receive / send bulk data with a running FNV-1a checksum.
const PAGE_HELPERS: &str = r#"
window.H = {
  pcs: [],
  reset() {
    for (const pc of H.pcs) { try { pc.close(); } catch (e) {} }
    H.pcs = [];
    window.pc = null;
    window.dcs = {};
  },
  newPc() {
    const pc = new RTCPeerConnection({iceServers: []});
    H.pcs.push(pc);
    pc.states = [];
    pc.onconnectionstatechange = () => pc.states.push(pc.connectionState);
    pc.remoteDcs = [];
    pc.ondatachannel = e => {
      H.watch(e.channel);
      e.channel.stateAtAnnounce = e.channel.readyState;
      pc.remoteDcs.push(e.channel);
    };
    return pc;
  },
  watch(dc) {
    dc.binaryType = 'arraybuffer';
    dc.log = [];
    dc.msgs = [];
    for (const t of ['open', 'closing', 'close', 'error']) {
      dc.addEventListener(t, e => {
        const rec = {type: t, state: dc.readyState};
        if (t === 'error') {
          rec.name = e.error && e.error.name;
          rec.detail = e.error && e.error.errorDetail;
          rec.cause = e.error && e.error.sctpCauseCode;
        }
        dc.log.push(rec);
      });
    }
    dc.onmessage = e => dc.msgs.push(typeof e.data === 'string'
      ? {text: e.data}
      : {bin: Array.from(new Uint8Array(e.data))});
    return dc;
  },
  props(dc) {
    return {label: dc.label, ordered: dc.ordered, maxRetransmits: dc.maxRetransmits,
            maxPacketLifeTime: dc.maxPacketLifeTime, protocol: dc.protocol,
            negotiated: dc.negotiated, id: dc.id, readyState: dc.readyState};
  },
  gathered(pc) {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  fnv(h, bytes) {
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619) >>> 0;
    return h;
  },
  sink(dc) {
    dc.rx = {bytes: 0, msgs: 0, sum: 2166136261};
    dc.onmessage = e => {
      const b = new Uint8Array(e.data);
      dc.rx.bytes += b.length;
      dc.rx.msgs += 1;
      dc.rx.sum = H.fnv(dc.rx.sum, b);
    };
  },
  // Sends `total` random bytes in messages of `size`, keeping at most `high` bytes queued:
  // above it, waits for `bufferedamountlow` (threshold `low`).
  async pump(dc, total, size, high, low) {
    dc.bufferedAmountLowThreshold = low;
    let sent = 0, msgs = 0, sum = 2166136261, waits = 0, peak = 0;
    while (sent < total) {
      if (dc.bufferedAmount > high) {
        waits += 1;
        await new Promise(r => dc.addEventListener('bufferedamountlow', r, {once: true}));
        continue;
      }
      const b = new Uint8Array(Math.min(size, total - sent));
      for (let o = 0; o < b.length; o += 65536) crypto.getRandomValues(b.subarray(o, o + 65536));
      dc.send(b);
      sum = H.fnv(sum, b);
      sent += b.length;
      msgs += 1;
      peak = Math.max(peak, dc.bufferedAmount);
    }
    return {bytes: sent, msgs, sum, waits, peak};
  },
};
H.reset();
return true;
"#;

/// The runtime every test of this file runs on (the shared Chromium's pipes live on it).
static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
});

static CHROME: OnceCell<Mutex<Chromium>> = OnceCell::const_new();

/// Runs one test body with exclusive use of the shared Chromium page (reset first).
fn run<F, Fut>(body: F)
where
    F: FnOnce(MutexGuard<'static, Chromium>) -> Fut,
    Fut: Future<Output = ()>,
{
    RT.block_on(async {
        let cell = CHROME
            .get_or_init(|| async {
                let mut chrome = Chromium::launch_or_panic().await;
                assert!(
                    !chrome.has_own_netns(),
                    "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. \
                     Run `scripts/test` (or the test inside `unshare --net`)."
                );
                chrome
                    .eval(PAGE_HELPERS)
                    .await
                    .expect("page helpers install");
                Mutex::new(chrome)
            })
            .await;
        let mut chrome = cell.lock().await;
        chrome.eval("H.reset(); return null").await.expect("reset");
        tokio::time::timeout(TEST_LIMIT, body(chrome))
            .await
            .expect("the test finishes in time");
    });
}

// ----- rtcpeer-side helpers -----

/// FNV-1a (32 bit), the same running checksum as `H.fnv` in the page.
fn fnv(mut h: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    h
}
const FNV_START: u32 = 2_166_136_261;

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

/// A test's rtcpeer connection with an event subscription made at creation.
struct Peer {
    pc: PeerConnection,
    ev: EventStream,
}

impl Peer {
    fn new() -> Peer {
        let pc = PeerConnection::new(Configuration::default()).expect("pc");
        let ev = pc.events();
        Peer { pc, ev }
    }

    /// Waits for the next `datachannel` event.
    async fn incoming(&mut self) -> DataChannel {
        tokio::time::timeout(LIMIT, async {
            loop {
                match self.ev.recv().await {
                    Some(PeerConnectionEvent::DataChannel(dc)) => return dc,
                    Some(_) => {}
                    None => panic!("connection closed"),
                }
            }
        })
        .await
        .expect("a datachannel event in time")
    }

    async fn wait_gathered(&self) {
        let mut ev = self.pc.events();
        tokio::time::timeout(LIMIT, async {
            while self.pc.ice_gathering_state() != IceGatheringState::Complete {
                ev.recv().await;
            }
        })
        .await
        .expect("gathering completes");
    }

    async fn wait_connection_state(&self, want: PeerConnectionState) {
        let mut ev = self.pc.events();
        tokio::time::timeout(LIMIT, async {
            while self.pc.connection_state() != want {
                ev.recv().await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "connectionState {:?}, waited for {want:?}",
                self.pc.connection_state()
            )
        });
    }
}

/// Which side makes the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offerer {
    Rtcpeer,
    Chromium,
}

/// Connects a fresh rtcpeer connection with a fresh page connection (`window.pc`). Before the
/// offer, `rust_setup` runs on the rtcpeer side and `js_setup` in the page (the offerer must
/// create at least one channel). Descriptions carry all candidates (no trickle).
async fn connect(
    chrome: &mut Chromium,
    offerer: Offerer,
    rust_setup: impl FnOnce(&PeerConnection),
    js_setup: &str,
) -> Peer {
    let peer = Peer::new();
    rust_setup(&peer.pc);
    chrome
        .eval(&format!("window.pc = H.newPc(); {js_setup}; return null"))
        .await
        .expect("page setup");
    match offerer {
        Offerer::Rtcpeer => {
            peer.pc
                .set_local_description(None)
                .await
                .expect("SLD(offer)");
            peer.wait_gathered().await;
            let offer = peer.pc.local_description().unwrap();
            let answer = chrome
                .eval(&format!(
                    "await pc.setRemoteDescription({});
                     await pc.setLocalDescription();
                     await H.gathered(pc);
                     return pc.localDescription;",
                    js_literal(&offer)
                ))
                .await
                .unwrap_or_else(|e| panic!("Chromium answers: {e}\noffer:\n{}", offer.sdp));
            peer.pc
                .set_remote_description(desc(&answer))
                .await
                .unwrap_or_else(|e| panic!("SRD(answer): {e}\n{}", answer["sdp"]));
        }
        Offerer::Chromium => {
            let offer = chrome
                .eval(
                    "await pc.setLocalDescription();
                     await H.gathered(pc);
                     return pc.localDescription;",
                )
                .await
                .expect("Chromium offers");
            peer.pc
                .set_remote_description(desc(&offer))
                .await
                .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{}", offer["sdp"]));
            peer.pc
                .set_local_description(None)
                .await
                .expect("SLD(answer)");
            peer.wait_gathered().await;
            let answer = peer.pc.local_description().unwrap();
            chrome
                .eval(&format!(
                    "await pc.setRemoteDescription({}); return null",
                    js_literal(&answer)
                ))
                .await
                .unwrap_or_else(|e| panic!("Chromium accepts the answer: {e}\n{}", answer.sdp));
        }
    }
    peer
}

async fn next(ev: &mut DataChannelEvents) -> DataChannelEvent {
    tokio::time::timeout(LIMIT, ev.recv())
        .await
        .expect("a data channel event in time")
        .expect("the channel's event stream is open")
}

/// The next event other than `bufferedamountlow` (which fires after every send burst with
/// the default threshold 0, WPT-252).
async fn next_not_low(ev: &mut DataChannelEvents) -> DataChannelEvent {
    loop {
        let e = next(ev).await;
        if e != DataChannelEvent::BufferedAmountLow {
            return e;
        }
    }
}

async fn next_message(ev: &mut DataChannelEvents) -> Payload {
    match next_not_low(ev).await {
        DataChannelEvent::Message(p) => p,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Waits (polling the page) until `js` returns something other than null/false.
async fn page_until(chrome: &mut Chromium, js: &str) -> Value {
    match chrome.wait_until(js, LIMIT).await {
        Ok(v) => v,
        Err(e) => {
            let dump = chrome
                .eval(
                    "return {pc: pc && [pc.connectionState, pc.states],
                             dcs: Object.fromEntries(Object.entries(window.dcs)
                               .map(([k, d]) => [k, [d.readyState, d.log, d.msgs.length]])),
                             remote: pc ? pc.remoteDcs.map(d => [d.label, d.readyState, d.log]) : null}",
                )
                .await;
            panic!("{e}\npage state: {dump:?}")
        }
    }
}

/// The messages tests exchange: ASCII, Unicode, empty string, binary, empty binary.
fn sample_messages() -> Vec<Payload> {
    vec![
        Payload::Text("hello".into()),
        Payload::Text("世界你好".into()),
        Payload::Text(String::new()),
        Payload::Binary(vec![0, 1, 2, 255, 128]),
        Payload::Binary(Vec::new()),
        Payload::Text("ünïcödé 🦀 \u{0}x".into()),
        Payload::Binary((0..=255).collect()),
    ]
}

fn payload_json(p: &Payload) -> Value {
    match p {
        Payload::Text(s) => json!({ "text": s }),
        Payload::Binary(b) => json!({ "bin": b }),
    }
}

/// JS that sends the sample messages on `dc` in order.
fn js_send_samples(dc: &str) -> String {
    let mut js = String::new();
    for p in sample_messages() {
        match p {
            Payload::Text(s) => js.push_str(&format!("{dc}.send({});\n", js_literal(&s))),
            Payload::Binary(b) => {
                js.push_str(&format!("{dc}.send(new Uint8Array({}));\n", js_literal(&b)))
            }
        }
    }
    js
}

// ----- messages both ways, transports, ids (WPT-247/248/257, 187, 329, 333) -----

async fn messages_both_ways(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    // The offerer creates the first channel; the other side creates one once connected.
    let (rust_first, js_first) = match offerer {
        Offerer::Rtcpeer => (true, ""),
        Offerer::Chromium => (
            false,
            "dcs.a = H.watch(pc.createDataChannel('from-chromium'))",
        ),
    };
    let mut rust_dc = None;
    let mut peer = connect(
        &mut chrome,
        offerer,
        |pc| {
            if rust_first {
                rust_dc = Some(pc.create_data_channel("from-rtcpeer", None).unwrap());
            }
        },
        js_first,
    )
    .await;

    // Connected on both sides once DTLS is up (WPT-187), remote certificates (WPT-333).
    peer.wait_connection_state(PeerConnectionState::Connected)
        .await;
    page_until(&mut chrome, "return pc.connectionState === 'connected'").await;
    let sctp = peer.pc.sctp().expect("pc.sctp");
    let dtls = sctp.transport();
    assert_eq!(dtls.state(), DtlsTransportState::Connected);
    assert_eq!(dtls.get_remote_certificates().len(), 1);
    assert!(!dtls.get_remote_certificates()[0].is_empty());
    let page = chrome
        .eval(
            "return {certs: pc.sctp.transport.getRemoteCertificates().map(c => c.byteLength),
                     dtls: pc.sctp.transport.state, max: pc.sctp.maxMessageSize,
                     role: pc.currentLocalDescription.sdp.match(/a=setup:(\\w+)/)[1]}",
        )
        .await
        .unwrap();
    assert_eq!(page["dtls"], "connected");
    assert!(page["certs"][0].as_u64().unwrap() > 0, "{page}");
    // WPT-329: maxMessageSize > 0 and the same on both ends.
    assert!(sctp.max_message_size() > 0.0);
    assert_eq!(page["max"].as_f64().unwrap(), sctp.max_message_size());

    // The other side's channel, now that the connection is up.
    let (rust_dc, js_remote_of_rust) = if rust_first {
        let dc = rust_dc.take().unwrap();
        (dc, "pc.remoteDcs[0]")
    } else {
        let dc = peer.incoming().await;
        (dc, "dcs.a")
    };
    let mut rev = rust_dc.events();
    if rust_first {
        assert_eq!(next(&mut rev).await, DataChannelEvent::Open);
        page_until(&mut chrome, "return pc.remoteDcs.length === 1").await;
        // WPT-257: readyState is already "open" in the datachannel handler.
        let announced = chrome
            .eval("return pc.remoteDcs[0].stateAtAnnounce")
            .await
            .unwrap();
        assert_eq!(announced, "open");
    } else {
        assert_eq!(rust_dc.ready_state(), DataChannelState::Open);
        assert_eq!(next(&mut rev).await, DataChannelEvent::Open);
        page_until(&mut chrome, "return dcs.a.readyState === 'open'").await;
    }
    // Ids: equal on both ends, parity from the DTLS role (RFC 8832 §6: client even).
    let page = chrome
        .eval(&format!(
            "return {{id: {js_remote_of_rust}.id, label: {js_remote_of_rust}.label,
                      setup: pc.currentLocalDescription.sdp.match(/a=setup:(\\w+)/)[1]}}"
        ))
        .await
        .unwrap();
    let id = rust_dc.id().expect("an id once open");
    assert_eq!(page["id"].as_u64(), Some(u64::from(id)));
    assert_eq!(page["label"].as_str().unwrap(), rust_dc.label());
    let chromium_is_client = page["setup"] == "active";
    let creator_is_client = chromium_is_client != rust_first;
    assert_eq!(id % 2 == 0, creator_is_client, "id {id}, page {page}");

    // rtcpeer → Chromium: each payload with its type (WPT-247/248).
    for p in sample_messages() {
        match &p {
            Payload::Text(s) => rust_dc.send_text(s).unwrap(),
            Payload::Binary(b) => rust_dc.send(b).unwrap(),
        }
    }
    let want: Vec<Value> = sample_messages().iter().map(payload_json).collect();
    let got = page_until(
        &mut chrome,
        &format!(
            "const d = {js_remote_of_rust}; return d.msgs.length >= {} && d.msgs",
            want.len()
        ),
    )
    .await;
    assert_eq!(got, Value::Array(want));

    // Chromium → rtcpeer.
    chrome
        .eval(&format!(
            "{}; return null",
            js_send_samples(js_remote_of_rust)
        ))
        .await
        .unwrap();
    for want in sample_messages() {
        assert_eq!(next_message(&mut rev).await, want);
    }

    // A second channel from the answering side, opened over the live association: ids of
    // the two creators differ in parity.
    let second = if rust_first {
        chrome
            .eval("dcs.b = H.watch(pc.createDataChannel('second')); return null")
            .await
            .unwrap();
        let dc = peer.incoming().await;
        page_until(&mut chrome, "return dcs.b.readyState === 'open'").await;
        dc
    } else {
        let dc = peer.pc.create_data_channel("second", None).unwrap();
        let mut ev = dc.events();
        assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
        page_until(&mut chrome, "return pc.remoteDcs.length === 1").await;
        dc
    };
    let id2 = second.id().unwrap();
    assert_ne!(
        id % 2,
        id2 % 2,
        "channels of the two sides: ids {id} and {id2}"
    );
    second.send_text("on the second channel").unwrap();
    let js_second = if rust_first {
        "dcs.b"
    } else {
        "pc.remoteDcs[0]"
    };
    let got = page_until(
        &mut chrome,
        &format!("return {js_second}.msgs.length > 0 && [{js_second}.id, {js_second}.msgs]"),
    )
    .await;
    assert_eq!(got, json!([id2, [{ "text": "on the second channel" }]]));

    // No channel saw an error.
    let errors = chrome
        .eval(
            "return [...Object.values(dcs), ...pc.remoteDcs]
                .flatMap(d => d.log.filter(e => e.type === 'error'))",
        )
        .await
        .unwrap();
    assert_eq!(errors, json!([]));
    peer.pc.close();
}

#[test]
fn wpt_247_messages_both_ways_rtcpeer_offers() {
    run(|c| messages_both_ways(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_247_messages_both_ways_chromium_offers() {
    run(|c| messages_both_ways(c, Offerer::Chromium));
}

// ----- bulk transfer with back-pressure, both directions -----

/// Bytes moved each way by the bulk tests: 16 MiB in 64 KiB messages.
const BULK_TOTAL: usize = 16 << 20;
const BULK_MESSAGE: usize = 64 << 10;

/// A deterministic byte stream for rtcpeer's bulk sends (xorshift64).
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Connects with one channel "bulk" created by the offerer; returns the rtcpeer end, its
/// events, and the page expression for Chromium's end.
async fn one_channel(
    chrome: &mut Chromium,
    offerer: Offerer,
    label: &str,
    init: Option<DataChannelInit>,
    js_init: &str,
) -> (Peer, DataChannel, DataChannelEvents, &'static str) {
    let mut dc = None;
    let js = match offerer {
        Offerer::Rtcpeer => String::new(),
        Offerer::Chromium => format!(
            "dcs.a = H.watch(pc.createDataChannel({}, {js_init}))",
            js_literal(label)
        ),
    };
    let mut peer = connect(
        chrome,
        offerer,
        |pc| {
            if offerer == Offerer::Rtcpeer {
                dc = Some(pc.create_data_channel(label, init).unwrap());
            }
        },
        &js,
    )
    .await;
    let (dc, js_end) = match dc {
        Some(dc) => (dc, "pc.remoteDcs[0]"),
        None => (peer.incoming().await, "dcs.a"),
    };
    let mut ev = dc.events();
    assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
    page_until(
        chrome,
        &format!("return pc.remoteDcs.length + Object.keys(dcs).length > 0 && {js_end}.readyState === 'open'"),
    )
    .await;
    (peer, dc, ev, js_end)
}

async fn bulk_both_ways(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (peer, dc, mut ev, js_dc) = one_channel(&mut chrome, offerer, "bulk", None, "{}").await;

    // rtcpeer → Chromium: keep at most 1 MiB queued (the send buffer holds ~2 MB), resume at
    // `bufferedamountlow` (threshold 256 KiB).
    chrome
        .eval(&format!("H.sink({js_dc}); return null"))
        .await
        .unwrap();
    dc.set_buffered_amount_low_threshold(256 << 10);
    let mut bytes = Bytes(0x9e37_79b9_7f4a_7c15);
    let (mut sent, mut sum, mut waits) = (0usize, FNV_START, 0u32);
    while sent < BULK_TOTAL {
        if dc.buffered_amount() > 1 << 20 {
            // An event queued before this wait may be stale: wait until the amount is
            // really down (a later fall to the threshold fires again).
            waits += 1;
            while dc.buffered_amount() > 256 << 10 {
                while next(&mut ev).await != DataChannelEvent::BufferedAmountLow {}
            }
            continue;
        }
        let mut msg = vec![0u8; BULK_MESSAGE];
        bytes.fill(&mut msg);
        sum = fnv(sum, &msg);
        dc.send_owned(msg).expect("send below the high-water mark");
        sent += BULK_MESSAGE;
    }
    assert!(waits > 0, "back-pressure was never needed");
    let rx = page_until(
        &mut chrome,
        &format!("const r = {js_dc}.rx; return r.bytes >= {BULK_TOTAL} && r"),
    )
    .await;
    assert_eq!(
        rx,
        json!({"bytes": BULK_TOTAL, "msgs": BULK_TOTAL / BULK_MESSAGE, "sum": sum}),
        "what Chromium received"
    );

    // Chromium → rtcpeer: the page keeps at most 4 MiB queued (Chromium refuses send() above
    // 16 MiB) and resumes at `bufferedamountlow` (threshold 1 MiB).
    chrome
        .eval(&format!(
            "window.tx = H.pump({js_dc}, {BULK_TOTAL}, {BULK_MESSAGE}, 4 << 20, 1 << 20); return null"
        ))
        .await
        .unwrap();
    let (mut got, mut msgs, mut sum) = (0usize, 0usize, FNV_START);
    while got < BULK_TOTAL {
        match next_message(&mut ev).await {
            Payload::Binary(b) => {
                assert_eq!(b.len(), BULK_MESSAGE);
                got += b.len();
                msgs += 1;
                sum = fnv(sum, &b);
            }
            Payload::Text(t) => panic!("unexpected text message of {} bytes", t.len()),
        }
    }
    let tx = chrome.eval("return await tx").await.unwrap();
    assert_eq!(tx["bytes"], json!(BULK_TOTAL), "{tx}");
    assert_eq!(tx["msgs"], json!(msgs), "{tx}");
    assert_eq!(tx["sum"], json!(sum), "checksums differ: {tx}");
    assert!(tx["waits"].as_u64().unwrap() > 0, "{tx}");
    assert!(
        tx["peak"].as_u64().unwrap() <= (4 << 20) + BULK_MESSAGE as u64,
        "{tx}"
    );
    assert_eq!(got, BULK_TOTAL);
    assert_eq!(peer.pc.connection_state(), PeerConnectionState::Connected);
    peer.pc.close();
}

#[test]
fn bulk_16_mib_both_ways_with_back_pressure_rtcpeer_offers() {
    run(|c| bulk_both_ways(c, Offerer::Rtcpeer));
}

#[test]
fn bulk_16_mib_both_ways_with_back_pressure_chromium_offers() {
    run(|c| bulk_both_ways(c, Offerer::Chromium));
}

// ----- maxMessageSize (WPT-329) -----

async fn max_message_size(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (peer, dc, mut ev, js_dc) = one_channel(&mut chrome, offerer, "big", None, "{}").await;
    let page = chrome
        .eval(
            "const m = pc.remoteDescription.sdp.match(/a=max-message-size:(\\d+)/);
             const c = pc.localDescription.sdp.match(/a=max-message-size:(\\d+)/);
             return {ours: m && Number(m[1]), chromium: c && Number(c[1]),
                     max: pc.sctp.maxMessageSize}",
        )
        .await
        .unwrap();
    // Chromium advertises 262144 (as we do); both ends agree on the minimum.
    let ours = page["ours"].as_f64().expect("our a=max-message-size");
    let chromium = page["chromium"]
        .as_f64()
        .expect("Chromium's a=max-message-size");
    let max = peer.pc.sctp().unwrap().max_message_size();
    assert_eq!(max, ours.min(chromium), "{page}");
    assert_eq!(page["max"].as_f64(), Some(max), "{page}");
    assert_eq!(max, 262_144.0, "{page}");
    let max = max as usize;

    // One message of exactly maxMessageSize each way.
    chrome
        .eval(&format!("H.sink({js_dc}); return null"))
        .await
        .unwrap();
    let mut big = vec![0u8; max];
    Bytes(7).fill(&mut big);
    dc.send(&big).expect("a message of maxMessageSize");
    let rx = page_until(
        &mut chrome,
        &format!("const r = {js_dc}.rx; return r.msgs > 0 && r"),
    )
    .await;
    assert_eq!(
        rx,
        json!({"bytes": max, "msgs": 1, "sum": fnv(FNV_START, &big)})
    );
    chrome
        .eval(&format!(
            "window.tx = H.pump({js_dc}, {max}, {max}, {max}, 0); return null"
        ))
        .await
        .unwrap();
    let Payload::Binary(b) = next_message(&mut ev).await else {
        panic!("binary expected")
    };
    let tx = chrome.eval("return await tx").await.unwrap();
    assert_eq!(b.len(), max);
    assert_eq!(tx["sum"], json!(fnv(FNV_START, &b)));

    // Above maxMessageSize: TypeError on both sides, the channel stays usable.
    let e = dc.send(&vec![0u8; max + 1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type, "{e}");
    let e = dc.send_text(&"é".repeat(max / 2 + 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type, "{e}");
    let thrown = chrome
        .eval(&format!(
            "try {{ {js_dc}.send(new Uint8Array({})); return 'sent'; }} catch (e) {{ return e.name; }}",
            max + 1
        ))
        .await
        .unwrap();
    assert_eq!(thrown, "TypeError");
    assert_eq!(dc.ready_state(), DataChannelState::Open);
    dc.send_text("still open").unwrap();
    chrome
        .eval(&format!("{js_dc}.send('here too'); return null"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut ev).await,
        Payload::Text("here too".into())
    );
    peer.pc.close();
}

#[test]
fn wpt_329_max_message_size_rtcpeer_offers() {
    run(|c| max_message_size(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_329_max_message_size_chromium_offers() {
    run(|c| max_message_size(c, Offerer::Chromium));
}
