//! In-memory provider state (one `Mutex`, never held across `.await`), URLs, statistics.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

use crate::client_jwt::JtiCache;
use crate::config::{ClientRegistration, PathShape, SigningAlg, TestUser};
use crate::flow::{Flow, FlowConfig};
use crate::keys::{b64, KeyStore};
use crate::misbehave::Misbehavior;

/// How long an authorization code can be exchanged.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);
/// How long the sign-in page's request reference stays valid.
pub(crate) const PENDING_TTL: Duration = Duration::from_secs(600);

/// Counters, counted when the request reaches the endpoint (successful or not).
///
/// ```no_run
/// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
/// let provider = ping_oidc_dev_provider::DevProvider::builder().start().await?;
/// // ... drive a relying party ...
/// assert_eq!(provider.stats().refresh_grants, 1, "exactly one refresh call");
/// provider.reset_stats();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Token endpoint calls with `grant_type=authorization_code`.
    pub authorization_code_grants: u64,
    /// Token endpoint calls with `grant_type=refresh_token`.
    pub refresh_grants: u64,
    /// Token endpoint calls answered with an error (any grant type).
    pub token_errors: u64,
    /// Calls to the revocation endpoint.
    pub revocations: u64,
    /// Calls to the userinfo endpoint.
    pub userinfo: u64,
    /// Calls to the end-session endpoint(s).
    pub end_sessions: u64,
    /// Back-channel logout tokens delivered (answered 2xx by the relying party).
    pub backchannel_deliveries: u64,
    /// Back-channel logout deliveries that failed (connection error, timeout, non-2xx).
    pub backchannel_failures: u64,
    /// Calls to the introspection endpoint.
    pub introspections: u64,
    /// Authorization requests with `response_mode=pi.flow` (each starts a flow when valid).
    pub flow_starts: u64,
    /// Non-GET calls to a flow URL (actions), successful or not.
    pub flow_actions: u64,
    /// Refresh-token grants that named a `resource` (RFC 8707), successful or not.
    pub resource_grants: u64,
    /// Token endpoint calls with `grant_type=client_credentials`.
    pub client_credentials_grants: u64,
    /// Calls to the management API.
    pub management_calls: u64,
}

/// Absolute URLs and router paths of every endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub(crate) addr: SocketAddr,
    pub(crate) base_url: String,
    pub(crate) issuer: String,
    pub(crate) shape: PathShape,
    pub(crate) discovery: String,
    pub(crate) authorize: String,
    pub(crate) token: String,
    pub(crate) userinfo: String,
    pub(crate) jwks: String,
    pub(crate) revoke: String,
    pub(crate) introspect: String,
    pub(crate) end_session: String,
    pub(crate) ping_end_session: Option<String>,
    /// Flow API: flow URLs are `<flows>/<flowId>`.
    pub(crate) flows: String,
    /// Flow API resume endpoint (PingOne shape only).
    pub(crate) resume: Option<String>,
}

impl Urls {
    pub(crate) fn new(addr: SocketAddr, shape: &PathShape) -> Self {
        let base_url = format!("http://{addr}");
        let p = |path: &str| format!("{base_url}{path}");
        match shape {
            PathShape::PingOne { env_id } => {
                let issuer = format!("{base_url}/{env_id}/as");
                let e = |path: &str| format!("{issuer}/{path}");
                Urls {
                    addr,
                    discovery: e(".well-known/openid-configuration"),
                    authorize: e("authorize"),
                    token: e("token"),
                    userinfo: e("userinfo"),
                    jwks: e("jwks"),
                    revoke: e("revoke"),
                    introspect: e("introspect"),
                    end_session: e("signoff"),
                    ping_end_session: None,
                    flows: format!("{base_url}/{env_id}/flows"),
                    resume: Some(e("resume")),
                    issuer,
                    shape: shape.clone(),
                    base_url,
                }
            }
            PathShape::PingFederate => Urls {
                addr,
                issuer: base_url.clone(),
                discovery: p("/.well-known/openid-configuration"),
                authorize: p("/as/authorization.oauth2"),
                token: p("/as/token.oauth2"),
                userinfo: p("/idp/userinfo.openid"),
                jwks: p("/pf/JWKS"),
                revoke: p("/as/revoke_token.oauth2"),
                introspect: p("/as/introspect.oauth2"),
                end_session: p("/idp/init_logout.openid"),
                ping_end_session: Some(p("/idp/startSLO.ping")),
                flows: p("/pf-ws/authn/flows"),
                resume: None,
                shape: shape.clone(),
                base_url,
            },
        }
    }

    /// The router path of an absolute endpoint URL.
    pub(crate) fn path<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(self.base_url.as_str()).unwrap_or(url)
    }

    /// Name of the provider session cookie (ports do not isolate cookies, so it has the port).
    pub(crate) fn cookie_name(&self) -> String {
        format!("ping_oidc_dev_session_{}", self.addr.port())
    }
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    /// False when a `pi.flow` request omitted `redirect_uri` (the client's first one is used;
    /// the token request may then omit it too).
    pub(crate) redirect_uri_sent: bool,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) prompt_none: bool,
    pub(crate) prompt_login: bool,
    pub(crate) max_age: Option<u64>,
    pub(crate) login_hint: Option<String>,
    /// `acr_values`: the first one becomes the ID token's `acr` (a development provider
    /// meets any level asked for).
    pub(crate) acr_values: Option<String>,
}

/// An authorization request waiting for the sign-in form.
pub(crate) struct Pending {
    pub(crate) request: AuthRequest,
    pub(crate) expires: SystemTime,
}

/// A provider (browser) session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) sid: String,
    pub(crate) cookie: String,
    /// Flow API sessions: the `ST` (PingOne) or latest `PF` (PingFederate) cookie value.
    pub(crate) flow_cookie: Option<String>,
    pub(crate) sub: String,
    pub(crate) auth_time: u64,
    pub(crate) clients: BTreeSet<String>,
}

pub(crate) struct CodeRecord {
    pub(crate) request: AuthRequest,
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) auth_time: u64,
    /// The ID token's `amr`.
    pub(crate) amr: Vec<String>,
    pub(crate) expires: SystemTime,
    pub(crate) used: bool,
    /// Tokens issued from this code (set on the first exchange).
    pub(crate) family: Option<u64>,
}

/// A grant: every token issued from one authorization code and its refreshes.
pub(crate) struct Family {
    pub(crate) revoked: bool,
    pub(crate) sid: String,
    pub(crate) offline: bool,
}

pub(crate) struct AccessRecord {
    pub(crate) jti: String,
    pub(crate) client_id: String,
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) scope: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    pub(crate) expires: SystemTime,
    pub(crate) family: u64,
    pub(crate) revoked: bool,
}

pub(crate) struct RefreshRecord {
    pub(crate) client_id: String,
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) scope: String,
    pub(crate) auth_time: u64,
    pub(crate) amr: Vec<String>,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    pub(crate) expires: SystemTime,
    pub(crate) family: u64,
    pub(crate) used: bool,
    pub(crate) revoked: bool,
}

pub(crate) struct Ttls {
    pub(crate) access: Duration,
    pub(crate) id: Duration,
    pub(crate) refresh: Duration,
}

pub(crate) struct State {
    /// Resource indicators tokens can be asked for (RFC 8707).
    pub(crate) resources: Vec<String>,
    pub(crate) clients: HashMap<String, ClientRegistration>,
    pub(crate) users: Vec<TestUser>,
    pub(crate) pending: HashMap<String, Pending>,
    pub(crate) codes: HashMap<String, CodeRecord>,
    /// Keyed by sid.
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) access_tokens: HashMap<String, AccessRecord>,
    pub(crate) refresh_tokens: HashMap<String, RefreshRecord>,
    pub(crate) families: HashMap<u64, Family>,
    pub(crate) next_family: u64,
    pub(crate) stats: Stats,
    pub(crate) misbehavior: Misbehavior,
    pub(crate) ttl: Ttls,
    pub(crate) keys: KeyStore,
    pub(crate) signing_alg: SigningAlg,
    /// Flow API flows by id, and their ids in creation order (for the size bound).
    pub(crate) flows: HashMap<String, Flow>,
    pub(crate) flow_order: VecDeque<String>,
    pub(crate) flow_config: FlowConfig,
    /// Client assertion `jti`s already used (RFC 7523 §3 replay protection).
    pub(crate) assertion_jtis: JtiCache,
}

impl State {
    pub(crate) fn user_by_sub(&self, sub: &str) -> Option<&TestUser> {
        self.users.iter().find(|u| u.sub == sub)
    }

    pub(crate) fn user_by_name(&self, username: &str) -> Option<&TestUser> {
        self.users.iter().find(|u| u.username == username)
    }

    pub(crate) fn session_by_cookie(&self, cookie: &str) -> Option<&Session> {
        self.sessions
            .values()
            .find(|s| crate::http::constant_time_eq(s.cookie.as_bytes(), cookie.as_bytes()))
    }

    pub(crate) fn new_family(&mut self, sid: &str, scope: &str) -> u64 {
        self.next_family += 1;
        let id = self.next_family;
        let offline = scope.split(' ').any(|s| s == "offline_access");
        self.families.insert(
            id,
            Family {
                revoked: false,
                sid: sid.to_owned(),
                offline,
            },
        );
        id
    }

    pub(crate) fn revoke_family(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
    }

    pub(crate) fn family_revoked(&self, family: u64) -> bool {
        self.families.get(&family).is_none_or(|f| f.revoked)
    }

    pub(crate) fn access_active(&self, rec: &AccessRecord) -> bool {
        !rec.revoked && !self.family_revoked(rec.family) && SystemTime::now() < rec.expires
    }

    pub(crate) fn refresh_active(&self, rec: &RefreshRecord) -> bool {
        !rec.used
            && !rec.revoked
            && !self.family_revoked(rec.family)
            && SystemTime::now() < rec.expires
    }

    /// The signing algorithm for `client_id`'s tokens.
    pub(crate) fn alg_for(&self, client_id: &str) -> SigningAlg {
        self.clients
            .get(client_id)
            .and_then(|c| c.signing_alg)
            .unwrap_or(self.signing_alg)
    }

    /// Ends a session: removes it and revokes its grants that lack `offline_access`
    /// (Back-Channel Logout 1.0 §2.7). Returns the removed session.
    pub(crate) fn end_session(&mut self, sid: &str) -> Option<Session> {
        let session = self.sessions.remove(sid)?;
        for fam in self.families.values_mut() {
            if fam.sid == sid && !fam.offline {
                fam.revoked = true;
            }
        }
        Some(session)
    }

    /// Drops expired sign-in requests and codes (cheap housekeeping on each authorization).
    pub(crate) fn prune(&mut self) {
        let now = SystemTime::now();
        self.pending.retain(|_, p| p.expires > now);
        self.codes
            .retain(|_, c| c.expires + Duration::from_secs(3600) > now);
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) urls: Urls,
    pub(crate) rng: SystemRandom,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(urls: Urls, state: State) -> Self {
        Shared {
            urls,
            rng: SystemRandom::new(),
            state: Mutex::new(state),
        }
    }

    /// Locks the state (a poisoned lock is recovered: this is a test tool).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A random base64url string with `bytes` bytes of entropy.
    pub(crate) fn random(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        if self.rng.fill(&mut buf).is_err() {
            // SystemRandom does not fail on supported platforms; fall back to time + counter.
            let n = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let digest = ring::digest::digest(&ring::digest::SHA256, &n.to_le_bytes());
            for (i, b) in buf.iter_mut().enumerate() {
                *b = digest.as_ref()[i % 32];
            }
        }
        b64(&buf)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whole seconds of a TTL, rounded up.
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}
