//! STUN servers from `iceServers` (IP-literal `stun:` URLs): a server-reflexive candidate
//! from a local fake STUN server on 127.0.0.1, and `icecandidateerror` when the server never
//! answers. Waits are on events with a deadline.

use std::time::Duration;

use rtcpeer::stun::{Class, Message, MessageWriter, Method};
use rtcpeer::{
    Configuration, IceGatheringState, IceServer, IceSettings, PeerConnection,
    PeerConnectionEvent as Ev, Settings,
};
use tokio::net::UdpSocket;

const DEADLINE: Duration = Duration::from_secs(10);

fn pc_with_stun(port: u16) -> PeerConnection {
    let config = Configuration {
        ice_servers: vec![IceServer {
            urls: vec![format!("stun:127.0.0.1:{port}")],
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_server_gives_a_server_reflexive_candidate() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server_addr = server.local_addr().unwrap();
    // The fake server answers every Binding request with its own address as the mapped
    // address (a loopback address nobody but this test uses).
    let answering = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let mut answered = 0;
        loop {
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let Ok(msg) = Message::parse(&buf[..n]) else {
                continue;
            };
            if msg.class() != Class::Request || msg.method() != Method::BINDING {
                continue;
            }
            let mut out = Vec::new();
            {
                let mut w = MessageWriter::new(
                    &mut out,
                    Class::SuccessResponse,
                    Method::BINDING,
                    msg.transaction_id(),
                );
                w.xor_mapped_address(server_addr).unwrap();
                w.fingerprint().unwrap();
            }
            server.send_to(&out, from).await.unwrap();
            answered += 1;
            if answered == 1 {
                return from;
            }
        }
    });
    let pc = pc_with_stun(server_addr.port());
    let events = gather(&pc).await;
    let host = answering.await.unwrap();
    let srflx: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ev::IceCandidate(Some(c))
                if c.typ().map(|t| t.to_string()).as_deref() == Some("srflx") =>
            {
                Some(c.clone())
            }
            _ => None,
        })
        .collect();
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
            Ev::IceCandidateError(err) => Some(err.clone()),
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
