//! ICE helpers shared by the integration tests that connect real `PeerConnection`s.

use std::net::SocketAddr;
use std::time::Duration;

use rtcpeer::PeerConnectionEvent as Ev;
use rtcpeer::{EventStream, IceConnectionState, IceGatheringState, PeerConnection};
use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method};

/// Bound on every wait for an event; passing it is a failure.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Waits until `ev` delivers an event for which `f` holds.
pub async fn wait_event(ev: &mut EventStream, what: &str, mut f: impl FnMut(&Ev) -> bool) {
    let run = async {
        loop {
            let e = ev
                .recv()
                .await
                .unwrap_or_else(|| panic!("stream ended before {what}"));
            if f(&e) {
                return;
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .unwrap_or_else(|_| panic!("deadline passed waiting for {what}"));
}

fn gathered(e: &Ev) -> bool {
    matches!(e, Ev::IceGatheringStateChange(IceGatheringState::Complete))
}

fn ice_connected(e: &Ev) -> bool {
    matches!(
        e,
        Ev::IceConnectionStateChange(IceConnectionState::Connected | IceConnectionState::Completed)
    )
}

/// Offer/answer with every candidate in the descriptions (each side sends its description
/// once gathering completed; no trickle), then waits until both sides are ICE connected.
pub async fn connect_without_trickle(pc1: &PeerConnection, pc2: &PeerConnection) {
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("probe", None)
        .expect("createDataChannel");
    pc1.set_local_description(None).await.expect("SLD(offer)");
    wait_event(&mut ev1, "pc1 gathering complete", gathered).await;
    pc2.set_remote_description(pc1.local_description().expect("offer"))
        .await
        .expect("SRD(offer)");
    pc2.set_local_description(None).await.expect("SLD(answer)");
    wait_event(&mut ev2, "pc2 gathering complete", gathered).await;
    pc1.set_remote_description(pc2.local_description().expect("answer"))
        .await
        .expect("SRD(answer)");
    wait_event(&mut ev1, "pc1 ICE connected", ice_connected).await;
    wait_event(&mut ev2, "pc2 ICE connected", ice_connected).await;
}

/// The host candidates' transport addresses in a connection's local description.
pub fn host_candidates(pc: &PeerConnection) -> Vec<SocketAddr> {
    let sdp = pc.local_description().expect("local description").sdp;
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter_map(|c| {
            // foundation component transport priority address port "typ" type ...
            let f: Vec<&str> = c.split_whitespace().collect();
            match (f.get(4), f.get(5), f.get(7)) {
                (Some(a), Some(p), Some(&"host")) => {
                    Some(SocketAddr::new(a.parse().ok()?, p.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// A fake STUN server on 127.0.0.1 (see [`fake_stun_server`]); it stops when dropped.
pub struct FakeStun {
    requesters: tokio::sync::mpsc::UnboundedReceiver<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeStun {
    /// The source address of the next Binding request answered.
    pub async fn next_requester(&mut self) -> SocketAddr {
        self.requesters
            .recv()
            .await
            .expect("the fake STUN server runs")
    }
}

impl Drop for FakeStun {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a fake STUN server on 127.0.0.1 that answers every Binding request with its own
/// address as the mapped address (a loopback address nobody sends media to).
pub async fn fake_stun_server() -> (SocketAddr, FakeStun) {
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server_addr = server.local_addr().unwrap();
    let (tx, requesters) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = server.recv_from(&mut buf).await else {
                return;
            };
            let Ok(msg) = Message::parse(&buf[..n]) else {
                continue;
            };
            if msg.class() != Class::Request || msg.method() != Method::BINDING {
                continue;
            }
            let mut out = Vec::new();
            let mut w = MessageWriter::new(
                &mut out,
                Class::SuccessResponse,
                Method::BINDING,
                msg.transaction_id(),
            );
            w.xor_mapped_address(server_addr).unwrap();
            w.fingerprint().unwrap();
            let _ = server.send_to(&out, from).await;
            let _ = tx.send(from);
        }
    });
    (server_addr, FakeStun { requesters, task })
}
