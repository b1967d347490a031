//! Tests for the STUN codec: RFC 5769 vectors, round trips, malformed input, robustness.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

const SHORT_TERM_KEY: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";
const RFC_TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

/// RFC 5769 §2.1 Sample Request.
fn rfc_request() -> Vec<u8> {
    hex("00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
         80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
         00 24 00 04 6e 00 01 ff
         80 29 00 08 93 2f f9 b1 51 26 3b 36
         00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
         00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
         80 28 00 04 e5 7a 3b cf")
}

/// RFC 5769 §2.2 Sample IPv4 Response.
fn rfc_response_v4() -> Vec<u8> {
    hex("01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
         80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
         00 20 00 08 00 01 a1 47 e1 12 a6 43
         00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
         80 28 00 04 c0 7d 4c 96")
}

/// RFC 5769 §2.3 Sample IPv6 Response.
fn rfc_response_v6() -> Vec<u8> {
    hex("01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
         80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
         00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
         00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
         80 28 00 04 c8 fb 0b 4c")
}

/// RFC 5769 §2.4 Sample Request with Long-Term Authentication.
fn rfc_request_long_term() -> Vec<u8> {
    hex("00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
         00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
         00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46
                     53 54 76 79 36 34 73 41
         00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
         00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66")
}

const LTC_USERNAME: &str = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
const LTC_NONCE: &str = "f//499k954d6OL34oL9FSTvy64sA";
const LTC_REALM: &str = "example.org";
/// The RFC 5769 §2.4 password after SASLprep ("TheM\u{00AA}tr\u{2168}" before).
const LTC_PASSWORD: &str = "TheMatrIX";

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
}

fn v6(s: &str, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(s.parse::<Ipv6Addr>().expect("ipv6")), port)
}

/// Replace the header length of a truncated copy so it describes the bytes kept.
fn with_length(mut bytes: Vec<u8>) -> Vec<u8> {
    let len = u16::try_from(bytes.len() - HEADER_LEN).expect("short");
    bytes[2..4].copy_from_slice(&len.to_be_bytes());
    bytes
}

/// Build a message from raw attributes (type, value), zero padded, without any checks.
fn raw_message(class: Class, method: Method, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&message_type(class, method).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(&RFC_TID);
    for (t, v) in attrs {
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&u16::try_from(v.len()).expect("len").to_be_bytes());
        out.extend_from_slice(v);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    with_length(out)
}

/// Call every accessor on a parsed message; returns a small digest so nothing is optimised
/// away. Used by the robustness tests: none of this may panic whatever the input.
fn exercise(m: &Message<'_>) -> usize {
    let mut n = 0usize;
    n += m.class().bits() as usize + m.method().value() as usize;
    n += m.transaction_id().as_bytes()[0] as usize;
    n += m.attributes().count();
    n += m.unknown_comprehension_required().count();
    n += m.xor_mapped_address().is_ok() as usize;
    n += m.mapped_address().is_ok() as usize;
    n += m.xor_relayed_address().is_ok() as usize;
    n += m.xor_peer_address().is_ok() as usize;
    n += m.xor_peer_addresses().filter(|r| r.is_ok()).count();
    n += m.username().is_ok() as usize;
    n += m.software().is_ok() as usize;
    n += m.realm().is_ok() as usize;
    n += m.nonce().is_ok() as usize;
    n += m.priority().is_ok() as usize;
    n += m.use_candidate().is_ok() as usize;
    n += m.ice_controlling().is_ok() as usize;
    n += m.ice_controlled().is_ok() as usize;
    n += m.error_code().is_ok() as usize;
    if let Ok(Some(u)) = m.unknown_attributes() {
        n += u.iter().count() + u.len();
    }
    n += m.lifetime().is_ok() as usize;
    n += m.requested_transport().is_ok() as usize;
    n += m.data().map_or(0, |d| d.len());
    n += m.channel_number().is_ok() as usize;
    n += m.verify_integrity(SHORT_TERM_KEY) as usize;
    n += m.verify_message_integrity(SHORT_TERM_KEY) as usize;
    n += m.verify_message_integrity_sha256(SHORT_TERM_KEY) as usize;
    n += m.verify_fingerprint() as usize;
    n
}

// ---------------------------------------------------------------- RFC 5769 vectors

#[test]
fn rfc5769_sample_request() {
    let bytes = rfc_request();
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.class(), Class::Request);
    assert_eq!(m.method(), Method::BINDING);
    assert_eq!(m.transaction_id(), TransactionId(RFC_TID));
    assert_eq!(m.software(), Ok(Some("STUN test client")));
    assert_eq!(m.priority(), Ok(Some(0x6e00_01ff)));
    assert_eq!(m.ice_controlled(), Ok(Some(0x932f_f9b1_5126_3b36)));
    assert_eq!(m.ice_controlling(), Ok(None));
    assert_eq!(m.use_candidate(), Ok(false));
    assert_eq!(m.username(), Ok(Some("evtj:h6vY")));
    assert!(m.has_message_integrity());
    assert!(!m.has_message_integrity_sha256());
    assert!(m.verify_integrity(SHORT_TERM_KEY));
    assert!(m.verify_message_integrity(SHORT_TERM_KEY));
    assert!(!m.verify_integrity(b"VOkJxbRl1RmTxUk/WvJxBT"));
    assert!(!m.verify_integrity(b""));
    assert!(m.verify_fingerprint());
    assert_eq!(m.unknown_comprehension_required().count(), 0);
    let types: Vec<u16> = m.attributes().map(|a| a.typ).collect();
    assert_eq!(
        types,
        [
            AttrType::SOFTWARE,
            AttrType::PRIORITY,
            AttrType::ICE_CONTROLLED,
            AttrType::USERNAME,
            AttrType::MESSAGE_INTEGRITY,
            AttrType::FINGERPRINT
        ]
    );
    assert!(is_stun(&bytes));
    assert!(!is_channel_data(&bytes));
}

#[test]
fn rfc5769_sample_ipv4_response() {
    let bytes = rfc_response_v4();
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.class(), Class::SuccessResponse);
    assert_eq!(m.method(), Method::BINDING);
    assert_eq!(m.transaction_id(), TransactionId(RFC_TID));
    assert_eq!(m.software(), Ok(Some("test vector")));
    assert_eq!(m.xor_mapped_address(), Ok(Some(v4(192, 0, 2, 1, 32853))));
    assert_eq!(m.mapped_address(), Ok(None));
    assert!(m.verify_integrity(SHORT_TERM_KEY));
    assert!(m.verify_fingerprint());
}

#[test]
fn rfc5769_sample_ipv6_response() {
    let bytes = rfc_response_v6();
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.class(), Class::SuccessResponse);
    assert_eq!(m.software(), Ok(Some("test vector")));
    assert_eq!(
        m.xor_mapped_address(),
        Ok(Some(v6("2001:db8:1234:5678:11:2233:4455:6677", 32853)))
    );
    assert!(m.verify_integrity(SHORT_TERM_KEY));
    assert!(m.verify_fingerprint());
}

#[test]
fn rfc5769_sample_long_term_request() {
    let bytes = rfc_request_long_term();
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.class(), Class::Request);
    assert_eq!(m.method(), Method::BINDING);
    assert_eq!(m.username(), Ok(Some(LTC_USERNAME)));
    assert_eq!(m.nonce(), Ok(Some(LTC_NONCE)));
    assert_eq!(m.realm(), Ok(Some(LTC_REALM)));
    let key = long_term_key(LTC_USERNAME, LTC_REALM, LTC_PASSWORD);
    assert!(m.verify_integrity(&key));
    assert!(!m.verify_integrity(LTC_PASSWORD.as_bytes()));
    assert!(!m.has_fingerprint());
    assert!(!m.verify_fingerprint());
}

#[test]
fn long_term_key_is_md5_of_user_realm_password() {
    // Expected values from coreutils `md5sum`, an independent implementation.
    assert_eq!(
        long_term_key("user", "realm", "pass").to_vec(),
        hex("8493fbc53ba582fb4c044c456bdc40eb")
    );
    assert_eq!(
        long_term_key(LTC_USERNAME, LTC_REALM, LTC_PASSWORD).to_vec(),
        hex("e8ca7ad59d5eb0518e312911d2dab2a9")
    );
}

/// The writer's MESSAGE-INTEGRITY and FINGERPRINT reproduce the RFC 5769 bytes exactly when
/// given the vectors' own attribute bytes (their padding is 0x20, which the writer never
/// produces, so the prefix is taken verbatim).
#[test]
fn rfc5769_writer_reproduces_integrity_and_fingerprint() {
    for vector in [rfc_request(), rfc_response_v4(), rfc_response_v6()] {
        let m = Message::parse(&vector).expect("parse");
        let mi = m.attribute(AttrType::MESSAGE_INTEGRITY).expect("MI").offset;
        let mut buf = with_length(vector[..mi].to_vec());
        let mut w = MessageWriter::resume(&mut buf);
        w.message_integrity(SHORT_TERM_KEY)
            .and_then(|w| w.fingerprint())
            .expect("write");
        assert_eq!(buf, vector);
    }
}

/// RFC 5769 §2.4 uses zero padding, so the writer reproduces it byte for byte from scratch.
#[test]
fn rfc5769_long_term_request_written_byte_exact() {
    let key = long_term_key(LTC_USERNAME, LTC_REALM, LTC_PASSWORD);
    let tid = TransactionId([
        0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e,
    ]);
    let mut buf = Vec::new();
    MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid)
        .username(LTC_USERNAME)
        .and_then(|w| w.nonce(LTC_NONCE))
        .and_then(|w| w.realm(LTC_REALM))
        .and_then(|w| w.message_integrity(&key))
        .expect("write");
    assert_eq!(buf, rfc_request_long_term());
}

/// Writing the §2.1–§2.3 messages from scratch gives the vectors with zero padding; the
/// integrity and fingerprint of the result verify.
#[test]
fn rfc5769_messages_written_from_scratch() {
    let tid = TransactionId(RFC_TID);
    let mut buf = Vec::new();
    MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid)
        .software("STUN test client")
        .and_then(|w| w.priority(0x6e00_01ff))
        .and_then(|w| w.ice_controlled(0x932f_f9b1_5126_3b36))
        .and_then(|w| w.username("evtj:h6vY"))
        .and_then(|w| w.message_integrity(SHORT_TERM_KEY))
        .and_then(|w| w.fingerprint())
        .expect("write");
    let mut expected = rfc_request();
    // USERNAME padding (3 bytes after the 9-byte value) is 0x20 in the RFC.
    expected[73..76].copy_from_slice(&[0, 0, 0]);
    assert_eq!(
        buf[..80],
        expected[..80],
        "everything before MESSAGE-INTEGRITY"
    );
    let m = Message::parse(&buf).expect("parse");
    assert!(m.verify_integrity(SHORT_TERM_KEY));
    assert!(m.verify_fingerprint());

    for (vector, addr) in [
        (rfc_response_v4(), v4(192, 0, 2, 1, 32853)),
        (
            rfc_response_v6(),
            v6("2001:db8:1234:5678:11:2233:4455:6677", 32853),
        ),
    ] {
        MessageWriter::new(&mut buf, Class::SuccessResponse, Method::BINDING, tid)
            .software("test vector")
            .and_then(|w| w.xor_mapped_address(addr))
            .and_then(|w| w.message_integrity(SHORT_TERM_KEY))
            .and_then(|w| w.fingerprint())
            .expect("write");
        let mut expected = vector.clone();
        expected[35] = 0; // SOFTWARE padding byte is 0x20 in the RFC.
        let mi = Message::parse(&vector)
            .expect("parse")
            .attribute(AttrType::MESSAGE_INTEGRITY)
            .expect("MI")
            .offset;
        assert_eq!(buf.len(), vector.len());
        assert_eq!(buf[..mi], expected[..mi]);
        let m = Message::parse(&buf).expect("parse");
        assert!(m.verify_integrity(SHORT_TERM_KEY));
        assert!(m.verify_fingerprint());
        assert_eq!(m.xor_mapped_address(), Ok(Some(addr)));
    }
}

/// MESSAGE-INTEGRITY-SHA256 against bytes computed independently (Python `hmac`/`hashlib`
/// and `binascii.crc32`, from RFC 8489 §14.6/§14.7), full and truncated to 16 bytes.
#[test]
fn message_integrity_sha256_matches_independent_computation() {
    let full = hex(
        "0001003c2112a442b7e7a701bc34d686fa87dfae000600096576746a3a683676590000\
         00001c00209a241fa22a3d77e481fb2ad29fa9ce63403cd45c007996723331e370538de124\
         80280004a0e97521",
    );
    let truncated = hex(
        "0001002c2112a442b7e7a701bc34d686fa87dfae000600096576746a3a683676590000\
         00001c001040e26b42f754242912c2b6b9fbdca907802800047ef9382b",
    );
    for (expected, len) in [(full, 32), (truncated, 16)] {
        let mut buf = Vec::new();
        MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId(RFC_TID),
        )
        .username("evtj:h6vY")
        .and_then(|w| w.message_integrity_sha256_truncated(SHORT_TERM_KEY, len))
        .and_then(|w| w.fingerprint())
        .expect("write");
        assert_eq!(buf, expected);
        let m = Message::parse(&expected).expect("parse");
        assert!(m.has_message_integrity_sha256());
        assert!(m.verify_integrity(SHORT_TERM_KEY));
        assert!(m.verify_message_integrity_sha256(SHORT_TERM_KEY));
        assert!(!m.verify_message_integrity(SHORT_TERM_KEY), "no SHA1 MI");
        assert!(!m.verify_integrity(b"wrong"));
        assert!(m.verify_fingerprint());
    }
}

// ---------------------------------------------------------------- header / type encoding

#[test]
fn message_type_encoding() {
    let cases = [
        (Class::Request, Method::BINDING, 0x0001),
        (Class::Indication, Method::BINDING, 0x0011),
        (Class::SuccessResponse, Method::BINDING, 0x0101),
        (Class::ErrorResponse, Method::BINDING, 0x0111),
        (Class::Request, Method::ALLOCATE, 0x0003),
        (Class::SuccessResponse, Method::ALLOCATE, 0x0103),
        (Class::ErrorResponse, Method::ALLOCATE, 0x0113),
        (Class::Request, Method::REFRESH, 0x0004),
        (Class::Indication, Method::SEND, 0x0016),
        (Class::Indication, Method::DATA, 0x0017),
        (Class::Request, Method::CREATE_PERMISSION, 0x0008),
        (Class::Request, Method::CHANNEL_BIND, 0x0009),
        (Class::Request, Method::CONNECT, 0x000A),
        (Class::Request, Method::CONNECTION_BIND, 0x000B),
        (Class::Indication, Method::CONNECTION_ATTEMPT, 0x001C),
        (Class::ErrorResponse, Method::new(0xFFF).expect("m"), 0x3FFF),
    ];
    for (class, method, t) in cases {
        assert_eq!(message_type(class, method), t, "{class:?} {method:?}");
        assert_eq!(split_message_type(t), (class, method));
    }
    for m in 0..=0xFFFu16 {
        let method = Method::new(m).expect("12 bits");
        for c in 0..4 {
            let class = Class::from_bits(c);
            let t = message_type(class, method);
            assert!(t < 0x4000);
            assert_eq!(split_message_type(t), (class, method));
        }
    }
    assert_eq!(Method::new(0x1000), None);
}

#[test]
fn empty_binding_request_round_trip() {
    let mut buf = Vec::new();
    let tid = TransactionId([7; 12]);
    let w = MessageWriter::new(&mut buf, Class::Request, Method::BINDING, tid);
    assert!(w.is_empty());
    assert_eq!(w.len(), 20);
    assert_eq!(
        buf,
        hex("0001 0000 2112a442 070707070707070707070707"),
        "header bytes"
    );
    let m = Message::parse(&buf).expect("parse");
    assert_eq!(m.transaction_id(), tid);
    assert_eq!(m.attributes().count(), 0);
    assert!(!m.verify_integrity(b"x"));
    assert!(!m.verify_fingerprint());
}

// ---------------------------------------------------------------- attribute round trips

#[test]
fn every_attribute_round_trips() {
    let tid = TransactionId([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let key = b"secret key";
    for (a, b) in [
        (v4(10, 0, 0, 1, 1), v4(255, 255, 255, 255, 65535)),
        (v6("::1", 0), v6("fe80::1234:5678:9abc:def0", 54321)),
        (v4(0, 0, 0, 0, 0), v6("2001:db8::1", 3478)),
    ] {
        let mut buf = Vec::new();
        MessageWriter::new(&mut buf, Class::SuccessResponse, Method::ALLOCATE, tid)
            .xor_mapped_address(a)
            .and_then(|w| w.mapped_address(b))
            .and_then(|w| w.xor_relayed_address(b))
            .and_then(|w| w.xor_peer_address(a))
            .and_then(|w| w.xor_peer_address(b))
            .and_then(|w| w.username("ufragA:ufragB"))
            .and_then(|w| w.software("rtcpeer"))
            .and_then(|w| w.realm("example.org"))
            .and_then(|w| w.nonce("n0nce"))
            .and_then(|w| w.priority(0x7e7f_00ff))
            .and_then(|w| w.use_candidate())
            .and_then(|w| w.ice_controlling(u64::MAX - 1))
            .and_then(|w| w.ice_controlled(1))
            .and_then(|w| w.error_code(487, "Role Conflict"))
            .and_then(|w| w.unknown_attributes([0x0031, 0x7FFF, 0x0002]))
            .and_then(|w| w.lifetime(600))
            .and_then(|w| w.requested_transport(17))
            .and_then(|w| w.data(&[1, 2, 3, 4, 5]))
            .and_then(|w| w.channel_number(0x4001))
            .and_then(|w| w.attribute(0x8FFF, b"opaque"))
            .and_then(|w| w.message_integrity(key))
            .and_then(|w| w.message_integrity_sha256(key))
            .and_then(|w| w.fingerprint())
            .expect("write");
        assert_eq!(buf.len() % 4, 0);
        let m = Message::parse(&buf).expect("parse");
        assert_eq!(m.class(), Class::SuccessResponse);
        assert_eq!(m.method(), Method::ALLOCATE);
        assert_eq!(m.transaction_id(), tid);
        assert_eq!(m.xor_mapped_address(), Ok(Some(a)));
        assert_eq!(m.mapped_address(), Ok(Some(b)));
        assert_eq!(m.xor_relayed_address(), Ok(Some(b)));
        assert_eq!(m.xor_peer_address(), Ok(Some(a)));
        let peers: Vec<_> = m.xor_peer_addresses().collect();
        assert_eq!(peers, [Ok(a), Ok(b)]);
        assert_eq!(m.username(), Ok(Some("ufragA:ufragB")));
        assert_eq!(m.software(), Ok(Some("rtcpeer")));
        assert_eq!(m.realm(), Ok(Some("example.org")));
        assert_eq!(m.nonce(), Ok(Some("n0nce")));
        assert_eq!(m.priority(), Ok(Some(0x7e7f_00ff)));
        assert_eq!(m.use_candidate(), Ok(true));
        assert_eq!(m.ice_controlling(), Ok(Some(u64::MAX - 1)));
        assert_eq!(m.ice_controlled(), Ok(Some(1)));
        assert_eq!(
            m.error_code(),
            Ok(Some(ErrorCode {
                code: 487,
                reason: "Role Conflict"
            }))
        );
        let unknown = m.unknown_attributes().expect("ok").expect("present");
        assert_eq!(unknown.len(), 3);
        assert!(!unknown.is_empty());
        assert_eq!(unknown.iter().collect::<Vec<_>>(), [0x0031, 0x7FFF, 0x0002]);
        assert_eq!(m.lifetime(), Ok(Some(600)));
        assert_eq!(m.requested_transport(), Ok(Some(17)));
        assert_eq!(m.data(), Some(&[1u8, 2, 3, 4, 5][..]));
        assert_eq!(m.channel_number(), Ok(Some(0x4001)));
        assert_eq!(m.attribute(0x8FFF).map(|a| a.value), Some(&b"opaque"[..]));
        assert!(m.has_message_integrity() && m.has_message_integrity_sha256());
        assert!(m.verify_message_integrity(key));
        assert!(m.verify_message_integrity_sha256(key));
        assert!(m.verify_integrity(key));
        assert!(!m.verify_integrity(b"secret kez"));
        assert!(m.verify_fingerprint());
        assert_eq!(m.unknown_comprehension_required().count(), 0);
    }
}

#[test]
fn xor_address_wire_format() {
    // IPv4: port XOR 0x2112, address XOR the cookie (RFC 8489 §14.2).
    let mut buf = Vec::new();
    MessageWriter::new(
        &mut buf,
        Class::SuccessResponse,
        Method::BINDING,
        TransactionId(RFC_TID),
    )
    .xor_mapped_address(v4(192, 0, 2, 1, 32853))
    .expect("write");
    assert_eq!(buf[20..], hex("0020 0008 0001 a147 e112a643"));
}

#[test]
fn text_attributes_are_zero_padded() {
    for len in 0..=9usize {
        let s = "abcdefghi".get(..len).expect("ascii");
        let mut buf = Vec::new();
        MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId([0; 12]),
        )
        .username(s)
        .expect("write");
        assert_eq!(buf.len(), 20 + 4 + len.div_ceil(4) * 4);
        assert!(buf[24 + len..].iter().all(|&b| b == 0), "padding is zero");
        let m = Message::parse(&buf).expect("parse");
        assert_eq!(m.username(), Ok(Some(s)));
    }
}

#[test]
fn first_occurrence_wins() {
    let bytes = raw_message(
        Class::Request,
        Method::BINDING,
        &[
            (AttrType::PRIORITY, &[0, 0, 0, 1]),
            (AttrType::PRIORITY, &[0, 0, 0, 2]),
        ],
    );
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.priority(), Ok(Some(1)));
    assert_eq!(m.attributes_of(AttrType::PRIORITY).count(), 2);
}

#[test]
fn unknown_comprehension_required_reported_and_420_round_trip() {
    let bytes = raw_message(
        Class::Request,
        Method::BINDING,
        &[
            (0x0030, b"x"),
            (AttrType::PRIORITY, &[0, 0, 0, 1]),
            (0x8030, b"optional"),
            (0x7FFF, b""),
            (AttrType::EVEN_PORT, &[0]),
        ],
    );
    let m = Message::parse(&bytes).expect("parse");
    let unknown: Vec<u16> = m.unknown_comprehension_required().collect();
    assert_eq!(unknown, [0x0030, 0x7FFF, AttrType::EVEN_PORT]);
    assert!(is_known_attribute(AttrType::PRIORITY));
    assert!(is_known_attribute(0x8030), "comprehension-optional");
    assert!(!is_comprehension_required(0x8000));
    assert!(is_comprehension_required(0x7FFF));

    let mut buf = Vec::new();
    MessageWriter::new(
        &mut buf,
        Class::ErrorResponse,
        Method::BINDING,
        m.transaction_id(),
    )
    .error_code(420, "Unknown Attribute")
    .and_then(|w| w.unknown_attributes(m.unknown_comprehension_required()))
    .and_then(|w| w.fingerprint())
    .expect("write");
    let r = Message::parse(&buf).expect("parse");
    assert_eq!(r.class(), Class::ErrorResponse);
    assert_eq!(r.error_code().expect("ok").map(|e| e.code), Some(420));
    let listed: Vec<u16> = r
        .unknown_attributes()
        .expect("ok")
        .expect("present")
        .iter()
        .collect();
    assert_eq!(listed, unknown);
    // UNKNOWN-ATTRIBUTES with 3 entries has a 6-byte value padded to 8.
    assert_eq!(
        r.attribute(AttrType::UNKNOWN_ATTRIBUTES)
            .map(|a| a.value.len()),
        Some(6)
    );
    assert!(r.verify_fingerprint());
}

// ---------------------------------------------------------------- integrity ordering rules

#[test]
fn attributes_between_integrity_and_fingerprint_are_ignored() {
    // MESSAGE-INTEGRITY is not second-to-last: a SOFTWARE sits between it and FINGERPRINT.
    // The RFC says receivers ignore it; integrity and fingerprint still verify.
    let mut buf = Vec::new();
    MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId(RFC_TID),
    )
    .username("a:b")
    .and_then(|w| w.message_integrity(SHORT_TERM_KEY))
    .expect("write");
    let mut w = MessageWriter::resume(&mut buf);
    w.software("smuggled")
        .and_then(|w| w.attribute(0x0031, b"unknown"))
        .and_then(|w| w.fingerprint())
        .expect("write");
    let m = Message::parse(&buf).expect("parse");
    assert_eq!(m.software(), Ok(None), "ignored after MESSAGE-INTEGRITY");
    assert_eq!(m.unknown_comprehension_required().count(), 0);
    assert_eq!(m.username(), Ok(Some("a:b")));
    assert!(m.verify_integrity(SHORT_TERM_KEY));
    assert!(m.verify_fingerprint());
    let types: Vec<u16> = m.attributes().map(|a| a.typ).collect();
    assert_eq!(
        types,
        [
            AttrType::USERNAME,
            AttrType::MESSAGE_INTEGRITY,
            AttrType::FINGERPRINT
        ]
    );
}

#[test]
fn attributes_after_fingerprint_are_ignored() {
    let mut buf = Vec::new();
    MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId(RFC_TID),
    )
    .priority(5)
    .and_then(|w| w.fingerprint())
    .expect("write");
    let mut w = MessageWriter::resume(&mut buf);
    w.username("late")
        .and_then(|w| w.attribute(0x0031, b"unknown"))
        .and_then(|w| w.message_integrity(SHORT_TERM_KEY))
        .expect("write");
    let m = Message::parse(&buf).expect("parse");
    assert_eq!(m.priority(), Ok(Some(5)));
    assert_eq!(m.username(), Ok(None));
    assert!(!m.has_message_integrity());
    assert!(!m.verify_integrity(SHORT_TERM_KEY));
    assert_eq!(m.unknown_comprehension_required().count(), 0);
    assert!(m.verify_fingerprint());
    assert_eq!(m.attributes().count(), 2);
}

#[test]
fn integrity_sha256_then_integrity_sha1_is_ignored() {
    // Only FINGERPRINT is honoured after MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    let mut buf = Vec::new();
    MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId(RFC_TID),
    )
    .message_integrity_sha256(SHORT_TERM_KEY)
    .expect("write");
    MessageWriter::resume(&mut buf)
        .message_integrity(SHORT_TERM_KEY)
        .expect("write");
    let m = Message::parse(&buf).expect("parse");
    assert!(m.has_message_integrity_sha256());
    assert!(!m.has_message_integrity());
    assert!(m.verify_integrity(SHORT_TERM_KEY));
}

#[test]
fn tampered_integrity_and_fingerprint_fail() {
    let vector = rfc_request();
    let m = Message::parse(&vector).expect("parse");
    let fp = m.attribute(AttrType::FINGERPRINT).expect("fp").offset;
    for i in 0..vector.len() {
        let mut bytes = vector.clone();
        bytes[i] ^= 0x01;
        let Ok(m) = Message::parse(&bytes) else {
            continue;
        };
        if i < fp {
            assert!(
                !m.verify_integrity(SHORT_TERM_KEY),
                "byte {i} covered by MI"
            );
        }
        assert!(!m.verify_fingerprint(), "byte {i} covered by FINGERPRINT");
    }
}

#[test]
fn bad_integrity_lengths_do_not_verify() {
    // MESSAGE-INTEGRITY must be 20 bytes; MESSAGE-INTEGRITY-SHA256 16..=32 in steps of 4.
    for (typ, len) in [
        (AttrType::MESSAGE_INTEGRITY, 16usize),
        (AttrType::MESSAGE_INTEGRITY, 24),
        (AttrType::MESSAGE_INTEGRITY, 0),
        (AttrType::MESSAGE_INTEGRITY_SHA256, 12),
        (AttrType::MESSAGE_INTEGRITY_SHA256, 18),
        (AttrType::MESSAGE_INTEGRITY_SHA256, 36),
        (AttrType::MESSAGE_INTEGRITY_SHA256, 0),
    ] {
        let value = vec![0u8; len];
        let bytes = raw_message(Class::Request, Method::BINDING, &[(typ, &value)]);
        let m = Message::parse(&bytes).expect("parse");
        assert!(!m.verify_integrity(b"k"), "{typ:#x} len {len}");
        assert!(!m.verify_message_integrity(b"k"));
        assert!(!m.verify_message_integrity_sha256(b"k"));
    }
    for len in [0usize, 3, 8] {
        let value = vec![0u8; len];
        let bytes = raw_message(
            Class::Request,
            Method::BINDING,
            &[(AttrType::FINGERPRINT, &value)],
        );
        let m = Message::parse(&bytes).expect("parse");
        assert!(!m.verify_fingerprint(), "fingerprint len {len}");
    }
}

// ---------------------------------------------------------------- writer errors

#[test]
fn writer_enforces_order() {
    let mut buf = Vec::new();
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([0; 12]),
    );
    w.message_integrity(b"k").expect("mi");
    assert_eq!(w.username("x").err(), Some(WriteError::AfterIntegrity));
    assert_eq!(
        w.message_integrity(b"k").err(),
        Some(WriteError::AfterIntegrity)
    );
    w.message_integrity_sha256(b"k").expect("mi256");
    assert_eq!(
        w.message_integrity(b"k").err(),
        Some(WriteError::AfterIntegrity)
    );
    assert_eq!(
        w.message_integrity_sha256(b"k").err(),
        Some(WriteError::AfterIntegrity)
    );
    w.fingerprint().expect("fp");
    let before = w.as_bytes().to_vec();
    assert_eq!(w.fingerprint().err(), Some(WriteError::AfterIntegrity));
    assert_eq!(w.priority(1).err(), Some(WriteError::AfterIntegrity));
    assert_eq!(w.as_bytes(), &before[..], "unchanged after errors");
    let m = Message::parse(&buf).expect("parse");
    assert!(m.verify_integrity(b"k") && m.verify_message_integrity(b"k"));
    assert!(m.verify_fingerprint());
}

#[test]
fn writer_rejects_bad_values_without_changing_the_buffer() {
    let mut buf = Vec::new();
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([0; 12]),
    );
    let long = "x".repeat(MAX_USERNAME_LEN + 1);
    assert_eq!(w.username(&long).err(), Some(WriteError::ValueTooLong));
    w.username(&long[..MAX_USERNAME_LEN]).expect("max username");
    let text = "y".repeat(MAX_TEXT_LEN + 1);
    assert_eq!(w.realm(&text).err(), Some(WriteError::ValueTooLong));
    assert_eq!(w.nonce(&text).err(), Some(WriteError::ValueTooLong));
    assert_eq!(w.software(&text).err(), Some(WriteError::ValueTooLong));
    assert_eq!(
        w.error_code(420, &text).err(),
        Some(WriteError::ValueTooLong)
    );
    assert_eq!(w.error_code(299, "x").err(), Some(WriteError::InvalidValue));
    assert_eq!(w.error_code(700, "x").err(), Some(WriteError::InvalidValue));
    assert_eq!(
        w.channel_number(0x3FFF).err(),
        Some(WriteError::InvalidValue)
    );
    assert_eq!(
        w.channel_number(0x5000).err(),
        Some(WriteError::InvalidValue)
    );
    for len in [0usize, 12, 18, 36] {
        assert_eq!(
            w.message_integrity_sha256_truncated(b"k", len).err(),
            Some(WriteError::InvalidValue)
        );
    }
    let big = vec![0u8; 70_000];
    assert_eq!(w.data(&big).err(), Some(WriteError::ValueTooLong));
    assert_eq!(
        w.data(&big[..65_535]).err(),
        Some(WriteError::MessageTooLong)
    );
    let len_before = w.len();
    // Fill up to the limit exactly: 20 + 4 + 508 (username) + 4 + n == MAX_MESSAGE_LEN.
    let room = MAX_MESSAGE_LEN - len_before - 4;
    w.data(&big[..room]).expect("fits exactly");
    assert_eq!(w.len(), MAX_MESSAGE_LEN);
    assert_eq!(w.fingerprint().err(), Some(WriteError::MessageTooLong));
    assert_eq!(w.use_candidate().err(), Some(WriteError::MessageTooLong));
    let m = Message::parse(&buf).expect("parse");
    assert_eq!(
        m.username().expect("ok").map(str::len),
        Some(MAX_USERNAME_LEN)
    );
    assert_eq!(m.data().map(<[u8]>::len), Some(room));
}

#[test]
fn writer_reuses_the_buffer() {
    let mut buf = Vec::with_capacity(256);
    let ptr = buf.as_ptr();
    for i in 0..100u32 {
        MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId([i as u8; 12]),
        )
        .username("remote:local")
        .and_then(|w| w.priority(i))
        .and_then(|w| w.ice_controlling(u64::from(i)))
        .and_then(|w| w.use_candidate())
        .and_then(|w| w.message_integrity(b"pw"))
        .and_then(|w| w.fingerprint())
        .expect("write");
        assert_eq!(buf.as_ptr(), ptr, "no reallocation");
        assert_eq!(buf.capacity(), 256);
        let m = Message::parse(&buf).expect("parse");
        assert_eq!(m.priority(), Ok(Some(i)));
        assert!(m.verify_integrity(b"pw") && m.verify_fingerprint());
    }
}

// ---------------------------------------------------------------- malformed input

#[test]
fn truncated_header_rejected() {
    let vector = rfc_request();
    for len in 0..HEADER_LEN {
        assert_eq!(
            Message::parse(&vector[..len]).err(),
            Some(ParseError::TooShort)
        );
        assert!(!is_stun(&vector[..len]));
    }
}

#[test]
fn header_checks() {
    let good = rfc_response_v4();
    let mut b = good.clone();
    b[0] |= 0x40;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::NotStun));
    b[0] = 0x80 | good[0];
    assert_eq!(Message::parse(&b).err(), Some(ParseError::NotStun));

    let mut b = good.clone();
    b[7] ^= 1;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::BadMagicCookie));
    assert!(!is_stun(&b));

    let mut b = good.clone();
    b[3] = 0x3d;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::LengthNotAligned));

    let mut b = good.clone();
    b[3] = 0x38;
    assert_eq!(
        Message::parse(&b).err(),
        Some(ParseError::LengthMismatch {
            header: 0x38,
            actual: 0x3c
        })
    );
    let mut b = good.clone();
    b.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        Message::parse(&b).err(),
        Some(ParseError::LengthMismatch {
            header: 0x3c,
            actual: 0x40
        })
    );
    assert!(is_stun(&b), "demux only looks at the first bytes");
}

#[test]
fn truncated_at_every_offset_rejected() {
    for vector in [
        rfc_request(),
        rfc_response_v4(),
        rfc_response_v6(),
        rfc_request_long_term(),
    ] {
        for len in 0..vector.len() {
            assert!(
                Message::parse(&vector[..len]).is_err(),
                "truncated to {len}"
            );
            // Same truncation with the header length fixed up: only 4-aligned cuts that end
            // on an attribute boundary may parse, and then nothing panics.
            if len >= HEADER_LEN {
                let fixed = with_length(vector[..len].to_vec());
                if let Ok(m) = Message::parse(&fixed) {
                    exercise(&m);
                }
            }
        }
    }
}

#[test]
fn attribute_overruns_rejected() {
    // Value length runs past the end.
    let mut b = raw_message(
        Class::Request,
        Method::BINDING,
        &[(AttrType::PRIORITY, &[0, 0, 0, 1])],
    );
    b[23] = 5;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::AttributeOverrun));
    b[23] = 0xFF;
    b[22] = 0xFF;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::AttributeOverrun));
    // Unpadded value fits but its padding does not: 5-byte value in an 8-byte body.
    let mut b = raw_message(Class::Request, Method::BINDING, &[(0x8030, &[1, 2, 3, 4])]);
    b[23] = 5;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::AttributeOverrun));
    // A second attribute header after a correct first one, running past the end.
    let mut b = raw_message(
        Class::Request,
        Method::BINDING,
        &[(AttrType::PRIORITY, &[0, 0, 0, 1]), (0x8030, &[0; 4])],
    );
    b[31] = 8;
    assert_eq!(Message::parse(&b).err(), Some(ParseError::AttributeOverrun));
}

#[test]
fn malformed_address_attributes() {
    let cases: [(&[u8], ParseError); 6] = [
        (&[0, 3, 0, 1, 1, 2, 3, 4], ParseError::BadAddressFamily(3)),
        (&[0, 0, 0, 1, 1, 2, 3, 4], ParseError::BadAddressFamily(0)),
        (
            &[0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8],
            ParseError::BadAttributeLength { attr: 0, len: 12 },
        ),
        (
            &[0, 2, 0, 1, 1, 2, 3, 4],
            ParseError::BadAttributeLength { attr: 0, len: 8 },
        ),
        (
            &[0, 1, 0],
            ParseError::BadAttributeLength { attr: 0, len: 3 },
        ),
        (&[], ParseError::BadAttributeLength { attr: 0, len: 0 }),
    ];
    for typ in [
        AttrType::XOR_MAPPED_ADDRESS,
        AttrType::MAPPED_ADDRESS,
        AttrType::XOR_RELAYED_ADDRESS,
        AttrType::XOR_PEER_ADDRESS,
    ] {
        for (value, err) in cases {
            let bytes = raw_message(Class::SuccessResponse, Method::BINDING, &[(typ, value)]);
            let m = Message::parse(&bytes).expect("framing is fine");
            let want = match err {
                ParseError::BadAttributeLength { len, .. } => {
                    ParseError::BadAttributeLength { attr: typ, len }
                }
                e => e,
            };
            let got = match typ {
                AttrType::XOR_MAPPED_ADDRESS => m.xor_mapped_address(),
                AttrType::MAPPED_ADDRESS => m.mapped_address(),
                AttrType::XOR_RELAYED_ADDRESS => m.xor_relayed_address(),
                _ => m.xor_peer_address(),
            };
            assert_eq!(got, Err(want), "{typ:#x} {value:?}");
        }
    }
    // The reserved first byte is ignored by receivers (RFC 8489 §14.1).
    let bytes = raw_message(
        Class::SuccessResponse,
        Method::BINDING,
        &[(AttrType::MAPPED_ADDRESS, &[0xff, 1, 0, 80, 10, 0, 0, 1])],
    );
    let m = Message::parse(&bytes).expect("parse");
    assert_eq!(m.mapped_address(), Ok(Some(v4(10, 0, 0, 1, 80))));
}

#[test]
fn malformed_fixed_and_text_attributes() {
    let bad =
        |typ: u16, value: &[u8]| raw_message(Class::Request, Method::BINDING, &[(typ, value)]);
    let b = bad(AttrType::PRIORITY, &[0, 0, 1]);
    let m = Message::parse(&b).expect("parse");
    assert_eq!(
        m.priority(),
        Err(ParseError::BadAttributeLength {
            attr: AttrType::PRIORITY,
            len: 3
        })
    );
    let b = bad(AttrType::USE_CANDIDATE, &[0]);
    assert!(Message::parse(&b).expect("parse").use_candidate().is_err());
    let b = bad(AttrType::ICE_CONTROLLING, &[0; 4]);
    assert!(
        Message::parse(&b)
            .expect("parse")
            .ice_controlling()
            .is_err()
    );
    let b = bad(AttrType::ICE_CONTROLLED, &[0; 12]);
    assert!(Message::parse(&b).expect("parse").ice_controlled().is_err());
    let b = bad(AttrType::LIFETIME, &[0; 8]);
    assert!(Message::parse(&b).expect("parse").lifetime().is_err());
    let b = bad(AttrType::REQUESTED_TRANSPORT, &[17]);
    assert!(
        Message::parse(&b)
            .expect("parse")
            .requested_transport()
            .is_err()
    );
    let b = bad(AttrType::CHANNEL_NUMBER, &[0x40, 0]);
    assert!(Message::parse(&b).expect("parse").channel_number().is_err());
    let b = bad(AttrType::USERNAME, &[0xff, 0xfe]);
    assert_eq!(
        Message::parse(&b).expect("parse").username(),
        Err(ParseError::InvalidUtf8)
    );
    for typ in [AttrType::SOFTWARE, AttrType::REALM, AttrType::NONCE] {
        let b = bad(typ, &[b'a', 0xc3]);
        let m = Message::parse(&b).expect("parse");
        let got = match typ {
            AttrType::SOFTWARE => m.software(),
            AttrType::REALM => m.realm(),
            _ => m.nonce(),
        };
        assert_eq!(got, Err(ParseError::InvalidUtf8));
    }
    let b = bad(AttrType::UNKNOWN_ATTRIBUTES, &[0, 1, 0]);
    assert!(
        Message::parse(&b)
            .expect("parse")
            .unknown_attributes()
            .is_err()
    );
    // ERROR-CODE: too short, class out of range, number out of range, bad UTF-8.
    for value in [
        &[0u8, 0, 4][..],
        &[0, 0, 2, 0],
        &[0, 0, 7, 0],
        &[0, 0, 4, 100],
        &[0, 0, 4, 1, 0xff],
    ] {
        let b = bad(AttrType::ERROR_CODE, value);
        assert!(
            Message::parse(&b).expect("parse").error_code().is_err(),
            "{value:?}"
        );
    }
    // Reserved bits above the class are ignored.
    let b = bad(AttrType::ERROR_CODE, &[0xff, 0xff, 0xfc, 1, b'O', b'K']);
    assert_eq!(
        Message::parse(&b).expect("parse").error_code(),
        Ok(Some(ErrorCode {
            code: 401,
            reason: "OK"
        }))
    );
}

// ---------------------------------------------------------------- robustness

/// Every byte of every RFC vector replaced by every value, and truncation at every offset:
/// parsing and all getters never panic.
#[test]
fn mutated_and_truncated_vectors_never_panic() {
    let mut parsed = 0usize;
    for vector in [
        rfc_request(),
        rfc_response_v4(),
        rfc_response_v6(),
        rfc_request_long_term(),
    ] {
        for i in 0..vector.len() {
            for v in 0..=255u8 {
                let mut b = vector.clone();
                b[i] = v;
                if let Ok(m) = Message::parse(&b) {
                    parsed += 1;
                    exercise(&m);
                }
                let _ = is_stun(&b);
                let _ = is_channel_data(&b);
                let _ = ChannelData::parse(&b);
            }
        }
        for len in 0..=vector.len() {
            let b = &vector[..len];
            if let Ok(m) = Message::parse(b) {
                exercise(&m);
            }
            let _ = ChannelData::parse(b);
        }
    }
    assert!(
        parsed > 1000,
        "most single-byte changes still frame correctly"
    );
}

/// A deterministic pseudo-random soup of attributes: framing valid, contents arbitrary.
#[test]
fn random_attribute_soup_never_panics() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let types = [
        AttrType::XOR_MAPPED_ADDRESS,
        AttrType::MAPPED_ADDRESS,
        AttrType::USERNAME,
        AttrType::MESSAGE_INTEGRITY,
        AttrType::MESSAGE_INTEGRITY_SHA256,
        AttrType::FINGERPRINT,
        AttrType::ERROR_CODE,
        AttrType::UNKNOWN_ATTRIBUTES,
        AttrType::PRIORITY,
        AttrType::USE_CANDIDATE,
        AttrType::ICE_CONTROLLING,
        AttrType::ICE_CONTROLLED,
        AttrType::XOR_PEER_ADDRESS,
        AttrType::XOR_RELAYED_ADDRESS,
        AttrType::LIFETIME,
        AttrType::REQUESTED_TRANSPORT,
        AttrType::CHANNEL_NUMBER,
        AttrType::DATA,
        AttrType::SOFTWARE,
        0x0042,
    ];
    for _ in 0..3000 {
        let count = (next() % 6) as usize;
        let mut values: Vec<(u16, Vec<u8>)> = Vec::new();
        for _ in 0..count {
            let typ = types[(next() % types.len() as u64) as usize];
            let len = (next() % 40) as usize;
            let value: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            values.push((typ, value));
        }
        let attrs: Vec<(u16, &[u8])> = values.iter().map(|(t, v)| (*t, &v[..])).collect();
        let b = raw_message(Class::from_bits(next() as u16), Method::BINDING, &attrs);
        let m = Message::parse(&b).expect("framing is valid");
        exercise(&m);
    }
}

// ---------------------------------------------------------------- demux and ChannelData

#[test]
fn demux_first_byte_ranges() {
    let mut header = rfc_request();
    for first in 0..=255u8 {
        header[0] = first;
        assert_eq!(is_stun(&header), first <= 3, "first byte {first}");
        assert_eq!(
            is_channel_data(&[first, 0, 0, 0]),
            (0x40..=0x7F).contains(&first)
        );
    }
    assert!(!is_channel_data(&[]));
    assert!(!is_stun(&[]));
    // A DTLS record (first byte 20..=63) is neither.
    assert!(!is_stun(&[22; 40]));
    assert!(!is_channel_data(&[22; 40]));
}

#[test]
fn channel_data_round_trip() {
    let mut buf = Vec::new();
    for (len, pad) in [
        (0usize, false),
        (1, true),
        (3, false),
        (4, true),
        (5, true),
        (1200, false),
    ] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        write_channel_data(&mut buf, 0x4abc, &data, pad).expect("write");
        let expected_len = if pad {
            4 + len.div_ceil(4) * 4
        } else {
            4 + len
        };
        assert_eq!(buf.len(), expected_len);
        assert!(is_channel_data(&buf));
        assert!(!is_stun(&buf));
        let cd = ChannelData::parse(&buf).expect("parse");
        assert_eq!(cd.number, 0x4abc);
        assert_eq!(cd.data, &data[..]);
        assert_eq!(cd.padded_len(), 4 + len.div_ceil(4) * 4);
    }
    assert_eq!(
        write_channel_data(&mut buf, 0x3FFF, b"x", false),
        Err(WriteError::InvalidValue)
    );
    assert_eq!(
        write_channel_data(&mut buf, 0x5000, b"x", false),
        Err(WriteError::InvalidValue)
    );
    assert_eq!(
        write_channel_data(&mut buf, 0x4000, &vec![0; 65_536], false),
        Err(WriteError::ValueTooLong)
    );
    write_channel_data(&mut buf, 0x4FFF, &vec![7; 65_535], false).expect("max size");
    assert_eq!(ChannelData::parse(&buf).map(|c| c.data.len()), Ok(65_535));
}

#[test]
fn channel_data_malformed() {
    assert_eq!(ChannelData::parse(&[]), Err(ParseError::TooShort));
    assert_eq!(ChannelData::parse(&[0x40, 0, 0]), Err(ParseError::TooShort));
    assert_eq!(
        ChannelData::parse(&[0x50, 0, 0, 0]),
        Err(ParseError::BadChannelNumber(0x5000))
    );
    assert_eq!(
        ChannelData::parse(&[0x3f, 0xff, 0, 0]),
        Err(ParseError::BadChannelNumber(0x3fff))
    );
    assert_eq!(
        ChannelData::parse(&[0x40, 0, 0, 5, 1, 2, 3, 4]),
        Err(ParseError::ChannelDataTruncated)
    );
    // Trailing bytes (UDP padding) are ignored.
    assert_eq!(
        ChannelData::parse(&[0x40, 1, 0, 1, 9, 0, 0, 0]),
        Ok(ChannelData {
            number: 0x4001,
            data: &[9]
        })
    );
}

#[test]
fn errors_display() {
    assert!(ParseError::BadMagicCookie.to_string().contains("cookie"));
    assert!(
        ParseError::LengthMismatch {
            header: 4,
            actual: 8
        }
        .to_string()
        .contains('8')
    );
    assert!(WriteError::AfterIntegrity.to_string().contains("after"));
}

#[test]
fn stream_framing_lengths() {
    assert_eq!(stream_frame_len(&rfc_request()), Some(108));
    assert_eq!(stream_frame_len(&rfc_response_v6()[..4]), Some(92));
    assert_eq!(stream_frame_len(&[0x40, 0x00, 0x00, 0x05]), Some(12));
    assert_eq!(stream_frame_len(&[0x4f, 0xff, 0x00, 0x04]), Some(8));
    assert_eq!(stream_frame_len(&[0x40, 0x00, 0x00, 0x00]), Some(4));
    assert_eq!(stream_frame_len(&[0x00, 0x01, 0x00]), None);
    assert_eq!(stream_frame_len(&[0x80, 0x01, 0x00, 0x00]), None);
    assert_eq!(stream_frame_len(&[0x16, 0xfe, 0xfd, 0x00]), None);
    // Two frames back to back split by their announced lengths.
    let mut stream = rfc_response_v4();
    let mut cd = Vec::new();
    write_channel_data(&mut cd, 0x4001, b"hello", true).expect("write");
    stream.extend_from_slice(&cd);
    let first = stream_frame_len(&stream).expect("stun");
    assert!(Message::parse(&stream[..first]).is_ok());
    let second = stream_frame_len(&stream[first..]).expect("channel data");
    assert_eq!(first + second, stream.len());
    assert_eq!(
        ChannelData::parse(&stream[first..]).map(|c| c.data),
        Ok(&b"hello"[..])
    );
}
