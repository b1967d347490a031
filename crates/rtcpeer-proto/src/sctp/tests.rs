//! Deterministic simulation of two associations over a lossy link with a virtual clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use super::chunk::{self, *};
use super::*;

/// xorshift64* generator for the simulated network.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[derive(Clone, Copy, Default)]
struct LinkCfg {
    delay: Duration,
    loss: f64,
    /// Probability that a packet gets up to `jitter` extra delay (reordering).
    reorder: f64,
    jitter: Duration,
    dup: f64,
    /// Bytes per second; 0 means unlimited.
    rate: u64,
    /// Drop-tail bottleneck queue: packets that would wait longer than this are lost.
    max_queue: Option<Duration>,
}

type Filter = Box<dyn FnMut(&[u8]) -> bool>;

struct Link {
    cfg: LinkCfg,
    queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    seq: u64,
    next_free: Option<Instant>,
    /// Returns false to drop a packet (targeted loss).
    filter: Option<Filter>,
    delivered: u64,
    queue_drops: u64,
}

impl Link {
    fn new(cfg: LinkCfg) -> Self {
        Link {
            cfg,
            queue: BinaryHeap::new(),
            seq: 0,
            next_free: None,
            filter: None,
            delivered: 0,
            queue_drops: 0,
        }
    }
    fn push(&mut self, now: Instant, p: &[u8], rng: &mut XorShift) {
        if let Some(f) = self.filter.as_mut()
            && !f(p)
        {
            return;
        }
        if rng.chance(self.cfg.loss) {
            return;
        }
        let mut t = now;
        if let Some(per_ns) = (p.len() as u64 * 1_000_000_000).checked_div(self.cfg.rate) {
            let start = self.next_free.map_or(now, |f| f.max(now));
            if self.cfg.max_queue.is_some_and(|q| start - now > q) {
                self.queue_drops += 1;
                return;
            }
            let tx = Duration::from_nanos(per_ns);
            self.next_free = Some(start + tx);
            t = start + tx;
        }
        t += self.cfg.delay;
        if rng.chance(self.cfg.reorder) {
            t += Duration::from_nanos(rng.below(self.cfg.jitter.as_nanos() as u64 + 1));
        }
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, p.to_vec())));
        if rng.chance(self.cfg.dup) {
            self.seq += 1;
            let extra = Duration::from_nanos(rng.below(self.cfg.jitter.as_nanos() as u64 + 1));
            self.queue.push(Reverse((t + extra, self.seq, p.to_vec())));
        }
    }
    fn next_time(&self) -> Option<Instant> {
        self.queue.peek().map(|r| r.0.0)
    }
}

struct Sim {
    now: Instant,
    start: Instant,
    a: Association,
    b: Association,
    ab: Link,
    ba: Link,
    rng: XorShift,
    buf: Vec<u8>,
    ev_a: Vec<Event>,
    ev_b: Vec<Event>,
    /// When false, B's events are not polled (an application that does not read).
    poll_b: bool,
}

impl Sim {
    fn new(cfg_ab: LinkCfg, cfg_ba: LinkCfg, seed: u64) -> Self {
        Self::with_configs(Config::default(), Config::default(), cfg_ab, cfg_ba, seed)
    }
    fn with_configs(ca: Config, cb: Config, cfg_ab: LinkCfg, cfg_ba: LinkCfg, seed: u64) -> Self {
        let now = Instant::now();
        Sim {
            now,
            start: now,
            a: Association::new(ca, now, seed ^ 0xA),
            b: Association::new(cb, now, seed ^ 0xB),
            ab: Link::new(cfg_ab),
            ba: Link::new(cfg_ba),
            rng: XorShift::new(seed),
            buf: Vec::with_capacity(2048),
            ev_a: Vec::new(),
            ev_b: Vec::new(),
            poll_b: true,
        }
    }
    fn elapsed(&self) -> Duration {
        self.now - self.start
    }
    fn flush(&mut self) {
        while self.a.poll_transmit(self.now, &mut self.buf) {
            assert!(self.buf.len() <= 1191 || self.buf.len() < 16 * 1024);
            self.ab.push(self.now, &self.buf, &mut self.rng);
        }
        while self.b.poll_transmit(self.now, &mut self.buf) {
            self.ba.push(self.now, &self.buf, &mut self.rng);
        }
        while let Some(e) = self.a.poll_event() {
            self.ev_a.push(e);
        }
        if self.poll_b {
            while let Some(e) = self.b.poll_event() {
                self.ev_b.push(e);
            }
        }
    }
    /// Advances to the next event; false when nothing is scheduled.
    fn step(&mut self) -> bool {
        self.flush();
        let next = [
            self.ab.next_time(),
            self.ba.next_time(),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(t) = next else { return false };
        if t > self.now {
            self.now = t;
        }
        while self.ab.next_time().is_some_and(|t| t <= self.now) {
            let Reverse((_, _, p)) = self.ab.queue.pop().unwrap();
            self.ab.delivered += 1;
            self.b.handle_packet(&p, self.now);
            self.flush();
        }
        while self.ba.next_time().is_some_and(|t| t <= self.now) {
            let Reverse((_, _, p)) = self.ba.queue.pop().unwrap();
            self.ba.delivered += 1;
            self.a.handle_packet(&p, self.now);
            self.flush();
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        true
    }
    /// Steps until `cond` holds or `limit` of virtual time passes; returns whether it held.
    fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            if cond(self) {
                return true;
            }
            if self.now > end || !self.step() {
                return cond(self);
            }
        }
    }
    fn connect(&mut self) {
        self.a.connect(self.now);
        let ok = self.run_until(Duration::from_secs(30), |s| {
            s.a.state() == State::Established && s.b.state() == State::Established
        });
        assert!(
            ok,
            "handshake did not complete: {:?} {:?}",
            self.a.state(),
            self.b.state()
        );
    }
}

fn has(ev: &[Event], f: impl Fn(&Event) -> bool) -> bool {
    ev.iter().any(f)
}

fn messages(ev: &[Event]) -> Vec<&Message> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// Deterministic payload for message `i` of length `len`.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Sizes from 1 B to 256 KiB, log-spread, deterministic.
fn sizes(n: usize, rng: &mut XorShift) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n)
        .map(|_| {
            let bits = rng.below(19) as u32; // up to 2^18 = 256 KiB
            (1usize << bits).min(256 * 1024) - rng.below(1 << bits) as usize / 2
        })
        .map(|s| s.clamp(1, 256 * 1024))
        .collect();
    v[0] = 1;
    if n > 1 {
        v[1] = 256 * 1024;
    }
    v
}

/// Sends all messages (respecting back-pressure) and checks byte-exact in-order delivery.
fn transfer(sim: &mut Sim, n: usize, streams: u16, opts: SendOptions, limit: Duration) {
    let mut rng = XorShift::new(77);
    let sz = sizes(n, &mut rng);
    let mut next = 0;
    let mut expected: HashMap<u16, Vec<usize>> = HashMap::new();
    let done = sim.run_until(limit, |s| {
        while next < n {
            let stream = (next % streams as usize) as u16;
            match s.a.send(stream, 53, payload(next, sz[next]), opts, s.now) {
                Ok(()) => {
                    expected.entry(stream).or_default().push(next);
                    next += 1;
                }
                Err(SendError::BufferFull) => break,
                Err(e) => panic!("send failed: {e}"),
            }
        }
        next == n && messages(&s.ev_b).len() == n
    });
    let got = messages(&sim.ev_b);
    assert!(
        done,
        "only {} of {n} messages delivered in {:?}",
        got.len(),
        sim.elapsed()
    );
    let mut per_stream: HashMap<u16, Vec<&Message>> = HashMap::new();
    for m in got {
        per_stream.entry(m.stream).or_default().push(m);
    }
    for (stream, idxs) in expected {
        let got = &per_stream[&stream];
        assert_eq!(got.len(), idxs.len());
        if opts.unordered {
            let mut want: Vec<Vec<u8>> = idxs.iter().map(|&i| payload(i, sz[i])).collect();
            let mut have: Vec<Vec<u8>> = got.iter().map(|m| m.data.clone()).collect();
            want.sort();
            have.sort();
            assert!(
                want == have,
                "unordered content mismatch on stream {stream}"
            );
        } else {
            for (m, &i) in got.iter().zip(&idxs) {
                assert_eq!(m.data.len(), sz[i], "message {i} length");
                assert!(m.data == payload(i, sz[i]), "message {i} content");
                assert_eq!(m.ppid, 53);
                assert!(!m.unordered);
            }
        }
    }
}

fn lossy(loss: f64) -> LinkCfg {
    LinkCfg {
        delay: Duration::from_millis(20),
        loss,
        reorder: 0.05,
        jitter: Duration::from_millis(15),
        dup: 0.02,
        rate: 0,
        max_queue: None,
    }
}

#[test]
fn handshake_completes_without_waiting_for_timers() {
    let mut sim = Sim::new(LinkCfg::default(), LinkCfg::default(), 1);
    sim.connect();
    assert_eq!(
        sim.elapsed(),
        Duration::ZERO,
        "zero-delay handshake must not wait on a timer"
    );
    assert!(has(&sim.ev_a, |e| *e == Event::Connected));
    assert!(has(&sim.ev_b, |e| *e == Event::Connected));
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 1);
    sim.connect();
    assert!(
        sim.elapsed() <= Duration::from_millis(120),
        "4 one-way trips: {:?}",
        sim.elapsed()
    );
}

#[test]
fn simultaneous_open_init_collision() {
    for delay in [0u64, 5, 30] {
        let cfg = LinkCfg {
            delay: Duration::from_millis(delay),
            ..Default::default()
        };
        let mut sim = Sim::new(cfg, cfg, 2 + delay);
        sim.a.connect(sim.now);
        sim.b.connect(sim.now);
        let ok = sim.run_until(Duration::from_secs(10), |s| {
            s.a.state() == State::Established && s.b.state() == State::Established
        });
        assert!(
            ok,
            "collision with delay {delay}: {:?} {:?}",
            sim.a.state(),
            sim.b.state()
        );
        sim.a
            .send(1, 51, b"from a".to_vec(), SendOptions::default(), sim.now)
            .unwrap();
        sim.b
            .send(1, 51, b"from b".to_vec(), SendOptions::default(), sim.now)
            .unwrap();
        assert!(
            sim.run_until(Duration::from_secs(5), |s| !messages(&s.ev_a).is_empty()
                && !messages(&s.ev_b).is_empty())
        );
        assert_eq!(messages(&sim.ev_b)[0].data, b"from a");
        assert_eq!(messages(&sim.ev_a)[0].data, b"from b");
        assert_eq!(
            sim.ev_a.iter().filter(|e| **e == Event::Connected).count(),
            1
        );
    }
}

#[test]
fn lost_cookie_echo_is_retransmitted() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 3);
    let mut dropped = 0;
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        if p.get(12) == Some(&CT_COOKIE_ECHO) && dropped < 2 {
            dropped += 1;
            return false;
        }
        true
    }));
    sim.connect();
    // Two T1-cookie expiries: 500 ms then 1 s.
    assert!(
        sim.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        sim.elapsed()
    );
    assert!(has(&sim.ev_b, |e| *e == Event::Connected));
}

#[test]
fn lost_init_ack_and_handshake_timeout() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 4);
    let mut dropped = false;
    sim.ba.filter = Some(Box::new(move |p: &[u8]| {
        let drop = p.get(12) == Some(&CT_INIT_ACK) && !dropped;
        dropped |= drop;
        !drop
    }));
    sim.connect();
    // A dead peer: the handshake fails after max_init_retransmissions.
    let mut sim = Sim::new(
        LinkCfg {
            loss: 1.0,
            ..lossy(0.0)
        },
        lossy(0.0),
        4,
    );
    sim.a.connect(sim.now);
    assert!(
        sim.run_until(Duration::from_secs(600), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::Aborted { .. }
        )))
    );
    assert_eq!(sim.a.state(), State::Closed);
}

fn run_reliable(loss: f64, seed: u64, n: usize) -> Sim {
    let mut sim = Sim::new(lossy(loss), lossy(loss), seed);
    sim.connect();
    transfer(
        &mut sim,
        n,
        3,
        SendOptions::default(),
        Duration::from_secs(3600),
    );
    let st = sim.a.stats();
    println!(
        "loss {:>4.1}%: {n} messages, virtual {:?}, packets {}, rtx {}, fast rtx {}, t3 {}, cwnd {}",
        loss * 100.0,
        sim.elapsed(),
        st.packets_sent,
        st.retransmissions,
        st.fast_retransmits,
        st.t3_expiries,
        st.cwnd
    );
    sim
}

#[test]
fn reliable_ordered_no_loss() {
    let sim = run_reliable(0.0, 10, 120);
    assert_eq!(sim.a.stats().t3_expiries, 0);
}

#[test]
fn reliable_ordered_one_percent_loss() {
    let sim = run_reliable(0.01, 11, 120);
    assert!(sim.a.stats().retransmissions > 0);
}

#[test]
fn reliable_ordered_ten_percent_loss() {
    let sim = run_reliable(0.10, 12, 80);
    assert!(sim.a.stats().fast_retransmits > 0);
    // After everything is acked nothing is kept.
    let mut sim = sim;
    assert!(sim.run_until(Duration::from_secs(120), |s| s.a.held_memory().0 == 0));
    assert_eq!(sim.b.held_memory().1, 0);
}

#[test]
fn unordered_delivery_with_loss() {
    let mut sim = Sim::new(lossy(0.05), lossy(0.05), 13);
    sim.connect();
    transfer(
        &mut sim,
        150,
        2,
        SendOptions {
            unordered: true,
            ..Default::default()
        },
        Duration::from_secs(3600),
    );
    assert!(messages(&sim.ev_b).iter().all(|m| m.unordered));
}

#[test]
fn unordered_small_messages_bypass_a_gap() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 14);
    sim.connect();
    // Drop the first DATA packet only; the later unordered messages arrive first.
    let mut first = true;
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        let data = p.get(12) == Some(&CT_DATA);
        let drop = data && first;
        first &= !data;
        !drop
    }));
    let o = SendOptions {
        unordered: true,
        ..Default::default()
    };
    for i in 0..5u8 {
        sim.a.send(0, 51, vec![i; 100], o, sim.now).unwrap();
        sim.flush();
    }
    assert!(sim.run_until(Duration::from_millis(30), |s| messages(&s.ev_b).len() == 4));
    assert!(sim.run_until(Duration::from_secs(5), |s| messages(&s.ev_b).len() == 5));
    assert_eq!(messages(&sim.ev_b)[4].data, vec![0; 100]);
}

/// Receiver consistency for partially reliable traffic: every delivered message is intact,
/// ordered ones stay in order, and a reliable stream sharing the association gets everything.
fn check_partial(sim: &Sim, sent: &[(u16, usize, usize)]) -> usize {
    let got = messages(&sim.ev_b);
    let mut last_idx: HashMap<u16, usize> = HashMap::new();
    let lens: HashMap<usize, usize> = sent.iter().map(|&(_, i, l)| (i, l)).collect();
    for m in &got {
        let i = u32::from_be_bytes(m.data[..4].try_into().unwrap()) as usize;
        let mut want = payload(i, lens[&i]);
        want[..4].copy_from_slice(&(i as u32).to_be_bytes());
        assert!(m.data == want, "message {i} corrupted");
        if !m.unordered
            && let Some(&prev) = last_idx.get(&m.stream)
        {
            assert!(
                i > prev,
                "stream {} out of order: {prev} then {i}",
                m.stream
            );
        }
        last_idx.insert(m.stream, i);
    }
    let reliable_sent = sent.iter().filter(|s| s.0 == 9).count();
    let reliable_got = got.iter().filter(|m| m.stream == 9).count();
    assert_eq!(reliable_got, reliable_sent, "reliable stream lost messages");
    got.len()
}

fn run_partial(opts: SendOptions, loss: f64, seed: u64) -> (Sim, usize, usize) {
    let mut sim = Sim::new(lossy(loss), lossy(loss), seed);
    sim.connect();
    let mut sent = Vec::new();
    let mut rng = XorShift::new(seed);
    for i in 0..400usize {
        let (stream, o) = if i % 5 == 4 {
            (9, SendOptions::default())
        } else {
            ((i % 2) as u16, opts)
        };
        let len = 4 + rng.below(if i % 7 == 0 { 6000 } else { 1000 }) as usize;
        let mut data = payload(i, len);
        data[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sim.a.send(stream, 51, data, o, sim.now).unwrap();
        sent.push((stream, i, len));
        // Pace the sender a bit so lifetimes matter.
        let until = sim.now + Duration::from_millis(2);
        sim.run_until(Duration::from_secs(1), |s| s.now >= until);
    }
    assert!(
        sim.run_until(Duration::from_secs(600), |s| s.a.held_memory().0 == 0
            && s.a.total_buffered_amount() == 0)
    );
    assert!(sim.run_until(Duration::from_secs(5), |s| s.b.held_memory().1 == 0));
    let got = check_partial(&sim, &sent);
    (sim, got, sent.len())
}

#[test]
fn pr_sctp_max_retransmits_zero_drops_and_stays_consistent() {
    for opts in [
        SendOptions {
            max_retransmits: Some(0),
            ..Default::default()
        },
        SendOptions {
            max_retransmits: Some(0),
            unordered: true,
            ..Default::default()
        },
    ] {
        let (sim, got, sent) = run_partial(opts, 0.10, 20);
        let st = sim.a.stats();
        println!(
            "max_retransmits=0 unordered={}: delivered {got}/{sent}, abandoned {}",
            opts.unordered, st.abandoned_messages
        );
        assert!(st.abandoned_messages > 0);
        assert!(got < sent);
        // Still usable afterwards.
        let mut sim = sim;
        sim.a
            .send(9, 51, b"after".to_vec(), SendOptions::default(), sim.now)
            .unwrap();
        assert!(sim.run_until(Duration::from_secs(30), |s| {
            messages(&s.ev_b).last().is_some_and(|m| m.data == b"after")
        }));
    }
}

#[test]
fn pr_sctp_lifetime_abandons_expired_messages() {
    let opts = SendOptions {
        lifetime: Some(Duration::from_millis(30)),
        ..Default::default()
    };
    let (sim, got, sent) = run_partial(opts, 0.05, 21);
    let st = sim.a.stats();
    println!(
        "lifetime 30ms: delivered {got}/{sent}, abandoned {}",
        st.abandoned_messages
    );
    assert!(st.abandoned_messages > 0);
    // Lifetime also drops messages that never left the send queue.
    let mut sim = Sim::new(
        LinkCfg {
            rate: 100_000,
            ..lossy(0.0)
        },
        lossy(0.0),
        22,
    );
    sim.connect();
    let o = SendOptions {
        lifetime: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    for i in 0..200 {
        sim.a.send(0, 51, payload(i, 1000), o, sim.now).unwrap();
    }
    assert!(
        sim.run_until(Duration::from_secs(60), |s| s.a.total_buffered_amount()
            == 0
            && s.a.held_memory().0 == 0)
    );
    let got = messages(&sim.ev_b).len();
    assert!(got > 0 && got < 200, "delivered {got}");
}

#[test]
fn stream_reset_round_trip() {
    let mut sim = Sim::new(lossy(0.02), lossy(0.02), 30);
    sim.connect();
    for i in 0..20 {
        sim.a
            .send(1, 51, payload(i, 3000), SendOptions::default(), sim.now)
            .unwrap();
    }
    sim.a.reset_streams(&[1], sim.now).unwrap();
    assert_eq!(
        sim.a
            .send(1, 51, b"x".to_vec(), SendOptions::default(), sim.now),
        Err(SendError::StreamResetting)
    );
    assert!(
        sim.run_until(Duration::from_secs(60), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::OutgoingStreamsReset { .. }
        )))
    );
    assert!(has(&sim.ev_a, |e| *e
        == Event::OutgoingStreamsReset { streams: vec![1] }));
    assert!(
        sim.run_until(Duration::from_secs(5), |s| has(&s.ev_b, |e| matches!(
            e,
            Event::IncomingStreamsReset { .. }
        )))
    );
    // The reset is reported after every message sent before it.
    let pos = sim
        .ev_b
        .iter()
        .position(|e| matches!(e, Event::IncomingStreamsReset { .. }))
        .unwrap();
    assert_eq!(messages(&sim.ev_b[..pos]).len(), 20);
    assert_eq!(
        sim.ev_b[pos],
        Event::IncomingStreamsReset { streams: vec![1] }
    );
    // The stream can be reused.
    sim.a
        .send(1, 51, b"again".to_vec(), SendOptions::default(), sim.now)
        .unwrap();
    assert!(sim.run_until(Duration::from_secs(10), |s| messages(&s.ev_b).len() == 21));
    assert_eq!(messages(&sim.ev_b)[20].data, b"again");
    // Both sides can reset (the peer's reset of its own outgoing stream).
    sim.b.reset_streams(&[1, 2], sim.now).unwrap();
    assert!(
        sim.run_until(Duration::from_secs(10), |s| has(&s.ev_b, |e| matches!(
            e,
            Event::OutgoingStreamsReset { .. }
        )))
    );
    assert!(has(&sim.ev_a, |e| *e
        == Event::IncomingStreamsReset {
            streams: vec![1, 2]
        }));
}

#[test]
fn stream_reset_deferred_while_data_missing() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 31);
    sim.connect();
    // Lose the first DATA packet so the request arrives before the data it covers.
    let mut first = true;
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        let data = p.get(12) == Some(&CT_DATA);
        let drop = data && first;
        first &= !data;
        !drop
    }));
    sim.a
        .send(3, 51, vec![7; 500], SendOptions::default(), sim.now)
        .unwrap();
    sim.a.reset_streams(&[3], sim.now).unwrap();
    assert!(
        sim.run_until(Duration::from_secs(30), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::OutgoingStreamsReset { .. }
        )))
    );
    let pos = sim
        .ev_b
        .iter()
        .position(|e| matches!(e, Event::IncomingStreamsReset { .. }))
        .unwrap();
    assert_eq!(messages(&sim.ev_b[..pos]).len(), 1);
}

#[test]
fn graceful_shutdown_delivers_queued_data() {
    let mut sim = Sim::new(lossy(0.03), lossy(0.03), 40);
    sim.connect();
    for i in 0..30 {
        sim.a
            .send(0, 51, payload(i, 20_000), SendOptions::default(), sim.now)
            .unwrap();
    }
    sim.a.shutdown(sim.now);
    assert_eq!(
        sim.a
            .send(0, 51, b"late".to_vec(), SendOptions::default(), sim.now),
        Err(SendError::NotConnected)
    );
    assert!(
        sim.run_until(Duration::from_secs(120), |s| has(&s.ev_a, |e| *e
            == Event::Closed)
            && has(&s.ev_b, |e| *e == Event::Closed))
    );
    assert_eq!(messages(&sim.ev_b).len(), 30);
    assert_eq!(sim.a.state(), State::Closed);
    assert_eq!(sim.b.state(), State::Closed);
    assert_eq!(sim.a.poll_timeout(), None);
}

#[test]
fn simultaneous_shutdown() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 41);
    sim.connect();
    sim.a.shutdown(sim.now);
    sim.b.shutdown(sim.now);
    assert!(
        sim.run_until(Duration::from_secs(30), |s| has(&s.ev_a, |e| *e
            == Event::Closed)
            && has(&s.ev_b, |e| *e == Event::Closed))
    );
}

#[test]
fn abort_is_reported_to_peer() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 42);
    sim.connect();
    sim.a
        .send(0, 51, vec![1; 10_000], SendOptions::default(), sim.now)
        .unwrap();
    sim.a.abort(sim.now);
    assert!(
        sim.run_until(Duration::from_secs(5), |s| has(&s.ev_b, |e| matches!(
            e,
            Event::Aborted { .. }
        )))
    );
    let (reason, cause) = sim
        .ev_b
        .iter()
        .find_map(|e| match e {
            Event::Aborted { reason, cause } => Some((reason.clone(), *cause)),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("user abort"));
    // The peer reports the ABORT's cause (RFC 9260 §3.3.10.12): the channels' sctpCauseCode.
    assert_eq!(cause, Some(EC_USER_ABORT));
    assert_eq!(sim.b.state(), State::Closed);
    assert_eq!(sim.a.poll_timeout(), None);
}

#[test]
fn dead_peer_aborts_after_max_retransmissions() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 43);
    sim.connect();
    sim.ab.cfg.loss = 1.0;
    sim.a
        .send(0, 51, vec![1; 100], SendOptions::default(), sim.now)
        .unwrap();
    assert!(
        sim.run_until(Duration::from_secs(3600), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::Aborted { cause: None, .. }
        )))
    );
    // T3 expiries and unanswered heartbeats both count (RFC 9260 §8.1).
    let t3 = sim.a.stats().t3_expiries;
    assert!((5..=11).contains(&t3), "t3 {t3}");
    assert_eq!(sim.a.state(), State::Closed);
}

#[test]
fn send_buffer_limit_and_buffered_amount_low() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 50);
    sim.connect();
    sim.a.set_buffered_amount_low_threshold(0, 100_000);
    let mut queued = 0;
    loop {
        match sim
            .a
            .send(0, 51, vec![0; 60_000], SendOptions::default(), sim.now)
        {
            Ok(()) => queued += 60_000,
            Err(SendError::BufferFull) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(queued <= 2_000_000 && queued > 1_900_000);
    assert_eq!(sim.a.buffered_amount(0), queued);
    assert_eq!(sim.a.total_buffered_amount(), queued);
    assert_eq!(
        sim.a
            .send(0, 51, vec![0; 300 * 1024], SendOptions::default(), sim.now),
        Err(SendError::MessageTooLarge)
    );
    assert_eq!(
        sim.a
            .send(0, 51, Vec::new(), SendOptions::default(), sim.now),
        Err(SendError::EmptyMessage)
    );
    assert!(
        sim.run_until(Duration::from_secs(10), |s| has(&s.ev_a, |e| *e
            == Event::BufferedAmountLow { stream: 0 }))
    );
    assert!(sim.a.buffered_amount(0) <= 100_000);
    assert_eq!(
        sim.ev_a
            .iter()
            .filter(|e| matches!(e, Event::BufferedAmountLow { .. }))
            .count(),
        1
    );
}

/// `BufferedAmountLow` follows a burst of sends even when the threshold was never
/// exceeded (W3C WPT-252), once per burst; messages marked `not_buffered` are not counted
/// and cause no event.
#[test]
fn buffered_amount_low_after_a_burst_below_the_threshold_and_uncounted_messages() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 52);
    sim.connect();
    sim.a.set_buffered_amount_low_threshold(0, 8);
    let lows = |s: &Sim| {
        s.ev_a
            .iter()
            .filter(|e| **e == Event::BufferedAmountLow { stream: 0 })
            .count()
    };
    let control = SendOptions {
        not_buffered: true,
        ..Default::default()
    };
    sim.a.send(0, 50, vec![3; 40], control, sim.now).unwrap();
    assert_eq!(sim.a.buffered_amount(0), 0);
    assert_eq!(
        sim.a.total_buffered_amount(),
        40,
        "still bounded by the buffer"
    );
    for _ in 0..3 {
        sim.a
            .send(0, 51, vec![1; 4], SendOptions::default(), sim.now)
            .unwrap();
    }
    assert_eq!(sim.a.buffered_amount(0), 12);
    assert!(
        sim.run_until(Duration::from_secs(5), |s| s.a.total_buffered_amount() == 0
            && has(&s.ev_b, |e| matches!(e, Event::Message(m) if m.ppid == 51)))
    );
    sim.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(lows(&sim), 1, "one event for the burst");
    // A message below the threshold on its own fires again; an uncounted one does not.
    sim.a
        .send(0, 51, vec![1; 4], SendOptions::default(), sim.now)
        .unwrap();
    sim.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(lows(&sim), 2);
    sim.a.send(0, 50, vec![3; 40], control, sim.now).unwrap();
    sim.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(sim.a.total_buffered_amount(), 0);
    assert_eq!(lows(&sim), 2);
}

#[test]
fn zero_window_when_application_does_not_read() {
    let cb = Config {
        receive_window: 200_000,
        ..Config::default()
    };
    let mut sim = Sim::with_configs(Config::default(), cb, lossy(0.0), lossy(0.0), 51);
    sim.connect();
    sim.poll_b = false;
    for i in 0..40 {
        sim.a
            .send(0, 51, payload(i, 20_000), SendOptions::default(), sim.now)
            .unwrap();
    }
    let until = sim.now + Duration::from_secs(5);
    sim.run_until(Duration::from_secs(6), |s| s.now >= until);
    // The receiver holds at most its window (plus one message being assembled).
    let mut held = 0;
    while let Some(e) = sim.b.poll_event() {
        if let Event::Message(m) = e {
            held += m.data.len();
            sim.ev_b.push(Event::Message(m));
        }
    }
    assert!(held <= 200_000 + 20_000, "held {held}");
    assert!(sim.a.total_buffered_amount() > 0, "sender must be blocked");
    sim.poll_b = true;
    assert!(sim.run_until(Duration::from_secs(120), |s| messages(&s.ev_b).len() == 40));
    for (i, m) in messages(&sim.ev_b).iter().enumerate() {
        assert!(m.data == payload(i, 20_000));
    }
}

#[test]
fn delayed_sack_does_not_stall_bulk_transfer() {
    // 20 ms one-way, no loss: 8 MiB must need no T3 expiry and only a few tens of RTTs.
    let cfg = LinkCfg {
        delay: Duration::from_millis(20),
        ..Default::default()
    };
    let mut sim = Sim::new(cfg, cfg, 60);
    sim.connect();
    let start = sim.now;
    let n = 128;
    for i in 0..n {
        while sim
            .a
            .send(
                0,
                51,
                vec![i as u8; 64 * 1024],
                SendOptions::default(),
                sim.now,
            )
            .is_err()
        {
            sim.step();
        }
    }
    assert!(sim.run_until(Duration::from_secs(60), |s| messages(&s.ev_b).len() == n));
    let took = sim.now - start;
    println!(
        "8 MiB over 40 ms RTT: {took:?} virtual, cwnd {}",
        sim.a.stats().cwnd
    );
    assert_eq!(sim.a.stats().t3_expiries, 0);
    assert!(took < Duration::from_secs(2), "transfer stalled: {took:?}");
    // SACK every second packet: about one SACK per two DATA packets (plus I-bit SACKs).
    let (data_pkts, sacks) = (sim.a.stats().packets_sent, sim.b.stats().sacks_sent);
    println!("data packets {data_pkts}, SACKs {sacks}");
    assert!(
        sacks * 10 >= data_pkts * 4 && sacks * 10 <= data_pkts * 7,
        "{sacks} SACKs for {data_pkts} packets"
    );
    // Small request/response exchanges are answered without the delayed-ack timer.
    let t = sim.now;
    sim.a
        .send(0, 51, b"ping".to_vec(), SendOptions::default(), sim.now)
        .unwrap();
    assert!(sim.run_until(Duration::from_secs(1), |s| s.a.held_memory().0 == 0));
    assert!(
        sim.now - t <= Duration::from_millis(41),
        "ack took {:?}",
        sim.now - t
    );
}

/// A peer that never sets the I bit (aiortc) and ends its flight on an odd packet: the
/// delayed SACK leaves at the end of the receive batch ([`Association::flush_delayed_sack`]),
/// not 200 ms later.
#[test]
fn flush_delayed_sack_acknowledges_a_lone_packet_without_the_timer() {
    let mut sim = Sim::new(LinkCfg::default(), LinkCfg::default(), 61);
    sim.connect();
    sim.flush();
    sim.a
        .send(0, 51, b"one".to_vec(), SendOptions::default(), sim.now)
        .unwrap();
    let mut pkt = Vec::new();
    assert!(sim.a.poll_transmit(sim.now, &mut pkt));
    // The DATA chunk follows the 12-byte common header; clear its I bit (RFC 7053).
    assert_eq!(pkt[12], CT_DATA);
    pkt[13] &= !FLAG_IMMEDIATE;
    let sacks = sim.b.stats().sacks_sent;
    sim.b.handle_packet(&pkt, sim.now);
    let mut out = Vec::new();
    assert!(
        !sim.b.poll_transmit(sim.now, &mut out),
        "one packet: SACK delayed"
    );
    assert!(sim.b.poll_timeout().is_some());
    sim.b.flush_delayed_sack();
    assert!(sim.b.poll_transmit(sim.now, &mut out));
    assert_eq!(out[12], CT_SACK);
    assert_eq!(sim.b.stats().sacks_sent, sacks + 1);
    // Nothing held back: a second flush sends nothing.
    sim.b.flush_delayed_sack();
    assert!(!sim.b.poll_transmit(sim.now, &mut out));
}

/// CPU time of this thread (Linux `schedstat`), falling back to wall time elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| {
            std::time::SystemTime::UNIX_EPOCH
                .elapsed()
                .unwrap_or_default()
        })
}

fn bulk(total: usize, zero_checksum: bool) {
    let cfg = Config {
        zero_checksum,
        ..Config::default()
    };
    let mut sim = Sim::with_configs(cfg.clone(), cfg, LinkCfg::default(), LinkCfg::default(), 70);
    sim.connect();
    let msg = 64 * 1024;
    let n = total / msg;
    let data = vec![0x5au8; msg];
    let cpu = thread_cpu();
    let mut sent = 0;
    let mut received = 0usize;
    while received < total {
        while sent < n
            && sim
                .a
                .send(0, 51, data.clone(), SendOptions::default(), sim.now)
                .is_ok()
        {
            sent += 1;
        }
        assert!(sim.step(), "stalled at {received} bytes");
        for m in sim.ev_b.drain(..) {
            if let Event::Message(m) = m {
                assert_eq!(m.data.len(), msg);
                received += m.data.len();
            }
        }
    }
    let secs = (thread_cpu() - cpu).as_secs_f64().max(1e-9);
    println!(
        "bulk {} MiB, zero checksum {zero_checksum}: {:.0} MB per CPU-second (both ends and the \
         simulated link in one thread, {} build), virtual {:?}, t3 {}",
        total >> 20,
        total as f64 / 1e6 / secs,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        sim.elapsed(),
        sim.a.stats().t3_expiries
    );
    assert_eq!(sim.a.stats().t3_expiries, 0);
    assert_eq!(sim.a.stats().retransmissions, 0);
}

#[test]
fn bulk_transfer_64_mib_zero_delay() {
    bulk(64 << 20, true);
    bulk(64 << 20, false);
}

#[test]
fn zero_checksum_negotiation() {
    for (za, zb) in [(true, true), (true, false), (false, true)] {
        let ca = Config {
            zero_checksum: za,
            ..Config::default()
        };
        let cb = Config {
            zero_checksum: zb,
            ..Config::default()
        };
        let mut sim = Sim::with_configs(ca, cb, LinkCfg::default(), LinkCfg::default(), 71);
        sim.connect();
        sim.a
            .send(0, 51, vec![1; 5000], SendOptions::default(), sim.now)
            .unwrap();
        let mut buf = Vec::new();
        assert!(sim.a.poll_transmit(sim.now, &mut buf));
        assert_eq!(buf[12], CT_DATA);
        let zero = buf[8..12] == [0, 0, 0, 0];
        assert_eq!(zero, za && zb, "zero checksum used with ({za}, {zb})");
        sim.b.handle_packet(&buf, sim.now);
        assert!(sim.run_until(Duration::from_secs(5), |s| messages(&s.ev_b).len() == 1));
    }
}

// ---- Hostile input ----

fn raw_packet(vtag: u32, chunks: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    chunk::begin_packet(
        &mut b,
        CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            vtag,
        },
    );
    b.extend_from_slice(chunks);
    chunk::finish_packet(&mut b);
    b
}

#[test]
fn hostile_packets_are_dropped_without_panic_or_growth() {
    let mut sim = Sim::new(LinkCfg::default(), LinkCfg::default(), 80);
    sim.connect();
    let tag = {
        // B's packets to A carry A's tag; capture B's expected tag from a real packet of A.
        sim.a
            .send(0, 51, b"x".to_vec(), SendOptions::default(), sim.now)
            .unwrap();
        let mut buf = Vec::new();
        assert!(sim.a.poll_transmit(sim.now, &mut buf));
        sim.b.handle_packet(&buf, sim.now);
        u32::from_be_bytes(buf[4..8].try_into().unwrap())
    };
    let before = sim.b.stats().packets_dropped;
    // Bad CRC.
    let mut p = raw_packet(tag, &[CT_COOKIE_ACK, 0, 0, 4]);
    p[12] ^= 0xff;
    sim.b.handle_packet(&p, sim.now);
    // Wrong tag.
    sim.b
        .handle_packet(&raw_packet(tag ^ 1, &[CT_ABORT, 0, 0, 4]), sim.now);
    // Wrong port.
    let mut p = raw_packet(tag, &[CT_ABORT, 0, 0, 4]);
    p[0] = 0x99;
    chunk::finish_packet(&mut p);
    sim.b.handle_packet(&p, sim.now);
    // INIT bundled with something else / with nonzero tag.
    sim.b.handle_packet(
        &raw_packet(
            0,
            &[
                CT_INIT, 0, 0, 20, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 11, 0, 0, 4,
            ],
        ),
        sim.now,
    );
    assert_eq!(sim.b.stats().packets_dropped, before + 4);
    // Chunk lengths past the end, short chunks, truncated DATA/SACK/FORWARD TSN/RE-CONFIG.
    for c in [
        vec![CT_DATA, 3, 0, 200, 0, 0, 0, 1],
        vec![CT_DATA, 3, 0, 2],
        vec![CT_DATA, 3, 0, 8, 0, 0, 0, 1],
        vec![
            CT_SACK, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![CT_FORWARD_TSN, 0, 0, 6, 0, 0],
        vec![CT_RECONFIG, 0, 0, 12, 0, 13, 0, 40, 0, 0, 0, 0],
        vec![CT_SHUTDOWN, 0, 0, 5, 1],
        vec![CT_HEARTBEAT_ACK, 0, 0, 8, 0, 1, 0, 4],
        vec![CT_COOKIE_ECHO, 0, 0, 8, 1, 2, 3, 4],
        vec![0x3f, 0, 0, 4],
        vec![0x7f, 0, 0, 8, 1, 2, 3, 4],
    ] {
        sim.b.handle_packet(&raw_packet(tag, &c), sim.now);
        sim.flush();
    }
    assert_eq!(sim.b.state(), State::Established);
    // DATA far outside the window and a flood of out-of-order chunks: bounded storage.
    let mut held_before = sim.b.held_memory().1;
    for i in 0..5000u32 {
        let mut c = Vec::new();
        chunk::write_data(
            &mut c,
            FLAG_BEGIN | FLAG_END,
            i.wrapping_mul(0x9E37_79B9),
            0,
            0,
            51,
            &[0; 1100],
        );
        sim.b.handle_packet(&raw_packet(tag, &c), sim.now);
        sim.b.poll_transmit(sim.now, &mut sim.buf);
        held_before = held_before.max(sim.b.held_memory().1);
    }
    assert!(
        held_before * 1100 <= Config::default().receive_window + 1100,
        "stored {held_before} chunks"
    );
    // FORWARD TSN far ahead is accepted but cannot make memory grow; then the association
    // is still consistent and usable.
    let mut c = Vec::new();
    chunk::write_forward_tsn(&mut c, 0x7fff_0000, &[(0, 5)]);
    sim.b.handle_packet(&raw_packet(tag, &c), sim.now);
    assert_eq!(sim.b.held_memory().1, 0);
    // Random garbage with valid CRC never panics.
    let mut rng = XorShift::new(81);
    for _ in 0..20_000 {
        let len = rng.below(80) as usize;
        let mut chunks: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(t) = chunks.first_mut() {
            *t = [0u8, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 130, 192, 0x80, 0x40]
                [rng.below(15) as usize];
        }
        if chunks.len() >= 4 {
            let l = (rng.below(len as u64 + 8)) as u16;
            chunks[2..4].copy_from_slice(&l.to_be_bytes());
        }
        let t = if rng.chance(0.9) {
            tag
        } else {
            rng.next() as u32
        };
        sim.b.handle_packet(&raw_packet(t, &chunks), sim.now);
        while sim.b.poll_transmit(sim.now, &mut sim.buf) {}
        while sim.b.poll_event().is_some() {}
    }
}

#[test]
fn forged_or_stale_cookie_is_rejected() {
    let mut sim = Sim::new(LinkCfg::default(), LinkCfg::default(), 90);
    // Capture B's INIT ACK to A's INIT.
    sim.a.connect(sim.now);
    let mut init = Vec::new();
    assert!(sim.a.poll_transmit(sim.now, &mut init));
    sim.b.handle_packet(&init, sim.now);
    let mut init_ack = Vec::new();
    assert!(sim.b.poll_transmit(sim.now, &mut init_ack));
    assert_eq!(init_ack[12], CT_INIT_ACK);
    let b_tag = u32::from_be_bytes(init_ack[16..20].try_into().unwrap());
    let cookie = ParamIter::new(&init_ack[32..])
        .find(|p| p.typ == PT_STATE_COOKIE)
        .map(|p| p.value.to_vec())
        .unwrap();
    // Tampered cookie: ignored.
    let mut bad = cookie.clone();
    bad[5] ^= 1;
    let mut c = Vec::new();
    chunk::write_chunk(&mut c, CT_COOKIE_ECHO, 0, &bad);
    sim.b.handle_packet(&raw_packet(b_tag, &c), sim.now);
    assert_eq!(sim.b.state(), State::Closed);
    assert!(sim.b.poll_event().is_none());
    // Stale cookie: an ERROR (stale cookie) comes back, no association.
    let late = sim.now + Duration::from_secs(61);
    let mut c = Vec::new();
    chunk::write_chunk(&mut c, CT_COOKIE_ECHO, 0, &cookie);
    sim.b.handle_packet(&raw_packet(b_tag, &c), late);
    assert_eq!(sim.b.state(), State::Closed);
    let mut out = Vec::new();
    assert!(sim.b.poll_transmit(late, &mut out));
    assert_eq!(out[12], CT_ERROR);
    // The genuine cookie works.
    sim.b.handle_packet(&raw_packet(b_tag, &c), sim.now);
    assert_eq!(sim.b.state(), State::Established);
}

#[test]
fn lost_shutdown_complete_is_answered_after_close() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 44);
    sim.connect();
    let mut dropped = false;
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        let drop = p.get(12) == Some(&CT_SHUTDOWN_COMPLETE) && !dropped;
        dropped |= drop;
        !drop
    }));
    sim.a.shutdown(sim.now);
    assert!(
        sim.run_until(Duration::from_secs(30), |s| has(&s.ev_b, |e| *e
            == Event::Closed))
    );
    assert!(has(&sim.ev_a, |e| *e == Event::Closed));
    assert!(!has(&sim.ev_b, |e| matches!(e, Event::Aborted { .. })));
    assert!(
        sim.elapsed() < Duration::from_secs(2),
        "{:?}",
        sim.elapsed()
    );
}

#[test]
fn congestion_control_on_a_drop_tail_bottleneck() {
    // 2 MB/s bottleneck with a 60 ms drop-tail queue and 25 ms one-way delay: the sender
    // must back off (losses come only from its own queue overflow) and still use the link.
    let fwd = LinkCfg {
        delay: Duration::from_millis(25),
        rate: 2_000_000,
        max_queue: Some(Duration::from_millis(60)),
        ..Default::default()
    };
    let back = LinkCfg {
        delay: Duration::from_millis(25),
        ..Default::default()
    };
    let mut sim = Sim::new(fwd, back, 90);
    sim.connect();
    let start = sim.now;
    let n = 160;
    let mut sent = 0;
    assert!(sim.run_until(Duration::from_secs(120), |s| {
        while sent < n
            && s.a
                .send(
                    0,
                    51,
                    payload(sent, 64 * 1024),
                    SendOptions::default(),
                    s.now,
                )
                .is_ok()
        {
            sent += 1;
        }
        messages(&s.ev_b).len() == n
    }));
    for (i, m) in messages(&sim.ev_b).iter().enumerate() {
        assert!(m.data == payload(i, 64 * 1024), "message {i}");
    }
    let secs = (sim.now - start).as_secs_f64();
    let goodput = (n * 64 * 1024) as f64 / secs;
    let st = sim.a.stats();
    println!(
        "bottleneck 2 MB/s: goodput {:.2} MB/s, queue drops {}, rtx {}, fast rtx {}, t3 {}, final cwnd {}",
        goodput / 1e6,
        sim.ab.queue_drops,
        st.retransmissions,
        st.fast_retransmits,
        st.t3_expiries,
        st.cwnd
    );
    assert!(
        sim.ab.queue_drops > 0,
        "the queue never overflowed: cwnd is not probing"
    );
    assert!(st.fast_retransmits > 0);
    assert!(goodput > 0.6 * 2_000_000.0, "goodput {goodput}");
}

#[test]
fn mutated_real_packets_never_panic() {
    // Capture real traffic (handshake, data, SACK, FORWARD TSN, RE-CONFIG, shutdown), then
    // replay byte-mutated copies with fixed checksums into fresh and established endpoints.
    let mut sim = Sim::new(lossy(0.05), lossy(0.05), 95);
    let captured = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Vec<u8>>::new()));
    let (c1, c2) = (captured.clone(), captured.clone());
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        c1.borrow_mut().push(p.to_vec());
        true
    }));
    sim.ba.filter = Some(Box::new(move |p: &[u8]| {
        c2.borrow_mut().push(p.to_vec());
        true
    }));
    sim.connect();
    let pr = SendOptions {
        max_retransmits: Some(0),
        ..Default::default()
    };
    for i in 0..60 {
        let o = if i % 2 == 0 {
            pr
        } else {
            SendOptions::default()
        };
        sim.a
            .send((i % 3) as u16, 51, payload(i, 100 + i * 97), o, sim.now)
            .unwrap();
    }
    sim.run_until(Duration::from_secs(30), |s| s.a.held_memory().0 == 0);
    sim.a.reset_streams(&[1], sim.now).unwrap();
    sim.run_until(Duration::from_secs(30), |s| {
        has(&s.ev_a, |e| matches!(e, Event::OutgoingStreamsReset { .. }))
    });
    sim.a.shutdown(sim.now);
    sim.run_until(Duration::from_secs(30), |s| {
        has(&s.ev_b, |e| *e == Event::Closed)
    });
    let packets = captured.borrow().clone();
    assert!(packets.len() > 50);
    let mut rng = XorShift::new(96);
    let now = sim.now;
    let mut target = Sim::new(LinkCfg::default(), LinkCfg::default(), 95);
    target.connect();
    let mut buf = Vec::new();
    let mut accepted = 0;
    for round in 0..30_000 {
        if target.a.state() == State::Closed || target.b.state() == State::Closed {
            accepted += target.a.stats().packets_received + target.b.stats().packets_received;
            target = Sim::new(LinkCfg::default(), LinkCfg::default(), 95);
            target.connect();
        }
        let mut p = packets[rng.below(packets.len() as u64) as usize].clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(p.len() as u64) as usize;
            p[i] = rng.next() as u8;
        }
        if rng.chance(0.2) {
            p.truncate(12 + rng.below(p.len() as u64) as usize);
        }
        chunk::finish_packet(&mut p);
        let t = now + Duration::from_millis(round);
        target.a.handle_packet(&p, t);
        target.b.handle_packet(&p, t);
        for x in [&mut target.a, &mut target.b] {
            x.handle_timeout(t);
            while x.poll_transmit(t, &mut buf) {}
            while x.poll_event().is_some() {}
            let (out, stored) = x.held_memory();
            assert!(out <= tx::MAX_OUTSTANDING && stored <= 65_536);
        }
    }
    // Same seeds as the capture: tags match, so most mutations reach the chunk handlers.
    accepted += target.a.stats().packets_received + target.b.stats().packets_received;
    println!("mutated packets accepted past the header checks: {accepted}");
    assert!(
        accepted > 10_000,
        "only {accepted} packets reached chunk processing"
    );
}

#[test]
fn ordered_streams_do_not_block_each_other() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 15);
    sim.connect();
    let mut first = true;
    sim.ab.filter = Some(Box::new(move |p: &[u8]| {
        let data = p.get(12) == Some(&CT_DATA);
        let drop = data && first;
        first &= !data;
        !drop
    }));
    sim.a
        .send(0, 51, vec![9; 100], SendOptions::default(), sim.now)
        .unwrap();
    sim.flush();
    // Within the initial cwnd; the second message is fragmented.
    let sizes = [700, 1500, 700, 700, 700];
    for (i, &n) in sizes.iter().enumerate() {
        sim.a
            .send(1, 51, vec![i as u8; n], SendOptions::default(), sim.now)
            .unwrap();
        sim.flush();
    }
    // Stream 1 (including fragmented messages) is delivered one trip later, before the loss
    // on stream 0 is repaired.
    assert!(sim.run_until(Duration::from_millis(30), |s| messages(&s.ev_b).len() == 5));
    assert!(messages(&sim.ev_b).iter().all(|m| m.stream == 1));
    assert!(sim.run_until(Duration::from_secs(5), |s| messages(&s.ev_b).len() == 6));
    assert_eq!(messages(&sim.ev_b)[5].data, vec![9; 100]);
    for (i, m) in messages(&sim.ev_b)[..5].iter().enumerate() {
        assert_eq!(m.data, vec![i as u8; sizes[i]]);
    }
}

#[test]
fn heartbeats_keep_idle_association_and_detect_dead_peer() {
    let mut sim = Sim::new(lossy(0.0), lossy(0.0), 45);
    sim.connect();
    let until = sim.now + Duration::from_secs(300);
    sim.run_until(Duration::from_secs(301), |s| s.now >= until);
    assert_eq!(sim.a.state(), State::Established);
    assert_eq!(sim.b.state(), State::Established);
    assert!(
        sim.a.stats().packets_sent >= 10,
        "heartbeats are sent while idle"
    );
    // The RTT measured by heartbeats is 40 ms, so the RTO sits at its 400 ms floor.
    assert_eq!(sim.a.stats().rto, Duration::from_millis(400));
    // Now the peer vanishes: unanswered heartbeats abort the association.
    sim.ab.cfg.loss = 1.0;
    assert!(
        sim.run_until(Duration::from_secs(3600), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::Aborted { .. }
        )))
    );
}

#[test]
fn oversized_incoming_message_aborts() {
    let cb = Config {
        max_message_size: 64 * 1024,
        ..Config::default()
    };
    let mut sim = Sim::with_configs(Config::default(), cb, lossy(0.0), lossy(0.0), 46);
    sim.connect();
    sim.a
        .send(0, 51, vec![1; 100 * 1024], SendOptions::default(), sim.now)
        .unwrap();
    assert!(
        sim.run_until(Duration::from_secs(10), |s| has(&s.ev_a, |e| matches!(
            e,
            Event::Aborted { .. }
        )))
    );
    assert!(has(
        &sim.ev_b,
        |e| matches!(e, Event::Aborted { reason, .. } if reason.contains("max message size"))
    ));
    assert!(messages(&sim.ev_b).is_empty());
}

#[test]
fn stream_numbers_are_negotiated() {
    let cb = Config {
        num_streams: 10,
        ..Config::default()
    };
    let mut sim = Sim::with_configs(Config::default(), cb, lossy(0.0), lossy(0.0), 47);
    sim.connect();
    assert_eq!(
        sim.a
            .send(10, 51, b"x".to_vec(), SendOptions::default(), sim.now),
        Err(SendError::InvalidStream)
    );
    assert_eq!(
        sim.a
            .send(9, 51, b"x".to_vec(), SendOptions::default(), sim.now),
        Ok(())
    );
    assert_eq!(
        sim.b
            .send(100, 51, b"y".to_vec(), SendOptions::default(), sim.now),
        Err(SendError::InvalidStream)
    );
}

#[test]
fn data_queued_before_connect_rides_with_cookie_echo() {
    let cfg = LinkCfg {
        delay: Duration::from_millis(20),
        ..Default::default()
    };
    let mut sim = Sim::new(cfg, cfg, 48);
    sim.a
        .send(3, 50, b"open".to_vec(), SendOptions::default(), sim.now)
        .unwrap();
    sim.a.connect(sim.now);
    // INIT, INIT ACK, COOKIE ECHO + DATA: three one-way trips.
    assert!(sim.run_until(Duration::from_secs(1), |s| !messages(&s.ev_b).is_empty()));
    assert_eq!(sim.elapsed(), Duration::from_millis(60));
    assert_eq!(messages(&sim.ev_b)[0].data, b"open");
    assert!(sim.run_until(Duration::from_secs(1), |s| s.a.held_memory().0 == 0));
}

#[test]
fn answers_a_captured_usrsctp_init() {
    // An INIT as sent by usrsctp (public pion/sctp test vector, real CRC32c): initiate tag
    // 0x55b964a5, forward TSN + RE-CONFIG + AUTH parameters.
    let init: [u8; 100] = [
        0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, 0x81, 0x46, 0x9d, 0xfc, 0x01, 0x00, 0x00,
        0x56, 0x55, 0xb9, 0x64, 0xa5, 0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0xe8, 0x6d,
        0x10, 0x30, 0xc0, 0x00, 0x00, 0x04, 0x80, 0x08, 0x00, 0x09, 0xc0, 0x0f, 0xc1, 0x80, 0x82,
        0x00, 0x00, 0x00, 0x80, 0x02, 0x00, 0x24, 0x9f, 0xeb, 0xbb, 0x5c, 0x50, 0xc9, 0xbf, 0x75,
        0x9c, 0xb1, 0x2c, 0x57, 0x4f, 0xa4, 0x5a, 0x51, 0xba, 0x60, 0x17, 0x78, 0x27, 0x94, 0x5c,
        0x31, 0xe6, 0x5d, 0x5b, 0x09, 0x47, 0xe2, 0x22, 0x06, 0x80, 0x04, 0x00, 0x06, 0x00, 0x01,
        0x00, 0x00, 0x80, 0x03, 0x00, 0x06, 0x80, 0xc1, 0x00, 0x00,
    ];
    let now = Instant::now();
    let mut b = Association::new(Config::default(), now, 7);
    b.handle_packet(&init, now);
    assert_eq!(b.stats().packets_received, 1, "CRC32c and layout accepted");
    let mut out = Vec::new();
    assert!(b.poll_transmit(now, &mut out));
    let (h, chunks) = chunk::parse_packet(&out, false).unwrap();
    assert_eq!(h.vtag, 0x55b9_64a5);
    let c = ChunkIter::new(chunks).next().unwrap();
    assert_eq!(c.typ, CT_INIT_ACK);
    let ack = Init::parse(c.value).unwrap();
    assert_eq!(ack.a_rwnd, 5 * 1024 * 1024);
    let types: Vec<u16> = ParamIter::new(ack.params).map(|p| p.typ).collect();
    assert!(types.contains(&PT_STATE_COOKIE));
    assert!(types.contains(&PT_FORWARD_TSN_SUPPORTED));
    assert!(types.contains(&PT_SUPPORTED_EXTENSIONS));
    // The AUTH parameters are known and not reported as unrecognized.
    assert!(!types.contains(&PT_UNRECOGNIZED_PARAM));
    assert_eq!(
        b.state(),
        State::Closed,
        "INIT handling is stateless until COOKIE ECHO"
    );
}

#[test]
fn cwnd_decays_after_idle() {
    let cfg = LinkCfg {
        delay: Duration::from_millis(20),
        ..Default::default()
    };
    let mut sim = Sim::new(cfg, cfg, 49);
    sim.connect();
    for i in 0..30 {
        sim.a
            .send(0, 51, payload(i, 60_000), SendOptions::default(), sim.now)
            .unwrap();
    }
    assert!(
        sim.run_until(Duration::from_secs(30), |s| s.a.held_memory().0 == 0
            && s.a.total_buffered_amount() == 0)
    );
    let grown = sim.a.stats().cwnd;
    assert!(grown > 100_000, "cwnd {grown}");
    let until = sim.now + Duration::from_secs(10);
    sim.run_until(Duration::from_secs(11), |s| s.now >= until);
    sim.a
        .send(0, 51, vec![1; 100], SendOptions::default(), sim.now)
        .unwrap();
    sim.flush();
    assert_eq!(
        sim.a.stats().cwnd,
        4 * 1191,
        "idle for many RTOs: back to 4 MTU"
    );
}

#[test]
fn soak_mixed_traffic_many_seeds() {
    // Random link conditions and a mix of reliable, unordered and partially reliable
    // messages in both directions; reliable streams must arrive complete and in order, every
    // delivered message intact, and both ends must drain to zero held memory.
    for seed in 0..8u64 {
        let mut rng = XorShift::new(1000 + seed);
        let loss = [0.0, 0.005, 0.03, 0.15][rng.below(4) as usize];
        let link = LinkCfg {
            delay: Duration::from_millis(1 + rng.below(40)),
            loss,
            reorder: rng.below(10) as f64 / 100.0,
            jitter: Duration::from_millis(rng.below(20)),
            dup: rng.below(5) as f64 / 100.0,
            rate: if rng.chance(0.3) {
                1_000_000 + rng.below(5_000_000)
            } else {
                0
            },
            max_queue: Some(Duration::from_millis(200)),
        };
        let mut sim = Sim::new(link, link, 2000 + seed);
        if rng.chance(0.5) {
            sim.a.connect(sim.now);
            sim.b.connect(sim.now);
            assert!(sim.run_until(Duration::from_secs(60), |s| s.a.state()
                == State::Established
                && s.b.state() == State::Established));
        } else {
            sim.connect();
        }
        let mut sent: Vec<(bool, u16, usize, usize, bool)> = Vec::new(); // (from_a, stream, idx, len, reliable)
        for i in 0..150usize {
            let from_a = rng.chance(0.7);
            let kind = rng.below(4);
            let (stream, opts) = match kind {
                0 => (1, SendOptions::default()),
                1 => (
                    2,
                    SendOptions {
                        unordered: true,
                        ..Default::default()
                    },
                ),
                2 => (
                    3,
                    SendOptions {
                        max_retransmits: Some(rng.below(3) as u16),
                        ..Default::default()
                    },
                ),
                _ => (
                    4,
                    SendOptions {
                        lifetime: Some(Duration::from_millis(50 + rng.below(200))),
                        unordered: rng.chance(0.5),
                        ..Default::default()
                    },
                ),
            };
            let len = 4 + if rng.chance(0.1) {
                rng.below(100_000)
            } else {
                rng.below(2000)
            } as usize;
            let mut data = payload(i, len);
            data[..4].copy_from_slice(&(i as u32).to_be_bytes());
            let (tx, _) = if from_a {
                (&mut sim.a, &mut sim.b)
            } else {
                (&mut sim.b, &mut sim.a)
            };
            if tx.send(stream, 51, data, opts, sim.now).is_ok() {
                sent.push((from_a, stream, i, len, kind < 2));
            }
            let until = sim.now + Duration::from_millis(rng.below(5));
            sim.run_until(Duration::from_secs(1), |s| s.now >= until);
        }
        let drained = sim.run_until(Duration::from_secs(900), |s| {
            s.a.held_memory().0 == 0
                && s.b.held_memory().0 == 0
                && s.a.total_buffered_amount() == 0
                && s.b.total_buffered_amount() == 0
                && s.a.held_memory().1 == 0
                && s.b.held_memory().1 == 0
        });
        assert!(drained, "seed {seed}: did not drain");
        for (from_a, evs) in [(true, &sim.ev_b), (false, &sim.ev_a)] {
            let got = messages(evs);
            let lens: HashMap<usize, usize> = sent
                .iter()
                .filter(|s| s.0 == from_a)
                .map(|s| (s.2, s.3))
                .collect();
            let mut last: HashMap<u16, usize> = HashMap::new();
            for m in &got {
                let i = u32::from_be_bytes(m.data[..4].try_into().unwrap()) as usize;
                let mut want = payload(i, lens[&i]);
                want[..4].copy_from_slice(&(i as u32).to_be_bytes());
                assert!(m.data == want, "seed {seed}: message {i} corrupted");
                if !m.unordered {
                    if let Some(&p) = last.get(&m.stream) {
                        assert!(i > p, "seed {seed}: stream {} reordered", m.stream);
                    }
                    last.insert(m.stream, i);
                }
            }
            for s in sent.iter().filter(|s| s.0 == from_a && s.4) {
                assert!(
                    got.iter().any(|m| m.stream == s.1
                        && m.data.len() == s.3
                        && u32::from_be_bytes(m.data[..4].try_into().unwrap()) as usize == s.2),
                    "seed {seed}: reliable message {} lost",
                    s.2
                );
            }
        }
        assert_eq!(sim.a.state(), State::Established, "seed {seed}");
        let per_kind = |stream: u16| {
            let sent_n = sent.iter().filter(|s| s.1 == stream).count();
            let got_n = messages(&sim.ev_b)
                .iter()
                .chain(messages(&sim.ev_a).iter())
                .filter(|m| m.stream == stream)
                .count();
            format!("{got_n}/{sent_n}")
        };
        println!(
            "  per stream delivered: reliable {} unordered {} max_rtx {} lifetime {}",
            per_kind(1),
            per_kind(2),
            per_kind(3),
            per_kind(4)
        );
        println!(
            "soak seed {seed}: loss {:.1}%, rate {}, {} sent, a->b {} / b->a {} delivered, virtual {:?}",
            loss * 100.0,
            link.rate,
            sent.len(),
            messages(&sim.ev_b).len(),
            messages(&sim.ev_a).len(),
            sim.elapsed()
        );
    }
}

#[test]
fn association_is_small_and_send() {
    fn is_send<T: Send>() {}
    is_send::<Association>();
    let size = std::mem::size_of::<Association>();
    println!("size_of::<Association>() = {size} bytes");
    assert!(size < 4096, "{size}");
}

#[test]
fn data_without_user_data_aborts() {
    let mut sim = Sim::new(LinkCfg::default(), LinkCfg::default(), 85);
    sim.connect();
    sim.a
        .send(0, 51, b"x".to_vec(), SendOptions::default(), sim.now)
        .unwrap();
    let mut buf = Vec::new();
    assert!(sim.a.poll_transmit(sim.now, &mut buf));
    let tag = u32::from_be_bytes(buf[4..8].try_into().unwrap());
    let mut c = Vec::new();
    chunk::write_data(&mut c, FLAG_BEGIN | FLAG_END, 12345, 0, 0, 51, &[]);
    sim.b.handle_packet(&raw_packet(tag, &c), sim.now);
    assert_eq!(sim.b.state(), State::Closed);
    let mut out = Vec::new();
    assert!(sim.b.poll_transmit(sim.now, &mut out));
    assert_eq!(out[12], CT_ABORT);
    assert_eq!(u16::from_be_bytes([out[16], out[17]]), EC_NO_USER_DATA);
    sim.a.handle_packet(&out, sim.now);
    let evs: Vec<Event> = std::iter::from_fn(|| sim.a.poll_event()).collect();
    assert!(has(
        &evs,
        |e| matches!(e, Event::Aborted { reason, cause: Some(EC_NO_USER_DATA) }
            if reason.contains("no user data"))
    ));
}

#[test]
fn unknown_init_parameters_are_reported() {
    // An INIT with an unknown parameter of type 0xCxxx (skip and report): the INIT ACK carries
    // it back in an Unrecognized Parameter and later parameters are still processed.
    let now = Instant::now();
    let mut b = Association::new(Config::default(), now, 9);
    let mut c = Vec::new();
    let s = Init {
        initiate_tag: 77,
        a_rwnd: 100_000,
        outbound_streams: 10,
        inbound_streams: 10,
        initial_tsn: 5,
        params: &[],
    }
    .begin(&mut c, CT_INIT);
    chunk::write_param(&mut c, 0xC123, &[1, 2, 3]);
    chunk::write_param(&mut c, PT_FORWARD_TSN_SUPPORTED, &[]);
    chunk::end_chunk(&mut c, s);
    b.handle_packet(&raw_packet(0, &c), now);
    let mut out = Vec::new();
    assert!(b.poll_transmit(now, &mut out));
    let ch = ChunkIter::new(&out[12..]).next().unwrap();
    let ack = Init::parse(ch.value).unwrap();
    let unrec: Vec<_> = ParamIter::new(ack.params)
        .filter(|p| p.typ == PT_UNRECOGNIZED_PARAM)
        .collect();
    assert_eq!(unrec.len(), 1);
    assert_eq!(unrec[0].value, &[0xC1, 0x23, 0, 7, 1, 2, 3]);
    // The peer's FORWARD TSN support after the unknown parameter was still seen.
    let cookie = ParamIter::new(ack.params)
        .find(|p| p.typ == PT_STATE_COOKIE)
        .unwrap();
    let fwd_flag = cookie.value[24];
    assert_eq!(fwd_flag & 1, 1);
}
