//! KK (Nomor Kartu Keluarga), the 16-digit family card number.
//!
//! ```text
//!  P P R R D D   D D M M Y Y   S S S S
//!  └─ district ─┘└issue date┘  └serial┘  serial 0001-9999
//! ```
//!
//! Unlike a NIK, the date is the card's issue date with no +40. A person
//! belongs to one KK at a time, and KK numbers change (divorce, a family
//! split, the head of family dies) while NIKs do not.

use std::fmt;
use std::str::FromStr;

use crate::domain::date::{self, Date};
use crate::domain::nik::{
    KEYED_BIT, KEYED_VALUE_MASK, digits2, exists_in_either_century, first_non_digit, is_pseudonym,
    pair,
};
use crate::domain::region;
use crate::error::{Error, KkError};

/// A valid family card number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Kk(u64);

impl Kk {
    /// Parses exactly 16 ASCII digits: a known province, an issue date that
    /// exists in 19YY or 20YY, serial 0001–9999.
    pub fn parse(input: &str) -> Result<Kk, KkError> {
        let bytes = input.as_bytes();
        if bytes.len() != 16 {
            return Err(match first_non_digit(input) {
                Some((position, found)) if bytes.len() < 16 => {
                    KkError::NotDigit { position, found }
                }
                _ => KkError::Length { len: bytes.len() },
            });
        }
        let mut value = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                let found = input[i..].chars().next().unwrap_or('?');
                return Err(KkError::NotDigit {
                    position: i + 1,
                    found,
                });
            }
            value = value * 10 + u64::from(b - b'0');
        }
        Kk::check(value)
    }

    /// Checks a number as a KK, or as a pseudonym read back from a keyed
    /// store ([`crate::Nik::is_keyed`]).
    pub fn from_u64(value: u64) -> Result<Kk, KkError> {
        if is_pseudonym(value) {
            return Ok(Kk(value));
        }
        if value > 9_999_999_999_999_999 {
            return Err(KkError::Length { len: 17 });
        }
        Kk::check(value)
    }

    /// Builds a KK from its district `PPRRDD`, issue date and serial.
    pub fn from_parts(district: u32, issued: Date, serial: u16) -> Result<Kk, KkError> {
        if district >= 1_000_000 || serial >= 10_000 {
            return Err(KkError::Length { len: 17 });
        }
        let ddmmyy = u64::from(issued.day()) * 10_000
            + u64::from(issued.month()) * 100
            + u64::from(issued.year() % 100);
        Kk::check(u64::from(district) * 10_000_000_000 + ddmmyy * 10_000 + u64::from(serial))
    }

    /// A pseudonym read back from a keyed store (docs/FORMAT.md, "Keyed
    /// snapshots").
    pub(crate) const fn from_stored(value: u64) -> Kk {
        Kk(value)
    }

    fn check(value: u64) -> Result<Kk, KkError> {
        let province = pair(value, 14);
        if !region::is_province(province) {
            return Err(KkError::UnknownProvince {
                code: digits2(province),
            });
        }
        let (day, month, year) = (pair(value, 8), pair(value, 6), pair(value, 4));
        let exists = (1..=31).contains(&day)
            && (1..=12).contains(&month)
            && exists_in_either_century(year, month, day);
        if !exists {
            return Err(KkError::Date {
                day: digits2(day),
                month: digits2(month),
                year: digits2(year),
            });
        }
        if value.is_multiple_of(10_000) {
            return Err(KkError::Serial);
        }
        Ok(Kk(value))
    }

    /// Whether this is a keyed store's pseudonym, not a KK.
    #[inline]
    pub const fn is_keyed(self) -> bool {
        self.0 & KEYED_BIT != 0
    }

    /// The KK as a number.
    #[inline]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The district code `PPRRDD` where the card was issued.
    pub const fn district_code(self) -> u32 {
        (self.0 / 10_000_000_000) as u32
    }

    /// The issue date, with the century rule of [`crate::Nik::birth_date`].
    pub fn issue_date(self, reference: Date) -> Date {
        date::resolve_century(pair(self.0, 4), pair(self.0, 6), pair(self.0, 8), reference)
            .unwrap_or(reference)
    }

    /// The serial (1–9999).
    pub const fn serial(self) -> u16 {
        (self.0 % 10_000) as u16
    }
}

impl fmt::Display for Kk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_keyed() {
            return write!(f, "k{:014x}", self.0 & KEYED_VALUE_MASK);
        }
        write!(f, "{:016}", self.0)
    }
}

impl FromStr for Kk {
    type Err = Error;

    /// [`Kk::parse`], with the input kept in the error.
    fn from_str(input: &str) -> Result<Kk, Error> {
        Kk::parse(input).map_err(|reason| Error::Kk {
            input: input.to_owned(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Digits2;

    #[test]
    fn valid_kk_and_fields() {
        let kk = Kk::parse("3201011503150007").unwrap();
        assert_eq!(kk.district_code(), 320101);
        assert_eq!(kk.serial(), 7);
        assert_eq!(
            kk.issue_date(Date::new(2026, 1, 1).unwrap()),
            Date::new(2015, 3, 15).unwrap()
        );
        assert_eq!(kk.to_string(), "3201011503150007");
    }

    #[test]
    fn every_rule_refuses() {
        assert_eq!(
            Kk::parse("320101150315000"),
            Err(KkError::Length { len: 15 })
        );
        assert_eq!(
            Kk::parse("32010115031500x7"),
            Err(KkError::NotDigit {
                position: 15,
                found: 'x'
            })
        );
        assert_eq!(
            Kk::parse("9901011503150007"),
            Err(KkError::UnknownProvince {
                code: Digits2(*b"99")
            })
        );
        // A KK has no +40: day 45 is not a day.
        assert!(matches!(
            Kk::parse("3201014503150007"),
            Err(KkError::Date { .. })
        ));
        assert!(matches!(
            Kk::parse("3201010003150007"),
            Err(KkError::Date { .. })
        ));
        assert!(matches!(
            Kk::parse("3201013104150007"),
            Err(KkError::Date { .. })
        ));
        assert!(matches!(
            Kk::parse("3201011513150007"),
            Err(KkError::Date { .. })
        ));
        assert!(Kk::parse("3201012902000007").is_ok());
        assert_eq!(Kk::parse("3201011503150000"), Err(KkError::Serial));
    }

    #[test]
    fn from_parts_round_trips() {
        let kk = Kk::from_parts(320101, Date::new(2015, 3, 15).unwrap(), 7).unwrap();
        assert_eq!(kk, Kk::parse("3201011503150007").unwrap());
        assert_eq!(Kk::from_u64(kk.get()), Ok(kk));
    }
}
