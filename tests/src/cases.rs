//! The behaviours every adapter must show, written once. `tests/tests/adapters.rs` runs each
//! case for every adapter (and, for interop, both Ping shapes of `oidc-provider`).

use std::time::Duration;

use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, set_cookies, Browser};
use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions, Shape};

/// An app under one adapter, signed in against `oidc-provider`.
pub struct Interop {
    pub provider: OidcProvider,
    pub app: TestApp,
    pub browser: Browser,
}

/// Provider settings for a case.
pub struct Setup {
    pub shape: Shape,
    pub access_token_ttl: u64,
    pub auth_method: &'static str,
}

impl Setup {
    pub fn new(shape: Shape) -> Self {
        Self { shape, access_token_ttl: 300, auth_method: "client_secret_basic" }
    }

    pub fn short_tokens(mut self, seconds: u64) -> Self {
        self.access_token_ttl = seconds;
        self
    }
}

impl Interop {
    pub async fn start(adapter: Adapter, setup: Setup) -> Self {
        let slot = AppSlot::new();
        let client = confidential_client("rp", "rp-secret", setup.auth_method, &slot.callback_url(), &slot.home_url());
        let mut options = OidcProviderOptions::new(setup.shape).with_client(client);
        options.access_token_ttl = setup.access_token_ttl;
        let provider = OidcProvider::start(options).await.unwrap_or_else(|e| panic!("oidc-provider: {e}"));
        let mut config = slot.config(provider.issuer());
        if setup.auth_method == "client_secret_post" {
            config = config.token_auth_method(ping_oidc::TokenAuthMethod::ClientSecretPost);
        }
        let app = slot.start(adapter, config, None).await.unwrap_or_else(|e| panic!("app: {e}"));
        Self { provider, app, browser: Browser::new() }
    }

    pub async fn sign_in(&self) {
        let landed = self.browser.sign_in(&self.app, &self.provider, "/profile").await.expect("sign-in");
        assert_eq!(landed, "/profile");
    }

    pub async fn user(&self) -> (u16, Value) {
        let response = self.browser.fetch(&self.app.url("/auth/user")).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn latest_refresh_token(&self) -> String {
        let tokens = self.provider.refresh_tokens().await.expect("refresh tokens");
        tokens.last().cloned().expect("a refresh token was issued")
    }

    /// Waits until the session's access token is due for refresh.
    pub async fn wait_for_expiry(&self, ttl: u64) {
        tokio::time::sleep(Duration::from_millis(ttl * 1000 + 300)).await;
    }
}

/// Sign-in, then `/auth/user`, `/profile`, `/api/me` and `/api/ok` work.
pub async fn login_and_guarded_pages(adapter: Adapter, setup: Setup) {
    let t = Interop::start(adapter, setup).await;
    let (status, body) = t.user().await;
    assert_eq!(status, 401);
    assert_eq!(body["login_url"], "/auth/login");

    t.sign_in().await;
    let (status, body) = t.user().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["claims"]["email"], "alice@example.test", "userinfo claims are merged: {body}");

    let profile = t.browser.navigate(&t.app.url("/profile")).await;
    assert_eq!(profile.status(), 200);
    let html = profile.text().await.unwrap_or_default();
    assert!(html.contains("<code id=\"subject\">alice</code>"), "{html}");

    let me = t.browser.fetch(&t.app.url("/api/me")).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap_or(Value::Null);
    assert_eq!(me["sub"], "alice");
    assert_eq!(t.browser.fetch(&t.app.url("/api/ok")).await.status(), 200);

    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token.authorization_code, 1);
    assert_eq!(stats.token.refresh_token, 0);
}

/// After expiry the next request refreshes once, and the rotated refresh token is kept.
pub async fn refresh_with_rotation(adapter: Adapter, setup: Setup) {
    let ttl = setup.access_token_ttl;
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let first_refresh_token = t.latest_refresh_token().await;
    let first_access = access_token(&t).await;

    t.wait_for_expiry(ttl).await;
    assert_eq!(t.browser.fetch(&t.app.url("/api/me")).await.status(), 200);
    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token.refresh_token, 1, "exactly one refresh");
    assert_eq!(stats.token_errors, 0);

    let second_refresh_token = t.latest_refresh_token().await;
    assert_ne!(first_refresh_token, second_refresh_token, "the provider rotated the refresh token");
    let old = t.provider.introspect(&first_refresh_token, "rp", Some("rp-secret")).await.expect("introspect");
    assert_eq!(old["active"], false, "the old refresh token is spent");
    assert_ne!(access_token(&t).await, first_access);

    // The next expiry uses the rotated token: a reused one would be invalid_grant here.
    t.wait_for_expiry(ttl).await;
    assert_eq!(t.browser.fetch(&t.app.url("/api/me")).await.status(), 200);
    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token.refresh_token, 2);
    assert_eq!(stats.token_errors, 0);
}

/// N concurrent requests after expiry make exactly one token-endpoint call.
pub async fn concurrent_requests_refresh_once(adapter: Adapter, setup: Setup) {
    let ttl = setup.access_token_ttl;
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    t.wait_for_expiry(ttl).await;
    let url = t.app.url("/api/me");
    let requests = (0..20).map(|_| {
        let client = t.browser.client.clone();
        let url = url.clone();
        async move { client.get(url).header("accept", "application/json").send().await.map(|r| r.status().as_u16()) }
    });
    let statuses = futures_join_all(requests).await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(200))), "{statuses:?}");
    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token.refresh_token, 1, "single-flight refresh");
}

/// Sign-out revokes the refresh token, ends the provider session and the local one.
pub async fn logout_revokes_and_ends_provider_session(adapter: Adapter, setup: Setup) {
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let refresh_token = t.latest_refresh_token().await;
    assert!(t.provider.sessions().await.expect("sessions").has("alice"));
    let before = t.provider.introspect(&refresh_token, "rp", Some("rp-secret")).await.expect("introspect");
    assert_eq!(before["active"], true);

    let response = t.browser.sign_out(&t.app).await;
    assert_eq!(response.status(), 303);
    let cookies = set_cookies(&response);
    assert!(cookies.iter().any(|c| c.starts_with("ping_oidc=;") && c.contains("Max-Age=0")), "{cookies:?}");
    let end_session = location(&response).expect("end-session redirect");
    assert!(end_session.contains("id_token_hint="), "{end_session}");
    assert!(end_session.contains("post_logout_redirect_uri="), "{end_session}");
    assert!(end_session.contains("state="), "{end_session}");
    let back = t.provider.follow_to_client(&t.browser.client, &end_session).await.expect("end session");
    assert!(back.as_str().starts_with(&t.app.url("/")), "{back}");

    let after = t.provider.introspect(&refresh_token, "rp", Some("rp-secret")).await.expect("introspect");
    assert_eq!(after["active"], false, "the refresh token was revoked");
    assert!(!t.provider.sessions().await.expect("sessions").has("alice"), "the provider session ended");
    assert_eq!(t.user().await.0, 401);
    let stats = t.provider.stats().await.expect("stats");
    assert!(stats.revocations >= 1);
}

async fn access_token(t: &Interop) -> String {
    let response = t.browser.client.get(t.app.url("/auth/token")).header("x-csrf", "1").send().await.expect("token");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("access_token").to_string()
}

/// Runs futures concurrently on the current task and collects their outputs in order.
pub async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
