//! DTMF over RTP: the telephone-event payload of RFC 4733 (§2.3) and the W3C
//! `RTCDTMFSender` (webrtc-pc §7) as sans-IO state machines. [`DtmfSender`] validates
//! `insertDTMF`, keeps the tone buffer, runs the playout task on the caller's clock and
//! yields the event packets and `tonechange` events; [`DtmfReceiver`] turns received event
//! packets into tones, once each despite the retransmitted end packets.

mod event;
mod receiver;
mod sender;

pub use event::{EVENT_PAYLOAD_LEN, TelephoneEvent, event_code, tone_of};
pub use receiver::{DtmfReceiver, ReceivedTone};
pub use sender::{
    COMMA_DELAY, DEFAULT_DURATION, DEFAULT_GAP, DtmfPacket, DtmfSender, MAX_DURATION,
    MIN_DURATION, MIN_GAP, PACKET_INTERVAL, ToneChange,
};
