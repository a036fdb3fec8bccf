//! Creating a store: a new or empty directory, reserved under a lock before
//! anything is written, then the first generation, `CURRENT`, the claims
//! log and the live state.

use std::path::{Path, PathBuf};

use super::dir::{self, CLAIMS_LOG, Current};
use super::{Options, Store};
use crate::durable::StoreId;
use crate::error::{Error, Result};
use crate::payouts::claims_log;
use crate::snapshot::{BuildSummary, Snapshot, SnapshotBuilder};

/// A directory reserved for a new store: while it is held, no other
/// process or thread can create a store there. Made by [`Store::reserve`];
/// [`Reservation::create`] finishes the store. Dropped without `create`, it
/// removes what it wrote.
///
/// The reservation is the new store's claims log, created exclusively
/// (`O_EXCL`): of two creations racing for one directory, exactly one gets
/// it, and the other is refused before it writes anything.
#[derive(Debug)]
pub struct Reservation {
    dir: PathBuf,
    /// The new store's identity (already in its claims log).
    id: StoreId,
    /// A snapshot file written under another generation's name.
    extra: Option<PathBuf>,
    done: bool,
}

impl Store {
    /// Creates a new store in `dir` (created if missing; it must hold no
    /// files) from the register staged in `builder`, and opens it: the
    /// first snapshot generation, `CURRENT`, an empty claims log and an
    /// empty live state. Refuses a directory that already holds a store or
    /// any other file, and a directory another creation has reserved. With
    /// [`Options::identity_key`] the store is keyed (docs/FORMAT.md, "Keyed
    /// snapshots"): every NIK and KK staged becomes a pseudonym.
    ///
    /// ```no_run
    /// # fn main() -> tepat::Result<()> {
    /// use tepat::snapshot::SnapshotBuilder;
    /// use tepat::{Date, Options, RegionTable, Registry, Store};
    ///
    /// let regions = RegionTable::builtin();
    /// let as_of = Date::new(2026, 11, 1).expect("a date");
    /// let mut builder = SnapshotBuilder::new(Registry::builtin().clone(), regions, as_of)?;
    /// // builder.add(&record)? for every register row, or builder.add_csv(...)
    /// let store = Store::create("store".as_ref(), builder, Options::default())?;
    /// # Ok(()) }
    /// ```
    pub fn create(dir: &Path, builder: SnapshotBuilder<'_>, options: Options) -> Result<Store> {
        Ok(Store::reserve(dir)?.create(builder, options)?.0)
    }

    /// Creates a new store in `dir` (as [`Store::create`]) whose first
    /// generation is an existing snapshot file — one the register keeper
    /// built once and hands to many stores. The file is copied (in the
    /// kernel, reflinked where the file system can; never hard-linked: a
    /// store owns its files) and the copy checked byte for byte
    /// ([`Snapshot::verify`](crate::snapshot::Snapshot::verify)) before the
    /// store is opened.
    pub fn create_from_snapshot(dir: &Path, snapshot: &Path, options: Options) -> Result<Store> {
        Store::reserve(dir)?.create_from_snapshot(snapshot, options)
    }

    /// Reserves `dir` for a new store (see [`Reservation`]): what a caller
    /// writes into the store directory before the store exists (a rejects
    /// file, say) goes there only once the directory is theirs.
    pub fn reserve(dir: &Path) -> Result<Reservation> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        refuse_non_empty(dir)?;
        let log = dir.join(CLAIMS_LOG);
        let id = StoreId::new();
        claims_log::create(&log, id).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                store_error(dir, "another process is creating a store in this directory")
            }
            other => {
                // Ours, made in part (a full disk): the directory stays
                // as empty as it was.
                let _ = std::fs::remove_file(&log);
                other
            }
        })?;
        Ok(Reservation {
            dir: dir.to_path_buf(),
            id,
            extra: None,
            done: false,
        })
    }
}

impl Reservation {
    /// The reserved directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the first generation from `builder`, points `CURRENT` at it
    /// and opens the store; returns it with what the build wrote.
    pub fn create(
        mut self,
        builder: SnapshotBuilder<'_>,
        options: Options,
    ) -> Result<(Store, BuildSummary)> {
        // A key in the options keys the store (a keyed point's first cut).
        let builder = match &options.identity_key {
            Some(key) if !builder.is_keyed() => builder.keyed_by(Some(key.clone())),
            _ => builder,
        };
        let path = self.dir.join(dir::snapshot_file_name(1));
        let summary = builder.generation(1).write_to_path(&path)?;
        let checksum = Snapshot::open(&path)?.checksum();
        Current::new(self.id, 1, checksum).write(&self.dir)?;
        let store = Store::open_with(&self.dir, options)?;
        self.done = true;
        Ok((store, summary))
    }

    /// [`Store::create_from_snapshot`] in the reserved directory.
    pub fn create_from_snapshot(mut self, snapshot: &Path, options: Options) -> Result<Store> {
        crate::durable::require_regular_file(snapshot, "snapshot")?;
        let generation = Snapshot::open(snapshot)?.generation();
        let path = self.dir.join(dir::snapshot_file_name(generation));
        self.extra = Some(path.clone());
        std::fs::copy(snapshot, &path).map_err(|e| Error::io(&path, e))?;
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        let copy = Snapshot::open(&path)?;
        copy.verify()?;
        crate::durable::sync_dir(&path)?;
        Current::new(self.id, generation, copy.checksum()).write(&self.dir)?;
        let store = Store::open_with(&self.dir, options)?;
        self.done = true;
        Ok(store)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Only what the creation itself writes; a caller's own files (a
        // rejects file) are theirs to keep or remove.
        for name in [dir::CURRENT, &dir::snapshot_file_name(1), CLAIMS_LOG] {
            let path = self.dir.join(name);
            // And its temporary twin, which a write cut short (a full
            // disk) leaves behind.
            let _ = std::fs::remove_file(crate::durable::tmp_path(&path));
            let _ = std::fs::remove_file(path);
        }
        if let Some(path) = &self.extra {
            let _ = std::fs::remove_file(path);
        }
        // The directory was empty when it was reserved: a live state in it
        // is the one this creation's open made.
        let _ = std::fs::remove_dir_all(self.dir.join(dir::LIVE_DIR));
    }
}

/// Refuses a directory with anything in it: a store is created in a new or
/// empty directory, so that it never mixes with another store's files.
fn refuse_non_empty(dir: &Path) -> Result<()> {
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    if let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let what = if name == dir::CURRENT || name == CLAIMS_LOG {
            "it already holds a store"
        } else {
            "it is not empty"
        };
        return Err(store_error(
            dir,
            &format!("cannot create a store here: {what} ({name}); use a new or empty directory"),
        ));
    }
    Ok(())
}

/// An error about the store directory as a whole.
pub(crate) fn store_error(dir: &Path, message: &str) -> Error {
    Error::Store {
        dir: dir.to_path_buf(),
        message: message.to_owned(),
    }
}
