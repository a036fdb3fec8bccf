//! Keyed identities (docs/FORMAT.md, "Keyed snapshots"): what a lookup at a
//! keyed payout point pays for its pseudonym.
//!
//! ```text
//! cargo bench --bench keyed                              # 1,000,000 persons
//! TEPAT_BENCH_PERSONS=200000 cargo bench --bench keyed   # a smaller store
//! ```
//!
//! Three keyed PRFs on one 8-byte word (the Feistel round's input):
//! SipHash-2-4, keyed BLAKE3 and HMAC-SHA-256; the pseudonym itself (ten
//! SipHash-2-4 rounds); then `Store::check` of the same NIKs at a plain and
//! at a keyed store of the same persons, in the same run. Before criterion
//! runs, the latency of one `check` is sampled call by call at both stores
//! and its p50, p99 and p99.9 printed to stderr, beside the cost of reading
//! the clock.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use siphasher::sip::SipHasher24;
use std::hash::Hasher;
use tepat::snapshot::{IdentityKey, SnapshotBuilder};
use tepat::{Date, Nik, Options, Period, ProgramId, Registry, Store};

/// Lookups per timed iteration (keys are taken round-robin).
const KEYS: usize = 1 << 14;

/// Whether criterion runs for real (`cargo bench`), not as a smoke test
/// (`cargo test --benches`, each benchmark once): the smoke test builds a
/// small store and samples few calls.
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Calls sampled one by one for the latency percentiles.
fn samples() -> usize {
    if measuring() { 1_000_000 } else { 10_000 }
}

struct Stores {
    plain: Store,
    keyed: Store,
    _dir: tempfile::TempDir,
    niks: Vec<Nik>,
    program: ProgramId,
    period: Period,
}

fn stores() -> Stores {
    let n = common::persons(if measuring() { 1_000_000 } else { 20_000 });
    let (persons, _) = common::register(n, 0x6b65_7965_6400_0001, 0);
    let regions = common::regions();
    let as_of = Date::new(2026, 11, 1).expect("a date");
    let today = Date::new(2026, 11, 15).expect("a date");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let key = IdentityKey::from_bytes(*b"bench point key!");
    let make = |name: &str, key: Option<IdentityKey>| {
        let mut b = SnapshotBuilder::new(Registry::builtin().clone(), &regions, as_of)
            .expect("a builder")
            .keyed_by(key.clone());
        b.reserve(persons.len());
        for p in &persons {
            b.add(p).expect("a valid record");
        }
        let options = Options::default().today(today).identity_key(key);
        Store::create(&dir.path().join(name), b, options).expect("a store")
    };
    let plain = make("plain", None);
    let keyed = make("keyed", Some(key));
    let mut rng = common::Rng(42);
    let niks = (0..KEYS)
        .map(|_| persons[rng.below(persons.len() as u64) as usize].nik)
        .collect();
    let registry = plain.registry();
    Stores {
        program: registry.require("PBI_JK").expect("a built-in program"),
        period: Period::parse("2026-11").expect("a period"),
        plain,
        keyed,
        _dir: dir,
        niks,
    }
}

/// p50, p99 and p99.9 of [`samples`] calls of `f`, in ns.
fn percentiles(mut f: impl FnMut(usize)) -> [u64; 3] {
    let n = samples();
    let mut ns: Vec<u64> = (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    [ns[n / 2], ns[n * 99 / 100], ns[n * 999 / 1000]]
}

fn latency(s: &Stores) {
    let clock = percentiles(|_| {});
    eprintln!(
        "latency of one call, ns (p50 p99 p99.9), {} calls:",
        samples()
    );
    eprintln!("  clock read alone      {clock:?}");
    for (name, store) in [("plain", &s.plain), ("keyed", &s.keyed)] {
        let p = percentiles(|i| {
            let v = store.check(black_box(s.niks[i % KEYS]), s.program, s.period);
            black_box(v.map(|v| v.payable).unwrap_or(false));
        });
        eprintln!("  check at the {name} store {p:?}");
    }
}

fn prfs(c: &mut Criterion) {
    let mut group = c.benchmark_group("prf");
    let key16 = *b"bench point key!";
    let key32 = [7u8; 32];
    group.throughput(Throughput::Elements(1));
    let mut x = 0x3201_0157_0890_0001u64;
    group.bench_function("siphash24_word", |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            let mut h = SipHasher24::new_with_key(&key16);
            h.write_u64(black_box(x));
            h.finish()
        })
    });
    group.bench_function("blake3_keyed_word", |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            blake3::keyed_hash(&key32, &black_box(x).to_le_bytes())
        })
    });
    let hmac = Hmac::<Sha256>::new_from_slice(&key32).expect("any key length");
    group.bench_function("hmac_sha256_word", |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            let mut m = hmac.clone();
            m.update(&black_box(x).to_le_bytes());
            m.finalize().into_bytes()
        })
    });
    let key = IdentityKey::from_bytes(key16);
    let nik = Nik::from_u64(3_201_015_708_900_001).expect("a NIK");
    group.bench_function("pseudonym_10_rounds", |b| {
        b.iter(|| key.nik(black_box(nik)))
    });
    group.finish();
}

fn checks(c: &mut Criterion, s: &Stores) {
    let mut group = c.benchmark_group(format!("check/{}", s.plain.snapshot().person_count()));
    group.throughput(Throughput::Elements(KEYS as u64));
    for (name, store) in [("plain", &s.plain), ("keyed", &s.keyed)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut payable = 0u32;
                for &nik in &s.niks {
                    let v = store.check(black_box(nik), s.program, s.period);
                    payable += u32::from(v.map(|v| v.payable).unwrap_or(false));
                }
                payable
            })
        });
    }
    group.finish();
}

fn main() {
    let stores = stores();
    latency(&stores);
    let mut c = Criterion::default().configure_from_args();
    prfs(&mut c);
    checks(&mut c, &stores);
    c.final_summary();
}
