//! What handlers get: the signed-in user and the access token.

use std::sync::Arc;

use serde_json::Value;

use super::{PingOidc, Rejection, RequestKind};
use crate::session::SessionData;
use crate::session_cookie::SessionId;
use crate::store::LoadedSession;

/// A signed-in user, as extractors hand it to handlers.
#[derive(Clone)]
pub struct Authenticated {
    pub(super) engine: PingOidc,
    pub(super) session_id: SessionId,
    pub(super) session: LoadedSession,
    /// When the guard found the session fresh (unix seconds): its API-token check reuses it,
    /// so that a request answered at once reads the clock once.
    pub(super) checked_at: i64,
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("subject", &self.subject())
            .finish_non_exhaustive()
    }
}

impl Authenticated {
    /// The engine that signed this user in: for [`PingOidc::worker`] in a handler.
    pub fn engine(&self) -> &PingOidc {
        &self.engine
    }

    /// The user's subject (`sub`).
    pub fn subject(&self) -> &str {
        &self.session.data.subject
    }

    /// The ID token and userinfo claims, merged.
    pub fn claims(&self) -> &crate::Claims {
        &self.session.data.claims
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.session.data.claims.get(name)
    }

    /// Whether the session's access token carries every scope in `required`.
    pub fn has_scopes(&self, required: &[&str]) -> bool {
        crate::scope::missing(&self.session.data.scopes, required).is_empty()
    }

    /// Scopes granted to the session's access token.
    pub fn scopes(&self) -> &[String] {
        &self.session.data.scopes
    }

    /// The whole session record.
    pub fn session(&self) -> &SessionData {
        &self.session.data
    }

    /// The access token as of this request; it was refreshed before the handler ran when it
    /// had expired or was about to.
    pub fn access_token(&self) -> AccessToken {
        AccessToken::from_session(&self.session.data)
    }

    /// The token for the API named `name` ([`ConfigBuilder::api`](crate::ConfigBuilder::api))
    /// as of this request: the session's own token when it serves (no resource of its own,
    /// every scope granted), else the API's token the session holds. `None` when the session
    /// has none yet: a route extracting `ScopedToken<A>` always has it; elsewhere use
    /// [`fresh_api_token`](Self::fresh_api_token).
    pub fn api_token(&self, name: &str) -> Option<AccessToken> {
        let data = &self.session.data;
        let api = self.engine.inner.config.api(name)?;
        if api.served_by_session_token(&data.scopes) {
            return Some(self.access_token());
        }
        let index = data.api_token_index(name)?;
        Some(AccessToken {
            session: Arc::clone(data),
            api: Some(index),
        })
    }

    /// The token a `ScopedToken<S>` yields: the API's own for an [`api!`](crate::api) type,
    /// else the session's.
    pub fn token_for<S: crate::RequiredScopes>(&self) -> AccessToken {
        S::API
            .and_then(|api| self.api_token(api))
            .unwrap_or_else(|| self.access_token())
    }

    /// A token for the API named `name` that is fresh now, got (or renewed) with the refresh
    /// token when needed: once per session and API however many ask, across instances too.
    pub async fn fresh_api_token(&self, name: &str) -> Result<AccessToken, Rejection> {
        let engine = &self.engine;
        let config = &engine.inner.config;
        let Some(index) = config.apis.iter().position(|api| api.name == name) else {
            return Err(engine.unknown_api(name));
        };
        let api = &config.apis[index];
        if self.session.data.serves_api(api, engine.now()) {
            if let Some(token) = self.api_token(name) {
                return Ok(token);
            }
        }
        // No resource of its own: the session's token serves it, and lacks its scopes (a
        // refresh cannot add them; see `PingOidc::authenticate_api`).
        if api.resource.is_none() {
            return Err(engine.refresh_rejection(
                RequestKind::Api,
                super::refresh::RefreshFailure::ApiRefused(index),
            ));
        }
        let loaded = engine
            .fetch_api_token(self.session_id.verified(), index)
            .await
            .map_err(|failure| engine.refresh_rejection(RequestKind::Api, failure))?;
        let user = Authenticated {
            engine: engine.clone(),
            session_id: self.session_id.clone(),
            session: loaded,
            checked_at: engine.now(),
        };
        user.api_token(name).ok_or_else(|| {
            engine.unavailable(RequestKind::Api, super::RejectionKind::ProviderUnavailable)
        })
    }

    /// An access token that is fresh now, refreshing first when needed (for long handlers).
    pub async fn fresh_access_token(&self) -> Result<AccessToken, Rejection> {
        let now = self.engine.now();
        if !self.session.data.needs_refresh(now) {
            return Ok(self.access_token());
        }
        let loaded = self
            .engine
            .refresh_session(self.session_id.verified(), RequestKind::Api)
            .await?;
        Ok(AccessToken::from_session(&loaded.data))
    }
}

/// An access token with its expiry and scopes.
///
/// It shares the session record it came from (one reference count, no copy of the token
/// or the scopes), as it was when the token was read: a later refresh does not change it.
#[derive(Clone)]
pub struct AccessToken {
    session: Arc<SessionData>,
    /// The API token's index in the session, or the session's own token.
    api: Option<usize>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at())
            .field("scopes", &self.scopes())
            .finish()
    }
}

impl AccessToken {
    pub(crate) fn from_session(data: &Arc<SessionData>) -> Self {
        Self {
            session: Arc::clone(data),
            api: None,
        }
    }

    fn api_token(&self) -> Option<&crate::session::ApiToken> {
        self.api.and_then(|i| self.session.api_tokens.get(i))
    }

    /// The token itself, for an `Authorization: Bearer` header. Keep it out of logs.
    pub fn secret(&self) -> &str {
        match self.api_token() {
            Some(token) => &token.access_token,
            None => &self.session.access_token,
        }
    }

    /// Expiry in unix seconds, when the provider said.
    pub fn expires_at(&self) -> Option<i64> {
        match self.api_token() {
            Some(token) => token.expires_at,
            None => self.session.access_expires_at,
        }
    }

    /// Granted scopes.
    pub fn scopes(&self) -> &[String] {
        match self.api_token() {
            Some(token) => &token.scopes,
            None => &self.session.scopes,
        }
    }

    /// The audiences the token names (a JWT access token's `aud`; empty for an opaque
    /// token), read once when the token arrived. Not verified: the token is for the API it
    /// names, which checks it. Use it to tell where a token goes, never to authorise.
    pub fn audience(&self) -> &[String] {
        match self.api_token() {
            Some(token) => &token.audience,
            None => &self.session.access_audience,
        }
    }

    /// The API this token is for, or `None` for the session's own token.
    pub fn api(&self) -> Option<&str> {
        self.api_token().map(|token| &*token.api)
    }
}
