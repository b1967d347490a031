//! Any bytes as a DCEP message: parse or error, never panic; whatever parses writes back
//! to bytes that parse to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::datachannel::DcepMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = DcepMessage::parse(data) {
        let mut out = Vec::new();
        msg.write(&mut out).expect("a parsed message can be written");
        assert_eq!(DcepMessage::parse(&out), Ok(msg));
    }
});
