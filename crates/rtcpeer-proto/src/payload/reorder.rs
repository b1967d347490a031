//! A bounded reorder (jitter) buffer in front of a [`Depacketizer`](super::Depacketizer):
//! packets keyed by extended RTP sequence number (RFC 3550 §A.1) come in any order and go
//! out in order; a hole is given up after a packet count or a wait, or at once when the
//! buffer overflows. Every size a remote peer controls is capped.

use std::time::{Duration, Instant};

/// Caps and give-up limits of a [`ReorderBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReorderConfig {
    /// Packets held at once; also the window: a packet this far beyond the next one to
    /// release does not fit (default 256).
    pub max_packets: usize,
    /// Payload bytes held at once (default 512 KiB).
    pub max_bytes: usize,
    /// The largest payload accepted (default 1500 bytes, a whole Ethernet MTU); with
    /// `max_packets` this bounds the memory held.
    pub max_payload: usize,
    /// A hole is given up once this many packets wait behind it (default 64).
    pub max_hole_packets: usize,
    /// A hole is given up once the first packet behind it has waited this long (default
    /// 100 ms, time for a NACK round trip on most paths).
    pub max_hole_wait: Duration,
}

impl Default for ReorderConfig {
    fn default() -> Self {
        ReorderConfig {
            max_packets: 256,
            max_bytes: 512 << 10,
            max_payload: 1500,
            max_hole_packets: 64,
            max_hole_wait: Duration::from_millis(100),
        }
    }
}

/// What [`ReorderBuffer::insert`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReorderInsert {
    /// Held until its turn.
    Stored,
    /// Its sequence number is already released or skipped.
    Late,
    /// The same sequence number is already held.
    Duplicate,
    /// Dropped: the payload is larger than `max_payload`.
    TooLarge,
    /// Dropped: the buffer is full (bytes), or the packet is beyond the window while
    /// packets wait; the hole in front is given up at the next [`ReorderBuffer::pop`].
    Full,
}

/// Counters of a [`ReorderBuffer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReorderCounters {
    /// Packets released in order.
    pub released: u64,
    /// Packets that came after their turn.
    pub late: u64,
    /// Duplicates of held packets.
    pub duplicates: u64,
    /// Packets dropped for size, a full buffer or the window.
    pub dropped: u64,
    /// Holes given up.
    pub holes_skipped: u64,
    /// Sequence numbers never released (lost, or given up).
    pub lost: u64,
}

/// A packet released in order by [`ReorderBuffer::pop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released<'a> {
    /// The extended sequence number.
    pub seq: u64,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The RTP marker bit.
    pub marker: bool,
    /// The payload.
    pub payload: &'a [u8],
    /// Sequence numbers skipped just before this one (given up, or never seen).
    pub lost_before: u64,
}

#[derive(Debug, Default)]
struct Slot {
    seq: u64,
    held: bool,
    timestamp: u32,
    marker: bool,
    arrival: Option<Instant>,
    data: Vec<u8>,
}

/// The reorder buffer: a ring of `max_packets` slots indexed by sequence number, whose
/// payload storage is reused (no allocation per packet once warm).
#[derive(Debug)]
pub struct ReorderBuffer {
    config: ReorderConfig,
    slots: Vec<Slot>,
    /// The next sequence number to release.
    next: Option<u64>,
    held: usize,
    bytes: usize,
    /// When the first packet waiting behind the current hole arrived.
    hole_since: Option<Instant>,
    /// A packet was dropped for room: give up the hole now.
    overflowed: bool,
    last_released: Option<u64>,
    counters: ReorderCounters,
}

impl ReorderBuffer {
    /// An empty buffer (a zero `max_packets` or `max_hole_packets` counts as 1).
    pub fn new(config: ReorderConfig) -> Self {
        let mut config = config;
        config.max_packets = config.max_packets.max(1);
        config.max_hole_packets = config.max_hole_packets.max(1);
        let mut slots = Vec::with_capacity(config.max_packets);
        slots.resize_with(config.max_packets, Slot::default);
        ReorderBuffer {
            config,
            slots,
            next: None,
            held: 0,
            bytes: 0,
            hole_since: None,
            overflowed: false,
            last_released: None,
            counters: ReorderCounters::default(),
        }
    }

    /// Changes how long a hole is waited for (see [`ReorderConfig::max_hole_wait`]); a hole
    /// already waited for is judged by the new value from now on.
    pub fn set_max_hole_wait(&mut self, wait: Duration) {
        self.config.max_hole_wait = wait;
    }

    /// The counters so far.
    pub fn counters(&self) -> ReorderCounters {
        self.counters
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    fn index(&self, seq: u64) -> usize {
        // The slot count fits in usize, so the remainder does.
        usize::try_from(seq % self.slots.len() as u64).unwrap_or(0)
    }

    fn slot_held(&self, seq: u64) -> bool {
        self.slots
            .get(self.index(seq))
            .is_some_and(|s| s.held && s.seq == seq)
    }

    /// Takes a packet received at `now` (the payload is copied). The first packet sets the
    /// start of the sequence; a packet before the next one to release is late.
    pub fn insert(
        &mut self,
        now: Instant,
        seq: u64,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> ReorderInsert {
        if payload.len() > self.config.max_payload {
            self.counters.dropped += 1;
            return ReorderInsert::TooLarge;
        }
        let next = *self.next.get_or_insert(seq);
        if seq < next {
            self.counters.late += 1;
            return ReorderInsert::Late;
        }
        let window = self.slots.len() as u64;
        if seq - next >= window {
            if self.held > 0 {
                self.counters.dropped += 1;
                self.overflowed = true;
                return ReorderInsert::Full;
            }
            // Nothing waits: the stream jumped ahead; restart the window there.
            self.next = Some(seq);
        }
        if self.slot_held(seq) {
            self.counters.duplicates += 1;
            return ReorderInsert::Duplicate;
        }
        if self.bytes + payload.len() > self.config.max_bytes {
            self.counters.dropped += 1;
            self.overflowed = true;
            return ReorderInsert::Full;
        }
        let i = self.index(seq);
        let Some(slot) = self.slots.get_mut(i) else {
            return ReorderInsert::Full;
        };
        slot.seq = seq;
        slot.held = true;
        slot.timestamp = timestamp;
        slot.marker = marker;
        slot.arrival = Some(now);
        slot.data.clear();
        slot.data.extend_from_slice(payload);
        self.held += 1;
        self.bytes += payload.len();
        self.refresh_hole();
        ReorderInsert::Stored
    }

    /// Keeps `hole_since` = arrival of the first packet behind the hole at `next`, or `None`
    /// when nothing waits on a hole. Scans at most once per hole.
    fn refresh_hole(&mut self) {
        let Some(next) = self.next else { return };
        if self.held == 0 || self.slot_held(next) {
            self.hole_since = None;
            return;
        }
        if self.hole_since.is_some() {
            return;
        }
        self.hole_since = (1..self.slots.len() as u64)
            .map(|d| next + d)
            .find(|&s| self.slot_held(s))
            .and_then(|s| self.slots.get(self.index(s)))
            .and_then(|s| s.arrival);
    }

    /// When the hole in front must be given up if it is still there: call
    /// [`pop`](Self::pop) then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.hole_since.map(|t| t + self.config.max_hole_wait)
    }

    /// The next packet in order, if it is here, or after giving up the hole in front of it
    /// (too many packets behind it, waited `max_hole_wait`, or the buffer overflowed).
    pub fn pop(&mut self, now: Instant) -> Option<Released<'_>> {
        let mut next = self.next?;
        if self.held == 0 {
            return None;
        }
        if !self.slot_held(next) {
            let waited = self
                .hole_since
                .is_some_and(|t| now.saturating_duration_since(t) >= self.config.max_hole_wait);
            if !(self.overflowed || waited || self.held >= self.config.max_hole_packets) {
                return None;
            }
            // Give up: move to the first held packet (within the window since one is held).
            let start = next;
            while !self.slot_held(next) && next - start < self.slots.len() as u64 {
                next += 1;
            }
            if !self.slot_held(next) {
                return None;
            }
            self.counters.holes_skipped += 1;
            self.overflowed = false;
            self.hole_since = None;
        }
        let i = self.index(next);
        let lost_before = self.last_released.map_or(0, |l| next - l - 1);
        self.counters.lost += lost_before;
        self.counters.released += 1;
        self.last_released = Some(next);
        self.next = Some(next + 1);
        let slot = self.slots.get_mut(i)?;
        slot.held = false;
        self.held -= 1;
        self.bytes -= slot.data.len();
        self.refresh_hole();
        let slot = self.slots.get(i)?;
        Some(Released {
            seq: slot.seq,
            timestamp: slot.timestamp,
            marker: slot.marker,
            payload: &slot.data,
            lost_before,
        })
    }
}
