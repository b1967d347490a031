//! Stateful SCTP receive side (RFC 9260 §6.2, §6.9; RFC 3758; RFC 6525): an established
//! association is fed DATA chunks of known messages in any order the input chooses (with
//! duplicates, reversed runs and END-first patterns), mixed with forged chunks (arbitrary
//! TSNs, B/E/U flags, streams, SSNs), FORWARD TSNs and stream resets.
//!
//! Asserted: no panic; held receive memory stays within twice the window, at most 65 535
//! chunks are stored; every delivered message is non-empty, within the maximum message size,
//! and if it holds no forged byte it is exactly one of the known messages, delivered at most
//! once. Without forged input, after a final in-order resend (one chunk per packet, within
//! the receive window) every message arrives exactly once and each ordered stream in SSN
//! order.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::sctp::{Association, Config, Event, SendOptions, State};

/// Payload byte of forged chunks; never used by known messages.
const FORGED: u8 = 0xEE;
const CT_DATA: u8 = 0;
const CT_RECONFIG: u8 = 130;
const CT_FORWARD_TSN: u8 = 192;

struct Known {
    stream: u16,
    unordered: bool,
    data: Vec<u8>,
}

struct Chunk {
    tsn: u32,
    flags: u8,
    stream: u16,
    ssn: u16,
    data: Vec<u8>,
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }
}

fn push_chunk(pkt: &mut Vec<u8>, typ: u8, flags: u8, value: &[u8]) {
    pkt.extend_from_slice(&[typ, flags]);
    pkt.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
    pkt.extend_from_slice(value);
    while pkt.len() % 4 != 0 {
        pkt.push(0);
    }
}

fn push_data(pkt: &mut Vec<u8>, c: &Chunk) {
    let mut v = Vec::with_capacity(12 + c.data.len());
    v.extend_from_slice(&c.tsn.to_be_bytes());
    v.extend_from_slice(&c.stream.to_be_bytes());
    v.extend_from_slice(&c.ssn.to_be_bytes());
    v.extend_from_slice(&51u32.to_be_bytes());
    v.extend_from_slice(&c.data);
    push_chunk(pkt, CT_DATA, c.flags, &v);
}

struct Victim {
    b: Association,
    vtag: u32,
    pkt: Vec<u8>,
    out: Vec<u8>,
    window: usize,
    max_message: usize,
    delivered: Vec<usize>,
    order: Vec<usize>,
}

impl Victim {
    fn start_packet(&mut self) {
        self.pkt.clear();
        self.pkt.extend_from_slice(&[0x13, 0x88, 0x13, 0x88]);
        self.pkt.extend_from_slice(&self.vtag.to_be_bytes());
        // Zero checksum: accepted over DTLS (RFC 9653), so no CRC is needed.
        self.pkt.extend_from_slice(&[0; 4]);
    }

    /// Sends the pending packet and checks what comes out.
    fn flush(&mut self, known: &[Known], now: Instant) {
        if self.pkt.len() > 12 {
            self.b.handle_packet(&self.pkt, now);
        }
        self.start_packet();
        while self.b.poll_transmit(now, &mut self.out) {}
        while let Some(e) = self.b.poll_event() {
            let Event::Message(m) = e else { continue };
            assert!(!m.data.is_empty());
            assert!(m.data.len() <= self.max_message, "{} bytes", m.data.len());
            if m.data.contains(&FORGED) {
                continue;
            }
            let id = m.data[0] as usize - 1;
            let k = &known[id];
            assert!(m.data == k.data, "message {id} corrupted");
            assert_eq!((m.stream, m.unordered), (k.stream, k.unordered));
            self.delivered[id] += 1;
            assert_eq!(self.delivered[id], 1, "message {id} delivered twice");
            self.order.push(id);
        }
        // The chunk at the cumulative point may be taken over a full window once (RFC 9260
        // §6.2), so the bound is twice the window.
        assert!(
            self.b.held_receive_bytes() <= 2 * self.window,
            "held {} of window {}",
            self.b.held_receive_bytes(),
            self.window
        );
        assert!(self.b.held_memory().1 <= 65_535);
    }

    fn add(&mut self, known: &[Known], now: Instant, typ: u8, flags: u8, value: &[u8]) {
        if self.pkt.len() + value.len() + 8 > 1200 {
            self.flush(known, now);
        }
        push_chunk(&mut self.pkt, typ, flags, value);
    }

    fn add_data(&mut self, known: &[Known], now: Instant, c: &Chunk) {
        if self.pkt.len() + c.data.len() + 20 > 1200 {
            self.flush(known, now);
        }
        push_data(&mut self.pkt, c);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let (Some(cfg), Some(nmsg)) = (input.byte(), input.byte()) else {
        return;
    };
    let window = [3_000, 20_000, 200_000, 5 << 20][cfg as usize & 3];
    // A message must fit in the window with a packet of others queued, or it could never
    // be received.
    let max_message = [2_000, 65_536][(cfg >> 2) as usize & 1].min(window / 3);
    let config = Config {
        receive_window: window,
        max_message_size: max_message,
        ..Config::default()
    };
    // Known messages, cut into fragments of the size the input asks for.
    let mut known = Vec::new();
    for id in 0..1 + nmsg as usize % 48 {
        let (Some(a), Some(l)) = (input.byte(), input.byte()) else {
            break;
        };
        let len = (1 + l as usize * 8).min(max_message);
        // Byte 0 names the message; the rest never equals FORGED.
        let data: Vec<u8> = (0..len)
            .map(|i| {
                if i == 0 {
                    id as u8 + 1
                } else {
                    (id * 7 + i) as u8 % 200
                }
            })
            .collect();
        known.push((
            Known {
                stream: a as u16 & 3,
                unordered: a & 4 != 0,
                data,
            },
            1 + (a >> 3) as usize * 10,
        ));
    }
    let now = Instant::now();
    let mut a = Association::new(Config::default(), now, 1);
    let b = Association::new(config, now, 2);
    let mut v = Victim {
        b,
        vtag: 0,
        pkt: Vec::new(),
        out: Vec::new(),
        window,
        max_message,
        delivered: vec![0; known.len()],
        order: Vec::new(),
    };
    a.connect(now);
    let mut buf = Vec::new();
    for _ in 0..4 {
        while a.poll_transmit(now, &mut buf) {
            v.b.handle_packet(&buf, now);
        }
        while v.b.poll_transmit(now, &mut buf) {
            a.handle_packet(&buf, now);
        }
    }
    assert_eq!(v.b.state(), State::Established);
    // One real DATA packet gives the victim's tag and the peer's first TSN.
    a.send(7, 51, vec![1], SendOptions::default(), now).unwrap();
    assert!(a.poll_transmit(now, &mut buf) && buf.len() >= 20 && buf[12] == CT_DATA);
    v.b.handle_packet(&buf, now);
    while v.b.poll_event().is_some() {}
    v.vtag = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let first = u32::from_be_bytes([buf[16], buf[17], buf[18], buf[19]]);
    let base = first.wrapping_add(1);
    let mut next_req = first;
    v.start_packet();

    let (known, frag_sizes): (Vec<Known>, Vec<usize>) = known.into_iter().unzip();
    let mut chunks = Vec::new();
    let mut ssn = [0u16; 4];
    let mut tsn = base;
    for (k, &fs) in known.iter().zip(&frag_sizes) {
        let s = if k.unordered {
            0
        } else {
            ssn[k.stream as usize] += 1;
            ssn[k.stream as usize] - 1
        };
        let mut off = 0;
        while off < k.data.len() {
            let n = fs.min(k.data.len() - off);
            let mut flags = if k.unordered { 4 } else { 0 };
            if off == 0 {
                flags |= 2;
            }
            if off + n == k.data.len() {
                flags |= 1;
            }
            chunks.push(Chunk {
                tsn,
                flags,
                stream: k.stream,
                ssn: s,
                data: k.data[off..off + n].to_vec(),
            });
            tsn = tsn.wrapping_add(1);
            off += n;
        }
    }

    let mut forged = false;
    let mut ops = 0;
    while let Some(op) = input.byte() {
        ops += 1;
        if ops > 4096 || v.b.state() != State::Established {
            break;
        }
        match op % 8 {
            0..=3 => {
                let Some(i) = input.u16() else { break };
                let c = &chunks[i as usize % chunks.len()];
                v.add_data(&known, now, c);
            }
            4 => {
                // A run of known chunks in reverse order (END first).
                let (Some(s), Some(n)) = (input.u16(), input.byte()) else {
                    break;
                };
                let s = s as usize % chunks.len();
                let e = (s + n as usize).min(chunks.len());
                for c in chunks[s..e].iter().rev() {
                    v.add_data(&known, now, c);
                }
            }
            5 => {
                let (Some(off), Some(flags), Some(stream), Some(s), Some(len)) = (
                    input.u16(),
                    input.byte(),
                    input.byte(),
                    input.byte(),
                    input.byte(),
                ) else {
                    break;
                };
                forged = true;
                let c = Chunk {
                    tsn: base.wrapping_add(off as u32),
                    flags: flags & 0x0f,
                    stream: stream as u16 & 7,
                    ssn: s as u16,
                    data: vec![FORGED; 1 + len as usize * 4],
                };
                v.add_data(&known, now, &c);
            }
            6 => {
                let (Some(off), Some(n)) = (input.u16(), input.byte()) else {
                    break;
                };
                forged = true;
                let mut val = base
                    .wrapping_add(off as u32)
                    .wrapping_sub(1)
                    .to_be_bytes()
                    .to_vec();
                for _ in 0..n % 6 {
                    let (Some(st), Some(s)) = (input.byte(), input.byte()) else {
                        break;
                    };
                    val.extend_from_slice(&(st as u16 & 7).to_be_bytes());
                    val.extend_from_slice(&(s as u16).to_be_bytes());
                }
                v.add(&known, now, CT_FORWARD_TSN, 0, &val);
            }
            _ => {
                let Some(sub) = input.byte() else { break };
                if sub & 1 != 0 {
                    // Outgoing SSN reset request (RFC 6525 §4.1) for a few streams.
                    let Some(off) = input.u16() else { break };
                    forged = true;
                    let mut p = Vec::new();
                    p.extend_from_slice(&13u16.to_be_bytes());
                    let n = (sub >> 1) as usize & 3;
                    p.extend_from_slice(&((16 + 2 * n) as u16).to_be_bytes());
                    p.extend_from_slice(&next_req.to_be_bytes());
                    p.extend_from_slice(&0u32.to_be_bytes());
                    p.extend_from_slice(&base.wrapping_add(off as u32).to_be_bytes());
                    for i in 0..n {
                        p.extend_from_slice(
                            &((sub as u16 >> 3).wrapping_add(i as u16) & 7).to_be_bytes(),
                        );
                    }
                    while p.len() % 4 != 0 {
                        p.push(0);
                    }
                    next_req = next_req.wrapping_add(1);
                    v.add(&known, now, CT_RECONFIG, 0, &p);
                }
                v.flush(&known, now);
            }
        }
    }
    v.flush(&known, now);
    if forged || v.b.state() != State::Established {
        return;
    }
    // A sender resends everything in order, one chunk per packet, and the application
    // reads after each: every message arrives exactly once. (Several chunks per packet
    // could overrun a small receive window, and a receiver may drop DATA beyond its window,
    // RFC 9260 §6.2: a sender would retransmit, this one does not.)
    for c in &chunks {
        v.add_data(&known, now, c);
        v.flush(&known, now);
    }
    assert_eq!(v.b.state(), State::Established);
    for (id, &n) in v.delivered.iter().enumerate() {
        assert_eq!(n, 1, "message {id} delivered {n} times");
    }
    for stream in 0..4 {
        let ids: Vec<usize> = v
            .order
            .iter()
            .copied()
            .filter(|&i| known[i].stream == stream && !known[i].unordered)
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "stream {stream} out of order: {ids:?}"
        );
    }
});
