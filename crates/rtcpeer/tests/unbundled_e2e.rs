//! Several ICE+DTLS transports between two `PeerConnection`s in one process over real UDP
//! on 127.0.0.1 (RFC 8843 §7, RFC 9429 §4.1.1, §5.2.1, §5.3.1; issue 13 item 1).
//!
//! - The offerer's `bundlePolicy` "max-compat" gives each m-section credentials and
//!   candidates of its own, with `a=group:BUNDLE` still offered; the line is stripped
//!   before the answerer applies the offer, so the answer does not bundle: audio, video and
//!   data each connect on their own transport, with sockets of their own, and data and RTP
//!   flow.
//! - The same offer unmunged: the answer accepts BUNDLE and the offerer drops the
//!   transports it no longer needs.
//! - Every transport beyond the primary one is as complete as the primary (issue 13 item 1):
//!   its own local and remote candidates, `selectedcandidatepairchange`, DTLS and ICE state
//!   events, remote certificates, and its own `transport` entry in `getStats` with the
//!   streams of its sections linked to it.
//! - "balanced": two audio sections share one transport in the offer; an answer that does
//!   not bundle gives each its own, and both carry RTP.

mod common;

use common::net::{next, next_data_channel, wait_connected, wait_gathered, within};
use rtcpeer::{
    BundlePolicy, Configuration, DataChannelEvent, DtlsTransportState, IceTransportState,
    MediaEvent, MediaKind, OutgoingRtp, Payload, PeerConnection, PeerConnectionEvent,
    RtpTransceiverDirection, SessionDescription, TransceiverInit,
};

fn max_compat() -> PeerConnection {
    PeerConnection::new(Configuration {
        bundle_policy: BundlePolicy::MaxCompat,
        ..Configuration::default()
    })
    .expect("pc")
}

/// The offerer: audio, video and a data channel, its offer gathered.
async fn offerer() -> (PeerConnection, rtcpeer::DataChannel, SessionDescription) {
    let pc1 = max_compat();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let init = TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            ..TransceiverInit::default()
        };
        pc1.add_transceiver(kind, init).unwrap();
    }
    let dc = pc1.create_data_channel("chat", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    wait_gathered(&pc1).await;
    let offer = pc1.local_description().unwrap();
    (pc1, dc, offer)
}

fn ufrags(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn max_compat_offer_without_bundle_connects_a_transport_per_section_and_carries_data_and_rtp()
{
    let (pc1, dc1, offer) = offerer().await;
    // max-compat: a ufrag per section, candidates in each, BUNDLE still offered with the
    // data section as the suggested tag (RFC 8843 §7.2.1).
    let mut u = ufrags(&offer.sdp);
    assert_eq!(u.len(), 3, "{}", offer.sdp);
    u.dedup();
    assert_eq!(u.len(), 3, "{}", offer.sdp);
    assert!(offer.sdp.contains("a=group:BUNDLE 2 0 1"), "{}", offer.sdp);
    for section in offer.sdp.split("\r\nm=").skip(1) {
        assert!(section.contains("a=candidate:"), "{section}");
    }
    let stripped: String = offer
        .sdp
        .split("\r\n")
        .filter(|l| !l.starts_with("a=group:BUNDLE"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let pc2 = PeerConnection::new(Configuration::default()).unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(SessionDescription::new(rtcpeer::SdpType::Offer, stripped))
        .await
        .unwrap();
    for t in pc2.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(&pc2).await;
    let answer = pc2.local_description().unwrap();
    assert!(!answer.sdp.contains("a=group:BUNDLE"), "{}", answer.sdp);
    let mut u = ufrags(&answer.sdp);
    u.sort();
    u.dedup();
    assert_eq!(u.len(), 3, "{}", answer.sdp);
    pc1.set_remote_description(answer).await.unwrap();
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;

    // Three transports on each side, each connected, each with sockets of its own.
    for pc in [&pc1, &pc2] {
        let data_ice = pc.sctp().unwrap().ice_transport().unwrap();
        let data_pair = data_ice.get_selected_candidate_pair().unwrap();
        let mut sockets = vec![data_pair.local.port()];
        let mut seen = vec![data_ice];
        for t in pc.get_transceivers() {
            let dtls = t.sender().transport().unwrap();
            assert_eq!(dtls.state(), DtlsTransportState::Connected);
            let ice = dtls.ice_transport().unwrap();
            assert!(!seen.contains(&ice), "a transport per m-section");
            assert!(matches!(
                ice.state(),
                IceTransportState::Connected | IceTransportState::Completed
            ));
            // Sockets of its own: the transports differ by 5-tuple (RFC 8843 §7).
            let pair = ice.get_selected_candidate_pair().expect("a selected pair");
            assert!(!sockets.contains(&pair.local.port()), "{sockets:?}");
            sockets.push(pair.local.port());
            seen.push(ice);
        }
    }

    // Data on the data section's transport.
    let dc2 = next_data_channel(&mut ev2).await;
    let mut e2 = dc2.events();
    let mut e1 = dc1.events();
    within("open", async {
        while dc1.ready_state() != rtcpeer::DataChannelState::Open {
            next(&mut e1).await;
        }
    })
    .await;
    dc1.send_text("over the data transport").unwrap();
    loop {
        match next(&mut e2).await {
            DataChannelEvent::Message(Payload::Text(t)) => {
                assert_eq!(t, "over the data transport");
                break;
            }
            DataChannelEvent::Open => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    // RTP on the video and audio sections' own transports, both ways.
    for kind in [MediaKind::Video, MediaKind::Audio] {
        let of = |pc: &PeerConnection| {
            pc.get_transceivers()
                .into_iter()
                .find(|t| t.kind() == kind)
                .unwrap()
        };
        let (t1, t2) = (of(&pc1), of(&pc2));
        for (from, to) in [(&t1, &t2), (&t2, &t1)] {
            for i in 0..20u32 {
                let payload = i.to_be_bytes();
                let rtp = OutgoingRtp {
                    payload_type: None,
                    timestamp: i * 960,
                    marker: false,
                    payload: &payload,
                };
                assert!(
                    from.sender().send_rtp(&rtp).is_some(),
                    "{kind:?} packet {i}"
                );
            }
            let receiver = to.receiver();
            let mut n = 0;
            within("20 packets", async {
                while n < 20 {
                    match receiver.recv().await {
                        Some(MediaEvent::Rtp(r)) => {
                            assert_eq!(u32::from_be_bytes(r.payload[..].try_into().unwrap()), n);
                            n += 1;
                        }
                        Some(_) => {}
                        None => panic!("receiver ended"),
                    }
                }
            })
            .await;
        }
    }
    // Counted over every transport's RTP session: all of it went through.
    let c = pc2.media_counters();
    assert_eq!((c.srtp_rejected, c.unroutable), (0, 0), "{c:?}");
    assert!(c.rtp_received >= 40 && c.rtp_sent >= 40, "{c:?}");
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn max_compat_offer_answered_with_bundle_drops_the_unused_transports() {
    let (pc1, dc1, offer) = offerer().await;
    let pc2 = PeerConnection::new(Configuration::default()).unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(&pc2).await;
    let answer = pc2.local_description().unwrap();
    assert!(answer.sdp.contains("a=group:BUNDLE"), "{}", answer.sdp);
    let mut u = ufrags(&answer.sdp);
    u.dedup();
    assert_eq!(u.len(), 1, "one bundled transport: {}", answer.sdp);
    let before: Vec<_> = pc1
        .get_transceivers()
        .iter()
        .map(|t| t.sender().transport().unwrap().ice_transport().unwrap())
        .collect();
    assert_ne!(
        before[0], before[1],
        "one transport per section before the answer"
    );
    let before_dtls: Vec<_> = pc1
        .get_transceivers()
        .iter()
        .map(|t| t.sender().transport().unwrap())
        .collect();
    pc1.set_remote_description(answer).await.unwrap();
    // RFC 9429 §5.2.1 / RFC 8843 §7.3: the transports of the sections BUNDLE took over go
    // (WPT-138: the second section's transport becomes "closed"), DTLS as well as ICE.
    for t in &before {
        assert_eq!(t.state(), IceTransportState::Closed);
    }
    for d in &before_dtls {
        assert_eq!(d.state(), DtlsTransportState::Closed);
        assert!(d.get_remote_certificates().is_empty());
    }
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;
    let data_ice = pc1.sctp().unwrap().ice_transport().unwrap();
    for t in pc1.get_transceivers() {
        let ice = t.sender().transport().unwrap().ice_transport().unwrap();
        assert_eq!(ice, data_ice, "everything on the BUNDLE transport");
    }
    let dc2 = next_data_channel(&mut ev2).await;
    let mut e2 = dc2.events();
    let mut e1 = dc1.events();
    within("open", async {
        while dc1.ready_state() != rtcpeer::DataChannelState::Open {
            next(&mut e1).await;
        }
    })
    .await;
    dc1.send_text("bundled").unwrap();
    loop {
        match next(&mut e2).await {
            DataChannelEvent::Message(Payload::Text(t)) => {
                assert_eq!(t, "bundled");
                break;
            }
            DataChannelEvent::Open => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    pc1.close();
    pc2.close();
}

/// Drains the events a stream holds now.
fn drain(ev: &mut rtcpeer::EventStream) -> Vec<PeerConnectionEvent> {
    let mut out = Vec::new();
    while let Some(e) = ev.try_recv() {
        out.push(e);
    }
    out
}

/// Forwards `icecandidate` events both ways (trickle, RFC 8838), with their own mids.
fn trickle(pc1: &PeerConnection, pc2: &PeerConnection) -> tokio::task::JoinHandle<()> {
    let (mut e1, mut e2) = (pc1.events(), pc2.events());
    let (p1, p2) = (pc1.clone(), pc2.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(e) = e1.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e
                        && !c.candidate().is_empty()
                    {
                        let _ = p2.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                Some(e) = e2.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e
                        && !c.candidate().is_empty()
                    {
                        let _ = p1.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                else => break,
            }
        }
    })
}

fn strip_bundle(sdp: &str) -> String {
    sdp.split("\r\n")
        .filter(|l| !l.starts_with("a=group:BUNDLE"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// `policy` offerer with `kinds` and a data channel, its gathered offer applied without
/// BUNDLE by a default answerer; candidates found later are trickled. Both connected.
async fn unbundled_pair(
    policy: BundlePolicy,
    kinds: &[MediaKind],
) -> (
    PeerConnection,
    PeerConnection,
    rtcpeer::EventStream,
    rtcpeer::EventStream,
) {
    unbundled_pair_with(policy, kinds, true).await
}

/// [`unbundled_pair`], with a data channel or not.
async fn unbundled_pair_with(
    policy: BundlePolicy,
    kinds: &[MediaKind],
    data: bool,
) -> (
    PeerConnection,
    PeerConnection,
    rtcpeer::EventStream,
    rtcpeer::EventStream,
) {
    let pc1 = PeerConnection::new(Configuration {
        bundle_policy: policy,
        ..Configuration::default()
    })
    .unwrap();
    let pc2 = PeerConnection::new(Configuration::default()).unwrap();
    let (ev1, ev2) = (pc1.events(), pc2.events());
    for &kind in kinds {
        let init = TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            ..TransceiverInit::default()
        };
        pc1.add_transceiver(kind, init).unwrap();
    }
    if data {
        pc1.create_data_channel("chat", None).unwrap();
    }
    pc1.set_local_description(None).await.unwrap();
    wait_gathered(&pc1).await;
    let offer = pc1.local_description().unwrap();
    let stripped = strip_bundle(&offer.sdp);
    pc2.set_remote_description(SessionDescription::new(rtcpeer::SdpType::Offer, stripped))
        .await
        .unwrap();
    for t in pc2.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(&pc2).await;
    let answer = pc2.local_description().unwrap();
    assert!(!answer.sdp.contains("a=group:BUNDLE"), "{}", answer.sdp);
    let forward = trickle(&pc1, &pc2);
    pc1.set_remote_description(answer).await.unwrap();
    wait_connected(&pc1).await;
    wait_connected(&pc2).await;
    // Every transport's DTLS connected too.
    within("every DTLS transport connected", async {
        loop {
            let all = [&pc1, &pc2].iter().all(|pc| {
                pc.get_transceivers().iter().all(|t| {
                    t.sender().transport().unwrap().state() == DtlsTransportState::Connected
                })
            });
            if all {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    forward.abort();
    (pc1, pc2, ev1, ev2)
}

/// Sends 20 numbered packets on transceiver `from` and waits for them on `to`.
async fn rtp_flows(from: &rtcpeer::RtpTransceiver, to: &rtcpeer::RtpTransceiver) {
    for i in 0..20u32 {
        let payload = i.to_be_bytes();
        let rtp = OutgoingRtp {
            payload_type: None,
            timestamp: i * 960,
            marker: false,
            payload: &payload,
        };
        assert!(from.sender().send_rtp(&rtp).is_some(), "packet {i}");
    }
    let receiver = to.receiver();
    let mut n = 0;
    within("20 packets", async {
        while n < 20 {
            match receiver.recv().await {
                Some(MediaEvent::Rtp(r)) => {
                    assert_eq!(u32::from_be_bytes(r.payload[..].try_into().unwrap()), n);
                    n += 1;
                }
                Some(_) => {}
                None => panic!("receiver ended"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unbundled_transports_wpt_138_333_336_each_have_candidates_events_and_certificates() {
    let (pc1, pc2, mut ev1, mut ev2) = unbundled_pair(
        BundlePolicy::MaxCompat,
        &[MediaKind::Audio, MediaKind::Video],
    )
    .await;
    for (pc, ev, peer) in [(&pc1, &mut ev1, &pc2), (&pc2, &mut ev2, &pc1)] {
        let events = drain(ev);
        let primary = pc.sctp().unwrap().ice_transport().unwrap();
        for t in pc.get_transceivers() {
            let dtls = t.sender().transport().unwrap();
            let ice = dtls.ice_transport().unwrap();
            assert_ne!(ice, primary, "WPT-138: a transport per m-section");
            let mid = t.mid().unwrap();
            // WPT-336: its own candidates, named after its own section.
            let local = ice.get_local_candidates();
            let remote = ice.get_remote_candidates();
            assert!(!local.is_empty() && !remote.is_empty());
            assert!(local.iter().all(|c| c.sdp_mid() == Some(mid.as_str())));
            assert!(remote.iter().all(|c| c.sdp_mid() == Some(mid.as_str())));
            let ufrag = ice.get_local_parameters().unwrap().username_fragment;
            assert!(
                local
                    .iter()
                    .all(|c| c.username_fragment() == Some(ufrag.clone()))
            );
            // The peer's transport of the same mid sees the same candidates the other way.
            let peer_t = peer
                .get_transceivers()
                .into_iter()
                .find(|p| p.mid().as_deref() == Some(mid.as_str()))
                .unwrap();
            let peer_ice = peer_t
                .sender()
                .transport()
                .unwrap()
                .ice_transport()
                .unwrap();
            assert_eq!(local.len(), peer_ice.get_remote_candidates().len());
            let pair = ice.get_selected_candidate_pair().unwrap();
            let peer_pair = peer_ice.get_selected_candidate_pair().unwrap();
            assert_eq!(pair.local.candidate(), peer_pair.remote.candidate());
            assert_eq!(pair.remote.candidate(), peer_pair.local.candidate());
            // selectedcandidatepairchange of that transport.
            let fired: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    PeerConnectionEvent::TransportSelectedCandidatePairChange(i, p)
                        if *i == ice =>
                    {
                        Some((**p).clone())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(fired.last(), Some(&pair));
            // statechange of its ICE and DTLS transports, gatheringstatechange.
            assert!(events.iter().any(|e| matches!(e,
                PeerConnectionEvent::IceTransportStateChange(i, IceTransportState::Checking) if *i == ice)));
            assert!(events.iter().any(|e| matches!(e,
                PeerConnectionEvent::IceTransportGatheringStateChange(i, rtcpeer::IceGatheringState::Complete) if *i == ice)));
            assert!(events.iter().any(|e| matches!(e,
                PeerConnectionEvent::DtlsTransportStateChange(d, DtlsTransportState::Connected) if *d == dtls)));
            // WPT-333 per transport: the peer's certificate as this transport's DTLS saw it.
            let certs = dtls.get_remote_certificates();
            assert_eq!(certs.len(), 1);
            // The same peer, so the same certificate as its data transport's.
            assert_eq!(
                certs,
                pc.sctp().unwrap().transport().get_remote_certificates()
            );
        }
    }
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn unbundled_get_stats_wpt_222_has_a_transport_per_transport_and_streams_linked_to_their_own()
{
    let (pc1, pc2, _ev1, _ev2) = unbundled_pair(
        BundlePolicy::MaxCompat,
        &[MediaKind::Audio, MediaKind::Video],
    )
    .await;
    let of = |pc: &PeerConnection, kind| {
        pc.get_transceivers()
            .into_iter()
            .find(|t| t.kind() == kind)
            .unwrap()
    };
    for kind in [MediaKind::Audio, MediaKind::Video] {
        rtp_flows(&of(&pc1, kind), &of(&pc2, kind)).await;
        rtp_flows(&of(&pc2, kind), &of(&pc1, kind)).await;
    }
    for pc in [&pc1, &pc2] {
        let report = pc.get_stats(None).await.unwrap();
        let transports: Vec<_> = report.of_type("transport").map(|s| s.to_json()).collect();
        assert_eq!(transports.len(), 3, "{transports:#?}");
        for s in report.iter() {
            for r in s.references() {
                assert!(report.get(r).is_some(), "WPT-222: {} -> {r}", s.id());
            }
        }
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let t = of(pc, kind);
            let ufrag = t
                .sender()
                .transport()
                .unwrap()
                .ice_transport()
                .unwrap()
                .get_local_parameters()
                .unwrap()
                .username_fragment;
            let transport = transports
                .iter()
                .find(|x| x["iceLocalUsernameFragment"] == ufrag.as_str())
                .expect("the section's own transport entry");
            assert_eq!(transport["dtlsState"], "connected");
            let tid = transport["id"].as_str().unwrap();
            let name = kind.to_string();
            for ty in ["inbound-rtp", "outbound-rtp"] {
                let s: Vec<_> = report
                    .of_type(ty)
                    .map(|s| s.to_json())
                    .filter(|s| s["kind"] == name.as_str())
                    .collect();
                assert_eq!(s.len(), 1, "{ty} {name}");
                assert_eq!(s[0]["transportId"], tid, "{:#}", s[0]);
            }
            let pair = report
                .get(transport["selectedCandidatePairId"].as_str().unwrap())
                .unwrap()
                .to_json();
            assert_eq!(pair["transportId"], tid);
            assert!(pair["bytesReceived"].as_u64().unwrap() > 0, "{pair:#}");
        }
    }
    pc1.close();
    pc2.close();
}

#[tokio::test]
async fn balanced_offer_answered_without_bundle_gives_each_audio_section_its_own_transport() {
    let kinds = [MediaKind::Audio, MediaKind::Audio, MediaKind::Video];
    for data in [true, false] {
        // Without a data channel the first audio section's transport is the primary one,
        // and the second audio section shares its credentials.
        let (pc1, pc2, _ev1, _ev2) =
            unbundled_pair_with(BundlePolicy::Balanced, &kinds, data).await;
        balanced_audio_sections_connect_apart(pc1, pc2).await;
    }
}

async fn balanced_audio_sections_connect_apart(pc1: PeerConnection, pc2: PeerConnection) {
    for pc in [&pc1, &pc2] {
        let audio: Vec<_> = pc
            .get_transceivers()
            .into_iter()
            .filter(|t| t.kind() == MediaKind::Audio)
            .collect();
        let ice: Vec<_> = audio
            .iter()
            .map(|t| t.sender().transport().unwrap().ice_transport().unwrap())
            .collect();
        assert_ne!(
            ice[0], ice[1],
            "one transport per audio section after the answer"
        );
        let ports: Vec<_> = ice
            .iter()
            .map(|i| i.get_selected_candidate_pair().unwrap().local.port())
            .collect();
        assert_ne!(ports[0], ports[1], "each on sockets of its own");
    }
    let audio = |pc: &PeerConnection| -> Vec<rtcpeer::RtpTransceiver> {
        pc.get_transceivers()
            .into_iter()
            .filter(|t| t.kind() == MediaKind::Audio)
            .collect()
    };
    let (a1, a2) = (audio(&pc1), audio(&pc2));
    for k in 0..2 {
        rtp_flows(&a1[k], &a2[k]).await;
        rtp_flows(&a2[k], &a1[k]).await;
    }
    pc1.close();
    pc2.close();
}
