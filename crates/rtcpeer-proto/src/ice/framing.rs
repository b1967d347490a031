//! RFC 4571 framing for ICE-TCP (RFC 6544 §3): every STUN message, DTLS record datagram or
//! SRTP packet sent over a TCP connection is preceded by a 16-bit big-endian length.
//!
//! [`Deframer`] turns the byte stream of one connection back into those packets. It owns one
//! buffer of fixed size, allocated once: the runtime reads the socket straight into
//! [`Deframer::spare`], [`Deframer::commit`]s what it read, and takes the complete frames as
//! borrowed slices from [`Deframer::next_frame`] (no copy per packet; only the bytes of an
//! incomplete frame are moved to the front when the buffer end is reached). A frame longer
//! than the configured maximum is a clear error ([`FramingError::Oversize`]): the peer is
//! not following RFC 6544, and the connection must be closed, so the buffer never grows.

use std::fmt;

/// Bytes of the RFC 4571 length prefix.
pub const FRAME_HEADER: usize = 2;
/// The largest payload RFC 4571 can frame (16-bit length, RFC 4571 §2).
pub const MAX_FRAME_LEN: usize = 65_535;

/// Why a stream cannot be deframed (RFC 4571 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// A frame announces more bytes than this deframer accepts.
    Oversize {
        /// The announced length.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },
    /// A payload longer than 65 535 bytes cannot be framed.
    TooLong(usize),
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::Oversize { len, max } => write!(
                f,
                "RFC 4571 frame of {len} bytes is larger than the {max} accepted"
            ),
            FramingError::TooLong(len) => {
                write!(f, "a {len}-byte packet cannot be framed (RFC 4571: at most 65535)")
            }
        }
    }
}

impl std::error::Error for FramingError {}

/// The RFC 4571 length prefix for a payload of `len` bytes (RFC 4571 §2).
pub fn frame_header(len: usize) -> Result<[u8; FRAME_HEADER], FramingError> {
    let n = u16::try_from(len).map_err(|_| FramingError::TooLong(len))?;
    Ok(n.to_be_bytes())
}

/// Appends `payload` framed (length prefix, then the bytes) to `out` (RFC 4571 §2).
pub fn write_frame(out: &mut Vec<u8>, payload: &[u8]) -> Result<(), FramingError> {
    out.extend_from_slice(&frame_header(payload.len())?);
    out.extend_from_slice(payload);
    Ok(())
}

/// Reassembles RFC 4571 frames from one TCP connection's byte stream, in a buffer of fixed
/// size (see the module documentation).
#[derive(Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// One past the last byte received.
    end: usize,
    max_frame: usize,
    failed: Option<FramingError>,
}

impl Deframer {
    /// A deframer accepting frames of up to `max_frame` bytes (at most 65 535), with a buffer
    /// of `buffer` bytes (raised to hold at least one maximal frame and its header). The
    /// buffer is the connection's whole receive state: it bounds what a peer can make us hold.
    pub fn new(max_frame: usize, buffer: usize) -> Deframer {
        let max_frame = max_frame.min(MAX_FRAME_LEN);
        let size = buffer.max(FRAME_HEADER + max_frame);
        Deframer {
            buf: vec![0; size],
            start: 0,
            end: 0,
            max_frame,
            failed: None,
        }
    }

    /// The largest accepted frame.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes received and not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Free space to read the socket into; call [`Deframer::commit`] with what was read.
    /// Empty only after an error (or while complete frames wait to be taken).
    pub fn spare(&mut self) -> &mut [u8] {
        if self.failed.is_some() {
            return &mut [];
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() && self.start > 0 {
            // Move the incomplete tail to the front (at most one frame, bounded by the
            // buffer size, so O(1) amortised per byte received).
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were written into [`Deframer::spare`] (clamped to its size).
    pub fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.buf.len());
    }

    /// Copies as much of `data` as fits and returns how many bytes were taken (tests, fuzzing
    /// and callers that do not read into [`Deframer::spare`] directly).
    pub fn push(&mut self, data: &[u8]) -> usize {
        let spare = self.spare();
        let n = spare.len().min(data.len());
        spare[..n].copy_from_slice(&data[..n]);
        self.commit(n);
        n
    }

    /// The next complete frame's payload, `Ok(None)` when more bytes are needed, or the
    /// error that makes the stream unusable (reported again on every later call).
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let avail = &self.buf[self.start..self.end];
        let Some(header) = avail.get(..FRAME_HEADER) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
        if len > self.max_frame {
            let e = FramingError::Oversize {
                len,
                max: self.max_frame,
            };
            self.failed = Some(e);
            return Err(e);
        }
        if avail.len() < FRAME_HEADER + len {
            return Ok(None);
        }
        let from = self.start + FRAME_HEADER;
        self.start = from + len;
        Ok(Some(&self.buf[from..from + len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut s = Vec::new();
        for p in payloads {
            write_frame(&mut s, p).unwrap();
        }
        s
    }

    fn payloads(seed: u64, count: usize, max: usize) -> Vec<Vec<u8>> {
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..count)
            .map(|i| {
                let len = (next() as usize) % (max + 1);
                (0..len).map(|j| (i * 31 + j) as u8).collect()
            })
            .collect()
    }

    fn drain(d: &mut Deframer, got: &mut Vec<Vec<u8>>) {
        while let Some(f) = d.next_frame().unwrap() {
            got.push(f.to_vec());
        }
    }

    #[test]
    fn header_is_the_big_endian_length_rfc4571_section_2() {
        assert_eq!(frame_header(0).unwrap(), [0, 0]);
        assert_eq!(frame_header(0x1234).unwrap(), [0x12, 0x34]);
        assert_eq!(frame_header(65_535).unwrap(), [0xff, 0xff]);
        assert_eq!(frame_header(65_536), Err(FramingError::TooLong(65_536)));
        let mut out = Vec::new();
        write_frame(&mut out, b"abc").unwrap();
        assert_eq!(out, [0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn a_stream_split_at_every_byte_gives_the_same_frames() {
        let sent = payloads(7, 6, 40);
        let stream = frames(&sent);
        for cut in 0..=stream.len() {
            let mut d = Deframer::new(100, 0);
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                let mut rest = part;
                while !rest.is_empty() {
                    let n = d.push(rest);
                    rest = &rest[n..];
                    drain(&mut d, &mut got);
                }
            }
            assert_eq!(got, sent, "cut at {cut}");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn one_byte_at_a_time_and_many_frames_per_read() {
        let sent = payloads(11, 200, 300);
        let stream = frames(&sent);
        // One byte per read.
        let mut d = Deframer::new(1200, 0);
        let mut got = Vec::new();
        for b in &stream {
            assert_eq!(d.push(std::slice::from_ref(b)), 1);
            drain(&mut d, &mut got);
        }
        assert_eq!(got, sent);
        // Whole stream in reads as large as the buffer allows: many frames per read.
        let mut d = Deframer::new(1200, 16 * 1024);
        let mut got = Vec::new();
        let mut rest = &stream[..];
        let mut reads = 0;
        while !rest.is_empty() {
            let n = d.push(rest);
            rest = &rest[n..];
            reads += 1;
            drain(&mut d, &mut got);
        }
        assert_eq!(got, sent);
        assert!(reads < sent.len() / 4, "{reads} reads for {} frames", sent.len());
    }

    #[test]
    fn random_read_sizes_through_spare_and_commit() {
        let sent = payloads(3, 500, 1500);
        let stream = frames(&sent);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut d = Deframer::new(1500, 4096);
        let mut got = Vec::new();
        let mut pos = 0;
        while pos < stream.len() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let want = 1 + (x as usize) % 3000;
            let spare = d.spare();
            let n = want.min(spare.len()).min(stream.len() - pos);
            spare[..n].copy_from_slice(&stream[pos..pos + n]);
            d.commit(n);
            pos += n;
            drain(&mut d, &mut got);
        }
        assert_eq!(got, sent);
    }

    #[test]
    fn an_oversize_frame_is_a_clear_error_and_the_stream_stays_failed() {
        let mut d = Deframer::new(1500, 0);
        let mut stream = frames(&[b"ok".to_vec()]);
        stream.extend_from_slice(&frame_header(1501).unwrap());
        stream.extend_from_slice(&[0; 10]);
        d.push(&stream);
        assert_eq!(d.next_frame().unwrap(), Some(&b"ok"[..]));
        let e = d.next_frame().unwrap_err();
        assert_eq!(e, FramingError::Oversize { len: 1501, max: 1500 });
        assert!(e.to_string().contains("1501"));
        assert_eq!(d.next_frame().unwrap_err(), e);
        assert!(d.spare().is_empty());
        assert_eq!(d.push(b"more"), 0);
    }

    #[test]
    fn the_buffer_never_grows_and_empty_frames_are_frames() {
        let mut d = Deframer::new(100, 0);
        assert_eq!(d.spare().len(), 102);
        // More than fits: only the buffer's worth is taken.
        assert_eq!(d.push(&[0u8; 500]), 102);
        // 51 empty frames (length 0).
        for _ in 0..51 {
            assert_eq!(d.next_frame().unwrap(), Some(&[][..]));
        }
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.spare().len(), 102);
        assert_eq!(Deframer::new(70_000, 0).max_frame(), MAX_FRAME_LEN);
    }
}
