//! Transports beyond the primary one (RFC 8843 §7, RFC 9429 §5.3.1): an answer to an offer
//! that does not bundle has one ICE+DTLS transport per m-section. The primary transport
//! (the one carrying the data section, else the first) is the session's `ice` and `data`
//! fields as ever; every further transport is an [`ExtraTransport`] with its own ICE agent
//! and W3C ICE states, its own DTLS association (for the SRTP keys, RFC 5764) and its own
//! RTP session (`MediaState`: SRTP contexts, RTCP) for the media sections it carries.
//!
//! Routing (only when there is an extra transport: the common single-transport path pays one
//! emptiness check): STUN requests by the USERNAME's local ufrag (and, where transports
//! share local credentials, by its remote ufrag, then by the socket), STUN responses by
//! transaction id, everything else by the remote address the agents know (RFC 7983 classes as
//! for the primary). Agents share the connection's sockets; the remote's transports differ
//! by their addresses (browsers bind one port per transport).
//!
//! Shared local credentials: a "balanced" offer gathers one transport per media type
//! (RFC 9429 §4.1.1), so its sections of one kind carry the same `a=ice-ufrag`; an answer
//! that does not bundle makes each of them a transport of its own (RFC 8843 §7), which
//! keeps the credentials the offer gave its section (changing them is an ICE restart,
//! RFC 8445 §9) but gathers on sockets of its own and signals its candidates in its own
//! section (`tests/chromium_unbundled.rs` connects it with Chromium answering unbundled).
//!
//! Each transport has what the primary has (webrtc-pc §5.5, §5.6): its candidates
//! (`getLocalCandidates`/`getRemoteCandidates`), `selectedcandidatepairchange`,
//! `gatheringstatechange`/`statechange`, its DTLS transport's `statechange`/`error` and
//! remote certificate, `icecandidateerror` on the connection, and its own `transport` entry
//! in the statistics with its sections' streams (`stats/collect.rs`).
//!
//! `iceConnectionState`, `iceGatheringState` and `connectionState` aggregate every transport
//! (webrtc-pc §4.4.3, [`aggregate_ice`], [`aggregate_gathering`], [`aggregate_pc`]).

use std::net::SocketAddr;
use std::time::Instant;

use crate::connection::{CoreEvent, DtlsRole, IceCredentials, PeerConnectionState};
use crate::dtls::{
    DtlsConnection, DtlsEvent, DtlsRole as WireRole, DtlsTransportState, RemoteFingerprints,
};
use crate::ice::{
    IceAgent, IceConnectionState, IceEvent, IceGatheringState, MAX_LOCAL_CANDIDATES,
};
use crate::negotiator::negotiated::{Cause, Negotiated, NegotiatedDtls, RemoteCandidate};
use crate::session::demux::{self, Class};
use crate::session::ice::{IceTransportId, IceTransportState};
use crate::session::media::MediaState;
use crate::session::scheduler::Transmit as SessionTransmit;
use crate::session::timers::TimerName;
use crate::session::{Session, SessionOut};
use crate::util::SeededRandom;

/// One transport beyond the primary (see the module documentation).
pub(crate) struct ExtraTransport {
    /// Its `RTCIceTransport` id (from the same counter as the primary's).
    pub(crate) id: IceTransportId,
    /// The mid of its tag section (`NegotiatedTransport::id`).
    pub(crate) name: String,
    /// The mids of the m-sections it carries.
    pub(crate) mids: Vec<String>,
    agent: IceAgent,
    local_creds: IceCredentials,
    remote_creds: Option<IceCredentials>,
    gathering: IceGatheringState,
    connection: IceConnectionState,
    /// Candidates announced in the current generation (capped like the primary's), for
    /// `getLocalCandidates()` (webrtc-pc §5.6.2).
    pub(crate) gathered: Vec<crate::sdp::Candidate>,
    /// The peer's DER certificate once its DTLS connected (`getRemoteCertificates()`).
    remote_certificate: Option<Vec<u8>>,
    /// The SRTP protection profile its DTLS negotiated (RFC 5764 §4.1.2), for the stats.
    srtp_profile: Option<crate::dtls::SrtpProfile>,
    /// Its non-STUN traffic (`RTCTransportStats`, `RTCIceCandidatePairStats`).
    pub(crate) traffic: crate::stats::counters::TransportTraffic,
    dtls: Option<DtlsConnection>,
    dtls_state: DtlsTransportState,
    dtls_wanted: bool,
    negotiated_dtls: Option<NegotiatedDtls>,
    /// Where DTLS replies go before ICE selected a pair.
    fallback_path: Option<(SocketAddr, SocketAddr)>,
    /// It gathers on sockets of its own (a driver that binds at any time): the peer's
    /// transports and ours then differ by 5-tuple even when both sides share one socket per
    /// connection otherwise, so DTLS and SRTP find their transport by address.
    own_sockets: bool,
    /// IPs whose own socket is still to be asked for.
    to_bind: Vec<std::net::IpAddr>,
    /// Its own sockets.
    local_addrs: Vec<SocketAddr>,
    /// The RTP session of its media sections.
    pub(crate) media: MediaState,
    /// The pair its agent selected (local, remote), as the agent describes them.
    pub(crate) selected: Option<(crate::sdp::Candidate, crate::sdp::Candidate)>,
}

impl std::fmt::Debug for ExtraTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraTransport")
            .field("id", &self.id)
            .field("mids", &self.mids)
            .field("connection", &self.connection)
            .field("dtls_state", &self.dtls_state)
            .finish()
    }
}

/// `iceConnectionState` of several transports (webrtc-pc §4.4.3 RTCIceConnectionState).
pub(crate) fn aggregate_ice(states: &[IceConnectionState]) -> IceConnectionState {
    use IceConnectionState as I;
    let any = |f: &dyn Fn(I) -> bool| states.iter().any(|&s| f(s));
    let all = |f: &dyn Fn(I) -> bool| states.iter().all(|&s| f(s));
    if any(&|s| s == I::Failed) {
        I::Failed
    } else if any(&|s| s == I::Disconnected) {
        I::Disconnected
    } else if all(&|s| matches!(s, I::New | I::Closed)) {
        I::New
    } else if any(&|s| matches!(s, I::New | I::Checking)) {
        I::Checking
    } else if all(&|s| matches!(s, I::Completed | I::Closed)) {
        I::Completed
    } else {
        I::Connected
    }
}

/// `iceGatheringState` of several transports (webrtc-pc §4.4.3 RTCIceGatheringState).
pub(crate) fn aggregate_gathering(states: &[IceGatheringState]) -> IceGatheringState {
    use IceGatheringState as G;
    if states.contains(&G::Gathering) {
        G::Gathering
    } else if !states.is_empty() && states.iter().all(|&s| s == G::Complete) {
        G::Complete
    } else {
        G::New
    }
}

/// `connectionState` from every ICE and DTLS transport (webrtc-pc §4.4.3
/// RTCPeerConnectionState).
pub(crate) fn aggregate_pc(
    ice: &[IceConnectionState],
    dtls: &[DtlsTransportState],
) -> PeerConnectionState {
    use DtlsTransportState as D;
    use IceConnectionState as I;
    use PeerConnectionState as P;
    if ice.contains(&I::Failed) || dtls.contains(&D::Failed) {
        P::Failed
    } else if ice.contains(&I::Disconnected) {
        P::Disconnected
    } else if ice.iter().all(|s| matches!(s, I::New | I::Closed))
        && dtls.iter().all(|s| matches!(s, D::New | D::Closed))
    {
        P::New
    } else if ice.iter().any(|s| matches!(s, I::New | I::Checking))
        || dtls.iter().any(|s| matches!(s, D::New | D::Connecting))
    {
        P::Connecting
    } else {
        P::Connected
    }
}

impl Session {
    /// The transport (primary or extra) carrying m-section `mid`: its `RTCIceTransport` id.
    pub fn transport_of_mid(&self, mid: &str) -> Option<IceTransportId> {
        self.extra
            .iter()
            .find(|e| e.mids.iter().any(|m| m == mid))
            .map(|e| e.id)
            .or(self.ice_transport())
    }

    /// The ids of every transport beyond the primary one, in order.
    pub fn extra_transport_ids(&self) -> Vec<IceTransportId> {
        self.extra.iter().map(|e| e.id).collect()
    }

    pub(crate) fn extra_of(&self, id: IceTransportId) -> Option<&ExtraTransport> {
        self.extra.iter().find(|e| e.id == id)
    }

    /// `RTCIceTransport.state` of extra transport `id`.
    pub(crate) fn extra_ice_state(&self, id: IceTransportId) -> Option<IceTransportState> {
        self.extra_of(id).map(|e| e.connection)
    }

    /// `RTCIceTransport.gatheringState` of extra transport `id`.
    pub(crate) fn extra_gathering_state(&self, id: IceTransportId) -> Option<IceGatheringState> {
        self.extra_of(id).map(|e| e.gathering)
    }

    /// `RTCIceTransport.role` of extra transport `id`: controlling or not.
    pub(crate) fn extra_is_controlling(&self, id: IceTransportId) -> Option<bool> {
        self.extra_of(id).map(|e| e.agent.is_controlling())
    }

    /// Local and remote credentials of extra transport `id`.
    pub(crate) fn extra_credentials(
        &self,
        id: IceTransportId,
    ) -> Option<(&IceCredentials, Option<&IceCredentials>)> {
        self.extra_of(id)
            .map(|e| (&e.local_creds, e.remote_creds.as_ref()))
    }

    /// The transports beyond the primary one as the statistics read them, numbered from
    /// `first` in order (one `transport` entry each, webrtc-stats §7.15).
    pub(crate) fn extra_stats_transports(
        &self,
        first: usize,
    ) -> impl Iterator<Item = crate::stats::collect::TransportRef<'_>> {
        self.extra
            .iter()
            .enumerate()
            .map(move |(i, e)| crate::stats::collect::TransportRef {
                number: first + i,
                agent: Some(&e.agent),
                ice_state: e.connection,
                local_ufrag: Some(e.local_creds.ufrag.as_str()),
                remote_ufrag: e.remote_creds.as_ref().map(|c| c.ufrag.as_str()),
                traffic: &e.traffic,
                dtls_state: e.dtls_state,
                dtls_role: e.negotiated_dtls.as_ref().map(|d| d.role),
                srtp_profile: e.srtp_profile,
                dtls_cipher: e
                    .dtls
                    .as_ref()
                    .and_then(|d| d.cipher_suite())
                    .and_then(|c| c.name()),
                remote_certificate: e.remote_certificate.as_deref(),
                available_outgoing_bitrate: e.media.bwe.estimate(),
            })
    }

    /// `RTCDtlsTransport.getRemoteCertificates()` of transport `id` (primary or extra):
    /// the peer's DER certificate once that transport's DTLS connected (webrtc-pc §5.5.1);
    /// empty for a transport that is gone.
    pub fn dtls_remote_certificates_of(&self, id: IceTransportId) -> Vec<Vec<u8>> {
        match self.extra_of(id) {
            Some(e) => e.remote_certificate.iter().cloned().collect(),
            None if self.is_current_transport(id) => self.dtls_remote_certificates(),
            None => Vec::new(),
        }
    }

    /// `RTCDtlsTransport.state` of transport `id` (primary or extra); "closed" for a
    /// transport that is gone (BUNDLE took its sections over, or a rollback discarded it:
    /// webrtc-pc §5.5.1, WPT-138).
    pub fn dtls_state_of(&self, id: IceTransportId) -> DtlsTransportState {
        match self.extra_of(id) {
            Some(e) => e.dtls_state,
            None if self.is_current_transport(id) => self.dtls_state(),
            None => DtlsTransportState::Closed,
        }
    }

    /// The media state holding transceiver section `id` (an extra transport's, else the
    /// primary's).
    pub(crate) fn media_for(
        &mut self,
        id: crate::connection::TransceiverId,
    ) -> &mut MediaState {
        match self.extra.iter().position(|e| e.media.has_section(id)) {
            Some(i) => &mut self.extra[i].media,
            None => &mut self.media,
        }
    }

    /// [`Session::media_for`], shared.
    pub(crate) fn media_ref(&self, id: crate::connection::TransceiverId) -> &MediaState {
        self.extra
            .iter()
            .find(|e| e.media.has_section(id))
            .map_or(&self.media, |e| &e.media)
    }

    /// The next media event of any transport.
    pub(crate) fn poll_media_event(
        &mut self,
    ) -> Option<(crate::connection::TransceiverId, crate::session::media::MediaEvent)> {
        if let Some(e) = self.media.poll_event() {
            return Some(e);
        }
        self.extra.iter_mut().find_map(|e| e.media.poll_event())
    }

    /// The media sections of an applied description, each to its transport's RTP session.
    pub(crate) fn apply_media(&mut self, negotiated: &Negotiated) {
        if self.extra.is_empty() {
            self.media.apply(&negotiated.media);
            return;
        }
        let mut rest = negotiated.media.clone();
        for e in &mut self.extra {
            let (mine, others): (Vec<_>, Vec<_>) =
                rest.into_iter().partition(|m| e.mids.contains(&m.mid));
            e.media.apply(&mine);
            rest = others;
        }
        self.media.apply(&rest);
    }

    /// After any applied description or rollback: the transports beyond the primary one are
    /// created (with our description's credentials for them), restarted (new credentials:
    /// an ICE restart of that transport alone, RFC 8445 §9), given their remote parameters,
    /// or closed when the negotiation no longer has them (BUNDLE accepted, rolled back).
    pub(crate) fn transports_applied(&mut self, negotiated: &Negotiated) {
        if self.is_closed() {
            return;
        }
        // The answer accepted BUNDLE on a section our offer had given a transport of its
        // own (RFC 8843 §7.3.1: the answerer picks the tag): that transport's agent carries
        // on as the primary one, under the primary's `RTCIceTransport`.
        if let Some(p) = negotiated.transports.first()
            && let Some(local) = p.ice.local.as_ref()
            && self.ice.local_creds.as_ref() != Some(local)
            && let Some(i) = self.extra.iter().position(|e| e.local_creds == *local)
        {
            let e = self.extra.remove(i);
            // The primary `RTCIceTransport` now has the adopted agent's selected pair:
            // `selectedcandidatepairchange` fires for it (the agent fired it as an extra
            // transport's, or not yet).
            let selected = e.agent.selected_pair_event();
            self.ice.adopt(e.agent, e.local_creds, e.local_addrs, e.gathering, e.connection);
            if let Some(p) = selected {
                self.push_out(SessionOut::SelectedPair {
                    local: p.local,
                    remote: p.remote,
                });
            }
            self.sync_remote(&p.ice);
        }
        let wanted = negotiated.transports.get(1..).unwrap_or(&[]);
        let mut i = 0;
        while i < self.extra.len() {
            let keep = wanted
                .iter()
                .any(|t| t.id == self.extra[i].name && t.ice.local.is_some());
            if keep {
                i += 1;
                continue;
            }
            let mut e = self.extra.remove(i);
            e.agent.close();
            if let Some(d) = e.dtls.as_mut() {
                d.close();
            }
            self.emit(CoreEvent::IceTransportStateChange(e.id, IceConnectionState::Closed));
            // Its DTLS transport goes with it (webrtc-pc §5.5.1 "closed").
            if e.dtls_state != DtlsTransportState::New {
                self.emit(CoreEvent::TransportDtlsStateChange(e.id, DtlsTransportState::Closed));
            }
            self.refresh_aggregates();
        }
        for t in wanted {
            let Some(creds) = t.ice.local.clone() else {
                continue;
            };
            let idx = match self.extra.iter().position(|e| e.name == t.id) {
                Some(i) => {
                    let e = &mut self.extra[i];
                    if e.local_creds != creds {
                        // This transport alone restarts (RFC 8445 §9).
                        e.agent.restart(&creds.ufrag, &creds.pwd);
                        e.local_creds = creds;
                        e.remote_creds = None;
                        e.gathered.clear();
                    }
                    i
                }
                None => {
                    let e = self.new_extra(t.id.clone(), t.ice.local_is_offer, creds);
                    self.extra.push(e);
                    self.extra.len() - 1
                }
            };
            let e = &mut self.extra[idx];
            e.mids = t.mids.clone();
            let remote_restart_pending = t.ice.remote_is_offer
                && e.remote_creds.is_some()
                && t.ice.remote != e.remote_creds;
            let apply_remote = match negotiated.cause {
                Cause::RemoteApplied(_) => !remote_restart_pending,
                Cause::LocalApplied(_) => !t.ice.local_is_offer,
                Cause::RolledBack => true,
            };
            if apply_remote && let Some(rc) = t.ice.remote.clone() {
                e.agent.set_remote_credentials(&rc.ufrag, &rc.pwd);
                e.remote_creds = Some(rc);
                for c in &t.ice.remote_candidates {
                    if let Err(err) = e.agent.add_remote_candidate(c.clone()) {
                        tracing::debug!("remote candidate not used: {err}");
                    }
                }
                if t.ice.remote_end_of_candidates {
                    e.agent.end_of_remote_candidates();
                }
            }
            e.negotiated_dtls = t.dtls.clone();
            if negotiated.cause != Cause::RolledBack
                && t.dtls.is_some()
                && e.dtls_state == DtlsTransportState::New
            {
                e.dtls_wanted = true;
            }
            self.pump_extra(idx);
        }
        self.timers.defer();
    }

    fn new_extra(&mut self, name: String, controlling: bool, creds: IceCredentials) -> ExtraTransport {
        let mut agent = IceAgent::new(
            self.ice.agent_config(),
            SeededRandom::new(self.rng.next_u64()),
        );
        agent.set_transport_policy(self.config.ice_transport_policy);
        agent.set_local_credentials(&creds.ufrag, &creds.pwd);
        agent.set_role(controlling);
        let own_sockets = self.fresh_sockets();
        let mut to_bind = Vec::new();
        for &addr in self.ice.local_addresses() {
            if own_sockets {
                if !to_bind.contains(&addr.ip()) {
                    to_bind.push(addr.ip());
                }
            } else if let Err(e) = agent.add_local_interface(addr) {
                tracing::warn!("local address {addr} not used: {e}");
            }
        }
        // STUN only: relayed datagrams are framed and unwrapped for the primary transport's
        // agent (TURN on further transports is not done yet).
        for (addr, _, turn) in self.stun_server_addrs() {
            if turn.is_none() {
                let _ = agent.add_stun_server(addr);
            }
        }
        let id = self.ice.new_transport_id();
        ExtraTransport {
            id,
            name,
            mids: Vec::new(),
            agent,
            local_creds: creds,
            remote_creds: None,
            gathering: IceGatheringState::New,
            connection: IceConnectionState::New,
            gathered: Vec::new(),
            remote_certificate: None,
            srtp_profile: None,
            traffic: Default::default(),
            dtls: None,
            dtls_state: DtlsTransportState::New,
            dtls_wanted: false,
            negotiated_dtls: None,
            fallback_path: None,
            own_sockets,
            to_bind,
            local_addrs: Vec::new(),
            media: MediaState::new(self.settings.bwe_config()),
            selected: None,
        }
    }

    /// `addIceCandidate` for a section of an extra transport (RFC 8840 §4): handed to its
    /// agent; end-of-candidates for every section reaches every agent. Whether it was one.
    pub(crate) fn extra_remote_candidate(&mut self, rc: &RemoteCandidate) -> bool {
        let Some(mid) = rc.mid.as_deref() else {
            if rc.candidate.is_none() {
                for e in &mut self.extra {
                    e.agent.end_of_remote_candidates();
                }
            }
            return false;
        };
        let Some(e) = self.extra.iter_mut().find(|e| e.name == mid) else {
            return false;
        };
        match rc.candidate.clone() {
            None => e.agent.end_of_remote_candidates(),
            Some(c) => {
                if let Err(err) = e.agent.add_remote_candidate(c) {
                    tracing::debug!("remote candidate not used: {err}");
                }
            }
        }
        true
    }

    /// Which extra transport a received datagram belongs to; `None`: the primary's.
    pub(super) fn route_extra(
        &self,
        class: Class,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> Option<usize> {
        if class == Class::Stun {
            let msg = crate::stun::Message::parse(data).ok()?;
            return match msg.class() {
                crate::stun::Class::Request => {
                    let user = msg.username().ok()??;
                    let (ours, theirs) = user.split_once(':')?;
                    self.route_request(local, ours, theirs)
                }
                crate::stun::Class::SuccessResponse | crate::stun::Class::ErrorResponse => {
                    let tid = msg.transaction_id();
                    if self
                        .ice_agent()
                        .is_some_and(|a| a.expects_response(&tid))
                    {
                        return None;
                    }
                    self.extra
                        .iter()
                        .position(|e| e.agent.expects_response(&tid))
                }
                crate::stun::Class::Indication => self.route_by_path(local, remote),
            };
        }
        self.route_by_path(local, remote)
    }

    /// A check for local ufrag `ours` from remote ufrag `theirs` on socket `local` (RFC 8445
    /// §7.3: USERNAME is "ours:theirs"). Transports may share local credentials (a
    /// "balanced" offer's one transport per media type, split by an answer that did not
    /// bundle, RFC 9429 §4.1.1): then the remote ufrag, else the socket, tells them apart.
    fn route_request(&self, local: SocketAddr, ours: &str, theirs: &str) -> Option<usize> {
        // `None`: the primary transport; `Some(i)`: extra transport `i`.
        let primary = self
            .ice
            .local_creds
            .as_ref()
            .is_some_and(|c| c.ufrag == ours)
            .then_some(None);
        let candidates = || {
            primary.into_iter().chain(
                self.extra
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.local_creds.ufrag == ours)
                    .map(|(i, _)| Some(i)),
            )
        };
        let remote_ufrag = |t: Option<usize>| match t {
            None => self.ice.remote_creds.as_ref().map(|r| r.ufrag.as_str()),
            Some(i) => self.extra[i].remote_creds.as_ref().map(|r| r.ufrag.as_str()),
        };
        let on_socket = |t: Option<usize>| match t {
            None => self.ice_agent().is_some_and(|a| a.uses_local_address(local)),
            Some(i) => {
                let e = &self.extra[i];
                e.local_addrs.contains(&local) || e.agent.uses_local_address(local)
            }
        };
        let mut first = None;
        let mut count = 0;
        for t in candidates() {
            count += 1;
            first.get_or_insert(t);
        }
        let first = first?;
        if count == 1 {
            return first;
        }
        candidates()
            .find(|&t| remote_ufrag(t) == Some(theirs) && on_socket(t))
            .or_else(|| candidates().find(|&t| remote_ufrag(t) == Some(theirs)))
            .or_else(|| candidates().find(|&t| on_socket(t)))
            .unwrap_or(first)
    }

    fn route_by_path(&self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        if self
            .ice_agent()
            .is_some_and(|a| a.knows_path(local, remote))
        {
            return None;
        }
        self.extra
            .iter()
            .position(|e| e.agent.knows_path(local, remote))
    }

    /// A datagram routed to extra transport `i`; whether its agent took it as STUN.
    pub(super) fn extra_handle_datagram(
        &mut self,
        i: usize,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        class: Class,
        data: &[u8],
    ) -> bool {
        let Some(e) = self.extra.get_mut(i) else {
            return false;
        };
        let taken = match class {
            Class::Stun => e.agent.handle_packet(now, local, remote, data),
            _ => {
                e.agent.note_time(now);
                false
            }
        };
        if matches!(class, Class::Dtls | Class::Rtp | Class::Rtcp) {
            self.extra[i]
                .traffic
                .on_received(now, (local, remote), data.len());
        }
        match class {
            Class::Dtls => {
                if self.extra[i].dtls.is_none() {
                    let d = self.make_dtls();
                    self.extra[i].dtls = d;
                }
                let e = &mut self.extra[i];
                e.fallback_path = Some((local, remote));
                if let Some(d) = e.dtls.as_mut() {
                    d.handle_record(now, data);
                }
                self.extra_dtls_pump(i, now);
            }
            Class::Rtp => {
                self.extra[i].media.handle_rtp(now, data);
                if !self.extra[i].media.arrived.is_empty() {
                    for id in std::mem::take(&mut self.extra[i].media.arrived) {
                        self.push_out(super::SessionOut::MediaArrived(id));
                    }
                }
            }
            Class::Rtcp => self.extra[i].media.handle_rtcp(now, data),
            _ => {}
        }
        self.pump_extra(i);
        taken
    }

    fn make_dtls(&self) -> Option<DtlsConnection> {
        super::data::dtls_config(&self.settings.dtls)
            .and_then(|config| DtlsConnection::new(self.certificate.clone(), &config))
            .map_err(|e| tracing::warn!("DTLS transport cannot be created: {e}"))
            .ok()
    }

    fn set_extra_dtls_state(&mut self, i: usize, s: DtlsTransportState) {
        let Some(e) = self.extra.get_mut(i) else {
            return;
        };
        if e.dtls_state == s {
            return;
        }
        e.dtls_state = s;
        let id = e.id;
        self.emit(CoreEvent::TransportDtlsStateChange(id, s));
        self.update_connection_state();
    }

    /// webrtc-pc §5.5.1 for extra transport `i`: its `error` fires (an `RTCError` with
    /// "dtls-failure" or "fingerprint-failure"), then its `statechange` to "failed".
    fn extra_dtls_failed(&mut self, i: usize, error: crate::Error) {
        let Some(e) = self.extra.get(i) else {
            return;
        };
        if self.is_closed()
            || matches!(e.dtls_state, DtlsTransportState::Failed | DtlsTransportState::Closed)
        {
            return;
        }
        let id = e.id;
        self.emit(CoreEvent::TransportDtlsError(id, error));
        self.set_extra_dtls_state(i, DtlsTransportState::Failed);
    }

    /// Starts DTLS when due and turns its events into states and SRTP keys.
    fn extra_dtls_pump(&mut self, i: usize, now: Instant) {
        if self.is_closed() {
            return;
        }
        let start = self
            .extra
            .get(i)
            .is_some_and(|e| e.dtls_wanted && e.negotiated_dtls.is_some());
        if start {
            if self.extra[i].dtls.is_none() {
                let d = self.make_dtls();
                self.extra[i].dtls = d;
            }
            let e = &mut self.extra[i];
            e.dtls_wanted = false;
            let nd = e.negotiated_dtls.clone();
            let fps = nd.as_ref().map_or(&[][..], |d| &d.remote_fingerprints[..]);
            let wire = match nd.as_ref().map(|d| d.role) {
                Some(DtlsRole::Client) => WireRole::Client,
                _ => WireRole::Server,
            };
            match (RemoteFingerprints::new(fps), e.dtls.as_mut()) {
                (Ok(f), Some(d)) => match d.start(now, wire, f) {
                    Ok(()) => self.set_extra_dtls_state(i, DtlsTransportState::Connecting),
                    Err(err) => tracing::debug!("DTLS not started: {err}"),
                },
                (Err(err), _) => {
                    tracing::warn!("DTLS cannot start: {err}");
                    self.extra_dtls_failed(i, err);
                }
                (Ok(_), None) => self.extra_dtls_failed(
                    i,
                    crate::Error::rtc(
                        crate::error::ErrorDetail::DtlsFailure,
                        "DTLS transport cannot be created",
                    ),
                ),
            }
        }
        while let Some(ev) = self
            .extra
            .get_mut(i)
            .and_then(|e| e.dtls.as_mut())
            .and_then(DtlsConnection::poll_event)
        {
            match ev {
                DtlsEvent::Connected(c) => {
                    let e = &mut self.extra[i];
                    e.remote_certificate = Some(c.remote_certificate);
                    e.srtp_profile = c.srtp.as_ref().map(|k| k.profile);
                    if let Some(km) = c.srtp.as_ref() {
                        let client = e
                            .negotiated_dtls
                            .as_ref()
                            .is_some_and(|d| d.role == DtlsRole::Client);
                        e.media.keys_ready(km, client);
                    }
                    self.set_extra_dtls_state(i, DtlsTransportState::Connected);
                }
                DtlsEvent::ApplicationData(d) => {
                    // No SCTP on this transport: dropped.
                    if let Some(dtls) = self.extra[i].dtls.as_mut() {
                        dtls.recycle(d);
                    }
                }
                DtlsEvent::Failed(f) => {
                    tracing::debug!("DTLS failed: {f}");
                    self.extra_dtls_failed(i, f.to_error());
                }
                DtlsEvent::Closed => self.set_extra_dtls_state(i, DtlsTransportState::Closed),
            }
        }
    }

    /// Turns extra transport `i`'s agent events into W3C events and candidates (each
    /// transport's candidates are written into its own section, RFC 8840 §4.2).
    fn pump_extra(&mut self, i: usize) {
        if self.is_closed() {
            return;
        }
        let Some(e) = self.extra.get_mut(i) else {
            return;
        };
        let mut events = Vec::new();
        while let Some(ev) = e.agent.poll_event() {
            events.push(ev);
        }
        let gathering = e.agent.gathering_state() == IceGatheringState::Gathering;
        if gathering && e.gathering == IceGatheringState::New {
            self.set_extra_gathering(i, IceGatheringState::Gathering);
        }
        for ev in events {
            // What the application sees of our candidates (mDNS names when hiding).
            let ev = match ev {
                IceEvent::LocalCandidate(c) => match self.signalled_candidate(c) {
                    Some(c) => IceEvent::LocalCandidate(c),
                    None => continue,
                },
                ev => ev,
            };
            let Some(e) = self.extra.get_mut(i) else {
                return;
            };
            let ufrag = e.local_creds.ufrag.clone();
            match ev {
                IceEvent::LocalCandidate(c)
                    if crate::ice::candidate::extension(&c, "ufrag") != Some(ufrag.as_str()) => {}
                IceEvent::LocalCandidate(c) => {
                    if e.gathering != IceGatheringState::Gathering {
                        self.set_extra_gathering(i, IceGatheringState::Gathering);
                    }
                    let e = &mut self.extra[i];
                    if e.gathered.len() < MAX_LOCAL_CANDIDATES {
                        e.gathered.push(c.clone());
                        let mid = e.name.clone();
                        self.push_out(SessionOut::TransportCandidate {
                            mid,
                            ufrag,
                            candidate: Some(c),
                        });
                    }
                }
                IceEvent::GatheringComplete => {
                    // end-of-candidates in its section, and its end marker.
                    let mid = e.name.clone();
                    self.push_out(SessionOut::TransportCandidate {
                        mid,
                        ufrag,
                        candidate: None,
                    });
                    self.set_extra_gathering(i, IceGatheringState::Complete);
                }
                IceEvent::StateChange(s) => {
                    if e.connection != s {
                        e.connection = s;
                        let id = e.id;
                        self.emit(CoreEvent::IceTransportStateChange(id, s));
                        self.refresh_aggregates();
                        self.update_connection_state();
                    }
                }
                IceEvent::SelectedPairChanged(p) => {
                    e.selected = Some((p.local.clone(), p.remote.clone()));
                    e.traffic.selected_pair_changes += 1;
                    let id = e.id;
                    tracing::debug!(
                        "transport {id}: selected pair {} -> {}",
                        p.local_addr,
                        p.remote_addr
                    );
                    // Shown as signalled by the connection (`connection/ice_view.rs`).
                    self.push_out(SessionOut::TransportSelectedPair(id));
                }
                IceEvent::CandidateError {
                    address,
                    server,
                    error_code,
                    error_text,
                } => {
                    // The connection's `icecandidateerror`, as for the primary transport
                    // (webrtc-pc §4.8.3: every transport's gathering reports there).
                    let url = self.ice.stun_url_of(server);
                    self.emit(CoreEvent::IceCandidateError(
                        crate::session::ice::IceCandidateError {
                            address: Some(address.ip().to_string()),
                            port: Some(address.port()),
                            url,
                            error_code,
                            error_text,
                        },
                    ));
                }
                IceEvent::ResolveMdns { name } => self.ice.queue_mdns(name),
            }
        }
    }

    fn set_extra_gathering(&mut self, i: usize, s: IceGatheringState) {
        let Some(e) = self.extra.get_mut(i) else {
            return;
        };
        e.gathering = s;
        let id = e.id;
        self.emit(CoreEvent::IceTransportGatheringStateChange(id, s));
        let was = self.ice.agg_gathering;
        self.refresh_aggregates();
        if was != IceGatheringState::Complete && self.ice.agg_gathering == IceGatheringState::Complete
        {
            self.emit(CoreEvent::IceCandidate(None));
        }
    }

    /// Recomputes `iceGatheringState` and `iceConnectionState` over every transport,
    /// firing the connection's events on a change (after the transport's own).
    pub(super) fn refresh_aggregates(&mut self) {
        if self.is_closed() {
            return;
        }
        let mut g = vec![self.ice.primary_gathering()];
        let mut c = vec![self.ice.primary_connection()];
        for e in &self.extra {
            g.push(e.gathering);
            c.push(e.connection);
        }
        let g = aggregate_gathering(&g);
        let c = aggregate_ice(&c);
        if g != self.ice.agg_gathering {
            self.ice.agg_gathering = g;
            self.emit(CoreEvent::IceGatheringStateChange(g));
        }
        if c != self.ice.agg_connection {
            self.ice.agg_connection = c;
            self.emit(CoreEvent::IceConnectionStateChange(c));
        }
    }

    /// Every ICE and DTLS state, the primary's first (for `connectionState`).
    pub(super) fn all_transport_states(
        &self,
    ) -> (Vec<IceConnectionState>, Vec<DtlsTransportState>) {
        let mut ice = vec![self.ice.primary_connection()];
        let mut dtls = vec![self.dtls_state()];
        for e in &self.extra {
            ice.push(e.connection);
            dtls.push(e.dtls_state);
        }
        (ice, dtls)
    }

    /// The next datagram of an extra transport: STUN, then DTLS, then SRTP/SRTCP.
    pub(super) fn extra_poll_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<SessionTransmit> {
        let start = out.len();
        for i in 0..self.extra.len() {
            let e = &mut self.extra[i];
            if let Some(t) = poll_stun_then_dtls(&mut e.agent, e.dtls.as_mut(), e.fallback_path, now, out) {
                if t.class == Class::Dtls {
                    e.traffic.on_sent(now, (t.local, t.remote), t.len);
                }
                return Some(t);
            }
            if e.media.has_queued()
                && let Some(path) = e.agent.selected_pair()
                && e.media.poll_transmit_into(out).is_some()
            {
                e.traffic.on_sent(now, path, out.len() - start);
                return Some(SessionTransmit {
                    local: path.0,
                    remote: path.1,
                    class: demux::classify(&out[start..]),
                    len: out.len() - start,
                });
            }
            self.pump_extra(i);
        }
        None
    }

    /// The earliest timer of the extra transports.
    pub(super) fn extra_next_timer(&self) -> Option<(Instant, TimerName)> {
        let mut best: Option<(Instant, TimerName)> = None;
        let mut consider = |t: Option<(Instant, TimerName)>| {
            if let Some(t) = t
                && best.as_ref().is_none_or(|b| t.0 < b.0)
            {
                best = Some(t);
            }
        };
        for e in &self.extra {
            consider(
                e.agent
                    .next_timer()
                    .map(|(t, n)| (t, TimerName::Ice(n))),
            );
            consider(
                e.dtls
                    .as_ref()
                    .and_then(DtlsConnection::poll_timeout)
                    .map(|t| (t, TimerName::Dtls)),
            );
            consider(e.media.next_timer());
        }
        best
    }

    /// Runs the extra transports' timers and deferred work (starting DTLS).
    pub(super) fn extra_handle_timeout(&mut self, now: Instant) {
        for i in 0..self.extra.len() {
            let e = &mut self.extra[i];
            e.agent.handle_timeout(now);
            if let Some(d) = e.dtls.as_mut() {
                d.handle_timeout(now);
            }
            e.media.handle_timeout(now);
            self.pump_extra(i);
            self.extra_dtls_pump(i, now);
        }
    }

    /// A new socket of the primary transport: shared by the extra transports, or (when
    /// they have sockets of their own) one more to bind for each on its IP.
    pub(super) fn extra_add_local_address(&mut self, addr: SocketAddr) {
        // Decided at the first socket: the driver said by then whether it binds at will.
        let own = self.fresh_sockets();
        for i in 0..self.extra.len() {
            let e = &mut self.extra[i];
            if e.local_addrs.is_empty() && e.to_bind.is_empty() {
                e.own_sockets = own;
            }
            if e.own_sockets {
                if !e.to_bind.contains(&addr.ip()) && !e.local_addrs.iter().any(|a| a.ip() == addr.ip())
                {
                    e.to_bind.push(addr.ip());
                }
                continue;
            }
            if let Err(err) = e.agent.add_local_interface(addr) {
                tracing::debug!("local address {addr} not used: {err}");
            }
            self.pump_extra(i);
        }
    }

    /// The next sockets to bind for an extra transport (one transport at a time, and only
    /// while no other binding is under way, so every reported socket has one owner).
    pub(super) fn next_extra_bind(&mut self) -> Option<Vec<std::net::IpAddr>> {
        if self.binding.is_some() {
            return None;
        }
        let e = self.extra.iter_mut().find(|e| !e.to_bind.is_empty())?;
        e.agent.await_interfaces();
        self.binding = Some(Some(e.id));
        Some(std::mem::take(&mut e.to_bind))
    }

    /// A socket the driver bound for extra transport `id` alone.
    pub(super) fn extra_own_address(&mut self, id: IceTransportId, addr: SocketAddr) {
        let Some(i) = self.extra.iter().position(|e| e.id == id) else {
            return;
        };
        let e = &mut self.extra[i];
        if e.local_addrs.len() < crate::ice::MAX_LOCAL_INTERFACES && !e.local_addrs.contains(&addr)
        {
            e.local_addrs.push(addr);
            if let Err(err) = e.agent.add_local_interface(addr) {
                tracing::debug!("local address {addr} not used: {err}");
            }
        }
        self.pump_extra(i);
    }

    /// Every socket asked for extra transport `id` was reported: its gathering may end.
    pub(super) fn extra_sockets_complete(&mut self, id: IceTransportId) {
        let Some(i) = self.extra.iter().position(|e| e.id == id) else {
            return;
        };
        self.extra[i].agent.interfaces_complete();
        self.pump_extra(i);
    }

    /// Driver inputs every agent shares: a resolved (or unresolved) mDNS name.
    pub(super) fn extra_mdns_resolved(&mut self, name: &str, ip: Option<std::net::IpAddr>) {
        for i in 0..self.extra.len() {
            let a = &mut self.extra[i].agent;
            match ip {
                Some(ip) => a.resolved_mdns(name, ip),
                None => a.unresolved_mdns(name),
            }
            self.pump_extra(i);
        }
    }

    /// Whether an extra transport uses the socket bound on `addr`.
    pub(super) fn extra_uses_local_address(&self, addr: SocketAddr) -> bool {
        self.extra
            .iter()
            .any(|e| e.local_addrs.contains(&addr) || e.agent.uses_local_address(addr))
    }

    /// `close()`: every extra transport closes without events.
    pub(super) fn extra_close(&mut self) {
        for e in &mut self.extra {
            e.agent.close();
            if let Some(d) = e.dtls.as_mut() {
                d.close();
            }
            e.connection = IceConnectionState::Closed;
            e.dtls_state = DtlsTransportState::Closed;
        }
    }

    /// The local credentials of every extra transport, in order (the driver's UDP mux
    /// routes STUN by them).
    pub(crate) fn extra_local_credentials(&self) -> Vec<IceCredentials> {
        self.extra.iter().map(|e| e.local_creds.clone()).collect()
    }

    /// Whether [`Session::extra_local_credentials`] differs from `told` (compared
    /// borrowed: nothing is allocated while they are equal).
    pub(crate) fn extra_credentials_differ(&self, told: &[IceCredentials]) -> bool {
        self.extra.len() != told.len()
            || self.extra.iter().zip(told).any(|(e, t)| e.local_creds != *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DtlsTransportState as D;
    use IceConnectionState as I;
    use IceGatheringState as G;
    use PeerConnectionState as P;

    #[test]
    fn ice_connection_state_aggregates_as_webrtc_pc_4_4_3_says() {
        assert_eq!(aggregate_ice(&[]), I::New);
        assert_eq!(aggregate_ice(&[I::New, I::Closed]), I::New);
        assert_eq!(aggregate_ice(&[I::Connected, I::New]), I::Checking);
        assert_eq!(aggregate_ice(&[I::Connected, I::Checking]), I::Checking);
        assert_eq!(aggregate_ice(&[I::Connected, I::Completed]), I::Connected);
        assert_eq!(aggregate_ice(&[I::Completed, I::Closed]), I::Completed);
        assert_eq!(aggregate_ice(&[I::Connected, I::Disconnected]), I::Disconnected);
        assert_eq!(aggregate_ice(&[I::Disconnected, I::Failed]), I::Failed);
        assert_eq!(aggregate_ice(&[I::Connected]), I::Connected);
    }

    #[test]
    fn gathering_state_aggregates_as_webrtc_pc_4_4_3_says() {
        assert_eq!(aggregate_gathering(&[]), G::New);
        assert_eq!(aggregate_gathering(&[G::New, G::Complete]), G::New);
        assert_eq!(aggregate_gathering(&[G::Gathering, G::Complete]), G::Gathering);
        assert_eq!(aggregate_gathering(&[G::Complete, G::Complete]), G::Complete);
    }

    #[test]
    fn connection_state_aggregates_ice_and_dtls_of_every_transport() {
        assert_eq!(aggregate_pc(&[I::New], &[D::New]), P::New);
        assert_eq!(
            aggregate_pc(&[I::Connected, I::Checking], &[D::Connected, D::New]),
            P::Connecting
        );
        assert_eq!(
            aggregate_pc(&[I::Connected, I::Completed], &[D::Connected, D::Connecting]),
            P::Connecting
        );
        assert_eq!(
            aggregate_pc(&[I::Connected, I::Completed], &[D::Connected, D::Connected]),
            P::Connected
        );
        assert_eq!(
            aggregate_pc(&[I::Connected, I::Disconnected], &[D::Connected, D::Connected]),
            P::Disconnected
        );
        assert_eq!(
            aggregate_pc(&[I::Connected, I::Connected], &[D::Connected, D::Failed]),
            P::Failed
        );
    }

    /// An answered offer with an unbundled audio section (its candidate on port 4000) and
    /// the data section (port 3999), and our one shared socket.
    fn answered() -> crate::connection::Core {
        use crate::cert::{Certificate, CertificateParams};
        use crate::connection::{Core, CoreSettings, SdpType, SessionDescription};
        let fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:\
                  AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
        let offer = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a0\r\n\
             a=ice-ufrag:ufr0\r\na=ice-pwd:passwordpasswordpassword0\r\n\
             a=fingerprint:sha-256 {fp}\r\na=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\n\
             a=rtpmap:111 opus/48000/2\r\n\
             a=candidate:1 1 udp 2122260223 10.0.0.9 4000 typ host\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=mid:d\r\na=ice-ufrag:ufrd\r\na=ice-pwd:passwordpasswordpasswordd\r\n\
             a=fingerprint:sha-256 {fp}\r\na=setup:actpass\r\na=sctp-port:5000\r\n\
             a=candidate:1 1 udp 2122260223 10.0.0.9 3999 typ host\r\n"
        );
        let cert = Certificate::generate(CertificateParams::default(), std::time::SystemTime::now())
            .expect("certificate");
        let mut c = Core::new(
            crate::config::Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(crate::util::SeededRandom::new(5)),
        );
        c.set_remote_description(SessionDescription::new(SdpType::Offer, offer))
            .unwrap();
        c.set_local_description(None).unwrap();
        c.add_local_address("10.0.0.1:1000".parse().unwrap()).unwrap();
        c
    }

    fn stun(class: crate::stun::Class, tid: [u8; 12], username: Option<&str>) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = crate::stun::MessageWriter::new(
            &mut buf,
            class,
            crate::stun::Method::BINDING,
            crate::stun::TransactionId(tid),
        );
        if let Some(u) = username {
            w.username(u).unwrap();
        }
        w.fingerprint().unwrap();
        buf
    }

    #[test]
    fn datagrams_find_their_transport_by_ufrag_transaction_and_path() {
        use crate::stun::Class as S;
        let mut c = answered();
        assert_eq!(c.session.extra.len(), 1, "the audio section's own transport");
        let ours = c.session.extra[0].local_creds.ufrag.clone();
        let primary = c.session.ice.local_creds.clone().unwrap().ufrag;
        assert_ne!(ours, primary);
        let local: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let (a0, d): (SocketAddr, SocketAddr) =
            ("10.0.0.9:4000".parse().unwrap(), "10.0.0.9:3999".parse().unwrap());
        let s = &c.session;
        // Requests by the local ufrag of USERNAME (RFC 8445 §7.3).
        let req = |u: &str| stun(S::Request, [1; 12], Some(u));
        assert_eq!(s.route_extra(Class::Stun, local, d, &req(&format!("{ours}:ufr0"))), Some(0));
        assert_eq!(s.route_extra(Class::Stun, local, a0, &req(&format!("{primary}:ufrd"))), None);
        assert_eq!(s.route_extra(Class::Stun, local, a0, &req("nobody:ufr0")), None);
        assert_eq!(s.route_extra(Class::Stun, local, a0, &stun(S::Request, [1; 12], None)), None);
        // Everything else by the path the agents know.
        let dtls = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(s.route_extra(Class::Dtls, local, a0, &dtls), Some(0));
        assert_eq!(s.route_extra(Class::Dtls, local, d, &dtls), None);
        assert_eq!(s.route_extra(Class::Rtp, local, a0, &[0x80; 12]), Some(0));
        let stranger: SocketAddr = "10.0.0.66:1".parse().unwrap();
        assert_eq!(s.route_extra(Class::Dtls, local, stranger, &dtls), None);
        // Responses by the transaction of the request that asked: run the agents until
        // the extra one sends a check, then answer it.
        let t0 = Instant::now();
        let mut buf = Vec::new();
        let mut tid = None;
        for ms in 0..200u64 {
            let now = t0 + std::time::Duration::from_millis(ms * 10);
            c.handle_input(now, crate::connection::Input::Timeout).unwrap();
            loop {
                buf.clear();
                match c.poll_output(&mut buf) {
                    crate::connection::Output::Transmit(t) => {
                        let m = crate::stun::Message::parse(&buf).ok();
                        if t.remote == a0
                            && let Some(m) = m
                            && m.class() == S::Request
                        {
                            tid = Some(m.transaction_id());
                        }
                    }
                    crate::connection::Output::Timeout(_) => break,
                    _ => {}
                }
            }
            if tid.is_some() {
                break;
            }
        }
        let tid = tid.expect("the audio transport checks its pair");
        let s = &c.session;
        assert_eq!(s.route_extra(Class::Stun, local, a0, &stun(S::SuccessResponse, tid.0, None)), Some(0));
        assert_eq!(s.route_extra(Class::Stun, local, a0, &stun(S::SuccessResponse, [9; 12], None)), None);
        // A datagram the extra transport takes is its agent's: the USERNAME check
        // fails integrity (no MESSAGE-INTEGRITY), so it is dropped there, not by the primary.
        assert!(c.session.extra_handle_datagram(0, t0, local, a0, Class::Stun, &req(&format!("{ours}:ufr0"))));
    }
}

#[cfg(test)]
#[path = "transports_tests.rs"]
mod in_memory;

/// The next datagram of an ICE agent and the DTLS connection on its path, appended to `out`:
/// the agent's STUN first, then DTLS on the selected pair (else `fallback`, the path DTLS
/// last used). Shared by the further transports and the RTCP component.
pub(super) fn poll_stun_then_dtls(
    agent: &mut IceAgent,
    dtls: Option<&mut DtlsConnection>,
    fallback: Option<(SocketAddr, SocketAddr)>,
    now: Instant,
    out: &mut Vec<u8>,
) -> Option<SessionTransmit> {
    let start = out.len();
    if let Some(t) = agent.poll_transmit(now) {
        out.extend_from_slice(&t.data);
        return Some(SessionTransmit {
            local: t.local,
            remote: t.remote,
            class: Class::Stun,
            len: out.len() - start,
        });
    }
    let path = agent.selected_pair().or(fallback)?;
    dtls?.poll_transmit_into(out)?;
    Some(SessionTransmit {
        local: path.0,
        remote: path.1,
        class: Class::Dtls,
        len: out.len() - start,
    })
}
