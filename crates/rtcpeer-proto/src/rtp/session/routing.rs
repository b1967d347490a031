//! Which m-section a received RTP packet belongs to, when many share one transport
//! (RFC 8843 §9.2): by the MID header extension, else by an SSRC signalled (`a=ssrc`,
//! RFC 5576) or learned earlier, else by a payload type only one m-section uses. Learned
//! SSRCs are capped and age out, so a peer inventing SSRCs cannot grow the table.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Learned SSRC bindings kept at most, per transport.
pub const MAX_LEARNED_SSRCS: usize = 1024;

/// Where a packet goes: the m-section (the caller's key for it) and the stream's RID
/// (RFC 8852) when the packet or an earlier one of its SSRC named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<K> {
    /// The m-section's key.
    pub section: K,
    /// `rtp-stream-id` or `repaired-rtp-stream-id` of the stream (simulcast layer).
    pub rid: Option<String>,
}

/// Why a packet was not routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unroutable {
    /// It names a MID no m-section has (RFC 8843 §9.2: discarded).
    UnknownMid,
    /// No MID, an unknown SSRC, and a payload type that is not unique to one m-section.
    NoMatch,
    /// The learned table is full of active SSRCs.
    TableFull,
}

#[derive(Debug, Clone)]
struct Learned<K> {
    route: Route<K>,
    last_seen: Instant,
}

/// The routing table of one transport's RTP streams (RFC 8843 §9.2).
#[derive(Debug, Clone)]
pub struct SsrcRouter<K> {
    mids: Vec<(String, K)>,
    signalled: HashMap<u32, K>,
    /// Payload type → the only m-section using it (`None`: used by several).
    payload_types: HashMap<u8, Option<K>>,
    learned: HashMap<u32, Learned<K>>,
    max_learned: usize,
    idle_timeout: Duration,
    /// When a full table was last swept: at most one sweep per second, so a flood of new
    /// SSRCs into a full table costs O(1) per packet.
    last_sweep: Option<Instant>,
}

impl<K: Copy + Eq + Hash> SsrcRouter<K> {
    /// An empty table; learned SSRCs silent for `idle_timeout` may be replaced.
    pub fn new(idle_timeout: Duration) -> Self {
        SsrcRouter {
            mids: Vec::new(),
            signalled: HashMap::new(),
            payload_types: HashMap::new(),
            learned: HashMap::new(),
            max_learned: MAX_LEARNED_SSRCS,
            idle_timeout,
            last_sweep: None,
        }
    }

    /// Replaces the m-sections (after a negotiation): each with its key, mid, signalled
    /// SSRCs and payload types. Learned bindings to m-sections that are gone are dropped.
    pub fn set_sections<'a>(
        &mut self,
        sections: impl IntoIterator<Item = (K, &'a str, &'a [u32], &'a [u8])>,
    ) {
        self.mids.clear();
        self.signalled.clear();
        self.payload_types.clear();
        for (key, mid, ssrcs, pts) in sections {
            self.mids.push((mid.to_string(), key));
            for &s in ssrcs {
                self.signalled.insert(s, key);
            }
            for &pt in pts {
                self.payload_types
                    .entry(pt)
                    .and_modify(|k| {
                        if *k != Some(key) {
                            *k = None;
                        }
                    })
                    .or_insert(Some(key));
            }
        }
        let mids = &self.mids;
        self.learned
            .retain(|_, l| mids.iter().any(|(_, k)| *k == l.route.section));
    }

    /// Routes a packet of `ssrc` with payload type `pt` and the MID / RID / repaired RID
    /// header extension values it carried, at `now`.
    pub fn route(
        &mut self,
        now: Instant,
        ssrc: u32,
        pt: u8,
        mid: Option<&str>,
        rid: Option<&str>,
    ) -> Result<Route<K>, Unroutable> {
        let by_mid = match mid {
            Some(m) => match self.mids.iter().find(|(name, _)| name == m) {
                Some((_, k)) => Some(*k),
                None => return Err(Unroutable::UnknownMid),
            },
            None => None,
        };
        if let Some(l) = self.learned.get_mut(&ssrc) {
            l.last_seen = now;
            if let Some(k) = by_mid {
                l.route.section = k;
            }
            if let Some(r) = rid
                && l.route.rid.as_deref() != Some(r)
            {
                l.route.rid = Some(r.to_string());
            }
            return Ok(l.route.clone());
        }
        let section = by_mid
            .or_else(|| self.signalled.get(&ssrc).copied())
            .or_else(|| self.payload_types.get(&pt).copied().flatten())
            .ok_or(Unroutable::NoMatch)?;
        let route = Route {
            section,
            rid: rid.map(str::to_string),
        };
        if self.learned.len() >= self.max_learned {
            let swept_lately = self
                .last_sweep
                .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1));
            if !swept_lately {
                self.last_sweep = Some(now);
                self.evict_idle(now);
            }
            if self.learned.len() >= self.max_learned {
                return Err(Unroutable::TableFull);
            }
        }
        self.learned.insert(
            ssrc,
            Learned {
                route: route.clone(),
                last_seen: now,
            },
        );
        Ok(route)
    }

    /// Forgets learned SSRCs silent for the idle timeout (one pass, when the table is full
    /// or the caller's periodic sweep runs).
    pub fn evict_idle(&mut self, now: Instant) {
        let timeout = self.idle_timeout;
        self.learned
            .retain(|_, l| now.saturating_duration_since(l.last_seen) < timeout);
    }

    /// Forgets one SSRC (an RTCP BYE, RFC 3550 §6.6).
    pub fn forget(&mut self, ssrc: u32) {
        self.learned.remove(&ssrc);
    }

    /// The m-section an SSRC is bound to, if any (for RTCP about remote sources).
    pub fn section_of(&self, ssrc: u32) -> Option<K> {
        self.learned
            .get(&ssrc)
            .map(|l| l.route.section)
            .or_else(|| self.signalled.get(&ssrc).copied())
    }

    /// Learned SSRC bindings held now.
    pub fn learned_len(&self) -> usize {
        self.learned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> SsrcRouter<u8> {
        let mut r = SsrcRouter::new(Duration::from_secs(10));
        r.set_sections([
            (0u8, "0", &[1111u32][..], &[111u8, 63][..]),
            (1u8, "1", &[][..], &[96u8, 97, 63][..]),
        ]);
        r
    }

    #[test]
    fn mid_wins_then_the_ssrc_stays_bound() {
        let t = Instant::now();
        let mut r = router();
        // Payload type 63 is shared, but the MID says where it goes.
        assert_eq!(r.route(t, 5, 63, Some("1"), Some("h")).unwrap().section, 1);
        // Later packets of that SSRC without the extension follow the binding, RID kept.
        let route = r.route(t, 5, 63, None, None).unwrap();
        assert_eq!((route.section, route.rid.as_deref()), (1, Some("h")));
        // A MID update moves the SSRC (RFC 8843 §9.2).
        assert_eq!(r.route(t, 5, 63, Some("0"), None).unwrap().section, 0);
        assert_eq!(r.section_of(5), Some(0));
        assert_eq!(r.route(t, 6, 96, Some("7"), None), Err(Unroutable::UnknownMid));
    }

    #[test]
    fn signalled_ssrcs_then_unique_payload_types() {
        let t = Instant::now();
        let mut r = router();
        assert_eq!(r.route(t, 1111, 63, None, None).unwrap().section, 0);
        assert_eq!(r.route(t, 2222, 97, None, None).unwrap().section, 1);
        assert_eq!(r.route(t, 3333, 63, None, None), Err(Unroutable::NoMatch));
        assert_eq!(r.route(t, 3333, 100, None, None), Err(Unroutable::NoMatch));
        assert_eq!(r.section_of(1111), Some(0));
        r.forget(2222);
        assert_eq!(r.section_of(2222), None);
    }

    #[test]
    fn renegotiation_drops_bindings_to_removed_sections() {
        let t = Instant::now();
        let mut r = router();
        r.route(t, 9, 96, None, None).unwrap();
        r.route(t, 8, 111, None, None).unwrap();
        r.set_sections([(0u8, "0", &[][..], &[111u8][..])]);
        assert_eq!(r.section_of(9), None);
        assert_eq!(r.section_of(8), Some(0));
        assert_eq!(r.learned_len(), 1);
    }

    #[test]
    fn invented_ssrcs_are_capped_and_idle_ones_make_room() {
        let t = Instant::now();
        let mut r = router();
        for s in 0..MAX_LEARNED_SSRCS as u32 {
            r.route(t, 10_000 + s, 96, None, None).unwrap();
        }
        assert_eq!(r.route(t, 1, 96, None, None), Err(Unroutable::TableFull));
        assert_eq!(r.learned_len(), MAX_LEARNED_SSRCS);
        // Once they have been silent for the idle timeout, a new SSRC gets in.
        let later = t + Duration::from_secs(11);
        assert_eq!(r.route(later, 1, 96, None, None).unwrap().section, 1);
        assert_eq!(r.learned_len(), 1);
    }
}
