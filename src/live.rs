//! Live state: everything that changed in the register since the snapshot,
//! and the audit of those changes — the one module that knows about sled.
//! (Payouts — claims, reversals and their requests — live in the ledger,
//! `ledger`, an append-only log of their own: sled could not make
//! them durable fast enough.)
//!
//! All live state sits in **one** sled tree, with a one-byte prefix per kind
//! of record, so that a file of changes is applied all or nothing: with one
//! atomic batch, or, past [`BATCH_RECORDS`] records, through a journal
//! ([`Live::write_journaled`]):
//!
//! | key | value |
//! |---|---|
//! | `P` nik | [`LivePerson`]: the person's whole current state |
//! | `M` kk nik | membership: `1` moved in or born, `0` moved out of a snapshot family |
//! | `A` sequence | the audit of an applied change row |
//!
//! Integers in keys are big-endian so that keys sort by value. Values are
//! postcard-encoded. Keys and encodings stay inside this module: the rest
//! of the library reads typed records and writes a [`LiveWrite`].
//!
//! Durability: a write is acknowledged only after a flush covers it. Flushes
//! are shared (group commit).

use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::date::Date;
use crate::domain::program::{ComponentSet, PersonFacts};
use crate::durable::StoreId;
use crate::durable::group_commit::GroupCommit;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Prefix of person state records.
const PERSON: u8 = b'P';
/// Prefix of membership markers.
const MEMBER: u8 = b'M';
/// Prefix of audit entries.
const AUDIT: u8 = b'A';
/// The one witness record.
const WITNESS: [u8; 1] = [b'W'];
/// Prefix of the records of change files applied, by checksum.
const APPLIED: u8 = b'F';

/// A change file applied, recorded under the xxh3 of its bytes so that the
/// same file sent again is recognised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFile {
    /// When it was applied, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The name it was applied under.
    pub file: String,
    /// The rows it applied.
    pub rows: u64,
}

/// What the live state knows of the store it belongs to, written with the
/// writes that change it: the store's identity, how many change files it
/// applied, how long the claims log was then, and the generation whose
/// changes it has folded away. `CURRENT` keeps the same figures; an older
/// copy of either part shows in the comparison (store::dir).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Witness {
    pub(crate) id: StoreId,
    pub(crate) applies: u64,
    pub(crate) log_bytes: u64,
    pub(crate) generation: u64,
    /// The latest date a change row applied gave (days since the epoch;
    /// `i64::MIN` before any): an export older than it would undo changes.
    pub(crate) latest_change: i64,
}

/// A changed person's whole current state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePerson {
    /// Family card.
    pub kk: u64,
    /// Relation code (see [`crate::rows::register::Relation::code`]).
    pub relation: u8,
    /// Village code.
    pub village: u64,
    /// 1 = female.
    pub female: bool,
    /// Birth date, days since the Unix epoch.
    pub birth_days: i64,
    /// Welfare decile.
    pub decile: u8,
    /// Deceased.
    pub deceased: bool,
    /// Civil servant.
    pub civil_servant: bool,
    /// Duplicate identity (as the snapshot flagged it).
    pub duplicate: bool,
    /// Recorded components.
    pub components: u16,
    /// Enrolment bitset.
    pub enrolled: u32,
    /// Eligibility bitset, recomputed whenever the family changes.
    pub eligible: u32,
    /// Not in the snapshot (born or registered since).
    pub new: bool,
}

impl LivePerson {
    /// What eligibility and entitlement rules look at, with the age on `on`.
    pub fn facts(&self, on: Date) -> PersonFacts {
        PersonFacts {
            decile: self.decile,
            age: Date::from_unix_days(self.birth_days).map_or(0, |b| b.age_on(on)),
            recorded: ComponentSet(self.components),
            civil_servant: self.civil_servant,
        }
    }

    /// The fields in which this state differs from `before` (the
    /// snapshot's record of the same person), by name: what a pending
    /// change changed.
    pub fn changed_fields(&self, before: &LivePerson) -> Vec<&'static str> {
        let fields = [
            ("kk", self.kk != before.kk),
            ("relation", self.relation != before.relation),
            ("village_code", self.village != before.village),
            ("sex", self.female != before.female),
            ("birth_date", self.birth_days != before.birth_days),
            ("decile", self.decile != before.decile),
            ("deceased", self.deceased != before.deceased),
            ("civil_servant", self.civil_servant != before.civil_servant),
            ("duplicate", self.duplicate != before.duplicate),
            ("components", self.components != before.components),
            ("enrolled", self.enrolled != before.enrolled),
            ("eligible", self.eligible != before.eligible),
        ];
        fields
            .into_iter()
            .filter_map(|(name, differs)| differs.then_some(name))
            .collect()
    }
}

/// The audit entry of one applied change row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChangeAudit {
    /// When it was applied, milliseconds since the epoch.
    pub(crate) at_ms: u64,
    /// `death`, `birth`, `move`, `enrol`, `remove`, `decile`.
    pub(crate) kind: String,
    /// The NIK it changes, if one.
    pub(crate) nik: Option<u64>,
    /// The family card it names (a move's target, a re-ranked family).
    pub(crate) kk: Option<u64>,
    /// The program it enrols in or removes from.
    pub(crate) program: Option<String>,
    /// The date the row gives (`YYYY-MM-DD`).
    pub(crate) date: String,
    /// The file and line it came from.
    pub(crate) file: String,
    pub(crate) line: u64,
}

fn live_err(e: impl std::fmt::Display) -> Error {
    Error::Live {
        message: e.to_string(),
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| Error::Encode {
        what: "a live-state record",
        source: Box::new(e),
    })
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Live {
        message: format!("a stored record does not decode: {e}"),
    })
}

/// The big-endian `u64` at `at` in a key: the NIK of a `P` key (at 1), the
/// KK (at 1) and NIK (at 9) of an `M` key, the sequence of an `A` key.
fn key_u64(key: &[u8], at: usize) -> Option<u64> {
    key.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

/// Key of a person's state.
fn person_key(nik: u64) -> [u8; 9] {
    let mut k = [PERSON; 9];
    k[1..].copy_from_slice(&nik.to_be_bytes());
    k
}

/// Key of a membership marker.
fn member_key(kk: u64, nik: u64) -> [u8; 17] {
    let mut k = [MEMBER; 17];
    k[1..9].copy_from_slice(&kk.to_be_bytes());
    k[9..].copy_from_slice(&nik.to_be_bytes());
    k
}

/// Key of an audit entry.
fn audit_key(seq: u64) -> [u8; 9] {
    let mut k = [AUDIT; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The big-endian `u64` at `at` in a key read back from the tree; a key
/// too short for it is damage.
fn key_at(key: &[u8], at: usize) -> Result<u64> {
    key_u64(key, at).ok_or_else(|| Error::Live {
        message: format!("a stored key of {} bytes is too short", key.len()),
    })
}

/// Writes to the live state, applied together by [`Live::write`] (or,
/// when larger than one sled batch should be, [`Live::write_journaled`]):
/// by key, the last write of a key winning, as in a sled batch.
#[derive(Default)]
pub(crate) struct LiveWrite {
    ops: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// The most records one sled batch is given. sled holds every version of
/// the nodes a batch touches until the batch ends: measured on a 10 M
/// store, a batch of 3 M records took 9.4 GB (≈ 3 KB a record), the same
/// records inserted one by one 70 MB. Larger writes go through a journal.
pub(crate) const BATCH_RECORDS: usize = 16_384;

impl LiveWrite {
    /// Records a person's whole current state.
    pub(crate) fn put_person(&mut self, nik: u64, state: &LivePerson) -> Result<()> {
        self.put(&person_key(nik), encode(state)?);
        Ok(())
    }

    /// Forgets a person's pending state (the snapshot holds it now).
    pub(crate) fn remove_person(&mut self, nik: u64) {
        self.ops.insert(person_key(nik).to_vec(), None);
    }

    /// Records that `nik` moved into (`true`) or out of a family card.
    pub(crate) fn put_marker(&mut self, kk: u64, nik: u64, moved_in: bool) {
        self.put(&member_key(kk, nik), vec![u8::from(moved_in)]);
    }

    /// Forgets a membership marker.
    pub(crate) fn remove_marker(&mut self, kk: u64, nik: u64) {
        self.ops.insert(member_key(kk, nik).to_vec(), None);
    }

    /// Records a change file applied, under its checksum.
    pub(crate) fn put_applied(&mut self, digest: u64, applied: &AppliedFile) -> Result<()> {
        let mut key = [APPLIED; 9];
        key[1..].copy_from_slice(&digest.to_be_bytes());
        self.put(&key, encode(applied)?);
        Ok(())
    }

    /// Records the witness.
    pub(crate) fn put_witness(&mut self, w: &Witness) -> Result<()> {
        self.put(&WITNESS, encode(w)?);
        Ok(())
    }

    fn put(&mut self, key: &[u8], value: Vec<u8>) {
        self.ops.insert(key.to_vec(), Some(value));
    }

    fn into_batch(self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (key, value) in self.ops {
            match value {
                Some(v) => batch.insert(key, v),
                None => batch.remove(key),
            }
        }
        batch
    }

    /// Records an audit entry under its sequence number.
    pub(crate) fn put_audit(&mut self, seq: u64, entry: &ChangeAudit) -> Result<()> {
        self.put(&audit_key(seq), encode(entry)?);
        Ok(())
    }
}

/// The sled database of one store.
pub(crate) struct Live {
    dir: std::path::PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    commit: GroupCommit,
    /// Share flushes between concurrent writers (the default); off, every
    /// write runs its own flush (the benchmark's baseline).
    group_commit: bool,
}

impl Live {
    /// Opens (or creates) the live state in `dir`.
    pub(crate) fn open(dir: &Path, group_commit: bool) -> Result<Live> {
        let db = open_db(dir)?;
        let tree = db.open_tree("live").map_err(live_err)?;
        Ok(Live {
            dir: dir.to_path_buf(),
            commit: GroupCommit::new("the live state"),
            db,
            tree,
            group_commit,
        })
    }

    /// The witness, `None` in a live state that has none (a new one, or
    /// one emptied).
    pub(crate) fn witness(&self) -> Result<Option<Witness>> {
        match self.tree.get(WITNESS).map_err(live_err)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Reads and decodes every record (what `tepat verify` checks of the
    /// live state); returns how many there are.
    pub(crate) fn verify(&self) -> Result<u64> {
        let mut n = 0u64;
        for item in self.tree.iter() {
            let (k, v) = item.map_err(live_err)?;
            let decoded = match k.first() {
                Some(&PERSON) => decode::<LivePerson>(&v).map(|_| ()),
                Some(&MEMBER) if k.len() == 17 && v.len() == 1 => Ok(()),
                Some(&AUDIT) => decode::<ChangeAudit>(&v).map(|_| ()),
                Some(&b'W') if k.len() == 1 => decode::<Witness>(&v).map(|_| ()),
                Some(&APPLIED) if k.len() == 9 => decode::<AppliedFile>(&v).map(|_| ()),
                _ => Err(Error::Live {
                    message: format!("a record with a key this tepat never writes: {:?}", &k[..]),
                }),
            };
            decoded.map_err(|e| Error::Live {
                message: format!("record {n} ({} bytes of key): {e}", k.len()),
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// The change file applied with this checksum, if one was.
    pub(crate) fn applied_file(&self, digest: u64) -> Result<Option<AppliedFile>> {
        let mut key = [APPLIED; 9];
        key[1..].copy_from_slice(&digest.to_be_bytes());
        match self.tree.get(key).map_err(live_err)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Whether the live state holds no record at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The pending state of a person, if the NIK has one.
    pub(crate) fn person(&self, nik: u64) -> Result<Option<LivePerson>> {
        match self.tree.get(person_key(nik)).map_err(live_err)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Every person with a pending state, by NIK.
    pub(crate) fn persons(&self) -> impl Iterator<Item = Result<(u64, LivePerson)>> + '_ {
        self.tree.scan_prefix([PERSON]).map(|item| {
            let (k, v) = item.map_err(live_err)?;
            Ok((key_at(&k, 1)?, decode(&v)?))
        })
    }

    /// The NIKs with a pending state (keys only: nothing decoded).
    pub(crate) fn changed_niks(&self) -> Result<Vec<u64>> {
        self.tree
            .scan_prefix([PERSON])
            .keys()
            .map(|k| key_at(&k.map_err(live_err)?, 1))
            .collect()
    }

    /// Every membership marker as (KK, NIK, moved in), in KK order.
    pub(crate) fn markers(&self) -> impl Iterator<Item = Result<(u64, u64, bool)>> + '_ {
        self.markers_under([MEMBER; 1])
    }

    /// The membership markers of one family card as (KK, NIK, moved in).
    pub(crate) fn markers_of(
        &self,
        kk: u64,
    ) -> impl Iterator<Item = Result<(u64, u64, bool)>> + '_ {
        let mut prefix = [MEMBER; 9];
        prefix[1..].copy_from_slice(&kk.to_be_bytes());
        self.markers_under(prefix)
    }

    fn markers_under<const N: usize>(
        &self,
        prefix: [u8; N],
    ) -> impl Iterator<Item = Result<(u64, u64, bool)>> + '_ {
        self.tree.scan_prefix(prefix).map(|item| {
            let (k, v) = item.map_err(live_err)?;
            Ok((key_at(&k, 1)?, key_at(&k, 9)?, v.as_ref() == [1]))
        })
    }

    /// Every audit entry of an applied change with its sequence number, in
    /// order.
    pub(crate) fn audit(&self) -> impl Iterator<Item = Result<(u64, ChangeAudit)>> + '_ {
        self.tree.scan_prefix([AUDIT]).map(|item| {
            let (k, v) = item.map_err(live_err)?;
            Ok((key_at(&k, 1)?, decode(&v)?))
        })
    }

    /// The highest audit sequence number recorded, 0 if none.
    pub(crate) fn last_audit_seq(&self) -> Result<u64> {
        match self.tree.scan_prefix([AUDIT]).keys().next_back() {
            Some(k) => key_at(&k.map_err(live_err)?, 1),
            None => Ok(0),
        }
    }

    /// Refuses a live state written before payouts moved to the claims log
    /// (stores made before commit e258023 kept claims under `C` and requests
    /// under `R`):
    /// opening it would silently forget those claims.
    pub(crate) fn refuse_old_layout(&self) -> Result<()> {
        for prefix in [b"C", b"R"] {
            if self.tree.scan_prefix(prefix).next().is_some() {
                return Err(Error::Live {
                    message: "this store keeps its claims in the old sled layout (before the claims log); \
                              rebuild it with this version of tepat"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// Applies a write atomically (all of it or none) and returns once it
    /// is durable.
    pub(crate) fn write(&self, write: LiveWrite) -> Result<()> {
        self.tree
            .apply_batch(write.into_batch())
            .map_err(live_err)?;
        self.durable()?;
        // sled's flush waits with `sync_file_range`, which flushes neither
        // the device's write cache nor the files' metadata: an `fsync` of
        // its files after it makes a change file survive a power cut too.
        // Change files are few (a few a month), so the syncs cost nothing
        // that matters.
        sync_tree(&self.dir)
    }

    /// Applies a write atomically without waiting for a flush: sled makes
    /// it durable with its next periodic flush (for the witness's
    /// best-effort length, never for changes).
    pub(crate) fn write_unflushed(&self, write: LiveWrite) -> Result<()> {
        self.tree.apply_batch(write.into_batch()).map_err(live_err)
    }

    /// Applies a write of any size all or nothing, across a crash: the
    /// records go first into the journal at `journal` (durable: the commit
    /// point), then `committed` runs (the store shows the write from then
    /// on), then they go into sled record by record, two threads at a
    /// time, and the journal is removed once a flush covers them. A crash
    /// before the commit point leaves nothing; after it,
    /// [`Live::replay_journal`] at the next open finishes the write.
    pub(crate) fn write_journaled(
        &self,
        write: LiveWrite,
        journal: &Path,
        id: StoreId,
        committed: impl FnOnce(),
    ) -> Result<()> {
        let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = write.ops.into_iter().collect();
        let payload = postcard::to_allocvec(&ops).map_err(|e| Error::Encode {
            what: "a live-state journal",
            source: Box::new(e),
        })?;
        crate::durable::journal::write(journal, id, &payload)?;
        drop(payload);
        committed();
        self.finish_journal(&ops, journal)
    }

    /// Finishes a journaled write a crash interrupted (see
    /// [`Live::write_journaled`]); returns whether there was one.
    pub(crate) fn replay_journal(&self, journal: &Path, id: StoreId) -> Result<bool> {
        let Some(payload) = crate::durable::journal::read(journal, id)? else {
            return Ok(false);
        };
        let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            postcard::from_bytes(&payload).map_err(|e| Error::Live {
                message: format!("{}: the journal does not decode: {e}", journal.display()),
            })?;
        drop(payload);
        self.refuse_stale_journal(&ops, journal)?;
        self.finish_journal(&ops, journal)?;
        Ok(true)
    }

    /// A journal is the last write of the live state, or one after it: a
    /// journal whose witness counts fewer change files than `live/` is an
    /// old copy put back (from a backup), and its records would undo the
    /// files applied since.
    fn refuse_stale_journal(
        &self,
        ops: &[(Vec<u8>, Option<Vec<u8>>)],
        journal: &Path,
    ) -> Result<()> {
        let journal_witness = ops
            .iter()
            .find(|(k, _)| k.as_slice() == WITNESS)
            .and_then(|(_, v)| v.as_deref())
            .map(decode::<Witness>)
            .transpose()?;
        match (journal_witness, self.witness()?) {
            (Some(j), Some(live)) if j.applies < live.applies => Err(Error::Live {
                message: format!(
                    "{}: the journal records {} change files applied, live/ {}: it is an older \
                     copy and would undo the files applied since; it was not replayed",
                    journal.display(),
                    j.applies,
                    live.applies
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The journal's records into sled, durable (a flush, then an `fsync`
    /// of sled's files: see [`Live::write`]), then the journal removed.
    fn finish_journal(&self, ops: &[(Vec<u8>, Option<Vec<u8>>)], journal: &Path) -> Result<()> {
        self.insert_each(ops)?;
        self.durable()?;
        sync_tree(&self.dir)?;
        crate::durable::journal::remove(journal)
    }

    /// Writes `ops` into the tree one record at a time (no batch: see
    /// [`BATCH_RECORDS`]), on two threads, each its half in key order.
    fn insert_each(&self, ops: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<()> {
        let one = |part: &[(Vec<u8>, Option<Vec<u8>>)]| -> Result<()> {
            for (i, (key, value)) in part.iter().enumerate() {
                match value {
                    Some(v) => self.tree.insert(key, v.as_slice()).map(|_| ()),
                    None => self.tree.remove(key).map(|_| ()),
                }
                .map_err(live_err)?;
                if i == 4096 {
                    crate::durable::fault_point("apply.inserting");
                }
            }
            Ok(())
        };
        let (first, second) = ops.split_at(ops.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| one(second));
            let mine = one(first);
            mine.and(other.join().unwrap_or_else(|_| {
                Err(Error::Live {
                    message: "a thread writing the live state panicked".into(),
                })
            }))
        })
    }

    /// Returns once a flush covers every write committed so far.
    fn durable(&self) -> Result<()> {
        let flush = || self.db.flush().map(|_| ()).map_err(live_err);
        if !self.group_commit {
            self.commit.count_flush();
            return flush();
        }
        let ticket = self.commit.ticket();
        self.commit.wait(ticket, flush)
    }

    /// How many flushes have run (for the group-commit test and benchmark).
    pub(crate) fn flushes(&self) -> u64 {
        self.commit.flushes()
    }
}

/// How long `open` waits for a store that was just closed in this process:
/// sled releases its directory lock from a background thread after the last
/// handle is dropped.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes the snapshot files sled left half-written (`snap.*.generating`):
/// sled renames a snapshot into place only once it is complete, but reads
/// the newest `snap.*` file it finds, and a `.generating` one sorts last. A
/// disk that filled up during an open leaves one behind, and every open
/// after it would fail on "corrupted data".
fn remove_unfinished_snapshots(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// `fsync`s every file under `dir`, then `dir` and its subdirectories.
fn sync_tree(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Refuses a FIFO, socket or device among the live state's files (sled
/// would open it and wait for ever), before sled sees it.
fn refuse_special_files(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            refuse_special_files(&path)?;
        } else if !kind.is_file() {
            return Err(Error::Live {
                message: format!(
                    "{}: not a regular file (a FIFO, socket or device); refusing to open the live state",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// Opens sled, waiting briefly while the directory lock is still held.
fn open_db(dir: &Path) -> Result<sled::Db> {
    refuse_special_files(dir)?;
    remove_unfinished_snapshots(dir)?;
    let result = open_db_waiting(dir);
    if result.is_err() {
        // A failed open leaves the store as it was.
        remove_unfinished_snapshots(dir)?;
    }
    result
}

fn open_db_waiting(dir: &Path) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()
        {
            Ok(db) => return Ok(db),
            // sled reports a held lock as an I/O error of kind `Other` whose
            // text names the lock; match both forms.
            Err(sled::Error::Io(io))
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("could not acquire lock") =>
            {
                if started.elapsed() > LOCK_WAIT {
                    return Err(Error::Live {
                        message: format!(
                            "{}: the store is open in another process (one process owns a store's live state)",
                            dir.display()
                        ),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => {
                return Err(Error::Live {
                    message: format!("{}: {e}", dir.display()),
                });
            }
        }
    }
}
