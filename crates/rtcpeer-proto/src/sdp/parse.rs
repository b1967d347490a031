//! The SDP parser (RFC 8866 §9 grammar, with the attribute grammars of the RFCs cited on
//! [`Attribute`]'s variants).
//!
//! Liberal in what it reads, as the browsers are with what real stacks send: only the lines
//! RFC 8866 makes mandatory (`v= o= s= t= m=`, a well-formed `c=`) and the bounds are errors.
//! Unknown attributes and line types are kept verbatim, in order; a known attribute whose
//! value does not parse is kept verbatim as [`Attribute::Other`] (so JSEP code that needs it
//! finds it missing and says so at apply time); a malformed `b=` is skipped; blank lines,
//! spaces around lines and runs of spaces between fields are accepted. Typed values stay
//! strict where a mistake would change meaning (numbers, payload types, ports). The writer
//! (`write.rs`) is strict: canonical forms, RFC 8866 §5 order, CRLF.
//!
//! Bounds: at most [`MAX_SDP_BYTES`] bytes, [`MAX_SDP_LINES`] lines and
//! [`MAX_MEDIA_SECTIONS`] media sections; anything larger is a [`ParseError`].

use std::fmt;
use std::str::FromStr;

use super::{
    Attribute, Bandwidth, Candidate, Connection, Direction, Media, Origin, RidDirection, Sdp,
    Setup, Simulcast, SimulcastRid,
};

/// The largest description `Sdp::parse` accepts, in bytes (1 MiB).
pub const MAX_SDP_BYTES: usize = 1 << 20;
/// The most lines [`Sdp::parse`] accepts.
pub const MAX_SDP_LINES: usize = 65_536;
/// The most `m=` sections [`Sdp::parse`] accepts.
pub const MAX_MEDIA_SECTIONS: usize = 1024;

/// Why a session description (or one attribute or candidate) did not parse.
///
/// `line` is the 1-based line of the description; it is 0 when a single value was parsed on
/// its own ([`Attribute::parse`], [`Candidate::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    line: usize,
    message: String,
}

impl ParseError {
    /// A parse error at a 1-based line (0: not part of a description).
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }

    /// The 1-based line number where parsing failed (0 for a standalone value).
    pub fn line(&self) -> usize {
        self.line
    }

    /// What was wrong, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `RTCError` that `setRemoteDescription` rejects with for unparseable SDP: an
    /// `OperationError` with `errorDetail` "sdp-syntax-error" and the line (W3C webrtc-pc
    /// §4.4.1.6, WPT-93).
    pub fn into_rtc_error(self) -> crate::Error {
        let line = (self.line > 0).then_some(self.line);
        crate::Error::rtc(
            crate::ErrorDetail::SdpSyntaxError { line },
            format!("invalid SDP: {self}"),
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for crate::Error {
    /// An SDP that does not parse is a `SyntaxError` (W3C webrtc-pc §4.4.1.5); the message
    /// carries the line number.
    fn from(e: ParseError) -> Self {
        crate::Error::syntax(format!("invalid SDP: {e}"))
    }
}

type Res<T> = Result<T, String>;

impl Sdp {
    /// Parses a session description (RFC 8866 §9), liberal in what it accepts as real stacks
    /// write it (RFC 9429 §5.8 leaves unknown attributes to be ignored): CRLF or LF line
    /// endings, the last line without one, blank lines and leading/trailing spaces or tabs
    /// around a line, runs of spaces between fields, and an attribute whose value does not
    /// parse (kept verbatim as [`Attribute::Other`], so it round-trips and JSEP code that
    /// needs it reports it missing). Only the mandatory lines (`v= o= s= t= m= c=`) and the
    /// size bounds are errors.
    pub fn parse(text: &str) -> Result<Sdp, ParseError> {
        if text.len() > MAX_SDP_BYTES {
            return Err(ParseError::new(
                1,
                format!(
                    "description is {} bytes, more than the limit of {MAX_SDP_BYTES}",
                    text.len()
                ),
            ));
        }
        if text.trim_matches(is_blank).is_empty() {
            return Err(ParseError::new(1, "empty description, expected \"v=0\""));
        }
        let mut parser = Parser::default();
        let mut last = 0;
        // The final line break ends the last line; it does not start one more.
        let body = text.trim_end_matches(['\r', '\n']);
        for (i, raw) in body.split('\n').enumerate() {
            let count = i + 1;
            if count > MAX_SDP_LINES {
                return Err(ParseError::new(
                    count,
                    format!("more than {MAX_SDP_LINES} lines"),
                ));
            }
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = line.trim_matches(|c| c == ' ' || c == '\t');
            if trimmed.is_empty() {
                continue;
            }
            last = count;
            parser
                .line(trimmed, line)
                .map_err(|m| ParseError::new(count, m))?;
        }
        parser.finish().map_err(|m| ParseError::new(last, m))
    }
}

/// Whitespace a description may carry around its lines: space, tab, CR, LF.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl FromStr for Sdp {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sdp::parse(s)
    }
}

#[derive(Default)]
enum State {
    #[default]
    ExpectVersion,
    ExpectOrigin,
    ExpectSessionName,
    Session,
    Media,
}

#[derive(Default)]
struct Parser {
    state: State,
    origin: Option<Origin>,
    session_name: String,
    extra_lines: Vec<(char, String)>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timing: Vec<(u64, u64)>,
    attributes: Vec<Attribute>,
    media: Vec<Media>,
}

impl Parser {
    /// One line, trimmed of spaces around it; `raw` is the untrimmed line (only `s=` keeps
    /// its value as written: RFC 8866 §5.3 recommends `s= ` for "no name").
    fn line(&mut self, line: &str, raw: &str) -> Res<()> {
        let (kind, value) = split_line(line)?;
        match self.state {
            State::ExpectVersion => {
                if kind != 'v' {
                    return Err("the description must start with \"v=0\"".into());
                }
                if value != "0" {
                    return Err(format!(
                        "unsupported version \"v={value}\", expected \"v=0\""
                    ));
                }
                self.state = State::ExpectOrigin;
            }
            State::ExpectOrigin => {
                if kind != 'o' {
                    return Err(format!(
                        "expected the \"o=\" line after \"v=\", found \"{kind}=\""
                    ));
                }
                self.origin = Some(parse_origin(value)?);
                self.state = State::ExpectSessionName;
            }
            State::ExpectSessionName => {
                if kind != 's' {
                    return Err(format!(
                        "expected the \"s=\" line after \"o=\", found \"{kind}=\""
                    ));
                }
                // Kept as written, so `s= ` (RFC 8866 §5.3: no name) round-trips.
                let written = raw
                    .trim_start_matches([' ', '\t'])
                    .get(2..)
                    .unwrap_or(value);
                self.session_name = written.to_string();
                self.state = State::Session;
            }
            State::Session => match kind {
                'v' | 'o' | 's' => return Err(format!("duplicate \"{kind}=\" line")),
                'c' => {
                    if self.connection.is_some() {
                        return Err("duplicate session-level \"c=\" line".into());
                    }
                    self.connection = Some(parse_connection(value)?);
                }
                // A malformed b= is skipped: bandwidth is advisory (RFC 8866 §5.8).
                'b' => self.bandwidths.extend(parse_bandwidth(value).ok()),
                't' => self.timing.push(parse_timing(value)?),
                'a' => self.attributes.extend(parse_attribute_lenient(value)),
                'm' => {
                    if self.timing.is_empty() {
                        return Err("missing \"t=\" line before the first \"m=\" line".into());
                    }
                    self.media.push(parse_media(value)?);
                    self.state = State::Media;
                }
                other => self.extra_lines.push((other, value.to_string())),
            },
            State::Media => {
                if kind == 'm' {
                    if self.media.len() >= MAX_MEDIA_SECTIONS {
                        return Err(format!("more than {MAX_MEDIA_SECTIONS} media sections"));
                    }
                    self.media.push(parse_media(value)?);
                    return Ok(());
                }
                let Some(m) = self.media.last_mut() else {
                    return Err("internal: media state without a media section".into());
                };
                match kind {
                    'v' | 'o' | 's' | 't' => {
                        return Err(format!(
                            "\"{kind}=\" line is not allowed in a media section"
                        ));
                    }
                    'c' => {
                        if m.connection.is_some() {
                            return Err("duplicate media-level \"c=\" line".into());
                        }
                        m.connection = Some(parse_connection(value)?);
                    }
                    'b' => m.bandwidths.extend(parse_bandwidth(value).ok()),
                    'a' => m.attributes.extend(parse_attribute_lenient(value)),
                    other => m.extra_lines.push((other, value.to_string())),
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Res<Sdp> {
        // RFC 8866 §5 order for lines read out of it (see `is_late_line`).
        self.extra_lines
            .sort_by_key(|(t, _)| super::is_late_line(*t));
        for m in &mut self.media {
            m.extra_lines.sort_by_key(|(t, _)| super::is_late_line(*t));
        }
        match self.state {
            State::ExpectVersion => return Err("the description must start with \"v=0\"".into()),
            State::ExpectOrigin => return Err("missing \"o=\" line".into()),
            State::ExpectSessionName => return Err("missing \"s=\" line".into()),
            State::Session | State::Media => {}
        }
        if self.timing.is_empty() {
            return Err("missing \"t=\" line".into());
        }
        let Some(origin) = self.origin else {
            return Err("missing \"o=\" line".into());
        };
        Ok(Sdp {
            origin,
            session_name: self.session_name,
            extra_lines: self.extra_lines,
            connection: self.connection,
            bandwidths: self.bandwidths,
            timing: self.timing,
            attributes: self.attributes,
            media: self.media,
        })
    }
}

/// Splits `<type>=<value>`: the type is one lowercase letter (RFC 8866 §5).
fn split_line(line: &str) -> Res<(char, &str)> {
    let bytes = line.as_bytes();
    if line.is_empty() {
        return Err("empty line".into());
    }
    if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
        return Err(format!(
            "not an SDP line (expected <letter>=<value>): \"{}\"",
            excerpt(line)
        ));
    }
    if line.contains(['\r', '\0']) {
        return Err("carriage return or NUL inside a line".into());
    }
    let value = line.get(2..).unwrap_or("");
    Ok((char::from(bytes[0]), value))
}

/// The first 40 characters of `s`, for error messages.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Splits on runs of spaces or tabs (RFC 8866 §9 says one SP, but stacks and hand-edited
/// descriptions write more; every parser we interoperate with accepts them).
fn fields<'a>(s: &'a str, what: &str) -> Res<Vec<&'a str>> {
    let v: Vec<&str> = s.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    if v.is_empty() {
        return Err(format!("{what}: empty value"));
    }
    Ok(v)
}

/// A decimal number: ASCII digits only (no sign), no overflow.
fn num<T: FromStr>(s: &str, what: &str) -> Res<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what}: \"{}\" is not a number", excerpt(s)));
    }
    s.parse()
        .map_err(|_| format!("{what}: {} is out of range", excerpt(s)))
}

/// An RTP payload type, 0–127 (RFC 3550 §5.1).
fn payload_type(s: &str, what: &str) -> Res<u8> {
    let pt: u16 = num(s, what)?;
    if pt > 127 {
        return Err(format!("{what}: payload type {pt} is out of range 0-127"));
    }
    Ok(pt as u8)
}

/// RFC 8866 §9 `token-char`.
fn is_token_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
}

fn token<'a>(s: &'a str, what: &str) -> Res<&'a str> {
    if s.is_empty() || !s.bytes().all(is_token_char) {
        return Err(format!("{what}: \"{}\" is not a token", excerpt(s)));
    }
    Ok(s)
}

/// A non-empty value without whitespace (identifiers that browsers do not restrict further).
fn word<'a>(s: &'a str, what: &str) -> Res<&'a str> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err(format!(
            "{what}: \"{}\" must be non-empty without spaces",
            excerpt(s)
        ));
    }
    Ok(s)
}

/// RFC 8839 §5.1 `ice-char`: ALPHA / DIGIT / "+" / "/".
fn ice_chars<'a>(s: &'a str, what: &str) -> Res<&'a str> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return Err(format!(
            "{what}: \"{}\" is not made of ice-chars",
            excerpt(s)
        ));
    }
    Ok(s)
}

/// RFC 8851 §10 `rid-id`: 1*(alpha-numeric / "-" / "_").
fn rid_id<'a>(s: &'a str, what: &str) -> Res<&'a str> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{what}: \"{}\" is not a valid rid", excerpt(s)));
    }
    Ok(s)
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2).
fn parse_origin(v: &str) -> Res<Origin> {
    let f = fields(v, "o=")?;
    let [username, sid, ver, net_type, addr_type, address] = f.as_slice() else {
        return Err(format!("o=: expected 6 fields, found {}", f.len()));
    };
    Ok(Origin {
        username: username.to_string(),
        session_id: num(sid, "o= sess-id")?,
        session_version: num(ver, "o= sess-version")?,
        net_type: token(net_type, "o= nettype")?.to_string(),
        addr_type: token(addr_type, "o= addrtype")?.to_string(),
        address: address.to_string(),
    })
}

/// `c=<nettype> <addrtype> <connection-address>` (§5.7).
fn parse_connection(v: &str) -> Res<Connection> {
    let f = fields(v, "c=")?;
    let [net_type, addr_type, address] = f.as_slice() else {
        return Err(format!("c=: expected 3 fields, found {}", f.len()));
    };
    Ok(Connection {
        net_type: token(net_type, "c= nettype")?.to_string(),
        addr_type: token(addr_type, "c= addrtype")?.to_string(),
        address: address.to_string(),
    })
}

/// `b=<bwtype>:<bandwidth>` (§5.8).
fn parse_bandwidth(v: &str) -> Res<Bandwidth> {
    let Some((t, n)) = v.split_once(':') else {
        return Err(format!(
            "b=: expected <bwtype>:<bandwidth>, found \"{}\"",
            excerpt(v)
        ));
    };
    Ok(Bandwidth {
        bw_type: token(t, "b= bwtype")?.to_string(),
        bandwidth: num(n, "b= bandwidth")?,
    })
}

/// `t=<start-time> <stop-time>` (§5.9).
fn parse_timing(v: &str) -> Res<(u64, u64)> {
    let f = fields(v, "t=")?;
    let [start, stop] = f.as_slice() else {
        return Err(format!("t=: expected 2 fields, found {}", f.len()));
    };
    Ok((num(start, "t= start-time")?, num(stop, "t= stop-time")?))
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (§5.14).
fn parse_media(v: &str) -> Res<Media> {
    let f = fields(v, "m=")?;
    let [kind, port, proto, formats @ ..] = f.as_slice() else {
        return Err(format!("m=: expected at least 4 fields, found {}", f.len()));
    };
    if formats.is_empty() {
        return Err("m=: no formats".into());
    }
    let (port, num_ports) = match port.split_once('/') {
        Some((p, n)) => (num(p, "m= port")?, Some(num(n, "m= number of ports")?)),
        None => (num(port, "m= port")?, None),
    };
    Ok(Media {
        kind: token(kind, "m= media")?.to_string(),
        port,
        num_ports,
        proto: word(proto, "m= proto")?.to_string(),
        formats: formats
            .iter()
            .map(|f| token(f, "m= fmt").map(str::to_string))
            .collect::<Res<_>>()?,
        extra_lines: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    })
}

impl Attribute {
    /// Parses the text after `a=` (RFC 8866 §5.13), e.g. `rtpmap:111 opus/48000/2`, strictly:
    /// a value that does not parse is an error here (in a description it is kept as
    /// [`Attribute::Other`]). Errors carry line 0.
    pub fn parse(value: &str) -> Result<Attribute, ParseError> {
        no_line_breaks(value)?;
        // Trailing spaces are not part of the value, as in a description's lines.
        let value = value.trim_end_matches([' ', '\t']);
        parse_attribute(value).map_err(|m| ParseError::new(0, m))
    }
}

impl FromStr for Attribute {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Attribute::parse(s)
    }
}

impl Candidate {
    /// Parses an ICE candidate (RFC 8839 §5.1), with or without the `candidate:` prefix (as
    /// `RTCIceCandidate.candidate` carries it). Errors carry line 0.
    pub fn parse(s: &str) -> Result<Candidate, ParseError> {
        no_line_breaks(s)?;
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        parse_candidate(s).map_err(|m| ParseError::new(0, m))
    }
}

impl FromStr for Candidate {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Candidate::parse(s)
    }
}

/// A standalone value must not smuggle extra lines into a description (RFC 8866 §9 `text`).
fn no_line_breaks(s: &str) -> Result<(), ParseError> {
    if s.contains(['\r', '\n', '\0']) {
        return Err(ParseError::new(
            0,
            "line break or NUL inside a single value",
        ));
    }
    Ok(())
}

/// A flag attribute (no value allowed).
fn flag(value: Option<&str>, attr: Attribute, name: &str) -> Res<Attribute> {
    match value {
        None => Ok(attr),
        Some(_) => Err(format!("a={name} takes no value")),
    }
}

/// An `a=` line inside a description: the typed attribute when its value parses, else the
/// line kept verbatim as [`Attribute::Other`] (RFC 8866 §5.13: an attribute a receiver does
/// not understand is ignored, not fatal); `None` (the line is dropped) when even the name is
/// not a token, since such a line could not be written back as an attribute.
fn parse_attribute_lenient(text: &str) -> Option<Attribute> {
    let (name, value) = match text.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    token(name, "a= attribute name").ok()?;
    Some(parse_attribute(text).unwrap_or_else(|_| Attribute::Other {
        name: name.to_string(),
        value: value.map(str::to_string),
    }))
}

/// `a=<attribute-name>[:<attribute-value>]` (RFC 8866 §5.13), strictly typed.
fn parse_attribute(text: &str) -> Res<Attribute> {
    let (name, value) = match text.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    token(name, "a= attribute name")?;
    let need = |what: &str| -> Res<&str> { value.ok_or_else(|| format!("a={what} needs a value")) };
    Ok(match name {
        "group" => {
            let v = need(name)?;
            let f = fields(v, "a=group")?;
            let [semantics, mids @ ..] = f.as_slice() else {
                return Err("a=group: missing semantics".into());
            };
            Attribute::Group {
                semantics: token(semantics, "a=group semantics")?.to_string(),
                mids: mids
                    .iter()
                    .map(|m| word(m, "a=group mid").map(str::to_string))
                    .collect::<Res<_>>()?,
            }
        }
        "mid" => Attribute::Mid(word(need(name)?, "a=mid")?.to_string()),
        "bundle-only" => flag(value, Attribute::BundleOnly, name)?,
        "msid" => {
            let f = fields(need(name)?, "a=msid")?;
            match f.as_slice() {
                [stream] => Attribute::Msid {
                    stream: stream.to_string(),
                    track: None,
                },
                [stream, track] => Attribute::Msid {
                    stream: stream.to_string(),
                    track: Some(track.to_string()),
                },
                _ => return Err(format!("a=msid: expected 1 or 2 fields, found {}", f.len())),
            }
        }
        "sendrecv" => flag(value, Attribute::Direction(Direction::SendRecv), name)?,
        "sendonly" => flag(value, Attribute::Direction(Direction::SendOnly), name)?,
        "recvonly" => flag(value, Attribute::Direction(Direction::RecvOnly), name)?,
        "inactive" => flag(value, Attribute::Direction(Direction::Inactive), name)?,
        "ice-ufrag" => Attribute::IceUfrag(ice_chars(need(name)?, "a=ice-ufrag")?.to_string()),
        "ice-pwd" => Attribute::IcePwd(ice_chars(need(name)?, "a=ice-pwd")?.to_string()),
        // RFC 8839 §5.6 separates options by SP; libdatachannel writes `ice2,trickle`, which
        // Chromium, Firefox, aiortc and GStreamer read as two options, and so do we.
        "ice-options" => {
            let opts: Vec<String> = need(name)?
                .split([' ', '\t', ','])
                .filter(|o| !o.is_empty())
                .map(|o| token(o, "a=ice-options").map(str::to_string))
                .collect::<Res<_>>()?;
            if opts.is_empty() {
                return Err("a=ice-options: no option".into());
            }
            Attribute::IceOptions(opts)
        }
        "ice-lite" => flag(value, Attribute::IceLite, name)?,
        "candidate" => Attribute::Candidate(parse_candidate(need(name)?)?),
        "end-of-candidates" => flag(value, Attribute::EndOfCandidates, name)?,
        "fingerprint" => {
            let f = fields(need(name)?, "a=fingerprint")?;
            let [algorithm, fp] = f.as_slice() else {
                return Err(format!(
                    "a=fingerprint: expected 2 fields, found {}",
                    f.len()
                ));
            };
            // RFC 8122 §5: 2UHEX *(":" 2UHEX); lowercase hex is accepted too.
            let ok = fp
                .split(':')
                .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                return Err(format!(
                    "a=fingerprint: \"{}\" is not hex pairs",
                    excerpt(fp)
                ));
            }
            Attribute::Fingerprint {
                algorithm: token(algorithm, "a=fingerprint hash")?.to_string(),
                value: fp.to_string(),
            }
        }
        // RFC 8827 §5: identity-assertion (base64) [SP identity-extension *(";" [SP] ...)].
        "identity" => {
            let v = need(name)?;
            let (assertion, extensions) = match v.split_once(' ') {
                Some((a, e)) => (a, Some(e.to_string())),
                None => (v, None),
            };
            if !super::identity::is_base64(assertion) {
                return Err(format!(
                    "a=identity: \"{}\" is not base64",
                    excerpt(assertion)
                ));
            }
            Attribute::Identity {
                assertion: assertion.to_string(),
                extensions,
            }
        }
        "setup" => {
            let v = need(name)?;
            // RFC 4145 §4 role tokens are case-insensitive ABNF strings.
            Attribute::Setup(
                v.to_ascii_lowercase()
                    .parse::<Setup>()
                    .map_err(|_| format!("a=setup: unknown role \"{}\"", excerpt(v)))?,
            )
        }
        "rtcp" => {
            // RFC 3605 §2.1: rtcp-attribute = "a=rtcp:" port [nettype space addrtype space
            // connection-address].
            let v = need(name)?.trim_start_matches([' ', '\t']);
            let (port, rest) = match v.split_once([' ', '\t']) {
                Some((p, r)) => (p, Some(r)),
                None => (v, None),
            };
            Attribute::Rtcp {
                port: num(port, "a=rtcp port")?,
                connection: rest
                    .filter(|r| !r.trim().is_empty())
                    .map(parse_connection)
                    .transpose()?,
            }
        }
        "rtcp-mux" => flag(value, Attribute::RtcpMux, name)?,
        "rtcp-mux-only" => flag(value, Attribute::RtcpMuxOnly, name)?,
        "rtcp-rsize" => flag(value, Attribute::RtcpRsize, name)?,
        "rtpmap" => parse_rtpmap(need(name)?)?,
        "fmtp" => {
            let v = need(name)?;
            let Some((pt, params)) = v.split_once(' ') else {
                return Err("a=fmtp: expected <payload type> <parameters>".into());
            };
            Attribute::Fmtp {
                payload_type: payload_type(pt, "a=fmtp")?,
                params: params.to_string(),
            }
        }
        "rtcp-fb" => {
            let v = need(name)?;
            let Some((pt, rest)) = v.split_once(' ') else {
                return Err("a=rtcp-fb: expected <payload type> <type>".into());
            };
            let payload_type = match pt {
                "*" => None,
                pt => Some(payload_type(pt, "a=rtcp-fb")?),
            };
            let (fb_type, param) = match rest.split_once(' ') {
                Some((t, p)) => (t, Some(p)),
                None => (rest, None),
            };
            if param == Some("") {
                return Err("a=rtcp-fb: empty parameter".into());
            }
            Attribute::RtcpFb {
                payload_type,
                fb_type: token(fb_type, "a=rtcp-fb type")?.to_string(),
                param: param.map(str::to_string),
            }
        }
        "extmap" => parse_extmap(need(name)?)?,
        "extmap-allow-mixed" => flag(value, Attribute::ExtmapAllowMixed, name)?,
        "ssrc" => {
            let v = need(name)?;
            let Some((ssrc, rest)) = v.split_once(' ') else {
                return Err("a=ssrc: expected <ssrc> <attribute>[:<value>]".into());
            };
            let (attribute, value) = match rest.split_once(':') {
                Some((a, v)) => (a, Some(v)),
                None => (rest, None),
            };
            Attribute::Ssrc {
                ssrc: num(ssrc, "a=ssrc")?,
                attribute: token(attribute, "a=ssrc attribute")?.to_string(),
                value: value.map(str::to_string),
            }
        }
        "ssrc-group" => {
            let f = fields(need(name)?, "a=ssrc-group")?;
            let [semantics, ssrcs @ ..] = f.as_slice() else {
                return Err("a=ssrc-group: missing semantics".into());
            };
            Attribute::SsrcGroup {
                semantics: token(semantics, "a=ssrc-group semantics")?.to_string(),
                ssrcs: ssrcs
                    .iter()
                    .map(|s| num(s, "a=ssrc-group ssrc"))
                    .collect::<Res<_>>()?,
            }
        }
        "rid" => {
            let v = need(name)?;
            let (id, rest) = v
                .split_once(' ')
                .ok_or("a=rid: expected <rid> <send|recv> [<params>]")?;
            let (dir, params) = match rest.split_once(' ') {
                Some((d, p)) => (d, Some(p)),
                None => (rest, None),
            };
            if params == Some("") {
                return Err("a=rid: empty parameters".into());
            }
            Attribute::Rid {
                id: rid_id(id, "a=rid")?.to_string(),
                direction: dir.parse::<RidDirection>().map_err(|_| {
                    format!("a=rid: direction \"{}\" is not send or recv", excerpt(dir))
                })?,
                params: params.map(str::to_string),
            }
        }
        "simulcast" => Attribute::Simulcast(parse_simulcast(need(name)?)?),
        "sctp-port" => Attribute::SctpPort(num(need(name)?, "a=sctp-port")?),
        "max-message-size" => Attribute::MaxMessageSize(num(need(name)?, "a=max-message-size")?),
        _ => Attribute::Other {
            name: name.to_string(),
            value: value.map(str::to_string),
        },
    })
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (§6.6).
fn parse_rtpmap(v: &str) -> Res<Attribute> {
    let Some((pt, enc)) = v.split_once(' ') else {
        return Err("a=rtpmap: expected <payload type> <encoding>/<clock rate>".into());
    };
    let parts: Vec<&str> = enc.split('/').collect();
    let (encoding, clock, channels) = match parts.as_slice() {
        [e, c] => (*e, *c, None),
        [e, c, ch] => (*e, *c, Some(num(ch, "a=rtpmap channels")?)),
        _ => {
            return Err(format!(
                "a=rtpmap: expected <encoding>/<clock rate>[/<channels>], found \"{}\"",
                excerpt(enc)
            ));
        }
    };
    Ok(Attribute::Rtpmap {
        payload_type: payload_type(pt, "a=rtpmap")?,
        encoding: token(encoding, "a=rtpmap encoding")?.to_string(),
        clock_rate: num(clock, "a=rtpmap clock rate")?,
        channels,
    })
}

/// `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285 §8).
fn parse_extmap(v: &str) -> Res<Attribute> {
    let Some((id_dir, rest)) = v.split_once(' ') else {
        return Err("a=extmap: expected <id>[/<direction>] <uri>".into());
    };
    let (id, direction) = match id_dir.split_once('/') {
        Some((id, d)) => (
            id,
            Some(
                d.parse::<Direction>()
                    .map_err(|_| format!("a=extmap: unknown direction \"{}\"", excerpt(d)))?,
            ),
        ),
        None => (id_dir, None),
    };
    let (uri, attributes) = match rest.split_once(' ') {
        Some((u, a)) => (u, Some(a)),
        None => (rest, None),
    };
    if attributes == Some("") {
        return Err("a=extmap: empty extension attributes".into());
    }
    Ok(Attribute::Extmap {
        id: num(id, "a=extmap id")?,
        direction,
        uri: word(uri, "a=extmap uri")?.to_string(),
        attributes: attributes.map(str::to_string),
    })
}

/// `a=simulcast:<dir> <streams> [<dir> <streams>]` (RFC 8853 §5.1).
fn parse_simulcast(v: &str) -> Res<Simulcast> {
    let f = fields(v, "a=simulcast")?;
    let pairs: &[&str] = match f.as_slice() {
        s @ ([_, _] | [_, _, _, _]) => s,
        _ => {
            return Err(format!(
                "a=simulcast: expected 2 or 4 fields, found {}",
                f.len()
            ));
        }
    };
    let mut sim = Simulcast::default();
    let mut seen_send = false;
    let mut seen_recv = false;
    for (i, pair) in pairs.chunks_exact(2).enumerate() {
        let [dir, list] = pair else {
            return Err("a=simulcast: expected <direction> <streams>".into());
        };
        let streams = list
            .split(';')
            .map(|stream| {
                stream
                    .split(',')
                    .map(|alt| {
                        let (paused, rid) = match alt.strip_prefix('~') {
                            Some(r) => (true, r),
                            None => (false, alt),
                        };
                        Ok(SimulcastRid {
                            rid: rid_id(rid, "a=simulcast rid")?.to_string(),
                            paused,
                        })
                    })
                    .collect::<Res<Vec<_>>>()
            })
            .collect::<Res<Vec<_>>>()?;
        match *dir {
            "send" if !seen_send => {
                seen_send = true;
                sim.send = streams;
            }
            "recv" if !seen_recv => {
                seen_recv = true;
                sim.recv = streams;
                sim.recv_first = i == 0;
            }
            d => {
                return Err(format!(
                    "a=simulcast: unexpected direction \"{}\" (send and recv, once each)",
                    excerpt(d)
                ));
            }
        }
    }
    Ok(sim)
}

/// The candidate after `candidate:` (RFC 8839 §5.1; `tcptype` RFC 6544 §4.5).
///
/// Liberal as Chromium's and Firefox's parsers are: keywords (`typ`, `raddr`, `rport`,
/// `tcptype`) and the candidate type are case-insensitive (ABNF strings, RFC 5234 §2.3),
/// the type is stored in lowercase, `raddr`/`rport` may appear anywhere among the
/// extensions, a repeated keyword keeps its first value, and a lone trailing extension name
/// without a value is ignored. Numbers (component, priority, ports) stay strict: a wrong one
/// would change which address is used.
fn parse_candidate(v: &str) -> Res<Candidate> {
    let mut f = fields(v, "candidate")?;
    // `candidate: 1 udp ...`: an empty foundation, as Google's ice-lite media servers write
    // it (and Chromium accepts); kept empty so the line is written back as it was.
    if v.starts_with([' ', '\t']) {
        f.insert(0, "");
    }
    let [
        foundation,
        component,
        protocol,
        priority,
        address,
        port,
        typ_kw,
        typ,
        rest @ ..,
    ] = f.as_slice()
    else {
        return Err(format!(
            "candidate: expected at least 8 fields, found {}",
            f.len()
        ));
    };
    if foundation.len() > 32 {
        return Err("candidate: foundation longer than 32 characters".into());
    }
    if !typ_kw.eq_ignore_ascii_case("typ") {
        return Err(format!(
            "candidate: expected \"typ\", found \"{}\"",
            excerpt(typ_kw)
        ));
    }
    let typ = token(typ, "candidate type")?;
    let typ = if ["host", "srflx", "prflx", "relay"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(typ))
    {
        typ.to_ascii_lowercase()
    } else {
        typ.to_string()
    };
    let mut c = Candidate {
        foundation: if foundation.is_empty() {
            String::new()
        } else {
            ice_chars(foundation, "candidate foundation")?.to_string()
        },
        component: num(component, "candidate component-id")?,
        protocol: token(protocol, "candidate transport")?.to_string(),
        priority: num(priority, "candidate priority")?,
        address: address.to_string(),
        port: num(port, "candidate port")?,
        typ,
        related_address: None,
        related_port: None,
        tcp_type: None,
        extensions: Vec::new(),
    };
    for pair in rest.chunks_exact(2) {
        let [name, value] = pair else {
            continue;
        };
        if name.eq_ignore_ascii_case("raddr") {
            if c.related_address.is_none() {
                c.related_address = Some(value.to_string());
            }
        } else if name.eq_ignore_ascii_case("rport") {
            let p = num(value, "candidate rport")?;
            c.related_port.get_or_insert(p);
        } else if name.eq_ignore_ascii_case("tcptype") {
            if c.tcp_type.is_none() {
                c.tcp_type = Some(value.to_ascii_lowercase());
            }
        } else if let Ok(name) = token(name, "candidate extension name") {
            c.extensions.push((name.to_string(), value.to_string()));
        }
    }
    Ok(c)
}
