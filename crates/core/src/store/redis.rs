//! The Redis store (cargo feature `redis`): sessions shared by every instance of the app.
//!
//! The key layout and the guarantees are documented on [`RedisStore`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use ::redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, FromRedisValue, RedisError, Script,
    ScriptInvocation, Value,
};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{LoadedSession, SaveOutcome, SessionStore, StoreError, StoreFuture};
use crate::session::SessionData;
use crate::slot_table::SlotTable;
use crate::time::now_unix;

const DEFAULT_PREFIX: &str = "ping_oidc:";
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_LOCAL_CACHE: usize = 1024;

/// Helpers shared by the scripts (prepended to each).
/// Numbers go to Redis as integer strings (`ms`), never in Lua's float notation.
const LUA_COMMON: &str = r#"
local function ms(x) return string.format('%d', x) end
local function extend(k, ttl)
  local cur = redis.call('PTTL', k)
  if cur == -1 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', k, ms(ttl))
  end
end
local function index(prefix, k, id, ttl)
  redis.call('SADD', k, id)
  extend(k, ttl)
  local n = redis.call('SCARD', k)
  if n >= 16 and n % 16 == 0 then
    for _, other in ipairs(redis.call('SMEMBERS', k)) do
      if redis.call('EXISTS', prefix .. 's:' .. other) == 0 then
        redis.call('SREM', k, other)
      end
    end
  end
end
local function unindex(prefix, key, id)
  local f = redis.call('HMGET', key, 'sub', 'sid')
  if f[1] then redis.call('SREM', prefix .. 'sub:' .. f[1], id) end
  if f[2] then redis.call('SREM', prefix .. 'sid:' .. f[2], id) end
end
"#;

/// KEYS: session. ARGV: prefix, id, data, last_seen, exp, idle, ttl_ms, sub, has_sid, sid.
const LUA_CREATE: &str = r#"
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
unindex(prefix, key, id)
redis.call('DEL', key)
local ttl = tonumber(ARGV[7])
if ttl <= 0 then return 0 end
redis.call('HSET', key, 'd', ARGV[3], 'v', '1', 'ls', ARGV[4], 'exp', ARGV[5], 'idle', ARGV[6], 'sub', ARGV[8])
if ARGV[9] == '1' then redis.call('HSET', key, 'sid', ARGV[10]) end
redis.call('PEXPIRE', key, ms(ttl))
index(prefix, prefix .. 'sub:' .. ARGV[8], id, ttl)
if ARGV[9] == '1' then index(prefix, prefix .. 'sid:' .. ARGV[10], id, ttl) end
return 1
"#;

/// KEYS: session. ARGV: prefix, id, expected version, data, exp, idle, sub, has_sid, sid, now_ms.
/// Returns the new version, or 0 on conflict.
const LUA_UPDATE: &str = r#"
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
local cur = redis.call('HMGET', key, 'v', 'ls')
if not cur[1] or not cur[2] or cur[1] ~= ARGV[3] then return 0 end
local deadline = math.min(tonumber(ARGV[5]), tonumber(cur[2]) + tonumber(ARGV[6]))
local ttl = deadline * 1000 - tonumber(ARGV[10])
unindex(prefix, key, id)
if ttl <= 0 then
  redis.call('DEL', key)
  return 0
end
local version = redis.call('HINCRBY', key, 'v', 1)
redis.call('HSET', key, 'd', ARGV[4], 'exp', ARGV[5], 'idle', ARGV[6], 'sub', ARGV[7])
if ARGV[8] == '1' then
  redis.call('HSET', key, 'sid', ARGV[9])
else
  redis.call('HDEL', key, 'sid')
end
redis.call('PEXPIRE', key, ms(ttl))
index(prefix, prefix .. 'sub:' .. ARGV[7], id, ttl)
if ARGV[8] == '1' then index(prefix, prefix .. 'sid:' .. ARGV[9], id, ttl) end
return version
"#;

/// KEYS: session. ARGV: prefix, id, now (s), now_ms. Writes `ls` and the TTLs only.
const LUA_TOUCH: &str = r#"
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
local f = redis.call('HMGET', key, 'ls', 'exp', 'idle', 'sub', 'sid')
if not f[1] or not f[2] or not f[3] then return 0 end
local ls = math.max(tonumber(f[1]), tonumber(ARGV[3]))
local deadline = math.min(tonumber(f[2]), ls + tonumber(f[3]))
local ttl = deadline * 1000 - tonumber(ARGV[4])
if ttl <= 0 then
  unindex(prefix, key, id)
  redis.call('DEL', key)
  return 0
end
redis.call('HSET', key, 'ls', ms(ls))
redis.call('PEXPIRE', key, ms(ttl))
if f[4] then extend(prefix .. 'sub:' .. f[4], ttl) end
if f[5] then extend(prefix .. 'sid:' .. f[5], ttl) end
return 1
"#;

/// KEYS: session. ARGV: prefix, id.
const LUA_DELETE: &str = r#"
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
unindex(prefix, key, id)
return redis.call('DEL', key)
"#;

/// KEYS: index set. ARGV: prefix. Deletes every session in the set; returns how many existed.
const LUA_DELETE_INDEXED: &str = r#"
local set, prefix = KEYS[1], ARGV[1]
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local key = prefix .. 's:' .. id
  unindex(prefix, key, id)
  n = n + redis.call('DEL', key)
  redis.call('SREM', set, id)
end
return n
"#;

/// KEYS: lease. ARGV: owner, ttl_ms.
const LUA_ACQUIRE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// KEYS: lease. ARGV: owner.
const LUA_RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

struct Scripts {
    create: Script,
    update: Script,
    touch: Script,
    delete: Script,
    delete_indexed: Script,
    acquire: Script,
    release: Script,
}

impl Scripts {
    fn new() -> Self {
        let with_common = |body: &str| Script::new(&format!("{LUA_COMMON}{body}"));
        Self {
            create: with_common(LUA_CREATE),
            update: with_common(LUA_UPDATE),
            touch: with_common(LUA_TOUCH),
            delete: with_common(LUA_DELETE),
            delete_indexed: with_common(LUA_DELETE_INDEXED),
            acquire: Script::new(LUA_ACQUIRE),
            release: Script::new(LUA_RELEASE),
        }
    }
}

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
/// Sessions hold tokens: protect Redis (network access, ACL user with a password). TLS
/// connections (`rediss://`) are not enabled by this crate's feature set.
///
/// # Keys
///
/// Every key starts with the prefix (default `ping_oidc:`):
///
/// | key | type | holds | TTL |
/// |---|---|---|---|
/// | `<prefix>s:<session id>` | hash | `d` (the session as JSON), `v` (version), `ls` (last use, unix s), `exp`, `idle`, `sub`, `sid` | the session's remaining lifetime: `min(exp, ls + idle) - now` |
/// | `<prefix>sid:<sid>` | set | ids of the sessions with this provider `sid` | at least the longest of its sessions' |
/// | `<prefix>sub:<subject>` | set | ids of the subject's sessions | at least the longest of its sessions' |
/// | `<prefix>once:<key>` | string | `1` | the `consume_once` TTL |
/// | `<prefix>lease:<key>` | string | the owner | the lease TTL |
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
}

/// A caller runtime's own connection, for loads (see "Runtimes" on [`RedisStore`]).
enum Near {
    Ready(Arc<NearConnection>),
    Connecting,
    /// Connecting failed, or the connection did: the I/O thread serves until then.
    RetryAfter(Instant),
}

/// Runtimes with a connection of their own, at most.
const MAX_NEAR: usize = 64;
/// How long after a failure the I/O thread serves a runtime's loads alone.
const NEAR_RETRY: Duration = Duration::from_secs(1);

/// Where a load's commands go.
enum Via {
    Io,
    Near(Arc<NearConnection>),
}

/// A caller runtime's own connection. On a multi-threaded runtime, reads its requests queued
/// since the last flush go out together, one write for all: that scheduler runs a task woken
/// by the running one next (its "LIFO slot"), so the connection's own task would write each
/// request's command on its own, one system call per guarded request. A current-thread
/// runtime (actix-web's workers) runs the connection's task after the requests already
/// queued, which batches their commands by itself: there reads go straight to the connection.
struct NearConnection {
    connection: MultiplexedConnection,
    /// The runtime the connection belongs to; flushes run on it.
    runtime: Handle,
    queued: Mutex<Vec<QueuedRead>>,
}

struct QueuedRead {
    command: Cmd,
    reply: oneshot::Sender<Result<Value, RedisError>>,
}

impl NearConnection {
    fn new(connection: MultiplexedConnection, runtime: Handle) -> Self {
        Self {
            connection,
            runtime,
            queued: Mutex::new(Vec::new()),
        }
    }

    fn batched(&self) -> bool {
        self.runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    }

    /// One read. Batched: queued, and the first read queued since the last flush spawns the
    /// next flush on the connection's runtime (a task of its own, so that no request's
    /// cancellation strands the others' reads; if that runtime has stopped, the reads fail
    /// and are repeated on the I/O thread).
    async fn read(self: &Arc<Self>, command: Cmd) -> Result<Value, RedisError> {
        if !self.batched() {
            let value = self
                .connection
                .clone()
                .send_packed_command(&command)
                .await?;
            return value.extract_error();
        }
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
            queued.push(QueuedRead { command, reply });
            queued.len() == 1
        };
        if first {
            let near = Arc::clone(self);
            self.runtime.spawn(async move { near.flush().await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(RedisError::from((
                ErrorKind::Io,
                "the batched read was dropped",
            )))
        })
    }

    /// Sends every queued read as one pipeline and hands each its reply.
    async fn flush(&self) {
        // Requests this runtime is about to run queue their reads first.
        tokio::task::yield_now().await;
        let queued = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        let mut pipeline = ::redis::pipe();
        let mut replies = Vec::with_capacity(queued.len());
        for read in queued {
            pipeline.add_command(read.command);
            replies.push(read.reply);
        }
        let count = replies.len();
        match self
            .connection
            .clone()
            .send_packed_commands(&pipeline, 0, count)
            .await
        {
            Ok(values) => {
                // A missing value drops its reply: that read fails (and is repeated on the
                // I/O thread).
                for (reply, value) in replies.into_iter().zip(values) {
                    let _ = reply.send(value.extract_error());
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

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
            Ok(Err(_)) => return Err(StoreError("redis: connecting timed out".into())),
            Err(_) => return Err(StoreError("redis: the I/O thread stopped".into())),
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
                Client::build_with_tls(self.url.as_str(), certificates)
                    .map_err(|_| StoreError("redis: invalid URL or TLS root certificates".into()))?
            }
            _ => Client::open(self.url.as_str())
                .map_err(|_| StoreError("redis: invalid URL".into()))?,
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

/// Starts the store's I/O thread: a current-thread runtime running until `stop` is dropped.
fn start_io_thread() -> Result<(Handle, oneshot::Sender<()>), StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|_| StoreError("redis: could not start the I/O runtime".into()))?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("ping-oidc-redis".into())
        .spawn(move || {
            // Drives the connection's tasks until the last store clone is dropped.
            let _ = runtime.block_on(stopped);
        })
        .map_err(|_| StoreError("redis: could not start the I/O thread".into()))?;
    Ok((handle, stop))
}

/// One request, run once or twice by [`Shared::run`].
enum Request<'a> {
    Command(Cmd),
    Script(ScriptInvocation<'a>),
}

/// Whether a request may run again after a connection failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Running it twice has the effect of running it once.
    Idempotent,
    /// Only when the first attempt certainly did not reach Redis.
    IfNotSent,
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
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.shared.prefix
    }

    /// Runs `work` on the I/O thread.
    async fn on_io<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.inner.io.spawn(work(Arc::clone(&self.inner.shared)));
        match task.await {
            Ok(result) => result,
            Err(_) => Err(StoreError("redis: the I/O thread stopped".into())),
        }
    }
}

impl Shared {
    fn key(&self, kind: &str, name: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push_str(name);
        key
    }

    fn connection(&self) -> (u64, ConnectionManager) {
        let current = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        (current.0, current.1.clone())
    }

    /// The calling runtime's own connection, when it has one. Otherwise starts connecting it
    /// in the background (on that runtime, which then drives it) and answers `None`: this
    /// call goes through the I/O thread.
    fn near_connection(self: &Arc<Self>) -> Option<(tokio::runtime::Id, Arc<NearConnection>)> {
        let runtime = Handle::try_current().ok()?;
        let id = runtime.id();
        {
            let mut near = self.near.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match near.iter_mut().find(|(runtime, _)| *runtime == id) {
                Some((_, Near::Ready(near))) => return Some((id, Arc::clone(near))),
                Some((_, state)) => match state {
                    Near::RetryAfter(at) if now >= *at => *state = Near::Connecting,
                    _ => return None,
                },
                None => {
                    // Runtimes that stopped leave entries behind: drop failed ones first.
                    if near.len() >= MAX_NEAR {
                        near.retain(|(_, state)| !matches!(state, Near::RetryAfter(_)));
                    }
                    if near.len() >= MAX_NEAR {
                        return None;
                    }
                    near.push((id, Near::Connecting));
                }
            }
        }
        let shared = Arc::clone(self);
        let handle = runtime.clone();
        runtime.spawn(async move {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(shared.timeout))
                .set_response_timeout(Some(shared.timeout));
            let connecting = shared
                .client
                .get_multiplexed_async_connection_with_config(&config);
            let state = match tokio::time::timeout(shared.timeout, connecting).await {
                Ok(Ok(connection)) => {
                    Near::Ready(Arc::new(NearConnection::new(connection, handle)))
                }
                _ => Near::RetryAfter(Instant::now() + NEAR_RETRY),
            };
            shared.set_near(id, state);
        });
        None
    }

    fn set_near(&self, runtime: tokio::runtime::Id, state: Near) {
        let mut near = self.near.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = near.iter_mut().find(|(id, _)| *id == runtime) {
            *slot = state;
        }
    }

    /// Drops a runtime's own connection after a failure; the I/O thread serves it for a while.
    fn near_failed(&self, runtime: tokio::runtime::Id) {
        self.set_near(runtime, Near::RetryAfter(Instant::now() + NEAR_RETRY));
    }

    /// Replaces a connection that timed out (unless another call already did).
    fn replace_connection(&self, generation: u64) {
        let mut current = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if current.0 != generation {
            return;
        }
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(fresh) => *current = (generation + 1, fresh),
            Err(error) => {
                tracing::warn!(error = %store_error(&error), "could not replace the Redis connection")
            }
        }
    }

    /// Runs a request within the command timeout, once more after a connection failure
    /// when `retry` allows. A timeout replaces the connection.
    async fn run<T: FromRedisValue + Send>(
        &self,
        request: Request<'_>,
        retry: Retry,
    ) -> Result<T, StoreError> {
        let (generation, connection) = self.connection();
        let attempts = async {
            let first = attempt(connection.clone(), &request).await;
            match first {
                Err(error) if may_retry(&error, retry) => attempt(connection, &request).await,
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if error.is_timeout() {
                    self.replace_connection(generation);
                }
                Err(store_error(&error))
            }
            Err(_) => {
                self.replace_connection(generation);
                Err(StoreError("redis: timed out".into()))
            }
        }
    }

    /// One read-only command for `load`.
    async fn query<T: FromRedisValue + Send>(
        &self,
        via: &Via,
        command: Cmd,
    ) -> Result<T, StoreError> {
        match via {
            Via::Io => self.run(Request::Command(command), Retry::Idempotent).await,
            Via::Near(near) => {
                let value = near.read(command).await.map_err(|e| store_error(&e))?;
                T::from_redis_value(value).map_err(|e| store_error(&RedisError::from(e)))
            }
        }
    }

    async fn load(&self, id: &str, via: &Via) -> Result<Option<LoadedSession>, StoreError> {
        let key = self.key("s:", id);
        if let Some((cached_version, data)) = self.cache.get(id) {
            // Redis still decides: the session must exist, at this version, and not be idle
            // for too long. Only the decoding is saved.
            let mut command = Cmd::new();
            command.arg("HMGET").arg(&key).arg("v").arg("ls");
            let (version, last_seen): (Option<u64>, Option<i64>) = self.query(via, command).await?;
            match (version, last_seen) {
                (Some(version), Some(last_seen)) if version == cached_version => {
                    return Ok(unexpired(data, version, last_seen));
                }
                (Some(_), Some(_)) => {} // changed by another instance: read it again
                _ => {
                    self.cache.remove(id);
                    return Ok(None);
                }
            }
        }
        let mut command = Cmd::new();
        command.arg("HMGET").arg(&key).arg("d").arg("v").arg("ls");
        let (data, version, last_seen): (Option<String>, Option<u64>, Option<i64>) =
            self.query(via, command).await?;
        let (Some(data), Some(version), Some(last_seen)) = (data, version, last_seen) else {
            self.cache.remove(id);
            return Ok(None);
        };
        let Some(data) = self.decode(id, &data) else {
            tracing::warn!("a stored session could not be read (another SESSION_KEY, or changed); treating it as signed out");
            return Ok(None);
        };
        let data = Arc::new(data);
        self.cache.put(id, version, Arc::clone(&data));
        Ok(unexpired(data, version, last_seen))
    }

    async fn create(&self, id: &str, data: Arc<SessionData>, now: i64) -> Result<(), StoreError> {
        self.cache.remove(id);
        let json = self.encode(id, &data)?;
        let ttl = data
            .deadline(now)
            .saturating_mul(1000)
            .saturating_sub(now_millis());
        let mut invocation = self.scripts.create.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&self.prefix)
            .arg(id)
            .arg(json)
            .arg(now)
            .arg(data.expires_at)
            .arg(data.idle_timeout)
            .arg(ttl)
            .arg(&*data.subject)
            .arg(if data.sid.is_some() { "1" } else { "0" })
            .arg(data.sid.as_deref().unwrap_or(""));
        let created: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        if created == 1 {
            self.cache.put(id, 1, data);
        }
        Ok(())
    }

    async fn update(
        &self,
        id: &str,
        data: Arc<SessionData>,
        expected: u64,
    ) -> Result<SaveOutcome, StoreError> {
        self.cache.remove(id);
        let json = self.encode(id, &data)?;
        let mut invocation = self.scripts.update.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&self.prefix)
            .arg(id)
            .arg(expected)
            .arg(json)
            .arg(data.expires_at)
            .arg(data.idle_timeout)
            .arg(&*data.subject)
            .arg(if data.sid.is_some() { "1" } else { "0" })
            .arg(data.sid.as_deref().unwrap_or(""))
            .arg(now_millis());
        let version: u64 = self
            .run(Request::Script(invocation), Retry::IfNotSent)
            .await?;
        Ok(match version {
            0 => SaveOutcome::Conflict,
            version => {
                self.cache.put(id, version, data);
                SaveOutcome::Saved { version }
            }
        })
    }

    async fn touch(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let mut invocation = self.scripts.touch.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&self.prefix)
            .arg(id)
            .arg(now)
            .arg(now_millis());
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.cache.remove(id);
        let mut invocation = self.scripts.delete.prepare_invoke();
        invocation.key(self.key("s:", id)).arg(&self.prefix).arg(id);
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    async fn delete_indexed(&self, kind: &str, name: &str) -> Result<usize, StoreError> {
        let mut invocation = self.scripts.delete_indexed.prepare_invoke();
        invocation.key(self.key(kind, name)).arg(&self.prefix);
        let count: u64 = self
            .run(Request::Script(invocation), Retry::IfNotSent)
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    async fn consume_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut command = Cmd::new();
        command
            .arg("SET")
            .arg(self.key("once:", key))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let set: Option<String> = self
            .run(Request::Command(command), Retry::IfNotSent)
            .await?;
        Ok(set.is_some())
    }

    async fn is_consumed(&self, key: &str) -> Result<bool, StoreError> {
        let mut command = Cmd::new();
        command.arg("EXISTS").arg(self.key("once:", key));
        let count: u64 = self
            .run(Request::Command(command), Retry::IfNotSent)
            .await?;
        Ok(count > 0)
    }

    async fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.acquire.prepare_invoke();
        invocation
            .key(self.key("lease:", key))
            .arg(owner)
            .arg(millis(ttl));
        // Taking a lease twice for the same owner is the same as taking it once.
        let taken: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(taken == 1)
    }

    async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let mut invocation = self.scripts.release.prepare_invoke();
        invocation.key(self.key("lease:", key)).arg(owner);
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }
}

async fn attempt<T: FromRedisValue>(
    mut connection: ConnectionManager,
    request: &Request<'_>,
) -> Result<T, RedisError> {
    match request {
        Request::Command(command) => command.query_async(&mut connection).await,
        Request::Script(invocation) => invocation.invoke_async(&mut connection).await,
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
                        return Err(StoreError("redis: timed out".into()));
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

/// The session, unless its idle or absolute lifetime is over.
fn unexpired(data: Arc<SessionData>, version: u64, last_seen: i64) -> Option<LoadedSession> {
    (now_unix() < data.deadline(last_seen)).then_some(LoadedSession {
        data,
        version,
        last_seen,
    })
}

/// Sessions this instance decoded, by id, with the version they were decoded at.
///
/// Direct-mapped ([`SlotTable`]): each id has one slot, and a newer session in the slot
/// replaces the older. An entry is used only when Redis answers that the session still
/// exists at that version, so a session changed or deleted elsewhere is never served from
/// here. Versions only grow, and the engine never reuses a session id.
struct LocalCache {
    sessions: SlotTable<Cached>,
}

struct Cached {
    id: Box<str>,
    version: u64,
    data: Arc<SessionData>,
}

impl LocalCache {
    fn new(capacity: usize) -> Self {
        Self {
            sessions: SlotTable::new(capacity),
        }
    }

    fn get(&self, id: &str) -> Option<(u64, Arc<SessionData>)> {
        let slot = self.sessions.read(id)?;
        slot.as_ref()
            .filter(|cached| &*cached.id == id)
            .map(|cached| (cached.version, Arc::clone(&cached.data)))
    }

    fn put(&self, id: &str, version: u64, data: Arc<SessionData>) {
        if let Some(mut slot) = self.sessions.write(id) {
            *slot = Some(Cached {
                id: id.into(),
                version,
                data,
            });
        }
    }

    fn remove(&self, id: &str) {
        if let Some(mut slot) = self.sessions.write(id) {
            if slot.as_ref().is_some_and(|cached| &*cached.id == id) {
                *slot = None;
            }
        }
    }
}

/// Marks a sealed session value; anything else is the plaintext JSON of older versions.
const SEALED_PREFIX: &str = "sealed1.";

impl Shared {
    /// The session's JSON, sealed with the engine's key and bound to the session id.
    fn encode(&self, id: &str, data: &SessionData) -> Result<String, StoreError> {
        let json = serde_json::to_vec(data)
            .map_err(|_| StoreError("could not encode the session".into()))?;
        match self.sealing.get() {
            Some(key) => key
                .seal(id.as_bytes(), &json)
                .map(|sealed| format!("{SEALED_PREFIX}{sealed}"))
                .ok_or_else(|| StoreError("could not seal the session".into())),
            // Only a store used without an engine (the store suite) has no key.
            None => String::from_utf8(json)
                .map_err(|_| StoreError("could not encode the session".into())),
        }
    }

    /// Opens a stored value: sealed (the id is the context), or plaintext written before
    /// sealing existed, which still loads.
    fn decode(&self, id: &str, stored: &str) -> Option<SessionData> {
        match stored.strip_prefix(SEALED_PREFIX) {
            Some(sealed) => {
                let plain = self.sealing.get()?.open(id.as_bytes(), sealed)?;
                serde_json::from_slice(&plain).ok()
            }
            None => serde_json::from_str(stored).ok(),
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn may_retry(error: &RedisError, retry: Retry) -> bool {
    error.is_connection_refusal()
        || (retry == Retry::Idempotent && (error.is_connection_dropped() || error.is_io_error()))
}

/// A short message: the error's category, never its details (which may echo arguments).
fn store_error(error: &RedisError) -> StoreError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connection_refusal() {
        "connection refused"
    } else if error.is_connection_dropped() || error.kind() == ErrorKind::Io {
        "connection lost"
    } else {
        match error.category() {
            "" => error.code().unwrap_or("command failed"),
            category => category,
        }
    };
    StoreError(format!("redis: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_category_only() {
        let error = RedisError::from((
            ErrorKind::Client,
            "bad",
            "session abc123 token xyz".to_string(),
        ));
        let message = store_error(&error).0;
        assert!(message.starts_with("redis: "), "{message}");
        assert!(
            !message.contains("abc123") && !message.contains("xyz"),
            "{message}"
        );

        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(store_error(&refused).0, "redis: connection refused");
        assert!(may_retry(&refused, Retry::IfNotSent));

        let dropped = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(store_error(&dropped).0, "redis: connection lost");
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
        let message = error.map(|e| e.0).unwrap_or_default();
        assert_eq!(message, "redis: invalid URL");
    }

    #[test]
    fn debug_leaves_the_url_out() {
        let builder = RedisStore::builder("redis://user:hunter2@127.0.0.1/").key_prefix("p:");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }
}
