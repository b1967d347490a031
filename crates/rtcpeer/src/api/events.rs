//! Event delivery: each [`EventStream`] gets every event of its connection in firing order;
//! `on_*` handlers are streams consumed by their own Tokio task.
//!
//! Each stream is bounded ([`EVENT_QUEUE`] events). A subscriber that falls that far behind
//! loses the events that do not fit, but never silently: the loss is counted
//! ([`EventStream::dropped_events`]) and the stream yields a
//! [`PeerConnectionEvent::EventsDropped`] where the events are missing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::track::{MediaStream, MediaStreamTrack};
use rtcpeer_proto::jsep::{
    CoreEvent, DataChannelEvent, DataChannelId, Event, IceCandidate, IceCandidateError,
    IceCandidatePair, IceTransportState, IoRequest, PeerConnectionState, SignalingState,
    TransceiverEvent,
};
use rtcpeer_proto::{IceConnectionState, IceGatheringState};

use super::Inner;
use super::datachannel::DataChannel;
use super::objects::{DtlsTransport, IceTransport, RtpReceiver, RtpTransceiver, SctpTransport};
use super::tracks::StreamChange;
use rtcpeer_proto::DtlsTransportState;
use rtcpeer_proto::jsep::SctpTransportState;

/// Events a subscriber may fall behind by before further events for it are dropped (counted,
/// and reported by [`PeerConnectionEvent::EventsDropped`]); signaling produces a handful per
/// call and a peer at most `DataChannelLimits::max_open` `datachannel` events per round, so a
/// live subscriber never gets near it.
pub const EVENT_QUEUE: usize = 4096;

/// An event of an `RTCPeerConnection`. Large payloads are boxed so the enum stays small:
/// every event stream allocates its queue in blocks of 32 events.
#[derive(Debug, Clone)]
pub enum PeerConnectionEvent {
    /// `signalingstatechange`, with the new state.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `track` (`RTCTrackEvent`).
    Track(Box<TrackEvent>),
    /// `icecandidate` (`RTCPeerConnectionIceEvent`, webrtc-pc §4.8.2): a local candidate to
    /// signal; a candidate with empty text is the end marker of one generation, and `None`
    /// follows once gathering is complete (send it as end-of-candidates).
    IceCandidate(Option<Box<IceCandidate>>),
    /// `icegatheringstatechange`, with the new `iceGatheringState`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`, with the new `iceConnectionState`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`, with the new `connectionState`.
    ConnectionStateChange(PeerConnectionState),
    /// `icecandidateerror` (`RTCPeerConnectionIceErrorEvent`, webrtc-pc §4.8.3).
    IceCandidateError(Box<IceCandidateError>),
    /// `selectedcandidatepairchange` of the connection's primary (bundled) `RTCIceTransport`
    /// (webrtc-pc §5.6): ICE selected a new pair, e.g. after an ICE restart. Further
    /// transports fire [`PeerConnectionEvent::TransportSelectedCandidatePairChange`].
    SelectedCandidatePairChange(Box<IceCandidatePair>),
    /// `selectedcandidatepairchange` of an `RTCIceTransport` beyond the connection's primary
    /// one (an unbundled m-section's, RFC 8843 §7; webrtc-pc §5.6.1), with the pair as its
    /// candidates were signalled.
    TransportSelectedCandidatePairChange(IceTransport, Box<IceCandidatePair>),
    /// `statechange` of the `RTCIceTransport` (webrtc-pc §5.6.1), with its new state; fires
    /// just before the `iceconnectionstatechange` it causes.
    IceTransportStateChange(IceTransport, IceTransportState),
    /// `gatheringstatechange` of the `RTCIceTransport` (webrtc-pc §5.6.1); fires just before
    /// the `icegatheringstatechange` it causes.
    IceTransportGatheringStateChange(IceTransport, IceGatheringState),
    /// `datachannel` (`RTCDataChannelEvent`, webrtc-pc §6.1): the peer opened a channel; its
    /// readyState is already "open" and its `open` event follows on the channel.
    DataChannel(DataChannel),
    /// `statechange` of the `RTCDtlsTransport` (webrtc-pc §5.5), with its new state.
    DtlsTransportStateChange(DtlsTransport, DtlsTransportState),
    /// `error` of the `RTCDtlsTransport` (`RTCErrorEvent`, webrtc-pc §5.5.1): the handshake or
    /// the fingerprint check failed ("dtls-failure" / "fingerprint-failure"); the
    /// `statechange` to "failed" follows.
    DtlsTransportError(DtlsTransport, rtcpeer_proto::Error),
    /// `statechange` of the `RTCSctpTransport` (webrtc-pc §6.1.1), with its new state.
    SctpTransportStateChange(SctpTransport, SctpTransportState),
    /// Legacy `addstream` (`MediaStreamEvent`; Chromium and the pre-1.0 webrtc-pc drafts):
    /// a remote description gave a remote stream its first track. Fires before the `track`
    /// events of the same description. Use [`PeerConnectionEvent::Track`] instead.
    #[deprecated(note = "legacy event: use PeerConnectionEvent::Track and its streams")]
    AddStream(MediaStream),
    /// Legacy `removestream`: a remote description removed the last track of a remote stream.
    #[deprecated(note = "legacy event: watch MediaStream::events() for removetrack instead")]
    RemoveStream(MediaStream),
    /// Not a W3C event: this many events were lost at this point of the stream because the
    /// subscriber fell [`EVENT_QUEUE`] events behind (or the connection's own queue was full).
    /// Events are never dropped without it.
    EventsDropped(u64),
}

/// `RTCTrackEvent` (webrtc-pc §5.7).
#[derive(Debug, Clone)]
pub struct TrackEvent {
    /// The receiver of the track.
    pub receiver: RtpReceiver,
    /// The remote track.
    pub track: MediaStreamTrack,
    /// The remote streams the track is part of.
    pub streams: Vec<MediaStream>,
    /// The transceiver of the receiver.
    pub transceiver: RtpTransceiver,
}

/// Events one subscriber lost: shared by its stream and the sending side.
#[derive(Debug, Default)]
struct Loss {
    /// Lost and not yet reported by an `EventsDropped`.
    pending: AtomicU64,
    /// Lost in all.
    total: AtomicU64,
}

impl Loss {
    fn take_pending(&self) -> Option<PeerConnectionEvent> {
        match self.pending.swap(0, Ordering::AcqRel) {
            0 => None,
            n => Some(PeerConnectionEvent::EventsDropped(n)),
        }
    }
}

/// A subscription to a connection's events; ends (`None`) once the connection is closed.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<PeerConnectionEvent>,
    loss: Arc<Loss>,
}

impl EventStream {
    /// The next event; `None` after `close()`. After events were lost (this subscriber
    /// fell [`EVENT_QUEUE`] events behind) it yields [`PeerConnectionEvent::EventsDropped`]
    /// where they are missing.
    pub async fn recv(&mut self) -> Option<PeerConnectionEvent> {
        match self.rx.try_recv() {
            Ok(e) => Some(e),
            // Losses happen only behind a full queue: once it is empty, they come next.
            Err(mpsc::error::TryRecvError::Empty) => match self.loss.take_pending() {
                Some(e) => Some(e),
                None => self.rx.recv().await,
            },
            Err(mpsc::error::TryRecvError::Disconnected) => self.loss.take_pending(),
        }
    }

    /// The next event if one is already queued (or an `EventsDropped`, as for `recv`).
    pub fn try_recv(&mut self) -> Option<PeerConnectionEvent> {
        match self.rx.try_recv() {
            Ok(e) => Some(e),
            Err(_) => self.loss.take_pending(),
        }
    }

    /// Events this stream lost in all because it fell [`EVENT_QUEUE`] events behind (each
    /// loss is also reported in the stream by [`PeerConnectionEvent::EventsDropped`]).
    pub fn dropped_events(&self) -> u64 {
        self.loss.total.load(Ordering::Acquire)
    }
}

struct Subscriber {
    tx: mpsc::Sender<PeerConnectionEvent>,
    loss: Arc<Loss>,
}

#[derive(Default)]
pub(crate) struct Subscribers {
    senders: Mutex<Vec<Subscriber>>,
    handlers: Mutex<HashMap<&'static str, tokio::task::JoinHandle<()>>>,
}

impl Subscribers {
    pub(crate) fn subscribe(&self) -> EventStream {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let loss = Arc::new(Loss::default());
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Subscriber {
                tx,
                loss: loss.clone(),
            });
        EventStream { rx, loss }
    }

    pub(crate) fn set_handler(
        &self,
        name: &'static str,
        f: impl Fn(&PeerConnectionEvent) + Send + Sync + 'static,
    ) {
        let mut stream = self.subscribe();
        let task = tokio::spawn(async move {
            while let Some(e) = stream.recv().await {
                f(&e);
            }
        });
        if let Some(old) = self
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, task)
        {
            old.abort();
        }
    }

    /// Ends every stream and handler (after `close()` no event fires).
    pub(crate) fn close(&self) {
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for (_, h) in self
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            h.abort();
        }
    }

    fn send(&self, e: PeerConnectionEvent) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders.retain(|s| {
            if s.tx.is_closed() {
                return false;
            }
            // Earlier losses are reported before anything that follows them; an event that
            // cannot be queued after its marker is lost too (the order stays true).
            let behind = s.loss.pending.load(Ordering::Acquire) > 0;
            if behind {
                if s.tx.capacity() < 2 {
                    s.loss.pending.fetch_add(1, Ordering::AcqRel);
                    s.loss.total.fetch_add(1, Ordering::AcqRel);
                    return true;
                }
                if let Some(marker) = s.loss.take_pending() {
                    let _ = s.tx.try_send(marker);
                }
            }
            match s.tx.try_send(e.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if s.loss.total.load(Ordering::Acquire) == 0 {
                        tracing::warn!(
                            "event subscriber is {EVENT_QUEUE} events behind; events dropped"
                        );
                    }
                    s.loss.pending.fetch_add(1, Ordering::AcqRel);
                    s.loss.total.fetch_add(1, Ordering::AcqRel);
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}

/// One event on its way to the application, after its changes to the API objects applied.
enum Outgoing {
    Connection(PeerConnectionEvent),
    Channel(DataChannelId, DataChannelEvent),
    Forgotten(DataChannelId),
}

impl Inner {
    /// Delivers the core's queued events (`Core::poll_event`) through [`Inner::deliver`].
    /// A dispatch lock keeps concurrent callers from reordering events between popping
    /// and delivering; delivering never blocks, so it is held only briefly.
    pub(crate) fn dispatch(self: &Arc<Self>) {
        // Taking an event and delivering it is one step among dispatchers: otherwise a
        // thread could take e1, another take and send e2, and subscribers would see e2 first.
        let _in_order = self.dispatching.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let batch: Vec<Event> = {
                let mut core = self.core();
                std::iter::from_fn(|| core.poll_event()).collect()
            };
            if batch.is_empty() {
                break;
            }
            self.deliver(batch);
        }
    }

    /// The one delivery path of the core's events, for API threads and the driver alike;
    /// the caller holds `dispatching` (events taken from the core under it, in order).
    /// Connection events go to every subscriber at once; channel events are offered to
    /// their channel's queue, in order, and what a full read queue cannot take waits in
    /// the connection's pending FIFO for the driver (back-pressure, `datachannel.rs`).
    /// `datachannel` comes before the channel's `open` (the core's order).
    ///
    /// The batch's changes to track and stream objects ([`Event::Transceiver`]) are applied,
    /// in order, before any of its events is sent, so a handler sees the state the operation
    /// left (webrtc-pc §4.4.1.5: stream membership is set before `track` fires).
    pub(crate) fn deliver(self: &Arc<Self>, batch: Vec<Event>) {
        let mut out = Vec::with_capacity(batch.len());
        for e in batch {
            match e {
                Event::Connection(e) => {
                    if let Some(e) = self.translate(*e) {
                        out.push(Outgoing::Connection(e));
                    }
                }
                // Not an event of the application's: applied to the track and stream
                // objects, in order, before the operation that caused it resolves.
                Event::Transceiver(id, ev) => {
                    if ev == TransceiverEvent::Removed {
                        self.media.remove(id);
                    }
                    for change in self.tracks.apply(id, ev) {
                        #[allow(deprecated)]
                        let e = match change {
                            StreamChange::Added(s) => PeerConnectionEvent::AddStream(s),
                            StreamChange::Removed(s) => PeerConnectionEvent::RemoveStream(s),
                        };
                        out.push(Outgoing::Connection(e));
                    }
                }
                Event::Channel(key, e) => out.push(Outgoing::Channel(key, e)),
                // Received media and sender feedback wait in the transceiver's bounded
                // queues for `RtpReceiver::recv` / `RtpSender::recv_feedback`.
                Event::Media(id, e) => self.media.deliver(id, e),
                Event::Io(IoRequest::ChannelForgotten(key)) => out.push(Outgoing::Forgotten(key)),
                Event::Io(IoRequest::Start) => self.start_driver(),
                // The driver's own requests: it acts on them before delivering.
                Event::Io(_) => {}
            }
        }
        for o in out {
            match o {
                Outgoing::Connection(e) => self.subscribers.send(e),
                Outgoing::Channel(key, e) => self.offer_channel_event(key, e),
                Outgoing::Forgotten(key) => self.forget_channel_queue(key),
            }
        }
    }

    /// The application's event for a core event, after applying what it changes on the API
    /// objects; `None` for an event that is not the application's.
    fn translate(self: &Arc<Self>, e: CoreEvent) -> Option<PeerConnectionEvent> {
        let e = match e {
            CoreEvent::SignalingStateChange(s) => PeerConnectionEvent::SignalingStateChange(s),
            CoreEvent::NegotiationNeeded => PeerConnectionEvent::NegotiationNeeded,
            CoreEvent::Track {
                transceiver,
                stream_ids,
            } => {
                // The event's track is the receiver's track (webrtc-pc §4.4.1.5).
                let Some((shared, streams)) = self.tracks.track_event(transceiver, &stream_ids)
                else {
                    // Unreachable: the transceiver's `Added` came first, `Removed` after.
                    tracing::warn!("track event for an unknown transceiver {transceiver:?}");
                    return None;
                };
                let track = shared.receiver.clone();
                let t = RtpTransceiver::with_shared(self.clone(), transceiver, shared);
                PeerConnectionEvent::Track(Box::new(TrackEvent {
                    receiver: t.receiver(),
                    track,
                    streams,
                    transceiver: t,
                }))
            }
            CoreEvent::IceCandidate(c) => PeerConnectionEvent::IceCandidate(c.map(Box::new)),
            CoreEvent::IceGatheringStateChange(s) => {
                PeerConnectionEvent::IceGatheringStateChange(s)
            }
            CoreEvent::IceConnectionStateChange(s) => {
                PeerConnectionEvent::IceConnectionStateChange(s)
            }
            CoreEvent::ConnectionStateChange(s) => PeerConnectionEvent::ConnectionStateChange(s),
            CoreEvent::IceCandidateError(e) => PeerConnectionEvent::IceCandidateError(Box::new(e)),
            CoreEvent::SelectedCandidatePairChange(p) => {
                PeerConnectionEvent::SelectedCandidatePairChange(p)
            }
            CoreEvent::IceTransportStateChange(id, s) => {
                PeerConnectionEvent::IceTransportStateChange(IceTransport::new(self.clone(), id), s)
            }
            CoreEvent::DataChannel(key) => {
                PeerConnectionEvent::DataChannel(DataChannel::new(self.clone(), key))
            }
            CoreEvent::DtlsStateChange(s) => {
                PeerConnectionEvent::DtlsTransportStateChange(DtlsTransport::new(self.clone()), s)
            }
            CoreEvent::TransportDtlsStateChange(id, s) => {
                PeerConnectionEvent::DtlsTransportStateChange(
                    DtlsTransport::over(self.clone(), id),
                    s,
                )
            }
            CoreEvent::DtlsError(e) => {
                PeerConnectionEvent::DtlsTransportError(DtlsTransport::new(self.clone()), e)
            }
            CoreEvent::TransportDtlsError(id, e) => {
                PeerConnectionEvent::DtlsTransportError(DtlsTransport::over(self.clone(), id), e)
            }
            CoreEvent::TransportSelectedCandidatePairChange(id, p) => {
                PeerConnectionEvent::TransportSelectedCandidatePairChange(
                    IceTransport::new(self.clone(), id),
                    p,
                )
            }
            CoreEvent::SctpStateChange(s) => {
                PeerConnectionEvent::SctpTransportStateChange(SctpTransport::new(self.clone()), s)
            }
            CoreEvent::EventsDropped(n) => PeerConnectionEvent::EventsDropped(n),
            CoreEvent::IceTransportGatheringStateChange(id, s) => {
                PeerConnectionEvent::IceTransportGatheringStateChange(
                    IceTransport::new(self.clone(), id),
                    s,
                )
            }
        };
        Some(e)
    }
}
