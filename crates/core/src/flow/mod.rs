//! Redirect-less sign-in: PingOne's Flow API and PingFederate's Authentication API, driven
//! from the server (`response_mode=pi.flow`).
//!
//! The two products differ in status names, action names, media types, cookies and how the
//! code comes back (`../shared/flow-api-reference.md` §3). This module hides that:
//! [`interpret`] turns either product's flow state into one [`FlowStep`], and
//! [`interpret::provider_action`] turns an app's [`FlowAction`] into the product's request.
//! The engine's routes (`engine/flow.rs`) keep the state in the store ([`record`]) and the
//! provider's cookies in a [`jar`] that never reaches the browser.

use serde::{Deserialize, Serialize};

pub(crate) mod interpret;
pub(crate) mod jar;
pub(crate) mod record;

/// What the user must do next in a redirect-less sign-in, the same for both products. The
/// routes under `/auth/flow` answer it as `{"kind": ..., ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FlowStep {
    /// Username and password.
    Credentials {
        /// The username, when the provider already knows it (identifier-first, `login_hint`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
    },
    /// The username only (identifier-first).
    Identifier,
    /// Choose an MFA device.
    SelectDevice {
        /// The devices to choose from.
        devices: Vec<FlowDevice>,
    },
    /// Enter the one-time code sent to (or shown by) a device.
    Otp {
        /// The device the code comes from, when the provider says (absent otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<FlowDevice>,
        /// The user's devices, when the provider lets them switch to another one
        /// (`select_device` answers this step too); empty otherwise.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        devices: Vec<FlowDevice>,
    },
    /// Approve the push notification on a device; poll until it is approved.
    PushWait {
        /// The device the notification went to, when the provider says (absent otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<FlowDevice>,
        /// The user's devices, when the provider lets them switch to another one; empty
        /// otherwise.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        devices: Vec<FlowDevice>,
    },
    /// The password must be changed before signing in.
    ChangePassword {
        /// The provider's password rules, when it says them (PingOne's `passwordPolicy`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<PasswordPolicy>,
    },
    /// Signed in: the session cookie was set with this answer.
    Completed {
        /// Where the app sends the user now.
        return_to: String,
    },
    /// The flow ended without signing in; start again.
    Failed {
        /// What the user reads.
        message: String,
    },
    /// The provider asked for a step this library does not handle.
    Unsupported {
        /// The provider's raw status.
        provider_status: String,
    },
}

/// An MFA device as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowDevice {
    /// The provider's device id (what `select_device` sends back).
    pub id: String,
    /// What kind of device it is.
    #[serde(rename = "type")]
    pub kind: DeviceKind,
    /// A readable label, with phone numbers and addresses masked by the provider.
    pub label: String,
    /// The masked phone number, address or nickname alone, when the provider gives one (for
    /// pages that name the kind in their own language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether this is the user's default device.
    pub default: bool,
}

/// A password policy's rules, as far as the provider states them; each `None` or `false`
/// rule is one the provider did not state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// Shortest allowed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Longest allowed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Fewest upper-case letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_uppercase: Option<u32>,
    /// Fewest lower-case letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lowercase: Option<u32>,
    /// Fewest digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_digits: Option<u32>,
    /// Fewest special characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_special: Option<u32>,
    /// Fewest distinct characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_unique: Option<u32>,
    /// Most repeats of one character in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repeated: Option<u32>,
    /// How many earlier passwords cannot be reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<u32>,
    /// Commonly used passwords are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub excludes_common: bool,
    /// Passwords made of the user's profile data are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub excludes_profile_data: bool,
    /// The new password must not resemble the current one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_similar_to_current: bool,
}

/// The kind of an MFA device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceKind {
    /// A code by text message.
    Sms,
    /// A code by email.
    Email,
    /// An authenticator app's code.
    Totp,
    /// A push notification to a mobile app.
    Push,
    /// A security key or platform authenticator.
    Fido,
    /// Anything else.
    Other,
}

/// What the user answers a step with (the body of `POST /auth/flow/{id}`).
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FlowAction {
    Credentials {
        username: String,
        password: String,
    },
    Identifier {
        username: String,
    },
    SelectDevice {
        device_id: String,
    },
    Otp {
        otp: String,
    },
    Poll,
    ChangePassword {
        current_password: String,
        new_password: String,
    },
}

impl FlowAction {
    /// The step this action answers.
    pub(crate) fn answers(&self, step: &FlowStep) -> bool {
        matches!(
            (self, step),
            (Self::Credentials { .. }, FlowStep::Credentials { .. })
                | (Self::Identifier { .. }, FlowStep::Identifier)
                | (Self::SelectDevice { .. }, FlowStep::SelectDevice { .. })
                // Another device may be chosen while a code or a push is awaited.
                | (Self::SelectDevice { .. }, FlowStep::Otp { .. })
                | (Self::SelectDevice { .. }, FlowStep::PushWait { .. })
                | (Self::Otp { .. }, FlowStep::Otp { .. })
                | (Self::Poll, FlowStep::PushWait { .. })
                | (Self::ChangePassword { .. }, FlowStep::ChangePassword { .. })
        )
    }

    /// Every text field is short: a real answer is never near these bounds.
    pub(crate) fn is_bounded(&self) -> bool {
        let fits = |text: &str, max: usize| !text.is_empty() && text.len() <= max;
        match self {
            Self::Credentials { username, password } => fits(username, 256) && fits(password, 512),
            Self::Identifier { username } => fits(username, 256),
            Self::SelectDevice { device_id } => fits(device_id, 256),
            Self::Otp { otp } => fits(otp, 32),
            Self::Poll => true,
            Self::ChangePassword {
                current_password,
                new_password,
            } => fits(current_password, 512) && fits(new_password, 512),
        }
    }
}

/// Passwords and codes never print.
impl std::fmt::Debug for FlowAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Credentials { .. } => "Credentials",
            Self::Identifier { .. } => "Identifier",
            Self::SelectDevice { .. } => "SelectDevice",
            Self::Otp { .. } => "Otp",
            Self::Poll => "Poll",
            Self::ChangePassword { .. } => "ChangePassword",
        };
        write!(f, "FlowAction::{name}(..)")
    }
}

/// Why the provider refused an action, normalised. The step stays as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ActionRefusal {
    /// `invalid_credentials`, `invalid_otp`, `invalid_password`, `invalid_device` or
    /// `action_refused`.
    pub error: &'static str,
    /// What the user reads: the provider's user-facing message when it has a safe one.
    pub description: String,
    /// The provider's words for users (PingFederate's `userMessage`), which pages show
    /// beside their own text.
    pub provider_text: Option<String>,
    pub attempts_remaining: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_serialize_as_the_contract_says() {
        let step = FlowStep::SelectDevice {
            devices: vec![FlowDevice {
                id: "d1".into(),
                kind: DeviceKind::Sms,
                label: "Text +1******0100".into(),
                detail: None,
                default: true,
            }],
        };
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            serde_json::json!({"kind": "select_device", "devices": [
                {"id": "d1", "type": "sms", "label": "Text +1******0100", "default": true}
            ]})
        );
        let step = FlowStep::Unsupported {
            provider_status: "X".into(),
        };
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            serde_json::json!({"kind": "unsupported", "provider_status": "X"})
        );
    }

    #[test]
    fn actions_parse_and_hide_secrets() {
        let action: FlowAction = serde_json::from_str(
            r#"{"action":"credentials","username":"alice","password":"hunter2"}"#,
        )
        .unwrap();
        assert!(action.answers(&FlowStep::Credentials { username: None }));
        assert!(!format!("{action:?}").contains("hunter2"));
        assert!(serde_json::from_str::<FlowAction>(r#"{"action":"otp"}"#).is_err());
        assert!(serde_json::from_str::<FlowAction>(r#"{"action":"nope"}"#).is_err());
        let long = FlowAction::Otp {
            otp: "1".repeat(33),
        };
        assert!(!long.is_bounded());
    }
}
