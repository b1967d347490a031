//! Interop with OpenSSL's DTLS 1.2 (`openssl s_server` / `s_client`) over UDP on 127.0.0.1,
//! with `use_srtp`. The exported DTLS-SRTP keying material must equal OpenSSL's
//! (`-keymatexport EXTRACTOR-dtls_srtp`) byte for byte. Skipped (with a message) when the
//! `openssl` binary is not installed. Wall-clock time and sockets are fine here: this is test
//! code driving the sans-IO core.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::tests::{cert, fingerprints_of};
use super::*;

/// Per-test deadline; a handshake on loopback takes milliseconds.
const DEADLINE: Duration = Duration::from_secs(10);

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p =
            std::env::temp_dir().join(format!("rtcpeer-dtls-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `openssl` process; its stdout and stderr lines arrive on a channel. Killed (this
/// child only, by handle) on drop.
struct OpenSsl {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl OpenSsl {
    fn spawn(args: &[&str]) -> OpenSsl {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn openssl");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(|l| l.ok()) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        let stdin = child.stdin.take();
        OpenSsl {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Collects whatever output arrived so far.
    fn collect(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    /// Waits (up to `until`) for a line containing `needle`.
    fn wait_for(&mut self, needle: &str, until: Instant) -> Option<String> {
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
                return Some(l.clone());
            }
            let left = until.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left.min(Duration::from_millis(20))) {
                Ok(l) => self.seen.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return self.seen.iter().find(|l| l.contains(needle)).cloned();
                }
            }
        }
    }

    fn has(&mut self, needle: &str) -> bool {
        self.collect();
        self.seen.iter().any(|l| l.contains(needle))
    }

    fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn transcript(&mut self) -> String {
        self.collect();
        self.seen.join("\n")
    }
}

impl Drop for OpenSsl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback UDP socket driving one `DtlsConnection` with the wall clock.
struct Driver {
    conn: DtlsConnection,
    sock: UdpSocket,
    peer: Option<SocketAddr>,
    events: Vec<DtlsEvent>,
    buf: Vec<u8>,
}

impl Driver {
    fn new(conn: DtlsConnection) -> Driver {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        Driver {
            conn,
            sock,
            peer: None,
            events: Vec::new(),
            buf: vec![0; 65_536],
        }
    }

    /// One turn: send what is queued, wait briefly for a datagram, fire timers.
    fn turn(&mut self) {
        if let Some(addr) = self.peer {
            while let Some(d) = self.conn.poll_transmit() {
                self.sock.send_to(&d, addr).unwrap();
            }
        }
        let now = Instant::now();
        let wait = self
            .conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(20))
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        self.sock.set_read_timeout(Some(wait)).unwrap();
        if let Ok((n, from)) = self.sock.recv_from(&mut self.buf) {
            assert!(from.ip().is_loopback());
            let peer = *self.peer.get_or_insert(from);
            if from == peer {
                self.conn.handle_record(Instant::now(), &self.buf[..n]);
            }
        }
        self.conn.handle_timeout(Instant::now());
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
        if let Some(addr) = self.peer {
            while let Some(d) = self.conn.poll_transmit() {
                self.sock.send_to(&d, addr).unwrap();
            }
        }
    }

    fn run_until(&mut self, until: Instant, mut done: impl FnMut(&Driver) -> bool) -> bool {
        while Instant::now() < until {
            if done(self) {
                return true;
            }
            self.turn();
        }
        done(self)
    }

    fn received_text(&self) -> String {
        let mut s = String::new();
        for e in &self.events {
            if let DtlsEvent::ApplicationData(d) = e {
                s.push_str(&String::from_utf8_lossy(d));
            }
        }
        s
    }
}

/// A free UDP port on 127.0.0.1 for the OpenSSL server (bound, then released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The keying material as RFC 5764 §4.2 lays it out (what the exporter returned).
fn exported_bytes(km: &SrtpKeyingMaterial) -> Vec<u8> {
    [
        &km.client_write.key[..],
        &km.server_write.key,
        &km.client_write.salt,
        &km.server_write.salt,
    ]
    .concat()
}

/// Parses OpenSSL's "Keying material: <HEX>" line.
fn parse_keying_line(line: &str) -> Vec<u8> {
    let hex = line.rsplit(' ').next().unwrap().trim();
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// OpenSSL's name for a profile (it drops "HMAC_" from the registry name).
fn openssl_profile_name(p: SrtpProfile) -> &'static str {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
        SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
        SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
        SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
    }
}

fn config() -> DtlsConfig {
    DtlsConfig::new(&DtlsSettings::default()).unwrap()
}

/// Our DTLS client against `openssl s_server -dtls1_2` offering only AEAD_AES_128_GCM.
#[test]
fn client_interops_with_openssl_server() {
    assert!(
        openssl_available(),
        "the openssl binary is needed for DTLS interop tests (scripts/test installs it)"
    );
    let until = Instant::now() + DEADLINE;
    let dir = TempDir::new("srv");
    let server_cert = cert();
    let pem = dir.0.join("server.pem");
    std::fs::write(&pem, server_cert.to_pem()).unwrap();
    let port = free_port();
    let accept = format!("127.0.0.1:{port}");
    let pem_s = pem.to_str().unwrap();
    let mut ossl = OpenSsl::spawn(&[
        "s_server",
        "-dtls1_2",
        "-accept",
        &accept,
        "-naccept",
        "1",
        "-cert",
        pem_s,
        "-key",
        pem_s,
        "-verify",
        "1",
        "-use_srtp",
        "SRTP_AEAD_AES_128_GCM",
        // One suite, so the cipher we report (`dtlsCipher`) is known.
        "-cipher",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "88",
    ]);
    assert!(
        ossl.wait_for("ACCEPT", until).is_some(),
        "{}",
        ossl.transcript()
    );

    let ours = cert();
    let mut conn = DtlsConnection::new(ours.clone(), &config()).unwrap();
    conn.start(
        Instant::now(),
        DtlsRole::Client,
        fingerprints_of(&server_cert),
    )
    .unwrap();
    let mut d = Driver::new(conn);
    d.peer = Some(accept.parse().unwrap());
    let connected = d.run_until(until, |d| d.conn.state() != DtlsTransportState::Connecting);
    assert!(connected, "no handshake: {}", ossl.transcript());
    assert_eq!(
        d.conn.state(),
        DtlsTransportState::Connected,
        "{:?}\n{}",
        d.events,
        ossl.transcript()
    );
    assert_eq!(d.conn.remote_certificate(), Some(server_cert.der()));
    let km = d.conn.srtp_keying_material().unwrap().clone();
    assert_eq!(km.profile, SrtpProfile::AeadAes128Gcm);
    assert_eq!(
        d.conn.cipher_suite().and_then(|c| c.name()),
        Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
    );

    let line = ossl
        .wait_for("Keying material: ", until)
        .unwrap_or_else(|| panic!("{}", ossl.transcript()));
    let theirs = parse_keying_line(&line);
    assert_eq!(
        exported_bytes(&km),
        theirs[..km.profile.keying_material_len()],
        "DTLS-SRTP keys differ from OpenSSL's"
    );
    assert!(ossl.has("SRTP Extension negotiated, profile=SRTP_AEAD_AES_128_GCM"));

    d.conn
        .send_application_data(b"hello from rtcpeer\n")
        .unwrap();
    ossl.write_line("hello from openssl");
    let got = d.run_until(until, |d| d.received_text().contains("hello from openssl"));
    assert!(got, "{:?}\n{}", d.events, ossl.transcript());
    assert!(
        ossl.wait_for("hello from rtcpeer", until).is_some(),
        "{}",
        ossl.transcript()
    );

    // close_notify reaches OpenSSL, which ends the session ("DONE") and, with -naccept 1,
    // exits (flushing its buffered output).
    d.conn.close();
    d.turn();
    assert!(
        ossl.wait_for("DONE", until).is_some(),
        "{}",
        ossl.transcript()
    );
}

/// OpenSSL's DTLS client against our server; `offer` is its `-use_srtp` list.
fn server_with_openssl_client(offer: &str, expect: SrtpProfile) {
    assert!(
        openssl_available(),
        "the openssl binary is needed for DTLS interop tests (scripts/test installs it)"
    );
    let until = Instant::now() + DEADLINE;
    let dir = TempDir::new("cli");
    let client_cert = cert();
    let pem = dir.0.join("client.pem");
    std::fs::write(&pem, client_cert.to_pem()).unwrap();
    let pem_s = pem.to_str().unwrap();

    let ours = cert();
    let mut conn = DtlsConnection::new(ours.clone(), &config()).unwrap();
    conn.start(
        Instant::now(),
        DtlsRole::Server,
        fingerprints_of(&client_cert),
    )
    .unwrap();
    let mut d = Driver::new(conn);
    let connect = d.sock.local_addr().unwrap().to_string();
    let mut ossl = OpenSsl::spawn(&[
        "s_client",
        "-dtls1_2",
        "-connect",
        &connect,
        "-cert",
        pem_s,
        "-key",
        pem_s,
        "-use_srtp",
        offer,
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "88",
    ]);
    let connected = d.run_until(until, |d| d.conn.state() != DtlsTransportState::Connecting);
    assert!(connected, "no handshake: {}", ossl.transcript());
    assert_eq!(
        d.conn.state(),
        DtlsTransportState::Connected,
        "{:?}\n{}",
        d.events,
        ossl.transcript()
    );
    assert_eq!(d.conn.remote_certificate(), Some(client_cert.der()));
    let km = d.conn.srtp_keying_material().unwrap().clone();
    assert_eq!(km.profile, expect);
    let line = ossl
        .wait_for("Keying material: ", until)
        .unwrap_or_else(|| panic!("{}", ossl.transcript()));
    assert_eq!(
        exported_bytes(&km),
        parse_keying_line(&line)[..km.profile.keying_material_len()],
        "DTLS-SRTP keys differ from OpenSSL's"
    );
    let negotiated = format!(
        "SRTP Extension negotiated, profile={}",
        openssl_profile_name(expect)
    );
    assert!(ossl.has(&negotiated), "{}", ossl.transcript());
    // s_client prints "Cipher is <OpenSSL name>"; ours is the IANA name of the same suite.
    let ours = d.conn.cipher_suite().and_then(|c| c.name()).unwrap();
    let openssl_name = match ours {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        other => panic!("unexpected suite {other}"),
    };
    assert!(
        ossl.has(&format!("Cipher is {openssl_name}")),
        "{ours}\n{}",
        ossl.transcript()
    );

    ossl.write_line("hello from openssl");
    let got = d.run_until(until, |d| d.received_text().contains("hello from openssl"));
    assert!(got, "{:?}\n{}", d.events, ossl.transcript());
    d.conn
        .send_application_data(b"hello from rtcpeer\n")
        .unwrap();
    d.turn();
    assert!(
        ossl.wait_for("hello from rtcpeer", until).is_some(),
        "{}",
        ossl.transcript()
    );
}

#[test]
fn server_interops_with_openssl_client_aes_cm() {
    server_with_openssl_client("SRTP_AES128_CM_SHA1_80", SrtpProfile::Aes128CmHmacSha1_80);
}

#[test]
fn server_interops_with_openssl_client_all_profiles() {
    // dimpl's server prefers AES-256-GCM.
    server_with_openssl_client(
        "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM",
        SrtpProfile::AeadAes256Gcm,
    );
}

/// A wrong fingerprint for OpenSSL's certificate: we fail, and OpenSSL reports our
/// bad_certificate alert (so the alert record is well-formed for a third-party stack).
#[test]
fn fingerprint_mismatch_against_openssl_sends_bad_certificate() {
    assert!(
        openssl_available(),
        "the openssl binary is needed for DTLS interop tests (scripts/test installs it)"
    );
    let until = Instant::now() + DEADLINE;
    let dir = TempDir::new("mismatch");
    let server_cert = cert();
    let pem = dir.0.join("server.pem");
    std::fs::write(&pem, server_cert.to_pem()).unwrap();
    let port = free_port();
    let accept = format!("127.0.0.1:{port}");
    let pem_s = pem.to_str().unwrap();
    let mut ossl = OpenSsl::spawn(&[
        "s_server",
        "-dtls1_2",
        "-accept",
        &accept,
        "-cert",
        pem_s,
        "-key",
        pem_s,
        "-verify",
        "1",
        "-use_srtp",
        "SRTP_AEAD_AES_128_GCM",
    ]);
    assert!(ossl.wait_for("ACCEPT", until).is_some());
    let mut conn = DtlsConnection::new(cert(), &config()).unwrap();
    conn.start(Instant::now(), DtlsRole::Client, fingerprints_of(&cert()))
        .unwrap();
    let mut d = Driver::new(conn);
    d.peer = Some(accept.parse().unwrap());
    d.run_until(until, |d| d.conn.state() != DtlsTransportState::Connecting);
    d.turn();
    assert_eq!(d.conn.state(), DtlsTransportState::Failed);
    assert!(
        d.events
            .contains(&DtlsEvent::Failed(DtlsFailure::FingerprintMismatch))
    );
    assert!(
        ossl.wait_for("bad certificate", until).is_some(),
        "{}",
        ossl.transcript()
    );
}
