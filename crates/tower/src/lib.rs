//! OpenID Connect sign-in for axum, on the [`ping_oidc`] engine.
//!
//! ```no_run
//! use axum::{routing::get, Json, Router};
//! use ping_oidc_tower::{AuthenticatedUser, OidcLayer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oidc = ping_oidc::PingOidc::from_env().await?; // OIDC_ISSUER, OIDC_CLIENT_ID, APP_URL, ...
//!     let app = Router::new()
//!         .route("/me", get(|user: AuthenticatedUser| async move { Json(user.claims().clone()) }))
//!         .layer(OidcLayer::new(oidc)); // also serves /auth/login, /auth/callback, /auth/logout, ...
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # What the layer does
//! - Requests under the route prefix (default `/auth`) are answered by the engine:
//!   `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`, `GET /auth/user`,
//!   `GET /auth/token`, `POST /auth/backchannel-logout` and the resource's metadata at
//!   `GET /.well-known/oauth-protected-resource`. Other paths under the prefix go to
//!   your router.
//! - Every other request passes through with the engine in its extensions, for the extractors.
//!   The layer itself reads no session: unguarded routes pay nothing.
//!
//! # Extractors and their errors
//! - [`AuthenticatedUser`]: the signed-in user. The access token is refreshed before your
//!   handler runs when it has expired or is about to (one refresh per session, however many
//!   requests ask at once).
//! - [`OptionalUser`]: the same, or `None`.
//! - [`ScopedToken<S>`]: a user whose token carries the scopes `S` names.
//! - [`BearerUser`] and [`BearerToken<S>`]: for the app's own APIs, a caller with an
//!   `Authorization: Bearer` access token for the app's resource (no session involved); see
//!   [`ping_oidc::guides::protecting_apis`].
//!
//! A refusal is an [`AuthRejection`]: browser navigations (`Sec-Fetch-Mode: navigate`, or
//! `Accept: text/html`) are redirected to sign-in and come back afterwards; other requests get
//! `401` JSON, or `403` with `WWW-Authenticate: Bearer error="insufficient_scope"`. When the
//! provider or the session store is down the answer is `503` with `Retry-After`, and the
//! session is kept.
//!
//! The layer must wrap every route that uses the extractors; without it they answer `500`
//! with a message saying so.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bearer;
mod convert;
mod extract;
mod layer;

pub use bearer::{BearerToken, BearerUser, ScopedCaller, SessionOrBearer};
pub use extract::{AuthRejection, AuthenticatedUser, OptionalUser, ScopedToken};
pub use layer::{OidcLayer, OidcService};
pub use ping_oidc::{self, api, required_scopes, ApiConfig, PingOidc, RequiredScopes};
// What handlers and `main` touch, so that an app depends on this crate alone.
#[cfg(feature = "redis")]
pub use ping_oidc::store::RedisStore;
pub use ping_oidc::{
    AccessToken, Authenticated, Caller, Claims, Config, ConfigBuilder, ConfigError, DeviceKind,
    FlowApi, FlowDevice, FlowStep, MemoryStore, PingOidcBuilder, Rejection, StartError, StoreError,
    VerifiedAccessToken,
};
