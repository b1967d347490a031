//! `RTCIceCandidate` / `RTCIceCandidateInit` (webrtc-pc §4.8.1–4.8.2) and
//! `addIceCandidate` at the signaling level (webrtc-pc §4.4.1.7, RFC 8840 §4).

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, RandomState};

use serde::{Deserialize, Serialize};

use crate::enums::w3c_enum;
use crate::error::{Error, Result};
use crate::sdp::{Attribute as A, Candidate, MAX_SDP_BYTES, Sdp};

use crate::connection::{IceCredentials, Negotiator};

w3c_enum! {
    /// `RTCIceComponent` (webrtc-pc §5.6.1).
    pub enum IceComponent {
        /// Component 1: RTP (and everything, with rtcp-mux).
        Rtp = "rtp",
        /// Component 2: RTCP.
        Rtcp = "rtcp",
    }
}

w3c_enum! {
    /// `RTCIceProtocol` (webrtc-pc §4.8.1.3).
    pub enum IceProtocol {
        /// UDP.
        Udp = "udp",
        /// TCP (RFC 6544).
        Tcp = "tcp",
    }
}

w3c_enum! {
    /// `RTCIceCandidateType` (webrtc-pc §4.8.1.4, RFC 8445 §5.1.1).
    pub enum IceCandidateType {
        /// A local interface address.
        Host = "host",
        /// Server reflexive: the address a STUN server saw.
        Srflx = "srflx",
        /// Peer reflexive: learned from a connectivity check.
        Prflx = "prflx",
        /// Relayed through TURN.
        Relay = "relay",
    }
}

w3c_enum! {
    /// `RTCIceTcpCandidateType` (webrtc-pc §4.8.1.5, RFC 6544).
    pub enum IceTcpCandidateType {
        /// Opens outgoing connections.
        Active = "active",
        /// Accepts incoming connections.
        Passive = "passive",
        /// Simultaneous open.
        So = "so",
    }
}

/// `RTCIceCandidateInit` (webrtc-pc §4.8.1.1): the JSON a browser signals, identical to
/// `RTCIceCandidate.toJSON()`: `{"candidate":"candidate:…","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// The `candidate-attribute` text (`candidate:…`); empty means end-of-candidates.
    #[serde(default)]
    pub candidate: String,
    /// The mid of the m-section the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The index of the m-section (used when `sdp_mid` is absent).
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// The ufrag of the ICE generation the candidate belongs to.
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// `RTCIceCandidate` (webrtc-pc §4.8.1): the signalled fields plus what the candidate text
/// says. The text is not validated (a field is `None` when it cannot be read from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    init: IceCandidateInit,
    parsed: Option<Candidate>,
    relay_protocol: Option<String>,
    url: Option<String>,
}

impl IceCandidate {
    /// `new RTCIceCandidate(init)`: a `TypeError` when both `sdpMid` and `sdpMLineIndex` are null.
    pub fn new(init: IceCandidateInit) -> Result<Self> {
        if init.sdp_mid.is_none() && init.sdp_m_line_index.is_none() {
            return Err(Error::type_error("sdpMid and sdpMLineIndex are both null"));
        }
        let parsed = Candidate::parse(&init.candidate).ok();
        Ok(IceCandidate {
            init,
            parsed,
            relay_protocol: None,
            url: None,
        })
    }

    /// A local candidate as the agent reports it (with the relay protocol and server URL of relay candidates).
    pub fn with_origin(mut self, relay_protocol: Option<String>, url: Option<String>) -> Self {
        self.relay_protocol = relay_protocol;
        self.url = url;
        self
    }

    /// `candidate`.
    pub fn candidate(&self) -> &str {
        &self.init.candidate
    }

    /// `sdpMid`.
    pub fn sdp_mid(&self) -> Option<&str> {
        self.init.sdp_mid.as_deref()
    }

    /// `sdpMLineIndex`.
    pub fn sdp_m_line_index(&self) -> Option<u16> {
        self.init.sdp_m_line_index
    }

    /// `usernameFragment`: from the init, else the candidate's `ufrag` extension.
    pub fn username_fragment(&self) -> Option<String> {
        self.init.username_fragment.clone().or_else(|| {
            self.parsed.as_ref().and_then(|c| {
                c.extensions
                    .iter()
                    .find(|(k, _)| k == "ufrag")
                    .map(|(_, v)| v.clone())
            })
        })
    }

    /// `foundation`.
    pub fn foundation(&self) -> Option<&str> {
        self.parsed.as_ref().map(|c| c.foundation.as_str())
    }

    /// `component`.
    pub fn component(&self) -> Option<IceComponent> {
        match self.parsed.as_ref()?.component {
            1 => Some(IceComponent::Rtp),
            2 => Some(IceComponent::Rtcp),
            _ => None,
        }
    }

    /// `priority`.
    pub fn priority(&self) -> Option<u32> {
        self.parsed.as_ref().map(|c| c.priority)
    }

    /// `address` (an IP address, or a name such as an mDNS `.local` name).
    pub fn address(&self) -> Option<&str> {
        self.parsed.as_ref().map(|c| c.address.as_str())
    }

    /// `protocol`.
    pub fn protocol(&self) -> Option<IceProtocol> {
        self.parsed
            .as_ref()?
            .protocol
            .to_ascii_lowercase()
            .parse()
            .ok()
    }

    /// `port`.
    pub fn port(&self) -> Option<u16> {
        self.parsed.as_ref().map(|c| c.port)
    }

    /// `type`.
    pub fn typ(&self) -> Option<IceCandidateType> {
        self.parsed.as_ref()?.typ.parse().ok()
    }

    /// `tcpType`.
    pub fn tcp_type(&self) -> Option<IceTcpCandidateType> {
        self.parsed.as_ref()?.tcp_type.as_ref()?.parse().ok()
    }

    /// `relatedAddress`.
    pub fn related_address(&self) -> Option<&str> {
        self.parsed.as_ref()?.related_address.as_deref()
    }

    /// `relatedPort`.
    pub fn related_port(&self) -> Option<u16> {
        self.parsed.as_ref()?.related_port
    }

    /// `relayProtocol` (local relay candidates only; not part of `toJSON`).
    pub fn relay_protocol(&self) -> Option<&str> {
        self.relay_protocol.as_deref()
    }

    /// `url` of the STUN/TURN server (local candidates only; not part of `toJSON`).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// `toJSON()`: the init dictionary.
    pub fn to_json(&self) -> IceCandidateInit {
        self.init.clone()
    }
}

/// Limits on what a remote peer can make the signaling core store (issue 12): the size of a
/// remote description, and what `addIceCandidate` may add to it (RFC 8838 §4, RFC 8839 §5.1,
/// webrtc-pc §4.4.1.7). At a limit the call fails and nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalingLimits {
    /// Largest remote description in bytes: the text given to `setRemoteDescription`, and the
    /// description as rendered with the candidates `addIceCandidate` added (end-of-candidates
    /// lines, at most one per m-section, are not refused). Default 1 MiB, which is also the
    /// parser's own ceiling ([`MAX_SDP_BYTES`]): a larger value has no effect on SRD.
    pub max_description_bytes: usize,
    /// Most candidates in one m-section of a remote description (those it was applied with
    /// plus those added). Default 1000: a browser gathers a few dozen (one host candidate per
    /// interface and address family, a server-reflexive one per STUN server, relays per TURN
    /// server and protocol); libwebrtc has no hard cap, and the ICE agent pairs at most
    /// `IceAgentConfig::max_remote_candidates` of them anyway.
    pub max_candidates_per_section: usize,
    /// Longest candidate text accepted by `addIceCandidate`, in bytes. Default 1024: a real
    /// `candidate:` line (IPv6 addresses, mDNS names, `ufrag`/`network-id`/`network-cost`
    /// extensions) is under 250 bytes.
    pub max_candidate_bytes: usize,
}

impl Default for SignalingLimits {
    fn default() -> Self {
        SignalingLimits {
            max_description_bytes: MAX_SDP_BYTES,
            max_candidates_per_section: 1000,
            max_candidate_bytes: 1024,
        }
    }
}

/// A candidate already in an m-section: the index of its attribute in the applied
/// description, or of its entry in the candidates added since.
#[derive(Debug, Clone, Copy)]
enum CandRef {
    Applied(usize),
    Added(usize),
}

/// What `addIceCandidate` keeps for one m-section of a remote description.
#[derive(Debug, Clone, Default)]
struct SectionTrickle {
    /// The section's own `a=ice-ufrag` (else the session's is in force).
    ufrag: Option<String>,
    /// The applied description has `a=end-of-candidates` here.
    applied_eoc: bool,
    /// `addIceCandidate` signalled end-of-candidates here.
    added_eoc: bool,
    /// Candidates added, in order (written before the first end-of-candidates, as browsers do).
    added: Vec<Candidate>,
    /// Candidates here: applied plus added.
    count: usize,
    /// Duplicate check: candidate hash → where the candidate is. A different candidate with
    /// the same hash (never seen in practice: keys are random) goes to the next free key.
    seen: HashMap<u64, CandRef>,
}

/// The bookkeeping of `addIceCandidate` on one remote description, built at its first call
/// in one pass over the description: every later call is O(1) amortised in what the peer
/// sends (hash lookups, no walk over the description, no re-serialisation). The applied
/// `Sdp` itself is left as is; added candidates live here and are merged when the text is
/// rendered ([`TrickleIndex::render`]) or the candidates are read ([`crate::connection::Desc::candidates_of`]).
#[derive(Debug, Clone)]
pub(crate) struct TrickleIndex {
    hasher: RandomState,
    /// mid → index of the first m-section with it.
    mids: HashMap<String, usize>,
    session_ufrag: Option<String>,
    /// Every ufrag in force in some m-section (for a call without a target).
    ufrags: HashSet<String>,
    sections: Vec<SectionTrickle>,
    /// Every m-section has end-of-candidates.
    all_eoc: bool,
    /// Length of the description as rendered with what was added.
    bytes: usize,
    /// Anything added (else the rendering is the plain description's).
    changed: bool,
    /// The ICE credentials of the description (trickling does not change them), for the agent.
    pub creds: Option<IceCredentials>,
    /// The description's transport section (RFC 8843 BUNDLE tag, else the first live one).
    pub transport: Option<usize>,
}

/// A `fmt::Write` that only counts bytes: the length of a rendering without building it.
struct ByteCount(usize);

impl fmt::Write for ByteCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Bytes of `a=<attr>\r\n` as the SDP writer renders it.
fn line_bytes(attr: &A) -> usize {
    let mut n = ByteCount(0);
    let _ = write!(n, "{attr}");
    n.0 + 4
}

/// Bytes of `a=candidate:<c>\r\n` as the SDP writer renders it (`Attribute::Candidate`).
fn candidate_line_bytes(c: &Candidate) -> usize {
    let mut n = ByteCount(0);
    let _ = write!(n, "{c}");
    "a=candidate:".len() + n.0 + 2
}

impl TrickleIndex {
    /// One pass over `sdp`: mids, ufrags, end-of-candidates and the candidates there.
    pub(crate) fn build(sdp: &Sdp) -> Self {
        let hasher = RandomState::new();
        let session_ufrag = sdp.find_attr(|a| match a {
            A::IceUfrag(u) => Some(u.clone()),
            _ => None,
        });
        let mut mids = HashMap::new();
        let mut ufrags = HashSet::new();
        let mut sections = Vec::with_capacity(sdp.media.len());
        for (i, m) in sdp.media.iter().enumerate() {
            let mut s = SectionTrickle::default();
            let mut mid = None;
            for (ai, a) in m.attributes.iter().enumerate() {
                match a {
                    A::Mid(x) if mid.is_none() => mid = Some(x.clone()),
                    A::IceUfrag(u) if s.ufrag.is_none() => s.ufrag = Some(u.clone()),
                    A::EndOfCandidates => s.applied_eoc = true,
                    A::Candidate(c) => {
                        let mut h = hasher.hash_one(c);
                        loop {
                            match s.seen.get(&h) {
                                None => {
                                    s.seen.insert(h, CandRef::Applied(ai));
                                    s.count += 1;
                                    break;
                                }
                                Some(CandRef::Applied(j)) if matches!(&m.attributes[*j], A::Candidate(d) if d == c) =>
                                {
                                    break;
                                }
                                Some(_) => h = h.wrapping_add(1),
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(mid) = mid {
                mids.entry(mid).or_insert(i);
            }
            if let Some(u) = s.ufrag.as_ref().or(session_ufrag.as_ref()) {
                ufrags.insert(u.clone());
            }
            sections.push(s);
        }
        let mut bytes = ByteCount(0);
        let _ = write!(bytes, "{sdp}");
        TrickleIndex {
            hasher,
            mids,
            session_ufrag,
            ufrags,
            all_eoc: sections.iter().all(|s| s.applied_eoc),
            sections,
            bytes: bytes.0,
            changed: false,
            creds: crate::negotiator::negotiated::ice_credentials(sdp),
            transport: crate::negotiator::negotiated::tag_section(sdp),
        }
    }

    /// The text of `sdp` with the added candidates and end-of-candidates written in, at the
    /// place where `addIceCandidate` has always put them: candidates before the section's
    /// first `a=end-of-candidates`, end-of-candidates last.
    pub(crate) fn render(&self, sdp: &Sdp) -> String {
        if !self.changed {
            return sdp.to_string();
        }
        let mut out = sdp.clone();
        for (m, s) in out.media.iter_mut().zip(&self.sections) {
            if !s.added.is_empty() {
                let at = m
                    .attributes
                    .iter()
                    .position(|a| matches!(a, A::EndOfCandidates))
                    .unwrap_or(m.attributes.len());
                m.attributes
                    .splice(at..at, s.added.iter().cloned().map(A::Candidate));
            }
            if s.added_eoc && !s.applied_eoc {
                m.attributes.push(A::EndOfCandidates);
            }
        }
        out.to_string()
    }

    /// The candidates added to m-section `i`.
    pub(crate) fn added(&self, i: usize) -> &[Candidate] {
        self.sections.get(i).map_or(&[], |s| s.added.as_slice())
    }

    /// Whether `addIceCandidate` signalled end-of-candidates for m-section `i`.
    pub(crate) fn added_eoc(&self, i: usize) -> bool {
        self.sections.get(i).is_some_and(|s| s.added_eoc)
    }

    fn ufrag_of(&self, i: usize) -> Option<&str> {
        self.sections[i]
            .ufrag
            .as_deref()
            .or(self.session_ufrag.as_deref())
    }

    /// Records end-of-candidates for `target` (`None`: every m-section). Whether anything changed.
    fn add_eoc(&mut self, target: Option<usize>) -> bool {
        let eoc = line_bytes(&A::EndOfCandidates);
        let mut changed = false;
        let range = match target {
            Some(i) => i..i + 1,
            None if self.all_eoc => 0..0,
            None => 0..self.sections.len(),
        };
        for s in &mut self.sections[range] {
            if !s.applied_eoc && !s.added_eoc {
                s.added_eoc = true;
                self.bytes += eoc;
                changed = true;
            }
        }
        if target.is_none() {
            self.all_eoc = true;
        }
        self.changed |= changed;
        changed
    }

    /// Adds `c` to m-section `i` unless it is there already (`Ok(false)`); an
    /// `OperationError` at a limit, with nothing stored.
    fn add_candidate(
        &mut self,
        sdp: &Sdp,
        i: usize,
        c: Candidate,
        limits: &SignalingLimits,
    ) -> Result<bool> {
        let mut h = self.hasher.hash_one(&c);
        let s = &mut self.sections[i];
        loop {
            let known = match s.seen.get(&h) {
                None => break,
                Some(CandRef::Applied(j)) => {
                    matches!(&sdp.media[i].attributes[*j], A::Candidate(d) if *d == c)
                }
                Some(CandRef::Added(j)) => s.added[*j] == c,
            };
            if known {
                return Ok(false);
            }
            h = h.wrapping_add(1);
        }
        if s.count >= limits.max_candidates_per_section {
            return Err(Error::operation(format!(
                "m-section {i} has {} candidates, the limit",
                s.count
            )));
        }
        let grown = self.bytes + candidate_line_bytes(&c);
        if grown > limits.max_description_bytes {
            return Err(Error::operation(format!(
                "the remote description would be {grown} bytes, more than the limit of {}",
                limits.max_description_bytes
            )));
        }
        s.seen.insert(h, CandRef::Added(s.added.len()));
        s.added.push(c);
        s.count += 1;
        self.bytes = grown;
        self.changed = true;
        Ok(true)
    }
}

impl Negotiator {
    /// The limits on what a remote can make the signaling core store ([`SignalingLimits`]).
    pub fn set_signaling_limits(&mut self, limits: SignalingLimits) {
        self.signaling = limits;
    }

    /// The limits in force ([`SignalingLimits`]).
    pub fn signaling_limits(&self) -> &SignalingLimits {
        &self.signaling
    }

    /// `addIceCandidate(candidate)` at the signaling level (webrtc-pc §4.4.1.7): checks the
    /// target m-section and ufrag, then records the candidate (or end-of-candidates) in the
    /// remote description, as browsers reflect it in `remoteDescription.sdp`. O(1) amortised
    /// per call (after one pass over the description at the first call); an `OperationError`
    /// when a [`SignalingLimits`] bound would be passed, with nothing stored. Returns what
    /// the ICE agent may need.
    pub(crate) fn add_ice_candidate(
        &mut self,
        c: &IceCandidateInit,
    ) -> Result<Option<crate::negotiator::negotiated::RemoteCandidate>> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let limits = &self.signaling;
        let desc = match (self.pending_remote.as_mut(), self.current_remote.as_mut()) {
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => return Err(Error::invalid_state("no remote description")),
        };
        let candidate_text = c.candidate.trim();
        if candidate_text.len() > limits.max_candidate_bytes {
            return Err(Error::operation(format!(
                "the candidate is {} bytes, more than the limit of {}",
                candidate_text.len(),
                limits.max_candidate_bytes
            )));
        }
        let index = desc
            .trickle
            .get_or_insert_with(|| Box::new(TrickleIndex::build(&desc.sdp)));
        let target = match (&c.sdp_mid, c.sdp_m_line_index) {
            (Some(mid), _) => Some(
                *index
                    .mids
                    .get(mid.as_str())
                    .ok_or_else(|| Error::operation(format!("no m-section with mid {mid}")))?,
            ),
            (None, Some(i)) => {
                let i = usize::from(i);
                if i >= index.sections.len() {
                    return Err(Error::operation(format!("no m-section at index {i}")));
                }
                Some(i)
            }
            (None, None) => None,
        };
        if let Some(ufrag) = &c.username_fragment {
            let matches = match target {
                Some(i) => index.ufrag_of(i) == Some(ufrag.as_str()),
                None => index.ufrags.contains(ufrag.as_str()),
            };
            if !matches {
                return Err(Error::operation(format!(
                    "usernameFragment {ufrag} matches no m-section"
                )));
            }
        }
        let (changed, added) = if candidate_text.is_empty() {
            // End-of-candidates: for one m-section, or all of them (RFC 8840 §4.4).
            (index.add_eoc(target), None)
        } else {
            let cand = Candidate::parse(candidate_text)
                .map_err(|e| Error::operation(format!("invalid candidate: {e}")))?;
            let i = target
                .ok_or_else(|| Error::type_error("a candidate needs sdpMid or sdpMLineIndex"))?;
            let fresh = index.add_candidate(&desc.sdp, i, cand, limits)?;
            (
                fresh,
                fresh.then(|| index.added(i).last().cloned()).flatten(),
            )
        };
        let (creds, tag) = (index.creds.clone(), index.transport);
        let mid = target.and_then(|i| desc.sdp.media.get(i)?.mid().map(str::to_string));
        // The text given back is rendered from now on (as it always was after a call).
        if changed || desc.has_applied_text() {
            desc.sdp_changed();
        }
        Ok((candidate_text.is_empty() || added.is_some()).then_some(
            crate::negotiator::negotiated::RemoteCandidate {
                candidate: added,
                for_tag: target.is_none() || target == tag,
                remote: creds,
                mid,
            },
        ))
    }
}
