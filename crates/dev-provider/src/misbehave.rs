//! Deliberate protocol violations for negative tests of relying parties. TEST-ONLY.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::keys::SignMode;

/// Issuer used by the "wrong issuer" misbehaviours.
pub const WRONG_ISSUER: &str = "https://wrong-issuer.invalid/as";
/// Audience used by the "wrong/extra audience" misbehaviours.
pub const OTHER_AUDIENCE: &str = "some-other-client";
/// Subject used by the "wrong subject" misbehaviours.
pub const WRONG_SUBJECT: &str = "00000000-dead-4bad-8bad-000000000000";
/// `state` used by [`Misbehavior::FlowWrongState`].
pub const FLOW_WRONG_STATE: &str = "wrong-state";
/// Nonce used by [`Misbehavior::IdTokenWrongNonce`].
pub const WRONG_NONCE: &str = "not-the-nonce-you-sent";

/// A way to make the provider's responses wrong, for negative tests of relying parties.
/// **Test-only**: set with [`DevProvider::set_misbehavior`](crate::DevProvider::set_misbehavior);
/// it stays in effect for every following response until replaced (use `Misbehavior::None` to
/// go back to correct behaviour).
///
/// `IdToken*` variants affect every ID token issued (code exchange and refresh); `Refresh*`
/// variants only the ID token returned by the refresh grant.
///
/// ```no_run
/// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
/// use ping_oidc_dev_provider::{DevProvider, Misbehavior};
/// let provider = DevProvider::builder().start().await?;
/// provider.set_misbehavior(Misbehavior::IdTokenWrongNonce);
/// // ... the relying party under test must now reject the sign-in ...
/// provider.set_misbehavior(Misbehavior::None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Misbehavior {
    /// Behave correctly.
    #[default]
    None,
    /// ID token signature bytes are corrupted (header and payload intact, `kid` present).
    CorruptIdTokenSignature,
    /// ID token with header `alg: none` and an empty signature.
    IdTokenAlgNone,
    /// ID token `iss` is [`WRONG_ISSUER`].
    IdTokenWrongIssuer,
    /// ID token `aud` is [`OTHER_AUDIENCE`] (and `azp` is removed).
    IdTokenWrongAudience,
    /// ID token has no `aud`.
    IdTokenNoAudience,
    /// ID token `aud` is `[client_id, OTHER_AUDIENCE]` and `azp` is [`OTHER_AUDIENCE`].
    IdTokenExtraAudienceWrongAzp,
    /// ID token has no `iat`.
    IdTokenMissingIat,
    /// ID token `exp` is ten minutes in the past (`iat` twenty minutes in the past).
    IdTokenExpired,
    /// ID token has no `sub`.
    IdTokenMissingSub,
    /// ID token `nonce` is [`WRONG_NONCE`] (also on refresh, where no nonce is expected).
    IdTokenWrongNonce,
    /// ID token has no `nonce` even though the authorization request had one.
    IdTokenMissingNonce,
    /// ID token `nbf` is ten minutes in the future.
    IdTokenNotYetValid,
    /// ID token `aud` is `[client_id, 7]`: an array with a member that is not a string.
    IdTokenAudienceNotString,
    /// ID token `at_hash` does not match the access token.
    IdTokenWrongAtHash,
    /// ID token signed correctly but without `kid` in the header.
    IdTokenNoKid,
    /// ID token whose header names a critical extension (`crit`, RFC 7515 §4.1.11) that no
    /// client understands; otherwise signed correctly.
    IdTokenCritHeader,
    /// ID token whose parts are base64url *with* `=` padding (RFC 7515 §2 forbids it) where
    /// their length calls for it; the header always does (a member is added if needed). The
    /// signature is over the padded parts, so only a strict parser refuses it.
    IdTokenPaddedBase64,
    /// The JWKS lists every key with `key_ops: ["encrypt"]` (RFC 7517 §4.3): none may verify
    /// a signature. Takes effect at the client's next JWKS fetch (a rotation, say).
    JwksKeysForEncryptionOnly,
    /// Userinfo returns `sub` = [`WRONG_SUBJECT`].
    UserinfoWrongSub,
    /// The authorization response carries `iss` = [`WRONG_ISSUER`] (RFC 9207 mix-up).
    AuthorizeWrongIss,
    /// The authorization endpoint redirects back with `error=access_denied`.
    AuthorizeAccessDenied,
    /// The token endpoint answers the code exchange with 400 `invalid_grant` (code not consumed).
    TokenEndpointError,
    /// The discovery document's `issuer` is [`WRONG_ISSUER`].
    DiscoveryWrongIssuer,
    /// The ID token returned by the refresh grant has `iss` = [`WRONG_ISSUER`].
    RefreshWrongIssuer,
    /// The ID token returned by the refresh grant has `sub` = [`WRONG_SUBJECT`].
    RefreshWrongSub,
    /// The ID token returned by the refresh grant adds [`OTHER_AUDIENCE`] to `aud` (with
    /// `azp` the client, so only a comparison with the original token catches it).
    RefreshAddsAudience,
    /// The ID token returned by the refresh grant has a new `auth_time` (now + 100 s).
    RefreshNewAuthTime,
    /// The refresh grant is answered with this OAuth error (the refresh token is not spent):
    /// `invalid_client` answers 401, any other code 400.
    RefreshError(&'static str),
    /// Every endpoint waits this long before answering.
    SlowResponses(Duration),
    /// The token endpoint does its work at once (a refresh token is rotated) and then waits
    /// this long before answering: a client that gives up meanwhile loses the answer.
    SlowTokenAnswers(Duration),
    /// Token responses carry a `padding` member of about 5 MiB.
    HugeTokenResponse,
    /// Flow API: the `authorizeResponse` (inline, resume JSON or resume 302) carries
    /// `state` = [`FLOW_WRONG_STATE`] (even when the request sent no `state`).
    FlowWrongState,
    /// Flow API: a new flow's first state has the status `QUANTUM_VERIFICATION_REQUIRED`
    /// (unknown to any client) with only a `self` link; the flow never moves on.
    FlowUnknownStatus,
    /// Flow API: where a flow would become `COMPLETED` it becomes `RESUME` with a
    /// `resumeUrl` and no code (both shapes), i.e. "a browser redirect is needed".
    FlowResume,
    /// Flow API, PingFederate shape: the `userMessage` of a wrong password holds markup
    /// ([`FLOW_MARKUP_MESSAGE`]), which a client's page must show as text.
    FlowMarkupMessage,
    /// ID tokens say `acr: "Single_Factor"` whatever `acr_values` asked for.
    LowerAcr,
}

/// The message of [`Misbehavior::FlowMarkupMessage`].
pub const FLOW_MARKUP_MESSAGE: &str =
    "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script><b>Wrong</b> password & \"quotes\"";

/// Size of the `padding` member added by [`Misbehavior::HugeTokenResponse`].
pub(crate) const HUGE_PADDING: usize = 5 * 1024 * 1024;

impl Misbehavior {
    /// How the ID token must be signed.
    pub(crate) fn id_token_sign_mode(&self) -> SignMode {
        match self {
            Misbehavior::CorruptIdTokenSignature => SignMode::CorruptSignature,
            Misbehavior::IdTokenAlgNone => SignMode::AlgNone,
            Misbehavior::IdTokenNoKid => SignMode::NoKid,
            Misbehavior::IdTokenCritHeader => SignMode::CritHeader,
            Misbehavior::IdTokenPaddedBase64 => SignMode::PaddedBase64,
            _ => SignMode::Normal,
        }
    }

    /// Applies claim-level misbehaviours to ID token claims.
    pub(crate) fn tweak_id_token(
        &self,
        claims: &mut Map<String, Value>,
        client_id: &str,
        refresh: bool,
        now: u64,
    ) {
        match self {
            Misbehavior::IdTokenWrongIssuer => {
                claims.insert("iss".into(), WRONG_ISSUER.into());
            }
            Misbehavior::IdTokenWrongAudience => {
                claims.insert("aud".into(), OTHER_AUDIENCE.into());
                claims.remove("azp");
            }
            Misbehavior::IdTokenNoAudience => {
                claims.remove("aud");
            }
            Misbehavior::IdTokenExtraAudienceWrongAzp => {
                claims.insert(
                    "aud".into(),
                    Value::Array(vec![client_id.into(), OTHER_AUDIENCE.into()]),
                );
                claims.insert("azp".into(), OTHER_AUDIENCE.into());
            }
            Misbehavior::IdTokenMissingIat => {
                claims.remove("iat");
            }
            Misbehavior::IdTokenExpired => {
                claims.insert("iat".into(), now.saturating_sub(1200).into());
                claims.insert("exp".into(), now.saturating_sub(600).into());
            }
            Misbehavior::IdTokenMissingSub => {
                claims.remove("sub");
            }
            Misbehavior::IdTokenWrongNonce => {
                claims.insert("nonce".into(), WRONG_NONCE.into());
            }
            Misbehavior::IdTokenMissingNonce => {
                claims.remove("nonce");
            }
            Misbehavior::IdTokenNotYetValid => {
                claims.insert("nbf".into(), (now + 600).into());
            }
            Misbehavior::IdTokenAudienceNotString => {
                claims.insert("aud".into(), Value::Array(vec![client_id.into(), 7.into()]));
            }
            Misbehavior::IdTokenWrongAtHash => {
                claims.insert(
                    "at_hash".into(),
                    crate::keys::at_hash("not-the-access-token").into(),
                );
            }
            Misbehavior::RefreshWrongIssuer if refresh => {
                claims.insert("iss".into(), WRONG_ISSUER.into());
            }
            Misbehavior::RefreshWrongSub if refresh => {
                claims.insert("sub".into(), WRONG_SUBJECT.into());
            }
            Misbehavior::RefreshAddsAudience if refresh => {
                claims.insert(
                    "aud".into(),
                    Value::Array(vec![client_id.into(), OTHER_AUDIENCE.into()]),
                );
                claims.insert("azp".into(), client_id.into());
            }
            Misbehavior::RefreshNewAuthTime if refresh => {
                claims.insert("auth_time".into(), (now + 100).into());
            }
            _ => {}
        }
    }
}

/// What kind of logout token [`DevProvider::logout_token`](crate::DevProvider::logout_token)
/// makes. **Test-only.** Every kind except the named defect is a well-formed, correctly signed
/// logout token for the given client, subject and session.
///
/// ```no_run
/// # async fn demo() -> Result<(), ping_oidc_dev_provider::Error> {
/// use ping_oidc_dev_provider::{DevProvider, LogoutTokenKind};
/// let provider = DevProvider::builder().start().await?;
/// let bad = provider.logout_token(LogoutTokenKind::WithNonce, "my-client", "user-sub", "session-id")?;
/// // POST `logout_token=<bad>` to the relying party's back-channel endpoint: expect 400.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutTokenKind {
    /// A correct logout token.
    Valid,
    /// `alg: none`, empty signature.
    AlgNone,
    /// `aud` is the given value instead of the client id.
    WrongAudience(String),
    /// `iss` is [`WRONG_ISSUER`].
    WrongIssuer,
    /// No `events` claim.
    MissingEvents,
    /// Carries a `nonce` claim (forbidden in logout tokens).
    WithNonce,
    /// `iat` twenty minutes ago, `exp` ten minutes ago.
    Expired,
    /// Neither `sid` nor `sub`.
    NoSidNoSub,
    /// No `jti` claim (required, so that replays can be refused).
    MissingJti,
    /// No `exp` claim (required by Back-Channel Logout 1.0 §2.4).
    MissingExp,
    /// `iat` an hour ago while `exp` is still an hour ahead: too old to accept.
    IssuedLongAgo,
    /// A correct token whose `typ` is the full media type `application/logout+jwt`.
    MediaTypeTyp,
}
