//! Received telephone events (RFC 4733 §2.5.2): a new RTP timestamp starts a new event; the
//! end packet, sent three times, ends it once.

use super::event::{TelephoneEvent, tone_of};

/// A tone seen in received event packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedTone {
    /// The tone character (`0-9`, `*`, `#`, `A-D`), or `None` for a non-DTMF event code.
    pub tone: Option<char>,
    /// The event code (RFC 4733 §3.2).
    pub event: u8,
    /// The RTP timestamp of the event's start.
    pub timestamp: u32,
    /// Its duration in RTP units once it ended, `None` when it just started.
    pub ended: Option<u16>,
    /// The power level in −dBm0.
    pub volume: u8,
}

/// The receiver state for one stream's telephone events: constant size.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    /// Timestamp of the current event, and whether its end was reported.
    current: Option<(u32, bool)>,
}

impl DtmfReceiver {
    /// A receiver that has seen no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// An event packet with RTP timestamp `timestamp` and `payload` arrived (after
    /// reordering by sequence number): the tone that starts or ends with it, if any.
    /// Updates and retransmissions of a known event give nothing.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<ReceivedTone> {
        let e = TelephoneEvent::parse(payload).ok()?;
        let tone = ReceivedTone {
            tone: tone_of(e.event),
            event: e.event,
            timestamp,
            ended: e.end.then_some(e.duration),
            volume: e.volume,
        };
        match self.current {
            Some((ts, ended)) if ts == timestamp => {
                if e.end && !ended {
                    self.current = Some((ts, true));
                    return Some(tone);
                }
                None
            }
            _ => {
                // A new event; if its start was lost, its first packet may already end it.
                self.current = Some((timestamp, e.end));
                Some(tone)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn start_and_end_are_reported_once_each() {
        let mut r = DtmfReceiver::new();
        let start = r.on_packet(1000, &pkt(1, false, 400)).unwrap();
        assert_eq!((start.tone, start.ended), (Some('1'), None));
        assert_eq!(r.on_packet(1000, &pkt(1, false, 800)), None);
        let end = r.on_packet(1000, &pkt(1, true, 800)).unwrap();
        assert_eq!(end.ended, Some(800));
        // The two retransmissions of the end packet (RFC 4733 §2.5.1.4).
        assert_eq!(r.on_packet(1000, &pkt(1, true, 800)), None);
        assert_eq!(r.on_packet(1000, &pkt(1, true, 800)), None);
        // The next event, whose first packets were lost: reported as started and ended.
        let next = r.on_packet(3000, &pkt(11, true, 800)).unwrap();
        assert_eq!((next.tone, next.ended, next.timestamp), (Some('#'), Some(800), 3000));
        assert_eq!(r.on_packet(3000, &pkt(11, true, 800)), None);
        // Garbage is ignored.
        assert_eq!(r.on_packet(5000, &[1, 2]), None);
        let other = r.on_packet(7000, &pkt(40, false, 0)).unwrap();
        assert_eq!(other.tone, None);
    }
}
