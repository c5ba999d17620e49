//! The example site both example apps serve (see `shared/example-contract.md`): configuration
//! from the environment, the HTML pages and the JSON bodies. The apps only route.

use std::net::SocketAddr;

use ping_oidc::adapter::escape_html as escape;
use ping_oidc::store::RedisStore;
use ping_oidc::{Authenticated, Config, PingOidc, RequestObject, TokenAuthMethod};
use ping_oidc_dev_provider::{
    AuthMethod, ClientRegistration, DevProvider, PathShape, TestUser, DEFAULT_PASSWORD,
    DEFAULT_USERNAME, DEV_OTP,
};
use serde_json::{json, Value};

pub mod readme_run;

// The orders API: its own token (audience `ORDERS_API_RESOURCE`), scope `orders:read`.
ping_oidc::api!(pub OrdersRead => "orders", scopes = ["orders:read"]);

// `/api/resource`: bearer callers of this app's own API need this scope.
ping_oidc::required_scopes!(pub ResourceRead => "orders:read");

// `/api/step-up`: the stronger sign-on policy (the example's name for it), at most 5 minutes old.
ping_oidc::step_up!(pub RecentMfa => acr_values = ["Multi_Factor"], max_age = 300);

/// The orders API's resource indicator unless `ORDERS_API_RESOURCE` says otherwise.
pub const DEFAULT_ORDERS_API_RESOURCE: &str = "https://orders.example/";

fn orders_api_resource() -> String {
    std::env::var("ORDERS_API_RESOURCE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ORDERS_API_RESOURCE.into())
}

/// Logs to stderr with `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
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

/// The started engine, and the embedded development provider when no provider was configured
/// (keep it alive as long as the app runs).
pub struct Example {
    pub oidc: PingOidc,
    pub dev_provider: Option<DevProvider>,
}

/// Reads the contract's variables and starts the engine with the configured session store.
///
/// With none of `OIDC_ISSUER`, `PINGONE_ENV_ID` and `PINGONE_CUSTOM_DOMAIN` set, the embedded
/// development provider starts on a free loopback port with a client for `APP_URL`, and the
/// URL to open and the test user's credentials are printed.
pub async fn start_from_env() -> Result<Example, String> {
    let provider_configured = ["OIDC_ISSUER", "PINGONE_ENV_ID", "PINGONE_CUSTOM_DOMAIN"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    let (builder, dev_provider) = if provider_configured {
        (Config::builder_from_env().map_err(|e| e.to_string())?, None)
    } else {
        let app_url = std::env::var("APP_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
        let app_url = app_url.trim_end_matches('/').to_string();
        // `OIDC_FLOW_API=pingfederate` tries PingFederate's Authentication API: the embedded
        // provider then takes PingFederate's shape.
        let flow_api = std::env::var("OIDC_FLOW_API").unwrap_or_default();
        let pingfederate = flow_api.trim().eq_ignore_ascii_case("pingfederate");
        let provider = start_dev_provider(&app_url, pingfederate).await?;
        // A private_key_jwt client has no secret: the key file authenticates it.
        let secret = (dev_token_auth_method() != Some(TokenAuthMethod::PrivateKeyJwt))
            .then(|| DEV_CLIENT_SECRET.to_string());
        let builder = Config::builder_from_lookup(|name| match name {
            "OIDC_ISSUER" => Some(provider.issuer()),
            "OIDC_CLIENT_ID" => Some(DEV_CLIENT_ID.into()),
            "OIDC_CLIENT_SECRET" => secret.clone(),
            "APP_URL" => Some(app_url.clone()),
            // The embedded provider is PingOne-shaped (or PingFederate's, as asked), flow
            // API included: on unless switched off.
            "OIDC_FLOW_API" => Some(if pingfederate {
                "pingfederate".into()
            } else {
                std::env::var("OIDC_FLOW_API")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| "pingone".into())
            }),
            other => std::env::var(other).ok().filter(|v| !v.trim().is_empty()),
        })
        .map_err(|e| e.to_string())?;
        (builder, Some(provider))
    };
    let mut builder = builder;
    let worker = (
        lookup_var(&dev_provider, "WORKER_CLIENT_ID"),
        lookup_var(&dev_provider, "WORKER_CLIENT_SECRET"),
    );
    if let (Some(id), Some(secret)) = worker {
        builder = builder.worker(MANAGEMENT_WORKER, ping_oidc::WorkerConfig::new(id, secret));
    }
    if env_var("OIDC_RESOURCE_SCOPES").is_none() {
        builder = builder.resource_scopes(
            <ResourceRead as ping_oidc::RequiredScopes>::SCOPES
                .iter()
                .copied(),
        );
    }
    let config = builder
        .allowed_acr_values(
            <RecentMfa as ping_oidc::RequiredScopes>::ACR_VALUES
                .iter()
                .copied(),
        )
        .api(ping_oidc::ApiConfig::of::<OrdersRead>().resource(orders_api_resource()))
        .build()
        .map_err(|e| e.to_string())?;
    let store = std::env::var("SESSION_STORE").unwrap_or_else(|_| "memory".into());
    let mut engine = PingOidc::builder(config);
    if store.starts_with("redis://") || store.starts_with("rediss://") {
        let mut redis = RedisStore::builder(&store);
        if let Ok(path) = std::env::var("REDIS_CA_FILE") {
            let pem = std::fs::read(&path).map_err(|e| format!("REDIS_CA_FILE {path}: {e}"))?;
            redis = redis.tls_root_certificates(pem);
        }
        let redis = redis
            .connect()
            .await
            .map_err(|e| format!("SESSION_STORE: {e}"))?;
        engine = engine.store(redis);
        tracing::info!("session store: Redis (shared by every instance, sealed at rest)");
    } else if store == "memory" {
        tracing::info!(
            "session store: memory (this process only; SESSION_STORE=redis://… to share)"
        );
    } else {
        return Err(format!(
            "SESSION_STORE `{store}` is neither `memory` nor a redis:// URL"
        ));
    }
    let oidc = engine.start().await.map_err(|e| e.to_string())?;
    if let Some(provider) = &dev_provider {
        println!();
        println!(
            "  Development provider (not for production) at {}",
            provider.issuer()
        );
        println!(
            "  Open {}/ and sign in as `{DEFAULT_USERNAME}` with password `{DEFAULT_PASSWORD}`.",
            oidc.config().app_url().as_str().trim_end_matches('/')
        );
        if oidc.config().flow_api() != ping_oidc::FlowApi::Off {
            println!(
                "  Redirect-less sign-in is on (POST /auth/flow). MFA test users: `otp-user` / `otp-password`"
            );
            println!(
                "  (SMS or email, code {DEV_OTP}), `push-user` / `push-password` (push, approved after 5 s),"
            );
            println!("  `change-user` / `change-password` (must change its password).");
        }
        println!();
    }
    Ok(Example { oidc, dev_provider })
}

/// Runs `main`'s body and prints its error with `Display` (not `Debug` quotes), exiting 1.
pub fn exit_on_error(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The worker application (client credentials) the embedded development provider registers
/// for the example's `/api/devices`.
pub const DEV_WORKER_ID: &str = "ping-oidc-example-worker";
/// Its secret (a development value).
pub const DEV_WORKER_SECRET: &str = "dev-worker-secret";

/// The client the embedded development provider registers for the example.
pub const DEV_CLIENT_ID: &str = "ping-oidc-example";
/// Its secret (a development value, printed nowhere but here).
pub const DEV_CLIENT_SECRET: &str = "dev-secret";

/// A variable of the environment, unless unset or blank.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `OIDC_TOKEN_AUTH_METHOD`, read as the engine reads it (`None` when unset or unknown: the
/// engine then reports it).
fn dev_token_auth_method() -> Option<TokenAuthMethod> {
    env_var("OIDC_TOKEN_AUTH_METHOD").and_then(|m| TokenAuthMethod::parse(&m))
}

/// Registers the example client the way the environment makes the engine authenticate:
/// `OIDC_TOKEN_AUTH_METHOD` (`client_secret_post`, `client_secret_jwt` with the dev secret,
/// `private_key_jwt` with the public half of `OIDC_PRIVATE_KEY_FILE` / `OIDC_PRIVATE_KEY_ID`),
/// and with `OIDC_REQUEST_OBJECT=signed` the key too, so its request objects verify. With
/// none of them set, the client stays `client_secret_basic`.
fn dev_client_auth(client: ClientRegistration) -> Result<ClientRegistration, String> {
    let method = dev_token_auth_method();
    let mut client = match method {
        Some(TokenAuthMethod::ClientSecretPost) => client.auth_method(AuthMethod::ClientSecretPost),
        Some(TokenAuthMethod::ClientSecretJwt) => client.auth_method(AuthMethod::ClientSecretJwt),
        Some(TokenAuthMethod::PrivateKeyJwt) => ClientRegistration {
            client_secret: None,
            ..client.auth_method(AuthMethod::PrivateKeyJwt)
        },
        _ => client,
    };
    let private_key_jwt = method == Some(TokenAuthMethod::PrivateKeyJwt);
    let signed_requests = env_var("OIDC_REQUEST_OBJECT").and_then(|m| RequestObject::parse(&m))
        == Some(RequestObject::Signed);
    if private_key_jwt || signed_requests {
        let Some(path) = env_var("OIDC_PRIVATE_KEY_FILE") else {
            let setting = if private_key_jwt {
                "OIDC_TOKEN_AUTH_METHOD=private_key_jwt"
            } else {
                "OIDC_REQUEST_OBJECT=signed"
            };
            return Err(format!(
                "{setting} needs the client's private key: set OIDC_PRIVATE_KEY_FILE"
            ));
        };
        let kid = env_var("OIDC_PRIVATE_KEY_ID");
        let key =
            ping_oidc::ClientKey::from_file(&path, kid.as_deref()).map_err(|e| e.to_string())?;
        client = client.jwks(json!({ "keys": [key.public_jwk()] }));
    }
    Ok(client)
}

async fn start_dev_provider(app_url: &str, pingfederate: bool) -> Result<DevProvider, String> {
    let client = ClientRegistration::confidential(
        DEV_CLIENT_ID,
        DEV_CLIENT_SECRET,
        format!("{app_url}/auth/callback"),
    )
    .post_logout_redirect_uri(format!("{app_url}/"))
    .backchannel_logout_uri(format!("{app_url}/auth/backchannel-logout"));
    let client = dev_client_auth(client)?;
    let mut builder = DevProvider::builder()
        .client(client)
        .client(ClientRegistration::worker(DEV_WORKER_ID, DEV_WORKER_SECRET))
        .resource(orders_api_resource())
        .push_approval_delay(Some(std::time::Duration::from_secs(5)));
    if pingfederate {
        builder = builder.path_shape(PathShape::PingFederate);
    }
    for user in TestUser::flow_test_users() {
        builder = builder.user(user);
    }
    builder
        .start()
        .await
        .map_err(|e| format!("development provider: {e}"))
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
                 <p><a id=\"sign-in\" href=\"/auth/login?return_to=/profile\">Sign in</a> (on the provider's page) · \
                 <a id=\"sign-in-embedded\" href=\"/auth/signin?return_to=/profile\">Sign in here</a> (the embedded page; needs OIDC_FLOW_API)</p>"
            .to_string(),
    };
    page("ping-oidc example", &body)
}

/// Claims about the person, shown first; the rest are sign-in details.
const PERSON_CLAIMS: [&str; 10] = [
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "phone_number",
    "locale",
    "zoneinfo",
    "updated_at",
];
const TIME_CLAIMS: [&str; 4] = ["exp", "iat", "auth_time", "updated_at"];

/// `GET /profile`: the subject, the person's claims, then the sign-in details.
pub fn profile_page(user: &Authenticated) -> String {
    let claims = user.claims();
    let mut person = String::new();
    let mut details = String::new();
    for (name, value) in claims {
        let row = format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&show_claim(name, value))
        );
        if PERSON_CLAIMS.contains(&name) {
            person.push_str(&row);
        } else {
            details.push_str(&row);
        }
    }
    let body = format!(
        "<p>Subject: <code id=\"subject\">{}</code></p>\
         <h2>About you</h2><table id=\"claims\">{person}</table>\
         <h2>Sign-in details</h2><table id=\"token-claims\">{details}</table>\
         <form method=\"post\" action=\"/auth/logout\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>\
         <p><a href=\"/\">Home</a></p>",
        escape(user.subject())
    );
    page("Profile", &body)
}

fn show_claim(name: &str, value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(n) if TIME_CLAIMS.contains(&name) => {
            n.as_i64().map_or_else(|| n.to_string(), utc_time)
        }
        Value::Array(items) => items
            .iter()
            .map(|v| show_claim(name, v))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (the civil-from-days algorithm).
fn utc_time(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The name the example registers its worker under.
pub const MANAGEMENT_WORKER: &str = "management";

/// A variable of the contract, with the embedded provider's worker as the default.
fn lookup_var(dev_provider: &Option<DevProvider>, name: &str) -> Option<String> {
    let set = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (set, dev_provider) {
        (Some(value), _) => Some(value),
        (None, Some(_)) if name == "WORKER_CLIENT_ID" => Some(DEV_WORKER_ID.into()),
        (None, Some(_)) if name == "WORKER_CLIENT_SECRET" => Some(DEV_WORKER_SECRET.into()),
        _ => None,
    }
}

/// The management API's base URL and environment id: `MANAGEMENT_API_URL` (and
/// `PINGONE_ENV_ID`) when set, else read from the issuer: PingOne's
/// `https://auth.pingone.<tld>/<env>/as` gives `https://api.pingone.<tld>/v1`, and a loopback
/// issuer (the dev provider) its own host's `/v1`.
pub fn management_target(issuer: &str) -> Option<(String, String)> {
    let issuer = url::Url::parse(issuer).ok()?;
    let env_id = std::env::var("PINGONE_ENV_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            let first = issuer.path_segments()?.next()?.to_owned();
            (first.len() == 36).then_some(first)
        })
        .unwrap_or_else(|| ping_oidc_dev_provider::DEFAULT_ENV_ID.to_owned());
    if let Ok(base) = std::env::var("MANAGEMENT_API_URL") {
        if !base.trim().is_empty() {
            return Some((base.trim_end_matches('/').to_owned(), env_id));
        }
    }
    let host = issuer.host_str()?;
    let base = match host.strip_prefix("auth.pingone.") {
        Some(tld) => format!("https://api.pingone.{tld}/v1"),
        None if host == "127.0.0.1" || host == "localhost" => {
            format!("{}/v1", issuer.origin().ascii_serialization())
        }
        None => return None,
    };
    Some((base, env_id))
}

/// `GET /api/devices`: the signed-in user's MFA devices, read from the management API with
/// the worker's token. `(status, body)`.
pub async fn devices_json(user: &Authenticated) -> (u16, Value) {
    let oidc = user.engine();
    let Some(worker) = oidc.worker(MANAGEMENT_WORKER) else {
        return (
            503,
            json!({"error": "not_configured", "error_description": "Set WORKER_CLIENT_ID and WORKER_CLIENT_SECRET."}),
        );
    };
    let Some((base, env_id)) = management_target(oidc.config().issuer()) else {
        return (
            503,
            json!({"error": "not_configured", "error_description": "Set MANAGEMENT_API_URL."}),
        );
    };
    let url = format!(
        "{base}/environments/{env_id}/users/{}/devices",
        user.subject()
    );
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = HTTP.get_or_init(reqwest::Client::new);
    let request = match worker.authorize(http.get(url)).await {
        Ok(request) => request,
        Err(error) => {
            let retry = error.retry_after().map_or(5, |d| d.as_secs().max(1));
            return (
                503,
                json!({"error": "worker_token_unavailable", "error_description": error.to_string(), "retry_after": retry}),
            );
        }
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(_) => return (502, json!({"error": "management_api_unreachable"})),
    };
    let status = response.status().as_u16();
    let body: Value = match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if status != 200 {
        return (
            502,
            json!({"error": "management_api_error", "status": status}),
        );
    }
    let devices: Vec<Value> = body
        .pointer("/_embedded/devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|device| {
            let text = |name: &str| device.get(name).and_then(Value::as_str);
            let label = text("nickname")
                .or(text("phone"))
                .or(text("email"))
                .or(text("name"));
            json!({
                "id": text("id"),
                "type": text("type").map(str::to_ascii_lowercase),
                "label": label,
            })
        })
        .collect();
    (200, json!({ "devices": devices }))
}

/// `GET /api/step-up`: `{"sub", "acr", "auth_time"}` of a session that passed the step-up.
pub fn step_up_json(user: &Authenticated) -> Value {
    json!({ "sub": user.subject(), "acr": user.claim("acr"), "auth_time": user.claim("auth_time") })
}

/// `GET /api/me`: `{"sub", "claims"}`.
pub fn me_json(user: &Authenticated) -> Value {
    json!({ "sub": user.subject(), "claims": user.claims() })
}

/// `GET|POST /api/caller`: a route for both kinds of caller, this site's pages (the session
/// cookie) and API clients (a bearer token for this app's resource).
pub fn caller_json(caller: &ping_oidc::Caller) -> Value {
    match caller {
        ping_oidc::Caller::Token(token) => {
            json!({ "via": "token", "sub": token.subject(), "scope": token.scopes().join(" ") })
        }
        other => json!({ "via": "session", "sub": other.subject() }),
    }
}

/// `GET /api/resource`: who called this app's API with a bearer token, and with which scopes.
/// A struct rather than a `json!` value: serialized straight into the body, with no map built
/// first.
pub fn resource_json(token: &ping_oidc::VerifiedAccessToken) -> ResourceAnswer<'_> {
    ResourceAnswer {
        sub: token.subject(),
        scope: token.scopes().join(" "),
    }
}

/// The body of `GET /api/resource`: `{"sub", "scope"}`.
#[derive(serde::Serialize)]
pub struct ResourceAnswer<'a> {
    /// The token's `sub`.
    pub sub: Option<&'a str>,
    /// Its scopes, space-separated.
    pub scope: String,
}

/// `GET /api/orders`: the token the app would send to the orders API, by its audience and
/// scope (its own token when the provider issues one per resource).
pub fn orders_json(user: &Authenticated) -> OrdersAnswer<'_> {
    OrdersAnswer {
        user,
        token: user.token_for::<OrdersRead>(),
    }
}

/// The body of `GET /api/orders`: `{"sub", "scopes", "orders": [], "token": {"aud", "scope"}}`,
/// serialized straight from the user and the token, with no map built first.
pub struct OrdersAnswer<'a> {
    user: &'a Authenticated,
    token: ping_oidc::AccessToken,
}

impl serde::Serialize for OrdersAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// `aud` as a JWT writes it: one audience as a string, several as an array, and
        /// `null` for an opaque token.
        struct Audience<'a>(&'a [String]);
        impl serde::Serialize for Audience<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    [] => serializer.serialize_none(),
                    [one] => serializer.serialize_str(one),
                    many => many.serialize(serializer),
                }
            }
        }
        #[derive(serde::Serialize)]
        struct TokenSummary<'a> {
            aud: Audience<'a>,
            scope: String,
        }
        let no_orders: [Value; 0] = [];
        let summary = TokenSummary {
            aud: Audience(self.token.audience()),
            scope: self.token.scopes().join(" "),
        };
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("sub", self.user.subject())?;
        map.serialize_entry("scopes", self.token.scopes())?;
        map.serialize_entry("orders", &no_orders)?;
        map.serialize_entry("token", &summary)?;
        map.end()
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc_time(1_795_435_669), "2026-11-23 12:07:49 UTC");
        assert_eq!(super::utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
