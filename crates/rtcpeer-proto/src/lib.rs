//! rtcpeer-proto: WebRTC's protocol stack without I/O.
//!
//! The sans-IO core of [rtcpeer](https://docs.rs/rtcpeer): SDP and JSEP negotiation, ICE, STUN,
//! DTLS, SCTP and data channels, as state machines that never touch a socket, a thread or a clock.
//! Time comes in as an argument; datagrams go in and out as values. The `rtcpeer` crate drives it
//! with tokio; anyone can drive it with their own loop. See `ARCHITECTURE.md` for the module map.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Without the `internals` feature the engine modules are private, and the parts of their APIs
// that only fuzz targets, benchmarks and tests use (and TURN's ChannelData and long-term
// credentials, next) are unreachable; with it (as every test build has) they are public again.
#![cfg_attr(not(feature = "internals"), allow(dead_code, unused_imports))]

/// Declares the engine modules: private, or public (and hidden from the docs) with the
/// `internals` feature, which fuzz targets, benchmarks and tests use to reach the engines.
macro_rules! engine_modules {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

engine_modules! {
    cert;
    codecs;
    config;
    datachannel;
    dtls;
    error;
    ice;
    mdns;
    negotiator;
    sctp;
    sdp;
    session;
    stun;
    util;
}

pub mod connection;
mod enums;
// Reserved homes, documentation only until media (issue 10) and stats (issue 14) arrive.
mod rtcp;
mod rtp;
mod srtp;
mod stats;

/// What a driver needs besides the [`connection`]: the routing table of a UDP socket shared by
/// many connections, the choice of host-candidate addresses, and the sans-IO mDNS querier that
/// resolves peers' `.local` candidates.
pub mod io {
    pub use crate::ice::mux::MAX_MUX_CONNECTIONS;
    pub use crate::ice::{
        MAX_LOCAL_INTERFACES, MuxConnId, MuxTable, NetInterface, select_host_addresses,
    };
    pub use crate::mdns::{
        MDNS_GROUP_V4, MDNS_PORT, MdnsEvent, MdnsQuerier, MdnsQuerierConfig, QueryError,
    };
}

pub use cert::{Certificate, CertificateParams, DtlsFingerprint, KeyParams, RsaHash};
pub use codecs::{
    MediaKind, MediaStreamTrackState, RtpCapabilities, RtpCodecCapability,
    RtpHeaderExtensionCapability, receiver_capabilities, sender_capabilities,
    validate_codec_preferences,
};
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
pub use util::{OsRandom, RandomSource, SeededRandom};
