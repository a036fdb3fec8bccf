//! In-memory accelerators, rebuilt on open from the snapshot and the live
//! state, that keep the read path off the database: a "has a change" filter
//! over NIKs and claimed-bitmaps per program and period.
//!
//! Both are arrays of atomic words: readers test a bit with one relaxed load
//! (no lock, no allocation); writers set bits with `fetch_or`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::domain::kk::Kk;
use crate::payouts::index::KeyEvent;
use crate::payouts::records::SUBJECT_FAMILY;
use crate::snapshot::Snapshot;

/// A fixed-size bitset of atomic words.
pub(crate) struct AtomicBits {
    words: Box<[AtomicU64]>,
}

impl AtomicBits {
    pub(crate) fn new(bits: u64) -> AtomicBits {
        let words = bits.div_ceil(64).max(1) as usize;
        AtomicBits {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, bit: u64) -> bool {
        self.words
            .get((bit / 64) as usize)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1 << (bit % 64)) != 0)
    }

    #[inline]
    pub(crate) fn set(&self, bit: u64) {
        if let Some(w) = self.words.get((bit / 64) as usize) {
            w.fetch_or(1 << (bit % 64), Ordering::AcqRel);
        }
    }

    pub(crate) fn clear(&self, bit: u64) {
        if let Some(w) = self.words.get((bit / 64) as usize) {
            w.fetch_and(!(1 << (bit % 64)), Ordering::AcqRel);
        }
    }
}

/// "This NIK may have a pending change": a Bloom filter with two probes
/// per NIK. A clear bit means certainly no change; set bits mean "ask the
/// live state". It grows (4× at a time, rebuilt from the NIKs it holds)
/// whenever it holds more than one NIK per 32 bits, so false positives stay
/// under about 1.5 % however many changes are pending.
pub(crate) struct ChangeFilter {
    bits: ArcSwap<FilterBits>,
    niks: Mutex<Vec<u64>>,
}

struct FilterBits {
    bits: AtomicBits,
    mask: u64,
}

/// The smallest filter: 2^20 bits (128 KiB).
const FILTER_MIN_BITS: u64 = 1 << 20;
/// Bits per NIK before the filter grows.
const FILTER_BITS_PER_NIK: u64 = 32;

impl FilterBits {
    fn new(bits: u64) -> FilterBits {
        FilterBits {
            bits: AtomicBits::new(bits),
            mask: bits - 1,
        }
    }

    #[inline]
    fn probes(&self, nik: u64) -> (u64, u64) {
        let h = crate::snapshot::format::hash_nik(nik, 0x6368_616e_6765);
        (h & self.mask, h.rotate_left(32) & self.mask)
    }

    #[inline]
    fn may_contain(&self, nik: u64) -> bool {
        let (a, b) = self.probes(nik);
        self.bits.get(a) && self.bits.get(b)
    }

    fn insert(&self, nik: u64) {
        let (a, b) = self.probes(nik);
        self.bits.set(a);
        self.bits.set(b);
    }
}

impl ChangeFilter {
    pub(crate) fn new() -> ChangeFilter {
        ChangeFilter {
            bits: ArcSwap::from_pointee(FilterBits::new(FILTER_MIN_BITS)),
            niks: Mutex::new(Vec::new()),
        }
    }

    #[inline]
    pub(crate) fn may_contain(&self, nik: u64) -> bool {
        self.bits.load().may_contain(nik)
    }

    /// The filter as it is now, for many questions in a row: one atomic
    /// load instead of one per question. It answers for every NIK inserted
    /// before this call (a NIK inserted later may or may not be seen).
    pub(crate) fn view(&self) -> FilterView {
        FilterView(self.bits.load_full())
    }

    pub(crate) fn insert(&self, nik: u64) {
        let mut niks = self.niks.lock().unwrap_or_else(|p| p.into_inner());
        niks.push(nik);
        let current = self.bits.load();
        current.insert(nik);
        let size = current.mask + 1;
        if niks.len() as u64 * FILTER_BITS_PER_NIK > size {
            let grown = FilterBits::new(size * 4);
            for n in niks.iter() {
                grown.insert(*n);
            }
            self.bits.store(Arc::new(grown));
        }
    }

    /// Replaces the contents with exactly `niks` (after a generation change
    /// folded the others into the snapshot). A reader racing the swap sees
    /// the old or the new bits; both hold every NIK still changed.
    pub(crate) fn reset(&self, new: Vec<u64>) {
        let mut niks = self.niks.lock().unwrap_or_else(|p| p.into_inner());
        let mut size = FILTER_MIN_BITS;
        while new.len() as u64 * FILTER_BITS_PER_NIK > size {
            size *= 4;
        }
        let bits = FilterBits::new(size);
        for n in &new {
            bits.insert(*n);
        }
        *niks = new;
        self.bits.store(Arc::new(bits));
    }
}

/// A [`ChangeFilter`] as it was at [`ChangeFilter::view`].
pub(crate) struct FilterView(Arc<FilterBits>);

impl FilterView {
    /// False only if the NIK has no pending change (as of the view).
    #[inline]
    pub(crate) fn may_contain(&self, nik: u64) -> bool {
        self.0.may_contain(nik)
    }
}

/// Claimed bits of one program and period: persons by snapshot slot
/// (person programs: paid; family programs: covered by a family's claim) and
/// families by snapshot family index.
pub(crate) struct Claimed {
    pub(crate) persons: AtomicBits,
    pub(crate) families: AtomicBits,
}

/// Claimed bitmaps by (program, period key), created on first claim.
pub(crate) struct ClaimedIndex {
    map: ArcSwap<HashMap<(u8, u32), Arc<Claimed>>>,
    grow: Mutex<()>,
    persons: u64,
    families: u64,
}

impl ClaimedIndex {
    pub(crate) fn new(persons: u64, families: u64) -> ClaimedIndex {
        ClaimedIndex {
            map: ArcSwap::from_pointee(HashMap::new()),
            grow: Mutex::new(()),
            persons,
            families,
        }
    }

    /// The bitmaps of (program, period), if any claim exists for it.
    #[inline]
    pub(crate) fn get(&self, program: u8, period: u32) -> Option<Arc<Claimed>> {
        self.map.load().get(&(program, period)).cloned()
    }

    /// Whether the bit is set, without cloning the `Arc` (read path).
    #[inline]
    pub(crate) fn test(&self, program: u8, period: u32, family: bool, index: u64) -> bool {
        let map = self.map.load();
        match map.get(&(program, period)) {
            Some(c) if family => c.families.get(index),
            Some(c) => c.persons.get(index),
            None => false,
        }
    }

    /// The bitmaps of (program, period), created if missing.
    pub(crate) fn get_or_create(&self, program: u8, period: u32) -> Arc<Claimed> {
        if let Some(c) = self.get(program, period) {
            return c;
        }
        let _guard = self.grow.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = self.get(program, period) {
            return c;
        }
        let claimed = Arc::new(Claimed {
            persons: AtomicBits::new(self.persons),
            families: AtomicBits::new(self.families),
        });
        let mut next = HashMap::clone(&self.map.load());
        next.insert((program, period), claimed.clone());
        self.map.store(Arc::new(next));
        claimed
    }
}

/// Sets or clears the accelerator bit of one claim key. A key the snapshot
/// cannot place (a NIK or family card new since the snapshot) has no bit:
/// reads of such persons go to the live state and the ledger anyway.
pub(crate) fn mark_key(claimed: &ClaimedIndex, snap: &Snapshot, event: KeyEvent) {
    let key = match event {
        KeyEvent::Held(k) | KeyEvent::Freed(k) => k,
    };
    mark_bits(
        &claimed.get_or_create(key.program(), key.period()),
        snap,
        event,
    );
}

/// [`mark_key`] with the bitmaps of the key's (program, period) in hand.
pub(crate) fn mark_bits(bits: &Claimed, snap: &Snapshot, event: KeyEvent) {
    let (key, set) = match event {
        KeyEvent::Held(k) => (k, true),
        KeyEvent::Freed(k) => (k, false),
    };
    let (bits, index) = if key.kind() == SUBJECT_FAMILY {
        let Some(f) = Kk::from_u64(key.subject())
            .ok()
            .and_then(|kk| snap.family(kk))
        else {
            return;
        };
        (&bits.families, u64::from(f.index()))
    } else {
        let Some(slot) = snap.find(key.subject()) else {
            return;
        };
        (&bits.persons, u64::from(slot))
    };
    if set {
        bits.set(index)
    } else {
        bits.clear(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_set_test_clear() {
        let b = AtomicBits::new(1000);
        assert!(!b.get(999));
        b.set(999);
        assert!(b.get(999));
        b.clear(999);
        assert!(!b.get(999));
        b.set(5000); // out of range: ignored, not a panic
        assert!(!b.get(5000));
    }

    #[test]
    fn filter_has_no_false_negatives_and_grows() {
        let f = ChangeFilter::new();
        for n in 0..200_000u64 {
            f.insert(3_201_015_708_900_001 + n * 7);
        }
        for n in 0..200_000u64 {
            assert!(f.may_contain(3_201_015_708_900_001 + n * 7));
        }
        // 200 k NIKs grew the filter: false positives stay rare.
        let false_positives = (0..100_000u64)
            .filter(|n| f.may_contain(3_301_015_708_900_001 + n * 11))
            .count();
        assert!(
            false_positives < 3_000,
            "{false_positives} false positives in 100 k"
        );
    }

    #[test]
    fn claimed_index_creates_once() {
        let idx = ClaimedIndex::new(100, 10);
        assert!(idx.get(1, 2).is_none());
        let a = idx.get_or_create(1, 2);
        a.families.set(3);
        assert!(idx.test(1, 2, true, 3));
        assert!(!idx.test(1, 2, false, 3));
        assert!(Arc::ptr_eq(&a, &idx.get_or_create(1, 2)));
    }
}
