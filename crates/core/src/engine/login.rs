//! `GET /auth/login` and `GET /auth/callback`: the authorization code flow with PKCE.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::refresh::apply_tokens;
use super::{duration_secs, PingOidc, RequestInfo};
use crate::crypto::{pkce_challenge, random_token};
use crate::error::{ProviderError, TokenError};
use crate::provider::sanitize_code;
use crate::response::AuthResponse;
use crate::session::SessionData;
use crate::session_cookie;
use crate::transaction::{self, LoginTransaction, LIFETIME_SECS};

/// Prompts a login link may ask for.
const PROMPTS: [&str; 4] = ["login", "consent", "select_account", "none"];
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The callback's query, each parameter at most once.
#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackParams {
    fn parse(query: &str) -> Result<Self, &'static str> {
        if query.len() > MAX_QUERY_BYTES {
            return Err("The sign-in response is too large.");
        }
        let mut params = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return Err("The sign-in response repeats a parameter.");
            }
            *slot = Some(value.into_owned());
        }
        Ok(params)
    }
}

/// Parses a callback query as the callback does (for the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_callback_query(query: &str) -> bool {
    CallbackParams::parse(query).is_ok()
}

/// A refused callback: the status, what the user reads, and what the log says.
pub(super) struct CallbackFailure {
    pub(super) status: u16,
    pub(super) message: String,
    pub(super) reason: String,
}

impl CallbackFailure {
    pub(super) fn new(status: u16, message: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            reason: reason.into(),
        }
    }

    /// An authorization response carrying `error` (RFC 6749 §4.1.2.1): `access_denied` is
    /// the user's or the policy's no (403), anything else a refused request (400).
    pub(super) fn provider_refused(error: &str) -> Self {
        let code = sanitize_code(error);
        let (status, message) = if code == "access_denied" {
            (
                403,
                "Sign-in was cancelled or access was denied.".to_string(),
            )
        } else {
            (
                400,
                format!("The identity provider could not sign you in ({code})."),
            )
        };
        Self::new(status, message, format!("provider returned error {code}"))
    }

    pub(super) fn provider(error: ProviderError, what: &str) -> Self {
        match error {
            ProviderError::Unreachable(_) => Self::new(
                503,
                "The identity provider cannot be reached right now. Try signing in again shortly.",
                format!("{what}: {error}"),
            ),
            other => Self::new(
                502,
                "The identity provider did not complete the sign-in.",
                format!("{what}: {other}"),
            ),
        }
    }

    fn store(error: crate::error::StoreError) -> Self {
        Self::new(
            503,
            "Sessions are unavailable right now. Try again shortly.",
            error.to_string(),
        )
    }

    fn token(error: TokenError) -> Self {
        if error.is_unavailable() {
            // The code is spent by now: a retry of this callback cannot work, a new sign-in can.
            Self::new(
                503,
                "The identity provider cannot be reached right now. Sign in again shortly.",
                error.to_string(),
            )
        } else {
            Self::new(
                502,
                "The sign-in response failed a security check.",
                format!("ID token rejected: {error}"),
            )
        }
    }
}

/// 503 while the provider has not been reached since start.
/// Sign-in could not begin for a reason of ours (no randomness, a cookie or a signature
/// not made).
fn sign_in_could_not_start() -> AuthResponse {
    AuthResponse::page(
        503,
        "Temporarily unavailable",
        "Sign-in could not start. Try again.",
        None,
    )
}

fn provider_unreachable_page() -> AuthResponse {
    AuthResponse::page(
        503,
        "Temporarily unavailable",
        "The identity provider cannot be reached right now. Try signing in again shortly.",
        None,
    )
    .with_header("retry-after", "5")
}

impl PingOidc {
    /// Ends the session a new sign-in replaces. When another user signs in over it (a shared
    /// computer), its tokens are revoked in the background. The same user's old tokens are
    /// left to expire: a provider may revoke a whole grant with one of its tokens (RFC 7009
    /// §2.1), and two sign-ins in one provider session may share it (oidc-provider's do).
    async fn replace_session(
        &self,
        old_id: crate::session_cookie::VerifiedSessionId<'_>,
        new_subject: &str,
        now: i64,
    ) {
        let old = match self.load_session(old_id, now).await {
            Ok(old) => old,
            Err(error) => {
                tracing::warn!(%error, "could not read the replaced session");
                None
            }
        };
        if let Err(error) = self.inner.store.delete(old_id.as_str()).await {
            tracing::warn!(%error, "could not delete the replaced session");
        }
        let Some(old) = old.filter(|old| old.data.subject() != new_subject) else {
            return;
        };
        tracing::info!("another user signed in over a session; revoking its tokens");
        let engine = self.clone();
        let revoke = async move { engine.revoke_tokens(&old.data).await };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(revoke)),
            Err(_) => revoke.await,
        }
    }
}

fn replayed() -> CallbackFailure {
    CallbackFailure::new(
        400,
        "This sign-in response was already used. Start again.",
        "replayed callback",
    )
}

impl PingOidc {
    /// Starts sign-in: a fresh state, nonce and PKCE verifier in a per-attempt cookie, then a
    /// redirect to the provider.
    #[tracing::instrument(name = "ping_oidc.login", skip_all)]
    pub(crate) async fn login<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        let config = &self.inner.config;
        let Ok(provider) = self.provider() else {
            return provider_unreachable_page();
        };
        let mut return_to = None;
        let mut extra_scopes = Vec::new();
        let mut prompt = None;
        let mut apis: Vec<&crate::ApiConfig> = Vec::new();
        let mut acr_values: Option<String> = None;
        let mut max_age: Option<u64> = None;
        for (key, value) in url::form_urlencoded::parse(request.query().unwrap_or("").as_bytes()) {
            match key.as_ref() {
                // Consent for APIs' tokens: their scopes, and their resources (RFC 8707 §2.1,
                // which allows several). A refresh token only covers the scopes its sign-in
                // asked for, so a new consent names the APIs already in use too.
                "api" => {
                    let Some(known) = config.api(&value) else {
                        tracing::info!("unknown api in a sign-in request ignored");
                        continue;
                    };
                    if apis.iter().any(|api| api.name == known.name) {
                        continue;
                    }
                    for scope in &known.scopes {
                        if !config.scopes.contains(scope) && !extra_scopes.contains(scope) {
                            extra_scopes.push(scope.clone());
                        }
                    }
                    apis.push(known);
                }
                "return_to" if return_to.is_none() => return_to = Some(value.into_owned()),
                "scope" => {
                    for scope in crate::scope::parse_scope_list(&value) {
                        if !config.scopes.contains(&scope) && !extra_scopes.contains(&scope) {
                            extra_scopes.push(scope);
                        }
                    }
                }
                "prompt" if PROMPTS.contains(&value.as_ref()) => prompt = Some(value.into_owned()),
                // Step-up (OIDC Core §3.1.2.1). Only sign-on policies the app allows: a weaker
                // one chosen by the browser could skip the app's MFA.
                "acr_values" if acr_values.is_none() => {
                    let allowed = value.len() <= 256
                        && value
                            .split(' ')
                            .all(|acr| config.allowed_acr_values.iter().any(|a| a == acr));
                    if !allowed {
                        return AuthResponse::page(
                            400,
                            "Sign-in could not start",
                            "This sign-in asks for an authentication level the app does not allow (ConfigBuilder::allowed_acr_values).",
                            Some(("/", "Home")),
                        );
                    }
                    acr_values = Some(value.into_owned());
                }
                "max_age" if max_age.is_none() => {
                    // At most a year; anything else is ignored.
                    max_age = value.parse::<u64>().ok().filter(|m| *m <= 366 * 86_400);
                }
                _ => {}
            }
        }
        let return_to = match return_to.as_deref().map(crate::return_to::sanitize) {
            Some(Some(path)) if path.len() > transaction::MAX_RETURN_TO_BYTES => {
                tracing::info!("return_to refused (too long); using the default");
                config.default_return_to.clone()
            }
            Some(Some(path)) => path,
            Some(None) => {
                tracing::info!("return_to refused (not a same-origin path); using the default");
                config.default_return_to.clone()
            }
            None => config.default_return_to.clone(),
        };
        // Bounded so that the transaction cookie stays well under 4 KB.
        extra_scopes.retain(|scope| scope.len() <= 64);
        extra_scopes.truncate(8);
        let Some(mut tx) = LoginTransaction::new(return_to, extra_scopes, self.now()) else {
            return sign_in_could_not_start();
        };
        tx.apis = apis.iter().map(|api| api.name.clone()).collect();
        tx.silent = prompt.as_deref() == Some("none");
        tx.acr_values = acr_values
            .as_deref()
            .map(|v| v.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        tx.max_age = max_age;
        let max_age_text = max_age.map(|m| m.to_string());
        let (Some(tx_cookie), Ok(mut url)) = (
            tx.to_cookie(config),
            url::Url::parse(&provider.metadata.authorization_endpoint),
        ) else {
            return sign_in_could_not_start();
        };
        let mut scope = config.scopes.join(" ");
        for extra in &tx.extra_scopes {
            scope.push(' ');
            scope.push_str(extra);
        }
        let redirect_uri = config.redirect_uri();
        let challenge = pkce_challenge(&tx.verifier);
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &config.client_id),
            ("redirect_uri", &redirect_uri),
            ("scope", &scope),
            ("state", &tx.state),
            ("nonce", &tx.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(prompt) = &prompt {
            params.push(("prompt", prompt));
        }
        for resource in apis.iter().filter_map(|api| api.resource.as_deref()) {
            params.push(("resource", resource));
        }
        if let Some(acr_values) = &acr_values {
            params.push(("acr_values", acr_values));
        }
        if let Some(max_age) = &max_age_text {
            params.push(("max_age", max_age));
        }
        let metadata = &provider.metadata;
        let push = match config.par {
            _ if metadata.require_pushed_authorization_requests => true,
            crate::Par::Always => true,
            crate::Par::Auto => metadata.pushed_authorization_request_endpoint.is_some(),
            _ => false,
        };
        // RFC 9101 §4: the whole request as a signed JWT. Beside it only `client_id` when
        // pushed (RFC 9126 §3), and by value also OIDC Core §6.1's `response_type` and `scope`.
        let request_object = match (config.request_object, &config.client_key) {
            (crate::RequestObject::Signed, Some(key)) => {
                let signed = crate::client_key::request_object_claims(
                    &config.client_id,
                    &metadata.issuer,
                    &params,
                )
                .and_then(|claims| key.sign_jwt(Some("oauth-authz-req+jwt"), &claims));
                let Some(signed) = signed else {
                    return sign_in_could_not_start();
                };
                Some(signed)
            }
            _ => None,
        };
        if let Some(signed) = &request_object {
            params = if push {
                vec![("client_id", &config.client_id), ("request", signed)]
            } else {
                vec![
                    ("response_type", "code"),
                    ("client_id", &config.client_id),
                    ("scope", &scope),
                    ("request", signed),
                ]
            };
        }
        if push {
            // RFC 9126 §4: only `client_id` and `request_uri` go through the browser.
            let Some(endpoint) = &metadata.pushed_authorization_request_endpoint else {
                tracing::error!("pushed authorization requests are required, but the provider advertises no endpoint");
                return AuthResponse::page(
                    500,
                    "Sign-in is misconfigured",
                    "Pushed authorization requests are required, but the identity provider has no endpoint for them.",
                    None,
                );
            };
            let request_uri = match provider
                .push_authorization_request(config, endpoint, &params)
                .await
            {
                Ok(request_uri) => request_uri,
                Err(error) => {
                    tracing::warn!(%error, "the provider refused the pushed authorization request");
                    let status = if matches!(error, crate::ProviderError::Unreachable(_)) {
                        503
                    } else {
                        502
                    };
                    return AuthResponse::page(
                        status,
                        "Sign-in could not start",
                        "The identity provider refused the sign-in request. Try again later, or tell the site's administrators.",
                        Some(("/", "Home")),
                    );
                }
            };
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id)
                .append_pair("request_uri", &request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(params.iter().copied());
        }
        tracing::info!(extra_scopes = tx.extra_scopes.len(), "sign-in started");
        let mut set_cookies = transaction::make_room(config, request.cookie_headers(), self.now());
        set_cookies.push(tx_cookie);
        AuthResponse::redirect(302, url.as_str()).with_cookies(set_cookies)
    }

    /// Finishes sign-in. On any failure nothing is created and the user gets a clear page.
    #[tracing::instrument(name = "ping_oidc.callback", skip_all)]
    pub(crate) async fn callback<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        let params = CallbackParams::parse(request.query().unwrap_or(""));
        let state = params.as_ref().ok().and_then(|p| p.state.clone());
        let clear_tx = state
            .as_deref()
            .and_then(|s| transaction::removal(&self.inner.config, s));
        let result = match params {
            Ok(params) => self.finish_sign_in(request, params).await,
            Err(message) => Err(CallbackFailure::new(400, message, message)),
        };
        let response = match result {
            Ok(response) => response,
            Err(failure) => {
                tracing::warn!(status = failure.status, reason = %failure.reason, "sign-in rejected");
                let mut page = AuthResponse::page(
                    failure.status,
                    "Sign-in failed",
                    &failure.message,
                    Some((&self.login_url(None), "Sign in again")),
                );
                if failure.status == 503 {
                    page = page.with_header("retry-after", "5");
                }
                page
            }
        };
        response.with_cookies(clear_tx)
    }

    async fn finish_sign_in<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        params: CallbackParams,
    ) -> Result<AuthResponse, CallbackFailure> {
        let inner = &self.inner;
        let config = &inner.config;
        let provider = self
            .provider()
            .map_err(|e| CallbackFailure::provider(e, "provider"))?;
        let metadata = &provider.metadata;
        let state = params.state.ok_or_else(|| {
            CallbackFailure::new(400, "The sign-in response has no state.", "missing state")
        })?;
        let tx = transaction::open(config, request.cookie_headers(), &state).ok_or_else(|| {
            CallbackFailure::new(
                400,
                "This sign-in attempt is unknown or has expired. Start again.",
                "no transaction cookie matches the state (state mismatch, expired, or another browser)",
            )
        })?;
        let now = self.now();
        if tx.is_expired(now) {
            return Err(CallbackFailure::new(
                400,
                "This sign-in attempt has expired. Start again.",
                "transaction expired",
            ));
        }
        // RFC 9207: the `iss` parameter, when sent or promised, must be our issuer.
        match &params.iss {
            Some(iss) if iss != &config.issuer => {
                return Err(CallbackFailure::new(
                    400,
                    "The sign-in response came from the wrong provider.",
                    "iss parameter mismatch",
                ))
            }
            None if metadata.authorization_response_iss_parameter_supported => {
                return Err(CallbackFailure::new(
                    400,
                    "The sign-in response is incomplete.",
                    "iss parameter missing",
                ))
            }
            _ => {}
        }
        if let Some(error) = &params.error {
            // OpenID Connect Core §3.1.2.6: a silent check that found no provider session
            // (or one that needs the user) comes back signed out, with no error page.
            const NOT_SIGNED_IN: [&str; 4] = [
                "login_required",
                "interaction_required",
                "consent_required",
                "account_selection_required",
            ];
            if tx.silent && NOT_SIGNED_IN.contains(&error.as_str()) {
                tracing::info!(error = %error, "silent check: not signed in at the provider");
                return Ok(AuthResponse::redirect(303, &tx.return_to));
            }
            return Err(CallbackFailure::provider_refused(error));
        }
        let code = params.code.filter(|c| !c.is_empty()).ok_or_else(|| {
            CallbackFailure::new(400, "The sign-in response has no code.", "missing code")
        })?;
        let attempt = Attempt {
            state: &state,
            nonce: &tx.nonce,
            verifier: &tx.verifier,
            extra_scopes: &tx.extra_scopes,
            apis: &tx.apis,
            acr_values: &tx.acr_values,
            max_age: tx.max_age,
            provider_cookies: None,
        };
        let signed_in = self.redeem_code(request, &code, attempt).await?;
        if !signed_in.not_granted.is_empty() {
            // Redirecting back would ask again forever; say what is missing instead.
            let message = format!(
                "You are signed in, but the provider did not grant the access this page needs ({}).",
                signed_in.not_granted
            );
            return Ok(AuthResponse::page(
                403,
                "More access needed",
                &message,
                Some(("/", "Home")),
            )
            .with_cookies([signed_in.session_cookie]));
        }
        Ok(AuthResponse::redirect(303, &tx.return_to).with_cookies([signed_in.session_cookie]))
    }

    /// OIDC Core 3.1.3: exchanges a code and verifies its ID token, then creates the session.
    /// Both ways of signing in end here (the redirect callback, the redirect-less flow), so
    /// every check runs for both. On any failure nothing is created.
    pub(super) async fn redeem_code<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        code: &str,
        attempt: Attempt<'_>,
    ) -> Result<SignedIn, CallbackFailure> {
        let inner = &self.inner;
        let config = &inner.config;
        let provider = self
            .provider()
            .map_err(|e| CallbackFailure::provider(e, "provider"))?;
        let now = self.now();
        let state = attempt.state;
        // Single use. Only a read here: the marker is written after the provider exchanged
        // the code, so requests that fail before (no code, a wrong code) write nothing and a
        // flood of them cannot fill the store or lock anyone out.
        let marker = format!("tx:{state}");
        if inner
            .store
            .is_consumed(&marker)
            .await
            .map_err(CallbackFailure::store)?
        {
            return Err(replayed());
        }

        let tokens = provider
            .exchange_code(config, code, attempt.verifier)
            .await
            .map_err(|e| CallbackFailure::provider(e, "code exchange"))?;
        let first_use = inner
            .store
            .consume_once(&marker, Duration::from_secs(LIFETIME_SECS as u64 + 60))
            .await
            .map_err(CallbackFailure::store)?;
        if !first_use {
            return Err(replayed()); // another request with this state finished first
        }
        let id_token = tokens.id_token.clone().ok_or_else(|| {
            CallbackFailure::new(
                502,
                "The identity provider did not complete the sign-in.",
                "token response has no id_token",
            )
        })?;
        let verified = self
            .verify_id_token(
                &id_token,
                &tokens.access_token,
                Some(attempt.nonce),
                None,
                now,
            )
            .await
            .map_err(CallbackFailure::token)?;
        let subject = verified.subject().to_string();
        let sid = verified.sid().map(str::to_string);
        let (raw_id_token, id_claims) = verified.into_parts();
        // OIDC Core §3.1.2.1 and §3.1.3.7 (items 12, 13): what a step-up asked for is what
        // the provider did, or no session: a lower `acr`, or an authentication older than
        // `max_age` (`auth_time` is then required), is refused.
        if !attempt.acr_values.is_empty() {
            let acr = id_claims.get("acr").and_then(Value::as_str);
            if !acr.is_some_and(|acr| attempt.acr_values.iter().any(|a| a == acr)) {
                return Err(CallbackFailure::new(
                    403,
                    "The sign-in did not reach the authentication level this page needs.",
                    "ID token acr is not one of the acr_values asked for",
                ));
            }
        }
        if let Some(max_age) = attempt.max_age {
            let skew = duration_secs(config.clock_skew);
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            let recent = id_claims
                .get("auth_time")
                .and_then(Value::as_i64)
                .is_some_and(|at| now.saturating_sub(at) <= max_age.saturating_add(skew));
            if !recent {
                return Err(CallbackFailure::new(
                    403,
                    "The sign-in was not recent enough for this page. Sign in again.",
                    "ID token auth_time missing or older than max_age",
                ));
            }
        }
        let mut claims: Map<String, Value> = super::session_claims(id_claims).collect();
        if config.fetch_userinfo {
            let userinfo = provider
                .userinfo(&tokens.access_token)
                .await
                .map_err(|e| CallbackFailure::provider(e, "userinfo"))?;
            if let Some(userinfo) = userinfo {
                if userinfo.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                    return Err(CallbackFailure::new(
                        502,
                        "The sign-in response failed a security check.",
                        "userinfo sub differs from the ID token's",
                    ));
                }
                claims.extend(userinfo);
            }
        }

        let mut requested = config.scopes.clone();
        requested.extend(attempt.extra_scopes.iter().cloned());
        let mut data = SessionData {
            subject: subject.into(),
            sid: sid.map(Into::into),
            claims: claims.into(),
            id_token: raw_id_token.into(),
            access_token: Box::default(),
            access_expires_at: None,
            access_audience: Box::default(),
            refresh_at: None,
            refresh_token: None,
            scopes: requested.into(),
            created_at: now,
            expires_at: now.saturating_add(duration_secs(config.absolute_lifetime)),
            idle_timeout: duration_secs(config.idle_timeout),
            provider_cookies: attempt.provider_cookies.map(Into::into),
            api_tokens: Box::default(),
            apis_asked: attempt.apis.iter().map(|api| api.as_str().into()).collect(),
        };
        apply_tokens(&mut data, tokens, config.refresh_leeway, now);

        // An API with a resource of its own has its scopes granted to that resource: its
        // token comes later, from the refresh token; they are not the session token's.
        let for_resources = |scope: &String| {
            attempt.apis.iter().any(|name| {
                config
                    .api(name)
                    .is_some_and(|api| api.resource.is_some() && api.scopes.contains(scope))
            })
        };
        let extra: Vec<&str> = attempt
            .extra_scopes
            .iter()
            .filter(|scope| !for_resources(scope))
            .map(String::as_str)
            .collect();
        let not_granted = crate::scope::missing(&data.scopes, &extra).join(" ");

        // A step-up of the same user upgrades the session in place: same id, new tokens and
        // claims (`acr`, `auth_time`). The id was already this user's, so keeping it fixes no
        // session on anyone.
        let step_up = !attempt.acr_values.is_empty() || attempt.max_age.is_some();
        let current = self.session_id_from(request);
        if let (true, Some(old)) = (step_up, current) {
            if let Ok(Some(loaded)) = self.load_session(old, now).await {
                if loaded.data.subject() == data.subject() {
                    let saved = inner
                        .store
                        .update(old.as_str(), Arc::new(data.clone()), loaded.version)
                        .await;
                    if let Ok(crate::store::SaveOutcome::Saved { .. }) = saved {
                        tracing::info!("session upgraded in place (step-up)");
                        return Ok(SignedIn {
                            session_cookie: session_cookie::session_cookie(config, old.as_str()),
                            not_granted,
                        });
                    }
                }
            }
        }
        // Otherwise never reuse a session id from before sign-in.
        if let Some(old) = current {
            self.replace_session(old, &data.subject, now).await;
        }
        let session_id = random_token(32).ok_or_else(|| {
            CallbackFailure::new(503, "Sign-in could not finish. Try again.", "no randomness")
        })?;
        inner
            .store
            .create(&session_id, Arc::new(data), now)
            .await
            .map_err(CallbackFailure::store)?;
        tracing::info!("signed in");
        if !not_granted.is_empty() {
            tracing::info!(scopes = %not_granted, "the provider did not grant the extra scopes");
        }
        Ok(SignedIn {
            session_cookie: session_cookie::session_cookie(config, &session_id),
            not_granted,
        })
    }
}

/// What a sign-in attempt carries from its start to its end: the transaction cookie of a
/// redirect sign-in, the flow record of a redirect-less one.
pub(super) struct Attempt<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    pub verifier: &'a str,
    pub extra_scopes: &'a [String],
    /// The APIs whose consent this sign-in asked for (`/auth/login?api=`).
    pub apis: &'a [String],
    /// Step-up: the `acr` values asked for (the ID token's `acr` must be one).
    pub acr_values: &'a [String],
    /// Step-up: the `max_age` asked for (the ID token's `auth_time` must be within it).
    pub max_age: Option<u64>,
    /// The provider's session cookies after a redirect-less sign-in (sign-out needs them).
    pub provider_cookies: Option<String>,
}

/// A new session.
pub(super) struct SignedIn {
    /// Its `Set-Cookie`.
    pub session_cookie: String,
    /// Extra scopes asked for and not granted, space-separated.
    pub not_granted: String,
}
