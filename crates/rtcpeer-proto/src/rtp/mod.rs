//! Reserved: the RTP session (RFC 3550): packet codec and header extensions (RFC 8285),
//! SSRC and RID demultiplexing by the `Negotiated` media parameters (RFC 8843 §9.2),
//! jitter buffers and packetizers per codec. Datagrams classified as RTP by
//! `session/demux.rs` are counted and dropped until it exists (issue 10).

pub mod session;
