//! Discovery document and JWKS.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::client_jwt::{ASYMMETRIC_ALGS, HMAC_ALGS};
use crate::config::PathShape;
use crate::http::json_response;
use crate::misbehave::{Misbehavior, WRONG_ISSUER};
use crate::state::{Shared, Urls};

/// Scopes the provider knows.
pub(crate) const SUPPORTED_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The OpenID Provider metadata.
pub(crate) fn document(urls: &Urls, misbehavior: &Misbehavior) -> Value {
    let issuer = if *misbehavior == Misbehavior::DiscoveryWrongIssuer {
        WRONG_ISSUER.to_owned()
    } else {
        urls.issuer.clone()
    };
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ];
    let mut assertion_algs = HMAC_ALGS.to_vec();
    assertion_algs.extend(ASYMMETRIC_ALGS);
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": urls.authorize,
        "token_endpoint": urls.token,
        "userinfo_endpoint": urls.userinfo,
        "jwks_uri": urls.jwks,
        "revocation_endpoint": urls.revoke,
        "introspection_endpoint": urls.introspect,
        "end_session_endpoint": urls.end_session,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "scopes_supported": SUPPORTED_SCOPES,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "azp",
            "amr", "name", "given_name", "family_name", "middle_name", "nickname",
            "preferred_username", "profile", "picture", "website", "gender", "birthdate",
            "zoneinfo", "locale", "updated_at", "email", "email_verified", "address",
            "phone_number", "phone_number_verified"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ASYMMETRIC_ALGS,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
    });
    if let (PathShape::PingOne { .. }, Some(obj)) = (&urls.shape, doc.as_object_mut()) {
        obj.insert(
            "response_modes_supported".into(),
            json!(["query", "pi.flow"]),
        );
    }
    if let (Some(ping), Some(obj)) = (&urls.ping_end_session, doc.as_object_mut()) {
        obj.insert("ping_end_session_endpoint".into(), ping.clone().into());
    }
    doc
}

pub(crate) async fn discovery(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let misbehavior = shared.lock().misbehavior.clone();
    json_response(StatusCode::OK, &document(&shared.urls, &misbehavior))
}

pub(crate) async fn jwks(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let (mut doc, misbehavior) = {
        let state = shared.lock();
        (state.keys.jwks(), state.misbehavior.clone())
    };
    if misbehavior == Misbehavior::JwksKeysForEncryptionOnly {
        if let Some(keys) = doc.get_mut("keys").and_then(Value::as_array_mut) {
            for key in keys {
                key["key_ops"] = json!(["encrypt"]);
            }
        }
    }
    json_response(StatusCode::OK, &doc)
}
