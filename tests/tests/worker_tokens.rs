//! Worker tokens (client credentials) through every adapter, against the dev provider and
//! `oidc-provider` in both path shapes. Each case is written once in
//! `ping_oidc_tests::worker_tokens`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::oidc_provider::Shape;
use ping_oidc_tests::worker_tokens;

macro_rules! worker_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn worker_token_is_cached_and_shared() {
                worker_tokens::worker_token_is_cached_and_shared(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn worker_token_failures_are_typed() {
                worker_tokens::worker_token_failures_are_typed(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn example_lists_the_users_devices() {
                worker_tokens::example_lists_the_users_devices(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oidc_provider_worker_tokens_pingone_paths() {
                worker_tokens::oidc_provider_worker_tokens(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oidc_provider_worker_tokens_pingfederate_paths() {
                worker_tokens::oidc_provider_worker_tokens(ADAPTER, Shape::PingFederate).await;
            }
        }
    };
}

worker_suite!(axum, Adapter::Axum);
worker_suite!(actix, Adapter::Actix);
