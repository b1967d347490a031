//! Media at the signaling level: codecs, RTP header extensions and the W3C capability
//! dictionaries (webrtc-pc §5.2–§5.4), plus the glue that writes and reads them in an
//! m-section and negotiates them in an answer (JSEP RFC 9429 §5.2.1, §5.3.1).
//!
//! No packetizers here: this module only decides which payload types and extension ids an
//! m-section carries.

pub mod codecs;
pub mod extensions;

pub use codecs::{
    apply_codec_preferences, default_codecs, negotiate_answer_codecs, read_codecs,
    validate_codec_preferences, write_codecs,
};
pub use extensions::{
    default_header_extensions, negotiate_header_extensions, read_extmaps, write_extmaps,
};

use serde::{Deserialize, Serialize};

use crate::enums::w3c_enum;

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
        codecs::fmtp_get(self.sdp_fmtp_line.as_deref(), "apt")?
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
