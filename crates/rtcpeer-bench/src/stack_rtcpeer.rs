//! rtcpeer driven through the scenarios of [`crate::pair`].
//!
//! rtcpeer's `PeerConnection` does ICE only so far: DTLS, SCTP and data channels exist as
//! sans-IO engines but are not wired into it yet, so a data channel cannot open and every
//! data-channel scenario reports "pending" for rtcpeer. (The `sctp` scenario measures the
//! SCTP engine alone.)

use crate::pair::{Hold, Report, Work};

/// Runs one pair doing `work`; not possible until data channels are wired (see module doc).
pub async fn run_pair(_work: Work, _hold: Option<Hold>) -> Result<Report, String> {
    Err("pending: rtcpeer's PeerConnection has no data channel transport yet".into())
}
