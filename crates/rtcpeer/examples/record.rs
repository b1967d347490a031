//! Saves a browser's camera and microphone to files: VP8 (or VP9) video to `NAME.ivf` and
//! Opus audio to `NAME.opus` (Ogg), both playable with ffplay, VLC or a browser:
//! `cargo run --example record -- NAME [SECONDS]` (records until Ctrl-C, or for SECONDS).
//!
//! In `examples/browser.html` press "Add camera and microphone", then "Create offer"; paste
//! the page's offer here (one line) and the printed answer back into the page ("Apply the
//! answer"). rtcpeer gathers on 127.0.0.1: run the browser on this machine with
//! `--allow-loopback-in-peer-connection --disable-features=WebRtcHideLocalIpsWithMdns`.

mod common;

use std::io::Write;
use std::time::Duration;

use rtcpeer::media_file::{IvfHeader, OggOpusWriter, write_ivf_frame, write_ivf_header};
use rtcpeer::{
    Configuration, MediaEvent, MediaKind, PeerConnection, ReceiveMode, ReceivedFrame, RtpReceiver,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (name, seconds) = match args.as_slice() {
        [name] => (name.clone(), None),
        [name, s] => (name.clone(), Some(s.parse::<u64>()?)),
        _ => return Err("usage: record NAME [SECONDS]".into()),
    };
    let pc = PeerConnection::new(Configuration::default())?;
    let mut lines = common::stdin_lines();
    let offer = common::read_description(&mut lines, "offer").await?;
    pc.set_remote_description(offer).await?;
    let mut tasks = Vec::new();
    for t in pc.get_transceivers() {
        let receiver = t.receiver();
        receiver.set_receive_mode(ReceiveMode::Frames);
        let path = match t.kind() {
            MediaKind::Video => format!("{name}.ivf"),
            MediaKind::Audio => format!("{name}.opus"),
        };
        tasks.push(tokio::spawn(record(receiver, t.kind(), path)));
    }
    if tasks.is_empty() {
        return Err("the offer has no audio or video".into());
    }
    common::describe(&pc).await?;
    common::connected(&pc).await?;
    eprintln!("connected: recording");
    match seconds {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => tokio::signal::ctrl_c().await?,
    }
    // Closing ends each receiver's stream: the tasks finish their files and return.
    pc.close();
    for t in tasks {
        let (path, frames) = t.await??;
        eprintln!("{path}: {frames} frames");
    }
    Ok(())
}

/// Writes the receiver's frames to `path` until the connection closes; returns the path and
/// how many frames it holds.
async fn record(
    receiver: RtpReceiver,
    kind: MediaKind,
    path: String,
) -> std::io::Result<(String, u64)> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut out = Vec::new();
    let mut frames = 0u64;
    let mut video: Option<(u32, &'static [u8; 4])> = None;
    let mut audio: Option<OggOpusWriter> = None;
    while let Some(event) = receiver.recv().await {
        let MediaEvent::Frame(frame) = event else {
            continue;
        };
        out.clear();
        match kind {
            MediaKind::Video => {
                if video.is_none() {
                    // A file starts with a key frame, whose header gives the picture size.
                    let Some(fourcc) = fourcc(&receiver, &frame) else {
                        continue;
                    };
                    if !frame.keyframe {
                        receiver.request_keyframe();
                        continue;
                    }
                    let (width, height) = vp8_size(&frame.data).unwrap_or((0, 0));
                    write_ivf_header(
                        &mut out,
                        &IvfHeader {
                            fourcc: *fourcc,
                            width,
                            height,
                            timebase_den: 90_000,
                            timebase_num: 1,
                            frame_count: 0,
                        },
                    );
                    video = Some((frame.timestamp, fourcc));
                }
                let (first, _) = video.expect("set above");
                let pts = u64::from(frame.timestamp.wrapping_sub(first));
                write_ivf_frame(&mut out, pts, &frame.data).map_err(std::io::Error::other)?;
            }
            MediaKind::Audio => {
                let writer = audio.get_or_insert_with(|| {
                    let mut w = OggOpusWriter::new(frame.ssrc, 2, 0);
                    w.header(&mut out);
                    w
                });
                if writer.packet(&mut out, &frame.data).is_err() {
                    continue;
                }
            }
        }
        file.write_all(&out)?;
        frames += 1;
    }
    if let Some(mut w) = audio {
        out.clear();
        w.finish(&mut out);
        file.write_all(&out)?;
    }
    file.flush()?;
    Ok((path, frames))
}

/// The IVF fourcc of the frame's codec (VP8 or VP9), from the negotiated parameters.
fn fourcc(receiver: &RtpReceiver, frame: &ReceivedFrame) -> Option<&'static [u8; 4]> {
    let codec = receiver
        .get_parameters()
        .codecs
        .into_iter()
        .find(|c| c.payload_type == frame.payload_type)?;
    match codec.mime_type.to_ascii_lowercase().as_str() {
        "video/vp8" => Some(b"VP80"),
        "video/vp9" => Some(b"VP90"),
        _ => None,
    }
}

/// Width and height from a VP8 key frame's header (RFC 6386 §9.1: start code, then 14-bit
/// sizes); `None` for other frames.
fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([*frame.get(6)?, *frame.get(7)?]) & 0x3fff;
    let h = u16::from_le_bytes([*frame.get(8)?, *frame.get(9)?]) & 0x3fff;
    Some((w, h))
}
