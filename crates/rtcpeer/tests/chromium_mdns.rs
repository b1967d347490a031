//! Headless Chromium with its default host-candidate privacy (no media permission,
//! `WebRtcHideLocalIpsWithMdns` on: its host candidates are `<uuid>.local` names answered by
//! its own mDNS responder) reaches ICE "connected" with rtcpeer (`IceSettings::mdns`) in
//! both offer directions. Chromium never learns rtcpeer's candidates, so only rtcpeer's
//! checks to the resolved address can start connectivity: a connection proves that rtcpeer
//! resolved Chromium's name through Chromium's responder.
//!
//! Why not the suite's loopback-only namespace: Chromium's network list
//! (net::AddressTrackerLinux) never counts an IFF_LOOPBACK link as online, so its mDNS
//! responder binds no socket there ("mDNS responder manager failed to start") and, without
//! media permission, it gathers no candidate at all. Each test therefore runs in a namespace
//! of its own (`common/netns.rs`) holding `lo` and a veth pair whose both ends stay inside,
//! with 192.0.2.1 (TEST-NET-1, RFC 5737) on `veth0` and the default route through it.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::chromium::{Chromium, LaunchOptions, js_literal};
use common::netns;
use rtcpeer::{
    Configuration, EventStream, IceConnectionState as Ice, IceSettings, PeerConnection,
    PeerConnectionEvent as Ev, SessionDescription, Settings,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(15);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// rtcpeer's address on the other end of the veth pair when Chromium must resolve its name.
const ADDR2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn rtcpeer() -> PeerConnection {
    rtcpeer_on(ADDR, false)
}

/// rtcpeer on `addr`, resolving `.local` names; `hide`: its own host addresses hidden too
/// (`IceSettings::hide_host_addresses`).
fn rtcpeer_on(addr: Ipv4Addr, hide: bool) -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(addr)],
            mdns: true,
            hide_host_addresses: hide,
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).unwrap()
}

fn in_own_netns(test: &str, body: impl std::future::Future<Output = ()>) {
    in_own_netns_with(test, false, body)
}

/// `second`: [`ADDR2`] on the veth pair's other end, for rtcpeer (see
/// `netns::second_address_on_veth1`).
fn in_own_netns_with(test: &str, second: bool, body: impl std::future::Future<Output = ()>) {
    if !netns::enter(test) {
        return;
    }
    netns::veth_with_default_route(&ADDR.to_string());
    if second {
        netns::second_address_on_veth1(&ADDR2.to_string());
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body);
}

async fn launch() -> Chromium {
    Chromium::launch_with_or_panic(LaunchOptions {
        default_privacy: true,
        in_current_netns: true,
        ..LaunchOptions::default()
    })
    .await
}

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

/// rtcpeer's description without candidates (Chromium must not learn our address).
fn without_candidates(d: SessionDescription) -> SessionDescription {
    let sdp = d
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=candidate"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    SessionDescription { sdp, ..d }
}

/// Chromium's UDP host candidates are names, never its address.
fn assert_hidden(sdp: &str) {
    let cands: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate") && l.contains(" udp "))
        .collect();
    assert!(!cands.is_empty(), "Chromium gathered nothing:\n{sdp}");
    for c in &cands {
        assert!(c.contains(".local "), "not hidden: {c}");
        assert!(!c.contains(&ADDR.to_string()), "address leaked: {c}");
    }
}

const GATHER: &str = "await new Promise(r => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
  });";

/// Waits for rtcpeer's ICE connected (without forwarding its candidates), then Chromium's;
/// rtcpeer's selected pair is from and to [`ADDR`].
async fn both_connect(chrome: &mut Chromium, pc: &PeerConnection, ev: &mut EventStream) {
    both_connect_on(chrome, pc, ev, ADDR).await
}

/// [`both_connect`] with rtcpeer on `ours`.
async fn both_connect_on(
    chrome: &mut Chromium,
    pc: &PeerConnection,
    ev: &mut EventStream,
    ours: Ipv4Addr,
) {
    let mut states = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ev::IceConnectionStateChange(s) = ev.recv().await.expect("events") {
                states.push(s);
                assert_ne!(s, Ice::Failed, "{states:?}");
                if matches!(s, Ice::Connected | Ice::Completed) {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("rtcpeer did not connect: {states:?}"));
    let r = chrome
        .wait_until(
            "return ['connected', 'completed'].includes(pc.iceConnectionState)",
            DEADLINE,
        )
        .await;
    let state = chrome.eval("return pc.iceConnectionState").await;
    r.unwrap_or_else(|e| panic!("Chromium did not connect ({state:?}): {e:?}"));
    let (local, remote) = pc.selected_candidate_pair().expect("selected pair");
    assert_eq!(local.ip(), IpAddr::V4(ours));
    assert!(
        [IpAddr::V4(ADDR), IpAddr::V4(ADDR2)].contains(&remote.ip()),
        "{remote}"
    );
}

#[test]
fn chromium_hiding_its_address_offers_and_ice_connects() {
    in_own_netns(
        "chromium_hiding_its_address_offers_and_ice_connects",
        async {
            let mut chrome = launch().await;
            chrome
                .eval(&format!(
                    "window.pc = new RTCPeerConnection({{iceServers: []}});
                 pc.createDataChannel('x');
                 await pc.setLocalDescription();
                 {GATHER}
                 return null;"
                ))
                .await
                .expect("Chromium offers");
            let offer = chrome.eval("return pc.localDescription").await.unwrap();
            assert_hidden(offer["sdp"].as_str().unwrap());
            let pc = rtcpeer();
            let mut ev = pc.events();
            pc.set_remote_description(desc(&offer)).await.unwrap();
            pc.set_local_description(None).await.unwrap();
            let answer = without_candidates(pc.local_description().unwrap());
            chrome
                .eval(&format!(
                    "await pc.setRemoteDescription({}); return null",
                    js_literal(&answer)
                ))
                .await
                .expect("Chromium accepts the answer");
            both_connect(&mut chrome, &pc, &mut ev).await;
            pc.close();
            chrome.close().await.unwrap();
        },
    );
}

#[test]
fn rtcpeer_offers_to_chromium_hiding_its_address_and_ice_connects() {
    in_own_netns(
        "rtcpeer_offers_to_chromium_hiding_its_address_and_ice_connects",
        async {
            let mut chrome = launch().await;
            let pc = rtcpeer();
            let mut ev = pc.events();
            pc.create_data_channel("x", None).unwrap();
            let offer = pc.create_offer(None).await.unwrap();
            pc.set_local_description(Some(offer.clone())).await.unwrap();
            chrome
                .eval(&format!(
                    "window.pc = new RTCPeerConnection({{iceServers: []}});
                     await pc.setRemoteDescription({});
                     await pc.setLocalDescription();
                     {GATHER}
                     return null;",
                    js_literal(&without_candidates(offer))
                ))
                .await
                .expect("Chromium answers");
            let answer = chrome.eval("return pc.localDescription").await.unwrap();
            assert_hidden(answer["sdp"].as_str().unwrap());
            pc.set_remote_description(desc(&answer)).await.unwrap();
            both_connect(&mut chrome, &pc, &mut ev).await;
            pc.close();
            chrome.close().await.unwrap();
        },
    );
}

/// rtcpeer hides its host address (`IceSettings::hide_host_addresses`): its offer's only
/// candidates are `<uuid>.local` names, with no IP address. Chromium gets that offer, and
/// rtcpeer gets Chromium's answer without candidates, so only Chromium's checks, sent to
/// the address it resolved through rtcpeer's mDNS responder, can start connectivity: ICE
/// connecting proves that Chromium resolved rtcpeer's name.
///
/// Chromium's mDNS client turns multicast loopback off, so its queries never reach a
/// socket on its own interface: rtcpeer sits on the veth pair's other end ([`ADDR2`]), a
/// second host on the link.
#[test]
fn chromium_resolves_rtcpeer_hidden_host_name_and_ice_connects() {
    in_own_netns_with(
        "chromium_resolves_rtcpeer_hidden_host_name_and_ice_connects",
        true,
        async {
            let mut chrome = launch().await;
            let pc = rtcpeer_on(ADDR2, true);
            let mut ev = pc.events();
            pc.create_data_channel("x", None).unwrap();
            let offer = pc.create_offer(None).await.unwrap();
            pc.set_local_description(Some(offer)).await.unwrap();
            tokio::time::timeout(DEADLINE, async {
                loop {
                    if let Ev::IceGatheringStateChange(rtcpeer::IceGatheringState::Complete) =
                        ev.recv().await.expect("events")
                    {
                        return;
                    }
                }
            })
            .await
            .expect("rtcpeer gathers");
            let offer = pc.local_description().unwrap();
            // Our candidates carry names only: the same check as for Chromium's.
            assert_hidden(&offer.sdp);
            assert!(!offer.sdp.contains(&ADDR2.to_string()), "{}", offer.sdp);
            chrome
                .eval(&format!(
                    "window.pc = new RTCPeerConnection({{iceServers: []}});
                     await pc.setRemoteDescription({});
                     await pc.setLocalDescription();
                     return null;",
                    js_literal(&offer)
                ))
                .await
                .expect("Chromium answers");
            let answer = chrome.eval("return pc.localDescription").await.unwrap();
            pc.set_remote_description(without_candidates(desc(&answer)))
                .await
                .unwrap();
            both_connect_on(&mut chrome, &pc, &mut ev, ADDR2).await;
            pc.close();
            chrome.close().await.unwrap();
        },
    );
}
