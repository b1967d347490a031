//! Several certificates in `Configuration.certificates` (webrtc-pc §4.4.1.1) and several
//! remote `a=fingerprint` lines (RFC 8122 §5), end to end over UDP on 127.0.0.1.

mod common;

use std::time::SystemTime;

use common::net::{negotiate, pc, wait_gathered, within};
use rtcpeer::{
    Certificate, CertificateParams, Configuration, KeyParams, PeerConnection, PeerConnectionState,
    RsaHash, SessionDescription,
};

fn cert(key: KeyParams) -> Certificate {
    Certificate::generate(CertificateParams::from(key), SystemTime::now()).unwrap()
}

fn pc_with(certificates: Vec<Certificate>) -> PeerConnection {
    PeerConnection::new(Configuration {
        certificates,
        ..Configuration::default()
    })
    .unwrap()
}

/// The `a=fingerprint` values of a description, as written.
fn fingerprint_lines(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=fingerprint:"))
        .map(str::to_string)
        .collect()
}

/// `a=fingerprint` as our SDP writes it for `cert` (uppercase hex, RFC 8122 §5).
fn line_of(cert: &Certificate) -> String {
    let fp = &cert.get_fingerprints()[0];
    format!("{} {}", fp.algorithm, fp.value.to_ascii_uppercase())
}

/// Waits until the connection state is `want` (or fails the test on another final state).
async fn wait_state(pc: &PeerConnection, want: PeerConnectionState) {
    let mut ev = pc.events();
    within("the connection state", async {
        loop {
            let s = pc.connection_state();
            if s == want {
                return;
            }
            assert!(
                !matches!(s, PeerConnectionState::Failed | PeerConnectionState::Closed),
                "ended in {s} waiting for {want}"
            );
            if ev.recv().await.is_none() {
                panic!("connection closed");
            }
        }
    })
    .await
}

/// The DER certificate the peer presented in DTLS.
fn remote_der(pc: &PeerConnection) -> Vec<u8> {
    let certs = pc.sctp().unwrap().transport().get_remote_certificates();
    assert_eq!(certs.len(), 1);
    certs[0].clone()
}

/// RFC 8122 §5: each configured certificate's fingerprint is its own `a=fingerprint` line, in
/// configuration order; DTLS uses the first certificate, and the peer accepts it.
#[tokio::test]
async fn every_configured_certificate_is_fingerprinted_and_two_such_peers_connect() {
    let (a1, a2) = (cert(KeyParams::EcdsaP256), cert(KeyParams::EcdsaP384));
    let (b1, b2) = (cert(KeyParams::EcdsaP384), cert(KeyParams::EcdsaP256));
    let pc1 = pc_with(vec![a1.clone(), a2.clone()]);
    let pc2 = pc_with(vec![b1.clone(), b2.clone()]);
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let lines = fingerprint_lines(&offer.sdp);
    assert_eq!(lines, vec![line_of(&a1), line_of(&a2)]);
    negotiate(&pc1, &pc2).await;
    let answer = pc2.local_description().unwrap();
    assert_eq!(
        fingerprint_lines(&answer.sdp),
        vec![line_of(&b1), line_of(&b2)]
    );
    wait_state(&pc1, PeerConnectionState::Connected).await;
    wait_state(&pc2, PeerConnectionState::Connected).await;
    // DTLS presents the first certificate of each side.
    assert_eq!(remote_der(&pc1), b1.der());
    assert_eq!(remote_der(&pc2), a1.der());
    pc1.close();
    pc2.close();
}

/// DTLS uses the first certificate whose algorithm the handshake can use (ECDHE-ECDSA only,
/// RFC 8422 §5.1.1): an RSA certificate listed first is still fingerprinted, but the ECDSA one
/// after it is the one presented.
#[tokio::test]
async fn dtls_uses_the_first_certificate_of_a_usable_algorithm() {
    let rsa = cert(KeyParams::RsaPkcs1v15 {
        modulus_length: 2048,
        public_exponent: 65_537,
        hash: RsaHash::Sha256,
    });
    let ec = cert(KeyParams::EcdsaP256);
    assert!(!rsa.is_dtls_capable() && ec.is_dtls_capable());
    assert_eq!(
        Certificate::select_for_dtls(&[rsa.clone(), ec.clone()]),
        Some(&ec)
    );
    assert_eq!(
        Certificate::select_for_dtls(std::slice::from_ref(&rsa)),
        Some(&rsa)
    );
    assert_eq!(Certificate::select_for_dtls(&[]), None);
    let pc1 = pc_with(vec![rsa.clone(), ec.clone()]);
    let pc2 = pc();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let lines = fingerprint_lines(&offer.sdp);
    assert_eq!(lines, vec![line_of(&ec), line_of(&rsa)]);
    negotiate(&pc1, &pc2).await;
    wait_state(&pc2, PeerConnectionState::Connected).await;
    assert_eq!(remote_der(&pc2), ec.der());
    pc1.close();
    pc2.close();
}

/// Offer/answer where the answer is edited on its way to pc1 by `edit`.
async fn negotiate_edited_answer(
    pc1: &PeerConnection,
    pc2: &PeerConnection,
    edit: impl FnOnce(&str) -> String,
) {
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer)).await.unwrap();
    wait_gathered(pc1).await;
    pc2.set_remote_description(pc1.local_description().unwrap())
        .await
        .unwrap();
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(pc2).await;
    let answer = pc2.local_description().unwrap();
    pc1.set_remote_description(SessionDescription::new(answer.sdp_type, edit(&answer.sdp)))
        .await
        .unwrap();
}

/// A sha-256 fingerprint no certificate has.
const BOGUS: &str = "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

/// RFC 8122 §5: with several fingerprints of the preferred hash, the certificate must match
/// one of them: only the second matching still connects.
#[tokio::test]
async fn remote_fingerprints_where_only_the_second_matches_connect() {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    negotiate_edited_answer(&pc1, &pc2, |sdp| {
        sdp.replace(
            "a=fingerprint:",
            &format!("a=fingerprint:{BOGUS}\r\na=fingerprint:"),
        )
    })
    .await;
    let remote = pc1.remote_description().unwrap().sdp;
    assert_eq!(fingerprint_lines(&remote).len(), 2);
    assert_eq!(fingerprint_lines(&remote)[0], BOGUS);
    wait_state(&pc1, PeerConnectionState::Connected).await;
    wait_state(&pc2, PeerConnectionState::Connected).await;
    pc1.close();
    pc2.close();
}

/// RFC 8122 §5: a certificate matching none of the fingerprints fails DTLS, and the connection.
#[tokio::test]
async fn remote_fingerprints_none_of_which_match_fail_dtls() {
    let (pc1, pc2) = (pc(), pc());
    pc1.create_data_channel("x", None).unwrap();
    let other = cert(KeyParams::EcdsaP256);
    let other_line = line_of(&other);
    negotiate_edited_answer(&pc1, &pc2, |sdp| {
        let lines: Vec<String> = sdp
            .split("\r\n")
            .map(|l| {
                if l.starts_with("a=fingerprint:") {
                    format!("a=fingerprint:{BOGUS}\r\na=fingerprint:{other_line}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        lines.join("\r\n")
    })
    .await;
    let mut ev = pc1.events();
    within("pc1 to fail", async {
        while pc1.connection_state() != PeerConnectionState::Failed {
            assert_ne!(pc1.connection_state(), PeerConnectionState::Connected);
            ev.recv().await.expect("events");
        }
    })
    .await;
    pc1.close();
    pc2.close();
}
