//! Batched UDP I/O for the runtime: one socket layer shared by the per-connection driver
//! and the [`UdpMux`](super::mux::UdpMux).
//!
//! Sending: the datagrams a driver round produced are gathered in a [`TxBatch`] (one
//! contiguous buffer); runs of datagrams to the same destination with the same size (the
//! last one may be shorter) leave in one `sendmsg` with UDP GSO (Linux `UDP_SEGMENT`):
//! the kernel cuts them into the same datagrams that one `sendto` each would have sent.
//! Where GSO is missing (other platforms, or a device that refuses it at run time) each
//! datagram is sent on its own.
//!
//! Receiving: `recvmmsg` into a few large per-thread buffers, with UDP GRO enabled, so
//! one system call returns many datagrams (a GRO buffer holds several equal-sized
//! datagrams back to back, split here by the stride the kernel reports).
//!
//! The system calls are `quinn-udp`'s (DESIGN.md's dependency table); nothing on the wire
//! changes except that datagrams leave in bursts.

use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use quinn_udp::{RecvMeta, UdpSocketState};

use rtcpeer_proto::jsep::{Class, SessionTransmit};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Bytes of one receive buffer: a GRO batch is at most 64 KiB (one IP datagram's worth of
/// UDP payload), and a single datagram never exceeds it either.
const RECV_SLOT: usize = 64 * 1024;
/// Receive buffers handed to one `recvmmsg` (per thread, allocated on first use).
const RECV_SLOTS: usize = 8;
/// Most payload bytes in one GSO send (below the 65 507-byte UDP/IPv4 limit).
pub(crate) const MAX_GSO_BYTES: usize = 64_000;
/// Receive buffer size asked of the system per socket (`SO_RCVBUF`).
const RECV_BUFFER_BYTES: usize = 1024 * 1024;
/// Batch buffer kept by a connection between bursts (see [`TxBatch::clear`]).
const IDLE_BATCH_BYTES: usize = 64 * 1024;
/// Small rounds in a row after which a large batch buffer shrinks back.
const IDLE_ROUNDS: u32 = 64;
/// Most datagrams in one GSO send (Linux's `UDP_MAX_SEGMENTS`); a socket may allow fewer.
pub(crate) const MAX_GSO_SEGMENTS: usize = 64;

/// A UDP socket with batched send and receive.
#[derive(Debug)]
pub(crate) struct BatchSocket {
    io: UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
}

impl BatchSocket {
    /// Binds on `addr` (port 0: the system picks one) and enables GRO where available.
    pub(crate) async fn bind(addr: SocketAddr) -> io::Result<BatchSocket> {
        let io = UdpSocket::bind(addr).await?;
        let state = UdpSocketState::new((&io).into())?;
        // A larger receive buffer than the system default (~208 KiB): bursts of GSO runs
        // overflowed that on loopback while the task was busy (each lost GRO buffer is
        // dozens of datagrams); 1 MiB measured loss-free. The system caps it
        // (net.core.rmem_max); failure is harmless. It bounds queued bytes, it is not
        // allocated up front.
        if let Err(e) = state.set_recv_buffer_size((&io).into(), RECV_BUFFER_BYTES) {
            tracing::debug!("SO_RCVBUF not raised: {e}");
        }
        let local = io.local_addr()?;
        Ok(BatchSocket { io, state, local })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Datagrams one send may carry (1 without GSO).
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// Ready when a receive may find data.
    pub(crate) fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_recv_ready(cx)
    }

    /// Waits until a receive may find data.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Receives what is queued without waiting: calls `f(source, datagram)` for each
    /// datagram of one `recvmmsg` and returns how many there were (`WouldBlock` when none).
    pub(crate) fn try_recv(&self, mut f: impl FnMut(SocketAddr, &[u8])) -> io::Result<usize> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let RecvScratch { bufs, meta } = &mut *scratch;
            let mut slices: [IoSliceMut<'_>; RECV_SLOTS] =
                std::array::from_fn(|_| IoSliceMut::new(&mut []));
            for (slice, buf) in slices.iter_mut().zip(bufs.iter_mut()) {
                *slice = IoSliceMut::new(&mut buf[..]);
            }
            let n = self.io.try_io(Interest::READABLE, || {
                self.state
                    .recv((&self.io).into(), &mut slices, &mut meta[..])
            })?;
            let mut count = 0;
            for (m, buf) in meta.iter().zip(bufs.iter()).take(n) {
                let data = buf.get(..m.len).unwrap_or(&buf[..]);
                let stride = if m.stride == 0 { data.len() } else { m.stride };
                for d in data.chunks(stride.max(1)) {
                    f(m.addr, d);
                    count += 1;
                }
            }
            Ok(count)
        })
    }

    /// Sends one run of datagrams to `remote`: `contents` holds them back to back, each
    /// `segment` bytes except a shorter last one. Waits while the send buffer is full. A
    /// datagram the system refuses is skipped (the first error is returned after the rest
    /// went out), as separate `sendto` calls would have done.
    pub(crate) async fn send(
        &self,
        remote: SocketAddr,
        contents: &[u8],
        segment: usize,
    ) -> io::Result<()> {
        let segment = segment.clamp(1, contents.len().max(1));
        let mut rest = contents;
        let mut first_error = None;
        while !rest.is_empty() {
            let take = segment.saturating_mul(self.max_segments()).min(rest.len());
            let (part, tail) = rest.split_at(take);
            let gso = part.len() > segment;
            match self.send_one(remote, part, gso.then_some(segment)).await {
                Ok(()) => rest = tail,
                // GSO refused at run time: quinn-udp turned it off for this socket; the
                // same datagrams go again one by one.
                Err(_) if gso && self.max_segments() == 1 => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                    rest = tail;
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn send_one(
        &self,
        remote: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()> {
        let t = quinn_udp::Transmit {
            destination: remote,
            ecn: None,
            contents,
            segment_size,
            src_ip: None,
        };
        loop {
            match self.io.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.io).into(), &t)
            }) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.writable().await?,
                r => return r,
            }
        }
    }
}

/// One thread's receive buffers (used only inside a synchronous [`BatchSocket::try_recv`]).
struct RecvScratch {
    bufs: Vec<Box<[u8]>>,
    meta: Vec<RecvMeta>,
}

thread_local! {
    static SCRATCH: RefCell<RecvScratch> = RefCell::new(RecvScratch {
        bufs: (0..RECV_SLOTS).map(|_| vec![0u8; RECV_SLOT].into_boxed_slice()).collect(),
        meta: vec![RecvMeta::default(); RECV_SLOTS],
    });
}

/// One datagram in a [`TxBatch`].
#[derive(Debug, Clone, Copy)]
struct Segment {
    local: SocketAddr,
    remote: SocketAddr,
    class: Class,
    len: usize,
}

/// A run of datagrams that can leave in one send: same path and class, back to back in the
/// batch buffer, all `segment` bytes long except possibly the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The local socket.
    pub(crate) local: SocketAddr,
    /// The destination.
    pub(crate) remote: SocketAddr,
    /// What every datagram of the run is (RFC 7983 §7), as the core said.
    pub(crate) class: Class,
    /// Byte range in the batch buffer.
    pub(crate) start: usize,
    /// End of the byte range.
    pub(crate) end: usize,
    /// Size of every datagram but the last.
    pub(crate) segment: usize,
}

/// The datagrams of one driver round, in order, in one buffer.
#[derive(Debug, Default)]
pub(crate) struct TxBatch {
    buf: Vec<u8>,
    segments: Vec<Segment>,
    /// Consecutive rounds that used little of a large buffer.
    small_rounds: u32,
}

impl TxBatch {
    /// Appends a datagram (of class `Other`).
    #[cfg(test)]
    pub(crate) fn push(&mut self, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.segments.push(Segment {
            local,
            remote,
            class: Class::Other,
            len: data.len(),
        });
    }

    /// [`TxBatch::push_transmit`] for a writer that returns only the path (class `Other`).
    #[cfg(test)]
    pub(crate) fn push_with(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Option<(SocketAddr, SocketAddr)>,
    ) -> bool {
        self.push_transmit(|buf| {
            let start = buf.len();
            let (local, remote) = write(buf)?;
            Some(SessionTransmit {
                local,
                remote,
                class: Class::Other,
                len: buf.len() - start,
            })
        })
    }

    /// Appends a datagram that `write` appends to the buffer (returning its path and class,
    /// as `Core::poll_transmit_into` does), or returns false when `write` returns `None`
    /// (anything it wrote is discarded).
    pub(crate) fn push_transmit(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Option<SessionTransmit>,
    ) -> bool {
        let start = self.buf.len();
        let Some(t) = write(&mut self.buf) else {
            self.buf.truncate(start);
            return false;
        };
        if self.buf.len() > start {
            self.segments.push(Segment {
                local: t.local,
                remote: t.remote,
                class: t.class,
                len: self.buf.len() - start,
            });
        }
        true
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Empties the batch. Its memory stays for the next round unless this round used only a
    /// small part of it: after a burst (rounds of hundreds of KB), a quiet connection goes
    /// back to [`IDLE_BATCH_BYTES`] instead of keeping its peak.
    pub(crate) fn clear(&mut self) {
        let used = self.buf.len();
        self.buf.clear();
        self.segments.clear();
        if self.buf.capacity() <= IDLE_BATCH_BYTES {
            return;
        }
        // Many small rounds in a row: the burst is over (a single small round inside a
        // burst must not cost a reallocation).
        self.small_rounds = if used <= IDLE_BATCH_BYTES / 2 {
            self.small_rounds + 1
        } else {
            0
        };
        if self.small_rounds >= IDLE_ROUNDS {
            self.small_rounds = 0;
            self.buf.shrink_to(IDLE_BATCH_BYTES);
            self.segments.shrink_to(IDLE_BATCH_BYTES / 1024);
        }
    }

    /// The bytes of a run.
    pub(crate) fn bytes(&self, run: &Run) -> &[u8] {
        &self.buf[run.start..run.end]
    }

    /// Splits the batch into sendable runs, in order: consecutive datagrams with the same
    /// path and size (a shorter one ends a run), at most `max_segments` datagrams and
    /// [`MAX_GSO_BYTES`] per run.
    pub(crate) fn runs(&self, max_segments: usize) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        let mut open: Option<(Run, usize, bool)> = None; // run, datagrams, closed by a short one
        let mut at = 0;
        for s in &self.segments {
            let fits = open.as_ref().is_some_and(|(r, n, closed)| {
                !closed
                    && r.local == s.local
                    && r.remote == s.remote
                    && r.class == s.class
                    && s.len <= r.segment
                    && *n < max_segments
                    && r.end - r.start + s.len <= MAX_GSO_BYTES
            });
            if fits {
                if let Some((r, n, closed)) = open.as_mut() {
                    r.end += s.len;
                    *n += 1;
                    *closed = s.len < r.segment;
                }
            } else {
                if let Some((r, _, _)) = open.take() {
                    runs.push(r);
                }
                open = Some((
                    Run {
                        local: s.local,
                        remote: s.remote,
                        class: s.class,
                        start: at,
                        end: at + s.len,
                        segment: s.len,
                    },
                    1,
                    false,
                ));
            }
            at += s.len;
        }
        runs.extend(open.map(|(r, _, _)| r));
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn runs_group_equal_sizes_to_one_path_and_end_at_a_short_datagram() {
        let mut b = TxBatch::default();
        let (l, r, r2) = (addr(1), addr(2), addr(3));
        for len in [100, 100, 100, 40, 100, 100] {
            b.push(l, r, &vec![7u8; len]);
        }
        b.push(l, r2, &[1u8; 100]);
        b.push(l, r, &[2u8; 120]);
        b.push(l, r, &[3u8; 100]);
        let runs = b.runs(64);
        let shape: Vec<(usize, usize, usize, SocketAddr)> = runs
            .iter()
            .map(|x| (x.start, x.end, x.segment, x.remote))
            .collect();
        assert_eq!(
            shape,
            [
                (0, 340, 100, r),
                (340, 540, 100, r),
                (540, 640, 100, r2),
                // A smaller datagram may end a run of larger ones.
                (640, 860, 120, r),
            ]
        );
        // Every byte is in exactly one run, in order.
        let total: usize = runs.iter().map(|x| x.end - x.start).sum();
        assert_eq!(total, 860);
    }

    #[test]
    fn runs_respect_the_segment_and_byte_limits() {
        let mut b = TxBatch::default();
        for _ in 0..10 {
            b.push(addr(1), addr(2), &[0u8; 1200]);
        }
        let runs = b.runs(4);
        assert_eq!(
            runs.iter().map(|r| r.end - r.start).collect::<Vec<_>>(),
            [4800, 4800, 2400]
        );
        let mut b = TxBatch::default();
        for _ in 0..100 {
            b.push(addr(1), addr(2), &[0u8; 1200]);
        }
        let runs = b.runs(64);
        assert!(runs.iter().all(|r| r.end - r.start <= MAX_GSO_BYTES));
        assert_eq!(runs[0].end - runs[0].start, 53 * 1200);
        assert_eq!(runs.iter().map(|r| r.end - r.start).sum::<usize>(), 120_000);
        // Without GSO every datagram is its own run.
        assert_eq!(b.runs(1).len(), 100);
    }

    #[test]
    fn a_large_buffer_shrinks_back_only_once_the_burst_is_over() {
        let (l, r) = (
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        let mut b = TxBatch::default();
        for _ in 0..500 {
            b.push(l, r, &[0u8; 1200]);
        }
        b.clear();
        let peak = b.buf.capacity();
        assert!(peak >= 600_000);
        // A few small rounds inside a burst keep the buffer.
        for _ in 0..IDLE_ROUNDS - 1 {
            b.push(l, r, &[0u8; 1200]);
            b.clear();
        }
        assert_eq!(b.buf.capacity(), peak);
        b.push(l, r, &[0u8; 1200]);
        b.clear();
        assert!(b.buf.capacity() <= IDLE_BATCH_BYTES, "{}", b.buf.capacity());
    }

    #[test]
    fn push_with_keeps_only_what_was_written() {
        let mut b = TxBatch::default();
        assert!(!b.push_with(|buf| {
            buf.extend_from_slice(b"junk");
            None
        }));
        assert!(b.is_empty());
        assert!(b.push_with(|buf| {
            buf.extend_from_slice(b"abc");
            Some((addr(1), addr(2)))
        }));
        b.push(addr(1), addr(2), b"de");
        let runs = b.runs(8);
        assert_eq!(runs.len(), 1);
        assert_eq!(b.bytes(&runs[0]), b"abcde");
        assert_eq!(runs[0].segment, 3);
    }

    /// Over real loopback sockets: a GSO run arrives as the same datagrams, in order, and a
    /// receive returns several of them at once.
    #[tokio::test]
    async fn a_run_arrives_as_its_datagrams() {
        let a = BatchSocket::bind(addr(0)).await.expect("bind a");
        let b = BatchSocket::bind(addr(0)).await.expect("bind b");
        let mut batch = TxBatch::default();
        for i in 0..20u8 {
            let len = if i == 19 { 300 } else { 1000 };
            batch.push(a.local_addr(), b.local_addr(), &vec![i; len]);
        }
        for run in batch.runs(a.max_segments()) {
            a.send(run.remote, batch.bytes(&run), run.segment)
                .await
                .expect("send");
        }
        let mut got: Vec<Vec<u8>> = Vec::new();
        while got.len() < 20 {
            b.readable().await.expect("readable");
            match b.try_recv(|from, d| {
                assert_eq!(from, a.local_addr());
                got.push(d.to_vec());
            }) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("receive: {e}"),
            }
        }
        assert_eq!(got.len(), 20);
        for (i, d) in got.iter().enumerate() {
            let len = if i == 19 { 300 } else { 1000 };
            assert_eq!(d.len(), len);
            assert!(d.iter().all(|&x| x == i as u8));
        }
    }
}
