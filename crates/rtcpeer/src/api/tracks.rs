//! The track and stream objects of a connection's transceivers (mediacapture-main §4, §5),
//! owned by the API layer: the core stores only ids and flags and tells what changed with
//! [`Event::Transceiver`](rtcpeer_proto::jsep::Event::Transceiver) events, which
//! [`Inner::dispatch`](super::Inner::dispatch) applies here after the core lock is released,
//! before the operation that caused them resolves (webrtc-pc §4.4.1.5).
//!
//! A transceiver's entry lives while the core has the transceiver; once the core forgot it
//! (removed from the set), the handles that still exist keep its [`TransceiverShared`]
//! alive and read the core's [`TransceiverInfo::forgotten`] state. Streams are kept by id
//! only while something holds them (a receiver's membership or the application).
//!
//! Lock order: `Inner.core` → `Tracks.registry` → a stream's track list, a sender slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::track::{MediaStream, MediaStreamTrack, WeakMediaStream};
use rtcpeer_proto::MediaKind;
use rtcpeer_proto::jsep::{TransceiverEvent, TransceiverId, TransceiverInfo};

/// The least number of stream ids kept before dead ones are pruned.
const STREAMS_PRUNE_MIN: usize = 64;

/// What every handle of one transceiver shares: its kind, its receiver's track (the same
/// object for the receiver's lifetime, webrtc-pc §5.3) and its sender's track.
#[derive(Debug)]
pub(crate) struct TransceiverShared {
    pub(crate) kind: MediaKind,
    pub(crate) receiver: MediaStreamTrack,
    /// `[[SenderTrack]]` (webrtc-pc §5.2); kept after the core forgot the transceiver.
    sender: Mutex<Option<MediaStreamTrack>>,
}

impl TransceiverShared {
    /// The sender's track.
    pub(crate) fn sender_track(&self) -> Option<MediaStreamTrack> {
        self.sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the sender's track (after the core accepted it).
    pub(crate) fn set_sender_track(&self, track: Option<MediaStreamTrack>) {
        *self.sender.lock().unwrap_or_else(|e| e.into_inner()) = track;
    }
}

struct Entry {
    shared: Arc<TransceiverShared>,
    /// The streams the receiver's track is in (`[[AssociatedRemoteMediaStreams]]`).
    remote_streams: Vec<MediaStream>,
}

#[derive(Default)]
struct Registry {
    /// The transceivers the core holds (or held until a `Removed` not yet applied).
    transceivers: HashMap<TransceiverId, Entry>,
    /// Remote streams by id: the same object for an id while anything holds it.
    streams: HashMap<String, WeakMediaStream>,
    /// Size of `streams` at which dead references are pruned (amortised O(1) per insert).
    prune_at: usize,
}

impl Registry {
    fn stream(&mut self, id: &str) -> MediaStream {
        if let Some(s) = self.streams.get(id).and_then(WeakMediaStream::upgrade) {
            return s;
        }
        if self.streams.len() >= self.prune_at {
            self.streams.retain(|_, w| !w.is_dead());
            self.prune_at = (2 * self.streams.len()).max(STREAMS_PRUNE_MIN);
        }
        let s = MediaStream::with_id(id);
        self.streams.insert(id.to_string(), s.downgrade());
        s
    }

    fn add(&mut self, id: TransceiverId, kind: MediaKind, receiver_track_id: &str) -> &mut Entry {
        self.transceivers.entry(id).or_insert_with(|| {
            // webrtc-pc §5.3 "create an RTCRtpReceiver": label "remote " + kind, muted.
            let receiver = MediaStreamTrack::with_id(
                kind,
                receiver_track_id.to_string(),
                format!("remote {kind}"),
                true,
            );
            Entry {
                shared: Arc::new(TransceiverShared {
                    kind,
                    receiver,
                    sender: Mutex::new(None),
                }),
                remote_streams: Vec::new(),
            }
        })
    }

    /// "Set the associated remote streams" (webrtc-pc §4.4.1.5): the track leaves the
    /// streams it is no longer in (`removetrack` on each) and joins the new ones
    /// (`addtrack`). Returns the streams that became non-empty or empty (the legacy
    /// `addstream` / `removestream`).
    fn set_remote_streams(&mut self, id: TransceiverId, ids: &[String]) -> Vec<StreamChange> {
        let mut changes = Vec::new();
        if !self.transceivers.contains_key(&id) {
            return changes;
        }
        let streams: Vec<MediaStream> = ids.iter().map(|s| self.stream(s)).collect();
        let Some(e) = self.transceivers.get_mut(&id) else {
            return changes;
        };
        let track = &e.shared.receiver;
        for old in &e.remote_streams {
            if !streams.contains(old) && old.remove_track_by_agent(track) && old.is_empty() {
                changes.push(StreamChange::Removed(old.clone()));
            }
        }
        for s in &streams {
            let was_empty = s.is_empty();
            if s.add_track_by_agent(track) && was_empty {
                changes.push(StreamChange::Added(s.clone()));
            }
        }
        e.remote_streams = streams;
        changes
    }
}

/// A remote stream that got its first track or lost its last one (the legacy `addstream`
/// and `removestream` events, `legacy.rs`).
pub(crate) enum StreamChange {
    /// The stream got its first track.
    Added(MediaStream),
    /// The stream lost its last track.
    Removed(MediaStream),
}

/// The registry of one connection (see the module docs).
#[derive(Default)]
pub(crate) struct Tracks {
    registry: Mutex<Registry>,
    /// The streams given to the legacy `addStream` (`legacy.rs`), in order.
    pub(crate) local_streams: Mutex<Vec<MediaStream>>,
}

impl Tracks {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared part of a transceiver the core holds, made from the core's view if no
    /// event created it yet (its events may still be queued; applying them later is
    /// idempotent).
    pub(crate) fn get_or_add(
        &self,
        id: TransceiverId,
        info: &TransceiverInfo<'_>,
    ) -> Arc<TransceiverShared> {
        let mut r = self.lock();
        if let Some(e) = r.transceivers.get(&id) {
            return e.shared.clone();
        }
        let receiver_track_id = info.receiver_track_id().unwrap_or_default();
        let shared = r.add(id, info.kind(), receiver_track_id).shared.clone();
        shared.receiver.set_muted(info.receiver_muted());
        if info.receiver_ended() {
            shared.receiver.stop();
        }
        // No event: a handle made before the event (still queued) that applies it.
        let _ = r.set_remote_streams(id, info.remote_stream_ids());
        shared
    }

    /// Applies one of the core's transceiver events; returns the remote streams that became
    /// non-empty or empty.
    pub(crate) fn apply(&self, id: TransceiverId, ev: TransceiverEvent) -> Vec<StreamChange> {
        let mut r = self.lock();
        match ev {
            TransceiverEvent::Added {
                kind,
                receiver_track_id,
            } => {
                r.add(id, kind, &receiver_track_id);
            }
            TransceiverEvent::ReceiverMuted(m) => {
                if let Some(e) = r.transceivers.get(&id) {
                    e.shared.receiver.set_muted(m);
                }
            }
            TransceiverEvent::ReceiverEnded => {
                if let Some(e) = r.transceivers.get(&id) {
                    e.shared.receiver.end_by_agent();
                }
            }
            TransceiverEvent::RemoteStreams(ids) => return r.set_remote_streams(id, &ids),
            TransceiverEvent::Removed => {
                // Live handles keep the shared part; the streams keep their tracks.
                r.transceivers.remove(&id);
            }
        }
        Vec::new()
    }

    /// The remote streams with at least one track, each once, in transceiver order
    /// (the legacy `getRemoteStreams()`).
    pub(crate) fn remote_streams(&self) -> Vec<MediaStream> {
        let r = self.lock();
        let mut ids: Vec<&TransceiverId> = r.transceivers.keys().collect();
        ids.sort();
        let mut out: Vec<MediaStream> = Vec::new();
        for id in ids {
            for s in &r.transceivers[id].remote_streams {
                if !s.is_empty() && !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// What a `track` event needs: the transceiver's shared part and the streams by id
    /// (webrtc-pc §4.4.1.5); `None` if the transceiver is unknown.
    pub(crate) fn track_event(
        &self,
        id: TransceiverId,
        stream_ids: &[String],
    ) -> Option<(Arc<TransceiverShared>, Vec<MediaStream>)> {
        let mut r = self.lock();
        let shared = r.transceivers.get(&id)?.shared.clone();
        let streams = stream_ids.iter().map(|s| r.stream(s)).collect();
        Some((shared, streams))
    }

    /// `close()` (webrtc-pc §4.4.1.9): every receiver's track ends, without an event.
    pub(crate) fn close(&self) {
        for e in self.lock().transceivers.values() {
            e.shared.receiver.stop();
        }
    }
}
