//! # ping-oidc-dev-provider — FOR DEVELOPMENT AND TESTS ONLY, NOT FOR PRODUCTION
//!
//! A small, local OpenID Provider shaped like Ping Identity's **PingOne** (default) or
//! **PingFederate**, for developing and testing relying parties without a real tenant. It
//! listens on `127.0.0.1` only (random port by default), keeps everything in memory, signs with
//! **public test keys compiled into the crate** (see `keys/README.md`) and prints its default
//! password on the sign-in page. Never expose it or trust its tokens anywhere real.
//!
//! ```no_run
//! use ping_oidc_dev_provider::{ClientRegistration, DevProvider, PathShape, TestUser};
//!
//! # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
//! let provider = DevProvider::builder()
//!     .path_shape(PathShape::pingone("test-env"))
//!     .user(TestUser::new("alice", "alice-password").claim("email", "alice@example.com"))
//!     .client(ClientRegistration::confidential(
//!         "my-app",
//!         "my-secret",
//!         "http://127.0.0.1:3000/auth/callback",
//!     ))
//!     .start()
//!     .await?;
//! println!("issuer: {}", provider.issuer()); // http://127.0.0.1:<port>/test-env/as
//! // ... let the relying party build an authorization URL, then:
//! # let authorize_url = String::new();
//! let callback = provider.sign_in(&authorize_url, "alice")?; // ...?code=..&state=..&iss=..
//! # let _ = callback;
//! provider.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Endpoints
//!
//! | | PingOne shape (`/<envId>/as/...`) | PingFederate shape |
//! |---|---|---|
//! | issuer | `http://127.0.0.1:<port>/<envId>/as` | `http://127.0.0.1:<port>` |
//! | discovery | `<issuer>/.well-known/openid-configuration` | `/.well-known/openid-configuration` |
//! | authorize (GET/POST) | `/<envId>/as/authorize` | `/as/authorization.oauth2` |
//! | token | `/<envId>/as/token` | `/as/token.oauth2` |
//! | userinfo (GET/POST) | `/<envId>/as/userinfo` | `/idp/userinfo.openid` |
//! | JWKS | `/<envId>/as/jwks` | `/pf/JWKS` |
//! | revocation | `/<envId>/as/revoke` | `/as/revoke_token.oauth2` |
//! | introspection | `/<envId>/as/introspect` | `/as/introspect.oauth2` |
//! | end session (GET/POST) | `/<envId>/as/signoff` | `/idp/init_logout.openid`, `/idp/startSLO.ping` |
//!
//! ## Protocol behaviour
//!
//! * Authorization code flow only, **PKCE S256 required** (a missing method means `plain` and
//!   is rejected with `invalid_request`), `redirect_uri` exact match, `scope` must contain
//!   `openid`, RFC 9207 `iss` in every authorization response. `prompt=none|login`, `max_age`,
//!   `nonce`, `state`, `login_hint` (pre-fills the username) are honoured. A provider session
//!   cookie (`ping_oidc_dev_session_<port>`) gives SSO unless `prompt=login`.
//! * **Sign-in form** (also for non-browser clients): the page is returned with status 200 and
//!   the header `X-Dev-Provider-Request-Ref`; complete it with
//!   `POST <authorization endpoint>` (`application/x-www-form-urlencoded`) and the fields
//!   `request_ref` (hidden field / header value), `username`, `password`. Success: `303` to the
//!   `redirect_uri` with `code`, `state`, `iss` and a `Set-Cookie` for the provider session.
//!   Wrong credentials: `401` with the page again. The reference lives 10 minutes.
//! * Codes live 60 s and are single use: a second exchange fails with `invalid_grant` and
//!   revokes every token issued from the code.
//! * Every refresh rotates the refresh token (opaque). Presenting an already used refresh token
//!   is `invalid_grant` and revokes the whole token family (PingOne replay protection). A
//!   refresh returns a new ID token (same `iss`, `sub`, `sid`, `auth_time`; no `nonce`).
//! * Access tokens are signed JWTs (`typ: at+jwt`, `aud` = client id, `scope`, `sid`, `jti`)
//!   that are also tracked server-side, so revocation / expiry show at userinfo and
//!   introspection. Refresh tokens are opaque.
//! * ID tokens: `iss sub aud azp exp iat auth_time sid at_hash amr` (+ `nonce` when sent) and
//!   the user's claims for the granted scopes.
//! * Client authentication: `client_secret_basic`, `client_secret_post`, `client_secret_jwt`,
//!   `private_key_jwt` or `none`, exactly as registered ([`AuthMethod`]); the same at token,
//!   introspection and revocation. A client assertion (`client_assertion_type`
//!   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`) is `HS256`/`384`/`512` under
//!   the secret, or `RS*`/`PS*`/`ES256` under a key of [`ClientRegistration::jwks`] (by `kid`,
//!   or the only key); `iss` = `sub` = the client id, `aud` the token endpoint URL, the
//!   issuer or the endpoint called, `exp` required (30 s of skew), `jti` single use
//!   (remembered until `exp`, at most 10,000). `alg: none` is refused; every failure is
//!   `invalid_client`, two methods at once `invalid_request`.
//! * Signed request objects (RFC 9101) by value: `request` on the authorization endpoint
//!   (redirect, programmatic sign-in and `pi.flow`), signed with a key of
//!   [`ClientRegistration::jwks`] (`typ`, when present, `oauth-authz-req+jwt`; `iss` the client
//!   id, `aud` the issuer, `exp` required). Its claims replace the query parameters (the
//!   outer `client_id`, and `response_type` when sent, must match). A bad one is refused with
//!   an `invalid_request_object` page (its `redirect_uri` cannot be trusted);
//!   [`ClientRegistration::require_signed_request_object`] refuses plain requests with
//!   `invalid_request`. `request_uri` (and PAR) is not supported.
//! * End session: `id_token_hint` (may be expired, must verify against a current JWKS key),
//!   `client_id`, `post_logout_redirect_uri` (must be registered; `TargetResource` is accepted
//!   as an alias on `/idp/startSLO.ping`), `state`. Ends the cookie's session and the hint's
//!   session, revokes their grants without `offline_access`, POSTs back-channel logout tokens
//!   (awaited, 5 s timeout each) and then redirects or shows a "signed out" page.
//!
//! ## Flow API (redirect-less sign-in)
//!
//! `response_mode=pi.flow` starts a flow instead of showing the sign-in page: PingOne's Flow
//! API (`/<envId>/flows/<flowId>`, cookie `ST`, code via `<issuer>/resume?flowId=` or inline,
//! see [`CodeDelivery`]) or PingFederate's Authentication API (`/pf-ws/authn/flows/<flowId>`,
//! rotating cookie `PF`, code inline). Users can have MFA devices ([`MfaDevice`], OTP
//! [`DEV_OTP`], push approved with [`DevProvider::approve_push`] or
//! `POST /dev/push/approve`) or a pending password change; [`TestUser::flow_test_users`]
//! covers every path. Flows expire after 15 idle minutes ([`DevProvider::expire_flows`]).
//! The crate README lists statuses, actions and error bodies per shape.
//!
//! ## Negative tests
//!
//! [`DevProvider::set_misbehavior`] makes following responses wrong in one specific way, and
//! [`DevProvider::logout_token`] hand-makes bad logout tokens. Both are for tests only.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authorize;
mod client_jwt;
mod config;
mod discovery;
mod error;
mod flow;
mod http;
mod keys;
mod logout;
mod management;
mod misbehave;
mod server;
mod state;
mod token;

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub use crate::config::{
    AuthMethod, ClientRegistration, CodeDelivery, MfaDevice, MfaDeviceKind, PathShape, SigningAlg,
    TestUser, DEFAULT_ENV_ID, DEFAULT_PASSWORD, DEFAULT_USERNAME, DEV_OTP,
};
pub use crate::error::Error;
pub use crate::misbehave::{
    LogoutTokenKind, Misbehavior, FLOW_MARKUP_MESSAGE, FLOW_WRONG_STATE, OTHER_AUDIENCE,
    WRONG_ISSUER, WRONG_NONCE, WRONG_SUBJECT,
};
pub use crate::state::Stats;

use crate::flow::FlowConfig;
use crate::keys::KeyStore;
use crate::state::{Shared, State, Ttls, Urls};

/// Name of the response header carrying the sign-in page's `request_ref`.
pub const REQUEST_REF_HEADER: &str = authorize::REQUEST_REF_HEADER;

/// The back-channel logout event URI used in logout tokens' `events` claim.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = logout::BACKCHANNEL_EVENT;

/// Configures and starts a [`DevProvider`]. Obtained from [`DevProvider::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use ping_oidc_dev_provider::{DevProvider, PathShape, SigningAlg};
///
/// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
/// let provider = DevProvider::builder()
///     .path_shape(PathShape::PingFederate)
///     .bind("127.0.0.1:0".parse().unwrap())
///     .access_token_ttl(Duration::from_secs(60))
///     .signing_alg(SigningAlg::ES256)
///     .start()
///     .await?;
/// # let _ = provider; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DevProviderBuilder {
    shape: PathShape,
    bind: SocketAddr,
    users: Vec<TestUser>,
    resources: Vec<String>,
    clients: Vec<ClientRegistration>,
    access_ttl: Duration,
    id_ttl: Duration,
    refresh_ttl: Duration,
    signing_alg: SigningAlg,
    flow: FlowConfig,
}

impl Default for DevProviderBuilder {
    fn default() -> Self {
        DevProviderBuilder {
            shape: PathShape::default(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            users: Vec::new(),
            resources: Vec::new(),
            clients: Vec::new(),
            access_ttl: Duration::from_secs(3600),
            id_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            signing_alg: SigningAlg::RS256,
            flow: FlowConfig::default(),
        }
    }
}

impl DevProviderBuilder {
    /// PingOne (default, env id [`DEFAULT_ENV_ID`]) or PingFederate URL layout.
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .path_shape(ping_oidc_dev_provider::PathShape::pingone("env-a"));
    /// # let _ = b;
    /// ```
    pub fn path_shape(mut self, shape: PathShape) -> Self {
        self.shape = shape;
        self
    }

    /// The address to listen on; default `127.0.0.1:0` (random port). Must be a loopback
    /// address, or [`start`](Self::start) fails with [`Error::Config`].
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder().bind(([127, 0, 0, 1], 9000).into());
    /// # let _ = b;
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// A resource server (RFC 8707) the provider issues tokens for: a refresh-token grant
    /// with `resource=<indicator>` gets an access token whose `aud` is the indicator (as
    /// PingOne issues one token per resource). Unknown indicators get `invalid_target`.
    pub fn resource(mut self, indicator: impl Into<String>) -> Self {
        self.resources.push(indicator.into());
        self
    }

    /// Adds a test user. Without any, the default user `alice` / `alice-password`
    /// ([`TestUser::default_user`]) exists.
    ///
    /// ```
    /// use ping_oidc_dev_provider::{DevProvider, TestUser};
    /// let b = DevProvider::builder()
    ///     .user(TestUser::default_user())
    ///     .user(TestUser::new("bob", "bob-password").claim("email", "bob@example.com"));
    /// # let _ = b;
    /// ```
    pub fn user(mut self, user: TestUser) -> Self {
        self.users.push(user);
        self
    }

    /// Registers a client (relying party).
    ///
    /// ```
    /// use ping_oidc_dev_provider::{ClientRegistration, DevProvider};
    /// let b = DevProvider::builder()
    ///     .client(ClientRegistration::public("spa", "http://127.0.0.1:5173/callback"));
    /// # let _ = b;
    /// ```
    pub fn client(mut self, client: ClientRegistration) -> Self {
        self.clients.push(client);
        self
    }

    /// Access token lifetime (default 1 hour).
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .access_token_ttl(std::time::Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// ID token lifetime (default 1 hour).
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .id_token_ttl(std::time::Duration::from_secs(300));
    /// # let _ = b;
    /// ```
    pub fn id_token_ttl(mut self, ttl: Duration) -> Self {
        self.id_ttl = ttl;
        self
    }

    /// Refresh token lifetime, counted from each rotation (default 30 days).
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .refresh_token_ttl(std::time::Duration::from_secs(3600));
    /// # let _ = b;
    /// ```
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Default signing algorithm for ID, access and logout tokens (default RS256). A client can
    /// override it with [`ClientRegistration::signing_alg`].
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .signing_alg(ping_oidc_dev_provider::SigningAlg::ES256);
    /// # let _ = b;
    /// ```
    pub fn signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = alg;
        self
    }

    /// Flow API (`response_mode=pi.flow`): start with the identifier (PingOne
    /// `SIGN_ON_REQUIRED` + `user.lookup`, then `PASSWORD_REQUIRED`; PingFederate
    /// `IDENTIFIER_REQUIRED` + `submitIdentifier`, then `USERNAME_PASSWORD_REQUIRED`) instead of
    /// asking for username and password together. Default `false`.
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder().identifier_first(true);
    /// # let _ = b;
    /// ```
    pub fn identifier_first(mut self, on: bool) -> Self {
        self.flow.identifier_first = on;
        self
    }

    /// Flow API, PingOne shape: how a `COMPLETED` flow hands over the authorization code
    /// (default [`CodeDelivery::ResumeJson`]). The PingFederate shape always puts it inline.
    ///
    /// ```
    /// use ping_oidc_dev_provider::{CodeDelivery, DevProvider};
    /// let b = DevProvider::builder().pingone_code_delivery(CodeDelivery::Inline);
    /// # let _ = b;
    /// ```
    pub fn pingone_code_delivery(mut self, delivery: CodeDelivery) -> Self {
        self.flow.code_delivery = delivery;
        self
    }

    /// Flow API, PingFederate shape: whether flow `POST`s must carry an `X-XSRF-Header`
    /// header (any value; Ping's widget sends `PingFederate`). Default `true`; a missing
    /// header is answered 400 `INVALID_REQUEST`.
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder().require_xsrf_header(false);
    /// # let _ = b;
    /// ```
    pub fn require_xsrf_header(mut self, on: bool) -> Self {
        self.flow.require_xsrf = on;
        self
    }

    /// Flow API, PingFederate shape: a right OTP leads to `OTP_VERIFIED` (seen on a real
    /// deployment) instead of `MFA_COMPLETED`; both need `continueAuthentication`. Default
    /// `false`.
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder().pingfederate_otp_verified(true);
    /// # let _ = b;
    /// ```
    pub fn pingfederate_otp_verified(mut self, on: bool) -> Self {
        self.flow.pf_otp_verified = on;
        self
    }

    /// Flow API: approve every push automatically once it has waited this long (checked when
    /// the client re-reads or polls the flow). Default `None`: only
    /// [`DevProvider::approve_push`] or `POST /dev/push/approve` approve.
    ///
    /// ```
    /// let b = ping_oidc_dev_provider::DevProvider::builder()
    ///     .push_approval_delay(Some(std::time::Duration::from_secs(3)));
    /// # let _ = b;
    /// ```
    pub fn push_approval_delay(mut self, delay: Option<Duration>) -> Self {
        self.flow.push_delay = delay;
        self
    }

    /// Validates the configuration, binds the socket and starts serving on the current tokio
    /// runtime. Logs (tracing, WARN) that this provider is for development only.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
    /// let provider = ping_oidc_dev_provider::DevProvider::builder().start().await?;
    /// assert!(provider.issuer().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<DevProvider, Error> {
        if !self.bind.ip().is_loopback() {
            return Err(Error::Config(format!(
                "the dev provider only binds loopback addresses, not {}",
                self.bind
            )));
        }
        if let PathShape::PingOne { env_id } = &self.shape {
            let ok = !env_id.is_empty()
                && env_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !ok {
                return Err(Error::Config(format!(
                    "env_id {env_id:?} must be non-empty and use only letters, digits, '-', '_', '.'"
                )));
            }
        }
        let users = if self.users.is_empty() {
            vec![TestUser::default_user()]
        } else {
            self.users
        };
        for (i, u) in users.iter().enumerate() {
            if users[..i].iter().any(|o| o.username == u.username) {
                return Err(Error::Config(format!(
                    "duplicate username {:?}",
                    u.username
                )));
            }
        }
        let mut clients = HashMap::new();
        for c in self.clients {
            c.validate().map_err(Error::Config)?;
            if clients.insert(c.client_id.clone(), c).is_some() {
                return Err(Error::Config("duplicate client_id".into()));
            }
        }
        let rng = ring::rand::SystemRandom::new();
        let keys = KeyStore::new(&rng)?;

        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let urls = Urls::new(addr, &self.shape);
        let state = State {
            clients,
            users,
            pending: HashMap::new(),
            codes: HashMap::new(),
            sessions: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            families: HashMap::new(),
            next_family: 0,
            stats: Stats::default(),
            misbehavior: Misbehavior::None,
            ttl: Ttls {
                access: self.access_ttl,
                id: self.id_ttl,
                refresh: self.refresh_ttl,
            },
            keys,
            signing_alg: self.signing_alg,
            flows: HashMap::new(),
            flow_order: std::collections::VecDeque::new(),
            flow_config: self.flow,
            resources: self.resources,
            assertion_jtis: Default::default(),
        };
        let shared = Arc::new(Shared::new(urls, state));
        let app = server::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "dev provider server stopped with an error");
            }
        });
        tracing::warn!(
            issuer = %shared.urls.issuer,
            "ping-oidc dev provider listening on {addr}: FOR DEVELOPMENT AND TESTS ONLY, NOT FOR PRODUCTION (public test keys)"
        );
        Ok(DevProvider {
            shared,
            control: Arc::new(Control {
                shutdown: Mutex::new(Some(tx)),
                task: Mutex::new(Some(task)),
            }),
        })
    }
}

/// Held only by handles (not by the server), so dropping every handle stops the server.
struct Control {
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// All endpoint URLs of a running provider.
///
/// ```no_run
/// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
/// let provider = ping_oidc_dev_provider::DevProvider::builder().start().await?;
/// let e = provider.endpoints();
/// assert!(e.token.ends_with("/as/token"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// The issuer identifier.
    pub issuer: String,
    /// The discovery document URL.
    pub discovery: String,
    /// Authorization endpoint.
    pub authorization: String,
    /// Token endpoint.
    pub token: String,
    /// Userinfo endpoint.
    pub userinfo: String,
    /// JWKS URI.
    pub jwks: String,
    /// Revocation endpoint.
    pub revocation: String,
    /// Introspection endpoint.
    pub introspection: String,
    /// End-session endpoint.
    pub end_session: String,
    /// PingFederate only: `/idp/startSLO.ping`.
    pub ping_end_session: Option<String>,
}

/// Who [`DevProvider::backchannel_logout`] signs out.
///
/// ```
/// let by_sub = ping_oidc_dev_provider::LogoutTarget::Sub("user-sub".into());
/// # let _ = by_sub;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Every provider session of this subject.
    Sub(String),
    /// One provider session (`sid` claim).
    Sid(String),
}

/// A provider session, as reported by [`DevProvider::sessions`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Session id (the `sid` claim).
    pub sid: String,
    /// Subject.
    pub sub: String,
    /// Authentication time (seconds since the epoch).
    pub auth_time: u64,
    /// Clients that received a code in this session.
    pub clients: Vec<String>,
}

/// A running development provider. Cheap to clone (all clones control the same server);
/// the server stops at [`shutdown`](Self::shutdown) or when the last handle is dropped.
#[derive(Clone)]
pub struct DevProvider {
    shared: Arc<Shared>,
    control: Arc<Control>,
}

impl fmt::Debug for DevProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevProvider")
            .field("issuer", &self.shared.urls.issuer)
            .finish_non_exhaustive()
    }
}

impl DevProvider {
    /// A builder with the defaults (PingOne shape, `127.0.0.1:0`, user `alice`, no clients).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
    /// let provider = ping_oidc_dev_provider::DevProvider::builder().start().await?;
    /// # let _ = provider; Ok(()) }
    /// ```
    pub fn builder() -> DevProviderBuilder {
        DevProviderBuilder::default()
    }

    /// The issuer, e.g. `http://127.0.0.1:41234/00000000-0000-4000-8000-000000000001/as`
    /// (PingOne) or `http://127.0.0.1:41234` (PingFederate).
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// let discovery = format!("{}/.well-known/openid-configuration", provider.issuer());
    /// # let _ = discovery; }
    /// ```
    pub fn issuer(&self) -> String {
        self.shared.urls.issuer.clone()
    }

    /// The management API's base URL, `http://127.0.0.1:<port>/v1` (PingOne's is
    /// `https://api.pingone.<tld>/v1`): `GET {base}/environments/{env}/users/{id}/devices`
    /// with a worker's token.
    pub fn management_api_url(&self) -> String {
        format!("{}/v1", self.shared.urls.base_url)
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// assert!(provider.base_url().starts_with("http://127.0.0.1:"));
    /// # }
    /// ```
    pub fn base_url(&self) -> String {
        self.shared.urls.base_url.clone()
    }

    /// The listening port.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// assert_ne!(provider.port(), 0);
    /// # }
    /// ```
    pub fn port(&self) -> u16 {
        self.shared.urls.addr.port()
    }

    /// The listening socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.urls.addr
    }

    /// The path shape this provider imitates.
    pub fn path_shape(&self) -> PathShape {
        self.shared.urls.shape.clone()
    }

    /// All endpoint URLs.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// println!("end session at {}", provider.endpoints().end_session);
    /// # }
    /// ```
    pub fn endpoints(&self) -> Endpoints {
        let u = &self.shared.urls;
        Endpoints {
            issuer: u.issuer.clone(),
            discovery: u.discovery.clone(),
            authorization: u.authorize.clone(),
            token: u.token.clone(),
            userinfo: u.userinfo.clone(),
            jwks: u.jwks.clone(),
            revocation: u.revoke.clone(),
            introspection: u.introspect.clone(),
            end_session: u.end_session.clone(),
            ping_end_session: u.ping_end_session.clone(),
        }
    }

    /// Registers (or replaces, by `client_id`) a client at runtime.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) -> Result<(), ping_oidc_dev_provider::Error> {
    /// use ping_oidc_dev_provider::ClientRegistration;
    /// provider.register_client(ClientRegistration::confidential("late", "secret", "http://127.0.0.1:4000/cb"))?;
    /// # Ok(()) }
    /// ```
    pub fn register_client(&self, client: ClientRegistration) -> Result<(), Error> {
        client.validate().map_err(Error::Config)?;
        self.shared
            .lock()
            .clients
            .insert(client.client_id.clone(), client);
        Ok(())
    }

    /// Adds (or replaces, by username) a test user at runtime.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.add_user(ping_oidc_dev_provider::TestUser::new("erin", "erin-password"));
    /// # }
    /// ```
    pub fn add_user(&self, user: TestUser) {
        let mut st = self.shared.lock();
        st.users.retain(|u| u.username != user.username);
        st.users.push(user);
    }

    /// Programmatic sign-in: given the authorization URL a relying party produced, validates it
    /// like the authorization endpoint, authenticates `username` (no password; a fresh
    /// provider session) and returns the URL the browser would be redirected to
    /// (`redirect_uri?code=..&state=..&iss=..`). Requests the endpoint would answer with an
    /// error redirect (missing PKCE, `prompt=none` — there is no browser session here —,
    /// [`Misbehavior::AuthorizeAccessDenied`], ...) return `Ok` with that error redirect.
    /// Requests that cannot be redirected (unknown client, unregistered `redirect_uri`) and
    /// unknown users are errors.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider, authorize_url: String) -> Result<(), ping_oidc_dev_provider::Error> {
    /// let callback = provider.sign_in(&authorize_url, "alice")?;
    /// let code = callback.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
    /// # let _ = code; Ok(()) }
    /// ```
    pub fn sign_in(&self, authorize_url: &str, username: &str) -> Result<Url, Error> {
        authorize::sign_in(&self.shared, authorize_url, username)
    }

    /// Changes the lifetime of access tokens issued from now on.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.set_access_token_ttl(std::time::Duration::from_secs(2));
    /// # }
    /// ```
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.shared.lock().ttl.access = ttl;
    }

    /// Changes the lifetime of ID tokens issued from now on.
    pub fn set_id_token_ttl(&self, ttl: Duration) {
        self.shared.lock().ttl.id = ttl;
    }

    /// Changes the lifetime of refresh tokens issued from now on.
    pub fn set_refresh_token_ttl(&self, ttl: Duration) {
        self.shared.lock().ttl.refresh = ttl;
    }

    /// Flows started from now on ask for the username first (see
    /// [`DevProviderBuilder::identifier_first`]).
    pub fn set_identifier_first(&self, on: bool) {
        self.shared.lock().flow_config.identifier_first = on;
    }

    /// Makes every access token issued so far inactive (expired) at userinfo and
    /// introspection. Refresh tokens keep working.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.expire_access_tokens();
    /// // the relying party must now refresh
    /// # }
    /// ```
    pub fn expire_access_tokens(&self) {
        let now = SystemTime::now();
        let mut st = self.shared.lock();
        for rec in st.access_tokens.values_mut() {
            rec.expires = rec.expires.min(now);
        }
    }

    /// Makes every refresh token issued so far expired.
    pub fn expire_refresh_tokens(&self) {
        let now = SystemTime::now();
        let mut st = self.shared.lock();
        for rec in st.refresh_tokens.values_mut() {
            rec.expires = rec.expires.min(now);
        }
    }

    /// Key rotation: a new key of `alg` becomes current and `alg` becomes the provider's
    /// signing algorithm; older keys stay in the JWKS until [`retire_old_keys`]. RS256 cycles
    /// through the four embedded test keys; ES256 keys are generated. Returns the new `kid`.
    ///
    /// [`retire_old_keys`]: Self::retire_old_keys
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) -> Result<(), ping_oidc_dev_provider::Error> {
    /// let kid = provider.rotate_keys(ping_oidc_dev_provider::SigningAlg::RS256)?;
    /// assert!(provider.jwks_kids().contains(&kid));
    /// # Ok(()) }
    /// ```
    pub fn rotate_keys(&self, alg: SigningAlg) -> Result<String, Error> {
        let mut st = self.shared.lock();
        let kid = st.keys.rotate(alg, &self.shared.rng)?;
        st.signing_alg = alg;
        Ok(kid)
    }

    /// Removes every key from the JWKS except the current RS256 and ES256 keys.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.retire_old_keys();
    /// assert_eq!(provider.jwks_kids().len(), 2);
    /// # }
    /// ```
    pub fn retire_old_keys(&self) {
        self.shared.lock().keys.retire_old();
    }

    /// The `kid`s currently published in the JWKS.
    pub fn jwks_kids(&self) -> Vec<String> {
        self.shared.lock().keys.kids()
    }

    /// The `kid` tokens are signed with now (provider default algorithm).
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// let kid = provider.current_kid();
    /// # let _ = kid; }
    /// ```
    pub fn current_kid(&self) -> String {
        let st = self.shared.lock();
        st.keys
            .current(st.signing_alg)
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// The provider's default signing algorithm.
    pub fn signing_alg(&self) -> SigningAlg {
        self.shared.lock().signing_alg
    }

    /// Current provider sessions.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// assert!(provider.sessions().is_empty());
    /// # }
    /// ```
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let st = self.shared.lock();
        let mut v: Vec<SessionInfo> = st
            .sessions
            .values()
            .map(|s| SessionInfo {
                sid: s.sid.clone(),
                sub: s.sub.clone(),
                auth_time: s.auth_time,
                clients: s.clients.iter().cloned().collect(),
            })
            .collect();
        v.sort_by(|a, b| a.sid.cmp(&b.sid));
        v
    }

    /// Provider-initiated logout: ends the target's sessions (revoking their grants without
    /// `offline_access`) and POSTs a logout token to every participating client with a
    /// `backchannel_logout_uri`. Returns how many deliveries were answered with 2xx.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider, sub: String) {
    /// use ping_oidc_dev_provider::LogoutTarget;
    /// let delivered = provider.backchannel_logout(LogoutTarget::Sub(sub)).await;
    /// assert_eq!(delivered, 1);
    /// # }
    /// ```
    pub async fn backchannel_logout(&self, target: LogoutTarget) -> usize {
        let deliveries = {
            let mut st = self.shared.lock();
            let sids: Vec<String> = match &target {
                LogoutTarget::Sid(sid) => vec![sid.clone()],
                LogoutTarget::Sub(sub) => st
                    .sessions
                    .values()
                    .filter(|s| &s.sub == sub)
                    .map(|s| s.sid.clone())
                    .collect(),
            };
            logout::end_sessions(&self.shared, &mut st, &sids)
        };
        logout::deliver_all(&self.shared, deliveries).await
    }

    /// Flow API: approves the waiting push confirmation(s) of `username` (the flow moves on
    /// at the client's next read or `poll`). Returns false if none was waiting. The HTTP
    /// equivalent is `POST <base>/dev/push/approve` with the form field `username` (204, or
    /// 404 when none was waiting).
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// assert!(provider.approve_push("push-user"));
    /// # }
    /// ```
    pub fn approve_push(&self, username: &str) -> bool {
        flow::approve_push(&mut self.shared.lock(), username)
    }

    /// Flow API: forgets every flow, as if each had been idle for 15 minutes: every flow URL
    /// and resume call then answers 404. Provider sessions already created stay.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.expire_flows();
    /// # }
    /// ```
    pub fn expire_flows(&self) {
        let mut st = self.shared.lock();
        st.flows.clear();
        st.flow_order.clear();
    }

    /// Counters since start or the last [`reset_stats`](Self::reset_stats).
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// assert_eq!(provider.stats().refresh_grants, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Sets every counter to zero.
    pub fn reset_stats(&self) {
        self.shared.lock().stats = Stats::default();
    }

    /// **Test-only.** Makes the following responses wrong in the given way until replaced
    /// (`Misbehavior::None` restores correct behaviour). See [`Misbehavior`].
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// use ping_oidc_dev_provider::Misbehavior;
    /// provider.set_misbehavior(Misbehavior::SlowResponses(std::time::Duration::from_secs(3)));
    /// # }
    /// ```
    pub fn set_misbehavior(&self, misbehavior: Misbehavior) {
        tracing::warn!(?misbehavior, "dev provider misbehaviour set");
        self.shared.lock().misbehavior = misbehavior;
    }

    /// The misbehaviour in effect.
    pub fn misbehavior(&self) -> Misbehavior {
        self.shared.lock().misbehavior.clone()
    }

    /// **Test-only.** A hand-made logout token (signed with the current key for `client_id`'s
    /// algorithm) for `client_id`, `sub` and `sid`, correct except for the defect named by
    /// `kind`, for tests that POST it to a relying party's back-channel endpoint themselves.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) -> Result<(), ping_oidc_dev_provider::Error> {
    /// use ping_oidc_dev_provider::LogoutTokenKind;
    /// let token = provider.logout_token(LogoutTokenKind::Expired, "my-app", "sub-1", "sid-1")?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn logout_token(
        &self,
        kind: LogoutTokenKind,
        client_id: &str,
        sub: &str,
        sid: &str,
    ) -> Result<String, Error> {
        let st = self.shared.lock();
        logout::make_logout_token(&self.shared, &st, &kind, client_id, Some(sub), Some(sid))
    }

    /// Stops the server (graceful, at most 5 s) and waits for it. Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(provider: ping_oidc_dev_provider::DevProvider) {
    /// provider.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        let tx = self
            .control
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        let task = self
            .control
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut task) = task {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}
