//! The connection's secure data path inside the core: RFC 7983 demultiplexing of what ICE
//! receives, the bundled DTLS transport (`RTCDtlsTransport`, webrtc-pc §5.5), the SCTP
//! association over it (RFC 8261) and the data channels on top (RFC 8831/8832,
//! webrtc-pc §6).
//!
//! Layering, all sans-IO and driven by the core's own calls:
//!
//! - `handle_datagram`: first byte 0–3 is STUN (the ICE agent), 20–63 DTLS (here, only from
//!   a path ICE knows), 128–191 RTP/RTCP (counted and dropped until media exists).
//! - DTLS starts once an answer fixed the role (`a=setup`, RFC 8842 §5) and the remote
//!   `a=fingerprint` is known; it is created earlier if a peer's ClientHello arrives first
//!   (that record is buffered, INTEROP.md). Its datagrams leave over the ICE selected pair,
//!   or, before ICE selected one, back to where the peer's DTLS came from.
//! - Once DTLS is connected and the session has an SCTP m-section, both sides start the
//!   association (simultaneous open, RFC 9260 §5.2.1, as browsers do); every SCTP packet is
//!   one DTLS record.
//! - Channel events become per-channel [`DataChannelEvent`]s (handed out by
//!   [`Core::poll_output`] as `Event::Channel`) and `datachannel` events on the connection.
//!
//! Set-description calls take no clock, so work they make possible (starting DTLS or SCTP,
//! opening channels) is a [`TimerName::Deferred`] timer (`session/timers.rs`): due at once,
//! it runs at the next `handle_timeout`.
//!
//! [`TimerName::Deferred`]: crate::session::timers::TimerName::Deferred

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use crate::datachannel::Payload;
use crate::dtls::{
    DtlsConfig, DtlsConnection, DtlsEvent, DtlsRole as WireRole, DtlsSettings, DtlsTransportState,
    RemoteFingerprints, SrtpKeyingMaterial,
};
use crate::error::{Error, ErrorDetail, Result};
use crate::sctp::{self, Association, SendError};

use super::channels::{DataChannelId, DataChannelState, SctpTransportState};
use super::timers::TimerName;
use crate::connection::{CoreEvent, DtlsRole};
use crate::session::Session;
#[cfg(doc)]
use crate::connection::Core;
use crate::negotiator::negotiated::{Cause, Negotiated, NegotiatedDtls, NegotiatedSctp};

/// What happened on one data channel (the W3C `RTCDataChannel` events, webrtc-pc §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// `open`: messages can be sent.
    Open,
    /// `message`, with its payload (strings and binary stay apart, RFC 8831 §6.6).
    Message(Payload),
    /// `bufferedamountlow`: `bufferedAmount` fell to `bufferedAmountLowThreshold` or below.
    BufferedAmountLow,
    /// `error` (an `RTCError`, e.g. "sctp-failure" when the association went away).
    Error(Error),
    /// `closing`: the peer started closing the channel.
    Closing,
    /// `close`: the channel is closed for good.
    Close,
}


/// The DTLS configuration for `settings`: the default one is built once per process
/// (building runs dimpl's crypto self-check), others per connection.
pub(super) fn dtls_config(settings: &DtlsSettings) -> Result<DtlsConfig> {
    static CONFIG: OnceLock<std::result::Result<DtlsConfig, Error>> = OnceLock::new();
    if *settings != DtlsSettings::default() {
        return DtlsConfig::new(settings);
    }
    CONFIG
        .get_or_init(|| DtlsConfig::new(&DtlsSettings::default()))
        .clone()
}

/// DTLS, SCTP and data-channel state of the core (see the module documentation).
pub(crate) struct DataPath {
    dtls: Option<DtlsConnection>,
    /// `RTCDtlsTransport.state` as last reported.
    dtls_state: DtlsTransportState,
    /// The DTLS role was fixed by an answer and the handshake should start.
    dtls_wanted: bool,
    /// Where DTLS replies go before ICE selected a pair: the last DTLS datagram's path.
    fallback_path: Option<(SocketAddr, SocketAddr)>,
    remote_certificate: Option<Vec<u8>>,
    srtp: Option<SrtpKeyingMaterial>,
    /// `sctp.maxChannels`, set when the association connected.
    max_channels: Option<u16>,
    assoc: Option<Association>,
    sctp_buf: Vec<u8>,
    /// The last time a timed call gave (the ABORT sent by `close()` needs one).
    last_now: Option<Instant>,
    /// DTLS parameters of the last applied description (role, remote fingerprints).
    negotiated_dtls: Option<NegotiatedDtls>,
    /// SCTP parameters of the last applied description (`None`: no data section).
    negotiated_sctp: Option<NegotiatedSctp>,
}

impl DataPath {
    /// Nothing started yet.
    pub(crate) fn new() -> Self {
        DataPath {
            dtls: None,
            dtls_state: DtlsTransportState::New,
            dtls_wanted: false,
            fallback_path: None,
            remote_certificate: None,
            srtp: None,
            max_channels: None,
            assoc: None,
            sctp_buf: Vec::with_capacity(2048),
            last_now: None,
            negotiated_dtls: None,
            negotiated_sctp: None,
        }
    }
}

impl DataPath {
    /// The peer's DER certificate once DTLS connected (for the stats' `certificate`).
    pub(crate) fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// The IANA name of the negotiated DTLS cipher suite once connected (`dtlsCipher`).
    pub(crate) fn dtls_cipher(&self) -> Option<&'static str> {
        self.dtls.as_ref()?.cipher_suite()?.name()
    }
}

impl Session {
    /// The peer's DATA_CHANNEL_OPENs refused: beyond the [`DataChannelLimits`] caps or on
    /// a stream id of this side's parity (RFC 8832 §6); each had its stream reset and
    /// fired no `datachannel` event.
    ///
    /// [`DataChannelLimits`]: crate::datachannel::DataChannelLimits
    pub fn refused_data_channels(&self) -> u64 {
        self.channels.refused_opens()
    }

    // ----- W3C getters -----

    /// `RTCDtlsTransport.state` (webrtc-pc §5.5).
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.data.dtls_state
    }

    /// `RTCDtlsTransport.getRemoteCertificates()`: the peer's DER certificate once connected.
    pub fn dtls_remote_certificates(&self) -> Vec<Vec<u8>> {
        self.data.remote_certificate.iter().cloned().collect()
    }

    /// The DTLS-SRTP keys (RFC 5764 §4.2), once DTLS is connected and the peer agreed to SRTP.
    pub fn srtp_keying_material(&self) -> Option<&SrtpKeyingMaterial> {
        self.data.srtp.as_ref()
    }

    /// `sctp.maxChannels` (webrtc-pc §6.1.1): `None` until the association connected, then
    /// the smaller of the negotiated inbound and outbound stream counts, kept after it
    /// closed (webrtc-pc §6.1.1.1 "update the data max channels").
    pub fn sctp_max_channels(&self) -> Option<u16> {
        self.data.max_channels
    }

    /// The SCTP association's counters and congestion state (packets, retransmissions,
    /// SACKs, cwnd, RTO; RFC 9260 §7), once it exists: diagnostics and the basis of
    /// `RTCSctpTransportStats`.
    pub fn sctp_stats(&self) -> Option<sctp::Stats> {
        self.data.assoc.as_ref().map(Association::stats)
    }

    /// The next per-channel event, in firing order (drained by the runtime).
    pub(crate) fn poll_data_channel_event(&mut self) -> Option<(DataChannelId, DataChannelEvent)> {
        self.channels.poll_event()
    }

    /// `dc.bufferedAmount` (webrtc-pc §6.2): bytes queued by `send` and not yet sent.
    /// It keeps its value after the channel or the connection closed (WPT-215).
    pub fn data_channel_buffered_amount(&self, key: DataChannelId) -> u64 {
        let Some(rec) = self.data_channel(key) else {
            return 0;
        };
        match (rec.id, self.data.assoc.as_ref()) {
            (Some(id), Some(a)) if rec.state != DataChannelState::Closed => {
                a.buffered_amount(id) as u64
            }
            _ => rec.final_buffered_amount,
        }
    }

    /// `dc.bufferedAmountLowThreshold = bytes` (webrtc-pc §6.2).
    pub fn set_data_channel_low_threshold(&mut self, key: DataChannelId, bytes: u64) {
        let Some(rec) = self.channels.get_mut(key) else {
            return;
        };
        rec.low_threshold = bytes;
        if let (Some(id), Some(a)) = (rec.id, self.data.assoc.as_mut()) {
            a.set_buffered_amount_low_threshold(id, usize::try_from(bytes).unwrap_or(usize::MAX));
        }
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
        let rec = self
            .data_channel(key)
            .ok_or_else(|| Error::invalid_state("unknown data channel"))?;
        if rec.state != DataChannelState::Open {
            return Err(Error::invalid_state(format!(
                "the data channel is {}",
                rec.state
            )));
        }
        let id = rec
            .id
            .ok_or_else(|| Error::invalid_state("the data channel has no id"))?;
        let len = match &payload {
            Payload::Text(s) => s.len(),
            Payload::Binary(b) => b.len(),
        };
        let max = self.sctp_max_message_size().unwrap_or(0.0);
        if len as f64 > max {
            return Err(Error::type_error(format!(
                "{len} bytes exceed maxMessageSize {max}"
            )));
        }
        let Some(assoc) = self.data.assoc.as_mut() else {
            return Err(Error::invalid_state("the SCTP transport is not connected"));
        };
        let _ = id;
        match self.channels.send(assoc, key, payload, now) {
            Ok(()) => Ok(()),
            Err(crate::datachannel::ChannelError::Send(SendError::BufferFull)) => Err(
                Error::operation("the send buffer is full; wait for bufferedamountlow"),
            ),
            Err(crate::datachannel::ChannelError::Send(SendError::MessageTooLarge)) => Err(
                Error::type_error("the message exceeds the SCTP maximum message size"),
            ),
            Err(e) => Err(Error::invalid_state(e.to_string())),
        }
    }

    // ----- hooks for the rest of the core -----

    /// After a description was applied or rolled back: keep its DTLS and SCTP parameters;
    /// once an answer fixed the DTLS role, DTLS may start (at the next timed call).
    pub(crate) fn data_negotiated(&mut self, negotiated: &Negotiated) {
        self.data.negotiated_dtls = negotiated.dtls.clone();
        self.data.negotiated_sctp = negotiated.sctp.clone();
        if negotiated.cause != Cause::RolledBack
            && negotiated.dtls.is_some()
            && self.data.dtls_state == DtlsTransportState::New
        {
            self.data.dtls_wanted = true;
        }
        self.timers.defer();
    }

    /// `close()`: ABORT the association and send close_notify (both leave through
    /// [`Core::poll_output`] after close); no events fire.
    pub(crate) fn data_close(&mut self, now: Option<Instant>) {
        // Closed without events (webrtc-pc §4.4.1.9, WPT-211); bufferedAmount is kept
        // (WPT-215): read before the ABORT below drops the send queue.
        for i in 0..self.channels.positions() {
            let Some(key) = self.channels.key_at(i) else {
                continue;
            };
            let amount = self.data_channel_buffered_amount(key);
            if let Some(rec) = self.channels.get_mut(key) {
                rec.final_buffered_amount = amount;
            }
        }
        let path = self.dtls_path();
        let now = now.or(self.data.last_now);
        if let (Some(assoc), Some(dtls), Some(now)) =
            (self.data.assoc.as_mut(), self.data.dtls.as_mut(), now)
        {
            if dtls.state() == DtlsTransportState::Connected {
                assoc.abort(now);
                while assoc.poll_transmit(now, &mut self.data.sctp_buf) {
                    if dtls.send_application_data(&self.data.sctp_buf).is_err() {
                        break;
                    }
                }
            }
        }
        if let Some(dtls) = self.data.dtls.as_mut() {
            dtls.close();
            while let Some(d) = dtls.poll_transmit() {
                if let Some((local, remote)) = path {
                    self.scheduler.push_final(local, remote, d);
                }
            }
        }
        self.data.assoc = None;
        self.data.dtls_state = DtlsTransportState::Closed;
        self.channels.clear_events();
    }

    /// A datagram other than STUN arrived at `now` (the ABORT sent by `close()` needs a time).
    pub(super) fn data_note_time(&mut self, now: Instant) {
        self.data.last_now = Some(now);
    }

    /// A DTLS datagram (RFC 7983 §7) from a path the ICE agent knows, classified and checked
    /// by the session's `handle_datagram`: to the DTLS transport, created if needed.
    pub(super) fn data_handle_dtls(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) {
        if self.data.dtls.is_none() && !self.create_dtls() {
            return;
        }
        self.data.fallback_path = Some((local, remote));
        if let Some(dtls) = self.data.dtls.as_mut() {
            dtls.handle_record(now, data);
        }
        self.data_pump(now);
    }

    /// Runs the data path's timers and deferred work (start DTLS/SCTP, open channels).
    pub(super) fn data_handle_timeout(&mut self, now: Instant) {
        self.data.last_now = Some(now);
        if let Some(d) = self.data.dtls.as_mut() {
            d.handle_timeout(now);
        }
        if let Some(a) = self.data.assoc.as_mut() {
            a.handle_timeout(now);
        }
        self.data_pump(now);
    }

    /// The DTLS transport's next timer (flight retransmission or handshake deadline).
    pub(super) fn data_dtls_timer(&self) -> Option<(Instant, TimerName)> {
        let t = self.data.dtls.as_ref()?.poll_timeout()?;
        Some((t, TimerName::Dtls))
    }

    /// The SCTP association's next timer.
    pub(super) fn data_sctp_timer(&self) -> Option<(Instant, TimerName)> {
        let (t, name) = self.data.assoc.as_ref()?.next_timer()?;
        Some((t, TimerName::Sctp(name)))
    }

    /// Appends DTLS's own next record (handshake flight, alert) to `out` and returns its
    /// path.
    pub(super) fn data_poll_dtls_into(
        &mut self,
        out: &mut Vec<u8>,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let path = self.dtls_path()?;
        let dtls = self.data.dtls.as_mut()?;
        dtls.poll_transmit_into(out).map(|_| path)
    }

    /// Appends the next SCTP packet, sealed into one DTLS record, to `out` and returns its
    /// path (SCTP packets are encrypted one at a time as the runtime asks, straight into
    /// `out`, so nothing piles up in DTLS's queue).
    pub(super) fn data_poll_sctp_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let path = self.dtls_path()?;
        let dtls = self.data.dtls.as_mut()?;
        if dtls.state() != DtlsTransportState::Connected {
            return None;
        }
        let assoc = self.data.assoc.as_mut()?;
        if !assoc.poll_transmit(now, &mut self.data.sctp_buf) {
            // Sending can make room in the send buffer (bufferedamountlow).
            self.data_pump(now);
            return None;
        }
        match dtls.send_application_data_into(&self.data.sctp_buf, out) {
            Ok(0) => dtls.poll_transmit_into(out).map(|_| path),
            Ok(_) => Some(path),
            Err(e) => {
                tracing::debug!("SCTP packet not sent: {e}");
                None
            }
        }
    }

    /// The driver handed every datagram it had for now: acknowledgements held back for
    /// more data go out with the next transmit ([`Association::flush_delayed_sack`]).
    pub(crate) fn input_drained(&mut self) {
        if let Some(a) = self.data.assoc.as_mut() {
            a.flush_delayed_sack();
        }
    }

    // ----- internals -----

    /// Where DTLS datagrams go: the ICE selected pair, else where the peer's DTLS came from.
    fn dtls_path(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.ice_agent()
            .and_then(|a| a.selected_pair())
            .or(self.data.fallback_path)
    }

    fn create_dtls(&mut self) -> bool {
        let made = dtls_config(&self.settings.dtls)
            .and_then(|config| DtlsConnection::new(self.certificate.clone(), &config));
        match made {
            Ok(d) => {
                self.data.dtls = Some(d);
                true
            }
            Err(e) => {
                tracing::warn!("DTLS transport cannot be created: {e}");
                self.dtls_failed(e);
                false
            }
        }
    }

    fn set_dtls_state(&mut self, s: DtlsTransportState) {
        if self.data.dtls_state == s || self.is_closed() {
            return;
        }
        self.data.dtls_state = s;
        self.emit(CoreEvent::DtlsStateChange(s));
        self.update_connection_state();
    }

    /// webrtc-pc §5.5.1: the transport fails, `error` fires (an `RTCError` with
    /// "dtls-failure" or "fingerprint-failure"), then `statechange`.
    fn dtls_failed(&mut self, error: Error) {
        if self.is_closed()
            || matches!(
                self.data.dtls_state,
                DtlsTransportState::Failed | DtlsTransportState::Closed
            )
        {
            return;
        }
        self.emit(CoreEvent::DtlsError(error));
        self.set_dtls_state(DtlsTransportState::Failed);
    }

    fn set_sctp_state(&mut self, s: SctpTransportState) {
        if let Some(info) = self.sctp.as_mut()
            && info.state != s
        {
            info.state = s;
            self.emit(CoreEvent::SctpStateChange(s));
        }
    }

    pub(super) fn push_dc_event(&mut self, key: DataChannelId, e: DataChannelEvent) {
        self.channels.push_event(key, e);
    }

    /// Moves everything that can move: starts DTLS/SCTP when due, feeds DTLS output to SCTP,
    /// SCTP events to the channels, channel events to the W3C layer.
    fn data_pump(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.maybe_start_dtls(now);
        self.pump_dtls_events(now);
        self.maybe_start_sctp(now);
        self.open_pending_channels(now);
        self.pump_sctp_events(now);
    }

    fn maybe_start_dtls(&mut self, now: Instant) {
        if !self.data.dtls_wanted {
            return;
        }
        let Some(role) = self.data.negotiated_dtls.as_ref().map(|d| d.role) else {
            return;
        };
        self.data.dtls_wanted = false;
        if self.data.dtls.is_none() && !self.create_dtls() {
            return;
        }
        let fingerprints = self
            .data
            .negotiated_dtls
            .as_ref()
            .map_or(&[][..], |d| &d.remote_fingerprints[..]);
        let fingerprints = match RemoteFingerprints::new(fingerprints) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("DTLS cannot start: {e}");
                self.dtls_failed(e);
                return;
            }
        };
        let wire = match role {
            DtlsRole::Client => WireRole::Client,
            DtlsRole::Server => WireRole::Server,
        };
        let Some(dtls) = self.data.dtls.as_mut() else {
            return;
        };
        match dtls.start(now, wire, fingerprints) {
            Ok(()) => self.set_dtls_state(DtlsTransportState::Connecting),
            Err(e) => tracing::debug!("DTLS not started: {e}"),
        }
    }

    fn pump_dtls_events(&mut self, now: Instant) {
        while let Some(e) = self.data.dtls.as_mut().and_then(DtlsConnection::poll_event) {
            match e {
                DtlsEvent::Connected(c) => {
                    self.data.remote_certificate = Some(c.remote_certificate);
                    if let Some(km) = c.srtp.as_ref() {
                        let client = self.dtls_role == Some(DtlsRole::Client);
                        self.media.keys_ready(km, client);
                    }
                    self.data.srtp = c.srtp;
                    self.set_dtls_state(DtlsTransportState::Connected);
                }
                DtlsEvent::ApplicationData(d) => {
                    if let Some(a) = self.data.assoc.as_mut() {
                        a.handle_packet(&d, now);
                    }
                    if let Some(dtls) = self.data.dtls.as_mut() {
                        dtls.recycle(d);
                    }
                }
                DtlsEvent::Failed(f) => {
                    tracing::debug!("DTLS failed: {f}");
                    self.dtls_failed(f.to_error());
                    self.sctp_gone(now);
                }
                DtlsEvent::Closed => {
                    self.set_dtls_state(DtlsTransportState::Closed);
                    self.sctp_gone(now);
                }
            }
        }
    }

    /// DTLS went away under SCTP: every channel errors and closes (WPT-212).
    fn sctp_gone(&mut self, now: Instant) {
        let d = &mut self.data;
        if let Some(assoc) = d.assoc.as_mut() {
            assoc.abort(now);
            while let Some(e) = assoc.poll_event() {
                self.channels.handle_event(assoc, e, now);
            }
            // Nothing can be sent any more: the abort stays local.
            while assoc.poll_transmit(now, &mut d.sctp_buf) {}
        }
        self.announce_channels();
        self.data.assoc = None;
        // Channels that never reached the association close too (webrtc-pc §6.2: the
        // underlying transport is gone).
        for i in 0..self.channels.positions() {
            let Some(key) = self.channels.key_at(i) else {
                continue;
            };
            if self
                .channels
                .get(key)
                .is_none_or(|r| r.state == DataChannelState::Closed)
            {
                continue;
            }
            self.channels.set_closed(key);
            self.push_dc_event(
                key,
                DataChannelEvent::Error(Error::rtc(
                    ErrorDetail::SctpFailure { cause_code: None },
                    "the transport under the channel failed or closed",
                )),
            );
            self.push_dc_event(key, DataChannelEvent::Close);
        }
        self.set_sctp_state(SctpTransportState::Closed);
    }

    fn maybe_start_sctp(&mut self, now: Instant) {
        if self.data.assoc.is_some()
            || self.data.dtls_state != DtlsTransportState::Connected
            || self.sctp_state() == Some(SctpTransportState::Closed)
        {
            return;
        }
        let Some(params) = self.data.negotiated_sctp.as_ref() else {
            return;
        };
        let config = sctp::Config {
            local_port: params.local_port,
            remote_port: params.remote_port,
            max_message_size: usize::try_from(params.local_max_message_size)
                .unwrap_or(usize::MAX)
                .max(sctp::Config::default().max_message_size),
            ..sctp::Config::default()
        };
        let seed = self.rng.next_u64();
        let mut assoc = Association::new(config, now, seed);
        assoc.connect(now);
        self.data.assoc = Some(assoc);
        // The DTLS role is fixed by now (RFC 8832 §6: the client opens even stream ids).
        if let Some(role) = self.data.negotiated_dtls.as_ref().map(|d| d.role) {
            self.channels
                .set_dtls_client(matches!(role, DtlsRole::Client));
        }
    }

    /// Hands channels that have an id and are not yet open to the association.
    fn open_pending_channels(&mut self, now: Instant) {
        if !self.channels.has_unattached() {
            return;
        }
        let Some(assoc) = self.data.assoc.as_mut() else {
            return;
        };
        for key in self.channels.take_unattached() {
            let Some(rec) = self.channels.get(key) else {
                continue;
            };
            if rec.sctp_open || rec.state != DataChannelState::Connecting || rec.id.is_none() {
                continue;
            }
            if let Err(e) = self.channels.attach(assoc, key, now) {
                tracing::debug!("data channel {key:?} not opened: {e}");
                self.channels.set_closed(key);
                self.channels.push_event(
                    key,
                    DataChannelEvent::Error(Error::rtc(
                        ErrorDetail::DataChannelFailure,
                        e.to_string(),
                    )),
                );
                self.channels.push_event(key, DataChannelEvent::Close);
            }
        }
    }

    fn pump_sctp_events(&mut self, now: Instant) {
        while let Some(e) = self.data.assoc.as_mut().and_then(Association::poll_event) {
            let state = match &e {
                sctp::Event::Connected => Some(SctpTransportState::Connected),
                sctp::Event::Closed | sctp::Event::Aborted { .. } => {
                    Some(SctpTransportState::Closed)
                }
                _ => None,
            };
            if let Some(assoc) = self.data.assoc.as_mut() {
                if state == Some(SctpTransportState::Connected) {
                    self.data.max_channels =
                        Some(assoc.outbound_streams().min(assoc.inbound_streams()));
                }
                self.channels.handle_event(assoc, e, now);
            }
            if let Some(s) = state {
                self.set_sctp_state(s);
            }
            self.announce_channels();
        }
    }

    /// Channels the peer opened: `datachannel` on the connection (their `open` is queued on
    /// the channel, after it; webrtc-pc §6.2 "announce").
    fn announce_channels(&mut self) {
        while let Some(key) = self.channels.poll_announced() {
            self.emit(CoreEvent::DataChannel(key));
        }
    }

    /// `dc.close()` (webrtc-pc §6.2 "closing procedure"): "closing" now, `close` once the
    /// stream reset completed (or at once if the channel never reached SCTP).
    pub fn close_data_channel(&mut self, key: DataChannelId, now: Instant) {
        let Some(rec) = self.channels.get(key) else {
            return;
        };
        if matches!(
            rec.state,
            DataChannelState::Closing | DataChannelState::Closed
        ) {
            return;
        }
        // An `open` not yet handed to the runtime is dropped: announcing a channel as open
        // aborts once it is closing (webrtc-pc §6.2, WPT-258).
        let (id, sctp_open) = (rec.id, rec.sctp_open);
        self.channels.cancel_open(key);
        match (id, sctp_open, self.data.assoc.as_mut()) {
            (Some(_), true, Some(assoc)) => self.channels.close(assoc, key, now),
            _ => {
                self.channels.set_closed(key);
                self.channels.push_event(key, DataChannelEvent::Close);
            }
        }
    }

    /// webrtc-pc §4.4.3 connectionState from every ICE and DTLS transport.
    pub(super) fn update_connection_state(&mut self) {
        if self.is_closed() {
            return;
        }
        let (ice, dtls) = self.all_transport_states();
        let s = super::transports::aggregate_pc(&ice, &dtls);
        self.set_pc_state(s);
    }
}
