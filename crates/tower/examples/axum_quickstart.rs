//! The README's axum quick start (`cargo run -p ping-oidc-tower --example axum_quickstart`).
use axum::{response::Html, routing::get, Json, Router};
use ping_oidc_tower::{AuthenticatedUser, OidcLayer, OptionalUser, PingOidc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init(); // or nothing is logged
    let oidc = PingOidc::from_env().await?; // OIDC_ISSUER, OIDC_CLIENT_ID, APP_URL, ...
    let app = Router::new()
        .route("/", get(home))
        .route(
            "/me",
            get(|user: AuthenticatedUser| async move { Json(user.claims().clone()) }),
        )
        .layer(OidcLayer::new(oidc)); // serves /auth/login, /auth/callback, /auth/logout, ...
    axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?;
    Ok(())
}

async fn home(user: OptionalUser) -> Html<String> {
    Html(match &user.0 {
        Some(user) => format!(
            "Hi {}! <form method=post action=/auth/logout><button>Sign out</button></form>",
            user.subject()
        ),
        None => "<a href=/auth/login?return_to=/me>Sign in</a>".into(),
    })
}
