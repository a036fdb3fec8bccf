//! `Snapshot::open_resident` answers exactly as `Snapshot::open` does, and
//! refuses what `open` refuses; on Linux with transparent huge pages it
//! gets them.

mod common;

use std::path::Path;

use tepat::register::PersonRecord;
use tepat::snapshot::{Residence, Snapshot, SnapshotBuilder};
use tepat::{Date, Nik, Registry};

fn write(records: &[PersonRecord], path: &Path) {
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b =
        SnapshotBuilder::new(Registry::builtin().clone(), common::regions(), as_of).unwrap();
    for r in records {
        b.add(r).unwrap();
    }
    b.write_to_path(path).unwrap();
}

/// NIKs that are valid but (almost all) absent: the serial changed.
fn absent(records: &[PersonRecord]) -> Vec<u64> {
    records
        .iter()
        .filter_map(|r| {
            Nik::from_u64(r.nik.get() / 10_000 * 10_000 + 9_999 - r.nik.get() % 10_000).ok()
        })
        .map(Nik::get)
        .collect()
}

#[test]
fn resident_answers_as_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.tepat");
    let records = common::register(3_000, 7);
    write(&records, &path);
    let mapped = Snapshot::open(&path).unwrap();
    let resident = Snapshot::open_resident(&path).unwrap();
    assert_eq!(mapped.residence(), Residence::Mapped);
    assert_eq!(resident.residence(), Residence::Resident);
    // A map is in huge pages only where the filesystem keeps the file in
    // 2 MiB folios (XFS since Linux 5.18, ext4 since 6.16): not asserted,
    // only that Linux reports it.
    #[cfg(target_os = "linux")]
    assert!(mapped.huge_page_bytes().is_some());
    resident.verify().unwrap();
    assert_eq!(resident.byte_len(), mapped.byte_len());
    assert_eq!(resident.person_count(), records.len() as u64);
    assert_eq!(resident.family_count(), mapped.family_count());
    assert_eq!(resident.generation(), mapped.generation());
    assert_eq!(resident.path(), mapped.path());

    let mut keys: Vec<u64> = records.iter().map(|r| r.nik.get()).collect();
    keys.extend(absent(&records));
    let mut hits = 0;
    for &k in &keys {
        let (a, b) = (mapped.find(k), resident.find(k));
        assert_eq!(a, b, "find({k})");
        hits += usize::from(a.is_some());
        let nik = Nik::from_u64(k).unwrap();
        match (mapped.get(nik), resident.get(nik)) {
            (Some(p), Some(q)) => {
                assert_eq!(p.slot(), q.slot());
                assert_eq!(p.nik(), q.nik());
                assert_eq!(p.kk(), q.kk());
                assert_eq!(p.village_code(), q.village_code());
                assert_eq!(p.birth_date(), q.birth_date());
                assert_eq!(p.eligible(), q.eligible());
                assert_eq!(p.enrolled(), q.enrolled());
                assert_eq!(p.deceased(), q.deceased());
                assert_eq!(p.duplicate(), q.duplicate());
                assert_eq!(
                    p.family()
                        .unwrap()
                        .members()
                        .map(|m| m.slot())
                        .collect::<Vec<_>>(),
                    q.family()
                        .unwrap()
                        .members()
                        .map(|m| m.slot())
                        .collect::<Vec<_>>()
                );
            }
            (None, None) => {}
            _ => panic!("get({k}) differs"),
        }
    }
    assert!(hits >= records.len(), "every stored NIK is found");
    assert!(hits < keys.len(), "some keys are absent");

    // The batch lookups agree with `find`, in order, on both.
    let mut a = vec![None; keys.len()];
    let mut b = vec![Some(0); keys.len()];
    mapped.find_many(&keys, &mut a);
    resident.find_many(&keys, &mut b);
    assert_eq!(a, b);
    for (k, slot) in keys.iter().zip(&a) {
        assert_eq!(*slot, mapped.find(*k));
    }
    let mut order = Vec::new();
    resident.find_each(keys.len(), |i| keys[i], |i, slot| order.push((i, slot)));
    assert_eq!(order, a.iter().copied().enumerate().collect::<Vec<_>>());
    // Short and empty batches drain the pipeline too.
    for n in [0, 1, 5, 40] {
        let mut out = vec![None; n];
        resident.find_many(&keys[..n], &mut out);
        assert_eq!(out, a[..n]);
    }
}

#[test]
fn resident_refuses_what_open_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tepat");
    write(&common::register(200, 3), &good);
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("short", bytes[..100].to_vec()),
        ("truncated", bytes[..bytes.len() - 64].to_vec()),
        ("foreign", vec![b'x'; 4096]),
        ("damaged header", {
            let mut b = bytes.clone();
            b[40] ^= 1;
            b
        }),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).unwrap();
        assert!(Snapshot::open_resident(&path).is_err(), "{name} refused");
        assert!(
            Snapshot::open(&path).is_err() || content.is_empty(),
            "{name}"
        );
    }
    assert!(Snapshot::open_resident(&dir.path().join("missing")).is_err());
}

/// With transparent huge pages available (`always` or `madvise`), a
/// snapshot of several huge pages is held in them (`AnonHugePages` of
/// `/proc/self/smaps`). Elsewhere it only checks the copy is correct.
#[test]
fn resident_gets_huge_pages_where_the_kernel_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tepat");
    // About 280,000 persons: about 8 MB, four huge pages or more.
    let records = common::register(80_000, 11);
    write(&records, &path);
    let snap = Snapshot::open_resident(&path).unwrap();
    let size = snap.byte_len();
    assert!(size > 6 << 20, "{size} bytes: several huge pages");
    let huge = snap.huge_page_bytes();
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    eprintln!(
        "resident snapshot {size} bytes, huge pages {huge:?}, THP: {}",
        thp.trim()
    );
    if thp.contains("[always]") || thp.contains("[madvise]") {
        let huge = huge.unwrap();
        assert!(
            huge >= 2 << 20 && huge <= size,
            "{huge} of {size} bytes in huge pages"
        );
    }
    let nik = records[records.len() / 2].nik;
    assert_eq!(snap.get(nik).unwrap().nik(), nik);
}
