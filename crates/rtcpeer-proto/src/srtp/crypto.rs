//! The per-session-key crypto of SRTP/SRTCP: the AES-CM key derivation (RFC 3711 §4.3), the
//! AES-CM + HMAC-SHA1 transform (RFC 3711 §4.1.1, §4.2) and AEAD AES-GCM (RFC 7714 §8, §9).
//! Keys are built once per session key; per packet only the IV/nonce is computed.

use aws_lc_rs::{aead, cipher, constant_time, hmac};

use super::SrtpError;
use crate::dtls::SrtpProfile;

/// Key derivation labels (RFC 3711 §4.3.2).
pub(crate) const LABEL_RTP_ENCRYPTION: u8 = 0x00;
pub(crate) const LABEL_RTP_AUTH: u8 = 0x01;
pub(crate) const LABEL_RTP_SALT: u8 = 0x02;
pub(crate) const LABEL_RTCP_ENCRYPTION: u8 = 0x03;
pub(crate) const LABEL_RTCP_AUTH: u8 = 0x04;
pub(crate) const LABEL_RTCP_SALT: u8 = 0x05;

/// GCM authentication tag length (RFC 7714 §12: 16 octets for both AEAD profiles).
pub(crate) const GCM_TAG_LEN: usize = 16;
/// HMAC-SHA1 session authentication key length, n_a = 160 bits (RFC 3711 §5.2).
const AUTH_KEY_LEN: usize = 20;

fn crypto_err(_: aws_lc_rs::error::Unspecified) -> SrtpError {
    SrtpError::Crypto
}

/// The AES-CM PRF of RFC 3711 §4.3.1/§4.3.3 with a key derivation rate of 0: fills `out` with
/// the keystream of AES-CM(master key, (label ⊕ master salt) · 2^16). A 12-byte (AES-GCM)
/// master salt is zero-padded on the right to the 112 bits the KDF takes, as libsrtp does
/// (RFC 7714 §11 leaves it open, erratum 4938). AES-256 master keys use AES_256_CM_PRF
/// (RFC 6188 §7).
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    let alg = match master_key.len() {
        16 => &cipher::AES_128,
        32 => &cipher::AES_256,
        _ => return Err(SrtpError::BadKey),
    };
    if master_salt.len() > 14 {
        return Err(SrtpError::BadKey);
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    // key_id = label || (index DIV kdr = 0), 56 bits right-aligned in the 112-bit salt.
    iv[7] ^= label;
    let key = cipher::UnboundCipherKey::new(alg, master_key).map_err(crypto_err)?;
    let key = cipher::EncryptingKey::ctr(key).map_err(crypto_err)?;
    out.fill(0);
    key.less_safe_encrypt(out, cipher::EncryptionContext::Iv128(iv.into()))
        .map_err(crypto_err)?;
    Ok(())
}

/// One direction's session keys for RTP or for RTCP, ready to use.
// Two of these live in each context, built once: the size difference does not matter, and
// keeping the keys inline saves a pointer chase per packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Cipher {
    /// AES-128 in counter mode with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
    Cm {
        ctr: cipher::EncryptingKey,
        auth: hmac::Key,
        salt: [u8; 14],
        tag_len: usize,
    },
    /// AEAD AES-GCM (RFC 7714).
    Gcm { key: aead::LessSafeKey, salt: [u8; 12] },
}

/// The labels of one of the two sub-protocols (RTP or RTCP).
#[derive(Clone, Copy)]
pub(crate) struct Labels {
    pub encryption: u8,
    pub auth: u8,
    pub salt: u8,
}

/// RTP's labels (RFC 3711 §4.3.2).
pub(crate) const RTP_LABELS: Labels = Labels {
    encryption: LABEL_RTP_ENCRYPTION,
    auth: LABEL_RTP_AUTH,
    salt: LABEL_RTP_SALT,
};
/// RTCP's labels (RFC 3711 §4.3.2).
pub(crate) const RTCP_LABELS: Labels = Labels {
    encryption: LABEL_RTCP_ENCRYPTION,
    auth: LABEL_RTCP_AUTH,
    salt: LABEL_RTCP_SALT,
};

impl Cipher {
    /// Derives the session keys for `labels` from a master key and builds the cipher;
    /// `tag_len` is the authentication tag length of the AES-CM profiles (ignored for GCM).
    pub(crate) fn derive(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        labels: Labels,
        tag_len: usize,
    ) -> Result<Cipher, SrtpError> {
        if master_key.len() != profile.master_key_len()
            || master_salt.len() != profile.master_salt_len()
        {
            return Err(SrtpError::BadKey);
        }
        let mut enc = [0u8; 32];
        let enc = &mut enc[..profile.master_key_len()];
        derive(master_key, master_salt, labels.encryption, enc)?;
        let mut salt = [0u8; 14];
        let salt = &mut salt[..profile.master_salt_len()];
        derive(master_key, master_salt, labels.salt, salt)?;
        let mut auth = [0u8; AUTH_KEY_LEN];
        if is_cm(profile) {
            derive(master_key, master_salt, labels.auth, &mut auth)?;
        }
        Cipher::from_session_keys(profile, enc, salt, &auth, tag_len)
    }

    /// Builds the cipher from session keys (the RFC 7714 §16-17 vectors are given this way).
    pub(crate) fn from_session_keys(
        profile: SrtpProfile,
        enc_key: &[u8],
        salt: &[u8],
        auth_key: &[u8],
        tag_len: usize,
    ) -> Result<Cipher, SrtpError> {
        match profile {
            SrtpProfile::Aes128CmHmacSha1_80 | SrtpProfile::Aes128CmHmacSha1_32 => {
                if tag_len > AUTH_KEY_LEN {
                    return Err(SrtpError::BadKey);
                }
                let key = cipher::UnboundCipherKey::new(&cipher::AES_128, enc_key)
                    .map_err(|_| SrtpError::BadKey)?;
                Ok(Cipher::Cm {
                    ctr: cipher::EncryptingKey::ctr(key).map_err(crypto_err)?,
                    auth: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_key),
                    salt: salt.try_into().map_err(|_| SrtpError::BadKey)?,
                    tag_len,
                })
            }
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => {
                let alg = if profile == SrtpProfile::AeadAes128Gcm {
                    &aead::AES_128_GCM
                } else {
                    &aead::AES_256_GCM
                };
                let key = aead::UnboundKey::new(alg, enc_key).map_err(|_| SrtpError::BadKey)?;
                Ok(Cipher::Gcm {
                    key: aead::LessSafeKey::new(key),
                    salt: salt.try_into().map_err(|_| SrtpError::BadKey)?,
                })
            }
        }
    }

    /// Bytes the transform appends (the authentication tag).
    pub(crate) fn tag_len(&self) -> usize {
        match self {
            Cipher::Cm { tag_len, .. } => *tag_len,
            Cipher::Gcm { .. } => GCM_TAG_LEN,
        }
    }

    /// Whether this is an AEAD (GCM) cipher: SRTCP puts the index after the tag then.
    pub(crate) fn is_aead(&self) -> bool {
        matches!(self, Cipher::Gcm { .. })
    }

    /// SRTP protect (RFC 3711 §3.3, RFC 7714 §8.2): encrypts `packet[header_len..]` in place
    /// with packet index `index` and appends the tag.
    pub(crate) fn protect_rtp(
        &self,
        packet: &mut Vec<u8>,
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<(), SrtpError> {
        match self {
            Cipher::Cm {
                ctr,
                auth,
                salt,
                tag_len,
            } => {
                let iv = cm_iv(salt, ssrc, index);
                let payload = packet.get_mut(header_len..).ok_or(SrtpError::TooShort)?;
                ctr.less_safe_encrypt(payload, cipher::EncryptionContext::Iv128(iv.into()))
                    .map_err(crypto_err)?;
                let tag = hmac_tag(auth, packet, &roc_bytes(index));
                packet.extend_from_slice(&tag[..*tag_len]);
            }
            Cipher::Gcm { key, salt } => {
                let nonce = gcm_rtp_nonce(salt, ssrc, index);
                if packet.len() < header_len {
                    return Err(SrtpError::TooShort);
                }
                let (header, payload) = packet.split_at_mut(header_len);
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(&*header), payload)
                    .map_err(crypto_err)?;
                packet.extend_from_slice(tag.as_ref());
            }
        }
        Ok(())
    }

    /// SRTP unprotect (RFC 3711 §3.3, RFC 7714 §8.2): verifies the tag at the end of `packet`
    /// and only then decrypts in place; returns the RTP packet's length.
    pub(crate) fn unprotect_rtp(
        &self,
        packet: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let tag_len = self.tag_len();
        let plain_len = packet
            .len()
            .checked_sub(tag_len)
            .filter(|&n| n >= header_len)
            .ok_or(SrtpError::TooShort)?;
        match self {
            Cipher::Cm { ctr, auth, salt, .. } => {
                let (authenticated, tag) = packet.split_at_mut(plain_len);
                let expected = hmac_tag(auth, authenticated, &roc_bytes(index));
                constant_time::verify_slices_are_equal(&expected[..tag_len], tag)
                    .map_err(|_| SrtpError::AuthFailed)?;
                let iv = cm_iv(salt, ssrc, index);
                ctr.less_safe_encrypt(
                    &mut authenticated[header_len..],
                    cipher::EncryptionContext::Iv128(iv.into()),
                )
                .map_err(crypto_err)?;
            }
            Cipher::Gcm { key, salt } => {
                let nonce = gcm_rtp_nonce(salt, ssrc, index);
                let (body, tag) = packet.split_at_mut(plain_len);
                let (header, payload) = body.split_at_mut(header_len);
                key.open_in_place_separate_tag(nonce, aead::Aad::from(&*header), tag, payload)
                    .map_err(|_| SrtpError::AuthFailed)?;
            }
        }
        Ok(plain_len)
    }

    /// SRTCP protect (RFC 3711 §3.4, RFC 7714 §9): encrypts `packet[8..]` in place with SRTCP
    /// index `index` and appends E=1||index and the tag, in the profile's order.
    pub(crate) fn protect_rtcp(
        &self,
        packet: &mut Vec<u8>,
        ssrc: u32,
        index: u32,
    ) -> Result<(), SrtpError> {
        if packet.len() < super::RTCP_HEADER_LEN {
            return Err(SrtpError::TooShort);
        }
        let e_index = (index | 0x8000_0000).to_be_bytes();
        match self {
            Cipher::Cm {
                ctr,
                auth,
                salt,
                tag_len,
            } => {
                let iv = cm_iv(salt, ssrc, u64::from(index));
                ctr.less_safe_encrypt(
                    &mut packet[super::RTCP_HEADER_LEN..],
                    cipher::EncryptionContext::Iv128(iv.into()),
                )
                .map_err(crypto_err)?;
                packet.extend_from_slice(&e_index);
                let tag = hmac_tag(auth, packet, &[]);
                packet.extend_from_slice(&tag[..*tag_len]);
            }
            Cipher::Gcm { key, salt } => {
                let nonce = gcm_rtcp_nonce(salt, ssrc, index);
                let (header, payload) = packet.split_at_mut(super::RTCP_HEADER_LEN);
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(header);
                aad[8..].copy_from_slice(&e_index);
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(&aad[..]), payload)
                    .map_err(crypto_err)?;
                packet.extend_from_slice(tag.as_ref());
                packet.extend_from_slice(&e_index);
            }
        }
        Ok(())
    }

    /// SRTCP unprotect (RFC 3711 §3.4, RFC 7714 §9.3): verifies the tag, then decrypts in
    /// place when `encrypted` (the E flag); returns the RTCP packet's length. The caller has
    /// read `index` and `encrypted` from the packet's trailer and checked the length.
    pub(crate) fn unprotect_rtcp(
        &self,
        packet: &mut [u8],
        ssrc: u32,
        index: u32,
        encrypted: bool,
    ) -> Result<usize, SrtpError> {
        let tag_len = self.tag_len();
        let plain_len = packet
            .len()
            .checked_sub(tag_len + 4)
            .filter(|&n| n >= super::RTCP_HEADER_LEN)
            .ok_or(SrtpError::TooShort)?;
        match self {
            Cipher::Cm { ctr, auth, salt, .. } => {
                // header || payload || E||index, then the tag.
                let (authenticated, tag) = packet.split_at_mut(plain_len + 4);
                let expected = hmac_tag(auth, authenticated, &[]);
                constant_time::verify_slices_are_equal(&expected[..tag_len], tag)
                    .map_err(|_| SrtpError::AuthFailed)?;
                if encrypted {
                    let iv = cm_iv(salt, ssrc, u64::from(index));
                    ctr.less_safe_encrypt(
                        &mut authenticated[super::RTCP_HEADER_LEN..plain_len],
                        cipher::EncryptionContext::Iv128(iv.into()),
                    )
                    .map_err(crypto_err)?;
                }
            }
            Cipher::Gcm { key, salt } => {
                let nonce = gcm_rtcp_nonce(salt, ssrc, index);
                let (body, trailer) = packet.split_at_mut(plain_len);
                let (tag, e_index) = trailer.split_at_mut(tag_len);
                if encrypted {
                    // AAD = header || E||index (RFC 7714 §9.3).
                    let (header, payload) = body.split_at_mut(super::RTCP_HEADER_LEN);
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(header);
                    aad[8..].copy_from_slice(e_index);
                    key.open_in_place_separate_tag(nonce, aead::Aad::from(&aad[..]), tag, payload)
                        .map_err(|_| SrtpError::AuthFailed)?;
                } else {
                    // Unencrypted SRTCP: the whole packet then E||index is the AAD, the
                    // plaintext is empty (RFC 7714 §9.3). Move E||index next to the packet
                    // (over the tag, kept aside) so the AAD is contiguous.
                    let mut tag_copy = [0u8; GCM_TAG_LEN];
                    tag_copy.copy_from_slice(tag);
                    packet.copy_within(plain_len + tag_len.., plain_len);
                    key.open_in_place_separate_tag(
                        nonce,
                        aead::Aad::from(&packet[..plain_len + 4]),
                        &tag_copy,
                        &mut [],
                    )
                    .map_err(|_| SrtpError::AuthFailed)?;
                }
            }
        }
        Ok(plain_len)
    }
}

/// Whether a profile is one of the AES-CM + HMAC-SHA1 ones.
pub(crate) fn is_cm(profile: SrtpProfile) -> bool {
    matches!(
        profile,
        SrtpProfile::Aes128CmHmacSha1_80 | SrtpProfile::Aes128CmHmacSha1_32
    )
}

/// The ROC of a packet index, as the 4 bytes HMAC covers after the packet (RFC 3711 §4.2).
fn roc_bytes(index: u64) -> [u8; 4] {
    ((index >> 16) as u32).to_be_bytes()
}

/// HMAC-SHA1 over `data || trailer` (RFC 3711 §4.2.1), the full 20 bytes.
fn hmac_tag(key: &hmac::Key, data: &[u8], trailer: &[u8]) -> [u8; AUTH_KEY_LEN] {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(data);
    ctx.update(trailer);
    let mut out = [0u8; AUTH_KEY_LEN];
    let tag = ctx.sign();
    out.copy_from_slice(tag.as_ref());
    out
}

/// AES-CM IV (RFC 3711 §4.1.1): (k_s · 2^16) ⊕ (SSRC · 2^64) ⊕ (i · 2^16).
pub(crate) fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    for (b, s) in iv[8..].iter_mut().zip((index << 16).to_be_bytes()) {
        *b ^= s;
    }
    iv
}

/// AES-GCM SRTP IV (RFC 7714 §8.1): 00 00 || SSRC || ROC || SEQ, ⊕ the session salt.
fn gcm_rtp_nonce(salt: &[u8; 12], ssrc: u32, index: u64) -> aead::Nonce {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..].copy_from_slice(&index.to_be_bytes()[2..]);
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    aead::Nonce::assume_unique_for_key(iv)
}

/// AES-GCM SRTCP IV (RFC 7714 §9.1): 00 00 || SSRC || 00 00 || 0 || SRTCP index, ⊕ the salt.
fn gcm_rtcp_nonce(salt: &[u8; 12], ssrc: u32, index: u32) -> aead::Nonce {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[8..].copy_from_slice(&(index & 0x7fff_ffff).to_be_bytes());
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    aead::Nonce::assume_unique_for_key(iv)
}
