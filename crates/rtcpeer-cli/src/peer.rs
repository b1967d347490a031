//! `rtcpeer offer` / `rtcpeer answer`: one peer whose session descriptions travel as the
//! browser's JSON (`RTCSessionDescriptionInit`, one line) over stdout/stdin, so rtcpeer can
//! be connected by copy and paste to a browser page (see `examples/browser.html`) or any
//! other WebRTC stack. Candidates are not trickled: each description is printed once ICE
//! gathering is complete, with its candidates inside.
//!
//! Status goes to stderr; stdout carries only the description and, in chat mode, the
//! messages received.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelEvents, Error, EventStream,
    IceGatheringState, IceServer, Payload, PeerConnection, PeerConnectionEvent,
    PeerConnectionState, Result, SessionDescription, Settings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, Stdin};

use crate::stats_page::{self, StatsPage};
use crate::stdin::{BoundedLines, Line, read_description};

/// The CLI's stdin: bounded lines (see `stdin.rs`).
type Input = BoundedLines<BufReader<Stdin>>;

/// Which side of the offer/answer exchange this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Creates the data channel and the offer.
    Offer,
    /// Reads an offer and answers it.
    Answer,
}

/// What the peer does once the channel is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Lines from stdin become text messages; received messages are printed.
    Chat,
    /// Sends the file, then closes the channel.
    Send(String),
    /// Writes received binary messages to the file until the channel closes.
    Receive(String),
    /// Sends every received message back.
    Echo,
}

/// Options of `offer` / `answer`.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// `iceServers` entries (STUN/TURN URLs), with optional TURN credentials.
    pub ice_servers: Vec<IceServer>,
    /// Local addresses to gather host candidates on (default: the library's default).
    pub ips: Vec<IpAddr>,
    /// Label of the channel the offerer creates.
    pub label: String,
    /// Resolve the peer's `.local` (mDNS) candidates, as browsers send by default.
    pub mdns: bool,
    /// What to do on the channel.
    pub mode: Mode,
    /// Serve the stats page on this port of 127.0.0.1 (0: any free port).
    pub stats_page: Option<u16>,
}

/// How long the peer waits for the other side at each step.
const STEP_LIMIT: Duration = Duration::from_secs(120);
/// File transfer chunk: one message each.
const CHUNK: usize = 64 * 1024;
const HIGH_WATER: u64 = 1024 * 1024;
const LOW_WATER: u64 = 256 * 1024;
/// Longest chat line sent as one message (longer ones are skipped with a notice).
const MAX_CHAT_LINE: usize = 64 * 1024;

fn status(msg: impl AsRef<str>) {
    eprintln!("rtcpeer: {}", msg.as_ref());
}

/// Runs one peer.
pub async fn run(role: Role, opts: PeerOptions) -> Result<()> {
    let config = Configuration {
        ice_servers: opts.ice_servers.clone(),
        ..Default::default()
    };
    let mut settings = Settings::default();
    if !opts.ips.is_empty() {
        settings.ice.interfaces = opts.ips.clone();
    }
    settings.ice.mdns = opts.mdns;
    let pc = PeerConnection::with_settings(config, settings)?;
    let mut events = pc.events();
    let name = match role {
        Role::Offer => "offerer",
        Role::Answer => "answerer",
    };
    let page = match opts.stats_page {
        Some(port) => {
            let page = StatsPage::start(port, stats_page::INTERVAL).await?;
            page.watch(name, &pc);
            status(format!("stats page: {}", page.url()));
            Some(page)
        }
        None => None,
    };
    let mut stdin: Input = BoundedLines::new(BufReader::new(tokio::io::stdin()));
    let dc = match role {
        Role::Offer => {
            let dc = pc.create_data_channel(&opts.label, None)?;
            pc.set_local_description(None).await?;
            wait_gathered(&pc, &mut events).await?;
            print_description(&pc)?;
            status("paste the answer (JSON), then press Enter:");
            let answer = read_step(&mut stdin).await?;
            pc.set_remote_description(answer).await?;
            dc
        }
        Role::Answer => {
            status("paste the offer (JSON), then press Enter:");
            let offer = read_step(&mut stdin).await?;
            pc.set_remote_description(offer).await?;
            pc.set_local_description(None).await?;
            wait_gathered(&pc, &mut events).await?;
            print_description(&pc)?;
            incoming_channel(&mut events).await?
        }
    };
    if let Some(page) = &page {
        page.watch_channel(name, &dc);
    }
    let mut dc_events = dc.events();
    wait_open(&dc, &mut dc_events, &mut events).await?;
    status(format!(
        "data channel \"{}\" open (id {:?}); connectionState {}",
        dc.label(),
        dc.id(),
        pc.connection_state()
    ));
    let r = match &opts.mode {
        Mode::Chat => chat(&dc, &mut dc_events, &mut stdin).await,
        Mode::Send(path) => send_file(&dc, &mut dc_events, path).await,
        Mode::Receive(path) => receive_file(&mut dc_events, path).await,
        Mode::Echo => echo(&dc, &mut dc_events).await,
    };
    pc.close();
    r
}

fn print_description(pc: &PeerConnection) -> Result<()> {
    let d = pc
        .local_description()
        .ok_or_else(|| Error::invalid_state("no local description"))?;
    println!("{}", d.to_json());
    Ok(())
}

/// Reads the other side's description from stdin within [`STEP_LIMIT`].
async fn read_step(stdin: &mut Input) -> Result<SessionDescription> {
    tokio::time::timeout(STEP_LIMIT, read_description(stdin))
        .await
        .map_err(|_| Error::operation("no description on stdin in time"))?
}

async fn next_event(events: &mut EventStream) -> Result<PeerConnectionEvent> {
    let e = tokio::time::timeout(STEP_LIMIT, events.recv())
        .await
        .map_err(|_| Error::operation("timed out waiting for the peer"))?
        .ok_or_else(|| Error::operation("the connection closed"))?;
    match &e {
        PeerConnectionEvent::ConnectionStateChange(s) => {
            status(format!("connectionState {s}"));
            if *s == PeerConnectionState::Failed {
                return Err(Error::operation("the connection failed"));
            }
        }
        PeerConnectionEvent::IceConnectionStateChange(s) => {
            status(format!("iceConnectionState {s}"))
        }
        PeerConnectionEvent::IceCandidateError(e) => status(format!(
            "icecandidateerror {} {}: {}",
            e.url, e.error_code, e.error_text
        )),
        _ => {}
    }
    Ok(e)
}

async fn wait_gathered(pc: &PeerConnection, events: &mut EventStream) -> Result<()> {
    while pc.ice_gathering_state() != IceGatheringState::Complete {
        next_event(events).await?;
    }
    Ok(())
}

async fn incoming_channel(events: &mut EventStream) -> Result<DataChannel> {
    loop {
        if let PeerConnectionEvent::DataChannel(dc) = next_event(events).await? {
            return Ok(dc);
        }
    }
}

/// Waits for `open`, following the connection's events meanwhile.
async fn wait_open(
    dc: &DataChannel,
    dc_events: &mut DataChannelEvents,
    events: &mut EventStream,
) -> Result<()> {
    loop {
        tokio::select! {
            e = dc_events.recv() => match e {
                Some(DataChannelEvent::Open) => return Ok(()),
                Some(DataChannelEvent::Close) | None => {
                    return Err(Error::operation(format!("channel \"{}\" closed before opening", dc.label())));
                }
                Some(_) => {}
            },
            e = next_event(events) => { e?; }
        }
    }
}

fn describe(p: &Payload) -> String {
    match p {
        Payload::Text(t) => t.clone(),
        Payload::Binary(b) => format!("[{} bytes]", b.len()),
    }
}

async fn chat(
    dc: &DataChannel,
    dc_events: &mut DataChannelEvents,
    stdin: &mut Input,
) -> Result<()> {
    status("chat: type lines to send; end with Ctrl-D");
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = stdin.next_line(MAX_CHAT_LINE), if stdin_open => match line {
                Ok(Line::Text(l)) => dc.send_text(&String::from_utf8_lossy(&l))?,
                Ok(Line::TooLong) => {
                    status(format!("line longer than {MAX_CHAT_LINE} bytes, not sent"));
                }
                _ => {
                    stdin_open = false;
                    dc.close();
                }
            },
            e = dc_events.recv() => match e {
                Some(DataChannelEvent::Message(p)) => println!("{}", describe(&p)),
                Some(DataChannelEvent::Close) | None => {
                    status("channel closed");
                    return Ok(());
                }
                Some(_) => {}
            },
        }
    }
}

async fn send_file(dc: &DataChannel, dc_events: &mut DataChannelEvents, path: &str) -> Result<()> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::operation(format!("{path}: {e}")))?;
    dc.set_buffered_amount_low_threshold(LOW_WATER);
    let start = Instant::now();
    let mut sent = 0u64;
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let n = file
            .read(&mut chunk)
            .await
            .map_err(|e| Error::operation(format!("{path}: {e}")))?;
        if n == 0 {
            break;
        }
        chunk.truncate(n);
        while dc.buffered_amount() > HIGH_WATER {
            match dc_events.recv().await {
                Some(DataChannelEvent::Close) | None => {
                    return Err(Error::operation("the channel closed while sending"));
                }
                _ => {}
            }
        }
        dc.send_owned(chunk)?;
        sent += n as u64;
    }
    // Queued data is delivered before the close completes (RFC 8831 §6.7).
    dc.close();
    while let Some(e) = dc_events.recv().await {
        if e == DataChannelEvent::Close {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    status(format!(
        "sent {sent} bytes from {path} in {secs:.2} s ({:.1} MB/s)",
        sent as f64 / secs / 1e6
    ));
    Ok(())
}

async fn receive_file(dc_events: &mut DataChannelEvents, path: &str) -> Result<()> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| Error::operation(format!("{path}: {e}")))?;
    let mut received = 0u64;
    let start = Instant::now();
    while let Some(e) = dc_events.recv().await {
        match e {
            DataChannelEvent::Message(Payload::Binary(b)) => {
                file.write_all(&b)
                    .await
                    .map_err(|e| Error::operation(format!("{path}: {e}")))?;
                received += b.len() as u64;
            }
            DataChannelEvent::Message(Payload::Text(t)) => status(format!("text: {t}")),
            DataChannelEvent::Close => break,
            _ => {}
        }
    }
    file.flush()
        .await
        .map_err(|e| Error::operation(format!("{path}: {e}")))?;
    let secs = start.elapsed().as_secs_f64();
    status(format!(
        "received {received} bytes into {path} in {secs:.2} s ({:.1} MB/s)",
        received as f64 / secs / 1e6
    ));
    Ok(())
}

async fn echo(dc: &DataChannel, dc_events: &mut DataChannelEvents) -> Result<()> {
    status("echoing every message back until the channel closes");
    while let Some(e) = dc_events.recv().await {
        match e {
            DataChannelEvent::Message(Payload::Text(t)) => dc.send_text(&t)?,
            DataChannelEvent::Message(Payload::Binary(b)) => dc.send_owned(b)?,
            DataChannelEvent::Close => break,
            _ => {}
        }
    }
    Ok(())
}
