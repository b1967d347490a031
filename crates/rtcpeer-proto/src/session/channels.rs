//! Data-channel signaling inside the core: `createDataChannel` validation and stream-id
//! allocation (webrtc-pc §6.1, RFC 8832 §6), and the `RTCSctpTransport` state (§6.1.1).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::datachannel::{
    self, ChannelConfig, ChannelError, ChannelNames, DataChannelLimits, DcepView, LimitReached,
    OpenView, PPID_DCEP, Payload, Reliability,
};
use crate::error::ErrorDetail;
use crate::sctp::{Association, Event as SctpEvent};

use super::data::DataChannelEvent;
use crate::enums::w3c_enum;
use crate::error::{Error, Result};

use crate::connection::DtlsRole;
use crate::session::Session;
#[cfg(doc)]
use crate::connection::Core;

/// Identifies a data channel inside one connection; handles carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataChannelId(pub(crate) u64);

w3c_enum! {
    /// `RTCDataChannelState` (webrtc-pc §6.2).
    pub enum DataChannelState {
        /// Not yet open.
        Connecting = "connecting",
        /// Open: messages flow.
        Open = "open",
        /// Closing procedure started.
        Closing = "closing",
        /// Closed for good.
        Closed = "closed",
    }
}

w3c_enum! {
    /// `RTCDataChannel.binaryType` (webrtc-pc §6.2): how a browser would surface binary
    /// messages; rtcpeer always delivers bytes, the value is kept and reflected (WPT-229).
    pub enum BinaryType {
        /// `Blob` objects.
        Blob = "blob",
        /// `ArrayBuffer` objects (the default, WPT-229).
        ArrayBuffer = "arraybuffer",
    }
}

w3c_enum! {
    /// `RTCPriorityType` (webrtc-priority §4.1).
    pub enum Priority {
        /// Lowest.
        VeryLow = "very-low",
        /// Default.
        Low = "low",
        /// Higher.
        Medium = "medium",
        /// Highest.
        High = "high",
    }
}

w3c_enum! {
    /// `RTCSctpTransportState` (webrtc-pc §6.1.2).
    pub enum SctpTransportState {
        /// Negotiated, not started yet.
        Connecting = "connecting",
        /// The association is up.
        Connected = "connected",
        /// Closed.
        Closed = "closed",
    }
}

/// `RTCDataChannelInit` (webrtc-pc §6.2). Numeric members are WebIDL `[EnforceRange]
/// unsigned short`, which the Rust types enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// Ordered delivery (default true).
    pub ordered: bool,
    /// Partial reliability: give up after this many milliseconds (RFC 3758 timed reliability).
    pub max_packet_life_time: Option<u16>,
    /// Partial reliability: give up after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// Subprotocol name.
    pub protocol: String,
    /// Negotiated out of band by the application (no DCEP); needs `id`.
    pub negotiated: bool,
    /// Stream id; used only with `negotiated: true`.
    pub id: Option<u16>,
    /// Priority.
    pub priority: Priority,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
            priority: Priority::Low,
        }
    }
}

/// A data channel's record: the connection's one entry per channel, kept in the
/// [`ChannelTable`] under its [`DataChannelId`].
#[derive(Debug)]
#[doc(hidden)]
pub struct DataChannelRecord {
    pub key: DataChannelId,
    /// `label` and `protocol`, kept once and counted by the table's
    /// [`DataChannelLimits::max_label_bytes`] until the record is forgotten.
    pub names: ChannelNames,
    pub ordered: bool,
    pub max_packet_life_time: Option<u16>,
    pub max_retransmits: Option<u16>,
    pub negotiated: bool,
    pub id: Option<u16>,
    pub priority: Priority,
    pub state: DataChannelState,
    /// Handed to the SCTP channel manager (DCEP OPEN sent, or negotiated channel started).
    pub sctp_open: bool,
    /// `bufferedAmountLowThreshold`.
    pub low_threshold: u64,
    /// `bufferedAmount` frozen when the channel or the connection closed (WPT-215).
    pub final_buffered_amount: u64,
    /// `binaryType`.
    pub binary_type: BinaryType,
    /// No handle of the channel is left: the record goes once the channel is closed.
    pub released: bool,
    /// We sent DATA_CHANNEL_OPEN and have not seen the ACK: send ordered until then
    /// (RFC 8832 §6).
    pub awaiting_ack: bool,
    /// Our outgoing stream was reset (RFC 6525), as part of closing (RFC 8831 §6.7).
    pub local_reset: bool,
    /// The peer's outgoing stream was reset.
    pub remote_reset: bool,
    /// User data was queued since the last low-water event: DCEP control messages alone
    /// must not fire `bufferedamountlow` (W3C webrtc-pc §6.2, WPT-252).
    pub sent_user_data: bool,
    /// Messages and bytes each way (`RTCDataChannelStats`, webrtc-stats §7.11).
    pub counters: crate::stats::counters::ChannelCounters,
    /// The channel was open at some point (`dataChannelsOpened`/`Closed`, webrtc-stats §7.11).
    pub was_open: bool,
}

/// A read-only view of one data channel's attributes (webrtc-pc §6.2 `RTCDataChannel`),
/// for the API layer: what a handle reads, without access to the connection's record.
#[derive(Debug, Clone, Copy)]
pub struct DataChannelInfo<'a>(Option<&'a DataChannelRecord>);

impl DataChannelInfo<'_> {
    /// What a handle reads if its channel was ever forgotten (it cannot be while a handle
    /// exists; this keeps the getters total): a closed channel with default attributes.
    pub fn forgotten() -> DataChannelInfo<'static> {
        DataChannelInfo(None)
    }

    /// `label` (webrtc-pc §6.2).
    pub fn label(&self) -> &str {
        self.0.map_or("", |r| r.names.label())
    }

    /// `protocol` (webrtc-pc §6.2).
    pub fn protocol(&self) -> &str {
        self.0.map_or("", |r| r.names.protocol())
    }

    /// `ordered` (webrtc-pc §6.2).
    pub fn ordered(&self) -> bool {
        self.0.is_none_or(|r| r.ordered)
    }

    /// `maxPacketLifeTime` in milliseconds (webrtc-pc §6.2).
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.0.and_then(|r| r.max_packet_life_time)
    }

    /// `maxRetransmits` (webrtc-pc §6.2).
    pub fn max_retransmits(&self) -> Option<u16> {
        self.0.and_then(|r| r.max_retransmits)
    }

    /// `negotiated` (webrtc-pc §6.2).
    pub fn negotiated(&self) -> bool {
        self.0.is_some_and(|r| r.negotiated)
    }

    /// `id`: the SCTP stream id once known (webrtc-pc §6.2, RFC 8832 §6).
    pub fn id(&self) -> Option<u16> {
        self.0.and_then(|r| r.id)
    }

    /// `priority` (webrtc-priority §4.1).
    pub fn priority(&self) -> Priority {
        self.0.map_or(Priority::Low, |r| r.priority)
    }

    /// `readyState` (webrtc-pc §6.2).
    pub fn ready_state(&self) -> DataChannelState {
        self.0.map_or(DataChannelState::Closed, |r| r.state)
    }

    /// `binaryType` (webrtc-pc §6.2).
    pub fn binary_type(&self) -> BinaryType {
        self.0.map_or(BinaryType::ArrayBuffer, |r| r.binary_type)
    }

    /// `bufferedAmountLowThreshold` (webrtc-pc §6.2).
    pub fn buffered_amount_low_threshold(&self) -> u64 {
        self.0.map_or(0, |r| r.low_threshold)
    }
}

/// The data channels of one connection: one record per channel, keyed by its
/// [`DataChannelId`], with the reverse index from SCTP stream ids (RFC 8831 §6.5), the
/// stream-id allocator (RFC 8832 §6) and the creation order. Forgetting a channel is O(1)
/// amortised: no index is rebuilt.
///
/// Used by the connection; usable on its own over an [`Association`] (tests, fuzzing):
/// create channels with [`ChannelTable::open`], feed every `sctp::Event` to
/// [`ChannelTable::handle_event`], read [`ChannelTable::poll_event`] and
/// [`ChannelTable::poll_announced`].
#[derive(Debug, Default)]
pub struct ChannelTable {
    rows: HashMap<DataChannelId, DataChannelRecord>,
    /// Stream id → channel, for what SCTP reports per stream; an entry lives from the
    /// moment the channel is handed to SCTP until it is closed.
    by_stream: HashMap<u16, DataChannelId>,
    streams: StreamIds,
    next_id: u64,
    /// Keys in creation order; entries whose row is gone are skipped, and dropped once
    /// they are half of the list (amortised O(1) per forgotten channel).
    order: Vec<DataChannelId>,
    dead_in_order: usize,
    /// Channels that became closed or lost their last handle since the last prune: the
    /// only candidates to forget (each channel enters at most twice).
    candidates: Vec<DataChannelId>,
    /// Local channels that got a stream id and wait to be handed to the association (each
    /// enters once), so that the per-datagram pump does not look at every channel.
    unattached: Vec<DataChannelId>,
    /// The caps on channels open at once and on the label and protocol bytes kept.
    limits: DataChannelLimits,
    /// Channels not yet closed (either side's): bounded by `limits.max_open`.
    open: usize,
    /// Label plus protocol bytes of the kept records: bounded by `limits.max_label_bytes`.
    name_bytes: usize,
    /// The association is up: channels handed to it start at once.
    connected: bool,
    /// The parity of the stream ids this side allocates (RFC 8832 §6: the DTLS client uses
    /// even ids, the server odd ones), once known.
    local_parity: Option<u16>,
    /// The peer's DATA_CHANNEL_OPENs refused (caps, wrong parity).
    refused_opens: u64,
    /// Messages dropped: malformed DCEP, unknown PPIDs, data for unknown or closed channels.
    dropped_messages: u64,
    /// Channels that became open, and of those the ones closed since (webrtc-stats
    /// `dataChannelsOpened`, `dataChannelsClosed`).
    opened: u64,
    closed_after_open: u64,
    /// Per-channel events for the runtime, in firing order.
    events: VecDeque<(DataChannelId, DataChannelEvent)>,
    /// Channels the peer opened, to announce (`datachannel`) before their `open`.
    announced: VecDeque<DataChannelId>,
}

impl ChannelTable {
    /// The key the next channel gets.
    pub(crate) fn take_key(&mut self) -> DataChannelId {
        let key = DataChannelId(self.next_id);
        self.next_id += 1;
        key
    }

    /// Adds a record (its `key` must come from [`ChannelTable::take_key`]).
    pub(crate) fn insert(&mut self, rec: DataChannelRecord) {
        if let Some(id) = rec.id {
            self.streams.reserve(id);
        }
        self.order.push(rec.key);
        self.rows.insert(rec.key, rec);
    }

    pub(crate) fn get(&self, key: DataChannelId) -> Option<&DataChannelRecord> {
        self.rows.get(&key)
    }

    pub(crate) fn get_mut(&mut self, key: DataChannelId) -> Option<&mut DataChannelRecord> {
        self.rows.get_mut(&key)
    }

    /// The channel on SCTP stream `stream`, if it was handed to SCTP and is not closed.
    pub fn by_stream(&self, stream: u16) -> Option<DataChannelId> {
        self.by_stream.get(&stream).copied()
    }

    /// Records in creation order: the number of positions ([`ChannelTable::key_at`]).
    pub(crate) fn positions(&self) -> usize {
        self.order.len()
    }

    /// `dataChannelsOpened` and `dataChannelsClosed` (webrtc-stats §7.11): channels that
    /// were open at some point, and those of them closed since.
    pub fn open_close_counts(&self) -> (u64, u64) {
        (self.opened, self.closed_after_open)
    }

    /// The key at creation-order position `i`, if that channel is still kept.
    pub(crate) fn key_at(&self, i: usize) -> Option<DataChannelId> {
        self.order
            .get(i)
            .copied()
            .filter(|k| self.rows.contains_key(k))
    }

    /// `readyState` becomes "closed": the channel no longer counts among the open ones, its
    /// stream id is free again, and it may be forgotten once no handle is left.
    pub(crate) fn set_closed(&mut self, key: DataChannelId) {
        let Some(rec) = self.rows.get_mut(&key) else {
            return;
        };
        if rec.state != DataChannelState::Closed {
            if rec.was_open {
                self.closed_after_open += 1;
            }
            self.candidates.push(key);
            // No longer among the open channels (DataChannelLimits::max_open).
            self.open -= 1;
        }
        rec.state = DataChannelState::Closed;
        if let Some(id) = rec.id
            && self.by_stream.get(&id) == Some(&key)
        {
            self.by_stream.remove(&id);
        }
        if let Some(id) = rec.id {
            self.streams.release(id);
        }
    }

    /// A local channel got its stream id: it is handed to the association when there is one.
    pub(crate) fn wait_for_association(&mut self, key: DataChannelId) {
        // Channels forgotten before any association existed leave their keys behind: drop
        // them once they are half of the list (amortised O(1), bounded by the records).
        if self.unattached.len() >= 2 * self.rows.len() + 16 {
            let rows = &self.rows;
            self.unattached.retain(|k| rows.contains_key(k));
        }
        self.unattached.push(key);
    }

    /// The local channels waiting for the association, in creation order (the list is
    /// emptied; the caller hands each to [`ChannelTable::attach`]).
    pub(crate) fn take_unattached(&mut self) -> Vec<DataChannelId> {
        let mut keys = std::mem::take(&mut self.unattached);
        keys.sort_unstable();
        keys
    }

    /// Whether local channels wait for the association.
    pub(crate) fn has_unattached(&self) -> bool {
        !self.unattached.is_empty()
    }

    /// The application dropped the channel's last handle: the record goes once the
    /// channel is closed and [`ChannelTable::prune`] runs.
    pub fn release(&mut self, key: DataChannelId) {
        if let Some(rec) = self.rows.get_mut(&key)
            && !rec.released
        {
            rec.released = true;
            self.candidates.push(key);
        }
    }

    /// Forgets the closed channels without handles (O(1) amortised per channel: only
    /// channels that closed or were released since the last call are looked at); returns
    /// their keys.
    pub fn prune(&mut self) -> Vec<DataChannelId> {
        let mut removed = Vec::new();
        for key in std::mem::take(&mut self.candidates) {
            let gone = self
                .rows
                .get(&key)
                .is_some_and(|d| d.released && d.state == DataChannelState::Closed);
            if gone && let Some(rec) = self.rows.remove(&key) {
                self.name_bytes -= rec.names.len();
                self.dead_in_order += 1;
                removed.push(key);
            }
        }
        if self.dead_in_order * 2 > self.order.len() {
            let rows = &self.rows;
            self.order.retain(|k| rows.contains_key(k));
            self.dead_in_order = 0;
        }
        removed
    }

    /// How many records are kept.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// All kept channels' keys in creation order.
    pub(crate) fn keys(&self) -> Vec<DataChannelId> {
        self.order
            .iter()
            .copied()
            .filter(|k| self.rows.contains_key(k))
            .collect()
    }
}

/// Bound on per-channel events waiting for the runtime; the runtime drains after every
/// call, so this is only reached if it stops draining, and overflow drops the oldest.
const MAX_DC_EVENTS: usize = 65536;

/// RFC 8831 §6.4 priority values used in DATA_CHANNEL_OPEN.
fn dcep_priority(p: Priority) -> u16 {
    match p {
        Priority::VeryLow => 128,
        Priority::Low => 256,
        Priority::Medium => 512,
        Priority::High => 1024,
    }
}

/// The W3C priority a DCEP priority value falls in (RFC 8831 §6.4 ranges).
fn w3c_priority(p: u16) -> Priority {
    match p {
        0..=128 => Priority::VeryLow,
        129..=256 => Priority::Low,
        257..=512 => Priority::Medium,
        _ => Priority::High,
    }
}

/// `(maxRetransmits, maxPacketLifeTime)` of a DCEP reliability (W3C attributes are
/// `unsigned short`; larger DCEP values saturate).
fn u16_reliability(r: Reliability) -> (Option<u16>, Option<u16>) {
    match r {
        Reliability::Reliable => (None, None),
        Reliability::MaxRetransmits(n) => (Some(u16::try_from(n).unwrap_or(u16::MAX)), None),
        Reliability::MaxLifetimeMs(ms) => (None, Some(u16::try_from(ms).unwrap_or(u16::MAX))),
    }
}

impl DataChannelRecord {
    /// `maxRetransmits` / `maxPacketLifeTime` in DCEP terms (RFC 8832 §5.1).
    fn reliability(&self) -> Reliability {
        match (self.max_retransmits, self.max_packet_life_time) {
            (Some(n), _) => Reliability::MaxRetransmits(u32::from(n)),
            (None, Some(ms)) => Reliability::MaxLifetimeMs(u32::from(ms)),
            (None, None) => Reliability::Reliable,
        }
    }
}

/// The table's side facing SCTP: DCEP (RFC 8832) and closing by stream resets (RFC 8831
/// §6.7). Every `sctp::Event` is handled here once and becomes the channel's
/// [`DataChannelEvent`].
impl ChannelTable {
    /// No channels yet, with these caps.
    pub fn new(limits: DataChannelLimits) -> Self {
        ChannelTable {
            limits,
            ..ChannelTable::default()
        }
    }

    /// Tells which DTLS role this side has: the peer must open channels on the other
    /// parity (RFC 8832 §6); a DATA_CHANNEL_OPEN on ours is refused.
    pub fn set_dtls_client(&mut self, client: bool) {
        self.local_parity = Some(if client { 0 } else { 1 });
    }

    /// Messages dropped so far: malformed DCEP, unknown PPIDs, data for unknown or closed
    /// channels, OPENs for a stream in use.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// The caps in effect.
    pub fn limits(&self) -> DataChannelLimits {
        self.limits
    }

    /// Channels open now (created or announced and not yet closed, either side's).
    pub fn open_channels(&self) -> usize {
        self.open
    }

    /// Label and protocol bytes kept now (records not yet forgotten).
    pub fn label_bytes(&self) -> usize {
        self.name_bytes
    }

    /// Replaces the caps; only before any channel exists (the counts start empty).
    pub(crate) fn set_limits(&mut self, limits: DataChannelLimits) {
        if self.rows.is_empty() && self.open == 0 {
            self.limits = limits;
        }
    }

    /// Gives back what [`ChannelTable::admit`] counted for a channel that was not created.
    pub(crate) fn unadmit(&mut self, name_bytes: usize) {
        self.open -= 1;
        self.name_bytes -= name_bytes;
    }

    /// Counts a new channel with these names, or says which cap refuses it (checked
    /// before the names are copied, so a refusal keeps nothing).
    pub(crate) fn admit(&mut self, label: &str, protocol: &str) -> Result<(), LimitReached> {
        if self.open >= self.limits.max_open {
            return Err(LimitReached::OpenChannels(self.limits.max_open));
        }
        let bytes = self
            .name_bytes
            .checked_add(label.len() + protocol.len())
            .filter(|&t| t <= self.limits.max_label_bytes)
            .ok_or(LimitReached::LabelBytes(self.limits.max_label_bytes))?;
        self.open += 1;
        self.name_bytes = bytes;
        Ok(())
    }

    /// A read-only view of a kept channel.
    pub fn info(&self, key: DataChannelId) -> Option<DataChannelInfo<'_>> {
        self.rows.get(&key).map(|r| DataChannelInfo(Some(r)))
    }

    /// Channels not yet closed (open, connecting or closing).
    pub fn live(&self) -> usize {
        self.rows
            .values()
            .filter(|r| r.state != DataChannelState::Closed)
            .count()
    }

    /// Creates a channel on stream `stream` with `config` and hands it to the association:
    /// with DCEP it sends DATA_CHANNEL_OPEN once the association is up (RFC 8832 §6); a
    /// negotiated channel just opens with it. Fails with [`ChannelError::IdInUse`] if a
    /// channel not yet closed uses the stream, [`ChannelError::Limit`] at
    /// [`DataChannelLimits::max_open`], or the send error of its OPEN (then nothing is kept).
    pub fn open(
        &mut self,
        assoc: &mut Association,
        stream: u16,
        config: ChannelConfig,
        now: Instant,
    ) -> Result<DataChannelId, ChannelError> {
        if self.by_stream.contains_key(&stream) {
            return Err(ChannelError::IdInUse(stream));
        }
        self.admit(config.names.label(), config.names.protocol())
            .map_err(ChannelError::Limit)?;
        let (max_retransmits, max_packet_life_time) = u16_reliability(config.reliability);
        let key = self.take_key();
        self.insert(DataChannelRecord {
            key,
            names: config.names,
            ordered: config.ordered,
            max_packet_life_time,
            max_retransmits,
            negotiated: config.negotiated,
            id: Some(stream),
            priority: w3c_priority(config.priority),
            state: DataChannelState::Connecting,
            sctp_open: false,
            low_threshold: 0,
            final_buffered_amount: 0,
            binary_type: BinaryType::ArrayBuffer,
            released: false,
            awaiting_ack: false,
            local_reset: false,
            remote_reset: false,
            sent_user_data: false,
            counters: Default::default(),
            was_open: false,
        });
        if let Err(e) = self.attach(assoc, key, now) {
            // Not opened: the caller learns it from the error, and the channel (with its
            // place among the open ones) must not stay behind.
            if let Some(rec) = self.rows.remove(&key) {
                self.unadmit(rec.names.len());
            }
            self.by_stream.remove(&stream);
            self.streams.release(stream);
            self.dead_in_order += 1;
            return Err(e);
        }
        Ok(key)
    }

    /// The peer's DATA_CHANNEL_OPENs refused so far.
    pub fn refused_opens(&self) -> u64 {
        self.refused_opens
    }

    /// Queues a per-channel event (the oldest goes when the bound is reached).
    pub(crate) fn push_event(&mut self, key: DataChannelId, e: DataChannelEvent) {
        match &e {
            DataChannelEvent::Open => {
                if let Some(rec) = self.rows.get_mut(&key)
                    && !std::mem::replace(&mut rec.was_open, true)
                {
                    self.opened += 1;
                }
            }
            DataChannelEvent::Message(p) => {
                if let Some(rec) = self.rows.get_mut(&key) {
                    rec.counters.messages_received += 1;
                    rec.counters.bytes_received += crate::stats::counters::payload_len(p);
                }
            }
            _ => {}
        }
        if self.events.len() >= MAX_DC_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back((key, e));
    }

    /// The next per-channel event.
    pub fn poll_event(&mut self) -> Option<(DataChannelId, DataChannelEvent)> {
        self.events.pop_front()
    }

    /// The next channel the peer opened, to announce with `datachannel`.
    pub fn poll_announced(&mut self) -> Option<DataChannelId> {
        self.announced.pop_front()
    }

    /// Drops every queued per-channel event (`close()` fires none).
    pub(crate) fn clear_events(&mut self) {
        self.events.clear();
        self.announced.clear();
    }

    /// Drops an `open` of `key` not yet handed out: announcing a channel as open aborts
    /// once it is closing (webrtc-pc §6.2, WPT-258).
    pub(crate) fn cancel_open(&mut self, key: DataChannelId) {
        self.events
            .retain(|(k, e)| *k != key || *e != DataChannelEvent::Open);
    }

    /// Hands a channel that has a stream id to the association; it starts at once if the
    /// association is up, else when it connects. Fails (and the caller closes the channel)
    /// if its DATA_CHANNEL_OPEN cannot be sent.
    pub(crate) fn attach(
        &mut self,
        assoc: &mut Association,
        key: DataChannelId,
        now: Instant,
    ) -> Result<(), ChannelError> {
        let Some(rec) = self.rows.get_mut(&key) else {
            return Ok(());
        };
        let Some(stream) = rec.id else {
            return Ok(());
        };
        rec.sctp_open = true;
        assoc.set_buffered_amount_low_threshold(
            stream,
            usize::try_from(rec.low_threshold).unwrap_or(usize::MAX),
        );
        self.by_stream.insert(stream, key);
        if self.connected {
            self.start(assoc, key, now)?;
        }
        Ok(())
    }

    /// Starts a channel on the association: DATA_CHANNEL_OPEN unless negotiated (RFC 8832
    /// §6), then `open`.
    fn start(
        &mut self,
        assoc: &mut Association,
        key: DataChannelId,
        now: Instant,
    ) -> Result<(), ChannelError> {
        let Some(rec) = self.rows.get_mut(&key) else {
            return Ok(());
        };
        let Some(stream) = rec.id else {
            return Ok(());
        };
        if !rec.negotiated {
            let open = OpenView {
                ordered: rec.ordered,
                reliability: rec.reliability(),
                priority: dcep_priority(rec.priority),
                label: rec.names.label(),
                protocol: rec.names.protocol(),
            };
            datachannel::send_open(assoc, stream, &open, now)?;
            rec.awaiting_ack = true;
        }
        rec.state = DataChannelState::Open;
        self.push_event(key, DataChannelEvent::Open);
        Ok(())
    }

    /// Sends a user message on an open channel (RFC 8831 §6.6).
    pub fn send(
        &mut self,
        assoc: &mut Association,
        key: DataChannelId,
        payload: Payload,
        now: Instant,
    ) -> Result<(), ChannelError> {
        let rec = self
            .rows
            .get_mut(&key)
            .ok_or(ChannelError::UnknownChannel(0))?;
        let stream = rec.id.ok_or(ChannelError::UnknownChannel(0))?;
        if !rec.sctp_open {
            return Err(ChannelError::UnknownChannel(stream));
        }
        if rec.state != DataChannelState::Open {
            return Err(ChannelError::NotOpen(stream));
        }
        let len = crate::stats::counters::payload_len(&payload);
        let user_data = datachannel::send_message(
            assoc,
            stream,
            rec.ordered,
            rec.reliability(),
            rec.awaiting_ack,
            payload,
            now,
        )?;
        rec.sent_user_data |= user_data;
        rec.counters.messages_sent += 1;
        rec.counters.bytes_sent += len;
        Ok(())
    }

    /// Starts closing a channel handed to the association: its outgoing stream is reset
    /// after the queued data; it is closed once the peer resets its side too (RFC 8831
    /// §6.7). A channel still waiting for the association closes at once.
    pub fn close(&mut self, assoc: &mut Association, key: DataChannelId, now: Instant) {
        let Some(rec) = self.rows.get_mut(&key).filter(|r| r.sctp_open) else {
            return;
        };
        let Some(stream) = rec.id else { return };
        match rec.state {
            DataChannelState::Connecting => self.finish_close(assoc, key),
            DataChannelState::Open => {
                rec.state = DataChannelState::Closing;
                if assoc.reset_streams(&[stream], now).is_err() {
                    self.finish_close(assoc, key);
                }
            }
            DataChannelState::Closing | DataChannelState::Closed => {}
        }
    }

    /// Feeds one association event.
    pub fn handle_event(&mut self, assoc: &mut Association, event: SctpEvent, now: Instant) {
        match event {
            SctpEvent::Connected => {
                self.connected = true;
                let mut waiting: Vec<(u16, DataChannelId)> = self
                    .by_stream
                    .iter()
                    .filter(|(_, k)| {
                        self.rows
                            .get(k)
                            .is_some_and(|r| r.state == DataChannelState::Connecting)
                    })
                    .map(|(&s, &k)| (s, k))
                    .collect();
                waiting.sort_unstable();
                for (_, key) in waiting {
                    if let Err(e) = self.start(assoc, key, now) {
                        self.fail(assoc, key, e.to_string(), None);
                    }
                }
            }
            SctpEvent::Message(m) => self.handle_message(assoc, m.stream, m.ppid, m.data, now),
            SctpEvent::IncomingStreamsReset { streams } => {
                for stream in streams {
                    let Some(key) = self.by_stream(stream) else {
                        continue;
                    };
                    let Some(rec) = self.rows.get_mut(&key) else {
                        continue;
                    };
                    rec.remote_reset = true;
                    if rec.state == DataChannelState::Open {
                        rec.state = DataChannelState::Closing;
                        self.push_event(key, DataChannelEvent::Closing);
                        if assoc.reset_streams(&[stream], now).is_err() {
                            self.finish_close(assoc, key);
                            continue;
                        }
                    }
                    self.maybe_closed(assoc, key);
                }
            }
            SctpEvent::OutgoingStreamsReset { streams } => {
                for stream in streams {
                    if let Some(key) = self.by_stream(stream)
                        && let Some(rec) = self.rows.get_mut(&key)
                    {
                        rec.local_reset = true;
                        self.maybe_closed(assoc, key);
                    }
                }
            }
            SctpEvent::StreamsResetFailed { streams } => {
                for stream in streams {
                    if let Some(key) = self.by_stream(stream)
                        && self
                            .rows
                            .get(&key)
                            .is_some_and(|r| r.state == DataChannelState::Closing)
                    {
                        self.finish_close(assoc, key);
                    }
                }
            }
            SctpEvent::BufferedAmountLow { stream } => {
                if let Some(key) = self.by_stream(stream)
                    && let Some(rec) = self.rows.get_mut(&key)
                    && std::mem::take(&mut rec.sent_user_data)
                {
                    self.push_event(key, DataChannelEvent::BufferedAmountLow);
                }
            }
            SctpEvent::Closed => self.fail_all(assoc, "the SCTP association closed", None),
            SctpEvent::Aborted { reason, cause } => self.fail_all(assoc, &reason, cause),
        }
    }

    fn handle_message(
        &mut self,
        assoc: &mut Association,
        stream: u16,
        ppid: u32,
        data: Vec<u8>,
        now: Instant,
    ) {
        if ppid == PPID_DCEP {
            match DcepView::parse(&data) {
                Ok(DcepView::Open(o)) => self.handle_open(assoc, stream, o, now),
                Ok(DcepView::Ack) => {
                    if let Some(key) = self.by_stream(stream)
                        && let Some(rec) = self.rows.get_mut(&key)
                    {
                        rec.awaiting_ack = false;
                    }
                }
                Err(_) => self.dropped_messages += 1,
            }
            return;
        }
        let Some(key) = self.by_stream(stream) else {
            self.dropped_messages += 1;
            return;
        };
        let Some(rec) = self.rows.get_mut(&key) else {
            self.dropped_messages += 1;
            return;
        };
        if !matches!(
            rec.state,
            DataChannelState::Open | DataChannelState::Closing
        ) {
            self.dropped_messages += 1;
            return;
        }
        // Any user message implies the peer saw our OPEN (RFC 8832 §6).
        rec.awaiting_ack = false;
        let Some(payload) = datachannel::decode_message(ppid, data) else {
            self.dropped_messages += 1;
            return;
        };
        self.push_event(key, DataChannelEvent::Message(payload));
    }

    /// The peer's DATA_CHANNEL_OPEN (RFC 8832 §6): acknowledged and announced if the
    /// stream is the peer's to open and the caps allow; otherwise refused.
    fn handle_open(&mut self, assoc: &mut Association, stream: u16, o: OpenView<'_>, now: Instant) {
        if self.by_stream.contains_key(&stream) {
            // An OPEN for a stream in use: a protocol error by the peer; ignore it (resetting
            // the stream would close the channel that uses it).
            self.dropped_messages += 1;
            return;
        }
        if !datachannel::peer_may_open(self.local_parity, stream) {
            // RFC 8832 §6: the peer must pick ids of the other parity; ours are ours to give.
            tracing::debug!("DATA_CHANNEL_OPEN on stream {stream} of our parity refused");
            self.refuse(assoc, stream, now);
            return;
        }
        if let Err(e) = self.admit(o.label, o.protocol) {
            tracing::debug!("DATA_CHANNEL_OPEN on stream {stream} refused: {e}");
            self.refuse(assoc, stream, now);
            return;
        }
        let ack = datachannel::ACK.to_vec();
        if let Err(e) = assoc.send(stream, PPID_DCEP, ack, datachannel::CONTROL, now) {
            // Without an ACK the peer's channel would hang half-open: refuse it instead.
            tracing::debug!("DATA_CHANNEL_ACK on stream {stream} not sent: {e:?}");
            self.unadmit(o.label.len() + o.protocol.len());
            self.refuse(assoc, stream, now);
            return;
        }
        let names = ChannelNames::new(o.label, o.protocol);
        let (max_retransmits, max_packet_life_time) = u16_reliability(o.reliability);
        let key = self.take_key();
        self.insert(DataChannelRecord {
            key,
            names,
            ordered: o.ordered,
            max_packet_life_time,
            max_retransmits,
            negotiated: false,
            id: Some(stream),
            priority: w3c_priority(o.priority),
            state: DataChannelState::Open,
            sctp_open: true,
            low_threshold: 0,
            final_buffered_amount: 0,
            binary_type: BinaryType::ArrayBuffer,
            released: false,
            awaiting_ack: false,
            local_reset: false,
            remote_reset: false,
            sent_user_data: false,
            counters: Default::default(),
            was_open: false,
        });
        self.by_stream.insert(stream, key);
        // `datachannel` on the connection, then `open` on the channel (webrtc-pc §6.2
        // "announce").
        self.announced.push_back(key);
        self.push_event(key, DataChannelEvent::Open);
    }

    fn refuse(&mut self, assoc: &mut Association, stream: u16, now: Instant) {
        self.refused_opens += 1;
        datachannel::refuse_open(assoc, stream, now);
    }

    fn maybe_closed(&mut self, assoc: &Association, key: DataChannelId) {
        if self
            .rows
            .get(&key)
            .is_some_and(|r| r.local_reset && r.remote_reset)
        {
            self.finish_close(assoc, key);
        }
    }

    /// The channel is closed: `bufferedAmount` is frozen (it does not reset when the channel
    /// closes, webrtc-pc §6.2), its stream id is free again, and `close` fires.
    fn finish_close(&mut self, assoc: &Association, key: DataChannelId) {
        let Some(rec) = self.rows.get_mut(&key) else {
            return;
        };
        if rec.state == DataChannelState::Closed {
            return;
        }
        if let Some(stream) = rec.id {
            rec.final_buffered_amount = assoc.buffered_amount(stream) as u64;
        }
        self.set_closed(key);
        self.push_event(key, DataChannelEvent::Close);
    }

    /// The association failed under the channel: `error` ("sctp-failure"), then `close`.
    fn fail(
        &mut self,
        assoc: &Association,
        key: DataChannelId,
        reason: String,
        cause: Option<u16>,
    ) {
        if self
            .rows
            .get(&key)
            .is_none_or(|r| r.state == DataChannelState::Closed)
        {
            return;
        }
        self.push_event(
            key,
            DataChannelEvent::Error(Error::rtc(
                ErrorDetail::SctpFailure { cause_code: cause },
                reason,
            )),
        );
        self.finish_close(assoc, key);
    }

    fn fail_all(&mut self, assoc: &Association, reason: &str, cause: Option<u16>) {
        self.connected = false;
        let mut handed: Vec<(u16, DataChannelId)> =
            self.by_stream.iter().map(|(&s, &k)| (s, k)).collect();
        handed.sort_unstable();
        for (_, key) in handed {
            self.fail(assoc, key, reason.to_string(), cause);
        }
    }
}

/// The session's `RTCSctpTransport` (webrtc-pc §6.1.1): there while the session has a data
/// section (`Negotiated.sctp`).
#[derive(Debug, Clone)]
pub(crate) struct SctpTransport {
    pub state: SctpTransportState,
    /// `maxMessageSize` (webrtc-pc §6.1.1.3), once the remote description is known.
    pub max_message_size: f64,
}

/// Largest valid stream id + 1: ids are 0..=65534 (65535 is reserved, RFC 8832 §6).
const MAX_STREAM_IDS: u32 = 65535;

/// The SCTP stream ids in use, with a cursor per parity so that allocation is amortised
/// O(1) (ids are handed out smallest-free first, and a released id moves the cursor back).
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamIds {
    used: std::collections::HashSet<u16>,
    cursor: [u32; 2],
}

impl StreamIds {
    pub(crate) fn in_use(&self, id: u16) -> bool {
        self.used.contains(&id)
    }

    pub(crate) fn reserve(&mut self, id: u16) {
        self.used.insert(id);
    }

    pub(crate) fn release(&mut self, id: u16) {
        if self.used.remove(&id) {
            let p = usize::from(id % 2);
            self.cursor[p] = self.cursor[p].min(u32::from(id));
        }
    }

    /// The smallest free id of this role's parity (RFC 8832 §6: client even, server odd).
    fn allocate(&mut self, role: DtlsRole) -> Option<u16> {
        let p = match role {
            DtlsRole::Client => 0usize,
            DtlsRole::Server => 1usize,
        };
        let mut i = self.cursor[p].max(p as u32);
        if i % 2 != p as u32 {
            i += 1;
        }
        while i < MAX_STREAM_IDS {
            let id = i as u16;
            if !self.used.contains(&id) {
                self.used.insert(id);
                self.cursor[p] = i + 2;
                return Some(id);
            }
            i += 2;
        }
        self.cursor[p] = MAX_STREAM_IDS;
        None
    }
}

impl Session {
    /// `createDataChannel(label, init)` (webrtc-pc §6.1): validates and records a channel;
    /// an in-band one gets its stream id now if the DTLS role (`dtls_role`) is known.
    pub(crate) fn create_data_channel(
        &mut self,
        label: &str,
        init: &DataChannelInit,
        dtls_role: Option<DtlsRole>,
    ) -> Result<DataChannelId> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if label.len() > 65535 {
            return Err(Error::type_error("label is longer than 65535 bytes"));
        }
        if init.protocol.len() > 65535 {
            return Err(Error::type_error("protocol is longer than 65535 bytes"));
        }
        if init.max_packet_life_time.is_some() && init.max_retransmits.is_some() {
            return Err(Error::type_error(
                "maxPacketLifeTime and maxRetransmits cannot both be set",
            ));
        }
        let id = if init.negotiated {
            let id = init
                .id
                .ok_or_else(|| Error::type_error("negotiated channels need an id"))?;
            if u32::from(id) >= MAX_STREAM_IDS {
                return Err(Error::type_error("id must be below 65535"));
            }
            if self.channels.streams.in_use(id) {
                return Err(Error::operation(format!(
                    "stream id {id} is already in use"
                )));
            }
            Some(id)
        } else {
            None
        };
        // At the caps no channel can be had, as when no stream id is left (webrtc-pc §6.1
        // createDataChannel: OperationError); after the argument errors, before an id is taken.
        self.channels
            .admit(label, &init.protocol)
            .map_err(|e| Error::operation(e.to_string()))?;
        let mut rec = DataChannelRecord {
            key: DataChannelId(0),
            names: ChannelNames::new(label, &init.protocol),
            ordered: init.ordered,
            max_packet_life_time: init.max_packet_life_time,
            max_retransmits: init.max_retransmits,
            negotiated: init.negotiated,
            id,
            priority: init.priority,
            state: DataChannelState::Connecting,
            sctp_open: false,
            low_threshold: 0,
            final_buffered_amount: 0,
            binary_type: BinaryType::ArrayBuffer,
            released: false,
            awaiting_ack: false,
            local_reset: false,
            remote_reset: false,
            sent_user_data: false,
            counters: Default::default(),
            was_open: false,
        };
        match rec.id {
            Some(_) => {}
            None => {
                if let Some(role) = dtls_role {
                    let Some(id) = self.channels.streams.allocate(role) else {
                        // Not created: what `admit` counted is given back.
                        self.channels.unadmit(rec.names.len());
                        return Err(Error::operation("no stream id is available"));
                    };
                    rec.id = Some(id);
                }
            }
        }
        rec.key = self.channels.take_key();
        let key = rec.key;
        let has_id = rec.id.is_some();
        self.channels.insert(rec);
        if has_id {
            self.channels.wait_for_association(key);
            // A sans-IO caller learns that the channel may open now (its DCEP OPEN leaves at
            // the next timed call) through the Deferred timer, without other input.
            self.timers.defer();
        }
        Ok(key)
    }

    /// The record of a live channel (a closed, released one is forgotten: `prune_data_channels`).
    pub(crate) fn data_channel(&self, key: DataChannelId) -> Option<&DataChannelRecord> {
        self.channels.get(key)
    }

    /// A read-only view of a kept channel's attributes (a closed, released one is forgotten: `prune_data_channels`);
    /// `None` once it was forgotten ([`DataChannelInfo::forgotten`] reads as closed).
    pub fn data_channel_info(&self, key: DataChannelId) -> Option<DataChannelInfo<'_>> {
        self.channels.get(key).map(|r| DataChannelInfo(Some(r)))
    }

    /// The application dropped the channel's last handle: once closed, its record may go.
    pub(crate) fn release_data_channel(&mut self, key: DataChannelId) {
        self.channels.release(key);
    }

    /// Forgets closed channels without handles (their `close` event was handed out in an
    /// earlier round), so a peer that opens and closes channels forever, with labels of up to
    /// 64 KiB, cannot grow the connection's memory. Returns the forgotten keys.
    /// O(1) amortised per channel: only channels that closed or lost their last handle
    /// since the last prune are looked at.
    pub(crate) fn prune_data_channels(&mut self) -> Vec<DataChannelId> {
        self.channels.prune()
    }

    /// How many data channel records the connection holds (diagnostics and tests).
    pub fn data_channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Sets the caps on data channels ([`DataChannelLimits`]); takes effect for a
    /// connection that has no channel yet (call it right after [`Core::new`]).
    pub fn set_data_channel_limits(&mut self, limits: DataChannelLimits) {
        self.channels.set_limits(limits);
    }

    /// The caps on data channels in effect.
    pub fn data_channel_limits(&self) -> DataChannelLimits {
        self.channels.limits()
    }

    /// Channels open now (not yet closed, either side's) and the label and protocol bytes
    /// kept for the connection's channels: what [`DataChannelLimits`] bounds.
    pub fn data_channel_usage(&self) -> (usize, usize) {
        (self.channels.open_channels(), self.channels.label_bytes())
    }

    /// Called when the DTLS role becomes known: gives in-band channels their ids; channels
    /// for which no id is left are closed and fire `error` ("data-channel-failure",
    /// OperationError) then `close` (webrtc-pc §4.4.1.6 "set the RTCSessionDescription",
    /// WPT-245).
    pub(crate) fn assign_stream_ids(&mut self) {
        let Some(role) = self.dtls_role else { return };
        for i in 0..self.channels.positions() {
            let Some(key) = self.channels.key_at(i) else {
                continue;
            };
            let Some(rec) = self.channels.get(key) else {
                continue;
            };
            if rec.id.is_none() && rec.state != DataChannelState::Closed {
                match self.channels.streams.allocate(role) {
                    Some(id) => {
                        if let Some(rec) = self.channels.get_mut(key) {
                            rec.id = Some(id);
                        }
                        self.channels.wait_for_association(key);
                    }
                    None => {
                        self.channels.set_closed(key);
                        let error = Error::rtc(
                            crate::error::ErrorDetail::DataChannelFailure,
                            "no SCTP stream id is available",
                        );
                        self.push_dc_event(key, crate::connection::DataChannelEvent::Error(error));
                        self.push_dc_event(key, crate::connection::DataChannelEvent::Close);
                    }
                }
            }
        }
    }

    /// `pc.sctp` state, if an SCTP transport exists.
    pub fn sctp_state(&self) -> Option<SctpTransportState> {
        self.sctp.as_ref().map(|s| s.state)
    }

    /// `sctp.maxMessageSize`, if an SCTP transport exists.
    pub fn sctp_max_message_size(&self) -> Option<f64> {
        self.sctp.as_ref().map(|s| s.max_message_size)
    }

    /// All data channels' ids in creation order.
    pub fn data_channel_ids(&self) -> Vec<DataChannelId> {
        self.channels.keys()
    }
}

impl Session {
    /// `dc.binaryType = t` (webrtc-pc §6.2).
    pub fn set_data_channel_binary_type(&mut self, key: DataChannelId, t: BinaryType) {
        if let Some(rec) = self.channels.get_mut(key) {
            rec.binary_type = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::Configuration;
    use crate::connection::{Core, CoreEvent, CoreSettings, SignalingState};
    use crate::error::ErrorKind;
    use crate::util::SeededRandom;

    fn core(limits: DataChannelLimits) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        let mut c = Core::new(
            Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(7)),
        );
        c.set_data_channel_limits(limits);
        c
    }

    #[test]
    fn create_data_channel_at_the_open_cap_is_an_operation_error_until_one_closes() {
        let mut c = core(DataChannelLimits {
            max_open: 3,
            ..DataChannelLimits::default()
        });
        let keys: Vec<_> = (0..3)
            .map(|i| {
                c.create_data_channel(&format!("c{i}"), &DataChannelInit::default(), true)
                    .unwrap()
            })
            .collect();
        let e = c
            .create_data_channel("one too many", &DataChannelInit::default(), true)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
        assert_eq!(c.data_channel_usage(), (3, 6));
        c.close_data_channel(keys[1], std::time::Instant::now());
        assert_eq!(
            c.data_channel_usage().0,
            2,
            "a closed channel frees its place"
        );
        c.create_data_channel("again", &DataChannelInit::default(), true)
            .unwrap();
    }

    #[test]
    fn create_data_channel_beyond_the_byte_cap_is_an_operation_error_and_names_are_kept_once() {
        let mut c = core(DataChannelLimits {
            max_open: 1024,
            max_label_bytes: 3 * 131_070,
        });
        let big = "x".repeat(65535);
        let init = DataChannelInit {
            protocol: "p".repeat(65535),
            ..DataChannelInit::default()
        };
        for _ in 0..3 {
            c.create_data_channel(&big, &init, true).unwrap();
        }
        let e = c.create_data_channel(&big, &init, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
        assert_eq!(c.data_channel_usage(), (3, 3 * 131_070));
        // A small channel still fits in what is left.
        c.create_data_channel("", &DataChannelInit::default(), true)
            .unwrap();
        // Forgetting a closed, released channel gives its bytes back.
        let first = c.data_channel_ids()[0];
        c.close_data_channel(first, std::time::Instant::now());
        c.release_data_channel(first);
        assert_eq!(c.prune_data_channels(), [first]);
        assert_eq!(c.data_channel_usage(), (3, 2 * 131_070));
        c.create_data_channel(&big, &init, true).unwrap();
    }

    #[test]
    fn forgetting_channels_keeps_creation_order_and_looks_only_at_closed_released_ones() {
        let mut c = core(DataChannelLimits::default());
        let now = std::time::Instant::now();
        let keys: Vec<_> = (0..100)
            .map(|i| {
                c.create_data_channel(&format!("c{i}"), &DataChannelInit::default(), true)
                    .unwrap()
            })
            .collect();
        // Released but open: kept. Closed but held: kept.
        c.release_data_channel(keys[0]);
        c.close_data_channel(keys[1], now);
        assert!(c.prune_data_channels().is_empty());
        assert!(c.session.channels.candidates.is_empty(), "candidates are drained");
        // Closed and released (in either order): forgotten, once.
        let gone: Vec<_> = keys.iter().copied().filter(|k| k.0 % 3 == 0).collect();
        for &k in &gone {
            if k.0 % 2 == 0 {
                c.release_data_channel(k);
                c.close_data_channel(k, now);
            } else {
                c.close_data_channel(k, now);
                c.release_data_channel(k);
            }
        }
        let mut pruned = c.prune_data_channels();
        pruned.sort();
        assert_eq!(pruned, gone);
        assert!(c.prune_data_channels().is_empty());
        let left: Vec<_> = keys.iter().copied().filter(|k| k.0 % 3 != 0).collect();
        assert_eq!(c.data_channel_ids(), left, "creation order survives");
        assert_eq!(c.data_channel_count(), left.len());
        assert!(c.data_channel_info(keys[0]).is_none());
        let info = c.data_channel_info(keys[2]).unwrap();
        assert_eq!(
            (info.label(), info.ready_state()),
            ("c2", DataChannelState::Connecting)
        );
        let f = DataChannelInfo::forgotten();
        assert_eq!((f.label(), f.ready_state()), ("", DataChannelState::Closed));
        // Forget the rest: the order list is compacted, not left growing.
        for &k in &left {
            c.close_data_channel(k, now);
            c.release_data_channel(k);
        }
        assert_eq!(c.prune_data_channels().len(), left.len());
        assert!(c.data_channel_ids().is_empty());
        assert!(c.session.channels.order.is_empty());
    }

    #[test]
    fn channels_waiting_for_the_association_are_listed_once_and_the_list_stays_bounded() {
        let mut c = core(DataChannelLimits::default());
        c.dtls_role = Some(DtlsRole::Client);
        let now = std::time::Instant::now();
        // Churn before any association exists: the waiting list does not grow with it.
        for i in 0..2000 {
            let k = c
                .create_data_channel(&format!("c{i}"), &DataChannelInit::default(), true)
                .unwrap();
            c.close_data_channel(k, now);
            c.release_data_channel(k);
            c.prune_data_channels();
            assert!(c.session.channels.unattached.len() <= 2 * c.session.channels.len() + 18);
        }
        let keep = c
            .create_data_channel("kept", &DataChannelInit::default(), true)
            .unwrap();
        assert_eq!(c.session.channels.get(keep).and_then(|r| r.id), Some(0));
        assert!(c.session.channels.has_unattached());
        // Handed out once, in creation order, only channels that are still kept.
        assert_eq!(c.session.channels.take_unattached().last(), Some(&keep));
        assert!(!c.session.channels.has_unattached());
    }

    #[test]
    fn open_channels_are_counted_until_closed_and_names_until_forgotten() {
        let mut t = ChannelTable::new(DataChannelLimits {
            max_open: 2,
            max_label_bytes: 10,
        });
        let add = |t: &mut ChannelTable, label: &str, protocol: &str| {
            t.admit(label, protocol)?;
            let key = t.take_key();
            t.insert(DataChannelRecord {
                key,
                names: ChannelNames::new(label, protocol),
                ordered: true,
                max_packet_life_time: None,
                max_retransmits: None,
                negotiated: false,
                id: None,
                priority: Priority::Low,
                state: DataChannelState::Connecting,
                sctp_open: false,
                low_threshold: 0,
                final_buffered_amount: 0,
                binary_type: BinaryType::ArrayBuffer,
                released: false,
                awaiting_ack: false,
                local_reset: false,
                remote_reset: false,
                sent_user_data: false,
                counters: Default::default(),
                was_open: false,
            });
            Ok::<_, LimitReached>(key)
        };
        let a = add(&mut t, "abc", "de").unwrap();
        assert_eq!((t.open_channels(), t.label_bytes()), (1, 5));
        assert_eq!(
            add(&mut t, "123456", "").unwrap_err(),
            LimitReached::LabelBytes(10)
        );
        assert_eq!(
            (t.open_channels(), t.label_bytes()),
            (1, 5),
            "a refusal keeps nothing"
        );
        let b = add(&mut t, "12345", "").unwrap();
        assert_eq!(
            add(&mut t, "", "").unwrap_err(),
            LimitReached::OpenChannels(2)
        );
        t.set_closed(a);
        t.set_closed(a);
        assert_eq!(t.open_channels(), 1, "closed once, counted once");
        assert_eq!(
            t.label_bytes(),
            10,
            "the closed record still holds its names"
        );
        t.release(a);
        assert_eq!(t.prune(), [a]);
        assert_eq!(t.label_bytes(), 5);
        t.set_closed(b);
        t.release(b);
        t.prune();
        assert_eq!((t.open_channels(), t.label_bytes()), (0, 0));
    }

    #[test]
    fn a_full_event_queue_reports_what_it_dropped_instead_of_losing_it_silently() {
        let mut c = core(DataChannelLimits::default());
        let n = crate::connection::MAX_EVENTS + 100;
        for i in 0..n {
            c.emit(CoreEvent::SignalingStateChange(if i % 2 == 0 {
                SignalingState::HaveLocalOffer
            } else {
                SignalingState::Stable
            }));
        }
        let events: Vec<_> = std::iter::from_fn(|| c.poll_core_event()).collect();
        let dropped: u64 = events
            .iter()
            .map(|e| match e {
                CoreEvent::EventsDropped(n) => *n,
                _ => 0,
            })
            .sum();
        let kept = events
            .iter()
            .filter(|e| !matches!(e, CoreEvent::EventsDropped(_)))
            .count();
        assert_eq!(
            kept as u64 + dropped,
            n as u64,
            "every event delivered or counted"
        );
        assert!(dropped >= 100);
        assert_eq!(c.events_dropped(), dropped);
        assert!(matches!(events.last(), Some(CoreEvent::EventsDropped(_))));
        // The first events were kept in order (the oldest are not the ones lost).
        assert!(matches!(
            events[0],
            CoreEvent::SignalingStateChange(SignalingState::HaveLocalOffer)
        ));
        // Room again: the next event follows the marker of earlier losses, none is lost.
        c.emit(CoreEvent::NegotiationNeeded);
        assert!(matches!(
            c.poll_core_event(),
            Some(CoreEvent::NegotiationNeeded)
        ));
        assert!(c.poll_core_event().is_none());
    }
}
