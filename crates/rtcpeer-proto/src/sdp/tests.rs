//! Parser/writer tests: byte-exact round trips of real descriptions, typed accessors,
//! malformed input with line numbers, and a mutation sweep that must never panic.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../rtcpeer/tests/fixtures/sdp/", $name)),
        )
    };
}

/// Every fixture, by file name.
const FIXTURES: &[(&str, &str)] = &[
    fixture!("chromium-datachannel-offer.sdp"),
    fixture!("chromium-audio-video-data-offer.sdp"),
    fixture!("chromium-audio-video-data-answer.sdp"),
    fixture!("chromium-simulcast-offer.sdp"),
    fixture!("firefox-audio-video-data-offer.sdp"),
    fixture!("firefox-simulcast-offer.sdp"),
    fixture!("rfc8843-bundle-offer.sdp"),
    fixture!("rfc8853-simulcast-offer.sdp"),
    fixture!("jsep-offer-two-components.sdp"),
];

fn fixture(name: &str) -> Sdp {
    let (_, text) = FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    parse(text)
}

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
    let e = Sdp::parse(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4\r\n",
    )
    .unwrap_err();
    assert_eq!(e.line(), 6);
    assert!(e.to_string().starts_with("line 6: "), "{e}");
    let err: crate::Error = e.into();
    assert_eq!(err.kind(), crate::ErrorKind::Syntax);
    assert!(err.message().contains("line 6"), "{err}");
    let _: &dyn std::error::Error = &Sdp::parse("").unwrap_err();
}

/// WPT-93: `setRemoteDescription({type:'offer', sdp:'Invalid SDP'})` rejects with an RTCError
/// whose errorDetail is "sdp-syntax-error".
#[test]
fn wpt93_invalid_sdp_is_an_sdp_syntax_rtc_error() {
    let e = Sdp::parse("Invalid SDP").unwrap_err();
    assert_eq!(e.line(), 1);
    let err = e.into_rtc_error();
    assert_eq!(err.name(), "OperationError");
    assert_eq!(
        err.detail(),
        Some(crate::ErrorDetail::SdpSyntaxError { line: Some(1) })
    );
    assert_eq!(err.detail().map(|d| d.as_str()), Some("sdp-syntax-error"));
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
        ("a=x-foo:a\rb", "carriage return"),
        ("a=x-foo:a\0b", "NUL"),
        ("v=0", "duplicate"),
        ("c=IN IP4", "c="),
        ("t=0", "t="),
        ("m=audio 65536 RTP/AVP 0", "out of range"),
        ("m=audio 9 RTP/AVP", "m="),
    ];
    // Blank lines (inside or trailing) are skipped, as are spaces around a line.
    let blanks = format!("{head}\r\n  \r\na=x-foo:1 \r\n\r\n");
    assert_eq!(
        parse(&blanks),
        parse(&format!("{head}a=x-foo:1\r\n")),
        "{blanks:?}"
    );
    assert_eq!(parse(&format!("{MINIMAL}\r\n\r\n")), parse(MINIMAL));
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

/// An attribute whose value does not parse is not fatal in a description (RFC 8866 §5.13,
/// RFC 9429 §5.8): it is kept verbatim as `Other`, so it round-trips and the code that needs
/// it finds it missing; `Attribute::parse` on its own still reports why it is malformed.
#[test]
fn malformed_attributes_are_kept_verbatim_not_fatal() {
    let head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";
    let cases: &[(&str, &str)] = &[
        ("rtpmap:abc", "rtpmap"),
        ("rtpmap:128 PCMU/8000", "0-127"),
        ("fmtp:300 x=1", "0-127"),
        ("rtcp-fb:128 nack", "0-127"),
        ("sctp-port:65536", "out of range"),
        ("max-message-size:99999999999999999999", "out of range"),
        ("setup:sideways", "a=setup"),
        ("rtcp-mux:yes", "no value"),
        ("mid", "needs a value"),
        ("fingerprint:sha-256 XY:ZZ", "hex"),
        (
            "candidate:1 1 udp 99999999999 127.0.0.1 9 typ host",
            "out of range",
        ),
        ("candidate:1 1 udp 1 127.0.0.1 9 type host", "typ"),
        ("simulcast:send a;;b", "rid"),
        ("rid:a sideways", "send or recv"),
        ("extmap:1/upward urn:x", "direction"),
        ("ssrc:4294967296 cname:x", "out of range"),
    ];
    for (value, what) in cases {
        let text = format!("{head}a={value}\r\n");
        let sdp = Sdp::parse(&text).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        let (name, rest) = match value.split_once(':') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (*value, None),
        };
        assert_eq!(
            sdp.media[0].attributes,
            vec![Attribute::Other {
                name: name.into(),
                value: rest
            }],
            "{value:?}"
        );
        assert_eq!(sdp.to_string(), text, "{value:?} must round-trip");
        let e = Attribute::parse(value).expect_err(value);
        assert!(
            e.message().contains(what),
            "{value:?}: {:?} should mention {what:?}",
            e.message()
        );
    }
    // A line whose name is not even a token cannot be an attribute: it is dropped.
    let sdp = parse(&format!("{head}a=\r\na=bad name:x\r\n"));
    assert!(sdp.media[0].attributes.is_empty());
    // A malformed b= is advisory and skipped (RFC 8866 §5.8).
    let sdp = parse(&format!("{head}b=AS:-1\r\nb=AS:64\r\n"));
    assert_eq!(sdp.media[0].bandwidths.len(), 1);
}

#[test]
fn fixtures_parse_the_same_with_lf_endings() {
    for (name, text) in FIXTURES {
        let lf = text.replace("\r\n", "\n");
        assert_eq!(parse(&lf), parse(text), "{name}");
        assert_eq!(
            parse(&lf).to_string(),
            *text,
            "{name}: writer must use CRLF"
        );
    }
}

fn rtpmap(m: &Media, pt: u8) -> Option<(&str, u32, Option<u16>)> {
    m.find_attr(|a| match a {
        Attribute::Rtpmap {
            payload_type,
            encoding,
            clock_rate,
            channels,
        } if *payload_type == pt => Some((encoding.as_str(), *clock_rate, *channels)),
        _ => None,
    })
}

fn fingerprint(attrs: &[Attribute]) -> Option<(&str, &str)> {
    attrs.iter().find_map(|a| match a {
        Attribute::Fingerprint { algorithm, value } => Some((algorithm.as_str(), value.as_str())),
        _ => None,
    })
}

#[test]
fn chromium_offer_typed_accessors() {
    let sdp = fixture("chromium-audio-video-data-offer.sdp");
    assert_eq!(sdp.origin.username, "-");
    assert_eq!(sdp.origin.session_id, 5883317818233225130);
    assert_eq!(sdp.origin.session_version, 2);
    assert_eq!(sdp.origin.address, "127.0.0.1");
    assert_eq!(sdp.session_name, "-");
    assert_eq!(sdp.timing, vec![(0, 0)]);
    let groups: Vec<&[String]> = sdp.bundle_groups().collect();
    assert_eq!(groups, vec![&["0".to_string(), "1".into(), "2".into()][..]]);
    assert!(sdp.attributes.contains(&Attribute::ExtmapAllowMixed));
    // Chromium's odd spacing survives verbatim as an unknown attribute.
    assert!(sdp.attributes.contains(&Attribute::Other {
        name: "msid-semantic".into(),
        value: Some(" WMS 48f94a23-5ecc-419e-8dc2-99676cf50193".into()),
    }));
    let mids: Vec<_> = sdp.media.iter().map(|m| m.mid()).collect();
    assert_eq!(mids, vec![Some("0"), Some("1"), Some("2")]);
    let kinds: Vec<_> = sdp.media.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, vec!["audio", "video", "application"]);

    let audio = &sdp.media[0];
    assert_eq!(audio.port, 49761);
    assert_eq!(audio.proto, "UDP/TLS/RTP/SAVPF");
    assert_eq!(audio.formats[0], "111");
    assert_eq!(
        audio.connection.as_ref().map(|c| c.address.as_str()),
        Some("127.0.0.1")
    );
    assert_eq!(audio.ice_ufrag(), Some("slEz"));
    assert_eq!(audio.ice_pwd(), Some("sSGveEbMXrMRsFZMINwCU2eZ"));
    assert_eq!(audio.setup(), Some(Setup::ActPass));
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert!(audio.has(&Attribute::RtcpMux));
    assert!(!audio.is_rejected());
    assert_eq!(
        fingerprint(&audio.attributes),
        Some((
            "sha-256",
            "3F:C8:12:77:81:A4:79:64:F4:08:89:90:53:2F:D7:18:DD:2C:28:13:F5:17:76:E9:3C:87:68:EC:71:C8:D5:01"
        ))
    );
    assert_eq!(rtpmap(audio, 111), Some(("opus", 48000, Some(2))));
    assert_eq!(rtpmap(audio, 0), Some(("PCMU", 8000, None)));
    assert!(audio.has(&Attribute::Fmtp {
        payload_type: 111,
        params: "minptime=10;useinbandfec=1".into()
    }));
    assert!(audio.has(&Attribute::RtcpFb {
        payload_type: Some(111),
        fb_type: "transport-cc".into(),
        param: None
    }));
    assert!(audio.has(&Attribute::Extmap {
        id: 1,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".into(),
        attributes: None
    }));
    assert!(matches!(
        audio.find_attr(|a| match a { Attribute::Msid { stream, track } => Some((stream, track)), _ => None }),
        Some((s, Some(t))) if !s.is_empty() && !t.is_empty()
    ));

    let cands: Vec<&Candidate> = audio.candidates().collect();
    assert_eq!(cands.len(), 2);
    assert_eq!(cands[0].foundation, "2750064703");
    assert_eq!(cands[0].component, 1);
    assert_eq!(cands[0].protocol, "udp");
    assert_eq!(cands[0].priority, 2122260223);
    assert_eq!(cands[0].address, "127.0.0.1");
    assert_eq!(cands[0].port, 49761);
    assert_eq!(cands[0].typ, "host");
    assert_eq!(cands[0].tcp_type, None);
    assert_eq!(
        cands[0].extensions,
        vec![
            ("generation".to_string(), "0".to_string()),
            ("network-id".into(), "1".into()),
            ("network-cost".into(), "50".into())
        ]
    );
    assert_eq!(cands[1].protocol, "tcp");
    assert_eq!(cands[1].port, 9);
    assert_eq!(cands[1].tcp_type.as_deref(), Some("active"));
    assert_eq!(cands[1].extensions.len(), 3);

    let video = &sdp.media[1];
    assert_eq!(rtpmap(video, 96), Some(("VP8", 90000, None)));
    assert_eq!(rtpmap(video, 97), Some(("rtx", 90000, None)));
    assert!(video.has(&Attribute::RtcpFb {
        payload_type: Some(96),
        fb_type: "nack".into(),
        param: Some("pli".into())
    }));
    let fid = video.find_attr(|a| match a {
        Attribute::SsrcGroup { semantics, ssrcs } if semantics == "FID" => Some(ssrcs.clone()),
        _ => None,
    });
    assert_eq!(fid, Some(vec![4256061229, 1128704507]));
    assert!(video.has(&Attribute::Ssrc {
        ssrc: 4256061229,
        attribute: "cname".into(),
        value: Some("4aSe9rY/mCILCNQi".into()),
    }));
    assert!(video.has(&Attribute::Ssrc {
        ssrc: 4256061229,
        attribute: "msid".into(),
        value: Some(
            "48f94a23-5ecc-419e-8dc2-99676cf50193 caaf75a4-cf51-48a8-8024-91193a56f4bd".into()
        ),
    }));

    let data = &sdp.media[2];
    assert_eq!(data.proto, "UDP/DTLS/SCTP");
    assert_eq!(data.formats, vec!["webrtc-datachannel".to_string()]);
    assert_eq!(
        data.find_attr(|a| match a {
            Attribute::SctpPort(p) => Some(*p),
            _ => None,
        }),
        Some(5000)
    );
    assert_eq!(
        data.find_attr(|a| match a {
            Attribute::MaxMessageSize(n) => Some(*n),
            _ => None,
        }),
        Some(262144)
    );
}

#[test]
fn chromium_answer_and_simulcast_typed_accessors() {
    let answer = fixture("chromium-audio-video-data-answer.sdp");
    assert_eq!(answer.media.len(), 3);
    for m in &answer.media {
        assert_eq!(m.setup(), Some(Setup::Active), "{:?}", m.mid());
        assert_eq!(m.ice_ufrag(), Some("C0dp"));
        assert_eq!(m.ice_pwd(), Some("v2axvHEBMrL2viYuZabajSoZ"));
    }
    // Bundled answer: candidates only in the first section, port 9 elsewhere.
    assert_eq!(answer.media[0].candidates().count(), 1);
    assert_eq!(answer.media[1].candidates().count(), 0);
    assert_eq!(answer.media[1].port, 9);
    assert_eq!(
        rtpmap(&answer.media[0], 111),
        Some(("opus", 48000, Some(2)))
    );

    let sim = fixture("chromium-simulcast-offer.sdp");
    let video = &sim.media[0];
    let rids: Vec<(&str, RidDirection)> = video
        .attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::Rid {
                id,
                direction,
                params: None,
            } => Some((id.as_str(), *direction)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rids,
        vec![
            ("a", RidDirection::Send),
            ("b", RidDirection::Send),
            ("c", RidDirection::Send)
        ]
    );
    let s = video
        .find_attr(|a| match a {
            Attribute::Simulcast(s) => Some(s),
            _ => None,
        })
        .expect("a=simulcast");
    let alt = |rid: &str| {
        vec![SimulcastRid {
            rid: rid.into(),
            paused: false,
        }]
    };
    assert_eq!(s.send, vec![alt("a"), alt("b"), alt("c")]);
    assert!(s.recv.is_empty());
    assert!(!s.recv_first);
}

#[test]
fn firefox_style_typed_accessors() {
    let sdp = fixture("firefox-audio-video-data-offer.sdp");
    assert_eq!(sdp.origin.username, "mozilla...THIS_IS_SDPARTA-99.0");
    assert_eq!(sdp.origin.session_version, 0);
    assert!(fingerprint(&sdp.attributes).is_some());
    assert_eq!(
        sdp.find_attr(|a| match a {
            Attribute::IceOptions(o) => Some(o.clone()),
            _ => None,
        }),
        Some(vec!["trickle".to_string()])
    );
    assert!(sdp.attributes.contains(&Attribute::Other {
        name: "msid-semantic".into(),
        value: Some("WMS *".into())
    }));
    let audio = &sdp.media[0];
    assert!(audio.has(&Attribute::EndOfCandidates));
    assert!(audio.has(&Attribute::Extmap {
        id: 2,
        direction: Some(Direction::RecvOnly),
        uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level".into(),
        attributes: None
    }));
    assert_eq!(rtpmap(audio, 9), Some(("G722", 8000, Some(1))));
    let c: Vec<&Candidate> = audio.candidates().collect();
    assert_eq!(c.len(), 4);
    assert_eq!((c[0].protocol.as_str(), c[0].typ.as_str()), ("UDP", "host"));
    assert!(c[0].extensions.is_empty());
    assert_eq!(c[1].tcp_type.as_deref(), Some("active"));
    assert_eq!(c[2].typ, "srflx");
    assert_eq!(c[2].related_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(c[2].related_port, Some(54321));
    assert_eq!(c[3].typ, "relay");
    assert_eq!(c[3].priority, 92217343);
    assert_eq!(c[3].related_address.as_deref(), Some("203.0.113.7"));
    let msid = sdp.media[1].find_attr(|a| match a {
        Attribute::Msid { stream, track } => Some((stream.as_str(), track.as_deref())),
        _ => None,
    });
    assert_eq!(
        msid,
        Some((
            "{6e2d3f4a-9b1c-4e8d-a7f0-52c1b9e3d804}",
            Some("{3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b}")
        ))
    );

    let sim = fixture("rfc8853-simulcast-offer.sdp");
    assert_eq!(sim.session_name, "Simulcast Example");
    let s = sim.media[0]
        .find_attr(|a| match a {
            Attribute::Simulcast(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a=simulcast");
    let r = |rid: &str, paused| SimulcastRid {
        rid: rid.into(),
        paused,
    };
    assert_eq!(
        s.send,
        vec![
            vec![r("1", false), r("4", true)],
            vec![r("2", false)],
            vec![r("3", false)]
        ]
    );
    assert_eq!(s.recv, vec![vec![r("5", false)]]);
    assert!(sim.media[0].has(&Attribute::Rid {
        id: "1".into(),
        direction: RidDirection::Send,
        params: Some("pt=97;max-width=1280;max-height=720".into())
    }));

    let bundle = fixture("rfc8843-bundle-offer.sdp");
    assert_eq!(bundle.session_name, "");
    assert_eq!(
        bundle.connection.as_ref().map(|c| c.address.as_str()),
        Some("atlanta.example.com")
    );
    assert_eq!(
        bundle.media[0].bandwidths,
        vec![Bandwidth {
            bw_type: "AS".into(),
            bandwidth: 200
        }]
    );
    assert_eq!(bundle.media[1].port, 0);
    assert!(bundle.media[1].has(&Attribute::BundleOnly));
    assert!(!bundle.media[1].is_rejected());

    let jsep = fixture("jsep-offer-two-components.sdp");
    let groups: Vec<&[String]> = jsep.bundle_groups().collect();
    assert_eq!(groups.len(), 1);
    assert!(jsep.attributes.contains(&Attribute::Group {
        semantics: "LS".into(),
        mids: vec!["a1".into(), "v1".into()]
    }));
    let c: Vec<&Candidate> = jsep.media[0].candidates().collect();
    assert_eq!(c[1].component, 2);
    assert_eq!(c[2].tcp_type.as_deref(), Some("passive"));
    assert_eq!(
        c[2].extensions,
        vec![
            ("generation".to_string(), "0".to_string()),
            ("ufrag".into(), "ETEn".into()),
            ("network-id".into(), "1".into())
        ]
    );
    assert_eq!(c[3].related_port, Some(10100));
    assert_eq!(
        c[3].extensions,
        vec![("generation".to_string(), "0".to_string())]
    );
    assert!(jsep.media[1].has(&Attribute::RtcpFb {
        payload_type: None,
        fb_type: "trr-int".into(),
        param: Some("100".into())
    }));
    assert!(jsep.media[1].has(&Attribute::RtcpMuxOnly));
    // WPT-142: an `a=msid` with only a stream id is accepted.
    assert!(jsep.media[0].has(&Attribute::Msid {
        stream: "47017fee-b6c1-4162-929c-a25110252400".into(),
        track: None
    }));
    let data = &jsep.media[2];
    assert!(data.has(&Attribute::Other {
        name: "x-foo".into(),
        value: Some("bar".into())
    }));
    assert!(data.has(&Attribute::Other {
        name: "x-flag".into(),
        value: None
    }));
}

#[test]
fn unknown_attributes_and_line_types_survive() {
    let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\ni=session info\r\nu=http://example.com/\r\n\
e=alice@example.com\r\nx=experimental line\r\nt=0 0\r\na=x-foo:bar\r\na=x-flag\r\na=x-empty:\r\n\
a=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\ni=media info\r\nk=prompt\r\ny=unknown\r\n\
c=IN IP4 0.0.0.0\r\nb=TIAS:64000\r\na=x-foo:bar baz:qux\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
    let sdp = parse(text);
    // Written in RFC 8866 §5 order: the media-level k= goes after b=.
    let ordered = text
        .replace("k=prompt\r\n", "")
        .replace("b=TIAS:64000\r\n", "b=TIAS:64000\r\nk=prompt\r\n");
    assert_eq!(sdp.to_string(), ordered);
    assert_eq!(parse(&ordered), sdp);
    assert_eq!(
        sdp.extra_lines,
        vec![
            ('i', "session info".to_string()),
            ('u', "http://example.com/".into()),
            ('e', "alice@example.com".into()),
            ('x', "experimental line".into())
        ]
    );
    assert_eq!(
        sdp.attributes,
        vec![
            Attribute::Other {
                name: "x-foo".into(),
                value: Some("bar".into())
            },
            Attribute::Other {
                name: "x-flag".into(),
                value: None
            },
            Attribute::Other {
                name: "x-empty".into(),
                value: Some(String::new())
            },
            Attribute::Other {
                name: "msid-semantic".into(),
                value: Some(" WMS".into())
            },
        ]
    );
    let m = &sdp.media[0];
    assert_eq!(m.extra_lines.len(), 3);
    assert_eq!(m.bandwidths[0].bw_type, "TIAS");
    assert!(m.has(&Attribute::Other {
        name: "x-foo".into(),
        value: Some("bar baz:qux".into())
    }));
}

#[test]
fn attributes_write_in_canonical_form() {
    let canonical = [
        "group:BUNDLE 0 1",
        "group:BUNDLE",
        "mid:0",
        "bundle-only",
        "msid:- 7f2d",
        "msid:stream",
        "sendrecv",
        "sendonly",
        "recvonly",
        "inactive",
        "ice-ufrag:abcd",
        "ice-pwd:aaaabbbbccccddddeeeeffff",
        "ice-options:trickle ice2",
        "ice-lite",
        "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host",
        "end-of-candidates",
        "fingerprint:sha-256 AB:cd:01",
        "setup:actpass",
        "setup:active",
        "setup:passive",
        "setup:holdconn",
        "rtcp-mux",
        "rtcp-mux-only",
        "rtcp-rsize",
        "rtpmap:111 opus/48000/2",
        "rtpmap:0 PCMU/8000",
        "fmtp:111 minptime=10;useinbandfec=1",
        "rtcp-fb:* nack",
        "rtcp-fb:96 ccm tmmbr smaxpr=120",
        "extmap:2/sendonly urn:x",
        "extmap:3 urn:y some attrs",
        "extmap-allow-mixed",
        "ssrc:1 cname:x",
        "ssrc:1 msid:a b",
        "ssrc:1 flag",
        "ssrc-group:FID 1 2",
        "rid:hi send pt=96;max-width=1280",
        "rid:lo recv",
        "simulcast:send a;b recv c",
        "simulcast:recv c send ~a,b",
        "simulcast:recv x",
        "sctp-port:5000",
        "max-message-size:262144",
        "x-unknown",
        "x-unknown:with value",
    ];
    for text in canonical {
        let a = Attribute::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(
            !matches!(a, Attribute::Other { .. }) || text.starts_with("x-"),
            "{text} should be typed: {a:?}"
        );
        assert_eq!(a.to_string(), text);
        assert_eq!(text.parse::<Attribute>().as_ref(), Ok(&a));
    }
    assert_eq!(
        Attribute::parse("rtpmap:111 opus/48000/2"),
        Ok(Attribute::Rtpmap {
            payload_type: 111,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2)
        })
    );
    // Built by hand, written canonically.
    let s = Attribute::Simulcast(Simulcast {
        send: vec![vec![
            SimulcastRid {
                rid: "a".into(),
                paused: false,
            },
            SimulcastRid {
                rid: "b".into(),
                paused: true,
            },
        ]],
        recv: vec![],
        recv_first: false,
    });
    assert_eq!(s.to_string(), "simulcast:send a,~b");
    assert_eq!(
        Attribute::parse("sctp-port:x").map_err(|e| e.line()),
        Err(0)
    );
}

#[test]
fn candidates_parse_with_and_without_prefix() {
    let text = "842163049 1 udp 1677729535 198.51.100.7 53705 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag abcd network-cost 999";
    let c = Candidate::parse(text).expect("bare candidate");
    assert_eq!(
        Candidate::parse(&format!("candidate:{text}")),
        Ok(c.clone())
    );
    assert_eq!(text.parse::<Candidate>(), Ok(c.clone()));
    assert_eq!(c.related_address.as_deref(), Some("0.0.0.0"));
    assert_eq!(c.related_port, Some(0));
    assert_eq!(c.extensions.len(), 3);
    assert_eq!(c.to_string(), text);

    // tcptype after other extensions is still recognised (RFC 6544 §4.5); it is written first.
    let c =
        Candidate::parse("1 1 TCP 1 192.0.2.1 9 typ host generation 0 tcptype so").expect("tcp");
    assert_eq!(c.tcp_type.as_deref(), Some("so"));
    assert_eq!(
        c.to_string(),
        "1 1 TCP 1 192.0.2.1 9 typ host tcptype so generation 0"
    );
    // mDNS host names and unknown types are kept.
    let c = Candidate::parse("a+/B 2 udp 1 0d7e.local 1 typ future").expect("mdns");
    assert_eq!(
        (c.address.as_str(), c.typ.as_str(), c.component),
        ("0d7e.local", "future", 2)
    );
    // rport alone is allowed right after typ.
    let c = Candidate::parse("1 1 udp 1 192.0.2.1 9 typ prflx rport 7").expect("rport");
    assert_eq!((c.related_address, c.related_port), (None, Some(7)));

    // Liberal as browsers are: runs of spaces, keywords and the type in any case (the type
    // is stored lowercase), raddr/rport anywhere, first of a repeated keyword, a lone trailing
    // extension name ignored, an empty foundation (Google's ice-lite servers write one).
    for (text, written) in [
        (
            "1 1 udp 1 192.0.2.1 9 typ host  generation 0 ",
            "1 1 udp 1 192.0.2.1 9 typ host generation 0",
        ),
        (
            "1 1 UDP 1 192.0.2.1 9 TYP HOST generation 0 name",
            "1 1 UDP 1 192.0.2.1 9 typ host generation 0",
        ),
        (
            "1 1 udp 1 192.0.2.1 9 typ srflx generation 0 RPORT 1 raddr 192.0.2.2",
            "1 1 udp 1 192.0.2.1 9 typ srflx raddr 192.0.2.2 rport 1 generation 0",
        ),
        (
            "1 1 tcp 1 192.0.2.1 9 typ host tcptype active tcptype passive",
            "1 1 tcp 1 192.0.2.1 9 typ host tcptype active",
        ),
        (
            " 1 udp 2113939711 192.0.2.1 19305 typ host generation 0",
            " 1 udp 2113939711 192.0.2.1 19305 typ host generation 0",
        ),
    ] {
        let c = Candidate::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(c.to_string(), written, "{text:?}");
        assert_eq!(Candidate::parse(written), Ok(c));
    }

    for bad in [
        "",
        "candidate:",
        "1 1 udp 1 192.0.2.1 9 typ",
        "1 1 udp 1 192.0.2.1 65536 typ host",
        "1 1 udp 4294967296 192.0.2.1 9 typ host",
        "1 99999 udp 1 192.0.2.1 9 typ host",
        "1 x udp 1 192.0.2.1 9 typ host",
        "1 1 udp -1 192.0.2.1 9 typ host",
        "1 1 udp +1 192.0.2.1 9 typ host",
        "123456789012345678901234567890123 1 udp 1 192.0.2.1 9 typ host",
        "f:o 1 udp 1 192.0.2.1 9 typ host",
        "1 1 udp 1 192.0.2.1 9 typ host raddr 192.0.2.2 rport x",
        "1 1 udp 1 192.0.2.1 9 typ host\r\n",
        "1 1 udp 1 192.0.2.1\na=x 9 typ host",
    ] {
        let e = Candidate::parse(bad).expect_err(bad);
        assert_eq!(e.line(), 0);
        assert!(!e.message().is_empty());
    }
}

#[test]
fn size_line_and_section_limits() {
    let mut big = String::from(MINIMAL);
    while big.len() <= MAX_SDP_BYTES {
        big.push_str("a=x-padding:0123456789012345678901234567890123456789\r\n");
    }
    let e = Sdp::parse(&big).unwrap_err();
    assert!(e.message().contains("limit"), "{e}");

    let mut many = String::from(MINIMAL);
    for _ in 0..MAX_SDP_LINES {
        many.push_str("a=x\n");
    }
    assert!(many.len() <= MAX_SDP_BYTES);
    let e = Sdp::parse(&many).unwrap_err();
    assert_eq!(e.line(), MAX_SDP_LINES + 1);

    let mut sections = String::from(MINIMAL);
    for _ in 0..MAX_MEDIA_SECTIONS {
        sections.push_str("m=audio 9 RTP/AVP 0\r\n");
    }
    assert_eq!(parse(&sections).media.len(), MAX_MEDIA_SECTIONS);
    sections.push_str("m=audio 9 RTP/AVP 0\r\n");
    let e = Sdp::parse(&sections).unwrap_err();
    assert_eq!(e.line(), 4 + MAX_MEDIA_SECTIONS + 1);
}

/// Parses `text`; whatever parses must write back to an equal description.
fn check_no_panic_and_stable(text: &str) {
    if let Ok(sdp) = Sdp::parse(text) {
        let written = sdp.to_string();
        assert_eq!(
            Sdp::parse(&written).as_ref(),
            Ok(&sdp),
            "unstable for {text:?}"
        );
    }
}

/// Each fixture line with a short prefix that puts the parser in the same state: the lines
/// before it for `v= o= s=`, else a minimal session header, plus a minimal `m=` line for
/// lines inside a media section.
fn lines_in_context(text: &str) -> Vec<(&'static str, &str)> {
    const PREFIXES: [&str; 3] = ["", "v=0\r\n", "v=0\r\no=- 0 0 IN IP4 0\r\n"];
    const SESSION: &str = "v=0\r\no=- 0 0 IN IP4 0\r\ns=-\r\nt=0 0\r\n";
    const MEDIA: &str = "v=0\r\no=- 0 0 IN IP4 0\r\ns=-\r\nt=0 0\r\nm=x 9 x 0\r\n";
    let mut in_media = false;
    let mut out = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let prefix = match PREFIXES.get(i) {
            Some(p) => p,
            None if in_media => MEDIA,
            None => SESSION,
        };
        out.push((prefix, line));
        in_media |= line.starts_with("m=");
    }
    out
}

/// A deterministic xorshift64 stream for the mutation tests.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    // Bytes likely to matter in SDP, for the flips.
    const INTERESTING: &[u8] = b" :/;,=~*\r\n0129-.aAmtvzX\t\xff";
    let start = std::time::Instant::now();
    let mut runs = 0usize;
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let mut input = String::new();
    for (name, text) in FIXTURES {
        // Whole-description truncation inside the first lines and at every third line end.
        let line_ends = text.match_indices('\n').map(|(i, _)| i).step_by(3);
        for end in (0..200).chain(line_ends).chain([text.len()]) {
            if let Some(t) = text.get(..end) {
                // Stability is checked per line below; here only "no panic" (and speed).
                let _ = Sdp::parse(t);
                runs += 1;
            }
        }
        // Every line truncated at every byte offset, and every line with byte flips and
        // deletions, each in the context that puts the parser in that line's state.
        for (prefix, line) in lines_in_context(text) {
            for end in 0..=line.len() {
                if let Some(t) = line.get(..end) {
                    input.clear();
                    input.push_str(prefix);
                    input.push_str(t);
                    // The write/re-parse check on every eighth offset keeps this fast in debug.
                    if end % 8 == 0 || end == line.len() {
                        check_no_panic_and_stable(&input);
                    } else {
                        let _ = Sdp::parse(&input);
                    }
                    runs += 1;
                }
            }
            let mut bytes = line.as_bytes().to_vec();
            for _ in 0..3 {
                let i = (next() % bytes.len() as u64) as usize;
                let b = INTERESTING[(next() % INTERESTING.len() as u64) as usize];
                let old = std::mem::replace(&mut bytes[i], b);
                let mut deleted = line.as_bytes().to_vec();
                deleted.remove(i);
                for variant in [&bytes, &deleted] {
                    if let Ok(s) = std::str::from_utf8(variant) {
                        input.clear();
                        input.push_str(prefix);
                        input.push_str(s);
                        check_no_panic_and_stable(&input);
                        runs += 1;
                    }
                }
                bytes[i] = old;
            }
        }
        // A few flips anywhere in the whole description.
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..20 {
            let i = (next() % bytes.len() as u64) as usize;
            let old = std::mem::replace(&mut bytes[i], INTERESTING[(next() % 8) as usize]);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                check_no_panic_and_stable(s);
                runs += 1;
            }
            bytes[i] = old;
        }
        assert!(runs > 0, "{name}");
    }
    assert!(runs > 30_000, "{runs}");
    eprintln!("{runs} mutated inputs in {:?}", start.elapsed());
}

/// Issue 12 item 5: what real stacks write and browsers read. libdatachannel's
/// `a=ice-options:ice2,trickle` (comma-separated) and the other liberal variants parse, are
/// typed where we know them, and are written back in the strict canonical form.
#[test]
fn real_stack_variants_parse_and_write_canonically() {
    let text = "v=0\n\
o=rtc 2718467153 0 IN IP4 127.0.0.1 \n\
s=-\n\
i=a session\n\
u=http://example.com/\n\
e=a@example.com\n\
p=+1 555 0100\n\
t=0 0\n\
r=7d 1h 0 25h\n\
z=2882844526 -1h\n\
k=prompt\n\
a=group:BUNDLE  0 1\n\
a=msid-semantic:WMS\n\
a=msid-semantic: WMS *\n\
a=sendrecv\n\
a=extmap-allow-mixed\n\
a=ice-options:ice2,trickle\n\
a=fingerprint:sha-256 ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n\
m=application\t9 UDP/DTLS/SCTP webrtc-datachannel\n\
c=IN IP4 0.0.0.0\n\
b=AS:30\n\
a=mid:0\n\
a=setup:holdconn\n\
a=ice-ufrag:abcd\n\
a=ice-pwd:abcdefghijklmnopqrstuvwx\n\
a=sctp-port:5000\n\
a=max-message-size:262144\n\
a=candidate:1 1 UDP 2122317823 192.0.2.1 50000 typ host\n\
a=candidate:2 1 udp 1686109951 198.51.100.1 50001 TYP SRFLX raddr 0.0.0.0 rport 0 network-id 1 future-ext x\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\n\
c=IN IP4 0.0.0.0\n\
a=mid:1\n\
a=rtcp:9 IN IP4 0.0.0.0\n\
a=rtpmap:111 opus/48000/2\n\
a=ssrc-group:FID 1 2\n\
a=ssrc:1 cname:x\n\
a=ice-options:trickle  renomination\n";
    let sdp = parse(text);
    assert_eq!(
        sdp.find_attr(|a| match a {
            Attribute::IceOptions(o) => Some(o.clone()),
            _ => None,
        }),
        Some(vec!["ice2".to_string(), "trickle".to_string()])
    );
    assert_eq!(
        sdp.bundle_groups().next(),
        Some(&["0".to_string(), "1".to_string()][..])
    );
    assert!(
        sdp.attributes
            .contains(&Attribute::Direction(Direction::SendRecv))
    );
    assert!(sdp.attributes.contains(&Attribute::ExtmapAllowMixed));
    assert!(matches!(
        sdp.find_attr(|a| match a {
            Attribute::Fingerprint { value, .. } => Some(value.as_str()),
            _ => None,
        }),
        Some(v) if v.starts_with("ab:cd")
    ));
    let data = &sdp.media[0];
    assert_eq!(data.proto, "UDP/DTLS/SCTP");
    assert_eq!(data.setup(), Some(Setup::HoldConn));
    assert_eq!(data.bandwidths.len(), 1);
    assert!(data.has(&Attribute::MaxMessageSize(262144)));
    let cands: Vec<_> = data.candidates().collect();
    assert_eq!(cands.len(), 2);
    assert_eq!(
        (cands[0].protocol.as_str(), cands[0].typ.as_str()),
        ("UDP", "host")
    );
    assert_eq!(cands[1].typ, "srflx");
    assert_eq!(cands[1].extensions.len(), 2);
    let audio = &sdp.media[1];
    assert!(audio.has(&Attribute::SsrcGroup {
        semantics: "FID".into(),
        ssrcs: vec![1, 2]
    }));
    assert!(audio.has(&Attribute::IceOptions(vec![
        "trickle".into(),
        "renomination".into()
    ])));
    let written = sdp.to_string();
    assert!(
        written.contains("a=ice-options:ice2 trickle\r\n"),
        "{written}"
    );
    assert!(written.contains("a=group:BUNDLE 0 1\r\n"), "{written}");
    assert!(
        written.contains("m=application 9 UDP/DTLS/SCTP"),
        "{written}"
    );
    assert!(
        written.contains("typ srflx raddr 0.0.0.0 rport 0 network-id 1 future-ext x\r\n"),
        "{written}"
    );
    // RFC 8866 §5 order: i u e p, then t r z k.
    assert!(written.contains("s=-\r\ni=a session\r\nu=http://example.com/\r\ne=a@example.com\r\np=+1 555 0100\r\nt=0 0\r\nr=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\na="), "{written}");
    assert_eq!(parse(&written), sdp);
    assert_eq!(parse(&written).to_string(), written);
}

/// RFC 3605 §2.1: `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]`, typed both
/// ways; a value that does not parse keeps the line verbatim (RFC 8866 §5.13).
#[test]
fn rtcp_attribute_parses_and_writes_as_rfc_3605_says() {
    let ip4 = |a: &str| Connection {
        net_type: "IN".into(),
        addr_type: "IP4".into(),
        address: a.into(),
    };
    let dummy = Attribute::parse("rtcp:9 IN IP4 0.0.0.0").unwrap();
    assert_eq!(dummy, Attribute::Rtcp { port: 9, connection: Some(ip4("0.0.0.0")) });
    assert_eq!(dummy.to_string(), "rtcp:9 IN IP4 0.0.0.0");
    // RFC 3605 §2.1's examples: a port alone, and a port with an IPv6 address.
    let port = Attribute::parse("rtcp:53020").unwrap();
    assert_eq!(port, Attribute::Rtcp { port: 53020, connection: None });
    assert_eq!(port.to_string(), "rtcp:53020");
    let v6 = "rtcp:53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD";
    let a = Attribute::parse(v6).unwrap();
    assert!(matches!(&a, Attribute::Rtcp { port: 53020, connection: Some(c) }
        if c.addr_type == "IP6" && c.address == "2001:2345:6789:ABCD:EF01:2345:6789:ABCD"));
    assert_eq!(a.to_string(), v6);
    for bad in ["rtcp:70000", "rtcp:-1", "rtcp:9 IN IP4", "rtcp:x", "rtcp"] {
        assert!(Attribute::parse(bad).is_err(), "{bad}");
    }
    // In a description: typed when it parses, else kept as written.
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=rtcp:x y\r\n";
    let sdp = Sdp::parse(text).unwrap();
    assert_eq!(sdp.media[0].attributes[0], dummy);
    assert_eq!(
        sdp.media[0].attributes[1],
        Attribute::Other { name: "rtcp".into(), value: Some("x y".into()) }
    );
    assert_eq!(sdp.to_string(), text);
}
