//! The per-request path of a guarded route, step by step, on a real session signed in at the
//! development provider (memory store):
//!
//! `cargo bench -p ping-oidc --features bench --bench per_request`
//!
//! Also the server's own work in one redirect-less sign-in step (`flow_step/*`).
//!
//! See `BENCHMARKS.md` for the numbers and what they mean.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use ping_oidc::store::SessionData;
use ping_oidc::{bench, Authenticated, Config, PingOidc, Requirement, WorkerConfig};
use ping_oidc_dev_provider::{ClientRegistration, DevProvider, DEFAULT_USERNAME};

const APP: &str = "http://127.0.0.1:9";

/// Polls a future once: the engine's guarded path with the memory store never waits.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited; this benchmark expects none to"),
    }
}

/// The session cookie of the provider's default user, signed in through the engine.
async fn sign_in(oidc: &PingOidc, provider: &DevProvider, scope: Option<&str>) -> String {
    bench::sign_in(oidc, scope, |authorize| {
        let callback = provider
            .sign_in(authorize, DEFAULT_USERNAME)
            .map_err(|e| e.to_string())?;
        Ok(callback.query().map(str::to_string))
    })
    .await
    .expect("sign-in")
}

struct Setup {
    oidc: PingOidc,
    /// A browser's `Cookie` header: some other cookies, then the session's.
    cookie: String,
    scoped_cookie: String,
    /// A JWT access token for the app's own resource (a worker's, client credentials).
    bearer: String,
    _provider: DevProvider,
    _runtime: tokio::runtime::Runtime,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (oidc, provider, cookie, scoped_cookie, bearer) = runtime.block_on(async {
        let provider = DevProvider::builder()
            .client(ClientRegistration::confidential(
                "bench",
                "bench-secret",
                format!("{APP}/auth/callback"),
            ))
            .client(ClientRegistration::worker(
                "api-caller",
                "api-caller-secret",
            ))
            .resource(APP)
            .start()
            .await
            .expect("development provider");
        let config = Config::builder()
            .issuer(provider.issuer())
            .client_id("bench")
            .client_secret("bench-secret")
            .app_url(APP)
            .session_key("bench-session-key-0123456789abcdef-0123456789abcdef")
            .scopes(["openid", "profile", "email"])
            .worker(
                "api-caller",
                WorkerConfig::new("api-caller", "api-caller-secret")
                    .scopes(["orders:read"])
                    .resource(APP),
            )
            .build()
            .expect("config");
        let oidc = PingOidc::new(config).await.expect("engine");
        let cookie = sign_in(&oidc, &provider, None).await;
        let scoped = sign_in(&oidc, &provider, Some("orders:read")).await;
        let worker = oidc.worker("api-caller").expect("registered");
        let bearer = worker.token().await.expect("worker token");
        let bearer = bearer.secret().to_string();
        (oidc, provider, cookie, scoped, bearer)
    });
    Setup {
        oidc,
        cookie: format!("_ga=GA1.1.123456789.1700000000; theme=dark; {cookie}"),
        scoped_cookie: format!("_ga=GA1.1.123456789.1700000000; theme=dark; {scoped_cookie}"),
        bearer,
        _provider: provider,
        _runtime: runtime,
    }
}

fn request(cookie: &str) -> bench::ApiGet {
    bench::ApiGet {
        path: "/api/ok".into(),
        query: None,
        cookie: Some(cookie.to_string()),
        authorization: None,
    }
}

fn bearer_request(token: &str) -> bench::ApiGet {
    bench::ApiGet {
        path: "/api/resource".into(),
        query: None,
        cookie: None,
        authorization: Some(format!("Bearer {token}")),
    }
}

/// The bearer path: a token recognised from the cache (a JWT, and an opaque token after its
/// introspection: the same lookup), beside a cache miss's own work (the signature check,
/// keys cached). Compare with `guard/cookie_to_session`, a memory-store session lookup.
fn bearer(c: &mut Criterion, s: &Setup) {
    let oidc = &s.oidc;
    let jwt = bearer_request(&s.bearer);
    let need = Requirement::SIGNED_IN;
    let verify = |request: &bench::ApiGet| match oidc.bearer_now(request, need) {
        ping_oidc::adapter::BearerNow::Answered(answer) => answer.is_ok(),
        ping_oidc::adapter::BearerNow::MustVerify(pending) => ready(pending.verify()).is_ok(),
        _ => false,
    };
    assert!(verify(&jwt), "the worker's token passes");
    let opaque_token = "opaque-token-0123456789abcdef0123456789abcdef";
    let answer = serde_json::json!({
        "active": true,
        "iss": oidc.config().issuer(),
        "aud": APP,
        "sub": "api-caller",
        "scope": "orders:read",
        "exp": bench::now_unix() + 3_600,
    });
    bench::remember_introspection(oidc, opaque_token, answer).expect("an active answer");
    let opaque = bearer_request(opaque_token);
    assert!(verify(&opaque), "the remembered introspection passes");

    let mut group = c.benchmark_group("bearer");
    for (name, request) in [("cached_jwt", &jwt), ("cached_introspection", &opaque)] {
        group.bench_function(name, |b| {
            b.iter(|| match oidc.bearer_now(black_box(request), need) {
                ping_oidc::adapter::BearerNow::Answered(answer) => answer.expect("cached"),
                _ => panic!("not answered from the cache"),
            })
        });
    }
    group.bench_function("cache_miss_verify_rs256", |b| {
        b.iter(|| ready(bench::verify_access_token(oidc, black_box(&s.bearer))).expect("valid"))
    });
    group.finish();
}

fn per_request(c: &mut Criterion) {
    let s = setup();
    let oidc = &s.oidc;
    let signed_in = request(&s.cookie);
    let scoped = request(&s.scoped_cookie);
    let user: Authenticated = ready(oidc.authenticate(&signed_in, &[])).expect("signed in");

    let mut group = c.benchmark_group("guard");
    group.bench_function("cookie_to_session_id", |b| {
        b.iter(|| black_box(bench::session_id(oidc, black_box(&signed_in)).is_some()))
    });
    group.bench_function("cookie_to_session", |b| {
        b.iter(|| ready(bench::load_session(oidc, black_box(&signed_in))).expect("a session"))
    });
    group.bench_function("authenticate", |b| {
        b.iter(|| ready(oidc.authenticate(black_box(&signed_in), &[])).expect("signed in"))
    });
    // What the adapters call first: the same answer without a future.
    let slot = ping_oidc::adapter::RequestAuth::new(oidc.clone());
    group.bench_function("authenticate_now", |b| {
        b.iter(|| {
            slot.authenticate_now(black_box(&signed_in), &[])
                .into_answer()
                .expect("answered at once")
                .expect("signed in")
        })
    });
    group.bench_function("authenticate_scoped", |b| {
        b.iter(|| ready(oidc.authenticate(black_box(&scoped), &["orders:read"])).expect("scoped"))
    });
    group.bench_function("authenticated_clone", |b| {
        b.iter(|| black_box(&user).clone())
    });
    group.finish();

    let mut group = c.benchmark_group("session");
    group.bench_function("claims", |b| {
        b.iter(|| {
            let user = black_box(&user);
            (
                black_box(user.subject().len()),
                black_box(user.claim("email").is_some()),
                black_box(user.claims().len()),
            )
        })
    });
    group.bench_function("access_token_freshness", |b| {
        b.iter(|| {
            black_box(bench::needs_refresh(
                black_box(user.session()),
                bench::now_unix(),
            ))
        })
    });
    group.bench_function("fresh_access_token", |b| {
        b.iter(|| ready(black_box(&user).fresh_access_token()).expect("fresh"))
    });
    // What a store that keeps sessions as JSON (Redis) parses on every request, and the
    // claims' share of it.
    let json =
        String::from_utf8(user.session().to_stored_json().expect("session JSON")).expect("UTF-8");
    let claims = serde_json::to_string(user.claims()).expect("claims JSON");
    group.bench_function("parse_session_json", |b| {
        b.iter(|| serde_json::from_str::<SessionData>(black_box(&json)).expect("session"))
    });
    group.bench_function("parse_claims_json", |b| {
        b.iter(|| serde_json::from_str::<ping_oidc::Claims>(black_box(&claims)).expect("claims"))
    });
    group.finish();

    let mut group = c.benchmark_group("id_token");
    let now = bench::now_unix();
    assert!(ready(bench::verify_id_token(oidc, user.session(), now)).is_ok());
    group.bench_function("validate", |b| {
        b.iter(|| {
            ready(bench::verify_id_token(oidc, black_box(user.session()), now)).expect("valid")
        })
    });
    group.finish();
    let _ = bench::id_token(user.session());

    bearer(c, &s);

    // A redirect-less sign-in step's own work, once the provider answered (the call itself
    // is the provider's time): read, normalise, seal the record, open it again.
    let mut group = c.benchmark_group("flow_step");
    for (name, pingfederate, answer) in [
        ("pingfederate_device_selection", true, PF_DEVICE_SELECTION),
        ("pingone_otp", false, P1_OTP_REQUIRED),
    ] {
        let size = bench::flow_step(oidc, pingfederate, answer.as_bytes()).expect("a step");
        eprintln!("flow_step/{name}: sealed record {size} bytes");
        group.bench_function(name, |b| {
            b.iter(|| bench::flow_step(oidc, pingfederate, black_box(answer.as_bytes())))
        });
    }
    group.finish();
}

/// PingFederate's PingOne MFA adapter asking for a device (the shape of its documentation).
const PF_DEVICE_SELECTION: &str = r#"{"id":"PyH5gdQ4oCC6SHHIlwD9Xw","pluginTypeId":"Q8rBjp8cWp8P3n3jvfMN6w","status":"DEVICE_SELECTION_REQUIRED",
"devices":[{"id":"e0bb64b7-7694-54bf-a800-490e6b5c69ca","type":"SMS","target":"+1******0100","default":true},
{"id":"da069d9d-4e3d-5a28-9f9c-88953cf32087","type":"EMAIL","target":"o*****@example.com","default":false},
{"id":"7a1c2e44-0d5e-4b0f-9c7e-2f1b8a9d3e55","type":"MOBILE","target":"Pixel 9","default":false}],
"_links":{"self":{"href":"https://pf.example.com/pf-ws/authn/flows/PyH5gdQ4oCC6SHHIlwD9Xw"},
"selectDevice":{"href":"https://pf.example.com/pf-ws/authn/flows/PyH5gdQ4oCC6SHHIlwD9Xw"},
"cancelAuthentication":{"href":"https://pf.example.com/pf-ws/authn/flows/PyH5gdQ4oCC6SHHIlwD9Xw"}}}"#;

/// PingOne asking for the code sent to the chosen device.
const P1_OTP_REQUIRED: &str = r#"{"id":"03f1e2c4-6d5a-4b7e-8f90-1a2b3c4d5e6f","status":"OTP_REQUIRED",
"createdAt":"2026-12-02T01:00:00.000Z","expiresAt":"2026-12-02T01:15:00.000Z",
"environment":{"id":"00000000-0000-4000-8000-000000000001"},
"resumeUrl":"https://auth.pingone.com/00000000-0000-4000-8000-000000000001/as/resume?flowId=03f1e2c4-6d5a-4b7e-8f90-1a2b3c4d5e6f",
"_links":{"self":{"href":"https://auth.pingone.com/00000000-0000-4000-8000-000000000001/flows/03f1e2c4-6d5a-4b7e-8f90-1a2b3c4d5e6f"},
"otp.check":{"href":"https://auth.pingone.com/00000000-0000-4000-8000-000000000001/flows/03f1e2c4-6d5a-4b7e-8f90-1a2b3c4d5e6f"},
"device.select":{"href":"https://auth.pingone.com/00000000-0000-4000-8000-000000000001/flows/03f1e2c4-6d5a-4b7e-8f90-1a2b3c4d5e6f"}},
"_embedded":{"devices":[{"id":"e0bb64b7-7694-54bf-a800-490e6b5c69ca","type":"SMS","phone":"+1******0100"},
{"id":"da069d9d-4e3d-5a28-9f9c-88953cf32087","type":"EMAIL","email":"o*****@example.com"}],
"selectedDevice":{"id":"e0bb64b7-7694-54bf-a800-490e6b5c69ca","type":"SMS","phone":"+1******0100"}}}"#;

criterion_group!(benches, per_request);
criterion_main!(benches);
