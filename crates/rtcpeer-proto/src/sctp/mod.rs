//! Sans-IO SCTP for WebRTC data channels (RFC 9260 over DTLS per RFC 8261).
//!
//! One [`Association`] per DTLS connection: no IP layer, no multihoming, ports from
//! `a=sctp-port` (5000 by default). Extensions: PR-SCTP (RFC 3758, FORWARD TSN), stream reset
//! (RFC 6525 outgoing SSN reset), the I bit (RFC 7053), zero checksum over DTLS (RFC 9653).
//! I-DATA (RFC 8260) is not implemented.
//!
//! The caller drives it like `quinn-proto`: feed packets with [`Association::handle_packet`],
//! drain [`Association::poll_transmit`] and [`Association::poll_event`] after every call, and
//! call [`Association::handle_timeout`] at [`Association::poll_timeout`]. Output caused by a
//! call is available from `poll_transmit` right away; timers only drive retransmissions,
//! delayed SACKs and heartbeats.
//!
//! Bounds: unsent data ≤ [`Config::send_buffer`] (`send` fails with
//! [`SendError::BufferFull`]); data kept for retransmission ≤ 16 MiB and the peer's window;
//! received data held (out of order, being reassembled, or delivered but not yet polled) ≤
//! [`Config::receive_window`] plus one message, each stored chunk and each unpolled message
//! charged 64 bytes of bookkeeping on top of its payload
//! ([`Association::held_receive_bytes`]); at most 65 535 TSNs tracked above the cumulative
//! point; control replies queued ≤ 16. Work per received chunk is O(log n) whatever order
//! the peer sends fragments in (RFC 9260 §6.9 reassembly with an index of pieces).
//!
//! ```
//! use std::time::Instant;
//! use rtcpeer_proto::sctp::{Association, Config, Event, SendOptions};
//!
//! let now = Instant::now();
//! let (mut a, mut b) = (Association::new(Config::default(), now, 1), Association::new(Config::default(), now, 2));
//! a.connect(now);
//! a.send(0, 51, b"hello".to_vec(), SendOptions::default(), now).unwrap();
//! let mut buf = Vec::new();
//! let mut got = None;
//! for _ in 0..10 {
//!     while a.poll_transmit(now, &mut buf) { b.handle_packet(&buf, now); }
//!     while b.poll_transmit(now, &mut buf) { a.handle_packet(&buf, now); }
//!     while let Some(ev) = b.poll_event() {
//!         if let Event::Message(m) = ev { got = Some(m.data); }
//!     }
//! }
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! ```

mod assoc;
mod chunk;
mod crc32c;
mod rx;
mod tx;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use assoc::{Association, SctpTimer};
pub use crc32c::crc32c;

/// Association settings; defaults follow Chromium's dcSCTP (see shared/DESIGN.md).
#[derive(Debug, Clone)]
pub struct Config {
    /// Our SCTP port (`a=sctp-port`, RFC 8841); 5000 by default.
    pub local_port: u16,
    /// The peer's SCTP port; 5000 by default.
    pub remote_port: u16,
    /// Largest SCTP packet we produce (bytes, before DTLS); 1191 as in dcSCTP.
    pub mtu: usize,
    /// Receive buffer: bound on buffered incoming data and the advertised window (RFC 9260 §6.2).
    pub receive_window: usize,
    /// Bound on bytes accepted by `send` and not yet transmitted; beyond it `send` fails.
    pub send_buffer: usize,
    /// Largest message accepted by `send` or reassembled from the peer.
    pub max_message_size: usize,
    /// Initial retransmission timeout (RFC 9260 §6.3.1); 500 ms as in dcSCTP.
    pub rto_initial: Duration,
    /// Lower RTO bound; 400 ms as in dcSCTP.
    pub rto_min: Duration,
    /// Upper RTO bound; 60 s (RFC 9260 §16).
    pub rto_max: Duration,
    /// Consecutive retransmissions/unacked heartbeats before the association aborts (§8.1).
    pub max_retransmissions: u32,
    /// INIT / COOKIE ECHO retransmissions before the handshake fails (§5.1).
    pub max_init_retransmissions: u32,
    /// Delayed SACK timer (RFC 9260 §6.2, at most 500 ms; 200 ms here).
    pub delayed_ack_timeout: Duration,
    /// Heartbeat interval while established (§8.3); 30 s.
    pub heartbeat_interval: Duration,
    /// Lifetime of the state cookie we hand out (§5.1.3).
    pub cookie_lifetime: Duration,
    /// Streams we offer in each direction (negotiated down to the peer's numbers).
    pub num_streams: u16,
    /// Announce and use zero checksums with DTLS as the error detection method (RFC 9653);
    /// only meaningful because this SCTP always runs over DTLS (RFC 8261).
    pub zero_checksum: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            local_port: 5000,
            remote_port: 5000,
            mtu: 1191,
            receive_window: 5 * 1024 * 1024,
            send_buffer: 2_000_000,
            max_message_size: 256 * 1024,
            rto_initial: Duration::from_millis(500),
            rto_min: Duration::from_millis(400),
            rto_max: Duration::from_secs(60),
            max_retransmissions: 10,
            max_init_retransmissions: 8,
            delayed_ack_timeout: Duration::from_millis(200),
            heartbeat_interval: Duration::from_secs(30),
            cookie_lifetime: Duration::from_secs(60),
            num_streams: 65535,
            zero_checksum: true,
        }
    }
}

/// Per-message options of [`Association::send`]; the PR-SCTP policies are RFC 3758 §4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Deliver as soon as complete, not in stream order (U bit, RFC 9260 §3.3.1).
    pub unordered: bool,
    /// Abandon the message after this many retransmissions (0: never retransmit).
    pub max_retransmits: Option<u16>,
    /// Abandon the message if not delivered within this time after `send`.
    pub lifetime: Option<Duration>,
    /// Not application data (a DCEP message, the placeholder byte of an empty message): not
    /// counted in `buffered_amount` and never the cause of `BufferedAmountLow` (W3C
    /// `bufferedAmount` counts only what `send()` was given, webrtc-pc §6.2).
    pub not_buffered: bool,
}

/// A message received from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Stream identifier.
    pub stream: u16,
    /// Payload protocol identifier (RFC 8831 §8 for data channels).
    pub ppid: u32,
    /// The whole reassembled message.
    pub data: Vec<u8>,
    /// Whether it was sent unordered.
    pub unordered: bool,
}

/// What the association reports to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed (RFC 9260 §5.1): data can flow.
    Connected,
    /// A complete message arrived.
    Message(Message),
    /// The peer reset these incoming streams (RFC 6525 §5.2.2): their SSNs restart at 0.
    IncomingStreamsReset {
        /// Streams reset.
        streams: Vec<u16>,
    },
    /// Our reset request for these outgoing streams succeeded (RFC 6525 §5.2.7).
    OutgoingStreamsReset {
        /// Streams reset.
        streams: Vec<u16>,
    },
    /// The peer denied our reset request for these streams; they stay open.
    StreamsResetFailed {
        /// Streams concerned.
        streams: Vec<u16>,
    },
    /// A stream's buffered amount fell to or below its low threshold: it dropped from above
    /// it, or application data queued since the last such event has left (once per burst).
    BufferedAmountLow {
        /// The stream.
        stream: u16,
    },
    /// Graceful shutdown completed (RFC 9260 §9.2).
    Closed,
    /// The association was aborted locally or by the peer, or failed (timeouts).
    Aborted {
        /// Human-readable reason.
        reason: String,
        /// The error cause code (RFC 9260 §3.3.10): the first cause of the peer's ABORT, or
        /// the one we sent; `None` when the association timed out.
        cause: Option<u16>,
    },
}

/// Why [`Association::send`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The association is shutting down or closed.
    NotConnected,
    /// The send buffer is full; wait for `BufferedAmountLow` (back-pressure).
    BufferFull,
    /// Larger than `Config::max_message_size`.
    MessageTooLarge,
    /// SCTP cannot carry empty user messages (RFC 9260 §3.3.1).
    EmptyMessage,
    /// The stream number is beyond the negotiated outbound streams.
    InvalidStream,
    /// The stream is being reset; it can be used again after `OutgoingStreamsReset`.
    StreamResetting,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            SendError::NotConnected => "association not connected",
            SendError::BufferFull => "send buffer full",
            SendError::MessageTooLarge => "message too large",
            SendError::EmptyMessage => "empty message",
            SendError::InvalidStream => "invalid stream",
            SendError::StreamResetting => "stream is being reset",
        };
        f.write_str(s)
    }
}

impl std::error::Error for SendError {}

/// Why [`Association::reset_streams`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetError {
    /// Not established (or shutting down).
    NotConnected,
    /// The peer did not announce RE-CONFIG support (RFC 6525 §5.1).
    NotSupported,
}

/// Association state (RFC 9260 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No association (before `connect`/INIT, or after termination).
    Closed,
    /// INIT sent.
    CookieWait,
    /// COOKIE ECHO sent.
    CookieEchoed,
    /// Data can flow.
    Established,
    /// `shutdown` called; waiting for outstanding data.
    ShutdownPending,
    /// SHUTDOWN sent.
    ShutdownSent,
    /// SHUTDOWN received; flushing our outstanding data.
    ShutdownReceived,
    /// SHUTDOWN ACK sent.
    ShutdownAckSent,
}

/// Counters and congestion state, for tests and `getStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets produced by `poll_transmit`.
    pub packets_sent: u64,
    /// Packets accepted by `handle_packet`.
    pub packets_received: u64,
    /// Packets dropped (bad checksum, bad tag, malformed).
    pub packets_dropped: u64,
    /// DATA chunks retransmitted.
    pub retransmissions: u64,
    /// Fast retransmit events (RFC 9260 §7.2.4).
    pub fast_retransmits: u64,
    /// T3-rtx expiries (RFC 9260 §6.3.3).
    pub t3_expiries: u64,
    /// SACK chunks sent.
    pub sacks_sent: u64,
    /// Messages abandoned by PR-SCTP (RFC 3758).
    pub abandoned_messages: u64,
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Current retransmission timeout.
    pub rto: Duration,
}
