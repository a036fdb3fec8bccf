//! Keyed payout-point stores (docs/FORMAT.md, "Keyed snapshots"): a point
//! cut with an identity key answers as the plain cut does, holds no NIK
//! and no KK in any file after claims, reversals and an audit, opens only
//! with its own key, and the keeper's key reveals its pseudonyms.

mod common;

use std::collections::HashSet;
use std::path::Path;

use tepat::region::Level;
use tepat::register::PersonRecord;
use tepat::snapshot::IdentityKey;
use tepat::snapshot::format::hash_nik;
use tepat::store::PointSpec;
use tepat::{ClaimRequest, Error, RegionCode, Store};

const PERIODS: [(&str, &str); 3] = [
    ("PKH", "2026-Q4"),
    ("SEMBAKO", "2026-11"),
    ("PBI_JK", "2026-11"),
];

/// A register living in the villages of two regencies, 3201 (the point)
/// and 3273 (elsewhere).
fn register() -> Vec<PersonRecord> {
    let all = common::regions().level(Level::Village);
    let villages: Vec<u64> = ["3201", "3273"]
        .iter()
        .flat_map(|regency| {
            all.iter()
                .map(|v| v.code.value())
                .filter(|v| v.to_string().starts_with(regency))
                .take(3)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut records = common::register(160, 29);
    let mut rng = common::Rng(11);
    let mut village = villages[0];
    for i in 0..records.len() {
        if i == 0 || records[i].kk != records[i - 1].kk {
            village = villages[rng.below(villages.len() as u64) as usize];
        }
        records[i].village = village;
    }
    records
}

fn key() -> IdentityKey {
    IdentityKey::from_bytes(*b"point key 3201\0\0")
}

fn cut(national: &Store, out: &Path, key: Option<IdentityKey>) {
    let spec = PointSpec {
        id: "bogor".into(),
        regions: vec![RegionCode::parse("3201").unwrap()],
        programs: None,
        out: out.to_path_buf(),
        key,
    };
    national.subset(&[spec], None).unwrap();
}

fn open_keyed(dir: &Path, key: Option<IdentityKey>) -> tepat::Result<Store> {
    Store::open_with(dir, common::options().identity_key(key))
}

/// The persons of the point: those living in 3201.
fn inside(records: &[PersonRecord]) -> Vec<&PersonRecord> {
    let families: HashSet<u64> = records
        .iter()
        .filter(|r| r.village.to_string().starts_with("3201"))
        .map(|r| r.kk.get())
        .collect();
    records
        .iter()
        .filter(|r| families.contains(&r.kk.get()))
        .collect()
}

#[test]
fn a_keyed_point_answers_as_the_plain_cut_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national = common::create_store(&records, &dir.path().join("national"));
    cut(&national, &dir.path().join("plain"), None);
    cut(&national, &dir.path().join("keyed"), Some(key()));
    let plain = common::open(&dir.path().join("plain"));
    let keyed = open_keyed(&dir.path().join("keyed"), Some(key())).unwrap();
    assert!(keyed.is_keyed() && keyed.snapshot().is_keyed());
    assert!(!plain.snapshot().is_keyed());
    let mut known = 0;
    for r in &records {
        let nik = r.nik.to_string();
        for (program, period) in PERIODS {
            let a = plain.check_str(&nik, program, period).unwrap();
            let b = keyed.check_str(&nik, program, period).unwrap();
            assert_eq!(a.reasons, b.reasons, "{nik} {program}");
            assert_eq!(a.payable, b.payable, "{nik} {program}");
            known += usize::from(!a.reasons.contains(tepat::ReasonCode::UnknownNik));
        }
    }
    assert!(known > 100, "{known} verdicts of known persons");
    // A payee list: the same verdicts, row for row.
    let list: String = std::iter::once("nik,program,period\n".to_owned())
        .chain(records.iter().map(|r| format!("{},PKH,2026-Q4\n", r.nik)))
        .collect();
    let verify = |store: &Store| {
        let mut out = Vec::new();
        tepat::batch::verify_csv(
            store,
            list.as_bytes(),
            "list.csv",
            &mut out,
            tepat::batch::OutputFormat::Csv,
            |_| {},
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(verify(&plain), verify(&keyed));
    keyed.verify().unwrap();
}

#[test]
fn a_keyed_point_opens_only_with_its_key_and_takes_no_clear_changes() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national = common::create_store(&records, &dir.path().join("national"));
    let point = dir.path().join("keyed");
    cut(&national, &point, Some(key()));
    let message = |r: tepat::Result<Store>| match r {
        Err(e @ Error::Key { .. }) => e.to_string(),
        Err(e) => panic!("not a key error: {e}"),
        Ok(_) => panic!("opened"),
    };
    let none = message(open_keyed(&point, None));
    assert!(none.contains("opens only with its identity key"), "{none}");
    let wrong = message(open_keyed(&point, Some(IdentityKey::from_bytes([7; 16]))));
    assert!(wrong.contains("not this store's"), "{wrong}");
    let plain = message(open_keyed(&dir.path().join("national"), Some(key())));
    assert!(plain.contains("not keyed"), "{plain}");
    let store = open_keyed(&point, Some(key())).unwrap();
    let nik = inside(&records)[0].nik;
    let change = format!(
        "{}\ndeath,{nik},,,,,,,,,,,,2026-11-06\n",
        tepat::change::HEADER
    );
    let refused = store
        .apply_csv(change.as_bytes(), "changes.csv")
        .unwrap_err()
        .to_string();
    assert!(refused.contains("keyed payout point"), "{refused}");
    assert!(store.compact().is_err());
}

/// Claims at a store: a family program and a person program for every
/// tenth person, every second paid claim reversed; returns the NIKs
/// claimed.
fn claim_and_reverse(store: &Store, persons: &[&PersonRecord]) -> Vec<u64> {
    let mut claimed = Vec::new();
    for (i, r) in persons.iter().step_by(10).enumerate() {
        for (program, period) in [("PKH", "2026-Q4"), ("PBI_JK", "2026-11")] {
            let id = format!("c-{i}-{program}");
            let outcome = store
                .claim(&ClaimRequest {
                    request_id: id.clone(),
                    nik: r.nik.to_string(),
                    program: program.into(),
                    period: period.into(),
                    operator: "kantor pos".into(),
                    ..Default::default()
                })
                .unwrap();
            if outcome.paid {
                claimed.push(r.nik.get());
                if i % 2 == 0 {
                    store
                        .reverse(&format!("r-{i}-{program}"), &id, "failed")
                        .unwrap();
                }
            }
        }
        // A mistyped NIK is refused and recorded, but not as typed.
        let typo = format!("{}9", &r.nik.to_string()[..15]);
        store
            .claim(&ClaimRequest {
                request_id: format!("t-{i}"),
                nik: typo,
                program: "PKH".into(),
                period: "2026-Q4".into(),
                ..Default::default()
            })
            .unwrap();
    }
    claimed
}

/// The byte patterns of every NIK and KK an attacker would look for:
/// 16 ASCII digits, the number as u64 little- and big-endian (and its low
/// 7 bytes), and the national snapshot's unkeyed NIK hash.
struct Patterns {
    words: HashSet<[u8; 8]>,
    low7: HashSet<[u8; 7]>,
    digits: HashSet<u64>,
}

impl Patterns {
    fn of(records: &[&PersonRecord], seed: u64) -> Patterns {
        let mut p = Patterns {
            words: HashSet::new(),
            low7: HashSet::new(),
            digits: HashSet::new(),
        };
        for r in records {
            for v in [r.nik.get(), r.kk.get()] {
                p.digits.insert(v);
                p.words.insert(v.to_le_bytes());
                p.words.insert(v.to_be_bytes());
                p.low7.insert(v.to_le_bytes()[..7].try_into().unwrap());
            }
            let h = hash_nik(r.nik.get(), seed);
            p.words.insert(h.to_le_bytes());
            p.words.insert(h.to_be_bytes());
        }
        p
    }

    /// How many times any pattern occurs in `bytes`.
    fn count_in(&self, bytes: &[u8]) -> usize {
        let mut found = 0;
        for w in bytes.windows(8) {
            found += usize::from(self.words.contains(<&[u8; 8]>::try_from(w).unwrap()));
        }
        for w in bytes.windows(7) {
            found += usize::from(self.low7.contains(<&[u8; 7]>::try_from(w).unwrap()));
        }
        for run in bytes.split(|b| !b.is_ascii_digit()) {
            for w in run.windows(16) {
                let v = w.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
                found += usize::from(self.digits.contains(&v));
            }
        }
        found
    }

    /// Occurrences in every file under `dir`, by file.
    fn scan(&self, dir: &Path) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let n = self.count_in(&std::fs::read(&path).unwrap());
                    out.push((path.display().to_string(), n));
                }
            }
        }
        out
    }
}

/// The national snapshot's NIK hash seed (header bytes 64..72).
fn national_seed(national: &Store) -> u64 {
    let path = Store::current_snapshot_path(national.dir()).unwrap();
    let bytes = std::fs::read(path).unwrap();
    u64::from_le_bytes(bytes[64..72].try_into().unwrap())
}

#[test]
fn a_stolen_keyed_point_yields_no_nik_and_no_kk() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let national_dir = dir.path().join("national");
    let national = common::create_store(&records, &national_dir);
    let point = dir.path().join("keyed");
    cut(&national, &point, Some(key()));
    let persons = inside(&records);
    let patterns = Patterns::of(&persons, national_seed(&national));
    {
        let store = open_keyed(&point, Some(key())).unwrap();
        let claimed = claim_and_reverse(&store, &persons);
        assert!(claimed.len() > 5, "{} claims paid", claimed.len());
        // The audit, written where a careless operator would keep it.
        let audit: String = store
            .audit(None, None)
            .unwrap()
            .iter()
            .map(|r| r.to_json_line() + "\n")
            .collect();
        std::fs::write(point.join("audit.jsonl"), &audit).unwrap();
        // The keeper's key reveals the claimed NIKs from the audit.
        let mut revealed = HashSet::new();
        for mut r in store.audit(None, None).unwrap() {
            if r.op == "claim" && r.outcome == "paid" {
                r.reveal(&key());
                revealed.insert(r.nik.unwrap());
            }
        }
        let claimed: HashSet<u64> = claimed.into_iter().collect();
        assert_eq!(revealed, claimed);
        // The audit of one person finds its claims by the NIK.
        let first = *claimed.iter().next().unwrap();
        assert!(!store.audit(Some(first), None).unwrap().is_empty());
    }
    let leaks: Vec<_> = patterns
        .scan(&point)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(leaks.is_empty(), "NIKs or KKs found: {leaks:?}");
    // The scan works: the national store, after the same claims, has them.
    claim_and_reverse(&national, &persons);
    std::fs::write(
        national_dir.join("audit.jsonl"),
        national
            .audit(None, None)
            .unwrap()
            .iter()
            .map(|r| r.to_json_line() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let found: usize = patterns.scan(&national_dir).iter().map(|(_, n)| n).sum();
    assert!(found > persons.len(), "{found} found in the national store");
}

/// A builder keyed after its persons were staged, or keyed again with
/// another key, stages them again under the last key.
#[test]
fn a_builder_rekeys_what_it_staged() {
    let dir = tempfile::tempdir().unwrap();
    let records = register();
    let as_of = tepat::Date::new(2026, 11, 1).unwrap();
    let other = IdentityKey::from_bytes([8; 16]);
    let mut b = tepat::snapshot::SnapshotBuilder::new(
        tepat::Registry::builtin().clone(),
        common::regions(),
        as_of,
    )
    .unwrap()
    .keyed_by(Some(other));
    for r in &records {
        b.add(r).unwrap();
    }
    let b = b.keyed_by(Some(key()));
    let store = Store::create(
        &dir.path().join("s"),
        b,
        common::options().identity_key(Some(key())),
    )
    .unwrap();
    for r in &records {
        let v = store
            .check_str(&r.nik.to_string(), "PBI_JK", "2026-11")
            .unwrap();
        assert!(
            !v.reasons.contains(tepat::ReasonCode::UnknownNik),
            "{}",
            r.nik
        );
    }
    store.verify().unwrap();
}
