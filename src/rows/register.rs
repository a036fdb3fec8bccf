//! The register export: one person per row, as the register's keeper (and
//! the generator, `tepat-gen`) writes it.
//!
//! ```text
//! nik,kk,relation,village_code,sex,birth_date,decile,deceased,civil_servant,components,programs
//! 3201015708900001,3201011503150007,spouse,3201012001,F,1990-08-17,3,0,0,pregnant,PKH|SEMBAKO|PBI_JK
//! ```
//!
//! [`PersonRecord`] is the typed row. The same code writes it
//! ([`PersonRecord::write_csv`]) and reads it ([`RowParser`]), so the
//! generator and the snapshot builder cannot disagree about the format.
//! Program codes are resolved against a [`Registry`]; village codes are
//! checked for shape here and against the region table by the builder.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::csv;
use crate::domain::date::Date;
use crate::domain::kk::Kk;
use crate::domain::nik::{Nik, Sex};
use crate::domain::program::{ComponentSet, ProgramSet, Registry};

/// The register export's header line (without line ending).
pub const HEADER: &str =
    "nik,kk,relation,village_code,sex,birth_date,decile,deceased,civil_servant,components,programs";

/// The column names, in order.
pub const COLUMNS: [&str; 11] = [
    "nik",
    "kk",
    "relation",
    "village_code",
    "sex",
    "birth_date",
    "decile",
    "deceased",
    "civil_servant",
    "components",
    "programs",
];

/// A person's place in the family card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Head of family (kepala keluarga).
    Head,
    /// Spouse.
    Spouse,
    /// Child.
    Child,
    /// Any other member (parent, in-law, grandchild, ...).
    Other,
}

impl Relation {
    /// The register's spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Relation::Head => "head",
            Relation::Spouse => "spouse",
            Relation::Child => "child",
            Relation::Other => "other",
        }
    }

    /// Parses the register's spelling.
    pub fn from_name(name: &str) -> Option<Relation> {
        match name {
            "head" => Some(Relation::Head),
            "spouse" => Some(Relation::Spouse),
            "child" => Some(Relation::Child),
            "other" => Some(Relation::Other),
            _ => None,
        }
    }

    /// A 2-bit code for compact storage.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Relation::code`] (only the low 2 bits are read).
    pub const fn from_code(code: u8) -> Relation {
        match code & 3 {
            0 => Relation::Head,
            1 => Relation::Spouse,
            2 => Relation::Child,
            _ => Relation::Other,
        }
    }
}

/// One row of the register export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRecord {
    /// The person's NIK. Two rows may share one (a duplicate identity).
    pub nik: Nik,
    /// The family card the person belongs to now.
    pub kk: Kk,
    /// Place in the family.
    pub relation: Relation,
    /// Where the family lives now: a 10-digit village code.
    pub village: u64,
    /// Sex as registered.
    pub sex: Sex,
    /// Birth date as registered.
    pub birth_date: Date,
    /// The family's welfare decile, 1 (poorest) to 10.
    pub decile: u8,
    /// Recorded as deceased.
    pub deceased: bool,
    /// Civil servant, police or military.
    pub civil_servant: bool,
    /// Recorded eligibility components.
    pub components: ComponentSet,
    /// Programs the person is enrolled in (family programs on every member).
    pub programs: ProgramSet,
}

impl PersonRecord {
    /// Writes the record as one CSV line (with `\n`), program codes from
    /// `registry`. No field needs quoting.
    pub fn write_csv(&self, registry: &Registry, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{},{},{},{:010},{},{},{},{},{},{},{}",
            self.nik,
            self.kk,
            self.relation.name(),
            self.village,
            self.sex.letter(),
            self.birth_date,
            self.decile,
            u8::from(self.deceased),
            u8::from(self.civil_servant),
            self.components,
            registry.format_set(self.programs),
        )
    }
}

/// Why a register row was refused: the column (1-based, 0 for the row as a
/// whole), its name and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based column number; 0 when the row as a whole is wrong.
    pub column: usize,
    /// The column's name, or `"row"`.
    pub field: &'static str,
    /// What is wrong, naming the offending value.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(
                f,
                "column {} ({}): {}",
                self.column, self.field, self.reason
            )
        }
    }
}

/// Parses register rows against a registry, reusing its field buffer.
pub struct RowParser<'r> {
    registry: &'r Registry,
}

impl<'r> RowParser<'r> {
    /// A parser that resolves program codes in `registry`.
    pub fn new(registry: &'r Registry) -> RowParser<'r> {
        RowParser { registry }
    }

    /// Checks a header line.
    pub fn check_header(line: &str) -> Result<(), String> {
        csv::check_header(line, HEADER)
    }

    /// Parses one data line (line ending optional).
    pub fn parse(&self, line: &str) -> Result<PersonRecord, RowError> {
        let fields = split_row(line, COLUMNS.len())?;
        let f = |i: usize| fields[i].as_ref();
        let bad = |i: usize, reason: String| RowError {
            column: i + 1,
            field: COLUMNS[i],
            reason,
        };
        let nik = Nik::parse(f(0)).map_err(|e| bad(0, format!("invalid NIK {:?}: {e}", f(0))))?;
        let kk = Kk::parse(f(1)).map_err(|e| bad(1, format!("invalid KK {:?}: {e}", f(1))))?;
        let relation = Relation::from_name(f(2))
            .ok_or_else(|| bad(2, format!("{:?} is not head, spouse, child or other", f(2))))?;
        let village = parse_village(f(3))
            .ok_or_else(|| bad(3, format!("{:?} is not a 10-digit village code", f(3))))?;
        let sex = match f(4) {
            "M" => Sex::Male,
            "F" => Sex::Female,
            other => return Err(bad(4, format!("{other:?} is not M or F"))),
        };
        let birth_date = Date::parse_iso(f(5)).map_err(|e| bad(5, e.to_string()))?;
        let decile = match f(6).parse::<u8>() {
            Ok(d @ 1..=10) => d,
            _ => return Err(bad(6, format!("{:?} is not a decile 1-10", f(6)))),
        };
        let flag = |i: usize| match f(i) {
            "0" => Ok(false),
            "1" => Ok(true),
            other => Err(bad(i, format!("{other:?} is not 0 or 1"))),
        };
        let deceased = flag(7)?;
        let civil_servant = flag(8)?;
        let components = ComponentSet::parse_recorded(f(9)).map_err(|e| bad(9, e))?;
        let programs = self
            .registry
            .parse_set(f(10))
            .map_err(|e| bad(10, e.to_string()))?;
        Ok(PersonRecord {
            nik,
            kk,
            relation,
            village,
            sex,
            birth_date,
            decile,
            deceased,
            civil_servant,
            components,
            programs,
        })
    }
}

/// Splits a data line into exactly `width` fields, or says why not.
pub(crate) fn split_row(line: &str, width: usize) -> Result<Vec<Cow<'_, str>>, RowError> {
    let line = csv::trim_line_end(line);
    let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(width);
    csv::split_into(line, &mut fields).map_err(|reason| row_error(reason.to_owned()))?;
    if fields.len() != width {
        return Err(row_error(format!(
            "{} fields, expected {width}",
            fields.len()
        )));
    }
    Ok(fields)
}

fn row_error(reason: String) -> RowError {
    RowError {
        column: 0,
        field: "row",
        reason,
    }
}

/// A 10-digit village code, by shape only.
fn parse_village(s: &str) -> Option<u64> {
    if s.len() != 10 {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PersonRecord {
        let r = Registry::builtin();
        PersonRecord {
            nik: Nik::parse("3201015708900001").unwrap(),
            kk: Kk::parse("3201011503150007").unwrap(),
            relation: Relation::Spouse,
            village: 3201012001,
            sex: Sex::Female,
            birth_date: Date::new(1990, 8, 17).unwrap(),
            decile: 3,
            deceased: false,
            civil_servant: false,
            components: ComponentSet::parse_recorded("pregnant").unwrap(),
            programs: r.parse_set("PKH|SEMBAKO|PBI_JK").unwrap(),
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let r = Registry::builtin();
        let mut line = Vec::new();
        sample().write_csv(r, &mut line).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert_eq!(
            line,
            "3201015708900001,3201011503150007,spouse,3201012001,F,1990-08-17,3,0,0,pregnant,PKH|SEMBAKO|PBI_JK\n"
        );
        assert_eq!(RowParser::new(r).parse(&line).unwrap(), sample());
    }

    #[test]
    fn every_column_is_checked_and_named() {
        let r = Registry::builtin();
        let p = RowParser::new(r);
        let good =
            "3201015708900001,3201011503150007,spouse,3201012001,F,1990-08-17,3,0,0,pregnant,PKH";
        assert!(p.parse(good).is_ok());
        let cases = [
            (0, "3201015708900000"),
            (1, "320101150315000"),
            (2, "cousin"),
            (3, "320101200"),
            (4, "X"),
            (5, "1990-02-30"),
            (6, "11"),
            (7, "2"),
            (8, "yes"),
            (9, "wizard"),
            (10, "PKH|NOPE"),
        ];
        for (column, value) in cases {
            let mut fields: Vec<&str> = good.split(',').collect();
            fields[column] = value;
            let err = p.parse(&fields.join(",")).unwrap_err();
            assert_eq!(err.column, column + 1, "{value}: {err}");
            assert_eq!(err.field, COLUMNS[column]);
        }
        let err = p.parse("1,2,3").unwrap_err();
        assert_eq!(err.column, 0);
        assert!(err.reason.contains("3 fields"), "{err}");
    }

    #[test]
    fn header_check() {
        assert!(RowParser::check_header(&format!("{HEADER}\r\n")).is_ok());
        assert!(RowParser::check_header("nik,kk").is_err());
    }
}
