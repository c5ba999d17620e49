//! Configuration: a builder, and loading from the environment.
//!
//! Every check runs in [`ConfigBuilder::build`], so a bad setting fails at start with a message
//! that names the setting and says what to fix.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::crypto::SessionKey;
use crate::pingone::Region;

/// Where the provider's issuer comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderSource {
    /// Any OpenID provider, by its issuer URL (exactly as in its discovery document).
    Issuer(String),
    /// PingOne, by region and environment id.
    PingOne {
        /// The region (its host).
        region: Region,
        /// The environment id (a UUID).
        environment_id: String,
    },
    /// PingOne behind a custom domain (issuer `https://<domain>/as`).
    PingOneCustomDomain(String),
}

impl ProviderSource {
    /// The issuer URL this source stands for.
    pub fn issuer(&self) -> String {
        match self {
            ProviderSource::Issuer(issuer) => issuer.clone(),
            ProviderSource::PingOne {
                region,
                environment_id,
            } => crate::pingone::issuer(*region, environment_id),
            ProviderSource::PingOneCustomDomain(domain) => {
                crate::pingone::custom_domain_issuer(domain)
            }
        }
    }
}

/// How the client authenticates at the token, revocation and introspection endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenAuthMethod {
    /// HTTP Basic with the client id and secret (the default with a secret).
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// A public client: only the client id is sent (PKCE protects the code).
    None,
}

impl TokenAuthMethod {
    /// Parses the OAuth name (`client_secret_basic`, `client_secret_post`, `none`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The OAuth name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent on top-level navigations from other sites (needed for the sign-in redirect back).
    Lax,
    /// Never sent from other sites.
    Strict,
}

/// A secret string that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration problem, found at start. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ping-oidc configuration: {0}")]
pub struct ConfigError(pub String);

fn config_error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// Validated configuration. Build it with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) provider: ProviderSource,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) auth_method: TokenAuthMethod,
    pub(crate) scopes: Vec<String>,
    pub(crate) app_url: Url,
    pub(crate) app_origin: String,
    pub(crate) route_prefix: String,
    pub(crate) default_return_to: String,
    pub(crate) post_logout_redirect: String,
    pub(crate) cookie_name: String,
    pub(crate) cookie_secure: bool,
    pub(crate) same_site: SameSite,
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_lifetime: Duration,
    pub(crate) clock_skew: Duration,
    pub(crate) refresh_leeway: Duration,
    pub(crate) session_key: SessionKey,
    pub(crate) session_key_was_generated: bool,
    pub(crate) http_connect_timeout: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) jwks_refetch_interval: Duration,
    pub(crate) logout_token_max_age: Duration,
    pub(crate) refresh_lease: Duration,
    pub(crate) end_session_endpoint: Option<String>,
    pub(crate) trusted_audiences: Vec<String>,
    pub(crate) fetch_userinfo: bool,
}

impl Config {
    /// Starts a builder.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the variables of the example contract: `OIDC_ISSUER` or `PINGONE_ENV_ID` +
    /// `PINGONE_REGION` or `PINGONE_CUSTOM_DOMAIN`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`,
    /// `OIDC_TOKEN_AUTH_METHOD`, `OIDC_SCOPES`, `APP_URL`, `SESSION_KEY`.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::builder_from_env()?.build()
    }

    /// Like [`Config::from_env`], but returns the builder so code can adjust it.
    pub fn builder_from_env() -> Result<ConfigBuilder, ConfigError> {
        Self::builder_from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Like [`Config::builder_from_env`], reading variables through `lookup` (for tests).
    pub fn builder_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ConfigBuilder, ConfigError> {
        let mut builder = Config::builder();
        let issuer = lookup("OIDC_ISSUER");
        let env_id = lookup("PINGONE_ENV_ID");
        let custom_domain = lookup("PINGONE_CUSTOM_DOMAIN");
        builder = match (issuer, env_id, custom_domain) {
            (Some(issuer), None, None) => builder.issuer(issuer),
            (None, Some(env_id), None) => {
                let region = match lookup("PINGONE_REGION") {
                    Some(name) => Region::parse(&name).ok_or_else(|| {
                        config_error(format!(
                            "PINGONE_REGION `{name}` is not a PingOne region; use one of com, ca, eu, com.au, sg, asia"
                        ))
                    })?,
                    None => Region::NorthAmerica,
                };
                builder.pingone(region, env_id)
            }
            (None, None, Some(domain)) => {
                if lookup("PINGONE_REGION").is_some() {
                    return Err(config_error(
                        "PINGONE_REGION applies to PINGONE_ENV_ID only; a custom domain's issuer is https://<domain>/as: unset PINGONE_REGION",
                    ));
                }
                builder.pingone_custom_domain(domain)
            }
            (None, Some(_), Some(_)) => {
                return Err(config_error(
                    "set PINGONE_ENV_ID or PINGONE_CUSTOM_DOMAIN, not both: with a custom domain the issuer is https://<domain>/as, without the environment id",
                ))
            }
            (None, None, None) if lookup("PINGONE_REGION").is_some() => {
                return Err(config_error(
                    "PINGONE_REGION is set but PINGONE_ENV_ID is not: set PINGONE_ENV_ID to your PingOne environment id",
                ))
            }
            (None, None, None) => {
                return Err(config_error(
                    "no provider: set OIDC_ISSUER, or PINGONE_ENV_ID (with PINGONE_REGION), or PINGONE_CUSTOM_DOMAIN",
                ))
            }
            _ => {
                return Err(config_error(
                    "set only one of OIDC_ISSUER, PINGONE_ENV_ID and PINGONE_CUSTOM_DOMAIN",
                ))
            }
        };
        if let Some(id) = lookup("OIDC_CLIENT_ID") {
            builder = builder.client_id(id);
        }
        if let Some(secret) = lookup("OIDC_CLIENT_SECRET") {
            builder = builder.client_secret(secret);
        }
        if let Some(method) = lookup("OIDC_TOKEN_AUTH_METHOD") {
            let parsed = TokenAuthMethod::parse(&method).ok_or_else(|| {
                config_error(format!(
                    "OIDC_TOKEN_AUTH_METHOD `{method}` is not supported; use client_secret_basic, client_secret_post or none"
                ))
            })?;
            builder = builder.token_auth_method(parsed);
        }
        if let Some(scopes) = lookup("OIDC_SCOPES") {
            builder = builder.scopes(scopes.split_whitespace());
        }
        builder =
            builder.app_url(lookup("APP_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into()));
        if let Some(key) = lookup("SESSION_KEY") {
            builder = builder.session_key(key);
        }
        Ok(builder)
    }

    /// Where the issuer came from (a URL or a PingOne preset).
    pub fn provider(&self) -> &ProviderSource {
        &self.provider
    }

    /// The issuer URL the provider must present, exactly.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How the client authenticates at the provider (`none` for a public client).
    pub fn token_auth_method(&self) -> TokenAuthMethod {
        self.auth_method
    }

    /// The app's public base URL.
    pub fn app_url(&self) -> &Url {
        &self.app_url
    }

    /// The prefix of the auth routes, such as `/auth`.
    pub fn route_prefix(&self) -> &str {
        &self.route_prefix
    }

    /// The redirect URI registered at the provider: `<app_url><prefix>/callback`.
    pub fn redirect_uri(&self) -> String {
        self.absolute_url(&format!("{}/callback", self.route_prefix))
    }

    /// The scopes asked for at sign-in (`openid` first).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when `SESSION_KEY` was not given and a random one is in use; sessions and
    /// sign-ins in progress then don't survive a restart or work across instances.
    pub fn session_key_was_generated(&self) -> bool {
        self.session_key_was_generated
    }

    pub(crate) fn absolute_url(&self, path: &str) -> String {
        let base = self.app_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

/// Builds a [`Config`]. Only the provider, the client id and the app URL are required.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ConfigBuilder {
    provider: Option<ProviderSource>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    auth_method: Option<TokenAuthMethod>,
    scopes: Option<Vec<String>>,
    app_url: Option<String>,
    route_prefix: Option<String>,
    default_return_to: Option<String>,
    post_logout_redirect: Option<String>,
    cookie_name: Option<String>,
    cookie_secure: Option<bool>,
    same_site: Option<SameSite>,
    idle_timeout: Option<Duration>,
    absolute_lifetime: Option<Duration>,
    clock_skew: Option<Duration>,
    refresh_leeway: Option<Duration>,
    session_key: Option<Secret>,
    http_connect_timeout: Option<Duration>,
    http_timeout: Option<Duration>,
    max_response_bytes: Option<usize>,
    jwks_refetch_interval: Option<Duration>,
    logout_token_max_age: Option<Duration>,
    refresh_lease: Option<Duration>,
    end_session_endpoint: Option<String>,
    trusted_audiences: Vec<String>,
    fetch_userinfo: Option<bool>,
}

impl ConfigBuilder {
    /// Any OpenID provider by issuer URL. Discovery is read from
    /// `<issuer>/.well-known/openid-configuration`, and its `issuer` must equal this exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.provider = Some(ProviderSource::Issuer(issuer.into()));
        self
    }

    /// PingOne by region and environment id.
    pub fn pingone(mut self, region: Region, environment_id: impl Into<String>) -> Self {
        self.provider = Some(ProviderSource::PingOne {
            region,
            environment_id: environment_id.into(),
        });
        self
    }

    /// PingOne behind a custom domain, such as `login.example.com`.
    pub fn pingone_custom_domain(mut self, domain: impl Into<String>) -> Self {
        self.provider = Some(ProviderSource::PingOneCustomDomain(domain.into()));
        self
    }

    /// The client (application) id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret. Without one the client is public (`none` auth, PKCE only).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// The token endpoint auth method; default `client_secret_basic` with a secret, else `none`.
    pub fn token_auth_method(mut self, method: TokenAuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Scopes to ask for; `openid` is always added. Default: [`DEFAULT_SCOPES`] (`openid
    /// profile email`), so the user's name and email are there without asking.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The app's public base URL, such as `https://app.example.com`.
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = Some(url.into());
        self
    }

    /// Prefix of the auth routes (default `/auth`).
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = Some(prefix.into());
        self
    }

    /// Where to go after sign-in when there is no valid `return_to` (default `/`).
    pub fn default_return_to(mut self, path: impl Into<String>) -> Self {
        self.default_return_to = Some(path.into());
        self
    }

    /// Where the provider sends the browser after sign-out (default `/`, made absolute).
    pub fn post_logout_redirect(mut self, path_or_url: impl Into<String>) -> Self {
        self.post_logout_redirect = Some(path_or_url.into());
        self
    }

    /// The session cookie's name (default `__Host-ping_oidc` over https, else `ping_oidc`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// Force the `Secure` attribute on or off (default: on when the app URL is https).
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// The session cookie's `SameSite` (default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// A session unused for this long ends (default 8 hours).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// A session ends this long after sign-in, however active (default 7 days).
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute_lifetime = Some(lifetime);
        self
    }

    /// Allowed clock difference with the provider (default 60 s).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = Some(skew);
        self
    }

    /// Refresh this long before the access token expires (default 30 s, at most a quarter of
    /// the token's lifetime).
    pub fn refresh_leeway(mut self, leeway: Duration) -> Self {
        self.refresh_leeway = Some(leeway);
        self
    }

    /// The secret that signs the session cookie and encrypts sign-in transactions. Share it
    /// across instances. At least 32 characters. Random per start when unset.
    pub fn session_key(mut self, key: impl Into<String>) -> Self {
        self.session_key = Some(Secret::new(key));
        self
    }

    /// Connect timeout for calls to the provider (default 5 s).
    pub fn http_connect_timeout(mut self, timeout: Duration) -> Self {
        self.http_connect_timeout = Some(timeout);
        self
    }

    /// Total timeout for one call to the provider (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }

    /// Largest provider response body accepted (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }

    /// How old (by its `iat`) a back-channel logout token may be (default 5 minutes). With
    /// the `jti` check this bounds replays: a token is remembered until this window or its
    /// `exp` closes, whichever comes first.
    pub fn logout_token_max_age(mut self, max_age: Duration) -> Self {
        self.logout_token_max_age = Some(max_age);
        self
    }

    /// Least time between two JWKS refetches caused by an unknown `kid` in a token anyone can
    /// send, such as a back-channel logout token (default 10 s). ID tokens come from the token
    /// endpoint, so their unknown `kid` refetches at once (concurrent ones share one fetch).
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = Some(interval);
        self
    }

    /// How long a refresh lease is held before another instance may take over (default 10 s).
    pub fn refresh_lease(mut self, lease: Duration) -> Self {
        self.refresh_lease = Some(lease);
        self
    }

    /// Sign-out URL to use when discovery has none (PingFederate without
    /// `end_session_endpoint`, for example).
    pub fn end_session_endpoint(mut self, url: impl Into<String>) -> Self {
        self.end_session_endpoint = Some(url.into());
        self
    }

    /// Extra audiences an ID token may carry besides the client id.
    pub fn trusted_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted_audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Whether to call userinfo after sign-in when the provider has it (default true).
    pub fn fetch_userinfo(mut self, fetch: bool) -> Self {
        self.fetch_userinfo = Some(fetch);
        self
    }

    /// Checks everything and builds the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let provider = self.provider.ok_or_else(|| {
            config_error(
                "no provider: call .issuer(..), .pingone(..) or .pingone_custom_domain(..)",
            )
        })?;
        let issuer = provider.issuer();
        let issuer_url = Url::parse(&issuer)
            .map_err(|e| config_error(format!("issuer `{issuer}` is not a valid URL: {e}")))?;
        check_transport(&issuer_url, "issuer")?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(config_error(format!(
                "issuer `{issuer}` must not have a query or fragment"
            )));
        }
        if let ProviderSource::PingOne { environment_id, .. } = &provider {
            if !crate::pingone::is_environment_id(environment_id) {
                return Err(config_error(format!(
                    "PingOne environment id `{environment_id}` is not a UUID such as 5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"
                )));
            }
        }

        let client_id = self
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                config_error("client id is missing: set OIDC_CLIENT_ID or call .client_id(..)")
            })?;
        let auth_method = match (self.auth_method, &self.client_secret) {
            (Some(TokenAuthMethod::None), Some(_)) => {
                return Err(config_error(
                    "token auth method `none` was chosen but a client secret is set; remove one of them",
                ))
            }
            (Some(method), None) if method != TokenAuthMethod::None => {
                return Err(config_error(format!(
                    "token auth method `{}` needs a client secret: set OIDC_CLIENT_SECRET",
                    method.as_str()
                )))
            }
            (Some(method), _) => method,
            (None, Some(_)) => TokenAuthMethod::ClientSecretBasic,
            (None, None) => TokenAuthMethod::None,
        };

        let mut scopes = vec!["openid".to_string()];
        let asked = self
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        for scope in asked {
            if !crate::scope::is_valid_scope_token(&scope) {
                return Err(config_error(format!(
                    "scope `{scope}` has characters a scope cannot have"
                )));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }

        let app_url_text = self
            .app_url
            .ok_or_else(|| config_error("app URL is missing: set APP_URL or call .app_url(..)"))?;
        let app_url = Url::parse(&app_url_text).map_err(|e| {
            config_error(format!("APP_URL `{app_url_text}` is not a valid URL: {e}"))
        })?;
        if app_url.scheme() != "https" && app_url.scheme() != "http" {
            return Err(config_error(format!(
                "APP_URL `{app_url_text}` must be http or https"
            )));
        }
        if app_url.host_str().is_none() || app_url.query().is_some() || app_url.fragment().is_some()
        {
            return Err(config_error(format!(
                "APP_URL `{app_url_text}` must be a base URL such as https://app.example.com"
            )));
        }
        let app_origin = app_url.origin().ascii_serialization();
        let https = app_url.scheme() == "https";

        let route_prefix = self.route_prefix.unwrap_or_else(|| "/auth".into());
        if !route_prefix.starts_with('/')
            || route_prefix.ends_with('/')
            || route_prefix.contains(['?', '#', ' '])
        {
            return Err(config_error(format!(
                "route prefix `{route_prefix}` must start with `/` and not end with one, such as /auth"
            )));
        }
        let default_return_to = self.default_return_to.unwrap_or_else(|| "/".into());
        if crate::return_to::sanitize(&default_return_to).is_none() {
            return Err(config_error(format!(
                "default return path `{default_return_to}` must be a same-origin path such as /"
            )));
        }
        let post_logout_redirect = match self.post_logout_redirect {
            None => format!("{}/", app_url.as_str().trim_end_matches('/')),
            Some(target) if target.starts_with('/') && !target.starts_with("//") => {
                format!("{}{}", app_url.as_str().trim_end_matches('/'), target)
            }
            Some(target) => {
                Url::parse(&target).map_err(|e| {
                    config_error(format!(
                        "post-logout redirect `{target}` is neither a path nor a URL: {e}"
                    ))
                })?;
                target
            }
        };

        let cookie_secure = self.cookie_secure.unwrap_or(https);
        let cookie_name = self.cookie_name.unwrap_or_else(|| {
            if cookie_secure {
                "__Host-ping_oidc"
            } else {
                "ping_oidc"
            }
            .to_string()
        });
        if cookie_name.is_empty()
            || !cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(config_error(format!(
                "cookie name `{cookie_name}` may only use letters, digits, `-`, `_` and `.`"
            )));
        }
        if cookie_name.starts_with("__Host-") && !cookie_secure {
            return Err(config_error(
                "a `__Host-` cookie needs Secure, so an https app URL",
            ));
        }

        let idle_timeout = self.idle_timeout.unwrap_or(Duration::from_secs(8 * 3600));
        let absolute_lifetime = self
            .absolute_lifetime
            .unwrap_or(Duration::from_secs(7 * 24 * 3600));
        if idle_timeout.as_secs() < 1 || absolute_lifetime.as_secs() < 1 {
            return Err(config_error(
                "session idle timeout and absolute lifetime must be at least 1 s",
            ));
        }
        let clock_skew = self.clock_skew.unwrap_or(Duration::from_secs(60));
        let refresh_leeway = self.refresh_leeway.unwrap_or(Duration::from_secs(30));
        let http_connect_timeout = self.http_connect_timeout.unwrap_or(Duration::from_secs(5));
        let http_timeout = self.http_timeout.unwrap_or(Duration::from_secs(10));
        let refresh_lease = self.refresh_lease.unwrap_or(Duration::from_secs(10));
        let logout_token_max_age = self
            .logout_token_max_age
            .unwrap_or(Duration::from_secs(300));
        // Every duration is bounded here, so that no arithmetic on it (or on a token's times
        // with it) can overflow or panic later.
        let bounded = [
            ("clock_skew", clock_skew, Duration::ZERO, 600),
            ("refresh_leeway", refresh_leeway, Duration::ZERO, 3600),
            (
                "http_connect_timeout",
                http_connect_timeout,
                Duration::from_millis(1),
                300,
            ),
            ("http_timeout", http_timeout, Duration::from_millis(1), 300),
            (
                "refresh_lease",
                refresh_lease,
                Duration::from_millis(300),
                600,
            ),
            (
                "logout_token_max_age",
                logout_token_max_age,
                Duration::from_secs(1),
                86_400,
            ),
            (
                "idle_timeout",
                idle_timeout,
                Duration::from_secs(1),
                366 * 86_400,
            ),
            (
                "absolute_lifetime",
                absolute_lifetime,
                Duration::from_secs(1),
                366 * 86_400,
            ),
        ];
        for (name, value, least, most_secs) in bounded {
            if value < least || value > Duration::from_secs(most_secs) {
                return Err(config_error(format!(
                    "{name} must be between {least:?} and {most_secs} s"
                )));
            }
        }
        let (session_key, session_key_was_generated) = match self.session_key {
            Some(key) => (
                SessionKey::from_secret(key.expose()).map_err(config_error)?,
                false,
            ),
            None => (SessionKey::generate().map_err(config_error)?, true),
        };
        let end_session_endpoint = match self.end_session_endpoint {
            Some(url) => {
                let parsed = Url::parse(&url).map_err(|e| {
                    config_error(format!("end-session endpoint `{url}` is not a URL: {e}"))
                })?;
                check_transport(&parsed, "end-session endpoint")?;
                Some(url)
            }
            None => None,
        };

        Ok(Config {
            provider,
            issuer,
            client_id,
            client_secret: self.client_secret,
            auth_method,
            scopes,
            app_url,
            app_origin,
            route_prefix,
            default_return_to,
            post_logout_redirect,
            cookie_name,
            cookie_secure,
            same_site: self.same_site.unwrap_or(SameSite::Lax),
            idle_timeout,
            absolute_lifetime,
            clock_skew,
            refresh_leeway,
            session_key,
            session_key_was_generated,
            http_connect_timeout,
            http_timeout,
            max_response_bytes: self.max_response_bytes.unwrap_or(1024 * 1024),
            jwks_refetch_interval: self
                .jwks_refetch_interval
                .unwrap_or(Duration::from_secs(10)),
            logout_token_max_age,
            refresh_lease,
            end_session_endpoint,
            trusted_audiences: self.trusted_audiences,
            fetch_userinfo: self.fetch_userinfo.unwrap_or(true),
        })
    }
}

/// The scopes asked for when none are configured: the user's name and email come with the
/// ID token or userinfo, as an app showing "signed in as …" expects.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Provider URLs must be https, except on loopback (local development and tests).
pub(crate) fn check_transport(url: &Url, what: &str) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(config_error(format!(
            "{what} `{url}` must use https (plain http is accepted only for 127.0.0.1, ::1 and localhost)"
        ))),
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durations out of bounds are refused at build, so nothing can panic on them later.
    #[test]
    fn durations_are_bounded() {
        let base = || {
            Config::builder()
                .issuer("https://idp.example/as")
                .client_id("app")
                .app_url("https://app.example")
                .session_key("0123456789abcdef0123456789abcdef")
        };
        assert!(base().build().is_ok());
        let refused = [
            base().refresh_lease(Duration::ZERO),
            base().clock_skew(Duration::from_secs(u64::MAX)),
            base().http_timeout(Duration::ZERO),
            base().logout_token_max_age(Duration::ZERO),
            base().idle_timeout(Duration::from_secs(u64::MAX)),
        ];
        for builder in refused {
            let error = builder.build().expect_err("out of bounds");
            assert!(error.0.contains("must be between"), "{}", error.0);
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn pingone_preset_from_env() {
        let config = Config::builder_from_lookup(env(&[
            ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
            ("PINGONE_REGION", "eu"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
        ]))
        .and_then(ConfigBuilder::build)
        .expect("valid");
        assert_eq!(
            config.issuer(),
            "https://auth.pingone.eu/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as"
        );
        assert_eq!(config.auth_method, TokenAuthMethod::ClientSecretBasic);
        assert_eq!(config.redirect_uri(), "http://127.0.0.1:3000/auth/callback");
        assert_eq!(config.cookie_name, "ping_oidc");
        assert!(config.session_key_was_generated());
    }

    #[test]
    fn custom_domain_and_public_client() {
        let config = Config::builder_from_lookup(env(&[
            ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("APP_URL", "https://app.example.com"),
        ]))
        .and_then(ConfigBuilder::build)
        .expect("valid");
        assert_eq!(config.issuer(), "https://login.example.com/as");
        assert_eq!(config.auth_method, TokenAuthMethod::None);
        assert_eq!(config.cookie_name, "__Host-ping_oidc");
        assert!(config.cookie_secure);
    }

    #[test]
    fn errors_say_what_to_fix() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "no provider"),
            (
                vec![("OIDC_ISSUER", "https://idp.example.com")],
                "OIDC_CLIENT_ID",
            ),
            (
                vec![
                    ("OIDC_ISSUER", "http://idp.example.com"),
                    ("OIDC_CLIENT_ID", "a"),
                ],
                "must use https",
            ),
            (
                vec![("PINGONE_ENV_ID", "not-a-uuid"), ("OIDC_CLIENT_ID", "a")],
                "not a UUID",
            ),
            (
                vec![
                    ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
                    ("PINGONE_REGION", "mars"),
                ],
                "PINGONE_REGION",
            ),
            (
                vec![
                    ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
                    ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
                    ("OIDC_CLIENT_ID", "a"),
                ],
                "not both",
            ),
            (
                vec![("PINGONE_REGION", "eu"), ("OIDC_CLIENT_ID", "a")],
                "PINGONE_ENV_ID is not",
            ),
            (
                vec![
                    ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
                    ("PINGONE_REGION", "eu"),
                    ("OIDC_CLIENT_ID", "a"),
                ],
                "unset PINGONE_REGION",
            ),
            (
                vec![
                    ("OIDC_ISSUER", "https://idp.example.com"),
                    ("OIDC_CLIENT_ID", "a"),
                    ("OIDC_TOKEN_AUTH_METHOD", "client_secret_post"),
                ],
                "needs a client secret",
            ),
            (
                vec![
                    ("OIDC_ISSUER", "https://idp.example.com"),
                    ("OIDC_CLIENT_ID", "a"),
                    ("SESSION_KEY", "short"),
                ],
                "SESSION_KEY",
            ),
            (
                vec![
                    ("OIDC_ISSUER", "https://idp.example.com"),
                    ("OIDC_CLIENT_ID", "a"),
                    ("APP_URL", "ftp://x"),
                ],
                "APP_URL",
            ),
        ];
        for (vars, expected) in cases {
            let error = Config::builder_from_lookup(env(&vars))
                .and_then(ConfigBuilder::build)
                .expect_err("must fail");
            assert!(
                error.0.contains(expected),
                "`{}` should mention `{expected}`",
                error.0
            );
        }
    }

    #[test]
    fn openid_always_first_and_deduplicated() {
        let config = Config::builder()
            .issuer("http://127.0.0.1:9/x")
            .client_id("a")
            .app_url("http://127.0.0.1:3000")
            .scopes(["profile", "openid", "email", "profile"])
            .build()
            .expect("valid");
        assert_eq!(config.scopes(), ["openid", "profile", "email"]);
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let config = Config::builder()
            .issuer("http://127.0.0.1:9/x")
            .client_id("a")
            .client_secret("hunter2-very-secret")
            .app_url("http://127.0.0.1:3000")
            .build()
            .expect("valid");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"));
    }
}
