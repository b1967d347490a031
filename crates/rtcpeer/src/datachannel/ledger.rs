//! What a connection keeps for its data channels, and the caps on it.
//!
//! RFC 8831 §6.2 lets a peer negotiate up to 65535 streams, and each DATA_CHANNEL_OPEN may
//! carry a label and a protocol of up to 65535 bytes each (RFC 8832 §5.1): bounded by the
//! stream count alone, one peer could make a connection keep 8 GiB of names. The
//! [`ChannelLedger`] counts the channels open at once and the label/protocol bytes kept, and
//! refuses what goes beyond its [`DataChannelLimits`].
//!
//! Accounting is by ownership: a channel's label and protocol are stored once, in a
//! [`ChannelNames`] shared by every holder (the signaling record, the channel manager, the
//! events that carry it), and its bytes leave the ledger when the last holder drops it; an
//! [`OpenSlot`] is held from the channel's creation until it is closed. Nothing has to
//! remember to give bytes or slots back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Caps on the data channels of one connection (non-standard knobs, like Pion's
/// SettingEngine; `Settings::data_channels` in the API).
///
/// At a cap, a peer's DATA_CHANNEL_OPEN is refused by resetting its stream (RFC 8831 §6.7,
/// RFC 6525 outgoing SSN reset) with no `datachannel` event, and `createDataChannel` fails
/// with `OperationError` (webrtc-pc §6.1: no stream id can be had).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannelLimits {
    /// Channels open at once (created or announced and not yet closed), opened by either
    /// side. Default 1024: libwebrtc (Chromium, Safari) and libdatachannel give data
    /// channels stream ids below 1024 (their `kMaxSctpStreams`), so a connection with them
    /// never has more open, and applications do not get near it; it bounds the per-channel
    /// state a peer can make us keep (about 3.3 KB per channel measured, plus the names
    /// counted by `max_label_bytes`).
    pub max_open: usize,
    /// Label plus protocol bytes kept for all the connection's channels, open or closed but
    /// still referenced. Default 4 MiB: thousands of ordinary channels, or 32 channels with
    /// both names at the 64 KiB maximum of RFC 8832 §5.1.
    pub max_label_bytes: usize,
}

impl Default for DataChannelLimits {
    fn default() -> Self {
        DataChannelLimits {
            max_open: 1024,
            max_label_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Which cap refused a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    /// [`DataChannelLimits::max_open`] channels are open.
    OpenChannels(usize),
    /// The names would take the kept bytes beyond [`DataChannelLimits::max_label_bytes`].
    LabelBytes(usize),
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitReached::OpenChannels(n) => write!(f, "{n} data channels are already open"),
            LimitReached::LabelBytes(n) => write!(
                f,
                "data channel labels and protocols would exceed {n} bytes for this connection"
            ),
        }
    }
}

impl std::error::Error for LimitReached {}

#[derive(Debug)]
struct Counts {
    limits: DataChannelLimits,
    open: AtomicUsize,
    label_bytes: AtomicUsize,
}

impl Counts {
    fn take_slot(&self) -> Result<(), LimitReached> {
        let max = self.limits.max_open;
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(drop)
            .map_err(|_| LimitReached::OpenChannels(max))
    }

    fn take_bytes(&self, len: usize) -> Result<(), LimitReached> {
        let max = self.limits.max_label_bytes;
        self.label_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                n.checked_add(len).filter(|&t| t <= max)
            })
            .map(drop)
            .map_err(|_| LimitReached::LabelBytes(max))
    }
}

/// The account of one connection's data channels (shared by its signaling core and its
/// channel manager; clones are the same account).
#[derive(Debug, Clone)]
pub struct ChannelLedger(Arc<Counts>);

impl Default for ChannelLedger {
    fn default() -> Self {
        ChannelLedger::new(DataChannelLimits::default())
    }
}

impl ChannelLedger {
    /// An empty account with these caps.
    pub fn new(limits: DataChannelLimits) -> Self {
        ChannelLedger(Arc::new(Counts {
            limits,
            open: AtomicUsize::new(0),
            label_bytes: AtomicUsize::new(0),
        }))
    }

    /// The caps.
    pub fn limits(&self) -> DataChannelLimits {
        self.0.limits
    }

    /// Channels open now (slots held).
    pub fn open_channels(&self) -> usize {
        self.0.open.load(Ordering::Acquire)
    }

    /// Label and protocol bytes kept now.
    pub fn label_bytes(&self) -> usize {
        self.0.label_bytes.load(Ordering::Acquire)
    }

    /// A slot and the names of a new channel, or which cap refuses it (checked before the
    /// names are copied, so a refusal allocates nothing).
    pub fn admit(
        &self,
        label: &str,
        protocol: &str,
    ) -> Result<(ChannelNames, OpenSlot), LimitReached> {
        let slot = self.slot()?;
        let names = self.names(label, protocol)?;
        Ok((names, slot))
    }

    /// A slot for a channel whose names are already kept.
    pub fn slot(&self) -> Result<OpenSlot, LimitReached> {
        self.0.take_slot()?;
        Ok(OpenSlot(self.0.clone()))
    }

    /// Keeps a label and a protocol, counted until the last holder drops them.
    pub fn names(&self, label: &str, protocol: &str) -> Result<ChannelNames, LimitReached> {
        let len = label.len() + protocol.len();
        self.0.take_bytes(len)?;
        Ok(ChannelNames::build(label, protocol, Some(self.0.clone())))
    }
}

/// One open channel's place in the [`ChannelLedger`]; dropping it frees the place.
pub struct OpenSlot(Arc<Counts>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for OpenSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenSlot")
    }
}

struct Names {
    /// Label then protocol, in one allocation.
    text: Box<str>,
    label_len: usize,
    account: Option<Arc<Counts>>,
}

impl Drop for Names {
    fn drop(&mut self) {
        if let Some(a) = &self.account {
            a.label_bytes.fetch_sub(self.text.len(), Ordering::AcqRel);
        }
    }
}

/// A channel's label and protocol (RFC 8832 §5.1), stored once and shared by every holder;
/// cloning is cheap.
#[derive(Clone)]
pub struct ChannelNames(Arc<Names>);

impl ChannelNames {
    /// Names counted by no ledger (for channels the application itself creates on a
    /// stand-alone [`ChannelTable`](super::ChannelTable)).
    pub fn new(label: &str, protocol: &str) -> Self {
        ChannelNames::build(label, protocol, None)
    }

    fn build(label: &str, protocol: &str, account: Option<Arc<Counts>>) -> Self {
        let mut text = String::with_capacity(label.len() + protocol.len());
        text.push_str(label);
        text.push_str(protocol);
        ChannelNames(Arc::new(Names {
            text: text.into_boxed_str(),
            label_len: label.len(),
            account,
        }))
    }

    /// The label.
    pub fn label(&self) -> &str {
        self.0.text.get(..self.0.label_len).unwrap_or_default()
    }

    /// The subprotocol.
    pub fn protocol(&self) -> &str {
        self.0.text.get(self.0.label_len..).unwrap_or_default()
    }

    /// Label plus protocol bytes.
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    /// Whether label and protocol are both empty.
    pub fn is_empty(&self) -> bool {
        self.0.text.is_empty()
    }

    /// Whether two handles share one storage (the names are kept once).
    pub fn same_storage(&self, other: &ChannelNames) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for ChannelNames {
    fn default() -> Self {
        ChannelNames::new("", "")
    }
}

impl PartialEq for ChannelNames {
    fn eq(&self, other: &Self) -> bool {
        self.0.label_len == other.0.label_len && self.0.text == other.0.text
    }
}

impl Eq for ChannelNames {}

impl fmt::Debug for ChannelNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Enough of a name to recognise it in a log; a 64 KiB label is not printed whole.
        fn short(s: &str) -> &str {
            let mut end = s.len().min(64);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        }
        f.debug_struct("ChannelNames")
            .field("label", &short(self.label()))
            .field("protocol", &short(self.protocol()))
            .field("bytes", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_counted_until_the_last_holder_drops_them() {
        let l = ChannelLedger::new(DataChannelLimits {
            max_open: 2,
            max_label_bytes: 10,
        });
        let (a, slot_a) = l.admit("abc", "de").unwrap();
        let a2 = a.clone();
        assert!(a.same_storage(&a2));
        assert_eq!((a.label(), a.protocol()), ("abc", "de"));
        assert_eq!((l.open_channels(), l.label_bytes()), (1, 5));
        assert_eq!(
            l.admit("123456", "").unwrap_err(),
            LimitReached::LabelBytes(10)
        );
        assert_eq!(l.label_bytes(), 5, "a refusal keeps nothing");
        let (_b, slot_b) = l.admit("12345", "").unwrap();
        assert_eq!(l.admit("", "").unwrap_err(), LimitReached::OpenChannels(2));
        drop(slot_a);
        assert_eq!(l.open_channels(), 1);
        drop(a);
        assert_eq!(l.label_bytes(), 10, "a clone still holds the names");
        drop(a2);
        assert_eq!(l.label_bytes(), 5);
        drop(slot_b);
        assert_eq!(l.open_channels(), 0);
    }

    #[test]
    fn debug_output_of_a_huge_label_is_short() {
        let n = ChannelNames::new(&"é".repeat(40_000), "p");
        assert!(format!("{n:?}").len() < 200);
        assert_eq!(n.len(), 80_001);
    }
}
