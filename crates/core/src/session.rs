//! What a session holds. Tokens live here, server-side; the browser only holds an opaque id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreErrorKind};

use crate::claims::Claims;

/// One signed-in user's session: identity, claims and tokens.
///
/// Every session in a store holds one, so text is kept in exactly sized `Box<str>`s.
///
/// It is deliberately not `Serialize`: tokens must not end up in an app's JSON by accident.
/// A store writes it with [`SessionData::to_stored_json`] and reads it back with
/// [`SessionData::from_stored_json`].
#[derive(Clone, Deserialize)]
pub struct SessionData {
    pub(crate) subject: Box<str>,
    #[serde(default)]
    pub(crate) sid: Option<Box<str>>,
    pub(crate) claims: Claims,
    pub(crate) id_token: Box<str>,
    pub(crate) access_token: Box<str>,
    /// Unix seconds; `None` when the provider gave no `expires_in`.
    #[serde(default)]
    pub(crate) access_expires_at: Option<i64>,
    /// The access token's `aud`, read once when it arrived (`audience_of`).
    #[serde(default)]
    pub(crate) access_audience: Box<[String]>,
    /// Unix seconds after which a request refreshes first (expiry minus the leeway).
    #[serde(default)]
    pub(crate) refresh_at: Option<i64>,
    #[serde(default)]
    pub(crate) refresh_token: Option<Box<str>>,
    pub(crate) scopes: Box<[String]>,
    pub(crate) created_at: i64,
    /// Absolute end of the session, unix seconds.
    pub(crate) expires_at: i64,
    /// Idle timeout in seconds.
    pub(crate) idle_timeout: i64,
    /// The provider's session cookies after a redirect-less sign-in (a `Cookie` header
    /// value): the provider session lives on the server, so sign-out ends it from here.
    #[serde(default)]
    pub(crate) provider_cookies: Option<Box<str>>,
    /// Tokens of the APIs the app called in the user's name, one per API.
    #[serde(default)]
    pub(crate) api_tokens: Box<[ApiToken]>,
    /// The APIs this session's sign-in asked consent for (so that a refusal after it is
    /// final, not another round of sign-in).
    #[serde(default)]
    pub(crate) apis_asked: Box<[Box<str>]>,
}

/// One API's token in a session.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ApiToken {
    pub api: Box<str>,
    pub access_token: Box<str>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When a request gets a new one first (expiry minus the leeway).
    #[serde(default)]
    pub refresh_at: Option<i64>,
    pub scopes: Box<[String]>,
    /// Its `aud`, read once when it arrived (`audience_of`).
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub audience: Box<[String]>,
}

/// The audiences a JWT access token names in `aud`, read without checking the token: it is
/// for the API it names, not for this app, which keeps it only to tell the app where it
/// goes (never to authorise anything). Empty for an opaque token. Read once per token so
/// that a handler showing it does not decode the token on every request.
pub(crate) fn audience_of(access_token: &str) -> Box<[String]> {
    #[derive(Deserialize)]
    struct Audience {
        #[serde(default)]
        aud: Option<OneOrMany>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let mut parts = access_token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Box::default();
    };
    let claims = crate::crypto::b64url_decode(payload)
        .and_then(|json| serde_json::from_slice::<Audience>(&json).ok());
    match claims.and_then(|claims| claims.aud) {
        Some(OneOrMany::One(aud)) => Box::new([aud]),
        Some(OneOrMany::Many(auds)) => auds.into(),
        None => Box::default(),
    }
}

impl ApiToken {
    pub(crate) fn is_fresh(&self, now: i64) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }
}

/// The stored form, by reference (the field names are `SessionData`'s).
#[derive(Serialize)]
struct Stored<'a> {
    subject: &'a str,
    sid: Option<&'a str>,
    claims: &'a Claims,
    id_token: &'a str,
    access_token: &'a str,
    access_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    access_audience: &'a [String],
    refresh_at: Option<i64>,
    refresh_token: Option<&'a str>,
    scopes: &'a [String],
    created_at: i64,
    expires_at: i64,
    idle_timeout: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_cookies: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    api_tokens: &'a [ApiToken],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    apis_asked: &'a [Box<str>],
}

impl SessionData {
    /// The session as a store keeps it: JSON, **tokens included**. A store that keeps it
    /// outside this process should seal it ([`crate::store::SealingKey`]).
    pub fn to_stored_json(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(&Stored {
            subject: &self.subject,
            sid: self.sid.as_deref(),
            claims: &self.claims,
            id_token: &self.id_token,
            access_token: &self.access_token,
            access_expires_at: self.access_expires_at,
            access_audience: &self.access_audience,
            refresh_at: self.refresh_at,
            refresh_token: self.refresh_token.as_deref(),
            scopes: &self.scopes,
            created_at: self.created_at,
            expires_at: self.expires_at,
            idle_timeout: self.idle_timeout,
            provider_cookies: self.provider_cookies.as_deref(),
            api_tokens: &self.api_tokens,
            apis_asked: &self.apis_asked,
        })
        .map_err(|_| StoreError::new(StoreErrorKind::InvalidData, "could not encode the session"))
    }

    /// Reads what [`SessionData::to_stored_json`] wrote.
    pub fn from_stored_json(json: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(json).map_err(|_| {
            StoreError::new(StoreErrorKind::InvalidData, "a stored session is not valid")
        })
    }

    /// The user's subject (`sub`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The provider's session id (`sid`), when the ID token had one.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The ID token and userinfo claims, merged.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Absolute expiry (unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Idle timeout in seconds.
    pub fn idle_timeout(&self) -> i64 {
        self.idle_timeout
    }

    /// When the session ends if unused after `last_seen` (unix seconds).
    pub fn deadline(&self, last_seen: i64) -> i64 {
        self.expires_at
            .min(last_seen.saturating_add(self.idle_timeout))
    }

    pub(crate) fn needs_refresh(&self, now: i64) -> bool {
        self.refresh_at.is_some_and(|at| now >= at)
    }

    /// The API's token in this session, fresh or not.
    pub(crate) fn api_token_index(&self, api: &str) -> Option<usize> {
        self.api_tokens.iter().position(|t| &*t.api == api)
    }

    /// Whether a request for this API can be answered as the session is.
    pub(crate) fn serves_api(&self, api: &crate::ApiConfig, now: i64) -> bool {
        api.served_by_session_token(&self.scopes)
            || self
                .api_token_index(&api.name)
                .is_some_and(|i| self.api_tokens[i].is_fresh(now))
    }

    /// Rough heap size, for the memory store's accounting and the benchmarks.
    pub fn approximate_size(&self) -> usize {
        self.subject.len()
            + self.sid.as_ref().map_or(0, |sid| sid.len())
            + serde_json::to_string(&self.claims).map_or(0, |s| s.len())
            + self.id_token.len()
            + self.access_token.len()
            + self.refresh_token.as_ref().map_or(0, |token| token.len())
            + self.scopes.iter().map(String::len).sum::<usize>()
            + self.access_audience.iter().map(String::len).sum::<usize>()
    }
}

impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("subject", &self.subject)
            .field("sid", &self.sid)
            .field("scopes", &self.scopes)
            .field("access_expires_at", &self.access_expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_provider_cookies", &self.provider_cookies.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::audience_of;
    use crate::crypto::b64url_encode;

    fn jwt(claims: &str) -> String {
        format!("e30.{}.sig", b64url_encode(claims.as_bytes()))
    }

    #[test]
    fn reads_the_audience_of_jwt_access_tokens_only() {
        assert_eq!(
            &*audience_of(&jwt(r#"{"aud":"https://api.example/"}"#)),
            ["https://api.example/"]
        );
        assert_eq!(
            &*audience_of(&jwt(r#"{"aud":["a","b"],"sub":"x"}"#)),
            ["a", "b"]
        );
        for nothing in [
            jwt(r#"{"sub":"x"}"#),
            jwt(r#"{"aud":7}"#),
            jwt("not json"),
            "opaque-token".to_string(),
            "a.b.c.d.e".to_string(),
            "a.%%%.c".to_string(),
        ] {
            assert!(audience_of(&nothing).is_empty(), "{nothing}");
        }
    }

    #[test]
    fn sessions_stored_without_audiences_still_load() {
        let stored = br#"{"subject":"s","claims":{},"id_token":"i","access_token":"a","scopes":[],
            "created_at":1,"expires_at":2,"idle_timeout":3,
            "api_tokens":[{"api":"orders","access_token":"b","scopes":[]}]}"#;
        let data = super::SessionData::from_stored_json(stored).expect("loads");
        assert!(data.access_audience.is_empty() && data.api_tokens[0].audience.is_empty());
        let again = super::SessionData::from_stored_json(&data.to_stored_json().expect("json"))
            .expect("round trip");
        assert_eq!(again.subject(), "s");
    }
}
