//! `getStats()` (webrtc-pc §8.2): the W3C statistics of a connection, a sender or a
//! receiver, read from the core under its lock (a copy of counters) and handed out as a
//! [`StatsReport`] (webrtc-stats).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rtcpeer_proto::stats::{StatsReport, StatsSelector, StatsTime};
use rtcpeer_proto::{Error, Result};

use super::{Inner, PeerConnection};
use crate::track::MediaStreamTrack;

/// Reads the report of `selector` from the connection's core.
pub(crate) fn report(pc: &Arc<Inner>, selector: StatsSelector) -> StatsReport {
    let unix_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let time = StatsTime {
        now: Instant::now(),
        unix_ms,
    };
    pc.core().stats(time, selector)
}

impl PeerConnection {
    /// `getStats(selector)` (webrtc-pc §8.2): every stats object of the connection, or with
    /// a track, the RTP stream stats of the one sender or receiver that has it and what they
    /// reference (§8.5). A track that no sender or receiver of the connection has, or that
    /// more than one sender has, gives `InvalidAccessError`.
    pub async fn get_stats(&self, selector: Option<&MediaStreamTrack>) -> Result<StatsReport> {
        let Some(track) = selector else {
            return Ok(report(&self.inner, StatsSelector::All));
        };
        let mut found = Vec::new();
        for t in self.get_transceivers() {
            if t.sender().track().as_ref() == Some(track) {
                found.push(StatsSelector::Sender(t.sender().transceiver_id()));
            }
            if t.receiver().track() == *track {
                found.push(StatsSelector::Receiver(t.sender().transceiver_id()));
            }
        }
        match found.as_slice() {
            [one] => Ok(report(&self.inner, *one)),
            [] => Err(Error::invalid_access(
                "getStats: the track belongs to no sender or receiver of this connection",
            )),
            _ => Err(Error::invalid_access(
                "getStats: more than one sender or receiver has the track",
            )),
        }
    }
}
