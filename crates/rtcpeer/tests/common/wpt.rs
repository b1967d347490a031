//! Helpers shared by the WPT-derived test files (`tests/wpt_*.rs`), one module per family
//! of files.

pub mod media {
    //! Helpers of the group 12, 17, 19, 21, 22 and 23 files (negotiationneeded, close,
    //! createDataChannel, addTrack, transceivers, codec preferences).

    use rtcpeer::Configuration;
    use rtcpeer::{
        MediaKind, MediaStreamTrack, PeerConnection, PeerConnectionEvent,
        RtpTransceiverDirection as Dir, SessionDescription, TransceiverInit,
    };

    pub fn pc() -> PeerConnection {
        PeerConnection::new(Configuration::default()).expect("default configuration is valid")
    }

    pub fn audio() -> MediaStreamTrack {
        MediaStreamTrack::new(MediaKind::Audio, "a")
    }

    pub fn video() -> MediaStreamTrack {
        MediaStreamTrack::new(MediaKind::Video, "v")
    }

    pub fn init(direction: Dir) -> TransceiverInit {
        TransceiverInit {
            direction,
            ..TransceiverInit::default()
        }
    }

    pub fn nn_count(events: &[PeerConnectionEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, PeerConnectionEvent::NegotiationNeeded))
            .count()
    }

    pub fn track_events(events: &[PeerConnectionEvent]) -> Vec<rtcpeer::TrackEvent> {
        events
            .iter()
            .filter_map(|e| match e {
                PeerConnectionEvent::Track(t) => Some((**t).clone()),
                _ => None,
            })
            .collect()
    }

    /// A compact trace: "ss:<state>" for signalingstatechange, "nn", "track" (ICE events, which
    /// arrive from the network driver at their own pace, are left out).
    pub fn trace(events: &[PeerConnectionEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                PeerConnectionEvent::SignalingStateChange(s) => Some(format!("ss:{s}")),
                PeerConnectionEvent::NegotiationNeeded => Some("nn".to_string()),
                PeerConnectionEvent::Track(_) => Some("track".to_string()),
                _ => None,
            })
            .collect()
    }

    /// The `m=` lines of a description.
    pub fn m_lines(d: &SessionDescription) -> Vec<String> {
        d.sdp
            .lines()
            .filter(|l| l.starts_with("m="))
            .map(str::to_string)
            .collect()
    }

    /// pc2 answers pc1's applied offer (the second half of an exchange).
    pub async fn exchange_answer(pc1: &PeerConnection, pc2: &PeerConnection) {
        let answer = pc2.create_answer(None).await.unwrap();
        pc2.set_local_description(Some(answer.clone()))
            .await
            .unwrap();
        pc1.set_remote_description(answer).await.unwrap();
    }

    /// `currentDirection` of every transceiver of `pc`.
    pub fn current_dirs(pc: &PeerConnection) -> Vec<Option<Dir>> {
        pc.get_transceivers()
            .iter()
            .map(|t| t.current_direction())
            .collect()
    }
}

pub mod remote {
    //! Helpers of the group 8, 9, 10 and 16 files (setRemoteDescription, signaling events,
    //! SDP rules, perfect negotiation).

    use crate::common::signaling::drain;
    use rtcpeer::*;
    use rtcpeer_proto::sdp::Sdp;
    use std::time::Duration;

    pub fn pc() -> PeerConnection {
        PeerConnection::new(Configuration::default()).expect("default configuration is valid")
    }

    pub fn audio(label: &str) -> MediaStreamTrack {
        MediaStreamTrack::new(MediaKind::Audio, label)
    }

    pub fn video(label: &str) -> MediaStreamTrack {
        MediaStreamTrack::new(MediaKind::Video, label)
    }

    /// The signalingstatechange sequence queued on the stream so far (other events dropped).
    pub fn states(ev: &mut EventStream) -> Vec<String> {
        drain(ev)
            .into_iter()
            .filter_map(|e| match e {
                PeerConnectionEvent::SignalingStateChange(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    pub fn count_nn(events: &[PeerConnectionEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, PeerConnectionEvent::NegotiationNeeded))
            .count()
    }

    pub fn parse(desc: &SessionDescription) -> Sdp {
        Sdp::parse(&desc.sdp).expect("generated SDP parses")
    }

    /// `text` with every occurrence of `from` replaced, asserting it occurred.
    pub fn edit(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "SDP lacks {from:?}");
        text.replace(from, to)
    }

    /// A description of the same type with the SDP rewritten by `f`.
    pub fn munge(d: &SessionDescription, f: impl FnOnce(&str) -> String) -> SessionDescription {
        SessionDescription::new(d.sdp_type, f(&d.sdp))
    }

    /// Bounds a whole test body so a chain deadlock fails instead of hanging.
    pub async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("no deadlock: the operations completed in time")
    }
}

pub mod local {
    //! Helpers of the group 1–7 files (constructor and configuration, createOffer/createAnswer,
    //! setLocalDescription).

    use crate::common::signaling::drain;
    use rtcpeer::{
        Configuration, EventStream, PeerConnection, PeerConnectionEvent, TransceiverInit,
    };

    pub fn pc() -> PeerConnection {
        PeerConnection::new(Configuration::default()).expect("default configuration")
    }

    /// The error name of a result, or "ok".
    pub fn name<T>(r: &rtcpeer::Result<T>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.name(),
        }
    }

    /// The signaling states of the `signalingstatechange` events already delivered to `ev`.
    pub fn states(ev: &mut EventStream) -> Vec<String> {
        drain(ev)
            .into_iter()
            .filter_map(|e| match e {
                PeerConnectionEvent::SignalingStateChange(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    pub fn audio() -> TransceiverInit {
        TransceiverInit::default()
    }

    pub fn count(sdp: &str, prefix: &str) -> usize {
        sdp.lines().filter(|l| l.starts_with(prefix)).count()
    }
}
