//! Resource meters for the adversarial tests: CPU time spent by a thread or the process, and
//! bytes live on the heap, so a test can bound what an attack costs the victim.
//!
//! Heap figures need the counting allocator installed in the test binary:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: common::budget::CountingAllocator = common::budget::CountingAllocator;
//! ```
//!
//! Without it [`live_bytes`] and [`peak_bytes`] stay 0 (and [`counting`] says so).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use std::cell::Cell;

static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Bytes this thread allocated minus bytes it freed (memory freed by another thread than
    /// the one that allocated it stays counted on the allocating thread).
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `THREAD_LIVE` since the last [`reset_thread_peak`].
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
}
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting the bytes it has handed out and not yet taken back.
pub struct CountingAllocator;

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
    // `try_with`: the thread's locals may already be gone while it exits.
    let _ = THREAD_LIVE.try_with(|l| {
        let v = l.get() + by as isize;
        l.set(v);
        let _ = THREAD_PEAK.try_with(|p| p.set(p.get().max(v)));
    });
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|l| l.set(l.get() - by as isize));
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, checked by `System`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// Whether the counting allocator is installed in this binary (it has counted something).
pub fn counting() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Bytes currently allocated on the heap by the whole process.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes live at once since the last [`reset_peak`] (or the start).
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from what is live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Heap bytes the calling thread allocated and nobody freed yet (see `THREAD_LIVE`): what a
/// victim running on its own thread holds, unaffected by other threads of the test binary.
pub fn thread_live_bytes() -> isize {
    THREAD_LIVE.with(|l| l.get())
}

/// The highest [`thread_live_bytes`] of the calling thread since [`reset_thread_peak`].
pub fn thread_peak_bytes() -> isize {
    THREAD_PEAK.with(|p| p.get())
}

/// Starts a new peak measurement for the calling thread from what it holds now.
pub fn reset_thread_peak() {
    let now = thread_live_bytes();
    THREAD_PEAK.with(|p| p.set(now));
}

/// Linux's USER_HZ: the unit of the CPU times in `/proc/*/stat` (100 on every Linux ABI).
const TICKS_PER_SECOND: u64 = 100;

/// utime + stime of a `/proc/.../stat` file (fields 14 and 15, counted after the `)` that ends
/// the command name, which may itself hold spaces).
fn cpu_of_stat(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime field 15.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// CPU time (user + system) the calling thread has used so far, at 10 ms resolution.
pub fn thread_cpu_time() -> Duration {
    cpu_of_stat("/proc/thread-self/stat")
}

/// CPU time (user + system) the whole process has used so far, at 10 ms resolution.
pub fn process_cpu_time() -> Duration {
    cpu_of_stat("/proc/self/stat")
}
