//! Attribute type numbers (IANA "STUN Attributes" registry, RFC 8489 §18.3, RFC 8445 §16.1,
//! RFC 8656 §18, RFC 6062 §6.2).

/// Namespace of attribute type numbers; the values are plain `u16` so unknown types pass through.
pub struct AttrType;

impl AttrType {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY, HMAC-SHA1 (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (RFC 8656 §18.4).
    pub const DATA: u16 = 0x0013;
    /// REALM (RFC 8489 §14.9).
    pub const REALM: u16 = 0x0014;
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6); no typed getter yet.
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT (RFC 8656 §18.7); no typed getter yet.
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT (RFC 8656 §18.9); no typed getter yet.
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12); no typed getter yet.
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH (RFC 8489 §14.4); no typed getter yet.
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// RESERVATION-TOKEN (RFC 8656 §18.10); no typed getter yet.
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// CONNECTION-ID (RFC 6062 §6.2); no typed getter yet.
    pub const CONNECTION_ID: u16 = 0x002A;
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11), comprehension-optional.
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16), comprehension-optional.
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// SOFTWARE (RFC 8489 §14.14), comprehension-optional.
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER (RFC 8489 §14.15), comprehension-optional.
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT (RFC 8489 §14.7), comprehension-optional.
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED (RFC 8445 §16.1), comprehension-optional.
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING (RFC 8445 §16.1), comprehension-optional.
    pub const ICE_CONTROLLING: u16 = 0x802A;
}

/// Whether an attribute type is comprehension-required (0x0000..=0x7FFF): a receiver that does
/// not understand it must reject the request with 420 (RFC 8489 §14, §6.3.1).
pub fn is_comprehension_required(attr: u16) -> bool {
    attr < 0x8000
}

/// Whether this codec understands a comprehension-required attribute type: the ones with a
/// typed getter (RFC 8489 §14, RFC 8445 §16.1, RFC 8656 §18). Anything else in 0x0000..=0x7FFF
/// is reported by [`super::Message::unknown_comprehension_required`].
pub fn is_known_attribute(attr: u16) -> bool {
    matches!(
        attr,
        AttrType::MAPPED_ADDRESS
            | AttrType::USERNAME
            | AttrType::MESSAGE_INTEGRITY
            | AttrType::ERROR_CODE
            | AttrType::UNKNOWN_ATTRIBUTES
            | AttrType::CHANNEL_NUMBER
            | AttrType::LIFETIME
            | AttrType::XOR_PEER_ADDRESS
            | AttrType::DATA
            | AttrType::REALM
            | AttrType::NONCE
            | AttrType::XOR_RELAYED_ADDRESS
            | AttrType::REQUESTED_TRANSPORT
            | AttrType::MESSAGE_INTEGRITY_SHA256
            | AttrType::XOR_MAPPED_ADDRESS
            | AttrType::PRIORITY
            | AttrType::USE_CANDIDATE
    ) || !is_comprehension_required(attr)
}
