//! Candidate kinds, priorities (RFC 8445 §5.1.2) and conversion between the agent's candidates
//! and SDP `a=candidate` lines (RFC 8839 §5.1).

use std::net::{IpAddr, SocketAddr};

use crate::sdp::Candidate;

/// The candidate type (RFC 8445 §5.1.1, RFC 8839 §5.1 `cand-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// A host candidate: an address of a local interface (RFC 8445 §5.1.1.1).
    Host,
    /// A server-reflexive candidate learnt from a STUN server (RFC 8445 §5.1.1.2).
    ServerReflexive,
    /// A peer-reflexive candidate learnt from a connectivity check (RFC 8445 §7.2.5.3.1, §7.3.1.3).
    PeerReflexive,
    /// A relayed candidate allocated on a TURN server (RFC 8445 §5.1.1.2, RFC 8656).
    Relay,
}

impl CandidateKind {
    /// The recommended type preference: 126 host, 110 prflx, 100 srflx, 0 relay
    /// (RFC 8445 §5.1.2.2).
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relay => 0,
        }
    }

    /// The `cand-type` token: `host`, `srflx`, `prflx`, `relay` (RFC 8839 §5.1).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relay => "relay",
        }
    }

    /// The kind for a `cand-type` token (case-insensitive); `None` for unknown types
    /// (RFC 8839 §5.1).
    pub fn from_token(s: &str) -> Option<CandidateKind> {
        match s.to_ascii_lowercase().as_str() {
            "host" => Some(CandidateKind::Host),
            "srflx" => Some(CandidateKind::ServerReflexive),
            "prflx" => Some(CandidateKind::PeerReflexive),
            "relay" => Some(CandidateKind::Relay),
            _ => None,
        }
    }
}

/// Candidate priority: (2^24)·type preference + (2^8)·local preference + (256 − component)
/// (RFC 8445 §5.1.2.1).
pub fn candidate_priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    let component = u32::from(component.clamp(1, 256));
    (kind.type_preference() << 24) + (u32::from(local_preference) << 8) + (256 - component)
}

/// Local preference for the `index`-th interface of a host (RFC 8445 §5.1.2.1): addresses of
/// the preferred family rank first (IPv6 global above IPv4, IPv6 link-local last, as RFC 8421
/// §4 suggests for dual stack), then interfaces in the order the driver reported them.
pub fn local_preference(ip: IpAddr, index: usize) -> u16 {
    let family: u16 = match ip {
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 0x4000,
        IpAddr::V6(_) => 0xC000,
        IpAddr::V4(_) => 0x8000,
    };
    // `index` is bounded by MAX_LOCAL_INTERFACES (far below 0x3fff).
    family.saturating_sub(u16::try_from(index).unwrap_or(0x3fff).min(0x3fff))
}

/// Pair priority: 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), where G is the controlling
/// agent's candidate priority and D the controlled agent's (RFC 8445 §6.1.2.3).
pub fn pair_priority(controlling: u32, controlled: u32) -> u64 {
    let (g, d) = (u64::from(controlling), u64::from(controlled));
    // Priorities from the wire may exceed the RFC's 2^31 - 1: saturate instead of overflowing.
    (g.min(d) << 32)
        .saturating_add(2 * g.max(d))
        .saturating_add(u64::from(g > d))
}

/// One candidate of the agent, local or remote, in socket-address form (RFC 8445 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// The candidate type.
    pub kind: CandidateKind,
    /// The transport address (what the peer sends to / what we send to).
    pub addr: SocketAddr,
    /// For local candidates: the base, the local socket address packets leave from
    /// (RFC 8445 §5.1.1.3). For remote candidates: equal to `addr`.
    pub base: SocketAddr,
    /// The candidate priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// The foundation (RFC 8445 §5.1.1.3), 1–32 ice-chars.
    pub foundation: String,
    /// The related address (`raddr`/`rport`, RFC 8839 §5.1), for srflx/prflx/relay.
    pub related: Option<SocketAddr>,
}

impl IceCandidate {
    /// The SDP form (component 1, UDP) with `generation` and `ufrag` extensions, as browsers
    /// signal them (RFC 8839 §5.1, RFC 8840 §4.3).
    pub fn to_sdp(&self, ufrag: &str, generation: u32) -> Candidate {
        let mut extensions = vec![("generation".to_string(), generation.to_string())];
        if !ufrag.is_empty() {
            extensions.push(("ufrag".to_string(), ufrag.to_string()));
        }
        Candidate {
            foundation: self.foundation.clone(),
            component: 1,
            protocol: "udp".to_string(),
            priority: self.priority,
            address: self.addr.ip().to_string(),
            port: self.addr.port(),
            typ: self.kind.as_str().to_string(),
            related_address: self.related.map(|r| r.ip().to_string()),
            related_port: self.related.map(|r| r.port()),
            tcp_type: None,
            extensions,
        }
    }
}

/// Why a remote candidate was not taken into the checklist (RFC 8445 §5.1, RFC 8839 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteCandidateIssue {
    /// Not the agent's component (RFC 8445 §6.1.2.2: pairs join candidates of one component).
    Component(u16),
    /// Not UDP (ICE-TCP, RFC 6544, is not implemented).
    Transport(String),
    /// A `cand-type` this agent does not know.
    Type(String),
    /// Port 0 or an unspecified / multicast address: nothing can be checked there.
    Unusable,
    /// The address is a host name; `.local` names are resolved through mDNS by the driver.
    Hostname(String),
}

/// Reads the parts of an SDP candidate the agent uses: kind and address, or why it cannot be
/// used (RFC 8839 §5.1). Host names are returned as [`RemoteCandidateIssue::Hostname`].
pub fn remote_from_sdp(c: &Candidate) -> Result<(CandidateKind, SocketAddr), RemoteCandidateIssue> {
    remote_from_sdp_for(c, 1)
}

/// [`remote_from_sdp`] for the agent of `component` (RFC 8445 §6.1.2.2): a candidate of
/// another component is [`RemoteCandidateIssue::Component`].
pub fn remote_from_sdp_for(
    c: &Candidate,
    component: u16,
) -> Result<(CandidateKind, SocketAddr), RemoteCandidateIssue> {
    if c.component != component {
        return Err(RemoteCandidateIssue::Component(c.component));
    }
    if !c.protocol.eq_ignore_ascii_case("udp") {
        return Err(RemoteCandidateIssue::Transport(c.protocol.clone()));
    }
    let Some(kind) = CandidateKind::from_token(&c.typ) else {
        return Err(RemoteCandidateIssue::Type(c.typ.clone()));
    };
    let ip: IpAddr = match c.address.parse() {
        Ok(ip) => ip,
        Err(_) => {
            // IPv6 may arrive in brackets from some stacks.
            let trimmed = c.address.trim_start_matches('[').trim_end_matches(']');
            match trimmed.parse() {
                Ok(ip) => ip,
                Err(_) => return Err(RemoteCandidateIssue::Hostname(c.address.clone())),
            }
        }
    };
    if c.port == 0 || ip.is_unspecified() || ip.is_multicast() {
        return Err(RemoteCandidateIssue::Unusable);
    }
    Ok((kind, SocketAddr::new(ip, c.port)))
}

/// The value of extension `name` (e.g. `ufrag`) in a candidate line (RFC 8839 §5.1).
pub fn extension<'a>(c: &'a Candidate, name: &str) -> Option<&'a str> {
    c.extensions
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
