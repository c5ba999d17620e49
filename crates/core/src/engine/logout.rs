//! `POST /auth/logout` (RP-initiated logout) and `POST /auth/backchannel-logout`.

use std::time::Duration;

use super::{duration_secs, PingOidc, RequestInfo, RequestKind};
use crate::logout_token;
use crate::response::AuthResponse;
use crate::session_cookie;

impl PingOidc {
    /// Whether a state-changing request comes from this site: `Sec-Fetch-Site` same-origin
    /// (or none, typed by the user), else an `Origin` equal to the app's, else `X-CSRF: 1`
    /// (which a cross-site form cannot send).
    pub(crate) fn is_same_site_request<R: RequestInfo + ?Sized>(&self, request: &R) -> bool {
        if let Some(own) = super::fetched_by_this_site(request) {
            return own;
        }
        if let Some(origin) = request.header("origin") {
            return origin == self.inner.config.app_origin;
        }
        request.header("x-csrf") == Some("1")
    }

    #[tracing::instrument(name = "ping_oidc.logout", skip_all)]
    pub(crate) async fn logout<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        let kind = RequestKind::of(request);
        if !self.is_same_site_request(request) {
            tracing::warn!("cross-site sign-out refused");
            return match kind {
                RequestKind::Navigation => AuthResponse::page(
                    403,
                    "Sign-out refused",
                    "Sign-out requests must come from this site. Use the sign-out button.",
                    Some(("/", "Home")),
                ),
                RequestKind::Api => AuthResponse::json_error(
                    403,
                    "cross_site_request",
                    "Sign-out must come from this site.",
                ),
            };
        }
        let inner = &self.inner;
        let config = &inner.config;
        let mut id_token_hint = None;
        if let Some(id) = self.session_id_from(request) {
            match self.load_session(id, self.now()).await {
                Ok(Some(session)) => {
                    self.revoke_tokens(&session.data).await;
                    match (
                        &session.data.provider_cookies,
                        self.end_session_url(&session.data.id_token),
                    ) {
                        // A redirect-less sign-in: the provider session is in the server's
                        // cookies, not the browser's, so it is ended from here.
                        (Some(provider_cookies), Some(url)) => {
                            self.end_provider_session_from_server(provider_cookies, &url)
                                .await
                        }
                        _ => id_token_hint = Some(session.data.id_token.clone()),
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "session store unavailable at sign-out; the cookie is cleared anyway")
                }
            }
            if let Err(error) = inner.store.delete(id.as_str()).await {
                tracing::warn!(%error, "could not delete the session at sign-out");
            }
        }
        let target = match id_token_hint {
            Some(hint) => self
                .end_session_url(&hint)
                .unwrap_or_else(|| config.post_logout_redirect.clone()),
            None => config.post_logout_redirect.clone(),
        };
        tracing::info!("signed out");
        let response = match kind {
            RequestKind::Navigation => AuthResponse::redirect(303, &target),
            RequestKind::Api => {
                AuthResponse::json(200, serde_json::json!({ "logout_url": target }))
            }
        };
        response.with_cookies([session_cookie::session_cookie_removal(config)])
    }

    /// Revokes the refresh token, the access token and every API's token (RFC 7009).
    /// Failures are logged, never fatal.
    pub(super) async fn revoke_tokens(&self, data: &crate::session::SessionData) {
        let inner = &self.inner;
        let Ok(provider) = self.provider() else {
            tracing::warn!("the provider is not reachable yet; the tokens are not revoked");
            return;
        };
        let refresh = async {
            match &data.refresh_token {
                Some(token) => provider.revoke(&inner.config, token, "refresh_token").await,
                None => Ok(false),
            }
        };
        let access = provider.revoke(&inner.config, &data.access_token, "access_token");
        // A few at most: one after the other, beside the two above.
        let apis = async {
            let mut failures = Vec::new();
            for token in data.api_tokens.iter() {
                let revoked = provider
                    .revoke(&inner.config, &token.access_token, "access_token")
                    .await;
                if let Err(error) = revoked {
                    failures.push(error);
                }
            }
            failures
        };
        let (refresh, access, api_failures) = tokio::join!(refresh, access, apis);
        for (what, result) in [("refresh token", refresh), ("access token", access)] {
            if let Err(error) = result {
                tracing::info!(token = what, %error, "revocation failed; signing out anyway");
            }
        }
        for error in api_failures {
            tracing::info!(token = "API access token", %error, "revocation failed; signing out anyway");
        }
    }

    /// The provider's end-session URL: the configured one, else `end_session_endpoint`, else
    /// PingFederate's `ping_end_session_endpoint` (which takes `TargetResource`).
    fn end_session_url(&self, id_token_hint: &str) -> Option<String> {
        let config = &self.inner.config;
        let provider = self.provider().ok()?;
        let metadata = &provider.metadata;
        let (endpoint, ping_slo) =
            match (&config.end_session_endpoint, &metadata.end_session_endpoint) {
                (Some(url), _) | (None, Some(url)) => (url.as_str(), false),
                (None, None) => (metadata.ping_end_session_endpoint.as_deref()?, true),
            };
        let mut url = url::Url::parse(endpoint).ok()?;
        {
            let mut query = url.query_pairs_mut();
            if ping_slo {
                query.append_pair("TargetResource", &config.post_logout_redirect);
            } else {
                // No `state` (RP-Initiated Logout 1.0 §2, optional): the provider returns to the
                // app's own page, which nothing here reads, so it could not be checked and
                // would only be left in the address bar.
                query
                    .append_pair("id_token_hint", id_token_hint)
                    .append_pair("post_logout_redirect_uri", &config.post_logout_redirect)
                    .append_pair("client_id", &config.client_id);
            }
        }
        Some(url.into())
    }

    /// Ends every session named by a valid logout token. A bad token gets 400 and changes
    /// nothing.
    #[tracing::instrument(name = "ping_oidc.backchannel_logout", skip_all)]
    pub(crate) async fn backchannel_logout<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        let bad = |reason: &str| {
            tracing::warn!(reason, "back-channel logout rejected");
            AuthResponse::json_error(400, "invalid_request", reason)
        };
        let form = request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return bad("the body must be application/x-www-form-urlencoded");
        }
        let mut tokens = url::form_urlencoded::parse(body)
            .filter(|(k, _)| k == "logout_token")
            .map(|(_, v)| v);
        let (Some(token), None) = (tokens.next(), tokens.next()) else {
            return bad("exactly one logout_token is required");
        };
        let inner = &self.inner;
        let config = &inner.config;
        let skew = duration_secs(config.clock_skew);
        let expect = logout_token::LogoutExpectations {
            issuer: &config.issuer,
            client_id: &config.client_id,
            trusted_audiences: &config.trusted_audiences,
            now: self.now(),
            skew,
            max_age: duration_secs(config.logout_token_max_age),
        };
        let verified = match self.provider() {
            Ok(provider) => {
                logout_token::verify(&provider.keys, &provider.http, &token, &expect).await
            }
            Err(_) => Err(crate::TokenError::KeysUnavailable("not reached yet".into())),
        };
        let verified = match verified {
            Ok(verified) => verified,
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, "back-channel logout: provider keys unavailable");
                return AuthResponse::json_error(
                    503,
                    "temporarily_unavailable",
                    "provider keys unavailable",
                )
                .with_header("retry-after", "5");
            }
            Err(error) => return bad(&error.to_string()),
        };
        let store = &inner.store;
        let unavailable = |error: crate::error::StoreError| {
            tracing::warn!(%error, "back-channel logout: session store unavailable");
            AuthResponse::json_error(503, "temporarily_unavailable", "session store unavailable")
                .with_header("retry-after", "5")
        };
        // §2.6 step 8 (replays): the `jti` is checked now but remembered only after the
        // sessions are gone, so that a store failure answers 503 and the provider's retry of
        // the same token still works.
        let marker = format!("jti:{}", verified.jti);
        match store.is_consumed(&marker).await {
            Ok(false) => {}
            Ok(true) => return bad("this logout token was already used"),
            Err(error) => return unavailable(error),
        }
        let ended = match (&verified.sid, &verified.subject) {
            (Some(sid), _) => store.delete_by_sid(sid).await,
            (None, Some(subject)) => store.delete_by_subject(subject).await,
            (None, None) => Ok(0),
        };
        let count = match ended {
            Ok(count) => count,
            Err(error) => return unavailable(error),
        };
        let ttl = verified.refused_after.saturating_sub(expect.now).max(1);
        let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or(1));
        match store.consume_once(&marker, ttl).await {
            Ok(true) => {}
            // A concurrent delivery of the same token finished first: it ended the same
            // sessions, so this one reports as a replay.
            Ok(false) => return bad("this logout token was already used"),
            // Unremembered, the token could end a later session of the same `sid`: answer
            // 503 so that the provider retries and the retry records it.
            Err(error) => return unavailable(error),
        }
        tracing::info!(sessions = count, "back-channel logout");
        AuthResponse::json(200, serde_json::json!({ "sessions_ended": count }))
    }
}
