//! The W3C views of the ICE transport's candidates (webrtc-pc §5.6: `getLocalCandidates`,
//! `getRemoteCandidates`, the selected pair, `icecandidate` inits): they join the session's
//! candidates with the negotiator's descriptions (the tag section's mid and index, the
//! candidates as signalled), so they belong to the connection, not to either half.

use crate::connection::{
    Connection, CoreEvent, IceCandidate, IceCandidateInit, IceCandidatePair, IceCandidateType,
};
use crate::sdp::Candidate;
use crate::session::ice::IceTransportId;

/// Same signalled candidate: address, port, type, protocol and component.
fn same_candidate(a: &Candidate, b: &Candidate) -> bool {
    a.address.eq_ignore_ascii_case(&b.address)
        && a.port == b.port
        && a.typ.eq_ignore_ascii_case(&b.typ)
        && a.protocol.eq_ignore_ascii_case(&b.protocol)
        && a.component == b.component
}

impl Connection {
    /// `getLocalCandidates()`: the candidates of the current generation that were (or are
    /// being) signalled through `icecandidate`, equal to those events' candidates.
    pub fn ice_local_candidates(&self, id: IceTransportId) -> Vec<IceCandidate> {
        if let Some(e) = self.session.extra_of(id) {
            let Some((local, _)) = self.session.extra_credentials(id) else {
                return Vec::new();
            };
            return e
                .gathered
                .iter()
                .filter_map(|c| {
                    let init = self.negotiator.local_candidate_init_in(
                        &e.name,
                        format!("candidate:{c}"),
                        &local.ufrag,
                    );
                    IceCandidate::new(init).ok()
                })
                .collect();
        }
        if !self.is_current_transport(id) {
            return Vec::new();
        }
        self.session
            .ice
            .gathered
            .iter()
            .filter_map(|c| IceCandidate::new(self.local_init(format!("candidate:{c}"))).ok())
            .collect()
    }

    /// `getRemoteCandidates()`: the candidates the remote signalled for the transport (in
    /// the remote description or by `addIceCandidate`); peer-reflexive candidates learnt
    /// from checks are not exposed (WPT-342).
    pub fn ice_remote_candidates(&self, id: IceTransportId) -> Vec<IceCandidate> {
        if self.session.extra_of(id).is_some() {
            let Some((desc, i)) = self.extra_remote_section(id) else {
                return Vec::new();
            };
            return desc
                .candidates_of(i)
                .filter_map(|c| IceCandidate::new(self.extra_remote_init(id, i, c)).ok())
                .collect();
        }
        if !self.is_current_transport(id) {
            return Vec::new();
        }
        let Some((desc, i)) = self.remote_transport_section() else {
            return Vec::new();
        };
        desc.candidates_of(i)
            .filter_map(|c| IceCandidate::new(self.remote_candidate_init(c)).ok())
            .collect()
    }

    /// The selected pair's remote candidate was learnt as peer-reflexive from the peer's check
    /// before the peer signalled the same address: the agent replaced the learnt candidate by
    /// the signalled one (RFC 8445 §7.3.1.3), so the selected pair becomes the signalled one,
    /// with a `selectedcandidatepairchange` as webrtc-pc §5.6.2 sets
    /// `[[SelectedCandidatePair]]` only with that event (WPT-336: each side's selected pair
    /// is the other's, as signalled).
    pub(crate) fn refresh_selected_remote(&mut self) {
        let Some(sel) = &self.session.ice.selected else {
            return;
        };
        if sel.remote.typ() != Some(IceCandidateType::Prflx) {
            return;
        }
        let (addr, port) = (sel.remote.address(), sel.remote.port());
        let signalled = self.remote_transport_section().and_then(|(d, i)| {
            d.candidates_of(i)
                .find(|c| {
                    Some(c.address.as_str()) == addr
                        && Some(c.port) == port
                        && c.component == 1
                        && c.protocol.eq_ignore_ascii_case("udp")
                })
                .cloned()
        });
        if let Some(c) = signalled
            && let Ok(remote) = IceCandidate::new(self.remote_candidate_init(&c))
            && let Some(sel) = self.session.ice.selected.as_mut()
        {
            sel.remote = remote;
            let pair = sel.clone();
            self.emit(CoreEvent::SelectedCandidatePairChange(Box::new(pair)));
        }
    }

    /// The `RTCIceCandidateInit` of local candidate text `candidate` of the current generation.
    pub(crate) fn local_init(&self, candidate: String) -> IceCandidateInit {
        let ufrag = self
            .session
            .ice
            .local_creds
            .as_ref()
            .map(|c| c.ufrag.clone());
        self.local_candidate_init(candidate, ufrag)
    }

    /// The remote description and the tag section of extra transport `id` in it (the
    /// section of the transport's own mid, RFC 8843 §7).
    fn extra_remote_section(
        &self,
        id: IceTransportId,
    ) -> Option<(&crate::connection::Desc, usize)> {
        let name = &self.session.extra_of(id)?.name;
        let desc = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        let i = desc
            .sdp
            .media
            .iter()
            .position(|m| m.mid() == Some(name.as_str()))?;
        Some((desc, i))
    }

    /// A remote candidate of extra transport `id` as the remote signalled it: its own
    /// section's mid and index (`i`), the remote ufrag of that transport.
    fn extra_remote_init(&self, id: IceTransportId, i: usize, c: &Candidate) -> IceCandidateInit {
        let mid = self.session.extra_of(id).map(|e| e.name.clone());
        let ufrag = crate::ice::candidate::extension(c, "ufrag")
            .map(str::to_string)
            .or_else(|| {
                self.session
                    .extra_credentials(id)
                    .and_then(|(_, r)| r.map(|r| r.ufrag.clone()))
            });
        IceCandidateInit {
            candidate: format!("candidate:{c}"),
            sdp_mid: mid,
            sdp_m_line_index: Some(u16::try_from(i).unwrap_or(0)),
            username_fragment: ufrag,
        }
    }

    /// The remote description and its transport section.
    fn remote_transport_section(&self) -> Option<(&crate::connection::Desc, usize)> {
        let desc = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        Some((desc, crate::negotiator::negotiated::tag_section(&desc.sdp)?))
    }

    /// A remote candidate as the remote's `icecandidate` event carried it: the transport
    /// section's mid and index, the remote generation's ufrag.
    fn remote_candidate_init(&self, c: &Candidate) -> IceCandidateInit {
        let section = self.remote_transport_section();
        let mid = section
            .and_then(|(d, i)| d.sdp.media.get(i))
            .and_then(|m| m.mid().map(str::to_string));
        let index = section
            .and_then(|(_, i)| u16::try_from(i).ok())
            .unwrap_or(0);
        let ufrag = crate::ice::candidate::extension(c, "ufrag")
            .map(str::to_string)
            .or_else(|| {
                self.session
                    .ice
                    .remote_creds
                    .as_ref()
                    .map(|r| r.ufrag.clone())
            });
        IceCandidateInit {
            candidate: format!("candidate:{c}"),
            sdp_mid: mid,
            sdp_m_line_index: Some(index),
            username_fragment: ufrag,
        }
    }

    /// The selected pair with each candidate as it was signalled (local: as our
    /// `icecandidate` event; remote: as the remote signalled it), else as the agent has it
    /// (a remote peer-reflexive candidate).
    /// `getSelectedCandidatePair()` of a transport beyond the primary one (`None`: `id`
    /// is not one): its candidates named after its own m-section (webrtc-pc §5.6.2).
    pub(crate) fn extra_selected_pair(
        &self,
        id: IceTransportId,
    ) -> Option<Option<IceCandidatePair>> {
        let e = self.session.extra_of(id)?;
        let Some((local, remote)) = e.selected.as_ref() else {
            return Some(None);
        };
        let (local_creds, remote_creds) = self.session.extra_credentials(id)?;
        // Each candidate as signalled when it was (our `icecandidate`, with its address
        // hidden when hiding is on; the remote's section), else as the agent has it (a
        // peer-reflexive remote).
        let hidden = self.session.ice.hide.as_ref().and_then(|h| h.hidden(local));
        let local = hidden.as_ref().unwrap_or(local);
        let local = e
            .gathered
            .iter()
            .find(|c| same_candidate(c, local))
            .unwrap_or(local);
        let local_init = self.negotiator.local_candidate_init_in(
            &e.name,
            format!("candidate:{local}"),
            &local_creds.ufrag,
        );
        let remote_init = match self.extra_remote_section(id) {
            Some((d, i)) => {
                let signalled = d
                    .candidates_of(i)
                    .find(|c| same_candidate(c, remote))
                    .unwrap_or(remote);
                self.extra_remote_init(id, i, signalled)
            }
            None => IceCandidateInit {
                candidate: format!("candidate:{remote}"),
                sdp_mid: Some(e.name.clone()),
                sdp_m_line_index: local_init.sdp_m_line_index,
                username_fragment: remote_creds.map(|c| c.ufrag.clone()),
            },
        };
        Some(Some(IceCandidatePair {
            local: IceCandidate::new(local_init).ok()?,
            remote: IceCandidate::new(remote_init).ok()?,
        }))
    }

    pub(crate) fn signalled_pair(
        &self,
        local: &Candidate,
        remote: &Candidate,
    ) -> Option<IceCandidatePair> {
        // Our candidates are signalled with their address hidden when hiding is on.
        let hidden = self.session.ice.hide.as_ref().and_then(|h| h.hidden(local));
        let shown = hidden.as_ref().unwrap_or(local);
        let local_sdp = self
            .session
            .ice
            .gathered
            .iter()
            .find(|c| same_candidate(c, shown))
            .unwrap_or(shown);
        let local_init = self.local_init(format!("candidate:{local_sdp}"));
        let local_init = IceCandidateInit {
            username_fragment: crate::ice::candidate::extension(local_sdp, "ufrag")
                .map(str::to_string)
                .or(local_init.username_fragment),
            ..local_init
        };
        let remote_sdp = self
            .remote_transport_section()
            .and_then(|(d, i)| {
                d.candidates_of(i).find(|c| {
                    same_candidate(c, remote)
                        // A learnt prflx candidate the peer has signalled since (RFC 8445
                        // §7.3.1.3).
                        || (remote.typ.eq_ignore_ascii_case("prflx")
                            && c.address.eq_ignore_ascii_case(&remote.address)
                            && c.port == remote.port
                            && c.protocol.eq_ignore_ascii_case(&remote.protocol)
                            && c.component == remote.component)
                })
            })
            .unwrap_or(remote);
        let remote_init = self.remote_candidate_init(remote_sdp);
        Some(IceCandidatePair {
            local: IceCandidate::new(local_init).ok()?,
            remote: IceCandidate::new(remote_init).ok()?,
        })
    }
}
