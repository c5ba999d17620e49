//! The bearer-token extractors, for the app's own APIs: `BearerUser`, `BearerToken<S>`.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use futures_util::future::Either;
use http::request::Parts;
use ping_oidc::adapter::{BearerNow, RequestAuth};
use ping_oidc::{RequiredScopes, Requirement, VerifiedAccessToken};

use crate::convert::PartsView;
use crate::extract::{answered, AuthRejection, Extraction};

/// A caller with an access token for this app's resource
/// ([`Config::resource`](ping_oidc::Config::resource)): `Authorization: Bearer <token>`.
///
/// ```
/// use axum::{routing::get, Json, Router};
/// use ping_oidc_tower::BearerUser;
///
/// let api: Router = Router::new().route(
///     "/api/whoami",
///     get(|caller: BearerUser| async move { Json(caller.subject().map(str::to_string)) }),
/// );
/// ```
///
/// Refusals follow RFC 6750: `401` with `WWW-Authenticate: Bearer realm=...,
/// error="invalid_token", resource_metadata=...` (no `error` when no token was sent), `400`
/// for a malformed `Authorization` header, `503` with `Retry-After` when the provider's keys
/// cannot be fetched. No session cookie is read.
#[derive(Clone, Debug)]
pub struct BearerUser(pub VerifiedAccessToken);

impl Deref for BearerUser {
    type Target = VerifiedAccessToken;
    fn deref(&self) -> &VerifiedAccessToken {
        &self.0
    }
}

/// A bearer caller whose token carries the scopes `S` names (and its step-up, for a
/// [`step_up!`](ping_oidc::step_up) type): `403 insufficient_scope` with `scope=`, or `401
/// insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470), otherwise.
///
/// ```
/// use ping_oidc_tower::{required_scopes, BearerToken};
/// required_scopes!(OrdersRead => "orders:read");
///
/// async fn orders(caller: BearerToken<OrdersRead>) -> String {
///     format!("orders for {:?}", caller.subject())
/// }
/// ```
pub struct BearerToken<S: RequiredScopes> {
    token: VerifiedAccessToken,
    scopes: PhantomData<S>,
}

impl<S: RequiredScopes> BearerToken<S> {
    /// The verified token.
    pub fn token(&self) -> &VerifiedAccessToken {
        &self.token
    }
}

impl<S: RequiredScopes> Clone for BearerToken<S> {
    fn clone(&self) -> Self {
        Self {
            token: self.token.clone(),
            scopes: PhantomData,
        }
    }
}

impl<S: RequiredScopes> std::fmt::Debug for BearerToken<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("scopes", &S::SCOPES)
            .field("token", &self.token)
            .finish()
    }
}

impl<S: RequiredScopes> Deref for BearerToken<S> {
    type Target = VerifiedAccessToken;
    fn deref(&self) -> &VerifiedAccessToken {
        &self.token
    }
}

/// A verified token meeting `need`, without a future when it was verified before.
fn require_bearer<'a, T: 'a>(
    parts: &'a Parts,
    need: Requirement,
    wrap: fn(VerifiedAccessToken) -> T,
) -> Extraction<'a, T> {
    let Some(slot) = parts.extensions.get::<RequestAuth>() else {
        return answered(Err(AuthRejection::MissingLayer));
    };
    match slot.engine().bearer_now(&PartsView(parts), need) {
        BearerNow::Answered(answer) => answered(answer.map(wrap).map_err(AuthRejection::Refused)),
        BearerNow::MustVerify(pending) => Either::Right(Box::pin(async move {
            pending
                .verify()
                .await
                .map(wrap)
                .map_err(AuthRejection::Refused)
        })),
        _ => answered(Err(AuthRejection::MissingLayer)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerUser {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        require_bearer(parts, Requirement::SIGNED_IN, Self)
    }
}

impl<St: Send + Sync, S: RequiredScopes> FromRequestParts<St> for BearerToken<S> {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &St,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        require_bearer(parts, Requirement::of::<S>(), |token| Self {
            token,
            scopes: PhantomData,
        })
    }
}
