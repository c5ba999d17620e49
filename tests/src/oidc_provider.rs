//! A real third-party OpenID Provider for interop tests: the npm package `oidc-provider`
//! (pinned in `tests/interop/package.json`), started by `tests/interop/server.mjs` on
//! 127.0.0.1 and shaped like PingOne or PingFederate.
//!
//! Sign-in and logout need no browser: with a cookie-keeping client that follows redirects,
//! `GET <authorize>` ends at the client's `redirect_uri?code=..&state=..&iss=..`, and
//! `GET <end session>?id_token_hint=..&post_logout_redirect_uri=..&state=..` ends the provider
//! session and redirects to `post_logout_redirect_uri?state=..`. See `tests/interop/README.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! use ping_oidc_tests::oidc_provider::{OidcProvider, OidcProviderOptions, Shape};
//! let op = OidcProvider::start(OidcProviderOptions::new(Shape::PingOne)).await?;
//! let discovery = op.discovery().await?;
//! assert_eq!(discovery["issuer"], op.issuer());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How long `start` waits for the ready line. Node starts in a second or two, but on a
/// loaded two-core machine (CI, with the other test of the pair and its apps running) a start
/// was once seen to take over 30 s.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `npm ci` may take.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(600);
/// Keep at most this much of the provider's stderr.
const STDERR_CAP: usize = 256 * 1024;

/// Default PingOne environment id used by the fixture.
pub const DEFAULT_ENV_ID: &str = "11111111-2222-3333-4444-555555555555";

/// Which Ping product the provider imitates (issuer and endpoint paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Issuer `http://127.0.0.1:<port>/<env id>/as`, endpoints `<issuer>/authorize`, ...
    PingOne,
    /// Issuer `http://127.0.0.1:<port>`, endpoints `/as/authorization.oauth2`, ...
    PingFederate,
}

impl Shape {
    /// The value of the `SHAPE` environment variable of `server.mjs`.
    pub fn as_env(self) -> &'static str {
        match self {
            Shape::PingOne => "pingone",
            Shape::PingFederate => "pingfed",
        }
    }

    /// Endpoint paths relative to the issuer, as `(discovery key, path)`.
    pub fn endpoint_paths(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Shape::PingOne => &[
                ("authorization_endpoint", "/authorize"),
                ("token_endpoint", "/token"),
                ("userinfo_endpoint", "/userinfo"),
                ("jwks_uri", "/jwks"),
                ("revocation_endpoint", "/revoke"),
                ("introspection_endpoint", "/introspect"),
                ("end_session_endpoint", "/signoff"),
                ("pushed_authorization_request_endpoint", "/par"),
            ],
            Shape::PingFederate => &[
                ("authorization_endpoint", "/as/authorization.oauth2"),
                ("token_endpoint", "/as/token.oauth2"),
                ("userinfo_endpoint", "/idp/userinfo.openid"),
                ("jwks_uri", "/pf/JWKS"),
                ("revocation_endpoint", "/as/revoke_token.oauth2"),
                ("introspection_endpoint", "/as/introspect.oauth2"),
                ("end_session_endpoint", "/idp/init_logout.openid"),
                ("pushed_authorization_request_endpoint", "/as/par.oauth2"),
            ],
        }
    }
}

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct OidcProviderOptions {
    pub shape: Shape,
    /// Seconds (`ACCESS_TOKEN_TTL`).
    pub access_token_ttl: u64,
    /// Seconds (`ID_TOKEN_TTL`).
    pub id_token_ttl: u64,
    /// Seconds (`REFRESH_TOKEN_TTL`).
    pub refresh_token_ttl: u64,
    /// Client metadata (`CLIENTS`); empty means the server's default client, the same as
    /// [`default_client`].
    pub clients: Vec<Value>,
    /// The account every sign-in completes as (`ACCOUNT_ID`, default `alice`).
    pub account_id: Option<String>,
    /// PingOne environment id (`ENV_ID`); ignored for PingFederate.
    pub env_id: Option<String>,
    /// `false` puts the granted scopes' claims in ID tokens too (`CONFORM_ID_TOKEN_CLAIMS`).
    pub conform_id_token_claims: bool,
    /// Any further environment variables for `server.mjs` (e.g. `LOG_REQUESTS=1`).
    pub extra_env: Vec<(String, String)>,
}

impl OidcProviderOptions {
    /// Defaults: TTLs 300/300/3600 s, the default client, account `alice`.
    pub fn new(shape: Shape) -> Self {
        OidcProviderOptions {
            shape,
            access_token_ttl: 300,
            id_token_ttl: 300,
            refresh_token_ttl: 3600,
            clients: Vec::new(),
            account_id: None,
            env_id: None,
            conform_id_token_claims: true,
            extra_env: Vec::new(),
        }
    }

    pub fn pingone() -> Self {
        Self::new(Shape::PingOne)
    }

    pub fn pingfed() -> Self {
        Self::new(Shape::PingFederate)
    }

    /// Adds a client (replacing the default one once any is added).
    pub fn with_client(mut self, client: Value) -> Self {
        self.clients.push(client);
        self
    }
}

impl Default for OidcProviderOptions {
    fn default() -> Self {
        Self::new(Shape::PingOne)
    }
}

/// The server's default client: `rp` / `rp-secret`, `client_secret_basic`, redirect
/// `http://127.0.0.1:3000/auth/callback`, post-logout `http://127.0.0.1:3000/`.
pub fn default_client() -> Value {
    json!({
        "client_id": "rp",
        "client_secret": "rp-secret",
        "redirect_uris": ["http://127.0.0.1:3000/auth/callback"],
        "post_logout_redirect_uris": ["http://127.0.0.1:3000/"],
        "token_endpoint_auth_method": "client_secret_basic",
    })
}

/// A confidential client with the given authentication method
/// (`client_secret_basic` or `client_secret_post`).
pub fn confidential_client(
    client_id: &str,
    secret: &str,
    auth_method: &str,
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
) -> Value {
    json!({
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout_redirect_uri],
        "token_endpoint_auth_method": auth_method,
    })
}

/// A public client (`token_endpoint_auth_method: none`).
pub fn public_client(client_id: &str, redirect_uri: &str, post_logout_redirect_uri: &str) -> Value {
    json!({
        "client_id": client_id,
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout_redirect_uri],
        "token_endpoint_auth_method": "none",
    })
}

/// `GET /__test/stats`: requests that reached each endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProviderStats {
    pub token: TokenStats,
    /// Token responses with status >= 400.
    pub token_errors: u64,
    pub revocations: u64,
    #[serde(default)]
    pub introspections: u64,
    /// JWKS fetches.
    #[serde(default)]
    pub jwks: u64,
    pub end_sessions: u64,
    /// Calls to PingFederate's `startSLO.ping` (with `END_SESSION=ping`).
    #[serde(default)]
    pub ping_slo: u64,
    pub userinfo: u64,
    #[serde(default)]
    pub backchannel_logouts: BackchannelStats,
    /// Successful client authentications, keyed `"<endpoint> <method>"` (e.g.
    /// `"token private_key_jwt"`).
    #[serde(default)]
    pub client_auth: std::collections::BTreeMap<String, u64>,
}

/// Token requests by the `grant_type` of their body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenStats {
    pub authorization_code: u64,
    pub refresh_token: u64,
    pub other: u64,
}

/// Back-channel logout deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BackchannelStats {
    pub success: u64,
    pub error: u64,
}

/// `GET /__test/sessions`: live, logged-in provider sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProviderSessions {
    pub active: u64,
    pub accounts: BTreeMap<String, u64>,
}

impl ProviderSessions {
    /// Whether `account_id` has at least one live provider session.
    pub fn has(&self, account_id: &str) -> bool {
        self.accounts.get(account_id).copied().unwrap_or(0) > 0
    }
}

/// A running `oidc-provider`; the process is killed on drop.
pub struct OidcProvider {
    child: Child,
    shape: Shape,
    issuer: String,
    base_url: String,
    port: u16,
    http: reqwest::Client,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("shape", &self.shape)
            .field("issuer", &self.issuer)
            .field("pid", &self.child.id())
            .finish()
    }
}

/// `tests/interop`, where `server.mjs` and `package.json` live.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn node_program() -> String {
    std::env::var("NODE").unwrap_or_else(|_| "node".to_owned())
}

fn npm_program() -> String {
    std::env::var("NPM").unwrap_or_else(|_| "npm".to_owned())
}

/// The exact `oidc-provider` version `package.json` asks for.
fn pinned_version(dir: &Path) -> Result<String, String> {
    let path = dir.join("package.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let manifest: Value =
        serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    manifest["dependencies"]["oidc-provider"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} has no oidc-provider dependency", path.display()))
}

/// The installed `oidc-provider` version, if any.
fn installed_version(dir: &Path) -> Option<String> {
    let path = dir.join("node_modules/oidc-provider/package.json");
    let text = std::fs::read_to_string(path).ok()?;
    let manifest: Value = serde_json::from_str(&text).ok()?;
    manifest["version"].as_str().map(str::to_owned)
}

/// Runs `npm ci` in `tests/interop` unless the pinned `oidc-provider` is already installed.
/// Serialised within the process, so parallel tests install once.
pub async fn ensure_installed() -> Result<(), String> {
    static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = INSTALL.lock().await;

    let dir = interop_dir();
    let wanted = pinned_version(&dir)?;
    if installed_version(&dir).as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }

    let mut cmd = Command::new(npm_program());
    cmd.arg("ci")
        .arg("--no-audit")
        .arg("--no-fund")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(NPM_CI_TIMEOUT, cmd.output())
        .await
        .map_err(|_| format!("`npm ci` in {} timed out", dir.display()))?
        .map_err(|e| {
            format!(
                "cannot run `npm ci` in {} (is Node.js installed?): {e}",
                dir.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    match installed_version(&dir) {
        Some(v) if v == wanted => Ok(()),
        other => Err(format!(
            "`npm ci` finished but oidc-provider {wanted} is not installed (found {other:?})"
        )),
    }
}

/// Copies a pipe into `sink` (capped), optionally echoing it to the test's stderr.
fn collect_stream<R>(reader: R, sink: Arc<Mutex<String>>, echo: bool)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("[oidc-provider] {line}");
            }
            let mut buf = sink.lock().unwrap_or_else(|p| p.into_inner());
            if buf.len() < STDERR_CAP {
                buf.push_str(&line);
                buf.push('\n');
            }
        }
    });
}

impl OidcProvider {
    /// Installs the npm package if needed, starts `node server.mjs` and waits (60 s at most)
    /// for its ready line.
    pub async fn start(opts: OidcProviderOptions) -> Result<Self, String> {
        ensure_installed().await?;
        let dir = interop_dir();

        let mut cmd = Command::new(node_program());
        cmd.arg("server.mjs")
            .current_dir(&dir)
            .env("SHAPE", opts.shape.as_env())
            .env("PORT", "0")
            .env("ACCESS_TOKEN_TTL", opts.access_token_ttl.to_string())
            .env("ID_TOKEN_TTL", opts.id_token_ttl.to_string())
            .env("REFRESH_TOKEN_TTL", opts.refresh_token_ttl.to_string())
            .env(
                "CONFORM_ID_TOKEN_CLAIMS",
                if opts.conform_id_token_claims {
                    "true"
                } else {
                    "false"
                },
            )
            .env_remove("CLIENTS")
            .env_remove("ACCOUNT_ID")
            .env_remove("ENV_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if !opts.clients.is_empty() {
            cmd.env("CLIENTS", Value::Array(opts.clients.clone()).to_string());
        }
        if let Some(account) = &opts.account_id {
            cmd.env("ACCOUNT_ID", account);
        }
        if let Some(env_id) = &opts.env_id {
            cmd.env("ENV_ID", env_id);
        }
        for (key, value) in &opts.extra_env {
            cmd.env(key, value);
        }

        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `node server.mjs` in {}: {e}", dir.display()))?;

        let echo = std::env::var_os("OIDC_PROVIDER_LOG").is_some();
        let stderr = Arc::new(Mutex::new(String::new()));
        collect_stream(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
            echo,
        );
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();

        let mut noise = String::new();
        let wait_ready = async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if let Ok(v) = serde_json::from_str::<Value>(&line) {
                            if v["ready"] == Value::Bool(true) {
                                return Ok(v);
                            }
                        }
                        noise.push_str(&line);
                        noise.push('\n');
                    }
                    Ok(None) => return Err("stdout closed before the ready line".to_owned()),
                    Err(e) => return Err(format!("reading stdout: {e}")),
                }
            }
        };
        let ready = tokio::time::timeout(READY_TIMEOUT, wait_ready).await;

        let fail = |child: &mut Child, why: String, noise: &str| {
            let _ = child.start_kill();
            let status = child.try_wait().ok().flatten();
            let err = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
            format!(
                "oidc-provider did not start: {why} (exit status: {status:?})\n--- stdout ---\n{noise}--- stderr ---\n{err}"
            )
        };
        let ready = match ready {
            Ok(Ok(v)) => v,
            Ok(Err(why)) => {
                // give the stderr reader a moment to catch the crash message
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Err(fail(&mut child, why, &noise));
            }
            Err(_) => {
                return Err(fail(
                    &mut child,
                    format!("no ready line within {READY_TIMEOUT:?}"),
                    &noise,
                ))
            }
        };

        // Nothing else is expected on stdout; keep draining it so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let issuer = ready["issuer"]
            .as_str()
            .ok_or_else(|| format!("ready line without issuer: {ready}"))?
            .to_owned();
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("ready line without port: {ready}"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;

        Ok(OidcProvider {
            child,
            shape: opts.shape,
            issuer,
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            http,
            stderr,
        })
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The issuer identifier, e.g. `http://127.0.0.1:PORT/<env>/as` or `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `http://127.0.0.1:PORT` (where the `/__test/` hooks live).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// The expected URL of an endpoint by its discovery key (`token_endpoint`, ...), from the
    /// shape's fixed layout (no request made).
    pub fn endpoint_url(&self, key: &str) -> Option<String> {
        self.shape
            .endpoint_paths()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, path)| format!("{}{path}", self.issuer))
    }

    /// What the provider printed on stderr so far (capped).
    pub fn stderr_log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| format!("GET {url}: reading body: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}: {body}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("GET {url}: not JSON ({e}): {body}"))
    }

    async fn hook<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", self.base_url);
        let value = self.get_json(&url).await?;
        serde_json::from_value(value).map_err(|e| format!("GET {url}: unexpected shape: {e}"))
    }

    /// The discovery document.
    pub async fn discovery(&self) -> Result<Value, String> {
        self.get_json(&self.discovery_url()).await
    }

    /// An endpoint URL as advertised by discovery.
    pub async fn discovered_endpoint(&self, key: &str) -> Result<String, String> {
        let doc = self.discovery().await?;
        doc[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("discovery has no {key}: {doc}"))
    }

    /// `GET /__test/stats`.
    pub async fn stats(&self) -> Result<ProviderStats, String> {
        self.hook("/__test/stats").await
    }

    /// `POST /__test/sign`: a JWT with `claims`, signed with the provider's own key (the
    /// one its JWKS serves), for bearer tests that need claims the provider never issues.
    pub async fn sign(&self, claims: &Value) -> Result<String, String> {
        let url = format!("{}/__test/sign", self.base_url);
        let response = self
            .http
            .post(&url)
            .json(claims)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        body["jwt"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("POST {url}: no jwt in {body}"))
    }

    /// `POST /__test/reset`: zero the counters.
    pub async fn reset_stats(&self) -> Result<(), String> {
        self.post_hook("/__test/reset", &json!({})).await
    }

    /// POSTs `body` as JSON to a test hook and checks for success.
    async fn post_hook(&self, path: &str, body: &Value) -> Result<(), String> {
        let url = format!("{}{path}", self.base_url);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("POST {url}: HTTP {}", response.status()));
        }
        Ok(())
    }

    /// `GET /__test/revoked-tokens`: the `token` of every revocation request, in order.
    pub async fn revoked_tokens(&self) -> Result<Vec<String>, String> {
        self.hook("/__test/revoked-tokens").await
    }

    /// `POST /__test/next-login`: ends every provider session and makes the next login
    /// interaction complete as `account_id`.
    pub async fn next_login_as(&self, account_id: &str) -> Result<(), String> {
        let body = json!({ "account_id": account_id });
        self.post_hook("/__test/next-login", &body).await
    }

    /// `GET /__test/refresh-tokens`: every refresh token issued so far, newest last.
    pub async fn refresh_tokens(&self) -> Result<Vec<String>, String> {
        self.hook("/__test/refresh-tokens").await
    }

    /// `GET /__test/sessions`: live provider sessions per account.
    pub async fn sessions(&self) -> Result<ProviderSessions, String> {
        self.hook("/__test/sessions").await
    }

    /// POSTs a token to an endpoint discovered under `key`, authenticating as the client:
    /// HTTP Basic with a secret, `client_id` in the body without one (public client).
    async fn client_post(
        &self,
        key: &str,
        form: &[(&str, &str)],
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<(reqwest::StatusCode, String), String> {
        let url = self.discovered_endpoint(key).await?;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(&url);
        match secret {
            Some(secret) => {
                request = request.basic_auth(form_encode(client_id), Some(form_encode(secret)))
            }
            None => fields.push(("client_id", client_id)),
        }
        let response = request
            .form(&fields)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| format!("POST {url}: reading body: {e}"))?;
        Ok((status, body))
    }

    /// An endpoint from the provider's discovery document, such as `token_endpoint`.
    pub async fn endpoint(&self, key: &str) -> Result<String, String> {
        self.discovered_endpoint(key).await
    }

    /// Calls the real introspection endpoint (RFC 7662) as the given client.
    pub async fn introspect(
        &self,
        token: &str,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Value, String> {
        let (status, body) = self
            .client_post(
                "introspection_endpoint",
                &[("token", token)],
                client_id,
                secret,
            )
            .await?;
        if !status.is_success() {
            return Err(format!("introspection: HTTP {status}: {body}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("introspection: not JSON ({e}): {body}"))
    }

    /// Calls the real revocation endpoint (RFC 7009) as the given client.
    pub async fn revoke(
        &self,
        token: &str,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<(), String> {
        let (status, body) = self
            .client_post(
                "revocation_endpoint",
                &[("token", token)],
                client_id,
                secret,
            )
            .await?;
        if !status.is_success() {
            return Err(format!("revocation: HTTP {status}: {body}"));
        }
        Ok(())
    }

    /// Follows redirects with `browser` (which must keep cookies and must NOT follow redirects
    /// itself, see [`browser`]) from `url` for as long as they stay on this provider, and
    /// returns the first URL off it: the client's `redirect_uri?code=..&state=..&iss=..` after
    /// an authorization request, or `post_logout_redirect_uri?state=..` after logout.
    pub async fn follow_to_client(
        &self,
        browser: &reqwest::Client,
        url: &str,
    ) -> Result<url::Url, String> {
        let origin = url::Url::parse(&self.base_url)
            .map_err(|e| e.to_string())?
            .origin();
        let mut current = url::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
        for _ in 0..20 {
            if current.origin() != origin {
                return Ok(current);
            }
            let response = browser
                .get(current.clone())
                .send()
                .await
                .map_err(|e| format!("GET {current}: {e}"))?;
            let status = response.status();
            if !status.is_redirection() {
                let body = response.text().await.unwrap_or_default();
                return Err(format!(
                    "GET {current}: HTTP {status} instead of a redirect: {body}"
                ));
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("GET {current}: HTTP {status} without Location"))?;
            current = current
                .join(location)
                .map_err(|e| format!("GET {current}: bad Location {location:?}: {e}"))?;
        }
        Err(format!("too many redirects, last at {current}"))
    }
}

/// A stand-in for the end user's browser: keeps cookies, does not follow redirects (use
/// [`OidcProvider::follow_to_client`]).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("building a reqwest client")
}

/// `application/x-www-form-urlencoded` encoding, as RFC 6749 2.3.1 asks for the Basic
/// credentials of a client.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        // kill_on_drop(true) also covers this; being explicit makes the kill immediate.
        let _ = self.child.start_kill();
    }
}
