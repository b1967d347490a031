//! rtcpeer: WebRTC's `RTCPeerConnection` in Rust.
//!
//! The sans-IO protocol core (`rtcpeer-proto`: SDP/JSEP, ICE, DTLS, SCTP data channels)
//! driven by a thin tokio runtime that exposes the W3C API: [`PeerConnection`] and the objects
//! it hands out, the W3C dictionaries and enums, and the [`Settings`] outside the W3C
//! configuration. See `ARCHITECTURE.md` for the module map.
//!
//! ```
//! # fn main() -> rtcpeer::Result<()> {
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use rtcpeer::{Configuration, PeerConnection};
//!
//! let pc1 = PeerConnection::new(Configuration::default())?;
//! let pc2 = PeerConnection::new(Configuration::default())?;
//! pc1.create_data_channel("chat", None)?;
//!
//! let offer = pc1.create_offer(None).await?;
//! pc1.set_local_description(Some(offer.clone())).await?;
//! pc2.set_remote_description(offer).await?;
//! pc2.set_local_description(None).await?; // implicit answer
//! pc1.set_remote_description(pc2.local_description().unwrap()).await?;
//! assert_eq!(pc1.signaling_state().to_string(), "stable");
//! # Ok(()) })
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod track;

pub use api::{
    DataChannel, DataChannelEvents, DtlsTransport, DtmfSender, EVENT_QUEUE, EventStream,
    IDP_TIMEOUT, IceSettings, IceTcpSettings, IceTransport, IdentityAssertion,
    IdentityAssertionResult, IdentityProvider, IdentityProviderDetails, IdentityProviderOptions,
    IdentityValidationResult, IdpFuture, MUX_QUEUE, NetworkTask, Operation, PeerConnection,
    PeerConnectionEvent, RtpReceiver, RtpSender, RtpTransceiver, SctpTransport, Settings,
    TrackEvent, TrackOrKind, TransceiverInit, UdpMux,
};
pub use rtcpeer_proto::RtcpComponentStats;
/// Reading IVF and Ogg Opus files to play them, writing IVF to record.
pub use rtcpeer_proto::media_file;
/// The W3C statistics (webrtc-stats) that [`PeerConnection::get_stats`],
/// [`RtpSender::get_stats`] and [`RtpReceiver::get_stats`] return.
pub use rtcpeer_proto::stats::{
    AudioPlayout, AudioPlayoutStats, CertificateStats, CodecStats, DataChannelStats,
    IceCandidatePairStats, IceCandidateStats, InboundRtpStreamStats, MediaSourceStats,
    OutboundRtpStreamStats, PeerConnectionStats, RemoteInboundRtpStreamStats,
    RemoteOutboundRtpStreamStats, Stats, StatsReport, TransportStats,
};
pub use rtcpeer_proto::{
    AnswerOptions, BinaryType, BundlePolicy, Certificate, CertificateParams, Configuration,
    CoreSettings, DataChannelEvent, DataChannelInit, DataChannelLimits, DataChannelState,
    DtlsFingerprint, DtlsSettings, DtlsTransportState, Error, ErrorDetail, ErrorKind, Host,
    IceAgentConfig, IceCandidate, IceCandidateError, IceCandidateInit, IceCandidatePair,
    IceCandidateType, IceComponent, IceConnectionState, IceGatheringState, IceParameters,
    IceProtocol, IceRole, IceServer, IceServerUrl, IceTcpCandidateType, IceTransportPolicy,
    IceTransportProtocol, IceTransportState, IceUrlScheme, InterfaceFilter, IpFilter, KeyParams,
    MAX_SDP_BYTES, MediaCounters, MediaEvent, MediaKind, MediaStreamTrackState, MuxCounters,
    NameFilter, OfferOptions, OutgoingRtp, Payload, PeerConnectionState, Priority, ReceiveMode,
    ReceivedFrame, ReceivedRtp, ReceivedTone, Result, RsaHash, RtcpMuxPolicy, RtpCapabilities,
    RtpCodecCapability, RtpHeaderExtensionCapability, RtpSource, RtpTransceiverDirection,
    SctpTransportState, SdpType, SessionDescription, SignalingLimits, SignalingState, ToneChange,
};
pub use rtcpeer_proto::{
    MAX_SEND_ENCODINGS, RtcpFeedback, RtcpParameters, RtpCodecParameters, RtpEncodingParameters,
    RtpHeaderExtensionParameters, RtpReceiveParameters, RtpSendParameters,
};
pub use track::{
    MediaStream, MediaStreamEvent, MediaStreamEvents, MediaStreamTrack, MediaStreamTrackEvent,
    MediaStreamTrackEvents, STREAM_EVENT_QUEUE,
};
