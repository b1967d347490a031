//! `RTCRtpSendParameters` and `RTCRtpReceiveParameters` (webrtc-pc §5.2.1–§5.2.7): what
//! `getParameters()` reports of a sender or receiver, the `sendEncodings` rules of
//! `addTransceiver` (webrtc-pc §5.1 step "validate sendEncodings") and the checks of
//! `setParameters()` (webrtc-pc §5.2).
//!
//! rtcpeer does not encode media, so `maxBitrate`, `maxFramerate`, `scaleResolutionDownBy`,
//! `priority` and `scalabilityMode` are kept and reported for the application's encoder;
//! `active: false` stops the sender (packets handed to it are not sent).

use serde::{Deserialize, Serialize};

use crate::codecs::{MediaKind, RtpCodecCapability, RtpCodecParameters, RtpHeaderExtensionParameters};
use crate::connection::Negotiator;
use crate::error::{Error, Result};
use crate::session::channels::Priority;
use crate::util::ICE_CHARS;

use super::transceiver::TransceiverId;

/// The most encodings a sender keeps: a longer `sendEncodings` is truncated to this many
/// (webrtc-pc §5.1 "maxN"; browsers send at most 3–4 simulcast layers, WPT-312).
pub const MAX_SEND_ENCODINGS: usize = 4;

/// The longest `rid` accepted (RFC 8851 §10 puts no limit; RFC 8852 §3.3 carries it in a
/// one- or two-byte header extension, so 255 bytes at most; browsers allow 255 too).
const MAX_RID_LEN: usize = 255;

/// The scalability modes of webrtc-svc §4.2 (`scalabilityMode`), for video senders.
const SCALABILITY_MODES: &[&str] = &[
    "L1T1", "L1T2", "L1T3", "L2T1", "L2T2", "L2T3", "L3T1", "L3T2", "L3T3", "L2T1h", "L2T2h",
    "L2T3h", "L3T1h", "L3T2h", "L3T3h", "S2T1", "S2T2", "S2T3", "S2T1h", "S2T2h", "S2T3h",
    "S3T1", "S3T2", "S3T3", "S3T1h", "S3T2h", "S3T3h", "L2T2_KEY", "L2T2_KEY_SHIFT", "L2T3_KEY",
    "L2T3_KEY_SHIFT", "L3T1_KEY", "L3T2_KEY", "L3T2_KEY_SHIFT", "L3T3_KEY", "L3T3_KEY_SHIFT",
];

fn yes() -> bool {
    true
}

fn low() -> Priority {
    Priority::Low
}

/// `RTCRtpEncodingParameters` (webrtc-pc §5.2.2): one encoding (simulcast layer) a sender
/// sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingParameters {
    /// The RTP stream id of this encoding (RFC 8851), for simulcast; read-only once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Whether this encoding is sent (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// The most bits per second the application's encoder should use (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bitrate: Option<u32>,
    /// The most frames per second (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_framerate: Option<f64>,
    /// How much smaller than the track this encoding's resolution is (video, ≥ 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_resolution_down_by: Option<f64>,
    /// Relative priority against other senders (webrtc-priority §4.1; default "low").
    #[serde(default = "low")]
    pub priority: Priority,
    /// DSCP priority of the packets (webrtc-priority §4.2; default "low").
    #[serde(default = "low")]
    pub network_priority: Priority,
    /// The SVC mode of this encoding (webrtc-svc §4.2), video only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// The codec this encoding uses; one of the negotiated codecs (webrtc-pc §5.2.2 `codec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<RtpCodecCapability>,
}

impl Default for RtpEncodingParameters {
    fn default() -> Self {
        RtpEncodingParameters {
            rid: None,
            active: true,
            max_bitrate: None,
            max_framerate: None,
            scale_resolution_down_by: None,
            priority: Priority::Low,
            network_priority: Priority::Low,
            scalability_mode: None,
            codec: None,
        }
    }
}

/// `RTCRtcpParameters` (webrtc-pc §5.2.6).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcpParameters {
    /// The CNAME of the sender's RTCP (RFC 3550 §6.5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Whether reduced-size RTCP (RFC 5506) was negotiated.
    #[serde(default)]
    pub reduced_size: bool,
}

/// `RTCRtpSendParameters` (webrtc-pc §5.2.1): what `RTCRtpSender.getParameters()` returns
/// and `setParameters()` takes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpSendParameters {
    /// Identifies the `getParameters` these came from; `setParameters` needs the newest.
    pub transaction_id: String,
    /// The encodings, one per simulcast layer (at least one).
    pub encodings: Vec<RtpEncodingParameters>,
    /// The negotiated header extensions (read-only).
    #[serde(default)]
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// RTCP parameters (read-only).
    #[serde(default)]
    pub rtcp: RtcpParameters,
    /// The negotiated codecs, the remote's preferred first (read-only; empty before
    /// negotiation).
    #[serde(default)]
    pub codecs: Vec<RtpCodecParameters>,
}

/// `RTCRtpReceiveParameters` (webrtc-pc §5.3.1): what `RTCRtpReceiver.getParameters()`
/// returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpReceiveParameters {
    /// The negotiated header extensions.
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// RTCP parameters (the CNAME is the remote's, when it announced one).
    pub rtcp: RtcpParameters,
    /// The codecs the receiver may get (empty before negotiation).
    pub codecs: Vec<RtpCodecParameters>,
}

/// A sender's `[[SendEncodings]]` and `[[LastReturnedParameters]]` (webrtc-pc §5.2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SenderParameters {
    pub encodings: Vec<RtpEncodingParameters>,
    /// The parameters `getParameters` last returned, until a `setParameters` used them.
    pub last_returned: Option<RtpSendParameters>,
}

impl Default for SenderParameters {
    fn default() -> Self {
        SenderParameters {
            encodings: vec![RtpEncodingParameters::default()],
            last_returned: None,
        }
    }
}

impl SenderParameters {
    /// Whether any encoding is active (the sender sends).
    pub fn active(&self) -> bool {
        self.encodings.iter().any(|e| e.active)
    }
}

/// Whether `rid` follows RFC 8851 §10 (`rid-id = 1*(alpha-numeric / "-" / "_")`).
fn valid_rid(rid: &str) -> bool {
    !rid.is_empty()
        && rid.len() <= MAX_RID_LEN
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The checks shared by `addTransceiver`'s `sendEncodings` and `setParameters` on the
/// numbers of each encoding (webrtc-pc §5.1 steps "validate sendEncodings").
fn check_values(kind: MediaKind, encodings: &mut [RtpEncodingParameters]) -> Result<()> {
    for e in encodings.iter_mut() {
        if kind == MediaKind::Audio {
            e.scale_resolution_down_by = None;
            e.max_framerate = None;
        }
        if e.scale_resolution_down_by.is_some_and(|s| s.is_nan() || s < 1.0) {
            return Err(Error::range("scaleResolutionDownBy must be 1.0 or more"));
        }
        if e.max_framerate.is_some_and(|f| f.is_nan() || f < 0.0) {
            return Err(Error::range("maxFramerate must not be negative"));
        }
        if let Some(mode) = &e.scalability_mode
            && (kind == MediaKind::Audio || !SCALABILITY_MODES.contains(&mode.as_str()))
        {
            return Err(Error::operation(format!(
                "scalabilityMode '{mode}' is not supported"
            )));
        }
    }
    Ok(())
}

/// `addTransceiver`'s `sendEncodings` (webrtc-pc §5.1 "validate sendEncodings"): `TypeError`
/// for a malformed or repeated `rid` or `rid`s on some encodings only, `RangeError` for a
/// `scaleResolutionDownBy` below 1 or a negative `maxFramerate`, `OperationError` for a
/// codec or scalability mode not supported; then truncated to [`MAX_SEND_ENCODINGS`],
/// video layers without a scale get 2^(n−1−i), and an empty list becomes one active encoding.
pub fn validate_send_encodings(
    kind: MediaKind,
    mut encodings: Vec<RtpEncodingParameters>,
) -> Result<Vec<RtpEncodingParameters>> {
    let with_rid = encodings.iter().filter(|e| e.rid.is_some()).count();
    if with_rid != 0 && with_rid != encodings.len() {
        return Err(Error::type_error("either every encoding has a rid or none has"));
    }
    for (i, e) in encodings.iter().enumerate() {
        if let Some(rid) = &e.rid {
            if !valid_rid(rid) {
                return Err(Error::type_error(format!("'{rid}' is not a valid rid")));
            }
            if encodings[..i].iter().any(|o| o.rid.as_deref() == Some(rid)) {
                return Err(Error::type_error(format!("rid '{rid}' is repeated")));
            }
        }
        if let Some(codec) = &e.codec {
            let caps = crate::codecs::sender_capabilities(kind.as_str());
            let known = caps.is_some_and(|c| {
                c.codecs.iter().any(|k| {
                    k.mime_type.eq_ignore_ascii_case(&codec.mime_type)
                        && k.clock_rate == codec.clock_rate
                        && k.channels == codec.channels
                })
            });
            if !known {
                return Err(Error::operation(format!(
                    "codec {} is not supported",
                    codec.mime_type
                )));
            }
        }
    }
    check_values(kind, &mut encodings)?;
    encodings.truncate(MAX_SEND_ENCODINGS);
    if encodings.is_empty() {
        encodings.push(RtpEncodingParameters::default());
    }
    if kind == MediaKind::Video && encodings.iter().all(|e| e.scale_resolution_down_by.is_none()) {
        let n = encodings.len();
        for (i, e) in encodings.iter_mut().enumerate() {
            e.scale_resolution_down_by = Some(f64::from(1u32 << (n - 1 - i)));
        }
    }
    Ok(encodings)
}

impl Negotiator {
    /// Gives transceiver `id`'s sender the `sendEncodings` of its `addTransceiver`, already
    /// checked by [`validate_send_encodings`].
    pub fn init_send_encodings(&mut self, id: TransceiverId, encodings: Vec<RtpEncodingParameters>) {
        if let Some(t) = self.transceiver_mut(id) {
            t.parameters.encodings = encodings;
        }
    }

    /// `RTCRtpSender.getParameters()` of transceiver `id` (webrtc-pc §5.2): the same
    /// `transactionId` until a `setParameters` with these parameters completes (browsers
    /// also start a new one when the event loop runs a task; rtcpeer has no event loop).
    /// `None` once the transceiver is gone.
    pub fn send_parameters(&mut self, id: TransceiverId) -> Option<RtpSendParameters> {
        let (codecs, header_extensions, reduced_size) = self.negotiated_parameters(id);
        let cname = Some(self.cname.clone());
        let fresh = self.rng.string(ICE_CHARS, 16);
        let t = self.transceiver_mut(id)?;
        let transaction_id = match &t.parameters.last_returned {
            Some(p) => p.transaction_id.clone(),
            None => fresh,
        };
        let params = RtpSendParameters {
            transaction_id,
            encodings: t.parameters.encodings.clone(),
            header_extensions,
            rtcp: RtcpParameters {
                cname,
                reduced_size,
            },
            codecs,
        };
        t.parameters.last_returned = Some(params.clone());
        Some(params)
    }

    /// `RTCRtpSender.setParameters(parameters)` of transceiver `id` (webrtc-pc §5.2):
    /// `InvalidStateError` when the transceiver is stopping or stopped or no
    /// `getParameters` is pending; `InvalidModificationError` for another `transactionId`,
    /// encodings added, removed, reordered or with another `rid`, changed read-only
    /// members, or an encoding's `codec` that was not negotiated; `RangeError` /
    /// `OperationError` as for `sendEncodings`. On success the encodings apply and the
    /// transaction ends. Returns whether any encoding is active.
    pub fn set_send_parameters(
        &mut self,
        id: TransceiverId,
        mut params: RtpSendParameters,
    ) -> Result<bool> {
        if self.is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let t = self
            .transceiver(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        if t.stopping || t.stopped {
            return Err(Error::invalid_state("the transceiver is stopped"));
        }
        let kind = t.kind;
        let last = t
            .parameters
            .last_returned
            .as_ref()
            .ok_or_else(|| Error::invalid_state("call getParameters before setParameters"))?;
        if params.transaction_id != last.transaction_id {
            return Err(Error::invalid_modification(
                "the parameters are not those of the last getParameters",
            ));
        }
        if params.encodings.len() != last.encodings.len()
            || params
                .encodings
                .iter()
                .zip(&last.encodings)
                .any(|(a, b)| a.rid != b.rid)
        {
            return Err(Error::invalid_modification(
                "encodings cannot be added, removed, reordered or renamed",
            ));
        }
        if params.header_extensions != last.header_extensions
            || params.rtcp != last.rtcp
            || params.codecs != last.codecs
        {
            return Err(Error::invalid_modification(
                "codecs, headerExtensions and rtcp are read-only",
            ));
        }
        for e in &params.encodings {
            if let Some(codec) = &e.codec
                && !last.codecs.iter().any(|c| {
                    c.mime_type.eq_ignore_ascii_case(&codec.mime_type)
                        && c.clock_rate == codec.clock_rate
                        && c.channels == codec.channels
                        && (codec.sdp_fmtp_line.is_none() || c.sdp_fmtp_line == codec.sdp_fmtp_line)
                })
            {
                return Err(Error::invalid_modification(format!(
                    "codec {} was not negotiated",
                    codec.mime_type
                )));
            }
        }
        check_values(kind, &mut params.encodings)?;
        let t = self
            .transceiver_mut(id)
            .ok_or_else(|| Error::invalid_state("the transceiver is stopped"))?;
        t.parameters.encodings = params.encodings;
        t.parameters.last_returned = None;
        Ok(t.parameters.active())
    }

    /// `RTCRtpReceiver.getParameters()` of transceiver `id` (webrtc-pc §5.3); `None` once
    /// the transceiver is gone.
    pub fn receive_parameters(&self, id: TransceiverId) -> Option<RtpReceiveParameters> {
        self.transceiver(id)?;
        let (codecs, header_extensions, reduced_size) = self.negotiated_parameters(id);
        Some(RtpReceiveParameters {
            header_extensions,
            rtcp: RtcpParameters {
                cname: self.remote_cname(id),
                reduced_size,
            },
            codecs,
        })
    }

    /// The CNAME the remote announced for transceiver `id`'s m-section (`a=ssrc:<n> cname:`,
    /// RFC 5576 §6.1) in the newest remote description.
    fn remote_cname(&self, id: TransceiverId) -> Option<String> {
        let mid = self.transceiver(id)?.mid.as_deref()?;
        let remote = self.newest_remote()?;
        let m = remote.sdp.media.iter().find(|m| m.mid() == Some(mid))?;
        m.attributes.iter().find_map(|a| match a {
            crate::sdp::Attribute::Ssrc {
                attribute, value, ..
            } if attribute == "cname" => value.clone(),
            _ => None,
        })
    }

    /// The negotiated codecs, header extensions and reduced-size RTCP of transceiver `id`'s
    /// m-section (empty before an offer/answer associated it).
    fn negotiated_parameters(
        &self,
        id: TransceiverId,
    ) -> (Vec<RtpCodecParameters>, Vec<RtpHeaderExtensionParameters>, bool) {
        self.negotiated_media()
            .into_iter()
            .find(|m| m.transceiver == id)
            .map(|m| (m.codecs, m.header_extensions, m.rtcp_reduced_size))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(rid: Option<&str>) -> RtpEncodingParameters {
        RtpEncodingParameters {
            rid: rid.map(str::to_string),
            ..RtpEncodingParameters::default()
        }
    }

    #[test]
    fn send_encodings_rules() {
        // Empty: one active encoding; video gets scale 1.
        let v = validate_send_encodings(MediaKind::Video, Vec::new()).unwrap();
        assert_eq!(v.len(), 1);
        assert!(v[0].active);
        assert_eq!(v[0].scale_resolution_down_by, Some(1.0));
        // Three layers: 4, 2, 1.
        let v = validate_send_encodings(
            MediaKind::Video,
            vec![enc(Some("q")), enc(Some("h")), enc(Some("f"))],
        )
        .unwrap();
        let scales: Vec<_> = v.iter().map(|e| e.scale_resolution_down_by).collect();
        assert_eq!(scales, [Some(4.0), Some(2.0), Some(1.0)]);
        // WPT-312: an absurd number is truncated.
        let many: Vec<_> = (0..1000).map(|i| enc(Some(&format!("r{i}")))).collect();
        let v = validate_send_encodings(MediaKind::Video, many).unwrap();
        assert_eq!(v.len(), MAX_SEND_ENCODINGS);
        // rid errors are TypeErrors.
        for bad in [
            vec![enc(Some("a")), enc(None)],
            vec![enc(Some("a")), enc(Some("a"))],
            vec![enc(Some(""))],
            vec![enc(Some("a b"))],
            vec![enc(Some(&"x".repeat(256)))],
        ] {
            let e = validate_send_encodings(MediaKind::Video, bad).unwrap_err();
            assert_eq!(e.name(), "TypeError");
        }
        // RangeErrors for video; audio drops the video members instead.
        let small = RtpEncodingParameters {
            scale_resolution_down_by: Some(0.5),
            ..RtpEncodingParameters::default()
        };
        let negative = RtpEncodingParameters {
            max_framerate: Some(-1.0),
            ..RtpEncodingParameters::default()
        };
        for e in [small.clone(), negative.clone()] {
            let err = validate_send_encodings(MediaKind::Video, vec![e.clone()]).unwrap_err();
            assert_eq!(err.name(), "RangeError");
            let a = validate_send_encodings(MediaKind::Audio, vec![e]).unwrap();
            assert_eq!((a[0].scale_resolution_down_by, a[0].max_framerate), (None, None));
        }
        // Unknown codec or scalability mode: OperationError.
        let codec = RtpEncodingParameters {
            codec: Some(RtpCodecCapability {
                mime_type: "video/piepiper".into(),
                clock_rate: 90_000,
                channels: None,
                sdp_fmtp_line: None,
            }),
            ..RtpEncodingParameters::default()
        };
        let svc = RtpEncodingParameters {
            scalability_mode: Some("L9T9".into()),
            ..RtpEncodingParameters::default()
        };
        for e in [codec, svc] {
            let err = validate_send_encodings(MediaKind::Video, vec![e]).unwrap_err();
            assert_eq!(err.name(), "OperationError");
        }
        let ok = RtpEncodingParameters {
            scalability_mode: Some("L1T3".into()),
            ..RtpEncodingParameters::default()
        };
        assert!(validate_send_encodings(MediaKind::Video, vec![ok]).is_ok());
    }

    #[test]
    fn parameters_json_is_the_browsers_shape() {
        let p = RtpSendParameters {
            transaction_id: "t".into(),
            encodings: vec![RtpEncodingParameters {
                max_bitrate: Some(300_000),
                ..RtpEncodingParameters::default()
            }],
            header_extensions: Vec::new(),
            rtcp: RtcpParameters {
                cname: Some("c".into()),
                reduced_size: true,
            },
            codecs: Vec::new(),
        };
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(
            j,
            serde_json::json!({
                "transactionId": "t",
                "encodings": [{"active": true, "maxBitrate": 300000, "priority": "low",
                               "networkPriority": "low"}],
                "headerExtensions": [], "rtcp": {"cname": "c", "reducedSize": true},
                "codecs": []
            })
        );
        let back: RtpSendParameters = serde_json::from_value(j).unwrap();
        assert_eq!(back, p);
        // Without `encodings` or `transactionId` the dictionary is not one (WebIDL TypeError,
        // WPT-314/319).
        assert!(serde_json::from_str::<RtpSendParameters>(r#"{"transactionId":"t"}"#).is_err());
        assert!(serde_json::from_str::<RtpSendParameters>(r#"{"encodings":[]}"#).is_err());
    }
}
