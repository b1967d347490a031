//! `RTCConfiguration` (W3C webrtc-pc §4.2.1): ICE servers, policies, certificates and the
//! candidate pool size, with the constructor/`setConfiguration` validation of webrtc-pc
//! §4.4.1.6 ("set a configuration") and WebIDL conversion of the browser's JSON form.

pub mod url;
pub(crate) mod webidl;

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::cert::Certificate;
use crate::enums::w3c_enum;
use crate::error::{Error, Result};

pub use url::{Host, IceServerUrl, IceTransportProtocol, IceUrlScheme};

/// Longest TURN username accepted, in bytes (RFC 8489 §14.3 USERNAME limit; webrtc-pc §4.4.1.6).
pub const MAX_TURN_USERNAME_BYTES: usize = 509;

w3c_enum! {
    /// `RTCIceTransportPolicy` (webrtc-pc §4.2.2): which candidates the ICE agent may use.
    #[derive(Default)]
    pub enum IceTransportPolicy {
        /// Only relay (TURN) candidates ("relay").
        Relay = "relay",
        /// Any candidate type ("all").
        #[default]
        All = "all",
    }
}

w3c_enum! {
    /// `RTCBundlePolicy` (webrtc-pc §4.2.3; JSEP RFC 9429 §4.1.1).
    #[derive(Default)]
    pub enum BundlePolicy {
        /// Gather per media type, bundle if the peer supports it ("balanced").
        #[default]
        Balanced = "balanced",
        /// Gather per m-section ("max-compat").
        MaxCompat = "max-compat",
        /// Gather for one transport only ("max-bundle").
        MaxBundle = "max-bundle",
    }
}

w3c_enum! {
    /// `RTCRtcpMuxPolicy` (webrtc-pc §4.2.4; JSEP RFC 9429 §4.1.1). Browsers accept only
    /// "require"; "negotiate" is in the spec (feature at risk) and is accepted and reflected.
    #[derive(Default)]
    pub enum RtcpMuxPolicy {
        /// Gather RTP and RTCP candidates, use RTCP mux if offered ("negotiate").
        Negotiate = "negotiate",
        /// Gather RTP candidates only; remote descriptions must offer RTCP mux ("require").
        #[default]
        Require = "require",
    }
}

/// `RTCIceServer` (webrtc-pc §4.2.1): one STUN/TURN server with its URLs and credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// The server's URLs (`urls`; a single string in JSON becomes a one-element list).
    pub urls: Vec<String>,
    /// TURN username (`username`).
    pub username: Option<String>,
    /// TURN password (`credential`).
    pub credential: Option<String>,
}

impl IceServer {
    /// Validates this server as webrtc-pc §4.4.1.6 does and returns its parsed URLs: no URLs
    /// or a malformed URL → `SyntaxError`; a TURN URL without username/credential, with an
    /// empty credential or a username above 509 bytes → `InvalidAccessError`. Checked URL by
    /// URL, in order, so the first failing URL decides the error.
    pub fn parse_urls(&self) -> Result<Vec<IceServerUrl>> {
        if self.urls.is_empty() {
            return Err(Error::syntax("an RTCIceServer's urls list is empty"));
        }
        let mut parsed = Vec::with_capacity(self.urls.len());
        for text in &self.urls {
            let url = IceServerUrl::parse(text)?;
            if url.scheme.is_turn() {
                let (Some(username), Some(credential)) = (&self.username, &self.credential) else {
                    return Err(Error::invalid_access(format!(
                        "TURN server '{text}' needs both username and credential"
                    )));
                };
                if credential.is_empty() {
                    return Err(Error::invalid_access(format!(
                        "TURN server '{text}' has an empty credential"
                    )));
                }
                if username.len() > MAX_TURN_USERNAME_BYTES {
                    return Err(Error::invalid_access(format!(
                        "TURN username is longer than {MAX_TURN_USERNAME_BYTES} bytes"
                    )));
                }
            }
            parsed.push(url);
        }
        Ok(parsed)
    }

    /// The `RTCIceServer` dictionary as `getConfiguration()` returns it (`urls` always a list).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("urls".into(), json!(self.urls));
        if let Some(u) = &self.username {
            m.insert("username".into(), json!(u));
        }
        if let Some(c) = &self.credential {
            m.insert("credential".into(), json!(c));
        }
        Value::Object(m)
    }
}

/// `RTCConfiguration` (webrtc-pc §4.2.1). `Default` is what `new RTCPeerConnection()` uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Configuration {
    /// STUN/TURN servers (`iceServers`).
    pub ice_servers: Vec<IceServer>,
    /// Candidate types the ICE agent may use (`iceTransportPolicy`), default "all".
    pub ice_transport_policy: IceTransportPolicy,
    /// Media bundling policy (`bundlePolicy`), default "balanced".
    pub bundle_policy: BundlePolicy,
    /// RTCP multiplexing policy (`rtcpMuxPolicy`), default "require".
    pub rtcp_mux_policy: RtcpMuxPolicy,
    /// DTLS certificates (`certificates`); empty = generate one per connection.
    pub certificates: Vec<Certificate>,
    /// Pre-gathered candidate pool size (`iceCandidatePoolSize`, an octet), default 0.
    pub ice_candidate_pool_size: u8,
    /// The target peer identity (`peerIdentity`, webrtc-identity "RTCConfiguration Dictionary Extensions"): the connection only
    /// accepts a remote description whose identity assertion validates to this name.
    pub peer_identity: Option<String>,
}

impl Configuration {
    /// Validates `iceServers` as "set a configuration" does (webrtc-pc §4.4.1.6), server by
    /// server in order: see [`IceServer::parse_urls`].
    pub fn validate(&self) -> Result<()> {
        for server in &self.ice_servers {
            server.parse_urls()?;
        }
        Ok(())
    }

    /// The constructor's certificate check (webrtc-pc §4.4.1.1 step 4): a certificate that has
    /// expired at `now` → `InvalidAccessError`.
    pub fn check_certificates(&self, now: SystemTime) -> Result<()> {
        if self.certificates.iter().any(|c| c.is_expired(now)) {
            return Err(Error::invalid_access(
                "a configured certificate has expired",
            ));
        }
        Ok(())
    }

    /// Checks that `setConfiguration(new)` is allowed on a connection whose current
    /// configuration is `self` (webrtc-pc §4.4.1.6 step 4, then the iceServers validation):
    /// different certificates, bundlePolicy or rtcpMuxPolicy, or a different
    /// iceCandidatePoolSize once a local description was set → `InvalidModificationError`.
    /// Nothing is changed; see [`Configuration::apply_update`].
    pub fn check_update(&self, new: &Configuration, local_description_set: bool) -> Result<()> {
        if self.certificates != new.certificates {
            return Err(Error::invalid_modification(
                "certificates cannot be changed by setConfiguration",
            ));
        }
        if self.bundle_policy != new.bundle_policy {
            return Err(Error::invalid_modification(format!(
                "bundlePolicy cannot change from '{}' to '{}'",
                self.bundle_policy, new.bundle_policy
            )));
        }
        if self.rtcp_mux_policy != new.rtcp_mux_policy {
            return Err(Error::invalid_modification(format!(
                "rtcpMuxPolicy cannot change from '{}' to '{}'",
                self.rtcp_mux_policy, new.rtcp_mux_policy
            )));
        }
        // webrtc-identity "Setting the RTCPeerConnection Configuration": the target peer
        // identity cannot change once set.
        if new.peer_identity.is_some() && new.peer_identity != self.peer_identity {
            return Err(Error::invalid_modification(
                "peerIdentity cannot be changed by setConfiguration",
            ));
        }
        if local_description_set && self.ice_candidate_pool_size != new.ice_candidate_pool_size {
            return Err(Error::invalid_modification(
                "iceCandidatePoolSize cannot change after setLocalDescription",
            ));
        }
        new.validate()
    }

    /// `setConfiguration(new)`: all-or-nothing. Runs [`Configuration::check_update`] and only
    /// then replaces the whole configuration (members omitted in `new` take their defaults).
    pub fn apply_update(&mut self, new: Configuration, local_description_set: bool) -> Result<()> {
        self.check_update(&new, local_description_set)?;
        let peer_identity = self.peer_identity.take();
        *self = new;
        // The target peer identity stays when the new configuration omits it.
        if self.peer_identity.is_none() {
            self.peer_identity = peer_identity;
        }
        Ok(())
    }

    /// Converts the browser's JSON `RTCConfiguration` (WebIDL dictionary conversion,
    /// WebIDL §3.2.17) and then validates it ([`Configuration::validate`]). Conversion errors
    /// (null for a non-nullable member, a missing `urls`, a bad enum string, an
    /// `iceCandidatePoolSize` outside 0..=255, any `certificates` entry) are `TypeError`s;
    /// unknown members are ignored. Certificates cannot come from JSON: only `[]` is accepted.
    pub fn from_json(value: &Value) -> Result<Configuration> {
        let config = Configuration::convert_json(value)?;
        config.validate()?;
        Ok(config)
    }

    /// WebIDL conversion only (no iceServers validation). Members are read in the lexicographic
    /// order WebIDL prescribes.
    fn convert_json(value: &Value) -> Result<Configuration> {
        let empty = Map::new();
        let obj = match value {
            // null/undefined convert to a dictionary with all defaults.
            Value::Null => &empty,
            Value::Object(o) => o,
            // A JS array is an object too: none of its properties are configuration members.
            Value::Array(_) => &empty,
            _ => return Err(Error::type_error("RTCConfiguration must be an object")),
        };
        let mut config = Configuration::default();
        if let Some(v) = obj.get("bundlePolicy") {
            config.bundle_policy = webidl::to_dom_string(v).parse()?;
        }
        if let Some(v) = obj.get("certificates") {
            match v {
                Value::Array(items) if items.is_empty() => {}
                Value::Array(_) => {
                    return Err(Error::type_error(
                        "certificates entries must be RTCCertificate objects",
                    ));
                }
                _ => return Err(Error::type_error("certificates must be a sequence")),
            }
        }
        if let Some(v) = obj.get("iceCandidatePoolSize") {
            let n = webidl::enforce_range_unsigned(v, u64::from(u8::MAX), "iceCandidatePoolSize")?;
            config.ice_candidate_pool_size = u8::try_from(n).unwrap_or(u8::MAX);
        }
        if let Some(v) = obj.get("iceServers") {
            let Value::Array(items) = v else {
                return Err(Error::type_error("iceServers must be a sequence"));
            };
            config.ice_servers = items
                .iter()
                .map(ice_server_from_json)
                .collect::<Result<_>>()?;
        }
        if let Some(v) = obj.get("iceTransportPolicy") {
            config.ice_transport_policy = webidl::to_dom_string(v).parse()?;
        }
        if let Some(v) = obj.get("peerIdentity") {
            config.peer_identity = Some(webidl::to_dom_string(v));
        }
        if let Some(v) = obj.get("rtcpMuxPolicy") {
            config.rtcp_mux_policy = webidl::to_dom_string(v).parse()?;
        }
        Ok(config)
    }

    /// The configuration as `getConfiguration()` returns it: every member present, `urls`
    /// always a list. `certificates` is not included (certificates are not JSON); read
    /// [`Configuration::certificates`] instead.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "iceServers": self.ice_servers.iter().map(IceServer::to_json).collect::<Vec<_>>(),
            "iceTransportPolicy": self.ice_transport_policy.as_str(),
            "bundlePolicy": self.bundle_policy.as_str(),
            "rtcpMuxPolicy": self.rtcp_mux_policy.as_str(),
            "iceCandidatePoolSize": self.ice_candidate_pool_size,
        });
        if let (Some(p), Some(obj)) = (&self.peer_identity, v.as_object_mut()) {
            obj.insert("peerIdentity".into(), json!(p));
        }
        v
    }
}

/// Converts one `RTCIceServer` dictionary (members in lexicographic order: credential, urls,
/// username). null converts to an empty dictionary, which then lacks the required `urls`.
fn ice_server_from_json(value: &Value) -> Result<IceServer> {
    let empty = Map::new();
    let obj = match value {
        Value::Null => &empty,
        Value::Object(o) => o,
        Value::Array(_) => &empty,
        _ => return Err(Error::type_error("an RTCIceServer must be an object")),
    };
    let credential = obj.get("credential").map(webidl::to_dom_string);
    let urls = match obj.get("urls") {
        None => {
            return Err(Error::type_error(
                "RTCIceServer is missing the required member 'urls'",
            ));
        }
        // (DOMString or sequence<DOMString>): a JS array is the sequence.
        Some(Value::Array(items)) => items.iter().map(webidl::to_dom_string).collect(),
        Some(Value::Object(_)) => {
            return Err(Error::type_error(
                "urls must be a string or a sequence of strings",
            ));
        }
        Some(other) => vec![webidl::to_dom_string(other)],
    };
    let username = obj.get("username").map(webidl::to_dom_string);
    Ok(IceServer {
        urls,
        username,
        credential,
    })
}

#[cfg(test)]
mod tests;
