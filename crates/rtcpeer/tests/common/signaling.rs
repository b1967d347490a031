//! Signaling helpers shared by the integration tests.

use rtcpeer::{EventStream, PeerConnection, PeerConnectionEvent};

/// A full offer/answer exchange with explicit createOffer/createAnswer: pc1 offers, pc2
/// answers, pc1 applies the answer.
pub async fn exchange(pc1: &PeerConnection, pc2: &PeerConnection) {
    let offer = pc1.create_offer(None).await.expect("createOffer");
    pc1.set_local_description(Some(offer.clone()))
        .await
        .expect("SLD(offer)");
    pc2.set_remote_description(offer).await.expect("SRD(offer)");
    let answer = pc2.create_answer(None).await.expect("createAnswer");
    pc2.set_local_description(Some(answer.clone()))
        .await
        .expect("SLD(answer)");
    pc1.set_remote_description(answer)
        .await
        .expect("SRD(answer)");
}

/// The same exchange with parameterless setLocalDescription on both sides.
pub async fn exchange_implicit(pc1: &PeerConnection, pc2: &PeerConnection) {
    pc1.set_local_description(None).await.expect("SLD(offer)");
    pc2.set_remote_description(pc1.local_description().expect("local offer"))
        .await
        .expect("SRD(offer)");
    pc2.set_local_description(None).await.expect("SLD(answer)");
    pc1.set_remote_description(pc2.local_description().expect("local answer"))
        .await
        .expect("SRD(answer)");
}

/// Every event already queued on the stream.
pub fn drain(ev: &mut EventStream) -> Vec<PeerConnectionEvent> {
    std::iter::from_fn(|| ev.try_recv()).collect()
}
