//! A coturn `turnserver` (Debian's `coturn` package) started by a test on 127.0.0.1 inside the
//! test's network namespace: a free port, a config written for it (long-term credentials
//! `test`/`secret` in realm `rtcpeer.test`, loopback peers allowed, UDP only), its log
//! collected from stdout, and the process killed when the value is dropped.
//!
//! [`Coturn::start_streams`] also listens on TCP (same port) and TLS (a second port) on
//! 127.0.0.1 and [::1], with a server certificate (for `localhost`, 127.0.0.1 and ::1)
//! issued by a CA made in the test with rcgen ([`Coturn::ca_pem`] is what a client trusts).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtcpeer_proto::stun::{Class, Message, MessageWriter, Method, TransactionId};

/// The TURN user of every coturn started here.
pub const USER: &str = "test";
/// Its password.
pub const PASSWORD: &str = "secret";
/// The realm.
pub const REALM: &str = "rtcpeer.test";

/// A running `turnserver`; killed on drop.
pub struct Coturn {
    child: Child,
    /// The server's UDP address.
    pub addr: SocketAddr,
    /// Every line it logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
    /// The TLS port ([`Coturn::start_streams`] only).
    pub tls_port: Option<u16>,
    /// The PEM of the CA that issued the server certificate ([`Coturn::start_streams`]).
    pub ca_pem: Option<String>,
}

/// A CA certificate (PEM) and a server certificate + key (PEM) for localhost, 127.0.0.1
/// and ::1, issued by it.
pub fn make_ca_and_server_cert() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "rtcpeer test TURN CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// A TCP port on 127.0.0.1 that nobody uses at the moment.
pub fn free_tcp_port() -> u16 {
    let s = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe socket");
    s.local_addr().unwrap().port()
}

/// A UDP port on 127.0.0.1 that nobody uses at the moment.
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind a probe socket");
    s.local_addr().unwrap().port()
}

impl Coturn {
    /// Starts `turnserver` with the base configuration plus `extra` config lines (e.g.
    /// `max-allocate-lifetime=4`) and waits until it answers a STUN Binding request.
    pub fn start(extra: &[&str]) -> Coturn {
        Coturn::launch(extra, false)
    }

    /// [`Coturn::start`] also listening on TCP (same port) and TLS ([`Coturn::tls_port`]),
    /// on 127.0.0.1 and ::1, with a certificate from a fresh CA ([`Coturn::ca_pem`]).
    pub fn start_streams(extra: &[&str]) -> Coturn {
        Coturn::launch(extra, true)
    }

    fn launch(extra: &[&str], streams: bool) -> Coturn {
        let port = free_udp_port();
        let dir =
            std::env::temp_dir().join(format!("rtcpeer-coturn-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("coturn scratch dir");
        let (mut tls_port, mut ca_pem) = (None, None);
        let transports = if streams {
            let (ca, cert, key) = make_ca_and_server_cert();
            std::fs::write(dir.join("cert.pem"), cert).unwrap();
            std::fs::write(dir.join("key.pem"), key).unwrap();
            let tls = free_tcp_port();
            tls_port = Some(tls);
            ca_pem = Some(ca);
            format!(
                "listening-ip=::1\ntls-listening-port={tls}\nno-dtls\ncert={}\npkey={}\n",
                dir.join("cert.pem").display(),
                dir.join("key.pem").display()
            )
        } else {
            "no-tls\nno-dtls\nno-tcp\n".to_string()
        };
        let mut conf = format!(
            "listening-ip=127.0.0.1\nlistening-port={port}\nrelay-ip=127.0.0.1\n\
             min-port=40000\nmax-port=60000\n\
             allow-loopback-peers\nno-multicast-peers\nlt-cred-mech\nuser={USER}:{PASSWORD}\n\
             realm={REALM}\n{transports}no-cli\nno-stdout-log\nlog-file=stdout\n\
             simple-log\nverbose\npidfile={}\nuserdb={}\n",
            dir.join("turnserver.pid").display(),
            dir.join("turndb").display(),
        );
        for line in extra {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = dir.join("turnserver.conf");
        std::fs::write(&conf_path, conf).expect("write coturn config");
        let mut child = Command::new("turnserver")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (Debian package coturn) runs");
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let c = Coturn {
            child,
            addr,
            log,
            dir,
            tls_port,
            ca_pem,
        };
        c.wait_listening();
        if let Some(tls) = c.tls_port {
            c.wait_tcp(SocketAddr::new(c.addr.ip(), c.addr.port()));
            c.wait_tcp(format!("127.0.0.1:{tls}").parse().unwrap());
        }
        c
    }

    /// `turn:127.0.0.1:port?transport=tcp`.
    pub fn tcp_url(&self) -> String {
        format!("turn:{}?transport=tcp", self.addr)
    }

    /// `turns:127.0.0.1:tls_port` (or with `host` instead of 127.0.0.1, e.g. `[::1]`).
    pub fn tls_url(&self, host: &str) -> String {
        format!(
            "turns:{host}:{}",
            self.tls_port.expect("started with start_streams")
        )
    }

    fn wait_tcp(&self, addr: SocketAddr) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "turnserver does not accept TCP on {addr}; log:\n{}",
            self.log.lock().unwrap().join("\n")
        );
    }

    /// The `turn:` URL of this server.
    pub fn url(&self) -> String {
        format!("turn:{}", self.addr)
    }

    /// Log lines containing `needle` (case-insensitive).
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let n = needle.to_ascii_lowercase();
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.to_ascii_lowercase().contains(&n))
            .cloned()
            .collect()
    }

    fn wait_listening(&self) {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut req = Vec::new();
        MessageWriter::new(
            &mut req,
            Class::Request,
            Method::BINDING,
            TransactionId([5; 12]),
        );
        let end = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 1500];
        while Instant::now() < end {
            let _ = probe.send_to(&req, self.addr);
            if let Ok((n, _)) = probe.recv_from(&mut buf)
                && Message::parse(&buf[..n]).is_ok_and(|m| m.class() == Class::SuccessResponse)
            {
                return;
            }
        }
        panic!(
            "turnserver did not answer on {} within 10 s; log:\n{}",
            self.addr,
            self.log.lock().unwrap().join("\n")
        );
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
