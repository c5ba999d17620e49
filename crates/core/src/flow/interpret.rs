//! Reading either product's flow state as one [`FlowStep`], and writing an app's
//! [`FlowAction`] as the product's request (the table in `flow-api-reference.md` §3).
//!
//! Parsing is tolerant where the products' documentation is silent (where PingOne puts the
//! device list, which field holds the attempts left): every place either product is known
//! to use is read. An unknown status never fails a flow: it becomes
//! [`FlowStep::Unsupported`].
//!
//! Over 500 lines because a third of it is the unit tests of both products' shapes.

use serde_json::{json, Map, Value};

use super::record::Api;
use super::{ActionRefusal, DeviceKind, FlowAction, FlowDevice, FlowStep, PasswordPolicy};

/// Devices listed at most, and the longest text kept from the provider.
const MAX_DEVICES: usize = 20;
const MAX_TEXT: usize = 300;

/// A provider flow state, read.
#[derive(Debug)]
pub(crate) struct Interpreted {
    pub status: String,
    pub self_href: Option<String>,
    pub links: Vec<(String, String)>,
    pub resume_url: Option<String>,
    pub next: Next,
}

#[derive(Debug)]
pub(crate) enum Next {
    /// Ask the user.
    Step(FlowStep),
    /// An intermediate state the client answers by itself with this action and `{}`
    /// (PingFederate's `authenticate` and `continueAuthentication`).
    Continue(&'static str),
    /// The authorization response, inline.
    Code(AuthorizeResponse),
    /// PingOne's `COMPLETED` without a code: the resume URL delivers it.
    Resume,
    /// The flow is over without a sign-in.
    Fail(String),
}

/// `authorizeResponse`, or the query of a redirect carrying it.
#[derive(Default, PartialEq, Eq)]
pub(crate) struct AuthorizeResponse {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The code and state never print.
impl std::fmt::Debug for AuthorizeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeResponse")
            .field("has_code", &self.code.is_some())
            .field("has_state", &self.state.is_some())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl AuthorizeResponse {
    pub(crate) fn from_json(value: &Value) -> Self {
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            code: text("code"),
            state: text("state"),
            iss: text("iss"),
            error: text("error"),
        }
    }

    /// The query of `Location: <redirect_uri>?code=..&state=..`.
    pub(crate) fn from_query(query: &str) -> Self {
        let mut response = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut response.code,
                "state" => &mut response.state,
                "iss" => &mut response.iss,
                "error" => &mut response.error,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        response
    }
}

/// Reads a flow state (the JSON body of a 200).
pub(crate) fn interpret(api: Api, body: &Value) -> Interpreted {
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .map(|s| cut(s, 64))
        .unwrap_or_default();
    let links = links(body);
    let has = |name: &str| links.iter().any(|(link, _)| link == name);
    let self_href = links
        .iter()
        .find(|(name, _)| name == "self")
        .map(|(_, href)| href.clone());
    let resume_url = body
        .get("resumeUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let authorize = body.get("authorizeResponse").filter(|v| v.is_object());
    let failed = || Next::Fail(failure_message(body));
    let next = match (api, status.as_str()) {
        (_, "COMPLETED") => match authorize {
            Some(response) => Next::Code(AuthorizeResponse::from_json(response)),
            // The resume URL may have come with an earlier state: the record keeps it.
            None if api == Api::PingOne => Next::Resume,
            None => Next::Fail("The sign-in finished without a result. Start again.".into()),
        },
        // A redirect-less flow cannot send the browser on (PingFederate: a non-API adapter
        // or the authentication-application mode was reached).
        (_, "RESUME") => Next::Fail(
            "The identity provider needs a browser redirect for this sign-in. Use the regular sign-in."
                .into(),
        ),
        (_, "FAILED" | "CANCELED" | "MFA_FAILED") => failed(),
        (Api::PingOne, "USERNAME_PASSWORD_REQUIRED" | "PASSWORD_REQUIRED")
            if has("usernamePassword.check") =>
        {
            Next::Step(FlowStep::Credentials {
                username: pointer_text(body, "/_embedded/user/username"),
            })
        }
        (Api::PingOne, "SIGN_ON_REQUIRED") if has("user.lookup") => {
            Next::Step(FlowStep::Identifier)
        }
        (Api::PingOne, "SIGN_ON_REQUIRED") if has("usernamePassword.check") => {
            Next::Step(FlowStep::Credentials {
                username: pointer_text(body, "/_embedded/user/username"),
            })
        }
        (Api::PingOne, "MUST_CHANGE_PASSWORD" | "PASSWORD_EXPIRED") if has("password.reset") => {
            Next::Step(FlowStep::ChangePassword {
                policy: body
                    .pointer("/_embedded/passwordPolicy")
                    .and_then(Value::as_object)
                    .map(password_policy),
            })
        }
        (Api::PingFederate, "USERNAME_PASSWORD_REQUIRED") if has("checkUsernamePassword") => {
            Next::Step(FlowStep::Credentials {
                username: body
                    .get("username")
                    .and_then(Value::as_str)
                    .filter(|u| !u.is_empty())
                    .map(|u| cut(u, 256)),
            })
        }
        (Api::PingFederate, "IDENTIFIER_REQUIRED") if has("submitIdentifier") => {
            Next::Step(FlowStep::Identifier)
        }
        // PingFederate states no policy in this state (only `failedValidators` in a refusal).
        (Api::PingFederate, "MUST_CHANGE_PASSWORD") if has("checkNewPassword") => {
            Next::Step(FlowStep::ChangePassword { policy: None })
        }
        (Api::PingFederate, "AUTHENTICATION_REQUIRED") if has("authenticate") => {
            Next::Continue("authenticate")
        }
        (Api::PingFederate, "MFA_COMPLETED" | "OTP_VERIFIED" | "SUCCESSFUL_PASSWORD_CHANGE")
            if has("continueAuthentication") =>
        {
            Next::Continue("continueAuthentication")
        }
        (_, "DEVICE_SELECTION_REQUIRED") if has(select_link(api)) => {
            Next::Step(FlowStep::SelectDevice {
                devices: devices(body),
            })
        }
        (_, "OTP_REQUIRED") if has(otp_link(api)) => Next::Step(FlowStep::Otp {
            device: selected_device(body),
            devices: switchable_devices(body, has(select_link(api))),
        }),
        (Api::PingOne, "PUSH_CONFIRMATION_REQUIRED")
        | (Api::PingFederate, "PUSH_CONFIRMATION_WAITING") => Next::Step(FlowStep::PushWait {
            device: selected_device(body),
            devices: switchable_devices(body, has(select_link(api))),
        }),
        (_, "PUSH_CONFIRMATION_TIMED_OUT" | "PUSH_CONFIRMATION_REJECTED")
            if has(select_link(api)) =>
        {
            Next::Step(FlowStep::SelectDevice {
                devices: devices(body),
            })
        }
        (_, "PUSH_CONFIRMATION_TIMED_OUT") => {
            Next::Fail("The push notification expired. Start again.".into())
        }
        (_, "PUSH_CONFIRMATION_REJECTED") => {
            Next::Fail("The sign-in was rejected on your device.".into())
        }
        (_, other) => Next::Step(FlowStep::Unsupported {
            provider_status: if other.is_empty() {
                "(none)".into()
            } else {
                other.to_owned()
            },
        }),
    };
    Interpreted {
        status,
        self_href,
        links,
        resume_url,
        next,
    }
}

fn select_link(api: Api) -> &'static str {
    match api {
        Api::PingOne => "device.select",
        Api::PingFederate => "selectDevice",
    }
}

fn otp_link(api: Api) -> &'static str {
    match api {
        Api::PingOne => "otp.check",
        Api::PingFederate => "checkOtp",
    }
}

/// `_links`: `{"name": {"href": ...}}`, hrefs only.
fn links(body: &Value) -> Vec<(String, String)> {
    let Some(links) = body.get("_links").and_then(Value::as_object) else {
        return Vec::new();
    };
    links
        .iter()
        .take(32)
        .filter_map(|(name, link)| {
            let href = link.get("href").and_then(Value::as_str)?;
            (name.len() <= 64 && href.len() <= 1024).then(|| (name.clone(), href.to_owned()))
        })
        .collect()
}

/// The provider's request for one action: the link to POST to (the same name in
/// `_links`), and the body. `None` for a PingOne poll, which is a GET of the flow.
pub(crate) fn provider_action(
    api: Api,
    action: &FlowAction,
    username: Option<&str>,
) -> Option<(&'static str, Value)> {
    Some(match (api, action) {
        (_, FlowAction::Poll) if api == Api::PingOne => return None,
        (Api::PingOne, FlowAction::Credentials { username, password }) => (
            "usernamePassword.check",
            json!({"username": username, "password": password}),
        ),
        (Api::PingOne, FlowAction::Identifier { username }) => {
            ("user.lookup", json!({ "username": username }))
        }
        (Api::PingOne, FlowAction::SelectDevice { device_id }) => {
            ("device.select", json!({"device": {"id": device_id}}))
        }
        (Api::PingOne, FlowAction::Otp { otp }) => ("otp.check", json!({ "otp": otp })),
        (
            Api::PingOne,
            FlowAction::ChangePassword {
                current_password,
                new_password,
            },
        ) => (
            "password.reset",
            json!({"currentPassword": current_password, "newPassword": new_password}),
        ),
        (Api::PingFederate, FlowAction::Credentials { username, password }) => (
            "checkUsernamePassword",
            json!({"username": username, "password": password}),
        ),
        (Api::PingFederate, FlowAction::Identifier { username }) => {
            ("submitIdentifier", json!({ "identifier": username }))
        }
        (Api::PingFederate, FlowAction::SelectDevice { device_id }) => {
            ("selectDevice", json!({"deviceRef": {"id": device_id}}))
        }
        (Api::PingFederate, FlowAction::Otp { otp }) => ("checkOtp", json!({ "otp": otp })),
        (Api::PingFederate, FlowAction::Poll) | (Api::PingOne, FlowAction::Poll) => {
            ("poll", json!({}))
        }
        (
            Api::PingFederate,
            FlowAction::ChangePassword {
                current_password,
                new_password,
            },
        ) => (
            "checkNewPassword",
            json!({
                "username": username.unwrap_or_default(),
                "existingPassword": current_password,
                "newPassword": new_password,
            }),
        ),
    })
}

/// The media type that names an action (both products accept it).
pub(crate) fn media_type(action: &str) -> String {
    format!("application/vnd.pingidentity.{action}+json")
}

/// A refused action (a 400 with the state unchanged), normalised. PingOne:
/// `{code, message, details[{code, target, message, innerError{failuresRemaining}}]}`;
/// PingFederate: `{code, message, userMessage, details[{code, message, userMessage,
/// target, attemptsRemaining}]}`.
pub(crate) fn refusal(api: Api, action: &FlowAction, body: &Value) -> ActionRefusal {
    let details: &[Value] = body
        .get("details")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
    let wrong_action = matches!(code, "INVALID_ACTION_ID" | "INVALID_REQUEST")
        && details.is_empty()
        && !matches!(action, FlowAction::Poll);
    let error = match action {
        _ if wrong_action => "action_refused",
        FlowAction::Credentials { .. } | FlowAction::Identifier { .. } => "invalid_credentials",
        FlowAction::Otp { .. } => "invalid_otp",
        FlowAction::ChangePassword { .. } => "invalid_password",
        FlowAction::SelectDevice { .. } => "invalid_device",
        FlowAction::Poll => "action_refused",
    };
    let attempts_remaining = details
        .iter()
        .flat_map(|detail| [detail.get("innerError"), Some(detail)])
        .chain([Some(body)])
        .flatten()
        .find_map(|place| {
            [
                "failuresRemaining",
                "attemptsRemaining",
                "remainingAttempts",
            ]
            .iter()
            .find_map(|name| place.get(*name).and_then(Value::as_u64))
        });
    // The user-facing text: PingFederate's `userMessage` is written for users; PingOne's
    // detail `message` names the field's problem. Top-level PingOne messages are generic.
    let text = |value: &Value, name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| cut(t, MAX_TEXT))
    };
    let provider_text = match api {
        Api::PingFederate => details
            .iter()
            .find_map(|d| text(d, "userMessage"))
            .or_else(|| text(body, "userMessage")),
        Api::PingOne => details.iter().find_map(|d| text(d, "message")),
    };
    let description = provider_text.clone().unwrap_or_else(|| {
        match error {
            "invalid_credentials" => "The username or password is not right.",
            "invalid_otp" => "The code is not right.",
            "invalid_password" => "The new password was not accepted.",
            "invalid_device" => "That device cannot be used.",
            _ => "The identity provider refused this step.",
        }
        .to_owned()
    });
    ActionRefusal {
        error,
        description,
        // Only PingFederate's `userMessage` is written for users; PingOne's names a field.
        provider_text: provider_text.filter(|_| api == Api::PingFederate),
        attempts_remaining,
    }
}

/// What a `FAILED` state says, when it says something readable.
fn failure_message(body: &Value) -> String {
    let candidates = [
        body.pointer("/error/message"),
        body.get("userMessage"),
        body.get("message"),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|t| !t.is_empty())
        .map(|t| cut(t, MAX_TEXT))
        .unwrap_or_else(|| "The sign-in did not succeed. Start again.".into())
}

fn pointer_text(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| cut(t, 256))
}

/// The device list: PingOne's `_embedded.devices`, PingFederate's top-level `devices`.
fn devices(body: &Value) -> Vec<FlowDevice> {
    let list = body
        .pointer("/_embedded/devices")
        .or_else(|| body.get("devices"))
        .and_then(Value::as_array);
    let default_id = selected_id(body);
    let mut devices: Vec<FlowDevice> = list
        .into_iter()
        .flatten()
        .take(MAX_DEVICES)
        .filter_map(Value::as_object)
        .filter_map(|device| read_device(device, default_id.as_deref()))
        .collect();
    if !devices.iter().any(|d| d.default) {
        if let Some(first) = devices.first_mut() {
            first.default = true;
        }
    }
    devices
}

/// The devices a user waiting for a code or a push may switch to: only when the state offers
/// the select action, PingFederate does not forbid it (`changeDevicePermitted`), and there
/// is another device.
fn switchable_devices(body: &Value, can_select: bool) -> Vec<FlowDevice> {
    let forbidden = body.get("changeDevicePermitted").and_then(Value::as_bool) == Some(false);
    let devices = devices(body);
    if !can_select || forbidden || devices.len() < 2 {
        return Vec::new();
    }
    devices
}

/// PingOne's password policy object (`length`, `minCharacters` keyed by character set,
/// `history`, and flags), read as far as it is understood.
fn password_policy(policy: &Map<String, Value>) -> PasswordPolicy {
    let number = |value: Option<&Value>| {
        value
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let flag = |name: &str| policy.get(name).and_then(Value::as_bool) == Some(true);
    let mut read = PasswordPolicy {
        min_length: number(policy.get("length").and_then(|l| l.get("min"))),
        max_length: number(policy.get("length").and_then(|l| l.get("max"))),
        min_unique: number(policy.get("minUniqueCharacters")),
        max_repeated: number(policy.get("maxRepeatedCharacters")),
        history: number(policy.get("history").and_then(|h| h.get("count"))),
        excludes_common: flag("excludesCommonlyUsed"),
        excludes_profile_data: flag("excludesProfileData"),
        not_similar_to_current: flag("notSimilarToCurrent"),
        ..PasswordPolicy::default()
    };
    // `minCharacters` keys are the character sets themselves, e.g. "0123456789": 1.
    if let Some(sets) = policy.get("minCharacters").and_then(Value::as_object) {
        for (set, count) in sets.iter().take(8) {
            let count = number(Some(count));
            let slot = if set.chars().all(|c| c.is_ascii_uppercase()) {
                &mut read.min_uppercase
            } else if set.chars().all(|c| c.is_ascii_lowercase()) {
                &mut read.min_lowercase
            } else if set.chars().all(|c| c.is_ascii_digit()) {
                &mut read.min_digits
            } else {
                &mut read.min_special
            };
            *slot = count;
        }
    }
    read
}

/// PingOne's `_embedded.selectedDevice`, PingFederate's `selectedDeviceRef`.
fn selected_id(body: &Value) -> Option<String> {
    body.pointer("/_embedded/selectedDevice/id")
        .or_else(|| body.pointer("/selectedDeviceRef/id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The device the current step is about: the full entry from the list when there is one.
fn selected_device(body: &Value) -> Option<FlowDevice> {
    let id = selected_id(body)?;
    if let Some(device) = devices(body).into_iter().find(|d| d.id == id) {
        return Some(device);
    }
    let object = body
        .pointer("/_embedded/selectedDevice")
        .and_then(Value::as_object)?;
    read_device(object, Some(&id))
}

fn read_device(device: &Map<String, Value>, default_id: Option<&str>) -> Option<FlowDevice> {
    let text = |name: &str| {
        device
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| cut(t, 100))
    };
    let id = text("id")?;
    let raw_type = text("type").unwrap_or_default().to_ascii_uppercase();
    let kind = match raw_type.as_str() {
        "SMS" | "VOICE" => DeviceKind::Sms,
        "EMAIL" => DeviceKind::Email,
        "TOTP" | "SOFTWARE_TOKEN" | "OATH_TOKEN" => DeviceKind::Totp,
        "MOBILE" | "PUSH" | "PINGID" | "IPHONE" | "ANDROID" => DeviceKind::Push,
        "FIDO2" | "FIDO" | "SECURITY_KEY" | "PLATFORM" => DeviceKind::Fido,
        _ => DeviceKind::Other,
    };
    let detail = text("nickname")
        .or_else(|| text("phone"))
        .or_else(|| text("email"))
        .or_else(|| text("target"))
        .or_else(|| text("name"));
    let kind_label = match kind {
        DeviceKind::Sms => "Text message",
        DeviceKind::Email => "Email",
        DeviceKind::Totp => "Authenticator app",
        DeviceKind::Push => "Push notification",
        DeviceKind::Fido => "Security key",
        DeviceKind::Other => "Device",
    };
    let label = match &detail {
        Some(detail) => format!("{kind_label}: {detail}"),
        None => kind_label.to_owned(),
    };
    let default = device.get("default").and_then(Value::as_bool) == Some(true)
        || default_id == Some(id.as_str());
    Some(FlowDevice {
        id,
        kind,
        label,
        detail,
        default,
    })
}

/// Printable text, at most `max` bytes (on a char boundary).
fn cut(text: &str, max: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.len() <= max {
        return clean;
    }
    let mut end = max;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    clean[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(api: Api, body: Value) -> Next {
        interpret(api, &body).next
    }

    #[test]
    fn password_policies_and_device_switches_are_read() {
        let policy = json!({"status": "MUST_CHANGE_PASSWORD",
            "_links": {"self": {"href": "h"}, "password.reset": {"href": "h"}},
            "_embedded": {"passwordPolicy": {"length": {"min": 8, "max": 255},
                "minCharacters": {"ABCDEFGHIJKLMNOPQRSTUVWXYZ": 1, "0123456789": 2, "~!@#$%": 1},
                "history": {"count": 6}, "excludesCommonlyUsed": true, "maxRepeatedCharacters": "x"}}});
        let Next::Step(FlowStep::ChangePassword {
            policy: Some(policy),
        }) = step(Api::PingOne, policy)
        else {
            panic!("no policy");
        };
        assert_eq!((policy.min_length, policy.max_length), (Some(8), Some(255)));
        assert_eq!(
            (policy.min_uppercase, policy.min_digits, policy.min_special),
            (Some(1), Some(2), Some(1))
        );
        assert_eq!(
            (policy.min_lowercase, policy.max_repeated, policy.history),
            (None, None, Some(6))
        );
        assert!(policy.excludes_common && !policy.not_similar_to_current);

        let devices = json!([{"id": "a", "type": "SMS", "target": "***-0100"}, {"id": "b", "type": "EMAIL", "target": "x"}]);
        let waiting = |permitted: Value, select: bool| {
            let mut links = json!({"self": {"href": "h"}, "checkOtp": {"href": "h"}});
            if select {
                links["selectDevice"] = json!({"href": "h"});
            }
            json!({"status": "OTP_REQUIRED", "_links": links, "devices": devices,
                "selectedDeviceRef": {"id": "a"}, "changeDevicePermitted": permitted})
        };
        let switchable = |body| match step(Api::PingFederate, body) {
            Next::Step(FlowStep::Otp { devices, .. }) => devices.len(),
            _ => usize::MAX,
        };
        assert_eq!(switchable(waiting(json!(true), true)), 2);
        assert_eq!(switchable(waiting(json!(false), true)), 0);
        assert_eq!(switchable(waiting(json!(true), false)), 0);
        assert_eq!(switchable(waiting(Value::Null, true)), 2);
    }

    #[test]
    fn pingone_statuses() {
        let href = |name: &str| json!({"self": {"href": "h"}, name: {"href": "h"}});
        assert!(matches!(
            step(Api::PingOne, json!({"status": "USERNAME_PASSWORD_REQUIRED", "_links": href("usernamePassword.check"),
                "_embedded": {"user": {"username": "alice"}}})),
            Next::Step(FlowStep::Credentials { username: Some(u) }) if u == "alice"
        ));
        assert!(matches!(
            step(
                Api::PingOne,
                json!({"status": "SIGN_ON_REQUIRED", "_links": href("user.lookup")})
            ),
            Next::Step(FlowStep::Identifier)
        ));
        let devices = json!({"status": "DEVICE_SELECTION_REQUIRED", "_links": href("device.select"),
            "_embedded": {"devices": [
                {"id": "a", "type": "SMS", "phone": "+1******0100"},
                {"id": "b", "type": "EMAIL", "email": "o*****@example.com"}],
                "selectedDevice": {"id": "b"}}});
        let Next::Step(FlowStep::SelectDevice { devices }) = step(Api::PingOne, devices) else {
            panic!("not a device selection");
        };
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].label, "Text message: +1******0100");
        assert!(!devices[0].default && devices[1].default);
        assert!(matches!(
            step(
                Api::PingOne,
                json!({"status": "COMPLETED", "resumeUrl": "r", "_links": href("x")})
            ),
            Next::Resume
        ));
        assert!(matches!(
            step(
                Api::PingOne,
                json!({"status": "COMPLETED", "authorizeResponse": {"code": "c", "state": "s"}})
            ),
            Next::Code(AuthorizeResponse {
                code: Some(_),
                state: Some(_),
                ..
            })
        ));
        assert!(matches!(
            step(Api::PingOne, json!({"status": "QUANTUM"})),
            Next::Step(FlowStep::Unsupported { provider_status }) if provider_status == "QUANTUM"
        ));
        assert!(matches!(
            step(Api::PingOne, json!({"nothing": true})),
            Next::Step(FlowStep::Unsupported { .. })
        ));
    }

    #[test]
    fn pingfederate_statuses() {
        let href = |name: &str| json!({"self": {"href": "h"}, name: {"href": "h"}});
        assert!(matches!(
            step(
                Api::PingFederate,
                json!({"status": "AUTHENTICATION_REQUIRED", "_links": href("authenticate")})
            ),
            Next::Continue("authenticate")
        ));
        for status in ["MFA_COMPLETED", "OTP_VERIFIED"] {
            assert!(matches!(
                step(
                    Api::PingFederate,
                    json!({"status": status, "_links": href("continueAuthentication")})
                ),
                Next::Continue("continueAuthentication")
            ));
        }
        assert!(matches!(
            step(
                Api::PingFederate,
                json!({"status": "RESUME", "resumeUrl": "r"})
            ),
            Next::Fail(_)
        ));
        let otp = json!({"status": "OTP_REQUIRED", "_links": href("checkOtp"),
            "devices": [{"id": "a", "type": "SMS", "target": "***-0100"}, {"id": "b", "type": "EMAIL", "target": "x"}],
            "selectedDeviceRef": {"id": "b"}});
        let Next::Step(FlowStep::Otp {
            device: Some(device),
            ..
        }) = step(Api::PingFederate, otp)
        else {
            panic!("not an OTP step");
        };
        assert_eq!(device.id, "b");
        assert_eq!(device.kind, DeviceKind::Email);
    }

    #[test]
    fn refusals_are_normalised() {
        let wrong = FlowAction::Credentials {
            username: "a".into(),
            password: "b".into(),
        };
        let p1 = json!({"code": "INVALID_DATA", "message": "generic", "details": [{"code": "INVALID_VALUE",
            "target": "password", "message": "The provided password did not match provisioned password",
            "innerError": {"failuresRemaining": 3}}]});
        let refusal_p1 = refusal(Api::PingOne, &wrong, &p1);
        assert_eq!(refusal_p1.error, "invalid_credentials");
        assert_eq!(refusal_p1.attempts_remaining, Some(3));
        assert!(refusal_p1.description.contains("did not match"));
        let pf = json!({"code": "VALIDATION_ERROR", "details": [{"code": "INVALID_OTP",
            "userMessage": "<b>Wrong</b>\u{7} code", "attemptsRemaining": 2}]});
        let otp = FlowAction::Otp { otp: "1".into() };
        let refusal_pf = refusal(Api::PingFederate, &otp, &pf);
        assert_eq!(refusal_pf.error, "invalid_otp");
        assert_eq!(refusal_pf.attempts_remaining, Some(2));
        assert_eq!(
            refusal_pf.description, "<b>Wrong</b> code",
            "text kept, controls dropped"
        );
        let wrong_action = refusal(
            Api::PingFederate,
            &otp,
            &json!({"code": "INVALID_ACTION_ID"}),
        );
        assert_eq!(wrong_action.error, "action_refused");
    }
}
