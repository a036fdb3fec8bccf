//! Snapshot lookups: `get` of present and absent NIKs, the batch lookup
//! `find_many`, and a `check`-like read of the eligibility and enrolment
//! bits.
//!
//! ```text
//! cargo bench --bench get                              # 200,000 persons
//! TEPAT_BENCH_PERSONS=10000000 cargo bench --bench get # a larger snapshot
//! ```
//!
//! The snapshot is built in memory from synthetic persons and read three
//! ways: from the heap buffer (`Snapshot::from_bytes`), from a temporary
//! file mapped (`Snapshot::open`) and from the same file copied into
//! memory advised for huge pages (`Snapshot::open_resident`; how much of it
//! the kernel put in huge pages is printed to stderr). The side-by-side run
//! against LMDB, sled, redb and a pointer chase is `benches/peers`
//! (docs/BENCHMARKS.md).

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tepat::register::{PersonRecord, Relation};
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::{ComponentSet, Date, Kk, Level, Nik, ProgramSet, RegionTable, Registry, Sex};

/// Lookups per timed iteration (a power of two: keys are taken round-robin).
const KEYS: usize = 1 << 14;
/// The batch size of the `find_many` benchmark.
const BATCH: usize = 4096;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the benchmarks look up.
struct Fixture {
    /// The snapshot in a heap buffer.
    snapshot: Snapshot,
    /// The same bytes in a file, mapped.
    mapped: Snapshot,
    /// The same file, resident.
    resident: Snapshot,
    /// Holds the file.
    _dir: tempfile::TempDir,
    /// Present NIKs, in random order.
    hits: Vec<Nik>,
    /// Valid NIKs that are not in the snapshot, in random order.
    misses: Vec<Nik>,
}

fn persons() -> usize {
    std::env::var("TEPAT_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(200_000)
}

/// A NIK of district `district` from a running number: the serial and the
/// birth date are taken from it, so distinct numbers give distinct NIKs
/// (9,999 serials × 36,500 birth days per district and sex).
fn nik_of(district: u32, sex: Sex, n: u64) -> Nik {
    let serial = (n % 9999 + 1) as u16;
    let birth = Date::from_unix_days(-10_000 + (n / 9999) as i64).expect("a date in range");
    Nik::from_parts(district, sex, birth, serial).expect("a valid NIK")
}

/// `n` persons in families of 1-6, each family in a random village; NIKs
/// are unique. Every person of even number is stored; each odd number gives
/// a valid NIK that is absent (returned as the misses).
fn register(n: usize, seed: u64) -> (Vec<PersonRecord>, Vec<Nik>) {
    let regions =
        RegionTable::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wilayah"))
            .expect("the repository's region files");
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
            if misses.len() < KEYS && rng.below(4) == 0 {
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

fn fixture() -> Fixture {
    let n = persons();
    let (persons, mut misses) = register(n, 0x7465_7061_7400_0001);
    let regions =
        RegionTable::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wilayah"))
            .expect("the repository's region files");
    let mut builder = SnapshotBuilder::new(
        Registry::builtin().clone(),
        &regions,
        Date::new(2026, 11, 1).expect("a date"),
    )
    .expect("a builder");
    builder.reserve(persons.len());
    for p in &persons {
        builder.add(p).expect("a valid record");
    }
    let mut bytes = Vec::new();
    builder.write(&mut bytes).expect("a snapshot");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bench.tepat");
    std::fs::write(&path, &bytes).expect("the snapshot file");
    let snapshot = Snapshot::from_bytes(bytes).expect("a readable snapshot");
    let mapped = Snapshot::open(&path).expect("a mapped snapshot");
    let resident = Snapshot::open_resident(&path).expect("a resident snapshot");
    eprintln!(
        "snapshot {} bytes; resident copy: {:?} bytes in huge pages",
        resident.byte_len(),
        resident.huge_page_bytes()
    );

    let mut rng = Rng(42);
    let hits: Vec<Nik> = (0..KEYS)
        .map(|_| persons[rng.below(persons.len() as u64) as usize].nik)
        .collect();
    // Unique up to about 18 M persons (two-digit birth years wrap after
    // that): keep only the NIKs that really are absent.
    misses.retain(|k| snapshot.get(*k).is_none());
    shuffle(&mut misses, &mut rng);
    let first = misses[0];
    misses.resize(KEYS, first);
    assert!(hits.iter().all(|k| snapshot.get(*k).is_some()));
    Fixture {
        snapshot,
        mapped,
        resident,
        _dir: dir,
        hits,
        misses,
    }
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

fn lookups(c: &mut Criterion) {
    let f = fixture();
    let snap = &f.snapshot;
    let mut group = c.benchmark_group(format!("snapshot/{}", snap.person_count()));
    group.throughput(Throughput::Elements(KEYS as u64));

    group.bench_function("get_hit", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for &nik in &f.hits {
                if let Some(p) = snap.get(black_box(nik)) {
                    acc = acc.wrapping_add(p.slot());
                }
            }
            acc
        })
    });

    group.bench_function("get_miss", |b| {
        b.iter(|| {
            let mut found = 0u32;
            for &nik in &f.misses {
                found += u32::from(snap.get(black_box(nik)).is_some());
            }
            found
        })
    });

    // What `check` reads: the person's eligibility and enrolment bits (the
    // profile record, one more line that is usually cached).
    group.bench_function("check_bits", |b| {
        b.iter(|| {
            let mut open = 0u32;
            for &nik in &f.hits {
                if let Some(p) = snap.get(black_box(nik)) {
                    open = open.wrapping_add((p.eligible().0 & !p.enrolled().0).count_ones());
                }
            }
            open
        })
    });

    // The same lookups with the file mapped and resident.
    for (name, snap) in [("mapped", &f.mapped), ("resident", &f.resident)] {
        group.bench_function(format!("get_hit_{name}"), |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for &nik in &f.hits {
                    if let Some(p) = snap.get(black_box(nik)) {
                        acc = acc.wrapping_add(p.slot());
                    }
                }
                acc
            })
        });
    }

    let batch: Vec<u64> = f.hits[..BATCH].iter().map(|n| n.get()).collect();
    let mut out = vec![None; BATCH];
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, snap) in [
        ("heap", &f.snapshot),
        ("mapped", &f.mapped),
        ("resident", &f.resident),
    ] {
        group.bench_function(format!("find_many_4096_{name}"), |b| {
            b.iter(|| {
                snap.find_many(black_box(&batch), &mut out);
                out[BATCH - 1]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
