//! A real browser (headless Debian Chromium via `tests/browser/signin.mjs`) signs in to each
//! example app by clicking through its pages and the development provider's sign-in page, sees
//! the profile, and signs out. Needs Node.js and the `chromium` package (scripts/test.sh
//! installs them); fails, never skips, without them. The case is written once in
//! `ping_oidc_tests::browser_run` and instantiated here per adapter.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::browser_run;

macro_rules! browser_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn real_browser_sign_in_and_out() {
                browser_run::real_browser_sign_in(ADAPTER).await;
            }
        }
    };
}

browser_suite!(axum, Adapter::Axum);
browser_suite!(actix, Adapter::Actix);
