//! Filling a [`StatsReport`] from the engines' counters (webrtc-pc §8.2 "getStats", §8.5
//! "stats selection algorithm"): the ICE agent's pairs and candidates, DTLS, the data
//! channels and the RTP session's streams. Ids are derived from what names the object (the
//! transport's number, a candidate's address, an SSRC, a channel key), so they are the same
//! in every report of the connection.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::counters::TransportTraffic;
use super::{
    AudioPlayoutStats, CertificateStats, CodecStats, DataChannelStats, IceCandidatePairStats,
    IceCandidateStats, InboundRtpStreamStats, MediaSourceStats, OutboundRtpStreamStats,
    PeerConnectionStats, RemoteInboundRtpStreamStats, RemoteOutboundRtpStreamStats, Stats,
    StatsReport, TransportStats,
};
use crate::codecs::RtpCodecParameters;
use crate::connection::{Connection, DtlsRole, TransceiverId};
use crate::dtls::DtlsTransportState;
use crate::ice::candidate::IceCandidate;
use crate::ice::{IceAgent, IceConnectionState};
use crate::session::Session;
use crate::session::media::MediaSection;

/// When a report is read: `now` on the caller's monotonic clock and the same instant as
/// milliseconds since the Unix epoch (the stats' `timestamp`, webrtc-stats §5.1). The core
/// reads no clock; the driver gives both.
#[derive(Debug, Clone, Copy)]
pub struct StatsTime {
    /// The monotonic instant of the call (the engines' times are converted from it).
    pub now: Instant,
    /// The same instant in ms since the Unix epoch.
    pub unix_ms: f64,
}

impl StatsTime {
    /// The wall-clock time (ms since the epoch) of an engine instant `at`.
    fn ms(&self, at: Instant) -> f64 {
        match self.now.checked_duration_since(at) {
            Some(d) => self.unix_ms - d.as_secs_f64() * 1000.0,
            None => self.unix_ms + at.duration_since(self.now).as_secs_f64() * 1000.0,
        }
    }
}

/// Audio the application's output device played from one receiver's track: reported with
/// [`Connection::report_audio_playout`] each time the device pulls samples, it fills the
/// receiver's "media-playout" stats (webrtc-stats §7.7).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioPlayout {
    /// Samples played (per channel).
    pub samples: u32,
    /// Their sample rate in Hz (> 0).
    pub sample_rate: u32,
    /// Whether they were synthesized (concealment for missing audio) rather than decoded.
    pub synthesized: bool,
    /// The playout path's delay for these samples: from the receiver handing the audio out
    /// to the device playing it.
    pub delay: Duration,
}

/// The running totals of one receiver's [`AudioPlayout`] reports.
#[derive(Debug, Clone, Copy, Default)]
struct PlayoutTotals {
    samples: u64,
    seconds: f64,
    synthesized_seconds: f64,
    synthesized_events: u64,
    delay: f64,
    last_synthesized: bool,
}

/// What the statistics keep between reports of a connection.
#[derive(Debug, Default)]
pub(crate) struct StatsCache {
    /// Playout totals by audio receiver (at most one per transceiver).
    playout: Vec<(TransceiverId, PlayoutTotals)>,
    /// The last report's timestamp: timestamps never go back.
    last_ms: f64,
    /// Our certificate's entry (its SHA-256 and base64 are computed once).
    local_cert: Option<CertificateStats>,
    /// The peer's certificate and its entry.
    remote_cert: Option<(Vec<u8>, CertificateStats)>,
}

impl StatsCache {
    /// The entry of our certificate `der`, computed on first use.
    fn local(&mut self, der: &[u8], ts: f64) -> CertificateStats {
        let c = self.local_cert.get_or_insert_with(|| certificate(der, ts));
        CertificateStats {
            timestamp: ts,
            ..c.clone()
        }
    }

    /// The entry of the peer's certificate `der`, computed when it changes.
    fn remote(&mut self, der: &[u8], ts: f64) -> CertificateStats {
        match &self.remote_cert {
            Some((kept, _)) if kept.as_slice() == der => {}
            _ => self.remote_cert = Some((der.to_vec(), certificate(der, ts))),
        }
        let c = self
            .remote_cert
            .as_ref()
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        CertificateStats { timestamp: ts, ..c }
    }
}

/// What `getStats` reports on (webrtc-pc §8.5 "stats selection algorithm").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsSelector {
    /// Everything the connection has.
    All,
    /// A sender: its outbound-rtp streams and every object they reference.
    Sender(TransceiverId),
    /// A receiver: its inbound-rtp streams and every object they reference.
    Receiver(TransceiverId),
}

/// One ICE + DTLS transport as the statistics read it: the primary one, then one per
/// transport beyond it (unbundled m-sections, RFC 8843 §7); [`Session::stats_transports`]
/// is the one place that lists them.
pub(crate) struct TransportRef<'a> {
    /// 1-based number: the stats id is "T01", "T02", ...
    pub(crate) number: usize,
    pub(crate) agent: Option<&'a IceAgent>,
    pub(crate) ice_state: IceConnectionState,
    pub(crate) local_ufrag: Option<&'a str>,
    pub(crate) remote_ufrag: Option<&'a str>,
    pub(crate) traffic: &'a TransportTraffic,
    pub(crate) dtls_state: DtlsTransportState,
    pub(crate) dtls_role: Option<DtlsRole>,
    pub(crate) srtp_profile: Option<crate::dtls::SrtpProfile>,
    /// The DTLS cipher suite's IANA name, once connected.
    pub(crate) dtls_cipher: Option<&'static str>,
    pub(crate) remote_certificate: Option<&'a [u8]>,
    /// The RTP session's send-side bandwidth estimate, bit/s, once it has one.
    pub(crate) available_outgoing_bitrate: Option<u64>,
}

impl Session {
    /// The session's ICE + DTLS transports, for the statistics.
    pub(crate) fn stats_transports(&self) -> Vec<TransportRef<'_>> {
        if self.ice_transport().is_none() && self.ice_agent().is_none() {
            return Vec::new();
        }
        let mut out = vec![TransportRef {
            number: 1,
            agent: self.ice_agent(),
            // This transport's own state, not the connection's aggregate (webrtc-stats
            // §7.15 `iceState` is the RTCIceTransport's).
            ice_state: self.ice.primary_connection(),
            local_ufrag: self.ice.local_creds.as_ref().map(|c| c.ufrag.as_str()),
            remote_ufrag: self.ice.remote_creds.as_ref().map(|c| c.ufrag.as_str()),
            traffic: &self.ice.traffic,
            dtls_state: self.dtls_state(),
            dtls_role: self.dtls_role,
            srtp_profile: self.srtp_keying_material().map(|k| k.profile),
            dtls_cipher: self.data.dtls_cipher(),
            remote_certificate: self.data.remote_certificate(),
            available_outgoing_bitrate: self.media.bwe.estimate(),
        }];
        out.extend(self.extra_stats_transports(2));
        out
    }

    /// The RTP session of every transport, numbered as in [`Session::stats_transports`].
    pub(crate) fn stats_media(&self) -> impl Iterator<Item = (usize, &MediaSection)> {
        let primary = self.media.sections.iter().map(|s| (1, s));
        let extra = self
            .extra
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.media.sections.iter().map(move |s| (i + 2, s)));
        primary.chain(extra)
    }
}

/// The transport id of transport `number`.
fn transport_id(number: usize) -> String {
    format!("T{number:02}")
}

/// FNV-1a over a candidate's identity (kind, address, base): a short stable id suffix.
fn candidate_hash(c: &IceCandidate) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    for addr in [c.addr, c.base] {
        match addr.ip() {
            IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
            IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
        }
        addr.port().to_be_bytes().into_iter().for_each(&mut eat);
    }
    c.kind.as_str().bytes().for_each(&mut eat);
    h
}

fn candidate_id(local: bool, transport: usize, c: &IceCandidate) -> String {
    let side = if local { 'L' } else { 'R' };
    format!("I{side}{transport:02}{:08x}", candidate_hash(c))
}

fn pair_id(transport: usize, local: &IceCandidate, remote: &IceCandidate) -> String {
    format!(
        "CP{transport:02}{:08x}_{:08x}",
        candidate_hash(local),
        candidate_hash(remote)
    )
}

/// Base64 (RFC 4648 §4, with padding).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Uppercase hex pairs joined by ':' (RFC 4572 §5 `fingerprint`, as browsers show it).
fn hex_fingerprint(digest: &[u8]) -> String {
    let mut s = String::with_capacity(digest.len() * 3);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// The certificate entry of a DER certificate (SHA-256 fingerprint, RFC 8122 §5).
fn certificate(der: &[u8], timestamp: f64) -> CertificateStats {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let fingerprint = hex_fingerprint(digest.as_ref());
    CertificateStats {
        id: format!("CF{fingerprint}"),
        timestamp,
        fingerprint: Some(fingerprint),
        fingerprint_algorithm: Some("sha-256".into()),
        base64_certificate: Some(base64(der)),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn kind_letter(s: &MediaSection) -> char {
    match s.kind {
        crate::codecs::MediaKind::Audio => 'A',
        crate::codecs::MediaKind::Video => 'V',
    }
}

fn codec_id(transport: usize, pt: u8) -> String {
    format!("CT{transport:02}_{pt}")
}

fn codec_stats(transport: usize, c: &RtpCodecParameters, timestamp: f64) -> CodecStats {
    CodecStats {
        id: codec_id(transport, c.payload_type),
        timestamp,
        payload_type: Some(c.payload_type),
        transport_id: Some(transport_id(transport)),
        mime_type: Some(c.mime_type.clone()),
        clock_rate: Some(c.clock_rate),
        channels: c.channels,
        sdp_fmtp_line: c.sdp_fmtp_line.clone().filter(|f| !f.is_empty()),
    }
}

/// Milliseconds since the Unix epoch of a 64-bit NTP timestamp (RFC 3550 §4).
fn ntp_to_unix_ms(ntp: u64) -> f64 {
    let secs = (ntp >> 32) as f64 - crate::rtcp::NTP_UNIX_OFFSET_SECS as f64;
    let frac = (ntp & 0xffff_ffff) as f64 / 4_294_967_296.0;
    (secs + frac) * 1000.0
}

impl Connection {
    /// `getStats()` (webrtc-pc §8.2): the W3C statistics (webrtc-stats) of the connection,
    /// or of one sender's or receiver's streams and what they reference (§8.5), read from
    /// the engines' counters at `time`. Timestamps never go back between calls.
    pub fn stats(&mut self, time: StatsTime, selector: StatsSelector) -> StatsReport {
        let ts = time.unix_ms.max(self.session.stats_cache.last_ms);
        self.session.stats_cache.last_ms = ts;
        let mut cache = std::mem::take(&mut self.session.stats_cache);
        let time = StatsTime {
            now: time.now,
            unix_ms: ts,
        };
        let mut report = StatsReport::new();
        self.collect(&time, &mut cache, &mut report);
        self.session.stats_cache = cache;
        let roots: Vec<String> = match selector {
            StatsSelector::All => return report,
            StatsSelector::Sender(id) => self.stream_ids(id, true),
            StatsSelector::Receiver(id) => self.stream_ids(id, false),
        };
        select(&mut report, roots);
        report
    }

    /// Adds what the application's audio device played from receiver `id`'s track to its
    /// "media-playout" stats (webrtc-stats §7.7). `InvalidAccessError` for a transceiver
    /// that is not an audio one of this connection, `RangeError` for a zero sample rate.
    pub fn report_audio_playout(
        &mut self,
        id: TransceiverId,
        p: &AudioPlayout,
    ) -> crate::Result<()> {
        let audio = self
            .negotiator
            .transceiver(id)
            .is_some_and(|t| t.kind == crate::codecs::MediaKind::Audio);
        if !audio {
            return Err(crate::Error::invalid_access(
                "audio playout is reported for an audio receiver of this connection",
            ));
        }
        if p.sample_rate == 0 {
            return Err(crate::Error::range("the sample rate must be above 0"));
        }
        let cache = &mut self.session.stats_cache;
        let i = match cache.playout.iter().position(|(t, _)| *t == id) {
            Some(i) => i,
            None => {
                cache.playout.push((id, PlayoutTotals::default()));
                cache.playout.len() - 1
            }
        };
        let t = &mut cache.playout[i].1;
        let seconds = f64::from(p.samples) / f64::from(p.sample_rate);
        t.samples += u64::from(p.samples);
        t.seconds += seconds;
        t.delay += p.delay.as_secs_f64() * f64::from(p.samples);
        if p.synthesized {
            t.synthesized_seconds += seconds;
            t.synthesized_events += u64::from(!t.last_synthesized);
        }
        t.last_synthesized = p.synthesized;
        Ok(())
    }

    /// The outbound-rtp (`send`) or inbound-rtp ids of transceiver `id`.
    fn stream_ids(&self, id: TransceiverId, send: bool) -> Vec<String> {
        let Some((transport, s)) = self
            .session
            .stats_media()
            .find(|(_, s)| s.transceiver == id)
        else {
            return Vec::new();
        };
        let k = kind_letter(s);
        match send {
            true => s
                .send
                .iter()
                .map(|t| format!("OT{transport:02}{k}{}", t.ssrc))
                .collect(),
            false => s
                .receive
                .iter()
                .map(|r| format!("IT{transport:02}{k}{}", r.ssrc))
                .collect(),
        }
    }

    fn collect(&self, time: &StatsTime, cache: &mut StatsCache, report: &mut StatsReport) {
        let ts = time.unix_ms;
        let session = &self.session;
        let (opened, closed) = session.channels.open_close_counts();
        report.insert(Stats::PeerConnection(PeerConnectionStats {
            id: "P".into(),
            timestamp: ts,
            data_channels_opened: Some(opened),
            data_channels_closed: Some(closed),
        }));
        let local_cert = cache.local(session.certificate.der(), ts);
        let transports = session.stats_transports();
        for t in &transports {
            let remote_cert = t.remote_certificate.map(|der| cache.remote(der, ts));
            self.collect_transport(time, t, &local_cert.id, remote_cert, report);
        }
        if !transports.is_empty() {
            report.insert(Stats::Certificate(local_cert));
        }
        for i in 0..session.channels.positions() {
            let Some(rec) = session
                .channels
                .key_at(i)
                .and_then(|k| session.channels.get(k))
            else {
                continue;
            };
            let c = rec.counters;
            report.insert(Stats::DataChannel(DataChannelStats {
                id: format!("D{}", rec.key.0),
                timestamp: ts,
                label: Some(rec.names.label().to_string()),
                protocol: Some(rec.names.protocol().to_string()),
                data_channel_identifier: rec.id,
                state: Some(rec.state.to_string()),
                messages_sent: Some(c.messages_sent),
                bytes_sent: Some(c.bytes_sent),
                messages_received: Some(c.messages_received),
                bytes_received: Some(c.bytes_received),
            }));
        }
        if !transports.is_empty() {
            for (number, s) in session.stats_media() {
                self.collect_media(time, number, s, report);
            }
        }
        collect_playout(session, &cache.playout, ts, report);
    }

    fn collect_transport(
        &self,
        time: &StatsTime,
        t: &TransportRef<'_>,
        local_cert_id: &str,
        remote_cert: Option<CertificateStats>,
        report: &mut StatsReport,
    ) {
        let ts = time.unix_ms;
        let tid = transport_id(t.number);
        let mut transport = TransportStats {
            id: tid.clone(),
            timestamp: ts,
            packets_sent: Some(t.traffic.total.sent.packets),
            packets_received: Some(t.traffic.total.received.packets),
            bytes_sent: Some(t.traffic.total.sent.bytes),
            bytes_received: Some(t.traffic.total.received.bytes),
            ice_local_username_fragment: t.local_ufrag.map(str::to_string),
            dtls_state: Some(t.dtls_state.to_string()),
            ice_state: Some(t.ice_state.to_string()),
            local_certificate_id: Some(local_cert_id.to_string()),
            remote_certificate_id: remote_cert.as_ref().map(|c| c.id.clone()),
            // `RTCDtlsRole` (webrtc-stats §7.15): "unknown" until a description fixed it.
            dtls_role: Some(
                match t.dtls_role {
                    Some(DtlsRole::Client) => "client",
                    Some(DtlsRole::Server) => "server",
                    None => "unknown",
                }
                .to_string(),
            ),
            selected_candidate_pair_changes: Some(t.traffic.selected_pair_changes),
            ..TransportStats::default()
        };
        if t.dtls_state == DtlsTransportState::Connected {
            // dimpl runs DTLS 1.2 (RFC 6347): version 254.253 on the wire.
            transport.tls_version = Some("FEFD".into());
            transport.srtp_cipher = t.srtp_profile.map(|p| p.name().to_string());
            transport.dtls_cipher = t.dtls_cipher.map(str::to_string);
        }
        if let Some(c) = remote_cert {
            report.insert(Stats::Certificate(c));
        }
        if let Some(agent) = t.agent {
            transport.ice_role = Some(
                if agent.is_controlling() {
                    "controlling"
                } else {
                    "controlled"
                }
                .into(),
            );
            if let Some((l, r)) = agent.selected_candidates() {
                // The pair entry of the same path: the agent's copy of the selected remote
                // may still be the peer-reflexive candidate that a signalled one replaced in
                // the checklist, and the kind is part of the id.
                let (l, r) = agent
                    .pairs_for_stats()
                    .find(|(pl, pr, _)| pl.base == l.base && pr.addr == r.addr)
                    .map_or((l, r), |(pl, pr, _)| (pl, pr));
                transport.selected_candidate_pair_id = Some(pair_id(t.number, l, r));
            }
            self.collect_candidates(time, t, agent, report);
        }
        report.insert(Stats::Transport(transport));
    }

    fn collect_candidates(
        &self,
        time: &StatsTime,
        t: &TransportRef<'_>,
        agent: &IceAgent,
        report: &mut StatsReport,
    ) {
        let ts = time.unix_ms;
        let tid = transport_id(t.number);
        let candidate = |local: bool, c: &IceCandidate| IceCandidateStats {
            id: candidate_id(local, t.number, c),
            timestamp: ts,
            transport_id: Some(tid.clone()),
            address: Some(c.addr.ip().to_string()),
            port: Some(c.addr.port()),
            // ICE-TCP candidates (RFC 6544) say so, as Chromium's stats do.
            protocol: Some(if c.is_tcp() { "tcp" } else { "udp" }.into()),
            candidate_type: Some(c.kind.as_str().into()),
            priority: Some(c.priority),
            foundation: Some(c.foundation.clone()),
            related_address: c.related.map(|r: SocketAddr| r.ip().to_string()),
            related_port: c.related.map(|r| r.port()),
            username_fragment: if local { t.local_ufrag } else { t.remote_ufrag }
                .map(str::to_string),
        };
        for c in agent.local_candidates() {
            report.insert(Stats::LocalCandidate(candidate(true, &c)));
        }
        for c in agent.remote_candidates() {
            report.insert(Stats::RemoteCandidate(candidate(false, &c)));
        }
        let selected = agent
            .selected_candidates()
            .map(|(l, r)| pair_id(t.number, l, r));
        for (l, r, info) in agent.pairs_for_stats() {
            let id = pair_id(t.number, l, r);
            // webrtc-stats §7.13: the estimate belongs to the pair the transport sends on.
            let available_outgoing_bitrate = t
                .available_outgoing_bitrate
                .filter(|_| selected.as_ref() == Some(&id))
                .map(|b| b as f64);
            let path = t.traffic.path((l.base, r.addr)).unwrap_or_default();
            let c = info.counters;
            let responses = c.responses_received;
            report.insert(Stats::CandidatePair(IceCandidatePairStats {
                id,
                timestamp: ts,
                transport_id: Some(tid.clone()),
                local_candidate_id: Some(candidate_id(true, t.number, l)),
                remote_candidate_id: Some(candidate_id(false, t.number, r)),
                state: Some(info.state.to_string()),
                nominated: Some(info.nominated),
                packets_sent: Some(path.sent.packets),
                packets_received: Some(path.received.packets),
                bytes_sent: Some(path.sent.bytes),
                bytes_received: Some(path.received.bytes),
                last_packet_sent_timestamp: path.sent.last.map(|at| time.ms(at)),
                last_packet_received_timestamp: path.received.last.map(|at| time.ms(at)),
                total_round_trip_time: (responses > 0).then(|| secs(c.total_round_trip_time)),
                current_round_trip_time: info.rtt.map(secs),
                available_outgoing_bitrate,
                requests_received: Some(c.requests_received),
                requests_sent: Some(c.requests_sent),
                responses_received: Some(responses),
                responses_sent: Some(c.responses_sent),
                consent_requests_sent: Some(c.consent_requests_sent),
            }));
        }
    }

    fn collect_media(
        &self,
        time: &StatsTime,
        transport: usize,
        s: &MediaSection,
        report: &mut StatsReport,
    ) {
        let ts = time.unix_ms;
        let tid = transport_id(transport);
        let k = kind_letter(s);
        let kind = s.kind.to_string();
        let trx = self.negotiator.transceiver(s.transceiver);
        let codec = |pt: Option<u8>, report: &mut StatsReport| -> Option<String> {
            let c = s.codecs.iter().find(|c| Some(c.payload_type) == pt)?;
            let stats = codec_stats(transport, c, ts);
            let id = stats.id.clone();
            report.insert(Stats::Codec(stats));
            Some(id)
        };
        let clock = |pt: Option<u8>| {
            s.codecs
                .iter()
                .find(|c| Some(c.payload_type) == pt)
                .map(|c| c.clock_rate)
                .or_else(|| s.payload_types.media.first().map(|(_, c)| *c))
                .filter(|c| *c > 0)
                .unwrap_or(90_000)
        };
        if let Some(send) = &s.send {
            let c = send.counters;
            let id = format!("OT{transport:02}{k}{}", send.ssrc);
            let codec_id = codec(c.payload_type, report);
            let rtt = send.stats.rtt_totals();
            let remote_id = format!("RIT{transport:02}{k}{}", send.ssrc);
            let has_remote = rtt.reports > 0;
            if has_remote {
                let (fraction, lost) = send.stats.remote_loss().unwrap_or((0, 0));
                report.insert(Stats::RemoteInboundRtp(RemoteInboundRtpStreamStats {
                    id: remote_id.clone(),
                    timestamp: ts,
                    ssrc: Some(send.ssrc),
                    kind: Some(kind.clone()),
                    transport_id: Some(tid.clone()),
                    codec_id: codec_id.clone(),
                    packets_lost: Some(i64::from(lost)),
                    jitter: send
                        .stats
                        .remote_jitter()
                        .map(|j| f64::from(j) / f64::from(clock(c.payload_type))),
                    local_id: Some(id.clone()),
                    round_trip_time: send.stats.rtt().map(secs),
                    total_round_trip_time: (rtt.measurements > 0).then(|| secs(rtt.total)),
                    fraction_lost: Some(f64::from(fraction) / 256.0),
                    round_trip_time_measurements: Some(rtt.measurements),
                }));
            }
            let track = trx.and_then(|t| t.sender.as_ref());
            let media_source_id = track.map(|tr| {
                let id = format!("S{k}{}", s.transceiver.0);
                report.insert(Stats::MediaSource(MediaSourceStats {
                    id: id.clone(),
                    timestamp: ts,
                    track_identifier: Some(tr.id.clone()),
                    kind: Some(kind.clone()),
                }));
                id
            });
            let video = s.kind == crate::codecs::MediaKind::Video;
            report.insert(Stats::OutboundRtp(OutboundRtpStreamStats {
                id,
                timestamp: ts,
                ssrc: Some(send.ssrc),
                kind: Some(kind.clone()),
                transport_id: Some(tid.clone()),
                codec_id,
                packets_sent: Some(send.stats.packets() + c.retransmitted_packets),
                bytes_sent: Some(send.stats.payload_bytes() + c.retransmitted_bytes),
                mid: Some(s.mid.clone()),
                media_source_id,
                encoding_index: Some(0),
                remote_id: has_remote.then_some(remote_id),
                header_bytes_sent: Some(c.header_bytes),
                retransmitted_packets_sent: Some(c.retransmitted_packets),
                retransmitted_bytes_sent: Some(c.retransmitted_bytes),
                rtx_ssrc: (!s.payload_types.rtx.is_empty()).then_some(send.rtx_ssrc),
                nack_count: Some(c.nack_count),
                pli_count: video.then_some(c.pli_count),
                fir_count: video.then_some(c.fir_count),
                frames_sent: (video && c.frames_sent > 0).then_some(c.frames_sent),
                active: Some(s.direction.is_some_and(|d| d.sends())),
            }));
        }
        for r in &s.receive {
            let c = r.counters;
            if r.stats.received() == 0 && c.payload_type.is_none() {
                // Only DTMF (or nothing) came: no RTP stream of media yet.
                continue;
            }
            let id = format!("IT{transport:02}{k}{}", r.ssrc);
            let codec_id = codec(c.payload_type, report);
            let remote_id = format!("ROT{transport:02}{k}{}", r.ssrc);
            if let Some(sr) = c.remote_sr {
                report.insert(Stats::RemoteOutboundRtp(RemoteOutboundRtpStreamStats {
                    id: remote_id.clone(),
                    timestamp: ts,
                    ssrc: Some(r.ssrc),
                    kind: Some(kind.clone()),
                    transport_id: Some(tid.clone()),
                    codec_id: codec_id.clone(),
                    packets_sent: Some(u64::from(sr.packets)),
                    bytes_sent: Some(u64::from(sr.octets)),
                    local_id: Some(id.clone()),
                    remote_timestamp: Some(ntp_to_unix_ms(sr.ntp)),
                    reports_sent: Some(sr.reports),
                }));
            }
            let video = s.kind == crate::codecs::MediaKind::Video;
            let frames_mode = s.mode == crate::connection::ReceiveMode::Frames;
            report.insert(Stats::InboundRtp(InboundRtpStreamStats {
                id,
                timestamp: ts,
                ssrc: Some(r.ssrc),
                kind: Some(kind.clone()),
                transport_id: Some(tid.clone()),
                codec_id,
                packets_received: Some(r.stats.received()),
                packets_lost: Some(r.stats.lost()),
                jitter: Some(secs(r.stats.jitter_duration())),
                track_identifier: trx.map(|t| t.receiver_track_id.clone()),
                mid: Some(s.mid.clone()),
                remote_id: c.remote_sr.is_some().then_some(remote_id),
                last_packet_received_timestamp: c.last_packet.map(|at| time.ms(at)),
                header_bytes_received: Some(c.header_bytes),
                bytes_received: Some(r.stats.payload_bytes()),
                nack_count: Some(c.nack_count),
                pli_count: video.then_some(c.pli_count),
                // rtcpeer never sends FIR (RFC 5104): it asks for key frames with PLI.
                fir_count: video.then_some(0),
                fec_packets_received: Some(c.fec_packets),
                fec_packets_discarded: Some(c.fec_packets),
                frames_received: (video && frames_mode).then_some(c.frames_received),
                retransmitted_packets_received: Some(c.retransmitted_packets),
                retransmitted_bytes_received: Some(c.retransmitted_bytes),
                playout_id: None,
            }));
        }
    }
}

/// A "media-playout" entry for each audio receiver the application reported playout of,
/// referenced by the inbound-rtp entries of its m-section (webrtc-stats §7.5 `playoutId`).
fn collect_playout(
    session: &Session,
    playout: &[(TransceiverId, PlayoutTotals)],
    ts: f64,
    report: &mut StatsReport,
) {
    for (id, t) in playout {
        let Some(section) = session.media.sections.iter().find(|s| s.transceiver == *id) else {
            continue;
        };
        let playout_id = format!("AP{}", id.0);
        let mut referenced = false;
        for entry in report.values_mut() {
            if let Stats::InboundRtp(inbound) = entry
                && inbound.mid.as_deref() == Some(section.mid.as_str())
            {
                inbound.playout_id = Some(playout_id.clone());
                referenced = true;
            }
        }
        if !referenced {
            continue;
        }
        report.insert(Stats::MediaPlayout(AudioPlayoutStats {
            id: playout_id,
            timestamp: ts,
            kind: Some("audio".into()),
            synthesized_samples_duration: Some(t.synthesized_seconds),
            synthesized_samples_events: Some(t.synthesized_events),
            total_samples_duration: Some(t.seconds),
            total_playout_delay: Some(t.delay),
            total_samples_count: Some(t.samples),
        }));
    }
}

/// Keeps `roots` and everything they reference, directly or not (webrtc-pc §8.5).
fn select(report: &mut StatsReport, roots: Vec<String>) {
    let mut keep: HashSet<String> = HashSet::new();
    let mut todo: VecDeque<String> = roots.into();
    while let Some(id) = todo.pop_front() {
        if keep.contains(&id) {
            continue;
        }
        if let Some(s) = report.get(&id) {
            todo.extend(s.references().into_iter().map(str::to_string));
            keep.insert(id);
        }
    }
    report.retain(|s| keep.contains(s.id()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_section_10_vectors() {
        // RFC 4648 §10 test vectors.
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn ntp_times_map_to_unix_milliseconds() {
        let ntp = ((crate::rtcp::NTP_UNIX_OFFSET_SECS + 1_000) << 32) | (1 << 31);
        assert_eq!(ntp_to_unix_ms(ntp), 1_000_500.0);
    }

    #[test]
    fn stats_time_maps_engine_instants_to_wall_clock() {
        let now = Instant::now();
        let t = StatsTime {
            now,
            unix_ms: 10_000.0,
        };
        assert_eq!(t.ms(now), 10_000.0);
        let past = now.checked_sub(Duration::from_millis(250)).unwrap();
        assert!((t.ms(past) - 9_750.0).abs() < 1e-6);
        assert!((t.ms(now + Duration::from_millis(5)) - 10_005.0).abs() < 1e-6);
    }
}
