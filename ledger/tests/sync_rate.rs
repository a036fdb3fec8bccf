//! How fast `sync` ships records (a measurement, not a gate: ignored by
//! default). `cargo test -p tepat-ledger --test sync_rate -- --ignored
//! --nocapture`; `TEPAT_SYNC_RATE_FAMILIES` sets the register's size.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::time::Instant;

use common::{TestDb, claim_every};

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn sync_rate() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let families: usize = std::env::var("TEPAT_SYNC_RATE_FAMILIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let tmp = match std::path::Path::new("/dev/shm") {
        d if d.is_dir() => tempfile::tempdir_in(d).unwrap(),
        _ => tempfile::tempdir().unwrap(),
    };
    let records = stores::register(families, 77);
    let store = stores::create_store(&records, tmp.path());
    let t = Instant::now();
    claim_every(&store, &records, "2026-11");
    let n = common::log_positions(&store).len();
    println!("{n} records claimed in {:.1} s", t.elapsed().as_secs_f64());
    let batch = tepat_ledger::sync::DEFAULT_BATCH;
    let t = Instant::now();
    let done = tepat_ledger::sync::sync(&mut c, &store, "p", batch).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((done.claims + done.reversals) as usize, n);
    println!(
        "sync, batch {batch}: {n} records in {secs:.2} s = {:.0} records/s",
        n as f64 / secs
    );
}
