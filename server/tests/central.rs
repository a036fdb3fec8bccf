//! `tepat serve --ledger URL --point ID`: two services (two payout points'
//! stores) on one central ledger, a family claimed at both over HTTP at the
//! same moment, many times: paid once; the refusal names the other point.

mod support;

#[path = "../../ledger/tests/common/mod.rs"]
mod ledger_db;

use std::sync::Barrier;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, Fixture, nik};
use tepat_server::{LedgerConfig, Running};

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
    let service = |store: std::path::PathBuf, point: &str| {
        let mut config = f.config();
        config.store = store;
        config.ledger = Some(LedgerConfig {
            url: db.url.clone(),
            point: point.into(),
            deadline: Duration::from_secs(2),
        });
        Running::start(&config).unwrap()
    };
    let points = [
        service(f.store_dir(), "A"),
        service(other.path().into(), "B"),
    ];
    let clients = [Client::new(points[0].addr), Client::new(points[1].addr)];
    let token = &f.tokens.payout;
    let payable: Vec<String> = f
        .records
        .iter()
        .filter(|r| f.records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .map(nik)
        .filter(|n| {
            let a = clients[0].post_json(
                "/v1/check",
                token,
                &json!({"nik": n, "program": "SEMBAKO", "period": "2026-Q4"}),
            );
            a.body["payable"] == json!(true)
        })
        .collect();
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
