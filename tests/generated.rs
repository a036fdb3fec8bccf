//! The engine against the generator's national-scale data (1 M persons):
//! every register row reads back from the snapshot exactly as the CSV says,
//! every payee row gets the verdict `payees_truth.csv` expects, and the
//! month's `changes.csv` applies.
//!
//! Compared against the CSV files, never against the builder's structures.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::sync::OnceLock;

use tepat::register::{PersonRecord, RowParser};
use tepat::snapshot::{SnapshotBuilder, store_dir};
use tepat::{Nik, ReasonCode, Registry, Store};
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 1_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    store_dir: std::path::PathBuf,
    /// One process opens a store once (sled locks its directory).
    store: Store,
}

/// Generates the data and builds the store once for this test binary.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store_dir = dir.path().join("store");
        let config = Config {
            persons: PERSONS,
            seed: 7,
            threads: 2,
            ..Config::default()
        };
        let as_of = config.as_of;
        let g = Generator::new(config).unwrap();
        output::write_all(&g, &data, |_| {}).unwrap();
        std::fs::create_dir_all(&store_dir).unwrap();
        let mut b = SnapshotBuilder::new(
            Registry::builtin().clone(),
            tepat::RegionTable::builtin(),
            as_of,
        )
        .unwrap();
        let file = std::fs::File::open(data.join("register.csv")).unwrap();
        let mut rejects = Vec::new();
        let report = b
            .add_csv(BufReader::new(file), "register.csv", &mut rejects, |_| {})
            .unwrap();
        assert_eq!(report.rejected, 0, "{}", String::from_utf8_lossy(&rejects));
        b.write_to_path(&store_dir.join(store_dir::snapshot_file_name(1)))
            .unwrap();
        store_dir::set_current(&store_dir, 1).unwrap();
        let store = Store::open(&store_dir).unwrap();
        Fixture {
            _dir: dir,
            data,
            store_dir,
            store,
        }
    })
}

fn register(data: &Path) -> Vec<PersonRecord> {
    let text = std::fs::read_to_string(data.join("register.csv")).unwrap();
    let parser = RowParser::new(Registry::builtin());
    text.lines()
        .skip(1)
        .map(|l| parser.parse(l).unwrap())
        .collect()
}

#[test]
fn every_generated_person_reads_back_as_the_csv_says() {
    let f = fixture();
    let snap = f.store.snapshot();
    let records = register(&f.data);
    assert_eq!(snap.person_count(), records.len() as u64);
    let mut count: HashMap<u64, usize> = HashMap::new();
    for r in &records {
        *count.entry(r.nik.get()).or_default() += 1;
    }
    let mut duplicates = 0;
    for r in &records {
        let dup = count[&r.nik.get()] > 1;
        duplicates += usize::from(dup);
        let matches = |p: &tepat::snapshot::Person<'_>| {
            p.kk() == Some(r.kk)
                && p.relation() == r.relation
                && p.village_code() == Some(r.village)
                && p.sex() == r.sex
                && p.birth_date() == r.birth_date
                && p.decile() == r.decile
                && p.deceased() == r.deceased
                && p.civil_servant() == r.civil_servant
                && p.duplicate() == dup
                && p.components() == r.components
                && p.enrolled() == r.programs
        };
        assert!(
            snap.get_all(r.nik).any(|p| matches(&p)),
            "{} does not read back: {r:?}",
            r.nik
        );
    }
    assert_eq!(snap.duplicate_count(), duplicates as u64);
    snap.verify().unwrap();
}

#[test]
fn every_payee_row_gets_the_expected_verdict() {
    let f = fixture();
    let store = &f.store;
    let payees = std::fs::read_to_string(f.data.join("payees.csv")).unwrap();
    let truth = std::fs::read_to_string(f.data.join("payees_truth.csv")).unwrap();
    let category: HashMap<usize, String> = truth
        .lines()
        .skip(1)
        .map(|l| {
            let (line, cat) = l.split_once(',').unwrap();
            (line.parse().unwrap(), cat.to_owned())
        })
        .collect();
    let mut checked = 0;
    for (i, row) in payees.lines().enumerate().skip(1) {
        let line = i + 1;
        let cat = category[&line].as_str();
        // Repeated and malformed rows are the batch verifier's concern.
        if cat == "repeated" || cat == "malformed" {
            continue;
        }
        let f: Vec<&str> = row.split(',').collect();
        let v = store.check_str(f[0], f[1], f[2]).unwrap();
        let expect = match cat {
            "payable" => None,
            "deceased" => Some(ReasonCode::Deceased),
            "not_enrolled" => Some(ReasonCode::NotEnrolled),
            "excluded" => Some(ReasonCode::ExcludedBy),
            "civil_servant" => Some(ReasonCode::CivilServant),
            "wrong_period_kind" => Some(ReasonCode::WrongPeriodKind),
            "unknown_nik" => Some(ReasonCode::UnknownNik),
            "invalid_nik" => Some(ReasonCode::InvalidNik),
            other => panic!("unknown category {other}"),
        };
        match expect {
            None => assert!(v.payable, "line {line} {row}: expected payable, got {v:?}"),
            Some(reason) => {
                assert!(
                    !v.payable,
                    "line {line} {row}: expected refused ({cat}), got {v:?}"
                );
                assert!(
                    v.reasons.contains(reason),
                    "line {line} {row}: expected {reason:?}, got {v:?}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 90_000, "{checked} rows checked");
}

#[test]
fn the_months_changes_apply() {
    let f = fixture();
    // Apply on a copy so the other tests see generation 1 unchanged.
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&f.store_dir).unwrap() {
        // The snapshot files and CURRENT; the live state starts empty.
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    let store = Store::open(copy.path()).unwrap();
    let changes = std::fs::read_to_string(f.data.join("changes.csv")).unwrap();
    let n = store.apply_csv(changes.as_bytes(), "changes.csv").unwrap();
    assert_eq!(n as usize, changes.lines().count() - 1);
    // Every death in the file now reads as deceased.
    let snap = store.snapshot();
    for row in changes.lines().filter(|l| l.starts_with("death,")) {
        let nik: Nik = row.split(',').nth(1).unwrap().parse().unwrap();
        let state = store.person(&snap, nik.get()).unwrap().unwrap();
        assert!(state.deceased(), "{nik}");
    }
}

#[test]
fn the_batch_verifier_agrees_with_truth_row_by_row() {
    use tepat::batch::{OutputFormat, verify_csv};
    let f = fixture();
    let input = std::fs::read_to_string(f.data.join("payees.csv")).unwrap();
    let truth = std::fs::read_to_string(f.data.join("payees_truth.csv")).unwrap();
    let mut out = Vec::new();
    let summary = verify_csv(
        &f.store,
        input.as_bytes(),
        "payees.csv",
        &mut out,
        OutputFormat::Csv,
        |_| {},
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let input_rows = input.lines().count() - 1;
    let output: Vec<&str> = out.lines().collect();
    assert_eq!(
        output[0],
        "line,nik,program,period,amount,payable,reasons,detail"
    );
    assert_eq!(output.len() - 1, input_rows, "one output row per input row");
    assert_eq!(summary.rows as usize, input_rows);
    let expected: HashMap<u64, String> = truth
        .lines()
        .skip(1)
        .map(|l| {
            let (line, cat) = l.split_once(',').unwrap();
            (line.parse().unwrap(), cat.to_owned())
        })
        .collect();
    for row in &output[1..] {
        let fields = split_csv(row);
        // line, the 4 input fields, payable, reasons, detail.
        assert_eq!(fields.len(), 8, "{row}");
        let line: u64 = fields[0].parse().unwrap();
        let payable = fields[5] == "true";
        let reasons = fields[6].clone();
        let cat = expected[&line].as_str();
        let code = match cat {
            "payable" => None,
            "deceased" => Some("deceased"),
            "not_enrolled" => Some("not_enrolled"),
            "excluded" => Some("excluded_by"),
            "civil_servant" => Some("civil_servant"),
            "wrong_period_kind" => Some("wrong_period_kind"),
            "unknown_nik" => Some("unknown_nik"),
            "invalid_nik" => Some("invalid_nik"),
            "repeated" => Some("repeated_in_list"),
            "malformed" => Some("invalid_row"),
            other => panic!("unknown category {other}"),
        };
        match code {
            None => assert!(payable, "line {line}: {row}"),
            Some(code) => {
                assert!(!payable, "line {line} ({cat}): {row}");
                assert!(
                    reasons.split('|').any(|r| r == code),
                    "line {line} ({cat}) wants {code}: {row}"
                );
            }
        }
    }
    let by_cat = |c: &str| expected.values().filter(|v| *v == c).count() as u64;
    assert_eq!(summary.invalid, by_cat("malformed"));
    assert_eq!(summary.repeated, by_cat("repeated"));
    assert_eq!(summary.payable, by_cat("payable"));
}

#[test]
fn in_memory_batch_matches_check_row_by_row() {
    use tepat::batch::{BatchItem, BatchVerdict};
    let f = fixture();
    let snap = f.store.snapshot();
    let registry = snap.registry();
    let records = register(&f.data);
    let programs: Vec<_> = registry.ids().collect();
    let items: Vec<BatchItem> = records
        .iter()
        .step_by(13)
        .enumerate()
        .map(|(i, r)| {
            let program = programs[i % programs.len()];
            let kind = registry.program(program).period;
            // Every fifth row asks for the wrong kind of period.
            let period = if i % 5 == 0 {
                tepat::Period::Year(2026)
            } else {
                tepat::Period::containing(kind, snap.as_of())
            };
            BatchItem {
                nik: Some(r.nik),
                program,
                period,
            }
        })
        .collect();
    let mut out = vec![BatchVerdict::default(); items.len()];
    f.store.verify_batch(&items, &mut out, 2).unwrap();
    for (item, v) in items.iter().zip(&out) {
        let full = f
            .store
            .check(item.nik.unwrap(), item.program, item.period)
            .unwrap();
        assert_eq!(
            (v.payable, v.reasons),
            (full.payable, full.reasons),
            "{item:?}"
        );
    }
}

/// Splits one CSV line with quoted fields.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}
