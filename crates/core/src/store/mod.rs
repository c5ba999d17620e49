//! Session storage behind one trait, so the memory store (default) and Redis (many instances)
//! are interchangeable.
//!
//! # Implementing a store
//!
//! A store for another backend (PostgreSQL, DynamoDB, …) implements [`SessionStore`]:
//!
//! - **Versions.** [`create`](SessionStore::create) stores version 1;
//!   [`update`](SessionStore::update) is a compare-and-set on the version and answers
//!   [`SaveOutcome::Conflict`] when another writer won. The refresh protocol relies on it: an
//!   instance never overwrites another's newer tokens.
//! - **Lifetimes.** A session ends at `min(expires_at, last_seen + idle_timeout)`
//!   ([`SessionData::deadline`]); [`load`](SessionStore::load) must not return it after that.
//!   [`touch`](SessionStore::touch) moves `last_seen` forward without rewriting the data.
//! - **Indexes.** [`delete_by_sid`](SessionStore::delete_by_sid) and
//!   [`delete_by_subject`](SessionStore::delete_by_subject) serve back-channel logout, and
//!   must reach every instance's sessions.
//! - **Markers and leases.** [`consume_once`](SessionStore::consume_once) /
//!   [`is_consumed`](SessionStore::is_consumed) hold single-use markers with a TTL; the leases
//!   make one instance refresh a session at a time. Both are written only by callers that
//!   already passed a check (a code exchange, a verified token, a signed-in session), but keep
//!   them bounded anyway.
//! - **Records.** [`put_record`](SessionStore::put_record) keeps short-lived sealed values
//!   (redirect-less sign-ins in progress) with a TTL. Unauthenticated clients cause these
//!   writes: bound them, dropping the one that expires first rather than refusing.
//! - **At rest.** Sessions hold tokens: write [`SessionData::to_stored_json`] sealed with the
//!   [`SealingKey`] the engine hands over in [`use_sealing_key`](SessionStore::use_sealing_key),
//!   with the session id as context.
//!
//! Then run the shared store suite against it, as the memory store and Redis do: with the
//! feature `test-util`, `ping_oidc::store_suite!(make_store);` in your tests generates one
//! `#[tokio::test]` per case of [`crate::test_util::store_suite`]. A store that reads the wall
//! clock passes its expiry cases in real time (a few seconds of sleeping); one that can read a
//! [`TestClock`](crate::test_util::TestClock) returns a
//! [`Subject`](crate::test_util::store_suite::Subject) with a
//! [`SuiteTime`](crate::test_util::store_suite::SuiteTime) that moves it, and nothing sleeps.
//!
//! Writes are compare-and-set on a version: an instance never overwrites another instance's
//! newer tokens. Sliding the idle expiry ([`SessionStore::touch`]) never rewrites the tokens.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use crate::error::{StoreError, StoreErrorKind};
pub use crate::session::SessionData;

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreBuilder};

/// The key a store that keeps sessions outside this process seals them with, so that
/// read access to the backend (a Redis replica, a backup) yields no tokens. The engine hands
/// it to its store at start ([`SessionStore::use_sealing_key`]); it is derived from
/// `SESSION_KEY` with its own HKDF label, so every instance with that key can open what any
/// other sealed.
#[derive(Clone)]
pub struct SealingKey(pub(crate) Arc<ring::aead::LessSafeKey>);

impl SealingKey {
    /// AES-256-GCM with a random nonce, bound to `context` (for example the session id, so a
    /// sealed value cannot be moved to another key): base64url text.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Option<String> {
        crate::crypto::seal_with(&self.0, context, plaintext)
    }

    /// Opens what [`SealingKey::seal`] made with the same `context`; `None` if it was sealed
    /// under another key or context, or changed.
    pub fn open(&self, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
        crate::crypto::open_with(&self.0, context, sealed)
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

/// The future every store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A session as loaded: the data, its version for compare-and-set, and when it was last used.
#[derive(Clone, Debug)]
pub struct LoadedSession {
    /// The session.
    pub data: Arc<SessionData>,
    /// Its version, for the compare-and-set in [`SessionStore::update`] (1 when created).
    pub version: u64,
    /// Unix seconds of the last use (for the idle timeout).
    pub last_seen: i64,
}

/// The result of a compare-and-set save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveOutcome {
    /// Saved; this is the new version.
    Saved {
        /// The version now stored.
        version: u64,
    },
    /// The stored version was not the expected one (another writer won), or it is gone.
    Conflict,
}

/// Where sessions live. Implement it for another backend; run the shared store suite
/// (`ping_oidc::store_suite!`, feature `test-util`) against it.
///
/// Every method takes the session id the engine made (random, 43 base64url characters).
/// Expired sessions (absolute or idle) must not be returned by `load`.
pub trait SessionStore: Send + Sync + 'static {
    /// Called once by the engine at start with the key to seal sessions at rest. A store
    /// that keeps sessions outside this process should seal with it; the default ignores it
    /// (the memory store has nothing at rest).
    fn use_sealing_key(&self, _key: SealingKey) {}
    /// The session, unless missing or expired.
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LoadedSession>>;
    /// What `load` answers, for a store that knows it at once (the memory store): the engine
    /// asks this first on every guarded request and skips the future. `None`, the default,
    /// means "call `load`". `now` (unix seconds) is the engine's clock for this request, read
    /// once for the expiry check here and the engine's own checks.
    fn load_now(&self, _id: &str, _now: i64) -> Option<Result<Option<LoadedSession>, StoreError>> {
        None
    }
    /// Stores a new session at version 1, indexed by its `sid` and subject.
    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()>;
    /// Replaces the data when the stored version is `expected_version`.
    fn update<'a>(
        &'a self,
        id: &'a str,
        data: Arc<SessionData>,
        expected_version: u64,
    ) -> StoreFuture<'a, SaveOutcome>;
    /// Records a use at `now` (slides the idle expiry) without rewriting the data.
    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()>;
    /// Removes one session.
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()>;
    /// Removes every session with this provider session id; returns how many.
    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize>;
    /// Removes every session of this subject; returns how many.
    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize>;
    /// True the first time `key` is seen within `ttl` (single-use sign-in transactions,
    /// logout-token `jti`s), false after.
    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;
    /// True when `consume_once(key, …)` was called and its TTL has not run out. Changes
    /// nothing: the callback asks it before the code exchange, so that a refused request
    /// writes nothing.
    fn is_consumed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool>;
    /// Keeps `value` under `key` for `ttl`, replacing what was there: short-lived state such
    /// as a redirect-less sign-in in progress. The engine seals values before they get here
    /// and keeps each under 8 KiB. Unauthenticated clients cause these writes, so a store must
    /// bound them (the memory store holds at most 10,000 and drops the one that expires first;
    /// Redis keys expire with their TTL).
    fn put_record<'a>(&'a self, key: &'a str, value: &'a str, ttl: Duration)
        -> StoreFuture<'a, ()>;
    /// The record under `key`, unless missing or expired.
    fn get_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Removes the record under `key`.
    fn delete_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
    /// Takes the lease `key` for `owner` when free or already `owner`'s, for `ttl`.
    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;
    /// Gives the lease back if `owner` still holds it.
    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()>;
}

impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    fn use_sealing_key(&self, key: SealingKey) {
        (**self).use_sealing_key(key)
    }
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LoadedSession>> {
        (**self).load(id)
    }
    fn load_now(&self, id: &str, now: i64) -> Option<Result<Option<LoadedSession>, StoreError>> {
        (**self).load_now(id, now)
    }
    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        (**self).create(id, data, now)
    }
    fn update<'a>(
        &'a self,
        id: &'a str,
        data: Arc<SessionData>,
        expected_version: u64,
    ) -> StoreFuture<'a, SaveOutcome> {
        (**self).update(id, data, expected_version)
    }
    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        (**self).touch(id, now)
    }
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        (**self).delete(id)
    }
    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize> {
        (**self).delete_by_sid(sid)
    }
    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        (**self).delete_by_subject(subject)
    }
    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        (**self).consume_once(key, ttl)
    }
    fn is_consumed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        (**self).is_consumed(key)
    }
    fn put_record<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        (**self).put_record(key, value, ttl)
    }
    fn get_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        (**self).get_record(key)
    }
    fn delete_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        (**self).delete_record(key)
    }
    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        (**self).acquire_lease(key, owner, ttl)
    }
    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        (**self).release_lease(key, owner)
    }
}
