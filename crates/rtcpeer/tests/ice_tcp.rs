//! ICE-TCP (RFC 6544) end to end: two rtcpeer connections in a namespace of their own where
//! every UDP packet is dropped by nftables, so only TCP candidates can connect. Checks the
//! gathered TCP candidates (protocol, `tcpType`, port 9 for active ones), that the selected
//! pair is TCP on both sides, a data channel echo, and a bulk transfer over the TCP
//! connection (throughput printed).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use common::net::{LIMIT, negotiate, next, next_data_channel, within};
use common::netns;
use rtcpeer::{
    Configuration, DataChannelEvent, IceCandidateType, IceProtocol, IceSettings,
    IceTcpCandidateType, IceTcpSettings, Payload, PeerConnection, PeerConnectionEvent, Settings,
};

fn pc_with_tcp() -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            tcp: IceTcpSettings {
                enabled: true,
                ..IceTcpSettings::default()
            },
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("pc")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// WPT-161's fields on gathered candidates: protocol "tcp", `tcpType` "passive" with the
/// listener's port, "active" with port 9 (RFC 6544 §4.5); then connect over TCP only.
#[test]
fn wpt161_tcp_candidates_connect_with_udp_blocked_echo_and_bulk() {
    if !netns::enter("wpt161_tcp_candidates_connect_with_udp_blocked_echo_and_bulk") {
        return;
    }
    netns::block_udp();
    runtime().block_on(async {
        let (pc1, pc2) = (pc_with_tcp(), pc_with_tcp());
        let mut ev1 = pc1.events();
        let dc1 = pc1.create_data_channel("tcp", None).unwrap();
        let mut dev1 = dc1.events();
        negotiate(&pc1, &pc2).await;
        // The candidates pc1 signalled.
        let mut cands = Vec::new();
        while let Ok(Some(e)) =
            tokio::time::timeout(std::time::Duration::from_millis(1), ev1.recv()).await
        {
            if let PeerConnectionEvent::IceCandidate(Some(c)) = e
                && !c.candidate().is_empty()
            {
                cands.push(c);
            }
        }
        let tcp: Vec<_> = cands
            .iter()
            .filter(|c| c.protocol() == Some(IceProtocol::Tcp))
            .collect();
        assert_eq!(
            tcp.len(),
            2,
            "{:?}",
            cands.iter().map(|c| c.candidate()).collect::<Vec<_>>()
        );
        let passive = tcp
            .iter()
            .find(|c| c.tcp_type() == Some(IceTcpCandidateType::Passive))
            .expect("a passive candidate");
        let active = tcp
            .iter()
            .find(|c| c.tcp_type() == Some(IceTcpCandidateType::Active))
            .expect("an active candidate");
        assert_eq!(active.port(), Some(9));
        assert_ne!(passive.port(), Some(9));
        assert_eq!(passive.typ(), Some(IceCandidateType::Host));
        let udp = cands
            .iter()
            .find(|c| c.protocol() == Some(IceProtocol::Udp))
            .expect("the UDP candidate is still gathered");
        assert!(udp.priority() > active.priority() && active.priority() > passive.priority());
        // The browser's toJSON carries the line as it is.
        assert!(active.to_json().candidate.contains("tcptype active"));

        let dc2 = next_data_channel(&mut pc2.events()).await;
        assert_eq!(next(&mut dev1).await, DataChannelEvent::Open);
        for pc in [&pc1, &pc2] {
            let pair = pc
                .sctp()
                .and_then(|s| s.transport().ice_transport())
                .and_then(|t| t.get_selected_candidate_pair())
                .expect("a selected pair");
            assert_eq!(pair.local.protocol(), Some(IceProtocol::Tcp));
            assert_eq!(pair.remote.protocol(), Some(IceProtocol::Tcp));
        }

        // webrtc-stats: the two TCP host candidates are "tcp" local candidates.
        let stats = pc1.get_stats(None).await.unwrap().to_json();
        let tcp_locals = stats
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["type"] == "local-candidate"
                    && s["candidateType"] == "host"
                    && s["protocol"] == "tcp"
            })
            .count();
        assert_eq!(tcp_locals, 2, "{stats:#}");

        // Echo.
        let mut dev2 = dc2.events();
        dc1.send_text("ping over tcp").unwrap();
        loop {
            match next(&mut dev2).await {
                DataChannelEvent::Message(Payload::Text(t)) => {
                    assert_eq!(t, "ping over tcp");
                    break;
                }
                DataChannelEvent::Open | DataChannelEvent::BufferedAmountLow => {}
                e => panic!("unexpected {e:?}"),
            }
        }
        dc2.send_text("pong").unwrap();
        loop {
            match next(&mut dev1).await {
                DataChannelEvent::Message(Payload::Text(t)) => {
                    assert_eq!(t, "pong");
                    break;
                }
                DataChannelEvent::BufferedAmountLow => {}
                e => panic!("unexpected {e:?}"),
            }
        }

        // Bulk: 8 MiB in 64 KiB messages, the sender kept below 1 MiB buffered.
        const TOTAL: usize = 8 * 1024 * 1024;
        const MSG: usize = 64 * 1024;
        dc1.set_buffered_amount_low_threshold(256 * 1024);
        let start = Instant::now();
        let receiver = tokio::spawn(async move {
            let mut got = 0usize;
            let mut n = 0u8;
            while got < TOTAL {
                match within("bulk data", dev2.recv()).await {
                    Some(DataChannelEvent::Message(Payload::Binary(b))) => {
                        assert_eq!(b.len(), MSG);
                        assert!(b.iter().all(|&x| x == n), "message order or content");
                        n = n.wrapping_add(1);
                        got += b.len();
                    }
                    Some(_) => {}
                    None => panic!("channel events ended"),
                }
            }
            got
        });
        let mut sent = 0usize;
        let mut n = 0u8;
        while sent < TOTAL {
            if dc1.buffered_amount() > 1024 * 1024 {
                loop {
                    if next(&mut dev1).await == DataChannelEvent::BufferedAmountLow {
                        break;
                    }
                }
                continue;
            }
            dc1.send(&vec![n; MSG]).unwrap();
            n = n.wrapping_add(1);
            sent += MSG;
        }
        let got = tokio::time::timeout(LIMIT, receiver)
            .await
            .expect("bulk within the limit")
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(got, TOTAL);
        println!(
            "ICE-TCP bulk: {} MiB in {secs:.2} s = {:.1} Mbit/s",
            TOTAL / (1024 * 1024),
            TOTAL as f64 * 8.0 / secs / 1e6
        );
        pc1.close();
        pc2.close();
    });
}

fn pc_with(tcp: IceTcpSettings) -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            tcp,
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("pc")
}

/// Whether the peer closed `s` within `limit` (end of stream or reset), and when.
async fn closed_within(s: &mut tokio::net::TcpStream, limit: std::time::Duration) -> Option<f64> {
    use tokio::io::AsyncReadExt;
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(limit, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed().as_secs_f64()),
            Ok(Ok(_)) => {}
        }
    }
}

/// A remote can make us accept connections: silent ones are closed once the
/// unauthenticated timeout passed, one announcing a frame above the limit at once, and
/// beyond the connection limit new ones are closed at once (RFC 6544 §7.2; `api/tcp.rs`).
#[tokio::test]
async fn hostile_tcp_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let pc = pc_with(IceTcpSettings {
        enabled: true,
        max_connections: 2,
        max_frame: 1500,
        unauthenticated_timeout: std::time::Duration::from_secs(1),
        ..IceTcpSettings::default()
    });
    pc.create_data_channel("x", None).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    common::net::wait_gathered(&pc).await;
    let sdp = pc.local_description().unwrap().sdp;
    let line = sdp
        .lines()
        .find(|l| l.contains("tcptype passive"))
        .expect("a passive candidate");
    let port: u16 = line.split(' ').nth(5).unwrap().parse().unwrap();
    let listen = std::net::SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);

    // An oversize frame: closed at once.
    let mut big = tokio::net::TcpStream::connect(listen).await.unwrap();
    big.write_all(&[0x10, 0x00, 1, 2, 3]).await.unwrap();
    let t = closed_within(&mut big, std::time::Duration::from_secs(3))
        .await
        .expect("oversize frame closes the connection");
    assert!(t < 0.9, "closed after {t} s");

    // Two silent connections fill the limit; a third is closed at once.
    let opened = Instant::now();
    let mut s1 = tokio::net::TcpStream::connect(listen).await.unwrap();
    let mut s2 = tokio::net::TcpStream::connect(listen).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut s3 = tokio::net::TcpStream::connect(listen).await.unwrap();
    let t3 = closed_within(&mut s3, std::time::Duration::from_secs(3))
        .await
        .expect("beyond the limit: closed");
    assert!(t3 < 0.9, "third closed after {t3} s");
    // The silent ones: closed after the 1 s unauthenticated timeout, not before.
    closed_within(&mut s1, std::time::Duration::from_secs(5))
        .await
        .expect("silent connection closed");
    let t1 = opened.elapsed().as_secs_f64();
    assert!((0.95..3.0).contains(&t1), "silent closed after {t1} s");
    assert!(
        closed_within(&mut s2, std::time::Duration::from_secs(5))
            .await
            .is_some()
    );
    pc.close();
}
