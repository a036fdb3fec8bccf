//! The ledger as operators run it: guarded refreshes and rollback, an
//! older export, a change file sent twice, a retry of a reversed claim,
//! and the auditor's trail. One test per finding, each of which failed
//! before its fix.

mod common;

use tepat::register::PersonRecord;
use tepat::snapshot::SnapshotBuilder;
use tepat::store::RefreshGuard;
use tepat::{ClaimRequest, Date, Error, ReasonCode, Registry, Store};

fn records() -> Vec<PersonRecord> {
    common::register(200, 8)
}

fn builder(records: &[PersonRecord], as_of: Date) -> SnapshotBuilder<'static> {
    let mut b =
        SnapshotBuilder::new(Registry::builtin().clone(), common::regions(), as_of).unwrap();
    for r in records {
        b.add(r).unwrap();
    }
    b
}

fn nov(day: u8) -> Date {
    Date::new(2026, 11, day).unwrap()
}

fn death_file(who: &PersonRecord, date: &str) -> String {
    format!(
        "{}\ndeath,{},,,,,,,,,,,,{date}\n",
        tepat::change::HEADER,
        who.nik
    )
}

fn deceased(store: &Store, who: &PersonRecord) -> bool {
    store
        .check_str(&who.nik.to_string(), "PBI_JK", "2026-11")
        .unwrap()
        .reasons
        .contains(ReasonCode::Deceased)
}

fn alive(records: &[PersonRecord], n: usize) -> Vec<&PersonRecord> {
    let unique = |r: &PersonRecord| records.iter().filter(|q| q.nik == r.nik).count() == 1;
    records
        .iter()
        .filter(|r| !r.deceased && unique(r))
        .take(n)
        .collect()
}

/// Finding 1: an export whose every row was rejected switched a serving
/// store to 0 persons, and the previous snapshot was deleted. Now the
/// guards refuse it (nothing switched), and a refresh that goes through
/// can be rolled back.
#[test]
fn a_refresh_that_would_empty_the_store_is_refused_and_one_that_passes_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let who = alive(&records, 3);
    // An export of nobody: every row rejected.
    let report = tepat::snapshot::IngestReport {
        rows: records.len() as u64,
        accepted: 0,
        rejected: records.len() as u64,
    };
    let empty = builder(&[], nov(1));
    let guard = RefreshGuard::default().ingest(report);
    let err = store.refresh_guarded(empty, &guard).unwrap_err();
    assert!(matches!(err, Error::RefreshRefused { .. }), "{err}");
    // Without the ingest report, the person count alone refuses it.
    let err = store.refresh(builder(&[], nov(1))).unwrap_err();
    assert!(err.to_string().contains("persons"), "{err}");
    assert_eq!(store.snapshot().generation(), 1);
    assert!(!deceased(&store, who[0]));

    // An export where one person died: 0.5 % changed, it passes; the diff
    // says so, a dry run first switches nothing.
    let mut next = records.clone();
    let i = next.iter().position(|r| r.nik == who[0].nik).unwrap();
    next[i].deceased = true;
    let dry = store
        .refresh_guarded(
            builder(&next, nov(1)),
            &RefreshGuard::default().dry_run(true),
        )
        .unwrap();
    assert!(!dry.switched);
    assert_eq!(store.snapshot().generation(), 1);
    let change = store.refresh(builder(&next, nov(1))).unwrap();
    assert!(change.switched);
    let diff = change.diff.unwrap();
    assert_eq!(
        (diff.deaths, diff.revived, diff.added, diff.removed),
        (1, 0, 0, 0)
    );
    // The death, and the family's eligibility recomputed around it.
    assert!(diff.changed >= 1, "{diff:?}");
    assert!(deceased(&store, who[0]));
    // Rolled back: generation 1 again, the death undone (it came with the
    // export, not as a change).
    let back = store.rollback().unwrap();
    assert_eq!((back.from, back.to), (2, 1));
    assert_eq!(store.snapshot().generation(), 1);
    assert!(!deceased(&store, who[0]));
    // Nothing more to roll back to; and the store reopens at generation 1.
    assert!(matches!(
        store.rollback(),
        Err(Error::RefreshRefused { .. })
    ));
    drop(store);
    let store = common::open(dir.path());
    assert_eq!(store.snapshot().generation(), 1);
    // The next refresh numbers its generation after both.
    let again = store.refresh(builder(&next, nov(1))).unwrap();
    assert!(again.to >= 2, "{again:?}");
}

/// Finding 2: a refresh with an export older than what was compacted undid
/// deaths already folded in. Now an export older than the latest change
/// applied is refused unless forced — and a change folded by a compaction
/// stays recorded until the generation kept for a rollback holds it too.
#[test]
fn an_export_older_than_the_changes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let who = alive(&records, 2);
    store
        .apply_csv(death_file(who[0], "2026-11-03").as_bytes(), "deaths.csv")
        .unwrap();
    store.compact().unwrap();
    assert!(deceased(&store, who[0]));
    // The register's export of 1 November, from before the death.
    let err = store.refresh(builder(&records, nov(1))).unwrap_err();
    assert!(
        err.to_string().contains("older than the latest change"),
        "{err}"
    );
    assert!(deceased(&store, who[0]));
    // Forced, the old export goes through — and the death, still recorded
    // as a change (the generation kept for a rollback lacks it), is
    // carried over: the dead stay dead.
    let forced = store
        .refresh_guarded(builder(&records, nov(1)), &RefreshGuard::force())
        .unwrap();
    assert!(forced.switched);
    assert!(
        deceased(&store, who[0]),
        "a forced old export brought the dead back"
    );
    // A newer export that has the death passes the guard.
    let mut later = records.clone();
    let i = later.iter().position(|r| r.nik == who[0].nik).unwrap();
    later[i].deceased = true;
    store.refresh(builder(&later, nov(10))).unwrap();
    assert!(deceased(&store, who[0]));
    // Once two generations hold the death it is no longer a change; an old
    // export forced then would undo it, and its diff says so before the
    // switch (a dry run shows it without switching).
    store.compact().unwrap();
    let dry = store
        .refresh_guarded(
            builder(&records, nov(1)),
            &RefreshGuard::force().dry_run(true),
        )
        .unwrap();
    assert_eq!(dry.diff.unwrap().revived, 1);
    assert!(deceased(&store, who[0]));
}

/// Finding 3: re-applying the same change file reported "2688 bad rows".
/// Now it is recognised (by its checksum) as applied before, and nothing
/// changes.
#[test]
fn a_change_file_sent_twice_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let who = alive(&records, 2);
    let file = death_file(who[0], "2026-11-03");
    let first = store.apply_csv(file.as_bytes(), "deaths-nov.csv").unwrap();
    assert_eq!((first.rows, first.before.is_none()), (1, true));
    let audit = store.audit(None, None).unwrap().len();
    let again = store
        .apply_csv(file.as_bytes(), "deaths-again.csv")
        .unwrap();
    assert_eq!(again.rows, 0);
    let before = again.before.unwrap();
    assert_eq!(before.file, "deaths-nov.csv");
    assert_eq!(
        store.audit(None, None).unwrap().len(),
        audit,
        "nothing applied"
    );
    // Also after a restart; and a file that differs by one byte is new
    // (and here refused: the person is already dead).
    drop(store);
    let store = common::open(dir.path());
    assert!(
        store
            .apply_csv(file.as_bytes(), "x.csv")
            .unwrap()
            .before
            .is_some()
    );
    let other = death_file(who[0], "2026-11-04");
    assert!(store.apply_csv(other.as_bytes(), "y.csv").is_err());
}

fn req(id: &str, nik: &str) -> ClaimRequest {
    ClaimRequest {
        request_id: id.into(),
        nik: nik.into(),
        program: "PBI_JK".into(),
        period: "2026-11".into(),
        amount: Some(42_000),
        operator: "counter-7".into(),
        ..Default::default()
    }
}

/// Finding 5: a retry of a reversed claim answered "paid" with nothing
/// saying it was reversed; the payee's audit omitted the reversal.
#[test]
fn a_retry_of_a_reversed_claim_says_so_and_the_audit_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let pbi = Registry::builtin().require("PBI_JK").unwrap();
    let who = records
        .iter()
        .find(|r| r.programs.contains(pbi) && !r.deceased && !r.civil_servant)
        .unwrap();
    let nik = who.nik.to_string();
    assert!(store.claim(&req("pay-1", &nik)).unwrap().paid);
    store.reverse("undo-1", "pay-1", "account closed").unwrap();
    let retry = store.claim(&req("pay-1", &nik)).unwrap();
    assert!(retry.replayed && retry.paid);
    let reversal = retry.reversed.expect("the retry says it was reversed");
    assert_eq!(
        (reversal.request_id.as_str(), reversal.reason.as_str()),
        ("undo-1", "account closed")
    );
    // The payee's trail: the claim and its reversal, with program, period,
    // amount and operator, in the documented JSON form.
    let trail = store.audit(Some(who.nik.get()), None).unwrap();
    let ops: Vec<(&str, &str)> = trail.iter().map(|r| (r.op, r.outcome)).collect();
    assert_eq!(ops, [("claim", "paid"), ("reverse", "reversed")]);
    let line = trail[0].to_json_line();
    for field in [
        format!("\"nik\":\"{nik}\""),
        "\"program\":\"PBI_JK\"".into(),
        "\"period\":\"2026-11\"".into(),
        "\"amount\":42000".into(),
        "\"operator\":\"counter-7\"".into(),
        "\"at\":\"20".into(),
    ] {
        assert!(line.contains(&field), "{field} not in {line}");
    }
    assert!(trail[1].to_json_line().contains("\"reverses\":\"pay-1\""));
    // Filters: by period, and by a time range that excludes everything.
    let mut filter = tepat::store::AuditFilter::default();
    filter.period = Some("2026-10".into());
    let mut n = 0;
    store
        .audit_each(&filter, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 0);
}
