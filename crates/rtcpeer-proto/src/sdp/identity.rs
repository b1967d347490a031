//! Identity assertions in SDP (W3C webrtc-identity §5–§6, RFC 8827 §7.4): the `a=identity`
//! value is the base64 (RFC 4648 §4) of the JSON `{"idp":{"domain":..,"protocol":..},
//! "assertion":..}`, and the assertion's `contents` bind the certificate fingerprints as
//! `{"fingerprint":[{"algorithm":..,"digest":..}]}` (RFC 8827 §7.4). Pure functions: the
//! identity provider itself (asynchronous, application code) lives in the `rtcpeer` crate.

use serde_json::{Map, Value, json};

use super::{Attribute, Sdp};
use crate::cert::DtlsFingerprint;
use crate::error::{Error, Result};

/// Largest decoded assertion accepted (bytes): an `a=identity` line can be no longer than the
/// SDP, which is already bounded; this bounds the JSON work on it once more.
pub const MAX_IDENTITY_BYTES: usize = 16 * 1024;

/// A decoded `a=identity` value (RFC 8827 §7.4; webrtc-identity `RTCIdentityAssertionResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAssertionJson {
    /// The IdP's domain (`idp.domain`).
    pub domain: String,
    /// The IdP protocol (`idp.protocol`, "default" when absent); never holds '/' or '\'.
    pub protocol: String,
    /// The IdP's opaque assertion (`assertion`).
    pub assertion: String,
}

impl IdentityAssertionJson {
    /// The `a=identity` value: base64 of `{"idp":{"domain","protocol"},"assertion"}`.
    pub fn encode(&self) -> String {
        let v = json!({
            "idp": {"domain": self.domain, "protocol": self.protocol},
            "assertion": self.assertion,
        });
        base64_encode(v.to_string().as_bytes())
    }

    /// Decodes an `a=identity` value. Bad base64, bad JSON, a missing or non-string member,
    /// an empty domain or a protocol holding '/' or '\' (webrtc-identity §5.6 "Verifying
    /// Identity Assertions" step 3) give an `OperationError`.
    pub fn decode(value: &str) -> Result<IdentityAssertionJson> {
        let bad = |why: &str| Error::operation(format!("malformed identity assertion: {why}"));
        if value.len() > MAX_IDENTITY_BYTES * 4 / 3 + 4 {
            return Err(bad("too long"));
        }
        let bytes = base64_decode(value).ok_or_else(|| bad("not base64"))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?;
        let obj = v.as_object().ok_or_else(|| bad("not an object"))?;
        let idp = obj
            .get("idp")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no idp"))?;
        let domain = string_member(idp, "domain").ok_or_else(|| bad("no idp.domain"))?;
        let protocol = match idp.get("protocol") {
            None => "default".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(bad("idp.protocol is not a string")),
        };
        let assertion = string_member(obj, "assertion").ok_or_else(|| bad("no assertion"))?;
        if domain.is_empty() {
            return Err(bad("empty idp.domain"));
        }
        if protocol.contains(['/', '\\']) {
            return Err(bad("idp.protocol contains '/' or '\\'"));
        }
        Ok(IdentityAssertionJson {
            domain,
            protocol,
            assertion,
        })
    }
}

fn string_member(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The `contents` given to the IdP's `generateAssertion` (RFC 8827 §7.4): the local
/// certificate fingerprints as `{"fingerprint":[{"algorithm":"sha-256","digest":"AB:.."}]}`.
pub fn identity_contents(fingerprints: &[DtlsFingerprint]) -> String {
    let list: Vec<Value> = fingerprints
        .iter()
        .map(|f| json!({"algorithm": f.algorithm.to_ascii_lowercase(), "digest": f.value.to_ascii_uppercase()}))
        .collect();
    json!({ "fingerprint": list }).to_string()
}

/// Whether validated `contents` hold a fingerprint for every `a=fingerprint` of the
/// description (webrtc-identity §5.6 "Verifying Identity Assertions": "validates that it
/// contains a fingerprint value for every a=fingerprint attribute"). Hash names and hex compare
/// case-insensitively; unreadable contents or an empty SDP list never match.
pub fn contents_cover_fingerprints(contents: &str, fingerprints: &[DtlsFingerprint]) -> bool {
    if fingerprints.is_empty() || contents.len() > MAX_IDENTITY_BYTES {
        return false;
    }
    let Ok(v) = serde_json::from_str::<Value>(contents) else {
        return false;
    };
    let Some(list) = v.get("fingerprint").and_then(Value::as_array) else {
        return false;
    };
    let listed: Vec<(String, String)> = list
        .iter()
        .filter_map(|f| {
            let alg = f.get("algorithm")?.as_str()?;
            let digest = f.get("digest")?.as_str()?;
            Some((alg.to_ascii_lowercase(), digest.to_ascii_lowercase()))
        })
        .collect();
    fingerprints.iter().all(|f| {
        listed
            .iter()
            .any(|(a, d)| a.eq_ignore_ascii_case(&f.algorithm) && d.eq_ignore_ascii_case(&f.value))
    })
}

/// Whether the domain part of `identity` ("user@domain") is the IdP's domain (RFC 8827 §7.6:
/// the IdP is authoritative only for its own domain; compared case-insensitively).
pub fn identity_domain_matches(identity: &str, idp_domain: &str) -> bool {
    identity
        .rsplit_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.eq_ignore_ascii_case(idp_domain))
}

/// The `a=identity` value of a description: the session-level one (RFC 8827 §7.4), else the
/// first media-level one (some stacks write it there).
pub fn identity_of(sdp: &Sdp) -> Option<&str> {
    fn pick(attrs: &[Attribute]) -> Option<&str> {
        attrs.iter().find_map(|a| match a {
            Attribute::Identity { assertion, .. } => Some(assertion.as_str()),
            _ => None,
        })
    }
    pick(&sdp.attributes).or_else(|| sdp.media.iter().find_map(|m| pick(&m.attributes)))
}

/// Every `a=fingerprint` of a description, session and media level, deduplicated (the set
/// an identity assertion must cover, webrtc-identity §5.6).
pub fn all_fingerprints(sdp: &Sdp) -> Vec<DtlsFingerprint> {
    let mut out: Vec<DtlsFingerprint> = Vec::new();
    let levels = std::iter::once(&sdp.attributes).chain(sdp.media.iter().map(|m| &m.attributes));
    for attrs in levels {
        for a in attrs {
            if let Attribute::Fingerprint { algorithm, value } = a {
                let f = DtlsFingerprint {
                    algorithm: algorithm.to_ascii_lowercase(),
                    value: value.to_ascii_lowercase(),
                };
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// The identity assertion of an SDP text and the fingerprints it must cover, or `None` when
/// the text does not parse or has no `a=identity`.
pub fn remote_identity(text: &str) -> Option<(String, Vec<DtlsFingerprint>)> {
    if !text.contains("a=identity:") {
        return None;
    }
    let sdp = Sdp::parse(text).ok()?;
    let value = identity_of(&sdp)?.to_owned();
    Some((value, all_fingerprints(&sdp)))
}

/// Whether an SDP text parses (so a caller can tell "no `a=identity`" from "not SDP", which
/// [`remote_identity`] both answer with `None`).
pub fn parses_as_sdp(text: &str) -> bool {
    Sdp::parse(text).is_ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with padding (RFC 4648 §4).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Strict base64 decoding (RFC 4648 §4): length a multiple of 4, padding only at the end,
/// unused bits zero (§3.5), so every value has exactly one encoding. `None` when invalid.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let s = text.as_bytes();
    if s.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let quads = s.len() / 4;
    for (qi, q) in s.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && qi + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | b64_value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Bits below the last whole byte must be zero (RFC 4648 §3.5).
        let keep = 3 - pad;
        if bytes[keep..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

/// Whether `value` is a syntactically valid base64 assertion (RFC 8827 §5 `identity-assertion`).
pub(crate) fn is_base64(value: &str) -> bool {
    !value.is_empty() && base64_decode(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(alg: &str, v: &str) -> DtlsFingerprint {
        DtlsFingerprint {
            algorithm: alg.into(),
            value: v.into(),
        }
    }

    /// RFC 4648 §10 test vectors.
    #[test]
    fn base64_rfc4648_section_10_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
        }
        for bad in ["Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm9v!A==", "====", "é"] {
            assert!(base64_decode(bad).is_none(), "{bad}");
        }
    }

    /// Every byte string round-trips (seeded loop).
    #[test]
    fn base64_round_trips_random_bytes() {
        let mut rng = crate::util::SeededRandom::new(0x1D);
        use crate::util::RandomSource;
        for len in 0..200usize {
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let enc = base64_encode(&data);
            assert_eq!(base64_decode(&enc).unwrap(), data);
            assert!(is_base64(&enc) || data.is_empty());
        }
    }

    /// RFC 8827 §7.4's example shape decodes; protocol defaults to "default".
    #[test]
    fn assertion_json_round_trip_and_rejections() {
        let a = IdentityAssertionJson {
            domain: "example.org".into(),
            protocol: "bogus".into(),
            assertion: r#"{"identity":"bob@example.org","contents":"abc","signature":"010203"}"#
                .into(),
        };
        assert_eq!(IdentityAssertionJson::decode(&a.encode()).unwrap(), a);
        let no_protocol = base64_encode(br#"{"idp":{"domain":"a.example"},"assertion":"x"}"#);
        assert_eq!(
            IdentityAssertionJson::decode(&no_protocol).unwrap().protocol,
            "default"
        );
        for bad in [
            r#"{"idp":{"domain":"a.example","protocol":"a/b"},"assertion":"x"}"#,
            r#"{"idp":{"domain":"a.example","protocol":"a\\b"},"assertion":"x"}"#,
            r#"{"idp":{"domain":""},"assertion":"x"}"#,
            r#"{"idp":{"domain":"a.example"}}"#,
            r#"{"idp":{"domain":7},"assertion":"x"}"#,
            r#"{"idp":{"domain":"a.example","protocol":1},"assertion":"x"}"#,
            r#"{"assertion":"x"}"#,
            r#"[1]"#,
            "not json",
        ] {
            let e = IdentityAssertionJson::decode(&base64_encode(bad.as_bytes())).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Operation, "{bad}");
        }
        assert!(IdentityAssertionJson::decode("%%%").is_err());
    }

    #[test]
    fn contents_must_cover_every_fingerprint() {
        let a = fp("sha-256", "AB:CD");
        let b = fp("sha-256", "01:02");
        let contents = identity_contents(&[a.clone(), b.clone()]);
        assert_eq!(
            contents,
            r#"{"fingerprint":[{"algorithm":"sha-256","digest":"AB:CD"},{"algorithm":"sha-256","digest":"01:02"}]}"#
        );
        assert!(contents_cover_fingerprints(&contents, &[fp("SHA-256", "ab:cd")]));
        assert!(contents_cover_fingerprints(&contents, &[a.clone(), b]));
        let only_a = identity_contents(std::slice::from_ref(&a));
        assert!(!contents_cover_fingerprints(&only_a, &[a.clone(), fp("sha-256", "01:02")]));
        assert!(!contents_cover_fingerprints(&only_a, &[fp("sha-1", "AB:CD")]));
        assert!(!contents_cover_fingerprints(&only_a, &[]));
        assert!(!contents_cover_fingerprints("garbage", std::slice::from_ref(&a)));
        assert!(!contents_cover_fingerprints(r#"{"fingerprint":{}}"#, &[a]));
    }

    #[test]
    fn identity_domain_is_the_idps() {
        assert!(identity_domain_matches("alice@idp.example", "idp.example"));
        assert!(identity_domain_matches("alice@IdP.Example", "idp.example"));
        assert!(identity_domain_matches("a@b@idp.example", "idp.example"));
        assert!(!identity_domain_matches("alice@other.example", "idp.example"));
        assert!(!identity_domain_matches("@idp.example", "idp.example"));
        assert!(!identity_domain_matches("idp.example", "idp.example"));
    }

    /// The negotiator writes the assertion it is given at session level of offers and
    /// answers (webrtc-identity "Creating an Offer"); a value that is not base64 is refused;
    /// `local_fingerprints` lists every configured certificate, the DTLS one first, as
    /// `a=fingerprint` does (RFC 8122 §5).
    #[test]
    fn negotiator_writes_the_local_assertion_and_lists_every_fingerprint() {
        use crate::cert::{Certificate, CertificateParams, KeyParams};
        use crate::config::Configuration;
        use crate::connection::{Core, CoreSettings};
        use crate::negotiator::types::OfferOptions;
        let now = std::time::SystemTime::now();
        let c1 = Certificate::generate(CertificateParams::from(KeyParams::EcdsaP384), now).unwrap();
        let c2 = Certificate::generate(CertificateParams::default(), now).unwrap();
        let config = Configuration {
            certificates: vec![c1.clone(), c2.clone()],
            ..Configuration::default()
        };
        let mut core = Core::new(
            config,
            CoreSettings::default(),
            c2.clone(),
            Box::new(crate::util::SeededRandom::new(3)),
        );
        core.create_data_channel("x", &Default::default(), true)
            .unwrap();
        let fps = core.local_fingerprints();
        let want: Vec<String> = [&c2, &c1]
            .iter()
            .map(|c| c.get_fingerprints()[0].value.to_ascii_uppercase())
            .collect();
        assert_eq!(fps.iter().map(|f| f.value.clone()).collect::<Vec<_>>(), want);

        assert_eq!(
            core.set_local_identity(Some("%%".into())).unwrap_err().name(),
            "SyntaxError"
        );
        let offer = core.create_offer(&OfferOptions::default()).unwrap();
        assert!(!offer.sdp.contains("a=identity"));
        let value = base64_encode(b"{}");
        core.set_local_identity(Some(value.clone())).unwrap();
        let offer = core.create_offer(&OfferOptions::default()).unwrap();
        let sdp = Sdp::parse(&offer.sdp).unwrap();
        assert_eq!(identity_of(&sdp), Some(value.as_str()));
        assert!(sdp.attributes.iter().any(|a| matches!(a, Attribute::Identity { .. })));
        assert_eq!(all_fingerprints(&sdp).len(), 2);
        core.set_local_identity(None).unwrap();
        let offer = core.create_offer(&OfferOptions::default()).unwrap();
        assert!(!offer.sdp.contains("a=identity"));
    }

    const BASE: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    /// `a=identity` at session level wins; a media-level one is read when there is none;
    /// fingerprints of every level are collected.
    #[test]
    fn identity_is_read_at_session_then_media_level() {
        let media = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
                     a=identity:bWVkaWE=\r\na=fingerprint:sha-256 AB:CD\r\n";
        let both = format!("{BASE}a=identity:c2Vzcw== ext=1\r\na=fingerprint:sha-256 01:02\r\n{media}");
        let (v, fps) = remote_identity(&both).unwrap();
        assert_eq!(v, "c2Vzcw==");
        assert_eq!(fps, vec![fp("sha-256", "01:02"), fp("sha-256", "ab:cd")]);
        let sdp = Sdp::parse(&both).unwrap();
        assert!(sdp.to_string().contains("a=identity:c2Vzcw== ext=1\r\n"));
        let media_only = format!("{BASE}{media}");
        assert_eq!(remote_identity(&media_only).unwrap().0, "bWVkaWE=");
        assert!(remote_identity(BASE).is_none());
        assert!(parses_as_sdp(BASE) && !parses_as_sdp("v=0\r\nnot sdp"));
        // Not base64: kept as an unknown attribute, not an identity.
        let bad = format!("{BASE}a=identity:%%%\r\n");
        assert!(remote_identity(&bad).is_none());
        assert!(Sdp::parse(&bad).unwrap().to_string().contains("a=identity:%%%\r\n"));
    }
}
