//! Media at the signaling level: codecs, RTP header extensions and the W3C capability
//! dictionaries (webrtc-pc §5.2–§5.4), plus the glue that writes and reads them in an
//! m-section and negotiates them in an answer (JSEP RFC 9429 §5.2.1, §5.3.1).
//!
//! No packetizers here: this module only decides which payload types and extension ids an
//! m-section carries.

pub mod extensions;
pub mod parameters;

pub use extensions::{
    default_header_extensions, negotiate_header_extensions, read_extmaps, write_extmaps,
};
pub use parameters::{
    apply_codec_preferences, default_codecs, negotiate_answer_codecs, read_codecs,
    validate_codec_preferences, write_codecs,
};

use serde::{Deserialize, Serialize};

use crate::enums::w3c_enum;

w3c_enum! {
    /// `MediaStreamTrackState` (mediacapture-main §4.3.1).
    pub enum MediaStreamTrackState {
        /// The track can produce media.
        Live = "live",
        /// The track has ended for good.
        Ended = "ended",
    }
}

w3c_enum! {
    /// The kind of a media track or transceiver (W3C mediacapture-streams `MediaStreamTrack.kind`).
    pub enum MediaKind {
        /// `"audio"`.
        Audio = "audio",
        /// `"video"`.
        Video = "video",
    }
}

/// `RTCRtpCodec` / `RTCRtpCodecCapability` (webrtc-pc §5.2): a codec without a payload type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecCapability {
    /// `type/subtype`, e.g. `video/VP8` (compared ASCII-case-insensitively).
    pub mime_type: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count; present for audio codecs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters of the codec, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_fmtp_line: Option<String>,
}

/// `RTCRtpHeaderExtensionCapability` (webrtc-pc §5.2.4): a supported RTP header extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtensionCapability {
    /// The extension URI (RFC 8285 §5).
    pub uri: String,
}

/// `RTCRtpCapabilities` (webrtc-pc §5.2.3): what `getCapabilities(kind)` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCapabilities {
    /// Each supported codec once (RTX listed once per kind, without `apt`).
    pub codecs: Vec<RtpCodecCapability>,
    /// The supported header extensions.
    pub header_extensions: Vec<RtpHeaderExtensionCapability>,
}

/// `RTCRtcpFeedback` (ORTC / webrtc-pc history): one `a=rtcp-fb` entry (RFC 4585 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RtcpFeedback {
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, …
    #[serde(rename = "type")]
    pub fb_type: String,
    /// `pli`, `fir`, … when the feedback type has a parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// `RTCRtpCodecParameters` (webrtc-pc §5.2.2): a negotiated codec with its payload type.
/// `rtcp_feedback` is rtcpeer's addition that carries the codec's `a=rtcp-fb` lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecParameters {
    /// The RTP payload type (0–127).
    pub payload_type: u8,
    /// `type/subtype`, e.g. `audio/opus`.
    pub mime_type: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count; present for audio codecs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_fmtp_line: Option<String>,
    /// The `a=rtcp-fb` entries for this payload type, in SDP order.
    #[serde(default)]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

/// `RTCRtpHeaderExtensionParameters` (webrtc-pc §5.2.5): a negotiated extension and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtensionParameters {
    /// The extension URI (RFC 8285 §5).
    pub uri: String,
    /// The negotiated id (1–14 one-byte form, up to 255 two-byte form, RFC 8285 §4).
    pub id: u16,
    /// Whether the extension is encrypted (RFC 6904).
    #[serde(default)]
    pub encrypted: bool,
}

impl RtpCodecParameters {
    /// This codec as a capability (drops the payload type and feedback).
    pub fn capability(&self) -> RtpCodecCapability {
        RtpCodecCapability {
            mime_type: self.mime_type.clone(),
            clock_rate: self.clock_rate,
            channels: self.channels,
            sdp_fmtp_line: self.sdp_fmtp_line.clone(),
        }
    }

    /// The encoding name: the subtype of the MIME type (`VP8` for `video/VP8`).
    pub fn encoding_name(&self) -> &str {
        subtype(&self.mime_type)
    }

    /// Whether this is a retransmission codec (`rtx`, RFC 4588).
    pub fn is_rtx(&self) -> bool {
        self.encoding_name().eq_ignore_ascii_case("rtx")
    }

    /// For RTX, the `apt` (associated payload type) from the fmtp line (RFC 4588 §8.6).
    pub fn apt(&self) -> Option<u8> {
        parameters::fmtp_get(self.sdp_fmtp_line.as_deref(), "apt")?
            .parse()
            .ok()
    }
}

/// The subtype of a `type/subtype` MIME type (the whole string when there is no `/`).
fn subtype(mime: &str) -> &str {
    mime.split_once('/').map_or(mime, |(_, s)| s)
}

/// Whether a MIME type names a redundancy or repair codec (rtx, red, ulpfec, flexfec): such
/// codecs carry no media by themselves (webrtc-pc §5.4 setCodecPreferences).
fn is_resiliency_mime(mime: &str) -> bool {
    let s = subtype(mime).to_ascii_lowercase();
    s == "rtx" || s == "red" || s == "ulpfec" || s.starts_with("flexfec")
}

/// A codec as `getCapabilities` lists it: like Chromium, RTX and RED without their fmtp
/// (which only names payload types).
fn advertised_capability(c: &RtpCodecParameters) -> RtpCodecCapability {
    let mut cap = c.capability();
    let name = c.encoding_name();
    if name.eq_ignore_ascii_case("rtx") || name.eq_ignore_ascii_case("red") {
        cap.sdp_fmtp_line = None;
    }
    cap
}

/// The codec set of capabilities: each default codec once, RTX once without `apt`.
fn codec_capabilities(kind: MediaKind) -> Vec<RtpCodecCapability> {
    let mut out: Vec<RtpCodecCapability> = Vec::new();
    for c in default_codecs(kind) {
        let cap = advertised_capability(&c);
        if !out.contains(&cap) {
            out.push(cap);
        }
    }
    out
}

fn capabilities(kind: &str) -> Option<RtpCapabilities> {
    let kind: MediaKind = kind.parse().ok()?;
    Some(RtpCapabilities {
        codecs: codec_capabilities(kind),
        header_extensions: default_header_extensions(kind)
            .into_iter()
            .map(|e| RtpHeaderExtensionCapability { uri: e.uri })
            .collect(),
    })
}

/// `RTCRtpSender.getCapabilities(kind)` (webrtc-pc §5.2): `None` (JS `null`) for an unknown
/// kind such as `"dummy"`. rtcpeer sends and receives the same codec set.
pub fn sender_capabilities(kind: &str) -> Option<RtpCapabilities> {
    capabilities(kind)
}

/// `RTCRtpReceiver.getCapabilities(kind)` (webrtc-pc §5.3): `None` for an unknown kind.
pub fn receiver_capabilities(kind: &str) -> Option<RtpCapabilities> {
    capabilities(kind)
}

/// The webrtc-pc §5.4 "codec dictionary match": MIME type case-insensitively, clock rate,
/// channels and sdpFmtpLine exactly (absent only matches absent).
pub fn codec_dictionary_match(a: &RtpCodecCapability, b: &RtpCodecCapability) -> bool {
    a.mime_type.eq_ignore_ascii_case(&b.mime_type)
        && a.clock_rate == b.clock_rate
        && a.channels == b.channels
        && a.sdp_fmtp_line == b.sdp_fmtp_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::sdp::{Attribute, Media};

    fn cap(
        mime: &str,
        clock: u32,
        channels: Option<u16>,
        fmtp: Option<&str>,
    ) -> RtpCodecCapability {
        RtpCodecCapability {
            mime_type: mime.into(),
            clock_rate: clock,
            channels,
            sdp_fmtp_line: fmtp.map(str::to_string),
        }
    }

    fn caps(kind: &str) -> Vec<RtpCodecCapability> {
        receiver_capabilities(kind).expect("known kind").codecs
    }

    fn media(kind: &str) -> Media {
        Media {
            kind: kind.into(),
            port: 9,
            num_ports: None,
            proto: "UDP/TLS/RTP/SAVPF".into(),
            formats: vec![],
            extra_lines: vec![],
            connection: None,
            bandwidths: vec![],
            attributes: vec![],
        }
    }

    fn first_rtpmap(m: &Media) -> Option<(u8, String)> {
        m.find_attr(|a| match a {
            Attribute::Rtpmap {
                payload_type,
                encoding,
                ..
            } => Some((*payload_type, encoding.clone())),
            _ => None,
        })
    }

    #[test]
    fn audio_capabilities_match_chromium() {
        let got = caps("audio");
        let want = vec![
            cap(
                "audio/opus",
                48000,
                Some(2),
                Some("minptime=10;useinbandfec=1"),
            ),
            cap("audio/red", 48000, Some(2), None),
            cap("audio/G722", 8000, Some(1), None),
            cap("audio/PCMU", 8000, Some(1), None),
            cap("audio/PCMA", 8000, Some(1), None),
            cap("audio/CN", 8000, Some(1), None),
            cap("audio/telephone-event", 48000, Some(1), None),
            cap("audio/telephone-event", 8000, Some(1), None),
        ];
        assert_eq!(got, want);
        let exts: Vec<String> = receiver_capabilities("audio")
            .unwrap()
            .header_extensions
            .into_iter()
            .map(|e| e.uri)
            .collect();
        assert_eq!(exts.len(), 4);
        assert!(exts.contains(&extensions::SDES_MID.to_string()));
    }

    #[test]
    fn video_capabilities_list_each_codec_and_rtx_once() {
        let got = caps("video");
        let rtx: Vec<_> = got.iter().filter(|c| c.mime_type == "video/rtx").collect();
        assert_eq!(rtx, vec![&cap("video/rtx", 90000, None, None)]);
        assert_eq!(got[1].mime_type, "video/rtx");
        for mime in ["VP8", "VP9", "H264", "AV1", "red", "ulpfec"] {
            let mime = format!("video/{mime}");
            assert!(
                got.iter()
                    .any(|c| c.mime_type == mime && c.clock_rate == 90000),
                "{mime}"
            );
        }
        assert!(got.iter().all(|c| c.channels.is_none()));
        assert_eq!(
            got.iter().filter(|c| c.mime_type == "video/H264").count(),
            7
        );
        assert!(got.contains(&cap("video/VP9", 90000, None, Some("profile-id=2"))));
        assert_eq!(got.len(), 14);
        let mut dedup = got.clone();
        dedup.dedup();
        assert_eq!(dedup, got);
        assert_eq!(
            sender_capabilities("video")
                .unwrap()
                .header_extensions
                .len(),
            11
        );
    }

    #[test]
    fn wpt_306_get_capabilities_dummy_is_null() {
        assert!(sender_capabilities("dummy").is_none());
        assert!(receiver_capabilities("dummy").is_none());
        assert!(sender_capabilities("Audio").is_none());
        assert!(sender_capabilities("audio").is_some());
        assert!(sender_capabilities("video").is_some());
    }

    #[test]
    fn capabilities_serialize_with_w3c_names() {
        let json = serde_json::to_value(sender_capabilities("audio").unwrap()).unwrap();
        assert_eq!(
            json["codecs"][0],
            serde_json::json!({"mimeType": "audio/opus", "clockRate": 48000, "channels": 2,
                "sdpFmtpLine": "minptime=10;useinbandfec=1"})
        );
        assert_eq!(
            json["headerExtensions"][0],
            serde_json::json!({"uri": extensions::AUDIO_LEVEL})
        );
        let p = default_codecs(MediaKind::Video).remove(0);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["payloadType"], 96);
        assert_eq!(
            v["rtcpFeedback"][2],
            serde_json::json!({"type": "ccm", "parameter": "fir"})
        );
        assert!(v.get("channels").is_none());
        let back: RtpCodecParameters = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
        let e: RtpHeaderExtensionParameters =
            serde_json::from_str(r#"{"uri":"urn:x","id":3}"#).unwrap();
        assert!(!e.encrypted);
        assert_eq!("video".parse::<MediaKind>().unwrap(), MediaKind::Video);
    }

    #[test]
    fn wpt_302_capabilities_accepted_as_preferences() {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let all = caps(kind.as_str());
            validate_codec_preferences(kind, &all).unwrap();
            let mut rev = all.clone();
            rev.reverse();
            validate_codec_preferences(kind, &rev).unwrap();
            validate_codec_preferences(kind, &[]).unwrap();
            // The full list in capability order gives the default offer back.
            assert_eq!(apply_codec_preferences(kind, &all), default_codecs(kind));
            assert_eq!(apply_codec_preferences(kind, &[]), default_codecs(kind));
        }
        let video = caps("video");
        for name in ["video/VP8", "video/H264"] {
            let one: Vec<_> = video
                .iter()
                .filter(|c| c.mime_type == name)
                .take(1)
                .cloned()
                .collect();
            validate_codec_preferences(MediaKind::Video, &one).unwrap();
            let applied = apply_codec_preferences(MediaKind::Video, &one);
            assert_eq!(applied.len(), 1, "{name}: no rtx unless asked for");
            assert_eq!(applied[0].mime_type, name);
        }
        // Case-insensitive MIME type.
        validate_codec_preferences(MediaKind::Video, &[cap("VIDEO/vp8", 90000, None, None)])
            .unwrap();
    }

    #[test]
    fn wpt_303_wrong_kind_rejected() {
        let err = validate_codec_preferences(MediaKind::Audio, &caps("video")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidModification);
        let err = validate_codec_preferences(MediaKind::Video, &caps("audio")[..1]).unwrap_err();
        assert_eq!(err.name(), "InvalidModificationError");
    }

    #[test]
    fn wpt_304_unknown_or_modified_codecs_rejected() {
        let audio = caps("audio");
        let opus = audio[0].clone();
        let bad = [
            cap("data", 0, None, None),
            cap("audio/piepiper", 2000, Some(2), Some("profile-levels=M3")),
            RtpCodecCapability {
                clock_rate: 44100,
                ..opus.clone()
            },
            RtpCodecCapability {
                channels: Some(1),
                ..opus.clone()
            },
            RtpCodecCapability {
                channels: None,
                ..opus.clone()
            },
            RtpCodecCapability {
                sdp_fmtp_line: Some("minptime=20".into()),
                ..opus.clone()
            },
            RtpCodecCapability {
                sdp_fmtp_line: None,
                ..opus.clone()
            },
        ];
        for b in bad {
            // Alone and appended to a valid list.
            for list in [vec![b.clone()], [audio.clone(), vec![b.clone()]].concat()] {
                let err = validate_codec_preferences(MediaKind::Audio, &list).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidModification, "{b:?}");
            }
        }
        // Only redundancy/repair codecs: nothing to send media with.
        let err =
            validate_codec_preferences(MediaKind::Video, &[cap("video/rtx", 90000, None, None)])
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidModification);
        // rtcpeer's sender and receiver codec sets are identical, so a send-only codec cannot
        // be passed; the check runs against the receiver capabilities.
        assert_eq!(sender_capabilities("video"), receiver_capabilities("video"));
    }

    #[test]
    fn wpt_305_preferred_order_is_the_offer_order() {
        let video = caps("video");
        let h264 = video
            .iter()
            .find(|c| c.mime_type == "video/H264")
            .unwrap()
            .clone();
        let vp8 = video[0].clone();
        let rtx = video[1].clone();
        for (prefs, first_pt, first_name) in [
            (vec![h264.clone(), vp8.clone(), rtx.clone()], "102", "H264"),
            (vec![vp8.clone(), h264.clone()], "96", "VP8"),
        ] {
            validate_codec_preferences(MediaKind::Video, &prefs).unwrap();
            let mut m = media("video");
            write_codecs(&mut m, &apply_codec_preferences(MediaKind::Video, &prefs));
            assert_eq!(m.formats[0], first_pt);
            assert_eq!(first_rtpmap(&m).unwrap().1, first_name);
        }
        let mut m = media("video");
        write_codecs(
            &mut m,
            &apply_codec_preferences(MediaKind::Video, &[h264, vp8, rtx]),
        );
        assert_eq!(m.formats, vec!["102", "103", "96", "97"]);

        let audio = caps("audio");
        let pcmu = audio
            .iter()
            .find(|c| c.mime_type == "audio/PCMU")
            .unwrap()
            .clone();
        let pcma = audio
            .iter()
            .find(|c| c.mime_type == "audio/PCMA")
            .unwrap()
            .clone();
        let mut prefs = vec![pcma, pcmu];
        prefs.extend(audio.iter().cloned());
        let mut m = media("audio");
        write_codecs(&mut m, &apply_codec_preferences(MediaKind::Audio, &prefs));
        assert_eq!(m.formats[..3], ["8", "0", "111"]);
        assert_eq!(first_rtpmap(&m).unwrap(), (8, "PCMA".to_string()));
    }

    #[test]
    fn apply_preferences_drops_red_without_its_primary() {
        let audio = caps("audio");
        let red = audio[1].clone();
        let pcmu = audio[3].clone();
        let got = apply_codec_preferences(MediaKind::Audio, &[red.clone(), pcmu]);
        assert_eq!(
            got.iter().map(|c| c.payload_type).collect::<Vec<_>>(),
            vec![0]
        );
        let got = apply_codec_preferences(MediaKind::Audio, &[red, audio[0].clone()]);
        assert_eq!(
            got.iter().map(|c| c.payload_type).collect::<Vec<_>>(),
            vec![63, 111]
        );
    }
}
