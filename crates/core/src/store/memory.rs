//! The in-memory store: sharded, bounded, with idle and absolute expiry.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{LoadedSession, SaveOutcome, SessionStore, StoreError, StoreFuture};
use crate::session::SessionData;
use crate::slot_table::{slot_index, IdHasher};
use crate::sync::lock;
use crate::time::Clock;

const SHARDS: usize = 16;

struct Entry {
    data: Arc<SessionData>,
    version: u64,
    last_seen: AtomicI64,
}

impl Entry {
    fn expired(&self, now: i64) -> bool {
        now >= self.data.deadline(self.last_seen.load(Ordering::Relaxed))
    }
}

/// Session ids are shared, not copied, between a shard and the `sid` / subject indexes.
type Id = Arc<str>;

type Shard = RwLock<HashMap<Id, Entry, BuildHasherDefault<IdHasher>>>;

type Index = Mutex<HashMap<Box<str>, Ids>>;

/// Single-use markers (`consume_once`) held at most: about 20 MB. Past it, the marker that
/// expires first makes room. Refusing instead would let a flood lock every user out of
/// sign-in. An evicted sign-in marker loses only the early refusal (its code is spent at the
/// provider); an evicted logout-token `jti` would let that token be replayed within its
/// window. Markers are written only after a code exchange, a verified logout token or a
/// verified DPoP proof with its token, so reaching the bound takes that many real sign-ins,
/// provider-signed tokens or proofs by a token's holder.
const MAX_ONCE_MARKERS: usize = 100_000;

/// Records (`put_record`) held at most. Past it, the record that expires first (the one idle
/// longest) makes room, so a flood of new records evicts old idle ones but refuses nobody.
const MAX_RECORDS: usize = 10_000;

/// Values by key with an expiry, and the keys by when they expire: records (`put_record`)
/// and single-use markers (`consume_once`, with no value). The expired ones and, at the
/// bound, the one expiring first leave from the front of the ordered set, so a flood at the
/// bound costs each write a look-up, not a scan of every entry under the lock.
struct Expiring<V> {
    max: usize,
    values: HashMap<String, (V, Instant)>,
    by_expiry: std::collections::BTreeSet<(Instant, String)>,
}

impl<V: Clone> Expiring<V> {
    fn new(max: usize) -> Self {
        Self {
            max,
            values: HashMap::new(),
            by_expiry: std::collections::BTreeSet::new(),
        }
    }

    fn put(&mut self, key: &str, value: V, until: Instant, now: Instant) {
        self.remove(key);
        while let Some((first, _)) = self.by_expiry.first() {
            if *first > now && self.values.len() < self.max {
                break;
            }
            if let Some((_, gone)) = self.by_expiry.pop_first() {
                self.values.remove(&gone);
            }
        }
        self.values.insert(key.to_string(), (value, until));
        self.by_expiry.insert((until, key.to_string()));
    }

    /// The value, unless missing or expired at `now` (an expired one is removed).
    fn get(&mut self, key: &str, now: Instant) -> Option<V> {
        match self.values.get(key) {
            Some((value, until)) if *until > now => Some(value.clone()),
            Some(_) => {
                self.remove(key);
                None
            }
            None => None,
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some((_, until)) = self.values.remove(key) {
            self.by_expiry.remove(&(until, key.to_string()));
        }
    }
}

/// The sessions under one `sid` or subject: nearly always one, held without a vector.
#[derive(Clone)]
enum Ids {
    One(Id),
    Many(Vec<Id>),
}

impl Ids {
    fn push(&mut self, id: Id) {
        match self {
            Self::One(first) => *self = Self::Many(vec![Arc::clone(first), id]),
            Self::Many(ids) => ids.push(id),
        }
    }

    /// Removes `id`; false when none is left.
    fn remove(&mut self, id: &str) -> bool {
        match self {
            Self::One(only) => &**only != id,
            Self::Many(ids) => {
                ids.retain(|other| &**other != id);
                !ids.is_empty()
            }
        }
    }

    fn as_slice(&self) -> &[Id] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }
}

/// Sessions in this process's memory: the default, for a single instance.
///
/// Sixteen shards keep lock contention low; each holds at most `max_sessions / 16`. When a
/// shard is full, its expired sessions go first, then its least recently used one. Reads
/// take a shared lock and never hold it across an `.await`.
pub struct MemoryStore {
    shards: Box<[Shard]>,
    max_per_shard: usize,
    by_sid: Index,
    by_subject: Index,
    once: Mutex<Expiring<()>>,
    records: Mutex<Expiring<String>>,
    leases: Mutex<HashMap<String, (String, Instant)>>,
    clock: Clock,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl MemoryStore {
    /// A store holding at most `max_sessions` sessions.
    pub fn new(max_sessions: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| RwLock::new(HashMap::default()))
            .collect();
        Self {
            shards,
            max_per_shard: max_sessions.div_ceil(SHARDS).max(1),
            by_sid: Mutex::default(),
            by_subject: Mutex::default(),
            once: Mutex::new(Expiring::new(MAX_ONCE_MARKERS)),
            records: Mutex::new(Expiring::new(MAX_RECORDS)),
            leases: Mutex::default(),
            clock: Clock::default(),
        }
    }

    /// Reads the time from `clock` (sessions, markers, records and leases), so that a test
    /// moves it forward instead of sleeping (the store suite does).
    #[cfg(feature = "test-util")]
    #[must_use]
    pub fn with_clock(mut self, clock: crate::test_util::TestClock) -> Self {
        self.clock = Clock::test(clock);
        self
    }

    /// Number of sessions held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map_or(0, |m| m.len()))
            .sum()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The session, unless missing or expired at `now` (an expired one is removed).
    fn load_in_memory(&self, id: &str, now: i64) -> Option<LoadedSession> {
        let found = {
            let shard = self.shard(id).read().unwrap_or_else(|p| p.into_inner());
            shard.get(id).map(|entry| {
                (
                    entry.expired(now),
                    LoadedSession {
                        data: Arc::clone(&entry.data),
                        version: entry.version,
                        last_seen: entry.last_seen.load(Ordering::Relaxed),
                    },
                )
            })
        };
        match found {
            Some((true, _)) => {
                self.remove(id);
                None
            }
            Some((false, loaded)) => Some(loaded),
            None => None,
        }
    }

    fn shard(&self, id: &str) -> &Shard {
        &self.shards[slot_index(id, SHARDS)]
    }

    fn index(&self, id: &Id, data: &SessionData) {
        let push = |map: &Index, key: &str| {
            let mut map = lock(map);
            match map.get_mut(key) {
                Some(ids) => ids.push(Arc::clone(id)),
                None => {
                    map.insert(key.into(), Ids::One(Arc::clone(id)));
                }
            }
        };
        if let Some(sid) = &data.sid {
            push(&self.by_sid, sid);
        }
        push(&self.by_subject, &data.subject);
    }

    fn unindex(&self, id: &str, data: &SessionData) {
        let remove = |map: &Index, key: &str| {
            let mut map = lock(map);
            if let Some(ids) = map.get_mut(key) {
                if !ids.remove(id) {
                    map.remove(key);
                }
            }
        };
        if let Some(sid) = &data.sid {
            remove(&self.by_sid, sid);
        }
        remove(&self.by_subject, &data.subject);
    }

    fn remove(&self, id: &str) -> bool {
        let removed = match self.shard(id).write() {
            Ok(mut shard) => shard.remove(id),
            Err(poisoned) => poisoned.into_inner().remove(id),
        };
        match removed {
            Some(entry) => {
                self.unindex(id, &entry.data);
                true
            }
            None => false,
        }
    }

    fn remove_indexed(&self, index: &Index, key: &str) -> usize {
        let ids = lock(index).get(key).cloned();
        ids.map_or(0, |ids| {
            ids.as_slice().iter().filter(|id| self.remove(id)).count()
        })
    }

    /// Makes room in a full shard: expired entries first, then the least recently used.
    fn evict(
        &self,
        shard: &mut HashMap<Id, Entry, BuildHasherDefault<IdHasher>>,
        now: i64,
    ) -> Vec<(Id, Arc<SessionData>)> {
        let mut evicted = Vec::new();
        let expired: Vec<Id> = shard
            .iter()
            .filter(|(_, e)| e.expired(now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            if let Some(entry) = shard.remove(&key) {
                evicted.push((key, entry.data));
            }
        }
        if shard.len() >= self.max_per_shard {
            let oldest = shard
                .iter()
                .min_by_key(|(_, e)| e.last_seen.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                if let Some(entry) = shard.remove(&key) {
                    evicted.push((key, entry.data));
                }
            }
        }
        evicted
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LoadedSession>> {
        Box::pin(std::future::ready(Ok(
            self.load_in_memory(id, self.clock.now())
        )))
    }

    fn load_now(&self, id: &str, now: i64) -> Option<Result<Option<LoadedSession>, StoreError>> {
        Some(Ok(self.load_in_memory(id, now)))
    }

    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        let key: Id = Arc::from(id);
        let evicted = {
            let mut shard = self.shard(id).write().unwrap_or_else(|p| p.into_inner());
            let evicted = if shard.len() >= self.max_per_shard {
                self.evict(&mut shard, now)
            } else {
                Vec::new()
            };
            shard.insert(
                Arc::clone(&key),
                Entry {
                    data: Arc::clone(&data),
                    version: 1,
                    last_seen: AtomicI64::new(now),
                },
            );
            evicted
        };
        for (key, old) in evicted {
            self.unindex(&key, &old);
        }
        self.index(&key, &data);
        Box::pin(std::future::ready(Ok(())))
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        data: Arc<SessionData>,
        expected_version: u64,
    ) -> StoreFuture<'a, SaveOutcome> {
        let outcome = {
            let mut shard = self.shard(id).write().unwrap_or_else(|p| p.into_inner());
            match shard.get_mut(id) {
                Some(entry) if entry.version == expected_version => {
                    entry.data = data;
                    entry.version += 1;
                    SaveOutcome::Saved {
                        version: entry.version,
                    }
                }
                _ => SaveOutcome::Conflict,
            }
        };
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        if let Some(entry) = self
            .shard(id)
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            entry.last_seen.fetch_max(now, Ordering::Relaxed);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.remove(id);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize> {
        let count = self.remove_indexed(&self.by_sid, sid);
        Box::pin(std::future::ready(Ok(count)))
    }

    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        let count = self.remove_indexed(&self.by_subject, subject);
        Box::pin(std::future::ready(Ok(count)))
    }

    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let now = self.clock.instant();
        let mut once = lock(&self.once);
        let first = once.get(key, now).is_none();
        if first {
            once.put(key, (), now + ttl, now);
        }
        Box::pin(std::future::ready(Ok(first)))
    }

    fn is_consumed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let now = self.clock.instant();
        let seen = lock(&self.once).get(key, now).is_some();
        Box::pin(std::future::ready(Ok(seen)))
    }

    fn put_record<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = self.clock.instant();
        lock(&self.records).put(key, value.to_string(), now + ttl, now);
        Box::pin(std::future::ready(Ok(())))
    }

    fn get_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let value = lock(&self.records).get(key, self.clock.instant());
        Box::pin(std::future::ready(Ok(value)))
    }

    fn delete_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        lock(&self.records).remove(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let now = self.clock.instant();
        let mut leases = lock(&self.leases);
        let taken = match leases.get(key) {
            Some((holder, until)) if *until > now && holder != owner => false,
            _ => {
                leases.insert(key.to_string(), (owner.to_string(), now + ttl));
                true
            }
        };
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        let mut leases = lock(&self.leases);
        if leases.get(key).is_some_and(|(holder, _)| holder == owner) {
            leases.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consume(store: &MemoryStore, key: &str) -> bool {
        let mut future = store.consume_once(key, Duration::from_secs(60));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(answer) => answer.unwrap_or(false),
            std::task::Poll::Pending => false,
        }
    }

    /// At the bound, the marker that expires first makes room: new markers are still
    /// written, the bound holds, and the others are still remembered.
    #[test]
    fn single_use_markers_stay_bounded_and_keep_the_newest() {
        let store = MemoryStore::default();
        for i in 0..MAX_ONCE_MARKERS + 5 {
            assert!(consume(&store, &format!("m{i}")));
        }
        let held = lock(&store.once).values.len();
        assert_eq!(held, MAX_ONCE_MARKERS);
        assert_eq!(lock(&store.once).by_expiry.len(), MAX_ONCE_MARKERS);
        assert!(!consume(&store, "m10"));
        assert!(!consume(&store, &format!("m{}", MAX_ONCE_MARKERS + 4)));
        assert!(consume(&store, "a fresh one"));
    }
}
