//! `cargo run -p ping-oidc-example-actix`: the example site, configured from the environment
//! (with none of `OIDC_ISSUER`, `PINGONE_ENV_ID`, `PINGONE_CUSTOM_DOMAIN`: the embedded
//! development provider).

fn main() -> std::process::ExitCode {
    ping_oidc_example_site::exit_on_error(run())
}

fn run() -> Result<(), String> {
    ping_oidc_example_site::init_tracing();
    actix_web::rt::System::new().block_on(async {
        let example = ping_oidc_example_site::start_from_env().await?;
        let oidc = example.oidc;
        let address = ping_oidc_example_site::bind_address(oidc.config())?;
        let listener = std::net::TcpListener::bind(address)
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        println!(
            "Example (actix-web) listening on {}",
            oidc.config().app_url()
        );
        ping_oidc_example_actix::serve(listener, oidc)
            .await
            .map_err(|e| e.to_string())
    })
}
