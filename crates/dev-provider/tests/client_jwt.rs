//! Signed JWTs from clients: `private_key_jwt` and `client_secret_jwt` assertions at the
//! token, introspection and revocation endpoints, and signed request objects (RFC 9101) at
//! the authorization endpoint. Keys are made with ring (an EC key generated per test, an RSA
//! key from the crate's embedded public test keys).

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use ping_oidc_dev_provider::{AuthMethod, ClientRegistration, DevProvider, Error, PathShape};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{json, Value};
use url::Url;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_CLIENT: &str = "jwt-app";
const HMAC_CLIENT: &str = "hmac-app";
const HMAC_SECRET: &str = "hmac-secret-of-at-least-32-bytes!";
const ORDERS: &str = "https://orders.example/";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn random_jti() -> String {
    let mut buf = [0u8; 16];
    SystemRandom::new().fill(&mut buf).unwrap();
    b64(&buf)
}

/// The client's keys: a fresh EC P-256 key (`ec-1`) and an embedded RSA test key (`rsa-1`).
struct Keys {
    ec: EcdsaKeyPair,
    rsa: RsaKeyPair,
}

impl Keys {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Keys {
            ec: EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap(),
            rsa: RsaKeyPair::from_pkcs8(include_bytes!("../keys/rsa-3.pk8.der")).unwrap(),
        }
    }

    fn jwks(&self) -> Value {
        let point = self.ec.public_key().as_ref();
        let rsa: RsaPublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig",
             "x": b64(&point[1..33]), "y": b64(&point[33..65])},
            {"kty": "RSA", "kid": "rsa-1", "n": b64(&rsa.n), "e": b64(&rsa.e)},
        ]})
    }

    /// A compact JWS of `claims` with `header`, signed according to `header.alg`.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let rsa = |padding: &'static dyn signature::RsaEncoding| {
            let mut sig = vec![0; self.rsa.public().modulus_len()];
            self.rsa
                .sign(padding, &rng, input.as_bytes(), &mut sig)
                .unwrap();
            sig
        };
        let sig = match header["alg"].as_str().unwrap() {
            "ES256" => self
                .ec
                .sign(&rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            "RS256" => rsa(&signature::RSA_PKCS1_SHA256),
            "PS256" => rsa(&signature::RSA_PSS_SHA256),
            "none" => Vec::new(),
            other => panic!("no key for {other}"),
        };
        format!("{input}.{}", b64(&sig))
    }
}

fn hmac_jwt(secret: &str, alg: &str, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({ "alg": alg }).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let algorithm = match alg {
        "HS256" => ring::hmac::HMAC_SHA256,
        "HS512" => ring::hmac::HMAC_SHA512,
        other => panic!("{other}"),
    };
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(algorithm, secret.as_bytes()),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Claims of a client assertion for `client_id`, as the relying party sends them.
fn assertion_claims(client_id: &str, aud: &str) -> Value {
    let now = now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": random_jti(),
        "iat": now, "exp": now + 60})
}

async fn start(shape: PathShape, keys: &Keys) -> DevProvider {
    DevProvider::builder()
        .path_shape(shape)
        .resource(ORDERS)
        .client(ClientRegistration::private_key_jwt(
            JWT_CLIENT,
            keys.jwks(),
            REDIRECT_URI,
        ))
        .client(
            ClientRegistration::confidential(HMAC_CLIENT, HMAC_SECRET, REDIRECT_URI)
                .auth_method(AuthMethod::ClientSecretJwt),
        )
        .client(ClientRegistration::confidential(
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
        ))
        .start()
        .await
        .unwrap()
}

/// POSTs `form` plus a client assertion to `url`; returns (status, JSON body or null).
async fn post_with_assertion(
    url: &str,
    client_id: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut fields = vec![
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    fields.extend_from_slice(form);
    let r = client().post(url).form(&fields).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Introspection of a dummy token: 200 `{"active": false}` once the client is authenticated.
async fn introspect_with(p: &DevProvider, client_id: &str, assertion: &str) -> (u16, Value) {
    post_with_assertion(
        &p.endpoints().introspection,
        client_id,
        assertion,
        &[("token", "not-a-token")],
    )
    .await
}

fn assert_invalid_client((status, body): (u16, Value), why: &str) {
    assert_eq!(status, 401, "{why}: {body}");
    assert_eq!(body["error"], "invalid_client", "{why}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{why}: a description"
    );
}

fn code_of(callback: &Url) -> String {
    callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {callback}"))
}

#[tokio::test]
async fn private_key_jwt_token_requests_are_accepted() {
    let keys = Keys::new();
    for shape in [PathShape::default(), PathShape::PingFederate] {
        let p = start(shape, &keys).await;
        let token_url = p.endpoints().token;
        let pk = pkce();
        let cb = p
            .sign_in(&authorize_url(&p, JWT_CLIENT, &pk, &[]), "alice")
            .unwrap();
        let code = code_of(&cb);
        // ES256 with the EC key's kid, aud the token endpoint (what ping-oidc sends).
        let assertion = keys.sign(
            &json!({"alg": "ES256", "kid": "ec-1"}),
            &assertion_claims(JWT_CLIENT, &token_url),
        );
        let (status, body) = post_with_assertion(
            &token_url,
            JWT_CLIENT,
            &assertion,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &pk.verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["access_token"].is_string() && body["id_token"].is_string());
        let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        // RS256 with the RSA key, aud the issuer, client_id only in the assertion.
        let assertion = keys.sign(
            &json!({"alg": "RS256", "kid": "rsa-1"}),
            &assertion_claims(JWT_CLIENT, &p.issuer()),
        );
        let r = client()
            .post(&token_url)
            .form(&[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // PS256; aud an array naming the revocation endpoint, which is the one called.
        let mut claims = assertion_claims(JWT_CLIENT, "");
        claims["aud"] = json!(["https://elsewhere/", p.endpoints().revocation]);
        let assertion = keys.sign(&json!({"alg": "PS256", "kid": "rsa-1"}), &claims);
        let (status, _) = post_with_assertion(
            &p.endpoints().revocation,
            JWT_CLIENT,
            &assertion,
            &[("token", "not-a-token")],
        )
        .await;
        assert_eq!(status, 200);
        p.shutdown().await;
    }
}

#[tokio::test]
async fn bad_private_key_jwt_assertions_are_refused() {
    let keys = Keys::new();
    let p = start(PathShape::default(), &keys).await;
    let token_url = p.endpoints().token;
    let es256 = json!({"alg": "ES256", "kid": "ec-1"});
    let good = || assertion_claims(JWT_CLIENT, &token_url);

    // Accepted once...
    let assertion = keys.sign(&es256, &good());
    let (status, body) = introspect_with(&p, JWT_CLIENT, &assertion).await;
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    // ...and a replay of the same jti is refused.
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &assertion).await,
        "replayed jti",
    );
    let mut same_jti = good();
    let first = keys.sign(&es256, &same_jti);
    assert_eq!(introspect_with(&p, JWT_CLIENT, &first).await.0, 200);
    same_jti["iat"] = (now() - 1).into(); // the jti reused in another assertion
    let second = keys.sign(&es256, &same_jti);
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &second).await,
        "jti reused in a new assertion",
    );

    // Wrong signature: another key under the registered kid, or a flipped byte.
    let other = Keys::new();
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &other.sign(&es256, &good())).await,
        "signed by another key",
    );
    let mut tampered = keys.sign(&es256, &good()).into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &String::from_utf8(tampered).unwrap()).await,
        "tampered signature",
    );

    let mut wrong_aud = good();
    wrong_aud["aud"] = "https://evil.example/token".into();
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &keys.sign(&es256, &wrong_aud)).await,
        "wrong aud",
    );
    let mut expired = good();
    expired["iat"] = (now() - 600).into();
    expired["exp"] = (now() - 300).into();
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &keys.sign(&es256, &expired)).await,
        "expired",
    );
    let mut no_exp = good();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &keys.sign(&es256, &no_exp)).await,
        "no exp",
    );
    let mut no_jti = good();
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &keys.sign(&es256, &no_jti)).await,
        "no jti",
    );
    let mut wrong_sub = good();
    wrong_sub["sub"] = "someone-else".into();
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &keys.sign(&es256, &wrong_sub)).await,
        "sub is not the client",
    );
    p.register_client(ClientRegistration::private_key_jwt(
        "jwt-app-2",
        keys.jwks(),
        REDIRECT_URI,
    ))
    .unwrap();
    let (status, body) = introspect_with(&p, "jwt-app-2", &keys.sign(&es256, &good())).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("`iss`"),
        "{body}"
    );
    assert_invalid_client((status, body), "client_id differs from iss");
    assert_invalid_client(
        introspect_with(
            &p,
            JWT_CLIENT,
            &keys.sign(&json!({"alg": "ES256", "kid": "unknown"}), &good()),
        )
        .await,
        "unknown kid",
    );

    // alg none, in any case.
    for alg in ["none", "None"] {
        let unsigned = keys.sign(&json!({"alg": "none"}), &good());
        let unsigned = unsigned.replacen(
            &b64(json!({"alg": "none"}).to_string().as_bytes()),
            &b64(json!({ "alg": alg }).to_string().as_bytes()),
            1,
        );
        assert_invalid_client(introspect_with(&p, JWT_CLIENT, &unsigned).await, alg);
    }

    // Method mismatch: an HMAC assertion from the private_key_jwt client, a private_key_jwt
    // assertion from the client_secret_basic client, a secret from the private_key_jwt one.
    assert_invalid_client(
        introspect_with(&p, JWT_CLIENT, &hmac_jwt("x", "HS256", &good())).await,
        "HS256 for a private_key_jwt client",
    );
    let basic_claims = assertion_claims(CLIENT_ID, &token_url);
    assert_invalid_client(
        introspect_with(&p, CLIENT_ID, &keys.sign(&es256, &basic_claims)).await,
        "assertion from a client_secret_basic client",
    );
    let r = client()
        .post(p.endpoints().introspection)
        .basic_auth(JWT_CLIENT, Some("guess"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "Basic for a private_key_jwt client");

    // Two methods at once, or half an assertion: invalid_request.
    let r = client()
        .post(p.endpoints().introspection)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", keys.sign(&es256, &good()).as_str()),
            ("token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = client()
        .post(p.endpoints().token)
        .form(&[
            ("client_id", JWT_CLIENT),
            ("client_assertion", keys.sign(&es256, &good()).as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let (status, body) = post_with_assertion(
        &p.endpoints().token,
        JWT_CLIENT,
        "not.a.jwt",
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_invalid_client((status, body), "garbage assertion");
    let r = client()
        .post(p.endpoints().token)
        .form(&[
            ("client_id", JWT_CLIENT),
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", keys.sign(&es256, &good()).as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "unsupported assertion type");
    assert!(p.stats().token_errors >= 3);
    p.shutdown().await;
}

#[tokio::test]
async fn client_secret_jwt_is_accepted_and_a_wrong_secret_refused() {
    let keys = Keys::new();
    let p = start(PathShape::PingFederate, &keys).await;
    let token_url = p.endpoints().token;
    let pk = pkce();
    let cb = p
        .sign_in(&authorize_url(&p, HMAC_CLIENT, &pk, &[]), "alice")
        .unwrap();
    let assertion = hmac_jwt(
        HMAC_SECRET,
        "HS256",
        &assertion_claims(HMAC_CLIENT, &token_url),
    );
    let (status, body) = post_with_assertion(
        &token_url,
        HMAC_CLIENT,
        &assertion,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code_of(&cb)),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pk.verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let hs512 = hmac_jwt(
        HMAC_SECRET,
        "HS512",
        &assertion_claims(HMAC_CLIENT, &token_url),
    );
    assert_eq!(introspect_with(&p, HMAC_CLIENT, &hs512).await.0, 200);

    let wrong = hmac_jwt(
        "not-the-secret",
        "HS256",
        &assertion_claims(HMAC_CLIENT, &token_url),
    );
    assert_invalid_client(
        introspect_with(&p, HMAC_CLIENT, &wrong).await,
        "wrong secret",
    );
    // An asymmetric assertion from the client_secret_jwt client is a method mismatch, and so
    // is the secret itself.
    let es = keys.sign(
        &json!({"alg": "ES256", "kid": "ec-1"}),
        &assertion_claims(HMAC_CLIENT, &token_url),
    );
    assert_invalid_client(
        introspect_with(&p, HMAC_CLIENT, &es).await,
        "ES256 for client_secret_jwt",
    );
    let r = client()
        .post(p.endpoints().introspection)
        .basic_auth(HMAC_CLIENT, Some(HMAC_SECRET))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    p.shutdown().await;
}

/// Request object claims as ping-oidc makes them: the authorization parameters plus `iss`,
/// `aud`, `iat`, `nbf`, `exp`, `jti`.
fn request_claims(p: &DevProvider, client_id: &str, pk: &Pkce) -> Value {
    let now = now();
    json!({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid profile", "state": "ro-state", "nonce": "ro-nonce",
        "code_challenge": pk.challenge, "code_challenge_method": "S256",
        "max_age": 600, "resource": [ORDERS, "https://other.example/"],
        "iss": client_id, "aud": p.issuer(), "iat": now, "nbf": now, "exp": now + 300,
        "jti": random_jti(),
    })
}

fn signed_request(keys: &Keys, claims: &Value) -> String {
    keys.sign(
        &json!({"alg": "ES256", "kid": "ec-1", "typ": "oauth-authz-req+jwt"}),
        claims,
    )
}

/// The by-value authorization URL ping-oidc sends: `response_type`, `client_id`, `scope`,
/// `request`.
fn by_value_url(p: &DevProvider, client_id: &str, request: &str) -> String {
    let mut url = Url::parse(&p.endpoints().authorization).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", "openid")
        .append_pair("request", request);
    url.into()
}

#[tokio::test]
async fn request_objects_by_value_are_verified_and_their_parameters_used() {
    let keys = Keys::new();
    for shape in [PathShape::default(), PathShape::PingFederate] {
        let p = start(shape, &keys).await;
        let pk = pkce();
        let claims = request_claims(&p, JWT_CLIENT, &pk);
        let url = by_value_url(&p, JWT_CLIENT, &signed_request(&keys, &claims));
        // The endpoint shows the sign-in page (not an error) for it...
        let page = client().get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        // ...and signing in redirects with the request object's state.
        let cb = p.sign_in(&url, "alice").unwrap();
        assert!(cb.as_str().starts_with(REDIRECT_URI), "{cb}");
        let q = query(cb.as_str());
        assert_eq!(q["state"], "ro-state");
        let assertion = keys.sign(
            &json!({"alg": "ES256", "kid": "ec-1"}),
            &assertion_claims(JWT_CLIENT, &p.endpoints().token),
        );
        let (status, body) = post_with_assertion(
            &p.endpoints().token,
            JWT_CLIENT,
            &assertion,
            &[
                ("grant_type", "authorization_code"),
                ("code", &q["code"]),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &pk.verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // The request object's scope and nonce, not the outer `scope=openid`.
        assert_eq!(body["scope"], "openid profile");
        let id_token = decode(body["id_token"].as_str().unwrap());
        assert_eq!(id_token.claims["nonce"], "ro-nonce");
        assert_eq!(id_token.claims["name"], "Alice Example");

        // A client_secret_basic client with registered keys can sign its requests too, and
        // POST works like GET.
        let basic =
            ClientRegistration::confidential("basic-jar", "s", REDIRECT_URI).jwks(keys.jwks());
        p.register_client(basic).unwrap();
        let mut claims = request_claims(&p, "basic-jar", &pk);
        claims.as_object_mut().unwrap().remove("resource");
        claims["max_age"] = json!(0);
        let rs = keys.sign(
            &json!({"alg": "RS256", "kid": "rsa-1", "typ": "oauth-authz-req+jwt"}),
            &claims,
        );
        let r = client()
            .post(p.endpoints().authorization)
            .form(&[("client_id", "basic-jar"), ("request", rs.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        p.shutdown().await;
    }
}

#[tokio::test]
async fn bad_request_objects_are_refused() {
    let keys = Keys::new();
    let p = start(PathShape::default(), &keys).await;
    let pk = pkce();
    let good = request_claims(&p, JWT_CLIENT, &pk);

    let refused = |request: String, why: &'static str| {
        let url = by_value_url(&p, JWT_CLIENT, &request);
        let p = &p;
        async move {
            let r = client().get(&url).send().await.unwrap();
            assert_eq!(r.status(), 400, "{why}");
            let html = r.text().await.unwrap();
            assert!(html.contains("invalid_request_object"), "{why}: {html}");
            match p.sign_in(&url, "alice") {
                Err(Error::InvalidAuthorizationRequest(msg)) => {
                    assert!(msg.starts_with("invalid_request_object"), "{why}: {msg}")
                }
                other => panic!("{why}: {other:?}"),
            }
        }
    };

    // Tampered: the payload changed after signing (another redirect URI would be used).
    let signed = signed_request(&keys, &good);
    let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
    let mut evil = good.clone();
    evil["redirect_uri"] = "http://127.0.0.1:3999/evil".into();
    parts[1] = b64(evil.to_string().as_bytes());
    refused(parts.join("."), "tampered payload").await;
    refused(
        signed_request(&Keys::new(), &good),
        "signed by an unregistered key",
    )
    .await;
    refused(
        keys.sign(&json!({"alg": "none"}), &good),
        "alg none request object",
    )
    .await;
    refused(hmac_jwt("secret", "HS256", &good), "HMAC request object").await;
    refused(
        keys.sign(&json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}), &good),
        "wrong typ",
    )
    .await;
    let with = |name: &str, value: Value| {
        let mut claims = good.clone();
        claims[name] = value;
        signed_request(&keys, &claims)
    };
    refused(with("aud", json!("https://other-issuer/")), "wrong aud").await;
    refused(with("exp", json!(now() - 600)), "expired").await;
    refused(with("iss", json!("someone-else")), "iss is not the client").await;
    refused(
        with("client_id", json!(CLIENT_ID)),
        "inner client_id differs",
    )
    .await;
    refused(
        with("response_type", json!("token")),
        "outer response_type differs",
    )
    .await;
    refused(with("request_uri", json!("urn:x")), "nested request_uri").await;
    refused(with("scope", json!(["openid"])), "scope not a string").await;
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    refused(signed_request(&keys, &no_exp), "no exp").await;
    refused("garbage".into(), "not a JWS").await;

    // A valid request object whose parameters are wrong goes back to the client as usual.
    let cb = p
        .sign_in(
            &by_value_url(
                &p,
                JWT_CLIENT,
                &with("code_challenge_method", json!("plain")),
            ),
            "alice",
        )
        .unwrap();
    let q = query(cb.as_str());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "ro-state");

    // The client without registered keys cannot send request objects at all.
    let mut basic = request_claims(&p, CLIENT_ID, &pk);
    basic["iss"] = CLIENT_ID.into();
    let url = by_value_url(&p, CLIENT_ID, &signed_request(&keys, &basic));
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("no registered keys"));
    p.shutdown().await;
}

#[tokio::test]
async fn require_signed_request_object_is_enforced() {
    let keys = Keys::new();
    let p = DevProvider::builder()
        .client(
            ClientRegistration::private_key_jwt(JWT_CLIENT, keys.jwks(), REDIRECT_URI)
                .require_signed_request_object(true),
        )
        .start()
        .await
        .unwrap();
    let pk = pkce();
    // A plain request: the usual error redirect with invalid_request.
    let plain = authorize_url(&p, JWT_CLIENT, &pk, &[]);
    let r = client().get(&plain).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let q = query(&location(&r));
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("signed request object"));
    assert_eq!(q["state"], "st-123");
    let q = query(p.sign_in(&plain, "alice").unwrap().as_str());
    assert_eq!(q["error"], "invalid_request");
    // The Flow API too: 400 JSON.
    let r = client()
        .get(authorize_url(
            &p,
            JWT_CLIENT,
            &pk,
            &[("response_mode", "pi.flow")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A signed one goes through.
    let url = by_value_url(
        &p,
        JWT_CLIENT,
        &signed_request(&keys, &request_claims(&p, JWT_CLIENT, &pk)),
    );
    let q = query(p.sign_in(&url, "alice").unwrap().as_str());
    assert!(q.contains_key("code"), "{q:?}");
    p.shutdown().await;
}

#[tokio::test]
async fn registrations_need_what_their_method_needs() {
    let keys = Keys::new();
    let refused = |client: ClientRegistration| async move {
        match DevProvider::builder().client(client).start().await {
            Err(Error::Config(msg)) => msg,
            Ok(_) => panic!("accepted"),
            Err(other) => panic!("{other}"),
        }
    };
    let no_keys =
        ClientRegistration::public(JWT_CLIENT, REDIRECT_URI).auth_method(AuthMethod::PrivateKeyJwt);
    assert!(refused(no_keys).await.contains("no public keys"));
    let no_secret = ClientRegistration::public(HMAC_CLIENT, REDIRECT_URI)
        .auth_method(AuthMethod::ClientSecretJwt);
    assert!(refused(no_secret).await.contains("no secret"));
    let required_without_keys = ClientRegistration::confidential("c", "s", REDIRECT_URI)
        .require_signed_request_object(true);
    assert!(refused(required_without_keys)
        .await
        .contains("no public keys"));
    let bad = ClientRegistration::private_key_jwt(
        JWT_CLIENT,
        json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
        REDIRECT_URI,
    );
    assert!(refused(bad).await.contains("2048"));
    // A single JWK and an array of JWKs are accepted as well as a set.
    let set = keys.jwks();
    let single = set["keys"][0].clone();
    for jwks in [single, set["keys"].clone()] {
        let p = DevProvider::builder()
            .client(ClientRegistration::private_key_jwt(
                JWT_CLIENT,
                jwks,
                REDIRECT_URI,
            ))
            .start()
            .await
            .unwrap();
        p.shutdown().await;
    }
}

#[tokio::test]
async fn discovery_advertises_jwt_client_auth_and_request_objects() {
    let keys = Keys::new();
    let p = start(PathShape::default(), &keys).await;
    let d = discovery(&p).await;
    let methods = d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for method in ["client_secret_jwt", "private_key_jwt"] {
        assert!(methods.contains(&json!(method)), "{method}");
    }
    assert_eq!(
        d["token_endpoint_auth_signing_alg_values_supported"],
        json!([
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256"
        ])
    );
    assert_eq!(d["request_parameter_supported"], true);
    assert_eq!(
        d["request_object_signing_alg_values_supported"],
        json!(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"])
    );
    assert_eq!(d["request_uri_parameter_supported"], false);
    p.shutdown().await;
}
