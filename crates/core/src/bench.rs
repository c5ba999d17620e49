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
    oidc.session_id_from(request)
}

/// Steps 1 and 2: the `Cookie` headers to the stored session.
pub async fn load_session<R: RequestInfo + ?Sized>(
    oidc: &PingOidc,
    request: &R,
) -> Option<LoadedSession> {
    let id = oidc.session_id_from(request)?;
    oidc.store().load(id).await.ok().flatten()
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
    oidc.bench_verify_id_token(&data.id_token, &data.access_token, now)
        .await
}
