//! Step-up per route (the example's `/api/step-up`: `acr` `Multi_Factor`, at most 300 s
//! old): a weak session is upgraded in place through sign-in, an API call gets the RFC 9470
//! challenge, and a provider that does not meet the `acr` asked for is refused. Against
//! `oidc-provider` in either path shape and the dev provider; `tests/tests/step_up.rs` runs
//! each for every adapter.

use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, Browser, SignInProvider};
use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions, Shape};

const STEP_UP_LOGIN: &str =
    "/auth/login?return_to=%2Fapi%2Fstep-up&acr_values=Multi_Factor&max_age=300";
const CHALLENGE: &str = "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger or more recent authentication is required\", acr_values=\"Multi_Factor\", max_age=\"300\"";

async fn oidc_provider(adapter: Adapter, shape: Shape, lower_acr: bool) -> (OidcProvider, TestApp) {
    let slot = AppSlot::new();
    let mut options = OidcProviderOptions::new(shape).with_client(confidential_client(
        "rp",
        "rp-secret",
        "client_secret_basic",
        &slot.callback_url(),
        &slot.home_url(),
    ));
    if lower_acr {
        options.extra_env.push(("LOWER_ACR".into(), "1".into()));
    }
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let config = slot.config(provider.issuer());
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    (provider, app)
}

fn session_cookie(browser: &Browser, app: &TestApp) -> Option<String> {
    browser.cookie(&app.url("/"), "ping_oidc")
}

/// The whole case for one provider: weak session, challenge, upgrade in place.
pub async fn upgrade(app: &TestApp, provider: &impl SignInProvider) {
    let browser = Browser::new();
    browser.sign_in(app, provider, "/").await.expect("sign-in");
    let before = session_cookie(&browser, app).expect("session cookie");

    // An API call: 401 with the RFC 9470 challenge; the session stays.
    let response = browser.fetch(&app.url("/api/step-up")).await;
    assert_eq!(response.status(), 401);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(challenge.as_deref(), Some(CHALLENGE));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "insufficient_user_authentication");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);

    // A navigation: sign in asking for it, back at the page, same session.
    let response = browser.navigate(&app.url("/api/step-up")).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response).as_deref(), Some(STEP_UP_LOGIN));
    let callback = browser
        .start_sign_in(app, provider, STEP_UP_LOGIN)
        .await
        .expect("step-up sign-in");
    let response = browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/api/step-up"));
    let body: Value = browser
        .fetch(&app.url("/api/step-up"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["acr"], "Multi_Factor", "{body}");
    assert!(body["auth_time"].is_i64(), "{body}");
    assert_eq!(
        session_cookie(&browser, app).as_deref(),
        Some(before.as_str()),
        "the session is upgraded in place"
    );
}

/// A weak session upgraded, against `oidc-provider`.
pub async fn weak_session_upgraded(adapter: Adapter, shape: Shape) {
    let (provider, app) = oidc_provider(adapter, shape, false).await;
    upgrade(&app, &provider).await;
}

/// A weak session upgraded, against the dev provider.
pub async fn weak_session_upgraded_dev_provider(adapter: Adapter) {
    let slot = AppSlot::new();
    let provider = ping_oidc_dev_provider::DevProvider::builder()
        .client(
            ping_oidc_dev_provider::ClientRegistration::confidential(
                "rp",
                "rp-secret",
                slot.callback_url(),
            )
            .post_logout_redirect_uri(slot.home_url()),
        )
        .start()
        .await
        .expect("dev provider");
    let config = slot.config(&provider.issuer());
    let app = slot.start(adapter, config, None).await.expect("app");
    upgrade(&app, &provider).await;
}

/// The provider signs in with a lower `acr` than asked: refused with a page, and the session
/// is what it was.
pub async fn lower_acr_refused(adapter: Adapter, shape: Shape) {
    let (provider, app) = oidc_provider(adapter, shape, true).await;
    let browser = Browser::new();
    browser
        .sign_in(&app, &provider, "/")
        .await
        .expect("sign-in");
    let callback = browser
        .start_sign_in(&app, &provider, STEP_UP_LOGIN)
        .await
        .expect("step-up sign-in");
    let response = browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("authentication level"), "{page}");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);
    assert_eq!(browser.fetch(&app.url("/api/step-up")).await.status(), 401);
}

/// `acr_values` the app does not allow are refused at `/auth/login`.
pub async fn unknown_acr_values_refused(adapter: Adapter) {
    let (_provider, app) = oidc_provider(adapter, Shape::PingOne, false).await;
    let response = Browser::new()
        .navigate(&app.url("/auth/login?acr_values=Weakest"))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("set-cookie").is_none());
}
