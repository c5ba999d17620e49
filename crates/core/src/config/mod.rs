//! Configuration: a builder, and loading from the environment.
//!
//! Every check runs in [`ConfigBuilder::build`], so a bad setting fails at start with a message
//! that names the setting and says what to fix.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::crypto::SessionKey;
use crate::pingone::Region;

mod builder;

pub use builder::ConfigBuilder;

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
    /// A JWT signed with the client secret (HMAC; RFC 7523 §2.2, OIDC Core §9).
    ClientSecretJwt,
    /// A JWT signed with the client's private key ([`crate::ClientKey`]).
    PrivateKeyJwt,
    /// A public client: only the client id is sent (PKCE protects the code).
    None,
}

impl TokenAuthMethod {
    /// Parses the OAuth name (`client_secret_basic`, `client_secret_post`,
    /// `client_secret_jwt`, `private_key_jwt`, `none`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_jwt" => Some(Self::ClientSecretJwt),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The OAuth name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// The provider's redirect-less sign-in API (`response_mode=pi.flow`), which the routes under
/// `/auth/flow` drive from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowApi {
    /// No redirect-less sign-in: `/auth/flow` answers 404.
    Off,
    /// PingOne's Flow API (`/{envId}/flows/{flowId}`).
    PingOne,
    /// PingFederate's Authentication API (`/pf-ws/authn/flows/{flowId}`).
    PingFederate,
}

impl FlowApi {
    /// Parses `off`, `pingone` or `pingfederate` (the values of `OIDC_FLOW_API`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "pingone" => Some(Self::PingOne),
            "pingfederate" => Some(Self::PingFederate),
            _ => None,
        }
    }
}

/// Where a signed-out browser navigation to a guarded page is sent (`OIDC_SIGN_IN`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignIn {
    /// `/auth/login`: the provider's own sign-in page (the authorization code flow).
    #[default]
    Redirect,
    /// `/auth/signin`: the embedded sign-in page, driving the provider's flow API
    /// ([`crate::signin`]); needs [`FlowApi`] other than `Off`.
    Embedded,
}

impl SignIn {
    /// Parses `redirect` or `embedded` (the values of `OIDC_SIGN_IN`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "redirect" => Some(Self::Redirect),
            "embedded" => Some(Self::Embedded),
            _ => None,
        }
    }
}

/// When the authorization request is pushed to the provider first (PAR, RFC 9126;
/// `OIDC_PAR`): its parameters then travel over TLS from the server, not in the browser's URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Par {
    /// When the provider advertises `pushed_authorization_request_endpoint`.
    #[default]
    Auto,
    /// Always (the provider must have the endpoint).
    Always,
    /// Only when the provider requires it (`require_pushed_authorization_requests`).
    Never,
}

impl Par {
    /// Parses `auto`, `always` or `never` (the values of `OIDC_PAR`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// The `aud` of client assertions (`OIDC_CLIENT_ASSERTION_AUDIENCE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The token endpoint URL at every endpoint (OIDC Core §9): what PingOne and PingFederate
    /// take.
    #[default]
    TokenEndpoint,
    /// The issuer identifier, as FAPI 2.0 and RFC 7523bis require.
    Issuer,
}

impl AssertionAudience {
    /// Parses `token_endpoint` or `issuer`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "token_endpoint" => Some(Self::TokenEndpoint),
            "issuer" => Some(Self::Issuer),
            _ => None,
        }
    }
}

/// Whether the authorization request is a signed request object (JAR, RFC 9101;
/// `OIDC_REQUEST_OBJECT`). Signed with the client's private key; sent by value, or inside the
/// pushed request when PAR is used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestObject {
    /// Plain parameters.
    #[default]
    Off,
    /// A signed request object (needs [`ConfigBuilder::private_key`]).
    Signed,
}

impl RequestObject {
    /// Parses `off` or `signed` (the values of `OIDC_REQUEST_OBJECT`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "signed" => Some(Self::Signed),
            _ => None,
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

/// A configuration problem, found at start: which setting, and a message that says what to
/// fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ping-oidc configuration: {message}")]
pub struct ConfigError {
    setting: Option<&'static str>,
    message: String,
}

impl ConfigError {
    /// The setting at fault, named as the builder method (`"app_url"`, `"clock_skew"`), when
    /// one is; `None` for a provider that contradicts the configuration (discovery).
    pub fn setting(&self) -> Option<&'static str> {
        self.setting
    }

    /// What is wrong and what to change.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            setting: None,
            message: message.into(),
        }
    }

    pub(crate) fn for_setting(setting: &'static str, message: impl Into<String>) -> Self {
        setting_error(setting, message)
    }
}

fn config_error(message: impl Into<String>) -> ConfigError {
    ConfigError::new(message)
}

/// A problem with one setting.
pub(crate) fn setting_error(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: Some(setting),
        message: message.into(),
    }
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
    /// The resource identifier bearer tokens must name in `aud`.
    pub(crate) resource: String,
    /// Where the resource's RFC 9728 metadata is, for `WWW-Authenticate`.
    pub(crate) resource_metadata_url: String,
    /// The paths the metadata is served at.
    pub(crate) resource_metadata_paths: Vec<String>,
    pub(crate) resource_scopes: Vec<String>,
    pub(crate) dpop_nonces: bool,
    pub(crate) fetch_userinfo: bool,
    pub(crate) flow_api: FlowApi,
    pub(crate) allowed_acr_values: Vec<String>,
    pub(crate) sign_in: SignIn,
    pub(crate) par: Par,
    pub(crate) request_object: RequestObject,
    pub(crate) assertion_audience: AssertionAudience,
    pub(crate) client_key: Option<std::sync::Arc<crate::ClientKey>>,
    pub(crate) apis: Vec<crate::ApiConfig>,
    pub(crate) workers: Vec<(String, crate::worker::WorkerConfig)>,
    pub(crate) sign_in_page: std::sync::Arc<crate::signin::CompiledPage>,
}

impl Config {
    /// Starts a builder.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the variables of the example contract: `OIDC_ISSUER` or `PINGONE_ENV_ID` +
    /// `PINGONE_REGION` or `PINGONE_CUSTOM_DOMAIN`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`,
    /// `OIDC_TOKEN_AUTH_METHOD`, `OIDC_PRIVATE_KEY_FILE`, `OIDC_PRIVATE_KEY_ID`,
    /// `OIDC_REQUEST_OBJECT`, `OIDC_PAR`, `OIDC_SCOPES`, `APP_URL`, `SESSION_KEY`,
    /// `OIDC_FLOW_API`, `OIDC_SIGN_IN` and `SIGNIN_*` (the README's table).
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
                        setting_error("pingone", format!(
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
                setting_error("token_auth_method", format!(
                    "OIDC_TOKEN_AUTH_METHOD `{method}` is not supported; use client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt or none"
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
        if let Some(name) = lookup("OIDC_FLOW_API") {
            let api = FlowApi::parse(&name).ok_or_else(|| {
                setting_error(
                    "flow_api",
                    format!("OIDC_FLOW_API `{name}` is not one of pingone, pingfederate, off"),
                )
            })?;
            builder = builder.flow_api(api);
        }
        if let Some(mode) = lookup("OIDC_PAR") {
            let par = Par::parse(&mode).ok_or_else(|| {
                setting_error(
                    "par",
                    format!("OIDC_PAR `{mode}` is not one of auto, always, never"),
                )
            })?;
            builder = builder.par(par);
        }
        match (lookup("OIDC_PRIVATE_KEY_FILE"), lookup("OIDC_PRIVATE_KEY_ID")) {
            (Some(path), kid) => {
                builder = builder.private_key(crate::ClientKey::from_file(&path, kid.as_deref())?);
            }
            (None, Some(_)) => {
                return Err(setting_error(
                    "private_key",
                    "OIDC_PRIVATE_KEY_ID is set but OIDC_PRIVATE_KEY_FILE is not: set the key's file too",
                ))
            }
            (None, None) => {}
        }
        if let Some(audience) = lookup("OIDC_CLIENT_ASSERTION_AUDIENCE") {
            let audience = AssertionAudience::parse(&audience).ok_or_else(|| {
                setting_error(
                    "client_assertion_audience",
                    format!("OIDC_CLIENT_ASSERTION_AUDIENCE `{audience}` is not one of token_endpoint, issuer"),
                )
            })?;
            builder = builder.client_assertion_audience(audience);
        }
        if let Some(mode) = lookup("OIDC_REQUEST_OBJECT") {
            let mode = RequestObject::parse(&mode).ok_or_else(|| {
                setting_error(
                    "request_object",
                    format!("OIDC_REQUEST_OBJECT `{mode}` is not one of off, signed"),
                )
            })?;
            builder = builder.request_object(mode);
        }
        if let Some(resource) = lookup("OIDC_RESOURCE") {
            builder = builder.resource(resource);
        }
        if let Some(scopes) = lookup("OIDC_RESOURCE_SCOPES") {
            builder = builder.resource_scopes(scopes.split_whitespace().map(str::to_string));
        }
        if let Some(mode) = lookup("OIDC_DPOP_NONCES") {
            let required = match mode.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(setting_error(
                        "dpop_nonces",
                        format!("OIDC_DPOP_NONCES `{mode}` is not one of on, off"),
                    ))
                }
            };
            builder = builder.dpop_nonces(required);
        }
        if let Some(mode) = lookup("OIDC_SIGN_IN") {
            let mode = SignIn::parse(&mode).ok_or_else(|| {
                setting_error(
                    "sign_in",
                    format!("OIDC_SIGN_IN `{mode}` is not one of redirect, embedded"),
                )
            })?;
            builder = builder.sign_in(mode);
        }
        builder = builder.sign_in_page(crate::signin::SignInPage::from_lookup(&lookup)?);
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

    /// The resource identifier bearer tokens for this app's API must carry in `aud`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where this app's RFC 9728 protected resource metadata is served.
    pub fn resource_metadata_url(&self) -> &str {
        &self.resource_metadata_url
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

    /// The redirect-less sign-in API in use.
    pub fn flow_api(&self) -> FlowApi {
        self.flow_api
    }

    /// The APIs registered with [`ConfigBuilder::api`].
    pub fn apis(&self) -> &[crate::ApiConfig] {
        &self.apis
    }

    /// The API of that name.
    pub fn api(&self, name: &str) -> Option<&crate::ApiConfig> {
        self.apis.iter().find(|api| api.name == name)
    }

    /// Where signed-out navigations to guarded pages go.
    pub fn sign_in(&self) -> SignIn {
        self.sign_in
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
mod tests;
