//! Demultiplexing: the one place that decides which protocol a received datagram belongs to
//! (RFC 7983 §7, RTP vs RTCP by RFC 5761 §4), and the counters of what arrived per class.
//! The session's `handle_datagram` (`session/ice.rs`), reached from `Core::handle_input`,
//! classifies every datagram once and routes it.

/// The protocol a received datagram belongs to, by its first byte (RFC 7983 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 0..=3 with the STUN magic cookie and a full header (RFC 7983 §7, RFC 8489 §5).
    Stun,
    /// 20..=63 (RFC 7983 §7).
    Dtls,
    /// 128..=191 whose second byte is not an RTCP packet type (RFC 5761 §4).
    Rtp,
    /// 128..=191 whose second byte is 192..=223, an RTCP packet type (RFC 5761 §4).
    Rtcp,
    /// 16..=19 (ZRTP) or 64..=79 (TURN ChannelData, RFC 8656 §12): nothing here consumes them.
    ZrtpOrTurnChannel,
    /// Empty, unassigned first bytes (4..=15, 80..=127, 192..=255), and 0..=3 that is not a
    /// STUN message.
    Other,
}

/// Classifies a received datagram: a match on its first byte, the second byte for RTP vs
/// RTCP, and the magic cookie for STUN; no allocation.
#[inline]
pub(crate) fn classify(datagram: &[u8]) -> Class {
    match datagram.first() {
        Some(0..=3) if crate::stun::is_stun(datagram) => Class::Stun,
        Some(16..=19 | 64..=79) => Class::ZrtpOrTurnChannel,
        Some(20..=63) => Class::Dtls,
        Some(128..=191) => match datagram.get(1) {
            Some(192..=223) => Class::Rtcp,
            _ => Class::Rtp,
        },
        _ => Class::Other,
    }
}

/// Datagrams received by a connection, one counter per RFC 7983 class, plus the ones dropped
/// after classification (`Core::demux_counters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemuxCounters {
    /// STUN messages (RFC 7983 §7: first byte 0..=3 and the magic cookie).
    pub stun: u64,
    /// DTLS records (first byte 20..=63).
    pub dtls: u64,
    /// RTP packets (first byte 128..=191, not an RTCP type, RFC 5761 §4); dropped: no media yet.
    pub rtp: u64,
    /// RTCP packets (second byte 192..=223, RFC 5761 §4); dropped: no media yet.
    pub rtcp: u64,
    /// ZRTP (16..=19) or TURN ChannelData (64..=79); dropped.
    pub zrtp_or_turn_channel: u64,
    /// Anything else (empty, unassigned first byte, 0..=3 without the cookie); dropped.
    pub other: u64,
    /// STUN that arrived while there was no ICE agent; dropped.
    pub stun_without_agent: u64,
    /// DTLS from a path the ICE agent does not know (RFC 8445 §7.3.1.4); dropped.
    pub dtls_unknown_path: u64,
}

impl DemuxCounters {
    /// Counts one datagram of class `class`.
    #[inline]
    pub(crate) fn count(&mut self, class: Class) {
        let n = match class {
            Class::Stun => &mut self.stun,
            Class::Dtls => &mut self.dtls,
            Class::Rtp => &mut self.rtp,
            Class::Rtcp => &mut self.rtcp,
            Class::ZrtpOrTurnChannel => &mut self.zrtp_or_turn_channel,
            Class::Other => &mut self.other,
        };
        *n = n.saturating_add(1);
    }

    /// Datagrams the ICE agent did not take as STUN (everything but STUN, and STUN that
    /// found no agent).
    pub fn non_stun(&self) -> u64 {
        self.dtls
            .saturating_add(self.rtp)
            .saturating_add(self.rtcp)
            .saturating_add(self.zrtp_or_turn_channel)
            .saturating_add(self.other)
            .saturating_add(self.stun_without_agent)
    }

    /// Datagrams dropped by demultiplexing: no consumer for their class (RTP/RTCP until
    /// media exists, ZRTP, TURN ChannelData, other), STUN without an agent, and DTLS from an
    /// unknown path.
    pub fn dropped(&self) -> u64 {
        self.rtp
            .saturating_add(self.rtcp)
            .saturating_add(self.zrtp_or_turn_channel)
            .saturating_add(self.other)
            .saturating_add(self.stun_without_agent)
            .saturating_add(self.dtls_unknown_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-byte STUN header (Binding request) whose first byte is `first`.
    fn stun_header(first: u8) -> [u8; 20] {
        let mut h = [0u8; 20];
        h[0] = first;
        h[1] = 1;
        h[4..8].copy_from_slice(&crate::stun::MAGIC_COOKIE.to_be_bytes());
        h
    }

    #[test]
    fn every_rfc7983_boundary_byte() {
        // (first byte, class of a datagram [first, 96 (RTP PT), 0, ...]).
        let table = [
            (0u8, Class::Other),
            (3, Class::Other),
            (4, Class::Other),
            (15, Class::Other),
            (16, Class::ZrtpOrTurnChannel),
            (19, Class::ZrtpOrTurnChannel),
            (20, Class::Dtls),
            (63, Class::Dtls),
            (64, Class::ZrtpOrTurnChannel),
            (79, Class::ZrtpOrTurnChannel),
            (80, Class::Other),
            (127, Class::Other),
            (128, Class::Rtp),
            (191, Class::Rtp),
            (192, Class::Other),
            (255, Class::Other),
        ];
        for (first, class) in table {
            let d = [first, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
            assert_eq!(classify(&d), class, "first byte {first}");
        }
        // Every byte value falls in exactly the range of its class.
        for first in 0..=255u8 {
            let want = match first {
                16..=19 | 64..=79 => Class::ZrtpOrTurnChannel,
                20..=63 => Class::Dtls,
                128..=191 => Class::Rtp,
                _ => Class::Other,
            };
            assert_eq!(classify(&[first, 0]), want, "first byte {first}");
        }
    }

    #[test]
    fn stun_needs_first_byte_0_to_3_and_the_cookie() {
        for first in 0..=3 {
            assert_eq!(
                classify(&stun_header(first)),
                Class::Stun,
                "first byte {first}"
            );
        }
        assert_eq!(classify(&stun_header(4)), Class::Other);
        let mut no_cookie = stun_header(0);
        no_cookie[4] ^= 0xff;
        assert_eq!(classify(&no_cookie), Class::Other);
        assert_eq!(
            classify(&stun_header(0)[..19]),
            Class::Other,
            "short header"
        );
    }

    #[test]
    fn empty_and_one_byte_datagrams() {
        assert_eq!(classify(&[]), Class::Other);
        assert_eq!(classify(&[0]), Class::Other);
        assert_eq!(classify(&[20]), Class::Dtls);
        assert_eq!(classify(&[0x80]), Class::Rtp, "no second byte: not RTCP");
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_the_payload_type_byte() {
        for first in [128u8, 0x81, 0xa0, 191] {
            for second in 0..=255u8 {
                let want = if (192..=223).contains(&second) {
                    Class::Rtcp
                } else {
                    Class::Rtp
                };
                assert_eq!(classify(&[first, second, 0, 7]), want, "{first} {second}");
            }
        }
        // RTCP SR/RR/SDES/BYE/APP (200..=204) vs common dynamic RTP types (with or without
        // the marker bit).
        for pt in 200..=204u8 {
            assert_eq!(classify(&[0x80, pt, 0, 6]), Class::Rtcp);
        }
        for b in [96u8, 111, 96 | 0x80, 111 | 0x80, 0, 127, 191, 224, 255] {
            assert_eq!(classify(&[0x80, b, 0, 1]), Class::Rtp, "second byte {b}");
        }
    }

    #[test]
    fn counters_count_each_class_once_and_derive_the_totals() {
        let mut c = DemuxCounters::default();
        for d in [
            &stun_header(0)[..],
            &[22, 254, 253][..],
            &[0x80, 96][..],
            &[0x80, 200][..],
            &[16][..],
            &[64][..],
            &[][..],
        ] {
            c.count(classify(d));
        }
        c.stun_without_agent += 1;
        c.dtls_unknown_path += 1;
        let want = DemuxCounters {
            stun: 1,
            dtls: 1,
            rtp: 1,
            rtcp: 1,
            zrtp_or_turn_channel: 2,
            other: 1,
            stun_without_agent: 1,
            dtls_unknown_path: 1,
        };
        assert_eq!(c, want);
        assert_eq!(c.non_stun(), 7);
        assert_eq!(c.dropped(), 7);
    }
}
