//! Fuzzes the identity assertion readers (crates/rtcpeer-proto/src/sdp/identity.rs): the strict
//! base64 decoder, the `a=identity` JSON decoder and the contents check. Never a panic; base64
//! is canonical (what decodes encodes back to the same text); a decoded assertion encodes to
//! a value that decodes to the same assertion; contents always cover their own fingerprints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::DtlsFingerprint;
use rtcpeer_proto::identity::{
    IdentityAssertionJson, base64_decode, base64_encode, contents_cover_fingerprints,
    identity_contents, identity_domain_matches, remote_identity,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(bytes) = base64_decode(text) {
        assert_eq!(base64_encode(&bytes), text, "non-canonical base64 accepted");
    }
    assert_eq!(base64_decode(&base64_encode(data)).as_deref(), Some(data));
    if let Ok(a) = IdentityAssertionJson::decode(text) {
        assert!(!a.domain.is_empty());
        assert!(!a.protocol.contains(['/', '\\']));
        assert_eq!(IdentityAssertionJson::decode(&a.encode()).as_ref(), Ok(&a));
    }
    let fps = [DtlsFingerprint {
        algorithm: "sha-256".into(),
        value: text.chars().take(64).collect(),
    }];
    let _ = contents_cover_fingerprints(text, &fps);
    if !fps[0].value.is_empty() {
        assert!(contents_cover_fingerprints(&identity_contents(&fps), &fps));
    }
    let _ = identity_domain_matches(text, "example.org");
    let _ = remote_identity(text);
});
