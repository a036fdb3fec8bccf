//! The merge against the generator's truth: every source record's fate,
//! precision and recall per injected problem, and the register valid for
//! `tepat build`.

mod common;

use std::collections::{HashMap, HashSet};

use tepat::register::{PersonRecord, RowParser};
use tepat::{Date, Nik, RegionTable, Registry};
use tepat_gen::sources::{KINDS, SOURCES, TRUTH_FILES};

/// What the merge did with one source record.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fate {
    Linked { nik: String, method: String },
    Work { reason: String },
}

struct Record {
    person: String,
    kinds: Vec<String>,
    fate: Fate,
    kk: String,
    decile: u8,
}

fn register(path: &std::path::Path) -> HashMap<u64, PersonRecord> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    RowParser::check_header(lines.next().unwrap()).unwrap();
    let parser = RowParser::new(Registry::builtin());
    let mut out = HashMap::new();
    for line in lines {
        let r = parser.parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        out.entry(r.nik.get()).or_insert(r);
    }
    out
}

/// Every source record with its truth and fate.
fn records(data: &std::path::Path, out: &std::path::Path) -> Vec<Record> {
    let mut fates: HashMap<(String, String), Fate> = HashMap::new();
    for row in common::rows(&out.join("links.csv")) {
        let fate = Fate::Linked {
            nik: row[4].clone(),
            method: row[5].clone(),
        };
        assert!(
            fates
                .insert((row[0].clone(), row[2].clone()), fate)
                .is_none()
        );
    }
    for entry in std::fs::read_dir(out.join("worklist")).unwrap() {
        for row in common::rows(&entry.unwrap().path()) {
            let fate = Fate::Work {
                reason: row[7].clone(),
            };
            let key = (row[0].clone(), row[2].clone());
            assert!(fates.insert(key, fate).is_none(), "{row:?} twice");
        }
    }
    let mut all = Vec::new();
    for (s, name) in SOURCES.iter().enumerate() {
        let source = common::rows(&data.join(tepat_gen::sources::FILES[1 + s]));
        let truth = common::rows(&data.join(TRUTH_FILES[s]));
        for (row, t) in source.iter().zip(&truth) {
            let fate = fates
                .remove(&(name.to_string(), t[0].clone()))
                .unwrap_or_else(|| panic!("{name} {} has no fate", t[0]));
            let decile = match s {
                0 => row[8].parse().unwrap(),
                1 => row[9].parse::<u8>().unwrap().div_ceil(10),
                _ => row[6].parse().unwrap(),
            };
            all.push(Record {
                person: t[1].clone(),
                kinds: t[2]
                    .split('|')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect(),
                fate,
                kk: row[2].clone(),
                decile,
            });
        }
    }
    assert!(
        fates.is_empty(),
        "fates of records no source has: {fates:?}"
    );
    all
}

#[derive(Default)]
struct Row {
    records: u64,
    right: u64,
    wrong: u64,
    work: u64,
}

impl Row {
    fn recall(&self) -> f64 {
        100.0 * self.right as f64 / self.records.max(1) as f64
    }
    fn precision(&self) -> f64 {
        let decided = self.right + self.wrong;
        100.0 * self.right as f64 / decided.max(1) as f64
    }
}

#[test]
fn precision_and_recall_per_injected_problem() {
    let out = common::temp("truth");
    evaluate(common::data(), &out);
    std::fs::remove_dir_all(out).unwrap();
}

/// The same evaluation of a dataset of any size made by `tepat-gen
/// --sources --out DIR`:
/// `TEPAT_MERGE_EVAL=DIR cargo test --release -p tepat-merge --test truth -- --ignored --nocapture`
/// (the merge's output goes to DIR/merged).
#[test]
#[ignore = "evaluates a dataset made by hand with tepat-gen --sources: set TEPAT_MERGE_EVAL=DIR"]
fn evaluate_a_generated_dataset() {
    let Ok(dir) = std::env::var("TEPAT_MERGE_EVAL") else {
        return;
    };
    let data = std::path::PathBuf::from(dir);
    evaluate(&data, &data.join("merged"));
}

fn evaluate(data: &std::path::Path, out: &std::path::Path) {
    let summary = tepat_merge::run(&common::args(data, out)).unwrap();
    let records = records(data, out);
    let truth = register(&data.join("register.csv"));
    let merged = register(&out.join("register.csv"));
    let absent = |r: &Record| r.kinds.iter().any(|k| k == "absent_from_civil");

    // Identity: per kind, was the record matched to its person (or, when
    // the person is not in the civil register, left for a verifier)?
    let mut table: Vec<(String, Row)> = KINDS
        .iter()
        .map(|k| ((*k).to_owned(), Row::default()))
        .chain([("(none)".to_owned(), Row::default())])
        .collect();
    let mut corrections = Row::default();
    let mut padan = Row::default();
    for r in &records {
        let (right, linked, corrected) = match &r.fate {
            Fate::Linked { nik, method } => {
                let c = matches!(
                    method.as_str(),
                    "nik_neighbour" | "demographic" | "without_nik"
                );
                (!absent(r) && *nik == r.person, true, c)
            }
            Fate::Work { .. } => (absent(r), false, false),
        };
        let tally = if corrected {
            &mut corrections
        } else {
            &mut padan
        };
        if linked {
            tally.records += 1;
            if right {
                tally.right += 1
            } else {
                tally.wrong += 1
            }
        }
        let mut kinds: Vec<&str> = r.kinds.iter().map(String::as_str).collect();
        if kinds.is_empty() {
            kinds.push("(none)");
        }
        for k in kinds {
            let row = &mut table.iter_mut().find(|(n, _)| n == k).unwrap().1;
            row.records += 1;
            match (right, linked) {
                (true, _) => row.right += 1,
                (false, true) => row.wrong += 1,
                (false, false) => row.work += 1,
            }
        }
    }

    // Fields: KK, decile and death of every merged person against the truth.
    let mut by_person: HashMap<&str, Vec<&Record>> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| matches!(&r.fate, Fate::Linked { nik, .. } if *nik == r.person))
    {
        by_person.entry(r.person.as_str()).or_default().push(r);
    }
    let mut fields: Vec<(&str, Row)> =
        ["stale_kk (KK)", "decile_stale (decile)", "died (deceased)"]
            .into_iter()
            .map(|n| (n, Row::default()))
            .collect();
    // Wrong choices where no record carried the true value (two stale
    // deciles and no current one): no rule can get those right.
    let mut unresolvable = [0u64; 3];
    for (nik, recs) in &by_person {
        let n: u64 = nik.parse().unwrap();
        let (m, t) = (&merged[&n], &truth[&n]);
        let kk_fixed = recs.iter().any(|r| r.kk != m.kk.to_string());
        let decile_fixed = recs.iter().any(|r| r.decile != m.decile);
        let has = |k: &str| recs.iter().any(|r| r.kinds.iter().any(|x| x == k));
        // Whether any record offered the true value (the civil register
        // always holds the true KK and death).
        let offered = recs.iter().any(|r| r.decile == t.decile);
        let checks = [
            (has("stale_kk"), kk_fixed, m.kk == t.kk, true),
            (
                has("decile_stale"),
                decile_fixed,
                m.decile == t.decile,
                offered,
            ),
            (has("died"), m.deceased, m.deceased == t.deceased, true),
        ];
        for (((_, row), unresolvable), (injected, changed, right, offered)) in
            fields.iter_mut().zip(unresolvable.iter_mut()).zip(checks)
        {
            // Recall over the persons with the problem; precision over the
            // persons whose value the merge chose against a record.
            if injected {
                row.records += 1;
                row.work += u64::from(!right);
            }
            if changed {
                if right {
                    row.right += 1
                } else {
                    row.wrong += 1
                }
                *unresolvable += u64::from(!right && !offered);
            }
        }
    }

    println!("\nidentity, per source record ({} records)", records.len());
    println!(
        "{:<20} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "injected", "records", "right", "wrong", "worklist", "recall %", "precis. %"
    );
    for (k, r) in &table {
        println!(
            "{k:<20} {:>8} {:>8} {:>8} {:>8} {:>9.2} {:>9.2}",
            r.records,
            r.right,
            r.wrong,
            r.work,
            r.recall(),
            r.precision()
        );
    }
    println!(
        "corrections (NIK replaced or supplied): {} made, {} right, {} wrong: precision {:.3} %",
        corrections.records,
        corrections.right,
        corrections.wrong,
        corrections.precision()
    );
    println!(
        "padan (own NIK): {} made, {} wrong: precision {:.3} %",
        padan.records,
        padan.wrong,
        padan.precision()
    );
    println!("\nfields, per merged person");
    println!(
        "{:<24} {:>8} {:>9} {:>8} {:>6} {:>13} {:>9} {:>12}",
        "injected (field)",
        "persons",
        "recall %",
        "choices",
        "wrong",
        "true unoffered",
        "precis. %",
        "resolvable %"
    );
    let mut resolvable = Vec::new();
    for ((k, r), u) in fields.iter().zip(unresolvable) {
        let recall = 100.0 * (r.records - r.work) as f64 / r.records.max(1) as f64;
        let p = 100.0 * r.right as f64 / (r.right + r.wrong - u).max(1) as f64;
        resolvable.push((*k, p));
        println!(
            "{k:<24} {:>8} {:>9.2} {:>8} {:>6} {:>13} {:>9.2} {:>12.2}",
            r.records,
            recall,
            r.right + r.wrong,
            r.wrong,
            u,
            r.precision(),
            p
        );
    }
    println!(
        "work list: {} rows in {} files",
        summary.work_items, summary.work_files
    );

    assert!(corrections.records > 500, "too few corrections to judge");
    assert!(
        corrections.precision() >= 99.5,
        "correction precision {:.3} %",
        corrections.precision()
    );
    assert!(
        padan.precision() >= 99.5,
        "padan precision {:.3} %",
        padan.precision()
    );
    for (k, p) in resolvable {
        assert!(
            p >= 99.5,
            "{k}: precision where the truth was offered {p:.3} %"
        );
    }
    // Recall floors, well below what is measured: a regression guard.
    for (k, floor) in [
        ("nik_digit", 90.0),
        ("nik_swap", 90.0),
        ("no_nik", 90.0),
        ("nik_unknown", 90.0),
        ("absent_from_civil", 95.0),
        ("(none)", 99.0),
    ] {
        let r = &table.iter().find(|(n, _)| n == k).unwrap().1;
        assert!(r.recall() >= floor, "{k}: recall {:.2} %", r.recall());
    }
}

#[test]
fn every_register_row_is_valid_for_tepat_build() {
    let out = common::temp("valid");
    let summary = tepat_merge::run(&common::args(common::data(), &out)).unwrap();
    let text = std::fs::read_to_string(out.join("register.csv")).unwrap();
    let mut lines = text.lines();
    RowParser::check_header(lines.next().unwrap()).unwrap();
    let parser = RowParser::new(Registry::builtin());
    let regions = RegionTable::builtin();
    let (lo, hi) = (
        Date::new(1900, 1, 1).unwrap(),
        Date::new(2079, 6, 6).unwrap(),
    );
    let mut niks = HashSet::new();
    let mut previous = 0;
    for line in lines {
        let r = parser.parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            regions.village(r.village).is_some(),
            "{line}: unknown village"
        );
        assert!((lo..=hi).contains(&r.birth_date), "{line}");
        assert!(niks.insert(r.nik), "{} twice", r.nik);
        assert!(r.nik.get() > previous, "sorted by NIK");
        previous = r.nik.get();
    }
    assert_eq!(niks.len() as u64, summary.persons);
    // Every merged person is in the civil register.
    let civil: HashSet<Nik> = common::rows(&common::data().join("dukcapil.csv"))
        .iter()
        .map(|r| Nik::parse(&r[0]).unwrap())
        .collect();
    assert!(niks.is_subset(&civil));
    // The report adds up: every record is matched or on the work list.
    for s in &summary.sources {
        let c = &s.counts;
        assert_eq!(
            c.records,
            c.matched + c.ambiguous + c.unmatched,
            "{}",
            s.name
        );
        assert_eq!(
            c.matched,
            c.padan + c.corrected + c.matched_without_nik,
            "{}",
            s.name
        );
    }
    std::fs::remove_dir_all(out).unwrap();
}
