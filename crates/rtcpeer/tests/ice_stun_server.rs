//! STUN servers from `iceServers`: a server-reflexive candidate from a local fake STUN server
//! on 127.0.0.1 (by IP literal and by the host name `localhost`), and `icecandidateerror`
//! when the server never answers or its name does not resolve (`.invalid`, RFC 6761). Waits
//! are on events with a deadline.

mod common;

use std::time::{Duration, Instant};

use common::ice::fake_stun_server;
use rtcpeer::{
    Configuration, IceGatheringState, IceServer, IceSettings, PeerConnection,
    PeerConnectionEvent as Ev, Settings,
};
use tokio::net::UdpSocket;

const DEADLINE: Duration = Duration::from_secs(10);

fn pc_with_stun(port: u16) -> PeerConnection {
    pc_with_stun_url(&format!("stun:127.0.0.1:{port}"), 0)
}

fn pc_with_stun_url(url: &str, pool_size: u8) -> PeerConnection {
    let config = Configuration {
        ice_candidate_pool_size: pool_size,
        ice_servers: vec![IceServer {
            urls: vec![url.to_string()],
            username: None,
            credential: None,
        }],
        ..Configuration::default()
    };
    // Short STUN timers so an unanswered request fails in ~50 ms.
    let mut ice = IceSettings::default();
    ice.agent.stun_rto = Duration::from_millis(10);
    ice.agent.stun_max_transmissions = 2;
    ice.agent.stun_last_wait = 2;
    PeerConnection::with_settings(
        config,
        Settings {
            ice,
            ..Settings::default()
        },
    )
    .unwrap()
}

/// All events until the null candidate (gathering complete).
async fn gather(pc: &PeerConnection) -> Vec<Ev> {
    let mut ev = pc.events();
    pc.create_data_channel("x", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    tokio::time::timeout(DEADLINE, async {
        let mut v = Vec::new();
        while let Some(e) = ev.recv().await {
            let end = matches!(e, Ev::IceCandidate(None));
            v.push(e);
            if end {
                return v;
            }
        }
        panic!("stream ended")
    })
    .await
    .expect("gathering completes")
}

/// The server-reflexive candidates among `events`.
fn srflx_candidates(events: &[Ev]) -> Vec<rtcpeer::IceCandidate> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidate(Some(c))
                if c.typ().map(|t| t.to_string()).as_deref() == Some("srflx") =>
            {
                Some((**c).clone())
            }
            _ => None,
        })
        .collect()
}

/// The `icecandidateerror` events among `events`.
fn candidate_errors(events: &[Ev]) -> Vec<rtcpeer::IceCandidateError> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidateError(err) => Some((**err).clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_server_gives_a_server_reflexive_candidate() {
    let (server_addr, mut stun) = fake_stun_server().await;
    let pc = pc_with_stun(server_addr.port());
    let events = gather(&pc).await;
    let host = stun.next_requester().await;
    let srflx = srflx_candidates(&events);
    assert_eq!(srflx.len(), 1, "{events:?}");
    let c = &srflx[0];
    assert_eq!(c.address(), Some("127.0.0.1"));
    assert_eq!(c.port(), Some(server_addr.port()));
    assert_eq!(c.related_address(), Some("127.0.0.1"));
    assert_eq!(c.related_port(), Some(host.port()));
    assert_eq!(pc.ice_gathering_state(), IceGatheringState::Complete);
    let sdp = pc.local_description().unwrap().sdp;
    assert!(sdp.contains("typ srflx raddr 127.0.0.1"), "{sdp}");
    assert!(!events.iter().any(|e| matches!(e, Ev::IceCandidateError(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_stun_server_gives_icecandidateerror_and_gathering_completes() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let pc = pc_with_stun(port);
    let events = gather(&pc).await;
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidateError(err) => Some((**err).clone()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{events:?}");
    let err = &errors[0];
    assert_eq!(err.url, format!("stun:127.0.0.1:{port}"));
    assert_eq!(err.error_code, 701);
    assert_eq!(err.address.as_deref(), Some("127.0.0.1"));
    assert!(err.port.is_some_and(|p| p != 0));
    assert_eq!(pc.ice_gathering_state(), IceGatheringState::Complete);
    // The host candidate was still signalled.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Ev::IceCandidate(Some(c)) if !c.candidate().is_empty()))
    );
    // The requests did reach the server.
    let mut buf = [0u8; 1500];
    assert!(silent.try_recv_from(&mut buf).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_server_by_host_name_localhost_is_resolved_by_the_driver() {
    let (server_addr, mut stun) = fake_stun_server().await;
    let url = format!("stun:localhost:{}", server_addr.port());
    let pc = pc_with_stun_url(&url, 0);
    let events = gather(&pc).await;
    // `localhost` resolved to 127.0.0.1 (the address family of our socket) and the
    // request reached the fake server from our host socket.
    let host = stun.next_requester().await;
    let srflx = srflx_candidates(&events);
    assert_eq!(srflx.len(), 1, "{events:?}");
    assert_eq!(srflx[0].address(), Some("127.0.0.1"));
    assert_eq!(srflx[0].port(), Some(server_addr.port()));
    assert_eq!(srflx[0].related_port(), Some(host.port()));
    assert!(candidate_errors(&events).is_empty(), "{events:?}");
    assert_eq!(pc.ice_gathering_state(), IceGatheringState::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_server_name_under_invalid_tld_gives_701_and_gathering_completes_at_once() {
    let url = "stun:stun.example.invalid:3478";
    let pc = pc_with_stun_url(url, 0);
    let start = Instant::now();
    let events = gather(&pc).await;
    // RFC 6761 §6.4: no query is sent for `.invalid`, so the 5 s lookup bound is not waited.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let errors = candidate_errors(&events);
    assert_eq!(errors.len(), 1, "{events:?}");
    let err = &errors[0];
    assert_eq!(err.url, url);
    assert_eq!(err.error_code, 701);
    // No local socket was used to reach the server: address and port are null
    // (webrtc-pc §4.8.3).
    assert_eq!(err.address, None);
    assert_eq!(err.port, None);
    assert!(!err.error_text.is_empty());
    assert_eq!(pc.ice_gathering_state(), IceGatheringState::Complete);
    // The host candidate was signalled, and the error came before gathering completed.
    let pos = |f: &dyn Fn(&Ev) -> bool| events.iter().position(f).unwrap();
    let host = pos(&|e| matches!(e, Ev::IceCandidate(Some(c)) if !c.candidate().is_empty()));
    let error = pos(&|e| matches!(e, Ev::IceCandidateError(_)));
    let complete = pos(&|e| matches!(e, Ev::IceGatheringStateChange(IceGatheringState::Complete)));
    assert!(host < complete && error < complete, "{events:?}");
    assert!(srflx_candidates(&events).is_empty());
}

/// With a candidate pool the name is resolved before setLocalDescription, and its error is
/// still reported only after it (WPT-127: gathering events follow the SLD).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connection_resolves_names_before_sld_and_reports_after_it() {
    let (server_addr, mut stun) = fake_stun_server().await;
    let good = format!("stun:localhost:{}", server_addr.port());
    let bad = "stun:nowhere.invalid";
    let config = Configuration {
        ice_candidate_pool_size: 1,
        ice_servers: vec![IceServer {
            urls: vec![good.clone(), bad.to_string()],
            username: None,
            credential: None,
        }],
        ..Configuration::default()
    };
    let pc = PeerConnection::with_settings(config, Settings::default()).unwrap();
    let mut early = pc.events();
    let task = pc.network_task();
    tokio::time::timeout(DEADLINE, async {
        while task.local_addresses().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("sockets bound before SLD");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(early.try_recv().is_none(), "no event before SLD");
    let events = gather(&pc).await;
    let host = stun.next_requester().await;
    assert_eq!(task.local_addresses(), vec![host]);
    assert_eq!(srflx_candidates(&events).len(), 1, "{events:?}");
    let errors = candidate_errors(&events);
    assert_eq!(errors.len(), 1, "{events:?}");
    assert_eq!(errors[0].url, bad);
    assert_eq!(errors[0].error_code, 701);
}
