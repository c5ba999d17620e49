//! HTTP helpers shared by the endpoints: parameter parsing, OAuth error JSON, client
//! authentication, small HTML pages, cookies.

use std::collections::HashMap;

use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::client_jwt;
use crate::config::{AuthMethod, ClientRegistration};
use crate::state::{now_secs, State, Urls};

/// Form or query parameters. Empty values count as absent (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub(crate) struct Params {
    map: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Self::from_pairs(
            url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    /// Parameters from name/value pairs, with the same rules as [`Params::parse`].
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut p = Params::default();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            match p.map.entry(k) {
                std::collections::hash_map::Entry::Occupied(seen) => {
                    p.repeated.push(seen.key().clone())
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(v);
                }
            }
        }
        p
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// The first parameter sent more than once, if any.
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// The first parameter sent more than once other than `allowed` (which may repeat).
    pub(crate) fn repeated_except(&self, allowed: &str) -> Option<&str> {
        self.repeated
            .iter()
            .map(String::as_str)
            .find(|k| *k != allowed)
    }
}

/// An OAuth 2.0 error response (`{"error", "error_description"}`).
#[derive(Debug)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "invalid_token" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    pub(crate) fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    pub(crate) fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut resp = json_response(self.status, &body);
        if self.error == "invalid_client" {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ping-oidc-dev-provider\""),
            );
        }
        if self.error == "invalid_token" {
            let v = format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.description.replace(['"', '\\'], "'")
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// A JSON response with `Cache-Control: no-store`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A small HTML page.
pub(crate) fn html_response(status: StatusCode, title: &str, body_html: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} \u{2014} ping-oidc dev provider</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}}\
.warn{{background:#fff3cd;border:1px solid #d9b949;padding:.5rem .75rem;border-radius:4px}}\
.error{{color:#a00;font-weight:bold}}label{{display:block;margin-top:.8rem}}\
input{{display:block;width:100%;padding:.45rem;box-sizing:border-box;margin-top:.2rem}}\
button{{margin-top:1rem;padding:.5rem 1.2rem}}code{{background:#f3f3f3;padding:0 .2rem}}</style>\
</head><body>\n<p class=\"warn\"><strong>Development provider, not for production.</strong> \
ping-oidc-dev-provider is a local test double of PingOne / PingFederate.</p>\n\
<h1>{title}</h1>\n{body_html}\n</body></html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        page,
    )
        .into_response()
}

/// An HTML error page (used when the client cannot be redirected to).
pub(crate) fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    html_response(
        status,
        "Request rejected",
        &format!(
            "<p class=\"error\">{}</p><p>{}</p>",
            escape(error),
            escape(description)
        ),
    )
}

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Compares without early exit.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a cookie value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn form_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Authenticates the client at the token, introspection and revocation endpoints according to
/// its registered method. `endpoint` is the URL of the endpoint called: a client assertion's
/// `aud` may name it, the token endpoint or the issuer.
pub(crate) fn authenticate_client(
    state: &mut State,
    urls: &Urls,
    endpoint: &str,
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientRegistration, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
            match v.split_once(' ') {
                Some((scheme, cred)) if scheme.eq_ignore_ascii_case("basic") => {
                    let raw = STANDARD
                        .decode(cred.trim())
                        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
                    let raw = String::from_utf8(raw)
                        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
                    let (id, secret) = raw
                        .split_once(':')
                        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
                    Some((form_decode(id), form_decode(secret)))
                }
                _ => None,
            }
        }
        None => None,
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion_type = params.get("client_assertion_type");
    let assertion = params.get("client_assertion");
    if assertion_type.is_some() || assertion.is_some() {
        if basic.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method used",
            ));
        }
        let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
            return Err(OAuthError::invalid_request(
                "client_assertion_type and client_assertion must be sent together",
            ));
        };
        return authenticate_assertion(state, urls, endpoint, body_id, assertion_type, assertion);
    }

    let (client_id, method, secret) = match (&basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method used",
            ))
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_client(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (
                id.clone(),
                AuthMethod::ClientSecretBasic,
                Some(secret.clone()),
            )
        }
        (None, Some(secret)) => {
            let id = body_id
                .ok_or_else(|| OAuthError::invalid_client("client_secret without client_id"))?;
            (
                id.to_owned(),
                AuthMethod::ClientSecretPost,
                Some(secret.to_owned()),
            )
        }
        (None, None) => {
            let id = body_id
                .ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
            (id.to_owned(), AuthMethod::None, None)
        }
    };

    let client = state
        .clients
        .get(&client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    if client.auth_method != method {
        return Err(OAuthError::invalid_client(format!(
            "client is registered for {} but used {}",
            client.auth_method.as_str(),
            method.as_str()
        )));
    }
    if let Some(secret) = secret {
        let expected = client.client_secret.as_deref().unwrap_or_default();
        if !constant_time_eq(expected.as_bytes(), secret.as_bytes()) {
            return Err(OAuthError::invalid_client("wrong client secret"));
        }
    }
    Ok(client.clone())
}

/// `client_secret_jwt` / `private_key_jwt` (RFC 7523 §3): the assertion's `alg` names the
/// method, which must be the registered one; then signature, claims and `jti` replay.
fn authenticate_assertion(
    state: &mut State,
    urls: &Urls,
    endpoint: &str,
    body_id: Option<&str>,
    assertion_type: &str,
    assertion: &str,
) -> Result<ClientRegistration, OAuthError> {
    if assertion_type != client_jwt::JWT_BEARER {
        return Err(OAuthError::invalid_client(format!(
            "unsupported client_assertion_type {assertion_type:?}: use {}",
            client_jwt::JWT_BEARER
        )));
    }
    let jws = client_jwt::Jws::parse(assertion)
        .map_err(|e| OAuthError::invalid_client(format!("client_assertion: {e}")))?;
    let alg = jws.alg();
    let method = if client_jwt::HMAC_ALGS.contains(&alg) {
        AuthMethod::ClientSecretJwt
    } else if client_jwt::ASYMMETRIC_ALGS.contains(&alg) {
        AuthMethod::PrivateKeyJwt
    } else if alg.eq_ignore_ascii_case("none") {
        return Err(OAuthError::invalid_client(
            "client_assertion: unsigned assertions (alg none) are not accepted",
        ));
    } else {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion: alg {alg:?} is not supported"
        )));
    };
    let client_id = match (body_id, jws.claim_str("iss")) {
        (Some(id), _) => id,
        (None, Some(iss)) => iss,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client_assertion has no iss and no client_id was sent",
            ))
        }
    };
    let client = state
        .clients
        .get(client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    if client.auth_method != method {
        return Err(OAuthError::invalid_client(format!(
            "client is registered for {} but used {}",
            client.auth_method.as_str(),
            method.as_str()
        )));
    }
    let now = now_secs();
    let audiences = [urls.token.as_str(), urls.issuer.as_str(), endpoint];
    let verified = client_jwt::verify_assertion(client, &jws, &audiences, now)
        .map_err(|e| OAuthError::invalid_client(format!("client_assertion: {e}")))?;
    let client = client.clone();
    if !state
        .assertion_jtis
        .record(&client.client_id, &verified.jti, verified.exp, now)
    {
        return Err(OAuthError::invalid_client(
            "client_assertion was already used (jti replay)",
        ));
    }
    Ok(client)
}

/// The `Bearer` token of an `Authorization` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match v.split_once(' ') {
        Some((scheme, tok)) if scheme.eq_ignore_ascii_case("bearer") && !tok.trim().is_empty() => {
            Ok(Some(tok.trim().to_owned()))
        }
        _ => Err(OAuthError::invalid_request(
            "Authorization header is not a Bearer token",
        )),
    }
}

/// A redirect response (302, or 303 after a POST).
pub(crate) fn redirect(location: &str, after_post: bool) -> Response {
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    match HeaderValue::from_str(location) {
        Ok(v) => (
            status,
            [
                (header::LOCATION, v),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "redirect location is not a valid header value",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%3Ab+c%2"), "a:b c%2");
        assert_eq!(form_decode("%"), "%");
        assert_eq!(form_decode("%zz"), "%zz");
        assert_eq!(form_decode("x%41"), "xA");
    }

    #[test]
    fn params_empty_and_repeated() {
        let p = Params::parse(b"a=1&b=&a=2");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.repeated(), Some("a"));
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
