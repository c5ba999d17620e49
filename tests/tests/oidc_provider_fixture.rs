//! The oidc-provider interop fixture itself: discovery in both shapes, and a browser-less
//! sign-in / refresh / logout round trip through the harness only (no ping-oidc code).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ping_oidc_tests::oidc_provider::{
    browser, confidential_client, public_client, OidcProvider, OidcProviderOptions, Shape,
    DEFAULT_ENV_ID,
};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:3000/auth/callback";
const POST_LOGOUT: &str = "http://127.0.0.1:3000/";

async fn check_discovery(op: &OidcProvider, expected_issuer: &str) {
    assert_eq!(op.issuer(), expected_issuer);
    let doc = op.discovery().await.expect("discovery");
    assert_eq!(doc["issuer"], expected_issuer, "{doc}");
    for (key, path) in op.shape().endpoint_paths() {
        assert_eq!(
            doc[*key].as_str(),
            Some(format!("{expected_issuer}{path}").as_str()),
            "{key} in {doc}"
        );
        assert_eq!(op.endpoint_url(key).as_deref(), doc[*key].as_str());
    }
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    let scopes: Vec<&str> = doc["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for scope in [
        "openid",
        "profile",
        "email",
        "offline_access",
        "orders:read",
        "orders:write",
    ] {
        assert!(scopes.contains(&scope), "{scope} missing from {scopes:?}");
    }
    for grant in ["authorization_code", "refresh_token"] {
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == grant),
            "{grant} missing from {doc}"
        );
    }

    let jwks: Value = reqwest::get(doc["jwks_uri"].as_str().unwrap())
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    assert_eq!(jwks["keys"][0]["kty"], "RSA", "{jwks}");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "private key leaked: {jwks}"
    );
}

#[tokio::test]
async fn pingone_shape_discovery() {
    let op = OidcProvider::start(OidcProviderOptions::new(Shape::PingOne))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = format!("http://127.0.0.1:{}/{DEFAULT_ENV_ID}/as", op.port());
    check_discovery(&op, &expected).await;

    // a custom environment id moves the issuer
    let mut opts = OidcProviderOptions::pingone();
    opts.env_id = Some("abcdef00-0000-4000-8000-000000000001".to_owned());
    let op = OidcProvider::start(opts)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = format!(
        "http://127.0.0.1:{}/abcdef00-0000-4000-8000-000000000001/as",
        op.port()
    );
    check_discovery(&op, &expected).await;
}

#[tokio::test]
async fn pingfederate_shape_discovery() {
    let op = OidcProvider::start(OidcProviderOptions::new(Shape::PingFederate))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = format!("http://127.0.0.1:{}", op.port());
    assert_eq!(op.base_url(), expected);
    check_discovery(&op, &expected).await;
}

#[tokio::test]
async fn bad_configuration_reports_stderr() {
    let mut opts = OidcProviderOptions::pingone();
    opts.clients.push(serde_json::json!({
        "client_id": "broken",
        "client_secret": "x",
        "redirect_uris": "not-a-list",
    }));
    let err = OidcProvider::start(opts).await.expect_err("must not start");
    assert!(err.contains("--- stderr ---"), "{err}");
    assert!(err.contains("redirect_uris must be an array"), "{err}");
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    Pkce {
        challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        verifier,
    }
}

fn authorize_url(
    authorize: &str,
    client_id: &str,
    scope: &str,
    state: &str,
    pkce: &Pkce,
) -> String {
    let mut url = url::Url::parse(authorize).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// How a test client authenticates at the token endpoint.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    None(&'a str),
}

async fn token_request(op: &OidcProvider, auth: Auth<'_>, form: &[(&str, &str)]) -> (u16, Value) {
    let url = op.discovered_endpoint("token_endpoint").await.unwrap();
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut request = reqwest::Client::new().post(&url);
    match auth {
        Auth::Basic(id, secret) => request = request.basic_auth(id, Some(secret)),
        Auth::Post(id, secret) => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        Auth::None(id) => fields.push(("client_id", id)),
    }
    let response = request.form(&fields).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn sign_in(
    op: &OidcProvider,
    browser: &reqwest::Client,
    auth: Auth<'_>,
    client_id: &str,
    scope: &str,
) -> Value {
    let pkce = pkce();
    let authorize = op
        .discovered_endpoint("authorization_endpoint")
        .await
        .unwrap();
    let start = authorize_url(&authorize, client_id, scope, "st-1", &pkce);
    let callback = op
        .follow_to_client(browser, &start)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", op.stderr_log()));
    assert!(callback.as_str().starts_with(REDIRECT), "{callback}");
    assert_eq!(query(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(query(&callback, "iss").as_deref(), Some(op.issuer()));
    let code = query(&callback, "code").expect("code");

    let (status, tokens) = token_request(
        op,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    for field in ["access_token", "id_token", "refresh_token"] {
        assert!(tokens[field].is_string(), "{field} missing: {tokens}");
    }
    tokens
}

async fn round_trip(shape: Shape) {
    let basic = confidential_client(
        "rp",
        "rp-secret",
        "client_secret_basic",
        REDIRECT,
        POST_LOGOUT,
    );
    let post = confidential_client(
        "rp-post",
        "post-secret",
        "client_secret_post",
        REDIRECT,
        POST_LOGOUT,
    );
    let public = public_client("spa", REDIRECT, POST_LOGOUT);
    let op = OidcProvider::start(
        OidcProviderOptions::new(shape)
            .with_client(basic)
            .with_client(post)
            .with_client(public),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let browser = browser();
    let basic = Auth::Basic("rp", "rp-secret");
    let tokens = sign_in(&op, &browser, basic, "rp", "openid profile email").await;
    assert_eq!(op.sessions().await.unwrap().accounts.get("alice"), Some(&1));

    // userinfo
    let userinfo: Value = reqwest::Client::new()
        .get(op.discovered_endpoint("userinfo_endpoint").await.unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "alice");
    assert_eq!(userinfo["name"], "Alice Example");
    assert_eq!(userinfo["email"], "alice@example.test");

    // refresh rotates; the old one is refused and the reuse kills the grant
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = token_request(
        &op,
        basic,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let rt2 = refreshed["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_owned();
    assert_ne!(rt1, rt2);
    assert_eq!(
        op.refresh_tokens().await.unwrap(),
        vec![rt1.clone(), rt2.clone()]
    );
    let active = op.introspect(&rt2, "rp", Some("rp-secret")).await.unwrap();
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], "rp");
    let (status, reuse) = token_request(
        &op,
        basic,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant")),
        "{reuse}"
    );
    let revoked = op.introspect(&rt2, "rp", Some("rp-secret")).await.unwrap();
    assert_eq!(revoked["active"], false, "{revoked}");

    // another sign-in in the same browser: no new login, more scopes granted on the fly
    let more = sign_in(
        &op,
        &browser,
        basic,
        "rp",
        "openid orders:read orders:write",
    )
    .await;
    assert_eq!(more["scope"], "openid orders:read orders:write", "{more}");
    let rt = more["refresh_token"].as_str().unwrap().to_owned();
    op.revoke(&rt, "rp", Some("rp-secret")).await.unwrap();
    assert_eq!(
        op.introspect(&rt, "rp", Some("rp-secret")).await.unwrap()["active"],
        false
    );

    // client_secret_post and public clients
    sign_in(
        &op,
        &browser,
        Auth::Post("rp-post", "post-secret"),
        "rp-post",
        "openid",
    )
    .await;
    sign_in(&op, &browser, Auth::None("spa"), "spa", "openid email").await;
    assert_eq!(op.sessions().await.unwrap().accounts.get("alice"), Some(&1));

    let stats = op.stats().await.unwrap();
    assert_eq!(stats.token.authorization_code, 4, "{stats:?}");
    assert_eq!(stats.token.refresh_token, 2, "{stats:?}");
    assert_eq!(stats.token.other, 0, "{stats:?}");
    assert_eq!(stats.token_errors, 1, "{stats:?}");
    assert_eq!(stats.revocations, 1, "{stats:?}");
    assert_eq!(stats.userinfo, 1, "{stats:?}");
    assert_eq!(stats.end_sessions, 0, "{stats:?}");

    // logout: a plain GET chain ends at post_logout_redirect_uri?state=..
    op.reset_stats().await.unwrap();
    let mut logout = url::Url::parse(
        &op.discovered_endpoint("end_session_endpoint")
            .await
            .unwrap(),
    )
    .unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", POST_LOGOUT)
        .append_pair("state", "bye-1");
    let back = op
        .follow_to_client(&browser, logout.as_str())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", op.stderr_log()));
    assert!(back.as_str().starts_with(POST_LOGOUT), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("bye-1"));
    let sessions = op.sessions().await.unwrap();
    assert!(!sessions.has("alice"), "{sessions:?}");
    let stats = op.stats().await.unwrap();
    assert_eq!(stats.end_sessions, 1, "{stats:?}");
    assert_eq!(stats.token.authorization_code, 0, "{stats:?}");

    // signed out: the next authorization goes through the (automatic) login again
    sign_in(&op, &browser, basic, "rp", "openid").await;
    assert!(op.sessions().await.unwrap().has("alice"));
}

#[tokio::test]
async fn pingone_shape_round_trip() {
    round_trip(Shape::PingOne).await;
}

#[tokio::test]
async fn pingfederate_shape_round_trip() {
    round_trip(Shape::PingFederate).await;
}
