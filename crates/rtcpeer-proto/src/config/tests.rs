use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::cert::{CertificateParams, KeyParams};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_305_600)
}

/// `new RTCPeerConnection(v)`: WebIDL conversion + validation.
fn construct(v: Value) -> Result<Configuration> {
    Configuration::from_json(&v)
}

/// `pc.setConfiguration(v)` on a pc whose configuration is `current`.
fn set_config(
    current: &Configuration,
    v: Value,
    local_description_set: bool,
) -> Result<Configuration> {
    let mut c = current.clone();
    c.apply_update(Configuration::from_json(&v)?, local_description_set)?;
    Ok(c)
}

/// Runs `v` through the constructor and through setConfiguration on a default pc (WPT group 2
/// applies to both) and checks they agree; returns the constructor's result.
fn both(v: Value) -> Result<Configuration> {
    let a = construct(v.clone());
    let b = set_config(&Configuration::default(), v.clone(), false);
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{v}"),
        (Err(x), Err(y)) => assert_eq!(x.name(), y.name(), "{v}"),
        _ => panic!("constructor and setConfiguration disagree on {v}: {a:?} vs {b:?}"),
    }
    a
}

fn err(r: Result<Configuration>) -> &'static str {
    r.expect_err("expected an error").name()
}

fn servers(c: &Configuration) -> Value {
    c.to_json()["iceServers"].clone()
}

fn cert() -> Certificate {
    Certificate::generate(KeyParams::EcdsaP256, now()).unwrap()
}

#[test]
fn wpt_1_no_argument_null_or_empty_object_gives_defaults() {
    for v in [json!(null), json!({})] {
        assert_eq!(construct(v).unwrap(), Configuration::default());
    }
    assert_eq!(
        Configuration::default().to_json(),
        json!({
            "iceServers": [],
            "iceTransportPolicy": "all",
            "bundlePolicy": "balanced",
            "rtcpMuxPolicy": "require",
            "iceCandidatePoolSize": 0
        })
    );
    assert_eq!(err(construct(json!("config"))), "TypeError");
    assert_eq!(err(construct(json!(5))), "TypeError");
}

#[test]
fn wpt_5_certificates_null_or_entries_from_json_are_type_errors() {
    assert_eq!(err(construct(json!({"certificates": null}))), "TypeError");
    assert_eq!(err(construct(json!({"certificates": [null]}))), "TypeError");
    assert_eq!(err(construct(json!({"certificates": [{}]}))), "TypeError");
    assert_eq!(err(construct(json!({"certificates": "x"}))), "TypeError");
    assert!(
        construct(json!({"certificates": []}))
            .unwrap()
            .certificates
            .is_empty()
    );
    // Certificates given through the Rust API are valid.
    let c = Configuration {
        certificates: vec![cert()],
        ..Default::default()
    };
    c.validate().unwrap();
    c.check_certificates(now()).unwrap();
}

#[test]
fn constructor_rejects_an_expired_certificate() {
    let expired = Certificate::generate(
        CertificateParams {
            key: KeyParams::EcdsaP256,
            expires: Some(Duration::ZERO),
        },
        now(),
    )
    .unwrap();
    let c = Configuration {
        certificates: vec![expired],
        ..Default::default()
    };
    assert_eq!(
        c.check_certificates(now()).unwrap_err().name(),
        "InvalidAccessError"
    );
}

#[test]
fn wpt_7_unknown_members_are_ignored() {
    for v in [json!("relay"), json!("invalid"), json!(null)] {
        let c = construct(json!({"iceTransports": v})).unwrap();
        assert_eq!(c.ice_transport_policy, IceTransportPolicy::All);
    }
}

#[test]
fn wpt_8_plan_b_sdp_semantics_is_not_reflected() {
    let c = both(json!({"sdpSemantics": "plan-b"})).unwrap();
    assert_eq!(c, Configuration::default());
    assert!(c.to_json().get("sdpSemantics").is_none());
}

#[test]
fn wpt_10_ice_servers_default_empty_null_is_type_error() {
    assert!(Configuration::default().ice_servers.is_empty());
    assert_eq!(servers(&Configuration::default()), json!([]));
    assert_eq!(err(both(json!({"iceServers": null}))), "TypeError");
    assert_eq!(err(both(json!({"iceServers": "stun:x"}))), "TypeError");
    assert_eq!(servers(&both(json!({})).unwrap()), json!([]));
    assert_eq!(
        servers(&both(json!({"iceServers": []})).unwrap()),
        json!([])
    );
}

#[test]
fn wpt_11_ice_server_null_empty_or_url_instead_of_urls_is_type_error() {
    for entry in [
        json!(null),
        json!({}),
        json!({"url": "stun:stun1.example.net"}),
    ] {
        assert_eq!(
            err(both(json!({"iceServers": [entry]}))),
            "TypeError",
            "{entry}"
        );
    }
    assert_eq!(err(both(json!({"iceServers": [5]}))), "TypeError");
    assert_eq!(
        err(both(json!({"iceServers": [{"urls": {}}]}))),
        "TypeError"
    );
}

#[test]
fn wpt_12_single_url_string_becomes_a_list_and_lists_keep_order() {
    let c = both(json!({"iceServers": [{"urls": "stun:stun1.example.net"}]})).unwrap();
    assert_eq!(servers(&c), json!([{"urls": ["stun:stun1.example.net"]}]));
    let c = both(json!({"iceServers": [{"urls": ["stun:stun1.example.net"]}]})).unwrap();
    assert_eq!(servers(&c), json!([{"urls": ["stun:stun1.example.net"]}]));
    let c = both(
        json!({"iceServers": [{"urls": ["stun:stun1.example.net", "stun:stun2.example.net"]}]}),
    )
    .unwrap();
    assert_eq!(
        servers(&c),
        json!([{"urls": ["stun:stun1.example.net", "stun:stun2.example.net"]}])
    );
}

#[test]
fn wpt_13_turn_with_credentials_is_echoed() {
    let c = both(json!({"iceServers": [
        {"urls": "turn:turn.example.org", "username": "user", "credential": "cred"}
    ]}))
    .unwrap();
    assert_eq!(
        servers(&c),
        json!([{"urls": ["turn:turn.example.org"], "username": "user", "credential": "cred"}])
    );
    for scheme in ["turn", "turns"] {
        let c = both(json!({"iceServers": [
            {"urls": format!("{scheme}:turn.example.org"), "username": "", "credential": "cred"}
        ]}))
        .unwrap();
        assert_eq!(c.ice_servers[0].username.as_deref(), Some(""));
        assert_eq!(servers(&c)[0]["username"], json!(""));
    }
    let c = both(json!({"iceServers": [{
        "urls": ["turns:turn.example.org", "turn:turn.example.net"],
        "username": "user", "credential": "cred"
    }]}))
    .unwrap();
    assert_eq!(
        servers(&c)[0]["urls"],
        json!(["turns:turn.example.org", "turn:turn.example.net"])
    );
    let parsed = c.ice_servers[0].parse_urls().unwrap();
    assert_eq!(parsed[0].scheme, IceUrlScheme::Turns);
    assert_eq!(parsed[1].port, 3478);
}

#[test]
fn wpt_14_turn_username_of_509_characters_is_accepted() {
    let c = both(json!({"iceServers": [
        {"urls": "turn:turn.example.org", "username": "a".repeat(509), "credential": "cred"}
    ]}))
    .unwrap();
    assert_eq!(
        c.ice_servers[0].username.as_ref().map(String::len),
        Some(509)
    );
}

#[test]
fn wpt_15_turn_without_username_or_credential_is_invalid_access() {
    for scheme in ["turn", "turns"] {
        let url = format!("{scheme}:turn.example.org");
        for server in [
            json!({"urls": url}),
            json!({"urls": url, "username": "user"}),
            json!({"urls": url, "credential": "cred"}),
        ] {
            assert_eq!(
                err(both(json!({"iceServers": [server]}))),
                "InvalidAccessError",
                "{server}"
            );
        }
    }
    // STUN needs no credentials.
    both(json!({"iceServers": [{"urls": "stun:stun.example.org"}]})).unwrap();
}

#[test]
fn wpt_16_turn_empty_credential_is_invalid_access() {
    for username in ["user", ""] {
        for scheme in ["turn", "turns"] {
            let server = json!({"urls": format!("{scheme}:turn.example.org"), "username": username, "credential": ""});
            assert_eq!(
                err(both(json!({"iceServers": [server]}))),
                "InvalidAccessError",
                "{server}"
            );
        }
    }
}

#[test]
fn wpt_17_turn_username_above_509_bytes_is_invalid_access() {
    let server =
        json!({"urls": "turn:turn.example.org", "username": "a".repeat(510), "credential": "c"});
    assert_eq!(
        err(both(json!({"iceServers": [server]}))),
        "InvalidAccessError"
    );
    // The limit is in bytes: 255 two-byte characters are 510 bytes.
    let server =
        json!({"urls": "turn:turn.example.org", "username": "é".repeat(255), "credential": "c"});
    assert_eq!(
        err(both(json!({"iceServers": [server]}))),
        "InvalidAccessError"
    );
}

#[test]
fn wpt_18_empty_url_or_url_without_scheme_is_syntax_error() {
    for urls in [
        json!(""),
        json!([""]),
        json!(["stun:stun1.example.net", ""]),
        json!("relative-url"),
    ] {
        assert_eq!(
            err(both(json!({"iceServers": [{"urls": urls}]}))),
            "SyntaxError",
            "{urls}"
        );
    }
    // Non-string urls convert with ToString: null → "null", which has no scheme.
    assert_eq!(
        err(both(json!({"iceServers": [{"urls": null}]}))),
        "SyntaxError"
    );
    // Schemes other than stun/stuns/turn/turns (newer WPT).
    assert_eq!(
        err(both(
            json!({"iceServers": [{"urls": "http://example.com"}]})
        )),
        "SyntaxError"
    );
}

#[test]
fn wpt_20_authority_form_is_syntax_error_before_credential_check() {
    for url in ["turn://example.org/foo?x=y", "stun://example.org/foo?x=y"] {
        assert_eq!(
            err(both(json!({"iceServers": [{"urls": url}]}))),
            "SyntaxError",
            "{url}"
        );
    }
}

#[test]
fn wpt_21_stun_url_without_host_or_with_bad_port_is_syntax_error() {
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
        let server = json!({"urls": url, "username": "u", "credential": "c"});
        assert_eq!(
            err(both(json!({"iceServers": [server]}))),
            "SyntaxError",
            "{url}"
        );
    }
    let c = both(json!({"iceServers": [{"urls": "stun:example.org:65535"}]})).unwrap();
    assert_eq!(c.ice_servers[0].parse_urls().unwrap()[0].port, 65535);
}

#[test]
fn wpt_22_unbracketed_ipv6_is_syntax_error_bracketed_is_valid() {
    for url in ["stun:2001:4860:4860::8888", "turn:::ffff:192.0.2.128"] {
        let server = json!({"urls": url, "username": "u", "credential": "c"});
        assert_eq!(
            err(both(json!({"iceServers": [server]}))),
            "SyntaxError",
            "{url}"
        );
    }
    let c = both(json!({"iceServers": [{"urls": "stun:[2001::1]"}]})).unwrap();
    assert_eq!(
        c.ice_servers[0].parse_urls().unwrap()[0].host,
        Host::Ipv6("2001::1".parse().unwrap())
    );
}

#[test]
fn wpt_23_fragment_userinfo_path_backslash_and_bad_queries_are_syntax_errors() {
    for scheme in ["stun", "turn"] {
        for rest in [
            "example.org#frag",
            "user@example.org",
            "example.org/",
            "example.org/path",
            "example.org\\path",
            "example.org?foo=bar",
        ] {
            let url = format!("{scheme}:{rest}");
            let server = json!({"urls": url, "username": "u", "credential": "c"});
            assert_eq!(
                err(both(json!({"iceServers": [server]}))),
                "SyntaxError",
                "{url}"
            );
        }
    }
    for url in [
        "stun:example.org?transport=udp",
        "stun:example.org?transport=tcp",
        "turn:example.org?transport=datachannel",
        "turn:example.org?transport=",
    ] {
        let server = json!({"urls": url, "username": "u", "credential": "c"});
        assert_eq!(
            err(both(json!({"iceServers": [server]}))),
            "SyntaxError",
            "{url}"
        );
    }
    for (url, t) in [
        ("turn:example.org?transport=udp", IceTransportProtocol::Udp),
        ("turn:example.org?transport=tcp", IceTransportProtocol::Tcp),
    ] {
        let c = both(json!({"iceServers": [{"urls": url, "username": "u", "credential": "c"}]}))
            .unwrap();
        assert_eq!(c.ice_servers[0].parse_urls().unwrap()[0].transport, Some(t));
    }
}

#[test]
fn wpt_24_empty_urls_list_is_syntax_error() {
    assert_eq!(
        err(both(json!({"iceServers": [{"urls": []}]}))),
        "SyntaxError"
    );
}

#[test]
fn ice_server_urls_are_checked_in_order() {
    // The first failing URL decides: credential rule of a TURN URL before a later bad URL.
    assert_eq!(
        err(both(
            json!({"iceServers": [{"urls": ["turn:example.org", ""]}]})
        )),
        "InvalidAccessError"
    );
    assert_eq!(
        err(both(
            json!({"iceServers": [{"urls": ["", "turn:example.org"]}]})
        )),
        "SyntaxError"
    );
    assert_eq!(
        err(both(
            json!({"iceServers": [{"urls": "turn:example.org"}, {"urls": ""}]})
        )),
        "InvalidAccessError"
    );
}

#[test]
fn wpt_25_set_configuration_replaces_instead_of_merging() {
    let pc = construct(json!({"iceServers": [{"urls": "stun:stun1.example.net"}]})).unwrap();
    assert_eq!(pc.ice_servers.len(), 1);
    let after = set_config(&pc, json!({}), false).unwrap();
    assert_eq!(servers(&after), json!([]));
}

#[test]
fn wpt_26_thirty_two_ice_servers_are_kept_in_order() {
    let list: Vec<Value> = (0..32)
        .map(|i| json!({"urls": format!("stun:stun{i}.example.net")}))
        .collect();
    let c = both(json!({"iceServers": list})).unwrap();
    let expected: Vec<Value> = (0..32)
        .map(|i| json!({"urls": [format!("stun:stun{i}.example.net")]}))
        .collect();
    assert_eq!(servers(&c), json!(expected));
}

#[test]
fn wpt_27_set_configuration_is_all_or_nothing() {
    let mut pc = Configuration::default();
    let v = json!({"iceTransportPolicy": "relay", "iceServers": [{"urls": ""}]});
    assert_eq!(err(set_config(&pc, v.clone(), false)), "SyntaxError");
    assert_eq!(err(construct(v)), "SyntaxError");
    // Through the typed API: apply_update leaves the configuration untouched on error.
    let bad = Configuration {
        ice_transport_policy: IceTransportPolicy::Relay,
        ice_servers: vec![IceServer {
            urls: vec![String::new()],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        pc.apply_update(bad, false).unwrap_err().name(),
        "SyntaxError"
    );
    assert_eq!(pc.ice_transport_policy, IceTransportPolicy::All);
    assert_eq!(pc, Configuration::default());
}

#[test]
fn wpt_28_bundle_policy_default_reflection_and_invalid_values() {
    assert_eq!(
        Configuration::default().bundle_policy,
        BundlePolicy::Balanced
    );
    assert_eq!(
        construct(json!({})).unwrap().to_json()["bundlePolicy"],
        "balanced"
    );
    for s in ["balanced", "max-compat", "max-bundle"] {
        let c = construct(json!({"bundlePolicy": s})).unwrap();
        assert_eq!(c.to_json()["bundlePolicy"], s);
    }
    for v in [json!(null), json!("invalid"), json!("Max-Bundle")] {
        assert_eq!(
            err(construct(json!({"bundlePolicy": v}))),
            "TypeError",
            "{v}"
        );
    }
}

#[test]
fn wpt_29_set_configuration_with_the_same_bundle_policy_succeeds() {
    let balanced = Configuration::default();
    set_config(&balanced, json!({}), false).unwrap();
    set_config(&balanced, json!({"bundlePolicy": "balanced"}), false).unwrap();
    for s in ["max-compat", "max-bundle"] {
        let pc = construct(json!({"bundlePolicy": s})).unwrap();
        let c = set_config(&pc, json!({"bundlePolicy": s}), true).unwrap();
        assert_eq!(c.to_json()["bundlePolicy"], s);
    }
}

#[test]
fn wpt_30_changing_bundle_policy_is_invalid_modification() {
    let pc = construct(json!({"bundlePolicy": "max-bundle"})).unwrap();
    for v in [json!({"bundlePolicy": "max-compat"}), json!({})] {
        assert_eq!(
            err(set_config(&pc, v.clone(), false)),
            "InvalidModificationError",
            "{v}"
        );
    }
}

#[test]
fn wpt_33_changing_rtcp_mux_policy_is_invalid_modification() {
    let require = construct(json!({"rtcpMuxPolicy": "require"})).unwrap();
    let negotiate = construct(json!({"rtcpMuxPolicy": "negotiate"})).unwrap();
    assert_eq!(negotiate.to_json()["rtcpMuxPolicy"], "negotiate");
    assert_eq!(
        err(set_config(
            &require,
            json!({"rtcpMuxPolicy": "negotiate"}),
            false
        )),
        "InvalidModificationError"
    );
    assert_eq!(
        err(set_config(
            &negotiate,
            json!({"rtcpMuxPolicy": "require"}),
            false
        )),
        "InvalidModificationError"
    );
    assert_eq!(
        err(set_config(&negotiate, json!({}), false)),
        "InvalidModificationError"
    );
    let kept = set_config(&require, json!({}), false).unwrap();
    assert_eq!(kept.rtcp_mux_policy, RtcpMuxPolicy::Require);
    assert_eq!(
        err(construct(json!({"rtcpMuxPolicy": "invalid"}))),
        "TypeError"
    );
}

#[test]
fn modification_errors_come_before_ice_server_validation() {
    // webrtc-pc §4.4.1.6: step 4 (InvalidModificationError) precedes the iceServers checks.
    let pc = construct(json!({"bundlePolicy": "max-bundle"})).unwrap();
    let new = Configuration {
        ice_servers: vec![IceServer::default()],
        ..Default::default()
    };
    assert_eq!(
        pc.check_update(&new, false).unwrap_err().name(),
        "InvalidModificationError"
    );
}

#[test]
fn wpt_35_ice_transport_policy_default_reflection_changes_and_invalid_values() {
    let pc = both(json!({})).unwrap();
    assert_eq!(pc.to_json()["iceTransportPolicy"], "all");
    let relay = both(json!({"iceTransportPolicy": "relay"})).unwrap();
    assert_eq!(relay.to_json()["iceTransportPolicy"], "relay");
    let c = set_config(&pc, json!({"iceTransportPolicy": "relay"}), true).unwrap();
    assert_eq!(c.ice_transport_policy, IceTransportPolicy::Relay);
    let c = set_config(&c, json!({"iceTransportPolicy": "all"}), true).unwrap();
    assert_eq!(c.ice_transport_policy, IceTransportPolicy::All);
    let c = set_config(&relay, json!({}), true).unwrap();
    assert_eq!(c.ice_transport_policy, IceTransportPolicy::All);
    for v in [json!("invalid"), json!("none"), json!(null)] {
        assert_eq!(
            err(both(json!({"iceTransportPolicy": v}))),
            "TypeError",
            "{v}"
        );
    }
}

#[test]
fn wpt_39_ice_candidate_pool_size_is_an_enforce_range_octet() {
    assert_eq!(Configuration::default().ice_candidate_pool_size, 0);
    for n in [0u8, 255] {
        let c = both(json!({"iceCandidatePoolSize": n})).unwrap();
        assert_eq!(c.to_json()["iceCandidatePoolSize"], json!(n));
    }
    for v in [json!(-1), json!(256), json!("foo"), json!({}), json!(1e300)] {
        assert_eq!(
            err(both(json!({"iceCandidatePoolSize": v}))),
            "TypeError",
            "{v}"
        );
    }
    // WebIDL truncates fractions and converts numeric strings.
    assert_eq!(
        both(json!({"iceCandidatePoolSize": 3.7}))
            .unwrap()
            .ice_candidate_pool_size,
        3
    );
    assert_eq!(
        both(json!({"iceCandidatePoolSize": "12"}))
            .unwrap()
            .ice_candidate_pool_size,
        12
    );
    // Changing it is fine before setLocalDescription, not after (webrtc-pc §4.4.1.6).
    let pc = Configuration::default();
    assert_eq!(
        set_config(&pc, json!({"iceCandidatePoolSize": 4}), false)
            .unwrap()
            .ice_candidate_pool_size,
        4
    );
    assert_eq!(
        err(set_config(&pc, json!({"iceCandidatePoolSize": 4}), true)),
        "InvalidModificationError"
    );
    set_config(&pc, json!({"iceCandidatePoolSize": 0}), true).unwrap();
}

#[test]
fn wpt_42_changing_certificates_is_invalid_modification() {
    let cert1 = cert();
    let cert2 = cert();
    let pc = Configuration {
        certificates: vec![cert1.clone()],
        ..Default::default()
    };
    let with = |certs: Vec<Certificate>| Configuration {
        certificates: certs,
        ..Default::default()
    };
    pc.check_update(&with(vec![cert1.clone()]), true).unwrap();
    // A copy read back from PEM is the same certificate.
    let copy = Certificate::from_pem(&cert1.to_pem()).unwrap();
    pc.check_update(&with(vec![copy]), false).unwrap();
    for certs in [
        vec![cert2.clone()],
        vec![cert1.clone(), cert2.clone()],
        vec![],
    ] {
        assert_eq!(
            pc.check_update(&with(certs), false).unwrap_err().name(),
            "InvalidModificationError"
        );
    }
}

#[test]
fn to_json_round_trips_through_from_json() {
    let c = construct(json!({
        "iceServers": [
            {"urls": "stun:stun.example.org"},
            {"urls": ["turn:[::1]:3479?transport=tcp"], "username": "u", "credential": "c"}
        ],
        "iceTransportPolicy": "relay",
        "bundlePolicy": "max-bundle",
        "rtcpMuxPolicy": "negotiate",
        "iceCandidatePoolSize": 7
    }))
    .unwrap();
    assert_eq!(construct(c.to_json()).unwrap(), c);
    assert_eq!(
        c.to_json()["iceServers"][0],
        json!({"urls": ["stun:stun.example.org"]})
    );
}

/// WPT-358: `peerIdentity` is converted to a string; getConfiguration returns it; the target
/// peer identity cannot be changed by setConfiguration but survives one that omits it
/// (webrtc-identity "Setting the RTCPeerConnection Configuration").
#[test]
fn wpt_358_peer_identity_is_a_string_and_cannot_change() {
    let c = Configuration::from_json(&json!({"peerIdentity": "bob@idp.example"})).unwrap();
    assert_eq!(c.peer_identity.as_deref(), Some("bob@idp.example"));
    assert_eq!(c.to_json()["peerIdentity"], "bob@idp.example");
    let n = Configuration::from_json(&json!({"peerIdentity": 42})).unwrap();
    assert_eq!(n.peer_identity.as_deref(), Some("42"));
    assert!(Configuration::default().to_json().get("peerIdentity").is_none());

    let mut cur = c.clone();
    let other = Configuration::from_json(&json!({"peerIdentity": "eve@idp.example"})).unwrap();
    assert_eq!(
        cur.apply_update(other, false).unwrap_err().name(),
        "InvalidModificationError"
    );
    cur.apply_update(c.clone(), false).unwrap();
    cur.apply_update(Configuration::default(), false).unwrap();
    assert_eq!(cur.peer_identity.as_deref(), Some("bob@idp.example"));
    // None set at construction: any value differs from the (absent) target.
    let mut none = Configuration::default();
    assert!(none.apply_update(c, false).is_err());
    assert_eq!(none.peer_identity, None);
}
