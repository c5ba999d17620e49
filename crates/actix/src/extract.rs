//! The extractors: `AuthenticatedUser`, `OptionalUser`, `ScopedToken<S>`.

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::Either;
use ping_oidc::adapter::{AuthResponse, Immediate, Pending, RequestAuth};
use ping_oidc::{
    AccessToken, Authenticated, Rejection, RejectionKind, RequiredScopes, Requirement,
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

/// What the extractors' futures are: ready at once when the engine answered without waiting
/// (a memory-held session with a fresh token: most requests), else boxed (not `Send`: actix
/// runs each on its worker).
pub(crate) type Extraction<T> = Either<
    Ready<Result<T, AuthRejection>>,
    Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>,
>;

pub(crate) fn waiting<T>(
    future: impl Future<Output = Result<T, AuthRejection>> + 'static,
) -> Extraction<T> {
    Either::Right(Box::pin(future))
}

pub(crate) fn answered<T>(answer: Result<T, AuthRejection>) -> Extraction<T> {
    Either::Left(ready(answer))
}

/// `extraction`'s answer passed through `then`, still without a future when it had none.
pub(crate) fn then<A: 'static, T: 'static>(
    extraction: Extraction<A>,
    then: impl FnOnce(Result<A, AuthRejection>) -> Result<T, AuthRejection> + 'static,
) -> Extraction<T> {
    match extraction {
        Either::Left(ready) => answered(then(ready.into_inner())),
        Either::Right(future) => waiting(async move { then(future.await) }),
    }
}

/// Keeps a user that took waiting to find (a store round trip, a touch or a refresh) for the
/// request's later extractors. An answer given at once is cheaper to find again than to keep.
fn remember(request: &HttpRequest, user: &Authenticated) {
    if let Some(slot) = request.extensions_mut().get_mut::<RequestAuth>() {
        slot.remember(user);
    }
}

/// What the engine said without waiting: its answer, or that it must wait (with a handle
/// on it for the future that will).
enum FirstLook<A> {
    Answered(A),
    MustWait(Pending),
}

/// The request's engine slot, asked to answer without waiting.
fn first_look<A>(
    request: &HttpRequest,
    now: impl FnOnce(&RequestAuth) -> Immediate<A>,
) -> Result<FirstLook<A>, AuthRejection> {
    let extensions = request.extensions();
    let slot = extensions
        .get::<RequestAuth>()
        .ok_or(AuthRejection::MissingLayer)?;
    Ok(match now(slot) {
        Immediate::Answered(answer) => FirstLook::Answered(answer),
        Immediate::MustWait(pending) => FirstLook::MustWait(pending),
    })
}

/// A user with `scopes` (a user found earlier is reused when its token carries them),
/// without a future when the engine answers at once.
pub(crate) fn require_user<T: 'static>(
    request: &HttpRequest,
    need: Requirement,
    wrap: fn(Authenticated) -> T,
) -> Extraction<T> {
    let view = RequestView::of(request);
    match first_look(request, |slot| slot.authenticate_for_now(&view, need)) {
        Err(rejection) => answered(Err(rejection)),
        Ok(FirstLook::Answered(answer)) => {
            answered(answer.map(wrap).map_err(AuthRejection::Refused))
        }
        Ok(FirstLook::MustWait(pending)) => {
            let request = request.clone();
            waiting(async move {
                let view = RequestView::of(&request);
                let answer = pending.authenticate_for(&view, need).await;
                found(&request, answer).map(wrap)
            })
        }
    }
}

/// The engine's answer after waiting, remembered for the request's later extractors.
fn found(
    request: &HttpRequest,
    answer: Result<Authenticated, Rejection>,
) -> Result<Authenticated, AuthRejection> {
    let user = answer.map_err(AuthRejection::Refused)?;
    remember(request, &user);
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
        require_user(request, Requirement::SIGNED_IN, AuthenticatedUser)
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
        let view = RequestView::of(request);
        match first_look(request, |slot| slot.optional_user_now(&view)) {
            Err(rejection) => answered(Err(rejection)),
            Ok(FirstLook::Answered(answer)) => {
                answered(answer.map(OptionalUser).map_err(AuthRejection::Refused))
            }
            Ok(FirstLook::MustWait(pending)) => {
                let request = request.clone();
                waiting(async move {
                    let view = RequestView::of(&request);
                    let answer = pending.optional_user(&view).await;
                    found_optional(&request, answer)
                })
            }
        }
    }
}

fn found_optional(
    request: &HttpRequest,
    answer: Result<Option<Authenticated>, Rejection>,
) -> Result<OptionalUser, AuthRejection> {
    let user = answer.map_err(AuthRejection::Refused)?;
    if let Some(user) = &user {
        remember(request, user);
    }
    Ok(OptionalUser(user))
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
    /// The access token (fresh as of this request) with the required scopes: for an
    /// [`api!`](ping_oidc::api) type, that API's own token.
    pub fn token(&self) -> AccessToken {
        self.user.token_for::<S>()
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
        require_user(request, Requirement::of::<S>(), |user| ScopedToken {
            user,
            required: PhantomData,
        })
    }
}
