//! rtcpeer: WebRTC's `RTCPeerConnection` in Rust.
//!
//! A sans-IO protocol core (SDP, JSEP, and later ICE, DTLS, SCTP, SRTP) driven by a thin
//! runtime that exposes the W3C API. See `ARCHITECTURE.md` for the module map.
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

pub mod api;
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

pub use api::{
    DataChannel, DataChannelEvents, DtlsTransport, EVENT_QUEUE, EventStream, IceSettings,
    IceTransport, MUX_QUEUE, NetworkTask, Operation, PeerConnection, PeerConnectionEvent,
    RtpReceiver, RtpSender, RtpTransceiver, SctpTransport, Settings, TrackEvent, TrackOrKind,
    TransceiverInit, UdpMux,
};
pub use cert::{Certificate, CertificateParams, DtlsFingerprint, KeyParams, RsaHash};
pub use codecs::{MediaKind, RtpCapabilities, RtpCodecCapability, RtpHeaderExtensionCapability};
pub use config::{
    BundlePolicy, Configuration, Host, IceServer, IceServerUrl, IceTransportPolicy,
    IceTransportProtocol, IceUrlScheme, RtcpMuxPolicy,
};
/// The connection core under its former name, so `rtcpeer::jsep::…` paths keep working.
pub use connection as jsep;
pub use datachannel::{DataChannelLimits, Payload};
pub use dtls::{DtlsSettings, DtlsTransportState};
pub use error::{Error, ErrorDetail, ErrorKind, Result};
pub use ice::interfaces::{IpFilter, NameFilter};
pub use ice::{
    IceAgentConfig, IceConnectionState, IceGatheringState, InterfaceFilter, MuxCounters,
};
pub use jsep::{
    AnswerOptions, BinaryType, CoreSettings, DataChannelEvent, DataChannelInfo, DataChannelInit,
    DataChannelState, IceCandidate, IceCandidateError, IceCandidateInit, IceCandidatePair,
    IceCandidateType, IceComponent, IceParameters, IceProtocol, IceRole, IceTcpCandidateType,
    IceTransportState, OfferOptions, PeerConnectionState, Priority, RtpTransceiverDirection,
    SctpTransportState, SdpType, SessionDescription, SignalingLimits, SignalingState,
};
pub use sdp::MAX_SDP_BYTES;
pub use track::{MediaStream, MediaStreamTrack, MediaStreamTrackState};
