//! Media helpers shared by the interop tests: a reflector that sends every received RTP
//! packet back through the same transceiver's sender.

use rtcpeer::{MediaEvent, OutgoingRtp, PeerConnection};

/// Reflects every transceiver's received RTP through its own sender (its own SSRC,
/// sequence numbers and SRTP), and forwards the sender's key-frame requests to the remote
/// sender of the receiver. Returns the number of transceivers it serves.
pub fn reflect(pc: &PeerConnection) -> usize {
    let mut n = 0;
    for t in pc.get_transceivers() {
        n += 1;
        let (sender, receiver) = (t.sender(), t.receiver());
        let (s2, r2) = (sender.clone(), receiver.clone());
        tokio::spawn(async move {
            while let Some(e) = receiver.recv().await {
                if let MediaEvent::Rtp(r) = e {
                    sender.send_rtp(&OutgoingRtp {
                        payload_type: Some(r.payload_type),
                        timestamp: r.timestamp,
                        marker: r.marker,
                        payload: &r.payload,
                    });
                }
            }
        });
        tokio::spawn(async move {
            while let Some(e) = s2.recv_feedback().await {
                if e == MediaEvent::KeyframeRequest {
                    r2.request_keyframe();
                }
            }
        });
    }
    n
}
