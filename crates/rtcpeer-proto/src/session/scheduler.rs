//! The transmit scheduler: the one place that decides which datagram leaves next. Today's
//! policy is a fixed order — after `close()` only the final datagrams; otherwise ICE's STUN
//! first (checks and consent must not wait behind bulk data, RFC 8445 §14, RFC 7675), then
//! DTLS's own records (handshake, alerts), then SRTP packets (media is latency-sensitive),
//! then SCTP packets, each sealed into one DTLS record as it is taken (RFC 8261). Pacing and priorities (RFC 8831 §6.4) go here.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::demux::Class;

/// Datagrams kept for sending after `close()` (an SCTP ABORT and the DTLS close_notify).
const MAX_FINAL_DATAGRAMS: usize = 8;

/// A datagram the core appended to the caller's buffer: its path, its RFC 7983 class (so the
/// runtime need not parse it again) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket to send from.
    pub local: SocketAddr,
    /// The destination.
    pub remote: SocketAddr,
    /// What the datagram is (RFC 7983 §7): `Stun` or `Dtls` today.
    pub class: Class,
    /// Its length: the last `len` bytes appended to the buffer.
    pub len: usize,
}

/// Where the next datagram can come from, in the order the scheduler asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// What `close()` left to send (SCTP ABORT, DTLS close_notify).
    Final,
    /// The ICE agent's STUN (checks, answers, consent, gathering).
    Ice,
    /// DTLS's own records (handshake flights, alerts).
    Dtls,
    /// SRTP and SRTCP packets of the RTP session (latency-sensitive: before bulk data).
    Media,
    /// SCTP packets, sealed into DTLS records as they are taken.
    Sctp,
}

/// After `close()`: only the final datagrams.
const ORDER_CLOSED: &[Source] = &[Source::Final];
/// While open: STUN, then DTLS, then media, then SCTP.
const ORDER_OPEN: &[Source] = &[Source::Ice, Source::Dtls, Source::Media, Source::Sctp];

/// The transmit scheduler's state: the final-datagram queue (its policy is the order).
#[derive(Debug, Default)]
pub(crate) struct Scheduler {
    /// Datagrams that still leave after `close()`: (local, remote, bytes).
    final_out: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
}

impl Scheduler {
    /// Queues a datagram to leave after `close()`; beyond [`MAX_FINAL_DATAGRAMS`] it is
    /// dropped (returns false).
    pub(crate) fn push_final(&mut self, local: SocketAddr, remote: SocketAddr, d: Vec<u8>) -> bool {
        if self.final_out.len() >= MAX_FINAL_DATAGRAMS {
            return false;
        }
        self.final_out.push_back((local, remote, d));
        true
    }

    /// Rewrites the queued final datagrams in place (their path and bytes), e.g. to frame
    /// those leaving a TURN relayed address for the server.
    pub(crate) fn map_final(&mut self, mut f: impl FnMut(&mut SocketAddr, &mut SocketAddr, &mut Vec<u8>)) {
        for (local, remote, d) in &mut self.final_out {
            f(local, remote, d);
        }
    }

    /// Appends the next final datagram to `out`.
    pub(crate) fn poll_final(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        let (local, remote, d) = self.final_out.pop_front()?;
        out.extend_from_slice(&d);
        Some(Transmit {
            local,
            remote,
            class: Class::Dtls,
            len: d.len(),
        })
    }

    /// Asks the sources in order (`try_source` appends a datagram and returns it, or `None`
    /// when that source has nothing) and returns the first datagram found.
    #[inline]
    pub(crate) fn next<T>(
        closed: bool,
        mut try_source: impl FnMut(Source) -> Option<T>,
    ) -> Option<T> {
        let order = if closed { ORDER_CLOSED } else { ORDER_OPEN };
        order.iter().find_map(|&s| try_source(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_order_is_ice_then_dtls_then_sctp_and_stops_at_the_first_datagram() {
        let mut asked = Vec::new();
        let got = Scheduler::next(false, |src| {
            asked.push(src);
            (src == Source::Dtls).then_some(src)
        });
        assert_eq!(got, Some(Source::Dtls));
        assert_eq!(asked, [Source::Ice, Source::Dtls]);
        let mut asked = Vec::new();
        let got: Option<()> = Scheduler::next(false, |src| {
            asked.push(src);
            None
        });
        assert_eq!(got, None);
        assert_eq!(asked, [Source::Ice, Source::Dtls, Source::Media, Source::Sctp]);
    }

    #[test]
    fn after_close_only_final_datagrams_leave_in_order_and_bounded() {
        let mut s = Scheduler::default();
        let mut asked = Vec::new();
        let _: Option<()> = Scheduler::next(true, |src| {
            asked.push(src);
            None
        });
        assert_eq!(asked, [Source::Final]);
        let (l, r) = (
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        for i in 0..MAX_FINAL_DATAGRAMS + 3 {
            assert_eq!(
                s.push_final(l, r, vec![23, i as u8]),
                i < MAX_FINAL_DATAGRAMS
            );
        }
        let mut out = vec![9];
        let t = s.poll_final(&mut out).unwrap();
        assert_eq!((t.local, t.remote, t.class, t.len), (l, r, Class::Dtls, 2));
        assert_eq!(out, [9, 23, 0]);
        let mut n = 1;
        while s.poll_final(&mut out).is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_FINAL_DATAGRAMS);
    }
}
