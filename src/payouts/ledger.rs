//! The ledger of payouts: every claim and reversal, as records of the
//! claims log ([`crate::payouts::claims_log`]), and the in-memory index
//! ([`crate::payouts::index`]) that answers "was this request seen?" and
//! "who holds this claim key?" without reading the file.
//!
//! **Memory.** The index holds, per request, a 64-bit hash of its id and the
//! record's offset, and per held claim key 16 bytes and the offset: about
//! 70 bytes per person claim, plus 40 per member for family claims. Record
//! details (verdicts, metadata) stay in the file and are read back with
//! `pread` only when asked for (a retry, an `already_claimed` verdict, the
//! audit).
//!
//! **Ordering.** Decisions are taken under one mutex: a claim checks the
//! index, appends its record and updates the index in one critical section.
//! The record reaches the file and its sync after that, shared with others
//! ([`GroupCommit`]). A claim that saw an earlier, not yet synced claim is
//! acknowledged only after its own sync, which covers the earlier record
//! (the file is written in order), so an acknowledged answer never rests on
//! a claim that could be lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::codec::{decode, encode};
use super::index::{ClaimKey, Index, KeyEvent, ProgramUse};
use super::records::{ClaimEntry, Entry, ReverseEntry};
use crate::durable::StoreId;
use crate::durable::file::LogIo;
use crate::durable::group_commit::GroupCommit;
use crate::error::{Error, Result};
use crate::payouts::claims_log::{self, LogFile, Recovery};

struct Inner {
    log: LogFile,
    index: Index,
    /// Set when a write or sync failed: the file's tail is then unknown,
    /// and no further decision may rest on it until the store is reopened.
    failed: Option<String>,
}

/// The ledger: the claims log and its index.
pub(crate) struct Ledger {
    inner: Mutex<Inner>,
    commit: GroupCommit,
    group_commit: bool,
    sync_file: Arc<dyn LogIo>,
    path: PathBuf,
    recovery: Recovery,
    /// Bytes of the log a finished sync covers.
    synced: AtomicU64,
}

impl Ledger {
    /// Opens the ledger at `path` (the log must exist: [`claims_log::create`]
    /// makes one), replaying every record; `events` hears every key that is
    /// held at the end (and the frees on the way). `expected`: the store
    /// identity the log must carry.
    pub(crate) fn open(
        path: &Path,
        expected: Option<StoreId>,
        group_commit: bool,
        mut events: impl FnMut(KeyEvent),
    ) -> Result<Ledger> {
        let mut index = Index::default();
        let (log, recovery) = LogFile::open(path, expected, |offset, payload| {
            let entry: Entry = decode(payload, path, offset)?;
            index.add(offset, &entry, &mut events)
        })?;
        Ok(Ledger::from_log(log, recovery, index, group_commit))
    }

    /// [`Ledger::open`] over any file ([`LogIo`]): the power-cut tests'
    /// simulated disk.
    #[cfg(test)]
    pub(crate) fn open_io(path: &Path, io: Arc<dyn LogIo>, group_commit: bool) -> Result<Ledger> {
        let mut index = Index::default();
        let (log, recovery) = LogFile::from_io(path, io, None, |offset, payload| {
            let entry: Entry = decode(payload, path, offset)?;
            index.add(offset, &entry, &mut |_| {})
        })?;
        Ok(Ledger::from_log(log, recovery, index, group_commit))
    }

    fn from_log(log: LogFile, recovery: Recovery, index: Index, group_commit: bool) -> Ledger {
        let path = log.path().to_path_buf();
        let sync_file = log.sync_handle();
        let synced = AtomicU64::new(log.written());
        Ledger {
            inner: Mutex::new(Inner {
                log,
                index,
                failed: None,
            }),
            commit: GroupCommit::new("the claims log"),
            group_commit,
            sync_file,
            path,
            recovery,
            synced,
        }
    }

    /// What open found at the end of the log.
    pub(crate) fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Bytes of the log that a finished sync covers: acknowledged payouts
    /// lie within them.
    pub(crate) fn synced_bytes(&self) -> u64 {
        self.synced.load(Ordering::Acquire)
    }

    /// The highest audit sequence number recorded, 0 if none.
    pub(crate) fn last_seq(&self) -> u64 {
        self.lock_inner().index.last_seq
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic under this lock cannot leave the index ahead of the log:
        // the index is updated only after the append succeeded.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The decision lock.
    pub(crate) fn lock(&self) -> Result<LedgerGuard<'_>> {
        let inner = self.lock_inner();
        if let Some(why) = &inner.failed {
            return Err(Error::ClaimsLog {
                file: self.path.clone(),
                message: format!("an earlier write failed ({why}); reopen the store"),
            });
        }
        Ok(LedgerGuard { inner })
    }

    /// Returns once a sync covers every record appended so far.
    pub(crate) fn durable(&self) -> Result<()> {
        let flush = || {
            let written = self.write_pending()?;
            let r = claims_log::sync(&*self.sync_file, &self.path);
            match &r {
                Ok(()) => {
                    self.synced.fetch_max(written, Ordering::AcqRel);
                }
                Err(e) => self.fail(e),
            }
            r
        };
        if !self.group_commit {
            self.commit.count_flush();
            return flush();
        }
        let ticket = self.commit.ticket();
        self.commit.wait(ticket, flush)
    }

    /// Returns once a sync covers the record that starts at `offset`: at
    /// once when one already does (a sync always ends on a record's edge,
    /// so covering its first byte is covering all of it).
    pub(crate) fn durable_through(&self, offset: u64) -> Result<()> {
        if self.synced_bytes() > offset {
            return Ok(());
        }
        self.durable()
    }

    fn write_pending(&self) -> Result<u64> {
        let mut inner = self.lock_inner();
        let r = inner.log.write_pending();
        if let Err(e) = &r {
            inner.failed = Some(e.to_string());
        }
        r
    }

    fn fail(&self, e: &Error) {
        self.lock_inner().failed = Some(e.to_string());
    }

    /// A reader of every record a sync covers now, from byte `from` (the
    /// start when 0): the audit and a ledger sync stream the log with it,
    /// without holding the decision lock.
    pub(crate) fn reader(&self, from: u64) -> claims_log::Reader {
        self.lock_inner().log.reader(from, self.synced_bytes())
    }

    /// How many syncs have run.
    pub(crate) fn syncs(&self) -> u64 {
        self.commit.flushes()
    }
}

/// The ledger, locked for a decision.
pub(crate) struct LedgerGuard<'a> {
    inner: MutexGuard<'a, Inner>,
}

impl LedgerGuard<'_> {
    fn entry_at(&self, offset: u64) -> Result<Entry> {
        let payload = self.inner.log.read(offset)?;
        decode(&payload, self.inner.log.path(), offset)
    }

    /// The number claim keys of program `code` are packed with.
    pub(crate) fn number(&mut self, code: &str) -> Result<u8> {
        self.inner.index.number(code)
    }

    /// The number of program `code`, for the tests' checks.
    #[cfg(test)]
    pub(crate) fn number_of_test(&self, code: &str) -> u8 {
        self.inner.index.number_of(code).unwrap_or(u8::MAX)
    }

    /// The code of program number `n`.
    pub(crate) fn code(&self, n: u8) -> Option<String> {
        self.inner.index.code(n).map(str::to_owned)
    }

    /// How each program with paid claims was paid.
    pub(crate) fn uses(&self) -> HashMap<String, ProgramUse> {
        self.inner.index.uses().clone()
    }

    /// The first record of a request, with its offset.
    pub(crate) fn request(&self, id: &str) -> Result<Option<(u64, Entry)>> {
        let Some(offset) = self.inner.index.request_offset(id) else {
            return Ok(None);
        };
        let entry = self.entry_at(offset)?;
        // Another id with the same hash is not this request.
        Ok((entry.request_id() == id).then_some((offset, entry)))
    }

    /// The claim holding `key`, if any.
    pub(crate) fn holder(&self, key: ClaimKey) -> Result<Option<ClaimEntry>> {
        let Some(offset) = self.inner.index.holder(key) else {
            return Ok(None);
        };
        match self.entry_at(offset)? {
            Entry::Claim(c) => Ok(Some(c)),
            Entry::Reverse(_) => Err(Error::ClaimsLog {
                file: self.inner.log.path().to_path_buf(),
                message: format!("the index points at a reversal at byte {offset}"),
            }),
        }
    }

    /// The reversal of the claim recorded at `claim_offset`, if any.
    pub(crate) fn reversal_of(&self, claim_offset: u64) -> Result<Option<ReverseEntry>> {
        Ok(self.reversal_at(claim_offset)?.map(|(_, r)| r))
    }

    /// [`LedgerGuard::reversal_of`] with the reversal's own offset.
    pub(crate) fn reversal_at(&self, claim_offset: u64) -> Result<Option<(u64, ReverseEntry)>> {
        let Some(offset) = self.inner.index.reversed_by(claim_offset) else {
            return Ok(None);
        };
        match self.entry_at(offset)? {
            Entry::Reverse(r) => Ok(Some((offset, r))),
            Entry::Claim(_) => Err(Error::ClaimsLog {
                file: self.inner.log.path().to_path_buf(),
                message: format!("the index points at a claim for the reversal at byte {offset}"),
            }),
        }
    }

    /// Appends a record and indexes it (reversals free their claim's keys).
    pub(crate) fn append(
        &mut self,
        entry: &Entry,
        mut events: impl FnMut(KeyEvent),
    ) -> Result<u64> {
        let payload = encode(entry)?;
        let inner = &mut *self.inner;
        // The one way indexing can fail, checked before the record is in
        // the log: the index never falls behind it.
        inner.index.number(entry.program())?;
        let offset = inner.log.append(&payload)?;
        inner.index.add(offset, entry, &mut events)?;
        Ok(offset)
    }

    /// Every held key.
    pub(crate) fn held_keys(&self) -> Vec<ClaimKey> {
        self.inner.index.held().map(|(k, _)| k).collect()
    }

    /// Every held key with its claim, in key order.
    pub(crate) fn held(&self) -> Result<Vec<(ClaimKey, ClaimEntry)>> {
        let mut keys: Vec<(ClaimKey, u64)> = self.inner.index.held().collect();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(keys.len());
        for (k, offset) in keys {
            if let Entry::Claim(c) = self.entry_at(offset)? {
                out.push((k, c));
            }
        }
        Ok(out)
    }

    /// Every record with its offset, in log order.
    pub(crate) fn entries(&self) -> Result<Vec<(u64, Entry)>> {
        self.inner
            .index
            .order
            .iter()
            .map(|&o| self.entry_at(o).map(|e| (o, e)))
            .collect()
    }
}
