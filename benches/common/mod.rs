//! The synthetic register the lookup benchmarks share: families of 1-6 in
//! random villages of the repository's region table, unique NIKs, and
//! valid NIKs that are absent.

#![allow(dead_code)]

use std::path::Path;

use tepat::register::{PersonRecord, Relation};
use tepat::{ComponentSet, Date, Kk, Level, Nik, ProgramSet, RegionTable, Registry, Sex};

/// The repository's region table with villages.
pub fn regions() -> RegionTable {
    RegionTable::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wilayah"))
        .expect("the repository's region files")
}

/// Persons to generate: `TEPAT_BENCH_PERSONS`, else `default`.
pub fn persons(default: usize) -> usize {
    std::env::var("TEPAT_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// SplitMix64.
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

/// A NIK of district `district` from a running number: the serial and the
/// birth date are taken from it, so distinct numbers give distinct NIKs
/// (9,999 serials × 36,500 birth days per district and sex).
pub fn nik_of(district: u32, sex: Sex, n: u64) -> Nik {
    let serial = (n % 9999 + 1) as u16;
    let birth = Date::from_unix_days(-10_000 + (n / 9999) as i64).expect("a date in range");
    Nik::from_parts(district, sex, birth, serial).expect("a valid NIK")
}

/// `n` persons in families of 1-6, each family in a random village; NIKs
/// are unique. Every person of even number is stored; each odd number gives
/// a valid NIK that is absent (up to `wanted_misses` of them are returned).
pub fn register(n: usize, seed: u64, wanted_misses: usize) -> (Vec<PersonRecord>, Vec<Nik>) {
    let regions = regions();
    let villages = regions.level(Level::Village);
    let registry = Registry::builtin();
    let family_programs = registry
        .parse_set("PKH|SEMBAKO")
        .expect("built-in programs");
    let pbi = registry.require("PBI_JK").expect("built-in program");
    let mut rng = Rng(seed);
    let mut persons = Vec::with_capacity(n);
    let mut misses = Vec::with_capacity(n / 8);
    let mut serial = 0u64;
    let mut family = 0u64;
    while persons.len() < n {
        family += 1;
        let village = villages[rng.below(villages.len() as u64) as usize]
            .code
            .value();
        let district = (village / 10_000) as u32;
        let issued = Date::from_unix_days(7_000 + (family / 9999) as i64).expect("a date");
        let kk = Kk::from_parts(district, issued, (family % 9999 + 1) as u16).expect("a KK");
        let decile = 1 + rng.below(10) as u8;
        let programs = if decile <= 4 {
            family_programs
        } else {
            ProgramSet::EMPTY
        };
        for m in 0..(1 + rng.below(6)).min((n - persons.len()) as u64) {
            let sex = if rng.below(2) == 0 {
                Sex::Male
            } else {
                Sex::Female
            };
            // Two numbers per person: the even one is stored, the odd one a
            // miss. Numbers are per district in the real register; a global
            // counter keeps them unique here.
            serial += 2;
            let nik = nik_of(district, sex, serial);
            if misses.len() < wanted_misses && rng.below(4) == 0 {
                misses.push(nik_of(district, sex, serial + 1));
            }
            let mut programs = programs;
            if decile <= 5 && rng.below(2) == 0 {
                programs.insert(pbi);
            }
            persons.push(PersonRecord {
                nik,
                kk,
                relation: match m {
                    0 => Relation::Head,
                    1 => Relation::Spouse,
                    _ => Relation::Child,
                },
                village,
                sex,
                birth_date: Date::from_unix_days(-20_000 + rng.below(40_000) as i64)
                    .expect("a date"),
                decile,
                deceased: rng.below(200) == 0,
                civil_servant: rng.below(50) == 0,
                components: ComponentSet::default(),
                programs,
            });
        }
    }
    (persons, misses)
}

/// Fisher-Yates.
pub fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
}
