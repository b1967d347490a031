//! TURN over TCP (`turn:...?transport=tcp`) and TLS (`turns:`) against a real coturn that
//! each test starts in its network namespace (`common/coturn.rs`, `Coturn::start_streams`:
//! TCP on the UDP port, TLS on a second port, a certificate from a CA made in the test):
//! relay-only rtcpeer pairs connect through allocations made over the stream and move a
//! data-channel echo and a bulk transfer (throughput printed); relayed candidates carry
//! `relayProtocol` "tcp"/"tls" and the url (webrtc-pc §4.8.1); a TLS server whose CA is not
//! trusted, wrong credentials and a server that goes away fire `icecandidateerror`; an IPv6
//! server address ([::1]) works.
//!
//! Needs `turnserver` and an isolated network: `unshare --net sh -c 'ip link set lo up &&
//! cargo test -p rtcpeer --test turn_tcp_tls'` (scripts/test does both).

mod common;

use std::time::{Duration, Instant};

use common::coturn::{Coturn, PASSWORD, USER, make_ca_and_server_cert};
use common::net::{
    candidates, gather_events, negotiate, next, next_data_channel, next_not_low, within,
};
use rtcpeer::{
    Configuration, DataChannelEvent, IceCandidateType, IceServer, IceSettings, IceTransportPolicy,
    Payload, PeerConnection, PeerConnectionEvent as Ev, Settings,
};

fn pc_with(url: &str, password: &str, roots: Option<&str>) -> PeerConnection {
    let config = Configuration {
        ice_servers: vec![IceServer {
            urls: vec![url.to_string()],
            username: Some(USER.into()),
            credential: Some(password.into()),
        }],
        ice_transport_policy: IceTransportPolicy::Relay,
        ..Configuration::default()
    };
    let ice = IceSettings {
        turn_tls_roots: roots.map(|r| vec![r.to_string()]).unwrap_or_default(),
        ..IceSettings::default()
    };
    PeerConnection::with_settings(
        config,
        Settings {
            ice,
            ..Settings::default()
        },
    )
    .expect("pc")
}

fn errors(events: &[Ev]) -> Vec<&rtcpeer::IceCandidateError> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidateError(e) => Some(&**e),
            _ => None,
        })
        .collect()
}

/// The next message (skipping open and bufferedamountlow).
async fn next_message(ev: &mut rtcpeer::DataChannelEvents) -> Payload {
    loop {
        match next_not_low(ev).await {
            DataChannelEvent::Message(p) => return p,
            DataChannelEvent::Open => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Relay-only pc1 and pc2 through `url`: gathering gives relayed candidates with
/// `relayProtocol` = `protocol`; then an echo and a bulk transfer of `mb` MB (MB/s printed).
async fn relay_pair(url: &str, roots: Option<&str>, protocol: &str, mb: usize) -> f64 {
    let pc1 = pc_with(url, PASSWORD, roots);
    let pc2 = pc_with(url, PASSWORD, roots);
    let mut ev1 = pc1.events();
    let dc1 = pc1.create_data_channel("relay", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev1).await;
    assert!(errors(&events).is_empty(), "{events:?}");
    let cands = candidates(&events);
    assert_eq!(cands.len(), 1, "{events:?}");
    for c in &cands {
        assert_eq!(c.typ(), Some(IceCandidateType::Relay), "{}", c.candidate());
        assert_eq!(c.relay_protocol(), Some(protocol));
        let reported = if url.starts_with("turns:") {
            format!("{url}?transport=tcp")
        } else {
            url.to_string()
        };
        assert_eq!(c.url(), Some(reported.as_str()));
        // The relayed address itself is UDP on coturn's relay range.
        assert_eq!(c.protocol(), Some(rtcpeer::IceProtocol::Udp));
        assert!(
            (40000..=60000).contains(&c.port().unwrap()),
            "{}",
            c.candidate()
        );
    }
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    common::net::wait_gathered(&pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();

    let mut dev1 = dc1.events();
    let dc2 = next_data_channel(&mut pc2.events()).await;
    let mut dev2 = dc2.events();
    assert_eq!(next(&mut dev1).await, DataChannelEvent::Open);
    // Echo: pc2 sends back what it gets.
    dc1.send_text("through the stream").unwrap();
    assert_eq!(
        next_message(&mut dev2).await,
        Payload::Text("through the stream".into())
    );
    dc2.send_text("echo: through the stream").unwrap();
    assert_eq!(
        next_message(&mut dev1).await,
        Payload::Text("echo: through the stream".into())
    );
    for pc in [&pc1, &pc2] {
        let (local, remote) = pc.selected_candidate_pair().expect("a selected pair");
        assert!((40000..=60000).contains(&local.port()), "{local}");
        assert!((40000..=60000).contains(&remote.port()), "{remote}");
    }

    // Bulk: `mb` MB in 60 000-byte messages, at most 1 MB buffered.
    let chunk = vec![0x5au8; 60_000];
    let total = mb * 1_000_000;
    let count = total.div_ceil(chunk.len());
    let start = Instant::now();
    let sender = {
        let dc1 = dc1.clone();
        let chunk = chunk.clone();
        tokio::spawn(async move {
            let mut ev = dc1.events();
            dc1.set_buffered_amount_low_threshold(256 * 1024);
            for _ in 0..count {
                while dc1.buffered_amount() > 1_000_000 {
                    let _ = tokio::time::timeout(Duration::from_millis(50), ev.recv()).await;
                }
                dc1.send(&chunk).unwrap();
            }
        })
    };
    let received = within("the bulk transfer", async {
        let mut got = 0usize;
        while got < count * chunk.len() {
            match dev2.recv().await.expect("events") {
                DataChannelEvent::Message(Payload::Binary(b)) => {
                    assert_eq!(b.len(), chunk.len());
                    got += b.len();
                }
                DataChannelEvent::BufferedAmountLow => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        got
    })
    .await;
    sender.await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    let rate = received as f64 / secs / 1e6;
    println!(
        "TURN over {protocol}: {} MB in {secs:.2} s = {rate:.1} MB/s (rtcpeer to rtcpeer through coturn, relay-only)",
        received / 1_000_000
    );
    pc1.close();
    pc2.close();
    rate
}

/// The same bulk transfer over TURN/UDP, for comparison with TCP and TLS (the figures are
/// printed; none is asserted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_pair_over_udp_moves_bulk_data_for_comparison() {
    let turn = Coturn::start_streams(&[]);
    relay_pair(&turn.url(), None, "udp", 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_176_relay_only_pair_over_tcp_echoes_and_moves_bulk_data() {
    let turn = Coturn::start_streams(&[]);
    relay_pair(&turn.tcp_url(), None, "tcp", 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_176_relay_only_pair_over_tls_echoes_and_moves_bulk_data() {
    let turn = Coturn::start_streams(&[]);
    let ca = turn.ca_pem.clone().unwrap();
    relay_pair(&turn.tls_url("127.0.0.1"), Some(&ca), "tls", 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_with_a_host_name_checks_the_certificate_for_that_name() {
    let turn = Coturn::start_streams(&[]);
    let ca = turn.ca_pem.clone().unwrap();
    relay_pair(&turn.tls_url("localhost"), Some(&ca), "tls", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_server_address_over_tcp_and_tls() {
    let turn = Coturn::start_streams(&[]);
    let ca = turn.ca_pem.clone().unwrap();
    let tcp = format!("turn:[::1]:{}?transport=tcp", turn.addr.port());
    relay_pair(&tcp, None, "tcp", 1).await;
    relay_pair(&turn.tls_url("[::1]"), Some(&ca), "tls", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_182_untrusted_tls_root_fires_icecandidateerror_with_the_tls_error() {
    let turn = Coturn::start_streams(&[]);
    // A CA of its own that did not issue coturn's certificate.
    let (other_ca, _, _) = make_ca_and_server_cert();
    let url = turn.tls_url("127.0.0.1");
    for roots in [Some(other_ca.as_str()), None] {
        let pc = pc_with(&url, PASSWORD, roots);
        let mut ev = pc.events();
        pc.create_data_channel("x", None).unwrap();
        pc.set_local_description(None).await.unwrap();
        let events = gather_events(&mut ev).await;
        let errs = errors(&events);
        assert_eq!(errs.len(), 1, "{events:?}");
        assert_eq!(errs[0].error_code, 701);
        assert_eq!(errs[0].url, format!("{url}?transport=tcp"));
        assert!(
            errs[0].error_text.contains("TLS") && errs[0].error_text.contains("certificate"),
            "{}",
            errs[0].error_text
        );
        assert!(candidates(&events).is_empty(), "{events:?}");
        pc.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_182_wrong_credentials_over_tcp_fire_icecandidateerror_401() {
    let turn = Coturn::start_streams(&[]);
    let url = turn.tcp_url();
    let pc = pc_with(&url, "not-the-password", None);
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev).await;
    let errs = errors(&events);
    assert_eq!(errs.len(), 1, "{events:?}");
    assert_eq!(errs[0].error_code, 401);
    assert_eq!(errs[0].url, url);
    assert_eq!(errs[0].address.as_deref(), Some("127.0.0.1"));
    assert!(candidates(&events).is_empty(), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_182_unreachable_turn_tcp_and_turns_servers_fire_icecandidateerror_701() {
    let port = common::coturn::free_tcp_port();
    // WPT-182: the url of `turns:host:port` is reported as `turns:host:port?transport=tcp`.
    for (url, reported) in [
        (
            format!("turn:127.0.0.1:{port}?transport=tcp"),
            format!("turn:127.0.0.1:{port}?transport=tcp"),
        ),
        (
            format!("turns:127.0.0.1:{port}"),
            format!("turns:127.0.0.1:{port}?transport=tcp"),
        ),
    ] {
        let pc = pc_with(&url, PASSWORD, None);
        let mut ev = pc.events();
        pc.create_data_channel("x", None).unwrap();
        pc.set_local_description(None).await.unwrap();
        let events = gather_events(&mut ev).await;
        let errs = errors(&events);
        assert_eq!(errs.len(), 1, "{events:?}");
        assert_eq!(errs[0].error_code, 701);
        assert_eq!(errs[0].url, reported);
        // No local socket reached the server: address and port are null (webrtc-pc §4.8.3).
        assert_eq!(errs[0].address, None);
        assert_eq!(errs[0].port, None);
        assert!(errs[0].error_text.contains("TCP"), "{}", errs[0].error_text);
        assert!(candidates(&events).is_empty());
        pc.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_tcp_connection_fails_the_relayed_path_without_waiting_for_consent() {
    let turn = Coturn::start_streams(&[]);
    let url = turn.tcp_url();
    let pc1 = pc_with(&url, PASSWORD, None);
    let pc2 = common::net::pc();
    let dc1 = pc1.create_data_channel("x", None).unwrap();
    negotiate(&pc1, &pc2).await;
    let mut dev1 = dc1.events();
    assert_eq!(next(&mut dev1).await, DataChannelEvent::Open);
    let mut ev1 = pc1.events();
    let t0 = Instant::now();
    drop(turn);
    let error = within("icecandidateerror for the lost connection", async {
        loop {
            if let Ev::IceCandidateError(e) = ev1.recv().await.expect("events") {
                return *e;
            }
        }
    })
    .await;
    let state = within("ICE to leave connected", async {
        loop {
            let s = pc1.ice_connection_state();
            if !matches!(
                s,
                rtcpeer::IceConnectionState::Connected | rtcpeer::IceConnectionState::Completed
            ) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(error.error_code, 701);
    assert_eq!(error.url, url);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t0.elapsed()
    );
    println!(
        "after the TURN connection was lost: ICE {state:?}, {:?}",
        error.error_text
    );
}

/// Chromium and rtcpeer, both relay-only through coturn at `url` (Chromium's own url is
/// `chrome_url`): Chromium offers, rtcpeer answers, a message each way. Returns Chromium's
/// local relayed candidates' `relayProtocol`s (from its `icecandidate` events).
async fn chromium_relay_pair(
    url: &str,
    chrome_url: &str,
    roots: Option<&str>,
    ignore_certificate_errors: bool,
) -> Vec<String> {
    use common::chromium::{Chromium, LaunchOptions, js_literal};
    let mut chrome = Chromium::launch_with_or_panic(LaunchOptions {
        ignore_certificate_errors,
        ..LaunchOptions::default()
    })
    .await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. Run `scripts/test`."
    );
    chrome
        .eval(&format!(
            "window.pc = new RTCPeerConnection({{
               iceServers: [{{urls: {u}, username: {USER:?}, credential: {PASSWORD:?}}}],
               iceTransportPolicy: 'relay'}});
             window.got = [];
             window.protos = [];
             window.errs = [];
             pc.onicecandidate = e => e.candidate && e.candidate.candidate &&
               protos.push(String(e.candidate.relayProtocol));
             pc.onicecandidateerror = e => errs.push(e.errorCode + ' ' + e.errorText + ' ' + e.url);
             window.dc = pc.createDataChannel('relay');
             dc.onmessage = e => got.push(e.data);
             await pc.setLocalDescription();
             await new Promise(r => {{
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
             }});
             return null;",
            u = js_literal(&chrome_url),
        ))
        .await
        .expect("Chromium offers");
    let offer = chrome.eval("return pc.localDescription").await.unwrap();
    let offer_sdp = offer["sdp"].as_str().unwrap().to_string();
    let errs = chrome.eval("return errs").await.unwrap();
    assert!(
        offer_sdp.contains(" typ relay "),
        "Chromium gathered no relay candidate through {chrome_url} (errors {errs}):\n{offer_sdp}"
    );
    let protos: Vec<String> =
        serde_json::from_value(chrome.eval("return protos").await.unwrap()).unwrap();

    let pc = pc_with(url, PASSWORD, roots);
    let mut pev = pc.events();
    pc.set_remote_description(serde_json::from_value(offer).unwrap())
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    common::net::wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    assert!(answer.sdp.contains(" typ relay "), "{}", answer.sdp);
    assert!(!answer.sdp.contains(" typ host"), "{}", answer.sdp);
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .expect("Chromium accepts the answer");
    let dc = next_data_channel(&mut pev).await;
    let mut ev = dc.events();
    chrome
        .wait_until("return dc.readyState === 'open'", Duration::from_secs(20))
        .await
        .expect("Chromium's channel opens");
    chrome
        .eval("dc.send('from chromium via coturn'); return null")
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut ev).await,
        Payload::Text("from chromium via coturn".into())
    );
    dc.send_text("from rtcpeer via coturn").unwrap();
    chrome
        .wait_until(
            "return got.includes('from rtcpeer via coturn')",
            Duration::from_secs(20),
        )
        .await
        .expect("Chromium receives rtcpeer's message");
    let (local, remote) = pc.selected_candidate_pair().expect("a selected pair");
    assert!((40000..=60000).contains(&local.port()), "{local}");
    assert!((40000..=60000).contains(&remote.port()), "{remote}");
    pc.close();
    chrome.close().await.unwrap();
    protos
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_176_chromium_and_rtcpeer_both_relay_only_over_tcp() {
    let turn = Coturn::start_streams(&[]);
    let protos = chromium_relay_pair(&turn.tcp_url(), &turn.tcp_url(), None, false).await;
    assert!(
        !protos.is_empty() && protos.iter().all(|p| p == "tcp"),
        "{protos:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_176_chromium_and_rtcpeer_both_relay_only_over_tls() {
    let turn = Coturn::start_streams(&[]);
    let ca = turn.ca_pem.clone().unwrap();
    let url = turn.tls_url("127.0.0.1");
    // Chromium checks the certificate against its roots (without the switch it fails with
    // icecandidateerror 701 "Failed to establish connection", see
    // chromium_rejects_a_turns_certificate_from_an_unknown_ca).
    let protos = chromium_relay_pair(&url, &url, Some(&ca), true).await;
    assert!(
        !protos.is_empty() && protos.iter().all(|p| p == "tls"),
        "{protos:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_rejects_a_turns_certificate_from_an_unknown_ca() {
    use common::chromium::{Chromium, js_literal};
    let turn = Coturn::start_streams(&[]);
    let url = turn.tls_url("127.0.0.1");
    let mut chrome = Chromium::launch_or_panic().await;
    let errs = chrome
        .eval(&format!(
            "const pc = new RTCPeerConnection({{
               iceServers: [{{urls: {u}, username: {USER:?}, credential: {PASSWORD:?}}}],
               iceTransportPolicy: 'relay'}});
             const errs = [];
             pc.onicecandidateerror = e => errs.push(e.errorCode);
             pc.createDataChannel('x');
             await pc.setLocalDescription();
             await new Promise(r => {{
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
             }});
             const relay = pc.localDescription.sdp.includes(' typ relay ');
             pc.close();
             return {{errs, relay}};",
            u = js_literal(&url),
        ))
        .await
        .unwrap();
    assert_eq!(errs["relay"], false, "{errs}");
    assert_eq!(errs["errs"], serde_json::json!([701]), "{errs}");
    chrome.close().await.unwrap();
}
