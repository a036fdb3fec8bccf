//! Issue 7 benchmark (docs/BENCHMARKS-analytics.md): builds a large store
//! straight from the generator, then measures batch verification (in memory
//! and from CSV), the reports, and exports the columns DuckDB is timed on.
//!
//! ```text
//! tepat-analytics-bench build  --persons N --dir DIR
//! tepat-analytics-bench batch  --dir DIR [--rows 10000000] [--reps 3] [--resident 1]
//! tepat-analytics-bench payees --dir DIR [--rows 4000000]
//! tepat-analytics-bench csv    --dir DIR [--reps 2]
//! tepat-analytics-bench report --dir DIR [--reps 5]
//! tepat-analytics-bench export --dir DIR
//! tepat-analytics-bench floor  --dir DIR [--rows 10000000] [--reps 3]
//! ```
//!
//! The store lives in `DIR/store` (`CURRENT` + `snapshot-000001.tepat`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tepat::batch::{BatchItem, BatchVerdict, OutputFormat, verify_csv};
use tepat::report::{By, Kind};
use tepat::snapshot::SnapshotBuilder;
use tepat::{Nik, Options, Period, ProgramId, RegionTable, Store, Unit};
use tepat_gen::{Config, Generator};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// SplitMix64: a small deterministic random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

struct Args {
    cmd: String,
    persons: u64,
    dir: PathBuf,
    rows: usize,
    reps: usize,
    /// Open the store with `Options { resident: true }` (the snapshot read
    /// into memory backed by huge pages) instead of mapping it.
    resident: bool,
}

fn args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it
        .next()
        .ok_or("usage: tepat-analytics CMD --dir DIR [...]")?;
    let mut a = Args {
        cmd,
        persons: 280_000_000,
        // Required: scratch space outside the repository (checked below).
        dir: PathBuf::new(),
        rows: 0,
        reps: 0,
        resident: false,
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--persons" => a.persons = v.parse()?,
            "--dir" => a.dir = PathBuf::from(v),
            "--rows" => a.rows = v.parse()?,
            "--reps" => a.reps = v.parse()?,
            "--resident" => a.resident = v == "1" || v == "true",
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err("--dir DIR is required (scratch space outside the repository)".into());
    }
    Ok(a)
}

fn log(s: impl AsRef<str>) {
    println!("{}", s.as_ref());
    let _ = std::io::stdout().flush();
}

fn rss_peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
        })
        .map_or(0, |kib| kib / 1024)
}

fn main() -> Res<()> {
    let a = args()?;
    match a.cmd.as_str() {
        "build" => build(&a),
        "batch" => batch(&a),
        "payees" => payees(&a),
        "csv" => csv(&a),
        "report" => report(&a),
        "export" => export(&a),
        "floor" => floor(&a),
        other => Err(format!("unknown command {other}").into()),
    }
}

/// Generator -> `SnapshotBuilder::add` -> `Store::create`, no CSV.
fn build(a: &Args) -> Res<()> {
    let store = a.dir.join("store");
    if store.exists() {
        std::fs::remove_dir_all(&store)?;
    }
    let config = Config {
        persons: a.persons,
        threads: 2,
        ..Config::default()
    };
    let as_of = config.as_of;
    let t0 = Instant::now();
    let generator = Generator::new(config)?;
    let regions = RegionTable::builtin();
    let mut builder = SnapshotBuilder::new(generator.registry().clone(), regions, as_of)?;
    builder.reserve(a.persons as usize);
    let t = Instant::now();
    let mut refused = 0u64;
    let mut staging = Duration::ZERO;
    let mut last = Instant::now();
    let result: Result<(), std::convert::Infallible> = generator.for_each_chunk(
        |chunk| chunk,
        |chunk| {
            let s = Instant::now();
            for r in &chunk.records {
                refused += u64::from(builder.add(r).is_err());
            }
            staging += s.elapsed();
            if last.elapsed() > Duration::from_secs(30) {
                last = Instant::now();
                log(format!(
                    "  staged {} persons after {:.0} s",
                    builder.len(),
                    secs(t.elapsed())
                ));
            }
            Ok(())
        },
    );
    let Ok(()) = result;
    let generated = secs(t.elapsed());
    log(format!(
        "generate+stage: {generated:.1} s (staging {:.1} s), {} staged, {refused} refused, peak RSS {} MiB",
        secs(staging),
        builder.len(),
        rss_peak_mib()
    ));
    let t = Instant::now();
    let (created, summary) = Store::reserve(&store)?.create(builder, Options::default())?;
    let write = secs(t.elapsed());
    let bytes = created.snapshot().byte_len();
    drop(created);
    log(format!(
        "Store::create (write, sync, verify, open): {write:.1} s; total {:.1} s; peak RSS {} MiB",
        secs(t0.elapsed()),
        rss_peak_mib()
    ));
    log(format!(
        "snapshot: {} persons, {} families, {} profiles, {} duplicate records, {} bytes = {:.2} B/person",
        summary.persons,
        summary.families,
        summary.profiles,
        summary.duplicate_persons,
        bytes,
        bytes as f64 / summary.persons as f64
    ));
    log(format!(
        "RESULT build persons={} generate_stage_s={generated:.1} staging_s={:.1} write_s={write:.1} total_s={:.1} bytes={bytes} bpp={:.2} peak_rss_mib={}",
        summary.persons,
        secs(staging),
        secs(t0.elapsed()),
        bytes as f64 / summary.persons as f64,
        rss_peak_mib()
    ));
    Ok(())
}

fn open_store(a: &Args) -> Res<Store> {
    let t = Instant::now();
    let options = Options::default().resident(a.resident);
    let store = Store::open_with(&a.dir.join("store"), options)?;
    let snap = store.snapshot();
    log(format!(
        "store: {} persons, {} bytes, opened in {:.1} ms ({:?}; {} MiB in huge pages)",
        snap.person_count(),
        snap.byte_len(),
        secs(t.elapsed()) * 1e3,
        snap.residence(),
        snap.huge_page_bytes().unwrap_or(0) >> 20
    ));
    Ok(store)
}

/// Reads the whole snapshot file once so that it is in the page cache.
fn warm_file(store: &Store) -> Res<()> {
    let path = Store::current_snapshot_path(store.dir())?;
    let t = Instant::now();
    let mut f = std::fs::File::open(&path)?;
    let mut buf = vec![0u8; 1 << 22];
    let mut total = 0u64;
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    log(format!(
        "page cache warm-up: read {total} bytes in {:.1} s",
        secs(t.elapsed())
    ));
    Ok(())
}

/// The period of each program's kind containing the snapshot's date.
fn periods(store: &Store) -> Res<Vec<Period>> {
    let snap = store.snapshot();
    snap.registry()
        .programs()
        .iter()
        .map(|p| {
            Ok(Period::parse(&tepat_gen::payees::period(
                p.period,
                snap.as_of(),
            ))?)
        })
        .collect()
}

/// `rows` rows: 98 % NIKs of random register slots (80 % of them with a
/// program they are enrolled in), 2 % unknown NIKs (a register NIK with its
/// serial changed, checked absent); the right kind of period.
fn sample_items(store: &Store, rows: usize, seed: u64) -> Res<Vec<BatchItem>> {
    let snap = store.snapshot();
    let periods = periods(store)?;
    let programs = periods.len() as u64;
    let n = snap.slot_count();
    let mut rng = Rng(seed);
    let mut items = Vec::with_capacity(rows);
    while items.len() < rows {
        let slot = rng.below(n) as u32;
        let Some(p) = snap.person_at(slot) else {
            continue;
        };
        let enrolled = p.enrolled();
        let program = if !enrolled.is_empty() && rng.below(10) < 8 {
            let k = rng.below(u64::from(enrolled.len())) as usize;
            enrolled.iter().nth(k).ok_or("enrolled")?
        } else {
            ProgramId::new(rng.below(programs) as usize).ok_or("program")?
        };
        let mut nik = p.nik();
        if rng.below(100) < 2 {
            let v = nik.get() / 10_000 * 10_000 + 9_000 + rng.below(999);
            match Nik::from_u64(v) {
                Ok(u) if snap.find(u.get()).is_none() => nik = u,
                _ => continue,
            }
        }
        items.push(BatchItem {
            nik: Some(nik),
            program,
            period: periods[program.index()],
        });
    }
    Ok(items)
}

/// Programs whose rows `verify_batch` sends through `Store::check` (a
/// family-level exclusion of a person program).
fn slow_programs(store: &Store) -> u32 {
    let snap = store.snapshot();
    let reg = snap.registry();
    let mut mask = 0u32;
    for (i, p) in reg.programs().iter().enumerate() {
        for e in &p.excludes {
            let person = reg.get(e.program).is_some_and(|q| q.unit == Unit::Person);
            if e.level == tepat::program::ExclusionLevel::Family && person {
                mask |= 1 << i;
            }
        }
    }
    mask
}

fn batch(a: &Args) -> Res<()> {
    let rows = if a.rows == 0 { 10_000_000 } else { a.rows };
    let reps = if a.reps == 0 { 3 } else { a.reps };
    if a.resident {
        // The resident open reads the file: time it warm, like the rest.
        let path = Store::current_snapshot_path(&a.dir.join("store"))?;
        let mut f = std::fs::File::open(&path)?;
        std::io::copy(&mut f, &mut std::io::sink())?;
    }
    let store = open_store(a)?;
    warm_file(&store)?;
    let snap = store.snapshot();
    let mode = if a.resident { "resident" } else { "mapped" };
    log(format!("snapshot {mode}"));
    let t = Instant::now();
    let items = sample_items(&store, rows, 7)?;
    let slow = slow_programs(&store);
    let slow_rows = items
        .iter()
        .filter(|i| slow >> i.program.index() & 1 == 1)
        .count();
    log(format!(
        "sampled {rows} rows in {:.1} s; {slow_rows} rows of programs that take the Store::check path (mask {slow:#x})",
        secs(t.elapsed())
    ));
    let mut out = vec![BatchVerdict::default(); items.len()];
    // Warm: one pass over the whole list.
    store.verify_batch(&items, &mut out, 2)?;
    let payable = out.iter().filter(|v| v.payable).count();
    log(format!(
        "warm pass: {payable} of {rows} payable; {} MiB of the snapshot in huge pages now",
        store.snapshot().huge_page_bytes().unwrap_or(0) >> 20
    ));
    for threads in [1usize, 2] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            store.verify_batch(&items, &mut out, threads)?;
            times.push(secs(t.elapsed()));
        }
        log(format!(
            "RESULT verify_batch {mode} threads={threads} rows={rows} best_s={:.3} median_s={:.3} best_mrows_s={:.2} median_mrows_s={:.2} runs={:?}",
            min(&times),
            median(times.clone()),
            rows as f64 / min(&times) / 1e6,
            rows as f64 / median(times.clone()) / 1e6,
            times
                .iter()
                .map(|t| (t * 1e3).round() / 1e3)
                .collect::<Vec<_>>()
        ));
    }
    // The same code with its data in cache: 10 M rows drawn from 16,384
    // sampled ones (a few MiB of lines), so what remains is the CPU's work
    // per row, not the memory's wait.
    let hot: Vec<BatchItem> = items
        .iter()
        .take(16_384)
        .cycle()
        .take(rows)
        .cloned()
        .collect();
    let mut hot_out = vec![BatchVerdict::default(); hot.len()];
    store.verify_batch(&hot, &mut hot_out, 2)?;
    for threads in [1usize, 2] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            store.verify_batch(&hot, &mut hot_out, threads)?;
            times.push(secs(t.elapsed()));
        }
        log(format!(
            "RESULT verify_batch_hot {mode} threads={threads} rows={rows} distinct=16384 best_s={:.3} best_mrows_s={:.2} best_ns_per_row_per_thread={:.1}",
            min(&times),
            rows as f64 / min(&times) / 1e6,
            min(&times) * 1e9 * threads as f64 / rows as f64,
        ));
    }
    drop(hot);
    drop(hot_out);
    // find_many alone over the same NIKs.
    let niks: Vec<u64> = items.iter().map(|i| i.nik.map_or(0, Nik::get)).collect();
    let mut slots = vec![None; niks.len()];
    for threads in [1usize, 2] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let per = niks.len().div_ceil(threads);
            std::thread::scope(|s| {
                for (k, o) in niks.chunks(per).zip(slots.chunks_mut(per)) {
                    let snap = &snap;
                    s.spawn(move || {
                        for (k, o) in k.chunks(4096).zip(o.chunks_mut(4096)) {
                            snap.find_many(k, o);
                        }
                    });
                }
            });
            times.push(secs(t.elapsed()));
        }
        let found = slots.iter().filter(|s| s.is_some()).count();
        log(format!(
            "RESULT find_many {mode} threads={threads} rows={rows} found={found} best_s={:.3} median_s={:.3} best_mrows_s={:.2} median_mrows_s={:.2}",
            min(&times),
            median(times.clone()),
            rows as f64 / min(&times) / 1e6,
            rows as f64 / median(times.clone()) / 1e6,
        ));
    }
    // find_many + reading each found record's profile bits after the
    // window (what verify_batch does per CHUNK of 4,096): by window size,
    // 1 thread. Shows the cost of going back to the records.
    for window in [64usize, 256, 1024, 4096] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let mut acc = 0u64;
            for (k, o) in niks.chunks(window).zip(slots.chunks_mut(window)) {
                snap.find_many(k, o);
                for s in o.iter().flatten() {
                    if let Some(p) = snap.person_at(*s) {
                        acc = acc.wrapping_add(u64::from(p.enrolled().0) ^ u64::from(p.deceased()));
                    }
                }
            }
            std::hint::black_box(acc);
            times.push(secs(t.elapsed()));
        }
        log(format!(
            "RESULT find_many+person_at {mode} window={window} threads=1 best_s={:.3} best_mrows_s={:.2}",
            min(&times),
            rows as f64 / min(&times) / 1e6,
        ));
    }
    // Physical reference: independent random 8-byte reads over the
    // snapshot's persons (software-prefetched 16 ahead), lines/s.
    let n = snap.slot_count();
    let mut rng = Rng(99);
    let idx: Vec<u32> = (0..rows).map(|_| rng.below(n) as u32).collect();
    for threads in [1usize, 2] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let per = idx.len().div_ceil(threads);
            let sum: u64 = std::thread::scope(|s| {
                let hs: Vec<_> = idx
                    .chunks(per)
                    .map(|c| {
                        let snap = &snap;
                        s.spawn(move || {
                            let mut acc = 0u64;
                            for &i in c {
                                if let Some(p) = snap.person_at(i) {
                                    acc = acc.wrapping_add(p.nik().get());
                                }
                            }
                            acc
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
            });
            std::hint::black_box(sum);
            times.push(secs(t.elapsed()));
        }
        log(format!(
            "RESULT random_record_read {mode} threads={threads} rows={rows} best_s={:.3} best_mreads_s={:.2} (person_at(random slot): one record line + a cached profile, no prefetch)",
            min(&times),
            rows as f64 / min(&times) / 1e6,
        ));
    }
    Ok(())
}

/// Writes `DIR/payees.csv` (`nik,program,period,amount`) from sampled rows,
/// 1 % of them repeating an earlier row.
fn payees(a: &Args) -> Res<()> {
    let rows = if a.rows == 0 { 4_000_000 } else { a.rows };
    let store = open_store(a)?;
    let snap = store.snapshot();
    let reg = snap.registry();
    let items = sample_items(&store, rows, 11)?;
    let path = a.dir.join("payees.csv");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    writeln!(out, "nik,program,period,amount")?;
    let mut rng = Rng(5);
    for (i, it) in items.iter().enumerate() {
        let it = if i > 1000 && rng.below(100) == 0 {
            &items[rng.below(i as u64) as usize]
        } else {
            it
        };
        let code = &reg.programs()[it.program.index()].code;
        let nik = it.nik.map_or(0, Nik::get);
        writeln!(
            out,
            "{nik:016},{code},{},{}",
            it.period,
            150_000 + 50_000 * rng.below(10)
        )?;
    }
    out.flush()?;
    log(format!(
        "wrote {} ({rows} rows, {} bytes)",
        path.display(),
        std::fs::metadata(&path)?.len()
    ));
    Ok(())
}

/// The library's CSV split, reproduced (its `csv` module is private):
/// unquoted fields borrow, quoted ones are unescaped.
fn split_into<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), &'static str> {
    out.clear();
    if !line.contains('"') {
        out.extend(line.split(',').map(Cow::Borrowed));
        return Ok(());
    }
    Err("quoted fields are not used in this benchmark")
}

fn csv(a: &Args) -> Res<()> {
    let reps = if a.reps == 0 { 2 } else { a.reps };
    let store = open_store(a)?;
    warm_file(&store)?;
    let snap = store.snapshot();
    let reg = snap.registry();
    let path = a.dir.join("payees.csv");
    let file_bytes = std::fs::metadata(&path)?.len();
    let open = || -> Res<BufReader<std::fs::File>> {
        Ok(BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(&path)?,
        ))
    };
    // Warm the page cache for the input.
    let rows = open()?.lines().count() as u64 - 1;
    log(format!(
        "{}: {rows} rows, {file_bytes} bytes",
        path.display()
    ));
    let report = |what: &str, times: &[f64]| {
        log(format!(
            "RESULT csv_stage {what}: best_s={:.3} median_s={:.3} rows_per_s={:.0} ({:.0} ns/row)",
            min(times),
            median(times.to_vec()),
            rows as f64 / min(times),
            min(times) / rows as f64 * 1e9
        ));
    };
    // 1. lines() alone: read, UTF-8 check, one String per line.
    let mut t1 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let mut bytes = 0usize;
        for l in open()?.lines() {
            bytes += l?.len();
        }
        std::hint::black_box(bytes);
        t1.push(secs(t.elapsed()));
    }
    report("1 read lines (BufRead::lines)", &t1);
    // 2. + split and owned fields (what parse_row keeps for the output).
    let mut t2 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let mut n = 0usize;
        for l in open()?.lines().skip(1) {
            let l = l?;
            // A new Vec per row, as the library's parse_row does.
            let mut fields = Vec::new();
            split_into(&l, &mut fields)?;
            let owned: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
            n += owned.len();
            std::hint::black_box(owned);
        }
        std::hint::black_box(n);
        t2.push(secs(t.elapsed()));
    }
    report("2 read + split + owned fields", &t2);
    // 3. + parse: NIK, program, period, amount -> BatchItem.
    let mut items = Vec::with_capacity(rows as usize);
    let mut t3 = Vec::new();
    for _ in 0..reps {
        items.clear();
        let t = Instant::now();
        for l in open()?.lines().skip(1) {
            let l = l?;
            let mut fields = Vec::new();
            split_into(&l, &mut fields)?;
            let owned: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
            let program = reg.by_code(&owned[1]).ok_or("program")?;
            let period = Period::parse(&owned[2])?;
            let ok = owned[3].bytes().all(|b| b.is_ascii_digit());
            std::hint::black_box(ok);
            items.push(BatchItem {
                nik: Nik::parse(&owned[0]).ok(),
                program,
                period,
            });
            std::hint::black_box(owned);
        }
        t3.push(secs(t.elapsed()));
    }
    report("3 read + split + parse to BatchItem", &t3);
    // 4. verify_batch over the parsed rows, in blocks of 65,536 as verify_csv
    // does, all cores.
    let mut verdicts = vec![BatchVerdict::default(); items.len()];
    let mut t4 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for (i, o) in items.chunks(1 << 16).zip(verdicts.chunks_mut(1 << 16)) {
            store.verify_batch(i, o, 0)?;
        }
        t4.push(secs(t.elapsed()));
    }
    report("4 verify_batch alone (65,536-row blocks, 2 threads)", &t4);
    let mut t4b = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        store.verify_batch(&items, &mut verdicts, 0)?;
        t4b.push(secs(t.elapsed()));
    }
    report("4b verify_batch alone (one call, 2 threads)", &t4b);
    // 5. repeat detection as verify_csv does it: for each payable row, the
    // family (Store::person -> kk) for family programs, then a HashSet.
    let mut t5 = Vec::new();
    let mut repeated = 0u64;
    for _ in 0..reps {
        repeated = 0;
        let t = Instant::now();
        let mut seen: HashSet<(u8, u32, u64)> = HashSet::new();
        for (it, v) in items.iter().zip(&verdicts) {
            if !v.payable {
                continue;
            }
            let Some(nik) = it.nik else { continue };
            let family = reg.get(it.program).is_some_and(|p| p.unit == Unit::Family);
            let subject = if family {
                match store.person(&snap, nik.get()).ok().flatten() {
                    Some(s) => s.kk().unwrap_or(nik.get()),
                    None => nik.get(),
                }
            } else {
                nik.get()
            };
            if !seen.insert((it.program.index() as u8, it.period.to_key(), subject)) {
                repeated += 1;
            }
        }
        t5.push(secs(t.elapsed()));
    }
    report(
        &format!("5 repeat detection alone ({repeated} repeats)"),
        &t5,
    );
    // 6. verify_csv to a sink, and to a file (BufWriter 1 MiB, then fsync).
    let mut t6 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let s = verify_csv(
            &store,
            open()?,
            "payees.csv",
            &mut std::io::sink(),
            OutputFormat::Csv,
            |_| {},
        )?;
        t6.push(secs(t.elapsed()));
        std::hint::black_box(s);
    }
    report("6 verify_csv -> io::sink()", &t6);
    let out_path = a.dir.join("payees.verdicts.csv");
    let mut t7 = Vec::new();
    let mut t7w = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out_path)?);
        let s = verify_csv(
            &store,
            open()?,
            "payees.csv",
            &mut out,
            OutputFormat::Csv,
            |_| {},
        )?;
        let f = out.into_inner().map_err(|e| e.into_error())?;
        t7w.push(secs(t.elapsed()));
        f.sync_all()?;
        t7.push(secs(t.elapsed()));
        log(format!(
            "  verify_csv: {} rows, {} payable, {} repeated",
            s.rows, s.payable, s.repeated
        ));
    }
    report("7 verify_csv -> file (before fsync)", &t7w);
    report("7b verify_csv -> file (with fsync)", &t7);
    let _ = std::fs::remove_file(&out_path);
    Ok(())
}

fn report(a: &Args) -> Res<()> {
    let reps = if a.reps == 0 { 5 } else { a.reps };
    let store = open_store(a)?;
    warm_file(&store)?;
    let n = store.snapshot().person_count();
    for (by, name) in [(By::Province, "province"), (By::District, "district")] {
        for threads in [2usize, 1] {
            let mut counts_t = Vec::new();
            let mut total_t = Vec::new();
            let mut rows = 0;
            for _ in 0..reps {
                let t = Instant::now();
                let c = store.counts(by, threads)?;
                counts_t.push(secs(t.elapsed()));
                let r = c.report(Kind::Overlap);
                total_t.push(secs(t.elapsed()));
                rows = r.rows.len();
                std::hint::black_box(r);
            }
            log(format!(
                "RESULT report by={name} threads={threads} overlap_rows={rows} total_min_s={:.3} total_median_s={:.3} counts_min_s={:.3} counts_median_s={:.3} scan_gb_s={:.1} runs={:?}",
                min(&total_t),
                median(total_t.clone()),
                min(&counts_t),
                median(counts_t.clone()),
                n as f64 * 24.0 / min(&counts_t) / 1e9,
                total_t
                    .iter()
                    .map(|t| (t * 1e3).round() / 1e3)
                    .collect::<Vec<_>>()
            ));
        }
    }
    scan_floor(&store, reps);
    // The national overlap by province, persons, for checking DuckDB.
    let c = store.counts(By::Province, 2)?;
    let r = c.report(Kind::Overlap);
    let mut f = BufWriter::new(std::fs::File::create(
        a.dir.join("tepat-overlap-national.csv"),
    )?);
    for row in r.national() {
        writeln!(f, "{},{},{}", row.keys[0], row.keys[1], row.persons)?;
    }
    f.flush()?;
    Ok(())
}

/// Dumps one row per person record: `province.u8` (the 2-digit province
/// code) and `enrolled.u32` (little-endian), plus `programs.txt` (codes in
/// bit order), for DuckDB.
fn export(a: &Args) -> Res<()> {
    let store = open_store(a)?;
    let snap = store.snapshot();
    let t = Instant::now();
    let village_province: Vec<u8> = snap
        .village_codes()
        .iter()
        .map(|v| (v / 100_000_000) as u8)
        .collect();
    let profile_enrolled: Vec<u32> = snap.profiles().map(|p| p.enrolled.get()).collect();
    let n = snap.slot_count() as usize;
    let mut prov =
        BufWriter::with_capacity(1 << 22, std::fs::File::create(a.dir.join("province.u8"))?);
    let mut enr =
        BufWriter::with_capacity(1 << 22, std::fs::File::create(a.dir.join("enrolled.u32"))?);
    let mut err = None;
    snap.for_each_person_word(0..n, |_, w2| {
        let village = ((w2 >> 26) & ((1 << 18) - 1)) as usize;
        let profile = (w2 & ((1 << 26) - 1)) as usize;
        let p = village_province.get(village).copied().unwrap_or(0);
        let e = profile_enrolled.get(profile).copied().unwrap_or(0);
        if let Err(x) = prov
            .write_all(&[p])
            .and_then(|_| enr.write_all(&e.to_le_bytes()))
        {
            err = Some(x);
        }
    });
    if let Some(e) = err {
        return Err(e.into());
    }
    prov.flush()?;
    enr.flush()?;
    let codes: Vec<String> = snap
        .registry()
        .programs()
        .iter()
        .map(|p| p.code.clone())
        .collect();
    std::fs::write(a.dir.join("programs.txt"), codes.join("\n") + "\n")?;
    log(format!(
        "exported {n} rows (province.u8, enrolled.u32) in {:.1} s",
        secs(t.elapsed())
    ));
    Ok(())
}

/// What the scan could cost: (1) the memory floor, `for_each_person_word`
/// summing the words on 2 threads; (2) a prototype of the province
/// histogram (not the library's code): one u16 lookup of the province per
/// village, u32 counters per (province, profile), classes resolved after
/// the scan.
fn scan_floor(store: &Store, reps: usize) {
    let snap = store.snapshot();
    let n = snap.slot_count() as usize;
    let per = n.div_ceil(2);
    let mut t1 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let s: u64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|k| {
                    let snap = &snap;
                    s.spawn(move || {
                        let mut acc = 0u64;
                        snap.for_each_person_word(k * per..((k + 1) * per).min(n), |w0, w2| {
                            acc = acc.wrapping_add(w0 ^ w2);
                        });
                        acc
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        std::hint::black_box(s);
        t1.push(secs(t.elapsed()));
    }
    log(format!(
        "RESULT scan_floor for_each_person_word sum, 2 threads: min_s={:.3} median_s={:.3} gb_s={:.1}",
        min(&t1),
        median(t1.clone()),
        n as f64 * 24.0 / min(&t1) / 1e9
    ));
    let provinces: Vec<u16> = snap
        .village_codes()
        .iter()
        .map(|v| (v / 100_000_000) as u16)
        .collect();
    let profiles = snap.profile_count() as usize;
    if profiles > 1 << 20 {
        log(format!("prototype skipped: {profiles} profiles"));
        return;
    }
    let mut t2 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let parts: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|k| {
                    let (snap, provinces) = (&snap, &provinces);
                    s.spawn(move || {
                        let mut h = vec![0u32; 100 * profiles];
                        snap.for_each_person_word(k * per..((k + 1) * per).min(n), |_, w2| {
                            let village = ((w2 >> 26) & ((1 << 18) - 1)) as usize;
                            let profile = (w2 & ((1 << 26) - 1)) as usize;
                            let p = provinces.get(village).copied().unwrap_or(0) as usize;
                            if let Some(c) = h.get_mut(p * profiles + profile) {
                                *c += 1;
                            }
                        });
                        h
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        // Fold profiles into (province, enrolled) and the pairs, as a
        // report would.
        let enrolled: Vec<u32> = snap.profiles().map(|p| p.enrolled.get()).collect();
        let mut pairs = vec![0u64; 100 * 32 * 32];
        for part in &parts {
            for (i, &c) in part.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let (prov, prof) = (i / profiles, i % profiles);
                let e = enrolled[prof];
                for a in 0..8 {
                    if e >> a & 1 == 1 {
                        for b in a + 1..8 {
                            if e >> b & 1 == 1 {
                                pairs[prov * 1024 + a * 32 + b] += u64::from(c);
                            }
                        }
                    }
                }
            }
        }
        std::hint::black_box(pairs);
        t2.push(secs(t.elapsed()));
    }
    log(format!(
        "RESULT prototype province overlap (u32 counters per province x profile), 2 threads: min_s={:.3} median_s={:.3} profiles={profiles}",
        min(&t2),
        median(t2.clone()),
    ));
    // (3) Only what the overlap needs: u32 counters per (province,
    // enrolment pattern of the first 8 programs), 100 x 256 x 4 B = 100 KB.
    let pattern: Vec<u8> = snap.profiles().map(|p| p.enrolled.get() as u8).collect();
    let mut t3 = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let parts: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|k| {
                    let (snap, provinces, pattern) = (&snap, &provinces, &pattern);
                    s.spawn(move || {
                        let mut h = vec![0u32; 100 * 256];
                        snap.for_each_person_word(k * per..((k + 1) * per).min(n), |_, w2| {
                            let village = ((w2 >> 26) & ((1 << 18) - 1)) as usize;
                            let profile = (w2 & ((1 << 26) - 1)) as usize;
                            let p = provinces.get(village).copied().unwrap_or(0) as usize;
                            let e = pattern.get(profile).copied().unwrap_or(0) as usize;
                            if let Some(c) = h.get_mut(p * 256 + e) {
                                *c += 1;
                            }
                        });
                        h
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        std::hint::black_box(parts);
        t3.push(secs(t.elapsed()));
    }
    log(format!(
        "RESULT prototype province x pattern (u32, 100 KB table), 2 threads: min_s={:.3} median_s={:.3}",
        min(&t3),
        median(t3.clone()),
    ));
    // (4) The memory floor on one thread.
    let mut t4 = Vec::new();
    for _ in 0..reps.min(3) {
        let t = Instant::now();
        let mut acc = 0u64;
        snap.for_each_person_word(0..n, |w0, w2| acc = acc.wrapping_add(w0 ^ w2));
        std::hint::black_box(acc);
        t4.push(secs(t.elapsed()));
    }
    log(format!(
        "RESULT scan_floor for_each_person_word sum, 1 thread: min_s={:.3} gb_s={:.1}",
        min(&t4),
        n as f64 * 24.0 / min(&t4) / 1e9
    ));
}

/// The memory's floor for batch lookups (BENCHMARKS-analytics.md, "Batch
/// against the memory's floor"): an anonymous array as large as the
/// snapshot, in 2 MiB pages where the kernel gives them, read at random
/// 64-byte lines by `streams` independent chains per thread (each chain's
/// next line depends on the word it read, so exactly `streams` reads are in
/// flight per thread). Reported per read, for 1 and 2 threads and 1–32
/// streams, so the curve shows where the memory stops taking more.
fn floor(a: &Args) -> Res<()> {
    let reps = if a.reps == 0 { 3 } else { a.reps };
    let reads = if a.rows == 0 { 10_000_000 } else { a.rows };
    let path = Store::current_snapshot_path(&a.dir.join("store"))?;
    let bytes = std::fs::metadata(&path)?.len() as usize;
    let lines = bytes / 64;
    let mut map = memmap2::MmapMut::map_anon(lines * 64)?;
    map.advise(memmap2::Advice::HugePage)?;
    let t = Instant::now();
    let mut rng = Rng(5);
    for word in map.chunks_exact_mut(8) {
        word.copy_from_slice(&rng.next().to_le_bytes());
    }
    log(format!(
        "floor array: {} MiB ({lines} lines, the snapshot's size), filled in {:.1} s; {} MiB of it in 2 MiB pages",
        bytes >> 20,
        secs(t.elapsed()),
        anon_huge_mib()
    ));
    let words: &[u8] = &map;
    for threads in [1usize, 2] {
        for streams in [1usize, 2, 4, 8, 16, 32] {
            let mut times = Vec::new();
            for rep in 0..reps {
                let t = Instant::now();
                let per = reads / threads;
                std::thread::scope(|s| {
                    for th in 0..threads {
                        let seed = (rep * 64 + th) as u64;
                        s.spawn(move || {
                            std::hint::black_box(chase(words, lines, streams, per, seed))
                        });
                    }
                });
                times.push(secs(t.elapsed()));
            }
            let best = min(&times);
            log(format!(
                "RESULT floor threads={threads} streams={streams} reads={reads} best_s={best:.3} mreads_s={:.2} ns_per_read={:.2} ns_per_read_per_thread={:.2}",
                reads as f64 / best / 1e6,
                best * 1e9 / reads as f64,
                best * 1e9 * threads as f64 / reads as f64,
            ));
        }
    }
    Ok(())
}

/// `streams` interleaved pointer chases of `reads / streams` steps each
/// over `lines` 64-byte lines; returns a checksum so nothing is elided.
fn chase(words: &[u8], lines: usize, streams: usize, reads: usize, seed: u64) -> u64 {
    let mut rng = Rng(seed ^ 0xA5A5);
    let mut at: Vec<usize> = (0..streams)
        .map(|_| rng.below(lines as u64) as usize)
        .collect();
    let mut acc = 0u64;
    for step in 0..(reads / streams) as u64 {
        for p in at.iter_mut() {
            let off = *p * 64;
            let w = u64::from_le_bytes(words[off..off + 8].try_into().unwrap_or([0; 8]));
            acc = acc.wrapping_add(w);
            // The next line from the word just read: a dependent chain. The
            // step number goes in too: a chain of a fixed random function
            // falls into a cycle of about sqrt(lines) lines, which the
            // caches would then hold.
            let mixed =
                (w ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            *p = ((u128::from(mixed) * lines as u128) >> 64) as usize;
        }
    }
    acc
}

/// AnonHugePages of this process, MiB (0 where the kernel does not say).
fn anon_huge_mib() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else {
        return 0;
    };
    text.lines()
        .find(|l| l.starts_with("AnonHugePages:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb >> 10)
}
