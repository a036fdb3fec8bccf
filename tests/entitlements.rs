//! Money: each program's entitlement as registry data (flat, or by member
//! and component as PKH pays), a claim's amount checked against it and
//! recorded, and the payouts report's sums against the claims made.

mod common;

use std::collections::BTreeMap;

use tepat::program::ComponentSet;
use tepat::register::PersonRecord;
use tepat::report::By;
use tepat::store::{PayoutsFilter, ReverseRequest};
use tepat::{ClaimRequest, Date, Error, ReasonCode, Registry};

fn req(
    id: &str,
    who: &PersonRecord,
    program: &str,
    period: &str,
    amount: Option<u64>,
) -> ClaimRequest {
    ClaimRequest {
        request_id: id.into(),
        nik: who.nik.to_string(),
        program: program.into(),
        period: period.into(),
        amount,
        operator: "counter-7".into(),
        ..Default::default()
    }
}

/// Families of decile 1-4 (PKH and SEMBAKO), every member alive, no civil
/// servant, no duplicate NIK, at least three members.
fn clean_families(records: &[PersonRecord]) -> Vec<Vec<usize>> {
    let mut by_kk: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        by_kk.entry(r.kk.get()).or_default().push(i);
    }
    let dup = |r: &PersonRecord| records.iter().filter(|q| q.nik == r.nik).count() > 1;
    by_kk
        .into_values()
        .filter(|m| {
            m.len() >= 3
                && records[m[0]].decile <= 4
                && m.iter().all(|&i| {
                    let r = &records[i];
                    !r.deceased && !r.civil_servant && !dup(r)
                })
        })
        .collect()
}

/// PKH's quarterly amount for one member, written out from the registry's
/// table (not through the library's code): the best of their components.
fn pkh_member(r: &PersonRecord, on: Date) -> u64 {
    let age = r.birth_date.age_on(on);
    let has = |name| {
        r.components
            .contains(tepat::program::Component::from_name(name).unwrap())
    };
    let mut best = 0;
    if has("pregnant") || age <= 6 {
        best = best.max(750_000);
    }
    if has("severe_disability") || age >= 70 {
        best = best.max(600_000);
    }
    if has("in_school") {
        best = best.max(225_000);
    }
    best
}

/// PKH for a family: the four best-paid members.
fn pkh_family(members: &[&PersonRecord], on: Date) -> u64 {
    let mut each: Vec<u64> = members.iter().map(|r| pkh_member(r, on)).collect();
    each.sort_unstable_by(|a, b| b.cmp(a));
    each.iter().take(4).sum()
}

fn q4() -> Date {
    Date::new(2026, 10, 1).unwrap()
}

/// Records with one family given PKH's components: a pregnant spouse and
/// schoolchildren. Returns the records and that family's indices.
fn with_pkh_family() -> (Vec<PersonRecord>, Vec<usize>) {
    let mut records = common::register(300, 21);
    let family = clean_families(&records)
        .into_iter()
        .find(|m| m.len() >= 4)
        .unwrap();
    let recorded = |s| ComponentSet::parse_recorded(s).unwrap();
    records[family[1]].components = recorded("pregnant");
    for &i in &family[2..] {
        records[i].components = recorded("in_school");
    }
    (records, family)
}

#[test]
fn pkh_pays_each_member_once_at_their_best_component_four_at_most() {
    let dir = tempfile::tempdir().unwrap();
    let (records, family) = with_pkh_family();
    let store = common::create_store(&records, dir.path());
    let members: Vec<&PersonRecord> = family.iter().map(|&i| &records[i]).collect();
    let expected = pkh_family(&members, q4());
    assert!(expected >= 750_000 + 2 * 225_000, "{expected}");
    let head = members[0];
    let nik = head.nik.to_string();
    assert_eq!(
        store.entitlement(&nik, "PKH", "2026-Q4").unwrap(),
        Some(expected)
    );
    // No amount stated: recorded at the entitlement.
    let out = store
        .claim(&req("pkh-1", head, "PKH", "2026-Q4", None))
        .unwrap();
    assert!(out.paid, "{:?}", out.verdict);
    assert_eq!((out.amount, out.entitled), (Some(expected), Some(expected)));
    let trail = store.audit(Some(head.nik.get()), None).unwrap();
    let line = trail.last().unwrap().to_json_line();
    assert!(line.contains(&format!("\"amount\":{expected}")), "{line}");
    assert!(line.contains("\"operator\":\"counter-7\""), "{line}");
    // A retry says the same amount.
    let retry = store
        .claim(&req("pkh-1", head, "PKH", "2026-Q4", None))
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.amount, Some(expected));
}

#[test]
fn a_stated_amount_other_than_the_entitlement_is_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(300, 21);
    let store = common::create_store(&records, dir.path());
    let family = &clean_families(&records)[0];
    let head = &records[family[0]];
    let wrong = store
        .claim(&req("s-1", head, "SEMBAKO", "2026-Q4", Some(500_000)))
        .unwrap();
    assert!(!wrong.paid);
    assert!(wrong.verdict.reasons.contains(ReasonCode::WrongAmount));
    assert_eq!(wrong.entitled, Some(600_000));
    // The refusal is on record with what was asked.
    let trail = store.audit(None, Some("s-1")).unwrap();
    assert_eq!(trail[0].outcome, "refused");
    assert_eq!(
        (trail[0].amount, trail[0].entitled),
        (Some(500_000), Some(600_000))
    );
    // The right amount, by a new request, pays.
    let right = store
        .claim(&req("s-2", head, "SEMBAKO", "2026-Q4", Some(600_000)))
        .unwrap();
    assert!(right.paid, "{:?}", right.verdict);
    assert_eq!(right.amount, Some(600_000));
}

#[test]
fn a_family_the_program_pays_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = common::register(300, 21);
    // A PKH family none of whose members has a component PKH pays for.
    let family = clean_families(&records)
        .into_iter()
        .find(|m| {
            m.iter()
                .all(|&i| (7..70).contains(&records[i].birth_date.age_on(q4())))
        })
        .unwrap();
    for &i in &family {
        records[i].components = ComponentSet::default();
    }
    let store = common::create_store(&records, dir.path());
    let head = &records[family[0]];
    let nik = head.nik.to_string();
    assert_eq!(store.entitlement(&nik, "PKH", "2026-Q4").unwrap(), Some(0));
    let out = store
        .claim(&req("p-0", head, "PKH", "2026-Q4", None))
        .unwrap();
    assert!(!out.paid);
    assert!(out.verdict.reasons.contains(ReasonCode::WrongAmount));
    // SEMBAKO pays the same family its flat amount.
    assert!(
        store
            .claim(&req("s-0", head, "SEMBAKO", "2026-Q4", None))
            .unwrap()
            .paid
    );
}

#[test]
fn the_entitlement_follows_a_birth() {
    let dir = tempfile::tempdir().unwrap();
    let (records, family) = with_pkh_family();
    let store = common::create_store(&records, dir.path());
    let head = &records[family[0]];
    let nik = head.nik.to_string();
    let before = store.entitlement(&nik, "PKH", "2026-Q4").unwrap().unwrap();
    let baby = tepat::Nik::from_parts(
        (head.village / 10_000) as u32,
        tepat::Sex::Female,
        Date::new(2026, 11, 2).unwrap(),
        9_001,
    )
    .unwrap();
    let birth = format!(
        "{}\nbirth,{baby},{},child,{:010},F,2026-11-02,{},0,0,,PKH|SEMBAKO,,2026-11-02\n",
        tepat::change::HEADER,
        head.kk,
        head.village,
        head.decile
    );
    store.apply_csv(birth.as_bytes(), "birth.csv").unwrap();
    let after = store.entitlement(&nik, "PKH", "2026-Q4").unwrap().unwrap();
    let members: Vec<&PersonRecord> = family.iter().map(|&i| &records[i]).collect();
    // The baby counts at 750,000 and pushes the least-paid member out when
    // five members are paid for.
    let mut each: Vec<u64> = members.iter().map(|r| pkh_member(r, q4())).collect();
    each.push(750_000);
    each.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(after, each.iter().take(4).sum::<u64>());
    assert!(after > before);
}

#[test]
fn a_program_without_an_amount_records_what_is_stated() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(300, 21);
    let store = common::create_store(&records, dir.path());
    let p = Registry::builtin().require("ATENSI").unwrap();
    assert!(Registry::builtin().program(p).entitlement.is_none());
    let who = &records[clean_families(&records)[0][0]];
    let nik = who.nik.to_string();
    assert_eq!(store.entitlement(&nik, "ATENSI", "once").unwrap(), None);
    let out = store
        .claim(&req("a-1", who, "ATENSI", "once", Some(123_456)))
        .unwrap();
    assert!(!out.verdict.reasons.contains(ReasonCode::WrongAmount));
    assert_eq!((out.amount, out.entitled), (Some(123_456), None));
}

#[test]
fn a_registry_with_a_bad_amount_is_refused_naming_the_field() {
    let base = "[[program]]\ncode = \"X\"\nname = \"x\"\nunit = \"family\"\nperiod = \"month\"\n";
    for (amount, says) in [
        ("0", "not a positive number"),
        ("-5", "not a positive number"),
        ("\"600000\"", "an amount is a number"),
        ("2000000000000", "is not an amount in"),
        (
            "{ per_member = { flying = 5 } }",
            "unknown component \"flying\"",
        ),
        (
            "{ per_member = { pregnant = 5 }, max_members = 0 }",
            "max_members is 0",
        ),
        ("{ per_member = {} }", "names no component"),
        (
            "{ per_child = { pregnant = 5 } }",
            "unknown key \"per_child\"",
        ),
    ] {
        let text = format!("{base}amount = {amount}\n");
        match Registry::from_toml_str(&text, None) {
            Err(Error::Registry {
                line,
                field,
                message,
                ..
            }) => {
                assert_eq!(field.as_deref(), Some("program[0].amount"), "{amount}");
                assert_eq!(line, Some(6), "{amount}");
                assert!(message.contains(says), "{amount}: {message}");
            }
            other => panic!("{amount}: {other:?}"),
        }
    }
}

/// Claims of every kind through the ledger, then the report: its rows sum
/// to the claims made, by region and nationally, and narrow by period.
#[test]
fn the_payouts_report_sums_the_claims() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(300, 21);
    let store = common::create_store(&records, dir.path());
    let families = clean_families(&records);
    let mut paid_amount = 0u64;
    let mut paid_by_province: BTreeMap<String, u64> = BTreeMap::new();
    let (mut paid, mut refused) = (0u64, 0u64);
    for (n, f) in families.iter().take(20).enumerate() {
        let head = &records[f[0]];
        let out = store
            .claim(&req(&format!("s-{n}"), head, "SEMBAKO", "2026-Q4", None))
            .unwrap();
        assert!(out.paid, "{:?}", out.verdict);
        paid += 1;
        paid_amount += 600_000;
        *paid_by_province
            .entry(format!("{:02}", head.village / 100_000_000))
            .or_default() += 600_000;
        // A second payment of the same family is refused.
        let again = store
            .claim(&req(
                &format!("t-{n}"),
                &records[f[1]],
                "SEMBAKO",
                "2026-Q4",
                None,
            ))
            .unwrap();
        assert!(!again.paid);
        refused += 1;
    }
    // Two reversed, one of the other quarter.
    store
        .reverse_request(&ReverseRequest {
            request_id: "r-0".into(),
            original: "s-0".into(),
            reason: "account closed".into(),
            operator: "back-office".into(),
        })
        .unwrap();
    store.reverse("r-1", "s-1", "transfer failed").unwrap();
    let q3 = &records[families[30][0]];
    assert!(
        store
            .claim(&req("q3", q3, "SEMBAKO", "2026-Q3", None))
            .unwrap()
            .paid
    );

    let report = store
        .payouts_report(By::Province, &PayoutsFilter::default().period("2026-Q4"))
        .unwrap();
    let national: Vec<_> = report.national().collect();
    assert_eq!(national.len(), 1, "one program and period: {national:?}");
    let n = national[0];
    assert_eq!(
        (n.program.as_str(), n.period.as_str()),
        ("SEMBAKO", "2026-Q4")
    );
    assert_eq!(
        (n.paid, n.paid_amount, n.refused),
        (paid, paid_amount, refused)
    );
    assert_eq!((n.reversed, n.reversed_amount), (2, 1_200_000));
    assert_eq!(n.net_amount(), paid_amount - 1_200_000);
    let regional: BTreeMap<String, u64> = report
        .rows
        .iter()
        .filter(|r| r.region_code != "00")
        .map(|r| (r.region_code.clone(), r.paid_amount))
        .collect();
    assert_eq!(regional, paid_by_province);
    let mut csv = Vec::new();
    report.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + report.rows.len());
    assert!(csv.starts_with(tepat::store::PAYOUTS_HEADER));

    // Every period: the third quarter's claim is there too.
    let all = store
        .payouts_report(By::District, &PayoutsFilter::default())
        .unwrap();
    let total: u64 = all.national().map(|r| r.paid_amount).sum();
    assert_eq!(total, paid_amount + 600_000);
}
