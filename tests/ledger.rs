//! The ledger's rules against real operations, careless operators and
//! damaged files: nobody is ever paid twice, no payout is ever forgotten.
//! One test per finding (docs/ROBUSTNESS.md, "The payout ledger"), each of
//! which paid twice or forgot payouts before its fix.

mod common;

use std::path::Path;

use tepat::register::{PersonRecord, Relation};
use tepat::snapshot::SnapshotBuilder;
use tepat::{ClaimRequest, Date, ProgramSet, ReasonCode, Registry, Store};

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

fn changes_file(rows: &[String]) -> String {
    let mut s = format!("{}\n", tepat::change::HEADER);
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// A change file row moving `who` onto family card `to` (of `head`).
fn move_row(who: &PersonRecord, head: &PersonRecord) -> String {
    format!(
        "move,{},{},child,{:010},,,{},,,,,,2026-11-05",
        who.nik, head.kk, head.village, head.decile
    )
}

fn records() -> Vec<PersonRecord> {
    common::register(300, 5)
}

/// Clean PKH families (alive, no civil servant, no duplicate NIK, all
/// enrolled), at least `size` members each.
fn pkh_families(records: &[PersonRecord], size: usize) -> Vec<Vec<&PersonRecord>> {
    let pkh = Registry::builtin().require("PKH").unwrap();
    let mut by_kk: std::collections::BTreeMap<u64, Vec<&PersonRecord>> = Default::default();
    for r in records {
        by_kk.entry(r.kk.get()).or_default().push(r);
    }
    let dup = |r: &PersonRecord| records.iter().filter(|q| q.nik == r.nik).count() > 1;
    by_kk
        .into_values()
        .filter(|m| {
            m.len() >= size
                && m[0].relation == Relation::Head
                && m.iter()
                    .all(|r| r.programs.contains(pkh) && !r.deceased && !r.civil_servant && !dup(r))
                && pkh_pays(&m[..1])
                && pkh_pays(&m[1..])
        })
        .collect()
}

/// Whether PKH pays these members anything for 2026-Q4 (a member with a
/// component it pays for): the family, and what is left of it when one
/// member moves out, are then payable.
fn pkh_pays(members: &[&PersonRecord]) -> bool {
    let registry = Registry::builtin();
    let pkh = registry.program(registry.require("PKH").unwrap());
    let on = Date::new(2026, 10, 1).unwrap();
    let facts: Vec<_> = members
        .iter()
        .map(|r| tepat::program::PersonFacts {
            decile: r.decile,
            age: r.birth_date.age_on(on),
            recorded: r.components,
            civil_servant: r.civil_servant,
        })
        .collect();
    pkh.entitlement.as_ref().unwrap().amount(&facts) > 0
}

fn paid(store: &Store, id: &str, nik: &PersonRecord, program: &str, period: &str) -> bool {
    store
        .claim(&req(id, &nik.nik.to_string(), program, period))
        .unwrap()
        .paid
}

fn claimed(store: &Store, who: &PersonRecord, program: &str, period: &str) -> bool {
    store
        .check_str(&who.nik.to_string(), program, period)
        .unwrap()
        .reasons
        .contains(ReasonCode::AlreadyClaimed)
}

/// Finding 1: X of family A is paid PKH; X moves to family B; B is paid
/// through its head Z and that claim is reversed. X must stay covered by
/// A's claim: before the fix, B's reversal freed X's key and X was paid
/// again.
#[test]
fn a_reversal_of_another_familys_claim_leaves_a_mover_covered() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let families = pkh_families(&records, 2);
    let (a, b) = (&families[0], &families[1]);
    let (x, z) = (a[1], b[0]);
    assert!(paid(&store, "RA", x, "PKH", "2026-Q4"));
    let moved = changes_file(&[move_row(x, z)]);
    store.apply_csv(moved.as_bytes(), "move.csv").unwrap();
    assert!(claimed(&store, x, "PKH", "2026-Q4"), "the mover is covered");
    assert!(
        paid(&store, "RB", z, "PKH", "2026-Q4"),
        "family B is another family"
    );
    store.reverse("RB-rev", "RB", "transfer failed").unwrap();
    let v = store
        .check_str(&x.nik.to_string(), "PKH", "2026-Q4")
        .unwrap();
    assert!(!v.payable, "X payable again after B's reversal: {v:?}");
    assert_eq!(v.claimed.unwrap().request_id, "RA");
    assert!(!paid(&store, "RX", x, "PKH", "2026-Q4"), "X paid twice");
    // The same after a restart (the index is rebuilt from the log).
    drop(store);
    let store = common::open(dir.path());
    assert!(claimed(&store, x, "PKH", "2026-Q4"));
    // The audit of X names the reversal of B's claim under B's payee, and
    // only one payment of X.
    let audit = store.audit(Some(x.nik.get()), None).unwrap();
    let paid_x = audit.iter().filter(|e| e.outcome == "paid").count();
    assert_eq!(paid_x, 1, "{audit:?}");
    // And the other way round: reversing A's claim leaves X covered by B's
    // (a new claim of B).
    assert!(paid(&store, "RB2", z, "PKH", "2026-Q4"));
    store.reverse("RA-rev", "RA", "transfer failed").unwrap();
    assert!(claimed(&store, x, "PKH", "2026-Q4"));
}

/// The registry file of the built-in programs with `edit` applied to its
/// `[[program]]` blocks (in file order: PKH, SEMBAKO, PBI_JK, ...).
fn registry_with(edit: impl FnOnce(&mut Vec<String>)) -> Registry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/programs.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut parts: Vec<String> = text.split("[[program]]").map(str::to_owned).collect();
    let head = parts.remove(0);
    edit(&mut parts);
    let text = format!("{head}[[program]]{}", parts.join("[[program]]"));
    Registry::from_toml_str(&text, None).unwrap()
}

/// A refresh of `store` with the same `records` under `registry`
/// (enrolments carried over by program code).
fn refresh(store: &Store, records: &[PersonRecord], registry: &Registry) -> tepat::Result<()> {
    let builtin = Registry::builtin();
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b = SnapshotBuilder::new(registry.clone(), common::regions(), as_of).unwrap();
    for r in records {
        let mut r = r.clone();
        let mut set = ProgramSet::EMPTY;
        for code in builtin.format_set(r.programs).split('|') {
            if let Some(id) = registry.by_code(code) {
                set.insert(id);
            }
        }
        r.programs = set;
        b.add(&r).unwrap();
    }
    store
        .refresh_guarded(b, &tepat::store::RefreshGuard::force())
        .map(|_| ())
}

/// Finding 2: claims were keyed by a program's position in the registry.
/// A refresh whose registry swaps PKH and SEMBAKO re-labelled every claim.
#[test]
fn claims_keep_their_program_through_a_reordered_registry() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let families = pkh_families(&records, 2);
    let (paid_one, other) = (families[0][0], families[1][0]);
    assert!(paid(&store, "pkh-1", paid_one, "PKH", "2026-Q4"));
    let swapped = registry_with(|p| p.swap(0, 1));
    assert_eq!(swapped.programs()[0].code, "SEMBAKO");
    refresh(&store, &records, &swapped).unwrap();
    assert!(
        claimed(&store, paid_one, "PKH", "2026-Q4"),
        "the paid family is payable again"
    );
    assert!(
        !claimed(&store, paid_one, "SEMBAKO", "2026-Q4"),
        "never paid SEMBAKO"
    );
    assert!(
        !claimed(&store, other, "PKH", "2026-Q4"),
        "a never-paid family is refused"
    );
    assert!(!paid(&store, "pkh-2", paid_one, "PKH", "2026-Q4"));
    // A program inserted first: still by code.
    let inserted = registry_with(|p| {
        let mut extra = p[2].replace("code = \"PBI_JK\"", "code = \"NEW_ONE\"");
        extra = extra.replace("Penerima Bantuan", "A new program");
        p.insert(0, extra);
    });
    refresh(&store, &records, &inserted).unwrap();
    assert!(claimed(&store, paid_one, "PKH", "2026-Q4"));
    drop(store);
    assert!(claimed(
        &common::open(dir.path()),
        paid_one,
        "PKH",
        "2026-Q4"
    ));
}

/// Finding 2, the siblings: a registry that drops, renames, or changes the
/// unit or the period of a program with claims is refused, naming it, and
/// the store is as it was.
#[test]
fn a_registry_that_rekeys_a_claimed_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let family = &pkh_families(&records, 2)[0];
    assert!(paid(&store, "pkh-1", family[0], "PKH", "2026-Q4"));
    let changes: Vec<(&str, Registry)> = vec![
        (
            "renamed",
            registry_with(|p| {
                for part in p.iter_mut() {
                    *part = part.replace("\"PKH\"", "\"PKH2\"");
                }
            }),
        ),
        (
            "per person",
            registry_with(|p| p[0] = p[0].replace("unit = \"family\"", "unit = \"person\"")),
        ),
        (
            "per month",
            registry_with(|p| p[0] = p[0].replace("period = \"quarter\"", "period = \"month\"")),
        ),
    ];
    for (what, registry) in changes {
        let before = store.snapshot().generation();
        let err = refresh(&store, &records, &registry).map(|_| ());
        let message = err.expect_err(what).to_string();
        assert!(message.contains("PKH"), "{what}: {message}");
        assert_eq!(store.snapshot().generation(), before, "{what}: switched");
        assert!(claimed(&store, family[1], "PKH", "2026-Q4"), "{what}");
    }
}

/// Finding 3: a policy that makes an always-blocking reason a warning is
/// refused, naming the line.
#[test]
fn a_policy_cannot_make_a_blocking_reason_a_warning() {
    let base =
        "[[program]]\ncode = \"PKH\"\nname = \"x\"\nunit = \"family\"\nperiod = \"quarter\"\n";
    for code in tepat::program::ALWAYS_BLOCKING {
        let text = format!("[policy]\nwarn = [\"not_eligible\",\n  \"{code}\"]\n{base}");
        let err = Registry::from_toml_str(&text, None).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 3"), "{code}: {message}");
        assert!(message.contains("always blocks"), "{code}: {message}");
    }
    let ok = format!("[policy]\nwarn = [\"not_eligible\", \"civil_servant\"]\n{base}");
    assert!(Registry::from_toml_str(&ok, None).is_ok());
}

/// Finding 4: any period from 1000 to 9999 was payable. Only the program's
/// window around the store's date is.
#[test]
fn only_open_periods_are_payable() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let head = pkh_families(&records, 2)[0][0];
    for (i, period) in ["2027-Q1", "2099-Q1", "9999-Q4", "1000-Q1", "2026-Q2"]
        .iter()
        .enumerate()
    {
        let out = store
            .claim(&req(
                &format!("far-{i}"),
                &head.nik.to_string(),
                "PKH",
                period,
            ))
            .unwrap();
        assert!(!out.paid, "{period} paid");
        assert!(
            out.verdict.reasons.contains(ReasonCode::PeriodNotOpen),
            "{period}"
        );
    }
    assert!(paid(&store, "now", head, "PKH", "2026-Q4"));
    assert!(paid(&store, "late", head, "PKH", "2026-Q3"));
    // A registry's own window: two quarters back, one ahead.
    let wide = registry_with(|p| {
        p[0] = p[0].replace(
            "unit = \"family\"",
            "unit = \"family\"\nwindow = { before = 2, after = 1 }",
        )
    });
    refresh(&store, &records, &wide).unwrap();
    assert!(paid(&store, "next", head, "PKH", "2027-Q1"));
    assert!(paid(&store, "older", head, "PKH", "2026-Q2"));
    let out = store
        .claim(&req("too-old", &head.nik.to_string(), "PKH", "2026-Q1"))
        .unwrap();
    assert!(out.verdict.reasons.contains(ReasonCode::PeriodNotOpen));
    // A bad window is refused, naming the field.
    let text = "[[program]]\ncode = \"PKH\"\nname = \"x\"\nunit = \"family\"\nperiod = \"quarter\"\nwindow = { before = -1 }\n";
    let err = Registry::from_toml_str(text, None).unwrap_err().to_string();
    assert!(err.contains("window"), "{err}");
}

/// Finding 5: two stores sharing one claims log (a `cp -al` copy) claimed
/// at once and lost acknowledged claims. The log is locked.
#[test]
fn a_hard_linked_copy_cannot_be_opened_beside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let original = dir.path().join("store");
    let store = common::create_store(&records, &original);
    let copy = dir.path().join("copy");
    let status = std::process::Command::new("cp")
        .arg("-al")
        .arg(&original)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let err = Store::open_with(&copy, common::options())
        .err()
        .expect("the copy opened beside the store")
        .to_string();
    assert!(err.contains("locked"), "{err}");
    drop(store);
}

fn claim_some(store: &Store, records: &[PersonRecord], n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, f) in pkh_families(records, 1).iter().take(n).enumerate() {
        let id = format!("pay-{i}");
        assert!(paid(store, &id, f[0], "PKH", "2026-Q4"));
        ids.push(id);
    }
    ids
}

/// Pays `n` more families (request ids `more-*`).
fn claim_some_more(store: &Store, records: &[PersonRecord], n: usize) {
    for (i, f) in pkh_families(records, 1).iter().skip(10).take(n).enumerate() {
        assert!(paid(store, &format!("more-{i}"), f[0], "PKH", "2026-Q4"));
    }
}

fn open_err(dir: &Path) -> String {
    match Store::open_with(dir, common::options()) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e.to_string(),
    }
}

/// Finding 6: an empty `claims.log` was taken for a new store and every
/// payout forgotten.
#[test]
fn an_emptied_claims_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    claim_some(&store, &records, 3);
    drop(store);
    std::fs::write(dir.path().join("claims.log"), b"").unwrap();
    let err = open_err(dir.path());
    assert!(err.contains("claims.log") && err.contains("empty"), "{err}");
}

/// Finding 7: damage at the end of the log was taken for a torn write and
/// cut off silently. Now only a record cut short is dropped, its bytes kept
/// aside; a flipped bit in the last record or a zeroed tail is refused.
#[test]
fn damage_at_the_end_of_the_log_is_refused_and_a_torn_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let ids = claim_some(&store, &records, 12);
    drop(store);
    let log = dir.path().join("claims.log");
    let full = std::fs::read(&log).unwrap();
    // One bit flipped in the last record.
    let mut flipped = full.clone();
    let at = full.len() - 3;
    flipped[at] ^= 1;
    std::fs::write(&log, &flipped).unwrap();
    let err = open_err(dir.path());
    assert!(err.contains("damaged") && err.contains("byte"), "{err}");
    assert_eq!(std::fs::read(&log).unwrap(), flipped, "the log was changed");
    // The last 4 KiB zeroed (a zeroed page).
    let mut zeroed = full.clone();
    let from = zeroed.len().saturating_sub(4096).max(32);
    zeroed[from..].fill(0);
    std::fs::write(&log, &zeroed).unwrap();
    assert!(open_err(dir.path()).contains("damaged"));
    // An acknowledged record cut short: the store recorded the log's
    // length (the witness), so this is a cut copy, not an unfinished write.
    std::fs::write(&log, &full[..full.len() - 5]).unwrap();
    assert!(open_err(dir.path()).contains("payouts are missing"));
    // A record cut short after the last acknowledged one: an unfinished
    // write (the process died in it), dropped and kept aside.
    let last_start = full.len() - record_len(&full);
    let mut torn = full.clone();
    torn.extend_from_slice(&full[last_start..full.len() - 9]);
    std::fs::write(&log, &torn).unwrap();
    let store = common::open(dir.path());
    assert_eq!(store.torn_claim_bytes(), (torn.len() - full.len()) as u64);
    let kept = store.torn_claims_kept().unwrap().to_path_buf();
    assert_eq!(std::fs::read(&kept).unwrap(), &torn[full.len()..]);
    for id in &ids {
        assert!(store.request(id).unwrap().is_some(), "{id} lost");
    }
}

/// The length of the last record of a claims log (walking its records'
/// length fields from the first).
fn record_len(log: &[u8]) -> usize {
    let mut at = 32;
    let mut last = 0;
    while at < log.len() {
        let len = u32::from_le_bytes(log[at + 4..at + 8].try_into().unwrap()) as usize;
        last = 16 + len;
        at += last;
    }
    last
}

/// A copy of the store's directory, part by part, for the swap tests.
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn replace_part(dir: &Path, part: &str, with: &Path) {
    let target = dir.join(part);
    if target.is_dir() {
        std::fs::remove_dir_all(&target).unwrap();
    } else {
        std::fs::remove_file(&target).unwrap();
    }
    copy_dir(&with.join(part), &target);
}

fn death_of(store: &Store, who: &PersonRecord) {
    let file = changes_file(&[format!("death,{},,,,,,,,,,,,2026-11-03", who.nik)]);
    store.apply_csv(file.as_bytes(), "deaths.csv").unwrap();
}

/// Finding 8: a foreign, emptied or older `live/`, snapshot or claims log
/// was served without a word.
#[test]
fn foreign_emptied_and_older_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store_dir = dir.path().join("store");
    let store = common::create_store(&records, &store_dir);
    let families = pkh_families(&records, 2);
    claim_some(&store, &records, 2);
    drop(store);
    // Copies of the store's parts as they are now.
    let before = dir.path().join("before");
    copy_dir(&store_dir, &before);
    let store = common::open(&store_dir);
    claim_some_more(&store, &records, 5);
    // A change file applied: live/ and CURRENT record how long the claims
    // log is now (payouts after this checkpoint are not covered by it:
    // docs/ROBUSTNESS.md).
    death_of(&store, families[0][1]);
    drop(store);
    // Another store of the same register, built on another date.
    let other_dir = dir.path().join("other");
    let as_of = Date::new(2026, 10, 1).unwrap();
    let mut b =
        SnapshotBuilder::new(Registry::builtin().clone(), common::regions(), as_of).unwrap();
    for r in &records {
        b.add(r).unwrap();
    }
    drop(Store::create(&other_dir, b, common::options()).unwrap());

    let cases: Vec<(&str, &Path, &str, &str)> = vec![
        (
            "live",
            &other_dir,
            "another store's live/",
            "another store's live state",
        ),
        (
            "live",
            &before,
            "an older copy of live/",
            "live/ is an older copy",
        ),
        (
            "claims.log",
            &other_dir,
            "another store's claims log",
            "belongs to store",
        ),
        (
            "claims.log",
            &before,
            "an older copy of the claims log",
            "payouts are missing",
        ),
        (
            "snapshot-000001.tepat",
            &other_dir,
            "another store's snapshot",
            "not the file CURRENT names",
        ),
        (
            "snapshot-000001.tepat",
            &before,
            "the same snapshot (a copy)",
            "",
        ),
    ];
    for (part, from, what, expected) in cases {
        let trial = dir.path().join(format!("trial-{}", what.replace(' ', "-")));
        copy_dir(&store_dir, &trial);
        replace_part(&trial, part, from);
        if expected.is_empty() {
            // A byte-identical copy of the right file is the right file.
            drop(common::open(&trial));
            continue;
        }
        let err = open_err(&trial);
        assert!(err.contains(expected), "{what}: {err}");
    }
    // An emptied live/ (the directory kept).
    let trial = dir.path().join("trial-emptied");
    copy_dir(&store_dir, &trial);
    for e in std::fs::read_dir(trial.join("live")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    let err = open_err(&trial);
    assert!(err.contains("live/ is empty"), "{err}");
    // The store itself still opens and the dead person is dead.
    let store = common::open(&store_dir);
    let v = store
        .check_str(&families[0][1].nik.to_string(), "PKH", "2026-Q4")
        .unwrap();
    assert!(v.reasons.contains(ReasonCode::Deceased));
}

/// Finding 10: `verify` checks the whole store, not the snapshot alone.
#[test]
fn verify_reads_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store = common::create_store(&records, dir.path());
    let ids = claim_some(&store, &records, 4);
    store.reverse("undo", &ids[0], "test").unwrap();
    death_of(&store, pkh_families(&records, 2)[3][1]);
    let check = store.verify().unwrap();
    assert_eq!(check.claims_records, 5);
    assert!(check.live_records >= 3, "{check:?}");
    assert_eq!(check.snapshot_bytes, store.snapshot().byte_len());
}

/// Finding 12: a FIFO in place of the snapshot, `CURRENT` or the claims log
/// hung every command. Only regular files are opened.
#[test]
fn a_fifo_in_place_of_a_file_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let store_dir = dir.path().join("store");
    drop(common::create_store(&records, &store_dir));
    for part in ["CURRENT", "snapshot-000001.tepat", "claims.log"] {
        let trial = dir.path().join(format!("trial-{part}"));
        copy_dir(&store_dir, &trial);
        let path = trial.join(part);
        std::fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let t = trial.clone();
        std::thread::spawn(move || {
            let _ = tx.send(
                Store::open_with(&t, common::options())
                    .err()
                    .map(|e| e.to_string()),
            );
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("open hangs on a FIFO as {part}"));
        let err = got.unwrap_or_else(|| panic!("a FIFO as {part} opened"));
        assert!(err.contains("not a regular file"), "{part}: {err}");
    }
    // A directory in place of the claims log.
    let trial = dir.path().join("trial-dir");
    copy_dir(&store_dir, &trial);
    std::fs::remove_file(trial.join("claims.log")).unwrap();
    std::fs::create_dir(trial.join("claims.log")).unwrap();
    assert!(open_err(&trial).contains("directory"));
}

/// Finding 3, the sibling: a registry read back from bytes (a snapshot's
/// header) is checked as a registry file is. A crafted registry section
/// whose policy lets `already_claimed` warn does not decode.
#[test]
fn a_registry_decoded_from_bytes_cannot_carry_a_bad_policy() {
    #[derive(serde::Serialize)]
    struct Parts<'a> {
        programs: &'a [tepat::Program],
        policy: tepat::program::Policy,
    }
    let registry = Registry::builtin();
    let good = postcard::to_allocvec(registry).unwrap();
    assert_eq!(&postcard::from_bytes::<Registry>(&good).unwrap(), registry);
    let bad = postcard::to_allocvec(&Parts {
        programs: registry.programs(),
        policy: tepat::program::Policy {
            warn: vec!["already_claimed".into()],
        },
    })
    .unwrap();
    let err = postcard::from_bytes::<Registry>(&bad)
        .unwrap_err()
        .to_string();
    assert!(!err.is_empty());
}
