//! A minimal, bounds-checked DER reader: just enough of X.509 (RFC 5280 §4.1) to read back
//! the validity period and the subject public key of a persisted certificate.

use crate::error::{Error, Result};

/// DER tag of SEQUENCE (X.690 §8.9).
const TAG_SEQUENCE: u8 = 0x30;
/// DER tag of INTEGER.
const TAG_INTEGER: u8 = 0x02;
/// DER tag of BIT STRING.
const TAG_BIT_STRING: u8 = 0x03;
/// DER tag of UTCTime.
const TAG_UTC_TIME: u8 = 0x17;
/// DER tag of GeneralizedTime.
const TAG_GENERALIZED_TIME: u8 = 0x18;
/// Context tag [0] (constructed): the explicit `version` of a TBSCertificate.
const TAG_VERSION: u8 = 0xa0;

fn malformed(what: &str) -> Error {
    Error::syntax(format!("malformed certificate DER: {what}"))
}

/// A cursor over DER-encoded TLVs.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV and returns (tag, contents). Only low tag numbers and definite lengths of
    /// at most 4 length octets are accepted (X.690 §8.1.3, DER forbids indefinite lengths).
    fn read_any(&mut self) -> Result<(u8, &'a [u8])> {
        let (&tag, rest) = self
            .data
            .split_first()
            .ok_or_else(|| malformed("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(malformed("high tag number"));
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(|| malformed("truncated"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(malformed("unsupported length form"));
            }
            if rest.len() < n {
                return Err(malformed("truncated length"));
            }
            let (len_bytes, after) = rest.split_at(n);
            rest = after;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return Err(malformed("length beyond end of data"));
        }
        let (contents, after) = rest.split_at(len);
        self.data = after;
        Ok((tag, contents))
    }

    /// Reads one TLV that must carry `tag`.
    fn read(&mut self, tag: u8, what: &str) -> Result<&'a [u8]> {
        let (t, contents) = self.read_any()?;
        if t != tag {
            return Err(malformed(what));
        }
        Ok(contents)
    }
}

/// The fields of an X.509 certificate that rtcpeer needs back from a persisted certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertFields<'a> {
    /// `notBefore`, seconds since the UNIX epoch.
    pub not_before: i64,
    /// `notAfter`, seconds since the UNIX epoch.
    pub not_after: i64,
    /// The `subjectPublicKey` BIT STRING contents (without the unused-bits octet).
    pub public_key: &'a [u8],
}

/// Reads validity and subject public key from a DER certificate (RFC 5280 §4.1).
pub(crate) fn parse_certificate(der: &[u8]) -> Result<CertFields<'_>> {
    let mut outer = Reader::new(der);
    let cert = outer.read(TAG_SEQUENCE, "Certificate is not a SEQUENCE")?;
    if !outer.is_empty() {
        return Err(malformed("trailing data after Certificate"));
    }
    let mut cert = Reader::new(cert);
    let tbs = cert.read(TAG_SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let mut tbs = Reader::new(tbs);
    if tbs.peek_tag() == Some(TAG_VERSION) {
        tbs.read_any()?;
    }
    tbs.read(TAG_INTEGER, "serialNumber")?;
    tbs.read(TAG_SEQUENCE, "signature algorithm")?;
    tbs.read(TAG_SEQUENCE, "issuer")?;
    let validity = tbs.read(TAG_SEQUENCE, "validity")?;
    let mut validity = Reader::new(validity);
    let not_before = read_time(&mut validity)?;
    let not_after = read_time(&mut validity)?;
    tbs.read(TAG_SEQUENCE, "subject")?;
    let spki = tbs.read(TAG_SEQUENCE, "subjectPublicKeyInfo")?;
    let mut spki = Reader::new(spki);
    spki.read(TAG_SEQUENCE, "public key algorithm")?;
    let bits = spki.read(TAG_BIT_STRING, "subjectPublicKey")?;
    let (&unused, public_key) = bits
        .split_first()
        .ok_or_else(|| malformed("empty subjectPublicKey"))?;
    if unused != 0 {
        return Err(malformed("subjectPublicKey is not whole octets"));
    }
    Ok(CertFields {
        not_before,
        not_after,
        public_key,
    })
}

/// Reads an RSAPublicKey (RFC 8017 §A.1.1) and returns (modulus bits, public exponent).
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Result<(u32, u64)> {
    let mut outer = Reader::new(der);
    let seq = outer.read(TAG_SEQUENCE, "RSAPublicKey is not a SEQUENCE")?;
    let mut seq = Reader::new(seq);
    let n = strip_leading_zeros(seq.read(TAG_INTEGER, "RSA modulus")?);
    let e = strip_leading_zeros(seq.read(TAG_INTEGER, "RSA exponent")?);
    let bits = match n.first() {
        None => 0,
        Some(&b) => (n.len() as u64) * 8 - u64::from(b.leading_zeros()),
    };
    let bits = u32::try_from(bits).map_err(|_| malformed("RSA modulus too large"))?;
    if e.len() > 8 {
        return Err(malformed("RSA exponent too large"));
    }
    let e = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Ok((bits, e))
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let Some((&0, rest)) = b.split_first() {
        b = rest;
    }
    b
}

/// Reads a UTCTime or GeneralizedTime in the `Z` form RFC 5280 §4.1.2.5 requires.
fn read_time(r: &mut Reader<'_>) -> Result<i64> {
    let (tag, v) = r.read_any()?;
    let (year, rest) = match tag {
        TAG_UTC_TIME if v.len() == 13 => {
            let yy = digits(&v[0..2])?;
            // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &v[2..])
        }
        TAG_GENERALIZED_TIME if v.len() == 15 => (digits(&v[0..4])?, &v[4..]),
        _ => return Err(malformed("validity time")),
    };
    // `rest` is MMDDHHMMSSZ (11 bytes) in both forms.
    if rest.len() != 11 || rest[10] != b'Z' {
        return Err(malformed("validity time is not in UTC"));
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let hour = digits(&rest[4..6])?;
    let minute = digits(&rest[6..8])?;
    let second = digits(&rest[8..10])?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(malformed("validity time out of range"));
    }
    let days = days_from_civil(i64::from(year), month, day);
    Ok(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

fn digits(b: &[u8]) -> Result<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(malformed("non-digit in time"))
        }
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 22), 20_779);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn times_in_both_forms() {
        let mut r = Reader::new(b"\x17\x0d491231235959Z");
        assert_eq!(read_time(&mut r).unwrap(), 2_524_607_999);
        let mut r = Reader::new(b"\x17\x0d500101000000Z");
        assert_eq!(read_time(&mut r).unwrap(), -631_152_000);
        let mut r = Reader::new(b"\x18\x0f20500101000000Z");
        assert_eq!(read_time(&mut r).unwrap(), 2_524_608_000);
        let mut r = Reader::new(b"\x18\x0f20501301000000Z");
        assert!(read_time(&mut r).is_err());
        let mut r = Reader::new(b"\x18\x0f2050010100000+0");
        assert!(read_time(&mut r).is_err());
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x05\x02",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x80\x00\x00",
            b"\x1f\x01\x00",
            b"\x30\x00\x00",
        ] {
            assert!(parse_certificate(bad).is_err(), "{bad:?}");
        }
        assert!(parse_rsa_public_key(b"\x30\x03\x02\x01").is_err());
    }

    #[test]
    fn rsa_public_key_fields() {
        // SEQUENCE { INTEGER 0x00c1 (8 bits with the sign octet stripped), INTEGER 65537 }
        let der = b"\x30\x09\x02\x02\x00\xc1\x02\x03\x01\x00\x01";
        assert_eq!(parse_rsa_public_key(der).unwrap(), (8, 65_537));
    }
}
