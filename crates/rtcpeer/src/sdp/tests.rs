//! Parser/writer tests: byte-exact round trips of real descriptions, typed accessors,
//! malformed input with line numbers, and a mutation sweep that must never panic.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../tests/fixtures/sdp/", $name)),
        )
    };
}

/// Every fixture, by file name.
const FIXTURES: &[(&str, &str)] = &[
    fixture!("chromium-datachannel-offer.sdp"),
    fixture!("chromium-audio-video-data-offer.sdp"),
    fixture!("chromium-audio-video-data-answer.sdp"),
    fixture!("chromium-simulcast-offer.sdp"),
];

fn parse(text: &str) -> Sdp {
    Sdp::parse(text).unwrap_or_else(|e| panic!("parse failed: {e}"))
}

#[test]
fn fixtures_round_trip_byte_exact() {
    for (name, text) in FIXTURES {
        let sdp = Sdp::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = sdp.to_string();
        assert_eq!(&written, text, "{name} did not round-trip");
        assert_eq!(
            Sdp::parse(&written).as_ref(),
            Ok(&sdp),
            "{name}: re-parse differs"
        );
    }
}

/// The line number and message of the error for `text`.
fn error(text: &str) -> (usize, String) {
    match Sdp::parse(text) {
        Ok(sdp) => panic!("expected an error, parsed {sdp:?}"),
        Err(e) => (e.line(), e.message().to_string()),
    }
}

const MINIMAL: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

#[test]
fn minimal_lf_and_missing_final_newline() {
    let crlf = parse(MINIMAL);
    assert_eq!(crlf.origin.session_id, 1);
    assert_eq!(crlf.origin.session_version, 2);
    assert_eq!(crlf.timing, vec![(0, 0)]);
    let lf = MINIMAL.replace("\r\n", "\n");
    assert_eq!(parse(&lf), crlf);
    assert_eq!(parse(lf.trim_end()), crlf);
    assert_eq!(parse(MINIMAL.trim_end()), crlf);
    assert_eq!(crlf.to_string(), MINIMAL);
}

#[test]
fn parse_error_reports_line_and_converts_to_syntax_error() {
    let e = Sdp::parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:abc\r\n")
        .unwrap_err();
    assert_eq!(e.line(), 6);
    assert!(e.to_string().starts_with("line 6: "), "{e}");
    let err: crate::Error = e.into();
    assert_eq!(err.kind(), crate::ErrorKind::Syntax);
    assert!(err.message().contains("line 6"), "{err}");
    let _: &dyn std::error::Error = &Sdp::parse("").unwrap_err();
}

#[test]
fn malformed_descriptions_give_line_numbers() {
    let head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let cases: &[(&str, usize)] = &[
        ("", 1),
        ("Invalid SDP", 1),
        ("o=- 1 2 IN IP4 127.0.0.1\r\nv=0\r\n", 1),
        ("v=1\r\n", 1),
        ("v=0\r\ns=-\r\n", 2),
        ("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\nt=0 0\r\n", 2),
        ("v=0\r\no=- x 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 2),
        (
            "v=0\r\no=- 18446744073709551616 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
            2,
        ),
        ("v=0\r\no=-  1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 2),
        ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nt=0 0\r\n", 3),
        ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n", 3),
        (
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n",
            4,
        ),
    ];
    for (text, line) in cases {
        assert_eq!(error(text).0, *line, "{text:?}: {:?}", error(text));
    }
    let body: &[(&str, &str)] = &[
        ("garbage line", "not an SDP line"),
        ("A=foo", "not an SDP line"),
        ("a", "not an SDP line"),
        ("", "empty line"),
        ("v=0", "duplicate"),
        ("c=IN IP4", "c="),
        ("b=AS:-1", "not a number"),
        ("t=0", "t="),
        ("m=audio 65536 RTP/AVP 0", "out of range"),
        ("m=audio 9 RTP/AVP", "m="),
        ("a=rtpmap:abc", "rtpmap"),
        ("a=rtpmap:128 PCMU/8000", "0-127"),
        ("a=fmtp:300 x=1", "0-127"),
        ("a=rtcp-fb:128 nack", "0-127"),
        ("a=sctp-port:65536", "out of range"),
        ("a=max-message-size:99999999999999999999", "out of range"),
        ("a=setup:sideways", "a=setup"),
        ("a=rtcp-mux:yes", "no value"),
        ("a=mid", "needs a value"),
        ("a=fingerprint:sha-256 XY:ZZ", "hex"),
        (
            "a=candidate:1 1 udp 99999999999 127.0.0.1 9 typ host",
            "out of range",
        ),
        ("a=candidate:1 1 udp 1 127.0.0.1 9 type host", "typ"),
        (
            "a=candidate:1 1 udp 1 127.0.0.1 9 typ host generation",
            "without a value",
        ),
        ("a=simulcast:send a;;b", "rid"),
        ("a=rid:a sideways", "send or recv"),
        ("a=extmap:1/upward urn:x", "direction"),
        ("a=ssrc:4294967296 cname:x", "out of range"),
    ];
    for (line, what) in body {
        let text = format!("{head}{line}\r\n");
        let (n, msg) = error(&text);
        assert_eq!(n, 5, "{line:?}: {msg}");
        assert!(
            msg.contains(what),
            "{line:?}: {msg:?} should mention {what:?}"
        );
    }
}
