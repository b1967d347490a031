//! Transport (the session half of the connection): where a datagram goes once the
//! connection's input method (`connection/io.rs`) hands it over. The ICE agent and the W3C
//! ICE states (`ice.rs`), the RFC 7983 classifier and its counters (`demux.rs`), DTLS, SCTP
//! and the data path (`data.rs`), the data-channel table and stream ids (`channels.rs`), the
//! named timers (`timers.rs`) and the transmit scheduler (`scheduler.rs`) — RFC 8445,
//! RFC 7983, RFC 8261, RFC 8831/8832, webrtc-pc §5.5–§6. These are `impl Session` blocks over
//! [`Session`]'s fields; the session reads its parameters from the negotiator's `Negotiated`
//! values and never from a description.

pub(crate) mod channels;
pub(crate) mod data;
pub(crate) mod demux;
pub(crate) mod ice;
pub(crate) mod media;
pub(crate) mod rtcp_component;
pub(crate) mod scheduler;
pub(crate) mod timers;
pub(crate) mod transports;

use crate::cert::Certificate;
use crate::config::{Configuration, IceServer, IceTransportPolicy};
use crate::connection::{CoreEvent, CoreSettings, DtlsRole, MAX_EVENTS};
use crate::sdp::Candidate;
use crate::util::RandomSource;

use channels::{ChannelTable, SctpTransport};

/// What the session reads of the configuration (webrtc-pc §4.4.1.3): its own copy, updated
/// by the connection's `setConfiguration`.
#[derive(Debug, Clone)]
pub(crate) struct IceConfig {
    /// `iceServers` (STUN servers of the agent).
    pub(crate) ice_servers: Vec<IceServer>,
    /// `iceTransportPolicy`.
    pub(crate) ice_transport_policy: IceTransportPolicy,
    /// `iceCandidatePoolSize`.
    pub(crate) ice_candidate_pool_size: u8,
}

impl From<&Configuration> for IceConfig {
    fn from(c: &Configuration) -> Self {
        IceConfig {
            ice_servers: c.ice_servers.clone(),
            ice_transport_policy: c.ice_transport_policy,
            ice_candidate_pool_size: c.ice_candidate_pool_size,
        }
    }
}

/// What the session hands to the connection, in firing order: events, and the gathered
/// candidates and selected pairs that the connection joins with the negotiator's
/// descriptions (`localDescription`, the W3C candidate views, `connection/ice_view.rs`).
#[derive(Debug)]
pub(crate) enum SessionOut {
    /// An event, as is.
    Event(CoreEvent),
    /// A gathered candidate (`None`: end-of-candidates) of generation `ufrag`, written into
    /// the local descriptions (RFC 8840 §4.2); `announce`: its `icecandidate` fires.
    LocalCandidate {
        ufrag: String,
        candidate: Option<Candidate>,
        announce: bool,
    },
    /// `icecandidate` for candidate text `candidate` of the current generation, not written
    /// (the per-transport end marker, or a candidate beyond the cap).
    Announce(String),
    /// The agent selected this pair: the connection shows it as signalled
    /// (`selectedcandidatepairchange`).
    SelectedPair { local: Candidate, remote: Candidate },
    /// A gathered candidate (`None`: end-of-candidates) of a transport beyond the primary
    /// one, written into its tag section `mid` (RFC 8840 §4.2); its `icecandidate` fires.
    TransportCandidate {
        mid: String,
        ufrag: String,
        candidate: Option<Candidate>,
    },
    /// The agent of transport `.0` (beyond the primary one) selected a pair: the connection
    /// shows it as signalled (its `selectedcandidatepairchange`).
    TransportSelectedPair(ice::IceTransportId),
    /// The remote candidates changed: a peer-reflexive selected remote may now be signalled.
    RefreshSelectedRemote,
    /// Media arrived for transceiver `.0`'s receiver, for the first time since it was
    /// (re)negotiated to receive: its track unmutes (webrtc-pc §5.3 "receiving media").
    MediaArrived(crate::negotiator::transceiver::TransceiverId),
}

/// The session half of a connection (the transports): ICE, DTLS (and the SRTP keys), SCTP,
/// the data-channel table, the named timers and the transmit scheduler (RFC 8445, RFC 7983,
/// RFC 8261, RFC 8831). It reads no description: what a description means for it comes as
/// a `Negotiated` value, and what it has for the descriptions leaves through its outbox.
pub struct Session {
    /// Its copy of the ICE part of the configuration.
    pub(crate) config: IceConfig,
    /// Its copy of the core settings (DTLS timers).
    pub(crate) settings: CoreSettings,
    /// The DTLS certificate (an immutable `Arc`, shared with the negotiator).
    pub(crate) certificate: Certificate,
    /// Its own random source (agent fallback seed, SCTP initial TSN/tag).
    pub(crate) rng: Box<dyn RandomSource>,
    /// The negotiated DTLS role (from `Negotiated.dtls`).
    pub(crate) dtls_role: Option<DtlsRole>,
    /// The SCTP transport while the session has a data section (from `Negotiated.sctp`).
    pub(crate) sctp: Option<SctpTransport>,
    /// The data channels: one record each, keyed by [`crate::connection::DataChannelId`];
    /// a closed one goes once no handle is left, so channel churn does not grow memory.
    pub(crate) channels: ChannelTable,
    /// The ICE agent and the W3C ICE/connection states (`session/ice.rs`).
    pub(crate) ice: ice::IceState,
    /// DTLS, SCTP and the data channels' transport (`session/data.rs`).
    pub(crate) data: data::DataPath,
    /// The RTP session: the negotiated m-sections, their streams, SRTP, routing and
    /// feedback state (`session/media.rs`).
    pub(crate) media: media::MediaState,
    /// The transports beyond the primary one (`ice`, `data`, `media`): one per further
    /// BUNDLE group or unbundled m-section (`session/transports.rs`, RFC 8843 §7).
    pub(crate) extra: Vec<transports::ExtraTransport>,
    /// The primary transport's RTCP component while RTCP may not be multiplexed
    /// (`rtcpMuxPolicy` "negotiate", `session/rtcp_component.rs`).
    pub(crate) rtcp: Option<rtcp_component::RtcpComponent>,
    /// The sockets the driver is binding: `Some(None)` for the primary transport's ICE
    /// restart, `Some(Some(id))` for further transport `id`'s own sockets.
    pub(crate) binding: Option<Option<ice::IceTransportId>>,
    /// Named timers: deferred work, the latest time seen, why the last wake-up was due.
    pub(crate) timers: timers::Timers,
    /// What leaves next (the order, and what `close()` left to send).
    pub(crate) scheduler: scheduler::Scheduler,
    /// `close()` was called (the session's own flag).
    closed: bool,
    /// What the connection moves into its queue after every call, in order.
    outbox: Vec<SessionOut>,
    /// Outputs dropped because `outbox` was full (reported by the connection as dropped
    /// events).
    outbox_dropped: u64,
    /// What the stats keep between reports: the last timestamp (so timestamps never go
    /// back) and the certificate entries (hashed and encoded once) (`stats/`).
    pub(crate) stats_cache: crate::stats::collect::StatsCache,
}

impl Session {
    /// The session of a new connection.
    pub(crate) fn new(
        config: &Configuration,
        settings: CoreSettings,
        certificate: Certificate,
        rng: Box<dyn RandomSource>,
    ) -> Self {
        Session {
            config: IceConfig::from(config),
            media: media::MediaState::new(settings.bwe_config()),
            settings,
            certificate,
            rng,
            dtls_role: None,
            sctp: None,
            channels: ChannelTable::new(Default::default()),
            ice: ice::IceState::default(),
            data: data::DataPath::new(),
            extra: Vec::new(),
            rtcp: None,
            binding: None,
            timers: timers::Timers::default(),
            scheduler: scheduler::Scheduler::default(),
            closed: false,
            outbox: Vec::new(),
            outbox_dropped: 0,
            stats_cache: Default::default(),
        }
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Queues an event for the connection.
    pub(crate) fn emit(&mut self, e: CoreEvent) {
        self.push_out(SessionOut::Event(e));
    }

    pub(crate) fn push_out(&mut self, out: SessionOut) {
        if self.outbox.len() >= MAX_EVENTS {
            // Drained after every call of the connection: only a runaway call gets here.
            tracing::warn!("session outbox full ({MAX_EVENTS}); dropped: {out:?}");
            self.outbox_dropped += 1;
            if let SessionOut::Event(CoreEvent::DataChannel(key)) = out {
                self.release_data_channel(key);
            }
            return;
        }
        self.outbox.push(out);
    }

    /// What the session queued since the last call, in order, and how many outputs it
    /// dropped after them (its outbox was full).
    pub(crate) fn take_outbox(&mut self) -> (Vec<SessionOut>, u64) {
        (
            std::mem::take(&mut self.outbox),
            std::mem::take(&mut self.outbox_dropped),
        )
    }

    /// Whether anything is queued for the connection (checked after every call: inlined).
    #[inline]
    pub(crate) fn has_output(&self) -> bool {
        !self.outbox.is_empty() || self.outbox_dropped > 0
    }

    /// `setConfiguration`: the ICE part the session reads.
    pub(crate) fn set_ice_config(&mut self, config: &Configuration) {
        self.config = IceConfig::from(config);
    }

    /// The transport parameters of an applied description: the DTLS role and the SCTP
    /// transport (created "connecting" with the data section, dropped without it).
    pub(crate) fn apply_roles(&mut self, negotiated: &crate::negotiator::negotiated::Negotiated) {
        self.dtls_role = negotiated.dtls.as_ref().map(|d| d.role);
        match &negotiated.sctp {
            None => self.sctp = None,
            Some(s) => {
                let info = self.sctp.get_or_insert(SctpTransport {
                    state: channels::SctpTransportState::Connecting,
                    max_message_size: 0.0,
                });
                info.max_message_size = s.max_message_size;
            }
        }
    }

    /// `close()` (webrtc-pc §4.4.1.9): everything stops, no events fire.
    pub(crate) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.data_close(None);
        self.closed = true;
        for i in 0..self.channels.positions() {
            if let Some(key) = self.channels.key_at(i) {
                self.channels.set_closed(key);
            }
        }
        if let Some(s) = &mut self.sctp {
            s.state = channels::SctpTransportState::Closed;
        }
        self.ice_close();
        self.rtcp_close();
        self.extra_close();
        self.outbox.clear();
        self.outbox_dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::cert::{Certificate, CertificateParams};
    use crate::config::{Configuration, IceServer, IceTransportPolicy};
    use crate::connection::{Core, CoreSettings, SignalingState};
    use crate::util::SeededRandom;

    fn core() -> Core {
        let cert = Certificate::generate(CertificateParams::default(), SystemTime::now())
            .expect("certificate");
        Core::new(
            Configuration::default(),
            CoreSettings::default(),
            cert,
            Box::new(SeededRandom::new(7)),
        )
    }

    #[test]
    fn set_configuration_updates_the_sessions_copy_and_close_closes_both_halves() {
        let mut c = core();
        assert!(c.stun_host_names().is_empty());
        assert!(!c.needs_driver());
        let config = Configuration {
            ice_servers: vec![IceServer {
                urls: vec!["stun:stun.example.org:3479".into()],
                ..Default::default()
            }],
            ice_transport_policy: IceTransportPolicy::Relay,
            ice_candidate_pool_size: 1,
            ..Configuration::default()
        };
        c.set_configuration(config).unwrap();
        // The session reads its own copy (webrtc-pc §4.4.1.8 "set the configuration").
        assert_eq!(c.session.config.ice_transport_policy, IceTransportPolicy::Relay);
        let names = c.stun_host_names();
        assert_eq!(names.len(), 1);
        assert_eq!((names[0].host.as_str(), names[0].port), ("stun.example.org", 3479));
        assert!(c.needs_driver(), "a candidate pool needs the driver before any SLD");
        // A rejected update leaves both copies as they were.
        let bad = Configuration {
            ice_servers: vec![IceServer::default()],
            ..Configuration::default()
        };
        assert!(c.set_configuration(bad).is_err());
        assert_eq!(c.stun_host_names().len(), 1);
        c.close();
        assert!(c.session.is_closed());
        assert_eq!(c.signaling_state(), SignalingState::Closed);
        assert!(!c.needs_driver());
    }
}
