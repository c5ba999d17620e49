//! The connection and I/O layer: the store's own I/O thread and main connection (with its
//! reconnect and retry policy), and each calling runtime's own connection for loads (see
//! "Runtimes" and "Reconnection" on [`super::RedisStore`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, MultiplexedConnection};
use ::redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, FromRedisValue, RedisError, ScriptInvocation, Value,
};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{RedisStore, Shared};
use crate::store::{StoreError, StoreErrorKind};
use crate::sync::lock;

/// A caller runtime's own connection, for loads (see "Runtimes" on [`RedisStore`]).
pub(super) enum Near {
    Ready(Arc<NearConnection>),
    Connecting,
    /// Connecting failed, or the connection did: the I/O thread serves until then.
    RetryAfter(Instant),
}

/// Runtimes with a connection of their own, at most.
pub(super) const MAX_NEAR: usize = 64;
/// How long after a failure the I/O thread serves a runtime's loads alone.
pub(super) const NEAR_RETRY: Duration = Duration::from_secs(1);

/// Where a load's commands go.
pub(super) enum Via {
    Io,
    Near(Arc<NearConnection>),
}

/// A caller runtime's own connection. On a multi-threaded runtime, reads its requests queued
/// since the last flush go out together, one write for all: that scheduler runs a task woken
/// by the running one next (its "LIFO slot"), so the connection's own task would write each
/// request's command on its own, one system call per guarded request. A current-thread
/// runtime (actix-web's workers) runs the connection's task after the requests already
/// queued, which batches their commands by itself: there reads go straight to the connection.
pub(super) struct NearConnection {
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
            let mut queued = lock(&self.queued);
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
        let queued = std::mem::take(&mut *lock(&self.queued));
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

/// Starts the store's I/O thread: a current-thread runtime running until `stop` is dropped.
pub(super) fn start_io_thread() -> Result<(Handle, oneshot::Sender<()>), StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                "redis: could not start the I/O runtime",
            )
            .with_source(e)
        })?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("ping-oidc-redis".into())
        .spawn(move || {
            // Drives the connection's tasks until the last store clone is dropped.
            let _ = runtime.block_on(stopped);
        })
        .map_err(|e| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                "redis: could not start the I/O thread",
            )
            .with_source(e)
        })?;
    Ok((handle, stop))
}

/// One request, run once or twice by [`Shared::run`].
pub(super) enum Request<'a> {
    Command(Cmd),
    Script(ScriptInvocation<'a>),
}

/// Whether a request may run again after a connection failure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Running it twice has the effect of running it once.
    Idempotent,
    /// Only when the first attempt certainly did not reach Redis.
    IfNotSent,
}

impl RedisStore {
    /// Runs `work` on the I/O thread.
    pub(super) async fn on_io<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.inner.io.spawn(work(Arc::clone(&self.inner.shared)));
        match task.await {
            Ok(result) => result,
            Err(_) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "redis: the I/O thread stopped",
            )),
        }
    }
}

impl Shared {
    pub(super) fn connection(&self) -> (u64, ConnectionManager) {
        let current = lock(&self.connection);
        (current.0, current.1.clone())
    }

    /// The calling runtime's own connection, when it has one. Otherwise starts connecting it
    /// in the background (on that runtime, which then drives it) and answers `None`: this
    /// call goes through the I/O thread.
    pub(super) fn near_connection(
        self: &Arc<Self>,
    ) -> Option<(tokio::runtime::Id, Arc<NearConnection>)> {
        let runtime = Handle::try_current().ok()?;
        let id = runtime.id();
        {
            let mut near = lock(&self.near);
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

    pub(super) fn set_near(&self, runtime: tokio::runtime::Id, state: Near) {
        let mut near = lock(&self.near);
        if let Some((_, slot)) = near.iter_mut().find(|(id, _)| *id == runtime) {
            *slot = state;
        }
    }

    /// Drops a runtime's own connection after a failure; the I/O thread serves it for a while.
    pub(super) fn near_failed(&self, runtime: tokio::runtime::Id) {
        self.set_near(runtime, Near::RetryAfter(Instant::now() + NEAR_RETRY));
    }

    /// Replaces a connection that timed out (unless another call already did).
    pub(super) fn replace_connection(&self, generation: u64) {
        let mut current = lock(&self.connection);
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
    pub(super) async fn run<T: FromRedisValue + Send>(
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
                Err(StoreError::new(StoreErrorKind::Timeout, "redis: timed out"))
            }
        }
    }

    /// One read-only command for `load`.
    pub(super) async fn query<T: FromRedisValue + Send>(
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

pub(super) fn may_retry(error: &RedisError, retry: Retry) -> bool {
    error.is_connection_refusal()
        || (retry == Retry::Idempotent && (error.is_connection_dropped() || error.is_io_error()))
}

/// A short message: the error's category, never its details (which may echo arguments).
pub(super) fn store_error(error: &RedisError) -> StoreError {
    let (kind, what) = if error.is_timeout() {
        (StoreErrorKind::Timeout, "timed out")
    } else if error.is_connection_refusal() {
        (StoreErrorKind::Unavailable, "connection refused")
    } else if error.is_connection_dropped() || error.kind() == ErrorKind::Io {
        (StoreErrorKind::Unavailable, "connection lost")
    } else {
        let what = match error.category() {
            "" => error.code().unwrap_or("command failed"),
            category => category,
        };
        (StoreErrorKind::Backend, what)
    };
    StoreError::new(kind, format!("redis: {what}"))
}
