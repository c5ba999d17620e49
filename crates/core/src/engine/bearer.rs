//! Bearer-token callers of the app's own APIs (RFC 6750, RFC 9068), DPoP-bound tokens with
//! their proofs (RFC 9449), and the protected resource metadata that tells callers where to
//! get a token (RFC 9728).

use serde_json::json;

use super::{PingOidc, RequestInfo};
use crate::access_token::{self, token_hash, VerifiedAccessToken};
use crate::dpop::{self, CheckedProof, ProofError};
use crate::engine::refusal::RETRY_AFTER_SECS;
use crate::error::TokenError;
use crate::keys::KidSource;
use crate::response::AuthResponse;
use crate::{Rejection, RejectionKind, Requirement};

/// Most introspection calls in flight at once; more wait (up to the HTTP timeout, then 503).
pub(crate) const MAX_INTROSPECTIONS: usize = 8;

/// The answer to a bearer-guarded request when no waiting is needed (no token, a malformed
/// one, or one verified before), else the verification to await.
#[derive(Debug)]
#[non_exhaustive]
pub enum BearerNow {
    /// The answer, with no waiting.
    Answered(Result<VerifiedAccessToken, Rejection>),
    /// Await [`PendingBearer::verify`]: a token not seen before (signature check, maybe a
    /// key fetch).
    MustVerify(PendingBearer),
}

/// A token still to verify, or a DPoP proof still to check for replay. Holds its own copy of
/// the token.
pub struct PendingBearer {
    engine: PingOidc,
    token: String,
    need: Requirement,
    /// The token, when it was verified before.
    known: Option<VerifiedAccessToken>,
    /// For `Authorization: DPoP`, the proof that held (its `jti` not yet checked for replay).
    proof: Option<CheckedProof>,
}

/// How the token came: `Authorization: Bearer` or `Authorization: DPoP` with a proof. Refusals
/// answer in the same scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

impl std::fmt::Debug for PendingBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingBearer").finish_non_exhaustive()
    }
}

impl PendingBearer {
    /// Verifies the token (RFC 9068 §4) unless it was before, remembering it until it
    /// expires; for DPoP, checks it is bound to the proof's key and that the proof is not a
    /// replay; then checks the route's requirement.
    pub async fn verify(self) -> Result<VerifiedAccessToken, Rejection> {
        let engine = &self.engine;
        let scheme = match self.proof {
            Some(_) => Scheme::Dpop,
            None => Scheme::Bearer,
        };
        let verified = match self.known {
            Some(known) => known,
            None => match engine.verify_access_token(&self.token).await {
                Ok(token) => {
                    engine
                        .inner
                        .verified_tokens
                        .insert(&self.token, token.clone(), engine.now());
                    token
                }
                Err(error) if error.is_unavailable() => {
                    tracing::warn!(%error, "bearer token: the provider's keys are unavailable");
                    return Err(engine.bearer_unavailable(RejectionKind::ProviderUnavailable));
                }
                Err(error) => {
                    tracing::debug!(%error, "bearer token refused");
                    return Err(engine.invalid_token(scheme, &error));
                }
            },
        };
        engine.bound_as_sent(&verified, self.proof.as_ref())?;
        if let Some(proof) = &self.proof {
            engine.refuse_replayed(proof).await?;
        }
        engine.meets(verified, &self.need, scheme)
    }
}

impl PingOidc {
    /// Authenticates a request by its `Authorization: Bearer` access token for this app's
    /// resource ([`Config::resource`](crate::Config::resource)), as `need` requires (scopes,
    /// `acr`, `max_age`). The one entry point of both adapters' bearer extractors.
    pub fn bearer_now<R: RequestInfo + ?Sized>(&self, request: &R, need: Requirement) -> BearerNow {
        let Some(header) = request.header("authorization") else {
            return BearerNow::Answered(Err(self.no_token()));
        };
        let malformed = |error: TokenError| {
            let dpop = header
                .split(' ')
                .next()
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("dpop"));
            let scheme = if dpop { Scheme::Dpop } else { Scheme::Bearer };
            BearerNow::Answered(Err(self.invalid_request(scheme, &error)))
        };
        let (token, scheme) = match access_token::split_credentials(header) {
            Ok(access_token::Credentials::Bearer(token)) => (token, Scheme::Bearer),
            Ok(access_token::Credentials::Dpop(token)) => (token, Scheme::Dpop),
            Ok(access_token::Credentials::OtherScheme) => {
                return BearerNow::Answered(Err(self.no_token()))
            }
            Err(error) => return malformed(error),
        };
        let now = self.now();
        // A token found in the cache passed the syntax check when it was verified.
        let known = self.inner.verified_tokens.get(token, now);
        if known.is_none() {
            if let Err(error) = access_token::check_b64token(token) {
                return malformed(error);
            }
        }
        let proof = match scheme {
            Scheme::Bearer => None,
            Scheme::Dpop => match self.check_proof(request, token, now) {
                Ok(proof) => Some(proof),
                Err(rejection) => return BearerNow::Answered(Err(rejection)),
            },
        };
        match (known, proof) {
            (Some(verified), None) => BearerNow::Answered(
                self.bound_as_sent(&verified, None)
                    .and_then(|()| self.meets(verified, &need, scheme)),
            ),
            (known, proof) => BearerNow::MustVerify(PendingBearer {
                engine: self.clone(),
                token: token.to_string(),
                need,
                known,
                proof,
            }),
        }
    }

    /// RFC 9449 §4.3 on the `DPoP` header, against this request's method and URL.
    fn check_proof<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        token: &str,
        now: i64,
    ) -> Result<CheckedProof, Rejection> {
        let config = &self.inner.config;
        // §4.3 step 1: exactly one `DPoP` header.
        let Some(proof) = request.header("dpop") else {
            return Err(self.invalid_proof("no DPoP header"));
        };
        if request.header_count("dpop") > 1 {
            return Err(self.invalid_proof("more than one DPoP header"));
        }
        // The request's URL as the caller sees it: `APP_URL` (with its path, as the redirect
        // URI is built) and the path the app got.
        let Ok(uri) = url::Url::parse(&config.absolute_url(request.path())) else {
            return Err(self.invalid_proof("the request path makes no URL"));
        };
        let expect = dpop::ProofExpectations {
            method: request.method(),
            uri: &uri,
            access_token: token,
            now,
            skew: super::duration_secs(config.clock_skew),
            nonces: config.dpop_nonces.then_some(&config.session_key),
        };
        dpop::check_proof(proof, &expect).map_err(|error| match error {
            ProofError::Invalid(what) => self.invalid_proof(what),
            ProofError::UseNonce => self.use_dpop_nonce(),
        })
    }

    /// RFC 9449 §7.1–7.2: a DPoP-bound token only with a proof by its key, and a proof only
    /// with a token bound to that key.
    fn bound_as_sent(
        &self,
        token: &VerifiedAccessToken,
        proof: Option<&CheckedProof>,
    ) -> Result<(), Rejection> {
        match (token.jkt(), proof) {
            (None, None) => Ok(()),
            (Some(jkt), Some(proof)) if jkt == proof.jkt => Ok(()),
            (Some(_), Some(_)) => Err(self.invalid_proof("the proof's key is not the token's")),
            (Some(_), None) => Err(self.invalid_token(
                Scheme::Bearer,
                &TokenError::WrongClaim("cnf: a DPoP-bound token sent as Bearer"),
            )),
            (None, Some(_)) => Err(self.invalid_token(
                Scheme::Dpop,
                &TokenError::WrongClaim("cnf: a token not bound to a key sent as DPoP"),
            )),
        }
    }

    /// RFC 9449 §11.1: each proof once. The `jti` is remembered in the session store (shared
    /// by every instance) for as long as the proof could pass the `iat` check; it is written
    /// only after the token and the proof held, so only a token's holder can add one.
    async fn refuse_replayed(&self, proof: &CheckedProof) -> Result<(), Rejection> {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}:{}", proof.jkt, proof.jti).as_bytes(),
        );
        let key = format!("dpop-jti:{}", crate::crypto::b64url_encode(digest.as_ref()));
        let skew = super::duration_secs(self.inner.config.clock_skew);
        let ttl = std::time::Duration::from_secs(dpop::replay_window_secs(skew));
        match self.inner.store.consume_once(&key, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.invalid_proof("the proof was used before")),
            Err(error) => {
                tracing::warn!(%error, "DPoP replay check: session store unavailable");
                Err(self.bearer_unavailable(RejectionKind::StoreUnavailable))
            }
        }
    }

    /// Signature (keys fetched at most once per refetch interval for unknown `kid`s: anyone
    /// can send these), `typ`, then the claims.
    async fn verify_access_token(&self, token: &str) -> Result<VerifiedAccessToken, TokenError> {
        let provider = self
            .provider()
            .map_err(|_| TokenError::KeysUnavailable("the provider is not reachable yet".into()))?;
        if !access_token::is_jwt(token) {
            return self.introspect(&provider, token).await;
        }
        let signed = provider
            .keys
            .verify(&provider.http, token, KidSource::Anyone)
            .await?;
        access_token::check_typ(signed.typ.as_deref())?;
        let expect = self.token_expectations();
        access_token::check_claims(signed.claims()?, &expect)
    }

    /// What a token must say here: this issuer and resource, now, with the clock skew.
    fn token_expectations(&self) -> access_token::Expectations<'_> {
        let config = &self.inner.config;
        access_token::Expectations {
            issuer: &config.issuer,
            resource: &config.resource,
            now: self.now(),
            skew: super::duration_secs(config.clock_skew),
        }
    }

    /// RFC 7662 for an opaque token: at most [`MAX_INTROSPECTIONS`] calls at once (anyone can
    /// send tokens), and an inactive answer remembered so the same token is not asked again.
    async fn introspect(
        &self,
        provider: &crate::provider::Provider,
        token: &str,
    ) -> Result<VerifiedAccessToken, TokenError> {
        if provider.metadata.introspection_endpoint.is_none() {
            return Err(TokenError::Malformed("not a JWT, and no introspection"));
        }
        let hash = token_hash(token);
        let tokens = &self.inner.verified_tokens;
        if tokens.known_inactive(&hash, self.now()) {
            return Err(TokenError::WrongClaim("active"));
        }
        let permit = tokio::time::timeout(
            self.inner.config.http_timeout,
            self.inner.introspections.acquire(),
        )
        .await;
        let Ok(Ok(_permit)) = permit else {
            return Err(TokenError::KeysUnavailable(
                "too many introspections at once".into(),
            ));
        };
        let config = &self.inner.config;
        let response = match provider.introspect(config, token).await {
            Ok(Some(response)) => response,
            Ok(None) => return Err(TokenError::Malformed("not a JWT, and no introspection")),
            Err(error) => return Err(TokenError::KeysUnavailable(error.to_string())),
        };
        let expect = self.token_expectations();
        let verified = access_token::check_introspection(
            response,
            &expect,
            access_token::INTROSPECTION_TTL_SECS,
        );
        if matches!(verified, Err(TokenError::WrongClaim("active"))) {
            tokens.insert_inactive(hash, self.now());
        }
        verified
    }

    /// The route's scopes (403) and step-up (401, RFC 9470) on a verified token.
    fn meets(
        &self,
        token: VerifiedAccessToken,
        need: &Requirement,
        scheme: Scheme,
    ) -> Result<VerifiedAccessToken, Rejection> {
        if !token.has_scopes(need.scopes) {
            return Err(self.bearer_insufficient_scope(scheme, need.scopes));
        }
        if !need.acr_values.is_empty() {
            let acr = token.claims().get_str("acr");
            if !acr.is_some_and(|acr| need.acr_values.contains(&acr)) {
                return Err(self.insufficient_user_authentication(scheme, need));
            }
        }
        if let Some(max_age) = need.max_age {
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            let skew = super::duration_secs(self.inner.config.clock_skew);
            let recent = token
                .claims()
                .get("auth_time")
                .and_then(serde_json::Value::as_i64)
                .is_some_and(|at| at.saturating_add(max_age).saturating_add(skew) >= self.now());
            if !recent {
                return Err(self.insufficient_user_authentication(scheme, need));
            }
        }
        Ok(token)
    }

    /// `WWW-Authenticate: Bearer realm=..., [params,] resource_metadata=...`, or `DPoP` with
    /// `algs` (RFC 9449 §7.1) before `resource_metadata`.
    fn challenge(&self, scheme: Scheme, params: &[(&str, &str)]) -> String {
        let config = &self.inner.config;
        let name = match scheme {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        };
        let mut challenge = format!("{name} realm=\"{}\"", quoted(&config.resource));
        for (name, value) in params {
            challenge.push_str(&format!(", {name}=\"{}\"", quoted(value)));
        }
        if scheme == Scheme::Dpop {
            challenge.push_str(&format!(", algs=\"{}\"", proof_algorithms().join(" ")));
        }
        challenge.push_str(&format!(
            ", resource_metadata=\"{}\"",
            quoted(&config.resource_metadata_url)
        ));
        challenge
    }

    /// A fresh `DPoP-Nonce` for a DPoP refusal, when nonces are on.
    fn with_nonce(&self, scheme: Scheme, response: AuthResponse) -> AuthResponse {
        let config = &self.inner.config;
        if scheme == Scheme::Dpop && config.dpop_nonces {
            response.with_header("dpop-nonce", dpop::nonce(&config.session_key, self.now()))
        } else {
            response
        }
    }

    fn bearer_refusal(
        &self,
        scheme: Scheme,
        kind: RejectionKind,
        status: u16,
        error: Option<&str>,
        description: &str,
        more: &[(&str, &str)],
    ) -> Rejection {
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(error) = error {
            params.push(("error", error));
            params.push(("error_description", description));
        }
        params.extend_from_slice(more);
        let body = match error {
            Some(error) => json!({"error": error, "error_description": description}),
            None => json!({"error": "unauthenticated", "error_description": description}),
        };
        let response = AuthResponse::json(status, body)
            .with_header("www-authenticate", self.challenge(scheme, &params))
            .with_header("cache-control", "no-store");
        Rejection::new(kind, self.with_nonce(scheme, response))
    }

    /// RFC 6750 §3.1: no credentials, so no error code. Both schemes are offered (RFC 9449
    /// §7.1), each in its own `WWW-Authenticate`.
    pub(super) fn no_token(&self) -> Rejection {
        let body = json!({
            "error": "unauthenticated",
            "error_description": "Send an access token: Authorization: Bearer <token>.",
        });
        let response = AuthResponse::json(401, body)
            .with_header("www-authenticate", self.challenge(Scheme::Bearer, &[]))
            .with_header("www-authenticate", self.challenge(Scheme::Dpop, &[]))
            .with_header("cache-control", "no-store");
        Rejection::new(
            RejectionKind::SignedOut,
            self.with_nonce(Scheme::Dpop, response),
        )
    }

    fn invalid_request(&self, scheme: Scheme, error: &TokenError) -> Rejection {
        tracing::debug!(%error, "bearer request refused");
        self.bearer_refusal(
            scheme,
            RejectionKind::InvalidToken,
            400,
            Some("invalid_request"),
            "The Authorization header is not `Bearer <token>` or `DPoP <token>`.",
            &[],
        )
    }

    /// Says only that the token is expired or not valid: why a signature or claim failed is
    /// logged at debug level, not told to the caller.
    fn invalid_token(&self, scheme: Scheme, error: &TokenError) -> Rejection {
        tracing::debug!(%error, "access token refused");
        let description = match error {
            TokenError::Expired => "The access token expired.",
            _ => "The access token is not valid for this resource.",
        };
        self.bearer_refusal(
            scheme,
            RejectionKind::InvalidToken,
            401,
            Some("invalid_token"),
            description,
            &[],
        )
    }

    /// RFC 9449 §7.1 `invalid_dpop_proof`; what failed is logged, not told.
    fn invalid_proof(&self, what: &'static str) -> Rejection {
        tracing::debug!(what, "DPoP proof refused");
        self.bearer_refusal(
            Scheme::Dpop,
            RejectionKind::InvalidToken,
            401,
            Some("invalid_dpop_proof"),
            "The DPoP proof is missing, invalid, or was used before.",
            &[],
        )
    }

    /// RFC 9449 §9: retry with the nonce in the `DPoP-Nonce` header.
    fn use_dpop_nonce(&self) -> Rejection {
        self.bearer_refusal(
            Scheme::Dpop,
            RejectionKind::InvalidToken,
            401,
            Some("use_dpop_nonce"),
            "Resource server requires nonce in DPoP proof.",
            &[],
        )
    }

    fn bearer_insufficient_scope(&self, scheme: Scheme, scopes: &[&str]) -> Rejection {
        let scope = scopes.join(" ");
        self.bearer_refusal(
            scheme,
            RejectionKind::InsufficientScope,
            403,
            Some("insufficient_scope"),
            "The access token lacks a scope this route needs.",
            &[("scope", &scope)],
        )
    }

    /// RFC 9470 §3.
    fn insufficient_user_authentication(&self, scheme: Scheme, need: &Requirement) -> Rejection {
        let acr_values = need.acr_values.join(" ");
        let max_age = need.max_age.map(|age| age.to_string());
        let mut more: Vec<(&str, &str)> = Vec::new();
        if !acr_values.is_empty() {
            more.push(("acr_values", &acr_values));
        }
        if let Some(max_age) = &max_age {
            more.push(("max_age", max_age));
        }
        self.bearer_refusal(
            scheme,
            RejectionKind::StepUpRequired,
            401,
            Some("insufficient_user_authentication"),
            "A stronger or more recent authentication is required.",
            &more,
        )
    }

    /// 503: the provider (keys, introspection) or the store (DPoP replay check) is down.
    fn bearer_unavailable(&self, kind: RejectionKind) -> Rejection {
        let response = AuthResponse::json_error(
            503,
            "temporarily_unavailable",
            "The token cannot be checked right now; try again shortly.",
        )
        .with_header("retry-after", RETRY_AFTER_SECS);
        Rejection::new(kind, response)
    }

    /// `GET /.well-known/oauth-protected-resource[/path]` (RFC 9728 §3.2).
    pub(super) fn resource_metadata(&self) -> AuthResponse {
        let config = &self.inner.config;
        let algorithms = proof_algorithms();
        let mut metadata = json!({
            "resource": config.resource,
            "authorization_servers": [config.issuer],
            "bearer_methods_supported": ["header"],
            // RFC 9728 defines this for signed responses; this resource signs none, so it
            // lists what it verifies access tokens with.
            "resource_signing_alg_values_supported": algorithms,
            "dpop_signing_alg_values_supported": algorithms,
        });
        if !config.resource_scopes.is_empty() {
            metadata["scopes_supported"] = json!(config.resource_scopes);
        }
        AuthResponse::json(200, metadata).with_header("cache-control", "public, max-age=300")
    }
}

#[cfg(any(test, feature = "bench"))]
impl PingOidc {
    /// A cache miss's work: [`verify_access_token`](Self::verify_access_token), not cached.
    pub(crate) async fn verify_access_token_uncached(
        &self,
        token: &str,
    ) -> Result<VerifiedAccessToken, TokenError> {
        self.verify_access_token(token).await
    }

    /// Keeps `answer` as the introspection of the opaque `token`, as a real call would.
    pub(crate) fn remember_introspection(
        &self,
        token: &str,
        answer: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), TokenError> {
        let expect = self.token_expectations();
        let verified = access_token::check_introspection(
            answer,
            &expect,
            access_token::INTROSPECTION_TTL_SECS,
        )?;
        self.inner
            .verified_tokens
            .insert(token, verified, self.now());
        Ok(())
    }
}

/// What access tokens and DPoP proofs are verified with.
fn proof_algorithms() -> Vec<&'static str> {
    crate::jose::VERIFIED_ALGORITHMS
        .iter()
        .map(|alg| alg.name())
        .collect()
}

/// A quoted-string's content: `"` and `\` escaped, control characters dropped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
