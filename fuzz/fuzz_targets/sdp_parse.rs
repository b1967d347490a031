//! Fuzzes the SDP parser and writer (crates/rtcpeer/src/sdp): any input gives a description
//! or an error, never a panic; whatever parses writes back to text that parses to an equal
//! value. The standalone attribute and candidate parsers get the same check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::sdp::{Attribute, Candidate, Sdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sdp) = Sdp::parse(text) {
        let written = sdp.to_string();
        match Sdp::parse(&written) {
            Ok(again) => assert_eq!(again, sdp, "re-parse differs for {written:?}"),
            Err(e) => panic!("written description does not parse ({e}): {written:?}"),
        }
    }
    if let Ok(attr) = Attribute::parse(text) {
        let written = attr.to_string();
        assert_eq!(Attribute::parse(&written).as_ref(), Ok(&attr), "{written:?}");
        // An attribute that parses alone also parses as a line of a description.
        let sdp = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na={written}\r\n");
        let parsed = Sdp::parse(&sdp).expect("attribute line in a description");
        assert_eq!(parsed.attributes, vec![attr]);
    }
    if let Ok(cand) = Candidate::parse(text) {
        let written = cand.to_string();
        assert_eq!(Candidate::parse(&written).as_ref(), Ok(&cand), "{written:?}");
    }
});
