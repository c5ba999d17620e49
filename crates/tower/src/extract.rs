//! The extractors: `AuthenticatedUser`, `OptionalUser`, `ScopedToken<S>`.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use ping_oidc::{
    AccessToken, AuthResponse, Authenticated, Immediate, Rejection, RejectionKind, RequestAuth,
    RequiredScopes,
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

fn remember(parts: &mut Parts, user: &Authenticated) {
    if let Some(slot) = parts.extensions.get_mut::<RequestAuth>() {
        slot.remember(user);
    }
}

/// Runs the engine once per request; later extractors reuse the result.
async fn authenticate(parts: &mut Parts, scopes: &[&str]) -> Result<Authenticated, AuthRejection> {
    let Some(slot) = parts.extensions.get::<RequestAuth>() else {
        return Err(AuthRejection::MissingLayer);
    };
    // Most requests are answered without waiting (a memory-held session with a fresh token).
    let answer = match slot.authenticate_now(&PartsView(parts), scopes) {
        Immediate::Answered(answer) => answer,
        // The engine is borrowed from the extensions (not cloned) while it runs. Boxed, so
        // that the extractor's own future stays small for the requests answered at once.
        Immediate::MustWait(pending) => {
            let view = PartsView(parts);
            Box::pin(slot.engine().authenticate_pending(&view, pending, scopes)).await
        }
    };
    let user = answer.map_err(AuthRejection::Refused)?;
    remember(parts, &user);
    Ok(user)
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

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &[]).await.map(Self)
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

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(slot) = parts.extensions.get::<RequestAuth>() else {
            return Err(AuthRejection::MissingLayer);
        };
        let answer = match slot.optional_user_now(&PartsView(parts)) {
            Immediate::Answered(answer) => answer,
            Immediate::MustWait(pending) => {
                let view = PartsView(parts);
                Box::pin(slot.engine().optional_user_pending(&view, pending)).await
            }
        };
        let user = answer.map_err(AuthRejection::Refused)?;
        if let Some(user) = &user {
            remember(parts, user);
        }
        Ok(Self(user))
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
    /// The access token (fresh as of this request) with the required scopes.
    pub fn token(&self) -> AccessToken {
        self.user.access_token()
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

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        authenticate(parts, S::SCOPES).await.map(|user| Self {
            user,
            scopes: PhantomData,
        })
    }
}
