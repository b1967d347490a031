//! Seeded random sequences of signaling operations between two rtcpeer peers. After every
//! completed offer/answer the two sides must agree: descriptions mirror each other, every
//! live m-section pairs transceivers of the same kind with complementary current directions,
//! and every description parses. No operation may panic, whatever order it comes in.

use rtcpeer::{
    Configuration, MediaKind, MediaStream, MediaStreamTrack, OfferOptions, PeerConnection,
    RtpTransceiverDirection as Dir, SessionDescription, SignalingState,
};
use rtcpeer_proto::sdp::Sdp;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DIRS: [Dir; 4] = [Dir::SendRecv, Dir::SendOnly, Dir::RecvOnly, Dir::Inactive];

/// One random local change on `pc` (errors are allowed, panics are not).
fn mutate(pc: &PeerConnection, rng: &mut Rng, log: &mut Vec<String>) {
    let kind = if rng.below(2) == 0 {
        MediaKind::Audio
    } else {
        MediaKind::Video
    };
    let ts = pc.get_transceivers();
    match rng.below(8) {
        0 => {
            log.push(format!("add_transceiver {kind}"));
            let _ = pc.add_transceiver(kind, Default::default());
        }
        1 => {
            log.push(format!("add_track {kind}"));
            let s = MediaStream::new();
            let _ = pc.add_track(&MediaStreamTrack::new(kind, "t"), &[&s]);
        }
        2 if !ts.is_empty() => {
            let i = rng.below(ts.len() as u64) as usize;
            log.push(format!("stop #{i}"));
            let _ = ts[i].stop();
        }
        3 if !ts.is_empty() => {
            let i = rng.below(ts.len() as u64) as usize;
            let d = DIRS[rng.below(4) as usize];
            log.push(format!("direction #{i} {d}"));
            let _ = ts[i].set_direction(d);
        }
        4 => {
            log.push("data channel".into());
            let _ = pc.create_data_channel("d", None);
        }
        5 => {
            log.push("restart_ice".into());
            pc.restart_ice();
        }
        6 if !ts.is_empty() => {
            let senders = pc.get_senders();
            if !senders.is_empty() {
                let i = rng.below(senders.len() as u64) as usize;
                log.push(format!("remove_track #{i}"));
                let _ = pc.remove_track(&senders[i]);
            }
        }
        _ => {}
    }
}

async fn exchange(
    offerer: &PeerConnection,
    answerer: &PeerConnection,
    rng: &mut Rng,
    log: &mut Vec<String>,
) {
    let opts = OfferOptions {
        ice_restart: rng.below(5) == 0,
        ..Default::default()
    };
    let offer = offerer
        .create_offer(Some(opts))
        .await
        .expect("create_offer in stable");
    Sdp::parse(&offer.sdp).expect("our offer parses");
    offerer
        .set_local_description(Some(offer.clone()))
        .await
        .expect("SLD(offer)");
    if rng.below(5) == 0 {
        // Glare: the answerer has its own offer out; the remote offer rolls it back.
        log.push("glare".into());
        answerer
            .set_local_description(None)
            .await
            .expect("the answerer's own offer");
    }
    answerer
        .set_remote_description(offer)
        .await
        .unwrap_or_else(|e| panic!("SRD(offer): {e}\n{log:#?}"));
    // Sometimes roll back and redo, sometimes mutate the answerer in between.
    if rng.below(6) == 0 {
        log.push("answerer rollback + redo".into());
        answerer
            .set_remote_description(SessionDescription::rollback())
            .await
            .expect("rollback");
        answerer
            .set_remote_description(offerer.local_description().unwrap())
            .await
            .expect("SRD(offer) again");
    }
    if rng.below(3) == 0 {
        mutate(answerer, rng, log);
    }
    if rng.below(4) == 0 {
        log.push("pranswer first".into());
        let a = answerer.create_answer(None).await.expect("createAnswer");
        answerer
            .set_local_description(Some(SessionDescription::pranswer(a.sdp.clone())))
            .await
            .expect("SLD(pranswer)");
        offerer
            .set_remote_description(SessionDescription::pranswer(a.sdp))
            .await
            .unwrap_or_else(|e| panic!("SRD(pranswer): {e}\n{log:#?}"));
    }
    answerer
        .set_local_description(None)
        .await
        .unwrap_or_else(|e| panic!("SLD(answer): {e}\n{log:#?}"));
    let answer = answerer.local_description().unwrap();
    Sdp::parse(&answer.sdp).expect("our answer parses");
    offerer
        .set_remote_description(answer)
        .await
        .unwrap_or_else(|e| panic!("SRD(answer): {e}\n{log:#?}"));
}

fn check(a: &PeerConnection, b: &PeerConnection, log: &[String]) {
    assert_eq!(a.signaling_state(), SignalingState::Stable, "{log:#?}");
    assert_eq!(b.signaling_state(), SignalingState::Stable, "{log:#?}");
    assert_eq!(
        a.current_local_description(),
        b.current_remote_description(),
        "{log:#?}"
    );
    assert_eq!(
        b.current_local_description(),
        a.current_remote_description(),
        "{log:#?}"
    );
    let sdp = Sdp::parse(&a.current_local_description().unwrap().sdp).unwrap();
    let answer = Sdp::parse(&b.current_local_description().unwrap().sdp).unwrap();
    assert_eq!(sdp.media.len(), answer.media.len());
    for (om, am) in sdp.media.iter().zip(&answer.media) {
        assert_eq!(om.kind, am.kind, "{log:#?}");
        if om.port == 0 || am.port == 0 || om.kind == "application" {
            continue;
        }
        let mid = om.mid().unwrap();
        let ta = a
            .get_transceivers()
            .into_iter()
            .find(|t| t.mid().as_deref() == Some(mid));
        let tb = b
            .get_transceivers()
            .into_iter()
            .find(|t| t.mid().as_deref() == Some(mid));
        let (Some(ta), Some(tb)) = (ta, tb) else {
            panic!("mid {mid} live in both descriptions but not on both sides\n{log:#?}");
        };
        assert_eq!(ta.kind(), tb.kind(), "{log:#?}");
        let (da, db) = (
            ta.current_direction().unwrap(),
            tb.current_direction().unwrap(),
        );
        assert_eq!(da, db.reversed(), "mid {mid}: {da} vs {db}\n{log:#?}");
    }
}

#[tokio::test]
async fn random_signaling_sequences_keep_both_sides_consistent() {
    for seed in 0..100u64 {
        let mut rng = Rng(seed);
        let mut log = vec![format!("seed {seed}")];
        let a = PeerConnection::new(Configuration::default()).unwrap();
        let b = PeerConnection::new(Configuration::default()).unwrap();
        for _round in 0..8 {
            for _ in 0..rng.below(4) {
                mutate(&a, &mut rng, &mut log);
            }
            for _ in 0..rng.below(3) {
                mutate(&b, &mut rng, &mut log);
            }
            let swap = rng.below(3) == 0;
            log.push(format!("exchange, {} offers", if swap { "b" } else { "a" }));
            if swap {
                exchange(&b, &a, &mut rng, &mut log).await;
            } else {
                exchange(&a, &b, &mut rng, &mut log).await;
            }
            check(&a, &b, &log);
        }
    }
}
