//! TURN over UDP against a real coturn (`turnserver`, Debian's `coturn`) that each test starts
//! on 127.0.0.1 in its network namespace (`common/coturn.rs`): relay-only rtcpeer pairs
//! connect and move data-channel data through the relay, wrong credentials and an unreachable
//! server fire `icecandidateerror`, a short allocation lifetime is refreshed, and with policy
//! "all" a dead TURN server leaves the host candidates to connect. Waits are on events with a
//! deadline.
//!
//! Needs `turnserver` and an isolated network: `unshare --net sh -c 'ip link set lo up &&
//! cargo test -p rtcpeer --test turn_coturn'` (scripts/test does both).

mod common;

use std::time::Duration;

use common::coturn::{Coturn, PASSWORD, USER, free_udp_port};
use common::net::{
    candidates, gather_events, negotiate, next, next_data_channel, next_not_low, within,
};
use rtcpeer::{
    Configuration, DataChannelEvent, IceCandidateType, IceServer, IceSettings, IceTransportPolicy,
    Payload, PeerConnection, PeerConnectionEvent as Ev, Settings,
};

fn pc_with(url: &str, password: &str, policy: IceTransportPolicy) -> PeerConnection {
    let config = Configuration {
        ice_servers: vec![IceServer {
            urls: vec![url.to_string()],
            username: Some(USER.into()),
            credential: Some(password.into()),
        }],
        ice_transport_policy: policy,
        ..Configuration::default()
    };
    // Short request timers so an unanswered Allocate fails in well under a second.
    let mut ice = IceSettings::default();
    ice.agent.stun_rto = Duration::from_millis(50);
    ice.agent.stun_max_transmissions = 3;
    ice.agent.stun_last_wait = 2;
    PeerConnection::with_settings(
        config,
        Settings {
            ice,
            ..Settings::default()
        },
    )
    .expect("pc")
}

/// A message each way on a negotiated channel; returns pc2's channel and its events.
async fn ping_pong(
    pc1: &PeerConnection,
    pc2: &PeerConnection,
    dc1: &rtcpeer::DataChannel,
) -> (rtcpeer::DataChannel, rtcpeer::DataChannelEvents) {
    let mut ev1 = dc1.events();
    let dc2 = next_data_channel(&mut pc2.events()).await;
    let mut ev2 = dc2.events();
    assert_eq!(next(&mut ev1).await, DataChannelEvent::Open);
    dc1.send_text("through the relay").unwrap();
    loop {
        match next(&mut ev2).await {
            DataChannelEvent::Message(p) => {
                assert_eq!(p, Payload::Text("through the relay".into()));
                break;
            }
            DataChannelEvent::Open | DataChannelEvent::BufferedAmountLow => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let big = vec![7u8; 60_000];
    dc2.send(&big).unwrap();
    assert_eq!(
        next_not_low(&mut ev1).await,
        DataChannelEvent::Message(Payload::Binary(big))
    );
    let _ = pc1;
    (dc2, ev2)
}

fn only_relay_in_sdp(pc: &PeerConnection) {
    let sdp = pc.local_description().expect("local description").sdp;
    let cands: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(!cands.is_empty(), "no candidate in\n{sdp}");
    for c in cands {
        assert!(
            c.contains(" typ relay raddr "),
            "not a relayed candidate: {c}"
        );
        assert!(c.contains(" 127.0.0.1 "), "{c}");
    }
}

#[tokio::test]
async fn wpt_176_relay_only_pair_gathers_relayed_candidates_in_order_and_moves_data_through_coturn()
{
    let turn = Coturn::start(&[]);
    let url = turn.url();
    let pc1 = pc_with(&url, PASSWORD, IceTransportPolicy::Relay);
    let pc2 = pc_with(&url, PASSWORD, IceTransportPolicy::Relay);
    let mut ev1 = pc1.events();
    let dc1 = pc1.create_data_channel("relay", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev1).await;
    // Only relayed candidates, with relayProtocol and url (webrtc-pc §4.8.1).
    let cands = candidates(&events);
    assert!(!cands.is_empty(), "{events:?}");
    for c in &cands {
        assert_eq!(c.typ(), Some(IceCandidateType::Relay), "{}", c.candidate());
        assert_eq!(c.relay_protocol(), Some("udp"));
        assert_eq!(c.url(), Some(url.as_str()));
        // Type preference 0 (RFC 8445 §5.1.2.2).
        assert_eq!(c.priority().unwrap() >> 24, 0);
    }
    // WPT-176: the per-transport end marker, then the gathering states, then null.
    let tail: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidate(Some(c)) if c.candidate().is_empty() => Some("end".to_string()),
            Ev::IceCandidate(None) => Some("null".into()),
            Ev::IceTransportGatheringStateChange(_, s) => Some(format!("t:{s}")),
            Ev::IceGatheringStateChange(s) => Some(format!("pc:{s}")),
            _ => None,
        })
        .collect();
    let n = tail.len();
    assert_eq!(
        tail[n - 4..],
        ["end", "t:complete", "pc:complete", "null"],
        "{tail:?}"
    );
    only_relay_in_sdp(&pc1);

    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    common::net::wait_gathered(&pc2).await;
    only_relay_in_sdp(&pc2);
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    ping_pong(&pc1, &pc2, &dc1).await;
    // Both selected relayed addresses of coturn (127.0.0.1, a port of its relay range).
    for pc in [&pc1, &pc2] {
        let (local, remote) = pc.selected_candidate_pair().expect("a selected pair");
        assert_ne!(local.port(), turn.addr.port());
        assert!((40000..=60000).contains(&local.port()), "{local}");
        assert!((40000..=60000).contains(&remote.port()), "{remote}");
    }
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn relay_only_to_host_connects_through_coturn() {
    let turn = Coturn::start(&[]);
    let pc1 = pc_with(&turn.url(), PASSWORD, IceTransportPolicy::Relay);
    let pc2 = common::net::pc();
    let dc1 = pc1.create_data_channel("relay", None).unwrap();
    negotiate(&pc1, &pc2).await;
    only_relay_in_sdp(&pc1);
    let (_dc2, mut ev2) = ping_pong(&pc1, &pc2, &dc1).await;
    // close() ends the channel for the peer (the last SCTP/DTLS datagrams go through the
    // relay) and releases the allocation (Refresh with LIFETIME 0, RFC 8656 §7).
    pc1.close();
    within("the peer's channel to close", async {
        while next(&mut ev2).await != DataChannelEvent::Close {}
    })
    .await;
    within("coturn to log the deallocation", async {
        while turn
            .log_lines("refreshed")
            .iter()
            .all(|l| !l.contains("lifetime=0"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn wrong_credentials_fire_icecandidateerror_401() {
    let turn = Coturn::start(&[]);
    let url = turn.url();
    let pc = pc_with(&url, "not-the-password", IceTransportPolicy::Relay);
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev).await;
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidateError(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{events:?}");
    let e = errors[0];
    assert_eq!(e.error_code, 401);
    assert_eq!(e.url, url);
    assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
    assert!(e.port.is_some_and(|p| p != 0));
    assert!(candidates(&events).is_empty(), "{events:?}");
}

#[tokio::test]
async fn wpt_182_unreachable_turn_server_fires_icecandidateerror_and_policy_all_uses_host_candidates()
 {
    // A port where nothing listens: the Allocate goes unanswered (701, webrtc-pc §4.8.2).
    let url = format!("turn:127.0.0.1:{}", free_udp_port());
    let pc1 = pc_with(&url, PASSWORD, IceTransportPolicy::All);
    let pc2 = common::net::pc();
    let mut ev = pc1.events();
    let dc1 = pc1.create_data_channel("fallback", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev).await;
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidateError(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!((300..=799).contains(&errors[0].error_code));
    assert_eq!(errors[0].error_code, 701);
    assert_eq!(errors[0].url, url);
    assert_eq!(errors[0].address.as_deref(), Some("127.0.0.1"));
    let cands = candidates(&events);
    assert!(!cands.is_empty());
    assert!(
        cands
            .iter()
            .all(|c| c.typ() == Some(IceCandidateType::Host))
    );
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    common::net::wait_gathered(&pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    ping_pong(&pc1, &pc2, &dc1).await;
}

#[tokio::test]
async fn short_allocation_lifetime_is_refreshed_and_the_relay_keeps_working() {
    // coturn grants at most 6 s: the client refreshes every 3 s (half the lifetime).
    let turn = Coturn::start(&["max-allocate-lifetime=6"]);
    let pc1 = pc_with(&turn.url(), PASSWORD, IceTransportPolicy::Relay);
    let pc2 = common::net::pc();
    let dc1 = pc1.create_data_channel("long", None).unwrap();
    negotiate(&pc1, &pc2).await;
    let (_dc2, mut ev2) = ping_pong(&pc1, &pc2, &dc1).await;
    // Well past the first lifetime.
    tokio::time::sleep(Duration::from_secs(10)).await;
    dc1.send_text("still here").unwrap();
    assert_eq!(
        next_not_low(&mut ev2).await,
        DataChannelEvent::Message(Payload::Text("still here".into()))
    );
    // The first grant was capped to 6 s, so the client refreshed before it ran out (at half
    // the lifetime, `turn/mod.rs`); coturn logs each processed Refresh.
    let refreshes = turn.log_lines("REFRESH processed, success");
    assert!(
        !refreshes.is_empty(),
        "expected a successful REFRESH in coturn's log:\n{}",
        turn.log.lock().unwrap().join("\n")
    );
    let (a, b) = (pc1.selected_candidate_pair(), pc2.selected_candidate_pair());
    assert!(a.is_some() && b.is_some());
    assert_eq!(
        pc1.connection_state(),
        rtcpeer::PeerConnectionState::Connected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_and_rtcpeer_both_relay_only_through_coturn_exchange_data() {
    use common::chromium::{Chromium, js_literal};
    let turn = Coturn::start(&[]);
    let url = turn.url();
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. Run `scripts/test`."
    );
    chrome
        .eval(&format!(
            "window.pc = new RTCPeerConnection({{
               iceServers: [{{urls: {url}, username: {USER:?}, credential: {PASSWORD:?}}}],
               iceTransportPolicy: 'relay'}});
             window.got = [];
             window.dc = pc.createDataChannel('relay');
             dc.onmessage = e => got.push(e.data);
             await pc.setLocalDescription();
             await new Promise(r => {{
               if (pc.iceGatheringState === 'complete') return r();
               pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
             }});
             return null;",
            url = js_literal(&url),
        ))
        .await
        .expect("Chromium offers");
    let offer = chrome.eval("return pc.localDescription").await.unwrap();
    let offer_sdp = offer["sdp"].as_str().unwrap().to_string();
    assert!(
        offer_sdp.contains(" typ relay "),
        "Chromium gathered no relay candidate:\n{offer_sdp}"
    );
    assert!(!offer_sdp.contains(" typ host"), "{offer_sdp}");

    let pc = pc_with(&url, PASSWORD, IceTransportPolicy::Relay);
    pc.set_remote_description(serde_json::from_value(offer).unwrap())
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    common::net::wait_gathered(&pc).await;
    only_relay_in_sdp(&pc);
    let answer = pc.local_description().unwrap();
    let dc = next_data_channel_after(&pc, &mut chrome, &answer).await;
    let mut ev = dc.events();
    chrome
        .wait_until("return dc.readyState === 'open'", Duration::from_secs(20))
        .await
        .expect("Chromium's channel opens");
    chrome
        .eval("dc.send('from chromium via coturn'); return null")
        .await
        .unwrap();
    loop {
        match next(&mut ev).await {
            DataChannelEvent::Message(p) => {
                assert_eq!(p, Payload::Text("from chromium via coturn".into()));
                break;
            }
            DataChannelEvent::Open | DataChannelEvent::BufferedAmountLow => {}
            other => panic!("unexpected {other:?}"),
        }
    }
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
}

/// Gives Chromium the answer and returns rtcpeer's `datachannel` for Chromium's channel.
async fn next_data_channel_after(
    pc: &PeerConnection,
    chrome: &mut common::chromium::Chromium,
    answer: &rtcpeer::SessionDescription,
) -> rtcpeer::DataChannel {
    let mut ev = pc.events();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            common::chromium::js_literal(answer)
        ))
        .await
        .expect("Chromium accepts the answer");
    next_data_channel(&mut ev).await
}

#[tokio::test]
async fn turn_server_given_by_host_name_is_resolved_by_the_driver() {
    // `localhost` is resolved by the driver like a STUN host name (RFC 7065 §3.1).
    let turn = Coturn::start(&[]);
    let url = format!("turn:localhost:{}", turn.addr.port());
    let pc = pc_with(&url, PASSWORD, IceTransportPolicy::Relay);
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    let events = gather_events(&mut ev).await;
    let cands = candidates(&events);
    assert_eq!(cands.len(), 1, "{events:?}");
    assert_eq!(cands[0].typ(), Some(IceCandidateType::Relay));
    assert_eq!(cands[0].url(), Some(url.as_str()));
}

// A current-thread runtime, as in ice_connect.rs's WPT-180 test: nothing gathers between
// SLD and the first reads.
#[tokio::test]
async fn wpt_180_gathering_state_tracks_the_transport_while_a_turn_allocation_is_made() {
    use rtcpeer::IceGatheringState as Gather;
    let turn = Coturn::start(&[]);
    let pc = pc_with(&turn.url(), PASSWORD, IceTransportPolicy::Relay);
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    let t = pc
        .sctp()
        .expect("sctp after SLD(offer)")
        .ice_transport()
        .expect("sctp.transport.iceTransport");
    assert_eq!(t.gathering_state(), Gather::New);
    assert_eq!(pc.ice_gathering_state(), Gather::New);
    let mut tokens = Vec::new();
    within("gathering to complete", async {
        while let Some(e) = ev.recv().await {
            assert_eq!(pc.ice_gathering_state(), t.gathering_state());
            match e {
                Ev::IceTransportGatheringStateChange(_, s) => tokens.push(format!("t:{s}")),
                Ev::IceGatheringStateChange(s) => tokens.push(format!("pc:{s}")),
                Ev::IceCandidate(Some(c)) if c.candidate().is_empty() => tokens.push("end".into()),
                Ev::IceCandidate(Some(c)) => {
                    assert_eq!(c.typ(), Some(IceCandidateType::Relay));
                    tokens.push("relay".into())
                }
                Ev::IceCandidate(None) => {
                    tokens.push("null".into());
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    // The relayed candidate is gathered while both states are "gathering" (the allocation
    // completes gathering), then the WPT-176 order.
    assert_eq!(
        tokens,
        [
            "t:gathering",
            "pc:gathering",
            "relay",
            "end",
            "t:complete",
            "pc:complete",
            "null"
        ]
    );
    assert_eq!(t.gathering_state(), Gather::Complete);
    assert_eq!(pc.ice_gathering_state(), Gather::Complete);
}
