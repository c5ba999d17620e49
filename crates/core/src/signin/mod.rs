//! The embedded sign-in page, `/auth/signin`: every step of a redirect-less sign-in
//! rendered on the server, themed without writing a template.
//!
//! ```
//! use ping_oidc::signin::{Color, SignInPage};
//! use ping_oidc::{Config, FlowApi, SignIn};
//!
//! let page = SignInPage::new()
//!     .product_name("Acme Bank")
//!     .logo_url("https://cdn.acme.example/logo.svg")
//!     .primary_color(Color::parse("#0b5e44").unwrap())
//!     .background_color(Color::parse("#f3f6f4").unwrap())
//!     .stylesheet_url("/static/sign-in.css")
//!     .footer_link("Privacy", "https://acme.example/privacy")
//!     .translation("fr", [("sign_in", "Connexion")]);
//! let config = Config::builder()
//!     .issuer("https://auth.pingone.com/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as")
//!     .client_id("my-app")
//!     .app_url("https://app.example.com")
//!     .flow_api(FlowApi::PingOne)
//!     .sign_in(SignIn::Embedded) // signed-out navigations go to /auth/signin
//!     .sign_in_page(page)
//!     .build()?;
//! # Ok::<(), ping_oidc::ConfigError>(())
//! ```
//!
//! The page works with JavaScript off. Its one script (waiting for a push) carries the
//! response's nonce; the `Content-Security-Policy` allows nothing else, frames nothing
//! (`frame-ancestors 'none'`), and names the logo's and stylesheet's origins.
//!
//! **Languages.** English and French ship. `ui_locales` in the query (OpenID Connect's
//! parameter: space-separated tags, first match wins), then `Accept-Language`, picks the
//! bundle; [`SignInPage::translation`] changes texts or adds a language (missing texts fall
//! back to English). The keys are those of `src/signin/locales/en.json`.
//!
//! **Templates.** Each step is a [minijinja](https://docs.rs/minijinja) template with HTML
//! auto-escaping: `layout.html`, `macros.html`, `credentials.html`, `identifier.html`,
//! `select_device.html`, `otp.html`, `push_wait.html`, `change_password.html`,
//! `failed.html`, `unsupported.html` and `error.html` (in `src/signin/templates/`).
//! [`SignInPage::template`] replaces one; start from the shipped one, which shows the
//! variables it gets. Keep the form fields' names: the engine reads them.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::config::ConfigError;

mod theme;

pub(crate) use theme::AssetUrl;
pub use theme::Color;

/// The templates a page can override, with the shipped sources.
const TEMPLATES: [(&str, &str); 11] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("macros.html", include_str!("templates/macros.html")),
    (
        "credentials.html",
        include_str!("templates/credentials.html"),
    ),
    ("identifier.html", include_str!("templates/identifier.html")),
    (
        "select_device.html",
        include_str!("templates/select_device.html"),
    ),
    ("otp.html", include_str!("templates/otp.html")),
    ("push_wait.html", include_str!("templates/push_wait.html")),
    (
        "change_password.html",
        include_str!("templates/change_password.html"),
    ),
    ("failed.html", include_str!("templates/failed.html")),
    (
        "unsupported.html",
        include_str!("templates/unsupported.html"),
    ),
    ("error.html", include_str!("templates/error.html")),
];

/// The shipped languages; English is every bundle's fallback.
const LANGUAGES: [(&str, &str); 2] = [
    ("en", include_str!("locales/en.json")),
    ("fr", include_str!("locales/fr.json")),
];

/// Default colours: a blue that reads on white, on a light grey.
const DEFAULT_PRIMARY: Color = Color::rgb(0x0b, 0x5c, 0xd5);
const DEFAULT_BACKGROUND: Color = Color::rgb(0xf3, 0xf4, 0xf6);

/// How the sign-in page looks: brand, colours, links, texts and templates. Pass it to
/// [`ConfigBuilder::sign_in_page`](crate::ConfigBuilder::sign_in_page); it is checked
/// (URLs, template syntax, translation keys) when the configuration is built.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SignInPage {
    product_name: Option<String>,
    logo_url: Option<String>,
    primary_color: Option<Color>,
    background_color: Option<Color>,
    stylesheet_url: Option<String>,
    footer_links: Vec<(String, String)>,
    templates: Vec<(String, String)>,
    translations: Vec<(String, Vec<(String, String)>)>,
}

impl SignInPage {
    /// The default page: the app's host as the product name, blue on light grey.
    pub fn new() -> Self {
        Self::default()
    }

    /// The name above the form and in the title.
    pub fn product_name(mut self, name: impl Into<String>) -> Self {
        self.product_name = Some(name.into());
        self
    }

    /// A logo shown beside the name: an `https` URL, a path on this site, or a
    /// `data:image/…` URL. Its origin is added to the page's `img-src`.
    pub fn logo_url(mut self, url: impl Into<String>) -> Self {
        self.logo_url = Some(url.into());
        self
    }

    /// The buttons' colour; their text is black or white, whichever reads better.
    pub fn primary_color(mut self, color: Color) -> Self {
        self.primary_color = Some(color);
        self
    }

    /// The colour behind the card.
    pub fn background_color(mut self, color: Color) -> Self {
        self.background_color = Some(color);
        self
    }

    /// A stylesheet loaded after the page's own (an `https` URL or a path on this site);
    /// its origin is added to `style-src`.
    pub fn stylesheet_url(mut self, url: impl Into<String>) -> Self {
        self.stylesheet_url = Some(url.into());
        self
    }

    /// A link in the footer (privacy, help); links show in the order added.
    pub fn footer_link(mut self, text: impl Into<String>, url: impl Into<String>) -> Self {
        self.footer_links.push((text.into(), url.into()));
        self
    }

    /// Replaces a template (names in the [module docs](self)).
    pub fn template(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.templates.push((name.into(), source.into()));
        self
    }

    /// Sets texts of a language (a tag such as `de` or `pt-br`), adding the language if it
    /// is new. Texts it does not set come from the shipped bundle of that language, else
    /// from English.
    pub fn translation<K, V>(
        mut self,
        language: impl Into<String>,
        texts: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let texts = texts
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.translations.push((language.into(), texts));
        self
    }

    /// The page from the `SIGNIN_*` variables: `SIGNIN_PRODUCT_NAME`, `SIGNIN_LOGO_URL`,
    /// `SIGNIN_PRIMARY_COLOR` and `SIGNIN_BACKGROUND_COLOR` (`#rrggbb`),
    /// `SIGNIN_STYLESHEET_URL`, and `SIGNIN_FOOTER_LINKS` (`Text=URL|Text=URL`).
    pub(crate) fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut page = Self::new();
        if let Some(name) = lookup("SIGNIN_PRODUCT_NAME") {
            page = page.product_name(name);
        }
        if let Some(url) = lookup("SIGNIN_LOGO_URL") {
            page = page.logo_url(url);
        }
        if let Some(url) = lookup("SIGNIN_STYLESHEET_URL") {
            page = page.stylesheet_url(url);
        }
        for (variable, is_primary) in [
            ("SIGNIN_PRIMARY_COLOR", true),
            ("SIGNIN_BACKGROUND_COLOR", false),
        ] {
            if let Some(text) = lookup(variable) {
                let color = Color::parse(&text).ok_or_else(|| {
                    ConfigError::for_setting(
                        "sign_in_page",
                        format!("{variable} `{text}` is not a colour such as #0b5e44"),
                    )
                })?;
                page = if is_primary {
                    page.primary_color(color)
                } else {
                    page.background_color(color)
                };
            }
        }
        if let Some(links) = lookup("SIGNIN_FOOTER_LINKS") {
            for link in links.split('|').map(str::trim).filter(|l| !l.is_empty()) {
                let (text, url) = link.split_once('=').ok_or_else(|| {
                    ConfigError::for_setting(
                        "sign_in_page",
                        format!("SIGNIN_FOOTER_LINKS entry `{link}` is not Text=URL"),
                    )
                })?;
                page = page.footer_link(text.trim(), url.trim());
            }
        }
        Ok(page)
    }

    /// Checks everything and compiles the templates, for [`ConfigBuilder::build`](crate::ConfigBuilder::build).
    pub(crate) fn compile(&self, app_host: &str) -> Result<Arc<CompiledPage>, ConfigError> {
        let error = |message: String| ConfigError::for_setting("sign_in_page", message);
        let logo = self
            .logo_url
            .as_deref()
            .map(|url| AssetUrl::parse(url, true))
            .transpose()
            .map_err(|e| error(format!("logo_url {e}")))?;
        let stylesheet = self
            .stylesheet_url
            .as_deref()
            .map(|url| AssetUrl::parse(url, false))
            .transpose()
            .map_err(|e| error(format!("stylesheet_url {e}")))?;
        let mut footer_links = Vec::new();
        for (text, url) in &self.footer_links {
            let url = AssetUrl::parse(url, false).map_err(|e| error(format!("footer link {e}")))?;
            footer_links.push(FooterLink {
                text: text.clone(),
                href: url.href,
            });
        }

        let mut bundles = BTreeMap::new();
        for (language, json) in LANGUAGES {
            let texts: BTreeMap<String, String> = serde_json::from_str(json)
                .map_err(|e| error(format!("shipped bundle {language}: {e}")))?;
            bundles.insert(language.to_owned(), texts);
        }
        let english = bundles.get("en").cloned().unwrap_or_default();
        for (language, texts) in &self.translations {
            let language = language.trim().to_ascii_lowercase();
            let valid_tag = !language.is_empty()
                && language.len() <= 16
                && language.split('-').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !valid_tag {
                return Err(error(format!("`{language}` is not a language tag")));
            }
            let bundle = bundles
                .entry(language.clone())
                .or_insert_with(|| english.clone());
            for (key, text) in texts {
                if !english.contains_key(key) {
                    return Err(error(format!(
                        "translation {language}: `{key}` is not a text of the page (see locales/en.json)"
                    )));
                }
                bundle.insert(key.clone(), text.clone());
            }
        }
        // A bundle missing texts (none ships so; a future key might) falls back to English.
        for bundle in bundles.values_mut() {
            for (key, text) in &english {
                bundle.entry(key.clone()).or_insert_with(|| text.clone());
            }
        }

        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| error(format!("shipped template {name}: {e}")))?;
        }
        for (name, source) in &self.templates {
            if !TEMPLATES.iter().any(|(known, _)| known == name) {
                return Err(error(format!(
                    "`{name}` is not one of the page's templates ({})",
                    TEMPLATES.map(|(n, _)| n).join(", ")
                )));
            }
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| error(format!("template {name}: {e}")))?;
        }

        let primary = self.primary_color.unwrap_or(DEFAULT_PRIMARY);
        let background = self.background_color.unwrap_or(DEFAULT_BACKGROUND);
        let mut style_sources = String::new();
        if let Some(sheet) = &stylesheet {
            style_sources = format!(" {}", sheet.source);
        }
        let mut img_sources = String::from("'self'");
        if let Some(logo) = &logo {
            if logo.source != "'self'" {
                img_sources = format!("'self' {}", logo.source);
            }
        }
        Ok(Arc::new(CompiledPage {
            env,
            bundles: bundles
                .into_iter()
                .map(|(language, texts)| (language, Arc::new(texts)))
                .collect(),
            brand: Brand {
                product_name: self
                    .product_name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| app_host.to_owned()),
                logo_url: logo.map(|l| l.href),
                stylesheet_url: stylesheet.map(|s| s.href),
                footer_links,
            },
            css: theme::stylesheet(primary, background),
            style_sources,
            img_sources,
        }))
    }
}

/// A [`SignInPage`] checked and compiled; the engine renders with it.
pub(crate) struct CompiledPage {
    env: Environment<'static>,
    bundles: BTreeMap<String, Arc<BTreeMap<String, String>>>,
    brand: Brand,
    css: String,
    /// Extra `style-src` sources (the custom stylesheet's origin), with a leading space.
    style_sources: String,
    img_sources: String,
}

impl std::fmt::Debug for CompiledPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPage")
            .field("product_name", &self.brand.product_name)
            .field("languages", &self.bundles.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize)]
struct Brand {
    product_name: String,
    logo_url: Option<String>,
    stylesheet_url: Option<String>,
    footer_links: Vec<FooterLink>,
}

#[derive(Clone, Serialize)]
struct FooterLink {
    text: String,
    href: String,
}

/// The texts of one language.
pub(crate) struct Texts {
    pub language: String,
    texts: Arc<BTreeMap<String, String>>,
}

impl Texts {
    /// The text for `key` (every key exists: bundles are completed from English).
    pub fn get(&self, key: &str) -> &str {
        self.texts.get(key).map_or("", String::as_str)
    }

    /// The text for `key` with `{name}` replaced.
    pub fn fill(&self, key: &str, name: &str, value: &str) -> String {
        self.get(key).replace(&format!("{{{name}}}"), value)
    }
}

impl CompiledPage {
    /// The language for a request: the first of `ui_locales` the page has, then the best of
    /// `Accept-Language`, then English. A tag matches exactly or by its primary subtag.
    pub fn texts(&self, ui_locales: Option<&str>, accept_language: Option<&str>) -> Texts {
        let requested = ui_locales
            .into_iter()
            .flat_map(str::split_whitespace)
            .chain(accept_language.map(preferred_languages).unwrap_or_default())
            .take(16);
        let mut chosen = None;
        for tag in requested {
            let tag = tag.to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or_default().to_owned();
            if let Some((language, texts)) = self
                .bundles
                .get_key_value(&tag)
                .or_else(|| self.bundles.get_key_value(&primary))
            {
                chosen = Some((language.clone(), Arc::clone(texts)));
                break;
            }
        }
        let (language, texts) = chosen
            .or_else(|| {
                self.bundles
                    .get_key_value("en")
                    .map(|(l, t)| (l.clone(), Arc::clone(t)))
            })
            .unwrap_or_default();
        Texts { language, texts }
    }

    /// The product name, for texts that say it.
    pub fn product_name(&self) -> &str {
        &self.brand.product_name
    }

    /// The `Content-Security-Policy` of a page rendered with `nonce`.
    pub fn content_security_policy(&self, nonce: &str) -> String {
        format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'{}; img-src {}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            self.style_sources, self.img_sources
        )
    }

    /// Renders a template with the page's brand, CSS, texts and `nonce` besides `view`.
    pub fn render(
        &self,
        template: &str,
        texts: &Texts,
        nonce: &str,
        view: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        let template = self.env.get_template(template)?;
        let base = minijinja::context! {
            lang => texts.language.as_str(),
            t => Value::from(Serde(texts.texts.as_ref())),
            brand => Value::from(Serde(&self.brand)),
            css => Value::from_safe_string(self.css.clone()),
            nonce => nonce,
        };
        template.render(minijinja::context! { ..Value::from(Serde(view)), ..base })
    }
}

/// `Accept-Language`'s tags, best first (RFC 9110 §12.5.4): at most 16 entries, ties in
/// header order; a `q` that is not a qvalue drops its entry, `q=0` and `*` are skipped.
/// Written here rather than taken from the `accept-language` crate, which reads every entry
/// of the header and sorts `f32` qualities (NaN included) with a partial order.
fn preferred_languages(header: &str) -> Vec<&str> {
    let mut tags: Vec<(u16, usize, &str)> = header
        .split(',')
        .take(16)
        .enumerate()
        .filter_map(|(position, entry)| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let mut quality = 1000;
            for parameter in parts {
                if let Some(value) = parameter.trim().strip_prefix("q=") {
                    quality = qvalue(value)?;
                }
            }
            let usable = !tag.is_empty() && tag != "*" && tag.len() <= 35 && quality > 0;
            usable.then_some((quality, position, tag))
        })
        .collect();
    tags.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.into_iter().map(|(_, _, tag)| tag).collect()
}

/// A qvalue (`0`, `0.5`, `1.000`) in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
