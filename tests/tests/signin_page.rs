//! The embedded sign-in page (`/auth/signin`) through every adapter and both product shapes:
//! headless Chromium walks every step (axe-core on each, screenshots under
//! `<target>/browser-artifacts/`), with JavaScript off too and with a theme; HTTP cases check
//! escaping, CSRF and origin checks. Each case is written once in
//! `ping_oidc_tests::signin_page`. Needs Node.js and the `chromium` package (scripts/test.sh
//! installs them); fails, never skips, without them.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::flow::Shape;
use ping_oidc_tests::signin_page::{self, Variant};

macro_rules! page_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_walk_pingone() {
                signin_page::walk(ADAPTER, Shape::PingOne, Variant::Plain).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_walk_pingfederate() {
                signin_page::walk(ADAPTER, Shape::PingFederate, Variant::Plain).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_walk_without_javascript() {
                signin_page::walk(ADAPTER, Shape::PingOne, Variant::NoScript).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_walk_themed_in_french() {
                signin_page::walk(ADAPTER, Shape::PingFederate, Variant::Themed).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_walk_identifier_first() {
                signin_page::walk(ADAPTER, Shape::PingOne, Variant::IdentifierFirst).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn provider_markup_is_escaped() {
                signin_page::provider_markup_is_escaped(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn forged_forms_are_refused() {
                signin_page::forged_forms_are_refused(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn guarded_pages_send_to_the_page() {
                signin_page::guarded_pages_send_to_the_page(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn change_password_confirmation_pingone() {
                signin_page::change_password_confirmation(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn change_password_confirmation_pingfederate() {
                signin_page::change_password_confirmation(ADAPTER, Shape::PingFederate).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn switch_device_pingone() {
                signin_page::switch_device_while_waiting(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn switch_device_pingfederate() {
                signin_page::switch_device_while_waiting(ADAPTER, Shape::PingFederate).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cancel_goes_home() {
                signin_page::cancel_goes_home(ADAPTER).await;
            }
        }
    };
}

page_suite!(axum, Adapter::Axum);
page_suite!(actix, Adapter::Actix);
