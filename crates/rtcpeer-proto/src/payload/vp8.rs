//! VP8 payload format (RFC 7741): the payload descriptor (§4.2) and keyframe detection from
//! the VP8 payload header (§4.3).

use super::{PayloadError, PayloadHead, PayloadInfo, Reader};

/// The descriptor rtcpeer writes: X=1 with I=1 and a 15-bit PictureID (as Chromium sends).
pub(crate) const DESCRIPTOR_LEN: usize = 4;

/// Cuts one VP8 frame into payloads, greedily, each with a descriptor.
#[derive(Debug)]
pub(crate) struct Packetizer {
    pos: usize,
    picture_id: u16,
}

impl Packetizer {
    pub fn new(_frame: &[u8], picture_id: u16) -> Self {
        Packetizer { pos: 0, picture_id }
    }

    /// `out` is exactly the maximum payload size, longer than the descriptor.
    pub fn next(&mut self, frame: &[u8], out: &mut [u8]) -> Option<PayloadInfo> {
        let rest = frame.get(self.pos..).filter(|r| !r.is_empty())?;
        let (desc, body) = out.split_at_mut(DESCRIPTOR_LEN.min(out.len()));
        let n = body.len().min(rest.len());
        // §4.2: X | S (first packet of partition 0), PID = 0; I; M + 15-bit PictureID.
        let start = if self.pos == 0 { 0x10 } else { 0 };
        let [hi, lo] = self.picture_id.to_be_bytes();
        desc.copy_from_slice(&[0x80 | start, 0x80, 0x80 | (hi & 0x7f), lo]);
        body.get_mut(..n)?.copy_from_slice(rest.get(..n)?);
        self.pos += n;
        Some(PayloadInfo {
            len: DESCRIPTOR_LEN + n,
            marker: self.pos == frame.len(),
        })
    }
}

/// What the descriptor of a VP8 payload says (RFC 7741 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// N: a non-reference frame.
    pub non_reference: bool,
    /// S: the first packet of a partition.
    pub start_of_partition: bool,
    /// PID: the partition index.
    pub partition_id: u8,
    /// The PictureID (7 or 15 bits), if present (I).
    pub picture_id: Option<u16>,
    /// TL0PICIDX, if present (L).
    pub tl0_pic_idx: Option<u8>,
    /// TID, if present (T).
    pub temporal_id: Option<u8>,
    /// Y: layer sync, meaningful with T.
    pub layer_sync: bool,
    /// KEYIDX, if present (K).
    pub key_idx: Option<u8>,
    /// Length of the descriptor in bytes.
    pub len: usize,
}

/// Parses the payload descriptor at the start of a VP8 payload (RFC 7741 §4.2).
pub fn parse_descriptor(payload: &[u8]) -> Result<Vp8Descriptor, PayloadError> {
    let mut r = Reader::new(payload);
    let b0 = r.u8()?;
    let mut d = Vp8Descriptor {
        non_reference: b0 & 0x20 != 0,
        start_of_partition: b0 & 0x10 != 0,
        partition_id: b0 & 0x07,
        picture_id: None,
        tl0_pic_idx: None,
        temporal_id: None,
        layer_sync: false,
        key_idx: None,
        len: 0,
    };
    if b0 & 0x80 != 0 {
        let x = r.u8()?;
        if x & 0x80 != 0 {
            let m = r.u8()?;
            d.picture_id = Some(if m & 0x80 != 0 {
                u16::from_be_bytes([m & 0x7f, r.u8()?])
            } else {
                u16::from(m)
            });
        }
        if x & 0x40 != 0 {
            d.tl0_pic_idx = Some(r.u8()?);
        }
        if x & 0x30 != 0 {
            let t = r.u8()?;
            if x & 0x20 != 0 {
                d.temporal_id = Some(t >> 6);
                d.layer_sync = t & 0x20 != 0;
            }
            if x & 0x10 != 0 {
                d.key_idx = Some(t & 0x1f);
            }
        }
    }
    d.len = r.pos();
    Ok(d)
}

/// Reads one VP8 payload: a frame begins at S=1, PID=0, and is a keyframe when the P bit
/// of the VP8 payload header there is 0 (RFC 7741 §4.3).
pub(crate) fn parse(payload: &[u8]) -> Result<PayloadHead, PayloadError> {
    let d = parse_descriptor(payload)?;
    let body = payload.get(d.len..).unwrap_or_default();
    let first = *body.first().ok_or(PayloadError::Truncated)?;
    let begins = d.start_of_partition && d.partition_id == 0;
    Ok(PayloadHead {
        begins: Some(begins),
        ends: false,
        keyframe: begins && first & 0x01 == 0,
        body: d.len,
    })
}
