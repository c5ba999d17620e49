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

/// The one-time passcode every MFA device accepts in the Flow API emulation
/// (`response_mode=pi.flow`). Public on purpose: this is a development provider.
///
/// ```
/// assert_eq!(ping_oidc_dev_provider::DEV_OTP, "123456");
/// ```
pub const DEV_OTP: &str = "123456";

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
/// assert_eq!(AuthMethod::PrivateKeyJwt.as_str(), "private_key_jwt");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A client assertion (RFC 7523 §2.2, OIDC Core §9) signed with HMAC (`HS256`, `HS384`
    /// or `HS512`) under the client secret's UTF-8 bytes: form fields
    /// `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
    /// `client_assertion`. Needs [`ClientRegistration::client_secret`].
    ClientSecretJwt,
    /// A client assertion signed with the client's private key (`RS256`/`384`/`512`,
    /// `PS256`/`384`/`512` or `ES256`), verified with the public keys in
    /// [`ClientRegistration::jwks`] (the key whose `kid` matches, or the only one). Needs
    /// `jwks`.
    PrivateKeyJwt,
    /// Public client: `client_id` in the body, no secret (PKCE is mandatory anyway).
    None,
}

impl AuthMethod {
    /// The registered name (`client_secret_basic`, `client_secret_post`, `client_secret_jwt`,
    /// `private_key_jwt`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
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
    pub(crate) devices: Vec<MfaDevice>,
    pub(crate) must_change_password: bool,
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
            devices: Vec::new(),
            must_change_password: false,
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

    /// Adds an MFA device, used only by the Flow API emulation (`response_mode=pi.flow`); the
    /// redirect sign-in page keeps checking the password only. With two or more devices the
    /// flow asks which one to use; the default is the one marked with
    /// [`MfaDevice::default_device`], else the first. Every device accepts [`DEV_OTP`]; a push
    /// device waits for [`DevProvider::approve_push`](crate::DevProvider::approve_push).
    ///
    /// ```
    /// use ping_oidc_dev_provider::{MfaDevice, TestUser};
    /// let u = TestUser::new("mfa", "mfa-password")
    ///     .device(MfaDevice::sms("+1 555 0100"))
    ///     .device(MfaDevice::email("mfa@example.com").default_device());
    /// assert_eq!(u.devices().len(), 2);
    /// assert!(u.devices()[1].is_default());
    /// ```
    pub fn device(mut self, device: MfaDevice) -> Self {
        let mut device = device;
        let n = self.devices.len();
        device.id = stable_subject(&format!("{}|device|{n}", self.username));
        self.devices.push(device);
        self
    }

    /// Makes the Flow API emulation ask for a new password after the password check
    /// (`MUST_CHANGE_PASSWORD`). A successful change updates the user's password in the
    /// running provider and clears the flag.
    ///
    /// ```
    /// let u = ping_oidc_dev_provider::TestUser::new("old", "old-password").must_change_password();
    /// assert!(u.password_change_required());
    /// ```
    pub fn must_change_password(mut self) -> Self {
        self.must_change_password = true;
        self
    }

    /// The MFA devices, in the order added.
    pub fn devices(&self) -> &[MfaDevice] {
        &self.devices
    }

    /// Whether the next flow sign-in must change the password.
    pub fn password_change_required(&self) -> bool {
        self.must_change_password
    }

    /// The users registered by the `ping-oidc-dev-provider` binary, covering every Flow API
    /// path (all with `name`, `preferred_username`, `email` and `email_verified` claims):
    ///
    /// | username | password | devices / extra step |
    /// |---|---|---|
    /// | `alice` | `alice-password` | none ([`TestUser::default_user`]) |
    /// | `otp-user` | `otp-password` | SMS `+1 555 0100` (default), email `otp-user@example.com` |
    /// | `push-user` | `push-password` | one push device `Pixel 9` |
    /// | `change-user` | `change-password` | must change the password first |
    ///
    /// ```
    /// let users = ping_oidc_dev_provider::TestUser::flow_test_users();
    /// let names: Vec<&str> = users.iter().map(|u| u.username()).collect();
    /// assert_eq!(names, ["alice", "otp-user", "push-user", "change-user"]);
    /// ```
    pub fn flow_test_users() -> Vec<TestUser> {
        let user = |name: &str, password: &str, display: &str| {
            TestUser::new(name, password)
                .claim("name", display)
                .claim("preferred_username", name)
                .claim("email", format!("{name}@example.com"))
                .claim("email_verified", true)
        };
        vec![
            TestUser::default_user(),
            user("otp-user", "otp-password", "OTP User")
                .device(MfaDevice::sms("+1 555 0100").default_device())
                .device(MfaDevice::email("otp-user@example.com")),
            user("push-user", "push-password", "Push User").device(MfaDevice::push("Pixel 9")),
            user("change-user", "change-password", "Change User").must_change_password(),
        ]
    }

    /// The username typed on the sign-in page.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password (public on purpose: this is a development provider). A Flow API password
    /// change updates the running provider's copy, not this value.
    pub fn password(&self) -> &str {
        &self.password
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

/// What kind of MFA device an [`MfaDevice`] is.
///
/// ```
/// use ping_oidc_dev_provider::{MfaDevice, MfaDeviceKind};
/// assert_eq!(MfaDevice::push("Pixel 9").kind(), MfaDeviceKind::Push);
/// assert_eq!(MfaDeviceKind::Push.as_str(), "MOBILE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MfaDeviceKind {
    /// A phone receiving the OTP by SMS (`"SMS"`).
    Sms,
    /// A mailbox receiving the OTP (`"EMAIL"`).
    Email,
    /// A mobile app approving a push notification (`"MOBILE"`).
    Push,
}

impl MfaDeviceKind {
    /// The device `type` in flow responses: `SMS`, `EMAIL` or `MOBILE`.
    pub fn as_str(self) -> &'static str {
        match self {
            MfaDeviceKind::Sms => "SMS",
            MfaDeviceKind::Email => "EMAIL",
            MfaDeviceKind::Push => "MOBILE",
        }
    }
}

/// An MFA device of a [`TestUser`], used by the Flow API emulation. SMS and email devices
/// accept the OTP [`DEV_OTP`]; push devices wait for
/// [`DevProvider::approve_push`](crate::DevProvider::approve_push) (or the HTTP endpoint
/// `POST /dev/push/approve`). Add it with [`TestUser::device`], which assigns its id.
///
/// ```
/// use ping_oidc_dev_provider::{MfaDevice, MfaDeviceKind, TestUser};
/// let sms = MfaDevice::sms("+1 555 0100");
/// assert_eq!(sms.kind(), MfaDeviceKind::Sms);
/// assert_eq!(sms.value(), "+1 555 0100");
/// assert!(!sms.is_default());
/// let user = TestUser::new("u", "pw").device(sms);
/// assert!(!user.devices()[0].id().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDevice {
    pub(crate) id: String,
    pub(crate) kind: MfaDeviceKind,
    pub(crate) value: String,
    pub(crate) default: bool,
}

impl MfaDevice {
    fn new(kind: MfaDeviceKind, value: String) -> Self {
        MfaDevice {
            id: String::new(),
            kind,
            value,
            default: false,
        }
    }

    /// An SMS device with this phone number (shown masked, e.g. `+1******0100`).
    pub fn sms(phone: impl Into<String>) -> Self {
        Self::new(MfaDeviceKind::Sms, phone.into())
    }

    /// An email device with this address (shown masked, e.g. `o*****@example.com`).
    pub fn email(address: impl Into<String>) -> Self {
        Self::new(MfaDeviceKind::Email, address.into())
    }

    /// A push (mobile app) device with this nickname.
    pub fn push(nickname: impl Into<String>) -> Self {
        Self::new(MfaDeviceKind::Push, nickname.into())
    }

    /// Marks this device as the user's default (otherwise the first device is the default).
    ///
    /// ```
    /// assert!(ping_oidc_dev_provider::MfaDevice::push("Pixel 9").default_device().is_default());
    /// ```
    pub fn default_device(mut self) -> Self {
        self.default = true;
        self
    }

    /// The device id in flow responses (assigned by [`TestUser::device`], stable across runs;
    /// empty before).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind of device.
    pub fn kind(&self) -> MfaDeviceKind {
        self.kind
    }

    /// The phone number, email address or nickname, unmasked.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether [`default_device`](Self::default_device) marked it.
    pub fn is_default(&self) -> bool {
        self.default
    }
}

/// How the PingOne-shaped Flow API delivers the authorization code once a flow is
/// `COMPLETED` (builder option
/// [`pingone_code_delivery`](crate::DevProviderBuilder::pingone_code_delivery)).
/// PingFederate always puts it inline.
///
/// ```
/// use ping_oidc_dev_provider::CodeDelivery;
/// assert_eq!(CodeDelivery::default(), CodeDelivery::ResumeJson);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CodeDelivery {
    /// No code in the flow; `GET <issuer>/resume?flowId=..` (with the `ST` cookie) answers
    /// 200 JSON `{"id","status":"COMPLETED","authorizeResponse":{"code","state"}}`.
    #[default]
    ResumeJson,
    /// The resume call answers `302 Location: <redirect_uri>?code=..&state=..&iss=..`.
    ResumeRedirect,
    /// `authorizeResponse` is in the `COMPLETED` flow body itself (resume works too).
    Inline,
}

/// A UUID-shaped subject derived from the username with SHA-256 (stable across runs).
fn stable_subject(username: &str) -> String {
    let mut input = b"ping-oidc-dev-provider|".to_vec();
    input.extend_from_slice(username.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    uuid_text(b, 5)
}

/// 16 bytes as a UUID of `version` (RFC 9562 layout: version and variant bits set).
pub(crate) fn uuid_text(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
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
///
/// A client that authenticates with `private_key_jwt` and may send signed request objects
/// registers its public keys:
///
/// ```
/// use ping_oidc_dev_provider::{AuthMethod, ClientRegistration};
///
/// let jwks = serde_json::json!({"keys": [{
///     "kty": "EC", "crv": "P-256", "kid": "client-key-1",
///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
/// }]});
/// let app = ClientRegistration::private_key_jwt("jwt-app", jwks.clone(), "http://127.0.0.1:3000/auth/callback")
///     .require_signed_request_object(true);
/// assert_eq!(app.auth_method, AuthMethod::PrivateKeyJwt);
/// assert!(app.client_secret.is_none() && app.jwks.is_some());
///
/// // A client_secret_basic client can register keys for its request objects only.
/// let jar = ClientRegistration::confidential("jar-app", "s3cret", "http://127.0.0.1:3000/cb")
///     .jwks(jwks);
/// assert!(jar.jwks.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientRegistration {
    /// The client id.
    pub client_id: String,
    /// The secret; required for `client_secret_basic`, `client_secret_post` and
    /// `client_secret_jwt` (its UTF-8 bytes are the HMAC key), must be `None` for `none`.
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
    /// Whether the client may use the client credentials grant (a worker application).
    pub client_credentials: bool,
    /// The client's public keys: a JWK Set (`{"keys": [...]}`), one JWK, or an array of JWKs
    /// (RSA of 2048 bits or more, or EC P-256; keys with `use` other than `sig` and other key
    /// types are ignored). They verify `private_key_jwt` assertions and signed request
    /// objects. Required for [`AuthMethod::PrivateKeyJwt`] and
    /// [`require_signed_request_object`](Self::require_signed_request_object).
    pub jwks: Option<serde_json::Value>,
    /// Whether every authorization request of this client must be a signed request object
    /// (`request`, RFC 9101); a plain one is refused with `invalid_request`. Needs `jwks`.
    pub require_signed_request_object: bool,
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

    /// A worker application: `client_secret_basic`, the client credentials grant only (no
    /// redirect URIs). Its tokens open the management API
    /// (`GET /v1/environments/{env}/users/{id}/devices`).
    ///
    /// ```
    /// let w = ping_oidc_dev_provider::ClientRegistration::worker("worker", "worker-secret");
    /// assert!(w.client_credentials && w.redirect_uris.is_empty());
    /// ```
    pub fn worker(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            auth_method: AuthMethod::ClientSecretBasic,
            client_credentials: true,
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

    /// A confidential client using `private_key_jwt`, verified with `jwks` (see
    /// [`ClientRegistration::jwks`](Self::jwks)); it has no secret.
    pub fn private_key_jwt(
        client_id: impl Into<String>,
        jwks: impl Into<serde_json::Value>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            redirect_uris: vec![redirect_uri.into()],
            auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(jwks.into()),
            ..Default::default()
        }
    }

    /// Registers the client's public keys (a JWK Set, one JWK, or an array of JWKs), for
    /// `private_key_jwt` and signed request objects.
    pub fn jwks(mut self, jwks: impl Into<serde_json::Value>) -> Self {
        self.jwks = Some(jwks.into());
        self
    }

    /// Requires signed request objects (`request`) for every authorization request: a plain
    /// request is refused with `invalid_request`. The keys come from [`jwks`](Self::jwks).
    pub fn require_signed_request_object(mut self, required: bool) -> Self {
        self.require_signed_request_object = required;
        self
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
        if self.redirect_uris.is_empty() && !self.client_credentials {
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
            (
                AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt,
                None,
            ) => {
                return Err(format!(
                    "client {:?} uses {} but has no secret",
                    self.client_id,
                    self.auth_method.as_str()
                ))
            }
            _ => {}
        }
        match &self.jwks {
            Some(jwks) => {
                crate::client_jwt::parse_jwks(jwks)
                    .map_err(|e| format!("client {:?}: jwks: {e}", self.client_id))?;
            }
            None if self.auth_method == AuthMethod::PrivateKeyJwt => {
                return Err(format!(
                    "client {:?} uses private_key_jwt but has no public keys: register them with .jwks(..)",
                    self.client_id
                ))
            }
            None if self.require_signed_request_object => {
                return Err(format!(
                    "client {:?} requires signed request objects but has no public keys: register them with .jwks(..)",
                    self.client_id
                ))
            }
            None => {}
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
