//! `MediaStreamTrack` and `MediaStream` (W3C mediacapture-main §4, §5) as far as
//! `RTCPeerConnection` needs them: identity, kind, state. Media sources attach later.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rtcpeer_proto::jsep::TrackRef;
use rtcpeer_proto::{MediaKind, MediaStreamTrackState, OsRandom, RandomSource};

/// The next track's [`MediaStreamTrack::serial`]: the core tells tracks apart by it.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// The subscribers of one object's events: each gets every later event, at most `cap`
/// behind (then events are dropped for it and counted); closed subscriptions are forgotten.
#[derive(Debug)]
struct Subscribers<E> {
    list: Mutex<Vec<(tokio::sync::mpsc::Sender<E>, Arc<AtomicU64>)>>,
}

impl<E: Clone> Subscribers<E> {
    fn new() -> Self {
        Subscribers {
            list: Mutex::new(Vec::new()),
        }
    }

    /// A new subscription: its receiver and its dropped-events counter.
    fn subscribe(&self, cap: usize) -> (tokio::sync::mpsc::Receiver<E>, Arc<AtomicU64>) {
        let (tx, rx) = tokio::sync::mpsc::channel(cap);
        let dropped = Arc::new(AtomicU64::new(0));
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((tx, dropped.clone()));
        (rx, dropped)
    }

    fn fire(&self, e: E) {
        let mut subs = self.list.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|(tx, dropped)| match tx.try_send(e.clone()) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                dropped.fetch_add(1, Ordering::AcqRel);
                true
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
    }
}

#[derive(Debug)]
struct TrackInner {
    /// Unique in the process (the core compares tracks by it, not by pointer).
    serial: u64,
    id: String,
    kind: MediaKind,
    label: String,
    ended: AtomicBool,
    muted: AtomicBool,
    enabled: AtomicBool,
    subscribers: Subscribers<MediaStreamTrackEvent>,
}

/// A media track: local (created by the application) or remote (made by a receiver).
/// Cheap to clone; clones are the same track (equality is identity).
#[derive(Debug, Clone)]
pub struct MediaStreamTrack(Arc<TrackInner>);

impl PartialEq for MediaStreamTrack {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MediaStreamTrack {}

impl MediaStreamTrack {
    /// A new live, unmuted local track of the given kind with a random id.
    pub fn new(kind: MediaKind, label: impl Into<String>) -> Self {
        Self::with_id(kind, OsRandom.uuid(), label, false)
    }

    pub(crate) fn with_id(
        kind: MediaKind,
        id: String,
        label: impl Into<String>,
        muted: bool,
    ) -> Self {
        MediaStreamTrack(Arc::new(TrackInner {
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            id,
            kind,
            label: label.into(),
            ended: AtomicBool::new(false),
            muted: AtomicBool::new(muted),
            enabled: AtomicBool::new(true),
            subscribers: Subscribers::new(),
        }))
    }

    /// The track id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// What the core stores of this track: its identity, id and kind.
    pub(crate) fn track_ref(&self) -> TrackRef {
        TrackRef {
            serial: self.0.serial,
            id: self.0.id.clone(),
            kind: self.0.kind,
        }
    }

    /// `"audio"` or `"video"`.
    pub fn kind(&self) -> MediaKind {
        self.0.kind
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.0.label
    }

    /// `live` or `ended`.
    pub fn ready_state(&self) -> MediaStreamTrackState {
        if self.0.ended.load(Ordering::Acquire) {
            MediaStreamTrackState::Ended
        } else {
            MediaStreamTrackState::Live
        }
    }

    /// Whether the track is muted (a remote track is muted until media arrives).
    pub fn muted(&self) -> bool {
        self.0.muted.load(Ordering::Acquire)
    }

    /// Whether the track is enabled.
    pub fn enabled(&self) -> bool {
        self.0.enabled.load(Ordering::Acquire)
    }

    /// Enables or disables the track (a disabled track sends silence / black).
    pub fn set_enabled(&self, enabled: bool) {
        self.0.enabled.store(enabled, Ordering::Release)
    }

    /// Ends the track for good (`stop()`: no `ended` event, mediacapture-main §4.3.1).
    pub fn stop(&self) {
        self.0.ended.store(true, Ordering::Release)
    }

    /// Subscribes to the track's `mute`, `unmute` and `ended` events (mediacapture-main
    /// §4.3.1); every subscription gets every later event.
    pub fn events(&self) -> MediaStreamTrackEvents {
        let (rx, dropped) = self.0.subscribers.subscribe(STREAM_EVENT_QUEUE);
        MediaStreamTrackEvents { rx, dropped }
    }

    /// The user agent mutes or unmutes the track (a remote track: webrtc-pc §4.4.1.5 "set
    /// the muted state", media arriving): `mute` / `unmute` fires when the state changes.
    pub(crate) fn set_muted(&self, muted: bool) {
        if self.0.muted.swap(muted, Ordering::AcqRel) != muted && !self.is_ended() {
            self.0.subscribers.fire(if muted {
                MediaStreamTrackEvent::Mute
            } else {
                MediaStreamTrackEvent::Unmute
            });
        }
    }

    /// The source ended (a remote track whose receiver stopped, webrtc-pc §5.3 "stop
    /// receiving"): the track ends and `ended` fires, once.
    pub(crate) fn end_by_agent(&self) {
        if !self.0.ended.swap(true, Ordering::AcqRel) {
            self.0.subscribers.fire(MediaStreamTrackEvent::Ended);
        }
    }

    fn is_ended(&self) -> bool {
        self.0.ended.load(Ordering::Acquire)
    }
}

/// An event of a [`MediaStreamTrack`] (mediacapture-main §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStreamTrackEvent {
    /// `mute`: the track's source delivers no media for now (a remote track: nothing
    /// received yet, or a negotiation stopped the remote sending).
    Mute,
    /// `unmute`: media flows again.
    Unmute,
    /// `ended`: the source ended for good (not fired by [`MediaStreamTrack::stop`]).
    Ended,
}

/// A subscription to one track's events (see [`MediaStreamTrack::events`]).
#[derive(Debug)]
pub struct MediaStreamTrackEvents {
    rx: tokio::sync::mpsc::Receiver<MediaStreamTrackEvent>,
    dropped: Arc<AtomicU64>,
}

impl MediaStreamTrackEvents {
    /// The next event; waits for one (ends when every handle of the track is gone).
    pub async fn recv(&mut self) -> Option<MediaStreamTrackEvent> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<MediaStreamTrackEvent> {
        self.rx.try_recv().ok()
    }

    /// Events lost because this subscriber fell [`STREAM_EVENT_QUEUE`] events behind.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }
}

/// Events a [`MediaStream`] or [`MediaStreamTrack`] subscriber may fall behind by before
/// further ones are dropped (counted in `dropped_events`); one description changes a stream
/// or a track at most once per transceiver, so a live subscriber never gets near it.
pub const STREAM_EVENT_QUEUE: usize = 1024;

/// An event of a [`MediaStream`] (mediacapture-main §4.3.1): fired only when the user agent
/// changes the stream, here when a remote description adds or removes a receiver's track
/// (webrtc-pc §4.4.1.5 "set the associated remote streams"), never for
/// [`MediaStream::add_track`] / [`MediaStream::remove_track`] calls of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStreamEvent {
    /// `addtrack` (`MediaStreamTrackEvent`): the track joined the stream.
    AddTrack(MediaStreamTrack),
    /// `removetrack` (`MediaStreamTrackEvent`): the track left the stream.
    RemoveTrack(MediaStreamTrack),
}

/// A subscription to one stream's events (see [`MediaStream::events`]).
#[derive(Debug)]
pub struct MediaStreamEvents {
    rx: tokio::sync::mpsc::Receiver<MediaStreamEvent>,
    dropped: Arc<AtomicU64>,
}

impl MediaStreamEvents {
    /// The next event; waits for one (the stream lives as long as this subscription holds
    /// nothing else: it ends only when every handle of the stream is gone).
    pub async fn recv(&mut self) -> Option<MediaStreamEvent> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<MediaStreamEvent> {
        self.rx.try_recv().ok()
    }

    /// Events lost because this subscriber fell [`STREAM_EVENT_QUEUE`] events behind.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
struct StreamInner {
    id: String,
    tracks: Mutex<Vec<MediaStreamTrack>>,
    subscribers: Subscribers<MediaStreamEvent>,
}

/// A `MediaStream`: an id grouping tracks (its id is what `a=msid` carries, RFC 8830).
/// Cheap to clone; clones are the same stream.
#[derive(Debug, Clone)]
pub struct MediaStream(Arc<StreamInner>);

impl PartialEq for MediaStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MediaStream {}

impl Default for MediaStream {
    fn default() -> Self {
        Self::new()
    }
}

impl MediaStream {
    /// A new empty stream with a random id.
    pub fn new() -> Self {
        Self::with_id(OsRandom.uuid())
    }

    /// A new empty stream with the given id.
    pub fn with_id(id: impl Into<String>) -> Self {
        MediaStream(Arc::new(StreamInner {
            id: id.into(),
            tracks: Mutex::new(Vec::new()),
            subscribers: Subscribers::new(),
        }))
    }

    /// Subscribes to the stream's `addtrack` / `removetrack` events (mediacapture-main
    /// §4.3.1); every subscription gets every later event.
    pub fn events(&self) -> MediaStreamEvents {
        let (rx, dropped) = self.0.subscribers.subscribe(STREAM_EVENT_QUEUE);
        MediaStreamEvents { rx, dropped }
    }

    fn fire(&self, e: MediaStreamEvent) {
        self.0.subscribers.fire(e);
    }

    /// The user agent adds `track` (a remote description did): `addtrack` fires if it was
    /// not in the stream. Returns whether it was added.
    pub(crate) fn add_track_by_agent(&self, track: &MediaStreamTrack) -> bool {
        let added = {
            let mut t = self.0.tracks.lock().unwrap_or_else(|e| e.into_inner());
            let added = !t.contains(track);
            if added {
                t.push(track.clone());
            }
            added
        };
        if added {
            self.fire(MediaStreamEvent::AddTrack(track.clone()));
        }
        added
    }

    /// The user agent removes `track`: `removetrack` fires if it was in the stream. Returns
    /// whether it was removed.
    pub(crate) fn remove_track_by_agent(&self, track: &MediaStreamTrack) -> bool {
        let removed = {
            let mut t = self.0.tracks.lock().unwrap_or_else(|e| e.into_inner());
            let before = t.len();
            t.retain(|x| x != track);
            t.len() != before
        };
        if removed {
            self.fire(MediaStreamEvent::RemoveTrack(track.clone()));
        }
        removed
    }

    /// Whether the stream has no track.
    pub(crate) fn is_empty(&self) -> bool {
        self.0
            .tracks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The stream id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// A reference that does not keep the stream alive.
    pub(crate) fn downgrade(&self) -> WeakMediaStream {
        WeakMediaStream(Arc::downgrade(&self.0))
    }

    /// The tracks currently in the stream.
    pub fn get_tracks(&self) -> Vec<MediaStreamTrack> {
        self.0
            .tracks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `addTrack(track)`: adds a track (no-op if already present); fires no event
    /// (mediacapture-main §4.3.1).
    pub fn add_track(&self, track: &MediaStreamTrack) {
        let mut t = self.0.tracks.lock().unwrap_or_else(|e| e.into_inner());
        if !t.contains(track) {
            t.push(track.clone());
        }
    }

    /// `removeTrack(track)`: removes a track (no-op if absent); fires no event.
    pub fn remove_track(&self, track: &MediaStreamTrack) {
        self.0
            .tracks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|t| t != track)
    }
}

/// A [`MediaStream`] reference that does not keep it alive (the API's stream registry).
#[derive(Debug, Clone)]
pub(crate) struct WeakMediaStream(Weak<StreamInner>);

impl WeakMediaStream {
    /// The stream, if something still holds it.
    pub(crate) fn upgrade(&self) -> Option<MediaStream> {
        self.0.upgrade().map(MediaStream)
    }

    /// Whether the stream is gone.
    pub(crate) fn is_dead(&self) -> bool {
        self.0.strong_count() == 0
    }
}
