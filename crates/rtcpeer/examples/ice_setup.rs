//! ICE connection setup latency between two rtcpeer connections over real UDP on 127.0.0.1:
//! create both, offer/answer with a data channel, trickle the candidates, and time
//! (a) from both descriptions applied (the offerer's setRemoteDescription(answer) resolved) to
//! ICE "connected" on both sides, and (b) from creating the connections to that point.
//! Prints the median, min and max over the runs.
//!
//! Usage: `ice_setup [runs]` (default 20). Build optimised:
//! `cargo run --release -p rtcpeer --example ice_setup`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, IceConnectionState, IceSettings, PeerConnection, PeerConnectionEvent, Settings,
};

fn pc() -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("new pc")
}

fn connected(e: &PeerConnectionEvent) -> bool {
    matches!(
        e,
        PeerConnectionEvent::IceConnectionStateChange(
            IceConnectionState::Connected | IceConnectionState::Completed
        )
    )
}

/// One run: (descriptions applied → both connected, create → both connected).
async fn run_once() -> (Duration, Duration) {
    let created = Instant::now();
    let (pc1, pc2) = (pc(), pc());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("chat", None).expect("data channel");
    let offer = pc1.create_offer(None).await.expect("offer");
    pc1.set_local_description(Some(offer.clone()))
        .await
        .expect("SLD offer");
    pc2.set_remote_description(offer).await.expect("SRD offer");
    let answer = pc2.create_answer(None).await.expect("answer");
    pc2.set_local_description(Some(answer.clone()))
        .await
        .expect("SLD answer");
    pc1.set_remote_description(answer)
        .await
        .expect("SRD answer");
    let applied = Instant::now();
    let (mut c1, mut c2) = (false, false);
    let wait = async {
        while !(c1 && c2) {
            tokio::select! {
                e = ev1.recv() => {
                    let e = e.expect("pc1 events");
                    if let PeerConnectionEvent::IceCandidate(c) = &e {
                        pc2.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc2 addIceCandidate");
                    }
                    c1 |= connected(&e);
                }
                e = ev2.recv() => {
                    let e = e.expect("pc2 events");
                    if let PeerConnectionEvent::IceCandidate(c) = &e {
                        pc1.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc1 addIceCandidate");
                    }
                    c2 |= connected(&e);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("both sides connect within 10 s");
    let done = Instant::now();
    pc1.close();
    pc2.close();
    (done - applied, done - created)
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: median {:.3} ms, min {:.3} ms, max {:.3} ms ({} runs)",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut applied = Vec::new();
    let mut total = Vec::new();
    rt.block_on(async {
        // One warm-up run (first socket binds, lazy statics), not counted.
        run_once().await;
        for _ in 0..runs {
            let (a, t) = run_once().await;
            applied.push(a);
            total.push(t);
        }
    });
    summary("descriptions applied -> ICE connected (both)", applied);
    summary("create -> ICE connected (both)", total);
}
