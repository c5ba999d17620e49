//! Sign-in transactions: one short-lived encrypted cookie per attempt, so several tabs can
//! sign in at once and any instance can finish the attempt.
//!
//! The cookie is named after the attempt's `state`, sealed with AES-256-GCM under the session
//! key, and bound to its name. Single use is enforced in the store at the callback.
//!
//! Over https the name carries the `__Host-` prefix (so `Secure`, `Path=/` and no `Domain`):
//! neither a sibling subdomain nor a network attacker on plain http can plant one, which
//! would be login CSRF. A browser keeps at most [`MAX_ATTEMPTS`]; starting another expires
//! the oldest, and no `Set-Cookie` grows past [`MAX_SET_COOKIE_BYTES`].

use serde::{Deserialize, Serialize};

use crate::config::{Config, SameSite};
use crate::cookies::{self, CookieSpec};
use crate::crypto::{constant_time_eq, random_token};

/// How long a sign-in attempt may take, in seconds.
pub(crate) const LIFETIME_SECS: i64 = 600;
const COOKIE_PREFIX: &str = "ping_oidc_tx_";
const HOST_COOKIE_PREFIX: &str = "__Host-ping_oidc_tx_";
/// Sign-in attempts one browser keeps at once (tabs signing in together).
pub(crate) const MAX_ATTEMPTS: usize = 3;
/// Longest `return_to` kept; a longer one is replaced by the default.
pub(crate) const MAX_RETURN_TO_BYTES: usize = 1024;
/// No `Set-Cookie` larger than this: common browser and proxy limits.
pub(crate) const MAX_SET_COOKIE_BYTES: usize = 4096;
/// Transaction cookies read from one request at most (each costs a decryption).
const MAX_COOKIES_READ: usize = 16;

#[derive(Serialize, Deserialize)]
pub(crate) struct LoginTransaction {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    /// Scopes asked for beyond the configured ones (incremental consent).
    #[serde(default)]
    pub extra_scopes: Vec<String>,
    /// The API whose consent is asked for (`/auth/login?api=`), at most one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<String>,
    /// A silent check (`prompt=none`): a "not signed in at the provider" answer goes back to
    /// `return_to` signed out, not to an error page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
    /// Step-up: the `acr_values` asked for; the new ID token's `acr` must be one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// Step-up: the `max_age` asked for; the new `auth_time` must be within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    pub created_at: i64,
}

impl LoginTransaction {
    pub(crate) fn new(return_to: String, extra_scopes: Vec<String>, now: i64) -> Option<Self> {
        Some(Self {
            state: random_token(32)?,
            nonce: random_token(32)?,
            verifier: random_token(48)?,
            return_to,
            extra_scopes,
            apis: Vec::new(),
            silent: false,
            acr_values: Vec::new(),
            max_age: None,
            created_at: now,
        })
    }

    /// `Set-Cookie` that carries this transaction to the callback; `None` if it would be
    /// larger than [`MAX_SET_COOKIE_BYTES`].
    pub(crate) fn to_cookie(&self, config: &Config) -> Option<String> {
        let name = cookie_name(config, &self.state)?;
        let json = serde_json::to_vec(self).ok()?;
        let sealed = config.session_key.seal(name.as_bytes(), &json)?;
        let rendered = CookieSpec {
            name: &name,
            value: &sealed,
            // `/`: the `__Host-` prefix requires it, and `/auth/login` must see the
            // attempts in progress to expire the oldest.
            path: "/",
            max_age: Some(LIFETIME_SECS as u64),
            secure: config.cookie_secure,
            // The callback is a cross-site top-level navigation: Lax cookies go along.
            same_site: SameSite::Lax,
        }
        .render();
        (rendered.len() <= MAX_SET_COOKIE_BYTES).then_some(rendered)
    }

    pub(crate) fn is_expired(&self, now: i64) -> bool {
        now > self.created_at.saturating_add(LIFETIME_SECS)
            || self.created_at > now.saturating_add(60)
    }
}

fn prefix(config: &Config) -> &'static str {
    if config.cookie_secure {
        HOST_COOKIE_PREFIX
    } else {
        COOKIE_PREFIX
    }
}

/// The cookie name for a `state`; `None` for a state we could not have made.
pub(crate) fn cookie_name(config: &Config, state: &str) -> Option<String> {
    let well_formed = state.len() == 43
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| format!("{}{}", prefix(config), &state[..16]))
}

/// `Set-Cookie` removing the transaction cookie for `state`.
pub(crate) fn removal(config: &Config, state: &str) -> Option<String> {
    let name = cookie_name(config, state)?;
    Some(cookies::removal(&name, "/", config.cookie_secure))
}

/// `Set-Cookie`s that make room for one more attempt: every transaction cookie that does not
/// open (another key, tampered, expired), and the oldest ones past [`MAX_ATTEMPTS`] - 1.
pub(crate) fn make_room<'a>(
    config: &Config,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    now: i64,
) -> Vec<String> {
    let prefix = prefix(config);
    let mut attempts: Vec<(i64, &str)> = cookies::pairs(cookie_headers)
        .filter(|(name, _)| name.starts_with(prefix))
        .take(MAX_COOKIES_READ)
        .map(|(name, value)| {
            let created_at = config
                .session_key
                .open(name.as_bytes(), value)
                .and_then(|plain| serde_json::from_slice::<LoginTransaction>(&plain).ok())
                .filter(|tx| !tx.is_expired(now))
                .map_or(i64::MIN, |tx| tx.created_at);
            (created_at, name)
        })
        .collect();
    // Unreadable ones (`i64::MIN`) sort first, then the live ones oldest first: expiring a
    // prefix removes all the unreadable and the oldest live past the limit.
    attempts.sort_unstable();
    attempts.dedup_by(|a, b| a.1 == b.1);
    let unreadable = attempts
        .iter()
        .take_while(|(at, _)| *at == i64::MIN)
        .count();
    let live = attempts.len() - unreadable;
    let expire = unreadable + live.saturating_sub(MAX_ATTEMPTS - 1);
    attempts
        .into_iter()
        .take(expire)
        .map(|(_, name)| cookies::removal(name, "/", config.cookie_secure))
        .collect()
}

/// Finds and opens the transaction for `state` among the request's cookies.
pub(crate) fn open<'a>(
    config: &Config,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    state: &str,
) -> Option<LoginTransaction> {
    let name = cookie_name(config, state)?;
    let value = cookies::find(cookie_headers, &name)?;
    let plain = config.session_key.open(name.as_bytes(), value)?;
    let tx: LoginTransaction = serde_json::from_slice(&plain).ok()?;
    constant_time_eq(&tx.state, state).then_some(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key: &str) -> Config {
        Config::builder()
            .issuer("http://127.0.0.1:9/as")
            .client_id("app")
            .app_url("http://127.0.0.1:3000")
            .session_key(key)
            .build()
            .expect("config")
    }

    #[test]
    fn round_trip_and_tampering() {
        let config = config("0123456789abcdef0123456789abcdef");
        let tx =
            LoginTransaction::new("/profile".into(), vec![], crate::time::now_unix()).expect("tx");
        let set_cookie = tx.to_cookie(&config).expect("cookie");
        assert!(
            set_cookie.starts_with("ping_oidc_tx_"),
            "plain http: no prefix"
        );
        assert!(set_cookie.contains("Path=/;"));
        let pair = set_cookie.split(';').next().expect("pair").to_string();
        let opened = open(&config, [pair.as_str()], &tx.state).expect("opens");
        assert_eq!(opened.return_to, "/profile");

        // Another attempt's state, a flipped byte, or another key: nothing opens.
        let other = LoginTransaction::new("/".into(), vec![], crate::time::now_unix()).expect("tx");
        assert!(open(&config, [pair.as_str()], &other.state).is_none());
        let mut tampered = pair.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(open(&config, [tampered.as_str()], &tx.state).is_none());
        let other_key = config_with_other_key();
        assert!(open(&other_key, [pair.as_str()], &tx.state).is_none());
        assert!(cookie_name(&config, "short").is_none());
        assert!(cookie_name(&config, &"x".repeat(43)).is_some());
        assert!(cookie_name(&config, &format!("{};x", "a".repeat(41))).is_none());
    }

    #[test]
    fn https_uses_the_host_prefix() {
        let config = Config::builder()
            .issuer("https://idp.example/as")
            .client_id("app")
            .app_url("https://app.example")
            .session_key("0123456789abcdef0123456789abcdef")
            .build()
            .expect("config");
        let tx = LoginTransaction::new("/".into(), vec![], crate::time::now_unix()).expect("tx");
        let set_cookie = tx.to_cookie(&config).expect("cookie");
        assert!(
            set_cookie.starts_with("__Host-ping_oidc_tx_"),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("; Secure"), "{set_cookie}");
        assert!(set_cookie.contains("Path=/;"), "{set_cookie}");
        assert!(!set_cookie.to_ascii_lowercase().contains("domain="));
    }

    /// A fourth attempt expires the oldest; unreadable cookies go too.
    #[test]
    fn a_browser_keeps_a_few_attempts() {
        let config = config("0123456789abcdef0123456789abcdef");
        let mut pairs = Vec::new();
        let mut names = Vec::new();
        for age in [30, 20, 10] {
            let mut tx =
                LoginTransaction::new("/".into(), vec![], crate::time::now_unix()).expect("tx");
            tx.created_at -= age;
            let set_cookie = tx.to_cookie(&config).expect("cookie");
            let pair = set_cookie.split(';').next().expect("pair").to_string();
            names.push(pair.split('=').next().expect("name").to_string());
            pairs.push(pair);
        }
        pairs.push("ping_oidc_tx_AAAAAAAAAAAAAAAA=forged".into());
        let header = pairs.join("; ");
        let removals = make_room(&config, [header.as_str()], crate::time::now_unix());
        assert_eq!(removals.len(), 2, "{removals:?}");
        assert!(removals
            .iter()
            .any(|r| r.starts_with("ping_oidc_tx_AAAAAAAAAAAAAAAA=")));
        assert!(
            removals
                .iter()
                .any(|r| r.starts_with(&format!("{}=", names[0]))),
            "the oldest"
        );
        assert!(removals.iter().all(|r| r.contains("Max-Age=0")));
        let two = pairs[1..3].join("; ");
        assert!(
            make_room(&config, [two.as_str()], crate::time::now_unix()).is_empty(),
            "two leave room for a third"
        );
    }

    fn config_with_other_key() -> Config {
        config("fedcba9876543210fedcba9876543210")
    }
}
