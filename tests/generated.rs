//! The engine against the generator's national-scale data (1 M persons):
//! every register row reads back from the snapshot exactly as the CSV says,
//! every payee row gets the verdict `payees_truth.csv` expects, and the
//! month's `changes.csv` applies.
//!
//! Compared against the CSV files, never against the builder's structures.

mod common;

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::sync::OnceLock;

use tepat::register::{PersonRecord, RowParser};
use tepat::snapshot::SnapshotBuilder;
use tepat::{Nik, ReasonCode, Registry, Store};
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 1_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
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
        let store = Store::create(&store_dir, b, common::options()).unwrap();
        Fixture {
            _dir: dir,
            data,
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

/// A new store on a copy of the fixture's snapshot (no claims, no
/// changes), so changes leave the shared store as it is.
fn store_copy(f: &Fixture) -> (tempfile::TempDir, Store) {
    let copy = tempfile::tempdir().unwrap();
    let snapshot = f.store.snapshot();
    let store =
        Store::create_from_snapshot(copy.path(), snapshot.path(), common::options()).unwrap();
    (copy, store)
}

#[test]
fn the_months_changes_apply() {
    let f = fixture();
    let (_copy, store) = store_copy(f);
    let changes = std::fs::read_to_string(f.data.join("changes.csv")).unwrap();
    let n = store
        .apply_csv(changes.as_bytes(), "changes.csv")
        .unwrap()
        .rows;
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

/// The reports' figures recomputed from the CSV files alone: persons by
/// (province, enrolled, eligible, deceased, duplicate) and families by
/// (province, family enrolment, family eligibility).
mod recount {
    use std::collections::{BTreeMap, HashMap};

    use tepat::change::{Change, ChangeParser};
    use tepat::program::{ComponentSet, PersonFacts};
    use tepat::register::{PersonRecord, Relation};
    use tepat::{Date, Registry};

    pub type Class = (u32, u32, bool, bool);

    #[derive(Default)]
    pub struct Expected {
        pub persons: BTreeMap<(u64, Class), i64>,
        pub families: BTreeMap<(u64, Class), i64>,
    }

    /// Applies a change file to plain records, as the documented change
    /// semantics say (README, "Changes"): family programs are the family's,
    /// read from its member with the smallest NIK; duplicate identities are
    /// frozen.
    pub fn apply(records: &mut Vec<PersonRecord>, changes: &str) {
        let registry = Registry::builtin();
        let family_mask = registry.family_programs().0;
        let parser = ChangeParser::new(registry);
        let mut by_nik: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut by_kk: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            by_nik.entry(r.nik.get()).or_default().push(i);
            by_kk.entry(r.kk.get()).or_default().push(i);
        }
        let dups: std::collections::HashSet<u64> = by_nik
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(n, _)| *n)
            .collect();
        let family_bits = |records: &Vec<PersonRecord>,
                           by_kk: &HashMap<u64, Vec<usize>>,
                           kk: u64,
                           except: u64| {
            by_kk
                .get(&kk)
                .into_iter()
                .flatten()
                .map(|i| &records[*i])
                .filter(|r| r.nik.get() != except)
                .min_by_key(|r| r.nik.get())
                .map_or(0, |r| r.programs.0 & family_mask)
        };
        for line in changes.lines().skip(1) {
            let change = parser.parse(line).unwrap();
            let one = |nik: tepat::Nik| {
                assert!(
                    !dups.contains(&nik.get()),
                    "the generator never changes a duplicate identity"
                );
                by_nik[&nik.get()][0]
            };
            match change {
                Change::Death { nik, .. } => records[one(nik)].deceased = true,
                Change::Birth { mut person, .. } => {
                    let kk = person.kk.get();
                    person.programs.0 =
                        (person.programs.0 & !family_mask) | family_bits(records, &by_kk, kk, 0);
                    by_nik
                        .entry(person.nik.get())
                        .or_default()
                        .push(records.len());
                    by_kk.entry(kk).or_default().push(records.len());
                    records.push(person);
                }
                Change::Move {
                    nik,
                    kk,
                    relation,
                    village,
                    decile,
                    ..
                } => {
                    let i = one(nik);
                    let target = family_bits(records, &by_kk, kk.get(), nik.get());
                    let old = records[i].kk.get();
                    if let Some(v) = by_kk.get_mut(&old) {
                        v.retain(|j| *j != i);
                    }
                    by_kk.entry(kk.get()).or_default().push(i);
                    let r = &mut records[i];
                    r.kk = kk;
                    r.relation = relation;
                    r.village = village;
                    r.decile = decile;
                    r.programs.0 = (r.programs.0 & !family_mask) | target;
                }
                Change::Enrol { nik, program, .. } | Change::Remove { nik, program, .. } => {
                    let enrol = matches!(change, Change::Enrol { .. });
                    let i = one(nik);
                    let family = registry.program(program).unit == tepat::Unit::Family;
                    let targets: Vec<usize> = if family {
                        by_kk[&records[i].kk.get()].clone()
                    } else {
                        vec![i]
                    };
                    for j in targets {
                        let r = &mut records[j];
                        if !dups.contains(&r.nik.get()) {
                            r.programs = if enrol {
                                r.programs.with(program)
                            } else {
                                r.programs.without(program)
                            };
                        }
                    }
                }
                Change::Decile { kk, decile, .. } => {
                    for j in by_kk.get(&kk.get()).cloned().unwrap_or_default() {
                        if !dups.contains(&records[j].nik.get()) {
                            records[j].decile = decile;
                        }
                    }
                }
            }
        }
    }

    /// Each record's eligibility: itself, with its family's.
    pub fn eligibility(records: &[PersonRecord], as_of: Date) -> Vec<u32> {
        let registry = Registry::builtin();
        let mut by_kk: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            by_kk.entry(r.kk.get()).or_default().push(i);
        }
        let mut out = vec![0; records.len()];
        for members in by_kk.values_mut() {
            members.sort_by_key(|i| records[*i].nik.get());
            let facts: Vec<PersonFacts> = members
                .iter()
                .map(|i| {
                    let r = &records[*i];
                    PersonFacts {
                        decile: r.decile,
                        age: r.birth_date.age_on(as_of),
                        recorded: ComponentSet(r.components.0),
                        civil_servant: r.civil_servant,
                    }
                })
                .collect();
            let head = members
                .iter()
                .position(|i| records[*i].relation == Relation::Head)
                .unwrap_or(0);
            let family = registry
                .family_eligibility(records[members[head]].decile, &facts)
                .0;
            for (i, f) in members.iter().zip(&facts) {
                out[*i] = registry.person_eligibility(f).0 | family;
            }
        }
        out
    }

    /// The expected figures. `frozen`: the eligibility duplicate identities
    /// keep (as first computed), when changes were applied.
    pub fn count(records: &[PersonRecord], as_of: Date, frozen: Option<&[u32]>) -> Expected {
        let registry = Registry::builtin();
        let family_mask = registry.family_programs().0;
        let mut nik_count: HashMap<u64, usize> = HashMap::new();
        for r in records {
            *nik_count.entry(r.nik.get()).or_default() += 1;
        }
        let mut by_kk: BTreeMap<u64, Vec<&PersonRecord>> = BTreeMap::new();
        for r in records {
            by_kk.entry(r.kk.get()).or_default().push(r);
        }
        let eligibility = eligibility(records, as_of);
        let mut by_kk: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            by_kk.entry(r.kk.get()).or_default().push(i);
        }
        let mut e = Expected::default();
        for members in by_kk.values_mut() {
            members.sort_by_key(|i| records[*i].nik.get());
            let mut enrolled = 0;
            let mut family_eligible = None;
            for i in members.iter() {
                let r = &records[*i];
                let dup = nik_count[&r.nik.get()] > 1;
                let eligible = match frozen {
                    Some(f) if dup && *i < f.len() => f[*i],
                    _ => eligibility[*i],
                };
                if !dup {
                    family_eligible.get_or_insert(eligibility[*i] & family_mask);
                }
                let class = (r.programs.0, eligible, r.deceased, dup);
                *e.persons
                    .entry((r.village / 100_000_000, class))
                    .or_default() += 1;
                enrolled |= r.programs.0 & family_mask;
            }
            let first = &records[members[0]];
            let family = family_eligible.unwrap_or(eligibility[members[0]] & family_mask);
            let class = (enrolled, family, false, false);
            *e.families
                .entry((first.village / 100_000_000, class))
                .or_default() += 1;
        }
        e
    }
}

/// Compares every row of every report (by province, and national) with the
/// recount.
fn check_reports(store: &Store, expected: &recount::Expected) {
    use tepat::report::{By, Kind};
    let registry = Registry::builtin();
    let counts = store.counts(By::Province, 2).unwrap();
    let bit = |code: &str| 1u32 << registry.require(code).unwrap().index();
    let family =
        |code: &str| registry.program(registry.require(code).unwrap()).unit == tepat::Unit::Family;
    for kind in Kind::ALL {
        let report = counts.report(kind);
        assert!(!report.rows.is_empty());
        for row in &report.rows {
            let province = if row.region_code == "00" {
                None
            } else {
                Some(row.region_code.parse::<u64>().unwrap())
            };
            let pred: Box<dyn Fn(&recount::Class) -> bool> = match kind {
                Kind::Overlap => {
                    let both = bit(&row.keys[0]) | bit(&row.keys[1]);
                    Box::new(move |c| c.0 & both == both)
                }
                Kind::Inclusion => {
                    let b = bit(&row.keys[0]);
                    Box::new(move |c| c.0 & b != 0 && c.1 & b == 0)
                }
                Kind::Exclusion => {
                    let b = bit(&row.keys[0]);
                    Box::new(move |c| c.1 & b != 0 && c.0 & b == 0 && !c.2)
                }
                Kind::Conflicts => {
                    let both = bit(&row.keys[0]) | bit(&row.keys[1]);
                    Box::new(move |c| c.0 & both == both)
                }
                Kind::Deceased => {
                    let b = bit(&row.keys[0]);
                    Box::new(move |c| c.2 && c.0 & b != 0)
                }
                Kind::Duplicates => Box::new(|c| c.3),
            };
            let sum = |m: &std::collections::BTreeMap<(u64, recount::Class), i64>| -> i64 {
                m.iter()
                    .filter(|((p, c), _)| province.is_none_or(|q| *p == q) && pred(c))
                    .map(|(_, n)| *n)
                    .sum()
            };
            assert_eq!(
                row.persons,
                sum(&expected.persons),
                "{} persons: {row:?}",
                report.kind
            );
            let family_row = match kind {
                Kind::Overlap | Kind::Conflicts => family(&row.keys[0]) && family(&row.keys[1]),
                Kind::Inclusion | Kind::Exclusion => family(&row.keys[0]),
                _ => false,
            };
            if family_row && !(kind == Kind::Conflicts && row.keys[2] == "person") {
                assert_eq!(
                    row.families,
                    Some(sum(&expected.families)),
                    "{} families: {row:?}",
                    report.kind
                );
            } else {
                assert_eq!(row.families, None, "{} families: {row:?}", report.kind);
            }
        }
    }
}

#[test]
fn every_report_figure_equals_a_recount_from_the_csv_files() {
    let f = fixture();
    let snap = f.store.snapshot();
    let records = register(&f.data);
    check_reports(&f.store, &recount::count(&records, snap.as_of(), None));
}

#[test]
fn every_report_figure_equals_a_recount_after_the_changes() {
    let f = fixture();
    let (_copy, store) = store_copy(f);
    let changes = std::fs::read_to_string(f.data.join("changes.csv")).unwrap();
    store.apply_csv(changes.as_bytes(), "changes.csv").unwrap();
    let mut records = register(&f.data);
    let as_of = store.snapshot().as_of();
    let frozen = recount::eligibility(&records, as_of);
    recount::apply(&mut records, &changes);
    check_reports(&store, &recount::count(&records, as_of, Some(&frozen)));
}

#[test]
fn reports_from_the_region_counts_equal_a_scan_of_every_person() {
    use tepat::report::{By, Kind};
    let f = fixture();
    for by in [By::Province, By::Regency, By::District] {
        let fast = f.store.counts(by, 2).unwrap();
        let slow = f.store.counts_scanning(by, 2).unwrap();
        for kind in Kind::ALL {
            assert_eq!(fast.report(kind), slow.report(kind), "{kind:?}");
        }
    }
}
