//! The signaling state of one `RTCRtpTransceiver` (webrtc-pc §5.4) inside the core.
//!
//! The core stores ids of tracks and streams, never the API's `MediaStreamTrack` or
//! `MediaStream` objects: what happens to those (stream membership, muted, ended) is told to
//! the API layer by [`TransceiverEvent`]s.

use crate::codecs::{
    MediaKind, RtpCodecCapability, RtpCodecParameters, RtpHeaderExtensionParameters,
};

use super::types::RtpTransceiverDirection;

/// Identifies a transceiver inside one connection; handles carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub(crate) u64);

/// What the core knows of a sender's track (webrtc-pc §5.2 `[[SenderTrack]]`): which track
/// it is and its id for `a=msid` (RFC 8830), not the track itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRef {
    /// Identity of the track object (unique in the process): two refs with the same
    /// serial are the same track (webrtc-pc §5.1 addTrack "already being sent").
    pub serial: u64,
    /// The track id (`MediaStreamTrack.id`, written in `a=msid`).
    pub id: String,
    /// The track's kind.
    pub kind: MediaKind,
}

/// What changed on a transceiver's receiver or in the set, for the API layer to apply to
/// its track and stream objects (webrtc-pc §4.4.1.5 "process remote tracks", §5.4 stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransceiverEvent {
    /// A transceiver was created (by addTransceiver, addTrack or a remote offer) with this
    /// kind and receiver track id (webrtc-pc §5.3 "create an RTCRtpReceiver").
    Added {
        /// The media kind.
        kind: MediaKind,
        /// The id of the receiver's track.
        receiver_track_id: String,
    },
    /// The receiver's track is muted (true) or unmuted (webrtc-pc §4.4.1.5 "set muted").
    ReceiverMuted(bool),
    /// The receiver's track ended for good (webrtc-pc §5.4 "stop the RTCRtpTransceiver").
    ReceiverEnded,
    /// The receiver's track now belongs to exactly these remote streams, by id
    /// (`[[AssociatedRemoteMediaStreams]]`, webrtc-pc §4.4.1.5).
    RemoteStreams(Vec<String>),
    /// The transceiver left the set (stopped and negotiated, or rolled back, webrtc-pc
    /// §4.4.1.5): the core forgot it; handles read [`TransceiverInfo::forgotten`].
    Removed,
}

/// Everything the core knows about a transceiver, its sender and its receiver.
#[derive(Debug, Clone)]
pub(crate) struct Transceiver {
    pub id: TransceiverId,
    pub kind: MediaKind,
    pub mid: Option<String>,
    pub direction: RtpTransceiverDirection,
    pub current_direction: Option<RtpTransceiverDirection>,
    /// `[[Stopping]]`: stop() was called, not yet negotiated.
    pub stopping: bool,
    /// `[[Stopped]]`: the stop is final.
    pub stopped: bool,
    /// Created by addTrack (or adopted by it): may pair with a remote m-section (webrtc-pc §4.4.1.5)
    /// and survives rollback.
    pub addtrack_attached: bool,
    /// Created by applying a remote offer that may still be rolled back.
    pub created_by_remote: bool,
    /// Ever negotiated a sending direction (addTrack may not reuse it).
    pub has_sent: bool,
    /// The sender's track, by reference.
    pub sender: Option<TrackRef>,
    /// `[[AssociatedMediaStreamIds]]` of the sender.
    pub sender_stream_ids: Vec<String>,
    /// Track id written in `a=msid` when there is no track.
    pub sender_msid_track: String,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
    /// The id of the receiver's track.
    pub receiver_track_id: String,
    /// Whether the receiver's track is muted (it is until media arrives).
    pub receiver_muted: bool,
    /// Whether the receiver's track has ended.
    pub receiver_ended: bool,
    /// `[[AssociatedRemoteMediaStreams]]`, by stream id.
    pub remote_stream_ids: Vec<String>,
    /// `[[FiredDirection]]` receive bit: a `track` event was fired and not undone.
    pub fired_recv: bool,
    pub codec_preferences: Vec<RtpCodecCapability>,
    /// Codecs from the last remote description (what the peer offered or answered).
    pub remote_codecs: Vec<RtpCodecParameters>,
    pub remote_extensions: Vec<RtpHeaderExtensionParameters>,
    /// The m-line index in the most recently applied description.
    pub mline: Option<usize>,
    /// The sender's `[[SendEncodings]]` and `[[LastReturnedParameters]]` (webrtc-pc §5.2).
    pub parameters: super::parameters::SenderParameters,
    /// The receiver's `[[JitterBufferTarget]]` (webrtc-pc §5.3), `None`: rtcpeer's default.
    pub jitter_buffer_target: Option<std::time::Duration>,
}

impl Transceiver {
    /// Whether this transceiver takes part in the next offer as a live m-section.
    pub fn is_active(&self) -> bool {
        !self.stopping && !self.stopped
    }

    /// Sets the associated remote streams, telling the API when they change.
    pub(crate) fn set_remote_streams(&mut self, ids: Vec<String>, out: &mut Vec<TransceiverEvent>) {
        if self.remote_stream_ids != ids {
            out.push(TransceiverEvent::RemoteStreams(ids.clone()));
            self.remote_stream_ids = ids;
        }
    }

    /// Mutes the receiver's track (webrtc-pc §4.4.1.5 "set the muted state to true").
    pub(crate) fn mute_receiver(&mut self, out: &mut Vec<TransceiverEvent>) {
        if !self.receiver_muted {
            self.receiver_muted = true;
            out.push(TransceiverEvent::ReceiverMuted(true));
        }
    }

    /// Unmutes the receiver's track: media arrived (webrtc-pc §5.3, "set the muted state to
    /// false" when RTP is received).
    pub(crate) fn unmute_receiver(&mut self, out: &mut Vec<TransceiverEvent>) {
        if self.receiver_muted && !self.receiver_ended {
            self.receiver_muted = false;
            out.push(TransceiverEvent::ReceiverMuted(false));
        }
    }

    /// Ends the receiver's track for good (webrtc-pc §5.4).
    pub(crate) fn end_receiver(&mut self, out: &mut Vec<TransceiverEvent>) {
        if !self.receiver_ended {
            self.receiver_ended = true;
            out.push(TransceiverEvent::ReceiverEnded);
        }
    }
}

impl crate::connection::Negotiator {
    /// Media arrived for transceiver `id`'s receiver: its track unmutes (webrtc-pc §5.3).
    pub(crate) fn unmute_receiver(&mut self, id: TransceiverId) {
        let mut evs = Vec::new();
        if let Some(t) = self.transceiver_mut(id) {
            t.unmute_receiver(&mut evs);
        }
        self.emit_transceiver(id, evs);
    }
}

/// A read-only view of a transceiver (webrtc-pc §5.4) for the API layer: a live one of the
/// connection's set, or the final state of one the connection has forgotten.
#[derive(Debug, Clone, Copy)]
pub struct TransceiverInfo<'a>(Info<'a>);

#[derive(Debug, Clone, Copy)]
enum Info<'a> {
    Live(&'a Transceiver),
    Forgotten(MediaKind),
}

impl<'a> TransceiverInfo<'a> {
    pub(crate) fn live(t: &'a Transceiver) -> Self {
        TransceiverInfo(Info::Live(t))
    }

    /// The state of a transceiver removed from the set and forgotten by the connection
    /// (webrtc-pc §4.4.1.5: stopped, mid null, direction and currentDirection "stopped").
    pub fn forgotten(kind: MediaKind) -> TransceiverInfo<'static> {
        TransceiverInfo(Info::Forgotten(kind))
    }

    /// The media kind.
    pub fn kind(&self) -> MediaKind {
        match self.0 {
            Info::Live(t) => t.kind,
            Info::Forgotten(k) => k,
        }
    }

    /// `mid` (webrtc-pc §5.4): set once a description associated an m-section.
    pub fn mid(&self) -> Option<&'a str> {
        match self.0 {
            Info::Live(t) => t.mid.as_deref(),
            Info::Forgotten(_) => None,
        }
    }

    /// `direction` (webrtc-pc §5.4): the preferred direction, "stopped" after stop().
    pub fn direction(&self) -> RtpTransceiverDirection {
        match self.0 {
            Info::Live(t) => t.direction,
            Info::Forgotten(_) => RtpTransceiverDirection::Stopped,
        }
    }

    /// `currentDirection` (webrtc-pc §5.4): the negotiated direction.
    pub fn current_direction(&self) -> Option<RtpTransceiverDirection> {
        match self.0 {
            Info::Live(t) => t.current_direction,
            Info::Forgotten(_) => Some(RtpTransceiverDirection::Stopped),
        }
    }

    /// `[[Stopping]]` (webrtc-pc §5.4): stop() was called (the stop may not be negotiated yet).
    pub fn stopping(&self) -> bool {
        match self.0 {
            Info::Live(t) => t.stopping,
            Info::Forgotten(_) => true,
        }
    }

    /// `[[Stopped]]` (webrtc-pc §5.4): the stop is final.
    pub fn stopped(&self) -> bool {
        match self.0 {
            Info::Live(t) => t.stopped,
            Info::Forgotten(_) => true,
        }
    }

    /// The sender's track, by reference (webrtc-pc §5.2 `[[SenderTrack]]`); `None` once
    /// forgotten (the API keeps the last track object).
    pub fn sender_track(&self) -> Option<&'a TrackRef> {
        match self.0 {
            Info::Live(t) => t.sender.as_ref(),
            Info::Forgotten(_) => None,
        }
    }

    /// The id of the receiver's track; `None` once forgotten.
    pub fn receiver_track_id(&self) -> Option<&'a str> {
        match self.0 {
            Info::Live(t) => Some(&t.receiver_track_id),
            Info::Forgotten(_) => None,
        }
    }

    /// Whether the receiver's track is muted (webrtc-pc §4.4.1.5).
    pub fn receiver_muted(&self) -> bool {
        match self.0 {
            Info::Live(t) => t.receiver_muted,
            Info::Forgotten(_) => true,
        }
    }

    /// Whether the receiver's track has ended (webrtc-pc §5.4).
    pub fn receiver_ended(&self) -> bool {
        match self.0 {
            Info::Live(t) => t.receiver_ended,
            Info::Forgotten(_) => true,
        }
    }

    /// The ids of the remote streams the receiver's track belongs to
    /// (`[[AssociatedRemoteMediaStreams]]`, webrtc-pc §4.4.1.5).
    pub fn remote_stream_ids(&self) -> &'a [String] {
        match self.0 {
            Info::Live(t) => &t.remote_stream_ids,
            Info::Forgotten(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::cert::{Certificate, CertificateParams};
    use crate::config::Configuration;
    use crate::connection::{Core, CoreEvent, CoreSettings, Event, OfferOptions, SignalingState};
    use crate::error::ErrorKind;
    use crate::util::SeededRandom;

    fn core(seed: u64) -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        Core::new(
            Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(seed)),
        )
    }

    fn exchange(a: &mut Core, b: &mut Core) -> String {
        let offer = a.create_offer(&OfferOptions::default()).unwrap();
        a.set_local_description(Some(offer.clone())).unwrap();
        b.set_remote_description(offer.clone()).unwrap();
        let answer = b.create_answer().unwrap();
        b.set_local_description(Some(answer.clone())).unwrap();
        a.set_remote_description(answer).unwrap();
        offer.sdp
    }

    fn drain(c: &mut Core) -> Vec<Event> {
        std::iter::from_fn(|| c.poll_connection_event()).collect()
    }

    /// Where transceiver `id`'s event `ev` is.
    fn at(events: &[Event], id: TransceiverId, ev: TransceiverEvent) -> usize {
        position(
            events,
            |e| matches!(e, Event::Transceiver(i, x) if *i == id && *x == ev),
        )
    }

    fn position(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
        events
            .iter()
            .position(f)
            .unwrap_or_else(|| panic!("not found in {events:?}"))
    }

    /// The core keeps ids, not track or stream objects: the remote side learns the
    /// receiver's track id and stream ids from events (stream membership before the
    /// signaling state change, `track` after, webrtc-pc §4.4.1.5); addTrack tells tracks
    /// apart by serial (§5.1); a stopped transceiver is forgotten once negotiated.
    #[test]
    fn track_changes_are_told_by_id_and_removed_transceivers_are_forgotten() {
        let mut a = core(1);
        let mut b = core(2);
        let track = TrackRef {
            serial: 7,
            id: "t0".into(),
            kind: MediaKind::Audio,
        };
        let ta = a
            .add_transceiver(
                MediaKind::Audio,
                Some(track.clone()),
                RtpTransceiverDirection::SendRecv,
                vec!["s0".into()],
                true,
            )
            .unwrap();
        let e = a.add_track(track.clone(), vec![], true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidAccess);
        drain(&mut a);
        let offer = exchange(&mut a, &mut b);
        assert!(offer.contains("a=msid:s0 t0\r\n"), "{offer}");

        let events = drain(&mut b);
        let tb = b.transceiver_ids()[0];
        let added = position(
            &events,
            |e| matches!(e, Event::Transceiver(id, TransceiverEvent::Added { kind: MediaKind::Audio, .. }) if *id == tb),
        );
        let streams = at(
            &events,
            tb,
            TransceiverEvent::RemoteStreams(vec!["s0".into()]),
        );
        let state = position(&events, |e| {
            matches!(e, Event::Connection(c)
                if matches!(**c, CoreEvent::SignalingStateChange(SignalingState::HaveRemoteOffer)))
        });
        let fired = position(
            &events,
            |e| matches!(e, Event::Connection(c) if matches!(&**c, CoreEvent::Track { transceiver, stream_ids } if *transceiver == tb && stream_ids == &["s0"])),
        );
        assert!(
            added < streams && streams < state && state < fired,
            "{events:?}"
        );
        let Event::Transceiver(
            _,
            TransceiverEvent::Added {
                receiver_track_id, ..
            },
        ) = &events[added]
        else {
            unreachable!()
        };
        let info = b.transceiver_info(tb).unwrap();
        assert_eq!(info.receiver_track_id(), Some(receiver_track_id.as_str()));
        assert_eq!(info.remote_stream_ids(), ["s0"]);
        assert!(info.receiver_muted() && !info.receiver_ended());
        assert_eq!(a.transceiver_info(ta).unwrap().sender_track(), Some(&track));

        drain(&mut a);
        a.stop_transceiver(ta, true).unwrap();
        let events = drain(&mut a);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(at(&events, ta, TransceiverEvent::ReceiverEnded), 0);
        assert!(matches!(&events[1], Event::Connection(c) if matches!(**c, CoreEvent::NegotiationNeeded)));
        exchange(&mut a, &mut b);
        let events = drain(&mut b);
        assert!(
            at(&events, tb, TransceiverEvent::ReceiverEnded)
                < at(&events, tb, TransceiverEvent::Removed)
        );
        at(&drain(&mut a), ta, TransceiverEvent::Removed);
        for (c, id) in [(&a, ta), (&b, tb)] {
            assert!(c.transceiver_info(id).is_none());
            assert_eq!(c.transceiver_count(), 0);
        }
        let gone = TransceiverInfo::forgotten(MediaKind::Video);
        assert_eq!(gone.kind(), MediaKind::Video);
        assert_eq!(gone.mid(), None);
        assert_eq!(gone.direction(), RtpTransceiverDirection::Stopped);
        assert_eq!(
            gone.current_direction(),
            Some(RtpTransceiverDirection::Stopped)
        );
        assert!(gone.stopped() && gone.receiver_ended());
    }
}
