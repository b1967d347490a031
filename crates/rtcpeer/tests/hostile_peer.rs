//! The adversarial harness (issue 12): a raw attacker peer (`common/attacker.rs`) gets into
//! a victim `PeerConnection` the way any peer can — real ICE and DTLS over UDP on 127.0.0.1
//! — and then abuses every layer by hand. One test per attack family; each bounds what the
//! attack costs the victim: CPU time of the victim's thread, heap growth of the process, and
//! the echo latency of a second, legitimate connection served by the same victim thread
//! during the attack (`common/victim.rs`). Where the attack should not kill the attacked
//! connection, a message round trip afterwards proves it still works.
//!
//! The figures each test measured are printed (`--nocapture`) for the README's "Security"
//! section. Run it in a loopback-only namespace:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test hostile_peer'`.

mod common;

use std::time::{Duration, Instant};

use common::attacker::Attacker;
use common::budget;
use common::victim::{EchoStats, LegitClient, Victim};

#[global_allocator]
static ALLOC: budget::CountingAllocator = budget::CountingAllocator;

/// Echo latency of the legitimate connection allowed during an attack (p99). A victim
/// blocked by quadratic work holds it for seconds to minutes; the normal figure on loopback
/// is about a millisecond, so this bound is wide for a loaded 2-core CI machine.
const ECHO_P99_BOUND: Duration = Duration::from_millis(500);

/// Round trips of the legitimate connection sampled during each attack.
const ECHO_SAMPLES: usize = 30;

/// A victim with a legitimate client, and an attacker connected to it up to SCTP with one
/// open echo channel.
struct Scene {
    victim: Victim,
    legit: LegitClient,
    attacker: Attacker,
    /// The attacker's echo channel (a stream of its parity).
    echo_stream: u16,
}

impl Scene {
    /// Everything connected; the attacker's echo channel open and answering.
    fn new(seed: u64) -> Scene {
        let victim = Victim::start();
        let legit = LegitClient::connect(&victim);
        let mut attacker = Scene::attacker_in(&victim, seed);
        attacker.connect();
        // The DTLS server (the attacker: the victim answered a=setup:active) uses odd stream
        // ids (RFC 8832 §6).
        let echo_stream = 1;
        attacker.open_channel(echo_stream, "echo-attacker");
        attacker.echo(echo_stream, "hello");
        Scene {
            victim,
            legit,
            attacker,
            echo_stream,
        }
    }

    /// An attacker whose offer the victim answered (ICE not started yet).
    fn attacker_in(victim: &Victim, seed: u64) -> Attacker {
        let mut attacker = Attacker::new(seed);
        let answer = victim.answer(attacker.offer());
        attacker.apply_answer(&answer);
        attacker
    }

    /// Runs `attack` while measuring the victim (see [`Figures`]), then lets the victim
    /// drain what is still queued for `settle`.
    fn measure(&mut self, name: &str, attack: impl FnOnce(&mut Attacker)) -> Figures {
        let probe = self.legit.start_probe(ECHO_SAMPLES);
        let heap0 = budget::live_bytes();
        budget::reset_peak();
        let cpu0 = self.victim.cpu_time();
        let t0 = Instant::now();
        attack(&mut self.attacker);
        let attack_time = t0.elapsed();
        // Let the victim work through what is still in its socket buffer, answering it.
        self.attacker.pump(Duration::from_millis(300));
        let cpu = self.victim.cpu_time().saturating_sub(cpu0);
        let heap_growth = budget::live_bytes() as i64 - heap0 as i64;
        let heap_peak = budget::peak_bytes().saturating_sub(heap0);
        let echo = probe.finish();
        let f = Figures {
            cpu,
            heap_growth,
            heap_peak,
            echo,
            attack_time,
        };
        eprintln!(
            "[hostile_peer] {name}: victim CPU {} ms, heap growth {} KiB (peak +{} KiB), \
             legit echo p50 {:.1} ms p99 {:.1} ms max {:.1} ms over {} round trips, attack sent in {} ms",
            f.cpu.as_millis(),
            f.heap_growth / 1024,
            f.heap_peak / 1024,
            f.echo.p50.as_secs_f64() * 1e3,
            f.echo.p99.as_secs_f64() * 1e3,
            f.echo.max.as_secs_f64() * 1e3,
            f.echo.count,
            f.attack_time.as_millis(),
        );
        f
    }

    /// The attacked connection still carries a message both ways.
    fn still_works(&mut self, what: &str) {
        let text = format!("still there after {what}");
        let rtt = self.attacker.echo(self.echo_stream, &text);
        assert!(
            !self.attacker.sctp_aborted(),
            "{what}: the victim aborted the association"
        );
        eprintln!(
            "[hostile_peer] {what}: attacked connection echoes again ({:.1} ms)",
            rtt.as_secs_f64() * 1e3
        );
    }
}

/// What an attack cost the victim.
#[derive(Debug)]
struct Figures {
    /// CPU time of the victim thread during the attack and its aftermath.
    cpu: Duration,
    /// Heap bytes live after minus before (the whole process; the attacker keeps nothing).
    heap_growth: i64,
    /// Highest heap level during the attack, above the level before.
    heap_peak: usize,
    /// The legitimate connection's echo round trips during the attack.
    echo: EchoStats,
    /// Wall time the attacker took to send the attack.
    attack_time: Duration,
}

impl Figures {
    /// Asserts the three bounds every attack must stay within.
    fn assert_within(&self, what: &str, cpu: Duration, heap: usize) {
        assert!(
            self.cpu <= cpu,
            "{what}: the victim spent {:?} of CPU (bound {cpu:?})",
            self.cpu
        );
        assert!(
            self.heap_peak <= heap,
            "{what}: the heap grew by up to {} bytes (bound {heap})",
            self.heap_peak
        );
        assert!(
            self.echo.p99 <= ECHO_P99_BOUND,
            "{what}: the legitimate connection's echo p99 was {:?} (bound {ECHO_P99_BOUND:?}, max {:?})",
            self.echo.p99,
            self.echo.max
        );
    }
}

const MIB: usize = 1024 * 1024;

#[test]
fn smoke_attacker_connects_and_echoes() {
    let mut s = Scene::new(1);
    let f = s.measure("idle", |a| a.pump(Duration::from_millis(200)));
    f.assert_within("idle", Duration::from_millis(500), 4 * MIB);
    s.still_works("idle");
}
