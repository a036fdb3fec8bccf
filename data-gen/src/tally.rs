//! Exact counts of what was generated (`truth.json`), counted from the
//! finished records, chunk by chunk, and added up.
//!
//! Definitions (the test suite recounts each from the CSV files):
//! - program persons: rows whose `programs` lists the program; families:
//!   distinct KKs among them (family programs only);
//! - inclusion error: a living row (`deceased = 0`) listing a program it is
//!   not eligible for; exclusion error: a living row eligible for a program
//!   it does not list. Eligibility is the registry's at the as-of date:
//!   person programs from the row's own facts, family programs from the
//!   facts of the family's living rows (same KK), with the family's decile;
//! - duplicate NIK rows: rows minus distinct NIKs;
//! - deceased enrolled: rows with `deceased = 1` and a non-empty `programs`;
//! - civil servants enrolled: rows with `civil_servant = 1` and a non-empty
//!   `programs`;
//! - BLT_DD conflict families: KKs listing BLT_DD and PKH or SEMBAKO;
//! - former region NIKs: rows whose NIK district is a retired code;
//!   NIKs issued elsewhere: rows whose NIK district is a current code other
//!   than the district of the row's village.

use tepat::{ProgramSet, RegionTable};

use crate::Generator;
use crate::chunk::Chunk;

/// Counts for one chunk or the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows.
    pub persons: u64,
    /// Families (KKs).
    pub families: u64,
    /// Rows listing each program (by program index).
    pub program_persons: Vec<u64>,
    /// Families listing each program.
    pub program_families: Vec<u64>,
    /// Families in both PKH and SEMBAKO.
    pub pkh_and_sembako_families: u64,
    /// Rows whose NIK appeared on an earlier row.
    pub duplicate_nik_rows: u64,
    /// Deceased rows that list a program.
    pub deceased_enrolled_persons: u64,
    /// Inclusion errors per program.
    pub inclusion: Vec<u64>,
    /// Exclusion errors per program.
    pub exclusion: Vec<u64>,
    /// Families in BLT_DD and PKH or SEMBAKO.
    pub blt_dd_conflict_families: u64,
    /// Civil-servant rows that list a program.
    pub civil_servants_enrolled: u64,
    /// Rows whose NIK carries a retired district code.
    pub former_region_niks: u64,
    /// Rows whose NIK was issued in another current district.
    pub niks_issued_elsewhere: u64,
}

impl Tally {
    /// Zero counts for a registry of `programs` programs.
    pub fn new(programs: usize) -> Tally {
        Tally {
            program_persons: vec![0; programs],
            program_families: vec![0; programs],
            inclusion: vec![0; programs],
            exclusion: vec![0; programs],
            ..Tally::default()
        }
    }

    /// Counts one chunk.
    pub fn of_chunk(chunk: &Chunk, generator: &Generator) -> Tally {
        let registry = generator.registry();
        let enrolment = &generator.enrolment;
        let mut t = Tally::new(registry.len());
        let regions = RegionTable::builtin();
        t.persons = chunk.records.len() as u64;
        t.families = chunk.families.len() as u64;
        for (r, info) in chunk.records.iter().zip(&chunk.info) {
            for id in r.programs.iter() {
                t.program_persons[id.index()] += 1;
            }
            if !r.deceased {
                count_errors(&mut t, r.programs, info.eligible);
            }
            let enrolled = !r.programs.is_empty();
            t.deceased_enrolled_persons += u64::from(r.deceased && enrolled);
            t.civil_servants_enrolled += u64::from(r.civil_servant && enrolled);
            let issued = r.nik.district_code();
            if u64::from(issued) != r.village / 10_000 {
                match regions.district(issued) {
                    Some(d) if d.is_former() => t.former_region_niks += 1,
                    _ => t.niks_issued_elsewhere += 1,
                }
            }
        }
        let (pkh, sembako, blt) = (enrolment.id(0), enrolment.id(1), enrolment.id(3));
        for f in &chunk.families {
            let programs = chunk.records[f.start as usize].programs;
            for id in programs.iter() {
                if registry.program(id).unit == tepat::Unit::Family {
                    t.program_families[id.index()] += 1;
                }
            }
            let both = programs.contains(pkh) && programs.contains(sembako);
            t.pkh_and_sembako_families += u64::from(both);
            let conflict =
                programs.contains(blt) && (programs.contains(pkh) || programs.contains(sembako));
            t.blt_dd_conflict_families += u64::from(conflict);
        }
        t.duplicate_nik_rows = duplicate_rows(chunk);
        t
    }

    /// Adds another tally.
    pub fn add(&mut self, o: &Tally) {
        self.persons += o.persons;
        self.families += o.families;
        add_all(&mut self.program_persons, &o.program_persons);
        add_all(&mut self.program_families, &o.program_families);
        add_all(&mut self.inclusion, &o.inclusion);
        add_all(&mut self.exclusion, &o.exclusion);
        self.pkh_and_sembako_families += o.pkh_and_sembako_families;
        self.duplicate_nik_rows += o.duplicate_nik_rows;
        self.deceased_enrolled_persons += o.deceased_enrolled_persons;
        self.blt_dd_conflict_families += o.blt_dd_conflict_families;
        self.civil_servants_enrolled += o.civil_servants_enrolled;
        self.former_region_niks += o.former_region_niks;
        self.niks_issued_elsewhere += o.niks_issued_elsewhere;
    }
}

fn add_all(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn count_errors(t: &mut Tally, listed: ProgramSet, eligible: ProgramSet) {
    let included = listed.0 & !eligible.0;
    let excluded = eligible.0 & !listed.0;
    for (bits, counts) in [(included, &mut t.inclusion), (excluded, &mut t.exclusion)] {
        for id in ProgramSet(bits).iter() {
            if let Some(c) = counts.get_mut(id.index()) {
                *c += 1;
            }
        }
    }
}

/// Duplicates never cross chunks (a copy takes a NIK of its own district),
/// so rows minus distinct NIKs among the flagged rows is exact.
fn duplicate_rows(chunk: &Chunk) -> u64 {
    let mut niks: Vec<u64> = chunk
        .records
        .iter()
        .zip(&chunk.info)
        .filter(|(_, i)| i.duplicate)
        .map(|(r, _)| r.nik.get())
        .collect();
    let rows = niks.len() as u64;
    niks.sort_unstable();
    niks.dedup();
    rows - niks.len() as u64
}
