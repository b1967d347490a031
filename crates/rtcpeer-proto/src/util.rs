//! Small shared helpers: randomness for ids and credentials.

/// A source of random bytes for the sans-IO core: the operating system's CSPRNG in
/// production, a seeded deterministic generator in tests (so runs are reproducible).
pub trait RandomSource: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// A random u64.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// A random u32.
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// A random version-4 UUID string (ids of tracks and streams).
    fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        uuid_from_bytes(b)
    }

    /// A string of `len` characters drawn uniformly from `alphabet` (≤ 256 symbols).
    fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        let mut out = String::with_capacity(len);
        let n = alphabet.len();
        // Rejection sampling keeps the draw uniform.
        let limit = 256 - (256 % n);
        while out.len() < len {
            let mut b = [0u8; 16];
            self.fill(&mut b);
            for &x in &b {
                if (x as usize) < limit && out.len() < len {
                    out.push(alphabet[x as usize % n] as char);
                }
            }
        }
        out
    }
}

/// The operating system's CSPRNG (via aws-lc-rs).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        use aws_lc_rs::rand::SecureRandom;
        aws_lc_rs::rand::SystemRandom::new()
            .fill(buf)
            .expect("the system random generator is available");
    }
}

/// A deterministic generator (SplitMix64) for reproducible tests; not for production keys.
#[derive(Debug, Clone)]
pub struct SeededRandom(u64);

impl SeededRandom {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom(seed)
    }

    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.step().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// ICE characters (RFC 8839 §5.4: ALPHA / DIGIT / "+" / "/").
pub(crate) const ICE_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Formats 16 random bytes as a version-4 UUID.
pub(crate) fn uuid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
