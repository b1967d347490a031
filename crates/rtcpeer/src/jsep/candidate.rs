//! `RTCIceCandidate` / `RTCIceCandidateInit` (webrtc-pc §4.8.1–4.8.2) and
//! `addIceCandidate` at the signaling level (webrtc-pc §4.4.1.7, RFC 8840 §4).

use serde::{Deserialize, Serialize};

use crate::enums::w3c_enum;
use crate::error::{Error, Result};
use crate::sdp::{Attribute as A, Candidate};

use super::Core;

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

impl Core {
    /// `addIceCandidate(candidate)` at the signaling level (webrtc-pc §4.4.1.7): checks the
    /// target m-section and ufrag, then records the candidate (or end-of-candidates) in the
    /// remote description, as browsers reflect it in `remoteDescription.sdp`.
    pub fn add_ice_candidate(&mut self, c: &IceCandidateInit) -> Result<()> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let desc = match (self.pending_remote.as_mut(), self.current_remote.as_mut()) {
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => return Err(Error::invalid_state("no remote description")),
        };
        let sdp = &mut desc.sdp;
        let target = match (&c.sdp_mid, c.sdp_m_line_index) {
            (Some(mid), _) => Some(
                sdp.media
                    .iter()
                    .position(|m| m.mid() == Some(mid.as_str()))
                    .ok_or_else(|| Error::operation(format!("no m-section with mid {mid}")))?,
            ),
            (None, Some(i)) => {
                let i = usize::from(i);
                if i >= sdp.media.len() {
                    return Err(Error::operation(format!("no m-section at index {i}")));
                }
                Some(i)
            }
            (None, None) => None,
        };
        let session_ufrag = sdp.find_attr(|a| match a {
            A::IceUfrag(u) => Some(u.clone()),
            _ => None,
        });
        if let Some(ufrag) = &c.username_fragment {
            let ufrag_of = |i: usize| {
                sdp.media[i]
                    .ice_ufrag()
                    .map(str::to_string)
                    .or(session_ufrag.clone())
            };
            let matches = match target {
                Some(i) => ufrag_of(i).as_deref() == Some(ufrag.as_str()),
                None => {
                    (0..sdp.media.len()).any(|i| ufrag_of(i).as_deref() == Some(ufrag.as_str()))
                }
            };
            if !matches {
                return Err(Error::operation(format!(
                    "usernameFragment {ufrag} matches no m-section"
                )));
            }
        }
        let candidate_text = c.candidate.trim();
        if candidate_text.is_empty() {
            // End-of-candidates: for one m-section, or all of them (RFC 8840 §4.4).
            let range: Vec<usize> = match target {
                Some(i) => vec![i],
                None => (0..sdp.media.len()).collect(),
            };
            for i in range {
                let m = &mut sdp.media[i];
                if !m.has(&A::EndOfCandidates) {
                    m.attributes.push(A::EndOfCandidates);
                }
            }
        } else {
            let cand = Candidate::parse(candidate_text)
                .map_err(|e| Error::operation(format!("invalid candidate: {e}")))?;
            let i = target
                .ok_or_else(|| Error::type_error("a candidate needs sdpMid or sdpMLineIndex"))?;
            let m = &mut sdp.media[i];
            let attr = A::Candidate(cand);
            if !m.attributes.contains(&attr) {
                let at = m
                    .attributes
                    .iter()
                    .position(|a| matches!(a, A::EndOfCandidates))
                    .unwrap_or(m.attributes.len());
                m.attributes.insert(at, attr);
            }
        }
        desc.text = desc.sdp.to_string();
        self.ice_remote_candidate(candidate_text, target);
        Ok(())
    }
}
