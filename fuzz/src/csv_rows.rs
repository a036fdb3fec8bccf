//! Register rows (`tepat::register::RowParser`, and whole exports through
//! `SnapshotBuilder::add_csv`) and change rows (`tepat::change::ChangeParser`)
//! from arbitrary text. Proves: no line panics either parser; an error names
//! a real column; a register row that parses writes back (`write_csv`) to a
//! row that parses to the same record, and so does the person of a `birth`
//! change; `add_csv` counts every data row once, as accepted or as one line
//! of the rejects file, and agrees row by row with parsing + `add`; every
//! accepted row reads back from the snapshot built from it, field by field,
//! and that snapshot verifies.

use std::collections::HashMap;

use tepat::change::{Change, ChangeParser};
use tepat::register::{COLUMNS, PersonRecord, RowError, RowParser};
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::{ComponentSet, Registry};

/// The check run on every input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let registry = Registry::builtin();
    let rows = RowParser::new(registry);
    let changes = ChangeParser::new(registry);
    for line in text.lines() {
        match rows.parse(line) {
            Ok(record) => round_trip(registry, &rows, &record),
            Err(e) => names_a_column(&e, &COLUMNS),
        }
        match changes.parse(line) {
            Ok(Change::Birth { person, .. }) => round_trip(registry, &rows, &person),
            Ok(c) => assert!(!c.kind().is_empty()),
            Err(e) => assert!(e.column <= tepat::change::HEADER.split(',').count()),
        }
    }
    let first = text.lines().next().unwrap_or("");
    let _ = RowParser::check_header(first);
    let _ = ChangeParser::check_header(first);
    build(registry, text);
}

fn names_a_column(e: &RowError, columns: &[&str]) {
    if e.column == 0 {
        assert_eq!(e.field, "row");
    } else {
        assert_eq!(columns.get(e.column - 1), Some(&e.field), "{e:?}");
    }
    assert!(!e.reason.is_empty());
}

fn round_trip(registry: &Registry, rows: &RowParser<'_>, record: &PersonRecord) {
    let mut out = Vec::new();
    record.write_csv(registry, &mut out).unwrap();
    let line = std::str::from_utf8(&out).unwrap();
    let again = rows
        .parse(line)
        .unwrap_or_else(|e| panic!("{record:?} wrote {line:?}, which does not parse: {e}"));
    assert_eq!(&again, record, "{line:?}");
}

/// The text as a register export: `add_csv` against a by-hand ingest, then
/// the snapshot against the accepted rows.
fn build(registry: &Registry, text: &str) {
    let regions = super::fixture::regions();
    let as_of = super::fixture::as_of();
    let mut by_csv = SnapshotBuilder::new(registry.clone(), regions, as_of).unwrap();
    let mut rejects = Vec::new();
    let Ok(report) = by_csv.add_csv(text.as_bytes(), "register.csv", &mut rejects, |_| {}) else {
        assert!(RowParser::check_header(text.lines().next().unwrap_or("")).is_err());
        return;
    };
    assert_eq!(report.rows, report.accepted + report.rejected);
    let rejects = String::from_utf8(rejects).unwrap();
    assert_eq!(
        rejects.matches('\n').count() as u64,
        report.rejected + 1,
        "one rejects line per refused row: {rejects:?}"
    );
    let mut by_hand = SnapshotBuilder::new(registry.clone(), regions, as_of).unwrap();
    let parser = RowParser::new(registry);
    let mut accepted = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        if let Ok(r) = parser.parse(line)
            && by_hand.add(&r).is_ok()
        {
            accepted.push(r);
        }
    }
    assert_eq!(accepted.len() as u64, report.accepted);
    let mut bytes = Vec::new();
    by_csv.write(&mut bytes).unwrap();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    snap.verify().unwrap();
    assert_eq!(snap.person_count(), report.accepted);
    let mut count: HashMap<u64, usize> = HashMap::new();
    for r in &accepted {
        *count.entry(r.nik.get()).or_default() += 1;
    }
    for r in &accepted {
        let stored: Vec<_> = snap.get_all(r.nik).collect();
        assert_eq!(stored.len(), count[&r.nik.get()], "{r:?}");
        let found = stored.iter().any(|p| {
            p.kk() == Some(r.kk)
                && p.relation() == r.relation
                && p.village_code() == Some(r.village)
                && p.sex() == r.sex
                && p.birth_date() == r.birth_date
                && p.decile() == r.decile
                && p.deceased() == r.deceased
                && p.civil_servant() == r.civil_servant
                && p.enrolled() == r.programs
                && p.duplicate() == (count[&r.nik.get()] > 1)
                && p.components().0 & ComponentSet::RECORDED_MASK
                    == r.components.0 & ComponentSet::RECORDED_MASK
        });
        assert!(found, "{r:?} does not read back ({} records)", stored.len());
    }
}
