//! Issue 23 benchmark, the Rust side (benches/bindings/run.sh runs it
//! beside the C and Python sides on the same store and payee list):
//!
//! ```text
//! tepat-bindings-bench build  --persons N --dir DIR     generator -> DIR/store
//! tepat-bindings-bench payees --dir DIR --rows R        DIR/payees.csv: nik,program,period
//! tepat-bindings-bench check  --dir DIR --rows M --reps K
//! tepat-bindings-bench batch  --dir DIR --reps K
//! ```
//!
//! `check` times `Store::check_str` over the first M rows of the payee list
//! in blocks of 100 calls (the per-call mean of each block; p50 and p99 of
//! the blocks), the same method as the C and Python sides. `batch` times
//! `Store::verify_batch` on 2 threads over every row, parsed beforehand.
//! The store is opened with today = 2026-11-15 (the generator's periods are
//! open).

#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use tepat::batch::{BatchItem, BatchVerdict};
use tepat::snapshot::SnapshotBuilder;
use tepat::{Date, Nik, Options, Period, ProgramId, RegionTable, Store};
use tepat_gen::{Config, Generator};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Calls per timed block.
const BLOCK: usize = 100;

struct Args {
    cmd: String,
    persons: u64,
    dir: PathBuf,
    rows: usize,
    reps: usize,
}

fn args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or("usage: tepat-bindings-bench CMD --dir DIR [...]")?;
    let mut a = Args {
        cmd,
        persons: 10_000_000,
        dir: PathBuf::new(),
        rows: 0,
        reps: 3,
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--persons" => a.persons = v.parse()?,
            "--dir" => a.dir = PathBuf::from(v),
            "--rows" => a.rows = v.parse()?,
            "--reps" => a.reps = v.parse()?,
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err("--dir DIR is required (scratch space outside the repository)".into());
    }
    Ok(a)
}

fn main() -> Res<()> {
    let a = args()?;
    match a.cmd.as_str() {
        "build" => build(&a),
        "payees" => payees(&a),
        "check" => check(&a),
        "batch" => batch(&a),
        other => Err(format!("unknown command {other}").into()),
    }
}

/// The store's date in every side of the benchmark.
fn today() -> Res<Date> {
    Ok(Date::new(2026, 11, 15).ok_or("date")?)
}

fn open(a: &Args) -> Res<Store> {
    Ok(Store::open_with(
        &a.dir.join("store"),
        Options::default().today(today()?),
    )?)
}

/// Generator -> `SnapshotBuilder::add` -> `Store::create`.
fn build(a: &Args) -> Res<()> {
    let dir = a.dir.join("store");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let config = Config {
        persons: a.persons,
        threads: 2,
        ..Config::default()
    };
    let as_of = config.as_of;
    let t = Instant::now();
    let generator = Generator::new(config)?;
    let mut builder =
        SnapshotBuilder::new(generator.registry().clone(), RegionTable::builtin(), as_of)?;
    builder.reserve(a.persons as usize);
    let mut refused = 0u64;
    let result: Result<(), std::convert::Infallible> = generator.for_each_chunk(
        |chunk| chunk,
        |chunk| {
            for r in &chunk.records {
                refused += u64::from(builder.add(r).is_err());
            }
            Ok(())
        },
    );
    let Ok(()) = result;
    let store = Store::create(&dir, builder, Options::default())?;
    println!(
        "built {} persons ({refused} refused) into {} in {:.1} s, {} bytes",
        store.snapshot().person_count(),
        dir.display(),
        t.elapsed().as_secs_f64(),
        store.snapshot().byte_len()
    );
    Ok(())
}

/// SplitMix64.
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

/// `rows` payee rows: NIKs of random register slots (80 % with a program
/// they are enrolled in, else any program), 2 % unknown NIKs, the period
/// of the program's kind containing the store's date.
fn payees(a: &Args) -> Res<()> {
    let rows = if a.rows == 0 { 10_000_000 } else { a.rows };
    let store = open(a)?;
    let snap = store.snapshot();
    let registry = snap.registry();
    let periods: Vec<String> = registry
        .programs()
        .iter()
        .map(|p| tepat_gen::payees::period(p.period, snap.as_of()))
        .collect();
    let n = snap.slot_count();
    let mut rng = Rng(23);
    let path = a.dir.join("payees.csv");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    writeln!(out, "nik,program,period")?;
    let mut written = 0;
    while written < rows {
        let Some(p) = snap.person_at(rng.below(n) as u32) else {
            continue;
        };
        let enrolled = p.enrolled();
        let program = if !enrolled.is_empty() && rng.below(10) < 8 {
            let k = rng.below(u64::from(enrolled.len())) as usize;
            enrolled.iter().nth(k).ok_or("enrolled")?
        } else {
            ProgramId::new(rng.below(periods.len() as u64) as usize).ok_or("program")?
        };
        let mut nik = p.nik().get();
        if rng.below(100) < 2 {
            nik = nik / 10_000 * 10_000 + 9_000 + rng.below(999);
            if Nik::from_u64(nik).is_err() || snap.find(nik).is_some() {
                continue;
            }
        }
        let code = &registry.program(program).code;
        writeln!(out, "{nik:016},{code},{}", periods[program.index()])?;
        written += 1;
    }
    out.flush()?;
    println!("wrote {rows} payee rows to {}", path.display());
    Ok(())
}

/// The first `limit` rows of the payee list as text.
fn read_rows(a: &Args, limit: usize) -> Res<Vec<(String, String, String)>> {
    let f = BufReader::with_capacity(1 << 20, std::fs::File::open(a.dir.join("payees.csv"))?);
    let mut out = Vec::new();
    for line in f.lines().skip(1).take(limit) {
        let line = line?;
        let mut it = line.split(',');
        let (Some(n), Some(p), Some(q)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("bad row {line:?}").into());
        };
        out.push((n.to_owned(), p.to_owned(), q.to_owned()));
    }
    Ok(out)
}

/// p50 and p99 of a sample, in the sample's unit.
fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

/// `Store::check_str` per call: blocks of [`BLOCK`] calls over the first
/// `--rows` payee rows, `--reps` passes.
fn check(a: &Args) -> Res<()> {
    let rows = read_rows(a, if a.rows == 0 { 1_000_000 } else { a.rows })?;
    let store = open(a)?;
    let mut payable = 0usize;
    // Warm: one pass.
    for (n, p, q) in &rows {
        payable += usize::from(store.check_str(n, p, q)?.payable);
    }
    for rep in 0..a.reps {
        let mut blocks = Vec::with_capacity(rows.len() / BLOCK);
        for chunk in rows.chunks_exact(BLOCK) {
            let t = Instant::now();
            for (n, p, q) in chunk {
                payable += usize::from(std::hint::black_box(store.check_str(n, p, q)?).payable);
            }
            blocks.push(t.elapsed().as_nanos() as f64 / BLOCK as f64);
        }
        let (p50, p99) = percentiles(blocks);
        println!(
            "RESULT rust check rep={rep} rows={} p50_ns={p50:.0} p99_ns={p99:.0}",
            rows.len()
        );
    }
    std::hint::black_box(payable);
    Ok(())
}

/// `Store::verify_batch` over every payee row, parsed beforehand.
fn batch(a: &Args) -> Res<()> {
    let rows = read_rows(a, usize::MAX)?;
    let store = open(a)?;
    let registry = store.registry();
    let mut items = Vec::with_capacity(rows.len());
    for (n, p, q) in &rows {
        items.push(BatchItem {
            nik: Nik::parse(n).ok(),
            program: registry.require(p)?,
            period: Period::parse(q)?,
        });
    }
    drop(rows);
    let mut out = vec![BatchVerdict::default(); items.len()];
    store.verify_batch(&items, &mut out, 2)?;
    let payable = out.iter().filter(|v| v.payable).count();
    println!("warm pass: {payable} of {} rows payable", items.len());
    for rep in 0..a.reps {
        let t = Instant::now();
        store.verify_batch(&items, &mut out, 2)?;
        let s = t.elapsed().as_secs_f64();
        println!(
            "RESULT rust verify_batch rep={rep} rows={} s={s:.3} mrows_s={:.2}",
            items.len(),
            items.len() as f64 / s / 1e6
        );
    }
    Ok(())
}
