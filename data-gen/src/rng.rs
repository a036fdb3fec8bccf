//! A portable pseudo-random generator: SplitMix64.
//!
//! Written here rather than taken from `rand` so that the stream of numbers
//! is fixed by this file alone: the same seed gives the same output on any
//! machine, compiler and dependency version. Only integer arithmetic and
//! exactly rounded float operations are used.

/// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, one
/// multiply-xorshift finaliser per draw. Fast and good enough for
/// simulation; not for cryptography.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijective 64-bit mix.
pub const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for one independent stream: the run's seed, a stream tag
    /// (what the numbers are for) and an index (which chunk). Parallel
    /// workers derive their streams this way, so the thread count never
    /// changes a number.
    pub fn stream(seed: u64, tag: u64, index: u64) -> Rng {
        let a = mix(seed ^ mix(tag.wrapping_add(GAMMA)));
        Rng {
            state: mix(a ^ mix(index.wrapping_mul(GAMMA).wrapping_add(tag))),
        }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A uniform integer in `0..n` (0 when `n` is 0), by Lemire's
    /// multiply-high method (the tiny bias, below 2^-32 for our `n`, does
    /// not matter here).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index in `0..n`.
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An integer in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// An index drawn from a cumulative distribution (`cdf` ascending, last
    /// entry 1.0).
    pub fn pick(&mut self, cdf: &[f64]) -> usize {
        let u = self.unit();
        cdf.iter()
            .position(|&c| u < c)
            .unwrap_or(cdf.len().saturating_sub(1))
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// Turns weights into a cumulative distribution ending exactly at 1.0.
pub fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_fixed_and_distinct() {
        let mut a = Rng::stream(1, 2, 3);
        let mut b = Rng::stream(1, 2, 3);
        let mut c = Rng::stream(1, 2, 4);
        let x = a.next_u64();
        assert_eq!(x, b.next_u64());
        assert_ne!(x, c.next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::stream(7, 0, 0);
        for n in 1..100 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
    }
}
