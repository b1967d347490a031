//! rtcpeer driven through the scenarios of [`crate::pair`].
//!
//! Default configuration: rtcpeer gathers on 127.0.0.1 only unless told otherwise, so its
//! only host candidate is loopback. Signaling is non-trickle, as for the other stacks: each
//! side waits for the end of gathering (the null `icecandidate`) and hands over its full
//! local description.

use std::time::Instant;

use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, EventStream, Payload, PeerConnection,
    PeerConnectionEvent,
};
use tokio::sync::mpsc;

use crate::measure::Mark;
use crate::pair::{BACKSTOP, Hold, PING, Pacer, PeerMsg, Report, Side, Work, collect};

fn err(what: &str) -> impl Fn(rtcpeer::Error) -> String + '_ {
    move |e| format!("rtcpeer {what}: {e}")
}

/// Waits for the end of gathering: the null candidate.
pub(crate) async fn gathered(events: &mut EventStream) -> Result<(), String> {
    while let Some(e) = events.recv().await {
        if let PeerConnectionEvent::IceCandidate(None) = e {
            return Ok(());
        }
    }
    Err("rtcpeer: events ended before gathering completed".into())
}

/// Runs one pair doing `work`; with `hold`, reports and keeps the pair open until released.
pub async fn run_pair(work: Work, hold: Option<Hold>) -> Result<Report, String> {
    let created = Instant::now();
    let a = PeerConnection::new(Configuration::default()).map_err(err("new"))?;
    let b = PeerConnection::new(Configuration::default()).map_err(err("new"))?;
    let mut a_events = a.events();
    let mut b_events = b.events();
    let dca = a
        .create_data_channel("bench", None)
        .map_err(err("createDataChannel"))?;
    let offer = a.create_offer(None).await.map_err(err("createOffer"))?;
    a.set_local_description(Some(offer))
        .await
        .map_err(err("SLD offer"))?;
    gathered(&mut a_events).await?;
    let offer = a.local_description().ok_or("A: no local description")?;
    b.set_remote_description(offer)
        .await
        .map_err(err("SRD offer"))?;
    b.set_local_description(None)
        .await
        .map_err(err("SLD answer"))?;
    gathered(&mut b_events).await?;
    let answer = b.local_description().ok_or("B: no local description")?;
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
        let mut res = Err("B: events ended before the datachannel event".to_string());
        while let Some(e) = b_events.recv().await {
            if let PeerConnectionEvent::DataChannel(dcb) = e {
                res = side_b(dcb, work, &tx).await;
                break;
            }
        }
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
    a.close();
    b.close();
    result
}

async fn next(events: &mut rtcpeer::DataChannelEvents) -> Result<DataChannelEvent, String> {
    match events.recv().await {
        Some(DataChannelEvent::Close) | None => Err("channel closed".into()),
        Some(DataChannelEvent::Error(e)) => Err(format!("channel error: {e}")),
        Some(e) => Ok(e),
    }
}

async fn wait_open(events: &mut rtcpeer::DataChannelEvents) -> Result<Instant, String> {
    loop {
        if let DataChannelEvent::Open = next(events).await? {
            return Ok(Instant::now());
        }
    }
}

async fn side_a(
    dc: DataChannel,
    work: Work,
    tx: &mpsc::UnboundedSender<PeerMsg>,
) -> Result<(), String> {
    let mut events = dc.events();
    let opened = wait_open(&mut events).await?;
    let _ = tx.send(PeerMsg::Open(Side::A, opened));
    match work {
        Work::Open => Ok(()),
        Work::PingPong => {
            dc.send(&[7u8; PING]).map_err(err("send"))?;
            loop {
                if let DataChannelEvent::Message(m) = next(&mut events).await? {
                    let len = match m {
                        Payload::Binary(b) => b.len(),
                        Payload::Text(t) => t.len(),
                    };
                    let _ = tx.send(PeerMsg::Finished {
                        mark: Mark::now(),
                        bytes: len as u64,
                        msgs: 1,
                    });
                    return Ok(());
                }
            }
        }
        Work::Transfer { .. } => {
            let mut pacer = Pacer::new(work).ok_or("no pacer")?;
            dc.set_buffered_amount_low_threshold(pacer.low_threshold() as u64);
            let payload = vec![0x5a; pacer.msg];
            let mut backstops = 0;
            let _ = tx.send(PeerMsg::Started(Mark::now()));
            while pacer.remaining > 0 {
                if !pacer.fits_estimate() && !pacer.refresh(dc.buffered_amount() as usize) {
                    let low = async {
                        loop {
                            if let DataChannelEvent::BufferedAmountLow = next(&mut events).await? {
                                return Ok::<(), String>(());
                            }
                        }
                    };
                    match tokio::time::timeout(BACKSTOP, low).await {
                        Ok(r) => r?,
                        Err(_) => backstops += 1,
                    }
                    continue;
                }
                dc.send(&payload).map_err(err("send"))?;
                pacer.sent();
            }
            let _ = tx.send(PeerMsg::Backstops(backstops));
            Ok(())
        }
    }
}

async fn side_b(
    dc: DataChannel,
    work: Work,
    tx: &mpsc::UnboundedSender<PeerMsg>,
) -> Result<(), String> {
    let mut events = dc.events();
    let opened = wait_open(&mut events).await?;
    let _ = tx.send(PeerMsg::Open(Side::B, opened));
    let total = match work {
        Work::Open => return Ok(()),
        Work::Transfer { total, .. } => total,
        Work::PingPong => 0,
    };
    let (mut bytes, mut msgs) = (0u64, 0u64);
    loop {
        if let DataChannelEvent::Message(m) = next(&mut events).await? {
            let data = match m {
                Payload::Binary(b) => b,
                Payload::Text(t) => t.into_bytes(),
            };
            if matches!(work, Work::PingPong) {
                dc.send_owned(data).map_err(err("echo"))?;
                continue;
            }
            bytes += data.len() as u64;
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
    }
}
