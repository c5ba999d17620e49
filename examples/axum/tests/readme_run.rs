//! The README's first command (`cargo run -p ping-oidc-example-axum`) on a fresh machine: the
//! embedded development provider, the URL and the credentials, the site.

#[test]
fn runs_on_the_embedded_provider() {
    ping_oidc_example_site::readme_run::check(env!("CARGO_BIN_EXE_ping-oidc-example-axum"));
}
