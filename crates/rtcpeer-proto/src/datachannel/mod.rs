//! WebRTC data channels over SCTP (RFC 8831) with in-band establishment (DCEP, RFC 8832):
//! the wire steps as functions over an [`Association`] (DATA_CHANNEL_OPEN/ACK, PPIDs and
//! empty messages, ordered-until-ACK, refusal by stream reset), used by the connection's one
//! table of channels, [`ChannelTable`] (re-exported here), which turns every
//! [`sctp::Event`](crate::sctp::Event) into the channel's event.
//!
//! What a peer can make it keep is bounded by the table's counts ([`DataChannelLimits`]):
//! a DATA_CHANNEL_OPEN beyond the caps, or on a stream id of our own parity (RFC 8832 §6),
//! is refused by resetting the stream (RFC 8831 §6.7), with no event, and counted
//! ([`ChannelTable::refused_opens`]).

mod dcep;
mod ledger;

use std::fmt;
use std::time::{Duration, Instant};

use crate::sctp::{Association, SendError, SendOptions};

pub use dcep::{
    DcepError, DcepMessage, DcepView, Open, OpenView, PPID_BINARY, PPID_BINARY_EMPTY,
    PPID_BINARY_PARTIAL, PPID_DCEP, PPID_STRING, PPID_STRING_EMPTY, PPID_STRING_PARTIAL,
    Reliability,
};
pub use ledger::{ChannelNames, DataChannelLimits, LimitReached};

pub use crate::session::channels::ChannelTable;

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

#[cfg(test)]
mod tests;
