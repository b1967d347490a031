//! Data channels between rtcpeer and headless Chromium (issue 4 item 4), in both offer
//! directions: ICE, DTLS, SCTP and DCEP against Chromium's stack (BoringSSL, dcSCTP).
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
use common::net::{next, next_not_low};
use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, DataChannelInit,
    DataChannelState, DtlsTransportState, ErrorDetail, ErrorKind, EventStream, IceGatheringState,
    Payload, PeerConnection, PeerConnectionEvent, PeerConnectionState, SctpTransportState,
    SessionDescription,
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
        const rec = {type: t, state: dc.readyState, msgs: dc.msgs.length};
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
  ufrag(sdp) {
    const m = sdp && sdp.match(/a=ice-ufrag:(\S+)/);
    return m && m[1];
  },
  // setLocalDescription(), then the description once its candidates are gathered. A new ICE
  // generation (first description, restart) waits for its end-of-candidates event: right
  // after an ICE restart's SLD, iceGatheringState still reads the previous 'complete'.
  async sld(pc) {
    const before = pc.localDescription && H.ufrag(pc.localDescription.sdp);
    let end;
    const ended = new Promise(r => end = r);
    const onCandidate = e => { if (!e.candidate) end(); };
    pc.addEventListener('icecandidate', onCandidate);
    try {
      await pc.setLocalDescription();
      if (H.ufrag(pc.localDescription.sdp) !== before) await ended;
      else await H.gathered(pc);
    } finally {
      pc.removeEventListener('icecandidate', onCandidate);
    }
    return pc.localDescription;
  },
  // The ufrag of the local candidate of the selected pair (its ICE generation), or null.
  async selectedUfrag(pc) {
    const stats = [...(await pc.getStats()).values()];
    const t = stats.find(s => s.type === 'transport');
    const pair = t && stats.find(s => s.id === t.selectedCandidatePairId);
    const local = pair && stats.find(s => s.id === pair.localCandidateId);
    return local ? local.usernameFragment : null;
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
    negotiate(chrome, &peer, offerer).await;
    // Channels may open before ICE reports "connected" (DTLS runs on the path the first
    // checks used); wait for it so every test starts from a settled connection.
    peer.wait_connection_state(PeerConnectionState::Connected)
        .await;
    page_until(chrome, "return pc.connectionState === 'connected'").await;
    peer
}

/// One offer/answer exchange between `peer` and the page's `pc`, each description sent once
/// its candidates were gathered.
async fn negotiate(chrome: &mut Chromium, peer: &Peer, offerer: Offerer) {
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
                     return await H.sld(pc);",
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
                .eval("return await H.sld(pc);")
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

    // Connected on both sides (`connect` waited for it) once DTLS is up (WPT-187), remote
    // certificates (WPT-333).
    assert_eq!(peer.pc.connection_state(), PeerConnectionState::Connected);
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

// ----- unordered, maxRetransmits 0 (WPT-260) -----

/// The properties rtcpeer shows for a channel, in the page's `H.props` shape.
fn rust_props(dc: &DataChannel) -> Value {
    json!({
        "label": dc.label(),
        "ordered": dc.ordered(),
        "maxRetransmits": dc.max_retransmits(),
        "maxPacketLifeTime": dc.max_packet_life_time(),
        "protocol": dc.protocol(),
        "negotiated": dc.negotiated(),
        "id": dc.id(),
        "readyState": dc.ready_state().to_string(),
    })
}

/// Sends `n` numbered text messages from each end of an open channel pair and checks that
/// each side got all of the other's (in any order: the channel may be unordered).
async fn exchange_numbered(
    chrome: &mut Chromium,
    dc: &DataChannel,
    ev: &mut DataChannelEvents,
    js_dc: &str,
    n: usize,
) {
    chrome
        .eval(&format!(
            "for (let i = 0; i < {n}; i++) {js_dc}.send('c' + i + ':' + 'x'.repeat(i * 37));
             return null"
        ))
        .await
        .unwrap();
    for i in 0..n {
        dc.send_text(&format!("r{i}:{}", "y".repeat(i * 37)))
            .unwrap();
    }
    let mut got: Vec<String> = Vec::new();
    while got.len() < n {
        match next_message(ev).await {
            Payload::Text(t) => got.push(t),
            Payload::Binary(b) => panic!("unexpected binary message {b:?}"),
        }
    }
    got.sort();
    let mut want: Vec<String> = (0..n)
        .map(|i| format!("c{i}:{}", "x".repeat(i * 37)))
        .collect();
    want.sort();
    assert_eq!(got, want, "what rtcpeer received");
    let mut js_got: Vec<String> = serde_json::from_value(
        page_until(
            chrome,
            &format!("const d = {js_dc}; return d.msgs.length >= {n} && d.msgs.map(m => m.text)"),
        )
        .await,
    )
    .unwrap();
    js_got.sort();
    let mut want: Vec<String> = (0..n)
        .map(|i| format!("r{i}:{}", "y".repeat(i * 37)))
        .collect();
    want.sort();
    assert_eq!(js_got, want, "what Chromium received");
}

async fn unordered_no_retransmits(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let init = DataChannelInit {
        ordered: false,
        max_retransmits: Some(0),
        protocol: "udp-like".into(),
        ..Default::default()
    };
    let js_init = "{ordered: false, maxRetransmits: 0, protocol: 'udp-like'}";
    // The offerer creates one before negotiating.
    let (mut peer, dc, mut ev, js_dc) = one_channel(
        &mut chrome,
        offerer,
        "unreliable-1",
        Some(init.clone()),
        js_init,
    )
    .await;
    let want = |label: &str, id: Option<u16>| {
        json!({"label": label, "ordered": false, "maxRetransmits": 0,
               "maxPacketLifeTime": null, "protocol": "udp-like", "negotiated": false,
               "id": id, "readyState": "open"})
    };
    assert_eq!(rust_props(&dc), want("unreliable-1", dc.id()));
    let page = chrome
        .eval(&format!("return H.props({js_dc})"))
        .await
        .unwrap();
    assert_eq!(page, want("unreliable-1", dc.id()));
    exchange_numbered(&mut chrome, &dc, &mut ev, js_dc, 40).await;

    // The answerer creates one on the live association.
    let (dc2, js_dc2) = match offerer {
        Offerer::Chromium => {
            let dc = peer
                .pc
                .create_data_channel("unreliable-2", Some(init))
                .unwrap();
            page_until(&mut chrome, "return pc.remoteDcs.length === 1").await;
            (dc, "pc.remoteDcs[0]")
        }
        Offerer::Rtcpeer => {
            chrome
                .eval(&format!(
                    "dcs.b = H.watch(pc.createDataChannel('unreliable-2', {js_init})); return null"
                ))
                .await
                .unwrap();
            (peer.incoming().await, "dcs.b")
        }
    };
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);
    page_until(
        &mut chrome,
        &format!("return {js_dc2}.readyState === 'open'"),
    )
    .await;
    assert_eq!(rust_props(&dc2), want("unreliable-2", dc2.id()));
    let page = chrome
        .eval(&format!("return H.props({js_dc2})"))
        .await
        .unwrap();
    assert_eq!(page, want("unreliable-2", dc2.id()));
    exchange_numbered(&mut chrome, &dc2, &mut ev2, js_dc2, 40).await;
    peer.pc.close();
}

#[test]
fn wpt_260_unordered_max_retransmits_0_rtcpeer_offers() {
    run(|c| unordered_no_retransmits(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_260_unordered_max_retransmits_0_chromium_offers() {
    run(|c| unordered_no_retransmits(c, Offerer::Chromium));
}

/// DCEP carries every channel parameter both ways (WPT-260): ordered true/false,
/// maxRetransmits and maxPacketLifeTime 0 and 65535, empty and 65535-byte labels and
/// protocols, multi-byte characters; ids equal on both ends.
#[test]
fn wpt_260_dcep_parameters_both_ways() {
    run(|mut chrome| async move {
        struct Case {
            label: String,
            protocol: String,
            ordered: bool,
            rtx: Option<u16>,
            life: Option<u16>,
        }
        let case = |label: String, protocol: &str, ordered, rtx, life| Case {
            label,
            protocol: protocol.to_string(),
            ordered,
            rtx,
            life,
        };
        let cases = |side: &str| {
            vec![
                case(String::new(), "", true, None, None),
                case(format!("{side}-rtx0"), "p", false, Some(0), None),
                case(format!("{side}-rtx65535"), "p", true, Some(65535), None),
                case(format!("{side}-life0"), "", false, None, Some(0)),
                case(format!("{side}-life65535"), "", true, None, Some(65535)),
                case(
                    format!("{side}{}", "L".repeat(65535 - side.len())),
                    &"P".repeat(65535),
                    true,
                    None,
                    None,
                ),
                case(
                    format!("{side}{}", "€".repeat(21844)),
                    &"€".repeat(21845),
                    false,
                    Some(3),
                    None,
                ),
            ]
        };
        let mut peer = connect(
            &mut chrome,
            Offerer::Chromium,
            |_| {},
            "dcs.boot = H.watch(pc.createDataChannel('boot'))",
        )
        .await;
        let _boot = peer.incoming().await;

        // rtcpeer creates, Chromium's `datachannel` events show the same parameters.
        let mut ours = Vec::new();
        for c in cases("r") {
            let init = DataChannelInit {
                ordered: c.ordered,
                max_retransmits: c.rtx,
                max_packet_life_time: c.life,
                protocol: c.protocol.clone(),
                ..Default::default()
            };
            ours.push(peer.pc.create_data_channel(&c.label, Some(init)).unwrap());
        }
        for dc in &ours {
            let mut ev = dc.events();
            assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
        }
        let n = ours.len();
        let theirs = page_until(
            &mut chrome,
            &format!(
                "return pc.remoteDcs.length === {n} && pc.remoteDcs.every(d => d.readyState === 'open')
                        && pc.remoteDcs.map(H.props)"
            ),
        )
        .await;
        let mut theirs = theirs.as_array().unwrap().clone();
        theirs.sort_by_key(|p| p["id"].as_u64());
        let mut want: Vec<Value> = ours.iter().map(rust_props).collect();
        want.sort_by_key(|p| p["id"].as_u64());
        assert_eq!(theirs, want);

        // Chromium creates, rtcpeer's `datachannel` events show the same parameters.
        let mut js = String::from("window.created = [];");
        for c in cases("c") {
            let opt = |v: Option<u16>| v.map_or("undefined".to_string(), |v| v.to_string());
            js.push_str(&format!(
                "created.push(H.watch(pc.createDataChannel({}, {{ordered: {}, protocol: {},
                   maxRetransmits: {}, maxPacketLifeTime: {}}})));",
                js_literal(&c.label),
                c.ordered,
                js_literal(&c.protocol),
                opt(c.rtx),
                opt(c.life),
            ));
        }
        js.push_str("return null");
        chrome.eval(&js).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..n {
            let dc = peer.incoming().await;
            let mut ev = dc.events();
            assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
            got.push(rust_props(&dc));
        }
        let mut want = page_until(
            &mut chrome,
            "return created.every(d => d.readyState === 'open') && created.map(H.props)",
        )
        .await
        .as_array()
        .unwrap()
        .clone();
        want.sort_by_key(|p| p["id"].as_u64());
        got.sort_by_key(|p| p["id"].as_u64());
        assert_eq!(got, want);
        // rtcpeer answered with a=setup:active: it is the DTLS client and uses even ids.
        assert!(ours.iter().all(|d| d.id().unwrap() % 2 == 0));
        assert!(got.iter().all(|p| p["id"].as_u64().unwrap() % 2 == 1));
        peer.pc.close();
    });
}

// ----- renegotiation keeps DTLS, SCTP and the channels -----

/// The `a=ice-ufrag` value of a description.
fn ufrag_of(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("a=ice-ufrag")
        .trim()
        .to_string()
}

/// The `a=setup` value of a description.
fn setup_of(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=setup:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Re-offers from both sides and ICE restarts from both sides on a connection with an open
/// channel: the DTLS role (RFC 8842 §5.5: an answer keeps the established role), the DTLS
/// transport, the association and the channel survive each one.
async fn renegotiation(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (peer, dc, mut ev, js_dc) = one_channel(&mut chrome, offerer, "a", None, "{}").await;
    let id = dc.id();
    let answerer = |o: Offerer| match o {
        Offerer::Rtcpeer => Offerer::Chromium,
        Offerer::Chromium => Offerer::Rtcpeer,
    };
    // rtcpeer's DTLS role as the last answer set it: "active" (client) or "passive".
    let our_role = |answerer: Offerer| -> String {
        let answer = match answerer {
            Offerer::Rtcpeer => peer.pc.current_local_description(),
            Offerer::Chromium => peer.pc.current_remote_description(),
        };
        let setup = setup_of(&answer.unwrap().sdp);
        match (answerer, setup.as_str()) {
            (Offerer::Rtcpeer, "active" | "passive") => setup,
            (Offerer::Chromium, "active") => "passive".into(),
            (Offerer::Chromium, "passive") => "active".into(),
            _ => panic!("an answer with a=setup:{setup}"),
        }
    };
    let role = our_role(answerer(offerer));
    let sctp = peer.pc.sctp().unwrap();
    let mut pev = peer.pc.events();
    let rounds = [
        ("rtcpeer re-offers", Offerer::Rtcpeer, ""),
        ("Chromium re-offers", Offerer::Chromium, ""),
        ("rtcpeer restarts ICE", Offerer::Rtcpeer, "rust"),
        (
            "Chromium restarts ICE",
            Offerer::Chromium,
            "pc.restartIce();",
        ),
    ];
    for (i, (what, by, restart)) in rounds.into_iter().enumerate() {
        let ufrag = chrome
            .eval("return pc.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]")
            .await
            .unwrap();
        let mut round_ev = peer.pc.events();
        if restart == "rust" {
            peer.pc.restart_ice();
        } else if !restart.is_empty() {
            chrome
                .eval(&format!("{restart} return null"))
                .await
                .unwrap();
        }
        negotiate(&mut chrome, &peer, by).await;
        assert_eq!(
            our_role(answerer(by)),
            role,
            "{what}: the DTLS role changed"
        );
        let new_ufrag = chrome
            .eval("return pc.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]")
            .await
            .unwrap();
        assert_eq!(new_ufrag != ufrag, !restart.is_empty(), "{what}: ufrags");
        if !restart.is_empty() {
            peer.wait_connection_state(PeerConnectionState::Connected)
                .await;
            page_until(&mut chrome, "return pc.connectionState === 'connected'").await;
        }
        if restart == "rust" {
            // Both sides moved to a pair of the new generation (RFC 8445 §9; rtcpeer gathers
            // on fresh sockets, as browsers do): the selected pair's local candidate carries
            // the current local ufrag. Not asserted when Chromium restarts: when our checks
            // of its new candidates arrive before our answer, Chromium at times keeps its
            // old, still working pair (our side then stays on it too, as RFC 8445 §9 allows).
            page_until(
                &mut chrome,
                "return await H.selectedUfrag(pc) === H.ufrag(pc.localDescription.sdp)",
            )
            .await;
            let ours = Some(ufrag_of(&peer.pc.local_description().unwrap().sdp));
            let ice = sctp.transport().ice_transport().unwrap();
            let current = || {
                ice.get_selected_candidate_pair()
                    .and_then(|p| p.local.username_fragment())
            };
            tokio::time::timeout(LIMIT, async {
                while current() != ours {
                    round_ev.recv().await.expect("connection events");
                }
            })
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: rtcpeer's selected pair {:?}, not {ours:?}",
                    current()
                )
            });
        }
        // The same channel carries messages both ways.
        dc.send_text(&format!("after round {i}")).unwrap();
        chrome
            .eval(&format!("{js_dc}.send('back {i}'); return null"))
            .await
            .unwrap();
        assert_eq!(
            next_message(&mut ev).await,
            Payload::Text(format!("back {i}")),
            "{what}"
        );
        let last = page_until(
            &mut chrome,
            &format!(
                "const m = {js_dc}.msgs; return m.length === {} && m[m.length - 1]",
                i + 1
            ),
        )
        .await;
        assert_eq!(last, json!({"text": format!("after round {i}")}), "{what}");
        assert_eq!(dc.id(), id);
        assert_eq!(
            sctp.transport().state(),
            DtlsTransportState::Connected,
            "{what}"
        );
        assert_eq!(sctp.state(), SctpTransportState::Connected, "{what}");
    }
    // Neither transport changed state, on either side.
    while let Some(e) = pev.try_recv() {
        assert!(
            !matches!(
                e,
                PeerConnectionEvent::DtlsTransportStateChange(..)
                    | PeerConnectionEvent::SctpTransportStateChange(..)
                    | PeerConnectionEvent::DataChannel(_)
            ),
            "{e:?}"
        );
    }
    let page = chrome
        .eval(&format!(
            "return [pc.sctp.transport.state, pc.sctp.state, {js_dc}.log.map(e => e.type)]"
        ))
        .await
        .unwrap();
    assert_eq!(page, json!(["connected", "connected", ["open"]]));
    peer.pc.close();
}

#[test]
fn renegotiation_and_ice_restarts_keep_the_channel_rtcpeer_offers() {
    run(|c| renegotiation(c, Offerer::Rtcpeer));
}

#[test]
fn renegotiation_and_ice_restarts_keep_the_channel_chromium_offers() {
    run(|c| renegotiation(c, Offerer::Chromium));
}

/// Many channels at once from both sides: DCEP opens crossing each other, stream ids of
/// both parities in use together, `maxChannels` equal on both ends, and closing all of them
/// at once (stream resets of many streams in flight from both sides).
async fn many_channels(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    const N: usize = 100;
    let (mut peer, _boot, _ev, _) = one_channel(&mut chrome, offerer, "boot", None, "{}").await;
    let max = peer.pc.sctp().unwrap().max_channels();
    let page_max = chrome.eval("return pc.sctp.maxChannels").await.unwrap();
    assert_eq!(page_max.as_u64(), max.map(u64::from), "maxChannels");
    chrome
        .eval(&format!(
            "window.many = [];
             for (let i = 0; i < {N}; i++) {{
               const d = H.watch(pc.createDataChannel('c' + i));
               d.onopen = () => d.send('hello from c' + i);
               many.push(d);
             }}
             return null"
        ))
        .await
        .unwrap();
    let ours: Vec<DataChannel> = (0..N)
        .map(|i| peer.pc.create_data_channel(&format!("r{i}"), None).unwrap())
        .collect();
    let mut ours_ev: Vec<DataChannelEvents> = ours.iter().map(|d| d.events()).collect();
    for (i, (dc, ev)) in ours.iter().zip(ours_ev.iter_mut()).enumerate() {
        assert_eq!(next(ev).await, DataChannelEvent::Open);
        dc.send_text(&format!("hello from r{i}")).unwrap();
    }
    let mut theirs = Vec::new();
    for _ in 0..N {
        let dc = peer.incoming().await;
        let mut ev = dc.events();
        assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
        let label = dc.label();
        assert_eq!(
            next_message(&mut ev).await,
            Payload::Text(format!("hello from {label}"))
        );
        theirs.push((dc, ev));
    }
    page_until(
        &mut chrome,
        &format!(
            "window.rs = pc.remoteDcs.filter(d => d.label !== 'boot');
             return rs.length === {N} &&
               rs.every(d => d.msgs.length === 1 && d.msgs[0].text === 'hello from ' + d.label)"
        ),
    )
    .await;
    let mut ids: Vec<u16> = ours
        .iter()
        .chain(theirs.iter().map(|(d, _)| d))
        .map(|d| d.id().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2 * N, "distinct stream ids");

    // Close all at once from both sides.
    for dc in &ours {
        dc.close();
    }
    chrome
        .eval("for (const d of many) d.close(); return null")
        .await
        .unwrap();
    for ev in ours_ev.iter_mut() {
        assert_eq!(next_not_low(ev).await, DataChannelEvent::Close);
    }
    for (_, ev) in theirs.iter_mut() {
        assert_eq!(next_not_low(ev).await, DataChannelEvent::Closing);
        assert_eq!(next_not_low(ev).await, DataChannelEvent::Close);
    }
    page_until(
        &mut chrome,
        "return [...many, ...rs].every(d => d.readyState === 'closed')",
    )
    .await;
    peer.pc.close();
}

#[test]
fn many_channels_open_and_close_together_rtcpeer_offers() {
    run(|c| many_channels(c, Offerer::Rtcpeer));
}

#[test]
fn many_channels_open_and_close_together_chromium_offers() {
    run(|c| many_channels(c, Offerer::Chromium));
}

// ----- negotiated channels (WPT-230/237) -----

async fn negotiated_channels(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    // id 5 before negotiating (it alone makes the data m-section), id 2 once connected: the
    // parity rule does not apply to negotiated ids.
    let init = |id| DataChannelInit {
        negotiated: true,
        id: Some(id),
        ..Default::default()
    };
    let mut rust_dc = None;
    let mut peer = connect(
        &mut chrome,
        offerer,
        |pc| rust_dc = Some(pc.create_data_channel("neg", Some(init(5))).unwrap()),
        "dcs.a = H.watch(pc.createDataChannel('neg', {negotiated: true, id: 5}))",
    )
    .await;
    let dc = rust_dc.unwrap();
    let mut ev = dc.events();
    assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
    page_until(&mut chrome, "return dcs.a.readyState === 'open'").await;
    assert_eq!(dc.id(), Some(5));
    assert!(dc.negotiated());
    exchange_numbered(&mut chrome, &dc, &mut ev, "dcs.a", 10).await;

    let dc2 = peer.pc.create_data_channel("neg2", Some(init(2))).unwrap();
    let mut ev2 = dc2.events();
    chrome
        .eval(
            "dcs.b = H.watch(pc.createDataChannel('neg2', {negotiated: true, id: 2})); return null",
        )
        .await
        .unwrap();
    assert_eq!(next(&mut ev2).await, DataChannelEvent::Open);
    page_until(&mut chrome, "return dcs.b.readyState === 'open'").await;
    assert_eq!(dc2.id(), Some(2));
    exchange_numbered(&mut chrome, &dc2, &mut ev2, "dcs.b", 10).await;

    // Negotiated channels are never announced: no `datachannel` event on either side.
    assert_eq!(
        chrome.eval("return pc.remoteDcs.length").await.unwrap(),
        json!(0)
    );
    while let Some(e) = peer.ev.try_recv() {
        assert!(
            !matches!(e, PeerConnectionEvent::DataChannel(_)),
            "a datachannel event for a negotiated channel"
        );
    }
    peer.pc.close();
}

#[test]
fn wpt_237_negotiated_channels_rtcpeer_offers() {
    run(|c| negotiated_channels(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_237_negotiated_channels_chromium_offers() {
    run(|c| negotiated_channels(c, Offerer::Chromium));
}

// ----- closing a channel from either side (WPT-254/256/244) -----

/// Creates a second channel from the answering side once connected; returns the rtcpeer end
/// and the page expression for Chromium's end.
async fn answerer_channel(
    chrome: &mut Chromium,
    peer: &mut Peer,
    offerer: Offerer,
    label: &str,
) -> (DataChannel, String) {
    match offerer {
        Offerer::Chromium => {
            let dc = peer.pc.create_data_channel(label, None).unwrap();
            let js = format!("pc.remoteDcs.find(d => d.label === {})", js_literal(label));
            page_until(
                chrome,
                &format!("const d = {js}; return d && d.readyState === 'open'"),
            )
            .await;
            (dc, js)
        }
        Offerer::Rtcpeer => {
            chrome
                .eval(&format!(
                    "dcs.b = H.watch(pc.createDataChannel({})); return null",
                    js_literal(label)
                ))
                .await
                .unwrap();
            let dc = peer.incoming().await;
            page_until(chrome, "return dcs.b.readyState === 'open'").await;
            (dc, "dcs.b".to_string())
        }
    }
}

async fn close_from_either_side(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (mut peer, a, mut ea, js_a) = one_channel(&mut chrome, offerer, "a", None, "{}").await;
    let (b, js_b) = answerer_channel(&mut chrome, &mut peer, offerer, "b").await;
    let mut eb = b.events();
    assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
    let id_a = a.id().unwrap();

    // rtcpeer closes "a" with 512 KiB still queued: all of it arrives before Chromium's
    // `closing` and `close` (WPT-256); the closing side fires no `closing` (WPT-254).
    for i in 0..8u8 {
        a.send(&vec![i; 64 << 10]).unwrap();
    }
    a.close();
    assert_eq!(a.ready_state(), DataChannelState::Closing);
    assert!(a.send_text("too late").is_err());
    let log = page_until(
        &mut chrome,
        &format!("const d = {js_a}; return d.readyState === 'closed' && d.log"),
    )
    .await;
    assert_eq!(
        log,
        json!([
            {"type": "open", "state": "open", "msgs": 0},
            {"type": "closing", "state": "closing", "msgs": 8},
            {"type": "close", "state": "closed", "msgs": 8},
        ]),
        "Chromium's end of the channel rtcpeer closed"
    );
    let sizes = chrome
        .eval(&format!(
            "return {js_a}.msgs.map(m => [m.bin.length, m.bin[0]])"
        ))
        .await
        .unwrap();
    assert_eq!(
        sizes,
        json!((0..8).map(|i| [64 << 10, i]).collect::<Vec<_>>())
    );
    assert_eq!(next_not_low(&mut ea).await, DataChannelEvent::Close);
    assert_eq!(a.ready_state(), DataChannelState::Closed);
    assert!(ea.recv().await.is_none(), "the stream ends after close");

    // Chromium closes "b" right after sending: rtcpeer gets the messages, then `closing`,
    // then `close`; Chromium's own end fires only `close`.
    chrome
        .eval(&format!(
            "const d = {js_b};
             for (let i = 0; i < 8; i++) d.send(new Uint8Array(65536).fill(i));
             d.send('last');
             d.close();
             return d.readyState"
        ))
        .await
        .unwrap();
    for i in 0..8u8 {
        assert_eq!(
            next_message(&mut eb).await,
            Payload::Binary(vec![i; 64 << 10])
        );
    }
    assert_eq!(next_message(&mut eb).await, Payload::Text("last".into()));
    assert_eq!(next_not_low(&mut eb).await, DataChannelEvent::Closing);
    assert_eq!(next_not_low(&mut eb).await, DataChannelEvent::Close);
    assert_eq!(b.ready_state(), DataChannelState::Closed);
    let log = page_until(
        &mut chrome,
        &format!("const d = {js_b}; return d.readyState === 'closed' && d.log"),
    )
    .await;
    assert_eq!(
        log,
        json!([
            {"type": "open", "state": "open", "msgs": 0},
            {"type": "close", "state": "closed", "msgs": 0},
        ]),
        "Chromium's end of the channel it closed"
    );

    // WPT-244: once closed on both ends, the id can be used again (negotiated, both sides).
    let again = peer
        .pc
        .create_data_channel(
            "again",
            Some(DataChannelInit {
                negotiated: true,
                id: Some(id_a),
                ..Default::default()
            }),
        )
        .expect("the closed channel's id is free again");
    let mut ev = again.events();
    chrome
        .eval(&format!(
            "dcs.again = H.watch(pc.createDataChannel('again', {{negotiated: true, id: {id_a}}}));
             return null"
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut ev).await, DataChannelEvent::Open);
    page_until(&mut chrome, "return dcs.again.readyState === 'open'").await;
    exchange_numbered(&mut chrome, &again, &mut ev, "dcs.again", 3).await;
    peer.pc.close();
}

#[test]
fn wpt_254_close_from_either_side_rtcpeer_offers() {
    run(|c| close_from_either_side(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_254_close_from_either_side_chromium_offers() {
    run(|c| close_from_either_side(c, Offerer::Chromium));
}

// ----- pc.close() on either side (WPT-211/212) -----

/// What WPT-212 requires of the remote end of a channel when a connection closes: `error`
/// (RTCError "OperationError", errorDetail "sctp-failure", sctpCauseCode null or 12) and
/// then `close`, as its last events. Chromium also fires `closing` first.
fn assert_page_log_error_then_close(log: &Value) {
    let events: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "error" || e["type"] == "close")
        .collect();
    assert_eq!(events.len(), 2, "{log}");
    assert_eq!(events[0]["name"], "OperationError", "{log}");
    assert_eq!(events[0]["detail"], "sctp-failure", "{log}");
    assert!(
        events[0]["cause"].is_null() || events[0]["cause"] == 12,
        "{log}"
    );
    assert_eq!(events[1]["type"], "close", "{log}");
    assert_eq!(log.as_array().unwrap().last(), Some(events[1]), "{log}");
}

async fn rtcpeer_pc_close(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (mut peer, a, mut ea, js_a) = one_channel(&mut chrome, offerer, "a", None, "{}").await;
    let (b, js_b) = answerer_channel(&mut chrome, &mut peer, offerer, "b").await;
    chrome
        .eval(
            "pc.sctpStates = []; pc.dtlsStates = [];
             pc.sctp.onstatechange = () => pc.sctpStates.push(pc.sctp.state);
             pc.sctp.transport.onstatechange = () => pc.dtlsStates.push(pc.sctp.transport.state);
             return null",
        )
        .await
        .unwrap();
    peer.pc.close();
    // Locally everything is closed at once, without events (WPT-211, WPT-183).
    assert_eq!(a.ready_state(), DataChannelState::Closed);
    assert_eq!(b.ready_state(), DataChannelState::Closed);
    assert_eq!(peer.pc.connection_state(), PeerConnectionState::Closed);
    assert_eq!(
        peer.pc.sctp().map(|s| s.transport().state()),
        Some(DtlsTransportState::Closed)
    );
    while let Some(e) = ea.try_recv() {
        assert!(
            !matches!(e, DataChannelEvent::Error(_) | DataChannelEvent::Close),
            "{e:?} after pc.close()"
        );
    }
    // Chromium: the ABORT closes its channels with an error (WPT-212), the close_notify its
    // DTLS transport (WPT-211).
    let logs = page_until(
        &mut chrome,
        &format!(
            "const a = {js_a}, b = {js_b};
             return a.readyState === 'closed' && b.readyState === 'closed' && [a.log, b.log]"
        ),
    )
    .await;
    for log in logs.as_array().unwrap() {
        assert_page_log_error_then_close(log);
    }
    let states = page_until(
        &mut chrome,
        "return pc.sctp.transport.state === 'closed' && pc.sctp.state === 'closed'
                && {dtls: pc.dtlsStates, sctp: pc.sctpStates}",
    )
    .await;
    assert_eq!(states, json!({"dtls": ["closed"], "sctp": ["closed"]}));
    if offerer == Offerer::Rtcpeer {
        // With rtcpeer gone ICE loses connectivity, and connectionState leaves "connected"
        // (Chromium reports "disconnected" after about 5 s without STUN responses).
        let st = page_until(
            &mut chrome,
            "return pc.connectionState !== 'connected' && pc.connectionState",
        )
        .await;
        assert!(
            ["disconnected", "failed"].contains(&st.as_str().unwrap()),
            "{st}"
        );
    }
}

#[test]
fn wpt_212_rtcpeer_pc_close_rtcpeer_offers() {
    run(|c| rtcpeer_pc_close(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_212_rtcpeer_pc_close_chromium_offers() {
    run(|c| rtcpeer_pc_close(c, Offerer::Chromium));
}

async fn chromium_pc_close(mut chrome: MutexGuard<'static, Chromium>, offerer: Offerer) {
    let (mut peer, a, mut ea, _) = one_channel(&mut chrome, offerer, "a", None, "{}").await;
    let (b, _) = answerer_channel(&mut chrome, &mut peer, offerer, "b").await;
    let mut eb = b.events();
    assert_eq!(next(&mut eb).await, DataChannelEvent::Open);
    let sctp = peer.pc.sctp().unwrap();
    chrome.eval("pc.close(); return null").await.unwrap();
    // Each channel: `error` (sctp-failure) then `close` (WPT-212).
    for (dc, ev) in [(&a, &mut ea), (&b, &mut eb)] {
        match next_not_low(ev).await {
            DataChannelEvent::Error(e) => {
                assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
                // Chromium's close() aborts with "User-Initiated Abort" (sctpCauseCode 12).
                assert_eq!(
                    e.detail(),
                    Some(ErrorDetail::SctpFailure {
                        cause_code: Some(12)
                    }),
                    "{e:?}"
                );
            }
            other => panic!("expected error, got {other:?}"),
        }
        assert_eq!(next_not_low(ev).await, DataChannelEvent::Close);
        assert_eq!(dc.ready_state(), DataChannelState::Closed);
        assert!(ev.recv().await.is_none());
    }
    // Chromium's close_notify closes our DTLS transport (WPT-211), its ABORT the association.
    let mut pev = peer.pc.events();
    tokio::time::timeout(LIMIT, async {
        while sctp.transport().state() != DtlsTransportState::Closed
            || sctp.state() != SctpTransportState::Closed
        {
            pev.recv().await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "DTLS {:?}, SCTP {:?}",
            sctp.transport().state(),
            sctp.state()
        )
    });
    assert!(a.send_text("x").is_err());
    // Nothing failed: the DTLS transport closed cleanly.
    assert_ne!(peer.pc.connection_state(), PeerConnectionState::Failed);
    peer.pc.close();
}

#[test]
fn wpt_212_chromium_pc_close_rtcpeer_offers() {
    run(|c| chromium_pc_close(c, Offerer::Rtcpeer));
}

#[test]
fn wpt_212_chromium_pc_close_chromium_offers() {
    run(|c| chromium_pc_close(c, Offerer::Chromium));
}
