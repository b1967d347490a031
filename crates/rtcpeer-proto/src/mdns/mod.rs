//! Multicast DNS (RFC 6762) for resolving the `.local` names that browsers put in ICE host
//! candidates instead of their IP addresses (draft-ietf-mmusic-mdns-ice-candidates §3.2).
//! Sans-IO: a DNS message codec ([`message`], RFC 1035 §4 with mDNS rules of RFC 6762 §18)
//! and a one-shot querier ([`MdnsQuerier`], RFC 6762 §5.1–5.2). The runtime driver owns the
//! mDNS socket and only runs it when `IceSettings::mdns` is set.
//!
//! The other direction, hiding our own host addresses (draft-ietf-mmusic-mdns-ice-candidates
//! §3.1, opt-in): [`hide`] names each local IP `<uuid>.local` and rewrites the signalled
//! candidates, and [`MdnsResponder`] (RFC 6762 §6) answers queries for those names.

pub mod hide;
pub mod message;
mod querier;
mod responder;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use message::{Header, Message, Name, ParseError, Question, Record, Section};
pub use hide::{HostNames, MAX_HIDDEN_ADDRESSES, random_local_name};
pub use querier::{MdnsEvent, MdnsQuerier, MdnsQuerierConfig, QueryError};
pub use responder::{MdnsResponder, MdnsResponderConfig, RegisterError, ResponderTransmit};

/// The mDNS UDP port (RFC 6762 §3).
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 mDNS group 224.0.0.251 (RFC 6762 §3).
pub const MDNS_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// The IPv6 mDNS group ff02::fb (RFC 6762 §3).
pub const MDNS_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
