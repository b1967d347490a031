//! A sans-IO mDNS responder for the random host names that hide our own ICE host addresses
//! (draft-ietf-mmusic-mdns-ice-candidates §3.1.1–3.1.2; RFC 6762): it answers queries for
//! the names registered with it with A/AAAA records and ignores everything else.
//!
//! A hostile LAN can flood the mDNS group, so the work per packet is bounded: at most
//! [`MdnsResponderConfig::max_questions`] questions of one query are looked at, at most
//! [`MdnsResponderConfig::max_answers_per_second`] records are sent per second (the rest
//! are dropped; RFC 6762 §6 also limits a record to one multicast per second), and the
//! outgoing queue is bounded. Nothing here panics on bad input: parsing is the
//! validating codec of [`super::message`].
//!
//! The driver owns the socket: it feeds every datagram received on the mDNS port to
//! [`MdnsResponder::handle_datagram`] and sends what [`MdnsResponder::poll_transmit`]
//! yields (to the group, or by unicast for a legacy query, RFC 6762 §6.7).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::MDNS_PORT;
use super::message::{
    CLASS_IN, CLASS_TOP_BIT, FLAG_AUTHORITATIVE, FLAG_RESPONSE, HEADER_LEN, Message, Name,
    TYPE_A, TYPE_AAAA, TYPE_ANY,
};

/// Query class ANY (RFC 1035 §3.2.5).
const CLASS_ANY: u16 = 255;
/// Most outgoing messages queued; more are dropped (the driver drains after every packet).
const MAX_QUEUED: usize = 16;
/// TTL cap of answers to legacy unicast queries (RFC 6762 §6.7: "no greater than ten").
const LEGACY_TTL: u32 = 10;

/// Knobs of the responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsResponderConfig {
    /// TTL of the answers: 120 s, the TTL of host-name records (RFC 6762 §10), as browsers
    /// send.
    pub ttl: u32,
    /// Most questions of one query looked at (the rest are ignored). Default 8.
    pub max_questions: usize,
    /// Most answer records sent per second, over all names; queries beyond it go
    /// unanswered until the next second. Default 20.
    pub max_answers_per_second: u32,
    /// Most names registered at once. Default 32.
    pub max_names: usize,
}

impl Default for MdnsResponderConfig {
    fn default() -> Self {
        MdnsResponderConfig {
            ttl: 120,
            max_questions: 8,
            max_answers_per_second: 20,
            max_names: 32,
        }
    }
}

/// Why a name cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// Not a name under `.local` of valid DNS length (RFC 6762 §3).
    NotLocal,
    /// [`MdnsResponderConfig::max_names`] names are registered.
    TooManyNames,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegisterError::NotLocal => "not a valid .local name",
            RegisterError::TooManyNames => "too many mDNS names registered",
        })
    }
}

impl std::error::Error for RegisterError {}

/// A message for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderTransmit {
    /// The DNS message.
    pub data: Vec<u8>,
    /// `None`: to the mDNS group (224.0.0.251:5353); `Some`: by unicast to this querier
    /// (a legacy query from a port other than 5353, RFC 6762 §6.7).
    pub unicast: Option<SocketAddr>,
}

/// The responder state machine (see the module documentation).
#[derive(Debug)]
pub struct MdnsResponder {
    config: MdnsResponderConfig,
    names: Vec<(Name, IpAddr)>,
    /// Start of the current one-second answer budget and what is left of it.
    window: Option<Instant>,
    budget: u32,
    transmits: VecDeque<ResponderTransmit>,
    /// Answers not sent because of the rate limit or the queue bound (for tests and logs).
    dropped: u64,
}

impl MdnsResponder {
    /// A responder with no name.
    pub fn new(config: MdnsResponderConfig) -> MdnsResponder {
        MdnsResponder {
            budget: config.max_answers_per_second,
            config,
            names: Vec::new(),
            window: None,
            transmits: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Answers queries for `name` (a `.local` host name) with `ip` from now on. A name
    /// already registered gets the new address.
    pub fn register(&mut self, name: &str, ip: IpAddr) -> Result<(), RegisterError> {
        let wire = Name::from_dotted(name)
            .filter(|n| n.is_local() && n.labels().count() >= 2)
            .ok_or(RegisterError::NotLocal)?;
        if let Some(e) = self.names.iter_mut().find(|(n, _)| *n == wire) {
            e.1 = ip;
            return Ok(());
        }
        if self.names.len() >= self.config.max_names {
            return Err(RegisterError::TooManyNames);
        }
        self.names.push((wire, ip));
        Ok(())
    }

    /// Number of registered names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is registered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Answers dropped by the rate limit or the queue bound so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every name and queues one goodbye announcing them with TTL 0, so caches
    /// drop them at once (RFC 6762 §10.1).
    pub fn unregister_all(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.names);
        // Chunks keep a goodbye far below the 9000-byte mDNS limit (RFC 6762 §17).
        for chunk in names.chunks(8) {
            let mut out = Vec::with_capacity(512);
            let answers: Vec<(Name, IpAddr)> = chunk.to_vec();
            write_response(&mut out, 0, None, &answers, 0);
            self.queue(ResponderTransmit {
                data: out,
                unicast: None,
            });
        }
    }

    /// Takes in one datagram received on the mDNS port from `from`. Queries (QR clear,
    /// OPCODE 0, RFC 6762 §18) whose questions name a registered name with type A, AAAA or
    /// ANY and class IN or ANY are answered with that name's record; everything else is
    /// ignored. Returns the number of records queued.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> usize {
        if self.names.is_empty() || data.len() < HEADER_LEN {
            return 0;
        }
        let Ok(msg) = Message::parse(data) else {
            return 0;
        };
        let h = msg.header();
        if h.is_response() || h.opcode() != 0 {
            return 0;
        }
        // Per registered name: asked for (at most one record each, no duplicates).
        let mut answers: Vec<(Name, IpAddr)> = Vec::new();
        let mut first_question = None;
        for q in msg.questions().take(self.config.max_questions) {
            if q.qclass != CLASS_IN && q.qclass != CLASS_ANY {
                continue;
            }
            let Some(&(name, ip)) = self.names.iter().find(|(n, _)| *n == q.name) else {
                continue;
            };
            let wanted = match q.qtype {
                TYPE_ANY => true,
                TYPE_A => ip.is_ipv4(),
                TYPE_AAAA => ip.is_ipv6(),
                _ => false,
            };
            if !wanted || answers.iter().any(|(n, _)| *n == name) {
                continue;
            }
            first_question.get_or_insert(q);
            answers.push((name, ip));
        }
        if answers.is_empty() {
            return 0;
        }
        // The one-second answer budget.
        if self
            .window
            .is_none_or(|w| now.saturating_duration_since(w) >= Duration::from_secs(1))
        {
            self.window = Some(now);
            self.budget = self.config.max_answers_per_second;
        }
        let allowed = (self.budget as usize).min(answers.len());
        if allowed < answers.len() {
            self.dropped += (answers.len() - allowed) as u64;
            answers.truncate(allowed);
        }
        if answers.is_empty() {
            return 0;
        }
        self.budget -= allowed as u32;
        let mut out = Vec::with_capacity(64 * answers.len() + HEADER_LEN);
        let n = answers.len();
        if from.port() == MDNS_PORT {
            write_response(&mut out, 0, None, &answers, self.config.ttl);
            self.queue(ResponderTransmit {
                data: out,
                unicast: None,
            });
        } else {
            // Legacy unicast (RFC 6762 §6.7): the id and the question echoed, a short TTL,
            // sent back to the querier's address and port.
            let ttl = self.config.ttl.min(LEGACY_TTL);
            write_response(&mut out, h.id, first_question.map(|q| q.name), &answers, ttl);
            self.queue(ResponderTransmit {
                data: out,
                unicast: Some(from),
            });
        }
        n
    }

    fn queue(&mut self, t: ResponderTransmit) {
        if self.transmits.len() >= MAX_QUEUED {
            self.dropped += 1;
            return;
        }
        self.transmits.push_back(t);
    }

    /// Next message to send.
    pub fn poll_transmit(&mut self) -> Option<ResponderTransmit> {
        self.transmits.pop_front()
    }
}

/// Writes a response into `out` (cleared first): `id`, QR|AA (RFC 6762 §18.4), the echoed
/// question for legacy unicast (RFC 6762 §6.7; class IN, the type of its answer), then one
/// A or AAAA answer per entry with the cache-flush bit (unique records, RFC 6762 §10.2) and
/// `ttl`.
fn write_response(
    out: &mut Vec<u8>,
    id: u16,
    question: Option<Name>,
    answers: &[(Name, IpAddr)],
    ttl: u32,
) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(FLAG_RESPONSE | FLAG_AUTHORITATIVE).to_be_bytes());
    let qd = u16::from(question.is_some());
    out.extend_from_slice(&qd.to_be_bytes());
    let an = u16::try_from(answers.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&an.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    if let Some(q) = question {
        let qtype = answers
            .iter()
            .find(|(n, _)| *n == q)
            .map_or(TYPE_A, |(_, ip)| if ip.is_ipv4() { TYPE_A } else { TYPE_AAAA });
        q.write(out);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    for (name, ip) in answers.iter().take(usize::from(an)) {
        name.write(out);
        let mut buf = [0u8; 16];
        let (rtype, len) = match ip {
            IpAddr::V4(v4) => {
                buf[..4].copy_from_slice(&v4.octets());
                (TYPE_A, 4)
            }
            IpAddr::V6(v6) => {
                buf.copy_from_slice(&v6.octets());
                (TYPE_AAAA, 16)
            }
        };
        let rdata = &buf[..len];
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&(CLASS_IN | CLASS_TOP_BIT).to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
}
