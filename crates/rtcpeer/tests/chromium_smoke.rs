//! Smoke tests of the Chromium test harness (tests/common/chromium.rs): the browser starts,
//! evals return values and errors, and WebRTC works over loopback inside the namespace.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, DRIVER_TIMEOUT, JsError, js_literal};

async fn launch() -> Chromium {
    let c = Chromium::launch_or_panic().await;
    eprintln!("chromium {} launched in {:?}", c.version(), c.launch_time());
    c
}

#[tokio::test]
async fn chromium_creates_offer_with_data_channel() {
    let mut chrome = launch().await;
    assert!(
        chrome.version().split('.').count() == 4,
        "version: {:?}",
        chrome.version()
    );
    let sdp = chrome
        .eval(
            "window.pc = new RTCPeerConnection({iceServers: []});
             pc.createDataChannel('x');
             const offer = await pc.createOffer();
             return offer.sdp;",
        )
        .await
        .expect("createOffer");
    let sdp = sdp.as_str().expect("sdp is a string");
    assert!(sdp.starts_with("v=0\r\n"), "{sdp}");
    assert!(sdp.contains("\r\nm=application "), "{sdp}");
    // State persists across evals.
    let state = chrome
        .eval("return pc.signalingState")
        .await
        .expect("state");
    assert_eq!(state, "stable");
    chrome.close().await.expect("clean close");
}

#[tokio::test]
async fn chromium_errors_propagate_with_dom_exception_name() {
    let mut chrome = launch().await;
    // An answer while in `stable` (a well-formed SDP, so the state check is what fails).
    let err = chrome
        .eval(
            "window.pc = new RTCPeerConnection({iceServers: []});
             pc.createDataChannel('x');
             const offer = await pc.createOffer();
             await pc.setRemoteDescription({type: 'answer', sdp: offer.sdp});",
        )
        .await
        .expect_err("answer in stable must fail");
    assert_eq!(err.name, "InvalidStateError", "{err}");
    // Unparseable SDP: Chromium reports OperationError before any state check.
    let err = chrome
        .eval("await pc.setRemoteDescription({type: 'answer', sdp: 'x'})")
        .await
        .expect_err("garbage SDP must fail");
    assert_eq!(err.name, "OperationError", "{err}");
    // A plain throw and a syntax error in the body.
    let err = chrome
        .eval("throw new TypeError('boom')")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        JsError {
            name: "TypeError".into(),
            message: "boom".into()
        }
    );
    let err = chrome.eval("return 1 +").await.unwrap_err();
    assert_eq!(err.name, "SyntaxError", "{err}");
    // The page is still usable afterwards; undefined comes back as null.
    assert_eq!(
        chrome.eval("return pc.signalingState").await.unwrap(),
        "stable"
    );
    assert_eq!(
        chrome.eval("pc.close()").await.unwrap(),
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn chromium_two_peer_connections_connect_data_channel_over_loopback() {
    let mut chrome = launch().await;
    let result = chrome
        .eval(
            "const cfg = {iceServers: []};
             const a = new RTCPeerConnection(cfg), b = new RTCPeerConnection(cfg);
             const cands = [];
             a.onicecandidate = (e) => { if (e.candidate) { cands.push(e.candidate.candidate); b.addIceCandidate(e.candidate); } };
             b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
             const dc = a.createDataChannel('x');
             const got = new Promise((resolve) => {
               b.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve(m.data); };
             });
             const opened = new Promise((resolve, reject) => {
               dc.onopen = resolve;
               dc.onerror = (e) => reject(new Error('data channel error'));
             });
             const t0 = performance.now();
             await a.setLocalDescription();
             await b.setRemoteDescription(a.localDescription);
             await b.setLocalDescription();
             await a.setRemoteDescription(b.localDescription);
             const timeout = (ms) => new Promise((_, reject) =>
               setTimeout(() => reject(new Error('timed out in ' + a.iceConnectionState)), ms));
             await Promise.race([opened, timeout(10000)]);
             const connectMs = performance.now() - t0;
             dc.send('hello over loopback');
             const msg = await Promise.race([got, timeout(10000)]);
             const stats = await a.getStats();
             const pair = [...stats.values()].find((s) => s.type === 'candidate-pair' && s.nominated);
             const local = pair && stats.get(pair.localCandidateId);
             const r = {msg, cands, connectMs, localAddress: local && local.address, state: a.connectionState};
             a.close(); b.close();
             return r;",
        )
        .await
        .expect("loopback data channel");
    assert_eq!(result["msg"], "hello over loopback", "{result}");
    assert_eq!(result["state"], "connected", "{result}");
    // Only loopback candidates, as real IPs (mDNS hiding is off).
    let cands = result["cands"].as_array().expect("candidates");
    assert!(!cands.is_empty(), "{result}");
    for c in cands {
        let c = c.as_str().unwrap_or_default();
        assert!(!c.contains(".local"), "mDNS candidate: {c}");
        assert!(
            c.contains(" 127.0.0.1 ") || c.contains(" ::1 "),
            "non-loopback candidate: {c}"
        );
    }
    assert_eq!(result["localAddress"], "127.0.0.1", "{result}");
    eprintln!("data channel open in {} ms", result["connectMs"]);
}

#[tokio::test]
async fn chromium_eval_timeout_does_not_block_later_evals() {
    let mut chrome = launch().await;
    let err = chrome
        .eval_with_timeout("await new Promise(() => {})", Duration::from_millis(300))
        .await
        .expect_err("a promise that never settles must time out");
    assert_eq!(err.name, DRIVER_TIMEOUT, "{err}");
    // The hung request is still pending in the page; later requests get their own replies.
    assert_eq!(chrome.eval("return 40 + 2").await.unwrap(), 42);
    assert_eq!(
        chrome.eval("return {a: [1, 'b', null]}").await.unwrap(),
        serde_json::json!({"a": [1, "b", null]})
    );
}

#[tokio::test]
async fn chromium_wait_until_and_js_literal() {
    let mut chrome = launch().await;
    // A string with quotes, newlines and a script-closing tag survives the trip unchanged.
    let tricky = "a'b\"c\r\nd</script>\u{2028}é";
    let back = chrome
        .eval(&format!("window.s = {}; return s", js_literal(tricky)))
        .await
        .unwrap();
    assert_eq!(back, tricky);
    chrome
        .eval("window.events = []; setTimeout(() => events.push('fired'), 100)")
        .await
        .unwrap();
    let v = chrome
        .wait_until("return events.length > 0 && events", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!(["fired"]));
    let err = chrome
        .wait_until("return window.never === true", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.name, DRIVER_TIMEOUT, "{err}");
    let err = chrome
        .wait_until("throw new RangeError('no')", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.name, "RangeError", "{err}");
}
