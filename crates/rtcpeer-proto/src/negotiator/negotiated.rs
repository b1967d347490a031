//! What an applied description means for the transports: one [`Negotiated`] value, built by
//! the negotiator after every setLocalDescription, setRemoteDescription and rollback
//! (webrtc-pc §4.4.1.5), and the smaller [`RemoteCandidate`] of `addIceCandidate`
//! (webrtc-pc §4.4.1.6 "addIceCandidate"). The session (ICE, DTLS, SCTP) reads its parameters
//! from these values only, never from the descriptions.
//!
//! One rule for every transport parameter: the m-section of the BUNDLE tag (RFC 8843 §7.2:
//! the first mid of the first BUNDLE group that is not rejected), else the first live
//! m-section, and within it the attribute, else the session-level one (RFC 8839 §5.4 ICE
//! credentials, RFC 8122 §5 fingerprints, RFC 4145 §4 / RFC 8842 §5 `a=setup`).

use crate::cert::DtlsFingerprint;
use crate::codecs::{MediaKind, RtpCodecParameters, RtpHeaderExtensionParameters};
use crate::sdp::{Attribute as A, Candidate, Media, Sdp, Setup};

use super::types::{RtpTransceiverDirection, SdpType};
use crate::connection::{Desc, DtlsRole, IceCredentials, Negotiator, SlotOwner, TransceiverId};

/// Why a [`Negotiated`] value was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// setLocalDescription applied a description of this type.
    LocalApplied(SdpType),
    /// setRemoteDescription applied a description of this type.
    RemoteApplied(SdpType),
    /// A rollback returned to the last stable state (RFC 9429 §4.1.8.2).
    RolledBack,
}

/// Where a transport's m-section is in a description: its mid and m-line index, as
/// `RTCIceCandidate`'s `sdpMid` / `sdpMLineIndex` name it (webrtc-pc §4.8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// `a=mid` of the section, if it has one.
    pub mid: Option<String>,
    /// The m-line index.
    pub index: u16,
}

/// The ICE parameters of the BUNDLE transport (RFC 8839 §5, RFC 8843 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedIce {
    /// Credentials of the newest local description (`None`: no m-lines, WPT-53).
    pub local: Option<IceCredentials>,
    /// Whether the newest local description is an offer (its applier becomes controlling
    /// when it creates the agent, RFC 8445 §6.1.1).
    pub local_is_offer: bool,
    /// Credentials of the newest remote description.
    pub remote: Option<IceCredentials>,
    /// Whether the newest remote description is an offer (a remote restart is applied with
    /// our answer, RFC 9429 §5.4).
    pub remote_is_offer: bool,
    /// The candidates signalled for the tag section (in the description or by
    /// `addIceCandidate`), in order.
    pub remote_candidates: Vec<Candidate>,
    /// The remote signalled end-of-candidates for the tag section (RFC 8840 §4.4).
    pub remote_end_of_candidates: bool,
    /// The local tag section.
    pub local_tag: Option<Tag>,
    /// The remote tag section.
    pub remote_tag: Option<Tag>,
}

/// The DTLS parameters (RFC 8842 §5, RFC 8122 §5), once an answer fixed the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedDtls {
    /// Our DTLS role.
    pub role: DtlsRole,
    /// The remote certificate fingerprints, lowercase, of the newest remote description.
    pub remote_fingerprints: Vec<DtlsFingerprint>,
}

/// The SCTP parameters while the session has a data section (RFC 8841 §5-6, webrtc-pc
/// §6.1.1.3).
#[derive(Debug, Clone, PartialEq)]
pub struct NegotiatedSctp {
    /// The mid of the data section, once it has one.
    pub mid: Option<String>,
    /// Our `a=sctp-port`.
    pub local_port: u16,
    /// The remote's `a=sctp-port` (or legacy `a=sctpmap` number), 5000 when absent.
    pub remote_port: u16,
    /// The largest message we accept (our `a=max-message-size`).
    pub local_max_message_size: u64,
    /// `RTCSctpTransport.maxMessageSize`: the smaller of both sides' (∞ for 0, 0 before the
    /// remote's is known).
    pub max_message_size: f64,
}

/// The negotiated parameters of one transceiver's m-section, ready for the RTP session
/// (RFC 9429 §5.7-5.10, RFC 3550, RFC 8285, RFC 8851).
#[derive(Debug, Clone, PartialEq)]
pub struct NegotiatedMedia {
    /// The m-section's mid.
    pub mid: String,
    /// The transceiver it belongs to.
    pub transceiver: TransceiverId,
    /// Audio or video.
    pub kind: MediaKind,
    /// `currentDirection` (`None` before an answer).
    pub direction: Option<RtpTransceiverDirection>,
    /// Payload types and codecs of the newest answer's section (else the newest remote
    /// description's).
    pub codecs: Vec<RtpCodecParameters>,
    /// Header extension ids, from the same section as `codecs`.
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// Our SSRC and RTX SSRC.
    pub local_ssrcs: (u32, u32),
    /// The SSRCs the remote announced (`a=ssrc`, RFC 5576), sorted, no duplicates.
    pub remote_ssrcs: Vec<u32>,
    /// The remote's rids (`a=rid`, RFC 8851), in order, no duplicates.
    pub rids: Vec<String>,
    /// Our RTCP CNAME (RFC 3550 §6.5.1).
    pub cname: String,
    /// Whether reduced-size RTCP was negotiated (`a=rtcp-rsize`, RFC 5506).
    pub rtcp_reduced_size: bool,
    /// Whether the sender has an active encoding (webrtc-pc §5.2.2 `active`): when none is,
    /// the session sends no RTP for it.
    pub send_active: bool,
    /// How long the receiver waits for a missing packet before giving its frame up, when
    /// the application set `jitterBufferTarget` (webrtc-pc §5.3).
    pub jitter_buffer_target: Option<std::time::Duration>,
}

/// One ICE+DTLS transport: a BUNDLE group, or an m-section outside every group (RFC 8843
/// §7, RFC 9429 §5.3.1: an answer to an offer that does not bundle has one per section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedTransport {
    /// The transport's name: the mid of its tag section (stable while the tag is).
    pub id: String,
    /// The mids of the m-sections it carries, the tag first.
    pub mids: Vec<String>,
    /// Its ICE parameters, read from the sections of its tag mid.
    pub ice: NegotiatedIce,
    /// Its DTLS parameters, once an answer fixed the role.
    pub dtls: Option<NegotiatedDtls>,
}

/// Everything the transports need from the descriptions applied so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    /// What was applied.
    pub cause: Cause,
    /// ICE of the BUNDLE transport; `None` before any description was applied (and
    /// `local` is `None` while the local description has no m-lines, WPT-53).
    pub ice: Option<NegotiatedIce>,
    /// DTLS, once an answer fixed the role.
    pub dtls: Option<NegotiatedDtls>,
    /// SCTP, while the session has a data section.
    pub sctp: Option<NegotiatedSctp>,
    /// One entry per transceiver with a mid.
    pub media: Vec<NegotiatedMedia>,
    /// Every transport, the primary one first (its parameters are `ice` and `dtls`); empty
    /// before any description. At most [`MAX_TRANSPORTS`].
    pub transports: Vec<NegotiatedTransport>,
    /// Whether RTCP has an ICE component of its own on the primary transport (RFC 5761,
    /// RFC 9429 §4.1.1).
    pub rtcp: RtcpComponentMode,
}

/// Whether RTCP has an ICE component (and a DTLS association) of its own on the primary
/// transport: `rtcpMuxPolicy` "negotiate" (RFC 9429 §4.1.1) and an exchange without
/// `a=rtcp-mux` (RFC 5761 §5.1.1, RFC 8445 §4 components).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtcpComponentMode {
    /// RTCP shares component 1: rtcp-mux negotiated, policy "require", or no RTP section.
    #[default]
    Muxed,
    /// Our offer under "negotiate" waits for its answer: component 2 gathers (RFC 9429
    /// §4.1.1: both RTP and RTCP candidates) but carries nothing yet.
    Gather,
    /// RTCP flows on component 2: the answer, or the remote offer we answer, has no
    /// `a=rtcp-mux`.
    Separate,
}

/// What `addIceCandidate` recorded, for the ICE agent (webrtc-pc §4.4.1.6, RFC 8840 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCandidate {
    /// The candidate, or `None` for end-of-candidates.
    pub candidate: Option<Candidate>,
    /// Whether it concerns the tag section (a candidate for it, or end-of-candidates for it
    /// or for every section).
    pub for_tag: bool,
    /// The ICE credentials of the remote description it was added to.
    pub remote: Option<IceCredentials>,
    /// The mid of the m-section it was added to (`None`: end-of-candidates for all).
    pub mid: Option<String>,
}

/// The most transports one description may ask for: a remote offer whose m-sections are not
/// bundled needs one ICE agent and one DTLS association per section (RFC 8843 §7, RFC 9429
/// §5.3.1), so their number is capped; an offer needing more is refused.
pub const MAX_TRANSPORTS: usize = 16;

/// The transports of a description (RFC 8843 §7, RFC 9429 §5.2.1), as m-line indices with
/// the transport's tag section first: the live sections (and `a=bundle-only` ones) of each
/// BUNDLE group in group order, then each live section outside every group on its own.
/// The first transport is the session's primary one: the one carrying the live data section
/// (SCTP runs on it), else the first. A group whose sections are all rejected has none.
pub(crate) fn transport_sections(sdp: &Sdp) -> Vec<Vec<usize>> {
    transport_sections_by(sdp, false)
}

/// [`transport_sections`]; with `split`, the members of a BUNDLE group with credentials
/// of their own are transports of their own: our offer under `bundlePolicy` "balanced" or
/// "max-compat" until the answer accepts BUNDLE (RFC 9429 §4.1.1, RFC 8843 §7.3).
pub(crate) fn transport_sections_by(sdp: &Sdp, split: bool) -> Vec<Vec<usize>> {
    let live = |i: usize| sdp.media.get(i).is_some_and(|m| m.port != 0);
    let mut in_group = vec![false; sdp.media.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for group in sdp.bundle_groups() {
        let mut members: Vec<usize> = Vec::new();
        for mid in group {
            if let Some(i) = sdp.media.iter().position(|m| m.mid() == Some(mid.as_str()))
                && !sdp.media[i].is_rejected()
                && !in_group[i]
            {
                in_group[i] = true;
                members.push(i);
            }
        }
        // The tag: the first live member (RFC 8843 §7.2).
        if let Some(t) = members.iter().position(|&i| live(i)) {
            members[..=t].rotate_right(1);
            if !split {
                out.push(members);
                continue;
            }
            let mut parts: Vec<(Option<String>, Vec<usize>)> = Vec::new();
            for i in members {
                let ufrag = section_credentials(sdp, i).map(|c| c.ufrag);
                match parts.iter_mut().find(|(u, _)| *u == ufrag) {
                    Some((_, p)) => p.push(i),
                    None => parts.push((ufrag, vec![i])),
                }
            }
            for (_, mut p) in parts {
                if let Some(t) = p.iter().position(|&i| live(i)) {
                    p[..=t].rotate_right(1);
                    out.push(p);
                }
            }
        }
    }
    for (i, done) in in_group.iter().enumerate() {
        if !done && live(i) {
            out.push(vec![i]);
        }
    }
    let data = out.iter().position(|t| {
        t.iter()
            .any(|&i| live(i) && sdp.media[i].proto.to_ascii_uppercase().contains("SCTP"))
    });
    if let Some(d) = data
        && d > 0
    {
        let t = out.remove(d);
        out.insert(0, t);
    }
    out
}

/// The m-section that carries the session's (primary) transport: the tag of the first of
/// [`transport_sections`] (with BUNDLE, the first mid of the first group that is not
/// rejected, RFC 8843 §7.2), else the first live section.
pub(crate) fn tag_section(sdp: &Sdp) -> Option<usize> {
    transport_sections(sdp).first().and_then(|t| t.first().copied())
}

/// The ICE credentials of section `i`, else session level (RFC 8839 §5.4).
pub(crate) fn section_credentials(sdp: &Sdp, i: usize) -> Option<IceCredentials> {
    let m = sdp.media.get(i);
    let ufrag = m
        .and_then(|m| m.ice_ufrag().map(str::to_string))
        .or_else(|| {
            sdp.find_attr(|a| match a {
                A::IceUfrag(u) => Some(u.clone()),
                _ => None,
            })
        })?;
    let pwd = m
        .and_then(|m| m.ice_pwd().map(str::to_string))
        .or_else(|| {
            sdp.find_attr(|a| match a {
                A::IcePwd(p) => Some(p.clone()),
                _ => None,
            })
        })?;
    Some(IceCredentials { ufrag, pwd })
}

/// The fingerprints of section `i`, lowercase, else session level (RFC 8122 §5).
fn section_fingerprints(sdp: &Sdp, i: usize) -> Vec<DtlsFingerprint> {
    let collect = |attrs: &[A]| -> Vec<DtlsFingerprint> {
        attrs
            .iter()
            .filter_map(|a| match a {
                A::Fingerprint { algorithm, value } => Some(DtlsFingerprint {
                    algorithm: algorithm.to_ascii_lowercase(),
                    value: value.to_ascii_lowercase(),
                }),
                _ => None,
            })
            .collect()
    };
    let media = sdp
        .media
        .get(i)
        .map(|m| collect(&m.attributes))
        .unwrap_or_default();
    if media.is_empty() {
        collect(&sdp.attributes)
    } else {
        media
    }
}

fn tag_media(sdp: &Sdp) -> Option<&Media> {
    tag_section(sdp).and_then(|i| sdp.media.get(i))
}

/// The ICE credentials of a description: the tag section's, else session level
/// (RFC 8839 §5.4).
pub(crate) fn ice_credentials(sdp: &Sdp) -> Option<IceCredentials> {
    match tag_section(sdp) {
        Some(i) => section_credentials(sdp, i),
        None => section_credentials(sdp, usize::MAX),
    }
}

/// `a=setup` of a description: the tag section's, else session level (RFC 8842 §5).
pub(crate) fn setup(sdp: &Sdp) -> Option<Setup> {
    tag_media(sdp).and_then(Media::setup).or_else(|| {
        sdp.find_attr(|a| match a {
            A::Setup(s) => Some(*s),
            _ => None,
        })
    })
}

/// The fingerprints of a description, lowercase: the tag section's, else session level
/// (RFC 8122 §5).
pub(crate) fn fingerprints(sdp: &Sdp) -> Vec<DtlsFingerprint> {
    section_fingerprints(sdp, tag_section(sdp).unwrap_or(usize::MAX))
}

fn tag_of(sdp: &Sdp) -> Option<Tag> {
    let i = tag_section(sdp)?;
    Some(Tag {
        mid: sdp.media[i].mid().map(str::to_string),
        index: u16::try_from(i).unwrap_or(0),
    })
}

impl Negotiator {
    /// The newest local description (pending, else current).
    fn newest_local(&self) -> Option<&Desc> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }

    /// The newest remote description (pending, else current).
    pub(crate) fn newest_remote(&self) -> Option<&Desc> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
    }

    /// What the applied descriptions mean for the transports now (see the module docs).
    pub(crate) fn negotiated(&self, cause: Cause) -> Negotiated {
        let local = self.newest_local();
        let remote = self.newest_remote();
        // Our credentials of the primary transport: those of our section of its tag mid in
        // the description that says what the transports are (after an answer that accepted
        // BUNDLE, the answer's tag: our offer may have given it credentials of its own under
        // "balanced"/"max-compat", RFC 8843 §7.3.1), else our description's tag section's.
        let primary_mid = self.grouping_description().and_then(|g| {
            let t = transport_sections(&g.sdp).into_iter().next()?;
            g.sdp.media.get(*t.first()?)?.mid().map(str::to_string)
        });
        let local_creds = local.and_then(|d| {
            primary_mid
                .as_deref()
                .and_then(|mid| d.sdp.media.iter().position(|m| m.mid() == Some(mid)))
                .and_then(|i| section_credentials(&d.sdp, i))
                .or_else(|| ice_credentials(&d.sdp))
        });
        let ice = (local.is_some() || remote.is_some()).then(|| {
            let remote_tag_index = remote.and_then(|d| tag_section(&d.sdp));
            let (remote_candidates, remote_end_of_candidates) = match (remote, remote_tag_index) {
                (Some(d), Some(i)) => (
                    d.candidates_of(i).cloned().collect(),
                    d.end_of_candidates_in(i),
                ),
                _ => (Vec::new(), false),
            };
            NegotiatedIce {
                local: local_creds,
                local_is_offer: local.is_some_and(|d| d.typ == SdpType::Offer),
                remote: remote.and_then(|d| ice_credentials(&d.sdp)),
                remote_is_offer: remote.is_some_and(|d| d.typ == SdpType::Offer),
                remote_candidates,
                remote_end_of_candidates,
                local_tag: local.and_then(|d| tag_of(&d.sdp)),
                remote_tag: remote.and_then(|d| tag_of(&d.sdp)),
            }
        });
        let dtls = self.dtls_role.map(|role| NegotiatedDtls {
            role,
            remote_fingerprints: remote.map(|d| fingerprints(&d.sdp)).unwrap_or_default(),
        });
        let sctp = self.sctp.as_ref().map(|s| NegotiatedSctp {
            mid: self
                .slots
                .iter()
                .find(|s| s.owner == SlotOwner::Data)
                .and_then(|s| s.mid.clone()),
            local_port: self.settings.sctp_port,
            remote_port: remote
                .and_then(|d| {
                    d.sdp.media.iter().find_map(|m| {
                        (m.kind == "application" && m.port != 0)
                            .then(|| m.sctp_port())
                            .flatten()
                    })
                })
                .unwrap_or(5000),
            local_max_message_size: self.settings.max_message_size,
            max_message_size: s.max_message_size,
        });
        let transports = self.negotiated_transports(ice.as_ref(), dtls.as_ref());
        let rtcp = self.rtcp_component_mode(transports.first());
        Negotiated {
            cause,
            ice,
            dtls,
            sctp,
            media: self.negotiated_media(),
            transports,
            rtcp,
        }
    }

    /// [`RtcpComponentMode`] of the primary transport `primary` (RFC 9429 §4.1.1, §5.2.2:
    /// an offer after an answer that accepted rtcp-mux gathers no RTCP candidates again;
    /// §5.3.1 and RFC 5761 §5.1.1: an answer has `a=rtcp-mux` only when its offer had).
    fn rtcp_component_mode(&self, primary: Option<&NegotiatedTransport>) -> RtcpComponentMode {
        use RtcpComponentMode as M;
        if self.config.rtcp_mux_policy == crate::config::RtcpMuxPolicy::Require {
            return M::Muxed;
        }
        let Some(primary) = primary else {
            return M::Muxed;
        };
        // Whether the live RTP sections of the primary transport have a=rtcp-mux; `None`
        // when it carries none (data only).
        let muxed = |d: &Desc| -> Option<bool> {
            let mut rtp = false;
            let mut mux = false;
            for m in &d.sdp.media {
                let live = m.port != 0 || m.has(&A::BundleOnly);
                let ours = m.mid().is_some_and(|mid| primary.mids.iter().any(|x| x == mid));
                if live && ours && m.proto.to_ascii_uppercase().contains("RTP") {
                    rtp = true;
                    mux |= m.has(&A::RtcpMux);
                }
            }
            rtp.then_some(mux)
        };
        let is_answer = |d: &&Desc| matches!(d.typ, SdpType::Answer | SdpType::Pranswer);
        let current_answer = [&self.current_local, &self.current_remote]
            .into_iter()
            .flatten()
            .find(is_answer);
        if let Some(offer) = self.pending_local.as_ref().filter(|d| d.typ == SdpType::Offer) {
            return match (current_answer.and_then(muxed), muxed(offer)) {
                (Some(true), _) | (_, None) => M::Muxed,
                (Some(false), _) => M::Separate,
                (None, Some(_)) => M::Gather,
            };
        }
        if let Some(offer) = self.pending_remote.as_ref().filter(|d| d.typ == SdpType::Offer) {
            return match muxed(offer) {
                Some(false) => M::Separate,
                _ => M::Muxed,
            };
        }
        let answer = [&self.pending_local, &self.pending_remote]
            .into_iter()
            .flatten()
            .find(is_answer)
            .or(current_answer);
        match answer.and_then(muxed) {
            Some(false) => M::Separate,
            _ => M::Muxed,
        }
    }

    /// The description whose BUNDLE groups say what the transports are (RFC 8843 §7): our
    /// pending offer, else the answer of the current exchange, else a remote offer.
    fn grouping_description(&self) -> Option<&Desc> {
        fn answer(d: &Option<Desc>) -> Option<&Desc> {
            d.as_ref()
                .filter(|d| matches!(d.typ, SdpType::Answer | SdpType::Pranswer))
        }
        self.pending_local
            .as_ref()
            .or(answer(&self.pending_remote))
            .or(answer(&self.current_local))
            .or(answer(&self.current_remote))
            .or(self.pending_remote.as_ref())
            .or(self.current_local.as_ref())
    }

    /// Every transport of [`Negotiator::grouping_description`], the primary first (`ice` and
    /// `dtls`, as computed from the tag sections), then one per further group or unbundled
    /// section, each read from the local and remote sections of its tag mid.
    fn negotiated_transports(
        &self,
        ice: Option<&NegotiatedIce>,
        dtls: Option<&NegotiatedDtls>,
    ) -> Vec<NegotiatedTransport> {
        let (Some(g), Some(ice)) = (self.grouping_description(), ice) else {
            return Vec::new();
        };
        let local = self.newest_local();
        let remote = self.newest_remote();
        let answer = [
            &self.pending_local,
            &self.pending_remote,
            &self.current_local,
            &self.current_remote,
        ]
        .into_iter()
        .flatten()
        .find(|d| matches!(d.typ, SdpType::Answer | SdpType::Pranswer));
        let local_answer = answer.is_some_and(|a| {
            [&self.pending_local, &self.current_local]
                .into_iter()
                .flatten()
                .any(|d| std::ptr::eq(d, a))
        });
        let index_of = |d: Option<&Desc>, mid: &str| {
            d.and_then(|d| d.sdp.media.iter().position(|m| m.mid() == Some(mid)))
        };
        let mut out = Vec::new();
        // Our own offer: its sections with credentials of their own gather on their own.
        let split = g.typ == SdpType::Offer
            && self
                .pending_local
                .as_ref()
                .is_some_and(|p| std::ptr::eq(p, g));
        for (n, sections) in transport_sections_by(&g.sdp, split)
            .into_iter()
            .take(MAX_TRANSPORTS)
            .enumerate()
        {
            let mids: Vec<String> = sections
                .iter()
                .filter_map(|&i| g.sdp.media[i].mid().map(str::to_string))
                .collect();
            let Some(id) = mids.first().cloned() else {
                continue;
            };
            if n == 0 {
                out.push(NegotiatedTransport {
                    id,
                    mids,
                    ice: ice.clone(),
                    dtls: dtls.cloned(),
                });
                continue;
            }
            let li = index_of(local, &id);
            let ri = index_of(remote, &id);
            let (remote_candidates, remote_end_of_candidates) = match (remote, ri) {
                (Some(d), Some(i)) => (
                    d.candidates_of(i).cloned().collect(),
                    d.end_of_candidates_in(i),
                ),
                _ => (Vec::new(), false),
            };
            let tag = |i: Option<usize>| {
                i.map(|i| Tag {
                    mid: Some(id.clone()),
                    index: u16::try_from(i).unwrap_or(0),
                })
            };
            let t_ice = NegotiatedIce {
                local: local.zip(li).and_then(|(d, i)| section_credentials(&d.sdp, i)),
                local_is_offer: ice.local_is_offer,
                remote: remote.zip(ri).and_then(|(d, i)| section_credentials(&d.sdp, i)),
                remote_is_offer: ice.remote_is_offer,
                remote_candidates,
                remote_end_of_candidates,
                local_tag: tag(li),
                remote_tag: tag(ri),
            };
            // The role from the answer's `a=setup` in this section (RFC 8842 §5), else the
            // session's.
            let role = answer
                .and_then(|a| {
                    let i = a.sdp.media.iter().position(|m| m.mid() == Some(id.as_str()))?;
                    a.sdp.media[i].setup()
                })
                .and_then(|s| match (s, local_answer) {
                    (Setup::Active, true) | (Setup::Passive, false) => Some(DtlsRole::Client),
                    (Setup::Passive, true) | (Setup::Active, false) => Some(DtlsRole::Server),
                    _ => None,
                })
                .or(dtls.map(|d| d.role));
            let t_dtls = match (dtls, role) {
                (Some(_), Some(role)) => Some(NegotiatedDtls {
                    role,
                    remote_fingerprints: remote
                        .zip(ri)
                        .map(|(d, i)| section_fingerprints(&d.sdp, i))
                        .unwrap_or_default(),
                }),
                _ => None,
            };
            out.push(NegotiatedTransport {
                id,
                mids,
                ice: t_ice,
                dtls: t_dtls,
            });
        }
        out
    }

    /// Per-mid media parameters: codecs and extensions from the newest answer (else the
    /// newest remote description), SSRCs and rids from the newest remote description.
    pub(crate) fn negotiated_media(&self) -> Vec<NegotiatedMedia> {
        let answer = [
            &self.pending_local,
            &self.pending_remote,
            &self.current_local,
            &self.current_remote,
        ]
        .into_iter()
        .flatten()
        .find(|d| matches!(d.typ, SdpType::Answer | SdpType::Pranswer))
        .or(self.newest_remote());
        let remote = self.newest_remote();
        fn section<'a>(d: Option<&'a Desc>, mid: &str) -> Option<&'a Media> {
            d?.sdp
                .media
                .iter()
                .find(|m| m.mid() == Some(mid) && m.port != 0)
        }
        self.transceivers
            .iter()
            .filter_map(|t| {
                let mid = t.mid.clone()?;
                let params = section(answer, &mid);
                let rm = section(remote, &mid);
                let mut remote_ssrcs: Vec<u32> = rm
                    .into_iter()
                    .flat_map(|m| &m.attributes)
                    .filter_map(|a| match a {
                        A::Ssrc { ssrc, .. } => Some(*ssrc),
                        _ => None,
                    })
                    .collect();
                remote_ssrcs.sort_unstable();
                remote_ssrcs.dedup();
                let mut rids: Vec<String> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for a in rm.into_iter().flat_map(|m| &m.attributes) {
                    if let A::Rid { id, .. } = a
                        && seen.insert(id.as_str())
                    {
                        rids.push(id.clone());
                    }
                }
                Some(NegotiatedMedia {
                    transceiver: t.id,
                    kind: t.kind,
                    direction: t.current_direction,
                    codecs: params.map(crate::codecs::read_codecs).unwrap_or_default(),
                    header_extensions: params.map(crate::codecs::read_extmaps).unwrap_or_default(),
                    local_ssrcs: (t.ssrc, t.rtx_ssrc),
                    remote_ssrcs,
                    rids,
                    cname: self.cname.clone(),
                    rtcp_reduced_size: params
                        .is_some_and(|m| m.has(&A::RtcpRsize)),
                    send_active: t.parameters.active(),
                    jitter_buffer_target: t.jitter_buffer_target,
                    mid,
                })
            })
            .collect()
    }

    /// Writes gathered local candidate `c` (`None`: end-of-candidates) of ICE generation
    /// `ufrag` into the tag section of the transport with that ufrag in every local
    /// description (each unbundled transport has its own, RFC 8843 §7), as browsers show
    /// them in `localDescription` (webrtc-pc §4.4.1.6 step "add the candidate"), and returns
    /// the `icecandidate` event's init: that section's mid and index in the newest local
    /// description, and `ufrag` (webrtc-pc §4.8.2).
    pub(crate) fn add_local_candidate(
        &mut self,
        ufrag: &str,
        c: Option<&Candidate>,
    ) -> crate::connection::IceCandidateInit {
        for d in [self.pending_local.as_mut(), self.current_local.as_mut()]
            .into_iter()
            .flatten()
        {
            let Some(i) = section_of_ufrag(&d.sdp, ufrag) else {
                continue;
            };
            if write_candidate(&mut d.sdp, i, c) {
                d.sdp_changed();
            }
        }
        self.local_candidate_init(
            c.map(|c| format!("candidate:{c}")).unwrap_or_default(),
            Some(ufrag.to_string()),
        )
    }

    /// Copies the candidates gathered so far for each ICE generation of `sdp` (and its
    /// end-of-candidates) from the newest local description into the tag section of that
    /// generation's transport: a subsequent offer or answer lists the current candidates
    /// (RFC 9429 §5.2.2, §5.3.2), as browsers' do. A restarted transport has new
    /// credentials, so it gets none.
    pub(crate) fn carry_local_candidates(&self, sdp: &mut Sdp) {
        let Some(d) = self.newest_local() else {
            return;
        };
        for group in transport_sections_by(sdp, true) {
            let Some(&i) = group.first() else {
                continue;
            };
            let Some(creds) = section_credentials(sdp, i) else {
                continue;
            };
            // The same section when it has the same credentials (a "balanced" transport
            // split by the answer shares them with another section), else the tag section
            // of that generation.
            let mid = sdp.media[i].mid();
            let same = d.sdp.media.iter().position(|m| mid.is_some() && m.mid() == mid);
            let Some(j) = same
                .filter(|&j| {
                    let m = &d.sdp.media[j];
                    let gathered = m.has(&A::EndOfCandidates)
                        || m.attributes.iter().any(|a| matches!(a, A::Candidate(_)));
                    gathered
                        && section_credentials(&d.sdp, j).is_some_and(|c| c.ufrag == creds.ufrag)
                })
                .or_else(|| section_of_ufrag(&d.sdp, &creds.ufrag))
            else {
                continue;
            };
            let old = &d.sdp.media[j];
            for a in &old.attributes {
                // RTP candidates; the RTCP component (rtcp-mux "negotiate") writes its own
                // while it is in use.
                if let A::Candidate(c) = a
                    && c.component == 1
                {
                    write_candidate(sdp, i, Some(c));
                }
            }
            if old.has(&A::EndOfCandidates) {
                write_candidate(sdp, i, None);
            }
        }
    }

    /// [`Negotiator::add_local_candidate`] for the transport whose tag section is `mid` (a
    /// transport beyond the primary one): written into that section of the local
    /// descriptions, even when another section shares its credentials (a "balanced" offer's
    /// transport of one media type, split by an answer that did not bundle, RFC 9429
    /// §4.1.1, RFC 8843 §7).
    pub(crate) fn add_local_candidate_in(
        &mut self,
        mid: &str,
        ufrag: &str,
        c: Option<&Candidate>,
    ) -> crate::connection::IceCandidateInit {
        for d in [self.pending_local.as_mut(), self.current_local.as_mut()]
            .into_iter()
            .flatten()
        {
            let Some(i) = d.sdp.media.iter().position(|m| m.mid() == Some(mid)) else {
                continue;
            };
            if write_candidate(&mut d.sdp, i, c) {
                d.sdp_changed();
            }
        }
        self.local_candidate_init_in(
            mid,
            c.map(|c| format!("candidate:{c}")).unwrap_or_default(),
            ufrag,
        )
    }

    /// A local candidate's `RTCIceCandidateInit` for the transport whose tag section is
    /// `mid`: that mid, its index in the newest local description, `ufrag` (webrtc-pc §4.8.2).
    pub(crate) fn local_candidate_init_in(
        &self,
        mid: &str,
        candidate: String,
        ufrag: &str,
    ) -> crate::connection::IceCandidateInit {
        let index = self
            .newest_local()
            .and_then(|d| d.sdp.media.iter().position(|m| m.mid() == Some(mid)))
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0);
        crate::connection::IceCandidateInit {
            candidate,
            sdp_m_line_index: Some(index),
            sdp_mid: Some(mid.to_string()),
            username_fragment: Some(ufrag.to_string()),
        }
    }

    /// A local candidate's `RTCIceCandidateInit`: `candidate` with the mid and index of the
    /// tag section of `ufrag`'s transport (else the primary one) in the newest local
    /// description, and `ufrag` (webrtc-pc §4.8.2).
    pub(crate) fn local_candidate_init(
        &self,
        candidate: String,
        ufrag: Option<String>,
    ) -> crate::connection::IceCandidateInit {
        let tag = self.newest_local().and_then(|d| {
            let i = ufrag
                .as_deref()
                .and_then(|u| section_of_ufrag(&d.sdp, u))
                .or_else(|| tag_section(&d.sdp))?;
            Some(Tag {
                mid: d.sdp.media.get(i)?.mid().map(str::to_string),
                index: u16::try_from(i).unwrap_or(0),
            })
        });
        crate::connection::IceCandidateInit {
            candidate,
            sdp_m_line_index: Some(tag.as_ref().map_or(0, |t| t.index)),
            sdp_mid: tag.and_then(|t| t.mid),
            username_fragment: ufrag,
        }
    }
}

/// The tag section of the transport of `sdp` whose credentials have `ufrag`.
fn section_of_ufrag(sdp: &Sdp, ufrag: &str) -> Option<usize> {
    transport_sections_by(sdp, true)
        .into_iter()
        .filter_map(|t| t.first().copied())
        .find(|&i| section_credentials(sdp, i).is_some_and(|c| c.ufrag == ufrag))
}

/// Adds `c` (or end-of-candidates when `None`) to section `i` of `sdp`; whether it changed.
fn write_candidate(sdp: &mut Sdp, i: usize, c: Option<&Candidate>) -> bool {
    let Some(m) = sdp.media.get_mut(i) else {
        return false;
    };
    match c {
        Some(c) => {
            let attr = A::Candidate(c.clone());
            if m.attributes.contains(&attr) {
                return false;
            }
            let at = m
                .attributes
                .iter()
                .position(|a| matches!(a, A::EndOfCandidates))
                .unwrap_or(m.attributes.len());
            m.attributes.insert(at, attr);
        }
        None => {
            if m.has(&A::EndOfCandidates) {
                return false;
            }
            m.attributes.push(A::EndOfCandidates);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::Configuration;
    use crate::connection::{Core, CoreSettings, SessionDescription};
    use crate::util::SeededRandom;

    const FP: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:\
                      AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    fn core() -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        Core::new(
            Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(9)),
        )
    }

    /// An unbundled first section with its own credentials, fingerprint and setup; the
    /// BUNDLE tag second, without a fingerprint (the session-level one applies).
    fn two_transports() -> Sdp {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE d\r\n\
             a=fingerprint:sha-256 {FP}\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:u\r\n\
             a=ice-ufrag:firs\r\na=ice-pwd:firstpasswordfirstpasswo\r\n\
             a=fingerprint:sha-256 00:11\r\na=setup:active\r\na=rtcp-mux\r\n\
             a=rtpmap:111 opus/48000/2\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=mid:d\r\na=ice-ufrag:tagu\r\na=ice-pwd:tagpasswordtagpasswordta\r\n\
             a=setup:passive\r\na=sctp-port:5001\r\n"
        );
        Sdp::parse(&text).unwrap()
    }

    #[test]
    fn one_rule_reads_the_bundle_tag_else_session_level() {
        let sdp = two_transports();
        assert_eq!(tag_section(&sdp), Some(1));
        let creds = ice_credentials(&sdp).unwrap();
        assert_eq!(
            (creds.ufrag.as_str(), creds.pwd.as_str()),
            ("tagu", "tagpasswordtagpasswordta")
        );
        assert_eq!(setup(&sdp), Some(Setup::Passive));
        let fps = fingerprints(&sdp);
        assert_eq!(fps.len(), 1);
        assert_eq!(
            fps[0].value,
            FP.to_ascii_lowercase(),
            "session level, lowercase"
        );
        assert_eq!(
            tag_of(&sdp).unwrap(),
            Tag {
                mid: Some("d".into()),
                index: 1
            }
        );
    }

    #[test]
    fn rejected_tag_falls_back_to_the_first_live_section_and_session_level() {
        let mut sdp = two_transports();
        sdp.media[1].port = 0;
        assert_eq!(tag_section(&sdp), Some(0));
        assert_eq!(ice_credentials(&sdp).unwrap().ufrag, "firs");
        assert_eq!(setup(&sdp), Some(Setup::Active));
        sdp.media[0].port = 0;
        assert_eq!(tag_section(&sdp), None);
        assert_eq!(ice_credentials(&sdp), None, "no session-level credentials");
        assert_eq!(fingerprints(&sdp)[0].value, FP.to_ascii_lowercase());
    }

    #[test]
    fn each_applied_description_yields_transport_and_media_parameters() {
        let offer = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a0 d\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a0\r\n\
             a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
             a=fingerprint:sha-256 {FP}\r\na=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\n\
             a=rtpmap:111 opus/48000/2\r\n\
             a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
             a=ssrc:42 cname:x\r\na=ssrc:7 cname:x\r\na=ssrc:42 msid:s t\r\n\
             a=rid:r1 send\r\na=rid:r1 send\r\n\
             a=candidate:1 1 udp 2122260223 10.0.0.9 4000 typ host\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=mid:d\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
             a=fingerprint:sha-256 {FP}\r\na=setup:actpass\r\na=sctp-port:5002\r\n\
             a=max-message-size:1000\r\n"
        );
        let mut c = core();
        c.set_remote_description(SessionDescription::new(SdpType::Offer, offer))
            .unwrap();
        let n = c.negotiated(Cause::RemoteApplied(SdpType::Offer));
        let ice = n.ice.as_ref().unwrap();
        assert_eq!(ice.local, None, "no local description yet");
        assert_eq!(ice.remote.as_ref().unwrap().ufrag, "abcd");
        assert!(ice.remote_is_offer);
        assert_eq!(ice.remote_candidates.len(), 1);
        assert!(!ice.remote_end_of_candidates);
        assert_eq!(
            ice.remote_tag,
            Some(Tag {
                mid: Some("a0".into()),
                index: 0
            })
        );
        assert_eq!(n.dtls, None, "no answer yet");
        assert_eq!(n.media.len(), 1);
        let m = &n.media[0];
        assert_eq!(m.mid, "a0");
        assert_eq!(m.kind, MediaKind::Audio);
        assert_eq!(m.remote_ssrcs, [7, 42]);
        assert_eq!(m.rids, ["r1"]);
        assert_eq!(m.codecs.first().map(|c| c.payload_type), Some(111));
        assert_eq!(m.header_extensions.first().map(|e| e.id), Some(1));

        c.set_local_description(None).unwrap();
        let n = c.negotiated(Cause::LocalApplied(SdpType::Answer));
        let ice = n.ice.as_ref().unwrap();
        let ours = ice_credentials(&c.current_local.as_ref().unwrap().sdp);
        assert_eq!(ice.local, ours);
        assert!(ice.local.is_some() && !ice.local_is_offer);
        let dtls = n.dtls.as_ref().unwrap();
        assert_eq!(
            dtls.role,
            DtlsRole::Client,
            "we answered actpass with active"
        );
        assert_eq!(dtls.remote_fingerprints[0].value, FP.to_ascii_lowercase());
        let sctp = n.sctp.as_ref().unwrap();
        assert_eq!(sctp.mid.as_deref(), Some("d"));
        assert_eq!((sctp.local_port, sctp.remote_port), (5000, 5002));
        assert_eq!(sctp.max_message_size, 1000.0);
        let m = &n.media[0];
        assert!(m.direction.is_some());
        assert_eq!(
            m.codecs.first().map(|c| c.payload_type),
            Some(111),
            "from our answer"
        );
        assert!(!m.cname.is_empty());
    }

    /// An offer of `n` audio sections and a data section, none bundled (a peer under
    /// `bundlePolicy: "max-compat"` with BUNDLE stripped, or one that never bundles): each
    /// section has its own credentials, setup and candidate.
    fn unbundled_offer(n: usize, group: &str) -> String {
        let mut sdp = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{group}");
        for i in 0..n {
            sdp += &format!(
                "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a{i}\r\n\
                 a=ice-ufrag:ufr{i}\r\na=ice-pwd:passwordpasswordpassword{i}\r\n\
                 a=fingerprint:sha-256 {FP}\r\na=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\n\
                 a=rtpmap:111 opus/48000/2\r\n\
                 a=candidate:1 1 udp 2122260223 10.0.0.9 {} typ host\r\n",
                4000 + i
            );
        }
        sdp += &format!(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=mid:d\r\na=ice-ufrag:ufrd\r\na=ice-pwd:passwordpasswordpasswordd\r\n\
             a=fingerprint:sha-256 {FP}\r\na=setup:actpass\r\na=sctp-port:5000\r\n\
             a=candidate:1 1 udp 2122260223 10.0.0.9 3999 typ host\r\n"
        );
        sdp
    }

    #[test]
    fn transports_are_bundle_groups_then_unbundled_sections_the_data_one_first() {
        // No BUNDLE: one transport per live section, the data section's first (SCTP runs on
        // the primary transport).
        let sdp = Sdp::parse(&unbundled_offer(2, "")).unwrap();
        assert_eq!(transport_sections(&sdp), vec![vec![2], vec![0], vec![1]]);
        assert_eq!(tag_section(&sdp), Some(2));
        assert_eq!(ice_credentials(&sdp).unwrap().ufrag, "ufrd");
        // One group of everything: one transport, its tag first.
        let sdp = Sdp::parse(&unbundled_offer(2, "a=group:BUNDLE a1 a0 d\r\n")).unwrap();
        assert_eq!(transport_sections(&sdp), vec![vec![1, 0, 2]]);
        // A group, and a section outside it on its own; a rejected one has none.
        let mut sdp = Sdp::parse(&unbundled_offer(3, "a=group:BUNDLE a0 d\r\n")).unwrap();
        sdp.media[2].port = 0;
        assert_eq!(transport_sections(&sdp), vec![vec![0, 3], vec![1]]);
        // The rule of the tests above (BUNDLE tag first) is unchanged.
        let sdp = two_transports();
        assert_eq!(transport_sections(&sdp), vec![vec![1], vec![0]]);
    }

    #[test]
    fn answer_to_an_unbundled_offer_has_a_transport_per_section_with_its_own_credentials() {
        let mut c = core();
        c.set_remote_description(SessionDescription::new(
            SdpType::Offer,
            unbundled_offer(2, ""),
        ))
        .unwrap();
        let n = c.negotiated(Cause::RemoteApplied(SdpType::Offer));
        assert_eq!(n.transports.len(), 3);
        assert!(n.transports.iter().all(|t| t.ice.local.is_none()));
        assert_eq!(n.transports[1].ice.remote.as_ref().unwrap().ufrag, "ufr0");
        let answer = c.create_answer().unwrap();
        let sdp = Sdp::parse(&answer.sdp).unwrap();
        assert_eq!(sdp.bundle_groups().count(), 0, "no BUNDLE in the answer");
        let mut ufrags: Vec<String> = sdp
            .media
            .iter()
            .map(|m| m.ice_ufrag().unwrap().to_string())
            .collect();
        ufrags.sort();
        ufrags.dedup();
        assert_eq!(ufrags.len(), 3, "credentials per transport: {}", answer.sdp);
        c.set_local_description(None).unwrap();
        let n = c.negotiated(Cause::LocalApplied(SdpType::Answer));
        let ids: Vec<&str> = n.transports.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["d", "a0", "a1"]);
        assert_eq!(n.ice.as_ref(), Some(&n.transports[0].ice), "the primary is `ice`");
        for (t, i) in n.transports.iter().zip([2usize, 0, 1]) {
            assert_eq!(t.mids, std::slice::from_ref(&t.id));
            let local = t.ice.local.as_ref().unwrap();
            assert_eq!(local.ufrag, sdp.media[i].ice_ufrag().unwrap());
            let remote = t.ice.remote.as_ref().unwrap();
            let want = if i == 2 { "ufrd".to_string() } else { format!("ufr{i}") };
            assert_eq!(remote.ufrag, want);
            assert_eq!(t.ice.remote_candidates.len(), 1);
            assert_eq!(t.ice.local_tag.as_ref().unwrap().index, i as u16);
            let dtls = t.dtls.as_ref().unwrap();
            assert_eq!(dtls.role, DtlsRole::Client, "we answered actpass with active");
            assert_eq!(dtls.remote_fingerprints[0].value, FP.to_ascii_lowercase());
        }
        // A gathered candidate goes into its own transport's section, with its mid.
        let a1 = n.transports[2].ice.local.clone().unwrap();
        let cand = Candidate::parse("candidate:7 1 udp 2122260223 10.0.0.1 5000 typ host").unwrap();
        let init = c.add_local_candidate(&a1.ufrag, Some(&cand));
        assert_eq!((init.sdp_mid.as_deref(), init.sdp_m_line_index), (Some("a1"), Some(1)));
        let init = c.add_local_candidate(&a1.ufrag, None);
        assert_eq!(init.sdp_mid.as_deref(), Some("a1"));
        let local = &c.current_local.as_ref().unwrap().sdp;
        let has = |i: usize| local.media[i].attributes.iter().any(|a| matches!(a, A::Candidate(_)));
        assert!(has(1) && !has(0) && !has(2), "only in a1's section");
        assert!(local.media[1].has(&A::EndOfCandidates));
        // A re-offer that restarts a0 alone: a0's answer credentials change, a1's stay.
        let mut offer2 = unbundled_offer(2, "").replace("ufr0", "new0");
        offer2 = offer2.replace("o=- 1 1", "o=- 1 2");
        c.set_remote_description(SessionDescription::new(SdpType::Offer, offer2))
            .unwrap();
        c.set_local_description(None).unwrap();
        let n2 = c.negotiated(Cause::LocalApplied(SdpType::Answer));
        assert_eq!(n2.transports[0].ice.local, n.transports[0].ice.local);
        assert_ne!(n2.transports[1].ice.local, n.transports[1].ice.local, "a0 restarted");
        assert_eq!(n2.transports[2].ice.local, n.transports[2].ice.local);
    }

    #[test]
    fn an_offer_needing_more_than_max_transports_is_refused() {
        let mut c = core();
        let err = c
            .set_remote_description(SessionDescription::new(
                SdpType::Offer,
                unbundled_offer(MAX_TRANSPORTS, ""),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("transports"), "{err}");
        // The same sections bundled are one transport.
        let mids: Vec<String> = (0..MAX_TRANSPORTS).map(|i| format!("a{i}")).collect();
        let group = format!("a=group:BUNDLE {} d\r\n", mids.join(" "));
        c.set_remote_description(SessionDescription::new(
            SdpType::Offer,
            unbundled_offer(MAX_TRANSPORTS, &group),
        ))
        .unwrap();
    }
}
