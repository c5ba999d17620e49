//! Backend-for-frontend endpoints: `GET /auth/user`, `GET /auth/token` and `GET /auth/jwks`.

use serde_json::json;

use super::{PingOidc, RequestInfo, RequestKind};
use crate::response::AuthResponse;

impl PingOidc {
    /// `GET /auth/jwks`: the client's public key as a JWK Set (RFC 7517 §5), or 404 when
    /// the client has no key.
    pub(crate) fn client_jwks(&self) -> AuthResponse {
        match &self.inner.config.client_key {
            // `no-store` like every auth route: a replaced key is served at once.
            Some(key) => AuthResponse::json(200, json!({ "keys": [key.public_jwk()] })),
            None => AuthResponse::json_error(
                404,
                "not_found",
                "This client has no signing key (OIDC_PRIVATE_KEY_FILE).",
            ),
        }
    }

    /// `200 {"sub", "claims"}`, or `401 {"login_url"}`. A guarded request like any other: it
    /// slides the idle expiry and refreshes when due.
    pub(crate) async fn user_info<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        if let Some(refused) = refuse_cross_site(request) {
            return refused;
        }
        match self.optional_user(&ApiView(request)).await {
            Ok(Some(user)) => AuthResponse::json(
                200,
                json!({ "sub": user.subject(), "claims": user.claims() }),
            ),
            Ok(None) => self
                .signed_out(request, RequestKind::Api, false)
                .into_response(),
            Err(rejection) => rejection.into_response(),
        }
    }

    /// `200 {"access_token", "expires_at", "scope"}` with `X-CSRF: 1`, refreshed first when due;
    /// `?api=<name>`: that API's token.
    pub(crate) async fn token<R: RequestInfo + ?Sized>(&self, request: &R) -> AuthResponse {
        if let Some(refused) = refuse_cross_site(request) {
            return refused;
        }
        if request.header("x-csrf") != Some("1") {
            return AuthResponse::json_error(
                403,
                "csrf_header_required",
                "Send the header X-CSRF: 1.",
            );
        }
        // Always JSON here, whatever the request looks like.
        let view = ApiView(request);
        let api = url::form_urlencoded::parse(request.query().unwrap_or("").as_bytes())
            .find(|(name, _)| name == "api")
            .map(|(_, value)| value.into_owned());
        if let Some(name) = &api {
            if self.inner.config.api(name).is_none() {
                return AuthResponse::json_error(
                    400,
                    "invalid_request",
                    "No API of this name is registered.",
                );
            }
        }
        let answer = match &api {
            Some(api) => self.authenticate_api(&view, api).await,
            None => self.authenticate(&view, &[]).await,
        };
        match answer {
            Ok(user) => {
                let token = match &api {
                    Some(api) => user.api_token(api).unwrap_or_else(|| user.access_token()),
                    None => user.access_token(),
                };
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
}

/// The user's data and tokens are for this origin's own pages: a browser that says the
/// request comes from another site (or a sibling subdomain) is refused, whatever it carries.
fn refuse_cross_site<R: RequestInfo + ?Sized>(request: &R) -> Option<AuthResponse> {
    if super::fetched_by_this_site(request) != Some(false) {
        return None;
    }
    tracing::warn!("cross-site read of the user or token refused");
    Some(AuthResponse::json_error(
        403,
        "cross_site_request",
        "This endpoint answers this site's own pages only.",
    ))
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
