//! Payout-point benchmark for tepat (docs/BENCHMARKS-payouts.md).
//!
//! ```text
//! tepat-payouts build  --persons N --dir D   generate N persons, write D/base (snapshot)
//! tepat-payouts check  --dir D               `Store::check` latency, without and with pending changes
//! tepat-payouts claims --dir D               durable claims/s, group commit on and off
//! tepat-payouts open   --dir D               `Store::open` time as recorded claims grow
//! tepat-payouts parts  --dir D               a claim's sled work alone: transaction, flush
//! tepat-payouts syncs  --dir D               the disk's floor: 4 KiB appends + fdatasync per second
//! tepat-payouts changes --dir D --changes N  a fresh store D/apply-N and a change file D/apply-N.csv
//!                                            (N distinct persons: enrol, death, decile) for `tepat apply`
//! ```
//!
//! `claims --stores S` makes its stores under `S` instead of `D` (tmpfs:
//! the same claims with no disk in the way, the CPU-only rate).
//!
//! Every measurement runs on a fresh store directory under `D` whose
//! snapshot is a hard link to `D/base`'s (the snapshot never changes), so
//! one build serves every run. Results are printed as Markdown table rows
//! on stdout; progress goes to stderr.

use std::hint::black_box;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tepat::register::Relation;
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::store::Options;
use tepat::{ClaimRequest, Nik, Period, PeriodKind, ProgramId, RegionTable, Store};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: tepat-payouts build|check|claims|open|compact --dir DIR [--persons N] \
[--samples N] [--changes N] [--threads 1,16,64,256] [--secs S] [--modes group,single] \
[--program PBI_JK] [--claims 100000,1000000] [--fill-threads 64] [--stores DIR]";

/// Command-line arguments (hand-parsed: a handful of flags).
struct Args {
    cmd: String,
    dir: PathBuf,
    persons: u64,
    samples: usize,
    changes: usize,
    threads: Vec<usize>,
    secs: f64,
    modes: Vec<String>,
    program: String,
    claims: Vec<u64>,
    fill_threads: usize,
    /// Where `claims` makes its stores (default: `dir`).
    stores: Option<PathBuf>,
}

fn list<T: std::str::FromStr>(s: &str) -> Res<Vec<T>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<T>()
                .map_err(|_| format!("bad list item {x:?}").into())
        })
        .collect()
}

fn parse_args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or(USAGE)?;
    let mut a = Args {
        cmd,
        dir: PathBuf::new(),
        persons: 10_000_000,
        samples: 1_000_000,
        changes: 10_000,
        threads: vec![1, 16, 64, 256],
        secs: 10.0,
        modes: vec!["group".into(), "single".into()],
        program: "PBI_JK".into(),
        claims: vec![100_000, 1_000_000],
        fill_threads: 64,
        stores: None,
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => a.dir = PathBuf::from(v),
            "--persons" => a.persons = v.parse()?,
            "--samples" => a.samples = v.parse()?,
            "--changes" => a.changes = v.parse()?,
            "--threads" => a.threads = list(&v)?,
            "--secs" => a.secs = v.parse()?,
            "--modes" => a.modes = list(&v)?,
            "--program" => a.program = v,
            "--claims" => a.claims = list(&v)?,
            "--fill-threads" => a.fill_threads = v.parse()?,
            "--stores" => a.stores = Some(PathBuf::from(v)),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}").into()),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-payouts: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> Res<()> {
    match a.cmd.as_str() {
        "build" => build(&a),
        "check" => check(&a),
        "claims" => claims(&a),
        "open" => open(&a),
        "compact" => compact(&a),
        "parts" => parts(&a),
        "syncs" => syncs(&a),
        "changes" => changes(&a),
        other => Err(format!("unknown command {other:?}\n{USAGE}").into()),
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[payouts] {}", msg.as_ref());
}

/// SplitMix64: small, fast, deterministic.
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

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

fn base(dir: &Path) -> PathBuf {
    dir.join("base")
}

/// The base snapshot every fresh store starts from.
fn base_snapshot(dir: &Path) -> PathBuf {
    base(dir).join("base.tepat")
}

/// Generates the register and writes the base snapshot (skipped when the
/// base already holds `persons`).
fn build(a: &Args) -> Res<()> {
    let base = base(&a.dir);
    let marker = base.join("persons.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&a.persons.to_string()) {
        log(format!(
            "{} already holds {} persons",
            base.display(),
            a.persons
        ));
        return Ok(());
    }
    if base.exists() {
        std::fs::remove_dir_all(&base)?;
    }
    std::fs::create_dir_all(&base)?;
    let config = tepat_gen::Config {
        persons: a.persons,
        threads: 2,
        ..tepat_gen::Config::default()
    };
    let as_of = config.as_of;
    let generator = tepat_gen::Generator::new(config)?;
    let mut builder =
        SnapshotBuilder::new(generator.registry().clone(), RegionTable::builtin(), as_of)?;
    builder.reserve(a.persons as usize);
    let t = Instant::now();
    let mut refused = 0u64;
    generator.for_each_record(|r| refused += u64::from(builder.add(r).is_err()));
    let generated = t.elapsed();
    let t = Instant::now();
    let summary = builder.write_to_path(&base_snapshot(&a.dir))?;
    std::fs::write(&marker, a.persons.to_string())?;
    println!(
        "build: {} persons, {} families, {} bytes, {refused} refused; generate+stage {:.1} s, write {:.1} s",
        summary.persons,
        summary.families,
        summary.bytes,
        generated.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A fresh store `D/name` made from the base snapshot (copied), with an
/// empty claims log and live state.
fn fresh_store(dir: &Path, name: &str) -> Res<PathBuf> {
    fresh_store_in(dir, dir, name)
}

/// [`fresh_store`] made under `stores` (another file system) from `dir`'s
/// base snapshot.
fn fresh_store_in(dir: &Path, stores: &Path, name: &str) -> Res<PathBuf> {
    let path = stores.join(name);
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::create_dir_all(stores)?;
    drop(Store::create_from_snapshot(
        &path,
        &base_snapshot(dir),
        tepat::Options::default(),
    )?);
    Ok(path)
}

/// A fresh store `D/apply-N` and `D/apply-N.csv`: one change row for each
/// of N distinct random persons, 6 in 10 an `enrol` (PBI-JK, else YAPI),
/// 2 a `death`, 2 a `decile` of the person's family (a family once), the
/// mix of a month's file. `run.sh apply` times `tepat apply` on it.
fn changes(a: &Args) -> Res<()> {
    use std::io::Write;
    let n = a.changes;
    let path = fresh_store(&a.dir, &format!("apply-{n}"))?;
    let csv = a.dir.join(format!("apply-{n}.csv"));
    let store = Store::open(&path)?;
    let snap = store.snapshot();
    let registry = snap.registry();
    let (pbi, yapi) = (registry.require("PBI_JK")?, registry.require("YAPI")?);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    writeln!(out, "{}", tepat::change::HEADER)?;
    let mut rng = Rng(0x0061_7070_6c79);
    let (mut persons, mut families) = (
        std::collections::HashSet::new(),
        std::collections::HashSet::new(),
    );
    let mut written = 0usize;
    while written < n {
        let Some(p) = snap.person_at(rng.below(snap.slot_count()) as u32) else {
            continue;
        };
        if p.duplicate() || p.deceased() || !persons.insert(p.nik().get()) {
            continue;
        }
        let nik = p.nik();
        match rng.below(10) {
            0 | 1 => writeln!(out, "death,{nik},,,,,,,,,,,,2026-11-02")?,
            2 | 3 => match p.kk() {
                Some(kk) if families.insert(kk.get()) => {
                    let decile = 1 + rng.below(10);
                    writeln!(out, "decile,,{kk},,,,,{decile},,,,,,2026-11-02")?;
                }
                _ => continue,
            },
            _ => {
                let Some(program) = not_yet_enrolled(&p, [pbi, yapi]) else {
                    continue;
                };
                let code = &registry.program(program).code;
                writeln!(out, "enrol,{nik},,,,,,,,,,,{code},2026-11-02")?;
            }
        }
        written += 1;
    }
    out.flush()?;
    println!(
        "RESULT changes rows={written} file={} bytes={} store={}",
        csv.display(),
        std::fs::metadata(&csv)?.len(),
        path.display()
    );
    Ok(())
}

/// The disk's sync floor under `D`: one thread appending 4 KiB and calling
/// `fdatasync` for `--secs`, the way a flush of the claims log ends.
fn syncs(a: &Args) -> Res<()> {
    use std::io::Write;
    let path = a.dir.join("syncs.probe");
    let mut f = std::fs::File::create(&path)?;
    let block = vec![0x5au8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < a.secs {
        f.write_all(&block)?;
        f.sync_data()?;
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    println!(
        "RESULT syncs dir={} fdatasyncs={n} s={secs:.1} per_s={:.0} us_per_sync={:.0}",
        a.dir.display(),
        n as f64 / secs,
        secs * 1e6 / n.max(1) as f64
    );
    Ok(())
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// A right-kind period for each period kind (the generator's as-of date is
/// 2026-11-01).
fn period_of(kind: PeriodKind) -> Period {
    let text = match kind {
        PeriodKind::Month => "2026-11",
        PeriodKind::Quarter => "2026-Q4",
        PeriodKind::Year => "2026",
        PeriodKind::Once => "once",
    };
    Period::parse(text).unwrap_or(Period::Once)
}

/// Percentiles of a set of nanosecond figures (sorted in place).
struct Dist {
    n: usize,
    mean: f64,
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

fn dist(v: &mut [u64]) -> Dist {
    v.sort_unstable();
    let at = |q: f64| {
        if v.is_empty() {
            0
        } else {
            v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
        }
    };
    Dist {
        n: v.len(),
        mean: v.iter().sum::<u64>() as f64 / v.len().max(1) as f64,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: v.last().copied().unwrap_or(0),
    }
}

/// The cost of the timer itself: `Instant::now()` + `elapsed()` around
/// nothing.
fn timer_cost(n: usize) -> Dist {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        v.push(t.elapsed().as_nanos() as u64);
    }
    dist(&mut v)
}

type Sample = (Nik, ProgramId, Period);

/// `n` random persons with one of their enrolled programs and a period of
/// that program's kind.
fn sample_checks(snap: &Snapshot, n: usize, rng: &mut Rng) -> Vec<Sample> {
    let registry = snap.registry();
    let count = snap.slot_count();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let slot = rng.below(count) as u32;
        let Some(p) = snap.person_at(slot) else {
            continue;
        };
        let programs: Vec<ProgramId> = p.enrolled().iter().collect();
        if programs.is_empty() {
            continue;
        }
        let id = programs[rng.below(programs.len() as u64) as usize];
        out.push((p.nik(), id, period_of(registry.program(id).period)));
    }
    out
}

/// The first of `programs` the person is not enrolled in: what an `enrol`
/// row can add.
fn not_yet_enrolled(
    p: &tepat::snapshot::Person<'_>,
    programs: [ProgramId; 2],
) -> Option<ProgramId> {
    programs.into_iter().find(|&id| !p.enrolled().contains(id))
}

/// Pending changes: `enrol` rows for `n` distinct random persons (into
/// PBI-JK or, if enrolled there, YAPI), and a check sample of each.
fn enrol_changes(snap: &Snapshot, n: usize, rng: &mut Rng) -> Res<(String, Vec<Sample>)> {
    let registry = snap.registry();
    let pbi = registry.require("PBI_JK")?;
    let yapi = registry.require("YAPI")?;
    let count = snap.slot_count();
    let mut seen = std::collections::HashSet::new();
    let mut rows = String::from(tepat::change::HEADER);
    rows.push('\n');
    let mut changed: Vec<Sample> = Vec::new();
    while changed.len() < n {
        let Some(p) = snap.person_at(rng.below(count) as u32) else {
            continue;
        };
        if p.duplicate() || !seen.insert(p.nik().get()) {
            continue;
        }
        let Some(program) = not_yet_enrolled(&p, [pbi, yapi]) else {
            continue;
        };
        let code = &registry.program(program).code;
        rows.push_str(&format!("enrol,{},,,,,,,,,,,{code},2026-11-01\n", p.nik()));
        changed.push((
            p.nik(),
            program,
            period_of(registry.program(program).period),
        ));
    }
    Ok((rows, changed))
}

/// Compaction while readers check: the time of each step of
/// `Store::compact` and the readers' `check` latency before, during and
/// after it.
fn compact(a: &Args) -> Res<()> {
    let path = fresh_store(&a.dir, "compact")?;
    let store = Store::open(&path)?;
    let snap = store.snapshot();
    let mut rng = Rng(0x0063_6f6d_7061_6374);
    let samples = sample_checks(&snap, a.samples, &mut rng);
    let (rows, _) = enrol_changes(&snap, a.changes, &mut rng)?;
    drop(snap);
    let t = Instant::now();
    let applied = store
        .apply_csv(BufReader::new(rows.as_bytes()), "bench-changes.csv")?
        .rows;
    log(format!(
        "applied {applied} enrol changes in {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    let warm = time_loop(&store, &samples)?;
    log(format!("warm-up pass: {warm:.0} ns/check"));
    let readers = a.threads.first().copied().unwrap_or(1);
    let origin = Instant::now();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let marks: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let (lats, change) = std::thread::scope(|s| -> Res<_> {
        let handles: Vec<_> = (0..readers)
            .map(|r| {
                let (store, samples, stop) = (&store, &samples, &stop);
                s.spawn(move || -> Result<Vec<(f64, u64)>, tepat::Error> {
                    let mut out = Vec::new();
                    let mut i = r * 7919;
                    while !stop.load(Ordering::Relaxed) {
                        let (nik, program, period) = samples[i % samples.len()];
                        let at = origin.elapsed().as_secs_f64();
                        let t = Instant::now();
                        black_box(store.check(nik, program, period)?);
                        out.push((at, t.elapsed().as_nanos() as u64));
                        i += 1;
                    }
                    Ok(out)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(a.secs));
        marks
            .lock()
            .map_err(|_| "poisoned")?
            .push(origin.elapsed().as_secs_f64());
        let change = store.compact();
        marks
            .lock()
            .map_err(|_| "poisoned")?
            .push(origin.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_secs_f64(a.secs));
        stop.store(true, Ordering::Relaxed);
        let mut lats = Vec::new();
        for h in handles {
            lats.extend(h.join().map_err(|_| "a reader panicked")??);
        }
        Ok((lats, change?))
    })?;
    let marks = marks.into_inner().map_err(|_| "poisoned")?;
    let (start, end) = (marks[0], marks[1]);
    println!();
    println!(
        "compaction: generation {} -> {}, {} persons, {} families, {:.1} MB; {} changes folded, {} carried; \
         build+write+verify {:.2} s, switch {:.1} ms, finish {:.2} s, total {:.2} s",
        change.from,
        change.to,
        change.persons,
        change.families,
        change.bytes as f64 / 1e6,
        change.folded,
        change.carried,
        change.build_secs,
        change.switch_secs * 1e3,
        change.finish_secs,
        end - start
    );
    println!();
    println!(
        "| readers ({readers} threads) | calls | calls/s | p50 ns | p99 ns | p99.9 ns | max µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (what, from, to) in [
        ("before compaction", 0.0, start),
        ("during compaction", start, end),
        ("after compaction", end, f64::MAX),
    ] {
        let mut v: Vec<u64> = lats
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, ns)| *ns)
            .collect();
        let span = to.min(origin.elapsed().as_secs_f64()) - from;
        let d = dist(&mut v);
        println!(
            "| {what} | {} | {:.0} | {} | {} | {} | {:.0} |",
            d.n,
            d.n as f64 / span.max(1e-9),
            d.p50,
            d.p99,
            d.p999,
            d.max as f64 / 1e3
        );
    }
    Ok(())
}

/// Times each call on its own; returns the per-call figures and how many
/// verdicts were payable.
fn time_checks(store: &Store, samples: &[Sample]) -> Res<(Vec<u64>, u64)> {
    let mut v = Vec::with_capacity(samples.len());
    let mut payable = 0u64;
    for (nik, program, period) in samples {
        let t = Instant::now();
        let verdict = store.check(*nik, *program, *period)?;
        let d = t.elapsed();
        payable += u64::from(verdict.payable);
        black_box(verdict);
        v.push(d.as_nanos() as u64);
    }
    Ok((v, payable))
}

/// Per-program rows of one pass (`v[i]` is the time of `order[i]`).
fn by_program(registry: &tepat::Registry, order: &[Sample], v: &[u64], timer_p50: u64, when: &str) {
    for id in registry.ids() {
        let mut mine: Vec<u64> = order
            .iter()
            .zip(v)
            .filter(|((_, p, _), _)| *p == id)
            .map(|(_, t)| *t)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let d = dist(&mut mine);
        dist_row(
            &format!("  {} ({when})", registry.program(id).code),
            &d,
            timer_p50,
            "",
        );
    }
}

/// Mean ns per call of a loop without per-call timers.
fn time_loop(store: &Store, samples: &[Sample]) -> Res<f64> {
    let t = Instant::now();
    for (nik, program, period) in samples {
        black_box(store.check(*nik, *program, *period)?);
    }
    Ok(t.elapsed().as_nanos() as f64 / samples.len().max(1) as f64)
}

fn dist_row(what: &str, d: &Dist, timer_p50: u64, note: &str) {
    let c = |x: u64| x.saturating_sub(timer_p50);
    println!(
        "| {what} | {} | {:.0} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} | {note} |",
        d.n,
        d.mean,
        d.p50,
        c(d.p50),
        d.p90,
        c(d.p90),
        d.p99,
        c(d.p99),
        d.p999,
        c(d.p999),
        d.max
    );
}

fn check(a: &Args) -> Res<()> {
    let path = fresh_store(&a.dir, "check")?;
    let t = Instant::now();
    let store = Store::open(&path)?;
    log(format!(
        "store opened in {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    ));
    let snap = store.snapshot();
    let registry = snap.registry().clone();
    let mut rng = Rng(0x7061_796f_7574);
    let samples = sample_checks(&snap, a.samples, &mut rng);
    let timer = timer_cost(1_000_000);
    println!(
        "timer (Instant::now + elapsed around nothing), ns: mean {:.1}, p50 {}, p99 {}, p99.9 {}, max {}",
        timer.mean, timer.p50, timer.p99, timer.p999, timer.max
    );
    // Warm-up: fault the snapshot's pages in.
    let warm = time_loop(&store, &samples)?;
    log(format!("warm-up pass: {warm:.0} ns/check"));
    println!();
    println!("| what | calls | mean ns | p50 ns (− timer) | p90 | p99 | p99.9 | max | note |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut order = samples.clone();
    let mut last = Vec::new();
    for pass in 1..=3 {
        rng.shuffle(&mut order);
        let (v, payable) = time_checks(&store, &order)?;
        last = v.clone();
        let mut v = v;
        let d = dist(&mut v);
        dist_row(
            &format!("check, unchanged NIKs, pass {pass}"),
            &d,
            timer.p50,
            &format!(
                "{:.1} % payable",
                payable as f64 * 100.0 / order.len() as f64
            ),
        );
    }
    by_program(&registry, &order, &last, timer.p50, "before any change");
    log(format!(
        "calls > 1.5 µs before any change: {}",
        last.iter().filter(|t| **t > 1_500).count()
    ));
    rng.shuffle(&mut order);
    let per = time_loop(&store, &order)?;
    println!(
        "| check, unchanged NIKs, loop without per-call timer | {} | {per:.0} | | | | | | mean only |",
        order.len()
    );

    let (rows, mut changed) = enrol_changes(&snap, a.changes, &mut rng)?;
    let t = Instant::now();
    let applied = store
        .apply_csv(BufReader::new(rows.as_bytes()), "bench-changes.csv")?
        .rows;
    let apply_s = t.elapsed().as_secs_f64();
    log(format!("applied {applied} enrol changes in {apply_s:.2} s"));
    let _ = time_loop(&store, &changed)?;
    for pass in 1..=3 {
        rng.shuffle(&mut changed);
        let (mut v, payable) = time_checks(&store, &changed)?;
        let d = dist(&mut v);
        dist_row(
            &format!("check, NIKs with a pending change, pass {pass}"),
            &d,
            timer.p50,
            &format!(
                "{applied} enrol rows applied in {apply_s:.2} s; {:.1} % payable",
                payable as f64 * 100.0 / changed.len() as f64
            ),
        );
    }
    rng.shuffle(&mut order);
    let (v, _) = time_checks(&store, &order)?;
    let changed_set: std::collections::HashSet<u64> =
        changed.iter().map(|(n, _, _)| n.get()).collect();
    let filtered = order
        .iter()
        .filter(|(nik, _, _)| changed_set.contains(&nik.get()))
        .count();
    let mut all = v.clone();
    let d = dist(&mut all);
    dist_row(
        "check, unchanged NIKs, after the change file",
        &d,
        timer.p50,
        &format!("{filtered} of them are changed NIKs"),
    );
    by_program(&registry, &order, &v, timer.p50, "after the change file");
    // Diagnosis of the tail: how many of these NIKs the store's change
    // filter (2^24 bits, one hash; simulated here) sends to sled, and the
    // same pass again after a pause (sled's background threads settle).
    let filter_slot =
        |nik: u64| tepat::snapshot::format::hash_nik(nik, 0x6368_616e_6765) & ((1 << 24) - 1);
    let slots: std::collections::HashSet<u64> = changed
        .iter()
        .map(|(n, _, _)| filter_slot(n.get()))
        .collect();
    let to_sled = order
        .iter()
        .filter(|(n, _, _)| slots.contains(&filter_slot(n.get())))
        .count();
    let slow = v.iter().filter(|t| **t > 1_500).count();
    let order_before = order.clone();
    std::thread::sleep(Duration::from_secs(2));
    rng.shuffle(&mut order);
    let (mut v2, _) = time_checks(&store, &order)?;
    let slow2 = v2.iter().filter(|t| **t > 1_500).count();
    // Are the slow calls the same NIKs each time (a data-dependent path) or
    // random ones (the machine)?
    let slow_a: std::collections::HashSet<u64> = order_before
        .iter()
        .zip(&v)
        .filter(|(_, t)| **t > 1_500)
        .map(|((n, _, _), _)| n.get())
        .collect();
    let slow_b: std::collections::HashSet<u64> = order
        .iter()
        .zip(&v2)
        .filter(|(_, t)| **t > 1_500)
        .map(|((n, _, _), _)| n.get())
        .collect();
    log(format!(
        "slow NIKs: {} in one pass, {} in the next, {} in both",
        slow_a.len(),
        slow_b.len(),
        slow_a.intersection(&slow_b).count()
    ));
    let d = dist(&mut v2);
    dist_row(
        "check, unchanged NIKs, after the change file, 2 s later",
        &d,
        timer.p50,
        &format!(
            "{to_sled} of {} pass the simulated change filter; calls > 1.5 µs: {slow} before the pause, {slow2} after",
            order.len()
        ),
    );
    drop(store);
    std::fs::remove_dir_all(&path)?;
    Ok(())
}

/// Payable persons for `program` (one per family for family programs),
/// shuffled, as NIK strings.
fn claim_pool(store: &Store, program: &str, rng: &mut Rng) -> Res<Vec<String>> {
    let snap = store.snapshot();
    let registry = snap.registry();
    let id = registry.require(program)?;
    let family = registry.program(id).unit == tepat::Unit::Family;
    let period = period_of(registry.program(id).period);
    let mut out = Vec::new();
    for p in snap.persons() {
        if !p.enrolled().contains(id)
            || !p.eligible().contains(id)
            || p.deceased()
            || p.civil_servant()
            || p.duplicate()
            || (family && p.relation() != Relation::Head)
        {
            continue;
        }
        out.push(p.nik());
    }
    // Keep those the engine itself finds payable (exclusions included).
    let mut pool = Vec::with_capacity(out.len());
    for nik in out {
        if store.check(nik, id, period)?.payable {
            pool.push(nik.to_string());
        }
    }
    rng.shuffle(&mut pool);
    Ok(pool)
}

/// The periods a claim run walks through when the pool is used up: the
/// program's period, then earlier ones.
fn periods(kind: PeriodKind) -> Vec<String> {
    match kind {
        PeriodKind::Month => (1..=11).rev().map(|m| format!("2026-{m:02}")).collect(),
        PeriodKind::Quarter => (1..=4).rev().map(|q| format!("2026-Q{q}")).collect(),
        PeriodKind::Year => vec!["2026".into(), "2025".into()],
        PeriodKind::Once => vec!["once".into()],
    }
}

struct RunResult {
    done: u64,
    paid: u64,
    secs: f64,
    lat: Dist,
    flushes: u64,
}

/// `threads` clients claim distinct (person, period) pairs from `pool`
/// starting at `*next`, until `deadline` or `limit` claims in all.
/// What a claim run pays: payees of one program and the periods to walk.
struct Work<'a> {
    program: &'a str,
    pool: &'a [String],
    periods: &'a [String],
}

fn claim_run(
    store: &Store,
    work: &Work<'_>,
    threads: usize,
    next: &AtomicUsize,
    limit: usize,
    duration: Option<Duration>,
    tag: &str,
) -> Res<RunResult> {
    let Work {
        program,
        pool,
        periods,
    } = *work;
    let flushes0 = store.flushes();
    let paid = AtomicU64::new(0);
    let lats: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let cap = (pool.len() * periods.len()).min(limit);
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                let mut my_paid = 0u64;
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cap {
                        break;
                    }
                    let req = ClaimRequest {
                        request_id: format!("{tag}-{i}"),
                        nik: pool[i % pool.len()].clone(),
                        program: program.to_owned(),
                        period: periods[i / pool.len()].clone(),
                        meta: "Kantor Pos 40111; Rp 42000".into(),
                        ..Default::default()
                    };
                    let t = Instant::now();
                    match store.claim(&req) {
                        Ok(out) => my_paid += u64::from(out.paid),
                        Err(e) => {
                            errors
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(e.to_string());
                            break;
                        }
                    }
                    mine.push(t.elapsed().as_nanos() as u64);
                }
                paid.fetch_add(my_paid, Ordering::Relaxed);
                lats.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = errors.into_inner().unwrap_or_default().first() {
        return Err(format!("a claim failed: {e}").into());
    }
    let mut lat = lats.into_inner().unwrap_or_default();
    Ok(RunResult {
        done: lat.len() as u64,
        paid: paid.into_inner(),
        secs,
        lat: dist(&mut lat),
        flushes: store.flushes() - flushes0,
    })
}

fn claims(a: &Args) -> Res<()> {
    let mut rng = Rng(0x636c_6169_6d73);
    let pool_store_path = fresh_store(&a.dir, "claims-pool")?;
    let t = Instant::now();
    let (pool, kind) = {
        let store = Store::open(&pool_store_path)?;
        let pool = claim_pool(&store, &a.program, &mut rng)?;
        let snap = store.snapshot();
        let id = snap.registry().require(&a.program)?;
        (pool, snap.registry().program(id).period)
    };
    std::fs::remove_dir_all(&pool_store_path)?;
    let periods = periods(kind);
    log(format!(
        "{} payable {} payees, {} periods ({:.1} s)",
        pool.len(),
        a.program,
        periods.len(),
        t.elapsed().as_secs_f64()
    ));
    println!();
    println!(
        "| program | commit | clients | claims | paid | s | claims/s | claims per flush | p50 µs | p99 µs | p99.9 µs | max ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for mode in &a.modes {
        let group = match mode.as_str() {
            "group" => true,
            "single" => false,
            other => return Err(format!("mode {other:?} is not group or single").into()),
        };
        for &threads in &a.threads {
            let stores = a.stores.as_deref().unwrap_or(&a.dir);
            let path = fresh_store_in(&a.dir, stores, &format!("claims-{mode}-{threads}"))?;
            let store = Store::open_with(&path, Options::default().group_commit(group))?;
            let next = AtomicUsize::new(0);
            let r = claim_run(
                &store,
                &Work {
                    program: &a.program,
                    pool: &pool,
                    periods: &periods,
                },
                threads,
                &next,
                usize::MAX,
                Some(Duration::from_secs_f64(a.secs)),
                "bench",
            )?;
            println!(
                "| {} | {} | {threads} | {} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {:.0} | {:.0} | {:.1} |",
                a.program,
                if group {
                    "group commit"
                } else {
                    "one flush per claim"
                },
                r.done,
                r.paid,
                r.secs,
                r.done as f64 / r.secs,
                r.done as f64 / r.flushes.max(1) as f64,
                r.lat.p50 as f64 / 1e3,
                r.lat.p99 as f64 / 1e3,
                r.lat.p999 as f64 / 1e3,
                r.lat.max as f64 / 1e6,
            );
            drop(store);
            let log_bytes =
                std::fs::metadata(path.join(tepat::store::CLAIMS_LOG)).map_or(0, |m| m.len());
            log(format!(
                "{mode} {threads}: claims log {:.1} MB ({:.0} bytes per claim), sled {:.1} MB",
                log_bytes as f64 / 1e6,
                log_bytes as f64 / r.done.max(1) as f64,
                dir_bytes(&path.join("live")) as f64 / 1e6
            ));
            std::fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn open(a: &Args) -> Res<()> {
    let mut rng = Rng(0x6f70_656e);
    let path = fresh_store(&a.dir, "open")?;
    let mut store = Some(Store::open(&path)?);
    let t = Instant::now();
    let pool = claim_pool(store.as_ref().ok_or("no store")?, &a.program, &mut rng)?;
    let kind = {
        let s = store.as_ref().ok_or("no store")?;
        let snap = s.snapshot();
        let id = snap.registry().require(&a.program)?;
        snap.registry().program(id).period
    };
    let periods = periods(kind);
    log(format!(
        "{} payable {} payees × {} periods ({:.1} s)",
        pool.len(),
        a.program,
        periods.len(),
        t.elapsed().as_secs_f64()
    ));
    let next = AtomicUsize::new(0);
    println!();
    println!(
        "| claims recorded | claims log MB | sled MB | Store::open ms (median of 3) | runs ms | Snapshot::open ms | sled open ms | claims log read ms | fill claims/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut recorded = 0u64;
    for &target in &a.claims {
        let s = match store.take() {
            Some(s) => s,
            None => Store::open(&path)?,
        };
        let want = (target - recorded) as usize;
        let r = claim_run(
            &s,
            &Work {
                program: &a.program,
                pool: &pool,
                periods: &periods,
            },
            a.fill_threads,
            &next,
            target as usize,
            None,
            "fill",
        )?;
        recorded += r.done;
        if (r.done as usize) < want {
            log(format!(
                "only {} of {want} more claims possible with this pool",
                r.done
            ));
        }
        let fill_rate = r.done as f64 / r.secs;
        log(format!(
            "filled to {recorded} claims ({} paid) at {fill_rate:.0}/s",
            r.paid
        ));
        drop(s);
        let mut runs = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let s = Store::open(&path)?;
            runs.push(t.elapsed().as_secs_f64() * 1e3);
            drop(s);
        }
        let snap_ms = {
            let t = Instant::now();
            let s = Snapshot::open(&Store::current_snapshot_path(&path)?)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(s);
            ms
        };
        let sled_ms = {
            let t = Instant::now();
            let db = sled::Config::new()
                .path(path.join("live"))
                .mode(sled::Mode::HighThroughput)
                .open()?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(db);
            ms
        };
        // The claims log read alone, as open reads it (sequentially).
        let log = path.join(tepat::store::CLAIMS_LOG);
        let (read_ms, log_bytes) = {
            let t = Instant::now();
            let bytes = std::fs::read(&log)?;
            black_box(&bytes);
            (t.elapsed().as_secs_f64() * 1e3, bytes.len() as u64)
        };
        println!(
            "| {recorded} | {:.0} | {:.0} | {:.0} | {} | {snap_ms:.2} | {sled_ms:.0} | {read_ms:.0} | {fill_rate:.0} |",
            log_bytes as f64 / 1e6,
            dir_bytes(&path.join("live")) as f64 / 1e6,
            median(runs.clone()),
            runs.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    drop(store);
    Ok(())
}

/// What a claim costs in sled, apart: the same transaction shape as
/// `Store::claim` (two reads, three inserts of claim-sized values) without
/// a flush, then `Db::flush` alone after one small write, on the store's
/// sled configuration.
fn parts(a: &Args) -> Res<()> {
    let path = a.dir.join("parts-sled");
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    println!();
    println!("| sled work | clients | ops | ops/s | p50 µs | p99 µs |");
    println!("|---|---:|---:|---:|---:|---:|");
    for &threads in &a.threads {
        let db = sled::Config::new()
            .path(&path)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let tree = db.open_tree("live")?;
        let next = AtomicU64::new(0);
        let lats: Mutex<Vec<u64>> = Mutex::new(Vec::new());
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(a.secs);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let mut ck = [b'C'; 15];
                        ck[7..].copy_from_slice(&(3_201_000_000_000_000 + i * 7919).to_be_bytes());
                        let rk = format!("Rbench-{i}");
                        let mut ak = [b'A'; 9];
                        ak[1..].copy_from_slice(&i.to_be_bytes());
                        let t = Instant::now();
                        let r: Result<(), sled::transaction::TransactionError<()>> = tree
                            .transaction(|tx| {
                                black_box(tx.get(rk.as_bytes())?);
                                black_box(tx.get(&ck[..])?);
                                tx.insert(&ck[..], vec![7u8; 60])?;
                                tx.insert(rk.as_bytes(), vec![7u8; 220])?;
                                tx.insert(&ak[..], vec![7u8; 160])?;
                                Ok(())
                            });
                        if r.is_err() {
                            break;
                        }
                        mine.push(t.elapsed().as_nanos() as u64);
                    }
                    lats.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
                });
            }
        });
        let secs = start.elapsed().as_secs_f64();
        let mut v = lats.into_inner().unwrap_or_default();
        let d = dist(&mut v);
        println!(
            "| transaction (2 gets, 3 inserts), no flush | {threads} | {} | {:.0} | {:.1} | {:.1} |",
            d.n,
            d.n as f64 / secs,
            d.p50 as f64 / 1e3,
            d.p99 as f64 / 1e3
        );
        drop(tree);
        drop(db);
        std::fs::remove_dir_all(&path)?;
    }
    let db = sled::Config::new()
        .path(&path)
        .mode(sled::Mode::HighThroughput)
        .open()?;
    let tree = db.open_tree("live")?;
    let mut v = Vec::new();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.secs);
    let mut i = 0u64;
    while Instant::now() < deadline {
        tree.insert(i.to_be_bytes(), vec![7u8; 400])?;
        let t = Instant::now();
        db.flush()?;
        v.push(t.elapsed().as_nanos() as u64);
        i += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let d = dist(&mut v);
    println!(
        "| Db::flush after one 400-byte insert | 1 | {} | {:.0} | {:.1} | {:.1} |",
        d.n,
        d.n as f64 / secs,
        d.p50 as f64 / 1e3,
        d.p99 as f64 / 1e3
    );
    drop(tree);
    drop(db);
    std::fs::remove_dir_all(&path)?;
    Ok(())
}
