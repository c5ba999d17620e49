//! `POST /auth/flow` and `GET|POST|DELETE /auth/flow/{id}`: redirect-less sign-in through
//! PingOne's Flow API or PingFederate's Authentication API, driven from the server.
//!
//! The order of one request: origin and media-type checks, the flow record (bound to this
//! browser), one call to the provider with the flow's cookies, PingFederate's intermediate
//! states answered by themselves, then either the next step (saved) or the code, which goes
//! through [`PingOidc::redeem_code`] like a callback's.

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
struct StartFlow {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
    #[serde(default)]
    acr_values: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
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

impl PingOidc {
    /// Every `/auth/flow` request.
    #[tracing::instrument(name = "ping_oidc.flow", skip_all)]
    pub(crate) async fn flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        let config = &self.inner.config;
        let Some(api) = Api::of(config.flow_api) else {
            return AuthResponse::json_error(
                404,
                "not_found",
                "Redirect-less sign-in is not enabled (OIDC_FLOW_API).",
            );
        };
        if !self.is_from_this_origin(request) {
            tracing::warn!("cross-site flow request refused");
            return AuthResponse::json_error(
                403,
                "cross_site_request",
                "Sign-in requests must come from this site.",
            );
        }
        let method = request.method();
        if method == "POST" && !is_json(request) {
            return AuthResponse::json_error(
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
            ("" | "/", "POST") => self.start_flow(api, request, body).await,
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
                                return AuthResponse::json_error(
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

    /// `Sec-Fetch-Site` same-origin (or none), else an `Origin` equal to the app's; a
    /// request with neither is not a browser's cross-site request (a cross-site form cannot
    /// send JSON, and a cross-site `fetch` sends `Origin`).
    fn is_from_this_origin<R: RequestInfo + ?Sized>(&self, request: &R) -> bool {
        if super::fetched_by_this_site(request) == Some(false) {
            return false;
        }
        match request.header("origin") {
            Some(origin) => origin == self.inner.config.app_origin,
            None => true,
        }
    }

    /// `POST /auth/flow`: the authorization request with `response_mode=pi.flow`.
    async fn start_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        let config = &self.inner.config;
        let start: StartFlow = if body.iter().all(u8::is_ascii_whitespace) {
            StartFlow::default()
        } else {
            match serde_json::from_slice(body) {
                Ok(start) => start,
                Err(_) => {
                    return AuthResponse::json_error(
                        400,
                        "invalid_request",
                        "The body must be {\"return_to\": \"/path\"} or empty.",
                    )
                }
            }
        };
        let too_long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > MAX_HINT_BYTES);
        let prompt_ok = start
            .prompt
            .as_deref()
            .is_none_or(|p| matches!(p, "login" | "consent" | "select_account" | "none"));
        // The browser picks no sign-on policy the app did not allow: `acr_values` selects
        // PingOne's sign-on policy and PingFederate's authentication policy, and a weaker one
        // assigned to the app would skip its MFA.
        if let Some(acr) = &start.acr_values {
            let allowed = acr
                .split(' ')
                .all(|value| config.allowed_acr_values.iter().any(|a| a == value));
            if !allowed {
                return AuthResponse::json_error(
                    400,
                    "invalid_request",
                    "acr_values asks for a sign-on policy this app does not allow (ConfigBuilder::allowed_acr_values).",
                );
            }
        }
        if too_long(&start.login_hint) || too_long(&start.acr_values) || !prompt_ok {
            return AuthResponse::json_error(
                400,
                "invalid_request",
                "login_hint and acr_values are at most 256 bytes; prompt is login, consent, select_account or none.",
            );
        }
        let return_to = match start.return_to.as_deref().map(crate::return_to::sanitize) {
            Some(Some(path)) if path.len() <= crate::transaction::MAX_RETURN_TO_BYTES => path,
            Some(_) => {
                return AuthResponse::json_error(
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
        let outcome = match self.call(&mut record, url.as_str(), None).await {
            Ok(answer) => match read_state(api, &answer) {
                Ok(state) => self.advance(&mut record, state).await,
                Err(outcome) => outcome,
            },
            Err(error) => Outcome::from_provider_error(error),
        };
        tracing::info!("redirect-less sign-in started");
        let binding_cookie = CookieSpec {
            name: &binding_cookie_name(config),
            value: &binding,
            path: "/",
            max_age: Some(BINDING_MAX_AGE_SECS),
            secure: config.cookie_secure,
            same_site: crate::config::SameSite::Strict,
        }
        .render();
        self.answer(request, &flow_id, record, outcome, None)
            .await
            .with_cookies([binding_cookie])
    }

    /// `GET /auth/flow/{id}` (re-reads the provider) and `POST /auth/flow/{id}` (performs an
    /// action). One request per flow at a time in this process: PingFederate's cookie
    /// rotates on every answer, so two calls at once would leave one with a stale cookie.
    async fn continue_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
        action: Option<FlowAction>,
    ) -> AuthResponse {
        self.in_turn(
            flow_id,
            self.continue_flow_in_turn(api, request, flow_id, action),
        )
        .await
    }

    /// Runs `work` as the only request of this flow: one at a time in this process (a
    /// gate), and across instances (a lease in the store). PingFederate's cookie rotates on
    /// every answer, so two calls at once would leave one with a stale cookie, and a cancel
    /// racing a step could bring the flow back.
    async fn in_turn(
        &self,
        flow_id: &str,
        work: impl std::future::Future<Output = AuthResponse>,
    ) -> AuthResponse {
        let key = record::store_key(flow_id);
        let gate = Arc::clone(
            lock(&self.inner.refresh_gates)
                .entry(key.as_str().into())
                .or_default(),
        );
        let turn = gate.lock().await;
        let response = match self.take_flow_lease(&key).await {
            Ok(true) => {
                let response = work.await;
                let owner = self.inner.instance_id.as_str();
                if let Err(error) = self.inner.store.release_lease(&key, owner).await {
                    tracing::info!(%error, "could not release a flow's lease (it expires by itself)");
                }
                response
            }
            Ok(false) => AuthResponse::json_error(
                409,
                "flow_busy",
                "Another request of this sign-in is still running. Try again.",
            )
            .with_header("retry-after", "1"),
            Err(error) => {
                tracing::warn!(%error, "flow store unavailable");
                store_unavailable()
            }
        };
        drop(turn);
        drop(gate);
        self.forget_gate_if_unused(&key);
        response
    }

    /// The flow's lease, waiting a little while another instance holds it.
    async fn take_flow_lease(&self, key: &str) -> Result<bool, crate::StoreError> {
        let owner = self.inner.instance_id.as_str();
        // Longer than one request's provider calls can take.
        let ttl = self.inner.config.http_timeout.saturating_mul(4);
        for _ in 0..FLOW_LEASE_TRIES {
            if self.inner.store.acquire_lease(key, owner, ttl).await? {
                return Ok(true);
            }
            tokio::time::sleep(FLOW_LEASE_WAIT).await;
        }
        Ok(false)
    }

    async fn continue_flow_in_turn<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
        action: Option<FlowAction>,
    ) -> AuthResponse {
        let mut record = match self.load_flow(request, flow_id).await {
            Ok(Some(record)) if record.api == api => record,
            Ok(_) => return flow_not_found(),
            Err(response) => return response,
        };
        record.last_active = self.now();
        let Some(action) = action else {
            let href = record.self_href.clone();
            let outcome = match self.call(&mut record, &href, None).await {
                Ok(answer) => match read_state(api, &answer) {
                    Ok(state) => self.advance(&mut record, state).await,
                    Err(outcome) => outcome,
                },
                Err(error) => Outcome::from_provider_error(error),
            };
            return self.answer(request, flow_id, record, outcome, None).await;
        };
        if !action.answers(&record.step) {
            return step_error(
                400,
                "wrong_action",
                "This action does not answer the current step.",
                flow_id,
                &record.step,
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
            let href = record.self_href.clone();
            let outcome = match self.call(&mut record, &href, None).await {
                Ok(answer) => match read_state(api, &answer) {
                    Ok(state) => self.advance(&mut record, state).await,
                    Err(outcome) => outcome,
                },
                Err(error) => Outcome::from_provider_error(error),
            };
            return self.answer(request, flow_id, record, outcome, None).await;
        };
        let Some(href) = record.link(link).map(str::to_owned) else {
            return step_error(
                400,
                "wrong_action",
                "The identity provider does not offer this action now.",
                flow_id,
                &record.step,
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
            let outcome = Outcome::Step(record.step.clone());
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
    async fn cancel_flow<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        flow_id: &str,
    ) -> AuthResponse {
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
            AuthResponse::empty(204)
        })
        .await
    }

    /// One call to the provider with the flow's cookies; the answer's cookies go back in the
    /// jar. Only the provider's own origin is ever called: hrefs come from `_links`, which a
    /// provider could point anywhere.
    async fn call(
        &self,
        record: &mut FlowRecord,
        url: &str,
        action: Option<(&str, Value)>,
    ) -> Result<FlowResponse, ProviderError> {
        let provider = self.provider()?;
        if !same_origin(url, &provider.metadata.authorization_endpoint) {
            return Err(ProviderError::Invalid(
                "a flow link points away from the provider".into(),
            ));
        }
        let media_type;
        let body = match action {
            Some((name, body)) => {
                media_type = interpret::media_type(name);
                Some((media_type.as_str(), body.to_string().into_bytes()))
            }
            None => None,
        };
        // PingFederate's widget sends this on every call; its CSRF filter may ask for it.
        let headers: &[(&'static str, &str)] = match record.api {
            Api::PingFederate => &[("x-xsrf-header", "PingFederate")],
            Api::PingOne => &[],
        };
        let cookie = record.jar.header();
        let answer = provider
            .http
            .flow_call(FlowCall {
                url,
                headers,
                cookie: cookie.as_deref(),
                body,
            })
            .await?;
        record
            .jar
            .update(answer.set_cookies.iter().map(String::as_str));
        Ok(answer)
    }

    /// Follows a state until the user has something to do: PingFederate's intermediate
    /// states are answered at once, PingOne's `COMPLETED` is resumed for its code.
    async fn advance(&self, record: &mut FlowRecord, mut state: Interpreted) -> Outcome {
        let api = record.api;
        for _ in 0..MAX_AUTOMATIC_STEPS {
            record.follow(&mut state);
            tracing::debug!(status = %state.status, "flow state");
            match state.next {
                Next::Step(step) => {
                    if record.self_href.is_empty() {
                        return Outcome::Broken {
                            status: 502,
                            reason: "the flow state has no self link".into(),
                        };
                    }
                    if let FlowStep::Unsupported { provider_status } = &step {
                        tracing::warn!(%provider_status, "the provider asked for a step this library does not handle");
                    }
                    record.step = step.clone();
                    return Outcome::Step(step);
                }
                Next::Fail(message) => return Outcome::Failed(message),
                Next::Code(response) => return Outcome::Code(response),
                Next::Continue(action) => {
                    let Some(href) = record.link(action).map(str::to_owned) else {
                        return Outcome::Broken {
                            status: 502,
                            reason: format!("no `{action}` link"),
                        };
                    };
                    let answer = match self.call(record, &href, Some((action, json!({})))).await {
                        Ok(answer) => answer,
                        Err(error) => return Outcome::from_provider_error(error),
                    };
                    state = match read_state(api, &answer) {
                        Ok(state) => state,
                        Err(outcome) => return outcome,
                    };
                }
                Next::Resume => {
                    let Some(url) = record.resume_url.clone() else {
                        return Outcome::Broken {
                            status: 502,
                            reason: "COMPLETED without a resume URL".into(),
                        };
                    };
                    let answer = match self.call(record, &url, None).await {
                        Ok(answer) => answer,
                        Err(error) => return Outcome::from_provider_error(error),
                    };
                    return self.read_resume(&answer);
                }
            }
        }
        Outcome::Broken {
            status: 502,
            reason: "too many automatic flow steps".into(),
        }
    }

    /// PingOne's resume answer: `authorizeResponse` JSON, or a redirect to our redirect URI
    /// carrying the code (`flow-api-reference.md` §1f).
    fn read_resume(&self, answer: &FlowResponse) -> Outcome {
        match answer.status {
            200 => {
                let body: Value = match serde_json::from_slice(&answer.body) {
                    Ok(body) => body,
                    Err(_) => {
                        return Outcome::Broken {
                            status: 502,
                            reason: "the resume answer is not JSON".into(),
                        }
                    }
                };
                match body.get("authorizeResponse").filter(|v| v.is_object()) {
                    Some(response) => Outcome::Code(AuthorizeResponse::from_json(response)),
                    None => Outcome::Broken {
                        status: 502,
                        reason: "the resume answer has no authorizeResponse".into(),
                    },
                }
            }
            302 | 303 => {
                let redirect_uri = self.inner.config.redirect_uri();
                match answer
                    .location
                    .as_deref()
                    .and_then(|l| l.strip_prefix(redirect_uri.as_str()))
                {
                    Some(rest) if rest.is_empty() || rest.starts_with('?') => {
                        Outcome::Code(AuthorizeResponse::from_query(rest.trim_start_matches('?')))
                    }
                    _ => Outcome::Broken {
                        status: 502,
                        reason: "the resume redirect does not go to our redirect URI".into(),
                    },
                }
            }
            404 => Outcome::Expired,
            status => Outcome::Broken {
                status: 502,
                reason: format!("the resume endpoint answered {status}"),
            },
        }
    }

    /// Turns an outcome into the answer, saving, finishing or forgetting the flow.
    async fn answer<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
        record: FlowRecord,
        outcome: Outcome,
        refusal: Option<ActionRefusal>,
    ) -> AuthResponse {
        match outcome {
            Outcome::Step(step) => {
                if let Err(response) = self.save_flow(flow_id, &record).await {
                    return response;
                }
                match refusal {
                    Some(refusal) => {
                        let mut body = json!({
                            "error": refusal.error,
                            "error_description": refusal.description,
                            "flow_id": flow_id,
                            "step": step,
                        });
                        if let Some(left) = refusal.attempts_remaining {
                            body["attempts_remaining"] = json!(left);
                        }
                        AuthResponse::json(400, body)
                    }
                    None => AuthResponse::json(200, json!({"flow_id": flow_id, "step": step})),
                }
            }
            Outcome::Code(response) => {
                self.forget_flow(flow_id).await;
                self.finish_flow(request, flow_id, &record, response).await
            }
            Outcome::Failed(message) => {
                self.forget_flow(flow_id).await;
                tracing::info!("redirect-less sign-in failed at the provider");
                let step = FlowStep::Failed { message };
                AuthResponse::json(200, json!({"flow_id": flow_id, "step": step}))
            }
            Outcome::Expired => {
                self.forget_flow(flow_id).await;
                step_error(
                    404,
                    "flow_expired",
                    "This sign-in has expired. Start again.",
                    flow_id,
                    &FlowStep::Failed {
                        message: "This sign-in has expired. Start again.".into(),
                    },
                )
            }
            Outcome::Broken { status, reason } if record.self_href.is_empty() => {
                // The flow never started: there is no flow to show or retry.
                tracing::warn!(status, %reason, "redirect-less sign-in could not start");
                if status == 503 {
                    unavailable()
                } else {
                    AuthResponse::json_error(
                        502,
                        "provider_error",
                        "The identity provider answered something unexpected. Try again.",
                    )
                }
            }
            Outcome::Broken { status, reason } => {
                tracing::warn!(status, %reason, "redirect-less sign-in: provider answer refused");
                let message = if status == 503 {
                    "The identity provider cannot be reached right now. Try again shortly."
                } else {
                    "The identity provider answered something unexpected. Start again."
                };
                // A 503 keeps the flow (the provider may answer the retry); a 502 ends it.
                if status == 503 {
                    if let Err(response) = self.save_flow(flow_id, &record).await {
                        return response;
                    }
                } else {
                    self.forget_flow(flow_id).await;
                }
                let step = if status == 503 {
                    record.step.clone()
                } else {
                    FlowStep::Failed {
                        message: message.into(),
                    }
                };
                step_error(status, "provider_error", message, flow_id, &step)
            }
        }
    }

    /// The code: the state must be this flow's (CSRF and mix-up defence, RFC 6749 §10.12),
    /// then the exchange and every ID token check, exactly as at the callback.
    async fn finish_flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
        record: &FlowRecord,
        response: AuthorizeResponse,
    ) -> AuthResponse {
        let config = &self.inner.config;
        let failure = |status: u16, message: &str, reason: &str| {
            tracing::warn!(status, reason, "redirect-less sign-in rejected");
            step_error(
                status,
                "sign_in_failed",
                message,
                flow_id,
                &FlowStep::Failed {
                    message: message.into(),
                },
            )
        };
        // The checks of the callback's authorization response, in its order. Not RFC 9207's
        // `iss`: the server read this answer from the provider itself over TLS, so there is
        // no browser redirect to mix up (and neither product puts `iss` in it); one that is
        // there must be ours.
        if let Some(error) = &response.error {
            let refused = CallbackFailure::provider_refused(error);
            return failure(refused.status, &refused.message, &refused.reason);
        }
        let state_matches = response
            .state
            .as_deref()
            .is_some_and(|state| constant_time_eq(state, &record.state));
        if !state_matches {
            return failure(
                502,
                "The sign-in response failed a security check.",
                "state mismatch in authorizeResponse",
            );
        }
        if response
            .iss
            .as_deref()
            .is_some_and(|iss| iss != config.issuer)
        {
            return failure(
                502,
                "The sign-in response came from the wrong provider.",
                "iss mismatch in authorizeResponse",
            );
        }
        let Some(code) = response.code.filter(|c| !c.is_empty()) else {
            return failure(
                502,
                "The identity provider did not complete the sign-in.",
                "authorizeResponse has no code",
            );
        };
        let attempt = Attempt {
            state: &record.state,
            nonce: &record.nonce,
            verifier: &record.verifier,
            extra_scopes: &[],
            provider_cookies: record.jar.header(),
        };
        match self.redeem_code(request, &code, attempt).await {
            Ok(signed_in) => {
                let step = FlowStep::Completed {
                    return_to: record.return_to.clone(),
                };
                AuthResponse::json(200, json!({"flow_id": flow_id, "step": step}))
                    .with_cookies([signed_in.session_cookie])
            }
            Err(CallbackFailure {
                status,
                message,
                reason,
            }) => failure(status, &message, &reason),
        }
    }

    /// The flow's record, when this browser's binding cookie matches it. `Ok(None)` for
    /// every kind of "not yours or not there", so that they cannot be told apart.
    async fn load_flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
    ) -> Result<Option<FlowRecord>, AuthResponse> {
        let config = &self.inner.config;
        let Some(binding) = cookies::find(request.cookie_headers(), &binding_cookie_name(config))
        else {
            return Ok(None);
        };
        let key = record::store_key(flow_id);
        let sealed = match self.inner.store.get_record(&key).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::warn!(%error, "flow store unavailable");
                return Err(store_unavailable());
            }
        };
        let record = self.open_record(&key, &sealed);
        Ok(record.filter(|r| r.is_bound_to(binding) && !r.is_idle(self.now())))
    }

    /// A record as stored: JSON sealed with the session key, bound to its store key.
    fn seal_record(&self, key: &str, record: &FlowRecord) -> Result<String, SealFailure> {
        let json = record.to_json().ok_or(SealFailure::TooLarge)?;
        self.inner
            .config
            .session_key
            .seal(key.as_bytes(), &json)
            .ok_or(SealFailure::NoRandomness)
    }

    fn open_record(&self, key: &str, sealed: &str) -> Option<FlowRecord> {
        let json = self.inner.config.session_key.open(key.as_bytes(), sealed)?;
        serde_json::from_slice(&json).ok()
    }

    async fn save_flow(&self, flow_id: &str, record: &FlowRecord) -> Result<(), AuthResponse> {
        let key = record::store_key(flow_id);
        let sealed = match self.seal_record(&key, record) {
            Ok(sealed) => sealed,
            Err(SealFailure::NoRandomness) => return Err(unavailable()),
            Err(SealFailure::TooLarge) => {
                tracing::warn!("the provider's flow state is larger than 4 KiB; the flow ends");
                self.forget_flow(flow_id).await;
                return Err(step_error(
                    502,
                    "provider_error",
                    "The identity provider's answer is too large. Start again.",
                    flow_id,
                    &FlowStep::Failed {
                        message: "The sign-in could not continue. Start again.".into(),
                    },
                ));
            }
        };
        let ttl = std::time::Duration::from_secs(record.idle_limit() as u64);
        self.inner
            .store
            .put_record(&key, &sealed, ttl)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "could not save the flow");
                store_unavailable()
            })
    }

    async fn forget_flow(&self, flow_id: &str) {
        if let Err(error) = self
            .inner
            .store
            .delete_record(&record::store_key(flow_id))
            .await
        {
            tracing::warn!(%error, "could not delete a finished flow (it expires by itself)");
        }
    }

    /// Sign-out of a session made by a redirect-less sign-in: the provider session lives in
    /// the cookies the server kept, so the server ends it (the browser has nothing to send).
    pub(super) async fn end_provider_session_from_server(
        &self,
        provider_cookies: &str,
        end_session_url: &str,
    ) {
        let Ok(provider) = self.provider() else {
            return;
        };
        if !same_origin(end_session_url, &provider.metadata.authorization_endpoint) {
            tracing::info!("the end-session endpoint is on another origin; the provider session is left to expire");
            return;
        }
        let headers: &[(&'static str, &str)] = &[];
        let result = provider
            .http
            .flow_call(FlowCall {
                url: end_session_url,
                headers,
                cookie: Some(provider_cookies),
                body: None,
            })
            .await;
        match result {
            Ok(answer) if answer.status < 400 => tracing::info!("provider session ended"),
            Ok(answer) => {
                tracing::warn!(status = answer.status, "the provider refused the sign-out")
            }
            Err(error) => tracing::warn!(%error, "could not end the provider session"),
        }
    }
}

enum SealFailure {
    TooLarge,
    NoRandomness,
}

/// A flow step's own work once the provider has answered, for the benchmark (feature
/// `bench`): the answer read and normalised, the record updated and sealed as it is saved,
/// then opened and checked as the next request loads it. Returns the sealed size.
#[cfg(any(test, feature = "bench"))]
pub(crate) fn step_work(oidc: &PingOidc, pingfederate: bool, answer: &[u8]) -> Option<usize> {
    let api = if pingfederate {
        Api::PingFederate
    } else {
        Api::PingOne
    };
    let binding = "b".repeat(43);
    let mut record = FlowRecord {
        api,
        binding: record::binding_hash(&binding),
        state: "s".repeat(43),
        nonce: "n".repeat(43),
        verifier: "v".repeat(43),
        return_to: "/profile".into(),
        self_href: String::new(),
        links: Vec::new(),
        resume_url: None,
        step: FlowStep::Identifier,
        username: Some("otp-user".into()),
        jar: Jar::default(),
        last_active: 0,
        acted: true,
    };
    let answer = FlowResponse {
        status: 200,
        body: answer.to_vec(),
        set_cookies: vec![format!("PF={}; Path=/; HttpOnly", "c".repeat(40))],
        location: None,
    };
    record
        .jar
        .update(answer.set_cookies.iter().map(String::as_str));
    let mut state = read_state(api, &answer).ok()?;
    record.follow(&mut state);
    if let Next::Step(step) = state.next {
        record.step = step;
    }
    let key = record::store_key("AAAAAAAAAAAAAAAAAAAAAA");
    let sealed = oidc.seal_record(&key, &record).ok()?;
    let back = oidc.open_record(&key, &sealed)?;
    back.is_bound_to(&binding).then_some(sealed.len())
}

/// A 200/201 answer read as a flow state; anything else as the outcome it means.
fn read_state(api: Api, answer: &FlowResponse) -> Result<Interpreted, Outcome> {
    if names_a_missing_flow(answer) {
        return Err(Outcome::Expired);
    }
    match answer.status {
        200 | 201 => match serde_json::from_slice::<Value>(&answer.body) {
            Ok(body) if body.is_object() => Ok(interpret::interpret(api, &body)),
            _ => Err(Outcome::Broken {
                status: 502,
                reason: "the flow answer is not a JSON object".into(),
            }),
        },
        404 => Err(Outcome::Expired),
        status @ 400..=499 => {
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let code = body.get("code").and_then(Value::as_str).unwrap_or("");
            Err(Outcome::Broken {
                status: 502,
                reason: format!(
                    "the provider refused the flow call with {status} {}",
                    crate::provider::sanitize_code(code)
                ),
            })
        }
        status => Err(Outcome::Broken {
            status: if status >= 500 { 503 } else { 502 },
            reason: format!("the flow call answered {status}"),
        }),
    }
}

/// A 404, or an error naming an unknown flow whatever its status: PingOne's `NOT_FOUND`,
/// PingFederate's `RESOURCE_NOT_FOUND` (both end a flow after 15 idle minutes).
fn names_a_missing_flow(answer: &FlowResponse) -> bool {
    if answer.status == 404 {
        return true;
    }
    if answer.status < 400 {
        return false;
    }
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    matches!(
        body.get("code").and_then(Value::as_str),
        Some("NOT_FOUND" | "RESOURCE_NOT_FOUND")
    )
}

/// The binding cookie's name: `__Host-` over https, like the transaction cookies.
fn binding_cookie_name(config: &crate::config::Config) -> String {
    if config.cookie_secure {
        "__Host-ping_oidc_flow".into()
    } else {
        "ping_oidc_flow".into()
    }
}

fn is_json<R: RequestInfo + ?Sized>(request: &R) -> bool {
    request.header("content-type").is_some_and(|value| {
        let media = value.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("application/json")
    })
}

fn same_origin(url: &str, base: &str) -> bool {
    match (url::Url::parse(url), url::Url::parse(base)) {
        (Ok(url), Ok(base)) => url.origin() == base.origin(),
        _ => false,
    }
}

/// An error answer that says the step (unchanged, or `failed`); a 503 says when to retry.
fn step_error(
    status: u16,
    error: &str,
    description: &str,
    flow_id: &str,
    step: &FlowStep,
) -> AuthResponse {
    let response = AuthResponse::json(
        status,
        json!({"error": error, "error_description": description, "flow_id": flow_id, "step": step}),
    );
    if status == 503 {
        response.with_header("retry-after", "5")
    } else {
        response
    }
}

fn flow_not_found() -> AuthResponse {
    AuthResponse::json_error(
        404,
        "flow_not_found",
        "No such sign-in in this browser (it may have expired). Start again.",
    )
}

fn unavailable() -> AuthResponse {
    AuthResponse::json_error(
        503,
        "temporarily_unavailable",
        "The identity provider cannot be reached right now. Try again shortly.",
    )
    .with_header("retry-after", "5")
}

fn store_unavailable() -> AuthResponse {
    AuthResponse::json_error(
        503,
        "temporarily_unavailable",
        "Sign-in is unavailable right now. Try again shortly.",
    )
    .with_header("retry-after", "5")
}

fn method_not_allowed(allowed: &'static str) -> AuthResponse {
    AuthResponse::json_error(
        405,
        "method_not_allowed",
        "This address does not accept that method.",
    )
    .with_header("allow", allowed)
}
