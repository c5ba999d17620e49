//! A flow in progress as the store keeps it: sealed JSON under `flow:<flow id>`, at most
//! [`MAX_RECORD_BYTES`], expiring [`IDLE_SECS`] after its last request like the provider's
//! ([`UNANSWERED_SECS`] until the user answers a first step).
//!
//! The record holds the PKCE verifier, nonce and state of the authorization request, the
//! provider's cookies and links, and a hash of the browser's binding cookie: only the
//! browser that started the flow can continue it.

use serde::{Deserialize, Serialize};

use super::jar::Jar;
use super::FlowStep;
use crate::config::FlowApi;
use crate::crypto::{b64url_encode, constant_time_eq};

/// PingOne and PingFederate end a flow after 15 minutes without a request.
pub(crate) const IDLE_SECS: i64 = 15 * 60;
/// A flow nobody has answered yet lives 5 minutes: a flood of starts then expires before
/// the flows of users who are signing in, which stores drop last (they expire later).
pub(crate) const UNANSWERED_SECS: i64 = 5 * 60;
/// Flow state stays this small (the bound; a real flow is about 1.5 KiB).
pub(crate) const MAX_RECORD_BYTES: usize = 4 * 1024;

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct FlowRecord {
    pub api: Api,
    /// SHA-256 of the binding cookie's value, base64url.
    pub binding: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    /// The flow resource (`_links.self`).
    pub self_href: String,
    /// The current state's actions: link name and href, as the provider gave them.
    pub links: Vec<(String, String)>,
    pub resume_url: Option<String>,
    pub step: FlowStep,
    /// The username last sent (PingFederate's password change asks for it again).
    pub username: Option<String>,
    pub jar: Jar,
    pub last_active: i64,
    /// Whether the user has answered a step yet (see [`UNANSWERED_SECS`]).
    #[serde(default)]
    pub acted: bool,
}

/// [`FlowApi`] without `Off`, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Api {
    PingOne,
    PingFederate,
}

impl Api {
    pub(crate) fn of(api: FlowApi) -> Option<Self> {
        match api {
            FlowApi::PingOne => Some(Self::PingOne),
            FlowApi::PingFederate => Some(Self::PingFederate),
            _ => None,
        }
    }
}

impl FlowRecord {
    /// Takes a new provider state's links (the old state's actions no longer apply), its
    /// self link and resume URL when it has them.
    pub(crate) fn follow(&mut self, state: &mut super::interpret::Interpreted) {
        if let Some(href) = state.self_href.take() {
            self.self_href = href;
        }
        if state.resume_url.is_some() {
            self.resume_url = state.resume_url.take();
        }
        self.links = std::mem::take(&mut state.links);
    }

    pub(crate) fn link(&self, name: &str) -> Option<&str> {
        self.links
            .iter()
            .find(|(link, _)| link == name)
            .map(|(_, href)| href.as_str())
    }

    pub(crate) fn is_bound_to(&self, binding_cookie: &str) -> bool {
        constant_time_eq(&self.binding, &binding_hash(binding_cookie))
    }

    /// How long the record lives without a request.
    pub(crate) fn idle_limit(&self) -> i64 {
        if self.acted {
            IDLE_SECS
        } else {
            UNANSWERED_SECS
        }
    }

    pub(crate) fn is_idle(&self, now: i64) -> bool {
        now.saturating_sub(self.last_active) >= self.idle_limit()
    }

    /// The JSON to seal, unless over [`MAX_RECORD_BYTES`].
    pub(crate) fn to_json(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(self)
            .ok()
            .filter(|json| json.len() <= MAX_RECORD_BYTES)
    }
}

/// The store key of a flow.
pub(crate) fn store_key(flow_id: &str) -> String {
    format!("flow:{flow_id}")
}

pub(crate) fn binding_hash(binding_cookie: &str) -> String {
    b64url_encode(ring::digest::digest(&ring::digest::SHA256, binding_cookie.as_bytes()).as_ref())
}

/// A flow id or binding value we could have made: 22 or 43 base64url characters.
pub(crate) fn is_well_formed_token(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
