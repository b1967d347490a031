//! WPT-derived behaviour of the constructor, RTCConfiguration, setConfiguration and
//! generateCertificate (checklist groups 1–4 of shared/conformance/wpt-checklist.md,
//! WPT-1..47), through the public API only.
//!
//! Not covered here, with the reason:
//! - WPT-2 (part): the initial `iceGatheringState`, `iceConnectionState` and `connectionState`
//!   are tested with ICE (`ice_connect.rs`, `wpt_2_fresh_connection_states_are_new`).
//! - WPT-6 (part) [js]: a configuration member whose `toString` throws has no JSON/Rust
//!   equivalent (JSON values cannot throw); the non-numeric `iceCandidatePoolSize` is tested.
//! - WPT-36, WPT-37, WPT-38 [net]: candidate gathering and ICE restarts need ICE.

mod common;

use common::wpt::local::{audio, count, name, pc, states};

use rtcpeer::{
    BundlePolicy, Certificate, CertificateParams, Configuration, IceServer, IceTransportPolicy,
    KeyParams, MediaKind, PeerConnection, RtcpMuxPolicy, SessionDescription, SignalingState,
};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A configuration through the constructor and through `setConfiguration` on a default
/// connection; each outcome is the resulting `getConfiguration()` or the error name.
fn via_both(config: Configuration) -> [Result<Configuration, &'static str>; 2] {
    let constructed = PeerConnection::new(config.clone())
        .map(|pc| pc.get_configuration())
        .map_err(|e| e.name());
    let pc = pc();
    let set = pc
        .set_configuration(config)
        .map(|()| pc.get_configuration())
        .map_err(|e| e.name());
    [constructed, set]
}

/// As [`via_both`], from the browser's JSON dictionary (WebIDL conversion first).
fn via_both_json(v: Value) -> [Result<Configuration, &'static str>; 2] {
    let constructed = PeerConnection::from_json(&v)
        .map(|pc| pc.get_configuration())
        .map_err(|e| e.name());
    let pc = pc();
    let set = Configuration::from_json(&v)
        .and_then(|c| pc.set_configuration(c))
        .map(|()| pc.get_configuration())
        .map_err(|e| e.name());
    [constructed, set]
}

fn assert_both_err(outcomes: [Result<Configuration, &'static str>; 2], want: &str, what: &str) {
    for (how, o) in ["constructor", "setConfiguration"].iter().zip(outcomes) {
        assert_eq!(o.err(), Some(want), "{what} via {how}");
    }
}

fn assert_both_ok(outcomes: [Result<Configuration, &'static str>; 2], what: &str) -> Configuration {
    let [a, b] = outcomes;
    let a = a.unwrap_or_else(|e| panic!("{what} via constructor: {e}"));
    let b = b.unwrap_or_else(|e| panic!("{what} via setConfiguration: {e}"));
    assert_eq!(a, b, "{what}: both paths give the same configuration");
    a
}

fn server(urls: &[&str], username: Option<&str>, credential: Option<&str>) -> IceServer {
    IceServer {
        urls: urls.iter().map(|s| s.to_string()).collect(),
        username: username.map(str::to_string),
        credential: credential.map(str::to_string),
    }
}

fn with_servers(servers: Vec<IceServer>) -> Configuration {
    Configuration {
        ice_servers: servers,
        ..Default::default()
    }
}

// ===== 1. Constructor and initial state =====

#[tokio::test]
async fn wpt_1_constructor_without_configuration_succeeds() {
    // `new RTCPeerConnection()` / `({})` / `(null)` / `(undefined)`.
    assert!(PeerConnection::new(Configuration::default()).is_ok());
    assert!(PeerConnection::from_json(&json!({})).is_ok());
    assert!(PeerConnection::from_json(&Value::Null).is_ok());
    // A default constructed connection reports the default configuration.
    let c = PeerConnection::from_json(&Value::Null)
        .unwrap()
        .get_configuration();
    assert_eq!(c, Configuration::default());
}

#[tokio::test]
async fn wpt_2_fresh_connection_has_no_descriptions_and_stable_state() {
    let pc = pc();
    assert_eq!(pc.local_description(), None);
    assert_eq!(pc.current_local_description(), None);
    assert_eq!(pc.pending_local_description(), None);
    assert_eq!(pc.remote_description(), None);
    assert_eq!(pc.current_remote_description(), None);
    assert_eq!(pc.pending_remote_description(), None);
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert_eq!(pc.signaling_state().to_string(), "stable");
    assert_eq!(pc.can_trickle_ice_candidates(), None);
}

#[tokio::test]
async fn wpt_3_fresh_connection_has_no_sctp_transport() {
    assert!(pc().sctp().is_none());
}

#[tokio::test]
async fn wpt_4_fresh_connection_has_no_transceivers_senders_receivers() {
    let pc = pc();
    assert!(pc.get_transceivers().is_empty());
    assert!(pc.get_senders().is_empty());
    assert!(pc.get_receivers().is_empty());
}

#[tokio::test]
async fn wpt_5_certificates_null_or_null_entries_are_type_errors() {
    for bad in [
        json!({"certificates": null}),
        json!({"certificates": [null]}),
        json!({"certificates": [{}]}),
    ] {
        assert_eq!(name(&PeerConnection::from_json(&bad)), "TypeError", "{bad}");
    }
    // Absent (undefined) and [] are fine.
    assert!(PeerConnection::from_json(&json!({"certificates": []})).is_ok());
    assert!(PeerConnection::from_json(&json!({"iceServers": []})).is_ok());
    // Rust equivalent of a real certificate list.
    let cert = PeerConnection::generate_certificate(KeyParams::EcdsaP256)
        .await
        .unwrap();
    let pc = PeerConnection::new(Configuration {
        certificates: vec![cert.clone()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(pc.get_configuration().certificates, vec![cert]);
}

#[tokio::test]
async fn wpt_6_ice_candidate_pool_size_not_a_number_is_type_error() {
    for bad in [
        json!({"iceCandidatePoolSize": "invalid"}),
        json!({"iceCandidatePoolSize": {}}),
    ] {
        assert_eq!(name(&PeerConnection::from_json(&bad)), "TypeError", "{bad}");
    }
    // A numeric string converts as in JS.
    let pc = PeerConnection::from_json(&json!({"iceCandidatePoolSize": "3"})).unwrap();
    assert_eq!(pc.get_configuration().ice_candidate_pool_size, 3);
}

#[tokio::test]
async fn wpt_7_unknown_members_are_ignored() {
    for v in [
        json!({"iceTransports": "relay"}),
        json!({"iceTransports": "invalid"}),
        json!({"iceTransports": null}),
    ] {
        let pc = PeerConnection::from_json(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(
            pc.get_configuration().ice_transport_policy,
            IceTransportPolicy::All,
            "{v}"
        );
    }
}

#[tokio::test]
async fn wpt_8_plan_b_is_not_supported() {
    // Either throws or is ignored; rtcpeer ignores it (an unknown member) and reports no
    // sdpSemantics at all.
    let pc = PeerConnection::from_json(&json!({"sdpSemantics": "plan-b"})).unwrap();
    let cfg = pc.get_configuration().to_json();
    assert_eq!(cfg.get("sdpSemantics"), None);
    // And it behaves as Unified Plan: two audio transceivers are two m-sections.
    pc.add_transceiver(MediaKind::Audio, audio()).unwrap();
    pc.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(count(&offer.sdp, "m=audio"), 2);
}

// ===== 2. iceServers (constructor and setConfiguration) =====

#[tokio::test]
async fn wpt_10_ice_servers_default_empty_null_is_type_error() {
    assert!(pc().get_configuration().ice_servers.is_empty());
    assert_eq!(pc().get_configuration().to_json()["iceServers"], json!([]));
    assert_both_err(
        via_both_json(json!({"iceServers": null})),
        "TypeError",
        "iceServers: null",
    );
    let c = assert_both_ok(via_both_json(json!({"iceServers": []})), "iceServers: []");
    assert!(c.ice_servers.is_empty());
    let c = assert_both_ok(via_both_json(json!({})), "iceServers absent");
    assert!(c.ice_servers.is_empty());
}

#[tokio::test]
async fn wpt_11_ice_server_entry_without_urls_is_type_error() {
    for entry in [
        json!(null),
        json!({}),
        json!({"url": "stun:stun1.example.net"}),
    ] {
        assert_both_err(
            via_both_json(json!({"iceServers": [entry]})),
            "TypeError",
            &entry.to_string(),
        );
    }
}

#[tokio::test]
async fn wpt_12_urls_string_is_normalised_to_a_list() {
    let c = assert_both_ok(
        via_both_json(json!({"iceServers": [{"urls": "stun:stun1.example.net"}]})),
        "single url",
    );
    assert_eq!(c.ice_servers.len(), 1);
    assert_eq!(c.ice_servers[0].urls, vec!["stun:stun1.example.net"]);
    assert_eq!(
        c.to_json()["iceServers"][0]["urls"],
        json!(["stun:stun1.example.net"])
    );
    let c = assert_both_ok(
        via_both_json(
            json!({"iceServers": [{"urls": ["stun:stun1.example.net", "stun:stun2.example.net"]}]}),
        ),
        "two urls",
    );
    assert_eq!(
        c.ice_servers[0].urls,
        vec!["stun:stun1.example.net", "stun:stun2.example.net"]
    );
}

#[tokio::test]
async fn wpt_13_turn_credentials_are_echoed() {
    let c = assert_both_ok(
        via_both(with_servers(vec![server(
            &["turn:turn.example.org"],
            Some("user"),
            Some("cred"),
        )])),
        "turn with credentials",
    );
    assert_eq!(
        c.to_json()["iceServers"][0],
        json!({"urls": ["turn:turn.example.org"], "username": "user", "credential": "cred"})
    );
    for url in ["turn:turn.example.org", "turns:turn.example.org"] {
        let c = assert_both_ok(
            via_both(with_servers(vec![server(&[url], Some(""), Some("cred"))])),
            "empty username",
        );
        assert_eq!(c.ice_servers[0].username.as_deref(), Some(""));
    }
    let c = assert_both_ok(
        via_both_json(json!({"iceServers": [{
            "urls": ["turns:turn.example.org", "turn:turn.example.net"],
            "username": "user", "credential": "cred"}]})),
        "turns + turn",
    );
    assert_eq!(
        c.ice_servers[0].urls,
        vec!["turns:turn.example.org", "turn:turn.example.net"]
    );
}

#[tokio::test]
async fn wpt_14_turn_username_of_509_chars_is_accepted() {
    let user = "a".repeat(509);
    let c = assert_both_ok(
        via_both(with_servers(vec![server(
            &["turn:turn.example.org"],
            Some(&user),
            Some("cred"),
        )])),
        "509 chars",
    );
    assert_eq!(c.ice_servers[0].username.as_deref(), Some(user.as_str()));
}

#[tokio::test]
async fn wpt_15_turn_without_full_credentials_is_invalid_access() {
    for url in ["turn:turn.example.org", "turns:turn.example.org"] {
        for (u, c) in [(None, None), (Some("user"), None), (None, Some("cred"))] {
            assert_both_err(
                via_both(with_servers(vec![server(&[url], u, c)])),
                "InvalidAccessError",
                &format!("{url} {u:?} {c:?}"),
            );
        }
    }
}

#[tokio::test]
async fn wpt_16_turn_empty_credential_is_invalid_access() {
    for url in ["turn:turn.example.org", "turns:turn.example.org"] {
        assert_both_err(
            via_both(with_servers(vec![server(&[url], Some("user"), Some(""))])),
            "InvalidAccessError",
            url,
        );
    }
}

#[tokio::test]
async fn wpt_17_turn_username_of_510_chars_is_invalid_access() {
    let user = "a".repeat(510);
    assert_both_err(
        via_both(with_servers(vec![server(
            &["turn:turn.example.org"],
            Some(&user),
            Some("cred"),
        )])),
        "InvalidAccessError",
        "510 chars",
    );
}

#[tokio::test]
async fn wpt_18_empty_or_relative_url_is_syntax_error() {
    for urls in [
        &[""][..],
        &["stun:stun1.example.net", ""],
        &["relative-url"],
    ] {
        assert_both_err(
            via_both(with_servers(vec![server(urls, None, None)])),
            "SyntaxError",
            &format!("{urls:?}"),
        );
    }
    assert_both_err(
        via_both_json(json!({"iceServers": [{"urls": ""}]})),
        "SyntaxError",
        "urls: \"\" (json)",
    );
}

#[tokio::test]
async fn wpt_20_url_syntax_is_checked_before_credentials() {
    for url in ["turn://example.org/foo?x=y", "stun://example.org/foo?x=y"] {
        assert_both_err(
            via_both(with_servers(vec![server(&[url], None, None)])),
            "SyntaxError",
            url,
        );
    }
}

#[tokio::test]
async fn wpt_21_missing_host_or_bad_port_is_syntax_error() {
    for url in [
        "stun:",
        "turn:",
        "stun::8191",
        "turn::8191",
        "stun:example.org:131071",
        "turn:example.org:131071",
        "stun:example.org:65536",
        "stun:example.org:b",
        "stun:example.org:-21",
    ] {
        assert_both_err(
            via_both(with_servers(vec![server(&[url], Some("u"), Some("c"))])),
            "SyntaxError",
            url,
        );
    }
    assert_both_ok(
        via_both(with_servers(vec![server(
            &["stun:example.org:65535"],
            None,
            None,
        )])),
        "port 65535",
    );
}

#[tokio::test]
async fn wpt_22_ipv6_without_brackets_is_syntax_error() {
    for url in ["stun:2001:4860:4860::8888", "turn:::ffff:192.0.2.128"] {
        assert_both_err(
            via_both(with_servers(vec![server(&[url], Some("u"), Some("c"))])),
            "SyntaxError",
            url,
        );
    }
    assert_both_ok(
        via_both(with_servers(vec![server(&["stun:[2001::1]"], None, None)])),
        "bracketed IPv6",
    );
}

#[tokio::test]
async fn wpt_23_fragment_userinfo_path_and_query_are_syntax_errors() {
    for url in [
        "stun:example.org#frag",
        "stun:user@example.org",
        "stun:example.org/",
        "stun:example.org\\",
        "stun:example.org/path",
        "stun:example.org\\path",
        "stun:example.org?foo=bar",
        "stun:example.org?transport=udp",
        "turn:example.org#frag",
        "turn:user@example.org",
        "turn:example.org/path",
        "turn:example.org?foo=bar",
        "turn:example.org?transport=datachannel",
        "turn:example.org?transport=",
    ] {
        assert_both_err(
            via_both(with_servers(vec![server(&[url], Some("u"), Some("c"))])),
            "SyntaxError",
            url,
        );
    }
    for url in [
        "turn:example.org?transport=udp",
        "turn:example.org?transport=tcp",
    ] {
        assert_both_ok(
            via_both(with_servers(vec![server(&[url], Some("u"), Some("c"))])),
            url,
        );
    }
}

#[tokio::test]
async fn wpt_24_empty_urls_list_is_syntax_error() {
    assert_both_err(
        via_both(with_servers(vec![server(&[], None, None)])),
        "SyntaxError",
        "urls: []",
    );
    assert_both_err(
        via_both_json(json!({"iceServers": [{"urls": []}]})),
        "SyntaxError",
        "urls: [] (json)",
    );
}

#[tokio::test]
async fn wpt_25_set_configuration_replaces_instead_of_merging() {
    let pc =
        PeerConnection::from_json(&json!({"iceServers": [{"urls": "stun:stun1.example.net"}]}))
            .unwrap();
    assert_eq!(pc.get_configuration().ice_servers.len(), 1);
    pc.set_configuration(Configuration::from_json(&json!({})).unwrap())
        .unwrap();
    assert!(pc.get_configuration().ice_servers.is_empty());
}

#[tokio::test]
async fn wpt_26_thirty_two_ice_servers_in_order() {
    let servers: Vec<IceServer> = (0..32)
        .map(|i| server(&[&format!("stun:stun{i}.example.net")], None, None))
        .collect();
    let c = assert_both_ok(via_both(with_servers(servers.clone())), "32 servers");
    assert_eq!(c.ice_servers, servers);
}

#[tokio::test]
async fn wpt_27_set_configuration_is_all_or_nothing() {
    let pc = pc();
    let bad = Configuration {
        ice_transport_policy: IceTransportPolicy::Relay,
        ice_servers: vec![server(&[""], None, None)],
        ..Default::default()
    };
    assert_eq!(name(&pc.set_configuration(bad)), "SyntaxError");
    assert_eq!(
        pc.get_configuration().ice_transport_policy,
        IceTransportPolicy::All
    );
    // Same through the JSON path.
    let r = Configuration::from_json(
        &json!({"iceTransportPolicy": "relay", "iceServers": [{"urls": ""}]}),
    )
    .and_then(|c| pc.set_configuration(c));
    assert_eq!(name(&r), "SyntaxError");
    assert_eq!(pc.get_configuration(), Configuration::default());
}

// ===== 3. Policies, pool size, certificates =====

#[tokio::test]
async fn wpt_28_bundle_policy_default_values_and_invalid() {
    assert_eq!(
        pc().get_configuration().bundle_policy,
        BundlePolicy::Balanced
    );
    assert_eq!(
        pc().get_configuration().to_json()["bundlePolicy"],
        json!("balanced")
    );
    for (v, want) in [
        ("balanced", BundlePolicy::Balanced),
        ("max-compat", BundlePolicy::MaxCompat),
        ("max-bundle", BundlePolicy::MaxBundle),
    ] {
        let pc = PeerConnection::from_json(&json!({"bundlePolicy": v})).unwrap();
        assert_eq!(pc.get_configuration().bundle_policy, want);
        assert_eq!(pc.get_configuration().to_json()["bundlePolicy"], json!(v));
    }
    for bad in [json!(null), json!("invalid")] {
        assert_eq!(
            name(&PeerConnection::from_json(&json!({"bundlePolicy": bad}))),
            "TypeError",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn wpt_29_set_configuration_with_same_bundle_policy_succeeds() {
    let pc = pc();
    pc.set_configuration(Configuration::from_json(&json!({})).unwrap())
        .unwrap();
    pc.set_configuration(Configuration::from_json(&json!({"bundlePolicy": "balanced"})).unwrap())
        .unwrap();
    let pc = PeerConnection::from_json(&json!({"bundlePolicy": "max-bundle"})).unwrap();
    pc.set_configuration(Configuration::from_json(&json!({"bundlePolicy": "max-bundle"})).unwrap())
        .unwrap();
    assert_eq!(
        pc.get_configuration().bundle_policy,
        BundlePolicy::MaxBundle
    );
}

#[tokio::test]
async fn wpt_30_changing_bundle_policy_is_invalid_modification() {
    let pc = PeerConnection::from_json(&json!({"bundlePolicy": "max-bundle"})).unwrap();
    for v in [json!({"bundlePolicy": "max-compat"}), json!({})] {
        let r = pc.set_configuration(Configuration::from_json(&v).unwrap());
        assert_eq!(name(&r), "InvalidModificationError", "{v}");
        assert_eq!(
            pc.get_configuration().bundle_policy,
            BundlePolicy::MaxBundle
        );
    }
}

#[tokio::test]
async fn wpt_33_changing_rtcp_mux_policy_is_invalid_modification() {
    let set =
        |pc: &PeerConnection, v: Value| pc.set_configuration(Configuration::from_json(&v).unwrap());
    let require = pc();
    assert_eq!(
        require.get_configuration().rtcp_mux_policy,
        RtcpMuxPolicy::Require
    );
    assert_eq!(
        name(&set(&require, json!({"rtcpMuxPolicy": "negotiate"}))),
        "InvalidModificationError"
    );
    set(&require, json!({})).unwrap();
    assert_eq!(
        require.get_configuration().rtcp_mux_policy,
        RtcpMuxPolicy::Require
    );

    let negotiate = PeerConnection::from_json(&json!({"rtcpMuxPolicy": "negotiate"})).unwrap();
    for v in [json!({"rtcpMuxPolicy": "require"}), json!({})] {
        assert_eq!(
            name(&set(&negotiate, v.clone())),
            "InvalidModificationError",
            "{v}"
        );
    }
    assert_eq!(
        negotiate.get_configuration().rtcp_mux_policy,
        RtcpMuxPolicy::Negotiate
    );
}

#[tokio::test]
async fn wpt_34_rtcp_mux_required_rejects_offer_without_rtcp_mux() {
    let offerer = pc();
    offerer.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = offerer.create_offer(None).await.unwrap();
    assert!(offer.sdp.contains("a=rtcp-mux\r\n"));
    let munged = SessionDescription::offer(offer.sdp.replace("a=rtcp-mux\r\n", ""));
    let munged_copy = munged.clone();
    let pc = pc();
    let mut ev = pc.events();
    let r = pc.set_remote_description(munged).await;
    assert_eq!(name(&r), "InvalidAccessError");
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert!(pc.remote_description().is_none());
    assert!(states(&mut ev).is_empty());
    // The unmodified offer is accepted.
    pc.set_remote_description(offer).await.unwrap();
    // With "negotiate", the offer without a=rtcp-mux is accepted too.
    let negotiate = PeerConnection::from_json(&json!({"rtcpMuxPolicy": "negotiate"})).unwrap();
    negotiate.set_remote_description(munged_copy).await.unwrap();
    assert_eq!(negotiate.signaling_state(), SignalingState::HaveRemoteOffer);
}

#[tokio::test]
async fn wpt_34_rtcp_mux_required_rejects_answer_without_rtcp_mux() {
    let pc1 = pc();
    let pc2 = pc();
    pc1.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    assert!(answer.sdp.contains("a=rtcp-mux\r\n"));
    let munged = SessionDescription::answer(answer.sdp.replace("a=rtcp-mux\r\n", ""));
    let r = pc1.set_remote_description(munged).await;
    assert_eq!(name(&r), "InvalidAccessError");
    assert_eq!(pc1.signaling_state(), SignalingState::HaveLocalOffer);
    pc1.set_remote_description(answer).await.unwrap();
    assert_eq!(pc1.signaling_state(), SignalingState::Stable);
}

#[tokio::test]
async fn wpt_35_ice_transport_policy_default_change_and_invalid() {
    assert_eq!(
        pc().get_configuration().ice_transport_policy,
        IceTransportPolicy::All
    );
    let relay = PeerConnection::from_json(&json!({"iceTransportPolicy": "relay"})).unwrap();
    assert_eq!(
        relay.get_configuration().to_json()["iceTransportPolicy"],
        json!("relay")
    );
    // setConfiguration may change it both ways; {} resets it to "all".
    relay
        .set_configuration(Configuration::from_json(&json!({"iceTransportPolicy": "all"})).unwrap())
        .unwrap();
    assert_eq!(
        relay.get_configuration().ice_transport_policy,
        IceTransportPolicy::All
    );
    relay
        .set_configuration(
            Configuration::from_json(&json!({"iceTransportPolicy": "relay"})).unwrap(),
        )
        .unwrap();
    assert_eq!(
        relay.get_configuration().ice_transport_policy,
        IceTransportPolicy::Relay
    );
    relay
        .set_configuration(Configuration::from_json(&json!({})).unwrap())
        .unwrap();
    assert_eq!(
        relay.get_configuration().ice_transport_policy,
        IceTransportPolicy::All
    );
    for bad in [json!("invalid"), json!("none"), json!(null)] {
        assert_both_err(
            via_both_json(json!({"iceTransportPolicy": bad})),
            "TypeError",
            &bad.to_string(),
        );
    }
}

#[tokio::test]
async fn wpt_39_ice_candidate_pool_size_range() {
    assert_eq!(pc().get_configuration().ice_candidate_pool_size, 0);
    for n in [0u8, 255] {
        let c = assert_both_ok(
            via_both_json(json!({"iceCandidatePoolSize": n})),
            &n.to_string(),
        );
        assert_eq!(c.ice_candidate_pool_size, n);
    }
    for bad in [-1, 256] {
        assert_both_err(
            via_both_json(json!({"iceCandidatePoolSize": bad})),
            "TypeError",
            &bad.to_string(),
        );
    }
}

#[tokio::test]
async fn wpt_39_ice_candidate_pool_size_frozen_after_local_description() {
    // webrtc-pc "set a configuration" (and RFC 9429 §4.1.18): the pool size cannot change
    // once setLocalDescription has been called.
    let pc = pc();
    pc.set_configuration(Configuration::from_json(&json!({"iceCandidatePoolSize": 2})).unwrap())
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    let r = pc
        .set_configuration(Configuration::from_json(&json!({"iceCandidatePoolSize": 3})).unwrap());
    assert_eq!(name(&r), "InvalidModificationError");
    assert_eq!(pc.get_configuration().ice_candidate_pool_size, 2);
}

#[tokio::test]
async fn wpt_42_certificates_cannot_change_through_set_configuration() {
    let cert1 = PeerConnection::generate_certificate(KeyParams::EcdsaP256)
        .await
        .unwrap();
    let cert2 = PeerConnection::generate_certificate(KeyParams::EcdsaP256)
        .await
        .unwrap();
    let with = |certs: Vec<Certificate>| Configuration {
        certificates: certs,
        ..Default::default()
    };
    let pc = PeerConnection::new(with(vec![cert1.clone()])).unwrap();
    pc.set_configuration(with(vec![cert1.clone()])).unwrap();
    for certs in [vec![cert2.clone()], vec![cert1.clone(), cert2.clone()]] {
        assert_eq!(
            name(&pc.set_configuration(with(certs))),
            "InvalidModificationError"
        );
    }
    assert_eq!(pc.get_configuration().certificates, vec![cert1]);
}

// ===== 4. generateCertificate / RTCCertificate =====

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

#[tokio::test]
async fn wpt_44_mandatory_algorithms_generate_unexpired_certificates() {
    for alg in [
        json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048,
               "publicExponent": [1, 0, 1], "hash": "SHA-256"}),
        json!({"name": "ECDSA", "namedCurve": "P-256"}),
    ] {
        let params = CertificateParams::from_json(&alg).unwrap();
        let cert = PeerConnection::generate_certificate(params).await.unwrap();
        assert!(cert.expires_ms() > now_ms(), "{alg}");
        assert!(!cert.is_expired(SystemTime::now()), "{alg}");
        // A connection built with it accepts it (the certificate is usable for DTLS).
        PeerConnection::new(Configuration {
            certificates: vec![cert],
            ..Default::default()
        })
        .unwrap();
    }
}

#[tokio::test]
async fn wpt_44_unknown_algorithms_are_not_supported() {
    for alg in [json!("invalid-algo"), json!({"name": "invalid-algo"})] {
        assert_eq!(
            name(&CertificateParams::from_json(&alg)),
            "NotSupportedError",
            "{alg}"
        );
    }
}

#[tokio::test]
async fn wpt_46_expires_is_honoured_and_validated() {
    let before = now_ms();
    let params = CertificateParams::from_json(
        &json!({"name": "ECDSA", "namedCurve": "P-256", "expires": 2000}),
    )
    .unwrap();
    let cert = PeerConnection::generate_certificate(params).await.unwrap();
    let after = now_ms();
    assert!(
        cert.expires_ms() >= before + 2000.0 - 1000.0,
        "{}",
        cert.expires_ms() - before
    );
    assert!(
        cert.expires_ms() <= after + 2000.0 + 1000.0,
        "{}",
        cert.expires_ms() - after
    );

    let params = CertificateParams::from_json(
        &json!({"name": "ECDSA", "namedCurve": "P-256", "expires": 0}),
    )
    .unwrap();
    let cert = PeerConnection::generate_certificate(params).await.unwrap();
    assert!(cert.expires_ms() <= now_ms());
    assert!(cert.is_expired(SystemTime::now()));

    for bad in [json!(-1), json!("invalid")] {
        let r = CertificateParams::from_json(
            &json!({"name": "ECDSA", "namedCurve": "P-256", "expires": bad}),
        );
        assert_eq!(name(&r), "TypeError", "{bad}");
    }
}

#[tokio::test]
async fn wpt_46_expired_certificate_is_rejected_by_the_constructor() {
    // RTCCertificate.html / webrtc-pc §4.4.1.1: an expired certificate → InvalidAccessError.
    let cert = PeerConnection::generate_certificate(CertificateParams {
        key: KeyParams::EcdsaP256,
        expires: Some(Duration::ZERO),
    })
    .await
    .unwrap();
    let r = PeerConnection::new(Configuration {
        certificates: vec![cert],
        ..Default::default()
    });
    assert_eq!(name(&r), "InvalidAccessError");
}

fn is_fingerprint_value(v: &str) -> bool {
    !v.is_empty()
        && v.split(':').all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[tokio::test]
async fn wpt_47_fingerprints_are_lowercase_hex_pairs() {
    let known = [
        "md2", "md5", "sha-1", "sha-224", "sha-256", "sha-384", "sha-512",
    ];
    let rsa = KeyParams::RsaPkcs1v15 {
        modulus_length: 2048,
        public_exponent: 65_537,
        hash: Default::default(),
    };
    for key in [KeyParams::EcdsaP256, KeyParams::EcdsaP384, rsa] {
        let cert = PeerConnection::generate_certificate(key).await.unwrap();
        let fps = cert.get_fingerprints();
        assert!(!fps.is_empty());
        for fp in &fps {
            assert!(known.contains(&fp.algorithm.as_str()), "{}", fp.algorithm);
            assert!(is_fingerprint_value(&fp.value), "{}", fp.value);
        }
    }
}

#[tokio::test]
async fn wpt_47_configured_certificate_fingerprint_is_in_the_offer() {
    let cert = PeerConnection::generate_certificate(KeyParams::EcdsaP256)
        .await
        .unwrap();
    let fp = cert
        .get_fingerprints()
        .into_iter()
        .find(|f| f.algorithm == "sha-256")
        .unwrap();
    let pc = PeerConnection::new(Configuration {
        certificates: vec![cert],
        ..Default::default()
    })
    .unwrap();
    pc.add_transceiver(MediaKind::Audio, audio()).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    let line = offer
        .sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint:"))
        .unwrap();
    let (alg, value) = line["a=fingerprint:".len()..].split_once(' ').unwrap();
    assert_eq!(alg, "sha-256");
    assert!(
        value.eq_ignore_ascii_case(&fp.value),
        "{value} vs {}",
        fp.value
    );
}
