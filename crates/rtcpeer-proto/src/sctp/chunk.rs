//! SCTP packet and chunk codec (RFC 9260 §3, RFC 3758 §3.2, RFC 6525 §3-4).
//!
//! Parsing borrows from the packet and never panics: every length is checked before slicing.
//! Writing appends to a caller-owned `Vec<u8>` so packet assembly allocates nothing per chunk.

use super::crc32c;

/// Size of the SCTP common header (RFC 9260 §3.1).
pub const COMMON_HEADER_LEN: usize = 12;
/// Size of the DATA chunk header including the chunk header (RFC 9260 §3.3.1).
pub const DATA_HEADER_LEN: usize = 16;

// Chunk types (RFC 9260 §3.2, RFC 3758 §3.2, RFC 6525 §3.1).
pub const CT_DATA: u8 = 0;
pub const CT_INIT: u8 = 1;
pub const CT_INIT_ACK: u8 = 2;
pub const CT_SACK: u8 = 3;
pub const CT_HEARTBEAT: u8 = 4;
pub const CT_HEARTBEAT_ACK: u8 = 5;
pub const CT_ABORT: u8 = 6;
pub const CT_SHUTDOWN: u8 = 7;
pub const CT_SHUTDOWN_ACK: u8 = 8;
pub const CT_ERROR: u8 = 9;
pub const CT_COOKIE_ECHO: u8 = 10;
pub const CT_COOKIE_ACK: u8 = 11;
pub const CT_SHUTDOWN_COMPLETE: u8 = 14;
pub const CT_RECONFIG: u8 = 130;
pub const CT_FORWARD_TSN: u8 = 192;

// Parameter types.
pub const PT_HEARTBEAT_INFO: u16 = 1;
pub const PT_STATE_COOKIE: u16 = 7;
pub const PT_UNRECOGNIZED_PARAM: u16 = 8;
pub const PT_OUTGOING_RESET: u16 = 13;
pub const PT_RECONFIG_RESPONSE: u16 = 16;
pub const PT_SUPPORTED_EXTENSIONS: u16 = 0x8008;
pub const PT_FORWARD_TSN_SUPPORTED: u16 = 0xC000;
/// Zero Checksum Acceptable (RFC 9653 §4).
pub const PT_ZERO_CHECKSUM: u16 = 0x8001;
/// Error Detection Method Identifier for SCTP over DTLS (RFC 9653 §6).
pub const EDMID_DTLS: u32 = 1;

// Error cause codes (RFC 9260 §3.3.10).
pub const EC_INVALID_STREAM: u16 = 1;
pub const EC_STALE_COOKIE: u16 = 3;
pub const EC_UNRECOGNIZED_CHUNK: u16 = 6;
pub const EC_NO_USER_DATA: u16 = 9;
pub const EC_USER_ABORT: u16 = 12;
pub const EC_PROTOCOL_VIOLATION: u16 = 13;

// DATA chunk flags (RFC 9260 §3.3.1, RFC 7053 for I).
pub const FLAG_END: u8 = 0x01;
pub const FLAG_BEGIN: u8 = 0x02;
pub const FLAG_UNORDERED: u8 = 0x04;
pub const FLAG_IMMEDIATE: u8 = 0x08;
/// T bit of ABORT and SHUTDOWN COMPLETE (RFC 9260 §3.3.7).
pub const FLAG_T: u8 = 0x01;

// RE-CONFIG response results (RFC 6525 §4.4).
pub const RR_SUCCESS_NOTHING: u32 = 0;
pub const RR_SUCCESS_PERFORMED: u32 = 1;
pub const RR_DENIED: u32 = 2;
pub const RR_BAD_SEQ: u32 = 5;
pub const RR_IN_PROGRESS: u32 = 6;

#[inline]
fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
#[inline]
fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The SCTP common header (RFC 9260 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub vtag: u32,
}

/// Why a packet was rejected before its chunks were looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    TooShort,
    BadChecksum,
}

/// Checks length and CRC32c and returns the header and the chunk bytes (RFC 9260 §6.8).
/// With `accept_zero`, a zero checksum is also accepted except on packets starting with INIT
/// (RFC 9653 §5.3: the lower layer, DTLS, provides integrity).
pub fn parse_packet(p: &[u8], accept_zero: bool) -> Result<(CommonHeader, &[u8]), PacketError> {
    if p.len() < COMMON_HEADER_LEN + 4 {
        return Err(PacketError::TooShort);
    }
    let stored = u32::from_le_bytes([p[8], p[9], p[10], p[11]]);
    let zero_ok = accept_zero && stored == 0 && p[COMMON_HEADER_LEN] != CT_INIT;
    if !zero_ok && crc32c::packet_crc(p) != Some(stored) {
        return Err(PacketError::BadChecksum);
    }
    let h = CommonHeader {
        src_port: u16::from_be_bytes([p[0], p[1]]),
        dst_port: u16::from_be_bytes([p[2], p[3]]),
        vtag: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
    };
    Ok((h, &p[COMMON_HEADER_LEN..]))
}

/// Starts a packet in `buf` (cleared) with a zero checksum; finish with [`finish_packet`].
pub fn begin_packet(buf: &mut Vec<u8>, h: CommonHeader) {
    buf.clear();
    buf.extend_from_slice(&h.src_port.to_be_bytes());
    buf.extend_from_slice(&h.dst_port.to_be_bytes());
    buf.extend_from_slice(&h.vtag.to_be_bytes());
    buf.extend_from_slice(&[0; 4]);
}

/// Fills in the CRC32c (stored little-endian as every SCTP stack does, RFC 9260 Appendix A).
pub fn finish_packet(buf: &mut [u8]) {
    if let Some(c) = crc32c::packet_crc(buf) {
        buf[8..12].copy_from_slice(&c.to_le_bytes());
    }
}

/// One chunk as found in a packet: type, flags and the value (without header or padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawChunk<'a> {
    pub typ: u8,
    pub flags: u8,
    pub value: &'a [u8],
}

/// Iterates the chunks of a packet; stops (and sets `malformed`) on a bad chunk length.
pub struct ChunkIter<'a> {
    rest: &'a [u8],
    /// Set when a chunk length was below 4 or past the end of the packet.
    pub malformed: bool,
}

impl<'a> ChunkIter<'a> {
    pub fn new(chunks: &'a [u8]) -> Self {
        ChunkIter {
            rest: chunks,
            malformed: false,
        }
    }
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = RawChunk<'a>;
    fn next(&mut self) -> Option<RawChunk<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (Some(typ), Some(flags), Some(len)) = (
            self.rest.first().copied(),
            self.rest.get(1).copied(),
            be16(self.rest, 2),
        ) else {
            self.malformed = true;
            self.rest = &[];
            return None;
        };
        let len = len as usize;
        if len < 4 || len > self.rest.len() {
            self.malformed = true;
            self.rest = &[];
            return None;
        }
        let value = &self.rest[4..len];
        let padded = (len + 3) & !3;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some(RawChunk { typ, flags, value })
    }
}

/// A TLV parameter (RFC 9260 §3.2.1) or error cause (§3.3.10): same layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawParam<'a> {
    pub typ: u16,
    pub value: &'a [u8],
    /// The whole parameter including its header (for echoing in "Unrecognized Parameter").
    pub raw: &'a [u8],
}

/// Iterates TLV parameters; stops (and sets `malformed`) on a bad length.
pub struct ParamIter<'a> {
    rest: &'a [u8],
    pub malformed: bool,
}

impl<'a> ParamIter<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        ParamIter {
            rest: b,
            malformed: false,
        }
    }
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = RawParam<'a>;
    fn next(&mut self) -> Option<RawParam<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (Some(typ), Some(len)) = (be16(self.rest, 0), be16(self.rest, 2)) else {
            self.malformed = true;
            self.rest = &[];
            return None;
        };
        let len = len as usize;
        if len < 4 || len > self.rest.len() {
            self.malformed = true;
            self.rest = &[];
            return None;
        }
        let p = RawParam {
            typ,
            value: &self.rest[4..len],
            raw: &self.rest[..len],
        };
        self.rest = self.rest.get((len + 3) & !3..).unwrap_or(&[]);
        Some(p)
    }
}

/// DATA chunk (RFC 9260 §3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data<'a> {
    pub flags: u8,
    pub tsn: u32,
    pub stream: u16,
    pub ssn: u16,
    pub ppid: u32,
    pub payload: &'a [u8],
}

impl<'a> Data<'a> {
    /// Parses the value of a DATA chunk; `None` if shorter than its fixed part.
    pub fn parse(flags: u8, v: &'a [u8]) -> Option<Self> {
        Some(Data {
            flags,
            tsn: be32(v, 0)?,
            stream: be16(v, 4)?,
            ssn: be16(v, 6)?,
            ppid: be32(v, 8)?,
            payload: v.get(12..)?,
        })
    }
}

/// Writes a DATA chunk header followed by `payload`.
#[allow(clippy::too_many_arguments)]
pub fn write_data(
    buf: &mut Vec<u8>,
    flags: u8,
    tsn: u32,
    stream: u16,
    ssn: u16,
    ppid: u32,
    payload: &[u8],
) {
    let len = (DATA_HEADER_LEN + payload.len()) as u16;
    buf.extend_from_slice(&[CT_DATA, flags]);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&tsn.to_be_bytes());
    buf.extend_from_slice(&stream.to_be_bytes());
    buf.extend_from_slice(&ssn.to_be_bytes());
    buf.extend_from_slice(&ppid.to_be_bytes());
    buf.extend_from_slice(payload);
    pad(buf);
}

/// INIT and INIT ACK fixed part (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Init<'a> {
    pub initiate_tag: u32,
    pub a_rwnd: u32,
    pub outbound_streams: u16,
    pub inbound_streams: u16,
    pub initial_tsn: u32,
    pub params: &'a [u8],
}

impl<'a> Init<'a> {
    /// Parses INIT / INIT ACK value; `None` if shorter than the fixed 16 bytes.
    pub fn parse(v: &'a [u8]) -> Option<Self> {
        Some(Init {
            initiate_tag: be32(v, 0)?,
            a_rwnd: be32(v, 4)?,
            outbound_streams: be16(v, 8)?,
            inbound_streams: be16(v, 10)?,
            initial_tsn: be32(v, 12)?,
            params: v.get(16..)?,
        })
    }

    /// Writes the chunk header and fixed part; append params then call [`end_chunk`].
    pub fn begin(&self, buf: &mut Vec<u8>, typ: u8) -> usize {
        let s = begin_chunk(buf, typ, 0);
        buf.extend_from_slice(&self.initiate_tag.to_be_bytes());
        buf.extend_from_slice(&self.a_rwnd.to_be_bytes());
        buf.extend_from_slice(&self.outbound_streams.to_be_bytes());
        buf.extend_from_slice(&self.inbound_streams.to_be_bytes());
        buf.extend_from_slice(&self.initial_tsn.to_be_bytes());
        s
    }
}

/// SACK chunk (RFC 9260 §3.3.4); gap blocks and duplicates are read lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sack<'a> {
    pub cum_tsn: u32,
    pub a_rwnd: u32,
    gaps: &'a [u8],
    dups: &'a [u8],
}

impl<'a> Sack<'a> {
    /// Parses a SACK value; `None` when the declared block counts run past the chunk.
    pub fn parse(v: &'a [u8]) -> Option<Self> {
        let ngaps = be16(v, 8)? as usize;
        let ndups = be16(v, 10)? as usize;
        let gaps = v.get(12..12 + ngaps * 4)?;
        let dups = v.get(12 + ngaps * 4..12 + ngaps * 4 + ndups * 4)?;
        Some(Sack {
            cum_tsn: be32(v, 0)?,
            a_rwnd: be32(v, 4)?,
            gaps,
            dups,
        })
    }
    /// Gap ack blocks as (start, end) offsets from the cumulative TSN.
    pub fn gaps(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.gaps.chunks_exact(4).map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u16::from_be_bytes([c[2], c[3]]),
            )
        })
    }
    /// Duplicate TSNs reported.
    #[cfg(test)]
    pub fn dups(&self) -> impl Iterator<Item = u32> + 'a {
        self.dups
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Writes a SACK chunk.
pub fn write_sack(buf: &mut Vec<u8>, cum: u32, a_rwnd: u32, gaps: &[(u16, u16)], dups: &[u32]) {
    let s = begin_chunk(buf, CT_SACK, 0);
    buf.extend_from_slice(&cum.to_be_bytes());
    buf.extend_from_slice(&a_rwnd.to_be_bytes());
    buf.extend_from_slice(&(gaps.len() as u16).to_be_bytes());
    buf.extend_from_slice(&(dups.len() as u16).to_be_bytes());
    for &(a, b) in gaps {
        buf.extend_from_slice(&a.to_be_bytes());
        buf.extend_from_slice(&b.to_be_bytes());
    }
    for d in dups {
        buf.extend_from_slice(&d.to_be_bytes());
    }
    end_chunk(buf, s);
}

/// FORWARD TSN chunk (RFC 3758 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTsn<'a> {
    pub new_cum_tsn: u32,
    streams: &'a [u8],
}

impl<'a> ForwardTsn<'a> {
    /// Parses a FORWARD TSN value (trailing bytes that do not form a full entry are ignored).
    pub fn parse(v: &'a [u8]) -> Option<Self> {
        Some(ForwardTsn {
            new_cum_tsn: be32(v, 0)?,
            streams: v.get(4..)?,
        })
    }
    /// (stream, ssn) pairs of ordered streams whose skipped messages end at that SSN.
    pub fn streams(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.streams.chunks_exact(4).map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u16::from_be_bytes([c[2], c[3]]),
            )
        })
    }
}

/// Writes a FORWARD TSN chunk.
pub fn write_forward_tsn(buf: &mut Vec<u8>, new_cum: u32, streams: &[(u16, u16)]) {
    let s = begin_chunk(buf, CT_FORWARD_TSN, 0);
    buf.extend_from_slice(&new_cum.to_be_bytes());
    for &(a, b) in streams {
        buf.extend_from_slice(&a.to_be_bytes());
        buf.extend_from_slice(&b.to_be_bytes());
    }
    end_chunk(buf, s);
}

/// Outgoing SSN Reset Request parameter (RFC 6525 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingReset<'a> {
    pub req_seq: u32,
    pub resp_seq: u32,
    pub last_tsn: u32,
    streams: &'a [u8],
}

impl<'a> OutgoingReset<'a> {
    /// Parses the parameter value.
    pub fn parse(v: &'a [u8]) -> Option<Self> {
        Some(OutgoingReset {
            req_seq: be32(v, 0)?,
            resp_seq: be32(v, 4)?,
            last_tsn: be32(v, 8)?,
            streams: v.get(12..)?,
        })
    }
    /// Streams to reset (empty means all streams).
    pub fn streams(&self) -> impl Iterator<Item = u16> + 'a {
        self.streams
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
}

/// Writes an Outgoing SSN Reset Request parameter.
pub fn write_outgoing_reset(buf: &mut Vec<u8>, req: u32, resp: u32, last: u32, streams: &[u16]) {
    let s = begin_param(buf, PT_OUTGOING_RESET);
    buf.extend_from_slice(&req.to_be_bytes());
    buf.extend_from_slice(&resp.to_be_bytes());
    buf.extend_from_slice(&last.to_be_bytes());
    for st in streams {
        buf.extend_from_slice(&st.to_be_bytes());
    }
    end_param(buf, s);
}

/// Writes a Re-configuration Response parameter (RFC 6525 §4.4) without the optional TSNs.
pub fn write_reconfig_response(buf: &mut Vec<u8>, resp_seq: u32, result: u32) {
    let s = begin_param(buf, PT_RECONFIG_RESPONSE);
    buf.extend_from_slice(&resp_seq.to_be_bytes());
    buf.extend_from_slice(&result.to_be_bytes());
    end_param(buf, s);
}

/// Appends a chunk header with zero length; returns its offset for [`end_chunk`].
pub fn begin_chunk(buf: &mut Vec<u8>, typ: u8, flags: u8) -> usize {
    let s = buf.len();
    buf.extend_from_slice(&[typ, flags, 0, 0]);
    s
}

/// Sets the chunk length (without padding) and pads to a multiple of 4.
pub fn end_chunk(buf: &mut Vec<u8>, start: usize) {
    let len = (buf.len() - start) as u16;
    buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    pad(buf);
}

/// Appends a parameter header; finish with [`end_param`].
pub fn begin_param(buf: &mut Vec<u8>, typ: u16) -> usize {
    let s = buf.len();
    buf.extend_from_slice(&typ.to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    s
}

/// Sets the parameter length and pads it.
pub fn end_param(buf: &mut Vec<u8>, start: usize) {
    end_chunk(buf, start)
}

/// Writes a whole parameter (or error cause) with `value`.
pub fn write_param(buf: &mut Vec<u8>, typ: u16, value: &[u8]) {
    let s = begin_param(buf, typ);
    buf.extend_from_slice(value);
    end_param(buf, s);
}

/// Writes a chunk with a plain value.
pub fn write_chunk(buf: &mut Vec<u8>, typ: u8, flags: u8, value: &[u8]) {
    let s = begin_chunk(buf, typ, flags);
    buf.extend_from_slice(value);
    end_chunk(buf, s);
}

fn pad(buf: &mut Vec<u8>) {
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(chunks: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        begin_packet(
            &mut b,
            CommonHeader {
                src_port: 5000,
                dst_port: 5000,
                vtag: 0x01020304,
            },
        );
        b.extend_from_slice(chunks);
        finish_packet(&mut b);
        b
    }

    #[test]
    fn common_header_layout_and_crc() {
        let p = packet(&[CT_COOKIE_ACK, 0, 0, 4]);
        assert_eq!(&p[..8], &[0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4]);
        let (h, chunks) = parse_packet(&p, false).unwrap();
        assert_eq!(
            h,
            CommonHeader {
                src_port: 5000,
                dst_port: 5000,
                vtag: 0x01020304
            }
        );
        assert_eq!(chunks, &[11, 0, 0, 4]);
        let mut bad = p.clone();
        bad[13] ^= 1;
        assert_eq!(parse_packet(&bad, false), Err(PacketError::BadChecksum));
        assert_eq!(parse_packet(&p[..15], false), Err(PacketError::TooShort));
        // Zero checksum (RFC 9653) only when accepted, and never for INIT.
        let mut z = p.clone();
        z[8..12].fill(0);
        assert_eq!(parse_packet(&z, false), Err(PacketError::BadChecksum));
        assert!(parse_packet(&z, true).is_ok());
        z[12] = CT_INIT;
        assert_eq!(parse_packet(&z, true), Err(PacketError::BadChecksum));
    }

    #[test]
    fn known_packet_checksum() {
        // An INIT built by hand; CRC verified against an independent bitwise CRC32c
        // computed over the packet with the checksum zeroed, stored little-endian.
        let mut p = vec![
            0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, // header
            1, 0, 0, 20, // INIT, len 20
            0xde, 0xad, 0xbe, 0xef, 0, 0x50, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
        ];
        let c = crc32c::crc32c(&p);
        finish_packet(&mut p);
        assert_eq!(&p[8..12], &c.to_le_bytes());
        assert!(parse_packet(&p, false).is_ok());
    }

    #[test]
    fn data_chunk_layout() {
        let mut b = Vec::new();
        write_data(
            &mut b,
            FLAG_BEGIN | FLAG_END,
            0x11223344,
            7,
            9,
            51,
            b"hello",
        );
        assert_eq!(
            b,
            [
                0, 3, 0, 21, 0x11, 0x22, 0x33, 0x44, 0, 7, 0, 9, 0, 0, 0, 51, b'h', b'e', b'l',
                b'l', b'o', 0, 0, 0
            ]
        );
        let c = ChunkIter::new(&b).next().unwrap();
        assert_eq!((c.typ, c.flags, c.value.len()), (CT_DATA, 3, 17));
        let d = Data::parse(c.flags, c.value).unwrap();
        assert_eq!(
            (d.tsn, d.stream, d.ssn, d.ppid, d.payload),
            (0x11223344, 7, 9, 51, &b"hello"[..])
        );
        assert!(Data::parse(0, &[0; 11]).is_none());
    }

    #[test]
    fn init_chunk_layout() {
        let i = Init {
            initiate_tag: 0xAABBCCDD,
            a_rwnd: 0x0050_0000,
            outbound_streams: 1024,
            inbound_streams: 65535,
            initial_tsn: 42,
            params: &[],
        };
        let mut b = Vec::new();
        let s = i.begin(&mut b, CT_INIT);
        write_param(&mut b, PT_FORWARD_TSN_SUPPORTED, &[]);
        write_param(
            &mut b,
            PT_SUPPORTED_EXTENSIONS,
            &[CT_FORWARD_TSN, CT_RECONFIG],
        );
        end_chunk(&mut b, s);
        assert_eq!(
            b,
            [
                1, 0, 0, 32, 0xAA, 0xBB, 0xCC, 0xDD, 0, 0x50, 0, 0, 4, 0, 0xff, 0xff, 0, 0, 0, 42,
                0xC0, 0, 0, 4, 0x80, 0x08, 0, 6, 0xC0, 0x82, 0, 0
            ]
        );
        let c = ChunkIter::new(&b).next().unwrap();
        let p = Init::parse(c.value).unwrap();
        assert_eq!(p.initiate_tag, 0xAABBCCDD);
        assert_eq!(p.inbound_streams, 65535);
        let params: Vec<_> = ParamIter::new(p.params).collect();
        assert_eq!(params.len(), 2);
        assert_eq!(params[1].typ, PT_SUPPORTED_EXTENSIONS);
        assert_eq!(params[1].value, &[0xC0, 0x82]);
    }

    #[test]
    fn sack_chunk_layout() {
        let mut b = Vec::new();
        write_sack(&mut b, 100, 4096, &[(2, 3), (5, 5)], &[99]);
        assert_eq!(
            b,
            [
                3, 0, 0, 28, 0, 0, 0, 100, 0, 0, 0x10, 0, 0, 2, 0, 1, 0, 2, 0, 3, 0, 5, 0, 5, 0, 0,
                0, 99
            ]
        );
        let c = ChunkIter::new(&b).next().unwrap();
        let s = Sack::parse(c.value).unwrap();
        assert_eq!((s.cum_tsn, s.a_rwnd), (100, 4096));
        assert_eq!(s.gaps().collect::<Vec<_>>(), vec![(2, 3), (5, 5)]);
        assert_eq!(s.dups().collect::<Vec<_>>(), vec![99]);
        // Counts past the end are rejected.
        let mut v = c.value.to_vec();
        v[9] = 9;
        assert!(Sack::parse(&v).is_none());
    }

    #[test]
    fn forward_tsn_and_reconfig_layout() {
        let mut b = Vec::new();
        write_forward_tsn(&mut b, 7, &[(1, 2)]);
        assert_eq!(b, [192, 0, 0, 12, 0, 0, 0, 7, 0, 1, 0, 2]);
        let f = ForwardTsn::parse(&b[4..]).unwrap();
        assert_eq!(f.new_cum_tsn, 7);
        assert_eq!(f.streams().collect::<Vec<_>>(), vec![(1, 2)]);

        let mut b = Vec::new();
        let s = begin_chunk(&mut b, CT_RECONFIG, 0);
        write_outgoing_reset(&mut b, 1, 2, 3, &[4]);
        write_reconfig_response(&mut b, 9, RR_SUCCESS_PERFORMED);
        end_chunk(&mut b, s);
        assert_eq!(
            b,
            [
                130, 0, 0, 36, 0, 13, 0, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4, 0, 0, 0, 16,
                0, 12, 0, 0, 0, 9, 0, 0, 0, 1
            ][..]
        );
        let c = ChunkIter::new(&b).next().unwrap();
        let ps: Vec<_> = ParamIter::new(c.value).collect();
        assert_eq!(ps.len(), 2);
        let r = OutgoingReset::parse(ps[0].value).unwrap();
        assert_eq!((r.req_seq, r.resp_seq, r.last_tsn), (1, 2, 3));
        assert_eq!(r.streams().collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn chunk_lengths_past_end_are_malformed() {
        let bytes = [0u8, 0, 0, 40, 1, 2, 3, 4];
        let mut it = ChunkIter::new(&bytes);
        assert!(it.next().is_none());
        assert!(it.malformed);
        let bytes = [11u8, 0, 0, 2];
        let mut it = ChunkIter::new(&bytes);
        assert!(it.next().is_none());
        assert!(it.malformed);
        let bytes = [11u8, 0, 0, 4, 11, 0];
        let mut it = ChunkIter::new(&bytes);
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert!(it.malformed);
        let mut p = ParamIter::new(&[0, 1, 0, 9, 0]);
        assert!(p.next().is_none());
        assert!(p.malformed);
    }
}
