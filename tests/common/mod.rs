//! A small, self-contained register for the library's own tests (the
//! national-scale generator is `tepat-gen`; these tests must not depend on
//! its choices).

#![allow(dead_code)]

use std::path::Path;

use tepat::region::Level;
use tepat::register::{PersonRecord, Relation};
use tepat::snapshot::SnapshotBuilder;
use tepat::{ComponentSet, Date, Kk, Nik, Options, ProgramSet, RegionTable, Registry, Sex, Store};

/// The region table with villages, read from the repository's data files.
pub fn regions() -> &'static RegionTable {
    static TABLE: std::sync::OnceLock<RegionTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        // The root crate's tests and the cli crate's tests share this file.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = [here.join("data/wilayah"), here.join("../data/wilayah")]
            .into_iter()
            .find(|d| d.join("villages.csv").exists())
            .unwrap();
        RegionTable::from_dir(&dir).unwrap()
    })
}

/// SplitMix64: tiny and good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `families` families of 1-6 persons each, with unique NIKs except that
/// every 97th person reuses the NIK of the person before (a duplicate
/// identity in another family).
pub fn register(families: usize, seed: u64) -> Vec<PersonRecord> {
    let registry = Registry::builtin();
    let villages = regions().level(Level::Village);
    let mut rng = Rng(seed);
    let mut out: Vec<PersonRecord> = Vec::new();
    let mut serial = 0u32;
    for f in 0..families {
        let village = villages[rng.below(villages.len() as u64) as usize]
            .code
            .value();
        let district = (village / 10_000) as u32;
        let kk = Kk::from_parts(
            district,
            Date::new(2015, 3, 15).unwrap(),
            (f % 9999 + 1) as u16,
        )
        .unwrap();
        // Distinct KKs: vary the issue date by family number.
        let issued =
            Date::from_unix_days(Date::new(1990, 1, 1).unwrap().to_unix_days() + (f / 9999) as i64)
                .unwrap();
        let kk = Kk::from_parts(district, issued, kk.serial()).unwrap();
        let decile = 1 + rng.below(10) as u8;
        let size = 1 + rng.below(6) as usize;
        let family_programs = if decile <= 4 {
            registry.parse_set("PKH|SEMBAKO").unwrap()
        } else {
            ProgramSet::EMPTY
        };
        for m in 0..size {
            serial += 1;
            let birth = Date::from_unix_days(-20_000 + rng.below(40_000) as i64).unwrap();
            let sex = if rng.below(2) == 0 {
                Sex::Male
            } else {
                Sex::Female
            };
            let nik = if serial.is_multiple_of(97) && !out.is_empty() {
                out[out.len() - 1].nik
            } else {
                Nik::from_parts(district, sex, birth, (serial % 9999 + 1) as u16).unwrap()
            };
            let mut programs = family_programs;
            if decile <= 5 && rng.below(2) == 0 {
                programs.insert(registry.require("PBI_JK").unwrap());
            }
            out.push(PersonRecord {
                nik,
                kk,
                relation: match m {
                    0 => Relation::Head,
                    1 => Relation::Spouse,
                    _ => Relation::Child,
                },
                village,
                sex,
                birth_date: birth,
                decile,
                deceased: rng.below(200) == 0,
                civil_servant: rng.below(50) == 0,
                components: if rng.below(20) == 0 {
                    ComponentSet::parse_recorded("severe_disability").unwrap()
                } else {
                    ComponentSet::default()
                },
                programs,
            });
        }
    }
    out
}

/// The date the tests' stores run on: payable are 2026-Q4 and 2026-Q3,
/// 2026-11 and 2026-10, 2026 and 2025, and `once` (the default windows).
pub fn today() -> Date {
    Date::new(2026, 11, 15).unwrap()
}

/// How the tests open stores: on [`today`].
pub fn options() -> Options {
    Options::default().today(today())
}

/// Opens the store in `dir` as the tests do.
pub fn open(dir: &Path) -> Store {
    Store::open_with(dir, options()).unwrap()
}

/// Creates a store in `dir` from `records` (eligibility as of 2026-11-01).
pub fn create_store(records: &[PersonRecord], dir: &Path) -> Store {
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b = SnapshotBuilder::new(Registry::builtin().clone(), regions(), as_of).unwrap();
    for r in records {
        b.add(r).unwrap();
    }
    Store::create(dir, b, options()).unwrap()
}
