//! Opening a store: every part is checked against `CURRENT` before any
//! answer is given, and nothing is written that need not be.
//!
//! | part | refused when |
//! |---|---|
//! | `CURRENT` | not a regular file, or a line it does not have |
//! | the snapshot | not a regular file; its header checksum is not the one `CURRENT` records (another store's file, an older copy) |
//! | `claims.log` | missing, empty, not a regular file, locked (open elsewhere, or shared through a hard link), of another store, damaged anywhere but a record cut short at its end, or shorter than recorded |
//! | `live/` | missing, emptied, of another store, an older copy (fewer change files applied than `CURRENT` records), or newer than `CURRENT` (a generation it folded is not the current one) |

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};

use super::accel::{ChangeFilter, ClaimedIndex, mark_key};
use super::create::store_error;
use super::dir::{CHANGES_JOURNAL, CLAIMS_LOG, Current, LIVE_DIR};
use super::witness::WitnessThread;
use super::{Generation, Options, Store, open_snapshot};
use crate::domain::program::Registry;
use crate::durable::StoreId;
use crate::error::Result;
use crate::live::{Live, LiveWrite, Witness};
use crate::payouts::claims_log;
use crate::payouts::ledger::Ledger;
use crate::snapshot::Snapshot;

impl Store {
    /// Opens the store in `dir`: maps the current snapshot, replays the
    /// claims log, opens the live state, checks that they belong together,
    /// and rebuilds the accelerators.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, Options::default())
    }

    /// [`Store::open`] with options.
    pub fn open_with(dir: &Path, options: Options) -> Result<Store> {
        let mut current = Current::read(dir)?;
        refuse_missing_parts(dir, &current)?;
        let log_path = dir.join(CLAIMS_LOG);
        if !current.live_state && !log_path.exists() {
            // A store made before `Store::create` wrote the claims log: its
            // first open makes it, with the store's new identity.
            let id = *current.id.get_or_insert_with(StoreId::new);
            claims_log::create(&log_path, id)?;
        }
        let snapshot_path = current.snapshot_path(dir);
        if !snapshot_path.exists() {
            return Err(store_error(
                dir,
                &format!(
                    "CURRENT names {}, which is not in the store directory (CURRENT damaged, \
                     or the snapshot removed); restore it from a backup",
                    current.snapshot
                ),
            ));
        }
        let snapshot = Arc::new(open_snapshot(&snapshot_path, &options)?);
        check_snapshot(dir, &current, &snapshot)?;
        let claimed = ClaimedIndex::new(snapshot.slot_count(), snapshot.family_count());
        // The claims log first: its lock is the store's, so a second
        // process stops here before it touches anything else.
        let ledger = Ledger::open(&log_path, current.id, options.group_commit, |event| {
            mark_key(&claimed, &snapshot, event)
        })?;
        let id = ledger.recovery().id;
        let live = Live::open(&dir.join(LIVE_DIR), options.group_commit)?;
        live.refuse_old_layout()?;
        live.replay_journal(&dir.join(CHANGES_JOURNAL), id)?;
        let witness = check_live(dir, &current, &live, id, snapshot.generation())?;
        check_log_length(dir, &current, witness.as_ref(), ledger.synced_bytes())?;
        let numbers = numbers_for(&ledger, snapshot.registry())?;
        let generation = Generation {
            snapshot,
            claimed,
            numbers,
        };
        let last_seq = ledger.last_seq().max(live.last_audit_seq()?);
        let (live, ledger) = (Arc::new(live), Arc::new(ledger));
        let witness_lock = Arc::new(Mutex::new(()));
        let store = Store {
            _witness: WitnessThread::start(live.clone(), ledger.clone(), witness_lock.clone()),
            dir: dir.to_path_buf(),
            options,
            id,
            current: ArcSwap::from_pointee(generation),
            live,
            ledger,
            changed: ChangeFilter::new(),
            pending: ArcSwapOption::empty(),
            moved: ChangeFilter::new(),
            writers: RwLock::new(()),
            generations: Mutex::new(()),
            current_file: Mutex::new(()),
            witness_lock,
            seq: AtomicU64::new(last_seq + 1),
        };
        store.complete_identity(&mut current, witness)?;
        store.finish_generation_change(false)?;
        Ok(store)
    }

    /// On a store's first open (or the first open of a store made before
    /// identities), writes what `CURRENT` and the live state lack: the
    /// `live-state` line, the identity, the snapshot's checksum, the
    /// witness. On every other open it writes nothing.
    fn complete_identity(&self, current: &mut Current, witness: Option<Witness>) -> Result<()> {
        if witness.is_none() {
            let mut write = LiveWrite::default();
            write.put_witness(&Witness {
                id: self.id,
                applies: current.applies,
                log_bytes: current.log_bytes,
                generation: 0,
                latest_change: i64::MIN,
            })?;
            self.live.write(write)?;
        }
        let checksum = self.snapshot().checksum();
        let complete = current.live_state
            && current.id == Some(self.id)
            && current.snapshot_checksum == Some(checksum);
        if !complete {
            current.live_state = true;
            current.id = Some(self.id);
            current.snapshot_checksum = Some(checksum);
            current.write(&self.dir)?;
        }
        Ok(())
    }
}

/// A store that has had a live state must still have all of it: opening
/// without its claims log or live state would forget every payout.
fn refuse_missing_parts(dir: &Path, current: &Current) -> Result<()> {
    for part in [LIVE_DIR, CLAIMS_LOG] {
        if current.live_state && !dir.join(part).exists() {
            return Err(store_error(
                dir,
                &format!(
                    "{part} is missing, but this store has recorded payouts and changes \
                     (CURRENT says live-state); restore it from a backup: tepat will not open \
                     a store that has forgotten its payouts"
                ),
            ));
        }
    }
    Ok(())
}

/// The snapshot file must be the one `CURRENT` names, byte for byte (its
/// header checksum covers every section's checksum).
fn check_snapshot(dir: &Path, current: &Current, snap: &Snapshot) -> Result<()> {
    let name = &current.snapshot;
    if let Some(expected) = current.snapshot_checksum
        && snap.checksum() != expected
    {
        return Err(store_error(
            dir,
            &format!(
                "{name} is not the file CURRENT names (its header checksum is {:016x}, CURRENT \
                 records {expected:016x}): another store's snapshot or an older copy; restore \
                 the right file, or both from one backup",
                snap.checksum()
            ),
        ));
    }
    if *name != super::dir::snapshot_file_name(snap.generation()) {
        return Err(store_error(
            dir,
            &format!(
                "{name} holds generation {}: a snapshot renamed into place",
                snap.generation()
            ),
        ));
    }
    Ok(())
}

/// The live state must be this store's, and no older than `CURRENT`.
fn check_live(
    dir: &Path,
    current: &Current,
    live: &Live,
    id: StoreId,
    generation: u64,
) -> Result<Option<Witness>> {
    let Some(w) = live.witness()? else {
        if current.live_state && live.is_empty() {
            return Err(store_error(
                dir,
                "live/ is empty, but CURRENT says this store has a live state: it was emptied \
                 or replaced, and its pending changes (deaths, moves, removals) would be \
                 forgotten; restore live/ from a backup",
            ));
        }
        // A new store's, or one made before the witness existed.
        return Ok(None);
    };
    let refuse = |message: String| Err(store_error(dir, &message));
    if w.id != id {
        return refuse(format!(
            "live/ belongs to store {}, the claims log and CURRENT to store {id}: another \
             store's live state is not served",
            w.id
        ));
    }
    if w.applies < current.applies {
        return refuse(format!(
            "live/ has applied {} change files, CURRENT records {}: live/ is an older copy \
             and changes applied since would be forgotten; restore the newer live/",
            w.applies, current.applies
        ));
    }
    if w.generation > generation {
        return refuse(format!(
            "live/ has folded its changes into generation {}, but CURRENT names generation \
             {generation}: CURRENT (or the snapshot) is an older copy, and folded changes \
             would be undone",
            w.generation
        ));
    }
    Ok(Some(w))
}

/// The claims log must be at least as long as `CURRENT` and the live state
/// recorded it (at each change file applied and each generation change):
/// shorter, acknowledged payouts are missing.
fn check_log_length(
    dir: &Path,
    current: &Current,
    witness: Option<&Witness>,
    log_bytes: u64,
) -> Result<()> {
    let recorded = current.log_bytes.max(witness.map_or(0, |w| w.log_bytes));
    if log_bytes < recorded {
        return Err(store_error(
            dir,
            &format!(
                "{CLAIMS_LOG} is {log_bytes} bytes, but the store recorded it at {recorded} \
                 bytes or more: acknowledged payouts are missing (an older copy, or the file \
                 was cut); restore it from a backup"
            ),
        ));
    }
    Ok(())
}

/// The ledger's number of every program of `registry`, by code.
pub(crate) fn numbers_for(ledger: &Ledger, registry: &Registry) -> Result<Vec<u8>> {
    let mut guard = ledger.lock()?;
    registry
        .programs()
        .iter()
        .map(|p| guard.number(&p.code))
        .collect()
}
