//! The legacy stream API (issue 13 item 6; Chromium's semantics): `addStream`,
//! `removeStream`, `getLocalStreams`, `getRemoteStreams`, `getStreamById`, the `addstream` /
//! `removestream` events, and `MediaStream`'s `addtrack` / `removetrack` events
//! (mediacapture-main §4.3.1: fired only for changes the user agent makes).
#![allow(deprecated)]

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{audio, pc, video};
use rtcpeer::{ErrorKind, MediaStream, MediaStreamEvent, PeerConnection, PeerConnectionEvent};

fn stream_of(tracks: &[&rtcpeer::MediaStreamTrack]) -> MediaStream {
    let s = MediaStream::new();
    for t in tracks {
        s.add_track(t);
    }
    s
}

/// A compact trace of the legacy and track events: "add:<id>", "remove:<id>", "track".
fn legacy_trace(events: &[PeerConnectionEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerConnectionEvent::AddStream(s) => Some(format!("add:{}", s.id())),
            PeerConnectionEvent::RemoveStream(s) => Some(format!("remove:{}", s.id())),
            PeerConnectionEvent::Track(_) => Some("track".into()),
            _ => None,
        })
        .collect()
}

/// addStream adds one sender per track, with the stream as the senders' stream (its id in
/// `a=msid`); adding it again, or another stream object with its id, changes nothing.
#[tokio::test]
async fn add_stream_adds_a_sender_per_track_once() {
    let pc = pc();
    let (a, v) = (audio(), video());
    let s = stream_of(&[&a, &v]);
    pc.add_stream(&s).unwrap();
    let tracks: Vec<_> = pc.get_senders().iter().filter_map(|x| x.track()).collect();
    assert_eq!(tracks, vec![a.clone(), v.clone()]);
    assert_eq!(pc.get_local_streams(), vec![s.clone()]);
    pc.add_stream(&s).unwrap();
    pc.add_stream(&MediaStream::with_id(s.id())).unwrap();
    assert_eq!(pc.get_senders().len(), 2);
    assert_eq!(pc.get_local_streams(), vec![s.clone()]);
    assert_eq!(pc.get_stream_by_id(s.id()), Some(s.clone()));
    assert_eq!(pc.get_stream_by_id("nope"), None);
    let offer = pc.create_offer(None).await.unwrap();
    let msids = offer
        .sdp
        .lines()
        .filter(|l| l.starts_with(&format!("a=msid:{} ", s.id())))
        .count();
    assert_eq!(msids, 2);
    pc.close();
}

/// A track that already has a sender is not added twice (addTrack would throw
/// InvalidAccessError); the others are.
#[tokio::test]
async fn add_stream_skips_tracks_already_sent() {
    let pc = pc();
    let (a, v) = (audio(), video());
    pc.add_track(&a, &[]).unwrap();
    pc.add_stream(&stream_of(&[&a, &v])).unwrap();
    let tracks: Vec<_> = pc.get_senders().iter().filter_map(|x| x.track()).collect();
    assert_eq!(tracks, vec![a, v]);
    pc.close();
}

/// removeStream is removeTrack for the stream's senders; a stream never added is a no-op;
/// both methods throw InvalidStateError once closed.
#[tokio::test]
async fn remove_stream_removes_its_senders() {
    let pc = pc();
    let (a, v, other) = (audio(), video(), audio());
    let s = stream_of(&[&a, &v]);
    pc.add_track(&other, &[]).unwrap();
    pc.add_stream(&s).unwrap();
    pc.remove_stream(&MediaStream::new()).unwrap();
    assert_eq!(
        pc.get_senders()
            .iter()
            .filter(|x| x.track().is_some())
            .count(),
        3
    );
    pc.remove_stream(&s).unwrap();
    let tracks: Vec<_> = pc.get_senders().iter().filter_map(|x| x.track()).collect();
    assert_eq!(tracks, vec![other]);
    assert!(pc.get_local_streams().is_empty());
    assert_eq!(pc.get_stream_by_id(s.id()), None);
    pc.close();
    assert_eq!(
        pc.add_stream(&s).unwrap_err().kind(),
        ErrorKind::InvalidState
    );
    assert_eq!(
        pc.remove_stream(&s).unwrap_err().kind(),
        ErrorKind::InvalidState
    );
}

/// `addstream` fires once per new remote stream, before the `track` events of the same
/// description; getRemoteStreams / getStreamById find the stream; once the remote removes the
/// stream's tracks, `removestream` fires and the stream is gone from getRemoteStreams.
#[tokio::test]
async fn addstream_removestream_and_get_remote_streams() {
    let (pc1, pc2) = (pc(), pc());
    let s = stream_of(&[&audio(), &video()]);
    pc1.add_stream(&s).unwrap();
    let mut ev2 = pc2.events();
    exchange(&pc1, &pc2).await;
    let events = drain(&mut ev2);
    let add = format!("add:{}", s.id());
    assert_eq!(legacy_trace(&events), vec![add.as_str(), "track", "track"]);
    let remote = pc2.get_remote_streams();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id(), s.id());
    assert_eq!(remote[0].get_tracks().len(), 2);
    assert_eq!(pc2.get_stream_by_id(s.id()), Some(remote[0].clone()));
    assert!(pc2.get_local_streams().is_empty());
    let added = events
        .iter()
        .find_map(|e| match e {
            PeerConnectionEvent::AddStream(x) => Some(x.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(added, remote[0]);

    pc1.remove_stream(&s).unwrap();
    exchange(&pc1, &pc2).await;
    let events = drain(&mut ev2);
    assert_eq!(legacy_trace(&events), vec![format!("remove:{}", s.id())]);
    assert!(pc2.get_remote_streams().is_empty());
    assert_eq!(pc2.get_stream_by_id(s.id()), None);
    pc1.close();
    pc2.close();
}

/// `addtrack` / `removetrack` fire on a remote stream when a remote description adds or
/// removes a track of it, and never for the application's own `addTrack` / `removeTrack`
/// (mediacapture-main §4.3.1).
#[tokio::test]
async fn media_stream_addtrack_and_removetrack_events() {
    let (pc1, pc2): (PeerConnection, PeerConnection) = (pc(), pc());
    let s = MediaStream::new();
    let mut local_events = s.events();
    pc1.add_track(&audio(), &[&s]).unwrap();
    exchange(&pc1, &pc2).await;
    let remote = pc2.get_stream_by_id(s.id()).expect("remote stream");
    let mut rev = remote.events();

    let v = video();
    let vs = pc1.add_track(&v, &[&s]).unwrap();
    exchange(&pc1, &pc2).await;
    let Some(MediaStreamEvent::AddTrack(t)) = rev.try_recv() else {
        panic!("no addtrack");
    };
    assert_eq!(t.kind(), rtcpeer::MediaKind::Video);
    assert!(remote.get_tracks().contains(&t));
    assert_eq!(rev.try_recv(), None);

    pc1.remove_track(&vs).unwrap();
    exchange(&pc1, &pc2).await;
    assert_eq!(
        rev.try_recv(),
        Some(MediaStreamEvent::RemoveTrack(t.clone()))
    );
    assert!(!remote.get_tracks().contains(&t));
    assert_eq!(rev.try_recv(), None);

    // The application's own changes fire nothing, on remote and local streams alike.
    remote.add_track(&t);
    remote.remove_track(&t);
    s.add_track(&v);
    s.remove_track(&v);
    assert_eq!(rev.try_recv(), None);
    assert_eq!(local_events.try_recv(), None);
    assert_eq!(rev.dropped_events(), 0);
    pc1.close();
    pc2.close();
}
