//! The store's payout operations against the snapshot's own facts:
//! verdicts, atomic and idempotent claims, reversals, changes, restarts.

mod common;

use std::path::Path;

use tepat::register::{PersonRecord, Relation};
use tepat::{ClaimRequest, Date, Error, ReasonCode, Registry, Store};

/// A store built from the common fixture in a fresh directory.
pub fn store_with(records: &[PersonRecord], dir: &Path) -> Store {
    common::create_store(records, dir)
}

fn req(id: &str, nik: &str, program: &str, period: &str) -> ClaimRequest {
    ClaimRequest {
        request_id: id.into(),
        nik: nik.into(),
        program: program.into(),
        period: period.into(),
        meta: "post office 40111".into(),
        ..Default::default()
    }
}

fn fixture() -> Vec<PersonRecord> {
    common::register(300, 5)
}

/// A clean PKH family: alive, no civil servant, no duplicate, enrolled.
fn pkh_family(records: &[PersonRecord]) -> Vec<&PersonRecord> {
    let registry = Registry::builtin();
    let pkh = registry.require("PKH").unwrap();
    let mut by_kk: std::collections::BTreeMap<u64, Vec<&PersonRecord>> = Default::default();
    for r in records {
        by_kk.entry(r.kk.get()).or_default().push(r);
    }
    let dup = |r: &PersonRecord| records.iter().filter(|q| q.nik == r.nik).count() > 1;
    by_kk
        .into_values()
        .find(|m| {
            m.len() >= 3
                && m.iter()
                    .all(|r| r.programs.contains(pkh) && !r.deceased && !r.civil_servant && !dup(r))
        })
        .expect("the fixture has a clean PKH family")
}

#[test]
fn verdicts_name_every_reason() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let nik = family[0].nik.to_string();
    let v = store.check_str(&nik, "PKH", "2026-Q4").unwrap();
    assert!(v.payable, "{v:?}");
    let v = store.check_str(&nik, "PKH", "2026-11").unwrap();
    assert!(!v.payable && v.reasons.contains(ReasonCode::WrongPeriodKind));
    let v = store.check_str(&nik, "YAPI", "2026-11").unwrap();
    assert!(!v.payable && v.reasons.contains(ReasonCode::NotEnrolled));
    let v = store.check_str("12345", "PKH", "2026-Q4").unwrap();
    assert!(v.reasons.contains(ReasonCode::InvalidNik) && !v.payable);
    let v = store
        .check_str("3201015708900001", "PKH", "2026-Q4")
        .unwrap();
    assert!(v.reasons.contains(ReasonCode::UnknownNik) && !v.payable);
    assert!(matches!(
        store.check_str(&nik, "NOPE", "2026-Q4"),
        Err(Error::UnknownProgram { .. })
    ));
    assert!(store.check_str(&nik, "PKH", "2026-Q9").is_err());

    // Deceased persons still enrolled are refused.
    let registry = Registry::builtin();
    if let Some(dead) = records
        .iter()
        .find(|r| r.deceased && r.programs.contains(registry.require("PKH").unwrap()))
    {
        let v = store
            .check_str(&dead.nik.to_string(), "PKH", "2026-Q4")
            .unwrap();
        assert!(v.reasons.contains(ReasonCode::Deceased) && !v.payable);
    }
}

#[test]
fn a_family_is_paid_once_and_retries_replay() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let (a, b) = (family[0].nik.to_string(), family[1].nik.to_string());

    let first = store.claim(&req("r-1", &a, "PKH", "2026-Q4")).unwrap();
    assert!(first.paid && !first.replayed);
    // Another member of the same family: already claimed, by r-1.
    let second = store.claim(&req("r-2", &b, "PKH", "2026-Q4")).unwrap();
    assert!(!second.paid);
    assert!(second.verdict.reasons.contains(ReasonCode::AlreadyClaimed));
    assert_eq!(second.verdict.claimed.as_ref().unwrap().request_id, "r-1");
    // A retry of r-1 returns the first outcome.
    let retry = store.claim(&req("r-1", &a, "PKH", "2026-Q4")).unwrap();
    assert!(retry.paid && retry.replayed);
    // The same id with other content is refused, and records nothing.
    let err = store.claim(&req("r-1", &b, "PKH", "2026-Q4")).unwrap_err();
    assert!(matches!(err, Error::RequestConflict { .. }), "{err}");
    // Another period is another payment.
    assert!(store.claim(&req("r-3", &b, "PKH", "2026-Q3")).unwrap().paid);
    // check agrees.
    assert!(
        store
            .check_str(&b, "PKH", "2026-Q4")
            .unwrap()
            .reasons
            .contains(ReasonCode::AlreadyClaimed)
    );

    // After a restart: the claims, the replay and the bitmaps are back.
    drop(store);
    let store = common::open(dir.path());
    assert!(
        store
            .claim(&req("r-1", &a, "PKH", "2026-Q4"))
            .unwrap()
            .replayed
    );
    assert!(
        store
            .check_str(&b, "PKH", "2026-Q4")
            .unwrap()
            .reasons
            .contains(ReasonCode::AlreadyClaimed)
    );
    let audit = store.audit(None, Some("r-1")).unwrap();
    assert_eq!(audit.len(), 1, "one write, one audit entry: {audit:?}");
    assert_eq!(audit[0].outcome, "paid");
}

#[test]
fn many_threads_claiming_one_family_pay_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let niks: Vec<String> = family.iter().map(|r| r.nik.to_string()).collect();
    let paid = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (store, niks, paid) = (&store, &niks, &paid);
            s.spawn(move || {
                for i in 0..20 {
                    let nik = &niks[(t + i) % niks.len()];
                    let out = store
                        .claim(&req(&format!("t{t}-{i}"), nik, "PKH", "2026-Q4"))
                        .unwrap();
                    if out.paid {
                        paid.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(paid.into_inner(), 1);
    // 160 durable requests; group commit shares flushes among them.
    assert!(store.flushes() <= 160);
}

#[test]
fn reversal_reopens_the_period_once() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let a = family[0].nik.to_string();
    assert!(
        store
            .claim(&req("pay-1", &a, "PKH", "2026-Q4"))
            .unwrap()
            .paid
    );
    let rev = store.reverse("rev-1", "pay-1", "account closed").unwrap();
    assert!(!rev.replayed);
    assert!(
        store
            .reverse("rev-1", "pay-1", "account closed")
            .unwrap()
            .replayed
    );
    assert!(
        store.reverse("rev-2", "pay-1", "again").is_err(),
        "a claim is reversed once"
    );
    assert!(store.reverse("rev-3", "no-such", "x").is_err());
    assert!(store.check_str(&a, "PKH", "2026-Q4").unwrap().payable);
    assert!(
        store
            .claim(&req("pay-2", &a, "PKH", "2026-Q4"))
            .unwrap()
            .paid
    );
    let audit = store.audit(None, None).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.op == "reverse" && e.request_id.as_deref() == Some("rev-1"))
    );
    // Reopen: the new claim holds, the reversed one does not.
    drop(store);
    let store = common::open(dir.path());
    let v = store.check_str(&a, "PKH", "2026-Q4").unwrap();
    assert_eq!(v.claimed.unwrap().request_id, "pay-2");
}

fn changes_file(rows: &[String]) -> String {
    let mut s = String::from(tepat::change::HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn a_mover_is_not_paid_twice_and_changes_apply_whole() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let mover = family[0];
    // A second clean PKH family to move into.
    let pkh = Registry::builtin().require("PKH").unwrap();
    let target = records
        .iter()
        .find(|r| {
            r.kk != mover.kk
                && r.relation == Relation::Head
                && r.programs.contains(pkh)
                && !r.deceased
                && !r.civil_servant
        })
        .unwrap();
    assert!(
        store
            .claim(&req("a-1", &mover.nik.to_string(), "PKH", "2026-Q4"))
            .unwrap()
            .paid
    );

    // A bad file changes nothing.
    let bad = changes_file(&[
        format!("death,{},,,,,,,,,,,,2026-11-03", family[1].nik),
        "death,123,,,,,,,,,,,,2026-11-03".into(),
    ]);
    let err = store
        .apply_csv(bad.as_bytes(), "changes.csv")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 3") && err.contains("nothing applied"),
        "{err}"
    );
    assert!(
        !store
            .check_str(&family[1].nik.to_string(), "PKH", "2026-Q4")
            .unwrap()
            .reasons
            .contains(ReasonCode::Deceased)
    );

    let good = changes_file(&[
        format!(
            "move,{},{},child,{:010},,,{},,,,,,2026-11-05",
            mover.nik, target.kk, target.village, target.decile
        ),
        format!("death,{},,,,,,,,,,,,2026-11-03", family[1].nik),
    ]);
    assert_eq!(
        store
            .apply_csv(good.as_bytes(), "changes.csv")
            .unwrap()
            .rows,
        2
    );
    let v = store
        .check_str(&family[1].nik.to_string(), "PKH", "2026-Q4")
        .unwrap();
    assert!(v.reasons.contains(ReasonCode::Deceased));
    // The mover was covered by their old family's payment: refused.
    let out = store
        .claim(&req("b-1", &mover.nik.to_string(), "PKH", "2026-Q4"))
        .unwrap();
    assert!(
        !out.paid && out.verdict.reasons.contains(ReasonCode::AlreadyClaimed),
        "{out:?}"
    );
    // The new family can still be paid through its own head.
    assert!(
        store
            .claim(&req("b-2", &target.nik.to_string(), "PKH", "2026-Q4"))
            .unwrap()
            .paid
    );
    // Changes survive a restart.
    drop(store);
    let store = common::open(dir.path());
    assert!(
        store
            .check_str(&family[1].nik.to_string(), "PKH", "2026-Q4")
            .unwrap()
            .reasons
            .contains(ReasonCode::Deceased)
    );
    assert_eq!(
        store.audit(Some(family[1].nik.get()), None).unwrap().len(),
        1
    );
}

#[test]
fn births_enrolments_and_deciles() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let family = pkh_family(&records);
    let head = family[0];
    let baby = tepat::Nik::from_parts(
        (head.village / 10_000) as u32,
        tepat::Sex::Female,
        Date::new(2026, 11, 2).unwrap(),
        77,
    )
    .unwrap();
    let rows = [
        format!(
            "birth,{baby},{},child,{:010},F,2026-11-02,{},0,0,,PKH|SEMBAKO,,2026-11-02",
            head.kk, head.village, head.decile
        ),
        format!("enrol,{baby},,,,,,,,,,,PBI_JK,2026-11-04"),
        format!("decile,,{},,,,,9,,,,,,2026-11-08", head.kk),
    ];
    store
        .apply_csv(changes_file(&rows).as_bytes(), "changes.csv")
        .unwrap();
    let v = store
        .check_str(&baby.to_string(), "PBI_JK", "2026-11")
        .unwrap();
    // Enrolled, but decile 9 is not eligible for PBI-JK: a warning only.
    assert!(
        v.payable && v.reasons.contains(ReasonCode::NotEligible),
        "{v:?}"
    );
    let v = store
        .check_str(&head.nik.to_string(), "PKH", "2026-Q4")
        .unwrap();
    assert!(v.reasons.contains(ReasonCode::NotEligible), "{v:?}");
    // A second birth of the same NIK is refused with the line.
    let err = store
        .apply_csv(changes_file(&rows[..1]).as_bytes(), "changes.csv")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("already in the register"),
        "{err}"
    );
}

#[test]
fn bad_input_is_an_error_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let nik = pkh_family(&records)[0].nik.to_string();
    let before = store.audit(None, None).unwrap().len();
    for bad in [
        req("", &nik, "PKH", "2026-Q4"),
        req(&"x".repeat(200), &nik, "PKH", "2026-Q4"),
        req("bad\nid", &nik, "PKH", "2026-Q4"),
        req("u-1", &nik, "NOPE", "2026-Q4"),
        req("u-2", &nik, "PKH", "2026-Q5"),
        req("u-3", &nik, "PKH", "Q4-2026"),
    ] {
        let err = store.claim(&bad).unwrap_err();
        assert!(!err.to_string().is_empty());
        assert!(
            store.request(&bad.request_id).unwrap().is_none(),
            "{bad:?} was recorded"
        );
    }
    assert!(store.reverse("v-1", "never-paid", "x").is_err());
    assert!(store.request("v-1").unwrap().is_none());
    let bad_changes = [
        "kind,nik\n".to_owned(),
        format!(
            "{}\nenrol,{nik},,,,,,,,,,,NOPE,2026-11-01\n",
            tepat::change::HEADER
        ),
        format!(
            "{}\ndecile,,3201011503150001,,,,,4,,,,,,2026-11-01\n",
            tepat::change::HEADER
        ),
    ];
    for file in bad_changes {
        assert!(
            store.apply_csv(file.as_bytes(), "changes.csv").is_err(),
            "{file}"
        );
    }
    assert_eq!(
        store.audit(None, None).unwrap().len(),
        before,
        "bad input left audit entries"
    );
    // An invalid NIK is a refused request, recorded so a retry gets the
    // same answer.
    let out = store.claim(&req("n-1", "12345", "PKH", "2026-Q4")).unwrap();
    assert!(!out.paid && out.verdict.reasons.contains(ReasonCode::InvalidNik));
    assert!(
        store
            .claim(&req("n-1", "12345", "PKH", "2026-Q4"))
            .unwrap()
            .replayed
    );
}

/// The claims log after a crash: an unfinished last record is cut off and
/// every complete one survives; damage before a good record is refused,
/// never silently dropped.
#[test]
fn the_claims_log_survives_a_torn_tail_and_refuses_damage() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let family = pkh_family(&records);
    let log = dir.path().join(tepat::store::CLAIMS_LOG);
    {
        let store = store_with(&records, dir.path());
        for (i, p) in family.iter().enumerate() {
            let out = store
                .claim(&req(
                    &format!("t-{i}"),
                    &p.nik.to_string(),
                    "PBI_JK",
                    "2026-11",
                ))
                .unwrap();
            assert!(!out.replayed);
        }
    }
    let full = std::fs::read(&log).unwrap();
    // A torn last record — a write the process died in, after every
    // acknowledged one (here: the first record's bytes, cut short) —
    // opens at every cut, with every acknowledged claim kept.
    let last = family.len() - 1;
    let first_record = 16 + u32::from_le_bytes(full[36..40].try_into().unwrap()) as usize;
    for cut in [1usize, 7, 16, 40] {
        let mut torn = full.clone();
        torn.extend_from_slice(&full[32..32 + first_record - cut]);
        std::fs::write(&log, &torn).unwrap();
        let store = common::open(dir.path());
        assert_eq!(
            store.torn_claim_bytes(),
            (first_record - cut) as u64,
            "cut {cut}"
        );
        for i in 0..=last {
            assert!(
                store.request(&format!("t-{i}")).unwrap().is_some(),
                "cut {cut}: t-{i} lost"
            );
        }
        drop(store);
    }
    // An acknowledged record cut short is not an unfinished write: the
    // store recorded the log's length, and refuses the cut file.
    std::fs::write(&log, &full[..full.len() - 7]).unwrap();
    let err = Store::open(dir.path()).err().expect("a cut log is refused");
    assert!(err.to_string().contains("payouts are missing"), "{err}");
    // A flipped byte in the first record, with good records after it.
    let mut bad = full.clone();
    bad[40] ^= 0x20;
    std::fs::write(&log, &bad).unwrap();
    let err = Store::open(dir.path())
        .err()
        .expect("damage is refused")
        .to_string();
    assert!(
        err.contains("claims log") && err.contains("damaged"),
        "{err}"
    );
    // Restored, it opens with every claim.
    std::fs::write(&log, &full).unwrap();
    let store = common::open(dir.path());
    assert_eq!(store.torn_claim_bytes(), 0);
    assert!(store.request(&format!("t-{last}")).unwrap().is_some());
}

/// A payee row that is not UTF-8 is one bad row with its line number, not
/// the end of the list.
#[test]
fn a_payee_row_that_is_not_utf8_is_one_invalid_row() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture();
    let store = store_with(&records, dir.path());
    let nik = records[0].nik.to_string();
    let mut input = b"nik,program,period,note\n".to_vec();
    input.extend_from_slice(format!("{nik},PKH,2026-Q4,a\n").as_bytes());
    input.extend_from_slice(format!("{nik},PKH,2026-Q4,").as_bytes());
    input.extend_from_slice(b"\xff\xfe\n");
    input.extend_from_slice(format!("{nik},PBI_JK,2026-11,c\n").as_bytes());
    let mut out = Vec::new();
    let summary = tepat::batch::verify_csv(
        &store,
        &input[..],
        "payees.csv",
        &mut out,
        tepat::batch::OutputFormat::Csv,
        |_| {},
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[2].starts_with("3,") && lines[2].contains("invalid_row"),
        "{text}"
    );
    assert!(lines[2].contains("not valid UTF-8"), "{text}");
    assert!(
        !lines[1].contains("invalid_row") && !lines[3].contains("invalid_row"),
        "{text}"
    );
    assert_eq!(summary.rows, 3);
}
