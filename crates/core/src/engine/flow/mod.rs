//! `POST /auth/flow` and `GET|POST|DELETE /auth/flow/{id}`: redirect-less sign-in through
//! PingOne's Flow API or PingFederate's Authentication API, driven from the server.
//!
//! The order of one request: origin and media-type checks, the flow record (bound to this
//! browser), one call to the provider with the flow's cookies, PingFederate's intermediate
//! states answered by themselves, then either the next step (saved) or the code, which goes
//! through [`PingOidc::redeem_code`] like a callback's.
//!
//! This file: the routes and their checks. `provider.rs`: the calls to the provider.
//! `outcome.rs`: an exchange's answer (saved, redeemed or forgotten). `records.rs`: the
//! record in the store and the flow's turn (one request at a time).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::login::{Attempt, CallbackFailure};
use super::{PingOidc, RequestInfo};
use crate::cookies::{self, CookieSpec};
use crate::crypto::{constant_time_eq, pkce_challenge, random_token};
use crate::error::ProviderError;
use crate::flow::interpret::{self, AuthorizeResponse, Interpreted, Next};
use crate::flow::jar::Jar;
use crate::flow::record::{self, Api, FlowRecord};
use crate::flow::{ActionRefusal, FlowAction, FlowStep};
use crate::http_client::{FlowCall, FlowResponse};
use crate::response::AuthResponse;
use crate::sync::lock;

/// Intermediate states answered in a row at most (PingFederate needs two or three).
const MAX_AUTOMATIC_STEPS: usize = 6;
/// The binding cookie outlives any one flow; each start renews it.
const BINDING_MAX_AGE_SECS: u64 = 3600;
/// How long a request waits, at most, for another instance's request of the same flow.
const FLOW_LEASE_TRIES: usize = 40;
const FLOW_LEASE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
/// Longest `login_hint` or `acr_values` passed through.
const MAX_HINT_BYTES: usize = 256;

/// The optional body of `POST /auth/flow`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StartFlow {
    #[serde(default)]
    pub(super) return_to: Option<String>,
    #[serde(default)]
    pub(super) login_hint: Option<String>,
    #[serde(default)]
    pub(super) acr_values: Option<String>,
    #[serde(default)]
    pub(super) prompt: Option<String>,
    /// The user's languages, passed on to the provider (OpenID Connect `ui_locales`).
    #[serde(default)]
    pub(super) ui_locales: Option<String>,
}

/// How a provider exchange ended.
enum Outcome {
    /// The user has something to do.
    Step(FlowStep),
    /// The authorization response.
    Code(AuthorizeResponse),
    /// The provider ended the flow without a sign-in.
    Failed(String),
    /// The provider says the flow is gone (expired after 15 idle minutes, or cancelled).
    Expired,
    /// The provider is unreachable (503) or answered something we refuse (502).
    Broken { status: u16, reason: String },
}

impl Outcome {
    fn from_provider_error(error: ProviderError) -> Self {
        let status = match error {
            ProviderError::Unreachable(_) => 503,
            _ => 502,
        };
        Outcome::Broken {
            status,
            reason: error.to_string(),
        }
    }
}

mod outcome;
mod provider;
mod records;
mod reply;

pub(crate) use reply::FlowReply;

use provider::{names_a_missing_flow, read_state};

#[cfg(any(test, feature = "bench"))]
pub(crate) use records::step_work;

impl PingOidc {
    /// Every `/auth/flow` request.
    #[tracing::instrument(name = "ping_oidc.flow", skip_all)]
    pub(crate) async fn flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        self.flow_reply(request, body).await.into_json()
    }

    async fn flow_reply<R: RequestInfo + ?Sized>(&self, request: &R, body: &[u8]) -> FlowReply {
        let config = &self.inner.config;
        let Some(api) = Api::of(config.flow_api) else {
            return FlowReply::error(
                404,
                "not_found",
                "Redirect-less sign-in is not enabled (OIDC_FLOW_API).",
            );
        };
        if !self.is_from_this_origin(request) {
            tracing::warn!("cross-site flow request refused");
            return FlowReply::error(
                403,
                "cross_site_request",
                "Sign-in requests must come from this site.",
            );
        }
        let method = request.method();
        if method == "POST" && !is_json(request) {
            return FlowReply::error(
                415,
                "unsupported_media_type",
                "Send the body as application/json.",
            );
        }
        let rest = request
            .path()
            .strip_prefix(config.route_prefix.as_str())
            .and_then(|p| p.strip_prefix("/flow"))
            .unwrap_or("");
        match (rest, method) {
            ("" | "/", "POST") => {
                let start = if body.iter().all(u8::is_ascii_whitespace) {
                    StartFlow::default()
                } else {
                    match serde_json::from_slice(body) {
                        Ok(start) => start,
                        Err(_) => {
                            return FlowReply::error(
                                400,
                                "invalid_request",
                                "The body must be {\"return_to\": \"/path\"} or empty.",
                            )
                        }
                    }
                };
                self.start_flow(api, request, start).await
            }
            ("" | "/", _) => method_not_allowed("POST"),
            (path, _) => {
                let flow_id = path.trim_start_matches('/');
                if !record::is_well_formed_token(flow_id, 22) {
                    return flow_not_found();
                }
                // No HEAD: reading a flow calls the provider and may finish a sign-in.
                match method {
                    "GET" => self.continue_flow(api, request, flow_id, None).await,
                    "POST" => {
                        let action = match serde_json::from_slice::<FlowAction>(body) {
                            Ok(action) if action.is_bounded() => action,
                            _ => {
                                return FlowReply::error(
                                    400,
                                    "invalid_request",
                                    "The body is not an action this step accepts.",
                                )
                            }
                        };
                        self.continue_flow(api, request, flow_id, Some(action))
                            .await
                    }
                    "DELETE" => self.cancel_flow(api, request, flow_id).await,
                    _ => method_not_allowed("GET, POST, DELETE"),
                }
            }
        }
    }

    /// `Sec-Fetch-Site` same-origin (or none) when the browser sends it (pages cannot forge
    /// it; a `no-referrer` page's forms carry `Origin: null`); else an `Origin` equal to
    /// the app's; a request with
    /// neither is not a browser's cross-site request (a cross-site form cannot send JSON,
    /// and a cross-site `fetch` sends `Origin`).
    pub(in crate::engine) fn is_from_this_origin<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
    ) -> bool {
        if let Some(same_site) = super::fetched_by_this_site(request) {
            return same_site;
        }
        match request.header("origin") {
            Some(origin) => origin == self.inner.config.app_origin,
            None => true,
        }
    }

    /// `POST /auth/flow`: the authorization request with `response_mode=pi.flow`.
    pub(super) async fn start_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        start: StartFlow,
    ) -> FlowReply {
        let config = &self.inner.config;
        let too_long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > MAX_HINT_BYTES);
        let prompt_ok = start
            .prompt
            .as_deref()
            // Not `none`: a new flow's cookie jar is empty, so the provider never has a session
            // to answer it silently (the silent check is `/auth/login?prompt=none`).
            .is_none_or(|p| matches!(p, "login" | "consent" | "select_account"));
        // The browser picks no sign-on policy the app did not allow: `acr_values` selects
        // PingOne's sign-on policy and PingFederate's authentication policy, and a weaker one
        // assigned to the app would skip its MFA.
        if let Some(acr) = &start.acr_values {
            let allowed = acr
                .split(' ')
                .all(|value| config.allowed_acr_values.iter().any(|a| a == value));
            if !allowed {
                return FlowReply::error(
                    400,
                    "invalid_request",
                    "acr_values asks for a sign-on policy this app does not allow (ConfigBuilder::allowed_acr_values).",
                );
            }
        }
        if too_long(&start.login_hint)
            || too_long(&start.acr_values)
            || too_long(&start.ui_locales)
            || !prompt_ok
        {
            return FlowReply::error(
                400,
                "invalid_request",
                "login_hint, acr_values and ui_locales are at most 256 bytes; prompt is login, consent or select_account.",
            );
        }
        let return_to = match start.return_to.as_deref().map(crate::return_to::sanitize) {
            Some(Some(path)) if path.len() <= crate::transaction::MAX_RETURN_TO_BYTES => path,
            Some(_) => {
                return FlowReply::error(
                    400,
                    "invalid_request",
                    "return_to must be a same-origin path.",
                )
            }
            None => config.default_return_to.clone(),
        };
        let Ok(provider) = self.provider() else {
            return unavailable();
        };
        let (Some(state), Some(nonce), Some(verifier), Some(flow_id)) = (
            random_token(32),
            random_token(32),
            random_token(32),
            random_token(16),
        ) else {
            return unavailable();
        };
        let binding = cookies::find(request.cookie_headers(), &binding_cookie_name(config))
            .filter(|value| record::is_well_formed_token(value, 43))
            .map(str::to_owned)
            .or_else(|| random_token(32));
        let Some(binding) = binding else {
            return unavailable();
        };
        let Ok(mut url) = url::Url::parse(&provider.metadata.authorization_endpoint) else {
            return unavailable();
        };
        {
            let scope = config.scopes.join(" ");
            let redirect_uri = config.redirect_uri();
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("response_mode", "pi.flow")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            for (name, value) in [
                ("login_hint", &start.login_hint),
                ("acr_values", &start.acr_values),
                ("prompt", &start.prompt),
                ("ui_locales", &start.ui_locales),
            ] {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        let mut record = FlowRecord {
            api,
            binding: record::binding_hash(&binding),
            state,
            nonce,
            verifier,
            return_to,
            self_href: String::new(),
            links: Vec::new(),
            resume_url: None,
            step: FlowStep::Identifier,
            username: start.login_hint,
            jar: Jar::default(),
            last_active: self.now(),
            acted: false,
        };
        let outcome = self.step(&mut record, url.as_str(), None).await;
        tracing::info!("redirect-less sign-in started");
        let binding_cookie = CookieSpec {
            name: &binding_cookie_name(config),
            value: &binding,
            path: "/",
            max_age: Some(BINDING_MAX_AGE_SECS),
            secure: config.cookie_secure,
            // Lax, not Strict: a link from another site (an email, the app's other domain)
            // to the sign-in page must see this browser's binding, or the start would mint a
            // new one and orphan the flows of its other tabs. Cross-site POSTs still lack it,
            // and every route checks the origin (and the page its CSRF token) besides.
            same_site: crate::config::SameSite::Lax,
        }
        .render();
        self.answer(request, &flow_id, record, outcome, None)
            .await
            .with_cookie(binding_cookie)
    }

    /// `GET /auth/flow/{id}` (re-reads the provider) and `POST /auth/flow/{id}` (performs an
    /// action). One request per flow at a time in this process: PingFederate's cookie
    /// rotates on every answer, so two calls at once would leave one with a stale cookie.
    pub(super) async fn continue_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
        action: Option<FlowAction>,
    ) -> FlowReply {
        self.in_turn(
            flow_id,
            self.continue_flow_in_turn(api, request, flow_id, action),
        )
        .await
    }

    async fn continue_flow_in_turn<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
        action: Option<FlowAction>,
    ) -> FlowReply {
        let mut record = match self.load_flow(request, flow_id).await {
            Ok(Some(record)) if record.api == api => record,
            Ok(_) => return flow_not_found(),
            Err(response) => return response,
        };
        record.last_active = self.now();
        // Reading a flow that waits for a push polls it where the product needs an action
        // for that (PingFederate's `poll`), so that a read sees the approval as the contract
        // says; PingOne re-reads.
        let action = match action {
            None if matches!(record.step, FlowStep::PushWait { .. })
                && record.link("poll").is_some() =>
            {
                Some(FlowAction::Poll)
            }
            other => other,
        };
        let Some(action) = action else {
            let outcome = self.reread(&mut record).await;
            return self.answer(request, flow_id, record, outcome, None).await;
        };
        if !action.answers(&record.step) {
            return FlowReply::step_error(
                400,
                "wrong_action",
                "This action does not answer the current step.",
                flow_id,
                record.step.clone(),
            );
        }
        // A flow that has had an answer keeps the provider's 15 idle minutes.
        record.acted = true;
        if let FlowAction::Credentials { username, .. } | FlowAction::Identifier { username } =
            &action
        {
            record.username = Some(username.clone());
        }
        let Some((link, body)) =
            interpret::provider_action(api, &action, record.username.as_deref())
        else {
            // PingOne's push has no poll action: reading the flow is the poll.
            let outcome = self.reread(&mut record).await;
            return self.answer(request, flow_id, record, outcome, None).await;
        };
        let Some(href) = record.link(link).map(str::to_owned) else {
            return FlowReply::step_error(
                400,
                "wrong_action",
                "The identity provider does not offer this action now.",
                flow_id,
                record.step.clone(),
            );
        };
        let answer = match self.call(&mut record, &href, Some((link, body))).await {
            Ok(answer) => answer,
            Err(error) => {
                let outcome = Outcome::from_provider_error(error);
                return self.answer(request, flow_id, record, outcome, None).await;
            }
        };
        if answer.status == 400 && !names_a_missing_flow(&answer) {
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let refusal = interpret::refusal(api, &action, &body);
            tracing::info!(error = refusal.error, "flow action refused by the provider");
            let outcome = if refusal.attempts_remaining == Some(0) {
                // The last attempt: the provider may have ended the flow (PingOne and
                // PingFederate then answer `FAILED` to a read), which the user must see.
                self.reread(&mut record).await
            } else {
                Outcome::Step(record.step.clone())
            };
            return self
                .answer(request, flow_id, record, outcome, Some(refusal))
                .await;
        }
        let outcome = match read_state(api, &answer) {
            Ok(state) => self.advance(&mut record, state).await,
            Err(outcome) => outcome,
        };
        self.answer(request, flow_id, record, outcome, None).await
    }

    /// `DELETE /auth/flow/{id}`: forgets the flow (and tells PingFederate, when it offers
    /// `cancelAuthentication`).
    pub(super) async fn cancel_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
    ) -> FlowReply {
        self.in_turn(flow_id, async {
            let mut record = match self.load_flow(request, flow_id).await {
                Ok(Some(record)) if record.api == api => record,
                Ok(_) => return flow_not_found(),
                Err(response) => return response,
            };
            if let Some(href) = record.link("cancelAuthentication").map(str::to_owned) {
                let body = Some(("cancelAuthentication", json!({})));
                if let Err(error) = self.call(&mut record, &href, body).await {
                    tracing::info!(%error, "could not cancel the flow at the provider");
                }
            }
            self.forget_flow(flow_id).await;
            tracing::info!("redirect-less sign-in cancelled");
            FlowReply::empty(204)
        })
        .await
    }
}

/// The binding cookie's name: `__Host-` over https, like the transaction cookies.
pub(super) fn binding_cookie_name(config: &crate::config::Config) -> String {
    if config.cookie_secure {
        "__Host-ping_oidc_flow".into()
    } else {
        "ping_oidc_flow".into()
    }
}

pub(super) fn is_json<R: RequestInfo + ?Sized>(request: &R) -> bool {
    request.header("content-type").is_some_and(|value| {
        let media = value.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("application/json")
    })
}

pub(super) fn flow_not_found() -> FlowReply {
    FlowReply::error(
        404,
        "flow_not_found",
        "No such sign-in in this browser (it may have expired). Start again.",
    )
}

pub(super) fn unavailable() -> FlowReply {
    FlowReply::error(
        503,
        "temporarily_unavailable",
        "The identity provider cannot be reached right now. Try again shortly.",
    )
    .with_header("retry-after", "5")
}

pub(super) fn store_unavailable() -> FlowReply {
    FlowReply::error(
        503,
        "temporarily_unavailable",
        "Sign-in is unavailable right now. Try again shortly.",
    )
    .with_header("retry-after", "5")
}

pub(super) fn method_not_allowed(allowed: &'static str) -> FlowReply {
    FlowReply::error(
        405,
        "method_not_allowed",
        "This address does not accept that method.",
    )
    .with_header("allow", allowed)
}
