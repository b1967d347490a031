//! SDP: the session description model, parser and writer (RFC 8866), with the attributes
//! JSEP needs (RFC 9429, BUNDLE RFC 8843, ICE RFC 8839, DTLS RFC 8842, SCTP RFC 8841,
//! msid RFC 8830, simulcast RFC 8853, rid RFC 8851).
//!
//! The model keeps every line it does not know as [`Attribute::Other`] (or the session's
//! rare fields), in order, so a description survives a parse → write round trip.

pub mod identity;
mod parse;
mod write;

pub use parse::{MAX_MEDIA_SECTIONS, MAX_SDP_BYTES, MAX_SDP_LINES, ParseError};

use crate::enums::w3c_enum;

/// A whole session description (RFC 8866 §5): session-level fields, then media sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// `o=` (RFC 8866 §5.2).
    pub origin: Origin,
    /// `s=` (RFC 8866 §5.3); JSEP writes `-`.
    pub session_name: String,
    /// Session-level lines other than `v= o= s= c= b= t= a= m=` (`i= u= e= p= r= z= k=`),
    /// in order, as `(type char, value)`.
    pub extra_lines: Vec<(char, String)>,
    /// Session-level `c=` (RFC 8866 §5.7).
    pub connection: Option<Connection>,
    /// Session-level `b=` lines (RFC 8866 §5.8).
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines as `(start, stop)` (RFC 8866 §5.9); JSEP writes `t=0 0`.
    pub timing: Vec<(u64, u64)>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections, in order (their index is the `sdpMLineIndex`).
    pub media: Vec<Media>,
}

/// The `o=` line (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `<username>`; JSEP writes `-`.
    pub username: String,
    /// `<sess-id>`; JSEP uses a random number below 2^62.
    pub session_id: u64,
    /// `<sess-version>`; incremented on every new local description.
    pub session_version: u64,
    /// `<nettype> <addrtype> <unicast-address>`, e.g. `IN IP4 127.0.0.1`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The unicast address (JSEP writes `127.0.0.1`).
    pub address: String,
}

/// A `c=` line (RFC 8866 §5.7): `IN IP4 0.0.0.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address (possibly with `/ttl` suffixes, kept verbatim).
    pub address: String,
}

/// A `b=<bwtype>:<bandwidth>` line (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, …
    pub bw_type: String,
    /// The value.
    pub bandwidth: u64,
}

/// One media section: the `m=` line and everything up to the next `m=` (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `application`, or anything else (kept verbatim).
    pub kind: String,
    /// The port; 0 means rejected, or bundle-only when `a=bundle-only` is present.
    pub port: u16,
    /// The optional `/<number of ports>`.
    pub num_ports: Option<u16>,
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF` or `UDP/DTLS/SCTP`.
    pub proto: String,
    /// The format list: payload types for RTP, `webrtc-datachannel` for data.
    pub formats: Vec<String>,
    /// Media-level lines other than `c= b= a=` (`i= k=`), in order, as `(type char, value)`.
    pub extra_lines: Vec<(char, String)>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

w3c_enum! {
    /// A media direction attribute (RFC 8866 §6.7).
    pub enum Direction {
        /// `a=sendrecv`.
        SendRecv = "sendrecv",
        /// `a=sendonly`.
        SendOnly = "sendonly",
        /// `a=recvonly`.
        RecvOnly = "recvonly",
        /// `a=inactive`.
        Inactive = "inactive",
    }
}

w3c_enum! {
    /// The DTLS role attribute `a=setup` (RFC 4145 §4, RFC 8842 §5).
    pub enum Setup {
        /// `actpass`: the offerer lets the answerer choose.
        ActPass = "actpass",
        /// `active`: this side is the DTLS client.
        Active = "active",
        /// `passive`: this side is the DTLS server.
        Passive = "passive",
        /// `holdconn`: hold the connection (not used by WebRTC).
        HoldConn = "holdconn",
    }
}

/// An ICE candidate line's value (RFC 8839 §5.1), as in `a=candidate:<value>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// 1–32 ice-chars; empty when the peer wrote none (`candidate: 1 udp ...`, as Google's
    /// ice-lite media servers do).
    pub foundation: String,
    /// 1 = RTP, 2 = RTCP.
    pub component: u16,
    /// `udp` or `tcp` (kept as written, compared case-insensitively).
    pub protocol: String,
    /// The candidate priority.
    pub priority: u32,
    /// An IP address or an FQDN (e.g. an mDNS `.local` name).
    pub address: String,
    /// The port.
    pub port: u16,
    /// `host`, `srflx`, `prflx`, `relay` (or an unknown token, kept).
    pub typ: String,
    /// `raddr`.
    pub related_address: Option<String>,
    /// `rport`.
    pub related_port: Option<u16>,
    /// `tcptype` (RFC 6544): `active`, `passive`, `so`.
    pub tcp_type: Option<String>,
    /// Further `name value` extension pairs (`generation 0`, `ufrag abc`, `network-id 1`, …), in order.
    pub extensions: Vec<(String, String)>,
}

/// One simulcast stream alternative in `a=simulcast` (RFC 8853 §5.1): a rid, maybe paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastRid {
    /// The rid.
    pub rid: String,
    /// Written with a leading `~`.
    pub paused: bool,
}

/// `a=simulcast` (RFC 8853 §5.1): per direction, a list of streams, each a list of alternatives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// The `send` streams.
    pub send: Vec<Vec<SimulcastRid>>,
    /// The `recv` streams.
    pub recv: Vec<Vec<SimulcastRid>>,
    /// Whether `recv` was written before `send` (kept for round trips).
    pub recv_first: bool,
}

w3c_enum! {
    /// The direction of an `a=rid` line (RFC 8851 §10).
    pub enum RidDirection {
        /// `send`.
        Send = "send",
        /// `recv`.
        Recv = "recv",
    }
}

/// An `a=` attribute. Known ones are typed; everything else is [`Attribute::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=group:<semantics> <mid> ...` (RFC 5888, BUNDLE RFC 8843).
    Group {
        /// `BUNDLE`, `LS`, …
        semantics: String,
        /// The identification tags.
        mids: Vec<String>,
    },
    /// `a=mid:<mid>` (RFC 5888).
    Mid(String),
    /// `a=bundle-only` (RFC 8843 §6).
    BundleOnly,
    /// `a=msid:<stream id> [<track id>]` (RFC 8830).
    Msid {
        /// The MediaStream id (`-` for no stream).
        stream: String,
        /// The track id ("appdata"), if present.
        track: Option<String>,
    },
    /// A direction: `a=sendrecv` / `sendonly` / `recvonly` / `inactive`.
    Direction(Direction),
    /// `a=ice-ufrag:<ufrag>` (RFC 8839 §5.4).
    IceUfrag(String),
    /// `a=ice-pwd:<pwd>` (RFC 8839 §5.4).
    IcePwd(String),
    /// `a=ice-options:<opt> ...` (RFC 8839 §5.6), e.g. `trickle`.
    IceOptions(Vec<String>),
    /// `a=ice-lite` (RFC 8839 §5.3).
    IceLite,
    /// `a=candidate:<candidate>` (RFC 8839 §5.1).
    Candidate(Candidate),
    /// `a=end-of-candidates` (RFC 8840 §8.2).
    EndOfCandidates,
    /// `a=fingerprint:<hash> <hex>` (RFC 8122 §5).
    Fingerprint {
        /// Hash function name, e.g. `sha-256` (kept as written).
        algorithm: String,
        /// Uppercase or lowercase hex pairs joined by `:` (kept as written).
        value: String,
    },
    /// `a=identity:<base64 assertion> [<extensions>]` (RFC 8827 §5, webrtc-identity): see
    /// [`identity`].
    Identity {
        /// The base64 identity assertion (kept as written).
        assertion: String,
        /// `identity-extension`s after the first space, verbatim.
        extensions: Option<String>,
    },
    /// `a=setup:<role>` (RFC 4145).
    Setup(Setup),
    /// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1): where
    /// RTCP goes when RTP and RTCP are not multiplexed (RFC 5761) and it is not RTP's port
    /// + 1; JSEP writes `9 IN IP4 0.0.0.0` before candidates are known (RFC 9429 §5.2.1).
    Rtcp {
        /// The RTCP port.
        port: u16,
        /// The RTCP address, when given.
        connection: Option<Connection>,
    },
    /// `a=rtcp-mux` (RFC 5761).
    RtcpMux,
    /// `a=rtcp-mux-only` (RFC 8858).
    RtcpMuxOnly,
    /// `a=rtcp-rsize` (RFC 5506).
    RtcpRsize,
    /// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]` (RFC 8866 §6.6).
    Rtpmap {
        /// The payload type.
        payload_type: u8,
        /// The encoding name, as written (`opus`, `VP8`, `H264`, `rtx`, …).
        encoding: String,
        /// The clock rate.
        clock_rate: u32,
        /// The channel count (audio).
        channels: Option<u16>,
    },
    /// `a=fmtp:<pt> <params>` (RFC 8866 §6.15); params kept verbatim.
    Fmtp {
        /// The payload type.
        payload_type: u8,
        /// The format parameters, e.g. `minptime=10;useinbandfec=1`.
        params: String,
    },
    /// `a=rtcp-fb:<pt|*> <type> [<param>]` (RFC 4585 §4.2).
    RtcpFb {
        /// The payload type, `None` for `*`.
        payload_type: Option<u8>,
        /// `nack`, `ccm`, `goog-remb`, `transport-cc`, …
        fb_type: String,
        /// `pli`, `fir`, …
        param: Option<String>,
    },
    /// `a=extmap:<id>[/<dir>] <uri> [<attributes>]` (RFC 8285 §8).
    Extmap {
        /// The local identifier (1–14 one-byte, 1–255 two-byte).
        id: u16,
        /// The optional direction.
        direction: Option<Direction>,
        /// The extension URI.
        uri: String,
        /// Extension attributes, verbatim.
        attributes: Option<String>,
    },
    /// `a=extmap-allow-mixed` (RFC 8285 §6).
    ExtmapAllowMixed,
    /// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
    Ssrc {
        /// The SSRC.
        ssrc: u32,
        /// The source attribute name, e.g. `cname`, `msid`.
        attribute: String,
        /// Its value.
        value: Option<String>,
    },
    /// `a=ssrc-group:<semantics> <ssrc> ...` (RFC 5576 §4.2), e.g. `FID` for RTX.
    SsrcGroup {
        /// `FID`, `SIM`, `FEC-FR`, …
        semantics: String,
        /// The SSRCs.
        ssrcs: Vec<u32>,
    },
    /// `a=rid:<id> <send|recv> [<restrictions>]` (RFC 8851 §10).
    Rid {
        /// The rid.
        id: String,
        /// `send` or `recv`.
        direction: RidDirection,
        /// `pt=` and restrictions, verbatim.
        params: Option<String>,
    },
    /// `a=simulcast:...` (RFC 8853 §5.1).
    Simulcast(Simulcast),
    /// `a=sctp-port:<port>` (RFC 8841 §5).
    SctpPort(u16),
    /// `a=max-message-size:<n>` (RFC 8841 §6).
    MaxMessageSize(u64),
    /// Any other attribute: `a=<name>` or `a=<name>:<value>`, kept verbatim.
    Other {
        /// The attribute name.
        name: String,
        /// The value after the first `:`, if any.
        value: Option<String>,
    },
}

impl Sdp {
    /// The `a=group:BUNDLE` groups of the session, each a list of mids.
    pub fn bundle_groups(&self) -> impl Iterator<Item = &[String]> {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Group { semantics, mids } if semantics.eq_ignore_ascii_case("BUNDLE") => {
                Some(mids.as_slice())
            }
            _ => None,
        })
    }

    /// Session-level `a=ice-lite`, `a=ice-ufrag`, … lookup helper: the first attribute matching `f`.
    pub fn find_attr<'a, T>(&'a self, f: impl FnMut(&'a Attribute) -> Option<T>) -> Option<T> {
        self.attributes.iter().find_map(f)
    }
}

impl Media {
    /// The first attribute for which `f` returns `Some`.
    pub fn find_attr<'a, T>(&'a self, f: impl FnMut(&'a Attribute) -> Option<T>) -> Option<T> {
        self.attributes.iter().find_map(f)
    }

    /// `a=mid`.
    pub fn mid(&self) -> Option<&str> {
        self.find_attr(|a| match a {
            Attribute::Mid(m) => Some(m.as_str()),
            _ => None,
        })
    }

    /// The direction attribute; `None` when absent (RFC 8866: absent means sendrecv).
    pub fn direction(&self) -> Option<Direction> {
        self.find_attr(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// `a=ice-ufrag` at media level.
    pub fn ice_ufrag(&self) -> Option<&str> {
        self.find_attr(|a| match a {
            Attribute::IceUfrag(u) => Some(u.as_str()),
            _ => None,
        })
    }

    /// `a=ice-pwd` at media level.
    pub fn ice_pwd(&self) -> Option<&str> {
        self.find_attr(|a| match a {
            Attribute::IcePwd(p) => Some(p.as_str()),
            _ => None,
        })
    }

    /// `a=setup` at media level.
    pub fn setup(&self) -> Option<Setup> {
        self.find_attr(|a| match a {
            Attribute::Setup(s) => Some(*s),
            _ => None,
        })
    }

    /// Whether the section carries `a=<attr>` for a unit attribute like `RtcpMux` or `BundleOnly`.
    pub fn has(&self, attr: &Attribute) -> bool {
        self.attributes.iter().any(|a| a == attr)
    }

    /// The `a=candidate` lines.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Candidate(c) => Some(c),
            _ => None,
        })
    }

    /// Whether this data section uses the pre-RFC 8841 form of
    /// draft-ietf-mmusic-sctp-sdp-05 (`m=application <port> DTLS/SCTP 5000` with
    /// `a=sctpmap:5000 webrtc-datachannel <streams>`): the format is the SCTP port number
    /// instead of `webrtc-datachannel`, or an `a=sctpmap` line is present.
    pub fn is_legacy_sctp(&self) -> bool {
        self.formats
            .first()
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
            || self.sctpmap().is_some()
    }

    /// The legacy `a=sctpmap:<sctpmap-number> <app> [<streams>]` line
    /// (draft-ietf-mmusic-sctp-sdp-05 §4.2) as `(number, rest)`, when present and numbered.
    pub fn sctpmap(&self) -> Option<(u16, &str)> {
        self.find_attr(|a| match a {
            Attribute::Other {
                name,
                value: Some(v),
            } if name == "sctpmap" => {
                let (n, rest) = v.trim_start().split_once(' ').unwrap_or((v.trim(), ""));
                n.parse().ok().map(|n| (n, rest.trim()))
            }
            _ => None,
        })
    }

    /// The peer's SCTP port for a data section: `a=sctp-port` (RFC 8841 §5), else, in the
    /// legacy form, the `a=sctpmap` number or the numeric format (draft-ietf-mmusic-sctp-sdp-05
    /// §4.1: the fmt is the SCTP port); `None` when neither is given (RFC 8841: 5000).
    pub fn sctp_port(&self) -> Option<u16> {
        self.find_attr(|a| match a {
            Attribute::SctpPort(p) => Some(*p),
            _ => None,
        })
        .or_else(|| self.sctpmap().map(|(n, _)| n))
        .or_else(|| self.formats.first().and_then(|f| f.parse().ok()))
    }

    /// Port 0 without `a=bundle-only`: the m-section is rejected / stopped (RFC 9429 §5.2.2).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.has(&Attribute::BundleOnly)
    }
}

/// Lines that RFC 8866 §5 places after `t=` at session level (`r= z= k=`) or after `b=` in a
/// media section (`k=`); every other extra line goes before `c=`. The parser keeps extra
/// lines in this order (stable within each group), so what it reads is what the writer writes.
pub(crate) fn is_late_line(t: char) -> bool {
    matches!(t, 'r' | 'z' | 'k')
}

#[cfg(test)]
mod tests;
