use super::crypto::{self, Cipher, LABEL_RTP_AUTH, LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT};
use super::*;
use crate::SeededRandom;
use crate::util::RandomSource;

const ALL: [SrtpProfile; 4] = [
    SrtpProfile::Aes128CmHmacSha1_80,
    SrtpProfile::Aes128CmHmacSha1_32,
    SrtpProfile::AeadAes128Gcm,
    SrtpProfile::AeadAes256Gcm,
];

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn master(profile: SrtpProfile, seed: u8) -> SrtpMasterKey {
    SrtpMasterKey {
        key: (0..profile.master_key_len() as u8)
            .map(|i| i.wrapping_mul(7) ^ seed)
            .collect(),
        salt: (0..profile.master_salt_len() as u8)
            .map(|i| i.wrapping_mul(13) ^ seed)
            .collect(),
    }
}

fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
    let k = master(profile, 0x5a);
    (
        SrtpContext::new(profile, &k).unwrap(),
        SrtpContext::new(profile, &k).unwrap(),
    )
}

fn rtp(seq: u16, ssrc: u32, payload: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 90).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload).map(|i| (i as u8) ^ (seq as u8)));
    p
}

fn rtcp(ssrc: u32, words: usize) -> Vec<u8> {
    let mut p = vec![0x80, 200];
    p.extend_from_slice(&(words as u16 + 1).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..4 * (words + 1)).map(|i| i as u8));
    p
}

fn protected(ctx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut v = plain.to_vec();
    ctx.protect_rtp(&mut v).unwrap();
    v
}

fn unprotect(ctx: &mut SrtpContext, srtp: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut v = srtp.to_vec();
    let n = ctx.unprotect_rtp(&mut v)?;
    v.truncate(n);
    Ok(v)
}

fn unprotect_rtcp(ctx: &mut SrtpContext, srtcp: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut v = srtcp.to_vec();
    let n = ctx.unprotect_rtcp(&mut v)?;
    v.truncate(n);
    Ok(v)
}

/// RFC 3711 Appendix B.3: key derivation, with the full 94 bytes of the auth keystream.
#[test]
fn rfc3711_b3_key_derivation() {
    let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
    let mut enc = [0u8; 16];
    crypto::derive(&key, &salt, LABEL_RTP_ENCRYPTION, &mut enc).unwrap();
    assert_eq!(enc.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut s = [0u8; 14];
    crypto::derive(&key, &salt, LABEL_RTP_SALT, &mut s).unwrap();
    assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut auth = [0u8; 94];
    crypto::derive(&key, &salt, LABEL_RTP_AUTH, &mut auth).unwrap();
    assert_eq!(
        auth.to_vec(),
        hex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2")
    );
    assert_eq!(
        crypto::derive(&key[..15], &salt, 0, &mut enc),
        Err(SrtpError::BadKey)
    );
}

/// RFC 3711 Appendix B.2: the AES-CM keystream for SSRC 0, index 0, through the SRTP encrypt
/// path (a zero payload encrypts to the keystream).
#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let c = Cipher::from_session_keys(
        SrtpProfile::Aes128CmHmacSha1_80,
        &hex("2B7E151628AED2A6ABF7158809CF4F3C"),
        &hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
        &[0u8; 20],
        10,
    )
    .unwrap();
    assert_eq!(
        crypto::cm_iv(
            &hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
            0,
            0
        )
        .to_vec(),
        hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
    );
    let blocks = 0xff02;
    let mut packet = vec![0u8; 12 + 16 * blocks];
    c.protect_rtp(&mut packet, 12, 0, 0).unwrap();
    let ks = &packet[12..12 + 16 * blocks];
    let block = |i: usize| ks[16 * i..16 * (i + 1)].to_vec();
    assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert_eq!(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert_eq!(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert_eq!(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

const RFC7714_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC7714_SALT: &str = "517569642070726f2071756f";

/// A context keyed with the RFC 7714 §16-17 session keys (the same for RTP and RTCP there).
fn rfc7714_context(profile: SrtpProfile) -> SrtpContext {
    let key = hex(if profile == SrtpProfile::AeadAes128Gcm {
        RFC7714_KEY_128
    } else {
        RFC7714_KEY_256
    });
    let salt = hex(RFC7714_SALT);
    let c = || Cipher::from_session_keys(profile, &key, &salt, &[], 16).unwrap();
    SrtpContext::from_ciphers(profile, SrtpConfig::default(), c(), c())
}

/// RFC 7714 §16.1.1 (AES-128-GCM) and §16.2.1 (AES-256-GCM): SRTP encryption, and back.
#[test]
fn rfc7714_16_rtp_vectors() {
    let plain = hex("8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e697320646976
                     69736120696e207061727465732074726573");
    for (profile, expected) in [
        (
            SrtpProfile::AeadAes128Gcm,
            "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd5
             0d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3
             b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
        ),
    ] {
        let expected = hex(expected);
        let mut tx = rfc7714_context(profile);
        assert_eq!(protected(&mut tx, &plain), expected, "{profile}");
        let mut rx = rfc7714_context(profile);
        assert_eq!(unprotect(&mut rx, &expected).unwrap(), plain, "{profile}");
        assert_eq!(unprotect(&mut rx, &expected), Err(SrtpError::Replayed));
    }
}

/// RFC 7714 §17.1 and §17.2: SRTCP encryption with index 0x5d4; §17.3: authenticated only
/// (E=0), which we accept but never send.
#[test]
fn rfc7714_17_rtcp_vectors() {
    let plain = hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
                     deadbeefdeadbeefdeadbeefdeadbeefdeadbeef");
    for (profile, expected) in [
        (
            SrtpProfile::AeadAes128Gcm,
            "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32d
             c676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf872
             45d9eade800005d4",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50
             a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6c
             b26ac3be800005d4",
        ),
    ] {
        let expected = hex(expected);
        let mut tx = rfc7714_context(profile);
        tx.send_rtcp.insert(0x4d61_7273, 0x5d3);
        let mut v = plain.clone();
        tx.protect_rtcp(&mut v).unwrap();
        assert_eq!(v, expected, "{profile}");
        let mut rx = rfc7714_context(profile);
        assert_eq!(unprotect_rtcp(&mut rx, &expected).unwrap(), plain);
        assert_eq!(
            unprotect_rtcp(&mut rx, &expected),
            Err(SrtpError::Replayed)
        );
    }
    let tag_only = hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
                        deadbeefdeadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790
                        125f62b3000005d4");
    let mut rx = rfc7714_context(SrtpProfile::AeadAes128Gcm);
    assert_eq!(unprotect_rtcp(&mut rx, &tag_only).unwrap(), plain);
    let mut bad = tag_only.clone();
    bad[20] ^= 1;
    let mut rx = rfc7714_context(SrtpProfile::AeadAes128Gcm);
    assert_eq!(unprotect_rtcp(&mut rx, &bad), Err(SrtpError::AuthFailed));
}

fn profile_from_id(id: u16) -> SrtpProfile {
    *ALL.iter().find(|p| p.id() == id).unwrap()
}

/// libsrtp (aiortc's pylibsrtp) protected these with fixed keys (testdata/make_vectors.py):
/// protecting the same plaintexts in the same order gives the same bytes, for every profile,
/// across a rollover and with a reordered packet; unprotecting gives the plaintexts back.
#[test]
fn libsrtp_vectors_match() {
    let text = include_str!("testdata/libsrtp_vectors.txt");
    let mut contexts: Vec<(SrtpProfile, SrtpContext, SrtpContext)> = Vec::new();
    let mut checked = [0usize; 2];
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let profile = profile_from_id(u16::from_str_radix(f[1], 16).unwrap());
        match f[0] {
            "key" => {
                let k = SrtpMasterKey {
                    key: hex(f[2]),
                    salt: hex(f[3]),
                };
                contexts.push((
                    profile,
                    SrtpContext::new(profile, &k).unwrap(),
                    SrtpContext::new(profile, &k).unwrap(),
                ));
            }
            kind => {
                let (p, tx, rx) = contexts.last_mut().unwrap();
                assert_eq!(*p, profile);
                let (plain, expected) = (hex(f[2]), hex(f[3]));
                let mut v = plain.clone();
                if kind == "rtp" {
                    tx.protect_rtp(&mut v).unwrap();
                    assert_eq!(v, expected, "{profile} rtp {}", f[2]);
                    assert_eq!(unprotect(rx, &expected).unwrap(), plain);
                    checked[0] += 1;
                } else {
                    tx.protect_rtcp(&mut v).unwrap();
                    assert_eq!(v, expected, "{profile} rtcp {}", f[2]);
                    assert_eq!(unprotect_rtcp(rx, &expected).unwrap(), plain);
                    checked[1] += 1;
                }
            }
        }
    }
    assert_eq!(contexts.len(), 4);
    assert_eq!(checked, [4 * 18, 4 * 6]);
    // The rollover in the vectors moved SSRC 0x12345678 to ROC 1 on both sides.
    for (_, tx, rx) in &contexts {
        assert_eq!(tx.rtp_roc(0x1234_5678), Some(1));
        assert_eq!(rx.rtp_roc(0x1234_5678), Some(1));
    }
}

/// Flipping any single bit of a protected packet makes it fail, and leaves the receiver's
/// state as it was (the original then still unprotects).
#[test]
fn any_flipped_bit_fails() {
    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut ext = rtp(7, 0xabc, 0);
        ext[0] |= 0x11; // one CSRC and an extension
        ext.extend_from_slice(&[0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 1, 2, 3]);
        ext.extend_from_slice(b"payload");
        for plain in [rtp(5, 0xabc, 0), rtp(6, 0xabc, 40), ext] {
            let srtp = protected(&mut tx, &plain);
            for bit in 0..srtp.len() * 8 {
                let mut bad = srtp.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(unprotect(&mut rx, &bad).is_err(), "{profile} bit {bit}");
            }
            assert_eq!(unprotect(&mut rx, &srtp).unwrap(), plain);
        }
        for plain in [rtcp(0xabc, 0), rtcp(0xabc, 5)] {
            let mut srtcp = plain.clone();
            tx.protect_rtcp(&mut srtcp).unwrap();
            for bit in 0..srtcp.len() * 8 {
                let mut bad = srtcp.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(unprotect_rtcp(&mut rx, &bad).is_err(), "{profile} bit {bit}");
            }
            assert_eq!(unprotect_rtcp(&mut rx, &srtcp).unwrap(), plain);
        }
        assert_eq!(rx.stream_count(), 2);
    }
}

/// Every truncation of a protected packet is refused without panicking.
#[test]
fn truncated_inputs_fail() {
    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        let srtp = protected(&mut tx, &rtp(1, 9, 30));
        let mut srtcp = rtcp(9, 3);
        tx.protect_rtcp(&mut srtcp).unwrap();
        for n in 0..srtp.len() {
            assert!(unprotect(&mut rx, &srtp[..n]).is_err());
        }
        for n in 0..srtcp.len() {
            assert!(unprotect_rtcp(&mut rx, &srtcp[..n]).is_err());
        }
        assert_eq!(rx.stream_count(), 0);
        assert_eq!(unprotect(&mut rx, &srtp).unwrap(), rtp(1, 9, 30));
        // Too short to protect, and headers that claim more than there is.
        assert_eq!(tx.protect_rtp(&mut vec![0x80; 11]), Err(SrtpError::TooShort));
        assert_eq!(tx.protect_rtcp(&mut vec![0x80; 7]), Err(SrtpError::TooShort));
        let mut cc = rtp(2, 9, 4);
        cc[0] |= 0x02;
        assert_eq!(tx.protect_rtp(&mut cc), Err(SrtpError::TooShort));
        let mut x = rtp(2, 9, 4);
        x[0] |= 0x10;
        x.truncate(14);
        assert_eq!(tx.protect_rtp(&mut x), Err(SrtpError::TooShort));
        let mut v1 = rtp(2, 9, 4);
        v1[0] = 0x40;
        assert_eq!(tx.protect_rtp(&mut v1), Err(SrtpError::BadHeader));
        assert_eq!(
            tx.protect_rtcp(&mut vec![0x40, 200, 0, 1, 0, 0, 0, 9]),
            Err(SrtpError::BadHeader)
        );
    }
}

/// RFC 3711 §3.3.2: a duplicate is rejected, an old packet inside the window is accepted
/// once, one older than the window is rejected; the default window is 1024 packets.
#[test]
fn rtp_replay_window() {
    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        let packets: Vec<Vec<u8>> = (0..1100u16)
            .map(|s| protected(&mut tx, &rtp(s, 1, 8)))
            .collect();
        assert!(unprotect(&mut rx, &packets[1099]).is_ok());
        assert_eq!(unprotect(&mut rx, &packets[1099]), Err(SrtpError::Replayed));
        assert!(unprotect(&mut rx, &packets[1099 - 1023]).is_ok());
        assert_eq!(
            unprotect(&mut rx, &packets[1099 - 1023]),
            Err(SrtpError::Replayed)
        );
        assert_eq!(
            unprotect(&mut rx, &packets[1099 - 1024]),
            Err(SrtpError::TooOld)
        );
        assert!(unprotect(&mut rx, &packets[1098]).is_ok());
        // A forged packet in the window does not mark its index as seen.
        let mut forged = packets[1097].clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x80;
        assert_eq!(unprotect(&mut rx, &forged), Err(SrtpError::AuthFailed));
        assert!(unprotect(&mut rx, &packets[1097]).is_ok());
    }
}

/// A smaller configured window, and SRTCP's 128-packet default.
#[test]
fn configured_windows_and_rtcp_replay() {
    let profile = SrtpProfile::AeadAes128Gcm;
    let k = master(profile, 1);
    let config = SrtpConfig {
        rtp_replay_window: 64,
        ..SrtpConfig::default()
    };
    let mut tx = SrtpContext::new(profile, &k).unwrap();
    let mut rx = SrtpContext::with_config(profile, &k, config).unwrap();
    let packets: Vec<Vec<u8>> = (0..100u16)
        .map(|s| protected(&mut tx, &rtp(s, 1, 8)))
        .collect();
    assert!(unprotect(&mut rx, &packets[99]).is_ok());
    assert!(unprotect(&mut rx, &packets[36]).is_ok());
    assert_eq!(unprotect(&mut rx, &packets[35]), Err(SrtpError::TooOld));

    let srtcp: Vec<Vec<u8>> = (0..200)
        .map(|i| {
            let mut v = rtcp(1, i % 3);
            tx.protect_rtcp(&mut v).unwrap();
            v
        })
        .collect();
    assert!(unprotect_rtcp(&mut rx, &srtcp[199]).is_ok());
    assert_eq!(
        unprotect_rtcp(&mut rx, &srtcp[199]),
        Err(SrtpError::Replayed)
    );
    assert!(unprotect_rtcp(&mut rx, &srtcp[199 - 127]).is_ok());
    assert_eq!(
        unprotect_rtcp(&mut rx, &srtcp[199 - 128]),
        Err(SrtpError::TooOld)
    );
    // Indices count from 1 per SSRC, as libsrtp's do.
    assert_eq!(&srtcp[0][srtcp[0].len() - 4..], &[0x80, 0, 0, 1]);
}

/// The ROC follows sequence wraps on send and on receive, both ways: a late packet from
/// before the wrap is decrypted with ROC-1, and a retransmission on send reuses its index.
#[test]
fn roc_wraps_and_reordering_across_the_wrap() {
    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        let seqs = [65533u16, 65534, 65535, 0, 1, 2];
        let plain: Vec<Vec<u8>> = seqs.iter().map(|&s| rtp(s, 77, 20)).collect();
        let srtp: Vec<Vec<u8>> = plain.iter().map(|p| protected(&mut tx, p)).collect();
        assert_eq!(tx.rtp_roc(77), Some(1));
        // Resending seq 65535 after the wrap protects it with ROC 0 again: same bytes.
        assert_eq!(protected(&mut tx, &plain[2]), srtp[2]);
        assert_eq!(tx.rtp_roc(77), Some(1));
        // Arrival order: 65533, 0, 65535, 2, 65534, 1.
        for i in [0, 3, 2, 5, 1, 4] {
            assert_eq!(unprotect(&mut rx, &srtp[i]).unwrap(), plain[i], "{profile}");
        }
        assert_eq!(rx.rtp_roc(77), Some(1));
        for s in &srtp {
            assert_eq!(unprotect(&mut rx, s), Err(SrtpError::Replayed));
        }
        // Long runs: 200 000 packets in order cross three wraps on both sides.
        let mut tx2 = pair(profile).0;
        let mut rx2 = pair(profile).1;
        for i in 0..200_000u32 {
            let p = rtp(i as u16, 5, 4);
            assert_eq!(unprotect(&mut rx2, &protected(&mut tx2, &p)).unwrap(), p);
        }
        assert_eq!(tx2.rtp_roc(5), Some(3));
        assert_eq!(rx2.rtp_roc(5), Some(3));
    }
}

/// RFC 3711 Appendix A at the edges: at ROC 0 a guess of ROC-1 stays at ROC 0 (libsrtp), a
/// guess past ROC 2^32-1 is refused, and so is the SRTCP index past 2^31-1 (§9.2).
#[test]
fn index_estimation_edges() {
    assert_eq!(estimate_index(100, 65500), Some(65500));
    assert_eq!(estimate_index(0x1_0005, 65500), Some(65500));
    assert_eq!(estimate_index(0x1_fff0, 3), Some(0x2_0003));
    assert_eq!(estimate_index(0x1_8000, 0), Some(0x1_0000));
    assert_eq!(estimate_index(0x1_8001, 0), Some(0x2_0000));
    assert_eq!(estimate_index(0x1_0000, 0x8001), Some(0x0_8001));
    assert_eq!(estimate_index(0x1_0000, 0x8000), Some(0x1_8000));
    assert_eq!(estimate_index(0xffff_ffff_fff0, 5), None);

    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        tx.send_rtp.insert(9, 0xffff_ffff_fff0);
        let last = protected(&mut tx, &rtp(0xffff, 9, 3));
        assert_eq!(
            tx.protect_rtp(&mut rtp(0, 9, 3)),
            Err(SrtpError::IndexExhausted)
        );
        rx.recv_rtp.insert(9, replay::ReplayWindow::new(64, 0xffff_ffff_fff0));
        assert_eq!(unprotect(&mut rx, &last).unwrap(), rtp(0xffff, 9, 3));

        tx.send_rtcp.insert(9, MAX_SRTCP_INDEX - 1);
        let mut v = rtcp(9, 1);
        tx.protect_rtcp(&mut v).unwrap();
        let at = v.len() - rtcp_overhead(profile) + if tx.rtcp.is_aead() { 16 } else { 0 };
        assert_eq!(&v[at..at + 4], &[0xff, 0xff, 0xff, 0xff][..], "{profile}");
        assert_eq!(unprotect_rtcp(&mut rx, &v).unwrap(), rtcp(9, 1));
        assert_eq!(
            tx.protect_rtcp(&mut rtcp(9, 1)),
            Err(SrtpError::IndexExhausted)
        );
    }
}

/// Each table holds at most `max_streams` SSRCs; a new SSRC beyond is refused before any
/// crypto, a forged packet never takes a place, and `remove_stream` frees one.
#[test]
fn ssrc_cap() {
    for profile in ALL {
        let k = master(profile, 3);
        let config = SrtpConfig {
            max_streams: 4,
            ..SrtpConfig::default()
        };
        let mut tx = SrtpContext::with_config(profile, &k, config).unwrap();
        let mut rx = SrtpContext::with_config(profile, &k, config).unwrap();
        let mut tx5 = SrtpContext::new(profile, &k).unwrap();
        for ssrc in 0..4 {
            let p = protected(&mut tx, &rtp(1, ssrc, 10));
            let mut forged = p.clone();
            forged[12] ^= 1;
            assert_eq!(unprotect(&mut rx, &forged), Err(SrtpError::AuthFailed));
            assert!(unprotect(&mut rx, &p).is_ok());
            let mut c = rtcp(ssrc, 1);
            tx.protect_rtcp(&mut c).unwrap();
            assert!(unprotect_rtcp(&mut rx, &c).is_ok());
        }
        assert_eq!(
            tx.protect_rtp(&mut rtp(1, 4, 10)),
            Err(SrtpError::TooManyStreams)
        );
        assert_eq!(
            tx.protect_rtcp(&mut rtcp(4, 1)),
            Err(SrtpError::TooManyStreams)
        );
        let p5 = protected(&mut tx5, &rtp(1, 4, 10));
        let mut c5 = rtcp(4, 1);
        tx5.protect_rtcp(&mut c5).unwrap();
        assert_eq!(unprotect(&mut rx, &p5), Err(SrtpError::TooManyStreams));
        assert_eq!(unprotect_rtcp(&mut rx, &c5), Err(SrtpError::TooManyStreams));
        assert_eq!(rx.stream_count(), 8);
        // Known SSRCs keep working at the cap.
        let p = protected(&mut tx, &rtp(2, 3, 10));
        assert!(unprotect(&mut rx, &p).is_ok());
        rx.remove_stream(0);
        assert_eq!(rx.stream_count(), 6);
        assert!(unprotect(&mut rx, &p5).is_ok());
        assert!(unprotect_rtcp(&mut rx, &c5).is_ok());
        assert_eq!(SrtpConfig::default().max_streams, MAX_SRTP_STREAMS);
    }
}

/// Random packets (CSRCs, extensions, padding bit, sizes) of random SSRCs round-trip for
/// every profile, and the overhead is what `rtp_tag_len`/`rtcp_overhead` say.
#[test]
fn random_round_trips() {
    let mut rng = SeededRandom::new(42);
    let mut byte = || {
        let mut b = [0u8; 1];
        rng.fill(&mut b);
        b[0]
    };
    for profile in ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut seqs = [0u16; 4];
        for _ in 0..2000 {
            let s = usize::from(byte() % 4);
            seqs[s] = seqs[s].wrapping_add(u16::from(byte() % 3) + 1);
            let mut p = rtp(seqs[s], s as u32 + 100, 0);
            let csrcs = byte() % 16;
            p[0] |= csrcs | (byte() & 0x20);
            p.extend((0..4 * usize::from(csrcs)).map(|_| byte()));
            if byte() & 1 == 1 {
                p[0] |= 0x10;
                let words = usize::from(byte() % 8);
                p.extend_from_slice(&[0xbe, 0xde, 0, words as u8]);
                p.extend((0..4 * words).map(|_| byte()));
            }
            let len = usize::from(byte()) * 5;
            p.extend((0..len).map(|_| byte()));
            let mut v = Vec::with_capacity(p.len() + 16);
            v.extend_from_slice(&p);
            let ptr = v.as_ptr();
            tx.protect_rtp(&mut v).unwrap();
            assert_eq!(v.as_ptr(), ptr, "no reallocation with spare capacity");
            assert_eq!(v.len(), p.len() + rtp_tag_len(profile));
            assert_eq!(unprotect(&mut rx, &v).unwrap(), p);

            let mut c = rtcp(s as u32 + 100, usize::from(byte() % 40));
            let plain = c.clone();
            tx.protect_rtcp(&mut c).unwrap();
            assert_eq!(c.len(), plain.len() + rtcp_overhead(profile));
            assert_eq!(unprotect_rtcp(&mut rx, &c).unwrap(), plain);
        }
    }
}

/// Master keys of the wrong length are refused; errors convert to the crate's error.
#[test]
fn bad_keys_and_error_conversion() {
    for profile in ALL {
        let mut k = master(profile, 0);
        k.key.pop();
        assert_eq!(SrtpContext::new(profile, &k).err(), Some(SrtpError::BadKey));
        let mut k = master(profile, 0);
        k.salt.push(0);
        assert_eq!(SrtpContext::new(profile, &k).err(), Some(SrtpError::BadKey));
    }
    let e: crate::Error = SrtpError::AuthFailed.into();
    assert_eq!(e.name(), "OperationError");
    assert!(e.message().contains("authentication"));
    let ctx = pair(SrtpProfile::AeadAes256Gcm).0;
    assert_eq!(ctx.profile(), SrtpProfile::AeadAes256Gcm);
    assert!(!format!("{ctx:?}").contains("key:"));
}

/// Different directions' keys do not open each other's packets (the DTLS-SRTP split).
#[test]
fn wrong_key_fails() {
    for profile in ALL {
        let mut tx = SrtpContext::new(profile, &master(profile, 1)).unwrap();
        let mut rx = SrtpContext::new(profile, &master(profile, 2)).unwrap();
        let p = protected(&mut tx, &rtp(3, 3, 50));
        assert_eq!(unprotect(&mut rx, &p), Err(SrtpError::AuthFailed));
        let mut c = rtcp(3, 2);
        tx.protect_rtcp(&mut c).unwrap();
        assert_eq!(unprotect_rtcp(&mut rx, &c), Err(SrtpError::AuthFailed));
        assert_eq!(rx.stream_count(), 0);
    }
}

/// The two directions of a DTLS-SRTP association: the client's outbound context talks to the
/// server's inbound one and not to its own inbound one (RFC 5764 §4.2).
#[test]
fn keying_material_directions() {
    use crate::dtls::DtlsRole;
    for profile in ALL {
        let material: Vec<u8> = (0..profile.keying_material_len() as u8).collect();
        let km = SrtpKeyingMaterial::from_exported(profile, &material).unwrap();
        let config = SrtpConfig::default();
        let mut client_tx = SrtpContext::outbound(&km, DtlsRole::Client, config).unwrap();
        let mut server_rx = SrtpContext::inbound(&km, DtlsRole::Server, config).unwrap();
        let mut client_rx = SrtpContext::inbound(&km, DtlsRole::Client, config).unwrap();
        let p = protected(&mut client_tx, &rtp(1, 1, 10));
        assert_eq!(unprotect(&mut server_rx, &p).unwrap(), rtp(1, 1, 10));
        assert_eq!(unprotect(&mut client_rx, &p), Err(SrtpError::AuthFailed));
    }
}

/// Unencrypted SRTCP (E=0) with AES-CM is authenticated only (RFC 3711 §3.4): the vector
/// (all-zero master key and salt, index 1) is from an independent Python implementation.
#[test]
fn cm_unencrypted_srtcp_accepted() {
    let k = SrtpMasterKey {
        key: vec![0; 16],
        salt: vec![0; 14],
    };
    let plain = hex("81c80005deadbeef0000000000000000000000000000000000000000");
    let mut packet = plain.clone();
    packet.extend_from_slice(&hex("00000001f01934604dcd61e0115b"));
    let mut rx = SrtpContext::new(SrtpProfile::Aes128CmHmacSha1_80, &k).unwrap();
    assert_eq!(unprotect_rtcp(&mut rx, &packet).unwrap(), plain);
    assert_eq!(unprotect_rtcp(&mut rx, &packet), Err(SrtpError::Replayed));
    // Setting E without encrypting breaks the tag.
    let mut e = packet.clone();
    e[plain.len()] |= 0x80;
    let mut rx = SrtpContext::new(SrtpProfile::Aes128CmHmacSha1_80, &k).unwrap();
    assert_eq!(unprotect_rtcp(&mut rx, &e), Err(SrtpError::AuthFailed));
}
