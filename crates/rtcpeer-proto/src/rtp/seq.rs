//! Extended sequence numbers (RFC 3550 §A.1): the 16-bit RTP sequence number unwrapped into a
//! 64-bit count that keeps growing across wrap-arounds, for loss, NACK and jitter bookkeeping.

/// Unwraps 16-bit sequence numbers into 64-bit extended ones. Each new number is placed
/// within ±32768 of the previous one (so reordered packets from before a wrap land in the
/// previous cycle). The first number is its own extended value; packets from before it may
/// be negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqUnwrapper {
    last: Option<i64>,
}

impl SeqUnwrapper {
    /// An unwrapper that has seen nothing yet.
    pub fn new() -> SeqUnwrapper {
        SeqUnwrapper { last: None }
    }

    /// The extended value of `seq`, closest to the last one unwrapped, which it becomes.
    pub fn unwrap(&mut self, seq: u16) -> i64 {
        let v = self.peek(seq);
        self.last = Some(v);
        v
    }

    /// The extended value `seq` would get, without remembering it.
    pub fn peek(&self, seq: u16) -> i64 {
        match self.last {
            None => i64::from(seq),
            Some(last) => {
                // Distance from last's low 16 bits, as a signed 16-bit step.
                let step = seq.wrapping_sub(last as u16) as i16;
                last + i64::from(step)
            }
        }
    }

    /// The last extended value handed out, if any.
    pub fn last(&self) -> Option<i64> {
        self.last
    }
}
