//! `rtcpeer demo`: two peer connections in one process over UDP on 127.0.0.1. Prints the
//! signaling, ICE, DTLS, SCTP and data-channel milestones with their times, then moves a
//! bulk transfer over a reliable ordered channel with a live progress line, and ends with
//! setup time, throughput and a short stats summary. While the transfer runs, alice also
//! streams synthetic video (30 frames/s, VP8 payload format) and audio (50 Opus-shaped
//! frames/s) to bob over SRTP, and bob reassembles the frames: the media summary shows
//! frames/s, NACKs and retransmissions, and the round-trip time from the RTCP reports.
//! With `--stats-page`, both peers are drawn live on a local page (see `stats_page.rs`) and
//! stay connected, media streaming, after the transfer until Ctrl-C (or `--seconds`).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, Error, IceConnectionState,
    MediaEvent, MediaKind, MediaStream, MediaStreamTrack, Payload, PeerConnection,
    PeerConnectionEvent, PeerConnectionState, ReceiveMode, Result, SessionDescription,
};

use crate::cpu::CpuClock;
use crate::stats_page::{self, StatsPage};

/// What `demo` was asked for.
pub struct DemoOptions {
    /// Print the offer and answer SDP.
    pub print_sdp: bool,
    /// Bytes to move over the data channel.
    pub bytes: u64,
    /// Size of each message.
    pub message_size: usize,
    /// Keep the peers connected, media streaming, this long after the transfer.
    pub hold: Option<Duration>,
    /// Serve the stats page on this port of 127.0.0.1 (0: any free port).
    pub stats_page: Option<u16>,
}

/// Sender back-pressure: stop sending above this many buffered bytes...
const HIGH_WATER: u64 = 1024 * 1024;
/// ...and resume when `bufferedamountlow` says the buffer fell to this.
const LOW_WATER: u64 = 256 * 1024;

fn ms(t0: Instant) -> String {
    format!("{:>9.3} ms", t0.elapsed().as_secs_f64() * 1e3)
}

fn summary(d: &SessionDescription) -> String {
    let lines: Vec<&str> = d.sdp.lines().filter(|l| l.starts_with("m=")).collect();
    format!(
        "{} ({} bytes): {}",
        d.sdp_type,
        d.sdp.len(),
        lines.join(" | ")
    )
}

/// Runs the demo.
pub async fn run(opts: DemoOptions) -> Result<()> {
    let t0 = Instant::now();
    let alice = PeerConnection::new(Configuration::default())?;
    let bob = PeerConnection::new(Configuration::default())?;
    println!(
        "{}  created two peer connections (ECDSA P-256 certificates)",
        ms(t0)
    );
    let mut alice_events = alice.events();
    let mut bob_events = bob.events();
    let page = match opts.stats_page {
        Some(port) => {
            let page = StatsPage::start(port, stats_page::INTERVAL).await?;
            page.watch("alice", &alice);
            page.watch("bob", &bob);
            println!("{}  stats page: {}", ms(t0), page.url());
            Some(page)
        }
        None => None,
    };

    let stream = MediaStream::new();
    alice.add_track(&MediaStreamTrack::new(MediaKind::Audio, "mic"), &[&stream])?;
    alice.add_track(
        &MediaStreamTrack::new(MediaKind::Video, "camera"),
        &[&stream],
    )?;
    let dc = alice.create_data_channel("bulk", None)?;
    let mut dc_events = dc.events();
    if let Some(page) = &page {
        page.watch_channel("alice", &dc);
    }
    println!(
        "{}  alice: added audio + video tracks and data channel \"{}\"",
        ms(t0),
        dc.label()
    );

    let offer = alice.create_offer(None).await?;
    println!("{}  alice: createOffer -> {}", ms(t0), summary(&offer));
    if opts.print_sdp {
        println!("{}", offer.sdp);
    }
    alice.set_local_description(Some(offer.clone())).await?;
    bob.set_remote_description(SessionDescription::from_json(&offer.to_json())?)
        .await?;
    println!(
        "{}  bob:   setRemoteDescription(offer, via JSON) -> {}",
        ms(t0),
        bob.signaling_state()
    );
    let answer = bob.create_answer(None).await?;
    println!("{}  bob:   createAnswer -> {}", ms(t0), summary(&answer));
    if opts.print_sdp {
        println!("{}", answer.sdp);
    }
    bob.set_local_description(Some(answer.clone())).await?;
    alice.set_remote_description(answer).await?;
    println!(
        "{}  both stable: alice {}, bob {}",
        ms(t0),
        alice.signaling_state(),
        bob.signaling_state()
    );

    // Trickle ICE between the two, printing milestones, until the channel is open on both
    // ends (the peers gather on 127.0.0.1 only, the default of `Settings::ice`).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut bob_dc: Option<(DataChannel, DataChannelEvents)> = None;
    let (mut alice_open, mut bob_open) = (false, false);
    while !(alice_open && bob_open) {
        let (who, e, other) = tokio::select! {
            e = alice_events.recv() => ("alice", e, &bob),
            e = bob_events.recv() => ("bob  ", e, &alice),
            e = dc_events.recv(), if !alice_open => {
                match e {
                    Some(DataChannelEvent::Open) => {
                        alice_open = true;
                        println!("{}  alice: data channel \"{}\" open (id {:?})", ms(t0), dc.label(), dc.id());
                    }
                    other => return Err(Error::operation(format!("unexpected channel event {other:?}"))),
                }
                continue;
            }
            e = async { bob_dc.as_mut().expect("guarded").1.recv().await }, if bob_dc.is_some() && !bob_open => {
                match e {
                    Some(DataChannelEvent::Open) => {
                        bob_open = true;
                        println!("{}  bob:   data channel open", ms(t0));
                    }
                    other => return Err(Error::operation(format!("unexpected channel event {other:?}"))),
                }
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::operation("the data channel did not open within 10 s"));
            }
        };
        let Some(e) = e else {
            return Err(Error::operation("a connection closed during the demo"));
        };
        match e {
            PeerConnectionEvent::Track(t) => println!(
                "{}  {who}: track event: {} track, mid {:?}",
                ms(t0),
                t.track.kind(),
                t.transceiver.mid()
            ),
            PeerConnectionEvent::IceCandidate(c) => {
                match &c {
                    Some(c) if !c.candidate().is_empty() => {
                        println!("{}  {who}: icecandidate {}", ms(t0), c.candidate())
                    }
                    Some(_) => {}
                    None => println!("{}  {who}: end of candidates", ms(t0)),
                }
                other.add_ice_candidate(c.map(|c| c.to_json())).await?;
            }
            PeerConnectionEvent::IceConnectionStateChange(s) => {
                println!("{}  {who}: iceConnectionState {s}", ms(t0));
                if s == IceConnectionState::Failed {
                    return Err(Error::operation("ICE failed"));
                }
            }
            PeerConnectionEvent::DtlsTransportStateChange(_, s) => {
                println!("{}  {who}: DTLS {s}", ms(t0))
            }
            PeerConnectionEvent::SctpTransportStateChange(_, s) => {
                println!("{}  {who}: SCTP {s}", ms(t0))
            }
            PeerConnectionEvent::ConnectionStateChange(s) => {
                println!("{}  {who}: connectionState {s}", ms(t0));
                if s == PeerConnectionState::Failed {
                    return Err(Error::operation("the connection failed"));
                }
            }
            PeerConnectionEvent::DataChannel(d) => {
                println!(
                    "{}  {who}: datachannel event \"{}\" (id {:?})",
                    ms(t0),
                    d.label(),
                    d.id()
                );
                let ev = d.events();
                if let Some(page) = &page {
                    page.watch_channel("bob", &d);
                }
                bob_dc = Some((d, ev));
            }
            _ => {}
        }
    }
    let setup = t0.elapsed();
    if let Some((local, remote)) = alice.selected_candidate_pair() {
        println!("             alice selected pair {local} -> {remote}");
    }
    let Some((bob_dc, bob_dc_events)) = bob_dc else {
        return Err(Error::operation("no datachannel event"));
    };
    // Forward the rest of the connection events to nobody: the streams are bounded.
    drop((alice_events, bob_events));

    let media = Media::start(&alice, &bob);
    let transfer = transfer(&dc, dc_events, bob_dc_events, &opts).await?;
    println!();
    hold(&opts, page.as_ref()).await;
    let media = media.stop(&alice, &bob).await;
    println!(
        "setup: {:.2} ms from creating the peers to the channel open on both ends",
        setup.as_secs_f64() * 1e3
    );
    println!(
        "transfer: {} MiB in {} messages of {} KiB in {:.2} s = {:.1} MB/s ({:.1} MiB/s)",
        opts.bytes / (1024 * 1024),
        transfer.messages,
        opts.message_size / 1024,
        transfer.elapsed.as_secs_f64(),
        opts.bytes as f64 / transfer.elapsed.as_secs_f64() / 1e6,
        opts.bytes as f64 / transfer.elapsed.as_secs_f64() / (1024.0 * 1024.0),
    );
    if let Some(cpu) = transfer.cpu {
        println!(
            "cpu: {:.0} ms for both peers ({:.2} CPU-ms per MB)",
            cpu.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3 / (opts.bytes as f64 / 1e6)
        );
    }
    println!(
        "stats: channel id {:?}, sctp maxMessageSize {}, maxChannels {:?}, DTLS {}; bob received {} bytes, checksum {:016x} (matches: {})",
        dc.id(),
        alice.sctp().map(|s| s.max_message_size()).unwrap_or(0.0),
        alice.sctp().and_then(|s| s.max_channels()),
        alice
            .sctp()
            .map(|s| s.transport().state().to_string())
            .unwrap_or_default(),
        transfer.received,
        transfer.checksum,
        transfer.checksum == transfer.expected_checksum,
    );
    println!("{media}");
    drop(bob_dc);
    alice.close();
    bob.close();
    if transfer.checksum != transfer.expected_checksum || transfer.received != opts.bytes {
        return Err(Error::operation(
            "the received data differs from what was sent",
        ));
    }
    Ok(())
}

/// After the transfer: keeps the peers connected, media streaming, for `--seconds`, or with
/// the stats page and no `--seconds` until Ctrl-C.
async fn hold(opts: &DemoOptions, page: Option<&StatsPage>) {
    let until = match (opts.hold, page) {
        (Some(d), _) => {
            println!("holding the connection with media for {} s", d.as_secs());
            d
        }
        (None, Some(page)) => {
            println!(
                "holding the connection with media for the stats page {} (Ctrl-C to end)",
                page.url()
            );
            Duration::MAX
        }
        (None, None) => return,
    };
    let _ = std::io::stdout().flush();
    tokio::select! {
        _ = tokio::time::sleep(until.min(Duration::from_secs(10 * 365 * 24 * 3600))) => {}
        _ = tokio::signal::ctrl_c() => println!(),
    }
}

struct Transfer {
    messages: u64,
    received: u64,
    checksum: u64,
    expected_checksum: u64,
    elapsed: Duration,
    cpu: Option<Duration>,
}

/// Mixes one message into the running checksum: its index header, length and a sample of
/// its bytes (cheap enough not to dominate the CPU figures; DTLS's AEAD already protects
/// every byte, this shows order and completeness).
fn mix(h: u64, data: &[u8]) -> u64 {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        if let Some(s) = data.get(at..at + 8) {
            w.copy_from_slice(s);
        }
        u64::from_le_bytes(w)
    };
    let sample = word(0) ^ word(data.len() / 2) ^ word(data.len().saturating_sub(8)).rotate_left(7);
    (h ^ sample ^ data.len() as u64).wrapping_mul(0x100_0000_01b3)
}

const CHECKSUM_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The message with index `i`: its index in the first, middle and last 8 bytes, the rest a
/// byte that depends on `i`, so loss, duplication or reordering changes the checksum.
fn message(i: u64, len: usize) -> Vec<u8> {
    let mut m = vec![(i as u8).wrapping_mul(31); len];
    for at in [0, len / 2, len.saturating_sub(8)] {
        if let Some(s) = m.get_mut(at..at + 8) {
            s.copy_from_slice(&i.to_le_bytes());
        }
    }
    m
}

async fn transfer(
    dc: &DataChannel,
    mut sender_events: DataChannelEvents,
    mut receiver_events: DataChannelEvents,
    opts: &DemoOptions,
) -> Result<Transfer> {
    let total = opts.bytes;
    let size = opts.message_size as u64;
    let messages = total.div_ceil(size);
    dc.set_buffered_amount_low_threshold(LOW_WATER);
    let cpu = CpuClock::start();
    let start = Instant::now();
    let sender = {
        let dc = dc.clone();
        tokio::spawn(async move {
            let mut expected = CHECKSUM_START;
            for i in 0..messages {
                let len = (total - i * size).min(size) as usize;
                let msg = message(i, len);
                expected = mix(expected, &msg);
                while dc.buffered_amount() > HIGH_WATER {
                    match sender_events.recv().await {
                        Some(DataChannelEvent::BufferedAmountLow) => {}
                        Some(DataChannelEvent::Close) | None => {
                            return Err(Error::operation("the channel closed while sending"));
                        }
                        Some(_) => {}
                    }
                }
                dc.send_owned(msg)?;
            }
            Ok(expected)
        })
    };
    let mut received = 0u64;
    let mut checksum = CHECKSUM_START;
    let mut last_print = Instant::now();
    let mut count = 0u64;
    while received < total {
        match receiver_events.recv().await {
            Some(DataChannelEvent::Message(Payload::Binary(d))) => {
                received += d.len() as u64;
                checksum = mix(checksum, &d);
                count += 1;
            }
            Some(DataChannelEvent::Message(Payload::Text(_))) => {
                return Err(Error::operation("unexpected text message"));
            }
            Some(DataChannelEvent::Close) | None => {
                return Err(Error::operation("the channel closed during the transfer"));
            }
            Some(_) => {}
        }
        if last_print.elapsed() >= Duration::from_millis(200) || received == total {
            last_print = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            print!(
                "\r  transferred {:>4} / {} MiB  {:>7.1} MB/s  ",
                received / (1024 * 1024),
                total / (1024 * 1024),
                received as f64 / secs / 1e6
            );
            let _ = std::io::stdout().flush();
        }
    }
    let elapsed = start.elapsed();
    let cpu = cpu.elapsed();
    let expected_checksum = sender
        .await
        .map_err(|e| Error::operation(format!("sender task: {e}")))??;
    Ok(Transfer {
        messages: count,
        received,
        checksum,
        expected_checksum,
        elapsed,
        cpu,
    })
}

/// Synthetic media alongside the transfer: alice sends, bob reassembles and counts frames.
struct Media {
    stop: Arc<AtomicBool>,
    start: Instant,
    sender: tokio::task::JoinHandle<()>,
    /// Frames bob received: [audio, video].
    received: Arc<[AtomicU64; 2]>,
}

impl Media {
    fn start(alice: &PeerConnection, bob: &PeerConnection) -> Media {
        let received = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        for t in bob.get_transceivers() {
            let receiver = t.receiver();
            receiver.set_receive_mode(ReceiveMode::Frames);
            let slot = usize::from(t.kind() == MediaKind::Video);
            let received = received.clone();
            tokio::spawn(async move {
                while let Some(e) = receiver.recv().await {
                    if let MediaEvent::Frame(_) = e {
                        received[slot].fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let senders: Vec<_> = alice
            .get_transceivers()
            .into_iter()
            .map(|t| (t.kind(), t.sender()))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sender = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let (mut n, mut video_frame) = (0u64, 0u64);
            // Opus's TOC byte: config 31 (CELT fullband, 20 ms), stereo, one frame
            // (RFC 6716 §3.1); the rest stands in for the encoded bytes.
            let mut audio = vec![0xfcu8; 80];
            let mut video = vec![0x55u8; 4000];
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                for (kind, sender) in &senders {
                    match kind {
                        MediaKind::Audio if n % 2 == 0 => {
                            audio[1] = n as u8;
                            let _ = sender.send_frame(&audio, Duration::from_millis(20));
                        }
                        MediaKind::Video if n % 3 == 0 => {
                            // A VP8 key frame (P bit clear) every 30 frames (RFC 6386 §9.1).
                            video[0] = if video_frame % 30 == 0 { 0x54 } else { 0x55 };
                            video[1] = video_frame as u8;
                            video_frame += 1;
                            let _ = sender.send_frame(&video, Duration::from_millis(33));
                        }
                        _ => {}
                    }
                }
            }
        });
        Media {
            stop,
            start: Instant::now(),
            sender,
            received,
        }
    }

    async fn stop(self, alice: &PeerConnection, bob: &PeerConnection) -> String {
        // Let the last frames arrive before counting.
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.sender.await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let secs = self.start.elapsed().as_secs_f64();
        let [audio, video] = [0, 1].map(|i| self.received[i].load(Ordering::Relaxed));
        let (a, b) = (alice.media_counters(), bob.media_counters());
        format!(
            "media (alongside the transfer, {secs:.2} s): bob reassembled {video} video frames \
             ({:.1}/s) and {audio} audio frames ({:.1}/s); RTP packets sent {}, received {}; \
             NACKs {}, retransmitted {}; RTT {}",
            video as f64 / secs,
            audio as f64 / secs,
            a.rtp_sent,
            b.rtp_received,
            b.nacks_sent,
            a.retransmitted,
            a.round_trip_time
                .map_or("not measured yet".to_string(), |r| format!(
                    "{:.2} ms",
                    r.as_secs_f64() * 1e3
                )),
        )
    }
}
