use serde_json::json;

use super::*;

fn compile(page: SignInPage) -> Result<Arc<CompiledPage>, ConfigError> {
    page.compile("app.example.com")
}

#[test]
fn the_shipped_page_compiles_and_every_language_has_every_text() {
    let page = compile(SignInPage::new()).unwrap();
    let english = page.bundles.get("en").unwrap();
    for (language, texts) in &page.bundles {
        assert_eq!(texts.len(), english.len(), "{language}");
    }
    // The shipped bundles carry every key themselves (none falls back to English).
    let french: BTreeMap<String, String> = serde_json::from_str(LANGUAGES[1].1).unwrap();
    assert_eq!(
        french.keys().collect::<Vec<_>>(),
        english.keys().collect::<Vec<_>>()
    );
    assert_eq!(page.product_name(), "app.example.com");
}

#[test]
fn languages_come_from_ui_locales_then_accept_language() {
    let page = compile(SignInPage::new().translation("pt-br", [("sign_in", "Entrar")])).unwrap();
    let pick = |ui: Option<&str>, accept: Option<&str>| page.texts(ui, accept).language;
    assert_eq!(pick(None, None), "en");
    assert_eq!(pick(None, Some("fr-CA,fr;q=0.9,en;q=0.5")), "fr");
    assert_eq!(pick(None, Some("de-DE,de;q=0.9,en;q=0.5")), "en");
    assert_eq!(pick(None, Some("de;q=0.9,fr;q=0.8")), "fr");
    assert_eq!(pick(Some("fr"), Some("en")), "fr");
    assert_eq!(pick(Some("xx pt-BR"), Some("fr")), "pt-br");
    assert_eq!(pick(Some("zz"), Some("fr")), "fr");
    let texts = page.texts(Some("pt-br"), None);
    assert_eq!(texts.get("sign_in"), "Entrar");
    // Texts the translation does not set come from English.
    assert_eq!(texts.get("password"), "Password");
}

#[test]
fn accept_language_is_read_by_quality_and_bounded() {
    assert_eq!(
        preferred_languages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
        ["fr-CH", "fr", "en", "de"]
    );
    assert_eq!(
        preferred_languages("en;q=0.5, fr, de;q=1"),
        ["fr", "de", "en"]
    );
    assert_eq!(
        preferred_languages("en;q=0, fr;q=2, de;q=0.1234, it;q=NaN, es;q=.5, pt"),
        ["pt"]
    );
    // Hostile headers: NaN qualities, thousands of entries, long tags.
    let hostile: String = (0..5000)
        .map(|i| if i % 2 == 0 { "xx;q=NaN" } else { "yy;q=0.3" })
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(preferred_languages(&hostile).len(), 8);
    assert!(preferred_languages(&"a".repeat(100)).is_empty());
    let page = compile(SignInPage::new()).unwrap();
    assert_eq!(page.texts(None, Some(&hostile)).language, "en");
}

#[test]
fn mistakes_are_refused_when_the_configuration_is_built() {
    let cases = [
        SignInPage::new().template("login.html", "x"),
        SignInPage::new().template("credentials.html", "{% if %}"),
        SignInPage::new().translation("fr", [("no_such_text", "x")]),
        SignInPage::new().translation("f r", [("sign_in", "x")]),
        SignInPage::new().logo_url("javascript:alert(1)"),
        SignInPage::new().stylesheet_url("http://cdn.example.com/x.css"),
        SignInPage::new().footer_link("Help", "//evil.example/"),
    ];
    for page in cases {
        let error = compile(page.clone()).unwrap_err();
        assert_eq!(error.setting(), Some("sign_in_page"), "{page:?}: {error}");
    }
}

#[test]
fn the_policy_names_the_brand_assets_origins() {
    let page = compile(
        SignInPage::new()
            .logo_url("https://cdn.acme.example/logo.svg")
            .stylesheet_url("https://static.acme.example/sign-in.css"),
    )
    .unwrap();
    let csp = page.content_security_policy("N0NCE");
    assert!(csp.contains("script-src 'nonce-N0NCE';"), "{csp}");
    assert!(
        csp.contains("style-src 'nonce-N0NCE' https://static.acme.example;"),
        "{csp}"
    );
    assert!(
        csp.contains("img-src 'self' https://cdn.acme.example;"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
}

#[test]
fn a_template_override_replaces_the_shipped_one_and_still_escapes() {
    let page = compile(SignInPage::new().template(
        "failed.html",
        r#"{% extends "layout.html" %}{% block content %}<p id="custom">{{ detail }}</p>{% endblock %}"#,
    ))
    .unwrap();
    let texts = page.texts(None, None);
    let html = page
        .render(
            "failed.html",
            &texts,
            "N",
            json!({"kind": "failed", "title": "T", "detail": "<script>x</script>"}),
        )
        .unwrap();
    assert!(
        html.contains(r#"<p id="custom">&lt;script&gt;x&lt;&#x2f;script&gt;</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"<style nonce="N">:root{"#), "{html}");
}

#[test]
fn theme_colours_reach_the_css_only_as_parsed_colours() {
    let page = compile(
        SignInPage::new()
            .primary_color(Color::parse("#ffcc00").unwrap())
            .background_color(Color::parse("#101010").unwrap()),
    )
    .unwrap();
    // Yellow buttons get dark text; a dark background gets light text; yellow does not
    // read on the white card, so links use the text colour.
    assert!(page.css.starts_with(":root{--primary:#ffcc00;--on-primary:#1d2330;--background:#101010;--on-background:#ffffff;--accent:#1d2330}"), "{}", page.css);
}
