//! Two connections in memory with an unbundled session (RFC 8843 §7, RFC 9429 §5.3.1):
//! the offerer's `bundlePolicy` "max-compat" offer reaches the answerer without its
//! `a=group:BUNDLE` line, so audio, video and data each run on an ICE+DTLS transport of
//! their own, each transport on sockets of its own (a driver that binds at will, as
//! browsers do). Checks that every transport beyond the primary one is as complete as the
//! primary: its candidates, its events, its certificates, its statistics, its own restart.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::cert::{Certificate, CertificateParams};
use crate::codecs::MediaKind;
use crate::config::{BundlePolicy, Configuration};
use crate::connection::{
    Core, CoreEvent, CoreSettings, DataChannelInit, Event, Input, IoRequest, OutgoingRtp, Output,
    PeerConnectionState, SdpType, SessionDescription, TransceiverId,
};
use crate::dtls::DtlsTransportState;
use crate::ice::{IceConnectionState, IceGatheringState};
use crate::negotiator::types::RtpTransceiverDirection;
use crate::session::ice::IceTransportId;
use crate::stats::{StatsSelector, StatsTime};
use crate::util::SeededRandom;

const LATENCY: Duration = Duration::from_millis(5);

struct Side {
    core: Core,
    /// The sockets its driver bound.
    addrs: Vec<SocketAddr>,
    /// The next port to bind.
    next_port: u16,
    /// Every connection event, in order.
    events: Vec<CoreEvent>,
}

fn side(seed: u64, config: Configuration, ip: &str, now: Instant) -> Side {
    let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
        .expect("certificate");
    let mut core = Core::new(
        config,
        CoreSettings::default(),
        cert,
        Box::new(SeededRandom::new(seed)),
    );
    core.handle_input(
        now,
        Input::IoReady {
            fresh_sockets_on_restart: true,
        },
    )
    .unwrap();
    let first: SocketAddr = format!("{ip}:1000").parse().unwrap();
    Side {
        core,
        addrs: vec![first],
        next_port: 1001,
        events: Vec::new(),
    }
}

/// Two connections over a lossless in-memory network with 5 ms latency.
pub(super) struct Net {
    sides: [Side; 2],
    now: Instant,
    t0: Instant,
    in_flight: VecDeque<(Instant, usize, SocketAddr, SocketAddr, Vec<u8>)>,
    /// The (audio, video) transceivers of each side.
    pub(super) media: [(TransceiverId, TransceiverId); 2],
    /// Candidates found after the descriptions were exchanged are trickled to the peer
    /// (`icecandidate` → `addIceCandidate`, RFC 8838).
    trickle: bool,
}

fn strip_bundle(sdp: &str) -> String {
    sdp.split("\r\n")
        .filter(|l| !l.starts_with("a=group:BUNDLE"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

impl Net {
    /// The offerer (side 0, `policy`) offers audio, video and data; its gathered offer
    /// reaches side 1 without BUNDLE; side 1's gathered answer comes back.
    pub(super) fn unbundled(seed: u64, policy: BundlePolicy) -> Net {
        Net::unbundled_with(seed, policy, |sdp| sdp)
    }

    /// [`Net::unbundled`] with the answerer configured by `answerer`.
    pub(super) fn unbundled_answerer(seed: u64, answerer: Configuration) -> Net {
        Net::build(seed, BundlePolicy::MaxCompat, answerer, |sdp| sdp, false)
    }

    /// [`Net::unbundled`] with a second audio transceiver after the video one.
    pub(super) fn unbundled_two_audio(seed: u64, policy: BundlePolicy) -> Net {
        Net::build(seed, policy, Configuration::default(), |sdp| sdp, true)
    }

    /// [`Net::unbundled`], with the stripped offer changed by `munge` on its way.
    pub(super) fn unbundled_with(
        seed: u64,
        policy: BundlePolicy,
        munge: impl Fn(String) -> String,
    ) -> Net {
        Net::build(seed, policy, Configuration::default(), munge, false)
    }

    fn build(
        seed: u64,
        policy: BundlePolicy,
        answerer: Configuration,
        munge: impl Fn(String) -> String,
        second_audio: bool,
    ) -> Net {
        let t0 = Instant::now();
        let offerer = Configuration {
            bundle_policy: policy,
            ..Configuration::default()
        };
        let a = side(seed, offerer, "10.0.0.1", t0);
        let b = side(seed + 1, answerer, "10.0.0.2", t0);
        let mut net = Net {
            sides: [a, b],
            now: t0,
            t0,
            in_flight: VecDeque::new(),
            media: [(TransceiverId(0), TransceiverId(0)); 2],
            trickle: false,
        };
        let dir = RtpTransceiverDirection::SendRecv;
        let c = &mut net.sides[0].core;
        let audio = c
            .add_transceiver(MediaKind::Audio, None, dir, Vec::new(), true)
            .unwrap();
        let video = c
            .add_transceiver(MediaKind::Video, None, dir, Vec::new(), true)
            .unwrap();
        if second_audio {
            c.add_transceiver(MediaKind::Audio, None, dir, Vec::new(), true)
                .unwrap();
        }
        c.create_data_channel("chat", &DataChannelInit::default(), true)
            .unwrap();
        c.set_local_description(None).unwrap();
        let first = net.sides[0].addrs[0];
        net.sides[0].core.add_local_address(first).unwrap();
        net.gather(0);
        let offer = net.sides[0].core.local_description().unwrap();
        let stripped = munge(strip_bundle(&offer.sdp));
        let b = &mut net.sides[1].core;
        b.set_remote_description(SessionDescription::new(SdpType::Offer, stripped))
            .unwrap();
        for id in b.transceiver_ids() {
            b.set_direction(id, dir, true).unwrap();
        }
        b.set_local_description(None).unwrap();
        let first = net.sides[1].addrs[0];
        net.sides[1].core.add_local_address(first).unwrap();
        net.gather(1);
        let answer = net.sides[1].core.local_description().unwrap();
        assert!(!answer.sdp.contains("a=group:BUNDLE"), "{}", answer.sdp);
        net.sides[0].core.set_remote_description(answer).unwrap();
        net.trickle = true;
        let b = &net.sides[1].core;
        let ids = b.transceiver_ids();
        let kind = |id| b.transceiver_info(id).unwrap().kind();
        // The first of each kind (in m-line order: the transceivers' order).
        let of = |k| *ids.iter().find(|&&id| kind(id) == k).unwrap();
        net.media = [
            (audio, video),
            (of(MediaKind::Audio), of(MediaKind::Video)),
        ];
        net
    }

    pub(super) fn core(&self, i: usize) -> &Core {
        &self.sides[i].core
    }

    pub(super) fn core_mut(&mut self, i: usize) -> &mut Core {
        &mut self.sides[i].core
    }

    pub(super) fn events(&self, i: usize) -> &[CoreEvent] {
        &self.sides[i].events
    }

    pub(super) fn clear_events(&mut self) {
        for s in &mut self.sides {
            s.events.clear();
        }
    }

    /// Runs until side `i` gathered on every transport.
    fn gather(&mut self, i: usize) {
        // A STUN server that never answers is given up after its retransmissions.
        self.run(Duration::from_secs(60), |n| {
            n.sides[i].core.ice_gathering_state() == IceGatheringState::Complete
        });
        assert_eq!(
            self.sides[i].core.ice_gathering_state(),
            IceGatheringState::Complete
        );
    }

    /// Runs until both sides are "connected" with every transport's DTLS connected.
    pub(super) fn connect(&mut self) {
        self.run(Duration::from_secs(10), |n| {
            n.sides.iter().all(|s| {
                s.core.connection_state() == PeerConnectionState::Connected
                    && s.core
                        .extra_transport_ids()
                        .iter()
                        .all(|&id| s.core.dtls_state_of(id) == DtlsTransportState::Connected)
            })
        });
        for s in &self.sides {
            assert_eq!(s.core.connection_state(), PeerConnectionState::Connected);
        }
    }

    /// Runs `limit` of virtual time, or until `done`.
    pub(super) fn run(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) {
        let end = self.now + limit;
        let mut buf = Vec::new();
        loop {
            let mut next_timer: Option<Instant> = None;
            for i in 0..2 {
                self.sides[i]
                    .core
                    .handle_input(self.now, Input::Timeout)
                    .unwrap();
                loop {
                    buf.clear();
                    match self.sides[i].core.poll_output(&mut buf) {
                        Output::Transmit(t) => {
                            let to = 1 - i;
                            if self.sides[to].addrs.contains(&t.remote) {
                                let at = self.now + LATENCY;
                                self.in_flight
                                    .push_back((at, to, t.local, t.remote, buf.clone()));
                            }
                        }
                        Output::Event(Event::Connection(c)) => {
                            if self.trickle
                                && let CoreEvent::IceCandidate(Some(cand)) = &*c
                                && !cand.candidate().is_empty()
                            {
                                let init = cand.to_json();
                                self.sides[1 - i].core.add_ice_candidate(&init).unwrap();
                            }
                            self.sides[i].events.push(*c);
                        }
                        Output::Event(Event::Io(IoRequest::BindSockets(ips))) => {
                            let s = &mut self.sides[i];
                            for ip in ips {
                                let addr = SocketAddr::new(ip, s.next_port);
                                s.next_port += 1;
                                s.addrs.push(addr);
                                s.core
                                    .handle_input(self.now, Input::LocalAddress(addr))
                                    .unwrap();
                            }
                            s.core
                                .handle_input(self.now, Input::LocalAddressesDone)
                                .unwrap();
                        }
                        Output::Event(_) => {}
                        Output::Timeout(t) => {
                            if let Some(t) = t {
                                next_timer = Some(next_timer.map_or(t, |n| n.min(t)));
                            }
                            break;
                        }
                    }
                }
            }
            if done(self) || self.now >= end {
                return;
            }
            let next = next_timer
                .into_iter()
                .chain(self.in_flight.front().map(|d| d.0))
                .min()
                .unwrap_or(end);
            self.now = next.max(self.now + Duration::from_millis(1)).min(end);
            while let Some((at, to, from, dest, data)) = self.in_flight.front()
                && *at <= self.now
            {
                let input = Input::Datagram {
                    local: *dest,
                    remote: *from,
                    data,
                };
                self.sides[*to].core.handle_input(self.now, input).unwrap();
                self.in_flight.pop_front();
            }
        }
    }

    pub(super) fn stats_time(&self) -> StatsTime {
        StatsTime {
            now: self.now,
            unix_ms: 1_800_000_000_000.0 + (self.now - self.t0).as_secs_f64() * 1000.0,
        }
    }

    /// Sends `n` audio and video packets from each side.
    pub(super) fn send_media(&mut self, n: u32) {
        for i in 0..2 {
            let (audio, video) = self.media[i];
            for k in 0..n {
                let rtp = |payload| OutgoingRtp {
                    payload_type: None,
                    timestamp: k * 960,
                    marker: true,
                    payload,
                };
                let now = self.now;
                let c = &mut self.sides[i].core;
                assert!(c.send_rtp(now, audio, &rtp(b"opus")).is_some());
                assert!(c.send_rtp(now, video, &rtp(b"vp8 frame")).is_some());
            }
        }
        self.run(Duration::from_millis(200), |_| false);
    }
}

/// The transport of transceiver `t`'s section on side `i`, and whether it is an extra one.
fn transport_of(net: &Net, i: usize, t: TransceiverId) -> IceTransportId {
    let c = net.core(i);
    let mid = c.transceiver_info(t).unwrap().mid().unwrap().to_string();
    c.transport_of_mid(&mid).unwrap()
}

#[test]
fn every_extra_transport_has_its_candidates_events_and_certificate() {
    let mut net = Net::unbundled(11, BundlePolicy::MaxCompat);
    net.connect();
    for i in 0..2 {
        let c = net.core(i);
        let extra = c.extra_transport_ids();
        assert_eq!(extra.len(), 2, "audio and video beside the data transport");
        let primary = c.ice_transport().unwrap();
        let ev = net.events(i);
        for &id in &extra {
            // getLocalCandidates(): its own gathered candidates, named after its own
            // section (webrtc-pc §5.6.2), with its own ufrag.
            let local = c.ice_local_candidates(id);
            assert!(!local.is_empty(), "side {i} transport {id:?}");
            let params = c.ice_local_parameters(id).unwrap();
            let (name, _) = c
                .transceiver_ids()
                .into_iter()
                .filter_map(|t| {
                    let mid = c.transceiver_info(t)?.mid()?.to_string();
                    (c.transport_of_mid(&mid) == Some(id)).then_some((mid, t))
                })
                .next()
                .unwrap();
            for cand in &local {
                assert_eq!(cand.sdp_mid(), Some(name.as_str()));
                assert_eq!(cand.username_fragment(), Some(params.username_fragment.clone()));
            }
            let primary_local = c.ice_local_candidates(primary);
            assert!(local.iter().all(|l| !primary_local.contains(l)));
            // getRemoteCandidates(): what the peer signalled in that section.
            let remote = c.ice_remote_candidates(id);
            assert!(!remote.is_empty());
            let rparams = c.ice_remote_parameters(id).unwrap();
            for cand in &remote {
                assert_eq!(cand.sdp_mid(), Some(name.as_str()));
                assert_eq!(cand.username_fragment(), Some(rparams.username_fragment.clone()));
            }
            // selectedcandidatepairchange of that transport, with the pair
            // getSelectedCandidatePair() gives, made of signalled candidates.
            let pair = c.ice_selected_candidate_pair(id).unwrap();
            let fired: Vec<_> = ev
                .iter()
                .filter_map(|e| match e {
                    CoreEvent::TransportSelectedCandidatePairChange(t, p) if *t == id => {
                        Some((**p).clone())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(fired.last(), Some(&pair), "side {i}: {fired:?}");
            assert!(local.contains(&pair.local), "{pair:?} {local:?}");
            assert!(remote.contains(&pair.remote), "{pair:?} {remote:?}");
            // gatheringstatechange and statechange of the ICE transport, and statechange of
            // its DTLS transport, each per transport and in order.
            let gathering: Vec<_> = ev
                .iter()
                .filter_map(|e| match e {
                    CoreEvent::IceTransportGatheringStateChange(t, s) if *t == id => Some(*s),
                    _ => None,
                })
                .collect();
            assert_eq!(
                gathering,
                [IceGatheringState::Gathering, IceGatheringState::Complete]
            );
            let ice: Vec<_> = ev
                .iter()
                .filter_map(|e| match e {
                    CoreEvent::IceTransportStateChange(t, s) if *t == id => Some(*s),
                    _ => None,
                })
                .collect();
            assert_eq!(ice.first(), Some(&IceConnectionState::Checking), "{ice:?}");
            assert!(matches!(
                ice.last(),
                Some(IceConnectionState::Connected | IceConnectionState::Completed)
            ));
            let dtls: Vec<_> = ev
                .iter()
                .filter_map(|e| match e {
                    CoreEvent::TransportDtlsStateChange(t, s) if *t == id => Some(*s),
                    _ => None,
                })
                .collect();
            assert_eq!(
                dtls,
                [DtlsTransportState::Connecting, DtlsTransportState::Connected]
            );
            // getRemoteCertificates() of that transport: the peer's certificate as its
            // own DTLS association saw it.
            let certs = c.dtls_remote_certificates_of(id);
            assert_eq!(certs.len(), 1);
            assert_eq!(certs[0], net.core(1 - i).session.certificate.der());
            assert_eq!(certs, c.dtls_remote_certificates());
        }
        // The primary's events stay the primary's.
        assert!(ev.iter().any(|e| matches!(e, CoreEvent::SelectedCandidatePairChange(_))));
    }
}

#[test]
fn an_extra_transport_whose_dtls_fails_fires_its_own_error_then_failed() {
    // Side 1 is told another certificate's fingerprint in the audio section: its DTLS
    // fails there with "fingerprint-failure" (RFC 8122 §5, webrtc-pc §5.5.1), and only
    // there.
    let wrong_audio_fingerprint = |sdp: String| {
        let mut sections: Vec<String> = sdp.split("\r\nm=").map(str::to_string).collect();
        let audio = sections
            .iter_mut()
            .find(|s| s.starts_with("audio "))
            .expect("an audio section");
        *audio = audio
            .split("\r\n")
            .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
                Some(v) => format!("a=fingerprint:sha-256 {}", v.replace(|c: char| c.is_ascii_hexdigit(), "A")),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        sections.join("\r\nm=")
    };
    let mut net = Net::unbundled_with(21, BundlePolicy::MaxCompat, wrong_audio_fingerprint);
    let audio_b = transport_of(&net, 1, net.media[1].0);
    let video_b = transport_of(&net, 1, net.media[1].1);
    net.run(Duration::from_secs(10), |n| {
        n.core(1).dtls_state_of(audio_b) == DtlsTransportState::Failed
            && n.core(1).dtls_state_of(video_b) == DtlsTransportState::Connected
    });
    assert_eq!(net.core(1).dtls_state_of(audio_b), DtlsTransportState::Failed);
    assert_eq!(net.core(1).dtls_state_of(video_b), DtlsTransportState::Connected);
    let ev = net.events(1);
    let error = ev
        .iter()
        .position(|e| matches!(e, CoreEvent::TransportDtlsError(t, _) if *t == audio_b))
        .expect("the audio transport's error");
    let CoreEvent::TransportDtlsError(_, err) = &ev[error] else {
        unreachable!()
    };
    assert!(err.to_string().contains("fingerprint"), "{err}");
    let failed = ev
        .iter()
        .position(|e| {
            matches!(e, CoreEvent::TransportDtlsStateChange(t, DtlsTransportState::Failed)
                if *t == audio_b)
        })
        .unwrap();
    assert!(error < failed, "error before statechange (webrtc-pc §5.5.1)");
    assert!(
        !ev.iter().any(|e| matches!(e, CoreEvent::DtlsError(_))
            || matches!(e, CoreEvent::TransportDtlsError(t, _) if *t != audio_b)),
        "no other transport fails"
    );
    // connectionState aggregates it (webrtc-pc §4.4.3).
    assert_eq!(net.core(1).connection_state(), PeerConnectionState::Failed);
    assert!(net.core(1).dtls_remote_certificates_of(audio_b).is_empty());
}

#[test]
fn stats_have_one_transport_entry_per_transport_and_media_linked_to_its_own() {
    let mut net = Net::unbundled(31, BundlePolicy::MaxCompat);
    net.connect();
    net.send_media(10);
    for i in 0..2 {
        let time = net.stats_time();
        let report = net.core_mut(i).stats(time, StatsSelector::All);
        let transports: Vec<_> = report.of_type("transport").map(|s| s.to_json()).collect();
        assert_eq!(transports.len(), 3, "{transports:#?}");
        let ids: Vec<String> = transports
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        for t in &transports {
            assert_eq!(t["dtlsState"], "connected", "{t:#}");
            assert!(t["selectedCandidatePairId"].is_string(), "{t:#}");
            assert!(t["remoteCertificateId"].is_string(), "{t:#}");
            assert!(t["bytesReceived"].as_u64().unwrap() > 0, "{t:#}");
        }
        let mut ufrags: Vec<&str> = transports
            .iter()
            .map(|t| t["iceLocalUsernameFragment"].as_str().unwrap())
            .collect();
        ufrags.sort();
        ufrags.dedup();
        assert_eq!(ufrags.len(), 3, "each transport its own credentials");
        // Every reference resolves.
        for s in report.iter() {
            for r in s.references() {
                assert!(report.get(r).is_some(), "{} -> {r}", s.id());
            }
        }
        // The streams of audio and video on their own transports, distinct, not the
        // data transport's; their codecs and candidate pairs on the same transport.
        let (audio, video) = net.media[i];
        let mut used = Vec::new();
        for (t, kind) in [(audio, "audio"), (video, "video")] {
            let want = transport_of(&net, i, t);
            let c = net.core(i);
            let number = 2 + c
                .extra_transport_ids()
                .iter()
                .position(|&x| x == want)
                .unwrap();
            let tid = format!("T{number:02}");
            assert!(ids.contains(&tid));
            for ty in ["outbound-rtp", "inbound-rtp"] {
                let s: Vec<_> = report
                    .of_type(ty)
                    .map(|s| s.to_json())
                    .filter(|s| s["kind"] == kind)
                    .collect();
                assert_eq!(s.len(), 1, "{ty} {kind}: {s:#?}");
                assert_eq!(s[0]["transportId"], tid.as_str(), "{:#}", s[0]);
                assert!(s[0]["packetsSent"].as_u64().unwrap_or(1) > 0);
                let codec = report.get(s[0]["codecId"].as_str().unwrap()).unwrap();
                assert_eq!(codec.to_json()["transportId"], tid.as_str());
            }
            let transport = transports.iter().find(|t| t["id"] == tid.as_str()).unwrap();
            let pair = report
                .get(transport["selectedCandidatePairId"].as_str().unwrap())
                .unwrap()
                .to_json();
            assert_eq!(pair["transportId"], tid.as_str());
            used.push(tid);
        }
        assert_ne!(used[0], used[1]);
        assert!(!used.contains(&"T01".to_string()), "T01 is the data transport");
        // A sender's report: its stream, its transport, not the others.
        let time = net.stats_time();
        let r = net.core_mut(i).stats(time, StatsSelector::Sender(audio));
        let t: Vec<_> = r.of_type("transport").map(|s| s.id().to_string()).collect();
        assert_eq!(t, [used[0].clone()]);
    }
}

#[test]
fn a_remote_restart_of_one_unbundled_transport_restarts_that_one_only() {
    // RFC 8445 §9 per transport, RFC 9429 §5.3.1 / §5.2.1 ("ice-ufrag" changed in one
    // section): the answerer restarts the agent of that section's transport alone.
    let mut net = Net::unbundled(41, BundlePolicy::MaxCompat);
    net.connect();
    let b = 1;
    let audio = transport_of(&net, b, net.media[b].0);
    let video = transport_of(&net, b, net.media[b].1);
    let primary = net.core(b).ice_transport().unwrap();
    let before = |n: &Net, t| n.core(b).ice_local_parameters(t).unwrap();
    let (a0, v0, p0) = (before(&net, audio), before(&net, video), before(&net, primary));
    // Side 0's next offer as it would be, its audio section with new credentials.
    let a_audio = net.media[0].0;
    let c = net.core_mut(0);
    let offer = c.create_offer(&Default::default()).unwrap();
    let audio_mid = c
        .transceiver_info(a_audio)
        .unwrap()
        .mid()
        .unwrap()
        .to_string();
    let mut sections: Vec<String> = strip_bundle(&offer.sdp)
        .split("\r\nm=")
        .map(str::to_string)
        .collect();
    let old = {
        let s = sections
            .iter_mut()
            .find(|s| s.contains(&format!("a=mid:{audio_mid}\r\n")))
            .unwrap();
        let ufrag = s
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_string();
        let pwd = s
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-pwd:"))
            .unwrap()
            .to_string();
        *s = s
            .replace(&format!("a=ice-ufrag:{ufrag}"), "a=ice-ufrag:RSTa")
            .replace(&format!("a=ice-pwd:{pwd}"), "a=ice-pwd:restartedpasswordrestarted");
        ufrag
    };
    let reoffer = sections.join("\r\nm=");
    net.clear_events();
    // Side 0 does not really restart: its peer's new candidates are not for it.
    net.trickle = false;
    let cb = net.core_mut(b);
    cb.set_remote_description(SessionDescription::new(SdpType::Offer, reoffer))
        .unwrap();
    cb.set_local_description(None).unwrap();
    let answer = cb.local_description().unwrap();
    let (a1, v1, p1) = (before(&net, audio), before(&net, video), before(&net, primary));
    assert_ne!(a1, a0, "the audio transport restarted");
    assert_eq!((v1, p1), (v0, p0), "the others did not");
    assert!(answer.sdp.contains(&format!("a=ice-ufrag:{}", a1.username_fragment)));
    let remote = net.core(b).ice_remote_parameters(audio).unwrap();
    assert_eq!(remote.username_fragment, "RSTa");
    assert_ne!(old, "RSTa");
    // Only the audio transport gathers again: its gathering state goes back to
    // "gathering" and its new candidates carry the new ufrag; the others stay connected.
    net.run(Duration::from_secs(2), |n| {
        n.core(b).ice_transport_gathering_state(audio) == IceGatheringState::Complete
            && !n.core(b).ice_local_candidates(audio).is_empty()
    });
    let ev = net.events(b);
    assert!(ev.iter().any(|e| matches!(e,
        CoreEvent::IceTransportGatheringStateChange(t, IceGatheringState::Gathering) if *t == audio)));
    for t in [video, primary] {
        assert!(
            !ev.iter()
                .any(|e| matches!(e, CoreEvent::IceTransportGatheringStateChange(x, _) if *x == t)),
            "{t:?} did not gather again"
        );
        assert!(matches!(
            net.core(b).ice_transport_state(t),
            IceConnectionState::Connected | IceConnectionState::Completed
        ));
    }
    for c in net.core(b).ice_local_candidates(audio) {
        assert_eq!(c.username_fragment(), Some(a1.username_fragment.clone()));
    }
    // Each transport entry of the statistics shows its own transport's state, not the
    // connection's aggregate (webrtc-stats §7.15 `iceState`).
    let time = net.stats_time();
    let report = net.core_mut(b).stats(time, StatsSelector::All);
    let by_ufrag = |u: &str| {
        report
            .of_type("transport")
            .map(|s| s.to_json())
            .find(|t| t["iceLocalUsernameFragment"] == u)
            .unwrap()
    };
    for t in [audio, video, primary] {
        let ufrag = net.core(b).ice_local_parameters(t).unwrap().username_fragment;
        let state = net.core(b).ice_transport_state(t).to_string();
        assert_eq!(by_ufrag(&ufrag)["iceState"], state.as_str(), "{t:?}");
    }
}

#[test]
fn an_extra_transport_reports_its_candidate_errors_on_the_connection() {
    // webrtc-pc §4.8.3: a STUN server that does not answer gives `icecandidateerror`
    // (701) for every local socket it was asked from, the extra transports' own sockets
    // included (they used to be only logged).
    let answerer = Configuration {
        ice_servers: vec![crate::config::IceServer {
            urls: vec!["stun:10.9.9.9:3478".into()],
            ..Default::default()
        }],
        ..Configuration::default()
    };
    let net = Net::unbundled_answerer(51, answerer);
    let c = net.core(1);
    let extra_ports: Vec<u16> = c
        .extra_transport_ids()
        .iter()
        .flat_map(|&id| c.ice_local_candidates(id))
        .filter_map(|cand| cand.port())
        .collect();
    assert!(!extra_ports.is_empty());
    let errors: Vec<_> = net
        .events(1)
        .iter()
        .filter_map(|e| match e {
            CoreEvent::IceCandidateError(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    for port in &extra_ports {
        let e = errors
            .iter()
            .find(|e| e.port == Some(*port))
            .unwrap_or_else(|| panic!("an error from port {port}: {errors:?}"));
        assert_eq!(e.error_code, 701);
        assert_eq!(e.url, "stun:10.9.9.9:3478");
        assert_eq!(e.address.as_deref(), Some("10.0.0.2"));
    }
    // And from the primary's socket, as before.
    assert!(errors.iter().any(|e| e.port == Some(1000)));
}

#[test]
fn balanced_sections_of_one_kind_left_unbundled_each_connect_on_their_own_transport() {
    // RFC 9429 §4.1.1 "balanced": the offer gathers one transport per media type (the two
    // audio sections share its credentials and candidates); the answer does not bundle,
    // so each audio section is a transport of its own (RFC 8843 §7, RFC 9429 §5.3.1):
    // the second one gathers on sockets of its own after the answer, its candidates go in
    // its own section (trickled), and it connects with the peer's credentials of that
    // section, as max-compat would.
    let mut net = Net::unbundled_two_audio(61, BundlePolicy::Balanced);
    net.connect();
    for i in 0..2 {
        let c = net.core(i);
        let mids: Vec<String> = c
            .transceiver_ids()
            .into_iter()
            .filter(|&t| c.transceiver_info(t).unwrap().kind() == MediaKind::Audio)
            .map(|t| c.transceiver_info(t).unwrap().mid().unwrap().to_string())
            .collect();
        assert_eq!(mids.len(), 2);
        let t: Vec<_> = mids
            .iter()
            .map(|m| c.transport_of_mid(m).unwrap())
            .collect();
        assert_ne!(t[0], t[1], "side {i}: a transport per audio section");
        let mut ports = Vec::new();
        for (id, mid) in t.iter().zip(&mids) {
            assert!(matches!(
                c.ice_transport_state(*id),
                IceConnectionState::Connected | IceConnectionState::Completed
            ));
            assert_eq!(c.dtls_state_of(*id), DtlsTransportState::Connected);
            let pair = c.ice_selected_candidate_pair(*id).unwrap();
            assert_eq!(pair.local.sdp_mid(), Some(mid.as_str()));
            assert_eq!(pair.remote.sdp_mid(), Some(mid.as_str()));
            ports.push(pair.local.port());
            // Its candidates are written in its own section of the local description.
            let local = c.local_description().unwrap().sdp;
            let section = local
                .split("\r\nm=")
                .find(|s| s.contains(&format!("a=mid:{mid}\r\n")))
                .unwrap();
            let port = pair.local.port().unwrap();
            assert!(
                section.contains(&format!(" {port} typ host")),
                "side {i} mid {mid}: {section}"
            );
        }
        assert_ne!(ports[0], ports[1], "sockets of its own");
        // The peer's credentials differ per section on the answerer's side.
        let remote: Vec<_> = t
            .iter()
            .map(|&id| c.ice_remote_parameters(id).unwrap().username_fragment)
            .collect();
        let local: Vec<_> = t
            .iter()
            .map(|&id| c.ice_local_parameters(id).unwrap().username_fragment)
            .collect();
        assert!(remote[0] != remote[1] || local[0] != local[1], "{remote:?} {local:?}");
    }
    // RTP on both audio sections, each received on its own transport.
    let a2 = |n: &Net, i: usize| {
        let c = n.core(i);
        c.transceiver_ids()
            .into_iter()
            .filter(|&t| c.transceiver_info(t).unwrap().kind() == MediaKind::Audio)
            .nth(1)
            .unwrap()
    };
    let (s, r) = (a2(&net, 0), a2(&net, 1));
    let now = net.stats_time().now;
    for k in 0..5u32 {
        let rtp = OutgoingRtp {
            payload_type: None,
            timestamp: k * 960,
            marker: true,
            payload: b"second",
        };
        assert!(net.core_mut(0).send_rtp(now, s, &rtp).is_some());
    }
    net.run(Duration::from_millis(200), |_| false);
    let time = net.stats_time();
    let report = net.core_mut(1).stats(time, StatsSelector::Receiver(r));
    let inbound: Vec<_> = report.of_type("inbound-rtp").map(|s| s.to_json()).collect();
    assert_eq!(inbound.len(), 1, "{inbound:#?}");
    assert_eq!(inbound[0]["packetsReceived"], 5);
}
