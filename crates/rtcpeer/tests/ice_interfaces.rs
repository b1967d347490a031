//! Host candidates on the machine's enumerated interfaces (`IceSettings::interfaces` empty,
//! `IceSettings::interface_filter`), shown on interfaces this test creates.
//!
//! The test re-runs itself inside a network namespace it creates (`unshare --net`), checks
//! that the namespace has only `lo`, and only then adds interfaces there: a veth pair `d0`
//! (up) with 10.99.0.1/24, fd00:99::1/64 and a link-local 169.254.7.7/16 (IPv6 link-local
//! fe80:: comes by itself), and a second pair `d2` left down with 10.98.0.1 and fd00:98::1.
//! (The brief's `dummy` link type is used when the kernel has it; veth otherwise.) Nothing
//! is ever added to the namespace the suite runs in, and traffic stays in the new one.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::Arc;

use rtcpeer::{Configuration, IceSettings, InterfaceFilter, PeerConnection, Settings};

use common::ice::{connect_without_trickle, host_candidates};

/// Set in the re-run child to the name of the test it must run.
const CHILD_ENV: &str = "RTCPEER_OWN_NETNS_TEST";

/// Runs `test` of this binary again in a fresh network namespace; the child's result is
/// the test's.
fn rerun_in_own_netns(test: &str) {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new("unshare")
        .arg("--net")
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot start `unshare --net` ({e}): run the suite as scripts/test does (root)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child in its own namespace failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// In the child: adds the test interfaces, refusing to if this namespace has more than lo.
fn add_test_interfaces() {
    assert!(
        common::chromium::in_loopback_only_netns(),
        "not in a fresh network namespace: refusing to add interfaces"
    );
    let script = "set -e
        ip link set lo up
        if ! ip link add d0 type dummy 2>/dev/null; then ip link add d0 type veth peer name d0p; ip link set d0p up; fi
        ip addr add 10.99.0.1/24 dev d0
        ip addr add fd00:99::1/64 dev d0 nodad
        ip addr add 169.254.7.7/16 dev d0
        ip link set d0 up
        if ! ip link add d2 type dummy 2>/dev/null; then ip link add d2 type veth peer name d2p; fi
        ip addr add 10.98.0.1/24 dev d2
        ip addr add fd00:98::1/64 dev d2 nodad";
    let st = Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh");
    assert!(st.success(), "ip commands failed");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pc(ice: IceSettings) -> PeerConnection {
    let settings = Settings {
        ice,
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("new pc")
}

fn ips_of(c: &[SocketAddr]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = c.iter().map(SocketAddr::ip).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<IpAddr>) -> Vec<IpAddr> {
    v.sort();
    v
}

async fn enumerated_interfaces_body() {
    // Every usable interface: d0's two global addresses; not lo, not the down d2, not the
    // link-local ones.
    let (a, b) = (
        pc(IceSettings::all_interfaces()),
        pc(IceSettings::all_interfaces()),
    );
    connect_without_trickle(&a, &b).await;
    let want = sorted(vec![ip("10.99.0.1"), ip("fd00:99::1")]);
    assert_eq!(ips_of(&host_candidates(&a)), want);
    assert_eq!(ips_of(&host_candidates(&b)), want);
    // They connected over the d0 addresses.
    let (local, remote) = a.selected_candidate_pair().expect("selected pair");
    assert!(
        want.contains(&local.ip()) && want.contains(&remote.ip()),
        "{local} {remote}"
    );
    let mut ports: Vec<u16> = host_candidates(&a).iter().map(SocketAddr::port).collect();
    ports.dedup();
    assert_eq!(ports.len(), 2, "one socket per address");

    // Loopback when asked for.
    let with_lo = IceSettings {
        interface_filter: InterfaceFilter {
            include_loopback: true,
            ..InterfaceFilter::default()
        },
        ..IceSettings::all_interfaces()
    };
    let (c, d) = (pc(with_lo.clone()), pc(with_lo));
    connect_without_trickle(&c, &d).await;
    assert_eq!(
        ips_of(&host_candidates(&c)),
        sorted(vec![
            ip("127.0.0.1"),
            ip("::1"),
            ip("10.99.0.1"),
            ip("fd00:99::1")
        ])
    );

    // Name and family filters: d0's IPv4 address only.
    let v4_d0 = IceSettings {
        interface_filter: InterfaceFilter {
            ipv6: false,
            interface: Some(Arc::new(|n: &str| n == "d0")),
            ..InterfaceFilter::default()
        },
        ..IceSettings::all_interfaces()
    };
    let (e, f) = (pc(v4_d0.clone()), pc(v4_d0));
    connect_without_trickle(&e, &f).await;
    assert_eq!(ips_of(&host_candidates(&e)), vec![ip("10.99.0.1")]);
    let (local, _) = e.selected_candidate_pair().expect("selected pair");
    assert_eq!(local.ip(), ip("10.99.0.1"));

    // The explicit list is used as it is (the default: 127.0.0.1 only).
    let (g, h) = (pc(IceSettings::default()), pc(IceSettings::default()));
    connect_without_trickle(&g, &h).await;
    assert_eq!(ips_of(&host_candidates(&g)), vec![ip("127.0.0.1")]);
    for p in [a, b, c, d, e, f, g, h] {
        p.close();
    }
}

#[test]
fn host_candidates_on_every_usable_interface_in_own_netns() {
    const NAME: &str = "host_candidates_on_every_usable_interface_in_own_netns";
    if std::env::var(CHILD_ENV).as_deref() != Ok(NAME) {
        return rerun_in_own_netns(NAME);
    }
    add_test_interfaces();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(enumerated_interfaces_body());
}
