//! `RTCDTMFSender` (webrtc-pc §7.2) on the caller's clock: `insertDTMF`'s validation and
//! clamps, the tone buffer, the playout task (a tone every duration + gap, a comma as a
//! 2-second pause, `tonechange` for each and an empty one at the end) and the RFC 4733
//! packets of each tone: an update every [`PACKET_INTERVAL`], the first with the marker
//! bit, the end packet three times (§2.5.1.2–§2.5.1.4), long tones split into segments
//! of at most 0xFFFF timestamp units (§2.5.1.3).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::event::{TelephoneEvent, event_code};
use crate::error::{Error, ErrorKind, Result};

/// `insertDTMF`'s default tone duration (webrtc-pc §7.2).
pub const DEFAULT_DURATION: Duration = Duration::from_millis(100);
/// `insertDTMF`'s default gap between tones.
pub const DEFAULT_GAP: Duration = Duration::from_millis(70);
/// Shortest tone: shorter durations are raised to it.
pub const MIN_DURATION: Duration = Duration::from_millis(40);
/// Longest tone: longer durations are lowered to it.
pub const MAX_DURATION: Duration = Duration::from_millis(6000);
/// Shortest gap: shorter gaps are raised to it.
pub const MIN_GAP: Duration = Duration::from_millis(30);
/// The pause a `,` in the tone buffer makes.
pub const COMMA_DELAY: Duration = Duration::from_millis(2000);
/// Time between two packets of one event (RFC 4733 §2.5.1.2 recommends 50 ms).
pub const PACKET_INTERVAL: Duration = Duration::from_millis(50);
/// Power level of our tones, in −dBm0 (what libwebrtc sends).
const VOLUME: u8 = 10;
/// Times the end packet of an event is sent (RFC 4733 §2.5.1.4).
const END_REPEATS: u8 = 3;

/// A `tonechange` event (webrtc-pc §7.3): the tone that started (`""` once the buffer has
/// played out), and the tone buffer as it was right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToneChange {
    /// The tone (one of `0-9A-D#*,`), or empty at the end.
    pub tone: String,
    /// `toneBuffer` when the event fired.
    pub tone_buffer: String,
}

/// One telephone-event RTP packet to send on the sender's SSRC with the telephone-event
/// payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// When the tone started: the packet's RTP timestamp is the stream's timestamp at this
    /// instant plus `timestamp_offset`.
    pub tone_start: Instant,
    /// Units added to the start's timestamp (non-zero for later segments of a long tone).
    pub timestamp_offset: u32,
    /// The 4-byte payload (RFC 4733 §2.3).
    pub payload: [u8; 4],
    /// The RTP marker bit (first packet of the event, §2.5.1.2).
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
struct Playing {
    code: u8,
    start: Instant,
    /// Total duration in timestamp units.
    total: u64,
    /// Start of the current segment, in units after `start`.
    segment: u64,
    /// Time of the next update packet.
    next_at: Instant,
    marker_sent: bool,
    ends_sent: u8,
}

/// The DTMF sender of one audio `RTCRtpSender` (webrtc-pc §7).
#[derive(Debug, Clone)]
pub struct DtmfSender {
    clock_rate: u32,
    tone_buffer: String,
    duration: Duration,
    gap: Duration,
    /// When the playout task runs next; `None` while no task is queued.
    task_at: Option<Instant>,
    playing: Option<Playing>,
    events: VecDeque<ToneChange>,
}

impl DtmfSender {
    /// A sender whose telephone-event payload type runs at `clock_rate` Hz (8000 unless
    /// negotiated otherwise, RFC 4733 §2.1; 0 is read as 8000).
    pub fn new(clock_rate: u32) -> Self {
        DtmfSender {
            clock_rate: if clock_rate == 0 { 8000 } else { clock_rate },
            tone_buffer: String::new(),
            duration: DEFAULT_DURATION,
            gap: DEFAULT_GAP,
            task_at: None,
            playing: None,
            events: VecDeque::new(),
        }
    }

    /// The negotiated telephone-event clock rate changed.
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        if clock_rate != 0 {
            self.clock_rate = clock_rate;
        }
    }

    /// `insertDTMF(tones, duration, interToneGap)` at `now` (webrtc-pc §7.2): `can_insert`
    /// is false when the transceiver is stopped or its currentDirection is "recvonly" or
    /// "inactive" (`InvalidStateError`). Unknown characters give `InvalidCharacterError`;
    /// the duration is clamped to 40–6000 ms and the gap raised to at least 30 ms. The new
    /// tones replace the buffer; a running playout task carries on with them.
    pub fn insert_dtmf(
        &mut self,
        now: Instant,
        tones: &str,
        duration: Duration,
        gap: Duration,
        can_insert: bool,
    ) -> Result<()> {
        if !can_insert {
            return Err(Error::invalid_state(
                "the sender's transceiver is stopped, or it cannot send",
            ));
        }
        let tones = tones.to_ascii_uppercase();
        if let Some(c) = tones.chars().find(|&c| c != ',' && event_code(c).is_none()) {
            return Err(Error::new(
                ErrorKind::InvalidCharacter,
                format!("{c:?} is not a DTMF tone"),
            ));
        }
        self.tone_buffer = tones;
        self.duration = duration.clamp(MIN_DURATION, MAX_DURATION);
        self.gap = gap.max(MIN_GAP);
        if !self.tone_buffer.is_empty() && self.task_at.is_none() {
            self.task_at = Some(now);
            self.run_tasks(now);
        }
        Ok(())
    }

    /// `toneBuffer`: the tones not played yet.
    pub fn tone_buffer(&self) -> &str {
        &self.tone_buffer
    }

    /// The transceiver stopped or the sender lost its track: the buffer empties and the
    /// playout task ends without further events (webrtc-pc §7.2 playout step 1).
    pub fn stop(&mut self) {
        self.tone_buffer.clear();
        self.task_at = None;
        self.playing = None;
    }

    /// When [`DtmfSender::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let packet = self.playing.map(|p| p.next_at);
        match (self.task_at, packet) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the playout task if it is due at `now` (the packets are taken with
    /// [`DtmfSender::poll_packet`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_tasks(now);
    }

    fn run_tasks(&mut self, now: Instant) {
        // Several tasks may be due when the caller was late; each starts at its own time.
        while let Some(at) = self.task_at.filter(|t| *t <= now) {
            if self.tone_buffer.is_empty() {
                self.task_at = None;
                self.events.push_back(ToneChange {
                    tone: String::new(),
                    tone_buffer: String::new(),
                });
                return;
            }
            let tone = self.tone_buffer.remove(0);
            match event_code(tone) {
                None => self.task_at = Some(at + COMMA_DELAY),
                Some(code) => {
                    let total = self.units(self.duration);
                    self.playing = Some(Playing {
                        code,
                        start: at,
                        total,
                        segment: 0,
                        next_at: at + PACKET_INTERVAL.min(self.duration),
                        marker_sent: false,
                        ends_sent: 0,
                    });
                    self.task_at = Some(at + self.duration + self.gap);
                }
            }
            self.events.push_back(ToneChange {
                tone: tone.to_string(),
                tone_buffer: self.tone_buffer.clone(),
            });
        }
    }

    fn units(&self, d: Duration) -> u64 {
        (d.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u64
    }

    /// The next event packet due at `now`, if any.
    pub fn poll_packet(&mut self, now: Instant) -> Option<DtmfPacket> {
        let mut p = self.playing?;
        if p.next_at > now {
            return None;
        }
        let elapsed = self.units(p.next_at.saturating_duration_since(p.start)).min(p.total);
        // Long tones: a new segment every 0xFFFF units (RFC 4733 §2.5.1.3).
        while elapsed - p.segment > u64::from(u16::MAX) {
            p.segment += u64::from(u16::MAX);
        }
        let end = elapsed >= p.total;
        let event = TelephoneEvent {
            event: p.code,
            end,
            volume: VOLUME,
            duration: (elapsed - p.segment) as u16,
        };
        let packet = DtmfPacket {
            tone_start: p.start,
            timestamp_offset: p.segment as u32,
            payload: event.to_bytes(),
            marker: !p.marker_sent,
        };
        p.marker_sent = true;
        if end {
            p.ends_sent += 1;
            if p.ends_sent >= END_REPEATS {
                self.playing = None;
                return Some(packet);
            }
        } else {
            let end_at = p.start + self.duration_of(p.total);
            p.next_at = (p.next_at + PACKET_INTERVAL).min(end_at);
        }
        self.playing = Some(p);
        Some(packet)
    }

    fn duration_of(&self, units: u64) -> Duration {
        Duration::from_nanos(units * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// The next `tonechange` event, in order.
    pub fn poll_event(&mut self) -> Option<ToneChange> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Items with the millisecond (after the start) they came out at.
    type Timed<T> = Vec<(u64, T)>;

    /// Runs the sender from `t0` to `until` in 1 ms steps: the events with their times and
    /// the packets with their times.
    fn run(
        s: &mut DtmfSender,
        t0: Instant,
        until: Duration,
    ) -> (Timed<ToneChange>, Timed<DtmfPacket>) {
        let (mut events, mut packets) = (Vec::new(), Vec::new());
        let mut now = t0;
        while now <= t0 + until {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
            while let Some(p) = s.poll_packet(now) {
                packets.push(((now - t0).as_millis() as u64, p));
            }
            while let Some(e) = s.poll_event() {
                events.push(((now - t0).as_millis() as u64, e));
            }
            now += ms(1);
        }
        (events, packets)
    }

    #[test]
    fn wpt_347_tonechange_timing_with_defaults() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "123", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap();
        assert_eq!(s.tone_buffer(), "23");
        let (events, _) = run(&mut s, t0, ms(1000));
        let got: Vec<(u64, &str, &str)> = events
            .iter()
            .map(|(t, e)| (*t, e.tone.as_str(), e.tone_buffer.as_str()))
            .collect();
        assert_eq!(
            got,
            [(0, "1", "23"), (170, "2", "3"), (340, "3", ""), (510, "", "")]
        );
        assert_eq!(s.poll_timeout(), None, "the playout task ended");
    }

    #[test]
    fn wpt_348_empty_tones_fire_nothing() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap();
        let (events, packets) = run(&mut s, t0, ms(500));
        assert!(events.is_empty() && packets.is_empty());
    }

    #[test]
    fn wpt_345_validation_and_clamps() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        let e = s.insert_dtmf(t0, "1", DEFAULT_DURATION, DEFAULT_GAP, false).unwrap_err();
        assert_eq!(e.name(), "InvalidStateError");
        let e = s.insert_dtmf(t0, "12e", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap_err();
        assert_eq!(e.name(), "InvalidCharacterError");
        assert_eq!(s.tone_buffer(), "", "a rejected call changes nothing");
        // Lowercase becomes uppercase; 10 ms -> 40 ms, gap 0 -> 30 ms.
        s.insert_dtmf(t0, "a,b", ms(10), ms(0), true).unwrap();
        assert_eq!(s.tone_buffer(), ",B");
        let (events, _) = run(&mut s, t0, ms(3000));
        let times: Vec<(u64, &str)> = events.iter().map(|(t, e)| (*t, e.tone.as_str())).collect();
        // A at 0, the comma after 40 + 30, B two seconds later, the end after B's 70 ms.
        assert_eq!(times, [(0, "A"), (70, ","), (2070, "B"), (2140, "")]);
        // Durations above 6 s are lowered to 6 s.
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "1", ms(60_000), ms(0), true).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + PACKET_INTERVAL));
        let (events, _) = run(&mut s, t0, ms(7000));
        assert_eq!(events[1].0, 6030);
    }

    #[test]
    fn insert_during_playout_replaces_the_buffer() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "12", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap();
        s.insert_dtmf(t0 + ms(50), "9", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap();
        let (events, _) = run(&mut s, t0 + ms(50), ms(600));
        let tones: Vec<&str> = events.iter().map(|(_, e)| e.tone.as_str()).collect();
        assert_eq!(tones, ["1", "9", ""]);
    }

    #[test]
    fn packets_follow_rfc4733() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "#", ms(120), ms(70), true).unwrap();
        let (_, packets) = run(&mut s, t0, ms(300));
        let got: Vec<(u64, TelephoneEvent, bool)> = packets
            .iter()
            .map(|(t, p)| (*t, TelephoneEvent::parse(&p.payload).unwrap(), p.marker))
            .collect();
        let ev = |end, duration| TelephoneEvent {
            event: 11,
            end,
            volume: 10,
            duration,
        };
        assert_eq!(
            got,
            [
                (50, ev(false, 400), true),
                (100, ev(false, 800), false),
                (120, ev(true, 960), false),
                (120, ev(true, 960), false),
                (120, ev(true, 960), false),
            ]
        );
        assert!(packets.iter().all(|(_, p)| p.tone_start == t0 && p.timestamp_offset == 0));
    }

    #[test]
    fn long_tones_at_48_khz_are_segmented() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(48_000);
        s.insert_dtmf(t0, "5", ms(6000), ms(30), true).unwrap();
        let (_, packets) = run(&mut s, t0, ms(6100));
        // 6 s at 48 kHz = 288000 units: segments start every 65535 units.
        let offsets: Vec<u32> = packets.iter().map(|(_, p)| p.timestamp_offset).collect();
        assert_eq!(*offsets.first().unwrap(), 0);
        assert_eq!(*offsets.last().unwrap(), 4 * 65_535);
        let last = TelephoneEvent::parse(&packets.last().unwrap().1.payload).unwrap();
        assert!(last.end);
        assert_eq!(u64::from(last.duration) + 4 * 65_535, 288_000);
        for (_, p) in &packets {
            let e = TelephoneEvent::parse(&p.payload).unwrap();
            assert!(e.duration > 0);
        }
        assert_eq!(packets.iter().filter(|(_, p)| p.marker).count(), 1);
    }

    #[test]
    fn stop_ends_playout_silently() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000);
        s.insert_dtmf(t0, "123", DEFAULT_DURATION, DEFAULT_GAP, true).unwrap();
        assert_eq!(s.poll_event().unwrap().tone, "1");
        s.stop();
        assert_eq!(s.tone_buffer(), "");
        let (events, packets) = run(&mut s, t0, ms(1000));
        assert!(events.is_empty() && packets.is_empty());
    }
}
