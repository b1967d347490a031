//! `MediaStreamTrack` and `MediaStream` (W3C mediacapture-main §4, §5) as far as
//! `RTCPeerConnection` needs them: identity, kind, state. Media sources attach later.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rtcpeer_proto::jsep::TrackRef;
use rtcpeer_proto::{MediaKind, MediaStreamTrackState, OsRandom, RandomSource};

/// The next track's [`MediaStreamTrack::serial`]: the core tells tracks apart by it.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

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

    /// Ends the track for good.
    pub fn stop(&self) {
        self.0.ended.store(true, Ordering::Release)
    }

    pub(crate) fn set_muted(&self, muted: bool) {
        self.0.muted.store(muted, Ordering::Release)
    }
}

/// Events a [`MediaStream`] subscriber may fall behind by before further ones are dropped
/// (counted in [`MediaStreamEvents::dropped_events`]); one description changes a stream at most
/// once per transceiver, so a live subscriber never gets near it.
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
struct StreamSubscriber {
    tx: tokio::sync::mpsc::Sender<MediaStreamEvent>,
    dropped: Arc<AtomicU64>,
}

#[derive(Debug)]
struct StreamInner {
    id: String,
    tracks: Mutex<Vec<MediaStreamTrack>>,
    subscribers: Mutex<Vec<StreamSubscriber>>,
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
            subscribers: Mutex::new(Vec::new()),
        }))
    }

    /// Subscribes to the stream's `addtrack` / `removetrack` events (mediacapture-main
    /// §4.3.1); every subscription gets every later event.
    pub fn events(&self) -> MediaStreamEvents {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_EVENT_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        self.0
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StreamSubscriber {
                tx,
                dropped: dropped.clone(),
            });
        MediaStreamEvents { rx, dropped }
    }

    fn fire(&self, e: MediaStreamEvent) {
        let mut subs = self.0.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| match s.tx.try_send(e.clone()) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                s.dropped.fetch_add(1, Ordering::AcqRel);
                true
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
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
