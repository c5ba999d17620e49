//! The README's axum quick start (`cargo run -p ping-oidc-tower --example axum_quickstart`).
use axum::{response::Html, routing::get, Json, Router};
use ping_oidc_tower::{AuthenticatedUser, OidcLayer, OptionalUser, PingOidc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init(); // or nothing is logged
    let me = get(|user: AuthenticatedUser| async move { Json(user.claims().clone()) });
    let app = Router::new().route("/", get(home)).route("/me", me); // /me is guarded
    let app = app.layer(OidcLayer::new(PingOidc::from_env().await?)); // OIDC_ISSUER, APP_URL, ...
    Ok(axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?)
}

async fn home(user: OptionalUser) -> Html<&'static str> {
    Html(if user.0.is_some() { SIGN_OUT } else { SIGN_IN })
}

const SIGN_IN: &str = "<a href=/me>Sign in</a>"; // /me is guarded: it sends a browser to sign in
const SIGN_OUT: &str = "<a href=/me>Your claims</a> <form method=post action=/auth/logout><button>Sign out</button></form>";
