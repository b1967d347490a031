//! Several ICE+DTLS transports in one connection (RFC 8843 §7, RFC 9429 §5.3.1; issue 13
//! item 1): Chromium with `bundlePolicy: "max-compat"` offers audio, video and a data
//! channel, each m-section on its own transport; the `a=group:BUNDLE` line is stripped from
//! its offer before rtcpeer applies it, so rtcpeer must answer without BUNDLE, with one
//! ICE agent and one DTLS association per m-section. Each transport connects on both sides,
//! data flows on the data section's transport, and Chromium decodes the media rtcpeer
//! reflects on the audio and video sections' own transports.
//!
//! Every transport beyond rtcpeer's primary one is checked as the primary is (issue 13
//! item 1): its own candidates (as Chromium signalled them), remote certificate (the one
//! whose fingerprint Chromium put in that section), `selectedcandidatepairchange`, and its
//! own `transport` entry in `getStats` with its section's streams linked to it. And
//! rtcpeer's "balanced" offer with two audio sections, answered by Chromium without BUNDLE:
//! each audio section connects on a transport of its own.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_unbundled'`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::media::reflect;
use rtcpeer::{
    Configuration, DataChannelEvent, DtlsTransportState, IceGatheringState, Payload,
    PeerConnection, PeerConnectionEvent, PeerConnectionState, RtpTransceiverDirection,
    SessionDescription,
};
use serde_json::Value;

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

const PAGE: &str = r#"
window.H = {
  async setup() {
    const stream = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: 320, height: 240, frameRate: 30}});
    window.local = stream;
    window.pc = new RTCPeerConnection({iceServers: [], bundlePolicy: 'max-compat'});
    window.received = [];
    pc.ontrack = (e) => {
      const el = document.createElement(e.track.kind);
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    window.dc = pc.createDataChannel('chat');
    dc.onopen = () => dc.send('ping from chromium');
    dc.onmessage = (e) => received.push(e.data);
  },
  gathered() {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  // The offer as applied, gathered, with BUNDLE stripped (a peer that does not bundle).
  async offer() {
    await pc.setLocalDescription();
    await H.gathered();
    const sdp = pc.localDescription.sdp.split('\r\n')
      .filter(l => !l.startsWith('a=group:BUNDLE')).join('\r\n');
    return {type: 'offer', sdp};
  },
  async transports() {
    const out = [];
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'transport') out.push({id: s.id, dtls: s.dtlsState, ice: s.iceState});
    }
    return out;
  },
  senderStates() {
    return pc.getSenders().map(s => s.transport && s.transport.state);
  },
  async figures() {
    const out = {video: null, audio: null};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.video = {framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0};
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audio = {totalSamplesReceived: s.totalSamplesReceived || 0};
      }
    }
    return out;
  },
};
"#;

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
}

#[tokio::test]
async fn chromium_max_compat_offer_without_bundle_connects_one_transport_per_m_section() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: its 127.0.0.1 is not ours. \
         Run `scripts/test` (or the test inside `unshare --net`)."
    );
    chrome.eval(PAGE).await.expect("page helpers");
    chrome
        .eval("await H.setup(); return null")
        .await
        .expect("getUserMedia");
    let offer = chrome.eval("return await H.offer();").await.expect("offer");
    let offer_sdp = offer["sdp"].as_str().unwrap().to_string();
    assert!(!offer_sdp.contains("a=group:BUNDLE"));
    assert_eq!(offer_sdp.matches("\r\nm=").count(), 3, "{offer_sdp}");

    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let mut events = pc.events();
    let mut all_events = pc.events();
    pc.set_remote_description(desc(&offer))
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{offer_sdp}"));
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    assert_eq!(reflect(&pc), 2);
    pc.set_local_description(None).await.unwrap();
    tokio::time::timeout(LIMIT, async {
        let mut ev = pc.events();
        while pc.ice_gathering_state() != IceGatheringState::Complete {
            ev.recv().await;
        }
    })
    .await
    .expect("every transport gathers");
    let answer = pc.local_description().unwrap();
    // No BUNDLE, and one ufrag per m-section, each section with its own candidates and
    // end-of-candidates (RFC 8843 §7, RFC 8840 §4.2).
    assert!(!answer.sdp.contains("a=group:BUNDLE"), "{}", answer.sdp);
    let mut ufrags: Vec<&str> = answer
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .collect();
    assert_eq!(ufrags.len(), 3, "{}", answer.sdp);
    ufrags.sort_unstable();
    ufrags.dedup();
    assert_eq!(ufrags.len(), 3, "a ufrag per transport:\n{}", answer.sdp);
    for section in answer.sdp.split("\r\nm=").skip(1) {
        assert!(section.contains("a=candidate:"), "{section}");
        assert!(section.contains("a=end-of-candidates"), "{section}");
    }
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium accepts the answer: {e}\n{}", answer.sdp));

    // The data channel Chromium opened arrives, and echoes.
    let dc = tokio::time::timeout(LIMIT, async {
        loop {
            match events.recv().await {
                Some(PeerConnectionEvent::DataChannel(dc)) => return dc,
                Some(_) => {}
                None => panic!("connection closed"),
            }
        }
    })
    .await
    .expect("a datachannel event");
    let mut dc2 = dc.events();
    let got = tokio::time::timeout(LIMIT, async {
        loop {
            match dc2.recv().await {
                Some(DataChannelEvent::Message(Payload::Text(t))) => return t,
                Some(_) => {}
                None => panic!("channel gone"),
            }
        }
    })
    .await
    .expect("a message from Chromium");
    assert_eq!(got, "ping from chromium");
    dc.send_text("pong from rtcpeer").unwrap();
    chrome
        .wait_until("return received.includes('pong from rtcpeer');", LIMIT)
        .await
        .expect("Chromium receives the echo");

    // Every transport connected on both sides.
    tokio::time::timeout(LIMIT, async {
        let mut ev = pc.events();
        while pc.connection_state() != PeerConnectionState::Connected {
            ev.recv().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connectionState {:?}", pc.connection_state()));
    let transports = chrome
        .wait_until(
            "const t = await H.transports();
             return t.length === 3 && t.every(x => x.dtls === 'connected') && t;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("three connected transports in Chromium: {e}"));
    eprintln!("Chromium's transports: {transports}");
    let states = chrome.eval("return H.senderStates();").await.unwrap();
    assert_eq!(states, serde_json::json!(["connected", "connected"]));
    // rtcpeer: each media section on a transport of its own, distinct from the data one's.
    let sctp = pc.sctp().expect("an SCTP transport");
    let data_ice = sctp.ice_transport().expect("the data transport");
    let mut seen = vec![data_ice.clone()];
    for t in pc.get_transceivers() {
        let dtls = t.sender().transport().expect("a DTLS transport");
        assert_eq!(dtls.state(), DtlsTransportState::Connected);
        assert_eq!(t.receiver().transport().as_ref(), Some(&dtls));
        let ice = dtls.ice_transport().expect("its ICE transport");
        assert!(!seen.contains(&ice), "one transport per m-section");
        assert_eq!(ice.state(), rtcpeer::IceTransportState::Connected);
        assert!(ice.get_local_parameters().is_some());
        seen.push(ice);
    }
    extra_transports_as_chromium_signalled_them(&pc, &offer_sdp, &answer.sdp).await;
    let fired = std::iter::from_fn(|| all_events.try_recv())
        .filter(|e| {
            matches!(
                e,
                PeerConnectionEvent::TransportSelectedCandidatePairChange(..)
            )
        })
        .count();
    assert!(
        fired >= 2,
        "a selectedcandidatepairchange per media transport: {fired}"
    );

    // Media on the audio and video transports: Chromium decodes the reflection.
    let figures = chrome
        .wait_until(
            "const f = await H.figures();
             return f.video && f.audio && f.video.framesDecoded >= 30
               && f.audio.totalSamplesReceived >= 48000 && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium decodes the reflected media: {e}"));
    eprintln!("Chromium's figures: {figures}");
    assert_eq!(figures["video"]["frameWidth"], 320, "{figures}");
    // rtcpeer's report: a transport entry per transport, each media stream on its own.
    let report = pc.get_stats(None).await.unwrap();
    let entries: Vec<Value> = report.of_type("transport").map(|s| s.to_json()).collect();
    assert_eq!(entries.len(), 3, "{entries:#?}");
    for t in pc.get_transceivers() {
        let ufrag = t
            .sender()
            .transport()
            .unwrap()
            .ice_transport()
            .unwrap()
            .get_local_parameters()
            .unwrap()
            .username_fragment;
        let entry = entries
            .iter()
            .find(|e| e["iceLocalUsernameFragment"] == ufrag.as_str())
            .expect("the section's transport entry");
        let kind = t.kind().to_string();
        let inbound: Vec<Value> = report
            .of_type("inbound-rtp")
            .map(|s| s.to_json())
            .filter(|s| s["kind"] == kind.as_str())
            .collect();
        assert!(!inbound.is_empty(), "{kind}");
        for s in &inbound {
            assert_eq!(s["transportId"], entry["id"], "{s:#}");
        }
        for s in report.iter() {
            for r in s.references() {
                assert!(report.get(r).is_some(), "WPT-222: {} -> {r}", s.id());
            }
        }
    }
    pc.close();
    chrome.close().await.unwrap();
}

/// The `a=<attr>` values of the section with `mid` in `sdp`.
fn section_values<'a>(sdp: &'a str, mid: &str, attr: &str) -> Vec<&'a str> {
    let section = sdp
        .split("\r\nm=")
        .find(|s| s.contains(&format!("a=mid:{mid}\r\n")))
        .unwrap_or_else(|| panic!("no section {mid}"));
    let prefix = format!("a={attr}");
    section
        .split("\r\n")
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// WPT-333/336 for every media transport of rtcpeer's: its remote candidates are those
/// Chromium put in that section, its local ones those of rtcpeer's answer section, its
/// selected pair made of them, its remote certificate the one whose SHA-256 fingerprint
/// Chromium put in that section (read through rtcpeer's `certificate` stats entry).
async fn extra_transports_as_chromium_signalled_them(
    pc: &PeerConnection,
    offer: &str,
    answer: &str,
) {
    let report = pc.get_stats(None).await.unwrap();
    for t in pc.get_transceivers() {
        let mid = t.mid().unwrap();
        let dtls = t.sender().transport().unwrap();
        let ice = dtls.ice_transport().unwrap();
        let remote: Vec<String> = ice
            .get_remote_candidates()
            .iter()
            .map(|c| c.candidate().to_string())
            .collect();
        let signalled: Vec<String> = section_values(offer, &mid, "candidate:")
            .into_iter()
            .map(|c| format!("candidate:{c}"))
            .collect();
        assert!(!remote.is_empty());
        assert!(
            remote.iter().all(|c| signalled.contains(c)),
            "{mid}: {remote:?}"
        );
        let local: Vec<String> = ice
            .get_local_candidates()
            .iter()
            .map(|c| c.candidate().to_string())
            .collect();
        let ours: Vec<String> = section_values(answer, &mid, "candidate:")
            .into_iter()
            .map(|c| format!("candidate:{c}"))
            .collect();
        assert!(!local.is_empty());
        assert!(
            local.iter().all(|c| ours.contains(c)),
            "{mid}: {local:?} {ours:?}"
        );
        assert!(
            ice.get_local_candidates()
                .iter()
                .all(|c| c.sdp_mid() == Some(mid.as_str()))
        );
        let pair = ice.get_selected_candidate_pair().unwrap();
        assert!(local.contains(&pair.local.candidate().to_string()));
        assert!(remote.contains(&pair.remote.candidate().to_string()));
        let certs = dtls.get_remote_certificates();
        assert_eq!(certs.len(), 1, "{mid}");
        let fingerprint = section_values(offer, &mid, "fingerprint:sha-256 ");
        let ufrag = ice.get_local_parameters().unwrap().username_fragment;
        let entry = report
            .of_type("transport")
            .map(|s| s.to_json())
            .find(|e| e["iceLocalUsernameFragment"] == ufrag.as_str())
            .expect("its transport entry");
        let cert = report
            .get(entry["remoteCertificateId"].as_str().unwrap())
            .unwrap()
            .to_json();
        assert_eq!(
            cert["fingerprint"].as_str().map(str::to_ascii_uppercase),
            fingerprint.first().map(|f| f.to_ascii_uppercase()),
            "{mid}"
        );
    }
}

/// The page side of the second test: Chromium answers whatever rtcpeer offers, with a data
/// channel echo and the fake devices on the offered transceivers.
const ANSWERER: &str = r#"
window.A = {
  async answer(offer) {
    window.pc2 = new RTCPeerConnection({iceServers: []});
    window.echoed = [];
    pc2.ondatachannel = (e) => {
      e.channel.onmessage = (m) => { echoed.push(m.data); e.channel.send('echo ' + m.data); };
    };
    await pc2.setRemoteDescription(offer);
    await pc2.setLocalDescription();
    await new Promise(r => {
      if (pc2.iceGatheringState === 'complete') return r();
      pc2.addEventListener('icegatheringstatechange',
        () => pc2.iceGatheringState === 'complete' && r());
    });
    return pc2.localDescription;
  },
};
"#;

/// rtcpeer's own offers under `bundlePolicy` "max-compat" (a transport per m-section) and
/// "balanced" (one per media kind) still offer BUNDLE (RFC 9429 §4.1.1, §5.2.1); Chromium
/// accepts it, the unused transports are dropped, and data flows on the one left.
#[tokio::test]
async fn rtcpeer_max_compat_and_balanced_offers_connect_to_chromium_which_bundles() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(!chrome.has_own_netns(), "run inside `unshare --net`");
    chrome.eval(ANSWERER).await.expect("page helpers");
    for (policy, transports) in [
        (rtcpeer::BundlePolicy::MaxCompat, 4),
        (rtcpeer::BundlePolicy::Balanced, 3),
    ] {
        let pc = PeerConnection::new(Configuration {
            bundle_policy: policy,
            ..Configuration::default()
        })
        .unwrap();
        for kind in [
            rtcpeer::MediaKind::Audio,
            rtcpeer::MediaKind::Audio,
            rtcpeer::MediaKind::Video,
        ] {
            pc.add_transceiver(kind, rtcpeer::TransceiverInit::default())
                .unwrap();
        }
        let dc = pc.create_data_channel("chat", None).unwrap();
        pc.set_local_description(None).await.unwrap();
        tokio::time::timeout(LIMIT, async {
            let mut ev = pc.events();
            while pc.ice_gathering_state() != IceGatheringState::Complete {
                ev.recv().await;
            }
        })
        .await
        .expect("every transport gathers");
        let offer = pc.local_description().unwrap();
        assert!(
            offer.sdp.contains("a=group:BUNDLE 3 0 1 2"),
            "{}",
            offer.sdp
        );
        let mut ufrags: Vec<&str> = offer
            .sdp
            .lines()
            .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .collect();
        ufrags.sort_unstable();
        ufrags.dedup();
        assert_eq!(ufrags.len(), transports, "{policy:?}:\n{}", offer.sdp);
        let before: Vec<_> = pc
            .get_transceivers()
            .iter()
            .map(|t| t.sender().transport().unwrap().ice_transport().unwrap())
            .collect();
        let answer = chrome
            .eval(&format!("return await A.answer({});", js_literal(&offer)))
            .await
            .unwrap_or_else(|e| panic!("Chromium answers: {e}\n{}", offer.sdp));
        assert!(answer["sdp"].as_str().unwrap().contains("a=group:BUNDLE"));
        pc.set_remote_description(desc(&answer)).await.unwrap();
        for t in &before {
            assert_eq!(t.state(), rtcpeer::IceTransportState::Closed, "{policy:?}");
        }
        tokio::time::timeout(LIMIT, async {
            let mut ev = pc.events();
            while pc.connection_state() != PeerConnectionState::Connected {
                ev.recv().await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{policy:?}: connectionState {:?} ice {:?} dtls {:?}\nanswer:\n{}",
                pc.connection_state(),
                pc.ice_connection_state(),
                pc.sctp().map(|s| s.transport().state()),
                answer["sdp"].as_str().unwrap()
            )
        });
        let mut events = dc.events();
        tokio::time::timeout(LIMIT, async {
            while dc.ready_state() != rtcpeer::DataChannelState::Open {
                events.recv().await;
            }
        })
        .await
        .expect("the channel opens");
        dc.send_text("hello").unwrap();
        let got = tokio::time::timeout(LIMIT, async {
            loop {
                if let Some(DataChannelEvent::Message(Payload::Text(t))) = events.recv().await {
                    return t;
                }
            }
        })
        .await
        .expect("the echo");
        assert_eq!(got, "echo hello");
        pc.close();
        chrome.eval("pc2.close(); return null").await.unwrap();
    }
    chrome.close().await.unwrap();
}

/// RFC 9429 §4.1.1 "balanced": rtcpeer's offer gathers one transport per media type (its
/// two audio sections share credentials and candidates). Chromium is given the offer
/// without BUNDLE and answers with a transport per m-section (as libwebrtc does for any
/// unbundled section); rtcpeer then gives its second audio section a transport of its own
/// (its candidates written into that section and handed to Chromium by `addIceCandidate`),
/// and both audio sections carry RTP that Chromium receives on its own transports.
#[tokio::test]
async fn rtcpeer_balanced_offer_answered_by_chromium_without_bundle_connects_each_audio_section() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(!chrome.has_own_netns(), "run inside `unshare --net`");
    chrome.eval(ANSWERER).await.expect("page helpers");
    chrome
        .eval(
            "window.A.inbound = async () => {
               const out = {};
               for (const s of (await pc2.getStats()).values()) {
                 if (s.type === 'inbound-rtp') out[s.mid] = s.packetsReceived;
               }
               return out;
             };
             window.A.transports = async () => {
               const out = [];
               for (const s of (await pc2.getStats()).values()) {
                 if (s.type === 'transport') out.push(s.dtlsState);
               }
               return out;
             };
             return null",
        )
        .await
        .unwrap();
    let pc = PeerConnection::new(Configuration {
        bundle_policy: rtcpeer::BundlePolicy::Balanced,
        ..Configuration::default()
    })
    .unwrap();
    for kind in [
        rtcpeer::MediaKind::Audio,
        rtcpeer::MediaKind::Audio,
        rtcpeer::MediaKind::Video,
    ] {
        let init = rtcpeer::TransceiverInit {
            direction: RtpTransceiverDirection::SendOnly,
            ..rtcpeer::TransceiverInit::default()
        };
        pc.add_transceiver(kind, init).unwrap();
    }
    let _dc = pc.create_data_channel("chat", None).unwrap();
    pc.set_local_description(None).await.unwrap();
    tokio::time::timeout(LIMIT, async {
        let mut ev = pc.events();
        while pc.ice_gathering_state() != IceGatheringState::Complete {
            ev.recv().await;
        }
    })
    .await
    .expect("every transport gathers");
    let offer = pc.local_description().unwrap();
    let stripped: String = offer
        .sdp
        .split("\r\n")
        .filter(|l| !l.starts_with("a=group:BUNDLE"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let audio: Vec<rtcpeer::RtpTransceiver> = pc
        .get_transceivers()
        .into_iter()
        .filter(|t| t.kind() == rtcpeer::MediaKind::Audio)
        .collect();
    let mids: Vec<String> = audio.iter().map(|t| t.mid().unwrap()).collect();
    // One transport for both audio sections in the offer.
    assert_eq!(
        section_values(&stripped, &mids[0], "ice-ufrag:"),
        section_values(&stripped, &mids[1], "ice-ufrag:")
    );
    let offer_json = serde_json::json!({"type": "offer", "sdp": stripped});
    let answer = chrome
        .eval(&format!("return await A.answer({offer_json});"))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\n{stripped}"));
    let answer_sdp = answer["sdp"].as_str().unwrap().to_string();
    assert!(!answer_sdp.contains("a=group:BUNDLE"), "{answer_sdp}");
    eprintln!(
        "Chromium's answer ufrags: {:?}",
        answer_sdp
            .lines()
            .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .collect::<Vec<_>>()
    );
    pc.set_remote_description(desc(&answer)).await.unwrap();
    // The second audio section's own transport gathers; its candidates go in its section.
    let second = mids[1].clone();
    tokio::time::timeout(LIMIT, async {
        let mut ev = pc.events();
        loop {
            let sdp = pc.local_description().unwrap().sdp;
            let section = sdp
                .split("\r\nm=")
                .find(|s| s.contains(&format!("a=mid:{second}\r\n")))
                .unwrap()
                .to_string();
            if section.contains("a=candidate:") && section.contains("a=end-of-candidates") {
                break;
            }
            ev.recv().await;
        }
    })
    .await
    .expect("the second audio transport gathers");
    let local = pc.local_description().unwrap().sdp;
    for c in section_values(&local, &second, "candidate:") {
        let init = serde_json::json!({"candidate": format!("candidate:{c}"), "sdpMid": second});
        chrome
            .eval(&format!("await pc2.addIceCandidate({init}); return null"))
            .await
            .unwrap_or_else(|e| panic!("Chromium takes the candidate: {e}"));
    }
    tokio::time::timeout(LIMIT, async {
        let mut ev = pc.events();
        while pc.connection_state() != PeerConnectionState::Connected {
            ev.recv().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connectionState {:?}", pc.connection_state()));
    let ice: Vec<_> = audio
        .iter()
        .map(|t| t.sender().transport().unwrap().ice_transport().unwrap())
        .collect();
    assert_ne!(ice[0], ice[1], "a transport per audio section");
    for (i, t) in ice.iter().enumerate() {
        let pair = t.get_selected_candidate_pair().expect("a selected pair");
        assert_eq!(pair.local.sdp_mid(), Some(mids[i].as_str()));
        assert_eq!(pair.remote.sdp_mid(), Some(mids[i].as_str()));
    }
    chrome
        .wait_until(
            "const t = await A.transports(); return t.length === 4 && t.every(x => x === 'connected') && t;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("four connected transports in Chromium: {e}"));
    // RTP on both audio sections, each counted by Chromium on its section.
    for k in 0..50u32 {
        for t in &audio {
            let rtp = rtcpeer::OutgoingRtp {
                payload_type: None,
                timestamp: k * 960,
                marker: false,
                payload: &[0xf8, 0xff, 0xfe],
            };
            assert!(t.sender().send_rtp(&rtp).is_some());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counts = chrome
        .wait_until(
            &format!(
                "const c = await A.inbound(); return c['{}'] > 0 && c['{}'] > 0 && c;",
                mids[0], mids[1]
            ),
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium receives both audio sections: {e}"));
    eprintln!("Chromium's inbound packets per mid: {counts}");
    pc.close();
    chrome.close().await.unwrap();
}

/// Chromium's re-offer restarting ICE on its audio section alone (new `a=ice-ufrag` and
/// `a=ice-pwd` there only, RFC 8445 §9; the section's transport restarts in libwebrtc
/// as that transport's credentials changed).
const RESTART_ONE: &str = r#"
window.H.restartOne = async (mid) => {
  const offer = await pc.createOffer();
  const sections = offer.sdp.split('\r\nm=');
  const i = sections.findIndex(s => s.includes('\r\na=mid:' + mid + '\r\n'));
  sections[i] = sections[i]
    .replace(/a=ice-ufrag:[^\r]*/, 'a=ice-ufrag:rSt1')
    .replace(/a=ice-pwd:[^\r]*/, 'a=ice-pwd:restartedpasswordrestarted1');
  await pc.setLocalDescription({type: 'offer', sdp: sections.join('\r\nm=')});
  await H.gathered();
  const sdp = pc.localDescription.sdp.split('\r\n')
    .filter(l => !l.startsWith('a=group:BUNDLE')).join('\r\n');
  return {type: 'offer', sdp};
};
window.H.audioSamples = async () => {
  for (const s of (await pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') return s.totalSamplesReceived || 0;
  }
  return 0;
};
"#;

/// Issue 13 item 1, last sentence: Chromium restarts ICE on one m-section of an unbundled
/// session; rtcpeer's answer restarts that section's transport alone (new credentials
/// there, the others' unchanged), it connects again, and media flows on it.
#[tokio::test]
async fn chromium_restarting_one_unbundled_section_restarts_that_transport_only() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(!chrome.has_own_netns(), "run inside `unshare --net`");
    chrome.eval(PAGE).await.expect("page helpers");
    chrome.eval(RESTART_ONE).await.expect("page helpers");
    chrome
        .eval("await H.setup(); return null")
        .await
        .expect("getUserMedia");
    let offer = chrome.eval("return await H.offer();").await.expect("offer");
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer)).await.unwrap();
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    assert_eq!(reflect(&pc), 2);
    pc.set_local_description(None).await.unwrap();
    let gathered = |pc: &PeerConnection| {
        let pc = pc.clone();
        async move {
            tokio::time::timeout(LIMIT, async {
                let mut ev = pc.events();
                while pc.ice_gathering_state() != IceGatheringState::Complete {
                    ev.recv().await;
                }
            })
            .await
            .expect("gathering completes")
        }
    };
    gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap();
    let connected = |pc: &PeerConnection| {
        let pc = pc.clone();
        async move {
            tokio::time::timeout(LIMIT, async {
                let mut ev = pc.events();
                while pc.connection_state() != PeerConnectionState::Connected {
                    ev.recv().await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("connectionState {:?}", pc.connection_state()))
        }
    };
    connected(&pc).await;
    let of = |kind| {
        pc.get_transceivers()
            .into_iter()
            .find(|t| t.kind() == kind)
            .unwrap()
    };
    let (audio, video) = (of(rtcpeer::MediaKind::Audio), of(rtcpeer::MediaKind::Video));
    let ice_of =
        |t: &rtcpeer::RtpTransceiver| t.sender().transport().unwrap().ice_transport().unwrap();
    let data_ice = pc.sctp().unwrap().ice_transport().unwrap();
    let params = |i: &rtcpeer::IceTransport| i.get_local_parameters().unwrap().username_fragment;
    let before = [
        params(&ice_of(&audio)),
        params(&ice_of(&video)),
        params(&data_ice),
    ];

    let mid = audio.mid().unwrap();
    let reoffer = chrome
        .eval(&format!("return await H.restartOne('{mid}');"))
        .await
        .unwrap_or_else(|e| panic!("Chromium restarts its audio section: {e}"));
    let reoffer_sdp = reoffer["sdp"].as_str().unwrap().to_string();
    assert_eq!(section_values(&reoffer_sdp, &mid, "ice-ufrag:"), ["rSt1"]);
    let mut events = pc.events();
    pc.set_remote_description(desc(&reoffer)).await.unwrap();
    pc.set_local_description(None).await.unwrap();
    gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap();
    let after = [
        params(&ice_of(&audio)),
        params(&ice_of(&video)),
        params(&data_ice),
    ];
    assert_ne!(after[0], before[0], "the audio transport restarted");
    assert_eq!(after[1..], before[1..], "video and data did not");
    assert_eq!(
        ice_of(&audio)
            .get_remote_parameters()
            .unwrap()
            .username_fragment,
        "rSt1"
    );
    // The audio transport connects again with the new credentials; the others never left.
    let audio_ice = ice_of(&audio);
    tokio::time::timeout(LIMIT, async {
        loop {
            let pair = audio_ice.get_selected_candidate_pair();
            if matches!(
                audio_ice.state(),
                rtcpeer::IceTransportState::Connected | rtcpeer::IceTransportState::Completed
            ) && pair
                .is_some_and(|p| p.local.username_fragment().as_deref() == Some(after[0].as_str()))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("audio transport {:?}", audio_ice.state()));
    let gathered_again: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .filter_map(|e| match e {
            PeerConnectionEvent::IceTransportGatheringStateChange(
                t,
                IceGatheringState::Gathering,
            ) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        gathered_again.contains(&audio_ice),
        "the audio transport gathered again"
    );
    assert!(
        !gathered_again.contains(&ice_of(&video)),
        "the video transport did not"
    );
    assert!(
        !gathered_again.contains(&data_ice),
        "the data transport did not"
    );
    // Media flows on the restarted transport: Chromium's audio keeps decoding.
    let n0 = chrome.eval("return await H.audioSamples();").await.unwrap();
    let n0 = n0.as_f64().unwrap();
    chrome
        .wait_until(
            &format!("const n = await H.audioSamples(); return n > {n0} + 48000 && n;"),
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("audio flows after the restart: {e}"));
    pc.close();
    chrome.close().await.unwrap();
}
