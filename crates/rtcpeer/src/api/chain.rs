//! The operations chain (webrtc-pc §4.4.1.2): createOffer, createAnswer, SLD, SRD,
//! addIceCandidate and replaceTrack run one at a time, in the order they were called.
//!
//! An operation is enqueued when its method is called (as in JavaScript); it runs when its
//! [`Operation`] future is first polled or dropped, after every operation enqueued before it.
//! The core's work is synchronous, so an operation is complete at its first poll, and futures
//! may be awaited in any order without deadlock. The one exception is an operation that needs
//! the identity provider (webrtc-identity): it first awaits that asynchronous step (its gate),
//! then runs like the others.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rtcpeer_proto::Result;
use rtcpeer_proto::jsep::Core;

use super::Inner;

type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// Queue of operations not yet run.
#[derive(Default)]
pub(crate) struct Chain {
    queue: VecDeque<(u64, Job)>,
    next_ticket: u64,
}

impl Chain {
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// The pending result of a chained operation (a W3C Promise). The operation was enqueued
/// when the method was called; dropping this future does not cancel it.
#[must_use = "the operation's result is only reported through this future"]
pub struct Operation<T> {
    inner: Option<Arc<Inner>>,
    ticket: u64,
    slot: Arc<Mutex<Option<Result<T>>>>,
    /// Asynchronous work awaited before the chain runs through this operation (the identity
    /// provider's, `identity.rs`); its job reads what the gate left.
    gate: Option<Mutex<Gate>>,
}

/// A future an [`Operation`] awaits before its job runs.
pub(crate) type Gate = Pin<Box<dyn Future<Output = ()> + Send>>;

impl<T> std::fmt::Debug for Operation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("ticket", &self.ticket)
            .finish()
    }
}

impl Inner {
    /// Enqueues `op` on the chain and returns the future of its result.
    pub(crate) fn enqueue<T: Send + 'static>(
        self: &Arc<Self>,
        op: impl FnOnce(&mut Core) -> Result<T> + Send + 'static,
    ) -> Operation<T> {
        let slot: Arc<Mutex<Option<Result<T>>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = chain.next_ticket;
        chain.next_ticket += 1;
        chain.queue.push_back((
            ticket,
            Box::new(move |core: &mut Core| {
                let r = op(core);
                *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }),
        ));
        Operation {
            inner: Some(self.clone()),
            ticket,
            slot,
            gate: None,
        }
    }

    /// Like [`Inner::enqueue`], with `gate` awaited (when this operation's future is polled)
    /// before the chain runs through `op`. `op` must cope with an unfinished gate: that
    /// happens when a later operation's future (or this one's drop) runs the chain first.
    pub(crate) fn enqueue_gated<T: Send + 'static>(
        self: &Arc<Self>,
        gate: Gate,
        op: impl FnOnce(&mut Core) -> Result<T> + Send + 'static,
    ) -> Operation<T> {
        let mut o = self.enqueue(op);
        o.gate = Some(Mutex::new(gate));
        o
    }

    /// Runs every queued operation up to and including `ticket`, then delivers events.
    pub(crate) fn run_through(self: &Arc<Self>, ticket: u64) {
        {
            let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
            while chain.queue.front().is_some_and(|(t, _)| *t <= ticket) {
                let (_, job) = chain.queue.pop_front().expect("front exists");
                let mut core = self.core.lock().unwrap_or_else(|e| e.into_inner());
                job(&mut core);
            }
            if chain.is_empty() {
                self.core
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .on_chain_empty();
            }
        }
        self.dispatch();
        self.wake_driver();
    }
}

impl<T> Future for Operation<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        if let Some(gate) = &self.gate {
            let mut g = gate.lock().unwrap_or_else(|e| e.into_inner());
            if g.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            drop(g);
            self.gate = None;
        }
        if let Some(inner) = self.inner.take() {
            inner.run_through(self.ticket);
        }
        let r = self
            .slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("an operation is complete once the chain ran through it, and is polled to completion once");
        Poll::Ready(r)
    }
}

impl<T> Unpin for Operation<T> {}

impl<T> Drop for Operation<T> {
    fn drop(&mut self) {
        // Like a JavaScript promise nobody awaits, the operation still runs.
        if let Some(inner) = self.inner.take() {
            inner.run_through(self.ticket);
        }
    }
}
