//! The Redis store (cargo feature `redis`): sessions shared by every instance of the app.
//!
//! # Keys
//!
//! Every key starts with the prefix (default `ping_oidc:`):
//!
//! | key | type | holds | TTL |
//! |---|---|---|---|
//! | `<prefix>s:<session id>` | hash | `d` (the session as JSON), `v` (version), `ls` (last use, unix s), `exp`, `idle`, `sub`, `sid` | the session's remaining lifetime: `min(exp, ls + idle) - now` |
//! | `<prefix>sid:<sid>` | set | ids of the sessions with this provider `sid` | at least the longest of its sessions' |
//! | `<prefix>sub:<subject>` | set | ids of the subject's sessions | at least the longest of its sessions' |
//! | `<prefix>once:<key>` | string | `1` | the `consume_once` TTL |
//! | `<prefix>lease:<key>` | string | the owner | the lease TTL |
//!
//! Every write that reads first (compare-and-set, touch, delete, leases) is one Lua script,
//! so it is atomic. Index sets may keep ids of sessions that expired; they are dropped when
//! the set is next scanned (`delete_by_*`, or every 16th session added to a set), and a set
//! expires with its last session.
//!
//! The scripts build the index keys from the prefix, so the store needs one Redis node (a
//! primary, possibly with replicas or Sentinel in front); Redis Cluster is not supported.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Cmd, ErrorKind, FromRedisValue, RedisError, Script, ScriptInvocation};

use super::{LoadedSession, SaveOutcome, SessionStore, StoreError, StoreFuture};
use crate::session::SessionData;
use crate::time::now_unix;

const DEFAULT_PREFIX: &str = "ping_oidc:";
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

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
/// reach the sessions of every instance. The key layout is described in the module source.
///
/// **Timeouts.** Every call (including the retry below) is bounded by the command timeout
/// (default 2 s), so a Redis that is down or unreachable yields a [`StoreError`] (a 503 for the
/// request) instead of a hang.
///
/// **Reconnection.** The store holds one multiplexed connection that reconnects by itself: a
/// call that finds the connection broken starts a reconnect in the background and fails; when
/// the failure shows the command was not carried out (connection refused), or the call is
/// idempotent, it is tried once more on the new connection within the same timeout. Once
/// Redis is back, calls succeed again without restarting the app.
///
/// **Runtimes.** The store is `Clone + Send + Sync` and may be used from any number of Tokio
/// runtimes at once, such as actix-web's one current-thread runtime per worker. Calls must run
/// inside a Tokio runtime with I/O and time enabled. The connection's I/O task runs on the
/// runtime that opened the connection (the one that called `connect`, or after a reconnect
/// the one that noticed the failure); requests from other runtimes reach it through channels.
/// If that runtime shuts down, the next call reconnects from the caller's runtime. For steady
/// latency, connect from a runtime that lives as long as the app (`#[tokio::main]`,
/// `#[actix_web::main]`) and does not block.
///
/// Sessions hold tokens: protect Redis (network access, ACL user with a password). TLS
/// connections (`rediss://`) are not enabled by this crate's feature set.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    scripts: Arc<Scripts>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// Options for a [`RedisStore`]: key prefix and command timeout.
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    // The URL may hold a password: left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder").field("prefix", &self.prefix).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Prefix of every key (default `ping_oidc:`). Give each app sharing a Redis its own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Longest time one store call may take, connecting included (default 2 s). After it the
    /// call fails with a [`StoreError`]. Zero is raised to one millisecond.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connects now: fails when the URL is invalid or Redis cannot be reached within the
    /// command timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client()?;
        let connection = match tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(client, config)).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(store_error(&error)),
            Err(_) => return Err(StoreError("redis: connecting timed out".into())),
        };
        Ok(self.finish(connection))
    }

    /// Returns at once and connects on first use (so the app can start while Redis is
    /// down; calls fail with [`StoreError`] until it is up). Fails only for an invalid URL.
    /// Must be called inside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client()?;
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| store_error(&e))?;
        Ok(self.finish(connection))
    }

    fn client(&self) -> Result<(Client, ConnectionManagerConfig), StoreError> {
        let client = Client::open(self.url.as_str()).map_err(|_| StoreError("redis: invalid URL".into()))?;
        // Fail fast while Redis is down: one quick retry per reconnect; the caller's command
        // timeout bounds everything anyway.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250))
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        Ok((client, config))
    }

    fn finish(self, connection: ConnectionManager) -> RedisStore {
        RedisStore { connection, prefix: self.prefix.into(), timeout: self.timeout, scripts: Arc::new(Scripts::new()) }
    }
}

/// One request, run once or twice by [`RedisStore::run`].
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
        RedisStoreBuilder { url: url.to_string(), prefix: DEFAULT_PREFIX.to_string(), timeout: DEFAULT_COMMAND_TIMEOUT }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, kind: &str, name: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push_str(name);
        key
    }

    /// Runs a request within the command timeout, once more after a connection failure
    /// when `retry` allows.
    async fn run<T: FromRedisValue + Send>(&self, request: Request<'_>, retry: Retry) -> Result<T, StoreError> {
        let attempts = async {
            let first = self.attempt(&request).await;
            match first {
                Err(error) if may_retry(&error, retry) => self.attempt(&request).await,
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result.map_err(|error| store_error(&error)),
            Err(_) => Err(StoreError("redis: timed out".into())),
        }
    }

    fn attempt<'s, T: FromRedisValue + Send>(
        &'s self,
        request: &'s Request<'_>,
    ) -> impl Future<Output = Result<T, RedisError>> + Send + 's {
        let mut connection = self.connection.clone();
        async move {
            match request {
                Request::Command(command) => command.query_async(&mut connection).await,
                Request::Script(invocation) => invocation.invoke_async(&mut connection).await,
            }
        }
    }

    async fn load_session(&self, id: &str) -> Result<Option<LoadedSession>, StoreError> {
        let mut command = Cmd::new();
        command.arg("HMGET").arg(self.key("s:", id)).arg("d").arg("v").arg("ls");
        let (data, version, last_seen): (Option<String>, Option<u64>, Option<i64>) =
            self.run(Request::Command(command), Retry::Idempotent).await?;
        let (Some(data), Some(version), Some(last_seen)) = (data, version, last_seen) else {
            return Ok(None);
        };
        let data: SessionData = match serde_json::from_str(&data) {
            Ok(data) => data,
            Err(_) => {
                tracing::warn!("a stored session could not be read; treating it as signed out");
                return Ok(None);
            }
        };
        if now_unix() >= data.deadline(last_seen) {
            return Ok(None);
        }
        Ok(Some(LoadedSession { data: Arc::new(data), version, last_seen }))
    }

    async fn create_session(&self, id: &str, data: &SessionData, now: i64) -> Result<(), StoreError> {
        let json = encode(data)?;
        let ttl = data.deadline(now).saturating_mul(1000).saturating_sub(now_millis());
        let mut invocation = self.scripts.create.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&*self.prefix)
            .arg(id)
            .arg(json)
            .arg(now)
            .arg(data.expires_at)
            .arg(data.idle_timeout)
            .arg(ttl)
            .arg(&data.subject)
            .arg(if data.sid.is_some() { "1" } else { "0" })
            .arg(data.sid.as_deref().unwrap_or(""));
        let _: i64 = self.run(Request::Script(invocation), Retry::Idempotent).await?;
        Ok(())
    }

    async fn update_session(&self, id: &str, data: &SessionData, expected: u64) -> Result<SaveOutcome, StoreError> {
        let json = encode(data)?;
        let mut invocation = self.scripts.update.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&*self.prefix)
            .arg(id)
            .arg(expected)
            .arg(json)
            .arg(data.expires_at)
            .arg(data.idle_timeout)
            .arg(&data.subject)
            .arg(if data.sid.is_some() { "1" } else { "0" })
            .arg(data.sid.as_deref().unwrap_or(""))
            .arg(now_millis());
        let version: u64 = self.run(Request::Script(invocation), Retry::IfNotSent).await?;
        Ok(match version {
            0 => SaveOutcome::Conflict,
            version => SaveOutcome::Saved { version },
        })
    }

    async fn touch_session(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let mut invocation = self.scripts.touch.prepare_invoke();
        invocation.key(self.key("s:", id)).arg(&*self.prefix).arg(id).arg(now).arg(now_millis());
        let _: i64 = self.run(Request::Script(invocation), Retry::Idempotent).await?;
        Ok(())
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut invocation = self.scripts.delete.prepare_invoke();
        invocation.key(self.key("s:", id)).arg(&*self.prefix).arg(id);
        let _: i64 = self.run(Request::Script(invocation), Retry::Idempotent).await?;
        Ok(())
    }

    async fn delete_indexed(&self, set: String) -> Result<usize, StoreError> {
        let mut invocation = self.scripts.delete_indexed.prepare_invoke();
        invocation.key(set).arg(&*self.prefix);
        let count: u64 = self.run(Request::Script(invocation), Retry::IfNotSent).await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    async fn consume(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut command = Cmd::new();
        command.arg("SET").arg(self.key("once:", key)).arg("1").arg("NX").arg("PX").arg(millis(ttl));
        let set: Option<String> = self.run(Request::Command(command), Retry::IfNotSent).await?;
        Ok(set.is_some())
    }

    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.acquire.prepare_invoke();
        invocation.key(self.key("lease:", key)).arg(owner).arg(millis(ttl));
        // Taking a lease twice for the same owner is the same as taking it once.
        let taken: i64 = self.run(Request::Script(invocation), Retry::Idempotent).await?;
        Ok(taken == 1)
    }

    async fn release(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let mut invocation = self.scripts.release.prepare_invoke();
        invocation.key(self.key("lease:", key)).arg(owner);
        let _: i64 = self.run(Request::Script(invocation), Retry::Idempotent).await?;
        Ok(())
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<LoadedSession>> {
        Box::pin(self.load_session(id))
    }

    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.create_session(id, &data, now).await })
    }

    fn update<'a>(&'a self, id: &'a str, data: Arc<SessionData>, expected_version: u64) -> StoreFuture<'a, SaveOutcome> {
        Box::pin(async move { self.update_session(id, &data, expected_version).await })
    }

    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        Box::pin(self.touch_session(id, now))
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.delete_session(id))
    }

    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(self.delete_indexed(self.key("sid:", sid)))
    }

    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(self.delete_indexed(self.key("sub:", subject)))
    }

    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(self.consume(key, ttl))
    }

    fn acquire_lease<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(self.acquire(key, owner, ttl))
    }

    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.release(key, owner))
    }
}

fn encode(data: &SessionData) -> Result<String, StoreError> {
    serde_json::to_string(data).map_err(|_| StoreError("could not encode the session".into()))
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn may_retry(error: &RedisError, retry: Retry) -> bool {
    error.is_connection_refusal() || (retry == Retry::Idempotent && (error.is_connection_dropped() || error.is_io_error()))
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
        let error = RedisError::from((ErrorKind::Client, "bad", "session abc123 token xyz".to_string()));
        let message = store_error(&error).0;
        assert!(message.starts_with("redis: "), "{message}");
        assert!(!message.contains("abc123") && !message.contains("xyz"), "{message}");

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
