//! A sans-IO one-shot mDNS querier for host names (RFC 6762 §5.1–5.2): ask for a `.local`
//! name, retransmit with doubling intervals, give up after a bound, and report the address
//! from the first usable answer. A small TTL-bounded cache answers repeated questions.
//!
//! The driver owns the socket: it sends what [`MdnsQuerier::poll_transmit`] yields to the
//! mDNS group (224.0.0.251:5353) and feeds every datagram that came from UDP port 5353 to
//! [`MdnsQuerier::handle_datagram`] (RFC 6762 §11: responses from another port are ignored).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::message::{self, Message, Name, Section, TYPE_A};

/// Knobs of the querier (RFC 6762 §5.2 timing, memory bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsQuerierConfig {
    /// Wait before the first retransmission; each later wait doubles (RFC 6762 §5.2: at
    /// least one second, then at least a factor of two). Default 1 s.
    pub first_retransmit: Duration,
    /// Most transmissions of one query, the first included. Default 4 (at 0, 1, 3, 7 s).
    pub max_transmissions: u32,
    /// A query not answered within this time fails. Default 10 s.
    pub give_up_after: Duration,
    /// Most outstanding queries; more are refused. Default 32.
    pub max_queries: usize,
    /// Most cached names; the entry closest to expiry is evicted first. Default 64.
    pub max_cache: usize,
    /// Cap on how long an answer is cached, whatever its TTL. Default 120 s (the TTL of
    /// host-name records, RFC 6762 §10).
    pub max_cache_ttl: Duration,
    /// Legacy unicast queries (RFC 6762 §6.7): a non-zero query id per message, for a
    /// querier whose socket is not on port 5353 (responders then answer by unicast).
    pub legacy_unicast: bool,
}

impl Default for MdnsQuerierConfig {
    fn default() -> Self {
        MdnsQuerierConfig {
            first_retransmit: Duration::from_secs(1),
            max_transmissions: 4,
            give_up_after: Duration::from_secs(10),
            max_queries: 32,
            max_cache: 64,
            max_cache_ttl: Duration::from_secs(120),
            legacy_unicast: false,
        }
    }
}

/// Why a name cannot be queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Not a name under `.local` of valid DNS length (RFC 6762 §3, RFC 1035 §2.3.4).
    NotLocal,
    /// [`MdnsQuerierConfig::max_queries`] queries are outstanding.
    TooManyQueries,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueryError::NotLocal => "not a valid .local name",
            QueryError::TooManyQueries => "too many outstanding mDNS queries",
        })
    }
}

impl std::error::Error for QueryError {}

/// What the querier reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdnsEvent {
    /// `name` (as given to [`MdnsQuerier::query`]) has this address.
    Resolved {
        /// The queried name.
        name: String,
        /// Its address.
        ip: IpAddr,
    },
    /// No answer for `name` within [`MdnsQuerierConfig::give_up_after`].
    Failed {
        /// The queried name.
        name: String,
    },
}

#[derive(Debug)]
struct Query {
    /// The name as the caller spelled it (reported back).
    text: String,
    name: Name,
    transmissions: u32,
    next_send: Option<Instant>,
    deadline: Instant,
}

#[derive(Debug)]
struct CacheEntry {
    name: Name,
    ip: IpAddr,
    expires: Instant,
}

/// The querier state machine (see the module documentation).
#[derive(Debug)]
pub struct MdnsQuerier {
    config: MdnsQuerierConfig,
    queries: Vec<Query>,
    cache: Vec<CacheEntry>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<MdnsEvent>,
    next_id: u16,
}

impl MdnsQuerier {
    /// A querier with no query outstanding.
    pub fn new(config: MdnsQuerierConfig) -> MdnsQuerier {
        MdnsQuerier {
            config,
            queries: Vec::new(),
            cache: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Starts resolving `name` (a `.local` host name). A cached answer is reported at once
    /// without a query; a name already outstanding is not asked twice.
    pub fn query(&mut self, name: &str, now: Instant) -> Result<(), QueryError> {
        let wire = Name::from_dotted(name)
            .filter(|n| n.is_local() && n.labels().count() >= 2)
            .ok_or(QueryError::NotLocal)?;
        self.expire_cache(now);
        if let Some(c) = self.cache.iter().find(|c| c.name == wire) {
            self.events.push_back(MdnsEvent::Resolved {
                name: name.to_string(),
                ip: c.ip,
            });
            return Ok(());
        }
        if self.queries.iter().any(|q| q.name == wire) {
            return Ok(());
        }
        if self.queries.len() >= self.config.max_queries {
            return Err(QueryError::TooManyQueries);
        }
        self.queries.push(Query {
            text: name.to_string(),
            name: wire,
            transmissions: 0,
            next_send: Some(now),
            deadline: now + self.config.give_up_after,
        });
        self.handle_timeout(now);
        Ok(())
    }

    /// Number of queries waiting for an answer.
    pub fn outstanding(&self) -> usize {
        self.queries.len()
    }

    /// Takes in one datagram received from UDP port 5353. Responses (QR set, OPCODE and
    /// RCODE zero, RFC 6762 §18) are searched for A/AAAA records in the answer and
    /// additional sections (a negative answer carries the other family's record there,
    /// RFC 6762 §6.1–6.2); everything else is ignored. Returns how many outstanding queries
    /// it answered.
    pub fn handle_datagram(&mut self, now: Instant, data: &[u8]) -> usize {
        let Ok(msg) = Message::parse(data) else {
            return 0;
        };
        let h = msg.header();
        if !h.is_response() || h.opcode() != 0 || h.rcode() != 0 {
            return 0;
        }
        // Per outstanding query the best address of this message: IPv4 first (the family
        // the query transport uses), then IPv6.
        let mut best: Vec<Option<IpAddr>> = vec![None; self.queries.len()];
        for r in msg.records() {
            if r.section == Section::Authority {
                continue;
            }
            let Some(ip) = r.address() else {
                continue;
            };
            if !r.name.is_local() {
                continue;
            }
            self.cache_record(now, r.name, ip, r.ttl);
            if r.ttl == 0 {
                continue;
            }
            if let Some(i) = self.queries.iter().position(|q| q.name == r.name) {
                let slot = &mut best[i];
                if slot.is_none() || (ip.is_ipv4() && !slot.is_some_and(|s| s.is_ipv4())) {
                    *slot = Some(ip);
                }
            }
        }
        let mut answered = 0;
        let mut best = best.into_iter();
        let events = &mut self.events;
        self.queries.retain(|q| match best.next().flatten() {
            Some(ip) => {
                events.push_back(MdnsEvent::Resolved {
                    name: q.text.clone(),
                    ip,
                });
                answered += 1;
                false
            }
            None => true,
        });
        answered
    }

    fn cache_record(&mut self, now: Instant, name: Name, ip: IpAddr, ttl: u32) {
        self.expire_cache(now);
        if ttl == 0 {
            // A goodbye (RFC 6762 §10.1).
            self.cache.retain(|c| !(c.name == name && c.ip == ip));
            return;
        }
        let life = Duration::from_secs(u64::from(ttl)).min(self.config.max_cache_ttl);
        if let Some(c) = self.cache.iter_mut().find(|c| c.name == name) {
            c.ip = ip;
            c.expires = now + life;
            return;
        }
        if self.config.max_cache == 0 {
            return;
        }
        if self.cache.len() >= self.config.max_cache
            && let Some(i) = (0..self.cache.len()).min_by_key(|&i| self.cache[i].expires)
        {
            self.cache.swap_remove(i);
        }
        self.cache.push(CacheEntry {
            name,
            ip,
            expires: now + life,
        });
    }

    fn expire_cache(&mut self, now: Instant) {
        self.cache.retain(|c| c.expires > now);
    }

    /// The cached address of `name`, if fresh at `now`.
    pub fn cached(&self, name: &str, now: Instant) -> Option<IpAddr> {
        let n = Name::from_dotted(name)?;
        self.cache
            .iter()
            .find(|c| c.name == n && c.expires > now)
            .map(|c| c.ip)
    }

    /// Next query message to send to the mDNS group (`224.0.0.251:5353` / `[ff02::fb]:5353`).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// Next resolution or failure.
    pub fn poll_event(&mut self) -> Option<MdnsEvent> {
        self.events.pop_front()
    }

    /// When [`MdnsQuerier::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queries
            .iter()
            .map(|q| q.next_send.map_or(q.deadline, |s| s.min(q.deadline)))
            .min()
    }

    /// Sends due (re)transmissions and fails queries past their deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        let config = &self.config;
        let mut i = 0;
        while i < self.queries.len() {
            let q = &mut self.queries[i];
            if now >= q.deadline {
                let q = self.queries.swap_remove(i);
                self.events.push_back(MdnsEvent::Failed { name: q.text });
                continue;
            }
            if q.next_send.is_some_and(|t| now >= t) {
                let id = if config.legacy_unicast {
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1).max(1);
                    id
                } else {
                    0
                };
                let mut buf = Vec::with_capacity(q.name.wire().len() + 16);
                // QTYPE A: an IPv6-only name comes back as a negative answer that carries
                // the AAAA record in the additional section (RFC 6762 §6.1–6.2).
                message::write_query(&mut buf, id, &q.name, TYPE_A, false);
                self.transmits.push_back(buf);
                q.transmissions += 1;
                q.next_send = (q.transmissions < config.max_transmissions).then(|| {
                    let doublings = (q.transmissions - 1).min(16);
                    now + config.first_retransmit * (1u32 << doublings)
                });
            }
            i += 1;
        }
    }
}
