//! `tepat sync`: every record once, in log order, the high-water mark in
//! the same transaction; a point bound to its store; double payments
//! across points flagged; errors that say what and where.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use common::{TestDb, claim, claim_every, ledger_rows, log_positions};
use tepat::Store;
use tepat_ledger::Error;
use tepat_ledger::sync::{high_water_mark, sync};

/// A store of 40 families, with a few paid and refused claims.
fn store_with_claims(dir: &std::path::Path, seed: u64) -> (Store, Vec<String>) {
    let records = stores::register(40, seed);
    let store = stores::create_store(&records, dir);
    let mut paid = Vec::new();
    for (i, r) in records.iter().enumerate().take(60) {
        let id = format!("c{i}");
        if claim(&store, &id, &r.nik.to_string(), "PBI_JK", "2026-11") {
            paid.push(id);
        }
    }
    // Refused: an invalid NIK, a closed period.
    claim(&store, "bad-nik", "1234", "PBI_JK", "2026-11");
    claim(
        &store,
        "closed",
        &records[0].nik.to_string(),
        "PBI_JK",
        "2020-01",
    );
    (store, paid)
}

/// Pays the first payable person PBI_JK for 2026-11: (request id, NIK).
fn payable(
    store: &Store,
    records: &[tepat::register::PersonRecord],
    prefix: &str,
) -> (String, String) {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{prefix}-{i}"), r.nik.to_string()))
        .find(|(id, nik)| claim(store, id, nik, "PBI_JK", "2026-11"))
        .expect("a payable person")
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn a_second_sync_inserts_nothing_twice() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let dir = tempfile::tempdir().unwrap();
    let (store, paid) = store_with_claims(dir.path(), 1);
    assert!(paid.len() > 5, "the test store paid only {}", paid.len());
    store.reverse("rev-0", &paid[0], "failed transfer").unwrap();
    let positions = log_positions(&store);

    let first = sync(&mut c, &store, "kantor-pos-1", 7).unwrap();
    assert_eq!(first.claims + first.reversals, positions.len() as u64);
    assert_eq!(first.reversals, 1);
    assert_eq!(first.batches, positions.len().div_ceil(7) as u64);
    assert_eq!(first.to, positions.last().unwrap().1);
    let second = sync(&mut c, &store, "kantor-pos-1", 7).unwrap();
    assert_eq!((second.claims, second.reversals, second.batches), (0, 0, 0));
    assert_eq!((second.from, second.to), (first.to, first.to));

    let rows = ledger_rows(&mut c, "kantor-pos-1");
    let offsets: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let expected: Vec<i64> = positions.iter().map(|p| p.0 as i64).collect();
    assert_eq!(offsets, expected, "every record once, in log order");
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM claims WHERE outcome = 'paid'"),
        paid.len() as i64
    );
    let refused = positions.len() - 1 - paid.len();
    assert!(
        refused >= 2,
        "the invalid NIK and the closed period are refused"
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM claims WHERE outcome = 'refused'"
        ),
        refused as i64
    );
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM claims WHERE double_payment"),
        0
    );
    assert_eq!(high_water_mark(&mut c, "kantor-pos-1").unwrap(), first.to);
    let records: i64 = c
        .query_one("SELECT records FROM high_water_marks", &[])
        .unwrap()
        .get(0);
    assert_eq!(records, positions.len() as i64);
}

#[test]
fn a_claim_and_its_reversal_arrive_in_order_in_one_batch_or_many() {
    for batch in [1, 1000] {
        let Some(db) = TestDb::new() else { return };
        let mut c = db.migrated();
        let dir = tempfile::tempdir().unwrap();
        let records = stores::register(20, 3);
        let store = stores::create_store(&records, dir.path());
        let (first, nik) = payable(&store, &records, "first");
        let first = first.as_str();
        // Sync the claim alone first in one round, not in the other.
        if batch == 1 {
            sync(&mut c, &store, "p", batch).unwrap();
        }
        store.reverse("undo", first, "cash not collected").unwrap();
        assert!(
            claim(&store, "second", &nik, "PBI_JK", "2026-11"),
            "paid again after the reversal"
        );
        sync(&mut c, &store, "p", batch).unwrap();

        let rows = c
            .query(
                "SELECT request_id, outcome, reversed, double_payment, log_offset
                 FROM claims WHERE outcome = 'paid' AND nik = $1 ORDER BY log_offset",
                &[&(nik.parse::<i64>().unwrap())],
            )
            .unwrap();
        let got: Vec<(String, bool, bool)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(2), r.get(3)))
            .collect();
        assert_eq!(
            got,
            [
                (first.to_string(), true, false),
                ("second".to_string(), false, false)
            ],
            "batch {batch}"
        );
        let rev = c
            .query_one(
                "SELECT r.log_offset, c.log_offset, r.reverses_request, r.claim_id = c.id
                 FROM reversals r JOIN claims c ON c.request_id = $1",
                &[&first],
            )
            .unwrap();
        let (rev_at, claim_at): (i64, i64) = (rev.get(0), rev.get(1));
        assert!(claim_at < rev_at, "the reversal follows its claim");
        assert_eq!(rev.get::<_, String>(2), first);
        assert!(rev.get::<_, bool>(3));
    }
}

#[test]
fn a_point_is_bound_to_its_store() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (store_a, _) = store_with_claims(a.path(), 5);
    let (store_b, _) = store_with_claims(b.path(), 6);
    sync(&mut c, &store_a, "A", 100).unwrap();
    let before = ledger_rows(&mut c, "A");

    let err = sync(&mut c, &store_b, "A", 100).unwrap_err();
    assert!(matches!(err, Error::Point { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&store_a.id().to_string()) && text.contains(&store_b.id().to_string()),
        "{text}"
    );
    let err = sync(&mut c, &store_a, "A-again", 100).unwrap_err();
    assert!(
        err.to_string().contains("already ships as point \"A\""),
        "{err}"
    );
    assert_eq!(ledger_rows(&mut c, "A"), before);
    assert!(ledger_rows(&mut c, "A-again").is_empty());
}

#[test]
fn sync_needs_a_migrated_ledger() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.client();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_claims(dir.path(), 7);
    let err = sync(&mut c, &store, "p", 10).unwrap_err();
    assert!(err.to_string().contains("tepat ledger init"), "{err}");
}

#[test]
fn a_key_paid_at_two_points_is_stored_and_flagged() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let records = stores::register(30, 8);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    let store_b = stores::create_store(&records, b.path());
    let (_, nik) = payable(&store_a, &records, "a");
    assert!(claim(&store_b, "b-1", &nik, "PBI_JK", "2026-11"));
    sync(&mut c, &store_a, "A", 100).unwrap();
    let synced = sync(&mut c, &store_b, "B", 100).unwrap();
    assert_eq!(synced.double_payments, 1);

    let report =
        tepat_ledger::report::report(&mut c, tepat_ledger::report::By::Point, None).unwrap();
    assert_eq!(report.double_payments.len(), 1);
    let d = &report.double_payments[0];
    assert_eq!(d.nik, Some(nik.parse().unwrap()));
    assert_eq!(d.first.as_ref().unwrap().point, "A");
    assert_eq!(d.again.point, "B");
    let national = report.national();
    assert_eq!((national.paid, national.double_payments), (2, 1));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres@127.0.0.1:{port}/ledger");
    let err = tepat_ledger::connect(&url).err().expect("no server there");
    let text = err.to_string();
    assert!(
        text.contains("connecting to the ledger at") && text.contains(&port.to_string()),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    drop(store_with_claims(dir.path(), 9));
    let out = std::process::Command::new(common::tepat_bin())
        .args(["sync", "--point", "p", "--db", &url, "--store"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connecting to the ledger at"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}

#[test]
fn a_connection_lost_mid_sync_is_an_error_and_the_next_sync_resumes() {
    let Some(db) = TestDb::new() else { return };
    let mut admin = db.migrated();
    let dir = tempfile::tempdir().unwrap();
    let records = stores::register(150, 10);
    let store = stores::create_store(&records, dir.path());
    claim_every(&store, &records, "2026-11");
    let positions = log_positions(&store);
    let url = format!("{}?application_name=lost_{}", db.url, db.name);
    let killer = {
        let name = format!("lost_{}", db.name);
        let db_url = db.url.clone();
        std::thread::spawn(move || {
            let mut c = tepat_ledger::connect(&db_url).unwrap();
            // Wait for the sync to be under way, then cut its connection
            // as a server going down would.
            loop {
                let shipped: i64 = c
                    .query_one(
                        "SELECT coalesce(max(records), 0) FROM high_water_marks",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                if shipped > 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&name],
            )
            .unwrap();
        })
    };
    let mut client = tepat_ledger::connect(&url).unwrap();
    let err = sync(&mut client, &store, "p", 1).unwrap_err();
    killer.join().unwrap();
    assert!(matches!(err, Error::Db { .. }), "{err}");
    let hwm = high_water_mark(&mut admin, "p").unwrap();
    assert!(
        hwm > 0 && hwm < positions.last().unwrap().1,
        "stopped mid-way at {hwm}"
    );
    let held = ledger_rows(&mut admin, "p");
    assert!(
        held.iter().all(|r| (r.0 as u64) < hwm),
        "nothing past the mark"
    );
    assert_eq!(held.len(), positions.iter().filter(|p| p.1 <= hwm).count());

    let mut client = tepat_ledger::connect(&db.url).unwrap();
    let done = sync(&mut client, &store, "p", 50).unwrap();
    assert_eq!(done.from, hwm);
    let offsets: Vec<u64> = ledger_rows(&mut admin, "p")
        .iter()
        .map(|r| r.0 as u64)
        .collect();
    assert_eq!(offsets, positions.iter().map(|p| p.0).collect::<Vec<_>>());
}

#[test]
fn two_points_syncing_the_same_keys_at_once_flag_exactly_one_side() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let records = stores::register(120, 12);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    let store_b = stores::create_store(&records, b.path());
    let mut both = 0i64;
    for (i, r) in records.iter().enumerate() {
        let nik = r.nik.to_string();
        let pa = claim(&store_a, &format!("a{i}"), &nik, "PBI_JK", "2026-11");
        let pb = claim(&store_b, &format!("b{i}"), &nik, "PBI_JK", "2026-11");
        assert_eq!(pa, pb, "two copies of one store decide alike");
        both += i64::from(pa);
    }
    assert!(both > 50, "only {both} paid");
    let retries: u64 = std::thread::scope(|s| {
        let runs: Vec<_> = [("A", &store_a), ("B", &store_b)]
            .into_iter()
            .map(|(point, store)| {
                let url = db.url.clone();
                s.spawn(move || {
                    let mut client = tepat_ledger::connect(&url).unwrap();
                    sync(&mut client, store, point, 3).unwrap().retries
                })
            })
            .collect();
        runs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!("{retries} batches retried after a race");
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM claims WHERE double_payment"),
        both
    );
    // Every key: one holder, one flagged claim at the other point.
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM claims d JOIN claims h ON h.id = d.held_by
             WHERE d.double_payment AND NOT h.double_payment AND h.point <> d.point
               AND h.claim_key = d.claim_key"
        ),
        both
    );
}

#[test]
fn a_high_water_mark_the_log_did_not_give_is_refused() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_claims(dir.path(), 13);
    let positions = log_positions(&store);
    sync(&mut c, &store, "p", 5).unwrap();
    let end = positions.last().unwrap().1 as i64;
    for (bad, says) in [(end - 3, "no record at byte"), (end + 1000, "past the end")] {
        c.execute("UPDATE high_water_marks SET log_offset = $1", &[&bad])
            .unwrap();
        let err = sync(&mut c, &store, "p", 5).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Store { .. }), "{text}");
        assert!(
            text.contains(&format!("high-water mark {bad}")) && text.contains(says),
            "{text}"
        );
    }
    assert_eq!(ledger_rows(&mut c, "p").len(), positions.len());
}

#[test]
fn sync_refuses_a_store_another_process_holds() {
    let Some(db) = TestDb::new() else { return };
    drop(db.migrated());
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_claims(dir.path(), 14);
    // The store is one process's (its claims log is locked): the point's
    // app holds it here, so the sync is refused, and nothing is shipped.
    let out = std::process::Command::new(common::tepat_bin())
        .args(["sync", "--point", "p", "--db", &db.url, "--store"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked"), "{stderr}");
    drop(store);
    let out = std::process::Command::new(common::tepat_bin())
        .args(["sync", "--point", "p", "--db", &db.url, "--store"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two keyed points (each its own identity key) that both pay one person:
/// synced with their keys, the ledger holds the person's NIK and finds the
/// double payment; synced keeping the pseudonyms, it finds none (two keys,
/// two unrelated pseudonyms), which is why a keyed point syncs revealed.
#[test]
fn keyed_points_synced_with_their_keys_are_matched_by_nik() {
    use tepat::snapshot::IdentityKey;
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let tmp = tempfile::tempdir().unwrap();
    let records = stores::register(30, 71);
    let national = stores::create_store(&records, &tmp.path().join("national"));
    let payee = records
        .iter()
        .find(|r| {
            let v = national.check_str(&r.nik.to_string(), "PBI_JK", "2026-11");
            v.unwrap().payable
        })
        .unwrap();
    let nik = payee.nik;
    let province = tepat::RegionCode::parse(&payee.village.to_string()[..2]).unwrap();
    let points: Vec<(String, IdentityKey, Store)> = (0..4u8)
        .map(|i| {
            let key = IdentityKey::from_bytes([i + 1; 16]);
            let out = tmp.path().join(format!("p{i}"));
            let spec = tepat::store::PointSpec {
                id: format!("p{i}"),
                regions: vec![province],
                programs: None,
                out: out.clone(),
                key: Some(key.clone()),
            };
            national.subset(&[spec], None).unwrap();
            let store = Store::open_with(&out, stores::options().identity_key(Some(key.clone())));
            (format!("p{i}"), key, store.unwrap())
        })
        .collect();
    for (name, _, store) in &points {
        assert!(claim(
            store,
            &format!("{name}-1"),
            &nik.to_string(),
            "PBI_JK",
            "2026-11"
        ));
    }
    let (revealed, kept) = points.split_at(2);
    for (name, key, store) in revealed {
        tepat_ledger::sync::sync_revealing(&mut c, store, name, 10, Some(key)).unwrap();
    }
    for (name, _, store) in kept {
        sync(&mut c, store, name, 10).unwrap();
    }
    let r = tepat_ledger::report::report(&mut c, tepat_ledger::report::By::Point, None).unwrap();
    assert_eq!(r.double_payments.len(), 1, "{:?}", r.double_payments);
    let d = &r.double_payments[0];
    assert_eq!(d.claim_key as u64, nik.get());
    let pair = [
        d.first.as_ref().unwrap().point.as_str(),
        d.again.point.as_str(),
    ];
    assert!(pair.contains(&"p0") && pair.contains(&"p1"), "{pair:?}");
    // The kept claims hold pseudonyms: bit 62 set, never the NIK.
    let keyed: Vec<i64> = c
        .query("SELECT nik FROM claims WHERE point IN ('p2', 'p3')", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(keyed.len(), 2);
    assert!(
        keyed
            .iter()
            .all(|n| *n as u64 & tepat::nik::KEYED_BIT != 0 && *n as u64 != nik.get())
    );
}
