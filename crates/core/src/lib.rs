//! OpenID Connect sign-in for server-rendered Rust web apps, with PingOne and PingFederate
//! presets: the framework-agnostic engine behind `ping-oidc-tower` (axum) and
//! `ping-oidc-actix`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ping_oidc::{Config, PingOidc};
//!
//! let config = Config::builder()
//!     .issuer("https://auth.pingone.com/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as")
//!     .client_id("my-app")
//!     .client_secret("from-the-environment")
//!     .app_url("https://app.example.com")
//!     .build()?;
//! let oidc = PingOidc::new(config).await?; // discovery + keys, memory session store
//! # let _ = oidc; Ok(()) }
//! ```
//!
//! Hand `oidc` to the adapter's layer or middleware. The adapter answers `/auth/login`,
//! `/auth/callback`, `/auth/logout`, `/auth/user`, `/auth/token`,
//! `/auth/backchannel-logout` and, for redirect-less sign-in with PingOne or PingFederate,
//! `/auth/flow` ([`guides::redirect_less_sign_in`]); its extractors call
//! [`PingOidc::authenticate`].
//!
//! What happens on each path, and where to change it, is in `ARCHITECTURE.md`.
//!
//! Cargo feature `redis`: `store::RedisStore`, sessions in Redis shared by every instance of
//! the app (the default [`MemoryStore`] keeps them in this process only).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Also built for the unit tests, which sign in through it.
#[cfg(any(test, feature = "bench"))]
#[doc(hidden)]
pub mod bench;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub mod adapter;
pub mod signin;
pub mod store;

/// Long-form guides: what the library does for each part of signing users in, and what an
/// app does with it.
pub mod guides {
    #[doc = include_str!("../docs/signing-in.md")]
    pub mod signing_in {}
    #[doc = include_str!("../docs/still-signed-in.md")]
    pub mod still_signed_in {}
    #[doc = include_str!("../docs/sign-out.md")]
    pub mod sign_out {}
    #[doc = include_str!("../docs/user-data.md")]
    pub mod user_data {}
    #[doc = include_str!("../docs/access-tokens.md")]
    pub mod access_tokens {}
    #[doc = include_str!("../docs/redirect-less-sign-in.md")]
    pub mod redirect_less_sign_in {}
    #[doc = include_str!("../docs/step-up-and-silent-check.md")]
    pub mod step_up_and_silent_check {}
    #[doc = include_str!("../docs/client-authentication.md")]
    pub mod client_authentication {}
    #[doc = include_str!("../docs/protecting-apis.md")]
    pub mod protecting_apis {}
}
#[cfg(feature = "test-util")]
pub mod test_util;

mod access_token;
mod claims;
mod client_key;
mod config;
mod cookies;
mod crypto;
mod discovery;
mod dpop;
mod engine;
mod error;
mod flow;
mod http_client;
mod id_token;
mod jose;
mod keys;
mod logout_token;
mod pingone;
mod provider;
mod response;
mod return_to;
mod scope;
mod session;
mod session_cookie;
mod slot_table;
mod sync;
mod time;
mod transaction;
pub mod worker;

pub use access_token::VerifiedAccessToken;
pub use claims::Claims;
pub use client_key::ClientKey;
pub use config::{
    AssertionAudience, Config, ConfigBuilder, ConfigError, FlowApi, Par, ProviderSource,
    RequestObject, SameSite, Secret, SignIn, TokenAuthMethod, DEFAULT_SCOPES,
};
pub use discovery::{DiscoveryError, ProviderMetadata};
pub use engine::{
    AccessToken, Authenticated, Caller, PingOidc, PingOidcBuilder, Rejection, RejectionKind,
    StartError,
};
pub use error::{ProviderError, StoreError, TokenError};
pub use flow::{DeviceKind, FlowDevice, FlowStep, PasswordPolicy};
pub use jose::Algorithm;
pub use pingone::Region;
pub use scope::{ApiConfig, RequiredScopes, Requirement};
pub use store::MemoryStore;
pub use worker::{WorkerConfig, WorkerToken, WorkerTokenError, WorkerTokens};
