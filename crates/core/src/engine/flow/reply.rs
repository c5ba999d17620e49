//! A flow request's answer before it is written: JSON for `/auth/flow`, a page for
//! `/auth/signin`. Both are rendered from the same reply, so the two front ends cannot
//! disagree about what happened.

use serde_json::json;

use crate::flow::{ActionRefusal, FlowStep};
use crate::response::AuthResponse;

/// What a flow request ended with.
pub(crate) struct FlowReply {
    pub status: u16,
    pub flow_id: Option<String>,
    /// The step the user is at now (`failed` when the flow ended).
    pub step: Option<FlowStep>,
    pub error: Option<ReplyError>,
    pub cookies: Vec<String>,
    pub headers: Vec<(&'static str, String)>,
}

/// Why a request did not move the flow on.
pub(crate) struct ReplyError {
    /// The contract's `error` code (`invalid_credentials`, `flow_expired`, ...).
    pub code: &'static str,
    pub description: String,
    /// The provider's own words for a refused action.
    pub provider_text: Option<String>,
    pub attempts_remaining: Option<u64>,
    /// The form field at fault, when the sign-in page knows it better than the code says.
    pub field: Option<&'static str>,
}

impl FlowReply {
    /// An error about the request itself, with no flow to show.
    pub fn error(status: u16, code: &'static str, description: &str) -> Self {
        Self {
            status,
            flow_id: None,
            step: None,
            error: Some(ReplyError {
                code,
                description: description.to_owned(),
                provider_text: None,
                attempts_remaining: None,
                field: None,
            }),
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The step the flow is at.
    pub fn step(flow_id: &str, step: FlowStep) -> Self {
        Self {
            status: 200,
            flow_id: Some(flow_id.to_owned()),
            step: Some(step),
            error: None,
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// An error that says the step (unchanged, or `failed`); a 503 says when to retry.
    pub fn step_error(
        status: u16,
        code: &'static str,
        description: &str,
        flow_id: &str,
        step: FlowStep,
    ) -> Self {
        let mut reply = Self::error(status, code, description);
        reply.flow_id = Some(flow_id.to_owned());
        reply.step = Some(step);
        if status == 503 {
            reply.headers.push(("retry-after", "5".into()));
        }
        reply
    }

    /// The provider refused an action; `step` is where the user is now.
    pub fn refused(flow_id: &str, step: FlowStep, refusal: ActionRefusal) -> Self {
        let mut reply = Self::step_error(400, refusal.error, &refusal.description, flow_id, step);
        if let Some(error) = &mut reply.error {
            error.provider_text = refusal.provider_text;
            error.attempts_remaining = refusal.attempts_remaining;
        }
        reply
    }

    /// No body (`204`).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            flow_id: None,
            step: None,
            error: None,
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    #[must_use]
    pub fn with_cookie(mut self, cookie: String) -> Self {
        self.cookies.push(cookie);
        self
    }

    /// `/auth/flow`'s JSON (`../shared/example-contract.md`): `{"error", "error_description",
    /// "attempts_remaining"}` when something went wrong, `{"flow_id", "step"}` when there is
    /// a flow; nothing for a 204.
    pub fn into_json(self) -> AuthResponse {
        let mut response = if self.error.is_none() && self.step.is_none() {
            AuthResponse::empty(self.status)
        } else {
            let mut body = json!({});
            if let Some(error) = &self.error {
                body["error"] = json!(error.code);
                body["error_description"] = json!(error.description);
                if let Some(left) = error.attempts_remaining {
                    body["attempts_remaining"] = json!(left);
                }
            }
            if let Some(flow_id) = &self.flow_id {
                body["flow_id"] = json!(flow_id);
            }
            if let Some(step) = &self.step {
                body["step"] = json!(step);
            }
            AuthResponse::json(self.status, body)
        };
        response.headers.extend(self.headers);
        response.with_cookies(self.cookies)
    }
}
