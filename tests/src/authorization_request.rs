//! The authorization request done the modern way, against `oidc-provider` in either path
//! shape: pushed authorization requests (RFC 9126) when advertised, when required, and a
//! clear page when the PAR endpoint refuses; the silent check (`prompt=none`) in both
//! outcomes. Written once; `tests/tests/authorization_request.rs` runs each case for every
//! adapter and shape.

use ping_oidc::Par;
use reqwest::header::SET_COOKIE;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, Browser};
use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions, Shape};

/// `oidc-provider` with `PAR` set to `on`, `required` or `off`, and the app on `adapter`
/// configured with `par` (and `secret` as its client secret).
async fn start(
    adapter: Adapter,
    shape: Shape,
    provider_par: &str,
    par: Par,
    secret: &str,
) -> (OidcProvider, TestApp) {
    let slot = AppSlot::new();
    let mut options = OidcProviderOptions::new(shape).with_client(confidential_client(
        "rp",
        "rp-secret",
        "client_secret_basic",
        &slot.callback_url(),
        &slot.home_url(),
    ));
    options.extra_env.push(("PAR".into(), provider_par.into()));
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let config = slot
        .config(provider.issuer())
        .client_secret(secret)
        .par(par);
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    (provider, app)
}

/// Where `/auth/login` sends the browser.
async fn authorize_url(browser: &Browser, app: &TestApp, login: &str) -> url::Url {
    let response = browser.navigate(&app.url(login)).await;
    assert_eq!(response.status(), 302, "{login}");
    let location = location(&response).expect("Location");
    url::Url::parse(&location).expect("authorize URL")
}

fn params(url: &url::Url) -> Vec<String> {
    url.query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect()
}

/// Advertised (`OIDC_PAR=auto`): only `client_id` and `request_uri` go through the browser,
/// and the sign-in works.
pub async fn par_used_when_advertised(adapter: Adapter, shape: Shape) {
    let (provider, app) = start(adapter, shape, "on", Par::Auto, "rp-secret").await;
    let browser = Browser::new();
    let url = authorize_url(&browser, &app, "/auth/login?return_to=/profile").await;
    assert_eq!(params(&url), ["client_id", "request_uri"], "{url}");
    let landed = browser
        .sign_in(&app, &provider, "/profile")
        .await
        .unwrap_or_else(|e| panic!("sign-in through PAR: {e}"));
    assert_eq!(landed, "/profile");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);

    // `never`: the parameters in the URL, as before.
    let (_provider, app) = start(adapter, shape, "on", Par::Never, "rp-secret").await;
    let url = authorize_url(&Browser::new(), &app, "/auth/login").await;
    assert!(params(&url).contains(&"code_challenge".to_owned()), "{url}");
}

/// Required by the provider: pushed even with `OIDC_PAR=never`. `always` against a provider
/// without the endpoint: a clear page.
pub async fn par_required_by_the_provider(adapter: Adapter, shape: Shape) {
    let (provider, app) = start(adapter, shape, "required", Par::Never, "rp-secret").await;
    let browser = Browser::new();
    let url = authorize_url(&browser, &app, "/auth/login").await;
    assert_eq!(params(&url), ["client_id", "request_uri"], "{url}");
    browser
        .sign_in(&app, &provider, "/")
        .await
        .unwrap_or_else(|e| panic!("sign-in: {e}"));

    let (_provider, app) = start(adapter, shape, "off", Par::Always, "rp-secret").await;
    let response = Browser::new().navigate(&app.url("/auth/login")).await;
    assert_eq!(response.status(), 500);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("no endpoint"), "{page}");
}

/// The PAR endpoint refuses (the client's secret is wrong): a page, no redirect, no
/// transaction cookie.
pub async fn par_refusal_gets_a_page(adapter: Adapter, shape: Shape) {
    let (_provider, app) = start(adapter, shape, "on", Par::Auto, "not-the-secret").await;
    let response = Browser::new().navigate(&app.url("/auth/login")).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers().get("location").is_none());
    assert!(response.headers().get(SET_COOKIE).is_none());
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("refused the sign-in request"), "{page}");
}

/// `/auth/login?prompt=none`: without a provider session, back at `return_to` signed out
/// (no error page); with one, back signed in.
pub async fn silent_check_both_outcomes(adapter: Adapter, shape: Shape) {
    let (provider, app) = start(adapter, shape, "on", Par::Auto, "rp-secret").await;
    let browser = Browser::new();
    let silent = "/auth/login?prompt=none&return_to=%2Fprofile";
    let callback = browser
        .start_sign_in(&app, &provider, silent)
        .await
        .expect("silent check");
    assert!(
        callback
            .query()
            .is_some_and(|q| q.contains("error=login_required")),
        "{callback}"
    );
    let response = browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
    let session_set = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("ping_oidc="));
    assert!(!session_set, "a failed silent check made a session");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 401);

    // Signed in at the provider, the app's session gone: the silent check signs in again.
    browser
        .sign_in(&app, &provider, "/")
        .await
        .expect("sign-in");
    let app_url = url::Url::parse(&app.base).expect("url");
    browser
        .jar
        .add_cookie_str("ping_oidc=gone; Max-Age=0; Path=/", &app_url);
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 401);
    let callback = browser
        .start_sign_in(&app, &provider, silent)
        .await
        .expect("silent check");
    let response = browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);
}
