//! VP9 payload format (RFC 9628): the payload descriptor (§4.2) with the scalability
//! structure (§4.2.1), in non-flexible mode when sending (as Chromium sends a single-layer
//! stream) and both modes when receiving; keyframe detection (§4.2: P=0 and no inter-layer
//! dependency) and, when sending, from the VP9 uncompressed header (VP9 bitstream §6.2).

use super::{PayloadError, PayloadHead, PayloadInfo, Reader};

/// The longest descriptor rtcpeer writes: I/P/L/F/B/E/V/Z, a 15-bit PictureID and a
/// scalability structure with one spatial layer and its resolution.
pub(crate) const MAX_DESCRIPTOR_LEN: usize = 3 + 1 + 4;

/// Cuts one VP9 frame into payloads; the first payload of a keyframe carries the
/// scalability structure (RFC 9628 §4.2.1: V=1 on the first packet of a keyframe).
#[derive(Debug)]
pub(crate) struct Packetizer {
    pos: usize,
    picture_id: u16,
    keyframe: bool,
    size: Option<(u16, u16)>,
}

impl Packetizer {
    pub fn new(frame: &[u8], picture_id: u16) -> Self {
        let header = read_frame_header(frame);
        Packetizer {
            pos: 0,
            picture_id,
            keyframe: header.is_some_and(|h| h.keyframe),
            size: header.and_then(|h| h.size),
        }
    }

    pub fn next(&mut self, frame: &[u8], out: &mut [u8]) -> Option<PayloadInfo> {
        let rest = frame.get(self.pos..).filter(|r| !r.is_empty())?;
        let first = self.pos == 0;
        let ss = first && self.keyframe;
        let mut desc = [0u8; MAX_DESCRIPTOR_LEN];
        let [hi, lo] = self.picture_id.to_be_bytes();
        // I=1, P, L=0, F=0, B, E (set below), V, Z=0; M=1 with a 15-bit PictureID.
        desc[0] = 0x80
            | if self.keyframe { 0 } else { 0x40 }
            | if first { 0x08 } else { 0 }
            | if ss { 0x02 } else { 0 };
        desc[1] = 0x80 | (hi & 0x7f);
        desc[2] = lo;
        let mut dlen = 3;
        if ss {
            // N_S = 0 (one spatial layer), Y = resolution present, G = 0.
            match self.size {
                Some((w, h)) => {
                    desc[3] = 0x10;
                    let [w0, w1] = w.to_be_bytes();
                    let [h0, h1] = h.to_be_bytes();
                    desc[4..8].copy_from_slice(&[w0, w1, h0, h1]);
                    dlen = 8;
                }
                None => {
                    desc[3] = 0;
                    dlen = 4;
                }
            }
        }
        let room = out.len().checked_sub(dlen)?;
        let n = room.min(rest.len());
        if n == rest.len() {
            desc[0] |= 0x04; // E: the end of the frame
        }
        out.get_mut(..dlen)?.copy_from_slice(desc.get(..dlen)?);
        out.get_mut(dlen..dlen + n)?.copy_from_slice(rest.get(..n)?);
        self.pos += n;
        Some(PayloadInfo {
            len: dlen + n,
            marker: self.pos == frame.len(),
        })
    }
}

/// What the start of a VP9 frame says: keyframe, and its size when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub keyframe: bool,
    pub size: Option<(u16, u16)>,
}

struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.bit / 8)?;
            let b = (byte >> (7 - (self.bit % 8))) & 1;
            v = (v << 1) | u32::from(b);
            self.bit += 1;
        }
        Some(v)
    }
}

/// Reads the VP9 uncompressed header (VP9 bitstream spec §6.2): frame type and, for a
/// keyframe, the frame size after the sync code and color config. `None` if it is not a VP9
/// frame header.
pub(crate) fn read_frame_header(frame: &[u8]) -> Option<FrameHeader> {
    let mut b = Bits {
        data: frame,
        bit: 0,
    };
    if b.read(2)? != 2 {
        return None; // frame_marker
    }
    let low = b.read(1)?;
    let high = b.read(1)?;
    let profile = (high << 1) | low;
    if profile == 3 {
        b.read(1)?;
    }
    if b.read(1)? == 1 {
        // show_existing_frame: no new frame.
        return Some(FrameHeader {
            keyframe: false,
            size: None,
        });
    }
    let frame_type = b.read(1)?;
    if frame_type != 0 {
        return Some(FrameHeader {
            keyframe: false,
            size: None,
        });
    }
    b.read(2)?; // show_frame, error_resilient_mode
    let size = (|| {
        if b.read(24)? != 0x49_83_42 {
            return None;
        }
        if profile >= 2 {
            b.read(1)?; // ten_or_twelve_bit
        }
        let color_space = b.read(3)?;
        if color_space != 7 {
            b.read(1)?; // color_range
            if profile == 1 || profile == 3 {
                b.read(3)?; // subsampling_x, subsampling_y, reserved_zero
            }
        } else if profile == 1 || profile == 3 {
            b.read(1)?;
        }
        let w = b.read(16)? + 1;
        let h = b.read(16)? + 1;
        Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?))
    })();
    Some(FrameHeader {
        keyframe: true,
        size,
    })
}

/// What the descriptor of a VP9 payload says (RFC 9628 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Descriptor {
    /// P: inter-picture predicted.
    pub inter_predicted: bool,
    /// F: flexible mode.
    pub flexible: bool,
    /// B: start of a (layer) frame.
    pub begin: bool,
    /// E: end of a (layer) frame.
    pub end: bool,
    /// Z: not used as reference by upper spatial layers.
    pub not_upper_reference: bool,
    /// The PictureID (7 or 15 bits), if present (I).
    pub picture_id: Option<u16>,
    /// TID, SID, U, D when layer indices are present (L).
    pub layer: Option<Vp9Layer>,
    /// TL0PICIDX (non-flexible mode with L).
    pub tl0_pic_idx: Option<u8>,
    /// How many P_DIFF reference indices follow (flexible mode, 0–3).
    pub ref_count: u8,
    /// The scalability structure's spatial layer count (N_S + 1), if V.
    pub ss_layers: Option<u8>,
    /// Length of the descriptor in bytes.
    pub len: usize,
}

/// Layer indices of a VP9 payload (RFC 9628 §4.2, L bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Layer {
    /// TID.
    pub temporal_id: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// SID.
    pub spatial_id: u8,
    /// D: inter-layer dependency.
    pub inter_layer: bool,
}

/// Parses the payload descriptor at the start of a VP9 payload (RFC 9628 §4.2, §4.2.1).
pub fn parse_descriptor(payload: &[u8]) -> Result<Vp9Descriptor, PayloadError> {
    let mut r = Reader::new(payload);
    let b0 = r.u8()?;
    let flag = |m: u8| b0 & m != 0;
    let mut d = Vp9Descriptor {
        inter_predicted: flag(0x40),
        flexible: flag(0x10),
        begin: flag(0x08),
        end: flag(0x04),
        not_upper_reference: flag(0x01),
        picture_id: None,
        layer: None,
        tl0_pic_idx: None,
        ref_count: 0,
        ss_layers: None,
        len: 0,
    };
    if flag(0x80) {
        let m = r.u8()?;
        d.picture_id = Some(if m & 0x80 != 0 {
            u16::from_be_bytes([m & 0x7f, r.u8()?])
        } else {
            u16::from(m)
        });
    }
    if flag(0x20) {
        let l = r.u8()?;
        d.layer = Some(Vp9Layer {
            temporal_id: l >> 5,
            switching_up: l & 0x10 != 0,
            spatial_id: (l >> 1) & 0x07,
            inter_layer: l & 0x01 != 0,
        });
        if !d.flexible {
            d.tl0_pic_idx = Some(r.u8()?);
        }
    }
    if d.flexible && d.inter_predicted {
        loop {
            let p = r.u8()?;
            d.ref_count += 1;
            if p & 0x01 == 0 {
                break;
            }
            if d.ref_count == 3 {
                return Err(PayloadError::Malformed); // §4.2: at most 3 reference indices
            }
        }
    }
    if flag(0x02) {
        let s = r.u8()?;
        let layers = (s >> 5) + 1;
        d.ss_layers = Some(layers);
        if s & 0x10 != 0 {
            r.take(4 * usize::from(layers))?; // WIDTH, HEIGHT per spatial layer
        }
        if s & 0x08 != 0 {
            let groups = r.u8()?;
            for _ in 0..groups {
                let g = r.u8()?;
                r.take(usize::from((g >> 2) & 0x03))?; // R reference indices
            }
        }
    }
    d.len = r.pos();
    Ok(d)
}

/// Reads one VP9 payload: a (layer) frame runs from B to E; it is a keyframe when it
/// begins with P=0 and no inter-layer dependency (RFC 9628 §4.2).
pub(crate) fn parse(payload: &[u8]) -> Result<PayloadHead, PayloadError> {
    let d = parse_descriptor(payload)?;
    if payload.len() <= d.len {
        return Err(PayloadError::Truncated);
    }
    let inter_layer = d.layer.is_some_and(|l| l.inter_layer);
    Ok(PayloadHead {
        begins: Some(d.begin),
        ends: d.end,
        keyframe: d.begin && !d.inter_predicted && !inter_layer,
        body: d.len,
    })
}
