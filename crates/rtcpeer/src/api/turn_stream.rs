//! TURN over TCP and TLS (RFC 8656 §3.1) for the driver: it owns the connections to the
//! servers of `turn:...?transport=tcp` and `turns:` URLs; the sans-IO core only sees whole
//! messages (the core's TURN client is the same as over UDP).
//!
//! Each connection is opened at the driver's start (lookup, TCP connect, TLS handshake
//! with the URL's host as server name, RFC 6066 §3, all within one bound) and then runs as
//! two small tasks: a reader that hands what it read to the driver loop, and a writer that
//! writes the messages the core produced (one `write` per burst). The driver loop cuts the
//! bytes into messages with [`StreamDeframer`] (bounded; a stream that stops parsing is
//! closed) and feeds them to the core as datagrams from the server to the connection's
//! local address. A closed or broken connection is reported to the core, whose allocation
//! and paths through it then fail.
//!
//! TLS is rustls on the aws-lc-rs provider; trusted roots are the platform's
//! (`rustls-native-certs`) plus `IceSettings::turn_tls_roots` (PEM).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtcpeer_proto::io::StreamDeframer;
use rtcpeer_proto::jsep::TurnStreamServer;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Writes (runs of messages) queued for one connection's writer; beyond this new ones are dropped (like
/// datagrams on a full UDP socket: the layers above retransmit).
const MAX_QUEUED_WRITES: usize = 4096;
/// Bytes a reader reads at once (one TLS record's plaintext, RFC 8446 §5.1).
const READ_CHUNK: usize = 16 * 1024;
/// Reads queued for the driver loop from all connections before the readers wait.
const MAX_QUEUED_READS: usize = 64;

/// What a connection's reader hands to the driver loop.
pub(crate) enum StreamInput {
    /// Bytes read from the server.
    Data {
        local: SocketAddr,
        server: SocketAddr,
        bytes: Vec<u8>,
    },
    /// End of stream or a read error.
    Closed {
        local: SocketAddr,
        server: SocketAddr,
        error: String,
    },
}

/// One open connection to a TURN server.
struct Conn {
    local: SocketAddr,
    server: SocketAddr,
    deframer: StreamDeframer,
    writes: mpsc::Sender<Vec<u8>>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Conn {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The driver's TURN connections.
pub(crate) struct TurnStreams {
    conns: Vec<Conn>,
    rx: mpsc::Receiver<StreamInput>,
    tx: mpsc::Sender<StreamInput>,
}

impl Default for TurnStreams {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(MAX_QUEUED_READS);
        TurnStreams {
            conns: Vec::new(),
            rx,
            tx,
        }
    }
}

/// The result of connecting to one server of `IoRequest::ConnectTurnStreams`.
pub(crate) enum Connected {
    /// Connected (and TLS done for `turns:`).
    Ok {
        url: String,
        local: SocketAddr,
        server: SocketAddr,
        stream: Box<dyn Duplex>,
    },
    /// Why not (for `icecandidateerror`'s errorText).
    Failed { url: String, error: String },
}

/// A byte stream to the server: TCP, or TLS over TCP.
pub(crate) trait Duplex: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Duplex for T {}

/// The rustls client configuration for `turns:`: aws-lc-rs, the platform's roots plus
/// `extra_pem` (each text may hold several certificates). Unreadable extra roots are an
/// error; platform roots that fail to load are logged and skipped.
pub(crate) fn tls_config(extra_pem: &[String]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in native.errors.iter().take(4) {
        tracing::debug!("platform root certificates: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!("platform roots: {added} added, {ignored} ignored");
    for pem in extra_pem {
        let mut any = false;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| format!("TURN TLS root (PEM): {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("TURN TLS root rejected: {e}"))?;
            any = true;
        }
        if !any {
            return Err("TURN TLS root: no certificate in the PEM text".into());
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects to every server concurrently, each within `limit` (lookup + TCP + TLS).
/// `families`: (IPv4, IPv6) local addresses we have, to prefer a reachable server address.
pub(crate) async fn connect_all(
    servers: Vec<TurnStreamServer>,
    tls_roots: &[String],
    limit: Duration,
    families: (bool, bool),
) -> Vec<Connected> {
    let needs_tls = servers.iter().any(|s| s.tls);
    let tls = if needs_tls {
        Some(tls_config(tls_roots))
    } else {
        None
    };
    let tasks: Vec<_> = servers
        .into_iter()
        .map(|s| {
            let tls = tls.clone();
            let url = s.url.clone();
            let task = tokio::spawn(async move {
                match tokio::time::timeout(limit, connect_one(&s, tls, families)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("TURN connection not made within {limit:?}")),
                }
            });
            (url, task)
        })
        .collect();
    let mut out = Vec::new();
    for (url, task) in tasks {
        match task.await {
            Ok(Ok((local, server, stream))) => out.push(Connected::Ok {
                url,
                local,
                server,
                stream,
            }),
            Ok(Err(error)) => {
                tracing::debug!("TURN {url}: {error}");
                out.push(Connected::Failed { url, error });
            }
            Err(e) => out.push(Connected::Failed {
                url,
                error: format!("TURN connect task: {e}"),
            }),
        }
    }
    out
}

async fn connect_one(
    s: &TurnStreamServer,
    tls: Option<Result<Arc<rustls::ClientConfig>, String>>,
    families: (bool, bool),
) -> Result<(SocketAddr, SocketAddr, Box<dyn Duplex>), String> {
    let addrs: Vec<SocketAddr> = match s.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, s.port)],
        // Never resolved, and no query is sent (RFC 6761 §6.4).
        Err(_) if super::driver::reserved_invalid(&s.host) => {
            return Err("TURN host name under .invalid does not resolve".into());
        }
        Err(_) => tokio::net::lookup_host((s.host.as_str(), s.port))
            .await
            .map_err(|e| format!("TURN host lookup failed: {e}"))?
            .take(16)
            .collect(),
    };
    let usable = |a: &SocketAddr| if a.is_ipv4() { families.0 } else { families.1 };
    let server = addrs
        .iter()
        .find(|a| usable(a))
        .or(addrs.first())
        .copied()
        .ok_or_else(|| "TURN host name has no address".to_string())?;
    let tcp = TcpStream::connect(server)
        .await
        .map_err(|e| format!("TCP connection to the TURN server failed: {e}"))?;
    // Small messages (requests, checks) must not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let local = tcp
        .local_addr()
        .map_err(|e| format!("TCP local address: {e}"))?;
    let Some(tls) = tls else {
        return Ok((local, server, Box::new(tcp)));
    };
    let config = tls?;
    // SNI and certificate check against the URL's host (RFC 6066 §3, RFC 6125).
    let name = ServerName::try_from(s.host.clone())
        .map_err(|e| format!("TURN host is not a valid TLS server name: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with the TURN server failed: {e}"))?;
    Ok((local, server, Box::new(stream)))
}

impl TurnStreams {
    /// Takes a connected stream: starts its reader and writer.
    pub(crate) fn add(&mut self, local: SocketAddr, server: SocketAddr, stream: Box<dyn Duplex>) {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let tx = self.tx.clone();
        let reader = tokio::spawn(async move {
            let error = loop {
                let mut buf = vec![0u8; READ_CHUNK];
                match rd.read(&mut buf).await {
                    Ok(0) => break "the TURN server closed the connection".to_string(),
                    Ok(n) => {
                        buf.truncate(n);
                        let msg = StreamInput::Data {
                            local,
                            server,
                            bytes: buf,
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => break format!("TURN connection read failed: {e}"),
                }
            };
            let _ = tx
                .send(StreamInput::Closed {
                    local,
                    server,
                    error,
                })
                .await;
        });
        let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(MAX_QUEUED_WRITES);
        let tx = self.tx.clone();
        let writer = tokio::spawn(async move {
            let mut out: Vec<u8> = Vec::new();
            while let Some(first) = wrx.recv().await {
                out.clear();
                out.extend_from_slice(&first);
                // One write for everything queued (a TLS record holds up to 16 KiB).
                while out.len() < 256 * 1024 {
                    match wrx.try_recv() {
                        Ok(m) => out.extend_from_slice(&m),
                        Err(_) => break,
                    }
                }
                if let Err(e) = async {
                    wr.write_all(&out).await?;
                    wr.flush().await
                }
                .await
                {
                    let _ = tx
                        .send(StreamInput::Closed {
                            local,
                            server,
                            error: format!("TURN connection write failed: {e}"),
                        })
                        .await;
                    return;
                }
            }
            let _ = wr.shutdown().await;
        });
        self.conns.push(Conn {
            local,
            server,
            deframer: StreamDeframer::default(),
            writes: wtx,
            tasks: [reader, writer],
        });
    }

    /// Whether `local`→`remote` is one of the connections.
    pub(crate) fn is_stream(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.conns
            .iter()
            .any(|c| c.local == local && c.server == remote)
    }

    /// Queues messages the core produced (whole STUN/ChannelData messages, one after the
    /// other) for the connection `local`→`remote`; `false` when there is no such connection.
    pub(crate) fn send(&self, local: SocketAddr, remote: SocketAddr, msg: &[u8]) -> bool {
        let Some(c) = self
            .conns
            .iter()
            .find(|c| c.local == local && c.server == remote)
        else {
            return false;
        };
        if c.writes.try_send(msg.to_vec()).is_err() {
            tracing::debug!("TURN connection to {remote}: write queue full, message dropped");
        }
        true
    }

    /// The next read of any connection.
    pub(crate) async fn recv(&mut self) -> Option<StreamInput> {
        self.rx.recv().await
    }

    /// Cuts `bytes` read on `local`→`server` into messages for `f(local, server, msg)`;
    /// `Err` (the connection is then dropped) when the stream does not parse (RFC 8656
    /// §3.1, §12.5).
    pub(crate) fn deliver(
        &mut self,
        local: SocketAddr,
        server: SocketAddr,
        bytes: &[u8],
        mut f: impl FnMut(SocketAddr, SocketAddr, &[u8]),
    ) -> Result<(), String> {
        let Some(ci) = self
            .conns
            .iter()
            .position(|c| c.local == local && c.server == server)
        else {
            return Ok(());
        };
        let d = &mut self.conns[ci].deframer;
        let mut rest = bytes;
        let r = loop {
            let n = d.push(rest);
            rest = &rest[n..];
            let broke = loop {
                match d.next_frame() {
                    Ok(Some(frame)) => f(local, server, frame),
                    Ok(None) => break None,
                    Err(e) => break Some(e.to_string()),
                }
            };
            if let Some(e) = broke {
                break Err(e);
            }
            if rest.is_empty() {
                break Ok(());
            }
        };
        if r.is_err() {
            self.conns.swap_remove(ci);
        }
        r
    }

    /// Drops the connection `local`→`server` (after it closed).
    pub(crate) fn remove(&mut self, local: SocketAddr, server: SocketAddr) {
        self.conns
            .retain(|c| !(c.local == local && c.server == server));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        assert!(tls_config(&[]).is_ok());
        assert!(tls_config(&[ca_pem()]).is_ok());
        // Two certificates in one text.
        assert!(tls_config(&[format!("{}\n{}", ca_pem(), ca_pem())]).is_ok());
        let e = tls_config(&["not a certificate".into()]).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = tls_config(&[broken.into()]).unwrap_err();
        assert!(e.contains("TURN TLS root"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_and_unresolvable_servers_fail_with_a_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let servers = vec![
            TurnStreamServer {
                url: "turn:a?transport=tcp".into(),
                host: "127.0.0.1".into(),
                port,
                tls: false,
            },
            TurnStreamServer {
                url: "turns:b".into(),
                host: "b.invalid".into(),
                port: 5349,
                tls: true,
            },
        ];
        let out = connect_all(servers, &[], Duration::from_secs(5), (true, false)).await;
        assert_eq!(out.len(), 2);
        for (c, url) in out.iter().zip(["turn:a?transport=tcp", "turns:b"]) {
            match c {
                Connected::Failed { url: u, error } => {
                    assert_eq!(u, url);
                    let want = if url.starts_with("turns") {
                        ".invalid"
                    } else {
                        "TCP"
                    };
                    assert!(error.contains(want), "{error}");
                }
                Connected::Ok { .. } => panic!("{url} connected"),
            }
        }
    }
}
