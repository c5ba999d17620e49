//! The in-memory store: sharded, bounded, with idle and absolute expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{LoadedSession, SaveOutcome, SessionStore, StoreFuture};
use crate::session::SessionData;
use crate::time::now_unix;

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

type Shard = RwLock<HashMap<Box<str>, Entry>>;

/// Sessions in this process's memory: the default, for a single instance.
///
/// Sixteen shards keep lock contention low; each holds at most `max_sessions / 16`. When a
/// shard is full, its expired sessions go first, then its least recently used one. Reads
/// take a shared lock and never hold it across an `.await`.
pub struct MemoryStore {
    shards: Box<[Shard]>,
    max_per_shard: usize,
    by_sid: Mutex<HashMap<String, Vec<Box<str>>>>,
    by_subject: Mutex<HashMap<String, Vec<Box<str>>>>,
    once: Mutex<HashMap<String, Instant>>,
    leases: Mutex<HashMap<String, (String, Instant)>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryStore {
    /// A store holding at most `max_sessions` sessions.
    pub fn new(max_sessions: usize) -> Self {
        let shards = (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect();
        Self {
            shards,
            max_per_shard: max_sessions.div_ceil(SHARDS).max(1),
            by_sid: Mutex::default(),
            by_subject: Mutex::default(),
            once: Mutex::default(),
            leases: Mutex::default(),
        }
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

    fn shard(&self, id: &str) -> &Shard {
        let hash = id.bytes().fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(b as usize)
        });
        &self.shards[hash % SHARDS]
    }

    fn index(&self, id: &str, data: &SessionData) {
        if let Some(sid) = &data.sid {
            lock(&self.by_sid)
                .entry(sid.clone())
                .or_default()
                .push(id.into());
        }
        lock(&self.by_subject)
            .entry(data.subject.clone())
            .or_default()
            .push(id.into());
    }

    fn unindex(&self, id: &str, data: &SessionData) {
        let remove = |map: &Mutex<HashMap<String, Vec<Box<str>>>>, key: &str| {
            let mut map = lock(map);
            if let Some(ids) = map.get_mut(key) {
                ids.retain(|other| &**other != id);
                if ids.is_empty() {
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

    fn remove_indexed(&self, index: &Mutex<HashMap<String, Vec<Box<str>>>>, key: &str) -> usize {
        let ids = lock(index).get(key).cloned().unwrap_or_default();
        ids.iter().filter(|id| self.remove(id)).count()
    }

    /// Makes room in a full shard: expired entries first, then the least recently used.
    fn evict(
        &self,
        shard: &mut HashMap<Box<str>, Entry>,
        now: i64,
    ) -> Vec<(Box<str>, Arc<SessionData>)> {
        let mut evicted = Vec::new();
        let expired: Vec<Box<str>> = shard
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
        let now = now_unix();
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
        let result = match found {
            Some((true, _)) => {
                self.remove(id);
                None
            }
            Some((false, loaded)) => Some(loaded),
            None => None,
        };
        Box::pin(std::future::ready(Ok(result)))
    }

    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        let evicted = {
            let mut shard = self.shard(id).write().unwrap_or_else(|p| p.into_inner());
            let evicted = if shard.len() >= self.max_per_shard {
                self.evict(&mut shard, now)
            } else {
                Vec::new()
            };
            shard.insert(
                id.into(),
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
        self.index(id, &data);
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
        let now = Instant::now();
        let mut once = lock(&self.once);
        if once.len() > 10_000 {
            once.retain(|_, until| *until > now);
        }
        let first = match once.get(key) {
            Some(until) if *until > now => false,
            _ => {
                once.insert(key.to_string(), now + ttl);
                true
            }
        };
        Box::pin(std::future::ready(Ok(first)))
    }

    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let now = Instant::now();
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
