//! Persisted certificate reader (PEM + X.509 DER subset): never panics; a certificate that
//! loads writes back to PEM that loads to the same certificate and key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer::Certificate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cert) = Certificate::from_pem(text) {
        let again = Certificate::from_pem(&cert.to_pem()).expect("to_pem must load");
        assert_eq!(again, cert);
        assert_eq!(again.private_key_der(), cert.private_key_der());
    }
});
