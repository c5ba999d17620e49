//! The configuration's checks, one setting at a time.

use super::*;

/// Durations out of bounds are refused at build, so nothing can panic on them later.
#[test]
fn durations_are_bounded() {
    let base = || {
        Config::builder()
            .issuer("https://idp.example/as")
            .client_id("app")
            .app_url("https://app.example")
            .session_key("0123456789abcdef0123456789abcdef")
    };
    assert!(base().build().is_ok());
    let refused = [
        base().refresh_lease(Duration::ZERO),
        base().clock_skew(Duration::from_secs(u64::MAX)),
        base().http_timeout(Duration::ZERO),
        base().logout_token_max_age(Duration::ZERO),
        base().idle_timeout(Duration::from_secs(u64::MAX)),
    ];
    for builder in refused {
        let error = builder.build().expect_err("out of bounds");
        assert!(
            error.message().contains("must be between"),
            "{}",
            error.message()
        );
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        owned
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn pingone_preset_from_env() {
    let config = Config::builder_from_lookup(env(&[
        ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
        ("PINGONE_REGION", "eu"),
        ("OIDC_CLIENT_ID", "app"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
    ]))
    .and_then(ConfigBuilder::build)
    .expect("valid");
    assert_eq!(
        config.issuer(),
        "https://auth.pingone.eu/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as"
    );
    assert_eq!(config.auth_method, TokenAuthMethod::ClientSecretBasic);
    assert_eq!(config.redirect_uri(), "http://127.0.0.1:3000/auth/callback");
    assert_eq!(config.cookie_name, "ping_oidc");
    assert!(config.session_key_was_generated());
}

#[test]
fn custom_domain_and_public_client() {
    let config = Config::builder_from_lookup(env(&[
        ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
        ("OIDC_CLIENT_ID", "app"),
        ("APP_URL", "https://app.example.com"),
    ]))
    .and_then(ConfigBuilder::build)
    .expect("valid");
    assert_eq!(config.issuer(), "https://login.example.com/as");
    assert_eq!(config.auth_method, TokenAuthMethod::None);
    assert_eq!(config.cookie_name, "__Host-ping_oidc");
    assert!(config.cookie_secure);
}

#[test]
fn errors_say_what_to_fix() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "no provider"),
        (
            vec![("OIDC_ISSUER", "https://idp.example.com")],
            "OIDC_CLIENT_ID",
        ),
        (
            vec![
                ("OIDC_ISSUER", "http://idp.example.com"),
                ("OIDC_CLIENT_ID", "a"),
            ],
            "must use https",
        ),
        (
            vec![("PINGONE_ENV_ID", "not-a-uuid"), ("OIDC_CLIENT_ID", "a")],
            "not a UUID",
        ),
        (
            vec![
                ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
                ("PINGONE_REGION", "mars"),
            ],
            "PINGONE_REGION",
        ),
        (
            vec![
                ("PINGONE_ENV_ID", "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"),
                ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
                ("OIDC_CLIENT_ID", "a"),
            ],
            "not both",
        ),
        (
            vec![("PINGONE_REGION", "eu"), ("OIDC_CLIENT_ID", "a")],
            "PINGONE_ENV_ID is not",
        ),
        (
            vec![
                ("PINGONE_CUSTOM_DOMAIN", "login.example.com"),
                ("PINGONE_REGION", "eu"),
                ("OIDC_CLIENT_ID", "a"),
            ],
            "unset PINGONE_REGION",
        ),
        (
            vec![
                ("OIDC_ISSUER", "https://idp.example.com"),
                ("OIDC_CLIENT_ID", "a"),
                ("OIDC_TOKEN_AUTH_METHOD", "client_secret_post"),
            ],
            "needs a client secret",
        ),
        (
            vec![
                ("OIDC_ISSUER", "https://idp.example.com"),
                ("OIDC_CLIENT_ID", "a"),
                ("SESSION_KEY", "short"),
            ],
            "SESSION_KEY",
        ),
        (
            vec![
                ("OIDC_ISSUER", "https://idp.example.com"),
                ("OIDC_CLIENT_ID", "a"),
                ("APP_URL", "ftp://x"),
            ],
            "APP_URL",
        ),
    ];
    for (vars, expected) in cases {
        let error = Config::builder_from_lookup(env(&vars))
            .and_then(ConfigBuilder::build)
            .expect_err("must fail");
        assert!(
            error.message().contains(expected),
            "`{}` should mention `{expected}`",
            error.message()
        );
    }
}

#[test]
fn openid_always_first_and_deduplicated() {
    let config = Config::builder()
        .issuer("http://127.0.0.1:9/x")
        .client_id("a")
        .app_url("http://127.0.0.1:3000")
        .scopes(["profile", "openid", "email", "profile"])
        .build()
        .expect("valid");
    assert_eq!(config.scopes(), ["openid", "profile", "email"]);
}

#[test]
fn secret_is_redacted_in_debug() {
    let config = Config::builder()
        .issuer("http://127.0.0.1:9/x")
        .client_id("a")
        .client_secret("hunter2-very-secret")
        .app_url("http://127.0.0.1:3000")
        .build()
        .expect("valid");
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"));
}

/// The JWT client methods and signed request objects from the environment, and the settings
/// each needs.
#[test]
fn jwt_client_authentication_from_env() {
    let key_file = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/client-key-rsa.pem");
    let base = [
        ("OIDC_ISSUER", "https://idp.example/as"),
        ("OIDC_CLIENT_ID", "app"),
    ];
    let build = |extra: &[(&str, &str)]| {
        let pairs: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        Config::builder_from_lookup(env(&pairs)).and_then(ConfigBuilder::build)
    };
    let config = build(&[
        ("OIDC_TOKEN_AUTH_METHOD", "private_key_jwt"),
        ("OIDC_PRIVATE_KEY_FILE", key_file),
        ("OIDC_PRIVATE_KEY_ID", "key-1"),
        ("OIDC_REQUEST_OBJECT", "signed"),
    ])
    .expect("valid");
    assert_eq!(config.auth_method, TokenAuthMethod::PrivateKeyJwt);
    assert_eq!(config.request_object, RequestObject::Signed);
    assert_eq!(config.client_key.as_ref().map(|k| k.kid()), Some("key-1"));
    // A key and no secret: private_key_jwt without saying so.
    let config = build(&[("OIDC_PRIVATE_KEY_FILE", key_file)]).expect("valid");
    assert_eq!(config.auth_method, TokenAuthMethod::PrivateKeyJwt);
    let config = build(&[
        ("OIDC_TOKEN_AUTH_METHOD", "client_secret_jwt"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
    ])
    .expect("valid");
    assert_eq!(config.auth_method, TokenAuthMethod::ClientSecretJwt);

    let refused = [
        (
            &[("OIDC_TOKEN_AUTH_METHOD", "private_key_jwt")][..],
            "OIDC_PRIVATE_KEY_FILE",
        ),
        (
            &[("OIDC_TOKEN_AUTH_METHOD", "client_secret_jwt")][..],
            "OIDC_CLIENT_SECRET",
        ),
        (
            &[("OIDC_REQUEST_OBJECT", "signed")][..],
            "OIDC_PRIVATE_KEY_FILE",
        ),
        (&[("OIDC_REQUEST_OBJECT", "unsigned")][..], "off, signed"),
        (
            &[("OIDC_PRIVATE_KEY_FILE", "/no/such/key.pem")][..],
            "could not read",
        ),
    ];
    for (extra, hint) in refused {
        let error = build(extra).expect_err("refused");
        assert!(
            error.message().contains(hint),
            "{extra:?}: {}",
            error.message()
        );
    }
}

/// `OIDC_PRIVATE_KEY_ID` alone, and the assertion audience.
#[test]
fn key_id_alone_is_refused_and_the_audience_is_read() {
    let lookup = |extra: (&'static str, &'static str)| {
        env(&[
            ("OIDC_ISSUER", "https://idp.example/as"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            extra,
        ])
    };
    let error =
        Config::builder_from_lookup(lookup(("OIDC_PRIVATE_KEY_ID", "k"))).expect_err("refused");
    assert!(
        error.message().contains("OIDC_PRIVATE_KEY_FILE"),
        "{}",
        error.message()
    );
    let config = Config::builder_from_lookup(lookup(("OIDC_CLIENT_ASSERTION_AUDIENCE", "issuer")))
        .and_then(ConfigBuilder::build)
        .expect("valid");
    assert_eq!(config.assertion_audience, AssertionAudience::Issuer);
    assert!(Config::builder_from_lookup(lookup(("OIDC_CLIENT_ASSERTION_AUDIENCE", "x"))).is_err());
}

/// `OIDC_DPOP_NONCES`: on, off, and anything else refused with the setting's name.
#[test]
fn dpop_nonces_from_env() {
    let read = |value: &'static str| {
        Config::builder_from_lookup(env(&[
            ("OIDC_ISSUER", "https://idp.example/as"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            ("OIDC_DPOP_NONCES", value),
        ]))
        .and_then(ConfigBuilder::build)
    };
    assert!(read("on").expect("valid").dpop_nonces);
    assert!(!read("off").expect("valid").dpop_nonces);
    let error = read("sometimes").expect_err("refused");
    assert_eq!(error.setting(), Some("dpop_nonces"));
}
