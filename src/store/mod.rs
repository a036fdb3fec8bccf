//! The store: the current snapshot generation plus the live state and the
//! payout ledger, and the operations of a payout point — check, claim,
//! reverse — and of the register's keeper — create, apply changes, compact,
//! refresh.
//!
//! ```text
//! DIR/CURRENT, DIR/snapshot-NNNNNN.tepat   the snapshot generations
//! DIR/claims.log                           payouts: claims, reversals, requests
//! DIR/live/                                pending register changes (sled)
//! ```
//!
//! Reads of a NIK with no pending change touch only the snapshot and the
//! in-memory accelerators. A claim checks and records in one step under the
//! ledger's lock (so two claims never both pay one key), is idempotent by
//! request id, audited, and durable before `claim` returns (one shared
//! `fdatasync` of the claims log: group commit).
//!
//! | module | what |
//! |---|---|
//! | `create` | [`Store::create`]: a new store from a staged register |
//! | `dir` | the files of a store directory and `CURRENT` |
//! | `accel` | the change filter and the claimed bitmaps |
//! | `person` | a person's current state, a family's current members |
//! | `check` | verdicts |
//! | `claim` | claims and reversals |
//! | `apply` | change files |
//! | `audit` | the audit trail and the claims that hold |
//! | [`generations`] | compaction and refresh |

pub(crate) mod accel;
mod apply;
mod audit;
mod check;
mod claim;
mod create;
mod dir;
pub mod generations;
mod person;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;

use crate::domain::program::Registry;
use crate::error::{Error, Result};
use crate::live::Live;
use crate::payouts::ledger::Ledger;
use crate::snapshot::Snapshot;
use accel::{ChangeFilter, ClaimedIndex, mark_key};

pub use audit::{ClaimRecord, ClaimSubject, RequestRecord, StoredClaim};
pub use claim::{ClaimOutcome, ClaimRequest, ReverseOutcome};
pub use create::Reservation;
pub use dir::CLAIMS_LOG;
pub use person::PersonState;

/// How a store is opened.
///
/// ```
/// let options = tepat::Options::default().resident(true);
/// assert!(options.resident && options.group_commit);
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Concurrent writers share flushes (default `true`). With `false` every
    /// claim runs its own flush: slower, and only useful as a baseline.
    pub group_commit: bool,
    /// Read every snapshot generation into memory backed by huge pages
    /// ([`Snapshot::open_resident`]) instead of mapping it: opening costs a
    /// full read of the file, lookups are faster. Default `false`.
    pub resident: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            group_commit: true,
            resident: false,
        }
    }
}

impl Options {
    /// Sets [`Options::group_commit`].
    pub fn group_commit(mut self, on: bool) -> Options {
        self.group_commit = on;
        self
    }

    /// Sets [`Options::resident`].
    pub fn resident(mut self, on: bool) -> Options {
        self.resident = on;
        self
    }
}

/// One snapshot generation with the accelerators that index into it: the
/// claimed bitmaps are by snapshot slot and family index, so they belong to
/// exactly one generation and are swapped with it.
pub(crate) struct Generation {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) claimed: ClaimedIndex,
}

impl Generation {
    pub(crate) fn new(snapshot: Arc<Snapshot>) -> Generation {
        let claimed = ClaimedIndex::new(snapshot.slot_count(), snapshot.family_count());
        Generation { snapshot, claimed }
    }
}

/// A store: snapshot + live state.
pub struct Store {
    dir: PathBuf,
    options: Options,
    pub(crate) current: ArcSwap<Generation>,
    pub(crate) live: Live,
    pub(crate) ledger: Ledger,
    pub(crate) changed: ChangeFilter,
    /// Family cards with a membership marker (someone moved in, out or was
    /// born since the snapshot): only these need a live-state scan to list
    /// their members.
    moved: ChangeFilter,
    /// Claims share it; applying a change file takes it alone, so that a
    /// claim never decides on half of a file.
    pub(crate) writers: RwLock<()>,
    /// One generation change (compaction or refresh) at a time.
    pub(crate) generations: std::sync::Mutex<()>,
    /// The next audit sequence number, shared by the ledger's records and
    /// the live state's audit entries so that the audit merges them in the
    /// order they were taken.
    seq: AtomicU64,
}

/// A snapshot generation that is no longer current.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stale;

/// Maps a snapshot file, or reads it into memory when the store is
/// resident.
fn open_snapshot(path: &Path, options: Options) -> Result<Snapshot> {
    if options.resident {
        Snapshot::open_resident(path)
    } else {
        Snapshot::open(path)
    }
}

impl Store {
    /// Opens the store in `dir`: maps the current snapshot, opens the live
    /// state, and rebuilds the accelerators from it.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, Options::default())
    }

    /// Whether `dir` holds a store (a `CURRENT` file).
    pub fn exists(dir: &Path) -> bool {
        dir.join(dir::CURRENT).exists()
    }

    /// The current snapshot file of the store in `dir`, as `CURRENT` names
    /// it, without opening the store: for tools that read the snapshot
    /// alone.
    pub fn current_snapshot_path(dir: &Path) -> Result<PathBuf> {
        dir::current_snapshot(dir)
    }

    /// [`Store::open`] with options.
    pub fn open_with(dir: &Path, options: Options) -> Result<Store> {
        // A store that has had a live state must still have all of it:
        // opening without its claims log would forget every payout.
        let marked = dir::has_live_state(dir)?;
        for part in [dir::LIVE_DIR, CLAIMS_LOG] {
            if marked && !dir.join(part).exists() {
                return Err(Error::Live {
                    message: format!(
                        "{}: {part} is missing, but this store has recorded payouts and changes \
                         (CURRENT says live-state); restore it from a backup: tepat will not open \
                         a store that has forgotten its payouts",
                        dir.display()
                    ),
                });
            }
        }
        // sled first: it holds the directory lock, so a second process
        // stops here before it touches anything else.
        let live = Live::open(&dir.join(dir::LIVE_DIR), options.group_commit)?;
        live.refuse_old_layout()?;
        let generation = Generation::new(Arc::new(open_snapshot(
            &dir::current_snapshot(dir)?,
            options,
        )?));
        let ledger = Ledger::open(&dir.join(CLAIMS_LOG), options.group_commit, |event| {
            mark_key(&generation.claimed, &generation.snapshot, event)
        })?;
        let ledger_last_seq = ledger.last_seq();
        let store = Store {
            dir: dir.to_path_buf(),
            options,
            current: ArcSwap::from_pointee(generation),
            live,
            ledger,
            changed: ChangeFilter::new(),
            moved: ChangeFilter::new(),
            writers: RwLock::new(()),
            generations: std::sync::Mutex::new(()),
            seq: AtomicU64::new(0),
        };
        let last = ledger_last_seq.max(store.live.last_audit_seq()?);
        store.seq.store(last + 1, Ordering::Relaxed);
        if !marked {
            dir::mark_live_state(dir)?;
        }
        store.finish_generation_change(false)?;
        Ok(store)
    }

    /// The claimed bitmaps of (program, period) that index into `snap`:
    /// `Err(Stale)` when `snap` is no longer the current generation (its
    /// bitmaps no longer follow new claims: ask the ledger), `Ok(None)` when
    /// nothing is claimed for the pair.
    pub(crate) fn claimed_bits(
        &self,
        snap: &Snapshot,
        program: u8,
        period: u32,
    ) -> std::result::Result<Option<Arc<accel::Claimed>>, Stale> {
        let current = self.current.load();
        if std::ptr::eq(&*current.snapshot, snap) {
            Ok(current.claimed.get(program, period))
        } else {
            Err(Stale)
        }
    }

    /// Opens a snapshot generation the way this store opens them.
    pub(crate) fn open_generation(&self, path: &Path) -> Result<Snapshot> {
        open_snapshot(path, self.options)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load().snapshot.clone()
    }

    /// The registry of the current snapshot.
    pub fn registry(&self) -> Registry {
        self.current.load().snapshot.registry().clone()
    }

    /// Bytes of an unfinished claims-log record that opening this store cut
    /// off: a write the process did not finish before it died, so never
    /// acknowledged. Zero after a clean shutdown.
    pub fn torn_claim_bytes(&self) -> u64 {
        self.ledger.torn_bytes()
    }

    /// How many flushes (claims-log syncs and live-state flushes) have run.
    pub fn flushes(&self) -> u64 {
        self.ledger.syncs() + self.live.flushes()
    }

    /// A fresh audit sequence number, greater than every one recorded.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
