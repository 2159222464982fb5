//! A tiny deterministic random number generator (SplitMix64).
//!
//! Every random-looking value the model produces (keys, token ids, completion
//! ids, CloudFront request ids) comes from one of these, seeded from
//! [`ModelConfig::seed`](crate::model::ModelConfig::seed): the same seed and the
//! same sequence of requests give the same answers.

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// SplitMix64: 64 bits of state, good statistical quality, trivially seedable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// A generator for one purpose (`label`) derived from `seed`, independent of
    /// how many values other purposes draw.
    pub fn for_purpose(seed: u64, label: &str) -> SplitMix64 {
        SplitMix64::new(seed ^ fnv1a(label.as_bytes()))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` must be non-zero; 0 gives 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.next_u64() % bound
    }

    /// `len` random characters from `[A-Za-z0-9]`.
    pub fn alnum(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let i = self.below(ALNUM.len() as u64) as usize;
                char::from(ALNUM.get(i).copied().unwrap_or(b'x'))
            })
            .collect()
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// FNV-1a, used to turn a purpose label into seed bits.
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(a.alnum(16), b.alnum(16));
    }

    #[test]
    fn purposes_are_independent_streams() {
        let mut a = SplitMix64::for_purpose(7, "keys");
        let mut b = SplitMix64::for_purpose(7, "jwt");
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn alnum_has_requested_length_and_alphabet() {
        let s = SplitMix64::new(1).alnum(100);
        assert_eq!(s.len(), 100);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
