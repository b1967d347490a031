//! Codecs at the signaling level: the default set (modelled on Chromium 156's offer),
//! codec preferences (webrtc-pc §5.4 `setCodecPreferences`), `a=rtpmap`/`a=fmtp`/`a=rtcp-fb`
//! writing and reading (RFC 8866 §6.6, §6.15, RFC 4585 §4.2) and answer negotiation
//! (JSEP RFC 9429 §5.3.1, H.264 offer/answer RFC 6184 §8.2.2).

use super::{
    MediaKind, RtcpFeedback, RtpCodecCapability, RtpCodecParameters, advertised_capability,
    codec_dictionary_match, is_resiliency_mime, receiver_capabilities, subtype,
};
use crate::error::{Error, Result};
use crate::sdp::{Attribute, Media};

/// The value of `key` in an fmtp line `k=v;k=v` (keys compared ASCII-case-insensitively).
pub(crate) fn fmtp_get<'a>(line: Option<&'a str>, key: &str) -> Option<&'a str> {
    fmtp_params(line?)
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The `key=value` pairs of an fmtp line, trimmed; a token without `=` has an empty value.
fn fmtp_params(line: &str) -> impl Iterator<Item = (&str, &str)> {
    line.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (p, ""),
        })
}

fn fb(fb_type: &str, parameter: Option<&str>) -> RtcpFeedback {
    RtcpFeedback {
        fb_type: fb_type.to_string(),
        parameter: parameter.map(str::to_string),
    }
}

fn codec(
    payload_type: u8,
    mime_type: &str,
    clock_rate: u32,
    channels: Option<u16>,
    fmtp: Option<&str>,
    rtcp_feedback: Vec<RtcpFeedback>,
) -> RtpCodecParameters {
    RtpCodecParameters {
        payload_type,
        mime_type: mime_type.to_string(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.map(str::to_string),
        rtcp_feedback,
    }
}

fn video_feedback() -> Vec<RtcpFeedback> {
    vec![
        fb("goog-remb", None),
        fb("transport-cc", None),
        fb("ccm", Some("fir")),
        fb("nack", None),
        fb("nack", Some("pli")),
    ]
}

/// The codecs rtcpeer offers for `kind`, in offer order, with Chromium's payload types and
/// fmtp/rtcp-fb (captured from a Chromium 156 offer; H.264 High 64001f on 112/113 as
/// Chrome builds with proprietary codecs offer it). Every video codec has an RTX (RFC 4588).
pub fn default_codecs(kind: MediaKind) -> Vec<RtpCodecParameters> {
    match kind {
        MediaKind::Audio => vec![
            codec(
                111,
                "audio/opus",
                48000,
                Some(2),
                Some("minptime=10;useinbandfec=1"),
                vec![fb("transport-cc", None)],
            ),
            codec(63, "audio/red", 48000, Some(2), Some("111/111"), vec![]),
            codec(9, "audio/G722", 8000, Some(1), None, vec![]),
            codec(0, "audio/PCMU", 8000, Some(1), None, vec![]),
            codec(8, "audio/PCMA", 8000, Some(1), None, vec![]),
            codec(13, "audio/CN", 8000, Some(1), None, vec![]),
            codec(110, "audio/telephone-event", 48000, Some(1), None, vec![]),
            codec(126, "audio/telephone-event", 8000, Some(1), None, vec![]),
        ],
        MediaKind::Video => {
            const H264: &str = "level-asymmetry-allowed=1;packetization-mode=";
            let primaries: Vec<(u8, u8, &str, Option<String>)> = vec![
                (96, 97, "video/VP8", None),
                (
                    102,
                    103,
                    "video/H264",
                    Some(format!("{H264}1;profile-level-id=42001f")),
                ),
                (
                    104,
                    107,
                    "video/H264",
                    Some(format!("{H264}0;profile-level-id=42001f")),
                ),
                (
                    108,
                    109,
                    "video/H264",
                    Some(format!("{H264}1;profile-level-id=42e01f")),
                ),
                (
                    114,
                    115,
                    "video/H264",
                    Some(format!("{H264}0;profile-level-id=42e01f")),
                ),
                (
                    116,
                    117,
                    "video/H264",
                    Some(format!("{H264}1;profile-level-id=4d001f")),
                ),
                (
                    39,
                    40,
                    "video/H264",
                    Some(format!("{H264}0;profile-level-id=4d001f")),
                ),
                (
                    45,
                    46,
                    "video/AV1",
                    Some("level-idx=5;profile=0;tier=0".into()),
                ),
                (98, 99, "video/VP9", Some("profile-id=0".into())),
                (100, 101, "video/VP9", Some("profile-id=2".into())),
                (
                    112,
                    113,
                    "video/H264",
                    Some(format!("{H264}1;profile-level-id=64001f")),
                ),
            ];
            let mut out = Vec::new();
            for (pt, rtx, mime, fmtp) in primaries {
                out.push(codec(
                    pt,
                    mime,
                    90000,
                    None,
                    fmtp.as_deref(),
                    video_feedback(),
                ));
                out.push(rtx_codec(rtx, pt));
            }
            out.push(codec(118, "video/red", 90000, None, None, vec![]));
            out.push(rtx_codec(119, 118));
            out.push(codec(120, "video/ulpfec", 90000, None, None, vec![]));
            out
        }
    }
}

fn rtx_codec(pt: u8, apt: u8) -> RtpCodecParameters {
    codec(
        pt,
        "video/rtx",
        90000,
        None,
        Some(&format!("apt={apt}")),
        vec![],
    )
}

/// `setCodecPreferences` validation (webrtc-pc §5.4): an empty list is fine (it resets);
/// otherwise every entry must match a `RTCRtpReceiver.getCapabilities(kind)` codec by the
/// codec dictionary match, and at least one entry must be a media codec (not only
/// RTX/RED/FEC). Failures are `InvalidModificationError` (WPT-302–304).
pub fn validate_codec_preferences(kind: MediaKind, codecs: &[RtpCodecCapability]) -> Result<()> {
    if codecs.is_empty() {
        return Ok(());
    }
    let caps = receiver_capabilities(kind.as_str()).map_or_else(Vec::new, |c| c.codecs);
    for c in codecs {
        if !caps.iter().any(|cap| codec_dictionary_match(cap, c)) {
            return Err(Error::invalid_modification(format!(
                "setCodecPreferences: {} {}/{:?}/{:?} is not a {} receiver capability",
                c.mime_type, c.clock_rate, c.channels, c.sdp_fmtp_line, kind
            )));
        }
    }
    // webrtc-pc §5.4: a list of only RTX, RED, FEC or Comfort Noise entries is rejected.
    if codecs.iter().all(|c| {
        is_resiliency_mime(&c.mime_type) || subtype(&c.mime_type).eq_ignore_ascii_case("CN")
    }) {
        return Err(Error::invalid_modification(
            "setCodecPreferences: the list has only RTX, RED, FEC or comfort noise codecs",
        ));
    }
    Ok(())
}

/// The codecs to offer for a transceiver with codec preferences `prefs` (webrtc-pc §5.4,
/// JSEP RFC 9429 §5.2.1): the default codecs that match an entry, in preference order. As
/// in Chromium, RTX is kept only when `prefs` contains an RTX entry, and then each RTX
/// follows its primary; RED/ULPFEC sit where they are listed; audio RED is dropped when a
/// payload type its fmtp names is not kept. Entries that match nothing are ignored (call
/// [`validate_codec_preferences`] first). Empty `prefs` → [`default_codecs`].
pub fn apply_codec_preferences(
    kind: MediaKind,
    prefs: &[RtpCodecCapability],
) -> Vec<RtpCodecParameters> {
    let defaults = default_codecs(kind);
    if prefs.is_empty() {
        return defaults;
    }
    let want_rtx = prefs
        .iter()
        .any(|p| subtype(&p.mime_type).eq_ignore_ascii_case("rtx"));
    let mut out: Vec<RtpCodecParameters> = Vec::new();
    for p in prefs {
        if subtype(&p.mime_type).eq_ignore_ascii_case("rtx") {
            continue;
        }
        for d in &defaults {
            if d.is_rtx()
                || !codec_dictionary_match(&advertised_capability(d), p)
                || out.iter().any(|o| o.payload_type == d.payload_type)
            {
                continue;
            }
            out.push(d.clone());
            if want_rtx
                && let Some(rtx) = defaults
                    .iter()
                    .find(|r| r.is_rtx() && r.apt() == Some(d.payload_type))
            {
                out.push(rtx.clone());
            }
        }
    }
    let kept: Vec<u8> = out.iter().map(|c| c.payload_type).collect();
    out.retain(|c| red_refs_present(c, &kept));
    out
}

/// For audio RED (RFC 2198 §5), whether every payload type its fmtp (`111/111`) names is in
/// `kept`; true for every other codec.
fn red_refs_present(c: &RtpCodecParameters, kept: &[u8]) -> bool {
    if !c.encoding_name().eq_ignore_ascii_case("red") {
        return true;
    }
    let Some(fmtp) = c.sdp_fmtp_line.as_deref() else {
        return true;
    };
    fmtp.split('/')
        .all(|p| p.trim().parse::<u8>().is_ok_and(|pt| kept.contains(&pt)))
}

/// Writes `codecs` into `media`: `formats` becomes their payload types in order and the
/// section's `a=rtpmap`/`a=rtcp-fb`/`a=fmtp` lines are replaced by, per codec, rtpmap, then
/// rtcp-fb, then fmtp (Chromium's order). Channels are written only when more than one
/// (RFC 8866 §6.6: absent means one).
pub fn write_codecs(media: &mut Media, codecs: &[RtpCodecParameters]) {
    media.formats = codecs.iter().map(|c| c.payload_type.to_string()).collect();
    media.attributes.retain(|a| {
        !matches!(
            a,
            Attribute::Rtpmap { .. } | Attribute::Fmtp { .. } | Attribute::RtcpFb { .. }
        )
    });
    for c in codecs {
        media.attributes.push(Attribute::Rtpmap {
            payload_type: c.payload_type,
            encoding: c.encoding_name().to_string(),
            clock_rate: c.clock_rate,
            channels: c.channels.filter(|&n| n > 1),
        });
        for f in &c.rtcp_feedback {
            media.attributes.push(Attribute::RtcpFb {
                payload_type: Some(c.payload_type),
                fb_type: f.fb_type.clone(),
                param: f.parameter.clone(),
            });
        }
        if let Some(fmtp) = c.sdp_fmtp_line.as_deref().filter(|s| !s.is_empty()) {
            media.attributes.push(Attribute::Fmtp {
                payload_type: c.payload_type,
                params: fmtp.to_string(),
            });
        }
    }
}

/// The static payload types of RFC 3551 §6 usable without `a=rtpmap`:
/// `(pt, media kind, encoding, clock rate)`.
const STATIC_PAYLOAD_TYPES: &[(u8, &str, &str, u32)] = &[
    (0, "audio", "PCMU", 8000),
    (3, "audio", "GSM", 8000),
    (4, "audio", "G723", 8000),
    (8, "audio", "PCMA", 8000),
    (9, "audio", "G722", 8000),
    (13, "audio", "CN", 8000),
    (18, "audio", "G729", 8000),
    (26, "video", "JPEG", 90000),
    (31, "video", "H261", 90000),
    (34, "video", "H263", 90000),
];

/// The codecs of an m-section, in `formats` order (RFC 8866 §6.6, §6.15, RFC 4585 §4.2):
/// rtpmap, the first fmtp and the rtcp-fb lines (`rtcp-fb:*` applies to every format) per
/// payload type. A format that is not a payload type (0–127), repeats, or has no rtpmap and
/// is not an RFC 3551 static type is skipped; for a repeated rtpmap the first wins. Audio
/// codecs get `channels` (1 when the rtpmap has none). Never panics; time and memory are
/// linear in the section size.
pub fn read_codecs(media: &Media) -> Vec<RtpCodecParameters> {
    let audio = media.kind.eq_ignore_ascii_case("audio");
    let mut rtpmaps: [Option<(&str, u32, Option<u16>)>; 128] = [None; 128];
    let mut fmtps: [Option<&str>; 128] = [None; 128];
    let mut fbs: Vec<Vec<RtcpFeedback>> = vec![Vec::new(); 128];
    let mut wildcard_fb: Vec<RtcpFeedback> = Vec::new();
    for a in &media.attributes {
        match a {
            Attribute::Rtpmap {
                payload_type,
                encoding,
                clock_rate,
                channels,
            } => {
                if let Some(slot) = rtpmaps.get_mut(usize::from(*payload_type))
                    && slot.is_none()
                {
                    *slot = Some((encoding.as_str(), *clock_rate, *channels));
                }
            }
            Attribute::Fmtp {
                payload_type,
                params,
            } => {
                if let Some(slot) = fmtps.get_mut(usize::from(*payload_type))
                    && slot.is_none()
                {
                    *slot = Some(params.as_str());
                }
            }
            Attribute::RtcpFb {
                payload_type,
                fb_type,
                param,
            } => {
                let f = RtcpFeedback {
                    fb_type: fb_type.clone(),
                    parameter: param.clone(),
                };
                let list = match payload_type {
                    None => Some(&mut wildcard_fb),
                    Some(pt) => fbs.get_mut(usize::from(*pt)),
                };
                if let Some(list) = list
                    && !list.contains(&f)
                {
                    list.push(f);
                }
            }
            _ => {}
        }
    }

    let mut seen = [false; 128];
    let mut out = Vec::new();
    for fmt in &media.formats {
        let Ok(pt) = fmt.trim().parse::<u8>() else {
            continue;
        };
        let idx = usize::from(pt);
        if idx >= 128 || seen[idx] {
            continue;
        }
        seen[idx] = true;
        let (encoding, clock_rate, channels) = match rtpmaps[idx] {
            Some(r) => r,
            None => match STATIC_PAYLOAD_TYPES
                .iter()
                .find(|(spt, kind, ..)| *spt == pt && media.kind.eq_ignore_ascii_case(kind))
            {
                Some(&(_, _, enc, clock)) => (enc, clock, None),
                None => continue,
            },
        };
        let mut rtcp_feedback = fbs[idx].clone();
        for f in &wildcard_fb {
            if !rtcp_feedback.contains(f) {
                rtcp_feedback.push(f.clone());
            }
        }
        out.push(RtpCodecParameters {
            payload_type: pt,
            mime_type: format!("{}/{}", media.kind, encoding),
            clock_rate,
            channels: if audio {
                Some(channels.unwrap_or(1))
            } else {
                channels
            },
            sdp_fmtp_line: fmtps[idx].map(str::to_string),
            rtcp_feedback,
        });
    }
    out
}

/// An H.264 profile from `profile_idc` and `profile-iop` (RFC 6184 §8.1 Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H264Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    Extended,
    ConstrainedHigh,
    High,
    /// Any other (profile_idc, profile-iop) pair, compared exactly.
    Other(u8, u8),
}

/// A parsed `profile-level-id` (RFC 6184 §8.1): three hex bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProfileLevelId {
    idc: u8,
    iop: u8,
    level: u8,
}

impl ProfileLevelId {
    /// Parses the fmtp's `profile-level-id`; absent → `42000a` (Baseline 1.0, RFC 6184 §8.1);
    /// malformed → `None`.
    fn from_fmtp(fmtp: Option<&str>) -> Option<Self> {
        let s = fmtp_get(fmtp, "profile-level-id").unwrap_or("42000a");
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok());
        Some(ProfileLevelId {
            idc: byte(0)?,
            iop: byte(2)?,
            level: byte(4)?,
        })
    }

    fn profile(self) -> H264Profile {
        // (profile_idc, mask of the profile-iop bits that matter, their value, profile)
        const TABLE: &[(u8, u8, u8, H264Profile)] = &[
            (0x42, 0x4f, 0x40, H264Profile::ConstrainedBaseline),
            (0x4d, 0x8f, 0x80, H264Profile::ConstrainedBaseline),
            (0x58, 0xcf, 0xc0, H264Profile::ConstrainedBaseline),
            (0x42, 0x4f, 0x00, H264Profile::Baseline),
            (0x58, 0xcf, 0x80, H264Profile::Baseline),
            (0x4d, 0xaf, 0x00, H264Profile::Main),
            (0x58, 0xcf, 0x00, H264Profile::Extended),
            (0x64, 0xff, 0x00, H264Profile::High),
            (0x64, 0xff, 0x0c, H264Profile::ConstrainedHigh),
        ];
        TABLE
            .iter()
            .find(|(idc, mask, val, _)| *idc == self.idc && self.iop & mask == *val)
            .map_or(H264Profile::Other(self.idc, self.iop), |t| t.3)
    }

    /// Level 1b: `level_idc` 11 with constraint_set3 in Baseline/Main/Extended, or 9.
    fn is_level_1b(self) -> bool {
        self.level == 9
            || (self.level == 11 && self.iop & 0x10 != 0 && matches!(self.idc, 0x42 | 0x4d | 0x58))
    }

    /// An order on levels where 1b sits between 1.0 and 1.1.
    fn level_rank(self) -> u16 {
        if self.is_level_1b() {
            21
        } else {
            u16::from(self.level) * 2
        }
    }

    /// This profile with `other`'s level, encoded as RFC 6184 §8.1 asks (1b via
    /// constraint_set3 for Baseline/Main/Extended, else `level_idc` 9).
    fn with_level_of(self, other: ProfileLevelId) -> ProfileLevelId {
        let mut out = ProfileLevelId {
            idc: self.idc,
            iop: self.iop,
            level: other.level,
        };
        let uses_cs3 = matches!(self.idc, 0x42 | 0x4d | 0x58);
        if uses_cs3 && self.is_level_1b() {
            out.iop &= !0x10;
        }
        if other.is_level_1b() {
            if uses_cs3 {
                out.iop |= 0x10;
                out.level = 11;
            } else {
                out.level = 9;
            }
        }
        out
    }

    fn to_hex(self) -> String {
        format!("{:02x}{:02x}{:02x}", self.idc, self.iop, self.level)
    }
}

/// How well an offered codec matches a local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    None,
    /// Usable but not identical: an H.264 Constrained Baseline offer against our Baseline
    /// (a Baseline decoder decodes the Constrained Baseline subset).
    Compatible,
    Exact,
}

fn param_or<'a>(c: &'a RtpCodecParameters, key: &str, default: &'a str) -> &'a str {
    fmtp_get(c.sdp_fmtp_line.as_deref(), key).unwrap_or(default)
}

/// Codec matching for answers: MIME type (case-insensitive), clock rate, channels (absent =
/// 1), and the format parameters that select a different bitstream: H.264 profile and
/// packetization-mode (RFC 6184 §8.2.2, level may differ), VP9 `profile-id`
/// (RFC 9628 §6), AV1 `profile` (AV1 RTP spec §7.2).
fn codec_match(local: &RtpCodecParameters, offer: &RtpCodecParameters) -> Match {
    if !local.mime_type.eq_ignore_ascii_case(&offer.mime_type)
        || local.clock_rate != offer.clock_rate
        || local.channels.unwrap_or(1) != offer.channels.unwrap_or(1)
    {
        return Match::None;
    }
    let name = local.encoding_name().to_ascii_lowercase();
    match name.as_str() {
        "h264" => {
            if param_or(local, "packetization-mode", "0")
                != param_or(offer, "packetization-mode", "0")
            {
                return Match::None;
            }
            let (Some(l), Some(o)) = (
                ProfileLevelId::from_fmtp(local.sdp_fmtp_line.as_deref()),
                ProfileLevelId::from_fmtp(offer.sdp_fmtp_line.as_deref()),
            ) else {
                return Match::None;
            };
            match (l.profile(), o.profile()) {
                (a, b) if a == b => Match::Exact,
                (H264Profile::Baseline, H264Profile::ConstrainedBaseline) => Match::Compatible,
                _ => Match::None,
            }
        }
        "vp9" if param_or(local, "profile-id", "0") != param_or(offer, "profile-id", "0") => {
            Match::None
        }
        "av1" if param_or(local, "profile", "0") != param_or(offer, "profile", "0") => Match::None,
        "rtx" => Match::None,
        _ => Match::Exact,
    }
}

fn flag_set(c: &RtpCodecParameters, key: &str) -> bool {
    param_or(c, key, "0") == "1"
}

/// The fmtp line of the answer for `local` matched against `offer`: the local line, except
/// H.264, whose `profile-level-id` carries the offer's profile and the answer level of
/// RFC 6184 §8.2.2 (our level when both allow level asymmetry, else the lower one), and
/// `packetization-mode` the offer's; audio RED, whose fmtp names the offer's payload types.
fn answer_fmtp(local: &RtpCodecParameters, offer: &RtpCodecParameters) -> Option<String> {
    let name = local.encoding_name().to_ascii_lowercase();
    if name == "red" && offer.sdp_fmtp_line.is_some() {
        return offer.sdp_fmtp_line.clone();
    }
    if name != "h264" {
        return local.sdp_fmtp_line.clone();
    }
    let l = ProfileLevelId::from_fmtp(local.sdp_fmtp_line.as_deref())?;
    let o = ProfileLevelId::from_fmtp(offer.sdp_fmtp_line.as_deref())?;
    let asymmetry =
        flag_set(local, "level-asymmetry-allowed") && flag_set(offer, "level-asymmetry-allowed");
    let level_from = if asymmetry || l.level_rank() <= o.level_rank() {
        l
    } else {
        o
    };
    let plid = o.with_level_of(level_from).to_hex();
    let pmode = param_or(offer, "packetization-mode", "0").to_string();
    let mut parts: Vec<String> = Vec::new();
    let (mut has_plid, mut has_pmode) = (false, false);
    for (k, v) in fmtp_params(local.sdp_fmtp_line.as_deref().unwrap_or("")) {
        if k.eq_ignore_ascii_case("profile-level-id") {
            has_plid = true;
            parts.push(format!("{k}={plid}"));
        } else if k.eq_ignore_ascii_case("packetization-mode") {
            has_pmode = true;
            parts.push(format!("{k}={pmode}"));
        } else if v.is_empty() {
            parts.push(k.to_string());
        } else {
            parts.push(format!("{k}={v}"));
        }
    }
    if !has_pmode && pmode != "0" {
        parts.push(format!("packetization-mode={pmode}"));
    }
    if !has_plid {
        parts.push(format!("profile-level-id={plid}"));
    }
    Some(parts.join(";"))
}

/// The codecs of an answer (JSEP RFC 9429 §5.3.1): the offered codecs we support, with the
/// OFFER's payload types. Matching: see `codec_match` (H.264 profile + packetization-mode,
/// VP9 `profile-id`, AV1 `profile`; an exact local match is preferred over a compatible one).
/// RTX is kept only when its `apt` codec is kept and we have an RTX for the matched local
/// codec (its fmtp is `apt=<offer pt>`); audio RED only when the payload types it names are
/// kept. rtcp-fb is the intersection (in our order); fmtp is ours, adjusted for H.264
/// (see RFC 6184 §8.2.2) and audio RED.
///
/// Order: `use_local_order == false` gives the offer's order (no codec preferences set);
/// `true` gives the order of `local` (the transceiver has codec preferences: pass the result
/// of [`apply_codec_preferences`] as `local`), each RTX after its primary.
///
/// A repeated offer payload type is ignored after its first entry. Cost is
/// O(offer × local); an offer from [`read_codecs`] has at most 128 entries.
pub fn negotiate_answer_codecs(
    local: &[RtpCodecParameters],
    remote_offer: &[RtpCodecParameters],
    use_local_order: bool,
) -> Vec<RtpCodecParameters> {
    // (offer index, local index, answer codec) for each kept primary.
    let mut primaries: Vec<(usize, usize, RtpCodecParameters)> = Vec::new();
    let mut seen_pts = [false; 256];
    for (oi, o) in remote_offer.iter().enumerate() {
        if std::mem::replace(&mut seen_pts[usize::from(o.payload_type)], true) {
            continue;
        }
        if o.is_rtx() {
            continue;
        }
        let mut best: Option<(usize, Match)> = None;
        for (li, l) in local.iter().enumerate() {
            let m = codec_match(l, o);
            if m > best.map_or(Match::None, |b| b.1) {
                best = Some((li, m));
            }
        }
        let Some((li, _)) = best else { continue };
        let l = &local[li];
        let rtcp_feedback = l
            .rtcp_feedback
            .iter()
            .filter(|f| {
                o.rtcp_feedback.iter().any(|of| {
                    of.fb_type.eq_ignore_ascii_case(&f.fb_type)
                        && match (&of.parameter, &f.parameter) {
                            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                            (None, None) => true,
                            _ => false,
                        }
                })
            })
            .cloned()
            .collect();
        primaries.push((
            oi,
            li,
            RtpCodecParameters {
                payload_type: o.payload_type,
                mime_type: l.mime_type.clone(),
                clock_rate: o.clock_rate,
                channels: o.channels.or(l.channels),
                sdp_fmtp_line: answer_fmtp(l, o),
                rtcp_feedback,
            },
        ));
    }
    let kept: Vec<u8> = primaries.iter().map(|p| p.2.payload_type).collect();
    primaries.retain(|p| red_refs_present(&p.2, &kept));

    // RTX entries: (offer index, offer apt, answer codec).
    let mut rtx: Vec<(usize, u8, RtpCodecParameters)> = Vec::new();
    let mut seen_pts = [false; 256];
    for (oi, o) in remote_offer.iter().enumerate() {
        if std::mem::replace(&mut seen_pts[usize::from(o.payload_type)], true) {
            continue;
        }
        let Some(apt) = o.is_rtx().then(|| o.apt()).flatten() else {
            continue;
        };
        let Some(primary) = primaries.iter().find(|p| p.2.payload_type == apt) else {
            continue;
        };
        let local_pt = local[primary.1].payload_type;
        let Some(local_rtx) = local
            .iter()
            .find(|l| l.is_rtx() && l.apt() == Some(local_pt) && l.clock_rate == o.clock_rate)
        else {
            continue;
        };
        rtx.push((
            oi,
            apt,
            RtpCodecParameters {
                payload_type: o.payload_type,
                mime_type: local_rtx.mime_type.clone(),
                clock_rate: o.clock_rate,
                channels: o.channels,
                sdp_fmtp_line: Some(format!("apt={apt}")),
                rtcp_feedback: Vec::new(),
            },
        ));
    }

    if use_local_order {
        primaries.sort_by_key(|p| (p.1, p.0));
        let mut out = Vec::new();
        for (_, _, c) in primaries {
            let pt = c.payload_type;
            out.push(c);
            out.extend(rtx.iter().filter(|r| r.1 == pt).map(|r| r.2.clone()));
        }
        out
    } else {
        let mut all: Vec<(usize, RtpCodecParameters)> = primaries
            .into_iter()
            .map(|p| (p.0, p.2))
            .chain(rtx.into_iter().map(|r| (r.0, r.2)))
            .collect();
        all.sort_by_key(|e| e.0);
        all.into_iter().map(|e| e.1).collect()
    }
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
            attributes: vec![Attribute::Mid("1".into()), Attribute::RtcpMux],
        }
    }

    fn c(pt: u8, mime: &str, clock: u32, fmtp: Option<&str>) -> RtpCodecParameters {
        codec(pt, mime, clock, None, fmtp, vec![])
    }

    fn pts(codecs: &[RtpCodecParameters]) -> Vec<u8> {
        codecs.iter().map(|c| c.payload_type).collect()
    }

    fn rtpmap(pt: u8, encoding: &str, clock_rate: u32) -> Attribute {
        Attribute::Rtpmap {
            payload_type: pt,
            encoding: encoding.into(),
            clock_rate,
            channels: None,
        }
    }

    fn h264(pt: u8, fmtp: &str) -> RtpCodecParameters {
        codec(pt, "video/H264", 90000, None, Some(fmtp), video_feedback())
    }

    #[test]
    fn default_payload_types_are_chromiums() {
        assert_eq!(
            pts(&default_codecs(MediaKind::Audio)),
            vec![111, 63, 9, 0, 8, 13, 110, 126]
        );
        let video = default_codecs(MediaKind::Video);
        assert_eq!(
            pts(&video),
            vec![
                96, 97, 102, 103, 104, 107, 108, 109, 114, 115, 116, 117, 39, 40, 45, 46, 98, 99,
                100, 101, 112, 113, 118, 119, 120
            ]
        );
        let mut unique = pts(&video);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), video.len());
        // Every RTX directly follows the codec its apt names.
        for w in video.windows(2) {
            if w[1].is_rtx() {
                assert_eq!(w[1].apt(), Some(w[0].payload_type));
                assert!(!w[0].is_rtx());
            }
        }
        let vp8 = &video[0];
        assert_eq!(vp8.rtcp_feedback.len(), 5);
        assert!(vp8.rtcp_feedback.contains(&fb("nack", Some("pli"))));
    }

    #[test]
    fn write_codecs_uses_chromium_line_order() {
        let mut m = media("video");
        write_codecs(&mut m, &default_codecs(MediaKind::Video)[2..4]);
        assert_eq!(m.formats, vec!["102", "103"]);
        let lines: Vec<&Attribute> = m.attributes[2..].iter().collect();
        assert_eq!(lines.len(), 1 + 5 + 1 + 1 + 1);
        assert_eq!(*lines[0], rtpmap(102, "H264", 90000));
        assert!(
            matches!(lines[1], Attribute::RtcpFb { payload_type: Some(102), fb_type, .. } if fb_type == "goog-remb")
        );
        assert_eq!(
            *lines[6],
            Attribute::Fmtp {
                payload_type: 102,
                params: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"
                    .into()
            }
        );
        assert_eq!(*lines[7], rtpmap(103, "rtx", 90000));
        // Audio: channels only when more than one.
        let mut a = media("audio");
        write_codecs(&mut a, &default_codecs(MediaKind::Audio));
        assert!(a.attributes.contains(&Attribute::Rtpmap {
            payload_type: 111,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2)
        }));
        assert!(a.attributes.contains(&rtpmap(0, "PCMU", 8000)));
    }

    #[test]
    fn write_read_round_trip() {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let mut m = media(kind.as_str());
            let codecs = default_codecs(kind);
            write_codecs(&mut m, &codecs);
            assert_eq!(read_codecs(&m), codecs, "{kind}");
            // Rewriting replaces the codec lines instead of appending.
            write_codecs(&mut m, &codecs[..1]);
            assert_eq!(read_codecs(&m), codecs[..1].to_vec());
            assert!(m.has(&Attribute::RtcpMux));
        }
    }

    #[test]
    fn read_static_payload_types_without_rtpmap() {
        let mut m = media("audio");
        m.formats = vec!["0".into(), "8".into(), "9".into(), "101".into()];
        m.attributes.push(Attribute::Rtpmap {
            payload_type: 101,
            encoding: "telephone-event".into(),
            clock_rate: 8000,
            channels: None,
        });
        let got = read_codecs(&m);
        let caps: Vec<(u8, &str, u32, Option<u16>)> = got
            .iter()
            .map(|c| {
                (
                    c.payload_type,
                    c.mime_type.as_str(),
                    c.clock_rate,
                    c.channels,
                )
            })
            .collect();
        assert_eq!(
            caps,
            vec![
                (0, "audio/PCMU", 8000, Some(1)),
                (8, "audio/PCMA", 8000, Some(1)),
                (9, "audio/G722", 8000, Some(1)),
                (101, "audio/telephone-event", 8000, Some(1)),
            ]
        );
        // Static audio types do not apply in a video section.
        let mut v = media("video");
        v.formats = vec!["0".into()];
        assert!(read_codecs(&v).is_empty());
    }

    #[test]
    fn read_codecs_hostile_input() {
        let mut m = media("video");
        m.formats = ["96", "abc", "300", "-1", "96", "200", "127", "", "97", "98"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        m.attributes.extend([
            rtpmap(96, "VP8", 90000),
            rtpmap(96, "H264", 90000), // duplicate rtpmap: the first wins
            rtpmap(200, "VP9", 90000), // not a valid payload type
            Attribute::Fmtp {
                payload_type: 50, // fmtp for an unknown pt
                params: "apt=96".into(),
            },
            Attribute::Fmtp {
                payload_type: 200,
                params: "x".into(),
            },
            Attribute::RtcpFb {
                payload_type: None,
                fb_type: "nack".into(),
                param: None,
            },
            Attribute::RtcpFb {
                payload_type: Some(96),
                fb_type: "nack".into(),
                param: None,
            },
            Attribute::RtcpFb {
                payload_type: Some(255),
                fb_type: "ccm".into(),
                param: Some("fir".into()),
            },
            rtpmap(97, "rtx", 90000), // rtx without fmtp
            rtpmap(98, "", 0),        // empty encoding: kept as written
        ]);
        let got = read_codecs(&m);
        assert_eq!(pts(&got), vec![96, 97, 98]);
        assert_eq!(got[0].mime_type, "video/VP8");
        assert_eq!(got[0].rtcp_feedback, vec![fb("nack", None)]);
        assert_eq!(got[1].apt(), None);
        // Such codecs negotiate to nothing instead of panicking.
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &got, false);
        assert_eq!(pts(&answer), vec![96]);
        assert!(read_codecs(&media("video")).is_empty());
    }

    #[test]
    fn opus_only_offer() {
        let offer = vec![codec(
            109,
            "audio/OPUS",
            48000,
            Some(2),
            Some("minptime=10;useinbandfec=1;stereo=1"),
            vec![fb("transport-cc", None), fb("nack", None)],
        )];
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Audio), &offer, false);
        assert_eq!(answer.len(), 1);
        assert_eq!(answer[0].payload_type, 109);
        assert_eq!(answer[0].mime_type, "audio/opus");
        assert_eq!(answer[0].channels, Some(2));
        assert_eq!(
            answer[0].sdp_fmtp_line.as_deref(),
            Some("minptime=10;useinbandfec=1")
        );
        assert_eq!(answer[0].rtcp_feedback, vec![fb("transport-cc", None)]);
    }

    #[test]
    fn h264_constrained_baseline_offer_matches_local_baseline() {
        let local = vec![
            h264(
                102,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
            ),
            rtx_codec(103, 102),
        ];
        let offer = vec![
            h264(
                100,
                "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
            ),
            rtx_codec(101, 100),
        ];
        let answer = negotiate_answer_codecs(&local, &offer, false);
        assert_eq!(pts(&answer), vec![100, 101]);
        assert_eq!(
            answer[0].sdp_fmtp_line.as_deref(),
            Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
        );
        assert_eq!(answer[1].apt(), Some(100));
        // The reverse (Baseline offered, only Constrained Baseline here) does not match.
        let local_cb = vec![h264(108, "packetization-mode=1;profile-level-id=42e01f")];
        let offer_b = vec![h264(100, "packetization-mode=1;profile-level-id=42001f")];
        assert!(negotiate_answer_codecs(&local_cb, &offer_b, false).is_empty());
    }

    #[test]
    fn h264_high_offer_does_not_match_constrained_baseline() {
        let local = vec![h264(
            108,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        )];
        let offer = vec![h264(
            100,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032",
        )];
        assert!(negotiate_answer_codecs(&local, &offer, false).is_empty());
        // Against our defaults it matches the High 64001f entry, with our level.
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &offer, false);
        assert_eq!(pts(&answer), vec![100]);
        assert_eq!(
            fmtp_get(answer[0].sdp_fmtp_line.as_deref(), "profile-level-id"),
            Some("64001f")
        );
    }

    #[test]
    fn h264_packetization_mode_and_level() {
        let local = vec![h264(
            108,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        )];
        // packetization-mode absent means 0: no match with mode 1.
        let offer = vec![h264(100, "profile-level-id=42e01f")];
        assert!(negotiate_answer_codecs(&local, &offer, false).is_empty());
        // Without level asymmetry the answer level is the lower one (RFC 6184 §8.2.2).
        let offer = vec![h264(100, "packetization-mode=1;profile-level-id=42e00d")];
        let answer = negotiate_answer_codecs(&local, &offer, false);
        assert_eq!(
            fmtp_get(answer[0].sdp_fmtp_line.as_deref(), "profile-level-id"),
            Some("42e00d")
        );
        // With it on both sides, our level.
        let offer = vec![h264(
            100,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e034",
        )];
        let answer = negotiate_answer_codecs(&local, &offer, false);
        assert_eq!(
            fmtp_get(answer[0].sdp_fmtp_line.as_deref(), "profile-level-id"),
            Some("42e01f")
        );
        // Level 1b (constraint_set3 + level 11) is below 1.1 and kept as 1b.
        let offer = vec![h264(100, "packetization-mode=1;profile-level-id=42f00b")];
        let answer = negotiate_answer_codecs(&local, &offer, false);
        assert_eq!(
            fmtp_get(answer[0].sdp_fmtp_line.as_deref(), "profile-level-id"),
            Some("42f00b")
        );
        // A malformed profile-level-id matches nothing.
        let offer = vec![h264(100, "packetization-mode=1;profile-level-id=42é01")];
        assert!(negotiate_answer_codecs(&local, &offer, false).is_empty());
    }

    #[test]
    fn vp9_profile_2_only() {
        let offer = vec![
            c(121, "video/VP9", 90000, Some("profile-id=2")),
            rtx_codec(122, 121),
        ];
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &offer, false);
        assert_eq!(pts(&answer), vec![121, 122]);
        assert_eq!(answer[0].sdp_fmtp_line.as_deref(), Some("profile-id=2"));
        assert_eq!(answer[1].sdp_fmtp_line.as_deref(), Some("apt=121"));
        // Profile 2 is not matched by a profile-0-only local list; no profile-id means 0.
        let local: Vec<_> = default_codecs(MediaKind::Video)[16..18].to_vec();
        assert_eq!(local[0].sdp_fmtp_line.as_deref(), Some("profile-id=0"));
        assert!(negotiate_answer_codecs(&local, &offer, false).is_empty());
        let offer0 = vec![c(121, "video/VP9", 90000, None)];
        assert_eq!(
            pts(&negotiate_answer_codecs(&local, &offer0, false)),
            vec![121]
        );
    }

    #[test]
    fn av1_profile_matching() {
        let local = default_codecs(MediaKind::Video);
        let offer = vec![
            c(35, "video/AV1", 90000, None),
            c(36, "video/AV1", 90000, Some("profile=1")),
        ];
        assert_eq!(
            pts(&negotiate_answer_codecs(&local, &offer, false)),
            vec![35]
        );
    }

    #[test]
    fn rtx_apt_remapped_to_offer_payload_types() {
        // A Firefox-like offer: different payload types, an RTX before its primary, an RTX
        // for an unknown codec and one whose apt names nothing.
        let offer = vec![
            c(120, "video/VP8", 90000, Some("max-fs=12288;max-fr=60")),
            rtx_codec(124, 120),
            rtx_codec(119, 126),
            h264(
                126,
                "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
            ),
            c(50, "video/X-UNKNOWN", 90000, None),
            rtx_codec(51, 50),
            rtx_codec(52, 77),
            c(122, "video/red", 90000, None),
            rtx_codec(123, 122),
            c(125, "video/ulpfec", 90000, None),
        ];
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &offer, false);
        assert_eq!(pts(&answer), vec![120, 124, 119, 126, 122, 123, 125]);
        let apts: Vec<(u8, Option<u8>)> = answer
            .iter()
            .filter(|c| c.is_rtx())
            .map(|c| (c.payload_type, c.apt()))
            .collect();
        assert_eq!(
            apts,
            vec![(124, Some(120)), (119, Some(126)), (123, Some(122))]
        );
        // Our fmtp for VP8 (none), not the offer's.
        assert_eq!(answer[0].sdp_fmtp_line, None);
        // The offer carried no rtcp-fb, so the intersection is empty.
        assert!(answer[0].rtcp_feedback.is_empty());
    }

    #[test]
    fn unknown_codec_ignored_and_rtcp_fb_intersected() {
        let offer = vec![
            c(96, "video/foo", 90000, None),
            codec(
                97,
                "video/vp8",
                90000,
                None,
                None,
                vec![
                    fb("nack", None),
                    fb("nack", Some("pli")),
                    fb("x-custom", None),
                ],
            ),
            c(98, "video/VP8", 48000, None),
        ];
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &offer, false);
        assert_eq!(pts(&answer), vec![97]);
        assert_eq!(
            answer[0].rtcp_feedback,
            vec![fb("nack", None), fb("nack", Some("pli"))]
        );
    }

    #[test]
    fn duplicate_offer_payload_types_first_wins() {
        let offer = vec![
            c(96, "video/VP8", 90000, None),
            c(96, "video/VP9", 90000, None),
        ];
        let answer = negotiate_answer_codecs(&default_codecs(MediaKind::Video), &offer, false);
        assert_eq!(answer.len(), 1);
        assert_eq!(answer[0].mime_type, "video/VP8");
    }

    #[test]
    fn audio_red_needs_its_primary() {
        let local = default_codecs(MediaKind::Audio);
        let offer = vec![
            codec(63, "audio/red", 48000, Some(2), Some("111/111"), vec![]),
            codec(0, "audio/PCMU", 8000, None, None, vec![]),
        ];
        assert_eq!(
            pts(&negotiate_answer_codecs(&local, &offer, false)),
            vec![0]
        );
        let offer = vec![
            codec(100, "audio/opus", 48000, Some(2), None, vec![]),
            codec(101, "audio/red", 48000, Some(2), Some("100/100"), vec![]),
        ];
        let answer = negotiate_answer_codecs(&local, &offer, false);
        assert_eq!(pts(&answer), vec![100, 101]);
        assert_eq!(answer[1].sdp_fmtp_line.as_deref(), Some("100/100"));
    }

    #[test]
    fn answer_in_local_preference_order() {
        let prefs: Vec<RtpCodecCapability> = vec![
            h264(
                0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            )
            .capability(),
            c(0, "video/VP8", 90000, None).capability(),
            c(0, "video/rtx", 90000, None).capability(),
        ];
        let local = apply_codec_preferences(MediaKind::Video, &prefs);
        assert_eq!(pts(&local), vec![108, 109, 96, 97]);
        let offer = default_codecs(MediaKind::Video);
        assert_eq!(
            pts(&negotiate_answer_codecs(&local, &offer, true)),
            vec![108, 109, 96, 97]
        );
        // Offer order when no preferences are set.
        assert_eq!(
            pts(&negotiate_answer_codecs(&local, &offer, false)),
            vec![96, 97, 108, 109]
        );
    }

    #[test]
    fn full_chromium_offer_answers_itself() {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let ours = default_codecs(kind);
            assert_eq!(negotiate_answer_codecs(&ours, &ours, false), ours, "{kind}");
        }
    }

    /// A small deterministic PRNG (xorshift64*) so the random test is reproducible.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            // The slices passed here are never empty.
            &items[(self.next() % items.len() as u64) as usize]
        }
    }

    fn random_media(rng: &mut Rng) -> Media {
        const PTS: &[&str] = &[
            "0", "8", "9", "13", "63", "96", "97", "98", "100", "101", "111", "127", "128", "255",
            "-1", "abc", "", " 96", "300",
        ];
        const ENCODINGS: &[&str] = &[
            "VP8",
            "vp8",
            "H264",
            "rtx",
            "RTX",
            "red",
            "ulpfec",
            "opus",
            "",
            "a/b",
            "VP9",
            "AV1",
            "PCMU",
            "telephone-event",
        ];
        const FMTPS: &[&str] = &[
            "apt=96",
            "apt=",
            "apt=300",
            "apt=97",
            "profile-level-id=42e01f;packetization-mode=1",
            "profile-level-id=zz",
            "profile-level-id=\u{e9}\u{20ac}a",
            "profile-level-id=42f00b;level-asymmetry-allowed=1",
            "111/111",
            "96/",
            "/",
            ";;;=",
            "=",
            "profile-id=2",
            "profile=1",
            "level-asymmetry-allowed=1;profile-level-id=640c0b;packetization-mode=1",
        ];
        const URIS: &[&str] = &[
            super::super::extensions::SDES_MID,
            super::super::extensions::TRANSPORT_CC,
            super::super::extensions::ENCRYPT_URN,
            "",
            "urn:x",
        ];
        const KINDS: &[&str] = &["audio", "video", "application", "x"];
        let kind: &&str = rng.pick(KINDS);
        let mut m = media(kind);
        if rng.next() % 2 == 0 {
            // Mutate a well-formed section so the deeper negotiation paths are reached.
            let kind = *rng.pick(&[MediaKind::Audio, MediaKind::Video]);
            m.kind = kind.as_str().to_string();
            write_codecs(&mut m, &default_codecs(kind));
            for _ in 0..rng.next() % 6 {
                if m.attributes.is_empty() {
                    break;
                }
                let i = (rng.next() % m.attributes.len() as u64) as usize;
                m.attributes.remove(i);
            }
            for _ in 0..rng.next() % 4 {
                if m.formats.is_empty() {
                    break;
                }
                let i = (rng.next() % m.formats.len() as u64) as usize;
                m.formats.remove(i);
            }
        }
        for _ in 0..rng.next() % 12 {
            m.formats.push(rng.pick(PTS).to_string());
        }
        for _ in 0..rng.next() % 24 {
            let pt = *rng.pick(&[0u8, 8, 63, 96, 97, 98, 111, 200, 255]);
            let attr = match rng.next() % 5 {
                0 => Attribute::Rtpmap {
                    payload_type: pt,
                    encoding: rng.pick(ENCODINGS).to_string(),
                    clock_rate: *rng.pick(&[0, 8000, 48000, 90000, u32::MAX]),
                    channels: *rng.pick(&[None, Some(0), Some(1), Some(2), Some(u16::MAX)]),
                },
                1 => Attribute::Fmtp {
                    payload_type: pt,
                    params: rng.pick(FMTPS).to_string(),
                },
                2 => Attribute::RtcpFb {
                    payload_type: *rng.pick(&[None, Some(pt)]),
                    fb_type: rng.pick(&["nack", "ccm", "transport-cc", ""]).to_string(),
                    param: rng
                        .pick(&[None, Some("pli"), Some("fir")])
                        .map(str::to_string),
                },
                3 => Attribute::Extmap {
                    id: *rng.pick(&[0, 1, 3, 14, 15, 255, 256, u16::MAX]),
                    direction: None,
                    uri: rng.pick(URIS).to_string(),
                    attributes: rng
                        .pick(&[None, Some(""), Some("urn:y a b")])
                        .map(str::to_string),
                },
                _ => Attribute::RtcpMux,
            };
            m.attributes.push(attr);
        }
        m
    }

    #[test]
    fn random_hostile_sections_keep_invariants() {
        use super::super::extensions::{
            default_header_extensions, negotiate_header_extensions, read_extmaps,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut nonempty_answers, mut rtx_answers) = (0, 0);
        for _ in 0..2000 {
            let m = random_media(&mut rng);
            let offer = read_codecs(&m);
            let mut offer_pts = pts(&offer);
            for pt in &offer_pts {
                assert!(m.formats.iter().any(|f| f.trim() == pt.to_string()));
            }
            offer_pts.sort();
            offer_pts.dedup();
            assert_eq!(offer_pts.len(), offer.len(), "payload types are unique");
            for kind in [MediaKind::Audio, MediaKind::Video] {
                let local = default_codecs(kind);
                for local_order in [false, true] {
                    for answer in [
                        negotiate_answer_codecs(&local, &offer, local_order),
                        negotiate_answer_codecs(&offer, &local, local_order),
                    ] {
                        let apts = pts(&answer);
                        nonempty_answers += usize::from(!answer.is_empty());
                        rtx_answers += usize::from(answer.iter().any(|c| c.is_rtx()));
                        for c in &answer {
                            assert!(c.payload_type < 128);
                            if c.is_rtx() {
                                assert!(c.apt().is_some_and(|a| apts.contains(&a)), "{c:?}");
                            }
                        }
                        let mut sorted = apts.clone();
                        sorted.sort();
                        sorted.dedup();
                        assert_eq!(sorted.len(), apts.len());
                    }
                }
                let exts = read_extmaps(&m);
                assert!(exts.iter().all(|e| (1..=255).contains(&e.id)));
                let answer = negotiate_header_extensions(&default_header_extensions(kind), &exts);
                assert!(answer.iter().all(|e| exts.contains(e)));
            }
            let mut w = media(&m.kind);
            write_codecs(&mut w, &offer);
            assert_eq!(pts(&read_codecs(&w)), pts(&offer));
        }
        // The generator reaches the interesting paths, not only empty results.
        assert!(nonempty_answers > 500, "{nonempty_answers}");
        assert!(rtx_answers > 20, "{rtx_answers}");
    }

    fn fmtp_attr(pt: u8, params: &str) -> Attribute {
        Attribute::Fmtp {
            payload_type: pt,
            params: params.into(),
        }
    }

    fn fb_attr(pt: u8, fb_type: &str, param: Option<&str>) -> Attribute {
        Attribute::RtcpFb {
            payload_type: Some(pt),
            fb_type: fb_type.into(),
            param: param.map(str::to_string),
        }
    }

    /// A Firefox-like offer given to Chromium 156 (Debian build, no H.264 High) with
    /// `setRemoteDescription` + `createAnswer`; the expected values are that real answer.
    #[test]
    fn answers_like_chromium_156() {
        let mut audio = media("audio");
        audio.formats = ["109", "101", "9", "0", "8"].map(String::from).to_vec();
        audio.attributes.extend([
            Attribute::Rtpmap {
                payload_type: 109,
                encoding: "opus".into(),
                clock_rate: 48000,
                channels: Some(2),
            },
            fmtp_attr(109, "maxplaybackrate=48000;stereo=1;useinbandfec=1"),
            fb_attr(109, "nack", None),
            fb_attr(109, "transport-cc", None),
            rtpmap(101, "telephone-event", 8000),
            fmtp_attr(101, "0-15"),
        ]);
        let answer = negotiate_answer_codecs(
            &default_codecs(MediaKind::Audio),
            &read_codecs(&audio),
            false,
        );
        let mut got = media("audio");
        write_codecs(&mut got, &answer);
        assert_eq!(got.formats, ["109", "101", "9", "0", "8"]);
        assert_eq!(
            got.attributes[2..],
            [
                Attribute::Rtpmap {
                    payload_type: 109,
                    encoding: "opus".into(),
                    clock_rate: 48000,
                    channels: Some(2),
                },
                fb_attr(109, "transport-cc", None),
                fmtp_attr(109, "minptime=10;useinbandfec=1"),
                rtpmap(101, "telephone-event", 8000),
                rtpmap(9, "G722", 8000),
                rtpmap(0, "PCMU", 8000),
                rtpmap(8, "PCMA", 8000),
            ]
        );

        let mut video = media("video");
        video.formats = [
            "120", "124", "121", "125", "126", "127", "97", "98", "123", "122", "119",
        ]
        .map(String::from)
        .to_vec();
        video.attributes.extend([
            rtpmap(120, "VP8", 90000),
            fmtp_attr(120, "max-fs=12288;max-fr=60"),
            fb_attr(120, "nack", None),
            fb_attr(120, "nack", Some("pli")),
            fb_attr(120, "ccm", Some("fir")),
            fb_attr(120, "goog-remb", None),
            rtpmap(124, "rtx", 90000),
            fmtp_attr(124, "apt=120"),
            rtpmap(121, "VP9", 90000),
            fmtp_attr(121, "max-fs=12288;max-fr=60;profile-id=2"),
            fb_attr(121, "nack", None),
            rtpmap(125, "rtx", 90000),
            fmtp_attr(125, "apt=121"),
            rtpmap(126, "H264", 90000),
            fmtp_attr(
                126,
                "profile-level-id=42e034;level-asymmetry-allowed=1;packetization-mode=1",
            ),
            fb_attr(126, "nack", None),
            rtpmap(127, "rtx", 90000),
            fmtp_attr(127, "apt=126"),
            rtpmap(97, "H264", 90000),
            fmtp_attr(97, "profile-level-id=42e00d;packetization-mode=0"),
            fb_attr(97, "nack", None),
            rtpmap(98, "H264", 90000),
            fmtp_attr(
                98,
                "profile-level-id=640032;packetization-mode=1;level-asymmetry-allowed=1",
            ),
            rtpmap(123, "rtx", 90000),
            fmtp_attr(123, "apt=98"),
            rtpmap(122, "red", 90000),
            rtpmap(119, "rtx", 90000),
            fmtp_attr(119, "apt=122"),
        ]);
        // That Chromium build has no H.264 High: leave 64001f (112/113) out to compare.
        let local: Vec<_> = default_codecs(MediaKind::Video)
            .into_iter()
            .filter(|c| c.payload_type != 112 && c.payload_type != 113)
            .collect();
        let answer = negotiate_answer_codecs(&local, &read_codecs(&video), false);
        let mut got = media("video");
        write_codecs(&mut got, &answer);
        assert_eq!(
            got.formats,
            ["120", "124", "121", "125", "126", "127", "97", "122", "119"]
        );
        assert_eq!(
            got.attributes[2..],
            [
                rtpmap(120, "VP8", 90000),
                fb_attr(120, "goog-remb", None),
                fb_attr(120, "ccm", Some("fir")),
                fb_attr(120, "nack", None),
                fb_attr(120, "nack", Some("pli")),
                rtpmap(124, "rtx", 90000),
                fmtp_attr(124, "apt=120"),
                rtpmap(121, "VP9", 90000),
                fb_attr(121, "nack", None),
                fmtp_attr(121, "profile-id=2"),
                rtpmap(125, "rtx", 90000),
                fmtp_attr(125, "apt=121"),
                rtpmap(126, "H264", 90000),
                fb_attr(126, "nack", None),
                fmtp_attr(
                    126,
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                ),
                rtpmap(127, "rtx", 90000),
                fmtp_attr(127, "apt=126"),
                rtpmap(97, "H264", 90000),
                fb_attr(97, "nack", None),
                fmtp_attr(
                    97,
                    "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e00d",
                ),
                rtpmap(122, "red", 90000),
                rtpmap(119, "rtx", 90000),
                fmtp_attr(119, "apt=122"),
            ]
        );
    }

    #[test]
    fn h264_profile_table() {
        let profile = |s: &str| {
            ProfileLevelId::from_fmtp(Some(&format!("profile-level-id={s}"))).map(|p| p.profile())
        };
        use H264Profile::*;
        for (plid, want) in [
            ("42e01f", ConstrainedBaseline),
            ("42401f", ConstrainedBaseline),
            ("4d801f", ConstrainedBaseline),
            ("58c01f", ConstrainedBaseline),
            ("42001f", Baseline),
            ("42a01f", Baseline),
            ("58801f", Baseline),
            ("4d001f", Main),
            ("4d401f", Main),
            ("58001f", Extended),
            ("640c1f", ConstrainedHigh),
            ("64001f", High),
            ("F4001F", Other(0xf4, 0x00)),
        ] {
            assert_eq!(profile(plid), Some(want), "{plid}");
        }
        for bad in ["42e01", "42e01f0", "zz0000", "", "+1e01f"] {
            assert_eq!(profile(bad), None, "{bad}");
        }
        assert_eq!(
            ProfileLevelId::from_fmtp(None).map(|p| (p.profile(), p.level)),
            Some((Baseline, 10))
        );
        let rank = |s: &str| {
            ProfileLevelId::from_fmtp(Some(&format!("profile-level-id={s}")))
                .unwrap()
                .level_rank()
        };
        assert!(rank("42e00a") < rank("42f00b") && rank("42f00b") < rank("42e00b"));
        assert!(rank("640009") < rank("64000b"));
        // constraint_set3 + level 11 is not 1b in High 10.
        assert_eq!(rank("6e100b"), rank("6e000b"));
    }
}
