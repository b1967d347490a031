use super::*;
use serde_json::json;

/// A fixed "now" (2026-11-22T00:00:00.250Z) so validity periods are reproducible.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_305_600_250)
}

fn ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

fn err_name(r: Result<impl fmt::Debug>) -> &'static str {
    r.expect_err("expected an error").name()
}

#[test]
fn wpt_44_ecdsa_p256_certificate_is_not_expired() {
    let c =
        Certificate::generate_from_json(&json!({"name": "ECDSA", "namedCurve": "P-256"}), now())
            .unwrap();
    assert!(c.expires_ms() > ms(now()));
    assert!(!c.is_expired(now()));
    assert_eq!(c.key_params(), KeyParams::EcdsaP256);
    // The PKCS#8 key is a usable P-256 signing key.
    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        c.private_key_der(),
    )
    .unwrap();
}

#[test]
fn wpt_44_rsassa_pkcs1_v1_5_2048_certificate_is_not_expired() {
    let alg = json!({
        "name": "RSASSA-PKCS1-v1_5",
        "modulusLength": 2048,
        "publicExponent": [1, 0, 1],
        "hash": "SHA-256"
    });
    let c = Certificate::generate_from_json(&alg, now()).unwrap();
    assert!(c.expires_ms() > ms(now()));
    assert_eq!(
        c.key_params(),
        KeyParams::RsaPkcs1v15 {
            modulus_length: 2048,
            public_exponent: 65_537,
            hash: RsaHash::Sha256
        }
    );
    let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(c.private_key_der()).unwrap();
    assert_eq!(kp.public_modulus_len(), 256);
    // The certificate's public key is the 2048-bit, e=65537 key.
    let fields = der::parse_certificate(c.der()).unwrap();
    assert_eq!(
        der::parse_rsa_public_key(fields.public_key).unwrap(),
        (2048, 65_537)
    );
}

#[test]
fn ecdsa_p384_certificate() {
    let c = Certificate::generate(KeyParams::EcdsaP384, now()).unwrap();
    assert_eq!(c.key_params(), KeyParams::EcdsaP384);
    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        c.private_key_der(),
    )
    .unwrap();
}

#[test]
fn wpt_46_expires_2000_ms_is_now_plus_2000() {
    let c = Certificate::generate_from_json(
        &json!({"name": "ECDSA", "namedCurve": "P-256", "expires": 2000}),
        now(),
    )
    .unwrap();
    assert!((c.expires_ms() - (ms(now()) + 2000.0)).abs() <= 1000.0);
    assert_eq!(c.expires(), now() + Duration::from_millis(2000));
    assert!(!c.is_expired(now() + Duration::from_millis(1999)));
    assert!(c.is_expired(now() + Duration::from_millis(2000)));
}

#[test]
fn wpt_46_expires_zero_gives_an_already_expired_certificate() {
    let c = Certificate::generate_from_json(
        &json!({"name": "ECDSA", "namedCurve": "P-256", "expires": 0}),
        now(),
    )
    .unwrap();
    assert!(c.expires_ms() <= ms(now()));
    assert!(c.is_expired(now()));
}

#[test]
fn wpt_46_negative_or_non_numeric_expires_is_type_error() {
    for expires in [json!(-1), json!("invalid"), json!({}), json!(9.1e15)] {
        let alg = json!({"name": "ECDSA", "namedCurve": "P-256", "expires": expires});
        assert_eq!(
            err_name(CertificateParams::from_json(&alg)),
            "TypeError",
            "{expires}"
        );
    }
    // Fractions truncate (WebIDL ConvertToInt).
    let p = CertificateParams::from_json(
        &json!({"name":"ECDSA","namedCurve":"P-256","expires": 1500.9}),
    )
    .unwrap();
    assert_eq!(p.expires, Some(Duration::from_millis(1500)));
}

#[test]
fn default_expiry_is_30_days_and_expiry_is_capped_at_365_days() {
    let c = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    assert_eq!(c.expires(), now() + Duration::from_secs(30 * 86_400));
    let long = CertificateParams::from_json(
        &json!({"name":"ECDSA","namedCurve":"P-256","expires": 400.0 * 86_400_000.0}),
    )
    .unwrap();
    let c = Certificate::generate(long, now()).unwrap();
    assert_eq!(c.expires(), now() + Duration::from_secs(365 * 86_400));
}

#[test]
fn validity_period_is_now_minus_one_day_to_expiry() {
    let c = Certificate::generate(
        CertificateParams {
            key: KeyParams::EcdsaP256,
            expires: Some(Duration::from_secs(3600)),
        },
        now(),
    )
    .unwrap();
    let f = der::parse_certificate(c.der()).unwrap();
    let now_s = 1_795_305_600;
    assert_eq!(f.not_before, now_s - 86_400);
    // notAfter is rounded up to the next whole second (now has 250 ms).
    assert_eq!(f.not_after, now_s + 3600 + 1);
    // Subject/issuer common name is "WebRTC".
    assert!(c.der().windows(6).any(|w| w == b"WebRTC"));
}

#[test]
fn wpt_47_fingerprint_is_lowercase_hex_sha256_of_the_der() {
    let c = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    let fps = c.get_fingerprints();
    assert!(!fps.is_empty());
    let allowed = [
        "md2", "md5", "sha-1", "sha-224", "sha-256", "sha-384", "sha-512",
    ];
    for fp in &fps {
        assert!(allowed.contains(&fp.algorithm.as_str()));
        let pairs: Vec<&str> = fp.value.split(':').collect();
        assert!(pairs.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
    }
    // Independent computation: SHA-256 over the DER, formatted here.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, c.der());
    let expected: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(fps[0].algorithm, "sha-256");
    assert_eq!(fps[0].value, expected.join(":"));
    // The W3C dictionary shape.
    assert_eq!(
        serde_json::to_value(&fps[0]).unwrap(),
        json!({"algorithm": "sha-256", "value": expected.join(":")})
    );
}

#[test]
fn equality_is_same_certificate() {
    let a = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    let b = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
    let a2 = Certificate::from_pem(&a.to_pem()).unwrap();
    assert_eq!(a, a2);
    // Debug output never contains the key bytes' PEM or hex.
    assert!(!format!("{a:?}").contains("PRIVATE"));
}

#[test]
fn pem_round_trip_keeps_certificate_key_and_fingerprint() {
    for key in [KeyParams::EcdsaP256, KeyParams::EcdsaP384] {
        let c = Certificate::generate(key, now()).unwrap();
        let text = c.to_pem();
        assert!(text.contains("-----BEGIN CERTIFICATE-----"));
        assert!(text.contains("-----BEGIN PRIVATE KEY-----"));
        let back = Certificate::from_pem(&text).unwrap();
        assert_eq!(back.der(), c.der());
        assert_eq!(back.private_key_der(), c.private_key_der());
        assert_eq!(back.get_fingerprints(), c.get_fingerprints());
        assert_eq!(back.key_params(), key);
        // notAfter has whole seconds, rounded up.
        let diff = back.expires_ms() - c.expires_ms();
        assert!((0.0..1000.0).contains(&diff), "{diff}");
    }
}

#[test]
fn pem_with_a_foreign_key_or_garbage_is_rejected() {
    let a = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    let b = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    let mixed = pem::encode_many(&[
        pem::Pem::new("CERTIFICATE", a.der().to_vec()),
        pem::Pem::new("PRIVATE KEY", b.private_key_der().to_vec()),
    ]);
    assert_eq!(
        err_name(Certificate::from_pem(&mixed)),
        "InvalidAccessError"
    );
    let only_cert = pem::encode(&pem::Pem::new("CERTIFICATE", a.der().to_vec()));
    assert_eq!(err_name(Certificate::from_pem(&only_cert)), "SyntaxError");
    let twice = format!("{}{}", a.to_pem(), a.to_pem());
    assert_eq!(err_name(Certificate::from_pem(&twice)), "SyntaxError");
    let truncated_der = pem::encode_many(&[
        pem::Pem::new("CERTIFICATE", a.der()[..a.der().len() / 2].to_vec()),
        pem::Pem::new("PRIVATE KEY", a.private_key_der().to_vec()),
    ]);
    assert_eq!(
        err_name(Certificate::from_pem(&truncated_der)),
        "SyntaxError"
    );
    assert_eq!(err_name(Certificate::from_pem("not pem")), "SyntaxError");
    assert_eq!(err_name(Certificate::from_pem("")), "SyntaxError");
}

#[test]
fn algorithm_json_errors_follow_webcrypto() {
    let cases = [
        (json!({"name": "ECDSA"}), "TypeError"),
        (json!("ECDSA"), "TypeError"),
        (json!({"namedCurve": "P-256"}), "TypeError"),
        (
            json!({"name": "ECDSA", "namedCurve": "P-521"}),
            "NotSupportedError",
        ),
        (json!({"name": "Ed25519"}), "NotSupportedError"),
        (
            json!({"name": "AES-GCM", "length": 128}),
            "NotSupportedError",
        ),
        (json!("bogus"), "NotSupportedError"),
        (json!(null), "NotSupportedError"),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [1,0,1]}),
            "TypeError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "publicExponent": [1,0,1], "hash": "SHA-256"}),
            "TypeError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": "65537", "hash": "SHA-256"}),
            "TypeError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [3], "hash": "SHA-256"}),
            "NotSupportedError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 1024, "publicExponent": [1,0,1], "hash": "SHA-256"}),
            "NotSupportedError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [1,0,1], "hash": "MD5"}),
            "NotSupportedError",
        ),
        (
            json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [1,0,0,0,0,0,0,0,0,1], "hash": "SHA-256"}),
            "NotSupportedError",
        ),
    ];
    for (alg, name) in cases {
        assert_eq!(err_name(CertificateParams::from_json(&alg)), name, "{alg}");
    }
}

#[test]
fn algorithm_json_accepts_case_insensitive_names_and_hash_objects() {
    let p = CertificateParams::from_json(&json!({"name": "ecdsa", "namedCurve": "P-384"})).unwrap();
    assert_eq!(
        p,
        CertificateParams {
            key: KeyParams::EcdsaP384,
            expires: None
        }
    );
    let p = CertificateParams::from_json(&json!({
        "name": "rsassa-pkcs1-v1_5", "modulusLength": "3072", "publicExponent": [0, 1, 0, 1],
        "hash": {"name": "sha-384"}
    }))
    .unwrap();
    assert_eq!(
        p.key,
        KeyParams::RsaPkcs1v15 {
            modulus_length: 3072,
            public_exponent: 65_537,
            hash: RsaHash::Sha384
        }
    );
}

#[test]
fn unsupported_rsa_parameters_are_not_supported_in_generate() {
    for key in [
        KeyParams::RsaPkcs1v15 {
            modulus_length: 1024,
            public_exponent: 65_537,
            hash: RsaHash::Sha256,
        },
        KeyParams::RsaPkcs1v15 {
            modulus_length: 2048,
            public_exponent: 3,
            hash: RsaHash::Sha256,
        },
    ] {
        assert_eq!(
            err_name(Certificate::generate(key, now())),
            "NotSupportedError"
        );
    }
}

#[test]
fn pem_round_trip_of_an_rsa_certificate_recovers_its_key_params() {
    let key = KeyParams::RsaPkcs1v15 {
        modulus_length: 2048,
        public_exponent: 65_537,
        hash: RsaHash::Sha256,
    };
    let c = Certificate::generate(key, now()).unwrap();
    let back = Certificate::from_pem(&c.to_pem()).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.private_key_der(), c.private_key_der());
    assert_eq!(back.key_params(), key);
}

/// The fuzz target's property on seeded byte mutations of a real certificate: the DER reader
/// and `from_pem` never panic, and whatever loads round-trips through PEM.
#[test]
fn mutated_certificates_never_panic() {
    let c = Certificate::generate(KeyParams::EcdsaP256, now()).unwrap();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut der = c.der().to_vec();
        for _ in 0..(1 + next() % 3) {
            let pos = (next() as usize) % der.len();
            der[pos] = next() as u8;
        }
        if next() % 4 == 0 {
            der.truncate((next() as usize) % der.len());
        }
        let _ = der::parse_certificate(&der);
        let text = pem::encode_many(&[
            pem::Pem::new("CERTIFICATE", der),
            pem::Pem::new("PRIVATE KEY", c.private_key_der().to_vec()),
        ]);
        if let Ok(back) = Certificate::from_pem(&text) {
            assert_eq!(Certificate::from_pem(&back.to_pem()).unwrap(), back);
        }
    }
}

#[test]
fn expires_is_converted_before_the_algorithm_is_normalised() {
    // webrtc-pc §4.10 step 3 (RTCCertificateExpiration) precedes step 4 (normalisation).
    let alg = json!({"name": "bogus", "expires": -1});
    assert_eq!(err_name(CertificateParams::from_json(&alg)), "TypeError");
    let alg = json!({"name": "bogus", "expires": 1});
    assert_eq!(
        err_name(CertificateParams::from_json(&alg)),
        "NotSupportedError"
    );
}
