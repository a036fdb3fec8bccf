//! The central ledger's benchmark (docs/BENCHMARKS-ledger.md; `run.sh`
//! beside this crate runs every part):
//!
//! ```text
//! tepat-ledger-bench sync    --snapshot S --niks F --server URL --dir D [--records N] [--batch B] [--period P]
//! tepat-ledger-bench reserve --snapshot S --niks F --server URL --dir D [--clients 1,16,64] [--secs T] [--period P]
//! tepat-ledger-bench index   --server URL [--persons N] [--periods K]
//! ```
//!
//! - `sync`: a store from snapshot S (copied) pays N PBI_JK claims for
//!   the NIKs of F; `tepat_ledger::sync::sync` ships them into a fresh
//!   database (records/s), and in the same run the floor: the same records
//!   `COPY`'d into the staging table and nothing more
//!   (`tepat_ledger::sync::copy_floor`).
//! - `reserve`: at each client count, claims reserved in the ledger
//!   (`Store::claim_reserved`, `PgReserver`, the deployed 300 ms deadline)
//!   against local claims (`Store::claim`) on a fresh store each; latency
//!   percentiles and claims/s.
//! - `index`: the claims table with its indexes, grown to N × K claims
//!   (K periods of N persons) by `INSERT … SELECT generate_series` in
//!   chunks of 1 M rows: each chunk's insert rate, then the table's and
//!   each index's size.
//!
//! Every part makes its database `tepat_bench_<part>` afresh on URL (a
//! server URL without a database: `postgresql://postgres@127.0.0.1:5432`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tepat::store::Reserver;
use tepat::{ClaimRequest, Options, Store};
use tepat_ledger::reserve::PgReserver;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The command line, `--key value` pairs after the part's name.
struct Args {
    part: String,
    values: Vec<(String, String)>,
}

impl Args {
    fn parse() -> Res<Args> {
        let mut it = std::env::args().skip(1);
        let part = it
            .next()
            .ok_or("usage: tepat-ledger-bench sync|reserve|index --key value ...")?;
        let mut values = Vec::new();
        while let Some(k) = it.next() {
            let key = k.strip_prefix("--").ok_or(format!("{k:?} is not --key"))?;
            let v = it.next().ok_or(format!("--{key} needs a value"))?;
            values.push((key.to_owned(), v));
        }
        Ok(Args { part, values })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, key: &str) -> Res<&str> {
        self.get(key)
            .ok_or_else(|| format!("--{key} is needed").into())
    }

    fn number(&self, key: &str, default: usize) -> Res<usize> {
        match self.get(key) {
            Some(v) => Ok(v.parse().map_err(|e| format!("--{key} {v:?}: {e}"))?),
            None => Ok(default),
        }
    }
}

fn main() -> std::process::ExitCode {
    let result = Args::parse().and_then(|a| match a.part.as_str() {
        "sync" => sync_part(&a),
        "reserve" => reserve_part(&a),
        "index" => index_part(&a),
        other => Err(format!("{other:?}: the parts are sync, reserve and index").into()),
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-ledger-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A fresh, migrated database `tepat_bench_<name>`; its URL.
fn fresh_db(server: &str, name: &str) -> Res<String> {
    let db = format!("tepat_bench_{name}");
    let mut admin = postgres::Client::connect(&format!("{server}/postgres"), postgres::NoTls)?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    admin.batch_execute(&format!("CREATE DATABASE {db}"))?;
    let url = format!("{server}/{db}");
    tepat_ledger::migrate::migrate(&mut tepat_ledger::connect(&url)?)?;
    Ok(url)
}

/// A fresh store at `dir/name` from the snapshot.
fn fresh_store(dir: &Path, name: &str, snapshot: &Path) -> Res<Store> {
    let path = dir.join(name);
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(Store::create_from_snapshot(
        &path,
        snapshot,
        Options::default(),
    )?)
}

fn niks(file: &str) -> Res<Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    Ok(text.lines().map(str::to_owned).collect())
}

fn request(id: String, nik: &str, period: &str) -> ClaimRequest {
    ClaimRequest {
        request_id: id,
        nik: nik.to_owned(),
        program: "PBI_JK".into(),
        period: period.to_owned(),
        operator: "bench".into(),
        ..ClaimRequest::default()
    }
}

/// Runs `claim` for the next NIK on `threads` threads until `stop` says so;
/// every claim's latency, in µs.
fn run_claims(
    threads: usize,
    count: usize,
    stop: impl Fn(usize, Instant) -> bool + Sync,
    claim: impl Fn(usize) -> Res<bool> + Sync,
) -> Res<(Vec<u64>, usize, f64)> {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let paid = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| -> Res<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count || stop(i, started) {
                            break;
                        }
                        let t = Instant::now();
                        if claim(i).map_err(|e| e.to_string())? {
                            paid.fetch_add(1, Ordering::Relaxed);
                        }
                        mine.push(t.elapsed().as_micros() as u64);
                    }
                    latencies.lock().map_err(|e| e.to_string())?.extend(mine);
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a claim thread panicked")??;
        }
        Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let mut l = latencies.into_inner().map_err(|e| e.to_string())?;
    l.sort_unstable();
    Ok((l, paid.into_inner(), secs))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sync_part(a: &Args) -> Res<()> {
    let (server, dir) = (a.need("server")?, PathBuf::from(a.need("dir")?));
    let snapshot = PathBuf::from(a.need("snapshot")?);
    let (records, batch) = (
        a.number("records", 1_000_000)?,
        a.number("batch", tepat_ledger::sync::DEFAULT_BATCH)?,
    );
    let period = a.get("period").unwrap_or("2026-12").to_owned();
    let niks = niks(a.need("niks")?)?;
    let n = records.min(niks.len());
    let store = fresh_store(&dir, "sync-store", &snapshot)?;
    let (_, paid, secs) = run_claims(
        64,
        n,
        |_, _| false,
        |i| {
            Ok(store
                .claim(&request(format!("s-{i}"), &niks[i], &period))?
                .paid)
        },
    )?;
    println!("# {n} claims made at the store ({paid} paid) in {secs:.1} s");
    let url = fresh_db(server, "sync")?;
    let mut client = tepat_ledger::connect(&url)?;
    let t = Instant::now();
    let done = tepat_ledger::sync::sync(&mut client, &store, "bench", batch)?;
    let sync_secs = t.elapsed().as_secs_f64();
    let shipped = done.claims + done.reversals;
    let t = Instant::now();
    let copied = tepat_ledger::sync::copy_floor(&mut client, &store, batch)?;
    let floor_secs = t.elapsed().as_secs_f64();
    println!(
        "RESULT sync records={shipped} batch={batch} secs={sync_secs:.3} records_per_s={:.0}",
        shipped as f64 / sync_secs
    );
    println!(
        "RESULT copy_floor records={copied} batch={batch} secs={floor_secs:.3} records_per_s={:.0}",
        copied as f64 / floor_secs
    );
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('claims')", &[])?
        .get(0);
    println!("# claims table with its indexes after the sync: {size} bytes");
    Ok(())
}

fn reserve_part(a: &Args) -> Res<()> {
    let (server, dir) = (a.need("server")?, PathBuf::from(a.need("dir")?));
    let snapshot = PathBuf::from(a.need("snapshot")?);
    let secs = a.number("secs", 10)? as f64;
    let period = a.get("period").unwrap_or("2026-12").to_owned();
    let clients: Vec<usize> = a
        .get("clients")
        .unwrap_or("1,16,64")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let niks = niks(a.need("niks")?)?;
    println!(
        "| claims | clients | claims | paid | s | claims/s | p50 µs | p99 µs | p99.9 µs | max µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &c in &clients {
        for reserved in [true, false] {
            let store = fresh_store(&dir, &format!("reserve-{c}-{reserved}"), &snapshot)?;
            let url = fresh_db(server, "reserve")?;
            let central = PgReserver::new(
                &url,
                "bench",
                &store.id().to_string(),
                Duration::from_millis(300),
            )?;
            let until = Duration::from_secs_f64(secs);
            let (l, paid, took) = run_claims(
                c,
                niks.len(),
                |_, t| t.elapsed() >= until,
                |i| {
                    let req = request(format!("r-{i}"), &niks[i], &period);
                    let out = if reserved {
                        store.claim_reserved(&req, &central as &dyn Reserver)?
                    } else {
                        store.claim(&req)?
                    };
                    Ok(out.paid)
                },
            )?;
            println!(
                "| {} | {c} | {} | {paid} | {took:.1} | {:.0} | {} | {} | {} | {} |",
                if reserved {
                    "reserved (PostgreSQL)"
                } else {
                    "local only"
                },
                l.len(),
                l.len() as f64 / took,
                percentile(&l, 0.5),
                percentile(&l, 0.99),
                percentile(&l, 0.999),
                l.last().copied().unwrap_or(0)
            );
            drop(store);
            std::fs::remove_dir_all(dir.join(format!("reserve-{c}-{reserved}")))?;
        }
    }
    Ok(())
}

fn index_part(a: &Args) -> Res<()> {
    let server = a.need("server")?;
    let (persons, periods) = (a.number("persons", 10_000_000)?, a.number("periods", 10)?);
    let url = fresh_db(server, "index")?;
    let mut c = tepat_ledger::connect(&url)?;
    c.batch_execute("INSERT INTO points (id, store_id) VALUES ('bench', repeat('0', 32))")?;
    let chunk = 1_000_000usize;
    println!("| claims before | rows | s | rows/s |");
    println!("|---:|---:|---:|---:|");
    let mut total = 0usize;
    for p in 0..periods {
        let mut from = 0usize;
        while from < persons {
            let rows = chunk.min(persons - from);
            let t = Instant::now();
            // One paid, unreversed PBI_JK claim per person and month:
            // every row enters both partial indexes.
            c.execute(
                "INSERT INTO claims (point, log_offset, seq, request_id, program, period,
                     period_key, key_kind, claim_key, nik, amount, village, operator, meta,
                     at, outcome, reasons)
                 SELECT 'bench', $1::bigint + g, $1::bigint + g, 'b-' || ($1::bigint + g),
                     'PBI_JK', $2, $3, 'person', 3200000000000000 + g, 3200000000000000 + g,
                     42000, 3201010001, 'bench', '', now(), 'paid', ''
                 FROM generate_series($4::bigint, $5::bigint) g",
                &[
                    &((p * persons) as i64),
                    &format!("2026-{:02}", p % 12 + 1),
                    &(p as i32),
                    &(from as i64),
                    &((from + rows - 1) as i64),
                ],
            )?;
            let s = t.elapsed().as_secs_f64();
            println!("| {total} | {rows} | {s:.2} | {:.0} |", rows as f64 / s);
            total += rows;
            from += rows;
        }
        sizes(&mut c, total)?;
    }
    Ok(())
}

/// The claims table's and each index's size at `total` claims.
fn sizes(c: &mut postgres::Client, total: usize) -> Res<()> {
    let mut line = format!("RESULT sizes claims={total}");
    for rel in [
        "claims",
        "claims_pkey",
        "claims_point_log_offset_key",
        "claims_key_holder",
        "claims_key_paid",
        "claims_double_payments",
        "claims_by_request",
    ] {
        let size: i64 = c
            .query_one("SELECT pg_relation_size($1::text::regclass)", &[&rel])?
            .get(0);
        line.push_str(&format!(
            " {rel}={:.1}B/claim",
            size as f64 / total.max(1) as f64
        ));
    }
    println!("{line}");
    Ok(())
}
