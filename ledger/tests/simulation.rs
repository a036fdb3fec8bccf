//! Twenty payout points cut from one national store (`Store::subset`, by
//! province), payee lists that overlap on injected movers (a family with a
//! member living in another point's province is at both points, and on
//! both lists) and the register's duplicate identities, claims made
//! offline at every point, then every point synced at once: the ledger
//! reports exactly the keys paid at two points, nothing else, and its paid
//! counts are the points' own.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::collections::{BTreeMap, BTreeSet};

use common::{TestDb, claim};
use tepat::register::PersonRecord;
use tepat::store::{PayoutsFilter, PointSpec};
use tepat::{Level, RegionCode, Store};
use tepat_ledger::report::{By, report};

const POINTS: usize = 20;
const FAMILIES: usize = 400;

/// (program, period, key kind, key): what the ledger's unique index keys.
type Key = (String, String, String, i64);

/// A place for the stores: memory where there is some (every claim syncs).
fn scratch() -> tempfile::TempDir {
    match std::path::Path::new("/dev/shm") {
        d if d.is_dir() => tempfile::tempdir_in(d).unwrap(),
        _ => tempfile::tempdir().unwrap(),
    }
}

/// The families of the register, in order, by KK.
fn families(records: &[PersonRecord]) -> Vec<Vec<&PersonRecord>> {
    let mut out: Vec<Vec<&PersonRecord>> = Vec::new();
    for r in records {
        match out.last_mut() {
            Some(f) if f[0].kk == r.kk => f.push(r),
            _ => out.push(vec![r]),
        }
    }
    out
}

/// The provinces, numbered: point `p` serves those whose number is `p`
/// modulo [`POINTS`].
fn provinces() -> Vec<u64> {
    let table = stores::regions();
    table
        .level(Level::Province)
        .iter()
        .map(|r| r.code.value())
        .collect()
}

fn point_of_village(village: u64, provinces: &[u64]) -> usize {
    let at = provinces.iter().position(|p| *p == village / 100_000_000);
    at.expect("a province of the table") % POINTS
}

/// Injects the movers: in every ninth family of two or more, the last
/// member lives in a province of another point than the head's.
fn inject_movers(records: &mut [PersonRecord], provinces: &[u64]) {
    let villages = stores::regions().level(Level::Village);
    let mut starts: Vec<usize> = (0..records.len())
        .filter(|&i| i == 0 || records[i].kk != records[i - 1].kk)
        .collect();
    starts.push(records.len());
    for (f, w) in starts.windows(2).enumerate() {
        let (first, end) = (w[0], w[1]);
        if f % 9 != 4 || end - first < 2 {
            continue;
        }
        let home = point_of_village(records[first].village, provinces);
        let other = (home + 1 + f % 7) % POINTS;
        let village = villages
            .iter()
            .map(|v| v.code.value())
            .find(|v| point_of_village(*v, provinces) == other)
            .expect("a village of the other point");
        records[end - 1].village = village;
    }
}

/// The points a family is at: those serving a province a member lives in.
fn points_of(family: &[&PersonRecord], provinces: &[u64]) -> Vec<usize> {
    let points: BTreeSet<usize> = family
        .iter()
        .map(|r| point_of_village(r.village, provinces))
        .collect();
    points.into_iter().collect()
}

/// Pays one family's list at one point; records every paid key.
fn pay_family(
    store: &Store,
    point: usize,
    family: &[&PersonRecord],
    nik_count: &BTreeMap<u64, usize>,
    paid: &mut BTreeMap<Key, Vec<usize>>,
) {
    let head = family[0];
    // A family program, claimed by its head (not a duplicate identity:
    // which family such a NIK names is the store's business).
    if nik_count[&head.nik.get()] == 1
        && claim(
            store,
            &format!("pkh-{}", head.kk),
            &head.nik.to_string(),
            "PKH",
            "2026-Q4",
        )
    {
        let key = (
            "PKH".into(),
            "2026-Q4".into(),
            "family".into(),
            head.kk.get() as i64,
        );
        paid.entry(key).or_default().push(point);
    }
    for (i, r) in family.iter().enumerate() {
        let id = format!("pbi-{}-{i}", r.kk);
        if claim(store, &id, &r.nik.to_string(), "PBI_JK", "2026-11") {
            let key = (
                "PBI_JK".into(),
                "2026-11".into(),
                "person".into(),
                r.nik.get() as i64,
            );
            paid.entry(key).or_default().push(point);
        }
    }
}

#[test]
fn the_ledger_reports_exactly_the_cross_point_double_payments() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let provinces = provinces();
    let mut records = stores::register(FAMILIES, 2026);
    inject_movers(&mut records, &provinces);
    let mut nik_count: BTreeMap<u64, usize> = BTreeMap::new();
    for r in &records {
        *nik_count.entry(r.nik.get()).or_default() += 1;
    }
    let families = families(&records);
    let tmp = scratch();
    let national = stores::create_store(&records, &tmp.path().join("national"));
    let plan: Vec<PointSpec> = (0..POINTS)
        .map(|p| PointSpec {
            id: format!("point-{p:02}"),
            regions: (provinces.iter().enumerate())
                .filter(|(i, _)| i % POINTS == p)
                .map(|(_, code)| RegionCode::new(Level::Province, *code).unwrap())
                .collect(),
            programs: None,
            out: tmp.path().join(format!("point-{p:02}")),
            key: None,
        })
        .collect();
    let cut = national.subset(&plan, None).unwrap();
    drop(national);
    let listed: Vec<Vec<usize>> = families.iter().map(|f| points_of(f, &provinces)).collect();
    let at_points: usize = listed
        .iter()
        .zip(&families)
        .map(|(p, f)| p.len() * f.len())
        .sum();
    // Every family is at the points of its members' provinces; a few more
    // come with a duplicate identity that one of a point's persons shares.
    let persons: usize = cut.iter().map(|c| c.persons as usize).sum();
    assert!(
        persons >= at_points && persons < at_points + at_points / 10,
        "{persons} {at_points}"
    );
    let stores: Vec<Store> = plan.iter().map(|p| stores::open(&p.out)).collect();
    for (f, family) in families.iter().enumerate() {
        for &p in &listed[f] {
            let nik = family[0].nik.to_string();
            let v = stores[p].check_str(&nik, "PBI_JK", "2026-11").unwrap();
            assert!(
                !v.reasons.iter().any(|r| r == tepat::ReasonCode::UnknownNik),
                "{nik} at {p}"
            );
        }
    }

    // Offline: each point pays its list; the points never talk.
    let mut paid: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    let mut reversed = 0u64;
    for (f, family) in families.iter().enumerate() {
        for &p in &listed[f] {
            pay_family(&stores[p], p, family, &nik_count, &mut paid);
        }
        // Some failed disbursements at home, on families listed once.
        if f % 17 == 3 && listed[f].len() == 1 {
            let id = format!("pbi-{}-0", family[0].kk);
            if stores[listed[f][0]]
                .reverse(&format!("undo-{f}"), &id, "failed")
                .is_ok()
            {
                reversed += 1;
            }
        }
    }
    let movers: BTreeSet<i64> = (0..families.len())
        .filter(|f| listed[*f].len() > 1)
        .flat_map(|f| {
            families[f]
                .iter()
                .flat_map(|r| [r.nik.get() as i64, r.kk.get() as i64])
        })
        .collect();
    let duplicates: BTreeSet<i64> = nik_count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(nik, _)| *nik as i64)
        .collect();
    // Paid at more than one point: a double payment per extra point.
    let expected: BTreeMap<Key, usize> = paid
        .iter()
        .filter(|(_, points)| points.len() > 1)
        .map(|(k, points)| (k.clone(), points.len() - 1))
        .collect();
    assert!(
        expected.len() >= 30,
        "only {} injected double payments paid",
        expected.len()
    );
    for key in expected.keys() {
        assert!(
            movers.contains(&key.3) || duplicates.contains(&key.3),
            "{key:?} was paid twice without being injected"
        );
    }
    assert!(reversed > 3, "only {reversed} reversals");
    println!(
        "{} claims paid, {} keys paid at two points or more, {reversed} reversed",
        paid.values().map(Vec::len).sum::<usize>(),
        expected.len()
    );

    // Every point syncs at once (four at a time), in small batches, so
    // points race for the same keys.
    let points: Vec<(usize, &Store)> = stores.iter().enumerate().collect();
    std::thread::scope(|s| {
        for chunk in points.chunks(POINTS / 4) {
            let url = db.url.clone();
            s.spawn(move || {
                let mut client = tepat_ledger::connect(&url).unwrap();
                for (p, store) in chunk {
                    tepat_ledger::sync::sync(&mut client, store, &format!("point-{p:02}"), 25)
                        .unwrap();
                }
            });
        }
    });

    let r = report(&mut c, By::Point, None).unwrap();
    let mut got: BTreeMap<Key, usize> = BTreeMap::new();
    for d in &r.double_payments {
        let key = (
            d.program.clone(),
            d.period.clone(),
            d.key_kind.clone(),
            d.claim_key,
        );
        *got.entry(key.clone()).or_default() += 1;
        let first = d.first.as_ref().expect("a double payment names the holder");
        assert_ne!(first.point, d.again.point, "{key:?}");
        let at: BTreeSet<String> = paid[&key].iter().map(|p| format!("point-{p:02}")).collect();
        assert!(
            at.contains(&first.point) && at.contains(&d.again.point),
            "{key:?}"
        );
    }
    assert_eq!(
        got, expected,
        "the double payments are exactly the injected ones"
    );

    // The ledger's counts are the points' own, point by point.
    for (p, store) in stores.iter().enumerate() {
        let own = store
            .payouts_report(tepat::report::By::Province, &PayoutsFilter::default())
            .unwrap();
        let (own_paid, own_reversed, own_amount) = own.national().fold((0, 0, 0), |a, row| {
            (a.0 + row.paid, a.1 + row.reversed, a.2 + row.paid_amount)
        });
        let point = format!("point-{p:02}");
        let mine = r.totals.iter().filter(|t| t.group == point);
        let (paid, rev, amount) = mine.fold((0, 0, 0), |a, t| {
            (
                a.0 + t.paid as u64,
                a.1 + t.reversed as u64,
                a.2 + t.paid_amount as u64,
            )
        });
        assert_eq!(
            (paid, rev, amount),
            (own_paid, own_reversed, own_amount),
            "{point}"
        );
    }
    let national = r.national();
    let paid_total: usize = paid.values().map(Vec::len).sum();
    assert_eq!(national.paid as usize, paid_total);
    assert_eq!(national.reversed as u64, reversed);
    assert_eq!(
        national.double_payments as usize,
        expected.values().sum::<usize>()
    );
    // By province, the same totals.
    let by_province = report(&mut c, By::Province, Some("2026-11"))
        .unwrap()
        .national();
    let pbi: usize = paid
        .iter()
        .filter(|(k, _)| k.0 == "PBI_JK")
        .map(|(_, v)| v.len())
        .sum();
    assert_eq!(by_province.paid as usize, pbi);
}
