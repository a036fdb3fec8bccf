//! What a second candidate line per lookup would cost: `get` over a
//! snapshot, with and without a far cache line fetched beside each lookup
//! (docs/ARCHITECTURE.md, "One home line and a walk, not two candidate
//! lines").
//!
//! A layout with two candidate lines per NIK, fetched together, would make
//! the NIKs pushed out of their home line (18 %) as fast as the others in
//! a dependent chain, but every lookup would fetch two lines. This measures
//! the second half: the NIKs in their home line, each `get` alone and each
//! `get` with a prefetch of a line at a place hashed from the NIK, in an
//! array as large as the snapshot advised for huge pages (as the resident
//! snapshot is). Both columns in the same run, alternating.
//!
//! ```sh
//! cd benches/peers && cargo build --release
//! ../../target/release/second-line SNAPSHOT_FILE   # CARGO_TARGET_DIR as run.sh sets it
//! ```
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use tepat::Nik;
use tepat::snapshot::Snapshot;
use tepat::snapshot::format::hash_nik;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Lookups per measurement.
const KEYS: usize = 2_000_000;

fn main() -> Res<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: second-line SNAPSHOT_FILE")?;
    let snap = Snapshot::open_resident(Path::new(&path))?;
    let len = snap.byte_len() as usize;
    let mut far = memmap2::MmapMut::map_anon(len)?;
    // Ignored where it fails: the far array then stays in 4 KiB pages.
    let _ = far.advise(memmap2::Advice::HugePage);
    for page in far.chunks_mut(4096) {
        page[0] = 1;
    }
    let far_lines = (len / 64).max(1) as u64;
    let slots = snap.slot_count();
    let mut seed = 99u64;
    let mut all = Vec::with_capacity(KEYS);
    while all.len() < KEYS {
        seed = hash_nik(seed + 1, 0);
        if let Some(p) = snap.person_at((seed % slots) as u32) {
            all.push(p.nik());
        }
    }
    let home: Vec<Nik> = all
        .iter()
        .copied()
        .filter(|&k| snap.get(k).is_some_and(|p| p.home_distance() == 0))
        .collect();
    println!(
        "{} persons, {} MiB; {} MiB of the snapshot in huge pages; home-line scan {}",
        snap.person_count(),
        len >> 20,
        snap.huge_page_bytes().unwrap_or(0) >> 20,
        if snap.vector_scan() {
            "vector"
        } else {
            "scalar"
        }
    );
    let far_line = |k: Nik| (hash_nik(k.get(), 0x1234) % far_lines) as usize * 64;
    let get = |k: Nik, second: bool| {
        if second {
            prefetch(&far, far_line(k));
        }
        snap.get(k).map_or(0, |p| u64::from(p.family_index()))
    };
    println!(
        "| run | home-line NIKs, dependent ns: one line / with a far line | independent ns: one line / with a far line |"
    );
    println!("|---|---:|---:|");
    for run in 1..=3 {
        let (d1, d2) = (
            dependent(&home, |k| get(k, false)),
            dependent(&home, |k| get(k, true)),
        );
        let (i1, i2) = (
            independent(&home, |k| get(k, false)),
            independent(&home, |k| get(k, true)),
        );
        println!("| {run} | {d1:.0} / {d2:.0} | {i1:.0} / {i2:.0} |");
    }
    Ok(())
}

/// ns per lookup when each lookup's key depends on the previous answer
/// (through a zero the compiler cannot see, as in the peer benchmark).
fn dependent(keys: &[Nik], mut look: impl FnMut(Nik) -> u64) -> f64 {
    let mask = black_box(0u64);
    let t = Instant::now();
    let mut prev = 0u64;
    for i in 0..keys.len() {
        prev = look(keys[i ^ (prev & mask) as usize]);
    }
    black_box(prev);
    t.elapsed().as_nanos() as f64 / keys.len() as f64
}

/// ns per lookup in a plain loop.
fn independent(keys: &[Nik], mut look: impl FnMut(Nik) -> u64) -> f64 {
    let t = Instant::now();
    let mut acc = 0u64;
    for &k in keys {
        acc = acc.wrapping_add(look(black_box(k)));
    }
    black_box(acc);
    t.elapsed().as_nanos() as f64 / keys.len() as f64
}

/// Starts loading the cache line at `bytes[index]`.
fn prefetch(bytes: &[u8], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(index) {
        // SAFETY: a prefetch never faults and changes no memory; the
        // pointer is into `bytes`, and SSE is in the x86_64 baseline.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                byte as *const u8 as *const i8,
                std::arch::x86_64::_MM_HINT_T0,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, index);
}
