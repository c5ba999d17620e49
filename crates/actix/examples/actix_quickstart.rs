//! The README's actix-web quick start (`cargo run -p ping-oidc-actix --example actix_quickstart`).
use actix_web::{web, App, HttpResponse, HttpServer};
use ping_oidc_actix::{AuthenticatedUser, OidcMiddleware, OptionalUser, PingOidc};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init(); // or nothing is logged
    let oidc = PingOidc::from_env().await?; // OIDC_ISSUER, OIDC_CLIENT_ID, APP_URL, ...
    let app = move || {
        App::new()
            .route("/", web::get().to(home))
            .route("/me", web::get().to(me))
            .wrap(OidcMiddleware::new(oidc.clone())) // serves /auth/login, /auth/callback, ...
    };
    Ok(HttpServer::new(app).bind("127.0.0.1:3000")?.run().await?)
}

async fn me(user: AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(user.claims()) // signed out: a navigation goes to sign-in
}

async fn home(user: OptionalUser) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html")
        .body(match &user.0 {
            Some(user) => format!("Hi {}! {SIGN_OUT}", user.subject()),
            None => "<a href=/auth/login?return_to=/me>Sign in</a>".into(),
        })
}

const SIGN_OUT: &str = "<form method=post action=/auth/logout><button>Sign out</button></form>";
