//! Any bytes through SRTP/SRTCP unprotect (every profile, chosen by the first byte): an error
//! or a plaintext length within the input, never a panic. The same bytes as a plaintext that
//! we protect must unprotect to themselves, and with one byte changed must not unprotect.
//!
//! First byte: bits 0-1 the profile, bit 2 RTCP instead of RTP, bit 3 protect-then-unprotect
//! instead of unprotecting the raw bytes, bits 4-7 pick the byte to change (when not 0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::srtp::{SrtpContext, SrtpMasterKey, SrtpProfile};

const PROFILES: [SrtpProfile; 4] = [
    SrtpProfile::Aes128CmHmacSha1_80,
    SrtpProfile::Aes128CmHmacSha1_32,
    SrtpProfile::AeadAes128Gcm,
    SrtpProfile::AeadAes256Gcm,
];

fn context(profile: SrtpProfile) -> SrtpContext {
    let key = SrtpMasterKey {
        key: (0..profile.master_key_len() as u8).collect(),
        salt: (0..profile.master_salt_len() as u8).map(|b| b ^ 0xa5).collect(),
    };
    SrtpContext::new(profile, &key).expect("valid key lengths")
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let profile = PROFILES[usize::from(sel & 3)];
    let rtcp = sel & 4 != 0;
    let mut rx = context(profile);
    if sel & 8 == 0 {
        let mut packet = body.to_vec();
        let result = if rtcp {
            rx.unprotect_rtcp(&mut packet)
        } else {
            rx.unprotect_rtp(&mut packet)
        };
        if let Ok(n) = result {
            assert!(n <= body.len());
        }
        return;
    }
    let mut tx = context(profile);
    let mut packet = body.to_vec();
    let protected = if rtcp {
        tx.protect_rtcp(&mut packet)
    } else {
        tx.protect_rtp(&mut packet)
    };
    if protected.is_err() {
        return;
    }
    let change = usize::from(sel >> 4);
    if change != 0 {
        let mut bad = packet.clone();
        let at = (change * 7919) % bad.len();
        bad[at] ^= 1 << (change % 8);
        let result = if rtcp {
            rx.unprotect_rtcp(&mut bad)
        } else {
            rx.unprotect_rtp(&mut bad)
        };
        assert!(result.is_err(), "a changed packet unprotected");
    }
    let n = if rtcp {
        rx.unprotect_rtcp(&mut packet)
    } else {
        rx.unprotect_rtp(&mut packet)
    }
    .expect("what we protected unprotects");
    assert_eq!(&packet[..n], body);
});
