//! Bearer-token callers of the app's own APIs (RFC 6750, RFC 9068) and the protected resource
//! metadata that tells them where to get a token (RFC 9728).

use serde_json::json;

use super::{PingOidc, RequestInfo};
use crate::access_token::{self, token_hash, VerifiedAccessToken};
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

/// A bearer token still to verify. Holds its own copy of the token.
pub struct PendingBearer {
    engine: PingOidc,
    token: String,
    hash: [u8; 32],
    need: Requirement,
}

impl std::fmt::Debug for PendingBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingBearer").finish_non_exhaustive()
    }
}

impl PendingBearer {
    /// Verifies the token (RFC 9068 §4), remembers it until it expires, and checks the
    /// route's requirement.
    pub async fn verify(self) -> Result<VerifiedAccessToken, Rejection> {
        let engine = &self.engine;
        let verified = match engine.verify_access_token(&self.token, &self.hash).await {
            Ok(token) => token,
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, "bearer token: the provider's keys are unavailable");
                return Err(engine.bearer_unavailable());
            }
            Err(error) => {
                tracing::debug!(%error, "bearer token refused");
                return Err(engine.invalid_token(&error));
            }
        };
        engine
            .inner
            .verified_tokens
            .insert(self.hash, verified.clone(), engine.now());
        engine.meets(verified, &self.need)
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
        let token = match access_token::bearer_token(header) {
            Ok(access_token::Credentials::Bearer(token)) => token,
            Ok(access_token::Credentials::OtherScheme) => {
                return BearerNow::Answered(Err(self.no_token()))
            }
            Err(error) => return BearerNow::Answered(Err(self.invalid_request(&error))),
        };
        let hash = token_hash(token);
        match self.inner.verified_tokens.get(&hash, self.now()) {
            Some(verified) => BearerNow::Answered(self.meets(verified, &need)),
            None => BearerNow::MustVerify(PendingBearer {
                engine: self.clone(),
                token: token.to_string(),
                hash,
                need,
            }),
        }
    }

    /// Signature (keys fetched at most once per refetch interval for unknown `kid`s: anyone
    /// can send these), `typ`, then the claims.
    async fn verify_access_token(
        &self,
        token: &str,
        hash: &[u8; 32],
    ) -> Result<VerifiedAccessToken, TokenError> {
        let provider = self
            .provider()
            .map_err(|_| TokenError::KeysUnavailable("the provider is not reachable yet".into()))?;
        if !access_token::is_jwt(token) {
            return self.introspect(&provider, token, hash).await;
        }
        let signed = provider
            .keys
            .verify(&provider.http, token, KidSource::Anyone)
            .await?;
        access_token::check_typ(signed.typ.as_deref())?;
        let config = &self.inner.config;
        let expect = access_token::Expectations {
            issuer: &config.issuer,
            resource: &config.resource,
            now: self.now(),
            skew: super::duration_secs(config.clock_skew),
        };
        access_token::check_claims(signed.claims()?, &expect)
    }

    /// RFC 7662 for an opaque token: at most [`MAX_INTROSPECTIONS`] calls at once (anyone can
    /// send tokens), and an inactive answer remembered so the same token is not asked again.
    async fn introspect(
        &self,
        provider: &crate::provider::Provider,
        token: &str,
        hash: &[u8; 32],
    ) -> Result<VerifiedAccessToken, TokenError> {
        if provider.metadata.introspection_endpoint.is_none() {
            return Err(TokenError::Malformed("not a JWT, and no introspection"));
        }
        let tokens = &self.inner.verified_tokens;
        if tokens.known_inactive(hash, self.now()) {
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
        let expect = access_token::Expectations {
            issuer: &config.issuer,
            resource: &config.resource,
            now: self.now(),
            skew: super::duration_secs(config.clock_skew),
        };
        let verified = access_token::check_introspection(
            response,
            &expect,
            access_token::INTROSPECTION_TTL_SECS,
        );
        if matches!(verified, Err(TokenError::WrongClaim("active"))) {
            tokens.insert_inactive(*hash, self.now());
        }
        verified
    }

    /// The route's scopes (403) and step-up (401, RFC 9470) on a verified token.
    fn meets(
        &self,
        token: VerifiedAccessToken,
        need: &Requirement,
    ) -> Result<VerifiedAccessToken, Rejection> {
        if !token.has_scopes(need.scopes) {
            return Err(self.bearer_insufficient_scope(need.scopes));
        }
        if !need.acr_values.is_empty() {
            let acr = token.claims().get_str("acr");
            if !acr.is_some_and(|acr| need.acr_values.contains(&acr)) {
                return Err(self.insufficient_user_authentication(need));
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
                return Err(self.insufficient_user_authentication(need));
            }
        }
        Ok(token)
    }

    /// `WWW-Authenticate: Bearer realm=..., [params,] resource_metadata=...`.
    fn bearer_challenge(&self, params: &[(&str, &str)]) -> String {
        let config = &self.inner.config;
        let mut challenge = format!("Bearer realm=\"{}\"", quoted(&config.resource));
        for (name, value) in params {
            challenge.push_str(&format!(", {name}=\"{}\"", quoted(value)));
        }
        challenge.push_str(&format!(
            ", resource_metadata=\"{}\"",
            quoted(&config.resource_metadata_url)
        ));
        challenge
    }

    fn bearer_refusal(
        &self,
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
            .with_header("www-authenticate", self.bearer_challenge(&params))
            .with_header("cache-control", "no-store");
        Rejection::new(kind, response)
    }

    /// RFC 6750 §3.1: no credentials, so no error code.
    fn no_token(&self) -> Rejection {
        self.bearer_refusal(
            RejectionKind::SignedOut,
            401,
            None,
            "Send an access token: Authorization: Bearer <token>.",
            &[],
        )
    }

    fn invalid_request(&self, error: &TokenError) -> Rejection {
        tracing::debug!(%error, "bearer request refused");
        self.bearer_refusal(
            RejectionKind::InvalidToken,
            400,
            Some("invalid_request"),
            "The Authorization header is not `Bearer <token>`.",
            &[],
        )
    }

    /// Says only that the token is expired or not valid: why a signature or claim failed is
    /// logged at debug level, not told to the caller.
    fn invalid_token(&self, error: &TokenError) -> Rejection {
        let description = match error {
            TokenError::Expired => "The access token expired.",
            _ => "The access token is not valid for this resource.",
        };
        self.bearer_refusal(
            RejectionKind::InvalidToken,
            401,
            Some("invalid_token"),
            description,
            &[],
        )
    }

    fn bearer_insufficient_scope(&self, scopes: &[&str]) -> Rejection {
        let scope = scopes.join(" ");
        self.bearer_refusal(
            RejectionKind::InsufficientScope,
            403,
            Some("insufficient_scope"),
            "The access token lacks a scope this route needs.",
            &[("scope", &scope)],
        )
    }

    /// RFC 9470 §3.
    fn insufficient_user_authentication(&self, need: &Requirement) -> Rejection {
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
            RejectionKind::StepUpRequired,
            401,
            Some("insufficient_user_authentication"),
            "A stronger or more recent authentication is required.",
            &more,
        )
    }

    fn bearer_unavailable(&self) -> Rejection {
        let response = AuthResponse::json_error(
            503,
            "temporarily_unavailable",
            "The token cannot be checked right now; try again shortly.",
        )
        .with_header("retry-after", RETRY_AFTER_SECS);
        Rejection::new(RejectionKind::ProviderUnavailable, response)
    }

    /// `GET /.well-known/oauth-protected-resource[/path]` (RFC 9728 §3.2).
    pub(super) fn resource_metadata(&self) -> AuthResponse {
        let config = &self.inner.config;
        let algorithms: Vec<&str> = crate::jose::VERIFIED_ALGORITHMS
            .iter()
            .map(|alg| alg.name())
            .collect();
        let mut metadata = json!({
            "resource": config.resource,
            "authorization_servers": [config.issuer],
            "bearer_methods_supported": ["header"],
            // RFC 9728 defines this for signed responses; this resource signs none, so it
            // lists what it verifies access tokens with.
            "resource_signing_alg_values_supported": algorithms,
        });
        if !config.resource_scopes.is_empty() {
            metadata["scopes_supported"] = json!(config.resource_scopes);
        }
        AuthResponse::json(200, metadata).with_header("cache-control", "public, max-age=300")
    }
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
