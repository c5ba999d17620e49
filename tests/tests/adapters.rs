//! Every adapter against the real `oidc-provider`, in both Ping shapes. Each case is written
//! once in `ping_oidc_tests::cases` and instantiated here per adapter.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::cases::{self, Setup};
use ping_oidc_tests::oidc_provider::Shape;

macro_rules! adapter_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn login_pingone() {
                cases::login_and_guarded_pages(ADAPTER, Setup::new(Shape::PingOne)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn login_pingfederate_client_secret_post() {
                let mut setup = Setup::new(Shape::PingFederate);
                setup.auth_method = "client_secret_post";
                cases::login_and_guarded_pages(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn login_public_client_pingfederate() {
                let mut setup = Setup::new(Shape::PingFederate);
                setup.auth_method = "none";
                cases::login_and_guarded_pages(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_with_rotation_public_client_pingone() {
                let mut setup = Setup::new(Shape::PingOne).short_tokens(3);
                setup.auth_method = "none";
                cases::refresh_with_rotation(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_public_client_pingone() {
                let mut setup = Setup::new(Shape::PingOne);
                setup.auth_method = "none";
                cases::logout_revokes_and_ends_provider_session(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_with_rotation_pingone() {
                cases::refresh_with_rotation(ADAPTER, Setup::new(Shape::PingOne).short_tokens(3))
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_with_rotation_pingfederate() {
                cases::refresh_with_rotation(
                    ADAPTER,
                    Setup::new(Shape::PingFederate).short_tokens(3),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refresh_once_pingone() {
                cases::concurrent_requests_refresh_once(
                    ADAPTER,
                    Setup::new(Shape::PingOne).short_tokens(3),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refresh_once_pingfederate() {
                cases::concurrent_requests_refresh_once(
                    ADAPTER,
                    Setup::new(Shape::PingFederate).short_tokens(3),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_pingone() {
                cases::logout_revokes_and_ends_provider_session(
                    ADAPTER,
                    Setup::new(Shape::PingOne),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_pingfederate_ping_end_session_endpoint() {
                let mut setup = Setup::new(Shape::PingFederate);
                setup.end_session = "ping";
                cases::logout_without_oidc_end_session(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_without_end_session_endpoint() {
                let mut setup = Setup::new(Shape::PingFederate);
                setup.end_session = "none";
                cases::logout_without_oidc_end_session(ADAPTER, setup).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn session_lifetimes() {
                cases::session_lifetimes(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_pingfederate() {
                cases::logout_revokes_and_ends_provider_session(
                    ADAPTER,
                    Setup::new(Shape::PingFederate),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wrong_state_is_refused() {
                cases::wrong_state_is_refused(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn replayed_callback_is_refused() {
                cases::replayed_callback_is_refused(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn session_cookie_hardening() {
                cases::session_cookie_hardening(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn open_redirects_are_refused() {
                cases::open_redirects_are_refused(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cross_site_logout_is_refused() {
                cases::cross_site_logout_is_refused(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn token_endpoint_needs_csrf_header() {
                cases::token_endpoint_needs_csrf_header(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn signed_out_navigation_and_api() {
                cases::signed_out_navigation_and_api(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn scoped_token_incremental_consent() {
                cases::scoped_token_incremental_consent(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn two_tabs_sign_in_at_once() {
                cases::two_tabs_sign_in_at_once(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rejected_refresh_ends_session() {
                cases::rejected_refresh_ends_session(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn transaction_cookies_are_bounded() {
                cases::transaction_cookies_are_bounded(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn auth_routes_hardening() {
                cases::auth_routes_hardening(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_in_over_another_users_session_revokes_its_tokens() {
                cases::sign_in_over_another_users_session_revokes_its_tokens(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_in_again_as_the_same_user_keeps_the_grant() {
                cases::sign_in_again_as_the_same_user_keeps_the_grant(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn user_endpoint_slides_idle_expiry() {
                cases::user_endpoint_slides_idle_expiry(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unreachable_provider_keeps_session() {
                cases::unreachable_provider_keeps_session(ADAPTER).await;
            }
        }
    };
}

adapter_suite!(axum, Adapter::Axum);
adapter_suite!(actix, Adapter::Actix);
