//! Signed snapshots (docs/FORMAT.md, "Signed snapshots") as an attacker
//! and a careless operator would try them: changed bytes with and without
//! a fixed checksum, a file re-signed with another key, an unsigned file
//! at a point that trusts the keeper, a compaction without the key.

mod common;

use std::path::{Path, PathBuf};

use tepat::snapshot::{PublicKey, SigningKey, Snapshot, SnapshotBuilder, sign};
use tepat::{Date, Error, Options, Registry, Store};

fn keeper() -> SigningKey {
    SigningKey::from_seed([0x11; 32])
}

fn stranger() -> SigningKey {
    SigningKey::from_seed([0x22; 32])
}

/// A store of 40 families whose first snapshot is signed by `key`.
fn signed_store(dir: &Path, key: Option<SigningKey>) -> PathBuf {
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b = SnapshotBuilder::new(Registry::builtin().clone(), common::regions(), as_of)
        .unwrap()
        .signed_by(key);
    for r in common::register(40, 3) {
        b.add(&r).unwrap();
    }
    let store = dir.join("store");
    Store::create(&store, b, common::options()).unwrap();
    store
}

fn trusting(key: PublicKey) -> Options {
    common::options().trust(key)
}

fn refused_for_signature(result: tepat::Result<Store>) -> String {
    match result {
        Err(e @ Error::Signature { .. }) => e.to_string(),
        Err(other) => panic!("refused, but not for its signature: {other}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn a_signed_store_opens_for_its_keeper_and_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_store(dir.path(), Some(keeper()));
    let opened = Store::open_with(&store, trusting(keeper().public_key())).unwrap();
    assert_eq!(opened.snapshot().signer(), Some(keeper().public_key()));
    drop(opened);

    let message =
        refused_for_signature(Store::open_with(&store, trusting(stranger().public_key())));
    assert!(message.contains("not a trusted key"), "{message}");
    assert!(
        message.contains(&keeper().public_key().to_string()),
        "{message}"
    );

    // Without --trust it opens, and says who signed it.
    let open = Store::open_with(&store, common::options()).unwrap();
    assert_eq!(open.snapshot().signer(), Some(keeper().public_key()));
}

#[test]
fn an_unsigned_store_is_refused_where_the_keeper_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_store(dir.path(), None);
    let message = refused_for_signature(Store::open_with(&store, trusting(keeper().public_key())));
    assert!(message.contains("unsigned"), "{message}");
    assert_eq!(
        Store::open_with(&store, common::options())
            .unwrap()
            .snapshot()
            .signer(),
        None
    );
}

fn snapshot_file(store: &Path) -> PathBuf {
    Store::current_snapshot_path(store).unwrap()
}

/// Every byte of the header (but its checksum) and of the section table,
/// changed: refused when the checksum is left as it was, and refused
/// when the attacker fixes the checksum too (the signature holds).
#[test]
fn any_changed_byte_of_header_or_table_is_refused_even_with_a_fixed_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_store(dir.path(), Some(keeper()));
    let bytes = std::fs::read(snapshot_file(&store)).unwrap();
    let trusted = [keeper().public_key()];
    let table_end = 256 + 8 * 32;
    for at in (0..248).chain(256..table_end) {
        let mut changed = bytes.clone();
        changed[at] ^= 0x01;
        assert!(
            Snapshot::from_bytes(changed.clone()).is_err(),
            "byte {at}, checksum stale"
        );
        // Fix the checksum as an attacker would: xxh3 is no secret.
        let fixed = {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(&changed[..248]);
            h.update(&changed[256..table_end]);
            h.digest()
        };
        changed[248..256].copy_from_slice(&fixed.to_le_bytes());
        let outcome = Snapshot::from_bytes(changed).and_then(|s| s.check_trusted(&trusted));
        assert!(
            outcome.is_err(),
            "byte {at} changed, checksum fixed: accepted"
        );
    }
}

#[test]
fn a_file_changed_and_re_signed_with_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_store(dir.path(), Some(keeper()));
    let path = snapshot_file(&store);
    let mut bytes = std::fs::read(&path).unwrap();
    // The generation number, changed and signed by the attacker's key.
    bytes[24] ^= 0x40;
    sign::sign_file_bytes(&mut bytes, &stranger()).unwrap();
    let forged = Snapshot::from_bytes(bytes.clone()).unwrap();
    assert_eq!(forged.signer(), Some(stranger().public_key()));
    let refused = forged.check_trusted(&[keeper().public_key()]).unwrap_err();
    assert!(
        refused.to_string().contains("not a trusted key"),
        "{refused}"
    );
    // The same forgery installed in the store's directory.
    bytes[24] ^= 0x40;
    sign::sign_file_bytes(&mut bytes, &stranger()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    refused_for_signature(Store::open_with(&store, trusting(keeper().public_key())));
}

#[test]
fn a_changed_section_byte_opens_but_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_store(dir.path(), Some(keeper()));
    let mut bytes = std::fs::read(snapshot_file(&store)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let snap = Snapshot::from_bytes(bytes).unwrap();
    snap.check_trusted(&[keeper().public_key()]).unwrap();
    let e = snap.verify().unwrap_err();
    assert!(matches!(e, Error::Checksum { .. }), "{e}");
}

#[test]
fn a_trusting_store_compacts_only_with_the_key_and_signs_the_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = signed_store(dir.path(), Some(keeper()));
    let store = Store::open_with(&store_dir, trusting(keeper().public_key())).unwrap();
    let e = store.compact().unwrap_err();
    assert!(matches!(e, Error::Signature { .. }), "{e}");
    assert!(e.to_string().contains("--sign-key"), "{e}");
    assert_eq!(store.snapshot().generation(), 1, "nothing switched");
    drop(store);

    // Signed by a stranger: written, refused at its own open, not switched.
    let wrong = trusting(keeper().public_key()).signing_key(Some(stranger()));
    let store = Store::open_with(&store_dir, wrong).unwrap();
    assert!(matches!(store.compact(), Err(Error::Signature { .. })));
    assert_eq!(store.snapshot().generation(), 1);
    drop(store);

    let options = trusting(keeper().public_key()).signing_key(Some(keeper()));
    let store = Store::open_with(&store_dir, options).unwrap();
    let change = store.compact().unwrap();
    assert!(change.switched);
    assert_eq!(store.snapshot().signer(), Some(keeper().public_key()));
    drop(store);
    let reopened = Store::open_with(&store_dir, trusting(keeper().public_key())).unwrap();
    assert_eq!(reopened.snapshot().generation(), 2);
}
