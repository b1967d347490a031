//! The session's timer table: every reason the connection wants to be woken, by name, so a
//! trace can say why it woke ([`TimerName`], `Core::next_timer`, `Core::last_timeout_reason`).
//! The engines keep their own deadlines (RFC 8445 / RFC 7675 in the ICE agent, RFC 6347 §4.2.4
//! flights in DTLS, RFC 9260 §6.3 and friends in SCTP) and name them; this table adds the
//! session's own `Deferred` work and picks the earliest.

use std::time::Instant;

pub use crate::ice::IceTimer;
pub use crate::sctp::SctpTimer;

/// Why the connection wants `handle_timeout` (webrtc-pc has no such notion: this is for
/// tracing and for sans-IO users deciding how long to sleep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerName {
    /// Work a call without a clock made possible (a set-description starts DTLS or SCTP and
    /// opens channels), due at once: at the latest time the core was given.
    Deferred,
    /// A timer of the ICE agent (RFC 8445, RFC 7675, RFC 8863).
    Ice(IceTimer),
    /// The DTLS handshake's flight retransmission or deadline (RFC 6347 §4.2.4).
    Dtls,
    /// A timer of the SCTP association (RFC 9260).
    Sctp(SctpTimer),
    /// A timer of the RTP session.
    Media(MediaTimer),
}

/// The RTP session's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaTimer {
    /// The next regular RTCP report (RFC 3550 §6.2).
    Report,
    /// Lost packets to request again (RFC 4585 §6.2.1 generic NACK).
    Nack,
    /// Transport-wide congestion control feedback (draft-holmer §3.1).
    Twcc,
    /// DTMF playout: the next tone or event packet (RFC 4733, webrtc-pc §7.2).
    Dtmf,
    /// A received stream's reorder buffer gives up on a missing packet.
    Reorder,
    /// The pacer's budget lets the next held video packet leave (draft-ietf-rmcat-gcc-02 §4).
    Pace,
}

/// The session's timer bookkeeping: the deferred-work flag, the latest time seen, and why
/// the last timed call was due.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// Work is waiting for the next timed call (see [`TimerName::Deferred`]).
    deferred: bool,
    /// The latest time any timed call gave.
    last_now: Option<Instant>,
    /// What was due the last time `handle_timeout` found something due.
    last_reason: Option<TimerName>,
}

impl Timers {
    /// A timed call gave `now` (time only moves forward here); per datagram, so inlined.
    #[inline]
    pub(crate) fn note(&mut self, now: Instant) {
        if self.last_now.is_none_or(|t| now > t) {
            self.last_now = Some(now);
        }
    }

    /// A call without a clock made work possible: wake at once.
    pub(crate) fn defer(&mut self) {
        self.deferred = true;
    }

    /// The deferred work ran.
    pub(crate) fn deferred_done(&mut self) {
        self.deferred = false;
    }

    /// The deferred timer, if any: due at the latest known time (i.e. at once). Before the
    /// first timed call the core knows no time; the first call runs the work anyway.
    pub(crate) fn deferred(&self) -> Option<(Instant, TimerName)> {
        if self.deferred {
            Some((self.last_now?, TimerName::Deferred))
        } else {
            None
        }
    }

    /// The latest time any timed call gave.
    #[inline]
    pub(crate) fn last_now(&self) -> Option<Instant> {
        self.last_now
    }

    /// Records what was due at a timed call.
    pub(crate) fn set_last_reason(&mut self, reason: Option<TimerName>) {
        self.last_reason = reason;
    }

    /// What was due the last time `handle_timeout` found something due.
    pub(crate) fn last_reason(&self) -> Option<TimerName> {
        self.last_reason
    }
}

/// The earliest of `timers`; on a tie the first one wins (the order is the session's:
/// deferred work, ICE, DTLS, SCTP).
pub(crate) fn earliest(
    timers: impl IntoIterator<Item = Option<(Instant, TimerName)>>,
) -> Option<(Instant, TimerName)> {
    timers.into_iter().flatten().min_by_key(|(t, _)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_picks_the_first_of_equal_deadlines() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(5);
        let e = earliest([
            Some((later, TimerName::Dtls)),
            None,
            Some((t0, TimerName::Deferred)),
            Some((t0, TimerName::Ice(IceTimer::Pacer))),
        ]);
        assert_eq!(e, Some((t0, TimerName::Deferred)));
        assert_eq!(earliest([None, None]), None);
    }

    #[test]
    fn deferred_is_due_at_the_latest_time_seen_until_done() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.defer();
        // No time known yet: nothing to report (the first timed call runs the work).
        assert_eq!(t.deferred(), None);
        t.note(t0 + Duration::from_secs(1));
        t.note(t0); // an older time does not move the clock back
        assert_eq!(
            t.deferred(),
            Some((t0 + Duration::from_secs(1), TimerName::Deferred))
        );
        t.deferred_done();
        assert_eq!(t.deferred(), None);
    }
}

/// The reason of each kind of wake-up, on two cores driven as a sans-IO user would: a
/// virtual clock, `handle_timeout` only when `next_timer` is due, datagrams delivered at once
/// (or dropped, to make retransmission timers fire).
#[cfg(test)]
mod wakeups {
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant, SystemTime};

    use super::{IceTimer, SctpTimer, TimerName};
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::Configuration;
    use crate::connection::{
        Class, Core, CoreSettings, DataChannelEvent, DataChannelId, DataChannelInit, OfferOptions,
        PeerConnectionState,
    };
    use crate::datachannel::Payload;
    use crate::ice::IceAgentConfig;
    use crate::util::SeededRandom;

    fn core(seed: u64) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        let mut c = Core::new(
            Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(seed)),
        );
        c.configure_ice(
            IceAgentConfig::default(),
            Box::new(SeededRandom::new(seed ^ 0xabcd)),
        );
        c
    }

    /// Two cores, their addresses, the virtual clock and what woke each one.
    struct Net {
        cores: [Core; 2],
        addrs: [SocketAddr; 2],
        now: Instant,
        reasons: [Vec<TimerName>; 2],
        /// The offerer's channel.
        channel: DataChannelId,
        /// The offerer's channel fired `open`.
        open: bool,
        /// Messages the answerer received.
        received: usize,
        /// Datagrams on the wire: (arrival, to core, from, to address, bytes).
        in_flight: VecDeque<(Instant, usize, SocketAddr, SocketAddr, Vec<u8>)>,
    }

    /// One-way delay of the virtual network.
    const LATENCY: Duration = Duration::from_millis(5);

    impl Net {
        /// Offer/answer done (no timed call in between); each core was given `t0` before.
        /// The answerer has one host address, the offerer one or two.
        fn new(seed: u64, two_addresses: bool) -> Net {
            let t0 = Instant::now();
            let (mut a, mut b) = (core(seed), core(seed + 1));
            let addrs: [SocketAddr; 2] = [
                "10.0.0.1:1000".parse().unwrap(),
                "10.0.0.2:2000".parse().unwrap(),
            ];
            a.handle_timeout(t0);
            b.handle_timeout(t0);
            let channel = a
                .create_data_channel("x", &DataChannelInit::default(), true)
                .unwrap();
            let offer = a.create_offer(&OfferOptions::default()).unwrap();
            a.set_local_description(Some(offer)).unwrap();
            a.add_local_address(addrs[0]).unwrap();
            if two_addresses {
                // A second host candidate: more than one pair to check, so checks are paced.
                a.add_local_address("10.0.0.1:1001".parse().unwrap())
                    .unwrap();
            }
            b.set_remote_description(a.local_description().unwrap())
                .unwrap();
            b.set_local_description(None).unwrap();
            b.add_local_address(addrs[1]).unwrap();
            a.set_remote_description(b.local_description().unwrap())
                .unwrap();
            Net {
                cores: [a, b],
                addrs,
                now: t0,
                reasons: [Vec::new(), Vec::new()],
                channel,
                open: false,
                received: 0,
                in_flight: VecDeque::new(),
            }
        }

        /// Runs until `done` or `limit` of virtual time; `drop(from, class, now)` loses a
        /// datagram. Timers run only when due.
        fn run(
            &mut self,
            limit: Duration,
            mut drop: impl FnMut(usize, Class, &[u8]) -> bool,
            done: impl Fn(&Net) -> bool,
        ) {
            let end = self.now + limit;
            let mut buf = Vec::new();
            loop {
                let mut moved = false;
                for i in 0..2 {
                    if let Some((t, _)) = self.cores[i].next_timer()
                        && t <= self.now
                    {
                        self.cores[i].handle_timeout(self.now);
                        let r = self.cores[i].last_timeout_reason().expect("a reason");
                        self.reasons[i].push(r);
                        moved = true;
                    }
                    loop {
                        buf.clear();
                        let Some(t) = self.cores[i].poll_transmit_into(self.now, &mut buf) else {
                            break;
                        };
                        moved = true;
                        assert_eq!(t.len, buf.len());
                        assert_eq!(t.class, crate::session::demux::classify(&buf));
                        if drop(i, t.class, &buf) || t.remote.ip() != self.addrs[1 - i].ip() {
                            continue;
                        }
                        self.in_flight.push_back((
                            self.now + LATENCY,
                            1 - i,
                            t.local,
                            t.remote,
                            buf.clone(),
                        ));
                    }
                    while self.cores[i].poll_connection_event().is_some() {}
                    while let Some((key, e)) = self.cores[i].poll_data_channel_event() {
                        self.open |= i == 0 && key == self.channel && e == DataChannelEvent::Open;
                        self.received += usize::from(matches!(e, DataChannelEvent::Message(_)));
                    }
                }
                if done(self) || self.now >= end {
                    return;
                }
                if moved {
                    continue;
                }
                let next = self
                    .cores
                    .iter()
                    .filter_map(|c| c.next_timer().map(|(t, _)| t))
                    .chain(self.in_flight.front().map(|d| d.0))
                    .min()
                    .expect("a timer is always running (consent, heartbeats)");
                self.now = next.max(self.now);
                while let Some((at, to, from, dest, data)) = self.in_flight.front()
                    && *at <= self.now
                {
                    self.cores[*to].handle_datagram(self.now, *dest, *from, data);
                    self.in_flight.pop_front();
                }
            }
        }

        /// Connected and the channel open on the offerer's side, through timers alone.
        fn connect(&mut self, drop: impl FnMut(usize, Class, &[u8]) -> bool) {
            self.run(Duration::from_secs(10), drop, |n| {
                n.open
                    && n.cores
                        .iter()
                        .all(|c| c.connection_state() == PeerConnectionState::Connected)
            });
            assert!(self.open, "the channel opened through timers alone");
        }
    }

    #[test]
    fn a_set_description_is_a_deferred_timer_due_at_once() {
        let n = Net::new(1, false);
        for c in &n.cores {
            assert_eq!(c.next_timer(), Some((n.now, TimerName::Deferred)));
        }
        let mut n = n;
        n.cores[0].handle_timeout(n.now);
        assert_eq!(n.cores[0].last_timeout_reason(), Some(TimerName::Deferred));
        assert_ne!(
            n.cores[0].next_timer().map(|(_, r)| r),
            Some(TimerName::Deferred)
        );
    }

    #[test]
    fn ice_pacer_checks_and_consent_wake_the_connection() {
        let mut n = Net::new(2, true);
        n.connect(|_, _, _| false);
        assert_eq!(n.reasons[0].first(), Some(&TimerName::Deferred));
        // The offerer's second pair is checked Ta (50 ms) after the first (RFC 8445 §14.2).
        n.run(Duration::from_millis(100), |_, _, _| false, |_| false);
        assert!(
            n.reasons[0].contains(&TimerName::Ice(IceTimer::Pacer)),
            "{:?}",
            n.reasons[0]
        );
        // Connected: the next ICE wake-up is a consent check (RFC 7675, every ~5 s).
        let t = n.now;
        n.run(Duration::from_secs(8), |_, _, _| false, |_| false);
        assert!(n.now >= t + Duration::from_secs(4));
        assert!(
            n.reasons[0].contains(&TimerName::Ice(IceTimer::Consent)),
            "{:?}",
            n.reasons[0]
        );
    }

    #[test]
    fn a_lost_dtls_flight_is_retransmitted_by_the_dtls_timer() {
        let mut n = Net::new(3, false);
        let mut lost = false;
        n.connect(|_, class, _| {
            let first = class == Class::Dtls && !lost;
            lost |= first;
            first
        });
        assert!(lost);
        let all: Vec<_> = n.reasons.iter().flatten().collect();
        assert!(all.contains(&&TimerName::Dtls), "{all:?}");
    }

    #[test]
    fn lost_messages_wake_the_receiver_for_its_delayed_sack_and_the_sender_for_t3() {
        let mut n = Net::new(4, false);
        n.connect(|_, _, _| false);
        // A lone message (it asks for an immediate SACK, RFC 7053): the receiver has nothing
        // left unacknowledged after it.
        n.cores[0]
            .data_channel_send(n.channel, Payload::Binary(vec![1; 10]), n.now)
            .unwrap();
        n.run(Duration::from_secs(1), |_, _, _| false, |n| n.received == 1);
        let (a_before, b_before) = (n.reasons[0].len(), n.reasons[1].len());
        // Three messages, one DATA packet each: the first two do not ask for an immediate
        // SACK (RFC 7053: more follows); the second and third are lost.
        for _ in 0..3 {
            n.cores[0]
                .data_channel_send(n.channel, Payload::Binary(vec![1; 1100]), n.now)
                .unwrap();
        }
        let mut large = 0;
        n.run(
            Duration::from_secs(5),
            |from, class, d| {
                if from == 0 && class == Class::Dtls && d.len() > 1000 {
                    large += 1;
                    return large == 2 || large == 3;
                }
                false
            },
            |n| n.received == 4,
        );
        assert!(large >= 5, "sent, lost, retransmitted: {large}");
        assert_eq!(n.received, 4);
        // The lone first packet is acknowledged when the receiver's delayed SACK timer runs
        // (RFC 9260 §6.2); the lost one is sent again when the sender's T3-rtx runs (§6.3.3).
        let (a, b) = (&n.reasons[0][a_before..], &n.reasons[1][b_before..]);
        assert!(
            b.contains(&TimerName::Sctp(SctpTimer::DelayedSack)),
            "{b:?}"
        );
        assert!(a.contains(&TimerName::Sctp(SctpTimer::T3Rtx)), "{a:?}");
    }
}
