//! Civil (proleptic Gregorian) dates, as the register writes them.
//!
//! A NIK and a KK carry a date as `DDMMYY` without the century, and the
//! register's `birth_date` column is `YYYY-MM-DD`. Both end up here. The date
//! is stored as days since 1900-01-01 where it must be compact (snapshot
//! records), so this module owns that conversion too.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// A calendar date between year 1 and 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Days between 0000-03-01 and 1970-01-01 in the era arithmetic below.
const UNIX_EPOCH_DAYS: i64 = 719_468;

impl Date {
    /// 1970-01-01.
    pub const EPOCH: Date = Date {
        year: 1970,
        month: 1,
        day: 1,
    };

    /// Builds a date, or `None` when it does not exist (31 April, 29 February
    /// of a common year, month 13, year 0).
    pub const fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if year == 0 || year > 9999 || month == 0 || month > 12 || day == 0 {
            return None;
        }
        if day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The year (1–9999).
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month (1–12).
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month (1–31).
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Parses `YYYY-MM-DD` exactly (ten ASCII characters).
    pub fn parse_iso(input: &str) -> Result<Date> {
        let b = input.as_bytes();
        let bad = |reason: &'static str| Error::Date {
            input: input.to_owned(),
            reason,
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad("expected YYYY-MM-DD"));
        }
        let year = digits(&b[0..4]).ok_or_else(|| bad("year is not 4 digits"))?;
        let month = digits(&b[5..7]).ok_or_else(|| bad("month is not 2 digits"))?;
        let day = digits(&b[8..10]).ok_or_else(|| bad("day is not 2 digits"))?;
        // The values fit: at most 9999, 99 and 99.
        Date::new(year as u16, month as u8, day as u8).ok_or_else(|| bad("no such date"))
    }

    /// Days since the Unix epoch (1970-01-01), negative before it.
    pub const fn to_unix_days(self) -> i64 {
        // Howard Hinnant's days_from_civil, with March as the first month so
        // the leap day is the last day of the shifted year.
        let y = self.year as i64 - if self.month <= 2 { 1 } else { 0 };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - UNIX_EPOCH_DAYS
    }

    /// The date `days` after 1970-01-01, or `None` outside years 1–9999.
    pub const fn from_unix_days(days: i64) -> Option<Date> {
        let z = days + UNIX_EPOCH_DAYS;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
        if year < 1 || year > 9999 {
            return None;
        }
        Date::new(year as u16, month as u8, day as u8)
    }

    /// Today's date in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // A clock before 1970 or past 9999 is broken; fall back to the epoch.
        Date::from_unix_days(secs.div_euclid(86_400)).unwrap_or(Date::EPOCH)
    }

    /// Whole years of age on `on` for a person born on `self` (0 when `on`
    /// is before the birth).
    pub const fn age_on(self, on: Date) -> u16 {
        if on.year < self.year {
            return 0;
        }
        let mut age = on.year - self.year;
        if on.month < self.month || (on.month == self.month && on.day < self.day) {
            age = age.saturating_sub(1);
        }
        age
    }
}

/// A time in milliseconds since the Unix epoch as ISO 8601 in UTC:
/// `2026-12-02T05:33:23.123Z`.
pub fn iso_utc(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let in_day = ms % 86_400_000;
    let date =
        Date::from_unix_days(days).map_or_else(|| "????-??-??".to_owned(), |d| d.to_string());
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// The number of days in `month` (1–12) of `year`; 0 for a month out of range.
pub const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The value of a run of ASCII digits, or `None` if any byte is not a digit.
pub(crate) fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Resolves a two-digit year to a full date by the century rule shared by
/// NIK and KK: 20YY, unless that date lies after `reference` (or does not
/// exist), then 19YY. `None` when the day and month exist in neither century.
pub(crate) fn resolve_century(yy: u8, month: u8, day: u8, reference: Date) -> Option<Date> {
    let yy = u16::from(yy);
    let recent = Date::new(2000 + yy, month, day);
    let older = Date::new(1900 + yy, month, day);
    match (recent, older) {
        (Some(r), _) if r <= reference => Some(r),
        (_, Some(o)) => Some(o),
        (r, None) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_days_round_trip_over_two_centuries() {
        for days in -36_600..55_000 {
            let d = Date::from_unix_days(days).unwrap();
            assert_eq!(d.to_unix_days(), days, "{d}");
        }
        assert_eq!(Date::new(1970, 1, 1).unwrap().to_unix_days(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().to_unix_days(), 11_017);
    }

    #[test]
    fn leap_rules() {
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2023, 4, 31).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
        assert!(Date::new(2023, 1, 0).is_none());
    }

    #[test]
    fn iso_parse_is_strict() {
        assert_eq!(
            Date::parse_iso("1990-07-01").unwrap(),
            Date::new(1990, 7, 1).unwrap()
        );
        for bad in [
            "1990-7-01",
            "1990/07/01",
            "1990-02-30",
            "19900701",
            "1990-07-01 ",
            "abcd-07-01",
        ] {
            assert!(Date::parse_iso(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn age_counts_whole_years() {
        let born = Date::new(2000, 7, 1).unwrap();
        assert_eq!(born.age_on(Date::new(2026, 6, 30).unwrap()), 25);
        assert_eq!(born.age_on(Date::new(2026, 7, 1).unwrap()), 26);
        assert_eq!(born.age_on(Date::new(1999, 1, 1).unwrap()), 0);
    }

    #[test]
    fn century_rule() {
        let reference = Date::new(2026, 11, 26).unwrap();
        assert_eq!(resolve_century(26, 11, 26, reference).unwrap().year(), 2026);
        assert_eq!(resolve_century(26, 11, 27, reference).unwrap().year(), 1926);
        assert_eq!(resolve_century(0, 2, 29, reference).unwrap().year(), 2000);
        let early = Date::new(1999, 1, 1).unwrap();
        // 29 Feb 2000 lies after the reference and 1900 has no 29 Feb: the
        // only date that exists wins.
        assert_eq!(resolve_century(0, 2, 29, early).unwrap().year(), 2000);
        assert!(resolve_century(1, 2, 29, reference).is_none());
    }
}
