//! A one-to-many forwarder, SFU style: one browser publishes its camera and microphone, any
//! number of browsers subscribe, and rtcpeer forwards the publisher's RTP packets to each of
//! them (RTP mode: no decoding; payload types mapped by codec; subscribers' key frame
//! requests go to the publisher, throttled): `cargo run --example sfu`.
//!
//! Signaling is by hand, one JSON line per description. First the publisher: in
//! `examples/browser.html` press "Add camera and microphone" and "Create offer", paste the
//! page's offer here and the printed answer back ("Apply the answer"). Then for each
//! subscriber type `sub` here: paste the printed offer into another page, press "Answer the
//! offer" and paste its answer here. rtcpeer gathers on 127.0.0.1: run the browsers on this
//! machine with `--allow-loopback-in-peer-connection
//! --disable-features=WebRtcHideLocalIpsWithMdns`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, MediaEvent, MediaKind, OutgoingRtp, PeerConnection, ReceivedRtp,
    RtpCodecParameters, RtpReceiver, RtpSender, RtpTransceiverDirection, TransceiverInit,
};
use tokio::sync::broadcast;

/// Packets a slow subscriber may fall behind by before it loses some (then it asks for a
/// key frame).
const BACKLOG: usize = 1024;

/// Key frame requests reach the publisher at most this often, however many subscribers ask.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

/// One published track: its kind, its packets for the subscribers, its negotiated codecs.
struct Track {
    kind: MediaKind,
    packets: broadcast::Sender<Arc<ReceivedRtp>>,
    codecs: Vec<RtpCodecParameters>,
    receiver: RtpReceiver,
    last_keyframe_request: Mutex<Option<Instant>>,
}

impl Track {
    /// Asks the publisher for a key frame unless one was asked for very recently.
    fn request_keyframe(&self) {
        let mut last = self.last_keyframe_request.lock().unwrap();
        if last.is_none_or(|t| t.elapsed() >= KEYFRAME_INTERVAL) && self.receiver.request_keyframe()
        {
            *last = Some(Instant::now());
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines = common::stdin_lines();
    let publisher = PeerConnection::new(Configuration::default())?;
    let offer = common::read_description(&mut lines, "publisher's offer").await?;
    publisher.set_remote_description(offer).await?;
    common::describe(&publisher).await?;
    common::connected(&publisher).await?;
    let mut tracks: Vec<Arc<Track>> = Vec::new();
    for t in publisher.get_transceivers() {
        let receiver = t.receiver();
        let (packets, _) = broadcast::channel(BACKLOG);
        let track = Arc::new(Track {
            kind: t.kind(),
            packets: packets.clone(),
            codecs: receiver.get_parameters().codecs,
            receiver: receiver.clone(),
            last_keyframe_request: Mutex::new(None),
        });
        tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                if let MediaEvent::Rtp(p) = event {
                    // No subscriber yet is fine: the packet is dropped.
                    let _ = packets.send(Arc::new(p));
                }
            }
        });
        tracks.push(track);
    }
    if tracks.is_empty() {
        return Err("the publisher sends no audio or video".into());
    }
    eprintln!("publisher connected; type `sub` for each subscriber");

    let mut subscribers = Vec::new();
    while let Some(line) = lines.next_line().await? {
        if line.trim() != "sub" {
            continue;
        }
        let sub = PeerConnection::new(Configuration::default())?;
        let mut forwarders = Vec::new();
        for track in &tracks {
            let init = TransceiverInit {
                direction: RtpTransceiverDirection::SendOnly,
                ..TransceiverInit::default()
            };
            let sender = sub.add_transceiver(track.kind, init)?.sender();
            forwarders.push((track.clone(), sender));
        }
        common::describe(&sub).await?;
        let answer = common::read_description(&mut lines, "subscriber's answer").await?;
        sub.set_remote_description(answer).await?;
        for (track, sender) in forwarders {
            tokio::spawn(forward(track.clone(), sender.clone()));
            tokio::spawn(feedback(track, sender));
        }
        subscribers.push(sub);
        eprintln!("subscriber {} added", subscribers.len());
    }
    Ok(())
}

/// Sends the track's packets on `sender` with the subscriber's payload type for the same
/// codec, from its next key frame on (video).
async fn forward(track: Arc<Track>, sender: RtpSender) {
    let mut packets = track.packets.subscribe();
    // The subscriber's description is applied: map payload types once.
    let map: Vec<(u8, u8)> = track
        .codecs
        .iter()
        .filter_map(|c| {
            Some((
                c.payload_type,
                map_payload_type(&track.codecs, &sender, c.payload_type)?,
            ))
        })
        .collect();
    track.request_keyframe();
    loop {
        let p = match packets.recv().await {
            Ok(p) => p,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                track.request_keyframe();
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(&(_, payload_type)) = map.iter().find(|(from, _)| *from == p.payload_type) else {
            continue;
        };
        let rtp = OutgoingRtp {
            payload_type: Some(payload_type),
            timestamp: p.timestamp,
            marker: p.marker,
            payload: &p.payload,
        };
        // None until the subscriber is connected, or when it is gone.
        let _ = sender.send_rtp(&rtp);
    }
}

/// Passes the subscriber's key frame requests (PLI/FIR) on to the publisher.
async fn feedback(track: Arc<Track>, sender: RtpSender) {
    while let Some(event) = sender.recv_feedback().await {
        if event == MediaEvent::KeyframeRequest {
            track.request_keyframe();
        }
    }
}

/// The subscriber's payload type for the codec the publisher's `payload_type` stands for
/// (same MIME type, clock rate and format parameters, else the same MIME type).
fn map_payload_type(
    publisher: &[RtpCodecParameters],
    sender: &RtpSender,
    payload_type: u8,
) -> Option<u8> {
    let codec = publisher.iter().find(|c| c.payload_type == payload_type)?;
    let ours = sender.get_parameters().codecs;
    let same = |c: &&RtpCodecParameters| {
        c.mime_type.eq_ignore_ascii_case(&codec.mime_type) && c.clock_rate == codec.clock_rate
    };
    ours.iter()
        .filter(same)
        .find(|c| c.sdp_fmtp_line == codec.sdp_fmtp_line)
        .or_else(|| ours.iter().find(same))
        .map(|c| c.payload_type)
}
