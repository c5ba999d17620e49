//! Tokens for the APIs an app calls, through every adapter, against the dev provider (one
//! token per resource, as PingOne issues them) and `oidc-provider` with resource indicators
//! in both path shapes. Each case is written once in
//! `ping_oidc_tests::api_tokens`.

use ping_oidc_tests::api_tokens;
use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::oidc_provider::Shape;

macro_rules! api_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn each_api_gets_its_own_token() {
                api_tokens::each_api_gets_its_own_token(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_requests_make_one_call() {
                api_tokens::concurrent_requests_make_one_call(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn instances_share_the_tokens() {
                api_tokens::instances_share_the_tokens(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn instances_share_the_tokens_redis() {
                api_tokens::instances_share_the_tokens_redis(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_out_revokes_every_token() {
                api_tokens::sign_out_revokes_every_token(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refused_api_takes_the_consent_path() {
                api_tokens::refused_api_takes_the_consent_path(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oidc_provider_resources_pingone_paths() {
                api_tokens::oidc_provider_resources(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oidc_provider_resources_pingfederate_paths() {
                api_tokens::oidc_provider_resources(ADAPTER, Shape::PingFederate).await;
            }
        }
    };
}

api_suite!(axum, Adapter::Axum);
api_suite!(actix, Adapter::Actix);
