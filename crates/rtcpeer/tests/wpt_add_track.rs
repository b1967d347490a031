//! W3C web-platform-tests behaviours for `addTrack` / `removeTrack` and senders (checklist
//! group 21, WPT-262..272), through the public API. Items are numbered as in
//! `wpt-checklist.md`.
//!
//! Out of scope or not applicable here:
//! - WPT-272: remote stream `removetrack` and track `mute` need RTP flowing: [net][media].

mod common;

use common::signaling::{drain, exchange};
use common::wpt::media::{audio, current_dirs, exchange_answer, init, pc, track_events, video};

use rtcpeer::{
    ErrorKind, MediaKind, MediaStream, MediaStreamTrack, RtpTransceiverDirection as Dir,
    SessionDescription, TransceiverInit,
};

// ===== 21. addTrack / removeTrack =====

#[tokio::test]
async fn wpt_262_add_track_on_closed_pc_and_twice() {
    let pc = pc();
    let track = audio();
    pc.add_track(&track, &[]).unwrap();
    let e = pc.add_track(&track, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess);
    assert_eq!(pc.get_transceivers().len(), 1);
    pc.close();
    let e = pc.add_track(&audio(), &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
}

#[tokio::test]
async fn wpt_263_add_track_creates_one_transceiver() {
    let pc = pc();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender.track(), Some(track.clone()));
    let ts = pc.get_transceivers();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].sender(), sender);
    assert_eq!(pc.get_senders(), vec![sender]);
    assert_eq!(ts[0].receiver().track().kind(), MediaKind::Audio);
    assert_eq!(pc.get_receivers(), vec![ts[0].receiver()]);

    let s1 = MediaStream::new();
    let s2 = MediaStream::new();
    let t1 = video();
    let sender = pc.add_track(&t1, &[&s1]).unwrap();
    assert_eq!(sender.track(), Some(t1));
    let t2 = audio();
    let sender = pc.add_track(&t2, &[&s1, &s2]).unwrap();
    assert_eq!(sender.track(), Some(t2));
    assert_eq!(pc.get_senders().len(), 3);
}

#[tokio::test]
async fn wpt_264_add_track_reuses_unused_transceiver() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(sender.track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(pc.get_senders().len(), 1);
    // Not reused for another kind.
    pc.add_track(&video(), &[]).unwrap();
    assert_eq!(pc.get_senders().len(), 2);
}

#[tokio::test]
async fn wpt_267_remove_track_with_foreign_sender_throws_invalid_access() {
    let pc1 = pc();
    let pc2 = pc();
    let foreign = pc2.add_track(&audio(), &[]).unwrap();
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidAccess);
    // On a closed pc the answer is InvalidStateError even for a foreign sender.
    pc1.close();
    let e = pc1.remove_track(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(foreign.track().is_some());
}

#[tokio::test]
async fn wpt_268_remove_track_before_negotiation() {
    let pc = pc();
    let sender = pc.add_track(&audio(), &[]).unwrap();
    let t = pc.get_transceivers()[0].clone();
    assert_eq!(t.direction(), Dir::SendRecv);
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(pc.get_senders().len(), 1, "the sender stays");
}

#[tokio::test]
async fn wpt_269_remove_track_after_negotiation_sendrecv_and_sendonly() {
    // currentDirection sendrecv: pc2 also sends.
    let pc1 = pc();
    let pc2 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.add_track(&audio(), &[]).unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let t = pc1.get_transceivers()[0].clone();
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));
    pc1.remove_track(&sender).unwrap();
    assert_eq!(t.direction(), Dir::RecvOnly);
    assert_eq!(t.current_direction(), Some(Dir::SendRecv));

    // currentDirection sendonly: pc2 has no track.
    let pc1 = pc();
    let pc2 = pc();
    let sender = pc1.add_track(&audio(), &[]).unwrap();
    let t = pc1.get_transceivers()[0].clone();
    t.set_direction(Dir::SendOnly).unwrap();
    exchange(&pc1, &pc2).await;
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    pc1.remove_track(&sender).unwrap();
    assert_eq!(t.direction(), Dir::Inactive);
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
}

#[tokio::test]
async fn wpt_269_remove_track_with_recvonly_or_inactive_direction_keeps_it() {
    for dir in [Dir::RecvOnly, Dir::Inactive] {
        let pc1 = pc();
        let pc2 = pc();
        let sender = pc1.add_track(&audio(), &[]).unwrap();
        let t = pc1.get_transceivers()[0].clone();
        t.set_direction(dir).unwrap();
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer).await.unwrap();
        pc2.add_track(&audio(), &[]).unwrap();
        let answer = pc2.create_answer(None).await.unwrap();
        pc2.set_local_description(Some(answer.clone()))
            .await
            .unwrap();
        pc1.set_remote_description(answer).await.unwrap();
        assert_eq!(t.current_direction(), Some(dir));
        pc1.remove_track(&sender).unwrap();
        assert_eq!(sender.track(), None);
        assert_eq!(t.direction(), dir);
        assert_eq!(t.current_direction(), Some(dir));
    }
}

#[tokio::test]
async fn wpt_270_remove_track_noops() {
    // Stopped transceiver: no-op, track unchanged.
    let pc = pc();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    pc.get_transceivers()[0].stop().unwrap();
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), Some(track));
    // Track already replaced with null: no error, stays null.
    let pc = self::pc();
    let sender = pc.add_track(&audio(), &[]).unwrap();
    sender.replace_track(None).await.unwrap();
    let mut ev = pc.events();
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert_eq!(pc.get_transceivers()[0].direction(), Dir::SendRecv);
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_270_remove_track_after_remote_rollback_is_a_noop() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_track(&audio(), &[]).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let sender = pc2.get_senders()[0].clone();
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(pc2.get_senders().is_empty());
    let mut ev = pc2.events();
    pc2.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
    assert!(drain(&mut ev).is_empty());
}

#[tokio::test]
async fn wpt_264_add_track_reuses_unused_sendrecv_transceiver() {
    // The current spec has no direction criterion: a never-used sendrecv sender is reused.
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let track = audio();
    let sender = pc.add_track(&track, &[]).unwrap();
    assert_eq!(sender, t.sender());
    assert_eq!(sender.track(), Some(track));
    assert_eq!(t.direction(), Dir::SendRecv);
    assert_eq!(pc.get_senders().len(), 1);
    // An inactive one becomes sendonly.
    let t2 = pc
        .add_transceiver(MediaKind::Video, init(Dir::Inactive))
        .unwrap();
    let s2 = pc.add_track(&video(), &[]).unwrap();
    assert_eq!(s2, t2.sender());
    assert_eq!(t2.direction(), Dir::SendOnly);
    // A stopped one is not reused.
    let t3 = pc
        .add_transceiver(MediaKind::Audio, init(Dir::RecvOnly))
        .unwrap();
    t3.stop().unwrap();
    let s3 = pc.add_track(&audio(), &[]).unwrap();
    assert_ne!(s3, t3.sender());
    assert_eq!(t3.sender().track(), None);
}

#[tokio::test]
async fn wpt_264_add_track_does_not_reuse_sender_that_has_sent() {
    let caller = pc();
    let callee = pc();
    let track = audio();
    let t = caller
        .add_transceiver(track.clone(), TransceiverInit::default())
        .unwrap();
    exchange(&caller, &callee).await;
    assert_eq!(t.current_direction(), Some(Dir::SendOnly));
    t.sender().replace_track(None).await.unwrap();
    let sender = caller.add_track(&track, &[]).unwrap();
    assert_ne!(sender, t.sender());
    assert_eq!(caller.get_senders().len(), 2);
    assert_eq!(t.sender().track(), None);
}

#[tokio::test]
async fn wpt_269_remove_and_readd_track() {
    // As RTCRtpTransceiver.https.html checkRemoveAndReadd.
    let pc1 = pc();
    let pc2 = pc();
    let (track, stream) = (audio(), MediaStream::new());
    pc1.add_track(&track, &[&stream]).unwrap();
    exchange(&pc1, &pc2).await;
    pc1.remove_track(&pc1.get_senders()[0]).unwrap();
    pc1.add_track(&track, &[&stream]).unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts.len(), 2, "the used sender is not reused");
    assert_eq!(ts[0].sender().track(), None);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert_eq!(ts[1].sender().track(), Some(track.clone()));
    assert_eq!(ts[1].direction(), Dir::SendRecv);
    exchange(&pc1, &pc2).await;
    assert_eq!(
        current_dirs(&pc2),
        [Some(Dir::Inactive), Some(Dir::RecvOnly)]
    );
    pc1.remove_track(&pc1.get_senders()[1]).unwrap();
    pc1.add_track(&track, &[&stream]).unwrap();
    let dirs: Vec<(Option<MediaStreamTrack>, Dir)> = pc1
        .get_transceivers()
        .iter()
        .map(|t| (t.sender().track(), t.direction()))
        .collect();
    assert_eq!(
        dirs,
        [
            (None, Dir::RecvOnly),
            (None, Dir::RecvOnly),
            (Some(track.clone()), Dir::SendRecv)
        ]
    );
    // pc1 answers; pc2 adds a transceiver for the re-added track to attach to.
    pc2.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    exchange(&pc2, &pc1).await;
    assert_eq!(
        current_dirs(&pc2),
        [
            Some(Dir::Inactive),
            Some(Dir::Inactive),
            Some(Dir::SendRecv)
        ]
    );
}

#[tokio::test]
async fn wpt_270_add_remove_on_existing_transceiver_then_associated() {
    let pc = pc();
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let (track, stream) = (audio(), MediaStream::new());
    let sender = pc.add_track(&track, &[&stream]).unwrap();
    pc.remove_track(&sender).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer)).await.unwrap();
    let sender = pc.add_track(&track, &[&stream]).unwrap();
    assert_eq!(pc.get_senders().len(), 1, "still reusable: it never sent");
    pc.remove_track(&sender).unwrap();
    assert_eq!(sender.track(), None);
}

#[tokio::test]
async fn wpt_269_remove_track_negotiation_updates_remote_streams() {
    // As RTCRtpTransceiver.https.html checkRemoveTrackNegotiation, observing the remote
    // stream's membership (the removetrack/addtrack events themselves need media events).
    let pc1 = pc();
    let pc2 = pc();
    let stream = MediaStream::new();
    pc1.add_track(&audio(), &[&stream]).unwrap();
    pc1.add_track(&video(), &[&stream]).unwrap();
    pc1.get_transceivers()[1]
        .set_direction(Dir::SendOnly)
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let mut ev2 = pc2.events();
    pc2.set_remote_description(offer).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 2);
    for t in &tracks {
        let ids: Vec<&str> = t.streams.iter().map(|s| s.id()).collect();
        assert_eq!(ids, [stream.id()]);
    }
    let receive_stream = tracks[0].streams[0].clone();
    assert_eq!(receive_stream.get_tracks().len(), 2);
    // Rollback takes both tracks out of the stream.
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert!(receive_stream.get_tracks().is_empty());
    // The next offer puts the new receivers' tracks in (the same stream object).
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let tracks = track_events(&drain(&mut ev2));
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].streams[0], receive_stream);
    let in_stream = receive_stream.get_tracks();
    assert_eq!(in_stream.len(), 2);
    assert!(tracks.iter().all(|t| in_stream.contains(&t.track)));
    pc1.set_local_description(Some(offer)).await.unwrap();
    exchange_answer(&pc1, &pc2).await;

    pc1.remove_track(&pc1.get_senders()[0]).unwrap();
    let ts = pc1.get_transceivers();
    assert_eq!(ts[0].sender().track(), None);
    assert_eq!(ts[0].direction(), Dir::RecvOnly);
    assert!(ts[1].sender().track().is_some());
    assert_eq!(ts[1].direction(), Dir::SendOnly);
    pc1.remove_track(&pc1.get_senders()[1]).unwrap();
    assert_eq!(ts[1].sender().track(), None);
    assert_eq!(ts[1].direction(), Dir::Inactive);
    // pc1 offers: pc2's SRD takes both tracks out of the stream; rollback puts them back.
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert!(receive_stream.get_tracks().is_empty());
    pc2.set_remote_description(SessionDescription::rollback())
        .await
        .unwrap();
    assert_eq!(receive_stream.get_tracks().len(), 2);
    // pc2 offers; pc1's answer (not sending) takes them out at pc2's SRD(answer).
    exchange(&pc2, &pc1).await;
    assert!(receive_stream.get_tracks().is_empty());
    assert_eq!(
        current_dirs(&pc2),
        [Some(Dir::Inactive), Some(Dir::Inactive)]
    );
}
