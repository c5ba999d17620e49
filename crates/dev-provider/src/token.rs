//! Token endpoint (authorization code with PKCE, refresh with rotation and replay detection),
//! userinfo, introspection and revocation.
//!
//! Access tokens are RS256/ES256-signed JWTs (`typ: at+jwt`, `aud` = client id) but are also
//! recorded server-side: revocation, [`crate::DevProvider::expire_access_tokens`] and family
//! revocation make them inactive at userinfo and introspection. Refresh tokens are opaque.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::header::{self, HeaderMap};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::authorize::normalize_scope;
use crate::config::{ClientRegistration, TestUser};
use crate::http::{self as h, json_response, OAuthError, Params};
use crate::keys::{at_hash, b64, sign_jwt, SignMode};
use crate::misbehave::{Misbehavior, HUGE_PADDING, WRONG_SUBJECT};
use crate::state::{now_secs, ttl_secs, AccessRecord, RefreshRecord, Shared, State};

/// Claims that a test user's extra claims can never override.
const PROTECTED: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "sid",
    "at_hash",
    "c_hash",
    "azp",
    "jti",
    "acr",
    "amr",
    "events",
    "scope",
];

/// Which scope releases a standard claim (`None`: not a standard claim, always released).
fn scope_of(claim: &str) -> Option<&'static str> {
    match claim {
        "name" | "family_name" | "given_name" | "middle_name" | "nickname"
        | "preferred_username" | "profile" | "picture" | "website" | "gender" | "birthdate"
        | "zoneinfo" | "locale" | "updated_at" => Some("profile"),
        "email" | "email_verified" => Some("email"),
        "address" => Some("address"),
        "phone_number" | "phone_number_verified" => Some("phone"),
        _ => None,
    }
}

/// The user's claims released for `scope`.
pub(crate) fn user_claims(user: &TestUser, scope: &str) -> Map<String, Value> {
    let scopes: Vec<&str> = scope.split(' ').collect();
    user.claims
        .iter()
        .filter(|(k, _)| !PROTECTED.contains(&k.as_str()))
        .filter(|(k, _)| scope_of(k).is_none_or(|s| scopes.contains(&s)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn server_error(e: crate::Error) -> OAuthError {
    OAuthError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: e.to_string(),
    }
}

/// What a grant needs to mint tokens.
struct Grant<'a> {
    client_id: &'a str,
    sub: &'a str,
    sid: &'a str,
    scope: &'a str,
    refresh_scope: &'a str,
    auth_time: u64,
    amr: &'a [String],
    nonce: Option<&'a str>,
    family: u64,
    refresh: bool,
    /// The resource the access token is for (its `aud`), else the client.
    audience: Option<&'a str>,
    /// The ID token's `acr`, when the authorization request asked for one.
    acr: Option<&'a str>,
}

/// Mints access, refresh and ID tokens and records them.
fn issue(shared: &Shared, st: &mut State, g: &Grant<'_>) -> Result<Value, OAuthError> {
    let now = now_secs();
    let issuer = shared.urls.issuer.as_str();
    let alg = st.alg_for(g.client_id);
    let (access_ttl, id_ttl, refresh_ttl) = (st.ttl.access, st.ttl.id, st.ttl.refresh);
    let misbehavior = st.misbehavior.clone();

    let jti = shared.random(16);
    let at_exp = now + ttl_secs(access_ttl);
    let at_claims = json!({
        "iss": issuer, "sub": g.sub, "aud": g.audience.unwrap_or(g.client_id), "client_id": g.client_id,
        "scope": g.scope, "iat": now, "exp": at_exp, "jti": jti, "sid": g.sid,
        "auth_time": g.auth_time,
    });
    let access_token = sign_jwt(
        &st.keys,
        &shared.rng,
        alg,
        Some("at+jwt"),
        &at_claims,
        SignMode::Normal,
    )
    .map_err(server_error)?;
    st.access_tokens.insert(
        access_token.clone(),
        AccessRecord {
            jti,
            client_id: g.client_id.to_owned(),
            sub: g.sub.to_owned(),
            sid: g.sid.to_owned(),
            scope: g.scope.to_owned(),
            iat: now,
            exp: at_exp,
            expires: SystemTime::now() + access_ttl,
            family: g.family,
            revoked: false,
        },
    );

    let refresh_token = shared.random(32);
    st.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshRecord {
            client_id: g.client_id.to_owned(),
            sub: g.sub.to_owned(),
            sid: g.sid.to_owned(),
            scope: g.refresh_scope.to_owned(),
            auth_time: g.auth_time,
            amr: g.amr.to_vec(),
            iat: now,
            exp: now + ttl_secs(refresh_ttl),
            expires: SystemTime::now() + refresh_ttl,
            family: g.family,
            used: false,
            revoked: false,
        },
    );

    let mut claims = st
        .user_by_sub(g.sub)
        .map(|u| user_claims(u, g.scope))
        .unwrap_or_default();
    for (k, v) in [
        ("iss", Value::from(issuer)),
        ("sub", g.sub.into()),
        ("aud", g.client_id.into()),
        ("azp", g.client_id.into()),
        ("iat", now.into()),
        ("exp", (now + ttl_secs(id_ttl)).into()),
        ("auth_time", g.auth_time.into()),
        ("sid", g.sid.into()),
        ("at_hash", at_hash(&access_token).into()),
        ("amr", json!(g.amr)),
    ] {
        claims.insert(k.into(), v);
    }
    if let Some(nonce) = g.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if let Some(acr) = g.acr {
        let acr = if misbehavior == Misbehavior::LowerAcr {
            "Single_Factor"
        } else {
            acr
        };
        claims.insert("acr".into(), acr.into());
    }
    misbehavior.tweak_id_token(&mut claims, g.client_id, g.refresh, now);
    let id_token = sign_jwt(
        &st.keys,
        &shared.rng,
        alg,
        Some("JWT"),
        &Value::Object(claims),
        misbehavior.id_token_sign_mode(),
    )
    .map_err(server_error)?;

    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl_secs(access_ttl),
        "refresh_token": refresh_token,
        "id_token": id_token,
        "scope": g.scope,
    });
    if misbehavior == Misbehavior::HugeTokenResponse {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("padding".into(), "A".repeat(HUGE_PADDING).into());
        }
    }
    Ok(body)
}

/// `POST` token endpoint.
pub(crate) async fn token(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = token_sync(&shared, &headers, &body);
    let delay = match shared.lock().misbehavior {
        Misbehavior::SlowTokenAnswers(delay) => Some(delay),
        _ => None,
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer
}

fn token_sync(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let params = Params::parse(body);
    let mut st = shared.lock();
    match params.get("grant_type") {
        Some("authorization_code") => st.stats.authorization_code_grants += 1,
        Some("refresh_token") => st.stats.refresh_grants += 1,
        Some("client_credentials") => st.stats.client_credentials_grants += 1,
        _ => {}
    }
    match token_inner(shared, &mut st, headers, &params) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => {
            st.stats.token_errors += 1;
            tracing::debug!(error = e.error, description = %e.description, "token endpoint error");
            e.into_response()
        }
    }
}

fn token_inner(
    shared: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Value, OAuthError> {
    if let Some(k) = params.repeated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {k:?} was sent more than once"
        )));
    }
    let client = h::authenticate_client(st, &shared.urls, &shared.urls.token, headers, params)?;
    match params.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is missing")),
        Some("authorization_code") => code_grant(shared, st, &client, params),
        Some("refresh_token") => refresh_grant(shared, st, &client, params),
        Some("client_credentials") => client_credentials_grant(shared, st, &client, params),
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "supported: authorization_code, refresh_token, client_credentials",
        )),
    }
}

/// RFC 6749 §4.4: a worker's token, `sub` the client itself, for the management API (or the
/// `resource` named).
fn client_credentials_grant(
    shared: &Shared,
    st: &mut State,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Value, OAuthError> {
    if !client.client_credentials {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client may not use the client credentials grant",
        ));
    }
    let scope = params.get("scope").map(normalize_scope).unwrap_or_default();
    let audience = match params.get("resource") {
        Some(resource) if st.resources.iter().any(|known| known == resource) => resource.to_owned(),
        Some(resource) => {
            return Err(OAuthError::new(
                "invalid_target",
                format!("resource {resource:?} is not a resource server of this provider"),
            ))
        }
        None => crate::management::audience(shared),
    };
    let now = now_secs();
    let access_ttl = st.ttl.access;
    let exp = now + ttl_secs(access_ttl);
    let jti = shared.random(16);
    let claims = json!({
        "iss": shared.urls.issuer, "sub": client.client_id, "aud": audience,
        "client_id": client.client_id, "scope": scope, "iat": now, "exp": exp, "jti": jti,
    });
    let alg = st.alg_for(&client.client_id);
    let access_token = sign_jwt(
        &st.keys,
        &shared.rng,
        alg,
        Some("at+jwt"),
        &claims,
        SignMode::Normal,
    )
    .map_err(server_error)?;
    let family = st.new_family("", &scope);
    st.access_tokens.insert(
        access_token.clone(),
        AccessRecord {
            jti,
            client_id: client.client_id.clone(),
            sub: client.client_id.clone(),
            sid: String::new(),
            scope: scope.clone(),
            iat: now,
            exp,
            expires: SystemTime::now() + access_ttl,
            family,
            revoked: false,
        },
    );
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl_secs(access_ttl),
        "scope": scope,
    }))
}

/// PKCE S256 check (RFC 7636 §4.1 verifier syntax, §4.6 comparison).
fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let syntax = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    syntax && h::constant_time_eq(b64(digest.as_ref()).as_bytes(), challenge.as_bytes())
}

fn code_grant(
    shared: &Shared,
    st: &mut State,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Value, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    if st.misbehavior == Misbehavior::TokenEndpointError {
        return Err(OAuthError::invalid_grant(
            "misbehaviour: TokenEndpointError",
        ));
    }
    let Some(rec) = st.codes.get_mut(code) else {
        return Err(OAuthError::invalid_grant("unknown authorization code"));
    };
    if rec.request.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    if rec.used {
        if let Some(family) = rec.family {
            st.revoke_family(family);
        }
        return Err(OAuthError::invalid_grant(
            "authorization code was already used; the tokens issued from it are revoked",
        ));
    }
    rec.used = true;
    if SystemTime::now() >= rec.expires {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    let redirect_ok = match params.get("redirect_uri") {
        Some(u) => u == rec.request.redirect_uri,
        // a pi.flow request without redirect_uri: the token request may omit it too
        None => !rec.request.redirect_uri_sent,
    };
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_grant("code_verifier is missing (PKCE is required)"))?;
    if !pkce_ok(verifier, &rec.request.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let (sub, sid, scope, nonce, auth_time, amr) = (
        rec.sub.clone(),
        rec.sid.clone(),
        rec.request.scope.clone(),
        rec.request.nonce.clone(),
        rec.auth_time,
        rec.amr.clone(),
    );
    let acr = rec
        .request
        .acr_values
        .as_deref()
        .and_then(|values| values.split(' ').next())
        .map(str::to_owned);
    let family = st.new_family(&sid, &scope);
    if let Some(rec) = st.codes.get_mut(code) {
        rec.family = Some(family);
    }
    issue(
        shared,
        st,
        &Grant {
            client_id: &client.client_id,
            sub: &sub,
            sid: &sid,
            scope: &scope,
            refresh_scope: &scope,
            auth_time,
            amr: &amr,
            nonce: nonce.as_deref(),
            family,
            refresh: false,
            audience: None,
            acr: acr.as_deref(),
        },
    )
}

fn refresh_grant(
    shared: &Shared,
    st: &mut State,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Value, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    if let Misbehavior::RefreshError(code) = st.misbehavior {
        return Err(OAuthError::new(code, "misbehaviour: RefreshError"));
    }
    let Some(rec) = st.refresh_tokens.get(token) else {
        return Err(OAuthError::invalid_grant("unknown refresh token"));
    };
    if rec.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    let family = rec.family;
    if rec.used {
        st.revoke_family(family);
        tracing::info!(
            client_id = %client.client_id,
            "refresh token replay detected: token family revoked"
        );
        return Err(OAuthError::invalid_grant(
            "refresh token was already used (replay detected); every token of this grant is revoked",
        ));
    }
    if rec.revoked || st.family_revoked(family) {
        return Err(OAuthError::invalid_grant("refresh token was revoked"));
    }
    if SystemTime::now() >= rec.expires {
        return Err(OAuthError::invalid_grant("refresh token expired"));
    }
    let original = rec.scope.clone();
    let audience = match params.get("resource") {
        None => None,
        Some(resource) => {
            st.stats.resource_grants += 1;
            if !st.resources.iter().any(|known| known == resource) {
                return Err(OAuthError::new(
                    "invalid_target",
                    format!("resource {resource:?} is not a resource server of this provider"),
                ));
            }
            Some(resource.to_owned())
        }
    };
    let scope = match params.get("scope") {
        None => original.clone(),
        Some(requested) => {
            let requested = normalize_scope(requested);
            if let Some(bad) = requested
                .split(' ')
                .find(|s| !original.split(' ').any(|o| o == *s))
            {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("scope {bad:?} was not granted originally"),
                ));
            }
            requested
        }
    };
    let (sub, sid, auth_time, amr) = (
        rec.sub.clone(),
        rec.sid.clone(),
        rec.auth_time,
        rec.amr.clone(),
    );
    if let Some(rec) = st.refresh_tokens.get_mut(token) {
        rec.used = true;
    }
    issue(
        shared,
        st,
        &Grant {
            client_id: &client.client_id,
            sub: &sub,
            sid: &sid,
            scope: &scope,
            refresh_scope: &original,
            auth_time,
            amr: &amr,
            nonce: None,
            family,
            refresh: true,
            audience: audience.as_deref(),
            acr: None,
        },
    )
}

/// `GET` / `POST` userinfo (Bearer header, or `access_token` form field on POST).
pub(crate) async fn userinfo(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match userinfo_sync(&shared, &method, &headers, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn userinfo_sync(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let mut st = shared.lock();
    st.stats.userinfo += 1;
    let from_header = h::bearer_token(headers)?;
    let from_body = if *method == Method::POST {
        Params::parse(body).get("access_token").map(str::to_owned)
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "access token sent in more than one way",
            ))
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Ok((
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"ping-oidc-dev-provider\"",
                )],
            )
                .into_response())
        }
    };
    let rec = st
        .access_tokens
        .get(&token)
        .filter(|r| st.access_active(r))
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_token",
                "access token is unknown, expired or revoked",
            )
        })?;
    let mut claims = st
        .user_by_sub(&rec.sub)
        .map(|u| user_claims(u, &rec.scope))
        .unwrap_or_default();
    let sub = if st.misbehavior == Misbehavior::UserinfoWrongSub {
        WRONG_SUBJECT.to_owned()
    } else {
        rec.sub.clone()
    };
    claims.insert("sub".into(), sub.into());
    Ok(json_response(StatusCode::OK, &Value::Object(claims)))
}

/// `POST` introspection (RFC 7662), client-authenticated.
pub(crate) async fn introspect(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspect_sync(&shared, &headers, &body) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

fn introspect_sync(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body);
    let mut st = shared.lock();
    st.stats.introspections += 1;
    h::authenticate_client(
        &mut st,
        &shared.urls,
        &shared.urls.introspect,
        headers,
        &params,
    )?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let iss = shared.urls.issuer.as_str();
    if let Some(r) = st.access_tokens.get(token).filter(|r| st.access_active(r)) {
        let username = st.user_by_sub(&r.sub).map(|u| u.username.clone());
        return Ok(json!({
            "active": true, "token_type": "Bearer", "scope": r.scope, "client_id": r.client_id,
            "sub": r.sub, "aud": r.client_id, "iss": iss, "exp": r.exp, "iat": r.iat,
            "jti": r.jti, "sid": r.sid, "username": username,
        }));
    }
    if let Some(r) = st
        .refresh_tokens
        .get(token)
        .filter(|r| st.refresh_active(r))
    {
        let username = st.user_by_sub(&r.sub).map(|u| u.username.clone());
        return Ok(json!({
            "active": true, "token_type": "refresh_token", "scope": r.scope,
            "client_id": r.client_id, "sub": r.sub, "iss": iss, "exp": r.exp, "iat": r.iat,
            "sid": r.sid, "username": username,
        }));
    }
    Ok(json!({"active": false}))
}

/// `POST` revocation (RFC 7009). Revoking a refresh token revokes its whole family.
pub(crate) async fn revoke(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_sync(&shared, &headers, &body) {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => e.into_response(),
    }
}

fn revoke_sync(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::parse(body);
    let mut st = shared.lock();
    st.stats.revocations += 1;
    let client =
        h::authenticate_client(&mut st, &shared.urls, &shared.urls.revoke, headers, &params)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    if let Some(r) = st.access_tokens.get_mut(token) {
        if r.client_id == client.client_id {
            r.revoked = true;
        }
    } else if let Some(r) = st.refresh_tokens.get(token) {
        if r.client_id == client.client_id {
            let family = r.family;
            st.revoke_family(family);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b() {
        assert!(pkce_ok(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_ok(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn claims_by_scope() {
        let u = TestUser::default_user()
            .claim("groups", json!(["a"]))
            .claim("sub", "evil");
        let c = user_claims(&u, "openid");
        assert!(c.contains_key("groups"));
        assert!(!c.contains_key("email"));
        assert!(!c.contains_key("sub"));
        let c = user_claims(&u, "openid email profile");
        assert_eq!(c["email"], "alice@example.com");
        assert_eq!(c["name"], "Alice Example");
    }
}
