//! RTCP on an ICE component of its own, beside the primary transport (RFC 5761 not
//! negotiated; `rtcpMuxPolicy` "negotiate", RFC 9429 §4.1.1).
//!
//! Under "negotiate" our offers still carry `a=rtcp-mux`, and while the answer is awaited
//! the primary transport also gathers component 2 (RFC 9429 §4.1.1: "gather both RTP and
//! RTCP candidates"); the answer decides ([`RtcpComponentMode`]): with `a=rtcp-mux` the
//! component is dropped (its agent closes, its sockets are released once unused); without
//! it (or when we answer an offer without it) RTP stays on component 1 and RTCP moves to
//! component 2. The component is its own [`IceAgent`] (component id 2, the same credentials
//! and tie-breaker as component 1: RFC 8445 §5.3 / §7.1.3; foundations and the frozen
//! algorithm run per component, as libwebrtc did with one channel per component), on sockets
//! of its own (so the peer's RTCP finds it by 5-tuple), with its own DTLS association whose
//! exported keys protect SRTCP (RFC 5764 §4.1: "a separate DTLS-SRTP session for each
//! component"; libwebrtc's former `DtlsSrtpTransport` took the RTCP component's keys for
//! SRTCP the same way). The RTP session (`media.rs`) stays one: its RTCP leaves on this
//! component's selected pair and what arrives here goes to it.
//!
//! Only the primary transport gets a component 2 (the further transports of an unbundled
//! session keep RTCP multiplexed), and only when the driver binds sockets at any time
//! (`Input::IoReady { fresh_sockets_on_restart: true }`); a sans-IO caller sharing one socket
//! keeps RTCP multiplexed. The component's candidates are capped like the primary's
//! (`MAX_LOCAL_CANDIDATES` local; the agent's `max_remote_candidates` and
//! `max_peer_reflexive_candidates` remote).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::connection::{DtlsRole, IceCredentials};
use crate::dtls::{
    DtlsConnection, DtlsEvent, DtlsRole as WireRole, DtlsTransportState, RemoteFingerprints,
};
use crate::ice::{IceAgent, IceConnectionState, IceEvent, MAX_LOCAL_CANDIDATES};
use crate::negotiator::negotiated::{
    Negotiated, NegotiatedDtls, RemoteCandidate, RtcpComponentMode,
};
use crate::session::demux::Class;
use crate::session::ice::IceTransportId;
use crate::session::scheduler::Transmit as SessionTransmit;
use crate::session::timers::TimerName;
use crate::session::{Session, SessionOut};
use crate::util::SeededRandom;

/// The ICE component id of RTCP when it is not multiplexed (RFC 8445 §4, RFC 5761 §1).
pub const RTCP_COMPONENT: u16 = 2;

/// What the RTCP component did (RFC 5761 not negotiated): its states, sockets and
/// datagram counters, so an application or test can see RTCP flow on component 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpComponentStats {
    /// Whether RTCP flows on this component (the exchange has no `a=rtcp-mux`); `false`
    /// while our offer waits for its answer.
    pub in_use: bool,
    /// Its ICE connection state (RFC 8445 §6.1.3).
    pub ice_state: IceConnectionState,
    /// Its DTLS association's state (RFC 5764 §4.1).
    pub dtls_state: DtlsTransportState,
    /// Its own sockets.
    pub local_addresses: Vec<SocketAddr>,
    /// Its selected pair (local, remote).
    pub selected_pair: Option<(SocketAddr, SocketAddr)>,
    /// Its local candidates signalled so far (component 2).
    pub local_candidates: usize,
    /// SRTCP datagrams received on its sockets from a known path.
    pub rtcp_received: u64,
    /// SRTCP datagrams sent on its selected pair.
    pub rtcp_sent: u64,
    /// Other datagrams received on its sockets and dropped (RTP, unknown paths).
    pub dropped: u64,
}

/// The RTCP component of the primary transport (see the module documentation).
pub(crate) struct RtcpComponent {
    /// The id its socket requests go under (`Session::binding`); never an `RTCIceTransport`.
    id: IceTransportId,
    mode: RtcpComponentMode,
    agent: IceAgent,
    local_creds: IceCredentials,
    remote_creds: Option<IceCredentials>,
    connection: IceConnectionState,
    /// IPs whose socket is still to be asked for.
    to_bind: Vec<IpAddr>,
    /// Its own sockets.
    local_addrs: Vec<SocketAddr>,
    /// Component-2 candidates signalled in the current generation (at most
    /// `MAX_LOCAL_CANDIDATES`), written again into each new local description.
    gathered: Vec<crate::sdp::Candidate>,
    /// Its gathering completed in the current generation.
    gathering_done: bool,
    /// Component 1 finished gathering first: its completion (end-of-candidates, the
    /// gathering states) waits for this component's, so the descriptions list both.
    held_completion: bool,
    dtls: Option<DtlsConnection>,
    dtls_state: DtlsTransportState,
    /// DTLS is to start at the next timer (the role and fingerprints are known).
    dtls_wanted: bool,
    negotiated_dtls: Option<NegotiatedDtls>,
    /// Where DTLS replies go before ICE selected a pair.
    fallback_path: Option<(SocketAddr, SocketAddr)>,
    rtcp_received: u64,
    rtcp_sent: u64,
    dropped: u64,
}

impl std::fmt::Debug for RtcpComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcpComponent")
            .field("mode", &self.mode)
            .field("connection", &self.connection)
            .field("dtls_state", &self.dtls_state)
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

impl RtcpComponent {
    fn close(&mut self) {
        self.agent.close();
        if let Some(d) = self.dtls.as_mut() {
            d.close();
        }
        self.connection = IceConnectionState::Closed;
        self.dtls_state = DtlsTransportState::Closed;
    }

    fn in_use(&self) -> bool {
        self.mode == RtcpComponentMode::Separate
    }
}

impl Session {
    /// After every applied description or rollback (following the primary's ICE hooks):
    /// the RTCP component is created, kept, restarted with component 1's new credentials,
    /// put in use, or dropped, as `negotiated.rtcp` says.
    pub(crate) fn rtcp_applied(&mut self, negotiated: &Negotiated) {
        if self.is_closed() {
            return;
        }
        let mode = negotiated.rtcp;
        let primary_creds = self.ice.local_creds.clone();
        if mode == RtcpComponentMode::Muxed || primary_creds.is_none() {
            self.rtcp_drop();
            return;
        }
        let Some(creds) = primary_creds else {
            return;
        };
        if self.rtcp.is_none() && !self.rtcp_create(creds.clone()) {
            return;
        }
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        if r.local_creds != creds {
            // Component 1 restarted (RFC 8445 §9): component 2 restarts with it, on new
            // sockets.
            r.agent.restart_on_new_interfaces(&creds.ufrag, &creds.pwd);
            for a in r.local_addrs.drain(..) {
                if !r.to_bind.contains(&a.ip()) {
                    r.to_bind.push(a.ip());
                }
            }
            r.local_creds = creds;
            r.remote_creds = None;
            r.gathered.clear();
            r.gathering_done = false;
        }
        r.mode = mode;
        r.negotiated_dtls = negotiated.dtls.clone();
        if mode == RtcpComponentMode::Separate
            && r.negotiated_dtls.is_some()
            && r.dtls_state == DtlsTransportState::New
        {
            r.dtls_wanted = true;
        }
        self.media.set_rtcp_separate(mode == RtcpComponentMode::Separate);
        if let Some(ice) = negotiated.ice.as_ref() {
            self.rtcp_sync_remote(&ice.remote_candidates, ice.remote_end_of_candidates);
        }
        self.rtcp_pump();
        self.timers.defer();
    }

    /// Creates the component beside the primary agent; whether it exists now.
    fn rtcp_create(&mut self, creds: IceCredentials) -> bool {
        let Some((tie_breaker, controlling)) = self
            .ice_agent()
            .map(|a| (a.tie_breaker(), a.is_controlling()))
        else {
            return false;
        };
        let have_sockets = !self.ice.local_addresses().is_empty();
        if have_sockets && !self.fresh_sockets() {
            tracing::debug!("no sockets of its own for RTCP: RTCP stays on component 1");
            return false;
        }
        let mut agent = IceAgent::new(
            self.ice.agent_config(),
            SeededRandom::new(self.rng.next_u64()),
        );
        agent.set_component(RTCP_COMPONENT);
        agent.set_tie_breaker(tie_breaker);
        agent.set_role(controlling);
        agent.set_transport_policy(self.config.ice_transport_policy);
        agent.set_local_credentials(&creds.ufrag, &creds.pwd);
        // Gathering waits for its own sockets.
        agent.await_interfaces();
        // STUN only: TURN allocations serve component 1.
        for (addr, _, turn) in self.stun_server_addrs() {
            if turn.is_none() {
                let _ = agent.add_stun_server(addr);
            }
        }
        let mut to_bind: Vec<IpAddr> = Vec::new();
        for a in self.ice.local_addresses() {
            if !to_bind.contains(&a.ip()) {
                to_bind.push(a.ip());
            }
        }
        let id = self.ice.new_transport_id();
        self.rtcp = Some(RtcpComponent {
            id,
            mode: RtcpComponentMode::Gather,
            agent,
            local_creds: creds,
            remote_creds: None,
            connection: IceConnectionState::New,
            to_bind,
            local_addrs: Vec::new(),
            gathered: Vec::new(),
            gathering_done: false,
            held_completion: false,
            dtls: None,
            dtls_state: DtlsTransportState::New,
            dtls_wanted: false,
            negotiated_dtls: None,
            fallback_path: None,
            rtcp_received: 0,
            rtcp_sent: 0,
            dropped: 0,
        });
        true
    }

    /// The component goes (rtcp-mux accepted, "require", rollback, no sockets of its own):
    /// its agent and DTLS close, its sockets are no longer used, and a completion of
    /// component 1's gathering it held is released.
    fn rtcp_drop(&mut self) {
        self.media.set_rtcp_separate(false);
        let Some(mut r) = self.rtcp.take() else {
            return;
        };
        r.close();
        if self.binding == Some(Some(r.id)) {
            self.binding = None;
        }
        if r.held_completion {
            self.primary_gathering_complete();
        }
    }

    /// Gives the component the remote credentials component 1 uses and the remote
    /// component-2 candidates (the agent ignores the others, RFC 8445 §6.1.2.2).
    fn rtcp_sync_remote(&mut self, candidates: &[crate::sdp::Candidate], end: bool) {
        let remote = self.ice.remote_creds.clone();
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        let Some(rc) = remote else {
            return;
        };
        if r.remote_creds.as_ref() != Some(&rc) {
            r.agent.set_remote_credentials(&rc.ufrag, &rc.pwd);
            r.remote_creds = Some(rc);
        }
        for c in candidates.iter().filter(|c| c.component == RTCP_COMPONENT) {
            if let Err(e) = r.agent.add_remote_candidate(c.clone()) {
                tracing::debug!("remote RTCP candidate not used: {e}");
            }
        }
        if end {
            r.agent.end_of_remote_candidates();
        }
    }

    /// `addIceCandidate` for the primary transport's tag section: a component-2 candidate
    /// (or end-of-candidates) reaches the RTCP component.
    pub(crate) fn rtcp_remote_candidate(&mut self, rc: &RemoteCandidate) {
        if self.rtcp.is_none() || !rc.for_tag || rc.remote != self.ice.remote_creds {
            return;
        }
        match rc.candidate.as_ref() {
            Some(c) if c.component == RTCP_COMPONENT => {
                self.rtcp_sync_remote(std::slice::from_ref(c), false);
            }
            Some(_) => return,
            None => self.rtcp_sync_remote(&[], true),
        }
        self.rtcp_pump();
    }

    /// Writes the component-2 candidates gathered under `ufrag` into the local descriptions
    /// again (a new local description of the same generation), before component 1's
    /// end-of-candidates.
    pub(super) fn rtcp_replay(&mut self, ufrag: &str) {
        let Some(r) = self.rtcp.as_ref().filter(|r| r.local_creds.ufrag == ufrag) else {
            return;
        };
        let again: Vec<SessionOut> = r
            .gathered
            .iter()
            .map(|c| SessionOut::LocalCandidate {
                ufrag: ufrag.to_string(),
                candidate: Some(c.clone()),
                announce: false,
            })
            .collect();
        for out in again {
            self.push_out(out);
        }
    }

    /// Whether component 1's gathering must wait: the component has not finished yet. It
    /// then releases component 1's completion when it finishes.
    pub(super) fn rtcp_hold_completion(&mut self) -> bool {
        match self.rtcp.as_mut() {
            Some(r) if !r.gathering_done => {
                r.held_completion = true;
                true
            }
            _ => false,
        }
    }

    /// Whether datagrams on `local` are the component's (it has its own sockets).
    #[inline]
    pub(super) fn rtcp_owns(&self, local: SocketAddr) -> bool {
        self.rtcp
            .as_ref()
            .is_some_and(|r| r.local_addrs.contains(&local) || r.agent.uses_local_address(local))
    }

    /// A datagram on one of the component's sockets: STUN to its agent, DTLS to its own
    /// association, SRTCP to the RTP session (from a path its agent knows, RFC 8445
    /// §7.3.1.4); the rest is counted and dropped. Whether its agent took it as STUN.
    pub(super) fn rtcp_handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        class: Class,
        data: &[u8],
    ) -> bool {
        let Some(r) = self.rtcp.as_mut() else {
            return false;
        };
        let taken = match class {
            Class::Stun => r.agent.handle_packet(now, local, remote, data),
            _ => {
                r.agent.note_time(now);
                false
            }
        };
        let known = r.agent.knows_path(local, remote);
        match class {
            Class::Stun => {}
            Class::Dtls if known => {
                if r.dtls.is_none() {
                    let d = make_dtls(self);
                    if let Some(r) = self.rtcp.as_mut() {
                        r.dtls = d;
                    }
                }
                let Some(r) = self.rtcp.as_mut() else {
                    return taken;
                };
                r.fallback_path = Some((local, remote));
                if let Some(d) = r.dtls.as_mut() {
                    d.handle_record(now, data);
                }
            }
            Class::Rtcp if known && r.in_use() => {
                r.rtcp_received = r.rtcp_received.saturating_add(1);
                self.media.handle_rtcp(now, data);
            }
            _ => r.dropped = r.dropped.saturating_add(1),
        }
        self.rtcp_dtls_pump(now);
        self.rtcp_pump();
        taken
    }

    /// Where RTCP leaves while it is not multiplexed: the component's selected pair
    /// (`None` until it has one: the packet is dropped, as RTP is before ICE connects).
    pub(super) fn rtcp_path(&mut self) -> Option<(SocketAddr, SocketAddr)> {
        let r = self.rtcp.as_mut().filter(|r| r.in_use())?;
        let path = r.agent.selected_pair()?;
        r.rtcp_sent = r.rtcp_sent.saturating_add(1);
        Some(path)
    }

    /// Whether RTCP leaves on component 2.
    #[inline]
    pub(super) fn rtcp_separate(&self) -> bool {
        self.rtcp.as_ref().is_some_and(RtcpComponent::in_use)
    }

    /// The component's next datagram: STUN, then DTLS.
    pub(super) fn rtcp_poll_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<SessionTransmit> {
        let r = self.rtcp.as_mut()?;
        if let Some(t) = super::transports::poll_stun_then_dtls(
            &mut r.agent,
            r.dtls.as_mut(),
            r.fallback_path,
            now,
            out,
        ) {
            return Some(t);
        }
        self.rtcp_pump();
        None
    }

    /// The component's earliest timer (its agent's, its DTLS's).
    pub(super) fn rtcp_next_timer(&self) -> Option<(Instant, TimerName)> {
        let r = self.rtcp.as_ref()?;
        let ice = r.agent.next_timer().map(|(t, n)| (t, TimerName::Ice(n)));
        let dtls = r
            .dtls
            .as_ref()
            .and_then(DtlsConnection::poll_timeout)
            .map(|t| (t, TimerName::Dtls));
        super::timers::earliest([ice, dtls])
    }

    /// Runs the component's timers and deferred work (starting its DTLS).
    pub(super) fn rtcp_handle_timeout(&mut self, now: Instant) {
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        r.agent.handle_timeout(now);
        if let Some(d) = r.dtls.as_mut() {
            d.handle_timeout(now);
        }
        self.rtcp_pump();
        self.rtcp_dtls_pump(now);
    }

    /// Starts the component's DTLS when due (the role and fingerprints of component 1,
    /// RFC 5764 §4.1) and hands its exported keys to SRTCP.
    fn rtcp_dtls_pump(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.rtcp.as_ref().is_some_and(|r| r.dtls_wanted && r.dtls.is_none()) {
            let d = make_dtls(self);
            if let Some(r) = self.rtcp.as_mut() {
                r.dtls = d;
            }
        }
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        if r.dtls_wanted {
            r.dtls_wanted = false;
            let nd = r.negotiated_dtls.clone();
            let fps = nd.as_ref().map_or(&[][..], |d| &d.remote_fingerprints[..]);
            let wire = match nd.as_ref().map(|d| d.role) {
                Some(DtlsRole::Client) => WireRole::Client,
                _ => WireRole::Server,
            };
            match (RemoteFingerprints::new(fps), r.dtls.as_mut()) {
                (Ok(f), Some(d)) => match d.start(now, wire, f) {
                    Ok(()) => r.dtls_state = DtlsTransportState::Connecting,
                    Err(e) => tracing::debug!("RTCP component's DTLS not started: {e}"),
                },
                (Err(e), _) => {
                    tracing::warn!("RTCP component's DTLS cannot start: {e}");
                    r.dtls_state = DtlsTransportState::Failed;
                }
                (Ok(_), None) => r.dtls_state = DtlsTransportState::Failed,
            }
        }
        while let Some(ev) = self
            .rtcp
            .as_mut()
            .and_then(|r| r.dtls.as_mut())
            .and_then(DtlsConnection::poll_event)
        {
            let Some(r) = self.rtcp.as_mut() else {
                return;
            };
            match ev {
                DtlsEvent::Connected(c) => {
                    r.dtls_state = DtlsTransportState::Connected;
                    let client = r
                        .negotiated_dtls
                        .as_ref()
                        .is_some_and(|d| d.role == DtlsRole::Client);
                    if let Some(km) = c.srtp.as_ref() {
                        self.media.rtcp_keys_ready(km, client);
                    }
                }
                DtlsEvent::ApplicationData(d) => {
                    // Nothing but the handshake runs on this association.
                    if let Some(dtls) = r.dtls.as_mut() {
                        dtls.recycle(d);
                    }
                }
                DtlsEvent::Failed(f) => {
                    tracing::debug!("RTCP component's DTLS failed: {f}");
                    r.dtls_state = DtlsTransportState::Failed;
                }
                DtlsEvent::Closed => r.dtls_state = DtlsTransportState::Closed,
            }
        }
    }

    /// Turns the component's agent events into candidates for the descriptions and
    /// `icecandidate` (component 2, in the primary's tag section, RFC 8839 §5.1).
    fn rtcp_pump(&mut self) {
        if self.is_closed() {
            return;
        }
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        while let Some(ev) = r.agent.poll_event() {
            events.push(ev);
        }
        for ev in events {
            let Some(r) = self.rtcp.as_mut() else {
                return;
            };
            let ufrag = r.local_creds.ufrag.clone();
            match ev {
                IceEvent::LocalCandidate(c)
                    if crate::ice::candidate::extension(&c, "ufrag") != Some(ufrag.as_str()) => {}
                IceEvent::LocalCandidate(c) => {
                    if r.gathered.len() < MAX_LOCAL_CANDIDATES {
                        r.gathered.push(c.clone());
                        self.push_out(SessionOut::LocalCandidate {
                            ufrag,
                            candidate: Some(c),
                            announce: true,
                        });
                    }
                }
                IceEvent::GatheringComplete => {
                    r.gathering_done = true;
                    if std::mem::take(&mut r.held_completion) {
                        self.primary_gathering_complete();
                    }
                }
                IceEvent::StateChange(s) => {
                    tracing::debug!("RTCP component: ICE {s}");
                    r.connection = s;
                }
                IceEvent::SelectedPairChanged(p) => {
                    tracing::debug!("RTCP component: selected pair {} -> {}", p.local_addr, p.remote_addr);
                }
                IceEvent::CandidateError { error_text, .. } => {
                    tracing::debug!("RTCP component: candidate error {error_text}");
                }
                IceEvent::ResolveMdns { name } => self.ice.queue_mdns(name),
            }
        }
    }

    /// A socket of component 1: one of the component's own is asked on its IP (or, when
    /// the driver cannot bind at will, the component goes: RTCP stays multiplexed).
    pub(super) fn rtcp_note_primary_address(&mut self, addr: SocketAddr) {
        if self.rtcp.is_none() {
            return;
        }
        if !self.fresh_sockets() {
            tracing::debug!("no sockets of its own for RTCP: RTCP stays on component 1");
            self.rtcp_drop();
            return;
        }
        if let Some(r) = self.rtcp.as_mut()
            && !r.to_bind.contains(&addr.ip())
            && !r.local_addrs.iter().any(|a| a.ip() == addr.ip())
        {
            r.to_bind.push(addr.ip());
        }
    }

    /// The IPs on which the driver is to bind the component's sockets (while no other
    /// binding is under way, so every reported socket has one owner).
    pub(super) fn next_rtcp_bind(&mut self) -> Option<Vec<IpAddr>> {
        if self.binding.is_some() || !self.fresh_sockets() {
            return None;
        }
        let r = self.rtcp.as_mut().filter(|r| !r.to_bind.is_empty())?;
        r.agent.await_interfaces();
        self.binding = Some(Some(r.id));
        Some(std::mem::take(&mut r.to_bind))
    }

    /// Whether binding `id` is the component's.
    pub(super) fn rtcp_binding(&self, id: IceTransportId) -> bool {
        self.rtcp.as_ref().is_some_and(|r| r.id == id)
    }

    /// A socket the driver bound for the component.
    pub(super) fn rtcp_own_address(&mut self, addr: SocketAddr) {
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        if r.local_addrs.len() < crate::ice::MAX_LOCAL_INTERFACES && !r.local_addrs.contains(&addr) {
            r.local_addrs.push(addr);
            if let Err(e) = r.agent.add_local_interface(addr) {
                tracing::debug!("local address {addr} not used for RTCP: {e}");
            }
        }
        self.rtcp_pump();
    }

    /// Every socket asked for the component was reported: its gathering may complete. When
    /// the driver could bind none, the component goes (RTCP stays on component 1, and
    /// component 1's gathering is not held).
    pub(super) fn rtcp_sockets_complete(&mut self) {
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        if r.local_addrs.is_empty() && r.to_bind.is_empty() {
            tracing::debug!("no socket could be bound for RTCP: RTCP stays on component 1");
            self.rtcp_drop();
            return;
        }
        if r.to_bind.is_empty() {
            r.agent.interfaces_complete();
        }
        self.rtcp_pump();
    }

    /// Whether the component uses the socket bound on `addr`.
    pub(super) fn rtcp_uses_local_address(&self, addr: SocketAddr) -> bool {
        self.rtcp
            .as_ref()
            .is_some_and(|r| r.local_addrs.contains(&addr) || r.agent.uses_local_address(addr))
    }

    /// A remote mDNS name resolved (or not) for the component's agent too.
    pub(super) fn rtcp_mdns_resolved(&mut self, name: &str, ip: Option<IpAddr>) {
        let Some(r) = self.rtcp.as_mut() else {
            return;
        };
        match ip {
            Some(ip) => r.agent.resolved_mdns(name, ip),
            None => r.agent.unresolved_mdns(name),
        }
        self.rtcp_pump();
    }

    /// `close()`: the component closes without events.
    pub(super) fn rtcp_close(&mut self) {
        if let Some(r) = self.rtcp.as_mut() {
            r.close();
        }
    }

    /// The RTCP component's states and counters; `None` when RTCP is multiplexed on
    /// component 1 (RFC 5761) or not negotiated yet.
    pub fn rtcp_component_stats(&self) -> Option<RtcpComponentStats> {
        let r = self.rtcp.as_ref()?;
        Some(RtcpComponentStats {
            in_use: r.in_use(),
            ice_state: r.connection,
            dtls_state: r.dtls_state,
            local_addresses: r.local_addrs.clone(),
            selected_pair: r.agent.selected_pair(),
            local_candidates: r.gathered.len(),
            rtcp_received: r.rtcp_received,
            rtcp_sent: r.rtcp_sent,
            dropped: r.dropped,
        })
    }

    /// The component's agent (tests).
    #[cfg(test)]
    pub(crate) fn rtcp_agent(&self) -> Option<&IceAgent> {
        self.rtcp.as_ref().map(|r| &r.agent)
    }
}

/// A DTLS association with the session's certificate and settings.
fn make_dtls(s: &Session) -> Option<DtlsConnection> {
    super::data::dtls_config(&s.settings.dtls)
        .and_then(|config| DtlsConnection::new(s.certificate.clone(), &config))
        .map_err(|e| tracing::warn!("RTCP component's DTLS cannot be created: {e}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, Instant, SystemTime};

    use crate::cert::{Certificate, CertificateParams};
    use crate::codecs::MediaKind;
    use crate::config::{Configuration, RtcpMuxPolicy};
    use crate::connection::{
        Core, CoreSettings, Event, Input, IoRequest, OfferOptions, OutgoingRtp, Output,
        PeerConnectionState, SdpType, SessionDescription, TransceiverId,
    };
    use crate::dtls::DtlsTransportState;
    use crate::error::ErrorKind;
    use crate::ice::IceAgentConfig;
    use crate::negotiator::types::RtpTransceiverDirection;
    use crate::sdp::{Attribute as A, Sdp};
    use crate::session::demux::Class;
    use crate::util::SeededRandom;

    const LATENCY: Duration = Duration::from_millis(5);

    fn core(policy: RtcpMuxPolicy, seed: u64) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        let config = Configuration {
            rtcp_mux_policy: policy,
            ..Configuration::default()
        };
        let mut c = Core::new(
            config,
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(seed)),
        );
        c.configure_ice(IceAgentConfig::default(), Box::new(SeededRandom::new(seed ^ 0x77)));
        c
    }

    /// Two cores driven through the sans-IO interface alone (`handle_input` /
    /// `poll_output`), with a driver that binds the sockets it is asked for, over a virtual
    /// network with a virtual clock.
    struct Net {
        cores: [Core; 2],
        /// Each core's sockets: the first is its primary one.
        sockets: [Vec<SocketAddr>; 2],
        next_port: [u16; 2],
        /// Sockets each core was told to close.
        unused: [Vec<SocketAddr>; 2],
        /// The driver binds no socket it is asked for (a failed bind).
        refuse_binds: bool,
        now: Instant,
        in_flight: VecDeque<(Instant, usize, SocketAddr, SocketAddr, Vec<u8>)>,
        /// Datagrams delivered: (receiving core, class, socket).
        delivered: Vec<(usize, Class, SocketAddr)>,
    }

    impl Net {
        fn new(policies: [RtcpMuxPolicy; 2], seed: u64) -> Net {
            let now = Instant::now();
            let mut n = Net {
                cores: [core(policies[0], seed), core(policies[1], seed + 1)],
                sockets: [Vec::new(), Vec::new()],
                next_port: [1000, 2000],
                unused: [Vec::new(), Vec::new()],
                refuse_binds: false,
                now,
                in_flight: VecDeque::new(),
                delivered: Vec::new(),
            };
            for i in 0..2 {
                let c = &mut n.cores[i];
                c.handle_input(now, Input::IoReady { fresh_sockets_on_restart: true })
                    .unwrap();
                c.set_wall_clock(now, Duration::from_secs(1_800_000_000));
            }
            n
        }

        fn ip(i: usize) -> IpAddr {
            [[10, 0, 0, 1], [10, 0, 0, 2]][i].into()
        }

        fn bind(&mut self, i: usize) -> SocketAddr {
            let addr = SocketAddr::new(Self::ip(i), self.next_port[i]);
            self.next_port[i] += 1;
            self.sockets[i].push(addr);
            self.cores[i].handle_input(self.now, Input::LocalAddress(addr)).unwrap();
            addr
        }

        /// Everything each core has to output now, handled as a driver would.
        fn pump(&mut self) {
            let mut buf = Vec::new();
            loop {
                let mut moved = false;
                for i in 0..2 {
                    loop {
                        buf.clear();
                        match self.cores[i].poll_output(&mut buf) {
                            Output::Transmit(t) => {
                                moved = true;
                                assert!(self.sockets[i].contains(&t.local), "{t:?}");
                                let to = 1 - i;
                                if self.sockets[to].contains(&t.remote) {
                                    self.in_flight.push_back((
                                        self.now + LATENCY,
                                        to,
                                        t.local,
                                        t.remote,
                                        buf.clone(),
                                    ));
                                }
                            }
                            Output::Event(Event::Io(IoRequest::Start)) => {
                                moved = true;
                                if self.sockets[i].is_empty() {
                                    self.bind(i);
                                    self.cores[i]
                                        .handle_input(self.now, Input::LocalAddressesDone)
                                        .unwrap();
                                }
                            }
                            Output::Event(Event::Io(IoRequest::BindSockets(ips))) => {
                                moved = true;
                                for _ in ips {
                                    if !self.refuse_binds {
                                        self.bind(i);
                                    }
                                }
                                self.cores[i]
                                    .handle_input(self.now, Input::LocalAddressesDone)
                                    .unwrap();
                            }
                            Output::Event(Event::Io(IoRequest::SocketUnused(a))) => {
                                moved = true;
                                self.unused[i].push(a);
                            }
                            Output::Event(_) => moved = true,
                            Output::Timeout(_) => break,
                        }
                    }
                }
                if !moved {
                    return;
                }
            }
        }

        /// Runs `d` of virtual time: timers, deliveries, and `each_20ms` every 20 ms.
        fn run(&mut self, d: Duration, mut each_20ms: impl FnMut(&mut Net)) {
            let end = self.now + d;
            let mut tick = self.now;
            loop {
                self.pump();
                if self.now >= end {
                    return;
                }
                if self.now >= tick {
                    each_20ms(self);
                    tick = self.now + Duration::from_millis(20);
                    continue;
                }
                let next = self
                    .cores
                    .iter_mut()
                    .filter_map(|c| c.poll_timeout())
                    .chain(self.in_flight.front().map(|d| d.0))
                    .chain([tick, end])
                    .min()
                    .unwrap();
                self.now = next.max(self.now);
                for c in &mut self.cores {
                    c.handle_input(self.now, Input::Timeout).unwrap();
                }
                while let Some((at, to, from, dest, data)) = self.in_flight.front().cloned()
                    && at <= self.now
                {
                    self.in_flight.pop_front();
                    let class = crate::session::demux::classify(&data);
                    self.delivered.push((to, class, dest));
                    self.cores[to]
                        .handle_input(self.now, Input::Datagram { local: dest, remote: from, data: &data })
                        .unwrap();
                }
            }
        }

        /// Audio and video transceivers on `a`, its offer applied and gathered.
        fn offer(&mut self) -> SessionDescription {
            let dir = RtpTransceiverDirection::SendRecv;
            let a = &mut self.cores[0];
            a.add_transceiver(MediaKind::Audio, None, dir, Vec::new(), true).unwrap();
            a.add_transceiver(MediaKind::Video, None, dir, Vec::new(), true).unwrap();
            let offer = a.create_offer(&OfferOptions::default()).unwrap();
            a.set_local_description(Some(offer)).unwrap();
            self.run(Duration::from_millis(200), |_| {});
            self.cores[0].local_description().unwrap()
        }

        /// `b` answers `offer` (sending both ways), gathered; `a` applies the answer.
        fn answer(&mut self, offer: SessionDescription) -> SessionDescription {
            let b = &mut self.cores[1];
            b.set_remote_description(offer).unwrap();
            for id in b.transceiver_ids() {
                b.set_direction(id, RtpTransceiverDirection::SendRecv, true).unwrap();
            }
            b.set_local_description(None).unwrap();
            self.run(Duration::from_millis(200), |_| {});
            let answer = self.cores[1].local_description().unwrap();
            self.cores[0].set_remote_description(answer.clone()).unwrap();
            answer
        }

        /// Sends a packet on every transceiver of both cores (every 20 ms of `run`).
        fn send_media(n: &mut Net) {
            for i in 0..2 {
                let now = n.now;
                let c = &mut n.cores[i];
                let ids: Vec<TransceiverId> = c.transceiver_ids();
                for id in ids {
                    let ts = (now.elapsed().as_millis() as u32).wrapping_mul(90);
                    c.send_rtp(now, id, &OutgoingRtp {
                        payload_type: None,
                        timestamp: ts,
                        marker: true,
                        payload: b"media",
                    });
                }
            }
        }
    }

    fn without_rtcp_mux(d: &SessionDescription) -> SessionDescription {
        let mut sdp = Sdp::parse(&d.sdp).unwrap();
        for m in &mut sdp.media {
            m.attributes.retain(|a| *a != A::RtcpMux && *a != A::RtcpMuxOnly);
        }
        SessionDescription::new(d.sdp_type, sdp.to_string())
    }

    /// The candidates of `component` in the first m-section (the primary transport's:
    /// under "balanced" the offer's video section has a transport of its own until the
    /// answer bundles it).
    fn candidates(d: &SessionDescription, component: u16) -> usize {
        let sdp = Sdp::parse(&d.sdp).unwrap();
        sdp.media
            .iter()
            .take(1)
            .flat_map(|m| &m.attributes)
            .filter(|a| matches!(a, A::Candidate(c) if c.component == component))
            .count()
    }

    fn rtp_sections_have_mux(d: &SessionDescription) -> bool {
        let sdp = Sdp::parse(&d.sdp).unwrap();
        sdp.media
            .iter()
            .filter(|m| m.proto.contains("RTP"))
            .all(|m| m.has(&A::RtcpMux))
    }

    /// RFC 9429 §4.1.1: under "negotiate" the offer gathers RTP and RTCP candidates and
    /// still offers rtcp-mux (with `a=rtcp`, RFC 3605, at the dummy 9 IN IP4 0.0.0.0 of
    /// §5.2.1); an answer without rtcp-mux (RFC 5761 §5.1.1) puts RTCP on component 2: ICE
    /// checks for it (its own pairs), its own DTLS association and SRTCP keys (RFC 5764
    /// §4.1), and every RTCP datagram (SR/RR, so an RTT) travels between the component-2
    /// sockets, never the RTP ones.
    #[test]
    fn negotiate_without_mux_sends_rtcp_on_component_two() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 90);
        let offer = n.offer();
        assert!(rtp_sections_have_mux(&offer), "{}", offer.sdp);
        assert!(offer.sdp.contains("a=rtcp:9 IN IP4 0.0.0.0"));
        assert_eq!(candidates(&offer, 1), 1, "{}", offer.sdp);
        assert_eq!(candidates(&offer, 2), 1, "{}", offer.sdp);
        let stats = n.cores[0].rtcp_component_stats().unwrap();
        assert!(!stats.in_use, "unused until the answer says");
        assert_eq!(stats.local_addresses.len(), 1, "a socket of its own");
        assert_ne!(stats.local_addresses[0], n.sockets[0][0]);
        // The signaling strips rtcp-mux: the answer has none, and RTCP candidates.
        let answer = n.answer(without_rtcp_mux(&offer));
        assert!(!answer.sdp.contains("a=rtcp-mux"), "{}", answer.sdp);
        assert_eq!(candidates(&answer, 2), 1, "{}", answer.sdp);
        n.run(Duration::from_millis(500), |_| {});
        for (i, c) in n.cores.iter().enumerate() {
            assert_eq!(c.connection_state(), PeerConnectionState::Connected);
            let s = c.rtcp_component_stats().unwrap();
            assert!(s.in_use);
            assert_eq!(s.dtls_state, DtlsTransportState::Connected, "{s:?}");
            // Its agent paired component-2 candidates only: the peer's RTCP socket.
            let peer = n.cores[1 - i].rtcp_component_stats().unwrap();
            let (peer_rtp, peer_rtcp) = (n.sockets[1 - i][0], peer.local_addresses[0]);
            assert_eq!(s.selected_pair, Some((s.local_addresses[0], peer_rtcp)));
            let agent = c.session.rtcp_agent().unwrap();
            assert_eq!(agent.component(), 2);
            let remotes = agent.remote_candidates();
            assert!(!remotes.is_empty() && remotes.iter().all(|r| r.addr != peer_rtp));
            assert!(c.ice_agent().unwrap().remote_candidates().iter().all(|r| r.addr != peer_rtcp));
        }
        let before: Vec<u64> = n
            .cores
            .iter()
            .map(|c| c.rtcp_component_stats().unwrap().rtcp_received)
            .collect();
        n.delivered.clear();
        n.run(Duration::from_secs(6), Net::send_media);
        for (i, c) in n.cores.iter().enumerate() {
            let s = c.rtcp_component_stats().unwrap();
            assert!(s.rtcp_received >= 4 && s.rtcp_sent >= 4, "core {i}: {s:?}");
            let m = c.media_counters();
            assert!(m.rtp_received > 200, "core {i}: {m:?}");
            assert!(m.rtcp_received >= s.rtcp_received, "core {i}: {m:?}");
            assert!(m.round_trip_time.is_some(), "core {i}: SR/RR exchanged, {m:?}");
            assert_eq!(m.srtp_rejected, 0, "core {i}: {m:?}");
            let mine = s.local_addresses[0];
            let count = |class: Class, on_rtcp: bool| {
                n.delivered
                    .iter()
                    .filter(|d| d.0 == i && d.1 == class && (d.2 == mine) == on_rtcp)
                    .count() as u64
            };
            assert_eq!(count(Class::Rtcp, false), 0, "core {i}: RTCP never on component 1");
            assert_eq!(count(Class::Rtcp, true), s.rtcp_received - before[i], "core {i}");
            assert_eq!(count(Class::Rtp, true), 0, "core {i}: RTP stays on component 1");
            assert!(count(Class::Rtp, false) > 200, "core {i}");
        }
    }

    /// The answer keeps rtcp-mux: component 2 is dropped (its socket released, no state),
    /// and RTCP flows on the one component.
    #[test]
    fn negotiate_with_mux_accepted_drops_component_two() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 91);
        let offer = n.offer();
        assert_eq!(candidates(&offer, 2), 1);
        let rtcp_socket = n.cores[0].rtcp_component_stats().unwrap().local_addresses[0];
        let answer = n.answer(offer);
        assert!(rtp_sections_have_mux(&answer));
        assert_eq!(candidates(&answer, 2), 0, "the answerer gathers no RTCP candidates");
        assert!(n.cores[1].rtcp_component_stats().is_none());
        n.run(Duration::from_secs(3), Net::send_media);
        for (i, c) in n.cores.iter().enumerate() {
            assert_eq!(c.connection_state(), PeerConnectionState::Connected);
            assert!(c.rtcp_component_stats().is_none());
            let m = c.media_counters();
            assert!(m.rtcp_received > 0 && m.round_trip_time.is_some(), "core {i}: {m:?}");
        }
        assert!(n.unused[0].contains(&rtcp_socket), "the RTCP socket is released");
        assert!(n.delivered.iter().all(|d| d.2 != rtcp_socket));
    }

    /// "require" gathers one component, and refuses an offer without rtcp-mux
    /// (InvalidAccessError, webrtc-pc §4.4.1.5, RFC 9429 §5.8).
    #[test]
    fn wpt_34_require_gathers_one_component_and_refuses_a_non_mux_offer() {
        let mut n = Net::new([RtcpMuxPolicy::Require; 2], 92);
        let offer = n.offer();
        assert_eq!(candidates(&offer, 2), 0);
        assert!(n.cores[0].rtcp_component_stats().is_none());
        let err = n.cores[1]
            .set_remote_description(without_rtcp_mux(&offer))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidAccess);
        // "negotiate" answers it, without rtcp-mux.
        let mut m = Net::new([RtcpMuxPolicy::Require, RtcpMuxPolicy::Negotiate], 93);
        let offer = m.offer();
        let b = &mut m.cores[1];
        b.set_remote_description(without_rtcp_mux(&offer)).unwrap();
        let answer = b.create_answer().unwrap();
        assert_eq!(answer.sdp_type, SdpType::Answer);
        assert!(!answer.sdp.contains("a=rtcp-mux"));
    }

    /// Data channels only: no RTP, so never a component 2, whatever the policy.
    #[test]
    fn data_only_sessions_never_gather_component_two() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 94);
        let a = &mut n.cores[0];
        a.create_data_channel("x", &Default::default(), true).unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        n.run(Duration::from_millis(200), |_| {});
        let offer = n.cores[0].local_description().unwrap();
        assert_eq!(candidates(&offer, 1), 1);
        assert_eq!(candidates(&offer, 2), 0);
        assert_eq!(n.sockets[0].len(), 1);
        assert!(n.cores[0].rtcp_component_stats().is_none());
    }

    /// Connects `n` without rtcp-mux (the offer stripped) and runs media until both sides
    /// have an RTT; returns each side's RTCP-received count.
    fn connect_without_mux(n: &mut Net) -> [u64; 2] {
        let offer = n.offer();
        n.answer(without_rtcp_mux(&offer));
        n.run(Duration::from_secs(3), Net::send_media);
        let got = [0, 1].map(|i| n.cores[i].rtcp_component_stats().unwrap().rtcp_received);
        assert!(got.iter().all(|&g| g > 0), "{got:?}");
        got
    }

    /// A later offer/answer keeps what the first one settled (RFC 9429 §5.2.2): after a
    /// non-mux exchange the component stays in use through the re-offer (the re-offer
    /// still lists its candidates and RTCP keeps flowing on it); after rtcp-mux was accepted
    /// a re-offer gathers no component 2 again.
    #[test]
    fn renegotiation_keeps_what_the_first_answer_settled() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 95);
        let before = connect_without_mux(&mut n);
        let sockets = n.sockets.clone();
        let a = &mut n.cores[0];
        let reoffer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(reoffer)).unwrap();
        let s = n.cores[0].rtcp_component_stats().unwrap();
        assert!(s.in_use, "still in use while the re-offer is pending");
        let reoffer = n.cores[0].local_description().unwrap();
        assert_eq!(candidates(&reoffer, 2), 1, "{}", reoffer.sdp);
        n.answer(without_rtcp_mux(&reoffer));
        n.run(Duration::from_secs(3), Net::send_media);
        for (i, c) in n.cores.iter().enumerate() {
            let s = c.rtcp_component_stats().unwrap();
            assert!(s.in_use && s.rtcp_received > before[i], "core {i}: {s:?}");
        }
        assert_eq!(n.sockets, sockets, "no new sockets without an ICE restart");

        let mut m = Net::new([RtcpMuxPolicy::Negotiate; 2], 96);
        let offer = m.offer();
        m.answer(offer);
        m.run(Duration::from_millis(300), |_| {});
        let a = &mut m.cores[0];
        let reoffer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(reoffer)).unwrap();
        m.run(Duration::from_millis(200), |_| {});
        assert!(m.cores[0].rtcp_component_stats().is_none());
        let reoffer = m.cores[0].local_description().unwrap();
        assert_eq!(candidates(&reoffer, 2), 0, "{}", reoffer.sdp);
    }

    /// Rolling back the initial offer (RFC 9429 §4.1.8.2) drops the component with the
    /// agent; the next offer gathers it again on a new socket.
    #[test]
    fn rollback_of_the_initial_offer_drops_component_two() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 97);
        let offer = n.offer();
        assert_eq!(candidates(&offer, 2), 1);
        let first = n.cores[0].rtcp_component_stats().unwrap().local_addresses;
        n.cores[0]
            .set_local_description(Some(SessionDescription::rollback()))
            .unwrap();
        n.run(Duration::from_millis(100), |_| {});
        assert!(n.cores[0].rtcp_component_stats().is_none());
        assert!(n.unused[0].contains(&first[0]), "its socket is released");
        let a = &mut n.cores[0];
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        n.run(Duration::from_millis(200), |_| {});
        let again = n.cores[0].rtcp_component_stats().unwrap().local_addresses;
        assert_eq!(again.len(), 1);
        assert_ne!(again, first);
        assert_eq!(candidates(&n.cores[0].local_description().unwrap(), 2), 1);
    }

    /// An ICE restart (RFC 8445 §9) restarts component 2 with component 1: new credentials,
    /// new sockets, new candidates; its DTLS association (and SRTCP keys) carry on.
    #[test]
    fn ice_restart_restarts_component_two_on_new_sockets() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 98);
        let before = connect_without_mux(&mut n);
        let old = n.cores[0].rtcp_component_stats().unwrap().local_addresses;
        n.cores[0].restart_ice(true);
        let a = &mut n.cores[0];
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        n.run(Duration::from_millis(200), |_| {});
        let offer = n.cores[0].local_description().unwrap();
        assert_eq!(candidates(&offer, 2), 1, "{}", offer.sdp);
        n.answer(without_rtcp_mux(&offer));
        n.run(Duration::from_secs(3), Net::send_media);
        let s = n.cores[0].rtcp_component_stats().unwrap();
        assert_ne!(s.local_addresses, old, "{s:?}");
        assert_eq!(s.selected_pair.map(|p| p.0), s.local_addresses.first().copied());
        assert_eq!(s.dtls_state, DtlsTransportState::Connected);
        for (i, c) in n.cores.iter().enumerate() {
            let s = c.rtcp_component_stats().unwrap();
            assert!(s.rtcp_received > before[i] + 2, "core {i}: {s:?}");
            assert_eq!(c.media_counters().srtp_rejected, 0);
        }
    }

    /// A hostile answer with far more component-2 candidates than any agent takes: the
    /// component's agent keeps at most its cap (RFC 8445 §6.1.2.5 pair limits;
    /// `IceAgentConfig::max_remote_candidates`).
    #[test]
    fn remote_component_two_candidates_are_capped() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 99);
        let offer = n.offer();
        let b = &mut n.cores[1];
        b.set_remote_description(without_rtcp_mux(&offer)).unwrap();
        b.set_local_description(None).unwrap();
        let answer = b.local_description().unwrap();
        let mut sdp = Sdp::parse(&answer.sdp).unwrap();
        for k in 0..1000u16 {
            let c = crate::sdp::Candidate::parse(&format!(
                "candidate:{k} 2 udp {} 10.9.{}.{} {} typ host",
                2_000_000 + u32::from(k),
                k / 250,
                k % 250 + 1,
                10_000 + k
            ))
            .unwrap();
            sdp.media[0].attributes.push(A::Candidate(c));
        }
        let big = SessionDescription::new(SdpType::Answer, sdp.to_string());
        n.cores[0].set_remote_description(big).unwrap();
        n.run(Duration::from_millis(200), |_| {});
        let max = IceAgentConfig::default().max_remote_candidates;
        let agent = n.cores[0].session.rtcp_agent().unwrap();
        assert!(agent.remote_candidates().len() <= max);
        assert!(agent.candidate_pairs().len() <= IceAgentConfig::default().max_pairs);
        // Component 1 paired none of them.
        let primary = n.cores[0].ice_agent().unwrap();
        assert!(primary.remote_candidates().iter().all(|r| !r.addr.ip().to_string().starts_with("10.9.")));
    }

    /// The driver cannot bind the component's socket: the component goes, component 1's
    /// gathering completes without waiting for it, and the offer keeps rtcp-mux only.
    #[test]
    fn no_socket_for_component_two_leaves_rtcp_on_component_one() {
        let mut n = Net::new([RtcpMuxPolicy::Negotiate; 2], 100);
        n.refuse_binds = true;
        let offer = n.offer();
        assert!(n.cores[0].rtcp_component_stats().is_none());
        assert_eq!(candidates(&offer, 2), 0);
        assert_eq!(candidates(&offer, 1), 1);
        assert!(offer.sdp.contains("a=end-of-candidates"), "{}", offer.sdp);
        // The primary transport's own state (under "balanced" the video section's transport
        // of its own has no socket either).
        let t = n.cores[0].ice_transport().unwrap();
        assert_eq!(
            n.cores[0].ice_transport_gathering_state(t),
            crate::ice::IceGatheringState::Complete
        );
    }
}
