//! `cargo run -p ping-oidc-example-actix` with nothing configured: the embedded development
//! provider, the URL and the credentials, the site.

#[test]
fn runs_on_the_embedded_provider() {
    ping_oidc_example_site::readme_run::check(env!("CARGO_BIN_EXE_ping-oidc-example-actix"));
}
