//! The negotiation-needed flag (webrtc-pc §4.7.3).

use std::collections::BTreeSet;

use crate::sdp::{Attribute as A, Media};

use super::generate::answer_direction;
use super::types::{RtpTransceiverDirection, SdpType, SignalingState};
use crate::connection::{CoreEvent, Desc, Negotiator, SlotOwner};

impl Negotiator {
    /// "Update the negotiation-needed flag": fires `negotiationneeded` when the check says
    /// so, only in "stable" and only once the operations chain is empty.
    pub fn update_negotiation_needed(&mut self, chain_empty: bool) {
        if self.is_closed() {
            return;
        }
        if !chain_empty {
            self.nn_on_empty_chain = true;
            return;
        }
        if self.signaling_state != SignalingState::Stable {
            return;
        }
        if !self.negotiation_is_needed() {
            self.negotiation_needed = false;
            return;
        }
        if self.negotiation_needed {
            return;
        }
        self.negotiation_needed = true;
        self.emit(CoreEvent::NegotiationNeeded);
    }

    /// Called by the API layer when the operations chain becomes empty.
    pub fn on_chain_empty(&mut self) {
        if std::mem::take(&mut self.nn_on_empty_chain) {
            self.update_negotiation_needed(true);
        }
    }

    /// `[[NegotiationNeeded]]`.
    pub fn negotiation_needed(&self) -> bool {
        self.negotiation_needed
    }

    /// "Check if negotiation is needed" (webrtc-pc §4.7.3).
    fn negotiation_is_needed(&self) -> bool {
        if !self.ice_to_replace.is_empty() {
            return true;
        }
        let local = self.current_local.as_ref();
        let remote = self.current_remote.as_ref();
        if self.data_requested {
            let has_data = local.is_some_and(|d| {
                self.slots
                    .iter()
                    .zip(&d.sdp.media)
                    .any(|(s, m)| s.owner == SlotOwner::Data && m.port != 0)
            });
            if !has_data {
                return true;
            }
        }
        for t in &self.transceivers {
            if t.stopping && !t.stopped {
                return true;
            }
            let lm = t
                .mid
                .as_deref()
                .and_then(|mid| local.and_then(|d| section(d, mid)));
            if !t.stopped {
                let Some(lm) = lm else { return true };
                if t.direction.sends() {
                    let want: BTreeSet<&str> = if t.sender_stream_ids.is_empty() {
                        ["-"].into()
                    } else {
                        t.sender_stream_ids.iter().map(String::as_str).collect()
                    };
                    let have: BTreeSet<&str> = lm
                        .attributes
                        .iter()
                        .filter_map(|a| match a {
                            A::Msid { stream, .. } => Some(stream.as_str()),
                            _ => None,
                        })
                        .collect();
                    if want != have {
                        return true;
                    }
                }
                let local_dir = dir_of(lm);
                let remote_dir = t
                    .mid
                    .as_deref()
                    .and_then(|mid| remote.and_then(|d| section(d, mid)))
                    .map(dir_of);
                let Some(local_desc) = local else { return true };
                match local_desc.typ {
                    SdpType::Offer => {
                        if local_dir != t.direction
                            && remote_dir.map(|d| d.reversed()) != Some(t.direction)
                        {
                            return true;
                        }
                    }
                    _ => {
                        let offered = remote_dir.unwrap_or(RtpTransceiverDirection::SendRecv);
                        if local_dir != answer_direction(t.direction, offered, false) {
                            return true;
                        }
                    }
                }
            } else if let Some(lm) = lm {
                let remote_rejected = t
                    .mid
                    .as_deref()
                    .and_then(|mid| remote.and_then(|d| section(d, mid)))
                    .is_some_and(|m| m.port == 0);
                if lm.port != 0 && !remote_rejected {
                    return true;
                }
            }
        }
        false
    }
}

fn section<'a>(d: &'a Desc, mid: &str) -> Option<&'a Media> {
    d.sdp.media.iter().find(|m| m.mid() == Some(mid))
}

fn dir_of(m: &Media) -> RtpTransceiverDirection {
    m.direction()
        .map(RtpTransceiverDirection::from_sdp)
        .unwrap_or(RtpTransceiverDirection::SendRecv)
}
