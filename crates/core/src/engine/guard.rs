//! Authenticating a request: the session cookie to a session, expiry, touch, then the
//! refresh (`refresh.rs`) when due and the scopes. What needs no waiting is answered at once
//! ([`Immediate`]); the rest carries on from a [`Pending`].

use super::{Authenticated, PingOidc, Rejection, RejectionKind, RequestInfo, RequestKind};
use crate::cookies;
use crate::session_cookie::{SessionId, VerifiedSessionId};
use crate::store::LoadedSession;

/// What a guarded request's first, non-waiting step found.
enum Now {
    /// Signed out (`None`), or a session ready to use.
    Decided(Option<Authenticated>),
    /// The session must be read from a remote store, touched or refreshed.
    MustWait(Pending),
}

/// The answer of [`RequestAuth::authenticate_now`](super::RequestAuth::authenticate_now) and
/// [`RequestAuth::optional_user_now`](super::RequestAuth::optional_user_now): given at once,
/// or the step that must wait.
#[derive(Debug)]
#[must_use]
pub enum Immediate<T> {
    /// The answer, with no waiting.
    Answered(T),
    /// Await [`Pending::authenticate`] (or [`Pending::optional_user`]): it carries on from
    /// here without checking the cookie again.
    MustWait(Pending),
}

impl<T> Immediate<T> {
    /// The answer, when there was one without waiting.
    pub fn into_answer(self) -> Option<T> {
        match self {
            Self::Answered(answer) => Some(answer),
            Self::MustWait(_) => None,
        }
    }
}

/// A guarded request whose session must be read from a remote store, touched or refreshed:
/// the verified session id, for the step that waits.
pub struct Pending {
    engine: PingOidc,
    session_id: SessionId,
}

impl Pending {
    /// The rest of [`RequestAuth::authenticate_now`](super::RequestAuth::authenticate_now)
    /// for the same request, when it had to wait.
    pub async fn authenticate<R: RequestInfo + ?Sized>(
        self,
        request: &R,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        self.authenticate_scopes_or_api(request, required_scopes, None)
            .await
    }

    /// The rest of [`RequestAuth::authenticate_for_now`](super::RequestAuth::authenticate_for_now)
    /// for the same request, when it had to wait: with an API, its token is got first when
    /// the session lacks a fresh one; a step-up is checked last.
    pub async fn authenticate_for<R: RequestInfo + ?Sized>(
        self,
        request: &R,
        need: crate::Requirement,
    ) -> Result<Authenticated, Rejection> {
        let engine = self.engine.clone();
        let user = self
            .authenticate_scopes_or_api(request, need.scopes, need.api)
            .await?;
        if need.is_step_up() {
            return engine.require_authentication(request, user, &need);
        }
        Ok(user)
    }

    async fn authenticate_scopes_or_api<R: RequestInfo + ?Sized>(
        self,
        request: &R,
        required_scopes: &[&str],
        api: Option<&str>,
    ) -> Result<Authenticated, Rejection> {
        let engine = self.engine.clone();
        match api {
            None => {
                engine
                    .authenticate_pending(request, self, required_scopes)
                    .await
            }
            Some(api) => engine.authenticate_api_pending(request, self, api).await,
        }
    }

    /// The rest of [`RequestAuth::optional_user_now`](super::RequestAuth::optional_user_now)
    /// for the same request, when it had to wait.
    pub async fn optional_user<R: RequestInfo + ?Sized>(
        self,
        request: &R,
    ) -> Result<Option<Authenticated>, Rejection> {
        let engine = self.engine.clone();
        engine.optional_user_pending(request, self).await
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session id is a bearer secret: never printed.
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Now {
    fn must_wait(engine: &PingOidc, session_id: VerifiedSessionId<'_>) -> Self {
        Self::MustWait(Pending {
            engine: engine.clone(),
            session_id: SessionId::new(session_id),
        })
    }
}

/// An ended session is no user, for the callers that accept signed-out requests.
fn signed_out_is_none(
    current: Result<Option<Authenticated>, Rejection>,
) -> Result<Option<Authenticated>, Rejection> {
    match current {
        Err(rejection) if rejection.kind() == RejectionKind::SessionEnded => Ok(None),
        other => other,
    }
}

impl PingOidc {
    /// The signed-in user, with the access token refreshed first when it has expired or is
    /// about to, and `required_scopes` checked. The rejection carries the response to send.
    pub async fn authenticate<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        match self.authenticate_now(request, required_scopes) {
            Immediate::Answered(answer) => answer,
            Immediate::MustWait(pending) => {
                self.authenticate_pending(request, pending, required_scopes)
                    .await
            }
        }
    }

    /// [`authenticate`](Self::authenticate)'s answer when it needs no waiting: the session
    /// is held in memory, its access token is fresh and its use need not be recorded yet.
    /// Otherwise (a remote store, a refresh or a touch is due) the [`Pending`] step. Adapters
    /// reach it through [`RequestAuth`](super::RequestAuth), so that most guarded requests
    /// run no future.
    pub(crate) fn authenticate_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        required_scopes: &[&str],
    ) -> Immediate<Result<Authenticated, Rejection>> {
        let user = match self.current_now(request) {
            Ok(Now::Decided(user)) => user,
            Ok(Now::MustWait(pending)) => return Immediate::MustWait(pending),
            Err(rejection) => return Immediate::Answered(Err(rejection)),
        };
        Immediate::Answered(self.require(request, user, required_scopes))
    }

    /// The rest of [`authenticate`](Self::authenticate) after
    /// [`authenticate_now`](Self::authenticate_now) had to wait, for the same request.
    pub(crate) async fn authenticate_pending<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let user = self.current_after_waiting(request, pending).await?;
        self.require(request, user, required_scopes)
    }

    /// [`authenticate`](Self::authenticate) for a route that calls an API: the signed-in user
    /// with a fresh token for the API named `api` ([`ConfigBuilder::api`](crate::ConfigBuilder::api)),
    /// got with the refresh token when the session has none. Read it with
    /// [`Authenticated::api_token`].
    pub async fn authenticate_api<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        api: &str,
    ) -> Result<Authenticated, Rejection> {
        match self.authenticate_api_now(request, api) {
            Immediate::Answered(answer) => answer,
            Immediate::MustWait(pending) => {
                self.authenticate_api_pending(request, pending, api).await
            }
        }
    }

    /// [`authenticate_api`](Self::authenticate_api)'s answer when the session is in memory
    /// and already holds the API's fresh token: as cheap as a scope check.
    pub(crate) fn authenticate_api_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        api: &str,
    ) -> Immediate<Result<Authenticated, Rejection>> {
        let Some(config) = self.inner.config.api(api) else {
            return Immediate::Answered(Err(self.unknown_api(api)));
        };
        let user = match self.current_now(request) {
            Ok(Now::Decided(user)) => user,
            Ok(Now::MustWait(pending)) => return Immediate::MustWait(pending),
            Err(rejection) => return Immediate::Answered(Err(rejection)),
        };
        let Some(user) = user else {
            return Immediate::Answered(Err(self.signed_out(
                request,
                RequestKind::of(request),
                false,
            )));
        };
        if user.session.data.serves_api(config, user.checked_at) {
            return Immediate::Answered(Ok(user));
        }
        if config.resource.is_none() {
            return Immediate::Answered(self.require_api_scopes(request, user, config));
        }
        Immediate::MustWait(Pending {
            engine: self.clone(),
            session_id: user.session_id,
        })
    }

    /// The rest of [`authenticate_api`](Self::authenticate_api) once it had to wait.
    pub(crate) async fn authenticate_api_pending<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
        api: &str,
    ) -> Result<Authenticated, Rejection> {
        let config = &self.inner.config;
        let Some(index) = config.apis.iter().position(|known| known.name == api) else {
            return Err(self.unknown_api(api));
        };
        let kind = RequestKind::of(request);
        let Some(user) = self.current_after_waiting(request, pending).await? else {
            return Err(self.signed_out(request, kind, false));
        };
        let api = &config.apis[index];
        if user.session.data.serves_api(api, user.checked_at) {
            return Ok(user);
        }
        if api.resource.is_none() {
            return self.require_api_scopes(request, user, api);
        }
        let id = user.session_id.verified();
        match Box::pin(self.fetch_api_token(id, index)).await {
            Ok(loaded) => Ok(self.user(id, loaded, self.now())),
            Err(super::refresh::RefreshFailure::ApiRefused(_)) => {
                Err(self.api_refused(request, kind, api, &user.session.data))
            }
            Err(failure) => Err(self.refresh_rejection(kind, failure)),
        }
    }

    /// An API without a resource of its own is served by the session's token, so it needs
    /// the session's scopes: a refresh cannot add scopes the sign-in was not granted
    /// (RFC 6749 §6), a new sign-in asking for them can.
    fn require_api_scopes<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        user: Authenticated,
        api: &crate::ApiConfig,
    ) -> Result<Authenticated, Rejection> {
        let required: Vec<&str> = api.scopes.iter().map(String::as_str).collect();
        self.require(request, Some(user), &required)
    }

    /// The step-up check: the session's `acr` is one the route asks for, and its `auth_time`
    /// recent enough. Otherwise the RFC 9470 answer.
    pub(crate) fn require_authentication<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        user: Authenticated,
        need: &crate::Requirement,
    ) -> Result<Authenticated, Rejection> {
        let acr_ok = need.acr_values.is_empty()
            || user
                .claim("acr")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|acr| need.acr_values.contains(&acr));
        let now = self.now();
        let recent = need.max_age.is_none_or(|max_age| {
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            user.claim("auth_time")
                .and_then(serde_json::Value::as_i64)
                .is_some_and(|at| now.saturating_sub(at) <= max_age)
        });
        if acr_ok && recent {
            return Ok(user);
        }
        Err(self.step_up_needed(request, RequestKind::of(request), need))
    }

    /// A user, or the refusal: signed out, or lacking scopes.
    fn require<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        user: Option<Authenticated>,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        // The request kind (navigation or API) only shapes refusals: it is read then.
        let Some(user) = user else {
            return Err(self.signed_out(request, RequestKind::of(request), false));
        };
        let missing = crate::scope::missing(user.scopes(), required_scopes);
        if !missing.is_empty() {
            return Err(self.insufficient_scope(request, RequestKind::of(request), &missing));
        }
        Ok(user)
    }

    /// The signed-in user if there is one. Errors only when the store or provider is down.
    pub async fn optional_user<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
    ) -> Result<Option<Authenticated>, Rejection> {
        match self.optional_user_now(request) {
            Immediate::Answered(answer) => answer,
            Immediate::MustWait(pending) => self.optional_user_pending(request, pending).await,
        }
    }

    /// [`optional_user`](Self::optional_user)'s answer when it needs no waiting, else the
    /// [`Pending`] step (see [`authenticate_now`](Self::authenticate_now)).
    pub(crate) fn optional_user_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
    ) -> Immediate<Result<Option<Authenticated>, Rejection>> {
        match self.current_now(request) {
            Ok(Now::Decided(user)) => Immediate::Answered(Ok(user)),
            Ok(Now::MustWait(pending)) => Immediate::MustWait(pending),
            Err(rejection) => Immediate::Answered(signed_out_is_none(Err(rejection))),
        }
    }

    /// The rest of [`optional_user`](Self::optional_user) after
    /// [`optional_user_now`](Self::optional_user_now) had to wait, for the same request.
    pub(crate) async fn optional_user_pending<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
    ) -> Result<Option<Authenticated>, Rejection> {
        signed_out_is_none(self.current_after_waiting(request, pending).await)
    }

    /// The session id from a valid, signed session cookie.
    pub(crate) fn session_id_from<'r, R: RequestInfo + ?Sized>(
        &self,
        request: &'r R,
    ) -> Option<VerifiedSessionId<'r>> {
        let config = &self.inner.config;
        let value = cookies::find(request.cookie_headers(), &config.cookie_name)?;
        self.inner.verified_cookies.verify(config, value)
    }

    /// What can be decided about the current session without waiting. `Decided(None)` when
    /// signed out.
    fn current_now<R: RequestInfo + ?Sized>(&self, request: &R) -> Result<Now, Rejection> {
        let Some(id) = self.session_id_from(request) else {
            return Ok(Now::Decided(None));
        };
        // Until the provider is reached once, no session is served: it could be neither
        // refreshed nor ended at the provider. Signed-out requests go on as usual.
        if !self.inner.provider.is_ready() {
            let kind = RequestKind::of(request);
            return Err(self.unavailable(kind, RejectionKind::ProviderUnavailable));
        }
        // One clock read serves the store's expiry check and the guard's own.
        let now = self.now();
        let loaded = match self.inner.store.load_now(id.as_str(), now) {
            None => return Ok(Now::must_wait(self, id)),
            Some(Ok(Some(loaded))) => loaded,
            Some(Ok(None)) => return Ok(Now::Decided(None)),
            Some(Err(error)) => return Err(self.store_down(request, error)),
        };
        if self.touch_due(&loaded, now) || loaded.data.needs_refresh(now) {
            return Ok(Now::must_wait(self, id));
        }
        Ok(Now::Decided(Some(self.user(id, loaded, now))))
    }

    /// The current session when reading, touching or refreshing it waits on the store or
    /// the provider, refreshed when due. `Ok(None)` when signed out.
    async fn current_after_waiting<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
    ) -> Result<Option<Authenticated>, Rejection> {
        let id = pending.session_id.verified();
        let now = self.now();
        let loaded = match self.load_session(id, now).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return Ok(None),
            Err(error) => return Err(self.store_down(request, error)),
        };
        if self.touch_due(&loaded, now) {
            if let Err(error) = self.inner.store.touch(id.as_str(), now).await {
                tracing::warn!(%error, "could not record session use");
            }
        }
        let loaded = if loaded.data.needs_refresh(now) {
            // Boxed: the refresh's state is large and rare, and would otherwise be carried
            // (and copied) by every guarded request's future.
            Box::pin(self.refresh_session(id, RequestKind::of(request))).await?
        } else {
            loaded
        };
        // Read again: the store or a refresh may have taken a while.
        Ok(Some(self.user(id, loaded, self.now())))
    }

    /// Whether the session's last use is old enough to be recorded again (the idle timeout
    /// slides in steps of the touch interval, not at every request).
    fn touch_due(&self, loaded: &LoadedSession, now: i64) -> bool {
        now - loaded.last_seen >= self.inner.touch_interval
    }

    fn user(&self, id: VerifiedSessionId<'_>, session: LoadedSession, now: i64) -> Authenticated {
        Authenticated {
            engine: self.clone(),
            session_id: SessionId::new(id),
            session,
            checked_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ping_oidc_dev_provider::{ClientRegistration, DevProvider, DEFAULT_USERNAME};

    use super::Immediate;
    use crate::bench::{sign_in, ApiGet};
    use crate::{Config, PingOidc, RejectionKind};

    const APP: &str = "http://127.0.0.1:9";

    /// A provider, an engine (memory store) and a signed-in session's `Cookie` header.
    async fn signed_in(
        access_token_ttl: Duration,
        idle_timeout: Duration,
    ) -> (DevProvider, PingOidc, String) {
        let provider = DevProvider::builder()
            .client(ClientRegistration::confidential(
                "app",
                "app-secret",
                format!("{APP}/auth/callback"),
            ))
            .access_token_ttl(access_token_ttl)
            .start()
            .await
            .expect("development provider");
        let config = Config::builder()
            .issuer(provider.issuer())
            .client_id("app")
            .client_secret("app-secret")
            .app_url(APP)
            .session_key("guard-test-session-key-0123456789abcdef")
            .idle_timeout(idle_timeout)
            .build()
            .expect("config");
        let oidc = PingOidc::new(config).await.expect("engine");
        let cookie = sign_in(&oidc, None, |url| {
            let callback = provider
                .sign_in(url, DEFAULT_USERNAME)
                .map_err(|e| e.to_string())?;
            Ok(callback.query().map(str::to_string))
        })
        .await
        .expect("sign-in");
        (provider, oidc, cookie)
    }

    fn api_get(cookie: Option<&str>) -> ApiGet {
        ApiGet {
            path: "/api/ok".into(),
            query: None,
            cookie: cookie.map(|c| format!("theme=dark; {c}")),
            authorization: None,
        }
    }

    #[tokio::test]
    async fn answers_at_once_what_needs_no_waiting() {
        let (_provider, oidc, cookie) =
            signed_in(Duration::from_secs(3600), Duration::from_secs(3600)).await;
        let request = api_get(Some(&cookie));
        let now = oidc
            .authenticate_now(&request, &[])
            .into_answer()
            .expect("answered at once");
        let waited = oidc.authenticate(&request, &[]).await;
        assert_eq!(
            now.expect("signed in").subject(),
            waited.expect("signed in").subject()
        );
        let optional = oidc
            .optional_user_now(&request)
            .into_answer()
            .expect("answered at once");
        assert!(optional.expect("no refusal").is_some());

        let scoped = oidc
            .authenticate_now(&request, &["orders:read"])
            .into_answer();
        let refusal = scoped
            .expect("answered at once")
            .expect_err("lacks the scope");
        assert_eq!(refusal.kind(), RejectionKind::InsufficientScope);
        assert_eq!(refusal.response().status, 403);

        let signed_out = api_get(None);
        let refusal = oidc
            .authenticate_now(&signed_out, &[])
            .into_answer()
            .expect("answered at once");
        let refusal = refusal.expect_err("signed out");
        assert_eq!(refusal.kind(), RejectionKind::SignedOut);
        assert_eq!(refusal.response().status, 401);
        let optional = oidc
            .optional_user_now(&signed_out)
            .into_answer()
            .expect("answered at once");
        assert!(optional.expect("no refusal").is_none());

        let forged = api_get(Some(&cookie.replace('.', ".x")));
        let refusal = oidc
            .authenticate_now(&forged, &[])
            .into_answer()
            .expect("answered at once");
        assert_eq!(
            refusal.expect_err("forged").kind(),
            RejectionKind::SignedOut
        );
    }

    #[tokio::test]
    async fn waits_when_the_session_use_must_be_recorded() {
        // An idle timeout of 20 s records use every 2 s.
        let (_provider, oidc, cookie) =
            signed_in(Duration::from_secs(3600), Duration::from_secs(20)).await;
        let request = api_get(Some(&cookie));
        assert!(oidc.authenticate_now(&request, &[]).into_answer().is_some());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(
            oidc.optional_user_now(&request).into_answer().is_none(),
            "touch due"
        );
        let Immediate::MustWait(pending) = oidc.authenticate_now(&request, &[]) else {
            panic!("touch due: the answer must wait");
        };
        oidc.authenticate_pending(&request, pending, &[])
            .await
            .expect("touched");
        assert!(
            oidc.authenticate_now(&request, &[]).into_answer().is_some(),
            "recorded: answered at once again"
        );
    }

    #[tokio::test]
    async fn waits_when_the_access_token_must_be_refreshed() {
        let (provider, oidc, cookie) =
            signed_in(Duration::from_secs(1), Duration::from_secs(3600)).await;
        let request = api_get(Some(&cookie));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(
            oidc.authenticate_now(&request, &[]).into_answer().is_none(),
            "refresh due"
        );
        assert_eq!(provider.stats().refresh_grants, 0);
        oidc.authenticate(&request, &[]).await.expect("refreshed");
        assert_eq!(provider.stats().refresh_grants, 1);
    }
}
