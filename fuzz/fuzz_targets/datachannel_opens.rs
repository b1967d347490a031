//! A hostile peer driving a victim's data channels (RFC 8832 DCEP over an in-memory SCTP
//! association): arbitrary DCEP messages and user messages on arbitrary streams, stream
//! resets, and the victim opening and closing channels of its own, in any order. After
//! every step the victim's caps must hold: no more channels than `max_open`, no more
//! label/protocol bytes than `max_label_bytes`, and its ledger agreeing with what it holds.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::datachannel::{
    ChannelConfig, ChannelNames, ChannelTable, DataChannelLimits, Reliability,
};
use rtcpeer_proto::jsep::{DataChannelEvent, DataChannelId};
use rtcpeer_proto::sctp::{Association, Config, SendOptions};

const LIMITS: DataChannelLimits = DataChannelLimits {
    max_open: 6,
    max_label_bytes: 600,
};

struct Victim {
    assoc: Association,
    dc: ChannelTable,
    /// Channels the victim holds (announced or opened, not closed).
    held: HashSet<DataChannelId>,
}

impl Victim {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            self.dc.handle_event(&mut self.assoc, e, now);
        }
        while self.dc.poll_announced().is_some() {}
        while let Some((key, e)) = self.dc.poll_event() {
            match e {
                DataChannelEvent::Open => {
                    self.held.insert(key);
                }
                DataChannelEvent::Close => {
                    self.held.remove(&key);
                    // No handle: forgotten once closed, as the connection does.
                    self.dc.release(key);
                }
                _ => {}
            }
        }
        self.dc.prune();
    }
}

/// Moves packets both ways (bounded), answering nothing on the attacker's side but what its
/// association does by itself (SACKs, reset responses).
fn pump(attacker: &mut Association, v: &mut Victim, now: &mut Instant) {
    let mut buf = Vec::new();
    for _ in 0..64 {
        let mut moved = false;
        while attacker.poll_transmit(*now, &mut buf) {
            v.assoc.handle_packet(&buf, *now);
            moved = true;
        }
        v.drain(*now);
        while v.assoc.poll_transmit(*now, &mut buf) {
            attacker.handle_packet(&buf, *now);
            moved = true;
        }
        while attacker.poll_event().is_some() {}
        if !moved {
            *now += Duration::from_millis(250);
            attacker.handle_timeout(*now);
            v.assoc.handle_timeout(*now);
            v.drain(*now);
            return;
        }
    }
}

fn check(v: &Victim) {
    assert!(v.dc.live() <= LIMITS.max_open, "{} channels", v.dc.live());
    assert_eq!(v.dc.open_channels(), v.dc.live());
    assert!(v.dc.label_bytes() <= LIMITS.max_label_bytes);
    // The events say exactly which channels the table holds.
    assert_eq!(v.held.len(), v.dc.live());
    // Closed channels were forgotten: the held channels' records hold the only names.
    let held: usize = v
        .held
        .iter()
        .map(|key| {
            let info = v.dc.info(*key).expect("an announced channel is known");
            info.label().len() + info.protocol().len()
        })
        .sum();
    assert_eq!(v.dc.label_bytes(), held);
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut attacker = Association::new(Config::default(), now, 1);
    let mut v = Victim {
        assoc: Association::new(Config::default(), now, 2),
        dc: ChannelTable::new(LIMITS),
        held: HashSet::new(),
    };
    // The attacker is the DTLS client (even ids), the victim the server (odd ids).
    v.dc.set_dtls_client(false);
    attacker.connect(now);
    pump(&mut attacker, &mut v, &mut now);
    let mut rest = data;
    let mut steps = 0;
    while rest.len() >= 4 && steps < 64 {
        steps += 1;
        let (op, stream, len) = (rest[0], u16::from_be_bytes([rest[1], rest[2]]), rest[3]);
        let take = usize::from(len).min(rest.len() - 4);
        let body = &rest[4..4 + take];
        rest = &rest[4 + take..];
        match op % 6 {
            // A DCEP message by hand; a long label or protocol is made of a repeated byte.
            0 => {
                let mut m = body.to_vec();
                if m.len() >= 12 && m[0] == 0x03 {
                    let l = usize::from(u16::from_be_bytes([m[8], m[9]])).min(400);
                    let p = usize::from(u16::from_be_bytes([m[10], m[11]])).min(400);
                    m[8..10].copy_from_slice(&(l as u16).to_be_bytes());
                    m[10..12].copy_from_slice(&(p as u16).to_be_bytes());
                    m.truncate(12);
                    m.resize(12 + l + p, b'a');
                }
                let _ = attacker.send(stream, 50, m, SendOptions::default(), now);
            }
            1 => {
                let ppid = [51, 53, 56, 57, 52, 54, 99][usize::from(len) % 7];
                let _ = attacker.send(stream, ppid, body.to_vec(), SendOptions::default(), now);
            }
            2 => {
                let _ = attacker.reset_streams(&[stream], now);
            }
            3 => {
                if let Some(key) = v.dc.by_stream(stream) {
                    v.dc.close(&mut v.assoc, key, now);
                }
            }
            4 => {
                let label = String::from_utf8_lossy(body);
                let names = ChannelNames::new(&label, "");
                let config = ChannelConfig {
                    names,
                    ordered: len % 2 == 0,
                    reliability: Reliability::Reliable,
                    priority: 256,
                    negotiated: len % 3 == 0,
                };
                let _ = v.dc.open(&mut v.assoc, stream | 1, config, now);
            }
            _ => {}
        }
        pump(&mut attacker, &mut v, &mut now);
        check(&v);
    }
});
