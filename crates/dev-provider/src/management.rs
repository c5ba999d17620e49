//! A slice of PingOne's management API, for worker tokens: `GET
//! /v1/environments/{envId}/users/{userId}/devices` lists a user's MFA devices. It needs a
//! token from the client credentials grant of a worker client
//! ([`ClientRegistration::worker`](crate::ClientRegistration::worker)); a user's own token
//! gets 403, as PingOne answers a token without the role.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::config::PathShape;
use crate::http::json_response;
use crate::state::{now_secs, Shared};

/// The `aud` of worker tokens: the management API's base.
pub(crate) fn audience(shared: &Shared) -> String {
    format!("{}/v1", shared.urls.base_url)
}

/// The environment id the management API answers for (the default one in PingFederate's
/// shape, which has no environments).
fn environment(shared: &Shared) -> &str {
    match &shared.urls.shape {
        PathShape::PingOne { env_id } => env_id,
        PathShape::PingFederate => crate::DEFAULT_ENV_ID,
    }
}

/// PingOne's error body (`code`, `message`).
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "code": code, "message": message }))
}

pub(crate) async fn user_devices(
    AxState(shared): AxState<Arc<Shared>>,
    Path((env, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut st = shared.lock();
    st.stats.management_calls += 1;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "The request has no access token.",
        );
    };
    let Some(record) = st.access_tokens.get(token) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "The access token is not valid.",
        );
    };
    if record.revoked || now_secs() >= record.exp {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "The access token has expired or was revoked.",
        );
    }
    let is_worker = record.sub == record.client_id
        && st
            .clients
            .get(&record.client_id)
            .is_some_and(|client| client.client_credentials);
    if !is_worker {
        return error(
            StatusCode::FORBIDDEN,
            "ACCESS_FAILED",
            "The token's actor has no role for this request.",
        );
    }
    if env != environment(&shared) {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such environment.");
    }
    let Some(user) = st.user_by_sub(&user_id) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such user.");
    };
    let devices: Vec<Value> = user
        .devices
        .iter()
        .map(|device| {
            let mut value = crate::flow::p1_device(device);
            value["status"] = "ACTIVE".into();
            value
        })
        .collect();
    let count = devices.len();
    json_response(
        StatusCode::OK,
        &json!({ "_embedded": { "devices": devices }, "count": count, "size": count }),
    )
}
