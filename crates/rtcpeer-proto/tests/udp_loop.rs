//! Runs the `udp_loop` example: two connections over real UDP sockets on 127.0.0.1, driven
//! by a plain `std::net::UdpSocket` loop, move a message over a data channel and back.
//! Loopback only; run it in a loopback namespace:
//! `unshare --net sh -c 'ip link set lo up && cargo test -p rtcpeer-proto --test udp_loop'`.

// `main` of the example is unused here.
#[allow(dead_code)]
#[path = "../examples/udp_loop.rs"]
mod udp_loop;

#[test]
fn two_connections_echo_a_message_over_real_udp_without_a_runtime() {
    let s = udp_loop::run().expect("the example runs to the end");
    for line in &s.log {
        println!("{line}");
    }
    assert!(s.offerer.ip().is_loopback() && s.answerer.ip().is_loopback());
    assert!(s.offerer_connected.is_some(), "offerer never connected");
    assert!(s.answerer_connected.is_some(), "answerer never connected");
    assert_eq!(s.received.as_deref(), Some(udp_loop::MESSAGE));
    assert_eq!(s.echoed.as_deref(), Some(udp_loop::MESSAGE));
    assert!(s.round_trip.is_some());
    assert_eq!(s.channel_closed, (true, true));
    assert!(s.done_after_close);
    // Real datagrams went both ways.
    let ((a_sent, a_recv), (b_sent, b_recv)) = s.datagrams;
    assert!(
        a_sent > 0 && a_recv > 0 && b_sent > 0 && b_recv > 0,
        "{:?}",
        s.datagrams
    );
}
