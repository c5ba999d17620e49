//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6).

use serde_json::{Map, Value};

use crate::error::TokenError;
use crate::http_client::ProviderHttp;
use crate::id_token::{check_audience, check_issuer, numeric};
use crate::keys::KeyCache;

pub(crate) const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token that passed every check; says which sessions to end.
#[derive(Debug)]
pub(crate) struct VerifiedLogoutToken {
    pub sid: Option<String>,
    pub subject: Option<String>,
    pub jti: Option<String>,
}

/// What a logout token must say.
pub(crate) struct LogoutExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    pub now: i64,
    pub skew: i64,
}

pub(crate) async fn verify(
    keys: &KeyCache,
    http: &ProviderHttp,
    token: &str,
    expect: &LogoutExpectations<'_>,
) -> Result<VerifiedLogoutToken, TokenError> {
    let signed = keys.verify(http, token).await?;
    let accepted_typ =
        |typ: &str| typ.eq_ignore_ascii_case("logout+jwt") || typ.eq_ignore_ascii_case("jwt");
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
    } = *expect;
    check_issuer(claims, expect.issuer)?;
    check_audience(claims, client_id, trusted_audiences)?;
    let iat = numeric(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > now + skew {
        return Err(TokenError::IssuedInFuture);
    }
    if let Some(exp) = numeric(claims, "exp")? {
        if exp + skew <= now {
            return Err(TokenError::Expired);
        }
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
    Ok(VerifiedLogoutToken {
        sid,
        subject,
        jti: text("jti"),
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
            "iss": "https://idp/as", "aud": "app", "iat": NOW, "jti": "j1", "sid": "s1",
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
        };
        check_claims(&claims, &expect)
    }

    #[test]
    fn accepts_good_token() {
        let token = check(|_| {}).expect("valid");
        assert_eq!(token.sid.as_deref(), Some("s1"));
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
    }
}
