//! Checking the peer's certificate against the `a=fingerprint` values of the remote description
//! (RFC 8122 §5, RFC 8842 §5, RFC 8827 §6.5).

use aws_lc_rs::digest;

use crate::cert::DtlsFingerprint;
use crate::error::{Error, Result};

/// Most fingerprints kept for one hash function; the rest are ignored (a description carries
/// one per certificate, browsers send one).
pub const MAX_FINGERPRINTS: usize = 16;

/// A hash function of RFC 8122's "Hash Function Textual Names" registry that rtcpeer can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FingerprintAlgorithm {
    /// "sha-1" (legacy; only used when the peer offers nothing stronger).
    Sha1,
    /// "sha-224".
    Sha224,
    /// "sha-256", what browsers send (RFC 8122 §5 requires support).
    Sha256,
    /// "sha-384".
    Sha384,
    /// "sha-512".
    Sha512,
}

impl FingerprintAlgorithm {
    /// Parses an RFC 8122 hash function name, case-insensitively (e.g. "sha-256", "SHA-256").
    pub fn from_name(name: &str) -> Option<FingerprintAlgorithm> {
        let alg = match name.to_ascii_lowercase().as_str() {
            "sha-1" => FingerprintAlgorithm::Sha1,
            "sha-224" => FingerprintAlgorithm::Sha224,
            "sha-256" => FingerprintAlgorithm::Sha256,
            "sha-384" => FingerprintAlgorithm::Sha384,
            "sha-512" => FingerprintAlgorithm::Sha512,
            _ => return None,
        };
        Some(alg)
    }

    /// The RFC 8122 textual name, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            FingerprintAlgorithm::Sha1 => "sha-1",
            FingerprintAlgorithm::Sha224 => "sha-224",
            FingerprintAlgorithm::Sha256 => "sha-256",
            FingerprintAlgorithm::Sha384 => "sha-384",
            FingerprintAlgorithm::Sha512 => "sha-512",
        }
    }

    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            FingerprintAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            FingerprintAlgorithm::Sha224 => &digest::SHA224,
            FingerprintAlgorithm::Sha256 => &digest::SHA256,
            FingerprintAlgorithm::Sha384 => &digest::SHA384,
            FingerprintAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    /// Length of the digest in bytes.
    pub fn digest_len(self) -> usize {
        self.digest_algorithm().output_len()
    }

    /// The digest of `der` with this hash function.
    pub fn digest(self, der: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_algorithm(), der)
            .as_ref()
            .to_vec()
    }
}

/// Parses `AB:CD:..` (hex byte pairs joined by ':', any letter case, RFC 8122 §5 `fingerprint`).
fn parse_hex_pairs(value: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len() / 3 + 1);
    for pair in value.split(':') {
        let b = pair.as_bytes();
        if b.len() != 2 {
            return None;
        }
        let hi = char::from(b[0]).to_digit(16)?;
        let lo = char::from(b[1]).to_digit(16)?;
        out.push(u8::try_from(hi * 16 + lo).ok()?);
    }
    Some(out)
}

/// The expected remote certificate fingerprints: the set for the strongest hash function the
/// peer offered that rtcpeer supports (RFC 8122 §5: "select the set of fingerprints that use
/// its most preferred hash function ... and verify that each certificate used matches one").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFingerprints {
    algorithm: FingerprintAlgorithm,
    digests: Vec<Vec<u8>>,
}

impl RemoteFingerprints {
    /// Builds the expected set from the remote description's `a=fingerprint` values. Values with
    /// an unknown hash function or malformed hex are ignored; if none is usable the result is an
    /// `OperationError` with detail `fingerprint-failure`.
    pub fn new(fingerprints: &[DtlsFingerprint]) -> Result<RemoteFingerprints> {
        let parsed: Vec<(FingerprintAlgorithm, Vec<u8>)> = fingerprints
            .iter()
            .filter_map(|f| {
                let alg = FingerprintAlgorithm::from_name(f.algorithm.trim())?;
                let bytes = parse_hex_pairs(f.value.trim())?;
                (bytes.len() == alg.digest_len()).then_some((alg, bytes))
            })
            .collect();
        let Some(algorithm) = parsed.iter().map(|(a, _)| *a).max() else {
            return Err(Error::rtc(
                crate::error::ErrorDetail::FingerprintFailure,
                "no usable DTLS fingerprint (need sha-1/224/256/384/512 with well-formed hex)",
            ));
        };
        let mut digests: Vec<Vec<u8>> = Vec::new();
        for (alg, d) in parsed {
            if alg == algorithm && !digests.contains(&d) && digests.len() < MAX_FINGERPRINTS {
                digests.push(d);
            }
        }
        Ok(RemoteFingerprints { algorithm, digests })
    }

    /// The hash function whose fingerprints are checked.
    pub fn algorithm(&self) -> FingerprintAlgorithm {
        self.algorithm
    }

    /// Whether `certificate_der` hashes to one of the expected fingerprints.
    pub fn matches(&self, certificate_der: &[u8]) -> bool {
        let d = self.algorithm.digest(certificate_der);
        self.digests.contains(&d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(alg: &str, value: &str) -> DtlsFingerprint {
        DtlsFingerprint {
            algorithm: alg.to_owned(),
            value: value.to_owned(),
        }
    }

    fn hex_upper(b: &[u8]) -> String {
        b.iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    #[test]
    fn matches_case_insensitively_and_picks_strongest_hash() {
        let der = b"not really a certificate, but any bytes hash";
        let s256 = FingerprintAlgorithm::Sha256.digest(der);
        let s512 = FingerprintAlgorithm::Sha512.digest(der);
        // Uppercase hex and algorithm name.
        let r = RemoteFingerprints::new(&[fp("SHA-256", &hex_upper(&s256))]).unwrap();
        assert!(r.matches(der));
        assert!(!r.matches(b"other"));
        // Lowercase.
        let r =
            RemoteFingerprints::new(&[fp("sha-256", &hex_upper(&s256).to_lowercase())]).unwrap();
        assert!(r.matches(der));
        // The strongest offered hash is the one checked: a wrong sha-512 beside a right sha-256
        // fails (RFC 8122 §5).
        let wrong512 = FingerprintAlgorithm::Sha512.digest(b"x");
        let r = RemoteFingerprints::new(&[
            fp("sha-256", &hex_upper(&s256)),
            fp("sha-512", &hex_upper(&wrong512)),
        ])
        .unwrap();
        assert_eq!(r.algorithm(), FingerprintAlgorithm::Sha512);
        assert!(!r.matches(der));
        // One of several in the selected set suffices.
        let r = RemoteFingerprints::new(&[
            fp("sha-512", &hex_upper(&wrong512)),
            fp("sha-512", &hex_upper(&s512)),
        ])
        .unwrap();
        assert!(r.matches(der));
        for alg in [
            FingerprintAlgorithm::Sha1,
            FingerprintAlgorithm::Sha224,
            FingerprintAlgorithm::Sha384,
        ] {
            let r =
                RemoteFingerprints::new(&[fp(alg.name(), &hex_upper(&alg.digest(der)))]).unwrap();
            assert!(r.matches(der), "{alg:?}");
        }
    }

    #[test]
    fn unusable_values_are_ignored_or_rejected() {
        let der = b"cert";
        let s256 = hex_upper(&FingerprintAlgorithm::Sha256.digest(der));
        for bad in [
            fp("md5", "AB:CD"),
            fp("sha-256", "XY:ZZ"),
            fp("sha-256", "AB:CD"),             // wrong length
            fp("sha-256", &format!("{s256}:")), // trailing separator
            fp("sha-256", &s256.replace(':', "")),
            fp("sha-256", ""),
            fp("sha-256", "é:"),
        ] {
            let e = RemoteFingerprints::new(std::slice::from_ref(&bad)).unwrap_err();
            assert_eq!(
                e.detail(),
                Some(crate::error::ErrorDetail::FingerprintFailure),
                "{bad:?}"
            );
        }
        assert!(RemoteFingerprints::new(&[]).is_err());
        // A malformed sha-512 does not hide a good sha-256.
        let r = RemoteFingerprints::new(&[fp("sha-512", "00:11"), fp("sha-256", &s256)]).unwrap();
        assert!(r.matches(der));
    }
}
