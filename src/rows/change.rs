//! Changes between snapshots: deaths, births, moves between family cards,
//! enrolments and removals, decile re-ranking.
//!
//! A change file (`changes.csv`, docs/DATA.md) has the header
//!
//! ```text
//! kind,nik,kk,relation,village_code,sex,birth_date,decile,deceased,civil_servant,components,programs,program,date
//! ```
//!
//! and each kind uses some columns (the others are empty):
//!
//! | kind | columns |
//! |---|---|
//! | `death` | nik, date |
//! | `birth` | every register column (a new person), date |
//! | `move` | nik, kk (the target card), relation, village_code, decile, date |
//! | `enrol`, `remove` | nik, program, date |
//! | `decile` | kk, decile, date |

use crate::csv;
use crate::domain::date::Date;
use crate::domain::kk::Kk;
use crate::domain::nik::Nik;
use crate::domain::program::{ProgramId, Registry};
use crate::rows::register::{PersonRecord, Relation, RowError, RowParser};

/// The change file's header.
pub const HEADER: &str = "kind,nik,kk,relation,village_code,sex,birth_date,decile,deceased,civil_servant,components,programs,program,date";

const COLUMNS: [&str; 14] = [
    "kind",
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
    "program",
    "date",
];

/// One change to the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A person died.
    Death {
        /// Who.
        nik: Nik,
        /// When.
        date: Date,
    },
    /// A new person (a birth, or anyone newly registered).
    Birth {
        /// The person's register row.
        person: PersonRecord,
        /// When.
        date: Date,
    },
    /// A person moves to another family card.
    Move {
        /// Who.
        nik: Nik,
        /// The family card they move to (existing or new).
        kk: Kk,
        /// Their place in the new family.
        relation: Relation,
        /// Where the new family lives.
        village: u64,
        /// The new family's decile.
        decile: u8,
        /// When.
        date: Date,
    },
    /// Enrolment in a program (the whole family, for a family program).
    Enrol {
        /// Who.
        nik: Nik,
        /// The program.
        program: ProgramId,
        /// When.
        date: Date,
    },
    /// Removal from a program (the whole family, for a family program).
    Remove {
        /// Who.
        nik: Nik,
        /// The program.
        program: ProgramId,
        /// When.
        date: Date,
    },
    /// A family's welfare decile is re-ranked.
    Decile {
        /// The family.
        kk: Kk,
        /// The new decile, 1-10.
        decile: u8,
        /// When.
        date: Date,
    },
}

impl Change {
    /// The date the row gives.
    pub fn date(&self) -> Date {
        match self {
            Change::Death { date, .. }
            | Change::Birth { date, .. }
            | Change::Move { date, .. }
            | Change::Enrol { date, .. }
            | Change::Remove { date, .. }
            | Change::Decile { date, .. } => *date,
        }
    }

    /// The NIK the row changes, if one.
    pub fn nik(&self) -> Option<Nik> {
        match self {
            Change::Death { nik, .. }
            | Change::Move { nik, .. }
            | Change::Enrol { nik, .. }
            | Change::Remove { nik, .. } => Some(*nik),
            Change::Birth { person, .. } => Some(person.nik),
            Change::Decile { .. } => None,
        }
    }

    /// The family card the row names (a birth's, a move's target, a
    /// re-ranked family), if one.
    pub fn kk(&self) -> Option<Kk> {
        match self {
            Change::Birth { person, .. } => Some(person.kk),
            Change::Move { kk, .. } | Change::Decile { kk, .. } => Some(*kk),
            _ => None,
        }
    }

    /// The program the row enrols in or removes from, if one.
    pub fn program(&self) -> Option<ProgramId> {
        match self {
            Change::Enrol { program, .. } | Change::Remove { program, .. } => Some(*program),
            _ => None,
        }
    }

    /// The kind's name, as the file writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Death { .. } => "death",
            Change::Birth { .. } => "birth",
            Change::Move { .. } => "move",
            Change::Enrol { .. } => "enrol",
            Change::Remove { .. } => "remove",
            Change::Decile { .. } => "decile",
        }
    }
}

/// Parses change-file lines against a registry.
pub struct ChangeParser<'r> {
    registry: &'r Registry,
}

impl<'r> ChangeParser<'r> {
    /// A parser resolving program codes in `registry`.
    pub fn new(registry: &'r Registry) -> ChangeParser<'r> {
        ChangeParser { registry }
    }

    /// Checks the header line.
    pub fn check_header(line: &str) -> Result<(), String> {
        csv::check_header(line, HEADER)
    }

    /// Parses one data line.
    pub fn parse(&self, line: &str) -> Result<Change, RowError> {
        let fields = crate::rows::register::split_row(line, COLUMNS.len())?;
        let f = |i: usize| fields[i].as_ref();
        let bad = |i: usize, reason: String| RowError {
            column: i + 1,
            field: COLUMNS[i],
            reason,
        };
        let nik = || Nik::parse(f(1)).map_err(|e| bad(1, format!("invalid NIK {:?}: {e}", f(1))));
        let kk = || Kk::parse(f(2)).map_err(|e| bad(2, format!("invalid KK {:?}: {e}", f(2))));
        let date = Date::parse_iso(f(13)).map_err(|e| bad(13, e.to_string()))?;
        let decile = || match f(7).parse::<u8>() {
            Ok(d @ 1..=10) => Ok(d),
            _ => Err(bad(7, format!("{:?} is not a decile 1-10", f(7)))),
        };
        let program = || {
            self.registry
                .require(f(12))
                .map_err(|e| bad(12, e.to_string()))
        };
        match f(0) {
            "death" => Ok(Change::Death { nik: nik()?, date }),
            "birth" => {
                let row = fields[1..12].join(",");
                let person = RowParser::new(self.registry).parse(&row).map_err(|mut e| {
                    if e.column > 0 {
                        e.column += 1;
                    }
                    e
                })?;
                Ok(Change::Birth { person, date })
            }
            "move" => Ok(Change::Move {
                nik: nik()?,
                kk: kk()?,
                relation: Relation::from_name(f(3)).ok_or_else(|| {
                    bad(3, format!("{:?} is not head, spouse, child or other", f(3)))
                })?,
                village: parse_village(f(4))
                    .ok_or_else(|| bad(4, format!("{:?} is not a 10-digit village code", f(4))))?,
                decile: decile()?,
                date,
            }),
            "enrol" => Ok(Change::Enrol {
                nik: nik()?,
                program: program()?,
                date,
            }),
            "remove" => Ok(Change::Remove {
                nik: nik()?,
                program: program()?,
                date,
            }),
            "decile" => Ok(Change::Decile {
                kk: kk()?,
                decile: decile()?,
                date,
            }),
            other => Err(bad(
                0,
                format!("{other:?} is not death, birth, move, enrol, remove or decile"),
            )),
        }
    }
}

fn parse_village(s: &str) -> Option<u64> {
    (s.len() == 10)
        .then(|| {
            s.bytes().try_fold(0u64, |a, b| {
                b.is_ascii_digit().then(|| a * 10 + u64::from(b - b'0'))
            })
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses() {
        let r = Registry::builtin();
        let p = ChangeParser::new(r);
        let lines = [
            "death,3201015708900001,,,,,,,,,,,,2026-11-03",
            "birth,3201010111260001,3201011503150007,child,3201012001,M,2026-11-01,3,0,0,,PKH|SEMBAKO,,2026-11-01",
            "move,3201015708900001,3201011503150008,head,3201012002,,,4,,,,,,2026-11-05",
            "enrol,3201015708900001,,,,,,,,,,,PBI_JK,2026-11-06",
            "remove,3201015708900001,,,,,,,,,,,PBI_JK,2026-11-07",
            "decile,,3201011503150007,,,,,6,,,,,,2026-11-08",
        ];
        let kinds: Vec<&str> = lines.iter().map(|l| p.parse(l).unwrap().kind()).collect();
        assert_eq!(
            kinds,
            ["death", "birth", "move", "enrol", "remove", "decile"]
        );
    }

    #[test]
    fn errors_name_the_column() {
        let r = Registry::builtin();
        let p = ChangeParser::new(r);
        let err = p.parse("death,123,,,,,,,,,,,,2026-11-03").unwrap_err();
        assert_eq!((err.column, err.field), (2, "nik"));
        let err = p
            .parse("enrol,3201015708900001,,,,,,,,,,,NOPE,2026-11-06")
            .unwrap_err();
        assert_eq!((err.column, err.field), (13, "program"));
        let err = p
            .parse("vanish,3201015708900001,,,,,,,,,,,,2026-11-06")
            .unwrap_err();
        assert_eq!(err.column, 1);
        let err = p
            .parse("death,3201015708900001,,,,,,,,,,,,2026-13-03")
            .unwrap_err();
        assert_eq!(err.column, 14);
        let err = p
            .parse("birth,3201010111260001,3201011503150007,child,3201012001,X,2026-11-01,3,0,0,,,,2026-11-01")
            .unwrap_err();
        assert_eq!((err.column, err.field), (6, "sex"));
        assert_eq!(p.parse("death,1").unwrap_err().column, 0);
    }
}
