//! `kill -9` of `tepat sync` mid-batch, round after round: after every
//! kill PostgreSQL holds exactly the records before the point's
//! high-water mark, each once and in log order; the next sync resumes
//! there. `TEPAT_SYNC_KILL9_SECS` sets the time spent killing (default 30;
//! the rounds stop at 30 or when it runs out, whichever is later than 5).

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestDb, check_prefix, claim, log_positions, tepat_bin};

/// Adds a round's claims to the store (and reverses one), then closes it:
/// the sync process opens it alone.
fn add_claims(dir: &std::path::Path, records: &[tepat::register::PersonRecord], round: usize) {
    let store = stores::open(dir);
    let period = format!("2026-{:02}", 10 + round % 2);
    let mut first_paid = None;
    for (i, r) in records
        .iter()
        .enumerate()
        .skip((round * 40) % records.len())
        .take(40)
    {
        let id = format!("r{round}-{i}");
        if claim(&store, &id, &r.nik.to_string(), "PBI_JK", &period) && first_paid.is_none() {
            first_paid = Some(id);
        }
    }
    if let Some(id) = first_paid {
        store
            .reverse(&format!("undo-{round}"), &id, "failed")
            .unwrap();
    }
}

#[test]
fn every_record_once_in_order_after_kill_9_mid_batch() {
    let Some(db) = TestDb::new() else { return };
    let mut client = db.migrated();
    let secs: u64 = std::env::var("TEPAT_SYNC_KILL9_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let bin = tepat_bin();
    let dir = tempfile::tempdir().unwrap();
    let records = stores::register(200, 31);
    drop(stores::create_store(&records, dir.path()));
    let mut rng = stores::Rng(7);
    let (mut rounds, mut mid_sync, mut delay_ms) = (0usize, 0usize, 40u64);
    let started = Instant::now();
    while rounds < 5 || (rounds < 30 && started.elapsed() < Duration::from_secs(secs)) {
        add_claims(dir.path(), &records, rounds);
        let before = tepat_ledger::sync::high_water_mark(&mut client, "p").unwrap();
        let mut child = Command::new(&bin)
            .args([
                "sync", "--point", "p", "--batch", "3", "--db", &db.url, "--store",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(delay_ms + 1)));
        let ran_to_the_end = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Aim the next kill inside the run: shorter when this one came
        // after the sync had finished, longer when it came before any batch.
        let positions = {
            let store = stores::open(dir.path());
            log_positions(&store)
        };
        let shipped = check_prefix(&mut client, &positions);
        let after = tepat_ledger::sync::high_water_mark(&mut client, "p").unwrap();
        if ran_to_the_end {
            delay_ms = (delay_ms * 3 / 4).max(5);
        } else if after == before {
            delay_ms += 10;
        } else if shipped < positions.len() {
            mid_sync += 1;
        }
        rounds += 1;
    }
    println!("{rounds} rounds, {mid_sync} killed mid-sync after shipping some batches");
    assert!(
        mid_sync * 3 >= rounds,
        "only {mid_sync} of {rounds} kills came mid-sync"
    );

    let out = Command::new(&bin)
        .args(["sync", "--point", "p", "--db", &db.url, "--store"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = stores::open(dir.path());
    let positions = log_positions(&store);
    assert_eq!(check_prefix(&mut client, &positions), positions.len());
}
