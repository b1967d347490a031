//! A connection with a remote offer applied, then any sequence of addIceCandidate calls
//! (candidate text, sdpMid / sdpMLineIndex, usernameFragment, end-of-candidates), at the
//! signaling core (`jsep::Core`, what `PeerConnection::add_ice_candidate` runs). Nothing
//! panics; the limits hold (candidates per m-section, bytes of the description); and after
//! every accepted call `remoteDescription.sdp` parses and is byte for byte what the simple
//! re-serialising algorithm (kept here as the model) gives.
//!
//! Input: byte 0 picks the variant (limits small or default, end-of-candidates in the middle
//! of the first section, our answer applied so an ICE agent exists); then one call per line:
//! `c<mid>\t<candidate>`, `i<index byte><candidate>`, `u<ufrag>\t<mid>\t<candidate>`,
//! `e<mid>` (end-of-candidates; empty mid: every section), `n<candidate>` (no target),
//! `g<2 bytes>` (an ordinary candidate numbered by the bytes, for mid 0), `r` (read).
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
#[path = "../../crates/rtcpeer/tests/common/trickle_model.rs"]
mod trickle_model;
use rtcpeer_proto::jsep::{Core, CoreSettings};
use rtcpeer_proto::sdp::Sdp;
use rtcpeer_proto::util::SeededRandom;
use rtcpeer::{
    Certificate, CertificateParams, Configuration, IceCandidateInit, SessionDescription,
    SignalingLimits,
};
use trickle_model::reference_add;

const FP: &str = "8A:E2:E3:81:D7:51:6A:9A:A6:B7:DB:A9:D9:A5:A9:F1:B3:A9:10:94:0D:15:62:61:7F:E6:19:81:83:43:48:74";

/// Three sections bundled on "0": data with two candidates, audio with its own ufrag, and
/// video relying on the session-level ufrag.
fn offer(eoc_in_middle: bool) -> String {
    let eoc = if eoc_in_middle {
        "a=end-of-candidates\r\n"
    } else {
        ""
    };
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n\
         a=ice-ufrag:SESS\r\na=ice-pwd:sessionpasswordsessionpwd\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=candidate:1 1 udp 2122260223 127.0.0.1 41536 typ host generation 0\r\n{eoc}\
         a=candidate:2 1 udp 2122260222 127.0.0.2 41537 typ host\r\n\
         a=ice-ufrag:IJ2m\r\na=ice-pwd:60wt/FKNCYVnfv9DzFSr3g+2\r\n\
         a=fingerprint:sha-256 {FP}\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:AUDI\r\n\
         a=ice-pwd:audiopasswordaudiopasswd\r\na=fingerprint:sha-256 {FP}\r\n\
         a=setup:actpass\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=fingerprint:sha-256 {FP}\r\n\
         a=setup:actpass\r\na=mid:2\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
    )
}

fn certificate() -> Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap()
    })
    .clone()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn with_mid(candidate: String, mid: String) -> IceCandidateInit {
    IceCandidateInit {
        candidate,
        sdp_mid: Some(mid),
        ..Default::default()
    }
}

/// One call from one input line.
fn call(line: &[u8]) -> Option<IceCandidateInit> {
    let (&op, rest) = line.split_first()?;
    let mut fields = rest.splitn(3, |&b| b == b'\t');
    Some(match op {
        b'c' => {
            let mid = text(fields.next()?);
            with_mid(text(fields.next().unwrap_or_default()), mid)
        }
        b'i' => {
            let (&index, cand) = rest.split_first()?;
            IceCandidateInit {
                candidate: text(cand),
                sdp_m_line_index: Some(u16::from(index)),
                ..Default::default()
            }
        }
        b'u' => {
            let ufrag = text(fields.next()?);
            let mid = text(fields.next()?);
            IceCandidateInit {
                username_fragment: Some(ufrag),
                ..with_mid(text(fields.next().unwrap_or_default()), mid)
            }
        }
        b'e' if rest.is_empty() => IceCandidateInit::default(),
        b'e' => with_mid(String::new(), text(rest)),
        b'n' => IceCandidateInit {
            candidate: text(rest),
            ..Default::default()
        },
        b'g' => {
            let n = u32::from(u16::from_le_bytes([
                *rest.first()?,
                *rest.get(1).unwrap_or(&0),
            ]));
            with_mid(
                format!(
                    "candidate:{n} 1 udp {} 10.0.{}.{} {} typ host",
                    2_000_000_000 - n,
                    n >> 8,
                    n & 0xff,
                    1024 + n
                ),
                "0".into(),
            )
        }
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&variant, ops)) = data.split_first() else {
        return;
    };
    let small = variant & 1 != 0;
    let offer = offer(variant & 2 != 0);
    let limits = if small {
        SignalingLimits {
            max_description_bytes: offer.len() + 2048,
            max_candidates_per_section: 12,
            max_candidate_bytes: 200,
        }
    } else {
        SignalingLimits::default()
    };
    let mut core = Core::new(
        Configuration::default(),
        CoreSettings::default(),
        certificate(),
        Box::new(SeededRandom::new(1)),
    );
    core.configure_ice(Default::default(), Box::new(SeededRandom::new(2)));
    core.set_signaling_limits(limits.clone());
    core.set_remote_description(SessionDescription::offer(offer.clone()))
        .expect("the offer applies");
    if variant & 4 != 0 {
        core.set_local_description(None)
            .expect("the offer is answered");
        let _ = core.add_local_address("10.9.9.9:5000".parse().unwrap());
    }
    let mut model = Sdp::parse(&offer).unwrap();
    let sections = model.media.len();
    for line in ops.split(|&b| b == b'\n').take(4096) {
        if line == b"r" {
            let _ = core.remote_description();
            continue;
        }
        let Some(c) = call(line) else { continue };
        if core.add_ice_candidate(&c).is_err() {
            continue;
        }
        assert!(
            reference_add(&mut model, &c),
            "accepted, the model refuses: {c:?}"
        );
        let sdp = core.remote_description().expect("a remote description").sdp;
        assert_eq!(sdp, model.to_string(), "after {c:?}");
        // At most one end-of-candidates line per section is not counted against the bytes.
        let eoc_slack = sections * "a=end-of-candidates\r\n".len();
        assert!(
            sdp.len() <= limits.max_description_bytes + eoc_slack,
            "{} bytes",
            sdp.len()
        );
        let parsed = Sdp::parse(&sdp).expect("the description stays parseable");
        for m in &parsed.media {
            assert!(m.candidates().count() <= limits.max_candidates_per_section);
        }
    }
});
