//! Signaling (the negotiator half of the connection): session descriptions and their types,
//! transceivers, `RTCIceCandidate` and `addIceCandidate`, offer/answer generation
//! (`generate.rs`), applying descriptions and rollback (`apply.rs`), what each applied
//! description means for the transports (`negotiated.rs`) and the negotiation-needed
//! flag (`negotiation.rs`) — RFC 9429 (JSEP), webrtc-pc §4.4.1, §4.7.3, §4.8, §5.4. These are
//! `impl Negotiator` blocks over [`crate::connection::Negotiator`]'s fields.

pub(crate) mod apply;
pub(crate) mod candidate;
pub(crate) mod generate;
pub(crate) mod negotiated;
pub(crate) mod negotiation;
pub mod parameters;
pub(crate) mod simulcast;
pub(crate) mod transceiver;
pub mod types;
