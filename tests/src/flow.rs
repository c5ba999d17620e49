//! Redirect-less sign-in (`/auth/flow`) through each adapter against the dev provider's Flow
//! API emulation, in both product shapes. The Flow API has no third-party implementation;
//! the emulation follows `flow-api-reference.md`. Written once; `tests/tests/flow_api.rs`
//! runs every case for every adapter and shape.

use std::sync::Arc;
use std::time::Duration;

use ping_oidc::store::SessionStore;
use ping_oidc::test_util::TestClock;
use ping_oidc::{FlowApi, MemoryStore};
use ping_oidc_dev_provider::{
    ClientRegistration, CodeDelivery, DevProvider, Misbehavior, PathShape, TestUser, DEV_OTP,
};
use reqwest::Response;
use serde_json::{json, Value};

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{set_cookies, Browser};

/// The product shape under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    PingOne,
    PingFederate,
}

/// An example app on one adapter with redirect-less sign-in, its dev provider (with the flow
/// test users), and its memory store (to see that refused sign-ins create nothing).
pub struct FlowRp {
    pub provider: DevProvider,
    pub app: TestApp,
    pub store: Arc<MemoryStore>,
    pub clock: TestClock,
    pub shape: Shape,
}

impl FlowRp {
    pub async fn start(adapter: Adapter, shape: Shape) -> Self {
        Self::start_with(adapter, shape, None).await
    }

    pub async fn start_with(
        adapter: Adapter,
        shape: Shape,
        delivery: Option<CodeDelivery>,
    ) -> Self {
        let slot = AppSlot::new();
        let provider = start_provider(&slot, shape, delivery).await;
        let store = Arc::new(MemoryStore::default());
        let shared: Arc<dyn SessionStore> = store.clone();
        let clock = TestClock::new();
        let config = slot.config(&provider.issuer()).flow_api(flow_api(shape));
        let app = slot
            .start_with_clock(adapter, config, Some(shared), &clock)
            .await
            .unwrap_or_else(|e| panic!("app: {e}"));
        Self {
            provider,
            app,
            store,
            clock,
            shape,
        }
    }
}

pub fn flow_api(shape: Shape) -> FlowApi {
    match shape {
        Shape::PingOne => FlowApi::PingOne,
        Shape::PingFederate => FlowApi::PingFederate,
    }
}

pub async fn start_provider(
    slot: &AppSlot,
    shape: Shape,
    delivery: Option<CodeDelivery>,
) -> DevProvider {
    let client = ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
        .post_logout_redirect_uri(slot.home_url())
        .backchannel_logout_uri(slot.backchannel_url());
    let mut builder = DevProvider::builder()
        .client(client)
        .path_shape(match shape {
            Shape::PingOne => PathShape::pingone(ping_oidc_dev_provider::DEFAULT_ENV_ID),
            Shape::PingFederate => PathShape::PingFederate,
        });
    for user in TestUser::flow_test_users() {
        builder = builder.user(user);
    }
    if let Some(delivery) = delivery {
        builder = builder.pingone_code_delivery(delivery);
    }
    builder.start().await.expect("dev provider")
}

/// What one `/auth/flow` answer said.
pub struct FlowAnswer {
    pub status: u16,
    pub body: Value,
    pub set_cookies: Vec<String>,
}

impl FlowAnswer {
    async fn read(response: Response) -> Self {
        let status = response.status().as_u16();
        let set_cookies = set_cookies(&response);
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            body,
            set_cookies,
        }
    }

    pub fn kind(&self) -> &str {
        self.body["step"]["kind"].as_str().unwrap_or("")
    }

    pub fn flow_id(&self) -> String {
        self.body["flow_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no flow_id in {}", self.body))
            .to_string()
    }

    /// The provider's cookies never reach the browser.
    fn assert_no_provider_cookies(&self) {
        for cookie in &self.set_cookies {
            let name = cookie.split('=').next().unwrap_or("");
            assert!(
                !matches!(name, "ST" | "PF" | "PF.PERSISTENT"),
                "a provider cookie reached the browser: {name}"
            );
        }
    }
}

/// A browser's calls to `/auth/flow`, as a same-origin `fetch` sends them.
pub struct FlowClient<'a> {
    pub browser: &'a Browser,
    pub app: &'a TestApp,
}

impl FlowClient<'_> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.browser
            .client
            .request(method, self.app.url(path))
            .header("accept", "application/json")
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-site", "same-origin")
            .header("origin", self.origin())
    }

    /// The app's origin, from its `APP_URL` (instances behind one load balancer share it).
    fn origin(&self) -> String {
        self.app
            .oidc
            .config()
            .app_url()
            .origin()
            .ascii_serialization()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> FlowAnswer {
        let answer = FlowAnswer::read(request.send().await.expect("flow request")).await;
        answer.assert_no_provider_cookies();
        answer
    }

    pub async fn start(&self, body: Value) -> FlowAnswer {
        self.send(
            self.request(reqwest::Method::POST, "/auth/flow")
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn act(&self, flow_id: &str, action: Value) -> FlowAnswer {
        self.send(
            self.request(reqwest::Method::POST, &format!("/auth/flow/{flow_id}"))
                .header("content-type", "application/json")
                .body(action.to_string()),
        )
        .await
    }

    pub async fn read(&self, flow_id: &str) -> FlowAnswer {
        self.send(self.request(reqwest::Method::GET, &format!("/auth/flow/{flow_id}")))
            .await
    }

    pub async fn cancel(&self, flow_id: &str) -> FlowAnswer {
        self.send(self.request(reqwest::Method::DELETE, &format!("/auth/flow/{flow_id}")))
            .await
    }

    /// Starts a flow and answers the credentials step.
    pub async fn sign_in_with_password(
        &self,
        username: &str,
        password: &str,
    ) -> (String, FlowAnswer) {
        let started = self.start(json!({"return_to": "/profile"})).await;
        assert_eq!(started.status, 200, "start: {}", started.body);
        assert_eq!(started.kind(), "credentials", "start: {}", started.body);
        let flow_id = started.flow_id();
        let answer = self
            .act(
                &flow_id,
                json!({"action": "credentials", "username": username, "password": password}),
            )
            .await;
        (flow_id, answer)
    }
}

async fn signed_in_subject(browser: &Browser, app: &TestApp) -> Option<String> {
    let response = browser.fetch(&app.url("/api/me")).await;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["sub"].as_str().map(str::to_string)
}

fn subject_of(username: &str) -> String {
    TestUser::new(username, "x").subject().to_string()
}

fn completed(answer: &FlowAnswer) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.kind(), "completed", "{}", answer.body);
    assert_eq!(answer.body["step"]["return_to"], "/profile");
    assert!(
        answer
            .set_cookies
            .iter()
            .any(|c| c.starts_with("ping_oidc=")),
        "the session cookie is set with the completed step: {:?}",
        answer.set_cookies
    );
}

/// Every test user signs in all the way to a session: password only, password then a device
/// choice and a code, push, and a password change.
pub async fn every_user_signs_in(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;

    // Password only.
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (_, answer) = flow.sign_in_with_password("alice", "alice-password").await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &rp.app).await,
        Some(subject_of("alice"))
    );

    // Password, device selection (SMS and email), OTP.
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, answer) = flow.sign_in_with_password("otp-user", "otp-password").await;
    assert_eq!(answer.kind(), "select_device", "{}", answer.body);
    let devices = answer.body["step"]["devices"]
        .as_array()
        .expect("devices")
        .clone();
    let types: Vec<&str> = devices.iter().filter_map(|d| d["type"].as_str()).collect();
    assert_eq!(types, ["sms", "email"], "{}", answer.body);
    assert_eq!(devices[0]["default"], true);
    assert!(devices
        .iter()
        .all(|d| d["label"].as_str().is_some_and(|l| !l.is_empty())));
    let email = devices[1]["id"].as_str().expect("device id");
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "select_device", "device_id": email}),
        )
        .await;
    assert_eq!(answer.kind(), "otp", "{}", answer.body);
    assert_eq!(
        answer.body["step"]["device"]["type"], "email",
        "{}",
        answer.body
    );
    let answer = flow
        .act(&flow_id, json!({"action": "otp", "otp": DEV_OTP}))
        .await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &rp.app).await,
        Some(subject_of("otp-user"))
    );

    // Push: waiting, then approval.
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, answer) = flow
        .sign_in_with_password("push-user", "push-password")
        .await;
    assert_eq!(answer.kind(), "push_wait", "{}", answer.body);
    assert_eq!(
        answer.body["step"]["device"]["type"], "push",
        "{}",
        answer.body
    );
    let answer = flow.read(&flow_id).await;
    assert_eq!(answer.kind(), "push_wait", "still waiting: {}", answer.body);
    let answer = flow.act(&flow_id, json!({"action": "poll"})).await;
    assert_eq!(answer.kind(), "push_wait", "still waiting: {}", answer.body);
    assert!(rp.provider.approve_push("push-user"), "a push was waiting");
    // A read sees the approval (PingFederate's needs a `poll`, which the read sends).
    let answer = flow.read(&flow_id).await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &rp.app).await,
        Some(subject_of("push-user"))
    );

    // Must change password.
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, answer) = flow
        .sign_in_with_password("change-user", "change-password")
        .await;
    assert_eq!(answer.kind(), "change_password", "{}", answer.body);
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "change_password", "current_password": "change-password", "new_password": "x"}),
        )
        .await;
    assert_eq!(
        answer.status, 400,
        "a too-short password is refused: {}",
        answer.body
    );
    assert_eq!(answer.body["error"], "invalid_password");
    assert_eq!(answer.kind(), "change_password");
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "change_password", "current_password": "change-password", "new_password": "a-new-Passw0rd"}),
        )
        .await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &rp.app).await,
        Some(subject_of("change-user"))
    );
}

/// A wrong password answers 400 with the step unchanged and the attempts left; the right one
/// then signs in.
pub async fn wrong_password_then_right(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, answer) = flow.sign_in_with_password("alice", "wrong").await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["error"], "invalid_credentials");
    assert_eq!(answer.kind(), "credentials");
    assert!(
        answer.body["attempts_remaining"].as_u64().is_some(),
        "{}",
        answer.body
    );
    assert!(answer.body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(signed_in_subject(&browser, &rp.app).await, None);
    assert!(rp.store.is_empty(), "a refused password creates no session");
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "credentials", "username": "alice", "password": "alice-password"}),
        )
        .await;
    completed(&answer);
}

/// The last wrong password the provider allows ends the flow: the answer says so at once
/// (`failed`), instead of a credentials step that can never succeed.
pub async fn locked_out_after_the_last_attempt(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, mut answer) = flow.sign_in_with_password("alice", "wrong").await;
    for _ in 0..10 {
        if answer.body["attempts_remaining"] == 0 {
            break;
        }
        assert_eq!(answer.kind(), "credentials", "{}", answer.body);
        answer = flow
            .act(
                &flow_id,
                json!({"action": "credentials", "username": "alice", "password": "wrong"}),
            )
            .await;
    }
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["error"], "invalid_credentials");
    assert_eq!(answer.kind(), "failed", "{}", answer.body);
    assert_eq!(flow.read(&flow_id).await.status, 404, "the flow is gone");
    assert!(rp.store.is_empty());
}

/// A wrong code answers 400 `invalid_otp` with the step unchanged; the right one signs in.
pub async fn wrong_otp_then_right(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (flow_id, answer) = flow.sign_in_with_password("otp-user", "otp-password").await;
    let sms = answer.body["step"]["devices"][0]["id"]
        .as_str()
        .expect("device")
        .to_string();
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "select_device", "device_id": sms}),
        )
        .await;
    assert_eq!(answer.kind(), "otp", "{}", answer.body);
    let answer = flow
        .act(&flow_id, json!({"action": "otp", "otp": "000000"}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["error"], "invalid_otp");
    assert_eq!(answer.kind(), "otp");
    assert!(rp.store.is_empty());
    let answer = flow
        .act(&flow_id, json!({"action": "otp", "otp": DEV_OTP}))
        .await;
    completed(&answer);
}

/// The provider's 15-minute expiry, and ours: both answer 404 and the flow is gone.
pub async fn expired_flow(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let flow_id = flow.start(json!({})).await.flow_id();
    rp.provider.expire_flows();
    let answer = flow.read(&flow_id).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(answer.body["error"], "flow_expired");
    let answer = flow.read(&flow_id).await;
    assert_eq!(answer.status, 404, "forgotten: {}", answer.body);
    assert_eq!(answer.body["error"], "flow_not_found");

    // Ours: 15 idle minutes on the app's clock, whatever the provider still keeps.
    let flow_id = flow.start(json!({})).await.flow_id();
    rp.clock.advance(Duration::from_secs(15 * 60 + 1));
    let answer = flow.read(&flow_id).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    // A clean restart works.
    let started = flow.start(json!({})).await;
    assert_eq!(started.kind(), "credentials");
}

/// A status this library does not know becomes `unsupported`, carrying the raw status.
pub async fn unknown_status_is_unsupported(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    rp.provider.set_misbehavior(Misbehavior::FlowUnknownStatus);
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let answer = flow.start(json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.kind(), "unsupported", "{}", answer.body);
    assert_eq!(
        answer.body["step"]["provider_status"],
        "QUANTUM_VERIFICATION_REQUIRED"
    );
    assert!(rp.store.is_empty() || signed_in_subject(&browser, &rp.app).await.is_none());
}

/// A wrong `state`, a bad nonce and `RESUME` are each refused, and no session is created.
pub async fn misbehaviours_are_refused(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    for (misbehavior, status) in [
        (Misbehavior::FlowWrongState, 502),
        (Misbehavior::IdTokenWrongNonce, 502),
        (Misbehavior::FlowResume, 200),
    ] {
        rp.provider.set_misbehavior(misbehavior.clone());
        let browser = Browser::new();
        let flow = FlowClient {
            browser: &browser,
            app: &rp.app,
        };
        let (flow_id, answer) = flow.sign_in_with_password("alice", "alice-password").await;
        assert_eq!(answer.status, status, "{misbehavior:?}: {}", answer.body);
        assert_eq!(answer.kind(), "failed", "{misbehavior:?}: {}", answer.body);
        assert!(
            answer
                .set_cookies
                .iter()
                .all(|c| !c.starts_with("ping_oidc=")),
            "{misbehavior:?}: no session cookie"
        );
        assert_eq!(signed_in_subject(&browser, &rp.app).await, None);
        assert!(
            rp.store.is_empty(),
            "{misbehavior:?}: no session in the store"
        );
        let answer = flow.read(&flow_id).await;
        assert_eq!(answer.status, 404, "{misbehavior:?}: the flow is gone");
    }
}

/// Another browser holding the flow id gets 404; a POST that is not JSON gets 415; a
/// cross-site request gets 403.
pub async fn flows_are_bound_and_guarded(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let started = flow.start(json!({})).await;
    let flow_id = started.flow_id();
    assert!(
        started
            .set_cookies
            .iter()
            .any(|c| c.starts_with("ping_oidc_flow=")
                && c.contains("HttpOnly")
                && c.contains("SameSite=Lax")),
        "binding cookie: {:?}",
        started.set_cookies
    );

    // Another browser, with no binding cookie and then with one of its own.
    let other = Browser::new();
    let thief = FlowClient {
        browser: &other,
        app: &rp.app,
    };
    assert_eq!(thief.read(&flow_id).await.status, 404);
    assert_eq!(thief.start(json!({})).await.status, 200);
    assert_eq!(thief.read(&flow_id).await.status, 404);
    let stolen = thief
        .act(
            &flow_id,
            json!({"action": "credentials", "username": "alice", "password": "alice-password"}),
        )
        .await;
    assert_eq!(stolen.status, 404);
    assert_eq!(thief.cancel(&flow_id).await.status, 404);

    let not_json = browser
        .client
        .post(rp.app.url(&format!("/auth/flow/{flow_id}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", rp.app.base.clone())
        .body("action=credentials&username=alice&password=alice-password")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 415);
    let no_type = browser
        .client
        .post(rp.app.url("/auth/flow"))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(no_type.status(), 415);
    let cross_site = browser
        .client
        .post(rp.app.url("/auth/flow"))
        .header("content-type", "application/json")
        .header("origin", "http://evil.example")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), 403);
    let wrong_action = flow
        .act(&flow_id, json!({"action": "otp", "otp": "1"}))
        .await;
    assert_eq!(wrong_action.status, 400);
    assert_eq!(wrong_action.body["error"], "wrong_action");
    assert_eq!(wrong_action.kind(), "credentials");
    let garbage = flow.act(&flow_id, json!({"action": "credentials"})).await;
    assert_eq!(garbage.status, 400);
    let open_redirect = flow
        .start(json!({"return_to": "https://evil.example/"}))
        .await;
    assert_eq!(open_redirect.status, 400);
    // A browser picks no sign-on policy the app did not allow.
    let weaker = flow.start(json!({"acr_values": "Single_Factor"})).await;
    assert_eq!(weaker.status, 400, "{}", weaker.body);
    // HEAD would call the provider and could finish a sign-in.
    let head = browser
        .client
        .head(rp.app.url(&format!("/auth/flow/{flow_id}")))
        .send()
        .await
        .expect("request");
    assert_eq!(head.status(), 405);

    // Cancel: 204, then the flow is gone.
    assert_eq!(flow.cancel(&flow_id).await.status, 204);
    assert_eq!(flow.read(&flow_id).await.status, 404);
    assert!(rp.store.is_empty());
}

/// Two flows at once in one browser: each goes on by itself.
pub async fn two_flows_at_once(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let first = flow.start(json!({"return_to": "/profile"})).await.flow_id();
    let second = flow.start(json!({"return_to": "/profile"})).await.flow_id();
    assert_ne!(first, second);
    let credentials = |user: &str, password: &str| json!({"action": "credentials", "username": user, "password": password});
    let answer = flow
        .act(&second, credentials("otp-user", "otp-password"))
        .await;
    assert_eq!(answer.kind(), "select_device", "{}", answer.body);
    let answer = flow
        .act(&first, credentials("alice", "alice-password"))
        .await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &rp.app).await,
        Some(subject_of("alice"))
    );
    assert_eq!(flow.read(&second).await.kind(), "select_device");
}

/// Sign-out after a redirect-less sign-in ends the provider session from the server, whose
/// cookies hold it.
pub async fn sign_out_ends_provider_session(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (_, answer) = flow.sign_in_with_password("alice", "alice-password").await;
    completed(&answer);
    assert_eq!(rp.provider.sessions().len(), 1, "one provider session");
    let before = rp.provider.stats();
    let response = browser.sign_out(&rp.app).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        crate::browser::location(&response).as_deref(),
        Some(rp.app.url("/").as_str()),
        "straight back to the app: the browser has no provider session to end"
    );
    assert!(
        rp.provider.sessions().is_empty(),
        "the provider session ended"
    );
    assert!(
        rp.provider.stats().revocations > before.revocations,
        "tokens revoked"
    );
    assert_eq!(signed_in_subject(&browser, &rp.app).await, None);
}

/// Back-channel logout ends a session made by a redirect-less sign-in, like any other.
pub async fn backchannel_logout_ends_flow_session(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let (_, answer) = flow.sign_in_with_password("alice", "alice-password").await;
    completed(&answer);
    let delivered = rp
        .provider
        .backchannel_logout(ping_oidc_dev_provider::LogoutTarget::Sub(subject_of(
            "alice",
        )))
        .await;
    assert_eq!(delivered, 1, "the logout token reached the app");
    assert_eq!(signed_in_subject(&browser, &rp.app).await, None);
    assert!(rp.store.is_empty());
}

/// PingOne delivers the code three ways: resume answering JSON (the default), resume
/// redirecting to the redirect URI, and inline on `COMPLETED`.
pub async fn pingone_code_deliveries(adapter: Adapter) {
    for delivery in [CodeDelivery::ResumeRedirect, CodeDelivery::Inline] {
        let rp = FlowRp::start_with(adapter, Shape::PingOne, Some(delivery)).await;
        let browser = Browser::new();
        let flow = FlowClient {
            browser: &browser,
            app: &rp.app,
        };
        let (_, answer) = flow.sign_in_with_password("alice", "alice-password").await;
        completed(&answer);
        assert_eq!(
            signed_in_subject(&browser, &rp.app).await,
            Some(subject_of("alice"))
        );
    }
}

/// A burst of unauthenticated starts neither fails nor blocks a user already in a flow.
pub async fn start_flood_blocks_nobody(adapter: Adapter, shape: Shape) {
    let rp = FlowRp::start(adapter, shape).await;
    let browser = Browser::new();
    let flow = FlowClient {
        browser: &browser,
        app: &rp.app,
    };
    let flow_id = flow.start(json!({"return_to": "/profile"})).await.flow_id();
    for _ in 0..50 {
        let attacker = Browser::new();
        let answer = FlowClient {
            browser: &attacker,
            app: &rp.app,
        }
        .start(json!({}))
        .await;
        assert_eq!(answer.status, 200);
    }
    let answer = flow
        .act(
            &flow_id,
            json!({"action": "credentials", "username": "alice", "password": "alice-password"}),
        )
        .await;
    completed(&answer);
}

/// A flow started on one instance and finished on another, the two sharing Redis: the flow
/// state is in the store, sealed, and the binding cookie goes to both (one host).
pub async fn flow_across_instances_redis(adapter: Adapter, shape: Shape) {
    let (first, second) = (AppSlot::new(), AppSlot::new());
    let client = ClientRegistration::confidential("rp", "rp-secret", first.callback_url())
        .redirect_uri(second.callback_url())
        .post_logout_redirect_uri(first.home_url());
    let provider = DevProvider::builder()
        .client(client)
        .path_shape(match shape {
            Shape::PingOne => PathShape::pingone(ping_oidc_dev_provider::DEFAULT_ENV_ID),
            Shape::PingFederate => PathShape::PingFederate,
        })
        .user(TestUser::default_user())
        .start()
        .await
        .expect("dev provider");
    let prefix = format!("flow-{}:", crate::store_suite::random_hex());
    let url = crate::cluster::redis_url();
    let store_a = crate::cluster::redis_store(&url, &prefix).await;
    let store_b = crate::cluster::redis_store(&url, &prefix).await;
    let clock = TestClock::new();
    let config_a = first.config(&provider.issuer()).flow_api(flow_api(shape));
    // Behind one load balancer every instance has the same APP_URL (and redirect URI).
    let config_b = second
        .config(&provider.issuer())
        .app_url(first.base.clone())
        .flow_api(flow_api(shape));
    let a = first
        .start_with_clock(adapter, config_a, Some(store_a), &clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = second
        .start_with_clock(adapter, config_b, Some(store_b), &clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::new();
    let on_a = FlowClient {
        browser: &browser,
        app: &a,
    };
    let on_b = FlowClient {
        browser: &browser,
        app: &b,
    };
    let flow_id = on_a.start(json!({"return_to": "/profile"})).await.flow_id();
    assert_eq!(on_b.read(&flow_id).await.kind(), "credentials");
    let answer = on_b
        .act(
            &flow_id,
            json!({"action": "credentials", "username": "alice", "password": "alice-password"}),
        )
        .await;
    completed(&answer);
    assert_eq!(
        signed_in_subject(&browser, &a).await,
        Some(subject_of("alice"))
    );
    assert_eq!(
        on_a.read(&flow_id).await.status,
        404,
        "deleted on completion"
    );
}
