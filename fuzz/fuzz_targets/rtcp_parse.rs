//! Any bytes as an RTCP datagram (rtcpeer_proto::rtcp): the compound walk yields packets then
//! at most one error, never a panic; every lazily decoded part can be read (a TWCC feedback
//! yields exactly its status count); every packet that parses writes back to bytes that
//! parse to an equal packet, and writing that again gives the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtcpeer_proto::rtcp::{RtcpPacket, parse_compound};

fn touch(p: &RtcpPacket<'_>) {
    match p {
        RtcpPacket::SenderReport(s) => assert_eq!(s.reports.iter().count(), s.reports.len()),
        RtcpPacket::ReceiverReport(r) => assert_eq!(r.reports.iter().count(), r.reports.len()),
        RtcpPacket::Sdes(s) => {
            assert_eq!(s.chunks().count(), s.len());
            for c in s.chunks() {
                let _ = (c.items().count(), c.cname());
            }
        }
        RtcpPacket::Bye(b) => {
            let _ = b.ssrcs().count();
        }
        RtcpPacket::Nack(n) => assert!(n.lost().count() <= 17 * n.pairs().len()),
        RtcpPacket::Fir(f) => {
            let _ = f.entries().count();
        }
        RtcpPacket::Remb(r) => {
            let _ = (r.bitrate(), r.ssrcs().count());
        }
        RtcpPacket::TransportCc(t) => {
            assert_eq!(t.packets().count(), usize::from(t.status_count));
            assert!(t.received().count() <= usize::from(t.status_count));
        }
        RtcpPacket::Xr(x) => {
            for b in x.blocks() {
                let _ = b.dlrr_items().count();
            }
        }
        RtcpPacket::Pli(_) | RtcpPacket::App(_) | RtcpPacket::Unknown(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut errors = 0;
    for r in parse_compound(data) {
        let p = match r {
            Ok(p) => p,
            Err(_) => {
                errors += 1;
                continue;
            }
        };
        assert_eq!(errors, 0, "nothing follows an error");
        touch(&p);
        let mut out = Vec::new();
        p.write_to(&mut out).expect("a parsed packet can be written");
        let (q, len) = RtcpPacket::parse(&out).expect("a written packet parses");
        assert_eq!(len, out.len());
        assert_eq!(q, p);
        let mut again = Vec::new();
        q.write_to(&mut again).expect("written again");
        assert_eq!(again, out);
    }
    assert!(errors <= 1);
});
