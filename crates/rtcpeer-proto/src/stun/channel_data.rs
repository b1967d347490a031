//! TURN ChannelData messages (RFC 8656 §12.4), which share the first-byte demux with STUN
//! (RFC 7983 §7).

use super::{ParseError, WriteError};

/// Size of the ChannelData header: channel number and length (RFC 8656 §12.4).
pub const CHANNEL_DATA_HEADER_LEN: usize = 4;

/// A parsed ChannelData message borrowing the datagram (RFC 8656 §12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// Channel number, 0x4000..=0x4FFF (RFC 8656 §12).
    pub number: u16,
    /// The application data (exactly `length` bytes; padding excluded).
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// Parse a ChannelData message: channel number in 0x4000..=0x4FFF and a length no larger
    /// than the bytes present; trailing bytes (UDP may carry padding) are ignored
    /// (RFC 8656 §12.4, §12.5).
    pub fn parse(buf: &'a [u8]) -> Result<ChannelData<'a>, ParseError> {
        let Some((h, rest)) = buf.split_first_chunk::<CHANNEL_DATA_HEADER_LEN>() else {
            return Err(ParseError::TooShort);
        };
        let number = u16::from_be_bytes([h[0], h[1]]);
        if !(0x4000..=0x4FFF).contains(&number) {
            return Err(ParseError::BadChannelNumber(number));
        }
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let data = rest.get(..len).ok_or(ParseError::ChannelDataTruncated)?;
        Ok(ChannelData { number, data })
    }

    /// Bytes this message occupies on a stream transport, padded to 4 (RFC 8656 §12.5).
    pub fn padded_len(&self) -> usize {
        CHANNEL_DATA_HEADER_LEN + self.data.len().div_ceil(4) * 4
    }
}

/// Clear `buf` and write a ChannelData message for channel `number` (0x4000..=0x4FFF) carrying
/// `data` (at most 65 535 bytes); `pad` zero-pads to 4 bytes, required over TCP/TLS and
/// optional over UDP (RFC 8656 §12.4, §12.5).
pub fn write_channel_data(
    buf: &mut Vec<u8>,
    number: u16,
    data: &[u8],
    pad: bool,
) -> Result<(), WriteError> {
    if !(0x4000..=0x4FFF).contains(&number) {
        return Err(WriteError::InvalidValue);
    }
    let len = u16::try_from(data.len()).map_err(|_| WriteError::ValueTooLong)?;
    buf.clear();
    buf.extend_from_slice(&number.to_be_bytes());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(data);
    if pad {
        let p = (4 - data.len() % 4) % 4;
        buf.extend_from_slice(&[0u8; 3][..p]);
    }
    Ok(())
}
