//! The README's actix-web quick start (`cargo run -p ping-oidc-actix --example actix_quickstart`).
use actix_web::{get, web::Html, web::Json, App, HttpServer};
use ping_oidc_actix::{AuthenticatedUser, Claims, OidcMiddleware, OptionalUser, PingOidc};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without a subscriber nothing is logged, not even the start-up warnings.
    tracing_subscriber::fmt().with_env_filter("info").init();
    // Reads OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and APP_URL (see below).
    let auth = OidcMiddleware::new(PingOidc::from_env().await?);
    let app = move || App::new().wrap(auth.clone()).service(home).service(me);
    Ok(HttpServer::new(app).bind("127.0.0.1:3000")?.run().await?)
}

#[get("/me")] // guarded: a signed-out browser is sent to sign in and comes back; fetch gets 401
async fn me(user: AuthenticatedUser) -> Json<Claims> {
    Json(user.claims().clone())
}

#[get("/")]
async fn home(user: OptionalUser) -> Html {
    Html::new(if user.0.is_some() { SIGN_OUT } else { SIGN_IN })
}

const SIGN_IN: &str = "<a href=/auth/login?return_to=/me>Sign in</a> to see your claims";
const SIGN_OUT: &str = "<form method=post action=/auth/logout><button>Sign out</button></form>";
