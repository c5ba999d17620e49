//! Access tokens sent to this app's own APIs (`Authorization: Bearer`): JWT access tokens
//! (RFC 9068 and the plain JWTs PingOne and PingFederate issue), verified once and then
//! recognised from a bounded cache until they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::error::TokenError;
use crate::id_token::{check_issuer, numeric};
use crate::sync::lock;

/// Longest `Authorization` header value read: real access tokens are a few KiB.
pub(crate) const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;
/// Most tokens the cache keeps; when full, expired ones go first, then the one expiring soonest.
const CACHE_CAPACITY: usize = 10_000;

/// An access token whose signature, issuer, audience and lifetime held. Only the verifier
/// builds one. Cheap to clone (one `Arc`); `Debug` shows no token.
#[derive(Clone)]
pub struct VerifiedAccessToken {
    inner: Arc<TokenFacts>,
}

struct TokenFacts {
    claims: Claims,
    scopes: Vec<String>,
    expires_at: i64,
    /// `cnf.jkt` (RFC 9449 §6): the thumbprint of the key a DPoP-bound token is bound to.
    jkt: Option<String>,
}

impl VerifiedAccessToken {
    /// The `sub` claim: the user, or for a client-credentials token usually the client.
    pub fn subject(&self) -> Option<&str> {
        self.inner.claims.get_str("sub")
    }

    /// The client the token was issued to (`client_id`, else `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.inner
            .claims
            .get_str("client_id")
            .or_else(|| self.inner.claims.get_str("azp"))
    }

    /// The granted scopes, from a `scope` string or an `scp` array.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether every scope in `required` was granted.
    pub fn has_scopes(&self, required: &[&str]) -> bool {
        required
            .iter()
            .all(|scope| self.inner.scopes.iter().any(|have| have == scope))
    }

    /// Every claim of the token.
    pub fn claims(&self) -> &Claims {
        &self.inner.claims
    }

    /// Whether the token is bound to a DPoP key (`cnf.jkt`, RFC 9449): it was accepted only
    /// with a proof signed by that key.
    pub fn is_dpop_bound(&self) -> bool {
        self.inner.jkt.is_some()
    }

    /// The thumbprint of the key a DPoP-bound token is bound to.
    pub(crate) fn jkt(&self) -> Option<&str> {
        self.inner.jkt.as_deref()
    }

    /// Until when (unix seconds) the token is accepted without being checked again: `exp`
    /// plus the clock skew; for an opaque token, at most a minute after its introspection.
    pub fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }
}

impl std::fmt::Debug for VerifiedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedAccessToken")
            .field("sub", &self.subject())
            .field("client_id", &self.client_id())
            .field("scopes", &self.inner.scopes)
            .field("expires_at", &self.inner.expires_at)
            .field("dpop_bound", &self.is_dpop_bound())
            .finish()
    }
}

/// What a token must say to be accepted here.
pub(crate) struct Expectations<'a> {
    pub issuer: &'a str,
    pub resource: &'a str,
    pub now: i64,
    pub skew: i64,
}

/// The header checks of RFC 9068 §4 step 1: `at+jwt` (written in full or not), or no `typ`
/// or plain `JWT` as PingOne and PingFederate issue access tokens.
pub(crate) fn check_typ(typ: Option<&str>) -> Result<(), TokenError> {
    let accepted = ["at+jwt", "application/at+jwt", "jwt"];
    match typ {
        Some(typ) if !accepted.iter().any(|a| typ.eq_ignore_ascii_case(a)) => {
            Err(TokenError::WrongClaim("typ"))
        }
        _ => Ok(()),
    }
}

/// RFC 9068 §4 steps 2–5 on a signed payload: issuer, audience, lifetime; then the scopes.
pub(crate) fn check_claims(
    claims: Map<String, Value>,
    expect: &Expectations<'_>,
) -> Result<VerifiedAccessToken, TokenError> {
    check_issuer(&claims, expect.issuer)?;
    let jkt = confirmation(&claims)?;
    // RFC 9068 §4 step 1 asks for `at+jwt`, which Ping's access tokens lack: keep out the
    // provider's other JWTs (ID tokens, logout tokens) by the claims only they carry.
    if let Some(claim) = ["nonce", "at_hash", "c_hash", "events"]
        .into_iter()
        .find(|claim| claims.contains_key(*claim))
    {
        return Err(TokenError::WrongClaim(claim));
    }
    let for_us = |aud: &str| same_resource(aud, expect.resource);
    let audience_ok = match claims.get("aud") {
        Some(Value::String(one)) => for_us(one),
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).any(for_us),
        _ => return Err(TokenError::MissingClaim("aud")),
    };
    if !audience_ok {
        return Err(TokenError::WrongClaim("aud"));
    }
    let exp = numeric(&claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    if exp.saturating_add(expect.skew) <= expect.now {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = numeric(&claims, "nbf")? {
        if nbf > expect.now.saturating_add(expect.skew) {
            return Err(TokenError::WrongClaim("nbf"));
        }
    }
    if let Some(iat) = numeric(&claims, "iat")? {
        if iat > expect.now.saturating_add(expect.skew) {
            return Err(TokenError::IssuedInFuture);
        }
    }
    let scopes = granted_scopes(&claims);
    Ok(VerifiedAccessToken {
        inner: Arc::new(TokenFacts {
            claims: Claims::from(claims),
            scopes,
            expires_at: exp.saturating_add(expect.skew),
            jkt,
        }),
    })
}

/// RFC 7662 §2.2 on an introspection response: `active` (an inactive token is final), an
/// access token (`token_type` Bearer or absent), `aud` naming this resource (required: without
/// it a token for any other API of the provider would pass), then `iss`, `exp`, `nbf` when
/// present.
pub(crate) fn check_introspection(
    response: Map<String, Value>,
    expect: &Expectations<'_>,
    max_ttl: i64,
) -> Result<VerifiedAccessToken, TokenError> {
    if response.get("active") != Some(&Value::Bool(true)) {
        return Err(TokenError::WrongClaim("active"));
    }
    if response.contains_key("iss") {
        check_issuer(&response, expect.issuer)?;
    }
    // An access token (no `token_type`, Bearer, or DPoP with its key, RFC 9449 §6.2): not
    // a refresh token.
    let jkt = confirmation(&response)?;
    let access = match response.get("token_type") {
        None => true,
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("dpop") => jkt.is_some(),
        Some(Value::String(kind)) => kind.eq_ignore_ascii_case("bearer"),
        Some(_) => false,
    };
    if !access {
        return Err(TokenError::WrongClaim("token_type"));
    }
    let for_us = |aud: &str| same_resource(aud, expect.resource);
    let audience_ok = match response.get("aud") {
        None => return Err(TokenError::MissingClaim("aud")),
        Some(Value::String(one)) => for_us(one),
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).any(for_us),
        Some(_) => false,
    };
    if !audience_ok {
        return Err(TokenError::WrongClaim("aud"));
    }
    let latest = expect.now.saturating_add(max_ttl);
    let expires_at = match numeric(&response, "exp")? {
        Some(exp) if exp.saturating_add(expect.skew) <= expect.now => {
            return Err(TokenError::Expired)
        }
        Some(exp) => exp.saturating_add(expect.skew).min(latest),
        None => latest,
    };
    if let Some(nbf) = numeric(&response, "nbf")? {
        if nbf > expect.now.saturating_add(expect.skew) {
            return Err(TokenError::WrongClaim("nbf"));
        }
    }
    let scopes = granted_scopes(&response);
    Ok(VerifiedAccessToken {
        inner: Arc::new(TokenFacts {
            claims: Claims::from(response),
            scopes,
            expires_at,
            jkt,
        }),
    })
}

/// `cnf.jkt` (RFC 9449 §6.1), when the token is bound to a DPoP key. A token bound another
/// way (`x5t#S256`, RFC 8705 mTLS) is refused: its binding cannot be checked here.
fn confirmation(claims: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let Some(cnf) = cnf.as_object() else {
        return Err(TokenError::WrongClaim("cnf"));
    };
    if cnf.keys().any(|method| method != "jkt") {
        return Err(TokenError::WrongClaim("cnf"));
    }
    match cnf.get("jkt") {
        None => Ok(None),
        Some(Value::String(jkt)) if !jkt.is_empty() => Ok(Some(jkt.clone())),
        Some(_) => Err(TokenError::WrongClaim("cnf")),
    }
}

/// Whether `token` is a compact JWS (three parts): verified locally; anything else is opaque
/// and goes to introspection.
pub(crate) fn is_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// `aud` names this resource: exactly, or differing only by the `/` a bare origin may end in
/// (`https://api.example.com` and `https://api.example.com/` are one resource).
fn same_resource(aud: &str, resource: &str) -> bool {
    aud == resource || bare_origin(aud).is_some_and(|aud| bare_origin(resource) == Some(aud))
}

/// `uri` without its one trailing `/`, when it is a bare origin (no path beyond that `/`).
fn bare_origin(uri: &str) -> Option<&str> {
    let uri = uri.strip_suffix('/').unwrap_or(uri);
    let rest = uri.split_once("://").map_or("/", |(_, rest)| rest);
    (!rest.contains('/')).then_some(uri)
}

/// RFC 8693 §4.2 `scope` (space-separated), or the `scp` array some providers use.
fn granted_scopes(claims: &Map<String, Value>) -> Vec<String> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(list)), _) => crate::scope::parse_scope_list(list),
        (_, Some(Value::Array(list))) => list
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| crate::scope::is_valid_scope_token(s))
            .map(str::to_string)
            .collect(),
        (_, Some(Value::String(list))) => crate::scope::parse_scope_list(list),
        _ => Vec::new(),
    }
}

/// What the `Authorization` header holds.
pub(crate) enum Credentials<'a> {
    /// `Bearer <token>`.
    Bearer(&'a str),
    /// `DPoP <token>` (RFC 9449 §7.1), with a proof in the `DPoP` header.
    Dpop(&'a str),
    /// Another scheme: no credentials this resource understands (RFC 6750 §3.1: no error code).
    OtherScheme,
}

/// The token part of `Authorization: Bearer <token>` (RFC 6750 §2.1) or `DPoP <token>`
/// (RFC 9449 §7.1, the same syntax), without the byte-by-byte syntax check: the cache lookup
/// only finds tokens that passed it. Call [`check_b64token`] on a miss.
pub(crate) fn split_credentials(header: &str) -> Result<Credentials<'_>, TokenError> {
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(TokenError::Malformed(
            "the Authorization header is too long",
        ));
    }
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Credentials::OtherScheme);
    }
    let token = token.trim_start_matches(' ');
    Ok(if dpop {
        Credentials::Dpop(token)
    } else {
        Credentials::Bearer(token)
    })
}

/// b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "="s.
pub(crate) fn check_b64token(token: &str) -> Result<(), TokenError> {
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(TokenError::Malformed("the token is not a b64token"))
    }
}

/// Verified tokens by their text, until their `exp` (plus skew; for an introspected token at
/// most [`INTROSPECTION_TTL_SECS`]), and opaque tokens the provider called inactive (by their
/// SHA-256), for as long.
///
/// The verified map is keyed by the whole token, compared in full on a hit, and hashed with
/// foldhash: only tokens that passed verification go in, so no outsider chooses its keys and
/// its hash needs no resistance to collisions. SHA-256 of a 1 KiB JWT cost 1.7 µs here, a
/// fifth of a whole bearer request (BENCHMARKS.md, ninth round). The inactive map takes
/// tokens anyone sends, so it keeps the SHA-256 key, computed only on that path.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    tokens: Mutex<HashMap<Box<str>, VerifiedAccessToken, foldhash::fast::RandomState>>,
    inactive: Mutex<HashMap<[u8; 32], i64>>,
}

/// How long an introspection answer is reused: a revoked token stops working within this.
pub(crate) const INTROSPECTION_TTL_SECS: i64 = 60;

pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

impl VerifiedTokens {
    /// The token verified earlier, while it has not expired.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedAccessToken> {
        let tokens = lock(&self.tokens);
        let token = tokens.get(token)?;
        (token.inner.expires_at > now).then(|| token.clone())
    }

    /// Whether the provider called this opaque token inactive recently.
    pub(crate) fn known_inactive(&self, hash: &[u8; 32], now: i64) -> bool {
        lock(&self.inactive)
            .get(hash)
            .is_some_and(|until| *until > now)
    }

    /// Remembers an inactive opaque token (bounded like the verified ones).
    pub(crate) fn insert_inactive(&self, hash: [u8; 32], now: i64) {
        let mut inactive = lock(&self.inactive);
        if inactive.len() >= CACHE_CAPACITY {
            inactive.retain(|_, until| *until > now);
        }
        if inactive.len() >= CACHE_CAPACITY {
            let first = inactive.keys().next().copied();
            if let Some(key) = first {
                inactive.remove(&key);
            }
        }
        inactive.insert(hash, now.saturating_add(INTROSPECTION_TTL_SECS));
    }

    pub(crate) fn insert(&self, text: &str, token: VerifiedAccessToken, now: i64) {
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= CACHE_CAPACITY {
            tokens.retain(|_, kept| kept.inner.expires_at > now);
        }
        if tokens.len() >= CACHE_CAPACITY {
            let soonest = tokens
                .iter()
                .min_by_key(|(_, kept)| kept.inner.expires_at)
                .map(|(key, _)| key.clone());
            if let Some(key) = soonest {
                tokens.remove(&key);
            }
        }
        tokens.insert(text.into(), token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(now: i64) -> Expectations<'static> {
        Expectations {
            issuer: "https://as.example",
            resource: "https://api.example",
            now,
            skew: 60,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn good() -> Value {
        json!({"iss": "https://as.example", "aud": "https://api.example/", "exp": 2_000,
               "iat": 1_000, "sub": "alice", "client_id": "app", "scope": "orders:read openid"})
    }

    #[test]
    fn accepts_a_token_for_this_resource() {
        let token = check_claims(claims(good()), &expect(1_500)).expect("valid");
        assert_eq!(token.subject(), Some("alice"));
        assert!(token.has_scopes(&["orders:read"]));
        assert!(!token.has_scopes(&["orders:write"]));
        assert!(!format!("{token:?}").contains("iss"));
    }

    #[test]
    fn refuses_wrong_issuer_audience_and_times() {
        let with = |name: &str, value: Value| {
            let mut map = claims(good());
            map.insert(name.into(), value);
            check_claims(map, &expect(1_500)).err()
        };
        assert!(matches!(
            with("iss", json!("https://evil")),
            Some(TokenError::WrongClaim("iss"))
        ));
        assert!(matches!(
            with("aud", json!(["https://other"])),
            Some(TokenError::WrongClaim("aud"))
        ));
        assert!(matches!(
            with("exp", json!(1_400)),
            Some(TokenError::Expired)
        ));
        assert!(matches!(
            with("nbf", json!(1_700)),
            Some(TokenError::WrongClaim("nbf"))
        ));
        assert!(matches!(
            with("iat", json!(1_600)),
            Some(TokenError::IssuedInFuture)
        ));
        assert!(matches!(
            with("cnf", json!({"jkt": 7})),
            Some(TokenError::WrongClaim("cnf"))
        ));
        assert!(matches!(
            with("cnf", json!({"x5t#S256": "abc"})),
            Some(TokenError::WrongClaim("cnf"))
        ));
        let mut bound = claims(good());
        bound.insert("cnf".into(), json!({"jkt": "abc"}));
        let bound = check_claims(bound, &expect(1_500)).expect("bound");
        assert_eq!(bound.jkt(), Some("abc"));
        assert!(bound.is_dpop_bound());
        assert!(matches!(
            with("nonce", json!("n")),
            Some(TokenError::WrongClaim("nonce"))
        ));
        assert!(same_resource("https://api.example/", "https://api.example"));
        assert!(!same_resource(
            "https://api.example/mcp/",
            "https://api.example/mcp"
        ));
        let mut map = claims(good());
        map.remove("aud");
        assert!(matches!(
            check_claims(map, &expect(1_500)),
            Err(TokenError::MissingClaim("aud"))
        ));
    }

    #[test]
    fn introspection_answers() {
        let check = |value: Value| {
            let mut map = claims(value);
            map.entry("aud").or_insert(json!("https://api.example"));
            check_introspection(map, &expect(1_500), 60)
        };
        let active =
            check(json!({"active": true, "scope": "orders:read", "exp": 1_520})).expect("active");
        assert_eq!(
            active.expires_at(),
            1_560,
            "exp + skew, under the minute's cap"
        );
        let capped = check(json!({"active": true, "exp": 9_000})).expect("active");
        assert_eq!(capped.expires_at(), 1_560);
        assert!(matches!(
            check(json!({"active": false})),
            Err(TokenError::WrongClaim("active"))
        ));
        assert!(matches!(
            check(json!({"active": "true"})),
            Err(TokenError::WrongClaim("active"))
        ));
        assert!(matches!(
            check(json!({"active": true, "aud": "https://other"})),
            Err(TokenError::WrongClaim("aud"))
        ));
        assert!(matches!(
            check(json!({"active": true, "iss": "https://evil"})),
            Err(TokenError::WrongClaim("iss"))
        ));
        assert!(matches!(
            check(json!({"active": true, "token_type": "DPoP"})),
            Err(TokenError::WrongClaim("token_type"))
        ));
        let bound = check(json!({"active": true, "token_type": "DPoP", "cnf": {"jkt": "k"}}))
            .expect("DPoP-bound");
        assert_eq!(bound.jkt(), Some("k"));
        assert!(matches!(
            check(json!({"active": true, "token_type": "refresh_token"})),
            Err(TokenError::WrongClaim("token_type"))
        ));
        assert!(matches!(
            check_introspection(claims(json!({"active": true})), &expect(1_500), 60),
            Err(TokenError::MissingClaim("aud"))
        ));
        assert!(matches!(
            check(json!({"active": true, "exp": 1_000})),
            Err(TokenError::Expired)
        ));
    }

    #[test]
    fn reads_scp_arrays() {
        let mut map = claims(good());
        map.remove("scope");
        map.insert("scp".into(), json!(["a", "b"]));
        let token = check_claims(map, &expect(1_500)).expect("valid");
        assert_eq!(token.scopes(), ["a", "b"]);
    }

    /// The whole header check, as the engine makes it on a cache miss.
    fn bearer_token(header: &str) -> Result<Credentials<'_>, TokenError> {
        let credentials = split_credentials(header)?;
        if let Credentials::Bearer(token) | Credentials::Dpop(token) = credentials {
            check_b64token(token)?;
        }
        Ok(credentials)
    }

    #[test]
    fn parses_the_authorization_header() {
        let token = |header: &str| match bearer_token(header) {
            Ok(Credentials::Bearer(token)) => Some(token.to_string()),
            _ => None,
        };
        assert_eq!(
            token("Bearer abc.def-_~+/=").as_deref(),
            Some("abc.def-_~+/=")
        );
        assert_eq!(token("bearer  abc").as_deref(), Some("abc"));
        assert!(matches!(
            bearer_token("DPoP abc"),
            Ok(Credentials::Dpop("abc"))
        ));
        assert!(matches!(
            bearer_token("Basic abc"),
            Ok(Credentials::OtherScheme)
        ));
        assert!(bearer_token("Bearer").is_err());
        assert!(bearer_token("Bearer a b").is_err());
        assert!(bearer_token("Bearer =").is_err());
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
        assert!(bearer_token(&long).is_err());
    }

    #[test]
    fn the_cache_forgets_expired_tokens_and_stays_bounded() {
        let cache = VerifiedTokens::default();
        let token = check_claims(claims(good()), &expect(1_500)).expect("valid");
        cache.insert("a", token.clone(), 1_500);
        assert!(cache.get("a", 1_500).is_some());
        assert!(cache.get("b", 1_500).is_none());
        assert!(cache.get("a", 2_060).is_none());
        for i in 0..CACHE_CAPACITY + 10 {
            cache.insert(&i.to_string(), token.clone(), 1_500);
        }
        assert!(lock(&cache.tokens).len() <= CACHE_CAPACITY);
    }
}
