//! The behaviours every adapter must show, written once. `tests/tests/adapters.rs` runs each
//! case for every adapter (and, for interop, both Ping shapes of `oidc-provider`).

use std::time::Duration;

use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, set_cookies, Browser};
use ping_oidc::test_util::TestClock;

use crate::oidc_provider::{
    confidential_client, public_client, OidcProvider, OidcProviderOptions, Shape,
};

/// An app under one adapter, signed in against `oidc-provider`.
pub struct Interop {
    pub provider: OidcProvider,
    pub app: TestApp,
    pub browser: Browser,
    /// The app's clock: cases move it forward instead of sleeping until tokens expire.
    pub clock: TestClock,
}

/// A confidential client registered next to a public `rp`, for the test's own introspection
/// (a public client cannot authenticate at the introspection endpoint).
const INSPECTOR: (&str, &str) = ("inspector", "inspector-secret");

/// Whether the test introspects with the `inspector` client, because `rp` cannot
/// authenticate with a plain secret.
fn uses_inspector(auth_method: &str) -> bool {
    !matches!(auth_method, "client_secret_basic" | "client_secret_post")
}

/// The test client key: RSA (RS256, PingOne's algorithms) in the PingOne shape, EC P-256
/// (ES256) in PingFederate's.
pub fn client_key(shape: Shape) -> ping_oidc::ClientKey {
    let file = match shape {
        Shape::PingOne => "client-key-rsa.pem",
        Shape::PingFederate => "client-key-ec.pem",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/core/testdata")
        .join(file);
    ping_oidc::ClientKey::from_file(path, Some("rp-key-1")).expect("test client key")
}

/// Provider settings for a case.
pub struct Setup {
    pub shape: Shape,
    pub access_token_ttl: u64,
    pub auth_method: &'static str,
    /// `server.mjs`'s `END_SESSION`: `standard`, `ping` or `none`.
    pub end_session: &'static str,
    /// The app's session idle timeout and absolute lifetime, when not the defaults.
    pub lifetimes: Option<(Duration, Duration)>,
}

impl Setup {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            access_token_ttl: 300,
            auth_method: "client_secret_basic",
            end_session: "standard",
            lifetimes: None,
        }
    }

    pub fn short_tokens(mut self, seconds: u64) -> Self {
        self.access_token_ttl = seconds;
        self
    }
}

impl Interop {
    pub async fn start(adapter: Adapter, setup: Setup) -> Self {
        let slot = AppSlot::new();
        let public = setup.auth_method == "none";
        let key = (setup.auth_method == "private_key_jwt").then(|| client_key(setup.shape));
        let client = if public {
            public_client("rp", &slot.callback_url(), &slot.home_url())
        } else if let Some(key) = &key {
            let mut client = public_client("rp", &slot.callback_url(), &slot.home_url());
            client["token_endpoint_auth_method"] = "private_key_jwt".into();
            client["jwks"] = serde_json::json!({ "keys": [key.public_jwk()] });
            client
        } else {
            confidential_client(
                "rp",
                "rp-secret",
                setup.auth_method,
                &slot.callback_url(),
                &slot.home_url(),
            )
        };
        let mut options = OidcProviderOptions::new(setup.shape).with_client(client);
        if uses_inspector(setup.auth_method) {
            let (id, secret) = INSPECTOR;
            let inspector = confidential_client(
                id,
                secret,
                "client_secret_basic",
                &slot.callback_url(),
                &slot.home_url(),
            );
            options = options.with_client(inspector);
        }
        options.access_token_ttl = setup.access_token_ttl;
        options
            .extra_env
            .push(("END_SESSION".into(), setup.end_session.into()));
        let provider = OidcProvider::start(options)
            .await
            .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
        let mut config = if public || key.is_some() {
            slot.public_config(provider.issuer())
        } else {
            slot.config(provider.issuer())
        };
        if let Some((idle, absolute)) = setup.lifetimes {
            config = config.idle_timeout(idle).absolute_lifetime(absolute);
        }
        if setup.auth_method == "client_secret_post" {
            config = config.token_auth_method(ping_oidc::TokenAuthMethod::ClientSecretPost);
        }
        if setup.auth_method == "client_secret_jwt" {
            config = config.token_auth_method(ping_oidc::TokenAuthMethod::ClientSecretJwt);
        }
        if let Some(key) = key {
            config = config.private_key(key);
        }
        let clock = TestClock::new();
        let app = slot
            .start_with_clock(adapter, config, None, &clock)
            .await
            .unwrap_or_else(|e| panic!("app: {e}"));
        Self {
            provider,
            app,
            browser: Browser::new(),
            clock,
        }
    }

    pub async fn sign_in(&self) {
        let landed = self
            .browser
            .sign_in(&self.app, &self.provider, "/profile")
            .await
            .expect("sign-in");
        assert_eq!(landed, "/profile");
    }

    pub async fn user(&self) -> (u16, Value) {
        let response = self.browser.fetch(&self.app.url("/auth/user")).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Whether the provider's introspection says `token` is active.
    pub async fn is_active(&self, token: &str) -> bool {
        let method = self.app.oidc.config().token_auth_method();
        let (id, secret) = if uses_inspector(method.as_str()) {
            INSPECTOR
        } else {
            ("rp", "rp-secret")
        };
        let answer = self
            .provider
            .introspect(token, id, Some(secret))
            .await
            .expect("introspect");
        answer["active"]
            .as_bool()
            .unwrap_or_else(|| panic!("introspection without a boolean `active`: {answer}"))
    }

    pub async fn latest_refresh_token(&self) -> String {
        let tokens = self
            .provider
            .refresh_tokens()
            .await
            .expect("refresh tokens");
        tokens.last().cloned().expect("a refresh token was issued")
    }

    /// Waits until the session's access token is due for refresh.
    /// Moves the app's clock past an access token's lifetime of `ttl` seconds.
    pub async fn wait_for_expiry(&self, ttl: u64) {
        self.clock.advance(Duration::from_secs(ttl + 1));
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
    assert_eq!(
        body["claims"]["email"], "alice@example.test",
        "userinfo claims are merged: {body}"
    );

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
    assert_ne!(
        first_refresh_token, second_refresh_token,
        "the provider rotated the refresh token"
    );
    assert!(
        !t.is_active(&first_refresh_token).await,
        "the old refresh token is spent"
    );
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
    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token.refresh_token, 1, "single-flight refresh");
}

/// Sign-out revokes the refresh token, ends the provider session and the local one.
pub async fn logout_revokes_and_ends_provider_session(adapter: Adapter, setup: Setup) {
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let refresh_token = t.latest_refresh_token().await;
    let access = access_token(&t).await;
    assert!(t.provider.sessions().await.expect("sessions").has("alice"));
    assert!(t.is_active(&refresh_token).await);
    assert!(t.is_active(&access).await);

    let response = t.browser.sign_out(&t.app).await;
    assert_eq!(response.status(), 303);
    let cookies = set_cookies(&response);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("ping_oidc=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let end_session = location(&response).expect("end-session redirect");
    assert!(end_session.contains("id_token_hint="), "{end_session}");
    assert!(
        end_session.contains("post_logout_redirect_uri="),
        "{end_session}"
    );
    // No `state`: nothing reads it on the way back, so none is sent (or left in the URL).
    assert!(!end_session.contains("state="), "{end_session}");
    let back = t
        .provider
        .follow_to_client(&t.browser.client, &end_session)
        .await
        .expect("end session");
    assert!(back.as_str().starts_with(&t.app.url("/")), "{back}");
    assert!(!back.as_str().contains("state="), "{back}");

    assert!(
        !t.is_active(&refresh_token).await,
        "the refresh token was revoked"
    );
    assert!(!t.is_active(&access).await, "the access token was revoked");
    assert!(
        !t.provider.sessions().await.expect("sessions").has("alice"),
        "the provider session ended"
    );
    assert_eq!(t.user().await.0, 401);
    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.revocations, 2, "refresh and access token");
}

/// Sign-out when the provider has no OIDC `end_session_endpoint`: PingFederate's
/// `ping_end_session_endpoint` with `TargetResource` (`END_SESSION=ping`), or, with no
/// end-session endpoint at all, straight back to the post-logout page (`none`). Tokens are
/// revoked and the local session ends either way.
pub async fn logout_without_oidc_end_session(adapter: Adapter, setup: Setup) {
    let ping = setup.end_session == "ping";
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let refresh_token = t.latest_refresh_token().await;

    let response = t.browser.sign_out(&t.app).await;
    assert_eq!(response.status(), 303);
    let target = location(&response).expect("a redirect");
    let home = t.app.url("/");
    if ping {
        let expected = format!(
            "{}/idp/startSLO.ping?TargetResource={}",
            t.provider.base_url(),
            url::form_urlencoded::byte_serialize(home.as_bytes()).collect::<String>()
        );
        assert_eq!(target, expected);
        assert!(!target.contains("id_token_hint"), "{target}");
        let back = t
            .browser
            .client
            .get(&target)
            .send()
            .await
            .expect("startSLO.ping");
        assert_eq!(back.status(), 302);
        assert_eq!(location(&back).as_deref(), Some(home.as_str()));
        assert_eq!(t.provider.stats().await.expect("stats").ping_slo, 1);
    } else {
        assert_eq!(
            target, home,
            "no end-session endpoint: the post-logout page"
        );
    }
    assert!(
        !t.is_active(&refresh_token).await,
        "the refresh token was revoked"
    );
    assert_eq!(t.user().await.0, 401);
}

/// The stored session behind the browser's cookie, straight from the app's store.
async fn stored_session(t: &Interop) -> Option<ping_oidc::store::LoadedSession> {
    let cookie = t.browser.cookie(&t.app.url("/"), "ping_oidc")?;
    let id = cookie.split('.').next()?.to_string();
    t.app.oidc.store().load(&id).await.expect("store")
}

/// Idle timeout (3 s) and absolute lifetime (7 s), end to end: steady use keeps the session
/// past the idle timeout without rewriting it (the version stays 1: uses only slide the
/// expiry), a pause longer than the idle timeout ends it, and nothing outlives the absolute
/// lifetime however busy.
pub async fn session_lifetimes(adapter: Adapter) {
    let idle = Duration::from_secs(3);
    let mut setup = Setup::new(Shape::PingOne);
    setup.lifetimes = Some((idle, Duration::from_secs(7)));

    // Idle: busy for 5 s (past the idle timeout), then a 4 s pause (on the app's clock).
    let step = Duration::from_millis(700);
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let mut elapsed = Duration::ZERO;
    while elapsed < Duration::from_secs(5) {
        let response = t.browser.fetch(&t.app.url("/api/ok")).await;
        assert_eq!(response.status(), 200, "after {elapsed:?}");
        t.clock.advance(step);
        elapsed += step;
    }
    let stored = stored_session(&t)
        .await
        .expect("the session is still there");
    assert_eq!(
        stored.version, 1,
        "uses slid the expiry without rewriting the session"
    );
    t.clock.advance(idle + Duration::from_secs(1));
    let response = t.browser.fetch(&t.app.url("/api/ok")).await;
    assert_eq!(
        response.status(),
        401,
        "idle for longer than the idle timeout"
    );
    assert!(stored_session(&t).await.is_none());

    // Absolute: a fresh sign-in used every 0.7 s still ends 7 s after it began.
    let mut setup = Setup::new(Shape::PingOne);
    setup.lifetimes = Some((idle, Duration::from_secs(7)));
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let mut elapsed = Duration::ZERO;
    let ended_after = loop {
        let status = t.browser.fetch(&t.app.url("/api/ok")).await.status();
        if status != 200 {
            assert_eq!(status, 401);
            break elapsed;
        }
        assert!(elapsed < Duration::from_secs(10), "outlived its lifetime");
        t.clock.advance(step);
        elapsed += step;
    };
    assert!(
        ended_after >= Duration::from_secs(5),
        "ended early: {ended_after:?}"
    );
}

async fn access_token(t: &Interop) -> String {
    let response = t
        .browser
        .client
        .get(t.app.url("/auth/token"))
        .header("x-csrf", "1")
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Runs futures concurrently on the current task and collects their outputs in order.
pub async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
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

/// A callback whose `state` matches no transaction: 400 page, no session.
pub async fn wrong_state_is_refused(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let callback = t
        .browser
        .start_sign_in(&t.app, &t.provider, "/auth/login")
        .await
        .expect("authorize");
    let forged_state = "A".repeat(43);
    let mut forged = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "state" {
                forged_state.clone()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let response = t.browser.navigate(forged.as_str()).await;
    assert_eq!(response.status(), 400);
    assert!(set_cookies(&response)
        .iter()
        .all(|c| !c.starts_with("ping_oidc=") || c.contains("Max-Age=0")));
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("Sign-in failed"), "{body}");
    assert_eq!(t.user().await.0, 401);
    assert_eq!(
        t.provider
            .stats()
            .await
            .expect("stats")
            .token
            .authorization_code,
        0,
        "the code was not exchanged"
    );
}

/// A callback replayed with its transaction cookie: refused, no new session.
pub async fn replayed_callback_is_refused(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let callback = t
        .browser
        .start_sign_in(&t.app, &t.provider, "/auth/login")
        .await
        .expect("authorize");
    let cookie_header = t.browser.cookie_header(callback.as_str());
    assert!(cookie_header.contains("ping_oidc_tx_"), "{cookie_header}");
    let first = t.browser.navigate(callback.as_str()).await;
    assert_eq!(first.status(), 303);

    let attacker = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let replay = attacker
        .get(callback.as_str())
        .header("cookie", cookie_header)
        .header("accept", "text/html")
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 400);
    assert!(set_cookies(&replay)
        .iter()
        .all(|c| !c.starts_with("ping_oidc=") || c.contains("Max-Age=0")));
    assert_eq!(
        t.provider
            .stats()
            .await
            .expect("stats")
            .token
            .authorization_code,
        1,
        "the code was exchanged once"
    );
}

/// A tampered or unknown session cookie is no session; the session id changes at sign-in;
/// the cookie has the right attributes.
pub async fn session_cookie_hardening(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let callback = t
        .browser
        .start_sign_in(&t.app, &t.provider, "/auth/login")
        .await
        .expect("authorize");
    // A cookie the attacker planted before sign-in.
    t.browser.jar.add_cookie_str(
        "ping_oidc=planted.value; Path=/",
        &url::Url::parse(&t.app.base).expect("url"),
    );
    let response = t.browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    let session_cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("ping_oidc=") && !c.contains("Max-Age=0"))
        .expect("session cookie");
    assert!(!session_cookie.starts_with("ping_oidc=planted"));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            session_cookie.contains(attribute),
            "{session_cookie} lacks {attribute}"
        );
    }
    assert!(
        !session_cookie.contains("Secure"),
        "no Secure on an http app URL"
    );
    assert_eq!(t.user().await.0, 200);

    let value = t.browser.cookie(&t.app.base, "ping_oidc").expect("cookie");
    let attacker = reqwest::Client::new();
    let mut tampered = value.clone();
    let flipped = if tampered.ends_with('A') { 'B' } else { 'A' };
    tampered.pop();
    tampered.push(flipped);
    let (id, tag) = value.split_once('.').expect("id.tag");
    let unknown_id = format!("{}.{tag}", "x".repeat(id.len()));
    for cookie in [
        tampered,
        unknown_id,
        "garbage".to_string(),
        format!("{value}.extra"),
    ] {
        let response = attacker
            .get(t.app.url("/api/me"))
            .header("cookie", format!("ping_oidc={cookie}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "cookie {cookie:?}");
    }
    // The real session is untouched.
    assert_eq!(t.user().await.0, 200);
}

/// `return_to` must be a same-origin path: anything else lands on the default.
pub async fn open_redirects_are_refused(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    for evil in [
        "https://evil.example/x",
        "//evil.example",
        "/\\evil.example",
        "HTTPS://EVIL.EXAMPLE",
        "/%2F%2Fevil.example",
    ] {
        let landed = t
            .browser
            .sign_in(&t.app, &t.provider, evil)
            .await
            .expect("sign-in");
        assert_eq!(landed, "/", "return_to {evil:?}");
    }
    let landed = t
        .browser
        .sign_in(&t.app, &t.provider, "/profile?tab=1")
        .await
        .expect("sign-in");
    assert_eq!(landed, "/profile?tab=1");
}

/// Sign-out must come from this site; GET is not sign-out.
pub async fn cross_site_logout_is_refused(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    t.sign_in().await;
    let logout = t.app.url("/auth/logout");
    let get = t.browser.navigate(&logout).await;
    assert_eq!(get.status(), 405);
    assert_eq!(
        get.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let cross_origin = t
        .browser
        .client
        .post(&logout)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("post");
    assert_eq!(cross_origin.status(), 403);
    let cross_site = t
        .browser
        .client
        .post(&logout)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("post");
    assert_eq!(cross_site.status(), 403);
    let no_evidence = t.browser.client.post(&logout).send().await.expect("post");
    assert_eq!(no_evidence.status(), 403);
    assert_eq!(t.user().await.0, 200, "still signed in");
    assert_eq!(t.provider.stats().await.expect("stats").revocations, 0);
}

/// `/auth/token` needs `X-CSRF: 1` and a session.
pub async fn token_endpoint_needs_csrf_header(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let token = t.app.url("/auth/token");
    let signed_out = t
        .browser
        .client
        .get(&token)
        .header("x-csrf", "1")
        .send()
        .await
        .expect("token");
    assert_eq!(signed_out.status(), 401);
    t.sign_in().await;
    let without = t.browser.client.get(&token).send().await.expect("token");
    assert_eq!(without.status(), 403);
    let body: Value = without.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"], "csrf_header_required");
    let with = t
        .browser
        .client
        .get(&token)
        .header("x-csrf", "1")
        .send()
        .await
        .expect("token");
    assert_eq!(with.status(), 200);
    assert_eq!(
        with.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = with.json().await.unwrap_or(Value::Null);
    assert!(body["access_token"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["expires_at"].as_i64().is_some());
    assert!(body["scope"].as_str().is_some_and(|s| s.contains("openid")));
}

/// Signed out: navigations are sent to sign-in and come back; other requests get 401 JSON.
pub async fn signed_out_navigation_and_api(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let navigation = t.browser.navigate(&t.app.url("/profile?tab=claims")).await;
    assert_eq!(navigation.status(), 302);
    let login = location(&navigation).expect("location");
    assert_eq!(login, "/auth/login?return_to=%2Fprofile%3Ftab%3Dclaims");
    let api = t.browser.fetch(&t.app.url("/api/me")).await;
    assert_eq!(api.status(), 401);
    let body: Value = api.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"], "unauthenticated");
    // Accept: text/html without Fetch Metadata counts as a navigation too.
    let old_browser = t
        .browser
        .client
        .get(t.app.url("/profile"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(old_browser.status(), 302);
    // Following the redirect through sign-in comes back to the page.
    let landed = t
        .browser
        .sign_in(&t.app, &t.provider, "/profile?tab=claims")
        .await
        .expect("sign-in");
    assert_eq!(landed, "/profile?tab=claims");
    assert_eq!(t.browser.fetch(&t.app.url("/healthz")).await.status(), 200);
}

/// `ScopedToken`: 403 with `WWW-Authenticate` for APIs; navigations go through sign-in for
/// the extra scope and come back with it.
pub async fn scoped_token_incremental_consent(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    t.sign_in().await;
    let api = t.browser.fetch(&t.app.url("/api/orders")).await;
    assert_eq!(api.status(), 403);
    let challenge = api
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        challenge,
        "Bearer error=\"insufficient_scope\", scope=\"orders:read\""
    );

    let navigation = t.browser.navigate(&t.app.url("/api/orders")).await;
    assert_eq!(navigation.status(), 302);
    let login = location(&navigation).expect("location");
    assert!(login.contains("scope=orders%3Aread"), "{login}");
    let callback = t
        .browser
        .start_sign_in(&t.app, &t.provider, &login)
        .await
        .expect("authorize");
    let response = t.browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/api/orders"));
    let orders = t.browser.fetch(&t.app.url("/api/orders")).await;
    assert_eq!(orders.status(), 200);
    let body: Value = orders.json().await.unwrap_or(Value::Null);
    assert!(
        body["scopes"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == "orders:read")),
        "{body}"
    );
}

/// Two tabs signing in at once both succeed, in either order.
pub async fn two_tabs_sign_in_at_once(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let first = t
        .browser
        .start_sign_in(&t.app, &t.provider, "/auth/login?return_to=/one")
        .await
        .expect("tab 1");
    let second = t
        .browser
        .start_sign_in(&t.app, &t.provider, "/auth/login?return_to=/two")
        .await
        .expect("tab 2");
    let response = t.browser.navigate(second.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/two"));
    let response = t.browser.navigate(first.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/one"));
    assert_eq!(t.user().await.0, 200);
}

/// The provider refuses the refresh (`invalid_grant`): the session ends; browsers go to
/// sign-in, other requests get 401.
pub async fn rejected_refresh_ends_session(adapter: Adapter) {
    let ttl = 3;
    let t = Interop::start(adapter, Setup::new(Shape::PingOne).short_tokens(ttl)).await;
    t.sign_in().await;
    let refresh_token = t.latest_refresh_token().await;
    t.provider
        .revoke(&refresh_token, "rp", Some("rp-secret"))
        .await
        .expect("revoke");
    t.wait_for_expiry(ttl).await;
    let api = t.browser.fetch(&t.app.url("/api/me")).await;
    assert_eq!(api.status(), 401);
    assert!(set_cookies(&api)
        .iter()
        .any(|c| c.starts_with("ping_oidc=;") && c.contains("Max-Age=0")));
    let body: Value = api.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"], "session_ended");
    assert_eq!(
        t.provider.stats().await.expect("stats").token.refresh_token,
        1
    );
    let navigation = t.browser.navigate(&t.app.url("/profile")).await;
    assert_eq!(navigation.status(), 302);
    assert_eq!(t.user().await.0, 401);
}

/// The provider is unreachable at refresh time: 503 with `Retry-After`, the session is kept.
pub async fn unreachable_provider_keeps_session(adapter: Adapter) {
    let ttl = 3;
    let t = Interop::start(adapter, Setup::new(Shape::PingOne).short_tokens(ttl)).await;
    t.sign_in().await;
    let Interop {
        provider,
        app,
        browser,
        clock,
    } = t;
    drop(provider);
    clock.advance(Duration::from_secs(ttl + 1));
    let api = browser.fetch(&app.url("/api/me")).await;
    assert_eq!(api.status(), 503);
    assert_eq!(
        api.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert!(set_cookies(&api).is_empty(), "the session cookie is kept");
    let navigation = browser.navigate(&app.url("/profile")).await;
    assert_eq!(navigation.status(), 503);
    // `/auth/user` is guarded like any request: the same 503, the session kept.
    let user = browser.fetch(&app.url("/auth/user")).await;
    assert_eq!(user.status(), 503);
    assert!(set_cookies(&user).is_empty(), "the session cookie is kept");
    let cookie = browser.cookie(&app.url("/"), "ping_oidc").expect("cookie");
    let id = cookie.split('.').next().expect("id").to_string();
    let stored = app.oidc.store().load(&id).await.expect("store");
    assert!(stored.is_some(), "the session still exists");
}

/// The BFF routes answer this origin's pages only (`Sec-Fetch-Site`), the callback answers
/// GET only (a HEAD would run a sign-in), and no auth response lets its URL leak through a
/// `Referer`.
pub async fn auth_routes_hardening(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let login = t.browser.navigate(&t.app.url("/auth/login")).await;
    assert_eq!(login.status(), 302);
    assert_eq!(referrer_policy(&login), Some("no-referrer".into()));
    t.sign_in().await;
    let user = t.app.url("/auth/user");
    let token = t.app.url("/auth/token");
    for site in ["cross-site", "same-site"] {
        for (url, csrf) in [(&user, false), (&token, true)] {
            let mut request = t.browser.client.get(url).header("sec-fetch-site", site);
            if csrf {
                request = request.header("x-csrf", "1");
            }
            let refused = request.send().await.expect("request");
            assert_eq!(refused.status(), 403, "{url} from {site}");
            assert_eq!(referrer_policy(&refused), Some("no-referrer".into()));
            let body: Value = refused.json().await.unwrap_or(Value::Null);
            assert_eq!(body["error"], "cross_site_request", "{body}");
        }
    }
    let own = t
        .browser
        .client
        .get(&user)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("user");
    assert_eq!(own.status(), 200);
    assert_eq!(referrer_policy(&own), Some("no-referrer".into()));

    let codes_before = t
        .provider
        .stats()
        .await
        .expect("stats")
        .token
        .authorization_code;
    let head = t
        .browser
        .client
        .head(t.app.url("/auth/callback?code=abc&state=def"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 405);
    let codes_after = t
        .provider
        .stats()
        .await
        .expect("stats")
        .token
        .authorization_code;
    assert_eq!(codes_before, codes_after, "a HEAD exchanged nothing");
}

fn referrer_policy(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("referrer-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `/auth/user` is a use of the session like any guarded request: it slides the idle expiry.
pub async fn user_endpoint_slides_idle_expiry(adapter: Adapter) {
    let idle = Duration::from_secs(2);
    let mut setup = Setup::new(Shape::PingOne);
    setup.lifetimes = Some((idle, Duration::from_secs(60)));
    let t = Interop::start(adapter, setup).await;
    t.sign_in().await;
    let mut elapsed = Duration::ZERO;
    while elapsed < Duration::from_millis(3500) {
        assert_eq!(t.user().await.0, 200, "after {elapsed:?}");
        t.clock.advance(Duration::from_millis(500));
        elapsed += Duration::from_millis(500);
    }
    assert_eq!(t.browser.fetch(&t.app.url("/api/ok")).await.status(), 200);
    // Without uses, the idle timeout ends it: the clock is what /auth/user slid.
    t.clock.advance(idle + Duration::from_secs(1));
    assert_eq!(t.user().await.0, 401);
}

/// A page that sends the browser to `/auth/login?return_to=<2 KB>` again and again cannot
/// make the callback too large: a browser keeps at most three attempts, and no `Set-Cookie`
/// is over 4 KB. Sign-in still works afterwards.
pub async fn transaction_cookies_are_bounded(adapter: Adapter) {
    let t = Interop::start(adapter, Setup::new(Shape::PingOne)).await;
    let long = format!("/{}", "a".repeat(2048));
    let login = format!("/auth/login?return_to={long}");
    for round in 0..6 {
        let response = t.browser.navigate(&t.app.url(&login)).await;
        assert_eq!(response.status(), 302);
        for cookie in set_cookies(&response) {
            assert!(
                cookie.len() <= 4096,
                "round {round}: {} bytes",
                cookie.len()
            );
        }
        let header = t.browser.cookie_header(&t.app.url("/auth/callback"));
        let attempts = header.matches("ping_oidc_tx_").count();
        assert!(attempts <= 3, "round {round}: {attempts} attempts kept");
    }
    t.sign_in().await;
    assert_eq!(t.user().await.0, 200);
}

/// Another user signs in over a session in the same browser (a shared computer, once the first
/// user's provider session is over): the app revokes the old user's refresh and access tokens,
/// and the new user's grant keeps working.
pub async fn sign_in_over_another_users_session_revokes_its_tokens(adapter: Adapter) {
    let ttl = 3;
    let t = Interop::start(adapter, Setup::new(Shape::PingFederate).short_tokens(ttl)).await;
    t.sign_in().await;
    let alices = [t.latest_refresh_token().await, access_token(&t).await];
    t.provider.next_login_as("bob").await.expect("next login");
    t.sign_in().await;
    let (status, user) = t.user().await;
    assert_eq!((status, user["sub"].as_str()), (200, Some("bob")));
    // The revocation runs in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let revoked = t.provider.revoked_tokens().await.expect("revoked tokens");
        if alices.iter().all(|token| revoked.contains(token)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "alice's tokens were not revoked: {} revocation(s)",
            revoked.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Bob's session refreshes: his grant is another one.
    t.wait_for_expiry(ttl).await;
    assert_eq!(t.browser.fetch(&t.app.url("/api/me")).await.status(), 200);
    assert!(t.is_active(&t.latest_refresh_token().await).await);
    assert_eq!(t.provider.stats().await.expect("stats").token_errors, 0);
}

/// The same user signs in again over their own session (a second "Sign in" click, a new tab):
/// the old session ends, and its tokens are left to expire rather than revoked. A provider may
/// revoke the whole grant with any of its refresh tokens (RFC 7009 §2.1 permits it), and
/// within one provider session oidc-provider issues both sessions' tokens on the same grant,
/// so revoking the old ones would end the session just created; this case shows that it would.
pub async fn sign_in_again_as_the_same_user_keeps_the_grant(adapter: Adapter) {
    let ttl = 3;
    let t = Interop::start(adapter, Setup::new(Shape::PingOne).short_tokens(ttl)).await;
    t.sign_in().await;
    let replaced = t.latest_refresh_token().await;
    let first_cookie = t.browser.cookie(&t.app.url("/"), "ping_oidc");
    t.sign_in().await;
    assert_ne!(
        t.browser.cookie(&t.app.url("/"), "ping_oidc"),
        first_cookie,
        "a new session id"
    );
    assert_eq!(t.user().await.0, 200);
    t.wait_for_expiry(ttl).await;
    assert_eq!(t.browser.fetch(&t.app.url("/api/me")).await.status(), 200);
    let current = t.latest_refresh_token().await;
    assert!(t.is_active(&current).await, "the new session's grant lives");
    // A revocation would run in the background: give it time to show.
    for _ in 0..10 {
        assert_eq!(t.provider.stats().await.expect("stats").revocations, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        t.is_active(&replaced).await,
        "the replaced token was left alone"
    );

    // What revoking the replaced session's token would have done.
    t.provider
        .revoke(&replaced, "rp", Some("rp-secret"))
        .await
        .expect("revoke");
    assert!(
        !t.is_active(&current).await,
        "the provider no longer revokes the grant with one of its refresh tokens: \
         the replaced session's tokens could be revoked too"
    );
}
