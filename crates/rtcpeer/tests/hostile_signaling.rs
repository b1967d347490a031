//! Signaling abuse (issue 12, hole 3 and the signaling family): what a remote peer relayed by
//! the application's signaling channel can make us store and compute. Each test bounds the
//! CPU time of the calling thread and the heap growth (counting allocator below), and checks
//! the error the W3C API gives.
//!
//! - `addIceCandidate` floods: many ordinary candidates, huge candidates, candidates that
//!   fill the description's byte limit (webrtc-pc §4.4.1.7: `OperationError` at a limit);
//! - the ICE agent's remote candidates and checklist under such a flood (RFC 8445 §6.1.2.5);
//! - descriptions just under and over the size limit, with very many lines / m-sections;
//! - hostile JSON for `RTCSessionDescriptionInit`, `RTCIceCandidateInit` and `RTCConfiguration`.

mod common;
#[path = "common/trickle_model.rs"]
mod trickle_model;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use common::budget;
use rtcpeer::{
    Certificate, CertificateParams, Configuration, ErrorKind, IceCandidateInit, PeerConnection,
    SessionDescription, Settings, SignalingLimits,
};
use rtcpeer_proto::jsep::{Core, CoreSettings, Input};
use rtcpeer_proto::sdp::{MAX_SDP_BYTES, MAX_SDP_LINES, Sdp};
use rtcpeer_proto::util::SeededRandom;
use trickle_model::reference_add;

#[global_allocator]
static ALLOC: budget::CountingAllocator = budget::CountingAllocator;

/// The heap meters are process-wide: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A Chromium data-channel offer: one m-section, mid "0", ufrag "IJ2m", two candidates.
const OFFER: &str = include_str!("fixtures/sdp/chromium-datachannel-offer.sdp");

/// CPU a test may spend on its flood: generous for a debug build on a shared 2-core machine
/// (the quadratic code took 80 s for 30k candidates).
const CPU_BUDGET: Duration = Duration::from_secs(2);

/// An ordinary host candidate, distinct for every `i`.
fn candidate(i: u32) -> String {
    format!(
        "candidate:{} 1 udp {} 10.{}.{}.{} {} typ host generation 0 network-id 1",
        1000 + i,
        2_122_260_223 - i,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
        1024 + (i % 60000)
    )
}

fn init(candidate: String, mid: &str) -> IceCandidateInit {
    IceCandidateInit {
        candidate,
        sdp_mid: Some(mid.to_string()),
        sdp_m_line_index: None,
        username_fragment: None,
    }
}

async fn victim(limits: SignalingLimits) -> PeerConnection {
    let settings = Settings {
        seed: Some(7),
        signaling: limits,
        ..Settings::default()
    };
    let pc = PeerConnection::with_settings(Configuration::default(), settings).unwrap();
    pc.set_remote_description(SessionDescription::offer(OFFER))
        .await
        .unwrap();
    pc
}

/// Panics as soon as `start` is more than `budget` of this thread's CPU ago, so a
/// regression fails in seconds instead of running for minutes.
fn check_cpu(start: Duration, budget: Duration, what: &str) {
    let spent = budget::thread_cpu_time() - start;
    assert!(spent < budget, "{what}: {spent:?} of CPU, over {budget:?}");
}

fn candidate_lines(sdp: &str) -> usize {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .count()
}

/// 30k ordinary candidates for one m-section: O(1) amortised each (the CPU budget), and
/// refused with `OperationError` past the per-section cap, with nothing stored.
#[tokio::test]
async fn thirty_thousand_candidates_cost_bounded_cpu_and_stop_at_the_cap() {
    let _serial = SERIAL.lock().await;
    assert!(budget::counting());
    let pc = victim(SignalingLimits::default()).await;
    let cap = SignalingLimits::default().max_candidates_per_section;
    let before = budget::live_bytes();
    let start = budget::thread_cpu_time();
    let (mut ok, mut refused) = (0usize, 0usize);
    for i in 0..30_000u32 {
        match pc.add_ice_candidate(Some(init(candidate(i), "0"))).await {
            Ok(()) => ok += 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
                refused += 1;
            }
        }
        if i % 500 == 0 {
            check_cpu(start, CPU_BUDGET, &format!("{i} candidates"));
        }
    }
    let spent = budget::thread_cpu_time() - start;
    let grown = budget::live_bytes().saturating_sub(before);
    eprintln!("30000 candidates: {spent:?} CPU, {grown} bytes kept, {ok} accepted");
    check_cpu(start, CPU_BUDGET, "30000 candidates");
    // The offer carries 2 candidates in the section: the cap counts them.
    assert_eq!(ok, cap - 2);
    assert_eq!(refused, 30_000 - ok);
    // What was accepted is there once, the description still parses.
    let text = pc.remote_description().unwrap().sdp;
    assert_eq!(candidate_lines(&text), cap);
    Sdp::parse(&text).unwrap();
    assert!(grown < 4 << 20, "{grown} bytes kept for {cap} candidates");
    // Reading the description again costs no new rendering of it.
    let start = budget::thread_cpu_time();
    for _ in 0..100 {
        assert_eq!(pc.remote_description().unwrap().sdp.len(), text.len());
    }
    check_cpu(start, Duration::from_millis(500), "100 reads");
}

/// 50 candidates carrying 1 MB of extension fields: refused at once (candidate length
/// limit), and the heap does not grow by more than the one input in flight.
#[tokio::test]
async fn megabyte_candidates_are_refused_without_heap_growth() {
    let _serial = SERIAL.lock().await;
    let pc = victim(SignalingLimits::default()).await;
    let big = format!("{} x-pad {}", candidate(1), "a".repeat(1 << 20));
    let before = budget::live_bytes();
    budget::reset_peak();
    let start = budget::thread_cpu_time();
    for _ in 0..50 {
        let e = pc
            .add_ice_candidate(Some(init(big.clone(), "0")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    }
    let spent = budget::thread_cpu_time() - start;
    let kept = budget::live_bytes().saturating_sub(before);
    let peak = budget::peak_bytes().saturating_sub(before);
    eprintln!("50 x 1 MB candidates: {spent:?} CPU, {kept} bytes kept, peak +{peak}");
    check_cpu(start, CPU_BUDGET, "50 x 1 MB candidates");
    assert!(kept < 64 << 10, "{kept} bytes kept");
    // The input's own clone is 1 MB; nothing else of that size.
    assert!(peak < 3 << 20, "heap peak +{peak} bytes");
    assert_eq!(candidate_lines(&pc.remote_description().unwrap().sdp), 2);
    // A candidate at the length limit is still accepted.
    let limit = SignalingLimits::default().max_candidate_bytes;
    let mut at_limit = format!("{} x-pad ", candidate(2));
    at_limit.push_str(&"b".repeat(limit - at_limit.len()));
    assert_eq!(at_limit.len(), limit);
    pc.add_ice_candidate(Some(init(at_limit, "0")))
        .await
        .unwrap();
    assert_eq!(candidate_lines(&pc.remote_description().unwrap().sdp), 3);
}

/// Trickled candidates count against the description's byte limit, like the text given to
/// setRemoteDescription: the limit cannot be bypassed by trickling.
#[tokio::test]
async fn trickled_candidates_stop_at_the_description_byte_limit() {
    let _serial = SERIAL.lock().await;
    let limits = SignalingLimits {
        max_description_bytes: 16 << 10,
        ..SignalingLimits::default()
    };
    let pc = victim(limits.clone()).await;
    let mut refused_at = None;
    for i in 0..100u32 {
        let mut c = format!("{} x-pad ", candidate(i));
        c.push_str(&"p".repeat(900 - c.len()));
        match pc.add_ice_candidate(Some(init(c, "0"))).await {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
                assert!(e.message().contains("limit"), "{e}");
                refused_at.get_or_insert(i);
            }
        }
    }
    let refused_at = refused_at.expect("the byte limit was reached");
    let text = pc.remote_description().unwrap().sdp;
    assert!(text.len() <= limits.max_description_bytes, "{}", text.len());
    assert!(
        text.len() > limits.max_description_bytes - 1000,
        "{}",
        text.len()
    );
    assert_eq!(candidate_lines(&text), 2 + refused_at as usize);
    // End-of-candidates still gets through (one line per m-section at most).
    pc.add_ice_candidate(None).await.unwrap();
    assert!(
        pc.remote_description()
            .unwrap()
            .sdp
            .contains("a=end-of-candidates")
    );
    // The same limit applies to setRemoteDescription.
    let pc = PeerConnection::with_settings(
        Configuration::default(),
        Settings {
            signaling: SignalingLimits {
                max_description_bytes: OFFER.len() - 1,
                ..SignalingLimits::default()
            },
            ..Settings::default()
        },
    )
    .unwrap();
    let e = pc
        .set_remote_description(SessionDescription::offer(OFFER))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    assert!(e.message().contains("limit"), "{e}");
}

/// `remoteDescription.sdp` after candidates, duplicates, end-of-candidates (per section,
/// for all, in the middle of a section of the applied text) is byte-identical to what the
/// re-serialising implementation gave.
#[tokio::test]
async fn remote_description_text_is_unchanged_by_the_new_bookkeeping() {
    let _serial = SERIAL.lock().await;
    // Two sections; the first has end-of-candidates in the middle of its attributes.
    let offer = OFFER.replace(
        "a=ice-ufrag:IJ2m\r\n",
        "a=end-of-candidates\r\na=ice-ufrag:IJ2m\r\n",
    ) + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=ice-ufrag:IJ2m\r\na=ice-pwd:60wt/FKNCYVnfv9DzFSr3g+2\r\n\
         a=fingerprint:sha-256 8A:E2:E3:81:D7:51:6A:9A:A6:B7:DB:A9:D9:A5:A9:F1:B3:A9:10:94:0D:15:62:61:7F:E6:19:81:83:43:48:74\r\n\
         a=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";
    let offer = offer.replace("a=group:BUNDLE 0", "a=group:BUNDLE 0 1");
    let pc = PeerConnection::with_settings(
        Configuration::default(),
        Settings {
            seed: Some(9),
            ..Settings::default()
        },
    )
    .unwrap();
    pc.set_remote_description(SessionDescription::offer(offer.clone()))
        .await
        .unwrap();
    // Before any call the text is the one applied.
    assert_eq!(pc.remote_description().unwrap().sdp, offer);
    let mut model = Sdp::parse(&offer).unwrap();
    let by_index = |candidate: String, i: u16| IceCandidateInit {
        candidate,
        sdp_mid: None,
        sdp_m_line_index: Some(i),
        username_fragment: Some("IJ2m".into()),
    };
    let steps: Vec<IceCandidateInit> = vec![
        // A duplicate of an applied candidate first: the text becomes the rendering.
        init(
            "candidate:1143490949 1 udp 2122260223 127.0.0.1 41536 typ host generation 0 network-id 1 network-cost 50".into(),
            "0",
        ),
        init(candidate(1), "0"),
        init(candidate(2), "1"),
        init(candidate(1), "0"),
        by_index(candidate(3), 1),
        init(String::new(), "1"),
        init(candidate(4), "1"),
        init(candidate(5), "0"),
        IceCandidateInit::default(),
        init(candidate(6), "0"),
        init(candidate(6), "0"),
        init("not a candidate".into(), "0"),
        init(candidate(7), "nope"),
        by_index(candidate(8), 7),
        by_index(String::new(), 0),
    ];
    for (n, c) in steps.iter().enumerate() {
        let expect_ok = reference_add(&mut model, c);
        let got = pc.add_ice_candidate(Some(c.clone())).await;
        assert_eq!(got.is_ok(), expect_ok, "step {n}: {got:?}");
        if expect_ok {
            assert_eq!(
                pc.remote_description().unwrap().sdp,
                model.to_string(),
                "step {n}"
            );
        }
    }
    // The transport's remote candidates are those signalled: applied then added, once each.
    let sdp = pc.remote_description().unwrap().sdp;
    assert_eq!(candidate_lines(&sdp), 2 + 6);
}

fn core_with_agent() -> Core {
    let cert = Certificate::generate(CertificateParams::default(), SystemTime::now()).unwrap();
    let mut core = Core::new(
        Configuration::default(),
        CoreSettings::default(),
        cert,
        Box::new(SeededRandom::new(3)),
    );
    core.configure_ice(Default::default(), Box::new(SeededRandom::new(4)));
    core.set_remote_description(SessionDescription::offer(OFFER))
        .unwrap();
    core.set_local_description(None).unwrap();
    for i in 1..=16u8 {
        let addr: SocketAddr = format!("10.99.0.{i}:5000").parse().unwrap();
        core.add_local_address(addr).unwrap();
    }
    core.handle_input(Instant::now(), Input::Timeout).unwrap();
    core
}

/// The agent behind a candidate flood: its remote candidates and checklist stay within
/// `IceAgentConfig::max_remote_candidates` / `max_pairs` (RFC 8445 §6.1.2.5), and each
/// candidate is bounded work even with the most local addresses.
#[test]
fn agent_keeps_bounded_candidates_and_checklist_under_a_flood() {
    let _serial = SERIAL.blocking_lock();
    let mut core = core_with_agent();
    let config = rtcpeer_proto::ice::IceAgentConfig::default();
    let start = budget::thread_cpu_time();
    let mut ok = 0;
    for i in 0..30_000u32 {
        if core.add_ice_candidate(&init(candidate(i), "0")).is_ok() {
            ok += 1;
        }
        if i % 500 == 0 {
            check_cpu(start, CPU_BUDGET, &format!("{i} candidates (core)"));
        }
    }
    let agent = core.ice_agent().expect("an agent");
    let (remotes, pairs) = (
        agent.remote_candidates().len(),
        agent.candidate_pairs().len(),
    );
    eprintln!(
        "core: {ok} accepted, agent {remotes} remote candidates, {pairs} pairs, {:?} CPU",
        budget::thread_cpu_time() - start
    );
    check_cpu(start, CPU_BUDGET, "30000 candidates (core)");
    assert!(remotes <= config.max_remote_candidates, "{remotes}");
    assert!(pairs <= config.max_pairs, "{pairs}");
    assert!(remotes > 0 && pairs > 0);
}

/// The fingerprint of `OFFER`.
const FP: &str = "8A:E2:E3:81:D7:51:6A:9A:A6:B7:DB:A9:D9:A5:A9:F1:B3:A9:10:94:0D:15:62:61:7F:E6:19:81:83:43:48:74";

/// Pads `OFFER` with session-level attribute lines of `line` bytes to exactly `total` bytes.
fn padded_offer(total: usize, line: usize) -> String {
    let mut head = OFFER.split("m=").next().unwrap().to_string();
    let tail = &OFFER[head.len()..];
    while head.len() + tail.len() + line <= total {
        let pad = "a=x-pad:".to_string() + &"z".repeat(line - 10) + "\r\n";
        head.push_str(&pad);
    }
    let rest = total - head.len() - tail.len();
    if rest > 0 {
        assert!(rest >= 11);
        head.push_str(&("a=x-end:".to_string() + &"y".repeat(rest - 10) + "\r\n"));
    }
    let out = head + tail;
    assert_eq!(out.len(), total);
    out
}

/// Descriptions just under and just over the size limit, with the most lines allowed, and
/// with the most m-sections: accepted or refused (`sdp-syntax-error`) within the budget, the
/// heap bounded by a small multiple of the text.
#[tokio::test]
async fn huge_descriptions_are_bounded_at_and_over_the_limit() {
    let _serial = SERIAL.lock().await;
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let at_limit = padded_offer(MAX_SDP_BYTES, 200);
    let over = padded_offer(MAX_SDP_BYTES + 1, 200);
    let before = budget::live_bytes();
    budget::reset_peak();
    let start = budget::thread_cpu_time();
    pc.set_remote_description(SessionDescription::offer(at_limit))
        .await
        .unwrap();
    let e = pc
        .set_remote_description(SessionDescription::offer(over))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    assert!(e.message().contains("limit"), "{e}");
    check_cpu(start, CPU_BUDGET, "1 MiB descriptions");
    let peak = budget::peak_bytes().saturating_sub(before);
    eprintln!("1 MiB description: heap peak +{peak}");
    assert!(peak < 16 << 20, "heap peak +{peak} bytes for 1 MiB");

    // The most lines the parser allows (short ones), then one more.
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let head_lines = OFFER.lines().count();
    let mut many = OFFER.split("m=").next().unwrap().to_string();
    for _ in 0..MAX_SDP_LINES - head_lines {
        many.push_str("a=x\r\n");
    }
    many.push_str(&OFFER[OFFER.split("m=").next().unwrap().len()..]);
    let start = budget::thread_cpu_time();
    pc.set_remote_description(SessionDescription::offer(many.clone()))
        .await
        .unwrap();
    let more = many.replacen("a=x\r\n", "a=x\r\na=x\r\n", 1);
    let e = pc
        .set_remote_description(SessionDescription::offer(more))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    // A candidate added to a description of 65k lines is as cheap as any other.
    for i in 0..500 {
        pc.add_ice_candidate(Some(init(candidate(i), "0")))
            .await
            .unwrap();
    }
    check_cpu(start, CPU_BUDGET, "65k-line descriptions");

    // Very many m-sections, each bundled on the first: candidates trickled to the last.
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    // (every mid in the group: sections outside BUNDLE would each need a transport of
    // their own, and more than `MAX_TRANSPORTS` of them are refused)
    let mids: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let mut sections = OFFER.replace(
        "a=group:BUNDLE 0",
        &format!("a=group:BUNDLE {}", mids.join(" ")),
    );
    for i in 1..400 {
        sections.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:{i}\r\n\
             a=ice-ufrag:IJ2m\r\na=ice-pwd:60wt/FKNCYVnfv9DzFSr3g+2\r\na=setup:actpass\r\n\
             a=fingerprint:sha-256 {FP}\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n"
        ));
    }
    let start = budget::thread_cpu_time();
    pc.set_remote_description(SessionDescription::offer(sections))
        .await
        .unwrap();
    for i in 0..2000u32 {
        let mid = (i % 400).to_string();
        pc.add_ice_candidate(Some(init(candidate(i), &mid)))
            .await
            .unwrap();
    }
    check_cpu(start, CPU_BUDGET, "400 m-sections");
}

/// Hostile JSON from the signaling channel: deep nesting, huge strings, huge numbers. A
/// `TypeError` (or the description's own limit) quickly, never a stack overflow.
#[tokio::test]
async fn hostile_json_is_refused_quickly() {
    let _serial = SERIAL.lock().await;
    let start = budget::thread_cpu_time();
    let deep = format!(
        "{{\"type\":\"offer\",\"sdp\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = SessionDescription::from_json(&deep).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type, "{e}");
    let deep_candidate = format!("{{\"candidate\":{}}}", "{\"a\":".repeat(100_000));
    assert!(serde_json::from_str::<IceCandidateInit>(&deep_candidate).is_err());
    let deep_config = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(serde_json::from_str::<serde_json::Value>(&deep_config).is_err());
    for n in ["65536", "1e400", "-1", "18446744073709551616", "0.5"] {
        let j = format!("{{\"candidate\":\"\",\"sdpMLineIndex\":{n}}}");
        assert!(
            serde_json::from_str::<IceCandidateInit>(&j).is_err(),
            "sdpMLineIndex {n}"
        );
    }
    let huge_pool = serde_json::json!({"iceCandidatePoolSize": 1e300});
    let e = Configuration::from_json(&huge_pool).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type, "{e}");
    check_cpu(start, CPU_BUDGET, "deep JSON");

    // A 8 MB "sdp" string converts (it is only a string) but is refused by the size limit
    // before any parsing, without copies of it.
    let huge = serde_json::json!({"type": "offer", "sdp": "v".repeat(8 << 20)}).to_string();
    let desc = SessionDescription::from_json(&huge).unwrap();
    let pc = PeerConnection::new(Configuration::default()).unwrap();
    let before = budget::live_bytes();
    budget::reset_peak();
    let start = budget::thread_cpu_time();
    let e = pc.set_remote_description(desc).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    let peak = budget::peak_bytes().saturating_sub(before);
    assert!(peak < 1 << 20, "heap peak +{peak} bytes refusing 8 MB");
    check_cpu(start, Duration::from_millis(500), "8 MB description");

    // A huge candidate string in JSON is refused by addIceCandidate's limit.
    let j = serde_json::json!({"candidate": "c".repeat(4 << 20), "sdpMid": "0"}).to_string();
    let c: IceCandidateInit = serde_json::from_str(&j).unwrap();
    let pc = victim(SignalingLimits::default()).await;
    let e = pc.add_ice_candidate(Some(c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");

    // Many ICE servers: a configuration is validated in bounded time.
    let servers: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"urls": format!("stun:10.0.{}.{}:3478", i / 256 % 256, i % 256)}))
        .collect();
    let start = budget::thread_cpu_time();
    let _ = Configuration::from_json(&serde_json::json!({ "iceServers": servers }));
    check_cpu(start, CPU_BUDGET, "20000 ICE servers");
}
