//! Sends a browser's media back to it: every RTP packet received on a transceiver leaves on
//! the same transceiver (RTP mode: no depacketizing; rtcpeer writes its own SSRC, sequence
//! numbers and SRTP), and the browser's requests for key frames go back to the browser's
//! encoder as PLIs: `cargo run --example reflect`.
//!
//! In `examples/browser.html` press "Add camera and microphone", then "Create offer"; paste
//! the page's offer here (one line) and the printed answer back into the page ("Apply the
//! answer"): the page then shows its own camera as received from rtcpeer. rtcpeer gathers on
//! 127.0.0.1: run the browser on this machine with `--allow-loopback-in-peer-connection
//! --disable-features=WebRtcHideLocalIpsWithMdns`.

mod common;

use rtcpeer::{Configuration, MediaEvent, OutgoingRtp, PeerConnection, RtpTransceiverDirection};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pc = PeerConnection::new(Configuration::default())?;
    let mut lines = common::stdin_lines();
    let offer = common::read_description(&mut lines, "offer").await?;
    pc.set_remote_description(offer).await?;
    let mut tasks = Vec::new();
    for t in pc.get_transceivers() {
        // Send back on each section the browser sends on.
        t.set_direction(RtpTransceiverDirection::SendRecv)?;
        let (sender, receiver) = (t.sender(), t.receiver());
        let (s, r) = (sender.clone(), receiver.clone());
        tasks.push(tokio::spawn(async move {
            let mut packets = 0u64;
            while let Some(event) = r.recv().await {
                if let MediaEvent::Rtp(p) = event {
                    // Same connection, same payload types: forward as they are.
                    let sent = s.send_rtp(&OutgoingRtp {
                        payload_type: Some(p.payload_type),
                        timestamp: p.timestamp,
                        marker: p.marker,
                        payload: &p.payload,
                    });
                    packets += u64::from(sent.is_some());
                }
            }
            packets
        }));
        tasks.push(tokio::spawn(async move {
            let mut requests = 0u64;
            while let Some(event) = sender.recv_feedback().await {
                if event == MediaEvent::KeyframeRequest && receiver.request_keyframe() {
                    requests += 1;
                }
            }
            requests
        }));
    }
    if tasks.is_empty() {
        return Err("the offer has no audio or video".into());
    }
    common::describe(&pc).await?;
    common::connected(&pc).await?;
    eprintln!("connected: reflecting (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    pc.close();
    for t in tasks {
        t.await?;
    }
    Ok(())
}
