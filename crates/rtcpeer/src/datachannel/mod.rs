//! WebRTC data channels over SCTP (RFC 8831) with in-band establishment (DCEP, RFC 8832):
//! a sans-IO manager that drives an [`Association`], turning channel operations into SCTP
//! messages and association events into channel events.
//!
//! Feed every [`sctp::Event`](crate::sctp::Event) of the association to
//! [`DataChannels::handle_event`]; read [`ChannelEvent`]s from [`DataChannels::poll_event`].
//!
//! What a peer can make it keep is bounded by a [`ChannelLedger`] ([`DataChannelLimits`]):
//! a DATA_CHANNEL_OPEN beyond the caps, or on a stream id of our own parity (RFC 8832 §6),
//! is refused by resetting the stream (RFC 8831 §6.7), with no event, and counted
//! ([`DataChannels::refused_opens`]).

mod dcep;
mod ledger;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use crate::sctp::{Association, Event as SctpEvent, SendError, SendOptions};

pub use dcep::{
    DcepError, DcepMessage, DcepView, Open, OpenView, PPID_BINARY, PPID_BINARY_EMPTY,
    PPID_BINARY_PARTIAL, PPID_DCEP, PPID_STRING, PPID_STRING_EMPTY, PPID_STRING_PARTIAL,
    Reliability,
};
pub use ledger::{ChannelLedger, ChannelNames, DataChannelLimits, LimitReached, OpenSlot};

/// What a channel was created with (the W3C `RTCDataChannelInit`, in DCEP terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// `label` and `protocol`, stored once and shared with whoever else holds the channel.
    pub names: ChannelNames,
    /// `ordered`.
    pub ordered: bool,
    /// `maxRetransmits` / `maxPacketLifeTime`.
    pub reliability: Reliability,
    /// DCEP priority (RFC 8831 §6.4).
    pub priority: u16,
    /// Negotiated out of band: no DCEP, open as soon as SCTP is.
    pub negotiated: bool,
}

/// A message's payload: W3C data channels keep strings and binary apart (RFC 8831 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A string (PPID 51, or 56 when empty).
    Text(String),
    /// Binary data (PPID 53, or 57 when empty).
    Binary(Vec<u8>),
}

/// A channel's state (W3C `RTCDataChannelState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Created, waiting for the association.
    Connecting,
    /// Messages flow.
    Open,
    /// A stream reset is under way (RFC 8831 §6.7).
    Closing,
    /// Both directions reset, or the association ended (reported once; the channel is then forgotten).
    Closed,
}

/// What happened to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// A channel this side created is open (`open`).
    Open {
        /// Stream id.
        id: u16,
    },
    /// The peer opened a channel with DCEP (`datachannel`); it is already open.
    Incoming {
        /// Stream id.
        id: u16,
        /// The peer's parameters.
        config: ChannelConfig,
    },
    /// A message arrived (`message`).
    Message {
        /// Stream id.
        id: u16,
        /// The payload.
        payload: Payload,
    },
    /// The peer started closing the channel (`closing`).
    Closing {
        /// Stream id.
        id: u16,
    },
    /// The channel is closed (`close`); its id may be reused.
    Closed {
        /// Stream id.
        id: u16,
    },
    /// The association failed under the channel (`error` with "sctp-failure", then `close`).
    Failed {
        /// Stream id.
        id: u16,
        /// Why.
        reason: String,
        /// The SCTP error cause code, when the association was aborted with one.
        cause: Option<u16>,
    },
    /// The channel's buffered amount fell to its low threshold (`bufferedamountlow`).
    BufferedAmountLow {
        /// Stream id.
        id: u16,
    },
}

/// Why a channel operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    /// No channel with this id.
    UnknownChannel(u16),
    /// The id is used by a channel that is not closed.
    IdInUse(u16),
    /// The channel is not open.
    NotOpen(u16),
    /// The association refused the message (buffer full, too large, …).
    Send(SendError),
    /// The DCEP message could not be written (label or protocol too long).
    Dcep(DcepError),
    /// The connection has as many channels open as its [`DataChannelLimits`] allow.
    Limit(LimitReached),
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::UnknownChannel(id) => write!(f, "no data channel with id {id}"),
            ChannelError::IdInUse(id) => write!(f, "stream id {id} is in use"),
            ChannelError::NotOpen(id) => write!(f, "data channel {id} is not open"),
            ChannelError::Send(e) => write!(f, "SCTP send failed: {e:?}"),
            ChannelError::Dcep(e) => write!(f, "{e}"),
            ChannelError::Limit(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ChannelError {}

#[derive(Debug)]
struct Channel {
    config: ChannelConfig,
    /// The channel's place among the open channels, given back when it is forgotten.
    _slot: OpenSlot,
    state: ChannelState,
    /// We sent DATA_CHANNEL_OPEN and have not seen the ACK: send ordered until then
    /// (RFC 8832 §6).
    awaiting_ack: bool,
    local_reset: bool,
    remote_reset: bool,
    /// User data was queued since the last low-water event: DCEP control messages alone
    /// must not fire `bufferedamountlow` (W3C webrtc-pc §6.2, WPT-252).
    sent_user_data: bool,
}

/// DCEP messages travel reliably and in order, and are not part of `bufferedAmount`
/// (RFC 8832 §6).
pub const CONTROL: SendOptions = SendOptions {
    unordered: false,
    max_retransmits: None,
    lifetime: None,
    not_buffered: true,
};

/// The DATA_CHANNEL_ACK message (RFC 8832 §5.2), sent with [`CONTROL`] and [`PPID_DCEP`].
pub const ACK: [u8; 1] = [0x02];

/// Sends a channel's DATA_CHANNEL_OPEN on `stream` (RFC 8832 §6); the channel then sends
/// ordered until the peer acknowledges it.
pub fn send_open(
    assoc: &mut Association,
    stream: u16,
    open: &OpenView<'_>,
    now: Instant,
) -> Result<(), ChannelError> {
    let mut buf = Vec::new();
    open.write(&mut buf).map_err(ChannelError::Dcep)?;
    assoc
        .send(stream, PPID_DCEP, buf, CONTROL, now)
        .map_err(ChannelError::Send)
}

/// Sends one user message on `stream` (RFC 8831 §6.6: empty messages travel as one zero
/// byte with PPID 56/57, not counted in `bufferedAmount`); unordered only once the peer
/// acknowledged the OPEN (RFC 8832 §6). Returns whether it was application data (not the
/// zero byte of an empty message).
pub fn send_message(
    assoc: &mut Association,
    stream: u16,
    ordered: bool,
    reliability: Reliability,
    awaiting_ack: bool,
    payload: Payload,
    now: Instant,
) -> Result<bool, ChannelError> {
    let (ppid, data) = match payload {
        Payload::Text(s) if s.is_empty() => (PPID_STRING_EMPTY, vec![0]),
        Payload::Text(s) => (PPID_STRING, s.into_bytes()),
        Payload::Binary(b) if b.is_empty() => (PPID_BINARY_EMPTY, vec![0]),
        Payload::Binary(b) => (PPID_BINARY, b),
    };
    // The zero byte of an empty message is not application data (bufferedAmount 0).
    let empty = matches!(ppid, PPID_STRING_EMPTY | PPID_BINARY_EMPTY);
    let opts = SendOptions {
        not_buffered: empty,
        unordered: !ordered && !awaiting_ack,
        max_retransmits: match reliability {
            Reliability::MaxRetransmits(n) => Some(u16::try_from(n).unwrap_or(u16::MAX)),
            _ => None,
        },
        lifetime: match reliability {
            Reliability::MaxLifetimeMs(ms) => Some(Duration::from_millis(u64::from(ms))),
            _ => None,
        },
    };
    assoc
        .send(stream, ppid, data, opts, now)
        .map_err(ChannelError::Send)?;
    Ok(!empty)
}

/// The payload of a received user message by its PPID (RFC 8831 §6.6, §8: 51/54 text,
/// 53/52 binary, 56/57 empty); `None` for a PPID that carries no user data.
pub fn decode_message(ppid: u32, data: Vec<u8>) -> Option<Payload> {
    Some(match ppid {
        PPID_STRING | PPID_STRING_PARTIAL => {
            Payload::Text(String::from_utf8_lossy(&data).into_owned())
        }
        PPID_BINARY | PPID_BINARY_PARTIAL => Payload::Binary(data),
        PPID_STRING_EMPTY => Payload::Text(String::new()),
        PPID_BINARY_EMPTY => Payload::Binary(Vec::new()),
        _ => return None,
    })
}

/// Whether the peer may open a channel on `stream`: RFC 8832 §6, the DTLS client uses even
/// stream ids and the server odd ones, so an OPEN on this side's parity is refused.
pub fn peer_may_open(local_parity: Option<u16>, stream: u16) -> bool {
    local_parity != Some(stream % 2)
}

/// Refuses a channel the peer opened: no ACK, and the stream is reset, which is how a
/// channel is closed (RFC 8831 §6.7, RFC 6525 §5.1.2 outgoing SSN reset); the peer resets
/// its side in turn and sees its channel close.
pub fn refuse_open(assoc: &mut Association, stream: u16, now: Instant) {
    if let Err(e) = assoc.reset_streams(&[stream], now) {
        tracing::debug!("stream {stream} of a refused channel not reset: {e:?}");
    }
}

/// Bound on queued channel events; overflow drops the oldest (the caller drains after
/// every input, so it is not reached in practice).
const MAX_EVENTS: usize = 65536;

/// The data channels of one association.
#[derive(Debug, Default)]
pub struct DataChannels {
    channels: HashMap<u16, Channel>,
    connected: bool,
    events: VecDeque<ChannelEvent>,
    dropped_messages: u64,
    /// Caps and counts of open channels and kept names (shared with the signaling layer).
    ledger: ChannelLedger,
    /// The parity of the stream ids this side allocates (RFC 8832 §6: the DTLS client uses
    /// even ids, the server odd ones), once known.
    local_parity: Option<u16>,
    /// The peer's DATA_CHANNEL_OPENs refused (caps, wrong parity).
    refused_opens: u64,
}

impl DataChannels {
    /// No channels yet, with the default [`DataChannelLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// No channels yet, counted in `ledger` (which the owner may share, e.g. with its
    /// signaling records, so that one account covers every holder).
    pub fn with_ledger(ledger: ChannelLedger) -> Self {
        DataChannels {
            ledger,
            ..Self::default()
        }
    }

    /// The account of open channels and kept names.
    pub fn ledger(&self) -> &ChannelLedger {
        &self.ledger
    }

    /// Tells which DTLS role this side has: the peer must open channels on the other
    /// parity (RFC 8832 §6, the DTLS client uses even stream ids, the server odd ones); a
    /// DATA_CHANNEL_OPEN on ours is refused.
    pub fn set_dtls_client(&mut self, client: bool) {
        self.local_parity = Some(if client { 0 } else { 1 });
    }

    /// The peer's DATA_CHANNEL_OPENs refused so far: beyond the caps of the ledger, or on
    /// a stream id of this side's parity.
    pub fn refused_opens(&self) -> u64 {
        self.refused_opens
    }

    /// Channels open or closing.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether no channel is open or closing.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Creates a channel on stream `id`: with DCEP it sends DATA_CHANNEL_OPEN once the
    /// association is up (RFC 8832 §6); a negotiated channel just opens with it. Fails with
    /// [`ChannelError::Limit`] when [`DataChannelLimits::max_open`] channels are open.
    pub fn open(
        &mut self,
        assoc: &mut Association,
        id: u16,
        config: ChannelConfig,
        now: Instant,
    ) -> Result<(), ChannelError> {
        if self.channels.contains_key(&id) {
            return Err(ChannelError::IdInUse(id));
        }
        let slot = self.ledger.slot().map_err(ChannelError::Limit)?;
        self.channels.insert(
            id,
            Channel {
                config,
                _slot: slot,
                state: ChannelState::Connecting,
                awaiting_ack: false,
                local_reset: false,
                remote_reset: false,
                sent_user_data: false,
            },
        );
        if self.connected
            && let Err(e) = self.start(assoc, id, now)
        {
            // Not opened: the caller learns it from the error, and the channel (with its
            // place among the open ones) must not stay behind.
            self.channels.remove(&id);
            return Err(e);
        }
        Ok(())
    }

    fn start(
        &mut self,
        assoc: &mut Association,
        id: u16,
        now: Instant,
    ) -> Result<(), ChannelError> {
        let Some(ch) = self.channels.get_mut(&id) else {
            return Err(ChannelError::UnknownChannel(id));
        };
        if !ch.config.negotiated {
            let open = OpenView {
                ordered: ch.config.ordered,
                reliability: ch.config.reliability,
                priority: ch.config.priority,
                label: ch.config.names.label(),
                protocol: ch.config.names.protocol(),
            };
            send_open(assoc, id, &open, now)?;
            ch.awaiting_ack = true;
        }
        ch.state = ChannelState::Open;
        self.push(ChannelEvent::Open { id });
        Ok(())
    }

    /// Sends a message (RFC 8831 §6.6: empty messages travel as one zero byte with PPID 56/57).
    pub fn send(
        &mut self,
        assoc: &mut Association,
        id: u16,
        payload: Payload,
        now: Instant,
    ) -> Result<(), ChannelError> {
        let ch = self
            .channels
            .get_mut(&id)
            .ok_or(ChannelError::UnknownChannel(id))?;
        if ch.state != ChannelState::Open {
            return Err(ChannelError::NotOpen(id));
        }
        let user_data = send_message(
            assoc,
            id,
            ch.config.ordered,
            ch.config.reliability,
            ch.awaiting_ack,
            payload,
            now,
        )?;
        ch.sent_user_data |= user_data;
        Ok(())
    }

    /// Starts closing a channel: reset its outgoing stream after the queued data; it is
    /// closed once the peer resets its side too (RFC 8831 §6.7).
    pub fn close(&mut self, assoc: &mut Association, id: u16, now: Instant) {
        let Some(ch) = self.channels.get_mut(&id) else {
            return;
        };
        match ch.state {
            ChannelState::Connecting => self.finish_close(id),
            ChannelState::Open => {
                ch.state = ChannelState::Closing;
                if assoc.reset_streams(&[id], now).is_err() {
                    self.finish_close(id);
                }
            }
            ChannelState::Closing | ChannelState::Closed => {}
        }
    }

    /// Feeds one association event.
    pub fn handle_event(&mut self, assoc: &mut Association, event: SctpEvent, now: Instant) {
        match event {
            SctpEvent::Connected => {
                self.connected = true;
                let mut waiting: Vec<u16> = self
                    .channels
                    .iter()
                    .filter(|(_, c)| c.state == ChannelState::Connecting)
                    .map(|(&id, _)| id)
                    .collect();
                waiting.sort_unstable();
                for id in waiting {
                    if let Err(e) = self.start(assoc, id, now) {
                        self.fail(id, e.to_string(), None);
                    }
                }
            }
            SctpEvent::Message(m) => self.handle_message(assoc, m.stream, m.ppid, m.data, now),
            SctpEvent::IncomingStreamsReset { streams } => {
                for id in streams {
                    let Some(ch) = self.channels.get_mut(&id) else {
                        continue;
                    };
                    ch.remote_reset = true;
                    if ch.state == ChannelState::Open {
                        ch.state = ChannelState::Closing;
                        self.push(ChannelEvent::Closing { id });
                        if assoc.reset_streams(&[id], now).is_err() {
                            self.finish_close(id);
                            continue;
                        }
                    }
                    self.maybe_closed(id);
                }
            }
            SctpEvent::OutgoingStreamsReset { streams } => {
                for id in streams {
                    if let Some(ch) = self.channels.get_mut(&id) {
                        ch.local_reset = true;
                        self.maybe_closed(id);
                    }
                }
            }
            SctpEvent::StreamsResetFailed { streams } => {
                for id in streams {
                    if self
                        .channels
                        .get(&id)
                        .is_some_and(|c| c.state == ChannelState::Closing)
                    {
                        self.finish_close(id);
                    }
                }
            }
            SctpEvent::BufferedAmountLow { stream } => {
                if let Some(ch) = self.channels.get_mut(&stream) {
                    if std::mem::take(&mut ch.sent_user_data) {
                        self.push(ChannelEvent::BufferedAmountLow { id: stream });
                    }
                }
            }
            SctpEvent::Closed => self.fail_all("the SCTP association closed", None),
            SctpEvent::Aborted { reason, cause } => self.fail_all(&reason, cause),
        }
    }

    fn handle_message(
        &mut self,
        assoc: &mut Association,
        id: u16,
        ppid: u32,
        data: Vec<u8>,
        now: Instant,
    ) {
        if ppid == PPID_DCEP {
            match DcepView::parse(&data) {
                Ok(DcepView::Open(o)) => self.handle_open(assoc, id, o, now),
                Ok(DcepView::Ack) => {
                    if let Some(ch) = self.channels.get_mut(&id) {
                        ch.awaiting_ack = false;
                    }
                }
                Err(_) => self.dropped_messages += 1,
            }
            return;
        }
        let Some(ch) = self.channels.get_mut(&id) else {
            self.dropped_messages += 1;
            return;
        };
        if !matches!(ch.state, ChannelState::Open | ChannelState::Closing) {
            self.dropped_messages += 1;
            return;
        }
        // Any user message implies the peer saw our OPEN (RFC 8832 §6).
        ch.awaiting_ack = false;
        let Some(payload) = decode_message(ppid, data) else {
            self.dropped_messages += 1;
            return;
        };
        self.push(ChannelEvent::Message { id, payload });
    }

    /// The peer's DATA_CHANNEL_OPEN (RFC 8832 §6): acknowledged and announced if the
    /// stream is the peer's to open and the caps allow; otherwise refused.
    fn handle_open(&mut self, assoc: &mut Association, id: u16, o: OpenView<'_>, now: Instant) {
        if self.channels.contains_key(&id) {
            // An OPEN for a stream in use: a protocol error by the peer; ignore it (resetting
            // the stream would close the channel that uses it).
            self.dropped_messages += 1;
            return;
        }
        if !peer_may_open(self.local_parity, id) {
            // RFC 8832 §6: the peer must pick ids of the other parity; ours are ours to give.
            tracing::debug!("DATA_CHANNEL_OPEN on stream {id} of our parity refused");
            self.refuse(assoc, id, now);
            return;
        }
        let (names, slot) = match self.ledger.admit(o.label, o.protocol) {
            Ok(admitted) => admitted,
            Err(e) => {
                tracing::debug!("DATA_CHANNEL_OPEN on stream {id} refused: {e}");
                self.refuse(assoc, id, now);
                return;
            }
        };
        if let Err(e) = assoc.send(id, PPID_DCEP, ACK.to_vec(), CONTROL, now) {
            // Without an ACK the peer's channel would hang half-open: refuse it instead.
            tracing::debug!("DATA_CHANNEL_ACK on stream {id} not sent: {e:?}");
            self.refuse(assoc, id, now);
            return;
        }
        let config = ChannelConfig {
            names,
            ordered: o.ordered,
            reliability: o.reliability,
            priority: o.priority,
            negotiated: false,
        };
        self.channels.insert(
            id,
            Channel {
                config: config.clone(),
                _slot: slot,
                state: ChannelState::Open,
                awaiting_ack: false,
                local_reset: false,
                remote_reset: false,
                sent_user_data: false,
            },
        );
        self.push(ChannelEvent::Incoming { id, config });
    }

    /// Refuses a channel the peer opened: no ACK, no event, and the stream is reset, which
    /// is how a channel is closed (RFC 8831 §6.7, RFC 6525 §5.1.2 outgoing SSN reset); the
    /// peer resets its side in turn and sees its channel close.
    fn refuse(&mut self, assoc: &mut Association, id: u16, now: Instant) {
        self.refused_opens += 1;
        refuse_open(assoc, id, now);
    }

    fn maybe_closed(&mut self, id: u16) {
        if self
            .channels
            .get(&id)
            .is_some_and(|c| c.local_reset && c.remote_reset)
        {
            self.finish_close(id);
        }
    }

    /// A closed channel is forgotten (its id is free again), so churn does not grow memory.
    fn finish_close(&mut self, id: u16) {
        if self.channels.remove(&id).is_some() {
            self.push(ChannelEvent::Closed { id });
        }
    }

    fn fail(&mut self, id: u16, reason: String, cause: Option<u16>) {
        if self.channels.remove(&id).is_some() {
            self.push(ChannelEvent::Failed { id, reason, cause });
            self.push(ChannelEvent::Closed { id });
        }
    }

    fn fail_all(&mut self, reason: &str, cause: Option<u16>) {
        self.connected = false;
        let mut ids: Vec<u16> = self.channels.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.fail(id, reason.to_string(), cause);
        }
    }

    fn push(&mut self, e: ChannelEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The next channel event.
    pub fn poll_event(&mut self) -> Option<ChannelEvent> {
        self.events.pop_front()
    }

    /// A channel's state; `None` for an unknown or closed (forgotten) channel.
    pub fn state(&self, id: u16) -> Option<ChannelState> {
        self.channels.get(&id).map(|c| c.state)
    }

    /// A channel's configuration.
    pub fn config(&self, id: u16) -> Option<&ChannelConfig> {
        self.channels.get(&id).map(|c| &c.config)
    }

    /// Messages dropped: malformed DCEP, unknown PPIDs, data for unknown or closed channels.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }
}

#[cfg(test)]
mod tests;
