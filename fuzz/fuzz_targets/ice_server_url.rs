//! STUN/TURN URL parser (RFC 7064/7065): never panics; a parsed URL prints back to a string
//! that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::config::IceServerUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = IceServerUrl::parse(text) {
        let again = IceServerUrl::parse(&url.to_string()).expect("printed URL must parse");
        assert_eq!(again, url);
    }
});
