//! Two rtcpeer connections in one process reach ICE "connected" over real UDP on 127.0.0.1
//! (the runtime driver, the core's ICE integration and the W3C ICE states and events).
//! Every wait is on an event with a deadline; a deadline passing is a failure.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use rtcpeer::{
    Configuration, EventStream, IceConnectionState as Ice, IceGatheringState as Gather,
    IceSettings, IceTransport, PeerConnection, PeerConnectionEvent as Ev,
    PeerConnectionState as Pc, SdpType, SessionDescription, Settings, SignalingState,
};

const DEADLINE: Duration = Duration::from_secs(10);

fn pc() -> PeerConnection {
    let settings = Settings {
        ice: IceSettings {
            interfaces: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..IceSettings::default()
        },
        ..Settings::default()
    };
    PeerConnection::with_settings(Configuration::default(), settings).expect("new pc")
}

/// Everything one side fired, in order.
#[derive(Default)]
struct Log {
    events: Vec<Ev>,
}

impl Log {
    fn ice_states(&self) -> Vec<Ice> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }
    fn pc_states(&self) -> Vec<Pc> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::ConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }
    fn gathering(&self) -> Vec<Gather> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceGatheringStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }
    /// ICE connected and the connectionstatechange that follows it seen.
    fn connected(&self) -> bool {
        self.ice_states()
            .iter()
            .any(|s| matches!(s, Ice::Connected | Ice::Completed))
            && self.pc_states().contains(&Pc::Connected)
    }
    fn gathered(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Ev::IceCandidate(None)))
    }
    /// A compact trace of the ICE candidate / gathering events ("cand", "end", "g:<state>",
    /// "null") and the signaling state changes ("ss:<state>").
    fn trace(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::IceCandidate(Some(c)) if c.candidate().is_empty() => Some("end".into()),
                Ev::IceCandidate(Some(_)) => Some("cand".into()),
                Ev::IceCandidate(None) => Some("null".into()),
                Ev::IceGatheringStateChange(s) => Some(format!("g:{s}")),
                Ev::SignalingStateChange(s) => Some(format!("ss:{s}")),
                Ev::SelectedCandidatePairChange(p) => Some(format!(
                    "sel:{}",
                    p.local.username_fragment().unwrap_or_default()
                )),
                _ => None,
            })
            .collect()
    }
}

/// Runs both sides' event streams until `done` holds, forwarding `icecandidate` events to the
/// other side through addIceCandidate when `trickle` is set.
async fn pump(
    one: (&PeerConnection, &mut EventStream, &mut Log),
    two: (&PeerConnection, &mut EventStream, &mut Log),
    trickle: bool,
    done: impl Fn(&Log, &Log) -> bool,
) {
    pump_directed(one, two, (trickle, trickle), done).await
}

/// [`pump`] with trickling chosen per direction: (pc1 → pc2, pc2 → pc1).
async fn pump_directed(
    (pc1, ev1, log1): (&PeerConnection, &mut EventStream, &mut Log),
    (pc2, ev2, log2): (&PeerConnection, &mut EventStream, &mut Log),
    (to2, to1): (bool, bool),
    done: impl Fn(&Log, &Log) -> bool,
) {
    let run = async {
        while !done(log1, log2) {
            tokio::select! {
                e = ev1.recv() => {
                    let e = e.expect("pc1 event stream ended");
                    if let (true, Ev::IceCandidate(c)) = (to2, &e) {
                        pc2.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc2 addIceCandidate");
                    }
                    log1.events.push(e);
                }
                e = ev2.recv() => {
                    let e = e.expect("pc2 event stream ended");
                    if let (true, Ev::IceCandidate(c)) = (to1, &e) {
                        pc1.add_ice_candidate(c.as_ref().map(|c| c.to_json())).await.expect("pc1 addIceCandidate");
                    }
                    log2.events.push(e);
                }
            }
        }
    };
    if tokio::time::timeout(DEADLINE, run).await.is_err() {
        panic!(
            "deadline passed: pc1 {:?} / {:?}, pc2 {:?} / {:?}",
            log1.ice_states(),
            log1.trace(),
            log2.ice_states(),
            log2.trace()
        );
    }
}

fn assert_gathering_events(log: &Log, ufrag: &str) {
    // new → gathering → complete (WPT-180 / 338 at the pc level).
    assert_eq!(log.gathering(), vec![Gather::Gathering, Gather::Complete]);
    let t = log.trace();
    let first_cand = t.iter().position(|x| x == "cand").expect("a candidate");
    // WPT-127: candidates only after the SLD that started gathering resolved.
    let sld = t
        .iter()
        .position(|x| x == "ss:have-local-offer" || x == "ss:stable")
        .expect("signalingstatechange");
    assert!(sld < first_cand, "candidate before SLD resolved: {t:?}");
    // WPT-176: end marker while gathering, then complete, then the null candidate.
    let tail: Vec<&str> = t
        .iter()
        .filter(|x| ["end", "g:complete", "null"].contains(&x.as_str()))
        .map(String::as_str)
        .collect();
    assert_eq!(tail, vec!["end", "g:complete", "null"], "{t:?}");
    for e in &log.events {
        if let Ev::IceCandidate(Some(c)) = e {
            assert_eq!(c.sdp_mid(), Some("0"));
            assert_eq!(c.sdp_m_line_index(), Some(0));
            assert_eq!(c.username_fragment().as_deref(), Some(ufrag));
            if !c.candidate().is_empty() {
                assert_eq!(c.address(), Some("127.0.0.1"));
                assert_eq!(c.typ().map(|t| t.to_string()).as_deref(), Some("host"));
            }
        }
    }
}

fn ufrag_of(d: &SessionDescription) -> String {
    d.sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("a=ice-ufrag")
        .trim()
        .to_string()
}

fn assert_connected_history(offerer: &Log, answerer: &Log) {
    // WPT-190 / WPT-184: answerer exactly [checking, connected] after "new"; offerer the
    // same, optionally followed by "completed"; never "failed".
    assert_eq!(answerer.ice_states(), vec![Ice::Checking, Ice::Connected]);
    let o = offerer.ice_states();
    assert!(
        o == vec![Ice::Checking, Ice::Connected]
            || o == vec![Ice::Checking, Ice::Connected, Ice::Completed],
        "offerer history {o:?}"
    );
    // WPT-187 (ICE part): connectionState ["connecting", "connected"].
    assert_eq!(offerer.pc_states(), vec![Pc::Connecting, Pc::Connected]);
    assert_eq!(answerer.pc_states(), vec![Pc::Connecting, Pc::Connected]);
}

/// Offer/answer without candidates in the descriptions, then candidates by trickle.
async fn connect_trickle(offerer: &PeerConnection, answerer: &PeerConnection) -> (Log, Log) {
    let mut ev1 = offerer.events();
    let mut ev2 = answerer.events();
    offerer.create_data_channel("chat", None).expect("dc");
    let offer = offerer.create_offer(None).await.expect("offer");
    offerer
        .set_local_description(Some(offer.clone()))
        .await
        .expect("SLD offer");
    answerer
        .set_remote_description(offer.clone())
        .await
        .expect("SRD offer");
    let answer = answerer.create_answer(None).await.expect("answer");
    answerer
        .set_local_description(Some(answer.clone()))
        .await
        .expect("SLD answer");
    offerer
        .set_remote_description(answer.clone())
        .await
        .expect("SRD answer");
    assert!(!offer.sdp.contains("a=candidate"));
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (offerer, &mut ev1, &mut l1),
        (answerer, &mut ev2, &mut l2),
        true,
        |a, b| a.connected() && b.connected() && a.gathered() && b.gathered(),
    )
    .await;
    assert_gathering_events(&l1, &ufrag_of(&offer));
    assert_gathering_events(&l2, &ufrag_of(&answer));
    assert_connected_history(&l1, &l2);
    (l1, l2)
}

fn assert_local_description_has_candidates(pc: &PeerConnection) {
    let sdp = pc.local_description().expect("local description").sdp;
    assert!(sdp.contains("a=candidate:"), "{sdp}");
    assert!(sdp.contains(" 127.0.0.1 "), "{sdp}");
    assert!(sdp.contains("a=end-of-candidates"), "{sdp}");
}

fn assert_selected_pairs_match(pc1: &PeerConnection, pc2: &PeerConnection) {
    let (l1, r1) = pc1.selected_candidate_pair().expect("pc1 selected pair");
    let (l2, r2) = pc2.selected_candidate_pair().expect("pc2 selected pair");
    assert_eq!(l1, r2);
    assert_eq!(r1, l2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_184_190_trickle_connects_pc1_offers() {
    let (pc1, pc2) = (pc(), pc());
    connect_trickle(&pc1, &pc2).await;
    assert_eq!(pc1.ice_gathering_state(), Gather::Complete);
    assert_eq!(pc2.ice_gathering_state(), Gather::Complete);
    assert!(matches!(
        pc1.ice_connection_state(),
        Ice::Connected | Ice::Completed
    ));
    assert_eq!(pc2.ice_connection_state(), Ice::Connected);
    assert_eq!(pc1.connection_state(), Pc::Connected);
    assert_eq!(pc2.connection_state(), Pc::Connected);
    // Candidates are in localDescription as well, as browsers show them.
    assert_local_description_has_candidates(&pc1);
    assert_local_description_has_candidates(&pc2);
    // Trickled candidates were recorded in the remote descriptions.
    assert!(
        pc2.remote_description()
            .unwrap()
            .sdp
            .contains("a=candidate:")
    );
    assert_selected_pairs_match(&pc1, &pc2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_190_trickle_connects_pc2_offers() {
    let (pc1, pc2) = (pc(), pc());
    connect_trickle(&pc2, &pc1).await;
    assert_selected_pairs_match(&pc1, &pc2);
}

/// Non-trickle: each side waits for gathering to complete and sends localDescription, whose
/// SDP carries the candidates; addIceCandidate is never called.
async fn connect_without_trickle(offerer: &PeerConnection, answerer: &PeerConnection) {
    let mut ev1 = offerer.events();
    let mut ev2 = answerer.events();
    let (mut l1, mut l2) = (Log::default(), Log::default());
    offerer.create_data_channel("chat", None).expect("dc");
    offerer
        .set_local_description(None)
        .await
        .expect("SLD offer");
    pump(
        (offerer, &mut ev1, &mut l1),
        (answerer, &mut ev2, &mut l2),
        false,
        |a, _| a.gathered(),
    )
    .await;
    let offer = offerer.local_description().expect("offer");
    assert_eq!(offer.sdp_type, SdpType::Offer);
    assert_local_description_has_candidates(offerer);
    answerer
        .set_remote_description(offer)
        .await
        .expect("SRD offer");
    // WPT-178: SRD does not change iceGatheringState.
    assert_eq!(answerer.ice_gathering_state(), Gather::New);
    answerer
        .set_local_description(None)
        .await
        .expect("SLD answer");
    pump(
        (offerer, &mut ev1, &mut l1),
        (answerer, &mut ev2, &mut l2),
        false,
        |_, b| b.gathered(),
    )
    .await;
    assert_local_description_has_candidates(answerer);
    offerer
        .set_remote_description(answerer.local_description().expect("answer"))
        .await
        .expect("SRD answer");
    pump(
        (offerer, &mut ev1, &mut l1),
        (answerer, &mut ev2, &mut l2),
        false,
        |a, b| a.connected() && b.connected(),
    )
    .await;
    assert_eq!(offerer.signaling_state(), SignalingState::Stable);
    assert_connected_history(&l1, &l2);
    assert_selected_pairs_match(offerer, answerer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trickle_candidates_only_in_sdp_pc1_offers() {
    let (pc1, pc2) = (pc(), pc());
    connect_without_trickle(&pc1, &pc2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trickle_candidates_only_in_sdp_pc2_offers() {
    let (pc1, pc2) = (pc(), pc());
    connect_without_trickle(&pc2, &pc1).await;
}

#[tokio::test]
async fn wpt_183_close_sets_closed_synchronously_without_events() {
    let (pc1, pc2) = (pc(), pc());
    assert_eq!(pc1.ice_connection_state(), Ice::New);
    assert_eq!(pc1.connection_state(), Pc::New);
    assert_eq!(pc1.ice_gathering_state(), Gather::New);
    connect_trickle(&pc1, &pc2).await;
    let mut ev1 = pc1.events();
    pc1.close();
    assert_eq!(pc1.ice_connection_state(), Ice::Closed);
    assert_eq!(pc1.connection_state(), Pc::Closed);
    // The stream ends without a state change event.
    let rest = tokio::time::timeout(DEADLINE, async {
        let mut v = Vec::new();
        while let Some(e) = ev1.recv().await {
            v.push(e);
        }
        v
    })
    .await
    .expect("stream ends after close");
    // ("completed" may still have been queued before close(); nothing reports "closed".)
    assert!(
        !rest.iter().any(|e| matches!(
            e,
            Ev::IceConnectionStateChange(Ice::Closed) | Ev::ConnectionStateChange(Pc::Closed)
        )),
        "{rest:?}"
    );
    assert_eq!(pc1.ice_connection_state(), Ice::Closed);
}

#[tokio::test]
async fn wpt_2_fresh_connection_states_are_new() {
    let pc = pc();
    assert_eq!(pc.ice_gathering_state(), Gather::New);
    assert_eq!(pc.ice_connection_state(), Ice::New);
    assert_eq!(pc.connection_state(), Pc::New);
    assert_eq!(pc.ice_connection_state().to_string(), "new");
    assert_eq!(pc.connection_state().to_string(), "new");
}

#[tokio::test]
async fn wpt_53_offer_without_m_lines_gathers_nothing() {
    let pc = pc();
    let mut ev = pc.events();
    pc.set_local_description(None).await.expect("SLD");
    assert_eq!(pc.ice_gathering_state(), Gather::New);
    while let Some(e) = ev.try_recv() {
        assert!(
            !matches!(e, Ev::IceGatheringStateChange(_) | Ev::IceCandidate(_)),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn wpt_178_set_remote_description_never_changes_gathering_state() {
    let (pc1, pc2) = (pc(), pc());
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    assert_eq!(pc2.ice_gathering_state(), Gather::New);
    pc2.set_remote_description(offer.clone()).await.unwrap();
    pc2.set_remote_description(SessionDescription::new(SdpType::Rollback, String::new()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    assert_eq!(pc2.ice_gathering_state(), Gather::New);
    while let Some(e) = ev2.try_recv() {
        assert!(!matches!(e, Ev::IceGatheringStateChange(_)), "{e:?}");
    }
}

/// Every event of `log` as a token: "cand", "end" (the empty end marker), "null",
/// "t:<state>" (the transport's gatheringstatechange, from `transport`), "pc:<state>"
/// (icegatheringstatechange), "-" for anything else.
fn gathering_tokens(log: &Log, transport: &IceTransport) -> Vec<String> {
    log.events
        .iter()
        .map(|e| match e {
            Ev::IceCandidate(Some(c)) if c.candidate().is_empty() => "end".into(),
            Ev::IceCandidate(Some(_)) => "cand".into(),
            Ev::IceCandidate(None) => "null".into(),
            Ev::IceTransportGatheringStateChange(t, s) => {
                assert_eq!(t, transport, "gatheringstatechange from another transport");
                format!("t:{s}")
            }
            Ev::IceGatheringStateChange(s) => format!("pc:{s}"),
            _ => "-".into(),
        })
        .collect()
}

/// WPT-176 on one side's events: the end marker fires while the transport and the connection
/// are still "gathering" (their last change before it was to "gathering"), and right after
/// it, with no other event in between (one task in JavaScript), the transport's
/// gatheringstatechange, the connection's icegatheringstatechange (both "complete"), then the
/// null candidate.
fn assert_wpt_176_order(log: &Log, transport: &IceTransport) {
    let all = gathering_tokens(log, transport);
    let end = all
        .iter()
        .position(|x| x == "end")
        .unwrap_or_else(|| panic!("no end marker: {all:?}"));
    assert_eq!(
        all[end + 1..end + 4],
        ["t:complete", "pc:complete", "null"],
        "{all:?}"
    );
    let before: Vec<&str> = all[..end]
        .iter()
        .filter(|x| *x != "-")
        .map(String::as_str)
        .collect();
    assert_eq!(before[..2], ["t:gathering", "pc:gathering"], "{all:?}");
    assert!(
        !before[2..].is_empty() && before[2..].iter().all(|x| *x == "cand"),
        "between gathering and the end marker only candidates: {all:?}"
    );
    assert_eq!(all.iter().filter(|x| *x == "end").count(), 1, "{all:?}");
    assert_eq!(all.iter().filter(|x| *x == "null").count(), 1, "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_176_end_marker_then_complete_then_null_candidate_on_both_sides() {
    let (pc1, pc2) = (pc(), pc());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("chat", None).expect("dc");
    let offer = pc1.create_offer(None).await.expect("offer");
    pc1.set_local_description(Some(offer.clone()))
        .await
        .expect("SLD offer");
    pc2.set_remote_description(offer.clone())
        .await
        .expect("SRD offer");
    let answer = pc2.create_answer(None).await.expect("answer");
    pc2.set_local_description(Some(answer.clone()))
        .await
        .expect("SLD answer");
    pc1.set_remote_description(answer.clone())
        .await
        .expect("SRD answer");
    let (t1, t2) = (
        pc1.ice_transport().expect("pc1 transport"),
        pc2.ice_transport().expect("pc2 transport"),
    );
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        true,
        |a, b| a.connected() && b.connected() && a.gathered() && b.gathered(),
    )
    .await;
    assert_wpt_176_order(&l1, &t1);
    assert_wpt_176_order(&l2, &t2);
    // The end marker names its generation and transport section.
    for (log, d) in [(&l1, &offer), (&l2, &answer)] {
        let end = log
            .events
            .iter()
            .find_map(|e| match e {
                Ev::IceCandidate(Some(c)) if c.candidate().is_empty() => Some(c.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(end.sdp_mid(), Some("0"));
        assert_eq!(end.sdp_m_line_index(), Some(0));
        assert_eq!(end.username_fragment(), Some(ufrag_of(d)));
    }
    assert_eq!(t1.gathering_state(), Gather::Complete);
    assert_eq!(pc1.ice_gathering_state(), Gather::Complete);
}

// A current-thread runtime: the network tasks run only while this test awaits, so the two
// states read one after the other cannot be torn by the driver, and nothing gathers between
// SLD and the first checks (gathering starts in a later task, as in JavaScript).
#[tokio::test]
async fn wpt_180_gathering_state_tracks_the_sctp_ice_transport() {
    let (pc1, pc2) = (pc(), pc());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("chat", None).expect("dc");
    let offer = pc1.create_offer(None).await.expect("offer");
    pc1.set_local_description(Some(offer.clone()))
        .await
        .expect("SLD offer");
    let t1 = pc1
        .sctp()
        .expect("sctp after SLD(offer)")
        .ice_transport()
        .expect("sctp.transport.iceTransport");
    assert_eq!(t1.gathering_state(), Gather::New);
    assert_eq!(pc1.ice_gathering_state(), Gather::New);
    pc2.set_remote_description(offer).await.expect("SRD offer");
    let answer = pc2.create_answer(None).await.expect("answer");
    pc2.set_local_description(Some(answer.clone()))
        .await
        .expect("SLD answer");
    let t2 = pc2
        .sctp()
        .expect("sctp after SLD(answer)")
        .ice_transport()
        .expect("sctp.transport.iceTransport");
    assert_eq!(t2.gathering_state(), Gather::New);
    assert_eq!(pc2.ice_gathering_state(), Gather::New);
    pc1.set_remote_description(answer)
        .await
        .expect("SRD answer");
    assert_eq!(t1.gathering_state(), Gather::New);
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        true,
        |a, b| {
            // After every event: the attribute equals the transport's gatheringState.
            assert_eq!(pc1.ice_gathering_state(), t1.gathering_state());
            assert_eq!(pc2.ice_gathering_state(), t2.gathering_state());
            a.connected() && b.connected() && a.gathered() && b.gathered()
        },
    )
    .await;
    for (log, t, pc) in [(&l1, &t1, &pc1), (&l2, &t2, &pc2)] {
        // Each icegatheringstatechange right after the transport's change to the same state.
        let tokens = gathering_tokens(log, t);
        let states: Vec<&str> = tokens
            .iter()
            .filter(|x| x.starts_with("t:") || x.starts_with("pc:"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            states,
            ["t:gathering", "pc:gathering", "t:complete", "pc:complete"],
            "{tokens:?}"
        );
        for (i, x) in tokens.iter().enumerate() {
            if let Some(s) = x.strip_prefix("pc:") {
                assert_eq!(tokens[i - 1], format!("t:{s}"), "{tokens:?}");
            }
        }
        assert_eq!(t.gathering_state(), Gather::Complete);
        assert_eq!(pc.ice_gathering_state(), Gather::Complete);
        assert_eq!(
            pc.sctp().unwrap().ice_transport().as_ref(),
            Some(t),
            "the same transport object throughout"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_181_rollback_of_initial_offer_returns_gathering_to_new() {
    let (pc1, pc2) = (pc(), pc());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        false,
        |a, _| a.gathered(),
    )
    .await;
    assert_eq!(pc1.ice_gathering_state(), Gather::Complete);
    pc1.set_local_description(Some(SessionDescription::new(
        SdpType::Rollback,
        String::new(),
    )))
    .await
    .unwrap();
    assert_eq!(pc1.ice_gathering_state(), Gather::New);
    let mut saw_new = false;
    while let Some(e) = ev1.try_recv() {
        if let Ev::IceGatheringStateChange(Gather::New) = e {
            saw_new = true;
        }
    }
    assert!(saw_new, "icegatheringstatechange to new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_175_reoffer_without_new_transport_keeps_gathering_complete() {
    let (pc1, pc2) = (pc(), pc());
    connect_trickle(&pc1, &pc2).await;
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.add_transceiver(rtcpeer::MediaKind::Audio, Default::default())
        .unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    assert_eq!(
        ufrag_of(&offer),
        ufrag_of(&pc1.current_local_description().unwrap())
    );
    pc2.set_remote_description(offer).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    pc1.set_remote_description(pc2.local_description().unwrap())
        .await
        .unwrap();
    assert_eq!(pc1.ice_gathering_state(), Gather::Complete);
    assert_eq!(pc2.ice_gathering_state(), Gather::Complete);
    // The new descriptions carry the candidates already gathered.
    assert_local_description_has_candidates(&pc1);
    assert_local_description_has_candidates(&pc2);
    for ev in [&mut ev1, &mut ev2] {
        while let Some(e) = ev.try_recv() {
            assert!(
                !matches!(e, Ev::IceGatheringStateChange(_) | Ev::IceCandidate(_)),
                "{e:?}"
            );
        }
    }
    assert!(matches!(
        pc1.ice_connection_state(),
        Ice::Connected | Ice::Completed
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_ice_end_to_end_selects_a_pair_of_the_new_generation() {
    let (pc1, pc2) = (pc(), pc());
    connect_trickle(&pc1, &pc2).await;
    let old1 = ufrag_of(&pc1.local_description().unwrap());
    let old2 = ufrag_of(&pc2.local_description().unwrap());
    let (old_addr1, _) = pc1.selected_candidate_pair().unwrap();
    let (old_addr2, _) = pc2.selected_candidate_pair().unwrap();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.restart_ice();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer.clone()).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer.clone()).await.unwrap();
    let (new1, new2) = (ufrag_of(&offer), ufrag_of(&answer));
    assert_ne!(new1, old1);
    assert_ne!(new2, old2);
    let selected_new = |log: &Log, ufrag: &str| {
        log.events.iter().any(|e| {
            matches!(e, Ev::SelectedCandidatePairChange(p)
                if p.local.username_fragment().as_deref() == Some(ufrag))
        })
    };
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        true,
        |a, b| selected_new(a, &new1) && selected_new(b, &new2) && a.gathered() && b.gathered(),
    )
    .await;
    // Gathering restarts for the new generation; the connection never dropped.
    assert_eq!(l1.gathering(), vec![Gather::Gathering, Gather::Complete]);
    assert_eq!(l2.gathering(), vec![Gather::Gathering, Gather::Complete]);
    for log in [&l1, &l2] {
        assert!(
            log.ice_states()
                .iter()
                .all(|s| matches!(s, Ice::Connected | Ice::Completed)),
            "{:?}",
            log.ice_states()
        );
        assert!(log.pc_states().is_empty(), "{:?}", log.pc_states());
    }
    assert!(matches!(
        pc1.ice_connection_state(),
        Ice::Connected | Ice::Completed
    ));
    assert_eq!(pc2.ice_connection_state(), Ice::Connected);
    assert_selected_pairs_match(&pc1, &pc2);
    // The restarted generation's candidates are in the new local descriptions.
    let sdp = pc1.local_description().unwrap().sdp;
    assert!(sdp.contains(&format!("ufrag {new1}")), "{sdp}");
    // Each side gathered on a fresh socket, as browsers do (a libwebrtc peer ties one ufrag
    // to each 5-tuple), and closes the old one once the new pair is selected.
    for (pc, old) in [(&pc1, old_addr1), (&pc2, old_addr2)] {
        let (now, _) = pc.selected_candidate_pair().unwrap();
        assert_ne!(now, old, "the new generation's pair is on a new socket");
        let task = pc.network_task();
        tokio::time::timeout(DEADLINE, async {
            while task.local_addresses() != vec![now] {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("old socket still open: {:?}", task.local_addresses()));
        std::net::UdpSocket::bind(old).expect("the old socket's port is free again");
    }
}

/// Two restarts back to back, the second before the first one's sockets were even bound:
/// the connection ends on a pair of the last generation, and only its sockets stay open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_restarts_in_a_row_end_on_the_last_generation() {
    let (pc1, pc2) = (pc(), pc());
    connect_trickle(&pc1, &pc2).await;
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    let mut last = (String::new(), String::new());
    for _ in 0..2 {
        pc1.restart_ice();
        let offer = pc1.create_offer(None).await.unwrap();
        pc1.set_local_description(Some(offer.clone()))
            .await
            .unwrap();
        pc2.set_remote_description(offer.clone()).await.unwrap();
        let answer = pc2.create_answer(None).await.unwrap();
        pc2.set_local_description(Some(answer.clone()))
            .await
            .unwrap();
        pc1.set_remote_description(answer.clone()).await.unwrap();
        last = (ufrag_of(&offer), ufrag_of(&answer));
    }
    let selected_new = |log: &Log, ufrag: &str| {
        log.events.iter().any(|e| {
            matches!(e, Ev::SelectedCandidatePairChange(p)
                if p.local.username_fragment().as_deref() == Some(ufrag))
        })
    };
    // Trickle only the last generation's candidates: the first one's are stale for the
    // peer (addIceCandidate rejects their ufrag, as it should).
    let (mut l1, mut l2) = (Log::default(), Log::default());
    let current = |e: &Ev, ufrag: &str| match e {
        Ev::IceCandidate(Some(c)) if !c.candidate().is_empty() => {
            (c.username_fragment().as_deref() == Some(ufrag)).then(|| c.to_json())
        }
        _ => None,
    };
    tokio::time::timeout(DEADLINE, async {
        while !(selected_new(&l1, &last.0) && selected_new(&l2, &last.1)) {
            tokio::select! {
                e = ev1.recv() => {
                    let e = e.expect("pc1 events");
                    if let Some(c) = current(&e, &last.0) {
                        pc2.add_ice_candidate(Some(c)).await.expect("pc2 addIceCandidate");
                    }
                    l1.events.push(e);
                }
                e = ev2.recv() => {
                    let e = e.expect("pc2 events");
                    if let Some(c) = current(&e, &last.1) {
                        pc1.add_ice_candidate(Some(c)).await.expect("pc1 addIceCandidate");
                    }
                    l2.events.push(e);
                }
            }
        }
    })
    .await
    .expect("a pair of the last generation on both sides");
    assert_selected_pairs_match(&pc1, &pc2);
    for pc in [&pc1, &pc2] {
        let (now, _) = pc.selected_candidate_pair().unwrap();
        let task = pc.network_task();
        tokio::time::timeout(DEADLINE, async {
            while task.local_addresses() != vec![now] {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("sockets left open: {:?}", task.local_addresses()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_drop_stop_the_network_task_and_free_the_sockets() {
    let (pc1, pc2) = (pc(), pc());
    let (t1, t2) = (pc1.network_task(), pc2.network_task());
    assert!(!t1.is_running(), "no task before the first SLD");
    connect_trickle(&pc1, &pc2).await;
    assert!(t1.is_running() && t2.is_running());
    let (a1, _) = pc1.selected_candidate_pair().unwrap();
    let (a2, _) = pc2.selected_candidate_pair().unwrap();
    // close(): the task ends and its socket is closed.
    pc1.close();
    tokio::time::timeout(DEADLINE, t1.stopped())
        .await
        .expect("task stops after close()");
    assert!(!t1.is_running());
    std::net::UdpSocket::bind(a1).expect("pc1's port is free again");
    // Dropping the last handle: same (the task holds only a weak reference).
    drop(pc2);
    tokio::time::timeout(DEADLINE, t2.stopped())
        .await
        .expect("task stops when the connection is dropped");
    std::net::UdpSocket::bind(a2).expect("pc2's port is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_36_relay_policy_without_turn_signals_no_candidate_and_completes_gathering() {
    let config = Configuration {
        ice_transport_policy: rtcpeer::IceTransportPolicy::Relay,
        ..Configuration::default()
    };
    let pc1 = PeerConnection::with_settings(config, Settings::default()).unwrap();
    let pc2 = pc();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    pc1.set_local_description(None).await.unwrap();
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        false,
        |a, _| a.gathered(),
    )
    .await;
    assert_eq!(l1.gathering(), vec![Gather::Gathering, Gather::Complete]);
    assert_eq!(
        l1.trace().iter().filter(|t| t.as_str() == "cand").count(),
        0,
        "{:?}",
        l1.trace()
    );
    assert!(!pc1.local_description().unwrap().sdp.contains("a=candidate"));
}

/// Replaces the port of every `a=candidate` line with `port`.
fn redirect_candidates(sdp: &str, port: u16) -> String {
    sdp.split("\r\n")
        .map(|l| {
            if !l.starts_with("a=candidate:") {
                return l.to_string();
            }
            let mut parts: Vec<String> = l.split(' ').map(str::to_string).collect();
            parts[5] = port.to_string();
            parts.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_remote_candidates_fail_after_end_of_candidates() {
    // Short check timers (IceSettings::agent takes effect): a check fails after ~100 ms.
    let mut ice = IceSettings::default();
    ice.agent.ta = Duration::from_millis(5);
    ice.agent.check_rto_min = Duration::from_millis(20);
    ice.agent.check_max_transmissions = 3;
    ice.agent.stun_last_wait = 2;
    // And a short PAC timer (RFC 8863): failure waits for it even after end-of-candidates.
    ice.agent.pac_timeout = Duration::from_millis(100);
    let pc1 = PeerConnection::with_settings(
        Configuration::default(),
        Settings {
            ice,
            ..Settings::default()
        },
    )
    .unwrap();
    let pc2 = pc();
    // A socket that receives the checks and never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    pc2.set_local_description(None).await.unwrap();
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        false,
        |_, b| b.gathered(),
    )
    .await;
    let answer = pc2.local_description().unwrap();
    assert!(answer.sdp.contains("a=end-of-candidates"));
    let answer = SessionDescription::new(
        SdpType::Answer,
        redirect_candidates(&answer.sdp, silent_port),
    );
    pc1.set_remote_description(answer).await.unwrap();
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        false,
        |a, _| a.pc_states().contains(&Pc::Failed),
    )
    .await;
    assert_eq!(l1.ice_states(), vec![Ice::Checking, Ice::Failed]);
    assert_eq!(l1.pc_states(), vec![Pc::Connecting, Pc::Failed]);
    assert_eq!(pc1.ice_connection_state(), Ice::Failed);
    assert_eq!(pc1.connection_state(), Pc::Failed);
    assert!(pc1.selected_candidate_pair().is_none());
    // The checks did reach the silent socket.
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1500];
    assert!(silent.recv_from(&mut buf).is_ok(), "no check arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_191_side_without_add_ice_candidate_still_checks_and_connects() {
    let (pc1, pc2) = (pc(), pc());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    // Only pc1's candidates reach pc2: pc1 learns pc2 as a peer-reflexive candidate.
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump_directed(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        (true, false),
        |a, b| a.connected() && b.connected(),
    )
    .await;
    assert_eq!(l1.ice_states()[0], Ice::Checking);
    assert_eq!(l2.ice_states()[0], Ice::Checking);
    assert!(
        !pc1.remote_description()
            .unwrap()
            .sdp
            .contains("a=candidate")
    );
    assert_selected_pairs_match(&pc1, &pc2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_interfaces_each_give_host_candidates_and_connect() {
    let two = || {
        let settings = Settings {
            ice: IceSettings {
                interfaces: vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
                ],
                ..IceSettings::default()
            },
            ..Settings::default()
        };
        PeerConnection::with_settings(Configuration::default(), settings).unwrap()
    };
    let (pc1, pc2) = (two(), two());
    let mut ev1 = pc1.events();
    let mut ev2 = pc2.events();
    pc1.create_data_channel("x", None).unwrap();
    let offer = pc1.create_offer(None).await.unwrap();
    pc1.set_local_description(Some(offer.clone()))
        .await
        .unwrap();
    pc2.set_remote_description(offer).await.unwrap();
    let answer = pc2.create_answer(None).await.unwrap();
    pc2.set_local_description(Some(answer.clone()))
        .await
        .unwrap();
    pc1.set_remote_description(answer).await.unwrap();
    let (mut l1, mut l2) = (Log::default(), Log::default());
    pump(
        (&pc1, &mut ev1, &mut l1),
        (&pc2, &mut ev2, &mut l2),
        true,
        |a, b| a.connected() && b.connected() && a.gathered() && b.gathered(),
    )
    .await;
    for pc in [&pc1, &pc2] {
        let sdp = pc.local_description().unwrap().sdp;
        assert!(sdp.contains(" 127.0.0.1 "), "{sdp}");
        assert!(sdp.contains(" 127.0.0.2 "), "{sdp}");
    }
    assert_selected_pairs_match(&pc1, &pc2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_handlers_see_the_ice_events() {
    let (pc1, pc2) = (pc(), pc());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let t = tx.clone();
    pc1.on_ice_gathering_state_change(move |s| {
        let _ = t.send(format!("g:{s}"));
    });
    let t = tx.clone();
    pc1.on_ice_connection_state_change(move |s| {
        let _ = t.send(format!("ice:{s}"));
    });
    let t = tx.clone();
    pc1.on_connection_state_change(move |s| {
        let _ = t.send(format!("pc:{s}"));
    });
    let t = tx.clone();
    pc1.on_ice_candidate(move |c| {
        let _ = t.send(if c.is_some() { "cand" } else { "null" }.to_string());
    });
    connect_trickle(&pc1, &pc2).await;
    // Each handler runs on its own task: their calls interleave in any order, so wait until
    // every expected call was seen.
    let want = [
        "g:gathering",
        "g:complete",
        "cand",
        "null",
        "ice:checking",
        "ice:connected",
        "pc:connecting",
        "pc:connected",
    ];
    let seen = tokio::time::timeout(DEADLINE, async {
        let mut seen: Vec<String> = Vec::new();
        while !want.iter().all(|w| seen.iter().any(|s| s == w)) {
            seen.push(rx.recv().await.expect("handler channel"));
        }
        seen
    })
    .await
    .expect("every handler ran");
    assert!(!seen.iter().any(|s| s == "ice:failed"), "{seen:?}");
}

fn pooled_pc(pool_size: u8) -> PeerConnection {
    let config = Configuration {
        ice_candidate_pool_size: pool_size,
        ..Configuration::default()
    };
    PeerConnection::with_settings(config, Settings::default()).expect("new pc")
}

/// Waits until the connection's network task has bound its sockets.
async fn bound_addresses(pc: &PeerConnection) -> Vec<std::net::SocketAddr> {
    let task = pc.network_task();
    tokio::time::timeout(DEADLINE, async {
        loop {
            let a = task.local_addresses();
            if !a.is_empty() {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("sockets bound")
}

/// iceCandidatePoolSize 1 (webrtc-pc §4.4.1.1, RFC 9429 §3.5.4): the socket is bound at
/// construction, before any setLocalDescription; the first SLD uses it, and its host
/// candidate is still signalled only after the SLD (WPT-127).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpt_127_pool_size_1_binds_before_sld_and_the_first_sld_uses_the_pool() {
    let pc = pooled_pc(1);
    let mut ev = pc.events();
    let pooled = bound_addresses(&pc).await;
    assert_eq!(pooled.len(), 1);
    assert!(pc.network_task().is_running());
    assert_eq!(pc.ice_gathering_state(), Gather::New);
    pc.create_data_channel("x", None).expect("dc");
    let offer = pc.create_offer(None).await.expect("offer");
    tokio::time::sleep(Duration::from_millis(20)).await;
    while let Some(e) = ev.try_recv() {
        assert!(
            !matches!(
                e,
                Ev::IceCandidate(_) | Ev::IceGatheringStateChange(_) | Ev::IceCandidateError(_)
            ),
            "{e:?} before SLD"
        );
    }
    pc.set_local_description(Some(offer)).await.expect("SLD");
    let mut log = Log::default();
    tokio::time::timeout(DEADLINE, async {
        while !log.gathered() {
            log.events.push(ev.recv().await.expect("events"));
        }
    })
    .await
    .expect("gathering completes");
    assert_eq!(
        log.trace(),
        [
            "ss:have-local-offer",
            "g:gathering",
            "cand",
            "end",
            "g:complete",
            "null"
        ]
    );
    let host = log
        .events
        .iter()
        .find_map(|e| match e {
            Ev::IceCandidate(Some(c)) if !c.candidate().is_empty() => Some(c.clone()),
            _ => None,
        })
        .expect("host candidate");
    assert_eq!(host.address(), Some("127.0.0.1"));
    assert_eq!(
        host.port(),
        Some(pooled[0].port()),
        "the pooled socket is used"
    );
    assert_eq!(pc.network_task().local_addresses(), pooled);
}

/// iceCandidatePoolSize 0 (the default): nothing runs before setLocalDescription, and
/// setConfiguration raising the pool size starts pre-gathering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_size_0_runs_nothing_before_sld_and_raising_it_starts_the_pool() {
    let pc = pooled_pc(0);
    pc.create_data_channel("x", None).expect("dc");
    let offer = pc.create_offer(None).await.expect("offer");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let task = pc.network_task();
    assert!(!task.is_running(), "no task before the first SLD");
    assert!(task.local_addresses().is_empty());
    let mut config = pc.get_configuration();
    config.ice_candidate_pool_size = 1;
    pc.set_configuration(config).expect("setConfiguration");
    let pooled = bound_addresses(&pc).await;
    assert!(task.is_running());
    pc.set_local_description(Some(offer)).await.expect("SLD");
    tokio::time::timeout(DEADLINE, async {
        while pc.ice_gathering_state() != Gather::Complete {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("gathering completes");
    let sdp = pc.local_description().expect("local").sdp;
    assert!(
        sdp.contains(&format!(" 127.0.0.1 {} typ host", pooled[0].port())),
        "{sdp}"
    );
    // The pool size cannot change any more (webrtc-pc §4.4.1.8).
    let mut config = pc.get_configuration();
    config.ice_candidate_pool_size = 0;
    assert!(pc.set_configuration(config).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pool_size_1_connections_connect_both_ways() {
    let (pc1, pc2) = (pooled_pc(1), pooled_pc(1));
    bound_addresses(&pc1).await;
    bound_addresses(&pc2).await;
    connect_trickle(&pc1, &pc2).await;
    assert_selected_pairs_match(&pc1, &pc2);
    let (pc3, pc4) = (pooled_pc(1), pooled_pc(1));
    connect_without_trickle(&pc4, &pc3).await;
    assert_selected_pairs_match(&pc3, &pc4);
}
