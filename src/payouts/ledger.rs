//! The ledger of payouts: every claim and reversal, as records of the
//! claims log ([`crate::payouts::claims_log`]), and the in-memory index that answers
//! "was this request seen?" and "who holds this claim key?" without reading
//! the file.
//!
//! A claim key is (program, period, subject): the subject is a family card
//! (`F`, family programs), a NIK paid a person program (`P`), or a NIK
//! covered by its family's payment (`V`). At most one claim holds a key at a
//! time; a reversal frees the keys of the claim it reverses.
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
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use crate::domain::verdict::Verdict;
use crate::durable::group_commit::GroupCommit;
use crate::error::{Error, Result};
use crate::payouts::claims_log::{self, LogFile, Recovery};

/// Claim subject kinds.
pub(crate) const SUBJECT_FAMILY: u8 = b'F';
pub(crate) const SUBJECT_PERSON: u8 = b'P';
pub(crate) const SUBJECT_COVERED: u8 = b'V';

/// (program, period key, subject kind, subject), packed so that keys sort
/// by program, then period, then kind, then subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct ClaimKey(u128);

impl ClaimKey {
    pub(crate) fn new(program: u8, period: u32, kind: u8, subject: u64) -> ClaimKey {
        ClaimKey(
            (u128::from(program) << 104)
                | (u128::from(period) << 72)
                | (u128::from(kind) << 64)
                | u128::from(subject),
        )
    }

    pub(crate) fn program(self) -> u8 {
        (self.0 >> 104) as u8
    }

    pub(crate) fn period(self) -> u32 {
        (self.0 >> 72) as u32
    }

    pub(crate) fn kind(self) -> u8 {
        (self.0 >> 64) as u8
    }

    pub(crate) fn subject(self) -> u64 {
        self.0 as u64
    }

    /// The key as bytes (the public `RequestRecord::keys` form): program,
    /// period (big-endian), kind, subject (big-endian).
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut k = Vec::with_capacity(14);
        k.push(self.program());
        k.extend_from_slice(&self.period().to_be_bytes());
        k.push(self.kind());
        k.extend_from_slice(&self.subject().to_be_bytes());
        k
    }
}

/// A claim as recorded: what was asked, what was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimEntry {
    /// Audit order, shared with the live state's audit entries.
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) request_id: String,
    /// The request in canonical text, to tell a retry from a reused id.
    pub(crate) asked: String,
    pub(crate) nik: Option<u64>,
    pub(crate) kk: Option<u64>,
    pub(crate) meta: String,
    pub(crate) paid: bool,
    pub(crate) verdict: Verdict,
    /// The keys a paid claim holds.
    pub(crate) keys: Vec<ClaimKey>,
}

/// A reversal as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReverseEntry {
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) request_id: String,
    pub(crate) asked: String,
    /// The reversed claim's request id and record offset.
    pub(crate) original: String,
    pub(crate) claim_offset: u64,
    /// The keys the reversal frees (those the claim held).
    pub(crate) keys: Vec<ClaimKey>,
}

/// One record of the claims log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Entry {
    Claim(ClaimEntry),
    Reverse(ReverseEntry),
}

impl Entry {
    pub(crate) fn request_id(&self) -> &str {
        match self {
            Entry::Claim(c) => &c.request_id,
            Entry::Reverse(r) => &r.request_id,
        }
    }

    pub(crate) fn asked(&self) -> &str {
        match self {
            Entry::Claim(c) => &c.asked,
            Entry::Reverse(r) => &r.asked,
        }
    }

    pub(crate) fn seq(&self) -> u64 {
        match self {
            Entry::Claim(c) => c.seq,
            Entry::Reverse(r) => r.seq,
        }
    }
}

/// Hashes claim keys: a multiply-xorshift of the packed key. Claim keys are
/// NIKs and family cards of the register (a payer cannot choose them
/// freely), so a fast unkeyed hash is safe here; request ids, which callers
/// choose, keep std's keyed hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(31);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

type KeyMap<V> = HashMap<ClaimKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// The in-memory index over the log.
#[derive(Default)]
struct Index {
    /// Request id hash → record offset.
    requests: HashMap<u64, u64>,
    /// Requests whose id hash collides with an earlier one's.
    overflow: HashMap<String, u64>,
    /// Held claim key → the holding claim's record offset.
    held: KeyMap<u64>,
    /// Reversed claim's offset → the reversal's request id.
    reversed: HashMap<u64, String>,
    /// Every record's offset, in log order.
    order: Vec<u64>,
    /// The highest audit sequence number of any record.
    last_seq: u64,
}

/// A key gained or lost a holder (the accelerators follow it).
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeyEvent {
    Held(ClaimKey),
    Freed(ClaimKey),
}

impl Index {
    /// Indexes a record; reports keys that became held or free.
    fn add(&mut self, offset: u64, entry: &Entry, events: &mut impl FnMut(KeyEvent)) {
        self.order.push(offset);
        self.last_seq = self.last_seq.max(entry.seq());
        let id = entry.request_id();
        match self.requests.entry(id_hash(id)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(offset);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.overflow.insert(id.to_owned(), offset);
            }
        }
        match entry {
            Entry::Claim(c) if c.paid => {
                for k in &c.keys {
                    self.held.insert(*k, offset);
                    events(KeyEvent::Held(*k));
                }
            }
            Entry::Claim(_) => {}
            Entry::Reverse(r) => {
                self.reversed.insert(r.claim_offset, r.request_id.clone());
                self.free(r.claim_offset, &r.keys, events);
            }
        }
    }

    /// Frees the keys of a reversed claim that it still holds.
    fn free(&mut self, claim_offset: u64, keys: &[ClaimKey], events: &mut impl FnMut(KeyEvent)) {
        for k in keys {
            if self.held.get(k) == Some(&claim_offset) {
                self.held.remove(k);
                events(KeyEvent::Freed(*k));
            }
        }
    }
}

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
    sync_file: File,
    path: PathBuf,
    recovery: Recovery,
}

impl Ledger {
    /// Opens (or creates) the ledger at `path`, replaying every record;
    /// `events` hears every key that is held at the end (and the frees on
    /// the way).
    pub(crate) fn open(
        path: &Path,
        group_commit: bool,
        mut events: impl FnMut(KeyEvent),
    ) -> Result<Ledger> {
        let mut index = Index::default();
        let (log, recovery) = LogFile::open(path, |offset, payload| {
            let entry: Entry = decode(payload, path, offset)?;
            index.add(offset, &entry, &mut events);
            Ok(())
        })?;
        let sync_file = log.sync_handle()?;
        Ok(Ledger {
            inner: Mutex::new(Inner {
                log,
                index,
                failed: None,
            }),
            commit: GroupCommit::new("the claims log"),
            group_commit,
            sync_file,
            path: path.to_path_buf(),
            recovery,
        })
    }

    /// The highest audit sequence number recorded, 0 if none.
    pub(crate) fn last_seq(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .index
            .last_seq
    }

    /// Bytes of an unfinished last record cut off at open.
    pub(crate) fn torn_bytes(&self) -> u64 {
        self.recovery.torn_bytes
    }

    /// The decision lock.
    pub(crate) fn lock(&self) -> Result<LedgerGuard<'_>> {
        // A panic under this lock cannot leave the index ahead of the log:
        // the index is updated only after the append succeeded.
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
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
            self.write_pending()?;
            let r = claims_log::sync(&self.sync_file, &self.path);
            if let Err(e) = &r {
                self.fail(e);
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

    fn write_pending(&self) -> Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let r = inner.log.write_pending();
        if let Err(e) = &r {
            inner.failed = Some(e.to_string());
        }
        r
    }

    fn fail(&self, e: &Error) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).failed = Some(e.to_string());
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

    /// The first record of a request, with its offset.
    pub(crate) fn request(&self, id: &str) -> Result<Option<(u64, Entry)>> {
        if let Some(&offset) = self.inner.index.overflow.get(id) {
            return self.entry_at(offset).map(|e| Some((offset, e)));
        }
        let Some(&offset) = self.inner.index.requests.get(&id_hash(id)) else {
            return Ok(None);
        };
        let entry = self.entry_at(offset)?;
        // Another id with the same hash is not this request.
        Ok((entry.request_id() == id).then_some((offset, entry)))
    }

    /// The claim holding `key`, if any.
    pub(crate) fn holder(&self, key: ClaimKey) -> Result<Option<ClaimEntry>> {
        let Some(&offset) = self.inner.index.held.get(&key) else {
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

    /// The reversal of the claim recorded at `offset`, if any.
    pub(crate) fn reversed_by(&self, claim_offset: u64) -> Option<String> {
        self.inner.index.reversed.get(&claim_offset).cloned()
    }

    /// Appends a record and indexes it (reversals free their claim's keys).
    pub(crate) fn append(
        &mut self,
        entry: &Entry,
        mut events: impl FnMut(KeyEvent),
    ) -> Result<u64> {
        let payload = encode(entry)?;
        let offset = self.inner.log.append(&payload)?;
        self.inner.index.add(offset, entry, &mut events);
        Ok(offset)
    }

    /// Every held key.
    pub(crate) fn held_keys(&self) -> Vec<ClaimKey> {
        self.inner.index.held.keys().copied().collect()
    }

    /// Every held key with its claim, in key order.
    pub(crate) fn held(&self) -> Result<Vec<(ClaimKey, ClaimEntry)>> {
        let mut keys: Vec<(ClaimKey, u64)> = self
            .inner
            .index
            .held
            .iter()
            .map(|(k, o)| (*k, *o))
            .collect();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(keys.len());
        for (k, offset) in keys {
            if let Entry::Claim(c) = self.entry_at(offset)? {
                out.push((k, c));
            }
        }
        Ok(out)
    }

    /// Every record, in log order.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>> {
        self.inner
            .index
            .order
            .iter()
            .map(|&o| self.entry_at(o))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_keys_pack_and_sort() {
        let k = ClaimKey::new(3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007);
        assert_eq!(
            (k.program(), k.period(), k.kind(), k.subject()),
            (3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007)
        );
        assert!(ClaimKey::new(3, 1, SUBJECT_PERSON, 9) < ClaimKey::new(3, 2, SUBJECT_PERSON, 1));
        assert!(ClaimKey::new(2, 9, SUBJECT_PERSON, 9) < ClaimKey::new(3, 0, SUBJECT_FAMILY, 0));
        assert_eq!(k.to_bytes().len(), 14);
    }
}
