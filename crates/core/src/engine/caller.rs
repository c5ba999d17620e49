//! Routes that take both kinds of caller: this app's own pages (the session cookie) and API
//! clients (an access token). The headers alone decide which path a request takes, so a
//! request with a token never falls back to the cookie, and the other way round.

use super::{PingOidc, RequestInfo, RequestKind};
use crate::access_token::{self, Credentials, VerifiedAccessToken};
use crate::response::AuthResponse;
use crate::{Authenticated, Rejection, RejectionKind};

/// Who called a route that takes either kind of caller.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Caller {
    /// A user signed in to this app, by the session cookie.
    Session(Authenticated),
    /// A client with an access token for this app's resource (`Authorization: Bearer` or
    /// `DPoP`).
    Token(VerifiedAccessToken),
}

impl Caller {
    /// The `sub` of the user's ID token, or of the access token.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::Session(user) => Some(user.subject()),
            Self::Token(token) => token.subject(),
        }
    }

    /// The signed-in user, when the caller came with the session cookie.
    pub fn session(&self) -> Option<&Authenticated> {
        match self {
            Self::Session(user) => Some(user),
            Self::Token(_) => None,
        }
    }

    /// The verified access token, when the caller sent one.
    pub fn token(&self) -> Option<&VerifiedAccessToken> {
        match self {
            Self::Token(token) => Some(token),
            Self::Session(_) => None,
        }
    }
}

/// Which path a request takes to a [`Caller`].
#[derive(Debug)]
#[non_exhaustive]
pub enum CallerPath {
    /// An `Authorization: Bearer` or `DPoP` header (well-formed or not): the bearer path,
    /// [`PingOidc::bearer_now`].
    Token,
    /// No token: the session path, [`RequestAuth::authenticate_for_now`](super::RequestAuth::authenticate_for_now),
    /// its refusals passed through [`PingOidc::caller_refusal`] with this value.
    Session(SessionPath),
    /// Refused before either: a cookie-authenticated request that changes state from
    /// another site (403).
    Refused(Rejection),
}

/// What the session path of a cookie-or-token route needs to know of the request for its
/// refusal: taken before the session path runs, so the adapter need not keep the request.
#[derive(Clone, Copy, Debug)]
pub struct SessionPath {
    /// An API request with no cookies at all: a refusal becomes the bearer challenge.
    challenge: bool,
}

impl PingOidc {
    /// The path a request to a route that takes either caller takes. A session caller's
    /// `POST`, `PUT`, `PATCH` or `DELETE` with cookies must come from this site, by the checks the
    /// sign-out route uses (`Sec-Fetch-Site`, else `Origin`, else `X-CSRF: 1`): the browser
    /// attaches the cookie to cross-site requests too, a token it never attaches.
    pub fn caller_path<R: RequestInfo + ?Sized>(&self, request: &R) -> CallerPath {
        let token = request.header("authorization").is_some_and(|header| {
            !matches!(
                access_token::split_credentials(header),
                Ok(Credentials::OtherScheme)
            )
        });
        if token {
            return CallerPath::Token;
        }
        // Without cookies there is nothing to forge: the session path answers (a client
        // with no token gets the bearer challenge).
        let safe = matches!(request.method(), "GET" | "HEAD" | "OPTIONS");
        let with_cookies = request.cookie_headers().next().is_some();
        if !safe && with_cookies && !self.is_same_site_request(request) {
            tracing::warn!("cross-site write with the session cookie refused");
            let response = AuthResponse::json_error(
                403,
                "cross_site_request",
                "This site's pages may change data with the session cookie; other callers send an access token.",
            );
            return CallerPath::Refused(Rejection::new(RejectionKind::Forbidden, response));
        }
        CallerPath::Session(SessionPath {
            challenge: !with_cookies && RequestKind::of(request) == RequestKind::Api,
        })
    }

    /// The session path's refusal, for a route that takes tokens too: an API request with no
    /// cookies gets the bearer challenge (RFC 6750 §3.1, with the resource metadata) instead,
    /// so that a client learns it may send a token. Pages still go to sign-in, and a request
    /// with a stale session cookie keeps the refusal that clears it.
    pub fn caller_refusal(&self, path: SessionPath, refusal: Rejection) -> Rejection {
        if refusal.kind() == RejectionKind::SignedOut && path.challenge {
            return self.no_token();
        }
        refusal
    }
}
