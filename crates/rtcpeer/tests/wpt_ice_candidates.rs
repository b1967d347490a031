//! WPT-derived tests for group 11 (addIceCandidate and RTCIceCandidate), the signaling part.
//! Not here: WPT-159 (TCP candidates to bad ports are ignored) needs the ICE agent [net].

use rtcpeer::{
    Configuration, ErrorKind, IceCandidate, IceCandidateInit, IceCandidateType, IceComponent,
    IceProtocol, IceTcpCandidateType, MediaKind, PeerConnection, SessionDescription,
};
use rtcpeer_proto::sdp::Sdp;

const HOST: &str = "candidate:1905690388 1 udp 2113937151 192.168.0.1 58041 typ host generation 0 ufrag thc/ network-cost 50";
const SRFLX_TCP: &str = "candidate:435653019 2 tcp 1845501695 192.168.0.196 4444 typ srflx raddr www.example.com rport 22222 tcptype active";

fn init(
    candidate: &str,
    mid: Option<&str>,
    index: Option<u16>,
    ufrag: Option<&str>,
) -> IceCandidateInit {
    IceCandidateInit {
        candidate: candidate.into(),
        sdp_mid: mid.map(Into::into),
        sdp_m_line_index: index,
        username_fragment: ufrag.map(Into::into),
    }
}

/// A pc with a remote offer of two m-sections (mids "0" and "1") with distinct ufrags.
async fn pc_with_remote_offer() -> (PeerConnection, String, String) {
    let offerer = PeerConnection::new(Configuration::default()).unwrap();
    offerer
        .add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    offerer
        .add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    let offer = offerer.create_offer(None).await.unwrap();
    // Give the second m-section its own credentials, as an unbundled offer would.
    let mut seen = 0;
    let sdp: Vec<String> = offer
        .sdp
        .split("\r\n")
        .map(|l| {
            if l.starts_with("a=ice-ufrag:") {
                seen += 1;
                if seen == 2 {
                    return "a=ice-ufrag:second".to_string();
                }
            }
            l.to_string()
        })
        .collect();
    let sdp = sdp.join("\r\n");
    let first = sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_string();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(SessionDescription::offer(sdp))
        .await
        .unwrap();
    (pc, first, "second".into())
}

fn sections(pc: &PeerConnection) -> Vec<String> {
    let sdp = pc.remote_description().unwrap().sdp;
    sdp.split("\r\nm=").skip(1).map(str::to_string).collect()
}

#[tokio::test]
async fn wpt_147_generic_end_of_candidates_marks_every_m_section() {
    for c in [
        None,
        Some(IceCandidateInit::default()),
        Some(init("", None, None, None)),
    ] {
        let (pc, _, _) = pc_with_remote_offer().await;
        pc.add_ice_candidate(c.clone())
            .await
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        for s in sections(&pc) {
            assert!(s.contains("a=end-of-candidates"), "{c:?}: {s}");
        }
    }
}

#[tokio::test]
async fn wpt_149_end_of_candidates_for_one_m_section_by_ufrag_and_mid_or_index() {
    let (pc, u1, u2) = pc_with_remote_offer().await;
    pc.add_ice_candidate(Some(init("", Some("0"), None, Some(&u1))))
        .await
        .unwrap();
    let s = sections(&pc);
    assert!(s[0].contains("a=end-of-candidates"));
    assert!(!s[1].contains("a=end-of-candidates"));

    let (pc, _, _) = pc_with_remote_offer().await;
    pc.add_ice_candidate(Some(init("", None, Some(1), Some(&u2))))
        .await
        .unwrap();
    let s = sections(&pc);
    assert!(!s[0].contains("a=end-of-candidates"));
    assert!(s[1].contains("a=end-of-candidates"));
}

#[tokio::test]
async fn wpt_150_end_of_candidates_with_unknown_ufrag_is_operation_error() {
    let (pc, _, _) = pc_with_remote_offer().await;
    let e = pc
        .add_ice_candidate(Some(init("", None, None, Some("no such ufrag"))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
}

#[tokio::test]
async fn wpt_152_mid_or_index_alone_places_candidates_in_their_section() {
    let (pc, _, _) = pc_with_remote_offer().await;
    pc.add_ice_candidate(Some(init(HOST, Some("0"), None, None)))
        .await
        .unwrap();
    pc.add_ice_candidate(Some(init(SRFLX_TCP, None, Some(1), None)))
        .await
        .unwrap();
    let s = sections(&pc);
    assert!(s[0].contains(&format!("a={HOST}")), "{}", s[0]);
    assert!(!s[0].contains("4444"));
    assert!(s[1].contains(&format!("a={SRFLX_TCP}")), "{}", s[1]);
    // An RTCIceCandidate's toJSON works as the init too, and usernameFragment null is fine.
    let c = IceCandidate::new(init(HOST, None, Some(1), None)).unwrap();
    pc.add_ice_candidate(Some(c.to_json())).await.unwrap();
    assert!(sections(&pc)[1].contains(HOST));
}

#[tokio::test]
async fn wpt_155_mismatched_ufrag_or_bad_candidate_is_operation_error() {
    let (pc, u1, u2) = pc_with_remote_offer().await;
    let e = pc
        .add_ice_candidate(Some(init(HOST, Some("0"), None, Some("bogus"))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
    let e = pc
        .add_ice_candidate(Some(init(HOST, Some("0"), None, Some(&u2))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "ufrag of another m-section");
    pc.add_ice_candidate(Some(init(HOST, Some("0"), None, Some(&u1))))
        .await
        .unwrap();
    let e = pc
        .add_ice_candidate(Some(init("candidate:garbage", Some("0"), None, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
}

#[tokio::test]
async fn wpt_156_candidate_then_end_of_candidates_keeps_both() {
    let (pc, _, _) = pc_with_remote_offer().await;
    pc.add_ice_candidate(Some(init(HOST, Some("1"), None, None)))
        .await
        .unwrap();
    pc.add_ice_candidate(Some(init("", Some("1"), None, None)))
        .await
        .unwrap();
    let s = &sections(&pc)[1];
    let cand = s.find(HOST).unwrap();
    let eoc = s.find("a=end-of-candidates").unwrap();
    assert!(cand < eoc, "the candidate precedes end-of-candidates: {s}");
}

#[tokio::test]
async fn wpt_158_candidate_for_stopped_and_rolled_back_transceiver_resolves() {
    let pc1 = PeerConnection::new(Configuration::default()).unwrap();
    let pc2 = PeerConnection::new(Configuration::default()).unwrap();
    pc1.add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    let t2 = pc2
        .add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    t2.stop().unwrap();
    pc2.set_local_description(Some(SessionDescription::rollback()))
        .await
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let mid = pc1.get_transceivers()[0].mid().unwrap();
    pc2.add_ice_candidate(Some(init(HOST, Some(&mid), None, None)))
        .await
        .unwrap();
}

#[tokio::test]
async fn add_ice_candidate_errors_follow_the_w3c_order() {
    // No remote description → InvalidStateError.
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let e = pc
        .add_ice_candidate(Some(init(HOST, Some("0"), None, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // Neither sdpMid nor sdpMLineIndex with a candidate → TypeError (before the state check).
    let e = pc
        .add_ice_candidate(Some(init(HOST, None, None, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    // Unknown mid / index out of range → OperationError.
    let (pc, _, _) = pc_with_remote_offer().await;
    let e = pc
        .add_ice_candidate(Some(init(HOST, Some("nope"), None, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
    let e = pc
        .add_ice_candidate(Some(init(HOST, None, Some(2), None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
    // A candidate cannot inject SDP lines.
    let e = pc
        .add_ice_candidate(Some(init(
            &format!("{HOST}\r\na=ice-lite"),
            Some("0"),
            None,
            None,
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation);
    assert!(!pc.remote_description().unwrap().sdp.contains("a=ice-lite"));
}

#[test]
fn wpt_160_constructor_needs_mid_or_index() {
    for i in [
        IceCandidateInit::default(),
        init("", None, None, None),
        init(HOST, None, None, None),
    ] {
        assert_eq!(IceCandidate::new(i).unwrap_err().kind(), ErrorKind::Type);
    }
    let c = IceCandidate::new(init("", Some("audio"), None, None)).unwrap();
    assert_eq!(
        (
            c.candidate(),
            c.sdp_mid(),
            c.sdp_m_line_index(),
            c.username_fragment()
        ),
        ("", Some("audio"), None, None)
    );
    let c = IceCandidate::new(init("", None, Some(0), None)).unwrap();
    assert_eq!((c.sdp_mid(), c.sdp_m_line_index()), (None, Some(0)));
    // JSON with "candidate": null is a WebIDL conversion to the string "null" in JS; in
    // Rust the field is a String, and JSON null is rejected by the type.
    assert!(
        serde_json::from_str::<IceCandidateInit>(r#"{"candidate":null,"sdpMLineIndex":0}"#)
            .is_err()
    );
}

#[test]
fn wpt_161_candidate_fields_are_parsed() {
    let c = IceCandidate::new(init(HOST, Some("0"), None, None)).unwrap();
    assert_eq!(c.foundation(), Some("1905690388"));
    assert_eq!(c.component(), Some(IceComponent::Rtp));
    assert_eq!(c.priority(), Some(2113937151));
    assert_eq!(c.address(), Some("192.168.0.1"));
    assert_eq!(c.protocol(), Some(IceProtocol::Udp));
    assert_eq!(c.port(), Some(58041));
    assert_eq!(c.typ(), Some(IceCandidateType::Host));
    assert_eq!(
        (c.tcp_type(), c.related_address(), c.related_port()),
        (None, None, None)
    );
    assert_eq!(
        c.username_fragment().as_deref(),
        Some("thc/"),
        "from the ufrag extension"
    );

    let c = IceCandidate::new(init(SRFLX_TCP, Some("0"), None, None)).unwrap();
    assert_eq!(c.component(), Some(IceComponent::Rtcp));
    assert_eq!(c.protocol(), Some(IceProtocol::Tcp));
    assert_eq!(c.typ(), Some(IceCandidateType::Srflx));
    assert_eq!(c.tcp_type(), Some(IceTcpCandidateType::Active));
    assert_eq!(c.related_address(), Some("www.example.com"));
    assert_eq!(c.related_port(), Some(22222));
}

#[test]
fn wpt_162_constructor_does_not_validate() {
    let c = IceCandidate::new(init("total garbage", Some("whatever"), Some(65535), None)).unwrap();
    assert_eq!(c.candidate(), "total garbage");
    assert_eq!(c.sdp_mid(), Some("whatever"));
    assert_eq!(c.sdp_m_line_index(), Some(65535));
    assert_eq!(c.foundation(), None);
}

#[test]
fn wpt_163_relay_protocol_and_url_are_not_serialised() {
    let c = IceCandidate::new(init(HOST, Some("0"), Some(0), Some("thc/")))
        .unwrap()
        .with_origin(Some("udp".into()), Some("turn:example.org".into()));
    assert_eq!(c.relay_protocol(), Some("udp"));
    assert_eq!(c.url(), Some("turn:example.org"));
    let json = serde_json::to_value(c.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"candidate": HOST, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "thc/"})
    );
    let back = IceCandidate::new(serde_json::from_value(json).unwrap()).unwrap();
    assert_eq!((back.relay_protocol(), back.url()), (None, None));
}

#[tokio::test]
async fn wpt_97_add_ice_candidate_is_chained_after_an_implicit_rollback() {
    let offerer = PeerConnection::new(Configuration::default()).unwrap();
    offerer
        .add_transceiver(MediaKind::Audio, Default::default())
        .unwrap();
    let offer = offerer.create_offer(None).await.unwrap();
    let mid = Sdp::parse(&offer.sdp).unwrap().media[0]
        .mid()
        .unwrap()
        .to_string();

    // Glare: pc is in have-local-offer; SRD(remote offer) rolls back, then applies; a
    // candidate added right after the SRD call runs after it and succeeds.
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    let srd = pc.set_remote_description(offer.clone());
    let aic = pc.add_ice_candidate(Some(init(HOST, Some(&mid), None, None)));
    aic.await.expect("the candidate is chained after the SRD");
    srd.await.unwrap();
    assert!(pc.remote_description().unwrap().sdp.contains(HOST));

    // Explicit rollback, then the candidate, then the SRD: the candidate runs with no remote
    // description and fails with InvalidStateError; the SRD still succeeds.
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.add_transceiver(MediaKind::Video, Default::default())
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    let rollback = pc.set_local_description(Some(SessionDescription::rollback()));
    let aic = pc.add_ice_candidate(Some(init(HOST, Some(&mid), None, None)));
    let srd = pc.set_remote_description(offer);
    rollback.await.unwrap();
    assert_eq!(aic.await.unwrap_err().kind(), ErrorKind::InvalidState);
    srd.await.unwrap();
}
