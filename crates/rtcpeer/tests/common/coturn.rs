//! A coturn `turnserver` (Debian's `coturn` package) started by a test on 127.0.0.1 inside the
//! test's network namespace: a free port, a config written for it (long-term credentials
//! `test`/`secret` in realm `rtcpeer.test`, loopback peers allowed, UDP only), its log
//! collected from stdout, and the process killed when the value is dropped.

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
        let port = free_udp_port();
        let dir =
            std::env::temp_dir().join(format!("rtcpeer-coturn-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("coturn scratch dir");
        let mut conf = format!(
            "listening-ip=127.0.0.1\nlistening-port={port}\nrelay-ip=127.0.0.1\n\
             min-port=40000\nmax-port=60000\n\
             allow-loopback-peers\nno-multicast-peers\nlt-cred-mech\nuser={USER}:{PASSWORD}\n\
             realm={REALM}\nno-tls\nno-dtls\nno-tcp\nno-cli\nno-stdout-log\nlog-file=stdout\n\
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
        };
        c.wait_listening();
        c
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
