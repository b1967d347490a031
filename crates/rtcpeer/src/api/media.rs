//! Media at the API: each transceiver's received media (RTP packets, telephone events) and
//! its sender's feedback (key-frame requests, DTMF `tonechange`) wait in bounded queues
//! until the application reads them with [`RtpReceiver::recv`] / [`RtpSender::recv_feedback`].
//! Media is real time: when the application falls behind, the oldest items go first (and
//! are counted), so a slow reader never makes memory grow.
//!
//! [`RtpReceiver::recv`]: super::objects::RtpReceiver::recv
//! [`RtpSender::recv_feedback`]: super::objects::RtpSender::recv_feedback

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rtcpeer_proto::jsep::{MediaEvent, TransceiverId};
use tokio::sync::Notify;

/// Items one queue holds at most (about a second of 1000-packet/s video).
pub(crate) const MAX_QUEUED: usize = 1024;

/// One bounded queue of media events with a waker.
#[derive(Debug, Default)]
pub(crate) struct MediaQueue {
    items: Mutex<VecDeque<MediaEvent>>,
    notify: Notify,
    closed: AtomicBool,
    /// Items dropped because the reader fell behind.
    pub(crate) dropped: AtomicU64,
}

impl MediaQueue {
    fn push(&self, e: MediaEvent) {
        {
            let mut q = self.items.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() >= MAX_QUEUED {
                q.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            q.push_back(e);
        }
        self.notify.notify_one();
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// The next item; `None` once the queue is closed and empty.
    pub(crate) async fn recv(&self) -> Option<MediaEvent> {
        loop {
            let notified = self.notify.notified();
            if let Some(e) = self.try_recv() {
                return Some(e);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }

    /// The next item if one waits.
    pub(crate) fn try_recv(&self) -> Option<MediaEvent> {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

/// A transceiver's two queues: what its receiver got, and its sender's feedback.
pub(crate) type QueuePair = (Arc<MediaQueue>, Arc<MediaQueue>);

/// The queues of every transceiver: received media, and the sender's feedback.
#[derive(Debug, Default)]
pub(crate) struct MediaQueues {
    map: Mutex<HashMap<TransceiverId, QueuePair>>,
    closed: AtomicBool,
}

impl MediaQueues {
    /// The (receiver, sender) queues of transceiver `id`, made on first use.
    pub(crate) fn get(&self, id: TransceiverId) -> QueuePair {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (r, s) = map.entry(id).or_default();
        if self.closed.load(Ordering::Acquire) {
            r.close();
            s.close();
        }
        (r.clone(), s.clone())
    }

    /// The queues a reader of transceiver `id` waits on. The caller holds the core's lock
    /// and says whether the core still knows the transceiver: a forgotten one gets a closed
    /// pair that is not kept (its `Removed` was, or will be, delivered; keeping queues for
    /// it would grow the map with every removed transceiver).
    pub(crate) fn for_reader(&self, id: TransceiverId, known: bool) -> QueuePair {
        if known {
            return self.get(id);
        }
        let pair = QueuePair::default();
        pair.0.close();
        pair.1.close();
        pair
    }

    /// Hands an event of the core to the queue it belongs to.
    pub(crate) fn deliver(&self, id: TransceiverId, e: MediaEvent) {
        let (receiver, sender) = self.get(id);
        match e {
            MediaEvent::Rtp(_) | MediaEvent::Frame(_) | MediaEvent::Dtmf(_) => receiver.push(e),
            MediaEvent::KeyframeRequest
            | MediaEvent::ToneChange(_)
            | MediaEvent::TargetBitrate { .. } => sender.push(e),
        }
    }

    /// The transceiver left the connection: its readers see the end.
    pub(crate) fn remove(&self, id: TransceiverId) {
        if let Some((r, s)) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
        {
            r.close();
            s.close();
        }
    }

    /// `close()`: every reader sees the end.
    pub(crate) fn close_all(&self) {
        self.closed.store(true, Ordering::Release);
        for (r, s) in self.map.lock().unwrap_or_else(|e| e.into_inner()).values() {
            r.close();
            s.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcpeer_proto::jsep::ReceivedRtp;
    use std::time::Instant;

    fn rtp(n: u64) -> MediaEvent {
        static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        MediaEvent::Rtp(ReceivedRtp {
            ssrc: 1,
            payload_type: 96,
            sequence_number: n,
            timestamp: 0,
            marker: false,
            retransmission: false,
            rid: None,
            arrival: *T0.get_or_init(Instant::now),
            payload: Vec::new(),
        })
    }

    #[tokio::test]
    async fn a_slow_reader_loses_the_oldest_and_memory_stays_bounded() {
        let q = MediaQueue::default();
        for n in 0..(MAX_QUEUED as u64 + 10) {
            q.push(rtp(n));
        }
        assert_eq!(q.dropped.load(Ordering::Relaxed), 10);
        assert_eq!(q.recv().await, Some(rtp(10)), "the oldest went first");
        // close() ends the reader once it has what was queued.
        q.close();
        let mut n = 0;
        while q.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_QUEUED - 1);
        assert!(q.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_for_an_item_and_for_the_end() {
        let q = Arc::new(MediaQueue::default());
        let r = q.clone();
        let waiter = tokio::spawn(async move { r.recv().await });
        tokio::task::yield_now().await;
        q.push(rtp(7));
        assert_eq!(waiter.await.unwrap(), Some(rtp(7)));
        let r = q.clone();
        let waiter = tokio::spawn(async move { r.recv().await });
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(waiter.await.unwrap(), None);
    }
}
