//! Identity for WebRTC (W3C webrtc-identity; WPT section 31 of the checklist): an example IdP
//! whose assertions are HMAC-SHA256 signatures with a test key (aws-lc-rs), covering success
//! and every failure path: generation failure, target peer identity mismatch, contents not
//! covering the fingerprints, identity outside the IdP's domain, IdP errors with and without a
//! target, unknown IdP, forged assertions, an IdP that needs a login (`idpLoginUrl`), one that
//! never answers (the 15 s "idp-timeout", on tokio's paused clock) and token errors.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_lc_rs::hmac;
use common::net::{pc, wait_gathered, within};
use rtcpeer::{
    Certificate, CertificateParams, Configuration, Error, ErrorDetail, IdentityAssertion,
    IdentityAssertionResult, IdentityProvider, IdentityProviderDetails, IdentityProviderOptions,
    IdentityValidationResult, IdpFuture, PeerConnection, PeerConnectionState, SdpType,
    SessionDescription, SignalingState,
};
use rtcpeer_proto::identity::{IdentityAssertionJson, base64_decode};
use serde_json::{Value, json};

/// What the test IdP does.
#[derive(Debug, Clone, Default)]
struct Mode {
    /// `generateAssertion` rejects.
    fail_generate: bool,
    /// `validateAssertion` rejects.
    fail_validate: bool,
    /// `validateAssertion` reports this identity instead of the signed one.
    validated_identity: Option<String>,
    /// `generateAssertion` names this IdP (domain, protocol) instead of itself (WPT-360).
    returned_idp: Option<(String, String)>,
    /// `generateAssertion` rejects with "idp-need-login" and this login page.
    need_login: Option<String>,
    /// `validateAssertion` rejects with this IdP error as it is (e.g. "idp-token-expired").
    validate_error: Option<ErrorDetail>,
    /// `generateAssertion` and `validateAssertion` never answer.
    hang: bool,
}

/// The example IdP: an assertion is `{"identity","contents","mac"}` with `mac` the
/// HMAC-SHA256 (RFC 2104) of `identity \n contents` under the IdP's key.
struct TestIdp {
    domain: String,
    user: String,
    key: hmac::Key,
    mode: Mutex<Mode>,
    /// Every `generateAssertion` call: (contents, origin, options).
    generated: Mutex<Vec<(String, String, IdentityProviderOptions)>>,
}

impl TestIdp {
    fn new(domain: &str, user: &str, key: &[u8]) -> Arc<TestIdp> {
        Arc::new(TestIdp {
            domain: domain.into(),
            user: user.into(),
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            mode: Mutex::default(),
            generated: Mutex::default(),
        })
    }

    fn set(&self, f: impl FnOnce(&mut Mode)) {
        f(&mut self.mode.lock().unwrap());
    }

    fn mac(&self, identity: &str, contents: &str) -> Vec<u8> {
        let msg = format!("{identity}\n{contents}");
        hmac::sign(&self.key, msg.as_bytes()).as_ref().to_vec()
    }

    fn calls(&self) -> usize {
        self.generated.lock().unwrap().len()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl IdentityProvider for TestIdp {
    fn domain(&self) -> &str {
        &self.domain
    }

    fn generate_assertion<'a>(
        &'a self,
        contents: &'a str,
        origin: &'a str,
        options: &'a IdentityProviderOptions,
    ) -> IdpFuture<'a, IdentityAssertionResult> {
        Box::pin(async move {
            self.generated.lock().unwrap().push((
                contents.to_owned(),
                origin.to_owned(),
                options.clone(),
            ));
            let mode = self.mode.lock().unwrap().clone();
            tokio::task::yield_now().await;
            if mode.hang {
                std::future::pending::<()>().await;
            }
            if let Some(url) = mode.need_login {
                return Err(Error::idp_need_login(url, "log in first"));
            }
            if mode.fail_generate {
                return Err(Error::operation("user not logged in"));
            }
            let assertion = json!({
                "identity": self.user,
                "contents": contents,
                "mac": hex(&self.mac(&self.user, contents)),
            })
            .to_string();
            let (domain, protocol) = mode
                .returned_idp
                .unwrap_or((self.domain.clone(), options.protocol.clone()));
            Ok(IdentityAssertionResult {
                idp: IdentityProviderDetails { domain, protocol },
                assertion,
            })
        })
    }

    fn validate_assertion<'a>(
        &'a self,
        assertion: &'a str,
        _origin: &'a str,
    ) -> IdpFuture<'a, IdentityValidationResult> {
        Box::pin(async move {
            let mode = self.mode.lock().unwrap().clone();
            tokio::task::yield_now().await;
            if mode.hang {
                std::future::pending::<()>().await;
            }
            if let Some(d) = mode.validate_error {
                return Err(Error::rtc(d, "token rejected"));
            }
            if mode.fail_validate {
                return Err(Error::operation("IdP server unreachable"));
            }
            let v: Value =
                serde_json::from_str(assertion).map_err(|_| Error::operation("not JSON"))?;
            let field = |n: &str| v[n].as_str().map(str::to_owned);
            let (Some(identity), Some(contents), Some(mac)) =
                (field("identity"), field("contents"), field("mac"))
            else {
                return Err(Error::operation("incomplete assertion"));
            };
            let mac = unhex(&mac).ok_or_else(|| Error::operation("bad mac"))?;
            let msg = format!("{identity}\n{contents}");
            hmac::verify(&self.key, msg.as_bytes(), &mac)
                .map_err(|_| Error::operation("forged assertion"))?;
            Ok(IdentityValidationResult {
                identity: mode.validated_identity.unwrap_or(identity),
                contents,
            })
        })
    }
}

const KEY_A: &[u8] = b"test key of a.example, not a secret";
const KEY_B: &[u8] = b"test key of b.example, not a secret";

fn alice() -> Arc<TestIdp> {
    TestIdp::new("a.example", "alice@a.example", KEY_A)
}

fn bob() -> Arc<TestIdp> {
    TestIdp::new("b.example", "bob@b.example", KEY_B)
}

fn pc_targeting(peer: &str) -> PeerConnection {
    PeerConnection::new(Configuration {
        peer_identity: Some(peer.into()),
        ..Configuration::default()
    })
    .unwrap()
}

/// The `a=identity` value of a description (session level: before the first `m=`).
fn session_identity(sdp: &str) -> Option<String> {
    sdp.split("\r\nm=")
        .next()?
        .lines()
        .find_map(|l| l.strip_prefix("a=identity:"))
        .map(str::to_owned)
}

/// An offer from `pc` (with a data channel), set as its local description.
async fn local_offer(pc: &PeerConnection) -> SessionDescription {
    if pc.sctp().is_none() {
        pc.create_data_channel("x", None).unwrap();
    }
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(Some(offer.clone())).await.unwrap();
    offer
}

fn detail(e: &Error) -> Option<&'static str> {
    e.detail().map(|d| d.as_str())
}

async fn settled<T>(f: impl std::future::Future<Output = T>) -> T {
    within("an identity promise", f).await
}

/// WPT-359: with an IdP set, the offer and the answer carry `a=identity` at session level,
/// equal to `getIdentityAssertion()`; each side's `peerIdentity` resolves with the other's
/// identity once the remote description is set, and the two connect.
#[tokio::test]
async fn wpt_359_offer_and_answer_carry_the_assertion_and_peer_identity_resolves() {
    let (idp_a, idp_b) = (alice(), bob());
    let (pc1, pc2) = (pc(), pc());
    pc1.set_identity_provider(idp_a.clone(), None).unwrap();
    pc2.set_identity_provider(idp_b.clone(), None).unwrap();
    pc1.register_identity_provider(bob());
    pc2.register_identity_provider(alice());
    let (peer1, peer2) = (pc1.peer_identity(), pc2.peer_identity());

    let assertion = pc1.get_identity_assertion().await.unwrap();
    local_offer(&pc1).await;
    wait_gathered(&pc1).await;
    let offer = pc1.local_description().unwrap();
    assert_eq!(session_identity(&offer.sdp).as_deref(), Some(&*assertion));
    let decoded = IdentityAssertionJson::decode(&assertion).unwrap();
    assert_eq!(decoded.domain, "a.example");
    assert_eq!(decoded.protocol, "default");
    // The stored assertion is reused (webrtc-identity §5.5 "MAY store").
    assert_eq!(idp_a.calls(), 1);

    pc2.set_remote_description(offer).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    wait_gathered(&pc2).await;
    let answer = pc2.local_description().unwrap();
    let answer_identity = session_identity(&answer.sdp).expect("the answer asserts too");
    assert_eq!(answer_identity, pc2.get_identity_assertion().await.unwrap());
    pc1.set_remote_description(answer).await.unwrap();

    assert_eq!(
        settled(peer2).await.unwrap(),
        IdentityAssertion {
            idp: "a.example".into(),
            name: "alice@a.example".into()
        }
    );
    assert_eq!(settled(peer1).await.unwrap().name, "bob@b.example");
    assert_eq!(pc1.idp_error_info(), None);
    let mut ev = pc1.events();
    within("connected", async {
        while pc1.connection_state() != PeerConnectionState::Connected {
            assert_ne!(pc1.connection_state(), PeerConnectionState::Failed);
            ev.recv().await.expect("events");
        }
    })
    .await;
    pc1.close();
    pc2.close();
}

/// WPT-359: an IdP that cannot produce an assertion makes createOffer, createAnswer and the
/// implicit setLocalDescription reject with NotReadableError; getIdentityAssertion rejects
/// with RTCError "idp-execution-failure" and idpErrorInfo says why. A later success is used.
#[tokio::test]
async fn wpt_359_idp_that_cannot_assert_rejects_offer_and_answer_with_not_readable() {
    let idp = alice();
    idp.set(|m| m.fail_generate = true);
    let pc1 = pc();
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    let e = pc1.create_offer(None).await.unwrap_err();
    assert_eq!(e.name(), "NotReadableError");
    let e = pc1.set_local_description(None).await.unwrap_err();
    assert_eq!(e.name(), "NotReadableError");
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
    let e = pc1.get_identity_assertion().await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert_eq!(detail(&e), Some("idp-execution-failure"));
    assert!(pc1.idp_error_info().unwrap().contains("user not logged in"));

    // As answerer.
    let (offerer, pc2) = (pc(), pc());
    let offer = local_offer(&offerer).await;
    pc2.set_identity_provider(idp.clone(), None).unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let e = pc2.create_answer(None).await.unwrap_err();
    assert_eq!(e.name(), "NotReadableError");

    // A failure is not stored: once the user "logged in", the next attempt succeeds.
    idp.set(|m| m.fail_generate = false);
    let answer = pc2.create_answer(None).await.unwrap();
    assert!(session_identity(&answer.sdp).is_some());
    for pc in [pc1, offerer, pc2] {
        pc.close();
    }
}

/// WPT-360: generateAssertion gets the fingerprints as contents (RFC 8827 §7.4), the origin,
/// and the options (protocol, usernameHint, and the configuration's peerIdentity when the
/// options have none); the IdP may answer for another domain and protocol, which the
/// assertion then names. A new provider setting discards the stored assertion.
#[tokio::test]
async fn wpt_360_generate_assertion_gets_contents_origin_and_options() {
    let idp = alice();
    idp.set(|m| m.returned_idp = Some(("other.example".into(), "v2".into())));
    let pc1 = pc_targeting("bob@b.example");
    pc1.set_identity_origin("https://app.example");
    let options = IdentityProviderOptions {
        protocol: "proto1".into(),
        username_hint: Some("alice".into()),
        peer_identity: None,
    };
    pc1.set_identity_provider(idp.clone(), Some(options))
        .unwrap();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    let (contents, origin, seen) = idp.generated.lock().unwrap()[0].clone();
    assert_eq!(origin, "https://app.example");
    assert_eq!(seen.protocol, "proto1");
    assert_eq!(seen.username_hint.as_deref(), Some("alice"));
    assert_eq!(seen.peer_identity.as_deref(), Some("bob@b.example"));
    let fps: Vec<Value> = offer
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=fingerprint:"))
        .map(|l| {
            let (alg, digest) = l.split_once(' ').unwrap();
            json!({"algorithm": alg, "digest": digest})
        })
        .collect();
    assert!(!fps.is_empty());
    let v: Value = serde_json::from_str(&contents).unwrap();
    assert_eq!(v, json!({ "fingerprint": fps }));
    let decoded = IdentityAssertionJson::decode(&session_identity(&offer.sdp).unwrap()).unwrap();
    assert_eq!(decoded.domain, "other.example");
    assert_eq!(decoded.protocol, "v2");
    let raw = base64_decode(&session_identity(&offer.sdp).unwrap()).unwrap();
    let v: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["idp"]["domain"], "other.example");
    assert!(v["assertion"].is_string());

    pc1.create_offer(None).await.unwrap();
    assert_eq!(idp.calls(), 1, "the assertion is stored");
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    pc1.create_offer(None).await.unwrap();
    assert_eq!(idp.calls(), 2, "a new provider setting asks again");
    pc1.close();
}

/// The offer of a connection asserting `alice@a.example`.
async fn alice_offer() -> (PeerConnection, SessionDescription) {
    let pc1 = pc();
    pc1.set_identity_provider(alice(), None).unwrap();
    let offer = local_offer(&pc1).await;
    (pc1, offer)
}

async fn assert_srd_and_peer_identity_reject(
    pc2: &PeerConnection,
    offer: SessionDescription,
    want_detail: Option<&str>,
) {
    let peer = pc2.peer_identity();
    let e = pc2.set_remote_description(offer).await.unwrap_err();
    assert_eq!(e.name(), "OperationError", "{e:?}");
    assert_eq!(detail(&e), want_detail, "{e:?}");
    // The description was not applied.
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    assert!(pc2.remote_description().is_none());
    let e = settled(peer).await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert_eq!(detail(&e), want_detail);
}

/// WPT-363: with a target peer identity, a validated identity that differs from it rejects
/// setRemoteDescription and peerIdentity with OperationError.
#[tokio::test]
async fn wpt_363_target_identity_mismatch_rejects_srd_and_peer_identity() {
    let (pc1, offer) = alice_offer().await;
    let pc2 = pc_targeting("carol@a.example");
    pc2.register_identity_provider(alice());
    assert_srd_and_peer_identity_reject(&pc2, offer.clone(), None).await;
    // The same offer with the right target is accepted.
    let pc3 = pc_targeting("alice@a.example");
    pc3.register_identity_provider(alice());
    let peer = pc3.peer_identity();
    pc3.set_remote_description(offer).await.unwrap();
    assert_eq!(settled(peer).await.unwrap().name, "alice@a.example");
    for pc in [pc1, pc2, pc3] {
        pc.close();
    }
}

/// WPT-363: contents that do not cover the description's fingerprints (a man in the middle
/// swapped the certificate fingerprint) reject setRemoteDescription and peerIdentity.
#[tokio::test]
async fn wpt_363_contents_not_covering_the_fingerprints_reject() {
    let (pc1, offer) = alice_offer().await;
    let other = Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap();
    let fp = &other.get_fingerprints()[0];
    let swapped = offer
        .sdp
        .lines()
        .map(|l| {
            if l.starts_with("a=fingerprint:") {
                format!("a=fingerprint:{} {}", fp.algorithm, fp.value.to_uppercase())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    let pc2 = pc_targeting("alice@a.example");
    pc2.register_identity_provider(alice());
    assert_srd_and_peer_identity_reject(
        &pc2,
        SessionDescription::new(SdpType::Offer, swapped),
        None,
    )
    .await;
    // An added fingerprint that the assertion does not cover fails too.
    let added = offer.sdp.replacen(
        "a=fingerprint:",
        &format!(
            "a=fingerprint:{} {}\r\na=fingerprint:",
            fp.algorithm, fp.value
        ),
        1,
    );
    assert_srd_and_peer_identity_reject(&pc2, SessionDescription::new(SdpType::Offer, added), None)
        .await;
    pc1.close();
    pc2.close();
}

/// WPT-363: an identity outside the domain of the IdP that validated it (RFC 8827 §7.6) is
/// rejected, even when it is the target.
#[tokio::test]
async fn wpt_363_identity_outside_the_idp_domain_rejects() {
    let (pc1, offer) = alice_offer().await;
    let pc2 = pc_targeting("alice@evil.example");
    let validator = alice();
    validator.set(|m| m.validated_identity = Some("alice@evil.example".into()));
    pc2.register_identity_provider(validator);
    assert_srd_and_peer_identity_reject(&pc2, offer, None).await;
    pc1.close();
    pc2.close();
}

/// WPT-363: with a target peer identity, an IdP that throws during validation rejects both
/// setRemoteDescription and peerIdentity with RTCError "idp-execution-failure", and
/// idpErrorInfo is set; so does a forged assertion (the IdP's signature check fails).
#[tokio::test]
async fn wpt_363_idp_error_with_target_rejects_srd_and_peer_identity_idp_execution_failure() {
    let (pc1, offer) = alice_offer().await;
    let pc2 = pc_targeting("alice@a.example");
    let validator = alice();
    validator.set(|m| m.fail_validate = true);
    pc2.register_identity_provider(validator);
    assert_srd_and_peer_identity_reject(&pc2, offer.clone(), Some("idp-execution-failure")).await;
    assert!(pc2.idp_error_info().unwrap().contains("unreachable"));

    // A validator of a.example with another key: the assertion is a forgery to it.
    let pc3 = pc_targeting("alice@a.example");
    pc3.register_identity_provider(TestIdp::new("a.example", "x@a.example", b"other key"));
    assert_srd_and_peer_identity_reject(&pc3, offer, Some("idp-execution-failure")).await;
    for pc in [pc1, pc2, pc3] {
        pc.close();
    }
}

/// WPT-364: without a target peer identity, a validation failure does not fail
/// setRemoteDescription; peerIdentity rejects with "idp-execution-failure" and is replaced
/// by a new pending promise, which a later valid offer resolves; then the identity is fixed:
/// an offer asserting someone else is rejected.
#[tokio::test]
async fn wpt_364_without_target_failure_keeps_srd_and_renews_peer_identity() {
    let idp = alice();
    let pc1 = pc();
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    let pc2 = pc();
    let validator = alice();
    validator.set(|m| m.fail_validate = true);
    pc2.register_identity_provider(validator.clone());

    let first = pc2.peer_identity();
    let offer = local_offer(&pc1).await;
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
    let e = settled(first).await.unwrap_err();
    assert_eq!(detail(&e), Some("idp-execution-failure"));
    let second = pc2.peer_identity();
    pc2.set_local_description(None).await.unwrap();
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();

    // Renegotiation with a working IdP resolves the new promise.
    validator.set(|m| m.fail_validate = false);
    let offer = local_offer(&pc1).await;
    pc2.set_remote_description(offer).await.unwrap();
    let got = settled(second).await.unwrap();
    assert_eq!(got.name, "alice@a.example");
    pc2.set_local_description(None).await.unwrap();
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();

    // Fixed from now on: mallory's assertion is rejected by SRD (the resolved identity is
    // the target), and peerIdentity keeps alice.
    let mallory = TestIdp::new("a.example", "mallory@a.example", KEY_A);
    pc1.set_identity_provider(mallory, None).unwrap();
    let offer = local_offer(&pc1).await;
    let e = pc2.set_remote_description(offer).await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert_eq!(settled(pc2.peer_identity()).await.unwrap(), got);
    pc1.close();
    pc2.close();
}

/// With a target peer identity, a remote description without an assertion cannot
/// authenticate the peer: setRemoteDescription rejects (a rollback is still allowed).
#[tokio::test]
async fn target_peer_identity_requires_an_assertion_in_the_remote_description() {
    let pc1 = pc();
    let offer = local_offer(&pc1).await;
    let pc2 = pc_targeting("alice@a.example");
    pc2.register_identity_provider(alice());
    let e = pc2.set_remote_description(offer).await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    // Text that is not SDP still gets the syntax error.
    let e = pc2
        .set_remote_description(SessionDescription::new(SdpType::Offer, "not sdp"))
        .await
        .unwrap_err();
    assert_eq!(detail(&e), Some("sdp-syntax-error"));
    // A rollback carries no description and is not subject to the rule.
    let (alice_pc, alice_offer) = alice_offer().await;
    pc2.set_remote_description(alice_offer).await.unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::HaveRemoteOffer);
    pc2.set_remote_description(SessionDescription::new(SdpType::Rollback, ""))
        .await
        .unwrap();
    assert_eq!(pc2.signaling_state(), SignalingState::Stable);
    for pc in [pc1, pc2, alice_pc] {
        pc.close();
    }
}

/// An assertion naming a domain no provider is known for: peerIdentity rejects with
/// "idp-load-failure" (webrtc-identity "IdP Error Handling"); SRD is not affected.
#[tokio::test]
async fn unknown_idp_domain_rejects_peer_identity_with_idp_load_failure() {
    let (pc1, offer) = alice_offer().await;
    let pc2 = pc();
    pc2.register_identity_provider(bob());
    let peer = pc2.peer_identity();
    pc2.set_remote_description(offer).await.unwrap();
    let e = settled(peer).await.unwrap_err();
    assert_eq!(e.detail(), Some(ErrorDetail::IdpLoadFailure));
    pc1.close();
    pc2.close();
}

/// setIdentityProvider and getIdentityAssertion argument and state rules (webrtc-identity
/// §9.6): a protocol with '/' or '\' → SyntaxError; no provider → OperationError; closed →
/// InvalidStateError.
#[tokio::test]
async fn set_identity_provider_and_get_identity_assertion_rules() {
    let pc1 = pc();
    let e = pc1.get_identity_assertion().await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    for bad in ["a/b", "a\\b"] {
        let options = IdentityProviderOptions {
            protocol: bad.into(),
            ..IdentityProviderOptions::default()
        };
        let e = pc1
            .set_identity_provider(alice(), Some(options))
            .unwrap_err();
        assert_eq!(e.name(), "SyntaxError");
    }
    assert_eq!(IdentityProviderOptions::default().protocol, "default");
    // Without a provider, descriptions carry no assertion.
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    assert!(!offer.sdp.contains("a=identity"));
    pc1.close();
    let e = pc1.set_identity_provider(alice(), None).unwrap_err();
    assert_eq!(e.name(), "InvalidStateError");
    let e = pc1.get_identity_assertion().await.unwrap_err();
    assert_eq!(e.name(), "InvalidStateError");
}

/// The operations chain with an IdP (api/chain.rs): an operation that needs the assertion
/// awaits it before its turn, so awaiting operations in call order works. An earlier
/// operation whose future is polled only after a later one ran the chain uses the stored
/// assertion; without one it cannot wait any more and fails with OperationError ("not
/// ready"), changing nothing.
#[tokio::test]
async fn identity_operations_wait_for_the_idp_in_call_order() {
    let idp = alice();
    let pc1 = pc();
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    pc1.create_data_channel("x", None).unwrap();
    // Nothing stored yet: a later (ungated) operation runs the chain first.
    let first = pc1.create_offer(None);
    let later = pc1.set_local_description(Some(SessionDescription::new(SdpType::Rollback, "")));
    assert!(later.await.is_err(), "nothing to roll back");
    let e = first.await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert!(e.message().contains("not ready"), "{e:?}");
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);

    // The assertion is stored once a gate ran: out of order then works too.
    let first = pc1.create_offer(None);
    let second = pc1.create_offer(None);
    let o2 = second.await.unwrap();
    let o1 = first.await.unwrap();
    assert!(session_identity(&o2.sdp).is_some());
    assert_eq!(session_identity(&o1.sdp), session_identity(&o2.sdp));
    // In call order, both succeed and carry the stored assertion.
    let (a, b) = (pc1.create_offer(None), pc1.create_offer(None));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(session_identity(&a.sdp), session_identity(&b.sdp));
    assert_eq!(idp.calls(), 1);
    pc1.close();
}

/// webrtc-identity "IdP Error Handling": an IdP that needs the user to log in rejects
/// getIdentityAssertion with RTCError "idp-need-login", and `idpLoginUrl` then holds its login
/// page (None before); createOffer rejects with NotReadableError as for any IdP failure.
#[tokio::test]
async fn idp_need_login_sets_idp_login_url() {
    let idp = alice();
    idp.set(|m| m.need_login = Some("https://a.example/login?session=1".into()));
    let pc1 = pc();
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    assert_eq!(pc1.idp_login_url(), None);
    let e = pc1.get_identity_assertion().await.unwrap_err();
    assert_eq!(e.name(), "OperationError");
    assert_eq!(detail(&e), Some("idp-need-login"));
    assert_eq!(e.idp_login_url(), Some("https://a.example/login?session=1"));
    assert_eq!(
        pc1.idp_login_url().as_deref(),
        Some("https://a.example/login?session=1")
    );
    pc1.create_data_channel("x", None).unwrap();
    assert_eq!(
        pc1.create_offer(None).await.unwrap_err().name(),
        "NotReadableError"
    );
    // Logged in: the next attempt succeeds.
    idp.set(|m| m.need_login = None);
    assert!(pc1.get_identity_assertion().await.is_ok());
    pc1.close();
}

/// webrtc-identity "IdP Error Handling": an IdP that does not answer within 15 s fails the
/// operation with RTCError "idp-timeout", both generating (getIdentityAssertion) and
/// validating (setRemoteDescription with a target peer identity, and peerIdentity). Runs on
/// tokio's paused clock, so the 15 s pass at once.
#[tokio::test(start_paused = true)]
async fn idp_that_never_answers_times_out_after_15_seconds() {
    let idp = alice();
    idp.set(|m| m.hang = true);
    let pc1 = pc();
    pc1.set_identity_provider(idp.clone(), None).unwrap();
    let start = tokio::time::Instant::now();
    let e = pc1.get_identity_assertion().await.unwrap_err();
    assert_eq!(detail(&e), Some("idp-timeout"), "{e}");
    let waited = start.elapsed();
    assert!(
        (Duration::from_secs(15)..Duration::from_secs(16)).contains(&waited),
        "{waited:?}"
    );
    assert!(pc1.idp_error_info().unwrap().contains("within"));
    pc1.close();

    let (pc2, offer) = alice_offer().await;
    let pc3 = pc_targeting("alice@a.example");
    let validator = alice();
    validator.set(|m| m.hang = true);
    pc3.register_identity_provider(validator);
    let start = tokio::time::Instant::now();
    assert_srd_and_peer_identity_reject(&pc3, offer, Some("idp-timeout")).await;
    assert!(start.elapsed() >= Duration::from_secs(15));
    pc2.close();
    pc3.close();
}

/// webrtc-identity "IdP Error Handling": a validation error that already is an IdP
/// RTCError ("idp-token-expired", "idp-token-invalid") reaches setRemoteDescription and
/// peerIdentity as it is, not as "idp-execution-failure".
#[tokio::test]
async fn idp_token_errors_are_kept() {
    for d in [ErrorDetail::IdpTokenExpired, ErrorDetail::IdpTokenInvalid] {
        let (pc1, offer) = alice_offer().await;
        let pc2 = pc_targeting("alice@a.example");
        let validator = alice();
        validator.set(|m| m.validate_error = Some(d));
        pc2.register_identity_provider(validator);
        assert_srd_and_peer_identity_reject(&pc2, offer, Some(d.as_str())).await;
        pc1.close();
        pc2.close();
    }
}
