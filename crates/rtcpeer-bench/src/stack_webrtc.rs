//! webrtc-rs (`webrtc` crate, async API) driven through the scenarios of [`crate::pair`].
//!
//! Both peers bind one UDP socket on 127.0.0.1 (`with_udp_addrs`), so their only host
//! candidate is loopback. Default configuration otherwise (no STUN/TURN, mDNS query-only).
//! Signaling is non-trickle: each side waits for gathering to complete and hands over its
//! full local description, as with the other stacks.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
};

use crate::measure::Mark;
use crate::pair::{BACKSTOP, Hold, PING, Pacer, PeerMsg, Report, Side, Work, collect};

/// Forwards the two callbacks we need into channels (the callbacks run on the driver; they
/// must return at once).
struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    channel: mpsc::UnboundedSender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.channel.send(dc);
    }
}

type Peer = (
    Arc<dyn PeerConnection>,
    mpsc::UnboundedReceiver<()>,
    mpsc::UnboundedReceiver<Arc<dyn DataChannel>>,
);

async fn peer() -> Result<Peer, String> {
    let (gtx, grx) = mpsc::unbounded_channel();
    let (ctx, crx) = mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_handler(Arc::new(Handler {
            gathered: gtx,
            channel: ctx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .map_err(|e| format!("webrtc-rs build: {e}"))?;
    Ok((Arc::new(pc), grx, crx))
}

fn err(what: &str) -> impl Fn(webrtc::error::Error) -> String + '_ {
    move |e| format!("webrtc-rs {what}: {e}")
}

/// Runs one pair doing `work`; with `hold`, reports and keeps the pair open until released.
pub async fn run_pair(work: Work, hold: Option<Hold>) -> Result<Report, String> {
    let created = Instant::now();
    let (a, mut a_gathered, _a_channels) = peer().await?;
    let (b, mut b_gathered, mut b_channels) = peer().await?;
    let dca = a
        .create_data_channel("bench", None)
        .await
        .map_err(err("createDataChannel"))?;
    let offer = a.create_offer(None).await.map_err(err("createOffer"))?;
    a.set_local_description(offer)
        .await
        .map_err(err("SLD offer"))?;
    a_gathered.recv().await.ok_or("A: no gathering complete")?;
    let offer = a
        .local_description()
        .await
        .ok_or("A: no local description")?;
    b.set_remote_description(offer)
        .await
        .map_err(err("SRD offer"))?;
    let answer = b.create_answer(None).await.map_err(err("createAnswer"))?;
    b.set_local_description(answer)
        .await
        .map_err(err("SLD answer"))?;
    b_gathered.recv().await.ok_or("B: no gathering complete")?;
    let answer = b
        .local_description()
        .await
        .ok_or("B: no local description")?;
    a.set_remote_description(answer)
        .await
        .map_err(err("SRD answer"))?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let txa = tx.clone();
    let task_a = tokio::spawn(async move {
        if let Err(e) = side_a(dca, work, &txa).await {
            let _ = txa.send(PeerMsg::Failed(e));
        }
    });
    let task_b = tokio::spawn(async move {
        let res = match b_channels.recv().await {
            Some(dcb) => side_b(dcb, work, &tx).await,
            None => Err("B: no datachannel event".to_string()),
        };
        if let Err(e) = res {
            let _ = tx.send(PeerMsg::Failed(e));
        }
    });
    let result = collect(work, created, &mut rx).await;
    if let (Ok(r), Some(mut h)) = (&result, hold) {
        h.park(*r).await;
    }
    task_a.abort();
    task_b.abort();
    let _ = a.close().await;
    let _ = b.close().await;
    result
}

async fn wait_open(dc: &Arc<dyn DataChannel>) -> Result<Instant, String> {
    loop {
        match dc.poll().await {
            Some(DataChannelEvent::OnOpen) => return Ok(Instant::now()),
            Some(DataChannelEvent::OnClose) | None => return Err("closed before open".into()),
            Some(_) => {}
        }
    }
}

async fn side_a(
    dc: Arc<dyn DataChannel>,
    work: Work,
    tx: &mpsc::UnboundedSender<PeerMsg>,
) -> Result<(), String> {
    let opened = wait_open(&dc).await?;
    let _ = tx.send(PeerMsg::Open(Side::A, opened));
    match work {
        Work::Open => Ok(()),
        Work::PingPong => {
            dc.send(BytesMut::from(&[7u8; PING][..]))
                .await
                .map_err(err("send"))?;
            loop {
                match dc.poll().await {
                    Some(DataChannelEvent::OnMessage(m)) => {
                        let _ = tx.send(PeerMsg::Finished {
                            mark: Mark::now(),
                            bytes: m.data.len() as u64,
                            msgs: 1,
                        });
                        return Ok(());
                    }
                    Some(DataChannelEvent::OnClose) | None => return Err("A closed".into()),
                    Some(_) => {}
                }
            }
        }
        Work::Transfer { .. } => {
            let mut pacer = Pacer::new(work).ok_or("no pacer")?;
            dc.set_buffered_amount_low_threshold(pacer.low_threshold() as u32)
                .await
                .map_err(err("set threshold"))?;
            let payload = vec![0x5a; pacer.msg];
            let mut backstops = 0;
            let _ = tx.send(PeerMsg::Started(Mark::now()));
            while pacer.remaining > 0 {
                if !pacer.fits_estimate() {
                    // webrtc-rs has no bufferedAmount getter in its async API; its
                    // `outstanding_bytes` is the same quantity (sent, not yet acknowledged).
                    let buffered = dc.outstanding_bytes().await.map_err(err("buffered"))?;
                    if !pacer.refresh(buffered) {
                        match tokio::time::timeout(BACKSTOP, wait_low(&dc)).await {
                            Ok(r) => r?,
                            Err(_) => backstops += 1,
                        }
                        continue;
                    }
                }
                dc.send(BytesMut::from(&payload[..]))
                    .await
                    .map_err(err("send"))?;
                pacer.sent();
            }
            let _ = tx.send(PeerMsg::Backstops(backstops));
            Ok(())
        }
    }
}

async fn wait_low(dc: &Arc<dyn DataChannel>) -> Result<(), String> {
    loop {
        match dc.poll().await {
            Some(DataChannelEvent::OnBufferedAmountLow) => return Ok(()),
            Some(DataChannelEvent::OnClose) | None => return Err("A closed".into()),
            Some(_) => {}
        }
    }
}

async fn side_b(
    dc: Arc<dyn DataChannel>,
    work: Work,
    tx: &mpsc::UnboundedSender<PeerMsg>,
) -> Result<(), String> {
    let opened = wait_open(&dc).await?;
    let _ = tx.send(PeerMsg::Open(Side::B, opened));
    let total = match work {
        Work::Open => return Ok(()),
        Work::Transfer { total, .. } => total,
        Work::PingPong => 0,
    };
    let (mut bytes, mut msgs) = (0u64, 0u64);
    loop {
        match dc.poll().await {
            Some(DataChannelEvent::OnMessage(m)) => {
                if matches!(work, Work::PingPong) {
                    dc.send(m.data).await.map_err(err("echo"))?;
                    continue;
                }
                bytes += m.data.len() as u64;
                msgs += 1;
                if bytes >= total {
                    let _ = tx.send(PeerMsg::Finished {
                        mark: Mark::now(),
                        bytes,
                        msgs,
                    });
                    return Ok(());
                }
            }
            Some(DataChannelEvent::OnClose) | None => return Err("B closed".into()),
            Some(_) => {}
        }
    }
}
