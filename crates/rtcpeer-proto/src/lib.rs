//! rtcpeer-proto: WebRTC's protocol stack without I/O.
//!
//! The sans-IO core of [rtcpeer](https://docs.rs/rtcpeer): SDP and JSEP negotiation, ICE, STUN,
//! DTLS, SCTP and data channels, as state machines that never touch a socket, a thread or a clock.
//! Time comes in as an argument; datagrams go in and out as values. The `rtcpeer` crate drives it
//! with tokio; anyone can drive it with their own loop. See `ARCHITECTURE.md` for the module map.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cert;
pub mod codecs;
pub mod config;
pub mod connection;
pub mod datachannel;
pub mod dtls;
mod enums;
pub mod error;
pub mod ice;
pub mod mdns;
mod negotiator;
pub mod sctp;
pub mod sdp;
mod session;
pub mod stun;
pub mod track;
pub mod util;

pub use cert::{Certificate, CertificateParams, DtlsFingerprint, KeyParams, RsaHash};
pub use codecs::{MediaKind, RtpCapabilities, RtpCodecCapability, RtpHeaderExtensionCapability};
pub use config::{
    BundlePolicy, Configuration, Host, IceServer, IceServerUrl, IceTransportPolicy,
    IceTransportProtocol, IceUrlScheme, RtcpMuxPolicy,
};
/// The connection core under its former name, so `jsep::…` paths keep working.
pub use connection as jsep;
pub use datachannel::{DataChannelLimits, Payload};
pub use dtls::{DtlsSettings, DtlsTransportState};
pub use error::{Error, ErrorDetail, ErrorKind, Result};
pub use ice::interfaces::{IpFilter, NameFilter};
pub use ice::{
    IceAgentConfig, IceConnectionState, IceGatheringState, InterfaceFilter, MuxCounters,
};
pub use jsep::{
    AnswerOptions, BinaryType, CoreSettings, DataChannelEvent, DataChannelInit, DataChannelState,
    IceCandidate, IceCandidateError, IceCandidateInit, IceCandidatePair, IceCandidateType,
    IceComponent, IceParameters, IceProtocol, IceRole, IceTcpCandidateType, IceTransportState,
    OfferOptions, PeerConnectionState, Priority, RtpTransceiverDirection, SctpTransportState,
    SdpType, SessionDescription, SignalingLimits, SignalingState,
};
pub use sdp::MAX_SDP_BYTES;
pub use track::{MediaStream, MediaStreamTrack, MediaStreamTrackState};
