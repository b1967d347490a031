//! Source description, goodbye and application-defined packets (RFC 3550 §6.5–6.7).

use super::{MAX_COUNT, PT_APP, PT_BYE, PT_SDES, RtcpError, be32, begin, finish, u32s};

/// SDES item type of CNAME, the canonical end-point identifier (RFC 3550 §6.5.1).
pub const SDES_CNAME: u8 = 1;

/// One SDES item: its type (1 CNAME, 2 NAME, ... RFC 3550 §6.5) and its text (up to 255
/// bytes, UTF-8 by the RFC but kept as bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type, 1–255 (0 ends a chunk's list).
    pub kind: u8,
    /// The item's text.
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items (RFC 3550 §6.5).
#[derive(Debug, Clone, Copy)]
pub struct SdesChunk<'a> {
    /// The SSRC or CSRC described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl PartialEq for SdesChunk<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.ssrc == other.ssrc && self.items().eq(other.items())
    }
}

impl Eq for SdesChunk<'_> {}

impl<'a> SdesChunk<'a> {
    /// The chunk's items, in order (validated when the packet was parsed).
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + Clone + 'a {
        let mut rest = self.items;
        std::iter::from_fn(move || {
            let (&kind, tail) = rest.split_first()?;
            let (&len, tail) = tail.split_first()?;
            let value = tail.get(..usize::from(len))?;
            rest = &tail[usize::from(len)..];
            Some(SdesItem { kind, value })
        })
    }

    /// The CNAME item's text, if the chunk has one (RFC 3550 §6.5.1).
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SDES_CNAME)
            .map(|i| i.value)
    }
}

/// Walks one chunk at `b` (after its SSRC): the items' byte range and the chunk's total
/// length (SSRC, items, END and padding to 32 bits). A chunk that ends with the packet body
/// without an END byte is accepted.
fn walk_chunk(b: &[u8]) -> Result<(usize, usize), RtcpError> {
    let mut pos = 4;
    loop {
        match b.get(pos) {
            None => return Ok((pos, pos)),
            Some(0) => {
                let items_end = pos;
                let total = (pos + 4) & !3;
                return Ok((items_end, total.min(b.len())));
            }
            Some(_) => {
                let len = usize::from(*b.get(pos + 1).ok_or(RtcpError::Truncated)?);
                pos += 2 + len;
                if pos > b.len() {
                    return Err(RtcpError::Truncated);
                }
            }
        }
    }
}

/// A source description packet (RFC 3550 §6.5): its chunks, validated when parsed.
#[derive(Debug, Clone, Copy)]
pub struct Sdes<'a> {
    count: u8,
    body: &'a [u8],
}

impl PartialEq for Sdes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.chunks().eq(other.chunks())
    }
}

impl Eq for Sdes<'_> {}

impl<'a> Sdes<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Sdes<'a>, RtcpError> {
        let mut pos = 0;
        for _ in 0..count {
            let chunk = body.get(pos..).ok_or(RtcpError::Truncated)?;
            if chunk.len() < 4 {
                return Err(RtcpError::Truncated);
            }
            let (_, total) = walk_chunk(chunk)?;
            pos += total;
        }
        Ok(Sdes { count, body })
    }

    /// Number of chunks (the SC field).
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the packet has no chunk.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + Clone + 'a {
        let mut rest = self.body;
        (0..self.count).map_while(move |_| {
            let ssrc = be32(rest, 0)?;
            let (items_end, total) = walk_chunk(rest).ok()?;
            let chunk = SdesChunk {
                ssrc,
                items: &rest[4..items_end],
            };
            rest = &rest[total..];
            Some(chunk)
        })
    }

    /// Appends this packet to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let mut w = SdesWriter::new(out);
        for c in self.chunks() {
            w.chunk(c.ssrc, c.items())?;
        }
        w.finish()
    }
}

/// Writes an SDES packet chunk by chunk (RFC 3550 §6.5): each chunk's items, END and
/// zero padding to 32 bits; [`SdesWriter::finish`] fills the count and length.
#[derive(Debug)]
pub struct SdesWriter<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    count: u8,
}

impl<'o> SdesWriter<'o> {
    /// Starts an SDES packet at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> SdesWriter<'o> {
        let start = begin(out, 0, PT_SDES);
        SdesWriter {
            out,
            start,
            count: 0,
        }
    }

    /// Adds a chunk for `ssrc` with `items` (types 1–255, texts up to 255 bytes, at most 31
    /// chunks). On error the packet is removed from `out`.
    pub fn chunk<'i>(
        &mut self,
        ssrc: u32,
        items: impl IntoIterator<Item = SdesItem<'i>>,
    ) -> Result<(), RtcpError> {
        if usize::from(self.count) == MAX_COUNT {
            self.out.truncate(self.start);
            return Err(RtcpError::TooMany);
        }
        self.out.extend_from_slice(&ssrc.to_be_bytes());
        for i in items {
            let Ok(len) = u8::try_from(i.value.len()) else {
                self.out.truncate(self.start);
                return Err(RtcpError::TooLong);
            };
            if i.kind == 0 {
                self.out.truncate(self.start);
                return Err(RtcpError::Malformed("SDES item type 0"));
            }
            self.out.push(i.kind);
            self.out.push(len);
            self.out.extend_from_slice(i.value);
        }
        // END, then zeros up to the next 32-bit boundary (RFC 3550 §6.5).
        self.out.push(0);
        while (self.out.len() - self.start) % 4 != 0 {
            self.out.push(0);
        }
        self.count += 1;
        Ok(())
    }

    /// Fills the count and length fields.
    pub fn finish(self) -> Result<(), RtcpError> {
        self.out[self.start] |= self.count;
        finish(self.out, self.start)
    }
}

/// Appends an SDES packet with one chunk holding one CNAME item (RFC 3550 §6.5.1), what a
/// WebRTC compound carries.
pub fn write_sdes_cname(out: &mut Vec<u8>, ssrc: u32, cname: &[u8]) -> Result<(), RtcpError> {
    let mut w = SdesWriter::new(out);
    w.chunk(
        ssrc,
        [SdesItem {
            kind: SDES_CNAME,
            value: cname,
        }],
    )?;
    w.finish()
}

/// A goodbye packet (RFC 3550 §6.6): the sources leaving and an optional reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    /// The reason for leaving, if given (UTF-8 by the RFC, kept as bytes).
    pub reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Bye<'a>, RtcpError> {
        let n = usize::from(count) * 4;
        let ssrcs = body.get(..n).ok_or(RtcpError::Truncated)?;
        let rest = &body[n..];
        let reason = match rest.split_first() {
            None => None,
            Some((&len, text)) => Some(text.get(..usize::from(len)).ok_or(RtcpError::Truncated)?),
        };
        Ok(Bye { ssrcs, reason })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + Clone + 'a {
        u32s(self.ssrcs)
    }

    /// Appends this packet to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_bye(out, self.ssrcs(), self.reason)
    }
}

/// Appends a BYE (RFC 3550 §6.6) for up to 31 sources, with an optional reason of up to 255
/// bytes (zero-padded to 32 bits). On error `out` is left as it was.
pub fn write_bye(
    out: &mut Vec<u8>,
    ssrcs: impl IntoIterator<Item = u32>,
    reason: Option<&[u8]>,
) -> Result<(), RtcpError> {
    let start = begin(out, 0, PT_BYE);
    let mut n = 0u8;
    for s in ssrcs {
        if usize::from(n) == MAX_COUNT {
            out.truncate(start);
            return Err(RtcpError::TooMany);
        }
        out.extend_from_slice(&s.to_be_bytes());
        n += 1;
    }
    out[start] |= n;
    if let Some(r) = reason {
        let Ok(len) = u8::try_from(r.len()) else {
            out.truncate(start);
            return Err(RtcpError::TooLong);
        };
        out.push(len);
        out.extend_from_slice(r);
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
    }
    finish(out, start)
}

/// An application-defined packet (RFC 3550 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    /// The 5-bit subtype.
    pub subtype: u8,
    /// The sender's SSRC.
    pub ssrc: u32,
    /// The 4-character name.
    pub name: [u8; 4],
    /// Application-dependent data.
    pub data: &'a [u8],
}

impl<'a> App<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<App<'a>, RtcpError> {
        let ssrc = be32(body, 0).ok_or(RtcpError::Truncated)?;
        let name = body.get(4..8).ok_or(RtcpError::Truncated)?;
        Ok(App {
            subtype: count,
            ssrc,
            name: [name[0], name[1], name[2], name[3]],
            data: &body[8..],
        })
    }

    /// Appends this packet to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_app(out, self.subtype, self.ssrc, self.name, self.data)
    }
}

/// Appends an APP packet (RFC 3550 §6.7); data that is not a multiple of 4 bytes is padded
/// with RTCP padding. The subtype must fit 5 bits.
pub fn write_app(
    out: &mut Vec<u8>,
    subtype: u8,
    ssrc: u32,
    name: [u8; 4],
    data: &[u8],
) -> Result<(), RtcpError> {
    if subtype > 31 {
        return Err(RtcpError::TooMany);
    }
    let start = begin(out, subtype, PT_APP);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&name);
    out.extend_from_slice(data);
    finish(out, start)
}
