//! Entry points for the Criterion benchmarks in `benches/` (feature `bench`; not public API):
//! the steps of a guarded request, one at a time.

use crate::engine::RequestInfo;
use crate::error::TokenError;
use crate::id_token::VerifiedIdToken;
use crate::session::SessionData;
use crate::store::LoadedSession;
use crate::PingOidc;

/// Step 1: the `Cookie` headers to a session id (cookie parsing and the HMAC check).
pub fn session_id<'r, R: RequestInfo + ?Sized>(oidc: &PingOidc, request: &'r R) -> Option<&'r str> {
    oidc.session_id_from(request).map(|id| id.as_str())
}

/// Steps 1 and 2: the `Cookie` headers to the stored session.
pub async fn load_session<R: RequestInfo + ?Sized>(
    oidc: &PingOidc,
    request: &R,
) -> Option<LoadedSession> {
    let id = oidc.session_id_from(request)?;
    oidc.load_session(id, now_unix()).await.ok().flatten()
}

/// The clock the engine reads (unix seconds).
pub fn now_unix() -> i64 {
    crate::time::now_unix()
}

/// The access-token freshness check a guarded request makes.
pub fn needs_refresh(data: &SessionData, now: i64) -> bool {
    data.needs_refresh(now)
}

/// The session's raw ID token.
pub fn id_token(data: &SessionData) -> &str {
    &data.id_token
}

/// ID-token validation as the engine does it after a refresh (signature with the cached
/// provider keys, then every claim; no nonce), checking `at_hash` against the session's
/// access token.
pub async fn verify_id_token(
    oidc: &PingOidc,
    data: &SessionData,
    now: i64,
) -> Result<VerifiedIdToken, TokenError> {
    oidc.verify_id_token(&data.id_token, &data.access_token, None, None, now)
        .await
}

/// A `GET` from script code (`Accept: application/json`), with one `Cookie` header or none:
/// the request the benchmarks send through the engine.
#[derive(Clone, Debug)]
pub struct ApiGet {
    pub path: String,
    pub query: Option<String>,
    pub cookie: Option<String>,
    /// An `Authorization` header.
    pub authorization: Option<String>,
}

impl RequestInfo for ApiGet {
    fn method(&self) -> &str {
        "GET"
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn header(&self, name: &str) -> Option<&str> {
        match name {
            "accept" => Some("application/json"),
            "cookie" => self.cookie.as_deref(),
            "authorization" => self.authorization.as_deref(),
            _ => None,
        }
    }
    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        self.cookie.as_deref().into_iter()
    }
}

/// Signs a user in through the engine's own `/auth/login` and `/auth/callback`, asking for
/// `extra_scope` too when given. `authorize` plays the provider: it gets the authorization
/// URL and answers the callback's query string. Returns the session cookie as `name=value`.
pub async fn sign_in(
    oidc: &PingOidc,
    extra_scope: Option<&str>,
    authorize: impl FnOnce(&str) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let query = match extra_scope {
        Some(scope) => format!("return_to=%2F&scope={}", crate::engine::encode(scope)),
        None => "return_to=%2F".to_string(),
    };
    let login = ApiGet {
        path: format!("{}/login", oidc.config().route_prefix),
        query: Some(query),
        cookie: None,
        authorization: None,
    };
    let login = oidc
        .handle(crate::adapter::AuthRoute::Login, &login, b"")
        .await;
    let authorization_url = login
        .header("location")
        .ok_or_else(|| format!("/auth/login answered {} without a location", login.status))?;
    let transaction = set_cookie_pairs(&login).collect::<Vec<_>>().join("; ");
    let callback = ApiGet {
        path: format!("{}/callback", oidc.config().route_prefix),
        query: authorize(authorization_url)?,
        cookie: Some(transaction),
        authorization: None,
    };
    let answer = oidc
        .handle(crate::adapter::AuthRoute::Callback, &callback, b"")
        .await;
    let prefix = format!("{}=", oidc.config().cookie_name);
    let session = set_cookie_pairs(&answer)
        .find(|pair| pair.starts_with(&prefix) && pair.len() > prefix.len())
        .map(str::to_string);
    session.ok_or_else(|| {
        format!(
            "/auth/callback answered {} without a session cookie: {}",
            answer.status, answer.body
        )
    })
}

/// The `name=value` part of each `Set-Cookie` of a response.
fn set_cookie_pairs(response: &crate::adapter::AuthResponse) -> impl Iterator<Item = &str> {
    response
        .headers
        .iter()
        .filter(|(name, _)| *name == "set-cookie")
        .map(|(_, value)| value.split(';').next().unwrap_or_default().trim())
}

/// A bearer token's verification on a cache miss: the signature with the cached provider
/// keys (no fetch for a known `kid`), `typ`, then the claims.
pub async fn verify_access_token(
    oidc: &PingOidc,
    token: &str,
) -> Result<crate::VerifiedAccessToken, TokenError> {
    oidc.verify_access_token_uncached(token).await
}

/// Keeps `answer` (an RFC 7662 response) as the introspection of the opaque `token`, so the
/// next request with it is a cache hit, as after a real introspection call.
pub fn remember_introspection(
    oidc: &PingOidc,
    token: &str,
    answer: serde_json::Value,
) -> Result<(), TokenError> {
    match answer {
        serde_json::Value::Object(map) => oidc.remember_introspection(token, map),
        _ => Err(TokenError::Malformed("not a JSON object")),
    }
}

/// A redirect-less sign-in step's own work once the provider answered `answer` (a flow state
/// as JSON): read and normalised, the flow record updated and sealed as it is saved, then
/// opened as the next request loads it. Returns the sealed record's size in bytes.
pub fn flow_step(oidc: &PingOidc, pingfederate: bool, answer: &[u8]) -> Option<usize> {
    crate::engine::flow_step_work(oidc, pingfederate, answer)
}
