//! Offers in older forms that real stacks still send, answered in kind (issue 12):
//! `RTP/SAVPF`-family protos echoed (RFC 9429 §5.3.1: the answer's proto "MUST be the same as
//! the offer's"), and the pre-RFC 8841 data section of draft-ietf-mmusic-sctp-sdp-05
//! (`DTLS/SCTP 5000` + `a=sctpmap`) answered in that form, its SCTP port taken from it, and
//! data channels working over it end to end.
//!
//! The end-to-end test uses real UDP on 127.0.0.1: run this file inside a loopback-only
//! namespace (`unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test
//! jsep_legacy_offers'`).

mod common;

use common::net::{next, next_data_channel, wait_gathered, within};
use rtcpeer::{
    Configuration, CoreSettings, DataChannelEvent, MediaKind, Payload, PeerConnection,
    SessionDescription, Settings,
};
use rtcpeer_proto::sdp::{Attribute, Media, Sdp};

fn pc_with_sctp_port(port: u16) -> PeerConnection {
    let settings = Settings {
        core: CoreSettings {
            sctp_port: port,
            ..CoreSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("pc")
}

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("pc")
}

fn parse(text: &str) -> Sdp {
    Sdp::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Rewrites every RTP section's proto.
fn with_rtp_proto(text: &str, proto: &str) -> String {
    let mut sdp = parse(text);
    for m in &mut sdp.media {
        if m.proto.contains("RTP") {
            m.proto = proto.to_string();
        }
    }
    sdp.to_string()
}

/// Rewrites an RFC 8841 data section into draft-ietf-mmusic-sctp-sdp-05's form, as an older
/// browser or gateway writes it: `m=application <port> DTLS/SCTP <sctp port>`,
/// `a=sctpmap:<sctp port> webrtc-datachannel 1024`, no `a=sctp-port`, and no
/// `a=max-message-size` (Chromium before M57 wrote none).
fn to_legacy_data(m: &mut Media) {
    let port = m
        .find_attr(|a| match a {
            Attribute::SctpPort(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(5000);
    m.proto = "DTLS/SCTP".into();
    m.formats = vec![port.to_string()];
    m.attributes
        .retain(|a| !matches!(a, Attribute::SctpPort(_) | Attribute::MaxMessageSize(_)));
    m.attributes.push(Attribute::Other {
        name: "sctpmap".into(),
        value: Some(format!("{port} webrtc-datachannel 1024")),
    });
}

/// The reverse: a legacy data section written back in RFC 8841's form (what the offerer,
/// which only speaks RFC 8841 in this test, reads).
fn to_current_data(m: &mut Media) {
    let port = m.sctp_port().expect("a legacy section names its SCTP port");
    m.proto = "UDP/DTLS/SCTP".into();
    m.formats = vec!["webrtc-datachannel".into()];
    m.attributes
        .retain(|a| !matches!(a, Attribute::Other { name, .. } if name == "sctpmap"));
    m.attributes.push(Attribute::SctpPort(port));
}

fn munge(text: &str, f: fn(&mut Media)) -> String {
    let mut sdp = parse(text);
    for m in sdp.media.iter_mut().filter(|m| m.kind == "application") {
        f(m);
    }
    sdp.to_string()
}

/// RFC 9429 §5.3.1: each answer m-section's proto is the offer's, whatever member of the
/// RTP/SAVP family it is; the answerer's own follow-up offer keeps the negotiated proto.
#[tokio::test]
async fn rtp_savpf_family_protos_are_echoed_in_the_answer() {
    for proto in [
        "RTP/SAVPF",
        "UDP/TLS/RTP/SAVP",
        "TCP/DTLS/RTP/SAVPF",
        "UDP/TLS/RTP/SAVPF",
    ] {
        let (a, b) = (pc(), pc());
        a.add_transceiver(MediaKind::Audio, Default::default())
            .unwrap();
        a.add_transceiver(MediaKind::Video, Default::default())
            .unwrap();
        let offer = a.create_offer(None).await.unwrap();
        let text = with_rtp_proto(&offer.sdp, proto);
        b.set_remote_description(SessionDescription::offer(text))
            .await
            .unwrap_or_else(|e| panic!("{proto}: {e}"));
        let answer = b.create_answer(None).await.unwrap();
        let sdp = parse(&answer.sdp);
        assert_eq!(sdp.media.len(), 2, "{proto}");
        for m in &sdp.media {
            assert_eq!(m.proto, proto, "{}", answer.sdp);
            assert_ne!(m.port, 0, "{proto}: accepted");
        }
        b.set_local_description(Some(answer)).await.unwrap();
        let reoffer = b.create_offer(None).await.unwrap();
        for m in &parse(&reoffer.sdp).media {
            assert_eq!(m.proto, proto, "re-offer: {}", reoffer.sdp);
        }
    }
}

/// An offer in draft-ietf-mmusic-sctp-sdp-05's form gets an answer in that form (same proto,
/// our SCTP port as the format and in `a=sctpmap`), never RFC 8841's `a=sctp-port`, which such
/// a peer cannot read; the answerer's next offer keeps the form.
#[tokio::test]
async fn legacy_sctpmap_offer_is_answered_in_kind() {
    let (a, b) = (pc_with_sctp_port(5001), pc_with_sctp_port(5002));
    a.create_data_channel("x", None).unwrap();
    let offer = a.create_offer(None).await.unwrap();
    let legacy = munge(&offer.sdp, to_legacy_data);
    assert!(
        legacy.contains("m=application 9 DTLS/SCTP 5001\r\n"),
        "{legacy}"
    );
    b.set_remote_description(SessionDescription::offer(legacy))
        .await
        .unwrap();
    let answer = b.create_answer(None).await.unwrap();
    let sdp = parse(&answer.sdp);
    let m = &sdp.media[0];
    assert_eq!(m.proto, "DTLS/SCTP", "{}", answer.sdp);
    assert_eq!(m.formats, vec!["5002".to_string()], "{}", answer.sdp);
    assert_eq!(
        m.sctpmap(),
        Some((5002, "webrtc-datachannel 65535")),
        "{}",
        answer.sdp
    );
    assert!(
        !m.attributes
            .iter()
            .any(|a| matches!(a, Attribute::SctpPort(_))),
        "{}",
        answer.sdp
    );
    assert!(m.has(&Attribute::MaxMessageSize(262_144)), "{}", answer.sdp);
    assert_eq!(m.sctp_port(), Some(5002));
    b.set_local_description(Some(answer)).await.unwrap();
    let reoffer = b.create_offer(None).await.unwrap();
    let m = &parse(&reoffer.sdp).media[0];
    assert_eq!((m.proto.as_str(), m.sctp_port()), ("DTLS/SCTP", Some(5002)));
    assert!(m.is_legacy_sctp(), "{}", reoffer.sdp);
}

/// End to end: A (SCTP port 5001) offers; its offer is rewritten to the legacy form before B
/// (SCTP port 5002) applies it, and B's legacy answer is rewritten back to RFC 8841 for A.
/// The association only comes up if B took A's port from the `DTLS/SCTP 5001` / `a=sctpmap`
/// form (our SCTP drops packets for other ports), and a channel then opens and carries a
/// message each way.
#[tokio::test]
async fn data_channel_works_over_a_legacy_sctpmap_negotiation() {
    let (a, b) = (pc_with_sctp_port(5001), pc_with_sctp_port(5002));
    let dc_a = a.create_data_channel("legacy", None).unwrap();
    let mut ev_a = dc_a.events();
    let mut b_events = b.events();

    a.set_local_description(None).await.unwrap();
    wait_gathered(&a).await;
    let offer = munge(&a.local_description().unwrap().sdp, to_legacy_data);
    b.set_remote_description(SessionDescription::offer(offer))
        .await
        .unwrap();
    b.set_local_description(None).await.unwrap();
    wait_gathered(&b).await;
    let answer = b.local_description().unwrap().sdp;
    assert!(answer.contains(" DTLS/SCTP 5002\r\n"), "{answer}");
    assert!(answer.contains("a=sctpmap:5002 "), "{answer}");
    let answer = munge(&answer, to_current_data);
    a.set_remote_description(SessionDescription::answer(answer))
        .await
        .unwrap();

    let dc_b = next_data_channel(&mut b_events).await;
    assert_eq!(dc_b.label(), "legacy");
    let mut ev_b = dc_b.events();
    within("the channel to open on A", async {
        while next(&mut ev_a).await != DataChannelEvent::Open {}
    })
    .await;
    dc_a.send_text("over sctpmap").unwrap();
    within("the message on B", async {
        loop {
            if let DataChannelEvent::Message(p) = next(&mut ev_b).await {
                assert_eq!(p, Payload::Text("over sctpmap".into()));
                break;
            }
        }
    })
    .await;
    dc_b.send(&[7, 7]).unwrap();
    within("the reply on A", async {
        loop {
            if let DataChannelEvent::Message(p) = next(&mut ev_a).await {
                assert_eq!(p, Payload::Binary(vec![7, 7]));
                break;
            }
        }
    })
    .await;
    a.close();
    b.close();
}
