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

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::{Date, Nik, Registry};

/// Lookups per timed iteration (a power of two: keys are taken round-robin).
const KEYS: usize = 1 << 14;
/// The batch size of the `find_many` benchmark.
const BATCH: usize = 4096;

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

fn fixture() -> Fixture {
    let n = common::persons(200_000);
    let (persons, mut misses) = common::register(n, 0x7465_7061_7400_0001, KEYS);
    let regions = common::regions();
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

    let mut rng = common::Rng(42);
    let hits: Vec<Nik> = (0..KEYS)
        .map(|_| persons[rng.below(persons.len() as u64) as usize].nik)
        .collect();
    // Unique up to about 18 M persons (two-digit birth years wrap after
    // that): keep only the NIKs that really are absent.
    misses.retain(|k| snapshot.get(*k).is_none());
    common::shuffle(&mut misses, &mut rng);
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
