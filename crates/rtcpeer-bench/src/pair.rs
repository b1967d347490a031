//! What a connection pair is asked to do, and the one way every stack reports it.
//!
//! Each stack's `run_pair` creates two peers in this process, connects them over UDP on
//! 127.0.0.1 with one reliable ordered data channel, runs a [`Work`], and reports
//! [`PeerMsg`]s from its peer tasks. [`collect`] turns those into a [`Report`] the same way
//! for every stack, so timings are taken at the same points everywhere:
//! - setup: from just before the first peer is created to the later of the two `open` events;
//! - transfer: from the sender's first `send` (process CPU sampled there) to the receiver's
//!   last byte (CPU sampled there);
//! - ping-pong: from the first peer's `open` to its receipt of the echo.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::measure::Mark;

/// The workload of one pair.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// Connect and open the channel; nothing else.
    Open,
    /// Send `total` bytes from A to B in `msg`-byte binary messages, keeping at most
    /// `max_buffered` bytes buffered at the sender (bufferedAmount + low-threshold events).
    Transfer {
        /// Bytes to move.
        total: u64,
        /// Message size.
        msg: usize,
        /// Bound on the sender's buffered amount.
        max_buffered: usize,
    },
    /// A sends one 1 KiB message, B echoes it, A receives the echo.
    PingPong,
}

/// Size of the ping in [`Work::PingPong`].
pub const PING: usize = 1024;

/// How long one pair may take before the run is declared failed (a hang is a result too).
pub const PAIR_DEADLINE: Duration = Duration::from_secs(180);

/// Which peer of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The offerer, creator of the channel, sender of the transfer, pinger.
    A,
    /// The answerer, receiver, echoer.
    B,
}

/// What peer tasks tell the collector.
#[derive(Debug)]
pub enum PeerMsg {
    /// The data channel is open on this side.
    Open(Side, Instant),
    /// The sender is about to send its first message.
    Started(Mark),
    /// The receiver has everything (transfer) or the pinger has its echo.
    Finished {
        /// When.
        mark: Mark,
        /// Payload bytes received.
        bytes: u64,
        /// Messages received.
        msgs: u64,
    },
    /// Times the sender woke from its buffered-amount wait by the backstop timer rather than
    /// a bufferedamountlow event (should be 0; reported so a stack relying on it is visible).
    Backstops(u64),
    /// Something failed.
    Failed(String),
}

/// The result of one pair.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// From creating the peers to the channel open on both sides.
    pub setup: Duration,
    /// Start of the work (transfer: first send; ping-pong: open on A).
    pub start: Option<Mark>,
    /// End of the work.
    pub end: Option<Mark>,
    /// Payload bytes received.
    pub bytes: u64,
    /// Messages received.
    pub msgs: u64,
    /// See [`PeerMsg::Backstops`].
    pub backstops: u64,
}

/// Keeps finished pairs alive: each pair sends its report on `report` and keeps its
/// connections open until `release` becomes true (the `many` scenario measures memory then).
#[derive(Clone)]
pub struct Hold {
    /// Where finished pairs report.
    pub report: mpsc::UnboundedSender<Report>,
    /// Becomes true when pairs may close.
    pub release: watch::Receiver<bool>,
}

impl Hold {
    /// Reports `r` and waits for the release.
    pub async fn park(&mut self, r: Report) {
        let _ = self.report.send(r);
        let _ = self.release.wait_for(|v| *v).await;
    }
}

/// Reads peer messages until `work` is complete and builds the report.
pub async fn collect(
    work: Work,
    created: Instant,
    rx: &mut mpsc::UnboundedReceiver<PeerMsg>,
) -> Result<Report, String> {
    let (mut open_a, mut open_b) = (None, None);
    let mut report = Report {
        setup: Duration::ZERO,
        start: None,
        end: None,
        bytes: 0,
        msgs: 0,
        backstops: 0,
    };
    let mut finished = false;
    loop {
        let opened = open_a.is_some() && open_b.is_some();
        let done = match work {
            Work::Open => opened,
            Work::Transfer { .. } | Work::PingPong => opened && finished,
        };
        if done {
            let last = open_a.max(open_b).unwrap_or(created);
            report.setup = last.duration_since(created);
            return Ok(report);
        }
        let msg = tokio::time::timeout(PAIR_DEADLINE, rx.recv())
            .await
            .map_err(|_| format!("no progress within {PAIR_DEADLINE:?}"))?
            .ok_or("peer tasks ended before the work was complete")?;
        match msg {
            PeerMsg::Open(Side::A, t) => {
                open_a.get_or_insert(t);
                if matches!(work, Work::PingPong) {
                    report.start.get_or_insert(Mark::now());
                }
            }
            PeerMsg::Open(Side::B, t) => {
                open_b.get_or_insert(t);
            }
            PeerMsg::Started(m) => {
                report.start.get_or_insert(m);
            }
            PeerMsg::Finished { mark, bytes, msgs } => {
                report.end = Some(mark);
                report.bytes = bytes;
                report.msgs = msgs;
                finished = true;
            }
            PeerMsg::Backstops(n) => report.backstops += n,
            PeerMsg::Failed(e) => return Err(e),
        }
    }
}

/// The sender side of [`Work::Transfer`], independent of the stack: decides when to send and
/// when to wait, from a cheap upper bound of the buffered amount that is confirmed against
/// the stack's real bufferedAmount only when the bound says "full".
#[derive(Debug)]
pub struct Pacer {
    /// Messages still to send.
    pub remaining: u64,
    /// Message size.
    pub msg: usize,
    /// Bound on buffered bytes.
    pub max_buffered: usize,
    /// Upper bound of the current buffered amount (bytes only leave the buffer, never
    /// appear in it by themselves, so `estimate + sent since` is an upper bound).
    estimate: usize,
}

impl Pacer {
    /// A pacer for `work` (a [`Work::Transfer`]); `None` for other work.
    pub fn new(work: Work) -> Option<Pacer> {
        match work {
            Work::Transfer {
                total,
                msg,
                max_buffered,
            } => Some(Pacer {
                remaining: total.div_ceil(msg as u64),
                msg,
                max_buffered,
                estimate: 0,
            }),
            _ => None,
        }
    }

    /// The bufferedamountlow threshold to configure: half the bound.
    pub fn low_threshold(&self) -> usize {
        self.max_buffered / 2
    }

    /// Whether the next message fits without asking the stack.
    pub fn fits_estimate(&self) -> bool {
        self.estimate + self.msg <= self.max_buffered
    }

    /// Refresh the bound with the stack's real buffered amount; returns whether it fits now.
    pub fn refresh(&mut self, buffered: usize) -> bool {
        self.estimate = buffered;
        self.fits_estimate()
    }

    /// Account one sent message.
    pub fn sent(&mut self) {
        self.estimate += self.msg;
        self.remaining -= 1;
    }
}

/// Backstop for a missed bufferedamountlow: re-read bufferedAmount after this long.
pub const BACKSTOP: Duration = Duration::from_millis(50);
