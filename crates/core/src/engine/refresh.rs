//! The refresh protocol: one refresh per session however many requests ask, in this process
//! (a gate per session) and across instances (a lease in the store); run as a task of its own
//! so that a dropped request cannot lose a rotated refresh token; saved compare-and-set.

use crate::session_cookie::{SessionId, VerifiedSessionId};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{duration_secs, PingOidc, Rejection, RequestKind};
use crate::error::{ProviderError, TokenError};
use crate::provider::TokenResponse;
use crate::session::SessionData;
use crate::store::{LoadedSession, SaveOutcome};
use crate::sync::lock;

pub(crate) enum RefreshFailure {
    Ended,
    ProviderUnavailable,
    StoreUnavailable,
    /// The provider will not give this API's token on the session's grant
    /// (`invalid_scope`, `invalid_target`, consent needed): the API at this index.
    ApiRefused(usize),
}

/// What a call with the session's refresh token is for. Both spend (and may rotate) the same
/// refresh token, so both take the session's gate and lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenWork {
    /// New tokens for the session itself.
    Session,
    /// A token for the API at this index of `Config::apis`.
    Api(usize),
}

/// How long a refresh that failed for want of the provider answers the session's next
/// requests without calling the provider again (the `Retry-After` we send).
pub(crate) const REFRESH_FAILURE_MEMORY: Duration = Duration::from_secs(5);
/// Sessions whose recent failure is remembered at most (one entry per signed-in session).
const MAX_REMEMBERED_FAILURES: usize = 10_000;

fn store_down(error: crate::error::StoreError) -> RefreshFailure {
    tracing::warn!(%error, "session store unavailable during refresh");
    RefreshFailure::StoreUnavailable
}

impl PingOidc {
    /// Refreshes the session's tokens once, however many requests ask at the same time, in
    /// this process (a per-session async lock) and across instances (a lease in the store).
    pub(crate) async fn refresh_session(
        &self,
        id: VerifiedSessionId<'_>,
        kind: RequestKind,
    ) -> Result<LoadedSession, Rejection> {
        self.token_work(id, TokenWork::Session)
            .await
            .map_err(|failure| self.refresh_rejection(kind, failure))
    }

    /// Gets the token of the API at `api` (an index of `Config::apis`) into the session,
    /// with the same single flight, lease and rotation-safe save as a refresh.
    pub(crate) async fn fetch_api_token(
        &self,
        id: VerifiedSessionId<'_>,
        api: usize,
    ) -> Result<LoadedSession, RefreshFailure> {
        self.token_work(id, TokenWork::Api(api)).await
    }

    /// Whether the session needs this work done.
    fn needs(&self, work: TokenWork, data: &SessionData, now: i64) -> bool {
        match work {
            TokenWork::Session => data.needs_refresh(now),
            TokenWork::Api(index) => self
                .inner
                .config
                .apis
                .get(index)
                .is_some_and(|api| !data.serves_api(api, now)),
        }
    }

    async fn token_work(
        &self,
        id: VerifiedSessionId<'_>,
        work: TokenWork,
    ) -> Result<LoadedSession, RefreshFailure> {
        let gate = Arc::clone(
            lock(&self.inner.refresh_gates)
                .entry(id.as_str().into())
                .or_default(),
        );
        let result = match Arc::clone(&gate).try_lock_owned() {
            Ok(turn) => self.refresh_detached(turn, id, work).await,
            Err(_) => {
                // Another request of this process is refreshing this session. Once it is
                // done, read its result without holding the gate, so that every waiter's
                // read runs at the same time instead of one after another (with Redis, a
                // round trip each). Anything but a fresh session (the refresh failed, the
                // session is gone, the store is down) takes the gate as before.
                drop(gate.lock().await);
                let now = self.now();
                match self.load_session(id, now).await {
                    Ok(Some(fresh)) if !self.needs(work, &fresh.data, now) => Ok(fresh),
                    _ => {
                        let turn = Arc::clone(&gate).lock_owned().await;
                        self.refresh_detached(turn, id, work).await
                    }
                }
            }
        };
        drop(gate);
        self.forget_gate_if_unused(id.as_str());
        result
    }

    /// Runs the refresh (token call, rotation-safe save, lease release) as a task of its own
    /// that holds the gate: a request dropped half-way (client gone, timeout layer) cannot
    /// cut it between the provider rotating the refresh token and the save of the new one.
    /// The request awaits the task's result. Without a Tokio runtime it runs inline.
    async fn refresh_detached(
        &self,
        turn: tokio::sync::OwnedMutexGuard<()>,
        id: VerifiedSessionId<'_>,
        work: TokenWork,
    ) -> Result<LoadedSession, RefreshFailure> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let result = self.refresh_unless_failed_recently(id, work).await;
            drop(turn);
            return result;
        };
        let engine = self.clone();
        let id = SessionId::new(id);
        let task = runtime.spawn(async move {
            let result = engine
                .refresh_unless_failed_recently(id.verified(), work)
                .await;
            drop(turn);
            engine.forget_gate_if_unused(id.as_str());
            result
        });
        task.await.unwrap_or_else(|error| {
            tracing::error!(%error, "the refresh task failed");
            Err(RefreshFailure::ProviderUnavailable)
        })
    }

    /// Drops the session's gate once neither a request nor a refresh task holds it.
    pub(super) fn forget_gate_if_unused(&self, id: &str) {
        let mut gates = lock(&self.inner.refresh_gates);
        if gates
            .get(id)
            .is_some_and(|gate| Arc::strong_count(gate) == 1)
        {
            gates.remove(id);
        }
    }

    /// A refresh that failed for want of the provider a moment ago answers again, so that a
    /// burst of requests makes one provider call, not one each.
    async fn refresh_unless_failed_recently(
        &self,
        id: VerifiedSessionId<'_>,
        work: TokenWork,
    ) -> Result<LoadedSession, RefreshFailure> {
        let failures = &self.inner.refresh_failures;
        let failure_key: Box<str> = match work {
            TokenWork::Session => id.as_str().into(),
            TokenWork::Api(index) => format!("{}\0{index}", id.as_str()).into(),
        };
        let failed_at = lock(failures).get(&failure_key).copied();
        if failed_at.is_some_and(|at| at.elapsed() < REFRESH_FAILURE_MEMORY) {
            return Err(RefreshFailure::ProviderUnavailable);
        }
        let result = self.refresh_under_gate(id, work).await;
        let mut failures = lock(failures);
        if matches!(result, Err(RefreshFailure::ProviderUnavailable)) {
            if failures.len() >= MAX_REMEMBERED_FAILURES {
                failures.retain(|_, at| at.elapsed() < REFRESH_FAILURE_MEMORY);
                if failures.len() >= MAX_REMEMBERED_FAILURES {
                    failures.clear();
                }
            }
            failures.insert(failure_key, Instant::now());
        } else if failed_at.is_some() {
            failures.remove(&failure_key);
        }
        result
    }

    async fn refresh_under_gate(
        &self,
        id: VerifiedSessionId<'_>,
        work: TokenWork,
    ) -> Result<LoadedSession, RefreshFailure> {
        let inner = &self.inner;
        let store = &inner.store;
        // Another request (or instance) may have refreshed while this one waited.
        let current = self.reload(id).await?;
        if !self.needs(work, &current.data, self.now()) {
            return Ok(current);
        }
        let lease_key = format!("refresh:{}", id.as_str());
        let lease_ttl = inner.config.refresh_lease;
        let owner = inner.instance_id.as_str();
        let give_up_at = Instant::now() + lease_ttl + inner.config.http_timeout;
        while !store
            .acquire_lease(&lease_key, owner, lease_ttl)
            .await
            .map_err(store_down)?
        {
            // Another instance holds the lease: wait for its result and reuse it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let current = self.reload(id).await?;
            if !self.needs(work, &current.data, self.now()) {
                return Ok(current);
            }
            if Instant::now() > give_up_at {
                tracing::warn!("another instance holds the refresh lease for too long");
                return Err(RefreshFailure::ProviderUnavailable);
            }
        }
        let result = self.refresh_with_lease(id, &lease_key, owner, work).await;
        if let Err(error) = store.release_lease(&lease_key, owner).await {
            tracing::warn!(%error, "could not release the refresh lease");
        }
        result
    }

    #[tracing::instrument(name = "ping_oidc.refresh", skip_all)]
    async fn refresh_with_lease(
        &self,
        id: VerifiedSessionId<'_>,
        lease_key: &str,
        owner: &str,
        work: TokenWork,
    ) -> Result<LoadedSession, RefreshFailure> {
        let inner = &self.inner;
        let store = &inner.store;
        // Re-read under the lease: the token another instance just rotated is never sent again.
        let current = self.reload(id).await?;
        if !self.needs(work, &current.data, self.now()) {
            return Ok(current);
        }
        let Some(refresh_token) = current.data.refresh_token.clone() else {
            tracing::info!(
                "access token expired and there is no refresh token; ending the session"
            );
            let _ = store.delete(id.as_str()).await;
            return Err(RefreshFailure::Ended);
        };
        let lease_ttl = inner.config.refresh_lease;
        let provider = self
            .provider()
            .map_err(|_| RefreshFailure::ProviderUnavailable)?;
        let api = match work {
            TokenWork::Session => None,
            TokenWork::Api(index) => inner.config.apis.get(index),
        };
        let exchange = async {
            match api {
                Some(api) => {
                    provider
                        .refresh_for_api(&inner.config, &refresh_token, api)
                        .await
                }
                None => provider.refresh(&inner.config, &refresh_token).await,
            }
        };
        tokio::pin!(exchange);
        let mut renew = tokio::time::interval(lease_ttl / 3);
        renew.tick().await;
        let mut lease_held = true;
        let result = loop {
            tokio::select! {
                result = &mut exchange => break result,
                _ = renew.tick(), if lease_held => {
                    match store.acquire_lease(lease_key, owner, lease_ttl).await {
                        Ok(true) => {}
                        // Another instance took the lease (ours ran out). This one stops
                        // claiming it, but lets the call already at the provider finish:
                        // dropping it could lose a rotated refresh token. The save below is
                        // compare-and-set, so it never overwrites the other's result.
                        Ok(false) => {
                            tracing::warn!("the refresh lease was lost to another instance");
                            lease_held = false;
                        }
                        Err(error) => tracing::warn!(%error, "could not renew the refresh lease"),
                    }
                }
            }
        };
        let tokens = match result {
            Ok(tokens) => tokens,
            // RFC 6749 §5.2: only `invalid_grant` says the refresh token itself is bad.
            Err(ProviderError::Rejected { error, .. }) if error == "invalid_grant" => {
                // A newer refresh token may have been stored meanwhile (by another instance,
                // or by a save that outlived its request): then the session lives on.
                let latest = self.reload(id).await?;
                if latest.data.refresh_token != current.data.refresh_token {
                    tracing::info!("refresh token already rotated elsewhere; keeping the session");
                    return if self.needs(work, &latest.data, self.now()) {
                        Err(RefreshFailure::ProviderUnavailable)
                    } else {
                        Ok(latest)
                    };
                }
                tracing::info!(error = %error, "the provider refused the refresh; ending the session");
                let _ = store.delete(id.as_str()).await;
                return Err(RefreshFailure::Ended);
            }
            // An API's token the grant does not cover: consent (or the provider's
            // configuration) is needed for it; the session itself is fine.
            // A provider that issues no token per resource for this one (`invalid_target`)
            // while the session's token has the API's scopes: that token serves the API, as
            // it would without a resource. Kept as the API's token until it is due, so the
            // provider is asked again once per token lifetime, not at every request.
            Err(ProviderError::Rejected { error, .. })
                if error == "invalid_target"
                    && api.is_some_and(|api| {
                        api.scopes.iter().all(|s| current.data.scopes.contains(s))
                    }) =>
            {
                let Some(api) = api else {
                    return Err(RefreshFailure::ProviderUnavailable);
                };
                tracing::info!(api = %api.name, "no token of its own for this resource; the session's token serves it");
                let data = Arc::new(with_session_token_for(&current.data, api));
                return match self
                    .save_rotated(id.as_str(), &data, current.version)
                    .await?
                {
                    SaveOutcome::Saved { version } => Ok(LoadedSession {
                        data,
                        version,
                        last_seen: current.last_seen,
                    }),
                    _ => self.reload(id).await,
                };
            }
            Err(ProviderError::Rejected { error, .. })
                if api.is_some() && API_REFUSALS.contains(&error.as_str()) =>
            {
                tracing::info!(error = %error, "the provider refused a token for an API");
                let TokenWork::Api(index) = work else {
                    return Err(RefreshFailure::ProviderUnavailable);
                };
                return Err(RefreshFailure::ApiRefused(index));
            }
            // `invalid_client`, `unauthorized_client`, `invalid_scope`, …: the configuration
            // or the provider is wrong, not the user's grant. Keep the session; say so loudly.
            Err(ProviderError::Rejected { error, .. }) => {
                tracing::error!(error = %error, "the provider refused the refresh for a reason other than the grant (check the client configuration); keeping the session");
                return Err(RefreshFailure::ProviderUnavailable);
            }
            Err(error) => {
                tracing::warn!(%error, "refresh failed; keeping the session");
                return Err(RefreshFailure::ProviderUnavailable);
            }
        };
        let data = match api {
            Some(api) => Ok(with_api_token(
                &current.data,
                api,
                tokens,
                inner.config.refresh_leeway,
                self.now(),
            )),
            None => self.refreshed_session(&current.data, tokens).await,
        };
        let data = match data {
            Ok(data) => data,
            Err(error) => {
                tracing::warn!(reason = %error, "refreshed ID token rejected; ending the session");
                let _ = store.delete(id.as_str()).await;
                return Err(RefreshFailure::Ended);
            }
        };
        let data = Arc::new(data);
        match self
            .save_rotated(id.as_str(), &data, current.version)
            .await?
        {
            SaveOutcome::Saved { version } => {
                tracing::debug!("tokens refreshed");
                Ok(LoadedSession {
                    data,
                    version,
                    last_seen: current.last_seen,
                })
            }
            _ => {
                tracing::warn!("another writer changed the session during refresh");
                let latest = self.reload(id).await?;
                if latest.data.refresh_token != current.data.refresh_token {
                    // Someone else refreshed too (a lease lost): keep what they stored.
                    return Ok(latest);
                }
                // The other write left the refresh token this call just spent: the rotated
                // one must be stored, or it would be lost and the spent one sent again.
                match self
                    .save_rotated(id.as_str(), &data, latest.version)
                    .await?
                {
                    SaveOutcome::Saved { version } => Ok(LoadedSession {
                        data,
                        version,
                        last_seen: latest.last_seen,
                    }),
                    _ => self.reload(id).await,
                }
            }
        }
    }

    /// Saves freshly refreshed tokens. The provider has already spent the old refresh token,
    /// so a store failure here is retried a few times (within the lease) before giving up:
    /// losing the rotated token means the spent one would be sent again.
    async fn save_rotated(
        &self,
        id: &str,
        data: &Arc<SessionData>,
        version: u64,
    ) -> Result<SaveOutcome, RefreshFailure> {
        let mut pause = Duration::from_millis(100);
        let mut retries = 2;
        loop {
            match self.inner.store.update(id, Arc::clone(data), version).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) if retries > 0 => {
                    tracing::warn!(%error, "could not store the refreshed tokens; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    retries -= 1;
                }
                Err(error) => {
                    tracing::error!(%error, "the refreshed tokens could not be stored; the session will need a new sign-in if the provider refuses the previous refresh token");
                    return Err(store_down(error));
                }
            }
        }
    }

    /// The stored session for a refresh: gone means ended, a store failure means unavailable.
    async fn reload(&self, id: VerifiedSessionId<'_>) -> Result<LoadedSession, RefreshFailure> {
        self.load_session(id, self.now())
            .await
            .map_err(store_down)?
            .ok_or(RefreshFailure::Ended)
    }

    /// The session after a refresh: new tokens, the refresh token kept when not rotated, and
    /// a new ID token checked against the old one (same issuer and subject).
    async fn refreshed_session(
        &self,
        old: &SessionData,
        tokens: TokenResponse,
    ) -> Result<SessionData, TokenError> {
        let inner = &self.inner;
        let config = &inner.config;
        let now = self.now();
        let mut data = old.clone();
        if let Some(id_token) = &tokens.id_token {
            let mut original = crate::id_token::stored_claims(&old.id_token).unwrap_or_default();
            // The stored token is the one signed in with; its `sub` is the session's.
            original.insert("sub".into(), Value::String(old.subject.to_string()));
            match self
                .verify_id_token(id_token, &tokens.access_token, None, Some(&original), now)
                .await
            {
                Ok(verified) => {
                    let (raw, claims) = verified.into_parts();
                    // The original `auth_time` stays: a refresh is no new authentication.
                    let keep_auth_time = old.claims.get("auth_time").is_some();
                    let refreshed = super::session_claims(claims)
                        .filter(|(name, _)| !(keep_auth_time && name == "auth_time"));
                    data.claims = data.claims.merged(refreshed);
                    data.id_token = raw.into();
                }
                // The refresh token is already spent: keep the new tokens (they came from the
                // token endpoint over TLS) with the previous ID token and claims, rather than
                // end the session or replay the old refresh token later.
                Err(error) if error.is_unavailable() => {
                    tracing::warn!(%error, "keys unavailable; keeping the previous ID token after refresh");
                }
                Err(error) => return Err(error),
            }
        }
        apply_tokens(&mut data, tokens, config.refresh_leeway, now);
        Ok(data)
    }
}

/// Errors of a token request for an API that say the grant does not cover it (RFC 6749
/// §5.2, RFC 8707 §2, OpenID Connect Core §3.1.2.6).
const API_REFUSALS: [&str; 5] = [
    "invalid_scope",
    "invalid_target",
    "consent_required",
    "interaction_required",
    "access_denied",
];

/// The session with this API's token from `tokens` (replacing its previous one) and the
/// rotated refresh token; the session's own tokens and ID token stay as they were.
fn with_api_token(
    old: &SessionData,
    api: &crate::ApiConfig,
    tokens: TokenResponse,
    leeway: Duration,
    now: i64,
) -> SessionData {
    let mut data = old.clone();
    let scopes = tokens
        .scope
        .as_deref()
        .map(crate::scope::parse_scope_list)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| api.scopes.clone());
    let token = crate::session::ApiToken {
        api: api.name.as_str().into(),
        audience: crate::session::audience_of(&tokens.access_token),
        access_token: tokens.access_token.into(),
        expires_at: tokens.expires_in.map(|secs| now.saturating_add(secs)),
        refresh_at: tokens.expires_in.map(|secs| {
            let early = duration_secs(leeway).min(secs / 4);
            now.saturating_add(secs - early)
        }),
        scopes: scopes.into(),
    };
    put_api_token(&mut data, token);
    if let Some(rotated) = tokens.refresh_token {
        data.refresh_token = Some(rotated.into());
    }
    data
}

/// Replaces the session's token for the same API with `token`.
fn put_api_token(data: &mut SessionData, token: crate::session::ApiToken) {
    let mut api_tokens: Vec<_> = data
        .api_tokens
        .iter()
        .filter(|t| t.api != token.api)
        .cloned()
        .collect();
    api_tokens.push(token);
    data.api_tokens = api_tokens.into();
}

/// The session with its own access token recorded as this API's (see the `invalid_target`
/// case of `refresh_with_lease`).
fn with_session_token_for(old: &SessionData, api: &crate::ApiConfig) -> SessionData {
    let mut data = old.clone();
    let token = crate::session::ApiToken {
        api: api.name.as_str().into(),
        access_token: old.access_token.clone(),
        expires_at: old.access_expires_at,
        refresh_at: old.refresh_at,
        scopes: old.scopes.clone(),
        audience: old.access_audience.clone(),
    };
    put_api_token(&mut data, token);
    data
}

/// Copies a token response into the session, computing when to refresh next.
pub(crate) fn apply_tokens(
    data: &mut SessionData,
    tokens: TokenResponse,
    leeway: Duration,
    now: i64,
) {
    data.access_expires_at = tokens.expires_in.map(|secs| now.saturating_add(secs));
    data.refresh_at = tokens.expires_in.map(|secs| {
        let early = duration_secs(leeway).min(secs / 4);
        now.saturating_add(secs - early)
    });
    data.access_audience = crate::session::audience_of(&tokens.access_token);
    data.access_token = tokens.access_token.into();
    if let Some(rotated) = tokens.refresh_token {
        data.refresh_token = Some(rotated.into());
    }
    if let Some(scope) = tokens.scope {
        let scopes = crate::scope::parse_scope_list(&scope);
        if !scopes.is_empty() {
            data.scopes = scopes.into();
        }
    }
}
