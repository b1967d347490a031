//! rtcpeer ↔ Chromium over ICE-TCP (RFC 6544) with UDP dropped by nftables in the test's own
//! namespace (`common/netns.rs`). Chromium gathers only active TCP candidates (port 9), so
//! the connection it opens to rtcpeer's passive candidate is the only path: the test checks
//! in Chromium's getStats that the selected pair's local candidate is TCP, on rtcpeer's side
//! that the selected pair is TCP, a data channel echo through it, and a bulk transfer from
//! Chromium (throughput printed).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::chromium::{Chromium, LaunchOptions, js_literal};
use common::net::{next, wait_connected, wait_gathered};
use common::netns;
use rtcpeer::{
    Configuration, DataChannelEvent, IceProtocol, IceSettings, IceTcpSettings, Payload,
    PeerConnection, SessionDescription, Settings,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(20);

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

fn in_own_netns_without_udp(test: &str, body: impl std::future::Future<Output = ()>) {
    if !netns::enter(test) {
        return;
    }
    netns::block_udp();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body);
}

const GATHER: &str = "await new Promise(r => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
  });";

/// Chromium's selected pair from getStats: local and remote candidate protocol and tcpType.
const SELECTED_PAIR_STATS: &str = "const s = await pc.getStats();
  let pairId = null;
  s.forEach(r => { if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
  if (!pairId) return null;
  const p = s.get(pairId);
  const l = s.get(p.localCandidateId), r = s.get(p.remoteCandidateId);
  return { local: l.protocol, localTcpType: l.tcpType ?? null, localPort: l.port,
           remote: r.protocol, remoteType: r.candidateType, state: p.state };";

#[test]
fn chromium_connects_to_rtcpeer_over_tcp_with_udp_blocked() {
    in_own_netns_without_udp(
        "chromium_connects_to_rtcpeer_over_tcp_with_udp_blocked",
        async {
            let mut chrome = Chromium::launch_with_or_panic(LaunchOptions {
                default_privacy: false,
                in_current_netns: true,
                ..LaunchOptions::default()
            })
            .await;
            let pc = pc_with_tcp();
            let dc = pc.create_data_channel("tcp", None).unwrap();
            let mut dev = dc.events();
            let offer = pc.create_offer(None).await.unwrap();
            pc.set_local_description(Some(offer)).await.unwrap();
            wait_gathered(&pc).await;
            let offer = pc.local_description().unwrap();
            assert!(offer.sdp.contains("tcptype passive"), "{}", offer.sdp);
            let answer = chrome
                .eval(&format!(
                    "window.pc = new RTCPeerConnection({{iceServers: []}});
                     pc.ondatachannel = e => {{
                       window.dc = e.channel;
                       dc.onmessage = m => dc.send('echo:' + m.data);
                     }};
                     await pc.setRemoteDescription({});
                     await pc.setLocalDescription();
                     {GATHER}
                     return pc.localDescription;",
                    js_literal(&offer)
                ))
                .await
                .expect("Chromium answers");
            let answer: SessionDescription = serde_json::from_value(answer).expect("a description");
            let tcp_lines: Vec<&str> = answer
                .sdp
                .lines()
                .filter(|l| l.starts_with("a=candidate") && l.contains(" tcp "))
                .collect();
            println!("Chromium's TCP candidates: {tcp_lines:?}");
            assert!(
                !tcp_lines.is_empty(),
                "Chromium gathered no TCP candidate:\n{}",
                answer.sdp
            );
            pc.set_remote_description(answer).await.unwrap();
            wait_connected(&pc).await;
            let pair = pc
                .sctp()
                .and_then(|s| s.transport().ice_transport())
                .and_then(|t| t.get_selected_candidate_pair())
                .expect("a selected pair");
            assert_eq!(pair.local.protocol(), Some(IceProtocol::Tcp));
            assert_eq!(pair.remote.protocol(), Some(IceProtocol::Tcp));

            // Echo through Chromium.
            loop {
                if next(&mut dev).await == DataChannelEvent::Open {
                    break;
                }
            }
            dc.send_text("hello over tcp").unwrap();
            loop {
                match next(&mut dev).await {
                    DataChannelEvent::Message(Payload::Text(t)) => {
                        assert_eq!(t, "echo:hello over tcp");
                        break;
                    }
                    DataChannelEvent::BufferedAmountLow => {}
                    e => panic!("unexpected {e:?}"),
                }
            }

            // Bulk from Chromium over the TCP connection: 4 MiB in 16 KiB messages, Chromium
            // keeping at most 1 MiB buffered.
            const TOTAL: usize = 4 * 1024 * 1024;
            let start = std::time::Instant::now();
            chrome
                .eval(&format!(
                    "const chunk = new Uint8Array(16384).fill(7);
                     dc.bufferedAmountLowThreshold = 256 * 1024;
                     let sent = 0;
                     window.bulkDone = (async () => {{
                       while (sent < {TOTAL}) {{
                         if (dc.bufferedAmount > 1024 * 1024) {{
                           await new Promise(r => dc.onbufferedamountlow = r);
                           continue;
                         }}
                         dc.send(chunk);
                         sent += chunk.length;
                       }}
                     }})();
                     return null;"
                ))
                .await
                .expect("Chromium starts sending");
            let mut got = 0usize;
            while got < TOTAL {
                match next(&mut dev).await {
                    DataChannelEvent::Message(Payload::Binary(b)) => {
                        assert!(b.iter().all(|&x| x == 7));
                        got += b.len();
                    }
                    DataChannelEvent::BufferedAmountLow => {}
                    e => panic!("unexpected {e:?}"),
                }
            }
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(got, TOTAL);
            println!(
                "Chromium → rtcpeer over ICE-TCP: 4 MiB in {secs:.2} s = {:.1} Mbit/s",
                TOTAL as f64 * 8.0 / secs / 1e6
            );

            // Chromium's view: its selected pair's local candidate is TCP.
            let stats: Value = chrome
                .wait_until(
                    &format!("const v = await (async () => {{ {SELECTED_PAIR_STATS} }})(); return v && v.state === 'succeeded' ? v : null;"),
                    DEADLINE,
                )
                .await
                .expect("Chromium reports a selected pair");
            println!("Chromium's selected pair: {stats}");
            assert_eq!(stats["local"], "tcp", "{stats}");
            assert_eq!(stats["remote"], "tcp", "{stats}");
            pc.close();
            chrome.close().await.unwrap();
        },
    );
}
