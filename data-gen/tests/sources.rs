//! `--sources`: the civil register and the three sources, checked against
//! the register (the truth) and the documented rates; byte-identical
//! whatever the thread count.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use tepat::register::RowParser;
use tepat::{Nik, RegionCode, Registry};
use tepat_gen::output::{self, Options};
use tepat_gen::sources::{self, KINDS};
use tepat_gen::{Config, Generator};

const PERSONS: u64 = 40_000;

fn run(tag: &str, threads: usize, region: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tepat-gen-src-{}-{tag}", std::process::id()));
    let g = Generator::new(Config {
        persons: PERSONS,
        seed: 3,
        threads,
        region: region.map(|r| RegionCode::parse(r).unwrap()),
        ..Config::default()
    })
    .unwrap();
    output::write_with(&g, &dir, Options { sources: true }, |_| {}).unwrap();
    dir
}

fn all_files() -> Vec<&'static str> {
    let mut files: Vec<&str> = output::FILES.to_vec();
    files.extend(sources::FILES);
    files.extend(sources::TRUTH_FILES);
    files.push("truth/summary.json");
    files
}

#[test]
fn sources_do_not_depend_on_threads_and_leave_the_register_alone() {
    let one = run("t1", 1, Some("3471"));
    for threads in [2, 3] {
        let other = run(&format!("t{threads}"), threads, Some("3471"));
        for f in all_files() {
            let a = std::fs::read(one.join(f)).unwrap();
            let b = std::fs::read(other.join(f)).unwrap();
            assert!(a == b, "{f} differs with {threads} threads");
        }
        std::fs::remove_dir_all(other).unwrap();
    }
    // The five files are those of a run without sources.
    let g = Generator::new(Config {
        persons: PERSONS,
        seed: 3,
        threads: 2,
        region: Some(RegionCode::parse("3471").unwrap()),
        ..Config::default()
    })
    .unwrap();
    let plain = std::env::temp_dir().join(format!("tepat-gen-src-{}-plain", std::process::id()));
    output::write_all(&g, &plain, |_| {}).unwrap();
    for f in output::FILES {
        assert!(
            std::fs::read(one.join(f)).unwrap() == std::fs::read(plain.join(f)).unwrap(),
            "{f} changed when the sources were written"
        );
    }
    std::fs::remove_dir_all(plain).unwrap();
    std::fs::remove_dir_all(one).unwrap();
}

struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let split = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
        let header = split(lines.next().unwrap());
        let rows: Vec<Vec<String>> = lines.map(split).collect();
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{}: {r:?}", path.display());
        }
        Csv { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap()
    }
}

/// Number of positions where two equal-length strings differ.
fn hamming(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count()
}

fn check_rate(what: &str, got: u64, of: u64, rate: f64) {
    let expected = of as f64 * rate;
    let tolerance = 4.0 * expected.sqrt() + 3.0;
    assert!(
        (got as f64 - expected).abs() <= tolerance,
        "{what}: {got} of {of}, expected {expected:.0} ± {tolerance:.0}"
    );
}

#[test]
fn every_source_record_is_a_register_person_with_its_injections() {
    let dir = run("check", 2, None);
    let register = std::fs::read_to_string(dir.join("register.csv")).unwrap();
    let parser = RowParser::new(Registry::builtin());
    let mut persons = HashMap::new();
    for line in register.lines().skip(1) {
        let r = parser.parse(line).unwrap();
        persons.entry(r.nik).or_insert(r);
    }
    let civil = Csv::read(&dir.join("dukcapil.csv"));
    assert_eq!(civil.header.join(","), sources::DUKCAPIL_HEADER);
    let mut civil_niks = HashSet::new();
    for row in &civil.rows {
        let nik = Nik::parse(&row[0]).unwrap();
        assert!(civil_niks.insert(nik), "{nik} twice in the civil register");
        let p = &persons[&nik];
        assert_eq!(row[1], p.kk.to_string());
        assert_eq!(row[7], format!("{:010}", p.village));
        assert!(!row[3].is_empty() && row[3] == row[3].to_uppercase());
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["civil_records"], civil.rows.len() as u64);
    assert_eq!(
        civil.rows.len() as u64 + summary["absent_from_civil_persons"].as_u64().unwrap(),
        persons.len() as u64,
        "every person is in the civil register or counted absent"
    );
    let mut total = 0;
    for (s, name) in sources::SOURCES.iter().enumerate() {
        let data = Csv::read(&dir.join(sources::FILES[1 + s]));
        let truth = Csv::read(&dir.join(sources::TRUTH_FILES[s]));
        assert_eq!(data.rows.len(), truth.rows.len());
        total += data.rows.len();
        let mut ids = HashSet::new();
        let mut kinds = [0u64; KINDS.len()];
        let (nik_col, kk_col) = (data.col("nik"), data.col("kk"));
        for (row, t) in data.rows.iter().zip(&truth.rows) {
            assert_eq!(row[0], t[0], "truth rows follow the data rows");
            assert!(ids.insert(row[0].clone()), "id {} twice", row[0]);
            let person = &persons[&Nik::parse(&t[1]).unwrap()];
            let injected: Vec<&str> = t[2].split('|').filter(|k| !k.is_empty()).collect();
            for k in &injected {
                kinds[KINDS.iter().position(|x| x == k).unwrap()] += 1;
            }
            let given = &row[nik_col];
            let truth_nik = person.nik.to_string();
            if injected.contains(&"no_nik") {
                assert!(given.is_empty());
            } else if injected.contains(&"nik_digit") {
                assert_eq!(hamming(given, &truth_nik), 1);
            } else if injected.contains(&"nik_swap") {
                assert_eq!(hamming(given, &truth_nik), 2);
            } else if injected.contains(&"nik_unknown") {
                assert!(!civil_niks.contains(&Nik::parse(given).unwrap()));
            } else {
                assert_eq!(given, &truth_nik);
            }
            assert_eq!(
                injected.contains(&"stale_kk"),
                row[kk_col] != person.kk.to_string()
            );
            assert_eq!(injected.contains(&"died"), person.deceased);
            assert_eq!(
                injected.contains(&"absent_from_civil"),
                !civil_niks.contains(&person.nik)
            );
        }
        let records = data.rows.len() as u64;
        let reported = &summary["sources"][name];
        assert_eq!(reported["records"], records);
        for (k, n) in KINDS.iter().zip(kinds) {
            assert_eq!(reported["injected"][k], n, "{name} {k}");
        }
        let with_nik = records;
        check_rate(
            &format!("{name} no_nik"),
            kinds[0],
            with_nik,
            sources::NO_NIK,
        );
        check_rate(
            &format!("{name} nik_digit"),
            kinds[1],
            with_nik,
            sources::NIK_DIGIT,
        );
        check_rate(
            &format!("{name} nik_swap"),
            kinds[2],
            with_nik,
            sources::NIK_SWAP,
        );
        check_rate(
            &format!("{name} duplicate"),
            kinds[7],
            records,
            sources::DUPLICATE,
        );
        check_rate(
            &format!("{name} name_typo"),
            kinds[10],
            records,
            sources::NAME_TYPO,
        );
    }
    // Three sources of together about 300 M rows at 289 M persons.
    let share = total as f64 / persons.len() as f64;
    assert!((0.95..1.2).contains(&share), "{share}");
    std::fs::remove_dir_all(dir).unwrap();
}
