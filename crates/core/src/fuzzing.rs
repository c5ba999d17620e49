//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature `fuzzing`; not public API).
//! Each feeds untrusted bytes to one parser and must never panic.

use crate::config::Config;

fn config() -> Option<Config> {
    Config::builder()
        .issuer("https://idp.example/as")
        .client_id("app")
        .app_url("https://app.example")
        .session_key("fuzzing-session-key-0123456789abcdef")
        .build()
        .ok()
}

/// The callback's query string, then `return_to` and scope parsing.
pub fn callback_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::engine::parse_callback_query(&text);
    let _ = crate::return_to::sanitize(&text);
    let _ = crate::scope::parse_scope_list(&text);
}

/// `Cookie` headers: the session cookie and a transaction cookie for some `state`.
pub fn cookies(data: &[u8]) {
    let Some(config) = config() else { return };
    let text = String::from_utf8_lossy(data);
    let (header, state) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(value) = crate::cookies::find([header], &config.cookie_name) {
        let plain = crate::session_cookie::verify_session_cookie(&config, value);
        // The remembered-cookie table must answer exactly as the HMAC does, first and
        // second time.
        let remembered = crate::session_cookie::VerifiedCookies::new();
        assert_eq!(remembered.verify(&config, value), plain);
        assert_eq!(remembered.verify(&config, value), plain);
    }
    let _ = crate::transaction::open(&config, [header], state);
    let _ = config.session_key.open(b"ctx", header);
}

/// Discovery documents, JWKS documents, token endpoint responses, and stored sessions (a
/// shared store's records are read back as JSON).
pub fn provider_documents(data: &[u8]) {
    if let Ok(session) = serde_json::from_slice::<crate::store::SessionData>(data) {
        let _ = session.claims().get("sub");
        let _ = session.to_stored_json();
    }
    let _ = crate::discovery::ProviderMetadata::parse(data, "https://idp.example/as");
    let _ = crate::jose::parse_jwks(data);
    let _ = crate::provider::parse_token_response(200, data);
    let _ = crate::provider::parse_token_response(400, data);
}

/// A provider's flow states, refusals and `Set-Cookie`s (redirect-less sign-in), for both
/// products: an unknown shape becomes a step, never a panic.
pub fn flow_answers(data: &[u8]) {
    use crate::flow::interpret;
    use crate::flow::record::Api;
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        for api in [Api::PingOne, Api::PingFederate] {
            let _ = interpret::interpret(api, &body);
            let otp = crate::flow::FlowAction::Otp { otp: "1".into() };
            let _ = interpret::refusal(api, &otp, &body);
        }
        let _ = serde_json::from_value::<crate::flow::FlowAction>(body);
    }
    let text = String::from_utf8_lossy(data);
    let _ = interpret::AuthorizeResponse::from_query(&text);
    let mut jar = crate::flow::jar::Jar::default();
    jar.update(text.lines());
    let _ = jar.header();
}

/// Compact JWS tokens and ID-token / logout-token claim sets.
pub fn tokens(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(jws) = crate::jose::UnverifiedJws::parse(&text) {
        claims(&jws.payload);
    }
    claims(data);
}

fn claims(data: &[u8]) {
    let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data) else {
        return;
    };
    let expect = crate::id_token::Expectations {
        issuer: "https://idp.example/as",
        client_id: "app",
        trusted_audiences: &[],
        nonce: Some("n"),
        access_token: Some("at"),
        original: None,
        now: 1_800_000_000,
        skew: 60,
    };
    let _ =
        crate::id_token::check_claims("raw", crate::jose::Algorithm::RS256, map.clone(), &expect);
    let logout = crate::logout_token::LogoutExpectations {
        issuer: "https://idp.example/as",
        client_id: "app",
        trusted_audiences: &[],
        now: 1_800_000_000,
        skew: 60,
        max_age: 300,
    };
    let _ = crate::logout_token::check_claims(&map, &logout);
}
