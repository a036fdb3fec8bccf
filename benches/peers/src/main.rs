//! tepat against its peers, same keys, same run, same machine.
//!
//! ```text
//! tepat-peers --persons 10000000 --dir /path/to/scratch [--engines tepat,lmdb,sled,redb,hashmap]
//!             [--reps 5] [--lookups 1000000] [--batch 10000000] [--keep]
//! ```
//!
//! 1. Generates `--persons` persons with `tepat-gen` and builds a tepat
//!    snapshot file in `--dir` (`SnapshotBuilder::write_to_path`).
//! 2. Measures the physical reference: a pointer chase (Sattolo cycle of
//!    `u64` indices, on the heap, 4 KiB pages) over an array as large as
//!    the snapshot file.
//! 3. Loads the same persons (NIK → 24 bytes built from the snapshot's
//!    person through the public API: NIK, family index, slot, profile
//!    index; one per distinct NIK, the first record of a duplicate) into
//!    LMDB (heed), sled, redb and a std `HashMap`, in NIK order, and
//!    measures each engine and tepat:
//!    - dependent chain: the next key is `keys[i] ^ (answer & mask)` with a
//!      `mask` the compiler cannot see is zero, so each lookup starts only
//!      once the previous answer's bytes are loaded; the key array is read
//!      in order and stays ahead in cache;
//!    - independent lookups: a plain loop over random existing keys.
//!    - for tepat also `find_many` over an in-memory list on 1 and 2 threads.
//!
//! Every figure is the median of `--reps` repetitions, each over fresh
//! random keys. A markdown table goes to stdout, progress to stderr.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tepat::snapshot::{Person, Snapshot, SnapshotBuilder};
use tepat::{Date, Nik, RegionTable};
use tepat_gen::{Config, Generator};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const ENGINES: [&str; 5] = ["tepat", "lmdb", "sled", "redb", "hashmap"];

struct Args {
    persons: u64,
    dir: PathBuf,
    engines: Vec<String>,
    reps: usize,
    lookups: usize,
    batch: usize,
    keep: bool,
    /// An existing snapshot file to measure instead of generating one.
    snapshot: Option<PathBuf>,
    /// How tepat opens the snapshot: `mapped`, `resident` or both.
    modes: Vec<String>,
}

const USAGE: &str = "usage: tepat-peers (--persons N | --snapshot FILE) --dir DIR [--engines tepat,lmdb,sled,redb,hashmap] [--modes mapped,resident] [--reps 5] [--lookups 1000000] [--batch 10000000] [--keep]";

fn parse_count(s: &str) -> Res<u64> {
    Ok(s.replace('_', "").parse()?)
}

fn args() -> Res<Args> {
    let mut a = Args {
        persons: 0,
        dir: PathBuf::new(),
        engines: ENGINES.iter().map(|s| s.to_string()).collect(),
        reps: 5,
        lookups: 1_000_000,
        batch: 10_000_000,
        keep: false,
        snapshot: None,
        modes: vec!["mapped".into(), "resident".into()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--persons" => a.persons = parse_count(&value()?)?,
            "--dir" => a.dir = PathBuf::from(value()?),
            "--engines" => {
                a.engines = value()?.split(',').map(str::to_owned).collect();
                if let Some(bad) = a.engines.iter().find(|e| !ENGINES.contains(&e.as_str())) {
                    return Err(format!("unknown engine {bad}\n{USAGE}").into());
                }
            }
            "--reps" => a.reps = parse_count(&value()?)?.max(1) as usize,
            "--lookups" => a.lookups = parse_count(&value()?)?.max(1) as usize,
            "--batch" => a.batch = parse_count(&value()?)?.max(1) as usize,
            "--keep" => a.keep = true,
            "--snapshot" => a.snapshot = Some(PathBuf::from(value()?)),
            "--modes" => {
                a.modes = value()?.split(',').map(str::to_owned).collect();
                if let Some(bad) = a
                    .modes
                    .iter()
                    .find(|m| !["mapped", "resident"].contains(&m.as_str()))
                {
                    return Err(format!("unknown mode {bad}\n{USAGE}").into());
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if (a.persons == 0 && a.snapshot.is_none()) || a.dir.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    if a.snapshot.is_some() && a.engines.iter().any(|e| e != "tepat") {
        return Err(format!("--snapshot measures tepat alone (--engines tepat)\n{USAGE}").into());
    }
    Ok(a)
}

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
    /// Uniform in `0..n` (multiply-shift; the bias is negligible here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn log(msg: impl AsRef<str>) {
    eprintln!(
        "[{:>8.1}s] {}",
        START.with(|s| s.elapsed().as_secs_f64()),
        msg.as_ref()
    );
}

thread_local! {
    static START: Instant = Instant::now();
}

/// Bytes allocated on disk under `path` (a file or a directory).
fn disk_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|d| d.flatten().map(|e| disk_bytes(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.blocks() * 512
    }
}

/// One row of the result table.
struct Row {
    engine: String,
    n: u64,
    build: Option<f64>,
    open: Option<f64>,
    bytes_per_key: Option<f64>,
    dependent_ns: f64,
    independent_ns: f64,
    note: String,
}

/// Times `keys.len()` dependent lookups: lookup `i` reads the key at index
/// `i ^ (previous answer & mask)`, `mask` being an opaque zero, so each
/// lookup starts only once the previous answer's bytes are loaded (the
/// same one L1 load on every engine's chain); the key array is read in
/// order and stays ahead in cache.
#[inline(never)]
fn dependent<K: Copy>(keys: &[K], mut look: impl FnMut(K) -> u64) -> f64 {
    let mask = black_box(0u64);
    let t = Instant::now();
    let mut prev = 0u64;
    for i in 0..keys.len() {
        let j = i ^ (prev & mask) as usize;
        prev = keys.get(j).map_or(0, |&k| look(k));
    }
    let ns = secs(t.elapsed()) * 1e9 / keys.len() as f64;
    black_box(prev);
    ns
}

/// Times a plain loop of lookups over `keys`.
#[inline(never)]
fn independent<K: Copy>(keys: &[K], mut look: impl FnMut(K) -> u64) -> f64 {
    let t = Instant::now();
    let mut acc = 0u64;
    for &k in keys {
        acc = acc.wrapping_add(look(black_box(k)));
    }
    let ns = secs(t.elapsed()) * 1e9 / keys.len() as f64;
    black_box(acc);
    ns
}

/// Medians of `reps` dependent and independent runs, each over its own
/// `per_rep` keys of `sample`.
fn measure<K: Copy>(
    sample: &[K],
    reps: usize,
    per_rep: usize,
    mut look: impl FnMut(K) -> u64,
) -> (f64, f64) {
    // Warm the code path and the sample's first keys.
    independent(&sample[..per_rep.min(sample.len()).min(10_000)], &mut look);
    let mut dep = Vec::new();
    let mut ind = Vec::new();
    for r in 0..reps {
        let keys = &sample[r * per_rep..(r + 1) * per_rep];
        dep.push(dependent(keys, &mut look));
        let keys = &sample[(reps + r) * per_rep..(reps + r + 1) * per_rep];
        ind.push(independent(keys, &mut look));
    }
    (median(dep), median(ind))
}

/// A peer's answer: the person's family index, bytes 8-11 of its value
/// (what tepat's `get` row answers too, from its record).
fn family_word(value: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&value[8..12]);
    u64::from(u32::from_le_bytes(w))
}

/// A peer's value for a person: NIK (u64 LE), family index, slot and
/// profile index (u32 LE each), four zero bytes.
fn peer_value(p: &Person<'_>) -> [u8; 24] {
    let mut v = [0u8; 24];
    v[0..8].copy_from_slice(&p.nik().get().to_le_bytes());
    v[8..12].copy_from_slice(&p.family_index().to_le_bytes());
    v[12..16].copy_from_slice(&p.slot().to_le_bytes());
    v[16..20].copy_from_slice(&p.profile_index().to_le_bytes());
    v
}

/// Generates the persons and writes the snapshot; returns (generate+stage
/// seconds, of which staging, write seconds).
fn build_tepat(persons: u64, path: &Path) -> Res<(f64, f64, f64)> {
    let config = Config {
        persons,
        threads: 2,
        ..Config::default()
    };
    let as_of: Date = config.as_of;
    let generator = Generator::new(config)?;
    let regions = RegionTable::builtin();
    let mut builder = SnapshotBuilder::new(generator.registry().clone(), regions, as_of)?;
    builder.reserve(persons as usize);
    let t = Instant::now();
    let mut staging = Duration::ZERO;
    let mut refused = 0u64;
    let result: Result<(), std::convert::Infallible> = generator.for_each_chunk(
        |chunk| chunk,
        |chunk| {
            let s = Instant::now();
            for r in &chunk.records {
                refused += u64::from(builder.add(r).is_err());
            }
            staging += s.elapsed();
            Ok(())
        },
    );
    let Ok(()) = result;
    let generated = secs(t.elapsed());
    if refused > 0 {
        log(format!(
            "{refused} generated records refused by the builder"
        ));
    }
    let t = Instant::now();
    let _ = std::fs::remove_file(path);
    let summary = builder.write_to_path(path)?;
    let write = secs(t.elapsed());
    log(format!(
        "snapshot: {} persons, {} families, {} profiles, {} duplicate records, {} bytes",
        summary.persons,
        summary.families,
        summary.profiles,
        summary.duplicate_persons,
        summary.bytes
    ));
    Ok((generated, secs(staging), write))
}

/// A random cyclic permutation of `len` indices (Sattolo's algorithm).
fn sattolo(len: usize, rng: &mut Rng) -> Vec<u64> {
    let mut a: Vec<u64> = (0..len as u64).collect();
    for i in (1..len).rev() {
        let j = rng.below(i as u64) as usize;
        a.swap(i, j);
    }
    a
}

/// ns per step of one dependent chase, and of `LANES` interleaved chases.
fn chase<const LANES: usize>(a: &[u64], steps: usize, reps: usize) -> (f64, f64) {
    let mut dep = Vec::new();
    let mut par = Vec::new();
    let mut idx = 0usize;
    // Warm: read every page (Sattolo already wrote them all), then walk.
    black_box(a.iter().step_by(512).fold(0u64, |x, v| x ^ v));
    for _ in 0..steps {
        idx = a[idx] as usize;
    }
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..steps {
            idx = a[idx] as usize;
        }
        dep.push(secs(t.elapsed()) * 1e9 / steps as f64);
        let mut lanes = [0usize; LANES];
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane = a[(idx + l * 7919) % a.len()] as usize;
        }
        let t = Instant::now();
        for _ in 0..steps / LANES {
            for lane in &mut lanes {
                *lane = a[*lane] as usize;
            }
        }
        par.push(secs(t.elapsed()) * 1e9 / (steps / LANES * LANES) as f64);
        idx ^= lanes.iter().fold(0, |x, l| x ^ (l & 1));
    }
    black_box(idx);
    (median(dep), median(par))
}

/// ns per step (aggregate) of `LANES` interleaved chases on each of 2
/// threads: what two cores can have in flight together.
fn chase_two_threads<const LANES: usize>(a: &[u64], steps: usize, reps: usize) -> f64 {
    let mut par = Vec::new();
    for r in 0..reps {
        let t = Instant::now();
        std::thread::scope(|s| {
            for th in 0..2usize {
                s.spawn(move || {
                    let mut lanes = [0usize; LANES];
                    for (l, lane) in lanes.iter_mut().enumerate() {
                        *lane = (r * 104_729 + th * 7_919 + l * 1_000_003) % a.len();
                    }
                    for _ in 0..steps / LANES {
                        for lane in &mut lanes {
                            *lane = a[*lane] as usize;
                        }
                    }
                    black_box(lanes);
                });
            }
        });
        par.push(secs(t.elapsed()) * 1e9 / (2 * (steps / LANES) * LANES) as f64);
    }
    median(par)
}

/// Prints the rows not printed yet (stdout is flushed per line, so a crash
/// of a later engine keeps the earlier rows).
/// `chases`: the dependent chase over 4 KiB pages and over huge pages; a
/// row is divided by the one over the same kind of pages (resident and
/// huge-page rows by the second).
fn print_rows(
    rows: &[Row],
    printed: &mut usize,
    chases: (f64, f64),
    tepat_rates: Option<(f64, f64)>,
) {
    for r in &rows[*printed..] {
        let chase_ns = if r.engine.contains("resident") || r.engine.contains("huge") {
            chases.1
        } else {
            chases.0
        };
        let vs_tepat = match tepat_rates {
            Some((d, i))
                if !r.engine.starts_with("tepat get (") && !r.engine.starts_with("pointer") =>
            {
                format!("{:.1}× / {:.1}×", r.dependent_ns / d, r.independent_ns / i)
            }
            _ => "—".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.2}× | {} | {} |",
            r.engine,
            r.n,
            fmt_opt(r.build, fmt_time),
            fmt_opt(r.open, fmt_time),
            fmt_opt(r.bytes_per_key, |b| format!("{b:.1}")),
            r.dependent_ns,
            r.independent_ns,
            r.dependent_ns / chase_ns,
            vs_tepat,
            r.note
        );
    }
    *printed = rows.len();
}

fn fmt_opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("—".into(), f)
}

fn fmt_time(s: f64) -> String {
    if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}

/// A copy of `a` in anonymous memory advised `MADV_HUGEPAGE` (what
/// `Snapshot::open_resident` does for the snapshot), so that the chase
/// over huge pages reads the same cycle as the one over the heap.
fn huge_copy(a: &[u64]) -> Res<memmap2::MmapMut> {
    let mut m = memmap2::MmapMut::map_anon(a.len() * 8)?;
    m.advise(memmap2::Advice::HugePage)?;
    // SAFETY: every bit pattern is a valid u64, and `align_to_mut` puts
    // only whole, aligned u64s in the middle slice (a map is page-aligned,
    // so the prefix is empty; checked below).
    let (head, words, _) = unsafe { m.align_to_mut::<u64>() };
    if !head.is_empty() || words.len() < a.len() {
        return Err("anonymous map not aligned".into());
    }
    words[..a.len()].copy_from_slice(a);
    Ok(m)
}

/// The u64s of a map made by `huge_copy`.
fn as_words(m: &memmap2::MmapMut) -> &[u64] {
    // SAFETY: as in `huge_copy`.
    let (_, words, _) = unsafe { m.align_to::<u64>() };
    words
}

/// Bytes of `[start, start + len)` in transparent huge pages, from the
/// `AnonHugePages` lines of `/proc/self/smaps`.
fn anon_huge_bytes(start: usize, len: usize) -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let end = start + len;
    let mut inside = false;
    let mut total = 0u64;
    for line in smaps.lines() {
        let range = line
            .split_once(' ')
            .and_then(|(r, _)| r.split_once('-'))
            .and_then(|(a, b)| {
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                ))
            });
        if let Some((a, b)) = range {
            inside = a < end && start < b;
        } else if inside && let Some(rest) = line.strip_prefix("AnonHugePages:") {
            total += rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
                * 1024;
        }
    }
    total.min(len as u64)
}

/// Opens `path` in `mode`: `mapped` (`Snapshot::open`, median of 5 opens)
/// or `resident` (`Snapshot::open_resident`, median of `reps` opens, each
/// a full read; the last one is kept). Returns the snapshot and the open
/// times in seconds.
fn open_mode(path: &Path, mode: &str, reps: usize) -> Res<(Snapshot, Vec<f64>)> {
    let open = |p: &Path| {
        if mode == "resident" {
            Snapshot::open_resident(p)
        } else {
            Snapshot::open(p)
        }
    };
    let mut times = Vec::new();
    let count = if mode == "resident" {
        reps.clamp(1, 3)
    } else {
        5
    };
    for _ in 1..count {
        let t = Instant::now();
        let s = open(path)?;
        times.push(secs(t.elapsed()));
        black_box(s.person_count());
    }
    let t = Instant::now();
    let s = open(path)?;
    times.push(secs(t.elapsed()));
    Ok((s, times))
}

fn main() -> Res<()> {
    let a = args()?;
    START.with(|_| ());
    std::fs::create_dir_all(&a.dir)?;
    let reps = a.reps;
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut rng = Rng(0x7065_6572_735f_7631);

    // --- tepat: build (or take the given file), open.
    let snap_path = match &a.snapshot {
        Some(p) => p.clone(),
        None => a.dir.join(format!("tepat-{}.snapshot", a.persons)),
    };
    let mut build_secs = None;
    if a.snapshot.is_none() {
        log(format!(
            "generating {} persons and building {}",
            a.persons,
            snap_path.display()
        ));
        let (generated, staging, write) = build_tepat(a.persons, &snap_path)?;
        notes.push(format!(
            "tepat build: generate + stage {generated:.1} s (of which staging {staging:.1} s), write_to_path {write:.1} s (sorts, writes, fsyncs, re-reads to verify)"
        ));
        build_secs = Some(staging + write);
    }
    let snap_bytes = disk_bytes(&snap_path);
    let snap = Snapshot::open(&snap_path)?;
    let persons = snap.person_count();
    let n = if a.snapshot.is_some() {
        persons
    } else {
        a.persons
    };
    let peers = a.engines.iter().any(|e| e != "tepat");

    // --- the values, one per distinct NIK, in NIK order (for the peers):
    // built through the public API from each person (the file's records
    // are packed, not 24-byte words; see `peer_value`). A stable sort keeps
    // a duplicated NIK's records in slot order, so its first record wins,
    // as in `Snapshot::find`.
    let mut pairs: Vec<(u64, [u8; 24])> = Vec::new();
    if peers {
        pairs = snap
            .persons()
            .map(|p| (p.nik().get(), peer_value(&p)))
            .collect();
        if pairs.len() as u64 != persons {
            return Err(format!(
                "persons() gave {} records, the header says {persons}",
                pairs.len()
            )
            .into());
        }
        pairs.sort_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
    }
    let keys = if peers { pairs.len() } else { persons as usize };
    log(format!(
        "{persons} person records{}",
        if peers {
            format!(", {keys} distinct NIKs")
        } else {
            String::new()
        }
    ));

    // Random existing keys: 2·reps runs of `lookups` for the latency
    // measurements, and the batch list. Without peers, the NIKs of random
    // records: random slots, the empty ones skipped (a duplicate
    // identity's NIK may come up; it is found too).
    let slots = snap.slot_count();
    if persons == 0 || slots == 0 {
        return Err("the snapshot holds no persons".into());
    }
    let random_key = |rng: &mut Rng| -> u64 {
        if peers {
            pairs[rng.below(keys as u64) as usize].0
        } else {
            loop {
                if let Some(p) = snap.person_at(rng.below(slots) as u32) {
                    break p.nik().get();
                }
            }
        }
    };
    let sample: Vec<u64> = (0..2 * reps * a.lookups)
        .map(|_| random_key(&mut rng))
        .collect();
    let sample_niks = sample
        .iter()
        .map(|&k| Nik::from_u64(k))
        .collect::<Result<Vec<Nik>, _>>()?;
    let batch: Vec<u64> = (0..a.batch).map(|_| random_key(&mut rng)).collect();

    // --- the physical reference, over 4 KiB and over 2 MiB pages.
    let chase_len = (snap_bytes as usize / 8).max(1024);
    log(format!("pointer chase over {} MiB", (chase_len * 8) >> 20));
    let t = Instant::now();
    let cycle = sattolo(chase_len, &mut rng);
    log(format!(
        "  Sattolo cycle built in {:.1} s",
        secs(t.elapsed())
    ));
    let (chase_ns, chase16_ns) = chase::<16>(&cycle, a.lookups, reps);
    let chase32_ns = chase_two_threads::<16>(&cycle, a.lookups, reps);
    log(format!(
        "  heap: {chase_ns:.1} ns dependent, {chase16_ns:.1} ns with 16 chases in flight, {chase32_ns:.1} ns with 16 on each of 2 threads"
    ));
    let huge = huge_copy(&cycle)?;
    drop(cycle);
    let huge_bytes = anon_huge_bytes(huge.as_ptr() as usize, huge.len());
    let (hchase_ns, hchase16_ns) = chase::<16>(as_words(&huge), a.lookups, reps);
    let hchase32_ns = chase_two_threads::<16>(as_words(&huge), a.lookups, reps);
    let (_, hchase_32_lanes) = chase::<32>(as_words(&huge), a.lookups, reps);
    let hchase_2x32 = chase_two_threads::<32>(as_words(&huge), a.lookups, reps);
    drop(huge);
    log(format!(
        "  huge pages ({} of {} MiB): {hchase_ns:.1} ns dependent, {hchase16_ns:.1} ns with 16 in flight, {hchase32_ns:.1} ns with 16 on each of 2 threads",
        huge_bytes >> 20,
        (chase_len * 8) >> 20
    ));
    notes.push(format!(
        "pointer chase over {} MiB on the heap (4 KiB pages): {chase_ns:.1} ns per dependent access; {chase16_ns:.1} ns per access with 16 chases in flight on 1 thread; {chase32_ns:.1} ns per access (aggregate) with 16 in flight on each of 2 threads = {:.1} M accesses/s",
        (chase_len * 8) >> 20,
        1e3 / chase32_ns
    ));
    notes.push(format!(
        "the same over huge pages with 32 chases in flight: {hchase_32_lanes:.1} ns per access on 1 thread; {hchase_2x32:.1} ns aggregate with 32 on each of 2 threads = {:.1} M accesses/s",
        1e3 / hchase_2x32
    ));
    notes.push(format!(
        "pointer chase over the same cycle in anonymous memory advised MADV_HUGEPAGE ({} MiB of it in huge pages per /proc/self/smaps): {hchase_ns:.1} ns per dependent access; {hchase16_ns:.1} ns with 16 in flight on 1 thread; {hchase32_ns:.1} ns aggregate with 16 in flight on each of 2 threads = {:.1} M accesses/s",
        huge_bytes >> 20,
        1e3 / hchase32_ns
    ));
    rows.push(Row {
        engine: "pointer chase (heap, 4 KiB pages)".into(),
        n,
        build: None,
        open: None,
        bytes_per_key: Some(snap_bytes as f64 / persons as f64),
        dependent_ns: chase_ns,
        independent_ns: chase16_ns,
        note: "independent = 16 interleaved chases".into(),
    });
    rows.push(Row {
        engine: "pointer chase (huge pages)".into(),
        n,
        build: None,
        open: None,
        bytes_per_key: Some(snap_bytes as f64 / persons as f64),
        dependent_ns: hchase_ns,
        independent_ns: hchase16_ns,
        note: format!(
            "anonymous, MADV_HUGEPAGE, {:.0} % in huge pages; independent = 16 interleaved chases",
            100.0 * huge_bytes as f64 / (chase_len * 8) as f64
        ),
    });
    let chases = (chase_ns, hchase_ns);

    println!();
    println!(
        "N = {n} persons ({persons} records{}); snapshot {snap_bytes} bytes; median of {reps} repetitions; load average at start {}",
        if peers {
            format!(", {keys} distinct NIKs")
        } else {
            String::new()
        },
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    println!();
    println!(
        "| engine | N | build/load | open | bytes/key | dependent ns | independent ns | dependent ÷ chase | ÷ tepat (dep / indep) | note |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut printed = 0;
    let mut opens = Vec::new();

    // --- tepat lookups, mapped and resident.
    if a.engines.iter().any(|e| e == "tepat") {
        for mode in &a.modes {
            let (snap, times) = open_mode(&snap_path, mode, reps)?;
            let open = median(times.clone());
            opens.push(format!(
                "{mode}: median {} of {} opens ({})",
                fmt_time(open),
                times.len(),
                times
                    .iter()
                    .map(|o| fmt_time(*o))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            log(format!("tepat {mode}: warm"));
            {
                // Every page of the persons (a mapped file's page tables
                // fill on first touch), then the whole batch list.
                let mut acc = 0u64;
                snap.for_each_person_word(0..slots as usize, |w0, w2| acc ^= w0 ^ w2);
                black_box(acc);
                let mut out = vec![None; batch.len()];
                snap.find_many(&batch, &mut out);
                assert!(out.iter().all(Option::is_some), "every key is found");
            }
            // Counted after the warm-up, once every page is mapped. A map
            // mostly in huge pages (the page cache in 2 MiB folios) is
            // labelled so, and compared with the huge-page chase.
            let huge = snap.huge_page_bytes().unwrap_or(0);
            let huge_share = huge as f64 / snap.byte_len().max(1) as f64;
            let msg = format!(
                "tepat {mode}: {} of {} MiB in huge pages (AnonHugePages + FilePmdMapped, /proc/self/smaps); home-line scan {}",
                huge >> 20,
                snap.byte_len() >> 20,
                if snap.vector_scan() {
                    "vector (AVX-512 VBMI)"
                } else {
                    "scalar"
                }
            );
            log(&msg);
            notes.push(msg);
            let mode = if mode == "mapped" && huge_share >= 0.5 {
                "mapped, huge pages"
            } else {
                mode.as_str()
            };
            let mut tepat_row = |what: &str, note: &str, (dep, ind): (f64, f64), first: bool| {
                log(format!(
                    "tepat {what} ({mode}): {dep:.1} ns dependent, {ind:.1} ns independent"
                ));
                rows.push(Row {
                    engine: format!("tepat {what} ({mode})"),
                    n,
                    build: build_secs.filter(|_| first && mode.starts_with("mapped")),
                    open: first.then_some(open),
                    bytes_per_key: first.then_some(snap_bytes as f64 / persons as f64),
                    dependent_ns: dep,
                    independent_ns: ind,
                    note: note.into(),
                });
            };
            let get = |nik: Nik| snap.get(nik).map_or(0, |p| u64::from(p.family_index()));
            tepat_row(
                "get",
                "get(nik), answer = the family index read from the record",
                measure(&sample_niks, reps, a.lookups, get),
                true,
            );
            let find_slot = |k: u64| snap.find(k).map_or(0, u64::from);
            tepat_row(
                "find",
                "find alone, answer = the slot (for a pushed-out NIK the walk's predicted branch gives it before the second line arrives)",
                measure(&sample, reps, a.lookups, find_slot),
                false,
            );
            let check = |nik: Nik| {
                snap.get(nik)
                    .map_or(0, |p| u64::from(p.eligible().0 & !p.enrolled().0))
            };
            tepat_row(
                "get + profile bits",
                "get(nik), answer = eligible and not enrolled (reads the profile record too)",
                measure(&sample_niks, reps, a.lookups, check),
                false,
            );
            // The same `get` over NIKs whose record is in its home line
            // (one line read) and over those pushed out of it (the home
            // line, then the line the walk finds them in).
            let (home, pushed): (Vec<Nik>, Vec<Nik>) = sample_niks
                .iter()
                .partition(|&&nik| snap.get(nik).is_some_and(|p| p.home_distance() == 0));
            for (what, keys) in [
                ("get, NIK in its home line", &home),
                ("get, NIK pushed out of it", &pushed),
            ] {
                let per = (keys.len() / (2 * reps)).min(a.lookups);
                if per > 0 {
                    let share = 100.0 * keys.len() as f64 / sample_niks.len() as f64;
                    tepat_row(
                        what,
                        &format!("{share:.1} % of the sample; answer = the family index"),
                        measure(keys, reps, per, get),
                        false,
                    );
                }
            }
            let rebuilt = |k: u64| {
                snap.find(k)
                    .and_then(|slot| snap.person_at(slot))
                    .map_or(0, |p| p.nik().get())
            };
            tepat_row(
                "find + person_at",
                "answer = the NIK rebuilt from the record (the get row of the runs of format 2.0)",
                measure(&sample, reps, a.lookups, rebuilt),
                false,
            );

            // find_many on 1 and 2 threads.
            let mut out = vec![None; batch.len()];
            for threads in [1usize, 2] {
                let mut rates = Vec::new();
                for _ in 0..reps.min(3) {
                    let t = Instant::now();
                    let per = batch.len().div_ceil(threads);
                    std::thread::scope(|s| {
                        for (niks, out) in batch.chunks(per).zip(out.chunks_mut(per)) {
                            let snap = &snap;
                            s.spawn(move || snap.find_many(niks, out));
                        }
                    });
                    rates.push(batch.len() as f64 / secs(t.elapsed()));
                }
                assert!(out.iter().all(Option::is_some));
                let rate = median(rates);
                log(format!(
                    "tepat find_many ({mode}), {threads} thread(s): {:.1} M NIKs/s",
                    rate / 1e6
                ));
                notes.push(format!(
                    "tepat find_many ({mode}) over {} random existing NIKs in memory, {threads} thread(s): {:.1} M NIKs/s ({:.1} ns per NIK per thread)",
                    batch.len(),
                    rate / 1e6,
                    threads as f64 * 1e9 / rate
                ));
            }
        }
    }
    let tepat_rates = rows
        .iter()
        .find(|r| r.engine.starts_with("tepat get ("))
        .map(|r| (r.dependent_ns, r.independent_ns));
    print_rows(&rows, &mut printed, chases, tepat_rates);

    // Per-engine lookups per repetition: fewer for the slow engines.
    let per = |div: usize| (a.lookups / div).max(1000);

    // --- LMDB (heed).
    if a.engines.iter().any(|e| e == "lmdb") {
        let dir = a.dir.join("lmdb");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let map_size = ((keys as u64 * 200).max(1 << 30)).next_multiple_of(1 << 20) as usize;
        log("lmdb: load");
        let t = Instant::now();
        {
            // SAFETY: the environment is opened once in this process and no
            // other process touches the benchmark's scratch directory.
            let env = unsafe { heed::EnvOpenOptions::new().map_size(map_size).open(&dir)? };
            let mut wtxn = env.write_txn()?;
            let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
                env.create_database(&mut wtxn, None)?;
            wtxn.commit()?;
            for chunk in pairs.chunks(1_000_000) {
                let mut wtxn = env.write_txn()?;
                for (k, v) in chunk {
                    db.put_with_flags(&mut wtxn, heed::PutFlags::APPEND, &k.to_be_bytes(), v)?;
                }
                wtxn.commit()?;
            }
            env.force_sync()?;
            env.prepare_for_closing().wait();
        }
        let load = secs(t.elapsed());
        let t = Instant::now();
        // SAFETY: as above; the previous handle is closed.
        let env = unsafe { heed::EnvOpenOptions::new().map_size(map_size).open(&dir)? };
        let rtxn = env.read_txn()?;
        let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
            env.open_database(&rtxn, None)?.ok_or("no database")?;
        let open = secs(t.elapsed());
        let bytes = disk_bytes(&dir);
        log("lmdb: warm");
        let mut count = 0usize;
        for item in db.iter(&rtxn)? {
            let (k, _) = item?;
            count += k.len();
        }
        assert_eq!(count, keys * 8);
        let look = |k: u64| match db.get(&rtxn, &k.to_be_bytes()) {
            Ok(Some(v)) => family_word(v),
            _ => 0,
        };
        let (dep, ind) = measure(&sample, reps, per(4), look);
        log(format!(
            "lmdb: {dep:.1} ns dependent, {ind:.1} ns independent"
        ));
        rows.push(Row {
            engine: "LMDB (heed 0.22)".into(),
            n,
            build: Some(load),
            open: Some(open),
            bytes_per_key: Some(bytes as f64 / keys as f64),
            dependent_ns: dep,
            independent_ns: ind,
            note: "one read txn per repetition; APPEND load, 1 M keys/txn".into(),
        });
        drop(rtxn);
        env.prepare_for_closing().wait();
        if !a.keep {
            std::fs::remove_dir_all(&dir)?;
        }
    }

    print_rows(&rows, &mut printed, chases, tepat_rates);

    // --- redb.
    if a.engines.iter().any(|e| e == "redb") {
        use redb::{ReadableDatabase, TableDefinition};
        const TABLE: TableDefinition<&[u8; 8], &[u8; 24]> = TableDefinition::new("persons");
        let path = a.dir.join("redb.db");
        let _ = std::fs::remove_file(&path);
        let cache = (keys * 128).max(1 << 30);
        log("redb: load");
        let t = Instant::now();
        {
            let db = redb::Builder::new().set_cache_size(cache).create(&path)?;
            for chunk in pairs.chunks(1_000_000) {
                let wtxn = db.begin_write()?;
                {
                    let mut table = wtxn.open_table(TABLE)?;
                    for (k, v) in chunk {
                        table.insert(&k.to_be_bytes(), v)?;
                    }
                }
                wtxn.commit()?;
            }
        }
        let load = secs(t.elapsed());
        let t = Instant::now();
        let db = redb::Builder::new().set_cache_size(cache).open(&path)?;
        let rtxn = db.begin_read()?;
        let table = rtxn.open_table(TABLE)?;
        let open = secs(t.elapsed());
        let bytes = disk_bytes(&path);
        log("redb: warm");
        let mut count = 0usize;
        for item in table.range::<&[u8; 8]>(..)? {
            let (k, _) = item?;
            count += k.value().len();
        }
        assert_eq!(count, keys * 8);
        let look = |k: u64| match table.get(&k.to_be_bytes()) {
            Ok(Some(v)) => family_word(v.value()),
            _ => 0,
        };
        let (dep, ind) = measure(&sample, reps, per(4), look);
        log(format!(
            "redb: {dep:.1} ns dependent, {ind:.1} ns independent"
        ));
        rows.push(Row {
            engine: "redb 4.6".into(),
            n,
            build: Some(load),
            open: Some(open),
            bytes_per_key: Some(bytes as f64 / keys as f64),
            dependent_ns: dep,
            independent_ns: ind,
            note: "one read txn per repetition; [u8;8] keys, 1 M keys/txn".into(),
        });
        drop(table);
        drop(rtxn);
        drop(db);
        if !a.keep {
            std::fs::remove_file(&path)?;
        }
    }

    print_rows(&rows, &mut printed, chases, tepat_rates);

    // --- std HashMap (SipHash), in memory.
    if a.engines.iter().any(|e| e == "hashmap") {
        log("hashmap: load");
        let t = Instant::now();
        let mut map: HashMap<u64, [u8; 24]> = HashMap::with_capacity(keys);
        map.extend(pairs.iter().copied());
        let load = secs(t.elapsed());
        // hashbrown: buckets = next power of two of capacity·8/7, 32 B of
        // entry and 1 control byte each.
        let buckets = (map.capacity() * 8 / 7).next_power_of_two();
        let bytes = buckets * 33;
        for (k, v) in &map {
            black_box((k, v));
        }
        let look = |k: u64| map.get(&k).map_or(0, |v| family_word(v));
        let (dep, ind) = measure(&sample, reps, a.lookups, look);
        log(format!(
            "hashmap: {dep:.1} ns dependent, {ind:.1} ns independent"
        ));
        rows.push(Row {
            engine: "std HashMap<u64,[u8;24]>".into(),
            n,
            build: Some(load),
            open: None,
            bytes_per_key: Some(bytes as f64 / keys as f64),
            dependent_ns: dep,
            independent_ns: ind,
            note: "in memory, default SipHash; bytes/key from capacity".into(),
        });
    }

    print_rows(&rows, &mut printed, chases, tepat_rates);

    // --- sled.
    if a.engines.iter().any(|e| e == "sled") {
        let dir = a.dir.join("sled");
        let _ = std::fs::remove_dir_all(&dir);
        // sled's default cache (1 GiB); larger caches and big batches ran
        // this 24 GiB machine out of memory at 10 M keys.
        let cache = 1u64 << 30;
        let config = || sled::Config::new().path(&dir).cache_capacity(cache);
        log("sled: load");
        let t = Instant::now();
        {
            let db = config().open()?;
            for chunk in pairs.chunks(1_000_000) {
                for (k, v) in chunk {
                    db.insert(k.to_be_bytes(), &v[..])?;
                }
                db.flush()?;
            }
            db.flush()?;
        }
        let load = secs(t.elapsed());
        let t = Instant::now();
        let db = config().open()?;
        let open = secs(t.elapsed());
        let bytes = disk_bytes(&dir);
        log("sled: warm");
        let mut count = 0usize;
        for item in db.iter() {
            let (k, _) = item?;
            count += k.len();
        }
        assert_eq!(count, keys * 8);
        let look = |k: u64| match db.get(k.to_be_bytes()) {
            Ok(Some(v)) => family_word(&v),
            _ => 0,
        };
        let (dep, ind) = measure(&sample, reps, per(10), look);
        log(format!(
            "sled: {dep:.1} ns dependent, {ind:.1} ns independent"
        ));
        rows.push(Row {
            engine: "sled 0.34.7".into(),
            n,
            build: Some(load),
            open: Some(open),
            bytes_per_key: Some(bytes as f64 / keys as f64),
            dependent_ns: dep,
            independent_ns: ind,
            note: "insert in key order, flush every 1 M keys; 1 GiB cache".into(),
        });
        drop(db);
        if !a.keep {
            std::fs::remove_dir_all(&dir)?;
        }
    }

    // --- the rest of the table.
    print_rows(&rows, &mut printed, chases, tepat_rates);
    println!();
    for note in &notes {
        println!("- {note}");
    }
    for o in &opens {
        println!("- tepat open, {o}");
    }
    if !a.keep && a.snapshot.is_none() {
        drop(snap);
        std::fs::remove_file(&snap_path)?;
    }
    Ok(())
}
