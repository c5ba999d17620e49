//! Helpers shared by the integration tests: PKCE, a non-redirecting HTTP client, the sign-in
//! form, JWT decoding and verification against the JWKS, a back-channel logout listener.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ping_oidc_dev_provider::{ClientRegistration, DevProvider, PathShape, REQUEST_REF_HEADER};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::Url;

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:3999/auth/callback";
pub const POST_LOGOUT: &str = "http://127.0.0.1:3999/";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let mut buf = [0u8; 32];
    SystemRandom::new().fill(&mut buf).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(buf);
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    Pkce {
        challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        verifier,
    }
}

/// A provider with the default confidential test client.
pub async fn provider(shape: PathShape) -> DevProvider {
    DevProvider::builder()
        .path_shape(shape)
        .client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
                .post_logout_redirect_uri(POST_LOGOUT),
        )
        .start()
        .await
        .unwrap()
}

pub async fn discovery(p: &DevProvider) -> Value {
    let url = format!("{}/.well-known/openid-configuration", p.issuer());
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub fn authorize_url(
    p: &DevProvider,
    client_id: &str,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> String {
    let mut url = Url::parse(&p.endpoints().authorization).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("state", "st-123")
            .append_pair("nonce", "n-456")
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.into()
}

pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `name=value` of the provider session cookie in a response.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ping_oidc_dev_session_") && !v.contains("Max-Age=0"))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Browser-like sign-in through the HTML form. Returns (callback URL, session cookie).
pub async fn form_sign_in(authorize_url: &str, username: &str, password: &str) -> (String, String) {
    let c = client();
    let page = c.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "sign-in page expected");
    let reference = page
        .headers()
        .get(REQUEST_REF_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("not for production"));
    assert!(html.contains(&format!("name=\"request_ref\" value=\"{reference}\"")));
    let mut action = Url::parse(authorize_url).unwrap();
    action.set_query(None);
    assert!(
        html.contains(&format!("action=\"{action}\"")),
        "form posts to the authorization endpoint"
    );
    let r = c
        .post(action)
        .form(&[
            ("request_ref", reference.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "redirect after sign-in");
    let cookie = session_cookie(&r).expect("session cookie");
    (location(&r), cookie)
}

pub async fn token_request(p: &DevProvider, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(p.endpoints().token)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn exchange(p: &DevProvider, code: &str, verifier: &str) -> reqwest::Response {
    token_request(
        p,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(p: &DevProvider, refresh_token: &str) -> reqwest::Response {
    token_request(
        p,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Full flow with programmatic sign-in; returns the token response JSON.
pub async fn tokens(p: &DevProvider) -> Value {
    let pk = pkce();
    let cb = p
        .sign_in(&authorize_url(p, CLIENT_ID, &pk, &[]), "alice")
        .unwrap();
    let code = cb
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = exchange(p, &code, &pk.verifier).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

pub fn decode(token: &str) -> Jwt {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let j =
        |s: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap() };
    Jwt {
        header: j(parts[0]),
        claims: j(parts[1]),
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    }
}

pub async fn jwks(p: &DevProvider) -> Value {
    client()
        .get(p.endpoints().jwks)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies the JWS signature against the provider's JWKS (by kid, or any key of the alg).
pub fn verify(jwt: &Jwt, jwks: &Value) -> bool {
    let alg = jwt.header["alg"].as_str().unwrap_or_default();
    let kid = jwt.header["kid"].as_str();
    jwks["keys"].as_array().unwrap().iter().any(|k| {
        if k["alg"] != alg || kid.is_some_and(|kid| k["kid"] != kid) {
            return false;
        }
        let b = |f: &str| URL_SAFE_NO_PAD.decode(k[f].as_str().unwrap()).unwrap();
        match alg {
            "RS256" => ring::signature::RsaPublicKeyComponents {
                n: b("n"),
                e: b("e"),
            }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                jwt.signing_input.as_bytes(),
                &jwt.signature,
            )
            .is_ok(),
            "ES256" => {
                let mut point = vec![4u8];
                point.extend(b("x"));
                point.extend(b("y"));
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    point,
                )
                .verify(jwt.signing_input.as_bytes(), &jwt.signature)
                .is_ok()
            }
            _ => false,
        }
    })
}

pub fn at_hash(access_token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

/// A tiny HTTP server answering every request with `status` and reporting each form body.
pub async fn backchannel_listener(status: u16) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/auth/backchannel-logout",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let head = text[..end].to_owned();
                            let body =
                                String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                            assert!(head.starts_with("POST /auth/backchannel-logout HTTP/1.1"));
                            assert!(head
                                .to_ascii_lowercase()
                                .contains("content-type: application/x-www-form-urlencoded"));
                            let _ = tx.send(body);
                            break;
                        }
                    }
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, rx)
}
