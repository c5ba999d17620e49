//! The app's own API protected by bearer tokens (RFC 6750, RFC 9068, RFC 9728), against
//! `oidc-provider` in both path shapes: the example's `/api/resource` and the protected
//! resource metadata, with tokens the provider issues for a resource indicator (client
//! credentials). Written once; `tests/tests/resource_server.rs` runs it for every adapter.

use std::time::Duration;

use ping_oidc::test_util::TestClock;
use ping_oidc::WorkerConfig;
use serde_json::{json, Value};

use crate::app::{Adapter, AppSlot, TestApp};
use crate::oidc_provider::{confidential_client, OidcProvider, OidcProviderOptions, Shape};

/// This app's resource identifier: with a path, so the metadata has a suffixed form too.
pub const RESOURCE: &str = "https://api.example.test/mcp";
/// Another API's: its tokens must not open this one.
const OTHER_RESOURCE: &str = "https://other.example.test/";
const WORKER: (&str, &str) = ("api-caller", "api-caller-secret");

struct Fixture {
    provider: OidcProvider,
    app: TestApp,
    clock: TestClock,
}

async fn fixture(adapter: Adapter, shape: Shape) -> Fixture {
    fixture_for(adapter, shape, false).await
}

/// With `opaque`, the provider issues opaque tokens for [`RESOURCE`] (checked by introspection).
async fn fixture_for(adapter: Adapter, shape: Shape, opaque: bool) -> Fixture {
    let slot = AppSlot::new();
    let options = OidcProviderOptions::new(shape)
        .with_client(confidential_client(
            "rp",
            "rp-secret",
            "client_secret_basic",
            &slot.callback_url(),
            &slot.home_url(),
        ))
        .with_client(json!({
            "client_id": WORKER.0,
            "client_secret": WORKER.1,
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "orders:read orders:write",
        }));
    let mut options = options;
    options.extra_env.push((
        "RESOURCES".into(),
        json!({ RESOURCE: "orders:read orders:write", OTHER_RESOURCE: "orders:read" }).to_string(),
    ));
    if opaque {
        options
            .extra_env
            .push(("OPAQUE_RESOURCES".into(), json!([RESOURCE]).to_string()));
    }
    let provider = OidcProvider::start(options)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let worker = |scope: &str, resource: &str| {
        WorkerConfig::new(WORKER.0, WORKER.1)
            .scopes([scope.to_string()])
            .resource(resource)
    };
    let config = slot
        .config(provider.issuer())
        .resource(RESOURCE)
        .resource_scopes(["orders:read", "orders:write"])
        .worker("orders", worker("orders:read", RESOURCE))
        .worker("reports", worker("orders:write", RESOURCE))
        .worker("other-api", worker("orders:read", OTHER_RESOURCE));
    let clock = TestClock::new();
    let app = slot
        .start_with_clock(adapter, config, None, &clock)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    Fixture {
        provider,
        app,
        clock,
    }
}

async fn token(app: &TestApp, worker: &str) -> String {
    app.oidc
        .worker(worker)
        .expect("registered")
        .token()
        .await
        .unwrap_or_else(|e| panic!("worker token {worker}: {e}"))
        .secret()
        .to_string()
}

struct Answer {
    status: u16,
    challenge: String,
    body: Value,
}

async fn call(app: &TestApp, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(app.url("/api/resource"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

fn metadata_url() -> &'static str {
    "https://api.example.test/.well-known/oauth-protected-resource/mcp"
}

/// Refused with `status` and an `error` in the challenge (or none), which always names the
/// realm and the metadata.
fn assert_refused(answer: &Answer, status: u16, error: Option<&str>, what: &str) {
    assert_eq!(answer.status, status, "{what}: {:?}", answer.body);
    assert!(
        answer
            .challenge
            .starts_with(&format!("Bearer realm=\"{RESOURCE}\"")),
        "{what}: {}",
        answer.challenge
    );
    assert!(
        answer
            .challenge
            .contains(&format!("resource_metadata=\"{}\"", metadata_url())),
        "{what}: {}",
        answer.challenge
    );
    match error {
        Some(error) => {
            assert!(
                answer.challenge.contains(&format!("error=\"{error}\"")),
                "{what}: {}",
                answer.challenge
            );
            assert_eq!(answer.body["error"], error, "{what}");
        }
        None => assert!(!answer.challenge.contains("error="), "{what}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `token` with its header replaced.
fn with_header(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        parts.next().unwrap_or_default()
    )
}

/// Accepted: a JWT access token for this resource with the scope; recognised again without
/// a key fetch; refused once expired (the test clock, no sleeping).
pub async fn accepts_tokens_for_this_resource(adapter: Adapter, shape: Shape) {
    let Fixture {
        provider,
        app,
        clock,
    } = fixture(adapter, shape).await;
    let token = token(&app, "orders").await;
    let bearer = format!("Bearer {token}");
    let answer = call(&app, Some(&bearer)).await;
    assert_eq!(answer.status, 200, "{:?} {}", answer.body, answer.challenge);
    assert_eq!(answer.body["sub"], WORKER.0);
    assert_eq!(answer.body["scope"], "orders:read");
    let fetches = provider.stats().await.expect("stats").jwks;
    for _ in 0..3 {
        assert_eq!(call(&app, Some(&bearer)).await.status, 200);
    }
    assert_eq!(provider.stats().await.expect("stats").jwks, fetches);

    clock.advance(Duration::from_secs(3600));
    let expired = call(&app, Some(&bearer)).await;
    assert_refused(&expired, 401, Some("invalid_token"), "expired");
    assert_eq!(
        expired.body["error_description"],
        "The access token expired."
    );
}

/// Refused, each with its challenge: no token, a malformed or oversized header, `alg: none`,
/// a changed signature, another resource's token, a missing scope.
pub async fn refuses_bad_tokens(adapter: Adapter, shape: Shape) {
    let Fixture {
        app,
        provider: _provider,
        ..
    } = fixture(adapter, shape).await;
    assert_refused(&call(&app, None).await, 401, None, "no token");
    assert_refused(
        &call(&app, Some("Basic YTpi")).await,
        401,
        None,
        "another scheme",
    );
    assert_refused(
        &call(&app, Some("Bearer two words")).await,
        400,
        Some("invalid_request"),
        "not a b64token",
    );
    let oversized = format!("Bearer {}", "a".repeat(9 * 1024));
    assert_refused(
        &call(&app, Some(&oversized)).await,
        400,
        Some("invalid_request"),
        "oversized",
    );

    let good = token(&app, "orders").await;
    let none = format!(
        "{}.",
        with_header(&good, &json!({"alg": "none", "typ": "at+jwt"}))
            .rsplit_once('.')
            .map(|(signed, _)| signed.to_string())
            .unwrap_or_default()
    );
    let answer = call(&app, Some(&format!("Bearer {none}"))).await;
    assert_refused(&answer, 401, Some("invalid_token"), "alg none");
    let description = answer.body["error_description"].as_str().unwrap_or("");
    assert!(!description.contains("none"), "says why: {description}");

    let mut changed = good.clone();
    let last = changed.pop().unwrap_or('A');
    changed.push(if last == 'A' { 'B' } else { 'A' });
    assert_refused(
        &call(&app, Some(&format!("Bearer {changed}"))).await,
        401,
        Some("invalid_token"),
        "changed signature",
    );

    let other = token(&app, "other-api").await;
    assert_refused(
        &call(&app, Some(&format!("Bearer {other}"))).await,
        401,
        Some("invalid_token"),
        "another resource's token",
    );

    let reports = token(&app, "reports").await;
    let answer = call(&app, Some(&format!("Bearer {reports}"))).await;
    assert_refused(&answer, 403, Some("insufficient_scope"), "missing scope");
    assert!(
        answer.challenge.contains("scope=\"orders:read\""),
        "{}",
        answer.challenge
    );
}

/// A flood of tokens naming unknown `kid`s makes at most one JWKS fetch (the default refetch
/// interval is 10 s), and a real token still passes meanwhile.
pub async fn forged_kids_do_not_flood_the_provider(adapter: Adapter, shape: Shape) {
    let Fixture { provider, app, .. } = fixture(adapter, shape).await;
    let good = token(&app, "orders").await;
    let before = provider.stats().await.expect("stats").jwks;
    let calls = (0..40).map(|i| {
        let forged = with_header(
            &good,
            &json!({"alg": "RS256", "kid": format!("forged-{i}")}),
        );
        let app = &app;
        async move { call(app, Some(&format!("Bearer {forged}"))).await }
    });
    for answer in futures_util::future::join_all(calls).await {
        assert_refused(&answer, 401, Some("invalid_token"), "forged kid");
    }
    let fetches = provider.stats().await.expect("stats").jwks - before;
    assert!(fetches <= 1, "{fetches} JWKS fetches for 40 forged kids");
    assert_eq!(
        call(&app, Some(&format!("Bearer {good}"))).await.status,
        200
    );
}

/// RFC 9728: the metadata at the bare and the path-suffixed well-known paths.
pub async fn serves_protected_resource_metadata(adapter: Adapter, shape: Shape) {
    let Fixture { provider, app, .. } = fixture(adapter, shape).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = reqwest::get(app.url(path)).await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        let metadata: Value = response.json().await.expect("json");
        assert_eq!(metadata["resource"], RESOURCE);
        assert_eq!(
            metadata["authorization_servers"],
            json!([provider.issuer()])
        );
        assert_eq!(
            metadata["scopes_supported"],
            json!(["orders:read", "orders:write"])
        );
        assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
        assert!(metadata["resource_signing_alg_values_supported"]
            .as_array()
            .is_some_and(|algs| algs.contains(&json!("RS256"))));
    }
}

/// Opaque tokens go through RFC 7662 introspection, once per token however often it is sent;
/// an inactive answer is final (and not asked again); a revoked token stops working once
/// the cached answer runs out.
pub async fn accepts_opaque_tokens_through_introspection(adapter: Adapter, shape: Shape) {
    let Fixture {
        provider,
        app,
        clock,
    } = fixture_for(adapter, shape, true).await;
    let opaque = token(&app, "orders").await;
    assert!(
        opaque.matches('.').count() != 2,
        "the provider issued a JWT: {opaque}"
    );
    let bearer = format!("Bearer {opaque}");
    let before = provider.stats().await.expect("stats").introspections;
    for _ in 0..3 {
        let answer = call(&app, Some(&bearer)).await;
        assert_eq!(answer.status, 200, "{:?} {}", answer.body, answer.challenge);
        // oidc-provider's introspection of a client-credentials token has no `sub`.
        assert_eq!(answer.body["sub"], Value::Null);
        assert_eq!(answer.body["scope"], "orders:read");
    }
    let after = provider.stats().await.expect("stats").introspections;
    assert_eq!(after - before, 1, "one introspection for three calls");

    let reports = token(&app, "reports").await;
    let answer = call(&app, Some(&format!("Bearer {reports}"))).await;
    assert_refused(
        &answer,
        403,
        Some("insufficient_scope"),
        "opaque, missing scope",
    );

    let unknown = "Bearer not-a-token-the-provider-issued";
    for _ in 0..2 {
        assert_refused(
            &call(&app, Some(unknown)).await,
            401,
            Some("invalid_token"),
            "inactive",
        );
    }
    let later = provider.stats().await.expect("stats").introspections;
    assert_eq!(
        later - after,
        2,
        "one for the scope check, one for the inactive token"
    );

    provider
        .revoke(&opaque, WORKER.0, Some(WORKER.1))
        .await
        .unwrap_or_else(|e| panic!("revoke: {e}"));
    clock.advance(Duration::from_secs(61));
    assert_refused(
        &call(&app, Some(&bearer)).await,
        401,
        Some("invalid_token"),
        "revoked",
    );
}
