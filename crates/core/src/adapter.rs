//! What an adapter author needs: how the engine sees a request, what it answers, and the
//! per-request value the extractors share. App code does not need this module.
//!
//! An adapter (see `ping-oidc-tower` and `ping-oidc-actix`) does three things:
//!
//! 1. implements [`RequestInfo`] for its framework's request;
//! 2. for a path under the route prefix ([`crate::PingOidc::match_route`]), calls
//!    [`crate::PingOidc::handle`] and copies the [`AuthResponse`] into its response;
//! 3. puts one [`RequestAuth`] in every other request, and has its extractors call
//!    [`RequestAuth::authenticate_now`] (or [`RequestAuth::optional_user_now`]), awaiting
//!    [`Pending::authenticate`] (or [`Pending::optional_user`]) only when the answer is
//!    [`Immediate::MustWait`].

pub use crate::engine::{
    AuthRoute, BearerNow, CallerPath, Immediate, Pending, PendingBearer, RequestAuth, RequestInfo,
    RequestKind, SessionPath,
};
pub use crate::response::{escape as escape_html, AuthResponse};
