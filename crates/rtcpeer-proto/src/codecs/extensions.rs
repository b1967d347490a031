//! RTP header extensions at the signaling level: the default set and ids (as Chromium
//! offers them), `a=extmap` writing/reading (RFC 8285 §8) and answer negotiation
//! (JSEP RFC 9429 §5.3.1).

use super::{MediaKind, RtpHeaderExtensionParameters};
use crate::sdp::{Attribute, Media};

/// `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464).
pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// Absolute send time, used by Google's REMB bandwidth estimation.
pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// Transport-wide sequence numbers for transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.2).
pub const SDES_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// `urn:ietf:params:rtp-hdrext:toffset` (RFC 5450).
pub const TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
/// `urn:3gpp:video-orientation` (3GPP TS 26.114 §7.4.5).
pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
/// Playout delay limits (webrtc.org experiment).
pub const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// Video content type (webrtc.org experiment).
pub const VIDEO_CONTENT_TYPE: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type";
/// Video timing (webrtc.org experiment).
pub const VIDEO_TIMING: &str = "http://www.webrtc.org/experiments/rtp-hdrext/video-timing";
/// Color space (webrtc.org experiment).
pub const COLOR_SPACE: &str = "http://www.webrtc.org/experiments/rtp-hdrext/color-space";
/// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852 §3.1).
pub const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852 §3.2).
pub const REPAIRED_RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// The URN that marks an encrypted extension in `a=extmap` (RFC 6904 §4).
pub const ENCRYPT_URN: &str = "urn:ietf:params:rtp-hdrext:encrypt";

/// The header extensions rtcpeer offers for `kind`, with Chromium's ids and order
/// (captured from Chromium 156's offer). One-byte ids only (RFC 8285 §4.2).
pub fn default_header_extensions(kind: MediaKind) -> Vec<RtpHeaderExtensionParameters> {
    let list: &[(u16, &str)] = match kind {
        MediaKind::Audio => &[
            (1, AUDIO_LEVEL),
            (2, ABS_SEND_TIME),
            (3, TRANSPORT_CC),
            (4, SDES_MID),
        ],
        MediaKind::Video => &[
            (14, TOFFSET),
            (2, ABS_SEND_TIME),
            (13, VIDEO_ORIENTATION),
            (3, TRANSPORT_CC),
            (5, PLAYOUT_DELAY),
            (6, VIDEO_CONTENT_TYPE),
            (7, VIDEO_TIMING),
            (8, COLOR_SPACE),
            (4, SDES_MID),
            (10, RTP_STREAM_ID),
            (11, REPAIRED_RTP_STREAM_ID),
        ],
    };
    list.iter()
        .map(|&(id, uri)| RtpHeaderExtensionParameters {
            uri: uri.to_string(),
            id,
            encrypted: false,
        })
        .collect()
}

/// Replaces the `a=extmap` lines of `media` with one line per extension, in order
/// (RFC 8285 §8). Encrypted extensions are written with the RFC 6904 §4 `encrypt` URN.
pub fn write_extmaps(media: &mut Media, exts: &[RtpHeaderExtensionParameters]) {
    media
        .attributes
        .retain(|a| !matches!(a, Attribute::Extmap { .. }));
    for e in exts {
        let (uri, attributes) = if e.encrypted {
            (ENCRYPT_URN.to_string(), Some(e.uri.clone()))
        } else {
            (e.uri.clone(), None)
        };
        media.attributes.push(Attribute::Extmap {
            id: e.id,
            direction: None,
            uri,
            attributes,
        });
    }
}

/// The `a=extmap` lines of `media` as parameters, in SDP order. Lines with an id outside
/// 1–255 (RFC 8285 §5), a repeated id or a repeated URI are dropped (the first one wins).
/// The extension direction is not kept.
pub fn read_extmaps(media: &Media) -> Vec<RtpHeaderExtensionParameters> {
    let mut out: Vec<RtpHeaderExtensionParameters> = Vec::new();
    for a in &media.attributes {
        let Attribute::Extmap {
            id,
            uri,
            attributes,
            ..
        } = a
        else {
            continue;
        };
        if !(1..=255).contains(id) {
            continue;
        }
        let (uri, encrypted) = if uri == ENCRYPT_URN {
            // RFC 6904 §4: the real URI is the first token of the extension attributes.
            match attributes
                .as_deref()
                .and_then(|s| s.split_whitespace().next())
            {
                Some(real) => (real.to_string(), true),
                None => continue,
            }
        } else {
            (uri.clone(), false)
        };
        if out
            .iter()
            .any(|e| e.id == *id || (e.uri == uri && e.encrypted == encrypted))
        {
            continue;
        }
        out.push(RtpHeaderExtensionParameters {
            uri,
            id: *id,
            encrypted,
        });
    }
    out
}

/// The header extensions of an answer (JSEP RFC 9429 §5.3.1): the offered extensions whose
/// URI (and encryption) we support, with the offer's ids. Order is ours (`local`), as in
/// Chromium's answers (seen with Chromium 156). Offered ids outside 1–255 are ignored; a
/// repeated offered id (invalid, RFC 8285 §5) keeps only its first entry.
pub fn negotiate_header_extensions(
    local: &[RtpHeaderExtensionParameters],
    remote_offer: &[RtpHeaderExtensionParameters],
) -> Vec<RtpHeaderExtensionParameters> {
    // The offer's valid entries, the first one of each id.
    let mut seen_ids = [false; 256];
    let offer: Vec<&RtpHeaderExtensionParameters> = remote_offer
        .iter()
        .filter(|o| {
            (1..=255).contains(&o.id) && !std::mem::replace(&mut seen_ids[usize::from(o.id)], true)
        })
        .collect();
    let mut out: Vec<RtpHeaderExtensionParameters> = Vec::new();
    for l in local {
        let offered = offer
            .iter()
            .find(|o| o.uri == l.uri && o.encrypted == l.encrypted);
        if let Some(o) = offered
            && !out
                .iter()
                .any(|e| e.id == o.id || e.uri == o.uri && e.encrypted == o.encrypted)
        {
            out.push((*o).clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(kind: &str) -> Media {
        Media {
            kind: kind.to_string(),
            port: 9,
            num_ports: None,
            proto: "UDP/TLS/RTP/SAVPF".to_string(),
            formats: vec![],
            extra_lines: vec![],
            connection: None,
            bandwidths: vec![],
            attributes: vec![Attribute::Mid("0".into())],
        }
    }

    fn ext(id: u16, uri: &str) -> RtpHeaderExtensionParameters {
        RtpHeaderExtensionParameters {
            uri: uri.to_string(),
            id,
            encrypted: false,
        }
    }

    #[test]
    fn default_ids_match_chromium() {
        let a = default_header_extensions(MediaKind::Audio);
        let ids: Vec<(u16, &str)> = a.iter().map(|e| (e.id, e.uri.as_str())).collect();
        assert_eq!(
            ids,
            vec![
                (1, AUDIO_LEVEL),
                (2, ABS_SEND_TIME),
                (3, TRANSPORT_CC),
                (4, SDES_MID)
            ]
        );
        let v = default_header_extensions(MediaKind::Video);
        assert_eq!(v.len(), 11);
        assert_eq!(v[0], ext(14, TOFFSET));
        assert!(v.contains(&ext(11, REPAIRED_RTP_STREAM_ID)));
        // Ids are unique within a kind.
        for list in [&a, &v] {
            let mut seen: Vec<u16> = list.iter().map(|e| e.id).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), list.len());
        }
    }

    #[test]
    fn extmap_round_trip_with_encrypted() {
        let mut m = media("video");
        let mut exts = default_header_extensions(MediaKind::Video);
        exts.push(RtpHeaderExtensionParameters {
            uri: "urn:example:secret".into(),
            id: 12,
            encrypted: true,
        });
        write_extmaps(&mut m, &exts);
        assert_eq!(read_extmaps(&m), exts);
        // Writing again replaces instead of appending.
        write_extmaps(&mut m, &exts[..2]);
        assert_eq!(read_extmaps(&m), exts[..2].to_vec());
        assert!(m.has(&Attribute::Mid("0".into())));
    }

    #[test]
    fn read_extmaps_drops_bad_and_duplicate_ids() {
        let mut m = media("audio");
        for (id, uri) in [
            (0, "urn:a"),
            (256, "urn:b"),
            (3, "urn:c"),
            (3, "urn:d"),
            (5, "urn:c"),
        ] {
            m.attributes.push(Attribute::Extmap {
                id,
                direction: None,
                uri: uri.into(),
                attributes: None,
            });
        }
        m.attributes.push(Attribute::Extmap {
            id: 7,
            direction: None,
            uri: ENCRYPT_URN.into(),
            attributes: None,
        });
        assert_eq!(read_extmaps(&m), vec![ext(3, "urn:c")]);
    }

    #[test]
    fn answer_keeps_offer_ids_for_supported_uris() {
        let local = default_header_extensions(MediaKind::Audio);
        let offer = vec![
            ext(9, SDES_MID),
            ext(1, "urn:unknown"),
            ext(5, TRANSPORT_CC),
            ext(5, AUDIO_LEVEL),
            ext(0, ABS_SEND_TIME),
        ];
        // Our order (audio-level, transport-cc, mid), the offer's ids; the second id 5 is
        // already taken and id 0 is invalid.
        assert_eq!(
            negotiate_header_extensions(&local, &offer),
            vec![ext(5, TRANSPORT_CC), ext(9, SDES_MID)]
        );
        // Chromium 156 answered `1 audio-level, 4 tcc, 2 abs-send-time, 9 mid` with
        // `1 audio-level, 2 abs-send-time, 4 tcc, 9 mid`.
        let offer = vec![
            ext(1, AUDIO_LEVEL),
            ext(4, TRANSPORT_CC),
            ext(2, ABS_SEND_TIME),
            ext(9, SDES_MID),
        ];
        assert_eq!(
            negotiate_header_extensions(&local, &offer),
            vec![
                ext(1, AUDIO_LEVEL),
                ext(2, ABS_SEND_TIME),
                ext(4, TRANSPORT_CC),
                ext(9, SDES_MID)
            ]
        );
        // And a `mid 3, toffset 5` video offer with `toffset 5, mid 3`.
        let video = default_header_extensions(MediaKind::Video);
        let offer = vec![ext(3, SDES_MID), ext(5, TOFFSET)];
        assert_eq!(
            negotiate_header_extensions(&video, &offer),
            vec![ext(5, TOFFSET), ext(3, SDES_MID)]
        );
    }
}
