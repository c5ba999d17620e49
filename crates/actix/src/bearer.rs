//! The bearer-token extractors, for the app's own APIs: `BearerUser`, `BearerToken<S>`; and
//! `SessionOrBearer` / `ScopedCaller<S>` for routes that serve both the app's pages and API
//! clients.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use ping_oidc::adapter::{BearerNow, CallerPath, RequestAuth};
use ping_oidc::{Caller, RequiredScopes, Requirement, VerifiedAccessToken};

use crate::convert::RequestView;
use crate::extract::{answered, require_user, then, waiting, AuthRejection, Extraction};

/// A caller with an access token for this app's resource
/// ([`Config::resource`](ping_oidc::Config::resource)): `Authorization: Bearer <token>`.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use ping_oidc_actix::BearerUser;
///
/// async fn whoami(caller: BearerUser) -> HttpResponse {
///     HttpResponse::Ok().json(caller.subject())
/// }
/// let app = App::new().route("/api/whoami", web::get().to(whoami));
/// # drop(app);
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
/// use ping_oidc_actix::{required_scopes, BearerToken};
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
fn require_bearer<T: 'static>(
    request: &HttpRequest,
    need: Requirement,
    wrap: fn(VerifiedAccessToken) -> T,
) -> Extraction<T> {
    let now = {
        let extensions = request.extensions();
        let Some(slot) = extensions.get::<RequestAuth>() else {
            return answered(Err(AuthRejection::MissingLayer));
        };
        slot.engine().bearer_now(&RequestView::of(request), need)
    };
    match now {
        BearerNow::MustVerify(pending) => waiting(async move {
            pending
                .verify()
                .await
                .map(wrap)
                .map_err(AuthRejection::Refused)
        }),
        BearerNow::Answered(answer) => answered(answer.map(wrap).map_err(AuthRejection::Refused)),
        _ => answered(Err(AuthRejection::MissingLayer)),
    }
}

impl FromRequest for BearerUser {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_bearer(request, Requirement::SIGNED_IN, BearerUser)
    }
}

impl<S: RequiredScopes> FromRequest for BearerToken<S> {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_bearer(request, Requirement::of::<S>(), |token| Self {
            token,
            scopes: PhantomData,
        })
    }
}

/// A caller of a route that serves both this app's pages and API clients: the signed-in user
/// (session cookie) or a client with an access token for this app's resource. Derefs to
/// [`Caller`].
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use ping_oidc_actix::SessionOrBearer;
///
/// async fn add_note(caller: SessionOrBearer) -> HttpResponse {
///     HttpResponse::Ok().json(caller.subject())
/// }
/// let app = App::new().route("/api/notes", web::post().to(add_note));
/// # drop(app);
/// ```
///
/// A request with `Authorization: Bearer` (or `DPoP`) takes the bearer path and never falls
/// back to the cookie; one without takes the session path. **CSRF:** the browser attaches the
/// cookie to cross-site requests too, so a session caller's `POST`, `PUT`, `PATCH` or
/// `DELETE` with cookies must come from this site (`Sec-Fetch-Site: same-origin`, else an `Origin` equal to
/// `APP_URL`'s, else `X-CSRF: 1`), or it is refused with `403 cross_site_request`. Keep
/// `GET` handlers free of side effects. A fetch with neither gets the bearer challenge
/// (`401` with `WWW-Authenticate`); a page navigation goes to sign-in.
#[derive(Clone, Debug)]
pub struct SessionOrBearer(pub Caller);

impl Deref for SessionOrBearer {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// [`SessionOrBearer`] with the scopes (and step-up) `S` names: on the session's access token
/// for a session caller, on the sent token for a token caller.
pub struct ScopedCaller<S: RequiredScopes> {
    caller: Caller,
    scopes: PhantomData<S>,
}

impl<S: RequiredScopes> Clone for ScopedCaller<S> {
    fn clone(&self) -> Self {
        Self {
            caller: self.caller.clone(),
            scopes: PhantomData,
        }
    }
}

impl<S: RequiredScopes> std::fmt::Debug for ScopedCaller<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedCaller")
            .field("scopes", &S::SCOPES)
            .field("caller", &self.caller)
            .finish()
    }
}

impl<S: RequiredScopes> Deref for ScopedCaller<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// The caller, by the path the engine picks from the headers.
fn require_caller<T: 'static>(
    request: &HttpRequest,
    need: Requirement,
    wrap: fn(Caller) -> T,
) -> Extraction<T> {
    let engine = {
        let extensions = request.extensions();
        let Some(slot) = extensions.get::<RequestAuth>() else {
            return answered(Err(AuthRejection::MissingLayer));
        };
        slot.engine().clone()
    };
    let view = RequestView::of(request);
    match engine.caller_path(&view) {
        CallerPath::Token => then(
            require_bearer(request, need, Caller::Token),
            move |answer| answer.map(wrap),
        ),
        CallerPath::Session(path) => then(
            require_user(request, need, Caller::Session),
            move |answer| {
                answer.map(wrap).map_err(|rejection| match rejection {
                    AuthRejection::Refused(refusal) => {
                        AuthRejection::Refused(engine.caller_refusal(path, refusal))
                    }
                    other => other,
                })
            },
        ),
        CallerPath::Refused(refusal) => answered(Err(AuthRejection::Refused(refusal))),
        _ => answered(Err(AuthRejection::MissingLayer)),
    }
}

impl FromRequest for SessionOrBearer {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_caller(request, Requirement::SIGNED_IN, Self)
    }
}

impl<S: RequiredScopes> FromRequest for ScopedCaller<S> {
    type Error = AuthRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_caller(request, Requirement::of::<S>(), |caller| Self {
            caller,
            scopes: PhantomData,
        })
    }
}
