//! `tepat serve --ledger URL --point ID`: two services (two payout points'
//! stores) on one central ledger, a family claimed at both over HTTP at the
//! same moment, many times: paid once; the refusal names the other point.
//! The background sync ships a service's claims while it runs, and what is
//! left when it stops.

mod support;

#[path = "../../ledger/tests/common/mod.rs"]
mod ledger_db;

use std::sync::Barrier;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, Fixture, nik};
use tepat_server::{LedgerConfig, Running};

/// A service on `store` as point `point` of the ledger `db`.
fn point_service(
    f: &Fixture,
    db: &ledger_db::TestDb,
    store: std::path::PathBuf,
    point: &str,
    sync_every: Option<Duration>,
) -> Running {
    let mut config = f.config();
    config.store = store;
    config.ledger = Some(LedgerConfig {
        url: db.url.clone(),
        point: point.into(),
        deadline: Duration::from_secs(2),
        sync_every,
    });
    Running::start(&config).unwrap()
}

/// The fixture's unique NIKs that SEMBAKO 2026-Q4 would pay (asked of `c`).
fn payable_sembako(c: &Client, f: &Fixture) -> Vec<String> {
    f.records
        .iter()
        .filter(|r| f.records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .map(nik)
        .filter(|n| {
            let body = json!({"nik": n, "program": "SEMBAKO", "period": "2026-Q4"});
            c.post_json("/v1/check", &f.tokens.payout, &body).body["payable"] == json!(true)
        })
        .collect()
}

#[test]
fn two_services_claiming_one_family_at_once_over_http_pay_it_once() {
    let Some(db) = ledger_db::TestDb::new() else {
        return;
    };
    db.migrated();
    let f = Fixture::new(80, 47);
    // A second point: the same register in a store of its own.
    let other = tempfile::tempdir().unwrap();
    drop(support::common::create_store(&f.records, other.path()));
    let points = [
        point_service(&f, &db, f.store_dir(), "A", None),
        point_service(&f, &db, other.path().into(), "B", None),
    ];
    let clients = [Client::new(points[0].addr), Client::new(points[1].addr)];
    let token = &f.tokens.payout;
    let payable = payable_sembako(&clients[0], &f);
    let mut families = 0;
    let mut seen_kk = std::collections::BTreeSet::new();
    for n in &payable {
        let kk = f.records.iter().find(|r| nik(r) == *n).unwrap().kk;
        if !seen_kk.insert(kk) {
            continue;
        }
        families += 1;
        let barrier = Barrier::new(2);
        let answers: Vec<Value> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|p| {
                    let (c, barrier) = (&clients[p], &barrier);
                    let body = json!({"request_id": format!("{kk}-{p}"), "nik": n,
                        "program": "SEMBAKO", "period": "2026-Q4"});
                    s.spawn(move || {
                        barrier.wait();
                        c.post_json("/v1/claim", token, &body).body
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let paid: Vec<usize> = (0..2)
            .filter(|p| answers[*p]["outcome"] == json!("paid"))
            .collect();
        assert_eq!(paid.len(), 1, "{answers:?}");
        let refused = &answers[1 - paid[0]];
        let codes: Vec<&str> = refused["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["code"].as_str())
            .collect();
        assert!(codes.contains(&"claimed_elsewhere"), "{refused}");
        assert_eq!(refused["elsewhere"]["point"], json!(["A", "B"][paid[0]]));
    }
    assert!(families >= 10, "{families} families");
}

/// Rows the ledger holds for point `p`.
fn ledger_claims(db: &ledger_db::TestDb, point: &str) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM claims WHERE point = $1", &[&point])
        .unwrap()
        .get(0)
}

#[test]
fn the_background_sync_ships_claims_while_serving_and_at_the_stop() {
    let Some(db) = ledger_db::TestDb::new() else {
        return;
    };
    db.migrated();
    let f = Fixture::new(40, 53);
    let service = |every: Duration| point_service(&f, &db, f.store_dir(), "A", Some(every));
    let claim = |c: &Client, i: usize| {
        let n = nik(&f.records[i]);
        let body = json!({"request_id": format!("bg-{i}"), "nik": n,
            "program": "PBI_JK", "period": "2026-11"});
        let a = c.post_json("/v1/claim", &f.tokens.payout, &body);
        assert_eq!(a.status, 200, "{}", a.text);
    };

    // Every 100 ms while serving.
    let running = service(Duration::from_millis(100));
    let c = Client::new(running.addr);
    for i in 0..10 {
        claim(&c, i);
    }
    let started = std::time::Instant::now();
    let shipped = "tepat_ledger_synced_records_total 10\n";
    while ledger_claims(&db, "A") < 10 || !c.get("/metrics", None).text.contains(shipped) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "after 20 s the ledger holds {} of 10 claims; the metrics say {}",
            ledger_claims(&db, "A"),
            c.get("/metrics", None).text
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ledger_claims(&db, "A"), 10);
    running.stop().unwrap();

    // Rounds an hour apart: the claims reach the ledger at the stop.
    let running = service(Duration::from_secs(3600));
    let c = Client::new(running.addr);
    for i in 10..15 {
        claim(&c, i);
    }
    assert_eq!(ledger_claims(&db, "A"), 10, "shipped before the stop");
    running.stop().unwrap();
    assert_eq!(ledger_claims(&db, "A"), 15, "the stop's round shipped them");
}

/// `POST /v1/batch` at a service started with `--ledger`: a bank's list
/// at point A refuses the family point B reserved and paid over HTTP
/// (`claimed_elsewhere`, the point named), and passes the others as the
/// store alone would.
#[test]
fn a_payee_list_at_one_point_refuses_what_another_point_paid() {
    let Some(db) = ledger_db::TestDb::new() else {
        return;
    };
    db.migrated();
    let f = Fixture::new(60, 59);
    let other = tempfile::tempdir().unwrap();
    drop(support::common::create_store(&f.records, other.path()));
    let a = point_service(&f, &db, f.store_dir(), "A", None);
    let b = point_service(&f, &db, other.path().into(), "B", None);
    let (ca, cb) = (Client::new(a.addr), Client::new(b.addr));
    let token = &f.tokens.payout;
    let payable = payable_sembako(&ca, &f);
    assert!(payable.len() >= 2, "{payable:?}");
    let body = json!({"request_id": "b-1", "nik": payable[0],
        "program": "SEMBAKO", "period": "2026-Q4"});
    assert_eq!(
        cb.post_json("/v1/claim", token, &body).body["outcome"],
        json!("paid")
    );

    let list = format!(
        "nik,program,period\n{},SEMBAKO,2026-Q4\n{},SEMBAKO,2026-Q4\n",
        payable[0], payable[1]
    );
    let answer = ca.post("/v1/batch", Some(&f.tokens.bank), &list);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let rows: Vec<&str> = answer.text.lines().collect();
    assert_eq!(rows.len(), 3, "{}", answer.text);
    assert!(
        rows[1].contains("claimed_elsewhere") && rows[1].contains('B'),
        "{}",
        answer.text
    );
    assert!(!rows[2].contains("claimed_elsewhere"), "{}", answer.text);
    b.stop().unwrap();
    a.stop().unwrap();
}

/// A ledger that cannot be asked refuses the list, 503
/// `ledger_unreachable`, rather than passing it unchecked.
#[test]
fn a_payee_list_is_refused_when_the_ledger_cannot_be_asked() {
    let Some(db) = ledger_db::TestDb::new() else {
        return;
    };
    db.migrated();
    let f = Fixture::new(10, 61);
    let a = point_service(&f, &db, f.store_dir(), "A", None);
    // The ledger's database gone (its connections cut with it).
    let mut admin =
        postgres::Client::connect(&format!("{}/postgres", ledger_db::SERVER), postgres::NoTls)
            .unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", db.name))
        .unwrap();
    let list = format!(
        "nik,program,period\n{},SEMBAKO,2026-Q4\n",
        nik(&f.records[0])
    );
    let answer = Client::new(a.addr).post("/v1/batch", Some(&f.tokens.bank), &list);
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(
        support::code(&answer),
        "ledger_unreachable",
        "{}",
        answer.text
    );
    a.stop().unwrap();
}
