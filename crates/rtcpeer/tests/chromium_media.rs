//! Media between rtcpeer and headless Chromium (issue 10): Chromium sends its fake camera
//! (VP8) and microphone (Opus) to rtcpeer, which reflects every RTP packet it receives back
//! through its own senders (its own SSRCs, sequence numbers, SRTP, RTCP and header
//! extensions), and forwards Chromium's key-frame requests to Chromium's sender. Chromium's
//! own statistics then prove both directions: what it decodes is what rtcpeer received,
//! decrypted, routed and sent back. Both offer directions. Chromium wraps its VP8 in RED
//! (RFC 2198) when `red`/`ulpfec` are negotiated, as they are with rtcpeer's default codecs:
//! this test is also what shows the RED unwrapping works.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_media'`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::media::reflect;
use rtcpeer::{
    Configuration, IceGatheringState, MediaEvent, MediaKind, PeerConnection, PeerConnectionState,
    ReceiveMode, ReceivedFrame, RtpTransceiverDirection, SessionDescription, TransceiverInit,
};
use serde_json::Value;

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

/// The page side: a connection sending the fake camera and microphone, playing what comes
/// back, and the decode figures from its statistics.
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
  },
  addTracks() {
    for (const t of local.getTracks()) pc.addTrack(t, local);
  },
  // Sends our tracks on the transceivers a remote offer created.
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
  async figures() {
    const out = {video: null, audio: null, sent: {}};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.video = {framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
                     packetsReceived: s.packetsReceived || 0, packetsLost: s.packetsLost || 0,
                     nackCount: s.nackCount || 0, pliCount: s.pliCount || 0,
                     frameWidth: s.frameWidth || 0, decoder: s.decoderImplementation || ''};
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audio = {totalSamplesReceived: s.totalSamplesReceived || 0,
                     concealedSamples: s.concealedSamples || 0,
                     packetsReceived: s.packetsReceived || 0};
      }
      if (s.type === 'outbound-rtp') {
        out.sent[s.kind] = s.packetsSent || 0;
        out['nacks_' + s.kind] = s.nackCount || 0;
        out['retransmitted_' + s.kind] = s.retransmittedPacketsSent || 0;
      }
      if (s.type === 'remote-inbound-rtp') out['rtt_' + s.kind] = s.roundTripTime;
    }
    return out;
  },
};
"#;

fn desc(v: &Value) -> SessionDescription {
    serde_json::from_value(v.clone()).expect("a description from the browser")
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

async fn wait_connected(pc: &PeerConnection) {
    let mut ev = pc.events();
    tokio::time::timeout(LIMIT, async {
        while pc.connection_state() != PeerConnectionState::Connected {
            ev.recv().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connectionState {:?}", pc.connection_state()));
}

async fn launch() -> Chromium {
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
    chrome
}

/// Waits until Chromium decoded at least a second of the reflected video and audio and has
/// a round-trip time from our receiver reports, and checks the figures.
///
/// The round-trip time is part of the wait, not checked after it: Chromium's first sender
/// report comes on its own randomised RTCP schedule, and only a receiver report of ours
/// sent after it lets Chromium compute one (RFC 3550 §6.4.1 LSR/DLSR).
async fn check_reflection(chrome: &mut Chromium, pc: &PeerConnection) -> Value {
    let figures = chrome
        .wait_until(
            "const f = await H.figures();
             return f.video && f.audio && f.video.framesDecoded >= 30
               && f.audio.totalSamplesReceived >= 48000 && f.rtt_video != null && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium decodes the reflected media: {e}"));
    let c = pc.media_counters();
    eprintln!("Chromium's figures: {figures}\nrtcpeer's counters: {c:?}");
    // Everything Chromium sent was decrypted, parsed and claimed by an m-section, and its
    // RTCP was read; what came in went back out.
    assert_eq!(
        (c.srtp_rejected, c.malformed, c.unroutable, c.queue_full),
        (0, 0, 0, 0),
        "{c:?}"
    );
    assert!(
        c.rtp_received > 100 && c.rtcp_received > 0 && c.rtcp_sent > 0,
        "{c:?}"
    );
    assert!(c.rtp_sent + 10 >= c.rtp_received, "{c:?}");
    let v = &figures["video"];
    assert!(v["keyFramesDecoded"].as_u64().unwrap() >= 1, "{figures}");
    assert_eq!(v["frameWidth"], 320, "{figures}");
    let a = &figures["audio"];
    let total = a["totalSamplesReceived"].as_f64().unwrap();
    let concealed = a["concealedSamples"].as_f64().unwrap();
    assert!(
        concealed < total * 0.5,
        "mostly real audio, not concealment: {figures}"
    );
    figures
}

#[tokio::test]
async fn chromium_offers_camera_and_microphone_and_decodes_what_rtcpeer_reflects() {
    let mut chrome = launch().await;
    chrome.eval("H.addTracks(); return null").await.unwrap();
    let offer = chrome.eval("return await H.sld();").await.expect("offer");
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer))
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{}", offer["sdp"]));
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendRecv).unwrap();
    }
    assert_eq!(reflect(&pc), 2);
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium accepts the answer: {e}\n{}", answer.sdp));
    wait_connected(&pc).await;
    check_reflection(&mut chrome, &pc).await;
    // Chromium sends the RFC 6464 audio level: getSynchronizationSources shows it.
    let audio = pc
        .get_transceivers()
        .into_iter()
        .find(|t| t.kind() == MediaKind::Audio)
        .unwrap();
    let sources = audio.receiver().get_synchronization_sources();
    assert_eq!(sources.len(), 1, "{sources:?}");
    let level = sources[0]
        .audio_level
        .expect("Chromium sends ssrc-audio-level");
    assert!((0.0..=1.0).contains(&level), "{level}");
    pc.close();
}

#[tokio::test]
async fn rtcpeer_offers_audio_and_video_and_chromium_decodes_the_reflection() {
    let mut chrome = launch().await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        pc.add_transceiver(
            kind,
            TransceiverInit {
                direction: RtpTransceiverDirection::SendRecv,
                ..TransceiverInit::default()
            },
        )
        .unwrap();
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
    pc.set_remote_description(desc(&answer))
        .await
        .unwrap_or_else(|e| panic!("SRD(answer): {e}\n{}", answer["sdp"]));
    wait_connected(&pc).await;
    check_reflection(&mut chrome, &pc).await;
    pc.close();
}

/// An IVF file (the container libvpx and ffmpeg read VP8 from): a 32-byte file header,
/// then each frame with a 12-byte header (size, presentation time). Frames are numbered at
/// 30 per second: the capture times do not matter for decoding, and RTP timestamps of a
/// camera's frames are not evenly spaced (ffmpeg's constant-rate output refuses two in one
/// slot).
fn ivf(frames: &[ReceivedFrame], width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"DKIF");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"VP80");
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&30u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(i as u64).to_le_bytes());
        out.extend_from_slice(&f.data);
    }
    out
}

#[tokio::test]
async fn chromium_camera_frames_reassembled_by_rtcpeer_decode_with_ffmpeg() {
    record_camera(0).await;
}

/// With 5 % of Chromium's packets lost on rtcpeer's receive path, rtcpeer's NACKs bring
/// them back as RTX retransmissions (Chromium's `nackCount` and `retransmittedPacketsSent`
/// grow) and every frame still reassembles and decodes.
#[tokio::test]
async fn chromium_camera_through_5_percent_loss_is_repaired_by_nack_and_rtx() {
    let (chrome, pc) = record_camera(50).await;
    let mut chrome = chrome;
    let figures = chrome.eval("return await H.figures();").await.unwrap();
    let c = pc.media_counters();
    eprintln!("with loss: Chromium {figures}\nrtcpeer {c:?}");
    assert!(c.nacks_sent > 0, "{c:?}");
    assert!(
        figures["nacks_video"].as_u64().unwrap_or(0) > 0,
        "{figures}"
    );
    assert!(
        figures["retransmitted_video"].as_u64().unwrap_or(0) > 0,
        "{figures}"
    );
}

/// Records 60 frames of Chromium's camera (and 100 Opus frames) with `loss_per_mille` of
/// the received packets dropped, writes the video as IVF and has ffmpeg decode it.
async fn record_camera(loss_per_mille: u16) -> (Chromium, PeerConnection) {
    let mut chrome = launch().await;
    chrome.eval("H.addTracks(); return null").await.unwrap();
    let offer = chrome.eval("return await H.sld();").await.expect("offer");
    let mut settings = rtcpeer::Settings::default();
    settings.core.simulated_rtp_loss_per_mille = loss_per_mille;
    let pc = PeerConnection::with_settings(Configuration::default(), settings).unwrap();
    pc.set_remote_description(desc(&offer))
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{}", offer["sdp"]));
    let (mut video, mut audio) = (None, None);
    for t in pc.get_transceivers() {
        assert!(t.receiver().set_receive_mode(ReceiveMode::Frames));
        match t.kind() {
            MediaKind::Video => video = Some(t.receiver()),
            MediaKind::Audio => audio = Some(t.receiver()),
        }
    }
    let (video, audio) = (video.unwrap(), audio.unwrap());
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap();
    wait_connected(&pc).await;
    let (mut frames, mut opus) = (Vec::new(), 0usize);
    tokio::time::timeout(LIMIT, async {
        while frames.len() < 60 {
            match video.recv().await {
                Some(MediaEvent::Frame(f)) => frames.push(f),
                Some(other) => panic!("frames mode gives frames: {other:?}"),
                None => panic!("receiver ended"),
            }
        }
        while opus < 100 {
            match audio.recv().await {
                Some(MediaEvent::Frame(f)) => {
                    assert!(!f.data.is_empty());
                    opus += 1;
                }
                Some(MediaEvent::Rtp(_)) => panic!("Opus has a payload format: frames"),
                Some(_) => {}
                None => panic!("receiver ended"),
            }
        }
    })
    .await
    .expect("60 video frames and 100 Opus frames");
    pc.close();
    assert!(
        frames[0].keyframe,
        "the first frame handed out is a key frame"
    );
    // Each frame once, in order (RTP timestamps increase, modulo 2^32).
    assert!(
        frames
            .windows(2)
            .all(|w| (w[1].timestamp.wrapping_sub(w[0].timestamp) as i32) > 0)
    );
    let dir = std::env::temp_dir().join(format!(
        "rtcpeer-ivf-{}-{loss_per_mille}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("camera.ivf");
    std::fs::write(&path, ivf(&frames, 320, 240)).unwrap();
    // ffmpeg decodes every frame without an error.
    let decode = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (Debian's ffmpeg, installed by scripts/test)");
    let errors = String::from_utf8_lossy(&decode.stderr);
    assert!(
        decode.status.success() && errors.trim().is_empty(),
        "ffmpeg: {errors}"
    );
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let probed = String::from_utf8_lossy(&probe.stdout).trim().to_string();
    assert_eq!(probed, "320,240,60", "ffprobe: {probed}");
    std::fs::remove_dir_all(&dir).ok();
    (chrome, pc)
}

/// Chromium's `RTCDTMFSender` sends "1#" (its `tonechange` events fire) and rtcpeer reads
/// the RFC 4733 telephone events on its audio receiver, start and end of each tone.
#[tokio::test]
async fn chromium_dtmf_tones_are_read_by_rtcpeer() {
    let mut chrome = launch().await;
    chrome.eval("H.addTracks(); return null").await.unwrap();
    let offer = chrome.eval("return await H.sld();").await.expect("offer");
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(desc(&offer)).await.unwrap();
    let audio = pc
        .get_transceivers()
        .into_iter()
        .find(|t| t.kind() == MediaKind::Audio)
        .unwrap()
        .receiver();
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let answer = pc.local_description().unwrap();
    chrome
        .eval(&format!(
            "await pc.setRemoteDescription({}); return null",
            js_literal(&answer)
        ))
        .await
        .unwrap();
    wait_connected(&pc).await;
    chrome
        .wait_until(
            "const s = pc.getSenders().find(s => s.track && s.track.kind === 'audio');
             return s.dtmf && s.dtmf.canInsertDTMF;",
            LIMIT,
        )
        .await
        .expect("Chromium can send DTMF");
    chrome
        .eval(
            "window.tones = [];
             const s = pc.getSenders().find(s => s.track && s.track.kind === 'audio');
             s.dtmf.ontonechange = (e) => tones.push(e.tone);
             s.dtmf.insertDTMF('1#', 100, 70);
             return null",
        )
        .await
        .unwrap();
    // Each tone once with its end (Chromium sends short tones as their three end packets
    // only, RFC 4733 §2.5.1.4; a tone's start is reported separately when it is seen).
    let mut ended = Vec::new();
    tokio::time::timeout(LIMIT, async {
        while ended.len() < 2 {
            match audio.recv().await {
                Some(MediaEvent::Dtmf(t)) if t.ended.is_some() => ended.push(t.tone),
                Some(_) => {}
                None => panic!("receiver ended"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("two ended tones, got {ended:?}: {:?}", pc.media_counters()));
    assert_eq!(ended, [Some('1'), Some('#')]);
    let page = chrome
        .wait_until("return tones.length >= 3 && tones", LIMIT)
        .await
        .unwrap();
    assert_eq!(
        page,
        serde_json::json!(["1", "#", ""]),
        "Chromium's tonechange"
    );
    pc.close();
}
