//! Transport (the session half of the connection): where a datagram goes. The ICE agent and
//! all I/O entry points (`ice.rs`: `handle_datagram`, `poll_transmit`, `handle_timeout`), the
//! RFC 7983 classifier and its counters (`demux.rs`), DTLS, SCTP and the data path
//! (`data.rs`), and the data-channel table and
//! stream ids (`channels.rs`), the named timers (`timers.rs`) and the transmit scheduler
//! (`scheduler.rs`) — RFC 8445, RFC 7983, RFC 8261, RFC 8831/8832, webrtc-pc
//! §5.5–§6. For now these are `impl Core` blocks over [`crate::connection::Core`]'s fields.

pub(crate) mod channels;
pub(crate) mod data;
pub(crate) mod demux;
pub(crate) mod ice;
pub(crate) mod scheduler;
pub(crate) mod timers;
