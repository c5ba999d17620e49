//! The Redis store (cargo feature `redis`): sessions shared by every instance of the app.
//!
//! The key layout and the guarantees are documented on [`RedisStore`].
//!
//! - `scripts.rs` and `lua/`: the Lua scripts;
//! - `cache.rs`: the sessions this instance decoded;
//! - this file: the store, its builder, its I/O thread and connections.

mod cache;
mod connection;
mod scripts;
mod sessions;

use cache::LocalCache;
use connection::{start_io_thread, store_error, Near, Via};
use scripts::Scripts;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::Client;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{LoadedSession, SaveOutcome, SessionStore, StoreError, StoreErrorKind, StoreFuture};
use crate::session::SessionData;

const DEFAULT_PREFIX: &str = "ping_oidc:";
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_LOCAL_CACHE: usize = 1024;

/// Sessions in Redis, shared by every instance of the app (cargo feature `redis`).
///
/// ```no_run
/// # async fn demo() -> Result<(), ping_oidc::StoreError> {
/// use std::time::Duration;
/// use ping_oidc::store::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// // or, with options:
/// let store = RedisStore::builder("redis://127.0.0.1:6379")
///     .key_prefix("myapp:oidc:")
///     .command_timeout(Duration::from_secs(1))
///     .connect()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
///
/// Semantics are the memory store's: versions start at 1 and `update` is a compare-and-set;
/// the key's TTL is the session's remaining lifetime (absolute or idle, whichever ends first),
/// which `touch` slides without rewriting the data; `delete_by_sid` and `delete_by_subject`
/// reach the sessions of every instance.
///
/// **Timeouts.** Every call, reconnecting and the retry below included, is bounded by the
/// command timeout (default 2 s): a Redis that is down or unreachable yields a
/// [`StoreError`] (a 503 for the request), never a hang.
///
/// **Reconnection.** The store holds one multiplexed connection. A call that finds it broken
/// starts a reconnect and fails; when the failure shows the command was not carried out
/// (connection refused), or the call is idempotent, it is tried once more on the new
/// connection within the same timeout. A call that times out replaces the connection (it may
/// be a half-open TCP connection that would otherwise stay stuck). Once Redis is back, calls
/// succeed again without restarting the app.
///
/// **Runtimes.** The store's main connection lives on its own I/O thread (a small
/// current-thread Tokio runtime started by `connect` and shared by all clones; it stops when
/// the last clone is dropped). Writes, scripts and leases are handed to it, so the store is
/// `Clone + Send + Sync` and works from any number of runtimes at once (actix-web's one
/// current-thread runtime per worker, tests' runtimes), and keeps working when the runtime
/// that called `connect` has stopped.
///
/// Loads, one per guarded request, would pay two thread hand-overs that way. So each calling
/// runtime (up to 64) also gets a connection of its own, connected in the background on
/// first use and driven by that runtime; loads go through it, with no other thread involved.
/// On a multi-threaded runtime, the reads its requests start at about the same time are
/// written together, as one pipeline: one system call for all of them rather than one each.
/// If it fails, or its runtime has stopped, the load is repeated on the I/O thread (a read
/// is safe to repeat) and the runtime uses the I/O thread alone for a second before
/// connecting again. Like the engine's own timeouts, this needs the calling runtime's timer
/// (`enable_time`, on in `#[tokio::main]` and actix-web).
///
/// **Local cache.** Decoding a session (tokens and claims, a few KB of JSON) costs more
/// than reading it. The store keeps the sessions it decoded or wrote recently (up to
/// [`RedisStoreBuilder::local_cache_capacity`], default 1,024) with their version, and for
/// those asks Redis only for the version and the last use (`HMGET v ls`, a few bytes). Redis
/// still answers every load: a session deleted (sign-out, back-channel logout) or changed
/// (a refresh) by any instance is seen at once, and the idle and absolute lifetimes are
/// checked as before. A version that differs from the cached one reads the whole session.
///
/// **At rest.** Sessions hold tokens, so each is sealed (AES-256-GCM) with a key the engine
/// derives from `SESSION_KEY` and hands to the store at start, bound to the session id:
/// read access to Redis (a replica, a backup) yields no token. Values written in plaintext by
/// earlier versions still load. Protect Redis anyway (network access, an ACL user with a
/// password); `rediss://` connects over TLS (rustls), and
/// [`RedisStoreBuilder::tls_root_certificates`] trusts a private CA.
///
/// # Keys
///
/// Every key starts with the prefix (default `ping_oidc:`):
///
/// | key | type | holds | TTL |
/// |---|---|---|---|
/// | `<prefix>s:<session id>` | hash | `d` (the session as sealed JSON), `v` (version), `ls` (last use, unix s), `exp`, `idle`, `sub`, `sid` | the session's remaining lifetime: `min(exp, ls + idle) - now` |
/// | `<prefix>sid:<sid>` | set | ids of the sessions with this provider `sid` | at least the longest of its sessions' |
/// | `<prefix>sub:<subject>` | set | ids of the subject's sessions | at least the longest of its sessions' |
/// | `<prefix>once:<key>` | string | `1` | the `consume_once` TTL |
/// | `<prefix>lease:<key>` | string | the owner | the lease TTL |
/// | `<prefix>rec:<key>` | string | a sealed record (a sign-in flow in progress) | the record's TTL |
/// | `<prefix>recs` | sorted set | record keys by expiry (ms): at most `max_records` are kept, the first to expire goes | the longest record's TTL |
///
/// Every write that reads first (compare-and-set, touch, delete, leases) is one Lua script,
/// so it is atomic. Index sets may keep ids of sessions that expired; they are dropped when
/// the set is next scanned (`delete_by_*`, or every 16th session added to a set), and a set
/// expires with its last session.
///
/// The scripts build the index keys from the prefix, so the store needs one Redis node (a
/// standalone server, or the primary of a replicated setup); Redis Cluster is not supported.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// The I/O thread's runtime.
    io: Handle,
    /// Dropped with the last clone of the store: the I/O thread then ends.
    _stop: oneshot::Sender<()>,
}

/// What the tasks on the I/O thread use.
struct Shared {
    client: Client,
    config: ConnectionManagerConfig,
    /// The connection and its generation (bumped when a stuck connection is replaced).
    connection: Mutex<(u64, ConnectionManager)>,
    prefix: String,
    timeout: Duration,
    scripts: Scripts,
    cache: LocalCache,
    near: Mutex<Vec<(tokio::runtime::Id, Near)>>,
    /// Set by the engine at start: sessions are sealed with it (see "At rest").
    sealing: std::sync::OnceLock<super::SealingKey>,
    /// Whether unsealed (older) session values load.
    accept_plaintext: bool,
    max_records: u64,
    /// The time the store's deadlines are computed in (a test clock with `test-util`).
    clock: crate::time::Clock,
}

/// Records kept at most by default, across instances.
const DEFAULT_MAX_RECORDS: u64 = 20_000;

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.inner.shared;
        f.debug_struct("RedisStore")
            .field("prefix", &shared.prefix)
            .field("timeout", &shared.timeout)
            .finish_non_exhaustive()
    }
}

/// Options for a [`RedisStore`]: key prefix and command timeout.
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    local_cache: usize,
    tls_root_certificates: Option<Vec<u8>>,
    accept_plaintext_sessions: bool,
    max_records: u64,
    clock: crate::time::Clock,
}

impl fmt::Debug for RedisStoreBuilder {
    // The URL may hold a password: left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Prefix of every key (default `ping_oidc:`). Give each app sharing a Redis its own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many sessions this instance keeps decoded between requests (default
    /// 1,024; 0 turns it off). See "Local cache" on [`RedisStore`].
    pub fn local_cache_capacity(mut self, sessions: usize) -> Self {
        self.local_cache = sessions;
        self
    }

    /// Longest time one store call may take, connecting included (default 2 s). After it the
    /// call fails with a [`StoreError`]. Zero is raised to one millisecond.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Whether sessions written in plaintext (by versions before sealing) still load (default
    /// `true`, so an upgrade signs nobody out). Turn it off once every session has been
    /// rewritten sealed (sessions live at most `absolute_lifetime`): until then, anyone who
    /// can *write* to Redis can plant a plaintext session, as before sealing existed.
    pub fn accept_plaintext_sessions(mut self, accept: bool) -> Self {
        self.accept_plaintext_sessions = accept;
        self
    }

    /// Records (redirect-less sign-ins in progress) kept at most, across every instance
    /// (default 20,000, each at most about 6 KiB). Past it, the one expiring first goes.
    pub fn max_records(mut self, records: u64) -> Self {
        self.max_records = records.max(1);
        self
    }

    /// Reads the time from `clock`. Redis still expires keys on its own clock, so a test that
    /// moves `clock` moves the keys' TTLs with it: [`RedisStore::advance_time`].
    #[cfg(feature = "test-util")]
    pub fn clock(mut self, clock: crate::test_util::TestClock) -> Self {
        self.clock = crate::time::Clock::test(clock);
        self
    }

    /// For a `rediss://` URL: trust these CA certificates (PEM) instead of the system's, for
    /// a Redis whose certificate a private CA signed. TLS is rustls with `ring`.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificates = Some(pem.into());
        self
    }

    /// Connects now: fails when the URL is invalid or Redis cannot be reached within the
    /// command timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client()?;
        let (io, stop) = start_io_thread()?;
        let timeout = self.timeout;
        let connecting = {
            let (client, config) = (client.clone(), config.clone());
            io.spawn(async move {
                tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                    .await
            })
        };
        let connection = match connecting.await {
            Ok(Ok(Ok(connection))) => connection,
            Ok(Ok(Err(error))) => return Err(store_error(&error)),
            Ok(Err(_)) => {
                return Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    "redis: connecting timed out",
                ))
            }
            Err(_) => {
                return Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    "redis: the I/O thread stopped",
                ))
            }
        };
        Ok(self.finish(client, config, connection, io, stop))
    }

    /// Returns at once and connects on first use, so the app can start while Redis is down
    /// (calls fail with [`StoreError`] until it is up). Fails only for an invalid URL, or
    /// when the I/O thread cannot be started.
    pub fn connect_lazy(self) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client()?;
        let (io, stop) = start_io_thread()?;
        let connection = {
            let _io = io.enter();
            ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                .map_err(|e| store_error(&e))?
        };
        Ok(self.finish(client, config, connection, io, stop))
    }

    fn client(&self) -> Result<(Client, ConnectionManagerConfig), StoreError> {
        let client = match &self.tls_root_certificates {
            Some(pem) if self.url.starts_with("rediss://") => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                };
                Client::build_with_tls(self.url.as_str(), certificates).map_err(|_| {
                    StoreError::new(
                        StoreErrorKind::Config,
                        "redis: invalid URL or TLS root certificates",
                    )
                })?
            }
            _ => Client::open(self.url.as_str())
                .map_err(|_| StoreError::new(StoreErrorKind::Config, "redis: invalid URL"))?,
        };
        // Fail fast while Redis is down: one quick retry per reconnect; the command timeout
        // bounds everything anyway.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250))
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        Ok((client, config))
    }

    fn finish(
        self,
        client: Client,
        config: ConnectionManagerConfig,
        connection: ConnectionManager,
        io: Handle,
        stop: oneshot::Sender<()>,
    ) -> RedisStore {
        let shared = Shared {
            client,
            config,
            connection: Mutex::new((0, connection)),
            prefix: self.prefix,
            timeout: self.timeout,
            scripts: Scripts::new(),
            cache: LocalCache::new(self.local_cache),
            near: Mutex::new(Vec::new()),
            sealing: std::sync::OnceLock::new(),
            accept_plaintext: self.accept_plaintext_sessions,
            max_records: self.max_records,
            clock: self.clock,
        };
        RedisStore {
            inner: Arc::new(Inner {
                shared: Arc::new(shared),
                io,
                _stop: stop,
            }),
        }
    }
}

impl RedisStore {
    /// Connects with the default options (key prefix `ping_oidc:`, command timeout 2 s).
    /// The URL is `redis://[user:password@]host[:port][/db]` (or `redis+unix://`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Options, then [`RedisStoreBuilder::connect`].
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.to_string(),
            prefix: DEFAULT_PREFIX.to_string(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
            local_cache: DEFAULT_LOCAL_CACHE,
            tls_root_certificates: None,
            accept_plaintext_sessions: true,
            max_records: DEFAULT_MAX_RECORDS,
            clock: crate::time::Clock::default(),
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.shared.prefix
    }

    /// The store's clock, in unix milliseconds (the store suite's time).
    #[cfg(feature = "test-util")]
    pub(crate) fn suite_clock_millis(&self) -> i64 {
        self.inner.shared.clock.now_millis()
    }

    /// Tests only: makes `by` pass for a store whose builder was given a
    /// [`TestClock`](crate::test_util::TestClock) ([`RedisStoreBuilder::clock`]). Every key
    /// under the prefix has its TTL shortened by `by` (one left with none is deleted, as Redis
    /// would have expired it), then the clock moves forward. Redis expires keys on its own
    /// clock, which nothing can move: this is how the store suite tests expiry without
    /// sleeping. One atomic script scans the whole keyspace (Redis 5 or later): for test
    /// databases only.
    #[cfg(feature = "test-util")]
    pub async fn advance_time(&self, by: Duration) -> Result<(), StoreError> {
        // An empty prefix would move the TTLs of every key in the database.
        if self.inner.shared.prefix.is_empty() {
            return Err(StoreError::new(
                StoreErrorKind::Config,
                "advance_time needs a key prefix",
            ));
        }
        let Some(clock) = self.inner.shared.clock.test_clock().cloned() else {
            return Err(StoreError::new(
                StoreErrorKind::Config,
                "advance_time needs a store built with RedisStoreBuilder::clock",
            ));
        };
        self.on_io(move |s| async move { s.advance_time(by).await })
            .await?;
        clock.advance(by);
        Ok(())
    }
}

impl SessionStore for RedisStore {
    fn use_sealing_key(&self, key: super::SealingKey) {
        if self.inner.shared.sealing.set(key).is_err() {
            tracing::debug!("this RedisStore already has a sealing key; keeping the first");
        }
    }

    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LoadedSession>> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            if let Some((runtime, connection)) = shared.near_connection() {
                let near = Via::Near(connection);
                match tokio::time::timeout(shared.timeout, shared.load(id, &near)).await {
                    Ok(Ok(found)) => return Ok(found),
                    // Failed at once (a dropped connection, a stopped runtime): the I/O
                    // thread's connection, which reconnects by itself, tries within its own
                    // timeout; a read is safe to repeat.
                    Ok(Err(_)) => shared.near_failed(runtime),
                    Err(_) => {
                        shared.near_failed(runtime);
                        return Err(StoreError::new(StoreErrorKind::Timeout, "redis: timed out"));
                    }
                }
            }
            let id = id.to_owned();
            self.on_io(move |s| async move { s.load(&id, &Via::Io).await })
                .await
        })
    }

    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        let id = id.to_owned();
        Box::pin(self.on_io(move |s| async move { s.create(&id, data, now).await }))
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        data: Arc<SessionData>,
        expected_version: u64,
    ) -> StoreFuture<'a, SaveOutcome> {
        let id = id.to_owned();
        Box::pin(self.on_io(move |s| async move { s.update(&id, data, expected_version).await }))
    }

    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        let id = id.to_owned();
        Box::pin(self.on_io(move |s| async move { s.touch(&id, now).await }))
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        let id = id.to_owned();
        Box::pin(self.on_io(move |s| async move { s.delete(&id).await }))
    }

    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize> {
        let sid = sid.to_owned();
        Box::pin(self.on_io(move |s| async move { s.delete_indexed("sid:", &sid).await }))
    }

    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        let subject = subject.to_owned();
        Box::pin(self.on_io(move |s| async move { s.delete_indexed("sub:", &subject).await }))
    }

    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let key = key.to_owned();
        Box::pin(self.on_io(move |s| async move { s.consume_once(&key, ttl).await }))
    }

    fn is_consumed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let key = key.to_owned();
        Box::pin(self.on_io(move |s| async move { s.is_consumed(&key).await }))
    }

    fn put_record<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        Box::pin(self.on_io(move |s| async move { s.put_record(&key, &value, ttl).await }))
    }

    fn get_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let key = key.to_owned();
        Box::pin(self.on_io(move |s| async move { s.get_record(&key).await }))
    }

    fn delete_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        Box::pin(self.on_io(move |s| async move { s.delete_record(&key).await }))
    }

    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let (key, owner) = (key.to_owned(), owner.to_owned());
        Box::pin(self.on_io(move |s| async move { s.acquire_lease(&key, &owner, ttl).await }))
    }

    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        let (key, owner) = (key.to_owned(), owner.to_owned());
        Box::pin(self.on_io(move |s| async move { s.release_lease(&key, &owner).await }))
    }
}

#[cfg(test)]
mod tests {
    use ::redis::{ErrorKind, RedisError};

    use super::connection::{may_retry, Retry};
    use super::sessions::millis;
    use super::*;

    #[test]
    fn errors_name_the_category_only() {
        let error = RedisError::from((
            ErrorKind::Client,
            "bad",
            "session abc123 token xyz".to_string(),
        ));
        let message = store_error(&error).message().to_string();
        assert!(message.starts_with("redis: "), "{message}");
        assert!(
            !message.contains("abc123") && !message.contains("xyz"),
            "{message}"
        );

        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(store_error(&refused).message(), "redis: connection refused");
        assert!(may_retry(&refused, Retry::IfNotSent));

        let dropped = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(store_error(&dropped).message(), "redis: connection lost");
        assert!(may_retry(&dropped, Retry::Idempotent));
        assert!(!may_retry(&dropped, Retry::IfNotSent));
    }

    #[test]
    fn ttls_are_whole_positive_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(3)), 3000);
    }

    #[tokio::test]
    async fn invalid_url_is_a_store_error_without_the_url() {
        let error = RedisStore::connect("nope://user:hunter2@host").await.err();
        let message = error.map(|e| e.message().to_string()).unwrap_or_default();
        assert_eq!(message, "redis: invalid URL");
    }

    #[test]
    fn debug_leaves_the_url_out() {
        let builder = RedisStore::builder("redis://user:hunter2@127.0.0.1/").key_prefix("p:");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }
}
