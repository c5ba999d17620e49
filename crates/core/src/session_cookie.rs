//! The session cookie, `<session id>.<HMAC of the id>`, and the proofs made from it:
//! [`VerifiedSessionId`] (only [`verify_session_cookie`] and [`VerifiedCookies`] make one) and
//! its owned form [`SessionId`]. Also the table of remembered cookie values that lets most
//! guarded requests skip the HMAC (fuzzed against the HMAC in `fuzzing::cookies`).

use std::sync::Arc;

use crate::config::Config;
use crate::cookies::{removal, split_at_byte, CookieSpec};
use crate::crypto::constant_time_eq;
use crate::slot_table::SlotTable;

/// The session cookie: `<session id>.<HMAC of the id>`.
pub(crate) fn session_cookie(config: &Config, session_id: &str) -> String {
    let value = format!(
        "{session_id}.{}",
        config.session_key.sign(session_id.as_bytes())
    );
    CookieSpec {
        name: &config.cookie_name,
        value: &value,
        path: "/",
        max_age: Some(config.absolute_lifetime.as_secs()),
        secure: config.cookie_secure,
        same_site: config.same_site,
    }
    .render()
}

pub(crate) fn session_cookie_removal(config: &Config) -> String {
    removal(&config.cookie_name, "/", config.cookie_secure)
}

/// A session id from a session cookie whose HMAC held. Only the cookie check in this module
/// makes one (its field is private here), and the engine reads sessions only with one
/// (`PingOidc::load_session`): "no store call before the HMAC check" holds by type, not in
/// prose. `Debug` does not print the id (a bearer secret).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct VerifiedSessionId<'a>(&'a str);

impl<'a> VerifiedSessionId<'a> {
    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }
}

impl std::fmt::Debug for VerifiedSessionId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifiedSessionId(..)")
    }
}

/// Longest session id held inline by [`SessionId`]; the session cookie check refuses longer
/// ids (see [`verify_session_cookie`]).
const INLINE_ID: usize = 64;

/// A session id, held inline so that a guarded request allocates nothing for it (ids the
/// engine makes are 43 characters).
#[derive(Clone)]
pub(crate) enum SessionId {
    Inline { len: u8, bytes: [u8; INLINE_ID] },
    Shared(Arc<str>),
}

impl SessionId {
    /// The owned form of a verified id (a refresh task or an extractor's user keeps it).
    pub(crate) fn new(verified: VerifiedSessionId<'_>) -> Self {
        let id = verified.0;
        match id.len() {
            len @ 0..=INLINE_ID => {
                let mut bytes = [0u8; INLINE_ID];
                bytes[..len].copy_from_slice(id.as_bytes());
                Self::Inline {
                    len: len as u8,
                    bytes,
                }
            }
            _ => Self::Shared(Arc::from(id)),
        }
    }

    /// The proof again, for the calls that take one: only a verified id is ever held here.
    pub(crate) fn verified(&self) -> VerifiedSessionId<'_> {
        VerifiedSessionId(self.as_str())
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Copied from a `&str` at a char boundary (the whole string): always UTF-8.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Shared(id) => id,
        }
    }
}

/// The session id in a signed session cookie value, when the signature holds.
pub(crate) fn verify_session_cookie<'a>(
    config: &Config,
    value: &'a str,
) -> Option<VerifiedSessionId<'a>> {
    let (id, tag) = split_at_byte(value, b'.')?;
    if id.is_empty() || id.len() > INLINE_ID || tag.len() > 64 {
        return None;
    }
    config
        .session_key
        .verify(id.as_bytes(), tag)
        .then_some(VerifiedSessionId(id))
}

/// Slots in [`VerifiedCookies`]: one remembered cookie value each.
const VERIFIED_SLOTS: usize = 1024;

/// Session cookie values whose signature held, remembered so that the following requests
/// of the same session skip the HMAC (the largest part of a guarded request's own work).
///
/// A value is only ever remembered after [`verify_session_cookie`] accepted it, under the
/// same key for the engine's whole life, so a remembered value is exactly one that would
/// verify again: what is accepted does not change. A presented value is compared with the
/// remembered one in constant time (no timing hint of how much of it matches). The slot is
/// picked from the first characters of the tag, which only the key's holder can compute
/// for a given id; a value that does not match its slot is checked with the HMAC as before
/// (and remembered when valid, replacing the slot's value). At most [`VERIFIED_SLOTS`]
/// values (about 100 KiB) are held.
pub(crate) struct VerifiedCookies {
    values: SlotTable<Box<str>>,
}

impl VerifiedCookies {
    pub(crate) fn new() -> Self {
        Self {
            values: SlotTable::new(VERIFIED_SLOTS),
        }
    }

    /// The session id in a signed session cookie value, when the signature holds: what
    /// [`verify_session_cookie`] answers, without the HMAC for a value seen before.
    pub(crate) fn verify<'a>(
        &self,
        config: &Config,
        value: &'a str,
    ) -> Option<VerifiedSessionId<'a>> {
        let (id, tag) = split_at_byte(value, b'.')?;
        let slot_key = tag.get(..8).unwrap_or(tag);
        let known = self.values.read(slot_key).is_some_and(|slot| {
            slot.as_deref()
                .is_some_and(|known| constant_time_eq(known, value))
        });
        if known {
            // Remembered only after `verify_session_cookie` accepted this exact value.
            return Some(VerifiedSessionId(id));
        }
        let id = verify_session_cookie(config, value)?;
        if let Some(mut slot) = self.values.write(slot_key) {
            *slot = Some(value.into());
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::builder()
            .issuer("https://idp.example/as")
            .client_id("app")
            .app_url("https://app.example")
            .session_key("cookie-test-session-key-0123456789abcdef")
            .build()
            .expect("config")
    }

    #[test]
    fn remembered_cookies_verify_exactly_like_the_hmac() {
        let config = config();
        let verified = VerifiedCookies::new();
        let id = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let value = session_cookie(&config, id);
        let value = value
            .split(';')
            .next()
            .and_then(|pair| pair.split_once('='))
            .map(|(_, v)| v.to_string())
            .expect("a cookie value");
        // First sight (HMAC), then remembered: the same answer.
        assert_eq!(
            verified.verify(&config, &value).map(|v| v.as_str()),
            Some(id)
        );
        assert_eq!(
            verified.verify(&config, &value).map(|v| v.as_str()),
            Some(id)
        );
        // A changed tag, a changed id, or a value from another key never verifies, whether
        // or not its slot holds a good value.
        let (_, tag) = value.split_once('.').expect("id.tag");
        let mut forged_tag = tag.to_string();
        let last = if forged_tag.ends_with('A') { "B" } else { "A" };
        forged_tag.replace_range(forged_tag.len() - 1.., last);
        for forged in [
            format!("{id}.{forged_tag}"),
            format!("{}X.{tag}", &id[..id.len() - 1]),
            format!("{id}.{tag}x"),
            format!("{id}x.{tag}"),
            format!(".{tag}"),
            id.to_string(),
        ] {
            assert_eq!(verified.verify(&config, &forged), None, "{forged}");
            assert_eq!(verify_session_cookie(&config, &forged), None, "{forged}");
        }
        assert_eq!(
            verified.verify(&config, &value).map(|v| v.as_str()),
            Some(id)
        );
        let other = Config::builder()
            .issuer("https://idp.example/as")
            .client_id("app")
            .app_url("https://app.example")
            .session_key("another-session-key-0123456789abcdefgh")
            .build()
            .expect("config");
        assert_eq!(VerifiedCookies::new().verify(&other, &value), None);
    }
}
