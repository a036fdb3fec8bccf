//! A change file too large for one sled batch goes through a journal
//! (`STORE/changes.journal`): the tests stop `tepat apply` at each step of
//! it (the `fault-injection` hook) and kill it with SIGKILL at random
//! moments, and check that the next open shows the whole file or none of
//! it — never a part — and that a foreign or damaged journal is refused.

mod binary;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use binary::{build, copy_dir, ok, tepat};
use tepat::Store;
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 30_000;
/// Rows of the large file: with their audit entries, well over one batch.
const ROWS: usize = 12_000;

/// A built store and a change file of `ROWS` rows: enrolments of distinct
/// persons and deaths, so that every row changes someone.
fn base(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let config = Config {
        persons: PERSONS,
        seed: 11,
        threads: 1,
        ..Config::default()
    };
    output::write_all(&Generator::new(config).unwrap(), &data, |_| {}).unwrap();
    let store = dir.join("base");
    let register = data.join("register.csv");
    build(&register, &store);
    let st = Store::open(&store).unwrap();
    let snap = st.snapshot();
    let pbi = snap.registry().require("PBI_JK").unwrap();
    let file = dir.join("large.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(out, "{}", tepat::change::HEADER).unwrap();
    let mut rows = 0;
    for p in snap.persons() {
        if rows == ROWS {
            break;
        }
        if p.duplicate() || p.deceased() {
            continue;
        }
        if rows % 5 == 0 {
            writeln!(out, "death,{},,,,,,,,,,,,2026-11-02", p.nik()).unwrap();
        } else if !p.enrolled().contains(pbi) {
            writeln!(out, "enrol,{},,,,,,,,,,,PBI_JK,2026-11-02", p.nik()).unwrap();
        } else {
            continue;
        }
        rows += 1;
    }
    assert_eq!(rows, ROWS, "the register has too few persons for the file");
    out.flush().unwrap();
    file
}

/// What the store holds of the change file: every pending person and the
/// number of applied-change audit entries.
fn state(store: &Path) -> (BTreeMap<u64, tepat::live::LivePerson>, usize) {
    let st = Store::open(store).unwrap();
    let persons = st.changed_persons().unwrap().into_iter().collect();
    let mut applied = 0;
    st.audit_each(&tepat::store::AuditFilter::default(), |r| {
        applied += usize::from(r.op == "apply");
        Ok(())
    })
    .unwrap();
    (persons, applied)
}

struct Fixture {
    _dir: tempfile::TempDir,
    base: std::path::PathBuf,
    file: std::path::PathBuf,
    /// The state after the file applied without a fault.
    whole: (BTreeMap<u64, tepat::live::LivePerson>, usize),
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let file = base(dir.path());
    let base = dir.path().join("base");
    let reference = dir.path().join("reference");
    copy_dir(&base, &reference);
    ok(&tepat(
        &[
            "apply",
            "--store",
            reference.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        None,
    ));
    assert!(!reference.join("changes.journal").exists());
    let whole = state(&reference);
    assert_eq!(whole.1, ROWS);
    assert!(whole.0.len() >= ROWS, "{} persons changed", whole.0.len());
    Fixture {
        _dir: dir,
        base,
        file,
        whole,
    }
}

/// After a crash: the whole file or nothing, and then the file applies (or
/// is recognised as applied) to exactly the whole state.
fn whole_or_nothing(f: &Fixture, store: &Path) -> bool {
    let after = state(store);
    let whole = after == f.whole;
    assert!(
        whole || (after.0.is_empty() && after.1 == 0),
        "a part of the file: {} persons, {} audit entries",
        after.0.len(),
        after.1
    );
    assert!(
        !store.join("changes.journal").exists(),
        "the open finished the journal"
    );
    let again = tepat(
        &[
            "apply",
            "--store",
            store.to_str().unwrap(),
            f.file.to_str().unwrap(),
        ],
        None,
    );
    ok(&again);
    let said = String::from_utf8_lossy(&again.stderr);
    assert_eq!(whole, said.contains("was applied before"), "{said}");
    assert_eq!(state(store), f.whole);
    whole
}

#[test]
fn a_large_change_file_survives_a_crash_at_every_step_whole_or_not_at_all() {
    let f = fixture();
    let scratch = tempfile::tempdir().unwrap();
    // Before the rename the journal is not committed: nothing. After it,
    // and halfway through sled: the next open finishes the file.
    for (point, committed) in [("apply.journal_synced", false), ("apply.inserting", true)] {
        let store = scratch.path().join(point);
        copy_dir(&f.base, &store);
        let out = tepat(
            &[
                "apply",
                "--store",
                store.to_str().unwrap(),
                f.file.to_str().unwrap(),
            ],
            Some(point),
        );
        assert!(
            !out.status.success(),
            "{point}: the fault point was not reached"
        );
        assert_eq!(whole_or_nothing(&f, &store), committed, "{point}");
    }
}

#[test]
fn a_large_change_file_killed_at_random_is_whole_or_not_at_all() {
    let f = fixture();
    let scratch = tempfile::tempdir().unwrap();
    let (mut whole, mut nothing) = (0, 0);
    for round in 0..10u64 {
        let store = scratch.path().join(format!("round-{round}"));
        copy_dir(&f.base, &store);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat"))
            .args([
                "apply",
                "--store",
                store.to_str().unwrap(),
                f.file.to_str().unwrap(),
            ])
            .env_remove("TEPAT_FAULT_AT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the process's life (start, validation,
        // journal, sled: ≈ 0.1-0.2 s on these machines).
        std::thread::sleep(Duration::from_millis(round * 15));
        let _ = child.kill();
        let _ = child.wait();
        if whole_or_nothing(&f, &store) {
            whole += 1;
        } else {
            nothing += 1;
        }
    }
    eprintln!("killed 10 times: {whole} whole, {nothing} nothing");
}

#[test]
fn another_stores_journal_is_refused_at_open() {
    let f = fixture();
    let scratch = tempfile::tempdir().unwrap();
    let crashed = scratch.path().join("crashed");
    copy_dir(&f.base, &crashed);
    let out = tepat(
        &[
            "apply",
            "--store",
            crashed.to_str().unwrap(),
            f.file.to_str().unwrap(),
        ],
        Some("apply.inserting"),
    );
    assert!(!out.status.success());
    // A store built from the same register is another store (its own
    // identity): its live state must not take this one's journal.
    let other = scratch.path().join("other");
    let register = f.base.parent().unwrap().join("data/register.csv");
    build(&register, &other);
    std::fs::copy(
        crashed.join("changes.journal"),
        other.join("changes.journal"),
    )
    .unwrap();
    let err = Store::open(&other).err().expect("a foreign journal opened");
    assert!(err.to_string().contains("another store"), "{err}");
    // Damaged (one byte flipped): refused, naming the journal.
    let journal = crashed.join("changes.journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&journal, &bytes).unwrap();
    let err = Store::open(&crashed)
        .err()
        .expect("a damaged journal opened");
    let text = err.to_string();
    assert!(
        text.contains("changes.journal") && text.contains("checksum"),
        "{text}"
    );
}

#[test]
fn an_old_journal_put_back_is_refused_not_replayed() {
    let f = fixture();
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("store");
    copy_dir(&f.base, &store);
    let out = tepat(
        &[
            "apply",
            "--store",
            store.to_str().unwrap(),
            f.file.to_str().unwrap(),
        ],
        Some("apply.inserting"),
    );
    assert!(!out.status.success());
    let saved = scratch.path().join("old.journal");
    std::fs::copy(store.join("changes.journal"), &saved).unwrap();
    // The open finishes the file; then one more file is applied.
    let (one_more, nik) = {
        let st = Store::open(&store).unwrap();
        let snap = st.snapshot();
        let yapi = snap.registry().require("YAPI").unwrap();
        let p = snap
            .persons()
            .filter(|p| !p.duplicate() && !p.enrolled().contains(yapi))
            .last()
            .unwrap();
        (
            format!(
                "{}\nenrol,{},,,,,,,,,,,YAPI,2026-11-03\n",
                tepat::change::HEADER,
                p.nik()
            ),
            p.nik(),
        )
    };
    let second = scratch.path().join("one-more.csv");
    std::fs::write(&second, one_more).unwrap();
    ok(&tepat(
        &[
            "apply",
            "--store",
            store.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
        None,
    ));
    let before = state(&store);
    // A careless restore puts the old journal back.
    std::fs::copy(&saved, store.join("changes.journal")).unwrap();
    let err = Store::open(&store)
        .err()
        .expect("an old journal was replayed");
    assert!(err.to_string().contains("older"), "{err}");
    std::fs::remove_file(store.join("changes.journal")).unwrap();
    assert_eq!(state(&store), before, "the refusal changed nothing");
    assert!(
        before.0.contains_key(&nik.get()),
        "the second file's enrolment is kept"
    );
}
