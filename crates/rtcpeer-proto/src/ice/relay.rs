//! Relayed candidates (RFC 8445 §5.1.1.2) through TURN allocations (RFC 8656): one
//! [`TurnClient`] per (host socket, TURN server), its relayed address a local candidate whose
//! base is itself. Everything the agent sends from a relayed address leaves the host socket
//! towards the server, framed by the client (Send indication, or ChannelData once the
//! selected pair's channel is bound); what the server relays back is unwrapped before the
//! agent or the session sees it ([`IceAgent::handle_relay_input`]).
//!
//! TURN over TCP or TLS (RFC 8656 §3.1): the driver opens the connection to the server and
//! hands it over with [`IceAgent::add_turn_stream`]; the connection's local address stands
//! for the "host socket" of the allocation. Its transmits are whole STUN/ChannelData
//! messages (ChannelData padded to 4 bytes, §12.5) the driver writes to the stream, and what
//! it reads is cut with [`crate::turn::StreamDeframer`] and fed back as datagrams from the
//! server. Requests are not retransmitted on a stream (RFC 8489 §6.2.2); losing the
//! connection ([`IceAgent::turn_stream_lost`]) loses the allocation and its paths.

use std::net::SocketAddr;
use std::time::Instant;

use super::{
    CandidateKind, Gathering, IceAgent, IceCandidate, IceEvent, LocalCand, MAX_LOCAL_CANDIDATES,
    Transmit, candidate_priority, local_preference,
};
use crate::config::IceTransportPolicy;
use crate::error::{Error, Result};
use crate::turn::{TurnClient, TurnConfig, TurnEvent, TurnInput, TurnState};
use crate::util::SeededRandom;

/// Most TURN servers the agent allocates on.
pub const MAX_TURN_SERVERS: usize = 4;
/// Most allocations (host sockets × TURN servers) the agent keeps.
pub const MAX_RELAYS: usize = 16;

/// How the client reaches the TURN server (RFC 8656 §3.1): `RTCIceCandidate.relayProtocol`
/// of the relayed candidates (webrtc-pc §4.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayProtocol {
    /// `turn:` over UDP.
    Udp,
    /// `turn:...?transport=tcp`.
    Tcp,
    /// `turns:` (TLS over TCP).
    Tls,
}

impl RelayProtocol {
    /// The `relayProtocol` string: "udp", "tcp" or "tls" (webrtc-pc §4.8.1).
    pub fn as_str(self) -> &'static str {
        match self {
            RelayProtocol::Udp => "udp",
            RelayProtocol::Tcp => "tcp",
            RelayProtocol::Tls => "tls",
        }
    }

    /// Whether messages go over a byte stream (TCP or TLS).
    pub fn is_stream(self) -> bool {
        self != RelayProtocol::Udp
    }
}

/// A TURN server of `iceServers` with its long-term credentials (RFC 8656 §4).
#[derive(Debug, Clone)]
pub(super) struct TurnServer {
    pub(super) addr: SocketAddr,
    pub(super) username: String,
    pub(super) password: String,
    /// The URL as configured (`RTCIceCandidate.url`, `icecandidateerror`'s url).
    pub(super) url: String,
}

/// One allocation from one host socket.
#[derive(Debug)]
pub(super) struct Relay {
    /// The host socket the allocation's 5-tuple uses.
    pub(super) base: SocketAddr,
    pub(super) url: String,
    pub(super) client: TurnClient,
    /// Allocate not sent yet (it needs a time).
    pub(super) pending: bool,
    /// How the server is reached; for a stream `base` is the connection's local address.
    pub(super) protocol: RelayProtocol,
}

/// What [`IceAgent::handle_relay_input`] made of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayInput<'a> {
    /// Not from a TURN server on the socket of one of our allocations: route it as usual.
    NotRelayed,
    /// TURN signalling (a response) consumed, or relayed data dropped.
    Consumed,
    /// Data a peer sent to our relayed address `local` from `remote` (borrowed from the
    /// datagram): route it as if it had arrived on that address (RFC 8656 §11.6, §12.6).
    Data {
        /// Our relayed address.
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
        /// The payload.
        data: &'a [u8],
    },
}

impl IceAgent {
    /// Adds a TURN server (already resolved) to allocate a relayed candidate on from every
    /// host socket of the same family (RFC 8445 §5.1.1.2, RFC 8656 §6). Relayed candidates
    /// are gathered whatever the transport policy. Errors beyond [`MAX_TURN_SERVERS`].
    pub fn add_turn_server(
        &mut self,
        server: SocketAddr,
        username: &str,
        password: &str,
        url: &str,
    ) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if self.turn_servers.iter().any(|t| t.addr == server) {
            return Ok(());
        }
        if self.turn_servers.len() >= MAX_TURN_SERVERS {
            return Err(Error::operation("too many TURN servers"));
        }
        let t = TurnServer {
            addr: server,
            username: username.to_string(),
            password: password.to_string(),
            url: url.to_string(),
        };
        let bases: Vec<SocketAddr> = self.interfaces.clone();
        for base in bases {
            self.start_relay(base, &t);
        }
        self.turn_servers.push(t);
        Ok(())
    }

    /// Starts an allocation from host socket `base` on `server` (same family only).
    pub(super) fn start_relay(&mut self, base: SocketAddr, server: &TurnServer) {
        if base.is_ipv4() != server.addr.is_ipv4()
            || self.relays.len() >= MAX_RELAYS
            || self
                .relays
                .iter()
                .any(|r| r.base == base && r.client.server() == server.addr)
        {
            return;
        }
        let config = TurnConfig {
            rto: self.config.stun_rto,
            max_transmissions: self.config.stun_max_transmissions,
            last_wait: self.config.stun_last_wait,
            stream: false,
        };
        let rng = SeededRandom::new(self.rng.next_u64());
        let client = TurnClient::new(
            server.addr,
            &server.username,
            &server.password,
            config,
            Box::new(rng),
        );
        self.gathering = Gathering::Running;
        self.relays.push(Relay {
            base,
            url: server.url.clone(),
            client,
            pending: true,
            protocol: RelayProtocol::Udp,
        });
    }

    /// Allocates on a TURN server over a TCP or TLS connection the driver opened from
    /// `local` to `server` (RFC 8656 §3.1): one relayed candidate, `relayProtocol` "tcp" or
    /// "tls", `url` as configured. The connection's messages are exchanged through
    /// [`IceAgent::handle_relay_input`] and the transmits from `local` to `server`. Errors
    /// beyond [`MAX_RELAYS`] or when the agent is closed; a repeated call does nothing.
    pub fn add_turn_stream(
        &mut self,
        local: SocketAddr,
        server: SocketAddr,
        username: &str,
        password: &str,
        url: &str,
        protocol: RelayProtocol,
    ) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_state("the ICE agent is closed"));
        }
        if self
            .relays
            .iter()
            .any(|r| r.base == local && r.client.server() == server)
        {
            return Ok(());
        }
        if self.relays.len() >= MAX_RELAYS {
            return Err(Error::operation("too many TURN allocations"));
        }
        // A stream is reliable: one transmission, then Ti = 39.5 s (RFC 8489 §6.2.2).
        let rto = self.config.stun_rto.max(std::time::Duration::from_millis(1));
        let last_wait = (39_500 / rto.as_millis().max(1)).clamp(1, 64) as u32;
        let config = TurnConfig {
            rto,
            max_transmissions: 1,
            last_wait,
            stream: true,
        };
        let rng = SeededRandom::new(self.rng.next_u64());
        let client = TurnClient::new(server, username, password, config, Box::new(rng));
        self.gathering = Gathering::Running;
        self.relays.push(Relay {
            base: local,
            url: url.to_string(),
            client,
            pending: true,
            protocol,
        });
        Ok(())
    }

    /// The driver's connection from `local` to TURN server `server` closed or failed: the
    /// allocation is gone with it (RFC 8656 §3.1, §7), reported like a failed allocation
    /// (`icecandidateerror` with `code`, e.g. 701), and every path through its relayed
    /// address fails now instead of at the end of consent (RFC 7675 §5.1).
    pub fn turn_stream_lost(&mut self, local: SocketAddr, server: SocketAddr, code: u16, text: &str) {
        let Some(ri) = self
            .relays
            .iter()
            .position(|r| r.base == local && r.client.server() == server && r.protocol.is_stream())
        else {
            return;
        };
        let relayed = self.relays[ri].client.relayed_address();
        self.relays[ri].pending = false;
        self.relays[ri].client.transport_lost(code, text);
        self.drain_relay(ri);
        if let Some(relayed) = relayed {
            self.fail_paths_from(relayed);
            self.refresh_state();
        }
    }

    /// Fails every pair whose local candidate is `addr`, and the selected pair if it is
    /// one of them (consent can no longer be kept on it, RFC 7675 §5.1).
    fn fail_paths_from(&mut self, addr: SocketAddr) {
        for pi in 0..self.pairs.len() {
            let li = self.pairs[pi].local;
            if self.locals.get(li).is_some_and(|l| l.cand.addr == addr) {
                let p = &mut self.pairs[pi];
                p.state = super::CandidatePairState::Failed;
                p.tx = None;
                p.cancelled = None;
            }
        }
        if let Some(s) = self.selected.as_mut()
            && s.local.addr == addr
        {
            s.expired = true;
            s.consent.clear();
        }
    }

    /// `relayProtocol` of relayed address `addr` (webrtc-pc §4.8.1).
    pub fn relay_protocol(&self, addr: SocketAddr) -> Option<RelayProtocol> {
        self.relay_of(addr).map(|ri| self.relays[ri].protocol)
    }

    /// Whether an allocation is still being made (gathering is not complete before).
    pub(super) fn relays_gathering(&self) -> bool {
        self.relays
            .iter()
            .any(|r| r.pending || matches!(r.client.state(), TurnState::Allocating))
    }

    /// Whether some allocation's Allocate waits for a time to be sent.
    pub(super) fn relays_pending(&self) -> bool {
        self.relays.iter().any(|r| r.pending)
    }

    /// The earliest timer of the TURN clients.
    pub(super) fn relay_timeout(&self) -> Option<Instant> {
        self.relays.iter().filter_map(|r| r.client.poll_timeout()).min()
    }

    /// Sends pending Allocates and runs the clients' timers due at `now`.
    pub(super) fn relay_timers(&mut self, now: Instant) {
        for ri in 0..self.relays.len() {
            let r = &mut self.relays[ri];
            if r.pending {
                r.pending = false;
                r.client.allocate(now);
            }
            if r.client.poll_timeout().is_some_and(|t| t <= now) {
                r.client.handle_timeout(now);
            }
            self.drain_relay(ri);
        }
    }

    /// Moves a client's datagrams and events into the agent's queues.
    fn drain_relay(&mut self, ri: usize) {
        let (base, server) = (self.relays[ri].base, self.relays[ri].client.server());
        while let Some(d) = self.relays[ri].client.poll_transmit() {
            if self.transmits.len() < super::MAX_QUEUED_TRANSMITS {
                self.transmits.push_back(Transmit {
                    local: base,
                    remote: server,
                    data: d,
                    tcp: None,
                });
            }
        }
        while let Some(e) = self.relays[ri].client.poll_event() {
            match e {
                TurnEvent::Allocated {
                    relayed, mapped, ..
                } => self.add_relay_candidate(base, relayed, mapped, server),
                TurnEvent::Failed { code, text } => {
                    self.push_event(IceEvent::CandidateError {
                        address: base,
                        server,
                        error_code: code,
                        error_text: text,
                    });
                }
                TurnEvent::PermissionFailed { peer, code, text } => {
                    tracing::debug!("TURN permission for {peer} failed: {code} {text}");
                }
                TurnEvent::ChannelBindFailed { peer, code, text } => {
                    tracing::debug!("TURN channel to {peer} failed: {code} {text}");
                }
            }
        }
    }

    /// The relayed candidate of an allocation: its own base, raddr/rport the mapped address
    /// (RFC 8445 §5.1.1.2, RFC 8839 §5.1), type preference 0 (RFC 8445 §5.1.2.2).
    fn add_relay_candidate(
        &mut self,
        base: SocketAddr,
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        server: SocketAddr,
    ) {
        if self.locals.iter().any(|l| l.cand.addr == relayed)
            || self.locals.len() >= MAX_LOCAL_CANDIDATES
        {
            return;
        }
        let index = self
            .interfaces
            .iter()
            .position(|a| *a == base)
            .unwrap_or(self.interfaces.len());
        let pref = local_preference(base.ip(), index);
        let foundation = self.foundation(CandidateKind::Relay, base.ip(), Some(server.ip()));
        let cand = IceCandidate {
            kind: CandidateKind::Relay,
            addr: relayed,
            base: relayed,
            priority: candidate_priority(CandidateKind::Relay, pref, self.component),
            foundation,
            related: Some(mapped.unwrap_or(base)),
            tcp_type: None,
        };
        self.locals.push(LocalCand { cand: cand.clone() });
        let sdp = self.local_sdp(&cand);
        self.push_event(IceEvent::LocalCandidate(sdp));
        let li = self.locals.len() - 1;
        for ri in 0..self.remotes.len() {
            self.try_pair(li, ri);
        }
    }

    /// After a restart: the allocations on sockets of the new generation stay; their relayed
    /// candidates join it (RFC 8445 §9). Allocations on older sockets only serve the
    /// selected pair until [`IceAgent::prune_relays`] releases them.
    pub(super) fn readd_relay_candidates(&mut self) {
        for ri in 0..self.relays.len() {
            let r = &self.relays[ri];
            if !self.interfaces.contains(&r.base) && !r.protocol.is_stream() {
                continue;
            }
            if let TurnState::Allocated { relayed, mapped } = r.client.state().clone() {
                let (base, server) = (r.base, r.client.server());
                self.add_relay_candidate(base, relayed, mapped, server);
            }
        }
    }

    /// Releases (Refresh LIFETIME 0, RFC 8656 §7) the allocations that no longer serve
    /// anything: on a socket of an older generation and not carrying the selected pair.
    pub(super) fn prune_relays(&mut self, now: Instant) {
        let selected = self
            .selected
            .as_ref()
            .filter(|s| !s.expired)
            .map(|s| s.local.base);
        let mut ri = 0;
        while ri < self.relays.len() {
            let r = &self.relays[ri];
            let keep = self.interfaces.contains(&r.base)
                || r.protocol.is_stream()
                || (selected.is_some() && r.client.relayed_address() == selected);
            if keep {
                ri += 1;
                continue;
            }
            self.relays[ri].client.close(now);
            self.drain_relay(ri);
            self.relays.swap_remove(ri);
        }
    }

    /// The allocation whose relayed address is `addr`.
    fn relay_of(&self, addr: SocketAddr) -> Option<usize> {
        if self.relays.is_empty() {
            return None;
        }
        self.relays
            .iter()
            .position(|r| r.client.relayed_address() == Some(addr))
    }

    /// Whether `addr` is the relayed address of one of our allocations.
    pub fn is_relayed_address(&self, addr: SocketAddr) -> bool {
        self.relay_of(addr).is_some()
    }

    /// The TURN URL (as configured) whose allocation gave relayed address `addr`
    /// (`RTCIceCandidate.url`, webrtc-pc §4.8.1).
    pub fn relay_url(&self, addr: SocketAddr) -> Option<&str> {
        self.relay_of(addr).map(|ri| self.relays[ri].url.as_str())
    }

    /// Whether host socket `addr` carries an allocation (the driver must keep it).
    pub(super) fn relay_uses_socket(&self, addr: SocketAddr) -> bool {
        self.relays.iter().any(|r| {
            r.base == addr && matches!(r.client.state(), TurnState::Allocated { .. })
        })
    }

    /// Frames a datagram that is to leave relayed address `local` for `remote`: the payload
    /// `buf[start..]` gets its Send indication or ChannelData header in place (RFC 8656
    /// §11.1, §12.4), after a CreatePermission for the peer when it has none yet (queued
    /// first, RFC 8656 §9.1). Returns the path it now takes (host socket, TURN server), or
    /// `None` when `local` is not a relayed address (nothing changed).
    pub fn relay_wrap(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let ri = self.relay_of(local)?;
        if let Some(now) = self.last_now {
            let _ = self.relays[ri].client.create_permission(now, remote.ip());
            self.drain_relay(ri);
        }
        let r = &mut self.relays[ri];
        r.client.wrap(remote, buf, start).ok()?;
        Some((r.base, r.client.server()))
    }

    /// Whether datagrams from relayed address `local` to `remote` go as ChannelData (a
    /// channel is bound): the caller may then leave 4 bytes of room before the payload and
    /// frame it with [`IceAgent::relay_fill_channel`] (RFC 8656 §12.4).
    pub fn relay_channel_ready(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.relay_of(local)
            .is_some_and(|ri| self.relays[ri].client.channel(remote).is_some())
    }

    /// Writes the ChannelData header into the 4 bytes left free at `buf[start..]` before a
    /// payload from relayed address `local` to `remote`; returns the path it now takes (host
    /// socket, TURN server), or `None` (nothing changed) when no channel is bound.
    pub fn relay_fill_channel(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let r = &self.relays[self.relay_of(local)?];
        r.client.fill_channel_header(remote, buf, start).ok()?;
        Some((r.base, r.client.server()))
    }

    /// Feeds a datagram first to the TURN client whose 5-tuple it matches (`local` host
    /// socket, `remote` the server). Relayed data comes back as [`RelayInput::Data`] on our
    /// relayed address, to be handled like any datagram there ([`IceAgent::handle_packet`],
    /// DTLS, SRTP); TURN signalling is consumed here.
    pub fn handle_relay_input<'a>(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &'a [u8],
    ) -> RelayInput<'a> {
        if self.relays.is_empty() || self.closed {
            return RelayInput::NotRelayed;
        }
        let Some(ri) = self
            .relays
            .iter()
            .position(|r| r.base == local && r.client.server() == remote)
        else {
            return RelayInput::NotRelayed;
        };
        self.last_now = Some(now);
        let input = self.relays[ri].client.handle_input(now, data);
        self.drain_relay(ri);
        match input {
            TurnInput::Data { peer, data } => match self.relays[ri].client.relayed_address() {
                Some(relayed) => RelayInput::Data {
                    local: relayed,
                    remote: peer,
                    data,
                },
                None => RelayInput::Consumed,
            },
            TurnInput::Consumed | TurnInput::Dropped => RelayInput::Consumed,
            // E.g. the answer to a Binding request for a server-reflexive candidate from the
            // same server (a `stun:` and a `turn:` URL of one coturn).
            TurnInput::NotOurs => RelayInput::NotRelayed,
        }
    }

    /// The selected pair uses relayed address `local`: bind a channel to `remote` so data
    /// costs a 4-byte header (RFC 8656 §12).
    pub(super) fn relay_bind_channel(&mut self, now: Instant, local: SocketAddr, remote: SocketAddr) {
        let Some(ri) = self.relay_of(local) else {
            return;
        };
        let _ = self.relays[ri].client.bind_channel(now, remote);
        self.drain_relay(ri);
    }

    /// Relay policy: whether local candidate `kind` may be used (webrtc-pc §4.2.2).
    pub(super) fn policy_allows(&self, kind: CandidateKind) -> bool {
        self.transport_policy == IceTransportPolicy::All || kind == CandidateKind::Relay
    }

    /// After [`IceAgent::close`]: the datagrams closing left (TURN deallocations), for the
    /// driver's last flush.
    pub fn poll_closed_transmit(&mut self) -> Option<Transmit> {
        if self.closed {
            self.transmits.pop_front()
        } else {
            None
        }
    }

    /// Releases every allocation (Refresh with LIFETIME 0, RFC 8656 §7), queued after
    /// everything else.
    pub(super) fn close_relays(&mut self, now: Instant) {
        for ri in 0..self.relays.len() {
            self.relays[ri].client.close(now);
            self.drain_relay(ri);
        }
    }
}
