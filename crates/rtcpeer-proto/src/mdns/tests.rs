//! Codec and querier tests. The byte vectors are written out by hand from the RFC 1035 §4.1
//! layouts (header, question, resource record, compression pointers) and the mDNS rules of
//! RFC 6762 §18, not produced by the writer under test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::message::{self, ParseError, TYPE_A, TYPE_AAAA};
use super::*;

const NAME: &str = "1f0c6a2b-1111-4222-8333-123456789abc.local";

/// `name` as uncompressed wire labels, written independently of `Name::from_dotted`.
fn labels(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in name.split('.') {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// A response as Chromium's responder sends it: id 0, QR|AA, no question, one A answer with
/// the cache-flush bit and TTL 120, one NSEC in the additional section whose owner name and
/// next-domain field are pointers to the answer's name (offset 12).
fn chromium_style_response(name: &str, ip: [u8; 4]) -> Vec<u8> {
    let mut v = vec![
        0x00, 0x00, // ID
        0x84, 0x00, // QR, AA
        0x00, 0x00, // QDCOUNT
        0x00, 0x01, // ANCOUNT
        0x00, 0x00, // NSCOUNT
        0x00, 0x01, // ARCOUNT
    ];
    v.extend(labels(name));
    v.extend([0x00, 0x01, 0x80, 0x01]); // TYPE A, CLASS IN | cache-flush
    v.extend([0x00, 0x00, 0x00, 0x78, 0x00, 0x04]); // TTL 120, RDLENGTH 4
    v.extend(ip);
    v.extend([0xc0, 0x0c]); // NSEC owner: pointer to offset 12
    v.extend([0x00, 0x2f, 0x80, 0x01]); // TYPE NSEC (47), CLASS IN | cache-flush
    v.extend([0x00, 0x00, 0x00, 0x78, 0x00, 0x05]); // TTL 120, RDLENGTH 5
    v.extend([0xc0, 0x0c, 0x00, 0x01, 0x40]); // next name (pointer), window 0, bitmap: A
    v
}

/// A negative response to an A question for an IPv6-only name (RFC 6762 §6.1): NSEC in the
/// answer section, the AAAA record in the additional section.
fn negative_response_with_aaaa(name: &str, ip: Ipv6Addr) -> Vec<u8> {
    let mut v = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    v.extend(labels(name));
    v.extend([0x00, 0x2f, 0x80, 0x01, 0, 0, 0, 0x78, 0x00, 0x08]);
    v.extend([0xc0, 0x0c, 0x00, 0x04, 0x00, 0x00, 0x00, 0x08]); // bitmap: AAAA
    v.extend([0xc0, 0x0c]);
    v.extend([0x00, 0x1c, 0x80, 0x01, 0, 0, 0, 0x78, 0x00, 0x10]);
    v.extend(ip.octets());
    v
}

fn query_bytes(name: &str) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend(labels(name));
    v.extend([0x00, 0x01, 0x00, 0x01]); // QTYPE A, QCLASS IN (QM)
    v
}

// ------------------------------------------------------------------ codec

#[test]
fn query_writer_matches_the_rfc_layout() {
    let mut out = Vec::new();
    let name = Name::from_dotted("abc.local").unwrap();
    message::write_query(&mut out, 0, &name, TYPE_A, false);
    assert_eq!(
        out,
        [
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c', 5, b'l', b'o', b'c', b'a',
            b'l', 0, 0, 1, 0, 1
        ]
    );
    // The QU bit is the top bit of QCLASS (RFC 6762 §5.4).
    message::write_query(&mut out, 7, &name, TYPE_AAAA, true);
    assert_eq!(&out[..2], &[0, 7]);
    assert_eq!(&out[out.len() - 4..], &[0, 28, 0x80, 1]);
}

#[test]
fn a_query_parses_into_its_question() {
    let q = query_bytes("Abc.Local");
    let m = Message::parse(&q).unwrap();
    assert!(!m.header().is_response());
    let qs: Vec<_> = m.questions().collect();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0].name, Name::from_dotted("abc.local").unwrap());
    assert_eq!((qs[0].qtype, qs[0].qclass), (TYPE_A, 1));
    assert!(!qs[0].unicast_response);
    assert_eq!(m.records().count(), 0);
}

#[test]
fn chromium_style_response_with_compressed_nsec_parses() {
    let r = chromium_style_response(NAME, [192, 0, 2, 1]);
    let m = Message::parse(&r).unwrap();
    let h = m.header();
    assert!(h.is_response());
    assert_eq!((h.opcode(), h.rcode(), h.ancount, h.arcount), (0, 0, 1, 1));
    let recs: Vec<_> = m.records().collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].section, Section::Answer);
    assert_eq!(recs[0].name.to_string(), NAME);
    assert!(recs[0].cache_flush);
    assert_eq!(recs[0].ttl, 120);
    assert_eq!(
        recs[0].address(),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    // The NSEC owner is a pointer to the answer's name.
    assert_eq!(recs[1].section, Section::Additional);
    assert_eq!(recs[1].name, recs[0].name);
    assert_eq!(recs[1].rtype, 47);
    assert_eq!(recs[1].address(), None);
}

#[test]
fn compression_pointer_to_a_suffix_is_followed() {
    // Question "a.local" at 12; the answer's name is "host" + pointer to "local" (offset 14).
    let mut v = vec![0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
    v.extend(labels("a.local"));
    v.extend([0, 1, 0, 1]);
    v.extend([4, b'h', b'o', b's', b't', 0xc0, 14]);
    v.extend([0, 28, 0, 1, 0, 0, 0, 10, 0, 16]);
    v.extend(Ipv6Addr::LOCALHOST.octets());
    let m = Message::parse(&v).unwrap();
    let r = m.records().next().unwrap();
    assert_eq!(r.name.to_string(), "host.local");
    assert!(r.name.is_local());
    assert_eq!(r.address(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert!(!r.cache_flush);
}

#[test]
fn malformed_messages_are_rejected() {
    assert_eq!(Message::parse(&[0; 11]).unwrap_err(), ParseError::Truncated);
    // One question announced, none present.
    assert_eq!(
        Message::parse(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err(),
        ParseError::Truncated
    );
    // A pointer to itself (a loop) and a forward pointer.
    let mut v = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    assert_eq!(Message::parse(&v).unwrap_err(), ParseError::BadPointer);
    v[13] = 14;
    assert_eq!(Message::parse(&v).unwrap_err(), ParseError::BadPointer);
    // Label types 01 and 10 (extended labels, RFC 6891 §5) are not supported.
    v[12] = 0x40;
    assert_eq!(Message::parse(&v).unwrap_err(), ParseError::BadLabel);
    v[12] = 0x80;
    assert_eq!(Message::parse(&v).unwrap_err(), ParseError::BadLabel);
    // RDLENGTH past the end.
    let mut r = chromium_style_response("x.local", [1, 2, 3, 4]);
    let n = r.len();
    r.truncate(n - 1);
    assert_eq!(Message::parse(&r).unwrap_err(), ParseError::Truncated);
    // Longer than 9000 bytes (RFC 6762 §17).
    let mut big = query_bytes("x.local");
    big.resize(9001, 0);
    assert_eq!(Message::parse(&big).unwrap_err(), ParseError::TooLong);
}

#[test]
fn names_over_255_bytes_are_rejected_even_through_pointers() {
    // Four 63-byte labels = 256 bytes with the root label: one too many.
    let long = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(63),
    ]
    .join(".");
    assert!(Name::from_dotted(&long).is_none());
    let ok = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    assert_eq!(Name::from_dotted(&ok).unwrap().wire().len(), 255);
    let mut v = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
    v.extend(labels(&ok));
    v.extend([0, 1, 0, 1]);
    // The second question: one more label in front of a pointer to the 255-byte name.
    v.extend([1, b'x', 0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&v).unwrap_err(), ParseError::NameTooLong);
    assert!(Name::from_dotted("").is_none());
    assert!(Name::from_dotted("a..local").is_none());
    assert!(Name::from_dotted(&format!("{}.local", "a".repeat(64))).is_none());
}

#[test]
fn names_compare_case_insensitively_and_display_escaped() {
    let a = Name::from_dotted("ABC.local.").unwrap();
    assert_eq!(a, Name::from_dotted("abc.LOCAL").unwrap());
    assert_ne!(a, Name::from_dotted("abd.local").unwrap());
    assert!(a.is_local());
    assert!(!Name::from_dotted("local.example").unwrap().is_local());
    // A label containing a dot is not the same name as two labels.
    let mut v = vec![
        0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, b'a', b'.', b'b', 1, 2,
    ];
    v.extend([5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0, 1]);
    let m = Message::parse(&v).unwrap();
    let q = m.questions().next().unwrap();
    assert_eq!(q.name.to_string(), "a\\.b\\001\\002.local");
    assert_ne!(q.name, Name::from_dotted("a.b.local").unwrap());
}

// ------------------------------------------------------------------ querier

fn t0() -> Instant {
    Instant::now()
}

fn drain_transmits(q: &mut MdnsQuerier) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| q.poll_transmit()).collect()
}

fn events(q: &mut MdnsQuerier) -> Vec<MdnsEvent> {
    std::iter::from_fn(|| q.poll_event()).collect()
}

#[test]
fn query_is_sent_at_once_and_answered() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, now).unwrap();
    assert_eq!(drain_transmits(&mut q), vec![query_bytes(NAME)]);
    assert_eq!(q.outstanding(), 1);
    let answer = chromium_style_response(&NAME.to_uppercase(), [127, 0, 0, 1]);
    assert_eq!(q.handle_datagram(now, &answer), 1);
    assert_eq!(
        events(&mut q),
        vec![MdnsEvent::Resolved {
            name: NAME.into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST)
        }]
    );
    assert_eq!(q.outstanding(), 0);
    assert_eq!(q.poll_timeout(), None);
    // The same answer again changes nothing.
    assert_eq!(q.handle_datagram(now, &answer), 0);
    assert!(events(&mut q).is_empty());
}

#[test]
fn retransmissions_double_from_one_second_then_the_query_fails() {
    let start = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, start).unwrap();
    let mut sent = vec![Duration::ZERO];
    drain_transmits(&mut q);
    let mut failed_at = None;
    while let Some(t) = q.poll_timeout() {
        q.handle_timeout(t);
        for _ in drain_transmits(&mut q) {
            sent.push(t - start);
        }
        if let Some(MdnsEvent::Failed { name }) = q.poll_event() {
            assert_eq!(name, NAME);
            failed_at = Some(t - start);
        }
    }
    let s = Duration::from_secs;
    assert_eq!(sent, vec![s(0), s(1), s(3), s(7)]);
    assert_eq!(failed_at, Some(s(10)));
    assert_eq!(q.outstanding(), 0);
}

#[test]
fn handle_timeout_early_sends_nothing() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, now).unwrap();
    drain_transmits(&mut q);
    q.handle_timeout(now + Duration::from_millis(999));
    assert!(drain_transmits(&mut q).is_empty());
    assert_eq!(q.poll_timeout(), Some(now + Duration::from_secs(1)));
}

#[test]
fn only_local_names_of_valid_length_are_queried() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    for bad in [
        "example.com",
        "local",
        "",
        ".local",
        "a..local",
        &format!("{}.local", "a".repeat(64)),
        &format!("{}.local", vec!["a".repeat(63); 4].join(".")),
    ] {
        assert_eq!(q.query(bad, now), Err(QueryError::NotLocal), "{bad:?}");
    }
    assert!(drain_transmits(&mut q).is_empty());
    assert_eq!(q.query("x.LOCAL.", now), Ok(()));
}

#[test]
fn outstanding_queries_are_bounded_and_not_duplicated() {
    let now = t0();
    let config = MdnsQuerierConfig {
        max_queries: 2,
        ..Default::default()
    };
    let mut q = MdnsQuerier::new(config);
    q.query("a.local", now).unwrap();
    q.query("A.local", now).unwrap();
    q.query("b.local", now).unwrap();
    assert_eq!(q.query("c.local", now), Err(QueryError::TooManyQueries));
    assert_eq!(q.outstanding(), 2);
    assert_eq!(drain_transmits(&mut q).len(), 2);
}

#[test]
fn queries_and_error_responses_are_ignored() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, now).unwrap();
    let good = chromium_style_response(NAME, [10, 0, 0, 1]);
    let mut not_response = good.clone();
    not_response[2] &= 0x7f;
    let mut rcode = good.clone();
    rcode[3] |= 3;
    let mut opcode = good.clone();
    opcode[2] |= 0x10;
    for bad in [
        &not_response,
        &rcode,
        &opcode,
        &query_bytes(NAME),
        &good[..20].to_vec(),
    ] {
        assert_eq!(q.handle_datagram(now, bad), 0);
    }
    assert!(events(&mut q).is_empty());
    // Another name's answer is cached but answers nothing outstanding.
    assert_eq!(
        q.handle_datagram(now, &chromium_style_response("other.local", [10, 0, 0, 2])),
        0
    );
    assert_eq!(q.outstanding(), 1);
    assert_eq!(
        q.cached("other.local", now),
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
    );
}

#[test]
fn an_ipv6_name_resolves_through_the_additional_section() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, now).unwrap();
    let ip: Ipv6Addr = "fd00::1234".parse().unwrap();
    assert_eq!(
        q.handle_datagram(now, &negative_response_with_aaaa(NAME, ip)),
        1
    );
    assert_eq!(
        events(&mut q),
        vec![MdnsEvent::Resolved {
            name: NAME.into(),
            ip: IpAddr::V6(ip)
        }]
    );
}

#[test]
fn cache_answers_until_the_ttl_and_goodbyes_remove_entries() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query(NAME, now).unwrap();
    q.handle_datagram(now, &chromium_style_response(NAME, [10, 0, 0, 1]));
    drain_transmits(&mut q);
    events(&mut q);
    // Within the TTL (120 s): answered from the cache, nothing sent.
    q.query(NAME, now + Duration::from_secs(119)).unwrap();
    assert!(drain_transmits(&mut q).is_empty());
    assert!(matches!(
        events(&mut q).as_slice(),
        [MdnsEvent::Resolved { .. }]
    ));
    // After it: a new query.
    q.query(NAME, now + Duration::from_secs(120)).unwrap();
    assert_eq!(drain_transmits(&mut q).len(), 1);
    assert!(events(&mut q).is_empty());
    q.handle_datagram(now, &chromium_style_response(NAME, [10, 0, 0, 1]));
    events(&mut q);
    // A goodbye (TTL 0, RFC 6762 §10.1) removes the entry.
    let mut bye = chromium_style_response(NAME, [10, 0, 0, 1]);
    let ttl_at = 12 + labels(NAME).len() + 4;
    bye[ttl_at..ttl_at + 4].copy_from_slice(&[0, 0, 0, 0]);
    q.handle_datagram(now, &bye);
    assert_eq!(q.cached(NAME, now), None);
}

#[test]
fn cache_is_bounded_and_evicts_the_entry_closest_to_expiry() {
    let now = t0();
    let config = MdnsQuerierConfig {
        max_cache: 3,
        ..Default::default()
    };
    let mut q = MdnsQuerier::new(config);
    for (i, name) in ["a.local", "b.local", "c.local", "d.local"]
        .iter()
        .enumerate()
    {
        let at = now + Duration::from_secs(i as u64);
        q.handle_datagram(at, &chromium_style_response(name, [10, 0, 0, i as u8]));
    }
    let later = now + Duration::from_secs(4);
    assert_eq!(q.cached("a.local", later), None);
    for name in ["b.local", "c.local", "d.local"] {
        assert!(q.cached(name, later).is_some(), "{name}");
    }
}

#[test]
fn legacy_unicast_queries_carry_nonzero_ids() {
    let now = t0();
    let mut q = MdnsQuerier::new(MdnsQuerierConfig {
        legacy_unicast: true,
        ..Default::default()
    });
    q.query("a.local", now).unwrap();
    q.query("b.local", now).unwrap();
    let ids: Vec<u16> = drain_transmits(&mut q)
        .iter()
        .map(|m| Message::parse(m).unwrap().header().id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|&id| id != 0) && ids[0] != ids[1]);
    // A legacy unicast answer echoes the question (RFC 6762 §6.7) and still matches.
    let mut v = vec![0, 1, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
    v.extend(labels("a.local"));
    v.extend([
        0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 9, 9, 9,
    ]);
    assert_eq!(q.handle_datagram(now, &v), 1);
}

/// Mutated valid messages (byte flips, truncation, appended bytes, counts raised) never
/// panic the parser or the querier, and the querier's state stays bounded.
#[test]
fn mutated_messages_never_panic() {
    use crate::util::{RandomSource, SeededRandom};
    let mut rng = SeededRandom::new(7);
    let now = t0();
    let seeds = [
        chromium_style_response(NAME, [127, 0, 0, 1]),
        negative_response_with_aaaa(NAME, Ipv6Addr::LOCALHOST),
        query_bytes(NAME),
    ];
    let mut q = MdnsQuerier::new(MdnsQuerierConfig {
        max_cache: 8,
        ..Default::default()
    });
    for i in 0..20_000u32 {
        let mut m = seeds[(i % 3) as usize].clone();
        for _ in 0..1 + rng.next_u32() % 4 {
            let at = rng.next_u32() as usize % m.len();
            match rng.next_u32() % 4 {
                0 => m[at] ^= 1 << (rng.next_u32() % 8),
                1 => m[at] = rng.next_u32() as u8,
                2 => m.truncate(at.max(1)),
                _ => m.push(rng.next_u32() as u8),
            }
        }
        if let Ok(msg) = Message::parse(&m) {
            assert!(msg.questions().count() <= msg.header().qdcount as usize);
            for r in msg.records() {
                assert!(r.name.wire().len() <= message::MAX_NAME_LEN);
                let _ = (r.address(), r.name.to_string());
            }
        }
        if q.outstanding() == 0 {
            q.query(NAME, now).unwrap();
        }
        q.handle_datagram(now, &m);
        while q.poll_event().is_some() {}
        while q.poll_transmit().is_some() {}
        // Keep asking: a cached answer would otherwise resolve every new query at once.
        q.handle_timeout(now + Duration::from_secs(200));
    }
}

// ------------------------------------------------------------------ responder

const MDNS_FROM: &str = "192.0.2.9:5353";

fn responder_with(name: &str, ip: IpAddr) -> MdnsResponder {
    let mut r = MdnsResponder::new(MdnsResponderConfig::default());
    r.register(name, ip).unwrap();
    r
}

fn query_of(name: &str, qtype: u16, qclass: u16) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend(labels(name));
    v.extend(qtype.to_be_bytes());
    v.extend(qclass.to_be_bytes());
    v
}

/// The expected multicast answer, written out from RFC 1035 §4.1.3 / RFC 6762 §18: id 0,
/// QR|AA, one answer of class IN with the cache-flush bit, TTL 120.
fn expected_answer(name: &str, rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
    v.extend(labels(name));
    v.extend(rtype.to_be_bytes());
    v.extend([0x80, 0x01, 0, 0, 0, 120]);
    v.extend((rdata.len() as u16).to_be_bytes());
    v.extend(rdata);
    v
}

#[test]
fn responder_answers_a_query_for_its_name_with_an_a_record() {
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let mut r = responder_with(NAME, ip);
    // Case-insensitive match (RFC 6762 §16).
    let q = query_of(&NAME.to_uppercase(), TYPE_A, 1);
    assert_eq!(r.handle_datagram(t0(), MDNS_FROM.parse().unwrap(), &q), 1);
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.unicast, None);
    assert_eq!(t.data, expected_answer(NAME, TYPE_A, &[192, 0, 2, 7]));
    assert!(r.poll_transmit().is_none());
    // Our own querier takes the answer.
    let mut querier = MdnsQuerier::new(MdnsQuerierConfig::default());
    querier.query(NAME, t0()).unwrap();
    assert_eq!(querier.handle_datagram(t0(), &t.data), 1);
    assert_eq!(
        querier.poll_event(),
        Some(MdnsEvent::Resolved {
            name: NAME.into(),
            ip
        })
    );
}

#[test]
fn responder_answers_aaaa_and_any_for_an_ipv6_name_and_not_a() {
    let ip6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5);
    let mut r = responder_with(NAME, IpAddr::V6(ip6));
    let from = MDNS_FROM.parse().unwrap();
    assert_eq!(r.handle_datagram(t0(), from, &query_of(NAME, TYPE_A, 1)), 0);
    assert_eq!(
        r.handle_datagram(t0(), from, &query_of(NAME, TYPE_AAAA, 1)),
        1
    );
    assert_eq!(
        r.poll_transmit().unwrap().data,
        expected_answer(NAME, TYPE_AAAA, &ip6.octets())
    );
    // QTYPE ANY (255), QCLASS ANY (255) with the QU bit.
    assert_eq!(
        r.handle_datagram(t0(), from, &query_of(NAME, 255, 0x80ff)),
        1
    );
    assert!(r.poll_transmit().is_some());
}

#[test]
fn responder_ignores_other_names_responses_classes_and_types() {
    let mut r = responder_with(NAME, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let from = MDNS_FROM.parse().unwrap();
    let other = "2f0c6a2b-1111-4222-8333-123456789abc.local";
    assert_eq!(r.handle_datagram(t0(), from, &query_of(other, TYPE_A, 1)), 0);
    // Class CH (3), type TXT (16).
    assert_eq!(r.handle_datagram(t0(), from, &query_of(NAME, TYPE_A, 3)), 0);
    assert_eq!(r.handle_datagram(t0(), from, &query_of(NAME, 16, 1)), 0);
    // A response naming our name (QR set) is not a query.
    let resp = chromium_style_response(NAME, [10, 0, 0, 1]);
    assert_eq!(r.handle_datagram(t0(), from, &resp), 0);
    // Non-zero OPCODE (RFC 6762 §18.3).
    let mut q = query_of(NAME, TYPE_A, 1);
    q[2] = 0x10;
    assert_eq!(r.handle_datagram(t0(), from, &q), 0);
    // Garbage.
    assert_eq!(r.handle_datagram(t0(), from, &[0xff; 40]), 0);
    assert!(r.poll_transmit().is_none());
}

#[test]
fn responder_answers_one_record_per_name_whatever_the_repeats() {
    let mut r = responder_with(NAME, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let mut q = vec![0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0];
    for _ in 0..3 {
        q.extend(labels(NAME));
        q.extend([0, 1, 0, 1]);
    }
    assert_eq!(r.handle_datagram(t0(), MDNS_FROM.parse().unwrap(), &q), 1);
    let m = r.poll_transmit().unwrap();
    assert_eq!(Message::parse(&m.data).unwrap().header().ancount, 1);
}

#[test]
fn legacy_unicast_queries_get_a_unicast_answer_with_the_question_and_a_short_ttl() {
    let mut r = responder_with(NAME, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let from: std::net::SocketAddr = "192.0.2.9:40000".parse().unwrap();
    let mut q = query_of(NAME, TYPE_A, 1);
    q[0..2].copy_from_slice(&[0x12, 0x34]);
    assert_eq!(r.handle_datagram(t0(), from, &q), 1);
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.unicast, Some(from));
    let m = Message::parse(&t.data).unwrap();
    assert_eq!((m.header().id, m.header().qdcount), (0x1234, 1));
    let rec = m.records().next().unwrap();
    assert_eq!(rec.ttl, 10);
    assert_eq!(m.questions().next().unwrap().name.to_string(), NAME);
}

#[test]
fn responder_caps_questions_per_packet_and_answers_per_second() {
    let config = MdnsResponderConfig {
        max_questions: 2,
        max_answers_per_second: 3,
        ..Default::default()
    };
    let mut r = MdnsResponder::new(config);
    let names: Vec<String> = (0..4)
        .map(|i| format!("{i}f0c6a2b-1111-4222-8333-123456789abc.local"))
        .collect();
    for (i, n) in names.iter().enumerate() {
        r.register(n, IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8)))
            .unwrap();
    }
    let from = MDNS_FROM.parse().unwrap();
    // Four questions, only the first two are looked at.
    let mut q = vec![0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0];
    for n in &names {
        q.extend(labels(n));
        q.extend([0, 1, 0, 1]);
    }
    assert_eq!(r.handle_datagram(t0(), from, &q), 2);
    // One left in this second: a flood gets one more answer, then nothing.
    let one = query_of(&names[0], TYPE_A, 1);
    let mut sent = 0;
    for i in 0..1000 {
        sent += r.handle_datagram(t0() + Duration::from_micros(i), from, &one);
    }
    assert_eq!(sent, 1);
    assert_eq!(r.dropped(), 999);
    // The queue is bounded too, whatever the driver does.
    let mut queued = 0;
    while r.poll_transmit().is_some() {
        queued += 1;
    }
    assert_eq!(queued, 2);
    // The next second has a new budget.
    assert_eq!(
        r.handle_datagram(t0() + Duration::from_secs(1), from, &one),
        1
    );
}

#[test]
fn registration_is_bounded_local_only_and_goodbyes_carry_ttl_zero() {
    let mut r = MdnsResponder::new(MdnsResponderConfig {
        max_names: 2,
        ..Default::default()
    });
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(r.register("host.example", ip), Err(RegisterError::NotLocal));
    assert_eq!(r.register("local", ip), Err(RegisterError::NotLocal));
    r.register("a.local", ip).unwrap();
    r.register("b.local", ip).unwrap();
    r.register("A.local", ip).unwrap();
    assert_eq!(r.register("c.local", ip), Err(RegisterError::TooManyNames));
    assert_eq!(r.len(), 2);
    r.unregister_all();
    assert!(r.is_empty());
    let t = r.poll_transmit().unwrap();
    let m = Message::parse(&t.data).unwrap();
    let recs: Vec<_> = m.records().collect();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.ttl == 0 && r.address() == Some(ip)));
    // A querier that cached the name drops it at the goodbye (RFC 6762 §10.1).
    let mut q = MdnsQuerier::new(MdnsQuerierConfig::default());
    q.query("a.local", t0()).unwrap();
    let mut again = MdnsResponder::new(MdnsResponderConfig::default());
    again.register("a.local", ip).unwrap();
    again.handle_datagram(t0(), MDNS_FROM.parse().unwrap(), &query_of("a.local", 1, 1));
    q.handle_datagram(t0(), &again.poll_transmit().unwrap().data);
    assert_eq!(q.cached("a.local", t0()), Some(ip));
    q.handle_datagram(t0(), &t.data);
    assert_eq!(q.cached("a.local", t0()), None);
    // Nothing registered: nothing answered.
    assert_eq!(
        r.handle_datagram(t0(), MDNS_FROM.parse().unwrap(), &query_of("a.local", 1, 1)),
        0
    );
}

#[test]
fn responder_never_panics_on_mutated_queries() {
    let mut rng = crate::util::SeededRandom::new(77);
    let mut r = responder_with(NAME, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    let base = query_of(NAME, TYPE_A, 1);
    let from = MDNS_FROM.parse().unwrap();
    for i in 0..20_000u64 {
        let mut m = base.clone();
        let flips = 1 + (crate::util::RandomSource::next_u32(&mut rng) % 4) as usize;
        for _ in 0..flips {
            let at = crate::util::RandomSource::next_u32(&mut rng) as usize % m.len();
            m[at] = crate::util::RandomSource::next_u32(&mut rng) as u8;
        }
        let cut = crate::util::RandomSource::next_u32(&mut rng) as usize % (m.len() + 1);
        let n = r.handle_datagram(t0() + Duration::from_secs(i), from, &m[..cut]);
        assert!(n <= 1);
        while let Some(t) = r.poll_transmit() {
            assert!(Message::parse(&t.data).is_ok());
        }
    }
}

// ------------------------------------------------------------------ hiding

fn candidate(text: &str) -> crate::sdp::Candidate {
    crate::sdp::Candidate::parse(text).unwrap()
}

#[test]
fn random_names_are_uuid_v4_under_local() {
    let mut rng = crate::util::SeededRandom::new(5);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let n = random_local_name(&mut rng);
        let uuid = n.strip_suffix(".local").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(
            uuid.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        // Version 4, variant 10 (RFC 9562 §4.1–4.2).
        assert!(groups[2].starts_with('4'), "{n}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{n}");
        assert!(seen.insert(n));
    }
}

#[test]
fn host_candidates_get_one_name_per_address_and_related_addresses_are_zeroed() {
    let mut rng = crate::util::SeededRandom::new(6);
    let mut h = HostNames::new();
    let host = candidate("1 1 udp 2122260223 192.168.1.5 50000 typ host generation 0 ufrag u");
    let host2 = candidate("2 1 udp 2122260222 192.168.1.5 50001 typ host ufrag u");
    let host6 = candidate("3 1 udp 2122262783 2001:db8::5 50002 typ host ufrag u");
    let a = h.hide(&host, &mut rng).unwrap();
    let b = h.hide(&host2, &mut rng).unwrap();
    let c = h.hide(&host6, &mut rng).unwrap();
    assert!(a.address.ends_with(".local"));
    assert_eq!(a.address, b.address, "one name per address");
    assert_ne!(a.address, c.address);
    assert_eq!((a.port, &a.typ, &a.extensions), (50000, &host.typ, &host.extensions));
    assert_eq!(h.name_of("192.168.1.5".parse().unwrap()), Some(a.address.as_str()));
    // Each name is handed to the driver once.
    let published: Vec<_> = std::iter::from_fn(|| h.poll_unpublished()).collect();
    assert_eq!(
        published,
        [
            (a.address.clone(), "192.168.1.5".parse().unwrap()),
            (c.address.clone(), "2001:db8::5".parse().unwrap())
        ]
    );
    // The read-only view gives the same.
    assert_eq!(h.hidden(&host), Some(a.clone()));
    assert_eq!(
        h.hidden(&candidate("9 1 udp 1 10.9.9.9 1 typ host")),
        None
    );
    let srflx = candidate(
        "4 1 udp 1686052607 203.0.113.4 61000 typ srflx raddr 192.168.1.5 rport 50000",
    );
    let s = h.hide(&srflx, &mut rng).unwrap();
    assert_eq!(s.to_string(), "4 1 udp 1686052607 203.0.113.4 61000 typ srflx raddr 0.0.0.0 rport 0");
    let relay6 = candidate("5 1 udp 41885439 2001:db8::9 3478 typ relay raddr 2001:db8::5 rport 50002");
    let r = h.hide(&relay6, &mut rng).unwrap();
    assert_eq!((r.related_address.as_deref(), r.related_port), (Some("::"), Some(0)));
    assert_eq!(r.address, "2001:db8::9");
    // Already a name: kept.
    let named = candidate("6 1 udp 1 abc.local 5 typ host");
    assert_eq!(h.hide(&named, &mut rng), Some(named));
}

#[test]
fn names_are_bounded_per_connection() {
    let mut rng = crate::util::SeededRandom::new(7);
    let mut h = HostNames::new();
    for i in 0..MAX_HIDDEN_ADDRESSES {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 1, i as u8));
        assert!(h.name_for(ip, &mut rng).is_some());
    }
    let more = IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1));
    assert_eq!(h.name_for(more, &mut rng), None);
    let c = candidate("1 1 udp 1 10.0.2.1 5 typ host");
    assert_eq!(h.hide(&c, &mut rng), None, "never signalled with its address");
}
