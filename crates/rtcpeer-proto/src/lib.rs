//! rtcpeer-proto: WebRTC's protocol stack without I/O.
//!
//! The sans-IO core of [rtcpeer](https://docs.rs/rtcpeer): SDP and JSEP negotiation
//! (RFC 9429), ICE (RFC 8445) with STUN (RFC 8489), DTLS (RFC 6347), SCTP (RFC 9260) and data
//! channels (RFC 8831/8832), SRTP (RFC 3711, 7714), RTP/RTCP with feedback (RFC 3550, 4585,
//! 4588), RTP payload formats and DTMF (RFC 4733), as state machines that never touch a
//! socket, a thread or a clock.
//! The crate does not depend on an async runtime. The `rtcpeer` crate drives it with tokio
//! and puts the W3C `RTCPeerConnection` API on top; anyone who does their own I/O can drive it
//! with a loop of their own.
//!
//! # Shape
//!
//! One peer connection is one owned value, [`connection::Connection`] (also named
//! [`connection::Core`]), `&mut self` everywhere. It composes the
//! [`Negotiator`](connection::Negotiator) (signaling: descriptions, transceivers, rollback;
//! each applied description yields the parameters the transports need) and the session half
//! (ICE, DTLS, SCTP and the data channels, SRTP and the RTP session). The W3C operations are its methods:
//! `create_data_channel`, `create_offer`, `create_answer`, `set_local_description`,
//! `set_remote_description`, `add_ice_candidate`, `data_channel_send`, `close`, ...
//!
//! Its I/O goes through one input method and one output method, and time is an argument:
//!
//! - [`handle_input(now, input)`](connection::Connection::handle_input) takes a received
//!   datagram, [`Input::Timeout`](connection::Input::Timeout) when the deadline it asked for
//!   has come, and the driver's answers to its requests (the socket addresses it bound,
//!   resolved names).
//! - [`poll_output(&mut buf)`](connection::Connection::poll_output) gives, in this order,
//!   [`Output::Transmit`](connection::Output::Transmit) (a datagram appended to `buf`: send
//!   it), [`Output::Event`](connection::Output::Event) (an [`Event`](connection::Event)
//!   tagged with the object it belongs to: the connection's W3C events — `icecandidate`,
//!   `connectionstatechange`, `datachannel`, ... —, a data channel's — `open`, `message`,
//!   `close`, ... —, a transceiver's, or a request to the driver,
//!   [`IoRequest`](connection::IoRequest): start, bind sockets for an ICE restart, resolve a
//!   name, forget a released channel, ...), and last
//!   [`Output::Timeout`](connection::Output::Timeout): nothing more for now, call
//!   `handle_input` with `Input::Timeout` at that time.
//!
//! [`poll_event`](connection::Connection::poll_event) gives the same events without the
//! datagrams, for code that runs a W3C operation outside the driver's loop. A channel the
//! application no longer holds is reported with `Input::ChannelReleased`; once closed, the
//! connection forgets it and says so with `IoRequest::ChannelForgotten`.
//! Randomness comes from a [`RandomSource`] ([`OsRandom`], or [`SeededRandom`] for
//! reproducible runs), and a certificate's validity from the `SystemTime` given to
//! [`Certificate::generate`].
//!
//! # Driving a connection
//!
//! The example `examples/udp_loop.rs` (`cargo run -p rtcpeer-proto --example udp_loop`)
//! connects two connections over two `std::net::UdpSocket`s on 127.0.0.1 with one plain
//! loop, no runtime and no threads, and echoes a message over a data channel. One round of
//! such a loop, for one connection on one non-blocking socket:
//!
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::Instant;
//!
//! use rtcpeer_proto::connection::{Connection, Event, Input, IoRequest, Output};
//!
//! fn round(
//!     conn: &mut Connection,
//!     socket: &UdpSocket,
//!     deadline: &mut Option<Instant>,
//!     buf: &mut Vec<u8>,
//! ) -> rtcpeer_proto::Result<()> {
//!     let local = socket.local_addr().expect("bound");
//!     let now = Instant::now(); // the driver reads the clock, the core never does
//!     let mut rx = [0u8; 2048];
//!     let mut received = false;
//!     while let Ok((n, remote)) = socket.recv_from(&mut rx) {
//!         let data = &rx[..n];
//!         conn.handle_input(now, Input::Datagram { local, remote, data })?;
//!         received = true;
//!     }
//!     if received {
//!         conn.handle_input(now, Input::BatchEnd)?;
//!     }
//!     if deadline.is_some_and(|t| t <= now) {
//!         conn.handle_input(now, Input::Timeout)?;
//!     }
//!     loop {
//!         buf.clear();
//!         match conn.poll_output(buf) {
//!             // The datagram is the last `t.len` bytes of the buffer.
//!             Output::Transmit(t) => {
//!                 let _ = socket.send_to(&buf[buf.len() - t.len..], t.remote);
//!             }
//!             // The connection needs a driver from now on: report the socket, which
//!             // becomes a host candidate.
//!             Output::Event(Event::Io(IoRequest::Start)) => {
//!                 conn.handle_input(now, Input::LocalAddress(local))?;
//!             }
//!             // The other requests: see `IoRequest` and the example.
//!             Output::Event(_) => {}
//!             Output::Timeout(t) => {
//!                 *deadline = t;
//!                 return Ok(());
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! Then the events: each local candidate goes to the peer (`add_ice_candidate` there), and
//! the application reacts to the channels' events. The [`io`] module has what a driver of
//! many connections needs besides: the routing table of a UDP socket shared by many
//! connections, the choice of host addresses, and a sans-IO mDNS querier and responder.

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
    dtmf;
    error;
    ice;
    mdns;
    negotiator;
    payload;
    rtcp;
    rtp;
    sctp;
    sdp;
    session;
    srtp;
    stun;
    turn;
    util;
}

pub mod connection;
mod enums;
pub mod media_file;
pub mod stats;

/// What a driver needs besides the [`connection`]: the routing table of a UDP socket shared by
/// many connections, the choice of host-candidate addresses, the sans-IO mDNS querier that
/// resolves peers' `.local` candidates and the responder that answers for our own names, and
/// the framing of TURN over TCP/TLS.
pub mod io {
    /// RFC 4571 framing for ICE-TCP connections (RFC 6544 §3).
    pub use crate::ice::framing;
    pub use crate::ice::mux::MAX_MUX_CONNECTIONS;
    pub use crate::ice::{
        MAX_LOCAL_INTERFACES, MuxConnId, MuxTable, NetInterface, select_host_addresses,
    };
    pub use crate::mdns::{
        MDNS_GROUP_V4, MDNS_PORT, MdnsEvent, MdnsQuerier, MdnsQuerierConfig, MdnsResponder,
        MdnsResponderConfig, QueryError, RegisterError, ResponderTransmit,
    };
    pub use crate::turn::{DeframeError, MAX_STREAM_FRAME, StreamDeframer};
}

pub use cert::{Certificate, CertificateParams, DtlsFingerprint, KeyParams, RsaHash};
pub use codecs::{
    MediaKind, MediaStreamTrackState, RtpCapabilities, RtpCodecCapability,
    RtpHeaderExtensionCapability, receiver_capabilities, sender_capabilities,
    validate_codec_preferences,
};
pub use codecs::{RtcpFeedback, RtpCodecParameters, RtpHeaderExtensionParameters};
pub use config::{
    BundlePolicy, Configuration, Host, IceServer, IceServerUrl, IceTransportPolicy,
    IceTransportProtocol, IceUrlScheme, RtcpMuxPolicy,
};
/// The connection core under its former name, so `jsep::…` paths keep working.
pub use connection as jsep;
pub use datachannel::{DataChannelLimits, Payload};
pub use dtls::{DtlsSettings, DtlsTransportState};
pub use dtmf::{ReceivedTone, ToneChange};
pub use error::{Error, ErrorDetail, ErrorKind, Result};
pub use ice::interfaces::{IpFilter, NameFilter};
pub use ice::{
    IceAgentConfig, IceConnectionState, IceGatheringState, InterfaceFilter, MuxCounters,
};
pub use jsep::{
    AnswerOptions, BinaryType, CoreSettings, DataChannelEvent, DataChannelInit, DataChannelState,
    IceCandidate, IceCandidateError, IceCandidateInit, IceCandidatePair, IceCandidateType,
    IceComponent, IceParameters, IceProtocol, IceRole, IceTcpCandidateType, IceTransportState,
    MediaCounters, MediaEvent, OfferOptions, OutgoingRtp, PeerConnectionState, Priority,
    ReceiveMode, ReceivedFrame, ReceivedRtp, RtpSource, RtpTransceiverDirection,
    SctpTransportState, SdpType, SessionDescription, SignalingLimits, SignalingState,
};
pub use negotiator::parameters::{
    MAX_SEND_ENCODINGS, RtcpParameters, RtpEncodingParameters, RtpReceiveParameters,
    RtpSendParameters, validate_send_encodings,
};
pub use sdp::{MAX_SDP_BYTES, identity};
pub use session::rtcp_component::RtcpComponentStats;
pub use util::{OsRandom, RandomSource, SeededRandom};
