//! `tepat ledger report`: the double payments (who, which points, when,
//! amounts) and the paid / reversed totals, as CSV and JSON.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use common::{TestDb, claim};

fn run(args: &[&str]) -> String {
    let out = std::process::Command::new(common::tepat_bin())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_report_names_both_payments_and_counts_by_group() {
    let Some(db) = TestDb::new() else { return };
    run(&["ledger", "init", "--db", &db.url]);
    let records = stores::register(30, 41);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let nik = {
        let store_a = stores::create_store(&records, a.path());
        let store_b = stores::create_store(&records, b.path());
        let mut paid = records
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                claim(
                    &store_a,
                    &format!("a{i}"),
                    &r.nik.to_string(),
                    "PBI_JK",
                    "2026-11",
                )
            })
            .map(|(i, r)| (i, r.nik.to_string()));
        let (_, nik) = paid.next().expect("a payable person");
        let (j, _) = paid.next().expect("two payable persons");
        assert!(claim(&store_b, "b-dup", &nik, "PBI_JK", "2026-11"));
        store_a.reverse("undo", &format!("a{j}"), "failed").unwrap();
        nik
    };
    for (point, dir) in [("POS-1", a.path()), ("BANK-2", b.path())] {
        let out = run(&[
            "sync",
            "--point",
            point,
            "--db",
            &db.url,
            "--store",
            dir.to_str().unwrap(),
        ]);
        assert!(out.contains(&format!("point {point}:")), "{out}");
    }

    let json: serde_json::Value = serde_json::from_str(&run(&[
        "ledger", "report", "--db", &db.url, "--by", "point", "--format", "json",
    ]))
    .unwrap();
    let doubles = json["double_payments"].as_array().unwrap();
    assert_eq!(doubles.len(), 1, "{json}");
    let d = &doubles[0];
    assert_eq!(
        d["nik"],
        serde_json::Value::String(nik.clone()),
        "NIKs are strings"
    );
    assert_eq!(d["key_kind"], "person");
    assert_eq!(d["first"]["point"], "POS-1");
    assert_eq!(d["again"]["point"], "BANK-2");
    assert_eq!(d["again"]["request_id"], "b-dup");
    assert!(d["again"]["at"].as_str().unwrap().ends_with('Z'));
    let national = &json["national"];
    assert_eq!(national["double_payments"], 1);
    assert_eq!(national["reversed"], 1);
    let bank: Vec<_> = json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["group"] == "BANK-2")
        .collect();
    assert_eq!(bank.len(), 1);
    assert_eq!(
        (
            bank[0]["paid"].as_i64(),
            bank[0]["double_payments"].as_i64()
        ),
        (Some(1), Some(1))
    );

    let csv = run(&[
        "ledger", "report", "--db", &db.url, "--by", "province", "--period", "2026-11",
    ]);
    let (doubles, totals) = csv.split_once("\n\n").unwrap();
    let mut lines = doubles.lines();
    assert_eq!(
        lines.next(),
        Some(tepat_ledger::output::DOUBLE_PAYMENTS_HEADER)
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(&nik) && row.contains("POS-1") && row.contains("BANK-2"),
        "{row}"
    );
    assert_eq!(lines.next(), None);
    let mut lines = totals.lines();
    assert_eq!(lines.next(), Some(tepat_ledger::output::TOTALS_HEADER));
    let rows: Vec<&str> = lines.collect();
    let province = &nik[..2];
    assert!(
        rows.iter().any(|r| r.starts_with(&format!("{province},"))),
        "{totals}"
    );
    assert!(
        rows.last().unwrap().starts_with("00,Indonesia,"),
        "{totals}"
    );
    let regency = run(&[
        "ledger", "report", "--db", &db.url, "--by", "regency", "--format", "json",
    ]);
    let regency: serde_json::Value = serde_json::from_str(&regency).unwrap();
    let groups: Vec<&str> = regency["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["group"].as_str().unwrap())
        .collect();
    assert!(groups.iter().all(|g| g.len() == 4), "{groups:?}");
    assert!(groups.contains(&&nik[..4]), "{groups:?}");
    assert_eq!(regency["national"]["paid"], national["paid"]);
    // Another period: nothing.
    let none = run(&[
        "ledger", "report", "--db", &db.url, "--period", "2026-10", "--format", "json",
    ]);
    let none: serde_json::Value = serde_json::from_str(&none).unwrap();
    assert_eq!(none["national"]["paid"], 0);
    assert!(none["double_payments"].as_array().unwrap().is_empty());
}
