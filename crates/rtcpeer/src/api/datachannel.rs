//! `RTCDataChannel` (webrtc-pc §6.2): the handle, and delivery of its events.
//!
//! Every channel has one bounded event queue (256 events, 4 MiB of messages), created with
//! the channel (so nothing is lost between a `datachannel` event and the application
//! subscribing). Events reach it through `Inner::deliver` (see below). While someone reads the channel
//! (a [`DataChannelEvents`] stream or `on_*` handlers exist), a full queue makes the driver
//! wait: a slow reader slows the connection down (SCTP's flow and congestion control then
//! slow the sender) instead of losing messages. While nobody reads, events beyond the
//! queue's capacity are dropped and logged, as a browser drops events that have no
//! listener, and all unread channels of a connection hold at most 16 MiB together, so a
//! peer cannot make us buffer without bound.
//!
//! Events reach the queues through one path (`Inner::deliver`, from API threads and the
//! driver alike): offered in order; when a read queue is full, that event and every later
//! channel event wait in the connection's pending FIFO (bounded by [`MAX_PENDING`]), which
//! only the driver drains, waiting for room; so per-channel order holds and only the
//! driver ever waits.
//!
//! An event counts as delivered when a reader takes it. As in a browser, where `open` is a
//! task that aborts once the channel is closing, `dc.close()` before `open` was taken means
//! `open` is never delivered (WPT-258); after `pc.close()` nothing more is delivered, not
//! even events already queued.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::mpsc;

use rtcpeer_proto::Payload;
use rtcpeer_proto::jsep::{
    BinaryType, DataChannelEvent, DataChannelId, DataChannelInfo, DataChannelState, Priority,
};
use rtcpeer_proto::{Error, Result};

use super::Inner;
use super::objects::handle_basics;

/// Events a channel's queue holds.
const CHANNEL_QUEUE: usize = 256;

/// Message bytes a channel's queue holds (one message of any size always fits an empty
/// queue): a slow reader slows the connection down beyond this.
const CHANNEL_BYTES: usize = 4 * 1024 * 1024;

/// Message bytes all the connection's queues may hold for channels nobody reads; beyond
/// it such messages are dropped, so a peer cannot make us buffer without bound by sending
/// on channels the application ignores.
const UNREAD_BYTES: usize = 16 * 1024 * 1024;

/// Channel events waiting in the pending FIFO behind a full read queue: the driver stops
/// reading the network while it waits, so only what one round and API calls produce in the
/// meantime lands here; beyond it events are dropped (logged).
pub(crate) const MAX_PENDING: usize = 65536;

/// The payload size an event occupies in a queue.
fn queued_len(e: &DataChannelEvent) -> usize {
    match e {
        DataChannelEvent::Message(Payload::Text(t)) => t.len(),
        DataChannelEvent::Message(Payload::Binary(b)) => b.len(),
        _ => 0,
    }
}

/// The event queue of one channel.
pub(crate) struct ChannelQueue {
    tx: Mutex<Option<mpsc::Sender<DataChannelEvent>>>,
    rx: tokio::sync::Mutex<mpsc::Receiver<DataChannelEvent>>,
    /// Live readers: [`DataChannelEvents`] streams and the handler task.
    readers: AtomicUsize,
    /// `dc.close()` was called: an `open` not yet taken is never delivered (webrtc-pc §6.2
    /// "announce the data channel as open" aborts on a closing channel, WPT-258).
    open_cancelled: AtomicBool,
    /// `pc.close()` was called: nothing more is delivered, not even what is queued
    /// (webrtc-pc §4.4.1.9: no event fires after close).
    discarded: AtomicBool,
    /// Message bytes in this queue.
    bytes: AtomicUsize,
    /// Message bytes in all the connection's queues.
    all_bytes: Arc<AtomicUsize>,
    /// A reader took an event: a waiting driver may deliver again.
    consumed: tokio::sync::Notify,
    handlers: Mutex<Handlers>,
}

#[derive(Default)]
struct Handlers {
    task: Option<tokio::task::JoinHandle<()>>,
    on_open: Option<Arc<dyn Fn() + Send + Sync>>,
    on_message: Option<Arc<dyn Fn(Payload) + Send + Sync>>,
    on_buffered_amount_low: Option<Arc<dyn Fn() + Send + Sync>>,
    on_error: Option<Arc<dyn Fn(Error) + Send + Sync>>,
    on_closing: Option<Arc<dyn Fn() + Send + Sync>>,
    on_close: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Drop for ChannelQueue {
    /// A forgotten channel's unread messages leave the connection-wide budget with it.
    fn drop(&mut self) {
        let left = *self.bytes.get_mut();
        if left > 0 {
            self.all_bytes.fetch_sub(left, Ordering::AcqRel);
        }
    }
}

impl ChannelQueue {
    fn new(ended: bool, all_bytes: Arc<AtomicUsize>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
        Arc::new(ChannelQueue {
            tx: Mutex::new((!ended).then_some(tx)),
            rx: tokio::sync::Mutex::new(rx),
            readers: AtomicUsize::new(0),
            open_cancelled: AtomicBool::new(false),
            discarded: AtomicBool::new(false),
            bytes: AtomicUsize::new(0),
            all_bytes,
            consumed: tokio::sync::Notify::new(),
            handlers: Mutex::new(Handlers::default()),
        })
    }

    fn is_read(&self) -> bool {
        self.readers.load(Ordering::Acquire) > 0
    }

    /// Queues `e` if it fits (event count and [`CHANNEL_BYTES`]); gives it back when the
    /// queue is full. Messages for a channel nobody reads are dropped beyond
    /// [`UNREAD_BYTES`] connection-wide.
    fn offer(&self, e: DataChannelEvent) -> std::result::Result<(), DataChannelEvent> {
        let Some(tx) = self.sender() else {
            return Ok(());
        };
        let len = queued_len(&e);
        let held = self.bytes.load(Ordering::Acquire);
        if len > 0 && held > 0 && held + len > CHANNEL_BYTES {
            return Err(e);
        }
        if len > 0 && !self.is_read() && self.all_bytes.load(Ordering::Acquire) + len > UNREAD_BYTES
        {
            tracing::warn!("data channel message dropped: nobody reads the channel");
            return Ok(());
        }
        match tx.try_send(e) {
            Ok(()) => {
                self.bytes.fetch_add(len, Ordering::AcqRel);
                self.all_bytes.fetch_add(len, Ordering::AcqRel);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(e)) => Err(e),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
        }
    }

    /// A reader took `e` out of the queue.
    fn taken(&self, e: &DataChannelEvent) {
        let len = queued_len(e);
        if len > 0 {
            self.bytes.fetch_sub(len, Ordering::AcqRel);
            self.all_bytes.fetch_sub(len, Ordering::AcqRel);
        }
        self.consumed.notify_one();
    }

    /// Waits until `e` fits, a reader took something, or the task must stop; `false` when
    /// the driver must stop. Drops `e` if nobody reads any more.
    pub(crate) async fn wait_to_deliver(
        &self,
        mut e: DataChannelEvent,
        stop: impl Fn() -> bool,
        wake: &tokio::sync::Notify,
    ) -> bool {
        let last = e == DataChannelEvent::Close;
        loop {
            // Created before the attempt, so a take in between is not missed.
            let consumed = self.consumed.notified();
            match self.offer(e) {
                Ok(()) => {
                    if last {
                        self.end();
                    }
                    return true;
                }
                Err(back) => e = back,
            }
            if !self.is_read() {
                tracing::warn!("data channel event dropped: its reader went away");
                return true;
            }
            tokio::select! {
                _ = consumed => {}
                _ = wake.notified() => {
                    if stop() {
                        return false;
                    }
                }
            }
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<DataChannelEvent>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Ends the queue: readers get what is queued, then `None`.
    fn end(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Whether a queued event must not be delivered any more (see the flags).
    fn withheld(&self, e: &DataChannelEvent) -> bool {
        *e == DataChannelEvent::Open && self.open_cancelled.load(Ordering::Acquire)
    }
}

/// What waits behind a full read queue, in delivery order.
enum Pending {
    Event(DataChannelId, DataChannelEvent),
    /// The core forgot the channel: its queue goes, after its events.
    Forget(DataChannelId),
}

/// The pending FIFO (see the module documentation).
#[derive(Default)]
struct PendingFifo {
    items: std::collections::VecDeque<Pending>,
    /// The driver took an item out and is delivering it: later events queue behind.
    busy: bool,
}

/// The channels' queues of one connection.
#[derive(Default)]
pub(crate) struct ChannelQueues {
    map: Mutex<HashMap<DataChannelId, Arc<ChannelQueue>>>,
    /// Channel events (and forgets) waiting behind a full read queue, for the driver.
    pending: Mutex<PendingFifo>,
    /// Message bytes in all the queues (bounded for unread channels by [`UNREAD_BYTES`]).
    all_bytes: Arc<AtomicUsize>,
}

impl ChannelQueues {
    fn get(&self, key: DataChannelId, closed: bool) -> Arc<ChannelQueue> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| ChannelQueue::new(closed, self.all_bytes.clone()))
            .clone()
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, PendingFifo> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `pc.close()`: every stream ends, no further event fires (queued ones are dropped).
    pub(crate) fn close_all(&self) {
        self.pending().items.clear();
        let map = std::mem::take(&mut *self.map.lock().unwrap_or_else(|e| e.into_inner()));
        for q in map.values() {
            q.discarded.store(true, Ordering::Release);
            q.end();
            if let Some(t) = q
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .task
                .take()
            {
                t.abort();
            }
        }
    }
}

/// What the driver does with one channel event (see the module documentation).
pub(crate) enum Delivery {
    /// Delivered, or dropped because nobody reads.
    Done,
    /// Somebody reads and the queue is full: wait until it has room
    /// ([`ChannelQueue::wait_to_deliver`]).
    Wait(Arc<ChannelQueue>, DataChannelEvent),
}

impl Inner {
    /// Offers one channel event (from [`Inner::deliver`]): to its queue when nothing waits
    /// before it, else behind what waits; what a full read queue cannot take waits for the
    /// driver ([`Inner::drain_pending`]).
    pub(crate) fn offer_channel_event(&self, key: DataChannelId, e: DataChannelEvent) {
        let mut p = self.channel_queues.pending();
        if p.items.is_empty() && !p.busy {
            // Held while delivering: the driver cannot start on the FIFO in between.
            match self.deliver_channel_event(key, e) {
                Delivery::Done => return,
                Delivery::Wait(_, e) => p.items.push_back(Pending::Event(key, e)),
            }
        } else if p.items.len() < MAX_PENDING {
            p.items.push_back(Pending::Event(key, e));
        } else {
            tracing::warn!("data channel event dropped: {MAX_PENDING} events wait for readers");
            return;
        }
        drop(p);
        self.driver.wake();
    }

    /// The core forgot the channel (closed, no handle left): its queue goes, after every
    /// event before this was offered.
    pub(crate) fn forget_channel_queue(&self, key: DataChannelId) {
        let mut p = self.channel_queues.pending();
        if p.items.is_empty() && !p.busy {
            self.channel_queues
                .map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        } else {
            // Not bounded by MAX_PENDING: at most one per channel, and it must not be lost.
            p.items.push_back(Pending::Forget(key));
        }
    }

    /// The next item of the pending FIFO, marking the driver busy with it; `None` (and not
    /// busy any more) when it is empty.
    fn next_pending(&self) -> Option<Pending> {
        let mut p = self.channel_queues.pending();
        let next = p.items.pop_front();
        p.busy = next.is_some();
        next
    }

    /// Hands one channel event to its queue without waiting.
    pub(crate) fn deliver_channel_event(
        &self,
        key: DataChannelId,
        event: DataChannelEvent,
    ) -> Delivery {
        let q = self.channel_queues.get(key, false);
        let last = event == DataChannelEvent::Close;
        let delivery = match q.offer(event) {
            Ok(()) => Delivery::Done,
            Err(e) if q.is_read() => Delivery::Wait(q.clone(), e),
            Err(_) => {
                tracing::warn!("data channel event dropped: nobody reads the channel");
                Delivery::Done
            }
        };
        if last && matches!(delivery, Delivery::Done) {
            // `close` is the channel's last event: its stream ends after it (when it has to
            // wait, `wait_to_deliver` ends the queue once it is in). A reader takes
            // the rest from its own handle of the queue; without one the queue stays, so
            // that subscribing later still gives every event, `close` last.
            q.end();
            if q.readers.load(Ordering::Acquire) > 0 {
                self.channel_queues
                    .map
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&key);
            }
        }
        delivery
    }
}

/// The driver's side of the pending FIFO: delivers what waits, in order, waiting while a read
/// queue is full (holding no reference to the connection). Returns whether it waited, or
/// `None` when the connection went away or `stop()` says the driver must stop.
pub(crate) async fn drain_pending(
    weak: &Weak<Inner>,
    stop: impl Fn() -> bool,
    wake: &tokio::sync::Notify,
) -> Option<bool> {
    let mut waited = false;
    loop {
        let wait = {
            let inner = weak.upgrade()?;
            match inner.next_pending() {
                None => return Some(waited),
                Some(Pending::Forget(key)) => {
                    inner
                        .channel_queues
                        .map
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&key);
                    continue;
                }
                Some(Pending::Event(key, e)) => match inner.deliver_channel_event(key, e) {
                    Delivery::Done => continue,
                    Delivery::Wait(q, e) => (q, e),
                },
            }
        };
        waited = true;
        let (queue, e) = wait;
        if !queue.wait_to_deliver(e, &stop, wake).await {
            return None;
        }
    }
}

/// A stream of one data channel's events (`open`, `message`, `bufferedamountlow`, `error`,
/// `closing`, `close`); ends after `close`, or when the connection is closed. All streams
/// and handlers of a channel draw from one queue: each event is delivered once.
pub struct DataChannelEvents {
    queue: Arc<ChannelQueue>,
}

impl std::fmt::Debug for DataChannelEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannelEvents").finish_non_exhaustive()
    }
}

impl DataChannelEvents {
    fn new(queue: Arc<ChannelQueue>) -> Self {
        queue.readers.fetch_add(1, Ordering::AcqRel);
        DataChannelEvents { queue }
    }

    /// The next event; `None` once the channel is closed and its events were read, or
    /// at once after `pc.close()`.
    pub async fn recv(&mut self) -> Option<DataChannelEvent> {
        let mut rx = self.queue.rx.lock().await;
        loop {
            if self.queue.discarded.load(Ordering::Acquire) {
                return None;
            }
            let e = rx.recv().await?;
            self.queue.taken(&e);
            if !self.queue.withheld(&e) {
                return Some(e);
            }
        }
    }

    /// The next event if one is already queued.
    pub fn try_recv(&mut self) -> Option<DataChannelEvent> {
        let mut rx = self.queue.rx.try_lock().ok()?;
        loop {
            if self.queue.discarded.load(Ordering::Acquire) {
                return None;
            }
            let e = rx.try_recv().ok()?;
            self.queue.taken(&e);
            if !self.queue.withheld(&e) {
                return Some(e);
            }
        }
    }
}

impl Drop for DataChannelEvents {
    fn drop(&mut self) {
        self.queue.readers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `RTCDataChannel` (webrtc-pc §6.2). Cheap to clone: clones are the same channel.
#[derive(Clone)]
pub struct DataChannel {
    pc: Arc<Inner>,
    key: DataChannelId,
    /// Shared by every handle of the channel: when the last one goes, the connection may
    /// forget the channel once it is closed.
    _live: Arc<Liveness>,
}
handle_basics!(DataChannel, key);

/// One per channel with handles; its drop tells the driver that no handle is left.
pub(crate) struct Liveness {
    pc: Weak<Inner>,
    key: DataChannelId,
}

impl Drop for Liveness {
    fn drop(&mut self) {
        let Some(pc) = self.pc.upgrade() else {
            return;
        };
        // Not the core lock (a handle may be dropped while it is held): the driver applies it.
        pc.channel_liveness
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(self.key);
        // Only a running task has anything to forget; waking it takes no lock.
        pc.driver.wake();
    }
}

/// The channels' liveness tokens, and the channels whose last handle went.
#[derive(Default)]
pub(crate) struct ChannelLiveness {
    live: HashMap<DataChannelId, Weak<Liveness>>,
    released: Vec<DataChannelId>,
}

impl ChannelLiveness {
    fn release(&mut self, key: DataChannelId) {
        if self.live.get(&key).is_some_and(|w| w.strong_count() == 0) {
            self.live.remove(&key);
            self.released.push(key);
        }
    }

    /// The channels released since the last call.
    pub(crate) fn take_released(&mut self) -> Vec<DataChannelId> {
        std::mem::take(&mut self.released)
    }
}

impl DataChannel {
    pub(crate) fn new(pc: Arc<Inner>, key: DataChannelId) -> Self {
        let live = {
            let mut l = pc
                .channel_liveness
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match l.live.get(&key).and_then(Weak::upgrade) {
                Some(live) => live,
                None => {
                    // A release of an earlier token not applied yet no longer holds.
                    l.released.retain(|k| *k != key);
                    let live = Arc::new(Liveness {
                        pc: Arc::downgrade(&pc),
                        key,
                    });
                    l.live.insert(key, Arc::downgrade(&live));
                    live
                }
            }
        };
        DataChannel {
            pc,
            key,
            _live: live,
        }
    }

    fn read<T>(&self, f: impl FnOnce(&DataChannelInfo<'_>) -> T) -> T {
        let core = self.pc.core();
        match core.data_channel_info(self.key) {
            Some(d) => f(&d),
            None => f(&DataChannelInfo::forgotten()),
        }
    }

    /// `label`.
    pub fn label(&self) -> String {
        self.read(|d| d.label().to_string())
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.read(|d| d.ordered())
    }

    /// `maxPacketLifeTime` in milliseconds.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.read(|d| d.max_packet_life_time())
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        self.read(|d| d.max_retransmits())
    }

    /// `protocol`.
    pub fn protocol(&self) -> String {
        self.read(|d| d.protocol().to_string())
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.read(|d| d.negotiated())
    }

    /// `id`: the SCTP stream id, once known (after the DTLS role is negotiated).
    pub fn id(&self) -> Option<u16> {
        self.read(|d| d.id())
    }

    /// `priority`.
    pub fn priority(&self) -> Priority {
        self.read(|d| d.priority())
    }

    /// `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        self.read(|d| d.ready_state())
    }

    /// `binaryType` (kept and reflected; messages are always delivered as bytes).
    pub fn binary_type(&self) -> BinaryType {
        self.read(|d| d.binary_type())
    }

    /// Sets `binaryType`.
    pub fn set_binary_type(&self, t: BinaryType) {
        self.pc.core().set_data_channel_binary_type(self.key, t)
    }

    /// `bufferedAmount`: bytes given to `send` and not yet handed to the network.
    pub fn buffered_amount(&self) -> u64 {
        self.pc.core().data_channel_buffered_amount(self.key)
    }

    /// `bufferedAmountLowThreshold` (default 0).
    pub fn buffered_amount_low_threshold(&self) -> u64 {
        self.read(|d| d.buffered_amount_low_threshold())
    }

    /// Sets `bufferedAmountLowThreshold`: `bufferedamountlow` fires when `bufferedAmount`
    /// falls to it after a send.
    pub fn set_buffered_amount_low_threshold(&self, bytes: u64) {
        self.pc
            .core()
            .set_data_channel_low_threshold(self.key, bytes)
    }

    fn send_payload(&self, payload: Payload) -> Result<()> {
        self.pc
            .core()
            .data_channel_send(self.key, payload, Instant::now())?;
        self.pc.wake_driver();
        Ok(())
    }

    /// `send(ArrayBuffer)` (webrtc-pc §6.2): a binary message. `InvalidStateError` unless
    /// "open", `TypeError` above `sctp.maxMessageSize`, `OperationError` when the send
    /// buffer is full (wait for `bufferedamountlow`).
    pub fn send(&self, data: &[u8]) -> Result<()> {
        self.send_payload(Payload::Binary(data.to_vec()))
    }

    /// Like [`DataChannel::send`], taking ownership of the bytes (no copy).
    pub fn send_owned(&self, data: Vec<u8>) -> Result<()> {
        self.send_payload(Payload::Binary(data))
    }

    /// `send(string)`: a text message (UTF-8 on the wire, RFC 8831 §6.6).
    pub fn send_text(&self, text: &str) -> Result<()> {
        self.send_payload(Payload::Text(text.to_string()))
    }

    /// `close()` (webrtc-pc §6.2): "closing" now; `close` fires once both directions of
    /// the stream are reset (RFC 8831 §6.7), after queued data was delivered. An `open`
    /// not yet taken from the channel's events is never delivered (WPT-258).
    pub fn close(&self) {
        {
            let mut core = self.pc.core();
            let closed = core
                .data_channel_info(self.key)
                .is_none_or(|d| d.ready_state() == DataChannelState::Closed);
            if closed {
                return;
            }
            core.close_data_channel(self.key, Instant::now());
            // Under the core lock: the channel's `close` event, which removes its queue,
            // cannot have been delivered yet, so this queue is the one it will reach.
            self.pc
                .channel_queues
                .get(self.key, false)
                .open_cancelled
                .store(true, Ordering::Release);
        }
        self.pc.wake_driver();
    }

    fn queue(&self) -> Arc<ChannelQueue> {
        let closed = self.ready_state() == DataChannelState::Closed;
        self.pc.channel_queues.get(self.key, closed)
    }

    /// The channel's events, from the first one not yet taken (events are kept from the
    /// channel's creation until read, so none is missed by subscribing late).
    pub fn events(&self) -> DataChannelEvents {
        DataChannelEvents::new(self.queue())
    }

    fn set_handler(&self, f: impl FnOnce(&mut Handlers)) {
        let q = self.queue();
        let mut h = q.handlers.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut h);
        if h.task.is_none() {
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                tracing::warn!("no Tokio runtime: data channel handlers cannot run");
                return;
            };
            let mut events = DataChannelEvents::new(q.clone());
            h.task = Some(rt.spawn(async move {
                while let Some(e) = events.recv().await {
                    // Handlers run without the lock held (they may set handlers themselves).
                    let h = {
                        let h = events.queue.handlers.lock();
                        let h = h.unwrap_or_else(|e| e.into_inner());
                        (
                            h.on_open.clone(),
                            h.on_message.clone(),
                            h.on_buffered_amount_low.clone(),
                            h.on_error.clone(),
                            h.on_closing.clone(),
                            h.on_close.clone(),
                        )
                    };
                    let (open, message, low, error, closing, close) = h;
                    match e {
                        DataChannelEvent::Open => call0(open),
                        DataChannelEvent::Message(m) => {
                            if let Some(f) = message {
                                f(m);
                            }
                        }
                        DataChannelEvent::BufferedAmountLow => call0(low),
                        DataChannelEvent::Error(err) => {
                            if let Some(f) = error {
                                f(err);
                            }
                        }
                        DataChannelEvent::Closing => call0(closing),
                        DataChannelEvent::Close => call0(close),
                    }
                }
            }));
        }
    }

    /// `onopen`: runs `f` on a Tokio task when the channel opens. The `on_*` handlers share
    /// one task and take events from the same queue as [`DataChannel::events`]: use one or
    /// the other.
    pub fn on_open(&self, f: impl Fn() + Send + Sync + 'static) {
        self.set_handler(|h| h.on_open = Some(Arc::new(f)));
    }

    /// `onmessage`: runs `f` for each message.
    pub fn on_message(&self, f: impl Fn(Payload) + Send + Sync + 'static) {
        self.set_handler(|h| h.on_message = Some(Arc::new(f)));
    }

    /// `onbufferedamountlow`.
    pub fn on_buffered_amount_low(&self, f: impl Fn() + Send + Sync + 'static) {
        self.set_handler(|h| h.on_buffered_amount_low = Some(Arc::new(f)));
    }

    /// `onerror`, with the `RTCError`.
    pub fn on_error(&self, f: impl Fn(Error) + Send + Sync + 'static) {
        self.set_handler(|h| h.on_error = Some(Arc::new(f)));
    }

    /// `onclosing`.
    pub fn on_closing(&self, f: impl Fn() + Send + Sync + 'static) {
        self.set_handler(|h| h.on_closing = Some(Arc::new(f)));
    }

    /// `onclose`.
    pub fn on_close(&self, f: impl Fn() + Send + Sync + 'static) {
        self.set_handler(|h| h.on_close = Some(Arc::new(f)));
    }
}

fn call0(f: Option<Arc<dyn Fn() + Send + Sync>>) {
    if let Some(f) = f {
        f();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(len: usize) -> DataChannelEvent {
        DataChannelEvent::Message(Payload::Binary(vec![0; len]))
    }

    #[test]
    fn a_read_queue_is_bounded_by_bytes_and_events_and_frees_what_is_taken() {
        let all = Arc::new(AtomicUsize::new(0));
        let q = ChannelQueue::new(false, all.clone());
        let mut reader = DataChannelEvents::new(q.clone());
        let big = 256 * 1024;
        for _ in 0..CHANNEL_BYTES / big {
            assert!(q.offer(msg(big)).is_ok());
        }
        assert!(q.offer(msg(1)).is_err(), "4 MiB held: full");
        assert!(
            q.offer(DataChannelEvent::Closing).is_ok(),
            "events without bytes fit"
        );
        assert_eq!(all.load(Ordering::Acquire), CHANNEL_BYTES);
        assert!(matches!(
            reader.try_recv(),
            Some(DataChannelEvent::Message(_))
        ));
        assert!(q.offer(msg(big)).is_ok(), "room again after a take");
        // An empty queue takes one message of any size.
        let q2 = ChannelQueue::new(false, all.clone());
        let _r2 = DataChannelEvents::new(q2.clone());
        assert!(q2.offer(msg(CHANNEL_BYTES + 1)).is_ok());
        // The event count is bounded too.
        let q3 = ChannelQueue::new(false, all);
        let _r3 = DataChannelEvents::new(q3.clone());
        for _ in 0..CHANNEL_QUEUE {
            assert!(q3.offer(DataChannelEvent::BufferedAmountLow).is_ok());
        }
        assert!(q3.offer(DataChannelEvent::BufferedAmountLow).is_err());
    }

    #[test]
    fn unread_channels_share_a_connection_wide_byte_budget() {
        let all = Arc::new(AtomicUsize::new(0));
        let queues: Vec<_> = (0..8)
            .map(|_| ChannelQueue::new(false, all.clone()))
            .collect();
        let big = 256 * 1024;
        // Each unread queue accepts up to its own bound, all of them together only
        // UNREAD_BYTES; the rest is dropped (offer succeeds without queueing).
        for q in &queues {
            for _ in 0..CHANNEL_BYTES / big {
                let _ = q.offer(msg(big));
            }
        }
        assert_eq!(all.load(Ordering::Acquire), UNREAD_BYTES);
        let held: usize = queues.iter().map(|q| q.bytes.load(Ordering::Acquire)).sum();
        assert_eq!(held, UNREAD_BYTES);
    }

    /// The pending FIFO keeps each channel's order behind a full read queue: later events
    /// (from any thread) queue behind it, the driver delivers them in order as the reader
    /// takes, and a forgotten channel's queue goes only after its events.
    #[tokio::test]
    async fn events_behind_a_full_read_queue_wait_in_order_and_the_queue_goes_last() {
        let pc = super::super::PeerConnection::new(Default::default()).unwrap();
        let dc = pc.create_data_channel("x", Default::default()).unwrap();
        let inner = pc.inner.clone();
        let key = dc.key;
        let mut reader = dc.events();
        let total = CHANNEL_QUEUE + 10;
        for i in 0..total {
            inner.offer_channel_event(key, msg(i + 1));
        }
        inner.forget_channel_queue(key);
        assert_eq!(inner.channel_queues.pending().items.len(), 11);
        assert!(inner.channel_queues.map.lock().unwrap().contains_key(&key));
        let weak = Arc::downgrade(&inner);
        let wake = tokio::sync::Notify::new();
        let read = async {
            let mut lens = Vec::new();
            while lens.len() < total {
                match reader.recv().await {
                    Some(DataChannelEvent::Message(Payload::Binary(b))) => lens.push(b.len()),
                    other => panic!("{other:?}"),
                }
            }
            lens
        };
        let (waited, lens) = tokio::join!(drain_pending(&weak, || false, &wake), read);
        assert_eq!(waited, Some(true));
        assert_eq!(lens, (1..=total).collect::<Vec<_>>());
        assert!(inner.channel_queues.pending().items.is_empty());
        assert!(!inner.channel_queues.map.lock().unwrap().contains_key(&key));
    }
}
