//! A `UdpMux`: one UDP socket on 127.0.0.1 serving many connections (issue 3 item 7).
//! Fifty pairs connect where one side of every pair shares the mux; that side's only host
//! candidate is the mux's address; closing a connection removes its routes; an ICE restart
//! through the mux moves routing to the new ufrag; STUN server answers reach the connection
//! that asked.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rtcpeer::{
    Configuration, IceGatheringState, IceServer, IceSettings, PeerConnection,
    PeerConnectionEvent as Ev, Settings, UdpMux,
};
use tokio::task::JoinSet;

use common::ice::{connect_without_trickle, fake_stun_server, host_candidates, wait_event};

const PAIRS: usize = 50;

fn pc(mux: Option<&UdpMux>) -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            udp_mux: mux.cloned(),
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("new pc")
}

fn ufrag(pc: &PeerConnection) -> String {
    pc.ice_transport()
        .and_then(|t| t.get_local_parameters())
        .expect("local parameters")
        .username_fragment
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_connections_share_one_socket() {
    let mux = UdpMux::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind the mux");
    let port = mux.local_addr().port();

    // Every pair connects concurrently; the mux side offers in half of them.
    let mut set = JoinSet::new();
    for i in 0..PAIRS {
        let (served, peer) = (pc(Some(&mux)), pc(None));
        set.spawn(async move {
            if i % 2 == 0 {
                connect_without_trickle(&served, &peer).await;
            } else {
                connect_without_trickle(&peer, &served).await;
            }
            (served, peer)
        });
    }
    let mut pairs = Vec::new();
    while let Some(r) = set.join_next().await {
        pairs.push(r.expect("pair task"));
    }
    assert_eq!(pairs.len(), PAIRS);

    for (served, peer) in &pairs {
        // The mux's port is the only port among the served side's host candidates.
        assert_eq!(host_candidates(served), vec![mux.local_addr()]);
        let (local, remote) = served.selected_candidate_pair().expect("selected pair");
        assert_eq!(local.port(), port);
        assert_eq!(remote, host_candidates(peer)[0]);
        assert_ne!(host_candidates(peer)[0].port(), port);
        assert!(mux.routes_ufrag(&ufrag(served)));
    }
    let c = mux.counters();
    assert_eq!(
        (c.connections, c.ufrags, c.addresses),
        (PAIRS, PAIRS, PAIRS)
    );
    assert_eq!(mux.queue_full_drops(), 0);

    // Closing a connection removes its ufrag and its learnt address.
    let (closed, _) = &pairs[0];
    let closed_ufrag = ufrag(closed);
    closed.close();
    closed.network_task().stopped().await;
    let c = mux.counters();
    assert_eq!(
        (c.connections, c.ufrags, c.addresses),
        (PAIRS - 1, PAIRS - 1, PAIRS - 1)
    );
    assert!(!mux.routes_ufrag(&closed_ufrag));

    // Dropping every handle of a connection (without close) does the same.
    let (dropped, _) = pairs.remove(1);
    let task = dropped.network_task();
    drop(dropped);
    task.stopped().await;
    assert_eq!(mux.counters().connections, PAIRS - 2);

    // An ICE restart on a served connection: the new generation's checks reach it through
    // the mux (a new selected pair with the new ufrag) and only the new ufrag routes.
    let (served, peer) = &pairs[2];
    let old = ufrag(served);
    let mut ev = served.events();
    let mut peer_ev = peer.events();
    let gathered = |e: &Ev| matches!(e, Ev::IceGatheringStateChange(IceGatheringState::Complete));
    served.restart_ice();
    served
        .set_local_description(None)
        .await
        .expect("SLD(restart offer)");
    // No trickle: the descriptions leave with the new generation's candidates.
    wait_event(&mut ev, "served gathering complete", gathered).await;
    peer.set_remote_description(served.local_description().expect("offer"))
        .await
        .expect("SRD(restart offer)");
    peer.set_local_description(None).await.expect("SLD(answer)");
    wait_event(&mut peer_ev, "peer gathering complete", gathered).await;
    served
        .set_remote_description(peer.local_description().expect("answer"))
        .await
        .expect("SRD(answer)");
    let new = ufrag(served);
    assert_ne!(old, new);
    wait_event(&mut ev, "selected pair of the new generation", |e| {
        matches!(e, Ev::SelectedCandidatePairChange(p)
            if p.local.username_fragment().as_deref() == Some(new.as_str()))
    })
    .await;
    assert!(mux.routes_ufrag(&new));
    assert!(!mux.routes_ufrag(&old));
    assert_eq!(mux.counters().ufrags, PAIRS - 2);
}

/// Several connections on one mux gather from the same STUN server: each answer reaches
/// the connection that asked (routed by transaction id, since the server's address is
/// shared), so each gets its server-reflexive candidate and no `icecandidateerror`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_server_answers_reach_each_asking_connection() {
    let mux = UdpMux::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind the mux");
    let (server, _stun) = fake_stun_server().await;
    let mut set = JoinSet::new();
    for _ in 0..5 {
        let config = Configuration {
            ice_servers: vec![IceServer {
                urls: vec![format!("stun:{server}")],
                username: None,
                credential: None,
            }],
            ..Configuration::default()
        };
        let settings = Settings {
            ice: IceSettings {
                udp_mux: Some(mux.clone()),
                ..IceSettings::default()
            },
            ..Settings::default()
        };
        let pc = PeerConnection::with_settings(config, settings).expect("new pc");
        set.spawn(async move {
            let mut ev = pc.events();
            pc.create_data_channel("x", None).unwrap();
            pc.set_local_description(None).await.unwrap();
            let mut events = Vec::new();
            wait_event(&mut ev, "the null candidate", |e| {
                events.push(format!("{e:?}"));
                matches!(e, Ev::IceCandidate(None))
            })
            .await;
            (pc, events)
        });
    }
    while let Some(r) = set.join_next().await {
        let (pc, events) = r.expect("task");
        let srflx: Vec<&String> = events.iter().filter(|e| e.contains("typ srflx")).collect();
        assert_eq!(srflx.len(), 1, "{events:#?}");
        assert!(
            !events.iter().any(|e| e.contains("IceCandidateError")),
            "{events:#?}"
        );
        assert_eq!(host_candidates(&pc), vec![mux.local_addr()]);
    }
}
