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
///
/// It says what kind of failure it was and, in a message, what failed; never a key or a
/// value. A store attaches the underlying error as [`std::error::Error::source`] only when
/// that error cannot quote data (Redis and JSON errors can, so they are summed up instead).
///
/// ```
/// use ping_oidc::store::{StoreError, StoreErrorKind};
///
/// let error = StoreError::new(StoreErrorKind::Unavailable, "mystore: connection refused");
/// assert_eq!(error.kind(), StoreErrorKind::Unavailable);
/// assert_eq!(error.to_string(), "session store unavailable: mystore: connection refused");
/// ```
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: std::borrow::Cow<'static, str>,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

/// What kind of store failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused or lost, its worker stopped).
    Unavailable,
    /// The store did not answer in time.
    Timeout,
    /// The store answered with an error of its own.
    Backend,
    /// A stored value could not be read or written (corrupt, or not sealed when it must be).
    InvalidData,
    /// The store's own settings are wrong (an invalid URL, unreadable certificates).
    Config,
}

impl StoreError {
    /// A failure of `kind`; `message` says what failed, without keys or values.
    pub fn new(kind: StoreErrorKind, message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error, for [`std::error::Error::source`]. Only for errors
    /// that cannot quote keys or values.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(std::sync::Arc::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session store unavailable: {}", self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Equal when the kind and the message are (the source is not compared).
impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for StoreError {}
