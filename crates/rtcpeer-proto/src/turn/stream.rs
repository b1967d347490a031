//! Framing of TURN over a stream (TCP or TLS-over-TCP, RFC 8656 §3.1): the byte stream from
//! the server is a sequence of STUN messages (20-byte header + length, RFC 8489 §6.2.2) and
//! ChannelData messages (4-byte header + length, padded to a multiple of 4 bytes on a
//! stream, RFC 8656 §12.5). [`StreamDeframer`] cuts it back into those messages.
//!
//! The buffer is bounded ([`MAX_STREAM_FRAME`] + the caller's read size at most, see
//! [`StreamDeframer::push`]) and each byte is copied in once and moved at most once more
//! (O(1) amortised per byte). A stream that stops looking like STUN or ChannelData cannot
//! be resynchronised: [`DeframeError`] says why, and the caller closes the connection.

use std::fmt;

use crate::stun::{HEADER_LEN, MAGIC_COOKIE};

/// The longest message on a stream: a STUN message of 20 + 65 532 bytes (its length is a
/// multiple of 4, RFC 8489 §5); padded ChannelData is at most 4 + 65 536 (RFC 8656 §12.5).
pub const MAX_STREAM_FRAME: usize = HEADER_LEN + 65_532;

/// Default read room of [`StreamDeframer::new`]: a TLS record's plaintext (16 KiB, RFC 8446
/// §5.1).
pub const DEFAULT_READ_ROOM: usize = 16 * 1024;

/// Why the stream from the TURN server cannot be read any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeframeError {
    /// The first byte of a message is neither STUN (0–3) nor ChannelData (0x40–0x4F):
    /// garbage, or the stream lost its framing (RFC 7983 §7, RFC 8656 §12).
    NotStunOrChannelData(u8),
    /// A STUN message without the magic cookie (RFC 8489 §5).
    BadMagicCookie,
    /// A STUN message length that is not a multiple of 4 (RFC 8489 §5).
    BadStunLength(u16),
    /// A ChannelData number in the reserved range 0x5000–0x7FFF (RFC 8656 §12).
    ReservedChannel(u16),
}

impl fmt::Display for DeframeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeframeError::NotStunOrChannelData(b) => {
                write!(f, "TURN stream: first byte {b:#04x} is neither STUN nor ChannelData")
            }
            DeframeError::BadMagicCookie => f.write_str("TURN stream: STUN without magic cookie"),
            DeframeError::BadStunLength(l) => {
                write!(f, "TURN stream: STUN length {l} is not a multiple of 4")
            }
            DeframeError::ReservedChannel(c) => {
                write!(f, "TURN stream: reserved channel number {c:#06x}")
            }
        }
    }
}

impl std::error::Error for DeframeError {}

/// Cuts a TURN byte stream into STUN and ChannelData messages (RFC 8656 §3.1, §12.5).
///
/// Use: [`StreamDeframer::push`] what was read (it takes at most the free room), then
/// [`StreamDeframer::next_frame`] until `Ok(None)`, then push the rest. A ChannelData frame
/// is returned with its padding (its length field tells the data apart,
/// [`crate::stun::ChannelData::parse`] ignores the rest).
#[derive(Debug, Clone)]
pub struct StreamDeframer {
    buf: Vec<u8>,
    /// Start of the bytes not handed out yet.
    start: usize,
    /// Most bytes held at once.
    cap: usize,
    /// Set once the stream was found broken: everything after is refused.
    broken: Option<DeframeError>,
}

impl Default for StreamDeframer {
    fn default() -> Self {
        StreamDeframer::new(DEFAULT_READ_ROOM)
    }
}

impl StreamDeframer {
    /// A deframer holding at most [`MAX_STREAM_FRAME`] + `read_room` bytes (the buffer grows
    /// to that only as messages need it).
    pub fn new(read_room: usize) -> StreamDeframer {
        StreamDeframer {
            buf: Vec::new(),
            start: 0,
            cap: MAX_STREAM_FRAME + read_room.max(1),
            broken: None,
        }
    }

    /// Bytes buffered and not handed out yet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends as much of `data` as fits and returns how many bytes it took. After every
    /// complete message was taken with [`StreamDeframer::next_frame`] it always takes at
    /// least `read_room` bytes (an incomplete message is shorter than [`MAX_STREAM_FRAME`]).
    pub fn push(&mut self, data: &[u8]) -> usize {
        if self.broken.is_some() {
            return 0;
        }
        if self.start > 0 {
            // Moves only the incomplete tail; each byte is moved at most once, as every
            // message before it was handed out.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let n = data.len().min(self.cap - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        n
    }

    /// The next complete message (STUN, or ChannelData with its padding), `Ok(None)` when
    /// more bytes are needed, or the error that broke the stream (returned from then on).
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, DeframeError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        let rest = &self.buf[self.start..];
        let Some(len) = frame_len(rest) else {
            return Ok(None);
        };
        let len = match len {
            Ok(l) => l,
            Err(e) => {
                self.broken = Some(e);
                self.buf = Vec::new();
                self.start = 0;
                return Err(e);
            }
        };
        if rest.len() < len {
            return Ok(None);
        }
        let s = self.start;
        self.start += len;
        Ok(self.buf.get(s..s + len))
    }
}

/// The length of the message starting `stream` once its 4 (STUN: 8) header bytes are there:
/// `None` to wait for more, `Some(Err)` when the stream is broken.
fn frame_len(stream: &[u8]) -> Option<Result<usize, DeframeError>> {
    let h = stream.get(..4)?;
    let len = u16::from_be_bytes([h[2], h[3]]);
    match h[0] {
        0..=3 => {
            let cookie = stream.get(4..8)?;
            if u32::from_be_bytes([cookie[0], cookie[1], cookie[2], cookie[3]]) != MAGIC_COOKIE {
                return Some(Err(DeframeError::BadMagicCookie));
            }
            if len % 4 != 0 {
                return Some(Err(DeframeError::BadStunLength(len)));
            }
            Some(Ok(HEADER_LEN + usize::from(len)))
        }
        0x40..=0x4F => Some(Ok(4 + usize::from(len).div_ceil(4) * 4)),
        0x50..=0x7F => Some(Err(DeframeError::ReservedChannel(u16::from_be_bytes([
            h[0], h[1],
        ])))),
        b => Some(Err(DeframeError::NotStunOrChannelData(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::{ChannelData, Class, Message, MessageWriter, Method, TransactionId};
    use crate::util::{RandomSource, SeededRandom};

    fn stun(tid: u8, software: &str) -> Vec<u8> {
        let mut b = Vec::new();
        let mut w = MessageWriter::new(&mut b, Class::Indication, Method::DATA, TransactionId([tid; 12]));
        let _ = w.software(software);
        b
    }

    fn channel(number: u16, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        crate::stun::write_channel_data(&mut b, number, data, true).unwrap();
        b
    }

    /// Feeds `chunks` one after the other, taking every frame after each push.
    fn run(d: &mut StreamDeframer, chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>, DeframeError> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest = *chunk;
            loop {
                let n = d.push(rest);
                rest = &rest[n..];
                while let Some(f) = d.next_frame()? {
                    out.push(f.to_vec());
                }
                if rest.is_empty() {
                    break;
                }
                assert!(n > 0, "no progress with {} bytes left", rest.len());
            }
        }
        Ok(out)
    }

    fn sample() -> Vec<Vec<u8>> {
        vec![
            stun(1, "a"),
            channel(0x4000, b"hello"),
            channel(0x4001, b""),
            channel(0x4FFF, b"12345678"),
            stun(2, "a longer software name"),
            channel(0x4002, b"x"),
        ]
    }

    #[test]
    fn several_messages_in_one_read() {
        let frames = sample();
        let stream: Vec<u8> = frames.concat();
        let mut d = StreamDeframer::default();
        assert_eq!(run(&mut d, &[&stream]).unwrap(), frames);
        assert_eq!(d.buffered(), 0);
    }

    /// RFC 8656 §12.5: the stream's ChannelData is padded; the frame includes the padding
    /// and parses to the unpadded data.
    #[test]
    fn channel_data_padding_is_part_of_the_frame() {
        let mut d = StreamDeframer::default();
        let f = run(&mut d, &[&channel(0x4000, b"hello")]).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].len(), 12);
        assert_eq!(ChannelData::parse(&f[0]).unwrap().data, b"hello");
        // Exactly the unpadded 9 bytes is not a whole frame yet.
        let mut d = StreamDeframer::default();
        assert!(run(&mut d, &[&channel(0x4000, b"hello")[..9]]).unwrap().is_empty());
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let frames = sample();
        let stream: Vec<u8> = frames.concat();
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let mut d = StreamDeframer::default();
                let got = run(&mut d, &[&stream[..i], &stream[i..j], &stream[j..]]).unwrap();
                assert_eq!(got, frames, "split at {i} and {j}");
            }
        }
        // One byte at a time.
        let mut d = StreamDeframer::default();
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(&mut d, &bytes).unwrap(), frames);
    }

    #[test]
    fn largest_frames_pass_with_the_smallest_read_room() {
        let big = channel(0x4000, &[7u8; 65_535]);
        assert_eq!(big.len(), 4 + 65_536);
        let mut big_stun = stun(3, "");
        // A STUN message of the largest length: 20 + 65 532.
        big_stun.resize(MAX_STREAM_FRAME, 0);
        big_stun[2..4].copy_from_slice(&65_532u16.to_be_bytes());
        let frames = vec![big.clone(), channel(0x4001, b"abc"), big_stun, big];
        let stream = frames.concat();
        let mut d = StreamDeframer::new(1);
        let chunks: Vec<&[u8]> = stream.chunks(1000).collect();
        assert_eq!(run(&mut d, &chunks).unwrap(), frames);
        // The buffer never holds more than its cap.
        assert!(d.buf.capacity() <= 2 * (MAX_STREAM_FRAME + 1));
    }

    #[test]
    fn a_push_takes_at_most_the_free_room() {
        let mut d = StreamDeframer::new(10);
        let junk = vec![0x40u8; 200_000];
        let n = d.push(&junk);
        assert_eq!(n, MAX_STREAM_FRAME + 10);
        assert_eq!(d.push(&junk), 0);
    }

    #[test]
    fn garbage_breaks_the_stream_for_good() {
        let cases: [(Vec<u8>, DeframeError); 4] = [
            (vec![0x80, 0, 0, 0, 0, 0, 0, 0], DeframeError::NotStunOrChannelData(0x80)),
            (vec![0x16, 0xfe, 0xfd, 0], DeframeError::NotStunOrChannelData(0x16)),
            (vec![0x50, 0x00, 0, 4, 1, 2, 3, 4], DeframeError::ReservedChannel(0x5000)),
            ({
                let mut m = stun(1, "x");
                m[4] ^= 1;
                m
            }, DeframeError::BadMagicCookie),
        ];
        for (bytes, err) in cases {
            let mut d = StreamDeframer::default();
            let mut stream = channel(0x4000, b"ok");
            stream.extend_from_slice(&bytes);
            d.push(&stream);
            assert_eq!(d.next_frame().unwrap().unwrap(), channel(0x4000, b"ok"));
            assert_eq!(d.next_frame(), Err(err));
            assert_eq!(d.next_frame(), Err(err), "sticky");
            assert_eq!(d.push(&stun(1, "")), 0);
            assert!(!err.to_string().is_empty());
        }
        let mut m = stun(1, "x");
        m[3] = 5;
        let mut d = StreamDeframer::default();
        d.push(&m);
        assert_eq!(d.next_frame(), Err(DeframeError::BadStunLength(5)));
    }

    /// Random messages in random chunks (fixed seeds) come out whole and in order, and each
    /// STUN frame parses.
    #[test]
    fn random_streams_in_random_chunks() {
        let mut rng = SeededRandom::new(0x7cb5_11aa);
        for _ in 0..300 {
            let mut frames = Vec::new();
            for _ in 0..(rng.next_u64() % 20) {
                if rng.next_u64() % 2 == 0 {
                    let len = (rng.next_u64() % 300) as usize;
                    let mut data = vec![0u8; len];
                    rng.fill(&mut data);
                    frames.push(channel(0x4000 + (rng.next_u64() % 0x1000) as u16, &data));
                } else {
                    let name = "s".repeat((rng.next_u64() % 40) as usize);
                    frames.push(stun(rng.next_u64() as u8, &name));
                }
            }
            let stream = frames.concat();
            let mut chunks = Vec::new();
            let mut i = 0;
            while i < stream.len() {
                let n = 1 + (rng.next_u64() % 700) as usize;
                let end = (i + n).min(stream.len());
                chunks.push(&stream[i..end]);
                i = end;
            }
            let mut d = StreamDeframer::new(1 + (rng.next_u64() % 4096) as usize);
            let got = run(&mut d, &chunks).unwrap();
            assert_eq!(got, frames);
            for f in got.iter().filter(|f| f[0] < 4) {
                assert!(Message::parse(f).is_ok());
            }
        }
    }
}
