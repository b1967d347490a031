//! `RTCIceTransport` (webrtc-pc §5.6) between two rtcpeer connections over real UDP on
//! 127.0.0.1: roles, states, candidates, parameters, the selected pair, events, close and
//! restart (WPT-335, 336, 338, 340, 342, 211 ICE part, 204). Every wait is on an event with a
//! deadline; a deadline passing is a failure.

mod common;

use common::signaling::{drain, exchange};

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use rtcpeer::{
    Configuration, EventStream, IceAgentConfig, IceCandidate, IceComponent,
    IceConnectionState as Ice, IceGatheringState as Gather, IceRole, IceServer, IceSettings,
    IceTransport, MediaKind, PeerConnection, PeerConnectionEvent as Ev, Settings, TransceiverInit,
};

const DEADLINE: Duration = Duration::from_secs(10);

fn settings(agent: IceAgentConfig) -> Settings {
    Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            agent,
            ..IceSettings::default()
        },
        ..Settings::default()
    }
}

fn pc() -> PeerConnection {
    PeerConnection::with_settings(
        Configuration::default(),
        settings(IceAgentConfig::default()),
    )
    .expect("new pc")
}

/// Consent freshness shortened for WPT-340 (defaults: a check every ~5 s, "disconnected"
/// after 5 s unanswered): a check every ~300 ms, "disconnected" after 1 s unanswered.
fn pc_fast_consent() -> PeerConnection {
    let agent = IceAgentConfig {
        consent_interval: Duration::from_millis(300),
        consent_rto: Duration::from_millis(100),
        disconnected_timeout: Duration::from_secs(1),
        ..IceAgentConfig::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings(agent)).expect("new pc")
}

#[derive(Default)]
struct Log {
    events: Vec<Ev>,
}

impl Log {
    fn transport_states(&self) -> Vec<Ice> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceTransportStateChange(_, s) => Some(*s),
                _ => None,
            })
            .collect()
    }
    fn transport_gathering(&self) -> Vec<Gather> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceTransportGatheringStateChange(_, s) => Some(*s),
                _ => None,
            })
            .collect()
    }
    fn connected(&self) -> bool {
        self.transport_states()
            .iter()
            .any(|s| matches!(s, Ice::Connected | Ice::Completed))
    }
    fn gathered(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Ev::IceCandidate(None)))
    }
    fn selected(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Ev::SelectedCandidatePairChange(_)))
    }
    fn candidates(&self) -> Vec<&IceCandidate> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceCandidate(Some(c)) if !c.candidate().is_empty() => Some(&**c),
                _ => None,
            })
            .collect()
    }
}

/// Runs both event streams until `done`, forwarding `icecandidate` events per direction
/// ((pc1 → pc2, pc2 → pc1)).
async fn pump(
    (pc1, ev1, log1): (&PeerConnection, &mut EventStream, &mut Log),
    (pc2, ev2, log2): (&PeerConnection, &mut EventStream, &mut Log),
    (to2, to1): (bool, bool),
    done: impl Fn(&Log, &Log) -> bool,
) {
    let run = async {
        while !done(log1, log2) {
            tokio::select! {
                e = ev1.recv() => {
                    let e = e.expect("pc1 event stream ended");
                    if let (true, Ev::IceCandidate(c)) = (to2, &e) {
                        pc2.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc2 addIceCandidate");
                    }
                    log1.events.push(e);
                }
                e = ev2.recv() => {
                    let e = e.expect("pc2 event stream ended");
                    if let (true, Ev::IceCandidate(c)) = (to1, &e) {
                        pc1.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc1 addIceCandidate");
                    }
                    log2.events.push(e);
                }
            }
        }
    };
    if tokio::time::timeout(DEADLINE, run).await.is_err() {
        panic!(
            "deadline passed: pc1 {:?} {:?}, pc2 {:?} {:?}",
            log1.transport_states(),
            log1.transport_gathering(),
            log2.transport_states(),
            log2.transport_gathering()
        );
    }
}

/// What the offerer negotiates.
#[derive(Clone, Copy)]
enum Media {
    Audio,
    Data,
    Both,
}

/// Negotiates `media`, then trickles (as `trickle` says per direction) until both sides are
/// connected, selected a pair and (when trickling both ways) finished gathering.
async fn connect(
    pc1: &PeerConnection,
    pc2: &PeerConnection,
    media: Media,
    trickle: (bool, bool),
) -> (Log, Log) {
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    if matches!(media, Media::Audio | Media::Both) {
        pc1.add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .expect("transceiver");
    }
    if matches!(media, Media::Data | Media::Both) {
        pc1.create_data_channel("dc", None).expect("dc");
    }
    exchange(pc1, pc2).await;
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (pc1, &mut ev1, &mut l1),
        (pc2, &mut ev2, &mut l2),
        trickle,
        |a, b| {
            a.connected()
                && b.connected()
                && a.selected()
                && b.selected()
                && a.gathered()
                && b.gathered()
        },
    )
    .await;
    // Events already fired when `done` held (e.g. the selected pair refreshed by the last
    // trickled candidate) belong to the logs too.
    l1.events.extend(drain(&mut ev1));
    l2.events.extend(drain(&mut ev2));
    (l1, l2)
}

/// Every handle that leads to the connection's ICE transport: all the same object.
fn all_transports(pc: &PeerConnection) -> IceTransport {
    let t = pc.ice_transport().expect("pc ice transport");
    for tr in pc.get_transceivers() {
        assert_eq!(tr.ice_transport().as_ref(), Some(&t));
    }
    if let Some(sctp) = pc.sctp() {
        assert_eq!(sctp.ice_transport().as_ref(), Some(&t));
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_335_connected_transports_roles_component_states() {
    let (pc1, pc2) = (pc(), pc());
    connect(&pc1, &pc2, Media::Both, (true, true)).await;
    let (t1, t2) = (all_transports(&pc1), all_transports(&pc2));
    assert_ne!(t1, t2);
    assert_eq!(t1.role(), IceRole::Controlling);
    assert_eq!(t2.role(), IceRole::Controlled);
    assert_eq!(t1.component(), IceComponent::Rtp);
    assert_eq!(t2.component(), IceComponent::Rtp);
    for t in [&t1, &t2] {
        assert!(matches!(t.state(), Ice::Connected | Ice::Completed));
        assert!(matches!(
            t.gathering_state(),
            Gather::Gathering | Gather::Complete
        ));
    }
    assert_eq!(t1.role().to_string(), "controlling");
    assert_eq!(t2.component().to_string(), "rtp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_336_candidates_selected_pair_and_parameters() {
    let (pc1, pc2) = (pc(), pc());
    let (l1, l2) = connect(&pc1, &pc2, Media::Audio, (true, true)).await;
    let (t1, t2) = (all_transports(&pc1), all_transports(&pc2));
    let (local1, remote1) = (t1.get_local_candidates(), t1.get_remote_candidates());
    let (local2, remote2) = (t2.get_local_candidates(), t2.get_remote_candidates());
    assert!(!local1.is_empty() && !remote1.is_empty());
    assert!(!local2.is_empty() && !remote2.is_empty());
    assert_eq!(local1.len(), remote2.len());
    assert_eq!(local2.len(), remote1.len());
    // The local candidates are those the icecandidate events carried.
    assert_eq!(local1.iter().collect::<Vec<_>>(), l1.candidates());
    assert_eq!(local2.iter().collect::<Vec<_>>(), l2.candidates());

    let p1 = t1.get_selected_candidate_pair().expect("pc1 selected pair");
    let p2 = t2.get_selected_candidate_pair().expect("pc2 selected pair");
    assert_eq!(p1.local, p2.remote);
    assert_eq!(p1.remote, p2.local);
    assert!(l1.candidates().contains(&&p1.local), "{p1:?}");
    assert!(l2.candidates().contains(&&p2.local), "{p2:?}");
    // The last selectedcandidatepairchange carried the same pair.
    let last = l1.events.iter().rev().find_map(|e| match e {
        Ev::SelectedCandidatePairChange(p) => Some((**p).clone()),
        _ => None,
    });
    assert_eq!(last.as_ref(), Some(&p1));

    let lp1 = t1.get_local_parameters().expect("pc1 local parameters");
    let rp1 = t1.get_remote_parameters().expect("pc1 remote parameters");
    let lp2 = t2.get_local_parameters().expect("pc2 local parameters");
    let rp2 = t2.get_remote_parameters().expect("pc2 remote parameters");
    assert!(!lp1.username_fragment.is_empty() && !lp1.password.is_empty());
    assert!(!lp2.username_fragment.is_empty() && !lp2.password.is_empty());
    assert_eq!(lp1, rp2);
    assert_eq!(lp2, rp1);
    let sdp = pc1.local_description().unwrap().sdp;
    assert!(sdp.contains(&format!("a=ice-ufrag:{}", lp1.username_fragment)));
    assert!(sdp.contains(&format!("a=ice-pwd:{}", lp1.password)));
}

// A current-thread runtime: the network task cannot run between SLD and the checks below,
// as in JavaScript, where gathering starts in a later task.
#[tokio::test]
async fn wpt_338_states_new_right_after_sld_then_gathering_complete() {
    let pc1 = pc();
    let mut ev = pc1.events();
    let tr = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .expect("transceiver");
    assert!(pc1.ice_transport().is_none());
    assert!(tr.ice_transport().is_none());
    let offer = pc1.create_offer(None).await.expect("offer");
    pc1.set_local_description(Some(offer)).await.expect("SLD");
    let t = tr.ice_transport().expect("transport after SLD");
    assert_eq!(pc1.ice_transport().as_ref(), Some(&t));
    assert_eq!(t.state(), Ice::New);
    assert_eq!(t.gathering_state(), Gather::New);
    assert_eq!(t.role(), IceRole::Controlling);
    assert!(t.get_remote_parameters().is_none());
    let mut seen = Vec::new();
    let run = async {
        while seen.last() != Some(&Gather::Complete) {
            let e = ev.recv().await.expect("event stream ended");
            if let Ev::IceTransportGatheringStateChange(from, s) = e {
                assert_eq!(from, t);
                seen.push(s);
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("gathering completes");
    assert_eq!(seen, vec![Gather::Gathering, Gather::Complete]);
    assert_eq!(t.gathering_state(), Gather::Complete);
    assert_eq!(t.state(), Ice::New);
    assert!(!t.get_local_candidates().is_empty());
}

/// WPT-340: the remote closes; consent checks go unanswered and the transport reports
/// "disconnected" (with consent timing shortened, see `pc_fast_consent`).
async fn remote_close_disconnects(media: Media) {
    let (pc1, pc2) = (pc_fast_consent(), pc_fast_consent());
    connect(&pc1, &pc2, media, (true, true)).await;
    let t1 = all_transports(&pc1);
    let mut ev1 = pc1.events();
    pc2.close();
    let run = async {
        loop {
            match ev1.recv().await.expect("event stream ended") {
                Ev::IceTransportStateChange(from, Ice::Disconnected) => {
                    assert_eq!(from, t1);
                    break;
                }
                Ev::IceTransportStateChange(_, s) => {
                    assert!(matches!(s, Ice::Connected | Ice::Completed), "{s:?}")
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("pc1's transport goes disconnected");
    assert_eq!(t1.state(), Ice::Disconnected);
    assert_eq!(pc1.ice_connection_state(), Ice::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_340_remote_close_disconnects_media() {
    remote_close_disconnects(Media::Audio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_340_remote_close_disconnects_datachannel() {
    remote_close_disconnects(Media::Data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_342_remote_peer_reflexive_candidates_are_not_exposed() {
    let (pc1, pc2) = (pc(), pc());
    // pc2's candidates never reach pc1: pc1 learns pc2 as a peer-reflexive candidate.
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("dc", None).expect("dc");
    exchange(&pc1, &pc2).await;
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        (true, false),
        |a, b| a.connected() && b.connected() && a.selected() && b.selected(),
    )
    .await;
    let (t1, t2) = (all_transports(&pc1), all_transports(&pc2));
    assert!(t1.get_remote_candidates().is_empty());
    assert!(!t2.get_remote_candidates().is_empty());
    // The pair pc1 uses has that prflx candidate as its remote.
    let p1 = t1.get_selected_candidate_pair().expect("pc1 selected pair");
    assert_eq!(
        p1.remote.typ().map(|t| t.to_string()).as_deref(),
        Some("prflx")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_211_close_sets_transport_closed_without_event_and_keeps_the_object() {
    let (pc1, pc2) = (pc(), pc());
    connect(&pc1, &pc2, Media::Both, (true, true)).await;
    let t1 = all_transports(&pc1);
    let tr = pc1.get_transceivers().remove(0);
    let mut ev1 = pc1.events();
    pc1.close();
    assert_eq!(t1.state(), Ice::Closed);
    assert_eq!(tr.ice_transport().as_ref(), Some(&t1));
    assert_eq!(pc1.ice_transport().as_ref(), Some(&t1));
    let rest = tokio::time::timeout(DEADLINE, async {
        let mut v = Vec::new();
        while let Some(e) = ev1.recv().await {
            v.push(e);
        }
        v
    })
    .await
    .expect("stream ends after close");
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e, Ev::IceTransportStateChange(_, Ice::Closed))),
        "{rest:?}"
    );
    assert_eq!(t1.state(), Ice::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_211_close_during_gathering_leaves_gathering_state() {
    // A STUN server that never answers keeps gathering going for tens of seconds.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().unwrap().port();
    let config = Configuration {
        ice_servers: vec![IceServer {
            urls: vec![format!("stun:127.0.0.1:{port}")],
            ..IceServer::default()
        }],
        ..Configuration::default()
    };
    let pc1 =
        PeerConnection::with_settings(config, settings(IceAgentConfig::default())).expect("pc");
    let mut ev = pc1.events();
    let tr = pc1
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .expect("transceiver");
    let offer = pc1.create_offer(None).await.expect("offer");
    pc1.set_local_description(Some(offer)).await.expect("SLD");
    let t = tr.ice_transport().expect("transport");
    let run = async {
        loop {
            if let Ev::IceTransportGatheringStateChange(_, s) =
                ev.recv().await.expect("event stream ended")
            {
                assert_eq!(s, Gather::Gathering);
                break;
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("gathering starts");
    pc1.close();
    assert_eq!(t.state(), Ice::Closed);
    assert_eq!(t.gathering_state(), Gather::Gathering);
    assert_eq!(pc1.ice_gathering_state(), Gather::Gathering);
    assert_eq!(tr.ice_transport().as_ref(), Some(&t));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_204_ice_restart_keeps_the_same_transport() {
    let (pc1, pc2) = (pc(), pc());
    connect(&pc1, &pc2, Media::Both, (true, true)).await;
    let (t1, t2) = (all_transports(&pc1), all_transports(&pc2));
    let (old1, old2) = (
        t1.get_local_parameters().unwrap(),
        t2.get_local_parameters().unwrap(),
    );
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    // A local restart for pc1, a remote one for pc2.
    pc1.restart_ice();
    exchange(&pc1, &pc2).await;
    let (new1, new2) = (
        t1.get_local_parameters().unwrap(),
        t2.get_local_parameters().unwrap(),
    );
    assert_ne!(new1, old1);
    assert_ne!(new2, old2);
    let selected_new = |log: &Log, ufrag: &str| {
        log.events.iter().any(|e| {
            matches!(e, Ev::SelectedCandidatePairChange(p)
                if p.local.username_fragment().as_deref() == Some(ufrag))
        })
    };
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        (true, true),
        |a, b| {
            selected_new(a, &new1.username_fragment)
                && selected_new(b, &new2.username_fragment)
                && a.gathered()
                && b.gathered()
        },
    )
    .await;
    assert_eq!(all_transports(&pc1), t1);
    assert_eq!(all_transports(&pc2), t2);
    // The restart's gathering events came from the same object.
    for (log, t) in [(&l1, &t1), (&l2, &t2)] {
        assert_eq!(
            log.transport_gathering(),
            vec![Gather::Gathering, Gather::Complete]
        );
        assert!(log.events.iter().all(|e| match e {
            Ev::IceTransportGatheringStateChange(from, _)
            | Ev::IceTransportStateChange(from, _) => from == t,
            _ => true,
        }));
    }
    assert_eq!(t1.get_remote_parameters().as_ref(), Some(&new2));
    assert_eq!(t2.get_remote_parameters().as_ref(), Some(&new1));
    let p1 = t1.get_selected_candidate_pair().unwrap();
    let p2 = t2.get_selected_candidate_pair().unwrap();
    assert_eq!(p1.local, p2.remote);
    assert_eq!(p1.remote, p2.local);
}
