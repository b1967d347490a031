//! Receive side: TSN tracking, SACK contents, reassembly and delivery (RFC 9260 §6.2, §6.9;
//! RFC 3758 §3.6 for FORWARD TSN).
//!
//! RFC 9260 §6.9 requires the fragments of a message to carry consecutive TSNs, and a sender
//! assigns TSNs in SSN order per stream. So chunks are assembled as the cumulative TSN point
//! passes them, which yields every stream's messages in SSN order. To avoid head-of-line
//! blocking across streams, a message stored above a gap is delivered early when all its
//! fragments are present and it is unordered or carries its stream's next expected SSN; its
//! chunks stay as empty markers until the cumulative point passes them.
//!
//! Cost: the peer chooses the order of its fragments, so every arriving chunk costs O(log n)
//! map operations (n stored chunks) whatever the order. Stored chunks are grouped into
//! *pieces*, maximal runs of consecutive TSNs that can belong to one message (each chunk but
//! the last without END, each but the first without BEGIN, one stream, one U bit, one SSN
//! when ordered). Only a piece's two end chunks keep its extent and size, so a new chunk
//! joins its neighbours' pieces in O(1) lookups and a piece that starts with BEGIN and ends
//! with END is a complete message, found without walking it. Complete ordered messages
//! that are not next wait in an index by (stream, SSN), so each delivery finds the next one
//! in O(1). Every stored chunk is copied out once, when its message is delivered.
//!
//! Memory: out-of-order data plus the message being assembled plus delivered-but-unpolled
//! messages are bounded by the advertised window (`capacity`), with one exception allowed by
//! RFC 9260 §6.2 for the chunk at the cumulative TSN point (bounded by `capacity` again).
//! Each stored chunk and each queued message is charged [`ITEM_OVERHEAD`] bytes on top of
//! its payload, so one-byte fragments or messages cannot make bookkeeping outgrow the window;
//! at most [`MAX_TSN_AHEAD`] chunks are stored.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::chunk::{Data, FLAG_BEGIN, FLAG_END, FLAG_UNORDERED};
use super::{Event, Message};

/// Highest distance above the cumulative TSN that is accepted (gap offsets are 16-bit).
pub const MAX_TSN_AHEAD: u64 = 65_535;
/// Bound on duplicate TSNs remembered for the next SACK.
const MAX_DUPS: usize = 32;
/// Window bytes charged per stored chunk and per delivered, not yet polled message on top
/// of its payload: about what its bookkeeping (map entry, allocation) costs in memory.
pub const ITEM_OVERHEAD: usize = 64;

/// Counts work (stored chunks or ranges touched) for the tests that bound it.
macro_rules! visit {
    ($s:ident, $n:expr) => {
        #[cfg(test)]
        {
            $s.visits += $n as u64;
        }
    };
}

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
    /// Part of a message delivered before the cumulative point reached it.
    delivered: bool,
    /// Its `ITEM_OVERHEAD` counts in `ooo_bytes` (the first chunk of a message delivered
    /// early hands its charge to the queued message).
    charged: bool,
    /// Valid at the first and the last chunk of a piece: the TSN of its other end.
    other: u64,
    /// Valid at the first and the last chunk of a piece: payload bytes of the piece.
    piece_bytes: usize,
    data: Vec<u8>,
}

/// Whether chunk `b` can directly follow chunk `a` (one TSN later) inside one message.
fn links(a: &Frag, b: &Frag) -> bool {
    !a.delivered
        && !b.delivered
        && a.flags & FLAG_END == 0
        && b.flags & FLAG_BEGIN == 0
        && a.stream == b.stream
        && a.flags & FLAG_UNORDERED == b.flags & FLAG_UNORDERED
        && (a.flags & FLAG_UNORDERED != 0 || a.ssn == b.ssn)
}

struct Partial {
    stream: u16,
    ssn: u16,
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
    /// TSNs received above the cumulative point, as ranges start → end (the gap blocks).
    ranges: BTreeMap<u64, u64>,
    partial: Option<Partial>,
    dups: Vec<u32>,
    /// Window charge of stored chunks: payload plus `ITEM_OVERHEAD` each.
    ooo_bytes: usize,
    /// Window charge of delivered messages still waiting in the event queue.
    queued_bytes: usize,
    capacity: usize,
    max_message: usize,
    /// Next expected SSN per incoming stream (ordered delivery, RFC 9260 §6.6).
    next_ssn: HashMap<u16, u16>,
    /// Complete ordered messages stored above a gap, waiting for their turn:
    /// (stream, SSN) → TSN of the first fragment.
    ready: HashMap<(u16, u16), u64>,
    /// Size of the last message reassembled in order: the buffer of the next one starts
    /// with this capacity (messages tend to have similar sizes), so it is not regrown
    /// (and copied) once per doubling.
    size_hint: usize,
    #[cfg(test)]
    visits: u64,
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
            ranges: BTreeMap::new(),
            partial: None,
            dups: Vec::new(),
            ooo_bytes: 0,
            queued_bytes: 0,
            capacity,
            max_message,
            next_ssn: HashMap::new(),
            ready: HashMap::new(),
            size_hint: 0,
            #[cfg(test)]
            visits: 0,
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

    /// Window bytes held: stored chunks, the message being assembled and unpolled messages,
    /// each item with its bookkeeping charge.
    pub fn held_bytes(&self) -> usize {
        self.held()
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
        for (&s, &e) in self.ranges.iter().take(max_blocks) {
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
        if len > self.max_message {
            // No message can hold this chunk: the association aborts (as for a message
            // that grows too large), whatever path the chunk would take.
            return DataOutcome::TooLarge;
        }
        if tsn == self.cum + 1 {
            // The chunk at the cumulative point is taken even when the window is full of
            // out-of-order data, since it lets that data drain (bounded by `capacity` twice).
            // The charge of the message it may complete is counted too.
            let partial = self.partial.as_ref().map_or(0, |p| p.data.len());
            let need = len + ITEM_OVERHEAD;
            if self.held() + need > self.capacity
                && self.queued_bytes + partial + need > self.capacity
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
            let filled_gap = self
                .ranges
                .first_key_value()
                .is_some_and(|(&s, _)| s == self.cum + 1);
            if !self.pull_contiguous(events) {
                return DataOutcome::TooLarge;
            }
            return DataOutcome::New {
                in_order: self.ranges.is_empty(),
                filled_gap,
            };
        }
        if self.held() + len + ITEM_OVERHEAD > self.capacity {
            return DataOutcome::Dropped;
        }
        self.insert_range(tsn);
        let complete_unordered = d.flags & (FLAG_BEGIN | FLAG_END | FLAG_UNORDERED)
            == FLAG_BEGIN | FLAG_END | FLAG_UNORDERED;
        let mut frag = Frag {
            stream: d.stream,
            ssn: d.ssn,
            ppid: d.ppid,
            flags: d.flags,
            delivered: complete_unordered,
            // A complete unordered chunk is delivered at once: the message carries the charge.
            charged: !complete_unordered,
            other: tsn,
            piece_bytes: len,
            data: Vec::new(),
        };
        if complete_unordered {
            self.deliver(d.stream, d.ppid, true, d.payload.to_vec(), events);
        } else {
            frag.data = d.payload.to_vec();
        }
        if frag.charged {
            self.ooo_bytes += frag.data.len() + ITEM_OVERHEAD;
        }
        self.ooo.insert(tsn, frag);
        if !complete_unordered {
            self.join(tsn, events);
        }
        DataOutcome::New {
            in_order: false,
            filled_gap: false,
        }
    }

    /// Records `tsn` in the received ranges above the cumulative point (O(log n)).
    fn insert_range(&mut self, tsn: u64) {
        visit!(self, 1);
        let prev = self
            .ranges
            .range(..tsn)
            .next_back()
            .filter(|(_, e)| **e + 1 == tsn)
            .map(|(&s, _)| s);
        let next = self.ranges.remove(&(tsn + 1));
        match prev {
            Some(s) => self.ranges.insert(s, next.unwrap_or(tsn)),
            None => self.ranges.insert(tsn, next.unwrap_or(tsn)),
        };
    }

    fn expected_ssn(&self, stream: u16) -> u16 {
        self.next_ssn.get(&stream).copied().unwrap_or(0)
    }

    /// Joins the newly stored chunk `t` with the pieces ending at `t - 1` and starting at
    /// `t + 1`, and delivers the result if it is a complete message that may go now.
    fn join(&mut self, t: u64, events: &mut VecDeque<Event>) {
        visit!(self, 3);
        let Some(f) = self.ooo.get(&t) else { return };
        let (mut start, mut end, mut bytes) = (t, t, f.data.len());
        // `t - 1` and `t + 1` were not linked to anything on this side, so they are the
        // ends of their pieces and carry the pieces' extent and size.
        if let Some(p) = self.ooo.get(&(t - 1))
            && links(p, f)
        {
            start = p.other;
            bytes += p.piece_bytes;
        }
        if let Some(n) = self.ooo.get(&(t + 1))
            && links(f, n)
        {
            end = n.other;
            bytes += n.piece_bytes;
        }
        visit!(self, 2);
        if let Some(s) = self.ooo.get_mut(&start) {
            s.other = end;
            s.piece_bytes = bytes;
        }
        if let Some(e) = self.ooo.get_mut(&end) {
            e.other = start;
            e.piece_bytes = bytes;
        }
        let (Some(s), Some(e)) = (self.ooo.get(&start), self.ooo.get(&end)) else {
            return;
        };
        if s.flags & FLAG_BEGIN == 0 || e.flags & FLAG_END == 0 || bytes > self.max_message {
            // Incomplete; or too large, which the in-order path turns into an abort.
            return;
        }
        let (stream, ssn) = (s.stream, s.ssn);
        if s.flags & FLAG_UNORDERED != 0 {
            self.deliver_stored(start, end, bytes, events);
        } else if ssn == self.expected_ssn(stream) {
            self.deliver_stored(start, end, bytes, events);
            self.next_ssn.insert(stream, ssn.wrapping_add(1));
            self.deliver_following(stream, events);
        } else {
            // A second complete message with the same SSN (a broken or hostile peer) is
            // left for the in-order path.
            self.ready.entry((stream, ssn)).or_insert(start);
        }
    }

    /// Delivers the complete stored message `s..=e` of `bytes` bytes, leaving markers.
    fn deliver_stored(&mut self, s: u64, e: u64, bytes: usize, events: &mut VecDeque<Event>) {
        let mut data = Vec::new();
        let (mut stream, mut ppid, mut unordered) = (0, 0, false);
        for (&t, f) in self.ooo.range_mut(s..=e) {
            visit!(self, 1);
            if t == s {
                (stream, ppid) = (f.stream, f.ppid);
                unordered = f.flags & FLAG_UNORDERED != 0;
                // The queued message takes over this chunk's bookkeeping charge.
                if f.charged {
                    f.charged = false;
                    self.ooo_bytes -= ITEM_OVERHEAD;
                }
            }
            self.ooo_bytes -= f.data.len();
            if s == e {
                data = std::mem::take(&mut f.data);
            } else {
                if data.capacity() == 0 {
                    data.reserve_exact(bytes);
                }
                data.extend_from_slice(&f.data);
                f.data = Vec::new();
            }
            f.delivered = true;
        }
        self.deliver(stream, ppid, unordered, data, events);
    }

    /// Removes a stored chunk, keeping the byte count and the ready index right.
    fn take_stored(&mut self, t: u64) -> Option<Frag> {
        let f = self.ooo.remove(&t)?;
        self.ooo_bytes -= f.data.len() + if f.charged { ITEM_OVERHEAD } else { 0 };
        if !f.delivered
            && f.flags & (FLAG_BEGIN | FLAG_UNORDERED) == FLAG_BEGIN
            && self.ready.get(&(f.stream, f.ssn)) == Some(&t)
        {
            self.ready.remove(&(f.stream, f.ssn));
        }
        Some(f)
    }

    /// After an ordered delivery on `stream`, delivers stored complete messages that are
    /// now next: O(1) per message delivered.
    fn deliver_following(&mut self, stream: u16, events: &mut VecDeque<Event>) {
        while !self.ready.is_empty() {
            visit!(self, 1);
            let ssn = self.expected_ssn(stream);
            let Some(s) = self.ready.remove(&(stream, ssn)) else {
                break;
            };
            let Some(f) = self.ooo.get(&s) else { break };
            let (e, bytes) = (f.other, f.piece_bytes);
            let complete = !f.delivered
                && f.flags & FLAG_BEGIN != 0
                && self
                    .ooo
                    .get(&e)
                    .is_some_and(|l| !l.delivered && l.flags & FLAG_END != 0 && l.other == s);
            if !complete {
                break;
            }
            self.deliver_stored(s, e, bytes, events);
            self.next_ssn.insert(stream, ssn.wrapping_add(1));
        }
    }

    /// The peer reset these incoming streams (RFC 6525 §5.2.2): their SSNs restart at 0.
    pub fn reset_streams(&mut self, streams: &[u16]) {
        if streams.is_empty() {
            self.next_ssn.clear();
        }
        for s in streams {
            self.next_ssn.remove(s);
        }
    }

    /// Moves stored chunks that became contiguous with the cumulative point into assembly.
    fn pull_contiguous(&mut self, events: &mut VecDeque<Event>) -> bool {
        while let Some((&s, &e)) = self.ranges.first_key_value() {
            if s != self.cum + 1 {
                break;
            }
            self.ranges.pop_first();
            for t in s..=e {
                visit!(self, 1);
                if let Some(f) = self.take_stored(t) {
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
        ssn: u16,
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
                if !unordered {
                    self.ordered_done(stream, ssn, events);
                }
            } else {
                // The hint is capped at 256 times this fragment: a full first fragment
                // (MTU-sized) still gets the whole hint, a tiny one cannot make each
                // BEGIN reserve the largest message seen.
                let hint = self.size_hint.min(data.len().saturating_mul(256));
                let mut buf = Vec::with_capacity(hint.max(data.len()));
                data.append_to(&mut buf);
                self.partial = Some(Partial {
                    stream,
                    ssn,
                    ppid,
                    unordered,
                    last_tsn: tsn,
                    data: buf,
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
                if e && let Some(mut p) = self.partial.take() {
                    self.size_hint = p.data.len();
                    // A hint from a larger message: give the excess back before the
                    // message waits in the application's queue.
                    if p.data.capacity() > p.data.len() + p.data.len() / 4 {
                        p.data.shrink_to_fit();
                    }
                    self.deliver(p.stream, p.ppid, p.unordered, p.data, events);
                    if !p.unordered {
                        self.ordered_done(p.stream, p.ssn, events);
                    }
                }
            }
            // An orphan fragment (its beginning was abandoned by FORWARD TSN): dropped.
            _ => self.partial = None,
        }
        true
    }

    /// Bookkeeping after an ordered message was delivered by the in-order path.
    fn ordered_done(&mut self, stream: u16, ssn: u16, events: &mut VecDeque<Event>) {
        self.next_ssn.insert(stream, ssn.wrapping_add(1));
        if !self.ready.is_empty() {
            self.deliver_following(stream, events);
        }
    }

    fn deliver(
        &mut self,
        stream: u16,
        ppid: u32,
        unordered: bool,
        data: Vec<u8>,
        events: &mut VecDeque<Event>,
    ) {
        self.queued_bytes += data.len() + ITEM_OVERHEAD;
        events.push_back(Event::Message(Message {
            stream,
            ppid,
            data,
            unordered,
        }));
    }

    /// Handles FORWARD TSN (RFC 3758 §3.6): skips abandoned TSNs, drops partial messages,
    /// delivers what becomes deliverable. Returns false if nothing changed. Each stored
    /// chunk and range is removed once, and each stream entry costs O(1) plus what it
    /// delivers.
    pub fn on_forward_tsn(
        &mut self,
        new_cum: u32,
        streams: impl Iterator<Item = (u16, u16)>,
        events: &mut VecDeque<Event>,
    ) -> Result<bool, ()> {
        let nc = unwrap_tsn(self.cum, new_cum);
        if nc <= self.cum {
            return Ok(false);
        }
        let mut expect = self.cum + 1;
        while let Some((&t, _)) = self.ooo.first_key_value() {
            if t > nc {
                break;
            }
            visit!(self, 1);
            let Some(f) = self.take_stored(t) else { break };
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
        while let Some((&s, &e)) = self.ranges.first_key_value() {
            visit!(self, 1);
            if e <= nc {
                self.ranges.pop_first();
            } else {
                if s <= nc {
                    self.ranges.pop_first();
                    self.ranges.insert(nc + 1, e);
                }
                break;
            }
        }
        self.cum = nc;
        if !self.pull_contiguous(events) {
            return Err(());
        }
        // Skipped SSNs of ordered streams: later stored messages may now be next.
        for (stream, ssn) in streams.take(1024) {
            visit!(self, 1);
            let cand = ssn.wrapping_add(1);
            if (cand.wrapping_sub(self.expected_ssn(stream)) as i16) > 0 {
                self.next_ssn.insert(stream, cand);
                self.deliver_following(stream, events);
            }
        }
        Ok(true)
    }

    /// A delivered message left the event queue: its charge no longer counts against the
    /// window.
    pub fn message_polled(&mut self, m: &Message) {
        self.queued_bytes = self
            .queued_bytes
            .saturating_sub(m.data.len() + ITEM_OVERHEAD);
    }

    /// Chunks held in out-of-order storage.
    pub fn stored_chunks(&self) -> usize {
        self.ooo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datas(tsn: u32, ssn: u16, flags: u8, stream: u16, payload: &[u8]) -> Data<'_> {
        Data {
            flags,
            tsn,
            stream,
            ssn,
            ppid: 51,
            payload,
        }
    }

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

    /// In-order reassembly sizes the next message's buffer from the last one, and a buffer
    /// sized for a larger message is trimmed before delivery.
    #[test]
    fn reassembly_buffers_follow_the_last_message_size() {
        let mut rx = Rx::new(1, 1 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        let frag = vec![7u8; 1000];
        let mut tsn = 1;
        let mut ssn = 0;
        let mut send = |rx: &mut Rx, ev: &mut VecDeque<Event>, frags: usize| {
            for i in 0..frags {
                let mut flags = 0;
                if i == 0 {
                    flags |= FLAG_BEGIN;
                }
                if i + 1 == frags {
                    flags |= FLAG_END;
                }
                rx.on_data(&datas(tsn, ssn, flags, 0, &frag), ev);
                tsn += 1;
            }
            ssn += 1;
        };
        send(&mut rx, &mut ev, 20);
        send(&mut rx, &mut ev, 20);
        send(&mut rx, &mut ev, 3);
        let got: Vec<Vec<u8>> = ev
            .drain(..)
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.data),
                _ => None,
            })
            .collect();
        assert_eq!(
            got.iter().map(Vec::len).collect::<Vec<_>>(),
            [20_000, 20_000, 3000]
        );
        assert!(got.iter().all(|m| m.iter().all(|&b| b == 7)));
        // Sized right from the start (no doubling past it), and trimmed after a larger hint.
        assert_eq!(got[1].capacity(), 20_000);
        assert!(
            got[2].capacity() <= 3000 + 3000 / 4,
            "{}",
            got[2].capacity()
        );
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
        rx.on_data(&datas(11, 1, FLAG_BEGIN | FLAG_END, 2, b"b"), &mut ev);
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
        rx.on_data(&datas(4, 1, FLAG_BEGIN | FLAG_END, 0, b"next"), &mut ev);
        rx.on_data(&datas(6, 3, FLAG_BEGIN | FLAG_END, 0, b"after"), &mut ev);
        assert!(msgs(&mut ev).is_empty());
        assert_eq!(
            rx.on_forward_tsn(3, [(0u16, 0u16)].into_iter(), &mut ev),
            Ok(true)
        );
        assert_eq!(msgs(&mut ev), vec![b"next".to_vec()]);
        assert_eq!(rx.cum_wire(), 4);
        assert_eq!(rx.on_forward_tsn(2, std::iter::empty(), &mut ev), Ok(false));
        rx.on_data(&datas(5, 2, FLAG_BEGIN | FLAG_END, 0, b"five"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"five".to_vec(), b"after".to_vec()]);
        assert_eq!(rx.stored_chunks(), 0);
        // Delivered but not yet polled messages still count against the window.
        assert_eq!(
            rx.a_rwnd() as usize,
            (1 << 20) - 4 - 4 - 5 - 3 * ITEM_OVERHEAD
        );
    }

    #[test]
    fn window_and_distance_bounds() {
        // Stored chunks are charged their payload plus ITEM_OVERHEAD.
        let mut rx = Rx::new(1, 200, 1000);
        let mut ev = VecDeque::new();
        let big = [0u8; 60];
        assert!(matches!(
            rx.on_data(&datas(3, 2, FLAG_BEGIN | FLAG_END, 0, &big), &mut ev),
            DataOutcome::New { .. }
        ));
        assert_eq!(
            rx.on_data(&datas(4, 3, FLAG_BEGIN | FLAG_END, 0, &big), &mut ev),
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

    #[test]
    fn no_head_of_line_blocking_across_streams() {
        let mut rx = Rx::new(1, 1 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        // TSN 1 (stream 1, SSN 0) is missing.
        rx.on_data(&datas(2, 0, FLAG_BEGIN | FLAG_END, 2, b"s2m0"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"s2m0".to_vec()]);
        rx.on_data(&datas(5, 1, FLAG_END, 2, b"c"), &mut ev);
        rx.on_data(&datas(3, 1, FLAG_BEGIN, 2, b"a"), &mut ev);
        assert!(msgs(&mut ev).is_empty());
        rx.on_data(&datas(4, 1, 0, 2, b"b"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"abc".to_vec()]);
        // Stream 1's second message waits for its first.
        rx.on_data(&datas(6, 1, FLAG_BEGIN | FLAG_END, 1, b"s1m1"), &mut ev);
        // Stream 2's next message arrives before its predecessor completes elsewhere.
        rx.on_data(&datas(8, 3, FLAG_BEGIN | FLAG_END, 2, b"s2m3"), &mut ev);
        rx.on_data(&datas(7, 2, FLAG_BEGIN | FLAG_END, 2, b"s2m2"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"s2m2".to_vec(), b"s2m3".to_vec()]);
        rx.on_data(&datas(1, 0, FLAG_BEGIN | FLAG_END, 1, b"s1m0"), &mut ev);
        assert_eq!(msgs(&mut ev), vec![b"s1m0".to_vec(), b"s1m1".to_vec()]);
        assert_eq!(rx.cum_wire(), 8);
        assert_eq!(rx.stored_chunks(), 0);
        assert!(rx.ready.is_empty());
        assert_eq!(rx.ooo_bytes, 0);
    }

    /// One-byte payloads of a message: byte `i` is `i % 251`, so a misplaced fragment shows.
    fn pattern(i: u32) -> [u8; 1] {
        [(i % 251) as u8]
    }

    /// Issue 12 hole 1: one message as `n` one-byte fragments, END first, then decreasing
    /// TSNs. With `gap`, TSN 1 (another stream's message) is missing, so the message completes
    /// above a gap (early delivery); without, its BEGIN is at the cumulative point and arrives
    /// last. Returns the work counted and the messages delivered.
    fn end_first(n: u32, gap: bool, uo: u8) -> (Rx, u64, Vec<Message>) {
        let mut rx = Rx::new(1, 8 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        let first = if gap { 2 } else { 1 };
        for i in (0..n).rev() {
            let mut flags = uo;
            if i == 0 {
                flags |= FLAG_BEGIN;
            }
            if i + 1 == n {
                flags |= FLAG_END;
            }
            let p = pattern(i);
            let out = rx.on_data(&datas(first + i, 0, flags, 0, &p), &mut ev);
            assert!(matches!(out, DataOutcome::New { .. }), "{i}: {out:?}");
        }
        if gap {
            rx.on_data(&datas(1, 0, FLAG_BEGIN | FLAG_END, 1, b"x"), &mut ev);
        }
        let visits = rx.visits;
        let got = ev
            .drain(..)
            .filter_map(|e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        (rx, visits, got)
    }

    #[test]
    fn end_first_one_byte_fragments_cost_linear_work() {
        // The most a message can have above a gap (MAX_TSN_AHEAD - 1).
        const N: u32 = 65_534;
        for (gap, uo) in [(false, 0), (true, 0), (true, FLAG_UNORDERED)] {
            let (rx, visits, got) = end_first(N, gap, uo);
            let want: Vec<u8> = (0..N).map(|i| pattern(i)[0]).collect();
            let m = got
                .iter()
                .find(|m| m.stream == 0)
                .expect("message delivered");
            assert!(m.data == want, "gap {gap} uo {uo}: message corrupted");
            assert_eq!(m.unordered, uo != 0);
            assert_eq!(got.len(), 1 + gap as usize);
            assert_eq!(rx.stored_chunks(), 0);
            assert_eq!(rx.ooo_bytes, 0);
            assert_eq!(rx.cum_wire(), N + gap as u32);
            // A bounded number of stored fragments visited per fragment (it was N²/2).
            assert!(
                visits <= 10 * N as u64,
                "gap {gap} uo {uo}: {visits} visits for {N} fragments"
            );
        }
    }

    /// Small deterministic generator for the randomised tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    struct Chunk {
        tsn: u32,
        stream: u16,
        ssn: u16,
        flags: u8,
        data: Vec<u8>,
    }

    /// Messages on a few streams, ordered and unordered, cut into fragments of random sizes:
    /// (stream, ssn, unordered, payload) and the chunks in TSN order.
    #[allow(clippy::type_complexity)]
    fn random_traffic(
        rng: &mut Rng,
        first_tsn: u32,
        msgs: usize,
    ) -> (Vec<(u16, u16, bool, Vec<u8>)>, Vec<Chunk>) {
        let mut next_ssn = [0u16; 4];
        let mut tsn = first_tsn;
        let (mut sent, mut chunks) = (Vec::new(), Vec::new());
        for k in 0..msgs {
            let stream = rng.below(4) as u16;
            let unordered = rng.below(4) == 0;
            let max = if rng.below(8) == 0 { 5000 } else { 300 };
            let len = 1 + rng.below(max) as usize;
            let data: Vec<u8> = (0..len).map(|i| (k * 7 + i) as u8).collect();
            let ssn = if unordered {
                rng.next() as u16
            } else {
                next_ssn[stream as usize] = next_ssn[stream as usize].wrapping_add(1);
                next_ssn[stream as usize].wrapping_sub(1)
            };
            let mut off = 0;
            while off < len {
                let n = (1 + rng.below(400) as usize).min(len - off);
                let mut flags = if unordered { FLAG_UNORDERED } else { 0 };
                if off == 0 {
                    flags |= FLAG_BEGIN;
                }
                if off + n == len {
                    flags |= FLAG_END;
                }
                chunks.push(Chunk {
                    tsn,
                    stream,
                    ssn,
                    flags,
                    data: data[off..off + n].to_vec(),
                });
                tsn = tsn.wrapping_add(1);
                off += n;
            }
            sent.push((stream, ssn, unordered, data));
        }
        (sent, chunks)
    }

    /// Random arrival orders (with duplicates, and drops when the window is small, resent
    /// later as a sender would): every message comes out once and intact, ordered streams in
    /// SSN order, and nothing stays stored.
    #[test]
    fn random_fragment_orders_deliver_intact_messages() {
        for seed in 1..=60u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let first_tsn = if seed % 3 == 0 {
                u32::MAX - 50
            } else {
                rng.next() as u32
            };
            let (sent, chunks) = random_traffic(&mut rng, first_tsn, 150);
            let capacity = if seed % 2 == 0 { 1 << 22 } else { 20_000 };
            let mut rx = Rx::new(first_tsn, capacity, 1 << 20);
            let mut ev = VecDeque::new();
            let mut pending: Vec<usize> = (0..chunks.len()).collect();
            let mut got: Vec<Message> = Vec::new();
            let mut rounds = 0;
            while !pending.is_empty() {
                rounds += 1;
                assert!(rounds < 10_000, "seed {seed}: no progress");
                // Shuffle, duplicate some, and feed; dropped ones are kept for later.
                for i in (1..pending.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    pending.swap(i, j);
                }
                let mut left = Vec::new();
                for &i in &pending {
                    let c = &chunks[i];
                    let d = datas(c.tsn, c.ssn, c.flags, c.stream, &c.data);
                    let out = rx.on_data(&d, &mut ev);
                    assert_ne!(out, DataOutcome::TooLarge, "seed {seed}");
                    // RFC 9260 §6.2: at most the window, plus once more for the chunk at
                    // the cumulative point.
                    assert!(rx.held_bytes() <= 2 * capacity, "seed {seed}");
                    if out == DataOutcome::Dropped {
                        left.push(i);
                    } else if rng.below(10) == 0 {
                        assert_eq!(rx.on_data(&d, &mut ev), DataOutcome::Duplicate);
                    }
                    // The application reads now and then.
                    if rng.below(8) == 0 {
                        for e in ev.drain(..) {
                            if let Event::Message(m) = e {
                                rx.message_polled(&m);
                                got.push(m);
                            }
                        }
                    }
                }
                pending = left;
            }
            for e in ev.drain(..) {
                if let Event::Message(m) = e {
                    rx.message_polled(&m);
                    got.push(m);
                }
            }
            assert_eq!(got.len(), sent.len(), "seed {seed}");
            let mut seen = vec![false; sent.len()];
            for m in &got {
                let k = sent
                    .iter()
                    .enumerate()
                    .position(|(k, s)| {
                        !seen[k] && s.0 == m.stream && s.2 == m.unordered && s.3 == m.data
                    })
                    .unwrap_or_else(|| panic!("seed {seed}: unexpected message {m:?}"));
                seen[k] = true;
            }
            for stream in 0..4u16 {
                let order: Vec<&Vec<u8>> = got
                    .iter()
                    .filter(|m| m.stream == stream && !m.unordered)
                    .map(|m| &m.data)
                    .collect();
                let want: Vec<&Vec<u8>> = sent
                    .iter()
                    .filter(|s| s.0 == stream && !s.2)
                    .map(|s| &s.3)
                    .collect();
                assert!(order == want, "seed {seed}: stream {stream} out of order");
            }
            assert_eq!(rx.stored_chunks(), 0, "seed {seed}");
            assert_eq!(rx.a_rwnd() as usize, capacity, "seed {seed}");
            assert_eq!(rx.cum_wire(), chunks.last().unwrap().tsn);
        }
    }

    /// Gap ranges inserted outside-in (every other TSN): each insertion costs O(log n), not
    /// a shift of half the ranges, and the SACK reports the lowest blocks.
    #[test]
    fn many_gap_ranges_inserted_outside_in_cost_little() {
        const N: u32 = 30_000;
        let mut rx = Rx::new(1, 64 << 20, 1 << 20);
        let mut ev = VecDeque::new();
        // TSNs 3, 5, 7, ... (singles; TSNs 1, 2, 4, ... missing), inserted from the outside
        // in, so that each one lands in the middle of those already stored.
        let mut order = Vec::new();
        let (mut lo, mut hi) = (1, N);
        while lo <= hi {
            order.push(lo);
            if lo != hi {
                order.push(hi);
            }
            lo += 1;
            hi -= 1;
        }
        for k in order {
            let out = rx.on_data(
                &datas(
                    1 + 2 * k,
                    k as u16,
                    FLAG_BEGIN | FLAG_END | FLAG_UNORDERED,
                    0,
                    b"x",
                ),
                &mut ev,
            );
            assert!(matches!(out, DataOutcome::New { .. }));
        }
        assert!(rx.visits <= 40 * N as u64, "{} visits", rx.visits);
        let (mut g, mut d) = (Vec::new(), Vec::new());
        rx.sack_fields(&mut g, &mut d, 3);
        assert_eq!(g, vec![(3, 3), (5, 5), (7, 7)]);
    }

    /// The size hint of the last large message must not make every tiny BEGIN fragment at
    /// the cumulative point reserve (and page in) a buffer of that size.
    #[test]
    fn tiny_begin_fragments_do_not_reserve_the_last_message_size() {
        let mut rx = Rx::new(1, 1 << 22, 1 << 20);
        let mut ev = VecDeque::new();
        let frag = vec![3u8; 1000];
        for i in 0..200u32 {
            let flags = match i {
                0 => FLAG_BEGIN,
                199 => FLAG_END,
                _ => 0,
            };
            rx.on_data(&data(1 + i, flags, 0, &frag), &mut ev);
        }
        assert_eq!(msgs(&mut ev).len(), 1);
        let mut reserved = 0;
        for i in 0..1000u32 {
            rx.on_data(&datas(201 + i, 1, FLAG_BEGIN, 0, b"b"), &mut ev);
            reserved += rx.partial.as_ref().map_or(0, |p| p.data.capacity());
        }
        assert!(reserved <= 1000 * 256, "{reserved} bytes reserved");
    }

    /// Found by the sctp_reassembly fuzz target: a complete unordered chunk stored above a
    /// gap was delivered at once without the maximum message size check.
    #[test]
    fn oversized_unordered_chunk_above_a_gap_is_refused() {
        let mut rx = Rx::new(1, 1 << 20, 1000);
        let mut ev = VecDeque::new();
        let big = [9u8; 1001];
        let flags = FLAG_BEGIN | FLAG_END | FLAG_UNORDERED;
        assert_eq!(
            rx.on_data(&data(3, flags, 0, &big), &mut ev),
            DataOutcome::TooLarge
        );
        assert!(msgs(&mut ev).is_empty());
        assert_eq!(
            rx.on_data(&data(1, flags, 0, &big), &mut ev),
            DataOutcome::TooLarge
        );
        assert!(msgs(&mut ev).is_empty());
        assert!(matches!(
            rx.on_data(&data(2, flags, 0, &big[..1000]), &mut ev),
            DataOutcome::New { .. }
        ));
        assert_eq!(msgs(&mut ev).len(), 1);
    }
}
