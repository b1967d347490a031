//! Unit tests of the statistics: two connections in memory (audio, video and a data
//! channel), their reports read as the browser's JSON (webrtc-stats §5.1: ids stable,
//! references resolve, timestamps monotonic, counters never go back; webrtc-pc §8.5:
//! selection).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::{Stats, StatsReport, StatsSelector, StatsTime};
use crate::cert::{Certificate, CertificateParams};
use crate::codecs::MediaKind;
use crate::config::Configuration;
use crate::connection::{
    Core, CoreEvent, CoreSettings, DataChannelEvent, DataChannelId, DataChannelInit, Event,
    IceCandidateInit, OfferOptions, OutgoingRtp, PeerConnectionState, SessionDescription,
    TransceiverId,
};
use crate::datachannel::Payload;
use crate::ice::IceAgentConfig;
use crate::negotiator::types::RtpTransceiverDirection;
use crate::util::SeededRandom;

const LATENCY: Duration = Duration::from_millis(5);

fn core(seed: u64) -> Core {
    let cert =
        Certificate::generate(CertificateParams::default(), SystemTime::now()).expect("cert");
    let mut c = Core::new(
        Configuration::default(),
        CoreSettings::default(),
        cert,
        Box::new(SeededRandom::new(seed)),
    );
    c.configure_ice(
        IceAgentConfig::default(),
        Box::new(SeededRandom::new(seed ^ 0x55)),
    );
    c
}

/// Two connections over a lossless in-memory network with 5 ms latency.
struct Net {
    cores: [Core; 2],
    addrs: [SocketAddr; 2],
    t0: Instant,
    now: Instant,
    in_flight: VecDeque<(Instant, usize, SocketAddr, SocketAddr, Vec<u8>)>,
    /// (audio, video) of each side.
    transceivers: [(TransceiverId, TransceiverId); 2],
    /// The data channel of each side (the answerer's once announced).
    channels: [Option<DataChannelId>; 2],
    /// Messages received per side.
    messages: [usize; 2],
    /// Loses every k-th RTP packet of this SSRC: (ssrc, k, packets seen).
    lose: Option<(u32, u32, u32)>,
}

impl Net {
    fn new(seed: u64) -> Net {
        Net::with_answer(seed, |d| d)
    }

    /// A pair whose answer passes through `edit` on its way to the offerer.
    fn with_answer(seed: u64, edit: impl FnOnce(SessionDescription) -> SessionDescription) -> Net {
        let t0 = Instant::now();
        let (mut a, mut b) = (core(seed), core(seed + 1));
        let addrs: [SocketAddr; 2] = [
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:2000".parse().unwrap(),
        ];
        a.handle_timeout(t0);
        b.handle_timeout(t0);
        let dir = RtpTransceiverDirection::SendRecv;
        let audio = a
            .add_transceiver(MediaKind::Audio, None, dir, Vec::new(), true)
            .unwrap();
        let video = a
            .add_transceiver(MediaKind::Video, None, dir, Vec::new(), true)
            .unwrap();
        let dc = a
            .create_data_channel("chat", &DataChannelInit::default(), true)
            .unwrap();
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer)).unwrap();
        a.add_local_address(addrs[0]).unwrap();
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        let ids = b.transceiver_ids();
        for &id in &ids {
            b.set_direction(id, dir, true).unwrap();
        }
        b.set_local_description(None).unwrap();
        b.add_local_address(addrs[1]).unwrap();
        a.set_remote_description(edit(b.local_description().unwrap()))
            .unwrap();
        let kind = |id| b.transceiver_info(id).unwrap().kind();
        let b_audio = *ids
            .iter()
            .find(|&&id| kind(id) == MediaKind::Audio)
            .unwrap();
        let b_video = *ids
            .iter()
            .find(|&&id| kind(id) == MediaKind::Video)
            .unwrap();
        let unix = Duration::from_secs(1_800_000_000);
        a.set_wall_clock(t0, unix);
        b.set_wall_clock(t0, unix);
        Net {
            cores: [a, b],
            addrs,
            t0,
            now: t0,
            in_flight: VecDeque::new(),
            transceivers: [(audio, video), (b_audio, b_video)],
            channels: [Some(dc), None],
            messages: [0, 0],
            lose: None,
        }
    }

    /// Runs `limit` of virtual time, or until `done`.
    fn run(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) {
        let end = self.now + limit;
        let mut buf = Vec::new();
        loop {
            let mut moved = false;
            for i in 0..2 {
                if let Some((t, _)) = self.cores[i].next_timer()
                    && t <= self.now
                {
                    self.cores[i].handle_timeout(self.now);
                    moved = true;
                }
                loop {
                    buf.clear();
                    let Some(t) = self.cores[i].poll_transmit_into(self.now, &mut buf) else {
                        break;
                    };
                    moved = true;
                    // SRTP leaves the RTP header in the clear (RFC 3711 §3.1).
                    let rtp = matches!(buf.first(), Some(128..=191))
                        && !matches!(buf.get(1), Some(192..=223));
                    if let Some((ssrc, k, seen)) = self.lose.as_mut()
                        && rtp
                        && buf.get(8..12) == Some(&ssrc.to_be_bytes()[..])
                    {
                        *seen += 1;
                        if *seen % *k == 0 {
                            continue;
                        }
                    }
                    if t.remote == self.addrs[1 - i] {
                        let at = self.now + LATENCY;
                        self.in_flight
                            .push_back((at, 1 - i, t.local, t.remote, buf.clone()));
                    }
                }
                while let Some(e) = self.cores[i].poll_event() {
                    match e {
                        Event::Connection(c) => {
                            if let CoreEvent::DataChannel(key) = *c {
                                self.channels[i] = Some(key);
                            }
                        }
                        Event::Channel(_, DataChannelEvent::Message(_)) => self.messages[i] += 1,
                        _ => {}
                    }
                }
            }
            if done(self) || self.now >= end {
                return;
            }
            if moved {
                continue;
            }
            let next = self
                .cores
                .iter()
                .filter_map(|c| c.next_timer().map(|(t, _)| t))
                .chain(self.in_flight.front().map(|d| d.0))
                .min()
                .unwrap_or(end);
            self.now = next.max(self.now).min(end);
            while let Some((at, to, from, dest, data)) = self.in_flight.front()
                && *at <= self.now
            {
                self.cores[*to].handle_datagram(self.now, *dest, *from, data);
                self.in_flight.pop_front();
            }
        }
    }

    fn connect(&mut self) {
        self.run(Duration::from_secs(10), |n| {
            n.cores
                .iter()
                .all(|c| c.connection_state() == PeerConnectionState::Connected)
                && n.channels.iter().all(Option::is_some)
                && n.cores[1]
                    .data_channel_info(n.channels[1].unwrap())
                    .is_some_and(|i| i.ready_state().to_string() == "open")
        });
        assert_eq!(
            self.cores[0].connection_state(),
            PeerConnectionState::Connected
        );
    }

    fn time(&self) -> StatsTime {
        StatsTime {
            now: self.now,
            unix_ms: 1_800_000_000_000.0 + (self.now - self.t0).as_secs_f64() * 1000.0,
        }
    }

    fn stats(&mut self, side: usize, selector: StatsSelector) -> StatsReport {
        let t = self.time();
        self.cores[side].stats(t, selector)
    }

    /// Sends `n` messages each way and `n` audio and video packets from each side.
    fn traffic(&mut self, n: u32) {
        for side in 0..2 {
            let dc = self.channels[side].unwrap();
            let (audio, video) = self.transceivers[side];
            for i in 0..n {
                let msg = Payload::Text(format!("message {i}"));
                self.cores[side]
                    .data_channel_send(dc, msg, self.now)
                    .unwrap();
                let ts = i * 960;
                let rtp = |payload| OutgoingRtp {
                    payload_type: None,
                    timestamp: ts,
                    marker: true,
                    payload,
                };
                assert!(
                    self.cores[side]
                        .send_rtp(self.now, audio, &rtp(b"opus"))
                        .is_some()
                );
                assert!(
                    self.cores[side]
                        .send_rtp(self.now, video, &rtp(b"vp8 frame"))
                        .is_some()
                );
            }
        }
    }
}

fn entries(r: &StatsReport, type_name: &str) -> Vec<Value> {
    r.of_type(type_name).map(Stats::to_json).collect()
}

fn one(r: &StatsReport, type_name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let v: Vec<Value> = entries(r, type_name)
        .into_iter()
        .filter(|e| pred(e))
        .collect();
    assert_eq!(v.len(), 1, "one {type_name} expected: {v:#?}");
    v.into_iter().next().unwrap()
}

fn kind_is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["kind"] == kind
}

/// Every reference resolves, every entry has the browser's shape.
fn check_shape(r: &StatsReport) {
    for s in r {
        for id in s.references() {
            assert!(
                r.contains(id),
                "{} refers to {id}, not in the report",
                s.id()
            );
        }
        let j = s.to_json();
        let o = j.as_object().unwrap();
        assert_eq!(o["id"], s.id());
        assert_eq!(o["type"], s.type_name());
        assert!(o["timestamp"].is_f64());
        for (k, v) in o {
            assert!(
                !k.contains('_') && k.chars().next().unwrap().is_ascii_lowercase(),
                "{k}"
            );
            assert!(!v.is_null(), "{} has a null {k}", s.id());
        }
    }
}

/// Counter members that never go back (webrtc-stats §5.1 "monotonically increasing").
const COUNTERS: &[&str] = &[
    "packetsSent",
    "packetsReceived",
    "bytesSent",
    "bytesReceived",
    "messagesSent",
    "messagesReceived",
    "requestsSent",
    "requestsReceived",
    "responsesSent",
    "responsesReceived",
    "consentRequestsSent",
    "headerBytesSent",
    "headerBytesReceived",
    "nackCount",
    "pliCount",
    "firCount",
    "retransmittedPacketsSent",
    "retransmittedBytesSent",
    "totalRoundTripTime",
    "roundTripTimeMeasurements",
    "reportsSent",
    "dataChannelsOpened",
    "dataChannelsClosed",
    "selectedCandidatePairChanges",
];

#[test]
fn ids_are_stable_references_resolve_and_entries_have_the_browsers_shape() {
    let mut n = Net::new(1);
    let before = n.stats(0, StatsSelector::All);
    check_shape(&before);
    // Before ICE and DTLS: no selected pair, no remote certificate, no TLS version; the
    // values rtcpeer cannot know yet are absent, not zero.
    let t = one(&before, "transport", |_| true);
    for absent in [
        "selectedCandidatePairId",
        "remoteCertificateId",
        "tlsVersion",
        "dtlsCipher",
        "srtpCipher",
    ] {
        assert!(t.get(absent).is_none(), "{absent}: {t}");
    }
    assert_eq!(t["dtlsState"], "new");
    n.connect();
    n.traffic(20);
    n.run(Duration::from_secs(6), |_| false);
    let first = n.stats(0, StatsSelector::All);
    check_shape(&first);
    n.traffic(5);
    n.run(Duration::from_secs(1), |_| false);
    let second = n.stats(0, StatsSelector::All);
    check_shape(&second);
    for id in first.ids() {
        assert!(second.contains(id), "{id} vanished between calls");
    }
    for type_name in [
        "peer-connection",
        "transport",
        "candidate-pair",
        "local-candidate",
        "remote-candidate",
        "certificate",
        "data-channel",
        "codec",
        "inbound-rtp",
        "outbound-rtp",
        "remote-inbound-rtp",
        "remote-outbound-rtp",
    ] {
        assert!(
            second.of_type(type_name).count() > 0,
            "no {type_name} in {second:#?}"
        );
    }
    // The report serialises as id → entry, like `Object.fromEntries(report)`.
    let map = serde_json::to_value(&second).unwrap();
    assert_eq!(map.as_object().unwrap().len(), second.len());
    assert_eq!(second.to_json().as_array().unwrap().len(), second.len());
}

/// The offerer learns the answerer's address as a peer-reflexive candidate (the answer's
/// candidates withheld), then the signalled host candidate replaces it in the checklist: the
/// transport's `selectedCandidatePairId` still names the pair entry of the report.
#[test]
fn selected_pair_id_resolves_after_a_peer_reflexive_candidate_is_signalled() {
    let mut withheld = Vec::new();
    let mut n = Net::with_answer(7, |d| {
        let sdp = d
            .sdp
            .split("\r\n")
            .filter(|l| {
                let cand = l.starts_with("a=candidate:");
                if cand {
                    withheld.push(l["a=".len()..].to_string());
                }
                !cand && *l != "a=end-of-candidates"
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        SessionDescription { sdp, ..d }
    });
    assert!(!withheld.is_empty());
    n.connect();
    let before = n.stats(0, StatsSelector::All);
    assert_eq!(
        one(&before, "remote-candidate", |_| true)["candidateType"],
        "prflx"
    );
    // Given for every section: only the BUNDLE tag's are read (RFC 8843 §10).
    for c in withheld {
        for index in 0..3 {
            let init = IceCandidateInit {
                candidate: c.clone(),
                sdp_m_line_index: Some(index),
                sdp_mid: None,
                username_fragment: None,
            };
            n.cores[0].add_ice_candidate(&init).unwrap();
        }
    }
    n.traffic(3);
    n.run(Duration::from_secs(2), |_| false);
    let after = n.stats(0, StatsSelector::All);
    check_shape(&after);
    let t = one(&after, "transport", |_| true);
    let id = t["selectedCandidatePairId"]
        .as_str()
        .expect("a selected pair");
    let pair = one(&after, "candidate-pair", |p| p["id"] == id);
    let remote = pair["remoteCandidateId"].as_str().unwrap();
    assert_eq!(
        one(&after, "remote-candidate", |c| c["id"] == remote)["candidateType"],
        "host"
    );
}

#[test]
fn counters_never_decrease_and_timestamps_never_go_back() {
    let mut n = Net::new(2);
    n.connect();
    let mut last: Option<StatsReport> = None;
    for round in 0..6 {
        n.traffic(3);
        n.run(Duration::from_millis(700), |_| false);
        let mut t = n.time();
        if round == 3 {
            // A caller's wall clock stepping back does not make timestamps go back.
            t.unix_ms -= 10_000.0;
        }
        let r = n.cores[0].stats(t, StatsSelector::All);
        if let Some(prev) = &last {
            for s in prev {
                let Some(now) = r.get(s.id()) else {
                    panic!("{} vanished", s.id());
                };
                assert!(now.timestamp() >= s.timestamp(), "{}", s.id());
                let (a, b) = (s.to_json(), now.to_json());
                for c in COUNTERS {
                    if let (Some(x), Some(y)) = (a[c].as_f64(), b[c].as_f64()) {
                        assert!(y >= x, "{}.{c} went back: {x} -> {y}", s.id());
                    }
                }
            }
        }
        last = Some(r);
    }
}

#[test]
fn values_come_from_the_engines_counters() {
    let mut n = Net::new(3);
    n.connect();
    n.traffic(30);
    n.run(Duration::from_secs(7), |n| n.messages == [30, 30]);
    n.run(Duration::from_secs(7), |_| false);
    assert_eq!(n.messages, [30, 30]);
    let (a, b) = (
        n.stats(0, StatsSelector::All),
        n.stats(1, StatsSelector::All),
    );
    // Data channels: both sides count the 30 messages each way.
    for r in [&a, &b] {
        let dc = one(r, "data-channel", |_| true);
        assert_eq!(
            (dc["label"].as_str(), dc["state"].as_str()),
            (Some("chat"), Some("open"))
        );
        assert_eq!(
            (dc["messagesSent"].as_u64(), dc["messagesReceived"].as_u64()),
            (Some(30), Some(30))
        );
        // "message 0".."message 29": 9 bytes for 0-9, 10 for 10-29.
        assert_eq!(dc["bytesSent"].as_u64(), Some(10 * 9 + 20 * 10));
        assert_eq!(dc["bytesReceived"], dc["bytesSent"]);
        assert!(dc["dataChannelIdentifier"].is_u64());
        let pc = one(r, "peer-connection", |_| true);
        assert_eq!(
            (
                pc["dataChannelsOpened"].as_u64(),
                pc["dataChannelsClosed"].as_u64()
            ),
            (Some(1), Some(0))
        );
    }
    // Transport, selected pair and certificates.
    let t = one(&a, "transport", |_| true);
    assert!(
        matches!(t["iceState"].as_str(), Some("connected" | "completed")),
        "{t}"
    );
    assert_eq!(t["dtlsState"], "connected");
    assert_eq!(t["iceRole"], "controlling");
    assert_eq!(one(&b, "transport", |_| true)["iceRole"], "controlled");
    assert!(matches!(t["dtlsRole"].as_str(), Some("client" | "server")));
    assert_ne!(t["dtlsRole"], one(&b, "transport", |_| true)["dtlsRole"]);
    assert_eq!(t["tlsVersion"], "FEFD");
    assert!(t["srtpCipher"].as_str().unwrap().starts_with("SRTP_"));
    // dimpl with ECDSA certificates on both sides negotiates an ECDHE-ECDSA AEAD suite, and
    // both ends report the same one.
    assert!(
        t["dtlsCipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS_ECDHE_ECDSA_WITH_"),
        "{t}"
    );
    assert_eq!(
        t["dtlsCipher"],
        one(&b, "transport", |_| true)["dtlsCipher"]
    );
    assert_eq!(t["selectedCandidatePairChanges"].as_u64(), Some(1));
    let pair = a
        .get(t["selectedCandidatePairId"].as_str().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(
        (pair["state"].as_str(), pair["nominated"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    assert!(pair["responsesReceived"].as_u64().unwrap() >= 1);
    assert!(
        pair["currentRoundTripTime"].as_f64().unwrap() >= 0.009,
        "{pair}"
    );
    assert!(
        pair["totalRoundTripTime"].as_f64().unwrap()
            >= pair["currentRoundTripTime"].as_f64().unwrap()
    );
    assert_eq!(
        pair["bytesSent"], t["bytesSent"],
        "one pair carried everything"
    );
    assert!(pair["packetsReceived"].as_u64().unwrap() > 60);
    let local = a
        .get(pair["localCandidateId"].as_str().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(
        (local["address"].as_str(), local["port"].as_u64()),
        (Some("10.0.0.1"), Some(1000))
    );
    assert_eq!(local["candidateType"], "host");
    let remote = a
        .get(pair["remoteCandidateId"].as_str().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(
        (remote["address"].as_str(), remote["port"].as_u64()),
        (Some("10.0.0.2"), Some(2000))
    );
    // Our certificate is the peer's remote certificate, fingerprint and DER alike.
    let local_cert = a
        .get(t["localCertificateId"].as_str().unwrap())
        .unwrap()
        .to_json();
    let fp = &n.cores[0].session.certificate.get_fingerprints()[0];
    assert_eq!(
        local_cert["fingerprint"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase(),
        fp.value
    );
    assert_eq!(local_cert["fingerprintAlgorithm"], "sha-256");
    let tb = one(&b, "transport", |_| true);
    let remote_cert_b = b
        .get(tb["remoteCertificateId"].as_str().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(remote_cert_b, {
        let mut c = local_cert.clone();
        c["timestamp"] = remote_cert_b["timestamp"].clone();
        c
    });
    // RTP: 30 packets each kind each way, no loss; RTCP gave RTTs and sender reports.
    for kind in ["audio", "video"] {
        let out = one(&a, "outbound-rtp", kind_is(kind));
        assert_eq!(out["packetsSent"].as_u64(), Some(30));
        let payload = if kind == "audio" { 4 } else { 9 };
        assert_eq!(out["bytesSent"].as_u64(), Some(30 * payload));
        assert!(out["headerBytesSent"].as_u64().unwrap() >= 30 * 12);
        let inb = one(&b, "inbound-rtp", kind_is(kind));
        assert_eq!(inb["ssrc"], out["ssrc"]);
        assert_eq!(
            (inb["packetsReceived"].as_u64(), inb["packetsLost"].as_i64()),
            (Some(30), Some(0))
        );
        assert_eq!(inb["bytesReceived"], out["bytesSent"]);
        assert_eq!(inb["headerBytesReceived"], out["headerBytesSent"]);
        assert_eq!(inb["mid"], out["mid"]);
        assert!(
            inb["lastPacketReceivedTimestamp"].as_f64().unwrap()
                <= inb["timestamp"].as_f64().unwrap()
        );
        let codec = a.get(out["codecId"].as_str().unwrap()).unwrap().to_json();
        let codec_b = b.get(inb["codecId"].as_str().unwrap()).unwrap().to_json();
        assert_eq!(codec["mimeType"], codec_b["mimeType"]);
        assert_eq!(codec["payloadType"], codec_b["payloadType"]);
        let ri = a.get(out["remoteId"].as_str().unwrap()).unwrap().to_json();
        assert_eq!(ri["localId"], out["id"]);
        assert_eq!(
            (ri["packetsLost"].as_i64(), ri["fractionLost"].as_f64()),
            (Some(0), Some(0.0))
        );
        let rtt = ri["roundTripTime"].as_f64().unwrap();
        assert!((0.009..0.05).contains(&rtt), "2 × 5 ms of latency: {rtt}");
        assert!(ri["roundTripTimeMeasurements"].as_u64().unwrap() >= 1);
        let ro = b.get(inb["remoteId"].as_str().unwrap()).unwrap().to_json();
        assert_eq!(
            (ro["localId"].as_str(), ro["ssrc"].as_u64()),
            (inb["id"].as_str(), out["ssrc"].as_u64())
        );
        assert_eq!(ro["packetsSent"].as_u64(), Some(30));
        assert_eq!(ro["bytesSent"], out["bytesSent"]);
        assert!(ro["reportsSent"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn selectors_keep_one_sides_streams_and_what_they_reference() {
    let mut n = Net::new(4);
    n.connect();
    n.traffic(5);
    n.run(Duration::from_secs(3), |_| false);
    let (audio, video) = n.transceivers[0];
    let all = n.stats(0, StatsSelector::All);
    let sender = n.stats(0, StatsSelector::Sender(video));
    check_shape(&sender);
    let out: Vec<Value> = entries(&sender, "outbound-rtp");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["kind"], "video");
    for absent in [
        "inbound-rtp",
        "data-channel",
        "peer-connection",
        "remote-outbound-rtp",
    ] {
        assert_eq!(
            sender.of_type(absent).count(),
            0,
            "{absent} in a sender's report"
        );
    }
    for present in [
        "transport",
        "codec",
        "candidate-pair",
        "local-candidate",
        "certificate",
    ] {
        assert!(sender.of_type(present).count() > 0, "{present} missing");
    }
    // Only the selected pair is referenced, and only the codec the stream uses.
    assert_eq!(sender.of_type("candidate-pair").count(), 1);
    assert_eq!(sender.of_type("codec").count(), 1);
    let receiver = n.stats(0, StatsSelector::Receiver(audio));
    check_shape(&receiver);
    let inb = entries(&receiver, "inbound-rtp");
    assert_eq!(inb.len(), 1);
    assert_eq!(inb[0]["kind"], "audio");
    assert_eq!(receiver.of_type("outbound-rtp").count(), 0);
    // Every selected entry is the same as in the full report.
    for s in sender.iter().chain(receiver.iter()) {
        assert_eq!(all.get(s.id()).map(Stats::type_name), Some(s.type_name()));
    }
    // An unknown transceiver selects nothing.
    let none = n.stats(0, StatsSelector::Sender(TransceiverId(999)));
    assert!(none.is_empty());
}

#[test]
fn a_codec_appears_once_a_stream_uses_it() {
    let mut n = Net::new(5);
    n.connect();
    let r = n.stats(0, StatsSelector::All);
    assert_eq!(
        r.of_type("codec").count(),
        0,
        "no media sent or received yet"
    );
    assert_eq!(r.of_type("inbound-rtp").count(), 0);
    // Outbound streams exist once negotiated, without a codec until they send.
    let out = entries(&r, "outbound-rtp");
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|o| o.get("codecId").is_none() && o["packetsSent"] == 0)
    );
    let (audio, _) = n.transceivers[0];
    n.cores[0]
        .send_rtp(
            n.now,
            audio,
            &OutgoingRtp {
                payload_type: None,
                timestamp: 0,
                marker: false,
                payload: b"x",
            },
        )
        .unwrap();
    let r = n.stats(0, StatsSelector::All);
    let codecs = entries(&r, "codec");
    assert_eq!(codecs.len(), 1);
    assert_eq!(
        codecs[0]["mimeType"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("audio/opus")
    );
}

#[test]
fn nack_rtx_and_pli_counters_follow_the_repairs() {
    let mut n = Net::new(6);
    n.connect();
    let r = n.stats(0, StatsSelector::Sender(n.transceivers[0].1));
    let out = one(&r, "outbound-rtp", |_| true);
    let ssrc = out["ssrc"].as_u64().unwrap() as u32;
    n.lose = Some((ssrc, 7, 0));
    let video = n.transceivers[0].1;
    // 71 packets: the 10th loss (packet 70) is followed by one that reveals it.
    for i in 0..71u32 {
        let rtp = OutgoingRtp {
            payload_type: None,
            timestamp: i * 3000,
            marker: true,
            payload: b"vp8 frame",
        };
        n.cores[0].send_rtp(n.now, video, &rtp).unwrap();
        n.run(Duration::from_millis(20), |_| false);
    }
    n.lose = None;
    assert!(n.cores[1].request_keyframe(n.transceivers[1].1));
    n.run(Duration::from_secs(3), |_| false);
    let (a, b) = (
        n.stats(0, StatsSelector::All),
        n.stats(1, StatsSelector::All),
    );
    let out = one(&a, "outbound-rtp", kind_is("video"));
    let inb = one(&b, "inbound-rtp", kind_is("video"));
    // 10 of 71 lost, each NACKed and resent on the RTX stream (RFC 4585, RFC 4588).
    assert!(inb["nackCount"].as_u64().unwrap() >= 1, "{inb}");
    assert_eq!(out["nackCount"], inb["nackCount"], "every NACK arrived");
    assert_eq!(out["retransmittedPacketsSent"].as_u64(), Some(10), "{out}");
    assert_eq!(out["retransmittedBytesSent"].as_u64(), Some(10 * 9));
    assert_eq!(
        inb["retransmittedPacketsReceived"].as_u64(),
        Some(10),
        "{inb}"
    );
    assert_eq!(
        out["packetsSent"].as_u64(),
        Some(81),
        "71 sent and 10 resent"
    );
    assert_eq!(
        (inb["packetsReceived"].as_u64(), inb["packetsLost"].as_i64()),
        (Some(71), Some(0))
    );
    assert!(out["rtxSsrc"].is_u64());
    // The receiver's PLI reached the sender (RFC 4585 §6.3.1).
    assert_eq!(inb["pliCount"].as_u64(), Some(1));
    assert_eq!(out["pliCount"].as_u64(), Some(1));
    assert_eq!(
        (inb["firCount"].as_u64(), out["firCount"].as_u64()),
        (Some(0), Some(0))
    );
}

/// webrtc-stats §7.13 `availableOutgoingBitrate`: absent until the send-side bandwidth
/// estimator has an estimate, then on the selected pair only.
#[test]
fn available_outgoing_bitrate_appears_on_the_selected_pair_once_feedback_came() {
    let mut n = Net::new(3);
    n.connect();
    let before = n.stats(0, StatsSelector::All);
    for p in entries(&before, "candidate-pair") {
        assert!(p.get("availableOutgoingBitrate").is_none(), "{p}");
    }
    n.traffic(20);
    n.run(Duration::from_secs(2), |_| false);
    let after = n.stats(0, StatsSelector::All);
    let t = one(&after, "transport", |_| true);
    let selected = t["selectedCandidatePairId"].as_str().unwrap().to_string();
    let pairs = entries(&after, "candidate-pair");
    assert!(!pairs.is_empty());
    for p in pairs {
        let bitrate = p.get("availableOutgoingBitrate").and_then(Value::as_f64);
        if p["id"] == selected.as_str() {
            assert!(bitrate.is_some_and(|b| b >= 30_000.0), "{p}");
            let counters = n.cores[0].media_counters();
            assert_eq!(
                bitrate,
                counters.available_outgoing_bitrate.map(|b| b as f64)
            );
            assert!(counters.twcc_feedback_received > 0);
        } else {
            assert_eq!(bitrate, None, "{p}");
        }
    }
}
