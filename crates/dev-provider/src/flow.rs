//! Redirect-less sign-in (`response_mode=pi.flow`): PingOne's Flow API and PingFederate's
//! Authentication API, emulated closely enough to test a client of either.
//!
//! A pi.flow authorization request starts a flow (never SSO: every flow asks for
//! credentials). The flow lives in [`State::flows`] and is driven with `GET` (read) and `POST`
//! (action chosen by `Content-Type: application/vnd.pingidentity.<action>+json`, or for
//! PingFederate also `?action=<action>` with `application/json`) on its URL. Flows are bound
//! to a cookie: `ST` (PingOne, fixed) or `PF` (PingFederate, rotated on every response). A
//! completed flow creates a provider session bound to that cookie and an authorization code,
//! minted exactly like the redirect sign-in's.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ring::rand::SecureRandom;
use serde_json::{json, Map, Value};

use crate::authorize::{self, AuthzError};
use crate::config::{CodeDelivery, MfaDevice, MfaDeviceKind, PathShape, DEV_OTP};
use crate::http::{self as h, Params};
use crate::misbehave::{Misbehavior, FLOW_MARKUP_MESSAGE, FLOW_WRONG_STATE};
use crate::state::{AuthRequest, Shared, State};

/// A flow expires after this long without a request (PingOne: 15 minutes).
pub(crate) const FLOW_IDLE: Duration = Duration::from_secs(15 * 60);
/// At most this many flows are kept; the oldest are dropped beyond it.
pub(crate) const MAX_FLOWS: usize = 10_000;
/// Password attempts per flow.
const PASSWORD_ATTEMPTS: u32 = 5;
/// OTP attempts per flow.
const OTP_ATTEMPTS: u32 = 3;
/// The emulated password policy's minimum length.
const MIN_PASSWORD_LEN: usize = 8;

const P1_INVALID_DATA: &str =
    "The request could not be completed. One or more validation errors were in the request.";
const P1_BAD_PASSWORD: &str = "The provided password did not match provisioned password";
const PF_VALIDATION: &str = "One or more validation errors occurred.";
const PF_BAD_CREDENTIALS_USER: &str =
    "We didn't recognize the username or password you entered. Please try again.";
const PF_FORM_PLUGIN: &str = "7RmQNDWaOnBoudTufx2sEw";
const PF_MFA_PLUGIN: &str = "Q8rBjp8cWp8P3n3jvfMN6w";

/// Builder options of the Flow API emulation.
#[derive(Debug, Clone)]
pub(crate) struct FlowConfig {
    pub(crate) identifier_first: bool,
    pub(crate) code_delivery: CodeDelivery,
    pub(crate) require_xsrf: bool,
    pub(crate) pf_otp_verified: bool,
    pub(crate) push_delay: Option<Duration>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            identifier_first: false,
            code_delivery: CodeDelivery::ResumeJson,
            require_xsrf: true,
            pf_otp_verified: false,
            push_delay: None,
        }
    }
}

/// Where a flow is. Statuses differ by shape (see [`status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// P1 `SIGN_ON_REQUIRED`, PF `IDENTIFIER_REQUIRED`.
    Identifier,
    /// `USERNAME_PASSWORD_REQUIRED`.
    UsernamePassword,
    /// P1 `PASSWORD_REQUIRED`, PF `USERNAME_PASSWORD_REQUIRED` (after the identifier).
    Password,
    MustChangePassword,
    /// PF only: `SUCCESSFUL_PASSWORD_CHANGE`.
    PasswordChanged,
    /// PF only: `AUTHENTICATION_REQUIRED`.
    AuthenticationRequired,
    DeviceSelection,
    Otp,
    /// P1 `PUSH_CONFIRMATION_REQUIRED`, PF `PUSH_CONFIRMATION_WAITING`.
    Push,
    /// PF only: `MFA_COMPLETED`, or `OTP_VERIFIED` (after an OTP, when configured).
    MfaCompleted {
        otp: bool,
    },
    Completed,
    /// [`Misbehavior::FlowResume`].
    Resume,
    Failed,
    /// PF only: `CANCELED`.
    Canceled,
    /// [`Misbehavior::FlowUnknownStatus`].
    Unknown,
}

/// The actions, named per shape by [`action_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Lookup,
    CheckPassword,
    ChangePassword,
    SelectDevice,
    CheckOtp,
    Authenticate,
    Continue,
    Poll,
    Cancel,
}

const ALL_ACTIONS: [Action; 9] = [
    Action::Lookup,
    Action::CheckPassword,
    Action::ChangePassword,
    Action::SelectDevice,
    Action::CheckOtp,
    Action::Authenticate,
    Action::Continue,
    Action::Poll,
    Action::Cancel,
];

fn action_name(p1: bool, a: Action) -> &'static str {
    match (p1, a) {
        (true, Action::Lookup) => "user.lookup",
        (true, Action::CheckPassword) => "usernamePassword.check",
        (true, Action::ChangePassword) => "password.reset",
        (true, Action::SelectDevice) => "device.select",
        (true, Action::CheckOtp) => "otp.check",
        // not offered by the PingOne shape
        (true, Action::Authenticate) => "authenticate",
        (true, Action::Continue) => "continueAuthentication",
        (true, Action::Poll) => "poll",
        (true, Action::Cancel) => "cancelAuthentication",
        (false, Action::Lookup) => "submitIdentifier",
        (false, Action::CheckPassword) => "checkUsernamePassword",
        (false, Action::ChangePassword) => "checkNewPassword",
        (false, Action::SelectDevice) => "selectDevice",
        (false, Action::CheckOtp) => "checkOtp",
        (false, Action::Authenticate) => "authenticate",
        (false, Action::Continue) => "continueAuthentication",
        (false, Action::Poll) => "poll",
        (false, Action::Cancel) => "cancelAuthentication",
    }
}

/// The actions offered in a step (the `_links` besides `self`).
fn actions(p1: bool, step: Step) -> Vec<Action> {
    use Action as A;
    let mut v = match step {
        Step::Identifier => vec![A::Lookup],
        Step::UsernamePassword | Step::Password => vec![A::CheckPassword],
        Step::MustChangePassword => vec![A::ChangePassword],
        Step::PasswordChanged => vec![A::Continue],
        Step::AuthenticationRequired => vec![A::Authenticate],
        Step::DeviceSelection => vec![A::SelectDevice],
        Step::Otp => vec![A::CheckOtp, A::SelectDevice],
        Step::Push if p1 => vec![A::SelectDevice],
        Step::Push => vec![A::Poll, A::SelectDevice],
        Step::MfaCompleted { .. } => vec![A::Continue],
        Step::Completed | Step::Resume | Step::Failed | Step::Canceled | Step::Unknown => {
            return Vec::new()
        }
    };
    let interactive = !matches!(step, Step::PasswordChanged | Step::MfaCompleted { .. });
    if !p1 && interactive {
        v.push(A::Cancel);
    }
    v
}

fn status(p1: bool, step: Step) -> &'static str {
    match step {
        Step::Identifier if p1 => "SIGN_ON_REQUIRED",
        Step::Identifier => "IDENTIFIER_REQUIRED",
        Step::UsernamePassword => "USERNAME_PASSWORD_REQUIRED",
        Step::Password if p1 => "PASSWORD_REQUIRED",
        Step::Password => "USERNAME_PASSWORD_REQUIRED",
        Step::MustChangePassword => "MUST_CHANGE_PASSWORD",
        Step::PasswordChanged => "SUCCESSFUL_PASSWORD_CHANGE",
        Step::AuthenticationRequired => "AUTHENTICATION_REQUIRED",
        Step::DeviceSelection => "DEVICE_SELECTION_REQUIRED",
        Step::Otp => "OTP_REQUIRED",
        Step::Push if p1 => "PUSH_CONFIRMATION_REQUIRED",
        Step::Push => "PUSH_CONFIRMATION_WAITING",
        Step::MfaCompleted { otp: true } => "OTP_VERIFIED",
        Step::MfaCompleted { otp: false } => "MFA_COMPLETED",
        Step::Completed => "COMPLETED",
        Step::Resume => "RESUME",
        Step::Failed => "FAILED",
        Step::Canceled => "CANCELED",
        Step::Unknown => "QUANTUM_VERIFICATION_REQUIRED",
    }
}

/// One flow.
pub(crate) struct Flow {
    id: String,
    request: AuthRequest,
    /// `ST` (fixed) or the latest `PF` value.
    cookie: String,
    created: SystemTime,
    last_used: SystemTime,
    step: Step,
    /// `login_hint`.
    hint: Option<String>,
    /// The identified (identifier-first) or authenticated user.
    username: Option<String>,
    password_failures: u32,
    otp_failures: u32,
    /// The device being used (OTP or push).
    device: Option<String>,
    push_started: Option<SystemTime>,
    push_approved: bool,
    amr: Vec<&'static str>,
    code: Option<String>,
    resumed: bool,
    sid: Option<String>,
}

/// Why an action failed (the flow keeps its step unless it became `FAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    Xsrf,
    WrongAction,
    Unparseable,
    BadPassword { remaining: u32 },
    BadCurrentPassword,
    PasswordPolicy,
    BadDevice,
    BadOtp { remaining: u32 },
}

fn is_p1(shared: &Shared) -> bool {
    matches!(shared.urls.shape, PathShape::PingOne { .. })
}

fn env_id(shared: &Shared) -> &str {
    match &shared.urls.shape {
        PathShape::PingOne { env_id } => env_id,
        PathShape::PingFederate => "",
    }
}

fn flow_url(shared: &Shared, id: &str) -> String {
    format!("{}/{id}", shared.urls.flows)
}

fn resume_url(shared: &Shared, id: &str) -> String {
    if is_p1(shared) {
        format!("{}/resume?flowId={id}", shared.urls.issuer)
    } else {
        format!(
            "{}/as/{id}/resume/as/authorization.ping",
            shared.urls.base_url
        )
    }
}

/// A random UUID (v4 layout), for error ids.
fn uuid(shared: &Shared) -> String {
    let mut b = [0u8; 16];
    if shared.rng.fill(&mut b).is_err() {
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = n.to_le_bytes();
    }
    crate::config::uuid_text(b, 4)
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.000Z`).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.000Z")
}

fn last_digits(s: &str, n: usize) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(n)..].iter().collect()
}

/// `+1 555 0100` -> `+1******0100` (PingOne style).
fn mask_phone_p1(phone: &str) -> String {
    let compact: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let head: String = compact.chars().take(2).collect();
    format!("{head}******{}", last_digits(phone, 4))
}

/// `+1 555 0100` -> `***-***-0100` (PingFederate style).
fn mask_phone_pf(phone: &str) -> String {
    format!("***-***-{}", last_digits(phone, 4))
}

/// `otp-user@example.com` -> `o*****@example.com`.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}*****@{domain}")
        }
        None => "*****".to_owned(),
    }
}

fn default_device(devices: &[MfaDevice]) -> Option<&MfaDevice> {
    devices
        .iter()
        .find(|d| d.default)
        .or_else(|| devices.first())
}

fn user_devices(st: &State, flow: &Flow) -> Vec<MfaDevice> {
    flow.username
        .as_deref()
        .and_then(|u| st.user_by_name(u))
        .map(|u| u.devices.clone())
        .unwrap_or_default()
}

pub(crate) fn p1_device(d: &MfaDevice) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), d.id.clone().into());
    m.insert("type".into(), d.kind.as_str().into());
    match d.kind {
        MfaDeviceKind::Sms => {
            m.insert("phone".into(), mask_phone_p1(&d.value).into());
        }
        MfaDeviceKind::Email => {
            m.insert("email".into(), mask_email(&d.value).into());
        }
        MfaDeviceKind::Push => {
            m.insert("nickname".into(), d.value.clone().into());
        }
    }
    Value::Object(m)
}

fn pf_device(d: &MfaDevice, default_id: &str) -> Value {
    let target = match d.kind {
        MfaDeviceKind::Sms => mask_phone_pf(&d.value),
        MfaDeviceKind::Email => mask_email(&d.value),
        MfaDeviceKind::Push => d.value.clone(),
    };
    json!({"id": d.id, "type": d.kind.as_str(), "target": target, "default": d.id == default_id})
}

/// `authorizeResponse` of a completed flow.
fn authorize_response(st: &State, flow: &Flow) -> Option<Value> {
    let code = flow.code.as_ref()?;
    let mut m = Map::new();
    m.insert("code".into(), code.clone().into());
    if st.misbehavior == Misbehavior::FlowWrongState {
        m.insert("state".into(), FLOW_WRONG_STATE.into());
    } else if let Some(s) = &flow.request.state {
        m.insert("state".into(), s.clone().into());
    }
    Some(Value::Object(m))
}

fn links(shared: &Shared, flow: &Flow, p1: bool) -> Value {
    let href = json!({ "href": flow_url(shared, &flow.id) });
    let mut m = Map::new();
    m.insert("self".into(), href.clone());
    for a in actions(p1, flow.step) {
        m.insert(action_name(p1, a).into(), href.clone());
    }
    Value::Object(m)
}

/// The PingOne flow resource.
fn p1_body(shared: &Shared, st: &State, flow: &Flow) -> Value {
    let links = links(shared, flow, true);
    if flow.step == Step::Failed {
        return json!({"id": flow.id, "status": "FAILED", "_links": links});
    }
    let mut b = Map::new();
    b.insert("id".into(), flow.id.clone().into());
    b.insert("status".into(), status(true, flow.step).into());
    b.insert("createdAt".into(), rfc3339(epoch_secs(flow.created)).into());
    b.insert(
        "expiresAt".into(),
        rfc3339(epoch_secs(flow.last_used) + FLOW_IDLE.as_secs()).into(),
    );
    b.insert("environment".into(), json!({ "id": env_id(shared) }));
    b.insert("resumeUrl".into(), resume_url(shared, &flow.id).into());
    b.insert("_links".into(), links);
    let mut e = Map::new();
    let shown_user = flow.username.as_ref().or(flow.hint.as_ref());
    let devices = user_devices(st, flow);
    let list = || Value::Array(devices.iter().map(p1_device).collect());
    match flow.step {
        Step::Identifier | Step::UsernamePassword | Step::Password => {
            if let Some(u) = shown_user {
                e.insert("user".into(), json!({ "username": u }));
            }
        }
        Step::MustChangePassword => {
            if let Some(u) = shown_user {
                e.insert("user".into(), json!({ "username": u }));
            }
            e.insert(
                "passwordPolicy".into(),
                json!({"name": "Standard", "length": {"min": MIN_PASSWORD_LEN, "max": 255}, "minUniqueCharacters": 5}),
            );
        }
        Step::DeviceSelection => {
            e.insert("devices".into(), list());
            if let Some(d) = default_device(&devices) {
                e.insert("selectedDevice".into(), json!({ "id": d.id }));
            }
        }
        Step::Otp | Step::Push => {
            e.insert("devices".into(), list());
            if let Some(d) = devices.iter().find(|d| Some(&d.id) == flow.device.as_ref()) {
                e.insert("selectedDevice".into(), p1_device(d));
            }
        }
        Step::Completed if st.flow_config.code_delivery == CodeDelivery::Inline => {
            if let Some(ar) = authorize_response(st, flow) {
                b.insert("authorizeResponse".into(), ar);
            }
        }
        _ => {}
    }
    let terminal = matches!(
        flow.step,
        Step::Completed | Step::Resume | Step::Unknown | Step::Failed
    );
    if !terminal || !e.is_empty() {
        b.insert("_embedded".into(), Value::Object(e));
    }
    Value::Object(b)
}

/// The PingFederate state.
fn pf_body(shared: &Shared, st: &State, flow: &Flow) -> Value {
    let mut b = Map::new();
    b.insert("id".into(), flow.id.clone().into());
    let plugin = match flow.step {
        Step::AuthenticationRequired
        | Step::DeviceSelection
        | Step::Otp
        | Step::Push
        | Step::MfaCompleted { .. } => PF_MFA_PLUGIN,
        _ => PF_FORM_PLUGIN,
    };
    b.insert("pluginTypeId".into(), plugin.into());
    b.insert("status".into(), status(false, flow.step).into());
    b.insert("_links".into(), links(shared, flow, false));
    let devices = user_devices(st, flow);
    let default_id = default_device(&devices)
        .map(|d| d.id.clone())
        .unwrap_or_default();
    let list = || Value::Array(devices.iter().map(|d| pf_device(d, &default_id)).collect());
    match flow.step {
        Step::UsernamePassword | Step::Password => {
            for k in [
                "showRememberMyUsername",
                "showThisIsMyDevice",
                "thisIsMyDeviceSelected",
                "showCaptcha",
                "rememberMyUsernameSelected",
            ] {
                b.insert(k.into(), false.into());
            }
            if let Some(u) = flow.username.as_ref().or(flow.hint.as_ref()) {
                b.insert("username".into(), u.clone().into());
            }
        }
        Step::MustChangePassword => {
            if let Some(u) = &flow.username {
                b.insert("username".into(), u.clone().into());
            }
        }
        Step::DeviceSelection => {
            b.insert("devices".into(), list());
        }
        Step::Otp | Step::Push => {
            b.insert("devices".into(), list());
            if let Some(id) = &flow.device {
                b.insert("selectedDeviceRef".into(), json!({ "id": id }));
            }
            b.insert("changeDevicePermitted".into(), true.into());
        }
        Step::Completed => {
            if let Some(ar) = authorize_response(st, flow) {
                b.insert("authorizeResponse".into(), ar);
            }
        }
        Step::Resume => {
            b.insert("resumeUrl".into(), resume_url(shared, &flow.id).into());
        }
        _ => {}
    }
    Value::Object(b)
}

fn body_of(shared: &Shared, st: &State, flow: &Flow) -> Value {
    if is_p1(shared) {
        p1_body(shared, st, flow)
    } else {
        pf_body(shared, st, flow)
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn add_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn p1_error(shared: &Shared, status: StatusCode, code: &str, message: &str) -> Response {
    respond(
        status,
        "application/json",
        &json!({"id": uuid(shared), "code": code, "message": message}),
    )
}

fn p1_invalid_token(shared: &Shared) -> Response {
    p1_error(
        shared,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN",
        "The authorization token is either missing or invalid",
    )
}

fn p1_not_found(shared: &Shared) -> Response {
    p1_error(
        shared,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource was not found.",
    )
}

fn pf_not_found() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        "application/json",
        &json!({"code": "RESOURCE_NOT_FOUND", "message": "The requested resource was not found."}),
    )
}

fn p1_fail_body(shared: &Shared, fail: Fail) -> Value {
    let invalid_data = |detail: Value| json!({"id": uuid(shared), "code": "INVALID_DATA", "message": P1_INVALID_DATA, "details": [detail]});
    match fail {
        Fail::Xsrf | Fail::WrongAction | Fail::Unparseable => json!({
            "id": uuid(shared),
            "code": "INVALID_REQUEST",
            "message": "The request is not valid for the current flow status",
        }),
        Fail::BadPassword { remaining } => invalid_data(json!({
            "code": "INVALID_VALUE", "target": "password", "message": P1_BAD_PASSWORD,
            "innerError": {"failuresRemaining": remaining},
        })),
        Fail::BadCurrentPassword => invalid_data(json!({
            "code": "INVALID_VALUE", "target": "currentPassword", "message": P1_BAD_PASSWORD,
        })),
        Fail::PasswordPolicy => invalid_data(json!({
            "code": "INVALID_VALUE", "target": "newPassword",
            "message": "New password did not satisfy password policy requirements",
        })),
        Fail::BadDevice => invalid_data(json!({
            "code": "INVALID_VALUE", "target": "device.id", "message": "Invalid device",
        })),
        Fail::BadOtp { remaining } => invalid_data(json!({
            "code": "INVALID_OTP", "target": "otp", "message": "Invalid one-time passcode",
            "innerError": {"attemptsRemaining": remaining},
        })),
    }
}

fn pf_fail_body(fail: Fail) -> Value {
    let validation = |detail: Value| json!({"code": "VALIDATION_ERROR", "message": PF_VALIDATION, "details": [detail]});
    match fail {
        Fail::Xsrf => {
            json!({"code": "INVALID_REQUEST", "message": "The X-XSRF-Header header is required."})
        }
        Fail::WrongAction => {
            json!({"code": "INVALID_ACTION_ID", "message": "The action is not valid for the current state."})
        }
        Fail::Unparseable => {
            json!({"code": "INVALID_REQUEST", "message": "The request body is not a valid JSON object for this action."})
        }
        Fail::BadPassword { remaining } => validation(json!({
            "code": "CREDENTIAL_VALIDATION_FAILED", "message": "Invalid username and/or password.",
            "userMessage": PF_BAD_CREDENTIALS_USER, "attemptsRemaining": remaining,
        })),
        Fail::BadCurrentPassword => validation(json!({
            "code": "CREDENTIAL_VALIDATION_FAILED", "message": "Invalid username and/or password.",
            "userMessage": PF_BAD_CREDENTIALS_USER, "target": "existingPassword",
        })),
        Fail::PasswordPolicy => validation(json!({
            "code": "PASSWORD_REQUIREMENTS_NOT_MET",
            "message": "The new password does not meet the password requirements.",
            "userMessage": "Your new password does not meet the password requirements.",
            "target": "newPassword",
        })),
        Fail::BadDevice => validation(json!({
            "code": "INVALID_DEVICE", "message": "Invalid device.",
            "userMessage": "The selected device is not available.", "target": "deviceRef.id",
        })),
        Fail::BadOtp { remaining } => validation(json!({
            "code": "INVALID_OTP", "message": "Invalid OTP.",
            "userMessage": "The passcode you entered is incorrect. Please try again.",
            "target": "otp", "attemptsRemaining": remaining,
        })),
    }
}

/// Drops idle flows.
fn prune_flows(st: &mut State) {
    st.flows.retain(|_, f| idle_ok(f));
    if st.flow_order.len() > st.flows.len() {
        let flows = &st.flows;
        st.flow_order.retain(|id| flows.contains_key(id));
    }
}

fn idle_ok(f: &Flow) -> bool {
    f.last_used.elapsed().map_or(true, |e| e < FLOW_IDLE)
}

/// Takes a live flow out of the state (an idle one is dropped).
fn take_flow(st: &mut State, id: &str) -> Option<Flow> {
    let flow = st.flows.remove(id)?;
    idle_ok(&flow).then_some(flow)
}

fn put_flow(st: &mut State, flow: Flow) {
    st.flows.insert(flow.id.clone(), flow);
}

/// The pi.flow error answer to an invalid authorization request (400 JSON, never a redirect).
fn authorize_error(shared: &Shared, error: &str, description: &str) -> Response {
    let detail = json!({"code": error, "message": description});
    let body = if is_p1(shared) {
        json!({"id": uuid(shared), "code": "INVALID_REQUEST", "message": description, "details": [detail]})
    } else {
        json!({"code": "INVALID_REQUEST", "message": description, "details": [detail]})
    };
    respond(StatusCode::BAD_REQUEST, "application/json", &body)
}

/// A pi.flow authorization request: validates it and starts a flow.
pub(crate) fn start(shared: &Shared, params: &Params) -> Response {
    let mut st = shared.lock();
    st.stats.flow_starts += 1;
    st.prune();
    prune_flows(&mut st);
    let req = match authorize::validate(&st, &shared.urls.issuer, params, true) {
        Ok(r) => r,
        Err(AuthzError::Fatal(msg)) => return authorize_error(shared, "invalid_request", &msg),
        Err(AuthzError::RequestObject(msg)) => {
            return authorize_error(shared, "invalid_request_object", &msg)
        }
        Err(AuthzError::Redirect {
            error, description, ..
        }) => return authorize_error(shared, error, &description),
    };
    if req.prompt_none {
        return authorize_error(
            shared,
            "login_required",
            "prompt=none: a pi.flow request has no provider session and always asks for credentials",
        );
    }
    let step = if st.misbehavior == Misbehavior::FlowUnknownStatus {
        Step::Unknown
    } else if st.flow_config.identifier_first {
        Step::Identifier
    } else {
        Step::UsernamePassword
    };
    let now = SystemTime::now();
    let flow = Flow {
        id: shared.random(18),
        hint: req.login_hint.clone(),
        request: req,
        cookie: shared.random(32),
        created: now,
        last_used: now,
        step,
        username: None,
        password_failures: 0,
        otp_failures: 0,
        device: None,
        push_started: None,
        push_approved: false,
        amr: vec!["pwd"],
        code: None,
        resumed: false,
        sid: None,
    };
    let body = body_of(shared, &st, &flow);
    let cookie = flow.cookie.clone();
    let id = flow.id.clone();
    st.flow_order.push_back(id);
    put_flow(&mut st, flow);
    while st.flows.len() > MAX_FLOWS {
        match st.flow_order.pop_front() {
            Some(old) => {
                st.flows.remove(&old);
            }
            None => break,
        }
    }
    drop(st);
    if is_p1(shared) {
        let mut resp = respond(StatusCode::OK, "application/hal+json", &body);
        add_cookie(
            &mut resp,
            &format!(
                "ST={cookie}; Path=/{}; HttpOnly; SameSite=None",
                env_id(shared)
            ),
        );
        resp
    } else {
        let mut resp = respond(StatusCode::OK, "application/json", &body);
        add_cookie(&mut resp, &format!("PF={cookie}; Path=/; HttpOnly"));
        add_cookie(
            &mut resp,
            &format!(
                "PF.PERSISTENT={}; Path=/; HttpOnly; Max-Age=31536000",
                shared.random(24)
            ),
        );
        resp
    }
}

/// The action named by `Content-Type: application/vnd.pingidentity.<action>+json`.
fn media_action(headers: &HeaderMap) -> Option<String> {
    const PREFIX: &str = "application/vnd.pingidentity.";
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let main = ct.split(';').next()?.trim();
    let head = main.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = main.get(PREFIX.len()..)?;
    let name = rest.strip_suffix("+json").unwrap_or(rest);
    (!name.is_empty()).then(|| name.to_owned())
}

fn is_plain_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The action of a request, if it names one offered in the current step.
fn chosen_action(p1: bool, step: Step, name: Option<&str>) -> Option<Action> {
    let name = name?;
    let action = ALL_ACTIONS
        .into_iter()
        .find(|a| action_name(p1, *a) == name)?;
    actions(p1, step).contains(&action).then_some(action)
}

/// The JSON object body of an action (an empty body counts as `{}`).
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Fail> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Fail::Unparseable),
    }
}

fn str_field<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn required<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, Fail> {
    str_field(body, key).ok_or(Fail::Unparseable)
}

/// Performs an action on a flow (taken out of the state).
fn perform(
    shared: &Shared,
    st: &mut State,
    flow: &mut Flow,
    p1: bool,
    action: Action,
    body: &Map<String, Value>,
) -> Result<(), Fail> {
    match action {
        Action::Lookup => {
            let key = if p1 { "username" } else { "identifier" };
            let name = required(body, key)?;
            if name.is_empty() {
                return Err(Fail::Unparseable);
            }
            flow.username = Some(name.to_owned());
            flow.step = Step::Password;
            Ok(())
        }
        Action::CheckPassword => {
            let name = str_field(body, "username")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .or_else(|| flow.username.clone())
                .or_else(|| flow.hint.clone())
                .ok_or(Fail::Unparseable)?;
            let password = required(body, "password")?;
            let ok = st
                .user_by_name(&name)
                .is_some_and(|u| h::constant_time_eq(u.password.as_bytes(), password.as_bytes()));
            if !ok {
                flow.password_failures += 1;
                let remaining = PASSWORD_ATTEMPTS.saturating_sub(flow.password_failures);
                if remaining == 0 {
                    flow.step = Step::Failed;
                }
                return Err(Fail::BadPassword { remaining });
            }
            flow.username = Some(name);
            let must_change = flow
                .username
                .as_deref()
                .and_then(|u| st.user_by_name(u))
                .is_some_and(|u| u.must_change_password);
            if must_change {
                flow.step = Step::MustChangePassword;
            } else {
                after_password(shared, st, flow, p1);
            }
            Ok(())
        }
        Action::ChangePassword => {
            let name = flow.username.clone().unwrap_or_default();
            let current = if p1 {
                Some(required(body, "currentPassword")?)
            } else {
                if str_field(body, "username").is_some_and(|u| u != name) {
                    return Err(Fail::BadCurrentPassword);
                }
                str_field(body, "existingPassword")
            };
            let new_password = required(body, "newPassword")?;
            let Some(user) = st.users.iter_mut().find(|u| u.username == name) else {
                return Err(Fail::BadCurrentPassword);
            };
            if let Some(current) = current {
                if !h::constant_time_eq(user.password.as_bytes(), current.as_bytes()) {
                    return Err(Fail::BadCurrentPassword);
                }
            }
            if new_password.chars().count() < MIN_PASSWORD_LEN || new_password == user.password {
                return Err(Fail::PasswordPolicy);
            }
            user.password = new_password.to_owned();
            user.must_change_password = false;
            tracing::info!(username = %name, "flow: test user changed the password");
            if p1 {
                after_password(shared, st, flow, p1);
            } else {
                flow.step = Step::PasswordChanged;
            }
            Ok(())
        }
        Action::Continue => {
            match flow.step {
                Step::PasswordChanged => after_password(shared, st, flow, p1),
                _ => complete(shared, st, flow),
            }
            Ok(())
        }
        Action::Authenticate => {
            let devices = user_devices(st, flow);
            match devices.as_slice() {
                [] => complete(shared, st, flow),
                [one] => enter_device(flow, one),
                _ => {
                    flow.device = None;
                    flow.step = Step::DeviceSelection;
                }
            }
            Ok(())
        }
        Action::SelectDevice => {
            let key = if p1 { "device" } else { "deviceRef" };
            let id = body
                .get(key)
                .and_then(|d| d.get("id"))
                .and_then(Value::as_str)
                .ok_or(Fail::Unparseable)?;
            let devices = user_devices(st, flow);
            let device = devices.iter().find(|d| d.id == id).ok_or(Fail::BadDevice)?;
            enter_device(flow, device);
            Ok(())
        }
        Action::CheckOtp => {
            let otp = required(body, "otp")?;
            if h::constant_time_eq(otp.as_bytes(), DEV_OTP.as_bytes()) {
                flow.amr = vec!["pwd", "otp"];
                if p1 {
                    complete(shared, st, flow);
                } else {
                    flow.step = Step::MfaCompleted {
                        otp: st.flow_config.pf_otp_verified,
                    };
                }
                Ok(())
            } else {
                flow.otp_failures += 1;
                let remaining = OTP_ATTEMPTS.saturating_sub(flow.otp_failures);
                if remaining == 0 {
                    flow.step = Step::Failed;
                }
                Err(Fail::BadOtp { remaining })
            }
        }
        Action::Poll => {
            if push_ready(st, flow) {
                flow.amr = vec!["pwd", "mfa"];
                flow.step = Step::MfaCompleted { otp: false };
            }
            Ok(())
        }
        Action::Cancel => {
            flow.step = Step::Canceled;
            Ok(())
        }
    }
}

/// After the password (and any change): MFA or completion.
fn after_password(shared: &Shared, st: &mut State, flow: &mut Flow, p1: bool) {
    let devices = user_devices(st, flow);
    match devices.as_slice() {
        [] => complete(shared, st, flow),
        _ if !p1 => flow.step = Step::AuthenticationRequired,
        [one] => enter_device(flow, one),
        _ => {
            flow.device = None;
            flow.step = Step::DeviceSelection;
        }
    }
}

fn enter_device(flow: &mut Flow, device: &MfaDevice) {
    flow.device = Some(device.id.clone());
    match device.kind {
        MfaDeviceKind::Sms | MfaDeviceKind::Email => flow.step = Step::Otp,
        MfaDeviceKind::Push => {
            flow.step = Step::Push;
            flow.push_started = Some(SystemTime::now());
            flow.push_approved = false;
        }
    }
}

fn push_ready(st: &State, flow: &Flow) -> bool {
    flow.push_approved
        || st.flow_config.push_delay.is_some_and(|delay| {
            flow.push_started
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|e| e >= delay)
        })
}

/// The user is authenticated: a provider session bound to the flow cookie and a code
/// (or `RESUME` under [`Misbehavior::FlowResume`]).
fn complete(shared: &Shared, st: &mut State, flow: &mut Flow) {
    if st.misbehavior == Misbehavior::FlowResume {
        flow.step = Step::Resume;
        return;
    }
    let Some(sub) = flow
        .username
        .as_deref()
        .and_then(|u| st.user_by_name(u))
        .map(|u| u.sub.clone())
    else {
        flow.step = Step::Failed;
        return;
    };
    let sid = authorize::new_session(shared, st, &sub, Some(flow.cookie.clone()));
    flow.code = authorize::issue_code(shared, st, &flow.request, &sid, &flow.amr);
    tracing::info!(%sid, username = ?flow.username, "flow completed: provider session created");
    flow.sid = Some(sid);
    flow.step = if flow.code.is_some() {
        Step::Completed
    } else {
        Step::Failed
    };
}

/// `GET` / `POST` on a flow URL (both shapes).
pub(crate) async fn flow_endpoint(
    AxState(shared): AxState<Arc<Shared>>,
    Path(flow_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_p1(&shared) {
        p1_flow(&shared, &flow_id, &method, &headers, &body)
    } else {
        pf_flow(&shared, &flow_id, &method, &uri, &headers, &body)
    }
}

fn p1_flow(
    shared: &Shared,
    flow_id: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut st = shared.lock();
    let is_get = *method == Method::GET;
    if !is_get {
        st.stats.flow_actions += 1;
    }
    let Some(token) = h::cookie(headers, "ST") else {
        return p1_invalid_token(shared);
    };
    let Some(mut flow) = take_flow(&mut st, flow_id) else {
        return p1_not_found(shared);
    };
    if !h::constant_time_eq(flow.cookie.as_bytes(), token.as_bytes()) {
        put_flow(&mut st, flow);
        return p1_invalid_token(shared);
    }
    flow.last_used = SystemTime::now();
    let result = if is_get {
        if flow.step == Step::Push && push_ready(&st, &flow) {
            flow.amr = vec!["pwd", "mfa"];
            complete(shared, &mut st, &mut flow);
        }
        Ok(())
    } else {
        let name = media_action(headers);
        match chosen_action(true, flow.step, name.as_deref()) {
            None => Err(Fail::WrongAction),
            Some(action) => {
                parse_body(body).and_then(|b| perform(shared, &mut st, &mut flow, true, action, &b))
            }
        }
    };
    let resp = match result {
        Ok(()) => respond(
            StatusCode::OK,
            "application/hal+json",
            &p1_body(shared, &st, &flow),
        ),
        Err(fail) => respond(
            StatusCode::BAD_REQUEST,
            "application/json",
            &p1_fail_body(shared, fail),
        ),
    };
    put_flow(&mut st, flow);
    resp
}

fn pf_flow(
    shared: &Shared,
    flow_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut st = shared.lock();
    let is_get = *method == Method::GET;
    if !is_get {
        st.stats.flow_actions += 1;
    }
    let Some(mut flow) = take_flow(&mut st, flow_id) else {
        return pf_not_found();
    };
    let cookie_ok = h::cookie(headers, "PF")
        .is_some_and(|v| h::constant_time_eq(flow.cookie.as_bytes(), v.as_bytes()));
    if !cookie_ok {
        put_flow(&mut st, flow);
        return pf_not_found();
    }
    flow.last_used = SystemTime::now();
    let result = if is_get {
        Ok(())
    } else if st.flow_config.require_xsrf && !headers.contains_key("x-xsrf-header") {
        Err(Fail::Xsrf)
    } else {
        let name = media_action(headers).or_else(|| {
            is_plain_json(headers)
                .then(|| {
                    Params::parse(uri.query().unwrap_or_default().as_bytes())
                        .get("action")
                        .map(str::to_owned)
                })
                .flatten()
        });
        match chosen_action(false, flow.step, name.as_deref()) {
            None => Err(Fail::WrongAction),
            Some(action) => parse_body(body)
                .and_then(|b| perform(shared, &mut st, &mut flow, false, action, &b)),
        }
    };
    // Every flow response rotates PF (and the session bound to it follows).
    let next = shared.random(32);
    flow.cookie = next.clone();
    if let Some(session) = flow.sid.as_ref().and_then(|sid| st.sessions.get_mut(sid)) {
        session.flow_cookie = Some(next.clone());
    }
    let mut resp = match result {
        Ok(()) => respond(
            StatusCode::OK,
            "application/json",
            &pf_body(shared, &st, &flow),
        ),
        Err(fail) => {
            let mut body = pf_fail_body(fail);
            if st.misbehavior == Misbehavior::FlowMarkupMessage
                && matches!(fail, Fail::BadPassword { .. })
            {
                body["details"][0]["userMessage"] = FLOW_MARKUP_MESSAGE.into();
            }
            respond(StatusCode::BAD_REQUEST, "application/json", &body)
        }
    };
    put_flow(&mut st, flow);
    drop(st);
    add_cookie(&mut resp, &format!("PF={next}; Path=/; HttpOnly"));
    resp
}

/// `GET <issuer>/resume?flowId=..` (PingOne shape): the code of a completed flow.
pub(crate) async fn resume(
    AxState(shared): AxState<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let mut st = shared.lock();
    let Some(token) = h::cookie(&headers, "ST") else {
        return p1_invalid_token(&shared);
    };
    let Some(flow_id) = params.get("flowId") else {
        return p1_error(
            &shared,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "flowId is required",
        );
    };
    let Some(mut flow) = take_flow(&mut st, flow_id) else {
        return p1_not_found(&shared);
    };
    if !h::constant_time_eq(flow.cookie.as_bytes(), token.as_bytes()) {
        put_flow(&mut st, flow);
        return p1_invalid_token(&shared);
    }
    flow.last_used = SystemTime::now();
    let answer = match (&flow.code, flow.step, flow.resumed) {
        (Some(_), Step::Completed, false) => None,
        (Some(_), Step::Completed, true) => Some("The flow was already resumed"),
        _ => Some("The flow is not completed"),
    };
    if let Some(message) = answer {
        put_flow(&mut st, flow);
        return p1_error(&shared, StatusCode::BAD_REQUEST, "INVALID_REQUEST", message);
    }
    flow.resumed = true;
    let ar = authorize_response(&st, &flow).unwrap_or_default();
    let resp = if st.flow_config.code_delivery == CodeDelivery::ResumeRedirect {
        let iss = authorize::iss_param(&shared, &st);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(code) = ar.get("code").and_then(Value::as_str) {
            pairs.push(("code", code));
        }
        if let Some(state) = ar.get("state").and_then(Value::as_str) {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &iss));
        match authorize::with_params(&flow.request.redirect_uri, &pairs) {
            Some(u) => h::redirect(&u, false),
            None => p1_error(
                &shared,
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "could not build the redirect URL",
            ),
        }
    } else {
        respond(
            StatusCode::OK,
            "application/json",
            &json!({"id": flow.id, "status": "COMPLETED", "authorizeResponse": ar}),
        )
    };
    put_flow(&mut st, flow);
    resp
}

/// Approves the waiting pushes of `username`; true if there was one.
pub(crate) fn approve_push(st: &mut State, username: &str) -> bool {
    let mut any = false;
    for flow in st.flows.values_mut() {
        let waiting = flow.step == Step::Push
            && !flow.push_approved
            && flow.username.as_deref() == Some(username)
            && idle_ok(flow);
        if waiting {
            flow.push_approved = true;
            any = true;
        }
    }
    if any {
        tracing::info!(%username, "flow: push approved");
    }
    any
}

/// `POST /dev/push/approve` (form `username`): 204, or 404 when no push is waiting.
pub(crate) async fn approve_push_endpoint(
    AxState(shared): AxState<Arc<Shared>>,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let username = params.get("username").unwrap_or_default();
    let approved = approve_push(&mut shared.lock(), username);
    if approved {
        StatusCode::NO_CONTENT.into_response()
    } else {
        respond(
            StatusCode::NOT_FOUND,
            "application/json",
            &json!({"error": "not_found", "error_description": "no push is waiting for this user"}),
        )
    }
}

/// Name and clearing `Set-Cookie` of the flow cookie identifying a provider session.
pub(crate) fn session_cookie(shared: &Shared) -> (&'static str, String) {
    if is_p1(shared) {
        (
            "ST",
            format!("ST=; Path=/{}; HttpOnly; Max-Age=0", env_id(shared)),
        )
    } else {
        ("PF", "PF=; Path=/; Max-Age=0".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59.000Z");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone_p1("+1 555 0100"), "+1******0100");
        assert_eq!(mask_phone_pf("+1 555 0100"), "***-***-0100");
        assert_eq!(mask_email("otp-user@example.com"), "o*****@example.com");
        assert_eq!(mask_email("nope"), "*****");
        assert_eq!(mask_phone_pf("1"), "***-***-1");
    }

    #[test]
    fn media_types() {
        let mut h = HeaderMap::new();
        assert_eq!(media_action(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.pingidentity.otp.check+json; charset=UTF-8"),
        );
        assert_eq!(media_action(&h).as_deref(), Some("otp.check"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(media_action(&h), None);
        assert!(is_plain_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.pingidentity."),
        );
        assert_eq!(media_action(&h), None);
    }
}
