//! The two container files an application most often plays to a browser or records from
//! one: IVF (VP8, VP9 or AV1 frames, as libvpx and ffmpeg write them) and Ogg Opus (RFC 7845
//! over Ogg, RFC 3533). Readers over a byte slice that never panic on bad input (a malformed
//! file gives a [`MediaFileError`]), and an IVF writer. Encoded frames from these go to
//! `RtpSender::send_frame`; frames received in frames mode go to [`write_ivf_frame`].

use std::time::Duration;

/// What is wrong with a media file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaFileError {
    /// The file does not start as this container does (`DKIF`, `OggS`, `OpusHead`).
    NotThisFormat,
    /// The file ends inside a header or a frame.
    Truncated,
    /// A structure is inconsistent (a header length, a page's checksum, a packet's size).
    Malformed(&'static str),
}

impl std::fmt::Display for MediaFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaFileError::NotThisFormat => f.write_str("not a file of this format"),
            MediaFileError::Truncated => f.write_str("the file is truncated"),
            MediaFileError::Malformed(what) => write!(f, "malformed file: {what}"),
        }
    }
}

impl std::error::Error for MediaFileError {}

fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(i..i + 4)?.try_into().ok()?))
}

fn u64_at(d: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(i..i + 8)?.try_into().ok()?))
}

/// The IVF file header (32 bytes: `DKIF`, version 0, header size, codec FourCC, size, time
/// base, frame count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// The codec: `VP80`, `VP90` or `AV01`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Time base denominator (ticks per second of the frame timestamps, e.g. 30).
    pub timebase_den: u32,
    /// Time base numerator (usually 1).
    pub timebase_num: u32,
    /// The frame count the writer announced (may be 0 or stale; the frames decide).
    pub frame_count: u32,
}

/// The length of an IVF file header.
pub const IVF_HEADER_LEN: usize = 32;

/// One frame of an IVF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfFrame<'a> {
    /// Its timestamp in the header's time base.
    pub pts: u64,
    /// The encoded frame.
    pub data: &'a [u8],
}

/// Reads the frames of an IVF file in memory.
#[derive(Debug, Clone)]
pub struct IvfReader<'a> {
    header: IvfHeader,
    rest: &'a [u8],
}

impl<'a> IvfReader<'a> {
    /// Reads the header; the frames follow with [`Iterator::next`].
    pub fn new(file: &'a [u8]) -> Result<Self, MediaFileError> {
        if file.get(..4) != Some(b"DKIF".as_slice()) {
            return Err(MediaFileError::NotThisFormat);
        }
        let header_len = usize::from(u16_at(file, 6).ok_or(MediaFileError::Truncated)?);
        if header_len < IVF_HEADER_LEN {
            return Err(MediaFileError::Malformed(
                "IVF header shorter than 32 bytes",
            ));
        }
        let rest = file.get(header_len..).ok_or(MediaFileError::Truncated)?;
        let mut fourcc = [0; 4];
        fourcc.copy_from_slice(&file[8..12]);
        let header = IvfHeader {
            fourcc,
            width: u16_at(file, 12).ok_or(MediaFileError::Truncated)?,
            height: u16_at(file, 14).ok_or(MediaFileError::Truncated)?,
            timebase_den: u32_at(file, 16).ok_or(MediaFileError::Truncated)?,
            timebase_num: u32_at(file, 20).ok_or(MediaFileError::Truncated)?,
            frame_count: u32_at(file, 24).ok_or(MediaFileError::Truncated)?,
        };
        Ok(IvfReader { header, rest })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// How long `ticks` of the file's time base last (`None` for a zero time base).
    pub fn duration_of(&self, ticks: u64) -> Option<Duration> {
        let (num, den) = (
            u128::from(self.header.timebase_num),
            u128::from(self.header.timebase_den),
        );
        if num == 0 || den == 0 {
            return None;
        }
        let nanos = u128::from(ticks) * num * 1_000_000_000 / den;
        Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
    }
}

impl<'a> Iterator for IvfReader<'a> {
    type Item = Result<IvfFrame<'a>, MediaFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let frame = (|| {
            let size = u32_at(self.rest, 0).ok_or(MediaFileError::Truncated)? as usize;
            let pts = u64_at(self.rest, 4).ok_or(MediaFileError::Truncated)?;
            let end = 12usize.checked_add(size).ok_or(MediaFileError::Truncated)?;
            let data = self.rest.get(12..end).ok_or(MediaFileError::Truncated)?;
            self.rest = &self.rest[end..];
            Ok(IvfFrame { pts, data })
        })();
        if frame.is_err() {
            // Nothing after a broken frame can be trusted.
            self.rest = &[];
        }
        Some(frame)
    }
}

/// Appends an IVF file header to `out`.
pub fn write_ivf_header(out: &mut Vec<u8>, header: &IvfHeader) {
    out.extend_from_slice(b"DKIF");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(IVF_HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&header.fourcc);
    out.extend_from_slice(&header.width.to_le_bytes());
    out.extend_from_slice(&header.height.to_le_bytes());
    out.extend_from_slice(&header.timebase_den.to_le_bytes());
    out.extend_from_slice(&header.timebase_num.to_le_bytes());
    out.extend_from_slice(&header.frame_count.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
}

/// Appends one IVF frame (its 12-byte header, then the data) to `out`. A frame over 4 GiB
/// cannot be written in IVF: `Malformed`.
pub fn write_ivf_frame(out: &mut Vec<u8>, pts: u64, data: &[u8]) -> Result<(), MediaFileError> {
    let size =
        u32::try_from(data.len()).map_err(|_| MediaFileError::Malformed("frame over 4 GiB"))?;
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&pts.to_le_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// The largest Opus packet accepted from an Ogg file: 120 ms of 48 code-3 frames of at most
/// 1275 bytes each, plus headers (RFC 6716 §3.2.5, §3.4 R5), rounded up.
pub const MAX_OPUS_PACKET: usize = 64 * 1024;

/// The `OpusHead` identification header of an Ogg Opus stream (RFC 7845 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusHead {
    /// The channel count.
    pub channels: u8,
    /// Samples (at 48 kHz) to drop from the start of the decoded output.
    pub pre_skip: u16,
    /// The sample rate of the encoder's input (informational).
    pub input_sample_rate: u32,
}

/// One Opus packet of an Ogg Opus stream and how long it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    /// The Opus packet (RFC 6716 §3).
    pub data: Vec<u8>,
    /// Its duration from its TOC byte (RFC 6716 §3.1).
    pub duration: Duration,
}

/// Reads the Opus packets of an Ogg Opus file in memory (the first logical stream; page
/// checksums are checked, RFC 3533 §6).
#[derive(Debug, Clone)]
pub struct OggOpusReader<'a> {
    head: OpusHead,
    pages: OggPages<'a>,
    serial: u32,
    /// Packets of the current page not returned yet, and a packet continuing on later pages.
    pending: std::collections::VecDeque<Vec<u8>>,
    partial: Vec<u8>,
}

impl<'a> OggOpusReader<'a> {
    /// Reads the `OpusHead` and `OpusTags` headers; the audio packets follow with
    /// [`Iterator::next`].
    pub fn new(file: &'a [u8]) -> Result<Self, MediaFileError> {
        if file.get(..4) != Some(b"OggS".as_slice()) {
            return Err(MediaFileError::NotThisFormat);
        }
        let mut pages = OggPages { rest: file };
        let first = pages.next().ok_or(MediaFileError::Truncated)??;
        let serial = first.serial;
        let mut r = OggOpusReader {
            head: OpusHead {
                channels: 0,
                pre_skip: 0,
                input_sample_rate: 0,
            },
            pages,
            serial,
            pending: Default::default(),
            partial: Vec::new(),
        };
        r.take_packets(&first)?;
        let head = r.next_packet().ok_or(MediaFileError::Truncated)??;
        if head.get(..8) != Some(b"OpusHead".as_slice()) {
            return Err(MediaFileError::NotThisFormat);
        }
        r.head = OpusHead {
            channels: *head.get(9).ok_or(MediaFileError::Truncated)?,
            pre_skip: u16_at(&head, 10).ok_or(MediaFileError::Truncated)?,
            input_sample_rate: u32_at(&head, 12).ok_or(MediaFileError::Truncated)?,
        };
        let tags = r.next_packet().ok_or(MediaFileError::Truncated)??;
        if tags.get(..8) != Some(b"OpusTags".as_slice()) {
            return Err(MediaFileError::Malformed("no OpusTags after OpusHead"));
        }
        Ok(r)
    }

    /// The stream's identification header.
    pub fn head(&self) -> &OpusHead {
        &self.head
    }

    /// Splits a page of our stream into packets by its lacing values (RFC 3533 §5).
    fn take_packets(&mut self, page: &OggPage<'a>) -> Result<(), MediaFileError> {
        if page.serial != self.serial {
            return Ok(());
        }
        if !page.continued && !self.partial.is_empty() {
            return Err(MediaFileError::Malformed("a packet does not continue"));
        }
        let mut at = 0usize;
        for &lace in page.lacing {
            let seg = page
                .body
                .get(at..at + usize::from(lace))
                .ok_or(MediaFileError::Truncated)?;
            at += usize::from(lace);
            if self.partial.len() + seg.len() > MAX_OPUS_PACKET {
                return Err(MediaFileError::Malformed("packet larger than 64 KiB"));
            }
            self.partial.extend_from_slice(seg);
            if lace < 255 {
                self.pending.push_back(std::mem::take(&mut self.partial));
            }
        }
        Ok(())
    }

    fn next_packet(&mut self) -> Option<Result<Vec<u8>, MediaFileError>> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Some(Ok(p));
            }
            let page = match self.pages.next()? {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = self.take_packets(&page) {
                self.pages.rest = &[];
                return Some(Err(e));
            }
        }
    }
}

impl Iterator for OggOpusReader<'_> {
    type Item = Result<OpusPacket, MediaFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = match self.next_packet()? {
            Ok(d) => d,
            Err(e) => return Some(Err(e)),
        };
        let Some(ticks) = crate::payload::opus_duration_ticks(&data) else {
            return Some(Err(MediaFileError::Malformed(
                "an Opus packet without a valid TOC",
            )));
        };
        Some(Ok(OpusPacket {
            data,
            duration: Duration::from_nanos(u64::from(ticks) * 1_000_000_000 / 48_000),
        }))
    }
}

/// Writes an Ogg Opus stream (RFC 7845) one Opus packet per page, e.g. to record received
/// audio: [`header`](Self::header) first, then [`packet`](Self::packet) for each packet and
/// [`finish`](Self::finish) at the end. Each call appends whole pages to `out`.
#[derive(Debug, Clone)]
pub struct OggOpusWriter {
    serial: u32,
    sequence: u32,
    /// Granule position (48 kHz samples, pre-skip included, RFC 7845 §4) after the last
    /// packet written.
    granule: u64,
    pre_skip: u16,
    channels: u8,
    finished: bool,
}

impl OggOpusWriter {
    /// A writer of logical stream `serial` with `channels` channels (1 or 2 for WebRTC's
    /// `opus/48000/2`) and `pre_skip` samples to drop at decoding (RFC 7845 §5.1; 312 is
    /// libopus's usual encoder delay, 0 when unknown).
    pub fn new(serial: u32, channels: u8, pre_skip: u16) -> Self {
        OggOpusWriter {
            serial,
            sequence: 0,
            granule: u64::from(pre_skip),
            pre_skip,
            channels,
            finished: false,
        }
    }

    /// Appends the `OpusHead` page (beginning of stream) and the `OpusTags` page
    /// (RFC 7845 §5.1, §5.2; vendor "rtcpeer", no comments).
    pub fn header(&mut self, out: &mut Vec<u8>) {
        let mut head = b"OpusHead".to_vec();
        head.push(1);
        head.push(self.channels);
        head.extend_from_slice(&self.pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(0);
        self.page(out, 0x02, 0, &head);
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&7u32.to_le_bytes());
        tags.extend_from_slice(b"rtcpeer");
        tags.extend_from_slice(&0u32.to_le_bytes());
        self.page(out, 0, 0, &tags);
    }

    /// Appends one Opus packet as a page whose granule position counts its samples (from
    /// its TOC byte, RFC 6716 §3.1). A packet without a valid TOC or over
    /// [`MAX_OPUS_PACKET`] is refused (`Malformed`), as is writing after `finish`.
    pub fn packet(&mut self, out: &mut Vec<u8>, packet: &[u8]) -> Result<(), MediaFileError> {
        if self.finished {
            return Err(MediaFileError::Malformed("the stream is finished"));
        }
        if packet.len() > MAX_OPUS_PACKET {
            return Err(MediaFileError::Malformed("packet larger than 64 KiB"));
        }
        let ticks = crate::payload::opus_duration_ticks(packet).ok_or(
            MediaFileError::Malformed("an Opus packet without a valid TOC"),
        )?;
        self.granule += u64::from(ticks);
        self.page(out, 0, self.granule, packet);
        Ok(())
    }

    /// Appends an empty end-of-stream page (RFC 3533 §6 header type 0x04); later packets are
    /// refused.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.finished = true;
            self.page(out, 0x04, self.granule, &[]);
        }
    }

    /// One page holding `body` as one packet (lacing values of 255 then the rest, RFC 3533
    /// §5; a body that is a multiple of 255 ends with a 0 lacing value).
    fn page(&mut self, out: &mut Vec<u8>, header_type: u8, granule: u64, body: &[u8]) {
        let start = out.len();
        out.extend_from_slice(b"OggS");
        out.push(0);
        out.push(header_type);
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        let full = body.len() / 255;
        if body.is_empty() {
            out.push(0);
        } else {
            // 64 KiB at most: 257 lacing values would exceed one page's 255, so a body over
            // 255 * 254 bytes continues on further pages.
            let segments = full + 1;
            if segments <= 255 {
                out.push(segments as u8);
                out.extend(std::iter::repeat_n(255u8, full));
                out.push((body.len() % 255) as u8);
            } else {
                out.truncate(start);
                self.long_packet(out, header_type, granule, body);
                return;
            }
        }
        out.extend_from_slice(body);
        let crc = ogg_crc(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence = self.sequence.wrapping_add(1);
    }

    /// A packet too long for one page: pages of 255 full segments, each continuing the
    /// packet; the granule position only on the page where it ends (-1 before, RFC 3533 §6).
    fn long_packet(&mut self, out: &mut Vec<u8>, header_type: u8, granule: u64, body: &[u8]) {
        let mut rest = body;
        let mut continued = false;
        loop {
            let start = out.len();
            let take = rest.len().min(255 * 255);
            let last = rest.len() < 255 * 255;
            out.extend_from_slice(b"OggS");
            out.push(0);
            out.push(header_type | u8::from(continued));
            let g = if last { granule } else { u64::MAX };
            out.extend_from_slice(&g.to_le_bytes());
            out.extend_from_slice(&self.serial.to_le_bytes());
            out.extend_from_slice(&self.sequence.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            if last {
                let full = take / 255;
                out.push((full + 1) as u8);
                out.extend(std::iter::repeat_n(255u8, full));
                out.push((take % 255) as u8);
            } else {
                out.push(255);
                out.extend(std::iter::repeat_n(255u8, 255));
            }
            out.extend_from_slice(&rest[..take]);
            let crc = ogg_crc(&out[start..]);
            out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
            self.sequence = self.sequence.wrapping_add(1);
            rest = &rest[take..];
            continued = true;
            if last {
                return;
            }
        }
    }
}

/// One Ogg page (RFC 3533 §6).
#[derive(Debug, Clone, Copy)]
struct OggPage<'a> {
    continued: bool,
    serial: u32,
    lacing: &'a [u8],
    body: &'a [u8],
}

#[derive(Debug, Clone)]
struct OggPages<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OggPages<'a> {
    type Item = Result<OggPage<'a>, MediaFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let page = parse_page(self.rest);
        match &page {
            Ok((_, len)) => self.rest = &self.rest[*len..],
            Err(_) => self.rest = &[],
        }
        Some(page.map(|(p, _)| p))
    }
}

/// Parses the page at the start of `d`; returns it and its length.
fn parse_page(d: &[u8]) -> Result<(OggPage<'_>, usize), MediaFileError> {
    if d.get(..4) != Some(b"OggS".as_slice()) {
        return Err(MediaFileError::Malformed("no Ogg capture pattern"));
    }
    if d.get(4) != Some(&0) {
        return Err(MediaFileError::Malformed("Ogg version is not 0"));
    }
    let header_type = *d.get(5).ok_or(MediaFileError::Truncated)?;
    let serial = u32_at(d, 14).ok_or(MediaFileError::Truncated)?;
    let checksum = u32_at(d, 22).ok_or(MediaFileError::Truncated)?;
    let segments = usize::from(*d.get(26).ok_or(MediaFileError::Truncated)?);
    let lacing = d.get(27..27 + segments).ok_or(MediaFileError::Truncated)?;
    let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
    let len = 27 + segments + body_len;
    let page = d.get(..len).ok_or(MediaFileError::Truncated)?;
    if ogg_crc(page) != checksum {
        return Err(MediaFileError::Malformed("Ogg page checksum"));
    }
    Ok((
        OggPage {
            continued: header_type & 1 != 0,
            serial,
            lacing,
            body: &page[27 + segments..],
        },
        len,
    ))
}

/// The Ogg page checksum (RFC 3533 §6: CRC-32, polynomial 0x04c11db7, initial value 0, no
/// reflection), computed with the checksum field as zero.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for (i, &b) in page.iter().enumerate() {
        let b = if (22..26).contains(&i) { 0 } else { b };
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds one Ogg page with a correct checksum.
    fn page(header_type: u8, serial: u32, seq: u32, lacing: &[u8], body: &[u8]) -> Vec<u8> {
        let mut p = b"OggS".to_vec();
        p.push(0);
        p.push(header_type);
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&seq.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        p.push(lacing.len() as u8);
        p.extend_from_slice(lacing);
        p.extend_from_slice(body);
        let crc = ogg_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    fn opus_file(packets: &[Vec<u8>]) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let tags = b"OpusTags\0\0\0\0\0\0\0\0".to_vec();
        let mut f = page(2, 7, 0, &[head.len() as u8], &head);
        f.extend(page(0, 7, 1, &[tags.len() as u8], &tags));
        // Audio packets on one page, a long one spanning two pages.
        for (i, p) in packets.iter().enumerate() {
            let mut lacing = vec![255; p.len() / 255];
            lacing.push((p.len() % 255) as u8);
            if lacing.len() > 2 {
                let (a, b) = lacing.split_at(1);
                f.extend(page(0, 7, 2 + 2 * i as u32, a, &p[..255]));
                f.extend(page(1, 7, 3 + 2 * i as u32, b, &p[255..]));
            } else {
                f.extend(page(0, 7, 2 + 2 * i as u32, &lacing, p));
            }
        }
        f
    }

    #[test]
    fn ogg_crc_matches_a_page_ffmpeg_wrote() {
        // The first page of tests/fixtures/media/sine-440.opus (RFC 7845 OpusHead).
        let file = include_bytes!("../../rtcpeer/tests/fixtures/media/sine-440.opus");
        let (p, len) = parse_page(file).unwrap();
        assert_eq!(len, 47);
        assert_eq!(p.body.get(..8), Some(b"OpusHead".as_slice()));
        let r = OggOpusReader::new(file).unwrap();
        assert_eq!(r.head().channels, 1);
        let packets: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        let total: Duration = packets.iter().map(|p| p.duration).sum();
        assert!(
            packets
                .iter()
                .all(|p| p.duration == Duration::from_millis(20))
        );
        assert!((2900..=3100).contains(&total.as_millis()), "{total:?}");
    }

    #[test]
    fn ogg_packets_across_pages_and_errors() {
        // TOC 0xf8: CELT 20 ms, one frame. TOC 0x7b: hybrid 20 ms (config 15), code 3 with a
        // frame count of 3: 60 ms; 602 bytes, so it spans two pages.
        let small = vec![0xf8, 1, 2, 3];
        let long: Vec<u8> = [0x7b, 3]
            .into_iter()
            .chain(std::iter::repeat_n(9, 600))
            .collect();
        let file = opus_file(&[small.clone(), long.clone()]);
        let got: Vec<_> = OggOpusReader::new(&file)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].data, small);
        assert_eq!(got[0].duration, Duration::from_millis(20));
        assert_eq!(got[1].data, long);
        assert_eq!(got[1].duration, Duration::from_millis(60));
        // A flipped bit breaks the checksum: an error, then the end.
        let mut bad = file.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        let mut r = OggOpusReader::new(&bad).unwrap();
        assert!(r.next().unwrap().is_ok());
        assert!(matches!(r.next(), Some(Err(MediaFileError::Malformed(_)))));
        assert!(r.next().is_none());
        // Every truncation is an error or a shorter stream, never a panic.
        for cut in 0..file.len() {
            if let Ok(r) = OggOpusReader::new(&file[..cut]) {
                for p in r {
                    let _ = p;
                }
            }
        }
        assert_eq!(
            OggOpusReader::new(b"DKIF").unwrap_err(),
            MediaFileError::NotThisFormat
        );
    }

    #[test]
    fn ogg_opus_writer_round_trips_through_the_reader() {
        // TOC 0xfc: config 31 (CELT FB 20 ms), stereo, code 0: one 20 ms frame (960 ticks).
        let mut packets: Vec<Vec<u8>> = Vec::new();
        for len in [
            1usize,
            2,
            254,
            255,
            256,
            510,
            1275,
            255 * 254,
            255 * 255 + 7,
            MAX_OPUS_PACKET,
        ] {
            let mut p = vec![0xfcu8];
            p.extend((1..len).map(|i| (i % 251) as u8));
            packets.push(p);
        }
        let mut w = OggOpusWriter::new(42, 2, 312);
        let mut out = Vec::new();
        w.header(&mut out);
        for p in &packets {
            w.packet(&mut out, p).unwrap();
        }
        w.finish(&mut out);
        assert!(w.packet(&mut out, &packets[0]).is_err());
        assert!(w.packet(&mut Vec::new(), &[]).is_err());
        let r = OggOpusReader::new(&out).unwrap();
        assert_eq!(
            *r.head(),
            OpusHead {
                channels: 2,
                pre_skip: 312,
                input_sample_rate: 48_000
            }
        );
        let read: Vec<OpusPacket> = r.map(Result::unwrap).collect();
        assert_eq!(read.len(), packets.len());
        for (got, want) in read.iter().zip(&packets) {
            assert_eq!(&got.data, want);
            assert_eq!(got.duration, Duration::from_millis(20));
        }
        // The last data page's granule position: pre-skip + 960 samples per packet.
        let mut rest = out.as_slice();
        let mut last_granule = 0;
        while !rest.is_empty() {
            let (p, len) = parse_page(rest).unwrap();
            let g = u64::from_le_bytes(rest[6..14].try_into().unwrap());
            if g != u64::MAX && !p.body.is_empty() {
                last_granule = g;
            }
            rest = &rest[len..];
        }
        assert_eq!(last_granule, 312 + 960 * packets.len() as u64);
    }

    #[test]
    fn ivf_round_trip_and_the_fixture() {
        let header = IvfHeader {
            fourcc: *b"VP80",
            width: 320,
            height: 240,
            timebase_den: 30,
            timebase_num: 1,
            frame_count: 2,
        };
        let mut f = Vec::new();
        write_ivf_header(&mut f, &header);
        write_ivf_frame(&mut f, 0, b"key").unwrap();
        write_ivf_frame(&mut f, 1, b"delta").unwrap();
        let r = IvfReader::new(&f).unwrap();
        assert_eq!(*r.header(), header);
        assert_eq!(r.duration_of(1), Some(Duration::from_nanos(33_333_333)));
        let frames: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(
            frames,
            [
                IvfFrame {
                    pts: 0,
                    data: b"key"
                },
                IvfFrame {
                    pts: 1,
                    data: b"delta"
                }
            ]
        );
        for cut in 0..f.len() {
            if let Ok(r) = IvfReader::new(&f[..cut]) {
                let n = r.filter(Result::is_ok).count();
                assert!(n <= 2);
            }
        }
        let file = include_bytes!("../../rtcpeer/tests/fixtures/media/testsrc-320x240.ivf");
        let r = IvfReader::new(file).unwrap();
        assert_eq!(
            (&r.header().fourcc, r.header().width, r.header().height),
            (b"VP80", 320, 240)
        );
        let frames: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 90);
        // VP8 key frames (RFC 6386 §9.1: bit 0 of the first byte clear) every 30 frames.
        let keys: Vec<usize> = frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.data[0] & 1 == 0)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(keys, [0, 30, 60]);
    }
}
