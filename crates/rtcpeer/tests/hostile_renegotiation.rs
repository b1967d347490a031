//! A remote that adds a new m-section and rejects it in the next offer, again and again
//! (RFC 9429 §5.10, webrtc-pc §4.4.1.5): each round leaves a stopped, removed transceiver.
//! The connection forgets them once negotiation removed them, and handles to forgotten
//! transceivers read the final state of a removed transceiver without panicking. Mids are never reused
//! (RFC 9429 §5.2.2) without keeping one entry per mid ever used.

mod common;

use common::budget;
use common::signaling::exchange;

use rtcpeer::{
    Configuration, ErrorKind, MediaKind, MediaStreamTrackState, PeerConnection,
    RtpTransceiverDirection as Dir, TransceiverInit,
};

#[global_allocator]
static ALLOC: budget::CountingAllocator = budget::CountingAllocator;

const ROUNDS: usize = 2_000;
/// The former cap on removed transceivers kept (64) plus the live one; removed ones are now
/// forgotten at once (see `stopped_transceivers_are_forgotten_and_memory_stays_flat`).
const BOUND: usize = 64 + 1;

fn pc() -> PeerConnection {
    PeerConnection::new(Configuration::default()).expect("default configuration is valid")
}

#[tokio::test]
async fn remote_adds_and_rejects_m_sections_without_end() {
    let local = pc();
    let remote = pc();
    let mut early = Vec::new();
    let mut max_count = 0;
    let mut held_at_200 = 0;
    for round in 0..ROUNDS {
        if round == 200 {
            held_at_200 = budget::thread_live_bytes();
        }
        let kind = if round % 2 == 0 {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        // The remote adds a new m-section (new mid): we create a transceiver for it.
        let rt = remote
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        exchange(&remote, &local).await;
        let ours = local.get_transceivers();
        assert_eq!(ours.len(), 1, "round {round}");
        let t = ours[0].clone();
        assert_eq!(t.kind(), kind);
        assert!(t.mid().is_some());
        if round < 3 {
            early.push((t.clone(), t.receiver(), t.sender(), kind));
        }
        // Then it rejects it (port 0): our transceiver is stopped and removed.
        rt.stop().unwrap();
        exchange(&remote, &local).await;
        assert!(local.get_transceivers().is_empty(), "round {round}");
        assert_eq!(t.direction(), Dir::Stopped);
        max_count = max_count.max(local.transceiver_count());
        assert!(
            local.transceiver_count() <= BOUND,
            "round {round}: {} transceivers kept",
            local.transceiver_count()
        );
        assert!(remote.transceiver_count() <= BOUND, "round {round}");
    }
    assert!(max_count <= BOUND, "{max_count}");
    // What both connections hold stops growing: no per-round state is kept (removed
    // transceivers beyond the cap, mids ever used). Before the fix: ~2,700 bytes a round,
    // then ~114 (the set of used mids).
    assert!(budget::counting());
    let grown = budget::thread_live_bytes() - held_at_200;
    assert!(
        grown < 40_000,
        "{grown} bytes held more after {} rounds",
        ROUNDS - 200
    );
    for (t, r, s, kind) in early {
        assert_eq!(t.kind(), kind);
        assert_eq!(t.mid(), None);
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
        assert_eq!(s.track(), None);
        let track = r.track();
        assert_eq!(track.kind(), kind);
        assert_eq!(track.ready_state(), MediaStreamTrackState::Ended);
        assert_eq!(t.receiver().track(), track);
        assert!(t.ice_transport().is_none());
        // Setters act as on a stopped transceiver (webrtc-pc §5.4, §5.2).
        let e = t.set_direction(Dir::SendRecv).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        t.stop().unwrap();
        let e = s.replace_track(None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        let e = s.set_streams(&[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        // setCodecPreferences has no stopped check (webrtc-pc §5.4): it only validates.
        t.set_codec_preferences(&[]).unwrap();
        local.remove_track(&s).unwrap();
    }
}

/// Rounds of [`stopped_transceivers_are_forgotten_and_memory_stays_flat`].
const CHURN_ROUNDS: usize = 10_000;

/// webrtc-pc §4.4.1.5: once a stopped transceiver's m-section is rejected and negotiation
/// completes, it leaves the set and the connection forgets it. Each round adds a
/// transceiver (with a new stream), stops the previous one and negotiates: both cores hold
/// no more transceivers than are live, memory stays flat (no per-round state: transceivers,
/// track and stream objects without handles), and the handles kept read the final state.
#[tokio::test]
async fn stopped_transceivers_are_forgotten_and_memory_stays_flat() {
    let local = pc();
    let remote = pc();
    let mut events = remote.events();
    let mut prev: Option<rtcpeer::RtpTransceiver> = None;
    let mut early = Vec::new();
    let mut held_at_1000 = 0;
    for round in 0..CHURN_ROUNDS {
        if round == 1_000 {
            held_at_1000 = budget::thread_live_bytes();
        }
        let stream = rtcpeer::MediaStream::new();
        let t = local
            .add_transceiver(
                MediaKind::Audio,
                TransceiverInit {
                    direction: Dir::SendRecv,
                    streams: vec![stream.clone()],
                    ..TransceiverInit::default()
                },
            )
            .unwrap();
        if let Some(p) = prev.take() {
            p.stop().unwrap();
            if round < 4 {
                early.push(p);
            }
        }
        exchange(&local, &remote).await;
        // Live: the new transceiver only; the stopped one was removed and forgotten.
        assert_eq!(local.get_transceivers(), vec![t.clone()], "round {round}");
        assert!(local.transceiver_count() <= 1, "round {round}");
        assert!(remote.transceiver_count() <= 1, "round {round}");
        // The remote's `track` event carries the receiver's track in the new stream.
        let track = common::signaling::drain(&mut events)
            .into_iter()
            .find_map(|e| match e {
                rtcpeer::PeerConnectionEvent::Track(te) => Some(te),
                _ => None,
            })
            .unwrap_or_else(|| panic!("round {round}: no track event"));
        assert_eq!(track.streams.len(), 1);
        assert_eq!(track.streams[0].id(), stream.id());
        assert_eq!(track.streams[0].get_tracks(), vec![track.track.clone()]);
        assert_eq!(track.track.ready_state(), MediaStreamTrackState::Live);
        if round < 4 {
            early.push(track.transceiver.clone());
        }
        prev = Some(t);
    }
    assert!(budget::counting());
    let grown = budget::thread_live_bytes() - held_at_1000;
    assert!(
        grown < 40_000,
        "{grown} bytes held more after {} rounds",
        CHURN_ROUNDS - 1_000
    );
    // Handles of forgotten transceivers (both sides) read the final state of a stopped one.
    for t in early {
        assert!(t.mid().is_none());
        assert_eq!(t.direction(), Dir::Stopped);
        assert_eq!(t.current_direction(), Some(Dir::Stopped));
        assert_eq!(t.kind(), MediaKind::Audio);
        assert_eq!(
            t.receiver().track().ready_state(),
            MediaStreamTrackState::Ended
        );
        let e = t.set_direction(Dir::SendRecv).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
    }
}

/// RFC 9429 §5.2.2: a mid is never reused in a session, also once the remote has used
/// numeric mids far apart or the largest number; allocation never panics.
#[tokio::test]
async fn local_mids_are_not_reused_after_remote_numeric_mids() {
    for remote_mid in ["7", "340282366920938463463374607431768211455", "007", "x0"] {
        let local = pc();
        let remote = pc();
        remote
            .add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let offer = remote.create_offer(None).await.unwrap();
        remote
            .set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        let sdp = offer
            .sdp
            .replace("a=mid:0\r\n", &format!("a=mid:{remote_mid}\r\n"));
        let sdp = sdp.replace("BUNDLE 0", &format!("BUNDLE {remote_mid}"));
        let offer = rtcpeer::SessionDescription::offer(sdp);
        local.set_remote_description(offer).await.unwrap();
        let answer = local.create_answer(None).await.unwrap();
        local.set_local_description(Some(answer)).await.unwrap();
        // Two new local transceivers get mids never used in this session.
        for _ in 0..2 {
            local
                .add_transceiver(MediaKind::Video, TransceiverInit::default())
                .unwrap();
        }
        let offer = local.create_offer(None).await.unwrap();
        let mids: Vec<&str> = offer
            .sdp
            .lines()
            .filter_map(|l| l.strip_prefix("a=mid:"))
            .collect();
        assert_eq!(mids.len(), 3, "{remote_mid}: {mids:?}");
        assert_eq!(mids[0], remote_mid);
        assert!(
            mids[1] != mids[2] && !mids[1..].contains(&remote_mid),
            "{mids:?}"
        );
        if remote_mid == "7" {
            assert_eq!(&mids[1..], ["8", "9"]);
        }
    }
}
