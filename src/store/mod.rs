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
//! | `open` | opening: every part checked against `CURRENT` |
//! | `verify` | every byte of every part |
//! | `accel` | the change filter and the claimed bitmaps |
//! | `person` | a person's current state, a family's current members |
//! | `check` | verdicts |
//! | `claim` | claims and reversals |
//! | `apply` | change files |
//! | `audit` | the audit trail and the claims that hold |
//! | `payouts_report` | paid, reversed and refused, and the sums, by region |
//! | [`generations`] | compaction and the switch to a new generation |
//! | `refresh` | refreshes guarded and compared, rollback |
//! | `subset` | payout-point stores: a region's share of the register |

pub(crate) mod accel;
mod apply;
mod audit;
mod central;
mod check;
mod claim;
mod create;
mod dir;
pub mod generations;
mod open;
mod payouts_report;
mod person;
mod refresh;
mod subset;
mod verify;
mod witness;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::domain::date::Date;
use crate::domain::nik::Nik;
use crate::domain::program::{ProgramId, Registry};
use crate::durable::StoreId;
use crate::error::Result;
use crate::live::Live;
use crate::payouts::ledger::Ledger;
use crate::snapshot::{IdentityKey, PublicKey, SigningKey, Snapshot};
use accel::{ChangeFilter, ClaimedIndex};
use dir::Current;

pub use apply::Applied;
pub use audit::{
    AuditFilter, AuditRecord, ClaimRecord, ClaimSubject, LogClaim, LogEntry, LogRecord, LogRecords,
    LogReversal, RequestRecord, StoredClaim,
};
pub use central::{CentralKey, HeldElsewhere, Reserved, Reserver};
pub use claim::{ClaimOutcome, ClaimRequest, Reversal, ReverseOutcome, ReverseRequest, Unsynced};
pub use create::Reservation;
pub use dir::CLAIMS_LOG;
pub use payouts_report::{PAYOUTS_HEADER, PayoutsFilter, PayoutsReport, PayoutsRow};
pub use person::PersonState;
pub use refresh::{GenerationDiff, RefreshGuard};
pub use subset::{POINT_FILE, PointSpec, PointSummary};
pub use verify::StoreCheck;

/// How a store is opened.
///
/// ```
/// let options = tepat::Options::default().resident(true);
/// assert!(options.resident && options.group_commit);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Concurrent writers share flushes (default `true`). With `false` every
    /// claim runs its own flush: slower, and only useful as a baseline.
    pub group_commit: bool,
    /// Read every snapshot generation into memory backed by huge pages
    /// ([`Snapshot::open_resident`]) instead of mapping it: opening costs a
    /// full read of the file, lookups are faster. Default `false`.
    pub resident: bool,
    /// The store's date, which decides the open periods of every program
    /// (its payable window); `None` (the default): the system clock's day,
    /// read at each check. Set it to replay a day's payee list, or in
    /// tests.
    pub today: Option<Date>,
    /// The keys whose snapshots this store opens (docs/FORMAT.md, "Signed
    /// snapshots"): when not empty, every generation — at open, and each
    /// one a compaction or refresh writes — must be signed by one of them.
    /// Default: empty, every snapshot opens (a signed one's signature is
    /// still checked).
    pub trusted_keys: Vec<PublicKey>,
    /// Signs every generation this store writes (compaction, refresh); a
    /// store that trusts only signed snapshots cannot write a new
    /// generation without the key. Default `None`.
    pub signing_key: Option<SigningKey>,
    /// A keyed payout point's identity key (docs/FORMAT.md, "Keyed
    /// snapshots"): a keyed store opens only with its own key, and a plain
    /// store refuses one. Default `None`.
    pub identity_key: Option<IdentityKey>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            group_commit: true,
            resident: false,
            today: None,
            trusted_keys: Vec::new(),
            signing_key: None,
            identity_key: None,
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

    /// Sets [`Options::today`].
    pub fn today(mut self, today: Date) -> Options {
        self.today = Some(today);
        self
    }

    /// Adds a key to [`Options::trusted_keys`].
    pub fn trust(mut self, key: PublicKey) -> Options {
        self.trusted_keys.push(key);
        self
    }

    /// Sets [`Options::signing_key`].
    pub fn signing_key(mut self, key: Option<SigningKey>) -> Options {
        self.signing_key = key;
        self
    }

    /// Sets [`Options::identity_key`].
    pub fn identity_key(mut self, key: Option<IdentityKey>) -> Options {
        self.identity_key = key;
        self
    }
}

/// One snapshot generation with the accelerators that index into it: the
/// claimed bitmaps are by snapshot slot and family index, so they belong to
/// exactly one generation and are swapped with it.
pub(crate) struct Generation {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) claimed: ClaimedIndex,
    /// Registry program index → the ledger's number for its code (claim
    /// keys are by program code, never by a registry position).
    pub(crate) numbers: Vec<u8>,
}

impl Generation {
    /// The ledger's number of a program of this generation's registry.
    #[inline]
    pub(crate) fn number(&self, program: ProgramId) -> u8 {
        self.numbers
            .get(program.index())
            .copied()
            .unwrap_or(u8::MAX)
    }
}

/// A store: snapshot + live state.
pub struct Store {
    /// First, so that it stops before the parts it watches are dropped.
    _witness: witness::WitnessThread,
    dir: PathBuf,
    options: Options,
    id: StoreId,
    pub(crate) current: ArcSwap<Generation>,
    pub(crate) live: Arc<Live>,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) changed: ChangeFilter,
    /// A large change file between its commit point and the end of its
    /// way into sled: readers see its persons here meanwhile.
    pub(crate) pending: ArcSwapOption<apply::PendingApply>,
    /// Family cards with a membership marker (someone moved in, out or was
    /// born since the snapshot): only these need a live-state scan to list
    /// their members.
    moved: ChangeFilter,
    /// Claims share it; applying a change file takes it alone, so that a
    /// claim never decides on half of a file.
    pub(crate) writers: RwLock<()>,
    /// One generation change (compaction or refresh) at a time.
    pub(crate) generations: Mutex<()>,
    /// One rewrite of `CURRENT` at a time (a change file and a generation
    /// change both rewrite it).
    current_file: Mutex<()>,
    /// One change of the live state's witness at a time (a change file, a
    /// generation change and the witness thread change it).
    pub(crate) witness_lock: Arc<Mutex<()>>,
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
fn open_snapshot(path: &Path, options: &Options) -> Result<Snapshot> {
    crate::durable::require_regular_file(path, "snapshot")?;
    let snapshot = if options.resident {
        Snapshot::open_resident(path)?
    } else {
        Snapshot::open(path)?
    };
    snapshot.check_trusted(&options.trusted_keys)?;
    snapshot.check_key(options.identity_key.as_ref())?;
    Ok(snapshot)
}

impl Store {
    /// Whether this is a keyed payout point's store: persons and families
    /// are known by pseudonyms, and every NIK a caller gives is keyed first
    /// ([`Store::key_nik`]).
    pub fn is_keyed(&self) -> bool {
        self.options.identity_key.is_some()
    }

    /// A keyed store's identity key (the one it was opened with).
    pub fn identity_key(&self) -> Option<&IdentityKey> {
        self.options.identity_key.as_ref()
    }

    /// The identity this store knows a NIK by: its pseudonym at a keyed
    /// store, the NIK itself at a plain one. Every operation that takes a
    /// NIK ([`Store::check`], [`Store::claim`], [`Store::person`], the
    /// audit, payee lists) calls it; the claims log, the audit and the
    /// access log of a keyed store hold only pseudonyms.
    #[inline]
    pub fn key_nik(&self, nik: Nik) -> Nik {
        match &self.options.identity_key {
            Some(key) => key.nik(nik),
            None => nik,
        }
    }

    /// Refuses what a keyed point's store does not do: its register comes
    /// only as a new cut from the keeper (`tepat subset`), never as a
    /// change file or an export with NIKs in clear.
    pub(crate) fn refuse_if_keyed(&self, what: &str) -> Result<()> {
        if !self.is_keyed() {
            return Ok(());
        }
        Err(create::store_error(
            &self.dir,
            &format!(
                "{what}: this is a keyed payout point's store, which takes the register only as \
                 a new cut from the register keeper (tepat subset --key); NIKs in clear never \
                 come here"
            ),
        ))
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

    /// The claimed bitmaps of (program, period) that index into `snap`:
    /// `Err(Stale)` when `snap` is no longer the current generation (its
    /// bitmaps no longer follow new claims: ask the ledger), `Ok(None)` when
    /// nothing is claimed for the pair.
    pub(crate) fn claimed_bits(
        &self,
        snap: &Snapshot,
        program: ProgramId,
        period: u32,
    ) -> std::result::Result<Option<Arc<accel::Claimed>>, Stale> {
        let current = self.current.load();
        if std::ptr::eq(&*current.snapshot, snap) {
            Ok(current.claimed.get(current.number(program), period))
        } else {
            Err(Stale)
        }
    }

    /// Opens a snapshot generation the way this store opens them.
    pub(crate) fn open_generation(&self, path: &Path) -> Result<Snapshot> {
        open_snapshot(path, &self.options)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's identity (made when it was created; in `CURRENT`, the
    /// claims log's header and the live state).
    pub fn id(&self) -> StoreId {
        self.id
    }

    /// The store's date: [`Options::today`], or the system clock's day.
    pub fn today(&self) -> Date {
        self.options.today.unwrap_or_else(Date::today)
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
        self.ledger.recovery().torn_bytes
    }

    /// Where opening kept the bytes of an unfinished claims-log record it
    /// cut off (`claims.log.torn-OFFSET`), if it cut one.
    pub fn torn_claims_kept(&self) -> Option<&Path> {
        self.ledger.recovery().torn_kept.as_deref()
    }

    /// How many flushes (claims-log syncs and live-state flushes) have run.
    pub fn flushes(&self) -> u64 {
        self.ledger.syncs() + self.live.flushes()
    }

    /// A fresh audit sequence number, greater than every one recorded.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Rewrites `CURRENT` with `change` applied to what it says now.
    pub(crate) fn update_current(&self, change: impl FnOnce(&mut Current)) -> Result<()> {
        let _one = self.current_file.lock().unwrap_or_else(|p| p.into_inner());
        let mut current = Current::read(&self.dir)?;
        change(&mut current);
        current.write(&self.dir)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
