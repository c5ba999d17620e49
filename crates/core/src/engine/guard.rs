//! Guarded requests: the session cookie to a session, expiry, single-flight refresh, scopes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{duration_secs, encode, Authenticated, PingOidc, RequestInfo, RequestKind};
use crate::cookies;
use crate::error::{ProviderError, TokenError};
use crate::provider::TokenResponse;
use crate::response::AuthResponse;
use crate::session::SessionData;
use crate::store::{LoadedSession, SaveOutcome};
use crate::time::now_unix;

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

/// Longest session id held inline by [`SessionId`]; the session cookie check refuses longer
/// ids (see `cookies::verify_session_cookie`).
const INLINE_ID: usize = 64;

/// A session id, held inline so that a guarded request allocates nothing for it (ids the
/// engine makes are 43 characters).
#[derive(Clone)]
pub(crate) enum SessionId {
    Inline { len: u8, bytes: [u8; INLINE_ID] },
    Shared(Arc<str>),
}

impl SessionId {
    pub(crate) fn new(id: &str) -> Self {
        match id.len() {
            len @ 0..=INLINE_ID => {
                let mut bytes = [0u8; INLINE_ID];
                bytes[..len].copy_from_slice(id.as_bytes());
                Self::Inline {
                    len: len as u8,
                    bytes,
                }
            }
            _ => Self::Shared(Arc::from(id)),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Copied from a `&str` at a char boundary (the whole string): always UTF-8.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Shared(id) => id,
        }
    }
}

/// Why a guarded request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No valid session: navigations go to sign-in, others get 401.
    SignedOut,
    /// The provider refused the refresh (`invalid_grant`): the session was ended.
    SessionEnded,
    /// The session's token lacks scopes: navigations go through sign-in for them, others
    /// get 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
    InsufficientScope,
    /// The provider could not be reached for a refresh: 503 with `Retry-After`; the session
    /// is kept.
    ProviderUnavailable,
    /// The session store could not be reached: 503 with `Retry-After`.
    StoreUnavailable,
}

/// A refused guarded request, with the response to send.
#[derive(Clone, Debug)]
pub struct Rejection {
    kind: RejectionKind,
    response: AuthResponse,
}

impl Rejection {
    /// Why.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The response to send (redirect, page or JSON).
    pub fn response(&self) -> &AuthResponse {
        &self.response
    }

    /// The response to send.
    pub fn into_response(self) -> AuthResponse {
        self.response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request refused: {:?} ({})",
            self.kind, self.response.status
        )
    }
}

impl std::error::Error for Rejection {}

pub(crate) enum RefreshFailure {
    Ended,
    ProviderUnavailable,
    StoreUnavailable,
}

const RETRY_AFTER_SECS: &str = "5";

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a refresh that failed for want of the provider answers the session's next
/// requests without calling the provider again (the `Retry-After` we send).
pub(crate) const REFRESH_FAILURE_MEMORY: Duration = Duration::from_secs(5);
/// Sessions whose recent failure is remembered at most (one entry per signed-in session).
const MAX_REMEMBERED_FAILURES: usize = 10_000;

/// What a guarded request's first, non-waiting step found.
enum Now {
    /// Signed out (`None`), or a session ready to use.
    Decided(Option<Authenticated>),
    /// The session must be read from a remote store, touched or refreshed.
    MustWait(Pending),
}

/// The answer of [`PingOidc::authenticate_now`] and [`PingOidc::optional_user_now`]: given at
/// once, or the step that must wait.
#[derive(Debug)]
#[must_use]
pub enum Immediate<T> {
    /// The answer, with no waiting.
    Answered(T),
    /// Await [`PingOidc::authenticate_pending`] (or [`PingOidc::optional_user_pending`]) with
    /// this: it carries on from here without checking the cookie again.
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
    session_id: SessionId,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session id is a bearer secret: never printed.
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Now {
    fn must_wait(session_id: &str) -> Self {
        Self::MustWait(Pending {
            session_id: SessionId::new(session_id),
        })
    }
}

/// An ended session is no user, for the callers that accept signed-out requests.
fn signed_out_is_none(
    current: Result<Option<Authenticated>, Rejection>,
) -> Result<Option<Authenticated>, Rejection> {
    match current {
        Err(rejection) if rejection.kind == RejectionKind::SessionEnded => Ok(None),
        other => other,
    }
}

fn store_down(error: crate::error::StoreError) -> RefreshFailure {
    tracing::warn!(%error, "session store unavailable during refresh");
    RefreshFailure::StoreUnavailable
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
    /// Otherwise (a remote store, a refresh or a touch is due) the step to await with
    /// [`authenticate_pending`](Self::authenticate_pending). Adapters call this first so
    /// that most guarded requests run no future.
    pub fn authenticate_now<R: RequestInfo + ?Sized>(
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
    pub async fn authenticate_pending<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let user = self.current_after_waiting(request, pending).await?;
        self.require(request, user, required_scopes)
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
    /// step to await with [`optional_user_pending`](Self::optional_user_pending) (see
    /// [`authenticate_now`](Self::authenticate_now)).
    pub fn optional_user_now<R: RequestInfo + ?Sized>(
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
    pub async fn optional_user_pending<R: RequestInfo + ?Sized>(
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
    ) -> Option<&'r str> {
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
        let now = now_unix();
        let loaded = match self.inner.store.load_now(id, now) {
            None => return Ok(Now::must_wait(id)),
            Some(Ok(Some(loaded))) => loaded,
            Some(Ok(None)) => return Ok(Now::Decided(None)),
            Some(Err(error)) => return Err(self.store_down(request, error)),
        };
        if self.touch_due(&loaded, now) || loaded.data.needs_refresh(now) {
            return Ok(Now::must_wait(id));
        }
        Ok(Now::Decided(Some(self.user(id, loaded))))
    }

    /// The current session when reading, touching or refreshing it waits on the store or
    /// the provider, refreshed when due. `Ok(None)` when signed out.
    async fn current_after_waiting<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        pending: Pending,
    ) -> Result<Option<Authenticated>, Rejection> {
        let id = pending.session_id.as_str();
        let now = now_unix();
        let loaded = match self.load_session(id, now).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return Ok(None),
            Err(error) => return Err(self.store_down(request, error)),
        };
        if self.touch_due(&loaded, now) {
            if let Err(error) = self.inner.store.touch(id, now).await {
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
        Ok(Some(self.user(id, loaded)))
    }

    /// Whether the session's last use is old enough to be recorded again (the idle timeout
    /// slides in steps of the touch interval, not at every request).
    fn touch_due(&self, loaded: &LoadedSession, now: i64) -> bool {
        now - loaded.last_seen >= self.inner.touch_interval
    }

    fn user(&self, id: &str, session: LoadedSession) -> Authenticated {
        Authenticated {
            engine: self.clone(),
            session_id: SessionId::new(id),
            session,
        }
    }

    fn store_down<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        error: crate::error::StoreError,
    ) -> Rejection {
        tracing::warn!(%error, "session store unavailable");
        self.unavailable(RequestKind::of(request), RejectionKind::StoreUnavailable)
    }

    pub(crate) fn signed_out<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        ended: bool,
    ) -> Rejection {
        let mut response = match kind {
            RequestKind::Navigation => {
                let here = match request.query() {
                    Some(query) => format!("{}?{}", request.path(), query),
                    None => request.path().to_string(),
                };
                let target = crate::return_to::sanitize(&here);
                AuthResponse::redirect(302, &self.login_url(target.as_deref()))
            }
            RequestKind::Api => AuthResponse::json(
                401,
                json!({
                    "error": if ended { "session_ended" } else { "unauthenticated" },
                    "error_description": if ended { "The session ended; sign in again." } else { "Sign in first." },
                    "login_url": self.login_url(None),
                }),
            ),
        };
        if ended || self.session_id_from(request).is_some() {
            response = response.with_cookies([cookies::session_cookie_removal(&self.inner.config)]);
        }
        let kind = if ended {
            RejectionKind::SessionEnded
        } else {
            RejectionKind::SignedOut
        };
        Rejection { kind, response }
    }

    fn insufficient_scope<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        missing: &[&str],
    ) -> Rejection {
        let scope = missing.join(" ");
        let response = match kind {
            RequestKind::Navigation => {
                let here = match request.query() {
                    Some(query) => format!("{}?{}", request.path(), query),
                    None => request.path().to_string(),
                };
                let target = crate::return_to::sanitize(&here).unwrap_or_else(|| "/".into());
                let url = format!("{}&scope={}", self.login_url(Some(&target)), encode(&scope));
                AuthResponse::redirect(302, &url)
            }
            RequestKind::Api => AuthResponse::json(
                403,
                json!({
                    "error": "insufficient_scope",
                    "error_description": "The session's access token lacks a required scope.",
                    "scope": scope,
                }),
            )
            .with_header(
                "www-authenticate",
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            ),
        };
        Rejection {
            kind: RejectionKind::InsufficientScope,
            response,
        }
    }

    pub(crate) fn unavailable(&self, kind: RequestKind, why: RejectionKind) -> Rejection {
        let (code, message) = match why {
            RejectionKind::StoreUnavailable => (
                "session_store_unavailable",
                "Sessions are unavailable right now. Try again shortly.",
            ),
            _ => (
                "provider_unavailable",
                "The identity provider cannot be reached right now. Try again shortly.",
            ),
        };
        let response = match kind {
            RequestKind::Navigation => {
                AuthResponse::page(503, "Temporarily unavailable", message, None)
            }
            RequestKind::Api => AuthResponse::json_error(503, code, message),
        };
        Rejection {
            kind: why,
            response: response.with_header("retry-after", RETRY_AFTER_SECS),
        }
    }

    fn refresh_rejection(&self, kind: RequestKind, failure: RefreshFailure) -> Rejection {
        match failure {
            RefreshFailure::Ended => {
                let response = match kind {
                    RequestKind::Navigation => AuthResponse::redirect(302, &self.login_url(None)),
                    RequestKind::Api => AuthResponse::json(
                        401,
                        json!({
                            "error": "session_ended",
                            "error_description": "The session ended; sign in again.",
                            "login_url": self.login_url(None),
                        }),
                    ),
                };
                Rejection {
                    kind: RejectionKind::SessionEnded,
                    response: response
                        .with_cookies([cookies::session_cookie_removal(&self.inner.config)]),
                }
            }
            RefreshFailure::ProviderUnavailable => {
                self.unavailable(kind, RejectionKind::ProviderUnavailable)
            }
            RefreshFailure::StoreUnavailable => {
                self.unavailable(kind, RejectionKind::StoreUnavailable)
            }
        }
    }

    /// Refreshes the session's tokens once, however many requests ask at the same time, in
    /// this process (a per-session async lock) and across instances (a lease in the store).
    pub(crate) async fn refresh_session(
        &self,
        id: &str,
        kind: RequestKind,
    ) -> Result<LoadedSession, Rejection> {
        let gate = Arc::clone(
            lock(&self.inner.refresh_gates)
                .entry(id.into())
                .or_default(),
        );
        let result = match Arc::clone(&gate).try_lock_owned() {
            Ok(turn) => self.refresh_detached(turn, id).await,
            Err(_) => {
                // Another request of this process is refreshing this session. Once it is
                // done, read its result without holding the gate, so that every waiter's
                // read runs at the same time instead of one after another (with Redis, a
                // round trip each). Anything but a fresh session (the refresh failed, the
                // session is gone, the store is down) takes the gate as before.
                drop(gate.lock().await);
                let now = now_unix();
                match self.load_session(id, now).await {
                    Ok(Some(fresh)) if !fresh.data.needs_refresh(now) => Ok(fresh),
                    _ => {
                        let turn = Arc::clone(&gate).lock_owned().await;
                        self.refresh_detached(turn, id).await
                    }
                }
            }
        };
        drop(gate);
        self.forget_gate_if_unused(id);
        result.map_err(|failure| self.refresh_rejection(kind, failure))
    }

    /// Runs the refresh (token call, rotation-safe save, lease release) as a task of its own
    /// that holds the gate: a request dropped half-way (client gone, timeout layer) cannot
    /// cut it between the provider rotating the refresh token and the save of the new one.
    /// The request awaits the task's result. Without a Tokio runtime it runs inline.
    async fn refresh_detached(
        &self,
        turn: tokio::sync::OwnedMutexGuard<()>,
        id: &str,
    ) -> Result<LoadedSession, RefreshFailure> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let result = self.refresh_unless_failed_recently(id).await;
            drop(turn);
            return result;
        };
        let engine = self.clone();
        let id: Box<str> = id.into();
        let task = runtime.spawn(async move {
            let result = engine.refresh_unless_failed_recently(&id).await;
            drop(turn);
            engine.forget_gate_if_unused(&id);
            result
        });
        task.await.unwrap_or_else(|error| {
            tracing::error!(%error, "the refresh task failed");
            Err(RefreshFailure::ProviderUnavailable)
        })
    }

    /// Drops the session's gate once neither a request nor a refresh task holds it.
    fn forget_gate_if_unused(&self, id: &str) {
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
        id: &str,
    ) -> Result<LoadedSession, RefreshFailure> {
        let failures = &self.inner.refresh_failures;
        let failed_at = lock(failures).get(id).copied();
        if failed_at.is_some_and(|at| at.elapsed() < REFRESH_FAILURE_MEMORY) {
            return Err(RefreshFailure::ProviderUnavailable);
        }
        let result = self.refresh_under_gate(id).await;
        let mut failures = lock(failures);
        if matches!(result, Err(RefreshFailure::ProviderUnavailable)) {
            if failures.len() >= MAX_REMEMBERED_FAILURES {
                failures.retain(|_, at| at.elapsed() < REFRESH_FAILURE_MEMORY);
                if failures.len() >= MAX_REMEMBERED_FAILURES {
                    failures.clear();
                }
            }
            failures.insert(id.into(), Instant::now());
        } else if failed_at.is_some() {
            failures.remove(id);
        }
        result
    }

    async fn refresh_under_gate(&self, id: &str) -> Result<LoadedSession, RefreshFailure> {
        let inner = &self.inner;
        let store = &inner.store;
        // Another request (or instance) may have refreshed while this one waited.
        let current = self.reload(id).await?;
        if !current.data.needs_refresh(now_unix()) {
            return Ok(current);
        }
        let lease_key = format!("refresh:{id}");
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
            if !current.data.needs_refresh(now_unix()) {
                return Ok(current);
            }
            if Instant::now() > give_up_at {
                tracing::warn!("another instance holds the refresh lease for too long");
                return Err(RefreshFailure::ProviderUnavailable);
            }
        }
        let result = self.refresh_with_lease(id, &lease_key, owner).await;
        if let Err(error) = store.release_lease(&lease_key, owner).await {
            tracing::warn!(%error, "could not release the refresh lease");
        }
        result
    }

    #[tracing::instrument(name = "ping_oidc.refresh", skip_all)]
    async fn refresh_with_lease(
        &self,
        id: &str,
        lease_key: &str,
        owner: &str,
    ) -> Result<LoadedSession, RefreshFailure> {
        let inner = &self.inner;
        let store = &inner.store;
        // Re-read under the lease: the token another instance just rotated is never sent again.
        let current = self.reload(id).await?;
        if !current.data.needs_refresh(now_unix()) {
            return Ok(current);
        }
        let Some(refresh_token) = current.data.refresh_token.clone() else {
            tracing::info!(
                "access token expired and there is no refresh token; ending the session"
            );
            let _ = store.delete(id).await;
            return Err(RefreshFailure::Ended);
        };
        let lease_ttl = inner.config.refresh_lease;
        let provider = self
            .provider()
            .map_err(|_| RefreshFailure::ProviderUnavailable)?;
        let exchange = provider.refresh(&inner.config, &refresh_token);
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
                    return if latest.data.needs_refresh(now_unix()) {
                        Err(RefreshFailure::ProviderUnavailable)
                    } else {
                        Ok(latest)
                    };
                }
                tracing::info!(error = %error, "the provider refused the refresh; ending the session");
                let _ = store.delete(id).await;
                return Err(RefreshFailure::Ended);
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
        let data = match self.refreshed_session(&current.data, tokens).await {
            Ok(data) => data,
            Err(error) => {
                tracing::warn!(reason = %error, "refreshed ID token rejected; ending the session");
                let _ = store.delete(id).await;
                return Err(RefreshFailure::Ended);
            }
        };
        let data = Arc::new(data);
        match self.save_rotated(id, &data, current.version).await? {
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
                match self.save_rotated(id, &data, latest.version).await? {
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
    async fn reload(&self, id: &str) -> Result<LoadedSession, RefreshFailure> {
        self.load_session(id, now_unix())
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
        let now = now_unix();
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
