//! A remote candidate hidden behind an mDNS name (`<uuid>.local`, as browsers send by
//! default; draft-ietf-mmusic-mdns-ice-candidates) is resolved by the driver's mDNS socket
//! (`IceSettings::mdns`) and ICE connects through it. Each test runs in a network namespace
//! of its own (see `common/netns.rs`) with multicast enabled on `lo`, and answers queries
//! with a tiny responder written here from RFC 6762 (independent of the library's codec).
//!
//! The hiding peer never learns the resolving peer's candidates, so the only way the two
//! can meet is the resolving peer sending checks to the resolved address: a connection
//! proves the resolution.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::netns;
use rtcpeer::{
    Configuration, IceConnectionState as Ice, IceSettings, PeerConnection,
    PeerConnectionEvent as Ev, SessionDescription, Settings,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

const DEADLINE: Duration = Duration::from_secs(15);
const NAME: &str = "6b3e1d2c-5a4f-4e3d-9c8b-7a6f5e4d3c2b.local";
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// What the responder saw: the source of each query for our name.
type Asked = Arc<Mutex<Vec<SocketAddr>>>;

/// The question name of a query as lower-case dotted text, if `data` is a query whose
/// first question is written without compression (RFC 1035 §4.1.2).
fn query_name(data: &[u8]) -> Option<(String, usize)> {
    if data.len() < 12 || data[2] & 0x80 != 0 || u16::from_be_bytes([data[4], data[5]]) == 0 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let l = *data.get(at)? as usize;
        if l == 0 {
            break;
        }
        if l > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(data.get(at + 1..at + 1 + l)?).to_lowercase());
        at += 1 + l;
    }
    // Name, root label, QTYPE, QCLASS.
    Some((labels.join("."), at + 1 + 4))
}

/// An A answer for NAME (RFC 6762 §18): to the group (id 0, no question) or, for a legacy
/// unicast query (source port not 5353, §6.7), echoing the id and the question with TTL 10.
fn answer(query: &[u8], question_end: usize, ip: Ipv4Addr, legacy: bool) -> Vec<u8> {
    let id = if legacy { [query[0], query[1]] } else { [0, 0] };
    let mut v = vec![id[0], id[1], 0x84, 0x00, 0, legacy as u8, 0, 1, 0, 0, 0, 0];
    if legacy {
        v.extend_from_slice(&query[12..question_end]);
    }
    for l in NAME.split('.') {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v.extend([0x00, 0x01, 0x80, 0x01]); // A, IN with cache-flush
    v.extend(if legacy { 10u32 } else { 120 }.to_be_bytes());
    v.extend([0x00, 0x04]);
    v.extend(ip.octets());
    v
}

/// A responder on 0.0.0.0:5353 in the group on `lo` (with SO_REUSEADDR when `share`).
fn responder(share: bool, ip: Ipv4Addr) -> Asked {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(share).unwrap();
    s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5353)).into())
        .unwrap();
    s.join_multicast_v4(&GROUP, &Ipv4Addr::LOCALHOST).unwrap();
    s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    s.set_nonblocking(true).unwrap();
    let socket = UdpSocket::from_std(s.into()).unwrap();
    let asked: Asked = Arc::default();
    let log = asked.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let q = &buf[..n];
            let Some((name, end)) = query_name(q) else {
                continue;
            };
            if name != NAME {
                continue;
            }
            log.lock().unwrap().push(from);
            let legacy = from.port() != 5353;
            let to = if legacy {
                from
            } else {
                SocketAddr::V4(SocketAddrV4::new(GROUP, 5353))
            };
            socket
                .send_to(&answer(q, end, ip, legacy), to)
                .await
                .unwrap();
        }
    });
    asked
}

fn pc(mdns: bool) -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            mdns,
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).unwrap()
}

fn without_candidates(d: SessionDescription) -> SessionDescription {
    let sdp = d
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=candidate"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    SessionDescription { sdp, ..d }
}

/// `hider` (mDNS off: it only hides) offers; `resolver` (mDNS on) answers and gets the
/// hider's candidates with the address replaced by NAME; the hider never gets the
/// resolver's. Returns once both are ICE connected; the resolver's selected pair.
async fn connect_through_name() -> (SocketAddr, SocketAddr) {
    let hider = pc(false);
    let resolver = pc(true);
    let (mut he, mut re) = (hider.events(), resolver.events());
    hider.create_data_channel("x", None).unwrap();
    let offer = hider.create_offer(None).await.unwrap();
    hider
        .set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    resolver.set_remote_description(offer).await.unwrap();
    resolver.set_local_description(None).await.unwrap();
    let answer = without_candidates(resolver.local_description().unwrap());
    hider.set_remote_description(answer).await.unwrap();
    let connected = |s: Ice| matches!(s, Ice::Connected | Ice::Completed);
    let (mut h_up, mut r_up) = (false, false);
    let mut hidden = 0;
    tokio::time::timeout(DEADLINE, async {
        while !(h_up && r_up) {
            tokio::select! {
                e = he.recv() => match e.expect("hider events") {
                    Ev::IceCandidate(Some(c)) if !c.candidate().is_empty() => {
                        let mut init = c.to_json();
                        let addr = c.address().unwrap().to_string();
                        init.candidate = init.candidate.replace(&format!(" {addr} "), &format!(" {NAME} "));
                        assert!(init.candidate.contains(NAME), "{}", init.candidate);
                        hidden += 1;
                        resolver.add_ice_candidate(Some(init)).await.unwrap();
                    }
                    Ev::IceConnectionStateChange(s) => h_up |= connected(s),
                    _ => {}
                },
                e = re.recv() => {
                    if let Ev::IceConnectionStateChange(s) = e.expect("resolver events") {
                        assert_ne!(s, Ice::Failed);
                        r_up |= connected(s);
                    }
                }
            }
        }
    })
    .await
    .expect("both reach ICE connected through the resolved name");
    assert!(hidden >= 1);
    let pair = resolver.selected_candidate_pair().expect("selected pair");
    hider.close();
    resolver.close();
    pair
}

#[test]
fn local_candidate_is_resolved_over_multicast_and_ice_connects() {
    if !netns::enter("local_candidate_is_resolved_over_multicast_and_ice_connects") {
        return;
    }
    netns::multicast_on_lo();
    assert!(!IceSettings::default().mdns, "mDNS is opt-in");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let asked = responder(true, Ipv4Addr::LOCALHOST);
        let (local, remote) = connect_through_name().await;
        assert_eq!(local.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(remote.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let asked = asked.lock().unwrap().clone();
        assert!(!asked.is_empty(), "no query reached the responder");
        // QM queries from the shared mDNS port (RFC 6762 §5.2), answered by multicast.
        assert!(asked.iter().all(|a| a.port() == 5353), "{asked:?}");
    });
}

#[test]
fn legacy_unicast_query_is_used_when_port_5353_is_taken() {
    if !netns::enter("legacy_unicast_query_is_used_when_port_5353_is_taken") {
        return;
    }
    netns::multicast_on_lo();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // Without SO_REUSEADDR the responder keeps port 5353 to itself.
        let asked = responder(false, Ipv4Addr::LOCALHOST);
        connect_through_name().await;
        let asked = asked.lock().unwrap().clone();
        assert!(!asked.is_empty(), "no query reached the responder");
        // Legacy unicast (RFC 6762 §6.7): from an ephemeral port, answered by unicast.
        assert!(asked.iter().all(|a| a.port() != 5353), "{asked:?}");
    });
}
