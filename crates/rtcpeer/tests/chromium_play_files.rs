//! rtcpeer plays media files to headless Chromium (issue 10): a VP8 IVF file and an Ogg Opus
//! file (`tests/fixtures/media/`, made by `make.sh` there with Debian's ffmpeg) are read with
//! `rtcpeer::media_file`, sent frame by frame in real time with `RtpSender::send_frame`
//! (rtcpeer packetizes, timestamps and encrypts), and Chromium's statistics must show the
//! video decoded at the file's size with key frames, and the audio as real samples, not
//! concealment. Both offer directions.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_play_files'`.

mod common;

use std::time::Duration;

use common::chromium::{Chromium, js_literal};
use common::net::{wait_connected, wait_gathered};
use rtcpeer::media_file::{IvfReader, OggOpusReader};
use rtcpeer::{
    Configuration, MediaKind, PeerConnection, RtpSender, RtpTransceiverDirection,
    SessionDescription, TransceiverInit,
};
use serde_json::Value;

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

const VIDEO: &[u8] = include_bytes!("fixtures/media/testsrc-320x240.ivf");
const AUDIO: &[u8] = include_bytes!("fixtures/media/sine-440.opus");

/// The page side: a connection that only receives, plays what comes and reports its decode
/// figures.
const PAGE: &str = r#"
window.H = {
  setup() {
    window.pc = new RTCPeerConnection({iceServers: []});
    pc.ontrack = (e) => {
      const el = document.createElement(e.track.kind);
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
  },
  gathered() {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  async figures() {
    const out = {video: null, audio: null};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.video = {framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
                     frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
                     framesDropped: s.framesDropped || 0, pliCount: s.pliCount || 0};
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audio = {totalSamplesReceived: s.totalSamplesReceived || 0,
                     concealedSamples: s.concealedSamples || 0};
      }
    }
    return out;
  },
};
"#;

/// Sends the IVF file's frames at their own pace, over and over, until stopped.
async fn play_video(sender: RtpSender) {
    let reader = IvfReader::new(VIDEO).expect("an IVF file");
    let frame_time = reader.duration_of(1).expect("a time base");
    let frames: Vec<&[u8]> = reader.map(|f| f.expect("a whole frame").data).collect();
    let mut tick = tokio::time::interval(frame_time);
    for frame in frames.iter().cycle() {
        tick.tick().await;
        sender.send_frame(frame, frame_time).expect("a VP8 frame");
    }
}

/// Sends the Ogg file's Opus packets at their own pace, over and over, until stopped.
async fn play_audio(sender: RtpSender) {
    let packets: Vec<_> = OggOpusReader::new(AUDIO)
        .expect("an Ogg Opus file")
        .map(|p| p.expect("a whole packet"))
        .collect();
    let mut tick = tokio::time::interval(packets[0].duration);
    for p in packets.iter().cycle() {
        tick.tick().await;
        sender
            .send_frame(&p.data, p.duration)
            .expect("an Opus packet");
    }
}

fn sender_of(pc: &PeerConnection, kind: MediaKind) -> RtpSender {
    pc.get_transceivers()
        .into_iter()
        .find(|t| t.kind() == kind)
        .expect("a transceiver of that kind")
        .sender()
}

/// Plays both files until Chromium decoded two seconds of video and a second of audio, then
/// checks what it decoded.
async fn play_and_check(chrome: &mut Chromium, pc: &PeerConnection) {
    let video = tokio::spawn(play_video(sender_of(pc, MediaKind::Video)));
    let audio = tokio::spawn(play_audio(sender_of(pc, MediaKind::Audio)));
    let figures = chrome
        .wait_until(
            "const f = await H.figures();
             return f.video && f.audio && f.video.framesDecoded >= 60
               && f.audio.totalSamplesReceived >= 48000 && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium decodes the files: {e}"));
    video.abort();
    audio.abort();
    eprintln!("Chromium's figures: {figures}");
    let v = &figures["video"];
    assert_eq!(
        (&v["frameWidth"], &v["frameHeight"]),
        (&Value::from(320), &Value::from(240))
    );
    assert!(v["keyFramesDecoded"].as_u64().unwrap() >= 1, "{figures}");
    let a = &figures["audio"];
    let total = a["totalSamplesReceived"].as_f64().unwrap();
    let concealed = a["concealedSamples"].as_f64().unwrap();
    assert!(
        concealed < total * 0.5,
        "mostly real audio, not concealment: {figures}"
    );
    let c = pc.media_counters();
    assert!(c.rtp_sent > 100, "{c:?}");
}

#[tokio::test]
async fn rtcpeer_offers_and_plays_vp8_and_opus_files_to_chromium() {
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    chrome.eval("H.setup(); return null").await.unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let init = TransceiverInit {
            direction: RtpTransceiverDirection::SendOnly,
            ..TransceiverInit::default()
        };
        pc.add_transceiver(kind, init).unwrap();
    }
    pc.set_local_description(None).await.unwrap();
    wait_gathered(&pc).await;
    let offer = pc.local_description().unwrap();
    let answer = chrome
        .eval(&format!(
            "await pc.setRemoteDescription({});
             await pc.setLocalDescription(); await H.gathered();
             return pc.localDescription;",
            js_literal(&offer)
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\n{}", offer.sdp));
    let answer: SessionDescription = serde_json::from_value(answer).unwrap();
    pc.set_remote_description(answer).await.unwrap();
    wait_connected(&pc).await;
    play_and_check(&mut chrome, &pc).await;
    pc.close();
}

#[tokio::test]
async fn chromium_offers_to_receive_and_rtcpeer_plays_the_files() {
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    let offer = chrome
        .eval(
            "H.setup();
             pc.addTransceiver('audio', {direction: 'recvonly'});
             pc.addTransceiver('video', {direction: 'recvonly'});
             await pc.setLocalDescription(); await H.gathered();
             return pc.localDescription;",
        )
        .await
        .expect("offer");
    let offer: SessionDescription = serde_json::from_value(offer).unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(offer).await.unwrap();
    for t in pc.get_transceivers() {
        t.set_direction(RtpTransceiverDirection::SendOnly).unwrap();
    }
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
    play_and_check(&mut chrome, &pc).await;
    pc.close();
}

/// The `play_file` example, run as a user would (offer on its standard output, answer on
/// its standard input), plays the fixtures to Chromium.
#[tokio::test]
async fn the_play_file_example_plays_to_chromium() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    // Examples are built by `cargo test` next to the test binaries' `deps` folder.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join("play_file"))
        .unwrap();
    assert!(
        example.exists(),
        "{} (built by cargo test)",
        example.display()
    );
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media");
    let mut child = tokio::process::Command::new(&example)
        .arg(fixtures.join("testsrc-320x240.ivf"))
        .arg(fixtures.join("sine-440.opus"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let offer = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("an offer in time")
        .unwrap()
        .expect("an offer line");
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    let answer = chrome
        .eval(&format!(
            "H.setup(); await pc.setRemoteDescription({offer});
             await pc.setLocalDescription(); await H.gathered();
             return pc.localDescription;"
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium answers: {e}\n{offer}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{answer}\n").as_bytes())
        .await
        .unwrap();
    let figures = chrome
        .wait_until(
            "const f = await H.figures();
             return f.video && f.audio && f.video.framesDecoded >= 30
               && f.audio.totalSamplesReceived >= 24000 && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium decodes what the example plays: {e}"));
    assert_eq!(figures["video"]["frameWidth"], 320, "{figures}");
    child.kill().await.unwrap();
}

/// A stream that starts without a key frame makes Chromium's decoder ask for one: its PLI
/// (RFC 4585 §6.3.1) reaches the application as `MediaEvent::KeyframeRequest` on the
/// sender, which answers by sending the file's first (key) frame; Chromium then decodes.
#[tokio::test]
async fn a_pli_from_chromium_reaches_the_application_which_sends_a_key_frame() {
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    let offer = chrome
        .eval(
            "H.setup();
             pc.addTransceiver('video', {direction: 'recvonly'});
             await pc.setLocalDescription(); await H.gathered();
             return pc.localDescription;",
        )
        .await
        .expect("offer");
    let offer: SessionDescription = serde_json::from_value(offer).unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    pc.set_remote_description(offer).await.unwrap();
    let sender = sender_of(&pc, MediaKind::Video);
    pc.get_transceivers()[0]
        .set_direction(RtpTransceiverDirection::SendOnly)
        .unwrap();
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
    let reader = IvfReader::new(VIDEO).unwrap();
    let frame_time = reader.duration_of(1).unwrap();
    let frames: Vec<&'static [u8]> = reader.map(|f| f.unwrap().data).collect();
    // Frames 1.. of the first second: delta frames only (the file has key frames at 0, 30, 60).
    let (tx, mut requests) = tokio::sync::mpsc::unbounded_channel();
    let feedback = sender.clone();
    tokio::spawn(async move {
        while let Some(e) = feedback.recv_feedback().await {
            if e == rtcpeer::MediaEvent::KeyframeRequest && tx.send(()).is_err() {
                break;
            }
        }
    });
    let mut tick = tokio::time::interval(frame_time);
    let mut i = 1;
    let mut asked = 0;
    let deadline = tokio::time::Instant::now() + LIMIT;
    while asked == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no key-frame request"
        );
        tick.tick().await;
        sender.send_frame(frames[i], frame_time).unwrap();
        i = if i == 29 { 1 } else { i + 1 };
        while requests.try_recv().is_ok() {
            asked += 1;
        }
    }
    // Answer with the key frame and go on from there.
    let play = tokio::spawn(async move {
        for frame in frames.iter().cycle() {
            tick.tick().await;
            sender.send_frame(frame, frame_time).unwrap();
        }
    });
    let figures = chrome
        .wait_until(
            "const f = await H.figures();
             return f.video && f.video.framesDecoded >= 30 && f;",
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("Chromium decodes after its key-frame request: {e}"));
    play.abort();
    eprintln!("Chromium's figures: {figures}");
    let v = &figures["video"];
    assert!(v["pliCount"].as_u64().unwrap() >= 1, "{figures}");
    assert!(v["keyFramesDecoded"].as_u64().unwrap() >= 1, "{figures}");
    assert!(pc.media_counters().keyframe_requests_received >= 1);
    pc.close();
}
