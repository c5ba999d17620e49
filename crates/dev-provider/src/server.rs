//! The axum router for both path shapes.

use std::sync::Arc;

use axum::extract::{Request, State as AxState};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::misbehave::Misbehavior;
use crate::state::Shared;
use crate::{authorize, discovery, flow, http, logout, management, token};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let u = &shared.urls;
    let mut r = Router::new()
        .route(u.path(&u.discovery), get(discovery::discovery))
        .route(
            u.path(&u.authorize),
            get(authorize::authorize).post(authorize::authorize),
        )
        .route(u.path(&u.token), post(token::token))
        .route(
            u.path(&u.userinfo),
            get(token::userinfo).post(token::userinfo),
        )
        .route(u.path(&u.jwks), get(discovery::jwks))
        .route(u.path(&u.revoke), post(token::revoke))
        .route(u.path(&u.introspect), post(token::introspect))
        .route(
            u.path(&u.end_session),
            get(logout::end_session).post(logout::end_session),
        );
    let flow_route = format!("{}/{{flow_id}}", u.path(&u.flows));
    r = r
        .route(
            &flow_route,
            get(flow::flow_endpoint).post(flow::flow_endpoint),
        )
        .route("/dev/push/approve", post(flow::approve_push_endpoint))
        .route(
            "/v1/environments/{env}/users/{user}/devices",
            get(management::user_devices),
        );
    if let Some(resume) = &u.resume {
        r = r.route(u.path(resume), get(flow::resume));
    }
    if let Some(ping) = &u.ping_end_session {
        r = r.route(
            u.path(ping),
            get(logout::end_session).post(logout::end_session),
        );
    }
    r.fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), slow))
        .with_state(shared)
}

async fn not_found() -> Response {
    http::error_page(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint at the development provider",
    )
}

/// [`Misbehavior::SlowResponses`]: delay every endpoint.
async fn slow(AxState(shared): AxState<Arc<Shared>>, req: Request, next: Next) -> Response {
    let delay = match shared.lock().misbehavior {
        Misbehavior::SlowResponses(d) => Some(d),
        _ => None,
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    next.run(req).await
}
