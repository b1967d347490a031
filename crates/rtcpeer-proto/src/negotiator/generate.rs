//! createOffer / createAnswer: building the SDP (RFC 9429 §5.2 and §5.3).

use std::collections::HashSet;

use crate::codecs::{self, MediaKind, RtpCodecParameters};
use crate::error::{Error, Result};
use crate::sdp::{Attribute as A, Connection, Media, Origin, Sdp, Setup};

use super::types::{
    OfferOptions, RtpTransceiverDirection, SdpType, SessionDescription, SignalingState,
};
use crate::connection::{IceCredentials, Negotiator, OfferPlan, Slot, SlotOwner, Transceiver};
use crate::negotiator::negotiated::ice_credentials;

const RTP_PROTO: &str = "UDP/TLS/RTP/SAVPF";
const DATA_PROTO: &str = "UDP/DTLS/SCTP";
const DATA_FORMAT: &str = "webrtc-datachannel";

/// Streams announced in a legacy `a=sctpmap` line: what our SCTP offers in INIT
/// (`sctp::Config::num_streams`).
const LEGACY_SCTPMAP_STREAMS: u16 = 65535;

/// How a data m-section is written: its `m=` proto, and whether in the legacy form of
/// draft-ietf-mmusic-sctp-sdp-05 (`DTLS/SCTP <port>` with `a=sctpmap`) or RFC 8841's.
struct DataFormat<'a> {
    proto: &'a str,
    legacy: bool,
}

impl<'a> DataFormat<'a> {
    /// The form of a remote (offered) data section, answered in kind (RFC 9429 §5.3.1: the
    /// answer's proto is the offer's; RFC 8841 and the draft it replaces differ in form).
    fn like(m: &'a Media) -> Self {
        DataFormat {
            proto: &m.proto,
            legacy: m.is_legacy_sctp(),
        }
    }

    /// The form kept for a negotiated slot in a subsequent offer.
    fn of_slot(slot: &'a Slot) -> Self {
        let legacy = slot
            .formats
            .first()
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
        DataFormat {
            proto: &slot.proto,
            legacy,
        }
    }
}

/// The RTP proto of a slot in a subsequent offer: the negotiated one (an offer of `RTP/SAVPF`
/// was answered with it and keeps it), else `UDP/TLS/RTP/SAVPF`.
fn rtp_proto(slot: &Slot) -> &str {
    if slot.proto.to_ascii_uppercase().contains("RTP") {
        &slot.proto
    } else {
        RTP_PROTO
    }
}

/// Transport attributes shared by every live m-section of one description.
struct Transport<'a> {
    ice: &'a IceCredentials,
    fingerprint: &'a [(String, String)],
    setup: Setup,
}

impl Negotiator {
    /// `createOffer(options)` (webrtc-pc §4.4.1.3, RFC 9429 §5.2).
    pub fn create_offer(&mut self, options: &OfferOptions) -> Result<SessionDescription> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if !matches!(
            self.signaling_state,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(Error::invalid_state(format!(
                "cannot create an offer in state {}",
                self.signaling_state
            )));
        }
        self.apply_legacy_offer_to_receive(MediaKind::Audio, options.offer_to_receive_audio);
        self.apply_legacy_offer_to_receive(MediaKind::Video, options.offer_to_receive_video);

        // Once an answer accepted BUNDLE, later offers keep every bundled section on the
        // BUNDLE transport (RFC 9429 §5.2.2, RFC 8843 §7.3): its credentials are those of
        // our section of the answer's tag in the newest local description (a pending
        // re-offer's, which may already carry a restart's new ones).
        let accepted = self.accepted_bundle_tag();
        let bundled = accepted.as_deref().and_then(|mid| {
            let d = self.pending_local.as_ref().or(self.current_local.as_ref())?;
            let i = d.sdp.media.iter().position(|m| m.mid() == Some(mid))?;
            crate::negotiator::negotiated::section_credentials(&d.sdp, i)
        });
        let current = bundled.or_else(|| self.local_credentials());
        // A pending restartIce() is done once the newest local description has credentials
        // outside `[[LocalIceCredentialsToReplace]]` (a re-offer in have-local-offer keeps
        // them, RFC 9429 §5.2.3.1).
        let restart = options.ice_restart
            || current
                .as_ref()
                .is_some_and(|c| self.ice_to_replace.contains(&c.ufrag));
        let ice = match (restart, current) {
            (false, Some(c)) => c,
            _ => self.fresh_credentials(),
        };
        let fingerprint = self.fingerprint();
        let transport = Transport {
            ice: &ice,
            fingerprint: &fingerprint,
            setup: Setup::ActPass,
        };

        // m-line positions never move (RFC 9429 §5.2.2); new transceivers recycle vacant
        // slots or are appended in creation order, then the data section.
        let mut slots = self.slots.clone();
        let mut taken: HashSet<String> = HashSet::new();
        let placed: HashSet<_> = slots
            .iter()
            .filter_map(|s| match s.owner {
                SlotOwner::Transceiver(id) => Some(id),
                _ => None,
            })
            .collect();
        let new_ones: Vec<_> = self
            .transceivers
            .iter()
            .filter(|t| t.is_active() && !placed.contains(&t.id))
            .map(|t| (t.id, t.kind))
            .collect();
        for (id, kind) in new_ones {
            let mid = self.allocate_mid(&taken);
            taken.insert(mid.clone());
            let slot = Slot {
                mid: Some(mid),
                owner: SlotOwner::Transceiver(id),
                kind: kind.to_string(),
                proto: RTP_PROTO.into(),
                formats: Vec::new(),
            };
            match slots.iter().position(|s| s.owner == SlotOwner::Vacant) {
                Some(i) => slots[i] = slot,
                None => slots.push(slot),
            }
        }
        if self.data_requested && !slots.iter().any(|s| s.owner == SlotOwner::Data) {
            let mid = self.allocate_mid(&taken);
            slots.push(Slot {
                mid: Some(mid),
                owner: SlotOwner::Data,
                kind: "application".into(),
                proto: DATA_PROTO.into(),
                formats: vec![DATA_FORMAT.into()],
            });
        }

        let mut media_sections = Vec::with_capacity(slots.len());
        for slot in &mut slots {
            let m = match &slot.owner {
                SlotOwner::Transceiver(id) => {
                    let t = self.transceiver(*id).expect("slots name live transceivers");
                    if t.is_active() {
                        let codecs = self.local_codecs(t);
                        let exts = codecs::default_header_extensions(t.kind);
                        let m = self.rtp_section(
                            t,
                            slot.mid.as_deref(),
                            rtp_proto(slot),
                            t.direction,
                            &codecs,
                            &exts,
                            &transport,
                        );
                        slot.formats = m.formats.clone();
                        m
                    } else {
                        rejected_section(slot)
                    }
                }
                SlotOwner::Data => {
                    self.data_section(slot.mid.as_deref(), &DataFormat::of_slot(slot), &transport)
                }
                SlotOwner::Vacant => rejected_section(slot),
            };
            media_sections.push(m);
        }
        let mut bundle: Vec<String> = media_sections
            .iter()
            .filter(|m| m.port != 0)
            .filter_map(|m| m.mid().map(str::to_string))
            .collect();
        // A subsequent offer keeps the section the answer selected as the BUNDLE tag first
        // in the group (RFC 8843 §7.3.1: the offerer-tagged m= section stays the same).
        if let Some(tag) = accepted.as_deref()
            && let Some(i) = bundle.iter().position(|m| m == tag)
        {
            let tag = bundle.remove(i);
            bundle.insert(0, tag);
        }
        let policy = self.config.bundle_policy;
        if policy != crate::config::BundlePolicy::MaxBundle && accepted.is_none() {
            // The data section is the BUNDLE tag we suggest (RFC 8843 §7.2.1): the transport
            // that carries SCTP is the one that stays when the answer accepts BUNDLE.
            let data = slots
                .iter()
                .zip(&media_sections)
                .position(|(s, m)| s.owner == SlotOwner::Data && m.port != 0)
                .and_then(|i| media_sections[i].mid().map(str::to_string));
            if let Some(d) = data
                && let Some(i) = bundle.iter().position(|m| *m == d)
            {
                let d = bundle.remove(i);
                bundle.insert(0, d);
            }
            Self::policy_credentials(&mut media_sections, &bundle, policy, |key| {
                self.offer_transport_credentials(key, restart, &ice)
            });
        }
        let mut sdp = self.session(media_sections, bundle);
        self.carry_local_candidates(&mut sdp);
        let text = sdp.to_string();
        self.last_offer = Some(OfferPlan {
            text: text.clone(),
            slots,
            options: options.clone(),
        });
        Ok(SessionDescription::new(SdpType::Offer, text))
    }

    /// `createAnswer()` (webrtc-pc §4.4.1.4, RFC 9429 §5.3).
    pub fn create_answer(&mut self) -> Result<SessionDescription> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if !matches!(
            self.signaling_state,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(Error::invalid_state(format!(
                "cannot create an answer in state {}",
                self.signaling_state
            )));
        }
        let offer = self
            .pending_remote
            .as_ref()
            .ok_or_else(|| Error::invalid_state("no remote offer"))?
            .sdp
            .clone();

        // A remote ICE restart (new ufrag) makes the answer restart too (RFC 8445 §9).
        let remote_restart = match (&self.current_remote, ice_credentials(&offer)) {
            (Some(cur), Some(new)) => {
                ice_credentials(&cur.sdp).is_some_and(|c| c.ufrag != new.ufrag)
            }
            _ => false,
        };
        let current_local_ice = self
            .current_local
            .as_ref()
            .and_then(|d| ice_credentials(&d.sdp));
        let ice = match (remote_restart, current_local_ice) {
            (false, Some(c)) => c,
            _ => self.fresh_credentials(),
        };
        let fingerprint = self.fingerprint();

        let offer_bundle: Option<Vec<String>> = offer.bundle_groups().next().map(|g| g.to_vec());
        let max_bundle = self.config.bundle_policy == crate::config::BundlePolicy::MaxBundle;
        let mut media_sections = Vec::with_capacity(offer.media.len());
        for (i, om) in offer.media.iter().enumerate() {
            let slot = self.slots.get(i).cloned();
            // An answer keeps this side's established DTLS role: reversing it needs a new
            // DTLS association (RFC 5763 §6.6 as updated by RFC 8842), and Chromium rejects
            // such an answer. Otherwise "active" is RECOMMENDED (RFC 5763 §5).
            let setup = match (om.setup(), self.dtls_role) {
                (Some(Setup::Active), _) => Setup::Passive,
                (Some(Setup::Passive), _) => Setup::Active,
                (_, Some(crate::connection::DtlsRole::Server)) => Setup::Passive,
                _ => Setup::Active,
            };
            let transport = Transport {
                ice: &ice,
                fingerprint: &fingerprint,
                setup,
            };
            // max-bundle: only the bundled (or, without BUNDLE, the first) m-section survives.
            let outside_bundle = max_bundle
                && match (&offer_bundle, om.mid()) {
                    (Some(group), Some(mid)) => !group.iter().any(|g| g == mid),
                    (Some(_), None) => true,
                    (None, _) => i > 0,
                };
            let reject = |om: &Media| rejected_answer(om);
            if om.is_rejected() || outside_bundle {
                media_sections.push(reject(om));
                continue;
            }
            let m = match slot.as_ref().map(|s| &s.owner) {
                Some(SlotOwner::Data) if om.proto.to_ascii_uppercase().contains("SCTP") => {
                    self.data_section(om.mid(), &DataFormat::like(om), &transport)
                }
                Some(SlotOwner::Transceiver(id)) => {
                    let t = self.transceiver(*id).expect("slots name live transceivers");
                    if t.stopped {
                        reject(om)
                    } else {
                        let local = self.local_codecs(t);
                        let codecs = codecs::negotiate_answer_codecs(
                            &local,
                            &t.remote_codecs,
                            !t.codec_preferences.is_empty(),
                        );
                        if codecs.is_empty() {
                            reject(om)
                        } else {
                            let exts = codecs::negotiate_header_extensions(
                                &codecs::default_header_extensions(t.kind),
                                &t.remote_extensions,
                            );
                            let offered = om
                                .direction()
                                .map(RtpTransceiverDirection::from_sdp)
                                .unwrap_or(RtpTransceiverDirection::SendRecv);
                            let dir = answer_direction(t.direction, offered, t.stopping);
                            // RFC 9429 §5.3.1: the answer's proto is the offer's.
                            let mut m = self.rtp_section(
                                t,
                                om.mid(),
                                &om.proto,
                                dir,
                                &codecs,
                                &exts,
                                &transport,
                            );
                            // RFC 5761 §5.1.1, RFC 9429 §5.3.1: a=rtcp-mux only when the
                            // offer has it ("require" refused an offer without it).
                            if !om.has(&A::RtcpMux) {
                                m.attributes.retain(|a| *a != A::RtcpMux);
                            }
                            if dir.receives() {
                                super::simulcast::answer_receive(&mut m, om);
                            }
                            m
                        }
                    }
                }
                _ => reject(om),
            };
            media_sections.push(m);
        }
        let bundle: Vec<String> = match &offer_bundle {
            Some(group) => group
                .iter()
                .filter(|mid| {
                    media_sections
                        .iter()
                        .any(|m| m.port != 0 && m.mid() == Some(mid.as_str()))
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let mut sdp = self.session(media_sections, bundle);
        self.unbundled_credentials(&mut sdp, &offer);
        self.carry_local_candidates(&mut sdp);
        let text = sdp.to_string();
        self.last_answer = Some(text.clone());
        Ok(SessionDescription::new(SdpType::Answer, text))
    }

    /// The tag mid of the BUNDLE group the current answer accepted, if any.
    fn accepted_bundle_tag(&self) -> Option<String> {
        let answer = [&self.current_local, &self.current_remote]
            .into_iter()
            .flatten()
            .find(|d| matches!(d.typ, SdpType::Answer | SdpType::Pranswer))?;
        let t = crate::negotiator::negotiated::transport_sections(&answer.sdp);
        let group = answer.sdp.bundle_groups().next()?;
        let tag = t.into_iter().find(|t| {
            t.iter()
                .any(|&i| answer.sdp.media[i].mid().is_some_and(|m| group.iter().any(|g| g == m)))
        })?;
        answer.sdp.media.get(*tag.first()?)?.mid().map(str::to_string)
    }

    /// Under `bundlePolicy` "balanced" (one transport per media kind) or "max-compat" (one
    /// per m-section), every live section outside the suggested tag's transport gets the
    /// credentials `creds` gives for its transport key (RFC 9429 §4.1.1, §5.2.1: candidates
    /// are gathered per transport until the answer accepts BUNDLE).
    fn policy_credentials(
        sections: &mut [Media],
        bundle: &[String],
        policy: crate::config::BundlePolicy,
        mut creds: impl FnMut(&str) -> IceCredentials,
    ) {
        let key = |m: &Media| match policy {
            crate::config::BundlePolicy::Balanced => m.kind.clone(),
            _ => m.mid().unwrap_or_default().to_string(),
        };
        let Some(tag) = bundle
            .first()
            .and_then(|t| sections.iter().find(|m| m.mid() == Some(t.as_str())))
            .map(key)
        else {
            return;
        };
        for m in sections.iter_mut().filter(|m| m.port != 0) {
            let k = key(m);
            if k == tag {
                continue;
            }
            let c = creds(&k);
            for a in &mut m.attributes {
                match a {
                    A::IceUfrag(u) => *u = c.ufrag.clone(),
                    A::IcePwd(p) => *p = c.pwd.clone(),
                    _ => {}
                }
            }
        }
    }

    /// The credentials of transport `key` (a mid or a media kind) in our offer: those of
    /// the last offer while ICE does not restart, else new ones, kept for the next offers.
    fn offer_transport_credentials(
        &mut self,
        key: &str,
        restart: bool,
        primary: &IceCredentials,
    ) -> IceCredentials {
        let tag = format!("offer:{key}");
        if !restart {
            // The credentials the applied local description gave this transport.
            let applied = [&self.pending_local, &self.current_local]
                .into_iter()
                .flatten()
                .find_map(|d| {
                    let i = d.sdp.media.iter().position(|m| {
                        m.port != 0 && (m.mid() == Some(key) || m.kind == key)
                    })?;
                    crate::negotiator::negotiated::section_credentials(&d.sdp, i)
                        .filter(|c| c.ufrag != primary.ufrag)
                });
            if let Some(c) = applied {
                return c;
            }
        }
        if let Some((_, p, c)) = self.transport_creds.iter().find(|(k, _, _)| *k == tag)
            && (!restart || *p == primary.ufrag)
        {
            return c.clone();
        }
        let c = self.new_credentials();
        self.transport_creds.retain(|(k, _, _)| *k != tag);
        if self.transport_creds.len() < 2 * crate::negotiator::negotiated::MAX_TRANSPORTS {
            self.transport_creds
                .push((tag, primary.ufrag.clone(), c.clone()));
        }
        c
    }

    /// Gives every transport of answer `sdp` but the primary one credentials of its own
    /// (RFC 8843 §7, RFC 9429 §5.3.1: a section the offer did not bundle is a transport of
    /// its own), so STUN finds its ICE agent by USERNAME. A transport keeps the credentials
    /// of the current answer unless the offer restarted it (a new ufrag in its section).
    fn unbundled_credentials(&mut self, sdp: &mut Sdp, offer: &Sdp) {
        use crate::negotiator::negotiated::{section_credentials, transport_sections};
        let section = |d: &Sdp, mid: &str| d.media.iter().position(|m| m.mid() == Some(mid));
        let mut made = Vec::new();
        for t in transport_sections(sdp).into_iter().skip(1) {
            let Some(mid) = t.first().and_then(|&i| sdp.media[i].mid()).map(str::to_string)
            else {
                continue;
            };
            let kept = match (&self.current_local, &self.current_remote) {
                (Some(l), Some(r)) => {
                    let restarted = section_credentials(&r.sdp, section(&r.sdp, &mid).unwrap_or(usize::MAX))
                        .map(|c| c.ufrag)
                        != section(offer, &mid)
                            .and_then(|i| section_credentials(offer, i))
                            .map(|c| c.ufrag);
                    let ours = section(&l.sdp, &mid).and_then(|i| section_credentials(&l.sdp, i));
                    let primary = crate::negotiator::negotiated::ice_credentials(&l.sdp);
                    ours.filter(|c| !restarted && Some(c) != primary.as_ref())
                }
                _ => None,
            };
            let remote_ufrag = section(offer, &mid)
                .and_then(|i| section_credentials(offer, i))
                .map(|c| c.ufrag)
                .unwrap_or_default();
            let creds = match kept {
                Some(c) => c,
                None => {
                    let earlier = self
                        .transport_creds
                        .iter()
                        .find(|(m, r, _)| *m == mid && *r == remote_ufrag)
                        .map(|(_, _, c)| c.clone());
                    let c = earlier.unwrap_or_else(|| self.new_credentials());
                    made.push((mid.clone(), remote_ufrag, c.clone()));
                    c
                }
            };
            for &i in &t {
                for a in &mut sdp.media[i].attributes {
                    match a {
                        A::IceUfrag(u) => *u = creds.ufrag.clone(),
                        A::IcePwd(p) => *p = creds.pwd.clone(),
                        _ => {}
                    }
                }
            }
        }
        self.transport_creds = made;
    }

    /// Legacy `offerToReceiveAudio/Video` (webrtc-pc §11.4.1).
    fn apply_legacy_offer_to_receive(&mut self, kind: MediaKind, value: Option<bool>) {
        match value {
            Some(true) => {
                let can_receive = self
                    .transceivers
                    .iter()
                    .any(|t| t.kind == kind && t.is_active() && t.direction.receives());
                if !can_receive {
                    let existing = self
                        .transceivers
                        .iter_mut()
                        .find(|t| t.kind == kind && t.is_active());
                    let upgraded = match existing {
                        Some(t) => {
                            t.direction =
                                RtpTransceiverDirection::from_bits(t.direction.sends(), true);
                            true
                        }
                        None => false,
                    };
                    if !upgraded {
                        self.new_transceiver(
                            kind,
                            RtpTransceiverDirection::RecvOnly,
                            None,
                            Vec::new(),
                        );
                    }
                }
            }
            Some(false) => {
                for t in self
                    .transceivers
                    .iter_mut()
                    .filter(|t| t.kind == kind && t.is_active())
                {
                    t.direction = RtpTransceiverDirection::from_bits(t.direction.sends(), false);
                }
            }
            None => {}
        }
    }

    /// The fingerprints as written in SDP (RFC 8122 §5: uppercase hex pairs): the DTLS
    /// certificate's first, then every other configured certificate's (RFC 8122 §5 allows
    /// several `a=fingerprint` lines; webrtc-pc §4.4.1.1 `certificates`).
    fn fingerprint(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let others = self
            .config
            .certificates
            .iter()
            .filter(|c| **c != self.certificate);
        for cert in std::iter::once(&self.certificate).chain(others) {
            for fp in cert.get_fingerprints() {
                let entry = (fp.algorithm, fp.value.to_ascii_uppercase());
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        out
    }

    /// Every local certificate fingerprint, as `a=fingerprint` lists them (what an identity
    /// assertion's `contents` bind, webrtc-identity §5.5).
    pub fn local_fingerprints(&self) -> Vec<crate::cert::DtlsFingerprint> {
        self.fingerprint()
            .into_iter()
            .map(|(algorithm, value)| crate::cert::DtlsFingerprint { algorithm, value })
            .collect()
    }

    /// Sets (or with `None` drops) the `a=identity` value our next offers and answers carry
    /// at session level (webrtc-identity §6, RFC 8827 §7.4); the API layer gets it from the
    /// identity provider. Not base64 → `SyntaxError`.
    pub fn set_local_identity(&mut self, value: Option<String>) -> Result<()> {
        if let Some(v) = &value {
            if !crate::sdp::identity::is_base64(v) {
                return Err(Error::syntax("an a=identity value must be base64"));
            }
        }
        self.local_identity = value;
        Ok(())
    }

    /// The codecs this side offers for a transceiver (codec preferences applied).
    fn local_codecs(&self, t: &Transceiver) -> Vec<RtpCodecParameters> {
        codecs::apply_codec_preferences(t.kind, &t.codec_preferences)
    }

    fn session(&mut self, media: Vec<Media>, bundle: Vec<String>) -> Sdp {
        self.session_version += 1;
        let mut attributes = Vec::new();
        if !bundle.is_empty() {
            attributes.push(A::Group {
                semantics: "BUNDLE".into(),
                mids: bundle,
            });
        }
        if let Some(assertion) = &self.local_identity {
            attributes.push(A::Identity {
                assertion: assertion.clone(),
                extensions: None,
            });
        }
        attributes.push(A::ExtmapAllowMixed);
        attributes.push(A::Other {
            name: "msid-semantic".into(),
            value: Some(" WMS".into()),
        });
        Sdp {
            origin: Origin {
                username: "-".into(),
                session_id: self.session_id,
                session_version: self.session_version,
                net_type: "IN".into(),
                addr_type: "IP4".into(),
                address: "127.0.0.1".into(),
            },
            session_name: "-".into(),
            extra_lines: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![(0, 0)],
            attributes,
            media,
        }
    }

    fn transport_attrs(attrs: &mut Vec<A>, t: &Transport<'_>) {
        attrs.push(A::IceUfrag(t.ice.ufrag.clone()));
        attrs.push(A::IcePwd(t.ice.pwd.clone()));
        attrs.push(A::IceOptions(vec!["trickle".into()]));
        for (algorithm, value) in t.fingerprint {
            attrs.push(A::Fingerprint {
                algorithm: algorithm.clone(),
                value: value.clone(),
            });
        }
        attrs.push(A::Setup(t.setup));
    }

    #[allow(clippy::too_many_arguments)]
    fn rtp_section(
        &self,
        t: &Transceiver,
        mid: Option<&str>,
        proto: &str,
        direction: RtpTransceiverDirection,
        codecs: &[RtpCodecParameters],
        exts: &[codecs::RtpHeaderExtensionParameters],
        transport: &Transport<'_>,
    ) -> Media {
        let mut m = Media {
            kind: t.kind.to_string(),
            port: 9,
            num_ports: None,
            proto: proto.into(),
            formats: Vec::new(),
            extra_lines: Vec::new(),
            connection: Some(any_address()),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
        };
        // RFC 3605 §2.1 with JSEP's dummy address (RFC 9429 §5.2.1): our m= line stays at
        // port 9 too, candidates being trickled (RFC 8840 §4.1.1).
        m.attributes.push(A::Rtcp {
            port: 9,
            connection: Some(any_address()),
        });
        Self::transport_attrs(&mut m.attributes, transport);
        if let Some(mid) = mid {
            m.attributes.push(A::Mid(mid.to_string()));
        }
        codecs::write_extmaps(&mut m, exts);
        m.attributes.push(A::Direction(direction.to_sdp()));
        let sends = direction.sends();
        let track_id = t
            .sender
            .as_ref()
            .map(|tr| tr.id.clone())
            .unwrap_or_else(|| t.sender_msid_track.clone());
        let stream_ids: Vec<String> = if t.sender_stream_ids.is_empty() {
            vec!["-".into()]
        } else {
            t.sender_stream_ids.clone()
        };
        if sends {
            for s in &stream_ids {
                m.attributes.push(A::Msid {
                    stream: s.clone(),
                    track: Some(track_id.clone()),
                });
            }
        }
        m.attributes.push(A::RtcpMux);
        m.attributes.push(A::RtcpRsize);
        codecs::write_codecs(&mut m, codecs);
        if sends {
            let has_rtx = t.kind == MediaKind::Video
                && codecs
                    .iter()
                    .any(|c| c.mime_type.eq_ignore_ascii_case("video/rtx"));
            let mut ssrcs = vec![t.ssrc];
            if has_rtx {
                ssrcs.push(t.rtx_ssrc);
                m.attributes.push(A::SsrcGroup {
                    semantics: "FID".into(),
                    ssrcs: ssrcs.clone(),
                });
            }
            for ssrc in ssrcs {
                m.attributes.push(A::Ssrc {
                    ssrc,
                    attribute: "cname".into(),
                    value: Some(self.cname.clone()),
                });
                m.attributes.push(A::Ssrc {
                    ssrc,
                    attribute: "msid".into(),
                    value: Some(format!("{} {}", stream_ids[0], track_id)),
                });
            }
        }
        m
    }

    /// The data m-section (RFC 8841 §5-6). In the legacy form (an offer in
    /// draft-ietf-mmusic-sctp-sdp-05's form is answered in kind, as Chromium and Firefox did,
    /// since such a peer cannot read `a=sctp-port`) our SCTP port is the format and the
    /// `a=sctpmap` number, the streams field is what our INIT offers, and the maximum message
    /// size is `a=max-message-size` as browsers wrote it alongside `a=sctpmap` (the draft
    /// itself has no way to express it).
    fn data_section(
        &self,
        mid: Option<&str>,
        format: &DataFormat<'_>,
        transport: &Transport<'_>,
    ) -> Media {
        let port = self.settings.sctp_port;
        let mut m = Media {
            kind: "application".into(),
            port: 9,
            num_ports: None,
            proto: format.proto.into(),
            formats: vec![if format.legacy {
                port.to_string()
            } else {
                DATA_FORMAT.into()
            }],
            extra_lines: Vec::new(),
            connection: Some(any_address()),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
        };
        Self::transport_attrs(&mut m.attributes, transport);
        if let Some(mid) = mid {
            m.attributes.push(A::Mid(mid.to_string()));
        }
        if format.legacy {
            m.attributes.push(A::Other {
                name: "sctpmap".into(),
                value: Some(format!("{port} {DATA_FORMAT} {LEGACY_SCTPMAP_STREAMS}")),
            });
        } else {
            m.attributes.push(A::SctpPort(port));
        }
        m.attributes
            .push(A::MaxMessageSize(self.settings.max_message_size));
        m
    }
}

/// The answer's direction: what this side wants, limited by what the offer allows
/// (RFC 9429 §5.3.1); a stopping transceiver answers inactive (webrtc-pc §5.4 stop()).
pub(crate) fn answer_direction(
    local: RtpTransceiverDirection,
    offered: RtpTransceiverDirection,
    stopping: bool,
) -> RtpTransceiverDirection {
    if stopping {
        return RtpTransceiverDirection::Inactive;
    }
    RtpTransceiverDirection::from_bits(
        local.sends() && offered.receives(),
        local.receives() && offered.sends(),
    )
}

fn any_address() -> Connection {
    Connection {
        net_type: "IN".into(),
        addr_type: "IP4".into(),
        address: "0.0.0.0".into(),
    }
}

/// A rejected m-section for a slot (RFC 9429 §5.2.2: port 0, mid kept).
fn rejected_section(slot: &Slot) -> Media {
    let formats = if slot.formats.is_empty() {
        if slot.proto.to_ascii_uppercase().contains("SCTP") {
            vec![DATA_FORMAT.to_string()]
        } else {
            vec!["0".to_string()]
        }
    } else {
        slot.formats.clone()
    };
    let mut m = Media {
        kind: slot.kind.clone(),
        port: 0,
        num_ports: None,
        proto: slot.proto.clone(),
        formats,
        extra_lines: Vec::new(),
        connection: Some(any_address()),
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    };
    if let Some(mid) = &slot.mid {
        m.attributes.push(A::Mid(mid.clone()));
    }
    m.attributes
        .push(A::Direction(crate::sdp::Direction::Inactive));
    m
}

/// A rejected answer m-section mirroring the offer's (RFC 9429 §5.3.1).
fn rejected_answer(om: &Media) -> Media {
    let slot = Slot {
        mid: om.mid().map(str::to_string),
        owner: SlotOwner::Vacant,
        kind: om.kind.clone(),
        proto: om.proto.clone(),
        formats: om.formats.iter().take(1).cloned().collect(),
    };
    rejected_section(&slot)
}
