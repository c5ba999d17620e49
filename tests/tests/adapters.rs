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
            async fn refresh_with_rotation_pingone() {
                cases::refresh_with_rotation(ADAPTER, Setup::new(Shape::PingOne).short_tokens(3)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_with_rotation_pingfederate() {
                cases::refresh_with_rotation(ADAPTER, Setup::new(Shape::PingFederate).short_tokens(3)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refresh_once_pingone() {
                cases::concurrent_requests_refresh_once(ADAPTER, Setup::new(Shape::PingOne).short_tokens(3)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refresh_once_pingfederate() {
                cases::concurrent_requests_refresh_once(ADAPTER, Setup::new(Shape::PingFederate).short_tokens(3)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_pingone() {
                cases::logout_revokes_and_ends_provider_session(ADAPTER, Setup::new(Shape::PingOne)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_pingfederate() {
                cases::logout_revokes_and_ends_provider_session(ADAPTER, Setup::new(Shape::PingFederate)).await;
            }
        }
    };
}

adapter_suite!(axum, Adapter::Axum);
