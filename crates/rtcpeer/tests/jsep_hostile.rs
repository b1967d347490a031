//! Hostile remote descriptions through the JSEP layer: every mutation of real offers that
//! still parses must be either accepted (and answerable) or rejected with an error — never a
//! panic — and the connection must stay usable afterwards.

use rtcpeer::{Configuration, PeerConnection, SessionDescription, SignalingState};
use rtcpeer_proto::sdp::Sdp;

const OFFERS: &[&str] = &[
    include_str!("fixtures/sdp/chromium-datachannel-offer.sdp"),
    include_str!("fixtures/sdp/chromium-audio-video-data-offer.sdp"),
    include_str!("fixtures/sdp/chromium-simulcast-offer.sdp"),
    include_str!("fixtures/sdp/firefox-audio-video-data-offer.sdp"),
    include_str!("fixtures/sdp/firefox-simulcast-offer.sdp"),
    include_str!("fixtures/sdp/rfc8843-bundle-offer.sdp"),
    include_str!("fixtures/sdp/jsep-offer-two-components.sdp"),
];

/// Line-level mutations of `text`: each line deleted, duplicated, swapped with the next,
/// and a few targeted value edits.
fn mutations(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let join = |v: Vec<String>| v.join("\r\n") + "\r\n";
    let mut out = Vec::new();
    for i in 0..lines.len() {
        let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        v.remove(i);
        out.push(join(v));
        let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        v.insert(i, lines[i].to_string());
        out.push(join(v));
        if i + 1 < lines.len() {
            let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            v.swap(i, i + 1);
            out.push(join(v));
        }
        for (from, to) in [
            ("m=audio 9 ", "m=audio 0 "),
            ("m=video 9 ", "m=application 9 "),
            (
                "m=application 9 UDP/DTLS/SCTP",
                "m=application 9 UDP/TLS/RTP/SAVPF",
            ),
            ("a=mid:", "a=mid:0"),
            ("a=setup:actpass", "a=setup:passive"),
            ("a=sendrecv", "a=inactive"),
            ("a=group:BUNDLE ", "a=group:BUNDLE x "),
            ("a=msid:", "a=msid:- "),
            ("a=rtpmap:", "a=rtpmap:1"),
        ] {
            if lines[i].starts_with(from) {
                let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                v[i] = lines[i].replacen(from, to, 1);
                out.push(join(v));
            }
        }
    }
    out
}

#[tokio::test]
async fn mutated_remote_offers_never_panic_and_leave_the_connection_usable() {
    let mut accepted = 0;
    let mut rejected = 0;
    for offer in OFFERS {
        for m in mutations(offer) {
            if Sdp::parse(&m).is_err() {
                continue;
            }
            let pc = PeerConnection::new(Configuration::default()).unwrap();
            match pc
                .set_remote_description(SessionDescription::offer(m.clone()))
                .await
            {
                Ok(()) => {
                    accepted += 1;
                    pc.set_local_description(None)
                        .await
                        .unwrap_or_else(|e| panic!("answer failed: {e}\n{m}"));
                    let answer = pc.local_description().unwrap();
                    Sdp::parse(&answer.sdp).expect("our answer parses");
                    assert_eq!(pc.signaling_state(), SignalingState::Stable);
                    // A follow-up offer from us works too.
                    pc.set_local_description(None)
                        .await
                        .unwrap_or_else(|e| panic!("re-offer failed: {e}\n{m}"));
                }
                Err(_) => {
                    rejected += 1;
                    assert_eq!(pc.signaling_state(), SignalingState::Stable);
                    assert!(pc.remote_description().is_none());
                }
            }
        }
    }
    assert!(
        accepted > 100 && rejected > 10,
        "accepted {accepted}, rejected {rejected}"
    );
}
