//! The session half's operations as the connection's (webrtc-pc §4.4.1, §5.5–§6): each
//! forwards to [`crate::session::Session`], then moves what the session queued (events,
//! gathered candidates) into the connection's queue, so the firing order stays the one of
//! the calls.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::*;
use crate::datachannel::{DataChannelLimits, Payload};
use crate::dtls::{DtlsTransportState, SrtpKeyingMaterial};
use crate::ice::{IceAgent, IceAgentConfig, IceConnectionState, IceGatheringState};
use crate::sctp;

/// The largest `jitterBufferTarget` (webrtc-pc §5.3: 4000 ms).
pub const MAX_JITTER_BUFFER_TARGET: std::time::Duration = std::time::Duration::from_secs(4);

impl Connection {
    /// Sends one RTP packet on transceiver `id`'s sender at `now` (RFC 3550 §5.1): the
    /// session writes our SSRC, the next sequence number and the negotiated MID and
    /// transport-wide sequence extensions, keeps a copy for retransmission (RFC 4588) and
    /// encrypts it (RFC 3711). Returns the sequence number, or `None` when nothing was sent:
    /// the transport is not connected yet, the transceiver does not send, the payload type
    /// was not negotiated, or the send queue is full.
    pub fn send_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rtp: &OutgoingRtp<'_>,
    ) -> Option<u16> {
        self.session.timers.note(now);
        self.session.media_send_rtp(now, id, rtp)
    }

    /// `RTCRtpSender.setParameters(parameters)` on transceiver `id` (webrtc-pc §5.2; the
    /// checks are [`Negotiator::set_send_parameters`]'s): the encodings apply at once, and
    /// with none active the sender stops sending RTP until one is again.
    pub fn set_parameters(
        &mut self,
        id: TransceiverId,
        params: crate::negotiator::parameters::RtpSendParameters,
    ) -> Result<()> {
        let active = self.negotiator.set_send_parameters(id, params)?;
        self.session.media_for(id).set_send_active(id, active);
        Ok(())
    }

    /// The driver's wall clock: at `now` it is `unix` since the Unix epoch. Sender reports
    /// carry NTP time (RFC 3550 §6.4.1), so without this call only receiver reports are sent.
    pub fn set_wall_clock(&mut self, now: Instant, unix: std::time::Duration) {
        self.session.media.set_wall_clock(now, unix);
        for e in &mut self.session.extra {
            e.media.set_wall_clock(now, unix);
        }
    }

    /// `RTCDTMFSender.insertDTMF(tones, duration, interToneGap)` on transceiver `id`'s sender
    /// at `now` (webrtc-pc §7.2): `InvalidStateError` when the transceiver is stopped, its
    /// currentDirection is "recvonly" or "inactive", or no telephone-event was negotiated;
    /// `InvalidCharacterError` for a character outside `0-9A-D#*,`.
    pub fn insert_dtmf(
        &mut self,
        now: Instant,
        id: TransceiverId,
        tones: &str,
        duration: std::time::Duration,
        gap: std::time::Duration,
    ) -> Result<()> {
        let t = self
            .transceiver(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is gone"))?;
        let can_insert = !t.stopped
            && !t.stopping
            && !matches!(
                t.current_direction,
                Some(RtpTransceiverDirection::RecvOnly | RtpTransceiverDirection::Inactive)
            );
        self.session.timers.note(now);
        self.session
            .media_for(id)
            .insert_dtmf(now, id, tones, duration, gap, can_insert)
    }

    /// Asks the remote sender of transceiver `id`'s receiver for a key frame (a PLI,
    /// RFC 4585 §6.3.1): false when nothing is received on it yet.
    pub fn request_keyframe(&mut self, id: TransceiverId) -> bool {
        self.session.media_for(id).request_keyframe(id)
    }

    /// `RTCRtpReceiver.getSynchronizationSources()` (`contributing` false) or
    /// `getContributingSources()` of transceiver `id`'s receiver at `now`: the sources whose
    /// packets arrived in the last 10 seconds, the most recent first (webrtc-pc §5.3.4).
    pub fn rtp_sources(
        &self,
        id: TransceiverId,
        contributing: bool,
        now: Instant,
    ) -> Vec<RtpSource> {
        self.session.media_ref(id).sources(id, contributing, now)
    }

    /// `RTCDTMFSender.toneBuffer` of transceiver `id`'s sender (`None` without DTMF).
    pub fn tone_buffer(&self, id: TransceiverId) -> Option<&str> {
        self.session.media_ref(id).tone_buffer(id)
    }

    /// The `jitterBufferTarget` setter of transceiver `id`'s receiver (webrtc-pc §5.3):
    /// `RangeError` above 4 seconds; `None` restores the default. rtcpeer does not play
    /// media out, so the target is how long frames mode waits for a missing packet
    /// (retransmissions included) before it gives the frame up.
    pub fn set_jitter_buffer_target(
        &mut self,
        id: TransceiverId,
        target: Option<std::time::Duration>,
    ) -> Result<()> {
        if target.is_some_and(|t| t > MAX_JITTER_BUFFER_TARGET) {
            return Err(Error::range("jitterBufferTarget is at most 4000 ms"));
        }
        let t = self
            .negotiator
            .transceiver_mut(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is gone"))?;
        t.jitter_buffer_target = target;
        self.session
            .media_for(id)
            .set_jitter_buffer_target(id, target);
        Ok(())
    }

    /// The `jitterBufferTarget` of transceiver `id`'s receiver (`None`: not set).
    pub fn jitter_buffer_target(&self, id: TransceiverId) -> Option<std::time::Duration> {
        self.negotiator.transceiver(id)?.jitter_buffer_target
    }

    /// Receiver `id` hands out whole frames or RTP packets from now on (see
    /// [`ReceiveMode`]); false for a transceiver not negotiated yet.
    pub fn set_receive_mode(&mut self, id: TransceiverId, mode: ReceiveMode) -> bool {
        self.session.media_for(id).set_receive_mode(id, mode)
    }

    /// Sends one encoded frame of `duration` on transceiver `id`'s sender at `now`:
    /// packetized by the first negotiated codec's payload format (Opus, G.711, G.722, VP8,
    /// VP9, H.264, AV1), timestamped on its clock (each frame after the previous by its
    /// duration). Returns the packets sent.
    pub fn send_frame(
        &mut self,
        now: Instant,
        id: TransceiverId,
        frame: &[u8],
        duration: std::time::Duration,
    ) -> Result<usize> {
        self.session.timers.note(now);
        self.session
            .media_for(id)
            .send_frame(now, id, frame, duration)
    }

    /// Counters of the RTP session (packets in and out, and every kind of drop).
    pub fn media_counters(&self) -> MediaCounters {
        self.session.media_counters()
    }

    /// The RTCP component when RTCP is not multiplexed (`rtcpMuxPolicy` "negotiate" and an
    /// exchange without `a=rtcp-mux`, RFC 5761, RFC 8445 §4): its states, sockets and RTCP
    /// counters; `None` while RTCP shares component 1.
    pub fn rtcp_component_stats(&self) -> Option<crate::RtcpComponentStats> {
        self.session.rtcp_component_stats()
    }

    /// Hides our host addresses in signalled candidates behind random `<uuid>.local` names,
    /// one per address for the connection's life (draft-ietf-mmusic-mdns-ice-candidates
    /// §3.1): the local description and `icecandidate` carry the name, srflx and relay
    /// candidates `raddr 0.0.0.0 rport 0`; connectivity checks use the real addresses. The
    /// driver answers mDNS queries for the names ([`IoRequest::PublishMdnsName`]). Set it
    /// before gathering starts (the API layer does at construction).
    ///
    /// [`IoRequest::PublishMdnsName`]: crate::connection::IoRequest::PublishMdnsName
    pub fn set_hide_host_addresses(&mut self, on: bool) {
        self.session.set_hide_host_addresses(on);
        self.flush_events();
    }

    /// Sets the ICE agent's knobs and its random source (the API layer calls this once, right
    /// after construction). Without it the agent uses defaults and a generator seeded from
    /// the core's own randomness.
    pub fn configure_ice(&mut self, config: IceAgentConfig, rng: Box<dyn RandomSource>) {
        self.session.configure_ice(config, rng);
        self.flush_events();
    }

    /// `iceGatheringState` (webrtc-pc §4.4.3).
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.session.ice_gathering_state()
    }

    /// `iceConnectionState` (webrtc-pc §4.4.3).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.session.ice_connection_state()
    }

    /// `connectionState` (webrtc-pc §4.4.3), from the ICE and DTLS transports' states.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.session.connection_state()
    }

    /// The ICE agent, once a local description created it (selected pair, candidates, stats).
    pub fn ice_agent(&self) -> Option<&IceAgent> {
        self.session.ice_agent()
    }

    /// The connection's (bundled) ICE transport, once a local description created the agent.
    pub fn ice_transport(&self) -> Option<IceTransportId> {
        self.session.ice_transport()
    }

    /// The ICE transport carrying m-section `mid`: an unbundled section's own (RFC 8843
    /// §7), else the primary one.
    pub fn transport_of_mid(&self, mid: &str) -> Option<IceTransportId> {
        self.session.transport_of_mid(mid)
    }

    /// The transports beyond the primary one (unbundled m-sections), in order.
    pub fn extra_transport_ids(&self) -> Vec<IceTransportId> {
        self.session.extra_transport_ids()
    }

    /// Whether `id` is a transport beyond the primary one.
    pub fn is_extra_transport(&self, id: IceTransportId) -> bool {
        self.session.extra_of(id).is_some()
    }

    /// `RTCDtlsTransport.state` of the DTLS transport over ICE transport `id` (the
    /// primary's for an id that is not an extra transport).
    pub fn dtls_state_of(&self, id: IceTransportId) -> DtlsTransportState {
        self.session.dtls_state_of(id)
    }

    pub(crate) fn is_current_transport(&self, id: IceTransportId) -> bool {
        self.session.is_current_transport(id)
    }

    /// `role` of transport `id`; "unknown" for a transport that no longer exists.
    pub fn ice_transport_role(&self, id: IceTransportId) -> IceRole {
        self.session.ice_transport_role(id)
    }

    /// `state` of transport `id`: the ICE connection state; "closed" for a transport
    /// discarded by a rollback.
    pub fn ice_transport_state(&self, id: IceTransportId) -> IceTransportState {
        self.session.ice_transport_state(id)
    }

    /// `gatheringState` of transport `id`; "new" for a transport discarded by a rollback.
    pub fn ice_transport_gathering_state(&self, id: IceTransportId) -> IceGatheringState {
        self.session.ice_transport_gathering_state(id)
    }

    /// `getSelectedCandidatePair()`: the pair last selected, as the candidates were
    /// signalled (webrtc-pc §5.6.2).
    pub fn ice_selected_candidate_pair(&self, id: IceTransportId) -> Option<IceCandidatePair> {
        if let Some(pair) = self.extra_selected_pair(id) {
            return pair;
        }
        self.session.ice_selected_candidate_pair(id)
    }

    /// `getLocalParameters()`: the local credentials of the current generation.
    pub fn ice_local_parameters(&self, id: IceTransportId) -> Option<IceParameters> {
        self.session.ice_local_parameters(id)
    }

    /// The current generation's local credentials, borrowed (what [`Core::poll_output`]
    /// tells the driver when they change).
    pub(crate) fn ice_local_creds(&self) -> Option<&IceCredentials> {
        self.session.ice_local_creds()
    }

    /// `getRemoteParameters()`: the remote credentials the agent uses.
    pub fn ice_remote_parameters(&self, id: IceTransportId) -> Option<IceParameters> {
        self.session.ice_remote_parameters(id)
    }

    /// Whether a runtime driver is needed: the connection has an ICE agent to drive, or
    /// `iceCandidatePoolSize` > 0 asks to bind sockets before the first local description
    /// (webrtc-pc §4.4.1.1, RFC 9429 §3.5.4).
    pub fn needs_driver(&self) -> bool {
        self.session.needs_driver()
    }

    /// The STUN and TURN-over-UDP servers of `iceServers` given by host name that the driver
    /// must resolve (at most `MAX_STUN_SERVERS`).
    pub(crate) fn stun_host_names(&self) -> Vec<StunHostName> {
        self.session.stun_host_names()
    }

    /// The driver resolved the host-name STUN URL `url` (see [`Core::stun_host_names`]) to
    /// `addr`, or `None` when the name did not resolve in time: the agent uses the address
    /// (now or when it is created); a failure becomes an `icecandidateerror` (701) before
    /// gathering completes (webrtc-pc §4.8.3). Does not poll the agent, so the caller can
    /// add local addresses next in the same gathering phase.
    pub(crate) fn set_stun_host_resolution(&mut self, url: &str, addr: Option<SocketAddr>) {
        self.session.set_stun_host_resolution(url, addr);
        self.flush_events();
    }

    /// The TURN servers reached over TCP or TLS the driver must connect to (RFC 8656 §3.1).
    pub(crate) fn turn_stream_servers(&self) -> Vec<TurnStreamServer> {
        self.session.turn_stream_servers()
    }

    /// See `Input::TurnStreamConnected`.
    pub(crate) fn turn_stream_connected(
        &mut self,
        url: &str,
        local: SocketAddr,
        server: SocketAddr,
    ) {
        self.session.turn_stream_connected(url, local, server);
        self.flush_events();
    }

    /// See `Input::TurnStreamFailed`.
    pub(crate) fn turn_stream_failed(&mut self, url: &str, error: &str) {
        self.session.turn_stream_failed(url, error);
        self.flush_events();
    }

    /// See `Input::TurnStreamClosed`.
    pub(crate) fn turn_stream_closed(
        &mut self,
        local: SocketAddr,
        server: SocketAddr,
        error: &str,
    ) {
        self.session.turn_stream_closed(local, server, error);
        self.flush_events();
    }

    /// Datagrams received that the ICE agent did not take as STUN (RFC 7983 §7); derived
    /// from [`Core::demux_counters`].
    pub fn non_stun_datagrams(&self) -> u64 {
        self.session.non_stun_datagrams()
    }

    /// Datagrams dropped by demultiplexing (RFC 7983 §7): DTLS from a path the agent does not
    /// know, STUN without an agent, RTP/RTCP (no media yet) and other first bytes.
    pub fn dropped_datagrams(&self) -> u64 {
        self.session.dropped_datagrams()
    }

    /// Received datagrams counted per RFC 7983 class, and the drops after classification.
    pub fn demux_counters(&self) -> DemuxCounters {
        self.session.demux_counters()
    }

    /// The driver bound a UDP socket on `addr`: it becomes a host candidate (RFC 8445
    /// §5.1.1.1), now or when the agent is created. At most `MAX_LOCAL_INTERFACES` addresses.
    pub fn add_local_address(&mut self, addr: SocketAddr) -> Result<()> {
        let r = self.session.add_local_address(addr);
        self.flush_events();
        r
    }

    /// Whether ICE has a candidate pair on this path (`local` base, `remote` address): true
    /// only once an authenticated check or a signalled candidate made one. The driver closes
    /// accepted ICE-TCP connections for which this stays false (RFC 6544 §7.2).
    pub fn knows_path(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.session
            .ice_agent()
            .is_some_and(|a| a.knows_path(local, remote))
    }

    /// The driver could not open the ICE-TCP connection from active base `local` to
    /// `remote` (RFC 6544 §7.1).
    pub fn tcp_connection_failed(&mut self, local: SocketAddr, remote: SocketAddr) {
        self.session.tcp_connection_failed(local, remote);
        self.flush_events();
    }

    /// The driver listens for ICE-TCP connections on `addr` (RFC 6544 §5.1).
    pub fn add_local_tcp(&mut self, addr: SocketAddr) -> Result<()> {
        let r = self.session.add_local_tcp(addr);
        self.flush_events();
        r
    }

    /// A datagram arrived on local socket `local` from `remote`: classified once
    /// (`session/demux.rs`, RFC 7983 §7) and routed: STUN to the ICE agent,
    /// DTLS to the DTLS transport when it comes from a path the agent knows, the rest counted
    /// and dropped. Returns whether the agent took it as STUN.
    pub(crate) fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> bool {
        let r = self.session.handle_datagram(now, local, remote, data);
        self.flush_events();
        r
    }

    /// The next datagram to send (in the scheduler's order, `session/scheduler.rs`: STUN
    /// first, then DTLS records, then DTLS records carrying SCTP); `None` when nothing is
    /// queued. After `close()` it still yields the SCTP ABORT and DTLS close_notify that
    /// `close()` produced.
    #[cfg(test)]
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<crate::ice::Transmit> {
        let r = self.session.poll_transmit(now);
        self.flush_events();
        r
    }

    /// The next datagram for batching runtimes: appends the next datagram to `out`
    /// (DTLS records carrying SCTP are encrypted straight into it) and returns its path,
    /// class and length; `None` (and `out` unchanged) when nothing is queued.
    pub(crate) fn poll_transmit_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<SessionTransmit> {
        let r = self.session.poll_transmit_into(now, out);
        self.flush_events();
        r
    }

    /// When `handle_input(now, Input::Timeout)` must run next; `None` when nothing is
    /// scheduled.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// The connection's earliest timer and its name (for tracing why it will wake):
    /// deferred work, the ICE agent's, DTLS's or SCTP's; `None` when nothing is scheduled
    /// (always after `close()`).
    pub fn next_timer(&self) -> Option<(Instant, TimerName)> {
        self.session.next_timer()
    }

    /// The timer that was due the last time a timeout ([`Input::Timeout`]) found one due
    /// (timeouts given early, with nothing due, leave it): why the connection last woke.
    ///
    /// [`Input::Timeout`]: crate::connection::Input::Timeout
    pub fn last_timeout_reason(&self) -> Option<TimerName> {
        self.session.last_timeout_reason()
    }

    /// Runs the timers due at `now` (ICE pacing, retransmissions and consent, RFC 8445 /
    /// RFC 7675; DTLS flights; SCTP retransmissions, RFC 9260) and work that set-description
    /// calls made possible (starting DTLS and SCTP, opening channels). Calling it early is
    /// harmless; the driver also calls it after every state change.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.flush_events();
    }

    /// Next remote `.local` name the driver must resolve (the core does no I/O); answer with
    /// [`Core::mdns_resolved`]. Requests appear after the driver calls that pump the agent.
    pub(crate) fn poll_mdns_query(&mut self) -> Option<String> {
        let r = self.session.poll_mdns_query();
        self.flush_events();
        r
    }

    /// Set by a driver that can bind sockets at any time: each ICE restart then gathers on
    /// fresh sockets ([`Core::poll_socket_request`]), as browsers do, instead of re-using the
    /// old ones (a peer like libwebrtc ties one ufrag to each 5-tuple and would keep checking
    /// the old address with the old ufrag).
    pub(crate) fn set_fresh_sockets_on_restart(&mut self, on: bool) {
        self.session.set_fresh_sockets_on_restart(on);
        self.flush_events();
    }

    /// The IPs on which the driver must bind one new UDP socket each (after an ICE restart):
    /// it reports each with [`Core::add_local_address`], then calls
    /// [`Core::local_addresses_complete`]. `None` when nothing is asked.
    pub(crate) fn poll_socket_request(&mut self) -> Option<Vec<IpAddr>> {
        let r = self.session.poll_socket_request();
        self.flush_events();
        r
    }

    /// The sockets asked by [`Core::poll_socket_request`] were reported (or could not be
    /// bound): the new generation's gathering can complete.
    pub(crate) fn local_addresses_complete(&mut self) {
        self.session.local_addresses_complete();
        self.flush_events();
    }

    /// Whether the socket bound on `addr` is still needed: a socket of the current
    /// generation, or the local end of the selected pair. The driver closes the others.
    pub(crate) fn uses_local_address(&self, addr: SocketAddr) -> bool {
        self.session.uses_local_address(addr)
    }

    /// The driver's answer for `name`: its address (the waiting remote candidates become
    /// real ones and are paired), or `None` when it did not resolve or mDNS is off (they
    /// are dropped, so the checklist can complete or fail without them).
    pub(crate) fn mdns_resolved(&mut self, name: &str, ip: Option<IpAddr>) {
        self.session.mdns_resolved(name, ip);
        self.flush_events();
    }

    /// The peer's DATA_CHANNEL_OPENs refused: beyond the [`DataChannelLimits`] caps or on
    /// a stream id of this side's parity (RFC 8832 §6); each had its stream reset and
    /// fired no `datachannel` event.
    ///
    /// [`DataChannelLimits`]: crate::datachannel::DataChannelLimits
    pub fn refused_data_channels(&self) -> u64 {
        self.session.refused_data_channels()
    }

    /// `RTCDtlsTransport.state` (webrtc-pc §5.5).
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.session.dtls_state()
    }

    /// `RTCDtlsTransport.getRemoteCertificates()`: the peer's DER certificate once connected.
    pub fn dtls_remote_certificates(&self) -> Vec<Vec<u8>> {
        self.session.dtls_remote_certificates()
    }

    /// `getRemoteCertificates()` of the DTLS transport over ICE transport `id` (the
    /// primary's for an id that is not an extra transport): that transport's peer
    /// certificate once it connected (webrtc-pc §5.5.1).
    pub fn dtls_remote_certificates_of(&self, id: IceTransportId) -> Vec<Vec<u8>> {
        self.session.dtls_remote_certificates_of(id)
    }

    /// The DTLS-SRTP keys (RFC 5764 §4.2), once DTLS is connected and the peer agreed to SRTP.
    pub fn srtp_keying_material(&self) -> Option<&SrtpKeyingMaterial> {
        self.session.srtp_keying_material()
    }

    /// `sctp.maxChannels` (webrtc-pc §6.1.1): `None` until the association connected, then
    /// the smaller of the negotiated inbound and outbound stream counts, kept after it
    /// closed (webrtc-pc §6.1.1.1 "update the data max channels").
    pub fn sctp_max_channels(&self) -> Option<u16> {
        self.session.sctp_max_channels()
    }

    /// The SCTP association's counters and congestion state (packets, retransmissions,
    /// SACKs, cwnd, RTO; RFC 9260 §7), once it exists: diagnostics and the basis of
    /// `RTCSctpTransportStats`.
    pub fn sctp_stats(&self) -> Option<sctp::Stats> {
        self.session.sctp_stats()
    }

    /// The next per-channel event, in firing order (drained by the runtime).
    pub(crate) fn poll_data_channel_event(&mut self) -> Option<(DataChannelId, DataChannelEvent)> {
        let r = self.session.poll_data_channel_event();
        self.flush_events();
        r
    }

    /// `dc.bufferedAmount` (webrtc-pc §6.2): bytes queued by `send` and not yet sent.
    /// It keeps its value after the channel or the connection closed (WPT-215).
    pub fn data_channel_buffered_amount(&self, key: DataChannelId) -> u64 {
        self.session.data_channel_buffered_amount(key)
    }

    /// `dc.bufferedAmountLowThreshold = bytes` (webrtc-pc §6.2).
    pub fn set_data_channel_low_threshold(&mut self, key: DataChannelId, bytes: u64) {
        self.session.set_data_channel_low_threshold(key, bytes);
        self.flush_events();
    }

    /// `dc.send(data)` (webrtc-pc §6.2 "send"): `InvalidStateError` unless open, `TypeError`
    /// above `maxMessageSize`, `OperationError` when the send buffer is full (back-pressure:
    /// wait for `bufferedamountlow`).
    pub fn data_channel_send(
        &mut self,
        key: DataChannelId,
        payload: Payload,
        now: Instant,
    ) -> Result<()> {
        let r = self.session.data_channel_send(key, payload, now);
        self.flush_events();
        r
    }

    /// The driver handed every datagram it had for now: acknowledgements held back for
    /// more data go out with the next transmit ([`Association::flush_delayed_sack`]).
    pub(crate) fn input_drained(&mut self) {
        self.session.input_drained();
        self.flush_events();
    }

    /// `dc.close()` (webrtc-pc §6.2 "closing procedure"): "closing" now, `close` once the
    /// stream reset completed (or at once if the channel never reached SCTP).
    pub fn close_data_channel(&mut self, key: DataChannelId, now: Instant) {
        self.session.close_data_channel(key, now);
        self.flush_events();
    }

    /// A read-only view of a kept channel's attributes; `None` once it was forgotten (closed
    /// and released, see [`IoRequest::ChannelForgotten`]; [`DataChannelInfo::forgotten`] reads
    /// as closed).
    pub fn data_channel_info(&self, key: DataChannelId) -> Option<DataChannelInfo<'_>> {
        self.session.data_channel_info(key)
    }

    /// The application dropped the channel's last handle: once closed, its record may go.
    pub(crate) fn release_data_channel(&mut self, key: DataChannelId) {
        self.session.release_data_channel(key);
        self.flush_events();
    }

    /// Forgets closed channels without handles (their `close` event was handed out in an
    /// earlier round), so a peer that opens and closes channels forever, with labels of up to
    /// 64 KiB, cannot grow the connection's memory. Returns the forgotten keys.
    /// O(1) amortised per channel: only channels that closed or lost their last handle
    /// since the last prune are looked at.
    pub(crate) fn prune_data_channels(&mut self) -> Vec<DataChannelId> {
        let r = self.session.prune_data_channels();
        self.flush_events();
        r
    }

    /// How many data channel records the connection holds (diagnostics and tests).
    pub fn data_channel_count(&self) -> usize {
        self.session.data_channel_count()
    }

    /// Sets the caps on data channels ([`DataChannelLimits`]); takes effect for a
    /// connection that has no channel yet (call it right after [`Core::new`]).
    pub fn set_data_channel_limits(&mut self, limits: DataChannelLimits) {
        self.session.set_data_channel_limits(limits);
        self.flush_events();
    }

    /// The caps on data channels in effect.
    pub fn data_channel_limits(&self) -> DataChannelLimits {
        self.session.data_channel_limits()
    }

    /// Channels open now (not yet closed, either side's) and the label and protocol bytes
    /// kept for the connection's channels: what [`DataChannelLimits`] bounds.
    pub fn data_channel_usage(&self) -> (usize, usize) {
        self.session.data_channel_usage()
    }

    /// `pc.sctp` state, if an SCTP transport exists.
    pub fn sctp_state(&self) -> Option<SctpTransportState> {
        self.session.sctp_state()
    }

    /// `sctp.maxMessageSize`, if an SCTP transport exists.
    pub fn sctp_max_message_size(&self) -> Option<f64> {
        self.session.sctp_max_message_size()
    }

    /// All data channels' ids in creation order.
    pub fn data_channel_ids(&self) -> Vec<DataChannelId> {
        self.session.data_channel_ids()
    }

    /// `dc.binaryType = t` (webrtc-pc §6.2).
    pub fn set_data_channel_binary_type(&mut self, key: DataChannelId, t: BinaryType) {
        self.session.set_data_channel_binary_type(key, t);
        self.flush_events();
    }
}
