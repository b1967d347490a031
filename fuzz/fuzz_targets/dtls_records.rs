//! DTLS transport (rtcpeer_proto::dtls over dimpl): arbitrary datagrams, before and after start, with
//! time advancing, never panic, hang or grow without bound.
//!
//! Two modes, chosen by the first byte (`% 4 == 3`: pair mode, which consumes it):
//! - lone endpoints: the input is all the peer there is; since it cannot hold a signature from
//!   the expected peer's key, it never yields `connected` or application data;
//! - a real handshake between two endpoints with the input injected as spoofed datagrams
//!   from the peer's address before each real datagram (issue 12 hole 4: the screening of
//!   plaintext alerts and junk, engine errors held back for the grace time, the server that
//!   starts over): whenever both end up connected they agree on keys and certificates, and no
//!   application data is invented.
//!
//! Input: chunks of `[u16 length][bytes]`. An empty chunk advances time by 600 ms. A chunk
//! whose first byte has its top bit set is made into a well-formed DTLS 1.2 record header
//! (content type 20..=24 and epoch 0..=2 from its next bytes, the rest as body), so that it
//! passes the header checks and reaches the alert and engine paths; other chunks are sent as
//! they are.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::dtls::{DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole, RemoteFingerprints};
use rtcpeer::{Certificate, DtlsSettings, DtlsTransportState, KeyParams};

struct Fixture {
    config: DtlsConfig,
    ours: Certificate,
    peer: Certificate,
    expected_peer: RemoteFingerprints,
    expected_ours: RemoteFingerprints,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = SystemTime::now();
        let peer = Certificate::generate(KeyParams::EcdsaP256, now).unwrap();
        let ours = Certificate::generate(KeyParams::EcdsaP256, now).unwrap();
        Fixture {
            config: DtlsConfig::new(&DtlsSettings {
                rng_seed: Some(7),
                ..DtlsSettings::default()
            })
            .unwrap(),
            expected_peer: RemoteFingerprints::new(&peer.get_fingerprints()).unwrap(),
            expected_ours: RemoteFingerprints::new(&ours.get_fingerprints()).unwrap(),
            ours,
            peer,
        }
    })
}

/// One input chunk as a datagram (see the module documentation); `None` advances time.
fn datagram(chunk: &[u8]) -> Option<Vec<u8>> {
    let (&first, rest) = chunk.split_first()?;
    if first & 0x80 == 0 {
        return Some(chunk.to_vec());
    }
    let (ty, epoch, seq, body) = match rest {
        [t, e, s, body @ ..] => (20 + t % 5, u16::from(e % 3), *s, body),
        _ => (21, 0, 0, rest),
    };
    let body = &body[..body.len().min(4096)];
    let mut r = vec![ty, 0xfe, 0xfd];
    r.extend_from_slice(&epoch.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0, 0, seq]);
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    Some(r)
}

/// Splits the input into chunks (`[u16 length][bytes]`, lengths below 2048).
fn chunks(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let [hi, lo, tail @ ..] = rest else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])) % 2048;
        let (d, r) = tail.split_at(len.min(tail.len()));
        rest = r;
        Some(d)
    })
}

fn lone_endpoints(f: &Fixture, data: &[u8]) {
    let mut now = Instant::now();
    let mut client = DtlsConnection::new(f.ours.clone(), &f.config).unwrap();
    let mut server = DtlsConnection::new(f.ours.clone(), &f.config).unwrap();
    client
        .start(now, DtlsRole::Client, f.expected_peer.clone())
        .unwrap();
    // The server starts after the first datagram, so that one goes through the pre-start
    // buffer.
    let mut datagrams = 0;
    for chunk in chunks(data) {
        match datagram(chunk) {
            None => {
                now += Duration::from_millis(600);
                client.handle_timeout(now);
                server.handle_timeout(now);
            }
            Some(d) => {
                if datagrams == 1 {
                    server
                        .start(now, DtlsRole::Server, f.expected_peer.clone())
                        .unwrap();
                }
                client.handle_record(now, &d);
                server.handle_record(now, &d);
                datagrams += 1;
            }
        }
        while client.poll_transmit().is_some() {}
        while server.poll_transmit().is_some() {}
    }
    for c in [&mut client, &mut server] {
        while let Some(e) = c.poll_event() {
            assert!(
                !matches!(e, DtlsEvent::Connected(_) | DtlsEvent::ApplicationData(_)),
                "{e:?}"
            );
        }
        assert_ne!(c.state(), DtlsTransportState::Connected);
        assert!(c.remote_certificate().is_none());
    }
}

fn real_handshake(f: &Fixture, data: &[u8]) {
    let mut now = Instant::now();
    // a (client, our certificate) and b (server, the peer's).
    let mut a = DtlsConnection::new(f.ours.clone(), &f.config).unwrap();
    let mut b = DtlsConnection::new(f.peer.clone(), &f.config).unwrap();
    let mut input = chunks(data);
    // Some spoofed datagrams reach the server before it starts.
    for chunk in input.by_ref().take(2) {
        if let Some(d) = datagram(chunk) {
            b.handle_record(now, &d);
        }
    }
    b.start(now, DtlsRole::Server, f.expected_ours.clone())
        .unwrap();
    a.start(now, DtlsRole::Client, f.expected_peer.clone())
        .unwrap();
    let mut events = Vec::new();
    for _round in 0..200 {
        let mut moved = false;
        for to_b in [true, false] {
            let (from, to) = if to_b { (&mut a, &mut b) } else { (&mut b, &mut a) };
            while let Some(real) = from.poll_transmit() {
                moved = true;
                match input.next().map(datagram) {
                    Some(Some(spoofed)) => to.handle_record(now, &spoofed),
                    Some(None) => {
                        // The real datagram is lost.
                        continue;
                    }
                    None => {}
                }
                to.handle_record(now, &real);
            }
        }
        while let Some(e) = a.poll_event() {
            events.push(e);
        }
        while let Some(e) = b.poll_event() {
            events.push(e);
        }
        if moved {
            continue;
        }
        let both = [a.state(), b.state()];
        if !both.contains(&DtlsTransportState::Connecting) {
            break;
        }
        let Some(t) = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        now = now.max(t);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, DtlsEvent::ApplicationData(_))),
        "nothing was sent"
    );
    if a.state() == DtlsTransportState::Connected && b.state() == DtlsTransportState::Connected {
        assert_eq!(a.srtp_keying_material(), b.srtp_keying_material());
        assert_eq!(a.remote_certificate(), Some(f.peer.der()));
        assert_eq!(b.remote_certificate(), Some(f.ours.der()));
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    match data.split_first() {
        Some((mode, rest)) if mode % 4 == 3 => real_handshake(f, rest),
        _ => lone_endpoints(f, data),
    }
});
