//! The embedded sign-in page (`/auth/signin`) through each adapter, in both product shapes.
//!
//! - [`walk`]: headless Chromium (`tests/browser/signin-page.mjs`) walks every step of every
//!   scenario (password, wrong password, MFA with device choice and OTP, push, change
//!   password, expired flow), runs axe-core on each step and saves screenshots under
//!   `<target>/browser-artifacts/`. A themed run adds a logo, colours, a stylesheet from
//!   another origin and French; a run with JavaScript off proves the forms need none.
//! - The HTTP cases check what a browser cannot show: escaping of a provider message with
//!   markup, the CSRF token, origin checks, and that refused forms create nothing.
//!
//! A small control server (127.0.0.1) lets the script expire the provider's flows and
//! approve a push, and serves the themed run's logo and stylesheet.

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use ping_oidc::signin::{Color, SignInPage};
use ping_oidc::SignIn;
use ping_oidc_dev_provider::{
    DevProvider, MfaDevice, Misbehavior, TestUser, DEV_OTP, FLOW_MARKUP_MESSAGE,
};
use serde_json::{json, Value};

use crate::app::{Adapter, AppSlot, TestApp};
use crate::browser::{location, set_cookies, Browser};
use crate::browser_run::{adapter_name, artifacts_dir, check_png, run_script};
use crate::flow::{self, Shape};

/// The whole walk takes 20–60 s; this is the backstop (the script stops itself at 150 s).
const WALK_TIMEOUT: Duration = Duration::from_secs(170);
/// The themed run's stylesheet sets this card colour, which the script reads back.
const STYLESHEET_MARKER: &str = "rgb(255, 252, 240)";
const THEMED_CSS: &str = "main#signin { background-color: #fffcf0; }\n";
const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="132" height="40" viewBox="0 0 132 40"><rect width="40" height="40" rx="8" fill="#0b5e44"/><path d="M10 30 L20 10 L30 30 Z" fill="#fff"/><text x="48" y="27" font-family="sans-serif" font-size="18" font-weight="700" fill="#0b5e44">ACME</text></svg>"##;

/// Which variant of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Every scenario, JavaScript on, the default look.
    Plain,
    /// JavaScript off: forms, the push page's `<meta>` refresh.
    NoScript,
    /// The theme and French: password and MFA.
    Themed,
    /// A provider that asks for the username first.
    IdentifierFirst,
}

/// The control server: `POST /expire-flows`, `POST /approve-push`, `GET /logo.svg`,
/// `GET /theme.css`.
struct Control {
    base: String,
    _server: tokio::task::JoinHandle<()>,
}

impl Control {
    async fn start(provider: DevProvider) -> Self {
        let expire = provider.clone();
        let approve = provider;
        let router = Router::new()
            .route(
                "/expire-flows",
                post(move || {
                    let provider = expire.clone();
                    async move {
                        provider.expire_flows();
                        StatusCode::NO_CONTENT
                    }
                }),
            )
            .route(
                "/approve-push",
                post(move || {
                    let provider = approve.clone();
                    async move {
                        if provider.approve_push("push-user") {
                            StatusCode::NO_CONTENT
                        } else {
                            StatusCode::CONFLICT
                        }
                    }
                }),
            )
            .route(
                "/logo.svg",
                get(|| async {
                    ([(header::CONTENT_TYPE, "image/svg+xml")], LOGO_SVG).into_response()
                }),
            )
            .route(
                "/theme.css",
                get(|| async {
                    ([(header::CONTENT_TYPE, "text/css")], THEMED_CSS).into_response()
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("control server");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base,
            _server: server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::PingOne => "pingone",
        Shape::PingFederate => "pingfederate",
    }
}

/// An example app on `adapter` with `OIDC_SIGN_IN=embedded`, its own dev provider.
async fn start(adapter: Adapter, shape: Shape, page: SignInPage) -> (DevProvider, TestApp) {
    let slot = AppSlot::new();
    let provider = flow::start_provider(&slot, shape, None).await;
    let config = slot
        .config(&provider.issuer())
        .flow_api(flow::flow_api(shape))
        .sign_in(SignIn::Embedded)
        .sign_in_page(page);
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
    (provider, app)
}

/// Headless Chromium walks the page's scenarios for one adapter, shape and variant.
pub async fn walk(adapter: Adapter, shape: Shape, variant: Variant) {
    let name = format!(
        "{}-{}{}",
        adapter_name(adapter),
        shape_name(shape),
        match variant {
            Variant::Plain => "-js",
            Variant::NoScript => "-nojs",
            Variant::Themed => "-themed",
            Variant::IdentifierFirst => "-identifier",
        }
    );
    // The themed page names the control server's URLs, and the control server needs the
    // provider: provider, control server, then the app.
    let slot = AppSlot::new();
    let provider = flow::start_provider(&slot, shape, None).await;
    provider.set_identifier_first(variant == Variant::IdentifierFirst);
    let control = Control::start(provider.clone()).await;
    let mut page = SignInPage::new();
    let mut theme = None;
    if variant == Variant::Themed {
        page = page
            .product_name("Acme Bank")
            .logo_url(control.url("/logo.svg"))
            .primary_color(Color::parse("#0b5e44").expect("colour"))
            .background_color(Color::parse("#e8efe9").expect("colour"))
            .stylesheet_url(control.url("/theme.css"))
            .footer_link("Privacy", "https://acme.example/privacy")
            .footer_link("Help", "https://acme.example/help");
        theme = Some(json!({
            "lang": "fr",
            "primary": "rgb(11, 94, 68)",
            "logo": true,
            "stylesheet_marker": STYLESHEET_MARKER,
            "product": "Acme Bank",
        }));
    }
    let config = slot
        .config(&provider.issuer())
        .flow_api(flow::flow_api(shape))
        .sign_in(SignIn::Embedded)
        .sign_in_page(page);
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("{name}: app: {e}"));

    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    // Last run's screenshots must not pass for this run's.
    if let Ok(entries) = std::fs::read_dir(&artifacts) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let scenarios = match variant {
        Variant::Themed => "password,mfa",
        Variant::IdentifierFirst => "identifier-first",
        _ => "password,wrong-password,mfa,push,change-password,expired",
    };
    let theme_text = theme.as_ref().map(Value::to_string).unwrap_or_default();
    let control_base = control.base.clone();
    let artifacts_text = artifacts.display().to_string();
    let envs = [
        ("APP_URL", app.base.as_str()),
        ("CONTROL_URL", control_base.as_str()),
        ("ARTIFACTS", artifacts_text.as_str()),
        ("PREFIX", name.as_str()),
        ("SCENARIOS", scenarios),
        (
            "JAVASCRIPT",
            if variant == Variant::NoScript {
                "off"
            } else {
                "on"
            },
        ),
        ("THEME", theme_text.as_str()),
    ];
    let run = run_script("signin-page.mjs", &[], &envs, WALK_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{name}: the sign-in page walk failed: {e}"));
    let summary = &run.summary;
    eprintln!("{name}: sign-in page walk passed in {:.1?}", run.elapsed);
    assert_eq!(summary["ok"], true, "{summary}");
    let walked: Vec<&str> = summary["scenarios"]
        .as_array()
        .map(|list| list.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(walked.join(","), scenarios, "{summary}");
    let mut shots = 0;
    for scenario in summary["scenarios"].as_array().into_iter().flatten() {
        let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
        assert!(
            steps.len() >= 2,
            "{name}: scenario {} has too few steps: {scenario}",
            scenario["name"]
        );
        for step in &steps {
            let path = step["screenshot"].as_str().unwrap_or_default();
            check_png(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{name}: {e}"));
            shots += 1;
            if variant != Variant::NoScript && !step["axe"].is_null() {
                assert_eq!(step["axe"]["serious"], 0, "{name}: {step}");
                assert_eq!(step["axe"]["critical"], 0, "{name}: {step}");
            }
        }
    }
    eprintln!("{name}: {shots} screenshots in {}", artifacts.display());
}

/// A form post as the page's own form sends it.
async fn post_form(browser: &Browser, app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    browser
        .client
        .post(app.url("/auth/signin"))
        .header("accept", "text/html")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-origin")
        .header("origin", app.base.clone())
        .form(fields)
        .send()
        .await
        .expect("POST /auth/signin")
}

/// A hidden field's value in a rendered page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in the page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The page's first step, with its flow id and CSRF token.
async fn first_page(browser: &Browser, app: &TestApp) -> (String, String, String) {
    let response = browser
        .navigate(&app.url("/auth/signin?return_to=/profile"))
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("page");
    let flow = hidden(&html, "flow");
    let csrf = hidden(&html, "csrf");
    (html, flow, csrf)
}

/// A provider message with markup shows as text; the page's headers are the strict ones.
pub async fn provider_markup_is_escaped(adapter: Adapter) {
    let (provider, app) = start(adapter, Shape::PingFederate, SignInPage::new()).await;
    provider.set_misbehavior(Misbehavior::FlowMarkupMessage);
    let browser = Browser::new();
    let (_, flow, csrf) = first_page(&browser, &app).await;
    let response = post_form(
        &browser,
        &app,
        &[
            ("flow", &flow),
            ("csrf", &csrf),
            ("action", "credentials"),
            ("return_to", "/profile"),
            ("username", "alice"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = response.text().await.expect("page");
    assert!(
        !html.contains(FLOW_MARKUP_MESSAGE),
        "the provider's markup reached the page raw"
    );
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<b>Wrong</b>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;Wrong&lt;&#x2f;b&gt; password &amp; &quot;quotes&quot;"),
        "the provider's message is not shown escaped: {html}"
    );
    // Every script on the page carries the response's nonce.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default();
    assert!(!nonce.is_empty(), "{csp}");
    for (i, _) in html.match_indices("<script") {
        assert!(
            html[i..].starts_with(&format!("<script nonce=\"{nonce}\"")),
            "{html}"
        );
    }
}

/// A form without this flow's CSRF token, or from another site, changes nothing.
pub async fn forged_forms_are_refused(adapter: Adapter) {
    let (provider, app) = start(adapter, Shape::PingOne, SignInPage::new()).await;
    let browser = Browser::new();
    let (_, flow, csrf) = first_page(&browser, &app).await;
    let sign_in = |csrf: &str| {
        vec![
            ("flow".to_owned(), flow.clone()),
            ("csrf".to_owned(), csrf.to_owned()),
            ("action".to_owned(), "credentials".to_owned()),
            ("return_to".to_owned(), "/profile".to_owned()),
            ("username".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "alice-password".to_owned()),
        ]
    };
    // A token for another flow.
    let (_, _other_flow, other_csrf) = first_page(&Browser::new(), &app).await;
    for bad in ["", "AAAA", other_csrf.as_str()] {
        let fields = sign_in(bad);
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = post_form(&browser, &app, &pairs).await;
        assert_eq!(response.status(), 403, "csrf {bad:?}");
        assert!(set_cookies(&response).is_empty(), "csrf {bad:?}");
    }
    // From another site.
    let fields = sign_in(&csrf);
    let response = browser
        .client
        .post(app.url("/auth/signin"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
    assert!(set_cookies(&response).is_empty());
    // Not a form.
    let response = browser
        .client
        .post(app.url("/auth/signin"))
        .header("origin", app.base.clone())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 415);
    assert!(
        provider.sessions().is_empty(),
        "a refused form signed someone in"
    );
    // The genuine form still works after all that.
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = post_form(&browser, &app, &pairs).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
    let me = browser.fetch(&app.url("/api/me")).await;
    assert_eq!(me.status(), 200);
}

/// With `OIDC_SIGN_IN=embedded`, a signed-out navigation goes to the page, and an API call
/// still gets 401 JSON whose `login_url` is the page.
pub async fn guarded_pages_send_to_the_page(adapter: Adapter) {
    let (_provider, app) = start(adapter, Shape::PingOne, SignInPage::new()).await;
    let browser = Browser::new();
    let response = browser.navigate(&app.url("/profile")).await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        location(&response).as_deref(),
        Some("/auth/signin?return_to=%2Fprofile")
    );
    let response = browser.fetch(&app.url("/auth/user")).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["login_url"], "/auth/signin", "{body}");
    // Only a page the user opens starts a flow: not an image, a fetch or a prefetch.
    for (name, value) in [
        ("sec-fetch-dest", "image"),
        ("sec-fetch-mode", "no-cors"),
        ("sec-purpose", "prefetch"),
    ] {
        let response = browser
            .client
            .get(app.url("/auth/signin?return_to=/profile"))
            .header("accept", "text/html")
            .header(name, value)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 400, "{name}: {value}");
        assert!(set_cookies(&response).is_empty(), "{name}: {value}");
    }
    // The page refuses a return path to another site.
    let response = browser
        .navigate(&app.url("/auth/signin?return_to=https://evil.example/"))
        .await;
    assert_eq!(response.status(), 400);
    assert!(set_cookies(&response).is_empty());
}

/// Two new passwords that differ are refused by the page itself; a missing field too.
pub async fn change_password_confirmation(adapter: Adapter, shape: Shape) {
    let (_provider, app) = start(adapter, shape, SignInPage::new()).await;
    let browser = Browser::new();
    let (_, flow, csrf) = first_page(&browser, &app).await;
    let base = [
        ("flow", flow.as_str()),
        ("csrf", csrf.as_str()),
        ("return_to", "/profile"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut fields: Vec<(&str, &str)> = base.to_vec();
        fields.extend_from_slice(extra);
        fields
    };
    let response = post_form(
        &browser,
        &app,
        &with(&[
            ("action", "credentials"),
            ("username", "change-user"),
            ("password", "change-password"),
        ]),
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = browser
        .navigate(&app.url(&location(&response).unwrap_or_default()))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("data-step=\"change_password\""), "{page}");
    let response = post_form(
        &browser,
        &app,
        &with(&[
            ("action", "change_password"),
            ("current_password", "change-password"),
            ("new_password", "new-password-1"),
            ("confirm_password", "new-password-2"),
        ]),
    )
    .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("page");
    assert!(
        html.contains("id=\"confirm-password\" name=\"confirm_password\" autocomplete=\"new-password\" required autofocus aria-invalid=\"true\" aria-describedby=\"form-error\""),
        "{html}"
    );
    let response = post_form(&browser, &app, &with(&[("action", "otp")])).await;
    assert_eq!(response.status(), 400, "a missing field");
    let response = post_form(
        &browser,
        &app,
        &with(&[
            ("action", "change_password"),
            ("current_password", "change-password"),
            ("new_password", "new-password-1"),
            ("confirm_password", "new-password-1"),
        ]),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
}

/// Cancel ends the flow at the provider's side and goes home.
pub async fn cancel_goes_home(adapter: Adapter) {
    let (_provider, app) = start(adapter, Shape::PingFederate, SignInPage::new()).await;
    let browser = Browser::new();
    let (_, flow, csrf) = first_page(&browser, &app).await;
    let response = post_form(
        &browser,
        &app,
        &[
            ("flow", &flow),
            ("csrf", &csrf),
            ("action", "cancel"),
            ("return_to", "/profile"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/"));
    // The flow is gone: its page starts a new one.
    let response = browser
        .navigate(&app.url(&format!("/auth/signin?flow={flow}&return_to=%2Fprofile")))
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("page");
    assert!(html.contains("id=\"notice\""), "{html}");
    assert_ne!(hidden(&html, "flow"), flow);
}

/// While a push or a code is awaited, "use another device" switches devices (PingFederate
/// permits it with `changeDevicePermitted`; PingOne offers `device.select`); once signed in,
/// the page sends the browser straight back.
pub async fn switch_device_while_waiting(adapter: Adapter, shape: Shape) {
    let (provider, app) = start(adapter, shape, SignInPage::new()).await;
    provider.add_user(
        TestUser::new("two-devices", "two-devices-password")
            .device(MfaDevice::push("Pixel 9").default_device())
            .device(MfaDevice::sms("+1 555 0199")),
    );
    let browser = Browser::new();
    let (_, flow, csrf) = first_page(&browser, &app).await;
    let post = |extra: Vec<(&'static str, String)>| {
        let mut fields: Vec<(String, String)> = vec![
            ("flow".into(), flow.clone()),
            ("csrf".into(), csrf.clone()),
            ("return_to".into(), "/profile".into()),
        ];
        fields.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let (browser, app) = (&browser, &app);
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post_form(browser, app, &pairs).await
        }
    };
    let follow = |response: reqwest::Response| {
        let (browser, app) = (&browser, &app);
        async move {
            assert_eq!(response.status(), 303);
            let url = app.url(&location(&response).unwrap_or_default());
            browser.navigate(&url).await.text().await.expect("page")
        }
    };
    let credentials = vec![
        ("action", "credentials".to_owned()),
        ("username", "two-devices".to_owned()),
        ("password", "two-devices-password".to_owned()),
    ];
    let page = follow(post(credentials).await).await;
    assert!(page.contains("data-step=\"select_device\""), "{page}");
    let push = radio_value(&page, "device-1");
    let page = follow(
        post(vec![
            ("action", "select_device".into()),
            ("device_id", push.clone()),
        ])
        .await,
    )
    .await;
    assert!(page.contains("data-step=\"push_wait\""), "{page}");
    assert!(
        page.contains("id=\"change-device-form\""),
        "no way to use another device: {page}"
    );
    let sms = radio_value(&page, "other-device-1");
    assert_ne!(sms, push, "the device waited on is offered again: {page}");
    let page =
        follow(post(vec![("action", "select_device".into()), ("device_id", sms)]).await).await;
    assert!(page.contains("data-step=\"otp\""), "{page}");
    assert!(
        page.contains("id=\"change-device-form\""),
        "no way back to the push: {page}"
    );
    let response = post(vec![("action", "otp".into()), ("otp", DEV_OTP.into())]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
    // Signed in: the page has nothing to do.
    let response = browser
        .navigate(&app.url("/auth/signin?return_to=/profile"))
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/profile"));
}

/// The value of the radio button with this id.
fn radio_value(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no radio button {id} in {html}"))
        .to_owned()
}
