//! Plays a VP8 IVF file and an Ogg Opus file to a browser, in a loop:
//! `cargo run --example play_file -- VIDEO.ivf AUDIO.opus` (either may be `-`; the test
//! fixtures `crates/rtcpeer/tests/fixtures/media/*` are such files).
//!
//! Prints an offer (the browser's JSON form): paste it into `examples/browser.html`, press
//! "Answer the offer", and paste the page's answer back here as one line. rtcpeer gathers on
//! 127.0.0.1, so run the browser on this machine with
//! `--allow-loopback-in-peer-connection --disable-features=WebRtcHideLocalIpsWithMdns`.

use std::time::Duration;

use rtcpeer::media_file::{IvfReader, OggOpusReader};
use rtcpeer::{
    Configuration, MediaKind, PeerConnection, PeerConnectionEvent, PeerConnectionState, RtpSender,
    RtpTransceiverDirection, SessionDescription, TransceiverInit,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [video, audio] = args.as_slice() else {
        return Err("usage: play_file VIDEO.ivf|- AUDIO.opus|-".into());
    };
    let video = (video != "-").then(|| std::fs::read(video)).transpose()?;
    let audio = (audio != "-").then(|| std::fs::read(audio)).transpose()?;

    let pc = PeerConnection::new(Configuration::default())?;
    let init = || TransceiverInit {
        direction: RtpTransceiverDirection::SendOnly,
        ..TransceiverInit::default()
    };
    let video_sender = match &video {
        Some(_) => Some(pc.add_transceiver(MediaKind::Video, init())?.sender()),
        None => None,
    };
    let audio_sender = match &audio {
        Some(_) => Some(pc.add_transceiver(MediaKind::Audio, init())?.sender()),
        None => None,
    };
    let mut events = pc.events();
    pc.set_local_description(None).await?;
    while pc.ice_gathering_state() != rtcpeer::IceGatheringState::Complete {
        events.recv().await;
    }
    println!("{}", pc.local_description().expect("an offer").to_json());
    eprintln!("paste the browser's answer (one line):");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let answer: SessionDescription = serde_json::from_str(line.trim())?;
    pc.set_remote_description(answer).await?;
    while pc.connection_state() != PeerConnectionState::Connected {
        match events.recv().await {
            Some(PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Failed))
            | None => {
                return Err("the connection failed".into());
            }
            _ => {}
        }
    }
    eprintln!("connected: playing (Ctrl-C to stop)");
    let mut tasks = Vec::new();
    if let (Some(file), Some(sender)) = (video, video_sender) {
        tasks.push(tokio::spawn(play_ivf(file, sender)));
    }
    if let (Some(file), Some(sender)) = (audio, audio_sender) {
        tasks.push(tokio::spawn(play_ogg_opus(file, sender)));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Sends the IVF file's frames at the file's frame rate, over and over.
async fn play_ivf(file: Vec<u8>, sender: RtpSender) -> rtcpeer::Result<()> {
    let reader = IvfReader::new(&file).map_err(|e| rtcpeer::Error::type_error(e.to_string()))?;
    let frame_time = reader.duration_of(1).unwrap_or(Duration::from_millis(33));
    let frames: Vec<&[u8]> = reader.filter_map(Result::ok).map(|f| f.data).collect();
    let mut tick = tokio::time::interval(frame_time);
    for frame in frames.iter().cycle() {
        tick.tick().await;
        sender.send_frame(frame, frame_time)?;
    }
    Ok(())
}

/// Sends the Ogg file's Opus packets at their own durations, over and over.
async fn play_ogg_opus(file: Vec<u8>, sender: RtpSender) -> rtcpeer::Result<()> {
    let reader =
        OggOpusReader::new(&file).map_err(|e| rtcpeer::Error::type_error(e.to_string()))?;
    let packets: Vec<_> = reader.filter_map(Result::ok).collect();
    let mut next = tokio::time::Instant::now();
    for p in packets.iter().cycle() {
        tokio::time::sleep_until(next).await;
        next += p.duration;
        sender.send_frame(&p.data, p.duration)?;
    }
    Ok(())
}
