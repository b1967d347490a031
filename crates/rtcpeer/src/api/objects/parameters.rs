//! `getParameters` / `setParameters` of senders and receivers (webrtc-pc §5.2, §5.3).

use rtcpeer_proto::{
    Error, Result, RtpEncodingParameters, RtpReceiveParameters, RtpSendParameters,
};

use super::{RtpReceiver, RtpSender};

impl RtpSender {
    /// `getParameters()` (webrtc-pc §5.2): the encodings, the negotiated codecs and header
    /// extensions, and RTCP's CNAME. The `transaction_id` stays the same until a
    /// [`RtpSender::set_parameters`] with these parameters succeeds (browsers also renew it
    /// when their event loop runs a task; Rust has no such loop), so read, change and set
    /// back is one transaction. A sender whose transceiver is gone reports one active
    /// encoding and nothing negotiated.
    pub fn get_parameters(&self) -> RtpSendParameters {
        self.pc
            .core()
            .send_parameters(self.id)
            .unwrap_or_else(|| RtpSendParameters {
                transaction_id: String::new(),
                encodings: vec![RtpEncodingParameters::default()],
                header_extensions: Vec::new(),
                rtcp: Default::default(),
                codecs: Vec::new(),
            })
    }

    /// `setParameters(parameters)` (webrtc-pc §5.2): changes the encodings (`active`,
    /// `maxBitrate`, `maxFramerate`, `scaleResolutionDownBy`, `priority`,
    /// `networkPriority`, `scalabilityMode`, `codec`). `InvalidStateError` when the
    /// transceiver is stopped or no `get_parameters` is pending (a transaction ends when its
    /// parameters were set); `InvalidModificationError` for parameters of an older
    /// transaction, encodings added, removed, reordered or renamed, changed read-only
    /// members, or a codec that was not negotiated; `RangeError` for a scale below 1 or a
    /// negative frame rate. With every encoding inactive the sender sends no RTP.
    pub async fn set_parameters(&self, parameters: RtpSendParameters) -> Result<()> {
        let mut core = self.pc.core();
        if core.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        core.set_parameters(self.id, parameters)
    }
}

impl RtpReceiver {
    /// `jitterBufferTarget` (webrtc-pc §5.3): what the application asked for, `None` when
    /// it did not.
    pub fn jitter_buffer_target(&self) -> Option<std::time::Duration> {
        self.pc.core().jitter_buffer_target(self.id)
    }

    /// Sets `jitterBufferTarget` (webrtc-pc §5.3; `None` restores the default):
    /// `RangeError` above 4 seconds, `InvalidStateError` once the transceiver is gone.
    /// rtcpeer does not play media out: the target is how long
    /// [`ReceiveMode::Frames`](rtcpeer_proto::ReceiveMode::Frames) waits for a missing packet
    /// (and its retransmission) before giving its frame up (100 ms by default).
    pub fn set_jitter_buffer_target(&self, target: Option<std::time::Duration>) -> Result<()> {
        self.pc.core().set_jitter_buffer_target(self.id, target)
    }

    /// `getParameters()` (webrtc-pc §5.3): the codecs and header extensions negotiated for
    /// this receiver (empty before negotiation) and the remote's RTCP CNAME.
    pub fn get_parameters(&self) -> RtpReceiveParameters {
        self.pc
            .core()
            .receive_parameters(self.id)
            .unwrap_or_default()
    }
}
