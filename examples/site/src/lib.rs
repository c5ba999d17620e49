//! The example site both example apps serve (see `shared/example-contract.md`): configuration
//! from the environment, the HTML pages and the JSON bodies. The apps only route.

use std::net::SocketAddr;

use ping_oidc::response::escape;
use ping_oidc::{Authenticated, Config, PingOidc};
use serde_json::{json, Value};

ping_oidc::required_scopes!(pub OrdersRead => "orders:read");

/// Scopes the example asks for when `OIDC_SCOPES` is unset.
pub const DEFAULT_SCOPES: &str = "openid profile email";

/// Logs to stderr with `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The address to bind: `APP_URL`'s host and port.
pub fn bind_address(config: &Config) -> Result<SocketAddr, String> {
    let url = config.app_url();
    let host = url.host_str().ok_or("APP_URL has no host")?;
    let port = url.port_or_known_default().ok_or("APP_URL has no port")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{ip}:{port}")
        .parse()
        .or_else(|_| format!("[{ip}]:{port}").parse())
        .map_err(|_| format!("APP_URL host `{host}` is not an IP address or localhost; set APP_URL to the address to bind"))
}

/// Reads the contract's variables and starts the engine with the configured session store.
pub async fn engine_from_env() -> Result<PingOidc, String> {
    let mut builder = Config::builder_from_env().map_err(|e| e.to_string())?;
    if std::env::var_os("OIDC_SCOPES").is_none() {
        builder = builder.scopes(DEFAULT_SCOPES.split(' '));
    }
    let config = builder.build().map_err(|e| e.to_string())?;
    PingOidc::builder(config)
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// `GET /`: public, shows who is signed in, with sign-in and sign-out controls.
pub fn home_page(user: Option<&Authenticated>) -> String {
    let body = match user {
        Some(user) => format!(
            "<p id=\"status\">Signed in as <strong>{}</strong>.</p>\
             <p><a href=\"/profile\">Your profile</a> · <a href=\"/api/me\">/api/me</a></p>\
             <form method=\"post\" action=\"/auth/logout\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>",
            escape(display_name(user))
        ),
        None => "<p id=\"status\">You are not signed in.</p>\
                 <p><a id=\"sign-in\" href=\"/auth/login?return_to=/profile\">Sign in</a></p>"
            .to_string(),
    };
    page("ping-oidc example", &body)
}

/// `GET /profile`: the subject and the claims.
pub fn profile_page(user: &Authenticated) -> String {
    let mut rows = String::new();
    for (name, value) in user.claims() {
        let shown = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&shown)
        ));
    }
    let body = format!(
        "<p>Subject: <code id=\"subject\">{}</code></p><table id=\"claims\">{rows}</table>\
         <form method=\"post\" action=\"/auth/logout\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>\
         <p><a href=\"/\">Home</a></p>",
        escape(user.subject())
    );
    page("Profile", &body)
}

/// `GET /api/me`: `{"sub", "claims"}`.
pub fn me_json(user: &Authenticated) -> Value {
    json!({ "sub": user.subject(), "claims": user.claims() })
}

/// `GET /api/orders` (needs `orders:read`): proves the token carries the scope.
pub fn orders_json(user: &Authenticated) -> Value {
    json!({ "sub": user.subject(), "scopes": user.scopes(), "orders": [] })
}

fn display_name(user: &Authenticated) -> &str {
    ["name", "preferred_username", "email"]
        .iter()
        .find_map(|claim| user.claim(claim).and_then(Value::as_str))
        .unwrap_or(user.subject())
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}\
         th{{text-align:left;padding-right:1rem}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    )
}
