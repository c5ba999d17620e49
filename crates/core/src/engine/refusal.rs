//! Refusals: every 401, 403 and 503 a guarded request, a refresh or a BFF route answers is
//! built here, as a page and redirect for navigations and as JSON for everything else.

use serde_json::json;

use super::refresh::RefreshFailure;
use super::{encode, PingOidc, RequestInfo, RequestKind};
use crate::response::AuthResponse;
use crate::session_cookie;

/// Why a guarded request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No valid session: navigations go to sign-in, others get 401.
    SignedOut,
    /// The provider refused the refresh (`invalid_grant`): the session was ended.
    SessionEnded,
    /// The session's token lacks scopes: navigations go through sign-in for them, others
    /// get 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
    InsufficientScope,
    /// The provider could not be reached for a refresh: 503 with `Retry-After`; the session
    /// is kept.
    ProviderUnavailable,
    /// The session store could not be reached: 503 with `Retry-After`.
    StoreUnavailable,
    /// The route names an API the configuration does not have: 500.
    Misconfigured,
    /// The session's authentication is weaker or older than the route asks (step-up):
    /// navigations sign in again asking for it, others get 401 with an RFC 9470 challenge.
    StepUpRequired,
    /// A bearer token is missing, malformed, expired or not for this resource: 401 with an
    /// RFC 6750 `WWW-Authenticate: Bearer` challenge.
    InvalidToken,
    /// A state-changing request with the session cookie from another site, on a route that
    /// takes both cookies and tokens: 403.
    Forbidden,
}

/// A refused guarded request, with the response to send.
#[derive(Clone, Debug)]
pub struct Rejection {
    kind: RejectionKind,
    response: AuthResponse,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, response: AuthResponse) -> Self {
        Self { kind, response }
    }

    /// Why.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The response to send (redirect, page or JSON).
    pub fn response(&self) -> &AuthResponse {
        &self.response
    }

    /// The response to send.
    pub fn into_response(self) -> AuthResponse {
        self.response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request refused: {:?} ({})",
            self.kind, self.response.status
        )
    }
}

impl std::error::Error for Rejection {}

/// The `Retry-After` of every 503, in seconds.
pub(crate) const RETRY_AFTER_SECS: &str = "5";

impl PingOidc {
    pub(super) fn store_down<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        error: crate::error::StoreError,
    ) -> Rejection {
        tracing::warn!(%error, "session store unavailable");
        self.unavailable(RequestKind::of(request), RejectionKind::StoreUnavailable)
    }

    /// No usable session: navigations go to sign-in (and come back to where they were),
    /// other requests get 401 JSON. `ended`: the session existed and was ended (a refused
    /// refresh), not merely absent.
    pub(crate) fn signed_out<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        ended: bool,
    ) -> Rejection {
        let return_to = return_here(request);
        let clear_cookie = ended || self.session_id_from(request).is_some();
        self.sign_in_again(kind, ended, return_to.as_deref(), clear_cookie)
    }

    /// The one place the "sign in (again)" answer is built: for guarded requests, a refused
    /// refresh and `/auth/user`.
    fn sign_in_again(
        &self,
        kind: RequestKind,
        ended: bool,
        return_to: Option<&str>,
        clear_cookie: bool,
    ) -> Rejection {
        let mut response = match kind {
            RequestKind::Navigation => AuthResponse::redirect(302, &self.login_url(return_to)),
            RequestKind::Api => AuthResponse::json(
                401,
                json!({
                    "error": if ended { "session_ended" } else { "unauthenticated" },
                    "error_description": if ended { "The session ended; sign in again." } else { "Sign in first." },
                    "login_url": self.login_url(None),
                }),
            ),
        };
        if clear_cookie {
            response =
                response.with_cookies([session_cookie::session_cookie_removal(&self.inner.config)]);
        }
        let kind = if ended {
            RejectionKind::SessionEnded
        } else {
            RejectionKind::SignedOut
        };
        Rejection { kind, response }
    }

    pub(super) fn insufficient_scope<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        missing: &[&str],
    ) -> Rejection {
        let scope = missing.join(" ");
        let response = match kind {
            RequestKind::Navigation => {
                let target = return_here(request).unwrap_or_else(|| "/".into());
                let url = format!(
                    "{}&scope={}",
                    self.redirect_login_url(Some(&target)),
                    encode(&scope)
                );
                AuthResponse::redirect(302, &url)
            }
            RequestKind::Api => return insufficient_scope_json(&scope),
        };
        Rejection {
            kind: RejectionKind::InsufficientScope,
            response,
        }
    }

    pub(crate) fn unavailable(&self, kind: RequestKind, why: RejectionKind) -> Rejection {
        let (code, message) = match why {
            RejectionKind::StoreUnavailable => (
                "session_store_unavailable",
                "Sessions are unavailable right now. Try again shortly.",
            ),
            _ => (
                "provider_unavailable",
                "The identity provider cannot be reached right now. Try again shortly.",
            ),
        };
        let response = match kind {
            RequestKind::Navigation => {
                AuthResponse::page(503, "Temporarily unavailable", message, None)
            }
            RequestKind::Api => AuthResponse::json_error(503, code, message),
        };
        Rejection {
            kind: why,
            response: response.with_header("retry-after", RETRY_AFTER_SECS),
        }
    }

    pub(super) fn refresh_rejection(
        &self,
        kind: RequestKind,
        failure: RefreshFailure,
    ) -> Rejection {
        match failure {
            RefreshFailure::Ended => self.sign_in_again(kind, true, None, true),
            RefreshFailure::ProviderUnavailable => {
                self.unavailable(kind, RejectionKind::ProviderUnavailable)
            }
            RefreshFailure::StoreUnavailable => {
                self.unavailable(kind, RejectionKind::StoreUnavailable)
            }
            RefreshFailure::ApiRefused(index) => {
                let scope = self
                    .inner
                    .config
                    .apis
                    .get(index)
                    .map(|api| api.scopes.join(" "))
                    .unwrap_or_default();
                insufficient_scope_json(&scope)
            }
        }
    }

    /// RFC 9470 §3: navigations sign in again with `acr_values` and `max_age` (the session
    /// is upgraded in place); others get 401 with `insufficient_user_authentication`.
    pub(crate) fn step_up_needed<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        need: &crate::Requirement,
    ) -> Rejection {
        let acr_values = need.acr_values.join(" ");
        let response = match kind {
            RequestKind::Navigation => {
                let target = return_here(request).unwrap_or_else(|| "/".into());
                let mut url = self.redirect_login_url(Some(&target));
                if !acr_values.is_empty() {
                    url.push_str("&acr_values=");
                    url.push_str(&encode(&acr_values));
                }
                if let Some(max_age) = need.max_age {
                    url.push_str(&format!("&max_age={max_age}"));
                }
                AuthResponse::redirect(302, &url)
            }
            RequestKind::Api => {
                let mut challenge = String::from(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger or more recent authentication is required\"",
                );
                let mut body = json!({
                    "error": "insufficient_user_authentication",
                    "error_description": "A stronger or more recent authentication is required.",
                    "login_url": self.redirect_login_url(None),
                });
                if !acr_values.is_empty() {
                    challenge.push_str(&format!(", acr_values=\"{acr_values}\""));
                    body["acr_values"] = json!(acr_values);
                }
                if let Some(max_age) = need.max_age {
                    challenge.push_str(&format!(", max_age=\"{max_age}\""));
                    body["max_age"] = json!(max_age);
                }
                AuthResponse::json(401, body).with_header("www-authenticate", challenge)
            }
        };
        Rejection {
            kind: RejectionKind::StepUpRequired,
            response,
        }
    }

    /// A route or `/auth/token?api=` names an API that was never registered.
    pub(crate) fn unknown_api(&self, api: &str) -> Rejection {
        tracing::error!(
            api,
            "no API of this name: register it with ConfigBuilder::api"
        );
        Rejection {
            kind: RejectionKind::Misconfigured,
            response: AuthResponse::json_error(
                500,
                "server_misconfigured",
                "This route names an API the app did not register (ConfigBuilder::api).",
            ),
        }
    }

    /// The provider will not give an API's token on this session's grant: a navigation goes
    /// through sign-in asking consent for it (once: a sign-in that already asked ends in a
    /// page), anything else gets 403 with the RFC 6750 challenge.
    pub(crate) fn api_refused<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        kind: RequestKind,
        api: &crate::ApiConfig,
        session: &crate::session::SessionData,
    ) -> Rejection {
        let already_asked = session.apis_asked.iter().any(|a| **a == *api.name);
        let response = match (kind, already_asked) {
            (RequestKind::Navigation, false) => {
                let target = return_here(request).unwrap_or_else(|| "/".into());
                let mut url = format!(
                    "{}&api={}",
                    self.redirect_login_url(Some(&target)),
                    encode(&api.name)
                );
                // The APIs the session already uses: the new grant must cover them too.
                let in_use = session
                    .api_tokens
                    .iter()
                    .map(|t| &*t.api)
                    .chain(session.apis_asked.iter().map(|a| &**a))
                    .filter(|name| *name != api.name);
                let mut named: Vec<&str> = Vec::new();
                for name in in_use {
                    if !named.contains(&name) {
                        named.push(name);
                        url.push_str("&api=");
                        url.push_str(&encode(name));
                    }
                }
                AuthResponse::redirect(302, &url)
            }
            (RequestKind::Navigation, true) => AuthResponse::page(
                403,
                "Access not granted",
                &format!(
                    "The identity provider did not grant access to the {} API for your account.",
                    api.name
                ),
                Some(("/", "Home")),
            ),
            _ => return insufficient_scope_json(&api.scopes.join(" ")),
        };
        Rejection {
            kind: RejectionKind::InsufficientScope,
            response,
        }
    }
}

/// `403` with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1).
fn insufficient_scope_json(scope: &str) -> Rejection {
    let response = AuthResponse::json(
        403,
        json!({
            "error": "insufficient_scope",
            "error_description": "The session's access token lacks a required scope.",
            "scope": scope,
        }),
    )
    .with_header(
        "www-authenticate",
        format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
    );
    Rejection {
        kind: RejectionKind::InsufficientScope,
        response,
    }
}

/// The request's own path and query, as a `return_to` for the sign-in it is sent through.
fn return_here<R: RequestInfo + ?Sized>(request: &R) -> Option<String> {
    let here = match request.query() {
        Some(query) => format!("{}?{}", request.path(), query),
        None => request.path().to_string(),
    };
    crate::return_to::sanitize(&here)
}
