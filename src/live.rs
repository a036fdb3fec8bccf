//! Live state: everything that changed in the register since the snapshot,
//! and the audit of those changes — the one module that knows about sled.
//! (Payouts — claims, reversals and their requests — live in the ledger,
//! `ledger`, an append-only log of their own: sled could not make
//! them durable fast enough.)
//!
//! All live state sits in **one** sled tree, with a one-byte prefix per kind
//! of record, so that a file of changes is applied with one atomic batch:
//!
//! | key | value |
//! |---|---|
//! | `P` nik | [`LivePerson`]: the person's whole current state |
//! | `M` kk nik | membership: `1` moved in or born, `0` moved out of a snapshot family |
//! | `A` sequence | [`AuditEntry`] of an applied change |
//!
//! Integers in keys are big-endian so that keys sort by value. Values are
//! postcard-encoded. The public record types of payouts ([`ClaimRecord`],
//! [`RequestRecord`]) are defined here too, as the store's API returns them.
//!
//! Durability: a write is acknowledged only after a flush covers it. Flushes
//! are shared (group commit).

use std::path::Path;

use crate::group_commit::GroupCommit;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::verdict::{ReasonSet, Verdict};

/// Prefix of person state records.
pub(crate) const PERSON: u8 = b'P';
/// Prefix of membership markers.
pub(crate) const MEMBER: u8 = b'M';
/// Prefix of audit entries.
pub(crate) const AUDIT: u8 = b'A';

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
/// The big-endian `u64` at `at` in a key: the NIK of a `P` key (at 1), the
/// KK (at 1) and NIK (at 9) of an `M` key, the sequence of an `A` key.
pub(crate) fn key_u64(key: &[u8], at: usize) -> Option<u64> {
    key.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

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

    /// Refuses a live state written before payouts moved to the claims log
    /// (session-1 stores kept claims under `C` and requests under `R`):
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
