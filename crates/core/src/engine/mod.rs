//! The request/response engine both adapters translate to and from.
//!
//! An adapter does three things: for a request under the route prefix it calls
//! [`PingOidc::match_route`] and [`PingOidc::handle`]; for an extractor it calls
//! [`RequestAuth::authenticate_now`] or [`RequestAuth::optional_user_now`] (awaiting the
//! [`Pending`] step only when told to); and it copies the [`AuthResponse`] it gets back into
//! its framework's response. All protocol, session and
//! security decisions are made here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::discovery::{DiscoveryError, ProviderMetadata};
use crate::http_client::ProviderHttp;
use crate::provider::Provider;
use crate::response::AuthResponse;
use crate::store::{LoadedSession, MemoryStore, SessionStore};

mod bearer;
mod bff;
mod caller;
mod flow;
mod guard;
mod login;
mod logout;
mod provider_watch;
mod refresh;
mod refusal;
mod signin;
mod user;

pub use bearer::{BearerNow, PendingBearer};
pub use caller::{Caller, CallerPath, SessionPath};
#[cfg(any(test, feature = "bench"))]
pub(crate) use flow::step_work as flow_step_work;
pub use guard::{Immediate, Pending};
#[cfg(feature = "fuzzing")]
pub(crate) use login::parse_callback_query;
pub use refusal::{Rejection, RejectionKind};
pub use user::{AccessToken, Authenticated};

/// What an adapter must tell the engine about a request.
pub trait RequestInfo {
    /// The method, upper case (`GET`).
    fn method(&self) -> &str;
    /// The path, without the query.
    fn path(&self) -> &str;
    /// The raw query string, without `?`.
    fn query(&self) -> Option<&str>;
    /// The first value of a header, when it is UTF-8. Names are lower case. Take the bytes
    /// with `str::from_utf8` rather than `HeaderValue::to_str`: the engine parses every value
    /// it reads itself (a token must be a b64token, an origin must equal the app's), and a
    /// 1 KiB `Authorization: Bearer` header costs `to_str` a few thousand instructions a
    /// request where `from_utf8` checks ASCII a word at a time.
    fn header(&self, name: &str) -> Option<&str>;
    /// How many times a header appears. The default, for a view that sees one value only,
    /// says at most one. Adapters count: a `DPoP` proof must come alone (RFC 9449 §4.3).
    fn header_count(&self, name: &str) -> usize {
        usize::from(self.header(name).is_some())
    }
    /// Every `Cookie` header value that is UTF-8. Take the bytes with `str::from_utf8`
    /// rather than a visible-ASCII check such as `HeaderValue::to_str`: the engine only
    /// compares and verifies cookie values, and `from_utf8` checks ASCII a word at a time
    /// (this runs on every guarded request).
    fn cookie_headers(&self) -> impl Iterator<Item = &str>;
}

/// The routes the engine answers under the prefix (default `/auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRoute {
    /// `GET /auth/login?return_to=/path`
    Login,
    /// `GET /auth/callback`
    Callback,
    /// `POST /auth/logout`
    Logout,
    /// `GET /auth/user`
    User,
    /// `GET /auth/token` (with `X-CSRF: 1`)
    Token,
    /// `POST /auth/backchannel-logout`
    BackchannelLogout,
    /// `POST /auth/flow` and `GET|POST|DELETE /auth/flow/{flow_id}`: redirect-less sign-in.
    Flow,
    /// `GET|POST /auth/signin`: the embedded sign-in page.
    SignIn,
    /// `GET /auth/jwks`: the public half of the client's key, for providers that fetch it
    /// (`private_key_jwt`, signed request objects).
    Jwks,
    /// `GET /.well-known/oauth-protected-resource` (and its form suffixed with the resource's
    /// path): RFC 9728 metadata for bearer-token callers. Outside the route prefix.
    ResourceMetadata,
}

impl AuthRoute {
    /// Whether the handler needs the request body (read it, capped at
    /// [`AuthRoute::MAX_BODY_BYTES`], before calling [`PingOidc::handle`]).
    pub fn needs_body(self) -> bool {
        matches!(self, Self::BackchannelLogout | Self::Flow | Self::SignIn)
    }

    /// Largest body an auth route reads.
    pub const MAX_BODY_BYTES: usize = 64 * 1024;
}

/// Whether the caller is a browser navigating (gets redirects and pages) or script/API code
/// (gets JSON with 401/403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestKind {
    /// A top-level browser navigation: answered with redirects and pages.
    Navigation,
    /// Anything else (fetch/XHR, API clients): answered with JSON and 401/403.
    Api,
}

impl RequestKind {
    /// `Sec-Fetch-Mode: navigate`, or, without Fetch Metadata, an `Accept` naming `text/html`.
    pub fn of<R: RequestInfo + ?Sized>(request: &R) -> Self {
        match request.header("sec-fetch-mode") {
            Some(mode) if mode.eq_ignore_ascii_case("navigate") => Self::Navigation,
            Some(_) => Self::Api,
            None if request
                .header("accept")
                .is_some_and(|a| a.contains("text/html")) =>
            {
                Self::Navigation
            }
            None => Self::Api,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid, or the provider contradicts it.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The discovery document could not be read or is not acceptable.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The provider's JWKS could not be read.
    #[error("could not fetch the provider's signing keys: {0}")]
    Keys(crate::error::TokenError),
    /// The HTTP client for the provider could not be built (TLS roots, for example).
    #[error("{0}")]
    HttpClient(String),
    /// The system's random number generator failed.
    #[error("the system's random number generator failed")]
    NoRandomness,
    /// The provider could not be reached and there is no Tokio runtime to retry in: start
    /// the engine inside one (`#[tokio::main]`, `#[actix_web::main]`).
    #[error("the provider cannot be reached ({0}) and there is no Tokio runtime to retry in")]
    ProviderUnreachable(String),
}

/// The engine: configuration, provider metadata and keys, and the session store. Cheap to
/// clone (one `Arc`).
#[derive(Clone)]
pub struct PingOidc {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    clock: crate::time::Clock,
    /// The client for discovery and keys (each fetched `Provider` holds a clone).
    http: ProviderHttp,
    provider: provider_watch::ProviderSlot,
    store: Arc<dyn SessionStore>,
    refresh_gates: Mutex<HashMap<Box<str>, Arc<tokio::sync::Mutex<()>>>>,
    /// Sessions whose refresh failed recently, and when: their requests share that failure
    /// for [`guard::REFRESH_FAILURE_MEMORY`] instead of each calling the provider again.
    refresh_failures: Mutex<HashMap<Box<str>, std::time::Instant>>,
    /// Session cookies whose signature held (see `cookies::VerifiedCookies`).
    verified_cookies: crate::session_cookie::VerifiedCookies,
    /// Bearer tokens verified before, until they expire.
    verified_tokens: crate::access_token::VerifiedTokens,
    /// Bounds the introspection calls that bearer tokens cause.
    introspections: tokio::sync::Semaphore,
    instance_id: String,
    touch_interval: i64,
    /// Each registered worker's token state, in `Config::workers` order.
    workers: Vec<crate::worker::WorkerState>,
}

impl std::fmt::Debug for PingOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PingOidc")
            .field("issuer", &self.inner.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Names the resource bearer tokens must carry, once at start, and warns when its metadata
/// URL (which every challenge points agents at) is on another origin than `APP_URL`: this
/// app serves the metadata only if that host routes to it.
fn log_resource_server(config: &Config) {
    let metadata_origin = url::Url::parse(&config.resource_metadata_url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    tracing::info!(resource = %config.resource, metadata = %config.resource_metadata_url, "bearer tokens must name this resource");
    if metadata_origin != config.app_origin {
        tracing::warn!(
            resource = %config.resource,
            app_origin = %config.app_origin,
            "the resource is not on APP_URL's origin: challenges point at its metadata there, which this app serves only if that host routes to it"
        );
    }
}

/// Starts the engine with a chosen store.
#[must_use]
pub struct PingOidcBuilder {
    config: Config,
    store: Option<Arc<dyn SessionStore>>,
    clock: crate::time::Clock,
}

impl PingOidcBuilder {
    /// Use this session store instead of the in-memory one.
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Read the time from `clock`, which a test moves forward instead of sleeping.
    #[cfg(feature = "test-util")]
    pub fn clock(mut self, clock: crate::test_util::TestClock) -> Self {
        self.clock = crate::time::Clock::test(clock);
        self
    }

    /// Use a shared store handle.
    pub fn shared_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Reads discovery and the provider's keys, then returns the engine.
    ///
    /// When the provider cannot be reached, the engine starts anyway and keeps trying in the
    /// background (auth routes and guarded requests answer 503 with `Retry-After` until it
    /// succeeds). A configuration the provider contradicts (an issuer mismatch in discovery,
    /// no PKCE S256) is an error here. Discovery and keys are then refreshed every
    /// `Cache-Control: max-age` (1 minute to 24 hours; 1 hour when not said).
    pub async fn start(self) -> Result<PingOidc, StartError> {
        let config = self.config;
        let http = ProviderHttp::new(
            config.http_connect_timeout,
            config.http_timeout,
            config.max_response_bytes,
        )
        .map_err(StartError::HttpClient)?;
        let (provider, first_refresh) = provider_watch::first_fetch(&http, &config).await?;
        if config.session_key_was_generated {
            tracing::warn!(
                "SESSION_KEY is not set: a random key is in use, so sessions end at restart and instances cannot share them"
            );
        }
        let instance_id = crate::crypto::random_token(12).ok_or(StartError::NoRandomness)?;
        let touch_interval = (config.idle_timeout.as_secs() as i64 / 10).clamp(1, 60);
        if provider.is_ready() {
            tracing::info!(issuer = %config.issuer, client_id = %config.client_id, "ping-oidc ready");
        }
        log_resource_server(&config);
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));
        store.use_sealing_key(config.session_key.store_key());
        let inner = Arc::new(Inner {
            clock: self.clock,
            http,
            provider,
            store,
            refresh_gates: Mutex::default(),
            refresh_failures: Mutex::default(),
            verified_cookies: crate::session_cookie::VerifiedCookies::new(),
            verified_tokens: Default::default(),
            introspections: tokio::sync::Semaphore::new(bearer::MAX_INTROSPECTIONS),
            instance_id,
            touch_interval,
            workers: config
                .workers
                .iter()
                .map(|_| crate::worker::WorkerState::default())
                .collect(),
            config,
        });
        provider_watch::watch(&inner, first_refresh);
        Ok(PingOidc { inner })
    }
}

impl PingOidc {
    /// Starts with the in-memory store.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        Self::builder(config).start().await
    }

    /// Reads the configuration from the environment and starts with the in-memory store.
    pub async fn from_env() -> Result<Self, StartError> {
        Self::new(Config::from_env()?).await
    }

    /// A builder, to pick the session store.
    pub fn builder(config: Config) -> PingOidcBuilder {
        PingOidcBuilder {
            config,
            store: None,
            clock: crate::time::Clock::default(),
        }
    }

    /// The engine's time, unix seconds (the system's, or a test's clock).
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The tokens of the worker registered as `name`
    /// ([`ConfigBuilder::worker`](crate::ConfigBuilder::worker)).
    pub fn worker(&self, name: &str) -> Option<crate::worker::WorkerTokens> {
        let index = self
            .inner
            .config
            .workers
            .iter()
            .position(|(known, _)| known == name)?;
        Some(crate::worker::WorkerTokens::new(self.clone(), index))
    }

    pub(crate) fn worker_state(&self, index: usize) -> &crate::worker::WorkerState {
        &self.inner.workers[index]
    }

    /// This process's id in store leases.
    pub(crate) fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The provider's metadata, as last discovered; `None` while the provider has not been
    /// reached yet (see [`PingOidcBuilder::start`]).
    pub fn metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.inner
            .provider
            .get()
            .map(|provider| Arc::clone(&provider.metadata))
    }

    /// The provider, or the 503 every caller answers while it has not been reached yet.
    pub(crate) fn provider(&self) -> Result<Arc<Provider>, crate::error::ProviderError> {
        self.inner.provider.get().ok_or_else(|| {
            crate::error::ProviderError::Unreachable("not reached since start".into())
        })
    }

    /// The session store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The auth route at `path`, if any.
    pub fn match_route(&self, path: &str) -> Option<AuthRoute> {
        let config = &self.inner.config;
        let Some(rest) = path.strip_prefix(config.route_prefix.as_str()) else {
            return config
                .resource_metadata_paths
                .iter()
                .any(|known| known == path)
                .then_some(AuthRoute::ResourceMetadata);
        };
        Some(match rest {
            "/login" => AuthRoute::Login,
            "/callback" => AuthRoute::Callback,
            "/logout" => AuthRoute::Logout,
            "/user" => AuthRoute::User,
            "/token" => AuthRoute::Token,
            "/backchannel-logout" => AuthRoute::BackchannelLogout,
            "/flow" => AuthRoute::Flow,
            "/signin" => AuthRoute::SignIn,
            "/jwks" => AuthRoute::Jwks,
            flow if flow.starts_with("/flow/") => AuthRoute::Flow,
            _ => return None,
        })
    }

    /// Answers an auth route. `body` is read only for routes that [need it](AuthRoute::needs_body).
    pub async fn handle<R: RequestInfo + ?Sized>(
        &self,
        route: AuthRoute,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        let method = request.method();
        let allowed = match route {
            AuthRoute::Logout | AuthRoute::BackchannelLogout => "POST",
            // Several methods, checked by the flow routes and the page themselves.
            AuthRoute::Flow | AuthRoute::SignIn => method,
            _ => "GET",
        };
        // HEAD is a GET without a body, except at the callback: it would run a whole sign-in.
        let head_allowed = allowed == "GET" && route != AuthRoute::Callback;
        let response = if method != allowed && !(head_allowed && method == "HEAD") {
            method_not_allowed(route, allowed, RequestKind::of(request))
        } else {
            match route {
                AuthRoute::Login => self.login(request).await,
                AuthRoute::Callback => self.callback(request).await,
                AuthRoute::Logout => self.logout(request).await,
                AuthRoute::User => self.user_info(request).await,
                AuthRoute::Token => self.token(request).await,
                AuthRoute::BackchannelLogout => self.backchannel_logout(request, body).await,
                AuthRoute::Flow => self.flow(request, body).await,
                AuthRoute::SignIn => self.sign_in_page(request, body).await,
                AuthRoute::Jwks => self.client_jwks(),
                AuthRoute::ResourceMetadata => self.resource_metadata(),
            }
        };
        // Auth URLs carry codes and states: never let them leak through a Referer (the
        // sign-in page sets its own, `strict-origin`).
        if response.header("referrer-policy").is_some() {
            return response;
        }
        response.with_header("referrer-policy", "no-referrer")
    }

    /// The stored session: the store's immediate answer when it has one (the memory store),
    /// else its future. Every read of a session by the engine goes through here. `now` is
    /// the caller's clock reading, which it also uses for its own checks.
    pub(crate) async fn load_session(
        &self,
        id: crate::session_cookie::VerifiedSessionId<'_>,
        now: i64,
    ) -> Result<Option<LoadedSession>, crate::StoreError> {
        let id = id.as_str();
        let store = &self.inner.store;
        match store.load_now(id, now) {
            Some(answer) => answer,
            None => store.load(id).await,
        }
    }

    /// Verifies an ID token from the token endpoint: this engine's issuer, client, keys and
    /// clock; the `nonce` of a sign-in; the subject a refresh must keep.
    pub(crate) async fn verify_id_token(
        &self,
        raw: &str,
        access_token: &str,
        nonce: Option<&str>,
        original: Option<&Map<String, Value>>,
        now: i64,
    ) -> Result<crate::id_token::VerifiedIdToken, crate::TokenError> {
        let inner = &self.inner;
        let config = &inner.config;
        let expect = crate::id_token::Expectations {
            issuer: &config.issuer,
            client_id: &config.client_id,
            trusted_audiences: &config.trusted_audiences,
            nonce,
            access_token: Some(access_token),
            original,
            now,
            skew: duration_secs(config.clock_skew),
        };
        let provider = self.provider().map_err(|_| {
            crate::TokenError::KeysUnavailable("the provider is not reachable yet".into())
        })?;
        crate::id_token::verify(&provider.keys, &provider.http, raw, &expect).await
    }

    /// Where a signed-out user signs in, for a return path (relative to the app):
    /// `/auth/login` or, with [`SignIn::Embedded`](crate::SignIn::Embedded), `/auth/signin`.
    pub fn login_url(&self, return_to: Option<&str>) -> String {
        let route = match self.inner.config.sign_in {
            crate::SignIn::Embedded => "signin",
            _ => "login",
        };
        self.sign_in_url(route, return_to)
    }

    /// The redirect sign-in (`/auth/login`) whatever the sign-in mode: for what only it
    /// can do (more scopes, a provider step the page cannot show).
    pub(crate) fn redirect_login_url(&self, return_to: Option<&str>) -> String {
        self.sign_in_url("login", return_to)
    }

    fn sign_in_url(&self, route: &str, return_to: Option<&str>) -> String {
        let prefix = &self.inner.config.route_prefix;
        match return_to {
            Some(path) => format!("{prefix}/{route}?return_to={}", encode(path)),
            None => format!("{prefix}/{route}"),
        }
    }
}

/// What the browser's `Sec-Fetch-Site` says: `Some(true)` for this origin (or a navigation the
/// user typed), `Some(false)` for another site or a sibling subdomain, `None` when absent (an
/// older browser or not a browser: other checks decide).
fn fetched_by_this_site<R: RequestInfo + ?Sized>(request: &R) -> Option<bool> {
    let site = request.header("sec-fetch-site")?;
    Some(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"))
}

fn method_not_allowed(route: AuthRoute, allowed: &str, kind: RequestKind) -> AuthResponse {
    let message = match route {
        AuthRoute::Logout => "Sign out with the sign-out button (a POST from this site).",
        _ => "This address does not accept that method.",
    };
    let response = match kind {
        RequestKind::Navigation => {
            AuthResponse::page(405, "Method not allowed", message, Some(("/", "Home")))
        }
        RequestKind::Api => AuthResponse::json_error(405, "method_not_allowed", message),
    };
    response.with_header("allow", allowed)
}

pub(crate) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What an adapter keeps in each request it passes on: the engine, and the signed-in user
/// once an extractor had to wait for it (store round trip, touch, refresh), so that later
/// extractors of the same request reuse it instead of waiting again. One value per request,
/// put in by the layer or middleware: authenticating then allocates nothing more.
#[derive(Clone, Debug)]
pub struct RequestAuth {
    engine: PingOidc,
    user: Option<Authenticated>,
}

impl RequestAuth {
    /// The per-request value for `engine`, with no user found yet.
    pub fn new(engine: PingOidc) -> Self {
        Self { engine, user: None }
    }

    /// The engine.
    pub fn engine(&self) -> &PingOidc {
        &self.engine
    }

    /// The user an earlier extractor found, if any.
    pub fn user(&self) -> Option<&Authenticated> {
        self.user.as_ref()
    }

    /// The user an earlier extractor found, when their access token carries `scopes`.
    pub fn user_with(&self, scopes: &[&str]) -> Option<&Authenticated> {
        self.user.as_ref().filter(|user| user.has_scopes(scopes))
    }

    /// The user with `scopes` when no waiting is needed (the one an earlier extractor found,
    /// or a session held in memory with a fresh token); else the [`Pending`] step, to await
    /// with [`Pending::authenticate`]. The one entry point of both adapters' extractors.
    pub fn authenticate_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        scopes: &[&str],
    ) -> Immediate<Result<Authenticated, Rejection>> {
        self.authenticate_scopes_or_api_now(request, scopes, None)
    }

    /// [`authenticate_now`](Self::authenticate_now) for what a route's type requires
    /// ([`Requirement::of`](crate::Requirement::of)): the scopes, or a fresh token for its API
    /// (`RequiredScopes::API`) instead of the scopes on the session's token, and the step-up
    /// (`acr`, `max_age`). Await the rest with [`Pending::authenticate_for`].
    pub fn authenticate_for_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        need: crate::Requirement,
    ) -> Immediate<Result<Authenticated, Rejection>> {
        match self.authenticate_scopes_or_api_now(request, need.scopes, need.api) {
            Immediate::Answered(Ok(user)) if need.is_step_up() => {
                Immediate::Answered(self.engine.require_authentication(request, user, &need))
            }
            other => other,
        }
    }

    fn authenticate_scopes_or_api_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        scopes: &[&str],
        api: Option<&str>,
    ) -> Immediate<Result<Authenticated, Rejection>> {
        match api {
            None => {
                if let Some(user) = self.user_with(scopes) {
                    return Immediate::Answered(Ok(user.clone()));
                }
                self.engine.authenticate_now(request, scopes)
            }
            Some(api) => {
                // A user kept here was found after a wait, perhaps by an earlier extractor
                // and a while ago: check its API token against the clock, not `checked_at`.
                let config = &self.engine.inner.config;
                let ready = self.user.as_ref().filter(|user| {
                    let data = &user.session.data;
                    config
                        .api(api)
                        .is_some_and(|api| data.serves_api(api, self.engine.now()))
                });
                if let Some(user) = ready {
                    return Immediate::Answered(Ok(user.clone()));
                }
                self.engine.authenticate_api_now(request, api)
            }
        }
    }

    /// The user or `None` when no waiting is needed; else the [`Pending`] step, to await with
    /// [`Pending::optional_user`]. The optional form of
    /// [`authenticate_now`](Self::authenticate_now), derived from the same steps.
    pub fn optional_user_now<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
    ) -> Immediate<Result<Option<Authenticated>, Rejection>> {
        if let Some(user) = &self.user {
            return Immediate::Answered(Ok(Some(user.clone())));
        }
        self.engine.optional_user_now(request)
    }

    /// Keeps `user` for the request's later extractors. The adapters keep users whose
    /// answer had to wait (a store round trip, a touch, a refresh); an answer given at once
    /// costs less to find again than to keep.
    pub fn remember(&mut self, user: &Authenticated) {
        self.user = Some(user.clone());
    }
}

/// The ID token's claims a session keeps: all but those that only bind the token to one
/// request (`nonce`, `at_hash`, `c_hash`).
pub(crate) fn session_claims(claims: Map<String, Value>) -> impl Iterator<Item = (String, Value)> {
    claims
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "nonce" | "at_hash" | "c_hash"))
}

pub(crate) fn duration_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
