//! Worker tokens (client credentials): cached until shortly before expiry, one call however
//! many ask, shared by instances through the store, retried with backoff and a typed error
//! while the provider is down; and the example's `/api/devices`, which reads the
//! management API with one. Written once; `tests/tests/worker_tokens.rs` runs each case for
//! every adapter, against the dev provider and `oidc-provider`.

use std::sync::Arc;
use std::time::Duration;

use ping_oidc::store::SessionStore;
use ping_oidc::test_util::TestClock;
use ping_oidc::{MemoryStore, WorkerConfig, WorkerTokenError};
use ping_oidc_dev_provider::{ClientRegistration, DevProvider};
use serde_json::Value;

use crate::api_tokens::audience;
use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{Browser, SignInAs};

const WORKER: (&str, &str) = ("worker", "worker-secret");

async fn dev_provider(slot: &AppSlot) -> DevProvider {
    let mut builder = DevProvider::builder();
    for user in ping_oidc_dev_provider::TestUser::flow_test_users() {
        builder = builder.user(user);
    }
    builder
        .client(
            ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
                .post_logout_redirect_uri(slot.home_url()),
        )
        .client(ClientRegistration::worker(WORKER.0, WORKER.1))
        .start()
        .await
        .expect("dev provider")
}

async fn app(
    adapter: Adapter,
    slot: AppSlot,
    issuer: &str,
    worker: WorkerConfig,
    store: Arc<dyn SessionStore>,
    clock: &TestClock,
) -> TestApp {
    let config = slot.config(issuer).worker("management", worker);
    slot.start_with_clock(adapter, config, Some(store), clock)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"))
}

/// Two instances on one store: many calls, one after the other and at once, make one token
/// call between them; once due, one more.
pub async fn worker_token_is_cached_and_shared(adapter: Adapter) {
    let slot = AppSlot::new();
    let provider = dev_provider(&slot).await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let clock = TestClock::new();
    let worker = || WorkerConfig::new(WORKER.0, WORKER.1);
    let first = app(
        adapter,
        slot,
        &provider.issuer(),
        worker(),
        Arc::clone(&store),
        &clock,
    )
    .await;
    let second = app(
        adapter,
        AppSlot::new(),
        &provider.issuer(),
        worker(),
        store,
        &clock,
    )
    .await;
    let (a, b) = (
        first.oidc.worker("management").expect("registered"),
        second.oidc.worker("management").expect("registered"),
    );
    let calls = (0..6).map(|i| {
        let tokens = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { tokens.token().await }
    });
    let tokens = futures_util::future::join_all(calls).await;
    let secret = tokens[0].as_ref().expect("token").secret().to_owned();
    for token in &tokens {
        assert_eq!(token.as_ref().expect("token").secret(), secret);
    }
    for _ in 0..3 {
        assert_eq!(b.token().await.expect("token").secret(), secret);
    }
    assert_eq!(provider.stats().client_credentials_grants, 1);
    assert_eq!(audience(&secret), provider.management_api_url());
    assert!(
        !format!("{:?}", tokens[0]).contains(&secret),
        "Debug shows the token"
    );

    clock.advance(Duration::from_secs(3600));
    let renewed = a.token().await.expect("token");
    assert_ne!(renewed.secret(), secret);
    assert_eq!(b.token().await.expect("token").secret(), renewed.secret());
    assert_eq!(provider.stats().client_credentials_grants, 2);
}

/// Wrong credentials: a typed refusal, not retried. The provider gone: `Unavailable` with a
/// `retry_after`, and the next call within it answers at once without calling.
pub async fn worker_token_failures_are_typed(adapter: Adapter) {
    let slot = AppSlot::new();
    let provider = dev_provider(&slot).await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let clock = TestClock::new();
    let config = slot
        .config(&provider.issuer())
        .worker("management", WorkerConfig::new(WORKER.0, WORKER.1))
        .worker("wrong", WorkerConfig::new(WORKER.0, "not-the-secret"));
    let app = slot
        .start_with_clock(adapter, config, Some(store), &clock)
        .await
        .expect("app");
    let refused = app.oidc.worker("wrong").expect("registered").token().await;
    assert!(
        matches!(&refused, Err(WorkerTokenError::Refused { error }) if error == "invalid_client"),
        "{refused:?}"
    );
    assert!(refused
        .as_ref()
        .err()
        .and_then(WorkerTokenError::retry_after)
        .is_none());

    provider.shutdown().await;
    let tokens = app.oidc.worker("management").expect("registered");
    let started = std::time::Instant::now();
    let down = tokens.token().await;
    let retry_after = match &down {
        Err(error @ WorkerTokenError::Unavailable { .. }) => error.retry_after(),
        other => panic!("expected Unavailable, got {other:?}"),
    };
    assert!(retry_after.is_some_and(|d| d >= Duration::from_secs(1)));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "retried with backoff"
    );
    let again = std::time::Instant::now();
    assert!(matches!(
        tokens.token().await,
        Err(WorkerTokenError::Unavailable { .. })
    ));
    assert!(
        again.elapsed() < Duration::from_millis(100),
        "answered from the backoff at once"
    );
}

/// The example's `/api/devices`: the signed-in user's devices, read from the dev
/// provider's management API with the worker's token; a user's own token is refused there.
pub async fn example_lists_the_users_devices(adapter: Adapter) {
    let slot = AppSlot::new();
    let provider = dev_provider(&slot).await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let clock = TestClock::new();
    let app = app(
        adapter,
        slot,
        &provider.issuer(),
        WorkerConfig::new(WORKER.0, WORKER.1),
        store,
        &clock,
    )
    .await;
    let browser = Browser::new();
    browser
        .sign_in(&app, &SignInAs(&provider, "otp-user"), "/")
        .await
        .expect("sign-in");
    let response = browser.fetch(&app.url("/api/devices")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let devices = body["devices"].as_array().cloned().unwrap_or_default();
    assert_eq!(devices.len(), 2, "{body}");
    assert_eq!(devices[0]["type"], "sms", "{body}");
    assert_eq!(devices[1]["type"], "email", "{body}");
    assert!(
        devices
            .iter()
            .all(|d| d["id"].is_string() && d["label"].is_string()),
        "{body}"
    );
    let _ = browser.fetch(&app.url("/api/devices")).await;
    assert_eq!(provider.stats().client_credentials_grants, 1);
    assert_eq!(provider.stats().management_calls, 2);

    // The user's own token is no worker's: 403 at the management API.
    let token: Value = browser
        .client
        .get(app.url("/auth/token"))
        .header("x-csrf", "1")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let sub = body_sub(&browser, &app).await;
    let url = format!(
        "{}/environments/{}/users/{sub}/devices",
        provider.management_api_url(),
        ping_oidc_dev_provider::DEFAULT_ENV_ID
    );
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .expect("management API");
    assert_eq!(response.status(), 403);
}

async fn body_sub(browser: &Browser, app: &TestApp) -> String {
    let me: Value = browser
        .fetch(&app.url("/api/me"))
        .await
        .json()
        .await
        .expect("json");
    me["sub"].as_str().unwrap_or_default().to_owned()
}

/// Against `oidc-provider` (either path shape): a worker for a resource gets a JWT for it,
/// and two instances make one token call between them. The worker authenticates with its
/// secret in the PingOne shape and with `private_key_jwt` (an ES256 key) in PingFederate's.
pub async fn oidc_provider_worker_tokens(adapter: Adapter, shape: crate::oidc_provider::Shape) {
    use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions};
    let slot = AppSlot::new();
    let with_key = shape == crate::oidc_provider::Shape::PingFederate;
    let mut worker_client = serde_json::json!({
        "client_id": WORKER.0,
        "client_secret": WORKER.1,
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "orders:read",
    });
    if with_key {
        worker_client["token_endpoint_auth_method"] = "private_key_jwt".into();
        worker_client["jwks"] =
            serde_json::json!({ "keys": [crate::cases::client_key(shape).public_jwk()] });
    }
    let mut options = OidcProviderOptions::new(shape)
        .with_client(confidential_client(
            "rp",
            "rp-secret",
            "client_secret_basic",
            &slot.callback_url(),
            &slot.home_url(),
        ))
        .with_client(worker_client);
    options.extra_env.push((
        "RESOURCES".into(),
        serde_json::json!({ crate::api_tokens::ORDERS: "orders:read" }).to_string(),
    ));
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let clock = TestClock::new();
    let worker = || {
        if with_key {
            WorkerConfig::with_private_key(WORKER.0, crate::cases::client_key(shape))
        } else {
            WorkerConfig::new(WORKER.0, WORKER.1)
        }
        .scopes(["orders:read"])
        .resource(crate::api_tokens::ORDERS)
    };
    let first = app(
        adapter,
        slot,
        provider.issuer(),
        worker(),
        Arc::clone(&store),
        &clock,
    )
    .await;
    let second = app(
        adapter,
        AppSlot::new(),
        provider.issuer(),
        worker(),
        store,
        &clock,
    )
    .await;
    let a = first.oidc.worker("management").expect("registered");
    let b = second.oidc.worker("management").expect("registered");
    let token = a
        .token()
        .await
        .unwrap_or_else(|e| panic!("worker token: {e}"));
    assert_eq!(audience(token.secret()), crate::api_tokens::ORDERS);
    assert_eq!(b.token().await.expect("token").secret(), token.secret());
    let stats = provider.stats().await.expect("stats");
    assert_eq!(
        stats.token.other, 1,
        "one client credentials call between both"
    );
    let method = if with_key {
        "private_key_jwt"
    } else {
        "client_secret_basic"
    };
    assert_eq!(
        stats.client_auth.get(&format!("token {method}")),
        Some(&1),
        "{stats:?}"
    );
}
