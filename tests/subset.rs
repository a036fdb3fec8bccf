//! Payout-point stores (`Store::subset`): a point's verdicts are the
//! national store's for everyone who lives in its regions, with pending
//! changes; everyone else is unknown there; a cut of many points in one
//! pass equals the points cut one by one.

mod common;

use std::collections::HashSet;
use std::path::Path;

use tepat::region::Level;
use tepat::register::PersonRecord;
use tepat::store::{POINT_FILE, PointSpec};
use tepat::{ReasonCode, RegionCode, Store, Verdict};

const PERIODS: [(&str, &str); 3] = [
    ("PKH", "2026-Q4"),
    ("SEMBAKO", "2026-11"),
    ("PBI_JK", "2026-11"),
];

/// Villages of three regencies: 3201 and 3171 (points), 3273 (elsewhere).
fn villages() -> Vec<u64> {
    let all = common::regions().level(Level::Village);
    ["3201", "3171", "3273"]
        .iter()
        .flat_map(|regency| {
            all.iter()
                .map(|v| v.code.value())
                .filter(|v| v.to_string().starts_with(regency))
                .take(4)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A register whose families live in those villages; one family in ten
/// has a member in another regency than the rest.
fn register() -> Vec<PersonRecord> {
    let villages = villages();
    let mut records = common::register(240, 17);
    let mut rng = common::Rng(5);
    let mut family = 0;
    let mut village = villages[0];
    for i in 0..records.len() {
        if i == 0 || records[i].kk != records[i - 1].kk {
            family += 1;
            village = villages[rng.below(villages.len() as u64) as usize];
        }
        let split = family % 10 == 0 && i + 1 < records.len() && records[i + 1].kk != records[i].kk;
        records[i].village = if split {
            villages[(family / 10) % villages.len()]
        } else {
            village
        };
    }
    // A duplicate identity across two regencies: a member in 3201 shares
    // the NIK of a member of a family that lives wholly in 3273.
    let lives = |r: &PersonRecord, regency: &str| r.village.to_string().starts_with(regency);
    let outside = (0..records.len())
        .find(|&i| {
            records
                .iter()
                .filter(|o| o.kk == records[i].kk)
                .all(|o| lives(o, "3273"))
        })
        .unwrap();
    let inside = (0..records.len())
        .rev()
        .find(|&i| lives(&records[i], "3201"))
        .unwrap();
    records[inside].nik = records[outside].nik;
    records
}

/// A month of changes at the national store: a member of a family in 3273
/// moves into a family in 3201, a death in 3171.
fn apply_changes(national: &Store, records: &[PersonRecord]) -> (u64, u64) {
    let inside = |r: &&PersonRecord, regency: &str| r.village.to_string().starts_with(regency);
    let host = records.iter().find(|r| inside(r, "3201")).unwrap();
    let mover = records
        .iter()
        .find(|r| {
            inside(r, "3273")
                && records.iter().filter(|o| o.nik == r.nik).count() == 1
                && records
                    .iter()
                    .filter(|o| o.kk == r.kk)
                    .all(|o| inside(&o, "3273"))
        })
        .unwrap();
    let dead = records
        .iter()
        .find(|r| {
            inside(r, "3171")
                && !r.deceased
                && records.iter().filter(|o| o.nik == r.nik).count() == 1
        })
        .unwrap();
    let changes = format!(
        "{}\nmove,{},{},child,{},,,{},,,,,,2026-11-05\ndeath,{},,,,,,,,,,,,2026-11-06\n",
        tepat::change::HEADER,
        mover.nik,
        host.kk,
        host.village,
        host.decile,
        dead.nik
    );
    national
        .apply_csv(changes.as_bytes(), "changes.csv")
        .unwrap();
    (mover.nik.get(), dead.nik.get())
}

fn point(id: &str, regions: &[&str], programs: Option<&[&str]>, out: &Path) -> PointSpec {
    PointSpec {
        id: id.into(),
        regions: regions
            .iter()
            .map(|r| RegionCode::parse(r).unwrap())
            .collect(),
        programs: programs.map(|p| p.iter().map(|s| s.to_string()).collect()),
        out: out.to_path_buf(),
        key: None,
    }
}

/// The NIKs of the families with a member living in `regions`, as the
/// national store has them now.
fn expected_niks(national: &Store, records: &[PersonRecord], regions: &[&str]) -> HashSet<u64> {
    let snap = national.snapshot();
    let count = |nik: u64| records.iter().filter(|r| r.nik.get() == nik).count();
    // (NIK, KK, village) now: a duplicate identity as registered (no
    // change applies to one), anyone else as the store has them.
    let now: Vec<(u64, u64, u64)> = records
        .iter()
        .map(|r| {
            let nik = r.nik.get();
            if count(nik) > 1 {
                return (nik, r.kk.get(), r.village);
            }
            let live = national.person(&snap, nik).unwrap().unwrap().to_live();
            (nik, live.kk, live.village)
        })
        .collect();
    let mut families: HashSet<u64> = now
        .iter()
        .filter(|(_, _, v)| regions.iter().any(|r| v.to_string().starts_with(r)))
        .map(|(_, kk, _)| *kk)
        .collect();
    // A duplicate identity brings every family that holds its NIK.
    loop {
        let held: HashSet<u64> = now
            .iter()
            .filter(|(_, kk, _)| families.contains(kk))
            .map(|(n, _, _)| *n)
            .collect();
        let more: Vec<u64> = now
            .iter()
            .filter(|(n, kk, _)| held.contains(n) && !families.contains(kk))
            .map(|(_, kk, _)| *kk)
            .collect();
        if more.is_empty() {
            break;
        }
        families.extend(more);
    }
    now.iter()
        .filter(|(_, kk, _)| families.contains(kk))
        .map(|(n, _, _)| *n)
        .collect()
}

fn unknown(v: &Verdict) -> bool {
    v.reasons.iter().any(|r| r == ReasonCode::UnknownNik)
}

#[test]
fn a_point_answers_as_the_national_store_for_its_families_and_knows_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national = common::create_store(&records, &dir.path().join("national"));
    let (mover, dead) = apply_changes(&national, &records);
    let regions = ["3201", "317101"];
    let out = dir.path().join("point");
    let cut = national
        .subset(&[point("bogor", &regions, None, &out)], None)
        .unwrap();
    let point = common::open(&out);
    let inside = expected_niks(&national, &records, &regions);
    assert!(inside.contains(&mover), "the mover's new family is in 3201");
    let distinct: HashSet<u64> = records.iter().map(|r| r.nik.get()).collect();
    let outside = distinct.len() - inside.len();
    assert!(
        inside.len() > 20 && outside > 50,
        "{} in, {outside} out",
        inside.len()
    );
    let mut checked = 0;
    for nik in &distinct {
        let text = format!("{nik:016}");
        for (program, period) in PERIODS {
            let at_point = point.check_str(&text, program, period).unwrap();
            if inside.contains(nik) {
                let there = national.check_str(&text, program, period).unwrap();
                assert_eq!(at_point, there, "NIK {text} {program} {period}");
                checked += 1;
            } else {
                assert!(
                    unknown(&at_point),
                    "NIK {text} lives elsewhere: {at_point:?}"
                );
            }
        }
    }
    assert!(checked > 60);
    let d = format!("{dead:016}");
    if inside.contains(&dead) {
        assert!(
            point
                .check_str(&d, "PBI_JK", "2026-11")
                .unwrap()
                .reasons
                .iter()
                .any(|r| r == ReasonCode::Deceased)
        );
    }
    assert_eq!(
        cut[0].persons as usize,
        records
            .iter()
            .filter(|r| inside.contains(&r.nik.get()))
            .count()
    );
    // The villages of its regions (a birth or a move into one is a change
    // it takes), and those a member lives in elsewhere; without names.
    let villages = point.snapshot().village_codes();
    let ours: Vec<u64> = common::regions()
        .level(Level::Village)
        .iter()
        .map(|v| v.code.value())
        .filter(|v| regions.iter().any(|r| v.to_string().starts_with(r)))
        .collect();
    assert!(ours.iter().all(|v| villages.contains(v)));
    assert!(
        villages.len() < ours.len() + 12,
        "{} villages",
        villages.len()
    );
    let table = point.snapshot().regions().clone();
    for v in &villages {
        assert_eq!(table.village(*v).map(|r| r.name.as_str()), Some(""), "{v}");
        let district = table.district((*v / 10_000) as u32).unwrap();
        assert!(!district.name.is_empty());
    }
    point.verify().unwrap();
    let origin = std::fs::read_to_string(out.join(POINT_FILE)).unwrap();
    assert!(origin.contains(&national.id().to_string()), "{origin}");
    assert!(origin.contains("\"3201\", \"317101\""), "{origin}");
}

#[test]
fn a_point_for_some_programs_answers_them_as_the_nation_and_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national = common::create_store(&records, &dir.path().join("national"));
    let out = dir.path().join("point");
    let cut = national
        .subset(
            &[point("sembako", &["3171"], Some(&["SEMBAKO"]), &out)],
            None,
        )
        .unwrap();
    let programs = &cut[0].programs;
    assert!(programs.contains(&"SEMBAKO".to_string()), "{programs:?}");
    assert!(!programs.contains(&"PBI_JK".to_string()), "{programs:?}");
    let point = common::open(&out);
    let inside = expected_niks(&national, &records, &["3171"]);
    for nik in &inside {
        let text = format!("{nik:016}");
        let at_point = point.check_str(&text, "SEMBAKO", "2026-11").unwrap();
        let there = national.check_str(&text, "SEMBAKO", "2026-11").unwrap();
        assert_eq!(at_point.payable, there.payable, "{text}");
        let codes = |v: &Verdict| v.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>();
        assert_eq!(codes(&at_point), codes(&there), "{text}");
        assert!(
            point.check_str(&text, "PBI_JK", "2026-11").is_err(),
            "PBI_JK is not paid here"
        );
    }
}

#[test]
fn many_points_in_one_pass_equal_the_points_cut_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national = common::create_store(&records, &dir.path().join("national"));
    let plan = [
        point("a", &["3201"], None, &dir.path().join("plan-a")),
        point(
            "b",
            &["3171", "3201"],
            Some(&["PKH"]),
            &dir.path().join("plan-b"),
        ),
        point("c", &["3273"], None, &dir.path().join("plan-c")),
    ];
    let together = national.subset(&plan, None).unwrap();
    for (spec, summary) in plan.iter().zip(&together) {
        let mut alone = spec.clone();
        alone.out = dir.path().join(format!("alone-{}", spec.id));
        let one = national.subset(&[alone.clone()], None).unwrap().remove(0);
        assert_eq!(
            (one.persons, one.families, &one.programs),
            (summary.persons, summary.families, &summary.programs)
        );
        let a = Store::open(&alone.out).unwrap();
        let b = Store::open(&spec.out).unwrap();
        let niks = |s: &Store| {
            s.snapshot()
                .persons()
                .map(|p| p.nik().get())
                .collect::<HashSet<_>>()
        };
        assert_eq!(niks(&a), niks(&b), "point {}", spec.id);
    }
    // A region the national table does not hold is refused, naming it.
    let bad = point("bad", &["3299"], None, &dir.path().join("bad"));
    let e = national.subset(&[bad], None).unwrap_err().to_string();
    assert!(e.contains("point bad") && e.contains("3299"), "{e}");
    // A point's directory that is not empty is refused before any work.
    let again = national.subset(&plan[..1], None).unwrap_err();
    assert!(again.to_string().contains("plan-a"), "{again}");
}
