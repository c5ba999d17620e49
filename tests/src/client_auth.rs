//! Client authentication with signed JWTs (RFC 7523: `client_secret_jwt`, `private_key_jwt`),
//! signed request objects (RFC 9101; PS256 and ES256), the client's `/auth/jwks`, and a public client through
//! PAR, the silent check and step-up, all against `oidc-provider` in either path shape.
//! Written once; `tests/tests/client_auth.rs` runs each case for every adapter and shape.

use ping_oidc::{RequestObject, TokenAuthMethod};
use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, Browser};
use crate::cases::{client_key, Interop, Setup};
use crate::oidc_provider::{
    confidential_client, public_client, OidcProvider, OidcProviderOptions, Shape,
};

/// Sign-in (PAR and the code), a refresh and sign-out (revocation of both tokens), each call
/// authenticated with `method`. The client is registered for that method only, so any other
/// authentication would be refused; the provider also refuses a reused `jti`.
pub async fn jwt_client_auth_at_every_endpoint(
    adapter: Adapter,
    shape: Shape,
    method: &'static str,
) {
    let mut setup = Setup::new(shape).short_tokens(3);
    setup.auth_method = method;
    let t = Interop::start(adapter, setup).await;
    assert_eq!(t.app.oidc.config().token_auth_method().as_str(), method);
    t.sign_in().await;
    t.wait_for_expiry(3).await;
    assert_eq!(t.browser.fetch(&t.app.url("/api/me")).await.status(), 200);
    assert_eq!(t.browser.sign_out(&t.app).await.status(), 303);

    let stats = t.provider.stats().await.expect("stats");
    assert_eq!(stats.token_errors, 0, "{stats:?}");
    assert_eq!(stats.token.refresh_token, 1, "{stats:?}");
    assert_eq!(stats.revocations, 2, "{stats:?}");
    let count = |endpoint: &str| {
        stats
            .client_auth
            .get(&format!("{endpoint} {method}"))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("pushed_authorization_request"), 1, "{stats:?}");
    assert_eq!(count("token"), 2, "code and refresh: {stats:?}");
    assert_eq!(count("revocation"), 2, "{stats:?}");
    assert!(
        stats.client_auth.keys().all(|key| key.ends_with(method)),
        "only {method} was used: {stats:?}"
    );
}

/// `oidc-provider` requiring signed request objects from `rp` (`PAR` `on` or `off`), and the
/// app, with the client key and `request_object`, on `adapter`.
async fn jar_setup(
    adapter: Adapter,
    shape: Shape,
    provider_par: &str,
    request_object: Option<RequestObject>,
) -> (OidcProvider, TestApp) {
    let slot = AppSlot::new();
    // PS256 in the PingOne shape (RS256 is what the JWT client-auth case there uses), ES256
    // in PingFederate's.
    let key = match shape {
        Shape::PingOne => client_key(shape)
            .with_algorithm(ping_oidc::Algorithm::PS256)
            .expect("an RSA key signs PS256"),
        Shape::PingFederate => client_key(shape),
    };
    let mut client = confidential_client(
        "rp",
        "rp-secret",
        "client_secret_basic",
        &slot.callback_url(),
        &slot.home_url(),
    );
    client["require_signed_request_object"] = true.into();
    client["jwks"] = serde_json::json!({ "keys": [key.public_jwk()] });
    let mut options = OidcProviderOptions::new(shape).with_client(client);
    options.extra_env.push(("PAR".into(), provider_par.into()));
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let mut config = slot
        .config(provider.issuer())
        .token_auth_method(TokenAuthMethod::ClientSecretBasic);
    if let Some(mode) = request_object {
        config = config.private_key(key).request_object(mode);
    }
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    (provider, app)
}

fn query_names(location: &str) -> Vec<String> {
    let url = url::Url::parse(location).expect("authorize URL");
    url.query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect()
}

/// A provider that requires signed request objects: accepted by value (no PAR) and pushed
/// (PAR); refused when the app sends plain parameters. The public key is at `/auth/jwks`,
/// and only there without its private members.
pub async fn signed_request_object_required(adapter: Adapter, shape: Shape) {
    // By value: only `client_id`, `response_type`, `scope` and `request` in the URL.
    let (provider, app) = jar_setup(adapter, shape, "off", Some(RequestObject::Signed)).await;
    let browser = Browser::new();
    let response = browser.navigate(&app.url("/auth/login")).await;
    assert_eq!(response.status(), 302);
    let names = query_names(&location(&response).expect("Location"));
    assert_eq!(names, ["response_type", "client_id", "scope", "request"]);
    let landed = browser
        .sign_in(&app, &provider, "/profile")
        .await
        .unwrap_or_else(|e| panic!("sign-in with a request object by value: {e}"));
    assert_eq!(landed, "/profile");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);

    let jwks: Value = browser
        .fetch(&app.url("/auth/jwks"))
        .await
        .json()
        .await
        .expect("jwks");
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], "rp-key-1", "{jwks}");
    assert!(jwk.get("d").is_none(), "private member served: {jwks}");

    // Pushed: the request object travels inside the PAR body.
    let (provider, app) = jar_setup(adapter, shape, "on", Some(RequestObject::Signed)).await;
    let browser = Browser::new();
    let response = browser.navigate(&app.url("/auth/login")).await;
    let names = query_names(&location(&response).expect("Location"));
    assert_eq!(names, ["client_id", "request_uri"]);
    browser
        .sign_in(&app, &provider, "/")
        .await
        .unwrap_or_else(|e| panic!("sign-in with a pushed request object: {e}"));
    let stats = provider.stats().await.expect("stats");
    // Two pushes: the look at the URL above, and the sign-in.
    assert_eq!(
        stats
            .client_auth
            .get("pushed_authorization_request client_secret_basic"),
        Some(&2)
    );

    // Plain parameters: the provider refuses the pushed request; no key, no `/auth/jwks`.
    let (_provider, app) = jar_setup(adapter, shape, "on", None).await;
    let browser = Browser::new();
    assert_eq!(
        browser.navigate(&app.url("/auth/login")).await.status(),
        502
    );
    assert_eq!(browser.fetch(&app.url("/auth/jwks")).await.status(), 404);
}

/// A public client (`none` with PKCE): PAR, the silent check and step-up.
pub async fn public_client_through_par_silent_check_and_step_up(adapter: Adapter, shape: Shape) {
    let slot = AppSlot::new();
    let options = OidcProviderOptions::new(shape).with_client(public_client(
        "rp",
        &slot.callback_url(),
        &slot.home_url(),
    ));
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let config = slot.public_config(provider.issuer());
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    assert_eq!(app.oidc.config().token_auth_method(), TokenAuthMethod::None);

    let browser = Browser::new();
    let response = browser.navigate(&app.url("/auth/login")).await;
    assert_eq!(
        query_names(&location(&response).expect("Location")),
        ["client_id", "request_uri"]
    );

    // Silent check with no provider session: back signed out.
    let callback = browser
        .start_sign_in(
            &app,
            &provider,
            "/auth/login?prompt=none&return_to=%2Fprofile",
        )
        .await
        .expect("silent check");
    let response = browser.navigate(callback.as_str()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 401);

    // Step-up: a weak session upgraded in place (signs in first).
    crate::step_up::upgrade(&app, &provider).await;
    let stats = provider.stats().await.expect("stats");
    assert!(
        stats.client_auth.keys().all(|key| key.ends_with(" none")),
        "{stats:?}"
    );
    assert!(
        stats
            .client_auth
            .get("pushed_authorization_request none")
            .is_some_and(|n| *n >= 2),
        "{stats:?}"
    );
}
