//! Receive side: TSN tracking, SACK contents, reassembly and delivery (RFC 9260 §6.2, §6.9;
//! RFC 3758 §3.6 for FORWARD TSN).
//!
//! RFC 9260 §6.9 requires the fragments of a message to carry consecutive TSNs, and a sender
//! assigns TSNs in SSN order per stream. So chunks are assembled as the cumulative TSN point
//! passes them, which yields every stream's messages in SSN order. To avoid head-of-line
//! blocking across streams, a message stored above a gap is delivered early when all its
//! fragments are present and it is unordered or carries its stream's next expected SSN; its
//! chunks stay as empty markers until the cumulative point passes them.
//! Memory: out-of-order data plus the message being assembled plus delivered-but-unpolled
//! messages are bounded by the advertised window (`capacity`), with one exception allowed by
//! RFC 9260 §6.2 for the chunk at the cumulative TSN point (bounded by `capacity` again).

use std::collections::{BTreeMap, HashMap, VecDeque};

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
    /// Part of a message delivered before the cumulative point reached it.
    delivered: bool,
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
    ranges: VecDeque<(u64, u64)>,
    partial: Option<Partial>,
    dups: Vec<u32>,
    ooo_bytes: usize,
    /// Bytes of delivered messages still waiting in the event queue.
    pub queued_bytes: usize,
    capacity: usize,
    max_message: usize,
    /// Next expected SSN per incoming stream (ordered delivery, RFC 9260 §6.6).
    next_ssn: HashMap<u16, u16>,
    /// Stored (not yet delivered) first fragments of ordered messages: (stream, SSN) → TSN.
    ordered_b: HashMap<(u16, u16), u64>,
    /// Size of the last message reassembled in order: the buffer of the next one starts
    /// with this capacity (messages tend to have similar sizes), so it is not regrown
    /// (and copied) once per doubling.
    size_hint: usize,
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
            next_ssn: HashMap::new(),
            ordered_b: HashMap::new(),
            size_hint: 0,
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
        let ordered = d.flags & FLAG_UNORDERED == 0;
        if !complete_unordered && ordered && d.flags & FLAG_BEGIN != 0 {
            self.ordered_b.insert((d.stream, d.ssn), tsn);
        }
        self.ooo.insert(tsn, frag);
        if !complete_unordered && (!ordered || self.expected_ssn(d.stream) == d.ssn) {
            let delivered_ordered = self.try_early(tsn, events);
            if delivered_ordered == Some(true) {
                self.deliver_following(d.stream, events);
            }
        }
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

    fn expected_ssn(&self, stream: u16) -> u16 {
        self.next_ssn.get(&stream).copied().unwrap_or(0)
    }

    /// Removes a stored chunk, keeping the byte count and the ordered-message index right.
    fn take_stored(&mut self, t: u64) -> Option<Frag> {
        let f = self.ooo.remove(&t)?;
        self.ooo_bytes -= f.data.len();
        if !f.delivered
            && f.flags & (FLAG_BEGIN | FLAG_UNORDERED) == FLAG_BEGIN
            && self.ordered_b.get(&(f.stream, f.ssn)) == Some(&t)
        {
            self.ordered_b.remove(&(f.stream, f.ssn));
        }
        Some(f)
    }

    /// Delivers the stored message containing chunk `t` if all its fragments are stored.
    /// Returns `Some(ordered)` when a message was delivered. The walk goes forward first and
    /// stops at the first missing fragment, so a message arriving in order costs O(1) per
    /// chunk until its last fragment arrives.
    fn try_early(&mut self, t: u64, events: &mut VecDeque<Event>) -> Option<bool> {
        let f = self.ooo.get(&t)?;
        if f.delivered {
            return None;
        }
        let (stream, ssn, uo) = (f.stream, f.ssn, f.flags & FLAG_UNORDERED);
        let same = |p: &Frag| {
            !p.delivered
                && p.stream == stream
                && p.flags & FLAG_UNORDERED == uo
                && (uo != 0 || p.ssn == ssn)
        };
        let mut total = f.data.len();
        let mut e = t;
        while self.ooo.get(&e)?.flags & FLAG_END == 0 {
            let n = self.ooo.get(&(e + 1))?;
            if !same(n) || n.flags & FLAG_BEGIN != 0 {
                return None;
            }
            total += n.data.len();
            e += 1;
        }
        let mut s = t;
        while self.ooo.get(&s)?.flags & FLAG_BEGIN == 0 {
            let p = self.ooo.get(&(s - 1))?;
            if !same(p) || p.flags & FLAG_END != 0 {
                return None;
            }
            total += p.data.len();
            s -= 1;
        }
        if total > self.max_message {
            // Left for the in-order path, which aborts the association.
            return None;
        }
        let ppid = self.ooo.get(&s)?.ppid;
        let mut data = Vec::new();
        for x in s..=e {
            if let Some(f) = self.ooo.get_mut(&x) {
                self.ooo_bytes -= f.data.len();
                if s == e {
                    data = std::mem::take(&mut f.data);
                } else {
                    if data.is_empty() {
                        data.reserve_exact(total);
                    }
                    data.extend_from_slice(&f.data);
                    f.data = Vec::new();
                }
                f.delivered = true;
            }
        }
        let ordered = uo == 0;
        if ordered {
            if self.ordered_b.get(&(stream, ssn)) == Some(&s) {
                self.ordered_b.remove(&(stream, ssn));
            }
            self.next_ssn.insert(stream, ssn.wrapping_add(1));
        }
        self.deliver(stream, ppid, !ordered, data, events);
        Some(ordered)
    }

    /// After an ordered delivery on `stream`, delivers stored messages that are now next.
    fn deliver_following(&mut self, stream: u16, events: &mut VecDeque<Event>) {
        while !self.ordered_b.is_empty() {
            let next = self.expected_ssn(stream);
            let Some(&b) = self.ordered_b.get(&(stream, next)) else {
                break;
            };
            if self.try_early(b, events).is_none() {
                break;
            }
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
        while let Some(&(s, e)) = self.ranges.front() {
            if s != self.cum + 1 {
                break;
            }
            self.ranges.pop_front();
            for t in s..=e {
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
                let mut buf = Vec::with_capacity(self.size_hint.max(data.len()));
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
        if !self.ordered_b.is_empty() {
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
        // Skipped SSNs of ordered streams: later stored messages may now be next.
        for (stream, ssn) in streams.take(1024) {
            let cand = ssn.wrapping_add(1);
            if (cand.wrapping_sub(self.expected_ssn(stream)) as i16) > 0 {
                self.next_ssn.insert(stream, cand);
                self.deliver_following(stream, events);
            }
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
        assert_eq!(rx.a_rwnd() as usize, (1 << 20) - 4 - 4 - 5);
    }

    #[test]
    fn window_and_distance_bounds() {
        let mut rx = Rx::new(1, 100, 1000);
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
        assert!(rx.ordered_b.is_empty());
        assert_eq!(rx.ooo_bytes, 0);
    }
}
