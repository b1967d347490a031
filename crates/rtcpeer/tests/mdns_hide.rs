//! Two rtcpeer connections that both hide their host addresses behind mDNS names
//! (`IceSettings::hide_host_addresses`, draft-ietf-mmusic-mdns-ice-candidates §3.1) and
//! both resolve the other's (`IceSettings::mdns`): the descriptions they exchange carry no
//! IP address in any candidate, so ICE can only connect if each side's responder answered
//! the other's query. Runs in a network namespace of its own with multicast on `lo`
//! (`common/netns.rs`), both connections in one process sharing port 5353 (RFC 6762 §15.1).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::netns;
use rtcpeer::{
    Configuration, EventStream, IceConnectionState as Ice, IceGatheringState, IceSettings,
    PeerConnection, PeerConnectionEvent as Ev, SessionDescription, Settings,
};

const DEADLINE: Duration = Duration::from_secs(15);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// A listener in the mDNS group on `lo`, sharing port 5353 (RFC 6762 §15.1).
fn group_listener() -> tokio::net::UdpSocket {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(true).unwrap();
    s.set_reuse_port(true).unwrap();
    s.bind(&std::net::SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5353)).into())
        .unwrap();
    s.join_multicast_v4(&GROUP, &Ipv4Addr::LOCALHOST).unwrap();
    s.set_nonblocking(true).unwrap();
    tokio::net::UdpSocket::from_std(s.into()).unwrap()
}

/// Whether `msg` is a response carrying a record for `name` (written uncompressed, as
/// rtcpeer writes it) with TTL `ttl` (RFC 1035 §4.1.3).
fn has_record(msg: &[u8], name: &str, ttl: u32) -> bool {
    if msg.len() < 12 || msg[2] & 0x80 == 0 {
        return false;
    }
    let mut wire = Vec::new();
    for l in name.split('.') {
        wire.push(l.len() as u8);
        wire.extend_from_slice(l.as_bytes());
    }
    wire.push(0);
    msg.windows(wire.len() + 8).any(|w| {
        w[..wire.len()].eq_ignore_ascii_case(&wire)
            && w[wire.len() + 4..wire.len() + 8] == ttl.to_be_bytes()
    })
}

fn pc() -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            mdns: true,
            hide_host_addresses: true,
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).unwrap()
}

/// Waits until gathering is complete; returns the candidates announced by `icecandidate`.
async fn gathered(ev: &mut EventStream) -> Vec<String> {
    let mut cands = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        loop {
            match ev.recv().await.expect("events") {
                Ev::IceCandidate(Some(c)) if !c.candidate().is_empty() => {
                    cands.push(c.candidate().to_string());
                }
                Ev::IceGatheringStateChange(IceGatheringState::Complete) => return,
                _ => {}
            }
        }
    })
    .await
    .expect("gathering completes");
    cands
}

/// Every candidate in `desc` and `events` is a host candidate named `<uuid>.local`, and
/// no IP address appears in them. Returns the names.
fn assert_hidden(desc: &SessionDescription, events: &[String]) -> Vec<String> {
    let lines: Vec<&str> = desc
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .collect();
    assert!(!lines.is_empty(), "no candidate:\n{}", desc.sdp);
    assert_eq!(lines.len(), events.len(), "{lines:?} vs {events:?}");
    let mut names = Vec::new();
    for c in lines
        .iter()
        .copied()
        .chain(events.iter().map(String::as_str))
    {
        assert!(!c.contains("127.0.0.1"), "address leaked: {c}");
        let fields: Vec<&str> = c.split_whitespace().collect();
        let addr = fields[4];
        assert!(addr.parse::<IpAddr>().is_err(), "an IP: {c}");
        let uuid = addr.strip_suffix(".local").expect("a .local name");
        assert_eq!(uuid.len(), 36, "{addr}");
        assert_eq!(&uuid[14..15], "4", "UUID version 4: {addr}");
        names.push(addr.to_string());
    }
    names.sort();
    names.dedup();
    names
}

async fn wait_connected(ev: &mut EventStream, who: &str) {
    let mut states = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ev::IceConnectionStateChange(s) = ev.recv().await.expect("events") {
                states.push(s);
                assert_ne!(s, Ice::Failed, "{who}: {states:?}");
                if matches!(s, Ice::Connected | Ice::Completed) {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{who} did not connect: {states:?}"));
}

#[test]
fn both_hiding_and_resolving_connect_through_their_responders() {
    if !netns::enter("both_hiding_and_resolving_connect_through_their_responders") {
        return;
    }
    netns::multicast_on_lo();
    assert!(
        !IceSettings::default().hide_host_addresses,
        "hiding is opt-in"
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (a, b) = (pc(), pc());
        let (mut ae, mut be) = (a.events(), b.events());
        a.create_data_channel("x", None).unwrap();
        let offer = a.create_offer(None).await.unwrap();
        a.set_local_description(Some(offer)).await.unwrap();
        let a_cands = gathered(&mut ae).await;
        let offer = a.local_description().unwrap();
        let a_names = assert_hidden(&offer, &a_cands);
        assert_eq!(a_names.len(), 1, "one name for the one address");
        b.set_remote_description(offer).await.unwrap();
        b.set_local_description(None).await.unwrap();
        let b_cands = gathered(&mut be).await;
        let answer = b.local_description().unwrap();
        let b_names = assert_hidden(&answer, &b_cands);
        assert_ne!(a_names, b_names, "names are random per connection");
        a.set_remote_description(answer).await.unwrap();
        wait_connected(&mut ae, "offerer").await;
        wait_connected(&mut be, "answerer").await;
        // Checks went to the real addresses.
        let (local, remote) = a.selected_candidate_pair().expect("a selected pair");
        assert_eq!(local.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(remote.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(b.selected_candidate_pair(), Some((remote, local)));
        // The names stay the same for the connection's life: a later description of the
        // same generation carries them again.
        assert_eq!(
            assert_hidden(&a.local_description().unwrap(), &a_cands),
            a_names
        );
        // Closing says goodbye: our names with TTL 0 (RFC 6762 §10.1).
        let listener = group_listener();
        a.close();
        let mut buf = vec![0u8; 9000];
        let goodbye = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let (n, _) = listener.recv_from(&mut buf).await.unwrap();
                if has_record(&buf[..n], &a_names[0], 0) {
                    return;
                }
            }
        })
        .await;
        assert!(goodbye.is_ok(), "no goodbye for {}", a_names[0]);
        b.close();
    });
}
