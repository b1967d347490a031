//! SDPs from real stacks (issue 12): every file of `tests/fixtures/sdp_corpus/` (origins in
//! its README.md) must parse and survive a write → parse round trip with its meaning intact;
//! every offer is applied by a fresh connection and answered as RFC 9429 §5.3.1 says (same
//! m-line count, order, kinds, mids and protos; rejected sections with port 0; data sections
//! in the offer's form; codecs a subset of the offer's, with its payload types). An offer
//! rtcpeer refuses for a JSEP reason is listed in [`REFUSED`] with that reason: the refusal
//! is asserted, never skipped.
//!
//! No network is used: an answer is created without setLocalDescription, so no socket opens.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rtcpeer::{Configuration, PeerConnection, SessionDescription, Settings};
use rtcpeer_proto::sdp::{Attribute, Media, Sdp, Setup};

/// Offers rtcpeer refuses on purpose: file name → (text the error must contain, why JSEP
/// makes that the right answer).
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "asterisk-16.19-chan-sip-rtp-savpf-empty-fingerprint-offer.sdp",
        "no DTLS fingerprint",
        "`a=fingerprint:SHA-256` has no value (a misconfigured chan_sip without a certificate): \
     without a fingerprint the DTLS peer cannot be authenticated (RFC 8122 §5, RFC 8827 \
     §6.5); Chromium refuses it too (\"Called with SDP without DTLS fingerprint\")",
    ),
    (
        "pion-tests-inactive-video-offer.sdp",
        "lacks a=rtcp-mux",
        "no `a=rtcp-mux` while rtcpMuxPolicy is \"require\" (the default; webrtc-pc §4.2.5, \
         RFC 9429 §5.8: such a description is rejected), as Chromium rejects it",
    ),
    (
        "pion-webrtc-tests-rtx-offer.sdp",
        "lacks a=rtcp-mux",
        "the video section (trimmed by hand in Pion's test; Pion itself writes `a=rtcp-mux` in \
         every section) has no `a=rtcp-mux` while rtcpMuxPolicy is \"require\" (webrtc-pc \
         §4.2.5, RFC 9429 §5.8), as Chromium rejects it; being BUNDLEd with a muxed section \
         does not waive it (RFC 8859 puts `rtcp-mux` in the IDENTICAL category: every \
         bundled section carries it)",
    ),
];

/// Operations of the chain complete at their first poll (see `api/chain.rs`).
fn now<T>(f: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("operations are ready at the first poll"),
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdp_corpus")
}

/// Every `.sdp` file of the corpus, sorted, with its text.
fn corpus() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(corpus_dir())
        .expect("the corpus folder")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sdp"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    files
}

fn is_offer(name: &str) -> bool {
    name.ends_with("-offer.sdp")
}

#[test]
fn every_file_parses_and_round_trips_with_its_meaning() {
    for (name, text) in corpus() {
        let sdp = Sdp::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!sdp.media.is_empty(), "{name}: no media section");
        let written = sdp.to_string();
        let again = Sdp::parse(&written).unwrap_or_else(|e| panic!("{name} rewritten: {e}"));
        assert_eq!(again, sdp, "{name}: meaning changed");
        assert_eq!(again.to_string(), written, "{name}: writing is not stable");
        // The writer is strict: CRLF only, no trailing spaces, one space between fields of
        // the lines it types.
        for line in written.split_terminator("\r\n") {
            assert!(!line.contains('\n'), "{name}: bare LF in {line:?}");
        }
        // The same text with LF endings means the same.
        let lf = text.replace("\r\n", "\n");
        assert_eq!(
            Sdp::parse(&lf).unwrap_or_else(|e| panic!("{name} (LF): {e}")),
            sdp,
            "{name}: LF endings"
        );
    }
}

/// The RTP payload types of a section with their `(encoding, clock rate, channels)`; no
/// channel count means 1 (RFC 8866 §6.6).
fn codecs(m: &Media) -> HashMap<String, (String, u32, u16)> {
    m.attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::Rtpmap {
                payload_type,
                encoding,
                clock_rate,
                channels,
            } => Some((
                payload_type.to_string(),
                (
                    encoding.to_ascii_lowercase(),
                    *clock_rate,
                    channels.unwrap_or(1),
                ),
            )),
            _ => None,
        })
        .collect()
}

/// What answering `offer` gave: the answer, or the error text.
fn answer(offer: &str) -> Result<Sdp, String> {
    let settings = Settings {
        seed: Some(7),
        ..Settings::default()
    };
    let pc = PeerConnection::with_settings(Configuration::default(), settings).unwrap();
    now(pc.set_remote_description(SessionDescription::offer(offer))).map_err(|e| e.to_string())?;
    let answer = now(pc.create_answer(None)).map_err(|e| e.to_string())?;
    pc.close();
    Ok(Sdp::parse(&answer.sdp).expect("our answer parses"))
}

fn check_answer(name: &str, offer: &Sdp, answer: &Sdp) {
    assert_eq!(
        answer.media.len(),
        offer.media.len(),
        "{name}: m-line count\n{answer}"
    );
    let mut accepted = 0;
    for (i, (o, a)) in offer.media.iter().zip(&answer.media).enumerate() {
        let at = format!("{name} m-section {i} ({} {})", o.kind, o.proto);
        assert_eq!(a.kind, o.kind, "{at}: kind");
        assert_eq!(
            a.proto, o.proto,
            "{at}: proto must be the offer's (RFC 9429 §5.3.1)"
        );
        if let Some(mid) = o.mid() {
            assert_eq!(a.mid(), Some(mid), "{at}: mid");
        }
        if o.is_rejected() {
            assert_eq!(a.port, 0, "{at}: a rejected offer section stays rejected");
        }
        if a.port == 0 {
            continue;
        }
        accepted += 1;
        assert!(
            a.ice_ufrag().is_some() && a.ice_pwd().is_some(),
            "{at}: ICE credentials"
        );
        assert!(
            a.attributes
                .iter()
                .any(|x| matches!(x, Attribute::Fingerprint { .. })),
            "{at}: fingerprint"
        );
        assert!(
            matches!(a.setup(), Some(Setup::Active | Setup::Passive)),
            "{at}: a=setup {:?}",
            a.setup()
        );
        if o.proto.to_ascii_uppercase().contains("SCTP") {
            // Data: answered in the offer's form (RFC 8841 or draft-ietf-mmusic-sctp-sdp-05).
            assert_eq!(
                a.is_legacy_sctp(),
                o.is_legacy_sctp(),
                "{at}: data form\n{a:?}"
            );
            let has_sctp_port = a
                .attributes
                .iter()
                .any(|x| matches!(x, Attribute::SctpPort(_)));
            if o.is_legacy_sctp() {
                assert!(a.sctpmap().is_some() && !has_sctp_port, "{at}: legacy form");
                assert_eq!(a.formats, vec![a.sctp_port().unwrap().to_string()], "{at}");
            } else {
                assert!(
                    has_sctp_port && a.sctpmap().is_none(),
                    "{at}: RFC 8841 form"
                );
                assert_eq!(a.formats, o.formats, "{at}: fmt");
            }
        } else {
            // RTP: every answered payload type is one the offer has, with the same codec.
            let offered = codecs(o);
            let answered = codecs(a);
            assert!(!a.formats.is_empty(), "{at}: no codec");
            for pt in &a.formats {
                assert!(o.formats.contains(pt), "{at}: PT {pt} not in the offer");
                if let (Some(x), Some(y)) = (answered.get(pt), offered.get(pt)) {
                    assert_eq!(x, y, "{at}: PT {pt} is another codec than offered");
                }
            }
        }
    }
    assert!(accepted > 0, "{name}: nothing accepted\n{answer}");
}

#[test]
fn every_offer_is_answered_as_jsep_says_or_refused_for_a_listed_reason() {
    let files = corpus();
    for (file, _, _) in REFUSED {
        assert!(
            files.iter().any(|(n, _)| n == file),
            "REFUSED names {file}, which is not in the corpus"
        );
    }
    // First every unexpected outcome at once, so a change shows all it breaks.
    let unexpected: Vec<String> = files
        .iter()
        .filter(|(n, _)| is_offer(n))
        .filter_map(|(name, text)| {
            let listed = REFUSED.iter().any(|(f, _, _)| f == name);
            match (answer(text), listed) {
                (Err(e), false) => Some(format!("{name} was refused: {e}")),
                (Ok(_), true) => Some(format!("{name} was answered but is listed in REFUSED")),
                _ => None,
            }
        })
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    let mut answered = 0;
    for (name, text) in files.iter().filter(|(n, _)| is_offer(n)) {
        let offer = Sdp::parse(text).unwrap();
        let result = answer(text);
        match REFUSED.iter().find(|(f, _, _)| f == name) {
            Some((_, expected, why)) => {
                let err = result.err().unwrap_or_else(|| {
                    panic!("{name} was answered, but REFUSED says it must not be: {why}")
                });
                assert!(
                    err.contains(expected),
                    "{name}: {err:?} (expected {expected:?})"
                );
            }
            None => {
                let a = result.unwrap_or_else(|e| panic!("{name} was refused: {e}"));
                check_answer(name, &offer, &a);
                answered += 1;
            }
        }
    }
    assert!(answered >= 20, "only {answered} offers answered");
}

/// Every corpus file is listed in the README's origin table.
#[test]
fn every_file_has_its_origin_noted() {
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).expect("README.md");
    for (name, _) in corpus() {
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} has no origin in README.md"
        );
    }
}

fn corpus_file(name: &str) -> String {
    std::fs::read_to_string(corpus_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A transport attribute whose value does not parse is not a syntax error (the line is kept,
/// RFC 8866 §5.13): the section then lacks it, which setRemoteDescription reports as JSEP
/// does for a missing one (RFC 9429 §5.8: InvalidAccessError), naming what is missing.
#[test]
fn malformed_transport_attributes_fail_at_apply_not_at_parse() {
    let text = corpus_file("libdatachannel-0.24.5-datachannel-offer.sdp");
    let ufrag = text
        .lines()
        .find(|l| l.starts_with("a=ice-ufrag:"))
        .unwrap()
        .to_string();
    let fingerprint = text
        .lines()
        .find(|l| l.starts_with("a=fingerprint:"))
        .unwrap()
        .to_string();
    for (bad, missing) in [
        (
            text.replace(&ufrag, "a=ice-ufrag:not*ice-chars"),
            "no ICE credentials",
        ),
        (
            text.replace(&fingerprint, "a=fingerprint:sha-256 ZZ:TOP"),
            "no DTLS fingerprint",
        ),
    ] {
        assert!(Sdp::parse(&bad).is_ok(), "{bad}");
        let pc = PeerConnection::new(Configuration::default()).unwrap();
        let err = now(pc.set_remote_description(SessionDescription::offer(bad)))
            .expect_err("a section without usable transport attributes");
        assert_eq!(err.kind(), rtcpeer::ErrorKind::InvalidAccess, "{err}");
        assert!(err.to_string().contains(missing), "{err}");
        pc.close();
    }
}

/// RFC 8866 §6.7: a session-level direction applies to every media section without one. An
/// offer whose sections inherit `a=recvonly` sends nothing, so a connection without tracks
/// answers them `inactive` (not `recvonly`, as if the offer sent).
#[test]
fn session_level_direction_applies_to_sections_without_one() {
    let mut offer = Sdp::parse(&corpus_file("chromium-156-audio-video-data-offer.sdp")).unwrap();
    for m in &mut offer.media {
        m.attributes
            .retain(|a| !matches!(a, Attribute::Direction(_)));
    }
    offer.attributes.push(Attribute::Direction(
        rtcpeer_proto::sdp::Direction::RecvOnly,
    ));
    let a = answer(&offer.to_string()).unwrap();
    let dirs: Vec<_> = a
        .media
        .iter()
        .map(|m| (m.kind.as_str(), m.direction()))
        .collect();
    assert_eq!(
        dirs,
        [
            ("audio", Some(rtcpeer_proto::sdp::Direction::Inactive)),
            ("video", Some(rtcpeer_proto::sdp::Direction::Inactive)),
            ("application", None),
        ],
        "{a}"
    );
}
