//! In-memory SCTP throughput: two associations in one thread, packets handed over directly
//! (as if DTLS were free). Usage: `sctp_bench [total MiB] [message bytes] [crc|zero]`.
//! Build optimised, e.g. `cargo run --release --example sctp_bench -- 256 65536`.

use std::time::{Duration, Instant};

use rtcpeer_proto::sctp::{Association, Config, Event, SendOptions, State};

fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total_mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let msg: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(64 * 1024);
    let zero = args.next().is_none_or(|a| a != "crc");
    let cfg = Config {
        zero_checksum: zero,
        ..Config::default()
    };
    let now = Instant::now();
    let mut a = Association::new(cfg.clone(), now, 1);
    let mut b = Association::new(cfg, now, 2);
    let mut buf = Vec::with_capacity(2048);
    a.connect(now);
    let pump = |a: &mut Association, b: &mut Association, buf: &mut Vec<u8>| {
        let mut moved = false;
        loop {
            let mut any = false;
            while a.poll_transmit(now, buf) {
                b.handle_packet(buf, now);
                any = true;
            }
            while b.poll_transmit(now, buf) {
                a.handle_packet(buf, now);
                any = true;
            }
            if !any {
                return moved;
            }
            moved = true;
        }
    };
    while a.state() != State::Established || b.state() != State::Established {
        pump(&mut a, &mut b, &mut buf);
    }
    let total = total_mib << 20;
    let n = total / msg;
    let payload = vec![0x5au8; msg];
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let (mut sent, mut got, mut bytes) = (0, 0, 0usize);
    while got < n {
        while sent < n
            && a.send(0, 51, payload.clone(), SendOptions::default(), now)
                .is_ok()
        {
            sent += 1;
        }
        let moved = pump(&mut a, &mut b, &mut buf);
        while a.poll_event().is_some() {}
        while let Some(e) = b.poll_event() {
            if let Event::Message(m) = e {
                bytes += m.data.len();
                got += 1;
            }
        }
        if !moved && sent == n && got < n {
            // Only a timer can make progress (should not happen without loss).
            if let Some(t) = a.poll_timeout().into_iter().chain(b.poll_timeout()).min() {
                a.handle_timeout(t);
                b.handle_timeout(t);
            }
        }
    }
    let wall = wall.elapsed().as_secs_f64();
    let cpu = thread_cpu()
        .zip(cpu)
        .map(|(e, s)| (e - s).as_secs_f64())
        .unwrap_or(wall);
    println!(
        "{} messages of {msg} B ({} MiB), checksum {}: {:.0} MB/s per CPU-second, {:.0} msg/s, wall {:.3} s",
        n,
        bytes >> 20,
        if zero { "zero (RFC 9653)" } else { "crc32c" },
        bytes as f64 / 1e6 / cpu,
        n as f64 / cpu,
        wall
    );
}
