//! `rtcpeer`: the command-line front end of the rtcpeer library.

fn main() {
    let cmd = std::env::args().nth(1);
    match cmd.as_deref() {
        Some("version") => println!("rtcpeer {}", env!("CARGO_PKG_VERSION")),
        _ => {
            eprintln!("usage: rtcpeer <version>");
            std::process::exit(2);
        }
    }
}
