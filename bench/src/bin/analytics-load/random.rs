//! A small seeded generator (xoshiro256**, seeded by SplitMix64): the same
//! data for the same seed on every machine, without a dependency the bench
//! crate does not have.

use std::ops::{Range, RangeInclusive};

pub struct Random {
    s: [u64; 4],
}

impl Random {
    pub fn seeded(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn bool(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform in `range` (not empty).
    pub fn range(&mut self, range: Range<i64>) -> i64 {
        let span = (range.end - range.start).max(1) as u64;
        range.start + self.below(span) as i64
    }

    /// Uniform in `range` (not empty).
    pub fn inclusive(&mut self, range: RangeInclusive<i64>) -> i64 {
        self.range(*range.start()..*range.end() + 1)
    }

    /// Uniform index below `n` (n ≥ 1).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n.max(1) as u64) as usize
    }

    fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift: the bias is below 2^-64 × n, negligible here.
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }

    pub fn bytes10(&mut self) -> [u8; 10] {
        let a = self.u64().to_le_bytes();
        let b = self.u64().to_le_bytes();
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]]
    }
}
