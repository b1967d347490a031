//! Reading what the other side sent us on stdin, which may be anything: bounded lines (never
//! more than a limit held in memory, whatever the input) and one JSON description found
//! incrementally (each byte looked at once), parsed a single time when complete.

use rtcpeer::{Error, Result, SessionDescription};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Largest JSON description accepted on stdin: twice the SDP size limit of the library
/// (1 MiB, `rtcpeer::MAX_SDP_BYTES`), room for JSON's escaping of CR LF and quotes.
pub const MAX_DESCRIPTION_JSON: usize = 2 * rtcpeer::MAX_SDP_BYTES + 1024;

/// Deepest JSON nesting accepted in a description (`RTCSessionDescriptionInit` is flat; the
/// margin allows unknown members with small values).
const MAX_JSON_DEPTH: usize = 32;

/// One line read by [`BoundedLines`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line, without its `\n` (or `\r\n`).
    Text(Vec<u8>),
    /// The line was longer than the limit: what was read of it is dropped, and the rest is
    /// skipped by the next call.
    TooLong,
    /// End of input.
    End,
}

/// Lines of at most a given length from a buffered reader, holding at most that much.
/// Cancel-safe: a partial line lives in the value between calls, so a `select!` may drop
/// the future of [`BoundedLines::next_line`] at any await.
pub struct BoundedLines<R> {
    reader: R,
    partial: Vec<u8>,
    /// Inside a line that was too long: drop bytes up to its end.
    skipping: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines of `reader`.
    pub fn new(reader: R) -> Self {
        BoundedLines {
            reader,
            partial: Vec::new(),
            skipping: false,
        }
    }

    /// The next line, if it is at most `max` bytes long; each byte of input is looked at once.
    pub async fn next_line(&mut self, max: usize) -> Result<Line> {
        loop {
            let buf = self
                .reader
                .fill_buf()
                .await
                .map_err(|e| Error::operation(format!("stdin: {e}")))?;
            if buf.is_empty() {
                if self.skipping || self.partial.is_empty() {
                    self.skipping = false;
                    return Ok(Line::End);
                }
                return Ok(Line::Text(std::mem::take(&mut self.partial)));
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let take = newline.map_or(buf.len(), |i| i + 1);
            if self.skipping {
                self.reader.consume(take);
                if newline.is_some() {
                    self.skipping = false;
                }
                continue;
            }
            let body = newline.unwrap_or(buf.len());
            if self.partial.len() + body > max {
                self.partial = Vec::new();
                self.reader.consume(take);
                self.skipping = newline.is_none();
                return Ok(Line::TooLong);
            }
            self.partial.extend_from_slice(&buf[..body]);
            self.reader.consume(take);
            if newline.is_some() {
                if self.partial.last() == Some(&b'\r') {
                    self.partial.pop();
                }
                return Ok(Line::Text(std::mem::take(&mut self.partial)));
            }
        }
    }
}

/// Finds where one JSON object ends, a byte at a time: nesting depth outside strings, and
/// string/escape state. It does not validate: serde does that once the object is complete.
#[derive(Debug, Default)]
struct ObjectScanner {
    depth: usize,
    started: bool,
    in_string: bool,
    escaped: bool,
}

impl ObjectScanner {
    /// Feeds `b`: `Ok(true)` when it closes the object.
    fn feed(&mut self, b: u8) -> Result<bool> {
        if !self.started {
            if b.is_ascii_whitespace() {
                return Ok(false);
            }
            if b != b'{' {
                return Err(Error::type_error(
                    "stdin does not hold a JSON description (it must start with '{')",
                ));
            }
            self.started = true;
        }
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return Ok(false);
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_JSON_DEPTH {
                    return Err(Error::type_error(format!(
                        "the JSON on stdin nests deeper than {MAX_JSON_DEPTH}"
                    )));
                }
            }
            b'}' | b']' => {
                self.depth -= 1;
                return Ok(self.depth == 0);
            }
            _ => {}
        }
        Ok(false)
    }
}

/// Reads one description (`RTCSessionDescriptionInit` JSON, on one line or several as
/// pasted): blank lines before it are skipped and not kept, at most
/// [`MAX_DESCRIPTION_JSON`] bytes are held, and it is parsed once, when its object closes.
/// Text after the object on its last line is an error; the lines after it are left unread.
pub async fn read_description<R: AsyncBufRead + Unpin>(
    lines: &mut BoundedLines<R>,
) -> Result<SessionDescription> {
    let mut scanner = ObjectScanner::default();
    let mut text: Vec<u8> = Vec::new();
    loop {
        let line = match lines.next_line(MAX_DESCRIPTION_JSON - text.len()).await? {
            Line::Text(l) => l,
            Line::TooLong => {
                return Err(Error::operation(format!(
                    "the description on stdin is longer than {MAX_DESCRIPTION_JSON} bytes"
                )));
            }
            Line::End => return Err(Error::operation("stdin ended before a description")),
        };
        for (i, &b) in line.iter().enumerate() {
            if !scanner.feed(b)? {
                continue;
            }
            if !line[i + 1..].iter().all(u8::is_ascii_whitespace) {
                return Err(Error::type_error(
                    "text after the JSON description on stdin",
                ));
            }
            if text.is_empty() {
                text = line;
            } else {
                text.extend_from_slice(&line);
            }
            let json = std::str::from_utf8(&text)
                .map_err(|_| Error::type_error("the description on stdin is not UTF-8"))?;
            return SessionDescription::from_json(json.trim());
        }
        if scanner.started {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> BoundedLines<&[u8]> {
        BoundedLines::new(input)
    }

    #[tokio::test]
    async fn lines_are_bounded_and_the_rest_of_a_long_one_is_skipped() {
        let mut l = lines(b"ab\r\ncdefgh\nij\nklmnopqrstu");
        assert_eq!(l.next_line(4).await.unwrap(), Line::Text(b"ab".to_vec()));
        assert_eq!(l.next_line(4).await.unwrap(), Line::TooLong);
        assert_eq!(l.next_line(4).await.unwrap(), Line::Text(b"ij".to_vec()));
        assert_eq!(l.next_line(4).await.unwrap(), Line::TooLong);
        assert_eq!(l.next_line(4).await.unwrap(), Line::End);
    }

    #[tokio::test]
    async fn a_description_over_lines_after_blank_ones() {
        let offer = SessionDescription::offer("v=0\r\n").to_json();
        let (a, b) = offer.split_at(offer.find(",").unwrap() + 1);
        let input = format!("\n  \n\n{a}\n{b}\nnext line\n");
        let mut l = lines(input.as_bytes());
        let d = read_description(&mut l).await.unwrap();
        assert_eq!(d.sdp, "v=0\r\n");
        assert_eq!(
            l.next_line(100).await.unwrap(),
            Line::Text(b"next line".to_vec())
        );
    }

    #[tokio::test]
    async fn braces_inside_strings_do_not_end_the_object() {
        let input = br#"{"type":"offer","sdp":"a=x:{}}\"}"}"#;
        let d = read_description(&mut lines(input)).await.unwrap();
        assert_eq!(d.sdp, "a=x:{}}\"}");
    }

    #[tokio::test]
    async fn garbage_is_refused_at_its_first_byte() {
        for input in [
            &b"hello\n"[..],
            b"[[[[",
            b"{\"type\":\"offer\"} x\n",
            b"{\"type\":5}\n",
        ] {
            let e = read_description(&mut lines(input)).await.unwrap_err();
            assert_eq!(e.kind(), rtcpeer::ErrorKind::Type, "{e}");
        }
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        let e = read_description(&mut lines(deep.as_bytes()))
            .await
            .unwrap_err();
        assert!(e.message().contains("deeper"), "{e}");
    }
}
