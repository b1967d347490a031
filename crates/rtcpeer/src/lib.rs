//! rtcpeer: WebRTC's `RTCPeerConnection` in Rust.
//!
//! A sans-IO protocol core (SDP, JSEP, and later ICE, DTLS, SCTP, SRTP) driven by a thin
//! tokio runtime that exposes the W3C API. See `ARCHITECTURE.md` for the module map.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod enums;
pub mod error;
pub mod sctp;
pub mod sdp;

pub use error::{Error, ErrorDetail, ErrorKind, Result};
