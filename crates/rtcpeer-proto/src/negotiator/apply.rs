//! setLocalDescription / setRemoteDescription / rollback (webrtc-pc §4.4.1.5–6,
//! RFC 9429 §5.7–5.10).

use std::collections::HashSet;

use crate::codecs::{self, MediaKind};
use crate::error::{Error, ErrorDetail, Result};
use crate::sdp::{Attribute as A, Media, Sdp, Setup};

use super::types::{RtpTransceiverDirection, SdpType, SessionDescription, SignalingState};
use crate::connection::{
    CoreEvent, Desc, DtlsRole, Event, Negotiator, SavedTransceiver, Slot, SlotOwner, Snapshot,
    TransceiverEvent, TransceiverId,
};
use crate::negotiator::negotiated::{self, Cause, Negotiated, ice_credentials};
use crate::connection::SctpInfo;

impl Negotiator {
    /// `setLocalDescription(description)`; `None` is the parameterless form that creates the
    /// offer or answer itself (webrtc-pc §4.4.1.6).
    /// Returns what the applied description means for the transports.
    pub(crate) fn set_local_description(
        &mut self,
        desc: Option<SessionDescription>,
    ) -> Result<Negotiated> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let implicit_type = match self.signaling_state {
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => SdpType::Answer,
            _ => SdpType::Offer,
        };
        let (typ, sdp_text) = match desc {
            None => (implicit_type, None),
            Some(d) if d.sdp.is_empty() => (d.sdp_type, Some(String::new())),
            Some(d) => (d.sdp_type, Some(d.sdp)),
        };
        if typ == SdpType::Rollback {
            return self.rollback();
        }
        let allowed = match typ {
            SdpType::Offer => {
                matches!(
                    self.signaling_state,
                    SignalingState::Stable | SignalingState::HaveLocalOffer
                )
            }
            _ => matches!(
                self.signaling_state,
                SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
            ),
        };
        if !allowed {
            return Err(Error::invalid_state(format!(
                "cannot set a local {typ} in state {}",
                self.signaling_state
            )));
        }
        // webrtc-pc §4.4.1.6: an empty (or absent) sdp is `[[LastCreatedOffer]]` /
        // `[[LastCreatedAnswer]]`, byte for byte, unless it is empty or no longer represents
        // the system state; then a new one is created.
        let text = match sdp_text {
            Some(s) if !s.is_empty() => s,
            _ if typ == SdpType::Offer => match self.last_offer_if_current()? {
                Some(t) => t,
                None => self.create_offer(&Default::default())?.sdp,
            },
            _ => match self.last_answer_if_current()? {
                Some(t) => t,
                None => self.create_answer()?.sdp,
            },
        };
        match typ {
            SdpType::Offer => {
                let plan = match &self.last_offer {
                    Some(p) if p.text == text => p.clone(),
                    _ => {
                        return Err(Error::invalid_modification(
                            "the SDP is not the last offer created by createOffer",
                        ));
                    }
                };
                let sdp = parse_sdp(&text)?;
                if self.signaling_state == SignalingState::Stable {
                    self.take_snapshot();
                }
                self.slots = plan.slots;
                for (i, slot) in self.slots.clone().iter().enumerate() {
                    if let SlotOwner::Transceiver(id) = slot.owner {
                        if let Some(t) = self.transceiver_mut(id) {
                            t.mid = slot.mid.clone();
                            t.mline = Some(i);
                        }
                    }
                }
                self.note_mids(&sdp);
                // An offer does not complete an ICE restart: `[[LocalIceCredentialsToReplace]]`
                // is only emptied by the answer (webrtc-pc §4.4.1.5), so a rollback leaves
                // the restart pending.
                self.note_fresh_credentials_used(&sdp);
                if self.slots.iter().any(|s| s.owner == SlotOwner::Data) && self.sctp.is_none() {
                    self.sctp = Some(SctpInfo {
                        max_message_size: 0.0,
                    });
                }
                self.pending_local = Some(Desc::new(typ, sdp, text));
                self.set_signaling_state(SignalingState::HaveLocalOffer);
            }
            _ => {
                if self.last_answer.as_deref() != Some(text.as_str()) {
                    return Err(Error::invalid_modification(
                        "the SDP is not the last answer created by createAnswer",
                    ));
                }
                let sdp = parse_sdp(&text)?;
                let offer = self
                    .pending_remote
                    .as_ref()
                    .or(self.current_remote.as_ref())
                    .map(|d| d.sdp.clone())
                    .ok_or_else(|| Error::invalid_state("no remote offer"))?;
                for (i, m) in sdp.media.iter().enumerate() {
                    let Some(slot) = self.slots.get(i).cloned() else {
                        continue;
                    };
                    match slot.owner {
                        SlotOwner::Transceiver(id) => {
                            let dir = m.direction().map(RtpTransceiverDirection::from_sdp);
                            let rejected = m.is_rejected();
                            let mut evs = Vec::new();
                            if let Some(t) = self.transceiver_mut(id) {
                                if rejected {
                                    stop_now(t, &mut evs);
                                } else {
                                    let d = dir.unwrap_or(RtpTransceiverDirection::SendRecv);
                                    t.current_direction = Some(d);
                                    t.has_sent |= d.sends();
                                }
                            }
                            self.emit_transceiver(id, evs);
                        }
                        SlotOwner::Data => {
                            if m.is_rejected() {
                                self.sctp = None;
                            } else if let Some(om) = offer.media.get(i) {
                                self.data_accepted(om);
                            }
                        }
                        SlotOwner::Vacant => {}
                    }
                }
                if let Some(setup) = negotiated::setup(&sdp) {
                    self.dtls_role = Some(if setup == Setup::Passive {
                        DtlsRole::Server
                    } else {
                        DtlsRole::Client
                    });
                    self.stream_ids_due = true;
                }
                self.note_fresh_credentials_used(&sdp);
                if typ == SdpType::Answer {
                    self.complete_ice_restart(&sdp);
                    self.current_local = Some(Desc::new(typ, sdp, text));
                    self.pending_local = None;
                    if let Some(r) = self.pending_remote.take() {
                        self.current_remote = Some(r);
                    }
                    self.set_signaling_state(SignalingState::Stable);
                    self.finish_negotiation();
                } else {
                    self.pending_local = Some(Desc::new(typ, sdp, text));
                    self.set_signaling_state(SignalingState::HaveLocalPranswer);
                }
            }
        }
        Ok(self.negotiated(Cause::LocalApplied(typ)))
    }

    /// `setRemoteDescription(description)` (webrtc-pc §4.4.1.6, RFC 9429 §5.10).
    /// Returns what the applied description means for the transports.
    pub(crate) fn set_remote_description(
        &mut self,
        desc: SessionDescription,
    ) -> Result<Negotiated> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let typ = desc.sdp_type;
        if typ == SdpType::Rollback {
            // Only a remote offer can be rolled back from the remote side; a local offer
            // is rolled back with setLocalDescription (as browsers do; WPT
            // RTCPeerConnection-setRemoteDescription-rollback.html).
            if self.signaling_state == SignalingState::HaveLocalOffer {
                return Err(Error::invalid_state(
                    "cannot roll back a local offer with setRemoteDescription",
                ));
            }
            return self.rollback();
        }
        let allowed = match typ {
            SdpType::Offer => matches!(
                self.signaling_state,
                SignalingState::Stable
                    | SignalingState::HaveRemoteOffer
                    | SignalingState::HaveLocalOffer
            ),
            _ => matches!(
                self.signaling_state,
                SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer
            ),
        };
        if !allowed {
            return Err(Error::invalid_state(format!(
                "cannot set a remote {typ} in state {}",
                self.signaling_state
            )));
        }
        // Glare (a remote offer in have-local-offer) was resolved by the connection: it
        // rolled the local offer back first (`Connection::set_remote_description`).
        if desc.sdp.len() > self.signaling.max_description_bytes {
            // The same refusal as the parser's own ceiling, at the configured limit.
            return Err(Error::rtc(
                ErrorDetail::SdpSyntaxError { line: None },
                format!(
                    "description is {} bytes, more than the limit of {}",
                    desc.sdp.len(),
                    self.signaling.max_description_bytes
                ),
            ));
        }
        let mut sdp: Sdp = Sdp::parse(&desc.sdp).map_err(|e| {
            Error::rtc(
                ErrorDetail::SdpSyntaxError {
                    line: Some(e.line()),
                },
                e.to_string(),
            )
        })?;
        inherit_session_direction(&mut sdp);
        self.validate_remote(typ, &sdp)?;
        let mut track_events = Vec::new();
        if typ == SdpType::Offer {
            if self.signaling_state == SignalingState::Stable {
                self.take_snapshot();
            }
            self.apply_remote_offer(&sdp, &mut track_events);
            let state = take_transceiver_events(&mut track_events);
            self.emit_all(state);
            self.pending_remote = Some(Desc::new(typ, sdp, desc.sdp));
            self.set_signaling_state(SignalingState::HaveRemoteOffer);
        } else {
            self.apply_remote_answer(&sdp, &mut track_events);
            let state = take_transceiver_events(&mut track_events);
            self.emit_all(state);
            if typ == SdpType::Answer {
                self.current_remote = Some(Desc::new(typ, sdp, desc.sdp));
                self.pending_remote = None;
                if let Some(l) = self.pending_local.take() {
                    self.current_local = Some(l);
                }
                if let Some(l) = self.current_local.as_ref().map(|d| d.sdp.clone()) {
                    self.complete_ice_restart(&l);
                }
                self.set_signaling_state(SignalingState::Stable);
                self.finish_negotiation();
            } else {
                self.pending_remote = Some(Desc::new(typ, sdp, desc.sdp));
                self.set_signaling_state(SignalingState::HaveRemotePranswer);
            }
        }
        self.emit_all(track_events);
        Ok(self.negotiated(Cause::RemoteApplied(typ)))
    }

    /// Checks a remote description before anything is applied (RFC 9429 §5.8, webrtc-pc §4.4.1.5).
    fn validate_remote(&self, typ: SdpType, sdp: &Sdp) -> Result<()> {
        let session_ice = sdp.attributes.iter().any(|a| matches!(a, A::IceUfrag(_)))
            && sdp.attributes.iter().any(|a| matches!(a, A::IcePwd(_)));
        let session_fp = sdp
            .attributes
            .iter()
            .any(|a| matches!(a, A::Fingerprint { .. }));
        let require_mux = self.config.rtcp_mux_policy == crate::config::RtcpMuxPolicy::Require;
        // Every unbundled section costs an ICE agent and a DTLS association (RFC 8843 §7).
        let transports = negotiated::transport_sections(sdp).len();
        if transports > negotiated::MAX_TRANSPORTS {
            return Err(Error::operation(format!(
                "the description needs {transports} transports (m-sections outside BUNDLE), \
                 more than the limit of {}",
                negotiated::MAX_TRANSPORTS
            )));
        }
        let mut mids = HashSet::new();
        let mut msids = HashSet::new();
        for (i, m) in sdp.media.iter().enumerate() {
            if let Some(mid) = m.mid() {
                if !mids.insert(mid.to_string()) {
                    return Err(Error::invalid_access(format!("duplicate a=mid:{mid}")));
                }
            }
            if m.port == 0 {
                continue;
            }
            let bundle_only = m.has(&A::BundleOnly);
            if !bundle_only {
                if !(session_ice || (m.ice_ufrag().is_some() && m.ice_pwd().is_some())) {
                    return Err(Error::invalid_access(format!(
                        "m-section {i} has no ICE credentials"
                    )));
                }
                if !session_fp
                    && !m
                        .attributes
                        .iter()
                        .any(|a| matches!(a, A::Fingerprint { .. }))
                {
                    return Err(Error::invalid_access(format!(
                        "m-section {i} has no DTLS fingerprint"
                    )));
                }
            }
            let is_rtp = m.proto.to_ascii_uppercase().contains("RTP");
            if is_rtp && require_mux && !m.has(&A::RtcpMux) {
                return Err(Error::invalid_access(format!(
                    "m-section {i} lacks a=rtcp-mux, required by rtcpMuxPolicy \"require\""
                )));
            }
            for a in &m.attributes {
                if let A::Msid {
                    stream,
                    track: Some(track),
                } = a
                {
                    if !msids.insert((stream.clone(), track.clone())) {
                        return Err(Error::operation(format!(
                            "a=msid:{stream} {track} appears in more than one m-section"
                        )));
                    }
                }
            }
        }
        if typ == SdpType::Offer {
            // A subsequent offer keeps every negotiated m-line in place (RFC 9429 §5.8,
            // §5.2.2); only a vacant (rejected) m-line may be recycled for another kind.
            let base = self
                .snapshot
                .as_ref()
                .map(|s| &s.slots)
                .unwrap_or(&self.slots);
            if sdp.media.len() < base.len() {
                return Err(Error::invalid_access(format!(
                    "the offer has {} m-sections, fewer than the {} already negotiated",
                    sdp.media.len(),
                    base.len()
                )));
            }
            for (i, (slot, m)) in base.iter().zip(&sdp.media).enumerate() {
                if slot.owner != SlotOwner::Vacant && slot.kind != m.kind {
                    return Err(Error::invalid_access(format!(
                        "m-section {i} is {} but was negotiated as {}",
                        m.kind, slot.kind
                    )));
                }
            }
        } else {
            let offer = &self
                .pending_local
                .as_ref()
                .ok_or_else(|| Error::invalid_state("no local offer"))?
                .sdp;
            if offer.media.len() != sdp.media.len() {
                return Err(Error::invalid_access(format!(
                    "the answer has {} m-sections, the offer {}",
                    sdp.media.len(),
                    offer.media.len()
                )));
            }
            for (i, (o, a)) in offer.media.iter().zip(&sdp.media).enumerate() {
                if o.kind != a.kind {
                    return Err(Error::invalid_access(format!(
                        "m-section {i} changed its media kind"
                    )));
                }
                if let (Some(om), Some(am)) = (o.mid(), a.mid()) {
                    if om != am {
                        return Err(Error::invalid_access(format!(
                            "m-section {i} changed its mid"
                        )));
                    }
                }
                if a.port == 0 || o.port == 0 && !o.has(&A::BundleOnly) {
                    continue;
                }
                if a.setup() == Some(Setup::ActPass) {
                    return Err(Error::invalid_access(
                        "an answer cannot use a=setup:actpass",
                    ));
                }
                let od = o
                    .direction()
                    .map(RtpTransceiverDirection::from_sdp)
                    .unwrap_or(RtpTransceiverDirection::SendRecv);
                let ad = a
                    .direction()
                    .map(RtpTransceiverDirection::from_sdp)
                    .unwrap_or(RtpTransceiverDirection::SendRecv);
                if (ad.sends() && !od.receives()) || (ad.receives() && !od.sends()) {
                    return Err(Error::invalid_access(format!(
                        "m-section {i}: answer direction {ad} is incompatible with offer direction {od}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn apply_remote_offer(&mut self, sdp: &Sdp, track_events: &mut Vec<Event>) {
        let mut slots = Vec::with_capacity(sdp.media.len());
        let mut claimed: HashSet<TransceiverId> = HashSet::new();
        let mut taken: HashSet<String> = sdp
            .media
            .iter()
            .filter_map(|m| m.mid().map(str::to_string))
            .collect();
        for (i, m) in sdp.media.iter().enumerate() {
            let rejected = m.is_rejected();
            let mut slot = Slot {
                mid: m.mid().map(str::to_string),
                owner: SlotOwner::Vacant,
                kind: m.kind.clone(),
                proto: m.proto.clone(),
                formats: m.formats.iter().take(1).cloned().collect(),
            };
            if slot.mid.is_none() {
                // An offer without a=mid still works: give the section a unique internal mid.
                let mid = self.allocate_mid(&taken);
                taken.insert(mid.clone());
                slot.mid = Some(mid);
            }
            if m.kind == "application" {
                if !rejected && m.proto.to_ascii_uppercase().contains("SCTP") {
                    slot.owner = SlotOwner::Data;
                    if self.sctp.is_none() {
                        self.sctp = Some(SctpInfo {
                            max_message_size: 0.0,
                        });
                    }
                }
                slots.push(slot);
                continue;
            }
            let Ok(kind) = m.kind.parse::<MediaKind>() else {
                slots.push(slot);
                continue;
            };
            let remote_dir = m
                .direction()
                .map(RtpTransceiverDirection::from_sdp)
                .unwrap_or(RtpTransceiverDirection::SendRecv);
            let by_mid = m.mid().and_then(|mid| {
                self.transceivers
                    .iter()
                    .find(|t| t.mid.as_deref() == Some(mid) && !claimed.contains(&t.id))
                    .map(|t| t.id)
            });
            let found = by_mid.or_else(|| {
                if rejected || !remote_dir.receives() {
                    return None;
                }
                self.transceivers
                    .iter()
                    .find(|t| {
                        t.kind == kind
                            && t.addtrack_attached
                            && t.mid.is_none()
                            && t.is_active()
                            && !claimed.contains(&t.id)
                    })
                    .map(|t| t.id)
            });
            let id = match found {
                Some(id) => id,
                None if rejected => {
                    slots.push(slot);
                    continue;
                }
                None => {
                    let id = self.new_transceiver(
                        kind,
                        RtpTransceiverDirection::RecvOnly,
                        None,
                        Vec::new(),
                    );
                    if let Some(t) = self.transceiver_mut(id) {
                        t.created_by_remote = true;
                    }
                    id
                }
            };
            claimed.insert(id);
            slot.owner = SlotOwner::Transceiver(id);
            let remote_codecs = codecs::read_codecs(m);
            let remote_extensions = codecs::read_extmaps(m);
            if let Some(t) = self.transceiver_mut(id) {
                t.mid = slot.mid.clone();
                t.mline = Some(i);
                t.remote_codecs = remote_codecs;
                t.remote_extensions = remote_extensions;
                if rejected {
                    let mut evs = Vec::new();
                    stop_now(t, &mut evs);
                    track_events.extend(evs.into_iter().map(|e| Event::Transceiver(id, e)));
                }
            }
            if !rejected {
                self.process_remote_track(
                    id,
                    remote_dir.sends(),
                    &remote_stream_ids(m),
                    track_events,
                );
            }
            slots.push(slot);
        }
        self.slots = slots;
        self.note_mids(sdp);
    }

    fn apply_remote_answer(&mut self, sdp: &Sdp, track_events: &mut Vec<Event>) {
        for (i, m) in sdp.media.iter().enumerate() {
            let Some(slot) = self.slots.get(i).cloned() else {
                continue;
            };
            match slot.owner {
                SlotOwner::Transceiver(id) => {
                    let rejected = m.port == 0;
                    let remote_dir = m
                        .direction()
                        .map(RtpTransceiverDirection::from_sdp)
                        .unwrap_or(RtpTransceiverDirection::SendRecv);
                    let remote_codecs = codecs::read_codecs(m);
                    let remote_extensions = codecs::read_extmaps(m);
                    // A transceiver stopped after its offer was created is still live in
                    // that offer: the answer applies to it normally (WPT-172).
                    let offered_rejected = self
                        .pending_local
                        .as_ref()
                        .and_then(|d| d.sdp.media.get(i))
                        .is_some_and(|lm| lm.port == 0);
                    let Some(t) = self.transceiver_mut(id) else {
                        continue;
                    };
                    if rejected || offered_rejected {
                        let mut evs = Vec::new();
                        stop_now(t, &mut evs);
                        track_events.extend(evs.into_iter().map(|e| Event::Transceiver(id, e)));
                        continue;
                    }
                    let ours = remote_dir.reversed();
                    t.current_direction = Some(ours);
                    t.has_sent |= ours.sends();
                    t.remote_codecs = remote_codecs;
                    t.remote_extensions = remote_extensions;
                    self.process_remote_track(
                        id,
                        remote_dir.sends(),
                        &remote_stream_ids(m),
                        track_events,
                    );
                }
                SlotOwner::Data => {
                    if m.port == 0 {
                        self.sctp = None;
                    } else {
                        self.data_accepted(m);
                    }
                }
                SlotOwner::Vacant => {}
            }
        }
        if let Some(setup) = negotiated::setup(sdp) {
            // The answerer's role decides ours: its "active" makes us the DTLS server.
            self.dtls_role = Some(if setup == Setup::Active {
                DtlsRole::Server
            } else {
                DtlsRole::Client
            });
            self.stream_ids_due = true;
        }
        self.note_mids(sdp);
    }

    /// webrtc-pc §4.4.1.5 "process remote tracks": fire `track` or undo it.
    fn process_remote_track(
        &mut self,
        id: TransceiverId,
        remote_sends: bool,
        stream_ids: &[String],
        events: &mut Vec<Event>,
    ) {
        let Some(t) = self.transceiver_mut(id) else {
            return;
        };
        let mut evs = Vec::new();
        let mut fire = false;
        if remote_sends {
            // "set the associated remote streams": a newly associated stream fires `track`
            // again even when the receiver was already receiving (webrtc-pc §4.4.1.5).
            let added = stream_ids.iter().any(|s| !t.remote_stream_ids.contains(s));
            t.set_remote_streams(stream_ids.to_vec(), &mut evs);
            if !t.fired_recv || added {
                t.fired_recv = true;
                fire = true;
            }
        } else if t.fired_recv {
            t.fired_recv = false;
            t.set_remote_streams(Vec::new(), &mut evs);
            t.mute_receiver(&mut evs);
        }
        events.extend(evs.into_iter().map(|e| Event::Transceiver(id, e)));
        if fire {
            events.push(Event::Connection(Box::new(CoreEvent::Track {
                transceiver: id,
                stream_ids: stream_ids.to_vec(),
            })));
        }
    }

    /// The remote accepted (or offered) the data section: SCTP parameters (webrtc-pc §6.1.1.3).
    fn data_accepted(&mut self, remote: &Media) {
        let remote_max = remote
            .find_attr(|a| match a {
                A::MaxMessageSize(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(65536);
        let remote_max = if remote_max == 0 {
            f64::INFINITY
        } else {
            remote_max as f64
        };
        let local = self.settings.max_message_size as f64;
        let sctp = self.sctp.get_or_insert(SctpInfo {
            max_message_size: 0.0,
        });
        sctp.max_message_size = remote_max.min(local);
    }

    /// Rollback (webrtc-pc §4.4.1.5 with type "rollback", RFC 9429 §4.1.8.2).
    pub(crate) fn rollback(&mut self) -> Result<Negotiated> {
        if !matches!(
            self.signaling_state,
            SignalingState::HaveLocalOffer | SignalingState::HaveRemoteOffer
        ) {
            return Err(Error::invalid_state(format!(
                "cannot roll back in state {}",
                self.signaling_state
            )));
        }
        let Some(snap) = self.snapshot.take() else {
            return Err(Error::operation("no stable state to roll back to"));
        };
        let mut kept = Vec::with_capacity(self.transceivers.len());
        let mut track_events = Vec::new();
        let mut state = Vec::new();
        for mut t in std::mem::take(&mut self.transceivers) {
            let saved = snap.transceivers.get(&t.id).cloned();
            let mut evs = Vec::new();
            if let Some(s) = saved.as_ref().filter(|s| s.fired_recv) {
                // Restore the last stable associated remote streams; a stream that gets the
                // track back fires `track` (webrtc-pc §4.4.1.5, rollback).
                let current: &[String] = if t.fired_recv {
                    &t.remote_stream_ids
                } else {
                    &[]
                };
                let added = s.remote_stream_ids.iter().any(|p| !current.contains(p));
                if added || !t.fired_recv {
                    track_events.push(Event::Connection(Box::new(CoreEvent::Track {
                        transceiver: t.id,
                        stream_ids: s.remote_stream_ids.clone(),
                    })));
                }
            }
            let undo_track = t.fired_recv && !saved.as_ref().is_some_and(|s| s.fired_recv);
            if undo_track {
                t.set_remote_streams(Vec::new(), &mut evs);
                t.mute_receiver(&mut evs);
            }
            let id = t.id;
            match saved {
                Some(s) => {
                    // The rolled-back SRD may have taken the track out of its streams (or
                    // moved it): put the stream membership back as it was (webrtc-pc §4.4.1.5).
                    t.mid = s.mid;
                    t.current_direction = s.current_direction;
                    t.mline = s.mline;
                    t.fired_recv = s.fired_recv;
                    t.set_remote_streams(s.remote_stream_ids, &mut evs);
                    kept.push(t);
                }
                None if t.created_by_remote && !t.addtrack_attached => {
                    // Removed from the set (webrtc-pc §4.4.1.5): forgotten.
                    t.set_remote_streams(Vec::new(), &mut evs);
                    t.end_receiver(&mut evs);
                    evs.push(TransceiverEvent::Removed);
                }
                None => {
                    t.mid = None;
                    t.mline = None;
                    t.current_direction = None;
                    t.created_by_remote = false;
                    t.fired_recv = false;
                    t.set_remote_streams(Vec::new(), &mut evs);
                    kept.push(t);
                }
            }
            state.extend(evs.into_iter().map(|e| Event::Transceiver(id, e)));
        }
        self.transceivers = kept;
        self.slots = snap.slots;
        self.sctp = snap.sctp;
        self.pending_local = None;
        self.pending_remote = None;
        self.emit_all(state);
        self.set_signaling_state(SignalingState::Stable);
        self.emit_all(track_events);
        // A rollback returns to stable: the negotiation-needed flag is re-evaluated.
        self.negotiation_needed = false;
        self.nn_on_empty_chain = true;
        Ok(self.negotiated(Cause::RolledBack))
    }

    fn take_snapshot(&mut self) {
        let transceivers = self
            .transceivers
            .iter()
            .map(|t| {
                (
                    t.id,
                    SavedTransceiver {
                        mid: t.mid.clone(),
                        current_direction: t.current_direction,
                        mline: t.mline,
                        fired_recv: t.fired_recv,
                        remote_stream_ids: t.remote_stream_ids.clone(),
                    },
                )
            })
            .collect();
        self.snapshot = Some(Snapshot {
            transceivers,
            slots: self.slots.clone(),
            sctp: self.sctp.clone(),
        });
    }

    /// Back in "stable" through an answer: stopped transceivers leave the set, their
    /// m-lines become recyclable, and negotiation-needed is re-evaluated.
    fn finish_negotiation(&mut self) {
        self.snapshot = None;
        // webrtc-pc "set the RTCSessionDescription": an answer sets both
        // [[LastCreatedOffer]] and [[LastCreatedAnswer]] to "".
        self.last_offer = None;
        self.last_answer = None;
        let mut kept = Vec::with_capacity(self.transceivers.len());
        let mut state = Vec::new();
        for mut t in std::mem::take(&mut self.transceivers) {
            t.created_by_remote = false;
            let unassociated_stopping = t.stopping && t.mid.is_none();
            if t.stopped || unassociated_stopping {
                for s in &mut self.slots {
                    if s.owner == SlotOwner::Transceiver(t.id) {
                        s.owner = SlotOwner::Vacant;
                    }
                }
                // Removed from the set (webrtc-pc §4.4.1.5): forgotten; the API keeps what
                // live handles read.
                let mut evs = Vec::new();
                t.end_receiver(&mut evs);
                evs.push(TransceiverEvent::Removed);
                state.extend(evs.into_iter().map(|e| Event::Transceiver(t.id, e)));
            } else {
                kept.push(t);
            }
        }
        self.transceivers = kept;
        self.emit_all(state);
        self.negotiation_needed = false;
        self.nn_on_empty_chain = true;
    }

    fn note_mids(&mut self, sdp: &Sdp) {
        for m in &sdp.media {
            // Only a canonical decimal can equal a mid we allocate (see `Core::mid_floor`).
            if let Some(n) = m.mid().and_then(|mid| {
                let n = mid.parse::<u128>().ok()?;
                (n.to_string() == mid).then_some(n)
            }) {
                self.mid_floor = self.mid_floor.max(n.saturating_add(1));
            }
        }
    }

    /// `[[LastCreatedOffer]]` if it still "accurately represents the offerer's system state"
    /// (webrtc-pc §4.4.1.6): an offer created now with the same options is the same text but
    /// for the `o=` line. The trial leaves no trace (session version, last offer).
    fn last_offer_if_current(&mut self) -> Result<Option<String>> {
        let Some(last) = self.last_offer.clone() else {
            return Ok(None);
        };
        let version = self.session_version;
        let now = self.create_offer(&last.options);
        self.session_version = version;
        let same = now.is_ok_and(|d| same_but_origin(&d.sdp, &last.text));
        let text = last.text.clone();
        self.last_offer = Some(last);
        Ok(same.then_some(text))
    }

    /// `[[LastCreatedAnswer]]` if it still represents the answerer's system state, as
    /// [`Negotiator::last_offer_if_current`].
    fn last_answer_if_current(&mut self) -> Result<Option<String>> {
        let Some(last) = self.last_answer.clone() else {
            return Ok(None);
        };
        let version = self.session_version;
        let now = self.create_answer();
        self.session_version = version;
        let same = now.is_ok_and(|d| same_but_origin(&d.sdp, &last));
        self.last_answer = Some(last.clone());
        Ok(same.then_some(last))
    }

    /// An answer completing a negotiation whose current local description has none of the
    /// credentials in `[[LocalIceCredentialsToReplace]]` completes an ICE restart
    /// (webrtc-pc §4.4.1.5, "answer" steps, local and remote).
    fn complete_ice_restart(&mut self, current_local: &Sdp) {
        if let Some(c) = ice_credentials(current_local) {
            if !self.ice_to_replace.contains(&c.ufrag) {
                self.ice_to_replace.clear();
            }
        }
    }

    /// The fresh credentials of a pending ICE generation are used by an applied local
    /// description: later offers keep them from that description.
    fn note_fresh_credentials_used(&mut self, sdp: &Sdp) {
        if let Some(c) = ice_credentials(sdp) {
            if self
                .fresh_creds
                .as_ref()
                .is_some_and(|f| f.ufrag == c.ufrag)
            {
                self.fresh_creds = None;
            }
        }
    }
}

/// Whether two descriptions differ at most in their `o=` line (its session version).
fn same_but_origin(a: &str, b: &str) -> bool {
    let rest = |s: &str| {
        s.split("\r\n")
            .filter(|l| !l.starts_with("o="))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    rest(a) == rest(b)
}

/// Stops a transceiver for good (its m-section is rejected).
fn stop_now(t: &mut crate::connection::Transceiver, out: &mut Vec<TransceiverEvent>) {
    t.stopping = true;
    t.stopped = true;
    t.direction = RtpTransceiverDirection::Stopped;
    t.current_direction = Some(RtpTransceiverDirection::Stopped);
    t.end_receiver(out);
}

/// Takes the transceiver events out of `events` (kept in order), leaving the W3C ones.
fn take_transceiver_events(events: &mut Vec<Event>) -> Vec<Event> {
    let (state, rest) = std::mem::take(events)
        .into_iter()
        .partition(|e| matches!(e, Event::Transceiver(..)));
    *events = rest;
    state
}

/// The remote stream ids of an m-section: `a=msid` (RFC 8830), else legacy `a=ssrc:… msid:`.
fn remote_stream_ids(m: &Media) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for a in &m.attributes {
        if let A::Msid { stream, .. } = a {
            if stream != "-" && !ids.contains(stream) {
                ids.push(stream.clone());
            }
        }
    }
    if ids.is_empty() && !m.attributes.iter().any(|a| matches!(a, A::Msid { .. })) {
        for a in &m.attributes {
            if let A::Ssrc {
                attribute,
                value: Some(v),
                ..
            } = a
            {
                if attribute == "msid" {
                    if let Some(s) = v.split_whitespace().next() {
                        if s != "-" && !ids.iter().any(|i| i == s) {
                            ids.push(s.to_string());
                        }
                    }
                }
            }
        }
    }
    ids
}

/// A session-level direction attribute applies to every media section that has none
/// (RFC 8866 §6.7; SIP stacks put `a=sendonly` for hold there): it is copied into those
/// sections, so everything after reads one per-section direction. The text kept as the
/// remote description is unchanged.
fn inherit_session_direction(sdp: &mut Sdp) {
    let Some(dir) = sdp.find_attr(|a| match a {
        A::Direction(d) => Some(*d),
        _ => None,
    }) else {
        return;
    };
    for m in sdp.media.iter_mut().filter(|m| m.direction().is_none()) {
        m.attributes.push(A::Direction(dir));
    }
}

fn parse_sdp(text: &str) -> Result<Sdp> {
    Sdp::parse(text).map_err(|e| {
        Error::rtc(
            ErrorDetail::SdpSyntaxError {
                line: Some(e.line()),
            },
            e.to_string(),
        )
    })
}
