//! H.264 payload format (RFC 6184): single NAL unit packets (§5.6), STAP-A aggregation
//! (§5.7.1) and FU-A fragmentation (§5.8), for packetization-mode 0 (§6.2) and 1 (§6.3).
//! Frames come in and go out in the Annex-B byte-stream format (ITU-T H.264 Annex B).

use std::ops::Range;

use super::{FrameBuf, PayloadError, PayloadHead, PayloadInfo, Reader};

/// FU indicator and FU header (RFC 6184 §5.8).
pub(crate) const FU_HEADER_LEN: usize = 2;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;
const IDR: u8 = 5;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The position of the next `00 00 01` at or after `from`.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    rest.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|p| from + p)
}

/// The NAL units of an Annex-B byte stream, without start codes and trailing zero bytes.
#[derive(Debug, Clone)]
pub(crate) struct NalUnits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> NalUnits<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        NalUnits { data, pos: 0 }
    }
}

impl Iterator for NalUnits<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        loop {
            let start = find_start_code(self.data, self.pos)? + 3;
            let next = find_start_code(self.data, start);
            let mut end = next.unwrap_or(self.data.len());
            while end > start && self.data.get(end - 1) == Some(&0) {
                end -= 1;
            }
            self.pos = next.unwrap_or(self.data.len());
            if end > start {
                return Some(start..end);
            }
        }
    }
}

/// Cuts one access unit into payloads: in mode 1, consecutive NAL units that fit go
/// together in a STAP-A (so SPS and PPS travel with the IDR slice that follows them when it
/// fits), a NAL unit larger than the payload goes in FU-A fragments; in mode 0 each NAL unit
/// is one payload.
#[derive(Debug)]
pub(crate) struct Packetizer<'a> {
    frame: &'a [u8],
    nals: NalUnits<'a>,
    peeked: Option<Range<usize>>,
    non_interleaved: bool,
    /// The NAL unit being fragmented and how many of its bytes are sent.
    fu: Option<(Range<usize>, usize)>,
}

impl<'a> Packetizer<'a> {
    /// Checks the framing: bytes before the first start code are zeros, there is a NAL
    /// unit, and in mode 0 each one fits in a payload.
    pub fn new(frame: &'a [u8], non_interleaved: bool, max: usize) -> Result<Self, PayloadError> {
        let first = find_start_code(frame, 0).ok_or(PayloadError::InvalidFrame)?;
        if frame.get(..first).is_some_and(|p| p.iter().any(|&b| b != 0)) {
            return Err(PayloadError::InvalidFrame);
        }
        let mut nals = NalUnits::new(frame);
        let peeked = nals.next().ok_or(PayloadError::InvalidFrame)?;
        for n in NalUnits::new(frame) {
            // Types 0 and 24–31 are unspecified in H.264 and name aggregation and
            // fragmentation units in RTP (RFC 6184 §5.2): such a unit cannot be sent.
            let header = frame.get(n.start).ok_or(PayloadError::InvalidFrame)?;
            if matches!(header & 0x1f, 0 | 24..=31) {
                return Err(PayloadError::InvalidFrame);
            }
            if !non_interleaved && n.len() > max {
                return Err(PayloadError::TooLarge);
            }
        }
        Ok(Packetizer {
            frame,
            nals,
            peeked: Some(peeked),
            non_interleaved,
            fu: None,
        })
    }

    fn take_nal(&mut self) -> Option<Range<usize>> {
        self.peeked.take().or_else(|| self.nals.next())
    }

    fn peek_nal(&mut self) -> Option<&Range<usize>> {
        if self.peeked.is_none() {
            self.peeked = self.nals.next();
        }
        self.peeked.as_ref()
    }

    fn done(&mut self) -> bool {
        self.fu.is_none() && self.peek_nal().is_none()
    }

    pub fn next(&mut self, out: &mut [u8]) -> Result<Option<PayloadInfo>, PayloadError> {
        let max = out.len();
        if let Some((nal, sent)) = self.fu.take() {
            let len = self.write_fragment(nal, sent, out)?;
            return Ok(Some(PayloadInfo {
                len,
                marker: self.done(),
            }));
        }
        let Some(nal) = self.take_nal() else {
            return Ok(None);
        };
        let frame = self.frame;
        let bytes = frame.get(nal.clone()).ok_or(PayloadError::InvalidFrame)?;
        let len = if bytes.len() > max {
            if !self.non_interleaved {
                return Err(PayloadError::TooLarge);
            }
            self.write_fragment(nal, 1, out)?
        } else {
            let fits_two = |a: usize, b: usize| 1 + 2 + a + 2 + b <= max;
            let aggregate = self.non_interleaved
                && bytes.len() <= 0xffff
                && self
                    .peek_nal()
                    .is_some_and(|n| n.len() <= 0xffff && fits_two(bytes.len(), n.len()));
            if aggregate {
                self.write_stap_a(bytes, out)?
            } else {
                out.get_mut(..bytes.len())
                    .ok_or(PayloadError::TooLarge)?
                    .copy_from_slice(bytes);
                bytes.len()
            }
        };
        Ok(Some(PayloadInfo {
            len,
            marker: self.done(),
        }))
    }

    /// A STAP-A with `first` and the NAL units after it that fit (RFC 6184 §5.7.1): F is the
    /// OR and NRI the maximum of the aggregated units'.
    fn write_stap_a(&mut self, first: &[u8], out: &mut [u8]) -> Result<usize, PayloadError> {
        let frame = self.frame;
        let mut pos = 1;
        let mut f_nri = 0u8;
        let mut unit = Some(first);
        while let Some(nal) = unit {
            let hdr = *nal.first().ok_or(PayloadError::InvalidFrame)?;
            f_nri = (f_nri & 0x80) | (hdr & 0x80) | (f_nri & 0x60).max(hdr & 0x60);
            let size = u16::try_from(nal.len()).map_err(|_| PayloadError::TooLarge)?;
            let end = pos + 2 + nal.len();
            let dst = out.get_mut(pos..end).ok_or(PayloadError::TooLarge)?;
            let (len_field, body) = dst.split_at_mut(2);
            len_field.copy_from_slice(&size.to_be_bytes());
            body.copy_from_slice(nal);
            pos = end;
            unit = None;
            let room = out.len() - pos;
            if let Some(next) = self.peek_nal() {
                if next.len() <= 0xffff && 2 + next.len() <= room {
                    let next = self.take_nal().unwrap_or_default();
                    unit = frame.get(next);
                }
            }
        }
        *out.first_mut().ok_or(PayloadError::TooLarge)? = f_nri | STAP_A;
        Ok(pos)
    }

    /// One FU-A fragment of `nal` from byte `from` (byte 0, the NAL header, is carried in
    /// the FU indicator and header, RFC 6184 §5.8).
    fn write_fragment(
        &mut self,
        nal: Range<usize>,
        from: usize,
        out: &mut [u8],
    ) -> Result<usize, PayloadError> {
        let bytes = self.frame.get(nal.clone()).ok_or(PayloadError::InvalidFrame)?;
        let hdr = *bytes.first().ok_or(PayloadError::InvalidFrame)?;
        let rest = bytes.get(from..).ok_or(PayloadError::InvalidFrame)?;
        let room = out.len().saturating_sub(FU_HEADER_LEN);
        let n = room.min(rest.len());
        let start = if from == 1 { 0x80 } else { 0 };
        let end = if n == rest.len() { 0x40 } else { 0 };
        let dst = out
            .get_mut(..FU_HEADER_LEN + n)
            .ok_or(PayloadError::MaxPayloadTooSmall)?;
        let (h, body) = dst.split_at_mut(FU_HEADER_LEN);
        h.copy_from_slice(&[(hdr & 0xe0) | FU_A, start | end | (hdr & 0x1f)]);
        body.copy_from_slice(rest.get(..n).ok_or(PayloadError::InvalidFrame)?);
        if end == 0 {
            self.fu = Some((nal, from + n));
        }
        Ok(FU_HEADER_LEN + n)
    }
}

/// Whether a NAL unit of type `t`, whose next byte is `next`, begins an access unit: an
/// access unit delimiter or SPS does; a slice does when first_mb_in_slice is 0 (its ue(v)
/// code is the single bit 1, H.264 §7.3.3). Other units cannot tell.
fn nal_begins(t: u8, next: Option<u8>) -> Option<bool> {
    match t {
        7 | 9 => Some(true),
        1 | IDR => next.map(|b| b & 0x80 != 0),
        _ => None,
    }
}

/// Reads one H.264 payload's packet type to tell whether it begins an access unit.
pub(crate) fn parse(payload: &[u8]) -> Result<PayloadHead, PayloadError> {
    let hdr = *payload.first().ok_or(PayloadError::Empty)?;
    let begins = match hdr & 0x1f {
        STAP_A => payload
            .get(3)
            .and_then(|t| nal_begins(t & 0x1f, payload.get(4).copied())),
        FU_A => {
            let fu = *payload.get(1).ok_or(PayloadError::Truncated)?;
            if fu & 0xc0 == 0xc0 {
                return Err(PayloadError::Malformed); // §5.8: not both S and E
            }
            if fu & 0x80 == 0 {
                Some(false)
            } else {
                nal_begins(fu & 0x1f, payload.get(2).copied())
            }
        }
        t => nal_begins(t, payload.get(1).copied()),
    };
    Ok(PayloadHead {
        begins,
        ends: false,
        keyframe: false,
        body: 0,
    })
}

/// Assembly state within one access unit: an FU-A in progress.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Assembly {
    fu_type: Option<u8>,
}

impl Assembly {
    /// Appends one payload's NAL units to the frame as Annex-B (four-byte start codes); an
    /// IDR slice makes the frame a keyframe.
    pub fn append(
        &mut self,
        payload: &[u8],
        _non_interleaved: bool,
        fb: &mut FrameBuf<'_>,
    ) -> Result<(), PayloadError> {
        let hdr = *payload.first().ok_or(PayloadError::Empty)?;
        match hdr & 0x1f {
            1..=23 => {
                self.no_open_fu()?;
                write_nal(payload, fb)
            }
            STAP_A => {
                self.no_open_fu()?;
                let mut r = Reader::new(payload.get(1..).unwrap_or_default());
                if r.rest().is_empty() {
                    return Err(PayloadError::Truncated);
                }
                while !r.rest().is_empty() {
                    let size = usize::from(r.u16()?);
                    if size == 0 {
                        return Err(PayloadError::Malformed);
                    }
                    write_nal(r.take(size)?, fb)?;
                }
                Ok(())
            }
            FU_A => {
                let fu = *payload.get(1).ok_or(PayloadError::Truncated)?;
                let data = payload.get(2..).unwrap_or_default();
                let (start, end, t) = (fu & 0x80 != 0, fu & 0x40 != 0, fu & 0x1f);
                if start && end {
                    return Err(PayloadError::Malformed); // §5.8: not both S and E
                }
                if start {
                    self.no_open_fu()?;
                    fb.room(START_CODE.len() + 1 + data.len())?;
                    fb.extend(&START_CODE)?;
                    fb.extend(&[(hdr & 0xe0) | t])?;
                    if t == IDR {
                        *fb.keyframe = true;
                    }
                    self.fu_type = Some(t);
                } else if self.fu_type != Some(t) {
                    return Err(PayloadError::Malformed);
                }
                fb.extend(data)?;
                if end {
                    self.fu_type = None;
                }
                Ok(())
            }
            25..=27 | 29 => Err(PayloadError::Unsupported),
            _ => Err(PayloadError::Malformed),
        }
    }

    fn no_open_fu(&self) -> Result<(), PayloadError> {
        match self.fu_type {
            Some(_) => Err(PayloadError::Malformed),
            None => Ok(()),
        }
    }

    /// At the end of the access unit: an FU-A without its end is an incomplete frame.
    pub fn finish(&self) -> Result<(), PayloadError> {
        self.no_open_fu()
    }
}

fn write_nal(nal: &[u8], fb: &mut FrameBuf<'_>) -> Result<(), PayloadError> {
    let hdr = *nal.first().ok_or(PayloadError::Truncated)?;
    fb.room(START_CODE.len() + nal.len())?;
    fb.extend(&START_CODE)?;
    fb.extend(nal)?;
    if hdr & 0x1f == IDR {
        *fb.keyframe = true;
    }
    Ok(())
}
