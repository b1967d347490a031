//! W3C signaling types: session descriptions, signaling state, transceiver directions.

use serde::{Deserialize, Serialize};

use crate::enums::w3c_enum;

w3c_enum! {
    /// `RTCSdpType` (webrtc-pc §4.8.1, JSEP RFC 9429 §4.1.8).
    pub enum SdpType {
        /// An offer.
        Offer = "offer",
        /// A provisional answer.
        Pranswer = "pranswer",
        /// A final answer.
        Answer = "answer",
        /// Cancels the current offer and returns to "stable".
        Rollback = "rollback",
    }
}

w3c_enum! {
    /// `RTCSignalingState` (webrtc-pc §4.3.1).
    pub enum SignalingState {
        /// No offer/answer exchange in progress.
        Stable = "stable",
        /// A local offer was applied.
        HaveLocalOffer = "have-local-offer",
        /// A remote offer was applied.
        HaveRemoteOffer = "have-remote-offer",
        /// A remote offer and a local provisional answer were applied.
        HaveLocalPranswer = "have-local-pranswer",
        /// A local offer and a remote provisional answer were applied.
        HaveRemotePranswer = "have-remote-pranswer",
        /// The connection is closed.
        Closed = "closed",
    }
}

w3c_enum! {
    /// `RTCRtpTransceiverDirection` (webrtc-pc §5.4.1).
    pub enum RtpTransceiverDirection {
        /// Send and receive.
        SendRecv = "sendrecv",
        /// Send only.
        SendOnly = "sendonly",
        /// Receive only.
        RecvOnly = "recvonly",
        /// Neither send nor receive.
        Inactive = "inactive",
        /// The transceiver is stopped.
        Stopped = "stopped",
    }
}

impl RtpTransceiverDirection {
    /// Whether this direction includes sending.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this direction includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction with the given send/receive bits.
    pub fn from_bits(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// The direction seen from the other side (sendonly ⇄ recvonly).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }

    /// The SDP direction attribute for this direction (`stopped` is written as inactive).
    pub(crate) fn to_sdp(self) -> crate::sdp::Direction {
        use crate::sdp::Direction as D;
        match self {
            Self::SendRecv => D::SendRecv,
            Self::SendOnly => D::SendOnly,
            Self::RecvOnly => D::RecvOnly,
            Self::Inactive | Self::Stopped => D::Inactive,
        }
    }

    /// The transceiver direction for an SDP direction attribute.
    pub(crate) fn from_sdp(d: crate::sdp::Direction) -> Self {
        use crate::sdp::Direction as D;
        match d {
            D::SendRecv => Self::SendRecv,
            D::SendOnly => Self::SendOnly,
            D::RecvOnly => Self::RecvOnly,
            D::Inactive => Self::Inactive,
        }
    }
}

/// `RTCSessionDescriptionInit` / `RTCSessionDescription` (webrtc-pc §4.8.2): serialises to
/// exactly the browser's `toJSON()`, `{"type":"offer","sdp":"v=0\r\n..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    /// The description type.
    #[serde(rename = "type")]
    pub sdp_type: SdpType,
    /// The SDP text; empty means "use the last created offer/answer" in setLocalDescription.
    #[serde(default)]
    pub sdp: String,
}

impl SessionDescription {
    /// A description of the given type and SDP text.
    pub fn new(sdp_type: SdpType, sdp: impl Into<String>) -> Self {
        SessionDescription {
            sdp_type,
            sdp: sdp.into(),
        }
    }

    /// An offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Offer, sdp)
    }

    /// An answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Answer, sdp)
    }

    /// A provisional answer.
    pub fn pranswer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Pranswer, sdp)
    }

    /// A rollback (its SDP is ignored).
    pub fn rollback() -> Self {
        Self::new(SdpType::Rollback, "")
    }

    /// The browser JSON form, `{"type":..,"sdp":..}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a description always serialises")
    }

    /// Parses the browser JSON form; an invalid `type` is a `TypeError` as in WebIDL.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        serde_json::from_str(json).map_err(|e| crate::Error::type_error(e.to_string()))
    }
}

/// `RTCOfferOptions` (webrtc-pc §4.2.5, legacy §4.9.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// Generate new ICE credentials (an ICE restart).
    pub ice_restart: bool,
    /// Legacy: `Some(true)` adds a recvonly audio transceiver if none can receive audio;
    /// `Some(false)` makes existing audio transceivers stop receiving.
    pub offer_to_receive_audio: Option<bool>,
    /// Legacy: as `offer_to_receive_audio`, for video.
    pub offer_to_receive_video: Option<bool>,
}

/// `RTCAnswerOptions` (webrtc-pc §4.2.5): no members today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerOptions {}
