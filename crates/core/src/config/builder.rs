//! [`ConfigBuilder`]: every setting, and every check, in [`ConfigBuilder::build`].

use std::time::Duration;

use url::Url;

use crate::signin::SignInPage;

use super::*;

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
    resource: Option<String>,
    resource_scopes: Vec<String>,
    dpop_nonces: bool,
    fetch_userinfo: Option<bool>,
    flow_api: Option<FlowApi>,
    allowed_acr_values: Vec<String>,
    sign_in: SignIn,
    par: Par,
    request_object: RequestObject,
    assertion_audience: AssertionAudience,
    client_key: Option<std::sync::Arc<crate::ClientKey>>,
    sign_in_page: Option<SignInPage>,
    apis: Vec<crate::ApiConfig>,
    workers: Vec<(String, crate::worker::WorkerConfig)>,
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

    /// The resource identifier (RFC 8707) of this app's own API: bearer tokens sent to it
    /// must name it in `aud` (`OIDC_RESOURCE`). Default: the app URL, without a trailing `/`.
    pub fn resource(mut self, identifier: impl Into<String>) -> Self {
        self.resource = Some(identifier.into());
        self
    }

    /// The scopes this app's API understands, listed as `scopes_supported` in its protected
    /// resource metadata (`OIDC_RESOURCE_SCOPES`, space-separated). Default: none listed.
    pub fn resource_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether DPoP proofs sent to this app's API must carry a nonce it issued (RFC 9449 §9,
    /// `OIDC_DPOP_NONCES=on`): a proof without a current one is refused with
    /// `error="use_dpop_nonce"` and a fresh `DPoP-Nonce` header, so a proof made ahead of time
    /// is useless. Nonces are stateless (a MAC of the time, from the session key), so every
    /// instance with the same `SESSION_KEY` accepts them. Default: off.
    pub fn dpop_nonces(mut self, required: bool) -> Self {
        self.dpop_nonces = required;
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

    /// Which redirect-less sign-in API the provider has (`OIDC_FLOW_API`): the routes under
    /// `/auth/flow` drive it. Default: [`FlowApi::PingOne`] with a PingOne preset, else
    /// [`FlowApi::Off`].
    pub fn flow_api(mut self, api: FlowApi) -> Self {
        self.flow_api = Some(api);
        self
    }

    /// The `acr_values` a browser may ask for when it starts a redirect-less sign-in
    /// (`POST /auth/flow`), such as PingOne sign-on policy names. Default: none, so that a
    /// browser cannot pick a weaker policy than the app's own.
    pub fn allowed_acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// An API the app calls in the user's name: `ScopedToken<A>` for an [`api!`](crate::api)
    /// type, `Authenticated::api_token` and `/auth/token?api=<name>` then give a token for it
    /// alone, got with the refresh token (`scope`, and `resource` when it has one) and kept
    /// per session. Registering the same name again replaces it.
    pub fn api(mut self, api: crate::ApiConfig) -> Self {
        self.apis.retain(|known| known.name != api.name);
        self.apis.push(api);
        self
    }

    /// A worker application (client credentials) whose tokens the app uses for management
    /// APIs: [`PingOidc::worker`](crate::PingOidc::worker)`(name)` gives them. Registering
    /// the same name again replaces it.
    pub fn worker(mut self, name: impl Into<String>, worker: crate::worker::WorkerConfig) -> Self {
        let name = name.into();
        self.workers.retain(|(known, _)| *known != name);
        self.workers.push((name, worker));
        self
    }

    /// The client's private key (`OIDC_PRIVATE_KEY_FILE`, `OIDC_PRIVATE_KEY_ID`): for
    /// [`TokenAuthMethod::PrivateKeyJwt`] and signed request objects; its public half is
    /// served at `/auth/jwks`. With a key and no secret, `private_key_jwt` is the default.
    pub fn private_key(mut self, key: crate::ClientKey) -> Self {
        self.client_key = Some(std::sync::Arc::new(key));
        self
    }

    /// The `aud` of client assertions (`OIDC_CLIENT_ASSERTION_AUDIENCE`, default
    /// [`AssertionAudience::TokenEndpoint`]).
    pub fn client_assertion_audience(mut self, audience: AssertionAudience) -> Self {
        self.assertion_audience = audience;
        self
    }

    /// Signed request objects (`OIDC_REQUEST_OBJECT`, default [`RequestObject::Off`]).
    /// They sign `/auth/login`'s request; the redirect-less flows (`/auth/flow`,
    /// `/auth/signin`) start from the server over TLS and send plain parameters.
    pub fn request_object(mut self, mode: RequestObject) -> Self {
        self.request_object = mode;
        self
    }

    /// Pushed authorization requests (`OIDC_PAR`, default [`Par::Auto`]).
    pub fn par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// Where signed-out browser navigations to guarded pages go (`OIDC_SIGN_IN`): the
    /// provider's page through `/auth/login` (the default), or the embedded page at
    /// `/auth/signin`, which needs a [`flow_api`](Self::flow_api).
    pub fn sign_in(mut self, mode: SignIn) -> Self {
        self.sign_in = mode;
        self
    }

    /// The embedded sign-in page's brand, texts and templates (`SIGNIN_*` variables).
    pub fn sign_in_page(mut self, page: SignInPage) -> Self {
        self.sign_in_page = Some(page);
        self
    }

    /// Checks everything and builds the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let provider = self.provider.ok_or_else(|| {
            setting_error(
                "issuer",
                "no provider: call .issuer(..), .pingone(..) or .pingone_custom_domain(..)",
            )
        })?;
        let issuer = provider.issuer();
        let issuer_url = Url::parse(&issuer).map_err(|e| {
            setting_error(
                "issuer",
                format!("issuer `{issuer}` is not a valid URL: {e}"),
            )
        })?;
        check_transport(&issuer_url, "issuer")?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(setting_error(
                "issuer",
                format!("issuer `{issuer}` must not have a query or fragment"),
            ));
        }
        if let ProviderSource::PingOne { environment_id, .. } = &provider {
            if !crate::pingone::is_environment_id(environment_id) {
                return Err(setting_error("pingone", format!(
                    "PingOne environment id `{environment_id}` is not a UUID such as 5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"
                )));
            }
        }

        let client_id = self
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                setting_error(
                    "client_id",
                    "client id is missing: set OIDC_CLIENT_ID or call .client_id(..)",
                )
            })?;
        let auth_method = match (self.auth_method, &self.client_secret) {
            (Some(TokenAuthMethod::PrivateKeyJwt), _) if self.client_key.is_none() => {
                return Err(setting_error("private_key",
                    "token auth method `private_key_jwt` needs the client's private key: set OIDC_PRIVATE_KEY_FILE",
                ))
            }
            (Some(TokenAuthMethod::PrivateKeyJwt), secret) => {
                if secret.is_some() {
                    tracing::warn!("private_key_jwt is chosen: the client secret that is also set is not used");
                }
                TokenAuthMethod::PrivateKeyJwt
            }
            (None, None) if self.client_key.is_some() => TokenAuthMethod::PrivateKeyJwt,
            (Some(TokenAuthMethod::None), Some(_)) => {
                return Err(setting_error("token_auth_method", 
                    "token auth method `none` was chosen but a client secret is set; remove one of them",
                ))
            }
            (Some(method), None) if method != TokenAuthMethod::None => {
                return Err(setting_error("token_auth_method", format!(
                    "token auth method `{}` needs a client secret: set OIDC_CLIENT_SECRET",
                    method.as_str()
                )))
            }
            (Some(method), _) => method,
            (None, Some(_)) => TokenAuthMethod::ClientSecretBasic,
            (None, None) => TokenAuthMethod::None,
        };

        if self.request_object == RequestObject::Signed && self.client_key.is_none() {
            return Err(setting_error(
                "request_object",
                "signed request objects need the client's private key: set OIDC_PRIVATE_KEY_FILE",
            ));
        }

        let mut scopes = vec!["openid".to_string()];
        let asked = self
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        for scope in asked {
            if !crate::scope::is_valid_scope_token(&scope) {
                return Err(setting_error(
                    "scopes",
                    format!("scope `{scope}` has characters a scope cannot have"),
                ));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }

        let app_url_text = self.app_url.ok_or_else(|| {
            setting_error(
                "app_url",
                "app URL is missing: set APP_URL or call .app_url(..)",
            )
        })?;
        let app_url = Url::parse(&app_url_text).map_err(|e| {
            setting_error(
                "app_url",
                format!("APP_URL `{app_url_text}` is not a valid URL: {e}"),
            )
        })?;
        if app_url.scheme() != "https" && app_url.scheme() != "http" {
            return Err(setting_error(
                "app_url",
                format!("APP_URL `{app_url_text}` must be http or https"),
            ));
        }
        if app_url.host_str().is_none() || app_url.query().is_some() || app_url.fragment().is_some()
        {
            return Err(setting_error(
                "app_url",
                format!(
                    "APP_URL `{app_url_text}` must be a base URL such as https://app.example.com"
                ),
            ));
        }
        let app_origin = app_url.origin().ascii_serialization();
        let https = app_url.scheme() == "https";
        let (resource, resource_metadata_url, resource_metadata_paths) =
            resource_server(self.resource.as_deref(), &app_url)?;
        // ID tokens carry the client id in `aud`: as the resource, they would open the API.
        if resource == client_id || self.trusted_audiences.contains(&resource) {
            return Err(setting_error(
                "resource",
                "OIDC_RESOURCE must not be the client id or a trusted ID-token audience",
            ));
        }

        let route_prefix = self.route_prefix.unwrap_or_else(|| "/auth".into());
        if !route_prefix.starts_with('/')
            || route_prefix.ends_with('/')
            || route_prefix.contains(['?', '#', ' '])
        {
            return Err(setting_error("route_prefix", format!(
                "route prefix `{route_prefix}` must start with `/` and not end with one, such as /auth"
            )));
        }
        let default_return_to = self.default_return_to.unwrap_or_else(|| "/".into());
        if crate::return_to::sanitize(&default_return_to).is_none() {
            return Err(setting_error(
                "default_return_to",
                format!(
                "default return path `{default_return_to}` must be a same-origin path such as /"
            ),
            ));
        }
        let post_logout_redirect = match self.post_logout_redirect {
            None => format!("{}/", app_url.as_str().trim_end_matches('/')),
            Some(target) if target.starts_with('/') && !target.starts_with("//") => {
                format!("{}{}", app_url.as_str().trim_end_matches('/'), target)
            }
            Some(target) => {
                Url::parse(&target).map_err(|e| {
                    setting_error(
                        "post_logout_redirect",
                        format!("post-logout redirect `{target}` is neither a path nor a URL: {e}"),
                    )
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
            return Err(setting_error(
                "cookie_name",
                format!(
                    "cookie name `{cookie_name}` may only use letters, digits, `-`, `_` and `.`"
                ),
            ));
        }
        if cookie_name.starts_with("__Host-") && !cookie_secure {
            return Err(setting_error(
                "cookie_name",
                "a `__Host-` cookie needs Secure, so an https app URL",
            ));
        }

        let jwks_refetch_interval = self
            .jwks_refetch_interval
            .unwrap_or(Duration::from_secs(10));
        let idle_timeout = self.idle_timeout.unwrap_or(Duration::from_secs(8 * 3600));
        let absolute_lifetime = self
            .absolute_lifetime
            .unwrap_or(Duration::from_secs(7 * 24 * 3600));
        if idle_timeout.as_secs() < 1 || absolute_lifetime.as_secs() < 1 {
            return Err(setting_error(
                "idle_timeout",
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
                "jwks_refetch_interval",
                jwks_refetch_interval,
                Duration::from_secs(1),
                3600,
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
                return Err(setting_error(
                    name,
                    format!("{name} must be between {least:?} and {most_secs} s"),
                ));
            }
        }
        let (session_key, session_key_was_generated) = match self.session_key {
            Some(key) => (
                SessionKey::from_secret(key.expose())
                    .map_err(|message| setting_error("session_key", message))?,
                false,
            ),
            None => (SessionKey::generate().map_err(config_error)?, true),
        };
        let end_session_endpoint = match self.end_session_endpoint {
            Some(url) => {
                let parsed = Url::parse(&url).map_err(|e| {
                    setting_error(
                        "end_session_endpoint",
                        format!("end-session endpoint `{url}` is not a URL: {e}"),
                    )
                })?;
                check_transport(&parsed, "end-session endpoint")?;
                Some(url)
            }
            None => None,
        };

        let flow_api = self.flow_api.unwrap_or(match provider {
            ProviderSource::PingOne { .. } | ProviderSource::PingOneCustomDomain(_) => {
                FlowApi::PingOne
            }
            _ => FlowApi::Off,
        });

        if self.sign_in == SignIn::Embedded && flow_api == FlowApi::Off {
            return Err(setting_error(
                "sign_in",
                "OIDC_SIGN_IN=embedded needs the provider's flow API: set OIDC_FLOW_API (pingone or pingfederate)",
            ));
        }
        for (name, worker) in &self.workers {
            worker
                .check(name)
                .map_err(|message| setting_error("worker", message))?;
        }
        for api in &self.apis {
            api.check()
                .map_err(|message| setting_error("api", message))?;
        }
        let sign_in_page = self
            .sign_in_page
            .unwrap_or_default()
            .compile(app_url.host_str().unwrap_or("Sign in"))?;

        Ok(Config {
            par: self.par,
            request_object: self.request_object,
            assertion_audience: self.assertion_audience,
            client_key: self.client_key,
            workers: self.workers,
            apis: self.apis,
            sign_in: self.sign_in,
            sign_in_page,
            flow_api,
            allowed_acr_values: self.allowed_acr_values,
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
            jwks_refetch_interval,
            logout_token_max_age,
            refresh_lease,
            end_session_endpoint,
            trusted_audiences: self.trusted_audiences,
            resource,
            resource_metadata_url,
            resource_metadata_paths,
            resource_scopes: self.resource_scopes,
            dpop_nonces: self.dpop_nonces,
            fetch_userinfo: self.fetch_userinfo.unwrap_or(true),
        })
    }
}

/// The resource identifier, its metadata URL and the paths the metadata is served at
/// (RFC 9728 §3.1: `/.well-known/oauth-protected-resource`, then the resource's path). The
/// bare well-known path is always served, so an app with one API on its own origin can be
/// found either way.
fn resource_server(
    configured: Option<&str>,
    app_url: &Url,
) -> Result<(String, String, Vec<String>), ConfigError> {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let resource = match configured {
        Some(resource) => resource.to_string(),
        None => app_url.as_str().trim_end_matches('/').to_string(),
    };
    let url = Url::parse(&resource).map_err(|e| {
        setting_error(
            "resource",
            format!("OIDC_RESOURCE `{resource}` is not an absolute URL: {e}"),
        )
    })?;
    // RFC 8707 §2: an absolute URI without a fragment; ASCII, as it goes into headers.
    if url.fragment().is_some() || url.cannot_be_a_base() || !resource.is_ascii() {
        return Err(setting_error(
            "resource",
            format!("OIDC_RESOURCE `{resource}` must be an ASCII absolute URL without a fragment"),
        ));
    }
    let path = url.path().trim_end_matches('/');
    let suffixed = format!("{WELL_KNOWN}{path}");
    let metadata_url = format!("{}{suffixed}", url.origin().ascii_serialization());
    let mut paths = vec![WELL_KNOWN.to_string()];
    if !path.is_empty() {
        paths.push(suffixed);
    }
    Ok((resource, metadata_url, paths))
}
