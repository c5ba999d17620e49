//! Translation between `http` 1 types and the engine's request view and response.

use axum::body::Body;
use http::header::{HeaderName, HeaderValue, COOKIE};
use http::request::Parts;
use http::{Response, StatusCode};
use ping_oidc::adapter::{AuthResponse, RequestInfo};

/// The engine's view of a request's head.
pub(crate) struct PartsView<'a>(pub &'a Parts);

impl RequestInfo for PartsView<'_> {
    fn method(&self) -> &str {
        self.0.method.as_str()
    }
    fn path(&self) -> &str {
        self.0.uri.path()
    }
    fn query(&self) -> Option<&str> {
        self.0.uri.query()
    }
    fn header(&self, name: &str) -> Option<&str> {
        // `from_utf8`, not `to_str`: see `RequestInfo::header`.
        let value = self.0.headers.get(name)?;
        std::str::from_utf8(value.as_bytes()).ok()
    }
    fn header_count(&self, name: &str) -> usize {
        self.0.headers.get_all(name).iter().count()
    }
    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        self.0
            .headers
            .get_all(COOKIE)
            .iter()
            // `from_utf8`, not `to_str`: see `RequestInfo::cookie_headers`.
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
    }
}

pub(crate) fn into_http(response: AuthResponse) -> Response<Body> {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        // Values come from the engine, which never puts request bytes in headers unchecked.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    out
}
