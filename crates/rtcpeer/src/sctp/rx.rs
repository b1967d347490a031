//! Receive side: TSN tracking, SACK contents, reassembly and delivery (RFC 9260 §6.2, §6.9;
//! RFC 3758 §3.6 for FORWARD TSN).
//!
//! Fragments are assembled in TSN order: RFC 9260 §6.9 requires the fragments of a message to
//! carry consecutive TSNs and a sender assigns TSNs in SSN order per stream, so walking the
//! cumulative TSN point yields every ordered stream's messages in SSN order without per-stream
//! reorder buffers. Unordered single-chunk messages are delivered as soon as they arrive.
//! Memory: out-of-order data plus the message being assembled plus delivered-but-unpolled
//! messages are bounded by the advertised window (`capacity`), with one exception allowed by
//! RFC 9260 §6.2 for the chunk at the cumulative TSN point (bounded by `capacity` again).

use std::collections::{BTreeMap, VecDeque};

use super::chunk::{Data, FLAG_BEGIN, FLAG_END, FLAG_UNORDERED};
use super::{Event, Message};

/// Highest distance above the cumulative TSN that is accepted (gap offsets are 16-bit).
pub const MAX_TSN_AHEAD: u64 = 65_535;
/// Bound on duplicate TSNs remembered for the next SACK.
const MAX_DUPS: usize = 32;

/// Maps a 32-bit serial number onto the 64-bit line nearest to `reference` (RFC 1982 style).
#[inline]
pub fn unwrap_tsn(reference: u64, tsn: u32) -> u64 {
    let delta = tsn.wrapping_sub(reference as u32) as i32 as i64;
    (reference as i64).saturating_add(delta).max(0) as u64
}

struct Frag {
    stream: u16,
    ssn: u16,
    ppid: u32,
    flags: u8,
    data: Vec<u8>,
    /// An unordered single-chunk message that was delivered when it arrived.
    delivered: bool,
}

struct Partial {
    stream: u16,
    ppid: u32,
    unordered: bool,
    last_tsn: u64,
    data: Vec<u8>,
}

/// What happened to one DATA chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataOutcome {
    /// New data; `in_order` when it was at the cumulative point and no gap remains.
    New { in_order: bool, filled_gap: bool },
    /// Already received.
    Duplicate,
    /// Dropped: no buffer space, too far ahead or empty.
    Dropped,
    /// A message exceeded the maximum message size: the association must abort.
    TooLarge,
}

/// Receive-side state of an association.
pub struct Rx {
    /// Cumulative TSN point, unwrapped (RFC 9260 §6.2).
    pub cum: u64,
    ooo: BTreeMap<u64, Frag>,
    ranges: VecDeque<(u64, u64)>,
    partial: Option<Partial>,
    dups: Vec<u32>,
    ooo_bytes: usize,
    /// Bytes of delivered messages still waiting in the event queue.
    pub queued_bytes: usize,
    capacity: usize,
    max_message: usize,
}

enum Payload<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Payload<'_> {
    fn len(&self) -> usize {
        match self {
            Payload::Borrowed(b) => b.len(),
            Payload::Owned(v) => v.len(),
        }
    }
    fn into_vec(self) -> Vec<u8> {
        match self {
            Payload::Borrowed(b) => b.to_vec(),
            Payload::Owned(v) => v,
        }
    }
    fn append_to(self, out: &mut Vec<u8>) {
        match self {
            Payload::Borrowed(b) => out.extend_from_slice(b),
            Payload::Owned(v) => out.extend_from_slice(&v),
        }
    }
}

impl Rx {
    /// State for a peer whose first TSN is `peer_initial_tsn`.
    pub fn new(peer_initial_tsn: u32, capacity: usize, max_message: usize) -> Self {
        Rx {
            cum: (1u64 << 32) + peer_initial_tsn as u64 - 1,
            ooo: BTreeMap::new(),
            ranges: VecDeque::new(),
            partial: None,
            dups: Vec::new(),
            ooo_bytes: 0,
            queued_bytes: 0,
            capacity,
            max_message,
        }
    }

    fn held(&self) -> usize {
        self.ooo_bytes + self.queued_bytes + self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Advertised receiver window (RFC 9260 §6.2).
    pub fn a_rwnd(&self) -> u32 {
        self.capacity
            .saturating_sub(self.held())
            .min(u32::MAX as usize) as u32
    }

    /// Whether TSNs above the cumulative point are outstanding (a gap exists).
    #[cfg(test)]
    pub fn has_gaps(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// Cumulative TSN as sent on the wire.
    pub fn cum_wire(&self) -> u32 {
        self.cum as u32
    }

    /// Fills gap blocks (at most `max_blocks`) and takes the duplicate list for a SACK.
    pub fn sack_fields(
        &mut self,
        gaps: &mut Vec<(u16, u16)>,
        dups: &mut Vec<u32>,
        max_blocks: usize,
    ) {
        gaps.clear();
        dups.clear();
        for &(s, e) in self.ranges.iter().take(max_blocks) {
            gaps.push(((s - self.cum) as u16, (e - self.cum) as u16));
        }
        std::mem::swap(dups, &mut self.dups);
    }

    /// Handles one DATA chunk (RFC 9260 §6.2); delivered messages are pushed to `events`.
    pub fn on_data(&mut self, d: &Data<'_>, events: &mut VecDeque<Event>) -> DataOutcome {
        let tsn = unwrap_tsn(self.cum, d.tsn);
        if tsn <= self.cum || self.ooo.contains_key(&tsn) {
            if self.dups.len() < MAX_DUPS {
                self.dups.push(d.tsn);
            }
            return DataOutcome::Duplicate;
        }
        if d.payload.is_empty() || tsn - self.cum > MAX_TSN_AHEAD {
            return DataOutcome::Dropped;
        }
        let len = d.payload.len();
        if tsn == self.cum + 1 {
            // The chunk at the cumulative point is taken even when the window is full of
            // out-of-order data, since it lets that data drain (bounded by `capacity` twice).
            let partial = self.partial.as_ref().map_or(0, |p| p.data.len());
            if self.held() + len > self.capacity
                && self.queued_bytes + partial + len > self.capacity
            {
                return DataOutcome::Dropped;
            }
            if !self.process(
                tsn,
                d.stream,
                d.ssn,
                d.ppid,
                d.flags,
                Payload::Borrowed(d.payload),
                false,
                events,
            ) {
                return DataOutcome::TooLarge;
            }
            self.cum = tsn;
            let filled_gap = self.ranges.front().is_some_and(|r| r.0 == self.cum + 1);
            if !self.pull_contiguous(events) {
                return DataOutcome::TooLarge;
            }
            return DataOutcome::New {
                in_order: self.ranges.is_empty(),
                filled_gap,
            };
        }
        if self.held() + len > self.capacity {
            return DataOutcome::Dropped;
        }
        self.insert_range(tsn);
        let complete_unordered = d.flags & (FLAG_BEGIN | FLAG_END | FLAG_UNORDERED)
            == FLAG_BEGIN | FLAG_END | FLAG_UNORDERED;
        let frag = if complete_unordered {
            self.deliver(d.stream, d.ppid, true, d.payload.to_vec(), events);
            Frag {
                stream: d.stream,
                ssn: d.ssn,
                ppid: d.ppid,
                flags: d.flags,
                data: Vec::new(),
                delivered: true,
            }
        } else {
            self.ooo_bytes += len;
            Frag {
                stream: d.stream,
                ssn: d.ssn,
                ppid: d.ppid,
                flags: d.flags,
                data: d.payload.to_vec(),
                delivered: false,
            }
        };
        self.ooo.insert(tsn, frag);
        DataOutcome::New {
            in_order: false,
            filled_gap: false,
        }
    }

    fn insert_range(&mut self, tsn: u64) {
        let idx = self.ranges.partition_point(|r| r.1 < tsn);
        let joins_prev = idx > 0 && self.ranges[idx - 1].1 + 1 == tsn;
        let joins_next = idx < self.ranges.len() && self.ranges[idx].0 == tsn + 1;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[idx - 1].1 = self.ranges[idx].1;
                self.ranges.remove(idx);
            }
            (true, false) => self.ranges[idx - 1].1 = tsn,
            (false, true) => self.ranges[idx].0 = tsn,
            (false, false) => self.ranges.insert(idx, (tsn, tsn)),
        }
    }

    /// Moves stored chunks that became contiguous with the cumulative point into assembly.
    fn pull_contiguous(&mut self, events: &mut VecDeque<Event>) -> bool {
        while let Some(&(s, e)) = self.ranges.front() {
            if s != self.cum + 1 {
                break;
            }
            self.ranges.pop_front();
            for t in s..=e {
                if let Some(f) = self.ooo.remove(&t) {
                    self.ooo_bytes -= f.data.len();
                    let ok = self.process(
                        t,
                        f.stream,
                        f.ssn,
                        f.ppid,
                        f.flags,
                        Payload::Owned(f.data),
                        f.delivered,
                        events,
                    );
                    self.cum = t;
                    if !ok {
                        return false;
                    }
                }
            }
            self.cum = e;
        }
        true
    }

    /// Feeds one chunk, in TSN order, to the assembler. Returns false if a message got too big.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &mut self,
        tsn: u64,
        stream: u16,
        _ssn: u16,
        ppid: u32,
        flags: u8,
        data: Payload<'_>,
        delivered: bool,
        events: &mut VecDeque<Event>,
    ) -> bool {
        let unordered = flags & FLAG_UNORDERED != 0;
        if delivered {
            self.partial = None;
            return true;
        }
        let b = flags & FLAG_BEGIN != 0;
        let e = flags & FLAG_END != 0;
        if b {
            // A new message starts: whatever was being assembled can never complete.
            self.partial = None;
            if data.len() > self.max_message {
                return false;
            }
            if e {
                self.deliver(stream, ppid, unordered, data.into_vec(), events);
            } else {
                self.partial = Some(Partial {
                    stream,
                    ppid,
                    unordered,
                    last_tsn: tsn,
                    data: data.into_vec(),
                });
            }
            return true;
        }
        match self.partial.as_mut() {
            Some(p) if p.last_tsn + 1 == tsn && p.stream == stream && p.unordered == unordered => {
                if p.data.len() + data.len() > self.max_message {
                    self.partial = None;
                    return false;
                }
                data.append_to(&mut p.data);
                p.last_tsn = tsn;
                if e {
                    if let Some(p) = self.partial.take() {
                        self.deliver(p.stream, p.ppid, p.unordered, p.data, events);
                    }
                }
            }
            // An orphan fragment (its beginning was abandoned by FORWARD TSN): dropped.
            _ => self.partial = None,
        }
        true
    }

    fn deliver(
        &mut self,
        stream: u16,
        ppid: u32,
        unordered: bool,
        data: Vec<u8>,
        events: &mut VecDeque<Event>,
    ) {
        self.queued_bytes += data.len();
        events.push_back(Event::Message(Message {
            stream,
            ppid,
            data,
            unordered,
        }));
    }

    /// Handles FORWARD TSN (RFC 3758 §3.6): skips abandoned TSNs, drops partial messages,
    /// delivers what becomes deliverable. Returns false if nothing changed.
    pub fn on_forward_tsn(
        &mut self,
        new_cum: u32,
        events: &mut VecDeque<Event>,
    ) -> Result<bool, ()> {
        let nc = unwrap_tsn(self.cum, new_cum);
        if nc <= self.cum {
            return Ok(false);
        }
        let mut expect = self.cum + 1;
        while let Some(entry) = self.ooo.first_entry() {
            let t = *entry.key();
            if t > nc {
                break;
            }
            let f = entry.remove();
            self.ooo_bytes -= f.data.len();
            if t != expect {
                self.partial = None;
            }
            if !self.process(
                t,
                f.stream,
                f.ssn,
                f.ppid,
                f.flags,
                Payload::Owned(f.data),
                f.delivered,
                events,
            ) {
                return Err(());
            }
            expect = t + 1;
        }
        if expect != nc + 1 || self.partial.is_some() {
            // Messages cut by the new cumulative point were abandoned by the sender.
            self.partial = None;
        }
        while let Some(r) = self.ranges.front_mut() {
            if r.1 <= nc {
                self.ranges.pop_front();
            } else {
                if r.0 <= nc {
                    r.0 = nc + 1;
                }
                break;
            }
        }
        self.cum = nc;
        if !self.pull_contiguous(events) {
            return Err(());
        }
        Ok(true)
    }

    /// Chunks held in out-of-order storage.
    pub fn stored_chunks(&self) -> usize {
        self.ooo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(tsn: u32, flags: u8, stream: u16, payload: &[u8]) -> Data<'_> {
        Data {
            flags,
            tsn,
            stream,
            ssn: 0,
            ppid: 51,
            payload,
        }
    }

    fn msgs(ev: &mut VecDeque<Event>) -> Vec<Vec<u8>> {
        ev.drain(..)
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.data),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unwrap_handles_wraparound() {
        let r = (1u64 << 32) + u32::MAX as u64;
        assert_eq!(unwrap_tsn(r, 0), r + 1);
        assert_eq!(unwrap_tsn(r, u32::MAX - 1), r - 1);
        assert_eq!(unwrap_tsn(5, 3), 3);
    }

    #[test]
    fn reassembles_out_of_order_fragments_across_wrap() {
        let mut rx = Rx::new(u32::MAX - 1, 1 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        let t0 = u32::MAX - 1;
        assert_eq!(
            rx.on_data(&data(t0.wrapping_add(2), 0, 1, b"cc"), &mut ev),
            DataOutcome::New {
                in_order: false,
                filled_gap: false
            }
        );
        assert!(rx.has_gaps());
        rx.on_data(&data(t0.wrapping_add(3), FLAG_END, 1, b"d"), &mut ev);
        rx.on_data(&data(t0, FLAG_BEGIN, 1, b"aa"), &mut ev);
        let mut g = Vec::new();
        let mut d = Vec::new();
        rx.sack_fields(&mut g, &mut d, 16);
        assert_eq!(g, vec![(2, 3)]);
        assert!(msgs(&mut ev).is_empty());
        let out = rx.on_data(&data(t0.wrapping_add(1), 0, 1, b"bb"), &mut ev);
        assert_eq!(
            out,
            DataOutcome::New {
                in_order: true,
                filled_gap: true
            }
        );
        assert_eq!(msgs(&mut ev), vec![b"aabbccd".to_vec()]);
        assert_eq!(rx.cum_wire(), t0.wrapping_add(3));
        // Duplicates are reported once in the next SACK.
        assert_eq!(
            rx.on_data(&data(t0, FLAG_BEGIN, 1, b"aa"), &mut ev),
            DataOutcome::Duplicate
        );
        rx.sack_fields(&mut g, &mut d, 16);
        assert_eq!(d, vec![t0]);
        rx.sack_fields(&mut g, &mut d, 16);
        assert!(d.is_empty());
    }

    #[test]
    fn unordered_single_chunk_delivered_early_once() {
        let mut rx = Rx::new(10, 1 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        rx.on_data(
            &data(12, FLAG_BEGIN | FLAG_END | FLAG_UNORDERED, 2, b"u"),
            &mut ev,
        );
        assert_eq!(msgs(&mut ev), vec![b"u".to_vec()]);
        rx.on_data(&data(10, FLAG_BEGIN | FLAG_END, 2, b"a"), &mut ev);
        rx.on_data(&data(11, FLAG_BEGIN | FLAG_END, 2, b"b"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(rx.cum_wire(), 12);
        assert_eq!(rx.stored_chunks(), 0);
    }

    #[test]
    fn forward_tsn_drops_partial_and_delivers_rest() {
        let mut rx = Rx::new(1, 1 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        rx.on_data(&data(1, FLAG_BEGIN, 0, b"x"), &mut ev); // message 1..3, 2 lost
        rx.on_data(&data(3, FLAG_END, 0, b"z"), &mut ev);
        rx.on_data(&data(4, FLAG_BEGIN | FLAG_END, 0, b"next"), &mut ev);
        rx.on_data(&data(6, FLAG_BEGIN | FLAG_END, 0, b"after"), &mut ev);
        assert!(msgs(&mut ev).is_empty());
        assert_eq!(rx.on_forward_tsn(3, &mut ev), Ok(true));
        assert_eq!(msgs(&mut ev), vec![b"next".to_vec()]);
        assert_eq!(rx.cum_wire(), 4);
        assert_eq!(rx.on_forward_tsn(2, &mut ev), Ok(false));
        rx.on_data(&data(5, FLAG_BEGIN | FLAG_END, 0, b"five"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"five".to_vec(), b"after".to_vec()]);
        assert_eq!(rx.stored_chunks(), 0);
        // Delivered but not yet polled messages still count against the window.
        assert_eq!(rx.a_rwnd() as usize, (1 << 20) - 4 - 4 - 5);
    }

    #[test]
    fn window_and_distance_bounds() {
        let mut rx = Rx::new(1, 100, 1000);
        let mut ev = VecDeque::new();
        let big = [0u8; 60];
        assert!(matches!(
            rx.on_data(&data(3, FLAG_BEGIN | FLAG_END, 0, &big), &mut ev),
            DataOutcome::New { .. }
        ));
        assert_eq!(
            rx.on_data(&data(4, FLAG_BEGIN | FLAG_END, 0, &big), &mut ev),
            DataOutcome::Dropped
        );
        assert_eq!(
            rx.on_data(&data(1 + 70_000, FLAG_BEGIN | FLAG_END, 0, b"x"), &mut ev),
            DataOutcome::Dropped
        );
        assert_eq!(
            rx.on_data(&data(2, FLAG_BEGIN | FLAG_END, 0, b""), &mut ev),
            DataOutcome::Dropped
        );
        // The chunk at the cumulative point is still accepted.
        assert!(matches!(
            rx.on_data(&data(1, FLAG_BEGIN | FLAG_END, 0, &big), &mut ev),
            DataOutcome::New { .. }
        ));
        let mut rx = Rx::new(1, 1 << 20, 10);
        assert_eq!(
            rx.on_data(&data(1, FLAG_BEGIN, 0, &[1; 8]), &mut ev),
            DataOutcome::New {
                in_order: true,
                filled_gap: false
            }
        );
        assert_eq!(
            rx.on_data(&data(2, FLAG_END, 0, &[1; 8]), &mut ev),
            DataOutcome::TooLarge
        );
    }
}
