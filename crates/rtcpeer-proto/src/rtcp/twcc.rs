//! Transport-wide congestion-control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
//! §3.1): RTPFB FMT 15. Parsing checks that the packet status chunks cover the status count
//! and that the receive deltas they announce are present, with work bounded by the packet's
//! bytes; the writer picks run-length or status-vector chunks; the feedback builder turns
//! (transport sequence number, arrival time) lists into packets under a size limit.

use super::feedback::{fb_begin, fb_header};
use super::{PT_RTPFB, RtcpError, be16, be32, finish};

/// One receive-delta tick: 250 µs (§3.1.5).
pub const TWCC_DELTA_US: i64 = 250;
/// One reference-time unit: 64 ms (§3.1).
pub const TWCC_REFERENCE_US: i64 = 64_000;

const TICKS_PER_REFERENCE: i64 = TWCC_REFERENCE_US / TWCC_DELTA_US;
const MAX_RUN: u16 = 0x1FFF;
/// Symbols: packet not received, received with a small (1-byte, 0..=255 ticks) delta,
/// received with a large or negative (2-byte signed) delta (§3.1.1).
const NOT_RECEIVED: u8 = 0;
const SMALL: u8 = 1;
const LARGE: u8 = 2;

/// One packet of a feedback: its transport-wide sequence number and, if it was received,
/// its receive delta in 250 µs ticks from the previous received packet (the first from the
/// reference time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwccStatus {
    /// Transport-wide sequence number.
    pub seq: u16,
    /// Receive delta in 250 µs ticks, `None` when not received.
    pub delta: Option<i16>,
}

/// A transport-wide CC feedback packet, validated (§3.1).
#[derive(Debug, Clone, Copy)]
pub struct TransportCc<'a> {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source (libwebrtc sends the first media SSRC it saw, or 0).
    pub media_ssrc: u32,
    /// Transport sequence number of the first packet reported.
    pub base_seq: u16,
    /// Number of packets reported.
    pub status_count: u16,
    /// Reference time, 24 bits, in 64 ms units (read unsigned; wraps every ~12.4 days).
    pub reference_time: u32,
    /// Feedback packet count, incremented per feedback sent (8 bits, wraps).
    pub fb_count: u8,
    chunks: &'a [u8],
    deltas: &'a [u8],
}

impl PartialEq for TransportCc<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.sender_ssrc == o.sender_ssrc
            && self.media_ssrc == o.media_ssrc
            && self.base_seq == o.base_seq
            && self.status_count == o.status_count
            && self.reference_time == o.reference_time
            && self.fb_count == o.fb_count
            && self.packets().eq(o.packets())
    }
}

impl Eq for TransportCc<'_> {}

/// How many symbols a chunk holds (§3.1.3, §3.1.4).
fn capacity(chunk: u16) -> u16 {
    if chunk & 0x8000 == 0 {
        chunk & MAX_RUN
    } else if chunk & 0x4000 == 0 {
        14
    } else {
        7
    }
}

/// The `i`-th symbol of a chunk (`i` < capacity).
fn symbol(chunk: u16, i: u16) -> u8 {
    if chunk & 0x8000 == 0 {
        ((chunk >> 13) & 3) as u8
    } else if chunk & 0x4000 == 0 {
        ((chunk >> (13 - i)) & 1) as u8
    } else {
        ((chunk >> (12 - 2 * i)) & 3) as u8
    }
}

fn delta_size(sym: u8) -> usize {
    match sym {
        SMALL => 1,
        LARGE => 2,
        _ => 0,
    }
}

impl<'a> TransportCc<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<TransportCc<'a>, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = fb_header(body)?;
        let base_seq = be16(fci, 0).ok_or(RtcpError::Truncated)?;
        let status_count = be16(fci, 2).ok_or(RtcpError::Truncated)?;
        let w = be32(fci, 4).ok_or(RtcpError::Truncated)?;
        let rest = &fci[8..];
        // One step per 2-byte chunk present: a hostile count cannot make this walk longer
        // than the packet.
        let mut pos = 0;
        let mut left = status_count;
        let mut delta_bytes = 0usize;
        while left > 0 {
            let chunk = be16(rest, pos).ok_or(RtcpError::Truncated)?;
            pos += 2;
            let take = capacity(chunk).min(left);
            if chunk & 0x8000 == 0 {
                let sym = symbol(chunk, 0);
                if sym == 3 && take > 0 {
                    return Err(RtcpError::Malformed("TWCC reserved status symbol"));
                }
                delta_bytes += usize::from(take) * delta_size(sym);
            } else {
                for i in 0..take {
                    let sym = symbol(chunk, i);
                    if sym == 3 {
                        return Err(RtcpError::Malformed("TWCC reserved status symbol"));
                    }
                    delta_bytes += delta_size(sym);
                }
            }
            left -= take;
        }
        let deltas = rest
            .get(pos..pos + delta_bytes)
            .ok_or(RtcpError::Truncated)?;
        Ok(TransportCc {
            sender_ssrc,
            media_ssrc,
            base_seq,
            status_count,
            reference_time: w >> 8,
            fb_count: w as u8,
            chunks: &rest[..pos],
            deltas,
        })
    }

    /// The reference time in µs (64 ms units, unsigned 24-bit).
    pub fn reference_time_us(&self) -> i64 {
        i64::from(self.reference_time) * TWCC_REFERENCE_US
    }

    /// The time from a previous feedback's reference time `prev` (24-bit) to this one's, in
    /// µs, across the 24-bit wrap (the nearest of the candidates, as libwebrtc reads it).
    pub fn reference_time_delta_us(&self, prev: u32) -> i64 {
        const WRAP: i64 = 1 << 24;
        let d = (i64::from(self.reference_time) - i64::from(prev)).rem_euclid(WRAP);
        let d = if d >= WRAP / 2 { d - WRAP } else { d };
        d * TWCC_REFERENCE_US
    }

    /// Every reported packet, in sequence order (`status_count` items, at most 65535; runs of
    /// lost packets are one item each — use [`TransportCc::received`] to skip them in O(1)).
    pub fn packets(&self) -> impl Iterator<Item = TwccStatus> + Clone + 'a {
        let mut c = Cursor::new(self);
        std::iter::from_fn(move || c.next(false).map(|(seq, delta, _)| TwccStatus { seq, delta }))
    }

    /// The received packets with their arrival times in µs on the feedback sender's clock
    /// (reference time + the sum of the deltas so far). Runs of lost packets are skipped
    /// at once: O(chunks + received packets).
    pub fn received(&self) -> impl Iterator<Item = (u16, i64)> + Clone + 'a {
        let mut c = Cursor::new(self);
        std::iter::from_fn(move || loop {
            let (seq, delta, arrival) = c.next(true)?;
            if delta.is_some() {
                return Some((seq, arrival));
            }
        })
    }

    /// Appends this feedback to `out`, re-encoding its chunks.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let header = Header {
            sender_ssrc: self.sender_ssrc,
            media_ssrc: self.media_ssrc,
            base_seq: self.base_seq,
            reference_time: self.reference_time,
            fb_count: self.fb_count,
        };
        write_statuses(out, &header, self.packets().map(|p| p.delta))
    }
}

/// Walks chunks and deltas together.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    chunks: &'a [u8],
    deltas: &'a [u8],
    seq: u16,
    left: u16,
    chunk: u16,
    idx: u16,
    cap: u16,
    arrival_us: i64,
}

impl<'a> Cursor<'a> {
    fn new(p: &TransportCc<'a>) -> Cursor<'a> {
        Cursor {
            chunks: p.chunks,
            deltas: p.deltas,
            seq: p.base_seq,
            left: p.status_count,
            chunk: 0,
            idx: 0,
            cap: 0,
            arrival_us: p.reference_time_us(),
        }
    }

    /// The next packet (seq, delta, arrival so far). With `skip_lost`, the rest of a
    /// not-received run is skipped in one step (and reported as one lost item).
    fn next(&mut self, skip_lost: bool) -> Option<(u16, Option<i16>, i64)> {
        while self.idx >= self.cap {
            if self.left == 0 {
                return None;
            }
            self.chunk = be16(self.chunks, 0)?;
            self.chunks = &self.chunks[2..];
            self.cap = capacity(self.chunk);
            self.idx = 0;
        }
        if self.left == 0 {
            return None;
        }
        let sym = symbol(self.chunk, self.idx);
        let seq = self.seq;
        let step = if skip_lost && sym == NOT_RECEIVED && self.chunk & 0x8000 == 0 {
            (self.cap - self.idx).min(self.left)
        } else {
            1
        };
        self.idx += step;
        self.left -= step;
        self.seq = self.seq.wrapping_add(step);
        let delta = match sym {
            SMALL => {
                let (&d, rest) = self.deltas.split_first()?;
                self.deltas = rest;
                Some(i16::from(d))
            }
            LARGE => {
                let d = be16(self.deltas, 0)? as i16;
                self.deltas = &self.deltas[2..];
                Some(d)
            }
            _ => None,
        };
        if let Some(d) = delta {
            self.arrival_us += i64::from(d) * TWCC_DELTA_US;
        }
        Some((seq, delta, self.arrival_us))
    }
}

/// Greedy chunk encoder: keeps up to 14 pending symbols and emits the densest chunk that
/// holds them (run length while all are equal, else a 1-bit vector of 14 when no large delta
/// is among them, else a 2-bit vector of 7).
#[derive(Debug, Clone, Copy)]
struct ChunkEncoder {
    syms: [u8; 14],
    size: u16,
    all_same: bool,
    has_large: bool,
}

impl ChunkEncoder {
    fn new() -> ChunkEncoder {
        ChunkEncoder {
            syms: [0; 14],
            size: 0,
            all_same: true,
            has_large: false,
        }
    }

    fn can_add(&self, s: u8) -> bool {
        self.size < 7
            || (self.size < 14 && !self.has_large && s != LARGE)
            || (self.size < MAX_RUN && self.all_same && s == self.syms[0])
    }

    fn add(&mut self, s: u8) {
        if self.size < 14 {
            self.syms[usize::from(self.size)] = s;
        }
        self.size += 1;
        self.all_same &= s == self.syms[0];
        self.has_large |= s == LARGE;
    }

    fn run(&self) -> u16 {
        (u16::from(self.syms[0]) << 13) | self.size
    }

    fn one_bit(&self, n: u16) -> u16 {
        (0..n).fold(0x8000, |c, i| {
            c | (u16::from(self.syms[usize::from(i)]) << (13 - i))
        })
    }

    fn two_bit(&self, n: u16) -> u16 {
        (0..n).fold(0xC000, |c, i| {
            c | (u16::from(self.syms[usize::from(i)]) << (12 - 2 * i))
        })
    }

    /// Emits one full chunk (called when the next symbol cannot be added).
    fn emit(&mut self) -> u16 {
        if self.all_same {
            let c = self.run();
            *self = ChunkEncoder::new();
            return c;
        }
        if self.size == 14 {
            let c = self.one_bit(14);
            *self = ChunkEncoder::new();
            return c;
        }
        let c = self.two_bit(7);
        let rest = self.syms;
        let n = self.size - 7;
        *self = ChunkEncoder::new();
        for &s in &rest[7..7 + usize::from(n)] {
            self.add(s);
        }
        c
    }

    /// Emits the last chunk for what is pending (size > 0).
    fn emit_last(&self) -> u16 {
        if self.all_same {
            self.run()
        } else if self.size <= 7 {
            self.two_bit(self.size)
        } else {
            self.one_bit(self.size)
        }
    }
}

fn symbol_of(delta: Option<i16>) -> u8 {
    match delta {
        None => NOT_RECEIVED,
        Some(0..=255) => SMALL,
        Some(_) => LARGE,
    }
}

struct Header {
    sender_ssrc: u32,
    media_ssrc: u32,
    base_seq: u16,
    reference_time: u32,
    fb_count: u8,
}

/// Writes a feedback with the given per-packet deltas (consecutive sequence numbers from
/// `base_seq`): chunks first, then the deltas, then RTCP padding (as libwebrtc does).
fn write_statuses(
    out: &mut Vec<u8>,
    h: &Header,
    statuses: impl Iterator<Item = Option<i16>> + Clone,
) -> Result<(), RtcpError> {
    let count = u16::try_from(statuses.clone().count()).map_err(|_| RtcpError::TooMany)?;
    if h.reference_time > 0x00FF_FFFF {
        return Err(RtcpError::TooMany);
    }
    let start = fb_begin(out, 15, PT_RTPFB, h.sender_ssrc, h.media_ssrc);
    out.extend_from_slice(&h.base_seq.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&((h.reference_time << 8) | u32::from(h.fb_count)).to_be_bytes());
    let mut enc = ChunkEncoder::new();
    for d in statuses.clone() {
        let s = symbol_of(d);
        if !enc.can_add(s) {
            out.extend_from_slice(&enc.emit().to_be_bytes());
        }
        enc.add(s);
    }
    if enc.size > 0 {
        out.extend_from_slice(&enc.emit_last().to_be_bytes());
    }
    for d in statuses.flatten() {
        match u8::try_from(d) {
            Ok(small) => out.push(small),
            Err(_) => out.extend_from_slice(&d.to_be_bytes()),
        }
    }
    finish(out, start)
}

/// One packet the feedback builder reports: its transport-wide sequence number and its
/// arrival time in µs (any monotonic clock of the receiver), `None` if not received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwccArrival {
    /// Transport-wide sequence number (from the RTP header extension).
    pub seq: u16,
    /// Arrival time in µs, `None` when lost.
    pub arrival_us: Option<i64>,
}

/// The status sequence of `packets` (gaps become not-received, entries at or behind the
/// next expected number are skipped), with deltas from `prev_ticks`.
#[derive(Debug, Clone)]
struct Statuses<'p> {
    packets: &'p [TwccArrival],
    next_seq: u16,
    gap: u16,
    prev_ticks: i64,
}

impl Iterator for Statuses<'_> {
    type Item = Option<i16>;

    fn next(&mut self) -> Option<Option<i16>> {
        loop {
            if self.gap > 0 {
                self.gap -= 1;
                self.next_seq = self.next_seq.wrapping_add(1);
                return Some(None);
            }
            let (first, rest) = self.packets.split_first()?;
            let g = first.seq.wrapping_sub(self.next_seq);
            if g >= 0x8000 {
                self.packets = rest;
                continue;
            }
            if g > 0 {
                self.gap = g;
                continue;
            }
            self.packets = rest;
            self.next_seq = self.next_seq.wrapping_add(1);
            return Some(first.arrival_us.map(|a| {
                let ticks = a.div_euclid(TWCC_DELTA_US);
                let d = ticks - self.prev_ticks;
                self.prev_ticks = ticks;
                // The builder checked the range before including this packet.
                d as i16
            }));
        }
    }
}

/// Builds one transport-wide CC feedback (§3.1) from `packets` (in sending order of their
/// transport sequence numbers; gaps are reported as not received, repeated or older
/// entries are skipped) and appends it to `out`, at most `max_len` bytes. The first
/// received packet sets the reference time. Chunks are chosen greedily (run length, 1-bit or
/// 2-bit vectors). Returns how many entries of `packets` the feedback covers (0 when
/// `packets` is empty: nothing written); the caller sends the rest in the next feedback
/// with `fb_count + 1`. A packet stops the feedback when it would not fit `max_len`, when its
/// delta does not fit 16 bits of 250 µs ticks (±8.19 s), or at 65535 statuses.
pub fn write_twcc_feedback(
    out: &mut Vec<u8>,
    sender_ssrc: u32,
    media_ssrc: u32,
    fb_count: u8,
    packets: &[TwccArrival],
    max_len: usize,
) -> Result<usize, RtcpError> {
    let Some(first) = packets.first() else {
        return Ok(0);
    };
    let ref64 = packets
        .iter()
        .find_map(|p| p.arrival_us)
        .map_or(0, |a| a.div_euclid(TWCC_REFERENCE_US));
    let base_ticks = ref64 * TICKS_PER_REFERENCE;
    let reference_time = ref64.rem_euclid(1 << 24) as u32;

    // Plan: how many entries fit, simulating the encoder exactly.
    let mut enc = ChunkEncoder::new();
    let mut chunks = 0usize;
    let mut delta_bytes = 0usize;
    let mut count = 0u32;
    let mut next_seq = first.seq;
    let mut prev_ticks = base_ticks;
    let mut consumed = 0;
    for p in packets {
        let g = p.seq.wrapping_sub(next_seq);
        if g >= 0x8000 {
            consumed += 1;
            continue;
        }
        if count + u32::from(g) + 1 > u32::from(u16::MAX) {
            break;
        }
        let mut ticks = prev_ticks;
        let sym = match p.arrival_us {
            None => NOT_RECEIVED,
            Some(a) => {
                ticks = a.div_euclid(TWCC_DELTA_US);
                match i16::try_from(ticks - prev_ticks) {
                    Ok(d) => symbol_of(Some(d)),
                    Err(_) => break,
                }
            }
        };
        let mut trial = enc;
        let mut trial_chunks = chunks;
        for s in std::iter::repeat_n(NOT_RECEIVED, usize::from(g)).chain([sym]) {
            if !trial.can_add(s) {
                trial.emit();
                trial_chunks += 1;
            }
            trial.add(s);
        }
        let trial_deltas = delta_bytes + delta_size(sym);
        let len = 20 + 2 * (trial_chunks + 1) + trial_deltas;
        if len.next_multiple_of(4) > max_len {
            break;
        }
        enc = trial;
        chunks = trial_chunks;
        delta_bytes = trial_deltas;
        count += u32::from(g) + 1;
        next_seq = p.seq.wrapping_add(1);
        prev_ticks = ticks;
        consumed += 1;
    }
    if count == 0 {
        return Err(RtcpError::TooLong);
    }
    let header = Header {
        sender_ssrc,
        media_ssrc,
        base_seq: first.seq,
        reference_time,
        fb_count,
    };
    let statuses = Statuses {
        packets: &packets[..consumed],
        next_seq: first.seq,
        gap: 0,
        prev_ticks: base_ticks,
    };
    write_statuses(out, &header, statuses)?;
    Ok(consumed)
}
