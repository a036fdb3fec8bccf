//! Arbitrary bytes as a snapshot: `from_bytes`, `verify` and lookups must
//! never panic; a file that verifies answers lookups consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tepat::snapshot::Snapshot;

fuzz_target!(|data: &[u8]| {
    let Ok(snap) = Snapshot::from_bytes(data.to_vec()) else { return };
    let verified = snap.verify().is_ok();
    let probes = [3_201_015_708_900_001u64, 1, 9_999_999_999_999_999];
    for nik in probes {
        if let Some(slot) = snap.find(nik) {
            if let Some(p) = snap.person_at(slot) {
                let _ = (p.kk(), p.village_code(), p.birth_date(), p.enrolled(), p.eligible());
                if verified {
                    assert_eq!(p.nik().get(), nik);
                }
                if let Some(f) = p.family() {
                    let _ = f.members().take(64).count();
                }
            }
        }
    }
    let mut out = vec![None; probes.len()];
    snap.find_many(&probes, &mut out);
    if verified {
        for (nik, slot) in probes.iter().zip(&out) {
            assert_eq!(*slot, snap.find(*nik));
        }
    }
    let _ = snap.regions().level(tepat::Level::Province).len();
});
