//! The HTTP client used to talk to the provider: rustls, connect and total timeouts, no
//! redirects followed, response bodies capped.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::ProviderError;

/// A response from the provider, with its body read (within the cap).
pub(crate) struct ProviderResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`, unless `no-store` or `no-cache` is said too.
    pub max_age: Option<Duration>,
}

/// `max-age` of a `Cache-Control` value (RFC 9111 §5.2.2.1).
fn cache_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

impl ProviderResponse {
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ProviderError> {
        // The error's category and position only: its text can quote the value it met.
        serde_json::from_slice(&self.body).map_err(|e| {
            ProviderError::Invalid(format!(
                "{what}: the response is not the expected JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

#[derive(Clone)]
pub(crate) struct ProviderHttp {
    client: reqwest::Client,
    max_bytes: usize,
}

/// Client authentication for one request: HTTP Basic, form fields, or only `client_id`.
pub(crate) enum ClientAuth<'a> {
    Basic {
        id: &'a str,
        secret: &'a str,
    },
    Post {
        id: &'a str,
        secret: &'a str,
    },
    Public {
        id: &'a str,
    },
    /// A signed JWT (RFC 7521 §4.2), with `client_id` beside it.
    Assertion {
        id: &'a str,
        assertion: String,
    },
}

impl ProviderHttp {
    pub(crate) fn new(
        connect_timeout: Duration,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ping-oidc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Self { client, max_bytes })
    }

    pub(crate) async fn get(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<ProviderResponse, ProviderError> {
        let mut request = self.client.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub(crate) async fn post_form(
        &self,
        url: &str,
        auth: ClientAuth<'_>,
        fields: &[(&str, &str)],
    ) -> Result<ProviderResponse, ProviderError> {
        let mut request = self
            .client
            .post(url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded");
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in fields {
                body.append_pair(key, value);
            }
            match auth {
                ClientAuth::Basic { id, secret } => {
                    // RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
                    let encode = |s: &str| {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                    };
                    request = request.basic_auth(encode(id), Some(encode(secret)));
                }
                ClientAuth::Post { id, secret } => {
                    body.append_pair("client_id", id);
                    body.append_pair("client_secret", secret);
                }
                ClientAuth::Public { id } => {
                    body.append_pair("client_id", id);
                }
                ClientAuth::Assertion { id, assertion } => {
                    body.append_pair("client_id", id);
                    body.append_pair(
                        "client_assertion_type",
                        crate::client_key::JWT_BEARER_ASSERTION,
                    );
                    body.append_pair("client_assertion", &assertion);
                }
            }
            body.finish()
        };
        self.send(request.body(body)).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<ProviderResponse, ProviderError> {
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_max_age);
        let body = self.read_body(response).await?;
        Ok(ProviderResponse {
            status,
            body,
            max_age,
        })
    }

    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
        if let Some(length) = response.content_length() {
            if length > self.max_bytes as u64 {
                return Err(too_large(self.max_bytes));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A call of a redirect-less sign-in flow: a GET or a POST, the flow's headers and cookies,
    /// and the answer's `Set-Cookie`s and `Location` kept.
    pub(crate) async fn flow_call(
        &self,
        call: FlowCall<'_>,
    ) -> Result<FlowResponse, ProviderError> {
        let mut request = match call.body {
            Some(_) => self.client.post(call.url),
            None => self.client.get(call.url),
        };
        request = request.header("accept", "application/json");
        for (name, value) in call.headers {
            request = request.header(*name, *value);
        }
        if let Some(cookie) = call.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some((content_type, body)) = call.body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let set_cookies = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .take(MAX_SET_COOKIES)
            .map(str::to_owned)
            .collect();
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.read_body(response).await?;
        Ok(FlowResponse {
            status,
            body,
            set_cookies,
            location,
        })
    }
}

/// `Set-Cookie`s read from one flow answer at most.
const MAX_SET_COOKIES: usize = 16;

/// One request of a sign-in flow.
pub(crate) struct FlowCall<'a> {
    pub url: &'a str,
    pub headers: &'a [(&'static str, &'a str)],
    pub cookie: Option<&'a str>,
    /// A POST with this media type and body; `None` is a GET.
    pub body: Option<(&'a str, Vec<u8>)>,
}

/// A flow answer with the headers the flow needs.
pub(crate) struct FlowResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub set_cookies: Vec<String>,
    pub location: Option<String>,
}

fn too_large(max: usize) -> ProviderError {
    ProviderError::Invalid(format!(
        "the provider's response is larger than the {max}-byte limit"
    ))
}

fn transport_error(error: reqwest::Error) -> ProviderError {
    // The URL is ours (from discovery) and carries no secrets, but keep messages short.
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the response body could not be read"
    } else {
        "request failed"
    };
    ProviderError::Unreachable(kind.to_string())
}

/// A loopback HTTP server for unit tests: answers every request with one fixed response
/// and counts the requests (one connection each).
#[cfg(test)]
pub(crate) mod test_server {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A response with a JSON body.
    pub(crate) fn json(status: u16, body: &str) -> String {
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    pub(crate) async fn answer(hits: Arc<AtomicUsize>, response: String) -> SocketAddr {
        answer_after(hits, std::time::Duration::ZERO, response).await
    }

    /// Like [`answer`], each answer `delay` after its request arrived.
    pub(crate) async fn answer_after(
        hits: Arc<AtomicUsize>,
        delay: std::time::Duration,
        response: String,
    ) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                hits.fetch_add(1, Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    tokio::time::sleep(delay).await;
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        address
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn reads_cache_control_max_age() {
        assert_eq!(
            cache_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(cache_max_age("max-age=300, no-cache"), None);
        assert_eq!(cache_max_age("no-store"), None);
        assert_eq!(cache_max_age("max-age=abc"), None);
        assert_eq!(cache_max_age("private"), None);
    }

    /// A redirect from the provider is answered as it is, never followed.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        let elsewhere = Arc::new(AtomicUsize::new(0));
        let target =
            test_server::answer(Arc::clone(&elsewhere), test_server::json(200, "{}")).await;
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{target}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let origin = test_server::answer(Arc::new(AtomicUsize::new(0)), redirect).await;
        let http = ProviderHttp::new(Duration::from_secs(2), Duration::from_secs(2), 1024)
            .expect("client");
        let response = http
            .get(&format!("http://{origin}/jwks"), None)
            .await
            .expect("an answer");
        assert_eq!(response.status, 302);
        assert_eq!(
            elsewhere.load(Ordering::SeqCst),
            0,
            "the redirect was followed"
        );
    }
}
