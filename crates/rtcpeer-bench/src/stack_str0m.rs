//! str0m (sans-IO) driven through the scenarios of [`crate::pair`].
//!
//! str0m does no I/O, so each peer is one Tokio task of ours that owns its `Rtc` and one UDP
//! socket on 127.0.0.1 (its only local candidate), and runs str0m's documented loop: feed one
//! input (a datagram or a timeout), drain `poll_output` until it yields the next timeout,
//! then wait for a datagram or that timeout. The application (sender, receiver, echo) acts
//! between drains, as str0m requires. Descriptions go through their SDP text, like the
//! other stacks' signaling.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::measure::Mark;
use crate::pair::{BACKSTOP, Hold, PING, Pacer, PeerMsg, Report, Side, Work, collect};

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

/// str0m caps what its channels accept at 128 KiB by default (`write` then refuses); a
/// transfer allowed to keep more buffered raises the cap to that bound, so the bound in the
/// scenario is the one that applies, as with the other stacks.
fn rtc_with_host(addr: SocketAddr, work: Work) -> Result<Rtc, String> {
    let mut config = Rtc::builder();
    if let Work::Transfer { max_buffered, .. } = work {
        config = config.set_sctp_max_buffered_amount(max_buffered.max(128 * 1024));
    }
    let mut rtc = config.build(Instant::now());
    let c = Candidate::host(addr, "udp").map_err(|e| format!("str0m candidate: {e}"))?;
    rtc.add_local_candidate(c);
    Ok(rtc)
}

/// Runs one pair doing `work`; with `hold`, reports and keeps the pair open until released.
pub async fn run_pair(work: Work, hold: Option<Hold>) -> Result<Report, String> {
    let created = Instant::now();
    let (sa, addr_a) = bind().await?;
    let (sb, addr_b) = bind().await?;
    let mut a = rtc_with_host(addr_a, work)?;
    let mut b = rtc_with_host(addr_b, work)?;

    let mut change = a.sdp_api();
    change.add_channel("bench".to_string());
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

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let peer_a = Peer::new(a, sa, addr_a, Side::A, work, tx.clone(), stop_rx.clone());
    let peer_b = Peer::new(b, sb, addr_b, Side::B, work, tx, stop_rx);
    let task_a = tokio::spawn(peer_a.run());
    let task_b = tokio::spawn(peer_b.run());
    let result = collect(work, created, &mut rx).await;
    if let (Ok(r), Some(mut h)) = (&result, hold) {
        h.park(*r).await;
    }
    let _ = stop_tx.send(true);
    let _ = task_a.await;
    let _ = task_b.await;
    result
}

struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    side: Side,
    work: Work,
    tx: mpsc::UnboundedSender<PeerMsg>,
    stop: watch::Receiver<bool>,
    channel: Option<ChannelId>,
    pacer: Option<Pacer>,
    started: bool,
    /// Waiting for bufferedamountlow since then.
    waiting: Option<Instant>,
    backstops: u64,
    backstops_reported: bool,
    /// Echo to send (B in ping-pong).
    echo: Option<Vec<u8>>,
    ping_sent: bool,
    bytes: u64,
    msgs: u64,
    finished: bool,
}

impl Peer {
    fn new(
        rtc: Rtc,
        socket: UdpSocket,
        local: SocketAddr,
        side: Side,
        work: Work,
        tx: mpsc::UnboundedSender<PeerMsg>,
        stop: watch::Receiver<bool>,
    ) -> Peer {
        let pacer = if side == Side::A {
            Pacer::new(work)
        } else {
            None
        };
        Peer {
            rtc,
            socket,
            local,
            side,
            work,
            tx,
            stop,
            channel: None,
            pacer,
            started: false,
            waiting: None,
            backstops: 0,
            backstops_reported: false,
            echo: None,
            ping_sent: false,
            bytes: 0,
            msgs: 0,
            finished: false,
        }
    }

    async fn run(mut self) {
        if let Err(e) = self.run_inner().await {
            let _ = self.tx.send(PeerMsg::Failed(e));
        }
        self.rtc.disconnect();
    }

    async fn run_inner(&mut self) -> Result<(), String> {
        let mut buf = vec![0u8; 2048];
        loop {
            let timeout = self.drain().await?;
            // One application mutation at a time, each followed by a full drain.
            if self.app_step()? {
                continue;
            }
            let mut wake = timeout;
            if let Some(since) = self.waiting {
                wake = wake.min(since + BACKSTOP);
            }
            let wait = wake.saturating_duration_since(Instant::now());
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let (n, source) = r.map_err(|e| format!("recv: {e}"))?;
                    let contents = buf[..n].try_into().map_err(|e| format!("str0m datagram: {e:?}"))?;
                    let input = Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    });
                    self.rtc.handle_input(input).map_err(err("input"))?;
                }
                _ = tokio::time::sleep(wait) => {
                    let now = Instant::now();
                    if let Some(since) = self.waiting
                        && now >= since + BACKSTOP
                    {
                        self.backstops += 1;
                        self.waiting = None;
                    }
                    self.rtc.handle_input(Input::Timeout(now)).map_err(err("timeout"))?;
                }
                _ = self.stop.wait_for(|v| *v) => return Ok(()),
            }
        }
    }

    /// Drains `poll_output` to the next timeout, sending datagrams and handling events.
    async fn drain(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output().map_err(err("poll_output"))? {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => {
                    self.socket
                        .send_to(&t.contents, t.destination)
                        .await
                        .map_err(|e| format!("send: {e}"))?;
                }
                Output::Event(e) => self.on_event(e)?,
            }
        }
    }

    fn on_event(&mut self, e: Event) -> Result<(), String> {
        match e {
            Event::ChannelOpen(id, _) => {
                self.channel = Some(id);
                let _ = self.tx.send(PeerMsg::Open(self.side, Instant::now()));
                if let (Some(p), Some(mut ch)) = (&self.pacer, self.rtc.channel(id)) {
                    ch.set_buffered_amount_low_threshold(p.low_threshold());
                }
            }
            Event::ChannelBufferedAmountLow(_) => self.waiting = None,
            Event::ChannelData(d) => match (self.side, self.work) {
                (Side::B, Work::PingPong) => self.echo = Some(d.data),
                (Side::A, Work::PingPong) => self.finish(d.data.len() as u64),
                (Side::B, Work::Transfer { total, .. }) => {
                    self.bytes += d.data.len() as u64;
                    self.msgs += 1;
                    if self.bytes >= total && !self.finished {
                        self.finished = true;
                        let _ = self.tx.send(PeerMsg::Finished {
                            mark: Mark::now(),
                            bytes: self.bytes,
                            msgs: self.msgs,
                        });
                    }
                }
                _ => {}
            },
            Event::ChannelClose(_) if !self.finished => {
                return Err("str0m: channel closed".into());
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, bytes: u64) {
        if !self.finished {
            self.finished = true;
            let _ = self.tx.send(PeerMsg::Finished {
                mark: Mark::now(),
                bytes,
                msgs: 1,
            });
        }
    }

    /// Performs at most one application mutation; returns whether it did.
    fn app_step(&mut self) -> Result<bool, String> {
        let Some(id) = self.channel else {
            return Ok(false);
        };
        if let Some(data) = self.echo.take() {
            let mut ch = self.rtc.channel(id).ok_or("str0m: no channel")?;
            if !ch.write(true, &data).map_err(err("echo"))? {
                self.echo = Some(data);
                return Ok(false);
            }
            return Ok(true);
        }
        if self.side == Side::A && matches!(self.work, Work::PingPong) && !self.ping_sent {
            let mut ch = self.rtc.channel(id).ok_or("str0m: no channel")?;
            self.ping_sent = ch.write(true, &[7u8; PING]).map_err(err("ping"))?;
            return Ok(self.ping_sent);
        }
        let Some(pacer) = self.pacer.as_mut() else {
            return Ok(false);
        };
        if pacer.remaining == 0 || self.waiting.is_some() {
            if pacer.remaining == 0 && !self.backstops_reported {
                let _ = self.tx.send(PeerMsg::Backstops(self.backstops));
                self.backstops_reported = true;
            }
            return Ok(false);
        }
        let mut ch = self.rtc.channel(id).ok_or("str0m: no channel")?;
        if !pacer.fits_estimate() && !pacer.refresh(ch.buffered_amount()) {
            self.waiting = Some(Instant::now());
            return Ok(false);
        }
        if !self.started {
            self.started = true;
            let _ = self.tx.send(PeerMsg::Started(Mark::now()));
        }
        let payload = payload(pacer.msg);
        if ch.write(true, payload).map_err(err("write"))? {
            pacer.sent();
            Ok(true)
        } else {
            // str0m refuses a write its SCTP send buffer cannot take: also "full".
            self.waiting = Some(Instant::now());
            Ok(false)
        }
    }
}

/// A shared all-0x5a payload of up to 256 KiB (no allocation per message).
fn payload(len: usize) -> &'static [u8] {
    static BUF: [u8; 256 * 1024] = [0x5a; 256 * 1024];
    &BUF[..len]
}
