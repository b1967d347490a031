//! CRC32c (Castagnoli) checksum used by the SCTP common header (RFC 9260 §6.8, Appendix A).
//!
//! Slicing-by-16 over sixteen 256-entry tables built at compile time; no allocation, no
//! `unsafe`. (Over DTLS the checksum is usually skipped altogether, RFC 9653.)

/// Reflected Castagnoli polynomial (RFC 9260 Appendix A).
const POLY: u32 = 0x82F6_3B78;

const fn build_tables() -> [[u32; 256]; 16] {
    let mut t = [[0u32; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 16 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

static TABLES: [[u32; 256]; 16] = build_tables();

/// Continues a CRC32c computation: `state` starts at `!0` and the final value is `!state`.
fn update(mut crc: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let w0 = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let w1 = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        let w2 = u32::from_le_bytes([c[8], c[9], c[10], c[11]]);
        let w3 = u32::from_le_bytes([c[12], c[13], c[14], c[15]]);
        crc = t[15][(w0 & 0xff) as usize]
            ^ t[14][((w0 >> 8) & 0xff) as usize]
            ^ t[13][((w0 >> 16) & 0xff) as usize]
            ^ t[12][(w0 >> 24) as usize]
            ^ t[11][(w1 & 0xff) as usize]
            ^ t[10][((w1 >> 8) & 0xff) as usize]
            ^ t[9][((w1 >> 16) & 0xff) as usize]
            ^ t[8][(w1 >> 24) as usize]
            ^ t[7][(w2 & 0xff) as usize]
            ^ t[6][((w2 >> 8) & 0xff) as usize]
            ^ t[5][((w2 >> 16) & 0xff) as usize]
            ^ t[4][(w2 >> 24) as usize]
            ^ t[3][(w3 & 0xff) as usize]
            ^ t[2][((w3 >> 8) & 0xff) as usize]
            ^ t[1][((w3 >> 16) & 0xff) as usize]
            ^ t[0][(w3 >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xff) as usize];
    }
    crc
}

/// CRC32c of `data` (the value RFC 9260 Appendix A computes).
pub fn crc32c(data: &[u8]) -> u32 {
    !update(!0, data)
}

/// CRC32c of an SCTP packet as if its checksum field (bytes 8..12) were zero.
/// Returns `None` when the packet is shorter than the 12-byte common header.
pub fn packet_crc(packet: &[u8]) -> Option<u32> {
    let head = packet.get(..8)?;
    let tail = packet.get(12..)?;
    let mut crc = update(!0, head);
    crc = update(crc, &[0, 0, 0, 0]);
    crc = update(crc, tail);
    Some(!crc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_value() {
        // The standard CRC-32C check value (also RFC 3720 B.4 style vectors).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&inc), 0x46DD_794E);
    }

    #[test]
    fn slicing_matches_bitwise_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(crc32c(&data[..n]), bitwise(&data[..n]), "len {n}");
        }
    }

    #[test]
    fn packet_crc_ignores_checksum_field() {
        let mut p = vec![0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4, 9, 9, 9, 9, 0xaa, 0xbb];
        let c = packet_crc(&p).unwrap();
        p[8..12].fill(0);
        assert_eq!(c, crc32c(&p));
        assert_eq!(packet_crc(&p[..11]), None);
    }

    #[test]
    fn header_only_packet_vector() {
        // A chunkless packet (ports 5000, tag 0) as accepted by pion/sctp's checksum check:
        // the checksum bytes on the wire are 06 a9 00 e1 (CRC stored little-endian).
        let p = [0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0x06, 0xa9, 0x00, 0xe1];
        assert_eq!(
            packet_crc(&p),
            Some(u32::from_le_bytes([0x06, 0xa9, 0x00, 0xe1]))
        );
    }
}
