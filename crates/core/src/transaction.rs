//! Sign-in transactions: one short-lived encrypted cookie per attempt, so several tabs can
//! sign in at once and any instance can finish the attempt.
//!
//! The cookie is named after the attempt's `state`, sealed with AES-256-GCM under the session
//! key, and bound to its name. Single use is enforced in the store at the callback.

use serde::{Deserialize, Serialize};

use crate::config::{Config, SameSite};
use crate::cookies::{self, CookieSpec};
use crate::crypto::{constant_time_eq, random_token};
use crate::time::now_unix;

/// How long a sign-in attempt may take, in seconds.
pub(crate) const LIFETIME_SECS: i64 = 600;
pub(crate) const COOKIE_PREFIX: &str = "ping_oidc_tx_";

#[derive(Serialize, Deserialize)]
pub(crate) struct LoginTransaction {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    /// Scopes asked for beyond the configured ones (incremental consent).
    #[serde(default)]
    pub extra_scopes: Vec<String>,
    pub created_at: i64,
}

impl LoginTransaction {
    pub(crate) fn new(return_to: String, extra_scopes: Vec<String>) -> Option<Self> {
        Some(Self {
            state: random_token(32)?,
            nonce: random_token(32)?,
            verifier: random_token(48)?,
            return_to,
            extra_scopes,
            created_at: now_unix(),
        })
    }

    /// `Set-Cookie` that carries this transaction to the callback.
    pub(crate) fn to_cookie(&self, config: &Config) -> Option<String> {
        let name = cookie_name(&self.state)?;
        let json = serde_json::to_vec(self).ok()?;
        let sealed = config.session_key.seal(name.as_bytes(), &json)?;
        let path = format!("{}/callback", config.route_prefix);
        Some(
            CookieSpec {
                name: &name,
                value: &sealed,
                path: &path,
                max_age: Some(LIFETIME_SECS as u64),
                secure: config.cookie_secure,
                // The callback is a cross-site top-level navigation: Lax cookies go along.
                same_site: SameSite::Lax,
            }
            .render(),
        )
    }

    pub(crate) fn is_expired(&self, now: i64) -> bool {
        now > self.created_at + LIFETIME_SECS || self.created_at > now + 60
    }
}

/// The cookie name for a `state`; `None` for a state we could not have made.
pub(crate) fn cookie_name(state: &str) -> Option<String> {
    let well_formed = state.len() == 43
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| format!("{COOKIE_PREFIX}{}", &state[..16]))
}

/// `Set-Cookie` removing the transaction cookie for `state`.
pub(crate) fn removal(config: &Config, state: &str) -> Option<String> {
    let name = cookie_name(state)?;
    Some(cookies::removal(
        &name,
        &format!("{}/callback", config.route_prefix),
        config.cookie_secure,
    ))
}

/// Finds and opens the transaction for `state` among the request's cookies.
pub(crate) fn open<'a>(
    config: &Config,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    state: &str,
) -> Option<LoginTransaction> {
    let name = cookie_name(state)?;
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
        let tx = LoginTransaction::new("/profile".into(), vec![]).expect("tx");
        let set_cookie = tx.to_cookie(&config).expect("cookie");
        assert!(set_cookie.contains("Path=/auth/callback"));
        let pair = set_cookie.split(';').next().expect("pair").to_string();
        let opened = open(&config, [pair.as_str()], &tx.state).expect("opens");
        assert_eq!(opened.return_to, "/profile");

        // Another attempt's state, a flipped byte, or another key: nothing opens.
        let other = LoginTransaction::new("/".into(), vec![]).expect("tx");
        assert!(open(&config, [pair.as_str()], &other.state).is_none());
        let mut tampered = pair.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(open(&config, [tampered.as_str()], &tx.state).is_none());
        let other_key = config_with_other_key();
        assert!(open(&other_key, [pair.as_str()], &tx.state).is_none());
        assert!(cookie_name("short").is_none());
        assert!(cookie_name(&"x".repeat(43)).is_some());
        assert!(cookie_name(&format!("{};x", "a".repeat(41))).is_none());
    }

    fn config_with_other_key() -> Config {
        config("fedcba9876543210fedcba9876543210")
    }
}
