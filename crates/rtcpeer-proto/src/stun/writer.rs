//! Building STUN messages into a reused buffer (RFC 8489 §5, §14).

use std::net::{IpAddr, SocketAddr};

use aws_lc_rs::hmac;

use super::attr::AttrType;
use super::message::{fingerprint_of_prefix, hmac_prefix};
use super::{
    Class, HEADER_LEN, MAGIC_COOKIE, MAX_MESSAGE_LEN, MAX_TEXT_LEN, MAX_USERNAME_LEN, Method,
    TransactionId, WriteError, message_type,
};

/// Where the writer is in the integrity / fingerprint tail (RFC 8489 §14.5–§14.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tail {
    Open,
    Integrity,
    IntegritySha256,
    Fingerprint,
}

/// Writes one STUN message into a caller-owned `Vec<u8>` (RFC 8489 §5). The buffer is cleared
/// first, then always holds a complete message: the header length is updated after every
/// attribute, values are zero-padded to 4 bytes, and nothing is allocated beyond the buffer's
/// own growth (reuse a buffer with enough capacity and nothing is allocated at all).
///
/// Each method returns `Err` and leaves the buffer unchanged if the attribute cannot be added.
#[derive(Debug)]
pub struct MessageWriter<'b> {
    buf: &'b mut Vec<u8>,
    tail: Tail,
}

impl<'b> MessageWriter<'b> {
    /// Clear `buf` and write a header for `class`/`method` with transaction id `tid`
    /// (RFC 8489 §5).
    pub fn new(
        buf: &'b mut Vec<u8>,
        class: Class,
        method: Method,
        tid: TransactionId,
    ) -> MessageWriter<'b> {
        buf.clear();
        buf.extend_from_slice(&message_type(class, method).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&tid.0);
        MessageWriter {
            buf,
            tail: Tail::Open,
        }
    }

    /// Continue writing after a complete message already in `buf` (test helper for the RFC
    /// 5769 vectors, whose padding is not zero).
    #[cfg(test)]
    pub(crate) fn resume(buf: &'b mut Vec<u8>) -> MessageWriter<'b> {
        MessageWriter {
            buf,
            tail: Tail::Open,
        }
    }

    /// The message written so far (always complete and well-formed).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
    }

    /// Length of the message written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.len() <= HEADER_LEN
    }

    /// Check order and room for an attribute of `typ` with a `len`-byte value.
    fn check(&self, typ: u16, len: usize) -> Result<(), WriteError> {
        let allowed = match typ {
            AttrType::FINGERPRINT => self.tail < Tail::Fingerprint,
            AttrType::MESSAGE_INTEGRITY_SHA256 => self.tail < Tail::IntegritySha256,
            AttrType::MESSAGE_INTEGRITY => self.tail < Tail::Integrity,
            _ => self.tail == Tail::Open,
        };
        if !allowed {
            return Err(WriteError::AfterIntegrity);
        }
        if len > usize::from(u16::MAX) {
            return Err(WriteError::ValueTooLong);
        }
        if self.buf.len() + 4 + len.div_ceil(4) * 4 > MAX_MESSAGE_LEN {
            return Err(WriteError::MessageTooLong);
        }
        Ok(())
    }

    /// Append the header of an attribute whose value the caller writes next (already
    /// checked), returning nothing; `finish_attr` pads and updates the length.
    fn begin_attr(&mut self, typ: u16, len: usize) {
        self.buf.extend_from_slice(&typ.to_be_bytes());
        // `check` guaranteed len <= u16::MAX.
        self.buf
            .extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }

    fn finish_attr(&mut self) {
        let pad = (4 - self.buf.len() % 4) % 4;
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
        self.set_length(self.buf.len() - HEADER_LEN);
    }

    fn set_length(&mut self, body: usize) {
        // `check` guaranteed the body fits in 16 bits.
        let body = u16::try_from(body).unwrap_or(u16::MAX).to_be_bytes();
        self.buf[2] = body[0];
        self.buf[3] = body[1];
    }

    /// Append any attribute with a raw value, zero-padded (RFC 8489 §14).
    pub fn attribute(&mut self, typ: u16, value: &[u8]) -> Result<&mut Self, WriteError> {
        self.check(typ, value.len())?;
        self.begin_attr(typ, value.len());
        self.buf.extend_from_slice(value);
        self.finish_attr();
        Ok(self)
    }

    fn text(&mut self, typ: u16, value: &str, max: usize) -> Result<&mut Self, WriteError> {
        if value.len() > max {
            return Err(WriteError::ValueTooLong);
        }
        self.attribute(typ, value.as_bytes())
    }

    fn address(&mut self, typ: u16, addr: SocketAddr, xor: bool) -> Result<&mut Self, WriteError> {
        let len = match addr.ip() {
            IpAddr::V4(_) => 8,
            IpAddr::V6(_) => 20,
        };
        self.check(typ, len)?;
        let mut mask = [0u8; 16];
        if xor {
            mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            mask[4..].copy_from_slice(&self.buf[8..HEADER_LEN]);
        }
        self.begin_attr(typ, len);
        let port = addr.port() ^ u16::from_be_bytes([mask[0], mask[1]]);
        match addr.ip() {
            IpAddr::V4(ip) => {
                self.buf.extend_from_slice(&[0, 0x01]);
                self.buf.extend_from_slice(&port.to_be_bytes());
                let o = ip.octets();
                for i in 0..4 {
                    self.buf.push(o[i] ^ mask[i]);
                }
            }
            IpAddr::V6(ip) => {
                self.buf.extend_from_slice(&[0, 0x02]);
                self.buf.extend_from_slice(&port.to_be_bytes());
                let o = ip.octets();
                for i in 0..16 {
                    self.buf.push(o[i] ^ mask[i]);
                }
            }
        }
        self.finish_attr();
        Ok(self)
    }

    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2); IPv6 scope ids and flow labels are not encoded.
    pub fn xor_mapped_address(&mut self, addr: SocketAddr) -> Result<&mut Self, WriteError> {
        self.address(AttrType::XOR_MAPPED_ADDRESS, addr, true)
    }

    /// MAPPED-ADDRESS, for RFC 3489 clients only (RFC 8489 §14.1).
    pub fn mapped_address(&mut self, addr: SocketAddr) -> Result<&mut Self, WriteError> {
        self.address(AttrType::MAPPED_ADDRESS, addr, false)
    }

    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub fn xor_relayed_address(&mut self, addr: SocketAddr) -> Result<&mut Self, WriteError> {
        self.address(AttrType::XOR_RELAYED_ADDRESS, addr, true)
    }

    /// XOR-PEER-ADDRESS (RFC 8656 §18.3); call repeatedly for several peers.
    pub fn xor_peer_address(&mut self, addr: SocketAddr) -> Result<&mut Self, WriteError> {
        self.address(AttrType::XOR_PEER_ADDRESS, addr, true)
    }

    /// USERNAME, at most [`MAX_USERNAME_LEN`] bytes (RFC 8489 §14.3); ICE uses
    /// "remote-ufrag:local-ufrag" (RFC 8445 §7.2.2).
    pub fn username(&mut self, username: &str) -> Result<&mut Self, WriteError> {
        self.text(AttrType::USERNAME, username, MAX_USERNAME_LEN)
    }

    /// SOFTWARE, at most [`MAX_TEXT_LEN`] bytes (RFC 8489 §14.14).
    pub fn software(&mut self, software: &str) -> Result<&mut Self, WriteError> {
        self.text(AttrType::SOFTWARE, software, MAX_TEXT_LEN)
    }

    /// REALM, at most [`MAX_TEXT_LEN`] bytes (RFC 8489 §14.9).
    pub fn realm(&mut self, realm: &str) -> Result<&mut Self, WriteError> {
        self.text(AttrType::REALM, realm, MAX_TEXT_LEN)
    }

    /// NONCE, at most [`MAX_TEXT_LEN`] bytes (RFC 8489 §14.10).
    pub fn nonce(&mut self, nonce: &str) -> Result<&mut Self, WriteError> {
        self.text(AttrType::NONCE, nonce, MAX_TEXT_LEN)
    }

    /// PRIORITY (RFC 8445 §7.1.1, §16.1).
    pub fn priority(&mut self, priority: u32) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::PRIORITY, &priority.to_be_bytes())
    }

    /// USE-CANDIDATE, empty (RFC 8445 §7.1.2, §16.1).
    pub fn use_candidate(&mut self) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::USE_CANDIDATE, &[])
    }

    /// ICE-CONTROLLING with the agent's tie-breaker (RFC 8445 §7.1.3, §16.1).
    pub fn ice_controlling(&mut self, tie_breaker: u64) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::ICE_CONTROLLING, &tie_breaker.to_be_bytes())
    }

    /// ICE-CONTROLLED with the agent's tie-breaker (RFC 8445 §7.1.3, §16.1).
    pub fn ice_controlled(&mut self, tie_breaker: u64) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::ICE_CONTROLLED, &tie_breaker.to_be_bytes())
    }

    /// ERROR-CODE with `code` in 300..=699 and a reason of at most [`MAX_TEXT_LEN`] bytes
    /// (RFC 8489 §14.8).
    pub fn error_code(&mut self, code: u16, reason: &str) -> Result<&mut Self, WriteError> {
        if !(300..=699).contains(&code) {
            return Err(WriteError::InvalidValue);
        }
        if reason.len() > MAX_TEXT_LEN {
            return Err(WriteError::ValueTooLong);
        }
        let len = 4 + reason.len();
        self.check(AttrType::ERROR_CODE, len)?;
        self.begin_attr(AttrType::ERROR_CODE, len);
        // `code` is in 300..=699, so both parts fit in a byte.
        let class = u8::try_from(code / 100).unwrap_or(0);
        let number = u8::try_from(code % 100).unwrap_or(0);
        self.buf.extend_from_slice(&[0, 0, class, number]);
        self.buf.extend_from_slice(reason.as_bytes());
        self.finish_attr();
        Ok(self)
    }

    /// UNKNOWN-ATTRIBUTES listing `types` (RFC 8489 §14.13), for a 420 response.
    pub fn unknown_attributes(
        &mut self,
        types: impl IntoIterator<Item = u16, IntoIter: Clone>,
    ) -> Result<&mut Self, WriteError> {
        let types = types.into_iter();
        let len = types.clone().count().saturating_mul(2);
        self.check(AttrType::UNKNOWN_ATTRIBUTES, len)?;
        self.begin_attr(AttrType::UNKNOWN_ATTRIBUTES, len);
        for t in types {
            self.buf.extend_from_slice(&t.to_be_bytes());
        }
        self.finish_attr();
        Ok(self)
    }

    /// LIFETIME in seconds (RFC 8656 §18.2).
    pub fn lifetime(&mut self, seconds: u32) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::LIFETIME, &seconds.to_be_bytes())
    }

    /// REQUESTED-TRANSPORT with protocol number `protocol` (17 = UDP) (RFC 8656 §18.8).
    pub fn requested_transport(&mut self, protocol: u8) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::REQUESTED_TRANSPORT, &[protocol, 0, 0, 0])
    }

    /// DATA (RFC 8656 §18.4).
    pub fn data(&mut self, data: &[u8]) -> Result<&mut Self, WriteError> {
        self.attribute(AttrType::DATA, data)
    }

    /// CHANNEL-NUMBER, which must be in 0x4000..=0x4FFF (RFC 8656 §12, §18.1).
    pub fn channel_number(&mut self, number: u16) -> Result<&mut Self, WriteError> {
        if !(0x4000..=0x4FFF).contains(&number) {
            return Err(WriteError::InvalidValue);
        }
        let n = number.to_be_bytes();
        self.attribute(AttrType::CHANNEL_NUMBER, &[n[0], n[1], 0, 0])
    }

    /// Append MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over the message so far, with the header
    /// length already covering this attribute (RFC 8489 §14.5).
    pub fn message_integrity(&mut self, key: &[u8]) -> Result<&mut Self, WriteError> {
        self.check(AttrType::MESSAGE_INTEGRITY, 20)?;
        self.integrity(
            AttrType::MESSAGE_INTEGRITY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key,
            20,
        );
        self.tail = Tail::Integrity;
        Ok(self)
    }

    /// Append MESSAGE-INTEGRITY-SHA256 with the full 32-byte HMAC-SHA256 (RFC 8489 §14.6).
    pub fn message_integrity_sha256(&mut self, key: &[u8]) -> Result<&mut Self, WriteError> {
        self.message_integrity_sha256_truncated(key, 32)
    }

    /// Append MESSAGE-INTEGRITY-SHA256 truncated to `len` bytes: 16..=32 and a multiple of 4
    /// (RFC 8489 §14.6).
    pub fn message_integrity_sha256_truncated(
        &mut self,
        key: &[u8],
        len: usize,
    ) -> Result<&mut Self, WriteError> {
        if !(16..=32).contains(&len) || len % 4 != 0 {
            return Err(WriteError::InvalidValue);
        }
        self.check(AttrType::MESSAGE_INTEGRITY_SHA256, len)?;
        self.integrity(
            AttrType::MESSAGE_INTEGRITY_SHA256,
            hmac::HMAC_SHA256,
            key,
            len,
        );
        self.tail = Tail::IntegritySha256;
        Ok(self)
    }

    fn integrity(&mut self, typ: u16, alg: hmac::Algorithm, key: &[u8], len: usize) {
        let off = self.buf.len();
        let tag = hmac_prefix(alg, key, self.buf, off, len);
        self.begin_attr(typ, len);
        self.buf.extend_from_slice(&tag.as_ref()[..len]);
        self.finish_attr();
    }

    /// Append FINGERPRINT: CRC-32 of the message so far (header length covering this
    /// attribute) XOR 0x5354554E. Must be last (RFC 8489 §14.7).
    pub fn fingerprint(&mut self) -> Result<&mut Self, WriteError> {
        self.check(AttrType::FINGERPRINT, 4)?;
        let off = self.buf.len();
        let fp = fingerprint_of_prefix(self.buf, off);
        self.begin_attr(AttrType::FINGERPRINT, 4);
        self.buf.extend_from_slice(&fp.to_be_bytes());
        self.finish_attr();
        self.tail = Tail::Fingerprint;
        Ok(self)
    }
}
