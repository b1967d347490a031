//! AV1 payload format (AOMedia "RTP Payload Format for AV1" v1.0.0): the aggregation header
//! Z/Y/W/N (§4.4), OBU elements with LEB128 lengths (§4.3), OBUs sent without
//! `obu_has_size_field` and temporal delimiters and tile lists removed (§5). Frames come in
//! and go out as temporal units in the low-overhead bitstream format (AV1 §5.2, every OBU
//! with a size field).

use super::{FrameBuf, PayloadError, PayloadHead, PayloadInfo, Reader};

/// The aggregation header, a one-byte length and one byte of an OBU element.
pub(crate) const MIN_PAYLOAD: usize = 3;
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_FRAME: u8 = 6;
const OBU_TILE_LIST: u8 = 8;
const HAS_SIZE: u8 = 0x02;

/// Reads a `leb128()` value (AV1 §4.10.5): at most 8 bytes, at most 2^32 − 1.
pub(crate) fn read_leb128(r: &mut Reader<'_>) -> Result<usize, PayloadError> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let b = r.u8()?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return usize::try_from(v)
                .ok()
                .filter(|&v| v <= u32::MAX as usize)
                .ok_or(PayloadError::Malformed);
        }
    }
    Err(PayloadError::Malformed)
}

/// The length of `v` in LEB128.
pub(crate) fn leb128_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Writes `v` in LEB128 at the start of `out`; returns the length.
pub(crate) fn write_leb128(mut v: usize, out: &mut [u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let more = if v != 0 { 0x80 } else { 0 };
        *out.get_mut(i)? = byte | more;
        i += 1;
        if v == 0 {
            return Some(i);
        }
    }
}

fn obu_type(header: u8) -> u8 {
    (header >> 3) & 0x0f
}

/// One OBU of a temporal unit: its header byte(s) and payload, as an OBU element would
/// carry it (the header's `obu_has_size_field` cleared, no size).
#[derive(Debug, Clone, Copy)]
struct Obu {
    header: u8,
    ext: Option<u8>,
    payload_start: usize,
    payload_end: usize,
    /// Where the next OBU starts in the temporal unit.
    next: usize,
}

impl Obu {
    fn header_len(&self) -> usize {
        1 + usize::from(self.ext.is_some())
    }

    fn element_len(&self) -> usize {
        self.header_len() + (self.payload_end - self.payload_start)
    }
}

/// Reads the OBU at `pos` of a temporal unit in low-overhead format; the last OBU may omit
/// its size field (AV1 §5.3.1).
fn read_obu(tu: &[u8], pos: usize) -> Result<Option<Obu>, PayloadError> {
    let Some(rest) = tu.get(pos..).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let mut r = Reader::new(rest);
    let h = r.u8().map_err(|_| PayloadError::InvalidFrame)?;
    if h & 0x80 != 0 {
        return Err(PayloadError::InvalidFrame); // obu_forbidden_bit
    }
    let ext = if h & 0x04 != 0 {
        Some(r.u8().map_err(|_| PayloadError::InvalidFrame)?)
    } else {
        None
    };
    let size = if h & HAS_SIZE != 0 {
        read_leb128(&mut r).map_err(|_| PayloadError::InvalidFrame)?
    } else {
        r.rest().len()
    };
    let start = pos + r.pos();
    let end = start.checked_add(size).ok_or(PayloadError::InvalidFrame)?;
    if end > tu.len() {
        return Err(PayloadError::InvalidFrame);
    }
    Ok(Some(Obu {
        header: h & !HAS_SIZE,
        ext,
        payload_start: start,
        payload_end: end,
        next: end,
    }))
}

/// The next OBU to send at or after `pos`: temporal delimiters and tile lists are not sent
/// (AV1 RTP §5).
fn next_sendable(tu: &[u8], mut pos: usize) -> Result<Option<Obu>, PayloadError> {
    while let Some(obu) = read_obu(tu, pos)? {
        match obu_type(obu.header) {
            OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST => pos = obu.next,
            _ => return Ok(Some(obu)),
        }
    }
    Ok(None)
}

/// Cuts one temporal unit into payloads: OBU elements packed greedily, the last one
/// fragmented across packets when it does not fit (Y and Z bits).
#[derive(Debug)]
pub(crate) struct Packetizer<'a> {
    tu: &'a [u8],
    /// The OBU being sent and how many bytes of its element are sent.
    cur: Option<(Obu, usize)>,
    /// N on the first packet: the unit starts a coded video sequence.
    new_sequence: bool,
    /// Whether the first packet is written.
    started: bool,
}

impl<'a> Packetizer<'a> {
    /// Checks every OBU's framing and whether the unit is a keyframe with a sequence header
    /// (which sets N, AV1 RTP §4.4).
    pub fn new(tu: &'a [u8]) -> Result<Self, PayloadError> {
        let mut pos = 0;
        let mut seq_header = false;
        let mut key = None;
        while let Some(obu) = read_obu(tu, pos)? {
            let t = obu_type(obu.header);
            if t == OBU_SEQUENCE_HEADER {
                seq_header = true;
            }
            if (t == OBU_FRAME || t == OBU_FRAME_HEADER) && key.is_none() {
                let first = tu.get(obu.payload_start..obu.payload_end).and_then(|p| p.first());
                key = Some(first.is_some_and(|b| b & 0xe0 == 0));
            }
            pos = obu.next;
        }
        let first = next_sendable(tu, 0)?.ok_or(PayloadError::Empty)?;
        Ok(Packetizer {
            tu,
            cur: Some((first, 0)),
            new_sequence: seq_header && key == Some(true),
            started: false,
        })
    }

    /// Copies bytes `from..to` of an OBU element (header without size flag, extension,
    /// payload) to `out`.
    fn copy_element(
        &self,
        obu: &Obu,
        from: usize,
        to: usize,
        out: &mut [u8],
    ) -> Result<(), PayloadError> {
        let head = [obu.header & !HAS_SIZE, obu.ext.unwrap_or(0)];
        let hl = obu.header_len();
        let mut o = 0;
        for &b in head.get(from.min(hl)..to.min(hl)).unwrap_or_default() {
            *out.get_mut(o).ok_or(PayloadError::TooLarge)? = b;
            o += 1;
        }
        let p_from = obu.payload_start + from.max(hl) - hl;
        let p_to = obu.payload_start + to.max(hl) - hl;
        let src = self.tu.get(p_from..p_to).ok_or(PayloadError::InvalidFrame)?;
        out.get_mut(o..o + src.len())
            .ok_or(PayloadError::TooLarge)?
            .copy_from_slice(src);
        Ok(())
    }

    pub fn next(&mut self, out: &mut [u8]) -> Result<Option<PayloadInfo>, PayloadError> {
        let Some((start_obu, start_off)) = self.cur else {
            return Ok(None);
        };
        // Plan: every element with a length (the last loses it if W can count them).
        let mut room = out.len() - 1;
        let mut count = 0usize;
        let mut state = Some((start_obu, start_off));
        let mut fragment_end = None;
        while let Some((obu, off)) = state {
            let rem = obu.element_len() - off;
            if leb128_len(rem) + rem <= room {
                room -= leb128_len(rem) + rem;
                count += 1;
                state = next_sendable(self.tu, obu.next)?.map(|o| (o, 0));
                continue;
            }
            // This element is the packet's last: without a length if W can count it.
            let unprefixed = count < 3;
            if unprefixed && rem <= room {
                count += 1;
                state = next_sendable(self.tu, obu.next)?.map(|o| (o, 0));
                break;
            }
            let c = if unprefixed {
                room
            } else if room >= 2 {
                let mut c = room - leb128_len(room);
                while c > 0 && leb128_len(c) + c > room {
                    c -= 1;
                }
                c
            } else {
                0
            };
            if c > 0 {
                count += 1;
                fragment_end = Some((obu, off + c));
            }
            break;
        }
        if count == 0 {
            return Err(PayloadError::MaxPayloadTooSmall);
        }
        let w = if count <= 3 { count } else { 0 };
        let z = start_off > 0;
        let y = fragment_end.is_some();
        let n = self.new_sequence && !self.started;
        self.started = true;
        let agg = (if z { 0x80 } else { 0 })
            | (if y { 0x40 } else { 0 })
            | ((w as u8) << 4)
            | (if n { 0x08 } else { 0 });
        *out.first_mut().ok_or(PayloadError::TooLarge)? = agg;
        let mut pos = 1;
        let mut cur = (start_obu, start_off);
        for i in 0..count {
            let (obu, off) = cur;
            let last = i + 1 == count;
            let to = match fragment_end {
                Some((_, end)) if last => end,
                _ => obu.element_len(),
            };
            let len = to - off;
            if w == 0 || !last {
                let dst = out.get_mut(pos..).ok_or(PayloadError::TooLarge)?;
                pos += write_leb128(len, dst).ok_or(PayloadError::TooLarge)?;
            }
            let dst = out.get_mut(pos..).ok_or(PayloadError::TooLarge)?;
            self.copy_element(&obu, off, to, dst)?;
            pos += len;
            if !last {
                cur = next_sendable(self.tu, obu.next)?
                    .map(|o| (o, 0))
                    .ok_or(PayloadError::InvalidFrame)?;
            }
        }
        self.cur = match fragment_end {
            Some(f) => Some(f),
            None => state,
        };
        Ok(Some(PayloadInfo {
            len: pos,
            marker: self.cur.is_none(),
        }))
    }
}

/// Reads one AV1 payload's aggregation header (AV1 RTP §4.4): Z=1 continues an OBU so does
/// not begin a unit; N=1 begins a coded video sequence, so a keyframe.
pub(crate) fn parse(payload: &[u8]) -> Result<PayloadHead, PayloadError> {
    let agg = *payload.first().ok_or(PayloadError::Empty)?;
    if payload.len() < 2 {
        return Err(PayloadError::Truncated);
    }
    let z = agg & 0x80 != 0;
    let n = agg & 0x08 != 0;
    Ok(PayloadHead {
        begins: if z {
            Some(false)
        } else if n {
            Some(true)
        } else {
            None
        },
        ends: false,
        keyframe: n,
        body: 0,
    })
}

/// Assembly state within one temporal unit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Assembly {
    /// Where the raw bytes of an OBU fragmented across packets begin in the frame.
    fragment: Option<usize>,
    seq_header: bool,
    frame_seen: bool,
}

impl Assembly {
    /// Appends one payload's OBU elements to the frame as OBUs with size fields.
    pub fn append(&mut self, payload: &[u8], fb: &mut FrameBuf<'_>) -> Result<(), PayloadError> {
        let agg = *payload.first().ok_or(PayloadError::Empty)?;
        let (z, y) = (agg & 0x80 != 0, agg & 0x40 != 0);
        let w = usize::from((agg >> 4) & 0x03);
        if z != self.fragment.is_some() {
            return Err(PayloadError::Malformed);
        }
        let mut r = Reader::new(payload.get(1..).unwrap_or_default());
        if r.rest().is_empty() {
            return Err(PayloadError::Truncated);
        }
        let mut i = 0;
        while !r.rest().is_empty() {
            i += 1;
            if w != 0 && i > w {
                return Err(PayloadError::Malformed);
            }
            let len = if w == 0 || i < w {
                read_leb128(&mut r)?
            } else {
                r.rest().len()
            };
            if len == 0 {
                return Err(PayloadError::Malformed);
            }
            let elem = r.take(len)?;
            let last = r.rest().is_empty();
            if i == 1 && z {
                fb.extend(elem)?;
                if !(last && y) {
                    let start = self.fragment.take().ok_or(PayloadError::Malformed)?;
                    self.complete_fragment(start, fb)?;
                }
            } else if last && y {
                self.fragment = Some(fb.data.len());
                fb.extend(elem)?;
            } else {
                self.write_obu(elem, fb)?;
            }
        }
        Ok(())
    }

    /// Notes sequence headers and the first frame's type: a unit with a sequence header
    /// whose first frame is a shown KEY_FRAME (show_existing_frame = 0, frame_type = 0,
    /// AV1 §5.9.2) is a keyframe.
    fn note(&mut self, t: u8, first_payload_byte: Option<u8>, fb: &mut FrameBuf<'_>) {
        if t == OBU_SEQUENCE_HEADER {
            self.seq_header = true;
        }
        if (t == OBU_FRAME || t == OBU_FRAME_HEADER) && !self.frame_seen {
            self.frame_seen = true;
            if self.seq_header && first_payload_byte.is_some_and(|b| b & 0xe0 == 0) {
                *fb.keyframe = true;
            }
        }
    }

    /// Writes a whole OBU element as an OBU with a size field.
    fn write_obu(&mut self, elem: &[u8], fb: &mut FrameBuf<'_>) -> Result<(), PayloadError> {
        let mut r = Reader::new(elem);
        let h = r.u8()?;
        if h & 0x80 != 0 {
            return Err(PayloadError::Malformed);
        }
        let ext = if h & 0x04 != 0 { Some(r.u8()?) } else { None };
        // The element's length is the OBU's: a size field in it is read past and rewritten
        // (like pion's depacketizer, liberal where the two disagree).
        if h & HAS_SIZE != 0 {
            read_leb128(&mut r)?;
        }
        let payload = r.rest();
        let t = obu_type(h);
        if t == OBU_TEMPORAL_DELIMITER || t == OBU_TILE_LIST {
            return Ok(()); // AV1 RTP §5: ignored by receivers
        }
        self.note(t, payload.first().copied(), fb);
        let mut size = [0u8; 8];
        let sl = write_leb128(payload.len(), &mut size).ok_or(PayloadError::Malformed)?;
        fb.room(1 + usize::from(ext.is_some()) + sl + payload.len())?;
        fb.extend(&[h | HAS_SIZE])?;
        if let Some(e) = ext {
            fb.extend(&[e])?;
        }
        fb.extend(size.get(..sl).unwrap_or_default())?;
        fb.extend(payload)
    }

    /// Rewrites the OBU whose raw bytes are at `start..` of the frame in place: adds its
    /// size field, or drops it if it is not kept.
    fn complete_fragment(&mut self, start: usize, fb: &mut FrameBuf<'_>) -> Result<(), PayloadError> {
        let raw = fb.data.get(start..).ok_or(PayloadError::Malformed)?;
        let mut r = Reader::new(raw);
        let h = r.u8()?;
        if h & 0x80 != 0 {
            return Err(PayloadError::Malformed);
        }
        if h & 0x04 != 0 {
            r.u8()?;
        }
        let hl = r.pos();
        let t = obu_type(h);
        if t == OBU_TEMPORAL_DELIMITER || t == OBU_TILE_LIST {
            fb.data.truncate(start);
            return Ok(());
        }
        if h & HAS_SIZE != 0 {
            // A size field sent inside a fragmented OBU: rewrite the OBU from its element.
            let size_at = r.pos();
            read_leb128(&mut r)?;
            let size_len = r.pos() - size_at;
            let at = start + size_at;
            fb.data.copy_within(at + size_len.., at);
            fb.data.truncate(fb.data.len() - size_len);
            if let Some(b) = fb.data.get_mut(start) {
                *b &= !HAS_SIZE;
            }
            return self.complete_fragment(start, fb);
        }
        let first = r.rest().first().copied();
        let payload_len = r.rest().len();
        let mut size = [0u8; 8];
        let sl = write_leb128(payload_len, &mut size).ok_or(PayloadError::Malformed)?;
        fb.room(sl)?;
        let old_len = fb.data.len();
        fb.data.resize(old_len + sl, 0);
        let at = start + hl;
        fb.data.copy_within(at..old_len, at + sl);
        fb.data
            .get_mut(at..at + sl)
            .ok_or(PayloadError::Malformed)?
            .copy_from_slice(size.get(..sl).unwrap_or_default());
        if let Some(b) = fb.data.get_mut(start) {
            *b |= HAS_SIZE;
        }
        self.note(t, first, fb);
        Ok(())
    }

    /// At the end of the unit: an OBU still open (Y=1 on the last packet) is incomplete.
    pub fn finish(&self) -> Result<(), PayloadError> {
        match self.fragment {
            Some(_) => Err(PayloadError::Malformed),
            None => Ok(()),
        }
    }
}
