//! W3C web-platform-tests behaviours for `setCodecPreferences` and the RTP capabilities
//! (checklist group 23, WPT-302..306), through the public API. Items are numbered as in
//! `wpt-checklist.md`.
//!
//! Out of scope or not applicable here:
//! - WPT-304 "codec only in RTCRtpSender.getCapabilities": rtcpeer sends and receives the
//!   same codec set, so no such codec exists (asserted by `wpt_304_sender_and_receiver_capabilities_agree`).

mod common;

use common::wpt::media::{m_lines, pc};

use rtcpeer::{
    ErrorKind, MediaKind, RtpCodecCapability, RtpReceiver, RtpSender, SessionDescription,
    TransceiverInit,
};

/// The encoding names of the `a=rtpmap` lines of the first m-section, in order.
fn rtpmap_names(d: &SessionDescription) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_first = false;
    for l in d.sdp.lines() {
        if l.starts_with("m=") {
            if in_first {
                break;
            }
            in_first = true;
        } else if in_first && let Some(rest) = l.strip_prefix("a=rtpmap:") {
            let name = rest
                .split_once(' ')
                .and_then(|(_, enc)| enc.split('/').next())
                .unwrap_or("")
                .to_string();
            out.push(name);
        }
    }
    out
}

/// The payload types on the first `m=` line.
fn first_mline_payloads(d: &SessionDescription) -> Vec<String> {
    let m = m_lines(d).into_iter().next().expect("an m-line");
    m.split(' ').skip(3).map(str::to_string).collect()
}

fn codecs(kind: &str) -> Vec<RtpCodecCapability> {
    RtpReceiver::get_capabilities(kind)
        .expect("audio/video capabilities exist")
        .codecs
}

// ===== 23. setCodecPreferences / capabilities =====

#[tokio::test]
async fn wpt_302_receiver_capabilities_are_accepted() {
    let pc = pc();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let t = pc
            .add_transceiver(kind, TransceiverInit::default())
            .unwrap();
        let caps = codecs(kind.as_str());
        t.set_codec_preferences(&caps).unwrap();
        let mut rev = caps.clone();
        rev.reverse();
        t.set_codec_preferences(&rev).unwrap();
        t.set_codec_preferences(&[]).unwrap();
    }
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    for name in ["video/VP8", "video/H264"] {
        let one: Vec<_> = codecs("video")
            .into_iter()
            .filter(|c| c.mime_type == name)
            .take(1)
            .collect();
        assert_eq!(one.len(), 1);
        t.set_codec_preferences(&one).unwrap();
    }
}

#[tokio::test]
async fn wpt_302_empty_preferences_reset_to_defaults() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let default_offer = pc.create_offer(None).await.unwrap();
    let defaults = rtpmap_names(&default_offer);
    let pcmu: Vec<_> = codecs("audio")
        .into_iter()
        .filter(|c| c.mime_type == "audio/PCMU")
        .collect();
    t.set_codec_preferences(&pcmu).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(rtpmap_names(&offer), ["PCMU"]);
    t.set_codec_preferences(&[]).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    assert_eq!(rtpmap_names(&offer), defaults);
}

#[tokio::test]
async fn wpt_303_codecs_of_wrong_kind_throw_invalid_modification() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let e = t.set_codec_preferences(&codecs("video")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let e = t.set_codec_preferences(&codecs("audio")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
}

#[tokio::test]
async fn wpt_304_unknown_or_modified_codecs_throw_invalid_modification() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let bogus = |mime: &str| RtpCodecCapability {
        mime_type: mime.into(),
        clock_rate: 8000,
        channels: Some(1),
        sdp_fmtp_line: None,
    };
    for mime in ["data", "audio/piepiper"] {
        let e = t.set_codec_preferences(&[bogus(mime)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{mime} alone");
        let mut list = codecs("audio");
        list.push(bogus(mime));
        let e = t.set_codec_preferences(&list).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{mime} appended");
    }
    let base = codecs("audio")
        .into_iter()
        .find(|c| c.mime_type == "audio/opus")
        .expect("opus");
    let mut m = base.clone();
    m.clock_rate += 1;
    let mut c = base.clone();
    c.channels = Some(1);
    let mut f = base.clone();
    f.sdp_fmtp_line = Some("modified".into());
    for (what, codec) in [("clockRate", m), ("channels", c), ("sdpFmtpLine", f)] {
        let e = t.set_codec_preferences(&[codec]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{what}");
    }
    t.set_codec_preferences(&[base]).unwrap();
}

#[tokio::test]
async fn wpt_304_sender_and_receiver_capabilities_agree() {
    for kind in ["audio", "video"] {
        let s = RtpSender::get_capabilities(kind).unwrap();
        let r = RtpReceiver::get_capabilities(kind).unwrap();
        assert_eq!(s.codecs, r.codecs, "{kind}");
    }
}

#[tokio::test]
async fn wpt_305_preferred_order_is_reflected_in_offer() {
    // Video: H264 first, then VP8 first.
    for first in ["video/H264", "video/VP8"] {
        let pc = pc();
        let t = pc
            .add_transceiver(MediaKind::Video, TransceiverInit::default())
            .unwrap();
        let mut list = codecs("video");
        let i = list.iter().position(|c| c.mime_type == first).unwrap();
        let c = list.remove(i);
        list.insert(0, c);
        t.set_codec_preferences(&list).unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        let names = rtpmap_names(&offer);
        assert_eq!(
            format!("video/{}", names[0]),
            first,
            "first rtpmap: {names:?}"
        );
        // The first payload on the m-line is the first rtpmap's payload type.
        let pt = first_mline_payloads(&offer)[0].clone();
        assert!(
            offer
                .sdp
                .contains(&format!("a=rtpmap:{pt} {}/", &first[6..])),
            "{}",
            offer.sdp
        );
    }
    // Audio: PCMU first, then PCMA first.
    for first in ["audio/PCMU", "audio/PCMA"] {
        let pc = pc();
        let t = pc
            .add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .unwrap();
        let mut list = codecs("audio");
        let i = list.iter().position(|c| c.mime_type == first).unwrap();
        let c = list.remove(i);
        list.insert(0, c);
        t.set_codec_preferences(&list).unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        let names = rtpmap_names(&offer);
        assert_eq!(format!("audio/{}", names[0]), first, "{names:?}");
        let pt = first_mline_payloads(&offer)[0].clone();
        assert!(
            offer
                .sdp
                .contains(&format!("a=rtpmap:{pt} {}/", &first[6..])),
            "{}",
            offer.sdp
        );
    }
}

#[tokio::test]
async fn wpt_306_sender_get_capabilities() {
    for kind in ["audio", "video"] {
        let caps = RtpSender::get_capabilities(kind).expect("a dictionary");
        assert!(!caps.codecs.is_empty());
        assert!(!caps.header_extensions.is_empty());
        let prefix = format!("{kind}/");
        assert!(caps.codecs.iter().all(|c| c.mime_type.starts_with(&prefix)));
    }
    assert!(RtpSender::get_capabilities("dummy").is_none());
    assert!(RtpReceiver::get_capabilities("dummy").is_none());
}

#[tokio::test]
async fn wpt_302_sender_and_receiver_codecs_combined_are_accepted() {
    let pc = pc();
    let t = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let mut both = RtpSender::get_capabilities("audio").unwrap().codecs;
    both.extend(RtpReceiver::get_capabilities("audio").unwrap().codecs);
    t.set_codec_preferences(&both).unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    let pts = first_mline_payloads(&offer);
    let mut unique = pts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pts.len(), "no payload type twice: {pts:?}");
    // A video codec with a channel count is not a capability either.
    let t = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let mut vp8 = codecs("video")
        .into_iter()
        .find(|c| c.mime_type == "video/VP8")
        .unwrap();
    vp8.channels = Some(3);
    let e = t.set_codec_preferences(&[vp8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
}

#[tokio::test]
async fn wpt_304_only_resiliency_or_comfort_noise_codecs_throw_invalid_modification() {
    let pc = pc();
    let by_subtype = |kind: &str, names: &[&str]| -> Vec<RtpCodecCapability> {
        codecs(kind)
            .into_iter()
            .filter(|c| {
                let sub = c.mime_type.split('/').nth(1).unwrap_or("");
                names.iter().any(|n| n.eq_ignore_ascii_case(sub))
            })
            .collect()
    };
    let a = pc
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    for names in [&["red"][..], &["CN"], &["red", "CN"]] {
        let list = by_subtype("audio", names);
        assert!(!list.is_empty(), "{names:?}");
        let e = a.set_codec_preferences(&list).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModification, "{names:?}");
    }
    let v = pc
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let list = by_subtype("video", &["rtx", "red", "ulpfec"]);
    assert_eq!(list.len(), 3);
    let e = v.set_codec_preferences(&list).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModification);
    // With one media codec added, the same lists are fine.
    let mut list = by_subtype("audio", &["red", "CN", "PCMU"]);
    a.set_codec_preferences(&list).unwrap();
    list.retain(|c| c.mime_type != "audio/PCMU");
    assert!(a.set_codec_preferences(&list).is_err());
}
