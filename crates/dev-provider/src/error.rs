//! The crate's error type.

/// Errors from starting or driving the development provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The builder or a registration is invalid (non-loopback bind address, client without
    /// redirect URI, duplicate username, ...).
    #[error("invalid dev provider configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("could not bind the dev provider: {0}")]
    Bind(#[source] std::io::Error),
    /// Key loading, generation or signing failed.
    #[error("key error: {0}")]
    Key(String),
    /// [`DevProvider::sign_in`](crate::DevProvider::sign_in) was given an authorization request
    /// that cannot be answered with a redirect (unknown client, unregistered redirect URI, ...).
    #[error("invalid authorization request: {0}")]
    InvalidAuthorizationRequest(String),
    /// No test user has this username.
    #[error("unknown test user {0:?}")]
    UnknownUser(String),
    /// A URL could not be parsed.
    #[error("invalid URL: {0}")]
    Url(#[from] url::ParseError),
}
