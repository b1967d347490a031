//! The legacy stream methods (pre-1.0 webrtc-pc drafts, still in Chromium and Firefox):
//! thin wrappers over `addTrack` / `removeTrack` with the browsers' semantics. Deprecated:
//! new code uses tracks and transceivers. The `addstream` / `removestream` events are
//! [`PeerConnectionEvent::AddStream`](super::PeerConnectionEvent) and `RemoveStream`.

use rtcpeer_proto::{Error, Result};

use super::PeerConnection;
use crate::track::MediaStream;

impl PeerConnection {
    /// Legacy `addStream(stream)`: `addTrack(track, stream)` for each of the stream's tracks
    /// that has no sender yet, as Chromium does. A stream already added (the same object or
    /// the same id) is a no-op; tracks added to the stream afterwards are not sent (call
    /// [`PeerConnection::add_track`]). Closed → `InvalidStateError`.
    #[deprecated(note = "legacy API: call add_track for each track, with the stream")]
    pub fn add_stream(&self, stream: &MediaStream) -> Result<()> {
        if self.inner.core().is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        {
            let mut local = self
                .inner
                .tracks
                .local_streams
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if local.iter().any(|s| s == stream || s.id() == stream.id()) {
                return Ok(());
            }
            local.push(stream.clone());
        }
        let sending: Vec<_> = self
            .get_senders()
            .iter()
            .filter_map(|s| s.track())
            .collect();
        for track in stream.get_tracks() {
            if !sending.contains(&track) {
                self.add_track(&track, &[stream])?;
            }
        }
        Ok(())
    }

    /// Legacy `removeStream(stream)`: `removeTrack(sender)` for every sender whose track is
    /// in the stream, and the stream leaves [`PeerConnection::get_local_streams`]. A stream
    /// never added is a no-op. Closed → `InvalidStateError`.
    #[deprecated(note = "legacy API: use remove_track(sender) for each sender")]
    pub fn remove_stream(&self, stream: &MediaStream) -> Result<()> {
        if self.inner.core().is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        let was_added = {
            let mut local = self
                .inner
                .tracks
                .local_streams
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let before = local.len();
            local.retain(|s| s != stream);
            local.len() != before
        };
        if !was_added {
            return Ok(());
        }
        let tracks = stream.get_tracks();
        for sender in self.get_senders() {
            if sender.track().is_some_and(|t| tracks.contains(&t)) {
                self.remove_track(&sender)?;
            }
        }
        Ok(())
    }

    /// Legacy `getLocalStreams()`: the streams given to [`PeerConnection::add_stream`] and not
    /// removed, in order.
    #[deprecated(note = "legacy API: use get_senders()")]
    pub fn get_local_streams(&self) -> Vec<MediaStream> {
        self.inner
            .tracks
            .local_streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Legacy `getRemoteStreams()`: the remote streams that hold at least one receiver's
    /// track (as set by remote descriptions, webrtc-pc §4.4.1.5), each once.
    #[deprecated(note = "legacy API: use get_receivers() or the track event's streams")]
    pub fn get_remote_streams(&self) -> Vec<MediaStream> {
        self.inner.tracks.remote_streams()
    }

    /// Legacy `getStreamById(id)`: a local stream of that id, else a remote one.
    #[deprecated(note = "legacy API: keep your own map of streams")]
    pub fn get_stream_by_id(&self, id: &str) -> Option<MediaStream> {
        #[allow(deprecated)]
        let local = self.get_local_streams();
        #[allow(deprecated)]
        let remote = self.get_remote_streams();
        local.into_iter().chain(remote).find(|s| s.id() == id)
    }
}
