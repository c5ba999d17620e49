//! A stand-in for the user's browser: keeps cookies, never follows redirects by itself, and
//! sends navigation or fetch headers as asked.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::LOCATION;
use reqwest::Response;

use crate::app::TestApp;

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
}

/// Something that can take a browser from an authorization URL to the app's callback URL.
pub trait SignInProvider {
    fn authorize(
        &self,
        browser: &Browser,
        authorize_url: &str,
    ) -> impl std::future::Future<Output = Result<url::Url, String>> + Send;
}

impl SignInProvider for crate::oidc_provider::OidcProvider {
    async fn authorize(&self, browser: &Browser, authorize_url: &str) -> Result<url::Url, String> {
        self.follow_to_client(&browser.client, authorize_url).await
    }
}

/// The dev provider signing in the named user instead of the default one.
pub struct SignInAs<'a>(pub &'a ping_oidc_dev_provider::DevProvider, pub &'a str);

impl SignInProvider for SignInAs<'_> {
    async fn authorize(&self, _browser: &Browser, authorize_url: &str) -> Result<url::Url, String> {
        self.0
            .sign_in(authorize_url, self.1)
            .map_err(|e| e.to_string())
    }
}

impl SignInProvider for ping_oidc_dev_provider::DevProvider {
    /// Signs the default user in programmatically, as the dev provider's library API offers.
    async fn authorize(&self, _browser: &Browser, authorize_url: &str) -> Result<url::Url, String> {
        self.sign_in(authorize_url, ping_oidc_dev_provider::DEFAULT_USERNAME)
            .map_err(|e| e.to_string())
    }
}

impl Browser {
    pub fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("building the test browser");
        Self { client, jar }
    }

    /// A fetch/XHR-style request.
    pub async fn fetch(&self, url: &str) -> Response {
        self.client
            .get(url)
            .header("accept", "application/json")
            .header("sec-fetch-mode", "cors")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// A top-level navigation.
    pub async fn navigate(&self, url: &str) -> Response {
        self.client
            .get(url)
            .header("accept", "text/html")
            .header("sec-fetch-mode", "navigate")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// The sign-out button: a same-origin form POST.
    pub async fn sign_out(&self, app: &TestApp) -> Response {
        self.client
            .post(app.url("/auth/logout"))
            .header("accept", "text/html")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-site", "same-origin")
            .header("origin", app.base.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /auth/logout: {e}"))
    }

    /// The `Cookie` header the browser would send to `url`.
    pub fn cookie_header(&self, url: &str) -> String {
        let url = url::Url::parse(url).expect("url");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .unwrap_or_default()
    }

    /// The value of one cookie the browser would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let header = self.cookie_header(url);
        header
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// Starts sign-in at the app and returns the provider's callback URL (not yet visited).
    pub async fn start_sign_in(
        &self,
        app: &TestApp,
        provider: &impl SignInProvider,
        login_path: &str,
    ) -> Result<url::Url, String> {
        let response = self.navigate(&app.url(login_path)).await;
        if response.status() != 302 {
            return Err(format!(
                "{login_path}: expected 302, got {}",
                response.status()
            ));
        }
        let authorize = location(&response).ok_or("login: no Location")?;
        provider.authorize(self, &authorize).await
    }

    /// A whole sign-in; returns where the app sends the browser afterwards.
    pub async fn sign_in(
        &self,
        app: &TestApp,
        provider: &impl SignInProvider,
        return_to: &str,
    ) -> Result<String, String> {
        let login = format!(
            "/auth/login?return_to={}",
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        let callback = self.start_sign_in(app, provider, &login).await?;
        let response = self.navigate(callback.as_str()).await;
        if response.status() != 303 {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(format!("callback: expected 303, got {status}: {body}"));
        }
        location(&response).ok_or_else(|| "callback: no Location".to_string())
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

pub fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Every `Set-Cookie` of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}
