//! Reserved: the W3C statistics model (webrtc-stats: `RTCStatsReport` with transport,
//! candidate-pair, data-channel and RTP stream stats), read from the session's engines
//! without locks. Issue 14 fills it.
