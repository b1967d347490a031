//! `RTCCertificate` (W3C webrtc-pc §4.10): a self-signed certificate and its private key, used
//! as the DTLS identity of a connection (RFC 8827 §6.5), with its fingerprints for SDP.
//!
//! Key generation uses the operating system's randomness through aws-lc-rs; the current time is
//! always a parameter, so validity periods are reproducible in tests.

mod der;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::webidl;
use crate::error::{Error, Result};

/// Default lifetime of a generated certificate: 30 days (webrtc-pc §4.10, `generateCertificate`).
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(30 * 24 * 3600);

/// Longest lifetime a generated certificate gets: 365 days (webrtc-pc §4.10 step 3 caps
/// `expires` at 31536000000 ms).
pub const MAX_EXPIRES: Duration = Duration::from_secs(365 * 24 * 3600);

/// How far before "now" a generated certificate's `notBefore` is set, to tolerate clock skew
/// between peers (browsers use one day too).
const NOT_BEFORE_SKEW: Duration = Duration::from_secs(24 * 3600);

/// Common name of generated certificates, as browsers use.
const COMMON_NAME: &str = "WebRTC";

/// The hash of an RSASSA-PKCS1-v1_5 signature (WebCrypto `HashAlgorithmIdentifier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RsaHash {
    /// SHA-256 ("SHA-256"), the WebRTC mandatory-to-implement choice (RFC 8827 §6.5).
    #[default]
    Sha256,
    /// SHA-384 ("SHA-384").
    Sha384,
    /// SHA-512 ("SHA-512").
    Sha512,
}

/// The key algorithm of a certificate (the WebCrypto `keygenAlgorithm` of `generateCertificate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyParams {
    /// ECDSA on P-256 with SHA-256 (`{name:"ECDSA", namedCurve:"P-256"}`), the browser default.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384 (`{name:"ECDSA", namedCurve:"P-384"}`).
    EcdsaP384,
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2). Supported: modulus 2048, 3072 or 4096 bits,
    /// public exponent 65537 (the only one aws-lc-rs generates).
    RsaPkcs1v15 {
        /// Modulus length in bits (`modulusLength`).
        modulus_length: u32,
        /// Public exponent (`publicExponent`, e.g. `[1,0,1]` = 65537).
        public_exponent: u32,
        /// Signature hash (`hash`).
        hash: RsaHash,
    },
}

/// Parameters of [`Certificate::generate`]: key algorithm and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CertificateParams {
    /// The key algorithm.
    pub key: KeyParams,
    /// Lifetime from generation; `None` = 30 days. Capped at 365 days; zero yields a certificate
    /// that is already expired (webrtc-pc §4.10, `RTCCertificateExpiration`).
    pub expires: Option<Duration>,
}

impl From<KeyParams> for CertificateParams {
    fn from(key: KeyParams) -> Self {
        CertificateParams { key, expires: None }
    }
}

/// One certificate fingerprint (W3C `RTCDtlsFingerprint`, webrtc-pc §5.5.1; RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DtlsFingerprint {
    /// Hash function name as in RFC 8122's registry, lowercase (e.g. "sha-256").
    pub algorithm: String,
    /// The digest as lowercase hex byte pairs joined by ':'.
    pub value: String,
}

struct Inner {
    der: Vec<u8>,
    key_pkcs8: Vec<u8>,
    key: KeyParams,
    expires: SystemTime,
    fingerprint: DtlsFingerprint,
}

/// An `RTCCertificate` (webrtc-pc §4.10): certificate DER, PKCS#8 private key and expiry.
/// Cheap to clone (shared); two values are equal when they hold the same certificate DER.
#[derive(Clone)]
pub struct Certificate(Arc<Inner>);

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.der == other.0.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never prints the private key.
        f.debug_struct("Certificate")
            .field("key", &self.0.key)
            .field("expires_ms", &self.expires_ms())
            .field("fingerprint", &self.0.fingerprint.value)
            .finish()
    }
}

/// Lowercase hex byte pairs joined by ':' (RFC 8122 §5 `fingerprint`, W3C `RTCDtlsFingerprint`).
fn hex_pairs(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn sha256_fingerprint(der: &[u8]) -> DtlsFingerprint {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    DtlsFingerprint {
        algorithm: "sha-256".to_owned(),
        value: hex_pairs(digest.as_ref()),
    }
}

fn unix_seconds(t: SystemTime) -> Result<i64> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::operation("time before the UNIX epoch"))?;
    i64::try_from(d.as_secs()).map_err(|_| Error::operation("time out of range"))
}

fn offset_date_time(secs: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| Error::operation("certificate validity out of range"))
}

fn rcgen_error(e: rcgen::Error) -> Error {
    Error::operation(format!("certificate generation failed: {e}"))
}

impl Certificate {
    /// Generates a self-signed certificate valid from `now - 1 day` to `now + expires`
    /// (webrtc-pc §4.10 `generateCertificate`). Unsupported RSA sizes or exponents give
    /// `NotSupportedError`.
    pub fn generate(params: impl Into<CertificateParams>, now: SystemTime) -> Result<Certificate> {
        let params = params.into();
        let lifetime = params.expires.unwrap_or(DEFAULT_EXPIRES).min(MAX_EXPIRES);
        let key_pair = match params.key {
            KeyParams::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyParams::EcdsaP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyParams::RsaPkcs1v15 {
                modulus_length,
                public_exponent,
                hash,
            } => {
                if public_exponent != 65_537 {
                    return Err(Error::not_supported(format!(
                        "RSA public exponent {public_exponent} is not supported (only 65537)"
                    )));
                }
                let size = match modulus_length {
                    2048 => rcgen::RsaKeySize::_2048,
                    3072 => rcgen::RsaKeySize::_3072,
                    4096 => rcgen::RsaKeySize::_4096,
                    other => {
                        return Err(Error::not_supported(format!(
                            "RSA modulus length {other} is not supported (2048, 3072, 4096)"
                        )));
                    }
                };
                let alg = match hash {
                    RsaHash::Sha256 => &rcgen::PKCS_RSA_SHA256,
                    RsaHash::Sha384 => &rcgen::PKCS_RSA_SHA384,
                    RsaHash::Sha512 => &rcgen::PKCS_RSA_SHA512,
                };
                rcgen::KeyPair::generate_rsa_for(alg, size)
            }
        }
        .map_err(rcgen_error)?;

        let now_secs = unix_seconds(now)?;
        let expires = now
            .checked_add(lifetime)
            .ok_or_else(|| Error::operation("expiry out of range"))?;
        let mut cp = rcgen::CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, COMMON_NAME);
        cp.distinguished_name = dn;
        cp.not_before = offset_date_time(now_secs - NOT_BEFORE_SKEW.as_secs() as i64)?;
        // X.509 times have whole seconds; round notAfter up so it is never before `expires`.
        let not_after = unix_seconds(expires)?
            + i64::from(
                expires
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
                    > 0,
            );
        cp.not_after = offset_date_time(not_after)?;
        let cert = cp.self_signed(&key_pair).map_err(rcgen_error)?;
        let der = cert.der().to_vec();
        Ok(Certificate(Arc::new(Inner {
            fingerprint: sha256_fingerprint(&der),
            der,
            key_pkcs8: key_pair.serialize_der(),
            key: params.key,
            expires,
        })))
    }

    /// Generates a certificate from a W3C-style `AlgorithmIdentifier` in JSON, as
    /// `RTCPeerConnection.generateCertificate(keygenAlgorithm)` would (webrtc-pc §4.10).
    pub fn generate_from_json(keygen_algorithm: &Value, now: SystemTime) -> Result<Certificate> {
        Certificate::generate(CertificateParams::from_json(keygen_algorithm)?, now)
    }

    /// The certificate's expiry (`RTCCertificate.expires`).
    pub fn expires(&self) -> SystemTime {
        self.0.expires
    }

    /// `RTCCertificate.expires` as a DOMTimeStamp: milliseconds since the UNIX epoch.
    pub fn expires_ms(&self) -> f64 {
        self.0
            .expires
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// Whether the certificate has expired at `now` (`expires <= now`).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.0.expires <= now
    }

    /// `RTCCertificate.getFingerprints()`: the SHA-256 fingerprint of the certificate DER
    /// (the hash used in the certificate signature, RFC 8122 §5).
    pub fn get_fingerprints(&self) -> Vec<DtlsFingerprint> {
        vec![self.0.fingerprint.clone()]
    }

    /// The key algorithm of this certificate.
    pub fn key_params(&self) -> KeyParams {
        self.0.key
    }

    /// Whether the DTLS engine can sign with this certificate's key: ECDSA P-256 or P-384
    /// (its ECDHE-ECDSA suites, RFC 8422 §5.1.1; it has no RSA suites).
    pub fn is_dtls_capable(&self) -> bool {
        matches!(self.0.key, KeyParams::EcdsaP256 | KeyParams::EcdsaP384)
    }

    /// The certificate DTLS uses among the configured ones (webrtc-pc §4.4.1.1 `certificates`:
    /// several may be given, e.g. for different algorithms): the first whose key the DTLS
    /// engine signs with, else the first one (its transport then fails with
    /// `NotSupportedError`). `None` only for an empty list.
    pub fn select_for_dtls(certificates: &[Certificate]) -> Option<&Certificate> {
        certificates
            .iter()
            .find(|c| c.is_dtls_capable())
            .or(certificates.first())
    }

    /// The certificate, DER-encoded (RFC 5280 §4.1).
    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// The private key, PKCS#8 DER (RFC 5958).
    pub fn private_key_der(&self) -> &[u8] {
        &self.0.key_pkcs8
    }

    /// Certificate and private key as PEM ("CERTIFICATE" then "PRIVATE KEY" blocks, RFC 7468),
    /// for persisting a certificate across runs.
    pub fn to_pem(&self) -> String {
        pem::encode_many(&[
            pem::Pem::new("CERTIFICATE", self.0.der.clone()),
            pem::Pem::new("PRIVATE KEY", self.0.key_pkcs8.clone()),
        ])
    }

    /// Reads back a certificate written by [`Certificate::to_pem`]: exactly one "CERTIFICATE"
    /// and one PKCS#8 "PRIVATE KEY" block whose public key matches the certificate's.
    /// `expires` becomes the certificate's `notAfter` (whole seconds).
    pub fn from_pem(text: &str) -> Result<Certificate> {
        let blocks = pem::parse_many(text).map_err(|e| Error::syntax(format!("bad PEM: {e}")))?;
        let mut cert_der = None;
        let mut key_der = None;
        for block in blocks {
            let slot = match block.tag() {
                "CERTIFICATE" => &mut cert_der,
                "PRIVATE KEY" => &mut key_der,
                other => {
                    return Err(Error::syntax(format!("unexpected PEM block '{other}'")));
                }
            };
            if slot.replace(block.into_contents()).is_some() {
                return Err(Error::syntax("duplicate PEM block"));
            }
        }
        let der = cert_der.ok_or_else(|| Error::syntax("no CERTIFICATE block"))?;
        let key_pkcs8 = key_der.ok_or_else(|| Error::syntax("no PRIVATE KEY block"))?;
        let fields = der::parse_certificate(&der)?;
        let key_pair = rcgen::KeyPair::try_from(key_pkcs8.as_slice())
            .map_err(|e| Error::syntax(format!("unusable private key: {e}")))?;
        if rcgen::PublicKeyData::der_bytes(&key_pair) != fields.public_key {
            return Err(Error::invalid_access(
                "the private key does not belong to the certificate",
            ));
        }
        let alg = key_pair.algorithm();
        let key = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            KeyParams::EcdsaP256
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            KeyParams::EcdsaP384
        } else if alg == &rcgen::PKCS_RSA_SHA256 {
            let (modulus_length, exponent) = der::parse_rsa_public_key(fields.public_key)?;
            KeyParams::RsaPkcs1v15 {
                modulus_length,
                public_exponent: u32::try_from(exponent)
                    .map_err(|_| Error::not_supported("RSA exponent above 2^32"))?,
                hash: RsaHash::Sha256,
            }
        } else {
            return Err(Error::not_supported(
                "only ECDSA P-256/P-384 and RSA certificate keys are supported",
            ));
        };
        let expires = u64::try_from(fields.not_after)
            .ok()
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
            .ok_or_else(|| Error::syntax("certificate notAfter before 1970"))?;
        Ok(Certificate(Arc::new(Inner {
            fingerprint: sha256_fingerprint(&der),
            der,
            key_pkcs8,
            key,
            expires,
        })))
    }
}

/// Looks up a member of a JSON dictionary; absent (JS `undefined`) gives `None`.
fn member<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name)
}

fn required<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    alg: &str,
) -> Result<&'a Value> {
    member(obj, name).ok_or_else(|| {
        Error::type_error(format!(
            "{alg} algorithm is missing required member '{name}'"
        ))
    })
}

/// Normalises a WebCrypto `HashAlgorithmIdentifier` (string or `{name}`), WebCrypto §18.4.
fn parse_hash(v: &Value) -> Result<RsaHash> {
    let name = match v {
        Value::Object(o) => webidl::to_dom_string(
            member(o, "name")
                .ok_or_else(|| Error::type_error("hash algorithm is missing 'name'"))?,
        ),
        other => webidl::to_dom_string(other),
    };
    match name.to_ascii_uppercase().as_str() {
        "SHA-256" => Ok(RsaHash::Sha256),
        "SHA-384" => Ok(RsaHash::Sha384),
        "SHA-512" => Ok(RsaHash::Sha512),
        _ => Err(Error::not_supported(format!(
            "hash '{name}' is not supported for certificates"
        ))),
    }
}

impl CertificateParams {
    /// Converts a W3C `AlgorithmIdentifier` in JSON (`{"name":"ECDSA","namedCurve":"P-256"}`,
    /// `{"name":"RSASSA-PKCS1-v1_5","modulusLength":2048,"publicExponent":[1,0,1],
    /// "hash":"SHA-256"}`, optionally with `"expires": <ms>`), following webrtc-pc §4.10
    /// `generateCertificate` and WebCrypto algorithm normalisation: a bad `expires` or a missing
    /// member gives `TypeError`, an unsupported algorithm `NotSupportedError`.
    pub fn from_json(keygen_algorithm: &Value) -> Result<CertificateParams> {
        // Step 3: an object is first converted to RTCCertificateExpiration
        // ([EnforceRange] unsigned long long expires).
        let mut expires = None;
        if let Value::Object(o) = keygen_algorithm
            && let Some(v) = member(o, "expires")
        {
            const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
            let ms = webidl::enforce_range_unsigned(v, MAX_SAFE_INTEGER, "expires")?;
            expires = Some(Duration::from_millis(ms).min(MAX_EXPIRES));
        }
        // Step 4: normalise the algorithm ("generateKey" operation).
        let (name, obj) = match keygen_algorithm {
            Value::Object(o) => (
                webidl::to_dom_string(
                    member(o, "name")
                        .ok_or_else(|| Error::type_error("algorithm is missing 'name'"))?,
                ),
                Some(o),
            ),
            other => (webidl::to_dom_string(other), None),
        };
        let empty = serde_json::Map::new();
        let obj = obj.unwrap_or(&empty);
        let key = match name.to_ascii_uppercase().as_str() {
            "ECDSA" => {
                let curve = webidl::to_dom_string(required(obj, "namedCurve", "ECDSA")?);
                match curve.as_str() {
                    "P-256" => KeyParams::EcdsaP256,
                    "P-384" => KeyParams::EcdsaP384,
                    _ => {
                        return Err(Error::not_supported(format!(
                            "ECDSA curve '{curve}' is not supported"
                        )));
                    }
                }
            }
            "RSASSA-PKCS1-V1_5" => {
                let alg = "RSASSA-PKCS1-v1_5";
                let modulus_length = webidl::enforce_range_unsigned(
                    required(obj, "modulusLength", alg)?,
                    u64::from(u32::MAX),
                    "modulusLength",
                )?;
                let exponent = match required(obj, "publicExponent", alg)? {
                    Value::Array(bytes) => bytes.iter().try_fold(0u64, |acc, b| {
                        let byte = b
                            .as_u64()
                            .filter(|&x| x <= 255)
                            .ok_or_else(|| Error::type_error("publicExponent is not bytes"))?;
                        // More than 8 significant bytes cannot be a supported exponent.
                        Ok::<u64, Error>(if acc > (u64::MAX >> 8) {
                            u64::MAX
                        } else {
                            (acc << 8) | byte
                        })
                    })?,
                    _ => return Err(Error::type_error("publicExponent must be a byte array")),
                };
                let hash = parse_hash(required(obj, "hash", alg)?)?;
                KeyParams::RsaPkcs1v15 {
                    modulus_length: u32::try_from(modulus_length).unwrap_or(u32::MAX),
                    public_exponent: u32::try_from(exponent).unwrap_or(u32::MAX),
                    hash,
                }
            }
            _ => {
                return Err(Error::not_supported(format!(
                    "algorithm '{name}' is not supported for certificates"
                )));
            }
        };
        // Step 5: the user agent supports only these parameters.
        if let KeyParams::RsaPkcs1v15 {
            modulus_length,
            public_exponent,
            ..
        } = key
            && (public_exponent != 65_537 || !matches!(modulus_length, 2048 | 3072 | 4096))
        {
            return Err(Error::not_supported(
                "RSA certificates need modulusLength 2048/3072/4096 and publicExponent 65537",
            ));
        }
        Ok(CertificateParams { key, expires })
    }
}

#[cfg(test)]
mod tests;
