//! A flow's record in the store (sealed, bound to the browser) and its turn: one request of
//! a flow at a time, in this process and across instances.

use super::*;

impl PingOidc {
    /// Runs `work` as the only request of this flow: one at a time in this process (a
    /// gate), and across instances (a lease in the store). PingFederate's cookie rotates on
    /// every answer, so two calls at once would leave one with a stale cookie, and a cancel
    /// racing a step could bring the flow back.
    pub(super) async fn in_turn(
        &self,
        flow_id: &str,
        work: impl std::future::Future<Output = FlowReply>,
    ) -> FlowReply {
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
            Ok(false) => FlowReply::error(
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
    pub(super) async fn take_flow_lease(&self, key: &str) -> Result<bool, crate::StoreError> {
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

    /// The flow's record, when this browser's binding cookie matches it. `Ok(None)` for
    /// every kind of "not yours or not there", so that they cannot be told apart.
    pub(in crate::engine) async fn load_flow<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        flow_id: &str,
    ) -> Result<Option<FlowRecord>, FlowReply> {
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
    pub(super) fn seal_record(
        &self,
        key: &str,
        record: &FlowRecord,
    ) -> Result<String, SealFailure> {
        let json = record.to_json().ok_or(SealFailure::TooLarge)?;
        self.inner
            .config
            .session_key
            .seal(key.as_bytes(), &json)
            .ok_or(SealFailure::NoRandomness)
    }

    pub(super) fn open_record(&self, key: &str, sealed: &str) -> Option<FlowRecord> {
        let json = self.inner.config.session_key.open(key.as_bytes(), sealed)?;
        serde_json::from_slice(&json).ok()
    }

    pub(super) async fn save_flow(
        &self,
        flow_id: &str,
        record: &FlowRecord,
    ) -> Result<(), FlowReply> {
        let key = record::store_key(flow_id);
        let sealed = match self.seal_record(&key, record) {
            Ok(sealed) => sealed,
            Err(SealFailure::NoRandomness) => return Err(unavailable()),
            Err(SealFailure::TooLarge) => {
                tracing::warn!("the provider's flow state is larger than 4 KiB; the flow ends");
                self.forget_flow(flow_id).await;
                return Err(FlowReply::step_error(
                    502,
                    "provider_error",
                    "The identity provider's answer is too large. Start again.",
                    flow_id,
                    FlowStep::Failed {
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

    pub(super) async fn forget_flow(&self, flow_id: &str) {
        if let Err(error) = self
            .inner
            .store
            .delete_record(&record::store_key(flow_id))
            .await
        {
            tracing::warn!(%error, "could not delete a finished flow (it expires by itself)");
        }
    }
}

pub(super) enum SealFailure {
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
