//! Tests of the TURN client against a scripted server (RFC 8656, RFC 8489 §9.2).

use super::*;
use crate::stun::{AttrType, MessageWriter, long_term_key, write_channel_data};
use crate::util::SeededRandom;

const USER: &str = "test";
const PASS: &str = "secret";
const REALM: &str = "rtcpeer.test";

fn server() -> SocketAddr {
    "192.0.2.1:3478".parse().unwrap()
}
fn relayed() -> SocketAddr {
    "192.0.2.1:50000".parse().unwrap()
}
fn mapped() -> SocketAddr {
    "198.51.100.7:40000".parse().unwrap()
}
fn peer() -> SocketAddr {
    "203.0.113.9:5000".parse().unwrap()
}
fn key() -> [u8; 16] {
    long_term_key(USER, REALM, PASS)
}

fn client() -> TurnClient {
    TurnClient::new(
        server(),
        USER,
        PASS,
        TurnConfig::default(),
        Box::new(SeededRandom::new(1)),
    )
}

fn sent(c: &mut TurnClient) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn one(c: &mut TurnClient) -> Vec<u8> {
    let mut v = sent(c);
    assert_eq!(v.len(), 1, "expected one datagram");
    v.remove(0)
}

fn events(c: &mut TurnClient) -> Vec<TurnEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// An error response to `req` with `code`, and REALM/NONCE when given.
fn error(req: &[u8], code: u16, reason: &str, nonce: Option<&str>) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut b = Vec::new();
    let mut w = MessageWriter::new(&mut b, Class::ErrorResponse, m.method(), m.transaction_id());
    w.error_code(code, reason).unwrap();
    if let Some(n) = nonce {
        w.realm(REALM).unwrap();
        w.nonce(n).unwrap();
    }
    b
}

/// A success response to `req`, filled by `f`, with MESSAGE-INTEGRITY when `key` is given.
fn success(
    req: &[u8],
    key: Option<&[u8]>,
    f: impl FnOnce(&mut MessageWriter<'_>),
) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut b = Vec::new();
    let mut w = MessageWriter::new(&mut b, Class::SuccessResponse, m.method(), m.transaction_id());
    f(&mut w);
    if let Some(k) = key {
        w.message_integrity(k).unwrap();
    }
    w.fingerprint().unwrap();
    b
}

fn allocate_ok(req: &[u8], lifetime: u32) -> Vec<u8> {
    success(req, Some(&key()), |w| {
        w.xor_relayed_address(relayed()).unwrap();
        w.xor_mapped_address(mapped()).unwrap();
        w.lifetime(lifetime).unwrap();
    })
}

/// Runs the 401 round trip and the allocation; returns the client at `t0`, allocated.
fn allocated(t0: Instant, lifetime: u32) -> TurnClient {
    let mut c = client();
    c.allocate(t0);
    let req = one(&mut c);
    assert_eq!(c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n1"))), TurnInput::Consumed);
    let req = one(&mut c);
    c.handle_input(t0, &allocate_ok(&req, lifetime));
    assert_eq!(c.relayed_address(), Some(relayed()));
    events(&mut c);
    c
}

#[test]
fn allocate_retries_with_long_term_credentials_after_401() {
    let t0 = Instant::now();
    let mut c = client();
    assert_eq!(c.state(), &TurnState::Idle);
    c.allocate(t0);
    assert_eq!(c.state(), &TurnState::Allocating);
    let first = one(&mut c);
    let m = Message::parse(&first).unwrap();
    assert_eq!((m.class(), m.method()), (Class::Request, Method::ALLOCATE));
    // RFC 8656 §6.1: REQUESTED-TRANSPORT UDP; the first request carries no credentials.
    assert_eq!(m.requested_transport(), Ok(Some(TRANSPORT_UDP)));
    assert!(!m.has_message_integrity());
    assert_eq!(m.username(), Ok(None));

    c.handle_input(t0, &error(&first, 401, "Unauthorized", Some("nonce-1")));
    let second = one(&mut c);
    let m = Message::parse(&second).unwrap();
    assert_ne!(m.transaction_id(), Message::parse(&first).unwrap().transaction_id());
    assert_eq!(m.username(), Ok(Some(USER)));
    assert_eq!(m.realm(), Ok(Some(REALM)));
    assert_eq!(m.nonce(), Ok(Some("nonce-1")));
    assert_eq!(m.requested_transport(), Ok(Some(TRANSPORT_UDP)));
    // RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password).
    assert!(m.verify_message_integrity(&key()));
    assert!(m.verify_fingerprint());

    c.handle_input(t0, &allocate_ok(&second, 600));
    assert_eq!(
        c.state(),
        &TurnState::Allocated {
            relayed: relayed(),
            mapped: Some(mapped())
        }
    );
    assert_eq!(
        events(&mut c),
        vec![TurnEvent::Allocated {
            relayed: relayed(),
            mapped: Some(mapped()),
            lifetime: Duration::from_secs(600)
        }]
    );
    // Nothing more to send until the refresh.
    assert!(sent(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(540)));
}

#[test]
fn long_term_key_is_md5_of_user_realm_password() {
    // RFC 8489 §9.2.2: MD5("test:rtcpeer.test:secret"), computed independently with
    // python3 hashlib.
    let hex: String = key().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "7f9ed394380a987933fc39729812cd66");
}

#[test]
fn success_without_valid_integrity_is_dropped() {
    let t0 = Instant::now();
    let mut c = client();
    c.allocate(t0);
    let req = one(&mut c);
    c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n")));
    let req = one(&mut c);
    // No MESSAGE-INTEGRITY, then a wrong key: both dropped (RFC 8489 §9.2.5).
    let bare = success(&req, None, |w| {
        w.xor_relayed_address(relayed()).unwrap();
    });
    c.handle_input(t0, &bare);
    let wrong = success(&req, Some(b"0123456789abcdef"), |w| {
        w.xor_relayed_address(relayed()).unwrap();
    });
    c.handle_input(t0, &wrong);
    assert_eq!(c.state(), &TurnState::Allocating);
    assert_eq!(c.dropped(), 2);
    // A response with an unknown transaction id is not ours: left to the caller (it may
    // answer a Binding request sent to the same server, RFC 8489 §8).
    let mut other = req.clone();
    other[8] ^= 0xFF;
    assert_eq!(
        c.handle_input(t0, &allocate_ok(&other, 600)),
        TurnInput::NotOurs
    );
    let mut binding = Vec::new();
    let mut w = MessageWriter::new(
        &mut binding,
        Class::SuccessResponse,
        Method::BINDING,
        TransactionId([9; 12]),
    );
    w.xor_mapped_address(mapped()).unwrap();
    assert_eq!(c.handle_input(t0, &binding), TurnInput::NotOurs);
    assert_eq!(c.dropped(), 2);
    assert_eq!(c.state(), &TurnState::Allocating);
    c.handle_input(t0, &allocate_ok(&req, 600));
    assert!(c.relayed_address().is_some());
}

#[test]
fn wrong_credentials_fail_with_401_after_one_retry() {
    let t0 = Instant::now();
    let mut c = client();
    c.allocate(t0);
    let req = one(&mut c);
    c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n")));
    let req = one(&mut c);
    c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n2")));
    assert!(sent(&mut c).is_empty());
    assert_eq!(c.state(), &TurnState::Failed(401));
    assert_eq!(
        events(&mut c),
        vec![TurnEvent::Failed {
            code: 401,
            text: "Unauthorized".into()
        }]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_401_without_realm_and_nonce_fails_at_once() {
    let t0 = Instant::now();
    let mut c = client();
    c.allocate(t0);
    let req = one(&mut c);
    c.handle_input(t0, &error(&req, 401, "Unauthorized", None));
    assert_eq!(c.state(), &TurnState::Failed(401));
}

#[test]
fn stale_nonce_is_retried_with_the_new_nonce_a_bounded_number_of_times() {
    let t0 = Instant::now();
    let mut c = client();
    c.allocate(t0);
    let req = one(&mut c);
    c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n0")));
    let mut req = one(&mut c);
    for i in 1..=MAX_STALE_NONCE_RETRIES {
        let nonce = format!("n{i}");
        c.handle_input(t0, &error(&req, 438, "Stale Nonce", Some(&nonce)));
        req = one(&mut c);
        let m = Message::parse(&req).unwrap();
        assert_eq!(m.nonce(), Ok(Some(nonce.as_str())));
        assert!(m.verify_message_integrity(&key()));
    }
    c.handle_input(t0, &error(&req, 438, "Stale Nonce", Some("again")));
    assert_eq!(c.state(), &TurnState::Failed(438));
}

#[test]
fn allocation_errors_are_reported_with_the_servers_code_and_text() {
    // RFC 8656 §6.4: 437, 441, 486, 508 (and anything else) end the attempt.
    for (code, text) in [
        (437, "Allocation Mismatch"),
        (441, "Wrong Credentials"),
        (486, "Allocation Quota Reached"),
        (508, "Insufficient Capacity"),
        (420, "Unknown Attribute"),
    ] {
        let t0 = Instant::now();
        let mut c = client();
        c.allocate(t0);
        let req = one(&mut c);
        c.handle_input(t0, &error(&req, 401, "Unauthorized", Some("n")));
        let req = one(&mut c);
        c.handle_input(t0, &error(&req, code, text, None));
        assert_eq!(c.state(), &TurnState::Failed(code));
        assert_eq!(
            events(&mut c),
            vec![TurnEvent::Failed {
                code,
                text: text.into()
            }]
        );
        assert!(c.create_permission(t0, peer().ip()).is_err());
    }
}

#[test]
fn unanswered_allocate_follows_the_rfc_8489_schedule_and_fails_with_701() {
    // RFC 8489 §6.2.1: RTO 500 ms, Rc 7, Rm 16: sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s,
    // failure at 39.5 s.
    let t0 = Instant::now();
    let mut c = client();
    c.allocate(t0);
    let first = one(&mut c);
    let mut times = vec![0u64];
    let mut now = t0;
    loop {
        let t = c.poll_timeout().expect("a timer while allocating");
        assert!(t > now);
        now = t;
        c.handle_timeout(now);
        let out = sent(&mut c);
        if out.is_empty() {
            break;
        }
        assert_eq!(out, vec![first.clone()], "a retransmission is the same bytes");
        times.push((now - t0).as_millis() as u64);
    }
    assert_eq!(times, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(now - t0, Duration::from_millis(39500));
    assert_eq!(c.state(), &TurnState::Failed(CODE_UNREACHABLE));
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::Failed { code: 701, .. }]
    ));
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn refresh_leaves_a_minute_before_expiry_and_reschedules() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    let t1 = t0 + Duration::from_secs(540);
    c.handle_timeout(t1 - Duration::from_millis(1));
    assert!(sent(&mut c).is_empty());
    c.handle_timeout(t1);
    let req = one(&mut c);
    let m = Message::parse(&req).unwrap();
    assert_eq!(m.method(), Method::REFRESH);
    assert_eq!(m.lifetime(), Ok(None), "no LIFETIME: the server's default");
    assert!(m.verify_message_integrity(&key()));
    c.handle_input(
        t1,
        &success(&req, Some(&key()), |w| {
            w.lifetime(300).unwrap();
        }),
    );
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(240)));
    assert!(events(&mut c).is_empty());
}

#[test]
fn short_lifetimes_are_refreshed_at_half_time() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 30);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(15)));
    // Keep the allocation alive over several refreshes.
    let mut now = t0;
    for _ in 0..5 {
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        let req = one(&mut c);
        c.handle_input(
            now,
            &success(&req, Some(&key()), |w| {
                w.lifetime(30).unwrap();
            }),
        );
    }
    assert_eq!(now - t0, Duration::from_secs(75));
    assert!(c.relayed_address().is_some());
}

#[test]
fn refresh_438_retries_and_437_loses_the_allocation() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    let t1 = t0 + Duration::from_secs(540);
    c.handle_timeout(t1);
    let req = one(&mut c);
    c.handle_input(t1, &error(&req, 438, "Stale Nonce", Some("fresh")));
    let req = one(&mut c);
    assert_eq!(Message::parse(&req).unwrap().nonce(), Ok(Some("fresh")));
    c.handle_input(t1, &error(&req, 437, "Allocation Mismatch", None));
    assert_eq!(c.state(), &TurnState::Failed(437));
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::Failed { code: 437, .. }]
    ));
}

#[test]
fn permissions_are_created_refreshed_and_gate_data_indications() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    assert_eq!(
        c.create_permission(t0, "2001:db8::1".parse().unwrap()),
        Err(TurnError::WrongFamily)
    );
    c.create_permission(t0, peer().ip()).unwrap();
    c.create_permission(t0, peer().ip()).unwrap();
    let req = one(&mut c);
    let m = Message::parse(&req).unwrap();
    assert_eq!(m.method(), Method::CREATE_PERMISSION);
    assert_eq!(
        m.xor_peer_address(),
        Ok(Some(SocketAddr::new(peer().ip(), 0)))
    );
    assert!(m.verify_message_integrity(&key()));
    assert!(!c.has_permission(peer().ip()));
    c.handle_input(t0, &success(&req, Some(&key()), |_| {}));
    assert!(c.has_permission(peer().ip()));

    // Data indications from the peer (any port) are delivered; from others, dropped.
    let data_ind = |from: SocketAddr, payload: &[u8]| {
        let mut b = Vec::new();
        let mut w =
            MessageWriter::new(&mut b, Class::Indication, Method::DATA, TransactionId([7; 12]));
        w.xor_peer_address(from).unwrap();
        w.data(payload).unwrap();
        b
    };
    let d = data_ind(peer(), b"hello");
    assert_eq!(
        c.handle_input(t0, &d),
        TurnInput::Data {
            peer: peer(),
            data: b"hello"
        }
    );
    let stranger: SocketAddr = "203.0.113.10:5000".parse().unwrap();
    assert_eq!(
        c.handle_input(t0, &data_ind(stranger, b"x")),
        TurnInput::Dropped
    );

    // Refreshed every 4 minutes (RFC 8656 §9: permissions last 5).
    let next = c.poll_timeout().unwrap();
    assert_eq!(next, t0 + PERMISSION_REFRESH);
    c.handle_timeout(next);
    let req = one(&mut c);
    assert_eq!(Message::parse(&req).unwrap().method(), Method::CREATE_PERMISSION);
    // A failure drops it and is reported.
    c.handle_input(next, &error(&req, 403, "Forbidden", None));
    assert!(!c.has_permission(peer().ip()));
    assert_eq!(
        events(&mut c),
        vec![TurnEvent::PermissionFailed {
            peer: peer().ip(),
            code: 403,
            text: "Forbidden".into()
        }]
    );
}

#[test]
fn send_indications_carry_the_payload_until_a_channel_is_bound() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    for payload_len in [0usize, 1, 2, 3, 4, 5, 1200] {
        let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
        let mut buf = b"earlier datagram".to_vec();
        let start = buf.len();
        buf.extend_from_slice(&payload);
        let hdr = c.header_len(peer());
        c.wrap(peer(), &mut buf, start).unwrap();
        assert_eq!(&buf[..start], b"earlier datagram");
        let ind = &buf[start..];
        assert_eq!(ind.len(), hdr + payload_len.div_ceil(4) * 4);
        let m = Message::parse(ind).unwrap();
        assert_eq!((m.class(), m.method()), (Class::Indication, Method::SEND));
        assert_eq!(m.xor_peer_address(), Ok(Some(peer())));
        assert_eq!(m.data(), Some(&payload[..]));
    }
    // IPv6 peers on an IPv4 relay are refused (RFC 8656 §9.1).
    let v6: SocketAddr = "[2001:db8::1]:9".parse().unwrap();
    let mut buf = vec![1, 2, 3];
    assert_eq!(c.wrap(v6, &mut buf, 0), Err(TurnError::WrongFamily));
    assert_eq!(buf, vec![1, 2, 3]);
}

#[test]
fn channel_bind_switches_to_channel_data_both_ways_and_is_refreshed() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    let number = c.bind_channel(t0, peer()).unwrap();
    assert_eq!(number, FIRST_CHANNEL);
    assert_eq!(c.bind_channel(t0, peer()), Ok(number));
    let out = sent(&mut c);
    assert_eq!(out.len(), 2, "CreatePermission and ChannelBind");
    let perm = &out[0];
    let bind = &out[1];
    let m = Message::parse(bind).unwrap();
    assert_eq!(m.method(), Method::CHANNEL_BIND);
    assert_eq!(m.channel_number(), Ok(Some(number)));
    assert_eq!(m.xor_peer_address(), Ok(Some(peer())));
    assert!(m.verify_message_integrity(&key()));
    // Before the answer: Send indications.
    assert_eq!(c.channel(peer()), None);
    c.handle_input(t0, &success(perm, Some(&key()), |_| {}));
    c.handle_input(t0, &success(bind, Some(&key()), |_| {}));
    assert_eq!(c.channel(peer()), Some(number));
    assert_eq!(c.header_len(peer()), 4);

    // ChannelData over UDP is not padded; over a stream it is (RFC 8656 §12.5).
    let mut buf = vec![9, 9, 1, 2, 3, 4, 5];
    c.wrap(peer(), &mut buf, 2).unwrap();
    assert_eq!(buf, vec![9, 9, 0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]);
    c.set_stream_framing(true);
    let mut buf = vec![1, 2, 3, 4, 5];
    c.wrap(peer(), &mut buf, 0).unwrap();
    assert_eq!(buf, vec![0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
    c.set_stream_framing(false);

    // Incoming ChannelData, padded or not, is unwrapped to the peer's address.
    let mut cd = Vec::new();
    write_channel_data(&mut cd, number, b"abc", true).unwrap();
    assert_eq!(
        c.handle_input(t0, &cd),
        TurnInput::Data {
            peer: peer(),
            data: b"abc"
        }
    );
    write_channel_data(&mut cd, number + 1, b"abc", false).unwrap();
    assert_eq!(c.handle_input(t0, &cd), TurnInput::Dropped);
    assert_eq!(c.handle_input(t0, &[0x40, 0x00, 0x00, 0x09, 1]), TurnInput::Dropped);

    // Refreshed before the 10 minutes run out (RFC 8656 §12); the permission too.
    let mut due = Vec::new();
    let mut now = t0;
    while now < t0 + Duration::from_secs(600) {
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        for req in sent(&mut c) {
            let m = Message::parse(&req).unwrap();
            due.push(((now - t0).as_secs(), m.method()));
            let resp = if m.method() == Method::REFRESH {
                success(&req, Some(&key()), |w| {
                    w.lifetime(600).unwrap();
                })
            } else {
                success(&req, Some(&key()), |_| {})
            };
            c.handle_input(now, &resp);
        }
    }
    assert!(due.contains(&(240, Method::CREATE_PERMISSION)));
    assert!(due.contains(&(480, Method::CREATE_PERMISSION)));
    assert!(due.contains(&(540, Method::CHANNEL_BIND)));
    assert!(due.contains(&(540, Method::REFRESH)));
    assert_eq!(c.channel(peer()), Some(number));
}

#[test]
fn failed_channel_bind_keeps_send_indications() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    c.bind_channel(t0, peer()).unwrap();
    let out = sent(&mut c);
    c.handle_input(t0, &error(&out[1], 400, "Bad Request", None));
    assert_eq!(c.channel(peer()), None);
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::ChannelBindFailed { code: 400, .. }]
    ));
    // A later bind takes a new number (numbers are not reused).
    assert_eq!(c.bind_channel(t0, peer()), Ok(FIRST_CHANNEL + 1));
}

#[test]
fn permissions_and_channels_are_capped() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    for i in 0..MAX_PERMISSIONS {
        let ip = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
        c.create_permission(t0, ip).unwrap();
    }
    assert_eq!(
        c.create_permission(t0, IpAddr::from([10, 1, 0, 0])),
        Err(TurnError::Full)
    );
    // Channels to peers that already have a permission are still possible up to their cap.
    for i in 0..MAX_CHANNELS {
        let ip = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
        c.bind_channel(t0, SocketAddr::new(ip, 1000)).unwrap();
    }
    assert_eq!(
        c.bind_channel(t0, SocketAddr::new(IpAddr::from([10, 0, 0, 0]), 2000)),
        Err(TurnError::Full)
    );
    assert!(sent(&mut c).len() <= MAX_QUEUED_TRANSMITS);
}

#[test]
fn close_deallocates_with_lifetime_zero_once() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    c.create_permission(t0, peer().ip()).unwrap();
    sent(&mut c);
    c.close(t0);
    let req = one(&mut c);
    let m = Message::parse(&req).unwrap();
    assert_eq!(m.method(), Method::REFRESH);
    assert_eq!(m.lifetime(), Ok(Some(0)));
    assert!(m.verify_message_integrity(&key()));
    assert_eq!(c.state(), &TurnState::Closed);
    assert_eq!(c.poll_timeout(), None);
    // Closing before any allocation sends nothing.
    let mut c = client();
    c.allocate(t0);
    sent(&mut c);
    c.close(t0);
    assert!(sent(&mut c).is_empty());
    let mut b = Vec::new();
    write_channel_data(&mut b, FIRST_CHANNEL, b"x", false).unwrap();
    assert_eq!(c.handle_input(t0, &b), TurnInput::Dropped);
}

#[test]
fn data_indication_without_data_or_peer_is_dropped() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    c.create_permission(t0, peer().ip()).unwrap();
    let req = one(&mut c);
    c.handle_input(t0, &success(&req, Some(&key()), |_| {}));
    let mut b = Vec::new();
    let mut w = MessageWriter::new(&mut b, Class::Indication, Method::DATA, TransactionId([1; 12]));
    w.xor_peer_address(peer()).unwrap();
    assert_eq!(c.handle_input(t0, &b), TurnInput::Dropped);
    let mut w = MessageWriter::new(&mut b, Class::Indication, Method::DATA, TransactionId([1; 12]));
    w.attribute(AttrType::DATA, b"x").unwrap();
    assert_eq!(c.handle_input(t0, &b), TurnInput::Dropped);
}

#[test]
fn arbitrary_server_input_never_panics_and_never_grows_state() {
    // Property loop (seeded): random bytes and mutated valid answers at random times.
    let mut rng = SeededRandom::new(42);
    for round in 0..300 {
        let t0 = Instant::now();
        let mut c = allocated(t0, 1 + (round % 700));
        c.create_permission(t0, peer().ip()).unwrap();
        c.bind_channel(t0, peer()).unwrap();
        let reqs = sent(&mut c);
        let mut now = t0;
        for i in 0..40 {
            let mut d = match i % 3 {
                0 => {
                    let r = &reqs[rng.next_u32() as usize % reqs.len()];
                    success(r, Some(&key()), |w| {
                        w.lifetime(rng.next_u32() % 4000).unwrap();
                    })
                }
                1 => {
                    let r = &reqs[rng.next_u32() as usize % reqs.len()];
                    error(r, 300 + (rng.next_u32() % 300) as u16, "x", Some("n"))
                }
                _ => {
                    let mut b = vec![0u8; (rng.next_u32() % 80) as usize];
                    rng.fill(&mut b);
                    if let Some(f) = b.first_mut() {
                        *f = [0x00, 0x01, 0x40, 0x4F, 0x17][(rng.next_u32() % 5) as usize];
                    }
                    b
                }
            };
            if !d.is_empty() && rng.next_u32() % 2 == 0 {
                let k = rng.next_u32() as usize % d.len();
                d[k] ^= 1 << (rng.next_u32() % 8);
            }
            let _ = c.handle_input(now, &d);
            now += Duration::from_millis(u64::from(rng.next_u32() % 100_000));
            c.handle_timeout(now);
            for _ in sent(&mut c) {}
            assert!(c.permissions.len() <= MAX_PERMISSIONS);
            assert!(c.channels.len() <= MAX_CHANNELS);
            assert!(c.transactions.len() <= MAX_PERMISSIONS + MAX_CHANNELS + 2);
        }
    }
}

#[test]
fn channel_header_is_written_into_reserved_room_without_moving_the_payload() {
    let t0 = Instant::now();
    let mut c = allocated(t0, 600);
    let mut buf = vec![0xEE, 0, 0, 0, 0, 1, 2, 3];
    // No channel yet: refused, nothing changed.
    assert!(c.fill_channel_header(peer(), &mut buf, 1).is_err());
    assert_eq!(buf, vec![0xEE, 0, 0, 0, 0, 1, 2, 3]);
    c.bind_channel(t0, peer()).unwrap();
    for req in sent(&mut c) {
        c.handle_input(t0, &success(&req, Some(&key()), |_| {}));
    }
    let payload_ptr = buf[5..].as_ptr();
    c.fill_channel_header(peer(), &mut buf, 1).unwrap();
    assert_eq!(buf, vec![0xEE, 0x40, 0x00, 0x00, 0x03, 1, 2, 3]);
    assert_eq!(buf[5..].as_ptr(), payload_ptr, "the payload did not move");
    assert_eq!(
        ChannelData::parse(&buf[1..]).unwrap(),
        ChannelData {
            number: FIRST_CHANNEL,
            data: &[1, 2, 3]
        }
    );
    // On a stream the frame is padded to 4 bytes (RFC 8656 §12.5).
    c.set_stream_framing(true);
    let mut buf = vec![0, 0, 0, 0, 9];
    c.fill_channel_header(peer(), &mut buf, 0).unwrap();
    assert_eq!(buf, vec![0x40, 0x00, 0x00, 0x01, 9, 0, 0, 0]);
    // Room missing: refused.
    let mut short = vec![0, 0];
    assert!(c.fill_channel_header(peer(), &mut short, 0).is_err());
}
