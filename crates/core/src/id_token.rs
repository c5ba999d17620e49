//! ID-token validation (OpenID Connect Core 1.0, section 3.1.3.7).
//!
//! [`VerifiedIdToken`] can only be made here, after the signature and every claim check pass.
//!
//! Over 500 lines because half of the file is the table of refused claims next to the checks
//! they test (the code itself is about 230 lines).

use serde_json::{Map, Value};

use crate::crypto::{b64url_encode, constant_time_eq};
use crate::error::TokenError;
use crate::http_client::ProviderHttp;
use crate::jose::Algorithm;
use crate::keys::{KeyCache, KidSource};

/// An ID token whose signature and claims were checked.
#[derive(Clone)]
pub struct VerifiedIdToken {
    raw: String,
    subject: String,
    sid: Option<String>,
    claims: Map<String, Value>,
}

/// The subject and `sid` only: the raw token is a bearer credential (`id_token_hint`).
impl std::fmt::Debug for VerifiedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdToken")
            .field("subject", &self.subject)
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

impl VerifiedIdToken {
    /// The `sub` claim.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The provider session id (`sid`), used by back-channel logout.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub(crate) fn into_parts(self) -> (String, Map<String, Value>) {
        (self.raw, self.claims)
    }
}

/// What the token must say.
pub(crate) struct Expectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    /// The nonce sent at sign-in; `None` for a token from a refresh.
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// On refresh: the claims of the session's original ID token (OIDC Core §12.2).
    pub original: Option<&'a Map<String, Value>>,
    pub now: i64,
    pub skew: i64,
}

/// Checks the signature with the provider's keys, then every claim.
pub(crate) async fn verify(
    keys: &KeyCache,
    http: &ProviderHttp,
    token: &str,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, TokenError> {
    let signed = keys.verify(http, token, KidSource::Provider).await?;
    check_claims(token, signed.alg, signed.claims()?, expect)
}

pub(crate) fn check_claims(
    raw: &str,
    alg: Algorithm,
    claims: Map<String, Value>,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, TokenError> {
    check_issuer(&claims, expect.issuer)?;
    check_audience(&claims, expect.client_id, expect.trusted_audiences)?;
    let exp = numeric(&claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    if exp.saturating_add(expect.skew) <= expect.now {
        return Err(TokenError::Expired);
    }
    if numeric(&claims, "nbf")?.is_some_and(|nbf| nbf > expect.now.saturating_add(expect.skew)) {
        return Err(TokenError::WrongClaim("nbf"));
    }
    let iat = numeric(&claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > expect.now.saturating_add(expect.skew) {
        return Err(TokenError::IssuedInFuture);
    }
    let subject = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= 255 => sub.to_string(),
        Some(_) => return Err(TokenError::WrongClaim("sub")),
        None => return Err(TokenError::MissingClaim("sub")),
    };
    if let Some(original) = expect.original {
        check_refreshed(&claims, original)?;
    }
    if let Some(nonce) = expect.nonce {
        match claims.get("nonce").and_then(Value::as_str) {
            None => return Err(TokenError::MissingClaim("nonce")),
            Some(got) if !constant_time_eq(got, nonce) => {
                return Err(TokenError::WrongClaim("nonce"))
            }
            Some(_) => {}
        }
    }
    if let (Some(at_hash), Some(access_token)) = (claims.get("at_hash"), expect.access_token) {
        let at_hash = at_hash.as_str().ok_or(TokenError::WrongClaim("at_hash"))?;
        if !constant_time_eq(at_hash, &token_hash(alg, access_token)) {
            return Err(TokenError::WrongClaim("at_hash"));
        }
    }
    let sid = claims
        .get("sid")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(VerifiedIdToken {
        raw: raw.to_string(),
        subject,
        sid,
        claims,
    })
}

/// OIDC Core §12.2: a refreshed ID token has the original's `iss` (checked against the
/// configuration already), `sub` and `aud`; its `nonce`, if any, is the original's. Its
/// `auth_time` is not trusted to change: the engine keeps the original's.
fn check_refreshed(
    claims: &Map<String, Value>,
    original: &Map<String, Value>,
) -> Result<(), TokenError> {
    if claims.get("sub") != original.get("sub") {
        return Err(TokenError::WrongClaim("sub"));
    }
    let audiences = |claims: &Map<String, Value>| {
        let mut list: Vec<String> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        list.sort_unstable();
        list.dedup();
        list
    };
    if audiences(claims) != audiences(original) {
        return Err(TokenError::WrongClaim("aud"));
    }
    match (
        claims.get("nonce"),
        original.get("nonce").and_then(Value::as_str),
    ) {
        (None, _) => Ok(()),
        (Some(Value::String(got)), Some(first)) if constant_time_eq(got, first) => Ok(()),
        (Some(_), _) => Err(TokenError::WrongClaim("nonce")),
    }
}

/// The claims of an ID token this engine verified and stored earlier (no check repeated).
pub(crate) fn stored_claims(raw: &str) -> Option<Map<String, Value>> {
    let payload = raw.split('.').nth(1)?;
    serde_json::from_slice(&crate::crypto::b64url_decode(payload)?).ok()
}

/// `iss` must be the configured issuer, exactly.
pub(crate) fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), TokenError> {
    match claims.get("iss").and_then(Value::as_str) {
        None => Err(TokenError::MissingClaim("iss")),
        Some(iss) if iss != issuer => Err(TokenError::WrongClaim("iss")),
        Some(_) => Ok(()),
    }
}

/// `aud` must contain the client; extra audiences must be trusted; with several, `azp` must
/// be the client. An `azp` that is present must always be the client.
pub(crate) fn check_audience(
    claims: &Map<String, Value>,
    client_id: &str,
    trusted: &[String],
) -> Result<(), TokenError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or(TokenError::WrongClaim("aud"))?,
        Some(_) => return Err(TokenError::WrongClaim("aud")),
        None => return Err(TokenError::MissingClaim("aud")),
    };
    if !audiences.contains(&client_id) {
        return Err(TokenError::WrongClaim("aud"));
    }
    if audiences
        .iter()
        .any(|aud| *aud != client_id && !trusted.iter().any(|t| t == aud))
    {
        return Err(TokenError::WrongClaim("aud"));
    }
    match claims.get("azp").map(Value::as_str) {
        Some(Some(azp)) if azp == client_id => Ok(()),
        Some(_) => Err(TokenError::WrongClaim("azp")),
        None if audiences.len() > 1 => Err(TokenError::MissingClaim("azp")),
        None => Ok(()),
    }
}

/// A NumericDate claim; floats are truncated.
pub(crate) fn numeric(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(TokenError::WrongClaim(name)),
    }
}

/// `at_hash`: base64url of the left half of the token's hash with the JWS algorithm's digest.
pub(crate) fn token_hash(alg: Algorithm, token: &str) -> String {
    let digest = ring::digest::digest(alg.hash(), token.as_bytes());
    let bytes = digest.as_ref();
    b64url_encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expect<'a>() -> Expectations<'a> {
        Expectations {
            issuer: "https://idp.example/as",
            client_id: "app",
            trusted_audiences: &[],
            nonce: Some("n-123"),
            access_token: Some("access-abc"),
            original: None,
            now: NOW,
            skew: 60,
        }
    }

    fn good() -> Map<String, Value> {
        let value = json!({
            "iss": "https://idp.example/as", "aud": "app", "sub": "alice", "exp": NOW + 300,
            "iat": NOW - 5, "nonce": "n-123", "at_hash": token_hash(Algorithm::RS256, "access-abc"), "sid": "s1"
        });
        value.as_object().cloned().unwrap_or_default()
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Result<VerifiedIdToken, TokenError> {
        let mut claims = good();
        change(&mut claims);
        check_claims("raw", Algorithm::RS256, claims, &expect())
    }

    #[test]
    fn debug_leaves_the_raw_token_out() {
        let token =
            check_claims("raw-secret-token", Algorithm::RS256, good(), &expect()).expect("valid");
        let printed = format!("{token:?}");
        assert!(!printed.contains("raw-secret-token"), "{printed}");
        assert!(printed.contains("alice"), "{printed}");
    }

    #[test]
    fn accepts_good_token() {
        let token = with(|_| {}).expect("valid");
        assert_eq!(token.subject(), "alice");
        assert_eq!(token.sid(), Some("s1"));
    }

    #[test]
    fn rejects_each_bad_claim() {
        type Change = Box<dyn FnOnce(&mut Map<String, Value>)>;
        let cases: Vec<(Change, TokenError)> = vec![
            (
                Box::new(|c| {
                    c.insert("iss".into(), json!("https://evil"));
                }),
                TokenError::WrongClaim("iss"),
            ),
            (
                Box::new(|c| {
                    c.remove("iss");
                }),
                TokenError::MissingClaim("iss"),
            ),
            (
                Box::new(|c| {
                    c.insert("aud".into(), json!("other"));
                }),
                TokenError::WrongClaim("aud"),
            ),
            (
                Box::new(|c| {
                    c.remove("aud");
                }),
                TokenError::MissingClaim("aud"),
            ),
            (
                Box::new(|c| {
                    c.insert("aud".into(), json!(["app", "other"]));
                }),
                TokenError::WrongClaim("aud"),
            ),
            (
                Box::new(|c| {
                    c.insert("exp".into(), json!(NOW - 61));
                }),
                TokenError::Expired,
            ),
            (
                Box::new(|c| {
                    c.remove("exp");
                }),
                TokenError::MissingClaim("exp"),
            ),
            (
                Box::new(|c| {
                    c.remove("iat");
                }),
                TokenError::MissingClaim("iat"),
            ),
            (
                Box::new(|c| {
                    c.insert("iat".into(), json!(NOW + 600));
                }),
                TokenError::IssuedInFuture,
            ),
            (
                Box::new(|c| {
                    c.remove("sub");
                }),
                TokenError::MissingClaim("sub"),
            ),
            (
                Box::new(|c| {
                    c.insert("sub".into(), json!(""));
                }),
                TokenError::WrongClaim("sub"),
            ),
            (
                Box::new(|c| {
                    c.insert("nonce".into(), json!("other"));
                }),
                TokenError::WrongClaim("nonce"),
            ),
            (
                Box::new(|c| {
                    c.remove("nonce");
                }),
                TokenError::MissingClaim("nonce"),
            ),
            (
                Box::new(|c| {
                    c.insert("at_hash".into(), json!("AAAA"));
                }),
                TokenError::WrongClaim("at_hash"),
            ),
            (
                Box::new(|c| {
                    c.insert("azp".into(), json!("other"));
                }),
                TokenError::WrongClaim("azp"),
            ),
            (
                Box::new(|c| {
                    c.insert("exp".into(), json!("soon"));
                }),
                TokenError::WrongClaim("exp"),
            ),
        ];
        for (change, expected) in cases {
            let error = with(change).expect_err("must be rejected");
            assert_eq!(error, expected);
        }
    }

    #[test]
    fn several_audiences_need_trust_and_azp() {
        let trusted = vec!["api".to_string()];
        let mut claims = good();
        claims.insert("aud".into(), json!(["app", "api"]));
        let mut expectations = expect();
        expectations.trusted_audiences = &trusted;
        assert_eq!(
            check_claims("raw", Algorithm::RS256, claims.clone(), &expectations)
                .expect_err("no azp"),
            TokenError::MissingClaim("azp")
        );
        claims.insert("azp".into(), json!("api"));
        assert_eq!(
            check_claims("raw", Algorithm::RS256, claims.clone(), &expectations)
                .expect_err("wrong azp"),
            TokenError::WrongClaim("azp")
        );
        claims.insert("azp".into(), json!("app"));
        assert!(check_claims("raw", Algorithm::RS256, claims, &expectations).is_ok());
    }

    /// OIDC Core §12.2: same `sub` and `aud`; `nonce` absent or the original's.
    #[test]
    fn refreshed_token_matches_the_original() {
        let original = good();
        let trusted = vec!["api".to_string()];
        let refreshed = |change: &dyn Fn(&mut Map<String, Value>)| -> Result<(), TokenError> {
            let mut expectations = expect();
            expectations.trusted_audiences = &trusted;
            expectations.nonce = None;
            expectations.original = Some(&original);
            let mut claims = good();
            change(&mut claims);
            check_claims("raw", Algorithm::RS256, claims, &expectations).map(|_| ())
        };
        assert_eq!(refreshed(&|_| {}), Ok(()), "the same claims");
        assert_eq!(
            refreshed(&|c| {
                c.remove("nonce");
            }),
            Ok(()),
            "no nonce"
        );
        type Change<'c> = &'c dyn Fn(&mut Map<String, Value>);
        let refused: [(Change, TokenError); 4] = [
            (
                &|c| {
                    c.insert("sub".into(), json!("bob"));
                },
                TokenError::WrongClaim("sub"),
            ),
            (
                &|c| {
                    c.insert("nonce".into(), json!("other"));
                },
                TokenError::WrongClaim("nonce"),
            ),
            (
                &|c| {
                    c.insert("nonce".into(), json!(7));
                },
                TokenError::WrongClaim("nonce"),
            ),
            (
                &|c| {
                    c.insert("aud".into(), json!(["app", "api"]));
                    c.insert("azp".into(), json!("app"));
                },
                TokenError::WrongClaim("aud"),
            ),
        ];
        for (change, expected) in refused {
            assert_eq!(refreshed(change), Err(expected));
        }
    }

    #[test]
    fn aud_members_must_be_strings_and_nbf_is_honoured() {
        assert_eq!(
            with(|c| {
                c.insert("aud".into(), json!(["app", 7]));
            })
            .map(|_| ()),
            Err(TokenError::WrongClaim("aud"))
        );
        assert_eq!(
            with(|c| {
                c.insert("nbf".into(), json!(NOW + 600));
            })
            .map(|_| ()),
            Err(TokenError::WrongClaim("nbf"))
        );
        assert!(with(|c| {
            c.insert("nbf".into(), json!(NOW - 10));
        })
        .is_ok());
        assert_eq!(
            with(|c| {
                c.insert("exp".into(), json!(i64::MAX));
                c.insert("iat".into(), json!(i64::MIN));
            })
            .map(|_| ()),
            Ok(()),
            "extreme times do not overflow"
        );
    }

    #[test]
    fn at_hash_matches_spec_example() {
        // OpenID Connect Core, appendix A.3: access token and its at_hash for RS256.
        assert_eq!(
            token_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
