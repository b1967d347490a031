//! Two connections in one process open a data channel and exchange a message (the README's
//! example): `cargo run --example datachannel`.

use rtcpeer::{Configuration, DataChannelEvent, Payload, PeerConnection, PeerConnectionEvent};

#[tokio::main]
async fn main() -> rtcpeer::Result<()> {
    let pc1 = PeerConnection::new(Configuration::default())?;
    let pc2 = PeerConnection::new(Configuration::default())?;
    let (mut ev1, mut ev2) = (pc1.events(), pc2.events());
    let dc = pc1.create_data_channel("chat", None)?;
    let mut dc_events = dc.events();

    let offer = pc1.create_offer(None).await?;
    pc1.set_local_description(Some(offer.clone())).await?;
    println!("{}", offer.to_json()); // {"type":"offer","sdp":"v=0\r\n..."}, as a browser sends it
    pc2.set_remote_description(offer).await?;
    pc2.set_local_description(None).await?; // implicit answer
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await?;

    // Trickle candidates both ways until pc2 announces the channel.
    let remote = loop {
        tokio::select! {
            Some(PeerConnectionEvent::IceCandidate(c)) = ev1.recv() => {
                pc2.add_ice_candidate(c.map(|c| c.to_json())).await?
            }
            Some(e) = ev2.recv() => match e {
                PeerConnectionEvent::IceCandidate(c) => {
                    pc1.add_ice_candidate(c.map(|c| c.to_json())).await?
                }
                PeerConnectionEvent::DataChannel(dc) => break dc,
                _ => {}
            },
        }
    };
    let mut remote_events = remote.events();
    while dc_events.recv().await != Some(DataChannelEvent::Open) {}
    dc.send_text("hello")?;
    while let Some(e) = remote_events.recv().await {
        if let DataChannelEvent::Message(Payload::Text(t)) = e {
            println!("pc2 got {t:?}");
            break;
        }
    }
    Ok(())
}
