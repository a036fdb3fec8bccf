//! Registry files (`tepat::Registry::from_toml_str`, what
//! `tepat build --programs FILE` reads) from arbitrary text. Proves: no
//! input panics; a registry that loads is self-consistent (at most 32
//! programs, codes unique and found by `by_code`, sets format and parse
//! back, `Registry::new` accepts its own parts), survives the postcard
//! encoding the snapshot header uses, and builds a snapshot of the fixture
//! register that verifies, carries the same registry, and only sets
//! eligibility and enrolment bits of programs that exist.

use tepat::program::MAX_PROGRAMS;
use tepat::snapshot::{Snapshot, SnapshotBuilder};
use tepat::{ProgramSet, Registry};

/// The check run on every input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(registry) = Registry::from_toml_str(text, None) else {
        return;
    };
    assert!(registry.len() <= MAX_PROGRAMS);
    let mut all = ProgramSet::EMPTY;
    for (i, p) in registry.programs().iter().enumerate() {
        let id = registry
            .by_code(&p.code)
            .expect("a program's code finds it");
        assert_eq!(id.index(), i, "code {} is not unique", p.code);
        assert!(registry.require(&p.code).is_ok());
        assert_eq!(registry.get(id), Some(p));
        all.insert(id);
    }
    assert_eq!(registry.ids().count(), registry.len());
    let codes = registry.format_set(all);
    assert_eq!(registry.parse_set(&codes).ok(), Some(all), "{codes:?}");
    let rebuilt = Registry::new(registry.programs().to_vec(), registry.policy().clone())
        .unwrap_or_else(|e| panic!("a loaded registry fails its own validation: {e}"));
    assert_eq!(rebuilt, registry);
    let encoded = postcard::to_allocvec(&registry).unwrap();
    let decoded: Registry = postcard::from_bytes(&encoded).unwrap();
    assert_eq!(decoded, registry);

    // A snapshot of the fixture register under this registry: enrolments
    // keep the programs whose codes the registry knows.
    let builtin = Registry::builtin();
    let mut b = SnapshotBuilder::new(
        registry.clone(),
        super::fixture::regions(),
        super::fixture::as_of(),
    )
    .unwrap();
    for r in super::fixture::records() {
        let mut r = r.clone();
        let mut set = ProgramSet::EMPTY;
        for code in builtin.format_set(r.programs).split('|') {
            if let Some(id) = registry.by_code(code) {
                set.insert(id);
            }
        }
        r.programs = set;
        b.add(&r).unwrap();
    }
    let mut bytes = Vec::new();
    b.write(&mut bytes).unwrap();
    let snap = Snapshot::from_bytes(bytes).unwrap();
    snap.verify().unwrap();
    assert_eq!(snap.registry(), &registry);
    for p in snap.persons() {
        assert_eq!(
            p.eligible().0 & !all.0,
            0,
            "eligible for a program that does not exist"
        );
        assert_eq!(
            p.enrolled().0 & !all.0,
            0,
            "enrolled in a program that does not exist"
        );
    }
}
