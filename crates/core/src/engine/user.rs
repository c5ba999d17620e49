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
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("subject", &self.subject())
            .finish_non_exhaustive()
    }
}

impl Authenticated {
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
        }
    }

    /// The token itself, for an `Authorization: Bearer` header. Keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.session.access_token
    }

    /// Expiry in unix seconds, when the provider said.
    pub fn expires_at(&self) -> Option<i64> {
        self.session.access_expires_at
    }

    /// Granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.session.scopes
    }
}
