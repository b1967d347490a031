//! Any text as a remote offer: setRemoteDescription either fails cleanly or the connection
//! can answer it and make a follow-up offer; nothing panics.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use rtcpeer::{Configuration, PeerConnection, SessionDescription, Settings};

/// Chained operations complete at their first poll.
fn now<T>(f: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("operations are ready at the first poll"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let settings = Settings { seed: Some(1), ..Default::default() };
    let pc = PeerConnection::with_settings(Configuration::default(), settings).unwrap();
    if now(pc.set_remote_description(SessionDescription::offer(text))).is_ok() {
        now(pc.set_local_description(None)).expect("a remote offer that was accepted can be answered");
        now(pc.set_local_description(None)).expect("and followed by our own offer");
    }
});
