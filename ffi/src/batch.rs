//! Payee lists over arrays: rows of (NIK, program, period) text parsed into
//! [`BatchItem`]s, verified by [`Store::verify_batch`]. A row whose program
//! or period cannot be read is verified as `invalid_row` (not payable), as
//! `tepat batch` does; a row whose NIK is not valid as `invalid_nik`.
//! Shared by the C function and the Python package.

use tepat::batch::{BatchItem, BatchVerdict};
use tepat::verdict::ReasonSet;
use tepat::{Nik, Period, ProgramId, ReasonCode, Registry, Store};

use crate::codes::{Failure, tepat_status};

/// One row's text: NIK, program code, period.
pub type RowText<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Distinct program and period texts remembered per parser: a payee list
/// names few of them, so most rows compare a number instead of parsing.
const REMEMBERED: usize = 32;

/// A short text (up to 16 bytes: every program code and period in
/// practice) as numbers: its first and last 8 bytes (4 for 4-7 bytes;
/// shorter ones byte by byte) and its length, which together are the text.
/// Longer texts have none and are parsed every time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ShortKey(u64, u64, usize);

#[inline]
fn short_key(t: &[u8]) -> Option<ShortKey> {
    let n = t.len();
    let word = |b: &[u8]| -> u64 {
        match b.len() {
            8 => b.try_into().map_or(0, u64::from_le_bytes),
            4 => b
                .try_into()
                .map_or(0, |w: [u8; 4]| u64::from(u32::from_le_bytes(w))),
            _ => b
                .iter()
                .enumerate()
                .fold(0, |k, (i, x)| k | u64::from(*x) << (8 * i)),
        }
    };
    match n {
        0..=3 => Some(ShortKey(word(t), 0, n)),
        4..=7 => Some(ShortKey(word(t.get(..4)?), word(t.get(n - 4..)?), n)),
        8..=16 => Some(ShortKey(word(t.get(..8)?), word(t.get(n - 8..)?), n)),
        _ => None,
    }
}

/// The NIK of 16 ASCII digits, the answer of [`Nik::parse`] (which the
/// tests check): the digits checked and converted eight at a time, then
/// the NIK's rules by [`Nik::from_u64`].
#[inline]
fn nik_of(text: &[u8]) -> Option<Nik> {
    let digits: &[u8; 16] = text.try_into().ok()?;
    let (hi, lo) = digits.split_at(8);
    let hi = u64::from_le_bytes(hi.try_into().ok()?);
    let lo = u64::from_le_bytes(lo.try_into().ok()?);
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let all_digits =
        |w: u64| w & HIGH == ZEROS && w.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS;
    if !all_digits(hi) || !all_digits(lo) {
        return None;
    }
    Nik::from_u64(eight_digits(hi) * 100_000_000 + eight_digits(lo)).ok()
}

/// The value of eight ASCII digits loaded little-endian (the first digit
/// in the lowest byte), by pairs, quads and halves.
#[inline]
fn eight_digits(w: u64) -> u64 {
    let w = w - 0x3030_3030_3030_3030;
    let w = (w & 0x000F_000F_000F_000F) * 10 + ((w >> 8) & 0x000F_000F_000F_000F);
    let w = (w & 0x0000_00FF_0000_00FF) * 100 + ((w >> 16) & 0x0000_00FF_0000_00FF);
    (w & 0x0000_0000_0000_FFFF) * 10_000 + ((w >> 32) & 0x0000_0000_0000_FFFF)
}

/// Texts seen and what they parsed to, the last one found first.
struct Remembered<T> {
    seen: Vec<(ShortKey, Option<T>)>,
    last: usize,
}

impl<T: Copy> Remembered<T> {
    fn new() -> Remembered<T> {
        Remembered {
            seen: Vec::new(),
            last: 0,
        }
    }

    #[inline]
    fn get(&mut self, text: &[u8], parse: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let Some(key) = short_key(text) else {
            return std::str::from_utf8(text).ok().and_then(parse);
        };
        if let Some((k, v)) = self.seen.get(self.last)
            && *k == key
        {
            return *v;
        }
        if let Some(i) = self.seen.iter().position(|(k, _)| *k == key) {
            self.last = i;
            return self.seen.get(i).and_then(|(_, v)| *v);
        }
        let v = std::str::from_utf8(text).ok().and_then(parse);
        if self.seen.len() < REMEMBERED {
            self.last = self.seen.len();
            self.seen.push((key, v));
        }
        v
    }
}

/// Parses rows, remembering the program and period texts it has seen.
struct RowParser<'r> {
    registry: &'r Registry,
    programs: Remembered<ProgramId>,
    periods: Remembered<Period>,
}

impl<'r> RowParser<'r> {
    fn new(registry: &'r Registry) -> RowParser<'r> {
        RowParser {
            registry,
            programs: Remembered::new(),
            periods: Remembered::new(),
        }
    }

    /// The row's item, or `None` when its program or period cannot be read.
    #[inline]
    fn item(&mut self, (nik, program, period): RowText<'_>) -> Option<BatchItem> {
        let registry = self.registry;
        Some(BatchItem {
            nik: nik_of(nik),
            program: self.programs.get(program, |s| registry.require(s).ok())?,
            period: self.periods.get(period, |s| Period::parse(s).ok())?,
        })
    }
}

/// A parsed payee list: an item per row, and the rows that could not be
/// read (their items are placeholders).
pub struct Batch {
    items: Vec<BatchItem>,
    invalid: Vec<usize>,
}

impl Batch {
    /// Parses rows on this thread (`row(i)` need not be `Sync`).
    pub fn parse_here<'a>(
        registry: &Registry,
        n: usize,
        mut row: impl FnMut(usize) -> Result<RowText<'a>, Failure>,
    ) -> Result<Batch, Failure> {
        let placeholder = placeholder()?;
        let mut parser = RowParser::new(registry);
        let mut items = Vec::with_capacity(n);
        let mut invalid = Vec::new();
        for i in 0..n {
            match parser.item(row(i)?) {
                Some(item) => items.push(item),
                None => {
                    items.push(placeholder);
                    invalid.push(i);
                }
            }
        }
        Ok(Batch { items, invalid })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Verifies every row on `threads` threads (0: all cores): the verdict
    /// of row `i` in `out[i]` (`out` as long as the batch).
    pub fn verify(
        &self,
        store: &Store,
        threads: usize,
        out: &mut [BatchVerdict],
    ) -> Result<(), Failure> {
        if out.len() != self.items.len() {
            return Err(Failure::new(
                tepat_status::TEPAT_E_ARGUMENT,
                format!("{} verdicts for {} rows", out.len(), self.items.len()),
            ));
        }
        store.verify_batch(&self.items, out, threads)?;
        let mut bad = ReasonSet::default();
        bad.insert(ReasonCode::InvalidRow);
        for &i in &self.invalid {
            if let Some(v) = out.get_mut(i) {
                *v = BatchVerdict {
                    payable: false,
                    reasons: bad,
                };
            }
        }
        Ok(())
    }
}

/// Rows parsed and verified at a time by [`verify_stream`]: small enough
/// to stay in the cache between the two, large enough that a
/// `verify_batch` call's set-up costs nothing per row.
///
/// cbindgen:ignore
pub const STREAM_CHUNK: usize = 16_384;

/// Parses and verifies the rows `rows` yields, in order, on this thread,
/// [`STREAM_CHUNK`] at a time (no list of parsed rows as large as the
/// input: run one per thread over parts of a long list). `each(k,
/// verdicts)` gets the verdicts of the rows from the `k`-th on.
pub fn verify_stream<'a>(
    store: &Store,
    registry: &Registry,
    rows: impl Iterator<Item = RowText<'a>>,
    mut each: impl FnMut(usize, &[BatchVerdict]),
) -> Result<(), Failure> {
    let placeholder = placeholder()?;
    let mut parser = RowParser::new(registry);
    let mut items = Vec::with_capacity(STREAM_CHUNK);
    let mut invalid = Vec::new();
    let mut out = vec![BatchVerdict::default(); STREAM_CHUNK];
    let mut rows = rows;
    let mut done = 0;
    let mut bad = ReasonSet::default();
    bad.insert(ReasonCode::InvalidRow);
    loop {
        items.clear();
        invalid.clear();
        for row in rows.by_ref().take(STREAM_CHUNK) {
            match parser.item(row) {
                Some(item) => items.push(item),
                None => {
                    invalid.push(items.len());
                    items.push(placeholder);
                }
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let out = &mut out[..items.len()];
        store.verify_batch(&items, out, 1)?;
        for &i in &invalid {
            if let Some(v) = out.get_mut(i) {
                *v = BatchVerdict {
                    payable: false,
                    reasons: bad,
                };
            }
        }
        each(done, out);
        done += items.len();
    }
}

/// The item of a row that cannot be read, until its verdict is replaced.
fn placeholder() -> Result<BatchItem, Failure> {
    let program = ProgramId::new(0).ok_or_else(|| {
        Failure::new(
            tepat_status::TEPAT_E_INTERNAL,
            "program index 0 is not valid",
        )
    })?;
    Ok(BatchItem {
        nik: None,
        program,
        period: Period::parse("once")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_texts_parse_once_and_alike() {
        let registry = Registry::builtin();
        let mut p = RowParser::new(registry);
        let nik = b"3201015708900001";
        let a = p.item((nik, b"PKH", b"2026-Q4"));
        let b = p.item((nik, b"PKH", b"2026-Q4"));
        assert!(a.is_some() && a == b);
        assert_eq!(p.item((nik, b"PKH\0", b"2026-Q4")), None);
        assert_eq!(p.item((nik, b"NOPE", b"2026-Q4")), None);
        assert_eq!(p.item((nik, b"PKH", b"2026-Q9")), None);
        assert!(p.item((nik, b"SEMBAKO", b"2026-Q4")).is_some());
        let long = b"2026-Q4-and-more-than-fifteen";
        assert_eq!(p.item((nik, b"PKH", long)), None);
        assert_eq!(
            p.item((b"not a nik", b"PKH", b"2026-Q4")).map(|i| i.nik),
            Some(None)
        );
        assert!(short_key(b"ab") != short_key(b"ab\0"));
        assert!(short_key(b"PERMAKANAN") != short_key(b"PERMAKANAM"));
        assert!(short_key(b"2026-Q4") != short_key(b"2026-Q3"));
        assert!(short_key(&[b'x'; 16]).is_some() && short_key(&[b'x'; 17]).is_none());
    }

    #[test]
    fn keys_are_the_text() {
        // Every text of up to 9 bytes over a small alphabet: distinct texts,
        // distinct keys.
        let alphabet = [b'A', b'B', 0u8, 0xff];
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        let mut all = Vec::new();
        for _ in 0..9 {
            let mut next = Vec::new();
            for t in &texts {
                for a in alphabet {
                    let mut u = t.clone();
                    u.push(a);
                    next.push(u);
                }
            }
            all.extend(texts);
            texts = next;
        }
        all.extend(texts);
        let mut keys: Vec<(u64, u64, usize)> = all
            .iter()
            .filter_map(|t| short_key(t))
            .map(|k| (k.0, k.1, k.2))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn nik_of_agrees_with_nik_parse() {
        // SplitMix64 over digit strings near real NIKs and random bytes.
        let mut x = 7u64;
        let mut next = move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut valid = 0;
        for i in 0..200_000 {
            let mut t: Vec<u8> = b"3201015708900001".to_vec();
            let r = next();
            match i % 4 {
                // Random digits in random places.
                0 | 1 => {
                    for k in 0..(r % 5) as usize {
                        let at = ((r >> (8 + 4 * k)) % 16) as usize;
                        t[at] = b'0' + ((r >> (40 + k)) % 10) as u8;
                    }
                }
                // Any byte in one place, or another length.
                2 => t[(r % 16) as usize] = (r >> 8) as u8,
                _ => t.truncate((r % 17) as usize),
            }
            let parsed = std::str::from_utf8(&t)
                .ok()
                .and_then(|s| Nik::parse(s).ok());
            assert_eq!(nik_of(&t), parsed, "{t:?}");
            valid += usize::from(parsed.is_some());
        }
        assert!(valid > 10_000, "{valid}");
        for d in 0..=9u8 {
            assert_eq!(
                eight_digits(u64::from_le_bytes([b'0' + d; 8])),
                u64::from(d) * 11_111_111
            );
        }
        assert_eq!(eight_digits(u64::from_le_bytes(*b"12345678")), 12_345_678);
    }
}
