//! The README's actix-web quick start (`cargo run -p ping-oidc-actix --example actix_quickstart`).
use actix_web::{get, web::Html, web::Json, App, HttpServer};
use ping_oidc_actix::{AuthenticatedUser, Claims, OidcMiddleware, OptionalUser, PingOidc};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init(); // or nothing is logged
    let auth = OidcMiddleware::new(PingOidc::from_env().await?); // OIDC_ISSUER, APP_URL, ...
    let app = move || App::new().wrap(auth.clone()).service(home).service(me);
    Ok(HttpServer::new(app).bind("127.0.0.1:3000")?.run().await?)
}

#[get("/me")] // guarded: signed out, a navigation goes to sign-in and fetch gets 401
async fn me(user: AuthenticatedUser) -> Json<Claims> {
    Json(user.claims().clone())
}

#[get("/")]
async fn home(user: OptionalUser) -> Html {
    Html::new(if user.0.is_some() { SIGN_OUT } else { SIGN_IN })
}

const SIGN_IN: &str = "<a href=/me>Sign in</a>"; // /me is guarded: it sends a browser to sign in
const SIGN_OUT: &str = "<a href=/me>Your claims</a> <form method=post action=/auth/logout><button>Sign out</button></form>";
