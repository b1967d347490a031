//! The reference model of `addIceCandidate`'s effect on `remoteDescription.sdp`, shared by
//! `tests/hostile_signaling.rs` and the fuzz target `add_ice_candidate_seq` (included by path).

use rtcpeer::IceCandidateInit;
use rtcpeer_proto::sdp::{Attribute, Candidate, Sdp};

/// What `addIceCandidate` did to `remoteDescription.sdp` before it was made O(1) (append to the
/// target section, skip duplicates, end-of-candidates per section or for all): the reference
/// the new bookkeeping must match byte for byte. `false` where the call is refused.
pub fn reference_add(sdp: &mut Sdp, c: &IceCandidateInit) -> bool {
    let target = match (&c.sdp_mid, c.sdp_m_line_index) {
        (Some(mid), _) => match sdp.media.iter().position(|m| m.mid() == Some(mid.as_str())) {
            Some(i) => Some(i),
            None => return false,
        },
        (None, Some(i)) if usize::from(i) < sdp.media.len() => Some(usize::from(i)),
        (None, Some(_)) => return false,
        (None, None) => None,
    };
    let text = c.candidate.trim();
    if text.is_empty() {
        let range: Vec<usize> = match target {
            Some(i) => vec![i],
            None => (0..sdp.media.len()).collect(),
        };
        for i in range {
            if !sdp.media[i].has(&Attribute::EndOfCandidates) {
                sdp.media[i].attributes.push(Attribute::EndOfCandidates);
            }
        }
        return true;
    }
    let (Ok(cand), Some(i)) = (Candidate::parse(text), target) else {
        return false;
    };
    let m = &mut sdp.media[i];
    let attr = Attribute::Candidate(cand);
    if !m.attributes.contains(&attr) {
        let at = m
            .attributes
            .iter()
            .position(|a| matches!(a, Attribute::EndOfCandidates))
            .unwrap_or(m.attributes.len());
        m.attributes.insert(at, attr);
    }
    true
}
