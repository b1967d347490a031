//! Audit of RFC 9429 §4–5 and webrtc-pc §4.4.1 rules that no other test file covered (issue 13
//! item 4): each test is named after the rule it checks. ARCHITECTURE.md's "JSEP rules
//! checked" table maps the rules of those sections to the tests that check them.

mod common;

use common::net::wait_gathered;
use common::signaling::exchange;
use common::wpt::media::{audio, pc, video};
use rtcpeer::{ErrorKind, PeerConnection, SdpType, SessionDescription};

/// The o= line's session id and version.
fn origin(sdp: &str) -> (String, u64) {
    let o = sdp.lines().find(|l| l.starts_with("o=")).unwrap();
    let f: Vec<&str> = o.split(' ').collect();
    (f[1].to_owned(), f[2].parse().unwrap())
}

fn count(sdp: &str, prefix: &str) -> usize {
    sdp.lines().filter(|l| l.starts_with(prefix)).count()
}

fn with_sdp(d: &SessionDescription, sdp: String) -> SessionDescription {
    SessionDescription { sdp, ..d.clone() }
}

/// pc1 (audio + data) and pc2 after one exchange, both done gathering.
async fn negotiated() -> (PeerConnection, PeerConnection) {
    let (pc1, pc2) = (pc(), pc());
    pc1.add_track(&audio(), &[]).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    exchange(&pc1, &pc2).await;
    wait_gathered(&pc1).await;
    wait_gathered(&pc2).await;
    (pc1, pc2)
}

/// RFC 9429 §5.2.2: a subsequent offer of the same ICE generation lists the candidates
/// gathered so far and `a=end-of-candidates` once gathering is complete (as browsers'
/// re-offers do), so `localDescription` after it still has them; an ICE restart's offer has
/// new credentials and none of the old generation's candidates.
#[tokio::test]
async fn rfc9429_5_2_2_subsequent_offer_lists_current_candidates() {
    let (pc1, pc2) = negotiated().await;
    let gathered = count(&pc1.local_description().unwrap().sdp, "a=candidate:");
    assert!(gathered > 0);
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(count(&offer.sdp, "a=candidate:"), gathered, "{}", offer.sdp);
    assert_eq!(count(&offer.sdp, "a=end-of-candidates"), 1);
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(pc1.local_description().unwrap().sdp, offer.sdp);

    pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")))
        .await
        .unwrap();
    pc1.restart_ice();
    let restart = pc1.create_offer(None).await.unwrap();
    assert_eq!(count(&restart.sdp, "a=candidate:"), 0, "{}", restart.sdp);
    assert_eq!(count(&restart.sdp, "a=end-of-candidates"), 0);
    pc1.close();
    pc2.close();
}

/// RFC 9429 §5.3.2: a subsequent answer lists the current candidates of its transport too.
#[tokio::test]
async fn rfc9429_5_3_2_subsequent_answer_lists_current_candidates() {
    let (pc1, pc2) = negotiated().await;
    let gathered = count(&pc2.local_description().unwrap().sdp, "a=candidate:");
    assert!(gathered > 0);
    pc1.add_track(&video(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(
        count(&answer.sdp, "a=candidate:"),
        gathered,
        "{}",
        answer.sdp
    );
    assert_eq!(count(&answer.sdp, "a=end-of-candidates"), 1);
    pc1.close();
    pc2.close();
}

/// RFC 9429 §5.2.2, §5.3.2: the o= line keeps its session id for the connection's life and
/// the session version goes up whenever the description may differ (each createOffer here:
/// "implementations MAY opt to increment on every call"), never down.
#[tokio::test]
async fn rfc9429_5_2_2_origin_keeps_the_session_id_and_versions_grow() {
    let (pc1, pc2) = negotiated().await;
    let (id, v1) = origin(&pc1.local_description().unwrap().sdp);
    let o2 = pc1.create_offer(None).await.unwrap();
    pc1.add_track(&video(), &[]).unwrap();
    let o3 = pc1.create_offer(None).await.unwrap();
    let (id2, v2) = origin(&o2.sdp);
    let (id3, v3) = origin(&o3.sdp);
    assert_eq!((&id2, &id3), (&id, &id));
    assert!(v1 < v2 && v2 < v3, "{v1} {v2} {v3}");
    // The answerer's session id stays too.
    let (aid, av1) = origin(&pc2.local_description().unwrap().sdp);
    pc1.set_local_description(Some(o3.clone())).await.unwrap();
    pc2.set_remote_description(o3).await.unwrap();
    let a = pc2.create_answer(None).await.unwrap();
    let (aid2, av2) = origin(&a.sdp);
    assert_eq!(aid2, aid);
    assert!(av2 > av1);
    pc1.close();
    pc2.close();
}

/// webrtc-pc §4.4.1.6 (setLocalDescription): an answer whose SDP is not the last one
/// createAnswer returned is refused with InvalidModificationError and changes nothing.
#[tokio::test]
async fn webrtc_pc_4_4_1_6_sld_of_a_modified_answer_is_invalid_modification() {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    let munged = with_sdp(
        &answer,
        answer.sdp.replace("a=ice-ufrag:", "a=ice-ufrag:zz"),
    );
    let e = pc2.set_local_description(Some(munged)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification, "{e}");
    assert!(pc2.local_description().is_none());
    pc2.set_local_description(Some(answer)).await.unwrap();
    pc1.close();
    pc2.close();
}

/// RFC 9429 §5.8.3 / §5.10 (an answer has exactly the offer's m-sections, in order): an
/// answer with fewer m-sections is refused with InvalidAccessError and the offer stays
/// pending; one that rejects a section (port 0) is applied and that transceiver is stopped
/// and removed (webrtc-pc §4.4.1.6, "rejected" m-section in an answer).
#[tokio::test]
async fn rfc9429_5_8_3_answer_sections_must_match_the_offer() {
    let (pc1, pc2) = (pc(), pc());
    pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_track(&video(), &[]).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();

    let mut parts: Vec<&str> = answer.sdp.split("\r\nm=").collect();
    parts.pop();
    let short = parts.join("\r\nm=") + "\r\n";
    let e = pc1
        .set_remote_description(with_sdp(&answer, short))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess, "{e}");
    assert!(pc1.remote_description().is_none());

    let rejecting = answer.sdp.replacen("m=video 9 ", "m=video 0 ", 1);
    assert_ne!(rejecting, answer.sdp);
    pc1.set_remote_description(with_sdp(&answer, rejecting))
        .await
        .unwrap();
    let mids: Vec<_> = pc1.get_transceivers().iter().map(|t| t.mid()).collect();
    assert_eq!(
        mids,
        vec![Some("0".to_string())],
        "the video transceiver is gone"
    );
    pc1.close();
    pc2.close();
}

/// RFC 9429 §5.2.1: an initial offer has a BUNDLE group of every section; each section its
/// mid, `a=setup:actpass`, credentials, `a=ice-options:trickle` (RFC 8840 §4.1.1: media level,
/// as Chromium writes it) and fingerprint (default bundlePolicy "balanced": no bundle-only), `a=rtcp-mux`,
/// `a=rtcp-rsize`, rtpmaps, the mid header extension and, for video, NACK/PLI feedback; the
/// data section `UDP/DTLS/SCTP webrtc-datachannel` with `a=sctp-port` and
/// `a=max-message-size`.
#[tokio::test]
async fn rfc9429_5_2_1_initial_offer_sections_carry_the_required_attributes() {
    let pc1 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    pc1.add_track(&video(), &[]).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut parts = offer.sdp.split("\r\nm=");
    let session = parts.next().unwrap();
    assert!(
        session.contains("\r\na=group:BUNDLE 0 1 2")
            || session.contains("\r\na=group:BUNDLE 2 0 1"),
        "{session}"
    );
    let sections: Vec<&str> = parts.collect();
    assert_eq!(sections.len(), 3);
    for (i, m) in sections.iter().enumerate() {
        for want in [
            format!("\r\na=mid:{i}"),
            "\r\na=setup:actpass".into(),
            "\r\na=ice-ufrag:".into(),
            "\r\na=ice-pwd:".into(),
            "\r\na=ice-options:trickle".into(),
            "\r\na=fingerprint:sha-256 ".into(),
        ] {
            assert!(m.contains(&want), "section {i} lacks {want:?}:\n{m}");
        }
    }
    for m in &sections[..2] {
        assert!(m.contains(" UDP/TLS/RTP/SAVPF "), "{m}");
        for want in [
            "\r\na=rtcp-mux",
            "\r\na=rtcp-rsize",
            "\r\na=rtpmap:",
            "\r\na=extmap:",
        ] {
            assert!(m.contains(want), "{want:?} missing:\n{m}");
        }
        assert!(m.contains("urn:ietf:params:rtp-hdrext:sdes:mid"), "{m}");
    }
    for fb in [" nack\r\n", " nack pli\r\n"] {
        assert!(
            sections[1].contains(fb),
            "video lacks rtcp-fb{fb:?}:\n{}",
            sections[1]
        );
    }
    assert!(sections[2].starts_with("application 9 UDP/DTLS/SCTP webrtc-datachannel"));
    assert!(sections[2].contains("\r\na=sctp-port:5000"));
    assert!(sections[2].contains("\r\na=max-message-size:"));
    pc1.close();
}

/// RFC 8843 §7.3.1: once an answer accepted BUNDLE, a subsequent offer keeps the section the
/// answer selected as the tag first in the group, so the answer's tag stays too.
#[tokio::test]
async fn rfc8843_7_3_1_subsequent_offer_keeps_the_bundle_tag() {
    let (pc1, pc2) = negotiated().await;
    let group = |sdp: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix("a=group:BUNDLE "))
            .unwrap()
            .to_string()
    };
    let first = group(&pc2.local_description().unwrap().sdp);
    let tag = first.split(' ').next().unwrap().to_string();
    pc1.add_track(&video(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert_eq!(
        group(&offer.sdp).split(' ').next(),
        Some(tag.as_str()),
        "{first}"
    );
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    assert_eq!(group(&answer.sdp).split(' ').next(), Some(tag.as_str()));
    pc1.close();
    pc2.close();
}
