//! Worker tokens: the client credentials grant (RFC 6749 §4.4) for a worker application,
//! the kind PingOne's management APIs want. The secret stays on the server; the token is
//! cached until shortly before it expires, fetched once however many ask, shared by every
//! instance through the session store, and retried with backoff when the provider is down.
//!
//! ```no_run
//! # async fn run(oidc: ping_oidc::PingOidc, user: ping_oidc::Authenticated) -> Result<(), Box<dyn std::error::Error>> {
//! // Registered with `ConfigBuilder::worker("management", WorkerConfig::new(id, secret))`.
//! let management = oidc.worker("management").expect("registered");
//! let url = format!("https://api.pingone.eu/v1/environments/{}/users/{}/devices", "<env id>", user.subject());
//! let devices = management
//!     .authorize(reqwest::Client::new().get(url))
//!     .await? // WorkerTokenError::Unavailable → answer 503 with its retry_after()
//!     .send()
//!     .await?;
//! # let _ = devices; Ok(()) }
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::engine::PingOidc;
use crate::error::ProviderError;
use crate::sync::lock;

/// A worker application's credentials and what its tokens are for. Register it with
/// [`ConfigBuilder::worker`](crate::ConfigBuilder::worker).
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) post: bool,
    /// Set for `private_key_jwt`; the secret is then empty and unused.
    pub(crate) key: Option<std::sync::Arc<crate::ClientKey>>,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
}

impl WorkerConfig {
    /// A worker authenticating with `client_secret_basic`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret.into()),
            post: false,
            key: None,
            scopes: Vec::new(),
            resource: None,
        }
    }

    /// A worker authenticating with `private_key_jwt` (RFC 7523): a JWT signed with `key`.
    pub fn with_private_key(client_id: impl Into<String>, key: crate::ClientKey) -> Self {
        Self {
            key: Some(std::sync::Arc::new(key)),
            ..Self::new(client_id, String::new())
        }
    }

    /// Send the secret in the form body (`client_secret_post`) instead.
    #[must_use]
    pub fn client_secret_post(mut self) -> Self {
        self.post = true;
        self
    }

    /// The scopes to ask for (none by default: PingOne's workers get their roles instead).
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The resource indicator (RFC 8707) the token is for.
    #[must_use]
    pub fn resource(mut self, indicator: impl Into<String>) -> Self {
        self.resource = Some(indicator.into());
        self
    }

    pub(crate) fn check(&self, name: &str) -> Result<(), String> {
        let has_credential = self.key.is_some() || !self.client_secret.expose().is_empty();
        if self.client_id.is_empty() || !has_credential {
            return Err(format!(
                "worker `{name}` needs a client id and a secret or private key"
            ));
        }
        if !self
            .scopes
            .iter()
            .all(|s| crate::scope::is_valid_scope_token(s))
        {
            return Err(format!("worker `{name}` has an invalid scope"));
        }
        Ok(())
    }
}

/// Why a worker token could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerTokenError {
    /// The provider (or the store, to share the token) cannot be reached, or answered 5xx:
    /// answer 503 and retry after [`retry_after`](Self::retry_after).
    #[error("worker token unavailable: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
        /// When calling again may succeed.
        retry_after: Duration,
    },
    /// The provider refused the worker's credentials or scopes (`invalid_client`,
    /// `invalid_scope`, …): a configuration error, not retried.
    #[error("the provider refused the worker's request: {error}")]
    Refused {
        /// The OAuth error code.
        error: String,
    },
}

impl WorkerTokenError {
    /// How long to wait before asking again, for a 503's `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            Self::Refused { .. } => None,
        }
    }
}

/// A worker's access token. Its `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct WorkerToken {
    access_token: String,
    /// Unix seconds.
    expires_at: Option<i64>,
    /// Unix seconds after which a new one is fetched first.
    renew_at: Option<i64>,
}

impl std::fmt::Debug for WorkerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl WorkerToken {
    /// The token, for `Authorization: Bearer`. Keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.access_token
    }

    /// Expiry in unix seconds, when the provider said.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    fn is_fresh(&self, now: i64) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// Shortest and longest wait after a failed fetch; doubles in between.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LONGEST_BACKOFF: Duration = Duration::from_secs(30);
/// Retries of one fetch for a provider that is down (after waits of 200 and 400 ms).
const RETRIES: u32 = 2;

/// A worker's state in the engine: the token this process holds, its turn, its failures.
#[derive(Default)]
pub(crate) struct WorkerState {
    cached: Mutex<Option<WorkerToken>>,
    turn: tokio::sync::Mutex<()>,
    /// When the last failure happened and how long to wait after it.
    failure: Mutex<Option<(Instant, Duration)>>,
}

/// The tokens of one registered worker (a cheap handle: clone it freely).
#[derive(Clone)]
pub struct WorkerTokens {
    engine: PingOidc,
    index: usize,
}

impl std::fmt::Debug for WorkerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerTokens")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl WorkerTokens {
    pub(crate) fn new(engine: PingOidc, index: usize) -> Self {
        Self { engine, index }
    }

    /// The name it was registered under.
    pub fn name(&self) -> &str {
        &self.engine.config().workers[self.index].0
    }

    fn config(&self) -> &WorkerConfig {
        &self.engine.config().workers[self.index].1
    }

    fn state(&self) -> &WorkerState {
        self.engine.worker_state(self.index)
    }

    /// `request` with `Authorization: Bearer <worker token>`.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, WorkerTokenError> {
        let token = self.token().await?;
        Ok(request.bearer_auth(token.secret()))
    }

    /// A token that is fresh now: this process's, else the one another instance stored,
    /// else a new one (one call however many ask, across instances too).
    pub async fn token(&self) -> Result<WorkerToken, WorkerTokenError> {
        let now = self.engine.now();
        if let Some(token) = self.cached(now) {
            return Ok(token);
        }
        let state = self.state();
        let _turn = state.turn.lock().await;
        let now = self.engine.now();
        if let Some(token) = self.cached(now) {
            return Ok(token);
        }
        if let Some((at, wait)) = *lock(&state.failure) {
            if at.elapsed() < wait {
                return Err(WorkerTokenError::Unavailable {
                    reason: "the last attempt failed; waiting before the next".into(),
                    retry_after: wait
                        .saturating_sub(at.elapsed())
                        .max(Duration::from_secs(1)),
                });
            }
        }
        let result = self.shared_or_fetched().await;
        match &result {
            Ok(token) => {
                *lock(&state.cached) = Some(token.clone());
                *lock(&state.failure) = None;
            }
            Err(WorkerTokenError::Unavailable { .. }) => {
                let mut failure = lock(&state.failure);
                let wait =
                    failure.map_or(FIRST_BACKOFF, |(_, wait)| (wait * 2).min(LONGEST_BACKOFF));
                *failure = Some((Instant::now(), wait));
            }
            Err(_) => {}
        }
        result
    }

    fn cached(&self, now: i64) -> Option<WorkerToken> {
        lock(&self.state().cached)
            .as_ref()
            .filter(|token| token.is_fresh(now))
            .cloned()
    }

    /// The store's key for this worker's token (and its lease): one per worker, client and
    /// what the token is for (issuer, resource, scopes), so that instances sharing a store
    /// with another configuration never take each other's tokens.
    fn store_key(&self) -> String {
        let config = self.config();
        let purpose = format!(
            "{}\n{}\n{}",
            self.engine.config().issuer,
            config.resource.as_deref().unwrap_or(""),
            config.scopes.join(" ")
        );
        let digest = ring::digest::digest(&ring::digest::SHA256, purpose.as_bytes());
        let purpose = crate::crypto::b64url_encode(&digest.as_ref()[..12]);
        format!("worker:{}:{}:{purpose}", self.name(), config.client_id)
    }

    /// The token another instance stored, else a new one under the store's lease.
    async fn shared_or_fetched(&self) -> Result<WorkerToken, WorkerTokenError> {
        let engine = &self.engine;
        let store = engine.store();
        let key = self.store_key();
        let lease = format!("{key}:lease");
        let owner = engine.instance_id();
        let ttl = engine.config().http_timeout.saturating_mul(2);
        let give_up_at = Instant::now() + ttl + Duration::from_secs(1);
        loop {
            if let Some(token) = self.stored(&key).await? {
                return Ok(token);
            }
            match store.acquire_lease(&lease, owner, ttl).await {
                Ok(true) => break,
                Ok(false) if Instant::now() < give_up_at => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(false) => {
                    return Err(unavailable("another instance holds the worker's lease"));
                }
                Err(error) => return Err(unavailable(&format!("session store: {error}"))),
            }
        }
        let result = self.fetch_with_retries().await;
        if let Ok(token) = &result {
            self.share(&key, token).await;
        }
        if let Err(error) = store.release_lease(&lease, owner).await {
            tracing::info!(%error, "could not release a worker's lease (it expires by itself)");
        }
        result
    }

    async fn stored(&self, key: &str) -> Result<Option<WorkerToken>, WorkerTokenError> {
        let engine = &self.engine;
        let sealed = match engine.store().get_record(key).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => return Ok(None),
            Err(error) => return Err(unavailable(&format!("session store: {error}"))),
        };
        let token = engine
            .config()
            .session_key
            .open(key.as_bytes(), &sealed)
            .and_then(|json| serde_json::from_slice::<WorkerToken>(&json).ok());
        Ok(token.filter(|token| token.is_fresh(engine.now())))
    }

    /// Stores the token, sealed, until it is due for renewal; a failure only costs the
    /// other instances a fetch of their own.
    async fn share(&self, key: &str, token: &WorkerToken) {
        let engine = &self.engine;
        let now = engine.now();
        let Some(renew_at) = token.renew_at.filter(|at| *at > now) else {
            return;
        };
        let sealed = serde_json::to_vec(token)
            .ok()
            .and_then(|json| engine.config().session_key.seal(key.as_bytes(), &json));
        let Some(sealed) = sealed else { return };
        let ttl = Duration::from_secs((renew_at - now) as u64);
        if let Err(error) = engine.store().put_record(key, &sealed, ttl).await {
            tracing::info!(%error, "could not share the worker token through the store");
        }
    }

    async fn fetch_with_retries(&self) -> Result<WorkerToken, WorkerTokenError> {
        let mut pause = Duration::from_millis(200);
        let mut retries = RETRIES;
        loop {
            match self.fetch().await {
                Err(WorkerTokenError::Unavailable { reason, .. }) if retries > 0 => {
                    tracing::info!(worker = self.name(), %reason, "worker token fetch failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    retries -= 1;
                }
                other => return other,
            }
        }
    }

    #[tracing::instrument(name = "ping_oidc.worker_token", skip_all, fields(worker = self.name()))]
    async fn fetch(&self) -> Result<WorkerToken, WorkerTokenError> {
        let engine = &self.engine;
        let provider = engine
            .provider()
            .map_err(|_| unavailable("the provider has not been reached yet"))?;
        let tokens = provider
            .client_credentials(self.config())
            .await
            .map_err(|error| match error {
                ProviderError::Rejected { error, .. } => {
                    tracing::error!(%error, "the provider refused the worker's credentials or scopes");
                    WorkerTokenError::Refused { error }
                }
                other => unavailable(&other.to_string()),
            })?;
        let now = engine.now();
        let leeway = crate::engine::duration_secs(engine.config().refresh_leeway);
        tracing::debug!("worker token fetched");
        Ok(WorkerToken {
            access_token: tokens.access_token,
            expires_at: tokens.expires_in.map(|secs| now.saturating_add(secs)),
            renew_at: tokens
                .expires_in
                .map(|secs| now.saturating_add(secs - leeway.min(secs / 4))),
        })
    }
}

fn unavailable(reason: &str) -> WorkerTokenError {
    WorkerTokenError::Unavailable {
        reason: reason.to_owned(),
        retry_after: FIRST_BACKOFF,
    }
}
