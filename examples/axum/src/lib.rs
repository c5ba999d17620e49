//! The example site on axum: routing only; pages and configuration come from
//! `ping-oidc-example-site`.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use ping_oidc_example_site::{self as site, OrdersRead, RecentMfa, ResourceRead};
use ping_oidc_tower::{
    AuthenticatedUser, BearerToken, OidcLayer, OptionalUser, PingOidc, ScopedToken, SessionOrBearer,
};

/// The whole site, `/auth/*` included.
pub fn router(oidc: PingOidc) -> Router {
    Router::new()
        .route("/", get(|OptionalUser(user): OptionalUser| async move { Html(site::home_page(user.as_ref())) }))
        .route("/profile", get(|user: AuthenticatedUser| async move { Html(site::profile_page(&user)) }))
        .route("/api/me", get(|user: AuthenticatedUser| async move { Json(site::me_json(&user)) }))
        .route("/api/ok", get(|_: AuthenticatedUser| async { "ok" }))
        .route("/api/orders", get(|token: ScopedToken<OrdersRead>| async move { Json(site::orders_json(&token)).into_response() }))
        .route("/api/devices", get(|user: AuthenticatedUser| async move { let (status, body) = site::devices_json(&user).await; (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY), Json(body)) }))
        .route("/api/step-up", get(|user: ScopedToken<RecentMfa>| async move { Json(site::step_up_json(&user)) }))
        .route("/api/resource", get(|caller: BearerToken<ResourceRead>| async move { Json(site::resource_json(&caller)).into_response() }))
        .route("/api/resource/step-up", get(|caller: BearerToken<RecentMfa>| async move { Json(site::resource_json(&caller)).into_response() }))
        .route("/api/caller", get(caller).post(caller))
        .route("/healthz", get(|| async { "ok" }))
        .layer(OidcLayer::new(oidc))
}

async fn caller(caller: SessionOrBearer) -> impl IntoResponse {
    Json(site::caller_json(&caller))
}

/// Serves the site on `listener` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, oidc: PingOidc) -> std::io::Result<()> {
    axum::serve(listener, router(oidc)).await
}
