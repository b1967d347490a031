//! Simulcast in offers and answers (RFC 8853 with RFC 8851 rids, RFC 9429 §5.3.1): what an
//! answer accepts of a remote's simulcast sending, so an SFU built on rtcpeer gets every
//! layer a browser sends.

use crate::sdp::{Attribute as A, Media, RidDirection, Simulcast, SimulcastRid};

/// The most simulcast layers accepted from a remote sender in one m-section; more are left
/// out of the answer (a remote can offer any number, RFC 8853 sets no limit; browsers send
/// at most 3–4).
pub const MAX_RECEIVE_LAYERS: usize = 4;

/// Adds to answer section `answer` the `a=rid:<id> recv` lines and `a=simulcast:recv` that
/// accept the simulcast streams offer section `offer` sends (RFC 8853 §5.3: the answer
/// reverses the direction; each stream keeps its first alternative whose rid the offer
/// declared with `a=rid:<id> send`, paused as offered), at most [`MAX_RECEIVE_LAYERS`].
/// Nothing is added when the offer sends no simulcast.
pub(crate) fn answer_receive(answer: &mut Media, offer: &Media) {
    let Some(offered) = offer.attributes.iter().find_map(|a| match a {
        A::Simulcast(s) => Some(s),
        _ => None,
    }) else {
        return;
    };
    let declared = |rid: &str| {
        offer.attributes.iter().any(|a| {
            matches!(a, A::Rid { id, direction: RidDirection::Send, .. } if id == rid)
        })
    };
    let mut layers: Vec<SimulcastRid> = Vec::new();
    for stream in &offered.send {
        if layers.len() == MAX_RECEIVE_LAYERS {
            break;
        }
        if let Some(alt) = stream
            .iter()
            .find(|alt| declared(&alt.rid) && !layers.iter().any(|l| l.rid == alt.rid))
        {
            layers.push(alt.clone());
        }
    }
    if layers.is_empty() {
        return;
    }
    for l in &layers {
        answer.attributes.push(A::Rid {
            id: l.rid.clone(),
            direction: RidDirection::Recv,
            params: None,
        });
    }
    answer.attributes.push(A::Simulcast(Simulcast {
        send: Vec::new(),
        recv: layers.into_iter().map(|l| vec![l]).collect(),
        recv_first: true,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Media {
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
             a=rtpmap:96 VP8/90000\r\n{text}"
        );
        let parsed: crate::sdp::Sdp = sdp.parse().unwrap();
        parsed.media.into_iter().next().unwrap()
    }

    fn answer_of(offer: &str) -> String {
        let mut a = section("");
        answer_receive(&mut a, &section(offer));
        a.attributes
            .iter()
            .filter(|x| matches!(x, A::Rid { .. } | A::Simulcast(_)))
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn a_browsers_simulcast_offer_is_answered_with_every_layer() {
        let offer = "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n";
        assert_eq!(
            answer_of(offer),
            "rid:q recv|rid:h recv|rid:f recv|simulcast:recv q;h;f"
        );
    }

    #[test]
    fn alternatives_paused_layers_undeclared_rids_and_the_cap() {
        // The first declared alternative of each stream; paused stays paused; a rid without
        // `a=rid ... send` is not accepted; a repeated rid once.
        let offer = "a=rid:a send\r\na=rid:c send\r\na=rid:d recv\r\n\
                     a=simulcast:send x,a;~c;d;a\r\n";
        assert_eq!(answer_of(offer), "rid:a recv|rid:c recv|simulcast:recv a;~c");
        let many: String = (0..100).map(|i| format!("a=rid:r{i} send\r\n")).collect();
        let list: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
        let offer = format!("{many}a=simulcast:send {}\r\n", list.join(";"));
        let answer = answer_of(&offer);
        assert_eq!(answer.matches("recv").count(), MAX_RECEIVE_LAYERS + 1, "{answer}");
        assert_eq!(answer_of("a=rid:q send\r\n"), "", "no a=simulcast: no simulcast");
        assert_eq!(answer_of("a=simulcast:send q;h\r\n"), "", "no rid declared");
    }
}
