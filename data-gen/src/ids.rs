//! Birth dates, NIK serials and KK numbers.
//!
//! NIK serial blocks make serials globally unique with no shared state
//! between chunks (a chunk is one district of residence):
//!
//! | serials | who | why unique |
//! |---|---|---|
//! | 0001–4999 | NIK issued in the district of residence | only this district's chunk issues them |
//! | 5000–8999 | issued in partner district `movers[k]`, block k = 1000 serials | `movers[k]` is a bijection: one chunk per issuing district and block |
//! | 0001–9999 of a former code | Papua, issued before the 2022 split | a former code has one successor: one chunk |
//! | 9000–9499 | births in `changes.csv` | no register row uses them |
//! | 9500–9999 | `unknown_nik` payee rows | no register row or birth uses them |
//!
//! Within a block serials count up per (district, birth date, sex). Should a
//! block ever fill up, the birth date moves one day earlier (never seen up
//! to 280 M persons: the largest count is a few hundred).
//!
//! KKs count up per (district of residence, issue date) from 0001 in the
//! register (up to 8999) and from 9000 for new cards in `changes.csv`.

use std::collections::HashMap;

use tepat::{Date, Kk, Nik, Sex};

use crate::rng::Rng;

/// The first serial of the native block, and one past its last.
pub const NATIVE: (u16, u16) = (1, 5000);
/// Serials of mover block 0 start here; block k at `MOVER_BASE + 1000 k`.
pub const MOVER_BASE: u16 = 5000;
/// Serials of new persons (births) in `changes.csv`.
pub const BIRTH_BLOCK: (u16, u16) = (9000, 9500);
/// Serials of `unknown_nik` payee rows.
pub const UNKNOWN_BLOCK: (u16, u16) = (9500, 10_000);
/// Register KK serials are below this; new KKs in `changes.csv` use it and up.
pub const KK_CHANGES_BASE: u16 = 9000;

/// Share of birth dates heaped on 1 January, 31 December and 1 July, by age
/// band (under 18, 18–49, 50+): people with unknown birth dates.
pub const HEAPING: [(u16, f64); 3] = [(0, 0.01), (18, 0.05), (50, 0.12)];

/// Where a NIK was issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The district of residence.
    Native,
    /// Partner district block `k`.
    Mover(usize),
    /// A former (pre-2022) code, index into the district's formers.
    Former(usize),
}

/// A birth date for someone of `age` whole years on `as_of` (uniform over
/// the year of birthdays), sometimes heaped on 1 Jan / 31 Dec / 1 Jul.
pub fn birth_date(rng: &mut Rng, as_of: Date, age: u16) -> Date {
    let years_before = |n: u16| {
        let year = as_of.year() - n;
        // 29 February has no anniversary in a common year.
        Date::new(year, as_of.month(), as_of.day())
            .or_else(|| Date::new(year, as_of.month(), as_of.day() - 1))
            .map_or(0, Date::to_unix_days)
    };
    let hi = years_before(age) - if age == 0 { 1 } else { 0 };
    let lo = years_before(age + 1) + 1;
    let days = lo + rng.below((hi - lo + 1).max(1) as u64) as i64;
    let date = Date::from_unix_days(days).unwrap_or(as_of);
    let heap = HEAPING
        .iter()
        .rev()
        .find(|(from, _)| age >= *from)
        .map_or(0.0, |h| h.1);
    if !rng.chance(heap) {
        return date;
    }
    let (month, day) = match rng.below(9) {
        0..=4 => (1, 1),
        5..=6 => (12, 31),
        _ => (7, 1),
    };
    match Date::new(date.year(), month, day) {
        Some(h) if h < as_of => h,
        _ => date,
    }
}

/// Per-chunk serial counters.
pub struct Serials {
    as_of_days: i64,
    /// Native counters, indexed by (days before as-of, sex).
    native: Vec<u16>,
    /// Mover and former counters: (origin, day, sex) -> count.
    other: HashMap<u64, u16>,
    /// KK counters by issue day since 2000-01-01.
    kk: Vec<u16>,
}

/// Native counters cover birth dates up to this many days before as-of.
const NATIVE_SPAN: i64 = 37_000;
const KK_EPOCH: Date = match Date::new(2000, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

impl Serials {
    /// Fresh counters for one chunk.
    pub fn new(as_of: Date) -> Serials {
        let as_of_days = as_of.to_unix_days();
        let kk_days = (as_of_days - KK_EPOCH.to_unix_days()).max(1) as usize;
        Serials {
            as_of_days,
            native: vec![0; 2 * NATIVE_SPAN as usize],
            other: HashMap::new(),
            kk: vec![0; kk_days],
        }
    }

    /// Allocates a NIK for a person of `birth` and `sex` issued in `district`
    /// by `origin` (the district's code for `Native`, the partner's or the
    /// former code otherwise). Returns the NIK and the birth date it was
    /// allocated with (moved earlier only if a block were full).
    pub fn nik(&mut self, district: u32, origin: Origin, sex: Sex, birth: Date) -> (Nik, Date) {
        let mut birth = birth;
        loop {
            if let Some(serial) = self.next_serial(origin, sex, birth)
                && let Ok(nik) = Nik::from_parts(district, sex, birth, serial)
            {
                return (nik, birth);
            }
            birth = Date::from_unix_days(birth.to_unix_days() - 1).unwrap_or(birth);
        }
    }

    fn next_serial(&mut self, origin: Origin, sex: Sex, birth: Date) -> Option<u16> {
        let before = self.as_of_days - birth.to_unix_days();
        let sex_bit = usize::from(sex == Sex::Female);
        if origin == Origin::Native && (0..NATIVE_SPAN).contains(&before) {
            let slot = &mut self.native[2 * before as usize + sex_bit];
            *slot += 1;
            return (*slot < NATIVE.1).then_some(*slot);
        }
        let (tag, base, limit) = match origin {
            // Natives born more than 100 years ago share a hashed block.
            Origin::Native => (0, NATIVE.0 - 1, NATIVE.1 - 1),
            Origin::Mover(k) => (1 + k as u64, MOVER_BASE + 1000 * k as u16, 999),
            Origin::Former(i) => (16 + i as u64, 0, 9999),
        };
        let key = (tag << 40) | (((before as u64) & 0xFF_FFFF_FFFF) << 1) | sex_bit as u64;
        let count = self.other.entry(key).or_insert(0);
        *count += 1;
        (*count <= limit).then_some(base + *count)
    }

    /// A KK for a family in `district` whose head was born on `head_birth`:
    /// issued between the head's 17th birthday (or 2000) and the day before
    /// as-of.
    pub fn kk(&mut self, rng: &mut Rng, district: u32, head_birth: Date) -> Kk {
        let epoch = KK_EPOCH.to_unix_days();
        let last = self.as_of_days - 1;
        let lo = (head_birth.to_unix_days() + 17 * 365).max(epoch).min(last);
        let mut day = lo + rng.below((last - lo + 1) as u64) as i64;
        loop {
            let last_slot = self.kk.len() - 1;
            let slot = &mut self.kk[((day - epoch).max(0) as usize).min(last_slot)];
            *slot += 1;
            let issued = Date::from_unix_days(day).unwrap_or(KK_EPOCH);
            if *slot < KK_CHANGES_BASE
                && let Ok(kk) = Kk::from_parts(district, issued, *slot)
            {
                return kk;
            }
            day -= 1;
        }
    }
}
