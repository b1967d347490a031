//! The SDP writer: RFC 8866 §5 line order, CRLF line endings, and the canonical form of
//! each typed attribute (the form browsers write), so real descriptions round-trip exactly.

use std::fmt::{self, Display, Formatter, Write};

use super::{
    Attribute, Bandwidth, Candidate, Connection, Media, Sdp, Simulcast, SimulcastRid, is_late_line,
};

impl Display for Sdp {
    /// Writes `v o s i u e p c b t r z k a`, then per section `m i c b k a`, each line
    /// ending in CRLF, in the order RFC 8866 §5 requires (whatever order they were read in).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        f.write_str("v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        write_extra(f, &self.extra_lines, false)?;
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        for b in &self.bandwidths {
            write_bandwidth(f, b)?;
        }
        for (start, stop) in &self.timing {
            write!(f, "t={start} {stop}\r\n")?;
        }
        write_extra(f, &self.extra_lines, true)?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write_media(f, m)?;
        }
        Ok(())
    }
}

/// The extra lines of one group (`late`: those of [`is_late_line`]), in the order read.
fn write_extra(f: &mut Formatter<'_>, lines: &[(char, String)], late: bool) -> fmt::Result {
    for (t, v) in lines.iter().filter(|(t, _)| is_late_line(*t) == late) {
        write!(f, "{t}={v}\r\n")?;
    }
    Ok(())
}

fn write_connection(f: &mut Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)
}

fn write_bandwidth(f: &mut Formatter<'_>, b: &Bandwidth) -> fmt::Result {
    write!(f, "b={}:{}\r\n", b.bw_type, b.bandwidth)
}

fn write_media(f: &mut Formatter<'_>, m: &Media) -> fmt::Result {
    write!(f, "m={} {}", m.kind, m.port)?;
    if let Some(n) = m.num_ports {
        write!(f, "/{n}")?;
    }
    write!(f, " {}", m.proto)?;
    for fmt in &m.formats {
        write!(f, " {fmt}")?;
    }
    f.write_str("\r\n")?;
    write_extra(f, &m.extra_lines, false)?;
    if let Some(c) = &m.connection {
        write_connection(f, c)?;
    }
    for b in &m.bandwidths {
        write_bandwidth(f, b)?;
    }
    write_extra(f, &m.extra_lines, true)?;
    for a in &m.attributes {
        write!(f, "a={a}\r\n")?;
    }
    Ok(())
}

impl Display for Attribute {
    /// Writes the text after `a=` in its canonical form, e.g. `rtpmap:111 opus/48000/2`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Group { semantics, mids } => {
                write!(f, "group:{semantics}")?;
                for m in mids {
                    write!(f, " {m}")?;
                }
                Ok(())
            }
            Attribute::Mid(m) => write!(f, "mid:{m}"),
            Attribute::BundleOnly => f.write_str("bundle-only"),
            Attribute::Msid { stream, track } => {
                write!(f, "msid:{stream}")?;
                if let Some(t) = track {
                    write!(f, " {t}")?;
                }
                Ok(())
            }
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::IceUfrag(u) => write!(f, "ice-ufrag:{u}"),
            Attribute::IcePwd(p) => write!(f, "ice-pwd:{p}"),
            Attribute::IceOptions(opts) => {
                f.write_str("ice-options:")?;
                write_joined(f, opts, ' ')
            }
            Attribute::IceLite => f.write_str("ice-lite"),
            Attribute::Candidate(c) => write!(f, "candidate:{c}"),
            Attribute::EndOfCandidates => f.write_str("end-of-candidates"),
            Attribute::Fingerprint { algorithm, value } => {
                write!(f, "fingerprint:{algorithm} {value}")
            }
            Attribute::Identity {
                assertion,
                extensions,
            } => {
                write!(f, "identity:{assertion}")?;
                if let Some(e) = extensions {
                    write!(f, " {e}")?;
                }
                Ok(())
            }
            Attribute::Setup(s) => write!(f, "setup:{s}"),
            Attribute::Rtcp { port, connection } => {
                write!(f, "rtcp:{port}")?;
                if let Some(c) = connection {
                    write!(f, " {} {} {}", c.net_type, c.addr_type, c.address)?;
                }
                Ok(())
            }
            Attribute::RtcpMux => f.write_str("rtcp-mux"),
            Attribute::RtcpMuxOnly => f.write_str("rtcp-mux-only"),
            Attribute::RtcpRsize => f.write_str("rtcp-rsize"),
            Attribute::Rtpmap {
                payload_type,
                encoding,
                clock_rate,
                channels,
            } => {
                write!(f, "rtpmap:{payload_type} {encoding}/{clock_rate}")?;
                if let Some(c) = channels {
                    write!(f, "/{c}")?;
                }
                Ok(())
            }
            Attribute::Fmtp {
                payload_type,
                params,
            } => write!(f, "fmtp:{payload_type} {params}"),
            Attribute::RtcpFb {
                payload_type,
                fb_type,
                param,
            } => {
                match payload_type {
                    Some(pt) => write!(f, "rtcp-fb:{pt} {fb_type}")?,
                    None => write!(f, "rtcp-fb:* {fb_type}")?,
                }
                if let Some(p) = param {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
            Attribute::Extmap {
                id,
                direction,
                uri,
                attributes,
            } => {
                write!(f, "extmap:{id}")?;
                if let Some(d) = direction {
                    write!(f, "/{d}")?;
                }
                write!(f, " {uri}")?;
                if let Some(a) = attributes {
                    write!(f, " {a}")?;
                }
                Ok(())
            }
            Attribute::ExtmapAllowMixed => f.write_str("extmap-allow-mixed"),
            Attribute::Ssrc {
                ssrc,
                attribute,
                value,
            } => {
                write!(f, "ssrc:{ssrc} {attribute}")?;
                if let Some(v) = value {
                    write!(f, ":{v}")?;
                }
                Ok(())
            }
            Attribute::SsrcGroup { semantics, ssrcs } => {
                write!(f, "ssrc-group:{semantics}")?;
                for s in ssrcs {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
            Attribute::Rid {
                id,
                direction,
                params,
            } => {
                write!(f, "rid:{id} {direction}")?;
                if let Some(p) = params {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
            Attribute::Simulcast(s) => write!(f, "simulcast:{s}"),
            Attribute::SctpPort(p) => write!(f, "sctp-port:{p}"),
            Attribute::MaxMessageSize(n) => write!(f, "max-message-size:{n}"),
            Attribute::Other { name, value } => {
                f.write_str(name)?;
                if let Some(v) = value {
                    write!(f, ":{v}")?;
                }
                Ok(())
            }
        }
    }
}

fn write_joined(f: &mut Formatter<'_>, items: &[String], sep: char) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(sep)?;
        }
        f.write_str(item)?;
    }
    Ok(())
}

impl Display for Candidate {
    /// Writes the text after `candidate:` (RFC 8839 §5.1): the fixed fields, then `raddr`,
    /// `rport`, `tcptype` and the other extensions in order.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.protocol,
            self.priority,
            self.address,
            self.port,
            self.typ
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        if let Some(t) = &self.tcp_type {
            write!(f, " tcptype {t}")?;
        }
        for (name, value) in &self.extensions {
            write!(f, " {name} {value}")?;
        }
        Ok(())
    }
}

impl Display for Simulcast {
    /// Writes the text after `simulcast:` (RFC 8853 §5.1), e.g. `send a;b recv c`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let send = (!self.send.is_empty()).then_some(("send", &self.send));
        let recv = (!self.recv.is_empty()).then_some(("recv", &self.recv));
        let order = if self.recv_first {
            [recv, send]
        } else {
            [send, recv]
        };
        let mut first = true;
        for (dir, streams) in order.into_iter().flatten() {
            if !first {
                f.write_char(' ')?;
            }
            first = false;
            write!(f, "{dir} ")?;
            for (i, stream) in streams.iter().enumerate() {
                if i > 0 {
                    f.write_char(';')?;
                }
                for (j, alt) in stream.iter().enumerate() {
                    if j > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{alt}")?;
                }
            }
        }
        Ok(())
    }
}

impl Display for SimulcastRid {
    /// Writes the rid, with a leading `~` when paused (RFC 8853 §5.1).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.paused {
            f.write_char('~')?;
        }
        f.write_str(&self.rid)
    }
}
