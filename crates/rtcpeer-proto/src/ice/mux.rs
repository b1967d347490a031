//! The routing table of a UDP mux: one socket shared by many ICE agents (servers), sans-IO.
//!
//! Every connection registers its local ICE credentials. A datagram is routed:
//! 1. a STUN Binding request whose USERNAME starts with a registered local ufrag (the part
//!    before ':', RFC 8445 §7.2.2) goes to the connection owning that ufrag; when its
//!    MESSAGE-INTEGRITY verifies with that connection's password, the source address is
//!    learnt for the connection (an unauthenticated request never moves a route);
//! 2. a STUN response whose transaction id is one of a connection's recent requests
//!    ([`MuxTable::note_sent`]) goes to that connection: answers to its checks that arrive
//!    before the peer's first request, and STUN servers' answers (a server's address is
//!    shared by every connection that gathers from it);
//! 3. anything else (DTLS, SRTP, indications, requests with an unknown ufrag such as the
//!    previous generation's after an ICE restart) goes by source address to the connection
//!    that learnt it;
//! 4. the rest is dropped and counted.
//!
//! The mux does not demultiplex protocols beyond that: every datagram routed to a connection
//! is handed to its core as it is (RFC 7983 demultiplexing happens there).
//!
//! Limits: one remote address belongs to one connection at a time (the last one that
//! authenticated a request from it), so two connections cannot share a remote transport
//! address. Bounds: [`MAX_MUX_CONNECTIONS`] connections, [`MAX_MUX_ADDRESSES`] learnt
//! addresses per connection (the oldest is forgotten first), [`MAX_MUX_TRANSACTIONS`]
//! request transaction ids per connection (likewise), ufrags of at most
//! [`MAX_UFRAG_LEN`] bytes (RFC 8839 §5.4 allows 256 characters).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::error::{Error, Result};
use crate::stun::{Class, Message, Method, TransactionId, is_stun};

/// Most connections one mux routes for.
pub const MAX_MUX_CONNECTIONS: usize = 4096;
/// Most remote addresses learnt per connection (host, server-reflexive, relayed candidates of
/// the peer, both families); beyond this the oldest is forgotten.
pub const MAX_MUX_ADDRESSES: usize = 16;
/// Most recent request transaction ids remembered per connection for routing responses
/// (96-bit random ids cannot be guessed off-path, RFC 8489 §6).
pub const MAX_MUX_TRANSACTIONS: usize = 64;
/// Longest local ufrag accepted (bytes).
pub const MAX_UFRAG_LEN: usize = 256;
/// Most ufrags of further transports per connection (unbundled m-sections, RFC 8843 §7;
/// the core caps its transports at `MAX_TRANSPORTS`).
pub const MAX_MUX_TRANSPORT_UFRAGS: usize = 16;

/// A connection registered with a [`MuxTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MuxConnId(u64);

impl MuxConnId {
    /// The id as a number (unique within one table, never reused).
    pub fn get(self) -> u64 {
        self.0
    }
}

#[derive(Debug, Default)]
struct Entry {
    ufrag: Option<String>,
    pwd: String,
    /// The ufrags and passwords of the connection's further transports.
    more: Vec<(String, String)>,
    addrs: VecDeque<SocketAddr>,
    txids: VecDeque<TransactionId>,
}

/// Counters of a [`MuxTable`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuxCounters {
    /// Registered connections.
    pub connections: usize,
    /// Registered ufrags.
    pub ufrags: usize,
    /// Learnt remote addresses.
    pub addresses: usize,
    /// Remembered request transaction ids.
    pub transactions: usize,
    /// Datagrams dropped because no connection claimed them.
    pub unrouted: u64,
}

/// Routes datagrams that arrive on a shared socket to connections (see the module docs).
#[derive(Debug, Default)]
pub struct MuxTable {
    next_id: u64,
    conns: HashMap<MuxConnId, Entry>,
    ufrags: HashMap<String, MuxConnId>,
    addrs: HashMap<SocketAddr, MuxConnId>,
    txids: HashMap<TransactionId, MuxConnId>,
    unrouted: u64,
}

impl MuxTable {
    /// An empty table.
    pub fn new() -> MuxTable {
        MuxTable::default()
    }

    /// Registers a connection (without credentials yet); `None` when
    /// [`MAX_MUX_CONNECTIONS`] are registered.
    pub fn add(&mut self) -> Option<MuxConnId> {
        if self.conns.len() >= MAX_MUX_CONNECTIONS {
            return None;
        }
        let id = MuxConnId(self.next_id);
        self.next_id += 1;
        self.conns.insert(id, Entry::default());
        Some(id)
    }

    /// Sets the connection's current local ICE credentials (at its first local description
    /// and at every ICE restart): the previous ufrag no longer routes; learnt addresses stay
    /// (the old pair keeps carrying data until the new one is selected, RFC 8445 §9). Fails
    /// for an unknown connection, an empty or oversized ufrag, or a ufrag another
    /// connection owns.
    pub fn set_credentials(&mut self, id: MuxConnId, ufrag: &str, pwd: &str) -> Result<()> {
        if ufrag.is_empty() || ufrag.len() > MAX_UFRAG_LEN || ufrag.contains(':') {
            return Err(Error::operation("mux: invalid ufrag"));
        }
        match self.ufrags.get(ufrag) {
            Some(owner) if *owner != id => {
                return Err(Error::operation("mux: ufrag used by another connection"));
            }
            _ => {}
        }
        let Some(entry) = self.conns.get_mut(&id) else {
            return Err(Error::invalid_state("mux: connection not registered"));
        };
        if let Some(old) = entry.ufrag.take()
            && old != ufrag
        {
            self.ufrags.remove(&old);
        }
        entry.ufrag = Some(ufrag.to_string());
        entry.pwd = pwd.to_string();
        self.ufrags.insert(ufrag.to_string(), id);
        Ok(())
    }

    /// Sets the local credentials of the connection's transports beyond the first (the
    /// unbundled m-sections of an answer, RFC 8843 §7): requests to those ufrags route to
    /// it too. Replaces the previous list; at most [`MAX_MUX_TRANSPORT_UFRAGS`]. Fails as
    /// [`MuxTable::set_credentials`] does (an invalid ufrag or another connection's is
    /// skipped, the others are set).
    pub fn set_transport_credentials(
        &mut self,
        id: MuxConnId,
        creds: &[(String, String)],
    ) -> Result<()> {
        let Some(entry) = self.conns.get_mut(&id) else {
            return Err(Error::invalid_state("mux: connection not registered"));
        };
        for (u, _) in std::mem::take(&mut entry.more) {
            if entry.ufrag.as_deref() != Some(u.as_str()) && self.ufrags.get(&u) == Some(&id) {
                self.ufrags.remove(&u);
            }
        }
        let mut result = Ok(());
        let mut more = Vec::new();
        for (ufrag, pwd) in creds.iter().take(MAX_MUX_TRANSPORT_UFRAGS) {
            let invalid = ufrag.is_empty() || ufrag.len() > MAX_UFRAG_LEN || ufrag.contains(':');
            let taken = self.ufrags.get(ufrag).is_some_and(|o| *o != id);
            if invalid || taken {
                result = Err(Error::operation("mux: invalid or taken ufrag"));
                continue;
            }
            self.ufrags.insert(ufrag.clone(), id);
            more.push((ufrag.clone(), pwd.clone()));
        }
        if let Some(entry) = self.conns.get_mut(&id) {
            entry.more = more;
        }
        result
    }

    /// Forgets a connection and every route to it (it closed or was dropped).
    pub fn remove(&mut self, id: MuxConnId) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        if let Some(u) = entry.ufrag {
            self.ufrags.remove(&u);
        }
        for (u, _) in entry.more {
            if self.ufrags.get(&u) == Some(&id) {
                self.ufrags.remove(&u);
            }
        }
        for a in entry.addrs {
            if self.addrs.get(&a) == Some(&id) {
                self.addrs.remove(&a);
            }
        }
        for t in entry.txids {
            if self.txids.get(&t) == Some(&id) {
                self.txids.remove(&t);
            }
        }
    }

    /// The connection sent `data`: when it is a STUN request, its transaction id is
    /// remembered so the response routes back to it.
    pub fn note_sent(&mut self, id: MuxConnId, data: &[u8]) {
        if !is_stun(data) {
            return;
        }
        let Ok(msg) = Message::parse(data) else {
            return;
        };
        if msg.class() != Class::Request {
            return;
        }
        let tid = msg.transaction_id();
        if !self.conns.contains_key(&id) {
            return;
        }
        match self.txids.insert(tid, id) {
            Some(prev) if prev == id => return, // a retransmission
            Some(prev) => {
                if let Some(e) = self.conns.get_mut(&prev) {
                    e.txids.retain(|t| *t != tid);
                }
            }
            None => {}
        }
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        entry.txids.push_back(tid);
        if entry.txids.len() > MAX_MUX_TRANSACTIONS
            && let Some(oldest) = entry.txids.pop_front()
        {
            self.txids.remove(&oldest);
        }
    }

    /// The connection a datagram from `remote` belongs to; `None` (counted) when no
    /// connection claims it. May learn `remote` for a connection (see the module docs).
    pub fn route(&mut self, remote: SocketAddr, data: &[u8]) -> Option<MuxConnId> {
        if let Some(id) = self.route_by_ufrag(remote, data) {
            return Some(id);
        }
        if let Some(id) = self.route_response(data) {
            return Some(id);
        }
        let found = self.addrs.get(&remote).copied();
        if found.is_none() {
            self.unrouted = self.unrouted.saturating_add(1);
        }
        found
    }

    fn route_by_ufrag(&mut self, remote: SocketAddr, data: &[u8]) -> Option<MuxConnId> {
        if !is_stun(data) {
            return None;
        }
        let msg = Message::parse(data).ok()?;
        if msg.class() != Class::Request || msg.method() != Method::BINDING {
            return None;
        }
        let username = msg.username().ok()??;
        let ufrag = username.split(':').next()?;
        let id = *self.ufrags.get(ufrag)?;
        let entry = self.conns.get(&id)?;
        let pwd = match entry.ufrag.as_deref() == Some(ufrag) {
            true => &entry.pwd,
            false => entry.more.iter().find(|(u, _)| u == ufrag).map(|(_, p)| p)?,
        };
        if msg.verify_integrity(pwd.as_bytes()) {
            self.learn(remote, id);
        }
        Some(id)
    }

    fn route_response(&self, data: &[u8]) -> Option<MuxConnId> {
        if !is_stun(data) {
            return None;
        }
        let msg = Message::parse(data).ok()?;
        match msg.class() {
            Class::SuccessResponse | Class::ErrorResponse => {
                self.txids.get(&msg.transaction_id()).copied()
            }
            _ => None,
        }
    }

    fn learn(&mut self, remote: SocketAddr, id: MuxConnId) {
        match self.addrs.insert(remote, id) {
            Some(prev) if prev == id => return,
            Some(prev) => {
                if let Some(e) = self.conns.get_mut(&prev) {
                    e.addrs.retain(|a| *a != remote);
                }
            }
            None => {}
        }
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        entry.addrs.push_back(remote);
        if entry.addrs.len() > MAX_MUX_ADDRESSES
            && let Some(oldest) = entry.addrs.pop_front()
        {
            self.addrs.remove(&oldest);
        }
    }

    /// The connection that owns `ufrag`.
    pub fn connection_of_ufrag(&self, ufrag: &str) -> Option<MuxConnId> {
        self.ufrags.get(ufrag).copied()
    }

    /// The connection that learnt `remote`.
    pub fn connection_of_address(&self, remote: SocketAddr) -> Option<MuxConnId> {
        self.addrs.get(&remote).copied()
    }

    /// The remote addresses learnt for a connection, oldest first.
    pub fn addresses_of(&self, id: MuxConnId) -> Vec<SocketAddr> {
        self.conns
            .get(&id)
            .map(|e| e.addrs.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Sizes and the dropped-datagram count.
    pub fn counters(&self) -> MuxCounters {
        MuxCounters {
            connections: self.conns.len(),
            ufrags: self.ufrags.len(),
            addresses: self.addrs.len(),
            transactions: self.txids.len(),
            unrouted: self.unrouted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::{MessageWriter, TransactionId};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn request(username: &str, pwd: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId([7; 12]),
        );
        w.username(username).unwrap();
        w.priority(1).unwrap();
        w.message_integrity(pwd.as_bytes()).unwrap();
        w.fingerprint().unwrap();
        buf
    }

    fn response() -> Vec<u8> {
        response_to([9; 12])
    }

    fn response_to(tid: [u8; 12]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(
            &mut buf,
            Class::SuccessResponse,
            Method::BINDING,
            TransactionId(tid),
        );
        w.fingerprint().unwrap();
        buf
    }

    fn request_with(tid: [u8; 12]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId(tid),
        );
        w.fingerprint().unwrap();
        buf
    }

    /// A DTLS ClientHello-like record (first byte 22, RFC 7983 range 20..=63).
    const DTLS: &[u8] = &[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];

    fn table_with_two() -> (MuxTable, MuxConnId, MuxConnId) {
        let mut t = MuxTable::new();
        let a = t.add().unwrap();
        let b = t.add().unwrap();
        t.set_credentials(a, "ufA", "passwordAAAAAAAAAAAAAAAA")
            .unwrap();
        t.set_credentials(b, "ufB", "passwordBBBBBBBBBBBBBBBB")
            .unwrap();
        (t, a, b)
    }

    #[test]
    fn requests_route_by_local_ufrag_and_teach_the_address() {
        let (mut t, a, b) = table_with_two();
        let ra = addr("127.0.0.1:1000");
        let rb = addr("[::1]:2000");
        // Before any request, DTLS from ra is unknown.
        assert_eq!(t.route(ra, DTLS), None);
        assert_eq!(t.counters().unrouted, 1);
        assert_eq!(
            t.route(ra, &request("ufA:remote1", "passwordAAAAAAAAAAAAAAAA")),
            Some(a)
        );
        assert_eq!(
            t.route(rb, &request("ufB:remote2", "passwordBBBBBBBBBBBBBBBB")),
            Some(b)
        );
        // Now non-STUN and responses follow the learnt addresses.
        assert_eq!(t.route(ra, DTLS), Some(a));
        assert_eq!(t.route(rb, DTLS), Some(b));
        assert_eq!(t.route(rb, &response()), Some(b));
        assert_eq!(t.addresses_of(a), vec![ra]);
        assert_eq!(t.connection_of_address(rb), Some(b));
        assert_eq!(t.counters().unrouted, 1);
    }

    #[test]
    fn a_connection_with_several_transports_is_found_by_each_ufrag() {
        let (mut t, a, b) = table_with_two();
        let more = vec![
            ("ufA2".to_string(), "password2222222222222222".to_string()),
            ("ufA3".to_string(), "password3333333333333333".to_string()),
            ("ufB".to_string(), "stolen".to_string()),
        ];
        assert!(t.set_transport_credentials(a, &more).is_err(), "ufB is b's");
        let r2 = addr("127.0.0.1:1002");
        assert_eq!(
            t.route(r2, &request("ufA2:x", "password2222222222222222")),
            Some(a)
        );
        assert_eq!(t.connection_of_address(r2), Some(a), "learnt with its own password");
        assert_eq!(t.route(r2, &request("ufB:x", "passwordBBBBBBBBBBBBBBBB")), Some(b));
        assert_eq!(t.connection_of_ufrag("ufA3"), Some(a));
        // A new list replaces the old; removal forgets them all.
        t.set_transport_credentials(a, &more[..1]).unwrap();
        assert_eq!(t.connection_of_ufrag("ufA3"), None);
        let many: Vec<(String, String)> = (0..100)
            .map(|i| (format!("u{i}"), "p".repeat(22)))
            .collect();
        t.set_transport_credentials(a, &many).unwrap();
        assert_eq!(t.counters().ufrags, 2 + MAX_MUX_TRANSPORT_UFRAGS, "capped");
        t.remove(a);
        assert_eq!(t.connection_of_ufrag("u0"), None);
        assert_eq!(t.counters().ufrags, 1);
    }

    #[test]
    fn unauthenticated_requests_are_delivered_but_learn_nothing() {
        let (mut t, a, b) = table_with_two();
        let r = addr("127.0.0.1:1000");
        // Right ufrag, wrong password: the core answers 401; the route is not learnt.
        assert_eq!(
            t.route(r, &request("ufA:x", "wrong-password-xxxxxxxx")),
            Some(a)
        );
        assert_eq!(t.connection_of_address(r), None);
        // An attacker cannot move b's learnt address to a without a's password.
        t.route(r, &request("ufB:x", "passwordBBBBBBBBBBBBBBBB"));
        assert_eq!(t.connection_of_address(r), Some(b));
        t.route(r, &request("ufA:x", "not-a-password-xxxxxxxx"));
        assert_eq!(t.connection_of_address(r), Some(b));
        // With a's password it moves (the peer restarted on another connection).
        t.route(r, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA"));
        assert_eq!(t.connection_of_address(r), Some(a));
        assert!(t.addresses_of(b).is_empty());
        assert_eq!(t.addresses_of(a), vec![r]);
    }

    #[test]
    fn responses_route_by_the_transaction_of_the_request_sent() {
        let (mut t, a, b) = table_with_two();
        let server = addr("127.0.0.1:3478");
        // Both connections ask the same STUN server; each answer goes to its asker.
        t.note_sent(a, &request_with([1; 12]));
        t.note_sent(b, &request_with([2; 12]));
        t.note_sent(a, &request_with([1; 12])); // a retransmission
        t.note_sent(a, DTLS); // not STUN: nothing noted
        t.note_sent(a, &response_to([3; 12])); // not a request: nothing noted
        assert_eq!(t.counters().transactions, 2);
        assert_eq!(t.route(server, &response_to([2; 12])), Some(b));
        assert_eq!(t.route(server, &response_to([1; 12])), Some(a));
        assert_eq!(t.route(server, &response_to([3; 12])), None);
        // A response never teaches the address.
        assert_eq!(t.route(server, DTLS), None);
        // A request with a noted id is no response: it is not routed by it.
        assert_eq!(t.route(server, &request_with([1; 12])), None);
        // Per-connection bound, oldest forgotten; removal forgets the rest.
        for i in 0..MAX_MUX_TRANSACTIONS as u8 {
            t.note_sent(a, &request_with([100 + i; 12]));
        }
        assert_eq!(t.route(server, &response_to([1; 12])), None);
        assert_eq!(t.route(server, &response_to([100; 12])), Some(a));
        assert_eq!(t.counters().transactions, MAX_MUX_TRANSACTIONS + 1);
        t.remove(a);
        assert_eq!(t.counters().transactions, 1);
        assert_eq!(t.route(server, &response_to([100; 12])), None);
        t.note_sent(a, &request_with([5; 12])); // removed: ignored
        assert_eq!(t.counters().transactions, 1);
    }

    #[test]
    fn unknown_ufrag_falls_back_to_the_address() {
        let (mut t, a, _) = table_with_two();
        let r = addr("127.0.0.1:1000");
        assert_eq!(t.route(r, &request("nobody:x", "p")), None);
        t.route(r, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA"));
        assert_eq!(t.route(r, &request("nobody:x", "p")), Some(a));
    }

    #[test]
    fn malformed_and_short_datagrams_never_panic_and_are_dropped_when_unknown() {
        let (mut t, a, _) = table_with_two();
        let r = addr("127.0.0.1:1000");
        let good = request("ufA:x", "passwordAAAAAAAAAAAAAAAA");
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 1, 0, 0], DTLS.to_vec()];
        for cut in 0..good.len() {
            inputs.push(good[..cut].to_vec());
        }
        let mut bad_len = good.clone();
        bad_len[3] = bad_len[3].wrapping_add(4);
        inputs.push(bad_len);
        let no_colon = request("ufA", "passwordAAAAAAAAAAAAAAAA");
        for i in &inputs {
            assert_eq!(t.route(r, i), None, "{i:?}");
        }
        assert_eq!(t.counters().unrouted, inputs.len() as u64);
        // A USERNAME without ':' is still a ufrag lookup.
        assert_eq!(t.route(r, &no_colon), Some(a));
        // Binding requests only: an indication with the ufrag does not route by ufrag.
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(
            &mut buf,
            Class::Indication,
            Method::BINDING,
            TransactionId([1; 12]),
        );
        w.username("ufA:x").unwrap();
        let other = addr("127.0.0.1:1001");
        assert_eq!(t.route(other, &buf), None);
    }

    #[test]
    fn ice_restart_replaces_the_ufrag_and_keeps_addresses() {
        let (mut t, a, b) = table_with_two();
        let r = addr("127.0.0.1:1000");
        t.route(r, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA"));
        t.set_credentials(a, "ufA2", "passwordA2A2A2A2A2A2A2A2")
            .unwrap();
        assert_eq!(t.connection_of_ufrag("ufA"), None);
        assert_eq!(t.connection_of_ufrag("ufA2"), Some(a));
        assert_eq!(t.route(r, DTLS), Some(a));
        // Another connection may not take a ufrag in use.
        assert!(t.set_credentials(b, "ufA2", "p").is_err());
        // The freed one is available again.
        t.set_credentials(b, "ufA", "p").unwrap();
        assert_eq!(t.connection_of_ufrag("ufA"), Some(b));
        assert_eq!(t.counters().ufrags, 2);
        // Invalid ufrags.
        assert!(t.set_credentials(a, "", "p").is_err());
        assert!(t.set_credentials(a, "a:b", "p").is_err());
        assert!(
            t.set_credentials(a, &"x".repeat(MAX_UFRAG_LEN + 1), "p")
                .is_err()
        );
        assert_eq!(t.connection_of_ufrag("ufA2"), Some(a));
    }

    #[test]
    fn removal_forgets_every_route() {
        let (mut t, a, b) = table_with_two();
        let r1 = addr("127.0.0.1:1000");
        let r2 = addr("127.0.0.1:1001");
        let r3 = addr("127.0.0.1:1002");
        t.route(r1, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA"));
        t.route(r2, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA"));
        t.route(r3, &request("ufB:x", "passwordBBBBBBBBBBBBBBBB"));
        t.remove(a);
        assert_eq!(t.route(r1, DTLS), None);
        assert_eq!(
            t.route(r2, &request("ufA:x", "passwordAAAAAAAAAAAAAAAA")),
            None
        );
        assert_eq!(t.route(r3, DTLS), Some(b));
        assert!(t.set_credentials(a, "ufZ", "p").is_err());
        assert_eq!(
            t.counters(),
            MuxCounters {
                connections: 1,
                ufrags: 1,
                addresses: 1,
                transactions: 0,
                unrouted: 2
            }
        );
        t.remove(a); // twice is harmless
        t.remove(b);
        assert_eq!(t.counters().addresses, 0);
        assert_eq!(t.counters().ufrags, 0);
    }

    #[test]
    fn tables_are_bounded() {
        let mut t = MuxTable::new();
        let a = t.add().unwrap();
        t.set_credentials(a, "ufA", "pw").unwrap();
        let addrs: Vec<SocketAddr> = (0..MAX_MUX_ADDRESSES + 5)
            .map(|i| addr(&format!("127.0.0.1:{}", 1000 + i)))
            .collect();
        for r in &addrs {
            assert_eq!(t.route(*r, &request("ufA:x", "pw")), Some(a));
        }
        assert_eq!(t.addresses_of(a), addrs[5..].to_vec());
        assert_eq!(t.counters().addresses, MAX_MUX_ADDRESSES);
        assert_eq!(t.route(addrs[0], DTLS), None);
        assert_eq!(t.route(addrs[5], DTLS), Some(a));
        let mut ids = vec![a];
        while let Some(id) = t.add() {
            ids.push(id);
        }
        assert_eq!(ids.len(), MAX_MUX_CONNECTIONS);
        t.remove(ids[10]);
        let fresh = t.add().expect("room again");
        assert!(!ids.contains(&fresh), "ids are never reused");
    }
}
