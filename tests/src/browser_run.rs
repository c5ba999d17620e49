//! The real-browser sign-in: headless Debian Chromium, driven by `tests/browser/signin.mjs`
//! (pinned `playwright-core`, no downloaded browser), clicks through an example app and the
//! development provider's sign-in page. `tests/tests/browser.rs` runs it for every adapter.
//!
//! Needs Node.js and the Debian package `chromium` (`scripts/test.sh` installs both); the
//! npm package is installed here with `npm ci` when `tests/browser/node_modules` lacks it.
//! `CHROMIUM`, `NODE` and `NPM` override the programs. Screenshots go to
//! `<target dir>/browser-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ping_oidc_dev_provider::{ClientRegistration, DevProvider, TestUser};
use serde_json::Value;
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::app::{Adapter, AppSlot};

/// The browser the script launches unless `CHROMIUM` says otherwise.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// How long `npm ci` may take.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(180);
/// The script stops itself after 60 s; this is the backstop.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);
/// A rendered profile page is well above this; a blank or broken one is not.
const MIN_SCREENSHOT_BYTES: usize = 4 * 1024;

/// `tests/browser`: the npm project with `signin.mjs`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The workspace root (the parent of the `tests` package).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

/// `<target dir>/browser-artifacts`, the target dir being `CARGO_TARGET_DIR` (relative to the
/// workspace when relative) or `<workspace>/target`.
pub fn artifacts_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_dir().join(dir)
            }
        }
        None => workspace_dir().join("target"),
    };
    target.join("browser-artifacts")
}

/// The browser executable: `CHROMIUM` or `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

pub fn program(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The npm packages the scripts need, each pinned exactly in `package.json`.
const PACKAGES: [&str; 2] = ["playwright-core", "axe-core"];

/// The exact version `package.json` pins for `package`.
fn pinned_version(dir: &Path, package: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(dir.join("package.json"))
        .map_err(|e| format!("reading {}/package.json: {e}", dir.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("package.json: {e}"))?;
    json["dependencies"][package]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("package.json does not pin {package}"))
}

fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let path = dir.join("node_modules").join(package).join("package.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_owned)
}

/// Whether every package is installed at its pinned version; `Err` names the first that is not.
fn all_installed(dir: &Path) -> Result<(), String> {
    for package in PACKAGES {
        let wanted = pinned_version(dir, package)?;
        let found = installed_version(dir, package);
        if found.as_deref() != Some(wanted.as_str()) {
            return Err(format!(
                "{package} {wanted} is not installed (found {found:?})"
            ));
        }
    }
    Ok(())
}

/// Runs `npm ci` in `tests/browser` unless the pinned `playwright-core` is installed (once per
/// test process; the tests of one binary share the result).
pub async fn ensure_installed() -> Result<(), String> {
    static INSTALLED: OnceCell<Result<(), String>> = OnceCell::const_new();
    INSTALLED.get_or_init(install).await.clone()
}

async fn install() -> Result<(), String> {
    let dir = browser_dir();
    if all_installed(&dir).is_ok() {
        return Ok(());
    }
    let mut cmd = Command::new(program("NPM", "npm"));
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(NPM_CI_TIMEOUT, cmd.output())
        .await
        .map_err(|_| format!("`npm ci` in {} timed out", dir.display()))?
        .map_err(|e| {
            format!(
                "cannot run `npm ci` in {} (is Node.js installed? scripts/test.sh installs it): {e}",
                dir.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    all_installed(&dir).map_err(|e| format!("`npm ci` finished but {e}"))
}

/// What the script did: its JSON summary and how long it took.
#[derive(Debug)]
pub struct SignInRun {
    pub summary: Value,
    pub elapsed: Duration,
}

/// Runs `node signin.mjs <base> <screenshot>`; `Err` carries the script's own message.
pub async fn run_signin(
    base: &str,
    screenshot: &Path,
    expect_sub: &str,
    expect_email: &str,
) -> Result<SignInRun, String> {
    let run = run_script(
        "signin.mjs",
        &[base, &screenshot.display().to_string()],
        &[("EXPECT_SUB", expect_sub), ("EXPECT_EMAIL", expect_email)],
        SCRIPT_TIMEOUT,
    )
    .await?;
    Ok(run)
}

/// Runs `node tests/browser/<script> <args>` with Chromium and the pinned npm packages, and
/// reads the JSON summary it prints last; `Err` carries the script's own message.
pub async fn run_script(
    script: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    timeout: Duration,
) -> Result<SignInRun, String> {
    let chromium = chromium_path();
    if !chromium.exists() {
        return Err(format!(
            "no Chromium at {}: install the Debian package `chromium` \
             (`apt-get install chromium`; scripts/test.sh does), or set CHROMIUM",
            chromium.display()
        ));
    }
    ensure_installed().await?;
    let dir = browser_dir();
    let started = Instant::now();
    let mut cmd = Command::new(program("NODE", "node"));
    cmd.arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .env("CHROMIUM", &chromium)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| format!("{script} did not finish within {timeout:?}"))?
        .map_err(|e| format!("cannot run node (is Node.js installed?): {e}"))?;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "{script} failed ({}) after {elapsed:.1?}:\n{stderr}{stdout}",
            output.status
        ));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{script} printed no JSON summary:\n{stdout}\n{stderr}"))?;
    let summary: Value = serde_json::from_str(line)
        .map_err(|e| format!("{script} summary is not JSON ({e}): {line}"))?;
    Ok(SignInRun { summary, elapsed })
}

/// Checks the file is a PNG of some substance; returns (bytes, width, height).
pub fn check_png(path: &Path) -> Result<(usize, u32, u32), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("screenshot {}: {e}", path.display()))?;
    const MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(MAGIC) || &bytes[12..16] != b"IHDR" {
        return Err(format!("screenshot {} is not a PNG", path.display()));
    }
    if bytes.len() < MIN_SCREENSHOT_BYTES {
        return Err(format!(
            "screenshot {} is only {} bytes: the page did not render",
            path.display(),
            bytes.len()
        ));
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    Ok((bytes.len(), width, height))
}

pub fn adapter_name(adapter: Adapter) -> &'static str {
    match adapter {
        Adapter::Axum => "axum",
        Adapter::Actix => "actix",
    }
}

/// The whole case for one adapter: dev provider + example app, a real browser signs in, sees
/// the profile, signs out through the provider, and is signed out.
pub async fn real_browser_sign_in(adapter: Adapter) {
    let name = adapter_name(adapter);
    let slot = AppSlot::new();
    let client = ClientRegistration::confidential("rp", "rp-secret", slot.callback_url())
        .post_logout_redirect_uri(slot.home_url())
        .backchannel_logout_uri(slot.backchannel_url());
    let provider = DevProvider::builder()
        .client(client)
        .start()
        .await
        .unwrap_or_else(|e| panic!("dev provider: {e}"));
    let config = slot.config(&provider.issuer());
    let app = slot
        .start(adapter, config, None)
        .await
        .unwrap_or_else(|e| panic!("{name} app: {e}"));

    let alice = TestUser::default_user();
    let email = "alice@example.com";
    let screenshot = artifacts_dir().join(format!("{name}-profile.png"));
    // Last run's screenshots (and failure shot) must not pass for this run's.
    for suffix in ["", "-provider", "-signed-out", "-failure"] {
        let _ = std::fs::remove_file(artifacts_dir().join(format!("{name}-profile{suffix}.png")));
    }

    let run = run_signin(&app.base, &screenshot, alice.subject(), email)
        .await
        .unwrap_or_else(|e| panic!("{name}: real-browser sign-in failed: {e}"));
    let summary = &run.summary;
    eprintln!(
        "{name}: real-browser sign-in passed in {:.1?}: {summary}",
        run.elapsed
    );

    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["app"], app.base.as_str(), "{summary}");
    assert_eq!(summary["subject"], alice.subject(), "{summary}");
    assert_eq!(summary["claims"]["email"], email, "{summary}");
    let provider_origin = provider.base_url();
    assert_eq!(
        summary["provider"]
            .as_str()
            .map(|s| s.trim_end_matches('/')),
        Some(provider_origin.trim_end_matches('/')),
        "the browser signed in somewhere else than the dev provider: {summary}"
    );

    let (bytes, width, height) = check_png(&screenshot).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name}: screenshot {} ({bytes} bytes, {width}x{height})",
        screenshot.display()
    );
    assert!(
        width >= 800 && height >= 600,
        "screenshot is {width}x{height}"
    );

    // The provider session ended with the sign-out.
    let left: Vec<_> = provider
        .sessions()
        .into_iter()
        .filter(|s| s.sub == alice.subject())
        .collect();
    assert!(
        left.is_empty(),
        "the dev provider still has a session for alice after sign-out: {left:?}"
    );
}
