//! `tepat merge` as the register's keeper runs it: the generator's sources
//! merged into one register export, which `tepat build` then accepts, and
//! a malformed `--source` refused by name.

use std::path::Path;
use std::process::{Command, Output};

use tepat::RegionCode;
use tepat_gen::output::{self, Options};
use tepat_gen::{Config, Generator};

fn tepat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tepat"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn generate(dir: &Path) {
    let g = Generator::new(Config {
        persons: 6_000,
        seed: 5,
        threads: 2,
        region: Some(RegionCode::parse("3576").unwrap()),
        ..Config::default()
    })
    .unwrap();
    output::write_with(&g, dir, Options { sources: true }, |_| {}).unwrap();
}

#[test]
fn a_merged_register_builds_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data);
    let out_dir = dir.path().join("merged");
    let path = |name: &str| data.join(name).to_str().unwrap().to_owned();
    let out = tepat(&[
        "merge",
        "--civil",
        &path("dukcapil.csv"),
        "--source",
        &format!("DTKS={}", path("dtks.csv")),
        "--source",
        &format!("REGSOSEK={}", path("regsosek.csv")),
        "--source",
        &format!("P3KE={}", path("p3ke.csv")),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "merge: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("merged "),
        "{}",
        text(&out.stderr)
    );

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    let persons = summary["persons"].as_u64().unwrap();
    assert!(persons > 0, "{summary}");
    let rows = std::fs::read_to_string(out_dir.join("register.csv"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(
        rows,
        persons + 1,
        "register.csv: a header and one row per person"
    );

    let store = dir.path().join("store");
    let built = tepat(&[
        "build",
        "--register",
        out_dir.join("register.csv").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    assert!(built.status.success(), "build: {}", text(&built.stderr));
    let stats = tepat(&["info", "--store", store.to_str().unwrap()]);
    assert!(stats.status.success(), "info: {}", text(&stats.stderr));
    assert!(
        text(&stats.stdout).contains(&persons.to_string()),
        "the store holds every merged person: {}",
        text(&stats.stdout)
    );
}

#[test]
fn a_source_without_a_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let civil = dir.path().join("dukcapil.csv");
    std::fs::write(&civil, "nik\n").unwrap();
    let out = tepat(&[
        "merge",
        "--civil",
        civil.to_str().unwrap(),
        "--source",
        "dtks.csv",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("dtks.csv"),
        "the error names the argument: {err}"
    );
    assert!(!dir.path().join("out/register.csv").exists());
}
