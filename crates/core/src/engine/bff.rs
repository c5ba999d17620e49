//! Backend-for-frontend endpoints: `GET /auth/user` and `GET /auth/token`.

use serde_json::json;

use super::{PingOidc, RequestInfo, RequestKind};
use crate::response::AuthResponse;

impl PingOidc {
    /// `200 {"sub", "claims"}`, or `401 {"login_url"}`.
    pub(crate) async fn user_info<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        let Some(id) = self.session_id_from(request) else {
            return self.unauthenticated_json(request);
        };
        match self.load_session(id, crate::time::now_unix()).await {
            Ok(Some(session)) => AuthResponse::json(
                200,
                json!({ "sub": session.data.subject, "claims": session.data.claims }),
            ),
            Ok(None) => self.unauthenticated_json(request),
            Err(error) => {
                tracing::warn!(%error, "session store unavailable");
                self.unavailable(RequestKind::Api, super::RejectionKind::StoreUnavailable)
                    .into_response()
            }
        }
    }

    /// `200 {"access_token", "expires_at", "scope"}` with `X-CSRF: 1`, refreshed first when due.
    pub(crate) async fn token<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        if request.header("x-csrf") != Some("1") {
            return AuthResponse::json_error(
                403,
                "csrf_header_required",
                "Send the header X-CSRF: 1.",
            );
        }
        // Always JSON here, whatever the request looks like.
        let view = ApiView(request);
        match self.authenticate(&view, &[]).await {
            Ok(user) => {
                let token = user.access_token();
                AuthResponse::json(
                    200,
                    json!({
                        "access_token": token.secret(),
                        "token_type": "Bearer",
                        "expires_at": token.expires_at(),
                        "scope": token.scopes().join(" "),
                    }),
                )
            }
            Err(rejection) => rejection.into_response(),
        }
    }

    fn unauthenticated_json<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        let _ = request;
        AuthResponse::json(
            401,
            json!({
                "error": "unauthenticated",
                "error_description": "Sign in first.",
                "login_url": self.login_url(None),
            }),
        )
    }
}

/// A request seen as an API call (JSON answers), whatever its headers say.
struct ApiView<'a, R: ?Sized>(&'a R);

impl<R: RequestInfo + ?Sized> RequestInfo for ApiView<'_, R> {
    fn method(&self) -> &str {
        self.0.method()
    }
    fn path(&self) -> &str {
        self.0.path()
    }
    fn query(&self) -> Option<&str> {
        self.0.query()
    }
    fn header(&self, name: &str) -> Option<&str> {
        match name {
            "sec-fetch-mode" => Some("cors"),
            "accept" => Some("application/json"),
            _ => self.0.header(name),
        }
    }
    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        self.0.cookie_headers()
    }
}
