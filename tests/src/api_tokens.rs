//! Tokens for the APIs an app calls (`ScopedToken<A>` of an `api!` type, `/auth/token?api=`):
//! one per API and per session, got with the refresh token (`scope`, `resource`), single
//! flight, shared by instances through the store, revoked at sign-out, and the consent path
//! when the provider refuses. Written once; `tests/tests/api_tokens.rs` runs each case for
//! every adapter against the dev provider, and `oidc_provider_resources` against
//! `oidc-provider` with resource indicators in both path shapes.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ping_oidc::store::SessionStore;
use ping_oidc::test_util::TestClock;
use ping_oidc::{ApiConfig, MemoryStore};
use ping_oidc_dev_provider::{ClientRegistration, DevProvider};
use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, Browser, SignInAs};

pub const ORDERS: &str = "https://orders.example/";
pub const BILLING: &str = "https://billing.example/";

/// An app with two APIs (orders and billing, each its own resource), its dev provider, and
/// a signed-in browser whose sign-in asked for both APIs' scopes.
pub struct ApiRp {
    pub provider: DevProvider,
    pub app: TestApp,
    pub store: Arc<dyn SessionStore>,
    pub clock: TestClock,
    pub browser: Browser,
}

fn apis() -> [ApiConfig; 2] {
    [
        ApiConfig::new("orders", ["orders:read"]).resource(ORDERS),
        ApiConfig::new("billing", ["billing:read"]).resource(BILLING),
    ]
}

async fn provider(slot: &AppSlot) -> DevProvider {
    DevProvider::builder()
        .client(
            ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
                .post_logout_redirect_uri(slot.home_url()),
        )
        .resource(ORDERS)
        .resource(BILLING)
        .start()
        .await
        .expect("dev provider")
}

async fn start_app(
    adapter: Adapter,
    slot: AppSlot,
    provider: &DevProvider,
    scopes: &[&str],
    store: Arc<dyn SessionStore>,
    clock: &TestClock,
) -> TestApp {
    let shared = store;
    let [orders, billing] = apis();
    let config = slot
        .config(&provider.issuer())
        .scopes(scopes.iter().copied())
        .api(orders)
        .api(billing);
    slot.start_with_clock(adapter, config, Some(shared), clock)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"))
}

impl ApiRp {
    /// Signed in with `scopes` (the configured ones; `openid` is added).
    pub async fn start(adapter: Adapter, scopes: &[&str]) -> Self {
        Self::start_on(adapter, scopes, Arc::new(MemoryStore::default())).await
    }

    /// [`ApiRp::start`] on another store (Redis).
    pub async fn start_on(adapter: Adapter, scopes: &[&str], store: Arc<dyn SessionStore>) -> Self {
        let slot = AppSlot::new();
        let provider = provider(&slot).await;
        let clock = TestClock::new();
        let app = start_app(adapter, slot, &provider, scopes, Arc::clone(&store), &clock).await;
        let browser = Browser::new();
        browser
            .sign_in(&app, &SignInAs(&provider, "alice"), "/")
            .await
            .unwrap_or_else(|e| panic!("sign-in: {e}"));
        Self {
            provider,
            app,
            store,
            clock,
            browser,
        }
    }

    /// A second instance of the app: same provider, store, session key and clock.
    pub async fn second_instance(&self, adapter: Adapter) -> TestApp {
        start_app(
            adapter,
            AppSlot::new(),
            &self.provider,
            &["profile", "email", "orders:read", "billing:read"],
            Arc::clone(&self.store),
            &self.clock,
        )
        .await
    }
}

/// `GET /auth/token?api=<api>` as the app's own script sends it.
pub async fn token(browser: &Browser, app: &TestApp, api: &str) -> (u16, Value, Option<String>) {
    let response = browser
        .client
        .get(app.url(&format!("/auth/token?api={api}")))
        .header("x-csrf", "1")
        .header("accept", "application/json")
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("GET /auth/token");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, challenge)
}

/// The `aud` of a JWT access token (read, not checked).
pub fn audience(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .map(|claims| claims["aud"].clone())
        .unwrap_or(Value::Null)
}

const BOTH: [&str; 4] = ["profile", "email", "orders:read", "billing:read"];

/// Two APIs with different audiences get a token each, not the session's; each is renewed
/// on its own when it is due.
pub async fn each_api_gets_its_own_token(adapter: Adapter) {
    let rp = ApiRp::start(adapter, &BOTH).await;
    let (status, session, _) = token(&rp.browser, &rp.app, "").await;
    assert_eq!(status, 400, "an empty api name is no API: {session}");
    let (status, orders, _) = token(&rp.browser, &rp.app, "orders").await;
    assert_eq!(status, 200, "{orders}");
    let (status, billing, _) = token(&rp.browser, &rp.app, "billing").await;
    assert_eq!(status, 200, "{billing}");
    let orders_token = orders["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let billing_token = billing["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(audience(&orders_token), ORDERS);
    assert_eq!(audience(&billing_token), BILLING);
    assert_eq!(orders["scope"], "orders:read");
    assert_eq!(billing["scope"], "billing:read");
    let response = rp
        .browser
        .client
        .get(rp.app.url("/auth/token"))
        .header("x-csrf", "1")
        .send()
        .await
        .expect("GET /auth/token");
    let own: Value = response.json().await.expect("json");
    assert_ne!(own["access_token"], orders["access_token"]);
    assert_eq!(
        audience(own["access_token"].as_str().unwrap_or_default()),
        "rp"
    );
    assert_eq!(rp.provider.stats().resource_grants, 2);

    // Asked again: the kept tokens, no provider call.
    let (_, again, _) = token(&rp.browser, &rp.app, "orders").await;
    assert_eq!(again["access_token"], orders["access_token"]);
    assert_eq!(rp.provider.stats().resource_grants, 2);

    // Past their expiry (one hour): the one asked for is renewed, the other is not touched.
    rp.clock.advance(Duration::from_secs(3600));
    let (status, renewed, _) = token(&rp.browser, &rp.app, "orders").await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["access_token"], orders["access_token"]);
    assert_eq!(
        audience(renewed["access_token"].as_str().unwrap_or_default()),
        ORDERS
    );
    assert_eq!(rp.provider.stats().resource_grants, 3);
    // The example's route yields the orders API's own token.
    let me: Value = rp
        .browser
        .fetch(&rp.app.url("/api/orders"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["token"]["aud"], ORDERS, "{me}");
    assert_eq!(me["token"]["scope"], "orders:read", "{me}");
    assert_eq!(rp.provider.stats().resource_grants, 3);
}

/// Many requests at once for an API the session has no token for yet: one token call.
pub async fn concurrent_requests_make_one_call(adapter: Adapter) {
    let rp = ApiRp::start(adapter, &BOTH).await;
    let requests = (0..8).map(|_| token(&rp.browser, &rp.app, "orders"));
    let answers = futures_util::future::join_all(requests).await;
    let first = answers[0].1["access_token"].clone();
    for (status, body, _) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["access_token"], first);
    }
    assert_eq!(rp.provider.stats().resource_grants, 1);
    // And the refresh token is spent once: the session's own refresh still works.
    rp.clock.advance(Duration::from_secs(3600));
    let response = rp.browser.fetch(&rp.app.url("/api/me")).await;
    assert_eq!(response.status(), 200);
}

/// A second instance on the same store uses the token the first got.
pub async fn instances_share_the_tokens(adapter: Adapter) {
    share_between_instances(ApiRp::start(adapter, &BOTH).await, adapter).await;
}

/// The same across two instances on Redis.
pub async fn instances_share_the_tokens_redis(adapter: Adapter) {
    let url = crate::cluster::redis_url();
    let prefix = format!("api-tokens-{}:", rand_suffix());
    let store = crate::cluster::redis_store(&url, &prefix).await;
    share_between_instances(ApiRp::start_on(adapter, &BOTH, store).await, adapter).await;
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn share_between_instances(rp: ApiRp, adapter: Adapter) {
    let (_, first, _) = token(&rp.browser, &rp.app, "orders").await;
    let other = rp.second_instance(adapter).await;
    let (status, second, _) = token(&rp.browser, &other, "orders").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["access_token"], first["access_token"]);
    assert_eq!(rp.provider.stats().resource_grants, 1);
}

/// Sign-out revokes the session's tokens and every API's.
pub async fn sign_out_revokes_every_token(adapter: Adapter) {
    let rp = ApiRp::start(adapter, &BOTH).await;
    token(&rp.browser, &rp.app, "orders").await;
    token(&rp.browser, &rp.app, "billing").await;
    let before = rp.provider.stats().revocations;
    let response = rp.browser.sign_out(&rp.app).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    // Refresh token, access token, two API tokens.
    assert_eq!(rp.provider.stats().revocations - before, 4);
}

/// A scope the sign-in did not grant: an API call gets 403 with the RFC 6750 challenge, a
/// navigation goes through sign-in asking for the API and comes back with its token; a
/// provider that still refuses after that answers a page, not another round.
pub async fn refused_api_takes_the_consent_path(adapter: Adapter) {
    // Signed in without orders:read.
    let rp = ApiRp::start(adapter, &["profile", "email"]).await;
    let (status, body, challenge) = token(&rp.browser, &rp.app, "orders").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer error=\"insufficient_scope\", scope=\"orders:read\"")
    );
    // The session survives the refusal.
    assert_eq!(rp.browser.fetch(&rp.app.url("/api/me")).await.status(), 200);

    let response = rp.browser.navigate(&rp.app.url("/api/orders")).await;
    assert_eq!(response.status(), 302);
    let login = location(&response).unwrap_or_default();
    assert_eq!(login, "/auth/login?return_to=%2Fapi%2Forders&api=orders");
    let callback = rp
        .browser
        .start_sign_in(&rp.app, &SignInAs(&rp.provider, "alice"), &login)
        .await
        .expect("consent sign-in");
    let response = rp.browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/api/orders"));
    let orders: Value = rp
        .browser
        .navigate(&rp.app.url("/api/orders"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(orders["token"]["aud"], ORDERS, "{orders}");

    // A resource the provider issues no token for (`invalid_target`) while the session has
    // the scopes: the session's token serves the API, and the provider is not asked again
    // until that token is due.
    let slot = AppSlot::new();
    let provider = provider(&slot).await;
    let config = slot
        .config(&provider.issuer())
        .scopes(["profile", "email", "orders:read"])
        .api(ApiConfig::new("orders", ["orders:read"]).resource("https://unknown.example/"));
    let app = slot.start(adapter, config, None).await.expect("app");
    let browser = Browser::new();
    browser
        .sign_in(&app, &SignInAs(&provider, "alice"), "/")
        .await
        .expect("sign-in");
    for _ in 0..3 {
        let orders: Value = browser
            .fetch(&app.url("/api/orders"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(orders["token"]["aud"], "rp", "{orders}");
    }
    assert_eq!(provider.stats().resource_grants, 1);

    // A provider that still refuses after the sign-in that asked consent: a page, not
    // another round of sign-in.
    let rp = ApiRp::start(adapter, &BOTH).await;
    rp.provider
        .set_misbehavior(ping_oidc_dev_provider::Misbehavior::RefreshError(
            "invalid_scope",
        ));
    let response = rp.browser.navigate(&rp.app.url("/api/orders")).await;
    assert_eq!(response.status(), 302);
    let login = location(&response).unwrap_or_default();
    let callback = rp
        .browser
        .start_sign_in(&rp.app, &SignInAs(&rp.provider, "alice"), &login)
        .await
        .expect("consent sign-in");
    assert_eq!(rp.browser.navigate(callback.as_str()).await.status(), 303);
    let response = rp.browser.navigate(&rp.app.url("/api/orders")).await;
    assert_eq!(response.status(), 403, "no second round of sign-in");
    let response = rp.browser.fetch(&rp.app.url("/api/orders")).await;
    assert_eq!(response.status(), 403);
}

/// Against `oidc-provider` with resource indicators (RFC 8707), in either path shape: an API
/// the grant does not cover yet is refused (403 for a script) until a sign-in asked consent
/// for it; then each API gets a token with its own audience, renewed on its own, one call for
/// many requests, and sign-out revokes them.
pub async fn oidc_provider_resources(adapter: Adapter, shape: crate::oidc_provider::Shape) {
    use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions};
    let slot = AppSlot::new();
    let mut options = OidcProviderOptions::new(shape).with_client(confidential_client(
        "rp",
        "rp-secret",
        "client_secret_basic",
        &slot.callback_url(),
        &slot.home_url(),
    ));
    options.extra_env.push((
        "RESOURCES".into(),
        serde_json::json!({ ORDERS: "orders:read", BILLING: "billing:read" }).to_string(),
    ));
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let [orders, billing] = apis();
    let config = slot
        .config(provider.issuer())
        .scopes(["profile", "email", "offline_access"])
        .api(orders)
        .api(billing);
    let clock = TestClock::new();
    let app = slot
        .start_with_clock(adapter, config, None, &clock)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    let browser = Browser::new();
    browser
        .sign_in(&app, &provider, "/")
        .await
        .unwrap_or_else(|e| panic!("sign-in: {e}"));

    // Not in the grant yet: the provider says so, the session stays.
    let (status, body, challenge) = token(&browser, &app, "orders").await;
    assert_eq!(status, 403, "{body}");
    assert!(challenge.is_some_and(|c| c.contains("insufficient_scope")));
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);

    // Consent for each API, through the navigation's consent path.
    // The second consent names the API already in use too (as the navigation's refusal
    // does): a refresh token only covers what its sign-in asked for.
    for api in ["orders", "billing&api=orders"] {
        let login = format!("/auth/login?return_to=%2F&api={api}");
        let callback = browser
            .start_sign_in(&app, &provider, &login)
            .await
            .unwrap_or_else(|e| panic!("consent for {api}: {e}"));
        let response = browser.navigate(callback.as_str()).await;
        assert_eq!(response.status(), 303, "consent for {api}");
    }
    let stats = provider.stats().await.expect("stats");
    let refreshes = stats.token.refresh_token;
    let requests = (0..6).map(|_| token(&browser, &app, "orders"));
    let answers = futures_util::future::join_all(requests).await;
    for (status, body, _) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["access_token"], answers[0].1["access_token"]);
    }
    let (status, billing_token, _) = token(&browser, &app, "billing").await;
    assert_eq!(status, 200, "{billing_token}");
    let orders_token = answers[0].1["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(audience(&orders_token), ORDERS);
    assert_eq!(
        audience(billing_token["access_token"].as_str().unwrap_or_default()),
        BILLING
    );
    let stats = provider.stats().await.expect("stats");
    assert_eq!(stats.token.refresh_token - refreshes, 2, "one call per API");

    // Renewed on its own once due.
    clock.advance(Duration::from_secs(300));
    let (status, renewed, _) = token(&browser, &app, "orders").await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["access_token"], orders_token.as_str());
    assert_eq!(
        audience(renewed["access_token"].as_str().unwrap_or_default()),
        ORDERS
    );

    let before = provider.stats().await.expect("stats").revocations;
    let response = browser.sign_out(&app).await;
    assert!(response.status().is_redirection());
    let after = provider.stats().await.expect("stats").revocations;
    assert!(
        after - before >= 4,
        "refresh, access and both API tokens revoked: {before} → {after}"
    );
}
