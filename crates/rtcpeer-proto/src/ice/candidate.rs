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

/// The TCP candidate type (RFC 6544 §4.5 `tcptype`): who opens the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// Opens outgoing connections; signalled with port 9 (RFC 6544 §4.5).
    Active,
    /// Accepts incoming connections on a listening socket (RFC 6544 §4.1).
    Passive,
    /// Simultaneous open: both sides connect at once (RFC 6544 §4.1).
    SimultaneousOpen,
}

impl TcpType {
    /// The `tcptype` token: `active`, `passive`, `so` (RFC 6544 §4.5).
    pub fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::SimultaneousOpen => "so",
        }
    }

    /// The type for a `tcptype` token (case-insensitive); `None` for unknown ones.
    pub fn from_token(s: &str) -> Option<TcpType> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Some(TcpType::Active),
            "passive" => Some(TcpType::Passive),
            "so" => Some(TcpType::SimultaneousOpen),
            _ => None,
        }
    }

    /// Whether a local candidate of this type can be paired with a remote one of type
    /// `remote`: active with passive, passive with active, S-O with S-O (RFC 6544 §6.2).
    pub fn pairs_with(self, remote: TcpType) -> bool {
        matches!(
            (self, remote),
            (TcpType::Active, TcpType::Passive)
                | (TcpType::Passive, TcpType::Active)
                | (TcpType::SimultaneousOpen, TcpType::SimultaneousOpen)
        )
    }

    /// The direction preference (0–7, 7 best) of RFC 6544 §4.2: for host and relayed
    /// candidates 6 active, 4 passive, 2 S-O; for server- and peer-reflexive (NAT-assisted)
    /// ones 6 S-O, 4 active, 2 passive.
    pub fn direction_preference(self, kind: CandidateKind) -> u16 {
        let behind_nat = matches!(
            kind,
            CandidateKind::ServerReflexive | CandidateKind::PeerReflexive
        );
        match (self, behind_nat) {
            (TcpType::Active, false) | (TcpType::SimultaneousOpen, true) => 6,
            (TcpType::Passive, false) | (TcpType::Active, true) => 4,
            (TcpType::SimultaneousOpen, false) | (TcpType::Passive, true) => 2,
        }
    }
}

/// Type preference of a TCP candidate: below every UDP candidate of a usable type, so UDP
/// pairs rank above TCP ones (RFC 6544 §4.2 leaves the values to the agent and asks that
/// UDP be preferred for real-time media); 90 host and 80 peer-reflexive, 65 server-reflexive,
/// as Chromium signals them, and relay 0 as over UDP.
pub fn tcp_type_preference(kind: CandidateKind) -> u32 {
    match kind {
        CandidateKind::Host => 90,
        CandidateKind::PeerReflexive => 80,
        CandidateKind::ServerReflexive => 65,
        CandidateKind::Relay => 0,
    }
}

/// Local preference of a TCP candidate: (2^13)·direction-pref + other-pref, other-pref from
/// the interface order as for UDP (RFC 6544 §4.2); `index` is the interface's position.
pub fn tcp_local_preference(kind: CandidateKind, tcp: TcpType, ip: IpAddr, index: usize) -> u16 {
    // other-pref: 13 bits, the family and interface order of `local_preference` scaled down.
    let other = local_preference(ip, index) >> 3;
    (tcp.direction_preference(kind) << 13) | (other & 0x1fff)
}

/// Priority of a TCP candidate (RFC 6544 §4.2 with the formula of RFC 8445 §5.1.2.1).
pub fn tcp_candidate_priority(kind: CandidateKind, tcp: TcpType, ip: IpAddr, index: usize) -> u32 {
    (tcp_type_preference(kind) << 24) + (u32::from(tcp_local_preference(kind, tcp, ip, index)) << 8) + 255
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
    /// `None` for a UDP candidate; the TCP candidate type for ICE-TCP (RFC 6544 §4.5).
    pub tcp_type: Option<TcpType>,
}

impl IceCandidate {
    /// Whether packets of this candidate travel over TCP (RFC 6544).
    pub fn is_tcp(&self) -> bool {
        self.tcp_type.is_some()
    }

    /// The SDP form (component 1, `udp`, or `tcp` with its `tcptype`) with `generation` and `ufrag` extensions, as browsers
    /// signal them (RFC 8839 §5.1, RFC 8840 §4.3).
    pub fn to_sdp(&self, ufrag: &str, generation: u32) -> Candidate {
        let mut extensions = vec![("generation".to_string(), generation.to_string())];
        if !ufrag.is_empty() {
            extensions.push(("ufrag".to_string(), ufrag.to_string()));
        }
        Candidate {
            foundation: self.foundation.clone(),
            component: 1,
            protocol: if self.is_tcp() { "tcp" } else { "udp" }.to_string(),
            priority: self.priority,
            address: self.addr.ip().to_string(),
            port: self.addr.port(),
            typ: self.kind.as_str().to_string(),
            related_address: self.related.map(|r| r.ip().to_string()),
            related_port: self.related.map(|r| r.port()),
            tcp_type: self.tcp_type.map(|t| t.as_str().to_string()),
            extensions,
        }
    }
}

/// Why a remote candidate was not taken into the checklist (RFC 8445 §5.1, RFC 8839 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteCandidateIssue {
    /// Not the agent's component (RFC 8445 §6.1.2.2: pairs join candidates of one component).
    Component(u16),
    /// Neither UDP nor TCP with a known `tcptype` (RFC 6544 §4.5).
    Transport(String),
    /// A `cand-type` this agent does not know.
    Type(String),
    /// Port 0 or an unspecified / multicast address: nothing can be checked there.
    Unusable,
    /// The address is a host name; `.local` names are resolved through mDNS by the driver.
    Hostname(String),
}

/// The transport of an SDP candidate: `Ok(None)` for UDP, `Ok(Some(type))` for TCP with a
/// known `tcptype` (RFC 6544 §4.5), else why it cannot be used.
pub fn transport_from_sdp(c: &Candidate) -> Result<Option<TcpType>, RemoteCandidateIssue> {
    if c.protocol.eq_ignore_ascii_case("udp") {
        return Ok(None);
    }
    if !c.protocol.eq_ignore_ascii_case("tcp") {
        return Err(RemoteCandidateIssue::Transport(c.protocol.clone()));
    }
    match c.tcp_type.as_deref().and_then(TcpType::from_token) {
        Some(t) => Ok(Some(t)),
        None => Err(RemoteCandidateIssue::Transport(format!(
            "tcp with tcptype {:?}",
            c.tcp_type.as_deref().unwrap_or("")
        ))),
    }
}

/// Reads the parts of an SDP candidate the agent uses: kind, address and transport, or why
/// it cannot be used (RFC 8839 §5.1, RFC 6544 §4.5). Host names are returned as
/// [`RemoteCandidateIssue::Hostname`]. An active TCP candidate's port (9, RFC 6544 §4.5) is
/// kept: checks never go to it, the peer connects to us.
pub fn remote_from_sdp(
    c: &Candidate,
) -> Result<(CandidateKind, SocketAddr, Option<TcpType>), RemoteCandidateIssue> {
    remote_from_sdp_for(c, 1)
}

/// [`remote_from_sdp`] for the agent of `component` (RFC 8445 §6.1.2.2): a candidate of
/// another component is [`RemoteCandidateIssue::Component`].
pub fn remote_from_sdp_for(
    c: &Candidate,
    component: u16,
) -> Result<(CandidateKind, SocketAddr, Option<TcpType>), RemoteCandidateIssue> {
    if c.component != component {
        return Err(RemoteCandidateIssue::Component(c.component));
    }
    let tcp = transport_from_sdp(c)?;
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
    // Active TCP candidates may signal port 0 as well as 9 (RFC 6544 §4.5): they are
    // never connected to.
    let port_ok = c.port != 0 || tcp == Some(TcpType::Active);
    if !port_ok || ip.is_unspecified() || ip.is_multicast() {
        return Err(RemoteCandidateIssue::Unusable);
    }
    let port = if tcp == Some(TcpType::Active) { 9 } else { c.port };
    Ok((kind, SocketAddr::new(ip, port), tcp))
}

/// The value of extension `name` (e.g. `ufrag`) in a candidate line (RFC 8839 §5.1).
pub fn extension<'a>(c: &'a Candidate, name: &str) -> Option<&'a str> {
    c.extensions
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
