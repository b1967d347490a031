//! The STUN parse path does not touch the Rust heap: a counting global allocator (this test
//! binary only) watches `Message::parse`, every getter and FINGERPRINT verification, and the
//! writer filling a pre-sized buffer. HMAC runs inside aws-lc (C), which this allocator cannot
//! see; it is exercised too, so any Rust-side allocation in the integrity path would show.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method, TransactionId};

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every operation to `System`; only bumps a thread-local counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    COUNT.with(Cell::get)
}

#[test]
fn parse_getters_and_writer_do_not_allocate() {
    let key = b"VOkJxbRl1RmTxUk/WvJxBt";
    let peer: SocketAddr = "[2001:db8::1]:3478".parse().expect("addr");
    let mut buf = Vec::with_capacity(1500);

    let before = allocations();
    let mut sink = 0u64;
    for i in 0..1000u32 {
        MessageWriter::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId([i as u8; 12]),
        )
        .username("remote:local")
        .and_then(|w| w.priority(i))
        .and_then(|w| w.ice_controlling(0x1234))
        .and_then(|w| w.use_candidate())
        .and_then(|w| w.xor_mapped_address(peer))
        .and_then(|w| w.error_code(487, "Role Conflict"))
        .and_then(|w| w.unknown_attributes([1u16, 2, 3]))
        .and_then(|w| w.message_integrity(key))
        .and_then(|w| w.fingerprint())
        .expect("write");

        let m = Message::parse(&buf).expect("parse");
        sink += u64::from(m.method().value());
        sink += m.attributes().count() as u64;
        sink += m.unknown_comprehension_required().count() as u64;
        sink += u64::from(m.priority().ok().flatten().unwrap_or(0));
        sink += m.ice_controlling().ok().flatten().unwrap_or(0);
        sink += u64::from(m.use_candidate().unwrap_or(false));
        sink += m.username().ok().flatten().map_or(0, |u| u.len() as u64);
        sink += m
            .xor_mapped_address()
            .ok()
            .flatten()
            .map_or(0, |a| u64::from(a.port()));
        sink += m
            .error_code()
            .ok()
            .flatten()
            .map_or(0, |e| u64::from(e.code));
        sink += m
            .unknown_attributes()
            .ok()
            .flatten()
            .map_or(0, |u| u.iter().map(u64::from).sum());
        sink += u64::from(m.verify_fingerprint());
        sink += u64::from(m.verify_integrity(key));
    }
    let after = allocations();
    assert!(sink > 0);
    assert_eq!(after - before, 0, "heap allocations on the STUN hot path");
}
