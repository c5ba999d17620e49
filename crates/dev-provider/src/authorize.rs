//! The authorization endpoint, the sign-in page and programmatic sign-in.
//!
//! Sign-in form (what a non-browser client POSTs, `application/x-www-form-urlencoded`, to the
//! authorization endpoint itself):
//!
//! | field | value |
//! |---|---|
//! | `request_ref` | the hidden value from the page (also in the `X-Dev-Provider-Request-Ref` header) |
//! | `username` | the test user's username |
//! | `password` | the test user's password |

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use url::Url;

use crate::http::{self as h, Params};
use crate::misbehave::{Misbehavior, WRONG_ISSUER};
use crate::state::{
    now_secs, AuthRequest, CodeRecord, Pending, Session, Shared, State, CODE_TTL, PENDING_TTL,
};
use crate::Error;

/// Response header carrying the sign-in page's request reference.
pub(crate) const REQUEST_REF_HEADER: &str = "x-dev-provider-request-ref";

/// Why an authorization request cannot proceed.
pub(crate) enum AuthzError {
    /// The client or redirect URI cannot be trusted: show an error page.
    Fatal(String),
    /// The request object (`request`) is invalid (`invalid_request_object`): its
    /// `redirect_uri` cannot be trusted, so show an error page.
    RequestObject(String),
    /// Redirect back to the client with an OAuth error.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// Validates an authorization request (client, redirect URI, response type, scope, PKCE S256,
/// prompt, max_age). `flow`: a `response_mode=pi.flow` request, where `redirect_uri` is
/// optional (the client's first registered one is used). A signed request object
/// (`request`, RFC 9101) is verified against `issuer` and the client's keys, and its claims
/// replace the parameters.
pub(crate) fn validate(
    st: &State,
    issuer: &str,
    p: &Params,
    flow: bool,
) -> Result<AuthRequest, AuthzError> {
    // RFC 8707 §2: `resource` may be repeated.
    if let Some(k) = p.repeated_except("resource") {
        return Err(AuthzError::Fatal(format!(
            "parameter {k:?} was sent more than once"
        )));
    }
    let client_id = p
        .get("client_id")
        .ok_or_else(|| AuthzError::Fatal("client_id is missing".into()))?;
    let client = st
        .clients
        .get(client_id)
        .ok_or_else(|| AuthzError::Fatal(format!("unknown client_id {client_id:?}")))?;
    let from_request_object;
    let signed = p.get("request").is_some();
    let p = match p.get("request") {
        Some(request) => {
            if p.get("request_uri").is_some() {
                return Err(AuthzError::Fatal(
                    "request and request_uri cannot both be sent".into(),
                ));
            }
            from_request_object = request_object_params(client, issuer, p, request)
                .map_err(AuthzError::RequestObject)?;
            &from_request_object
        }
        None => p,
    };
    let redirect_uri_sent = p.get("redirect_uri").is_some();
    let redirect_uri = match p.get("redirect_uri") {
        Some(u) => u,
        None if flow => client
            .redirect_uris
            .first()
            .map(String::as_str)
            .ok_or_else(|| AuthzError::Fatal("the client has no redirect_uri".into()))?,
        None => return Err(AuthzError::Fatal("redirect_uri is missing".into())),
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(AuthzError::Fatal(format!(
            "redirect_uri {redirect_uri:?} is not registered for client {client_id:?} (exact match required)"
        )));
    }
    let state = p.get("state").map(str::to_owned);
    let err = |error: &'static str, description: &str| AuthzError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };

    if client.require_signed_request_object && !signed {
        return Err(err(
            "invalid_request",
            "this client must send its authorization request as a signed request object (request)",
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(err(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match p.get("response_type") {
        None => return Err(err("invalid_request", "response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(err(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if let Some(mode) = p.get("response_mode") {
        if mode != "query" && !(flow && mode == "pi.flow") {
            return Err(err(
                "invalid_request",
                "only response_mode=query (or pi.flow) is supported",
            ));
        }
    }
    let scope = p
        .get("scope")
        .ok_or_else(|| err("invalid_request", "scope is missing"))?;
    let scope = normalize_scope(scope);
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(err("invalid_scope", "scope must contain openid"));
    }
    if let Some(allowed) = &client.allowed_scopes {
        if let Some(bad) = scope.split(' ').find(|s| !allowed.iter().any(|a| a == s)) {
            return Err(err(
                "invalid_scope",
                &format!("scope {bad:?} is not allowed for this client"),
            ));
        }
    }
    let code_challenge = p.get("code_challenge").ok_or_else(|| {
        err(
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        )
    })?;
    match p.get("code_challenge_method") {
        Some("S256") => {}
        None => {
            return Err(err(
                "invalid_request",
                "code_challenge_method is missing (means plain, which is not allowed): use S256",
            ))
        }
        Some(_) => {
            return Err(err(
                "invalid_request",
                "only code_challenge_method=S256 is allowed",
            ))
        }
    }
    if code_challenge.len() != 43
        || !code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        ));
    }
    let mut prompt_none = false;
    let mut prompt_login = false;
    if let Some(prompt) = p.get("prompt") {
        let values: Vec<&str> = prompt.split(' ').filter(|s| !s.is_empty()).collect();
        for v in &values {
            match *v {
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                "consent" | "select_account" => {}
                other => {
                    return Err(err(
                        "invalid_request",
                        &format!("unsupported prompt value {other:?}"),
                    ))
                }
            }
        }
        if prompt_none && values.len() > 1 {
            return Err(err(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| err("invalid_request", "max_age must be a non-negative integer"))?,
        ),
    };
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        redirect_uri_sent,
        scope,
        state,
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        prompt_none,
        prompt_login,
        max_age,
        login_hint: p.get("login_hint").map(str::to_owned),
        acr_values: p.get("acr_values").map(str::to_owned),
    })
}

/// JWT claims of a request object that are not authorization parameters.
const REQUEST_OBJECT_JWT_CLAIMS: [&str; 6] = ["iss", "aud", "iat", "nbf", "exp", "jti"];

/// Verifies the request object `request` of `client` and returns its claims as the
/// authorization parameters (RFC 9101 §5: only those are used). The outer `client_id` must
/// equal the inner one, and an outer `response_type` the inner one. `max_age` numbers become
/// text, a `resource` array repeated parameters, a `claims` object its JSON.
fn request_object_params(
    client: &crate::config::ClientRegistration,
    issuer: &str,
    outer: &Params,
    request: &str,
) -> Result<Params, String> {
    let claims = crate::client_jwt::verify_request_object(client, issuer, request, now_secs())?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in claims {
        if REQUEST_OBJECT_JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        if name == "request" || name == "request_uri" {
            return Err(format!("a request object must not contain {name}"));
        }
        match value {
            Value::Null => {}
            Value::String(text) => pairs.push((name, text)),
            Value::Number(n) => pairs.push((name, n.to_string())),
            Value::Bool(b) => pairs.push((name, b.to_string())),
            Value::Array(items) if name == "resource" => {
                for item in items {
                    match item {
                        Value::String(text) => pairs.push((name.clone(), text)),
                        _ => {
                            return Err("`resource` must be a string or an array of strings".into())
                        }
                    }
                }
            }
            Value::Object(_) if name == "claims" => pairs.push((name, value.to_string())),
            _ => return Err(format!("the claim {name:?} must be a string")),
        }
    }
    let inner = Params::from_pairs(pairs);
    match inner.get("client_id") {
        Some(id) if id == client.client_id => {}
        Some(_) => {
            return Err(
                "the request object's client_id differs from the client_id parameter".into(),
            )
        }
        None => return Err("the request object has no client_id".into()),
    }
    if let Some(outer_type) = outer.get("response_type") {
        if inner.get("response_type") != Some(outer_type) {
            return Err("the response_type parameter differs from the request object's".into());
        }
    }
    Ok(inner)
}

/// Space-separated, duplicates removed, order kept.
pub(crate) fn normalize_scope(scope: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in scope.split([' ', '\t', '\n']).filter(|s| !s.is_empty()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// `base` with extra query parameters.
pub(crate) fn with_params(base: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(url.into())
}

pub(crate) fn iss_param(shared: &Shared, st: &State) -> String {
    if st.misbehavior == Misbehavior::AuthorizeWrongIss {
        WRONG_ISSUER.to_owned()
    } else {
        shared.urls.issuer.clone()
    }
}

/// The error redirect URL (with `state` and RFC 9207 `iss`).
fn error_url(
    shared: &Shared,
    st: &State,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Option<String> {
    let iss = iss_param(shared, st);
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &iss));
    with_params(redirect_uri, &pairs)
}

/// Finishes a successful authentication: issues a code (or the `AuthorizeAccessDenied`
/// misbehaviour) and returns the redirect URL.
fn complete(shared: &Shared, st: &mut State, req: &AuthRequest, sid: &str) -> Option<String> {
    if st.misbehavior == Misbehavior::AuthorizeAccessDenied {
        return error_url(
            shared,
            st,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            "misbehaviour: the user denied the request",
        );
    }
    let code = issue_code(shared, st, req, sid, &["pwd"])?;
    let iss = iss_param(shared, st);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &iss));
    with_params(&req.redirect_uri, &pairs)
}

/// Records a new authorization code for `req` in session `sid` (which gains the client).
pub(crate) fn issue_code(
    shared: &Shared,
    st: &mut State,
    req: &AuthRequest,
    sid: &str,
    amr: &[&str],
) -> Option<String> {
    let session = st.sessions.get_mut(sid)?;
    session.clients.insert(req.client_id.clone());
    let (sub, auth_time) = (session.sub.clone(), session.auth_time);
    let code = shared.random(32);
    st.codes.insert(
        code.clone(),
        CodeRecord {
            request: req.clone(),
            sub,
            sid: sid.to_owned(),
            auth_time,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            expires: SystemTime::now() + CODE_TTL,
            used: false,
            family: None,
        },
    );
    Some(code)
}

/// Creates a new provider session for `sub` (returns its sid). `flow_cookie`: the Flow API
/// cookie (`ST` / `PF`) that identifies it at the end-session endpoint.
pub(crate) fn new_session(
    shared: &Shared,
    st: &mut State,
    sub: &str,
    flow_cookie: Option<String>,
) -> String {
    let sid = shared.random(18);
    st.sessions.insert(
        sid.clone(),
        Session {
            sid: sid.clone(),
            cookie: shared.random(32),
            flow_cookie,
            sub: sub.to_owned(),
            auth_time: now_secs(),
            clients: Default::default(),
        },
    );
    sid
}

fn no_redirect() -> Response {
    h::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "could not build the redirect URL",
    )
}

/// `GET` / `POST` on the authorization endpoint (a POST with `request_ref` is the sign-in form).
pub(crate) async fn authorize(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_post = method == Method::POST;
    let params = if is_post {
        Params::parse(&body)
    } else {
        Params::parse(uri.query().unwrap_or_default().as_bytes())
    };
    if is_post && params.get("request_ref").is_some() {
        login_submit(&shared, &headers, &params)
    } else if params.get("response_mode") == Some("pi.flow") {
        crate::flow::start(&shared, &params)
    } else {
        authorization_request(&shared, &headers, &params, is_post)
    }
}

fn authorization_request(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    is_post: bool,
) -> Response {
    let mut st = shared.lock();
    st.prune();
    let req = match validate(&st, &shared.urls.issuer, params, false) {
        Ok(r) => r,
        Err(AuthzError::Fatal(msg)) => {
            return h::error_page(StatusCode::BAD_REQUEST, "invalid_request", &msg)
        }
        Err(AuthzError::RequestObject(msg)) => {
            return h::error_page(StatusCode::BAD_REQUEST, "invalid_request_object", &msg)
        }
        Err(AuthzError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            return match error_url(
                shared,
                &st,
                &redirect_uri,
                state.as_deref(),
                error,
                &description,
            ) {
                Some(u) => h::redirect(&u, is_post),
                None => no_redirect(),
            }
        }
    };
    if st.misbehavior == Misbehavior::AuthorizeAccessDenied {
        return match complete(shared, &mut st, &req, "") {
            Some(u) => h::redirect(&u, is_post),
            None => no_redirect(),
        };
    }

    let now = now_secs();
    let session = h::cookie(headers, &shared.urls.cookie_name())
        .and_then(|c| st.session_by_cookie(&c).cloned())
        .filter(|s| {
            req.max_age
                .is_none_or(|m| now.saturating_sub(s.auth_time) <= m)
        });
    let sso = match (&session, req.prompt_none, req.prompt_login) {
        (Some(s), _, false) => Some(s.sid.clone()),
        (None, true, _) => {
            return match error_url(
                shared,
                &st,
                &req.redirect_uri,
                req.state.as_deref(),
                "login_required",
                "no provider session (prompt=none)",
            ) {
                Some(u) => h::redirect(&u, is_post),
                None => no_redirect(),
            }
        }
        _ => None,
    };
    if let Some(sid) = sso {
        return match complete(shared, &mut st, &req, &sid) {
            Some(u) => h::redirect(&u, is_post),
            None => no_redirect(),
        };
    }

    let request_ref = shared.random(24);
    let client_id = req.client_id.clone();
    let prefill = req.login_hint.clone().unwrap_or_default();
    st.pending.insert(
        request_ref.clone(),
        Pending {
            request: req,
            expires: SystemTime::now() + PENDING_TTL,
        },
    );
    let show_hint = st
        .user_by_name(crate::DEFAULT_USERNAME)
        .is_some_and(|u| u.password == crate::DEFAULT_PASSWORD);
    drop(st);
    login_page(
        shared,
        &request_ref,
        &client_id,
        &prefill,
        None,
        show_hint,
        StatusCode::OK,
    )
}

fn login_submit(shared: &Shared, headers: &HeaderMap, params: &Params) -> Response {
    let request_ref = params.get("request_ref").unwrap_or_default();
    let mut st = shared.lock();
    let valid = st
        .pending
        .get(request_ref)
        .is_some_and(|p| p.expires > SystemTime::now());
    let Some(pending) = st.pending.get(request_ref).filter(|_| valid) else {
        st.pending.remove(request_ref);
        return h::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown or expired sign-in request: start again from the application",
        );
    };
    let req = pending.request.clone();
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let user = st
        .user_by_name(username)
        .filter(|u| h::constant_time_eq(u.password.as_bytes(), password.as_bytes()))
        .map(|u| u.sub.clone());
    let Some(sub) = user else {
        let show_hint = st.user_by_name(crate::DEFAULT_USERNAME).is_some();
        drop(st);
        return login_page(
            shared,
            request_ref,
            &req.client_id,
            username,
            Some("Invalid username or password."),
            show_hint,
            StatusCode::UNAUTHORIZED,
        );
    };
    st.pending.remove(request_ref);

    // Same user with a live session cookie: reuse the session (fresh auth_time).
    let existing = h::cookie(headers, &shared.urls.cookie_name())
        .and_then(|c| st.session_by_cookie(&c).map(|s| s.sid.clone()));
    let sid = match existing {
        Some(sid) if st.sessions.get(&sid).is_some_and(|s| s.sub == sub) => {
            if let Some(s) = st.sessions.get_mut(&sid) {
                s.auth_time = now_secs();
            }
            sid
        }
        _ => new_session(shared, &mut st, &sub, None),
    };
    let cookie_value = st
        .sessions
        .get(&sid)
        .map(|s| s.cookie.clone())
        .unwrap_or_default();
    let Some(location) = complete(shared, &mut st, &req, &sid) else {
        return no_redirect();
    };
    drop(st);
    let mut resp = h::redirect(&location, true);
    let cookie = format!(
        "{}={cookie_value}; Path=/; HttpOnly; SameSite=Lax",
        shared.urls.cookie_name()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn login_page(
    shared: &Shared,
    request_ref: &str,
    client_id: &str,
    username: &str,
    error: Option<&str>,
    show_default_hint: bool,
    status: StatusCode,
) -> Response {
    let error_html = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", h::escape(e)))
        .unwrap_or_default();
    let hint = if show_default_hint {
        format!(
            "<p><small>Default test user: <code>{}</code> / <code>{}</code></small></p>",
            crate::DEFAULT_USERNAME,
            crate::DEFAULT_PASSWORD
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p>to <code>{client}</code></p>\n{error_html}\
<form method=\"post\" action=\"{action}\">\n\
<input type=\"hidden\" name=\"request_ref\" value=\"{rref}\">\n\
<label>Username <input name=\"username\" autocomplete=\"username\" value=\"{user}\" required autofocus></label>\n\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n\
<button type=\"submit\">Sign in</button>\n</form>\n{hint}",
        client = h::escape(client_id),
        action = h::escape(&shared.urls.authorize),
        rref = h::escape(request_ref),
        user = h::escape(username),
    );
    let mut resp = h::html_response(status, "Sign in", &body);
    if let Ok(v) = HeaderValue::from_str(request_ref) {
        resp.headers_mut().insert(REQUEST_REF_HEADER, v);
    }
    resp.into_response()
}

/// Programmatic sign-in: validates the authorization URL and authenticates `username` (no
/// password, fresh provider session) and returns the URL the browser would be redirected to.
pub(crate) fn sign_in(shared: &Shared, authorize_url: &str, username: &str) -> Result<Url, Error> {
    let url = Url::parse(authorize_url)?;
    let params = Params::parse(url.query().unwrap_or_default().as_bytes());
    let mut st = shared.lock();
    st.prune();
    let built = match validate(&st, &shared.urls.issuer, &params, false) {
        Err(AuthzError::Fatal(msg)) => return Err(Error::InvalidAuthorizationRequest(msg)),
        Err(AuthzError::RequestObject(msg)) => {
            return Err(Error::InvalidAuthorizationRequest(format!(
                "invalid_request_object: {msg}"
            )))
        }
        Err(AuthzError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => error_url(
            shared,
            &st,
            &redirect_uri,
            state.as_deref(),
            error,
            &description,
        ),
        Ok(req) if req.prompt_none => error_url(
            shared,
            &st,
            &req.redirect_uri,
            req.state.as_deref(),
            "login_required",
            "no provider session (prompt=none)",
        ),
        Ok(req) => {
            let sub = st
                .user_by_name(username)
                .map(|u| u.sub.clone())
                .ok_or_else(|| Error::UnknownUser(username.to_owned()))?;
            let sid = if st.misbehavior == Misbehavior::AuthorizeAccessDenied {
                String::new()
            } else {
                new_session(shared, &mut st, &sub, None)
            };
            complete(shared, &mut st, &req, &sid)
        }
    };
    let built = built.ok_or_else(|| {
        Error::InvalidAuthorizationRequest("could not build the redirect URL".into())
    })?;
    Ok(Url::parse(&built)?)
}
