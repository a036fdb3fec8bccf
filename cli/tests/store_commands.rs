//! The store commands as an operator runs them: `tepat build` into a new
//! directory, `tepat apply`, and `tepat get`, which shows the current state
//! of a person (the snapshot plus pending changes) and agrees with `check`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use tepat::Registry;
use tepat::register::{HEADER, PersonRecord};

fn tepat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tepat"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Writes `records` as a register export and builds a store from it with
/// `tepat build`.
fn build(records: &[PersonRecord], dir: &Path) -> std::path::PathBuf {
    let mut csv = format!("{HEADER}\n").into_bytes();
    for r in records {
        r.write_csv(Registry::builtin(), &mut csv).unwrap();
    }
    let register = dir.join("register.csv");
    std::fs::write(&register, csv).unwrap();
    let store = dir.join("store");
    let out = tepat(&[
        "build",
        "--register",
        register.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    assert!(out.status.success(), "build: {}", text(&out.stderr));
    store
}

fn get_json(store: &Path, nik: &str) -> serde_json::Value {
    let out = tepat(&["get", "--store", store.to_str().unwrap(), "--json", nik]);
    assert!(out.status.success(), "get: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn get_shows_a_pending_death_and_agrees_with_check() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(30, 5);
    let person = records
        .iter()
        .find(|r| !r.deceased && !r.programs.is_empty())
        .unwrap();
    let nik = person.nik.to_string();
    let store = build(&records, dir.path());

    let before = get_json(&store, &nik);
    assert_eq!(before["deceased"], false, "{before}");
    assert_eq!(before["pending"], false, "{before}");

    let changes = dir.path().join("changes.csv");
    std::fs::write(
        &changes,
        format!(
            "{}\ndeath,{nik},,,,,,,,,,,,2026-11-20\n",
            tepat::change::HEADER
        ),
    )
    .unwrap();
    let applied = tepat(&[
        "apply",
        "--store",
        store.to_str().unwrap(),
        changes.to_str().unwrap(),
    ]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));

    let after = get_json(&store, &nik);
    assert_eq!(after["deceased"], true, "{after}");
    assert_eq!(after["pending"], true, "{after}");
    assert_eq!(after["new"], false, "{after}");
    assert!(
        after["changed"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("deceased")),
        "{after}"
    );
    // The readable form says so too.
    let out = tepat(&["get", "--store", store.to_str().unwrap(), &nik]);
    let shown = text(&out.stdout);
    assert!(shown.contains("DECEASED"), "{shown}");
    assert!(shown.contains("pending change"), "{shown}");
    // And check agrees: the person is refused as deceased.
    let program = Registry::builtin()
        .format_set(person.programs)
        .split('|')
        .next()
        .unwrap()
        .to_owned();
    let period = if program == "PBI_JK" {
        "2026-11"
    } else {
        "2026-Q4"
    };
    let check = tepat(&[
        "check",
        "--store",
        store.to_str().unwrap(),
        "--json",
        &nik,
        &program,
        period,
    ]);
    let verdict: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let codes: Vec<&str> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert!(codes.contains(&"deceased"), "{verdict}");
}

#[test]
fn build_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(5, 9);
    let store = build(&records, dir.path());
    // A second first build into the same store: refused, nothing changed.
    let register = dir.path().join("register.csv");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let out = tepat(&[
        "build",
        "--register",
        register.to_str().unwrap(),
        "--store",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    // The real store still answers.
    let nik = records[0].nik.to_string();
    assert_eq!(get_json(&store, &nik)["found"], true);
}
