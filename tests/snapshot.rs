//! The snapshot against a simple model: every record reads back as written,
//! families list their members, and damaged, truncated or foreign files are
//! refused — never a panic, never a wrong answer after `verify`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use tepat::register::PersonRecord;
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::{Date, Error, Nik, Registry};

fn as_of() -> Date {
    Date::new(2026, 11, 1).unwrap()
}

fn build(records: &[PersonRecord]) -> Vec<u8> {
    let mut b =
        SnapshotBuilder::new(Registry::builtin().clone(), common::regions(), as_of()).unwrap();
    for r in records {
        b.add(r).unwrap();
    }
    let mut bytes = Vec::new();
    b.write(&mut bytes).unwrap();
    bytes
}

fn fixture() -> (Vec<PersonRecord>, Vec<u8>) {
    let records = common::register(2_000, 42);
    let bytes = build(&records);
    (records, bytes)
}

#[test]
fn every_record_reads_back() {
    let (records, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    snap.verify().unwrap();
    assert_eq!(snap.person_count(), records.len() as u64);

    let mut by_nik: BTreeMap<u64, Vec<&PersonRecord>> = BTreeMap::new();
    for r in &records {
        by_nik.entry(r.nik.get()).or_default().push(r);
    }
    let duplicates: usize = by_nik.values().filter(|v| v.len() > 1).map(Vec::len).sum();
    assert!(duplicates > 0, "the fixture has duplicate identities");
    assert_eq!(snap.duplicate_count(), duplicates as u64);

    for (nik, expected) in &by_nik {
        let nik = Nik::from_u64(*nik).unwrap();
        let found: Vec<_> = snap.get_all(nik).collect();
        assert_eq!(found.len(), expected.len(), "{nik}");
        for p in &found {
            // Find the expected record this person is (duplicates differ by KK).
            let r = expected
                .iter()
                .find(|r| Some(r.kk) == p.kk() && r.birth_date == p.birth_date())
                .unwrap_or_else(|| panic!("{nik}: no matching record"));
            assert_eq!(p.nik(), r.nik);
            assert_eq!(p.sex(), r.sex);
            assert_eq!(p.relation(), r.relation);
            assert_eq!(p.village_code(), Some(r.village));
            assert_eq!(p.decile(), r.decile);
            assert_eq!(p.deceased(), r.deceased);
            assert_eq!(p.civil_servant(), r.civil_servant);
            assert_eq!(p.duplicate(), expected.len() > 1);
            assert_eq!(p.components(), r.components);
            assert_eq!(p.enrolled(), r.programs);
        }
        assert_eq!(snap.get(nik).map(|p| p.nik()), Some(nik));
        // `get` and `find` agree with the first of `get_all`, field for
        // field (`get` keeps the record it found instead of re-reading it).
        let fields = |p: tepat::snapshot::Person<'_>| {
            (
                p.slot(),
                p.family_index(),
                p.profile_index(),
                p.birth_date(),
            )
        };
        let first = found.first().map(|p| fields(*p));
        assert_eq!(snap.get(nik).map(fields), first, "{nik}");
        assert_eq!(snap.find(nik.get()), first.map(|f| f.0), "{nik}");
    }
}

/// `Person::home_distance` says where each record lies the way the
/// placement statistics (`Snapshot::displacements`) count them, and the
/// fixture has records both in and out of their home line.
#[test]
fn home_distance_agrees_with_the_placement_counts() {
    let (_, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    let (lines, _) = snap.lines_and_overflow();
    let by = snap.displacements();
    let mut counted = vec![0u64; by.len()];
    for p in snap.persons().filter(|p| u64::from(p.slot()) < 3 * lines) {
        counted[usize::from(p.home_distance())] += 1;
    }
    assert_eq!(counted, by.to_vec());
    assert!(by[0] > 0 && by[1..].iter().sum::<u64>() > 0, "{by:?}");
}

/// A NIK registered in many rows fills its home line and the free slots
/// after it; the rest of its records go to the overflow area. Every record is
/// still found, in order, and every other NIK too — also for registers of
/// 0 to 4 families, where the file has a handful of lines.
#[test]
fn a_nik_in_many_rows_overflows_and_is_still_found() {
    let mut records = common::register(300, 7);
    let repeated = records[5].clone();
    for i in 0..40u64 {
        let mut r = records[(i as usize * 7) % 300].clone();
        r.nik = repeated.nik;
        records.push(r);
    }
    let snap = Snapshot::from_bytes(build(&records)).unwrap();
    snap.verify().unwrap();
    let all: Vec<u32> = snap.get_all(repeated.nik).map(|p| p.slot()).collect();
    assert_eq!(all.len(), 41);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "slot order: {all:?}");
    // Its home line and the free slots within 31 lines after it take some;
    // the rest are in the overflow lines after the home lines, together.
    let (lines, overflow) = snap.lines_and_overflow();
    let overflowed: Vec<u32> = all
        .iter()
        .copied()
        .filter(|s| u64::from(*s) >= 3 * lines)
        .collect();
    assert!(
        !overflowed.is_empty() && overflowed.len() as u64 <= overflow,
        "{all:?}"
    );
    assert!(overflowed.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");
    assert_eq!(
        snap.get(repeated.nik).map(|p| p.slot()),
        all.first().copied()
    );
    assert_eq!(snap.persons().count(), records.len());
    for p in snap.persons() {
        assert_eq!(snap.person_at(p.slot()).map(|q| q.nik()), Some(p.nik()));
        assert!(snap.get_all(p.nik()).any(|q| q.slot() == p.slot()));
    }
    for families in 0..=4 {
        let records = common::register(families, 3);
        let snap = Snapshot::from_bytes(build(&records)).unwrap();
        snap.verify().unwrap();
        assert_eq!(snap.persons().count(), records.len());
        for r in &records {
            assert!(
                snap.get_all(r.nik).any(|p| p.birth_date() == r.birth_date),
                "{families}: {}",
                r.nik
            );
        }
    }
}

#[test]
fn eligibility_follows_the_registry() {
    let (records, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    let registry = Registry::builtin();
    let pbi = registry.require("PBI_JK").unwrap();
    for r in records.iter().filter(|r| snap.get_all(r.nik).count() == 1) {
        let p = snap.get(r.nik).unwrap();
        let expect = r.decile <= 5 && !r.civil_servant;
        assert_eq!(p.eligible().contains(pbi), expect, "{}", r.nik);
    }
}

#[test]
fn families_list_their_members() {
    let (records, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    let mut families: BTreeMap<u64, BTreeSet<(u64, Date)>> = BTreeMap::new();
    for r in &records {
        families
            .entry(r.kk.get())
            .or_default()
            .insert((r.nik.get(), r.birth_date));
    }
    assert_eq!(snap.family_count(), families.len() as u64);
    let marked = records
        .iter()
        .flat_map(|r| snap.get_all(r.nik).collect::<Vec<_>>())
        .map(|p| (p.slot(), p.is_first_member()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|(_, first)| *first)
        .count();
    assert_eq!(marked, families.len(), "one first member per family");
    let family_programs = Registry::builtin().family_programs();
    for (kk, members) in &families {
        let f = snap.family(tepat::Kk::from_u64(*kk).unwrap()).unwrap();
        let got: BTreeSet<(u64, Date)> = f
            .members()
            .map(|p| (p.nik().get(), p.birth_date()))
            .collect();
        assert_eq!(&got, members, "KK {kk}");
        let enrolled = records
            .iter()
            .filter(|r| r.kk.get() == *kk)
            .fold(0, |acc, r| acc | (r.programs.0 & family_programs.0));
        assert_eq!(f.enrolled().0, enrolled);
    }
    assert!(
        snap.family(tepat::Kk::parse("3201011503150001").unwrap())
            .is_none()
            || families.contains_key(&3201011503150001)
    );
}

#[test]
fn batch_lookup_agrees_with_point_lookup() {
    let (records, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    let mut niks: Vec<u64> = records.iter().map(|r| r.nik.get()).collect();
    // Unknown NIKs too.
    niks.extend((1..500u64).map(|i| 3_201_015_708_900_000 + i));
    let mut out = vec![None; niks.len()];
    snap.find_many(&niks, &mut out);
    for (nik, slot) in niks.iter().zip(&out) {
        assert_eq!(*slot, snap.find(*nik), "{nik}");
    }
    assert!(out.iter().filter(|s| s.is_some()).count() >= records.len() - records.len() / 90);
}

#[test]
fn output_does_not_depend_on_input_order() {
    let (mut records, bytes) = fixture();
    records.reverse();
    let again = build(&records);
    // Only the creation time in the header may differ.
    let strip = |b: &[u8]| {
        let mut b = b.to_vec();
        b[80..88].fill(0);
        b[248..256].fill(0);
        b
    };
    assert_eq!(strip(&bytes), strip(&again));
}

fn refused(bytes: Vec<u8>) -> bool {
    match Snapshot::from_bytes(bytes) {
        Err(_) => true,
        Ok(snap) => {
            // Lookups on a damaged file must not panic, whatever they say.
            for n in [3_201_015_708_900_001u64, 1, u64::MAX >> 10] {
                let _ = snap
                    .find(n)
                    .and_then(|s| snap.person_at(s))
                    .map(|p| (p.kk(), p.enrolled()));
            }
            snap.verify().is_err()
        }
    }
}

#[test]
fn every_header_and_table_byte_is_protected() {
    let (_, bytes) = fixture();
    let sections = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    assert_eq!(sections, 8);
    let table_end = 256 + sections * 32;
    for i in 0..table_end {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[i] ^= flip;
            assert!(
                refused(damaged),
                "flipping byte {i} by {flip:#x} went unnoticed"
            );
        }
    }
}

#[test]
fn damage_inside_every_section_is_found_by_verify() {
    let (_, bytes) = fixture();
    let snap = Snapshot::from_bytes(bytes.clone()).unwrap();
    let mut offset = (256 + 8 * 32usize).next_multiple_of(64);
    for (name, len) in snap.section_sizes() {
        let len = len as usize;
        let mut rng = common::Rng(len as u64);
        for _ in 0..40 {
            let i = offset + rng.below(len as u64) as usize;
            let mut damaged = bytes.clone();
            damaged[i] ^= 1 << rng.below(8);
            assert!(
                refused(damaged),
                "damage at {i} in section {name} went unnoticed"
            );
        }
        offset = (offset + len).next_multiple_of(64);
    }
}

#[test]
fn truncation_anywhere_is_refused() {
    let (_, bytes) = fixture();
    let mut cuts: Vec<usize> = (0..600).collect();
    let mut rng = common::Rng(7);
    cuts.extend((0..400).map(|_| rng.below(bytes.len() as u64) as usize));
    cuts.push(bytes.len() - 1);
    for cut in cuts {
        let result = Snapshot::from_bytes(bytes[..cut].to_vec());
        assert!(
            result.is_err(),
            "a file cut at {cut} of {} opened",
            bytes.len()
        );
    }
}

#[test]
fn foreign_files_and_newer_versions_are_refused_clearly() {
    for foreign in [
        Vec::new(),
        b"\x89PNG\r\n\x1a\n".repeat(64),
        b"nik,kk,relation\n".repeat(40),
        vec![0u8; 4096],
    ] {
        match Snapshot::from_bytes(foreign) {
            Err(Error::Format { message, .. }) => assert!(!message.is_empty()),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a foreign file opened"),
        }
    }
    let (_, bytes) = fixture();
    for (major, newer) in [(4u16, true), (1, false)] {
        let mut bytes = bytes.clone();
        bytes[8..10].copy_from_slice(&major.to_le_bytes());
        match Snapshot::from_bytes(bytes) {
            Err(
                e @ Error::Version {
                    expected: 3, got, ..
                },
            ) if got == major => {
                let advice = if newer {
                    "upgrade tepat"
                } else {
                    "tepat build"
                };
                assert!(e.to_string().contains(advice), "{e}");
            }
            Err(other) => panic!("expected a version error, got {other}"),
            Ok(_) => panic!("major version {major} opened"),
        }
    }
}

#[test]
fn register_csv_rejects_name_line_column_and_reason() {
    let registry = Registry::builtin();
    let records = common::register(50, 9);
    let mut csv = String::from(tepat::register::HEADER);
    csv.push('\n');
    let mut expected_bad = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut line = Vec::new();
        r.write_csv(registry, &mut line).unwrap();
        let mut line = String::from_utf8(line).unwrap();
        let line_no = i + 2;
        // Inject one error every 7 rows, cycling through the columns.
        if i % 7 == 3 {
            let column = (i / 7) % 5;
            let mut fields: Vec<String> = line.trim_end().split(',').map(str::to_owned).collect();
            match column {
                0 => fields[0] = "12345".into(),
                1 => fields[3] = "9999999999".into(),
                2 => fields[10] = "NOPE".into(),
                3 => fields[5] = "1990-02-30".into(),
                _ => fields.truncate(9),
            }
            line = fields.join(",") + "\n";
            expected_bad.push(line_no);
        }
        csv.push_str(&line);
    }
    let mut b = SnapshotBuilder::new(registry.clone(), common::regions(), as_of()).unwrap();
    let mut rejects = Vec::new();
    let report = b
        .add_csv(csv.as_bytes(), "register.csv", &mut rejects, |_| {})
        .unwrap();
    assert_eq!(report.rows, records.len() as u64);
    assert_eq!(report.rejected, expected_bad.len() as u64);
    let rejects = String::from_utf8(rejects).unwrap();
    let lines: Vec<usize> = rejects
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, expected_bad);
    assert!(rejects.contains(",4,village_code,"), "{rejects}");
    assert!(rejects.contains(",11,programs,"), "{rejects}");
    assert!(rejects.contains(",0,row,"), "{rejects}");

    let err = b
        .add_csv("nik,kk\n".as_bytes(), "other.csv", &mut Vec::new(), |_| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("other.csv") && err.to_string().contains("header"),
        "{err}"
    );
}

/// A register line that is not UTF-8 is one rejected row with its line
/// number; the rest of the export is built.
#[test]
fn a_register_line_that_is_not_utf8_is_one_reject() {
    let registry = Registry::builtin();
    let records = common::register(5, 3);
    let mut csv = tepat::register::HEADER.as_bytes().to_vec();
    csv.push(b'\n');
    for (i, r) in records.iter().enumerate() {
        if i == 2 {
            csv.extend_from_slice(b"32010\xff\xfe,bad\n");
        }
        r.write_csv(registry, &mut csv).unwrap();
    }
    let mut b = SnapshotBuilder::new(registry.clone(), common::regions(), as_of()).unwrap();
    let mut rejects = Vec::new();
    let report = b
        .add_csv(&csv[..], "register.csv", &mut rejects, |_| {})
        .unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(report.accepted, records.len() as u64);
    let rejects = String::from_utf8(rejects).unwrap();
    let line = rejects.lines().nth(1).unwrap();
    assert!(
        line.starts_with("4,0,row,") && line.contains("UTF-8"),
        "{rejects}"
    );
}
