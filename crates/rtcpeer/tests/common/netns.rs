//! Runs one test's body in a network namespace that the test makes itself: the test binary
//! re-executes itself for exactly that test under `unshare --net` (root, as CI is), and the
//! child configures the namespace (multicast on `lo`, a veth pair) only after checking that
//! it is a fresh loopback-only one. Nothing configured there can reach the host's network,
//! and the suite's shared namespace (`scripts/test`) stays untouched.
//!
//! ```ignore
//! #[test]
//! fn my_test() {
//!     if !netns::enter("my_test") { return; } // the parent: the child ran and passed
//!     netns::ip(&["link", "set", "lo", "multicast", "on"]);
//!     /* body */
//! }
//! ```

use std::process::Command;

use super::chromium::in_loopback_only_netns;

/// Environment variable naming the test a re-executed child runs.
pub const CHILD_ENV: &str = "RTCPEER_TEST_IN_OWN_NETNS";

/// `true` in the re-executed child (run the body; `lo` is up, nothing else exists yet).
/// In the parent: runs the child for `test` in a fresh namespace, panics with its output if
/// it failed, and returns `false`.
pub fn enter(test: &str) -> bool {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test) {
        assert!(
            in_loopback_only_netns(),
            "the child must start in a fresh loopback-only namespace"
        );
        ip(&["link", "set", "lo", "up"]);
        return true;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new("unshare")
        .args(["--net", "--"])
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .output()
        .expect("unshare runs (needs root)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} in its own namespace failed:\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "{test} did not run in the child:\n{text}"
    );
    false
}

/// Runs `ip <args>` in the child's namespace; only callable after [`enter`] returned true.
pub fn ip(args: &[&str]) {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "namespace changes only in the re-executed child"
    );
    let st = Command::new("ip").args(args).status().expect("ip runs");
    assert!(st.success(), "ip {args:?} failed");
}

/// Multicast on `lo` with the multicast range routed there (for mDNS on loopback).
pub fn multicast_on_lo() {
    assert!(
        in_loopback_only_netns(),
        "only in a loopback-only namespace"
    );
    ip(&["link", "set", "lo", "multicast", "on"]);
    ip(&["route", "add", "224.0.0.0/4", "dev", "lo"]);
}

/// A veth pair `veth0`/`veth1`, both ends in this namespace (so nothing can leave it),
/// `addr/24` (use TEST-NET-1, RFC 5737) on `veth0` and the default route through it: a
/// non-loopback interface for programs that ignore loopback ones (Chromium's network list
/// and mDNS responder) or gather only on the default route's interface.
pub fn veth_with_default_route(addr: &str) {
    assert!(
        in_loopback_only_netns(),
        "only in a fresh loopback-only namespace"
    );
    ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ip(&["addr", "add", &format!("{addr}/24"), "dev", "veth0"]);
    ip(&["link", "set", "veth0", "up"]);
    ip(&["link", "set", "veth1", "up"]);
    ip(&["route", "add", "default", "dev", "veth0"]);
}

/// Drops every UDP packet in the child's namespace, in and out, with nftables (Debian's
/// `nftables`, installed by scripts/test), and checks that a datagram on `lo` is really
/// lost: only TCP can connect there (ICE-TCP tests).
pub fn block_udp() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "namespace changes only in the re-executed child"
    );
    let rules = "table inet no_udp {\n\
                 chain out { type filter hook output priority 0; policy accept; meta l4proto udp drop; }\n\
                 chain in { type filter hook input priority 0; policy accept; meta l4proto udp drop; }\n\
                 }\n";
    let path = std::env::temp_dir().join(format!("rtcpeer-no-udp-{}.nft", std::process::id()));
    std::fs::write(&path, rules).expect("rules written");
    let st = Command::new("nft")
        .arg("-f")
        .arg(&path)
        .status()
        .expect("nft runs (Debian package nftables, installed by scripts/test)");
    let _ = std::fs::remove_file(&path);
    assert!(st.success(), "nft refused the rules");
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    rx.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("timeout");
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let _ = tx.send_to(b"x", rx.local_addr().expect("addr"));
    let mut buf = [0u8; 4];
    assert!(rx.recv_from(&mut buf).is_err(), "UDP still flows");
}

/// After [`veth_with_default_route`]: `addr/24` on `veth1` too, and packets with a local
/// source address accepted on both ends (`accept_local`, `rp_filter` off), so multicast
/// sent out of one end by one program reaches a program listening on the other end: two
/// hosts on one link, for programs that turn multicast loopback off (Chromium's mDNS
/// client does, so its queries reach nothing on its own interface).
pub fn second_address_on_veth1(addr: &str) {
    ip(&["addr", "add", &format!("{addr}/24"), "dev", "veth1"]);
    for dev in ["all", "default", "veth0", "veth1"] {
        for (key, value) in [("accept_local", "1"), ("rp_filter", "0")] {
            let path = format!("/proc/sys/net/ipv4/conf/{dev}/{key}");
            std::fs::write(&path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}
