//! The example apps under test, one per adapter, each on its own loopback port.

use std::sync::Arc;

use ping_oidc::store::SessionStore;
use ping_oidc::test_util::TestClock;
use ping_oidc::{Config, ConfigBuilder, PingOidc};

/// The key the tests give `SESSION_KEY`.
pub const TEST_SESSION_KEY: &str = "test-session-key-0123456789abcdef-0123456789abcdef";

/// Which adapter serves the example site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    Axum,
    Actix,
}

/// A bound port, before the app starts: the provider needs the redirect URI first.
pub struct AppSlot {
    listener: std::net::TcpListener,
    pub base: String,
}

impl AppSlot {
    pub fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().expect("local address").port();
        Self {
            listener,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn callback_url(&self) -> String {
        format!("{}/auth/callback", self.base)
    }

    pub fn home_url(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn backchannel_url(&self) -> String {
        format!("{}/auth/backchannel-logout", self.base)
    }

    /// A config builder for this slot: the issuer, client `rp`/`rp-secret`, the test key.
    pub fn config(&self, issuer: &str) -> ConfigBuilder {
        Config::builder()
            .issuer(issuer)
            .client_id("rp")
            .client_secret("rp-secret")
            .app_url(self.base.clone())
            .session_key(TEST_SESSION_KEY)
            .scopes(["profile", "email"])
            // The example's `/api/orders`, served by the session's token (no resource).
            .api(ping_oidc::ApiConfig::of::<ping_oidc_example_site::OrdersRead>())
            .allowed_acr_values(["Multi_Factor"])
    }

    /// Like [`AppSlot::config`] for the public client `rp` (no secret: `none` and PKCE).
    pub fn public_config(&self, issuer: &str) -> ConfigBuilder {
        Config::builder()
            .issuer(issuer)
            .client_id("rp")
            .app_url(self.base.clone())
            .session_key(TEST_SESSION_KEY)
            .scopes(["profile", "email"])
            .api(ping_oidc::ApiConfig::of::<ping_oidc_example_site::OrdersRead>())
            .allowed_acr_values(["Multi_Factor"])
    }

    /// Starts the engine and serves the example site with `adapter`.
    pub async fn start(
        self,
        adapter: Adapter,
        config: ConfigBuilder,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<TestApp, String> {
        self.start_with_clock(adapter, config, store, &TestClock::new())
            .await
    }

    /// Like [`AppSlot::start`], the engine reading the time from `clock` (which the case
    /// moves forward instead of sleeping until something expires).
    pub async fn start_with_clock(
        self,
        adapter: Adapter,
        config: ConfigBuilder,
        store: Option<Arc<dyn SessionStore>>,
        clock: &TestClock,
    ) -> Result<TestApp, String> {
        let config = config.build().map_err(|e| e.to_string())?;
        let mut builder = PingOidc::builder(config).clock(clock.clone());
        if let Some(store) = store {
            builder = builder.shared_store(store);
        }
        let oidc = builder.start().await.map_err(|e| e.to_string())?;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let server = match adapter {
            Adapter::Axum => {
                let listener =
                    tokio::net::TcpListener::from_std(self.listener).map_err(|e| e.to_string())?;
                let router = ping_oidc_example_axum::router(oidc.clone());
                Server::Tokio(tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                }))
            }
            Adapter::Actix => {
                // Its own OS thread and actix system, as a real actix-web deployment runs.
                let server = ping_oidc_example_actix::spawn(self.listener, oidc.clone())
                    .map_err(|e| e.to_string())?;
                Server::Actix(Some(server))
            }
        };
        Ok(TestApp {
            base: self.base,
            oidc,
            _server: server,
        })
    }
}

impl Default for AppSlot {
    fn default() -> Self {
        Self::new()
    }
}

enum Server {
    Tokio(tokio::task::JoinHandle<()>),
    Actix(Option<ping_oidc_example_actix::RunningServer>),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::Tokio(task) => task.abort(),
            // Stopping joins the server thread: do it off the async runtime's threads.
            Server::Actix(server) => {
                if let Some(server) = server.take() {
                    std::thread::spawn(move || drop(server));
                }
            }
        }
    }
}

/// A running example app.
pub struct TestApp {
    pub base: String,
    pub oidc: PingOidc,
    _server: Server,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
