//! What the ledger's tests share: a PostgreSQL database of their own (a
//! real server, never a mock), stores with claims, the `tepat` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};
use tepat::{ClaimRequest, Store};

/// The server the project's machines run (trust authentication).
pub const SERVER: &str = "postgresql://postgres@127.0.0.1:5432";

/// A database of one test's own, dropped when it goes.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A new, empty database; `None` (with the reason printed) only when
    /// no PostgreSQL answers at [`SERVER`] and `TEPAT_REQUIRE_PG` is not
    /// set (`.ci/run` sets it: there the server must be up).
    pub fn new() -> Option<TestDb> {
        let mut admin = match Client::connect(&format!("{SERVER}/postgres"), NoTls) {
            Ok(c) => c,
            Err(e) if std::env::var_os("TEPAT_REQUIRE_PG").is_none() => {
                println!("SKIPPED: no PostgreSQL at {SERVER} ({e}); start it to run this test");
                return None;
            }
            Err(e) => panic!("TEPAT_REQUIRE_PG is set and PostgreSQL at {SERVER} is down: {e}"),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "tepat_ledger_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = format!("{SERVER}/{name}");
        Some(TestDb { name, url })
    }

    /// A connection to it.
    pub fn client(&self) -> Client {
        tepat_ledger::connect(&self.url).unwrap()
    }

    /// A connection to it, the schema migrated.
    pub fn migrated(&self) -> Client {
        let mut c = self.client();
        tepat_ledger::migrate::migrate(&mut c).unwrap();
        c
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&format!("{SERVER}/postgres"), NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A claim request at a point.
pub fn claim(store: &Store, id: &str, nik: &str, program: &str, period: &str) -> bool {
    store
        .claim(&ClaimRequest {
            request_id: id.into(),
            nik: nik.into(),
            program: program.into(),
            period: period.into(),
            operator: "op-1".into(),
            ..ClaimRequest::default()
        })
        .unwrap()
        .paid
}

/// Claims PBI_JK for `period` for every person of `records`, request ids
/// `c0`, `c1`, … (paid or not, as the store decides).
pub fn claim_every(store: &Store, records: &[tepat::register::PersonRecord], period: &str) {
    for (i, r) in records.iter().enumerate() {
        claim(
            store,
            &format!("c{i}"),
            &r.nik.to_string(),
            "PBI_JK",
            period,
        );
    }
}

/// Every claims-log record's (offset, end) of a store, in order.
pub fn log_positions(store: &Store) -> Vec<(u64, u64)> {
    store
        .claims_log_from(0)
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.offset, r.end)
        })
        .collect()
}

/// (offset, kind) of every row the ledger holds for `point`, claims and
/// reversals, in id order within each table, merged by offset.
pub fn ledger_rows(client: &mut Client, point: &str) -> Vec<(i64, String)> {
    client
        .query(
            "SELECT log_offset, 'claim' FROM claims WHERE point = $1
             UNION ALL SELECT log_offset, 'reverse' FROM reversals WHERE point = $1
             ORDER BY 1",
            &[&point],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The `tepat` binary: built beside these tests (`cargo test --workspace`,
/// `cargo nextest run -p tepat-ledger -p tepat-cli`), else built now.
pub fn tepat_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir: &Path = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("tepat");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "tepat-cli", "--bin", "tepat"])
            .status()
            .unwrap();
        assert!(status.success(), "building the tepat binary failed");
    }
    assert!(bin.exists(), "no tepat binary at {}", bin.display());
    bin
}

/// What the ledger must hold after a sync ended anyhow (killed, its
/// server stopped): point `p`'s records up to the high-water mark,
/// exactly, their ids in log order, every shipped reversal marking its
/// claim. Returns how many are shipped.
pub fn check_prefix(client: &mut postgres::Client, positions: &[(u64, u64)]) -> usize {
    let hwm = tepat_ledger::sync::high_water_mark(client, "p").unwrap();
    let shipped: Vec<u64> = positions
        .iter()
        .filter(|p| p.1 <= hwm)
        .map(|p| p.0)
        .collect();
    assert!(
        hwm == 0 || positions.iter().any(|p| p.1 == hwm),
        "the high-water mark {hwm} is a record's end"
    );
    let held: Vec<u64> = ledger_rows(client, "p")
        .iter()
        .map(|r| r.0 as u64)
        .collect();
    assert_eq!(
        held, shipped,
        "the ledger holds exactly the records before {hwm}"
    );
    for table in ["claims", "reversals"] {
        let by_id: Vec<i64> = client
            .query(&format!("SELECT log_offset FROM {table} ORDER BY id"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(by_id.is_sorted(), "{table} inserted in log order");
    }
    let unreversed: i64 = client
        .query_one(
            "SELECT count(*) FROM reversals r JOIN claims c ON c.id = r.claim_id WHERE NOT c.reversed",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unreversed, 0, "every shipped reversal marked its claim");
    shipped.len()
}
