//! The README's axum quick start (`cargo run -p ping-oidc-tower --example axum_quickstart`).
use axum::{response::Html, routing::get, Json, Router};
use ping_oidc_tower::{AuthenticatedUser, Claims, OidcLayer, OptionalUser, PingOidc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init(); // or nothing is logged
    let oidc = PingOidc::from_env().await?; // OIDC_ISSUER, OIDC_CLIENT_ID, APP_URL, ...
    let app = Router::new().route("/", get(home)).route("/me", get(me));
    let app = app.layer(OidcLayer::new(oidc)); // serves /auth/login, /auth/callback, ...
    Ok(axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?)
}

async fn me(user: AuthenticatedUser) -> Json<Claims> {
    Json(user.claims().clone()) // signed out: a navigation goes to sign-in, fetch gets 401
}

async fn home(user: OptionalUser) -> Html<String> {
    Html(match &user.0 {
        Some(user) => format!("Hi {}! {SIGN_OUT}", user.subject()),
        None => "<a href=/auth/login?return_to=/me>Sign in</a>".into(),
    })
}

const SIGN_OUT: &str = "<form method=post action=/auth/logout><button>Sign out</button></form>";
