//! STUN / ChannelData parsers (rtcpeer_proto::stun): any input gives a message or an error, never a
//! panic; every typed getter returns a value, `None` or an error; and a parsed message's
//! honoured attributes written back with `MessageWriter` parse to the same attributes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::stun::{AttrType, ChannelData, Message, MessageWriter, is_channel_data, is_stun};

fuzz_target!(|data: &[u8]| {
    let _ = is_stun(data);
    let _ = is_channel_data(data);
    let _ = rtcpeer_proto::stun::stream_frame_len(data);

    if let Ok(cd) = ChannelData::parse(data) {
        let mut out = Vec::new();
        rtcpeer_proto::stun::write_channel_data(&mut out, cd.number, cd.data, true)
            .expect("a parsed ChannelData can be written");
        assert_eq!(ChannelData::parse(&out), Ok(cd));
    }

    let Ok(m) = Message::parse(data) else {
        return;
    };
    let _ = (m.class(), m.method(), m.transaction_id());
    let _ = m.unknown_comprehension_required().count();
    let _ = m.xor_mapped_address();
    let _ = m.mapped_address();
    let _ = m.xor_relayed_address();
    let _ = m.xor_peer_address();
    let _ = m.xor_peer_addresses().count();
    let _ = m.username();
    let _ = m.software();
    let _ = m.realm();
    let _ = m.nonce();
    let _ = m.priority();
    let _ = m.use_candidate();
    let _ = m.ice_controlling();
    let _ = m.ice_controlled();
    let _ = m.error_code();
    if let Ok(Some(u)) = m.unknown_attributes() {
        let _ = u.iter().count();
    }
    let _ = m.lifetime();
    let _ = m.requested_transport();
    let _ = m.data();
    let _ = m.channel_number();
    let _ = m.verify_integrity(b"key");
    let _ = m.verify_message_integrity(b"key");
    let _ = m.verify_message_integrity_sha256(b"key");
    let _ = m.verify_fingerprint();

    // Round trip: the honoured attributes other than integrity/fingerprint, rewritten.
    let tail = |t: u16| {
        matches!(
            t,
            AttrType::MESSAGE_INTEGRITY | AttrType::MESSAGE_INTEGRITY_SHA256 | AttrType::FINGERPRINT
        )
    };
    let mut out = Vec::new();
    let mut w = MessageWriter::new(&mut out, m.class(), m.method(), m.transaction_id());
    for a in m.attributes().filter(|a| !tail(a.typ)) {
        w.attribute(a.typ, a.value)
            .expect("rewriting never exceeds the original size");
    }
    let again = Message::parse(&out).expect("written message parses");
    assert_eq!(again.class(), m.class());
    assert_eq!(again.method(), m.method());
    assert_eq!(again.transaction_id(), m.transaction_id());
    let before = m.attributes().filter(|a| !tail(a.typ)).map(|a| (a.typ, a.value));
    let after = again.attributes().map(|a| (a.typ, a.value));
    assert!(before.eq(after), "attributes survive a write/parse round trip");
});
