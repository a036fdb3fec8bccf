//! NIK, the 16-digit national identity number.
//!
//! ```text
//!  P P R R D D   D D M M Y Y   S S S S
//!  └province┘                 └serial┘  serial 0001-9999, never 0000
//!  └─ district (PPRRDD) ┘
//!                └birth date┘  day + 40 for women; no century
//! ```
//!
//! The region prefix is where the NIK was first issued and never changes, so
//! it may be a code that is no longer on the list (Papua before the 2022
//! split). There is no check digit. A NIK is at most 9,999,999,999,999,999,
//! which fits a `u64` but not the 53-bit integers of JSON numbers: at every
//! JSON boundary a NIK is a string.

use std::fmt;
use std::str::FromStr;

use crate::domain::date::{self, Date};
use crate::domain::region;
use crate::error::{Digits2, Error, NikError};

/// A person's sex as the NIK (and the register) records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sex {
    /// Male: the NIK's day is 01–31.
    Male,
    /// Female: the NIK's day is 41–71 (day + 40).
    Female,
}

impl Sex {
    /// `"M"` or `"F"`, as the register and the JSON output write it.
    pub const fn letter(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
}

/// A valid NIK. Every constructor checks the rules of the module docs, so a
/// `Nik` value is always one that could have been issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Nik(u64);

const NIK_LEN: usize = 16;

/// Marks a keyed identity: at a keyed payout-point store (docs/FORMAT.md,
/// "Keyed snapshots") persons and families are known by a pseudonym, a
/// keyed permutation of the NIK or KK, held as this bit and the 54-bit
/// permuted value. A pseudonym is never a NIK (it exceeds 16 digits), it
/// is written `k` and 14 hexadecimal digits, and no text parses as one.
pub const KEYED_BIT: u64 = 1 << 62;
/// The permuted value's bits in a pseudonym (NIKs and KKs fit in 54).
pub const KEYED_VALUE_MASK: u64 = (1 << 54) - 1;

/// The text of a NIK or KK held as a number: 16 digits, or `k` and 14
/// hexadecimal digits for a keyed store's pseudonym — how every output
/// (JSON, CSV, the audit) writes one.
pub fn identity_text(value: u64) -> String {
    if is_pseudonym(value) {
        format!("k{:014x}", value & KEYED_VALUE_MASK)
    } else {
        format!("{value:016}")
    }
}

/// Whether `value` is a pseudonym: the keyed bit and 54 bits, nothing else.
pub(crate) const fn is_pseudonym(value: u64) -> bool {
    value & !(KEYED_BIT | KEYED_VALUE_MASK) == 0 && value & KEYED_BIT != 0
}

impl Nik {
    /// The largest value a NIK can have (16 nines); larger than 2^53.
    pub const MAX: u64 = 9_999_999_999_999_999;

    /// Parses exactly 16 ASCII digits and checks every rule: province on the
    /// list, day 01–31 or 41–71, month 01–12, a date that exists in 19YY or
    /// 20YY, serial not 0000. Nothing is trimmed or stripped; see
    /// [`Nik::parse_lenient`] for input typed by people.
    ///
    /// The error is a small `Copy` value so that refusing a bad row in a
    /// batch costs no allocation; [`Nik::from_str`] gives a full [`Error`].
    pub fn parse(input: &str) -> Result<Nik, NikError> {
        let bytes = input.as_bytes();
        if bytes.len() != NIK_LEN {
            return Err(match first_non_digit(input) {
                // Say "not a digit" first when the input is not even numeric
                // and short: that is the more useful message for `12a4`.
                Some((position, found)) if bytes.len() < NIK_LEN => {
                    NikError::NotDigit { position, found }
                }
                _ => NikError::Length { len: bytes.len() },
            });
        }
        let mut value = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                let found = input[i..].chars().next().unwrap_or('?');
                return Err(NikError::NotDigit {
                    position: i + 1,
                    found,
                });
            }
            value = value * 10 + u64::from(b - b'0');
        }
        Nik::check(value)
    }

    /// Like [`Nik::parse`], after removing spaces, dots and dashes, the
    /// separators people type (`3201 0101 0190 0001`, `32.01.01-010190-0001`).
    pub fn parse_lenient(input: &str) -> Result<Nik, NikError> {
        let cleaned: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        Nik::parse(&cleaned)
    }

    /// Checks a number as a NIK (the same rules as [`Nik::parse`]), or as
    /// a pseudonym ([`KEYED_BIT`]) read back from a keyed store.
    pub fn from_u64(value: u64) -> Result<Nik, NikError> {
        if is_pseudonym(value) {
            return Ok(Nik(value));
        }
        if value > Nik::MAX {
            return Err(NikError::Length { len: 17 });
        }
        Nik::check(value)
    }

    /// Builds a NIK from its parts: district `PPRRDD`, sex, birth date (only
    /// its day, month and two-digit year are kept) and serial (1–9999).
    pub fn from_parts(district: u32, sex: Sex, birth: Date, serial: u16) -> Result<Nik, NikError> {
        if district >= 1_000_000 || serial >= 10_000 {
            return Err(NikError::Length { len: 17 });
        }
        let day = u64::from(birth.day()) + if sex == Sex::Female { 40 } else { 0 };
        let ddmmyy = day * 10_000 + u64::from(birth.month()) * 100 + u64::from(birth.year() % 100);
        let value = u64::from(district) * 10_000_000_000 + ddmmyy * 10_000 + u64::from(serial);
        Nik::check(value)
    }

    /// A NIK read back from storage tepat wrote after validating it
    /// (snapshot records, live-state keys). Not validated again: a damaged
    /// file is caught by its checksums, not here.
    pub(crate) const fn from_stored(value: u64) -> Nik {
        Nik(value)
    }

    /// Validates the fields of a 16-digit number.
    fn check(value: u64) -> Result<Nik, NikError> {
        let province = pair(value, 14);
        if !region::is_province(province) {
            return Err(NikError::UnknownProvince {
                code: digits2(province),
            });
        }
        let day = pair(value, 8);
        let month = pair(value, 6);
        let year = pair(value, 4);
        let real_day = match day {
            1..=31 => day,
            41..=71 => day - 40,
            _ => return Err(NikError::Day { day: digits2(day) }),
        };
        if !(1..=12).contains(&month) {
            return Err(NikError::Month {
                month: digits2(month),
            });
        }
        if !exists_in_either_century(year, month, real_day) {
            return Err(NikError::Date {
                day: digits2(real_day),
                month: digits2(month),
                year: digits2(year),
            });
        }
        if value.is_multiple_of(10_000) {
            return Err(NikError::Serial);
        }
        Ok(Nik(value))
    }

    /// Whether this is a keyed store's pseudonym, not a NIK.
    #[inline]
    pub const fn is_keyed(self) -> bool {
        self.0 & KEYED_BIT != 0
    }

    /// The NIK as a number.
    #[inline]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Province code (first 2 digits), e.g. `32`.
    pub const fn province_code(self) -> u8 {
        (self.0 / 100_000_000_000_000) as u8
    }

    /// Regency/city code (first 4 digits), e.g. `3201`.
    pub const fn regency_code(self) -> u16 {
        (self.0 / 1_000_000_000_000) as u16
    }

    /// District code (first 6 digits), e.g. `320101`.
    pub const fn district_code(self) -> u32 {
        (self.0 / 10_000_000_000) as u32
    }

    /// Sex, from the day digits.
    pub const fn sex(self) -> Sex {
        if pair(self.0, 8) > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Day of birth (1–31, with the +40 for women removed).
    pub const fn birth_day(self) -> u8 {
        let day = pair(self.0, 8);
        if day > 40 { day - 40 } else { day }
    }

    /// Month of birth (1–12).
    pub const fn birth_month(self) -> u8 {
        pair(self.0, 6)
    }

    /// The two-digit year of birth (0–99).
    pub const fn birth_yy(self) -> u8 {
        pair(self.0, 4)
    }

    /// The birth date with its century resolved: 20YY, unless that date lies
    /// after `reference` (or does not exist), then 19YY. Pass today for live
    /// use ([`Nik::birth_date_today`]) and a fixed date in tests.
    pub fn birth_date(self, reference: Date) -> Date {
        // Every constructor checked that the date exists in one century.
        date::resolve_century(
            self.birth_yy(),
            self.birth_month(),
            self.birth_day(),
            reference,
        )
        .unwrap_or(reference)
    }

    /// [`Nik::birth_date`] with today's date as the reference.
    pub fn birth_date_today(self) -> Date {
        self.birth_date(Date::today())
    }

    /// The serial (last 4 digits, 1–9999).
    pub const fn serial(self) -> u16 {
        (self.0 % 10_000) as u16
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_keyed() {
            return write!(f, "k{:014x}", self.0 & KEYED_VALUE_MASK);
        }
        write!(f, "{:016}", self.0)
    }
}

impl FromStr for Nik {
    type Err = Error;

    /// [`Nik::parse`], with the input kept in the error.
    fn from_str(input: &str) -> Result<Nik, Error> {
        Nik::parse(input).map_err(|reason| Error::Nik {
            input: input.to_owned(),
            reason,
        })
    }
}

impl From<Nik> for u64 {
    fn from(nik: Nik) -> u64 {
        nik.0
    }
}

/// The two decimal digits of `value` starting `shift` digits from the right.
#[inline]
pub(crate) const fn pair(value: u64, shift: u32) -> u8 {
    ((value / 10u64.pow(shift)) % 100) as u8
}

pub(crate) fn digits2(v: u8) -> Digits2 {
    Digits2([b'0' + v / 10 % 10, b'0' + v % 10])
}

pub(crate) fn exists_in_either_century(yy: u8, month: u8, day: u8) -> bool {
    let yy = u16::from(yy);
    day <= date::days_in_month(1900 + yy, month) || day <= date::days_in_month(2000 + yy, month)
}

/// The first character that is not an ASCII digit, with its 1-based position.
pub(crate) fn first_non_digit(input: &str) -> Option<(usize, char)> {
    input
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, c)| (i + 1, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Date {
        Date::new(2026, 11, 26).unwrap()
    }

    #[test]
    fn a_valid_nik_and_its_fields() {
        let nik = Nik::parse("3201015708900001").unwrap();
        assert_eq!(nik.province_code(), 32);
        assert_eq!(nik.regency_code(), 3201);
        assert_eq!(nik.district_code(), 320101);
        assert_eq!(nik.sex(), Sex::Female);
        assert_eq!(nik.birth_date(reference()), Date::new(1990, 8, 17).unwrap());
        assert_eq!(nik.serial(), 1);
        assert_eq!(nik.to_string(), "3201015708900001");
    }

    #[test]
    fn length_rule() {
        assert_eq!(
            Nik::parse("320101570890000"),
            Err(NikError::Length { len: 15 })
        );
        assert_eq!(
            Nik::parse("32010157089000011"),
            Err(NikError::Length { len: 17 })
        );
        assert_eq!(Nik::parse(""), Err(NikError::Length { len: 0 }));
        // No trimming in the strict parser.
        assert!(matches!(
            Nik::parse(" 3201015708900001"),
            Err(NikError::Length { .. })
        ));
    }

    #[test]
    fn digit_rule() {
        assert_eq!(
            Nik::parse("32010157089a0001"),
            Err(NikError::NotDigit {
                position: 12,
                found: 'a'
            })
        );
        assert_eq!(
            Nik::parse("3201-15708900001"),
            Err(NikError::NotDigit {
                position: 5,
                found: '-'
            })
        );
        // A multi-byte character is reported as the character, not a byte.
        assert!(matches!(
            Nik::parse("320101570890000é"),
            Err(NikError::Length { len: 17 })
        ));
        assert!(matches!(
            Nik::parse("32010157089000é"),
            Err(NikError::NotDigit {
                position: 15,
                found: 'é'
            })
        ));
    }

    #[test]
    fn province_rule() {
        assert_eq!(
            Nik::parse("1001015708900001"),
            Err(NikError::UnknownProvince {
                code: Digits2(*b"10")
            })
        );
        assert_eq!(
            Nik::parse("9701015708900001"),
            Err(NikError::UnknownProvince {
                code: Digits2(*b"97")
            })
        );
        // Papua's province codes and former regency codes are accepted.
        assert!(Nik::parse("9101015708900001").is_ok());
        assert!(Nik::parse("9601015708900001").is_ok());
    }

    #[test]
    fn day_rule() {
        for day in ["00", "32", "35", "40", "72", "99"] {
            let input = format!("320101{day}08900001");
            assert_eq!(
                Nik::parse(&input),
                Err(NikError::Day {
                    day: Digits2(day.as_bytes().try_into().unwrap())
                }),
                "{input}"
            );
        }
        assert!(Nik::parse("3201013108900001").is_ok());
        assert!(Nik::parse("3201014101900001").is_ok());
        assert!(Nik::parse("3201017101900001").is_ok());
    }

    #[test]
    fn month_rule() {
        assert_eq!(
            Nik::parse("3201011500900001"),
            Err(NikError::Month {
                month: Digits2(*b"00")
            })
        );
        assert_eq!(
            Nik::parse("3201011513900001"),
            Err(NikError::Month {
                month: Digits2(*b"13")
            })
        );
    }

    #[test]
    fn date_rule() {
        // 31 April and 30 February never exist.
        assert!(matches!(
            Nik::parse("3201013104900001"),
            Err(NikError::Date { .. })
        ));
        assert!(matches!(
            Nik::parse("3201017002900001"),
            Err(NikError::Date { .. })
        ));
        // 29 February: 1901 and 2001 are common years, so YY = 01 fails...
        assert!(matches!(
            Nik::parse("3201012902010001"),
            Err(NikError::Date { .. })
        ));
        // ...YY = 00 is 1900 (common) or 2000 (leap): accepted.
        assert!(Nik::parse("3201012902000001").is_ok());
        assert!(Nik::parse("3201016902960001").is_ok());
    }

    #[test]
    fn serial_rule() {
        assert_eq!(Nik::parse("3201015708900000"), Err(NikError::Serial));
        assert!(Nik::parse("3201015708909999").is_ok());
    }

    #[test]
    fn century_follows_the_reference_date() {
        let nik = Nik::parse("3201010101260001").unwrap();
        assert_eq!(nik.birth_date(reference()).year(), 2026);
        let later = Nik::parse("3201013112260001").unwrap();
        assert_eq!(later.birth_date(reference()).year(), 1926);
        let leap = Nik::parse("3201012902000001").unwrap();
        assert_eq!(
            leap.birth_date(reference()),
            Date::new(2000, 2, 29).unwrap()
        );
    }

    #[test]
    fn lenient_strips_separators_only() {
        let strict = Nik::parse("3201015708900001").unwrap();
        assert_eq!(Nik::parse_lenient("3201 0157 0890 0001").unwrap(), strict);
        assert_eq!(Nik::parse_lenient("32.01.01-570890-0001").unwrap(), strict);
        assert!(Nik::parse_lenient("3201/0157/0890/0001").is_err());
    }

    #[test]
    fn from_parts_and_from_u64_check_the_same_rules() {
        let birth = Date::new(1990, 8, 17).unwrap();
        let nik = Nik::from_parts(320101, Sex::Female, birth, 1).unwrap();
        assert_eq!(nik.to_string(), "3201015708900001");
        assert_eq!(Nik::from_u64(nik.get()), Ok(nik));
        assert_eq!(
            Nik::from_parts(320101, Sex::Male, birth, 0),
            Err(NikError::Serial)
        );
        assert!(Nik::from_parts(100101, Sex::Male, birth, 1).is_err());
        assert!(Nik::from_u64(Nik::MAX + 1).is_err());
    }

    #[test]
    fn from_str_keeps_the_input() {
        let err = "32010157089a0001".parse::<Nik>().unwrap_err();
        assert!(err.to_string().contains("32010157089a0001"), "{err}");
        assert!(err.to_string().contains("character 12"), "{err}");
    }
}
