//! RTP header extensions (RFC 8285): the element walk over both forms, the block writer, the
//! id ↔ kind map negotiated in SDP (`a=extmap`) and typed values of the extensions WebRTC uses.

use super::{ONE_BYTE_PROFILE, RtpError, RtpPacket, TWO_BYTE_PROFILE};
use crate::codecs::RtpHeaderExtensionParameters;
use crate::codecs::extensions::{
    ABS_SEND_TIME, AUDIO_LEVEL, PLAYOUT_DELAY, REPAIRED_RTP_STREAM_ID, RTP_STREAM_ID, SDES_MID,
    TRANSPORT_CC, VIDEO_ORIENTATION,
};

/// Absolute capture time (webrtc.org experiment `abs-capture-time`): NTP capture time and an
/// optional clock offset. Not in the default SDP set, so its URI lives here.
pub const ABS_CAPTURE_TIME: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

/// One header-extension element: its local id and its data (RFC 8285 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// The local identifier: 1–14 in the one-byte form, 1–255 in the two-byte form.
    pub id: u8,
    /// The element's data: 1–16 bytes (one-byte form) or 0–255 bytes (two-byte form).
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    None,
    One,
    Two,
}

/// The elements of an RFC 8285 header-extension block, in order. Padding bytes (0) between
/// elements are skipped; the one-byte id 15 ends the walk (RFC 8285 §4.2). An element that
/// runs past the block yields one `Err(BadExtension)` and ends the walk.
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    form: Form,
    data: &'a [u8],
    pos: usize,
}

impl<'a> ExtensionIter<'a> {
    /// The walk over a block's `data` for its `profile` (other profiles yield nothing).
    pub fn new(profile: u16, data: &'a [u8]) -> ExtensionIter<'a> {
        let form = if profile == ONE_BYTE_PROFILE {
            Form::One
        } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
            Form::Two
        } else {
            Form::None
        };
        ExtensionIter { form, data, pos: 0 }
    }

    fn fail(&mut self) -> Option<Result<ExtensionElement<'a>, RtpError>> {
        self.form = Form::None;
        Some(Err(RtpError::BadExtension))
    }
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = Result<ExtensionElement<'a>, RtpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let &b = self.data.get(self.pos)?;
            match self.form {
                Form::None => return None,
                Form::One => {
                    if b == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let id = b >> 4;
                    if id == 15 {
                        self.form = Form::None;
                        return None;
                    }
                    if id == 0 {
                        return self.fail();
                    }
                    let len = usize::from(b & 0x0F) + 1;
                    let start = self.pos + 1;
                    let Some(data) = self.data.get(start..start + len) else {
                        return self.fail();
                    };
                    self.pos = start + len;
                    return Some(Ok(ExtensionElement { id, data }));
                }
                Form::Two => {
                    if b == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let Some(&len) = self.data.get(self.pos + 1) else {
                        return self.fail();
                    };
                    let start = self.pos + 2;
                    let Some(data) = self.data.get(start..start + usize::from(len)) else {
                        return self.fail();
                    };
                    self.pos = start + usize::from(len);
                    return Some(Ok(ExtensionElement { id: b, data }));
                }
            }
        }
    }
}

/// Appends a header-extension block (profile, length, elements, zero padding to 32 bits) for
/// `elements`, in the one-byte form when every id is 1–14 and every length 1–16, else in the
/// two-byte form (ids 1–255, lengths 0–255) (RFC 8285 §4.2, §4.3). Writes nothing and
/// returns `Ok(false)` when there is no element. On error `out` is left as it was.
pub fn write_extension_block<'e, I>(out: &mut Vec<u8>, elements: I) -> Result<bool, RtpError>
where
    I: IntoIterator<Item = ExtensionElement<'e>>,
    I::IntoIter: Clone,
{
    let iter = elements.into_iter();
    let mut any = false;
    let mut one_byte = true;
    for e in iter.clone() {
        any = true;
        if e.id == 0 || e.data.len() > 255 {
            return Err(RtpError::ExtensionNotWritable);
        }
        if e.id > 14 || e.data.is_empty() || e.data.len() > 16 {
            one_byte = false;
        }
    }
    if !any {
        return Ok(false);
    }
    let start = out.len();
    let profile = if one_byte {
        ONE_BYTE_PROFILE
    } else {
        TWO_BYTE_PROFILE
    };
    out.extend_from_slice(&profile.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    for e in iter {
        if one_byte {
            // Lengths 1..=16 checked above: L = len - 1 fits 4 bits.
            out.push((e.id << 4) | (e.data.len() as u8 - 1));
        } else {
            out.push(e.id);
            out.push(e.data.len() as u8);
        }
        out.extend_from_slice(e.data);
    }
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    let words = (out.len() - start - 4) / 4;
    let Ok(words) = u16::try_from(words) else {
        out.truncate(start);
        return Err(RtpError::ExtensionTooLong);
    };
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    Ok(true)
}

/// The header extensions rtcpeer reads and writes as typed values; any other negotiated URI
/// is [`ExtensionKind::Unknown`] and its elements are skipped by [`Extensions::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionKind {
    /// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.2).
    Mid,
    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852 §3.1).
    RtpStreamId,
    /// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852 §3.2).
    RepairedRtpStreamId,
    /// abs-send-time: 24-bit 6.18 fixed-point seconds (webrtc.org experiment).
    AbsSendTime,
    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
    TransportCc,
    /// Client-to-mixer audio level (RFC 6464 §3).
    AudioLevel,
    /// Coordination of video orientation (3GPP TS 26.114 §7.4.5).
    VideoOrientation,
    /// Playout delay limits (webrtc.org experiment).
    PlayoutDelay,
    /// Absolute capture time (webrtc.org experiment).
    AbsCaptureTime,
    /// A URI this codec has no typed value for; kept by id.
    Unknown,
}

const KNOWN_KINDS: usize = 9;

impl ExtensionKind {
    /// The kind named by an `a=extmap` URI (RFC 8285 §8).
    pub fn from_uri(uri: &str) -> ExtensionKind {
        match uri {
            SDES_MID => ExtensionKind::Mid,
            RTP_STREAM_ID => ExtensionKind::RtpStreamId,
            REPAIRED_RTP_STREAM_ID => ExtensionKind::RepairedRtpStreamId,
            ABS_SEND_TIME => ExtensionKind::AbsSendTime,
            TRANSPORT_CC => ExtensionKind::TransportCc,
            AUDIO_LEVEL => ExtensionKind::AudioLevel,
            VIDEO_ORIENTATION => ExtensionKind::VideoOrientation,
            PLAYOUT_DELAY => ExtensionKind::PlayoutDelay,
            ABS_CAPTURE_TIME => ExtensionKind::AbsCaptureTime,
            _ => ExtensionKind::Unknown,
        }
    }

    /// The URI of a known kind (`None` for `Unknown`).
    pub fn uri(self) -> Option<&'static str> {
        Some(match self {
            ExtensionKind::Mid => SDES_MID,
            ExtensionKind::RtpStreamId => RTP_STREAM_ID,
            ExtensionKind::RepairedRtpStreamId => REPAIRED_RTP_STREAM_ID,
            ExtensionKind::AbsSendTime => ABS_SEND_TIME,
            ExtensionKind::TransportCc => TRANSPORT_CC,
            ExtensionKind::AudioLevel => AUDIO_LEVEL,
            ExtensionKind::VideoOrientation => VIDEO_ORIENTATION,
            ExtensionKind::PlayoutDelay => PLAYOUT_DELAY,
            ExtensionKind::AbsCaptureTime => ABS_CAPTURE_TIME,
            ExtensionKind::Unknown => return None,
        })
    }

    fn index(self) -> Option<usize> {
        Some(match self {
            ExtensionKind::Mid => 0,
            ExtensionKind::RtpStreamId => 1,
            ExtensionKind::RepairedRtpStreamId => 2,
            ExtensionKind::AbsSendTime => 3,
            ExtensionKind::TransportCc => 4,
            ExtensionKind::AudioLevel => 5,
            ExtensionKind::VideoOrientation => 6,
            ExtensionKind::PlayoutDelay => 7,
            ExtensionKind::AbsCaptureTime => 8,
            ExtensionKind::Unknown => return None,
        })
    }
}

/// The negotiated header-extension ids of one RTP stream (RFC 8285 §5, `a=extmap`): id →
/// kind for reading, kind → id for writing. Fixed size, no allocation; ids 1–255.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionMap {
    by_id: [Option<ExtensionKind>; 256],
    by_kind: [u8; KNOWN_KINDS],
}

impl std::fmt::Debug for ExtensionMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.by_id
                    .iter()
                    .enumerate()
                    .filter_map(|(i, k)| k.map(|k| (i, k))),
            )
            .finish()
    }
}

impl Default for ExtensionMap {
    fn default() -> Self {
        ExtensionMap::new()
    }
}

impl ExtensionMap {
    /// An empty map: no extension is read or written.
    pub fn new() -> ExtensionMap {
        ExtensionMap {
            by_id: [None; 256],
            by_kind: [0; KNOWN_KINDS],
        }
    }

    /// Maps the negotiated extensions (`a=extmap`, RFC 8285 §8). Encrypted extensions (RFC
    /// 6904) are not mapped (this codec does not decrypt them); ids outside 1–255 are skipped.
    pub fn from_parameters(params: &[RtpHeaderExtensionParameters]) -> ExtensionMap {
        let mut map = ExtensionMap::new();
        for p in params.iter().filter(|p| !p.encrypted) {
            if let Ok(id) = u8::try_from(p.id) {
                map.insert(id, ExtensionKind::from_uri(&p.uri));
            }
        }
        map
    }

    /// Maps `id` (1–255) to `kind`, replacing what either had before. Returns false (and
    /// changes nothing) for id 0, which is reserved (RFC 8285 §4).
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) -> bool {
        if id == 0 {
            return false;
        }
        if let Some(old) = self.by_id[usize::from(id)].and_then(ExtensionKind::index) {
            self.by_kind[old] = 0;
        }
        if let Some(k) = kind.index() {
            let old_id = self.by_kind[k];
            if old_id != 0 {
                self.by_id[usize::from(old_id)] = None;
            }
            self.by_kind[k] = id;
        }
        self.by_id[usize::from(id)] = Some(kind);
        true
    }

    /// The kind mapped to `id`, if any.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.by_id[usize::from(id)]
    }

    /// The id mapped to a known `kind`, if negotiated.
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        kind.index()
            .map(|k| self.by_kind[k])
            .filter(|&id| id != 0)
    }
}

/// Client-to-mixer audio level (RFC 6464 §3): voice activity flag and level in -dBov (0–127).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevel {
    /// The V bit: the sender's voice activity detection says speech.
    pub voice: bool,
    /// The level, 0 (loudest, 0 dBov) to 127 (silence), 7 bits.
    pub level: u8,
}

/// Video orientation (3GPP TS 26.114 §7.4.5, one byte `0000 C F R1 R0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoOrientation {
    /// C: back-facing camera.
    pub back_camera: bool,
    /// F: horizontal flip.
    pub flip: bool,
    /// R1 R0: clockwise rotation in steps of 90° (0–3).
    pub rotation: u8,
}

/// Playout delay limits (webrtc.org `playout-delay`): 12-bit minimum and maximum in 10 ms units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutDelay {
    /// Minimum delay, in 10 ms units (0–4095).
    pub min: u16,
    /// Maximum delay, in 10 ms units (0–4095).
    pub max: u16,
}

/// Absolute capture time (webrtc.org `abs-capture-time`): the capture time as a 64-bit NTP
/// timestamp, and optionally the sender's estimate of its clock offset (signed Q32.32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsCaptureTime {
    /// Capture time, NTP format (RFC 3550 §4).
    pub timestamp: u64,
    /// Estimated capture clock offset, signed Q32.32 seconds.
    pub clock_offset: Option<i64>,
}

/// The 24-bit abs-send-time (6.18 fixed-point seconds) for a 64-bit NTP timestamp.
pub fn abs_send_time_from_ntp(ntp: u64) -> u32 {
    ((ntp >> 14) & 0x00FF_FFFF) as u32
}

/// Whether `s` is a valid MID: an RFC 5888 identification-tag, i.e. a non-empty SDP `token`
/// (RFC 8866 §9), at most 255 bytes (RFC 8843 §15.2 carries it as an SDES item).
pub fn is_valid_mid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes().all(|c| {
            matches!(c, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39
                | 0x41..=0x5A | 0x5E..=0x7E)
        })
}

/// Whether `s` is a valid RtpStreamId/RepairedRtpStreamId: RFC 8852 §3 uses the RFC 8851 §10
/// `rid-id` syntax, `1*(alpha-numeric / "-" / "_")`, at most 255 bytes (an SDES item).
pub fn is_valid_rid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// An SDES string extension value: trailing NULs (some senders pad) are dropped, then the
/// text must be valid for `valid`.
fn read_str(data: &[u8], valid: fn(&str) -> bool) -> Option<&str> {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let s = std::str::from_utf8(&data[..end]).ok()?;
    valid(s).then_some(s)
}

fn be_uint(data: &[u8]) -> u64 {
    data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The typed header-extension values of one packet, filled by one pass over its block
/// ([`Extensions::read`]) and written by [`RtpHeader`](super::RtpHeader). A value that is
/// absent, not negotiated, or malformed (wrong length, invalid text) is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions<'a> {
    /// MID (RFC 8843 §15.2), borrowed from the packet, RFC 5888 token syntax.
    pub mid: Option<&'a str>,
    /// RtpStreamId (RFC 8852 §3.1), RFC 8851 rid-id syntax.
    pub rid: Option<&'a str>,
    /// RepairedRtpStreamId (RFC 8852 §3.2), RFC 8851 rid-id syntax.
    pub repaired_rid: Option<&'a str>,
    /// abs-send-time, 24 bits of 6.18 fixed-point seconds.
    pub abs_send_time: Option<u32>,
    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
    pub transport_cc: Option<u16>,
    /// Audio level (RFC 6464 §3).
    pub audio_level: Option<AudioLevel>,
    /// Video orientation (3GPP TS 26.114 §7.4.5).
    pub video_orientation: Option<VideoOrientation>,
    /// Playout delay limits.
    pub playout_delay: Option<PlayoutDelay>,
    /// Absolute capture time.
    pub abs_capture_time: Option<AbsCaptureTime>,
}

/// Most typed elements [`Extensions`] writes (one per known kind).
const MAX_TYPED: usize = KNOWN_KINDS;

/// The typed values of an [`Extensions`] encoded on the stack, ready for the block writer.
pub(crate) struct Encoded<'a> {
    ids: [u8; MAX_TYPED],
    inline: [[u8; 16]; MAX_TYPED],
    lens: [u8; MAX_TYPED],
    borrowed: [Option<&'a [u8]>; MAX_TYPED],
    n: usize,
}

impl<'a> Encoded<'a> {
    fn push_inline(&mut self, id: u8, bytes: &[u8]) {
        let i = self.n;
        self.ids[i] = id;
        self.inline[i][..bytes.len()].copy_from_slice(bytes);
        self.lens[i] = bytes.len() as u8;
        self.n += 1;
    }

    fn push_borrowed(&mut self, id: u8, bytes: &'a [u8]) {
        self.ids[self.n] = id;
        self.borrowed[self.n] = Some(bytes);
        self.n += 1;
    }

    /// The encoded elements, in kind order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = ExtensionElement<'_>> + Clone {
        (0..self.n).map(move |i| ExtensionElement {
            id: self.ids[i],
            data: match self.borrowed[i] {
                Some(b) => b,
                None => &self.inline[i][..usize::from(self.lens[i])],
            },
        })
    }
}

impl<'a> Extensions<'a> {
    /// Reads the typed values from a packet's extension block with the negotiated `map`:
    /// one pass; the first element of each kind wins; unknown ids are skipped. Fails only when
    /// the block itself is malformed (RFC 8285 §4).
    pub fn read(packet: &RtpPacket<'a>, map: &ExtensionMap) -> Result<Extensions<'a>, RtpError> {
        Extensions::read_elements(packet.extensions(), map)
    }

    /// As [`Extensions::read`], over any element walk.
    pub fn read_elements(
        elements: impl Iterator<Item = Result<ExtensionElement<'a>, RtpError>>,
        map: &ExtensionMap,
    ) -> Result<Extensions<'a>, RtpError> {
        let mut x = Extensions::default();
        for e in elements {
            let e = e?;
            let Some(kind) = map.kind(e.id) else {
                continue;
            };
            let d = e.data;
            match kind {
                ExtensionKind::Mid if x.mid.is_none() => x.mid = read_str(d, is_valid_mid),
                ExtensionKind::RtpStreamId if x.rid.is_none() => {
                    x.rid = read_str(d, is_valid_rid)
                }
                ExtensionKind::RepairedRtpStreamId if x.repaired_rid.is_none() => {
                    x.repaired_rid = read_str(d, is_valid_rid)
                }
                ExtensionKind::AbsSendTime if x.abs_send_time.is_none() => {
                    x.abs_send_time = (d.len() == 3).then(|| be_uint(d) as u32)
                }
                ExtensionKind::TransportCc if x.transport_cc.is_none() => {
                    x.transport_cc = (d.len() == 2).then(|| be_uint(d) as u16)
                }
                ExtensionKind::AudioLevel if x.audio_level.is_none() => {
                    x.audio_level = (d.len() == 1).then(|| AudioLevel {
                        voice: d[0] & 0x80 != 0,
                        level: d[0] & 0x7F,
                    })
                }
                ExtensionKind::VideoOrientation if x.video_orientation.is_none() => {
                    x.video_orientation = (d.len() == 1).then(|| VideoOrientation {
                        back_camera: d[0] & 0x08 != 0,
                        flip: d[0] & 0x04 != 0,
                        rotation: d[0] & 0x03,
                    })
                }
                ExtensionKind::PlayoutDelay if x.playout_delay.is_none() => {
                    x.playout_delay = (d.len() == 3).then(|| {
                        let v = be_uint(d) as u32;
                        PlayoutDelay {
                            min: (v >> 12) as u16,
                            max: (v & 0x0FFF) as u16,
                        }
                    })
                }
                ExtensionKind::AbsCaptureTime if x.abs_capture_time.is_none() => {
                    x.abs_capture_time = match d.len() {
                        8 => Some(AbsCaptureTime {
                            timestamp: be_uint(d),
                            clock_offset: None,
                        }),
                        16 => Some(AbsCaptureTime {
                            timestamp: be_uint(&d[..8]),
                            clock_offset: Some(be_uint(&d[8..]) as i64),
                        }),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        Ok(x)
    }

    /// Encodes the values that `map` has an id for (values whose kind is not negotiated are
    /// not written). Text values must be valid (see [`is_valid_mid`], [`is_valid_rid`]) and
    /// numeric ones within their field widths, else `ExtensionNotWritable`.
    pub(crate) fn encode(&self, map: &ExtensionMap) -> Result<Encoded<'a>, RtpError> {
        let mut enc = Encoded {
            ids: [0; MAX_TYPED],
            inline: [[0; 16]; MAX_TYPED],
            lens: [0; MAX_TYPED],
            borrowed: [None; MAX_TYPED],
            n: 0,
        };
        let id = |k| map.id(k);
        let texts = [
            (ExtensionKind::Mid, self.mid, is_valid_mid as fn(&str) -> bool),
            (ExtensionKind::RtpStreamId, self.rid, is_valid_rid),
            (ExtensionKind::RepairedRtpStreamId, self.repaired_rid, is_valid_rid),
        ];
        for (kind, value, valid) in texts {
            if let (Some(v), Some(i)) = (value, id(kind)) {
                if !valid(v) {
                    return Err(RtpError::ExtensionNotWritable);
                }
                enc.push_borrowed(i, v.as_bytes());
            }
        }
        if let (Some(v), Some(i)) = (self.abs_send_time, id(ExtensionKind::AbsSendTime)) {
            if v > 0x00FF_FFFF {
                return Err(RtpError::ExtensionNotWritable);
            }
            enc.push_inline(i, &v.to_be_bytes()[1..]);
        }
        if let (Some(v), Some(i)) = (self.transport_cc, id(ExtensionKind::TransportCc)) {
            enc.push_inline(i, &v.to_be_bytes());
        }
        if let (Some(v), Some(i)) = (self.audio_level, id(ExtensionKind::AudioLevel)) {
            if v.level > 127 {
                return Err(RtpError::ExtensionNotWritable);
            }
            enc.push_inline(i, &[(u8::from(v.voice) << 7) | v.level]);
        }
        if let (Some(v), Some(i)) = (self.video_orientation, id(ExtensionKind::VideoOrientation))
        {
            if v.rotation > 3 {
                return Err(RtpError::ExtensionNotWritable);
            }
            let b = (u8::from(v.back_camera) << 3) | (u8::from(v.flip) << 2) | v.rotation;
            enc.push_inline(i, &[b]);
        }
        if let (Some(v), Some(i)) = (self.playout_delay, id(ExtensionKind::PlayoutDelay)) {
            if v.min > 0x0FFF || v.max > 0x0FFF {
                return Err(RtpError::ExtensionNotWritable);
            }
            let x = (u32::from(v.min) << 12) | u32::from(v.max);
            enc.push_inline(i, &x.to_be_bytes()[1..]);
        }
        if let (Some(v), Some(i)) = (self.abs_capture_time, id(ExtensionKind::AbsCaptureTime)) {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&v.timestamp.to_be_bytes());
            match v.clock_offset {
                Some(o) => {
                    b[8..].copy_from_slice(&o.to_be_bytes());
                    enc.push_inline(i, &b);
                }
                None => enc.push_inline(i, &b[..8]),
            }
        }
        Ok(enc)
    }
}
