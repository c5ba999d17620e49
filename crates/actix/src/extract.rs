//! The extractors: `AuthenticatedUser`, `OptionalUser`, `ScopedToken<S>`.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use ping_oidc::{
    AccessToken, AuthResponse, Authenticated, PingOidc, Rejection, RejectionKind, RequestAuth,
    RequiredScopes,
};

use crate::convert::{to_http_response, RequestView};

/// Why an extractor refused the request. Its [`ResponseError`] response is the one to send.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Signed out, session ended, missing scopes, provider or store down: see
    /// [`Rejection::kind`].
    Refused(Rejection),
    /// [`OidcMiddleware`](crate::OidcMiddleware) does not wrap this route.
    MissingLayer,
}

impl AuthRejection {
    /// Why, when the engine refused.
    pub fn kind(&self) -> Option<RejectionKind> {
        if let Self::Refused(rejection) = self {
            Some(rejection.kind())
        } else {
            None
        }
    }

    /// The engine's response for this refusal.
    pub fn to_auth_response(&self) -> AuthResponse {
        match self {
            Self::Refused(rejection) => rejection.response().clone(),
            Self::MissingLayer => {
                AuthResponse::adapter_not_installed("wrap the app with OidcMiddleware (App::wrap)")
            }
        }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingLayer => write!(f, "OidcMiddleware does not wrap this route"),
            Self::Refused(rejection) => write!(f, "{rejection}"),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        let status = match self {
            Self::Refused(rejection) => rejection.response().status,
            Self::MissingLayer => 500,
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        to_http_response(self.to_auth_response())
    }
}

/// What the extractors' futures are: boxed, and not `Send` (actix runs each on its worker).
type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

/// The engine the middleware left in the request's extensions.
fn engine_of(request: &HttpRequest) -> Result<PingOidc, AuthRejection> {
    let extensions = request.extensions();
    extensions
        .get::<RequestAuth>()
        .map(|slot| slot.engine().clone())
        .ok_or(AuthRejection::MissingLayer)
}

/// The user an earlier extractor of this request found, if any.
fn already_found(request: &HttpRequest) -> Option<Authenticated> {
    let extensions = request.extensions();
    extensions.get::<RequestAuth>()?.user().cloned()
}

fn remember(request: &HttpRequest, user: &Authenticated) {
    if let Some(slot) = request.extensions_mut().get_mut::<RequestAuth>() {
        slot.remember(user);
    }
}

/// Asks the engine for a user with `scopes`, once per request: a user found earlier is
/// reused when its token carries them.
async fn require_user(
    request: HttpRequest,
    scopes: &'static [&'static str],
) -> Result<Authenticated, AuthRejection> {
    if let Some(user) = already_found(&request).filter(|user| user.has_scopes(scopes)) {
        return Ok(user);
    }
    let oidc = engine_of(&request)?;
    let found = oidc.authenticate(&RequestView::of(&request), scopes).await;
    let user = found.map_err(AuthRejection::Refused)?;
    remember(&request, &user);
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

impl FromRequest for AuthenticatedUser {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { require_user(request, &[]).await.map(AuthenticatedUser) })
    }
}

/// The signed-in user, or `None`. Refuses only when the store or provider is down.
///
/// Use this rather than `Option<AuthenticatedUser>`: actix-web's `Option<T>` extractor turns
/// every refusal into `None`, a `503` for an unreachable session store included.
#[derive(Clone, Debug)]
pub struct OptionalUser(pub Option<Authenticated>);

impl Deref for OptionalUser {
    type Target = Option<Authenticated>;
    fn deref(&self) -> &Option<Authenticated> {
        &self.0
    }
}

impl FromRequest for OptionalUser {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            if let Some(user) = already_found(&request) {
                return Ok(OptionalUser(Some(user)));
            }
            let oidc = engine_of(&request)?;
            let found = oidc.optional_user(&RequestView::of(&request)).await;
            let user = found.map_err(AuthRejection::Refused)?;
            if let Some(user) = &user {
                remember(&request, user);
            }
            Ok(OptionalUser(user))
        })
    }
}

/// A signed-in user whose access token carries every scope `S` names.
///
/// ```
/// use ping_oidc_actix::{required_scopes, ScopedToken};
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
    required: PhantomData<fn() -> S>,
}

impl<S: RequiredScopes> ScopedToken<S> {
    /// The access token (fresh as of this request) with the required scopes.
    pub fn token(&self) -> AccessToken {
        self.user.access_token()
    }
}

impl<S: RequiredScopes> Deref for ScopedToken<S> {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.user
    }
}

impl<S: RequiredScopes> Clone for ScopedToken<S> {
    fn clone(&self) -> Self {
        ScopedToken {
            user: self.user.clone(),
            required: PhantomData,
        }
    }
}

impl<S: RequiredScopes> std::fmt::Debug for ScopedToken<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScopedToken({:?}, {:?})", S::SCOPES, self.user)
    }
}

impl<S: RequiredScopes> FromRequest for ScopedToken<S> {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let user = require_user(request, S::SCOPES).await?;
            Ok(ScopedToken {
                user,
                required: PhantomData,
            })
        })
    }
}
