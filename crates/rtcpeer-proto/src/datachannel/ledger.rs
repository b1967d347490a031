//! What a connection keeps for its data channels, and the caps on it.
//!
//! RFC 8831 §6.2 lets a peer negotiate up to 65535 streams, and each DATA_CHANNEL_OPEN may
//! carry a label and a protocol of up to 65535 bytes each (RFC 8832 §5.1): bounded by the
//! stream count alone, one peer could make a connection keep 8 GiB of names. The
//! connection's [`ChannelTable`](super::ChannelTable), the one holder of every channel's
//! record, counts the channels open at once (from creation until closed) and the
//! label/protocol bytes of the records it keeps (until forgotten), and refuses what goes
//! beyond its [`DataChannelLimits`].

use std::fmt;
use std::sync::Arc;

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

struct Names {
    /// Label then protocol, in one allocation.
    text: Box<str>,
    label_len: usize,
}

/// A channel's label and protocol (RFC 8832 §5.1), stored once in one allocation; cloning
/// is cheap.
#[derive(Clone)]
pub struct ChannelNames(Arc<Names>);

impl ChannelNames {
    /// A label and a protocol.
    pub fn new(label: &str, protocol: &str) -> Self {
        let mut text = String::with_capacity(label.len() + protocol.len());
        text.push_str(label);
        text.push_str(protocol);
        ChannelNames(Arc::new(Names {
            text: text.into_boxed_str(),
            label_len: label.len(),
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
    fn names_are_kept_once_and_read_back() {
        let a = ChannelNames::new("abc", "de");
        let a2 = a.clone();
        assert!(a.same_storage(&a2));
        assert_eq!((a.label(), a.protocol(), a.len()), ("abc", "de", 5));
        assert_eq!(a, ChannelNames::new("abc", "de"));
        assert_ne!(
            a,
            ChannelNames::new("ab", "cde"),
            "the split is part of the names"
        );
        assert!(ChannelNames::default().is_empty());
    }

    #[test]
    fn debug_output_of_a_huge_label_is_short() {
        let n = ChannelNames::new(&"é".repeat(40_000), "p");
        assert!(format!("{n:?}").len() < 200);
        assert_eq!(n.len(), 80_001);
    }
}
