//! `getStats()` compared with headless Chromium's (issue 14): rtcpeer offers a data channel,
//! an audio and a video track; Chromium answers with its fake microphone and camera and
//! echoes the channel's messages; rtcpeer reflects Chromium's media (tests/common/media.rs).
//! Both reports are read live once each has every type it will have, and compared per
//! stats type by member names:
//!
//! - every member rtcpeer reports is a member of the W3C webrtc-stats dictionary of its type
//!   (rtcpeer invents nothing);
//! - a member or type Chromium reports and rtcpeer lacks must be in [`ACCEPTED_MISSING`],
//!   with its reason; a member rtcpeer reports and Chromium lacks must be in
//!   [`ACCEPTED_EXTRA`]. Any other difference fails.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_stats'`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::media::reflect;
use common::net::wait_connected;
use rtcpeer::{
    AudioPlayout, Configuration, IceGatheringState, MediaKind, MediaStreamTrack, PeerConnection,
    SessionDescription, StatsReport,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(40);

/// The W3C webrtc-stats members of each type (W3C Candidate Recommendation and editor's
/// draft, with the inherited dictionaries: `RTCStats`, `RTCRtpStreamStats`,
/// `RTCReceivedRtpStreamStats`, `RTCSentRtpStreamStats`).
const W3C: &[(&str, &str)] = &[
    ("*", "id timestamp type"),
    (
        "codec",
        "payloadType transportId mimeType clockRate channels sdpFmtpLine",
    ),
    (
        "inbound-rtp",
        "ssrc kind transportId codecId packetsReceived packetsReceivedWithEct1 \
         packetsReceivedWithCe packetsReportedAsLost packetsReportedAsLostButRecovered \
         packetsLost jitter trackIdentifier mid remoteId framesDecoded keyFramesDecoded \
         framesRendered framesDropped frameWidth frameHeight framesPerSecond qpSum \
         totalDecodeTime totalInterFrameDelay totalSquaredInterFrameDelay pauseCount \
         totalPausesDuration freezeCount totalFreezesDuration lastPacketReceivedTimestamp \
         headerBytesReceived packetsDiscarded fecBytesReceived fecPacketsReceived \
         fecPacketsDiscarded bytesReceived nackCount firCount pliCount totalProcessingDelay \
         estimatedPlayoutTimestamp jitterBufferDelay jitterBufferTargetDelay \
         jitterBufferEmittedCount jitterBufferMinimumDelay totalSamplesReceived \
         concealedSamples silentConcealedSamples concealmentEvents \
         insertedSamplesForDeceleration removedSamplesForAcceleration audioLevel \
         totalAudioEnergy totalSamplesDuration framesReceived decoderImplementation playoutId \
         powerEfficientDecoder framesAssembledFromMultiplePackets totalAssemblyTime \
         retransmittedPacketsReceived retransmittedBytesReceived rtxSsrc fecSsrc \
         totalCorruptionProbability totalSquaredCorruptionProbability corruptionMeasurements",
    ),
    (
        "remote-inbound-rtp",
        "ssrc kind transportId codecId packetsReceived packetsReceivedWithEct1 \
         packetsReceivedWithCe packetsReportedAsLost packetsReportedAsLostButRecovered \
         packetsLost jitter localId roundTripTime totalRoundTripTime fractionLost \
         roundTripTimeMeasurements packetsWithBleachedEct1Marking",
    ),
    (
        "outbound-rtp",
        "ssrc kind transportId codecId packetsSent bytesSent packetsSentWithEct1 mid \
         mediaSourceId remoteId rid encodingIndex headerBytesSent retransmittedPacketsSent \
         retransmittedBytesSent rtxSsrc targetBitrate totalEncodedBytesTarget frameWidth \
         frameHeight framesPerSecond framesSent hugeFramesSent framesEncoded keyFramesEncoded \
         qpSum psnrSum psnrMeasurements totalEncodeTime totalPacketSendDelay \
         qualityLimitationReason qualityLimitationDurations \
         qualityLimitationResolutionChanges nackCount firCount pliCount \
         encoderImplementation powerEfficientEncoder active scalabilityMode",
    ),
    (
        "remote-outbound-rtp",
        "ssrc kind transportId codecId packetsSent bytesSent packetsSentWithEct1 localId \
         remoteTimestamp reportsSent roundTripTime totalRoundTripTime \
         roundTripTimeMeasurements",
    ),
    (
        "media-source",
        "trackIdentifier kind audioLevel totalAudioEnergy totalSamplesDuration echoReturnLoss \
         echoReturnLossEnhancement width height frames framesPerSecond",
    ),
    (
        "media-playout",
        "kind synthesizedSamplesDuration synthesizedSamplesEvents totalSamplesDuration \
         totalPlayoutDelay totalSamplesCount",
    ),
    ("peer-connection", "dataChannelsOpened dataChannelsClosed"),
    (
        "data-channel",
        "label protocol dataChannelIdentifier state messagesSent bytesSent messagesReceived \
         bytesReceived",
    ),
    (
        "transport",
        "packetsSent packetsReceived bytesSent bytesReceived iceRole \
         iceLocalUsernameFragment dtlsState iceState selectedCandidatePairId \
         localCertificateId remoteCertificateId tlsVersion dtlsCipher dtlsRole srtpCipher \
         selectedCandidatePairChanges ccfbMessagesSent ccfbMessagesReceived",
    ),
    (
        "local-candidate",
        "transportId address port protocol candidateType priority url relayProtocol \
         foundation relatedAddress relatedPort usernameFragment tcpType",
    ),
    (
        "remote-candidate",
        "transportId address port protocol candidateType priority url relayProtocol \
         foundation relatedAddress relatedPort usernameFragment tcpType",
    ),
    (
        "candidate-pair",
        "transportId localCandidateId remoteCandidateId state nominated packetsSent \
         packetsReceived bytesSent bytesReceived lastPacketSentTimestamp \
         lastPacketReceivedTimestamp totalRoundTripTime currentRoundTripTime \
         availableOutgoingBitrate availableIncomingBitrate requestsReceived requestsSent \
         responsesReceived responsesSent consentRequestsSent packetsDiscardedOnSend \
         bytesDiscardedOnSend",
    ),
    (
        "certificate",
        "fingerprint fingerprintAlgorithm base64Certificate issuerCertificateId",
    ),
];

/// Types and members Chromium reports that rtcpeer does not, each with the reason
/// ("type", "member" or "*" for the whole type, reason).
const ACCEPTED_MISSING: &[(&str, &str, &str)] = &[
    (
        "candidate-pair",
        "availableOutgoingBitrate",
        "present once media sent with transport-cc got feedback (no media here)",
    ),
    (
        "candidate-pair",
        "availableIncomingBitrate",
        "no receive-side bandwidth estimate",
    ),
    (
        "candidate-pair",
        "bytesDiscardedOnSend",
        "socket send errors are seen by the driver, not counted by the core",
    ),
    (
        "candidate-pair",
        "packetsDiscardedOnSend",
        "socket send errors are seen by the driver, not counted by the core",
    ),
    (
        "candidate-pair",
        "priority",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "candidate-pair",
        "writable",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "local-candidate",
        "ip",
        "not a W3C member (Chromium-only or obsolete) (old name of address)",
    ),
    (
        "local-candidate",
        "isRemote",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "local-candidate",
        "networkType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "local-candidate",
        "vpn",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "local-candidate",
        "networkAdapterType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "local-candidate",
        "url",
        "only relay/srflx candidates from ICE servers have one; none here",
    ),
    (
        "local-candidate",
        "relayProtocol",
        "no TURN relay candidates in this test",
    ),
    (
        "remote-candidate",
        "ip",
        "not a W3C member (Chromium-only or obsolete) (old name of address)",
    ),
    (
        "remote-candidate",
        "isRemote",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "inbound-rtp",
        "mediaType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "outbound-rtp",
        "mediaType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "remote-inbound-rtp",
        "mediaType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "remote-outbound-rtp",
        "mediaType",
        "not a W3C member (Chromium-only or obsolete)",
    ),
    (
        "remote-outbound-rtp",
        "roundTripTimeMeasurements",
        "needs RTCP XR RRTR/DLRR (RFC 3611 §4.4-4.5), not exchanged by rtcpeer",
    ),
    (
        "remote-outbound-rtp",
        "totalRoundTripTime",
        "needs RTCP XR RRTR/DLRR (RFC 3611 §4.4-4.5), not exchanged by rtcpeer",
    ),
    (
        "remote-outbound-rtp",
        "roundTripTime",
        "needs RTCP XR RRTR/DLRR (RFC 3611 §4.4-4.5), not exchanged by rtcpeer",
    ),
    (
        "inbound-rtp",
        "packetsReceivedWithCe",
        "UDP sockets do not report ECN marks to the core, and rtcpeer sends no ECT(1)",
    ),
    (
        "inbound-rtp",
        "packetsReceivedWithEct1",
        "UDP sockets do not report ECN marks to the core, and rtcpeer sends no ECT(1)",
    ),
    (
        "outbound-rtp",
        "packetsSentWithEct1",
        "UDP sockets do not report ECN marks to the core, and rtcpeer sends no ECT(1)",
    ),
    (
        "inbound-rtp",
        "rtxSsrc",
        "the session learns the RTX SSRC from RTX packets, it does not keep the signalled FID group",
    ),
    (
        "inbound-rtp",
        "fecSsrc",
        "FEC arrives inside RED on the media SSRC; a separate FEC SSRC is not tracked",
    ),
    (
        "inbound-rtp",
        "fecBytesReceived",
        "FEC packets are counted, their bytes are not kept",
    ),
    (
        "inbound-rtp",
        "packetsDiscarded",
        "rtcpeer plays nothing out: no jitter buffer or audio device (discarded by the jitter buffer)",
    ),
    (
        "inbound-rtp",
        "playoutId",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "estimatedPlayoutTimestamp",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "audioLevel",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalAudioEnergy",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalSamplesDuration",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalSamplesReceived",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "concealedSamples",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "silentConcealedSamples",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "concealmentEvents",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "insertedSamplesForDeceleration",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "removedSamplesForAcceleration",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "jitterBufferDelay",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "jitterBufferEmittedCount",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "jitterBufferMinimumDelay",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "jitterBufferTargetDelay",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "totalProcessingDelay",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "decoderImplementation",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "powerEfficientDecoder",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "framesDecoded",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "keyFramesDecoded",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "framesDropped",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "framesRendered",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "frameWidth",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "frameHeight",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "framesPerSecond",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "qpSum",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalDecodeTime",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalInterFrameDelay",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "totalSquaredInterFrameDelay",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "pauseCount",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "totalPausesDuration",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "freezeCount",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "totalFreezesDuration",
        "rtcpeer plays nothing out: no jitter buffer or audio device",
    ),
    (
        "inbound-rtp",
        "totalCorruptionProbability",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "totalSquaredCorruptionProbability",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "corruptionMeasurements",
        "rtcpeer hands encoded media to the application: no decoder",
    ),
    (
        "inbound-rtp",
        "framesReceived",
        "the reflector reads RTP packets; frames are counted only in ReceiveMode::Frames / send_frame",
    ),
    (
        "inbound-rtp",
        "framesAssembledFromMultiplePackets",
        "the reflector reads RTP packets; frames are counted only in ReceiveMode::Frames / send_frame",
    ),
    (
        "inbound-rtp",
        "totalAssemblyTime",
        "the reflector reads RTP packets; frames are counted only in ReceiveMode::Frames / send_frame",
    ),
    (
        "media-source",
        "audioLevel",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "totalAudioEnergy",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "totalSamplesDuration",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "echoReturnLoss",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "echoReturnLossEnhancement",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "width",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "height",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "frames",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "media-source",
        "framesPerSecond",
        "rtcpeer captures nothing: the application's track has no samples rtcpeer sees",
    ),
    (
        "outbound-rtp",
        "encoderImplementation",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "powerEfficientEncoder",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "frameWidth",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "frameHeight",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "framesPerSecond",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "framesEncoded",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "keyFramesEncoded",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "qpSum",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "totalEncodeTime",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "targetBitrate",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "totalEncodedBytesTarget",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "qualityLimitationDurations",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "qualityLimitationReason",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "qualityLimitationResolutionChanges",
        "rtcpeer sends the application's encoded media: no encoder",
    ),
    (
        "outbound-rtp",
        "scalabilityMode",
        "rtcpeer sends the application's encoded media: no encoder (the application's encoder chooses it)",
    ),
    (
        "outbound-rtp",
        "framesSent",
        "the reflector reads RTP packets; frames are counted only in ReceiveMode::Frames / send_frame",
    ),
    (
        "outbound-rtp",
        "hugeFramesSent",
        "the reflector reads RTP packets; frames are counted only in ReceiveMode::Frames / send_frame",
    ),
    (
        "outbound-rtp",
        "totalPacketSendDelay",
        "no pacer: packets leave at the next poll, the queueing delay is not measured",
    ),
];

/// Members rtcpeer reports that Chromium does not, each with the reason.
const ACCEPTED_EXTRA: &[(&str, &str, &str)] = &[
    (
        "inbound-rtp",
        "retransmittedPacketsReceived",
        "W3C member Chromium does not implement; rtcpeer counts RTX packets (RFC 4588)",
    ),
    (
        "inbound-rtp",
        "retransmittedBytesReceived",
        "W3C member Chromium does not implement; rtcpeer counts RTX payload bytes",
    ),
];

const PAGE: &str = r#"
window.H = {
  async setup() {
    const stream = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: 320, height: 240, frameRate: 30}});
    window.local = stream;
    window.pc = new RTCPeerConnection({iceServers: []});
    pc.ontrack = (e) => {
      const el = document.createElement(e.track.kind);
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
    pc.ondatachannel = (e) => {
      window.dc = e.channel;
      dc.onmessage = (m) => dc.send(m.data);
    };
  },
  async attachToOffered() {
    for (const tr of pc.getTransceivers()) {
      const track = local.getTracks().find(t => t.kind === tr.receiver.track.kind);
      tr.direction = 'sendrecv';
      await tr.sender.replaceTrack(track);
      tr.sender.setStreams(local);
    }
  },
  gathered() {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  async sld() {
    await pc.setLocalDescription();
    await H.gathered();
    return pc.localDescription;
  },
  // Member names per stats type, sorted.
  async fields() {
    const out = {};
    for (const s of (await pc.getStats()).values()) {
      const set = out[s.type] || (out[s.type] = new Set());
      for (const k of Object.keys(s)) set.add(k);
    }
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
  },
};
"#;

type Fields = BTreeMap<String, BTreeSet<String>>;

fn fields_of(report: &StatsReport) -> Fields {
    let mut out = Fields::new();
    for s in report {
        let set = out.entry(s.type_name().to_string()).or_default();
        if let Value::Object(o) = s.to_json() {
            set.extend(o.keys().cloned());
        }
    }
    out
}

fn chromium_fields(v: &Value) -> Fields {
    let mut out = Fields::new();
    for (t, names) in v.as_object().expect("an object of types") {
        let set = names
            .as_array()
            .expect("member names")
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        out.insert(t.clone(), set);
    }
    out
}

fn w3c_members(type_name: &str) -> Option<BTreeSet<&'static str>> {
    let own = W3C.iter().find(|(t, _)| *t == type_name)?.1;
    let base = W3C[0].1;
    Some(
        base.split_whitespace()
            .chain(own.split_whitespace())
            .collect(),
    )
}

async fn wait_gathered(pc: &PeerConnection) {
    let mut ev = pc.events();
    tokio::time::timeout(LIMIT, async {
        while pc.ice_gathering_state() != IceGatheringState::Complete {
            ev.recv().await;
        }
    })
    .await
    .expect("gathering completes");
}

/// The types each side is expected to reach before the comparison.
const RTCPEER_TYPES: &[&str] = &[
    "media-playout",
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
    "media-source",
];

#[tokio::test]
async fn rtcpeer_reports_the_members_chromium_reports_or_says_why_not() {
    let mut chrome = Chromium::launch_or_panic().await;
    assert!(
        !chrome.has_own_netns(),
        "Chromium runs in its own network namespace: run inside `unshare --net`."
    );
    chrome.eval(PAGE).await.expect("page helpers");
    chrome
        .eval("await H.setup(); return null")
        .await
        .expect("getUserMedia");
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let dc = pc.create_data_channel("chat", None).unwrap();
    let tracks = [
        MediaStreamTrack::new(MediaKind::Audio, "reflected audio"),
        MediaStreamTrack::new(MediaKind::Video, "reflected video"),
    ];
    for t in &tracks {
        pc.add_track(t, &[]).unwrap();
    }
    assert_eq!(reflect(&pc), 2);
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let offer = pc.local_description().unwrap();
    let answer = chrome
        .eval(&format!(
            "await pc.setRemoteDescription({});
             await H.attachToOffered();
             return await H.sld();",
            js_literal(&offer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\noffer:\n{}", offer.sdp));
    let answer: SessionDescription = serde_json::from_value(answer).unwrap();
    pc.set_remote_description(answer).await.unwrap();
    wait_connected(&pc).await;
    // The application plays the received audio (a real one would decode it first): its
    // reports make the receiver's media-playout entry.
    let audio = pc
        .get_receivers()
        .into_iter()
        .find(|r| r.track().kind() == MediaKind::Audio)
        .unwrap();
    audio
        .report_audio_playout(&AudioPlayout {
            samples: 960,
            sample_rate: 48_000,
            synthesized: false,
            delay: Duration::from_millis(30),
        })
        .unwrap();
    // Messages both ways: Chromium echoes each one.
    let mut events = dc.events();
    tokio::time::timeout(LIMIT, async {
        while dc.ready_state().to_string() != "open" {
            events.recv().await;
        }
    })
    .await
    .expect("the channel opens");
    for i in 0..5 {
        dc.send_text(&format!("hello {i}")).unwrap();
    }
    // Chromium's report, once it has every type it will have for this connection.
    let chromium = chrome
        .wait_until(
            "const f = await H.fields();
             const want = ['inbound-rtp', 'outbound-rtp', 'remote-inbound-rtp',
               'remote-outbound-rtp', 'media-source', 'data-channel', 'candidate-pair',
               'certificate', 'codec', 'transport'];
             return want.every(t => f[t]) && f['data-channel'].includes('messagesReceived')
               && f['remote-inbound-rtp'].includes('roundTripTime') && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium's report fills: {e}"));
    let chromium = chromium_fields(&chromium);
    let ours = tokio::time::timeout(LIMIT, async {
        loop {
            let r = pc.get_stats(None).await.unwrap();
            let f = fields_of(&r);
            let complete = RTCPEER_TYPES.iter().all(|t| f.contains_key(*t))
                && f["remote-inbound-rtp"].contains("roundTripTime");
            if complete {
                return (r, f);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("rtcpeer's report fills"));
    let (report, ours) = ours;
    eprintln!(
        "rtcpeer's report:\n{}",
        serde_json::to_string_pretty(&report.to_json()).unwrap()
    );
    eprintln!("Chromium's members: {chromium:#?}");
    let mut failures = Vec::new();
    // 1. rtcpeer invents nothing.
    for (t, names) in &ours {
        let Some(spec) = w3c_members(t) else {
            failures.push(format!("rtcpeer reports type {t:?}, not a W3C stats type"));
            continue;
        };
        for n in names {
            if !spec.contains(n.as_str()) {
                failures.push(format!("rtcpeer's {t}.{n} is not a W3C member"));
            }
        }
    }
    // 2. What Chromium has and rtcpeer lacks, and the reverse, is accepted with a reason.
    let accepted = |list: &[(&str, &str, &str)], t: &str, n: &str| {
        list.iter()
            .any(|(lt, ln, _)| *lt == t && (*ln == n || *ln == "*"))
    };
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    let empty = BTreeSet::new();
    for (t, names) in &chromium {
        let mine = ours.get(t);
        if mine.is_none() && accepted(ACCEPTED_MISSING, t, "*") {
            used.insert((t.clone(), "*".into()));
            continue;
        }
        for n in names.difference(mine.unwrap_or(&empty)) {
            if accepted(ACCEPTED_MISSING, t, n) {
                used.insert((t.clone(), n.clone()));
            } else {
                failures.push(format!(
                    "missing: Chromium reports {t}.{n}, rtcpeer does not"
                ));
            }
        }
    }
    for (t, names) in &ours {
        let theirs = chromium.get(t).unwrap_or(&empty);
        for n in names.difference(theirs) {
            if !accepted(ACCEPTED_EXTRA, t, n) {
                failures.push(format!("extra: rtcpeer reports {t}.{n}, Chromium does not"));
            }
        }
    }
    // Accepted differences that did not occur are shown (Chromium versions differ), not fatal.
    for (t, n, _) in ACCEPTED_MISSING {
        if !used.contains(&(t.to_string(), n.to_string())) {
            eprintln!("note: accepted difference {t}.{n} did not occur with this Chromium");
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    pc.close();
    let _ = chrome.close().await;
}
