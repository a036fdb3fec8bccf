//! `tepat batch --ledger URL`: a bank's payee list refuses the payments
//! other payout points made (synced) or reserved (online), naming the
//! point; without the ledger the same rows pass; a ledger that cannot be
//! asked stops the list and leaves no verdicts file.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{TestDb, tepat_bin};
use tepat::ClaimRequest;
use tepat_ledger::reserve::PgReserver;
use tepat_ledger::sync::sync;

fn request(id: &str, nik: &str) -> ClaimRequest {
    ClaimRequest {
        request_id: id.into(),
        nik: nik.into(),
        program: "PBI_JK".into(),
        period: "2026-11".into(),
        ..ClaimRequest::default()
    }
}

/// `tepat batch` on `store` and `list`: (exit status, the verdicts file).
fn batch(store: &Path, list: &Path, ledger: Option<&str>) -> (bool, Option<String>) {
    let out = list.with_extension("verdicts.csv");
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(tepat_bin());
    cmd.args(["batch", "--today", "2026-11-15", "--store"])
        .arg(store)
        .arg("--out")
        .arg(&out);
    if let Some(url) = ledger {
        cmd.args(["--ledger", url]);
    }
    let status = cmd.arg(list).output().unwrap();
    (status.status.success(), std::fs::read_to_string(&out).ok())
}

/// The verdict row of `nik` in a verdicts file.
fn row<'a>(verdicts: &'a str, nik: &str) -> &'a str {
    verdicts.lines().find(|l| l.contains(nik)).unwrap()
}

#[test]
fn a_payee_list_refuses_what_other_points_paid_or_reserved() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let records = stores::register(60, 59);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let [a, b, bank] = [0, 1, 2].map(|i| stores::create_store(&records, dirs[i].path()));
    let payable: Vec<String> = records
        .iter()
        .filter(|r| records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .map(|r| r.nik.to_string())
        .filter(|n| bank.check_str(n, "PBI_JK", "2026-11").unwrap().payable)
        .take(3)
        .collect();
    let [paid_at_a, reserved_at_b, nobody] = [0, 1, 2].map(|i| payable[i].clone());
    // A paid offline and synced; B reserved online and has not synced.
    assert!(a.claim(&request("a-1", &paid_at_a)).unwrap().paid);
    sync(&mut c, &a, "A", 100).unwrap();
    let rb = PgReserver::new(&db.url, "B", &b.id().to_string(), Duration::from_secs(2)).unwrap();
    assert!(
        b.claim_reserved(&request("b-1", &reserved_at_b), &rb)
            .unwrap()
            .paid
    );
    drop(bank);

    let list = dirs[2].path().join("payees.csv");
    let body: String = payable
        .iter()
        .map(|n| format!("{n},PBI_JK,2026-11\n"))
        .collect();
    std::fs::write(&list, format!("nik,program,period\n{body}")).unwrap();
    let store = dirs[2].path();

    let (ok, verdicts) = batch(store, &list, Some(&db.url));
    let verdicts = verdicts.unwrap();
    assert!(ok, "{verdicts}");
    let at_a = row(&verdicts, &paid_at_a);
    assert!(
        at_a.contains("false") && at_a.contains("claimed_elsewhere"),
        "{at_a}"
    );
    assert!(at_a.contains("point A (request a-1"), "{at_a}");
    let at_b = row(&verdicts, &reserved_at_b);
    assert!(
        at_b.contains("claimed_elsewhere") && at_b.contains("point B"),
        "{at_b}"
    );
    let free = row(&verdicts, &nobody);
    assert!(
        free.contains("true") && !free.contains("claimed_elsewhere"),
        "{free}"
    );

    // Without the ledger the bank's store knows of none of them.
    let (ok, verdicts) = batch(store, &list, None);
    assert!(ok);
    assert!(!verdicts.unwrap().contains("claimed_elsewhere"));

    // A ledger that cannot be asked: an error, and no verdicts file.
    let (ok, verdicts) = batch(store, &list, Some("postgresql://postgres@127.0.0.1:1/x"));
    assert!(!ok && verdicts.is_none(), "{verdicts:?}");
}
