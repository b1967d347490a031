//! STUN/TURN server URLs: `stun:`/`stuns:` (RFC 7064 §3.1) and `turn:`/`turns:`
//! (RFC 7065 §3.1), with the W3C "validate an ICE server" rules (webrtc-pc §4.4.1.6) and the
//! stricter web-platform-tests expectations (WPT-18..23): no authority `//`, no userinfo, path,
//! fragment or backslash, a query only on TURN and only `transport=udp|tcp`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Error, Result};

/// The scheme of an ICE server URL (RFC 7064 §3.1, RFC 7065 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceUrlScheme {
    /// `stun:` — STUN over UDP/TCP.
    Stun,
    /// `stuns:` — STUN over TLS/DTLS.
    Stuns,
    /// `turn:` — TURN over UDP/TCP.
    Turn,
    /// `turns:` — TURN over TLS/DTLS.
    Turns,
}

impl IceUrlScheme {
    /// The scheme name as written in URLs ("stun", "stuns", "turn", "turns").
    pub fn as_str(self) -> &'static str {
        match self {
            IceUrlScheme::Stun => "stun",
            IceUrlScheme::Stuns => "stuns",
            IceUrlScheme::Turn => "turn",
            IceUrlScheme::Turns => "turns",
        }
    }

    /// Whether this is a TURN scheme, which needs credentials (webrtc-pc §4.4.1.6).
    pub fn is_turn(self) -> bool {
        matches!(self, IceUrlScheme::Turn | IceUrlScheme::Turns)
    }

    /// Whether this scheme runs over TLS/DTLS.
    pub fn is_secure(self) -> bool {
        matches!(self, IceUrlScheme::Stuns | IceUrlScheme::Turns)
    }

    /// The default port: 3478, or 5349 for the secure schemes (RFC 8489 §9, RFC 7064 §3.2).
    pub fn default_port(self) -> u16 {
        if self.is_secure() { 5349 } else { 3478 }
    }
}

/// The transport named by a TURN URL's `?transport=` (RFC 7065 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceTransportProtocol {
    /// `transport=udp`.
    Udp,
    /// `transport=tcp`.
    Tcp,
}

impl IceTransportProtocol {
    /// The protocol name as written in URLs ("udp", "tcp").
    pub fn as_str(self) -> &'static str {
        match self {
            IceTransportProtocol::Udp => "udp",
            IceTransportProtocol::Tcp => "tcp",
        }
    }
}

/// The host of an ICE server URL (RFC 3986 §3.2.2 `host`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A registered name (DNS name), as written.
    Domain(String),
    /// An IPv4 literal.
    Ipv4(Ipv4Addr),
    /// An IPv6 literal (written in brackets in the URL).
    Ipv6(Ipv6Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A parsed STUN/TURN URL (RFC 7064 §3.1, RFC 7065 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceServerUrl {
    /// The scheme.
    pub scheme: IceUrlScheme,
    /// The server host.
    pub host: Host,
    /// The port, or the scheme's default when the URL has none.
    pub port: u16,
    /// The `?transport=` of a TURN URL, if given.
    pub transport: Option<IceTransportProtocol>,
}

impl IceServerUrl {
    /// Parses a STUN/TURN URL; every malformed URL is a `SyntaxError` (webrtc-pc §4.4.1.6).
    pub fn parse(url: &str) -> Result<IceServerUrl> {
        let bad = |why: &str| Error::syntax(format!("invalid ICE server URL '{url}': {why}"));
        if url.is_empty() {
            return Err(bad("empty"));
        }
        // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':'.
        let (scheme, rest) = url.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let mut chars = scheme.chars();
        let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(bad("no scheme"));
        }
        // Schemes are case-insensitive (RFC 3986 §3.1).
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => IceUrlScheme::Stun,
            "stuns" => IceUrlScheme::Stuns,
            "turn" => IceUrlScheme::Turn,
            "turns" => IceUrlScheme::Turns,
            _ => return Err(bad("scheme is not stun, stuns, turn or turns")),
        };
        if rest.starts_with("//") {
            return Err(bad("STUN/TURN URLs have no '//' authority"));
        }
        if rest.contains('#') {
            return Err(bad("fragment not allowed"));
        }
        if rest.contains('\\') {
            return Err(bad("backslash not allowed"));
        }
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        if hostport.contains('@') {
            return Err(bad("userinfo not allowed"));
        }
        if hostport.contains('/') {
            return Err(bad("path not allowed"));
        }
        let transport = match query {
            None => None,
            Some(_) if !scheme.is_turn() => return Err(bad("STUN URLs take no query")),
            Some(q) => match q.to_ascii_lowercase().as_str() {
                "transport=udp" => Some(IceTransportProtocol::Udp),
                "transport=tcp" => Some(IceTransportProtocol::Tcp),
                _ => return Err(bad("the only TURN query is transport=udp or transport=tcp")),
            },
        };
        let (host, port) = split_host_port(hostport).map_err(&bad)?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => parse_port(p).map_err(&bad)?,
        };
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }

    /// The transport used to reach the server: the explicit `?transport=`, else UDP for
    /// `stun:`/`turn:` and TCP for `stuns:`/`turns:` (RFC 7065 §3.1, RFC 7064 §3.2).
    pub fn effective_transport(&self) -> IceTransportProtocol {
        self.transport.unwrap_or(if self.scheme.is_secure() {
            IceTransportProtocol::Tcp
        } else {
            IceTransportProtocol::Udp
        })
    }
}

impl FromStr for IceServerUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        IceServerUrl::parse(s)
    }
}

impl fmt::Display for IceServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme.as_str(), self.host, self.port)?;
        if let Some(t) = self.transport {
            write!(f, "?transport={}", t.as_str())?;
        }
        Ok(())
    }
}

/// Splits `host [":" port]`; an unbracketed IPv6 literal (more than one ':') is rejected.
fn split_host_port(s: &str) -> std::result::Result<(Host, Option<&str>), &'static str> {
    if let Some(inner) = s.strip_prefix('[') {
        let (literal, after) = inner.split_once(']').ok_or("unterminated '['")?;
        let addr = Ipv6Addr::from_str(literal).map_err(|_| "invalid IPv6 literal")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("junk after IPv6 literal")?),
        };
        return Ok((Host::Ipv6(addr), port));
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if port.is_some_and(|p| p.contains(':')) {
        return Err("IPv6 literals must be in brackets");
    }
    if host.is_empty() {
        return Err("no host");
    }
    if let Ok(v4) = Ipv4Addr::from_str(host) {
        return Ok((Host::Ipv4(v4), port));
    }
    if host.contains(['[', ']']) || !is_reg_name(host) {
        return Err("invalid host name");
    }
    Ok((Host::Domain(host.to_owned()), port))
}

/// RFC 3986 §3.2.2 `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn is_reg_name(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(|h| h.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// `port = 1*DIGIT` with a value of at most 65535. (RFC 7064 allows an empty port; browsers
/// reject it, and so do we.)
fn parse_port(p: &str) -> std::result::Result<u16, &'static str> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err("port must be digits");
    }
    // Leading zeros are allowed by the grammar; strip them before the range check.
    let digits = p.trim_start_matches('0');
    if digits.len() > 5 {
        return Err("port above 65535");
    }
    match digits {
        "" => Ok(0),
        d => d
            .parse::<u32>()
            .ok()
            .and_then(|v| u16::try_from(v).ok())
            .ok_or("port above 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> IceServerUrl {
        IceServerUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn syntax(s: &str) {
        let e = IceServerUrl::parse(s).expect_err(s);
        assert_eq!(e.name(), "SyntaxError", "{s}");
    }

    #[test]
    fn valid_urls_and_defaults() {
        let u = ok("stun:stun.example.org");
        assert_eq!(u.scheme, IceUrlScheme::Stun);
        assert_eq!(u.host, Host::Domain("stun.example.org".into()));
        assert_eq!((u.port, u.transport), (3478, None));
        assert_eq!(u.effective_transport(), IceTransportProtocol::Udp);
        let u = ok("turns:example.org");
        assert_eq!(
            (u.port, u.effective_transport()),
            (5349, IceTransportProtocol::Tcp)
        );
        assert_eq!(ok("stuns:example.org:443").port, 443);
        let u = ok("turn:192.0.2.1:3479?transport=tcp");
        assert_eq!(u.host, Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            (u.port, u.transport),
            (3479, Some(IceTransportProtocol::Tcp))
        );
        let u = ok("turn:[2001:db8::1]:1234?transport=udp");
        assert_eq!(u.host, Host::Ipv6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port, 1234);
        assert_eq!(u.to_string(), "turn:[2001:db8::1]:1234?transport=udp");
        assert_eq!(ok("stun:[2001::1]").port, 3478);
        assert_eq!(ok("STUN:Example.org:65535").scheme, IceUrlScheme::Stun);
        assert_eq!(ok("stun:example.org:0065535").port, 65535);
        assert_eq!(
            ok("stun:ex%41mple.org").host,
            Host::Domain("ex%41mple.org".into())
        );
    }

    #[test]
    fn malformed_urls_are_syntax_errors() {
        for s in [
            "",
            "relative-url",
            ":stun",
            "1stun:example.org",
            "http://example.org",
            "https:example.org",
            "stun:",
            "turn:",
            "stun::8191",
            "turn::8191",
            "stun:example.org:131071",
            "stun:example.org:65536",
            "stun:example.org:b",
            "stun:example.org:-21",
            "stun:example.org:",
            "stun:example.org:99999999999999999999",
            "stun:2001:4860:4860::8888",
            "turn:::ffff:192.0.2.128",
            "stun:[2001:db8::1",
            "stun:[not-v6]",
            "stun:[2001::1]x",
            "stun:example.org#frag",
            "stun:user@example.org",
            "stun:example.org/",
            "stun:example.org/path",
            "stun:example.org\\path",
            "stun:example.org?foo=bar",
            "stun:example.org?transport=udp",
            "turn:example.org?foo=bar",
            "turn:example.org?transport=datachannel",
            "turn:example.org?transport=",
            "turn:example.org?",
            "stun://example.org",
            "turn://example.org/foo?x=y",
            "stun:exa mple.org",
            "stun:ex%4",
        ] {
            syntax(s);
        }
    }

    /// The fuzz target's property on seeded pseudo-random mutations of valid URLs: no panic,
    /// and a parsed URL prints back to a string that parses to the same value.
    #[test]
    fn mutated_urls_never_panic_and_round_trip() {
        let seeds = [
            "stun:stun.example.org:3478",
            "turns:[2001:db8::1]:5349?transport=tcp",
            "turn:192.0.2.1?transport=udp",
            "stuns:ex%41mple.org",
        ];
        let alphabet = b"stunr:[]?=#@/\\%0123456789abcdef.-_~xyz ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0;
        for i in 0..20_000 {
            let mut bytes = seeds[i % seeds.len()].as_bytes().to_vec();
            for _ in 0..(next() % 4) {
                let pos = (next() as usize) % (bytes.len() + 1);
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if pos < bytes.len() => bytes[pos] = c,
                    1 if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, c),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(url) = IceServerUrl::parse(&text) {
                parsed += 1;
                assert_eq!(
                    IceServerUrl::parse(&url.to_string()).unwrap(),
                    url,
                    "{text}"
                );
            }
        }
        // The mutations keep a fair share valid, so the round trip is actually exercised.
        assert!(parsed > 1000, "{parsed}");
    }
}
