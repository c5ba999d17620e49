//! Configuration types: path shape, signing algorithm, test users and client registrations.

use std::fmt;

use serde_json::{Map, Value};

/// Environment id used by [`PathShape::default`]: a fixed, obviously fake PingOne environment id.
pub const DEFAULT_ENV_ID: &str = "00000000-0000-4000-8000-000000000001";

/// Username of the test user that exists when the builder is given no user.
pub const DEFAULT_USERNAME: &str = "alice";

/// Password of the default test user ([`DEFAULT_USERNAME`]). Public on purpose: this is a
/// development provider.
pub const DEFAULT_PASSWORD: &str = "alice-password";

/// Which Ping product the URL layout imitates.
///
/// ```
/// use ping_oidc_dev_provider::PathShape;
///
/// let pingone = PathShape::PingOne { env_id: "my-env".into() };
/// let pingfederate = PathShape::PingFederate;
/// assert_ne!(pingone, pingfederate);
/// assert_eq!(PathShape::default(), PathShape::pingone(ping_oidc_dev_provider::DEFAULT_ENV_ID));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathShape {
    /// PingOne: issuer `http://127.0.0.1:<port>/<env_id>/as`, endpoints `/<env_id>/as/...`.
    PingOne {
        /// The environment id, the first path segment. Letters, digits, `-`, `_` and `.` only.
        env_id: String,
    },
    /// PingFederate: issuer `http://127.0.0.1:<port>`, endpoints `/as/*.oauth2`,
    /// `/idp/userinfo.openid`, `/pf/JWKS`, `/idp/init_logout.openid`, `/idp/startSLO.ping`.
    PingFederate,
}

impl PathShape {
    /// Shorthand for [`PathShape::PingOne`].
    ///
    /// ```
    /// let shape = ping_oidc_dev_provider::PathShape::pingone("env-1");
    /// assert!(matches!(shape, ping_oidc_dev_provider::PathShape::PingOne { .. }));
    /// ```
    pub fn pingone(env_id: impl Into<String>) -> Self {
        PathShape::PingOne {
            env_id: env_id.into(),
        }
    }
}

impl Default for PathShape {
    fn default() -> Self {
        PathShape::pingone(DEFAULT_ENV_ID)
    }
}

/// JWS algorithm used to sign ID tokens, access tokens and logout tokens.
///
/// ```
/// use ping_oidc_dev_provider::SigningAlg;
/// assert_eq!(SigningAlg::RS256.as_str(), "RS256");
/// assert_eq!(SigningAlg::default(), SigningAlg::RS256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit public test keys shipped with the crate).
    #[default]
    RS256,
    /// ECDSA P-256 with SHA-256 (keys generated at start and at rotation).
    ES256,
}

impl SigningAlg {
    /// The JOSE name (`"RS256"` or `"ES256"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token, introspection and revocation endpoints.
///
/// ```
/// use ping_oidc_dev_provider::AuthMethod;
/// assert_eq!(AuthMethod::default(), AuthMethod::ClientSecretBasic);
/// assert_eq!(AuthMethod::None.as_str(), "none");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// Public client: `client_id` in the body, no secret (PKCE is mandatory anyway).
    None,
}

impl AuthMethod {
    /// The registered name (`client_secret_basic`, `client_secret_post`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// A user who can sign in at the development provider.
///
/// ```
/// use ping_oidc_dev_provider::TestUser;
///
/// let bob = TestUser::new("bob", "bob-password")
///     .claim("email", "bob@example.com")
///     .claim("email_verified", true)
///     .claim("groups", serde_json::json!(["admins"]));
/// assert_eq!(bob.username(), "bob");
/// // The subject is stable: derived from the username unless set with `.sub(...)`.
/// assert_eq!(bob.subject(), TestUser::new("bob", "other").subject());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TestUser {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) sub: String,
    pub(crate) claims: Map<String, Value>,
}

impl TestUser {
    /// A user with the given username and password. The subject is a UUID derived from the
    /// username (stable across runs); no other claims are set.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        let username = username.into();
        let sub = stable_subject(&username);
        TestUser {
            username,
            password: password.into(),
            sub,
            claims: Map::new(),
        }
    }

    /// The default user: `alice` / `alice-password`, with name, email and preferred_username.
    ///
    /// ```
    /// let alice = ping_oidc_dev_provider::TestUser::default_user();
    /// assert_eq!(alice.username(), ping_oidc_dev_provider::DEFAULT_USERNAME);
    /// ```
    pub fn default_user() -> Self {
        TestUser::new(DEFAULT_USERNAME, DEFAULT_PASSWORD)
            .claim("name", "Alice Example")
            .claim("given_name", "Alice")
            .claim("family_name", "Example")
            .claim("preferred_username", DEFAULT_USERNAME)
            .claim("email", "alice@example.com")
            .claim("email_verified", true)
    }

    /// Sets the subject (`sub`) explicitly.
    ///
    /// ```
    /// let u = ping_oidc_dev_provider::TestUser::new("carol", "pw").sub("user-123");
    /// assert_eq!(u.subject(), "user-123");
    /// ```
    #[allow(clippy::should_implement_trait)] // builder-style setter named after the claim
    pub fn sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = sub.into();
        self
    }

    /// Adds a claim. Standard claims are released by scope (`profile`: name, given_name,
    /// family_name, preferred_username, ...; `email`: email, email_verified; `address`;
    /// `phone`: phone_number, phone_number_verified); any other claim is always released in the
    /// ID token and at userinfo. Protocol claims (`iss`, `sub`, `aud`, `exp`, ...) are ignored.
    ///
    /// ```
    /// let u = ping_oidc_dev_provider::TestUser::new("dave", "pw").claim("name", "Dave");
    /// assert_eq!(u.claims()["name"], "Dave");
    /// ```
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// The username typed on the sign-in page.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The subject identifier (`sub`).
    pub fn subject(&self) -> &str {
        &self.sub
    }

    /// The extra claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

/// A UUID-shaped subject derived from the username with SHA-256 (stable across runs).
fn stable_subject(username: &str) -> String {
    let mut input = b"ping-oidc-dev-provider|".to_vec();
    input.extend_from_slice(username.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A relying party registered at the development provider.
///
/// Fields are public so a registration can be written as a literal with
/// `..Default::default()`; the constructors cover the common cases.
///
/// ```
/// use ping_oidc_dev_provider::{AuthMethod, ClientRegistration};
///
/// let web = ClientRegistration::confidential("web-app", "s3cret", "http://127.0.0.1:3000/auth/callback")
///     .post_logout_redirect_uri("http://127.0.0.1:3000/")
///     .backchannel_logout_uri("http://127.0.0.1:3000/auth/backchannel-logout");
/// assert_eq!(web.auth_method, AuthMethod::ClientSecretBasic);
///
/// let spa = ClientRegistration {
///     client_id: "public-app".into(),
///     redirect_uris: vec!["http://127.0.0.1:5173/cb".into()],
///     auth_method: AuthMethod::None,
///     ..Default::default()
/// };
/// assert!(spa.client_secret.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientRegistration {
    /// The client id.
    pub client_id: String,
    /// The secret; required for `client_secret_basic` / `client_secret_post`, must be `None`
    /// for `none`.
    pub client_secret: Option<String>,
    /// Registered redirect URIs (exact string match).
    pub redirect_uris: Vec<String>,
    /// Registered `post_logout_redirect_uri` values (exact string match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are POSTed (`http://` loopback URIs only).
    pub backchannel_logout_uri: Option<String>,
    /// Token endpoint authentication method.
    pub auth_method: AuthMethod,
    /// Scopes the client may request; `None` allows every supported scope
    /// (`openid profile email address phone offline_access`).
    pub allowed_scopes: Option<Vec<String>>,
    /// Per-client ID token / logout token signing algorithm; `None` uses the provider's.
    pub signing_alg: Option<SigningAlg>,
}

impl ClientRegistration {
    /// A confidential client using `client_secret_basic`.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            redirect_uris: vec![redirect_uri.into()],
            auth_method: AuthMethod::ClientSecretBasic,
            ..Default::default()
        }
    }

    /// A public client (`token_endpoint_auth_method=none`).
    ///
    /// ```
    /// let c = ping_oidc_dev_provider::ClientRegistration::public("spa", "http://127.0.0.1:5173/cb");
    /// assert_eq!(c.auth_method, ping_oidc_dev_provider::AuthMethod::None);
    /// ```
    pub fn public(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            redirect_uris: vec![redirect_uri.into()],
            auth_method: AuthMethod::None,
            ..Default::default()
        }
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Adds a post-logout redirect URI.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Sets the back-channel logout URI.
    pub fn backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uri = Some(uri.into());
        self
    }

    /// Sets the token endpoint authentication method.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Restricts the scopes the client may request.
    pub fn allowed_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Signs this client's ID tokens and logout tokens with `alg`.
    pub fn signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = Some(alg);
        self
    }

    /// Checks the registration is usable.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.client_id.is_empty() {
            return Err("client_id must not be empty".into());
        }
        if self.redirect_uris.is_empty() {
            return Err(format!(
                "client {:?} needs at least one redirect URI",
                self.client_id
            ));
        }
        match (self.auth_method, &self.client_secret) {
            (AuthMethod::None, Some(_)) => {
                return Err(format!(
                    "client {:?} uses auth method none but has a secret",
                    self.client_id
                ))
            }
            (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost, None) => {
                return Err(format!(
                    "client {:?} uses {} but has no secret",
                    self.client_id,
                    self.auth_method.as_str()
                ))
            }
            _ => {}
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(self.post_logout_redirect_uris.iter())
            .chain(self.backchannel_logout_uri.iter())
        {
            let parsed = url::Url::parse(uri)
                .map_err(|e| format!("client {:?}: bad URI {uri:?}: {e}", self.client_id))?;
            if parsed.fragment().is_some() {
                return Err(format!(
                    "client {:?}: URI {uri:?} must not have a fragment",
                    self.client_id
                ));
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            crate::logout::check_loopback_http(uri)
                .map_err(|e| format!("client {:?}: backchannel_logout_uri: {e}", self.client_id))?;
        }
        Ok(())
    }
}
