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
    fixture_with(adapter, shape, Setup::default()).await
}

#[derive(Default)]
struct Setup {
    /// The provider issues opaque tokens for [`RESOURCE`] (checked by introspection).
    opaque: bool,
    /// The app requires its own nonce in DPoP proofs.
    dpop_nonces: bool,
    /// More of the provider's environment (`TOKEN_ACR`, `TOKEN_AUTH_AGE`).
    provider_env: Vec<(&'static str, String)>,
}

async fn fixture_with(adapter: Adapter, shape: Shape, setup: Setup) -> Fixture {
    let Setup {
        opaque,
        dpop_nonces,
        provider_env,
    } = setup;
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
    for (name, value) in provider_env {
        options.extra_env.push((name.into(), value));
    }
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
        .worker("other-api", worker("orders:read", OTHER_RESOURCE))
        .dpop_nonces(dpop_nonces);
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
    call_path(app, "/api/resource", authorization).await
}

async fn call_path(app: &TestApp, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(app.url(path));
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
    } = fixture_with(
        adapter,
        shape,
        Setup {
            opaque: true,
            ..Setup::default()
        },
    )
    .await;
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

/// A DPoP key (ES256), as a client holds one, and the proofs it signs (RFC 9449 §4.2).
struct DpopKey {
    pair: ring::signature::EcdsaKeyPair,
}

impl DpopKey {
    fn new() -> Self {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        Self { pair }
    }

    fn jwk(&self) -> Value {
        use ring::signature::KeyPair;
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])})
    }

    /// A proof for `method` and `url`; with `token`, its `ath`; with `nonce`, that nonce.
    fn proof(&self, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut claims = json!({
            "jti": random_id(),
            "htm": method,
            "htu": url,
            "iat": now,
        });
        if let Some(token) = token {
            claims["ath"] = json!(b64(ring::digest::digest(
                &ring::digest::SHA256,
                token.as_bytes()
            )
            .as_ref()));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64(signature.as_ref()))
    }
}

fn random_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("random");
    b64(&bytes)
}

/// A DPoP-bound token from the provider's token endpoint: client credentials for [`RESOURCE`]
/// with a proof by `key`.
async fn dpop_token(provider: &OidcProvider, key: &DpopKey, scope: &str) -> String {
    let endpoint = provider
        .endpoint("token_endpoint")
        .await
        .unwrap_or_else(|e| panic!("token endpoint: {e}"));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .basic_auth(WORKER.0, Some(WORKER.1))
        .header("dpop", key.proof("POST", &endpoint, None, None))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", RESOURCE),
        ])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("token response");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {body}"))
        .to_string()
}

struct DpopAnswer {
    answer: Answer,
    nonce: Option<String>,
}

async fn call_dpop(
    app: &TestApp,
    method: &str,
    authorization: &str,
    proof: Option<&str>,
) -> DpopAnswer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = reqwest::Client::new()
        .request(method, app.url("/api/resource"))
        .header("authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let challenge = header("www-authenticate").unwrap_or_default();
    let nonce = header("dpop-nonce");
    let body = response.json().await.unwrap_or(Value::Null);
    DpopAnswer {
        answer: Answer {
            status,
            challenge,
            body,
        },
        nonce,
    }
}

/// A DPoP refusal: `WWW-Authenticate: DPoP` with the error, the algorithms and the metadata.
fn assert_dpop_refused(answer: &Answer, error: &str, what: &str) {
    assert_eq!(answer.status, 401, "{what}: {:?}", answer.body);
    let challenge = &answer.challenge;
    assert!(
        challenge.starts_with(&format!("DPoP realm=\"{RESOURCE}\"")),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains("algs=\"") && challenge.contains("ES256"),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}\"", metadata_url())),
        "{what}: {challenge}"
    );
    assert_eq!(answer.body["error"], error, "{what}");
}

/// RFC 9449: a DPoP-bound token (JWT with `cnf.jkt`, or opaque with `opaque`) is accepted with
/// a fresh proof by its key, for this method and URL, each proof once; refused as a plain
/// Bearer token, with another key's proof, without a proof, or with a proof for another
/// method or URL. A token not bound to a key is refused under the DPoP scheme.
pub async fn accepts_dpop_bound_tokens(adapter: Adapter, shape: Shape, opaque: bool) {
    let Fixture {
        provider,
        app,
        clock: _clock,
    } = fixture_with(
        adapter,
        shape,
        Setup {
            opaque,
            ..Setup::default()
        },
    )
    .await;
    let key = DpopKey::new();
    let token = dpop_token(&provider, &key, "orders:read").await;
    assert_eq!(
        token.matches('.').count() != 2,
        opaque,
        "token format: {token}"
    );
    let url = app.url("/api/resource");
    let authorization = format!("DPoP {token}");
    let proof = key.proof("GET", &url, Some(&token), None);

    let first = call_dpop(&app, "GET", &authorization, Some(&proof))
        .await
        .answer;
    assert_eq!(first.status, 200, "{:?} {}", first.body, first.challenge);
    assert_eq!(first.body["scope"], "orders:read");
    // A second proof: the token is known now, the proof still checked.
    let again = key.proof("GET", &url, Some(&token), None);
    assert_eq!(
        call_dpop(&app, "GET", &authorization, Some(&again))
            .await
            .answer
            .status,
        200
    );

    let replayed = call_dpop(&app, "GET", &authorization, Some(&proof))
        .await
        .answer;
    assert_dpop_refused(&replayed, "invalid_dpop_proof", "replayed proof");

    let post = key.proof("POST", &url, Some(&token), None);
    let answer = call_dpop(&app, "GET", &authorization, Some(&post))
        .await
        .answer;
    assert_dpop_refused(&answer, "invalid_dpop_proof", "proof for another method");

    let elsewhere = key.proof("GET", &app.url("/api/orders"), Some(&token), None);
    let answer = call_dpop(&app, "GET", &authorization, Some(&elsewhere))
        .await
        .answer;
    assert_dpop_refused(&answer, "invalid_dpop_proof", "proof for another URL");

    let other_key = DpopKey::new().proof("GET", &url, Some(&token), None);
    let answer = call_dpop(&app, "GET", &authorization, Some(&other_key))
        .await
        .answer;
    assert_dpop_refused(&answer, "invalid_dpop_proof", "another key's proof");

    let no_ath = key.proof("GET", &url, None, None);
    let answer = call_dpop(&app, "GET", &authorization, Some(&no_ath))
        .await
        .answer;
    assert_dpop_refused(&answer, "invalid_dpop_proof", "proof without ath");

    let answer = call_dpop(&app, "GET", &authorization, None).await.answer;
    assert_dpop_refused(&answer, "invalid_dpop_proof", "no proof");

    // Two proofs, each good alone: refused (RFC 9449 §4.3 step 1).
    let one = key.proof("GET", &url, Some(&token), None);
    let two = key.proof("GET", &url, Some(&token), None);
    let response = reqwest::Client::new()
        .get(&url)
        .header("authorization", &authorization)
        .header("dpop", one)
        .header("dpop", two)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401, "two DPoP headers");

    let as_bearer = call(&app, Some(&format!("Bearer {token}"))).await;
    assert_refused(
        &as_bearer,
        401,
        Some("invalid_token"),
        "DPoP-bound token as Bearer",
    );

    let unbound = self::token(&app, "orders").await;
    let proof = key.proof("GET", &url, Some(&unbound), None);
    let answer = call_dpop(&app, "GET", &format!("DPoP {unbound}"), Some(&proof))
        .await
        .answer;
    assert_dpop_refused(&answer, "invalid_token", "unbound token as DPoP");

    // The answer without a token offers both schemes.
    let response = reqwest::get(&url).await.expect("request");
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer ") && challenges[1].starts_with("DPoP "));
}

/// RFC 9449 §9: with nonces on, a proof without the app's nonce gets `use_dpop_nonce` and a
/// `DPoP-Nonce`; the retry with it passes.
pub async fn dpop_nonces(adapter: Adapter, shape: Shape) {
    let Fixture {
        provider,
        app,
        clock: _clock,
    } = fixture_with(
        adapter,
        shape,
        Setup {
            dpop_nonces: true,
            ..Setup::default()
        },
    )
    .await;
    let key = DpopKey::new();
    let token = dpop_token(&provider, &key, "orders:read").await;
    let url = app.url("/api/resource");
    let authorization = format!("DPoP {token}");
    let first = call_dpop(
        &app,
        "GET",
        &authorization,
        Some(&key.proof("GET", &url, Some(&token), None)),
    )
    .await;
    assert_dpop_refused(&first.answer, "use_dpop_nonce", "no nonce");
    let nonce = first.nonce.expect("a DPoP-Nonce header");
    let forged = key.proof("GET", &url, Some(&token), Some("0.forged"));
    let answer = call_dpop(&app, "GET", &authorization, Some(&forged)).await;
    assert_dpop_refused(&answer.answer, "use_dpop_nonce", "forged nonce");
    let retry = key.proof("GET", &url, Some(&token), Some(&nonce));
    let answer = call_dpop(&app, "GET", &authorization, Some(&retry))
        .await
        .answer;
    assert_eq!(answer.status, 200, "{:?} {}", answer.body, answer.challenge);
}

/// `/api/caller` takes both kinds of caller: the session cookie or a bearer token, never
/// one falling back to the other. A cross-site write with the cookie is refused (403); the
/// same write from this site, or with a token, passes. With neither, a fetch gets the bearer
/// challenge and a page goes to sign-in.
pub async fn serves_session_and_token_callers(adapter: Adapter, shape: Shape) {
    let Fixture {
        provider,
        app,
        clock: _clock,
    } = fixture(adapter, shape).await;
    let url = app.url("/api/caller");
    let browser = crate::browser::Browser::new();
    browser
        .sign_in(&app, &provider, "/profile")
        .await
        .unwrap_or_else(|e| panic!("sign-in: {e}"));

    let by_cookie = browser.fetch(&url).await;
    assert_eq!(by_cookie.status(), 200);
    let body: Value = by_cookie.json().await.expect("json");
    assert_eq!(body["via"], "session", "{body}");

    let write = |site: &'static str| {
        browser
            .client
            .post(&url)
            .header("accept", "application/json")
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-site", site)
            .send()
    };
    let cross_site = write("cross-site").await.expect("request");
    assert_eq!(cross_site.status(), 403);
    let body: Value = cross_site.json().await.expect("json");
    assert_eq!(body["error"], "cross_site_request");
    assert_eq!(write("same-origin").await.expect("request").status(), 200);

    // A token wins over the cookie, and is checked as strictly as on a bearer-only route.
    let token = token(&app, "orders").await;
    let with_token = browser
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(with_token.status(), 200);
    let body: Value = with_token.json().await.expect("json");
    assert_eq!(body["via"], "token", "{body}");
    assert_eq!(body["sub"], WORKER.0);
    let other = self::token(&app, "other-api").await;
    let refused = browser
        .client
        .get(&url)
        .bearer_auth(&other)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 401, "no fallback to the cookie");

    // An API client with neither cookie nor token: the challenge, for a write too.
    let no_token = reqwest::Client::new()
        .post(&url)
        .send()
        .await
        .expect("request");
    assert_eq!(no_token.status(), 401);
    assert!(no_token.headers().contains_key("www-authenticate"));

    let signed_out = crate::browser::Browser::new();
    let fetch = signed_out.fetch(&url).await;
    assert_eq!(fetch.status(), 401);
    let challenge = fetch
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{RESOURCE}\"")),
        "{challenge}"
    );
    let page = signed_out.navigate(&url).await;
    assert_eq!(page.status(), 302, "a page goes to sign-in");
}

/// RFC 9470 on `/api/resource/step-up` (acr `Multi_Factor`, at most 300 s old): a token
/// without `acr`, with a weaker one, or with an old `auth_time` gets `401
/// insufficient_user_authentication` naming what is needed; a strong, recent one passes.
pub async fn step_up_challenges(adapter: Adapter, shape: Shape) {
    let cases: [(Option<&str>, u64, u16); 4] = [
        (None, 0, 401),
        (Some("Single_Factor"), 0, 401),
        (Some("Multi_Factor"), 400, 401),
        (Some("Multi_Factor"), 10, 200),
    ];
    for (acr, age, status) in cases {
        let mut provider_env = vec![("TOKEN_AUTH_AGE", age.to_string())];
        if let Some(acr) = acr {
            provider_env.push(("TOKEN_ACR", acr.to_string()));
        }
        let Fixture {
            provider: _provider,
            app,
            ..
        } = fixture_with(
            adapter,
            shape,
            Setup {
                provider_env,
                ..Setup::default()
            },
        )
        .await;
        let token = token(&app, "orders").await;
        let bearer = format!("Bearer {token}");
        let answer = call_path(&app, "/api/resource/step-up", Some(&bearer)).await;
        let what = format!("acr {acr:?}, {age} s old");
        if status == 200 {
            assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
            continue;
        }
        assert_refused(
            &answer,
            401,
            Some("insufficient_user_authentication"),
            &what,
        );
        assert!(
            answer.challenge.contains("acr_values=\"Multi_Factor\"")
                && answer.challenge.contains("max_age=\"300\""),
            "{what}: {}",
            answer.challenge
        );
        // The same token still opens the route that asks for no step-up.
        assert_eq!(call(&app, Some(&bearer)).await.status, 200, "{what}");
    }
}

/// Tokens signed with the provider's own key whose claims are wrong: another `iss`, an `nbf`
/// ahead, expired, an `iat` ahead; and the same claims made right pass, so only the claim
/// refuses.
pub async fn refuses_wrong_claims_under_the_providers_key(adapter: Adapter, shape: Shape) {
    let Fixture {
        provider,
        app,
        clock: _clock,
    } = fixture(adapter, shape).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let good = json!({
        "iss": provider.issuer(),
        "aud": RESOURCE,
        "sub": "alice",
        "client_id": "rp",
        "scope": "orders:read",
        "iat": now,
        "exp": now + 300,
    });
    let signed = provider.sign(&good).await.expect("sign");
    let answer = call(&app, Some(&format!("Bearer {signed}"))).await;
    assert_eq!(answer.status, 200, "{:?} {}", answer.body, answer.challenge);
    assert_eq!(answer.body["sub"], "alice");

    let cases = [
        ("iss", json!("https://another-issuer.example.test")),
        ("nbf", json!(now + 600)),
        ("exp", json!(now - 600)),
        ("iat", json!(now + 600)),
    ];
    for (claim, value) in cases {
        let mut claims = good.clone();
        claims[claim] = value;
        let signed = provider.sign(&claims).await.expect("sign");
        let answer = call(&app, Some(&format!("Bearer {signed}"))).await;
        assert_refused(&answer, 401, Some("invalid_token"), claim);
    }
}
