//! webrtc-rs in the `media` scenario ([`crate::media`]).
//!
//! Set up as its own examples do (`rtp-to-webrtc`, `reflect`): a media engine with VP8 at
//! payload type 96 and the default interceptors (`register_default_interceptors`: NACK
//! generator and responder, TWCC receiver, RTCP sender/receiver reports), both peers on one
//! UDP socket on 127.0.0.1. A adds a `TrackLocalStaticRTP` and writes each packet with
//! `write_rtp` (which waits when the driver's bounded queue is full: its back-pressure);
//! B reads its `TrackRemote` with `poll` (`OnRtpPacket`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, Registry, register_default_interceptors,
};

use crate::measure::Mark;
use crate::media::{MediaWork, Outcome, PER_FRAME, Packet, Shared, payload, warm_up};

const PT: u8 = 96;
const SSRC: u32 = 0x1234_5678;

struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

fn err(what: &str) -> impl Fn(webrtc::error::Error) -> String + '_ {
    move |e| format!("webrtc-rs {what}: {e}")
}

fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/VP8".to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

type Peer = (
    Arc<dyn PeerConnection>,
    mpsc::UnboundedReceiver<()>,
    mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
);

async fn peer() -> Result<Peer, String> {
    let mut media = MediaEngine::default();
    media
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: vp8(),
                payload_type: PT,
            },
            RtpCodecKind::Video,
        )
        .map_err(err("register_codec"))?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(err("register_default_interceptors"))?;
    let (gtx, grx) = mpsc::unbounded_channel();
    let (ttx, trx) = mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler {
            gathered: gtx,
            tracks: ttx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .map_err(err("build"))?;
    Ok((Arc::new(pc), grx, trx))
}

/// Connects A → B, runs `work`, closes both.
pub async fn run(work: MediaWork) -> Result<Outcome, String> {
    let (a, mut a_gathered, _a_tracks) = peer().await?;
    let (b, mut b_gathered, mut b_tracks) = peer().await?;
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "bench-stream".to_string(),
        "bench-video".to_string(),
        "bench-video".to_string(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(SSRC),
                ..Default::default()
            },
            codec: vp8(),
            ..Default::default()
        }],
    )));
    a.add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(err("add_track"))?;
    let offer = a.create_offer(None).await.map_err(err("createOffer"))?;
    a.set_local_description(offer)
        .await
        .map_err(err("SLD offer"))?;
    a_gathered.recv().await.ok_or("A: no gathering complete")?;
    let offer = a.local_description().await.ok_or("A: no description")?;
    b.set_remote_description(offer)
        .await
        .map_err(err("SRD offer"))?;
    let answer = b.create_answer(None).await.map_err(err("createAnswer"))?;
    b.set_local_description(answer)
        .await
        .map_err(err("SLD answer"))?;
    b_gathered.recv().await.ok_or("B: no gathering complete")?;
    let answer = b.local_description().await.ok_or("B: no description")?;
    a.set_remote_description(answer)
        .await
        .map_err(err("SRD answer"))?;

    let shared = Arc::new(Shared::default());
    let rx_shared = shared.clone();
    let rx_task = tokio::spawn(async move {
        // Every track B gets (one expected) is read to its end.
        while let Some(t) = b_tracks.recv().await {
            let s = rx_shared.clone();
            tokio::spawn(async move {
                while let Some(e) = t.poll().await {
                    if let TrackRemoteEvent::OnRtpPacket(p) = e {
                        s.on_packet(&p.payload, p.header.payload_type);
                    }
                }
            });
        }
    });
    let result = send(&track, &shared, work).await;
    rx_task.abort();
    let _ = a.close().await;
    let _ = b.close().await;
    result
}

fn packet(n: u64, seq: u16, warm: bool) -> rtp::Packet {
    let p = Packet::nth(n);
    rtp::Packet {
        header: rtp::header::Header {
            version: 2,
            marker: p.marker,
            payload_type: PT,
            sequence_number: seq,
            timestamp: p.timestamp,
            ssrc: SSRC,
            ..Default::default()
        },
        payload: Bytes::from_static(payload(warm)),
    }
}

async fn send(
    track: &TrackLocalStaticRTP,
    shared: &Shared,
    work: MediaWork,
) -> Result<Outcome, String> {
    let mut seq = 0u16;
    warm_up(shared, || {
        let p = packet(u64::from(seq), seq, true);
        seq = seq.wrapping_add(1);
        async move {
            // Errors before the track is bound and connected are expected.
            let _ = track.write_rtp(p).await;
        }
    })
    .await?;
    let start = Mark::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(work.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let write = |n: u64, seq: u16| track.write_rtp(packet(n, seq, false));
    loop {
        let elapsed = start.at.elapsed();
        if work.done(sent, elapsed) {
            break;
        }
        let due = work.due(elapsed);
        let target = due.unwrap_or(sent + PER_FRAME);
        while sent < target {
            write(sent, seq)
                .await
                .map_err(|e| format!("webrtc-rs write_rtp: {e}"))?;
            seq = seq.wrapping_add(1);
            sent += 1;
        }
        if due.is_some() {
            tick.tick().await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    let sender_end = Instant::now();
    let end = shared.settle(sent).await;
    Ok(shared.outcome(start, sent, sender_end, end))
}
