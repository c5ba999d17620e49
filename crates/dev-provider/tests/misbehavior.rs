//! Each misbehaviour produces exactly the defect it names.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ping_oidc_dev_provider::{
    LogoutTokenKind, Misbehavior, PathShape, BACKCHANNEL_LOGOUT_EVENT, OTHER_AUDIENCE,
    WRONG_ISSUER, WRONG_NONCE, WRONG_SUBJECT,
};
use serde_json::Value;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs a flow under `m` and returns (token response, decoded ID token, JWKS).
async fn id_token_under(m: Misbehavior) -> (Value, Jwt, Value) {
    let p = provider(PathShape::default()).await;
    p.set_misbehavior(m.clone());
    assert_eq!(p.misbehavior(), m);
    let t = tokens(&p).await;
    let id = decode(t["id_token"].as_str().unwrap());
    let keys = jwks(&p).await;
    p.shutdown().await;
    (t, id, keys)
}

#[tokio::test]
async fn id_token_misbehaviours() {
    let (_, id, keys) = id_token_under(Misbehavior::None).await;
    assert!(verify(&id, &keys));

    let (_, id, keys) = id_token_under(Misbehavior::CorruptIdTokenSignature).await;
    assert!(id.header["kid"].is_string());
    assert!(!verify(&id, &keys), "signature must not verify");

    let (_, id, _) = id_token_under(Misbehavior::IdTokenAlgNone).await;
    assert_eq!(id.header["alg"], "none");
    assert!(id.signature.is_empty());

    let (_, id, keys) = id_token_under(Misbehavior::IdTokenWrongIssuer).await;
    assert_eq!(id.claims["iss"], WRONG_ISSUER);
    assert!(
        verify(&id, &keys),
        "correctly signed, only the claim is wrong"
    );

    let (_, id, _) = id_token_under(Misbehavior::IdTokenWrongAudience).await;
    assert_eq!(id.claims["aud"], OTHER_AUDIENCE);

    let (_, id, _) = id_token_under(Misbehavior::IdTokenNoAudience).await;
    assert!(id.claims.get("aud").is_none());

    let (_, id, _) = id_token_under(Misbehavior::IdTokenExtraAudienceWrongAzp).await;
    assert_eq!(
        id.claims["aud"],
        serde_json::json!([CLIENT_ID, OTHER_AUDIENCE])
    );
    assert_eq!(id.claims["azp"], OTHER_AUDIENCE);

    let (_, id, _) = id_token_under(Misbehavior::IdTokenMissingIat).await;
    assert!(id.claims.get("iat").is_none());
    assert!(id.claims["exp"].is_u64());

    let (_, id, keys) = id_token_under(Misbehavior::IdTokenExpired).await;
    assert!(id.claims["exp"].as_u64().unwrap() < now());
    assert!(verify(&id, &keys));

    let (_, id, _) = id_token_under(Misbehavior::IdTokenMissingSub).await;
    assert!(id.claims.get("sub").is_none());

    let (_, id, _) = id_token_under(Misbehavior::IdTokenWrongNonce).await;
    assert_eq!(id.claims["nonce"], WRONG_NONCE);

    let (_, id, _) = id_token_under(Misbehavior::IdTokenMissingNonce).await;
    assert!(id.claims.get("nonce").is_none());

    let (t, id, _) = id_token_under(Misbehavior::IdTokenWrongAtHash).await;
    assert!(id.claims["at_hash"].is_string());
    assert_ne!(
        id.claims["at_hash"],
        at_hash(t["access_token"].as_str().unwrap())
    );

    let (_, id, keys) = id_token_under(Misbehavior::IdTokenNoKid).await;
    assert!(id.header.get("kid").is_none());
    assert!(verify(&id, &keys), "valid signature, just no kid");
}

#[tokio::test]
async fn endpoint_misbehaviours() {
    let p = provider(PathShape::default()).await;

    // Userinfo with another subject.
    let t = tokens(&p).await;
    p.set_misbehavior(Misbehavior::UserinfoWrongSub);
    let ui: Value = client()
        .get(p.endpoints().userinfo)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], WRONG_SUBJECT);

    // Wrong RFC 9207 iss, programmatic and over HTTP (SSO path).
    let pk = pkce();
    p.set_misbehavior(Misbehavior::AuthorizeWrongIss);
    let cb = p
        .sign_in(&authorize_url(&p, CLIENT_ID, &pk, &[]), "alice")
        .unwrap();
    let q = query(cb.as_str());
    assert_eq!(q["iss"], WRONG_ISSUER);
    assert!(q.contains_key("code"));
    let (cb, cookie) = form_sign_in(
        &authorize_url(&p, CLIENT_ID, &pk, &[]),
        "alice",
        "alice-password",
    )
    .await;
    assert_eq!(query(&cb)["iss"], WRONG_ISSUER);

    // access_denied.
    p.set_misbehavior(Misbehavior::AuthorizeAccessDenied);
    let cb = p
        .sign_in(&authorize_url(&p, CLIENT_ID, &pk, &[]), "alice")
        .unwrap();
    let q = query(cb.as_str());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));
    let r = client()
        .get(authorize_url(&p, CLIENT_ID, &pk, &[]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "access_denied");

    // Token endpoint error; the code survives.
    p.set_misbehavior(Misbehavior::None);
    let cb = p
        .sign_in(&authorize_url(&p, CLIENT_ID, &pk, &[]), "alice")
        .unwrap();
    let code = query(cb.as_str())["code"].clone();
    p.set_misbehavior(Misbehavior::TokenEndpointError);
    p.reset_stats();
    let r = exchange(&p, &code, &pk.verifier).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(p.stats().token_errors, 1);
    assert_eq!(p.stats().authorization_code_grants, 1);
    p.set_misbehavior(Misbehavior::None);
    assert_eq!(exchange(&p, &code, &pk.verifier).await.status(), 200);

    // Discovery issuer.
    p.set_misbehavior(Misbehavior::DiscoveryWrongIssuer);
    assert_eq!(discovery(&p).await["issuer"], WRONG_ISSUER);

    // Refresh misbehaviours leave the code exchange alone.
    for (m, claim, wrong) in [
        (Misbehavior::RefreshWrongIssuer, "iss", WRONG_ISSUER),
        (Misbehavior::RefreshWrongSub, "sub", WRONG_SUBJECT),
    ] {
        p.set_misbehavior(m);
        let t = tokens(&p).await;
        let first = decode(t["id_token"].as_str().unwrap()).claims;
        assert_ne!(first[claim], wrong);
        let t2: Value = refresh(&p, t["refresh_token"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            decode(t2["id_token"].as_str().unwrap()).claims[claim],
            wrong
        );
    }

    // Slow responses.
    p.set_misbehavior(Misbehavior::SlowResponses(Duration::from_millis(400)));
    let start = Instant::now();
    discovery(&p).await;
    assert!(start.elapsed() >= Duration::from_millis(400));

    // Huge token response.
    p.set_misbehavior(Misbehavior::HugeTokenResponse);
    let pk = pkce();
    let cb = p
        .sign_in(&authorize_url(&p, CLIENT_ID, &pk, &[]), "alice")
        .unwrap();
    let body = exchange(&p, &query(cb.as_str())["code"], &pk.verifier)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(body.len() > 5_000_000);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["id_token"].is_string());

    p.set_misbehavior(Misbehavior::None);
    assert_eq!(discovery(&p).await["issuer"], p.issuer());
    p.shutdown().await;
}

#[tokio::test]
async fn hand_made_logout_tokens() {
    let p = provider(PathShape::PingFederate).await;
    let keys = jwks(&p).await;
    let make =
        |k: LogoutTokenKind| decode(&p.logout_token(k, CLIENT_ID, "sub-1", "sid-1").unwrap());

    let v = make(LogoutTokenKind::Valid);
    assert_eq!(v.header["typ"], "logout+jwt");
    assert!(verify(&v, &keys));
    assert_eq!(v.claims["iss"], p.issuer());
    assert_eq!(v.claims["aud"], CLIENT_ID);
    assert_eq!(v.claims["sub"], "sub-1");
    assert_eq!(v.claims["sid"], "sid-1");
    assert!(v.claims["jti"].is_string());
    assert!(v.claims["exp"].as_u64().unwrap() > now());
    assert!(v.claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object());
    assert!(v.claims.get("nonce").is_none());

    let t = make(LogoutTokenKind::AlgNone);
    assert_eq!(t.header["alg"], "none");
    assert!(t.signature.is_empty());

    let t = make(LogoutTokenKind::WrongAudience("elsewhere".into()));
    assert_eq!(t.claims["aud"], "elsewhere");
    assert!(verify(&t, &keys));

    assert_eq!(
        make(LogoutTokenKind::WrongIssuer).claims["iss"],
        WRONG_ISSUER
    );
    assert!(make(LogoutTokenKind::MissingEvents)
        .claims
        .get("events")
        .is_none());
    assert!(make(LogoutTokenKind::WithNonce).claims["nonce"].is_string());
    assert!(
        make(LogoutTokenKind::Expired).claims["exp"]
            .as_u64()
            .unwrap()
            < now()
    );
    let t = make(LogoutTokenKind::NoSidNoSub);
    assert!(t.claims.get("sid").is_none() && t.claims.get("sub").is_none());
    assert!(t.claims["events"].is_object());
    p.shutdown().await;
}
