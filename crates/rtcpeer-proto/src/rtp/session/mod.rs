//! The RTP session's per-stream state machines (RFC 3550 §6, RFC 4585, RFC 8843 §9.2),
//! sans-IO and independent of the packet codec: receive statistics and report blocks
//! ([`receive`]), send statistics, sender info and round-trip time ([`send`]), loss
//! tracking for NACKs and the history that answers them ([`nack`]), the routing of packets
//! to m-sections ([`routing`]), transport-wide congestion control feedback ([`twcc`]), the
//! send-side bandwidth estimate and pacer budget ([`cc`]) and the report timer
//! ([`interval`]). Every table a remote peer can fill has a fixed limit.

pub mod cc;
pub mod interval;
pub mod nack;
pub mod receive;
pub mod routing;
pub mod send;
pub mod twcc;
