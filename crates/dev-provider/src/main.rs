//! `cargo run -p ping-oidc-dev-provider` — a local PingOne/PingFederate-shaped OpenID Provider
//! for DEVELOPMENT AND TESTS ONLY (not for production).
//!
//! Options (flags win over environment variables):
//!
//! | flag | env | default |
//! |---|---|---|
//! | `--port N` | `DEV_PROVIDER_PORT` | `9000` |
//! | `--shape pingone\|pingfederate` | `DEV_PROVIDER_SHAPE` | `pingone` |
//! | `--env-id ID` | `DEV_PROVIDER_ENV_ID` | `00000000-0000-4000-8000-000000000001` |
//! | `--alg RS256\|ES256` | `DEV_PROVIDER_ALG` | `RS256` |
//! | `--app-url URL` | `DEV_PROVIDER_APP_URL` | `http://127.0.0.1:3000` |

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use ping_oidc_dev_provider::{
    ClientRegistration, DevProvider, MfaDeviceKind, PathShape, SigningAlg, TestUser,
    DEFAULT_ENV_ID, DEV_OTP,
};

const CLIENT_ID: &str = "ping-oidc-example";
const CLIENT_SECRET: &str = "dev-secret";

struct Options {
    port: u16,
    shape: String,
    env_id: String,
    alg: String,
    app_url: String,
}

fn usage() -> &'static str {
    "usage: ping-oidc-dev-provider [--port N] [--shape pingone|pingfederate] [--env-id ID] \
     [--alg RS256|ES256] [--app-url http://127.0.0.1:3000]"
}

fn parse_options() -> Result<Options, String> {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let mut port = env("DEV_PROVIDER_PORT", "9000");
    let mut o = Options {
        port: 0,
        shape: env("DEV_PROVIDER_SHAPE", "pingone"),
        env_id: env("DEV_PROVIDER_ENV_ID", DEFAULT_ENV_ID),
        alg: env("DEV_PROVIDER_ALG", "RS256"),
        app_url: env("DEV_PROVIDER_APP_URL", "http://127.0.0.1:3000"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = value,
            "--shape" => o.shape = value,
            "--env-id" => o.env_id = value,
            "--alg" => o.alg = value,
            "--app-url" => o.app_url = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    o.port = port.parse().map_err(|_| format!("bad port {port:?}"))?;
    o.app_url = o.app_url.trim_end_matches('/').to_owned();
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    let shape = match o.shape.to_ascii_lowercase().as_str() {
        "pingone" | "p1" => PathShape::PingOne { env_id: o.env_id },
        "pingfederate" | "pf" => PathShape::PingFederate,
        other => {
            eprintln!("error: unknown shape {other:?}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let alg = match o.alg.to_ascii_uppercase().as_str() {
        "RS256" => SigningAlg::RS256,
        "ES256" => SigningAlg::ES256,
        other => {
            eprintln!("error: unknown alg {other:?}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let app = &o.app_url;
    let client =
        ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, format!("{app}/auth/callback"))
            .post_logout_redirect_uri(format!("{app}/"))
            .backchannel_logout_uri(format!("{app}/auth/backchannel-logout"));

    let users = TestUser::flow_test_users();
    let mut builder = DevProvider::builder();
    for u in &users {
        builder = builder.user(u.clone());
    }
    let started = builder
        .path_shape(shape)
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, o.port)))
        .signing_alg(alg)
        .client(client)
        .start()
        .await;
    let provider = match started {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let e = provider.endpoints();
    println!("ping-oidc dev provider: FOR DEVELOPMENT AND TESTS ONLY, NOT FOR PRODUCTION");
    println!("  (signs with public test keys; anyone can forge its tokens)");
    println!();
    println!("  issuer:        {}", e.issuer);
    println!("  discovery:     {}", e.discovery);
    println!("  client_id:     {CLIENT_ID}");
    println!("  client_secret: {CLIENT_SECRET} (client_secret_basic)");
    println!("  redirect_uri:  {app}/auth/callback");
    println!("  post-logout:   {app}/");
    println!("  back-channel:  {app}/auth/backchannel-logout");
    println!("  test users (the sign-in page checks the password only; MFA and password");
    println!("  change apply to response_mode=pi.flow; every OTP is {DEV_OTP}):");
    for u in &users {
        let mut extra: Vec<String> = u
            .devices()
            .iter()
            .map(|d| {
                let kind = match d.kind() {
                    MfaDeviceKind::Sms => "SMS",
                    MfaDeviceKind::Email => "email",
                    MfaDeviceKind::Push => "push",
                    _ => "device",
                };
                let default = if d.is_default() { " (default)" } else { "" };
                format!("{kind} {}{default}", d.value())
            })
            .collect();
        if u.password_change_required() {
            extra.push("must change password".to_owned());
        }
        let extra = if extra.is_empty() {
            "password only".to_owned()
        } else {
            extra.join(", ")
        };
        println!("    {} / {}: {extra}", u.username(), u.password());
    }
    println!(
        "  approve a push: curl -d username=push-user {}/dev/push/approve",
        provider.base_url()
    );
    println!();
    println!("Press Ctrl-C to stop.");
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("error waiting for Ctrl-C: {err}");
    }
    provider.shutdown().await;
    ExitCode::SUCCESS
}
