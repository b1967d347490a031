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

mod common;

use common::net::{next, next_data_channel, wait_connected, wait_gathered, within};
use rtcpeer::{
    BundlePolicy, Configuration, DataChannelEvent, DtlsTransportState, IceTransportState,
    MediaEvent, MediaKind, OutgoingRtp, Payload, PeerConnection, RtpTransceiverDirection,
    SessionDescription, TransceiverInit,
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
    pc1.set_remote_description(answer).await.unwrap();
    // RFC 9429 §5.2.1 / RFC 8843 §7.3: the transports of the sections BUNDLE took over go.
    for t in &before {
        assert_eq!(t.state(), IceTransportState::Closed);
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
