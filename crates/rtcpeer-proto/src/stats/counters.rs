//! The counters the engines keep for the statistics (webrtc-stats): plain integers bumped on
//! the data path (no allocation per packet), read when a report is built.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// At most this many paths (local socket, remote address) keep their own traffic counters
/// per transport: the selected pairs over time; an older path's counters are dropped.
pub const MAX_COUNTED_PATHS: usize = 8;

/// Packets and bytes in one direction (webrtc-stats `packetsSent`/`bytesSent`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Datagrams.
    pub packets: u64,
    /// Bytes in them (UDP payload).
    pub bytes: u64,
    /// When the last one went or came.
    pub last: Option<Instant>,
}

impl Traffic {
    #[inline]
    fn add(&mut self, now: Instant, len: usize) {
        self.packets = self.packets.saturating_add(1);
        self.bytes = self.bytes.saturating_add(len as u64);
        self.last = Some(now);
    }
}

/// Sent and received traffic of one path or transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathTraffic {
    /// What left.
    pub sent: Traffic,
    /// What arrived.
    pub received: Traffic,
}

/// Non-STUN traffic of one ICE transport (`RTCTransportStats` counts no connectivity
/// checks, webrtc-stats §7.15), in all and per path (`RTCIceCandidatePairStats`, §7.13).
#[derive(Debug, Clone, Default)]
pub struct TransportTraffic {
    /// The whole transport.
    pub total: PathTraffic,
    /// `selectedCandidatePairChanges`: how many times the agent selected a pair.
    pub selected_pair_changes: u64,
    /// Per path, the most recently used first; at most [`MAX_COUNTED_PATHS`].
    paths: Vec<((SocketAddr, SocketAddr), PathTraffic)>,
}

impl TransportTraffic {
    /// The counters of `path`; made (and the oldest dropped) when the path is new, which
    /// happens once per selected pair, not per packet.
    #[inline]
    fn path_mut(&mut self, path: (SocketAddr, SocketAddr)) -> &mut PathTraffic {
        match self.paths.iter().position(|(p, _)| *p == path) {
            Some(0) => {}
            Some(i) => self.paths[..=i].rotate_right(1),
            None => {
                if self.paths.len() >= MAX_COUNTED_PATHS {
                    self.paths.pop();
                }
                self.paths.insert(0, (path, PathTraffic::default()));
            }
        }
        &mut self.paths[0].1
    }

    /// A datagram of `len` bytes left on `path` at `now`.
    #[inline]
    pub fn on_sent(&mut self, now: Instant, path: (SocketAddr, SocketAddr), len: usize) {
        self.total.sent.add(now, len);
        self.path_mut(path).sent.add(now, len);
    }

    /// A datagram of `len` bytes arrived on `path` at `now`.
    #[inline]
    pub fn on_received(&mut self, now: Instant, path: (SocketAddr, SocketAddr), len: usize) {
        self.total.received.add(now, len);
        self.path_mut(path).received.add(now, len);
    }

    /// The counters of `path` (local socket, remote address), if it carried anything.
    pub fn path(&self, path: (SocketAddr, SocketAddr)) -> Option<PathTraffic> {
        self.paths.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
    }
}

/// Message counters of one data channel (`RTCDataChannelStats`, webrtc-stats §7.11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelCounters {
    /// `messagesSent`: user messages handed to SCTP.
    pub messages_sent: u64,
    /// `bytesSent`: their payload bytes.
    pub bytes_sent: u64,
    /// `messagesReceived`: user messages delivered.
    pub messages_received: u64,
    /// `bytesReceived`: their payload bytes.
    pub bytes_received: u64,
}

/// A message's payload bytes (`bytesSent`/`bytesReceived` count the message bodies).
pub(crate) fn payload_len(p: &crate::datachannel::Payload) -> u64 {
    match p {
        crate::datachannel::Payload::Text(s) => s.len() as u64,
        crate::datachannel::Payload::Binary(b) => b.len() as u64,
    }
}

/// Counters of one local RTP stream beyond [`SendStats`](crate::rtp::session::send::SendStats)
/// (`RTCOutboundRtpStreamStats`, webrtc-stats §7.8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundCounters {
    /// `headerBytesSent`: RTP header (and extension) bytes of the packets sent.
    pub header_bytes: u64,
    /// `retransmittedPacketsSent`: packets resent for NACKs (RFC 4588).
    pub retransmitted_packets: u64,
    /// `retransmittedBytesSent`: the payload bytes of those.
    pub retransmitted_bytes: u64,
    /// `nackCount`: NACK packets received about this stream (RFC 4585 §6.2.1).
    pub nack_count: u64,
    /// `pliCount`: PLIs received about it (RFC 4585 §6.3.1).
    pub pli_count: u64,
    /// `firCount`: FIR entries received about it (RFC 5104 §4.3.1).
    pub fir_count: u64,
    /// `framesSent`: frames the application sent through `send_frame`.
    pub frames_sent: u64,
    /// The payload type of the last packet sent (the codec in use).
    pub payload_type: Option<u8>,
}

/// What the last RTCP sender report of a remote source said (RFC 3550 §6.4.1), for
/// `RTCRemoteOutboundRtpStreamStats` (webrtc-stats §7.10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteSenderReport {
    /// The sender's packet count (32 bits, as sent).
    pub packets: u32,
    /// The sender's payload octet count (32 bits, as sent).
    pub octets: u32,
    /// Its NTP timestamp.
    pub ntp: u64,
    /// Sender reports received from the source.
    pub reports: u64,
}

/// Counters of one remote RTP stream beyond
/// [`ReceiveStats`](crate::rtp::session::receive::ReceiveStats)
/// (`RTCInboundRtpStreamStats`, webrtc-stats §7.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboundCounters {
    /// `headerBytesReceived`.
    pub header_bytes: u64,
    /// `lastPacketReceivedTimestamp`.
    pub last_packet: Option<Instant>,
    /// `nackCount`: NACK packets we sent about the stream.
    pub nack_count: u64,
    /// `pliCount`: PLIs we sent about it.
    pub pli_count: u64,
    /// `fecPacketsReceived` (and `fecPacketsDiscarded`: rtcpeer repairs with NACK/RTX and
    /// drops every FEC packet, RFC 5109).
    pub fec_packets: u64,
    /// `framesReceived`: whole frames handed out (frames mode).
    pub frames_received: u64,
    /// `retransmittedPacketsReceived`: RTX packets that repaired it (RFC 4588).
    pub retransmitted_packets: u64,
    /// `retransmittedBytesReceived`: their payload bytes.
    pub retransmitted_bytes: u64,
    /// The payload type of the last media packet (the codec in use).
    pub payload_type: Option<u8>,
    /// The source's last sender report, if any.
    pub remote_sr: Option<RemoteSenderReport>,
}

/// Round-trip times measured from RTCP report blocks about one of our streams
/// (RFC 3550 §6.4.1), for `RTCRemoteInboundRtpStreamStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RttTotals {
    /// `totalRoundTripTime`.
    pub total: Duration,
    /// `roundTripTimeMeasurements`.
    pub measurements: u64,
    /// Report blocks received about the stream.
    pub reports: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_capped_and_the_recent_one_comes_first() {
        let t0 = Instant::now();
        let mut t = TransportTraffic::default();
        let addr = |p: u16| -> SocketAddr { ([127, 0, 0, 1], p).into() };
        for p in 0..(MAX_COUNTED_PATHS as u16 + 3) {
            t.on_sent(t0, (addr(1), addr(1000 + p)), 10);
        }
        assert_eq!(t.paths.len(), MAX_COUNTED_PATHS);
        // The three oldest are gone; the total keeps counting them.
        assert!(t.path((addr(1), addr(1000))).is_none());
        assert_eq!(t.total.sent.packets, MAX_COUNTED_PATHS as u64 + 3);
        let last = (addr(1), addr(1000 + MAX_COUNTED_PATHS as u16 + 2));
        t.on_received(t0, last, 7);
        let p = t.path(last).unwrap();
        assert_eq!(
            (p.sent.bytes, p.received.bytes, p.received.packets),
            (10, 7, 1)
        );
        // A path used again moves to the front, keeping its counts.
        let older = (addr(1), addr(1005));
        t.on_sent(t0, older, 5);
        assert_eq!(t.paths[0].0, older);
        assert_eq!(t.path(older).unwrap().sent.bytes, 15);
    }
}
