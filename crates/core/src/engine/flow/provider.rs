//! The flow's calls to the provider: one request with the flow's cookies, the intermediate
//! states answered, PingOne's resume, and the server-side sign-out of a flow session.

use serde_json::{json, Value};

use super::*;

impl PingOidc {
    /// One call to the provider with the flow's cookies; the answer's cookies go back in the
    /// jar. Only the provider's own origin is ever called: hrefs come from `_links`, which a
    /// provider could point anywhere.
    pub(super) async fn call(
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

    /// One provider call (a read, or `action`) and the state it answers, followed until the
    /// user has something to do.
    pub(super) async fn step(
        &self,
        record: &mut FlowRecord,
        url: &str,
        action: Option<(&str, Value)>,
    ) -> Outcome {
        match self.call(record, url, action).await {
            Ok(answer) => match read_state(record.api, &answer) {
                Ok(state) => self.advance(record, state).await,
                Err(outcome) => outcome,
            },
            Err(error) => Outcome::from_provider_error(error),
        }
    }

    /// Reads the flow again (its `self` link).
    pub(super) async fn reread(&self, record: &mut FlowRecord) -> Outcome {
        let href = record.self_href.clone();
        self.step(record, &href, None).await
    }

    /// Follows a state until the user has something to do: PingFederate's intermediate
    /// states are answered at once, PingOne's `COMPLETED` is resumed for its code.
    pub(super) async fn advance(&self, record: &mut FlowRecord, mut state: Interpreted) -> Outcome {
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
    pub(super) fn read_resume(&self, answer: &FlowResponse) -> Outcome {
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

    /// Sign-out of a session made by a redirect-less sign-in: the provider session lives in
    /// the cookies the server kept, so the server ends it (the browser has nothing to send).
    pub(in crate::engine) async fn end_provider_session_from_server(
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

/// A 200/201 answer read as a flow state; anything else as the outcome it means.
pub(super) fn read_state(api: Api, answer: &FlowResponse) -> Result<Interpreted, Outcome> {
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
pub(super) fn names_a_missing_flow(answer: &FlowResponse) -> bool {
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

pub(super) fn same_origin(url: &str, base: &str) -> bool {
    match (url::Url::parse(url), url::Url::parse(base)) {
        (Ok(url), Ok(base)) => url.origin() == base.origin(),
        _ => false,
    }
}
