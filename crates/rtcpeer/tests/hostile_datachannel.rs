//! A hostile peer opening data channels (issue 12, hole 2): channel opens are bounded by
//! `Settings::data_channels` (open channels, label/protocol bytes), not only by the SCTP
//! stream count. The attacker is a second rtcpeer `PeerConnection` given caps far above the
//! victim's, so its DATA_CHANNEL_OPENs (RFC 8832 §5.1) reach the victim, whose memory, events
//! and refusals are checked over real UDP on 127.0.0.1.

mod common;

use common::budget;
use common::net::{LIMIT, negotiate, next, next_data_channel, next_not_low, pc, within};
use rtcpeer::{
    Configuration, DataChannel, DataChannelEvent, DataChannelInit, DataChannelLimits,
    DataChannelState, ErrorKind, EventStream, PeerConnection, PeerConnectionEvent, Settings,
};

#[global_allocator]
static ALLOC: budget::CountingAllocator = budget::CountingAllocator;

/// The heap is counted for the whole process: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A connection with these caps.
fn pc_with(limits: DataChannelLimits) -> PeerConnection {
    PeerConnection::with_settings(
        Configuration::default(),
        Settings {
            data_channels: limits,
            ..Settings::default()
        },
    )
    .expect("pc")
}

/// An attacker whose own caps never get in its way.
fn attacker() -> PeerConnection {
    pc_with(DataChannelLimits {
        max_open: 65535,
        max_label_bytes: usize::MAX,
    })
}

/// What the victim's application saw on its event stream.
#[derive(Default, Debug)]
struct Seen {
    channels: Vec<DataChannel>,
    dropped_markers: u64,
}

/// Reads `ev` until `done` holds (checked after every event and every 20 ms of quiet).
async fn read_until(ev: &mut EventStream, seen: &mut Seen, mut done: impl FnMut(&Seen) -> bool) {
    within("the victim's events", async {
        while !done(seen) {
            match tokio::time::timeout(std::time::Duration::from_millis(20), ev.recv()).await {
                Ok(Some(PeerConnectionEvent::DataChannel(dc))) => seen.channels.push(dc),
                Ok(Some(PeerConnectionEvent::EventsDropped(n))) => seen.dropped_markers += n,
                Ok(Some(_)) | Err(_) => {}
                Ok(None) => panic!("connection closed"),
            }
        }
    })
    .await
}

/// Waits until `f` holds, polling.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    within(what, async {
        while !f() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
}

/// The attacker opens channels whose label and protocol are both 65535 bytes (the DCEP
/// maximum) and never closes them. The victim (default caps: 4 MiB of names) accepts what
/// fits, refuses the rest by resetting their streams, and its application sees exactly the
/// accepted channels and no lost event; the process's heap grows by about the accepted
/// names (once on each side), not by 256 KiB per attempted channel.
#[tokio::test]
async fn huge_label_opens_beyond_the_byte_cap_are_refused_and_memory_stays_bounded() {
    let _serial = SERIAL.lock().await;
    assert!(budget::counting(), "the counting allocator is installed");
    const N: usize = 100;
    const NAMES: usize = 2 * 65535;
    let (evil, victim) = (attacker(), pc());
    let cap = DataChannelLimits::default().max_label_bytes;
    let mut pev = victim.events();
    let control = evil.create_data_channel("c", None).unwrap();
    let mut cev = control.events();
    negotiate(&evil, &victim).await;
    assert_eq!(next(&mut cev).await, DataChannelEvent::Open);
    let mut seen = Seen::default();
    read_until(&mut pev, &mut seen, |s| s.channels.len() == 1).await;

    let before = budget::live_bytes();
    let label = "L".repeat(65535);
    let init = DataChannelInit {
        protocol: "P".repeat(65535),
        ..DataChannelInit::default()
    };
    // One open at a time: 128 KiB DCEP messages would fill the attacker's own 2 MB SCTP
    // send buffer if queued all at once.
    let mut opened = Vec::new();
    for i in 0..N {
        let dc = evil
            .create_data_channel(&label, Some(init.clone()))
            .unwrap();
        let ev = dc.events();
        opened.push((dc, ev));
        read_until(&mut pev, &mut seen, |s| {
            s.channels.len() - 1 + victim.refused_data_channels() as usize == i + 1
        })
        .await;
    }
    drop((label, init));
    // The victim keeps what fits in its name budget ("c" took 1 byte of it).
    let accepted = (cap - 1) / NAMES;
    let refused = (N - accepted) as u64;
    assert_eq!(victim.refused_data_channels(), refused);
    // The attacker sees each refused channel closed by the victim's stream reset.
    until("the refused channels to close on the attacker", || {
        opened
            .iter()
            .filter(|(d, _)| d.ready_state() == DataChannelState::Closed)
            .count() as u64
            == refused
    })
    .await;
    let mut closed_by_victim = 0;
    for (dc, ev) in &mut opened {
        assert_eq!(next(ev).await, DataChannelEvent::Open);
        if dc.ready_state() == DataChannelState::Closed {
            assert_eq!(
                within("the refused channel to close", async {
                    let mut last = Vec::new();
                    while let Some(e) = ev.recv().await {
                        if e != DataChannelEvent::BufferedAmountLow {
                            last.push(e);
                        }
                    }
                    last
                })
                .await,
                [DataChannelEvent::Closing, DataChannelEvent::Close]
            );
            closed_by_victim += 1;
        }
    }
    assert_eq!(closed_by_victim, N - accepted);
    // The victim's application saw exactly the accepted channels, and nothing was lost.
    read_until(&mut pev, &mut seen, |s| s.channels.len() > accepted).await;
    assert_eq!(seen.channels.len(), 1 + accepted, "control + accepted");
    assert!(
        seen.channels[1..]
            .iter()
            .all(|d| d.label().len() == 65535 && d.ready_state() == DataChannelState::Open)
    );
    assert_eq!(seen.dropped_markers, 0);
    assert_eq!(pev.dropped_events(), 0);
    assert_eq!(
        victim.data_channel_usage(),
        (1 + accepted, 1 + accepted * NAMES)
    );
    // The attacker forgets its refused channels once it drops them; what is left on the
    // heap is the accepted names, once on each side.
    opened.retain(|(d, _)| d.ready_state() != DataChannelState::Closed);
    assert_eq!(opened.len(), accepted);
    until("the attacker to forget its refused channels", || {
        evil.data_channel_count() == 1 + accepted
    })
    .await;
    // Let transient buffers (SCTP queues, receive batches) drain.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let grown = budget::live_bytes().saturating_sub(before);
    eprintln!(
        "{N} opens with {NAMES}-byte names: {accepted} accepted, {refused} refused; heap +{} KiB \
         (both peers), {} KiB per accepted channel",
        grown / 1024,
        grown / 1024 / accepted
    );
    // One copy of the names per side, plus a few KiB of per-channel state and slack.
    let bound = 2 * cap + 2 * 1024 * 1024;
    assert!(
        grown <= bound,
        "heap grew by {grown} bytes for {accepted} accepted channels (bound {bound})"
    );
    drop(opened);
    evil.close();
    victim.close();
}

/// Past `max_open` (default 1024) the victim refuses every open with a stream reset and no
/// `datachannel` event; its application sees exactly the accepted channels and no lost
/// event; a channel that closes frees its place for the next open.
#[tokio::test]
async fn opens_beyond_the_open_cap_are_refused_and_the_application_sees_exactly_the_accepted() {
    let _serial = SERIAL.lock().await;
    const N: usize = 1100;
    let (evil, victim) = (attacker(), pc());
    let max = DataChannelLimits::default().max_open;
    let mut pev = victim.events();
    let control = evil.create_data_channel("c", None).unwrap();
    let mut cev = control.events();
    negotiate(&evil, &victim).await;
    assert_eq!(next(&mut cev).await, DataChannelEvent::Open);
    let before = budget::live_bytes();
    let opened: Vec<DataChannel> = (0..N)
        .map(|i| evil.create_data_channel(&format!("x{i}"), None).unwrap())
        .collect();
    let mut seen = Seen::default();
    let refused = (N + 1 - max) as u64;
    read_until(&mut pev, &mut seen, |s| {
        s.channels.len() == max && victim.refused_data_channels() == refused
    })
    .await;
    // Nothing more arrives: exactly the accepted channels, and an explicit "nothing lost".
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    while let Some(e) = pev.try_recv() {
        assert!(
            !matches!(
                e,
                PeerConnectionEvent::DataChannel(_) | PeerConnectionEvent::EventsDropped(_)
            ),
            "{e:?}"
        );
    }
    assert_eq!(seen.channels.len(), max);
    assert_eq!(seen.dropped_markers, 0);
    assert_eq!(pev.dropped_events(), 0);
    assert_eq!(victim.data_channel_usage().0, max);
    let grown = budget::live_bytes().saturating_sub(before);
    eprintln!(
        "{N} opens: {max} open on both peers, heap +{} KiB, {} B per channel and peer",
        grown / 1024,
        grown / max / 2
    );
    // Per-channel state on each side (records, SCTP stream state, event queues), all the
    // attacker's channels included: a few KiB each, bounded by the cap.
    assert!(grown <= 2 * N * 16 * 1024, "heap grew by {grown} bytes");
    // The attacker's excess channels were closed by the victim's resets.
    until("the refused channels to close on the attacker", || {
        opened
            .iter()
            .filter(|d| d.ready_state() == DataChannelState::Closed)
            .count() as u64
            == refused
    })
    .await;
    // Closing an accepted channel frees its place: the next open is accepted.
    let first = opened
        .iter()
        .find(|d| d.ready_state() == DataChannelState::Open)
        .unwrap();
    let mut fev = first.events();
    first.close();
    within("the accepted channel to close", async {
        while next_not_low(&mut fev).await != DataChannelEvent::Close {}
    })
    .await;
    until("the victim to free the channel's place", || {
        victim.data_channel_usage().0 == max - 1
    })
    .await;
    let again = evil.create_data_channel("again", None).unwrap();
    let dc = next_data_channel(&mut pev).await;
    assert_eq!(dc.label(), "again");
    assert_eq!(dc.id(), again.id());
    assert_eq!(victim.refused_data_channels(), refused);
    evil.close();
    victim.close();
}

/// webrtc-pc §6.1: `createDataChannel` throws `OperationError` when no channel can be had;
/// at the caps (open channels, name bytes) that is what it does, and closing (and, for the
/// bytes, forgetting) a channel makes room again.
#[tokio::test]
async fn create_data_channel_at_the_caps_is_an_operation_error_until_one_closes() {
    let _serial = SERIAL.lock().await;
    // Open-channel cap, before any negotiation.
    let p = pc();
    let max = DataChannelLimits::default().max_open;
    let all: Vec<DataChannel> = (0..max)
        .map(|i| p.create_data_channel(&format!("{i}"), None).unwrap())
        .collect();
    let e = p.create_data_channel("one too many", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    all[7].close();
    p.create_data_channel("room again", None).unwrap();
    assert_eq!(
        p.create_data_channel("full again", None)
            .unwrap_err()
            .kind(),
        ErrorKind::Operation
    );
    p.close();

    // Name-byte cap, on a connected pair (the peer accepts everything).
    let (local, peer) = (pc(), attacker());
    let control = local.create_data_channel("c", None).unwrap();
    let mut cev = control.events();
    negotiate(&local, &peer).await;
    assert_eq!(next(&mut cev).await, DataChannelEvent::Open);
    let big = "L".repeat(65535);
    let init = DataChannelInit {
        protocol: "P".repeat(65535),
        ..DataChannelInit::default()
    };
    let mut held = Vec::new();
    let e = loop {
        match local.create_data_channel(&big, Some(init.clone())) {
            Ok(dc) => held.push(dc),
            Err(e) => break e,
        }
        assert!(held.len() <= 64, "the byte cap holds");
        // One open at a time (128 KiB DCEP messages; the SCTP send buffer is 2 MB).
        until("the peer to accept the channel", || {
            peer.data_channel_usage().0 == held.len() + 1
        })
        .await;
    };
    assert_eq!(e.kind(), ErrorKind::Operation, "{e}");
    let cap = DataChannelLimits::default().max_label_bytes;
    assert_eq!(held.len(), (cap - 1) / (2 * 65535));
    // Closing a channel and dropping it gives its bytes back.
    let dc = held.pop().unwrap();
    let mut ev = dc.events();
    within("the channel to open", async {
        while next_not_low(&mut ev).await != DataChannelEvent::Open {}
    })
    .await;
    dc.close();
    within("the channel to close", async {
        while next_not_low(&mut ev).await != DataChannelEvent::Close {}
    })
    .await;
    drop((dc, ev));
    until("the closed channel's names to be forgotten", || {
        local.data_channel_usage().1 + 2 * 65535 <= cap
    })
    .await;
    local.create_data_channel(&big, Some(init)).unwrap();
    local.close();
    peer.close();
}

/// A subscriber that does not read loses events beyond its queue, but never silently: the
/// stream yields `EventsDropped(n)` where they are missing and counts them, while a
/// subscriber that reads gets them all (or, if it too falls behind, a count of the rest).
/// Here the victim's caps are raised so that the attacker's opens alone fill a queue.
#[tokio::test]
async fn an_event_stream_that_falls_behind_reports_what_it_lost() {
    let _serial = SERIAL.lock().await;
    const N: usize = 6000;
    let evil = attacker();
    let victim = pc_with(DataChannelLimits {
        max_open: 8192,
        ..DataChannelLimits::default()
    });
    let mut slow = victim.events();
    let mut fast = victim.events();
    let reader = tokio::spawn(async move {
        let (mut channels, mut all, mut markers) = (0u64, 0u64, 0u64);
        loop {
            match tokio::time::timeout(LIMIT, fast.recv()).await {
                Ok(Some(PeerConnectionEvent::EventsDropped(n))) => markers += n,
                Ok(Some(PeerConnectionEvent::DataChannel(_))) => {
                    channels += 1;
                    all += 1;
                    if channels + markers > N as u64 {
                        break;
                    }
                }
                Ok(Some(_)) => all += 1,
                Ok(None) | Err(_) => break,
            }
        }
        (channels, all, markers, fast.dropped_events())
    });
    let control = evil.create_data_channel("c", None).unwrap();
    let mut cev = control.events();
    negotiate(&evil, &victim).await;
    assert_eq!(next(&mut cev).await, DataChannelEvent::Open);
    let _opened: Vec<DataChannel> = (0..N)
        .map(|i| evil.create_data_channel(&format!("x{i}"), None).unwrap())
        .collect();
    until("every open to be accepted", || {
        victim.data_channel_usage().0 == N + 1
    })
    .await;
    let (fast_channels, fast_all, fast_markers, fast_dropped) =
        within("the fast reader", reader).await.unwrap();
    assert_eq!(fast_markers, fast_dropped);
    assert_eq!(
        fast_channels + fast_dropped,
        N as u64 + 1,
        "the reading subscriber got every `datachannel` event or a count of it"
    );
    // The slow subscriber: a full queue, then the marker of what did not fit.
    let (mut events, mut channels) = (0u64, 0u64);
    let mut markers = Vec::new();
    while let Some(e) = slow.try_recv() {
        match e {
            PeerConnectionEvent::EventsDropped(n) => markers.push(n),
            PeerConnectionEvent::DataChannel(_) => {
                channels += 1;
                events += 1;
            }
            _ => events += 1,
        }
    }
    assert_eq!(events, rtcpeer::EVENT_QUEUE as u64);
    assert_eq!(markers.len(), 1, "one marker for one run of losses");
    assert_eq!(markers[0], slow.dropped_events());
    assert!(channels + markers[0] > N as u64, "{channels} + {markers:?}");
    assert_eq!(
        events + markers[0],
        fast_all + fast_dropped,
        "both subscribers account for the same events"
    );
    evil.close();
    victim.close();
}
