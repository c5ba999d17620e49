//! RP-initiated logout (end session), OpenID Connect Back-Channel Logout 1.0 delivery, and the
//! tiny loopback-only HTTP/1.1 client used for it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use crate::http::{self as h, Params};
use crate::keys::{sign_jwt, SignMode};
use crate::misbehave::{LogoutTokenKind, WRONG_ISSUER};
use crate::state::{now_secs, Shared, State};
use crate::Error;

/// How long one back-channel delivery may take.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Lifetime of a logout token.
const LOGOUT_TOKEN_TTL: u64 = 120;
/// The back-channel logout event type.
pub(crate) const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Where to connect for a loopback `http://` URI.
#[derive(Debug)]
pub(crate) struct Target {
    addr: SocketAddr,
    host_header: String,
    request_target: String,
}

/// Accepts only `http://` URIs on a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`).
pub(crate) fn check_loopback_http(uri: &str) -> Result<Target, String> {
    let url = Url::parse(uri).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err("only http:// URIs are supported".into());
    }
    let ip: IpAddr = match url.host() {
        Some(Host::Ipv4(ip)) if ip.is_loopback() => ip.into(),
        Some(Host::Ipv6(ip)) if ip.is_loopback() => ip.into(),
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Ipv4Addr::LOCALHOST.into(),
        _ => return Err("the dev provider only delivers to loopback hosts".into()),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let host = url.host_str().unwrap_or("127.0.0.1");
    let mut request_target = url.path().to_owned();
    if let Some(q) = url.query() {
        request_target.push('?');
        request_target.push_str(q);
    }
    Ok(Target {
        addr: SocketAddr::new(ip, port),
        host_header: format!("{host}:{port}"),
        request_target,
    })
}

/// POSTs a form body and returns the HTTP status code.
pub(crate) async fn post_form(uri: &str, body: &str, timeout: Duration) -> Result<u16, String> {
    let target = check_loopback_http(uri)?;
    let fut = async {
        let mut stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: {}\r\nAccept: */*\r\nUser-Agent: ping-oidc-dev-provider\r\nConnection: close\r\n\r\n",
            target.request_target,
            target.host_header,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        stream
            .write_all(body.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        stream.flush().await.map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > 16 * 1024 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let status_line = text.lines().next().unwrap_or_default();
        let mut parts = status_line.split(' ');
        match (parts.next(), parts.next().map(str::parse::<u16>)) {
            (Some(v), Some(Ok(code))) if v.starts_with("HTTP/1.") => Ok(code),
            _ => Err(format!("bad HTTP response: {status_line:?}")),
        }
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// One logout token to POST.
pub(crate) struct Delivery {
    pub(crate) client_id: String,
    pub(crate) uri: String,
    pub(crate) logout_token: String,
}

/// Builds a logout token of the given kind.
pub(crate) fn make_logout_token(
    shared: &Shared,
    st: &State,
    kind: &LogoutTokenKind,
    client_id: &str,
    sub: Option<&str>,
    sid: Option<&str>,
) -> Result<String, Error> {
    let now = now_secs();
    let mut c = serde_json::Map::new();
    c.insert("iss".into(), shared.urls.issuer.clone().into());
    c.insert("aud".into(), client_id.into());
    c.insert("iat".into(), now.into());
    c.insert("exp".into(), (now + LOGOUT_TOKEN_TTL).into());
    c.insert("jti".into(), shared.random(16).into());
    c.insert("events".into(), json!({ BACKCHANNEL_EVENT: {} }));
    if let Some(sub) = sub {
        c.insert("sub".into(), sub.into());
    }
    if let Some(sid) = sid {
        c.insert("sid".into(), sid.into());
    }
    let mut mode = SignMode::Normal;
    match kind {
        LogoutTokenKind::Valid => {}
        LogoutTokenKind::AlgNone => mode = SignMode::AlgNone,
        LogoutTokenKind::WrongAudience(aud) => {
            c.insert("aud".into(), aud.clone().into());
        }
        LogoutTokenKind::WrongIssuer => {
            c.insert("iss".into(), WRONG_ISSUER.into());
        }
        LogoutTokenKind::MissingEvents => {
            c.remove("events");
        }
        LogoutTokenKind::WithNonce => {
            c.insert("nonce".into(), shared.random(12).into());
        }
        LogoutTokenKind::Expired => {
            c.insert("iat".into(), now.saturating_sub(1200).into());
            c.insert("exp".into(), now.saturating_sub(600).into());
        }
        LogoutTokenKind::NoSidNoSub => {
            c.remove("sub");
            c.remove("sid");
        }
        LogoutTokenKind::MissingJti => {
            c.remove("jti");
        }
        LogoutTokenKind::MissingExp => {
            c.remove("exp");
        }
        LogoutTokenKind::IssuedLongAgo => {
            c.insert("iat".into(), now.saturating_sub(3600).into());
            c.insert("exp".into(), (now + 3600).into());
        }
        LogoutTokenKind::MediaTypeTyp => {}
    }
    let typ = if *kind == LogoutTokenKind::MediaTypeTyp {
        "application/logout+jwt"
    } else {
        "logout+jwt"
    };
    sign_jwt(
        &st.keys,
        &shared.rng,
        st.alg_for(client_id),
        Some(typ),
        &Value::Object(c),
        mode,
    )
}

/// Ends the given sessions and prepares a logout token for every participating client that
/// registered a `backchannel_logout_uri`.
pub(crate) fn end_sessions(shared: &Shared, st: &mut State, sids: &[String]) -> Vec<Delivery> {
    let mut out = Vec::new();
    for sid in sids {
        let Some(session) = st.end_session(sid) else {
            continue;
        };
        tracing::info!(sid = %session.sid, sub = %session.sub, "provider session ended");
        for client_id in &session.clients {
            let Some(uri) = st
                .clients
                .get(client_id)
                .and_then(|c| c.backchannel_logout_uri.clone())
            else {
                continue;
            };
            match make_logout_token(
                shared,
                st,
                &LogoutTokenKind::Valid,
                client_id,
                Some(&session.sub),
                Some(&session.sid),
            ) {
                Ok(logout_token) => out.push(Delivery {
                    client_id: client_id.clone(),
                    uri,
                    logout_token,
                }),
                Err(e) => tracing::warn!(%client_id, error = %e, "could not sign a logout token"),
            }
        }
    }
    out
}

/// Delivers logout tokens concurrently; returns how many were answered with 2xx.
pub(crate) async fn deliver_all(shared: &Arc<Shared>, deliveries: Vec<Delivery>) -> usize {
    let mut tasks = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        tasks.push(tokio::spawn(async move {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("logout_token", &d.logout_token)
                .finish();
            let result = post_form(&d.uri, &body, DELIVERY_TIMEOUT).await;
            match &result {
                Ok(code) if (200..300).contains(code) => {
                    tracing::info!(client_id = %d.client_id, uri = %d.uri, status = code, "back-channel logout delivered")
                }
                Ok(code) => {
                    tracing::warn!(client_id = %d.client_id, uri = %d.uri, status = code, "back-channel logout rejected")
                }
                Err(e) => {
                    tracing::warn!(client_id = %d.client_id, uri = %d.uri, error = %e, "back-channel logout failed")
                }
            }
            matches!(result, Ok(code) if (200..300).contains(&code))
        }));
    }
    let (mut ok, mut failed) = (0usize, 0u64);
    for t in tasks {
        if matches!(t.await, Ok(true)) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    let mut st = shared.lock();
    st.stats.backchannel_deliveries += ok as u64;
    st.stats.backchannel_failures += failed;
    ok
}

/// The decided outcome of an end-session request.
struct Plan {
    deliveries: Vec<Delivery>,
    redirect: Option<String>,
}

fn audience_of(claims: &Value) -> Option<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => claims
            .get("azp")
            .and_then(Value::as_str)
            .or_else(|| a.first().and_then(Value::as_str))
            .map(str::to_owned),
        _ => None,
    }
}

/// Decides the outcome; `Err` is the description for a 400 error page.
fn plan(shared: &Shared, headers: &HeaderMap, params: &Params) -> Result<Plan, String> {
    let bad = |d: &str| d.to_owned();
    let mut st = shared.lock();
    st.stats.end_sessions += 1;
    if let Some(k) = params.repeated() {
        return Err(bad(&format!("parameter {k:?} was sent more than once")));
    }
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(t) => Some(
            st.keys
                .verify_jwt(t)
                .filter(|c| c.get("iss").and_then(Value::as_str) == Some(&shared.urls.issuer))
                .ok_or_else(|| bad("id_token_hint was not issued by this provider"))?,
        ),
    };
    let hint_aud = hint.as_ref().and_then(audience_of);
    let client_id = match (params.get("client_id"), hint_aud.as_deref()) {
        (Some(c), Some(a)) if c != a => {
            return Err(bad("client_id does not match the id_token_hint audience"))
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, a) => a.map(str::to_owned),
    };
    let target = params
        .get("post_logout_redirect_uri")
        .or_else(|| params.get("TargetResource"));
    let redirect = match target {
        None => None,
        Some(uri) => {
            let registered = match &client_id {
                Some(cid) => st
                    .clients
                    .get(cid)
                    .ok_or_else(|| bad("unknown client_id"))?
                    .post_logout_redirect_uris
                    .iter()
                    .any(|u| u == uri),
                None => st
                    .clients
                    .values()
                    .any(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri)),
            };
            if !registered {
                return Err(bad("post_logout_redirect_uri is not registered"));
            }
            let mut url = Url::parse(uri).map_err(|_| bad("bad post_logout_redirect_uri"))?;
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(String::from(url))
        }
    };

    let mut sids: Vec<String> = Vec::new();
    if let Some(c) = h::cookie(headers, &shared.urls.cookie_name()) {
        if let Some(s) = st.session_by_cookie(&c) {
            sids.push(s.sid.clone());
        }
    }
    let (flow_cookie_name, _) = crate::flow::session_cookie(shared);
    if let Some(c) = h::cookie(headers, flow_cookie_name) {
        let found = st
            .sessions
            .values()
            .find(|s| {
                s.flow_cookie
                    .as_deref()
                    .is_some_and(|f| h::constant_time_eq(f.as_bytes(), c.as_bytes()))
            })
            .map(|s| s.sid.clone());
        if let Some(sid) = found {
            if !sids.contains(&sid) {
                sids.push(sid);
            }
        }
    }
    if let Some(hint) = &hint {
        let sid = hint.get("sid").and_then(Value::as_str);
        let sub = hint.get("sub").and_then(Value::as_str);
        if let (Some(sid), Some(sub)) = (sid, sub) {
            let matches = st.sessions.get(sid).is_some_and(|s| s.sub == sub);
            if matches && !sids.iter().any(|s| s == sid) {
                sids.push(sid.to_owned());
            }
        }
    }
    let deliveries = end_sessions(shared, &mut st, &sids);
    Ok(Plan {
        deliveries,
        redirect,
    })
}

/// `GET` / `POST` end session (`/as/signoff`, `/idp/init_logout.openid`, `/idp/startSLO.ping`).
pub(crate) async fn end_session(
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
    let plan = match plan(&shared, &headers, &params) {
        Ok(p) => p,
        Err(description) => {
            return h::error_page(StatusCode::BAD_REQUEST, "invalid_request", &description)
        }
    };
    deliver_all(&shared, plan.deliveries).await;
    let mut resp = match plan.redirect {
        Some(u) => h::redirect(&u, is_post),
        None => h::html_response(
            StatusCode::OK,
            "Signed out",
            "<p>You are signed out of the development provider.</p>",
        ),
    };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        shared.urls.cookie_name()
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    let (_, clear_flow) = crate::flow::session_cookie(&shared);
    if let Ok(v) = HeaderValue::from_str(&clear_flow) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        let t = check_loopback_http("http://127.0.0.1:3000/auth/bcl?x=1").unwrap();
        assert_eq!(t.addr.port(), 3000);
        assert_eq!(t.request_target, "/auth/bcl?x=1");
        assert!(check_loopback_http("http://localhost/x").is_ok());
        assert!(check_loopback_http("http://[::1]:8080/x").is_ok());
        assert!(check_loopback_http("https://127.0.0.1/x").is_err());
        assert!(check_loopback_http("http://example.com/x").is_err());
        assert!(check_loopback_http("http://10.0.0.1/x").is_err());
    }
}
