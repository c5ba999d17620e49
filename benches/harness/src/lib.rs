//! What the benchmark binaries share: the development provider, the engine's configuration,
//! and a programmatic sign-in that yields a session cookie (see `BENCHMARKS.md`).
//!
//! Benchmarks only: nothing here is part of the library.

use std::time::Duration;

use ping_oidc::{AuthRoute, Config, PingOidc, RequestInfo};
use ping_oidc_dev_provider::{ClientRegistration, DevProvider, DEFAULT_USERNAME};

/// The client the harness registers at the development provider.
pub const CLIENT_ID: &str = "ping-oidc-bench";
/// Its secret (a development value).
pub const CLIENT_SECRET: &str = "bench-secret";
/// The session key every harness engine uses.
pub const SESSION_KEY: &str = "bench-session-key-0123456789abcdef-0123456789abcdef";
/// The session cookie's name.
pub const COOKIE_NAME: &str = "ping_oidc";

/// Starts the development provider with a client whose redirect URI is under `app_base`.
pub async fn start_provider(
    app_base: &str,
    access_token_ttl: Option<Duration>,
) -> Result<DevProvider, String> {
    let client = ClientRegistration::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        format!("{app_base}/auth/callback"),
    );
    let mut builder = DevProvider::builder().client(client);
    if let Some(ttl) = access_token_ttl {
        builder = builder.access_token_ttl(ttl);
    }
    builder
        .start()
        .await
        .map_err(|e| format!("development provider: {e}"))
}

/// The engine's configuration for an app at `app_base` signing in at `provider`.
pub fn config(app_base: &str, provider: &DevProvider) -> Result<Config, String> {
    Config::builder()
        .issuer(provider.issuer())
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .app_url(app_base)
        .session_key(SESSION_KEY)
        .cookie_name(COOKIE_NAME)
        .scopes(["openid", "profile", "email"])
        .build()
        .map_err(|e| e.to_string())
}

/// A request as the engine sees it, made up by the harness.
pub struct FakeRequest {
    pub method: &'static str,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
}

impl FakeRequest {
    /// `GET path?query` with the given `Cookie` header, if any.
    pub fn get(path: &str, query: Option<&str>, cookie: Option<&str>) -> Self {
        let mut headers = vec![("accept".to_string(), "application/json".to_string())];
        if let Some(cookie) = cookie {
            headers.push(("cookie".to_string(), cookie.to_string()));
        }
        Self {
            method: "GET",
            path: path.to_string(),
            query: query.map(str::to_string),
            headers,
        }
    }
}

impl RequestInfo for FakeRequest {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .map(|(_, v)| v.as_str())
    }
}

/// The `name=value` part of a `Set-Cookie` value.
fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or_default().trim()
}

/// Signs the development provider's default user in through the engine (the same
/// `/auth/login` and `/auth/callback` handlers the adapters call), asking for `extra_scope`
/// too when given. Returns the session cookie as `ping_oidc=<value>`.
pub async fn sign_in(
    oidc: &PingOidc,
    provider: &DevProvider,
    extra_scope: Option<&str>,
) -> Result<String, String> {
    let query = match extra_scope {
        Some(scope) => format!("return_to=%2F&scope={}", scope.replace(':', "%3A")),
        None => "return_to=%2F".to_string(),
    };
    let login = oidc
        .handle(
            AuthRoute::Login,
            &FakeRequest::get("/auth/login", Some(&query), None),
            b"",
        )
        .await;
    let header = |response: &ping_oidc::AuthResponse, name: &str| {
        response
            .headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let authorize = header(&login, "location")
        .pop()
        .ok_or_else(|| format!("/auth/login answered {} without a location", login.status))?;
    let transaction = header(&login, "set-cookie")
        .iter()
        .map(|c| cookie_pair(c).to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let callback = provider
        .sign_in(&authorize, DEFAULT_USERNAME)
        .map_err(|e| format!("provider sign-in: {e}"))?;
    let answer = oidc
        .handle(
            AuthRoute::Callback,
            &FakeRequest::get("/auth/callback", callback.query(), Some(&transaction)),
            b"",
        )
        .await;
    let prefix = format!("{COOKIE_NAME}=");
    header(&answer, "set-cookie")
        .iter()
        .map(|c| cookie_pair(c))
        .find(|pair| pair.starts_with(&prefix) && pair.len() > prefix.len())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "/auth/callback answered {} without a session cookie: {}",
                answer.status, answer.body
            )
        })
}

/// The session id inside a `ping_oidc=<id>.<tag>` cookie.
pub fn session_id(cookie: &str) -> Option<&str> {
    let value = cookie.strip_prefix(COOKIE_NAME)?.strip_prefix('=')?;
    value.split_once('.').map(|(id, _)| id)
}
