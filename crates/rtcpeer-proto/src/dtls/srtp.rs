//! DTLS-SRTP: the negotiated protection profile and the SRTP master keys exported from the DTLS
//! session (RFC 5764 §4.1.2, §4.2; AES-GCM profiles RFC 7714 §14.2).

use std::fmt;

use crate::dtls::DtlsRole;
use crate::error::{Error, ErrorDetail, Result};

/// An SRTP protection profile negotiated with the `use_srtp` extension (RFC 5764 §4.1.2).
/// dimpl 0.9 offers and accepts only the GCM pair and `_80` (AES-256-GCM first): it cannot
/// negotiate `_32`, which the media layer still supports (for keys from elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80` (0x0001, RFC 5764 §4.1.2).
    Aes128CmHmacSha1_80,
    /// `SRTP_AES128_CM_HMAC_SHA1_32` (0x0002, RFC 5764 §4.1.2): a 32-bit SRTP tag, 80-bit SRTCP tag.
    Aes128CmHmacSha1_32,
    /// `SRTP_AEAD_AES_128_GCM` (0x0007, RFC 7714 §14.2).
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM` (0x0008, RFC 7714 §14.2).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// The two-byte profile identifier of the IANA "DTLS-SRTP Protection Profiles" registry.
    pub fn id(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The registry name, e.g. `SRTP_AEAD_AES_128_GCM` (also the W3C `srtpCipher` stat).
    pub fn name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
            SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_HMAC_SHA1_32",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// SRTP master key length in bytes (RFC 5764 §4.1.2, RFC 7714 §12).
    pub fn master_key_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80
            | SrtpProfile::Aes128CmHmacSha1_32
            | SrtpProfile::AeadAes128Gcm => 16,
            SrtpProfile::AeadAes256Gcm => 32,
        }
    }

    /// SRTP master salt length in bytes (14 for AES-CM, 12 for AES-GCM, RFC 7714 §12).
    pub fn master_salt_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 | SrtpProfile::Aes128CmHmacSha1_32 => 14,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 12,
        }
    }

    /// Bytes exported with the "EXTRACTOR-dtls_srtp" label: two keys and two salts (RFC 5764 §4.2).
    pub fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }

    /// Maps dimpl's negotiated profile; dimpl 0.9 has no `_32` (0x0002) to map.
    pub(crate) fn from_dimpl(p: dimpl::SrtpProfile) -> Option<SrtpProfile> {
        match p {
            dimpl::SrtpProfile::AES128_CM_SHA1_80 => Some(SrtpProfile::Aes128CmHmacSha1_80),
            dimpl::SrtpProfile::AEAD_AES_128_GCM => Some(SrtpProfile::AeadAes128Gcm),
            dimpl::SrtpProfile::AEAD_AES_256_GCM => Some(SrtpProfile::AeadAes256Gcm),
            _ => None,
        }
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One direction's SRTP master key and master salt (RFC 3711 §8.2).
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpMasterKey {
    /// The master key.
    pub key: Vec<u8>,
    /// The master salt.
    pub salt: Vec<u8>,
}

impl fmt::Debug for SrtpMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never prints key material.
        write!(
            f,
            "SrtpMasterKey {{ key: {} bytes, salt: {} bytes }}",
            self.key.len(),
            self.salt.len()
        )
    }
}

/// The SRTP keying material of a DTLS-SRTP association, split per RFC 5764 §4.2:
/// `client_write_key | server_write_key | client_write_salt | server_write_salt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// The negotiated protection profile.
    pub profile: SrtpProfile,
    /// What the DTLS client protects its outgoing SRTP/SRTCP with.
    pub client_write: SrtpMasterKey,
    /// What the DTLS server protects its outgoing SRTP/SRTCP with.
    pub server_write: SrtpMasterKey,
}

impl SrtpKeyingMaterial {
    /// Splits the exporter output (RFC 5705 with label "EXTRACTOR-dtls_srtp", RFC 5764 §4.2);
    /// `material` must be exactly [`SrtpProfile::keying_material_len`] bytes.
    pub fn from_exported(profile: SrtpProfile, material: &[u8]) -> Result<SrtpKeyingMaterial> {
        if material.len() != profile.keying_material_len() {
            return Err(Error::rtc(
                ErrorDetail::DtlsFailure,
                format!(
                    "DTLS-SRTP keying material is {} bytes, {} needs {}",
                    material.len(),
                    profile,
                    profile.keying_material_len()
                ),
            ));
        }
        let k = profile.master_key_len();
        let s = profile.master_salt_len();
        let (client_key, rest) = material.split_at(k);
        let (server_key, rest) = rest.split_at(k);
        let (client_salt, server_salt) = rest.split_at(s);
        Ok(SrtpKeyingMaterial {
            profile,
            client_write: SrtpMasterKey {
                key: client_key.to_vec(),
                salt: client_salt.to_vec(),
            },
            server_write: SrtpMasterKey {
                key: server_key.to_vec(),
                salt: server_salt.to_vec(),
            },
        })
    }

    /// The key this endpoint encrypts its outgoing SRTP with, given its DTLS role.
    pub fn local(&self, role: DtlsRole) -> &SrtpMasterKey {
        match role {
            DtlsRole::Client => &self.client_write,
            DtlsRole::Server => &self.server_write,
        }
    }

    /// The key this endpoint decrypts incoming SRTP with, given its DTLS role.
    pub fn remote(&self, role: DtlsRole) -> &SrtpMasterKey {
        match role {
            DtlsRole::Client => &self.server_write,
            DtlsRole::Server => &self.client_write,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_rfc5764_layout() {
        let material: Vec<u8> = (0u8..60).collect();
        let km =
            SrtpKeyingMaterial::from_exported(SrtpProfile::Aes128CmHmacSha1_80, &material).unwrap();
        assert_eq!(km.client_write.key, (0u8..16).collect::<Vec<_>>());
        assert_eq!(km.server_write.key, (16u8..32).collect::<Vec<_>>());
        assert_eq!(km.client_write.salt, (32u8..46).collect::<Vec<_>>());
        assert_eq!(km.server_write.salt, (46u8..60).collect::<Vec<_>>());
        assert_eq!(km.local(DtlsRole::Client), km.remote(DtlsRole::Server));
        assert_eq!(km.local(DtlsRole::Server), &km.server_write);
        assert!(!format!("{km:?}").contains("16, 17"));

        let material: Vec<u8> = (0u8..88).collect();
        let km = SrtpKeyingMaterial::from_exported(SrtpProfile::AeadAes256Gcm, &material).unwrap();
        assert_eq!(km.server_write.key, (32u8..64).collect::<Vec<_>>());
        assert_eq!(km.server_write.salt, (76u8..88).collect::<Vec<_>>());
        assert_eq!(SrtpProfile::AeadAes128Gcm.keying_material_len(), 56);
        assert_eq!(SrtpProfile::Aes128CmHmacSha1_32.id(), 0x0002);
        assert_eq!(SrtpProfile::Aes128CmHmacSha1_32.keying_material_len(), 60);
        assert_eq!(
            SrtpProfile::Aes128CmHmacSha1_32.to_string(),
            "SRTP_AES128_CM_HMAC_SHA1_32"
        );

        assert!(SrtpKeyingMaterial::from_exported(SrtpProfile::AeadAes128Gcm, &material).is_err());
    }
}
