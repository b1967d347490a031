//! Helpers for tests that connect two `PeerConnection`s in one process over real UDP on
//! 127.0.0.1 (ICE, DTLS, SCTP and data channels through the runtime driver).

use std::time::Duration;

use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, EventStream, IceCandidateInit,
    IceGatheringState, PeerConnection, PeerConnectionEvent,
};

/// Every wait in these tests ends long before this unless something is broken (a guard
/// against hangs, not a timing assertion).
pub const LIMIT: Duration = Duration::from_secs(30);

/// A connection with the default configuration.
pub fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("pc")
}

/// Waits for `fut`, failing the test after [`LIMIT`].
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The next event of a data channel (panics if its stream ended).
pub async fn next(ev: &mut DataChannelEvents) -> DataChannelEvent {
    within("a data channel event", ev.recv())
        .await
        .expect("the channel's event stream is open")
}

/// The next event other than `bufferedamountlow` (which fires after every send burst with
/// the default threshold 0, WPT-252).
pub async fn next_not_low(ev: &mut DataChannelEvents) -> DataChannelEvent {
    loop {
        let e = next(ev).await;
        if e != DataChannelEvent::BufferedAmountLow {
            return e;
        }
    }
}

/// The next `datachannel` event on a connection's stream (other events are skipped).
pub async fn next_data_channel(ev: &mut EventStream) -> DataChannel {
    within("a datachannel event", async {
        loop {
            match ev.recv().await {
                Some(PeerConnectionEvent::DataChannel(dc)) => return dc,
                Some(_) => {}
                None => panic!("connection closed"),
            }
        }
    })
    .await
}

/// Offer/answer without trickle: each description is sent once gathering completed, with
/// its candidates.
pub async fn negotiate(pc1: &PeerConnection, pc2: &PeerConnection) {
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer)).await.unwrap();
    wait_gathered(pc2).await;
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
}

/// Waits until the connection's ICE gathering is complete.
pub async fn wait_gathered(pc: &PeerConnection) {
    let mut ev = pc.events();
    within("gathering to complete", async {
        while pc.ice_gathering_state() != IceGatheringState::Complete {
            ev.recv().await;
        }
    })
    .await;
}

/// Waits until `connectionState` is "connected"; fails at once on "failed".
pub async fn wait_connected(pc: &PeerConnection) {
    let mut ev = pc.events();
    within("connectionState connected", async {
        while pc.connection_state() != rtcpeer::PeerConnectionState::Connected {
            match ev.recv().await {
                Some(rtcpeer::PeerConnectionEvent::ConnectionStateChange(
                    rtcpeer::PeerConnectionState::Failed,
                )) => panic!("connection failed"),
                Some(_) => {}
                None => panic!("events ended"),
            }
        }
    })
    .await;
}

/// Forwards `icecandidate` events both ways until aborted (trickle); candidates already in
/// the local descriptions are forwarded first.
pub fn forward_candidates(
    pc1: &PeerConnection,
    pc2: &PeerConnection,
) -> tokio::task::JoinHandle<()> {
    let (mut e1, mut e2) = (pc1.events(), pc2.events());
    let (p1, p2) = (pc1.clone(), pc2.clone());
    tokio::spawn(async move {
        for c in pending_candidates(&p1) {
            let _ = p2.add_ice_candidate(Some(c)).await;
        }
        for c in pending_candidates(&p2) {
            let _ = p1.add_ice_candidate(Some(c)).await;
        }
        loop {
            tokio::select! {
                Some(e) = e1.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e {
                        let _ = p2.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                Some(e) = e2.recv() => {
                    if let PeerConnectionEvent::IceCandidate(Some(c)) = e {
                        let _ = p1.add_ice_candidate(Some(c.to_json())).await;
                    }
                }
                else => break,
            }
        }
    })
}

/// Candidates already written into a connection's local description.
pub fn pending_candidates(pc: &PeerConnection) -> Vec<IceCandidateInit> {
    let Some(d) = pc.local_description() else {
        return Vec::new();
    };
    d.sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(|l| IceCandidateInit {
            candidate: l.to_string(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        })
        .collect()
}

/// Every event of a connection until its gathering completed (the null candidate).
pub async fn gather_events(ev: &mut EventStream) -> Vec<PeerConnectionEvent> {
    within("gathering to complete", async {
        let mut v = Vec::new();
        while let Some(e) = ev.recv().await {
            let end = matches!(e, PeerConnectionEvent::IceCandidate(None));
            v.push(e);
            if end {
                break;
            }
        }
        v
    })
    .await
}

/// The candidates (`icecandidate` with a candidate line) among `events`.
pub fn candidates(events: &[PeerConnectionEvent]) -> Vec<&rtcpeer::IceCandidate> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::IceCandidate(Some(c)) if !c.candidate().is_empty() => Some(&**c),
            _ => None,
        })
        .collect()
}
