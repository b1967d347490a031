//! str0m in the `media` scenario ([`crate::media`]).
//!
//! Both peers in RTP mode (`set_rtp_mode(true)`), so the receiver gets each packet as
//! `Event::RtpPacket` (no depacketizing, like the other stacks' per-packet receive) and the
//! sender writes packets with `StreamTx::write_rtp` (NACK-able, as video is with its frame
//! API). A offers a send-only video m-section through the SDP API; the payload type is the
//! negotiated VP8 one. str0m does no I/O: each peer is one task of ours running its loop
//! (feed a datagram or a timeout, drain `poll_output`), as in the data channel scenarios.
//! Paced: the sender writes what is due on a 1 ms grid. Unpaced: a frame per loop turn
//! (str0m takes every packet; its send queue drains to the socket in the same turn),
//! with pending datagrams read without waiting between turns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};

use crate::measure::Mark;
use crate::media::{MediaWork, Outcome, PER_FRAME, Packet, Shared, WARMUP_EVERY, payload};

fn err(what: &str) -> impl Fn(str0m::RtcError) -> String + '_ {
    move |e| format!("str0m {what}: {e}")
}

async fn bind() -> Result<(UdpSocket, SocketAddr), String> {
    let s = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = s.local_addr().map_err(|e| format!("local_addr: {e}"))?;
    Ok((s, addr))
}

fn rtc(addr: SocketAddr) -> Result<Rtc, String> {
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    let c = Candidate::host(addr, "udp").map_err(|e| format!("str0m candidate: {e}"))?;
    rtc.add_local_candidate(c);
    Ok(rtc)
}

/// What the sender reports when its last packet is written: start, packets, end of sending.
type Sent = (Mark, u64, Instant);

/// Connects A → B, runs `work`, stops both.
pub async fn run(work: MediaWork) -> Result<Outcome, String> {
    let (sa, addr_a) = bind().await?;
    let (sb, addr_b) = bind().await?;
    let mut a = rtc(addr_a)?;
    let mut b = rtc(addr_b)?;
    let mut change = a.sdp_api();
    let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().ok_or("str0m: nothing to offer")?;
    let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string())
        .map_err(|e| format!("str0m offer parse: {e}"))?;
    let answer = b
        .sdp_api()
        .accept_offer(offer)
        .map_err(err("accept_offer"))?;
    let answer = SdpAnswer::from_sdp_string(&answer.to_sdp_string())
        .map_err(|e| format!("str0m answer parse: {e}"))?;
    a.sdp_api()
        .accept_answer(pending, answer)
        .map_err(err("accept_answer"))?;
    let remote_pts = a.media(mid).ok_or("str0m: no media")?.remote_pts().to_vec();
    let pt = a
        .codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == Codec::Vp8 && remote_pts.contains(&p.pt()))
        .map(|p| p.pt())
        .ok_or("str0m: VP8 not negotiated")?;

    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (sent_tx, sent_rx) = oneshot::channel::<Sent>();
    let sender = Sender {
        work,
        mid,
        pt,
        shared: shared.clone(),
        report: Some(sent_tx),
    };
    let task_a = tokio::spawn(peer(a, sa, addr_a, Some(sender), None, stop_rx.clone()));
    let task_b = tokio::spawn(peer(b, sb, addr_b, None, Some(shared.clone()), stop_rx));
    let mut peers = Box::pin(async move { tokio::join!(task_a, task_b) });
    let sent = tokio::select! {
        s = sent_rx => s.map_err(|_| "str0m: the sender ended early"),
        r = &mut peers => {
            let (ra, rb) = r;
            let e = [ra, rb]
                .into_iter()
                .find_map(|r| r.map_err(|e| e.to_string()).and_then(|x| x).err())
                .unwrap_or_else(|| "peers ended".into());
            return Err(e);
        }
    };
    let (start, sent, sender_end) = sent.map_err(String::from)?;
    let end = shared.settle(sent).await;
    let _ = stop_tx.send(true);
    let _ = peers.await;
    Ok(shared.outcome(start, sent, sender_end, end))
}

/// The sending side of A.
struct Sender {
    work: MediaWork,
    mid: Mid,
    pt: Pt,
    shared: Arc<Shared>,
    report: Option<oneshot::Sender<Sent>>,
}

enum Phase {
    Warm { next: Instant, n: u64 },
    Measure { start: Mark, sent: u64 },
    Done,
}

impl Sender {
    fn write(&self, rtc: &mut Rtc, seq: u64, n: u64, warm: bool) -> Result<(), String> {
        let p = Packet::nth(n);
        let mut api = rtc.direct_api();
        let stream = api
            .stream_tx_by_mid(self.mid, None)
            .ok_or("str0m: no send stream")?;
        let seq: SeqNo = seq.into();
        let w = RtpWrite::new(self.pt, seq, p.timestamp, Instant::now(), payload(warm))
            .marker(p.marker)
            .nackable(true);
        stream.write_rtp(w);
        Ok(())
    }

    /// Writes what is due now; returns when to come back (`None`: at once).
    fn step(
        &mut self,
        rtc: &mut Rtc,
        phase: &mut Phase,
        seq: &mut u64,
        connected: bool,
    ) -> Result<Option<Instant>, String> {
        let now = Instant::now();
        match phase {
            Phase::Warm { next, n } => {
                if self.shared.warmed() {
                    *phase = Phase::Measure {
                        start: Mark::now(),
                        sent: 0,
                    };
                    return Ok(None);
                }
                if now >= *next {
                    if connected {
                        self.write(rtc, *seq, *n, true)?;
                        *seq += 1;
                        *n += 1;
                    }
                    *next = now + WARMUP_EVERY;
                }
                Ok(Some(*next))
            }
            Phase::Measure { start, sent } => {
                let elapsed = start.at.elapsed();
                if self.work.done(*sent, elapsed) {
                    if let Some(r) = self.report.take() {
                        let _ = r.send((*start, *sent, Instant::now()));
                    }
                    *phase = Phase::Done;
                    return Ok(Some(now + Duration::from_secs(3600)));
                }
                let due = self.work.due(elapsed);
                let target = due.unwrap_or(*sent + PER_FRAME);
                while *sent < target {
                    self.write(rtc, *seq, *sent, false)?;
                    *seq += 1;
                    *sent += 1;
                }
                Ok(due.map(|_| now + self.work.tick))
            }
            Phase::Done => Ok(Some(now + Duration::from_secs(3600))),
        }
    }
}

/// One peer's loop: A with a sender, B with the receiver's counters.
async fn peer(
    mut rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    mut sender: Option<Sender>,
    receiver: Option<Arc<Shared>>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut buf = vec![0u8; 2048];
    let mut phase = Phase::Warm {
        next: Instant::now(),
        n: 0,
    };
    let mut seq = 1u64;
    let mut connected = false;
    let mut turns = 0u32;
    let input = |rtc: &mut Rtc, n: usize, source, buf: &[u8]| -> Result<(), String> {
        let contents = buf[..n]
            .try_into()
            .map_err(|e| format!("str0m datagram: {e:?}"))?;
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: local,
                contents,
            },
        );
        rtc.handle_input(input).map_err(err("input"))
    };
    // str0m's next timeout; time is fed when it passed or after writes (which str0m
    // schedules for sending on its next time input), not on every datagram.
    let mut timeout = Instant::now();
    loop {
        let seq_before = seq;
        let app_wake = match sender.as_mut() {
            Some(s) => s.step(&mut rtc, &mut phase, &mut seq, connected)?,
            None => Some(Instant::now() + Duration::from_secs(3600)),
        };
        let now = Instant::now();
        if seq != seq_before || now >= timeout {
            rtc.handle_input(Input::Timeout(now))
                .map_err(err("timeout"))?;
        }
        // Drain to the next timeout.
        timeout = loop {
            match rtc.poll_output().map_err(err("poll_output"))? {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    socket
                        .send_to(&t.contents, t.destination)
                        .await
                        .map_err(|e| format!("send: {e}"))?;
                }
                Output::Event(Event::Connected) => connected = true,
                Output::Event(Event::RtpPacket(p)) => {
                    if let Some(r) = &receiver {
                        r.on_packet(&p.payload, *p.header.payload_type);
                    }
                }
                Output::Event(_) => {}
            }
        };
        let Some(app_wake) = app_wake else {
            // Unpaced: read what is pending without waiting, and let other tasks run.
            while let Ok((n, source)) = socket.try_recv_from(&mut buf) {
                input(&mut rtc, n, source, &buf)?;
            }
            turns = turns.wrapping_add(1);
            if turns.is_multiple_of(8) {
                tokio::task::yield_now().await;
            }
            if *stop.borrow() {
                return Ok(());
            }
            continue;
        };
        let wake = timeout.min(app_wake);
        let wait = wake.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let (n, source) = r.map_err(|e| format!("recv: {e}"))?;
                input(&mut rtc, n, source, &buf)?;
            }
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|v| *v) => return Ok(()),
        }
    }
}
