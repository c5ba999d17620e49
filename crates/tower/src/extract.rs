//! The extractors: `AuthenticatedUser`, `OptionalUser`, `ScopedToken<S>`.

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use http::request::Parts;
use ping_oidc::adapter::{AuthResponse, Immediate, RequestAuth};
use ping_oidc::{
    AccessToken, Authenticated, Rejection, RejectionKind, RequiredScopes, Requirement,
};

use crate::convert::{into_http, PartsView};

/// Why an extractor refused the request. Converts into the response to send.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Signed out, session ended, missing scopes, provider or store down: see
    /// [`Rejection::kind`].
    Refused(Rejection),
    /// [`OidcLayer`](crate::OidcLayer) does not wrap this route.
    MissingLayer,
}

impl AuthRejection {
    /// Why, when the engine refused.
    pub fn kind(&self) -> Option<RejectionKind> {
        match self {
            Self::Refused(rejection) => Some(rejection.kind()),
            Self::MissingLayer => None,
        }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(rejection) => rejection.fmt(f),
            Self::MissingLayer => f.write_str("OidcLayer is not installed on this route"),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(rejection) => into_http(rejection.into_response()),
            Self::MissingLayer => into_http(AuthResponse::adapter_not_installed(
                "add OidcLayer to the router",
            )),
        }
    }
}

/// What the extractors' futures are: ready at once when the engine answered without waiting
/// (a memory-held session with a fresh token: most requests), else boxed.
pub(crate) type Extraction<'a, T> = Either<
    Ready<Result<T, AuthRejection>>,
    Pin<Box<dyn Future<Output = Result<T, AuthRejection>> + Send + 'a>>,
>;

pub(crate) fn answered<'a, T>(answer: Result<T, AuthRejection>) -> Extraction<'a, T> {
    Either::Left(ready(answer))
}

/// `extraction`'s answer passed through `then`, still without a future when it had none.
pub(crate) fn then<'a, A: 'a, T: 'a>(
    extraction: Extraction<'a, A>,
    then: impl FnOnce(Result<A, AuthRejection>) -> Result<T, AuthRejection> + Send + 'a,
) -> Extraction<'a, T> {
    match extraction {
        Either::Left(ready) => answered(then(ready.into_inner())),
        Either::Right(waiting) => Either::Right(Box::pin(async move { then(waiting.await) })),
    }
}

/// Keeps a user that took waiting to find (a store round trip, a touch or a refresh) for the
/// request's later extractors. An answer given at once is cheaper to find again than to keep.
fn remember(parts: &mut Parts, user: &Authenticated) {
    if let Some(slot) = parts.extensions.get_mut::<RequestAuth>() {
        slot.remember(user);
    }
}

/// A user with `scopes` (a user found earlier is reused when its token carries them),
/// without a future when the engine answers at once.
pub(crate) fn require_user<'a, T: 'a>(
    parts: &'a mut Parts,
    need: Requirement,
    wrap: fn(Authenticated) -> T,
) -> Extraction<'a, T> {
    let Some(slot) = parts.extensions.get::<RequestAuth>() else {
        return answered(Err(AuthRejection::MissingLayer));
    };
    match slot.authenticate_for_now(&PartsView(parts), need) {
        Immediate::Answered(answer) => answered(answer.map(wrap).map_err(AuthRejection::Refused)),
        Immediate::MustWait(pending) => Either::Right(Box::pin(async move {
            let answer = pending.authenticate_for(&PartsView(parts), need).await;
            let user = answer.map_err(AuthRejection::Refused)?;
            remember(parts, &user);
            Ok(wrap(user))
        })),
    }
}

/// The signed-in user; refuses the request otherwise (see the [crate docs](crate)).
///
/// Derefs to [`Authenticated`]: `subject()`, `claims()`, `access_token()`,
/// `fresh_access_token().await`.
#[derive(Clone, Debug)]
pub struct AuthenticatedUser(pub Authenticated);

impl Deref for AuthenticatedUser {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedUser {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        require_user(parts, Requirement::SIGNED_IN, Self)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthenticatedUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let OptionalUser(user) =
            <OptionalUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(user.map(Self))
    }
}

/// The signed-in user, or `None`. Refuses only when the store or provider is down.
#[derive(Clone, Debug)]
pub struct OptionalUser(pub Option<Authenticated>);

impl Deref for OptionalUser {
    type Target = Option<Authenticated>;
    fn deref(&self) -> &Option<Authenticated> {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OptionalUser {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let Some(slot) = parts.extensions.get::<RequestAuth>() else {
            return answered(Err(AuthRejection::MissingLayer));
        };
        match slot.optional_user_now(&PartsView(parts)) {
            Immediate::Answered(answer) => {
                answered(answer.map(Self).map_err(AuthRejection::Refused))
            }
            Immediate::MustWait(pending) => Either::Right(Box::pin(async move {
                let answer = pending.optional_user(&PartsView(parts)).await;
                let user = answer.map_err(AuthRejection::Refused)?;
                if let Some(user) = &user {
                    remember(parts, user);
                }
                Ok(Self(user))
            })),
        }
    }
}

/// A signed-in user whose access token carries every scope `S` names.
///
/// ```
/// use ping_oidc_tower::{required_scopes, ScopedToken};
/// required_scopes!(OrdersRead => "orders:read");
///
/// async fn orders(token: ScopedToken<OrdersRead>) -> String {
///     format!("calling the orders API for {}", token.subject())
/// }
/// ```
///
/// Without the scopes, a browser navigation is sent through sign-in asking for them
/// (incremental consent) and comes back; other requests get `403` with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`.
pub struct ScopedToken<S: RequiredScopes> {
    user: Authenticated,
    scopes: PhantomData<S>,
}

impl<S: RequiredScopes> ScopedToken<S> {
    /// The access token (fresh as of this request) with the required scopes: for an
    /// [`api!`](ping_oidc::api) type, that API's own token.
    pub fn token(&self) -> AccessToken {
        self.user.token_for::<S>()
    }
}

impl<S: RequiredScopes> Clone for ScopedToken<S> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            scopes: PhantomData,
        }
    }
}

impl<S: RequiredScopes> std::fmt::Debug for ScopedToken<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedToken")
            .field("scopes", &S::SCOPES)
            .field("user", &self.user)
            .finish()
    }
}

impl<S: RequiredScopes> Deref for ScopedToken<S> {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.user
    }
}

impl<St: Send + Sync, S: RequiredScopes> FromRequestParts<St> for ScopedToken<S> {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &St,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        require_user(parts, Requirement::of::<S>(), |user| Self {
            user,
            scopes: PhantomData,
        })
    }
}
