//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6).

use serde_json::{Map, Value};

use crate::error::TokenError;
use crate::http_client::ProviderHttp;
use crate::id_token::{check_audience, check_issuer, numeric};
use crate::keys::{KeyCache, KidSource};

pub(crate) const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Longest `jti` remembered (it becomes a store key).
const MAX_JTI_BYTES: usize = 256;

/// A logout token that passed every check; says which sessions to end.
#[derive(Debug)]
pub(crate) struct VerifiedLogoutToken {
    pub sid: Option<String>,
    pub subject: Option<String>,
    pub jti: String,
    /// Unix seconds after which the checks refuse this token anyway (its `exp`, or its `iat`
    /// leaving the accepted window, plus skew): the `jti` need not be remembered longer.
    pub refused_after: i64,
}

/// What a logout token must say.
pub(crate) struct LogoutExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    pub now: i64,
    pub skew: i64,
    /// How old (by `iat`) a token may be, in seconds.
    pub max_age: i64,
}

pub(crate) async fn verify(
    keys: &KeyCache,
    http: &ProviderHttp,
    token: &str,
    expect: &LogoutExpectations<'_>,
) -> Result<VerifiedLogoutToken, TokenError> {
    let signed = keys.verify(http, token, KidSource::Anyone).await?;
    // §2.4: `logout+jwt`, written in full or not; plain `JWT` as older providers send it.
    let accepted_typ = |typ: &str| {
        ["logout+jwt", "application/logout+jwt", "jwt"]
            .iter()
            .any(|accepted| typ.eq_ignore_ascii_case(accepted))
    };
    if signed.typ.as_deref().is_some_and(|typ| !accepted_typ(typ)) {
        return Err(TokenError::WrongClaim("typ"));
    }
    check_claims(&signed.claims()?, expect)
}

pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    expect: &LogoutExpectations<'_>,
) -> Result<VerifiedLogoutToken, TokenError> {
    let LogoutExpectations {
        issuer: _,
        client_id,
        trusted_audiences,
        now,
        skew,
        max_age,
    } = *expect;
    check_issuer(claims, expect.issuer)?;
    check_audience(claims, client_id, trusted_audiences)?;
    let iat = numeric(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > now.saturating_add(skew) {
        return Err(TokenError::IssuedInFuture);
    }
    // §2.4: `exp` and `jti` are required.
    let exp = numeric(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    let last = exp.saturating_add(skew);
    if last <= now {
        return Err(TokenError::Expired);
    }
    // §2.6 step 6 lets the RP refuse tokens issued too long ago: a replay window bound.
    let oldest = iat.saturating_add(max_age).saturating_add(skew);
    if oldest <= now {
        return Err(TokenError::WrongClaim("iat"));
    }
    let events = claims
        .get("events")
        .and_then(Value::as_object)
        .ok_or(TokenError::MissingClaim("events"))?;
    if !events.get(BACKCHANNEL_EVENT).is_some_and(Value::is_object) {
        return Err(TokenError::WrongClaim("events"));
    }
    if claims.contains_key("nonce") {
        return Err(TokenError::WrongClaim("nonce"));
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (sid, subject) = (text("sid"), text("sub"));
    if sid.is_none() && subject.is_none() {
        return Err(TokenError::MissingClaim("sid or sub"));
    }
    let jti = text("jti").ok_or(TokenError::MissingClaim("jti"))?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(TokenError::WrongClaim("jti"));
    }
    Ok(VerifiedLogoutToken {
        sid,
        subject,
        jti,
        refused_after: last.min(oldest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn check(
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<VerifiedLogoutToken, TokenError> {
        let mut claims = json!({
            "iss": "https://idp/as", "aud": "app", "iat": NOW, "exp": NOW + 120, "jti": "j1", "sid": "s1",
            "events": { BACKCHANNEL_EVENT: {} }
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        change(&mut claims);
        let expect = LogoutExpectations {
            issuer: "https://idp/as",
            client_id: "app",
            trusted_audiences: &[],
            now: NOW,
            skew: 60,
            max_age: 300,
        };
        check_claims(&claims, &expect)
    }

    #[test]
    fn accepts_good_token() {
        let token = check(|_| {}).expect("valid");
        assert_eq!(token.sid.as_deref(), Some("s1"));
        assert_eq!(
            token.refused_after,
            NOW + 120 + 60,
            "exp + skew comes first"
        );
    }

    #[test]
    fn rejects_bad_tokens() {
        assert_eq!(
            check(|c| {
                c.insert("iss".into(), json!("x"));
            })
            .expect_err("iss"),
            TokenError::WrongClaim("iss")
        );
        assert_eq!(
            check(|c| {
                c.insert("aud".into(), json!("x"));
            })
            .expect_err("aud"),
            TokenError::WrongClaim("aud")
        );
        assert_eq!(
            check(|c| {
                c.remove("iat");
            })
            .expect_err("iat"),
            TokenError::MissingClaim("iat")
        );
        assert_eq!(
            check(|c| {
                c.remove("events");
            })
            .expect_err("events"),
            TokenError::MissingClaim("events")
        );
        assert_eq!(
            check(|c| {
                c.insert("events".into(), json!({"other": {}}));
            })
            .expect_err("events"),
            TokenError::WrongClaim("events")
        );
        assert_eq!(
            check(|c| {
                c.insert("nonce".into(), json!("n"));
            })
            .expect_err("nonce"),
            TokenError::WrongClaim("nonce")
        );
        assert_eq!(
            check(|c| {
                c.remove("sid");
            })
            .expect_err("sid"),
            TokenError::MissingClaim("sid or sub")
        );
        assert_eq!(
            check(|c| {
                c.insert("exp".into(), json!(NOW - 600));
            })
            .expect_err("exp"),
            TokenError::Expired
        );
        for required in ["exp", "jti"] {
            assert_eq!(
                check(|c| {
                    c.remove(required);
                })
                .expect_err(required),
                TokenError::MissingClaim(required)
            );
        }
        assert_eq!(
            check(|c| {
                c.insert("iat".into(), json!(NOW - 3600));
            })
            .expect_err("old iat"),
            TokenError::WrongClaim("iat")
        );
        assert_eq!(
            check(|c| {
                c.insert("iat".into(), json!(i64::MIN));
                c.insert("exp".into(), json!(i64::MAX));
            })
            .expect_err("extreme times"),
            TokenError::WrongClaim("iat"),
            "no overflow"
        );
    }
}
