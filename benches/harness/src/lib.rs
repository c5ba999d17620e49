//! What the benchmark binaries share: the development provider, the engine's configuration,
//! and a programmatic sign-in that yields a session cookie (see `BENCHMARKS.md`).
//!
//! Benchmarks only: nothing here is part of the library.

use std::time::Duration;

use ping_oidc::{Config, PingOidc};
use ping_oidc_dev_provider::{ClientRegistration, DevProvider, DEFAULT_USERNAME};

/// The client the harness registers at the development provider.
pub const CLIENT_ID: &str = "ping-oidc-bench";
/// Its secret (a development value).
pub const CLIENT_SECRET: &str = "bench-secret";
/// The session key every harness engine uses.
pub const SESSION_KEY: &str = "bench-session-key-0123456789abcdef-0123456789abcdef";
/// The worker whose token calls `/api/resource` (a bearer token for the app's own resource).
pub const BEARER_WORKER: (&str, &str) = ("bench-api-caller", "bench-api-caller-secret");

/// A bearer token for `/api/resource`: the worker's, from the provider.
pub async fn bearer_token(oidc: &PingOidc) -> Result<String, String> {
    let worker = oidc
        .worker(BEARER_WORKER.0)
        .ok_or("the bench worker is not registered")?;
    let token = worker
        .token()
        .await
        .map_err(|e| format!("worker token: {e}"))?;
    Ok(token.secret().to_string())
}

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
    // `/api/orders` uses the orders API's own token (its resource), as the example does;
    // `/api/resource` a worker's token for the app itself.
    let mut builder = DevProvider::builder()
        .client(client)
        .client(ClientRegistration::worker(BEARER_WORKER.0, BEARER_WORKER.1))
        .resource(ping_oidc_example_site::DEFAULT_ORDERS_API_RESOURCE)
        .resource(app_base);
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
        .api(
            ping_oidc::ApiConfig::of::<ping_oidc_example_site::OrdersRead>()
                .resource(ping_oidc_example_site::DEFAULT_ORDERS_API_RESOURCE),
        )
        .worker(
            BEARER_WORKER.0,
            ping_oidc::WorkerConfig::new(BEARER_WORKER.0, BEARER_WORKER.1)
                .scopes(["orders:read"])
                .resource(app_base),
        )
        .build()
        .map_err(|e| e.to_string())
}

/// Signs the development provider's default user in through the engine (`/auth/login`, the
/// provider, `/auth/callback`), asking for `extra_scope` too when given. Returns the session
/// cookie as `ping_oidc=<value>`.
pub async fn sign_in(
    oidc: &PingOidc,
    provider: &DevProvider,
    extra_scope: Option<&str>,
) -> Result<String, String> {
    ping_oidc::bench::sign_in(oidc, extra_scope, |authorize| {
        let callback = provider
            .sign_in(authorize, DEFAULT_USERNAME)
            .map_err(|e| format!("provider sign-in: {e}"))?;
        Ok(callback.query().map(str::to_string))
    })
    .await
}

/// The session id inside a `ping_oidc=<id>.<tag>` cookie.
pub fn session_id(cookie: &str) -> Option<&str> {
    let value = cookie.strip_prefix(COOKIE_NAME)?.strip_prefix('=')?;
    value.split_once('.').map(|(id, _)| id)
}
