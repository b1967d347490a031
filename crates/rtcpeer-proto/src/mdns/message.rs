//! The DNS message format as Multicast DNS uses it (RFC 1035 §4.1, RFC 6762 §18): header,
//! questions and resource records, with name compression (RFC 1035 §4.1.4) on parse.
//!
//! [`Message::parse`] validates the whole message once (header, every name, every record's
//! bounds) without allocating; [`Message::questions`] and [`Message::records`] then decode
//! on demand. Names are kept in uncompressed wire form in a fixed 255-byte buffer
//! ([`Name`]), compared ASCII-case-insensitively (RFC 1035 §2.3.3, RFC 6762 §16).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Size of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Largest message this codec parses: the mDNS maximum packet size including IP and UDP
/// headers is 9000 bytes (RFC 6762 §17), so no valid payload is longer.
pub const MAX_MESSAGE_LEN: usize = 9000;
/// Longest name in wire form, length octets and the root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most compression pointers followed while decoding one name; real names need a handful.
pub const MAX_POINTERS: usize = 32;

/// Resource record type A, an IPv4 address (RFC 1035 §3.4.1).
pub const TYPE_A: u16 = 1;
/// Resource record type AAAA, an IPv6 address (RFC 3596 §2.1).
pub const TYPE_AAAA: u16 = 28;
/// Query type ANY (RFC 1035 §3.2.3).
pub const TYPE_ANY: u16 = 255;
/// Class IN (RFC 1035 §3.2.4).
pub const CLASS_IN: u16 = 1;
/// Top bit of a question's class: the querier asks for a unicast response ("QU", RFC 6762
/// §5.4); in a record's class it is the cache-flush bit (RFC 6762 §10.2).
pub const CLASS_TOP_BIT: u16 = 0x8000;

/// Header flag QR: the message is a response (RFC 1035 §4.1.1).
pub const FLAG_RESPONSE: u16 = 0x8000;
/// Header flag AA: authoritative answer; set in every mDNS response (RFC 6762 §18.4).
pub const FLAG_AUTHORITATIVE: u16 = 0x0400;

/// Why a message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than its header or its counts require.
    Truncated,
    /// Longer than [`MAX_MESSAGE_LEN`].
    TooLong,
    /// A label type other than a plain label or a pointer (RFC 1035 §4.1.4, RFC 6891 §5).
    BadLabel,
    /// A name longer than [`MAX_NAME_LEN`] once decompressed.
    NameTooLong,
    /// A compression pointer that does not point strictly backwards, or too many of them.
    BadPointer,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Truncated => "DNS message truncated",
            ParseError::TooLong => "DNS message too long",
            ParseError::BadLabel => "DNS name with an unsupported label type",
            ParseError::NameTooLong => "DNS name longer than 255 bytes",
            ParseError::BadPointer => "DNS name with a bad compression pointer",
        })
    }
}

impl std::error::Error for ParseError {}

/// A domain name in uncompressed wire form (length-prefixed labels ending with the root
/// label), at most [`MAX_NAME_LEN`] bytes, stored inline.
#[derive(Clone, Copy)]
pub struct Name {
    buf: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Name {
    /// The root name (a single zero octet).
    fn root() -> Name {
        Name {
            buf: [0; MAX_NAME_LEN],
            len: 1,
        }
    }

    /// Encodes a dotted name (`a.b.local`, an optional trailing dot). `None` for an empty
    /// label, a label over 63 bytes or a name over 255 bytes in wire form (RFC 1035 §2.3.4).
    pub fn from_dotted(s: &str) -> Option<Name> {
        let s = s.strip_suffix('.').unwrap_or(s);
        if s.is_empty() {
            return None;
        }
        let mut n = Name {
            buf: [0; MAX_NAME_LEN],
            len: 0,
        };
        let mut at = 0usize;
        for label in s.split('.') {
            let l = label.len();
            if l == 0 || l > MAX_LABEL_LEN || at + 1 + l + 1 > MAX_NAME_LEN {
                return None;
            }
            n.buf[at] = l as u8;
            n.buf[at + 1..at + 1 + l].copy_from_slice(label.as_bytes());
            at += 1 + l;
        }
        n.buf[at] = 0;
        n.len = (at + 1) as u8;
        Some(n)
    }

    /// The wire form, root label included.
    pub fn wire(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The labels, outermost last (`["x", "local"]`).
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let w = self.wire();
        let mut at = 0usize;
        std::iter::from_fn(move || {
            let l = *w.get(at)? as usize;
            if l == 0 {
                return None;
            }
            let label = w.get(at + 1..at + 1 + l)?;
            at += 1 + l;
            Some(label)
        })
    }

    /// Whether the last label is `local` (RFC 6762 §3), case-insensitively.
    pub fn is_local(&self) -> bool {
        self.labels()
            .last()
            .is_some_and(|l| l.eq_ignore_ascii_case(b"local"))
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.wire());
    }
}

/// Names compare ASCII-case-insensitively (RFC 1035 §2.3.3). Length octets are below 64, so
/// they never fold.
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.wire().eq_ignore_ascii_case(other.wire())
    }
}

impl Eq for Name {}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for label in self.labels() {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
        }
        if first {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// The fixed header (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Query identifier (zero in multicast messages, RFC 6762 §18.1).
    pub id: u16,
    /// QR, OPCODE, AA, TC, RD, RA, Z, AD, CD and RCODE.
    pub flags: u16,
    /// Number of questions.
    pub qdcount: u16,
    /// Number of answer records.
    pub ancount: u16,
    /// Number of authority records.
    pub nscount: u16,
    /// Number of additional records.
    pub arcount: u16,
}

impl Header {
    /// QR: the message is a response (RFC 1035 §4.1.1).
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }

    /// OPCODE (must be 0 in mDNS, RFC 6762 §18.3).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    /// RCODE (must be 0 in mDNS, RFC 6762 §18.11).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }

    fn read(b: &[u8]) -> Option<Header> {
        let w = |i: usize| Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        Some(Header {
            id: w(0)?,
            flags: w(2)?,
            qdcount: w(4)?,
            ancount: w(6)?,
            nscount: w(8)?,
            arcount: w(10)?,
        })
    }
}

/// A question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS without its top bit.
    pub qclass: u16,
    /// The top bit of QCLASS: a unicast response is requested (RFC 6762 §5.4).
    pub unicast_response: bool,
}

/// The message section a record came from (RFC 1035 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The answer section.
    Answer,
    /// The authority section.
    Authority,
    /// The additional section.
    Additional,
}

/// A resource record (RFC 1035 §4.1.3); its RDATA is borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The section it was in.
    pub section: Section,
    /// The owner name.
    pub name: Name,
    /// TYPE.
    pub rtype: u16,
    /// CLASS without its top bit.
    pub class: u16,
    /// The top bit of CLASS: the cache-flush bit (RFC 6762 §10.2).
    pub cache_flush: bool,
    /// TTL in seconds (zero: a goodbye, RFC 6762 §10.1).
    pub ttl: u32,
    /// The raw RDATA (not decompressed: only A/AAAA are interpreted).
    pub rdata: &'a [u8],
}

impl Record<'_> {
    /// The address of an A or AAAA record of class IN with well-sized RDATA.
    pub fn address(&self) -> Option<IpAddr> {
        if self.class != CLASS_IN {
            return None;
        }
        match self.rtype {
            TYPE_A => <[u8; 4]>::try_from(self.rdata)
                .ok()
                .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            TYPE_AAAA => <[u8; 16]>::try_from(self.rdata)
                .ok()
                .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            _ => None,
        }
    }
}

/// Decodes the name at `at`; returns it and the offset just past it in the original
/// position (a pointer ends the name there, RFC 1035 §4.1.4). Pointers must point strictly
/// before the position they are read at, so decoding always terminates.
fn read_name(msg: &[u8], at: usize) -> Result<(Name, usize), ParseError> {
    let mut name = Name::root();
    let mut out = 0usize;
    let mut pos = at;
    let mut end = None;
    let mut jumps = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(ParseError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                name.buf[out] = 0;
                name.len = (out + 1) as u8;
                return Ok((name, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let l = len as usize;
                let label = msg.get(pos + 1..pos + 1 + l).ok_or(ParseError::Truncated)?;
                if out + 1 + l + 1 > MAX_NAME_LEN {
                    return Err(ParseError::NameTooLong);
                }
                name.buf[out] = len;
                name.buf[out + 1..out + 1 + l].copy_from_slice(label);
                out += 1 + l;
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(ParseError::Truncated)?;
                let target = (((len & 0x3f) as usize) << 8) | lo as usize;
                jumps += 1;
                if target >= pos || jumps > MAX_POINTERS {
                    return Err(ParseError::BadPointer);
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(ParseError::BadLabel),
        }
    }
}

fn read_u16(msg: &[u8], at: usize) -> Result<u16, ParseError> {
    match msg.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(ParseError::Truncated),
    }
}

fn read_question(msg: &[u8], at: usize) -> Result<(Question, usize), ParseError> {
    let (name, at) = read_name(msg, at)?;
    let qtype = read_u16(msg, at)?;
    let class = read_u16(msg, at + 2)?;
    let q = Question {
        name,
        qtype,
        qclass: class & !CLASS_TOP_BIT,
        unicast_response: class & CLASS_TOP_BIT != 0,
    };
    Ok((q, at + 4))
}

fn read_record(msg: &[u8], at: usize, section: Section) -> Result<(Record<'_>, usize), ParseError> {
    let (name, at) = read_name(msg, at)?;
    let rtype = read_u16(msg, at)?;
    let class = read_u16(msg, at + 2)?;
    let ttl = (u32::from(read_u16(msg, at + 4)?) << 16) | u32::from(read_u16(msg, at + 6)?);
    let rdlen = read_u16(msg, at + 8)? as usize;
    let start = at + 10;
    let rdata = msg.get(start..start + rdlen).ok_or(ParseError::Truncated)?;
    let r = Record {
        section,
        name,
        rtype,
        class: class & !CLASS_TOP_BIT,
        cache_flush: class & CLASS_TOP_BIT != 0,
        ttl,
        rdata,
    };
    Ok((r, start + rdlen))
}

/// A validated, borrowed view of one DNS message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    data: &'a [u8],
    header: Header,
}

impl<'a> Message<'a> {
    /// Validates `data` as one DNS message: the header, then every question and record
    /// (names, bounds). Bytes after the last record are ignored (RFC 6762 §18 allows no
    /// trailing data, but tolerating padding harms nobody).
    pub fn parse(data: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if data.len() > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLong);
        }
        let header = Header::read(data).ok_or(ParseError::Truncated)?;
        let m = Message { data, header };
        let mut at = HEADER_LEN;
        for _ in 0..header.qdcount {
            at = read_question(data, at)?.1;
        }
        for section in m.sections() {
            at = read_record(data, at, section)?.1;
        }
        Ok(m)
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    fn sections(&self) -> impl Iterator<Item = Section> + use<> {
        let h = self.header;
        std::iter::repeat_n(Section::Answer, h.ancount as usize)
            .chain(std::iter::repeat_n(Section::Authority, h.nscount as usize))
            .chain(std::iter::repeat_n(Section::Additional, h.arcount as usize))
    }

    /// The questions.
    pub fn questions(&self) -> impl Iterator<Item = Question> + '_ {
        let mut at = HEADER_LEN;
        (0..self.header.qdcount).map_while(move |_| {
            let (q, next) = read_question(self.data, at).ok()?;
            at = next;
            Some(q)
        })
    }

    /// The records of the answer, authority and additional sections, in order.
    pub fn records(&self) -> impl Iterator<Item = Record<'a>> + '_ {
        let data = self.data;
        let mut at = HEADER_LEN;
        for _ in 0..self.header.qdcount {
            at = read_question(data, at).map_or(data.len(), |(_, n)| n);
        }
        self.sections().map_while(move |section| {
            let (r, next) = read_record(data, at, section).ok()?;
            at = next;
            Some(r)
        })
    }
}

/// Writes a query with one question into `out` (cleared first): `id` (zero for multicast
/// queries, RFC 6762 §18.1), no flags, QCLASS IN with the QU bit when `unicast_response`
/// (RFC 6762 §5.4). Names are written uncompressed.
pub fn write_query(out: &mut Vec<u8>, id: u16, name: &Name, qtype: u16, unicast_response: bool) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    name.write(out);
    out.extend_from_slice(&qtype.to_be_bytes());
    let class = CLASS_IN | if unicast_response { CLASS_TOP_BIT } else { 0 };
    out.extend_from_slice(&class.to_be_bytes());
}
