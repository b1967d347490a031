//! The protocol engines composed the way a connection will use them, in memory on a virtual
//! clock: data channels (DCEP) over SCTP over DTLS, two full stacks exchanging datagrams.
//! This proves the layers fit (DTLS record size vs SCTP MTU, the zero-checksum profile over
//! DTLS, SCTP simultaneous open after the DTLS handshake) before the runtime driver joins them.

use std::time::{Duration, Instant};

use rtcpeer_proto::cert::{Certificate, CertificateParams};
use rtcpeer_proto::datachannel::{
    ChannelConfig, ChannelError, ChannelNames, ChannelTable, DataChannelLimits, Payload,
    Reliability,
};
use rtcpeer_proto::dtls::{
    DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole, DtlsSettings, RemoteFingerprints,
};
use rtcpeer_proto::jsep::DataChannelEvent;
use rtcpeer_proto::sctp::{Association, Config};

/// What happened on a channel, named by stream id (the table's events read back through
/// the table).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ChannelEvent {
    Open { id: u16 },
    Incoming { id: u16, config: ChannelConfig },
    Message { id: u16, payload: Payload },
    Closing { id: u16 },
    Closed { id: u16 },
    Failed { id: u16 },
    BufferedAmountLow { id: u16 },
}

struct Stack {
    dtls: DtlsConnection,
    sctp: Association,
    dc: ChannelTable,
    events: Vec<ChannelEvent>,
    connected: bool,
    /// Datagrams on the wire towards the other stack.
    out: Vec<Vec<u8>>,
}

impl Stack {
    fn new(cert: Certificate, config: &DtlsConfig, now: Instant, seed: u64) -> Stack {
        Stack {
            dtls: DtlsConnection::new(cert, config).unwrap(),
            sctp: Association::new(Config::default(), now, seed),
            dc: ChannelTable::new(DataChannelLimits::default()),
            events: Vec::new(),
            connected: false,
            out: Vec::new(),
        }
    }

    /// Runs every layer until it has nothing more to say.
    fn step(&mut self, now: Instant) {
        while let Some(e) = self.dtls.poll_event() {
            match e {
                DtlsEvent::Connected(_) => {
                    self.connected = true;
                    // Both sides start SCTP, as browsers do (RFC 9260 §5.2.1 collision).
                    self.sctp.connect(now);
                }
                DtlsEvent::ApplicationData(d) => self.sctp.handle_packet(&d, now),
                other => panic!("unexpected DTLS event {other:?}"),
            }
        }
        while let Some(e) = self.sctp.poll_event() {
            self.dc.handle_event(&mut self.sctp, e, now);
        }
        let mut announced = Vec::new();
        while let Some(k) = self.dc.poll_announced() {
            announced.push(k);
        }
        while let Some((k, e)) = self.dc.poll_event() {
            let info = self.dc.info(k).expect("a kept channel");
            let id = info.id().expect("a channel on a stream");
            self.events.push(match e {
                DataChannelEvent::Open if announced.contains(&k) => ChannelEvent::Incoming {
                    id,
                    config: ChannelConfig {
                        names: ChannelNames::new(info.label(), info.protocol()),
                        ordered: info.ordered(),
                        reliability: match (info.max_retransmits(), info.max_packet_life_time()) {
                            (Some(n), _) => Reliability::MaxRetransmits(u32::from(n)),
                            (None, Some(ms)) => Reliability::MaxLifetimeMs(u32::from(ms)),
                            (None, None) => Reliability::Reliable,
                        },
                        priority: match info.priority() {
                            rtcpeer::Priority::VeryLow => 128,
                            rtcpeer::Priority::Low => 256,
                            rtcpeer::Priority::Medium => 512,
                            rtcpeer::Priority::High => 1024,
                        },
                        negotiated: info.negotiated(),
                    },
                },
                DataChannelEvent::Open => ChannelEvent::Open { id },
                DataChannelEvent::Message(payload) => ChannelEvent::Message { id, payload },
                DataChannelEvent::Closing => ChannelEvent::Closing { id },
                DataChannelEvent::Close => ChannelEvent::Closed { id },
                DataChannelEvent::Error(_) => ChannelEvent::Failed { id },
                DataChannelEvent::BufferedAmountLow => ChannelEvent::BufferedAmountLow { id },
            });
        }
        if self.connected {
            let mut buf = Vec::new();
            while self.sctp.poll_transmit(now, &mut buf) {
                self.dtls
                    .send_application_data(&buf)
                    .expect("an SCTP packet fits a DTLS record");
            }
        }
        while let Some(d) = self.dtls.poll_transmit() {
            self.out.push(d);
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        [self.dtls.poll_timeout(), self.sctp.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.dtls.handle_timeout(now);
        self.sctp.handle_timeout(now);
    }

    fn take(&mut self) -> Vec<ChannelEvent> {
        std::mem::take(&mut self.events)
    }

    fn send(&mut self, stream: u16, payload: Payload, now: Instant) -> Result<(), ChannelError> {
        let key = self
            .dc
            .by_stream(stream)
            .ok_or(ChannelError::UnknownChannel(stream))?;
        self.dc.send(&mut self.sctp, key, payload, now)
    }

    fn close(&mut self, stream: u16, now: Instant) {
        if let Some(key) = self.dc.by_stream(stream) {
            self.dc.close(&mut self.sctp, key, now);
        }
    }
}

/// Delivers datagrams both ways and fires timers until both stacks are quiet.
fn run(a: &mut Stack, b: &mut Stack, now: &mut Instant) {
    for _ in 0..100_000 {
        a.step(*now);
        b.step(*now);
        let (to_b, to_a) = (std::mem::take(&mut a.out), std::mem::take(&mut b.out));
        if to_b.is_empty() && to_a.is_empty() {
            match [a.next_timeout(), b.next_timeout()]
                .into_iter()
                .flatten()
                .min()
            {
                Some(t) if t <= *now + Duration::from_secs(1) => {
                    *now = (*now).max(t);
                    a.handle_timeout(*now);
                    b.handle_timeout(*now);
                    continue;
                }
                _ => return,
            }
        }
        for d in to_b {
            b.dtls.handle_record(*now, &d);
        }
        for d in to_a {
            a.dtls.handle_record(*now, &d);
        }
    }
    panic!("the stacks did not settle");
}

fn connected_pair() -> (Stack, Stack, Instant) {
    let mut now = Instant::now();
    let config = DtlsConfig::new(&DtlsSettings::default()).unwrap();
    let (ca, cb) = (
        Certificate::generate(CertificateParams::default(), std::time::SystemTime::now()).unwrap(),
        Certificate::generate(CertificateParams::default(), std::time::SystemTime::now()).unwrap(),
    );
    let fa = RemoteFingerprints::new(&ca.get_fingerprints()).unwrap();
    let fb = RemoteFingerprints::new(&cb.get_fingerprints()).unwrap();
    let mut a = Stack::new(ca, &config, now, 1);
    let mut b = Stack::new(cb, &config, now, 2);
    a.dtls.start(now, DtlsRole::Client, fb).unwrap();
    b.dtls.start(now, DtlsRole::Server, fa).unwrap();
    run(&mut a, &mut b, &mut now);
    assert!(a.connected && b.connected, "DTLS connected");
    (a, b, now)
}

fn chat() -> ChannelConfig {
    ChannelConfig {
        names: ChannelNames::new("chat", ""),
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        negotiated: false,
    }
}

#[test]
fn data_channel_over_sctp_over_dtls() {
    let (mut a, mut b, mut now) = connected_pair();
    // The DTLS client uses even stream ids (RFC 8832 §6).
    a.dc.open(&mut a.sctp, 0, chat(), now).unwrap();
    run(&mut a, &mut b, &mut now);
    assert_eq!(a.take(), vec![ChannelEvent::Open { id: 0 }]);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Incoming {
            id: 0,
            config: chat()
        }]
    );

    // 4 MiB in 64 KiB messages, with back-pressure from the SCTP send buffer.
    let mut sent = 0u32;
    let mut received = Vec::new();
    while received.len() < 64 {
        while sent < 64 {
            let msg = vec![sent as u8; 65536];
            match a.send(0, Payload::Binary(msg), now) {
                Ok(()) => sent += 1,
                Err(_) => break,
            }
        }
        run(&mut a, &mut b, &mut now);
        for e in b.take() {
            if let ChannelEvent::Message {
                payload: Payload::Binary(d),
                ..
            } = e
            {
                received.push(d);
            }
        }
    }
    for (i, d) in received.iter().enumerate() {
        assert_eq!(
            (d.len(), d[0], d[65535]),
            (65536, i as u8, i as u8),
            "message {i} intact and in order"
        );
    }

    b.send(0, Payload::Text("thanks".into()), now).unwrap();
    run(&mut a, &mut b, &mut now);
    assert!(a.take().contains(&ChannelEvent::Message {
        id: 0,
        payload: Payload::Text("thanks".into())
    }));

    // Closing from the answering side: both ends end up closed.
    b.close(0, now);
    run(&mut a, &mut b, &mut now);
    assert_eq!(
        a.take(),
        vec![
            ChannelEvent::Closing { id: 0 },
            ChannelEvent::Closed { id: 0 }
        ]
    );
    assert!(b.take().contains(&ChannelEvent::Closed { id: 0 }));
}

#[test]
fn dtls_close_notify_ends_the_stack() {
    let (mut a, mut b, mut now) = connected_pair();
    a.dc.open(&mut a.sctp, 2, chat(), now).unwrap();
    run(&mut a, &mut b, &mut now);
    a.dtls.close();
    a.step(now);
    for d in std::mem::take(&mut a.out) {
        b.dtls.handle_record(now, &d);
    }
    let mut closed = false;
    while let Some(e) = b.dtls.poll_event() {
        closed |= matches!(e, DtlsEvent::Closed);
    }
    assert!(closed, "close_notify reaches the peer");
}
