//! `cargo run -p ping-oidc-example-axum`: the example site, configured from the environment
//! (with none of `OIDC_ISSUER`, `PINGONE_ENV_ID`, `PINGONE_CUSTOM_DOMAIN`: the embedded
//! development provider).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ping_oidc_example_site::exit_on_error(run().await)
}

async fn run() -> Result<(), String> {
    ping_oidc_example_site::init_tracing();
    let example = ping_oidc_example_site::start_from_env().await?;
    let oidc = example.oidc;
    let address = ping_oidc_example_site::bind_address(oidc.config())?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    println!("Example (axum) listening on {}", oidc.config().app_url());
    ping_oidc_example_axum::serve(listener, oidc)
        .await
        .map_err(|e| e.to_string())
}
