//! `rtcpeer`: the command-line front end of the rtcpeer library.
//!
//! `rtcpeer demo` runs two peer connections in one process and negotiates audio, video and
//! a data channel between them, then lets them find each other with ICE over UDP on
//! 127.0.0.1 (trickled candidates), printing each milestone with its time. (DTLS, SCTP and
//! media arrive with their layers; the demo says so.)

use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, Error, IceConnectionState, MediaKind, MediaStream, MediaStreamTrack,
    PeerConnection, PeerConnectionEvent, PeerConnectionState, Result, SessionDescription,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("demo") => demo(args.iter().any(|a| a == "--sdp")).await,
        Some("version") | Some("--version") => {
            println!("rtcpeer {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: rtcpeer demo [--sdp]   negotiate audio+video+data between two in-process peers"
            );
            eprintln!("       rtcpeer version");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn ms(t0: Instant) -> String {
    format!("{:>8.3} ms", t0.elapsed().as_secs_f64() * 1e3)
}

fn summary(d: &SessionDescription) -> String {
    let lines: Vec<&str> = d.sdp.lines().filter(|l| l.starts_with("m=")).collect();
    format!(
        "{} ({} bytes): {}",
        d.sdp_type,
        d.sdp.len(),
        lines.join(" | ")
    )
}

async fn demo(print_sdp: bool) -> Result<()> {
    let t0 = Instant::now();
    let alice = PeerConnection::new(Configuration::default())?;
    let bob = PeerConnection::new(Configuration::default())?;
    println!(
        "{}  created two peer connections (ECDSA P-256 certificates)",
        ms(t0)
    );
    let mut alice_events = alice.events();
    let mut bob_events = bob.events();

    let stream = MediaStream::new();
    alice.add_track(&MediaStreamTrack::new(MediaKind::Audio, "mic"), &[&stream])?;
    alice.add_track(
        &MediaStreamTrack::new(MediaKind::Video, "camera"),
        &[&stream],
    )?;
    let dc = alice.create_data_channel("chat", None)?;
    println!(
        "{}  alice: added audio + video tracks and data channel \"{}\"",
        ms(t0),
        dc.label()
    );

    let offer = alice.create_offer(None).await?;
    println!("{}  alice: createOffer -> {}", ms(t0), summary(&offer));
    if print_sdp {
        println!("{}", offer.sdp);
    }
    alice.set_local_description(Some(offer.clone())).await?;
    println!(
        "{}  alice: signalingState {}",
        ms(t0),
        alice.signaling_state()
    );
    bob.set_remote_description(SessionDescription::from_json(&offer.to_json())?)
        .await?;
    println!(
        "{}  bob:   setRemoteDescription(offer via JSON) -> {}",
        ms(t0),
        bob.signaling_state()
    );
    let answer = bob.create_answer(None).await?;
    println!("{}  bob:   createAnswer -> {}", ms(t0), summary(&answer));
    if print_sdp {
        println!("{}", answer.sdp);
    }
    bob.set_local_description(Some(answer.clone())).await?;
    alice.set_remote_description(answer).await?;
    println!(
        "{}  both stable: alice {}, bob {}",
        ms(t0),
        alice.signaling_state(),
        bob.signaling_state()
    );
    // ICE: forward each side's trickled candidates to the other until both are connected
    // (the driver tasks bind 127.0.0.1 only, the default of `Settings::ice`).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (mut alice_up, mut bob_up) = (false, false);
    while !(alice_up && bob_up) {
        let (who, e, other) = tokio::select! {
            e = alice_events.recv() => ("alice", e, &bob),
            e = bob_events.recv() => ("bob  ", e, &alice),
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::operation("ICE did not connect within 10 s"));
            }
        };
        let Some(e) = e else {
            return Err(Error::operation("a connection closed during the demo"));
        };
        match e {
            PeerConnectionEvent::Track(t) => println!(
                "{}  {who}: track event: {} track, stream {:?}, mid {:?}",
                ms(t0),
                t.track.kind(),
                t.streams
                    .iter()
                    .map(|s| s.id().to_string())
                    .collect::<Vec<_>>(),
                t.transceiver.mid()
            ),
            PeerConnectionEvent::IceCandidate(c) => {
                match &c {
                    Some(c) if !c.candidate().is_empty() => {
                        println!("{}  {who}: icecandidate {}", ms(t0), c.candidate())
                    }
                    Some(_) => {}
                    None => println!("{}  {who}: end of candidates", ms(t0)),
                }
                other.add_ice_candidate(c.map(|c| c.to_json())).await?;
            }
            PeerConnectionEvent::IceGatheringStateChange(s) => {
                println!("{}  {who}: iceGatheringState {s}", ms(t0))
            }
            PeerConnectionEvent::IceConnectionStateChange(s) => {
                println!("{}  {who}: iceConnectionState {s}", ms(t0));
                if s == IceConnectionState::Failed {
                    return Err(Error::operation("ICE failed"));
                }
            }
            PeerConnectionEvent::ConnectionStateChange(s) => {
                println!("{}  {who}: connectionState {s}", ms(t0));
                if s == PeerConnectionState::Connected {
                    if who == "alice" {
                        alice_up = true;
                    } else {
                        bob_up = true;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((local, remote)) = alice.selected_candidate_pair() {
        println!("          alice selected pair {local} -> {remote}");
    }
    for t in alice.get_transceivers() {
        println!(
            "          alice transceiver mid {:?}: currentDirection {:?}",
            t.mid(),
            t.current_direction().map(|d| d.to_string())
        );
    }
    println!(
        "          data channel id {:?} (DTLS role negotiated), sctp maxMessageSize {}",
        dc.id(),
        alice.sctp().map(|s| s.max_message_size()).unwrap_or(0.0)
    );
    println!(
        "{}  ICE connected. (DTLS, SCTP and data channels are not wired into PeerConnection yet: no media or data flows.)",
        ms(t0)
    );
    alice.close();
    bob.close();
    Ok(())
}
