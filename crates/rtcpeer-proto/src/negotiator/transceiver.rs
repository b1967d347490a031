//! The signaling state of one `RTCRtpTransceiver` (webrtc-pc §5.4) inside the core.

use crate::codecs::{
    MediaKind, RtpCodecCapability, RtpCodecParameters, RtpHeaderExtensionParameters,
};
use crate::track::{MediaStream, MediaStreamTrack};

use super::types::RtpTransceiverDirection;

/// Identifies a transceiver inside one connection; handles carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub(crate) u64);

/// Everything the core knows about a transceiver, its sender and its receiver.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Transceiver {
    pub id: TransceiverId,
    pub kind: MediaKind,
    pub mid: Option<String>,
    pub direction: RtpTransceiverDirection,
    pub current_direction: Option<RtpTransceiverDirection>,
    /// `[[Stopping]]`: stop() was called, not yet negotiated.
    pub stopping: bool,
    /// `[[Stopped]]`: the stop is final.
    pub stopped: bool,
    /// Created by addTrack (or adopted by it): may pair with a remote m-section (webrtc-pc §4.4.1.5)
    /// and survives rollback.
    pub addtrack_attached: bool,
    /// Created by applying a remote offer that may still be rolled back.
    pub created_by_remote: bool,
    /// Ever negotiated a sending direction (addTrack may not reuse it).
    pub has_sent: bool,
    pub sender_track: Option<MediaStreamTrack>,
    /// `[[AssociatedMediaStreamIds]]` of the sender.
    pub sender_stream_ids: Vec<String>,
    /// Track id written in `a=msid` when there is no track.
    pub sender_msid_track: String,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
    pub receiver_track: MediaStreamTrack,
    /// `[[AssociatedRemoteMediaStreams]]`.
    pub remote_streams: Vec<MediaStream>,
    /// `[[FiredDirection]]` receive bit: a `track` event was fired and not undone.
    pub fired_recv: bool,
    pub codec_preferences: Vec<RtpCodecCapability>,
    /// Codecs from the last remote description (what the peer offered or answered).
    pub remote_codecs: Vec<RtpCodecParameters>,
    pub remote_extensions: Vec<RtpHeaderExtensionParameters>,
    /// The m-line index in the most recently applied description.
    pub mline: Option<usize>,
}

impl Transceiver {
    /// Whether this transceiver takes part in the next offer as a live m-section.
    pub fn is_active(&self) -> bool {
        !self.stopping && !self.stopped
    }
}
