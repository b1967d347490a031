//! The telephone-event payload (RFC 4733 §2.3): event code, end bit, volume and duration.

use crate::error::{Error, Result};

/// Bytes of one event in a payload (RFC 4733 §2.3, Figure 1).
pub const EVENT_PAYLOAD_LEN: usize = 4;

/// One telephone event (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (RFC 4733 §3.2: 0–9 digits, 10 `*`, 11 `#`, 12–15 A–D).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first event of a payload (RFC 4733 §2.3; a payload may carry more, for
    /// redundancy, and they are ignored here). The R bit is ignored as §2.3.4 says.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(Error::operation("telephone-event payload shorter than 4 bytes"));
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4 bytes of this event.
    pub fn to_bytes(self) -> [u8; EVENT_PAYLOAD_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// The RFC 4733 §3.2 event code of a DTMF tone character (`0-9`, `*`, `#`, `A-D`,
/// case-insensitive).
pub fn event_code(tone: char) -> Option<u8> {
    match tone.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// The tone character of a DTMF event code (the inverse of [`event_code`]).
pub fn tone_of(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc4733_table() {
        let tones = "0123456789*#ABCD";
        for (i, t) in tones.chars().enumerate() {
            assert_eq!(event_code(t), Some(i as u8));
            assert_eq!(tone_of(i as u8), Some(t));
        }
        assert_eq!(event_code('b'), Some(13));
        assert_eq!(event_code(','), None);
        assert_eq!(event_code('E'), None);
        assert_eq!(tone_of(16), None);
    }

    #[test]
    fn payload_round_trips_and_matches_the_rfc_layout() {
        // RFC 4733 §2.3: event 5, E set, volume 10, duration 800 (100 ms at 8 kHz).
        let e = TelephoneEvent {
            event: 5,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(e.to_bytes(), [0x05, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).unwrap(), e);
        // The R bit (0x40) is ignored; trailing redundant events too.
        let p = TelephoneEvent::parse(&[11, 0x40 | 7, 0, 160, 9, 9, 9, 9]).unwrap();
        assert_eq!((p.event, p.end, p.volume, p.duration), (11, false, 7, 160));
        for n in 0..4 {
            assert!(TelephoneEvent::parse(&[0u8; 4][..n]).is_err());
        }
    }
}
