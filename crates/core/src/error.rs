//! Errors. Each maps to a deliberate status and a small page or JSON body (see `response`).

use std::fmt;

/// A failure talking to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider could not be reached or did not answer in time (answered with 503).
    Unreachable(String),
    /// The provider answered something unusable: bad JSON, too large, unexpected status.
    Invalid(String),
    /// The provider answered with an OAuth error such as `invalid_grant`.
    Rejected {
        /// The OAuth `error` code (ASCII only).
        error: String,
        /// `error_description`, cut to printable text.
        description: Option<String>,
    },
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(why) => write!(f, "the identity provider is unreachable: {why}"),
            Self::Invalid(why) => write!(f, "the identity provider answered unexpectedly: {why}"),
            Self::Rejected { error, description } => {
                write!(f, "the identity provider refused the request: {error}")?;
                if let Some(text) = description {
                    write!(f, " ({text})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ProviderError {}

/// Why a token was refused. Names the failed check, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts, a header that is not JSON, a `crit` header, too long.
    #[error("the token is not a well-formed JWS: {0}")]
    Malformed(&'static str),
    /// `none`, an HMAC algorithm or an unknown one.
    #[error("the token's alg `{0}` is not accepted")]
    AlgorithmNotAllowed(String),
    /// No provider key that fits verifies the signature.
    #[error("the token's signature does not verify with the provider's keys")]
    BadSignature,
    /// The `kid` names no provider key, even after a refetch.
    #[error("no provider key matches the token (kid unknown after a JWKS refetch)")]
    UnknownKey,
    /// The JWKS could not be fetched: try later (503), nothing is wrong with the token yet.
    #[error("the provider's keys could not be fetched: {0}")]
    KeysUnavailable(String),
    /// A required claim is absent.
    #[error("claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// A claim has a value the checks refuse.
    #[error("claim `{0}` has the wrong value")]
    WrongClaim(&'static str),
    /// `exp` (plus skew) has passed.
    #[error("the token has expired")]
    Expired,
    /// `iat` is later than now plus skew.
    #[error("the token was issued in the future")]
    IssuedInFuture,
}

impl TokenError {
    /// True when the provider's keys were unreachable (a 503, not a rejection).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable(_))
    }
}

/// The session store failed (Redis down, for example). Answered with 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(pub String);
