//! rtcpeer in the `media` scenario ([`crate::media`]).
//!
//! A adds a send-only video transceiver (VP8 is rtcpeer's first video codec, payload type
//! 96, and `payload_type: None` sends the first negotiated one); B answers receive-only.
//! Sending: `RtpSender::send_rtp` (RTP header with the negotiated extensions, the NACK
//! history copy, SRTP, queued for the driver). It returns `None` when its queue (1024
//! packets) is full: the sender then sleeps 1 ms and offers the same packet again.
//! Receiving: `RtpReceiver::recv` in its default per-packet mode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, MediaEvent, MediaKind, OutgoingRtp, PeerConnection, RtpSender,
    RtpTransceiverDirection, TransceiverInit,
};
use serde_json::json;

use crate::measure::Mark;
use crate::media::{MediaWork, Outcome, Packet, Shared, payload, warm_up};
use crate::stack_rtcpeer::gathered;

fn err(what: &str) -> impl Fn(rtcpeer::Error) -> String + '_ {
    move |e| format!("rtcpeer {what}: {e}")
}

/// Connects A → B, runs `work`, closes both.
pub async fn run(work: MediaWork) -> Result<Outcome, String> {
    let a = PeerConnection::new(Configuration::default()).map_err(err("new"))?;
    let b = PeerConnection::new(Configuration::default()).map_err(err("new"))?;
    let (mut a_events, mut b_events) = (a.events(), b.events());
    let init = TransceiverInit {
        direction: RtpTransceiverDirection::SendOnly,
        ..TransceiverInit::default()
    };
    let ta = a
        .add_transceiver(MediaKind::Video, init)
        .map_err(err("addTransceiver"))?;
    let offer = a.create_offer(None).await.map_err(err("createOffer"))?;
    a.set_local_description(Some(offer))
        .await
        .map_err(err("SLD offer"))?;
    gathered(&mut a_events).await?;
    b.set_remote_description(a.local_description().ok_or("A: no description")?)
        .await
        .map_err(err("SRD offer"))?;
    b.set_local_description(None)
        .await
        .map_err(err("SLD answer"))?;
    gathered(&mut b_events).await?;
    a.set_remote_description(b.local_description().ok_or("B: no description")?)
        .await
        .map_err(err("SRD answer"))?;
    let tb = b
        .get_transceivers()
        .into_iter()
        .find(|t| t.kind() == MediaKind::Video)
        .ok_or("B: no video transceiver")?;

    let shared = Arc::new(Shared::default());
    let receiver = tb.receiver();
    let rx_shared = shared.clone();
    let rx_task = tokio::spawn(async move {
        while let Some(e) = receiver.recv().await {
            if let MediaEvent::Rtp(r) = e {
                rx_shared.on_packet(&r.payload, r.payload_type);
            }
        }
    });

    let sender = ta.sender();
    let result = send(&sender, &shared, work).await;
    let (ca, cb) = (a.media_counters(), b.media_counters());
    rx_task.abort();
    a.close();
    b.close();
    let mut o = result?;
    o.extra = json!({ "a": format!("{ca:?}"), "b": format!("{cb:?}") });
    Ok(o)
}

fn rtp(n: u64, warm: bool) -> OutgoingRtp<'static> {
    let p = Packet::nth(n);
    OutgoingRtp {
        payload_type: None,
        timestamp: p.timestamp,
        marker: p.marker,
        payload: payload(warm),
    }
}

async fn send(sender: &RtpSender, shared: &Shared, work: MediaWork) -> Result<Outcome, String> {
    let mut warm = 0u64;
    warm_up(shared, || {
        sender.send_rtp(&rtp(warm, true));
        warm += 1;
        async {}
    })
    .await?;
    let start = Mark::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(work.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let elapsed = start.at.elapsed();
        if work.done(sent, elapsed) {
            break;
        }
        match work.due(elapsed) {
            Some(due) => {
                while sent < due {
                    if sender.send_rtp(&rtp(sent, false)).is_none() {
                        break;
                    }
                    sent += 1;
                }
                tick.tick().await;
            }
            None => {
                // Unpaced: a frame at a time, as long as the stack takes them.
                for _ in 0..crate::media::PER_FRAME {
                    if sender.send_rtp(&rtp(sent, false)).is_none() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        break;
                    }
                    sent += 1;
                }
                tokio::task::yield_now().await;
            }
        }
    }
    let sender_end = Instant::now();
    let end = shared.settle(sent).await;
    Ok(shared.outcome(start, sent, sender_end, end))
}
