//! The message ids a service saw lately, so that a message sent twice is
//! rejected the second time (`rjct.message_id.duplicate`), as the spec asks
//! of a receiver: a message id is unique between a sender and a receiver
//! until the receiver has acknowledged the message.
//!
//! Ids are kept per caller (the token's id, not the self-declared
//! `sender_id`), so that no caller can make another's ids look used, and
//! as a 128-bit digest, so that each costs the same few bytes however
//! long the id: the set stays bounded in memory by its count alone.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// A message id as the set keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key([u8; 16]);

impl Key {
    /// The key of `message_id` sent by the token `caller`.
    pub fn new(caller: &str, message_id: &str) -> Key {
        let mut h = Sha256::new();
        // The length first, so that no (caller, id) pair reads as another.
        h.update((caller.len() as u64).to_be_bytes());
        h.update(caller.as_bytes());
        h.update(message_id.as_bytes());
        let digest = h.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Key(key)
    }
}

/// The last `capacity` message ids accepted.
pub struct SeenIds {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Each key's insertion number, to tell a stale queue entry (the key
    /// was forgotten and sent again since) from the live one.
    keys: HashMap<Key, u64>,
    order: VecDeque<(Key, u64)>,
    next: u64,
}

impl SeenIds {
    /// An empty set that remembers at most `capacity` ids.
    pub fn new(capacity: usize) -> SeenIds {
        SeenIds {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                keys: HashMap::new(),
                order: VecDeque::new(),
                next: 0,
            }),
        }
    }

    /// Records `key`; false when it was already there (a duplicate).
    pub fn first_time(&self, key: Key) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.keys.contains_key(&key) {
            return false;
        }
        let n = inner.next;
        inner.next += 1;
        inner.keys.insert(key, n);
        inner.order.push_back((key, n));
        while inner.order.len() > self.capacity {
            if let Some((old, at)) = inner.order.pop_front()
                && inner.keys.get(&old) == Some(&at)
            {
                inner.keys.remove(&old);
            }
        }
        true
    }

    /// Forgets `key`: a message the service failed to answer was never
    /// acknowledged, so its retry with the same id must be taken.
    pub fn forget(&self, key: Key) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.keys.remove(&key);
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_seen_and_the_oldest_are_forgotten() {
        let seen = SeenIds::new(3);
        let k = |id: &str| Key::new("pos-1", id);
        assert!(seen.first_time(k("a")));
        assert!(!seen.first_time(k("a")));
        // Another caller's "a" is another message.
        assert!(seen.first_time(Key::new("bank-1", "a")));
        assert!(seen.first_time(k("b")));
        assert!(seen.first_time(k("c")));
        assert_eq!(seen.len(), 3);
        assert!(seen.first_time(k("a")), "the oldest was forgotten");
        // A forgotten key is taken again, and its stale entry in the
        // queue does not evict the new one early.
        seen.forget(k("c"));
        assert!(seen.first_time(k("c")));
        assert!(seen.first_time(k("d")));
        assert!(!seen.first_time(k("c")));
        assert!(seen.len() <= 3);
    }
}
