//! Data channels between two in-memory SCTP associations on a virtual clock.

use std::time::{Duration, Instant};

use std::collections::HashSet;

use super::*;
use crate::connection::{DataChannelEvent, DataChannelId, DataChannelState, Priority};
use crate::sctp::{Association, Config};

/// What happened on a channel, named by stream id: the table's `(DataChannelId,
/// DataChannelEvent)`s and announcements, read back through the table so that the
/// assertions below state the DCEP behaviour stream by stream.
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

struct Peer {
    assoc: Association,
    dc: ChannelTable,
    events: Vec<ChannelEvent>,
    /// Streams the other side reset (RFC 6525), as the association reported them.
    reset_by_peer: Vec<u16>,
}

impl Peer {
    fn new(now: Instant, seed: u64) -> Peer {
        peer_with(now, seed, DataChannelLimits::default())
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            if let crate::sctp::Event::IncomingStreamsReset { streams } = &e {
                self.reset_by_peer.extend(streams);
            }
            self.dc.handle_event(&mut self.assoc, e, now);
        }
        let mut announced = HashSet::new();
        while let Some(k) = self.dc.poll_announced() {
            announced.insert(k);
        }
        while let Some((k, e)) = self.dc.poll_event() {
            let id = self
                .dc
                .info(k)
                .and_then(|i| i.id())
                .expect("a kept channel");
            self.events.push(match e {
                DataChannelEvent::Open if announced.contains(&k) => ChannelEvent::Incoming {
                    id,
                    config: self.config_of(k),
                },
                DataChannelEvent::Open => ChannelEvent::Open { id },
                DataChannelEvent::Message(payload) => ChannelEvent::Message { id, payload },
                DataChannelEvent::Closing => ChannelEvent::Closing { id },
                DataChannelEvent::Close => ChannelEvent::Closed { id },
                DataChannelEvent::Error(_) => ChannelEvent::Failed { id },
                DataChannelEvent::BufferedAmountLow => ChannelEvent::BufferedAmountLow { id },
            });
        }
    }

    fn take(&mut self) -> Vec<ChannelEvent> {
        std::mem::take(&mut self.events)
    }

    /// The channel's parameters in DCEP terms, read from the table.
    fn config_of(&self, key: DataChannelId) -> ChannelConfig {
        let info = self.dc.info(key).expect("a kept channel");
        ChannelConfig {
            names: self.dc.get(key).expect("a kept channel").names.clone(),
            ordered: info.ordered(),
            reliability: match (info.max_retransmits(), info.max_packet_life_time()) {
                (Some(n), _) => Reliability::MaxRetransmits(u32::from(n)),
                (None, Some(ms)) => Reliability::MaxLifetimeMs(u32::from(ms)),
                (None, None) => Reliability::Reliable,
            },
            priority: match info.priority() {
                Priority::VeryLow => 128,
                Priority::Low => 256,
                Priority::Medium => 512,
                Priority::High => 1024,
            },
            negotiated: info.negotiated(),
        }
    }

    /// The parameters of the channel not yet closed on `stream`.
    fn config(&self, stream: u16) -> Option<ChannelConfig> {
        self.dc.by_stream(stream).map(|k| self.config_of(k))
    }

    /// The state of the channel not yet closed on `stream`; `None` once it closed.
    fn state(&self, stream: u16) -> Option<DataChannelState> {
        self.dc
            .by_stream(stream)
            .and_then(|k| self.dc.info(k))
            .map(|i| i.ready_state())
    }

    fn send(&mut self, stream: u16, payload: Payload, now: Instant) -> Result<(), ChannelError> {
        let key = self
            .dc
            .by_stream(stream)
            .ok_or(ChannelError::UnknownChannel(stream))?;
        self.dc.send(&mut self.assoc, key, payload, now)
    }

    fn close(&mut self, stream: u16, now: Instant) {
        if let Some(key) = self.dc.by_stream(stream) {
            self.dc.close(&mut self.assoc, key, now);
        }
    }

    /// Forgets the closed channels, as the connection does once no handle is left.
    fn forget_closed(&mut self) {
        for i in 0..self.dc.positions() {
            if let Some(k) = self.dc.key_at(i) {
                self.dc.release(k);
            }
        }
        self.dc.prune();
    }
}

/// Moves packets both ways and fires timers until nothing is left to do (bounded).
fn pump(a: &mut Peer, b: &mut Peer, now: &mut Instant) {
    let mut buf = Vec::new();
    for _ in 0..10_000 {
        let mut moved = false;
        a.drain(*now);
        b.drain(*now);
        while a.assoc.poll_transmit(*now, &mut buf) {
            b.assoc.handle_packet(&buf, *now);
            moved = true;
        }
        while b.assoc.poll_transmit(*now, &mut buf) {
            a.assoc.handle_packet(&buf, *now);
            moved = true;
        }
        a.drain(*now);
        b.drain(*now);
        if moved {
            continue;
        }
        // Quiet: fire the next timer if it is near (delayed SACKs, resets), else stop.
        let next = [a.assoc.poll_timeout(), b.assoc.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= *now + Duration::from_secs(1) => {
                *now = (*now).max(t);
                a.assoc.handle_timeout(*now);
                b.assoc.handle_timeout(*now);
            }
            _ => return,
        }
    }
    panic!("pump did not settle");
}

fn config(label: &str) -> ChannelConfig {
    ChannelConfig {
        names: ChannelNames::new(label, "chat"),
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        negotiated: false,
    }
}

fn connected() -> (Peer, Peer, Instant) {
    let mut now = Instant::now();
    let mut a = Peer::new(now, 1);
    let mut b = Peer::new(now, 2);
    a.assoc.connect(now);
    pump(&mut a, &mut b, &mut now);
    (a, b, now)
}

#[test]
fn dcep_open_ack_and_messages_both_ways() {
    let (mut a, mut b, mut now) = connected();
    a.dc.open(&mut a.assoc, 0, config("x"), now).unwrap();
    assert_eq!(
        a.take(),
        vec![] as Vec<ChannelEvent>,
        "events appear after draining"
    );
    pump(&mut a, &mut b, &mut now);
    assert_eq!(a.take(), vec![ChannelEvent::Open { id: 0 }]);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Incoming {
            id: 0,
            config: config("x")
        }]
    );
    for p in [
        Payload::Text("hello".into()),
        Payload::Text("世界你好".into()),
        Payload::Text(String::new()),
        Payload::Binary(vec![1, 2, 3]),
        Payload::Binary(Vec::new()),
        Payload::Binary(vec![7; 250_000]),
    ] {
        // The sender's buffer drains to the default threshold 0: one bufferedamountlow;
        // an empty message adds nothing to bufferedAmount and fires none (WPT-250).
        let low = match &p {
            Payload::Text(t) => !t.is_empty(),
            Payload::Binary(b) => !b.is_empty(),
        }
        .then_some(ChannelEvent::BufferedAmountLow { id: 0 });
        a.send(0, p.clone(), now).unwrap();
        pump(&mut a, &mut b, &mut now);
        assert_eq!(
            b.take(),
            vec![ChannelEvent::Message {
                id: 0,
                payload: p.clone()
            }]
        );
        assert_eq!(a.take(), Vec::from_iter(low.clone()));
        b.send(0, p.clone(), now).unwrap();
        pump(&mut a, &mut b, &mut now);
        assert_eq!(a.take(), vec![ChannelEvent::Message { id: 0, payload: p }]);
        assert_eq!(b.take(), Vec::from_iter(low));
    }
}

#[test]
fn channels_created_before_the_association_open_when_it_connects() {
    let mut now = Instant::now();
    let mut a = Peer::new(now, 3);
    let mut b = Peer::new(now, 4);
    a.dc.open(&mut a.assoc, 0, config("early"), now).unwrap();
    a.send(0, Payload::Text("too early".into()), now)
        .unwrap_err();
    a.assoc.connect(now);
    pump(&mut a, &mut b, &mut now);
    assert_eq!(a.take(), vec![ChannelEvent::Open { id: 0 }]);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Incoming {
            id: 0,
            config: config("early")
        }]
    );
}

#[test]
fn negotiated_channels_use_no_dcep() {
    let (mut a, mut b, mut now) = connected();
    let cfg = ChannelConfig {
        negotiated: true,
        ..config("neg")
    };
    a.dc.open(&mut a.assoc, 42, cfg.clone(), now).unwrap();
    b.dc.open(&mut b.assoc, 42, cfg, now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(a.take(), vec![ChannelEvent::Open { id: 42 }]);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Open { id: 42 }],
        "no Incoming: nothing was announced"
    );
    a.send(42, Payload::Text("hi".into()), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Message {
            id: 42,
            payload: Payload::Text("hi".into())
        }]
    );
}

#[test]
fn unordered_partial_reliability_is_announced_and_applied() {
    let (mut a, mut b, mut now) = connected();
    let cfg = ChannelConfig {
        ordered: false,
        reliability: Reliability::MaxRetransmits(0),
        ..config("u")
    };
    a.dc.open(&mut a.assoc, 2, cfg.clone(), now).unwrap();
    // Before the ACK, messages still go ordered (RFC 8832 §6) so they cannot overtake the OPEN.
    a.send(2, Payload::Text("first".into()), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(
        b.take(),
        vec![
            ChannelEvent::Incoming { id: 2, config: cfg },
            ChannelEvent::Message {
                id: 2,
                payload: Payload::Text("first".into())
            }
        ]
    );
    a.send(2, Payload::Binary(vec![9; 10]), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Message {
            id: 2,
            payload: Payload::Binary(vec![9; 10])
        }]
    );
    // One low-water event per send on the sender; none on the receiver, which only sent the ACK.
    assert_eq!(
        a.take(),
        vec![
            ChannelEvent::Open { id: 2 },
            ChannelEvent::BufferedAmountLow { id: 2 },
            ChannelEvent::BufferedAmountLow { id: 2 }
        ]
    );
    assert!(b.take().is_empty());
}

#[test]
fn closing_resets_both_directions_after_queued_data_and_frees_the_id() {
    let (mut a, mut b, mut now) = connected();
    a.dc.open(&mut a.assoc, 4, config("c"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    a.take();
    b.take();
    for i in 0..50 {
        a.send(4, Payload::Binary(vec![i; 20_000]), now).unwrap();
    }
    a.close(4, now);
    assert_eq!(a.state(4), Some(DataChannelState::Closing));
    assert_eq!(
        a.send(4, Payload::Text("late".into()), now),
        Err(ChannelError::NotOpen(4))
    );
    pump(&mut a, &mut b, &mut now);
    let got = b.take();
    let messages = got
        .iter()
        .filter(|e| matches!(e, ChannelEvent::Message { .. }))
        .count();
    assert_eq!(messages, 50, "queued data is delivered before the close");
    assert_eq!(
        &got[50..],
        &[
            ChannelEvent::Closing { id: 4 },
            ChannelEvent::Closed { id: 4 }
        ]
    );
    let closing_side: Vec<_> = a
        .take()
        .into_iter()
        .filter(|e| !matches!(e, ChannelEvent::BufferedAmountLow { .. }))
        .collect();
    assert_eq!(
        closing_side,
        vec![ChannelEvent::Closed { id: 4 }],
        "the closing side sees no closing event"
    );
    assert_eq!((a.state(4), b.state(4)), (None, None));
    // The id can be used again.
    a.dc.open(&mut a.assoc, 4, config("again"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(
        b.take(),
        vec![ChannelEvent::Incoming {
            id: 4,
            config: config("again")
        }]
    );
}

#[test]
fn abort_fails_every_channel() {
    let (mut a, mut b, mut now) = connected();
    a.dc.open(&mut a.assoc, 0, config("a"), now).unwrap();
    a.dc.open(&mut a.assoc, 2, config("b"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    a.take();
    b.take();
    a.assoc.abort(now);
    pump(&mut a, &mut b, &mut now);
    for events in [a.take(), b.take()] {
        let closed: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, ChannelEvent::Closed { .. }))
            .collect();
        let failed = events
            .iter()
            .filter(|e| matches!(e, ChannelEvent::Failed { .. }))
            .count();
        assert_eq!((closed.len(), failed), (2, 2), "{events:?}");
    }
}

#[test]
fn id_in_use_and_unknown_channels() {
    let (mut a, mut b, mut now) = connected();
    a.dc.open(&mut a.assoc, 0, config("x"), now).unwrap();
    assert_eq!(
        a.dc.open(&mut a.assoc, 0, config("y"), now),
        Err(ChannelError::IdInUse(0))
    );
    assert_eq!(
        a.send(9, Payload::Text("?".into()), now),
        Err(ChannelError::UnknownChannel(9))
    );
    pump(&mut a, &mut b, &mut now);
    // The peer announcing a stream we already use is ignored.
    assert_eq!(a.take(), vec![ChannelEvent::Open { id: 0 }]);
    b.take();
    let mut open = Vec::new();
    DcepMessage::Open(Open {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        label: "dup".into(),
        protocol: String::new(),
    })
    .write(&mut open)
    .unwrap();
    b.assoc
        .send(0, PPID_DCEP, open, SendOptions::default(), now)
        .unwrap();
    pump(&mut a, &mut b, &mut now);
    assert!(a.take().is_empty());
    assert_eq!(
        a.config(0).map(|c| c.names.label().to_string()).as_deref(),
        Some("x")
    );
    assert_eq!(a.dc.dropped_messages(), 1);
}

#[test]
fn dcep_wire_format() {
    // RFC 8832 §5.1: OPEN, reliable unordered, priority 256, label "ab", protocol "c".
    let msg = DcepMessage::Open(Open {
        ordered: false,
        reliability: Reliability::Reliable,
        priority: 256,
        label: "ab".into(),
        protocol: "c".into(),
    });
    let mut buf = Vec::new();
    msg.write(&mut buf).unwrap();
    assert_eq!(
        buf,
        [
            0x03, 0x80, 0x01, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, b'a', b'b', b'c'
        ]
    );
    assert_eq!(DcepMessage::parse(&buf), Ok(msg));
    let timed = DcepMessage::Open(Open {
        ordered: true,
        reliability: Reliability::MaxLifetimeMs(1500),
        priority: 1024,
        label: String::new(),
        protocol: String::new(),
    });
    let mut buf = Vec::new();
    timed.write(&mut buf).unwrap();
    assert_eq!(&buf[..8], &[0x03, 0x02, 0x04, 0x00, 0, 0, 0x05, 0xdc]);
    assert_eq!(DcepMessage::parse(&buf), Ok(timed));
    assert_eq!(DcepMessage::parse(&[0x02]), Ok(DcepMessage::Ack));
    let rexmit = [0x03, 0x81, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0];
    assert_eq!(
        DcepMessage::parse(&rexmit),
        Ok(DcepMessage::Open(Open {
            ordered: false,
            reliability: Reliability::MaxRetransmits(3),
            priority: 0,
            label: String::new(),
            protocol: String::new(),
        }))
    );
}

#[test]
fn malformed_dcep_is_an_error_never_a_panic() {
    assert_eq!(DcepMessage::parse(&[]), Err(DcepError::Empty));
    assert_eq!(
        DcepMessage::parse(&[0x07]),
        Err(DcepError::UnknownMessageType(7))
    );
    assert_eq!(
        DcepMessage::parse(&[0x03, 0x00, 0, 0]),
        Err(DcepError::Truncated)
    );
    assert_eq!(
        DcepMessage::parse(&[0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(DcepError::UnknownChannelType(5))
    );
    assert_eq!(
        DcepMessage::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, b'a']),
        Err(DcepError::Truncated)
    );
    assert_eq!(
        DcepMessage::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff]),
        Err(DcepError::InvalidUtf8)
    );
    let long = DcepMessage::Open(Open {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 0,
        label: "x".repeat(65536),
        protocol: String::new(),
    });
    assert_eq!(long.write(&mut Vec::new()), Err(DcepError::TooLong));
    // Every truncation and every single-byte change of a valid OPEN parses or errors.
    let mut valid = Vec::new();
    DcepMessage::Open(Open {
        ordered: true,
        reliability: Reliability::MaxRetransmits(5),
        priority: 512,
        label: "label-ü".into(),
        protocol: "proto".into(),
    })
    .write(&mut valid)
    .unwrap();
    for len in 0..valid.len() {
        let _ = DcepMessage::parse(&valid[..len]);
    }
    for i in 0..valid.len() {
        for b in 0..=255u8 {
            let mut m = valid.clone();
            m[i] = b;
            if let Ok(msg) = DcepMessage::parse(&m) {
                let mut again = Vec::new();
                msg.write(&mut again).unwrap();
                assert_eq!(DcepMessage::parse(&again), Ok(msg));
            }
        }
    }
}

// ----- caps and refusals (hostile peers) -----

/// A peer with its own limits.
fn peer_with(now: Instant, seed: u64, limits: DataChannelLimits) -> Peer {
    Peer {
        assoc: Association::new(Config::default(), now, seed),
        dc: ChannelTable::new(limits),
        events: Vec::new(),
        reset_by_peer: Vec::new(),
    }
}

/// `a` (the attacker, DTLS client: even ids) and `b` (the victim, DTLS server) connected.
fn connected_with(victim: DataChannelLimits) -> (Peer, Peer, Instant) {
    let mut now = Instant::now();
    let big = DataChannelLimits {
        max_open: 65535,
        max_label_bytes: usize::MAX,
    };
    let mut a = peer_with(now, 1, big);
    let mut b = peer_with(now, 2, victim);
    a.dc.set_dtls_client(true);
    b.dc.set_dtls_client(false);
    a.assoc.connect(now);
    pump(&mut a, &mut b, &mut now);
    (a, b, now)
}

/// A raw DATA_CHANNEL_OPEN written by hand on `stream`, bypassing the sender's manager.
fn raw_open(p: &mut Peer, stream: u16, label: &str, protocol: &str, now: Instant) {
    let mut open = Vec::new();
    OpenView {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        label,
        protocol,
    }
    .write(&mut open)
    .unwrap();
    p.assoc
        .send(stream, PPID_DCEP, open, SendOptions::default(), now)
        .unwrap();
}

fn incoming_ids(events: &[ChannelEvent]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Incoming { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn opens_beyond_the_open_cap_are_refused_by_a_stream_reset_and_the_peer_sees_it_close() {
    let (mut a, mut b, mut now) = connected_with(DataChannelLimits {
        max_open: 3,
        ..DataChannelLimits::default()
    });
    for i in 0..5u16 {
        a.dc.open(&mut a.assoc, 2 * i, config(&format!("c{i}")), now)
            .unwrap();
    }
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&b.take()), [0, 2, 4], "only the first three");
    assert_eq!(b.dc.refused_opens(), 2);
    assert_eq!((b.dc.live(), b.dc.open_channels()), (3, 3));
    assert_eq!(a.reset_by_peer, [6, 8]);
    // The attacker's two excess channels were reset by the victim: they closed there.
    let a_events = a.take();
    for id in [6, 8] {
        assert!(
            a_events.contains(&ChannelEvent::Closing { id })
                && a_events.contains(&ChannelEvent::Closed { id }),
            "{id}: {a_events:?}"
        );
        assert_eq!(a.state(id), None);
    }
    // Accepted channels work.
    a.send(4, Payload::Text("hi".into()), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(
        b.take(),
        [ChannelEvent::Message {
            id: 4,
            payload: Payload::Text("hi".into())
        }]
    );
    // A channel that closes frees its place: the next open is accepted.
    a.close(0, now);
    pump(&mut a, &mut b, &mut now);
    assert!(b.take().contains(&ChannelEvent::Closed { id: 0 }));
    assert_eq!(b.dc.open_channels(), 2);
    a.dc.open(&mut a.assoc, 10, config("again"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&b.take()), [10]);
    assert_eq!(b.dc.refused_opens(), 2);
}

#[test]
fn names_beyond_the_byte_cap_are_refused_and_kept_once() {
    let label = "L".repeat(65535);
    let protocol = "P".repeat(65535);
    let (mut a, mut b, mut now) = connected_with(DataChannelLimits {
        max_open: 1024,
        max_label_bytes: 4 * 131_070,
    });
    for i in 0..10u16 {
        raw_open(&mut a, 2 * i, &label, &protocol, now);
        pump(&mut a, &mut b, &mut now);
    }
    let events = b.take();
    assert_eq!(incoming_ids(&events), [0, 2, 4, 6]);
    assert_eq!(b.dc.refused_opens(), 6);
    assert_eq!(b.dc.label_bytes(), 4 * 131_070);
    // The event and the manager share one copy of the names.
    let ChannelEvent::Incoming { config, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(config.names.same_storage(&b.config(0).unwrap().names));
    assert_eq!(config.names.label(), label);
    a.reset_by_peer.sort_unstable();
    assert_eq!(a.reset_by_peer, [8, 10, 12, 14, 16, 18]);
    // Once the event is dropped the table holds the only copy; closing the channel frees
    // its place, forgetting it (no handle left) its bytes.
    drop(events);
    b.close(0, now);
    // The attacker's raw channel has no manager to answer: reset its side by hand.
    a.assoc.reset_streams(&[0], now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert!(b.take().contains(&ChannelEvent::Closed { id: 0 }));
    b.forget_closed();
    assert_eq!(b.dc.label_bytes(), 3 * 131_070);
    assert_eq!(b.dc.open_channels(), 3);
}

#[test]
fn opens_on_our_parity_are_refused_with_a_reset_and_no_event() {
    let (mut a, mut b, mut now) = connected_with(DataChannelLimits::default());
    // The victim is the DTLS server: odd ids are its own; the attacker opens on 1, 3, 5
    // by hand (its manager would refuse to), then one proper even id.
    for id in [1u16, 3, 5] {
        raw_open(&mut a, id, "wrong", "", now);
    }
    raw_open(&mut a, 6, "right", "", now);
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&b.take()), [6]);
    assert_eq!(b.dc.refused_opens(), 3);
    assert_eq!(b.dc.open_channels(), 1);
    assert_eq!(b.dc.label_bytes(), "right".len());
    // The refused streams were reset towards the attacker (an incoming SSN reset there).
    a.reset_by_peer.sort_unstable();
    assert_eq!(a.reset_by_peer, [1, 3, 5]);
    // The victim still opens its own odd ids without a clash.
    b.dc.open(&mut b.assoc, 1, config("mine"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&a.take()), [1]);
}

#[test]
fn opens_without_end_keep_the_victim_bounded() {
    // A peer that opens and never closes, on every stream id it may use: the victim keeps
    // at most `max_open` channels and refuses the rest at O(1) each.
    let (mut a, mut b, mut now) = connected_with(DataChannelLimits {
        max_open: 64,
        max_label_bytes: 64 * 1024,
    });
    for i in 0..2000u16 {
        raw_open(&mut a, 2 * i, "x", "", now);
        if i % 100 == 99 {
            pump(&mut a, &mut b, &mut now);
        }
    }
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&b.take()).len(), 64);
    assert_eq!(b.dc.refused_opens(), 2000 - 64);
    assert_eq!(b.dc.live(), 64);
    assert_eq!(b.dc.open_channels(), 64);
}

#[test]
fn a_channel_that_fails_to_open_gives_its_place_back() {
    // Found by the datachannel_opens fuzz target: a failed open stayed in the manager and
    // kept its place among the open channels for good.
    let (mut a, mut b, mut now) = connected_with(DataChannelLimits {
        max_open: 1,
        ..DataChannelLimits::default()
    });
    // Stream 65535 is beyond what the association negotiated: the OPEN cannot be sent.
    assert!(matches!(
        b.dc.open(&mut b.assoc, 65535, config("x"), now),
        Err(ChannelError::Send(_))
    ));
    assert_eq!((b.dc.live(), b.dc.open_channels()), (0, 0));
    b.dc.open(&mut b.assoc, 1, config("y"), now).unwrap();
    pump(&mut a, &mut b, &mut now);
    assert_eq!(incoming_ids(&a.take()), [1]);
}
