//! The home-line scan: which of a line's records is the NIK's own record
//! with this hash remainder (docs/FORMAT.md, "Lookup").
//!
//! Every point lookup runs this once, on a line that has just arrived from
//! memory. What it costs is not its own latency (a few cycles beside a
//! memory access) but how many instructions wait on the line: they sit in
//! the CPU's scheduler until the line arrives, and while they do, fewer
//! later lookups fit in beside them, so fewer lines are fetched at once.
//! The scalar scan waits with about 30 instructions; the vector scan, with
//! AVX-512 VBMI, with about ten: one byte permutation gathers the three
//! records' remainders and displacements, one ternary-logic operation and
//! one test compare them. In alternating runs of the peer benchmark
//! (docs/BENCHMARKS.md, run of commit ac60322), independent `get` of the NIKs in
//! their home line took 63-66 ns scalar and 52-56 vector at 10 M persons,
//! 111-131 and 98-101 at 280 M; a dependent chain did not change beyond
//! the runs' spread.
//!
//! The walk over the lines after the home line (`Snapshot::walk_displaced`)
//! keeps its scalar scan with a branch per record. Matched with the vector
//! scan, pushed-out NIKs' independent `get` went 198-203 → 172-174 ns but
//! their dependent chain 370-376 → 380-398 ns: there the branch, mostly
//! predicted, lets the next lookup start before the compare resolves, and
//! the dependent figure is the one short of its goal (measured at 10 M).
//!
//! The vector scan is compiled in when the build targets a CPU with
//! AVX-512 F, BW, VBMI and BMI2 (this repository's `.cargo/config.toml`
//! builds for the CPU it runs on); it answers exactly as the scalar scan,
//! which tests check line by line.

use super::format::{
    LINE_COUNT_MASK, LINE_HEADER_AT, LINE_LEN, LINE_SLOTS, REC_DISP_AT, REC_DISP_SHIFT,
    REC_TAIL_AT, RECORD_LEN,
};

/// Whether this build has the vector scan (see the module docs).
pub const VECTOR_SCAN: bool = cfg!(all(
    target_arch = "x86_64",
    target_feature = "avx512f",
    target_feature = "avx512bw",
    target_feature = "avx512vbmi",
    target_feature = "bmi2"
));

/// The widest remainder mask the vector scan compares: it keeps a record's
/// tail bytes 0-6 (56 bits) beside its displacement byte in one 64-bit
/// lane. Files of fewer than 256 home lines have wider remainders and are
/// scanned by the scalar scan.
pub(crate) const VECTOR_MAX_MASK: u64 = (1 << 56) - 1;

/// The place (0-2) in `line` of the first record that is the NIK's own
/// (displacement 0) and holds remainder `rem` under `mask`, or a value of
/// at least [`LINE_SLOTS`] when there is none.
#[inline(always)]
pub(crate) fn home_line_match(line: &[u8; LINE_LEN], rem: u64, mask: u64) -> usize {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vbmi",
        target_feature = "bmi2"
    ))]
    if mask <= VECTOR_MAX_MASK {
        // SAFETY: the function needs AVX-512 F, BW, VBMI and BMI2, and this
        // code is compiled only when the build targets a CPU that has them.
        #[allow(unsafe_code)]
        return unsafe { vector::home_line_match(line, rem, mask) };
    }
    scalar_home_line_match(line, rem, mask)
}

/// [`home_line_match`] one record at a time.
///
/// No branch depends on the records: which record matches is data the
/// CPU learns only when the line arrives from memory, and a branch on it
/// would be mispredicted often and throw away the lookups started after
/// it. All three slots are compared and the answer kept with selects.
#[inline(always)]
pub(crate) fn scalar_home_line_match(line: &[u8; LINE_LEN], rem: u64, mask: u64) -> usize {
    let mut first = LINE_SLOTS;
    // Fixed offsets into the line, no `Option`: this loop is the lookup.
    for at in (0..LINE_SLOTS).rev() {
        let rec = at * RECORD_LEN;
        let disp = line[rec + REC_DISP_AT] >> REC_DISP_SHIFT;
        let r = tail_word(line, rec) ^ rem;
        first = std::hint::select_unpredictable((disp == 0) & (r & mask == 0), at, first);
    }
    // An unused slot is all zero, so it matches a remainder of 0; but the
    // line's records fill its first `count` slots, so a match past them
    // is the first match and one comparison settles it.
    let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK);
    std::hint::select_unpredictable(first < count, first, LINE_SLOTS)
}

/// Tail bits 0-63 of the record that starts at byte `rec` of the line.
#[inline(always)]
fn tail_word(line: &[u8; LINE_LEN], rec: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&line[rec + REC_TAIL_AT..rec + REC_TAIL_AT + 8]);
    u64::from_le_bytes(b)
}

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx512f",
    target_feature = "avx512bw",
    target_feature = "avx512vbmi",
    target_feature = "bmi2"
))]
mod vector {
    use std::arch::x86_64::{
        __m512i, _bzhi_u32, _mm512_loadu_si512, _mm512_permutexvar_epi8, _mm512_set1_epi64,
        _mm512_ternarylogic_epi64, _mm512_testn_epi64_mask,
    };

    use super::*;

    /// Where each byte of the gathered vector comes from: 64-bit lane `i`
    /// (records 0-2) holds record `i`'s tail bytes 0-6 and, as its top
    /// byte, the record's displacement byte. Lanes 3-7 are never read.
    const GATHER: [u8; 64] = {
        let mut index = [0u8; 64];
        let mut at = 0;
        while at < LINE_SLOTS {
            let mut b = 0;
            while b < 7 {
                index[at * 8 + b] = (at * RECORD_LEN + REC_TAIL_AT + b) as u8;
                b += 1;
            }
            index[at * 8 + 7] = (at * RECORD_LEN + REC_DISP_AT) as u8;
            at += 1;
        }
        index
    };

    /// The displacement's bits in a gathered lane: a NIK's own record has
    /// them all zero.
    const DISP_IN_LANE: u64 = (0xFF_u64 >> REC_DISP_SHIFT << REC_DISP_SHIFT) << 56;

    /// [`super::home_line_match`] for remainder masks of at most 56 bits,
    /// all three records at once. (Inlined into its caller, which the build
    /// compiles with the same features.)
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,bmi2")]
    pub(super) fn home_line_match(line: &[u8; LINE_LEN], rem: u64, mask: u64) -> usize {
        // SAFETY: `line` is 64 readable bytes, and `GATHER` is 64 bytes;
        // an unaligned 512-bit load needs nothing more.
        #[allow(unsafe_code)]
        let (bytes, gather) = unsafe {
            (
                _mm512_loadu_si512(line.as_ptr().cast::<__m512i>()),
                _mm512_loadu_si512(GATHER.as_ptr().cast::<__m512i>()),
            )
        };
        let lanes = _mm512_permutexvar_epi8(gather, bytes);
        // (lane ^ rem) & (mask | displacement): 0x28 is the truth table of
        // (a ^ b) & c.
        let differ = _mm512_ternarylogic_epi64::<0x28>(
            lanes,
            _mm512_set1_epi64(rem as i64),
            _mm512_set1_epi64((mask | DISP_IN_LANE) as i64),
        );
        let hits = u32::from(_mm512_testn_epi64_mask(differ, differ));
        // Only the first `count` slots hold records (see the scalar scan).
        let count = u32::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK);
        _bzhi_u32(hits, count).trailing_zeros() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (splitmix64).
    struct Mix(u64);
    impl Mix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// A line of `count` records with random bytes, the given
    /// displacements, and remainders drawn from a few values so that
    /// records of one line share them; unused slots zero, as the builder
    /// leaves them.
    fn line(mix: &mut Mix, count: usize, disps: [u8; 3], rems: &[u64], mask: u64) -> [u8; 64] {
        let mut line = [0u8; LINE_LEN];
        for (at, disp) in disps.iter().enumerate().take(count) {
            let rec = at * RECORD_LEN;
            for b in &mut line[rec..rec + RECORD_LEN] {
                *b = mix.next() as u8;
            }
            let rem = rems[mix.next() as usize % rems.len()] & mask;
            let tail = (tail_word(&line, rec) & !mask) | rem;
            line[rec + REC_TAIL_AT..rec + REC_TAIL_AT + 8].copy_from_slice(&tail.to_le_bytes());
            let keep = line[rec + REC_DISP_AT] & ((1 << REC_DISP_SHIFT) - 1);
            line[rec + REC_DISP_AT] = keep | disp << REC_DISP_SHIFT;
        }
        line[LINE_HEADER_AT] = count as u8 | (mix.next() as u8 & !LINE_COUNT_MASK);
        line
    }

    /// The rule of docs/FORMAT.md, written plainly: the first of the
    /// line's `count` records with displacement 0 and this remainder.
    fn model(line: &[u8; 64], rem: u64, mask: u64) -> Option<usize> {
        let count = usize::from(line[LINE_HEADER_AT] & LINE_COUNT_MASK);
        (0..count).find(|&at| {
            let rec = at * RECORD_LEN;
            line[rec + REC_DISP_AT] >> REC_DISP_SHIFT == 0
                && tail_word(line, rec) & mask == rem & mask
        })
    }

    #[test]
    fn both_scans_agree_with_the_format_rule() {
        let mut mix = Mix(7);
        let mut compared = 0u64;
        // Remainder widths from a 2^31-line file's 33 bits to a one-line
        // file's 64 (the vector scan takes masks of up to 56 bits).
        for rem_bits in [33u32, 38, 43, 50, 55, 56, 57, 60, 64] {
            let mask = u64::MAX >> (64 - rem_bits);
            for _ in 0..4000 {
                let count = (mix.next() % 4) as usize;
                // Mostly own records, some guests displaced 1-31 lines.
                let mut disps = [0u8; 3];
                for d in &mut disps {
                    *d = if mix.next().is_multiple_of(3) {
                        (mix.next() % 31 + 1) as u8
                    } else {
                        0
                    };
                }
                let rems = [mix.next(), mix.next(), 0];
                let l = line(&mut mix, count, disps, &rems, mask);
                // The remainders present, zero (an unused slot's) and a
                // random one.
                for rem in [rems[0], rems[1], 0, mix.next()] {
                    let rem = rem & mask;
                    let want = model(&l, rem, mask);
                    let got = home_line_match(&l, rem, mask);
                    let scalar = scalar_home_line_match(&l, rem, mask);
                    assert_eq!(want, (got < LINE_SLOTS).then_some(got), "{l:?} {rem:#x}");
                    assert_eq!(want, (scalar < LINE_SLOTS).then_some(scalar));
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 9 * 4000 * 4);
    }

    #[test]
    fn the_vector_scan_is_in_builds_for_a_cpu_that_has_it() {
        // A build for this CPU (the repository's cargo config) must have
        // the vector scan when the CPU offers it; otherwise the tests above
        // compared the scalar scan with itself.
        #[cfg(target_arch = "x86_64")]
        {
            let cpu_has_it = std::arch::is_x86_feature_detected!("avx512vbmi")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("bmi2");
            let portable = option_env!("TEPAT_PORTABLE_BUILD").is_some();
            assert!(
                VECTOR_SCAN || !cpu_has_it || portable,
                "built without the CPU's AVX-512 VBMI (set TEPAT_PORTABLE_BUILD=1 when building for another CPU)"
            );
        }
    }
}
