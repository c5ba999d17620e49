//! The Flow API emulation (`response_mode=pi.flow`), both shapes, driven over HTTP with a
//! hand-made cookie jar (every `Set-Cookie` is stored and replayed).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use ping_oidc_dev_provider::{
    ClientRegistration, CodeDelivery, DevProvider, DevProviderBuilder, Misbehavior, PathShape,
    TestUser, DEV_OTP, FLOW_WRONG_STATE, WRONG_NONCE,
};
use serde_json::{json, Value};

const ENV: &str = "env-flow";

fn p1() -> PathShape {
    PathShape::pingone(ENV)
}

async fn flow_provider(
    shape: PathShape,
    f: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
) -> DevProvider {
    let mut b = DevProvider::builder().path_shape(shape).client(
        ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
            .post_logout_redirect_uri(POST_LOGOUT),
    );
    for u in TestUser::flow_test_users() {
        b = b.user(u);
    }
    f(b).start().await.unwrap()
}

/// Cookies by name (a `Max-Age=0` or empty value deletes).
#[derive(Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, r: &reqwest::Response) -> Vec<String> {
        let mut raw = Vec::new();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap().to_owned();
            let first = v.split(';').next().unwrap();
            let (k, val) = first.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_owned(), val.to_owned());
            }
            raw.push(v);
        }
        raw
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn get(&self, k: &str) -> Option<String> {
        self.0.get(k).cloned()
    }
}

/// One flow under test.
struct F {
    p1: bool,
    jar: Jar,
    href: String,
    pkce: Pkce,
    id: String,
    /// The Set-Cookie headers of the last response.
    last_cookies: Vec<String>,
}

fn pi_flow_url(p: &DevProvider, pk: &Pkce, extra: &[(&str, &str)]) -> String {
    let mut all = vec![("response_mode", "pi.flow")];
    all.extend_from_slice(extra);
    authorize_url(p, CLIENT_ID, pk, &all)
}

async fn start(p: &DevProvider, extra: &[(&str, &str)]) -> (F, Value) {
    let pk = pkce();
    let r = client()
        .get(pi_flow_url(p, &pk, extra))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p1 = matches!(p.path_shape(), PathShape::PingOne { .. });
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(
        ct,
        if p1 {
            "application/hal+json"
        } else {
            "application/json"
        }
    );
    let mut jar = Jar::default();
    let last_cookies = jar.store(&r);
    let body: Value = r.json().await.unwrap();
    let f = F {
        p1,
        jar,
        href: body["_links"]["self"]["href"].as_str().unwrap().to_owned(),
        pkce: pk,
        id: body["id"].as_str().unwrap().to_owned(),
        last_cookies,
    };
    (f, body)
}

impl F {
    async fn get(&mut self) -> (u16, Value) {
        let r = client()
            .get(&self.href)
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// POST an action by media type (PingFederate: with `X-XSRF-Header`).
    async fn post(&mut self, action: &str, body: Value) -> (u16, Value) {
        let mut req = client()
            .post(&self.href)
            .header("cookie", self.jar.header())
            .header(
                "content-type",
                format!("application/vnd.pingidentity.{action}+json"),
            )
            .body(body.to_string());
        if !self.p1 {
            req = req.header("X-XSRF-Header", "PingFederate");
        }
        let r = req.send().await.unwrap();
        self.finish(r).await
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    async fn finish(&mut self, r: reqwest::Response) -> (u16, Value) {
        let status = r.status().as_u16();
        self.last_cookies = self.jar.store(&r);
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn resume(&mut self, p: &DevProvider) -> reqwest::Response {
        let r = client()
            .get(format!("{}/resume?flowId={}", p.issuer(), self.id))
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.last_cookies = self.jar.store(&r);
        r
    }

    /// Exchanges a code at the token endpoint (PKCE).
    async fn tokens(&self, p: &DevProvider, code: &str) -> Value {
        let r = exchange(p, code, &self.pkce.verifier).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

fn links(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["_links"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// PingOne: COMPLETED, then resume JSON; returns the code.
async fn p1_code_by_resume(p: &DevProvider, f: &mut F, body: &Value) -> String {
    assert_eq!(body["status"], "COMPLETED");
    assert!(body.get("authorizeResponse").is_none());
    assert_eq!(
        body["resumeUrl"],
        format!("{}/resume?flowId={}", p.issuer(), f.id)
    );
    let r = f.resume(p).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "COMPLETED");
    assert_eq!(v["id"], f.id.as_str());
    assert_eq!(v["authorizeResponse"]["state"], "st-123");
    v["authorizeResponse"]["code"].as_str().unwrap().to_owned()
}

fn amr(tokens: &Value) -> Value {
    decode(tokens["id_token"].as_str().unwrap()).claims["amr"].clone()
}

#[tokio::test]
async fn discovery_lists_pi_flow_for_pingone_only() {
    let p = flow_provider(p1(), |b| b).await;
    let d = discovery(&p).await;
    assert!(d["response_modes_supported"]
        .as_array()
        .unwrap()
        .contains(&"pi.flow".into()));
    let pf = flow_provider(PathShape::PingFederate, |b| b).await;
    let d = discovery(&pf).await;
    assert_eq!(d["response_modes_supported"], json!(["query"]));
}

#[tokio::test]
async fn pingone_password_user_wrong_then_right() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, body) = start(&p, &[]).await;
    // The ST cookie, exactly.
    assert_eq!(f.last_cookies.len(), 1);
    let st = f.jar.get("ST").unwrap();
    assert_eq!(
        f.last_cookies[0],
        format!("ST={st}; Path=/{ENV}; HttpOnly; SameSite=None")
    );
    assert_eq!(body["status"], "USERNAME_PASSWORD_REQUIRED");
    assert_eq!(body["environment"]["id"], ENV);
    assert_eq!(
        f.href,
        format!("{}/{ENV}/flows/{}", p.base_url(), f.id),
        "flow URL"
    );
    assert_eq!(body["_links"]["usernamePassword.check"]["href"], f.href);
    assert_eq!(links(&body), sorted(&["self", "usernamePassword.check"]));
    for k in ["createdAt", "expiresAt"] {
        let t = body[k].as_str().unwrap();
        assert!(
            t.ends_with('Z') && t.len() == 24 && &t[10..11] == "T",
            "{k}: {t}"
        );
    }
    assert!(body["_embedded"].get("user").is_none());

    let (s, e) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "nope"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "INVALID_DATA");
    assert_eq!(
        e["message"],
        "The request could not be completed. One or more validation errors were in the request."
    );
    assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        e["details"],
        json!([{"code": "INVALID_VALUE", "target": "password",
            "message": "The provided password did not match provisioned password",
            "innerError": {"failuresRemaining": 4}}])
    );
    // unknown user: the same answer, counting on
    let (s, e) = f
        .post(
            "usernamePassword.check",
            json!({"username": "nobody", "password": "alice-password"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["details"][0]["innerError"]["failuresRemaining"], 3);
    let (s, b) = f.get().await;
    assert_eq!(
        (s, b["status"].as_str()),
        (200, Some("USERNAME_PASSWORD_REQUIRED"))
    );

    let (s, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(links(&b), sorted(&["self"]));
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    let t = f.tokens(&p, &code).await;
    let id = decode(t["id_token"].as_str().unwrap());
    assert_eq!(id.claims["nonce"], "n-456");
    assert_eq!(id.claims["sub"], TestUser::default_user().subject());
    assert_eq!(id.claims["amr"], json!(["pwd"]));
    assert!(verify(&id, &jwks(&p).await));
    // the code is single use, and so is the resume
    assert_eq!(exchange(&p, &code, &f.pkce.verifier).await.status(), 400);
    assert_eq!(f.resume(&p).await.status(), 400);
    let stats = p.stats();
    assert_eq!(stats.flow_starts, 1);
    assert_eq!(stats.flow_actions, 3);
    assert_eq!(p.sessions().len(), 1);
}

#[tokio::test]
async fn pingone_login_hint_and_no_sso() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, body) = start(
        &p,
        &[("login_hint", "alice"), ("acr_values", "Single_Factor")],
    )
    .await;
    assert_eq!(body["_embedded"]["user"]["username"], "alice");
    // the username may be left out when hinted
    let (s, b) = f
        .post(
            "usernamePassword.check",
            json!({"password": "alice-password"}),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("COMPLETED")));
    // A second pi.flow authorize with every cookie replayed still asks for credentials.
    let pk = pkce();
    let r = client()
        .get(pi_flow_url(&p, &pk, &[]))
        .header("cookie", f.jar.header())
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["status"], "USERNAME_PASSWORD_REQUIRED");
}

#[tokio::test]
async fn pingone_otp_user_select_device_wrong_then_right_otp() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let (s, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "otp-user", "password": "otp-password"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "DEVICE_SELECTION_REQUIRED");
    assert_eq!(links(&b), sorted(&["self", "device.select"]));
    let devices = b["_embedded"]["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["type"], "SMS");
    assert_eq!(devices[0]["phone"], "+1******0100");
    assert!(devices[0].get("email").is_none());
    assert_eq!(devices[1]["type"], "EMAIL");
    assert_eq!(devices[1]["email"], "o*****@example.com");
    assert_eq!(b["_embedded"]["selectedDevice"]["id"], devices[0]["id"]);

    let (s, e) = f
        .post("device.select", json!({"device": {"id": "no-such-device"}}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "INVALID_DATA");
    assert_eq!(
        e["details"],
        json!([{"code": "INVALID_VALUE", "target": "device.id", "message": "Invalid device"}])
    );

    let (s, b) = f
        .post("device.select", json!({"device": {"id": devices[1]["id"]}}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "OTP_REQUIRED");
    assert_eq!(links(&b), sorted(&["self", "otp.check", "device.select"]));
    assert_eq!(b["_embedded"]["devices"], Value::Array(devices.clone()));
    assert_eq!(
        b["_embedded"]["selectedDevice"],
        json!({"id": devices[1]["id"], "type": "EMAIL", "email": "o*****@example.com"})
    );
    // change to SMS
    let (_, b) = f
        .post("device.select", json!({"device": {"id": devices[0]["id"]}}))
        .await;
    assert_eq!(b["_embedded"]["selectedDevice"]["phone"], "+1******0100");

    let (s, e) = f.post("otp.check", json!({"otp": "000000"})).await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "INVALID_DATA");
    assert_eq!(
        e["details"],
        json!([{"code": "INVALID_OTP", "target": "otp", "message": "Invalid one-time passcode",
            "innerError": {"attemptsRemaining": 2}}])
    );
    let (s, b) = f.post("otp.check", json!({"otp": DEV_OTP})).await;
    assert_eq!(s, 200);
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    let t = f.tokens(&p, &code).await;
    assert_eq!(amr(&t), json!(["pwd", "otp"]));
}

#[tokio::test]
async fn pingone_push_user_waits_then_approved() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    assert!(!p.approve_push("push-user"), "nothing waiting yet");
    let (s, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "push-user", "password": "push-password"}),
        )
        .await;
    assert_eq!(s, 200);
    // one device: straight to it
    assert_eq!(b["status"], "PUSH_CONFIRMATION_REQUIRED");
    assert_eq!(links(&b), sorted(&["self", "device.select"]));
    assert_eq!(b["_embedded"]["selectedDevice"]["type"], "MOBILE");
    assert_eq!(b["_embedded"]["selectedDevice"]["nickname"], "Pixel 9");
    let (_, b) = f.get().await;
    assert_eq!(b["status"], "PUSH_CONFIRMATION_REQUIRED", "still waiting");

    let approve = |user: &'static str| {
        let url = format!("{}/dev/push/approve", p.base_url());
        async move {
            client()
                .post(url)
                .form(&[("username", user)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(approve("alice").await, 404);
    assert_eq!(approve("push-user").await, 204);
    assert_eq!(approve("push-user").await, 404, "already approved");
    let (s, b) = f.get().await;
    assert_eq!(s, 200);
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    let t = f.tokens(&p, &code).await;
    assert_eq!(amr(&t), json!(["pwd", "mfa"]));
    assert_eq!(p.stats().flow_actions, 1, "GETs are not actions");
}

#[tokio::test]
async fn push_approval_delay_auto_approves() {
    let p = flow_provider(PathShape::PingFederate, |b| {
        b.push_approval_delay(Some(Duration::ZERO))
    })
    .await;
    let (mut f, _) = start(&p, &[]).await;
    f.post(
        "checkUsernamePassword",
        json!({"username": "push-user", "password": "push-password"}),
    )
    .await;
    let (_, b) = f.post("authenticate", json!({})).await;
    assert_eq!(b["status"], "PUSH_CONFIRMATION_WAITING");
    let (_, b) = f.post("poll", json!({})).await;
    assert_eq!(b["status"], "MFA_COMPLETED");
}

#[tokio::test]
async fn pingone_must_change_password() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let (s, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "change-user", "password": "change-password"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "MUST_CHANGE_PASSWORD");
    assert_eq!(links(&b), sorted(&["self", "password.reset"]));
    assert_eq!(
        b["_embedded"]["passwordPolicy"],
        json!({"name": "Standard", "length": {"min": 8, "max": 255}, "minUniqueCharacters": 5})
    );
    let (s, e) = f
        .post(
            "password.reset",
            json!({"currentPassword": "wrong", "newPassword": "brand-new-password"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["details"],
        json!([{"code": "INVALID_VALUE", "target": "currentPassword",
            "message": "The provided password did not match provisioned password"}])
    );
    let policy = json!([{"code": "INVALID_VALUE", "target": "newPassword",
        "message": "New password did not satisfy password policy requirements"}]);
    for new in ["short", "change-password"] {
        let (s, e) = f
            .post(
                "password.reset",
                json!({"currentPassword": "change-password", "newPassword": new}),
            )
            .await;
        assert_eq!(s, 400);
        assert_eq!(e["code"], "INVALID_DATA");
        assert_eq!(e["details"], policy);
    }
    let (s, b) = f
        .post(
            "password.reset",
            json!({"currentPassword": "change-password", "newPassword": "brand-new-password"}),
        )
        .await;
    assert_eq!(s, 200);
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    f.tokens(&p, &code).await;

    // The provider now knows the new password, and no longer asks for a change.
    let (mut g, _) = start(&p, &[]).await;
    let (s, _) = g
        .post(
            "usernamePassword.check",
            json!({"username": "change-user", "password": "change-password"}),
        )
        .await;
    assert_eq!(s, 400);
    let (_, b) = g
        .post(
            "usernamePassword.check",
            json!({"username": "change-user", "password": "brand-new-password"}),
        )
        .await;
    assert_eq!(b["status"], "COMPLETED");
}

#[tokio::test]
async fn pingone_attempts_run_out_into_failed() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    for remaining in (0..5).rev() {
        let (s, e) = f
            .post(
                "usernamePassword.check",
                json!({"username": "alice", "password": "bad"}),
            )
            .await;
        assert_eq!(s, 400);
        assert_eq!(
            e["details"][0]["innerError"]["failuresRemaining"],
            remaining
        );
    }
    let (s, b) = f.get().await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"id": f.id, "status": "FAILED", "_links": {"self": {"href": f.href}}})
    );
    let (s, e) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")));

    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "otp-user", "password": "otp-password"}),
        )
        .await;
    let sms = b["_embedded"]["devices"][0]["id"].clone();
    f.post("device.select", json!({"device": {"id": sms}}))
        .await;
    for remaining in [2, 1, 0] {
        let (_, e) = f.post("otp.check", json!({"otp": "999999"})).await;
        assert_eq!(
            e["details"][0]["innerError"]["attemptsRemaining"],
            remaining
        );
    }
    let (_, b) = f.get().await;
    assert_eq!(b["status"], "FAILED");
    assert!(p.sessions().is_empty());
}

#[tokio::test]
async fn pingone_identifier_first() {
    let p = flow_provider(p1(), |b| b.identifier_first(true)).await;
    let (mut f, body) = start(&p, &[]).await;
    assert_eq!(body["status"], "SIGN_ON_REQUIRED");
    assert_eq!(links(&body), sorted(&["self", "user.lookup"]));
    let (s, b) = f.post("user.lookup", json!({"username": "alice"})).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "PASSWORD_REQUIRED");
    assert_eq!(links(&b), sorted(&["self", "usernamePassword.check"]));
    assert_eq!(b["_embedded"]["user"]["username"], "alice");
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"password": "alice-password"}),
        )
        .await;
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    f.tokens(&p, &code).await;
}

#[tokio::test]
async fn pingone_st_cookie_required_and_expiry() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let invalid_token = |s: u16, e: &Value| {
        assert_eq!(s, 401);
        assert_eq!(e["code"], "INVALID_TOKEN");
        assert_eq!(
            e["message"],
            "The authorization token is either missing or invalid"
        );
        assert!(e["id"].is_string());
    };
    let c = client();
    // GET and POST without ST
    let r = c
        .get(&f.href)
        .header("cookie", "other=1")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    invalid_token(s, &r.json().await.unwrap());
    let mut bare = F {
        jar: Jar::default(),
        href: f.href.clone(),
        id: f.id.clone(),
        pkce: pkce(),
        p1: true,
        last_cookies: vec![],
    };
    let (s, e) = bare
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    invalid_token(s, &e);
    // another flow's ST
    let (other, _) = start(&p, &[]).await;
    bare.jar = other.jar.clone();
    let (s, e) = bare.get().await;
    invalid_token(s, &e);
    // resume without ST
    let r = bare_resume(&p, &f.id, None).await;
    assert_eq!(r.0, 401);

    // unknown flow
    let (s, e) = f
        .send(c.get(format!("{}/{ENV}/flows/no-such-flow", p.base_url())))
        .await;
    assert_eq!(s, 404);
    assert_eq!(e["code"], "NOT_FOUND");
    assert_eq!(e["message"], "The requested resource was not found.");

    // completed, then expired: every call is 404
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(b["status"], "COMPLETED");
    p.expire_flows();
    let (s, e) = f.get().await;
    assert_eq!((s, e["code"].as_str()), (404, Some("NOT_FOUND")));
    let (s, _) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "x"}),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(f.resume(&p).await.status(), 404);
}

async fn bare_resume(p: &DevProvider, id: &str, cookie: Option<&str>) -> (u16, Value) {
    let mut req = client().get(format!("{}/resume?flowId={id}", p.issuer()));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pingone_wrong_action_is_invalid_request() {
    let p = flow_provider(p1(), |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let check = |s: u16, e: &Value| {
        assert_eq!(s, 400);
        assert_eq!(e["code"], "INVALID_REQUEST");
        assert_eq!(
            e["message"],
            "The request is not valid for the current flow status"
        );
    };
    let (s, e) = f.post("otp.check", json!({"otp": DEV_OTP})).await;
    check(s, &e);
    let (s, e) = f.post("no.such", json!({})).await;
    check(s, &e);
    // not a flow media type
    let req = client()
        .post(&f.href)
        .header("content-type", "application/json")
        .body(json!({"username": "alice", "password": "alice-password"}).to_string());
    let (s, e) = f.send(req).await;
    check(s, &e);
    // unparseable body / missing field
    let req = client()
        .post(&f.href)
        .header(
            "content-type",
            "application/vnd.pingidentity.usernamePassword.check+json",
        )
        .body("{not json");
    let (s, e) = f.send(req).await;
    check(s, &e);
    let (s, e) = f
        .post("usernamePassword.check", json!({"username": "alice"}))
        .await;
    check(s, &e);
    let (_, b) = f.get().await;
    assert_eq!(b["status"], "USERNAME_PASSWORD_REQUIRED", "state unchanged");
    // a charset parameter is ignored
    let req = client()
        .post(&f.href)
        .header(
            "content-type",
            "application/vnd.pingidentity.usernamePassword.check+json; charset=UTF-8",
        )
        .body(json!({"username": "alice", "password": "alice-password"}).to_string());
    let (s, b) = f.send(req).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("COMPLETED")));
}

#[tokio::test]
async fn pingone_code_delivery_redirect_and_inline() {
    let p = flow_provider(p1(), |b| {
        b.pingone_code_delivery(CodeDelivery::ResumeRedirect)
    })
    .await;
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(b["status"], "COMPLETED");
    assert!(b.get("authorizeResponse").is_none());
    let r = f.resume(&p).await;
    assert_eq!(r.status(), 302);
    let q = query(&location(&r));
    assert!(location(&r).starts_with(REDIRECT_URI));
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], p.issuer());
    f.tokens(&p, &q["code"]).await;
    assert_eq!(f.resume(&p).await.status(), 400, "resume once");

    let p = flow_provider(p1(), |b| b.pingone_code_delivery(CodeDelivery::Inline)).await;
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(b["status"], "COMPLETED");
    assert_eq!(b["authorizeResponse"]["state"], "st-123");
    let code = b["authorizeResponse"]["code"].as_str().unwrap().to_owned();
    // resume still works and gives the same code
    let r = f.resume(&p).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["authorizeResponse"]["code"], code.as_str());
    f.tokens(&p, &code).await;
}

#[tokio::test]
async fn pingone_signoff_with_st_ends_the_session() {
    let (bcl, mut rx) = backchannel_listener(200).await;
    let p = DevProvider::builder()
        .path_shape(p1())
        .client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
                .post_logout_redirect_uri(POST_LOGOUT)
                .backchannel_logout_uri(bcl),
        )
        .start()
        .await
        .unwrap();
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    let code = p1_code_by_resume(&p, &mut f, &b).await;
    let t = f.tokens(&p, &code).await;
    let sessions = p.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].clients, vec![CLIENT_ID.to_owned()]);
    let sid = decode(t["id_token"].as_str().unwrap()).claims["sid"].clone();
    assert_eq!(sid, sessions[0].sid.as_str());

    let r = client()
        .get(p.endpoints().end_session)
        .header("cookie", f.jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.contains(&format!("ST=; Path=/{ENV}; HttpOnly; Max-Age=0")),
        "{cookies:?}"
    );
    assert!(p.sessions().is_empty());
    let body = rx.recv().await.unwrap();
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(decode(&token).claims["sid"], sid);
    // the grant is revoked: the refresh token no longer works
    let r = refresh(&p, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn authorize_errors_are_json_never_redirects() {
    for shape in [p1(), PathShape::PingFederate] {
        let p = flow_provider(shape.clone(), |b| b).await;
        let is_p1 = matches!(shape, PathShape::PingOne { .. });
        let pk = pkce();
        // missing PKCE method
        let mut url = url::Url::parse(&pi_flow_url(&p, &pk, &[])).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "code_challenge_method")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let r = client().get(url.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "INVALID_REQUEST");
        assert_eq!(e["details"][0]["code"], "invalid_request");
        assert_eq!(e.get("id").is_some(), is_p1);
        // unknown client
        let r = client()
            .get(authorize_url(
                &p,
                "nobody",
                &pk,
                &[("response_mode", "pi.flow")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "INVALID_REQUEST");
        // prompt=none: no session under pi.flow
        let r = client()
            .get(pi_flow_url(&p, &pk, &[("prompt", "none")]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["details"][0]["code"], "login_required");
        assert_eq!(p.stats().flow_starts, 3);
    }
}

#[tokio::test]
async fn redirect_uri_is_optional_under_pi_flow_and_post_works() {
    let p = flow_provider(p1(), |b| b.pingone_code_delivery(CodeDelivery::Inline)).await;
    for send_at_token in [false, true] {
        let pk = pkce();
        let mut url = url::Url::parse(&pi_flow_url(&p, &pk, &[])).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "redirect_uri")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs.clone());
        // POST form this time
        let mut action = url.clone();
        action.set_query(None);
        let r = client()
            .post(action.as_str())
            .form(&pairs)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut jar = Jar::default();
        jar.store(&r);
        let b: Value = r.json().await.unwrap();
        let mut f = F {
            p1: true,
            jar,
            href: b["_links"]["self"]["href"].as_str().unwrap().to_owned(),
            id: b["id"].as_str().unwrap().to_owned(),
            pkce: pk,
            last_cookies: vec![],
        };
        let (_, b) = f
            .post(
                "usernamePassword.check",
                json!({"username": "alice", "password": "alice-password"}),
            )
            .await;
        let code = b["authorizeResponse"]["code"].as_str().unwrap().to_owned();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", f.pkce.verifier.as_str()),
        ];
        if send_at_token {
            form.push(("redirect_uri", REDIRECT_URI));
        }
        let r = token_request(&p, &form).await;
        assert_eq!(
            r.status(),
            200,
            "redirect_uri sent at token: {send_at_token}"
        );
    }
    // when sent at authorize, the token request must send it (existing rule)
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "usernamePassword.check",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    let code = b["authorizeResponse"]["code"].as_str().unwrap().to_owned();
    let r = token_request(
        &p,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &f.pkce.verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
}

// ---------------------------------------------------------------------------------------
// PingFederate

fn pf_state_ok(s: u16, b: &Value, status: &str) {
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], status, "{b}");
    assert!(b["pluginTypeId"].is_string());
}

#[tokio::test]
async fn pingfederate_password_user_rotation_and_stale_pf() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, body) = start(&p, &[]).await;
    let pf0 = f.jar.get("PF").unwrap();
    let persistent = f.jar.get("PF.PERSISTENT").unwrap();
    assert!(f
        .last_cookies
        .contains(&format!("PF={pf0}; Path=/; HttpOnly")));
    assert!(f.last_cookies.contains(&format!(
        "PF.PERSISTENT={persistent}; Path=/; HttpOnly; Max-Age=31536000"
    )));
    assert_eq!(
        f.href,
        format!("{}/pf-ws/authn/flows/{}", p.base_url(), f.id)
    );
    pf_state_ok(200, &body, "USERNAME_PASSWORD_REQUIRED");
    assert_eq!(
        links(&body),
        sorted(&["self", "checkUsernamePassword", "cancelAuthentication"])
    );
    for k in [
        "showRememberMyUsername",
        "showThisIsMyDevice",
        "showCaptcha",
    ] {
        assert_eq!(body[k], false);
    }
    assert!(body.get("username").is_none());

    // GET rotates PF
    let (s, _) = f.get().await;
    assert_eq!(s, 200);
    let pf1 = f.jar.get("PF").unwrap();
    assert_ne!(pf0, pf1);
    assert_eq!(f.last_cookies, vec![format!("PF={pf1}; Path=/; HttpOnly")]);
    // the stale value is refused
    let mut stale = Jar::default();
    stale.0.insert("PF".into(), pf0.clone());
    let r = client()
        .get(&f.href)
        .header("cookie", stale.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e,
        json!({"code": "RESOURCE_NOT_FOUND", "message": "The requested resource was not found."})
    );
    // missing PF
    let r = client().get(&f.href).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // wrong password: 400, no status, rotation anyway
    let (s, e) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "alice", "password": "nope"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_ne!(f.jar.get("PF").unwrap(), pf1, "a 400 rotates too");
    assert_eq!(
        e,
        json!({"code": "VALIDATION_ERROR", "message": "One or more validation errors occurred.",
            "details": [{"code": "CREDENTIAL_VALIDATION_FAILED", "message": "Invalid username and/or password.",
                "userMessage": "We didn't recognize the username or password you entered. Please try again.",
                "attemptsRemaining": 4}]})
    );
    let (s, b) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    pf_state_ok(s, &b, "COMPLETED");
    assert_eq!(links(&b), sorted(&["self"]));
    assert_eq!(b["authorizeResponse"]["state"], "st-123");
    let t = f
        .tokens(&p, b["authorizeResponse"]["code"].as_str().unwrap())
        .await;
    assert_eq!(
        decode(t["id_token"].as_str().unwrap()).claims["iss"],
        p.issuer()
    );
}

#[tokio::test]
async fn pingfederate_otp_user_with_query_action() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, _) = start(&p, &[("login_hint", "otp-user")]).await;
    let (s, b) = f.get().await;
    pf_state_ok(s, &b, "USERNAME_PASSWORD_REQUIRED");
    assert_eq!(b["username"], "otp-user");
    let (s, b) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "otp-user", "password": "otp-password"}),
        )
        .await;
    pf_state_ok(s, &b, "AUTHENTICATION_REQUIRED");
    assert_eq!(
        links(&b),
        sorted(&["self", "authenticate", "cancelAuthentication"])
    );
    // ?action= with application/json
    let req = client()
        .post(format!("{}?action=authenticate", f.href))
        .header("content-type", "application/json")
        .header("X-XSRF-Header", "PingFederate")
        .body("{}");
    let (s, b) = f.send(req).await;
    pf_state_ok(s, &b, "DEVICE_SELECTION_REQUIRED");
    assert_eq!(
        links(&b),
        sorted(&["self", "selectDevice", "cancelAuthentication"])
    );
    let devices = b["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["type"], "SMS");
    assert_eq!(devices[0]["target"], "***-***-0100");
    assert_eq!(devices[0]["default"], true);
    assert_eq!(devices[1]["type"], "EMAIL");
    assert_eq!(devices[1]["target"], "o*****@example.com");
    assert_eq!(devices[1]["default"], false);
    let (s, e) = f
        .post("selectDevice", json!({"deviceRef": {"id": "nope"}}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "VALIDATION_ERROR");
    let (s, b) = f
        .post(
            "selectDevice",
            json!({"deviceRef": {"id": devices[0]["id"]}}),
        )
        .await;
    pf_state_ok(s, &b, "OTP_REQUIRED");
    assert_eq!(b["selectedDeviceRef"]["id"], devices[0]["id"]);
    assert_eq!(b["changeDevicePermitted"], true);
    assert_eq!(b["devices"], Value::Array(devices));
    assert_eq!(
        links(&b),
        sorted(&["self", "checkOtp", "selectDevice", "cancelAuthentication"])
    );
    let (s, e) = f.post("checkOtp", json!({"otp": "111111"})).await;
    assert_eq!(s, 400);
    assert!(e.get("status").is_none());
    assert_eq!(
        e,
        json!({"code": "VALIDATION_ERROR", "message": "One or more validation errors occurred.",
            "details": [{"code": "INVALID_OTP", "message": "Invalid OTP.",
                "userMessage": "The passcode you entered is incorrect. Please try again.",
                "target": "otp", "attemptsRemaining": 2}]})
    );
    let (s, b) = f.post("checkOtp", json!({"otp": DEV_OTP})).await;
    pf_state_ok(s, &b, "MFA_COMPLETED");
    assert_eq!(links(&b), sorted(&["self", "continueAuthentication"]));
    let (s, b) = f.post("continueAuthentication", json!({})).await;
    pf_state_ok(s, &b, "COMPLETED");
    let t = f
        .tokens(&p, b["authorizeResponse"]["code"].as_str().unwrap())
        .await;
    assert_eq!(amr(&t), json!(["pwd", "otp"]));
}

#[tokio::test]
async fn pingfederate_push_user_polls_until_approved() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    f.post(
        "checkUsernamePassword",
        json!({"username": "push-user", "password": "push-password"}),
    )
    .await;
    let (s, b) = f.post("authenticate", json!({})).await;
    pf_state_ok(s, &b, "PUSH_CONFIRMATION_WAITING");
    assert_eq!(b["devices"][0]["target"], "Pixel 9");
    assert_eq!(b["devices"][0]["type"], "MOBILE");
    assert_eq!(b["selectedDeviceRef"]["id"], b["devices"][0]["id"]);
    assert_eq!(
        links(&b),
        sorted(&["self", "poll", "selectDevice", "cancelAuthentication"])
    );
    let (s, b) = f.post("poll", json!({})).await;
    pf_state_ok(s, &b, "PUSH_CONFIRMATION_WAITING");
    assert!(p.approve_push("push-user"));
    let (s, b) = f.get().await;
    pf_state_ok(s, &b, "PUSH_CONFIRMATION_WAITING");
    let (s, b) = f.post("poll", json!({})).await;
    pf_state_ok(s, &b, "MFA_COMPLETED");
    let (s, b) = f.post("continueAuthentication", json!({})).await;
    pf_state_ok(s, &b, "COMPLETED");
    let t = f
        .tokens(&p, b["authorizeResponse"]["code"].as_str().unwrap())
        .await;
    assert_eq!(amr(&t), json!(["pwd", "mfa"]));
}

#[tokio::test]
async fn pingfederate_must_change_password() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let (s, b) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "change-user", "password": "change-password"}),
        )
        .await;
    pf_state_ok(s, &b, "MUST_CHANGE_PASSWORD");
    assert_eq!(
        links(&b),
        sorted(&["self", "checkNewPassword", "cancelAuthentication"])
    );
    let (s, e) = f
        .post(
            "checkNewPassword",
            json!({"username": "change-user", "existingPassword": "bad", "newPassword": "brand-new-password"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "VALIDATION_ERROR");
    assert_eq!(e["details"][0]["code"], "CREDENTIAL_VALIDATION_FAILED");
    assert_eq!(
        e["details"][0]["userMessage"],
        "We didn't recognize the username or password you entered. Please try again."
    );
    let (s, e) = f
        .post(
            "checkNewPassword",
            json!({"username": "change-user", "existingPassword": "change-password", "newPassword": "short"}),
        )
        .await;
    assert_eq!(s, 400);
    let d = &e["details"][0];
    assert_eq!(d["code"], "PASSWORD_REQUIREMENTS_NOT_MET");
    assert_eq!(
        d["userMessage"],
        "Your new password does not meet the password requirements."
    );
    assert_eq!(d["target"], "newPassword");
    let (s, b) = f
        .post(
            "checkNewPassword",
            json!({"username": "change-user", "existingPassword": "change-password", "newPassword": "brand-new-password"}),
        )
        .await;
    pf_state_ok(s, &b, "SUCCESSFUL_PASSWORD_CHANGE");
    assert_eq!(links(&b), sorted(&["self", "continueAuthentication"]));
    let (s, b) = f.post("continueAuthentication", json!({})).await;
    pf_state_ok(s, &b, "COMPLETED");
    f.tokens(&p, b["authorizeResponse"]["code"].as_str().unwrap())
        .await;
}

#[tokio::test]
async fn pingfederate_xsrf_header_enforcement() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let req = client()
        .post(&f.href)
        .header(
            "content-type",
            "application/vnd.pingidentity.checkUsernamePassword+json",
        )
        .body(json!({"username": "alice", "password": "alice-password"}).to_string());
    let (s, e) = f.send(req).await;
    assert_eq!(s, 400);
    assert_eq!(
        e,
        json!({"code": "INVALID_REQUEST", "message": "The X-XSRF-Header header is required."})
    );
    let (_, b) = f.get().await;
    assert_eq!(b["status"], "USERNAME_PASSWORD_REQUIRED");

    let p = flow_provider(PathShape::PingFederate, |b| b.require_xsrf_header(false)).await;
    let (mut f, _) = start(&p, &[]).await;
    let req = client()
        .post(&f.href)
        .header(
            "content-type",
            "application/vnd.pingidentity.checkUsernamePassword+json",
        )
        .body(json!({"username": "alice", "password": "alice-password"}).to_string());
    let (s, b) = f.send(req).await;
    pf_state_ok(s, &b, "COMPLETED");
}

#[tokio::test]
async fn pingfederate_wrong_action_cancel_and_expiry() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    let (mut f, _) = start(&p, &[]).await;
    let invalid_action = json!({"code": "INVALID_ACTION_ID", "message": "The action is not valid for the current state."});
    let (s, e) = f.post("checkOtp", json!({"otp": DEV_OTP})).await;
    assert_eq!((s, &e), (400, &invalid_action));
    let (s, e) = f.post("usernamePassword.check", json!({})).await;
    assert_eq!((s, &e), (400, &invalid_action));
    // application/json without ?action=
    let req = client()
        .post(&f.href)
        .header("content-type", "application/json")
        .header("X-XSRF-Header", "PingFederate")
        .body("{}");
    let (s, e) = f.send(req).await;
    assert_eq!((s, &e), (400, &invalid_action));
    let (s, e) = f
        .post("checkUsernamePassword", json!("not an object"))
        .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")));

    let (s, b) = f.post("cancelAuthentication", json!({})).await;
    pf_state_ok(s, &b, "CANCELED");
    let (s, e) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!((s, &e), (400, &invalid_action));

    p.expire_flows();
    let (s, e) = f.get().await;
    assert_eq!(s, 404);
    assert_eq!(e["code"], "RESOURCE_NOT_FOUND");
    assert!(f.last_cookies.is_empty(), "no rotation on 404");
}

#[tokio::test]
async fn pingfederate_identifier_first_and_otp_verified() {
    let p = flow_provider(PathShape::PingFederate, |b| {
        b.identifier_first(true).pingfederate_otp_verified(true)
    })
    .await;
    let (mut f, body) = start(&p, &[]).await;
    pf_state_ok(200, &body, "IDENTIFIER_REQUIRED");
    assert_eq!(
        links(&body),
        sorted(&["self", "submitIdentifier", "cancelAuthentication"])
    );
    let (s, b) = f
        .post("submitIdentifier", json!({"identifier": "otp-user"}))
        .await;
    pf_state_ok(s, &b, "USERNAME_PASSWORD_REQUIRED");
    assert_eq!(b["username"], "otp-user");
    f.post(
        "checkUsernamePassword",
        json!({"username": "otp-user", "password": "otp-password"}),
    )
    .await;
    let (_, b) = f.post("authenticate", json!({})).await;
    let email = b["devices"][1]["id"].clone();
    let (_, b) = f
        .post("selectDevice", json!({"deviceRef": {"id": email}}))
        .await;
    assert_eq!(b["status"], "OTP_REQUIRED");
    let (s, b) = f.post("checkOtp", json!({"otp": DEV_OTP})).await;
    pf_state_ok(s, &b, "OTP_VERIFIED");
    assert_eq!(links(&b), sorted(&["self", "continueAuthentication"]));
    let (s, b) = f.post("continueAuthentication", json!({})).await;
    pf_state_ok(s, &b, "COMPLETED");
}

#[tokio::test]
async fn pingfederate_logout_with_pf_cookie() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    for endpoint in [
        p.endpoints().end_session,
        p.endpoints().ping_end_session.unwrap(),
    ] {
        let (mut f, _) = start(&p, &[]).await;
        let (_, b) = f
            .post(
                "checkUsernamePassword",
                json!({"username": "alice", "password": "alice-password"}),
            )
            .await;
        assert_eq!(b["status"], "COMPLETED");
        // a GET after completion rotates PF once more: the session follows
        f.get().await;
        assert_eq!(p.sessions().len(), 1);
        // a stale PF does not identify the session
        let r = client()
            .post(&endpoint)
            .header("cookie", "PF=stale-value")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(p.sessions().len(), 1);
        let r = client()
            .post(&endpoint)
            .header("cookie", f.jar.header())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            cookies.contains(&"PF=; Path=/; Max-Age=0".to_owned()),
            "{cookies:?}"
        );
        assert!(p.sessions().is_empty(), "{endpoint}");
    }
}

// ---------------------------------------------------------------------------------------
// Misbehaviours

#[tokio::test]
async fn misbehavior_flow_wrong_state_everywhere() {
    // PingOne: resume JSON, resume redirect, inline
    for delivery in [
        CodeDelivery::ResumeJson,
        CodeDelivery::ResumeRedirect,
        CodeDelivery::Inline,
    ] {
        let p = flow_provider(p1(), |b| b.pingone_code_delivery(delivery)).await;
        p.set_misbehavior(Misbehavior::FlowWrongState);
        let (mut f, _) = start(&p, &[]).await;
        let (_, b) = f
            .post(
                "usernamePassword.check",
                json!({"username": "alice", "password": "alice-password"}),
            )
            .await;
        if delivery == CodeDelivery::Inline {
            assert_eq!(b["authorizeResponse"]["state"], FLOW_WRONG_STATE);
        }
        let r = f.resume(&p).await;
        let state = if delivery == CodeDelivery::ResumeRedirect {
            query(&location(&r))["state"].clone()
        } else {
            let v: Value = r.json().await.unwrap();
            v["authorizeResponse"]["state"].as_str().unwrap().to_owned()
        };
        assert_eq!(state, FLOW_WRONG_STATE, "{delivery:?}");
    }
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    p.set_misbehavior(Misbehavior::FlowWrongState);
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(b["authorizeResponse"]["state"], FLOW_WRONG_STATE);
}

#[tokio::test]
async fn misbehavior_flow_unknown_status() {
    for shape in [p1(), PathShape::PingFederate] {
        let p = flow_provider(shape, |b| b).await;
        p.set_misbehavior(Misbehavior::FlowUnknownStatus);
        let (mut f, body) = start(&p, &[]).await;
        assert_eq!(body["status"], "QUANTUM_VERIFICATION_REQUIRED");
        assert_eq!(links(&body), sorted(&["self"]));
        let action = if f.p1 {
            "usernamePassword.check"
        } else {
            "checkUsernamePassword"
        };
        let (s, _) = f
            .post(
                action,
                json!({"username": "alice", "password": "alice-password"}),
            )
            .await;
        assert_eq!(s, 400);
    }
}

#[tokio::test]
async fn misbehavior_flow_resume() {
    for shape in [p1(), PathShape::PingFederate] {
        let p = flow_provider(shape, |b| b.pingone_code_delivery(CodeDelivery::Inline)).await;
        p.set_misbehavior(Misbehavior::FlowResume);
        let (mut f, _) = start(&p, &[]).await;
        let action = if f.p1 {
            "usernamePassword.check"
        } else {
            "checkUsernamePassword"
        };
        let (s, b) = f
            .post(
                action,
                json!({"username": "alice", "password": "alice-password"}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(b["status"], "RESUME");
        assert!(b["resumeUrl"].is_string());
        assert!(b.get("authorizeResponse").is_none());
        assert!(p.sessions().is_empty());
        if f.p1 {
            assert_eq!(f.resume(&p).await.status(), 400);
        }
    }
}

#[tokio::test]
async fn misbehavior_id_token_applies_to_flow_codes() {
    let p = flow_provider(PathShape::PingFederate, |b| b).await;
    p.set_misbehavior(Misbehavior::IdTokenWrongNonce);
    let (mut f, _) = start(&p, &[]).await;
    let (_, b) = f
        .post(
            "checkUsernamePassword",
            json!({"username": "alice", "password": "alice-password"}),
        )
        .await;
    let t = f
        .tokens(&p, b["authorizeResponse"]["code"].as_str().unwrap())
        .await;
    assert_eq!(
        decode(t["id_token"].as_str().unwrap()).claims["nonce"],
        WRONG_NONCE
    );
}

#[tokio::test]
async fn sign_in_page_checks_the_password_only() {
    let p = flow_provider(p1(), |b| b).await;
    let pk = pkce();
    let (cb, _) = form_sign_in(
        &authorize_url(&p, CLIENT_ID, &pk, &[]),
        "otp-user",
        "otp-password",
    )
    .await;
    let code = query(&cb)["code"].clone();
    let r = exchange(&p, &code, &pk.verifier).await;
    assert_eq!(r.status(), 200);
    // default users unchanged when none is given
    let plain = provider(p1()).await;
    let (mut f, _) = start(&plain, &[]).await;
    let (s, _) = f
        .post(
            "usernamePassword.check",
            json!({"username": "otp-user", "password": "otp-password"}),
        )
        .await;
    assert_eq!(s, 400);
}
