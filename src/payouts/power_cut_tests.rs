//! Power cuts, not process kills: the claims log over a simulated disk
//! ([`crate::durable::sim::SimDisk`]) that keeps only what `fdatasync` made
//! durable. A run of claims and reversals from four threads sharing group
//! commit loses its power at every sync in turn, and the file comes back
//! with the durable bytes plus any prefix of the rest (cut within a write,
//! at a record's edge, or with nothing of it). Each time: the log opens,
//! every acknowledged claim and reversal is there with what it said,
//! nothing unacknowledged is half-present (a record cut short is dropped
//! and kept aside), and the ledger takes new claims.

use std::sync::{Arc, Mutex};

use super::claims_log::header_bytes;
use super::index::ClaimKey;
use super::ledger::Ledger;
use super::records::{ClaimEntry, Entry, ReverseEntry, SUBJECT_FAMILY, StoredVerdict, Subject};
use crate::domain::verdict::ReasonSet;
use crate::durable::StoreId;
use crate::durable::sim::SimDisk;

const PERIOD: u32 = 0x2000_07EA;

fn claim(id: &str, family: u64) -> Entry {
    Entry::Claim(ClaimEntry {
        seq: 0,
        at_ms: 0,
        request_id: id.into(),
        asked: format!("claim {id}"),
        nik: Some(family),
        kk: Some(family),
        meta: String::new(),
        amount: Some(750_000),
        entitled: Some(750_000),
        village: 0,
        operator: "counter-1".into(),
        paid: true,
        verdict: StoredVerdict {
            payable: true,
            reasons: ReasonSet::default(),
            conflicts: Vec::new(),
            claimed: None,
        },
        program: "PKH".into(),
        period: PERIOD,
        family: true,
        keys: vec![Subject {
            kind: SUBJECT_FAMILY,
            id: family,
        }],
    })
}

fn reverse(id: &str, original: &str, claim_offset: u64, family: u64) -> Entry {
    Entry::Reverse(ReverseEntry {
        operator: String::new(),
        amount: None,
        seq: 0,
        at_ms: 0,
        request_id: id.into(),
        asked: format!("reverse {original}"),
        original: original.into(),
        reason: "transfer failed".into(),
        claim_offset,
        program: "PKH".into(),
        period: PERIOD,
        keys: vec![Subject {
            kind: SUBJECT_FAMILY,
            id: family,
        }],
    })
}

/// What a thread was told was durable.
#[derive(Clone, Debug)]
enum Acked {
    Claim { id: String, family: u64 },
    Reversal { id: String, family: u64 },
}

/// Four threads claim (and now and then reverse their last claim) until
/// the power goes; returns what was acknowledged.
fn run(ledger: &Ledger) -> Vec<Acked> {
    let acked = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let acked = &acked;
            s.spawn(move || {
                for i in 0..40u64 {
                    let family = t * 1000 + i;
                    let id = format!("c-{t}-{i}");
                    let Ok(offset) = ledger
                        .lock()
                        .and_then(|mut g| g.append(&claim(&id, family), |_| {}))
                    else {
                        return;
                    };
                    if ledger.durable().is_err() {
                        return;
                    }
                    acked.lock().unwrap().push(Acked::Claim {
                        id: id.clone(),
                        family,
                    });
                    if i % 5 == 4 {
                        let rid = format!("r-{t}-{i}");
                        let entry = reverse(&rid, &id, offset, family);
                        let appended = ledger.lock().and_then(|mut g| g.append(&entry, |_| {}));
                        if appended.is_err() || ledger.durable().is_err() {
                            return;
                        }
                        acked
                            .lock()
                            .unwrap()
                            .push(Acked::Reversal { id: rid, family });
                    }
                }
            });
        }
    });
    acked.into_inner().unwrap()
}

/// The acknowledged facts hold in a ledger reopened after the cut.
fn check(ledger: &Ledger, acked: &[Acked], what: &str) {
    let g = ledger.lock().unwrap();
    let n = g.number_of_test("PKH");
    for a in acked {
        match a {
            Acked::Claim { id, .. } => {
                let (_, entry) = g
                    .request(id)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what}: {id} lost"));
                assert!(matches!(entry, Entry::Claim(c) if c.paid), "{what}: {id}");
            }
            Acked::Reversal { id, family } => {
                assert!(
                    g.request(id).unwrap().is_some(),
                    "{what}: reversal {id} lost"
                );
                let key = ClaimKey::new(n, PERIOD, SUBJECT_FAMILY, *family);
                assert!(
                    g.holder(key).unwrap().is_none(),
                    "{what}: {id} did not free {family}"
                );
            }
        }
    }
    // Every claim acknowledged still holds its key, unless a reversal of
    // it is on record: acknowledged, or written whole before the cut (an
    // unacknowledged record may survive whole; it may not survive in part).
    for a in acked {
        if let Acked::Claim { id, family } = a {
            let (offset, _) = g.request(id).unwrap().unwrap();
            let key = ClaimKey::new(n, PERIOD, SUBJECT_FAMILY, *family);
            match g.reversal_of(offset).unwrap() {
                Some(r) => {
                    assert_eq!(&r.original, id, "{what}");
                    assert!(
                        g.holder(key).unwrap().is_none(),
                        "{what}: {id} reversed, key held"
                    );
                }
                None => {
                    let holder = g.holder(key).unwrap().map(|c| c.request_id);
                    assert_eq!(holder.as_deref(), Some(id.as_str()), "{what}");
                }
            }
        }
    }
}

#[test]
fn every_acknowledged_claim_survives_a_power_cut_at_any_sync() {
    let dir = tempfile::tempdir().unwrap();
    let header = header_bytes(StoreId([3; 16])).to_vec();
    let mut cuts_with_a_torn_record = 0;
    for cut in 1..=60u64 {
        let disk = Arc::new(SimDisk::new(header.clone(), Some(cut)));
        let path = dir.path().join(format!("cut-{cut}.log"));
        let ledger = Ledger::open_io(&path, disk.clone(), true).unwrap();
        let acked = run(&ledger);
        if !disk.is_dead() {
            disk.power_cut();
        }
        drop(ledger);
        for keep in [0usize, 1, 17, 100, 333, 4096, usize::MAX - 1] {
            let what = format!("cut at sync {cut}, {keep} bytes kept");
            let image = disk.after_power_cut(keep);
            let path = dir.path().join(format!("cut-{cut}-{keep}.log"));
            let back = Arc::new(SimDisk::new(image, None));
            let ledger = Ledger::open_io(&path, back, true)
                .unwrap_or_else(|e| panic!("{what}: the log does not open: {e}"));
            cuts_with_a_torn_record += usize::from(ledger.recovery().torn_bytes > 0);
            check(&ledger, &acked, &what);
            // And it goes on: a new claim is durable.
            let mut g = ledger.lock().unwrap();
            g.append(&claim("after", 999_999), |_| {}).unwrap();
            drop(g);
            ledger.durable().unwrap();
        }
    }
    assert!(cuts_with_a_torn_record > 20, "the cuts never tore a record");
}
