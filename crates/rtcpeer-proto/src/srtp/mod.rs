//! Reserved: SRTP and SRTCP protection of media (RFC 3711, AES-CM and AEAD-GCM profiles of
//! RFC 7714), keyed from the DTLS-SRTP exporter that `dtls/srtp.rs` already derives
//! (RFC 5764 §4.2). Issue 10 fills it; the session's DTLS transport hands it the keys.
