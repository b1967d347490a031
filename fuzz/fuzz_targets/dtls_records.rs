//! DTLS transport (rtcpeer::dtls over dimpl): arbitrary datagrams, before and after start, with
//! time advancing, never panic, hang or grow without bound; and since the input cannot hold a
//! signature from the expected peer's key, it never yields `connected` or application data.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use rtcpeer::cert::{Certificate, KeyParams};
use rtcpeer::dtls::{
    DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole, DtlsSettings, DtlsTransportState,
    RemoteFingerprints,
};

struct Fixture {
    config: DtlsConfig,
    ours: Certificate,
    expected_peer: RemoteFingerprints,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = SystemTime::now();
        let peer = Certificate::generate(KeyParams::EcdsaP256, now).unwrap();
        Fixture {
            config: DtlsConfig::new(&DtlsSettings {
                rng_seed: Some(7),
                ..DtlsSettings::default()
            })
            .unwrap(),
            ours: Certificate::generate(KeyParams::EcdsaP256, now).unwrap(),
            expected_peer: RemoteFingerprints::new(&peer.get_fingerprints()).unwrap(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut now = Instant::now();
    let mut client = DtlsConnection::new(f.ours.clone(), &f.config).unwrap();
    let mut server = DtlsConnection::new(f.ours.clone(), &f.config).unwrap();
    client
        .start(now, DtlsRole::Client, f.expected_peer.clone())
        .unwrap();
    // Input: chunks of [u16 length][bytes]; an empty chunk advances time by 600 ms. The server
    // starts after the first datagram, so that one goes through the pre-start buffer.
    let mut rest = data;
    let mut datagrams = 0;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])) % 2048;
        let (d, r) = tail.split_at(len.min(tail.len()));
        rest = r;
        if d.is_empty() {
            now += Duration::from_millis(600);
            client.handle_timeout(now);
            server.handle_timeout(now);
        } else {
            if datagrams == 1 {
                server
                    .start(now, DtlsRole::Server, f.expected_peer.clone())
                    .unwrap();
            }
            client.handle_record(now, d);
            server.handle_record(now, d);
            datagrams += 1;
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
});
