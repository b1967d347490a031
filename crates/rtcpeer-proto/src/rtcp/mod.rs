//! Reserved: RTCP (RFC 3550 §6) and its feedback messages (RFC 4585 NACK/PLI, RFC 5104 FIR,
//! transport-wide congestion control), multiplexed with RTP (RFC 5761, told apart by
//! `session/demux.rs`). Issue 10 fills it.
