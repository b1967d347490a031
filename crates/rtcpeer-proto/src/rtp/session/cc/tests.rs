use std::time::{Duration, Instant};

use super::delay::{BandwidthUsage, GroupDelta, InterGroup, OveruseDetector, PacketTiming, Trendline, slope};
use super::pacer::Pacer;
use super::rate::{Aimd, LossBased, RateState};
use super::{BweConfig, RING, SendSideBwe};
use crate::rtcp::{RtcpPacket, TwccArrival, parse_compound, write_twcc_feedback};

/// Writes a feedback for `arrivals` and hands it to `bwe`.
fn feed(bwe: &mut SendSideBwe, now: Instant, arrivals: &[TwccArrival]) {
    let mut buf = Vec::new();
    let mut start = 0;
    while start < arrivals.len() {
        buf.clear();
        let n = write_twcc_feedback(&mut buf, 1, 2, 0, &arrivals[start..], 1200).unwrap();
        assert!(n > 0);
        start += n;
        for p in parse_compound(&buf) {
            match p.unwrap() {
                RtcpPacket::TransportCc(fb) => bwe.on_feedback(now, &fb),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn slope_of_a_line_and_of_flat_data() {
    let pts: Vec<(f64, f64)> = (0..20).map(|i| (i as f64 * 10.0, 3.0 + 0.5 * i as f64 * 10.0)).collect();
    assert!((slope(&pts).unwrap() - 0.5).abs() < 1e-9);
    let flat: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, 7.0)).collect();
    assert_eq!(slope(&flat), Some(0.0));
    assert_eq!(slope(&[(1.0, 1.0), (1.0, 5.0)]), None, "x does not vary");
    assert_eq!(slope(&[(1.0, 1.0)]), None);
}

#[test]
fn groups_are_5ms_send_bursts_and_give_the_delay_variation() {
    let mut g = InterGroup::default();
    let p = |s: i64, a: i64| PacketTiming { send_us: s, arrival_us: a, size: 1000 };
    // Group 1: 0..5 ms; group 2 from 10 ms; group 3 from 20 ms closes group 2.
    assert_eq!(g.add(p(0, 50_000)), None);
    assert_eq!(g.add(p(4_000, 54_000)), None);
    assert_eq!(g.add(p(10_000, 61_000)), None, "one complete group only");
    assert_eq!(g.add(p(12_000, 63_000)), None);
    let d = g.add(p(20_000, 70_000)).unwrap();
    // Last packets: sent 4 → 12 ms (8 ms), arrived 54 → 63 ms (9 ms): +1 ms.
    assert_eq!(d, GroupDelta { arrival_us: 63_000, send_delta_us: 8_000, delay_delta_us: 1_000 });
    // A packet sent before the current group (a reordered report) is ignored.
    assert_eq!(g.add(p(1_000, 80_000)), None);
}

/// Feeds `n` groups 20 ms apart whose one-way delay grows by `growth_us` per group.
fn trend_of(growth_us: i64, n: usize) -> Vec<f64> {
    let mut t = Trendline::default();
    (0..n)
        .filter_map(|i| {
            t.add(&GroupDelta {
                arrival_us: i as i64 * 20_000,
                send_delta_us: 20_000,
                delay_delta_us: growth_us,
            })
        })
        .collect()
}

#[test]
fn trendline_slope_follows_growing_and_steady_delay() {
    // Not before the window is full.
    assert!(trend_of(1000, super::delay::WINDOW - 1).is_empty());
    let steady = trend_of(0, 60);
    assert!(steady.iter().all(|m| m.abs() < 1e-9), "{steady:?}");
    // 1 ms more per 20 ms group: the accumulated delay grows 0.05 ms/ms; the smoothed series
    // approaches that slope; m = slope × min(n, 60) × 4.
    let growing = trend_of(1000, 200);
    let last = *growing.last().unwrap();
    assert!((last - 0.05 * 60.0 * 4.0).abs() < 0.5, "{last}");
    let shrinking = trend_of(-1000, 200);
    assert!(*shrinking.last().unwrap() < -10.0);
}

#[test]
fn overuse_needs_the_trend_above_the_threshold_for_10ms_and_growing() {
    let mut d = OveruseDetector::default();
    assert_eq!(d.detect(5.0, 5_000, 0), BandwidthUsage::Normal);
    // Above γ = 12.5 once: not yet (time over the threshold 2.5 ms, one sample).
    assert_eq!(d.detect(20.0, 5_000, 10_000), BandwidthUsage::Normal);
    assert_eq!(d.detect(21.0, 5_000, 20_000), BandwidthUsage::Normal);
    assert_eq!(d.detect(22.0, 5_000, 30_000), BandwidthUsage::Overusing, "12.5 ms, growing");
    let mut d = OveruseDetector::default();
    d.detect(20.0, 5_000, 0);
    d.detect(21.0, 5_000, 1);
    // Over the threshold long enough, but falling: no signal.
    assert_eq!(d.detect(19.0, 5_000, 2), BandwidthUsage::Normal);
    let mut d = OveruseDetector::default();
    assert_eq!(d.detect(-20.0, 5_000, 0), BandwidthUsage::Underusing);
}

#[test]
fn the_threshold_adapts_toward_the_trend_and_stays_in_bounds() {
    let mut d = OveruseDetector::default();
    let g0 = d.threshold();
    // Small trends pull γ down (k_down), to its floor of 6.
    for i in 0..1000 {
        d.detect(1.0, 5_000, i * 20_000);
    }
    assert!(d.threshold() < g0 && (d.threshold() - 6.0).abs() < 1e-9, "{}", d.threshold());
    // Trends a little above γ push it up (k_up), spikes far above do not.
    let mut d = OveruseDetector::default();
    for i in 0..100 {
        d.detect(20.0, 5_000, i * 20_000);
    }
    let up = d.threshold();
    assert!(up > g0 && up <= 20.0, "{up}");
    let mut d = OveruseDetector::default();
    for i in 0..100 {
        d.detect(500.0, 5_000, i * 20_000);
    }
    assert_eq!(d.threshold(), g0, "outliers beyond γ + 15 are ignored");
}

#[test]
fn aimd_increases_multiplicatively_then_additively_and_cuts_to_085_of_received() {
    let mut a = Aimd::new(1_000_000);
    a.update(BandwidthUsage::Normal, None, 0);
    assert_eq!(a.state(), RateState::Increase);
    // 1 s of normal: ×1.08 (far from convergence).
    for i in 1..=10 {
        a.update(BandwidthUsage::Normal, None, i * 100_000);
    }
    let r = a.rate() as f64;
    assert!((r / 1_080_000.0 - 1.0).abs() < 0.002, "{r}");
    // Over-use: 0.85 × the received rate, then hold.
    assert_eq!(a.update(BandwidthUsage::Overusing, Some(900_000.0), 1_100_000), 765_000);
    assert_eq!(a.state(), RateState::Hold);
    assert!(a.near_max());
    // Underuse holds.
    assert_eq!(a.update(BandwidthUsage::Underusing, Some(700_000.0), 1_200_000), 765_000);
    // Near the convergence point the increase is additive: about one packet per response
    // time (RTT 100 ms + 100 ms): far less than 8 %/s.
    a.set_rtt_us(100_000);
    a.update(BandwidthUsage::Normal, Some(765_000.0), 1_300_000);
    let before = a.rate();
    for i in 1..=10 {
        a.update(BandwidthUsage::Normal, Some(765_000.0), 1_300_000 + i * 100_000);
    }
    let gained = a.rate() - before;
    // 765 kbit/s at 30 frames/s: 3 packets of ~8.5 kbit per frame, one more per 200 ms →
    // ~42 kbit/s per second, where ×1.08 would have given 61 kbit/s.
    assert!((38_000..48_000).contains(&gained), "{gained}");
    // A received rate far above the old maximum: back to multiplicative.
    a.update(BandwidthUsage::Normal, Some(3_000_000.0), 2_400_000);
    assert!(!a.near_max());
}

#[test]
fn aimd_does_not_grow_beyond_what_the_sender_tested() {
    let mut a = Aimd::new(1_000_000);
    for i in 0..100 {
        a.update(BandwidthUsage::Normal, Some(100_000.0), i * 100_000);
    }
    // 1.5 × 100 kbit/s + 10 kbit/s, and never cut by that limit either.
    assert_eq!(a.rate(), 1_000_000);
    let mut a = Aimd::new(100_000);
    for i in 0..100 {
        a.update(BandwidthUsage::Normal, Some(100_000.0), i * 100_000);
    }
    assert_eq!(a.rate(), 160_000);
}

#[test]
fn loss_controller_cuts_above_10_percent_and_grows_below_2() {
    let mut l = LossBased::new(1_000_000);
    assert_eq!(l.update(0, 100, 0, 100_000), 1_050_000);
    assert_eq!(l.update(5, 100, 100_000, 100_000), 1_050_000, "5 %: hold");
    assert_eq!(l.update(20, 100, 200_000, 100_000), 945_000, "20 %: × (1 − 0.1)");
    assert_eq!(l.update(20, 100, 300_000, 100_000), 945_000, "once per 300 ms + RTT");
    assert_eq!(l.update(20, 100, 600_000, 100_000), 850_500);
    assert_eq!(l.update(500, 100, 2_000_000, 100_000), 425_250, "lost ≤ total");
    assert_eq!(l.update(0, 0, 3_000_000, 100_000), 425_250, "nothing reported");
}

#[test]
fn pacer_spends_a_budget_filled_at_its_rate() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1_600_000); // 200 bytes/ms: 1000 bytes per 5 ms
    assert!(p.can_send(t0));
    p.spend(t0, 1200);
    assert!(!p.can_send(t0));
    // 200 bytes in debt: positive again after 1 ms (+1 byte).
    let next = p.next_send().unwrap();
    assert!(next > t0 && next - t0 <= Duration::from_micros(1010), "{:?}", next - t0);
    assert!(p.can_send(next));
    // The budget holds at most one interval (5 ms) however long it was idle.
    let later = t0 + Duration::from_secs(10);
    assert!(p.can_send(later));
    p.spend(later, 1000);
    assert!(!p.can_send(later));
    // Debt from unpaced packets is bounded (100 ms): 20 000 bytes.
    p.spend(later, 1_000_000);
    assert!(p.can_send(later + Duration::from_millis(101)));
}

/// Packets sent with their transport sequence numbers.
fn send(bwe: &mut SendSideBwe, now: Instant, first: u16, n: u16, size: usize) {
    for i in 0..n {
        bwe.on_sent(now, first.wrapping_add(i), size);
    }
}

#[test]
fn no_estimate_before_feedback_then_remb_caps_it() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    assert_eq!(b.estimate(), None);
    assert_eq!(b.target(), 1_000_000);
    b.on_remb(t0, 300_000);
    assert_eq!(b.estimate(), Some(300_000));
    b.on_remb(t0, 10);
    assert_eq!(b.estimate(), Some(30_000), "the floor");
    b.on_remb(t0, u64::MAX);
    assert_eq!(b.estimate(), Some(1_000_000));
    assert_eq!(b.poll_target(t0), Some(1_000_000));
    assert_eq!(b.poll_target(t0), None, "unchanged");
    b.on_remb(t0, 500_000);
    assert_eq!(b.poll_target(t0 + Duration::from_millis(50)), None, "too soon");
    assert_eq!(b.poll_target(t0 + Duration::from_millis(250)), Some(500_000));
    b.on_remb(t0, 510_000);
    assert_eq!(b.poll_target(t0 + Duration::from_secs(1)), None, "2 %: not worth telling");
}

/// A clean link: every packet of a 20 ms frame arrives 30 ms after it left; the estimate
/// grows from feedback every 100 ms, across the 16-bit wrap of sequence numbers.
#[test]
fn clean_feedback_grows_the_estimate_across_the_sequence_wrap() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    let mut seq: u16 = 65_000;
    let mut pending = Vec::new();
    for frame in 0..250u32 {
        let now = t0 + Duration::from_millis(u64::from(frame) * 20);
        for _ in 0..3 {
            b.on_sent(now, seq, 1000);
            let arrival = (u64::from(frame) * 20 + 30) as i64 * 1000;
            pending.push(TwccArrival { seq, arrival_us: Some(arrival) });
            seq = seq.wrapping_add(1);
        }
        if frame % 5 == 4 {
            feed(&mut b, now + Duration::from_millis(30), &pending);
            pending.clear();
        }
    }
    let e = b.estimate().unwrap();
    // 1.2 Mbit/s sent (3000 bytes per 20 ms); the estimate may not exceed 1.5 × + 10 k.
    assert!(e > 1_000_000 && e <= 1_810_000, "{e}");
    assert_eq!(b.counters().unknown, 0);
    assert_eq!(b.counters().duplicates, 0);
    assert_eq!(b.counters().overuse, 0);
}

/// Every group arrives 2 ms later than the one before: the queue grows, over-use cuts.
#[test]
fn growing_delay_is_overuse_and_cuts_to_085_of_the_received_rate() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    let mut seq: u16 = 0;
    let mut pending = Vec::new();
    let mut lowest = u64::MAX;
    for frame in 0..100u32 {
        let now = t0 + Duration::from_millis(u64::from(frame) * 20);
        for _ in 0..3 {
            b.on_sent(now, seq, 1000);
            let arrival = (u64::from(frame) * 22 + 30) as i64 * 1000;
            pending.push(TwccArrival { seq, arrival_us: Some(arrival) });
            seq = seq.wrapping_add(1);
        }
        if frame % 5 == 4 {
            feed(&mut b, now + Duration::from_millis(30), &pending);
            pending.clear();
            lowest = lowest.min(b.estimate().unwrap());
        }
    }
    assert!(b.counters().overuse > 0);
    // Received rate: 3000 bytes per 22 ms ≈ 1.09 Mbit/s, measured over the 500 ms window as
    // ≈ 1.12 Mbit/s (a frame's three packets arrive at once, so 25 frames span 24 gaps);
    // 0.85 × that ≈ 953 kbit/s.
    assert!((920_000..960_000).contains(&lowest), "{lowest}");
}

#[test]
fn losses_above_10_percent_cut_the_estimate() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    let mut seq: u16 = 0;
    let mut pending = Vec::new();
    for frame in 0..100u32 {
        let now = t0 + Duration::from_millis(u64::from(frame) * 20);
        for k in 0..4 {
            b.on_sent(now, seq, 1000);
            let arrival = (u64::from(frame) * 20 + 30) as i64 * 1000;
            // One packet in four is lost: 25 %.
            pending.push(TwccArrival { seq, arrival_us: (k != 0).then_some(arrival) });
            seq = seq.wrapping_add(1);
        }
        if frame % 5 == 4 {
            feed(&mut b, now + Duration::from_millis(30), &pending);
            pending.clear();
        }
    }
    assert!(b.loss_based() < 600_000, "{}", b.loss_based());
    assert_eq!(b.estimate(), Some(b.loss_based()));
}

#[test]
fn the_ring_forgets_old_packets_and_feedback_about_them_is_unknown() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    send(&mut b, t0, 65_530, (RING + 10) as u16, 500);
    // The first ten packets were overwritten (and the sequence wrapped at 65535).
    let stale: Vec<TwccArrival> =
        (0..10u16).map(|i| TwccArrival { seq: 65_530u16.wrapping_add(i), arrival_us: Some(1000 + i64::from(i)) }).collect();
    feed(&mut b, t0, &stale);
    assert_eq!(b.counters().unknown, 10);
    // The newest are known, once: a repeated report is a duplicate.
    let newest = 65_530u16.wrapping_add((RING + 9) as u16);
    let fresh = [TwccArrival { seq: newest, arrival_us: Some(5000) }];
    feed(&mut b, t0, &fresh);
    feed(&mut b, t0, &fresh);
    assert_eq!(b.counters().unknown, 10);
    assert_eq!(b.counters().duplicates, 1);
    // Never sent: beyond the last packet.
    feed(&mut b, t0, &[TwccArrival { seq: newest.wrapping_add(5), arrival_us: Some(6000) }]);
    assert_eq!(b.counters().unknown, 11);
}

#[test]
fn hostile_feedback_is_bounded_work_and_cannot_push_the_estimate_out_of_bounds() {
    let t0 = Instant::now();
    let cfg = BweConfig { min_bps: 50_000, start_bps: 500_000, max_bps: 2_000_000 };
    let mut b = SendSideBwe::new(cfg);
    send(&mut b, t0, 0, 100, 1200);
    // 65535 statuses "not received" in one run-length chunk: a 20-byte message.
    let mut buf = Vec::new();
    let lost: Vec<TwccArrival> = (0..65_535u32).map(|i| TwccArrival { seq: i as u16, arrival_us: None }).collect();
    let mut arrivals = lost.clone();
    arrivals.push(TwccArrival { seq: 65_535, arrival_us: Some(0) });
    write_twcc_feedback(&mut buf, 1, 2, 0, &arrivals, 1200).unwrap();
    assert!(buf.len() <= 40, "{}", buf.len());
    let mut rng = crate::util::SeededRandom::new(7);
    use crate::util::RandomSource;
    for round in 0..2000u32 {
        for p in parse_compound(&buf) {
            if let Ok(RtcpPacket::TransportCc(fb)) = p {
                b.on_feedback(t0 + Duration::from_millis(u64::from(round)), &fb);
            }
        }
        // Random valid feedback about random sequence numbers with wild arrival times.
        let mut a = Vec::new();
        let base = rng.next_u32() as u16;
        for i in 0..(rng.next_u32() % 50) as u16 {
            let t = i64::from(rng.next_u32() % 2_000_000);
            a.push(TwccArrival { seq: base.wrapping_add(i), arrival_us: (rng.next_u32() % 3 != 0).then_some(t) });
        }
        let mut m = Vec::new();
        if write_twcc_feedback(&mut m, 1, 2, round as u8, &a, 1200).is_ok() {
            for p in parse_compound(&m).flatten() {
                if let RtcpPacket::TransportCc(fb) = p {
                    b.on_feedback(t0 + Duration::from_millis(u64::from(round)), &fb);
                }
            }
        }
        if round % 7 == 0 {
            send(&mut b, t0 + Duration::from_millis(u64::from(round)), rng.next_u32() as u16, 20, 1200);
        }
        if let Some(e) = b.estimate() {
            assert!((50_000..=2_000_000).contains(&e), "{e}");
        }
    }
    let c = b.counters();
    assert!(c.feedback >= 2000, "{c:?}");
    assert!(c.unknown > 1000, "{c:?}");
}

/// A fluid model of a bottleneck: the sender follows the estimate (as an encoder would),
/// the link drains a drop-tail queue at `capacity`, feedback every 100 ms.
#[test]
fn the_estimate_follows_a_bottleneck_in_a_simulated_link() {
    let t0 = Instant::now();
    let mut b = SendSideBwe::new(BweConfig::default());
    let mut seq: u16 = 0;
    let mut pending: Vec<TwccArrival> = Vec::new();
    let mut link_free_us: i64 = 0;
    let mut max_queue_us = 0;
    let mut capacity: f64 = 1_500_000.0;
    let mut trace = Vec::new();
    for ms in 0..60_000i64 {
        if ms == 30_000 {
            capacity = 750_000.0;
        }
        let now_us = ms * 1000;
        let now = t0 + Duration::from_micros(now_us as u64);
        // A frame every 20 ms at the target (offered up to 5 Mbit/s), in 1200-byte packets.
        if ms % 20 == 0 {
            let mut bytes = (b.target().min(5_000_000) / 8 / 50) as usize;
            while bytes > 0 {
                let size = bytes.min(1200);
                bytes -= size;
                b.on_sent(now, seq, size);
                let start = link_free_us.max(now_us);
                let queue_us = start - now_us;
                max_queue_us = if ms > 10_000 { max_queue_us.max(queue_us) } else { max_queue_us };
                if queue_us > 300_000 {
                    pending.push(TwccArrival { seq, arrival_us: None });
                } else {
                    link_free_us = start + (size as f64 * 8.0 * 1e6 / capacity) as i64;
                    pending.push(TwccArrival { seq, arrival_us: Some(link_free_us + 20_000) });
                }
                seq = seq.wrapping_add(1);
            }
        }
        if ms % 100 == 0 && !pending.is_empty() {
            // Feedback covers what has arrived by now (+20 ms back).
            let cut = pending.iter().position(|a| a.arrival_us.is_some_and(|t| t > now_us)).unwrap_or(pending.len());
            let ready: Vec<TwccArrival> = pending.drain(..cut).collect();
            if !ready.is_empty() {
                feed(&mut b, now + Duration::from_millis(20), &ready);
            }
        }
        if ms % 1000 == 0 {
            trace.push(b.target());
        }
    }
    let at = |s: usize| trace[s] as f64;
    // Converged near 1.5 Mbit/s within 20 s, and near 750 kbit/s 20 s after the drop.
    for s in 20..30 {
        assert!((0.7..=1.1).contains(&(at(s) / 1_500_000.0)), "{s} s: {trace:?}");
    }
    for s in 50..60 {
        assert!((0.7..=1.1).contains(&(at(s) / 750_000.0)), "{s} s: {trace:?}");
    }
    assert!(max_queue_us <= 300_000, "{max_queue_us}");
    eprintln!("trace (kbit/s per s): {:?}", trace.iter().map(|x| x / 1000).collect::<Vec<_>>());
}
