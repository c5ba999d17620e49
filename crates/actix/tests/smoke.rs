//! The middleware and extractors against a stub provider that only serves discovery and an
//! empty key set: enough for every answer that needs no signed-in session. Real sign-in flows
//! for both adapters are in the shared harness (`tests/`).

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use actix_web::{web, App, HttpResponse, HttpServer};
use ping_oidc::Config;
use ping_oidc_actix::{AuthenticatedUser, OidcMiddleware, OptionalUser, PingOidc, ScopedToken};
use serde_json::{json, Value};

ping_oidc_actix::required_scopes!(OrdersRead => "orders:read");

/// Serves `/.well-known/openid-configuration` and `/jwks` on 127.0.0.1; returns the issuer.
fn stub_provider() -> (String, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub provider");
    let issuer = format!("http://{}", listener.local_addr().expect("stub address"));
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "code_challenge_methods_supported": ["S256"],
    });
    let server = HttpServer::new(move || {
        let discovery = discovery.clone();
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let discovery = discovery.clone();
                    async move { HttpResponse::Ok().json(discovery) }
                }),
            )
            .route(
                "/jwks",
                web::get().to(|| async { HttpResponse::Ok().json(json!({ "keys": [] })) }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (issuer, handle)
}

async fn engine() -> (PingOidc, ServerHandle) {
    let (issuer, provider) = stub_provider();
    let config = Config::builder()
        .issuer(issuer)
        .client_id("smoke")
        .app_url("http://127.0.0.1:3000")
        .build()
        .expect("config");
    let oidc = PingOidc::new(config)
        .await
        .expect("engine starts against the stub");
    (oidc, provider)
}

async fn me(user: AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": user.subject() }))
}

async fn who(OptionalUser(user): OptionalUser) -> String {
    user.map_or_else(|| "nobody".into(), |user| user.subject().to_string())
}

async fn orders(token: ScopedToken<OrdersRead>) -> String {
    token.subject().to_string()
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(|| async { "ok" }))
        .route("/api/me", web::get().to(me))
        .route("/who", web::get().to(who))
        .route("/api/orders", web::get().to(orders));
}

async fn json_of<B: MessageBody>(response: ServiceResponse<B>) -> Value {
    let body = read_body(response).await;
    serde_json::from_slice(&body).expect("a JSON body")
}

fn header_of<B>(response: &ServiceResponse<B>, name: header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("text header").to_string())
}

#[actix_web::test]
async fn answers_like_the_engine() {
    let (oidc, provider) = engine().await;
    let app = init_service(App::new().configure(routes).wrap(OidcMiddleware::new(oidc))).await;

    // Unguarded routes pass through untouched.
    let response = call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read_body(response).await, "ok");

    // /auth/user without a session: 401 JSON naming the login URL.
    let response = call_service(&app, TestRequest::get().uri("/auth/user").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE).as_deref(),
        Some("application/json")
    );
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL).as_deref(),
        Some("no-store")
    );
    assert!(json_of(response).await["login_url"]
        .as_str()
        .is_some_and(|url| url.starts_with("/auth/login")));

    // /auth/token without X-CSRF: 403.
    let response = call_service(&app, TestRequest::get().uri("/auth/token").to_request()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_of(response).await["error"], "csrf_header_required");

    // GET /auth/logout: 405, POST only.
    let response = call_service(&app, TestRequest::get().uri("/auth/logout").to_request()).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&response, header::ALLOW).as_deref(), Some("POST"));

    // A guarded JSON route, signed out: 401 JSON for scripts...
    let response = call_service(&app, TestRequest::get().uri("/api/me").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = json_of(response).await;
    assert_eq!(body["error"], "unauthenticated");
    assert_eq!(body["login_url"], "/auth/login");

    // ...and a redirect to sign-in, coming back here, for browser navigations.
    let navigation = TestRequest::get()
        .uri("/api/me?tab=2")
        .insert_header(("sec-fetch-mode", "navigate"));
    let response = call_service(&app, navigation.to_request()).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        header_of(&response, header::LOCATION).as_deref(),
        Some("/auth/login?return_to=%2Fapi%2Fme%3Ftab%3D2")
    );

    // A scoped route refuses the same way; an optional user is simply absent.
    let response = call_service(&app, TestRequest::get().uri("/api/orders").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = call_service(&app, TestRequest::get().uri("/who").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read_body(response).await, "nobody");

    // A session cookie that does not verify counts as signed out.
    let forged = TestRequest::get()
        .uri("/api/me")
        .insert_header((header::COOKIE, "a=b; ping_oidc=forged"));
    let response = call_service(&app, forged.to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    provider.stop(false).await;
}

#[actix_web::test]
async fn backchannel_logout_body_is_capped() {
    let (oidc, provider) = engine().await;
    let app = init_service(App::new().configure(routes).wrap(OidcMiddleware::new(oidc))).await;
    let form = "application/x-www-form-urlencoded";

    let huge = vec![b'a'; ping_oidc::adapter::AuthRoute::MAX_BODY_BYTES + 1];
    let request = TestRequest::post()
        .uri("/auth/backchannel-logout")
        .insert_header((header::CONTENT_TYPE, form))
        .set_payload(huge);
    let response = call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(response).await["error"], "invalid_request");

    // Within the cap the engine reads the body: no logout_token is a 400.
    let request = TestRequest::post()
        .uri("/auth/backchannel-logout")
        .insert_header((header::CONTENT_TYPE, form))
        .set_payload("other=1");
    let response = call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_request");

    provider.stop(false).await;
}

#[actix_web::test]
async fn extractors_without_the_middleware_say_so() {
    let app = init_service(App::new().configure(routes)).await;
    for path in ["/api/me", "/who", "/api/orders"] {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE).as_deref(),
            Some("application/json")
        );
        assert_eq!(
            json_of(response).await["error"],
            "server_misconfigured",
            "{path}"
        );
    }
    // Without the middleware nothing answers the auth routes.
    let response = call_service(&app, TestRequest::get().uri("/auth/user").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
