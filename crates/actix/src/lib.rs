//! OpenID Connect sign-in for actix-web, on the [`ping_oidc`] engine.
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use ping_oidc_actix::{AuthenticatedUser, OidcMiddleware};
//!
//! async fn me(user: AuthenticatedUser) -> HttpResponse {
//!     HttpResponse::Ok().json(user.claims())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oidc = ping_oidc::PingOidc::from_env().await?; // OIDC_ISSUER, OIDC_CLIENT_ID, APP_URL, ...
//!     HttpServer::new(move || {
//!         App::new()
//!             .route("/me", web::get().to(me))
//!             .wrap(OidcMiddleware::new(oidc.clone())) // also serves /auth/login, /auth/callback, ...
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! # What the middleware does
//! - Requests under the route prefix (default `/auth`) are answered by the engine:
//!   `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`, `GET /auth/user`,
//!   `GET /auth/token` and `POST /auth/backchannel-logout` (its body is read up to
//!   [`AuthRoute::MAX_BODY_BYTES`](ping_oidc::adapter::AuthRoute::MAX_BODY_BYTES); a larger one gets
//!   `413`). Other paths under the prefix go to your app.
//! - Every other request passes through with the engine in its extensions, for the extractors.
//!   The middleware itself reads no session: unguarded routes pay nothing, and their future is
//!   the wrapped service's own (not boxed).
//! - The extractors answer at once, with no future, when the session is held in memory, its
//!   access token is fresh and no use needs recording; otherwise (Redis, a refresh or touch
//!   due) their future is boxed.
//!
//! Nothing here needs `Send` futures or a multi-threaded runtime: each actix worker runs its
//! requests on its own single-threaded runtime, and so does the engine.
//!
//! # Ordering
//! Wrap the whole [`App`](actix_web::App), so that the middleware sees the `/auth/*` paths
//! even though no route of yours matches them. With several `wrap` calls the last one runs
//! first: put logging or tracing middleware after `OidcMiddleware` to see the auth routes
//! too. Wrapping only a [`Scope`](actix_web::Scope) serves the auth routes only if they lie
//! under that scope.
//!
//! # Extractors and their errors
//! - [`AuthenticatedUser`]: the signed-in user. The access token is refreshed before your
//!   handler runs when it has expired or is about to (one refresh per session, however many
//!   requests ask at once).
//! - [`OptionalUser`]: the same, or `None`. Prefer it to `Option<AuthenticatedUser>`, which
//!   actix-web turns into `None` on any refusal, outages included.
//! - [`ScopedToken<S>`]: a user whose token carries the scopes `S` names.
//! - [`BearerUser`] and [`BearerToken<S>`]: for the app's own APIs, a caller with an
//!   `Authorization: Bearer` access token for the app's resource (no session involved); see
//!   [`ping_oidc::guides::protecting_apis`].
//!
//! Several extractors in one handler ask the engine once: the user is kept in the request's
//! extensions.
//!
//! A refusal is an [`AuthRejection`], an actix-web [`ResponseError`](actix_web::ResponseError)
//! whose response is the engine's: browser navigations (`Sec-Fetch-Mode: navigate`, or
//! `Accept: text/html`) are redirected to sign-in and come back afterwards; other requests get
//! `401` JSON, or `403` with `WWW-Authenticate: Bearer error="insufficient_scope"`. When the
//! provider or the session store is down the answer is `503` with `Retry-After`, and the
//! session is kept.
//!
//! The middleware must wrap every route that uses the extractors; without it they answer
//! `500` JSON (`server_misconfigured`) with a message saying so.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bearer;
mod convert;
mod extract;
mod middleware;

pub use bearer::{BearerToken, BearerUser, ScopedCaller, SessionOrBearer};
pub use extract::{AuthRejection, AuthenticatedUser, OptionalUser, ScopedToken};
pub use middleware::{AuthAnswer, OidcMiddleware, OidcMiddlewareService, ResponseFuture};
pub use ping_oidc::{self, api, required_scopes, ApiConfig, PingOidc, RequiredScopes};
// What handlers and `main` touch, so that an app depends on this crate alone.
#[cfg(feature = "redis")]
pub use ping_oidc::store::RedisStore;
pub use ping_oidc::{
    AccessToken, Authenticated, Caller, Claims, Config, ConfigBuilder, ConfigError, DeviceKind,
    FlowApi, FlowDevice, FlowStep, MemoryStore, PingOidcBuilder, Rejection, StartError, StoreError,
    VerifiedAccessToken,
};
