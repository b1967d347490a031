//! DTLS under a hostile network, through the path the runtime drives: two sans-IO `Core`s
//! (offer/answer, ICE, DTLS, SCTP) on a simulated network and a virtual clock, with datagrams
//! spoofed from the peer's own address (issue 12, holes 4 and 6).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use rtcpeer_proto::cert::{Certificate, CertificateParams};
use rtcpeer_proto::config::Configuration;
use rtcpeer_proto::dtls::{DtlsSettings, DtlsTransportState, is_dtls};
use rtcpeer_proto::ice::IceAgentConfig;
use rtcpeer_proto::jsep::{
    Core, CoreSettings, DataChannelInit, Input, OfferOptions, Output, PeerConnectionState,
};
use rtcpeer_proto::util::SeededRandom;

fn core(seed: u64, dtls: DtlsSettings) -> Core {
    let cert = Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap();
    let settings = CoreSettings {
        dtls,
        ..CoreSettings::default()
    };
    let mut c = Core::new(
        Configuration::default(),
        settings,
        cert,
        Box::new(SeededRandom::new(seed)),
    );
    c.configure_ice(
        IceAgentConfig::default(),
        Box::new(SeededRandom::new(seed ^ 0xabcd)),
    );
    c
}

/// What the simulated network does with a datagram from `from` (0 = offerer) to the other
/// core: the datagrams to deliver instead, all from the sender's address.
type Net<'a> = dyn FnMut(usize, &[u8]) -> Vec<Vec<u8>> + 'a;

/// Negotiates a data channel between two cores, then runs the network (zero latency) and the
/// virtual clock until both are connected or `limit` passed; returns the time from the first
/// DTLS datagram to both connected, and the two cores.
fn connect(
    dtls: DtlsSettings,
    limit: Duration,
    net: &mut Net<'_>,
) -> (Option<Duration>, [Core; 2]) {
    let t0 = Instant::now();
    let mut a = core(1, dtls.clone());
    let mut b = core(2, dtls);
    let addr_a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
    let addr_b: SocketAddr = "10.0.0.2:2000".parse().unwrap();
    a.create_data_channel("x", &DataChannelInit::default(), true)
        .unwrap();
    let offer = a.create_offer(&OfferOptions::default()).unwrap();
    a.set_local_description(Some(offer)).unwrap();
    a.add_local_address(addr_a).unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .unwrap();
    b.set_local_description(None).unwrap();
    b.add_local_address(addr_b).unwrap();
    a.set_remote_description(b.local_description().unwrap())
        .unwrap();
    let mut cores = [a, b];
    let addrs = [addr_a, addr_b];
    let mut now = t0;
    let mut first_dtls = None;
    let mut buf = Vec::new();
    let mut timeouts = [None; 2];
    while now < t0 + limit {
        let mut moved = false;
        for i in 0..2 {
            cores[i].handle_input(now, Input::Timeout).unwrap();
            loop {
                buf.clear();
                let t = match cores[i].poll_output(&mut buf) {
                    Output::Transmit(t) => t,
                    Output::Event(_) => continue,
                    Output::Timeout(t) => {
                        timeouts[i] = t;
                        break;
                    }
                };
                moved = true;
                let j = 1 - i;
                assert_eq!(t.local, addrs[i]);
                if t.remote != addrs[j] {
                    continue;
                }
                if is_dtls(&buf) && first_dtls.is_none() {
                    first_dtls = Some(now);
                }
                for d in net(i, &buf) {
                    let datagram = Input::Datagram {
                        local: t.remote,
                        remote: t.local,
                        data: &d,
                    };
                    cores[j].handle_input(now, datagram).unwrap();
                }
            }
        }
        for c in cores.iter_mut() {
            while c.poll_event().is_some() {}
        }
        if cores
            .iter()
            .all(|c| c.connection_state() == PeerConnectionState::Connected)
        {
            return (first_dtls.map(|f| now - f), cores);
        }
        if moved {
            continue;
        }
        let next = timeouts
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_millis(10));
        now = next.max(now + Duration::from_millis(1));
    }
    (None, cores)
}

/// A plaintext (epoch 0) fatal alert record (RFC 6347 §4.1, RFC 5246 §7.2).
fn plaintext_alert(description: u8) -> Vec<u8> {
    vec![
        21,
        0xfe,
        0xfd,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        99,
        0,
        2,
        2,
        description,
    ]
}

/// Hole 4 at the connection level: before every DTLS datagram, each side also receives a
/// spoofed plaintext fatal alert (and a garbage record) from the peer's address. Before the
/// fix the first one failed the DTLS transport and the connection; now both connect.
#[test]
fn spoofed_plaintext_alerts_from_the_peer_address_do_not_fail_the_connection() {
    let mut spoofed = 0;
    let mut net = |_from: usize, d: &[u8]| -> Vec<Vec<u8>> {
        if !is_dtls(d) {
            return vec![d.to_vec()];
        }
        spoofed += 1;
        let mut junk = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0, 24];
        junk.extend([0x5a; 24]);
        vec![plaintext_alert(40), junk, plaintext_alert(42), d.to_vec()]
    };
    let (took, cores) = connect(DtlsSettings::default(), Duration::from_secs(10), &mut net);
    assert!(spoofed >= 4, "{spoofed}");
    assert!(
        took.is_some(),
        "{:?}",
        cores.each_ref().map(Core::dtls_state)
    );
    for c in &cores {
        assert_eq!(c.dtls_state(), DtlsTransportState::Connected);
        assert_eq!(c.connection_state(), PeerConnectionState::Connected);
    }
    // Nothing had to be retransmitted: the spoofed records were simply dropped.
    assert_eq!(took, Some(Duration::ZERO));
}

/// Hole 6 at the connection level, and `CoreSettings::dtls` takes effect: the first DTLS
/// datagram (the ClientHello) is lost. With the default settings the retransmission comes after
/// the 50 ms initial timer; with the RFC 6347 timer of 1 s (the old default) it takes a second.
#[test]
fn lost_first_dtls_flight_costs_the_initial_timer() {
    let mut measured = Vec::new();
    for start_rto in [None, Some(Duration::from_secs(1))] {
        let settings = DtlsSettings {
            flight_start_rto: start_rto.unwrap_or(DtlsSettings::default().flight_start_rto),
            ..DtlsSettings::default()
        };
        let mut dropped = false;
        let mut net = |_from: usize, d: &[u8]| -> Vec<Vec<u8>> {
            if is_dtls(d) && !dropped {
                dropped = true;
                return vec![];
            }
            vec![d.to_vec()]
        };
        let (took, _) = connect(settings, Duration::from_secs(10), &mut net);
        assert!(dropped);
        measured.push(took.expect("connected"));
    }
    eprintln!("setup with a lost first DTLS flight (default, 1 s timer): {measured:?}");
    assert!(measured[0] < Duration::from_millis(300), "{measured:?}");
    assert!(measured[1] >= Duration::from_millis(700), "{measured:?}");
}
