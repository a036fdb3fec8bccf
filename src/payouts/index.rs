//! The ledger's in-memory index over the claims log: request ids to record
//! offsets, claim keys to the claims that hold them, program codes to the
//! small numbers keys are packed with.
//!
//! **A key is held while any unreversed claim covers it.** Usually one claim
//! holds a key; a person who moved between family cards can be covered by
//! two families' claims of one program and period. The first claim is the
//! key's holder; later ones wait behind it, and a reversal frees the key
//! only when no claim covering it is left.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;

use super::records::{Entry, Subject};
use crate::domain::period::{Period, PeriodKind};
use crate::error::{Error, Result};

/// (program number, period key, subject kind, subject), packed so that keys
/// sort by program, then period, then kind, then subject. The program
/// number is the index's own for the program's code ([`Index::number`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

pub(crate) fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// A key gained its first holder or lost its last one (the accelerators
/// follow it).
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeyEvent {
    Held(ClaimKey),
    Freed(ClaimKey),
}

/// How a program was paid, as the claims recorded it: a registry that
/// changes this for a program with claims is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProgramUse {
    /// Paid per family (its claims hold family keys).
    pub(crate) family: bool,
    /// Paid per person.
    pub(crate) person: bool,
    /// The kinds of period it was paid for.
    pub(crate) periods: Vec<PeriodKind>,
}

/// The in-memory index over the log.
#[derive(Default)]
pub(crate) struct Index {
    /// Request id hash → record offset.
    requests: HashMap<u64, u64>,
    /// Requests whose id hash collides with an earlier one's.
    overflow: HashMap<String, u64>,
    /// Held claim key → the first unreversed claim holding it.
    held: KeyMap<u64>,
    /// Held claim key → the later unreversed claims covering it too.
    also: KeyMap<Vec<u64>>,
    /// Reversed claim's offset → the reversal's record offset.
    reversed: HashMap<u64, u64>,
    /// Every record's offset, in log order.
    pub(crate) order: Vec<u64>,
    /// The highest audit sequence number of any record.
    pub(crate) last_seq: u64,
    /// Program number → code, and back.
    codes: Vec<String>,
    numbers: HashMap<String, u8>,
    /// Program code → how its paid claims paid it.
    uses: HashMap<String, ProgramUse>,
}

impl Index {
    /// The number keys of program `code` are packed with, assigned on first
    /// use. At most 256 distinct codes in a log's lifetime.
    pub(crate) fn number(&mut self, code: &str) -> Result<u8> {
        if let Some(n) = self.numbers.get(code) {
            return Ok(*n);
        }
        let n = u8::try_from(self.codes.len()).map_err(|_| Error::Request {
            request_id: String::new(),
            message: format!(
                "program {code}: the claims log already names 256 programs, its limit"
            ),
        })?;
        self.codes.push(code.to_owned());
        self.numbers.insert(code.to_owned(), n);
        Ok(n)
    }

    /// The number of `code`, if the index has one.
    #[cfg(test)]
    pub(crate) fn number_of(&self, code: &str) -> Option<u8> {
        self.numbers.get(code).copied()
    }

    /// The code of program number `n`.
    pub(crate) fn code(&self, n: u8) -> Option<&str> {
        self.codes.get(n as usize).map(String::as_str)
    }

    /// How each program with paid claims was paid.
    pub(crate) fn uses(&self) -> &HashMap<String, ProgramUse> {
        &self.uses
    }

    /// The keys of a record's subjects.
    fn keys(&mut self, program: &str, period: u32, subjects: &[Subject]) -> Result<Vec<ClaimKey>> {
        let n = self.number(program)?;
        Ok(subjects
            .iter()
            .map(|s| ClaimKey::new(n, period, s.kind, s.id))
            .collect())
    }

    /// Indexes a record; reports keys that became held or free.
    pub(crate) fn add(
        &mut self,
        offset: u64,
        entry: &Entry,
        events: &mut impl FnMut(KeyEvent),
    ) -> Result<()> {
        self.order.push(offset);
        self.last_seq = self.last_seq.max(entry.seq());
        let id = entry.request_id();
        match self.requests.entry(id_hash(id)) {
            MapEntry::Vacant(v) => {
                v.insert(offset);
            }
            MapEntry::Occupied(_) => {
                self.overflow.insert(id.to_owned(), offset);
            }
        }
        match entry {
            Entry::Claim(c) if c.paid => {
                self.record_use(&c.program, c.period, c.family);
                for k in self.keys(&c.program, c.period, &c.keys)? {
                    self.hold(k, offset, events);
                }
            }
            Entry::Claim(_) => {}
            Entry::Reverse(r) => {
                self.reversed.insert(r.claim_offset, offset);
                for k in self.keys(&r.program, r.period, &r.keys)? {
                    self.free(k, r.claim_offset, events);
                }
            }
        }
        Ok(())
    }

    fn record_use(&mut self, program: &str, period: u32, family: bool) {
        let used = self.uses.entry(program.to_owned()).or_default();
        used.family |= family;
        used.person |= !family;
        if let Some(kind) = Period::from_key(period).map(Period::kind)
            && !used.periods.contains(&kind)
        {
            used.periods.push(kind);
        }
    }

    fn hold(&mut self, k: ClaimKey, offset: u64, events: &mut impl FnMut(KeyEvent)) {
        match self.held.entry(k) {
            MapEntry::Vacant(v) => {
                v.insert(offset);
                events(KeyEvent::Held(k));
            }
            MapEntry::Occupied(_) => self.also.entry(k).or_default().push(offset),
        }
    }

    /// The claim at `claim_offset` no longer covers `k`; the key is freed
    /// when no other claim does.
    fn free(&mut self, k: ClaimKey, claim_offset: u64, events: &mut impl FnMut(KeyEvent)) {
        if self.held.get(&k) == Some(&claim_offset) {
            let next = self.also.get_mut(&k).and_then(|later| {
                let first = later.first().copied();
                if first.is_some() {
                    later.remove(0);
                }
                first
            });
            match next {
                Some(next) => {
                    self.held.insert(k, next);
                }
                None => {
                    self.held.remove(&k);
                    events(KeyEvent::Freed(k));
                }
            }
        } else if let Some(later) = self.also.get_mut(&k) {
            later.retain(|o| *o != claim_offset);
        }
        if self.also.get(&k).is_some_and(Vec::is_empty) {
            self.also.remove(&k);
        }
    }

    /// The record offset of a request (by hash; the caller checks the id).
    pub(crate) fn request_offset(&self, id: &str) -> Option<u64> {
        self.overflow
            .get(id)
            .or_else(|| self.requests.get(&id_hash(id)))
            .copied()
    }

    /// The offset of the claim holding `key`.
    pub(crate) fn holder(&self, key: ClaimKey) -> Option<u64> {
        self.held.get(&key).copied()
    }

    /// The reversal of the claim recorded at `offset`, if any.
    pub(crate) fn reversed_by(&self, claim_offset: u64) -> Option<u64> {
        self.reversed.get(&claim_offset).copied()
    }

    /// Every held key with the offset of its holder.
    pub(crate) fn held(&self) -> impl Iterator<Item = (ClaimKey, u64)> + '_ {
        self.held.iter().map(|(k, o)| (*k, *o))
    }

    /// Whether any key of family programs is held (for the tests' checks).
    #[cfg(test)]
    pub(crate) fn family_keys(&self) -> usize {
        let family = super::records::SUBJECT_FAMILY;
        self.held.keys().filter(|k| k.kind() == family).count()
    }
}

#[cfg(test)]
mod tests {
    use super::super::records::{
        ClaimEntry, ReverseEntry, SUBJECT_COVERED, SUBJECT_FAMILY, StoredVerdict,
    };
    use super::*;
    use crate::domain::verdict::ReasonSet;

    #[test]
    fn claim_keys_pack_and_sort() {
        let k = ClaimKey::new(3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007);
        assert_eq!(
            (k.program(), k.period(), k.kind(), k.subject()),
            (3, 0x3000_07EA, SUBJECT_FAMILY, 3_201_011_503_150_007)
        );
        assert!(ClaimKey::new(3, 1, b'P', 9) < ClaimKey::new(3, 2, b'P', 1));
        assert!(ClaimKey::new(2, 9, b'P', 9) < ClaimKey::new(3, 0, SUBJECT_FAMILY, 0));
    }

    fn claim(id: &str, subjects: &[Subject]) -> Entry {
        Entry::Claim(ClaimEntry {
            seq: 1,
            at_ms: 0,
            request_id: id.into(),
            asked: String::new(),
            nik: None,
            kk: None,
            meta: String::new(),
            amount: None,
            entitled: None,
            village: 0,
            operator: String::new(),
            paid: true,
            verdict: StoredVerdict {
                payable: true,
                reasons: ReasonSet::default(),
                conflicts: Vec::new(),
                claimed: None,
            },
            program: "PKH".into(),
            period: 0x2000_07EA,
            family: true,
            keys: subjects.to_vec(),
        })
    }

    fn reverse(id: &str, claim_offset: u64, subjects: &[Subject]) -> Entry {
        Entry::Reverse(ReverseEntry {
            operator: String::new(),
            amount: None,
            seq: 2,
            at_ms: 0,
            request_id: id.into(),
            asked: String::new(),
            original: String::new(),
            reason: String::new(),
            claim_offset,
            program: "PKH".into(),
            period: 0x2000_07EA,
            keys: subjects.to_vec(),
        })
    }

    /// Two families' claims cover a person who moved: reversing the second
    /// leaves the person covered by the first (and the other way round).
    #[test]
    fn a_key_stays_held_while_any_claim_covers_it() {
        let x = Subject {
            kind: SUBJECT_COVERED,
            id: 7,
        };
        let fam = |id| Subject {
            kind: SUBJECT_FAMILY,
            id,
        };
        for reverse_first in [false, true] {
            let mut index = Index::default();
            let mut freed = Vec::new();
            let mut events = |e| {
                if let KeyEvent::Freed(k) = e {
                    freed.push(k)
                }
            };
            index
                .add(100, &claim("RA", &[fam(1), x]), &mut events)
                .unwrap();
            index
                .add(200, &claim("RB", &[fam(2), x]), &mut events)
                .unwrap();
            let (gone, stays) = if reverse_first {
                (100, 200)
            } else {
                (200, 100)
            };
            let subjects = if reverse_first {
                [fam(1), x]
            } else {
                [fam(2), x]
            };
            index
                .add(300, &reverse("RR", gone, &subjects), &mut events)
                .unwrap();
            let n = index.number_of("PKH").unwrap();
            let key = ClaimKey::new(n, 0x2000_07EA, SUBJECT_COVERED, 7);
            assert_eq!(
                index.holder(key),
                Some(stays),
                "reverse_first {reverse_first}"
            );
            assert_eq!(
                freed.len(),
                1,
                "only the reversed family's own key is freed"
            );
            assert_eq!(index.family_keys(), 1);
        }
    }
}
