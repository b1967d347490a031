//! Hiding our own host addresses behind random mDNS names (draft-ietf-mmusic-mdns-ice-
//! candidates §3.1): each local IP gets one name `<UUID v4>.local` for the life of the
//! connection, and the candidates the application signals carry the name instead of the
//! address; srflx and relay candidates have their related address zeroed (§3.1.2.2, as
//! browsers do). Connectivity checks keep using the real addresses: only the signalled copy
//! is rewritten. The driver registers each name with an [`super::MdnsResponder`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::sdp::Candidate;
use crate::util::RandomSource;

/// Most addresses given a name per connection (one per local interface address; the
/// driver binds at most `MAX_LOCAL_INTERFACES` per generation, and a few generations).
pub const MAX_HIDDEN_ADDRESSES: usize = 32;

/// A random UUID version 4 (RFC 9562 §5.4) in its lowercase text form (§4), followed by
/// `.local`: the name draft-ietf-mmusic-mdns-ice-candidates §3.1.1 asks for.
pub fn random_local_name(rng: &mut dyn RandomSource) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10
    let mut s = String::with_capacity(42);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    s.push_str(".local");
    s
}

/// The names of one connection's host addresses (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct HostNames {
    names: Vec<(IpAddr, String)>,
    /// Names given out but not yet handed to the driver.
    unpublished: Vec<(String, IpAddr)>,
}

impl HostNames {
    /// No name yet.
    pub fn new() -> HostNames {
        HostNames::default()
    }

    /// The name of `ip`, if it has one.
    pub fn name_of(&self, ip: IpAddr) -> Option<&str> {
        self.names
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, n)| n.as_str())
    }

    /// The name of `ip`, created (random) at its first use; `None` beyond
    /// [`MAX_HIDDEN_ADDRESSES`] addresses.
    pub fn name_for(&mut self, ip: IpAddr, rng: &mut dyn RandomSource) -> Option<&str> {
        let i = match self.names.iter().position(|(a, _)| *a == ip) {
            Some(i) => i,
            None => {
                if self.names.len() >= MAX_HIDDEN_ADDRESSES {
                    return None;
                }
                let name = random_local_name(rng);
                self.unpublished.push((name.clone(), ip));
                self.names.push((ip, name));
                self.names.len() - 1
            }
        };
        self.names.get(i).map(|(_, n)| n.as_str())
    }

    /// The next name the driver must answer for, with its address.
    pub fn poll_unpublished(&mut self) -> Option<(String, IpAddr)> {
        if self.unpublished.is_empty() {
            None
        } else {
            Some(self.unpublished.remove(0))
        }
    }

    /// The signalled form of local candidate `c`, naming new addresses as needed: a host
    /// candidate with an IP address gets its name (a candidate whose address cannot be
    /// named is `None`: it must not be signalled); every other type keeps its address and
    /// gets the related address of its family zeroed with port 0 (`raddr 0.0.0.0 rport 0`).
    pub fn hide(&mut self, c: &Candidate, rng: &mut dyn RandomSource) -> Option<Candidate> {
        if c.typ.eq_ignore_ascii_case("host") {
            let ip: IpAddr = match c.address.parse() {
                Ok(ip) => ip,
                // Already a name.
                Err(_) => return Some(c.clone()),
            };
            let name = self.name_for(ip, rng)?.to_string();
            return Some(Candidate {
                address: name,
                ..c.clone()
            });
        }
        Some(zero_related(c))
    }

    /// The signalled form of `c` with the names given so far (`None`: a host address
    /// without a name); names nothing new.
    pub fn hidden(&self, c: &Candidate) -> Option<Candidate> {
        if c.typ.eq_ignore_ascii_case("host") {
            return match c.address.parse::<IpAddr>() {
                Ok(ip) => self.name_of(ip).map(|n| Candidate {
                    address: n.to_string(),
                    ..c.clone()
                }),
                Err(_) => Some(c.clone()),
            };
        }
        Some(zero_related(c))
    }
}

/// `c` with its related address (if any) replaced by the unspecified address of the same
/// family and port 0.
fn zero_related(c: &Candidate) -> Candidate {
    let mut c = c.clone();
    if let Some(r) = c.related_address.as_mut() {
        *r = match r.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => Ipv6Addr::UNSPECIFIED.to_string(),
            _ => Ipv4Addr::UNSPECIFIED.to_string(),
        };
        c.related_port = Some(0);
    }
    c
}
