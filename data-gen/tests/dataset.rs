//! Checks the 1 M-person dataset: distributions within stated tolerances,
//! and every count of `truth.json` recounted from the CSV files alone.
//!
//! The dataset is generated once per test binary into a temporary
//! directory.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use tepat::program::PersonFacts;
use tepat::register::{PersonRecord, RowParser};
use tepat::{Date, Kk, Nik, Period, ProgramSet, RegionTable, Registry, Sex, Unit};
use tepat_gen::{Config, Generator, output};

const PERSONS: u64 = 1_000_000;

struct Dataset {
    truth: Value,
    records: Vec<PersonRecord>,
    payees: Vec<String>,
    payees_truth: Vec<String>,
    changes: Vec<String>,
    as_of: Date,
}

fn dataset() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("tepat-gen-1m-{}", std::process::id()));
        let config = Config {
            persons: PERSONS,
            seed: 42,
            threads: 2,
            ..Config::default()
        };
        let as_of = config.as_of;
        let g = Generator::new(config).unwrap();
        output::write_all(&g, &dir, |_| {}).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let lines =
            |name: &str| -> Vec<String> { read(name).lines().skip(1).map(str::to_owned).collect() };
        let register = read("register.csv");
        let mut it = register.lines();
        RowParser::check_header(it.next().unwrap()).unwrap();
        let parser = RowParser::new(Registry::builtin());
        let records = it.map(|l| parser.parse(l).unwrap()).collect();
        let data = Dataset {
            truth: serde_json::from_str(&read("truth.json")).unwrap(),
            records,
            payees: lines("payees.csv"),
            payees_truth: lines("payees_truth.csv"),
            changes: lines("changes.csv"),
            as_of,
        };
        let _ = std::fs::remove_dir_all(&dir);
        data
    })
}

fn truth_u64(path: &[&str]) -> u64 {
    let mut v = &dataset().truth;
    for key in path {
        v = &v[*key];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("truth.json has no {path:?}"))
}

fn scaled(national: f64) -> f64 {
    national * PERSONS as f64 / 289e6
}

fn assert_near(what: &str, got: f64, want: f64, tolerance: f64) {
    let rel = (got - want).abs() / want;
    assert!(
        rel <= tolerance,
        "{what}: got {got:.1}, want {want:.1} ± {:.0} %",
        tolerance * 100.0
    );
}

// ---------------------------------------------------------------- distributions

#[test]
fn province_shares_follow_population() {
    let d = dataset();
    let pop = include_str!("../../data/wilayah/population.csv");
    let mut want: HashMap<u8, f64> = HashMap::new();
    for line in pop.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[0].len() == 2 {
            want.insert(f[0].parse().unwrap(), f[2].parse().unwrap());
        }
    }
    let total: f64 = want.values().sum();
    let mut got: HashMap<u8, f64> = HashMap::new();
    for r in &d.records {
        *got.entry((r.village / 100_000_000) as u8).or_default() += 1.0;
    }
    for (p, pop) in &want {
        let share = pop / total;
        let have = got.get(p).copied().unwrap_or(0.0) / PERSONS as f64;
        // Apportionment is exact up to rounding: 1e-4 absolute.
        assert!(
            (have - share).abs() < 1e-4,
            "province {p}: {have} vs {share}"
        );
    }
}

#[test]
fn families_ages_and_sexes_are_realistic() {
    let d = dataset();
    let families: HashSet<Kk> = d.records.iter().map(|r| r.kk).collect();
    let mean = d.records.len() as f64 / families.len() as f64;
    assert!((mean - 3.04).abs() <= 0.1, "mean family size {mean}");
    let mut bands = [0.0; 3];
    let mut men = 0.0;
    for r in &d.records {
        let age = r.birth_date.age_on(d.as_of);
        bands[if age < 15 {
            0
        } else if age < 65 {
            1
        } else {
            2
        }] += 1.0;
        if r.sex == Sex::Male {
            men += 1.0;
        }
    }
    let n = d.records.len() as f64;
    assert!(
        (bands[0] / n - 0.23).abs() < 0.015,
        "0-14: {}",
        bands[0] / n
    );
    assert!(
        (bands[1] / n - 0.695).abs() < 0.015,
        "15-64: {}",
        bands[1] / n
    );
    assert!((bands[2] / n - 0.075).abs() < 0.01, "65+: {}", bands[2] / n);
    let ratio = 100.0 * men / (n - men);
    assert!((ratio - 101.9).abs() < 1.5, "sex ratio {ratio}");
    // Family sizes spread from 1 to 10 and more.
    let mut sizes: HashMap<Kk, usize> = HashMap::new();
    for r in &d.records {
        *sizes.entry(r.kk).or_default() += 1;
    }
    assert!(sizes.values().any(|&s| s == 1));
    assert!(sizes.values().any(|&s| s >= 10));
}

#[test]
fn birth_dates_heap_on_new_year_and_mid_year() {
    let d = dataset();
    let count = |m: u8, day: u8| {
        d.records
            .iter()
            .filter(|r| r.birth_date.month() == m && r.birth_date.day() == day)
            .count() as f64
    };
    let typical = count(3, 15).max(1.0);
    for (m, day) in [(1, 1), (7, 1), (12, 31)] {
        assert!(
            count(m, day) > 5.0 * typical,
            "{day}/{m}: {} vs {typical}",
            count(m, day)
        );
    }
}

#[test]
fn deciles_are_national_ranks_that_follow_poverty() {
    let d = dataset();
    let mut per_decile = [0.0; 10];
    let mut poorest: HashMap<u8, (f64, f64)> = HashMap::new();
    for r in &d.records {
        per_decile[usize::from(r.decile - 1)] += 1.0;
        let e = poorest.entry((r.village / 100_000_000) as u8).or_default();
        e.1 += 1.0;
        if r.decile == 1 {
            e.0 += 1.0;
        }
    }
    for (k, n) in per_decile.iter().enumerate() {
        let share = n / PERSONS as f64;
        assert!((share - 0.1).abs() < 0.01, "decile {}: {share}", k + 1);
    }
    let share = |p: u8| poorest[&p].0 / poorest[&p].1;
    assert!(
        share(95) > 3.0 * share(51),
        "Papua Pegunungan {} vs Bali {}",
        share(95),
        share(51)
    );
    // Rank correlation with the BPS rates over all provinces.
    let poverty = include_str!("../../data/poverty/provinces.csv");
    let mut pairs = Vec::new();
    for line in poverty.lines().skip(2) {
        let f: Vec<&str> = line.split(',').collect();
        let code: u8 = f[0].parse().unwrap();
        let rate: f64 = f[2].parse().unwrap_or(6.03);
        pairs.push((rate, share(code)));
    }
    let corr = correlation(&pairs);
    assert!(
        corr > 0.9,
        "correlation of poorest-decile share with poverty: {corr}"
    );
}

fn correlation(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let vx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn program_sizes_follow_the_scaled_targets() {
    let families = |code: &str| truth_u64(&["programs", code, "families"]) as f64;
    let persons = |code: &str| truth_u64(&["programs", code, "persons"]) as f64;
    assert_near("PKH families", families("PKH"), scaled(10.0e6), 0.05);
    assert_near(
        "SEMBAKO families",
        families("SEMBAKO"),
        scaled(18.8e6),
        0.05,
    );
    assert_near(
        "PKH and SEMBAKO",
        truth_u64(&["pkh_and_sembako_families"]) as f64,
        scaled(7.8e6),
        0.05,
    );
    assert_near("BLT_DD families", families("BLT_DD"), scaled(3.0e6), 0.08);
    assert_near("PBI_JK persons", persons("PBI_JK"), scaled(96.8e6), 0.05);
    assert_near("PIP persons", persons("PIP"), scaled(18.6e6), 0.05);
    assert_near("ATENSI persons", persons("ATENSI"), scaled(200e3), 0.2);
    assert_near("YAPI persons", persons("YAPI"), scaled(270e3), 0.2);
    assert_near(
        "PERMAKANAN persons",
        persons("PERMAKANAN"),
        scaled(50e3),
        0.3,
    );
    assert_near(
        "duplicate NIK rows",
        truth_u64(&["injected", "duplicate_nik_rows"]) as f64,
        scaled(1.06e6),
        0.1,
    );
    let enrolled = dataset()
        .records
        .iter()
        .filter(|r| !r.programs.is_empty())
        .count() as f64;
    assert_near(
        "deceased enrolled",
        truth_u64(&["injected", "deceased_enrolled_persons"]) as f64,
        0.0024 * enrolled,
        0.15,
    );
    let civil = dataset().records.iter().filter(|r| r.civil_servant).count() as f64;
    assert!(
        civil / PERSONS as f64 > 0.01 && civil / (PERSONS as f64) < 0.04,
        "civil servants {civil}"
    );
    let rich = dataset()
        .records
        .iter()
        .filter(|r| r.civil_servant && r.decile >= 6)
        .count() as f64;
    assert!(
        rich / civil > 0.9,
        "civil servants in deciles 6-10: {}",
        rich / civil
    );
}

// ---------------------------------------------------------------- truth recount

struct Recount {
    programs: Vec<(u64, u64)>,
    inclusion: Vec<u64>,
    exclusion: Vec<u64>,
}

fn facts(r: &PersonRecord, as_of: Date) -> PersonFacts {
    PersonFacts {
        decile: r.decile,
        age: r.birth_date.age_on(as_of),
        recorded: r.components,
        civil_servant: r.civil_servant,
    }
}

fn recount() -> Recount {
    let d = dataset();
    let registry = Registry::builtin();
    let mut by_kk: HashMap<Kk, Vec<usize>> = HashMap::new();
    for (i, r) in d.records.iter().enumerate() {
        by_kk.entry(r.kk).or_default().push(i);
    }
    let n = registry.len();
    let mut out = Recount {
        programs: vec![(0, 0); n],
        inclusion: vec![0; n],
        exclusion: vec![0; n],
    };
    let family_mask = registry.family_programs();
    for members in by_kk.values() {
        let first = &d.records[members[0]];
        let living: Vec<PersonFacts> = members
            .iter()
            .map(|&i| &d.records[i])
            .filter(|r| !r.deceased)
            .map(|r| facts(r, d.as_of))
            .collect();
        let family_eligible = if living.is_empty() {
            ProgramSet::EMPTY
        } else {
            registry.family_eligibility(first.decile, &living)
        };
        for id in first.programs.iter().filter(|id| family_mask.contains(*id)) {
            out.programs[id.index()].1 += 1;
        }
        for &i in members {
            let r = &d.records[i];
            for id in r.programs.iter() {
                out.programs[id.index()].0 += 1;
            }
            if r.deceased {
                continue;
            }
            let eligible =
                ProgramSet(registry.person_eligibility(&facts(r, d.as_of)).0 | family_eligible.0);
            for id in ProgramSet(r.programs.0 & !eligible.0).iter() {
                out.inclusion[id.index()] += 1;
            }
            for id in ProgramSet(eligible.0 & !r.programs.0).iter() {
                out.exclusion[id.index()] += 1;
            }
        }
    }
    out
}

#[test]
fn truth_counts_match_a_recount_of_the_register() {
    let d = dataset();
    let registry = Registry::builtin();
    let regions = RegionTable::builtin();
    assert_eq!(truth_u64(&["persons"]), d.records.len() as u64);
    let kks: HashSet<Kk> = d.records.iter().map(|r| r.kk).collect();
    assert_eq!(truth_u64(&["families"]), kks.len() as u64);
    let niks: HashSet<Nik> = d.records.iter().map(|r| r.nik).collect();
    let duplicates = (d.records.len() - niks.len()) as u64;
    assert!(duplicates > 0);
    assert_eq!(truth_u64(&["injected", "duplicate_nik_rows"]), duplicates);

    let r = recount();
    for (i, p) in registry.programs().iter().enumerate() {
        assert_eq!(
            truth_u64(&["programs", &p.code, "persons"]),
            r.programs[i].0,
            "{}",
            p.code
        );
        let fam = &d.truth["programs"][&p.code]["families"];
        match p.unit {
            Unit::Family => assert_eq!(fam.as_u64(), Some(r.programs[i].1), "{}", p.code),
            Unit::Person => assert!(fam.is_null(), "{}", p.code),
        }
        assert_eq!(
            truth_u64(&["injected", "inclusion_errors", &p.code]),
            r.inclusion[i],
            "inclusion {}",
            p.code
        );
        assert_eq!(
            truth_u64(&["injected", "exclusion_errors", &p.code]),
            r.exclusion[i],
            "exclusion {}",
            p.code
        );
        assert!(
            r.inclusion[i] > 0,
            "no inclusion errors injected for {}",
            p.code
        );
    }
    let id = |c: &str| registry.by_code(c).unwrap();
    let (pkh, sembako, blt) = (id("PKH"), id("SEMBAKO"), id("BLT_DD"));
    let mut family_sets: HashMap<Kk, ProgramSet> = HashMap::new();
    for rec in &d.records {
        family_sets.insert(
            rec.kk,
            ProgramSet(rec.programs.0 & registry.family_programs().0),
        );
    }
    let both = family_sets
        .values()
        .filter(|s| s.contains(pkh) && s.contains(sembako))
        .count() as u64;
    assert_eq!(truth_u64(&["pkh_and_sembako_families"]), both);
    let conflicts = family_sets
        .values()
        .filter(|s| s.contains(blt) && (s.contains(pkh) || s.contains(sembako)))
        .count() as u64;
    assert!(conflicts > 0);
    assert_eq!(
        truth_u64(&["injected", "blt_dd_conflict_families"]),
        conflicts
    );
    let count =
        |f: &dyn Fn(&PersonRecord) -> bool| d.records.iter().filter(|r| f(r)).count() as u64;
    assert_eq!(
        truth_u64(&["injected", "deceased_enrolled_persons"]),
        count(&|r| r.deceased && !r.programs.is_empty())
    );
    assert_eq!(
        truth_u64(&["injected", "civil_servants_enrolled"]),
        count(&|r| r.civil_servant && !r.programs.is_empty())
    );
    let former = |r: &PersonRecord| {
        regions
            .district(r.nik.district_code())
            .is_some_and(|x| x.is_former())
    };
    let elsewhere =
        |r: &PersonRecord| !former(r) && u64::from(r.nik.district_code()) != r.village / 10_000;
    let former_count = count(&former);
    assert!(former_count > 0);
    assert!(d.records.iter().filter(|r| former(r)).all(|r| matches!(
        r.nik.province_code(),
        91 | 92
    ) && matches!(
        r.village / 100_000_000,
        93..=96
    )));
    assert_eq!(truth_u64(&["injected", "former_region_niks"]), former_count);
    let elsewhere_count = count(&elsewhere);
    assert!(
        elsewhere_count as f64 > 0.01 * PERSONS as f64
            && (elsewhere_count as f64) < 0.06 * PERSONS as f64
    );
    assert_eq!(
        truth_u64(&["injected", "niks_issued_elsewhere"]),
        elsewhere_count
    );
}

#[test]
fn niks_kks_and_villages_are_valid() {
    let d = dataset();
    let regions = RegionTable::builtin();
    let mut seen = HashSet::new();
    for r in &d.records {
        assert!(Nik::parse(&r.nik.to_string()).is_ok());
        assert!(Kk::parse(&r.kk.to_string()).is_ok());
        assert!(regions.village(r.village).is_some(), "{}", r.village);
        assert_eq!(
            u64::from(r.kk.district_code()),
            r.village / 10_000,
            "KK district is the residence"
        );
        seen.insert(r.nik);
    }
    // Heads: one per family.
    let heads: HashSet<Kk> = d
        .records
        .iter()
        .filter(|r| r.relation == tepat::register::Relation::Head)
        .map(|r| r.kk)
        .collect();
    let kks: HashSet<Kk> = d.records.iter().map(|r| r.kk).collect();
    assert_eq!(heads.len(), kks.len());
    // Family programs appear on every member.
    let fam = Registry::builtin().family_programs().0;
    let mut sets: HashMap<Kk, u32> = HashMap::new();
    for r in &d.records {
        let s = *sets.entry(r.kk).or_insert(r.programs.0 & fam);
        assert_eq!(
            s,
            r.programs.0 & fam,
            "family programs differ within {}",
            r.kk
        );
    }
}

// ---------------------------------------------------------------- payees

#[test]
fn payee_rows_are_what_payees_truth_says() {
    let d = dataset();
    let registry = Registry::builtin();
    assert_eq!(d.payees.len(), d.payees_truth.len());
    assert_eq!(truth_u64(&["payees", "rows"]), d.payees.len() as u64);
    assert_eq!(d.payees.len() as u64, PERSONS / 10);
    let by_nik: HashMap<Nik, Vec<&PersonRecord>> =
        d.records.iter().fold(HashMap::new(), |mut m, r| {
            m.entry(r.nik).or_default().push(r);
            m
        });
    let family_sets: HashMap<Kk, ProgramSet> =
        d.records
            .iter()
            .map(|r| (r.kk, r.programs))
            .fold(HashMap::new(), |mut m, (k, p)| {
                let e = m.entry(k).or_insert(ProgramSet::EMPTY);
                *e = ProgramSet(e.0 | p.0);
                m
            });
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut payable_seen: HashSet<&str> = HashSet::new();
    let mut family_claims: HashSet<(Kk, String)> = HashSet::new();
    let periods = ["2026-11", "2026-Q4", "2026", "once"];
    for (i, (line, truth)) in d.payees.iter().zip(&d.payees_truth).enumerate() {
        let (no, category) = truth.split_once(',').unwrap();
        assert_eq!(
            no.parse::<usize>().unwrap(),
            i + 2,
            "line numbers count from the header"
        );
        *counts.entry(category.to_owned()).or_default() += 1;
        let f: Vec<&str> = line.split(',').collect();
        let well_formed = f.len() == 4
            && registry.by_code(f[1]).is_some()
            && Period::parse(f[2]).is_ok()
            && f[3].parse::<u64>().is_ok_and(|a| a > 0);
        if category == "malformed" {
            assert!(!well_formed, "{line}");
            continue;
        }
        assert!(well_formed, "{category}: {line}");
        let id = registry.by_code(f[1]).unwrap();
        let program = registry.program(id);
        let right_kind = registry.period_for(id, f[2]).is_ok();
        assert!(periods.contains(&f[2]));
        assert_eq!(
            right_kind,
            category != "wrong_period_kind",
            "{category}: {line}"
        );
        if category == "invalid_nik" {
            assert!(Nik::parse(f[0]).is_err(), "{line}");
            continue;
        }
        let nik = Nik::parse(f[0]).unwrap();
        let Some(rows) = by_nik.get(&nik) else {
            assert_eq!(category, "unknown_nik", "{line}");
            continue;
        };
        assert_ne!(category, "unknown_nik", "{line}");
        assert_eq!(rows.len(), 1, "a duplicate NIK in the payee list: {line}");
        let r = rows[0];
        let enrolled = match program.unit {
            Unit::Person => r.programs.contains(id),
            Unit::Family => family_sets[&r.kk].contains(id),
        };
        let family = family_sets[&r.kk];
        let conflict = program.excludes.iter().any(|e| family.contains(e.program));
        match category {
            "payable" | "wrong_period_kind" | "repeated" => {
                assert!(
                    enrolled && !r.deceased && !r.civil_servant && !conflict,
                    "{category}: {line}"
                );
                if category == "payable" {
                    assert!(payable_seen.insert(line), "payable row twice: {line}");
                    if program.unit == Unit::Family {
                        assert!(
                            family_claims.insert((r.kk, f[1].to_owned())),
                            "two payable rows for one family: {line}"
                        );
                    }
                } else if category == "repeated" {
                    assert!(
                        payable_seen.contains(line.as_str()),
                        "repeated row without an earlier payable copy: {line}"
                    );
                }
            }
            "deceased" => assert!(
                enrolled && r.deceased && !r.civil_servant && !conflict,
                "{line}"
            ),
            "not_enrolled" => assert!(
                !enrolled && !r.deceased && !r.civil_servant && !conflict,
                "{line}"
            ),
            "excluded" => assert!(
                enrolled && conflict && f[1] == "BLT_DD" && !r.deceased,
                "{line}"
            ),
            "civil_servant" => assert!(
                enrolled && r.civil_servant && !r.deceased && !conflict,
                "{line}"
            ),
            other => panic!("unexpected category {other}"),
        }
    }
    for (name, n) in d.truth["payees"]["by_category"].as_object().unwrap() {
        assert_eq!(
            counts.get(name).copied().unwrap_or(0),
            n.as_u64().unwrap(),
            "{name}"
        );
        assert!(n.as_u64().unwrap() > 0, "no {name} rows");
    }
}

// ---------------------------------------------------------------- changes

#[test]
fn changes_refer_to_what_exists() {
    let d = dataset();
    let niks: HashSet<Nik> = d.records.iter().map(|r| r.nik).collect();
    let kks: HashSet<Kk> = d.records.iter().map(|r| r.kk).collect();
    let registry = Registry::builtin();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let mut born = HashSet::new();
    let mut new_kks = HashSet::new();
    for line in &d.changes {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 14, "{line}");
        *counts.entry(f[0]).or_default() += 1;
        let date = Date::parse_iso(f[13]).unwrap();
        assert!(date >= d.as_of && date.month() == d.as_of.month(), "{line}");
        let kind = f[0];
        match kind {
            "death" | "enrol" | "remove" | "move" => {
                assert!(niks.contains(&Nik::parse(f[1]).unwrap()), "{line}")
            }
            "birth" => {
                let nik = Nik::parse(f[1]).unwrap();
                assert!(!niks.contains(&nik) && born.insert(nik), "{line}");
                assert!(kks.contains(&Kk::parse(f[2]).unwrap()), "{line}");
                assert_eq!(f[3], "child");
                assert_eq!(Date::parse_iso(f[6]).unwrap().month(), d.as_of.month());
                assert!(registry.parse_set(f[11]).is_ok());
            }
            "decile" => {
                assert!(kks.contains(&Kk::parse(f[2]).unwrap()), "{line}");
                assert!((1..=10).contains(&f[7].parse::<u8>().unwrap()));
            }
            other => panic!("unknown kind {other}"),
        }
        if kind == "move" {
            let kk = Kk::parse(f[2]).unwrap();
            assert!(kks.contains(&kk) || new_kks.insert(kk), "{line}");
        }
        if matches!(kind, "enrol" | "remove") {
            assert!(registry.by_code(f[12]).is_some(), "{line}");
        }
    }
    for (kind, n) in d.truth["changes"]["by_kind"].as_object().unwrap() {
        assert_eq!(
            counts.get(kind.as_str()).copied().unwrap_or(0),
            n.as_u64().unwrap(),
            "{kind}"
        );
        assert!(n.as_u64().unwrap() > 0, "no {kind} changes");
    }
    assert_near(
        "deaths",
        counts["death"] as f64,
        0.0006 * PERSONS as f64,
        0.05,
    );
    assert_near(
        "births",
        counts["birth"] as f64,
        0.0013 * PERSONS as f64,
        0.05,
    );
}
