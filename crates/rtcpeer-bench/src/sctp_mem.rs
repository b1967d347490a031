//! `sctp`: rtcpeer's own sans-IO SCTP alone — two associations in one thread over an
//! in-memory link with a virtual clock (no DTLS, no UDP, no runtime).
//!
//! - CPU efficiency: zero delay, no loss; MB (10^6 bytes) of user data delivered per
//!   CPU-second of this thread (both associations run on it).
//! - Goodput: one-way delay RTT/2 per packet in each direction, independent random loss of
//!   each packet (both directions, SACKs too, seeded so a run is reproducible), no rate
//!   limit on the link — so goodput is what the congestion window, receive window and loss
//!   recovery allow: bytes delivered / virtual time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rtcpeer_proto::sctp::{Association, Config, Event, SendOptions, State};

use crate::measure::thread_cpu;

/// Result of one in-memory SCTP transfer.
#[derive(Debug, Clone, Copy)]
pub struct SctpRun {
    /// User bytes delivered.
    pub bytes: u64,
    /// Virtual time from the first send to the last delivery.
    pub virtual_time: Duration,
    /// CPU time of this thread for the transfer.
    pub cpu: Duration,
    /// DATA chunks retransmitted by the sender.
    pub retransmissions: u64,
    /// The sender's congestion window at the end (bytes).
    pub final_cwnd: usize,
    /// Retransmission timeouts at the sender.
    pub t3_expiries: u64,
}

impl SctpRun {
    /// MB (10^6 bytes) per CPU-second.
    pub fn mb_per_cpu_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.cpu.as_secs_f64().max(1e-9)
    }

    /// Goodput in MB/s of virtual time.
    pub fn goodput(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.virtual_time.as_secs_f64().max(1e-9)
    }
}

/// xorshift64*: a small seeded generator for the loss decisions.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A packet in flight: arrival time, sequence (FIFO among equal times), to B?, bytes.
type InFlight = Reverse<(Instant, u64, bool, Vec<u8>)>;

/// Moves `total` bytes from A to B in `msg`-byte messages over a link with `rtt` and `loss`.
pub fn transfer(total: u64, msg: usize, rtt: Duration, loss: f64, seed: u64) -> SctpRun {
    let start = Instant::now();
    let mut now = start;
    let mut a = Association::new(Config::default(), now, seed);
    let mut b = Association::new(Config::default(), now, seed ^ 0x9e37_79b9);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1); // distinct per seed, never 0
    let one_way = rtt / 2;
    let mut link: BinaryHeap<InFlight> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = Vec::with_capacity(2048);
    let payload = vec![0x5au8; msg];
    let n = total.div_ceil(msg as u64);
    let (mut sent, mut got, mut bytes) = (0u64, 0u64, 0u64);
    let mut t0: Option<(Instant, Duration)> = None;
    let mut end = now;
    a.connect(now);
    loop {
        if a.state() == State::Established && t0.is_none() {
            t0 = Some((now, thread_cpu()));
        }
        let mut progress = false;
        if t0.is_some() {
            while sent < n
                && a.send(0, 53, payload.clone(), SendOptions::default(), now)
                    .is_ok()
            {
                sent += 1;
                progress = true;
            }
        }
        // Flush both sides onto the link (zero delay: deliver at once, in order).
        let mut moved = true;
        while moved {
            moved = false;
            for to_b in [true, false] {
                let (from, to) = if to_b {
                    (&mut a, &mut b)
                } else {
                    (&mut b, &mut a)
                };
                while from.poll_transmit(now, &mut buf) {
                    moved = true;
                    progress = true;
                    if loss > 0.0 && rng.unit() < loss {
                        continue;
                    }
                    if one_way.is_zero() {
                        to.handle_packet(&buf, now);
                    } else {
                        seq += 1;
                        link.push(Reverse((now + one_way, seq, to_b, buf.clone())));
                    }
                }
            }
        }
        while a.poll_event().is_some() {}
        while let Some(e) = b.poll_event() {
            if let Event::Message(m) = e {
                bytes += m.data.len() as u64;
                got += 1;
                end = now;
            }
        }
        if got >= n {
            break;
        }
        if progress {
            continue;
        }
        if a.state() == State::Closed && t0.is_some() {
            panic!("association failed during the in-memory transfer");
        }
        // Advance the virtual clock to the next arrival or timer.
        let next_packet = link.peek().map(|Reverse((t, ..))| *t);
        let next = [next_packet, a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            panic!("in-memory SCTP transfer stalled with nothing scheduled");
        };
        now = now.max(next);
        // One arrival per turn, then both sides transmit what it allowed: a burst that
        // arrives "at once" is still processed packet by packet with the sender answering
        // each SACK, as over a real link (ack clocking).
        if link.peek().is_some_and(|Reverse((t, ..))| *t <= now)
            && let Some(Reverse((_, _, to_b, p))) = link.pop()
        {
            if to_b {
                b.handle_packet(&p, now);
            } else {
                a.handle_packet(&p, now);
            }
        }
        for s in [&mut a, &mut b] {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }
    let (v0, c0) = t0.unwrap_or((start, Duration::ZERO));
    SctpRun {
        bytes,
        virtual_time: end.duration_since(v0),
        cpu: thread_cpu().saturating_sub(c0),
        retransmissions: a.stats().retransmissions,
        final_cwnd: a.stats().cwnd,
        t3_expiries: a.stats().t3_expiries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_everything_without_and_with_loss() {
        let r = transfer(1 << 20, 64 * 1024, Duration::ZERO, 0.0, 1);
        assert_eq!(r.bytes, 1 << 20);
        assert_eq!(r.retransmissions, 0);
        let r = transfer(1 << 20, 64 * 1024, Duration::from_millis(10), 0.01, 7);
        assert_eq!(r.bytes, 1 << 20);
        assert!(r.virtual_time >= Duration::from_millis(10));
    }
}
