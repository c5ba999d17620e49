//! The session commands: what each [`SessionStore`](crate::SessionStore) method sends, and
//! how a session is sealed for Redis and opened again (see "At rest" on
//! [`super::RedisStore`]).

use std::sync::Arc;
use std::time::Duration;

use ::redis::Cmd;

use super::connection::{Request, Retry, Via};
use super::Shared;
use crate::session::SessionData;
use crate::store::{LoadedSession, SaveOutcome, StoreError, StoreErrorKind};

impl Shared {
    pub(super) fn key(&self, kind: &str, name: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push_str(name);
        key
    }

    pub(super) async fn load(
        &self,
        id: &str,
        via: &Via,
    ) -> Result<Option<LoadedSession>, StoreError> {
        let key = self.key("s:", id);
        if let Some((cached_version, data)) = self.cache.get(id) {
            // Redis still decides: the session must exist, at this version, and not be idle
            // for too long. Only the decoding is saved.
            let mut command = Cmd::new();
            command.arg("HMGET").arg(&key).arg("v").arg("ls");
            let (version, last_seen): (Option<u64>, Option<i64>) = self.query(via, command).await?;
            match (version, last_seen) {
                (Some(version), Some(last_seen)) if version == cached_version => {
                    return Ok(unexpired(data, version, last_seen, self.clock.now()));
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
        Ok(unexpired(data, version, last_seen, self.clock.now()))
    }

    pub(super) async fn create(
        &self,
        id: &str,
        data: Arc<SessionData>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.cache.remove(id);
        let json = self.encode(id, &data)?;
        let ttl = data
            .deadline(now)
            .saturating_mul(1000)
            .saturating_sub(self.clock.now_millis());
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

    pub(super) async fn update(
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
            .arg(self.clock.now_millis());
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

    pub(super) async fn touch(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let mut invocation = self.scripts.touch.prepare_invoke();
        invocation
            .key(self.key("s:", id))
            .arg(&self.prefix)
            .arg(id)
            .arg(now)
            .arg(self.clock.now_millis());
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    pub(super) async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.cache.remove(id);
        let mut invocation = self.scripts.delete.prepare_invoke();
        invocation.key(self.key("s:", id)).arg(&self.prefix).arg(id);
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    pub(super) async fn delete_indexed(&self, kind: &str, name: &str) -> Result<usize, StoreError> {
        let mut invocation = self.scripts.delete_indexed.prepare_invoke();
        invocation.key(self.key(kind, name)).arg(&self.prefix);
        let count: u64 = self
            .run(Request::Script(invocation), Retry::IfNotSent)
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    pub(super) async fn consume_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
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

    pub(super) async fn is_consumed(&self, key: &str) -> Result<bool, StoreError> {
        let mut command = Cmd::new();
        command.arg("EXISTS").arg(self.key("once:", key));
        let count: u64 = self
            .run(Request::Command(command), Retry::IfNotSent)
            .await?;
        Ok(count > 0)
    }

    pub(super) async fn put_record(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now_ms = self.clock.now_millis();
        let mut invocation = self.scripts.put_record.prepare_invoke();
        invocation
            .key(self.key("rec:", key))
            .key(self.key("recs", ""))
            .arg(value)
            .arg(millis(ttl))
            .arg(now_ms)
            .arg(now_ms.saturating_add(i64::try_from(millis(ttl)).unwrap_or(i64::MAX)))
            .arg(self.max_records);
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    pub(super) async fn get_record(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut command = Cmd::new();
        command.arg("GET").arg(self.key("rec:", key));
        self.run(Request::Command(command), Retry::Idempotent).await
    }

    pub(super) async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        let mut invocation = self.scripts.delete_record.prepare_invoke();
        invocation
            .key(self.key("rec:", key))
            .key(self.key("recs", ""));
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }

    pub(super) async fn acquire_lease(
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

    /// Tests only: `by` passes for every key of this store (see [`super::RedisStore::advance_time`]).
    #[cfg(feature = "test-util")]
    pub(super) async fn advance_time(&self, by: Duration) -> Result<(), StoreError> {
        let mut invocation = self.scripts.advance_time.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
        let _: i64 = self
            .run(Request::Script(invocation), Retry::IfNotSent)
            .await?;
        Ok(())
    }

    pub(super) async fn release_lease(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let mut invocation = self.scripts.release.prepare_invoke();
        invocation.key(self.key("lease:", key)).arg(owner);
        let _: i64 = self
            .run(Request::Script(invocation), Retry::Idempotent)
            .await?;
        Ok(())
    }
}

/// The session, unless its idle or absolute lifetime is over.
fn unexpired(
    data: Arc<SessionData>,
    version: u64,
    last_seen: i64,
    now: i64,
) -> Option<LoadedSession> {
    (now < data.deadline(last_seen)).then_some(LoadedSession {
        data,
        version,
        last_seen,
    })
}

/// Marks a sealed session value; anything else is the plaintext JSON of older versions.
const SEALED_PREFIX: &str = "sealed1.";

impl Shared {
    /// The session's JSON, sealed with the engine's key and bound to the session id.
    fn encode(&self, id: &str, data: &SessionData) -> Result<String, StoreError> {
        let json = data.to_stored_json()?;
        match self.sealing.get() {
            Some(key) => key
                .seal(id.as_bytes(), &json)
                .map(|sealed| format!("{SEALED_PREFIX}{sealed}"))
                .ok_or_else(|| {
                    StoreError::new(StoreErrorKind::InvalidData, "could not seal the session")
                }),
            // Only a store used without an engine (the store suite) has no key.
            None => String::from_utf8(json).map_err(|_| {
                StoreError::new(StoreErrorKind::InvalidData, "could not encode the session")
            }),
        }
    }

    /// Opens a stored value: sealed (the id is the context), or plaintext written before
    /// sealing existed, which still loads.
    fn decode(&self, id: &str, stored: &str) -> Option<SessionData> {
        match stored.strip_prefix(SEALED_PREFIX) {
            Some(sealed) => {
                let plain = self.sealing.get()?.open(id.as_bytes(), sealed)?;
                SessionData::from_stored_json(&plain).ok()
            }
            // Without a key (a store used on its own) nothing was sealed to begin with.
            None if self.accept_plaintext || self.sealing.get().is_none() => {
                SessionData::from_stored_json(stored.as_bytes()).ok()
            }
            None => None,
        }
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0).
pub(super) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
