//! A connection with nothing to check reaches "failed" (RFC 8863 PAC timer, webrtc-pc
//! §4.4.3 / §5.6.4) over real UDP on 127.0.0.1, and a restart brings it back. Run inside a
//! loopback-only namespace (`unshare --net`). Every wait has a deadline; passing it fails.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, EventStream, IceConnectionState as Ice, IceSettings, IceTransportPolicy,
    PeerConnection, PeerConnectionEvent as Ev, PeerConnectionState as Pc, Settings,
};

/// The PAC timer configured for the relay-policy side: short, the wait is on the real clock.
const PAC: Duration = Duration::from_millis(300);
/// Bound on reaching "failed": the PAC timer plus generous scheduling slack.
const DEADLINE: Duration = Duration::from_secs(5);

fn settings(pac: Duration) -> Settings {
    let mut ice = IceSettings {
        interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ..IceSettings::default()
    };
    ice.agent.pac_timeout = pac;
    Settings {
        ice,
        ..Settings::default()
    }
}

/// Offer from `offerer`, answer from `answerer`, descriptions applied as they are.
async fn negotiate(offerer: &PeerConnection, answerer: &PeerConnection) {
    let offer = offerer.create_offer(None).await.expect("offer");
    offerer
        .set_local_description(Some(offer.clone()))
        .await
        .expect("SLD offer");
    answerer
        .set_remote_description(offer)
        .await
        .expect("SRD offer");
    let answer = answerer.create_answer(None).await.expect("answer");
    answerer
        .set_local_description(Some(answer.clone()))
        .await
        .expect("SLD answer");
    offerer
        .set_remote_description(answer)
        .await
        .expect("SRD answer");
}

/// Collects `ev` until `done` holds for the events so far; panics after `deadline`.
async fn collect_until(
    ev: &mut EventStream,
    deadline: Duration,
    done: impl Fn(&[Ev]) -> bool,
) -> Vec<Ev> {
    let mut log = Vec::new();
    let run = async {
        while !done(&log) {
            log.push(ev.recv().await.expect("event stream"));
        }
    };
    if tokio::time::timeout(deadline, run).await.is_err() {
        panic!("deadline passed: {}", trace(&log).join(" "));
    }
    log
}

/// ICE transport, iceConnectionState and connectionState changes, in firing order.
fn trace(log: &[Ev]) -> Vec<String> {
    log.iter()
        .filter_map(|e| match e {
            Ev::IceTransportStateChange(_, s) => Some(format!("t:{s}")),
            Ev::IceConnectionStateChange(s) => Some(format!("ice:{s}")),
            Ev::ConnectionStateChange(s) => Some(format!("pc:{s}")),
            _ => None,
        })
        .collect()
}

fn pc_reached(log: &[Ev], state: Pc) -> bool {
    log.iter()
        .any(|e| matches!(e, Ev::ConnectionStateChange(s) if *s == state))
}

/// `iceTransportPolicy: "relay"` and no TURN server: no candidate is gathered, so nothing can
/// be paired; connectionState reaches "failed" once the PAC timer ran out (it used to stay
/// "connecting" forever), with the transport's, ICE's and the connection's events in W3C
/// order. `setConfiguration` back to "all" plus `restartIce` then connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_policy_without_turn_reaches_failed_and_restart_ice_recovers() {
    let relay = Configuration {
        ice_transport_policy: IceTransportPolicy::Relay,
        ..Configuration::default()
    };
    let pc1 = PeerConnection::with_settings(relay, settings(PAC)).expect("pc1");
    let pc2 =
        PeerConnection::with_settings(Configuration::default(), settings(Duration::from_secs(5)))
            .expect("pc2");
    let mut ev1 = pc1.events();
    pc1.create_data_channel("x", None).expect("dc");
    let start = Instant::now();
    negotiate(&pc1, &pc2).await;
    let log = collect_until(&mut ev1, DEADLINE, |l| pc_reached(l, Pc::Failed)).await;
    let took = start.elapsed();
    assert!(took >= PAC, "failed after {took:?}, before the PAC timer");
    assert_eq!(
        trace(&log),
        ["pc:connecting", "t:failed", "ice:failed", "pc:failed"]
    );
    assert_eq!(pc1.ice_connection_state(), Ice::Failed);
    assert_eq!(pc1.connection_state(), Pc::Failed);
    let transport = pc1.ice_transport().expect("ice transport");
    assert_eq!(transport.state(), Ice::Failed);
    assert!(
        !pc1.local_description()
            .expect("local description")
            .sdp
            .contains("a=candidate"),
        "relay policy gathers nothing without TURN"
    );

    // Recovery: policy "all", restartIce, a new offer/answer; trickle both ways (fresh
    // streams: the first generation's events are stale now).
    drop(ev1);
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.set_configuration(Configuration::default())
        .expect("setConfiguration");
    pc1.restart_ice();
    negotiate(&pc1, &pc2).await;
    let run = async {
        let (mut up1, mut up2) = (false, false);
        while !(up1 && up2) {
            tokio::select! {
                e = ev1.recv() => match e.expect("pc1 events") {
                    Ev::IceCandidate(c) => pc2
                        .add_ice_candidate(c.map(|c| c.to_json()))
                        .await
                        .expect("pc2 addIceCandidate"),
                    Ev::ConnectionStateChange(Pc::Connected) => up1 = true,
                    _ => {}
                },
                e = ev2.recv() => match e.expect("pc2 events") {
                    Ev::IceCandidate(c) => pc1
                        .add_ice_candidate(c.map(|c| c.to_json()))
                        .await
                        .expect("pc1 addIceCandidate"),
                    Ev::ConnectionStateChange(Pc::Connected) => up2 = true,
                    _ => {}
                },
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("connected after restartIce");
    assert!(matches!(
        pc1.ice_connection_state(),
        Ice::Connected | Ice::Completed
    ));
    assert_eq!(pc1.ice_transport().expect("same transport"), transport);
    assert!(matches!(transport.state(), Ice::Connected | Ice::Completed));
    pc1.close();
    pc2.close();
}
