//! SRTP and SRTCP protection of media (RFC 3711; AEAD AES-GCM profiles of RFC 7714), keyed
//! from the DTLS-SRTP exporter that `dtls/srtp.rs` derives (RFC 5764 §4.2).
//!
//! One [`SrtpContext`] per direction: the outgoing one is built from
//! [`SrtpKeyingMaterial::local`](crate::dtls::SrtpKeyingMaterial::local) and only protects,
//! the incoming one from `remote` and only unprotects. Session keys are derived once
//! (RFC 3711 §4.3, key derivation rate 0) and the cipher keys built once; per packet the work
//! is the in-place crypto, a hash-map lookup by SSRC and a few integer operations, with no
//! allocation (a first packet of a new SSRC allocates its state once).
//!
//! State per SSRC: the rollover counter and highest index, estimated as RFC 3711 §3.3.1 /
//! Appendix A say (also on send, so a sequence number wrap bumps the ROC), and for received
//! streams a sliding replay window (§3.3.2) for SRTP and one for SRTCP. State only advances
//! once a packet has authenticated. Each of the four SSRC tables (send/receive × RTP/RTCP) is
//! capped by [`SrtpConfig::max_streams`]: a packet of a new SSRC beyond the cap is refused
//! with [`SrtpError::TooManyStreams`] (no eviction, so an evicted stream's old packets can
//! never be replayed as a fresh stream); the session frees entries with
//! [`SrtpContext::remove_stream`] when an SSRC goes away. Only the peer that holds the key can
//! create entries (a new SSRC's packet must authenticate first), so the cap only ever limits
//! that peer's own media.
//!
//! Not supported: MKI (WebRTC does not use it), key derivation rates other than 0, and the
//! `_32` profile's negotiation over DTLS (dimpl 0.9 cannot; keys from elsewhere work).

mod crypto;
mod replay;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use crypto::{Cipher, RTCP_LABELS, RTP_LABELS};
use replay::ReplayWindow;

use crate::dtls::DtlsRole;
pub use crate::dtls::{SrtpKeyingMaterial, SrtpMasterKey, SrtpProfile};

/// Default SSRC table cap of a context (per table: send/receive × RTP/RTCP).
pub const MAX_SRTP_STREAMS: usize = 1024;
/// Default SRTP replay window, in packets: what Chromium's and Firefox's libsrtp policy sets.
pub const DEFAULT_RTP_REPLAY_WINDOW: u32 = 1024;
/// Default SRTCP replay window, in packets: libsrtp's fixed SRTCP window.
pub const DEFAULT_RTCP_REPLAY_WINDOW: u32 = 128;

/// Length of the RTCP header SRTCP leaves in the clear: header word and sender SSRC
/// (RFC 3711 §3.4).
const RTCP_HEADER_LEN: usize = 8;
/// Length of the fixed RTP header (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;
/// Highest SRTCP index (31 bits, RFC 3711 §3.4); past it the keys must be renewed (§9.2).
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// Why a packet could not be protected or unprotected. Per-packet and cheap to return: the
/// caller drops the packet and counts the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpError {
    /// Shorter than its headers (and tag, to unprotect) require.
    TooShort,
    /// Not an RTP/RTCP version 2 packet.
    BadHeader,
    /// The authentication tag did not verify (RFC 3711 §3.3 step 5, RFC 7714 §8.2).
    AuthFailed,
    /// The packet index was already received (RFC 3711 §3.3.2).
    Replayed,
    /// The packet index is older than the replay window (RFC 3711 §3.3.2).
    TooOld,
    /// A new SSRC would exceed [`SrtpConfig::max_streams`].
    TooManyStreams,
    /// The packet index space is used up (2^48 SRTP, 2^31 SRTCP packets): rekey (RFC 3711 §9.2).
    IndexExhausted,
    /// A master key or salt of the wrong length for the profile.
    BadKey,
    /// The crypto library failed (not expected with valid keys).
    Crypto,
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SrtpError::TooShort => "SRTP packet too short",
            SrtpError::BadHeader => "not an RTP/RTCP version 2 header",
            SrtpError::AuthFailed => "SRTP authentication failed",
            SrtpError::Replayed => "SRTP packet replayed",
            SrtpError::TooOld => "SRTP packet older than the replay window",
            SrtpError::TooManyStreams => "too many SRTP streams",
            SrtpError::IndexExhausted => "SRTP packet index exhausted, keys must be renewed",
            SrtpError::BadKey => "SRTP master key or salt of the wrong length",
            SrtpError::Crypto => "SRTP crypto failure",
        })
    }
}

impl std::error::Error for SrtpError {}

impl From<SrtpError> for crate::Error {
    fn from(e: SrtpError) -> crate::Error {
        crate::Error::operation(e.to_string())
    }
}

/// Limits of an [`SrtpContext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpConfig {
    /// SRTP replay window in packets, rounded up to a multiple of 64 within 64..=32768
    /// (RFC 3711 §3.3.2 asks for at least 64).
    pub rtp_replay_window: u32,
    /// SRTCP replay window in packets, same bounds.
    pub rtcp_replay_window: u32,
    /// Most SSRCs each of the context's tables holds (at least 1).
    pub max_streams: usize,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        SrtpConfig {
            rtp_replay_window: DEFAULT_RTP_REPLAY_WINDOW,
            rtcp_replay_window: DEFAULT_RTCP_REPLAY_WINDOW,
            max_streams: MAX_SRTP_STREAMS,
        }
    }
}

/// SRTP/SRTCP protection for one direction of one DTLS-SRTP association (RFC 3711 §3.2.3: a
/// cryptographic context per SSRC, sharing the master key). See the module docs.
pub struct SrtpContext {
    profile: SrtpProfile,
    config: SrtpConfig,
    rtp: Cipher,
    rtcp: Cipher,
    /// Send side: highest SRTP packet index protected, per SSRC.
    send_rtp: HashMap<u32, u64>,
    /// Send side: last SRTCP index used, per SSRC.
    send_rtcp: HashMap<u32, u32>,
    /// Receive side: replay window (whose top is the highest index), per SSRC.
    recv_rtp: HashMap<u32, ReplayWindow>,
    /// Receive side: SRTCP replay window, per SSRC.
    recv_rtcp: HashMap<u32, ReplayWindow>,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never prints key material.
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("send_rtp", &self.send_rtp.len())
            .field("send_rtcp", &self.send_rtcp.len())
            .field("recv_rtp", &self.recv_rtp.len())
            .field("recv_rtcp", &self.recv_rtcp.len())
            .finish()
    }
}

/// SRTP authentication tag length of a profile (RFC 5764 §4.1.2, RFC 7714 §12).
pub fn rtp_tag_len(profile: SrtpProfile) -> usize {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => 10,
        SrtpProfile::Aes128CmHmacSha1_32 => 4,
        SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => crypto::GCM_TAG_LEN,
    }
}

/// Bytes SRTCP appends to an RTCP packet: E||index and the tag, 80 bits for both AES-CM
/// profiles (RFC 5764 §4.1.2), 16 bytes for GCM (RFC 7714 §9).
pub fn rtcp_overhead(profile: SrtpProfile) -> usize {
    4 + match profile {
        SrtpProfile::Aes128CmHmacSha1_80 | SrtpProfile::Aes128CmHmacSha1_32 => 10,
        SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => crypto::GCM_TAG_LEN,
    }
}

/// What SRTP needs of an RTP header (RFC 3550 §5.1, §5.3.1): its length, SSRC and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RtpHeader {
    len: usize,
    ssrc: u32,
    seq: u16,
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// Parses the RTP header at the start of `p`: version 2, CSRCs and header extension within
/// `p`, which holds the header and payload (not the tag).
fn parse_rtp_header(p: &[u8]) -> Result<RtpHeader, SrtpError> {
    if p.len() < RTP_HEADER_LEN {
        return Err(SrtpError::TooShort);
    }
    let first = p[0];
    if first >> 6 != 2 {
        return Err(SrtpError::BadHeader);
    }
    let mut len = RTP_HEADER_LEN + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = be16(p, len + 2).ok_or(SrtpError::TooShort)?;
        len += 4 + 4 * usize::from(words);
    }
    if len > p.len() {
        return Err(SrtpError::TooShort);
    }
    Ok(RtpHeader {
        len,
        ssrc: be32(p, 8).ok_or(SrtpError::TooShort)?,
        seq: be16(p, 2).ok_or(SrtpError::TooShort)?,
    })
}

/// Parses the clear RTCP header (version 2) and returns the sender SSRC.
fn parse_rtcp_header(p: &[u8]) -> Result<u32, SrtpError> {
    let first = *p.first().ok_or(SrtpError::TooShort)?;
    if p.len() < RTCP_HEADER_LEN {
        return Err(SrtpError::TooShort);
    }
    if first >> 6 != 2 {
        return Err(SrtpError::BadHeader);
    }
    be32(p, 4).ok_or(SrtpError::TooShort)
}

/// The packet index of sequence number `seq` given the highest index so far (RFC 3711
/// §3.3.1, Appendix A): ROC-1, ROC or ROC+1, whichever puts it closest. At ROC 0 a guess of
/// ROC-1 becomes ROC 0, as libsrtp does. `None` past 2^48 (the keys must be renewed).
fn estimate_index(top: u64, seq: u16) -> Option<u64> {
    let roc = top >> 16;
    let s_l = (top & 0xffff) as u32;
    let seq32 = u32::from(seq);
    let v = if s_l < 32768 {
        if seq32 > s_l + 32768 {
            roc.saturating_sub(1)
        } else {
            roc
        }
    } else if s_l - 32768 > seq32 {
        roc + 1
    } else {
        roc
    };
    (v <= u64::from(u32::MAX)).then_some((v << 16) | u64::from(seq))
}

impl SrtpContext {
    /// A context for `profile` keyed with one direction's master key and salt
    /// (RFC 3711 §8.2), with the default [`SrtpConfig`].
    pub fn new(profile: SrtpProfile, key: &SrtpMasterKey) -> Result<SrtpContext, SrtpError> {
        SrtpContext::with_config(profile, key, SrtpConfig::default())
    }

    /// The context that protects what this endpoint sends: its DTLS role's write key
    /// (RFC 5764 §4.2).
    pub fn outbound(
        keys: &SrtpKeyingMaterial,
        role: DtlsRole,
        config: SrtpConfig,
    ) -> Result<SrtpContext, SrtpError> {
        SrtpContext::with_config(keys.profile, keys.local(role), config)
    }

    /// The context that unprotects what the peer sends: the peer's write key (RFC 5764 §4.2).
    pub fn inbound(
        keys: &SrtpKeyingMaterial,
        role: DtlsRole,
        config: SrtpConfig,
    ) -> Result<SrtpContext, SrtpError> {
        SrtpContext::with_config(keys.profile, keys.remote(role), config)
    }

    /// A context with explicit limits.
    pub fn with_config(
        profile: SrtpProfile,
        key: &SrtpMasterKey,
        config: SrtpConfig,
    ) -> Result<SrtpContext, SrtpError> {
        let rtp = Cipher::derive(
            profile,
            &key.key,
            &key.salt,
            RTP_LABELS,
            rtp_tag_len(profile),
        )?;
        let rtcp = Cipher::derive(
            profile,
            &key.key,
            &key.salt,
            RTCP_LABELS,
            rtcp_overhead(profile) - 4,
        )?;
        Ok(SrtpContext::from_ciphers(profile, config, rtp, rtcp))
    }

    fn from_ciphers(
        profile: SrtpProfile,
        config: SrtpConfig,
        rtp: Cipher,
        rtcp: Cipher,
    ) -> SrtpContext {
        SrtpContext {
            profile,
            config: SrtpConfig {
                max_streams: config.max_streams.max(1),
                ..config
            },
            rtp,
            rtcp,
            send_rtp: HashMap::new(),
            send_rtcp: HashMap::new(),
            recv_rtp: HashMap::new(),
            recv_rtcp: HashMap::new(),
        }
    }

    /// The protection profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Protects an RTP packet in place (RFC 3711 §3.3): encrypts the payload and appends the
    /// tag ([`rtp_tag_len`] bytes; no allocation if `packet` has that much spare capacity).
    /// On error `packet` is unchanged unless the error is [`SrtpError::Crypto`].
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let h = parse_rtp_header(packet)?;
        let index = match self.send_rtp.get(&h.ssrc) {
            Some(&top) => estimate_index(top, h.seq).ok_or(SrtpError::IndexExhausted)?,
            None if self.send_rtp.len() >= self.config.max_streams => {
                return Err(SrtpError::TooManyStreams);
            }
            None => u64::from(h.seq),
        };
        self.rtp.protect_rtp(packet, h.len, h.ssrc, index)?;
        let top = self.send_rtp.entry(h.ssrc).or_insert(index);
        *top = (*top).max(index);
        Ok(())
    }

    /// Unprotects an SRTP packet in place (RFC 3711 §3.3): checks replay, verifies the tag,
    /// then decrypts; returns the RTP packet's length (`packet[..n]`). Nothing of the packet
    /// is trusted, and no state changes, before the tag verifies. On error the packet is to
    /// be dropped: its payload bytes may have been overwritten.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let body_len = packet
            .len()
            .checked_sub(self.rtp.tag_len())
            .ok_or(SrtpError::TooShort)?;
        let h = parse_rtp_header(&packet[..body_len])?;
        let window = self.recv_rtp.get(&h.ssrc);
        let index = match window {
            Some(w) => {
                let index = estimate_index(w.top(), h.seq).ok_or(SrtpError::IndexExhausted)?;
                w.check(index)?;
                index
            }
            None if self.recv_rtp.len() >= self.config.max_streams => {
                return Err(SrtpError::TooManyStreams);
            }
            None => u64::from(h.seq),
        };
        let n = self.rtp.unprotect_rtp(packet, h.len, h.ssrc, index)?;
        match self.recv_rtp.get_mut(&h.ssrc) {
            Some(w) => w.accept(index),
            None => {
                let w = ReplayWindow::new(self.config.rtp_replay_window, index);
                self.recv_rtp.insert(h.ssrc, w);
            }
        }
        Ok(n)
    }

    /// Protects an RTCP packet (compound or not) in place (RFC 3711 §3.4, RFC 7714 §9):
    /// encrypts all but the first 8 bytes and appends E=1||SRTCP index and the tag
    /// ([`rtcp_overhead`] bytes). The index of an SSRC starts at 1 and counts up, as libsrtp
    /// (browsers) does.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let ssrc = parse_rtcp_header(packet)?;
        let index = match self.send_rtcp.get(&ssrc) {
            Some(&last) if last >= MAX_SRTCP_INDEX => return Err(SrtpError::IndexExhausted),
            Some(&last) => last + 1,
            None if self.send_rtcp.len() >= self.config.max_streams => {
                return Err(SrtpError::TooManyStreams);
            }
            None => 1,
        };
        self.rtcp.protect_rtcp(packet, ssrc, index)?;
        self.send_rtcp.insert(ssrc, index);
        Ok(())
    }

    /// Unprotects an SRTCP packet in place (RFC 3711 §3.4, RFC 7714 §9.3): checks replay of
    /// its SRTCP index, verifies the tag, then decrypts if the E flag is set; returns the RTCP
    /// packet's length (`packet[..n]`). On error the packet is to be dropped (its bytes may
    /// have been overwritten); no state changes.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.rtcp.tag_len();
        let body_len = packet
            .len()
            .checked_sub(tag_len + 4)
            .ok_or(SrtpError::TooShort)?;
        let ssrc = parse_rtcp_header(&packet[..body_len])?;
        let word_at = if self.rtcp.is_aead() {
            body_len + tag_len
        } else {
            body_len
        };
        let word = be32(packet, word_at).ok_or(SrtpError::TooShort)?;
        let encrypted = word & 0x8000_0000 != 0;
        let index = word & MAX_SRTCP_INDEX;
        match self.recv_rtcp.get(&ssrc) {
            Some(w) => w.check(u64::from(index))?,
            None if self.recv_rtcp.len() >= self.config.max_streams => {
                return Err(SrtpError::TooManyStreams);
            }
            None => {}
        }
        let n = self.rtcp.unprotect_rtcp(packet, ssrc, index, encrypted)?;
        match self.recv_rtcp.get_mut(&ssrc) {
            Some(w) => w.accept(u64::from(index)),
            None => {
                let w = ReplayWindow::new(self.config.rtcp_replay_window, u64::from(index));
                self.recv_rtcp.insert(ssrc, w);
            }
        }
        Ok(n)
    }

    /// Forgets an SSRC's state in every table (its stream ended, e.g. RTCP BYE or a stopped
    /// transceiver), freeing its place under the cap. A later packet of it starts afresh.
    pub fn remove_stream(&mut self, ssrc: u32) {
        self.send_rtp.remove(&ssrc);
        self.send_rtcp.remove(&ssrc);
        self.recv_rtp.remove(&ssrc);
        self.recv_rtcp.remove(&ssrc);
    }

    /// The rollover counter of an SSRC's SRTP stream (sent or received), if it has one
    /// (RFC 3711 §3.2.1).
    pub fn rtp_roc(&self, ssrc: u32) -> Option<u32> {
        let top = self
            .send_rtp
            .get(&ssrc)
            .copied()
            .or_else(|| self.recv_rtp.get(&ssrc).map(ReplayWindow::top))?;
        Some((top >> 16) as u32)
    }

    /// Number of SSRCs with state (all four tables together).
    pub fn stream_count(&self) -> usize {
        self.send_rtp.len() + self.send_rtcp.len() + self.recv_rtp.len() + self.recv_rtcp.len()
    }
}
