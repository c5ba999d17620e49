//! The README's axum quick start (`cargo run -p ping-oidc-tower --example axum_quickstart`).
use axum::{response::Html, routing::get, Json, Router};
use ping_oidc_tower::{AuthenticatedUser, OidcLayer, OptionalUser, PingOidc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without a subscriber nothing is logged, not even the start-up warnings.
    tracing_subscriber::fmt().with_env_filter("info").init();
    let me = get(|user: AuthenticatedUser| async move { Json(user.claims().clone()) }); // guarded
    let app = Router::new().route("/", get(home)).route("/me", me);
    // Reads OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and APP_URL (see below).
    let app = app.layer(OidcLayer::new(PingOidc::from_env().await?));
    Ok(axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?)
}

async fn home(user: OptionalUser) -> Html<&'static str> {
    Html(if user.0.is_some() { SIGN_OUT } else { SIGN_IN })
}

const SIGN_IN: &str = "<a href=/auth/login?return_to=/me>Sign in</a> to see your claims";
const SIGN_OUT: &str = "<form method=post action=/auth/logout><button>Sign out</button></form>";
