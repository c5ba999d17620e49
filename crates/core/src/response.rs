//! What the engine answers: a status, headers and a small body. Adapters copy it into their
//! framework's response type.

use serde_json::json;

/// A complete HTTP response from the engine. Its `Debug` shows the status and header names
/// only: header values (`Set-Cookie`) and bodies (`/auth/token`) can hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header name (lower case) and value; `set-cookie` may repeat.
    pub headers: Vec<(&'static str, String)>,
    /// The body (HTML or JSON, as `content-type` says); may be empty.
    pub body: String,
}

impl std::fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("AuthResponse")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl AuthResponse {
    fn new(status: u16, content_type: &'static str, body: String) -> Self {
        let mut headers = vec![("cache-control", "no-store".to_string())];
        if !content_type.is_empty() {
            headers.push(("content-type", content_type.to_string()));
        }
        Self {
            status,
            headers,
            body,
        }
    }

    /// An HTML page (the sign-in page's; its caller adds the Content-Security-Policy).
    pub(crate) fn html(status: u16, body: String) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    /// A JSON body.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::new(status, "application/json", body.to_string())
    }

    /// No body (`204 No Content`).
    pub fn empty(status: u16) -> Self {
        Self::new(status, "", String::new())
    }

    /// A JSON error `{"error": code, "error_description": description}`.
    pub fn json_error(status: u16, code: &str, description: &str) -> Self {
        Self::json(
            status,
            json!({ "error": code, "error_description": description }),
        )
    }

    /// The answer when an auth route's body is over [`AuthRoute::MAX_BODY_BYTES`](crate::adapter::AuthRoute::MAX_BODY_BYTES)
    /// or cannot be read.
    pub fn body_too_large() -> Self {
        Self::json_error(
            413,
            "invalid_request",
            "The request body is too large or could not be read.",
        )
    }

    /// The answer of an extractor used on a route the adapter's layer does not wrap;
    /// `how_to_fix` names the adapter's own call, such as `add OidcLayer to the router`.
    pub fn adapter_not_installed(how_to_fix: &str) -> Self {
        Self::json_error(
            500,
            "server_misconfigured",
            &format!("ping-oidc: {how_to_fix} so that it covers this route."),
        )
    }

    /// A small, readable HTML page.
    pub fn page(status: u16, title: &str, message: &str, link: Option<(&str, &str)>) -> Self {
        let link = link
            .map(|(href, text)| format!("<p><a href=\"{}\">{}</a></p>", escape(href), escape(text)))
            .unwrap_or_default();
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}\
             h1{{font-size:1.4rem}}</style></head><body><h1>{title}</h1><p>{message}</p>{link}</body></html>",
            title = escape(title),
            message = escape(message),
        );
        Self::new(status, "text/html; charset=utf-8", body)
    }

    /// A redirect (302 for GET flows, 303 after a POST).
    pub fn redirect(status: u16, location: &str) -> Self {
        let mut response = Self::new(status, "", String::new());
        response.headers.push(("location", location.to_string()));
        response
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds `Set-Cookie` headers.
    #[must_use]
    pub fn with_cookies(mut self, cookies: impl IntoIterator<Item = String>) -> Self {
        self.headers
            .extend(cookies.into_iter().map(|c| ("set-cookie", c)));
        self
    }

    /// The first value of a header, for tests.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_header_value_or_body() {
        let response = AuthResponse::json(200, json!({ "access_token": "secret-token-1" }))
            .with_cookies(["ping_oidc=secret-cookie-2; Path=/".to_string()]);
        let printed = format!("{response:?}");
        assert!(!printed.contains("secret-token-1"), "{printed}");
        assert!(!printed.contains("secret-cookie-2"), "{printed}");
        assert!(printed.contains("set-cookie"), "{printed}");
    }

    #[test]
    fn pages_escape() {
        let page = AuthResponse::page(400, "<t>", "a & \"b\"", Some(("/x?a=1&b=2", "go")));
        assert!(page.body.contains("&lt;t&gt;"));
        assert!(page.body.contains("a &amp; &quot;b&quot;"));
        assert!(page.body.contains("/x?a=1&amp;b=2"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
}
