//! Data channels between two in-memory SCTP associations on a virtual clock.

use std::time::{Duration, Instant};

use super::*;
use crate::sctp::{Association, Config};

struct Peer {
    assoc: Association,
    dc: DataChannels,
    events: Vec<ChannelEvent>,
}

impl Peer {
    fn new(now: Instant, seed: u64) -> Peer {
        Peer {
            assoc: Association::new(Config::default(), now, seed),
            dc: DataChannels::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            self.dc.handle_event(&mut self.assoc, e, now);
        }
        while let Some(e) = self.dc.poll_event() {
            self.events.push(e);
        }
    }

    fn take(&mut self) -> Vec<ChannelEvent> {
        std::mem::take(&mut self.events)
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
        label: label.into(),
        protocol: "chat".into(),
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
        a.dc.send(&mut a.assoc, 0, p.clone(), now).unwrap();
        pump(&mut a, &mut b, &mut now);
        assert_eq!(
            b.take(),
            vec![ChannelEvent::Message {
                id: 0,
                payload: p.clone()
            }]
        );
        assert_eq!(a.take(), Vec::from_iter(low.clone()));
        b.dc.send(&mut b.assoc, 0, p.clone(), now).unwrap();
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
    a.dc.send(&mut a.assoc, 0, Payload::Text("too early".into()), now)
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
    a.dc.send(&mut a.assoc, 42, Payload::Text("hi".into()), now)
        .unwrap();
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
    a.dc.send(&mut a.assoc, 2, Payload::Text("first".into()), now)
        .unwrap();
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
    a.dc.send(&mut a.assoc, 2, Payload::Binary(vec![9; 10]), now)
        .unwrap();
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
        a.dc.send(&mut a.assoc, 4, Payload::Binary(vec![i; 20_000]), now)
            .unwrap();
    }
    a.dc.close(&mut a.assoc, 4, now);
    assert_eq!(a.dc.state(4), Some(ChannelState::Closing));
    assert_eq!(
        a.dc.send(&mut a.assoc, 4, Payload::Text("late".into()), now),
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
    assert_eq!((a.dc.state(4), b.dc.state(4)), (None, None));
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
        a.dc.send(&mut a.assoc, 9, Payload::Text("?".into()), now),
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
    assert_eq!(a.dc.config(0).map(|c| c.label.as_str()), Some("x"));
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
