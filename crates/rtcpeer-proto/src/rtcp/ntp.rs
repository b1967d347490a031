//! NTP timestamps as RTCP uses them (RFC 3550 §4): 64-bit NTP time from wall-clock time
//! (given by the caller, the core reads no clock), the compact middle 32 bits used by LSR,
//! DLSR, LRR and DLRR (RFC 3550 §6.4.1, RFC 3611 §4.5), and the round-trip time they give.

use std::time::Duration;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The 64-bit NTP timestamp (32.32 fixed-point seconds since 1900, RFC 3550 §4) of a time
/// given as the duration since the Unix epoch. Wraps in 2036 as NTP era 0 does.
pub fn ntp_from_unix(since_unix_epoch: Duration) -> u64 {
    let secs = since_unix_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
    let frac = (u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The duration since the Unix epoch of an NTP timestamp of era 0, `None` before 1970.
pub fn ntp_to_unix(ntp: u64) -> Option<Duration> {
    let secs = (ntp >> 32).checked_sub(NTP_UNIX_OFFSET_SECS)?;
    let nanos = ((ntp & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
    Some(Duration::new(secs, nanos as u32))
}

/// The middle 32 bits of an NTP timestamp (16.16 seconds): LSR and LRR (RFC 3550 §6.4.1).
pub fn compact_ntp(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A delay in 1/65536 s units (DLSR, DLRR; RFC 3550 §6.4.1), saturating at `u32::MAX`.
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = (d.as_nanos() << 16) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A compact (16.16 seconds) value as a duration.
pub fn compact_to_duration(c: u32) -> Duration {
    let nanos = (u64::from(c) * 1_000_000_000) >> 16;
    Duration::from_nanos(nanos)
}

/// The round-trip time from a report block (RFC 3550 §6.4.1): arrival time A (compact NTP
/// of when the report came in) − LSR − DLSR, in compact units. `None` when LSR is 0 (no SR
/// received yet) or when the result would be negative (clock or report inconsistency).
pub fn round_trip_time(arrival_compact: u32, last_sr: u32, delay_since_last_sr: u32) -> Option<u32> {
    if last_sr == 0 {
        return None;
    }
    let rtt = arrival_compact
        .wrapping_sub(last_sr)
        .wrapping_sub(delay_since_last_sr);
    // More than half the 16.16 range (~9 h) means it went below zero.
    (rtt < 0x8000_0000).then_some(rtt)
}
