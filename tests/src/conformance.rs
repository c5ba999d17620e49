//! Negative conformance cases, modelled on the OpenID Foundation relying-party certification
//! plans (Basic RP, Config RP, refresh token, back-channel logout), run against the dev provider
//! set to misbehave on purpose. Written once; `tests/tests/conformance.rs` runs every case for
//! every adapter.
//!
//! Every rejection checks three things: nothing is created or changed (`/auth/user` stays 401
//! after a refused sign-in and the store stays empty; an existing session stays usable after a
//! refused logout token), the user gets a clear page or JSON with the deliberate status (never
//! a 500), and a log event names the reason without any token in it.
//!
//! The log checks read this process's `tracing` output (see [`crate::log_capture`]); each case
//! holds the capture's turn for its whole run, so the cases of this suite run one at a time.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ping_oidc::store::SessionStore;
use ping_oidc::test_util::TestClock;
use ping_oidc::ConfigBuilder;
use ping_oidc_dev_provider::{
    ClientRegistration, DevProvider, LogoutTarget, LogoutTokenKind, Misbehavior, SigningAlg,
    OTHER_AUDIENCE, WRONG_ISSUER,
};
use reqwest::Response;
use serde_json::Value;

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, set_cookies, Browser};
use crate::log_capture::LogCapture;
use crate::store_suite::FlakyStore;

/// How a case sets up the provider and the app.
#[derive(Default)]
pub struct Options {
    /// The provider's signing algorithm (RS256 when unset).
    pub signing_alg: Option<SigningAlg>,
    /// The provider's access-token lifetime (one hour when unset).
    pub access_token_ttl: Option<Duration>,
    /// An extra audience the app trusts.
    pub trusted_audience: Option<&'static str>,
    pub http_timeout: Option<Duration>,
    pub max_response_bytes: Option<usize>,
    pub jwks_refetch_interval: Option<Duration>,
    /// The refresh lease's TTL (10 s when unset).
    pub refresh_lease: Option<Duration>,
    /// Rotate the provider's RSA key before the app starts, so the JWKS the app reads at
    /// start has two RSA keys and tokens are signed with the second.
    pub rotate_rsa_key_before_start: bool,
}

/// The relying party under test (an example app on one adapter), its misbehaving provider,
/// a browser, the app's session store (a memory store that fails on cue), and this case's
/// log capture.
pub struct Rp {
    pub provider: DevProvider,
    pub app: TestApp,
    pub browser: Browser,
    pub store: Arc<FlakyStore>,
    /// The app's clock: cases move it forward instead of sleeping until tokens expire.
    pub clock: TestClock,
    /// Last, so that it is dropped last: the case keeps its turn until everything stopped.
    pub logs: LogCapture,
}

/// A dev provider with the client `rp` registered for this slot's app.
async fn start_provider(slot: &AppSlot, options: &Options) -> DevProvider {
    let client = ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
        .post_logout_redirect_uri(slot.home_url())
        .backchannel_logout_uri(slot.backchannel_url());
    let mut builder = DevProvider::builder().client(client);
    if let Some(alg) = options.signing_alg {
        builder = builder.signing_alg(alg);
    }
    if let Some(ttl) = options.access_token_ttl {
        builder = builder.access_token_ttl(ttl);
    }
    builder.start().await.expect("dev provider")
}

fn configure(mut config: ConfigBuilder, options: &Options) -> ConfigBuilder {
    if let Some(audience) = options.trusted_audience {
        config = config.trusted_audiences([audience]);
    }
    if let Some(timeout) = options.http_timeout {
        config = config.http_timeout(timeout);
    }
    if let Some(bytes) = options.max_response_bytes {
        config = config.max_response_bytes(bytes);
    }
    if let Some(interval) = options.jwks_refetch_interval {
        config = config.jwks_refetch_interval(interval);
    }
    if let Some(lease) = options.refresh_lease {
        config = config.refresh_lease(lease);
    }
    config
}

impl Rp {
    pub async fn start(adapter: Adapter, options: Options) -> Self {
        let logs = LogCapture::begin().await;
        let slot = AppSlot::new();
        let provider = start_provider(&slot, &options).await;
        if options.rotate_rsa_key_before_start {
            provider
                .rotate_keys(SigningAlg::RS256)
                .expect("rotating the RSA key");
        }
        let store = Arc::new(FlakyStore::default());
        let config = configure(slot.config(&provider.issuer()), &options);
        let shared: Arc<dyn SessionStore> = store.clone();
        let clock = TestClock::new();
        let app = slot
            .start_with_clock(adapter, config, Some(shared), &clock)
            .await
            .unwrap_or_else(|e| panic!("app: {e}"));
        Self {
            provider,
            app,
            browser: Browser::new(),
            store,
            clock,
            logs,
        }
    }

    /// Starts sign-in in `browser` and returns the provider's redirect back (not yet visited).
    pub async fn callback_for(&self, browser: &Browser) -> url::Url {
        browser
            .start_sign_in(&self.app, &self.provider, "/auth/login")
            .await
            .expect("authorization request")
    }

    pub async fn callback(&self) -> url::Url {
        self.callback_for(&self.browser).await
    }

    /// A whole, successful sign-in in `browser`.
    pub async fn sign_in_with(&self, browser: &Browser) {
        let landed = browser
            .sign_in(&self.app, &self.provider, "/profile")
            .await
            .expect("sign-in");
        assert_eq!(landed, "/profile");
    }

    pub async fn sign_in(&self) {
        self.sign_in_with(&self.browser).await;
    }

    pub async fn user_of(&self, browser: &Browser) -> (u16, Value) {
        let response = browser.fetch(&self.app.url("/auth/user")).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn user(&self) -> (u16, Value) {
        self.user_of(&self.browser).await
    }

    /// The session's access token, from `/auth/token`.
    pub async fn access_token(&self) -> String {
        let response = self
            .browser
            .client
            .get(self.app.url("/auth/token"))
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

    /// POSTs a logout token to the app's back-channel endpoint, as a provider does.
    pub async fn post_logout_token(&self, token: &str) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", token)
            .finish();
        reqwest::Client::new()
            .post(self.app.url("/auth/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("back-channel logout")
    }

    fn code_grants(&self) -> u64 {
        self.provider.stats().authorization_code_grants
    }

    /// Values that may appear in logs although they are long: the provider's issuer.
    fn allowed_in_logs(&self) -> Vec<String> {
        vec![self.provider.issuer(), WRONG_ISSUER.to_string()]
    }

    fn assert_no_secrets_logged(&self, secrets: &[&str]) {
        let allowed = self.allowed_in_logs();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        self.logs.assert_no_secrets(secrets, &allowed);
    }

    /// A refused callback: the deliberate status and page, no session anywhere, and a log line
    /// with the reason and no secret.
    pub async fn assert_sign_in_refused(
        &self,
        response: Response,
        status: u16,
        reason: &str,
        secrets: &[&str],
    ) {
        let got = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let cookies = set_cookies(&response);
        let body = response.text().await.unwrap_or_default();
        assert_eq!(
            got, status,
            "expected {status} ({reason}), got {got}: {body}"
        );
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(body.contains("Sign-in failed"), "{body}");
        if status == 503 {
            assert_eq!(retry_after.as_deref(), Some("5"), "503 needs Retry-After");
        }
        assert!(
            cookies
                .iter()
                .all(|c| !c.starts_with("ping_oidc=") || c.contains("Max-Age=0")),
            "a session cookie was set on a refusal: {cookies:?}"
        );
        assert_eq!(self.user().await.0, 401, "signed in after a refusal");
        assert!(self.store.is_empty(), "a session was stored on a refusal");
        let line = self
            .logs
            .expect_line(&["sign-in rejected", &format!("status={status}"), reason])
            .await;
        assert!(line.contains("WARN"), "{line}");
        self.assert_no_secrets_logged(secrets);
    }
}

fn query_value(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `url` with the parameter `name` replaced by `value` (`None` removes it).
fn with_param(url: &url::Url, name: &str, value: Option<&str>) -> url::Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == name {
                value.map(|value| (k.into_owned(), value.to_string()))
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

// ---------------------------------------------------------------------------------------------
// Basic RP: the ID token and the authorization response.
// ---------------------------------------------------------------------------------------------

/// The provider misbehaves in one way; the sign-in is refused with `status` and `reason`.
pub async fn sign_in_refused(
    adapter: Adapter,
    options: Options,
    misbehavior: Misbehavior,
    status: u16,
    reason: &str,
) {
    let rp = Rp::start(adapter, options).await;
    rp.provider.set_misbehavior(misbehavior);
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let response = rp.browser.navigate(callback.as_str()).await;
    rp.assert_sign_in_refused(response, status, reason, &[&code])
        .await;
    rp.provider.set_misbehavior(Misbehavior::None);
}

/// An ID token the engine must refuse: the code is exchanged, the token fails a check, 502.
async fn id_token_refused(
    adapter: Adapter,
    options: Options,
    misbehavior: Misbehavior,
    check: &str,
) {
    let reason = format!("ID token rejected: {check}");
    sign_in_refused(adapter, options, misbehavior, 502, &reason).await;
}

pub async fn id_token_corrupt_signature(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::CorruptIdTokenSignature,
        "the token's signature does not verify with the provider's keys",
    )
    .await;
}

pub async fn id_token_alg_none(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenAlgNone,
        "the token's alg `none` is not accepted",
    )
    .await;
}

pub async fn id_token_wrong_issuer(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenWrongIssuer,
        "claim `iss` has the wrong value",
    )
    .await;
}

pub async fn id_token_wrong_audience(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenWrongAudience,
        "claim `aud` has the wrong value",
    )
    .await;
}

pub async fn id_token_no_audience(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenNoAudience,
        "claim `aud` is missing",
    )
    .await;
}

/// `aud: [rp, other]` with `azp: other`, and `other` not trusted: refused at the audience.
pub async fn id_token_untrusted_extra_audience(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenExtraAudienceWrongAzp,
        "claim `aud` has the wrong value",
    )
    .await;
}

/// `aud: [rp, other]` with `azp: other`, and `other` trusted: the audience passes, the `azp`
/// (which must be this client when there are several audiences) does not.
pub async fn id_token_several_audiences_wrong_azp(adapter: Adapter) {
    let options = Options {
        trusted_audience: Some(OTHER_AUDIENCE),
        ..Options::default()
    };
    id_token_refused(
        adapter,
        options,
        Misbehavior::IdTokenExtraAudienceWrongAzp,
        "claim `azp` has the wrong value",
    )
    .await;
}

pub async fn id_token_missing_iat(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenMissingIat,
        "claim `iat` is missing",
    )
    .await;
}

pub async fn id_token_expired(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenExpired,
        "the token has expired",
    )
    .await;
}

pub async fn id_token_missing_sub(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenMissingSub,
        "claim `sub` is missing",
    )
    .await;
}

pub async fn id_token_wrong_nonce(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenWrongNonce,
        "claim `nonce` has the wrong value",
    )
    .await;
}

pub async fn id_token_missing_nonce(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenMissingNonce,
        "claim `nonce` is missing",
    )
    .await;
}

pub async fn id_token_wrong_at_hash(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenWrongAtHash,
        "claim `at_hash` has the wrong value",
    )
    .await;
}

/// `nbf` ten minutes ahead: not valid yet.
pub async fn id_token_not_yet_valid(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenNotYetValid,
        "claim `nbf` has the wrong value",
    )
    .await;
}

/// A header naming a critical extension (RFC 7515 §4.1.11): no extension is understood, so
/// the token is refused however well it is signed.
pub async fn id_token_crit_header(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenCritHeader,
        "the token is not a well-formed JWS: `crit` header parameters are not supported",
    )
    .await;
}

/// Parts in base64url with `=` padding, which RFC 7515 §2 forbids (the signature is over the
/// padded parts, so only the strict parser refuses it).
pub async fn id_token_padded_base64(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenPaddedBase64,
        "the token is not a well-formed JWS: header is not base64url",
    )
    .await;
}

/// After a key rotation the JWKS lists every key for encryption only (`key_ops`, RFC 7517
/// §4.3): the refetched keys may not verify the new token, so sign-in is refused, not
/// accepted with a key the provider said is not for signatures.
pub async fn jwks_key_ops_without_verify(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.provider
        .set_misbehavior(Misbehavior::JwksKeysForEncryptionOnly);
    rp.provider
        .rotate_keys(SigningAlg::RS256)
        .expect("rotating the RSA key");
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let response = rp.browser.navigate(callback.as_str()).await;
    rp.assert_sign_in_refused(
        response,
        502,
        "ID token rejected: no provider key matches the token",
        &[&code],
    )
    .await;
    // The same rotation with the keys for signatures signs in (the control).
    rp.provider.set_misbehavior(Misbehavior::None);
    rp.provider
        .rotate_keys(SigningAlg::RS256)
        .expect("rotating the RSA key");
    rp.sign_in().await;
    assert_eq!(rp.user().await.0, 200);
}

/// An `aud` array with a member that is not a string.
pub async fn id_token_audience_not_a_string(adapter: Adapter) {
    id_token_refused(
        adapter,
        Options::default(),
        Misbehavior::IdTokenAudienceNotString,
        "claim `aud` has the wrong value",
    )
    .await;
}

/// Userinfo answers for another subject than the ID token's.
pub async fn userinfo_wrong_sub(adapter: Adapter) {
    sign_in_refused(
        adapter,
        Options::default(),
        Misbehavior::UserinfoWrongSub,
        502,
        "userinfo sub differs from the ID token's",
    )
    .await;
}

/// The token endpoint refuses the code: 502, nothing stored.
pub async fn token_endpoint_error(adapter: Adapter) {
    sign_in_refused(
        adapter,
        Options::default(),
        Misbehavior::TokenEndpointError,
        502,
        "code exchange: the identity provider refused the request: invalid_grant",
    )
    .await;
}

/// The provider redirects back with `error=access_denied`: a 403 page, no code exchange.
pub async fn authorize_access_denied(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.provider
        .set_misbehavior(Misbehavior::AuthorizeAccessDenied);
    let callback = rp.callback().await;
    assert_eq!(query_value(&callback, "error"), "access_denied");
    let response = rp.browser.navigate(callback.as_str()).await;
    rp.assert_sign_in_refused(response, 403, "provider returned error access_denied", &[])
        .await;
    assert_eq!(rp.code_grants(), 0, "nothing to exchange");
}

/// A callback whose `state` is not the one this browser's sign-in sent: 400, code unused.
pub async fn state_mismatch(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let forged = with_param(&callback, "state", Some(&"A".repeat(43)));
    let response = rp.browser.navigate(forged.as_str()).await;
    rp.assert_sign_in_refused(
        response,
        400,
        "no transaction cookie matches the state",
        &[&code],
    )
    .await;
    assert_eq!(rp.code_grants(), 0, "the code was not exchanged");
}

/// RFC 9207: the authorization response's `iss` names another issuer (a mix-up): 400.
pub async fn authorization_response_wrong_iss(adapter: Adapter) {
    sign_in_refused(
        adapter,
        Options::default(),
        Misbehavior::AuthorizeWrongIss,
        400,
        "iss parameter mismatch",
    )
    .await;
}

/// RFC 9207: the provider promises `iss` (discovery) but the response lacks it: 400.
pub async fn authorization_response_missing_iss(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let stripped = with_param(&callback, "iss", None);
    let response = rp.browser.navigate(stripped.as_str()).await;
    rp.assert_sign_in_refused(response, 400, "iss parameter missing", &[&code])
        .await;
    assert_eq!(rp.code_grants(), 0, "the code was not exchanged");
}

// ---------------------------------------------------------------------------------------------
// Config RP: discovery and keys.
// ---------------------------------------------------------------------------------------------

/// Discovery names another issuer than the configured one: the engine refuses to start, and
/// the error names both issuers.
pub async fn discovery_issuer_mismatch(adapter: Adapter) {
    let logs = LogCapture::begin().await;
    let slot = AppSlot::new();
    let provider = start_provider(&slot, &Options::default()).await;
    provider.set_misbehavior(Misbehavior::DiscoveryWrongIssuer);
    let issuer = provider.issuer();
    let config = slot.config(&issuer);
    let error = match slot.start(adapter, config, None).await {
        Ok(_) => panic!("the engine started although discovery names another issuer"),
        Err(error) => error,
    };
    assert!(error.contains(&format!("`{WRONG_ISSUER}`")), "{error}");
    assert!(error.contains(&format!("`{issuer}`")), "{error}");
    assert!(error.contains("must match exactly"), "{error}");
    logs.assert_no_secrets(&[], &[&issuer, WRONG_ISSUER]);
}

/// An ID token without `kid` while the JWKS has a single key for its algorithm: accepted.
///
/// Without a `kid` the engine tries every key that fits the token's `alg` and accepts when
/// one verifies (`crates/core/src/keys.rs`, `KeyCache::verify`), so with several keys a
/// token from any of them passes too: see [`kid_absent_several_keys`].
pub async fn kid_absent_single_key(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.provider.retire_old_keys();
    // The current RS256 key and the current ES256 key: one key fits an RS256 token.
    assert_eq!(rp.provider.jwks_kids().len(), 2);
    rp.provider.set_misbehavior(Misbehavior::IdTokenNoKid);
    rp.sign_in().await;
    let (status, user) = rp.user().await;
    assert_eq!(status, 200, "{user}");
    let access = rp.access_token().await;
    rp.assert_no_secrets_logged(&[&access]);
}

/// An ID token without `kid` while the JWKS has two RSA keys: every key that fits the alg is
/// tried, and the token is accepted because one of them (the second) verifies it.
pub async fn kid_absent_several_keys(adapter: Adapter) {
    let options = Options {
        rotate_rsa_key_before_start: true,
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    // The first RSA key, the ES256 key, and the rotated RSA key that now signs.
    assert_eq!(rp.provider.jwks_kids().len(), 3);
    rp.provider.set_misbehavior(Misbehavior::IdTokenNoKid);
    rp.sign_in().await;
    assert_eq!(rp.user().await.0, 200);
    let access = rp.access_token().await;
    rp.assert_no_secrets_logged(&[&access]);
}

/// The provider rotates its signing key between two sign-ins (and retires the old one), and
/// signs the next ID token with the new key moments after our last JWKS fetch (OpenID RP
/// test `rp-key-rotation-op-sign-key`). With the default settings, the engine refetches at
/// once and accepts it.
pub async fn key_rotation_between_logins(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let first_kid = rp.provider.current_kid();
    let new_kid = rp
        .provider
        .rotate_keys(SigningAlg::RS256)
        .expect("rotation");
    rp.provider.retire_old_keys();
    assert_ne!(first_kid, new_kid);
    assert!(!rp.provider.jwks_kids().contains(&first_kid));

    let second = Browser::new();
    rp.sign_in_with(&second).await;
    assert_eq!(rp.user_of(&second).await.0, 200);
    assert_eq!(rp.user().await.0, 200, "the first session is unaffected");
    assert_eq!(rp.store.len(), 2);
    rp.logs.expect_line(&["provider keys fetched"]).await;
    rp.assert_no_secrets_logged(&[]);
}

/// The provider signs with ES256: accepted (`at_hash` uses SHA-256).
pub async fn es256_id_token(adapter: Adapter) {
    let options = Options {
        signing_alg: Some(SigningAlg::ES256),
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    rp.sign_in().await;
    let (status, user) = rp.user().await;
    assert_eq!(status, 200, "{user}");
    // The provider signs access and ID tokens alike: the access token shows the algorithm.
    let access = rp.access_token().await;
    let header = access.split('.').next().expect("JWS header");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("JSON header");
    assert_eq!(header["alg"], "ES256");
    rp.assert_no_secrets_logged(&[&access]);
}

// ---------------------------------------------------------------------------------------------
// Refresh token: a refreshed ID token must keep the issuer and the subject.
// ---------------------------------------------------------------------------------------------

async fn refreshed_id_token_refused(adapter: Adapter, misbehavior: Misbehavior, check: &str) {
    refreshed_id_token_refused_with(adapter, misbehavior, check, None).await;
}

async fn refreshed_id_token_refused_with(
    adapter: Adapter,
    misbehavior: Misbehavior,
    check: &str,
    trusted_audience: Option<&'static str>,
) {
    let ttl = Duration::from_secs(2);
    let options = Options {
        access_token_ttl: Some(ttl),
        trusted_audience,
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    rp.sign_in().await;
    let access = rp.access_token().await;
    rp.provider.set_misbehavior(misbehavior);
    rp.clock.advance(ttl + Duration::from_secs(1));

    let api = rp.browser.fetch(&rp.app.url("/api/me")).await;
    assert_eq!(api.status(), 401);
    assert!(
        set_cookies(&api)
            .iter()
            .any(|c| c.starts_with("ping_oidc=;") && c.contains("Max-Age=0")),
        "the session cookie is cleared"
    );
    let body: Value = api.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"], "session_ended", "{body}");
    // One refused refresh (two if a slow machine let the access token expire once before
    // the misbehaviour was set; that refresh succeeded and the refused one came next).
    assert!(rp.provider.stats().refresh_grants >= 1);
    assert!(rp.store.is_empty(), "the session was ended");

    let navigation = rp.browser.navigate(&rp.app.url("/profile")).await;
    assert_eq!(navigation.status(), 302);
    let login = location(&navigation).unwrap_or_default();
    assert!(login.starts_with("/auth/login"), "{login}");
    assert_eq!(rp.user().await.0, 401);

    rp.logs
        .expect_line(&["refreshed ID token rejected; ending the session", check])
        .await;
    rp.assert_no_secrets_logged(&[&access]);
    rp.provider.set_misbehavior(Misbehavior::None);
}

pub async fn refresh_wrong_issuer(adapter: Adapter) {
    refreshed_id_token_refused(
        adapter,
        Misbehavior::RefreshWrongIssuer,
        "claim `iss` has the wrong value",
    )
    .await;
}

pub async fn refresh_wrong_subject(adapter: Adapter) {
    refreshed_id_token_refused(
        adapter,
        Misbehavior::RefreshWrongSub,
        "claim `sub` has the wrong value",
    )
    .await;
}

/// OIDC Core §12.2: the refreshed ID token's `aud` must be the original's, even when the
/// added audience is one the app trusts at sign-in.
pub async fn refresh_changes_audience(adapter: Adapter) {
    refreshed_id_token_refused_with(
        adapter,
        Misbehavior::RefreshAddsAudience,
        "claim `aud` has the wrong value",
        Some(OTHER_AUDIENCE),
    )
    .await;
}

/// A relying party signed in once, whose provider issues access tokens that live `ttl`.
async fn signed_in_with_access_ttl(adapter: Adapter, ttl: Duration) -> Rp {
    let options = Options {
        access_token_ttl: Some(ttl),
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    rp.sign_in().await;
    rp
}

/// OIDC Core §12.2: a refreshed ID token with a `nonce` other than the original's.
pub async fn refresh_wrong_nonce(adapter: Adapter) {
    refreshed_id_token_refused(
        adapter,
        Misbehavior::IdTokenWrongNonce,
        "claim `nonce` has the wrong value",
    )
    .await;
}

/// A refresh is no new authentication: the session keeps the original `auth_time`.
pub async fn refresh_keeps_auth_time(adapter: Adapter) {
    let ttl = Duration::from_secs(1);
    let rp = signed_in_with_access_ttl(adapter, ttl).await;
    let (_, before) = rp.user().await;
    let auth_time = before["claims"]["auth_time"].clone();
    assert!(auth_time.is_i64() || auth_time.is_u64(), "{before}");
    let grants = rp.provider.stats().refresh_grants;
    rp.provider.set_misbehavior(Misbehavior::RefreshNewAuthTime);
    rp.clock.advance(ttl + Duration::from_secs(1));
    assert_eq!(rp.browser.fetch(&rp.app.url("/api/me")).await.status(), 200);
    assert!(rp.provider.stats().refresh_grants > grants, "refreshed");
    let (_, after) = rp.user().await;
    assert_eq!(after["claims"]["auth_time"], auth_time, "{after}");
    rp.provider.set_misbehavior(Misbehavior::None);
}

/// RFC 6749 §5.2: only `invalid_grant` ends a session. `invalid_client` (a configuration or
/// provider problem) answers 503 with `Retry-After` and keeps the session; concurrent
/// requests share that one failure instead of each calling the provider.
pub async fn refresh_client_error_keeps_session(adapter: Adapter) {
    let ttl = Duration::from_secs(1);
    let rp = signed_in_with_access_ttl(adapter, ttl).await;
    rp.provider
        .set_misbehavior(Misbehavior::RefreshError("invalid_client"));
    rp.clock.advance(ttl + Duration::from_secs(1));
    let grants = rp.provider.stats().refresh_grants;
    let url = rp.app.url("/api/me");
    let answers = futures_util::future::join_all((0..4).map(|_| rp.browser.fetch(&url))).await;
    for api in &answers {
        assert_eq!(api.status(), 503);
        let retry_after = api
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok());
        assert_eq!(retry_after, Some("5"));
        assert!(set_cookies(api).is_empty(), "the session cookie is kept");
    }
    let again = rp.browser.fetch(&url).await;
    assert_eq!(again.status(), 503);
    assert_eq!(
        rp.provider.stats().refresh_grants - grants,
        1,
        "one provider call for every request of the burst"
    );
    assert_eq!(rp.store.len(), 1, "the session lives");
    assert_eq!(
        rp.user().await.0,
        503,
        "/auth/user is guarded: the same answer"
    );
    let line = rp
        .logs
        .expect_line(&[
            "refused the refresh for a reason other than the grant",
            "invalid_client",
        ])
        .await;
    assert!(line.contains("ERROR"), "{line}");
    rp.provider.set_misbehavior(Misbehavior::None);
}

// ---------------------------------------------------------------------------------------------
// Back-channel logout.
// ---------------------------------------------------------------------------------------------

/// The only provider session's id (after one sign-in).
fn only_sid(provider: &DevProvider) -> String {
    let sessions = provider.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions[0].sid.clone()
}

/// A bad logout token for the signed-in session: 400 JSON, the session stays usable.
async fn logout_token_refused(
    adapter: Adapter,
    make: impl FnOnce(&Rp, &str, &str) -> String,
    reason: &str,
) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let (status, user) = rp.user().await;
    assert_eq!(status, 200);
    let sub = user["sub"].as_str().expect("sub").to_string();
    let sid = only_sid(&rp.provider);
    let token = make(&rp, &sub, &sid);

    let response = rp.post_logout_token(&token).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["error"], "invalid_request", "{body}");

    let (status, after) = rp.user().await;
    assert_eq!(status, 200, "the session survives a refused logout token");
    assert_eq!(after["sub"], user["sub"]);
    assert_eq!(rp.store.len(), 1);
    assert_eq!(rp.browser.fetch(&rp.app.url("/api/me")).await.status(), 200);

    rp.logs
        .expect_line(&["back-channel logout rejected", "reason=", reason])
        .await;
    rp.assert_no_secrets_logged(&[&token]);
}

async fn logout_token_kind_refused(adapter: Adapter, kind: LogoutTokenKind, reason: &str) {
    logout_token_refused(
        adapter,
        move |rp, sub, sid| {
            rp.provider
                .logout_token(kind, "rp", sub, sid)
                .expect("logout token")
        },
        reason,
    )
    .await;
}

pub async fn logout_token_alg_none(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::AlgNone,
        "the token's alg `none` is not accepted",
    )
    .await;
}

pub async fn logout_token_wrong_audience(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::WrongAudience(OTHER_AUDIENCE.into()),
        "claim `aud` has the wrong value",
    )
    .await;
}

pub async fn logout_token_wrong_issuer(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::WrongIssuer,
        "claim `iss` has the wrong value",
    )
    .await;
}

pub async fn logout_token_missing_events(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::MissingEvents,
        "claim `events` is missing",
    )
    .await;
}

pub async fn logout_token_with_nonce(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::WithNonce,
        "claim `nonce` has the wrong value",
    )
    .await;
}

pub async fn logout_token_expired(adapter: Adapter) {
    logout_token_kind_refused(adapter, LogoutTokenKind::Expired, "the token has expired").await;
}

pub async fn logout_token_no_sid_no_sub(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::NoSidNoSub,
        "claim `sid or sub` is missing",
    )
    .await;
}

/// A valid logout token whose signature bytes were changed.
pub async fn logout_token_bad_signature(adapter: Adapter) {
    logout_token_refused(
        adapter,
        |rp, sub, sid| {
            let token = rp
                .provider
                .logout_token(LogoutTokenKind::Valid, "rp", sub, sid)
                .expect("logout token");
            let (input, signature) = token.rsplit_once('.').expect("JWS");
            let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .expect("base64url");
            bytes[0] ^= 0x01;
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            format!("{input}.{signature}")
        },
        "the token's signature does not verify with the provider's keys",
    )
    .await;
}

/// A valid logout token ends exactly the session it names (by `sid`); replaying it is
/// refused; the provider's own delivery (`backchannel_logout` by subject) ends the rest.
pub async fn backchannel_logout_ends_matching_session(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let sid_a = only_sid(&rp.provider);
    let other = Browser::new();
    rp.sign_in_with(&other).await;
    let sid_b = rp
        .provider
        .sessions()
        .into_iter()
        .map(|s| s.sid)
        .find(|sid| *sid != sid_a)
        .expect("a second provider session");
    let (status, user) = rp.user().await;
    assert_eq!(status, 200);
    let sub = user["sub"].as_str().expect("sub").to_string();
    assert_eq!(rp.user_of(&other).await.0, 200);
    assert_eq!(rp.store.len(), 2);

    let token = rp
        .provider
        .logout_token(LogoutTokenKind::Valid, "rp", &sub, &sid_a)
        .expect("logout token");
    let response = rp.post_logout_token(&token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(body["sessions_ended"], 1, "{body}");
    assert_eq!(rp.user().await.0, 401, "the named session ended");
    assert_eq!(rp.user_of(&other).await.0, 200, "the other session is kept");
    assert_eq!(rp.store.len(), 1);
    rp.logs
        .expect_line(&["back-channel logout", "sessions=1"])
        .await;

    // The same token again (same `jti`): refused, nothing else ends.
    let replay = rp.post_logout_token(&token).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(rp.user_of(&other).await.0, 200);
    rp.logs
        .expect_line(&["back-channel logout rejected", "already used"])
        .await;

    // The provider ends every session of the user and delivers one token per session.
    let delivered = rp
        .provider
        .backchannel_logout(LogoutTarget::Sub(sub.clone()))
        .await;
    assert_eq!(
        delivered, 2,
        "one delivery per provider session ({sid_a}, {sid_b})"
    );
    let stats = rp.provider.stats();
    assert_eq!(stats.backchannel_deliveries, 2);
    assert_eq!(stats.backchannel_failures, 0);
    assert_eq!(
        rp.user_of(&other).await.0,
        401,
        "the provider's delivery ended it"
    );
    assert!(rp.store.is_empty());
    assert!(rp.provider.sessions().is_empty());
    rp.assert_no_secrets_logged(&[&token]);
}

// ---------------------------------------------------------------------------------------------
// Hardening: slow and oversized answers, hostile callback queries.
// ---------------------------------------------------------------------------------------------

/// The provider answers slower than `http_timeout`: 503 with `Retry-After`, no session.
pub async fn slow_provider(adapter: Adapter) {
    let options = Options {
        http_timeout: Some(Duration::from_millis(800)),
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    rp.provider
        .set_misbehavior(Misbehavior::SlowResponses(Duration::from_secs(3)));
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let started = std::time::Instant::now();
    let response = rp.browser.navigate(callback.as_str()).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the engine waited for the slow provider: {:?}",
        started.elapsed()
    );
    rp.assert_sign_in_refused(
        response,
        503,
        "code exchange: the identity provider is unreachable: timed out",
        &[&code],
    )
    .await;
    rp.provider.set_misbehavior(Misbehavior::None);
}

/// A token response over `max_response_bytes`: 502, no session.
pub async fn huge_token_response(adapter: Adapter) {
    let options = Options {
        max_response_bytes: Some(256 * 1024),
        ..Options::default()
    };
    sign_in_refused(
        adapter,
        options,
        Misbehavior::HugeTokenResponse,
        502,
        "the provider's response is larger than the 262144-byte limit",
    )
    .await;
}

/// A callback query over 8 KiB: 400 before anything else happens.
pub async fn oversized_callback_query(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    let mut padded = callback.clone();
    padded
        .query_pairs_mut()
        .append_pair("padding", &"x".repeat(9 * 1024));
    let response = rp.browser.navigate(padded.as_str()).await;
    rp.assert_sign_in_refused(
        response,
        400,
        "The sign-in response is too large.",
        &[&code],
    )
    .await;
    assert_eq!(rp.code_grants(), 0, "the code was not exchanged");
}

/// A callback repeating `code` or `state`: 400, the code is not exchanged.
pub async fn duplicated_callback_parameters(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let callback = rp.callback().await;
    let code = query_value(&callback, "code");
    for repeated in ["code", "state", "iss"] {
        let mut doubled = callback.clone();
        doubled
            .query_pairs_mut()
            .append_pair(repeated, "injected-value");
        let response = rp.browser.navigate(doubled.as_str()).await;
        rp.assert_sign_in_refused(
            response,
            400,
            "The sign-in response repeats a parameter.",
            &[&code],
        )
        .await;
    }
    let refusals = rp
        .logs
        .lines_with("The sign-in response repeats a parameter.");
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert_eq!(rp.code_grants(), 0, "the code was not exchanged");
}

// ---------------------------------------------------------------------------------------------
// Lockout: what an unauthenticated client can make the app store.
// ---------------------------------------------------------------------------------------------

/// Anyone can mint a valid transaction cookie at `/auth/login`. Callbacks carrying one with no
/// code, or a forged code, must write no single-use marker: a flood of them then cannot fill
/// the store or lock a real user out of sign-in.
pub async fn callback_flood_locks_nobody_out(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let attacker = Browser::new();
    let issuer = rp.provider.issuer();
    for round in 0..30 {
        let login = attacker.navigate(&rp.app.url("/auth/login")).await;
        assert_eq!(login.status(), 302);
        let authorize = url::Url::parse(&location(&login).expect("location")).expect("url");
        let state = query_value(&authorize, "state");
        let mut callback = url::Url::parse(&rp.app.url("/auth/callback")).expect("url");
        callback
            .query_pairs_mut()
            .append_pair("state", &state)
            .append_pair("iss", &issuer);
        if round % 2 == 1 {
            callback
                .query_pairs_mut()
                .append_pair("code", "forged-code");
        }
        let refused = attacker.navigate(callback.as_str()).await;
        let status = refused.status().as_u16();
        assert!(status == 400 || status == 502, "round {round}: {status}");
        let marked = rp
            .store
            .is_consumed(&format!("tx:{state}"))
            .await
            .expect("store");
        assert!(!marked, "round {round}: a refused callback wrote a marker");
    }
    assert!(rp.store.is_empty());
    rp.sign_in().await;
    assert_eq!(rp.user().await.0, 200, "the real user signed in");
}

pub async fn logout_token_missing_jti(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::MissingJti,
        "claim `jti` is missing",
    )
    .await;
}

pub async fn logout_token_missing_exp(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::MissingExp,
        "claim `exp` is missing",
    )
    .await;
}

/// A token issued an hour ago (its `exp` still ahead) is outside the `iat` window.
pub async fn logout_token_issued_long_ago(adapter: Adapter) {
    logout_token_kind_refused(
        adapter,
        LogoutTokenKind::IssuedLongAgo,
        "claim `iat` has the wrong value",
    )
    .await;
}

/// `typ: application/logout+jwt` is the same type written in full: accepted. A replay after
/// the user signed in again in the same provider session (same `sid`) is refused, and the new
/// session lives.
pub async fn logout_token_media_type_and_replay_after_new_sign_in(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let (status, user) = rp.user().await;
    assert_eq!(status, 200);
    let sub = user["sub"].as_str().expect("sub").to_string();
    let sid = only_sid(&rp.provider);
    let token = rp
        .provider
        .logout_token(LogoutTokenKind::MediaTypeTyp, "rp", &sub, &sid)
        .expect("logout token");
    let response = rp.post_logout_token(&token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(rp.user().await.0, 401, "the session ended");

    rp.sign_in().await;
    assert_eq!(rp.user().await.0, 200);
    let replay = rp.post_logout_token(&token).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(rp.user().await.0, 200, "a replay ends no new session");
    rp.logs
        .expect_line(&["back-channel logout rejected", "already used"])
        .await;
}

// ---------------------------------------------------------------------------------------------
// Refresh that survives its request.
// ---------------------------------------------------------------------------------------------

/// The request that started a refresh is dropped (the client gave up) after the provider
/// rotated the refresh token but before it answered. The refresh finishes anyway and stores
/// the rotated token: the next requests succeed with no second refresh, and the spent refresh
/// token is never sent again (the provider would revoke the whole grant).
pub async fn cancelled_refresh_keeps_the_rotated_token(adapter: Adapter) {
    let ttl = Duration::from_secs(1);
    let rp = signed_in_with_access_ttl(adapter, ttl).await;
    rp.clock.advance(ttl + Duration::from_secs(1));
    let before = rp.provider.stats();
    let refreshed_before = rp.logs.lines_with("tokens refreshed").len();
    // The refreshed token lives long, so the requests below need no second refresh.
    rp.provider.set_access_token_ttl(Duration::from_secs(3600));
    rp.provider
        .set_misbehavior(Misbehavior::SlowTokenAnswers(Duration::from_millis(1500)));
    let gave_up = rp
        .browser
        .client
        .get(rp.app.url("/api/me"))
        .header("accept", "application/json")
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client gave up: {gave_up:?}");
    rp.provider.set_misbehavior(Misbehavior::None);
    // No request is around while the provider's answer arrives: the dropped request's refresh
    // alone must store it. Polled (the answer comes about 1.1 s later), not slept for.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rp.logs.lines_with("tokens refreshed").len() == refreshed_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped request's refresh never finished"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let url = rp.app.url("/api/me");
    let answers = futures_util::future::join_all((0..4).map(|_| rp.browser.fetch(&url))).await;
    for api in &answers {
        assert_eq!(api.status(), 200);
    }
    let after = rp.provider.stats();
    assert_eq!(
        after.refresh_grants - before.refresh_grants,
        1,
        "exactly one refresh"
    );
    assert_eq!(
        after.token_errors, before.token_errors,
        "no spent token was sent"
    );
}

// ---------------------------------------------------------------------------------------------
// Starting while the provider is down.
// ---------------------------------------------------------------------------------------------

/// The app starts while its provider is unreachable (a cluster restarting during a short
/// provider outage must not crash-loop). Until the provider answers, sign-in answers 503 with
/// `Retry-After` and unguarded routes work; then sign-in works without a restart.
pub async fn start_without_the_provider(adapter: Adapter) {
    let logs = LogCapture::begin().await;
    let slot = AppSlot::new();
    let port = crate::store_suite::free_port().expect("port");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (callback, home) = (slot.callback_url(), slot.home_url());
    let client = || {
        ClientRegistration::confidential("rp", "rp-secret", callback.clone())
            .post_logout_redirect_uri(home.clone())
    };
    let issuer = {
        let provider = DevProvider::builder()
            .bind(address)
            .client(client())
            .start()
            .await
            .expect("dev provider");
        let issuer = provider.issuer();
        provider.shutdown().await;
        issuer
    };
    let config = slot.config(&issuer);
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("the app must start without its provider: {e}"));
    logs.expect_line(&["the provider cannot be reached; starting anyway"])
        .await;
    let browser = Browser::new();
    assert_eq!(browser.navigate(&app.url("/healthz")).await.status(), 200);
    assert_eq!(browser.navigate(&app.url("/")).await.status(), 200);
    let login = browser.navigate(&app.url("/auth/login")).await;
    assert_eq!(login.status(), 503);
    let retry_after = login
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok());
    assert_eq!(retry_after, Some("5"));
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 401);

    let provider = DevProvider::builder()
        .bind(address)
        .client(client())
        .start()
        .await
        .expect("dev provider, back");
    assert_eq!(provider.issuer(), issuer);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while browser.navigate(&app.url("/auth/login")).await.status() != 302 {
        assert!(std::time::Instant::now() < deadline, "still 503 after 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    logs.expect_line(&["the provider is reachable; sign-in is available"])
        .await;
    let landed = browser
        .sign_in(&app, &provider, "/profile")
        .await
        .expect("sign-in");
    assert_eq!(landed, "/profile");
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);
}

/// Another user signs in over a session in the same browser (a shared computer): the old
/// session is gone and its tokens are revoked at the provider.
pub async fn sign_in_over_another_users_session_revokes_it(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let (_, first) = rp.user().await;
    rp.provider
        .add_user(ping_oidc_dev_provider::TestUser::new("bob", "bob-password"));
    let revocations = rp.provider.stats().revocations;
    let landed = rp
        .browser
        .sign_in(
            &rp.app,
            &crate::browser::SignInAs(&rp.provider, "bob"),
            "/profile",
        )
        .await
        .expect("bob signs in");
    assert_eq!(landed, "/profile");
    let (status, second) = rp.user().await;
    assert_eq!(status, 200);
    assert_ne!(first["sub"], second["sub"]);
    assert_eq!(rp.store.len(), 1, "the replaced session is gone");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rp.provider.stats().revocations < revocations + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old tokens were not revoked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A store failure while ending the sessions answers 503 and records nothing, so the
/// provider's retry of the same logout token works; a later replay is refused.
pub async fn logout_token_retried_after_a_store_failure(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    rp.sign_in().await;
    let (_, user) = rp.user().await;
    let sub = user["sub"].as_str().expect("sub").to_string();
    let token = rp
        .provider
        .logout_token(LogoutTokenKind::Valid, "rp", &sub, &only_sid(&rp.provider))
        .expect("logout token");
    let post = || rp.post_logout_token(&token);

    rp.store
        .fail_next_index_delete
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = post().await;
    assert_eq!(failed.status(), 503);
    let retry_after = failed
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok());
    assert_eq!(retry_after, Some("5"));
    assert_eq!(rp.user().await.0, 200, "nothing ended");

    let retried = post().await;
    assert_eq!(retried.status(), 200, "the provider's retry works");
    assert_eq!(rp.user().await.0, 401);
    assert_eq!(post().await.status(), 400, "a replay after that is refused");
}

/// Another instance takes the refresh lease while this one's token call is at the provider
/// (our lease ran out). This instance stops renewing the lease but lets the call finish and
/// saves compare-and-set: dropping the call could lose a rotated refresh token.
pub async fn lost_lease_lets_the_call_finish(adapter: Adapter) {
    let options = Options {
        access_token_ttl: Some(Duration::from_secs(1)),
        refresh_lease: Some(Duration::from_millis(300)),
        ..Options::default()
    };
    let rp = Rp::start(adapter, options).await;
    rp.sign_in().await;
    let (provider, store, browser, app, clock, logs) = (
        &rp.provider,
        &rp.store,
        &rp.browser,
        &rp.app,
        &rp.clock,
        &rp.logs,
    );
    provider.set_access_token_ttl(Duration::from_secs(3600));
    provider.set_misbehavior(Misbehavior::SlowTokenAnswers(Duration::from_millis(700)));
    store
        .lose_lease_renewals
        .store(true, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    let before = provider.stats().refresh_grants;

    let api = browser.fetch(&app.url("/api/me")).await;
    assert_eq!(
        api.status(),
        200,
        "the call finished and its tokens were saved"
    );
    assert!(
        store.leases_lost.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "renewals were refused"
    );
    logs.expect_line(&["the refresh lease was lost to another instance"])
        .await;
    provider.set_misbehavior(Misbehavior::None);
    assert_eq!(browser.fetch(&app.url("/api/me")).await.status(), 200);
    assert_eq!(
        provider.stats().refresh_grants - before,
        1,
        "one refresh, saved"
    );
}

/// At start the engine names the resource bearer tokens must carry, and warns when that
/// resource (so the metadata its challenges point at) is on another origin than `APP_URL`.
pub async fn start_names_the_resource(adapter: Adapter) {
    let rp = Rp::start(adapter, Options::default()).await;
    let app_origin = rp.app.url("");
    let app_origin = app_origin.trim_end_matches('/');
    rp.logs
        .expect_line(&[
            "bearer tokens must name this resource",
            &format!("resource={app_origin} "),
        ])
        .await;
    assert!(
        rp.logs.lines_with("is not on APP_URL's origin").is_empty(),
        "the default resource is APP_URL: no warning"
    );

    let slot = AppSlot::new();
    let config = slot
        .config(&rp.provider.issuer())
        .resource("https://api.elsewhere.example/orders");
    let _elsewhere = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    rp.logs
        .expect_line(&[
            "WARN",
            "is not on APP_URL's origin",
            "https://api.elsewhere.example/orders",
        ])
        .await;
}

/// Over https (`APP_URL`), the sign-in attempt's cookie is `__Host-` prefixed with `Path=/`,
/// `Secure` and no `Domain`, so neither a sibling subdomain nor a network attacker on plain
/// http can plant one (login CSRF). The app is served on plain loopback http here, and asked
/// directly; what matters is the cookie it sets for its https origin.
pub async fn https_transaction_cookie_has_the_host_prefix(adapter: Adapter) {
    let _turn = LogCapture::begin().await;
    let slot = AppSlot::new();
    let https_base = slot.base.replacen("http://", "https://", 1);
    let provider = DevProvider::builder()
        .client(ClientRegistration::confidential(
            "rp",
            "rp-secret",
            format!("{https_base}/auth/callback"),
        ))
        .start()
        .await
        .expect("dev provider");
    let plain_base = slot.base.clone();
    let config = slot.config(&provider.issuer()).app_url(https_base);
    let _app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client
        .get(format!("{plain_base}/auth/login"))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 302);
    let cookies = set_cookies(&login);
    let attempt = cookies
        .iter()
        .find(|c| c.contains("ping_oidc_tx_"))
        .unwrap_or_else(|| panic!("no attempt cookie in {cookies:?}"));
    assert!(attempt.starts_with("__Host-ping_oidc_tx_"), "{attempt}");
    assert!(attempt.contains("; Secure"), "{attempt}");
    assert!(
        attempt.contains("Path=/;") || attempt.ends_with("Path=/"),
        "{attempt}"
    );
    assert!(
        !attempt.to_ascii_lowercase().contains("domain="),
        "{attempt}"
    );
}
