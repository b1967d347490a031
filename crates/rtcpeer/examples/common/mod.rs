//! Signaling by hand for the media examples: descriptions as one JSON line each (the
//! browser's `toJSON()` form, what `examples/browser.html` shows and takes), gathered
//! completely first, so no candidate trickles.

#![allow(dead_code)]

use rtcpeer::{
    IceGatheringState, PeerConnection, PeerConnectionEvent, PeerConnectionState, SessionDescription,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

/// Standard input as lines.
pub fn stdin_lines() -> Lines<BufReader<Stdin>> {
    BufReader::new(tokio::io::stdin()).lines()
}

/// The next line of standard input as a description.
pub async fn read_description(
    lines: &mut Lines<BufReader<Stdin>>,
    what: &str,
) -> Result<SessionDescription, Box<dyn std::error::Error>> {
    eprintln!("paste the browser's {what} (one line):");
    let line = lines.next_line().await?.ok_or("standard input ended")?;
    Ok(serde_json::from_str(line.trim())?)
}

/// Sets the local description (an offer or an answer, by the signaling state), waits until
/// gathering is complete and prints the description as one line on standard output.
pub async fn describe(pc: &PeerConnection) -> Result<(), Box<dyn std::error::Error>> {
    let mut events = pc.events();
    pc.set_local_description(None).await?;
    while pc.ice_gathering_state() != IceGatheringState::Complete {
        events.recv().await.ok_or("the connection went away")?;
    }
    let local = pc.local_description().ok_or("no local description")?;
    println!("{}", local.to_json());
    Ok(())
}

/// Waits until the connection is connected; an error when it fails.
pub async fn connected(pc: &PeerConnection) -> Result<(), Box<dyn std::error::Error>> {
    let mut events = pc.events();
    while pc.connection_state() != PeerConnectionState::Connected {
        match events.recv().await {
            Some(PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Failed))
            | None => return Err("the connection failed".into()),
            _ => {}
        }
    }
    Ok(())
}
