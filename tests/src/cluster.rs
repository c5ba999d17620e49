//! Many instances behind a load balancer, per adapter: sessions in Redis, one refresh across
//! instances, back-channel logout ending sessions everywhere, and Redis outages.
//! Instantiated in `tests/tests/cluster.rs`.

use std::sync::Arc;
use std::time::Duration;

use ping_oidc::store::RedisStore;
use ping_oidc::store::SessionStore;
use ping_oidc_dev_provider::{ClientRegistration, DevProvider, LogoutTarget};
use serde_json::{json, Value};

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, Browser};
use crate::cases::futures_join_all;
use crate::oidc_provider::{OidcProvider, OidcProviderOptions, Shape};
use crate::store_suite::{random_hex, RedisServer};

/// `REDIS_URL`, which the Redis cases need (they are `ignore`d without it).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A Redis store under a prefix of its own, so parallel tests never meet.
pub async fn redis_store(url: &str, prefix: &str) -> Arc<dyn SessionStore> {
    let store = RedisStore::builder(url)
        .key_prefix(prefix)
        .command_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("Redis at {url}: {e}"));
    Arc::new(store)
}

/// Two instances on different ports share one Redis. After access-token expiry, 50
/// concurrent requests split across both all succeed, and `oidc-provider` sees one refresh.
pub async fn two_instances_refresh_once(adapter: Adapter) {
    let ttl = 3;
    let (first, second) = (AppSlot::new(), AppSlot::new());
    let client = json!({
        "client_id": "rp",
        "client_secret": "rp-secret",
        "redirect_uris": [first.callback_url(), second.callback_url()],
        "post_logout_redirect_uris": [first.home_url(), second.home_url()],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let mut options = OidcProviderOptions::new(Shape::PingOne).with_client(client);
    options.access_token_ttl = ttl;
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let prefix = format!("cluster-{}:", random_hex());
    let store_a = redis_store(&redis_url(), &prefix).await;
    let store_b = redis_store(&redis_url(), &prefix).await;
    let config_a = first.config(provider.issuer());
    let config_b = second.config(provider.issuer());
    // One clock for both instances, as one wall clock would be.
    let clock = ping_oidc::test_util::TestClock::new();
    let a = first
        .start_with_clock(adapter, config_a, Some(store_a), &clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = second
        .start_with_clock(adapter, config_b, Some(store_b), &clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Sign in on A; the cookie (host-scoped) goes to B too, as behind one load balancer.
    let browser = Browser::new();
    let landed = browser
        .sign_in(&a, &provider, "/profile")
        .await
        .expect("sign-in on A");
    assert_eq!(landed, "/profile");
    assert_eq!(
        browser.fetch(&b.url("/auth/user")).await.status(),
        200,
        "B sees A's session"
    );

    clock.advance(Duration::from_secs(ttl + 1));
    let requests = (0..50).map(|i| {
        let client = browser.client.clone();
        let url = if i % 2 == 0 {
            a.url("/api/me")
        } else {
            b.url("/api/me")
        };
        async move {
            client
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let statuses = futures_join_all(requests).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "{statuses:?}"
    );
    let stats = provider.stats().await.expect("stats");
    assert_eq!(
        stats.token.refresh_token, 1,
        "one refresh across both instances"
    );
    assert_eq!(
        stats.token_errors, 0,
        "the rotated refresh token was never replayed"
    );
}

/// Two instances, a dev provider that delivers back-channel logout to one of them: the
/// session ends on both. Works with any store shared by the instances.
async fn backchannel_logout_everywhere(adapter: Adapter, store: Arc<dyn SessionStore>) {
    let (first, second) = (AppSlot::new(), AppSlot::new());
    let client = ClientRegistration::confidential("rp", "rp-secret", first.callback_url())
        .redirect_uri(second.callback_url())
        .post_logout_redirect_uri(first.home_url())
        .backchannel_logout_uri(first.backchannel_url());
    let provider = DevProvider::builder()
        .client(client)
        .start()
        .await
        .expect("dev provider");
    let (config_a, config_b) = (
        first.config(&provider.issuer()),
        second.config(&provider.issuer()),
    );
    let a = first
        .start(adapter, config_a, Some(Arc::clone(&store)))
        .await
        .expect("A");
    let b = second
        .start(adapter, config_b, Some(store))
        .await
        .expect("B");

    // Two users; only one is signed out by the provider.
    let alice = Browser::new();
    assert_eq!(
        alice.sign_in(&b, &provider, "/").await.expect("alice on B"),
        "/"
    );
    let other = Browser::new();
    provider.add_user(ping_oidc_dev_provider::TestUser::new("bob", "bob-password"));
    let callback = other
        .start_sign_in(&b, &BobSignIn(&provider), "/auth/login")
        .await
        .expect("bob");
    assert_eq!(other.navigate(callback.as_str()).await.status(), 303);
    let alice_user: Value = alice
        .fetch(&b.url("/auth/user"))
        .await
        .json()
        .await
        .expect("json");
    let alice_sub = alice_user["sub"].as_str().expect("sub").to_string();

    let delivered = provider
        .backchannel_logout(LogoutTarget::Sub(alice_sub))
        .await;
    assert_eq!(
        delivered, 1,
        "the provider delivered the logout token to instance A"
    );
    assert_eq!(alice.fetch(&a.url("/auth/user")).await.status(), 401);
    assert_eq!(
        alice.fetch(&b.url("/auth/user")).await.status(),
        401,
        "ended on B too"
    );
    assert_eq!(
        other.fetch(&b.url("/auth/user")).await.status(),
        200,
        "other users keep their sessions"
    );
}

struct BobSignIn<'a>(&'a DevProvider);

impl crate::browser::SignInProvider for BobSignIn<'_> {
    async fn authorize(&self, _browser: &Browser, authorize_url: &str) -> Result<url::Url, String> {
        self.0
            .sign_in(authorize_url, "bob")
            .map_err(|e| e.to_string())
    }
}

/// Back-channel logout across two instances sharing Redis.
pub async fn backchannel_logout_across_instances_redis(adapter: Adapter) {
    let store = redis_store(&redis_url(), &format!("bcl-{}:", random_hex())).await;
    backchannel_logout_everywhere(adapter, store).await;
}

/// Back-channel logout with the memory store (two instances sharing one process's store).
pub async fn backchannel_logout_memory(adapter: Adapter) {
    let store: Arc<dyn SessionStore> = Arc::new(ping_oidc::MemoryStore::default());
    backchannel_logout_everywhere(adapter, store).await;
}

/// The provider's own end-session delivers back-channel logout; the session ends.
pub async fn end_session_triggers_backchannel(adapter: Adapter) {
    let slot = AppSlot::new();
    let client = ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
        .post_logout_redirect_uri(slot.home_url())
        .backchannel_logout_uri(slot.backchannel_url());
    let provider = DevProvider::builder()
        .client(client)
        .start()
        .await
        .expect("dev provider");
    let config = slot.config(&provider.issuer());
    let app: TestApp = slot.start(adapter, config, None).await.expect("app");
    let browser = Browser::new();
    browser
        .sign_in(&app, &provider, "/")
        .await
        .expect("sign-in");
    // A second browser session of the same user at the same provider session is not needed:
    // the app's own sign-out already ends it, so use the provider's end session directly.
    let user: Value = browser
        .fetch(&app.url("/auth/user"))
        .await
        .json()
        .await
        .expect("json");
    assert!(user["sub"].is_string());
    let before = provider.stats().backchannel_deliveries;
    let response = browser.sign_out(&app).await;
    let end_session = location(&response).expect("end session URL");
    let reply = browser
        .client
        .get(&end_session)
        .send()
        .await
        .expect("end session");
    assert!(reply.status().is_redirection() || reply.status().is_success());
    assert!(
        provider.stats().backchannel_deliveries > before,
        "the provider delivered a logout token"
    );
    assert_eq!(browser.fetch(&app.url("/auth/user")).await.status(), 401);
}

/// Redis goes down: requests that need the session get 503 with `Retry-After` (not a sign-out);
/// when Redis is back, service resumes without a restart.
pub async fn redis_outage(adapter: Adapter) {
    let mut redis = RedisServer::start().expect("redis-server");
    let store = redis_store(&redis.url(), "outage:").await;
    let slot = AppSlot::new();
    let client = ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
        .post_logout_redirect_uri(slot.home_url());
    let provider = DevProvider::builder()
        .client(client)
        .start()
        .await
        .expect("dev provider");
    let config = slot.config(&provider.issuer());
    let app = slot.start(adapter, config, Some(store)).await.expect("app");
    let browser = Browser::new();
    browser
        .sign_in(&app, &provider, "/")
        .await
        .expect("sign-in");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);

    redis.stop();
    let started = std::time::Instant::now();
    let api = browser.fetch(&app.url("/api/me")).await;
    assert_eq!(api.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered quickly, not hung"
    );
    assert_eq!(
        api.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert!(
        crate::browser::set_cookies(&api).is_empty(),
        "not signed out"
    );
    let page = browser.navigate(&app.url("/profile")).await;
    assert_eq!(page.status(), 503);
    assert_eq!(browser.fetch(&app.url("/auth/user")).await.status(), 503);
    assert_eq!(
        browser.fetch(&app.url("/healthz")).await.status(),
        200,
        "unguarded routes keep working"
    );

    redis.restart().expect("redis-server again");
    // This Redis keeps nothing on disk, so the old session is gone: signing in works again.
    let mut recovered = false;
    for _ in 0..50 {
        if browser.fetch(&app.url("/auth/user")).await.status() == 401 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the app talks to Redis again without a restart");
    assert_eq!(
        browser
            .sign_in(&app, &provider, "/")
            .await
            .expect("sign-in after the outage"),
        "/"
    );
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);
}

/// Sessions in Redis are sealed with the session key (AES-256-GCM, bound to the session id):
/// read access to Redis yields no token. A session written in plaintext by an older version
/// still loads.
pub async fn sessions_are_sealed_at_rest(adapter: Adapter) {
    let slot = AppSlot::new();
    let client = json!({
        "client_id": "rp",
        "client_secret": "rp-secret",
        "redirect_uris": [slot.callback_url()],
        "post_logout_redirect_uris": [slot.home_url()],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let options = OidcProviderOptions::new(Shape::PingOne).with_client(client);
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let prefix = format!("sealed-{}:", random_hex());
    let store = redis_store(&redis_url(), &prefix).await;
    let config = slot.config(provider.issuer());
    let app = slot
        .start(adapter, config, Some(store))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::new();
    browser
        .sign_in(&app, &provider, "/profile")
        .await
        .expect("sign-in");
    let token = browser
        .client
        .get(app.url("/auth/token"))
        .header("x-csrf", "1")
        .send()
        .await
        .expect("token");
    let token: Value = token.json().await.expect("json");
    let access_token = token["access_token"]
        .as_str()
        .expect("access token")
        .to_string();

    let cookie = browser.cookie(&app.url("/"), "ping_oidc").expect("cookie");
    let id = cookie.split('.').next().expect("id").to_string();
    let redis = redis::Client::open(redis_url()).expect("client");
    let mut connection = redis
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let raw: String = redis::cmd("HGET")
        .arg(format!("{prefix}s:{id}"))
        .arg("d")
        .query_async(&mut connection)
        .await
        .expect("HGET");
    assert!(
        raw.starts_with("sealed1."),
        "stored in plaintext: {}",
        &raw[..20]
    );
    assert!(!raw.contains(&access_token), "the access token is readable");
    assert!(!raw.contains("refresh_token") && !raw.contains("id_token"));

    // An older version's plaintext session (written by a store without the key) loads.
    let loaded = app
        .oidc
        .store()
        .load(&id)
        .await
        .expect("load")
        .expect("the sealed session opens");
    let plain_store = redis_store(&redis_url(), &prefix).await;
    let legacy_id = crate::store_suite::session_id();
    let now = crate::store_suite::now_unix();
    plain_store
        .create(&legacy_id, loaded.data, now)
        .await
        .expect("plaintext write");
    let raw: String = redis::cmd("HGET")
        .arg(format!("{prefix}s:{legacy_id}"))
        .arg("d")
        .query_async(&mut connection)
        .await
        .expect("HGET");
    assert!(raw.starts_with('{'), "written in plaintext");
    let legacy = app.oidc.store().load(&legacy_id).await.expect("load");
    let legacy = legacy.expect("the plaintext session loads");
    assert_eq!(legacy.data.subject(), loaded_subject(&app, &id).await);

    // After the migration, plaintext can be refused: then write access to Redis cannot plant
    // a session.
    let strict = RedisStore::builder(&redis_url())
        .key_prefix(&prefix)
        .accept_plaintext_sessions(false)
        .connect()
        .await
        .expect("strict store");
    let strict: Arc<dyn SessionStore> = Arc::new(strict);
    let second = AppSlot::new();
    let _engine =
        ping_oidc::PingOidc::builder(second.config(provider.issuer()).build().expect("config"))
            .shared_store(Arc::clone(&strict))
            .start()
            .await
            .expect("engine");
    assert!(
        strict.load(&legacy_id).await.expect("load").is_none(),
        "plaintext refused"
    );
    assert!(
        strict.load(&id).await.expect("load").is_some(),
        "sealed sessions load"
    );
}

async fn loaded_subject(app: &TestApp, id: &str) -> String {
    let loaded = app
        .oidc
        .store()
        .load(id)
        .await
        .expect("load")
        .expect("session");
    loaded.data.subject().to_string()
}
