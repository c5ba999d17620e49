//! A fixed-size, direct-mapped table keyed by text the engine made or verified (session ids,
//! signed cookie tags), and the fast hash it and the memory store's shards use.

use std::hash::{Hash, Hasher};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A fast, unkeyed hash for session ids and cookie tags. They are random, and reach the
/// engine's tables only after a signature check, so nobody can choose them to collide and a
/// keyed hash (SipHash, std's default) buys nothing. Keys chosen by providers (`sid`,
/// subjects) keep SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const ID_HASH_K: u64 = 0x517c_c1b7_2722_0a95;

impl IdHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(ID_HASH_K);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(
                <[u8; 8]>::try_from(chunk).unwrap_or_default(),
            ));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // A final mix (murmur3's), so that every bit of the result depends on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// Where `key` goes among `slots` places. Uses the hash's high bits: a `HashMap` keyed by
/// the same hash (a memory-store shard) uses the low ones for its buckets.
pub(crate) fn slot_index(key: &str, slots: usize) -> usize {
    let mut hasher = IdHasher::default();
    key.hash(&mut hasher);
    usize::try_from(hasher.finish() >> 32).unwrap_or_default() % slots.max(1)
}

/// One value per slot; a new value for a slot replaces the old one. Bounded by construction,
/// and each slot has its own lock, so readers of different keys never wait on each other.
/// With no slots, nothing is kept.
pub(crate) struct SlotTable<T> {
    slots: Box<[RwLock<Option<T>>]>,
}

impl<T> SlotTable<T> {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots).map(|_| RwLock::new(None)).collect(),
        }
    }

    fn slot(&self, key: &str) -> Option<&RwLock<Option<T>>> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots.get(slot_index(key, self.slots.len()))
    }

    /// The value in `key`'s slot (it may belong to another key: compare).
    pub(crate) fn read(&self, key: &str) -> Option<RwLockReadGuard<'_, Option<T>>> {
        Some(self.slot(key)?.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// `key`'s slot, to replace or clear its value.
    pub(crate) fn write(&self, key: &str) -> Option<RwLockWriteGuard<'_, Option<T>>> {
        Some(self.slot(key)?.write().unwrap_or_else(|p| p.into_inner()))
    }
}
