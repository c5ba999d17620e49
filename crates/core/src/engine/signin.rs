//! `GET|POST /auth/signin`: the embedded sign-in page ([`crate::signin`]). A second front end
//! of the flow engine behind `/auth/flow`: the same [`FlowReply`], rendered as HTML forms.
//!
//! - `GET /auth/signin?return_to=/path` starts a flow and renders its first step;
//!   `GET /auth/signin?flow=ID&return_to=…` re-reads a flow (how the page waits for a push).
//! - Each form posts to `/auth/signin` with the flow id and a CSRF token made for that flow.
//!   A step that moves on answers `303` to the flow's `GET` (reloading never re-posts); a
//!   refused answer renders the step again with the error (`400`); the last step answers
//!   `303` to `return_to` with the session cookie.
//! - An expired or unknown flow starts a new one and says so.

use serde::Serialize;

use super::flow::{FlowReply, StartFlow};
use super::{PingOidc, RequestInfo};
use crate::crypto::random_token;
use crate::flow::record::{self, Api};
use crate::flow::{DeviceKind, FlowAction, FlowDevice, FlowStep, PasswordPolicy};
use crate::response::AuthResponse;
use crate::signin::Texts;

/// How often the page reloads itself while a push is awaited, without JavaScript.
const PUSH_REFRESH_SECS: u32 = 5;
/// Longest `ui_locales` read (a few language tags).
const MAX_UI_LOCALES_BYTES: usize = 64;

/// The query or form fields the page reads; anything else is ignored.
#[derive(Default)]
struct Fields {
    flow: Option<String>,
    csrf: Option<String>,
    action: Option<String>,
    return_to: Option<String>,
    ui_locales: Option<String>,
    username: Option<String>,
    password: Option<String>,
    device_id: Option<String>,
    otp: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    confirm_password: Option<String>,
}

impl Fields {
    /// `application/x-www-form-urlencoded` (a query or a form body). A repeated field keeps
    /// its first value.
    fn parse(bytes: &[u8]) -> Self {
        let mut fields = Self::default();
        for (name, value) in url::form_urlencoded::parse(bytes).take(32) {
            let slot = match name.as_ref() {
                "flow" => &mut fields.flow,
                "csrf" => &mut fields.csrf,
                "action" => &mut fields.action,
                "return_to" => &mut fields.return_to,
                "ui_locales" => &mut fields.ui_locales,
                "username" => &mut fields.username,
                "password" => &mut fields.password,
                "device_id" => &mut fields.device_id,
                "otp" => &mut fields.otp,
                "current_password" => &mut fields.current_password,
                "new_password" => &mut fields.new_password,
                "confirm_password" => &mut fields.confirm_password,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        fields
    }

    /// The answer the form names, or the first field that is missing. Usernames and codes
    /// are trimmed; passwords are taken as typed.
    fn action(&self) -> Result<FlowAction, &'static str> {
        let trimmed = |v: &Option<String>, field| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or(field)
        };
        let exact = |v: &Option<String>, field| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or(field)
        };
        Ok(match self.action.as_deref() {
            Some("credentials") => FlowAction::Credentials {
                username: trimmed(&self.username, "username")?,
                password: exact(&self.password, "password")?,
            },
            Some("identifier") => FlowAction::Identifier {
                username: trimmed(&self.username, "username")?,
            },
            Some("select_device") => FlowAction::SelectDevice {
                device_id: trimmed(&self.device_id, "device")?,
            },
            Some("otp") => FlowAction::Otp {
                otp: trimmed(&self.otp, "otp")?.replace([' ', '-'], ""),
            },
            Some("poll") => FlowAction::Poll,
            Some("change_password") => FlowAction::ChangePassword {
                current_password: exact(&self.current_password, "current-password")?,
                new_password: exact(&self.new_password, "new-password")?,
            },
            _ => return Err("action"),
        })
    }
}

/// What the request is about: its language, where it returns to, and the page's URLs.
struct Context {
    texts: Texts,
    /// The username the form just sent, shown again when the step comes back refused.
    typed_username: Option<String>,
    ui_locales: Option<String>,
    return_to: String,
    page_path: String,
}

impl Context {
    /// `/auth/signin?flow=…&return_to=…&ui_locales=…`.
    fn page_url(&self, flow_id: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(flow_id) = flow_id {
            query.append_pair("flow", flow_id);
        }
        query.append_pair("return_to", &self.return_to);
        if let Some(ui_locales) = &self.ui_locales {
            query.append_pair("ui_locales", ui_locales);
        }
        format!("{}?{}", self.page_path, query.finish())
    }
}

/// The variables a step's template gets (besides `lang`, `t`, `brand`, `css`, `nonce`).
#[derive(Default, Serialize)]
struct View<'a> {
    kind: &'a str,
    title: String,
    lead: String,
    notice: Option<String>,
    error: Option<ErrorView>,
    form: FormView,
    username: String,
    devices: Vec<DeviceView>,
    policy: Vec<String>,
    refresh: Option<Refresh>,
    poll: Option<Poll>,
    message: String,
    detail: Option<String>,
    restart_url: String,
    redirect_url: String,
    retry_label: String,
    /// The step as `/auth/flow` answers it, for templates that want more.
    step: Option<&'a FlowStep>,
}

#[derive(Serialize)]
struct ErrorView {
    message: String,
    detail: Option<String>,
    /// The field at fault: `username`, `password`, `otp`, `device`, `current-password`,
    /// `new-password` or `confirm-password`.
    field: Option<&'static str>,
    attempts_remaining: Option<u64>,
}

#[derive(Default, Serialize)]
struct FormView {
    action_url: String,
    flow_id: String,
    csrf: String,
    return_to: String,
    ui_locales: Option<String>,
}

#[derive(Serialize)]
struct DeviceView {
    id: String,
    kind_label: String,
    detail: Option<String>,
    default: bool,
    default_label: String,
    checked: bool,
}

#[derive(Serialize)]
struct Refresh {
    seconds: u32,
    url: String,
}

#[derive(Serialize)]
struct Poll {
    flow_url: String,
    page_url: String,
}

impl PingOidc {
    /// Every `/auth/signin` request.
    #[tracing::instrument(name = "ping_oidc.sign_in_page", skip_all)]
    pub(crate) async fn sign_in_page<R: RequestInfo + ?Sized>(
        &self,
        request: &R,
        body: &[u8],
    ) -> AuthResponse {
        let config = &self.inner.config;
        let method = request.method();
        let query = Fields::parse(request.query().unwrap_or("").as_bytes());
        let form = if method == "POST" {
            Fields::parse(body)
        } else {
            Fields::default()
        };
        let fields = if method == "POST" { &form } else { &query };
        let ui_locales = fields
            .ui_locales
            .as_deref()
            .map(str::trim)
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= MAX_UI_LOCALES_BYTES
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
            })
            .map(str::to_owned);
        let texts = config
            .sign_in_page
            .texts(ui_locales.as_deref(), request.header("accept-language"));
        let return_to = fields.return_to.as_deref().map(crate::return_to::sanitize);
        let typed_username = form
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty() && u.len() <= 256)
            .map(str::to_owned);
        let mut context = Context {
            texts,
            typed_username,
            ui_locales,
            return_to: config.default_return_to.clone(),
            page_path: format!("{}/signin", config.route_prefix),
        };
        match return_to {
            Some(Some(path)) if path.len() <= crate::transaction::MAX_RETURN_TO_BYTES => {
                context.return_to = path;
            }
            Some(_) => return self.error_page(&context, 400, "invalid_request"),
            None => {}
        }
        let Some(api) = Api::of(config.flow_api) else {
            return self.error_page(&context, 404, "not_found");
        };
        let response = match method {
            "GET" => self.sign_in_get(api, request, &query, &context).await,
            "POST" => self.sign_in_post(api, request, &form, &context).await,
            _ => self
                .error_page(&context, 405, "method_not_allowed")
                .with_header("allow", "GET, POST"),
        };
        // `strict-origin`, not `no-referrer`: browsers send `Origin: null` with the forms of
        // a `no-referrer` page, and browsers without Fetch Metadata need the real one; the
        // page's URL (flow id, `return_to`) still reaches no one.
        response
            .with_header("x-frame-options", "DENY")
            .with_header("x-content-type-options", "nosniff")
            .with_header("referrer-policy", "strict-origin")
    }

    async fn sign_in_get<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        query: &Fields,
        context: &Context,
    ) -> AuthResponse {
        match query.flow.as_deref() {
            Some(flow_id) if record::is_well_formed_token(flow_id, 22) => {
                let reply = self.continue_flow(api, request, flow_id, None).await;
                self.present(api, request, context, reply, false).await
            }
            _ => {
                // Only a page the user opens starts a flow (a provider call and a stored
                // record): not an `<img>`, a `fetch` or a prefetch another page makes.
                if !is_document_navigation(request) {
                    return self.error_page(context, 400, "invalid_request");
                }
                // Already signed in (a second tab, the back button): nothing to do here.
                if let Ok(Some(_)) = self.optional_user(request).await {
                    return AuthResponse::redirect(303, &context.return_to);
                }
                self.start_page(api, request, context, None).await
            }
        }
    }

    async fn sign_in_post<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        form: &Fields,
        context: &Context,
    ) -> AuthResponse {
        if !self.is_from_this_origin(request) {
            tracing::warn!("cross-site sign-in form refused");
            return self.error_page(context, 403, "cross_site_request");
        }
        let is_form = request.header("content-type").is_some_and(|value| {
            let media = value.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !is_form {
            return self.error_page(context, 415, "unsupported_media_type");
        }
        let Some(flow_id) = form
            .flow
            .as_deref()
            .filter(|id| record::is_well_formed_token(id, 22))
        else {
            return self.error_page(context, 400, "invalid_request");
        };
        // The token proves the form is one this app rendered for this flow; the binding
        // cookie (checked when the flow loads) proves the browser is the one that started it.
        let csrf_ok = form.csrf.as_deref().is_some_and(|token| {
            self.inner
                .config
                .session_key
                .verify(&csrf_input(flow_id), token)
        });
        if !csrf_ok {
            tracing::info!("sign-in form with a bad CSRF token refused");
            return self.error_page(context, 403, "form_expired");
        }
        if form.action.as_deref() == Some("cancel") {
            // Not back to `return_to`: a guarded page would send the user here again.
            let _ = self.cancel_flow(api, request, flow_id).await;
            return AuthResponse::redirect(303, self.inner.config.app_url.path());
        }
        let action = match form.action() {
            Ok(action) if action.is_bounded() => action,
            Ok(_) => {
                return self
                    .refuse_locally(api, request, context, flow_id, "invalid_request", None)
                    .await
            }
            Err(field) => {
                return self
                    .refuse_locally(api, request, context, flow_id, "missing_field", Some(field))
                    .await
            }
        };
        if let FlowAction::ChangePassword { new_password, .. } = &action {
            if form.confirm_password.as_deref() != Some(new_password.as_str()) {
                return self
                    .refuse_locally(
                        api,
                        request,
                        context,
                        flow_id,
                        "passwords_differ",
                        Some("confirm-password"),
                    )
                    .await;
            }
        }
        let reply = self
            .continue_flow(api, request, flow_id, Some(action))
            .await;
        self.present(api, request, context, reply, true).await
    }

    /// A form the page itself refuses (a missing field, two new passwords that differ): the
    /// step again, read from the store, without a call to the provider.
    async fn refuse_locally<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        context: &Context,
        flow_id: &str,
        code: &'static str,
        field: Option<&'static str>,
    ) -> AuthResponse {
        let step = match self.load_flow(request, flow_id).await {
            Ok(Some(record)) if record.api == api => record.step,
            Ok(_) => {
                return self
                    .start_page(api, request, context, Some("notice_expired"))
                    .await
            }
            Err(reply) => return self.present(api, request, context, reply, true).await,
        };
        let mut reply = FlowReply::step_error(400, code, "", flow_id, step);
        if let Some(error) = &mut reply.error {
            error.field = field;
        }
        self.present(api, request, context, reply, true).await
    }

    /// Starts a flow and renders its first step (`notice` says why, for a restart).
    async fn start_page<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        context: &Context,
        notice: Option<&'static str>,
    ) -> AuthResponse {
        let start = StartFlow {
            return_to: Some(context.return_to.clone()),
            ui_locales: context.ui_locales.clone(),
            ..StartFlow::default()
        };
        let reply = self.start_flow(api, request, start).await;
        // A provider session can finish the flow at once.
        if let Some(FlowStep::Completed { return_to }) = &reply.step {
            return AuthResponse::redirect(303, return_to).with_cookies(reply.cookies);
        }
        self.render_reply(context, reply, notice)
    }

    /// Turns a reply into the page's answer: a redirect when the flow moved on or finished,
    /// a restart when it is gone, else the step (or error) rendered.
    async fn present<R: RequestInfo + ?Sized>(
        &self,
        api: Api,
        request: &R,
        context: &Context,
        reply: FlowReply,
        posted: bool,
    ) -> AuthResponse {
        if let Some(FlowStep::Completed { return_to }) = &reply.step {
            tracing::info!("signed in through the sign-in page");
            return AuthResponse::redirect(303, return_to).with_cookies(reply.cookies);
        }
        let gone = reply.status == 404
            && reply
                .error
                .as_ref()
                .is_some_and(|e| matches!(e.code, "flow_not_found" | "flow_expired"));
        if gone {
            return self
                .start_page(api, request, context, Some("notice_expired"))
                .await;
        }
        let moved_on = reply.error.is_none()
            && matches!(reply.step, Some(ref step) if !matches!(step, FlowStep::Failed { .. } | FlowStep::Unsupported { .. }));
        if posted && moved_on {
            let url = context.page_url(reply.flow_id.as_deref());
            return AuthResponse::redirect(303, &url).with_cookies(reply.cookies);
        }
        self.render_reply(context, reply, None)
    }

    /// Renders a reply's step, or its error when it has no step.
    fn render_reply(
        &self,
        context: &Context,
        reply: FlowReply,
        notice: Option<&'static str>,
    ) -> AuthResponse {
        let texts = &context.texts;
        let (Some(step), Some(flow_id)) = (&reply.step, &reply.flow_id) else {
            let code = reply.error.as_ref().map_or("provider_error", |e| e.code);
            let mut response = self.error_page(context, reply.status, code);
            response.headers.extend(reply.headers);
            return response.with_cookies(reply.cookies);
        };
        let page = &self.inner.config.sign_in_page;
        let config = &self.inner.config;
        let mut view = View {
            kind: step_kind(step),
            notice: notice.map(|key| texts.get(key).to_owned()),
            form: FormView {
                action_url: context.page_path.clone(),
                flow_id: flow_id.clone(),
                csrf: config.session_key.sign(&csrf_input(flow_id)),
                return_to: context.return_to.clone(),
                ui_locales: context.ui_locales.clone(),
            },
            restart_url: context.page_url(None),
            step: Some(step),
            ..View::default()
        };
        view.title = texts.get(&format!("title_{}", view.kind)).to_owned();
        view.error = reply.error.as_ref().map(|error| ErrorView {
            message: error_message(texts, error.code, error.attempts_remaining),
            detail: error.provider_text.clone(),
            field: error.field.or_else(|| field_at_fault(error.code)),
            attempts_remaining: error.attempts_remaining,
        });
        let product = page.product_name();
        match step {
            FlowStep::Credentials { username } => {
                view.lead = texts.fill("lead_credentials", "product", product);
                view.username = username
                    .clone()
                    .or_else(|| context.typed_username.clone())
                    .unwrap_or_default();
            }
            FlowStep::Identifier => {
                view.lead = texts.fill("lead_identifier", "product", product);
                view.username = context.typed_username.clone().unwrap_or_default();
            }
            FlowStep::SelectDevice { devices } => {
                view.devices = device_views(texts, devices, None);
            }
            FlowStep::Otp { device, devices } => {
                view.lead = match device {
                    Some(d) if d.kind == DeviceKind::Totp => {
                        texts.fill("lead_otp_app", "device", &device_name(texts, d))
                    }
                    Some(d) => texts.fill("lead_otp_device", "device", &device_name(texts, d)),
                    None => texts.get("lead_otp").to_owned(),
                };
                view.devices = device_views(texts, devices, device.as_ref());
            }
            FlowStep::PushWait { device, devices } => {
                view.lead = match device {
                    Some(d) => texts.fill("lead_push_device", "device", &device_name(texts, d)),
                    None => texts.get("lead_push").to_owned(),
                };
                view.devices = device_views(texts, devices, device.as_ref());
                let page_url = context.page_url(Some(flow_id));
                view.refresh = Some(Refresh {
                    seconds: PUSH_REFRESH_SECS,
                    url: page_url.clone(),
                });
                view.poll = Some(Poll {
                    flow_url: format!("{}/flow/{flow_id}", config.route_prefix),
                    page_url,
                });
            }
            FlowStep::ChangePassword { policy } => {
                view.policy = policy
                    .as_ref()
                    .map(|p| policy_rules(texts, p))
                    .unwrap_or_default();
            }
            FlowStep::Failed { message } => {
                view.message = texts.get("failed_default").to_owned();
                view.detail = Some(message.clone());
            }
            FlowStep::Unsupported { .. } => {
                view.redirect_url = self.redirect_login_url(Some(&context.return_to));
            }
            FlowStep::Completed { .. } => {}
        }
        let template = format!("{}.html", view.kind);
        let mut response = self.render_page(context, reply.status, &template, view);
        response.headers.extend(reply.headers);
        response.with_cookies(reply.cookies)
    }

    /// A page with no flow: the error's text and a way to start again.
    fn error_page(&self, context: &Context, status: u16, code: &str) -> AuthResponse {
        let texts = &context.texts;
        let view = View {
            kind: "error",
            title: texts.get("title_error").to_owned(),
            error: Some(ErrorView {
                message: error_message(texts, code, None),
                detail: None,
                field: None,
                attempts_remaining: None,
            }),
            restart_url: context.page_url(None),
            retry_label: texts
                .get(if status == 503 {
                    "try_again"
                } else {
                    "start_again"
                })
                .to_owned(),
            ..View::default()
        };
        let response = self.render_page(context, status, "error.html", view);
        if status == 503 {
            response.with_header("retry-after", "5")
        } else {
            response
        }
    }

    fn render_page(
        &self,
        context: &Context,
        status: u16,
        template: &str,
        view: View<'_>,
    ) -> AuthResponse {
        let page = &self.inner.config.sign_in_page;
        let Some(nonce) = random_token(16) else {
            return AuthResponse::page(503, "Sign-in is unavailable", "Try again shortly.", None);
        };
        match page.render(template, &context.texts, &nonce, view) {
            Ok(html) => AuthResponse::html(status, html).with_header(
                "content-security-policy",
                page.content_security_policy(&nonce),
            ),
            Err(error) => {
                tracing::error!(%error, template, "the sign-in page's template failed");
                AuthResponse::page(
                    500,
                    "Sign-in is unavailable",
                    "The sign-in page could not be shown.",
                    None,
                )
            }
        }
    }
}

/// A top-level document navigation that is not a prefetch, by Fetch Metadata (a browser
/// without it is given the benefit of the doubt).
fn is_document_navigation<R: RequestInfo + ?Sized>(request: &R) -> bool {
    let is = |name: &str, value: &str| {
        request
            .header(name)
            .is_none_or(|v| v.eq_ignore_ascii_case(value))
    };
    let prefetch = ["sec-purpose", "purpose"]
        .iter()
        .any(|name| request.header(name).is_some_and(|v| v.contains("prefetch")));
    is("sec-fetch-mode", "navigate") && is("sec-fetch-dest", "document") && !prefetch
}

/// What the CSRF token signs: the flow it was rendered for.
fn csrf_input(flow_id: &str) -> Vec<u8> {
    format!("ping-oidc sign-in form\0{flow_id}").into_bytes()
}

fn step_kind(step: &FlowStep) -> &'static str {
    match step {
        FlowStep::Credentials { .. } => "credentials",
        FlowStep::Identifier => "identifier",
        FlowStep::SelectDevice { .. } => "select_device",
        FlowStep::Otp { .. } => "otp",
        FlowStep::PushWait { .. } => "push_wait",
        FlowStep::ChangePassword { .. } => "change_password",
        FlowStep::Failed { .. } | FlowStep::Completed { .. } => "failed",
        FlowStep::Unsupported { .. } => "unsupported",
    }
}

/// The page's sentence for an error code, with the attempts left when the provider said.
fn error_message(texts: &Texts, code: &str, attempts_remaining: Option<u64>) -> String {
    let key = match code {
        "invalid_credentials"
        | "invalid_otp"
        | "invalid_password"
        | "invalid_device"
        | "action_refused"
        | "passwords_differ"
        | "missing_field"
        | "flow_busy"
        | "form_expired"
        | "sign_in_failed"
        | "invalid_request" => format!("error_{code}"),
        "wrong_action" => "error_action_refused".into(),
        "temporarily_unavailable" => "error_unavailable".into(),
        "cross_site_request" => "error_cross_site".into(),
        "not_found" => "error_not_enabled".into(),
        "unsupported_media_type" | "method_not_allowed" => "error_invalid_request".into(),
        _ => "error_provider".into(),
    };
    let mut message = texts.get(&key).to_owned();
    match attempts_remaining {
        Some(0) => {
            message.push(' ');
            message.push_str(texts.get("attempts_none"));
        }
        Some(1) => {
            message.push(' ');
            message.push_str(texts.get("attempts_left_one"));
        }
        Some(n) => {
            message.push(' ');
            message.push_str(&texts.fill("attempts_left", "n", &n.to_string()));
        }
        None => {}
    }
    message
}

fn field_at_fault(code: &str) -> Option<&'static str> {
    match code {
        "invalid_credentials" => Some("password"),
        "invalid_otp" => Some("otp"),
        "invalid_password" => Some("new-password"),
        "invalid_device" => Some("device"),
        _ => None,
    }
}

fn kind_label(texts: &Texts, kind: DeviceKind) -> String {
    let key = match kind {
        DeviceKind::Sms => "device_sms",
        DeviceKind::Email => "device_email",
        DeviceKind::Totp => "device_totp",
        DeviceKind::Push => "device_push",
        DeviceKind::Fido => "device_fido",
        _ => "device_other",
    };
    texts.get(key).to_owned()
}

/// How a sentence names a device: its masked number, address or nickname, else its kind in
/// the page's language.
fn device_name(texts: &Texts, device: &FlowDevice) -> String {
    device
        .detail
        .clone()
        .unwrap_or_else(|| kind_label(texts, device.kind))
}

/// The radio buttons: every device but `current`; the default (else the first) checked.
fn device_views(
    texts: &Texts,
    devices: &[FlowDevice],
    current: Option<&FlowDevice>,
) -> Vec<DeviceView> {
    let shown: Vec<&FlowDevice> = devices
        .iter()
        .filter(|d| current.is_none_or(|c| c.id != d.id))
        .collect();
    let checked = shown.iter().position(|d| d.default).unwrap_or(0);
    shown
        .into_iter()
        .enumerate()
        .map(|(i, device)| DeviceView {
            id: device.id.clone(),
            kind_label: kind_label(texts, device.kind),
            detail: device.detail.clone(),
            default: device.default,
            default_label: texts.get("default_device").to_owned(),
            checked: i == checked,
        })
        .collect()
}

/// The policy's rules as sentences in the page's language.
fn policy_rules(texts: &Texts, policy: &PasswordPolicy) -> Vec<String> {
    let counted = [
        ("policy_min_length", policy.min_length),
        ("policy_max_length", policy.max_length),
        ("policy_min_uppercase", policy.min_uppercase),
        ("policy_min_lowercase", policy.min_lowercase),
        ("policy_min_digits", policy.min_digits),
        ("policy_min_special", policy.min_special),
        ("policy_min_unique", policy.min_unique),
        ("policy_max_repeated", policy.max_repeated),
        ("policy_history", policy.history),
    ];
    let flags = [
        ("policy_excludes_common", policy.excludes_common),
        ("policy_excludes_profile_data", policy.excludes_profile_data),
        (
            "policy_not_similar_to_current",
            policy.not_similar_to_current,
        ),
    ];
    counted
        .into_iter()
        .filter_map(|(key, n)| {
            n.filter(|n| *n > 0)
                .map(|n| texts.fill(key, "n", &n.to_string()))
        })
        .chain(
            flags
                .into_iter()
                .filter(|(_, on)| *on)
                .map(|(key, _)| texts.get(key).to_owned()),
        )
        .collect()
}
