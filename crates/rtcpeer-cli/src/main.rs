//! `rtcpeer`: the command-line front end of the rtcpeer library.
//!
//! - `rtcpeer demo` runs two peer connections in one process over UDP on 127.0.0.1, prints
//!   each milestone (signaling, ICE, DTLS, SCTP, data channel) with its time, then moves
//!   256 MiB over a reliable ordered data channel and prints setup time and throughput.
//! - `--stats-page` (on `demo`, `offer` and `answer`) serves a live page of each connection's
//!   states, selected candidate pair and graphs on 127.0.0.1 (see `stats_page.rs`).
//! - `rtcpeer offer` / `rtcpeer answer` run one peer whose descriptions travel as the
//!   browser's JSON over stdout/stdin, to connect to a browser page or another stack.

mod cpu;
mod demo;
mod peer;
mod stats_page;
mod stdin;

use rtcpeer::{Error, IceServer, Result};

const USAGE: &str = "usage:
  rtcpeer demo [--mib N] [--message-kib N] [--sdp] [--seconds N] [STATS]
      two peers in this process over 127.0.0.1: milestones, then an N MiB transfer
      (default 256 MiB in 64 KiB messages) beside audio and video streams
      --seconds N           keep the peers connected, media streaming, N seconds after the
                            transfer (with --stats-page the default is until Ctrl-C)
  rtcpeer offer  [OPTIONS] [MODE]
  rtcpeer answer [OPTIONS] [MODE]
      one peer; its description (browser JSON, one line) is printed on stdout, the other
      side's is read from stdin (see examples/browser.html for the browser side)
    OPTIONS:
      --ice-server URL      a STUN/TURN URL for iceServers (repeatable); TURN servers are
                            accepted but relayed candidates are not gathered yet
      --username U          TURN username (for the --ice-server before it)
      --credential C        TURN credential (for the --ice-server before it)
      --ip ADDR             gather host candidates on this local address (repeatable;
                            default 127.0.0.1)
      --label L             label of the channel the offerer creates (default \"rtcpeer\")
      --mdns                resolve the peer's .local (mDNS) candidates, which browsers
                            send by default (sends mDNS queries on the local network)
    MODE (default --chat):
      --chat                stdin lines are sent as text; messages are printed
      --send FILE           send FILE as binary messages, then close the channel
      --receive FILE        write received binary messages to FILE until the channel closes
      --echo                send every received message back
  STATS (demo, offer, answer):
      --stats-page          serve a live stats page (states, selected candidate pair, graphs
                            of bitrate, packets, RTT, loss, buffered amount, frames/s) on
                            127.0.0.1; its URL is printed
      --stats-port N        the page's port (default 0: any free port; implies --stats-page)
  rtcpeer version";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let r = runtime.block_on(run(args));
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Vec<String>) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("demo") => demo::run(demo_options(&args[1..])?).await,
        Some("offer") => peer::run(peer::Role::Offer, peer_options(&args[1..])?).await,
        Some("answer") => peer::run(peer::Role::Answer, peer_options(&args[1..])?).await,
        Some("version") | Some("--version") => {
            println!("rtcpeer {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| Error::type_error(format!("{flag} needs a value")))
}

fn number(text: &str, flag: &str) -> Result<u64> {
    text.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::type_error(format!("{flag} needs a positive number")))
}

fn demo_options(args: &[String]) -> Result<demo::DemoOptions> {
    let mut opts = demo::DemoOptions {
        print_sdp: false,
        bytes: 256 * 1024 * 1024,
        message_size: 64 * 1024,
        hold: None,
        stats_page: None,
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--sdp" => opts.print_sdp = true,
            "--seconds" => {
                let n = number(value(args, &mut i, "--seconds")?, "--seconds")?;
                opts.hold = Some(std::time::Duration::from_secs(n));
            }
            flag @ ("--stats-page" | "--stats-port") => {
                stats_option(args, &mut i, flag, &mut opts.stats_page)?
            }
            "--mib" => opts.bytes = number(value(args, &mut i, "--mib")?, "--mib")? * 1024 * 1024,
            "--message-kib" => {
                let kib = number(value(args, &mut i, "--message-kib")?, "--message-kib")?;
                if kib > 256 {
                    return Err(Error::type_error(
                        "--message-kib is at most 256 (the SCTP max-message-size)",
                    ));
                }
                opts.message_size = kib as usize * 1024;
            }
            other => return Err(Error::type_error(format!("unknown demo option {other}"))),
        }
        i += 1;
    }
    Ok(opts)
}

fn peer_options(args: &[String]) -> Result<peer::PeerOptions> {
    let mut opts = peer::PeerOptions {
        ice_servers: Vec::new(),
        ips: Vec::new(),
        label: "rtcpeer".into(),
        mdns: false,
        mode: peer::Mode::Chat,
        stats_page: None,
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        match flag {
            "--ice-server" => opts.ice_servers.push(IceServer {
                urls: vec![value(args, &mut i, flag)?.to_string()],
                username: None,
                credential: None,
            }),
            "--username" | "--credential" => {
                let v = value(args, &mut i, flag)?.to_string();
                let server = opts.ice_servers.last_mut().ok_or_else(|| {
                    Error::type_error(format!("{flag} must follow an --ice-server"))
                })?;
                if flag == "--username" {
                    server.username = Some(v);
                } else {
                    server.credential = Some(v);
                }
            }
            "--ip" => opts.ips.push(
                value(args, &mut i, flag)?
                    .parse()
                    .map_err(|_| Error::type_error("--ip needs an IP address"))?,
            ),
            "--label" => opts.label = value(args, &mut i, flag)?.to_string(),
            "--mdns" => opts.mdns = true,
            "--stats-page" | "--stats-port" => {
                stats_option(args, &mut i, flag, &mut opts.stats_page)?
            }
            "--chat" => opts.mode = peer::Mode::Chat,
            "--echo" => opts.mode = peer::Mode::Echo,
            "--send" => opts.mode = peer::Mode::Send(value(args, &mut i, flag)?.to_string()),
            "--receive" => opts.mode = peer::Mode::Receive(value(args, &mut i, flag)?.to_string()),
            other => return Err(Error::type_error(format!("unknown option {other}"))),
        }
        i += 1;
    }
    Ok(opts)
}

/// `--stats-page` (any free port unless a port was given) or `--stats-port N` (that port).
fn stats_option(args: &[String], i: &mut usize, flag: &str, port: &mut Option<u16>) -> Result<()> {
    if flag == "--stats-port" {
        let text = value(args, i, flag)?;
        *port = Some(
            text.parse()
                .map_err(|_| Error::type_error("--stats-port needs a port number (0-65535)"))?,
        );
    } else if port.is_none() {
        *port = Some(0);
    }
    Ok(())
}
