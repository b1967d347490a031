//! RTCConfiguration from JSON (WebIDL conversion + validation) and the certificate
//! AlgorithmIdentifier conversion: never panic; a valid configuration's getConfiguration()
//! JSON converts back to the same configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer::{CertificateParams, Configuration};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(config) = Configuration::from_json(&value) {
        let again = Configuration::from_json(&config.to_json()).expect("to_json must convert");
        assert_eq!(again, config);
    }
    let _ = CertificateParams::from_json(&value);
});
