//! End-to-end tests of the HTTP endpoints.

mod common;

use std::time::Duration;

use common::*;
use ping_oidc_dev_provider::{
    AuthMethod, ClientRegistration, DevProvider, Error, LogoutTarget, PathShape, SigningAlg,
    TestUser, DEFAULT_ENV_ID,
};
use serde_json::Value;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn discovery_pingone_shape() {
    let p = provider(PathShape::pingone("env-test")).await;
    let base = p.base_url();
    assert_eq!(base, format!("http://127.0.0.1:{}", p.port()));
    assert_eq!(p.issuer(), format!("{base}/env-test/as"));
    let d = discovery(&p).await;
    assert_eq!(d["issuer"], p.issuer());
    for (k, path) in [
        ("authorization_endpoint", "authorize"),
        ("token_endpoint", "token"),
        ("userinfo_endpoint", "userinfo"),
        ("jwks_uri", "jwks"),
        ("revocation_endpoint", "revoke"),
        ("introspection_endpoint", "introspect"),
        ("end_session_endpoint", "signoff"),
    ] {
        assert_eq!(d[k], format!("{base}/env-test/as/{path}"), "{k}");
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    assert!(d["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"refresh_token".into()));
    assert!(d["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"openid".into()));
    assert!(d["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&"sid".into()));
    assert!(d.get("ping_end_session_endpoint").is_none());

    let jwks = jwks(&p).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // Unknown paths are 404, not a panic.
    let r = client().get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let default = DevProvider::builder().start().await.unwrap();
    assert!(default.issuer().ends_with(&format!("/{DEFAULT_ENV_ID}/as")));
    p.shutdown().await;
    default.shutdown().await;
}

#[tokio::test]
async fn discovery_pingfederate_shape() {
    let p = provider(PathShape::PingFederate).await;
    let base = p.base_url();
    assert_eq!(p.issuer(), base);
    let d = discovery(&p).await;
    assert_eq!(d["issuer"], base);
    for (k, path) in [
        ("authorization_endpoint", "/as/authorization.oauth2"),
        ("token_endpoint", "/as/token.oauth2"),
        ("userinfo_endpoint", "/idp/userinfo.openid"),
        ("jwks_uri", "/pf/JWKS"),
        ("revocation_endpoint", "/as/revoke_token.oauth2"),
        ("introspection_endpoint", "/as/introspect.oauth2"),
        ("end_session_endpoint", "/idp/init_logout.openid"),
        ("ping_end_session_endpoint", "/idp/startSLO.ping"),
    ] {
        assert_eq!(d[k], format!("{base}{path}"), "{k}");
    }
    let keys = client()
        .get(format!("{base}/pf/JWKS"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 200);

    // Full flow in the PingFederate shape, then startSLO.ping with TargetResource.
    let t = tokens(&p).await;
    let id = decode(t["id_token"].as_str().unwrap());
    assert_eq!(id.claims["iss"], base);
    let r = client()
        .get(format!("{base}/idp/startSLO.ping"))
        .query(&[("TargetResource", POST_LOGOUT)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), POST_LOGOUT);
    p.shutdown().await;
}

#[tokio::test]
async fn code_flow_through_the_form() {
    let p = provider(PathShape::default()).await;
    let pk = pkce();
    let url = authorize_url(&p, CLIENT_ID, &pk, &[]);

    // Wrong password: the page again, with an error.
    let c = client();
    let page = c.get(&url).send().await.unwrap();
    let reference = page
        .headers()
        .get(ping_oidc_dev_provider::REQUEST_REF_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let bad = c
        .post(p.endpoints().authorization)
        .form(&[
            ("request_ref", reference.as_str()),
            ("username", "alice"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Invalid username or password"));
    assert!(html.contains(&reference), "same request reference");

    let (cb, _cookie) = form_sign_in(&url, "alice", "alice-password").await;
    assert!(cb.starts_with(REDIRECT_URI));
    let q = query(&cb);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], p.issuer());
    let code = q["code"].clone();

    let r = exchange(&p, &code, &pk.verifier).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(t["scope"], "openid profile email");
    assert!(t["refresh_token"].is_string());
    let at = t["access_token"].as_str().unwrap();
    let keys = jwks(&p).await;

    let id = decode(t["id_token"].as_str().unwrap());
    assert!(
        verify(&id, &keys),
        "ID token signature verifies against the JWKS"
    );
    assert_eq!(id.header["alg"], "RS256");
    assert_eq!(id.header["kid"], p.current_kid());
    let c = &id.claims;
    assert_eq!(c["iss"], p.issuer());
    assert_eq!(c["aud"], CLIENT_ID);
    assert_eq!(c["azp"], CLIENT_ID);
    assert_eq!(c["nonce"], "n-456");
    assert_eq!(c["sub"], TestUser::default_user().subject());
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["name"], "Alice Example");
    assert_eq!(c["at_hash"], at_hash(at));
    assert!(c["sid"].is_string());
    let iat = c["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now()) < 60);
    assert_eq!(c["exp"].as_u64().unwrap(), iat + 3600);
    assert!(c["auth_time"].as_u64().unwrap() <= iat);
    assert_eq!(p.sessions().len(), 1);
    assert_eq!(p.sessions()[0].sid, c["sid"].as_str().unwrap());
    assert_eq!(p.sessions()[0].clients, vec![CLIENT_ID.to_owned()]);

    let atj = decode(at);
    assert_eq!(atj.header["typ"], "at+jwt");
    assert!(verify(&atj, &keys));
    assert_eq!(atj.claims["client_id"], CLIENT_ID);

    // userinfo, GET and POST.
    let ui: Value = client()
        .get(p.endpoints().userinfo)
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], c["sub"]);
    assert_eq!(ui["email"], "alice@example.com");
    let ui2 = client()
        .post(p.endpoints().userinfo)
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(ui2.status(), 200);
    let none = client().get(p.endpoints().userinfo).send().await.unwrap();
    assert_eq!(none.status(), 401);

    // Reusing the code fails and revokes what it produced.
    let again = exchange(&p, &code, &pk.verifier).await;
    assert_eq!(again.status(), 400);
    let e: Value = again.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant");
    let ui3 = client()
        .get(p.endpoints().userinfo)
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(ui3.status(), 401);
    assert!(ui3.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let r = refresh(&p, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 400);

    let s = p.stats();
    assert_eq!(s.authorization_code_grants, 2);
    assert_eq!(s.refresh_grants, 1);
    assert_eq!(s.token_errors, 2);
    assert_eq!(s.userinfo, 4);
    p.reset_stats();
    assert_eq!(p.stats(), Default::default());
    p.shutdown().await;
}

#[tokio::test]
async fn sso_and_prompt() {
    let p = provider(PathShape::default()).await;
    let pk = pkce();
    let (cb, cookie) = form_sign_in(
        &authorize_url(&p, CLIENT_ID, &pk, &[]),
        "alice",
        "alice-password",
    )
    .await;
    let code1 = query(&cb)["code"].clone();
    let t1: Value = exchange(&p, &code1, &pk.verifier)
        .await
        .json()
        .await
        .unwrap();
    let sid1 = decode(t1["id_token"].as_str().unwrap()).claims["sid"].clone();

    // Session cookie: no page, straight back with a code, same sid.
    let pk2 = pkce();
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk2, &[]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = query(&location(&r));
    let t2: Value = exchange(&p, &q["code"], &pk2.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decode(t2["id_token"].as_str().unwrap()).claims["sid"], sid1);

    // prompt=none with the session works too.
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk2, &[("prompt", "none")]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r)).contains_key("code"));

    // prompt=login shows the page despite the session.
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk2, &[("prompt", "login")]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // prompt=none without session: login_required.
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk2, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = query(&location(&r));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], p.issuer());
    p.shutdown().await;
}

#[tokio::test]
async fn authorization_request_errors() {
    let p = provider(PathShape::default()).await;
    let pk = pkce();
    let c = client();
    let expect_error = |url: String, error: &'static str| {
        let c = c.clone();
        async move {
            let r = c.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 302, "{url}");
            let q = query(&location(&r));
            assert_eq!(q["error"], error, "{url}");
            assert_eq!(q["state"], "st-123");
            assert!(q.contains_key("iss"));
        }
    };
    // PKCE missing, plain, no method.
    let mut url = url::Url::parse(&p.endpoints().authorization).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "st-123");
    expect_error(url.to_string(), "invalid_request").await;
    let with = |extra: &str| format!("{url}&code_challenge={}{extra}", pk.challenge);
    expect_error(with(""), "invalid_request").await;
    expect_error(with("&code_challenge_method=plain"), "invalid_request").await;
    expect_error(
        with("&code_challenge_method=S256&response_type=token").replace("response_type=code&", ""),
        "unsupported_response_type",
    )
    .await;
    expect_error(
        with("&code_challenge_method=S256").replace("scope=openid", "scope=profile"),
        "invalid_scope",
    )
    .await;

    // Not redirectable: error page.
    let r = c
        .get(authorize_url(&p, "unknown-client", &pk, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown client_id"));
    let bad_redirect = authorize_url(&p, CLIENT_ID, &pk, &[]).replace("3999", "4000");
    let r = c.get(&bad_redirect).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // Programmatic sign-in reports the same.
    assert!(matches!(
        p.sign_in(&bad_redirect, "alice"),
        Err(Error::InvalidAuthorizationRequest(_))
    ));
    assert!(matches!(
        p.sign_in(&authorize_url(&p, CLIENT_ID, &pk, &[]), "mallory"),
        Err(Error::UnknownUser(_))
    ));
    let plain = p
        .sign_in(&with("&code_challenge_method=plain"), "alice")
        .unwrap();
    assert_eq!(query(plain.as_str())["error"], "invalid_request");
    let none = p
        .sign_in(
            &authorize_url(&p, CLIENT_ID, &pk, &[("prompt", "none")]),
            "alice",
        )
        .unwrap();
    assert_eq!(query(none.as_str())["error"], "login_required");

    // Garbage at the form endpoint: an error page, not a panic.
    let r = c
        .post(p.endpoints().authorization)
        .form(&[("request_ref", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(p.endpoints().token)
        .body("%%%&&&==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    p.shutdown().await;
}

#[tokio::test]
async fn client_authentication_methods() {
    let p = provider(PathShape::default()).await;
    p.register_client(ClientRegistration::public("spa", REDIRECT_URI))
        .unwrap();
    p.register_client(
        ClientRegistration::confidential("poster", "post-secret", REDIRECT_URI)
            .auth_method(AuthMethod::ClientSecretPost),
    )
    .unwrap();
    assert!(p
        .register_client(ClientRegistration::confidential("x", "y", "not a url"))
        .is_err());

    let code_for = |client_id: &str, pk: &Pkce| {
        let cb = p
            .sign_in(&authorize_url(&p, client_id, pk, &[]), "alice")
            .unwrap();
        query(cb.as_str())["code"].clone()
    };
    let post = |form: Vec<(&'static str, String)>| {
        let url = p.endpoints().token;
        async move { client().post(url).form(&form).send().await.unwrap() }
    };

    // Public client: client_id only.
    let pk = pkce();
    let code = code_for("spa", &pk);
    let bad = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", "spa".into()),
        ("code", code.clone()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", pkce().verifier),
    ])
    .await;
    assert_eq!(bad.status(), 400, "wrong verifier");
    let pk = pkce();
    let code = code_for("spa", &pk);
    let ok = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", "spa".into()),
        ("code", code),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", pk.verifier.clone()),
    ])
    .await;
    assert_eq!(ok.status(), 200);

    // client_secret_post.
    let pk = pkce();
    let code = code_for("poster", &pk);
    let ok = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", "poster".into()),
        ("client_secret", "post-secret".into()),
        ("code", code),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", pk.verifier.clone()),
    ])
    .await;
    assert_eq!(ok.status(), 200);

    // Basic client using post, wrong secret, missing verifier.
    let pk = pkce();
    let code = code_for(CLIENT_ID, &pk);
    let r = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", CLIENT_ID.into()),
        ("client_secret", CLIENT_SECRET.into()),
        ("code", code.clone()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", pk.verifier.clone()),
    ])
    .await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    let r = client()
        .post(p.endpoints().token)
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = token_request(
        &p,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(r.status(), 400, "missing code_verifier");
    let r = token_request(&p, &[("grant_type", "password")]).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "unsupported_grant_type");
    p.shutdown().await;
}

#[tokio::test]
async fn refresh_rotation_and_replay_revokes_the_family() {
    let p = provider(PathShape::default()).await;
    let t0 = tokens(&p).await;
    let id0 = decode(t0["id_token"].as_str().unwrap()).claims;
    let rt0 = t0["refresh_token"].as_str().unwrap().to_owned();

    let r = refresh(&p, &rt0).await;
    assert_eq!(r.status(), 200);
    let t1: Value = r.json().await.unwrap();
    let rt1 = t1["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt0, rt1, "rotated");
    let id1 = decode(t1["id_token"].as_str().unwrap());
    assert!(verify(&id1, &jwks(&p).await));
    for k in ["iss", "sub", "sid", "aud", "auth_time"] {
        assert_eq!(id1.claims[k], id0[k], "{k}");
    }
    assert!(id1.claims.get("nonce").is_none());
    assert_eq!(
        id1.claims["at_hash"],
        at_hash(t1["access_token"].as_str().unwrap())
    );

    let t2: Value = refresh(&p, &rt1).await.json().await.unwrap();
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    let at2 = t2["access_token"].as_str().unwrap().to_owned();

    // Replay of rt0: invalid_grant, and the whole family dies (rt2 and at2 too).
    let r = refresh(&p, &rt0).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant");
    let r = refresh(&p, &rt2).await;
    assert_eq!(r.status(), 400);
    let intro: Value = client()
        .post(p.endpoints().introspection)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", at2.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro, serde_json::json!({"active": false}));

    let s = p.stats();
    assert_eq!(s.authorization_code_grants, 1);
    assert_eq!(s.refresh_grants, 4);
    assert_eq!(s.token_errors, 2);

    // Another grant is unaffected.
    let other = tokens(&p).await;
    let r = refresh(&p, other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    // Scope narrowing on refresh.
    let t: Value = r.json().await.unwrap();
    let r = token_request(
        &p,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("scope", "openid email"),
        ],
    )
    .await;
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["scope"], "openid email");
    let id = decode(t["id_token"].as_str().unwrap()).claims;
    assert!(id.get("name").is_none() && id.get("email").is_some());
    let r = token_request(
        &p,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("scope", "openid phone"),
        ],
    )
    .await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_scope");
    p.shutdown().await;
}

async fn introspect(p: &DevProvider, token: &str) -> Value {
    client()
        .post(p.endpoints().introspection)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn revoke(p: &DevProvider, token: &str) -> reqwest::Response {
    client()
        .post(p.endpoints().revocation)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn revocation_and_introspection() {
    let p = provider(PathShape::default()).await;
    let t = tokens(&p).await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();

    let i = introspect(&p, at).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], CLIENT_ID);
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["scope"], "openid profile email");
    assert_eq!(i["username"], "alice");
    let i = introspect(&p, rt).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    assert_eq!(introspect(&p, "garbage").await["active"], false);

    // Introspection requires client authentication.
    let r = client()
        .post(p.endpoints().introspection)
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Revoke the access token only.
    assert_eq!(revoke(&p, at).await.status(), 200);
    assert_eq!(introspect(&p, at).await["active"], false);
    assert_eq!(introspect(&p, rt).await["active"], true);

    // Revoking the refresh token revokes its family.
    let t2: Value = refresh(&p, rt).await.json().await.unwrap();
    let at2 = t2["access_token"].as_str().unwrap();
    let rt2 = t2["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect(&p, rt).await["active"],
        false,
        "used token inactive"
    );
    assert_eq!(revoke(&p, rt2).await.status(), 200);
    assert_eq!(introspect(&p, rt2).await["active"], false);
    assert_eq!(introspect(&p, at2).await["active"], false);
    assert_eq!(refresh(&p, rt2).await.status(), 400);

    // Unknown tokens: 200.
    assert_eq!(revoke(&p, "unknown").await.status(), 200);
    let r = client()
        .post(p.endpoints().revocation)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "missing token");
    assert_eq!(p.stats().revocations, 4);
    assert_eq!(p.stats().introspections, 9);

    // expire_access_tokens and the TTL setter.
    let t = tokens(&p).await;
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(introspect(&p, at).await["active"], true);
    p.expire_access_tokens();
    assert_eq!(introspect(&p, at).await["active"], false);
    let ui = client()
        .get(p.endpoints().userinfo)
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), 401);
    assert_eq!(
        refresh(&p, t["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    p.set_access_token_ttl(Duration::from_secs(1));
    let t = tokens(&p).await;
    assert_eq!(t["expires_in"], 1);
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(introspect(&p, at).await["active"], true);
    // What the 1 s lifetime would do, without waiting for it.
    p.expire_access_tokens();
    assert_eq!(introspect(&p, at).await["active"], false);
    p.shutdown().await;
}

#[tokio::test]
async fn end_session_with_backchannel_delivery() {
    let (bcl_uri, mut bodies) = backchannel_listener(200).await;
    let p = DevProvider::builder()
        .client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
                .post_logout_redirect_uri(POST_LOGOUT)
                .backchannel_logout_uri(&bcl_uri),
        )
        .start()
        .await
        .unwrap();
    let pk = pkce();
    let (cb, cookie) = form_sign_in(
        &authorize_url(&p, CLIENT_ID, &pk, &[]),
        "alice",
        "alice-password",
    )
    .await;
    let t: Value = exchange(&p, &query(&cb)["code"], &pk.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = t["id_token"].as_str().unwrap();
    let id = decode(id_token).claims;

    // Unregistered post-logout URI: error page, nothing ended.
    let r = client()
        .get(p.endpoints().end_session)
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "http://127.0.0.1:1/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(p.sessions().len(), 1);

    let r = client()
        .get(p.endpoints().end_session)
        .header("cookie", &cookie)
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), format!("{POST_LOGOUT}?state=bye"));
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    let body = tokio::time::timeout(Duration::from_secs(5), bodies.recv())
        .await
        .unwrap()
        .unwrap();
    let logout_token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .unwrap()
        .1
        .into_owned();
    let lt = decode(&logout_token);
    assert_eq!(lt.header["typ"], "logout+jwt");
    assert!(verify(&lt, &jwks(&p).await));
    assert_eq!(lt.claims["iss"], p.issuer());
    assert_eq!(lt.claims["aud"], CLIENT_ID);
    assert_eq!(lt.claims["sub"], id["sub"]);
    assert_eq!(lt.claims["sid"], id["sid"]);
    assert!(lt.claims["jti"].is_string());
    assert!(lt.claims["exp"].as_u64().unwrap() > lt.claims["iat"].as_u64().unwrap());
    assert_eq!(
        lt.claims["events"],
        serde_json::json!({ ping_oidc_dev_provider::BACKCHANNEL_LOGOUT_EVENT: {} })
    );
    assert!(lt.claims.get("nonce").is_none());

    let s = p.stats();
    assert_eq!(s.end_sessions, 2);
    assert_eq!(s.backchannel_deliveries, 1);
    assert!(p.sessions().is_empty());
    // The old cookie no longer gives SSO; the grant (no offline_access) is revoked.
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk, &[("prompt", "none")]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "login_required");
    assert_eq!(
        refresh(&p, t["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );

    // Without a redirect URI: the signed-out page. An expired hint is fine.
    p.set_misbehavior(ping_oidc_dev_provider::Misbehavior::IdTokenExpired);
    let expired = tokens(&p).await;
    p.set_misbehavior(ping_oidc_dev_provider::Misbehavior::None);
    let r = client()
        .post(p.endpoints().end_session)
        .form(&[("id_token_hint", expired["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("signed out"));
    assert!(
        bodies.recv().await.is_some(),
        "hint's session ended, delivery made"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn provider_initiated_backchannel_logout() {
    let (ok_uri, mut ok_bodies) = backchannel_listener(200).await;
    let (bad_uri, _bad_bodies) = backchannel_listener(500).await;
    let p = DevProvider::builder()
        .client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
                .backchannel_logout_uri(&ok_uri),
        )
        .client(
            ClientRegistration::confidential("other", "s", REDIRECT_URI)
                .backchannel_logout_uri(&bad_uri),
        )
        .client(ClientRegistration::confidential(
            "silent",
            "s",
            REDIRECT_URI,
        ))
        .start()
        .await
        .unwrap();
    let t = tokens(&p).await;
    let sub = decode(t["id_token"].as_str().unwrap()).claims["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let pk = pkce();
    p.sign_in(&authorize_url(&p, "other", &pk, &[]), "alice")
        .unwrap();
    p.sign_in(&authorize_url(&p, "silent", &pk, &[]), "alice")
        .unwrap();
    assert_eq!(p.sessions().len(), 3);

    assert_eq!(
        p.backchannel_logout(LogoutTarget::Sub(sub.clone())).await,
        1
    );
    assert!(ok_bodies.recv().await.is_some());
    assert_eq!(p.stats().backchannel_deliveries, 1);
    assert_eq!(p.stats().backchannel_failures, 1);
    assert!(p.sessions().is_empty());
    assert_eq!(
        p.backchannel_logout(LogoutTarget::Sid("gone".into())).await,
        0
    );

    // Unreachable endpoint: counted as failure, no hang.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    p.register_client(
        ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
            .backchannel_logout_uri(format!("http://127.0.0.1:{closed}/bcl")),
    )
    .unwrap();
    let t = tokens(&p).await;
    let sid = decode(t["id_token"].as_str().unwrap()).claims["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(p.backchannel_logout(LogoutTarget::Sid(sid)).await, 0);
    assert_eq!(p.stats().backchannel_failures, 2);
    p.shutdown().await;
}

#[tokio::test]
async fn jwks_rotation() {
    let p = provider(PathShape::default()).await;
    let keys = jwks(&p).await;
    let arr = keys["keys"].as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for k in arr {
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].is_string());
    }
    assert!(arr
        .iter()
        .any(|k| k["alg"] == "RS256" && k["kty"] == "RSA" && k["e"] == "AQAB"));
    assert!(arr
        .iter()
        .any(|k| k["alg"] == "ES256" && k["kty"] == "EC" && k["crv"] == "P-256"));

    let old = tokens(&p).await;
    let old_id = decode(old["id_token"].as_str().unwrap());
    let old_kid = p.current_kid();

    let new_kid = p.rotate_keys(SigningAlg::RS256).unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(p.current_kid(), new_kid);
    let keys = jwks(&p).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3);
    let t = tokens(&p).await;
    let id = decode(t["id_token"].as_str().unwrap());
    assert_eq!(id.header["kid"], new_kid);
    assert!(verify(&id, &keys));
    assert!(verify(&old_id, &keys), "old key still published");

    let es_kid = p.rotate_keys(SigningAlg::ES256).unwrap();
    assert_eq!(p.signing_alg(), SigningAlg::ES256);
    let keys = jwks(&p).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 4);
    let t = tokens(&p).await;
    let id = decode(t["id_token"].as_str().unwrap());
    assert_eq!(id.header["alg"], "ES256");
    assert_eq!(id.header["kid"], es_kid);
    assert!(verify(&id, &keys));

    p.retire_old_keys();
    let keys = jwks(&p).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert!(!verify(&old_id, &keys), "retired key gone");
    assert!(verify(&id, &keys));
    assert_eq!(p.jwks_kids().len(), 2);
    p.shutdown().await;
}

#[tokio::test]
async fn es256_provider_and_per_client_alg() {
    let p = DevProvider::builder()
        .signing_alg(SigningAlg::ES256)
        .client(ClientRegistration::confidential(
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
        ))
        .client(
            ClientRegistration::confidential("rsa-app", "s", REDIRECT_URI)
                .signing_alg(SigningAlg::RS256),
        )
        .user(
            TestUser::new("alice", "pw")
                .sub("fixed-sub")
                .claim("groups", serde_json::json!(["g1"])),
        )
        .start()
        .await
        .unwrap();
    let t = tokens(&p).await;
    let id = decode(t["id_token"].as_str().unwrap());
    assert_eq!(id.header["alg"], "ES256");
    assert!(verify(&id, &jwks(&p).await));
    assert_eq!(id.claims["sub"], "fixed-sub");
    assert_eq!(id.claims["groups"], serde_json::json!(["g1"]));

    let lt = decode(
        &p.logout_token(
            ping_oidc_dev_provider::LogoutTokenKind::Valid,
            "rsa-app",
            "s",
            "x",
        )
        .unwrap(),
    );
    assert_eq!(lt.header["alg"], "RS256");

    // Builder validation.
    let err = DevProvider::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let err = DevProvider::builder()
        .path_shape(PathShape::pingone("bad/env"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    p.shutdown().await;
    // After shutdown the port is closed.
    assert!(client().get(p.endpoints().jwks).send().await.is_err());
}
