//! The media examples (`crates/rtcpeer/examples/{record,reflect,sfu}.rs`), run as a user
//! would — descriptions as JSON lines on their standard input and output — against headless
//! Chromium sending its fake camera and microphone (issue 10 item 7):
//! - `record` writes a VP8 IVF file and an Ogg Opus file that Debian's ffmpeg decodes without
//!   an error, at the camera's size, with the frames and seconds sent;
//! - `reflect` sends Chromium its own media back, which Chromium decodes;
//! - `sfu` forwards one Chromium connection's media to two others, which both decode it.
//!
//! Runs in the loopback-only namespace of `scripts/test`, or by hand:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer --test chromium_examples'`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::chromium::Chromium;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Every wait ends long before this unless something is broken.
const LIMIT: Duration = Duration::from_secs(30);

/// The page: a publisher connection sending the fake camera (320x240) and microphone, and
/// subscriber connections that answer an offer; each plays what it receives (muted) and
/// reports its decode figures.
const PAGE: &str = r#"
window.E = {
  gathered(pc) {
    return new Promise(r => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r());
    });
  },
  play(pc) {
    pc.ontrack = (e) => {
      const el = document.createElement(e.track.kind);
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
  },
  async publish() {
    window.pub = new RTCPeerConnection({iceServers: []});
    E.play(pub);
    const s = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: 320, height: 240, frameRate: 30}});
    for (const t of s.getTracks()) pub.addTrack(t, s);
    await pub.setLocalDescription(); await E.gathered(pub);
    return pub.localDescription;
  },
  async subscribe(offer) {
    const pc = new RTCPeerConnection({iceServers: []});
    E.play(pc);
    (window.subs = window.subs || []).push(pc);
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(); await E.gathered(pc);
    return pc.localDescription;
  },
  async figures(pc) {
    const out = {frames: 0, width: 0, samples: 0, concealed: 0};
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.frames = s.framesDecoded || 0; out.width = s.frameWidth || 0;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.samples = s.totalSamplesReceived || 0; out.concealed = s.concealedSamples || 0;
      }
    }
    return out;
  },
};
"#;

/// An example program, started with `args`; its standard output read as lines.
struct Example {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        // Examples are built by `cargo test` next to the test binaries' `deps` folder.
        let exe = std::env::current_exe().unwrap();
        let path: PathBuf = exe
            .parent()
            .and_then(|deps| deps.parent())
            .map(|dir| dir.join("examples").join(name))
            .unwrap();
        assert!(path.exists(), "{} (built by cargo test)", path.display());
        let mut child = tokio::process::Command::new(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the example starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Example {
            child,
            stdin,
            stdout,
        }
    }

    async fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn line(&mut self, what: &str) -> String {
        tokio::time::timeout(LIMIT, self.stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: the example ended"))
    }
}

/// Chromium with the page, its publisher's offer given to `example`, the example's answer
/// applied.
async fn publish_to(example: &mut Example) -> Chromium {
    let mut chrome = Chromium::launch_or_panic().await;
    chrome.eval(PAGE).await.expect("page helpers");
    let offer = chrome
        .eval("return await E.publish();")
        .await
        .expect("offer");
    example.send(&offer.to_string()).await;
    let answer = example.line("the answer").await;
    chrome
        .eval(&format!(
            "await pub.setRemoteDescription({answer}); return null"
        ))
        .await
        .unwrap_or_else(|e| panic!("Chromium takes the example's answer: {e}\n{answer}"));
    chrome
}

async fn decoding(chrome: &mut Chromium, pc: &str) -> Value {
    chrome
        .wait_until(
            &format!(
                "const f = await E.figures({pc});
                 return f.frames >= 30 && f.samples >= 48000 && f;"
            ),
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("{pc} decodes what the example sends: {e}"))
}

fn ffprobe(path: &std::path::Path, entries: &str) -> String {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", entries])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs (Debian's ffmpeg, installed by scripts/test)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `record NAME 5`: five seconds of Chromium's camera and microphone in `NAME.ivf` and
/// `NAME.opus`, which ffmpeg decodes without an error: 320x240 video with at least 30
/// frames, and at least 3 s of Opus audio.
#[tokio::test]
async fn the_record_example_saves_chromiums_camera_and_microphone() {
    let dir = std::env::temp_dir().join(format!("rtcpeer-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = dir.join("rec");
    let mut example = Example::start("record", &[name.to_str().unwrap(), "5"]);
    let chrome = publish_to(&mut example).await;
    let status = tokio::time::timeout(LIMIT, example.child.wait())
        .await
        .expect("the example ends after its 5 seconds")
        .unwrap();
    assert!(status.success(), "{status}");
    for file in ["rec.ivf", "rec.opus"] {
        let path = dir.join(file);
        // The recording keeps the camera's own frame times (90 kHz RTP clock), which are not
        // evenly spaced: decode without a constant output frame rate, which would refuse two
        // frames in one of its slots; the encoder keeps the stream's time base.
        let decode = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&path)
            .args([
                "-fps_mode",
                "passthrough",
                "-enc_time_base",
                "-1",
                "-f",
                "null",
                "-",
            ])
            .output()
            .expect("ffmpeg runs");
        let errors = String::from_utf8_lossy(&decode.stderr);
        assert!(
            decode.status.success() && errors.trim().is_empty(),
            "ffmpeg on {file}: {errors}"
        );
    }
    let video = ffprobe(&dir.join("rec.ivf"), "stream=width,height,nb_read_frames");
    let fields: Vec<&str> = video.split(',').collect();
    assert_eq!(&fields[..2], ["320", "240"], "{video}");
    let frames: u32 = fields[2].parse().unwrap();
    // A 30 fps camera for 5 s; headless Chromium on a loaded 2-core machine makes fewer.
    assert!(frames >= 30, "{frames} frames in 5 s");
    let audio = ffprobe(&dir.join("rec.opus"), "stream=codec_name,duration");
    let (codec, secs) = audio.split_once(',').unwrap();
    assert_eq!(codec, "opus");
    let secs: f64 = secs.parse().unwrap();
    assert!(secs >= 3.0, "{secs} s of audio");
    drop(chrome);
    std::fs::remove_dir_all(&dir).ok();
}

/// `reflect`: Chromium decodes its own camera and microphone as sent back by the example.
#[tokio::test]
async fn the_reflect_example_sends_chromium_its_own_media() {
    let mut example = Example::start("reflect", &[]);
    let mut chrome = publish_to(&mut example).await;
    let figures = decoding(&mut chrome, "pub").await;
    assert_eq!(figures["width"], 320, "{figures}");
    example.child.kill().await.unwrap();
}

/// `sfu`: one Chromium connection publishes, two others subscribe through the example; both
/// decode the publisher's video and audio.
#[tokio::test]
async fn the_sfu_example_forwards_one_publisher_to_two_subscribers() {
    let mut example = Example::start("sfu", &[]);
    let mut chrome = publish_to(&mut example).await;
    for i in 0..2 {
        example.send("sub").await;
        let offer = example.line("a subscriber offer").await;
        let answer = chrome
            .eval(&format!("return await E.subscribe({offer});"))
            .await
            .unwrap_or_else(|e| panic!("subscriber {i} answers: {e}\n{offer}"));
        example.send(&answer.to_string()).await;
    }
    for i in 0..2 {
        let figures = decoding(&mut chrome, &format!("subs[{i}]")).await;
        assert_eq!(figures["width"], 320, "subscriber {i}: {figures}");
    }
    example.child.kill().await.unwrap();
}
