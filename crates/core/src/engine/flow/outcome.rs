//! Turning a provider exchange into the answer: the step saved, the code redeemed through
//! the callback's own checks, or the flow forgotten.

use super::*;

impl PingOidc {
    /// Turns an outcome into the answer, saving, finishing or forgetting the flow.
    pub(super) async fn answer<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
        record: FlowRecord,
        outcome: Outcome,
        refusal: Option<ActionRefusal>,
    ) -> FlowReply {
        match outcome {
            Outcome::Step(step) => {
                if let Err(reply) = self.save_flow(flow_id, &record).await {
                    return reply;
                }
                match refusal {
                    Some(refusal) => FlowReply::refused(flow_id, step, refusal),
                    None => FlowReply::step(flow_id, step),
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
                match refusal {
                    // The last attempt was refused and ended the flow: say both.
                    Some(mut refusal) => {
                        refusal.attempts_remaining = Some(0);
                        FlowReply::refused(flow_id, step, refusal)
                    }
                    None => FlowReply::step(flow_id, step),
                }
            }
            Outcome::Expired => {
                self.forget_flow(flow_id).await;
                FlowReply::step_error(
                    404,
                    "flow_expired",
                    "This sign-in has expired. Start again.",
                    flow_id,
                    FlowStep::Failed {
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
                    FlowReply::error(
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
                FlowReply::step_error(status, "provider_error", message, flow_id, step)
            }
        }
    }

    /// The code: the state must be this flow's (CSRF and mix-up defence, RFC 6749 §10.12),
    /// then the exchange and every ID token check, exactly as at the callback.
    pub(super) async fn finish_flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
        record: &FlowRecord,
        response: AuthorizeResponse,
    ) -> FlowReply {
        let config = &self.inner.config;
        let failure = |status: u16, message: &str, reason: &str| {
            tracing::warn!(status, reason, "redirect-less sign-in rejected");
            FlowReply::step_error(
                status,
                "sign_in_failed",
                message,
                flow_id,
                FlowStep::Failed {
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
            apis: &[],
            acr_values: &[],
            max_age: None,
            provider_cookies: record.jar.header(),
        };
        match self.redeem_code(request, &code, attempt).await {
            Ok(signed_in) => {
                let step = FlowStep::Completed {
                    return_to: record.return_to.clone(),
                };
                FlowReply::step(flow_id, step).with_cookie(signed_in.session_cookie)
            }
            Err(CallbackFailure {
                status,
                message,
                reason,
            }) => failure(status, &message, &reason),
        }
    }
}
