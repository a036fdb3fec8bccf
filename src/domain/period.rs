//! Payout periods: `2026-11` (month), `2026-Q4` (quarter), `2026` (year),
//! `once`.
//!
//! Every program is paid per one kind of period (the registry says which),
//! and a claim is unique per program, period and person or family. A period
//! of the wrong kind for a program is an error, never a silent conversion.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::date::Date;
use crate::error::{Error, Result};

/// The kind of period a program is paid by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// Calendar month: `2026-11`.
    Month,
    /// Calendar quarter: `2026-Q4`.
    Quarter,
    /// Calendar year: `2026`.
    Year,
    /// Paid at most once in a lifetime: `once`.
    Once,
}

impl PeriodKind {
    /// The kind's name, as the registry file writes it.
    pub const fn name(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
            PeriodKind::Once => "once",
        }
    }
}

/// Which periods of a program are open for payment, counted in periods of
/// the program's kind around the period that contains the store's date:
/// `before` periods back (late payments), `after` ahead. The default, the
/// current period and the one before, is what a payout point pays: this
/// round, and a late payment of the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Periods before the current one that are still open.
    pub before: u16,
    /// Periods after the current one that are already open.
    pub after: u16,
}

impl Default for Window {
    fn default() -> Window {
        Window {
            before: 1,
            after: 0,
        }
    }
}

impl Window {
    /// Whether `period` is open on `today`. A `once` period is always open.
    pub fn is_open(self, period: Period, today: Date) -> bool {
        self.is_open_at(period, Period::containing(period.kind(), today).ordinal())
    }

    /// [`Window::is_open`] with the current period's ordinal computed once
    /// (the batch path asks for millions of rows).
    #[inline]
    pub fn is_open_at(self, period: Period, current: i64) -> bool {
        if period.kind() == PeriodKind::Once {
            return true;
        }
        let p = period.ordinal();
        p >= current - i64::from(self.before) && p <= current + i64::from(self.after)
    }
}

/// One payout period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A calendar month.
    Month {
        /// Year, 1000–9999.
        year: u16,
        /// Month, 1–12.
        month: u8,
    },
    /// A calendar quarter.
    Quarter {
        /// Year, 1000–9999.
        year: u16,
        /// Quarter, 1–4.
        quarter: u8,
    },
    /// A calendar year, 1000–9999.
    Year(u16),
    /// The single lifetime period of a one-off program.
    Once,
}

impl Period {
    /// Parses `YYYY-MM`, `YYYY-Qn`, `YYYY` or `once`.
    pub fn parse(input: &str) -> Result<Period> {
        let bad = |reason| Error::Period {
            input: input.to_owned(),
            reason,
        };
        if input == "once" {
            return Ok(Period::Once);
        }
        let b = input.as_bytes();
        let year =
            b.get(..4)
                .and_then(crate::domain::date::digits)
                .filter(|y| *y >= 1000)
                .ok_or_else(|| bad("expected YYYY-MM, YYYY-Qn, YYYY or once"))? as u16;
        match b.get(4..) {
            Some([]) => Ok(Period::Year(year)),
            Some([b'-', b'Q', q]) => match q {
                b'1'..=b'4' => Ok(Period::Quarter {
                    year,
                    quarter: q - b'0',
                }),
                _ => Err(bad("a quarter is Q1 to Q4")),
            },
            Some([b'-', m1, m2]) => match crate::domain::date::digits(&[*m1, *m2]) {
                Some(m @ 1..=12) => Ok(Period::Month {
                    year,
                    month: m as u8,
                }),
                _ => Err(bad("a month is 01 to 12")),
            },
            _ => Err(bad("expected YYYY-MM, YYYY-Qn, YYYY or once")),
        }
    }

    /// The period's kind.
    pub const fn kind(self) -> PeriodKind {
        match self {
            Period::Month { .. } => PeriodKind::Month,
            Period::Quarter { .. } => PeriodKind::Quarter,
            Period::Year(_) => PeriodKind::Year,
            Period::Once => PeriodKind::Once,
        }
    }

    /// The period of `kind` that contains `date`.
    pub const fn containing(kind: PeriodKind, date: Date) -> Period {
        match kind {
            PeriodKind::Month => Period::Month {
                year: date.year(),
                month: date.month(),
            },
            PeriodKind::Quarter => Period::Quarter {
                year: date.year(),
                quarter: (date.month() - 1) / 3 + 1,
            },
            PeriodKind::Year => Period::Year(date.year()),
            PeriodKind::Once => Period::Once,
        }
    }

    /// The period's place in the sequence of periods of its kind (months,
    /// quarters or years since year 0); 0 for [`Period::Once`]. Periods of
    /// one kind differ by the difference of their ordinals.
    pub const fn ordinal(self) -> i64 {
        match self {
            Period::Month { year, month } => year as i64 * 12 + month as i64 - 1,
            Period::Quarter { year, quarter } => year as i64 * 4 + quarter as i64 - 1,
            Period::Year(year) => year as i64,
            Period::Once => 0,
        }
    }

    /// The first day of the period; `None` for [`Period::Once`].
    pub fn first_day(self) -> Option<Date> {
        match self {
            Period::Month { year, month } => Date::new(year, month, 1),
            Period::Quarter { year, quarter } => Date::new(year, (quarter - 1) * 3 + 1, 1),
            Period::Year(year) => Date::new(year, 1, 1),
            Period::Once => None,
        }
    }

    /// A compact, order-preserving number for keys: kind in the top bits,
    /// then year and the month or quarter. `once` is 0.
    pub const fn to_key(self) -> u32 {
        match self {
            Period::Once => 0,
            Period::Year(y) => (1 << 28) | ((y as u32) << 8),
            Period::Quarter { year, quarter } => (2 << 28) | ((year as u32) << 8) | quarter as u32,
            Period::Month { year, month } => (3 << 28) | ((year as u32) << 8) | month as u32,
        }
    }

    /// The inverse of [`Period::to_key`].
    pub fn from_key(key: u32) -> Option<Period> {
        let year = ((key >> 8) & 0xFFFF) as u16;
        let low = (key & 0xFF) as u8;
        let period = match key >> 28 {
            0 if key == 0 => Period::Once,
            1 if low == 0 => Period::Year(year),
            2 => Period::Quarter { year, quarter: low },
            3 => Period::Month { year, month: low },
            _ => return None,
        };
        // Round-trip through text to reject out-of-range parts.
        Period::parse(&period.to_string())
            .ok()
            .filter(|p| *p == period)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year(year) => write!(f, "{year:04}"),
            Period::Once => f.write_str("once"),
        }
    }
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Period> {
        Period::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_every_kind() {
        for text in ["2026-11", "2026-01", "2026-Q4", "2026-Q1", "2026", "once"] {
            let p = Period::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(Period::from_key(p.to_key()), Some(p), "{text}");
        }
        assert_eq!(
            Period::parse("2026-Q4").unwrap().kind(),
            PeriodKind::Quarter
        );
    }

    #[test]
    fn the_window_opens_the_current_period_and_the_one_before() {
        let today = Date::new(2026, 1, 15).unwrap();
        let w = Window::default();
        let open = |p: &str| w.is_open(Period::parse(p).unwrap(), today);
        // Across a year boundary, per kind.
        assert!(open("2026-01") && open("2025-12"));
        assert!(!open("2025-11") && !open("2026-02"));
        assert!(open("2026-Q1") && open("2025-Q4") && !open("2025-Q3") && !open("2026-Q2"));
        assert!(open("2026") && open("2025") && !open("2024") && !open("2027"));
        assert!(open("once"));
        assert!(!open("9999-Q4") && !open("1000-Q1"));
        let wide = Window {
            before: 3,
            after: 1,
        };
        assert!(wide.is_open(Period::parse("2026-02").unwrap(), today));
        assert!(wide.is_open(Period::parse("2025-10").unwrap(), today));
        assert!(!wide.is_open(Period::parse("2025-09").unwrap(), today));
    }

    #[test]
    fn malformed_periods_are_refused() {
        for bad in [
            "2026-13",
            "2026-00",
            "2026-Q5",
            "2026-Q0",
            "26-11",
            "2026-1",
            "Once",
            "",
            "2026-11-01",
            "0999",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_order_like_periods_of_one_kind() {
        let a = Period::parse("2026-09").unwrap().to_key();
        let b = Period::parse("2026-10").unwrap().to_key();
        let c = Period::parse("2027-01").unwrap().to_key();
        assert!(a < b && b < c);
        assert_eq!(Period::from_key(0x7000_0000), None);
    }

    #[test]
    fn containing_a_date() {
        let d = Date::new(2026, 11, 26).unwrap();
        assert_eq!(
            Period::containing(PeriodKind::Quarter, d).to_string(),
            "2026-Q4"
        );
        assert_eq!(
            Period::containing(PeriodKind::Month, d).to_string(),
            "2026-11"
        );
        assert_eq!(
            Period::parse("2026-Q4").unwrap().first_day(),
            Date::new(2026, 10, 1)
        );
    }
}
