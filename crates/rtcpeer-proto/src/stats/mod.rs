//! The W3C statistics model (webrtc-stats, W3C Candidate Recommendation; webrtc-pc §8):
//! typed `RTCStats` dictionaries, the [`StatsReport`] that holds them by id, and (in
//! `collect.rs`) the function that fills a report from the engines' counters.
//!
//! Every entry serialises to JSON in the shape of the browser's `RTCStatsReport` entries:
//! `id`, `timestamp` (ms since the Unix epoch), `type` ("candidate-pair", ...) and camelCase
//! members; a member rtcpeer cannot know is absent, never zero-filled.

pub(crate) mod collect;
pub(crate) mod counters;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

pub use collect::{AudioPlayout, StatsSelector, StatsTime};

/// Declares one stats dictionary: `id` and `timestamp` (webrtc-stats §5.1 `RTCStats`), then
/// members that are all optional and omitted from the JSON when absent.
macro_rules! stats_dictionary {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The object's id: unique in the report, the same in every report of the
            /// connection (webrtc-stats §5.1).
            pub id: String,
            /// When the values were read, in milliseconds since the Unix epoch
            /// (`DOMHighResTimeStamp`, webrtc-stats §5.1).
            pub timestamp: f64,
            $(
                $(#[$fm])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

stats_dictionary! {
    /// `RTCPeerConnectionStats` (webrtc-stats §7.11).
    PeerConnectionStats {
        /// Channels that were open at some point.
        data_channels_opened: u64,
        /// Channels that left the open state.
        data_channels_closed: u64,
    }
}

stats_dictionary! {
    /// `RTCTransportStats` (webrtc-stats §7.15): one ICE + DTLS transport.
    TransportStats {
        /// Packets sent on the transport, connectivity checks not counted.
        packets_sent: u64,
        /// Packets received on it, connectivity checks not counted.
        packets_received: u64,
        /// Bytes sent (UDP payloads), checks not counted.
        bytes_sent: u64,
        /// Bytes received, checks not counted.
        bytes_received: u64,
        /// "controlling" or "controlled" (RFC 8445 §6.1.1).
        ice_role: String,
        /// The local username fragment of the current ICE generation.
        ice_local_username_fragment: String,
        /// `RTCDtlsTransportState`.
        dtls_state: String,
        /// `RTCIceTransportState`.
        ice_state: String,
        /// The selected candidate pair's stats id.
        selected_candidate_pair_id: String,
        /// Our certificate's stats id.
        local_certificate_id: String,
        /// The peer's certificate's stats id.
        remote_certificate_id: String,
        /// The DTLS version as the hex of its wire value ("FEFD" for DTLS 1.2).
        tls_version: String,
        /// The DTLS cipher suite, IANA name (RFC 5246 §7.4.1.3), once connected.
        dtls_cipher: String,
        /// "client" or "server" (RFC 5763 §5), "unknown" until a description fixed it.
        dtls_role: String,
        /// The DTLS-SRTP protection profile (RFC 5764 §4.1.2), IANA name.
        srtp_cipher: String,
        /// How many times the selected pair changed.
        selected_candidate_pair_changes: u64,
    }
}

stats_dictionary! {
    /// `RTCIceCandidateStats` (webrtc-stats §7.14), local or remote.
    IceCandidateStats {
        /// The transport's stats id.
        transport_id: String,
        /// The candidate's IP address.
        address: String,
        /// Its port.
        port: u16,
        /// "udp" or "tcp".
        protocol: String,
        /// "host", "srflx", "prflx" or "relay".
        candidate_type: String,
        /// The candidate priority (RFC 8445 §5.1.2).
        priority: u32,
        /// Its foundation (RFC 8445 §5.1.1.3).
        foundation: String,
        /// The related address (`raddr`, RFC 8839 §5.1).
        related_address: String,
        /// The related port (`rport`).
        related_port: u16,
        /// The ICE username fragment the candidate belongs to.
        username_fragment: String,
    }
}

stats_dictionary! {
    /// `RTCIceCandidatePairStats` (webrtc-stats §7.13).
    IceCandidatePairStats {
        /// The transport's stats id.
        transport_id: String,
        /// The local candidate's stats id.
        local_candidate_id: String,
        /// The remote candidate's stats id.
        remote_candidate_id: String,
        /// `RTCStatsIceCandidatePairState` (RFC 8445 §6.1.2.6).
        state: String,
        /// Whether the pair is nominated (RFC 8445 §8.1.1).
        nominated: bool,
        /// Packets sent on the pair, checks not counted.
        packets_sent: u64,
        /// Packets received on the pair, checks not counted.
        packets_received: u64,
        /// Bytes sent on the pair, checks not counted.
        bytes_sent: u64,
        /// Bytes received on the pair, checks not counted.
        bytes_received: u64,
        /// When the last packet left on the pair (ms since the epoch).
        last_packet_sent_timestamp: f64,
        /// When the last packet arrived on it.
        last_packet_received_timestamp: f64,
        /// Sum of the round-trip times measured with STUN (seconds).
        total_round_trip_time: f64,
        /// The latest STUN round-trip time (seconds).
        current_round_trip_time: f64,
        /// The send-side bandwidth estimate of the selected pair (bit/s,
        /// draft-ietf-rmcat-gcc-02); absent on other pairs and before feedback gave one.
        available_outgoing_bitrate: f64,
        /// Connectivity checks received.
        requests_received: u64,
        /// Connectivity checks and consent requests sent.
        requests_sent: u64,
        /// Success responses received.
        responses_received: u64,
        /// Success responses sent.
        responses_sent: u64,
        /// Consent freshness requests sent (RFC 7675).
        consent_requests_sent: u64,
    }
}

stats_dictionary! {
    /// `RTCCertificateStats` (webrtc-stats §7.16).
    CertificateStats {
        /// The fingerprint, lowercase hex pairs joined by ':' as in SDP (RFC 8122 §5).
        fingerprint: String,
        /// The hash function of the fingerprint ("sha-256").
        fingerprint_algorithm: String,
        /// The DER certificate, base64 (RFC 4648 §4).
        base64_certificate: String,
    }
}

stats_dictionary! {
    /// `RTCDataChannelStats` (webrtc-stats §7.12).
    DataChannelStats {
        /// The channel's label.
        label: String,
        /// Its subprotocol.
        protocol: String,
        /// Its SCTP stream id, once it has one.
        data_channel_identifier: u16,
        /// `RTCDataChannelState`.
        state: String,
        /// User messages sent.
        messages_sent: u64,
        /// Their bytes.
        bytes_sent: u64,
        /// User messages received.
        messages_received: u64,
        /// Their bytes.
        bytes_received: u64,
    }
}

stats_dictionary! {
    /// `RTCCodecStats` (webrtc-stats §7.2): a codec some RTP stream of the report uses.
    CodecStats {
        /// The RTP payload type.
        payload_type: u8,
        /// The transport's stats id.
        transport_id: String,
        /// "type/subtype", e.g. "video/VP8".
        mime_type: String,
        /// The RTP clock rate.
        clock_rate: u32,
        /// Audio channels.
        channels: u16,
        /// The `a=fmtp` parameters.
        sdp_fmtp_line: String,
    }
}

stats_dictionary! {
    /// `RTCInboundRtpStreamStats` (webrtc-stats §7.5): one remote source we receive.
    InboundRtpStreamStats {
        /// The SSRC.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// The transport's stats id.
        transport_id: String,
        /// The codec's stats id.
        codec_id: String,
        /// Packets received (RFC 3550 A.3), retransmissions included.
        packets_received: u64,
        /// Packets lost: expected minus received (RFC 3550 §6.4.1; may be negative).
        packets_lost: i64,
        /// Interarrival jitter in seconds (RFC 3550 A.8).
        jitter: f64,
        /// The receiver track's id.
        track_identifier: String,
        /// The m-section's mid.
        mid: String,
        /// The matching remote-outbound-rtp's id.
        remote_id: String,
        /// When the last packet arrived (ms since the epoch).
        last_packet_received_timestamp: f64,
        /// RTP header bytes received.
        header_bytes_received: u64,
        /// Payload bytes received.
        bytes_received: u64,
        /// NACK packets sent (RFC 4585 §6.2.1).
        nack_count: u64,
        /// PLI packets sent (RFC 4585 §6.3.1).
        pli_count: u64,
        /// FIR requests sent (RFC 5104 §4.3.1): rtcpeer asks with PLI, so 0 (video).
        fir_count: u64,
        /// FEC packets received (RFC 5109), alone or inside RED (RFC 2198).
        fec_packets_received: u64,
        /// FEC packets not used: all of them (losses are repaired by NACK and RTX).
        fec_packets_discarded: u64,
        /// Whole frames handed to the application (video, frames mode).
        frames_received: u64,
        /// RTX packets received (RFC 4588).
        retransmitted_packets_received: u64,
        /// Their payload bytes.
        retransmitted_bytes_received: u64,
        /// The media-playout entry of the audio device the track plays on, once the
        /// application reported playout.
        playout_id: String,
    }
}

stats_dictionary! {
    /// `RTCOutboundRtpStreamStats` (webrtc-stats §7.8): one of our RTP sources.
    OutboundRtpStreamStats {
        /// The SSRC.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// The transport's stats id.
        transport_id: String,
        /// The codec's stats id.
        codec_id: String,
        /// Packets sent, retransmissions included.
        packets_sent: u64,
        /// Payload bytes sent, retransmissions included.
        bytes_sent: u64,
        /// The m-section's mid.
        mid: String,
        /// The media-source's stats id.
        media_source_id: String,
        /// The index of the encoding in the sender's encodings (one encoding: 0).
        encoding_index: u32,
        /// The matching remote-inbound-rtp's id.
        remote_id: String,
        /// RTP header bytes sent.
        header_bytes_sent: u64,
        /// Packets retransmitted for NACKs (RFC 4588).
        retransmitted_packets_sent: u64,
        /// Their payload bytes.
        retransmitted_bytes_sent: u64,
        /// The RTX SSRC, when RTX is negotiated.
        rtx_ssrc: u32,
        /// NACK packets received about the stream.
        nack_count: u64,
        /// PLI packets received about it.
        pli_count: u64,
        /// FIR requests received about it (RFC 5104).
        fir_count: u64,
        /// Frames the application sent as frames (video).
        frames_sent: u64,
        /// Whether the sender sends (its transceiver's direction).
        active: bool,
    }
}

stats_dictionary! {
    /// `RTCRemoteInboundRtpStreamStats` (webrtc-stats §7.9): what the peer's RTCP receiver
    /// reports say about one of our sources.
    RemoteInboundRtpStreamStats {
        /// The SSRC (ours).
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// The transport's stats id.
        transport_id: String,
        /// The codec's stats id.
        codec_id: String,
        /// Cumulative lost reported (RFC 3550 §6.4.1).
        packets_lost: i64,
        /// The reported interarrival jitter, in seconds.
        jitter: f64,
        /// The outbound-rtp's stats id.
        local_id: String,
        /// The latest round-trip time from LSR/DLSR (seconds).
        round_trip_time: f64,
        /// Sum of the measured round-trip times (seconds).
        total_round_trip_time: f64,
        /// The last reported fraction lost (0..1).
        fraction_lost: f64,
        /// How many round-trip times were measured.
        round_trip_time_measurements: u64,
    }
}

stats_dictionary! {
    /// `RTCRemoteOutboundRtpStreamStats` (webrtc-stats §7.10): the peer's RTCP sender
    /// reports about a source we receive.
    RemoteOutboundRtpStreamStats {
        /// The SSRC (the peer's).
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// The transport's stats id.
        transport_id: String,
        /// The codec's stats id.
        codec_id: String,
        /// The sender's packet count (RFC 3550 §6.4.1).
        packets_sent: u64,
        /// The sender's payload octet count.
        bytes_sent: u64,
        /// The inbound-rtp's stats id.
        local_id: String,
        /// The report's NTP time, in ms since the Unix epoch.
        remote_timestamp: f64,
        /// Sender reports received.
        reports_sent: u64,
    }
}

stats_dictionary! {
    /// `RTCMediaSourceStats` (webrtc-stats §7.6): the track a sender sends.
    MediaSourceStats {
        /// The track's id.
        track_identifier: String,
        /// "audio" or "video".
        kind: String,
    }
}

stats_dictionary! {
    /// `RTCAudioPlayoutStats` (webrtc-stats §7.7, type "media-playout"): the audio device a
    /// receiver's track plays on, from what the application reports
    /// ([`AudioPlayout`]); rtcpeer decodes and plays nothing itself.
    AudioPlayoutStats {
        /// "audio".
        kind: String,
        /// Seconds of samples the device played that were synthesized (concealment).
        synthesized_samples_duration: f64,
        /// Times the device went from real to synthesized samples.
        synthesized_samples_events: u64,
        /// Seconds of samples played.
        total_samples_duration: f64,
        /// The sum over played samples of each one's playout delay, in seconds (the mean
        /// delay is this over `totalSamplesCount`).
        total_playout_delay: f64,
        /// Samples played.
        total_samples_count: u64,
    }
}

/// One entry of a [`StatsReport`]: the dictionary of its `type` (webrtc-stats §6.1
/// `RTCStatsType`); serialises as that dictionary with `"type"` added.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Stats {
    /// "peer-connection".
    PeerConnection(PeerConnectionStats),
    /// "transport".
    Transport(TransportStats),
    /// "candidate-pair".
    CandidatePair(IceCandidatePairStats),
    /// "local-candidate".
    LocalCandidate(IceCandidateStats),
    /// "remote-candidate".
    RemoteCandidate(IceCandidateStats),
    /// "certificate".
    Certificate(CertificateStats),
    /// "data-channel".
    DataChannel(DataChannelStats),
    /// "codec".
    Codec(CodecStats),
    /// "inbound-rtp".
    InboundRtp(InboundRtpStreamStats),
    /// "outbound-rtp".
    OutboundRtp(OutboundRtpStreamStats),
    /// "remote-inbound-rtp".
    RemoteInboundRtp(RemoteInboundRtpStreamStats),
    /// "remote-outbound-rtp".
    RemoteOutboundRtp(RemoteOutboundRtpStreamStats),
    /// "media-source".
    MediaSource(MediaSourceStats),
    /// "media-playout".
    MediaPlayout(AudioPlayoutStats),
}

impl Stats {
    /// The entry's `id`.
    pub fn id(&self) -> &str {
        self.header().0
    }

    /// The entry's `timestamp` (ms since the Unix epoch).
    pub fn timestamp(&self) -> f64 {
        self.header().1
    }

    fn header(&self) -> (&str, f64) {
        match self {
            Stats::PeerConnection(s) => (&s.id, s.timestamp),
            Stats::Transport(s) => (&s.id, s.timestamp),
            Stats::CandidatePair(s) => (&s.id, s.timestamp),
            Stats::LocalCandidate(s) | Stats::RemoteCandidate(s) => (&s.id, s.timestamp),
            Stats::Certificate(s) => (&s.id, s.timestamp),
            Stats::DataChannel(s) => (&s.id, s.timestamp),
            Stats::Codec(s) => (&s.id, s.timestamp),
            Stats::InboundRtp(s) => (&s.id, s.timestamp),
            Stats::OutboundRtp(s) => (&s.id, s.timestamp),
            Stats::RemoteInboundRtp(s) => (&s.id, s.timestamp),
            Stats::RemoteOutboundRtp(s) => (&s.id, s.timestamp),
            Stats::MediaSource(s) => (&s.id, s.timestamp),
            Stats::MediaPlayout(s) => (&s.id, s.timestamp),
        }
    }

    /// The `type` string (webrtc-stats §6.1), e.g. "candidate-pair".
    pub fn type_name(&self) -> &'static str {
        match self {
            Stats::PeerConnection(_) => "peer-connection",
            Stats::Transport(_) => "transport",
            Stats::CandidatePair(_) => "candidate-pair",
            Stats::LocalCandidate(_) => "local-candidate",
            Stats::RemoteCandidate(_) => "remote-candidate",
            Stats::Certificate(_) => "certificate",
            Stats::DataChannel(_) => "data-channel",
            Stats::Codec(_) => "codec",
            Stats::InboundRtp(_) => "inbound-rtp",
            Stats::OutboundRtp(_) => "outbound-rtp",
            Stats::RemoteInboundRtp(_) => "remote-inbound-rtp",
            Stats::RemoteOutboundRtp(_) => "remote-outbound-rtp",
            Stats::MediaSource(_) => "media-source",
            Stats::MediaPlayout(_) => "media-playout",
        }
    }

    /// The entry as the browser's JSON object (`JSON.stringify` of a report value).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The ids this entry refers to (`transportId`, `codecId`, `localCandidateId`,
    /// `remoteId`, ...): each must resolve in the same report (webrtc-stats §5.1).
    pub fn references(&self) -> Vec<&str> {
        let mut v: Vec<&Option<String>> = Vec::new();
        match self {
            Stats::PeerConnection(_) | Stats::Certificate(_) | Stats::DataChannel(_) => {}
            Stats::MediaSource(_) | Stats::MediaPlayout(_) => {}
            Stats::Transport(s) => v.extend([
                &s.selected_candidate_pair_id,
                &s.local_certificate_id,
                &s.remote_certificate_id,
            ]),
            Stats::CandidatePair(s) => v.extend([
                &s.transport_id,
                &s.local_candidate_id,
                &s.remote_candidate_id,
            ]),
            Stats::LocalCandidate(s) | Stats::RemoteCandidate(s) => v.push(&s.transport_id),
            Stats::Codec(s) => v.push(&s.transport_id),
            Stats::InboundRtp(s) => {
                v.extend([&s.transport_id, &s.codec_id, &s.remote_id, &s.playout_id])
            }
            Stats::OutboundRtp(s) => v.extend([
                &s.transport_id,
                &s.codec_id,
                &s.remote_id,
                &s.media_source_id,
            ]),
            Stats::RemoteInboundRtp(s) => v.extend([&s.transport_id, &s.codec_id, &s.local_id]),
            Stats::RemoteOutboundRtp(s) => v.extend([&s.transport_id, &s.codec_id, &s.local_id]),
        }
        v.into_iter().filter_map(|s| s.as_deref()).collect()
    }
}

/// `RTCStatsReport` (webrtc-pc §8.3): the stats objects of one `getStats()` call by id,
/// iterated in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsReport {
    entries: BTreeMap<String, Stats>,
}

impl StatsReport {
    /// An empty report.
    pub fn new() -> Self {
        StatsReport::default()
    }

    /// Adds (or replaces) an entry under its id.
    pub fn insert(&mut self, stats: Stats) {
        self.entries.insert(stats.id().to_string(), stats);
    }

    /// The entry with this id (`report.get(id)`).
    pub fn get(&self, id: &str) -> Option<&Stats> {
        self.entries.get(id)
    }

    /// Whether an entry has this id (`report.has(id)`).
    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// How many entries (`report.size`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the report has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in id order (`report.values()`).
    pub fn iter(&self) -> impl Iterator<Item = &Stats> {
        self.entries.values()
    }

    /// The ids in order (`report.keys()`).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entries of one `type` ("outbound-rtp", ...).
    pub fn of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Stats> + 'a {
        self.iter().filter(move |s| s.type_name() == type_name)
    }

    /// The entries, to change in place.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stats> {
        self.entries.values_mut()
    }

    /// Keeps the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Stats) -> bool) {
        self.entries.retain(|_, v| keep(v));
    }

    /// The report as a JSON array of its entries, in id order (what
    /// `JSON.stringify([...report.values()])` gives in a browser).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.iter().map(Stats::to_json).collect())
    }
}

impl<'a> IntoIterator for &'a StatsReport {
    type Item = &'a Stats;
    type IntoIter = std::collections::btree_map::Values<'a, String, Stats>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.values()
    }
}

/// Serialises as a JSON object from id to entry.
impl Serialize for StatsReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(serializer)
    }
}
