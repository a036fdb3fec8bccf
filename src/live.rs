//! Live state: everything that changed since the snapshot, every claim, every
//! request and the audit log — the one module that knows about sled.
//!
//! All live state sits in **one** sled tree, with a one-byte prefix per kind
//! of record, so that a file of changes is applied with one atomic batch and
//! a claim with one transaction:
//!
//! | key | value |
//! |---|---|
//! | `P` nik | [`LivePerson`]: the person's whole current state |
//! | `M` kk nik | membership: `1` moved in or born, `0` moved out of a snapshot family |
//! | `C` program period `F` kk | [`ClaimRecord`] of a family-program claim |
//! | `C` program period `P` nik | [`ClaimRecord`] of a person-program claim |
//! | `C` program period `V` nik | coverage: the person was in a family paid by this claim |
//! | `R` request id | [`RequestRecord`] |
//! | `A` sequence | [`AuditEntry`] |
//!
//! Integers in keys are big-endian so that keys sort by value. Values are
//! postcard-encoded.
//!
//! Durability: a write is acknowledged only after a flush covers it. Flushes
//! are shared ([`GroupCommit`]): whoever finds no flush running starts one
//! for everything committed so far, and everyone waiting behind it returns
//! when it ends.

use std::path::Path;
use std::sync::{Condvar, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::verdict::{ReasonSet, Verdict};

/// Prefix of person state records.
pub(crate) const PERSON: u8 = b'P';
/// Prefix of membership markers.
pub(crate) const MEMBER: u8 = b'M';
/// Prefix of claims.
pub(crate) const CLAIM: u8 = b'C';
/// Prefix of requests.
pub(crate) const REQUEST: u8 = b'R';
/// Prefix of audit entries.
pub(crate) const AUDIT: u8 = b'A';

/// Claim subject kinds inside a claim key.
pub(crate) const SUBJECT_FAMILY: u8 = b'F';
pub(crate) const SUBJECT_PERSON: u8 = b'P';
pub(crate) const SUBJECT_COVERED: u8 = b'V';

/// A changed person's whole current state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePerson {
    /// Family card.
    pub kk: u64,
    /// Relation code (see [`crate::register::Relation::code`]).
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

/// A recorded payout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The request that paid.
    pub request_id: String,
    /// The NIK paid.
    pub nik: u64,
    /// The family card, for family programs.
    pub kk: Option<u64>,
    /// When, milliseconds since the epoch.
    pub at_ms: u64,
    /// Caller's metadata (payout point, amount, ...).
    pub meta: String,
    /// The request that reversed it, if any.
    pub reversed_by: Option<String>,
}

/// What a request asked and what it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The operation and its inputs, in a canonical text form.
    pub asked: String,
    /// Whether it paid (claims) or took effect (reversals).
    pub done: bool,
    /// The reasons of the verdict.
    pub reasons: ReasonSet,
    /// The full verdict, for claims.
    pub verdict: Option<Verdict>,
    /// When, milliseconds since the epoch.
    pub at_ms: u64,
    /// The claim keys a paid claim wrote (so a reversal finds them).
    pub keys: Vec<Vec<u8>>,
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, milliseconds since the epoch.
    pub at_ms: u64,
    /// The request id, for claims and reversals.
    pub request_id: Option<String>,
    /// `claim`, `reverse`, `apply`.
    pub op: String,
    /// The NIK concerned, if one.
    pub nik: Option<u64>,
    /// The inputs, as text.
    pub inputs: String,
    /// The outcome, as text.
    pub outcome: String,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn live_err(e: impl std::fmt::Display) -> Error {
    Error::Live {
        message: e.to_string(),
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(live_err)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Live {
        message: format!("a stored record does not decode: {e}"),
    })
}

/// Key of a person's state.
pub(crate) fn person_key(nik: u64) -> [u8; 9] {
    let mut k = [PERSON; 9];
    k[1..].copy_from_slice(&nik.to_be_bytes());
    k
}

/// Key of a membership marker.
pub(crate) fn member_key(kk: u64, nik: u64) -> [u8; 17] {
    let mut k = [MEMBER; 17];
    k[1..9].copy_from_slice(&kk.to_be_bytes());
    k[9..].copy_from_slice(&nik.to_be_bytes());
    k
}

/// Key of a claim.
pub(crate) fn claim_key(program: u8, period: u32, subject_kind: u8, subject: u64) -> [u8; 15] {
    let mut k = [CLAIM; 15];
    k[1] = program;
    k[2..6].copy_from_slice(&period.to_be_bytes());
    k[6] = subject_kind;
    k[7..].copy_from_slice(&subject.to_be_bytes());
    k
}

/// The parts of a claim key.
pub(crate) fn parse_claim_key(k: &[u8]) -> Option<(u8, u32, u8, u64)> {
    if k.len() != 15 || k[0] != CLAIM {
        return None;
    }
    let period = u32::from_be_bytes(k[2..6].try_into().ok()?);
    let subject = u64::from_be_bytes(k[7..15].try_into().ok()?);
    Some((k[1], period, k[6], subject))
}

/// Key of a request.
pub(crate) fn request_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(REQUEST);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Key of an audit entry.
pub(crate) fn audit_key(seq: u64) -> [u8; 9] {
    let mut k = [AUDIT; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The sled database of one store.
pub(crate) struct Live {
    db: sled::Db,
    tree: sled::Tree,
    commit: GroupCommit,
    /// Share flushes between concurrent writers (the default); off, every
    /// write runs its own flush (the benchmark's baseline).
    group_commit: bool,
}

/// A write staged inside a claim transaction.
pub(crate) type Tx<'a> = &'a sled::transaction::TransactionalTree;

/// Aborts a claim transaction with a library error.
pub(crate) type TxResult<T> =
    std::result::Result<T, sled::transaction::ConflictableTransactionError<Error>>;

impl Live {
    /// Opens (or creates) the live state in `dir`.
    pub(crate) fn open(dir: &Path, group_commit: bool) -> Result<Live> {
        let db = open_db(dir)?;
        let tree = db.open_tree("live").map_err(live_err)?;
        Ok(Live {
            commit: GroupCommit::new(),
            db,
            tree,
            group_commit,
        })
    }

    /// Reads and decodes one record.
    pub(crate) fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.tree.get(key).map_err(live_err)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Every record under a key prefix, decoded.
    pub(crate) fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, T)>> + '_ {
        self.tree.scan_prefix(prefix).map(|item| {
            let (k, v) = item.map_err(live_err)?;
            Ok((k, decode(&v)?))
        })
    }

    /// Every key under a prefix with its raw value.
    pub(crate) fn scan_raw(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        self.tree
            .scan_prefix(prefix)
            .map(|item| item.map_err(live_err))
    }

    /// A fresh, strictly increasing sequence number (audit keys).
    pub(crate) fn next_seq(&self) -> Result<u64> {
        self.db.generate_id().map_err(live_err)
    }

    /// Applies a batch atomically (all of it or none) and returns once it is
    /// durable.
    pub(crate) fn apply_durably(&self, batch: sled::Batch) -> Result<()> {
        self.tree.apply_batch(batch).map_err(live_err)?;
        self.durable()
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

    /// Runs `f` as one serializable transaction over the live tree, then
    /// waits until a flush covers it.
    pub(crate) fn transact_durably<T>(&self, f: impl Fn(Tx<'_>) -> TxResult<T>) -> Result<T> {
        use sled::transaction::TransactionError;
        let out = self.tree.transaction(|tx| f(tx)).map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => live_err(e),
        })?;
        self.durable()?;
        Ok(out)
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

/// Opens sled, waiting briefly while the directory lock is still held.
fn open_db(dir: &Path) -> Result<sled::Db> {
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

/// Encodes inside a transaction.
pub(crate) fn tx_encode<T: Serialize>(v: &T) -> TxResult<Vec<u8>> {
    encode(v).map_err(sled::transaction::ConflictableTransactionError::Abort)
}

/// Decodes inside a transaction.
pub(crate) fn tx_get<T: DeserializeOwned>(tx: Tx<'_>, key: &[u8]) -> TxResult<Option<T>> {
    match tx.get(key)? {
        Some(v) => decode(&v)
            .map(Some)
            .map_err(sled::transaction::ConflictableTransactionError::Abort),
        None => Ok(None),
    }
}

/// Group commit: many committed writes, one flush.
pub(crate) struct GroupCommit {
    state: Mutex<CommitState>,
    flushed: Condvar,
}

#[derive(Default)]
struct CommitState {
    /// Tickets handed out: every write committed before ticket `t` was taken
    /// is covered by a flush that starts after `t`.
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
    flushes: u64,
    /// The last flush failed for tickets up to this one.
    failed_upto: u64,
}

impl GroupCommit {
    fn new() -> GroupCommit {
        GroupCommit {
            state: Mutex::new(CommitState::default()),
            flushed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CommitState> {
        // A panic while holding this lock leaves plain counters behind; they
        // stay consistent, so recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A ticket for a write that has just committed.
    fn ticket(&self) -> u64 {
        let mut s = self.lock();
        s.issued += 1;
        s.issued
    }

    fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    fn count_flush(&self) {
        self.lock().flushes += 1;
    }

    /// Returns once a flush that started after `ticket` was issued has ended.
    fn wait(&self, ticket: u64, flush: impl Fn() -> Result<()>) -> Result<()> {
        let mut s = self.lock();
        loop {
            if s.durable >= ticket {
                return Ok(());
            }
            if s.failed_upto >= ticket {
                return Err(Error::Live {
                    message: "the flush covering this write failed".into(),
                });
            }
            if !s.flushing {
                s.flushing = true;
                let upto = s.issued;
                drop(s);
                let result = flush();
                s = self.lock();
                s.flushing = false;
                s.flushes += 1;
                match result {
                    Ok(()) => s.durable = s.durable.max(upto),
                    Err(_) => s.failed_upto = s.failed_upto.max(upto),
                }
                self.flushed.notify_all();
                result?;
                continue;
            }
            s = self.flushed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_keys_round_trip_and_sort_by_period() {
        let k = claim_key(3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007);
        assert_eq!(
            parse_claim_key(&k),
            Some((3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007))
        );
        assert!(claim_key(3, 1, SUBJECT_PERSON, 9) < claim_key(3, 2, SUBJECT_PERSON, 1));
        assert_eq!(parse_claim_key(&[CLAIM; 3]), None);
    }

    #[test]
    fn group_commit_shares_flushes() {
        let gc = std::sync::Arc::new(GroupCommit::new());
        let flushes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                let gc = gc.clone();
                let flushes = flushes.clone();
                s.spawn(move || {
                    for _ in 0..200 {
                        let t = gc.ticket();
                        gc.wait(t, || {
                            flushes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        let n = flushes.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(gc.flushes(), n);
        // 1,600 writes; with 8 writers sharing, far fewer flushes.
        assert!(n < 1_000, "{n} flushes for 1600 writes");
    }

    #[test]
    fn a_failed_flush_fails_its_waiters() {
        let gc = GroupCommit::new();
        let t = gc.ticket();
        assert!(
            gc.wait(t, || Err(Error::Live {
                message: "disk gone".into()
            }))
            .is_err()
        );
        let t2 = gc.ticket();
        assert!(gc.wait(t2, || Ok(())).is_ok());
    }
}
