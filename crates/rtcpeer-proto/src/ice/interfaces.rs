//! Which of the machine's interface addresses become host candidates (RFC 8445 §5.1.1.1):
//! a pure function over an interface listing, so the policy is tested without touching the
//! machine. The runtime (`api/driver.rs`) enumerates the interfaces and binds the result.
//!
//! Always excluded: interfaces that are not up, link-local addresses (`169.254.0.0/16`,
//! `fe80::/10`: unusable without a scope and never reachable off-link, RFC 8445 §5.1.1.1
//! and RFC 8421 §4), unspecified, multicast and IPv4-mapped IPv6 addresses. Loopback is
//! excluded unless asked for.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::MAX_LOCAL_INTERFACES;

/// One address of one network interface, as the operating system lists it (getifaddrs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInterface {
    /// Interface name (`eth0`, `lo`, `wlan0`).
    pub name: String,
    /// The interface is up and running (`IFF_UP` and `IFF_RUNNING`).
    pub up: bool,
    /// The interface is a loopback interface (`IFF_LOOPBACK`).
    pub loopback: bool,
    /// The address.
    pub addr: IpAddr,
}

/// A predicate on interface names (`true` keeps the interface).
pub type NameFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;
/// A predicate on addresses (`true` keeps the address).
pub type IpFilter = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// Which enumerated interface addresses ICE gathers host candidates on (a "setting engine"
/// knob like Pion's `SetInterfaceFilter` / `SetIPFilter`, not part of `RTCConfiguration`).
#[derive(Clone)]
pub struct InterfaceFilter {
    /// Gather on loopback addresses too (default `false`).
    pub include_loopback: bool,
    /// Gather on IPv4 addresses (default `true`).
    pub ipv4: bool,
    /// Gather on IPv6 addresses (default `true`).
    pub ipv6: bool,
    /// Keeps only interfaces whose name passes (default: all).
    pub interface: Option<NameFilter>,
    /// Keeps only addresses that pass (default: all).
    pub ip: Option<IpFilter>,
}

impl Default for InterfaceFilter {
    fn default() -> Self {
        InterfaceFilter {
            include_loopback: false,
            ipv4: true,
            ipv6: true,
            interface: None,
            ip: None,
        }
    }
}

impl fmt::Debug for InterfaceFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterfaceFilter")
            .field("include_loopback", &self.include_loopback)
            .field("ipv4", &self.ipv4)
            .field("ipv6", &self.ipv6)
            .field("interface", &self.interface.as_ref().map(|_| "<fn>"))
            .field("ip", &self.ip.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// `169.254.0.0/16` or `fe80::/10` (RFC 3927, RFC 4291 §2.5.6).
pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn is_v4_mapped(v6: &Ipv6Addr) -> bool {
    v6.to_ipv4_mapped().is_some()
}

/// Whether an address can carry a host candidate at all, whatever the filter says.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_multicast()
                || v4 == Ipv4Addr::BROADCAST
                || v4.is_link_local())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_multicast()
                || is_v4_mapped(&v6)
                || is_link_local(IpAddr::V6(v6)))
        }
    }
}

/// The addresses to gather host candidates on, in listing order, without duplicates, at
/// most [`MAX_LOCAL_INTERFACES`] (the agent's bound).
pub fn select_host_addresses(list: &[NetInterface], filter: &InterfaceFilter) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for i in list {
        if out.len() >= MAX_LOCAL_INTERFACES {
            break;
        }
        let ip = i.addr;
        let loopback = i.loopback || ip.is_loopback();
        let family_ok = if ip.is_ipv4() {
            filter.ipv4
        } else {
            filter.ipv6
        };
        let keep = i.up
            && usable(ip)
            && family_ok
            && (filter.include_loopback || !loopback)
            && filter.interface.as_ref().is_none_or(|f| f(&i.name))
            && filter.ip.as_ref().is_none_or(|f| f(ip))
            && !out.contains(&ip);
        if keep {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, up: bool, addr: &str) -> NetInterface {
        let addr: IpAddr = addr.parse().unwrap();
        NetInterface {
            name: name.into(),
            up,
            loopback: name == "lo",
            addr,
        }
    }

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn machine() -> Vec<NetInterface> {
        vec![
            entry("lo", true, "127.0.0.1"),
            entry("lo", true, "::1"),
            entry("eth0", true, "192.0.2.10"),
            entry("eth0", true, "2001:db8::10"),
            entry("eth0", true, "fe80::1"),
            entry("eth0", true, "169.254.3.4"),
            entry("wlan0", false, "198.51.100.7"),
            entry("docker0", true, "172.17.0.1"),
            entry("tun0", true, "fd00:99::1"),
        ]
    }

    #[test]
    fn default_filter_takes_every_up_non_loopback_non_link_local_address() {
        let got = select_host_addresses(&machine(), &InterfaceFilter::default());
        assert_eq!(
            got,
            ips(&["192.0.2.10", "2001:db8::10", "172.17.0.1", "fd00:99::1"])
        );
    }

    #[test]
    fn loopback_only_when_asked() {
        let f = InterfaceFilter {
            include_loopback: true,
            ..InterfaceFilter::default()
        };
        let got = select_host_addresses(&machine(), &f);
        assert_eq!(&got[..2], &ips(&["127.0.0.1", "::1"])[..]);
        assert_eq!(got.len(), 6);
        // A loopback-flagged interface's other addresses count as loopback too.
        let odd = vec![NetInterface {
            name: "lo".into(),
            up: true,
            loopback: true,
            addr: "10.1.1.1".parse().unwrap(),
        }];
        assert!(select_host_addresses(&odd, &InterfaceFilter::default()).is_empty());
        assert_eq!(select_host_addresses(&odd, &f), ips(&["10.1.1.1"]));
    }

    #[test]
    fn link_local_ranges_are_recognised_and_never_taken() {
        for a in ["fe80::1", "febf:ffff::1", "169.254.0.1", "169.254.255.254"] {
            assert!(is_link_local(a.parse().unwrap()), "{a}");
        }
        for a in [
            "fec0::1",
            "fe7f::1",
            "169.253.0.1",
            "169.255.0.1",
            "fd00::1",
        ] {
            assert!(!is_link_local(a.parse().unwrap()), "{a}");
        }
        let list = vec![
            entry("eth0", true, "fe80::abcd"),
            entry("eth0", true, "febf::1"),
            entry("eth0", true, "169.254.10.10"),
        ];
        let all = InterfaceFilter {
            include_loopback: true,
            ..InterfaceFilter::default()
        };
        assert!(select_host_addresses(&list, &all).is_empty());
    }

    #[test]
    fn down_interfaces_and_unusable_addresses_are_excluded() {
        let list = vec![
            entry("wlan0", false, "198.51.100.7"),
            entry("eth0", true, "0.0.0.0"),
            entry("eth0", true, "::"),
            entry("eth0", true, "224.0.0.251"),
            entry("eth0", true, "ff02::fb"),
            entry("eth0", true, "255.255.255.255"),
            entry("eth0", true, "::ffff:192.0.2.1"),
        ];
        assert!(select_host_addresses(&list, &InterfaceFilter::default()).is_empty());
    }

    #[test]
    fn family_switches() {
        let v4 = InterfaceFilter {
            ipv6: false,
            ..InterfaceFilter::default()
        };
        assert_eq!(
            select_host_addresses(&machine(), &v4),
            ips(&["192.0.2.10", "172.17.0.1"])
        );
        let v6 = InterfaceFilter {
            ipv4: false,
            ..InterfaceFilter::default()
        };
        assert_eq!(
            select_host_addresses(&machine(), &v6),
            ips(&["2001:db8::10", "fd00:99::1"])
        );
    }

    #[test]
    fn name_and_ip_filters() {
        let f = InterfaceFilter {
            interface: Some(Arc::new(|n: &str| !n.starts_with("docker"))),
            ..InterfaceFilter::default()
        };
        assert_eq!(
            select_host_addresses(&machine(), &f),
            ips(&["192.0.2.10", "2001:db8::10", "fd00:99::1"])
        );
        let f = InterfaceFilter {
            ip: Some(Arc::new(|ip: IpAddr| {
                ip != "2001:db8::10".parse::<IpAddr>().unwrap()
            })),
            interface: Some(Arc::new(|n: &str| n == "eth0")),
            ..InterfaceFilter::default()
        };
        assert_eq!(select_host_addresses(&machine(), &f), ips(&["192.0.2.10"]));
        // The filters never see excluded entries' addresses as kept.
        let f = InterfaceFilter {
            ip: Some(Arc::new(|_| true)),
            ..InterfaceFilter::default()
        };
        assert!(!select_host_addresses(&machine(), &f).contains(&"fe80::1".parse().unwrap()));
    }

    #[test]
    fn duplicates_dropped_and_count_bounded() {
        let mut list: Vec<NetInterface> = (0..40)
            .map(|i| entry(&format!("d{i}"), true, &format!("10.0.{i}.1")))
            .collect();
        list.insert(1, entry("x", true, "10.0.0.1"));
        let got = select_host_addresses(&list, &InterfaceFilter::default());
        assert_eq!(got.len(), MAX_LOCAL_INTERFACES);
        assert_eq!(got[0], "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(got[1], "10.0.1.1".parse::<IpAddr>().unwrap());
    }
}
