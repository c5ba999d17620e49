//! The engine's request view of an `HttpRequest`, and its answer as an `HttpResponse`.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ping_oidc::adapter::{AuthResponse, RequestInfo};

/// What the engine reads of a request: method, path, query, headers, cookies.
pub(crate) struct RequestView<'r> {
    request: &'r HttpRequest,
}

impl<'r> RequestView<'r> {
    pub(crate) fn of(request: &'r HttpRequest) -> Self {
        Self { request }
    }
}

impl RequestInfo for RequestView<'_> {
    fn method(&self) -> &str {
        self.request.method().as_str()
    }

    fn path(&self) -> &str {
        self.request.uri().path()
    }

    fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    fn header(&self, name: &str) -> Option<&str> {
        let value = self.request.headers().get(name)?;
        // `from_utf8`, not `to_str`: see `RequestInfo::header`.
        std::str::from_utf8(value.as_bytes()).ok()
    }

    fn header_count(&self, name: &str) -> usize {
        self.request.headers().get_all(name).count()
    }

    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        let values = self.request.headers().get_all(header::COOKIE);
        // `from_utf8`, not `to_str`: see `RequestInfo::cookie_headers`.
        values.filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
    }
}

/// Copies the engine's status, headers (repeated `set-cookie` included) and body.
pub(crate) fn to_http_response(answer: AuthResponse) -> HttpResponse {
    let AuthResponse {
        status,
        headers,
        body,
    } = answer;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, body).map_into_boxed_body();
    let map = response.headers_mut();
    for (name, value) in headers {
        // The engine builds every value itself; one that is not a valid header value is
        // left out rather than failing the whole response.
        let Ok(value) = HeaderValue::from_str(&value) else {
            continue;
        };
        map.append(HeaderName::from_static(name), value);
    }
    response
}
